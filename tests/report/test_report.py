"""Report files people and scripts read: strict JSON, and Markdown that says what the JSON says."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from mtaudit import report
from mtaudit.base import atomic


def strict_load(path: Path) -> Any:
    """json.loads as JavaScript's JSON.parse reads it: NaN and Infinity are errors."""
    def refuse(token: str) -> None:
        raise ValueError(f"{path.name}: {token} is not JSON")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


def test_write_json_writes_null_for_missing_numbers(tmp_path: Path) -> None:
    atomic.write_json(tmp_path / "x.json", {"a": float("nan"), "b": [1.5, float("inf")], "c": {"d": -float("inf")}, "e": "NaN"})
    assert strict_load(tmp_path / "x.json") == {"a": None, "b": [1.5, None], "c": {"d": None}, "e": "NaN"}


def test_summary_json_is_strict_json(seed_reports: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    """An article with no title, no story and no scored sentence leaves gaps in the summary: null, not NaN."""
    lone = copy.deepcopy(seed_reports["001"])
    lone.update(title=None, story_id=None)
    for s in lone["sentences"]:
        s["scores"] = {}
    report.write_summary([seed_reports["000"], lone], [], tmp_path, {"signature": "test"})
    rows = {r["article_id"]: r for r in strict_load(tmp_path / "summary.json")["articles"]}
    assert rows[lone["article_id"]]["mean_chrf"] is None and rows[lone["article_id"]]["title"] is None
    assert rows[seed_reports["000"]["article_id"]]["mean_chrf"] > 0


def test_markdown_counts_every_flag(seed_reports: dict[str, dict[str, Any]]) -> None:
    """The page gives the JSON's flagged count, and a sentence only the sentence model flagged says why."""
    rep = seed_reports["000"]
    text = report.markdown(rep)
    n = sum(s["flagged"] for s in rep["sentences"])
    assert f"- flagged sentences: {n} of {len(rep['sentences'])}" in text
    by_model_only = [s for s in rep["sentences"] if s["flagged"] and not s["spans"]]
    assert by_model_only, "seed 000 has sentences only the sentence model flags"
    for s in by_model_only:
        section = text.split(f"### Sentence {s['index']} ", 1)[1].split("### ", 1)[0]
        assert "no span names the damage" in section and f"({s['model_probability']:.2f})" in section


@pytest.mark.parametrize("field", ["title", "text"])
def test_markdown_keeps_article_html_inert(seed_reports: dict[str, dict[str, Any]], field: str) -> None:
    """A title or sentence carrying a tag is shown as text, never passed to the renderer as HTML."""
    rep = copy.deepcopy(seed_reports["002"])
    evil = "<script>alert(1)</script> & co"
    if field == "title":
        rep["title"] = evil
    else:
        next(s for s in rep["sentences"] if s["flagged"])["text"] = evil
    text = report.markdown(rep)
    assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in text


def test_atomic_writes_get_the_mode_open_would_give(tmp_path: Path) -> None:
    """mkstemp makes files 0600; reports served by a web server or read by colleagues need the umask's mode."""
    import os
    import stat

    mask = os.umask(0o022)
    os.umask(mask)
    atomic.write_text(tmp_path / "new.md", "x")
    assert stat.S_IMODE((tmp_path / "new.md").stat().st_mode) == 0o666 & ~mask
    (tmp_path / "kept.md").write_text("old")
    (tmp_path / "kept.md").chmod(0o640)
    atomic.write_text(tmp_path / "kept.md", "new")
    assert stat.S_IMODE((tmp_path / "kept.md").stat().st_mode) == 0o640 and (tmp_path / "kept.md").read_text() == "new"


def suspected_copy(rep: dict[str, Any], probability: float) -> dict[str, Any]:
    """A report as an article judged on style alone reads: level suspected, not judged, more likely than the others."""
    out = copy.deepcopy(rep)
    out["article_id"] = "f" * 16
    out["verdict"].update(level="suspected", machine_translated=None, probability=probability,
                          reasons=["suspected, not judged: the style reads as translated"])
    return out


def test_levels_are_shown_and_ranked_evidence_first(seed_reports: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    """A suspected article likelier than every judged one still comes after them, in each view a person reads."""
    from mtaudit.nightly import index
    from mtaudit.report import html

    judged = seed_reports["000"]
    suspect = suspected_copy(judged, 0.999)
    report.validate(suspect)
    assert "verdict: **suspected (style only)**" in report.markdown(suspect)
    assert "verdict: **machine-translated**" in report.markdown(judged)
    page = html.index_page([suspect, judged, seed_reports["001"]])
    assert page.index(judged["article_id"]) < page.index(suspect["article_id"]) < page.index(seed_reports["001"]["article_id"])
    assert 'class="badge suspect">suspected<' in page
    assert ">suspected (style only)<" in html.article_page(suspect)
    rows = [{**report.summary_row(r), "feed": "f", "run_id": "r", "recovered": False} for r in (seed_reports["001"], suspect, judged)]
    assert [r["article_id"] for r in index.index_rows(rows, ("html",))] == [judged["article_id"], suspect["article_id"],
                                                                             seed_reports["001"]["article_id"]]
    frame = report.summary_frame([suspect, judged])
    assert list(frame["level"]) == ["suspected", "machine_translated"]


def test_reports_from_before_levels_read_as_they_meant(seed_reports: dict[str, dict[str, Any]]) -> None:
    old = copy.deepcopy(seed_reports["000"])
    del old["verdict"]["level"]
    report.validate(old)
    assert report.summary_row(old)["level"] == "machine_translated"
    assert report.contract.level({"machine_translated": None, "abstained": True}) == "abstained"
    assert report.contract.level({"machine_translated": False, "abstained": False}) == "original"
