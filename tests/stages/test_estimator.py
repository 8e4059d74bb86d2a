"""The shipped quality estimator: it loads, it ranks real translations, and its card's figure is true."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mtaudit.stages import quality, score

REF = "Chinese President Xi Jinping and US President Donald Trump spoke by phone on Thursday, the state news agency Xinhua said."
GOOD = "Chinese President Xi Jinping and U.S. President Donald Trump talked on the phone on Thursday, state news agency Xinhua reported."
BAD = "The eleventh and the president of the United States Donald Triumph spoke for telephone the Thursday, said the agency of state news Shinchoa."


def test_the_shipped_estimator_loads_and_is_named_in_the_signature() -> None:
    model = quality.estimator()
    assert model is not None, "models/quality/estimator.json/.npz missing: run mtaudit meta-eval --fit-estimator"
    assert model["layers"][0][0].shape[0] == len(model["mean"]) == len(quality.ESTIMATOR_LEXICAL) + len(quality.ESTIMATOR_TEXT)
    sig = score.quality_signature()
    assert model["name"] in sig and model["version"] in sig and "used:estimator" in sig


def test_the_estimator_ranks_a_good_translation_above_a_bad_one(cold: Any) -> None:
    feats = score.features([GOOD, BAD], [[REF], [REF]], cold, use_lm=False)
    assert feats[0]["estimator"] > feats[1]["estimator"]  # type: ignore[operator]
    good, bad = score.score([GOOD, BAD], [[REF], [REF]], cold)
    assert good.quality is not None and bad.quality is not None and 0 <= bad.quality < good.quality <= 1


def test_the_best_reference_counts(cold: Any) -> None:
    """A sentence scored against an unrelated reference and its own gets the own reference's score."""
    other = "Heavy rain flooded the lower town overnight, and the river is expected to crest on Sunday."
    alone, both = score.features([GOOD, GOOD], [[REF], [other, REF]], cold, use_lm=False)
    assert both["estimator"] >= alone["estimator"]  # type: ignore[operator]


def test_untranslated_source_and_wrong_numbers_lower_the_score(cold: Any) -> None:
    wrong = GOOD.replace("Thursday", "Thursday 14") + " \u65b0\u534e\u793e"
    good, bad = score.features([GOOD, wrong], [[REF], [REF]], cold, use_lm=False)
    assert good["estimator"] > bad["estimator"]  # type: ignore[operator]


def test_calibration_keeps_the_order() -> None:
    model = quality.estimator()
    assert model is not None and model["calibration"][0] > 0
    assert quality.calibrated(-1.0) < quality.calibrated(0.0)


def test_the_out_of_fold_figure_matches_the_card(shared_data: Path) -> None:
    """The card's news figures, recomputed from the shipped out-of-fold scores and the data's MQM."""
    from mtaudit.lab import estimator, metaeval

    model = json.loads(quality.ESTIMATOR.read_text())
    oof = pd.read_csv(quality.ESTIMATOR.parent / estimator.OOF_FILE, keep_default_na=False)
    data = metaeval.load(shared_data / "wmt22_zhen_mqm" / estimator.DATA.name)
    joined = data.merge(oof, on=metaeval.KEYS, how="inner")
    assert len(joined) == len(oof) == model["data"]["news_rows"]
    got = estimator.taus(joined, joined["oof"].to_numpy())
    want = model["cv"]["news"]
    for key in ("tau_b_mt_only", "n_mt_only", "tau_b_by_segment", "n_segments"):
        assert got[key] == want[key], key
    card = (quality.ESTIMATOR.parent / "README.md").read_text()
    assert model["version"] in card and str(want["tau_b_mt_only"]) in card and str(want["tau_b_by_segment"]) in card
    assert np.isfinite(joined["oof"]).all()


SHORT = "The minister resigned on Friday."
LONG = ("The finance minister resigned on Friday after weeks of protests over the budget, saying in a statement "
        "broadcast on state television that he could no longer defend a plan the parliament had rejected twice.")


def test_the_held_length_gives_a_long_and_a_short_sentence_with_the_same_scores_the_same_quality(cold: Any) -> None:
    """Each sentence against itself as reference: every score and text check the same, only the length differs."""
    held = cold.replace(quality_length="held")
    feats = score.features([SHORT, LONG], [[SHORT], [LONG]], held, use_lm=False)
    inputs = [quality.lexical_inputs(f) for f in feats]
    assert inputs[0] is not None and inputs[1] is not None
    same = [i for i in range(len(quality.ESTIMATOR_LEXICAL)) if i != quality.EXPOSURE_COLUMN]
    assert [inputs[0][i] for i in same] == [inputs[1][i] for i in same]  # the same scores
    assert inputs[0][quality.EXPOSURE_COLUMN] < inputs[1][quality.EXPOSURE_COLUMN]  # one is long, one short
    short, long_ = score.score([SHORT, LONG], [[SHORT], [LONG]], held)
    assert short.quality is not None and short.quality == long_.quality
    short, long_ = score.score([SHORT, LONG], [[SHORT], [LONG]], cold.replace(quality_length="scored"))
    assert short.quality is not None and long_.quality is not None and long_.quality < short.quality


def test_the_signature_says_how_the_length_was_used(settings: Any) -> None:
    from mtaudit.base.settings import load_settings

    for mode in quality.LENGTHS:
        assert f"|length:{mode}|" in score.signatures(settings.replace(quality_length=mode))["quality"]
    assert f"|length:{quality.LENGTH}|" in score.quality_signature(False, settings.replace(quality_length="auto"))
    with pytest.raises(ValueError, match="quality_length"):
        load_settings(default_file=False, quality_length="typical")


def test_the_card_states_the_shipped_length_use_and_both_measurements() -> None:
    card = (quality.ESTIMATOR.parent / "README.md").read_text()
    assert f"reference length: `{quality.LENGTH}` in the audit" in card
    for mode in quality.LENGTHS:
        m = quality.LENGTH_MEASURED[mode]
        assert f"| {m['story_changed']} | {m['story_changed_n']} | {m['story_all']} |" in card
