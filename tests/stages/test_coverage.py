"""The coverage model: how other outlets' contradictions move the detector's odds, fitted on data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mtaudit.base.types import Span
from mtaudit.lab import coverage_fit
from mtaudit.stages import coverage, models


def span(kind: str = "name_mismatch", weight: float = 0.85, support: bool = True) -> Span:
    return Span(0, 8, "Shinchoa", kind, weight, "others write Xinhua", "Xinhua", ["reuters"] if support else [])


@pytest.fixture(scope="module")
def model() -> dict[str, Any]:
    cov = models.detector().coverage
    assert cov, "the committed detector carries a fitted coverage model"
    return cov


@pytest.mark.parametrize(
    ("spans", "counted"),
    [
        ([span()], 1),
        ([span("name_as_word"), span("collocation", 0.75)], 2),
        ([span(weight=0.45)], 0),  # below MIN_WEIGHT
        ([span(support=False)], 0),  # no outlet backs it
        ([span("foreign"), span("lm_spike")], 0),  # reference-free kinds: the detector already reads those
    ],
)
def test_contradicted_counts_only_spans_other_outlets_back(spans: list[Span], counted: int) -> None:
    assert len(coverage.contradicted(spans)) == counted


def test_without_coverage_or_model_the_detector_stands(model: dict[str, Any]) -> None:
    assert coverage.combine(model, 0.683, [span()], has_context=False) == (0.683, [])
    p, why = coverage.combine(None, 0.683, [span()], has_context=True)
    assert p == 0.683 and "no fitted coverage model" in why[0]


def test_contradictions_raise_the_odds_up_to_the_cap(model: dict[str, Any]) -> None:
    agree, why = coverage.combine(model, 0.683, [], True)
    one, _ = coverage.combine(model, 0.683, [span()], True)
    many, _ = coverage.combine(model, 0.683, [span()] * 5, True)
    more, _ = coverage.combine(model, 0.683, [span()] * 10, True)
    assert agree < one < many == more  # 5 x logit(0.85) = 8.7 is past the cap of 6 already
    assert "contradict none" in why[0] and "0.683 ->" in why[0]


def test_committed_coverage_model_beats_the_detector_alone_out_of_fold(model: dict[str, Any]) -> None:
    """Its figures (model card): fitted on held-out ECB+ articles, measured out-of-fold by story."""
    alone, fitted = model["out_of_fold"]["detector_alone"], model["out_of_fold"]["fitted"]
    assert model["n"] == 2 * model["positives"] and model["stories"] >= 20
    assert fitted["log_loss"] < alone["log_loss"] and fitted["accuracy"] > alone["accuracy"]
    assert model["coef"][1] > 0  # contradicted spans count towards MT


def test_featurise_and_fit_on_real_stories(shared_data: Path, tmp_path: Path, settings: Any) -> None:
    """Two ECB+ stories, audited for real: the round trips read as more machine-translated than their originals."""
    from mtaudit.lab import roundtrip

    if not {"spa", "cat"} <= set(roundtrip.available()):
        pytest.skip("apertium eng-spa/eng-cat not installed (make debs)")
    from mtaudit.lab import makedata

    rows, _ = makedata.ecb_rows(shared_data / "ecbplus" / "ecbplus_docs.jsonl", 13)
    stories = coverage_fit.make(rows, set(), seed=13, limit=30)[:2]
    stories = [dict(s, victims=s["victims"][:3]) for s in stories]
    rows = coverage_fit.featurise(stories, models.detector(), settings)
    assert len(rows) == 12 and len({r["story"] for r in rows}) == 2
    pairs = {r["doc_id"]: {} for r in rows}
    for r in rows:
        pairs[r["doc_id"]][r["label"]] = r["detector"]
    assert sum(p[1] > p[0] for p in pairs.values()) >= 5  # of 6 round trips, read against their own original
    fitted = coverage_fit.fit(rows)
    assert fitted["n"] == 12 and fitted["stories"] == 2 and set(fitted["out_of_fold"]) == {"detector_alone", "fitted"}
    with pytest.raises(ValueError, match="two stories"):
        coverage_fit.fit([r for r in rows if r["story"] == rows[0]["story"]])
