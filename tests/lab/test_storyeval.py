"""The story-level evaluation: a real round trip damages one outlet's article, the audit must notice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mtaudit.lab import roundtrip, storyeval

pytestmark = pytest.mark.skipif(not roundtrip.available(), reason="Apertium eng-spa/eng-cat not installed")


@pytest.fixture(scope="module")
def ecb(shared_data: Path) -> Path:
    return shared_data / "ecbplus" / "ecbplus_docs.jsonl"


def test_stories_keep_the_victim_out_of_its_own_references(ecb: Path) -> None:
    stories = storyeval.load_stories(ecb, limit=4)
    assert len(stories) == 4 and len({s.story_id for s in stories}) == 4
    for s in stories:
        assert len(s.others) >= 2
        assert s.victim["doc_id"] not in {d["doc_id"] for d in s.others}
        assert {d["subtopic"] for d in s.others} == {s.victim["subtopic"]}
    assert [s.pivot for s in stories] == ["spa", "cat", "spa", "cat"]
    assert [s.victim["doc_id"] for s in storyeval.load_stories(ecb, limit=4)] == [s.victim["doc_id"] for s in stories]


def test_damage_changes_only_the_picked_lines(ecb: Path) -> None:
    stories = storyeval.load_stories(ecb, limit=2)
    storyeval.damage(stories, rate=0.5)
    for s in stories:
        lines = s.victim["text"].split("\n")
        assert len(s.damaged_lines) == len(lines) == len(s.changed)
        assert any(s.changed)
        for orig, new, changed in zip(lines, s.damaged_lines, s.changed):
            assert changed == (roundtrip.normalise(orig) != roundtrip.normalise(new))
        art = storyeval.victim_article(s)
        assert [x.text for x in art.sentences] == s.damaged_lines
        assert all(art.text[x.start : x.end] == x.text for x in art.sentences)


@pytest.fixture(scope="module")
def result(ecb: Path, settings: Any) -> dict[str, Any]:
    return storyeval.evaluate(ecb, settings, limit=1, rate=0.5)


def test_one_story_end_to_end(result: dict[str, Any]) -> None:
    d = result["data"]
    assert d["stories"] == 1 and d["context_articles"] >= 2
    assert d["victim_sentences"] == len(result["rows"]) and d["changed_sentences"] >= 1
    f = result["flags"]["vs_changed"]
    assert f["tp"] + f["fn"] == d["changed_sentences"]
    spans = result["flags"]["spans_only_vs_changed"]
    assert spans["tp"] <= f["tp"] and spans["fp"] <= f["fp"]  # the sentence model only adds flags
    v = result["victims"]
    assert v["judged_machine_translated"] + v["abstained"] + v["judged_original"] == 1
    if spans["tp"] + spans["fp"] < f["tp"] + f["fp"]:  # model flags exist only inside a victim judged MT
        assert v["judged_machine_translated"] == 1
    for row in result["rows"]:
        if row["damaged_quality"] is not None:
            assert 0.0 <= row["damaged_quality"] <= 1.0 and row["references"] >= 1
        if not row["changed"]:
            assert row["damage_chrf"] == 100.0
        if row["repaired"] is not None:
            assert row["repaired_chrf"] is not None
    assert "apertium-roundtrip" in result["signature"] and "quality:" in result["signature"]


def test_quality_is_lower_for_damaged_than_for_original_sentences(result: dict[str, Any]) -> None:
    """Same references, same sentence slot: the round-tripped text scores below its own original."""
    pairs = [(r["damaged_quality"], r["original_quality"]) for r in result["rows"]
             if r["changed"] and r["damaged_quality"] is not None and r["original_quality"] is not None]
    assert pairs, "the story needs a damaged sentence with references"
    assert sum(d < o for d, o in pairs) > len(pairs) / 2


def test_story_eval_command_json_and_rows(ecb: Path, tmp_path: Path) -> None:
    """The CLI: --json for scripts, --rows for the per-sentence CSV; the default seed is the one make-data leaves out."""
    import csv
    import json

    from typer.testing import CliRunner

    from mtaudit.cli import app

    rows = tmp_path / "rows.csv"
    result = CliRunner().invoke(app, ["story-eval", "--data", str(ecb), "--limit", "1", "--json", "--rows", str(rows)])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["data"]["stories"] == 1 and payload["data"]["seed"] == storyeval.SEED
    assert sum(payload["victims"].values()) == 1 and "rows" not in payload
    with open(rows, encoding="utf-8") as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == payload["data"]["victim_sentences"] and {"changed", "flagged", "damage_chrf", "severity"} <= set(table[0])
    graded = payload["severity"]["by_worst_grade"]
    assert list(graded) == ["critical", "major", "minor", "no span"]
    assert sum(g["sentences"] for g in graded.values()) == payload["data"]["victim_sentences"]
    printed = CliRunner().invoke(app, ["story-eval", "--data", str(ecb), "--limit", "1", "--quiet"])
    assert printed.exit_code == 0 and printed.stdout == ""  # --quiet prints nothing
    shown = CliRunner().invoke(app, ["story-eval", "--data", str(ecb), "--limit", "1"])
    assert shown.exit_code == 0 and "worst span critical" in shown.stdout, shown.output
    missing = CliRunner().invoke(app, ["story-eval", "--data", str(tmp_path / "none.jsonl")])
    assert missing.exit_code == 2 and "no such file" in missing.output
