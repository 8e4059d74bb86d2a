"""The benchmark's code path on two seeds: JSON shape, every stage seen, ratios computed. No time is asserted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mtaudit.lab import bench


def test_batches_keep_stories_and_make_new_text(shared_data: Path) -> None:
    small = bench.build_batch(50, shared_data)
    assert len(small) == 50 and [r["source"].split(":")[1] for r in small[:5]] == ["seeds"] * 5
    big = bench.build_batch(1200, shared_data)
    assert len(big) == 1200 and len({r["id"] for r in big}) == 1200
    copies = [r for r in big if r["id"].endswith("#1")]
    assert copies, "past the shared data, copies are made"
    originals = {r["id"].rsplit("#", 1)[0]: r["text"] for r in big if r["id"].endswith("#0")}
    for row in copies[:50]:
        base = originals[row["id"].rsplit("#", 1)[0]]
        assert row["text"] != base and row["date"] >= "2025-02-05"
        assert len(row["text"].split()) > 0.8 * len(base.split())


def test_a_feed_of_originals_holds_no_translation(shared_data: Path) -> None:
    labels = {r["id"]: r["label"] for r in map(json.loads, (shared_data / "wmt22_articles" / "articles.jsonl").open())}
    mixed = bench.build_batch(500, shared_data)
    feed = bench.build_batch(500, shared_data, "originals")
    assert len(feed) == 500 and not any(r["source"].split(":")[1] == "seeds" for r in feed)
    wmt = [labels[r["id"].rsplit("#", 1)[0]] for r in feed if r["source"].split(":")[1] == "wmt22_articles"]
    assert wmt and set(wmt) == {"original_english"}
    assert sum(labels.get(r["id"].rsplit("#", 1)[0]) == "machine_translation" for r in mixed) > 150  # the mixed batch: 37% MT


def test_the_originals_feed_is_compared_with_the_mixed_batch_of_its_size() -> None:
    def size(feed: str, per_min: float) -> dict[str, Any]:
        return {"articles_requested": 500, "feed": feed, "articles_per_min": per_min, "seconds_per_article": 60 / per_min,
                "cpu_seconds_per_article": 1.0, "ratios": {"pipeline_vs_bertscore_per_sentence": 10.0},
                "process": {"peak_rss_mb_audit": 1500.0}}

    summary = bench.summarise([size("mixed", 50.0), size("originals", 80.0)])
    assert summary["originals_500"]["speedup_over_mixed"] == 1.6
    assert summary["targets"]["articles_per_min_at_500"]["value"] == 50.0  # the targets stay on the mixed batch


def test_stage_clock_wraps_and_restores() -> None:
    from mtaudit.stages import signals
    from mtaudit.text import segment

    before = (segment.split, signals.StoryIndex.__dict__["build"])
    clock = bench.StageClock().install()
    assert segment.split is not before[0]
    segment.split("One sentence here. And another one.", [(0, 35)])
    signals.StoryIndex.build([])
    clock.uninstall()
    assert (segment.split, signals.StoryIndex.__dict__["build"]) == before
    table = clock.table(1)
    assert table["segment"]["calls"] == 1 and table["detect"]["calls"] == 1
    assert set(bench.STAGES) <= set(table)


@pytest.mark.slow
def test_smoke_run_on_two_seeds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench, "_warm_up", lambda work: 0.0)  # the code path, not figures: no warm-up, usual caches
    figures = bench.run_size(2, tmp_path, cold=False)
    json.dumps(figures)  # plain data
    assert figures["articles"] == 2 and figures["sentences"] > 20
    for stage in bench.STAGES:
        assert figures["stages"][stage]["calls"] >= 1, stage
        assert figures["stages"][stage]["peak_rss_mb"] > 0
    assert figures["baselines"]["sentences"] == figures["sentences"]
    ratios = figures["ratios"]
    for key in ("pipeline_vs_bertscore_per_sentence", "pipeline_vs_chrf_per_sentence", "bertscore_vs_chrf"):
        assert isinstance(ratios[key], float) and ratios[key] > 0, key
    wall, bert = figures["audit_wall_s"], figures["baselines"]["bertscore"]["wall_s"]
    # the ratio is the unrounded times' rounded to 2 decimals; audit_wall_s is rounded to 2 and bert-score's time to 3,
    # which on a warm two-article run (half a second) is a percent each
    slack = 1.05 * (0.005 + 0.005 / bert + wall * 0.0005 / bert**2)  # 5%: bert is itself the rounded time
    assert ratios["pipeline_vs_bertscore_per_sentence"] == pytest.approx(wall / bert, abs=slack)
    summary: dict[str, Any] = bench.summarise([{**figures, "articles_requested": 5}])
    assert summary["targets"]["seeds_warm_s"]["value"] == figures["audit_wall_s"]
    bench.print_tables({"sizes": [figures], "summary": summary})


def test_scorer_speed_reports_both_rates(settings: Any) -> None:
    good, para = "China said on Saturday it approved export licences.", "On Saturday China said it had approved export licences."
    out = bench.scorer_speed([good, para], [[para], [good]], settings, use_lm=False)
    assert out["sentences"] == 2 and out["chrf_sentences_per_s"] > 0 and out["full_sentences_per_s"] > 0
    assert out["signature"].startswith("quality")
