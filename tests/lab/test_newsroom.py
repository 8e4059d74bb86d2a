"""The newsroom evaluation: its arithmetic on hand-made cases, and a tiny run through the real audit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mtaudit.base import atomic
from mtaudit.lab import makedata, measures, newsroom, roundtrip
from tests.conftest import SEEDS, SHARED_DATA

TINY = newsroom.Sizes(ecb=3, roundtrip=1, roundtrip_story=1, wmt_original=1, wmt_articles=1, wmt_zh=1, neural=1, reuters=1, seeds=1)
EXPECTED = {
    "original/ecbplus/story", "original/ecbplus/alone", "mt/roundtrip/story",
    *(f"mt/roundtrip_{p}/alone" for p in newsroom.PIVOTS),
    "original/seeds/story", "original/seeds/alone", "mt/seeds/story", "mt/seeds/alone",
    "original/wmt22_articles/alone", "mt/wmt22_zh/alone", "original/wmt22_lines/alone", "human/wmt22_lines/alone",
    *(f"mt/wmt22_{pair[:2]}/alone" for pair in newsroom.NEURAL_PAIRS),
}


def test_precision_is_bayes_on_the_two_rates() -> None:
    # 10% MT in the feed, 80% of it caught, 5% of originals flagged: 0.08 / (0.08 + 0.045)
    assert newsroom.precision(0.1, 0.8, 0.05) == pytest.approx(0.64)
    # 2% MT, half caught, 1% false alarms: 0.01 / (0.01 + 0.0098)
    assert newsroom.precision(0.02, 0.5, 0.01) == pytest.approx(0.01 / 0.0198)
    assert newsroom.precision(0.02, 0.5, 0.0) == 1.0
    assert newsroom.precision(0.02, 0.0, 0.0) is None
    assert newsroom.precision(0.02, None, 0.1) is None


def test_wilson_interval_brackets_the_share() -> None:
    lo, hi = newsroom.wilson(0, 50)
    assert lo == 0.0 and 0.06 < hi < 0.08  # 0 of 50 false alarms still allows ~7%
    lo, hi = newsroom.wilson(5, 10)
    assert lo == pytest.approx(1 - hi) and lo < 0.5 < hi
    assert newsroom.wilson(0, 0) == (None, None)


def test_ece_at_prior_weights_the_classes_to_the_prior() -> None:
    y = [1, 1, 0, 0, 0, 0]
    p = [0.9, 0.75, 0.15, 0.35, 0.15, 0.75]
    # prior 0.5: each MT row weighs 0.25, each other 0.125. Bins: 0.15 x2 (0.25, off by 0.15), 0.35 (0.125, off by 0.35),
    # 0.75 MT + 0.75 other (0.375, MT share 2/3, off by 0.0833), 0.9 (0.25, off by 0.1)
    at_half = 0.25 * 0.15 + 0.125 * 0.35 + 0.375 * (0.75 - 2 / 3) + 0.25 * 0.1
    assert newsroom.ece_at_prior(y, p, 0.5) == pytest.approx(at_half)
    assert newsroom.ece_at_prior(y, p, 0.5) == pytest.approx(measures.ece(np.array(y), np.array(p), balanced=True))
    # prior 0.1: each MT row weighs 0.05, each other 0.225; the 0.75 bin is MT 0.05 / 0.275
    at_tenth = 0.45 * 0.15 + 0.225 * 0.35 + 0.275 * (0.75 - 0.05 / 0.275) + 0.05 * 0.1
    assert newsroom.ece_at_prior(y, p, 0.1) == pytest.approx(at_tenth)
    assert newsroom.ece_at_prior([0, 0], [0.1, 0.2], 0.1) is None  # one class only: no weighting to a prior


def test_level_is_read_when_present_and_derived_when_absent() -> None:
    assert newsroom.level_of({"level": "suspected", "machine_translated": False, "abstained": False}) == "suspected"
    assert newsroom.level_of({"machine_translated": True, "abstained": False}) == "machine_translated"
    assert newsroom.level_of({"machine_translated": None, "abstained": True}) == "abstained"
    assert newsroom.level_of({"machine_translated": False, "abstained": False}) == "original"


def test_record_counts_what_flagged_each_sentence() -> None:
    span = {"kind": "name_mismatch"}
    report = {"verdict": {"level": "original", "machine_translated": False, "probability": 0.1, "abstained": False},
              "story_articles": ["a", "b"],
              "sentences": [
                  {"flagged": True, "flagged_by": ["spans"], "spans": [span, span, {"kind": "rare_word"}]},
                  {"flagged": True, "flagged_by": ["spans", "sentence model"], "spans": [{"kind": "wording"}]},
                  {"flagged": True, "flagged_by": ["sentence model"], "spans": []},
                  {"flagged": False, "flagged_by": [], "spans": [span]},  # a span that flagged nothing is not counted
                  {"flagged": True, "spans": [{"kind": "collocation"}]},  # an old report: no flagged_by, so the spans
              ]}
    rec = newsroom._read(report)
    assert rec["flagged"] == 4 and rec["sentences"] == 5
    assert rec["flagged_by"] == {"sentence model": 2, "spans": 3}
    assert rec["flagged_span_kinds"] == {"collocation": 1, "name_mismatch": 1, "rare_word": 1, "wording": 1}
    fig = newsroom.set_figures([{**rec, "seconds": 1.0}, {**rec, "seconds": 1.0}])
    assert fig["flagged_by"] == {"sentence model": 4, "spans": 6} and fig["flagged_span_kinds"]["name_mismatch"] == 2


def test_sizes_parse_names_and_numbers() -> None:
    sizes = newsroom.Sizes.parse(["ecb=7", "wmt-original=3"], newsroom.QUICK)
    assert sizes.ecb == 7 and sizes.wmt_original == 3 and sizes.neural == newsroom.QUICK.neural
    for bad in (["nope=1"], ["ecb"], ["ecb=x"], ["ecb=-1"]):
        with pytest.raises(ValueError):
            newsroom.Sizes.parse(bad)


def test_a_bad_size_is_a_usage_error(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from mtaudit.base import exits
    from mtaudit.cli import app

    out = tmp_path / "newsroom.json"
    res = CliRunner().invoke(app, ["eval", "--newsroom", "--size", "ecbplus=3", "--out", str(out)])
    assert res.exit_code == exits.USAGE and "--size takes NAME=N" in res.output and not out.exists()


@pytest.fixture(scope="module")
def result(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if not SHARED_DATA.exists():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    if set(newsroom.PIVOTS) - set(roundtrip.available()):
        pytest.skip("Apertium eng-spa, eng-cat and en-gl are needed for the round trips")
    out = newsroom.run(TINY, settings, SHARED_DATA, SEEDS)  # the settings users run: the SmolLM2 sentence model backs verdicts
    path = tmp_path_factory.mktemp("newsroom") / "newsroom.json"
    atomic.write_json(path, out)
    return dict(json.loads(Path(path).read_text(encoding="utf-8")))


@pytest.mark.slow
def test_every_set_is_built_and_audited(result: dict[str, Any]) -> None:
    assert set(result["sets"]) >= EXPECTED
    reuters = "original/reuters/alone"
    assert reuters in result["sets"] or any(nb["set"] == reuters for nb in result["not_built"])
    for name in EXPECTED:
        assert result["sets"][name]["n"] >= 1, name
    audited = [r for r in result["records"] if r["audited"]]
    assert result["articles"] == len(audited) >= len(EXPECTED)
    assert all(0.0 <= r["probability"] <= 1.0 and r["level"] in newsroom.LEVELS for r in audited)


@pytest.mark.slow
def test_seeds_000_and_002_caught_001_003_004_not(result: dict[str, Any]) -> None:
    seeds = [r for r in result["records"] if r["corpus"] == "seeds"]
    assert sorted((r["seed"], r["mode"]) for r in seeds) == sorted((s, m) for s in ("000", "001", "002", "003", "004") for m in ("story", "alone"))
    for r in seeds:
        assert (r["level"] == "machine_translated") == (r["seed"] in newsroom.SEED_MT), r
        assert r["in_sample"] == (r["seed"] in newsroom.SEED_ORIGINAL)  # make-data trains on the original seeds
    assert all(r["story_articles"] >= 1 for r in seeds if r["mode"] == "story")  # the pipeline found their story
    assert all(r["story_articles"] == 0 for r in seeds if r["mode"] == "alone")


@pytest.mark.slow
def test_trained_articles_are_marked_and_kept_out_of_the_pooled_figures(result: dict[str, Any]) -> None:
    from mtaudit.stages import models

    seen = set(models.detector().meta["training_text_sha"])
    ecb = {r["doc_id"]: r for r in makedata.read_jsonl(SHARED_DATA / "ecbplus" / "ecbplus_docs.jsonl")}
    records = [r for r in result["records"] if r["audited"]]
    for r in records:
        if r["corpus"] == "ecbplus":
            assert not r["in_sample"] and makedata.text_sha(ecb[r["doc_id"]]["text"]) not in seen
    assert all(r["in_sample"] for r in records if r["corpus"] == "wmt22_articles")  # all of wmt22_articles dev is trained on
    assert result["sets"]["mt/wmt22_zh/alone"]["held_out_n"] == 0
    held = [r for r in records if not r["in_sample"]]
    assert result["pooled"]["originals_all"]["n"] == sum(r["label"] == "original" for r in held)
    assert result["pooled"]["originals_story"]["n"] + result["pooled"]["originals_alone"]["n"] == result["pooled"]["originals_all"]["n"]
    assert result["pooled"]["mt"]["n"] == sum(r["label"] == "mt" for r in held)


@pytest.mark.slow
def test_the_story_victim_meets_its_story_without_its_original(result: dict[str, Any]) -> None:
    victims = [r for r in result["records"] if r["set"] == "mt/roundtrip/story"]
    assert len(victims) == 1
    v = victims[0]
    mates = [r for r in result["records"] if r["set"] == "original/ecbplus/story" and r["topic"] == v["topic"]]
    assert mates and v["doc_id"] not in {r["doc_id"] for r in mates}
    assert sum(r["subtopic"] == v["subtopic"] for r in mates) >= 2


@pytest.mark.slow
def test_figures_follow_from_the_records(result: dict[str, Any]) -> None:
    p = result["precision"]["judged_mt"]
    fpr, tpr = p["fpr"]["all"]["rate"], p["tpr"]["pooled"]["rate"]
    held = [r for r in result["records"] if r["audited"] and not r["in_sample"]]
    originals = [r for r in held if r["label"] == "original"]
    assert fpr == pytest.approx(sum(r["level"] == "machine_translated" for r in originals) / len(originals), abs=1e-4)
    for prev in newsroom.PREVALENCES:
        want = newsroom.precision(prev, tpr, fpr)
        got = p["at_prevalence"][str(prev)]["fpr_all"]["pooled"]["precision"]
        assert got == (None if want is None else pytest.approx(want, abs=1e-4))
    curve = result["curve"]
    assert [row["threshold"] for row in curve] == list(newsroom.THRESHOLDS)
    assert all(a["mt"] >= b["mt"] and a["originals"] >= b["originals"] for a, b in zip(curve, curve[1:]))  # a higher bar passes fewer
    cal = result["calibration"]["all_held_out"]
    assert cal["n"] == len(held) and set(cal) >= {str(q) for q in newsroom.PRIORS}
    assert cal["0.5"]["as_is"] == pytest.approx(cal["0.5"]["moved"], abs=1e-4)  # the setting's prior is 0.5: nothing to move
    assert result["mt_vs_human"]["windows"] == len(newsroom.NEURAL_PAIRS)
    assert all(s["seconds_per_article"] > 0 for s in result["sets"].values() if s["n"])
