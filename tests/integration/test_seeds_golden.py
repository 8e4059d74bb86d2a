"""Golden behaviour on the five seed articles: what the mission starts from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mtaudit import report
from mtaudit.stages import severity
from tests.conftest import SEEDS

SEED_MT = {"000": True, "001": False, "002": True, "003": False, "004": False}  # 000, 002: round-trip MT


def spans_of(rep: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(s, sp) for s in rep["sentences"] for sp in s["spans"]]


def test_seeds_form_one_story(seed_reports: dict[str, dict[str, Any]]) -> None:
    assert len(seed_reports) == 5
    assert len({r["story_id"] for r in seed_reports.values()}) == 1
    assert all(r["story_id"] for r in seed_reports.values())


@pytest.mark.parametrize("seed,is_mt", sorted(SEED_MT.items()))
def test_article_verdict(seed_reports: dict[str, dict[str, Any]], seed: str, is_mt: bool) -> None:
    verdict = seed_reports[seed]["verdict"]
    assert verdict["machine_translated"] is is_mt
    assert (verdict["probability"] > 0.7) if is_mt else (verdict["probability"] < 0.3)


@pytest.mark.parametrize("seed", ["000", "002"])
def test_machine_translated_seeds_are_never_cleared(seed_reports: dict[str, dict[str, Any]], seed: str) -> None:
    """Flagged, or at worst left to a person (abstained); never called original, and above every original."""
    verdict = seed_reports[seed]["verdict"]
    assert verdict["machine_translated"] is not False and verdict["probability"] > 0.5
    assert verdict["probability"] > max(seed_reports[s]["verdict"]["probability"] for s in ("001", "003", "004"))


@pytest.mark.parametrize("seed", ["001", "003", "004"])
def test_no_false_alarms_on_original_english(seed_reports: dict[str, dict[str, Any]], seed: str) -> None:
    flagged = [s["text"] for s in seed_reports[seed]["sentences"] if s["flagged"]]
    assert flagged == []


@pytest.mark.parametrize(
    "needle,suggestion",
    [("the eleventh", "Xi"), ("Shinchoa", "Xinhua"), ("Beit Higseth", "Pete Hegseth"), ("rare ground", "rare earth")],
)
def test_000_spans_with_supported_suggestions(seed_reports: dict[str, dict[str, Any]], needle: str, suggestion: str) -> None:
    rep = seed_reports["000"]
    hits = [(s, sp) for s, sp in spans_of(rep) if sp["text"] == needle]
    assert hits, f"no span on {needle!r}"
    for sent, sp in hits:
        assert sent["flagged"]
        assert sp["suggestion"] == suggestion
        assert len(sp["support"]) >= 2
        assert rep["meta"] is not None
        assert rep_text(rep)[sp["start"] : sp["end"]] == needle


def rep_text(rep: dict[str, Any]) -> str:
    with open(rep["source"], encoding="utf-8") as fh:
        return fh.read()


def test_000_reference_free_evidence(seed_reports: dict[str, dict[str, Any]]) -> None:
    kinds = {sp["text"]: sp["kind"] for _, sp in spans_of(seed_reports["000"])}
    assert kinds.get("Fredchich Mirz") == "rare_word"
    assert any("Singaport" in t for t in kinds)


def test_002_rare_land(seed_reports: dict[str, dict[str, Any]]) -> None:
    hits = [sp for _, sp in spans_of(seed_reports["002"]) if sp["text"] == "rare land"]
    assert hits and hits[0]["suggestion"] == "rare earth" and len(hits[0]["support"]) >= 2


def test_repairs_apply_supported_suggestions(seed_reports: dict[str, dict[str, Any]]) -> None:
    sent = next(s for s in seed_reports["000"]["sentences"] if "Shinchoa" in s["text"])
    assert sent["repaired"] == sent["text"].replace("Shinchoa", "Xinhua")


def test_metadata_is_not_prose(seed_reports: dict[str, dict[str, Any]]) -> None:
    r000, r002 = seed_reports["000"], seed_reports["002"]
    assert r000["meta"]["published"] == "2025-06-05 17:32:00"
    assert r000["meta"]["urls"][0].startswith("https://ichef.bbci.co.uk/")
    assert not any("ichef" in s["text"] or "17:32" in s["text"] for s in r000["sentences"])
    assert r002["date"] == "2025-06-06"
    assert not any(s["text"].lstrip().startswith("date") for s in r002["sentences"])


def test_offsets_point_at_the_text(seed_reports: dict[str, dict[str, Any]]) -> None:
    for rep in seed_reports.values():
        text = rep_text(rep)
        for s in rep["sentences"]:
            assert text[s["start"] : s["end"]] == s["text"]
            for sp in s["spans"]:
                assert s["start"] <= sp["start"] < sp["end"] <= s["end"]
                assert text[sp["start"] : sp["end"]] == sp["text"]


def test_reports_follow_the_schema(seed_reports: dict[str, dict[str, Any]]) -> None:
    for rep in seed_reports.values():
        report.validate(rep)
        assert rep["signatures"]["chrf"].startswith("chrF2++|") and "nw:2" in rep["signatures"]["chrf"]
        assert "version" in rep["signatures"]["chrf"]


def test_damaged_sentences_score_lower(seed_reports: dict[str, dict[str, Any]]) -> None:
    """Flagged sentences of the MT seeds sit below the original seeds' typical sentence."""
    import statistics

    flagged = [s["scores"]["semantic"] for k in ("000", "002") for s in seed_reports[k]["sentences"] if s["flagged"] and s["scores"]["semantic"] is not None]
    clean = [s["scores"]["semantic"] for k in ("001", "003", "004") for s in seed_reports[k]["sentences"] if s["scores"]["semantic"] is not None]
    assert flagged and clean
    assert statistics.median(flagged) < statistics.median(clean)


def test_a_republished_copy_is_not_other_coverage(seed_result: Any, settings: Any) -> None:
    """A copy of 000 with a word or two changed (syndication, a republished feed item) shares its errors: counted as
    an outlet it would back "the eleventh". Both stay flagged as they are without it, and say why the copy is left out."""
    from pathlib import Path

    from mtaudit.stages import align, ingest, pipeline

    seeds = sorted(Path("seeds").glob("*.txt"))
    text = next(p for p in seeds if p.name.startswith("000")).read_text(encoding="utf-8")
    copy = text.replace("Oval Office", "Oval office").replace("Thursday", "thursday")
    assert copy != text
    res = pipeline.audit([*seeds], settings, texts=[copy])
    by_source = {Path(r["source"]).name[:3] if r["source"].startswith("seeds") else "copy": r for r in res.reports}
    alone = next(r for r in seed_result.reports if Path(r["source"]).name.startswith("000"))
    for key in ("000", "copy"):
        v = by_source[key]["verdict"]
        assert v["machine_translated"] is True and v["probability"] == pytest.approx(alone["verdict"]["probability"], abs=0.01)
        assert any("near-copies" in r for r in v["reasons"])
    assert by_source["000"]["story_articles"] == alone["story_articles"]  # the copy is no coverage
    a, _ = ingest.parse(text, "a", settings)
    b, _ = ingest.parse(next(p for p in seeds if p.name.startswith("001")).read_text(encoding="utf-8"), "b", settings)
    assert a is not None and b is not None and align.split_copies(a, [b], settings) == ([b], [])  # one story, own words


@pytest.mark.slow
def test_the_number_type_moves_no_verdict_and_only_flags_at_the_edge(seed_result: Any, settings: Any) -> None:
    """float32 and bfloat16 give the same verdicts; a sentence flag they disagree on sits within 0.05 of its
    threshold (bfloat16 moves surprisal by hundredths of a nat)."""
    from mtaudit.stages import models, pipeline

    other = "bfloat16" if settings.lm_precision in ("auto", "float32") else "float32"
    theirs = {Path(r["source"]).name[:3]: r for r in pipeline.audit([SEEDS], settings.replace(lm_precision=other)).reports}
    ours = {Path(r["source"]).name[:3]: r for r in seed_result.reports}
    det = models.detector()
    edge = det.threshold + det.abstain_band
    for key, rep in ours.items():
        assert rep["verdict"]["machine_translated"] is theirs[key]["verdict"]["machine_translated"], key
        assert rep["verdict"]["probability"] == pytest.approx(theirs[key]["verdict"]["probability"], abs=0.02), key
        for a, b in zip(rep["sentences"], theirs[key]["sentences"]):
            if a["flagged"] != b["flagged"]:  # the LM-read numbers (the sentence model's, lm_spike spans) sat at their threshold
                near_model = abs(a["model_probability"] - edge) < 0.05 and abs(b["model_probability"] - edge) < 0.05
                near_spans = abs(a["mt_probability"] - settings.sentence_threshold) < 0.05
                assert near_model or near_spans, (key, a["index"], a["model_probability"], b["model_probability"])


def test_a_cut_article_says_what_was_audited(settings: Any) -> None:
    from mtaudit.stages import pipeline

    (seed,) = SEEDS.glob("001_*.txt")
    rep = pipeline.audit([seed], settings.replace(max_sentences=5)).reports[0]
    assert len(rep["sentences"]) == 5 and rep["meta"]["truncated"]["sentences_audited"] == 5
    assert any(r.startswith("only the first 5 sentences of ") for r in rep["verdict"]["reasons"])


def test_severities_put_the_wrong_names_first(seed_reports: dict[str, dict[str, Any]]) -> None:
    """000's wrong names are critical, "rare ground" major; 002 has no wrong name; the originals carry no major error."""
    grades = {sp["text"]: sp["severity"] for _, sp in spans_of(seed_reports["000"])}
    assert [grades.get(t) for t in ("the eleventh", "Shinchoa", "Beit Higseth", "rare ground")] == ["critical"] * 3 + ["major"]
    assert all(g in ("minor", "major", "critical") for _, sp in spans_of(seed_reports["002"]) for g in [sp["severity"]])
    assert not [sp for _, sp in spans_of(seed_reports["002"]) if sp["severity"] == "critical"]
    for sent in seed_reports["000"]["sentences"]:
        assert sent["error_points"] == sum(severity.POINTS[sp["severity"]] for sp in sent["spans"])
    for seed in ("001", "003", "004"):
        assert all(s["severity"] in (None, "minor") for s in seed_reports[seed]["sentences"])
