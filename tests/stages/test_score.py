"""Sentence scores: multi-reference lexical scores, the neural semantic scores, the fitted quality."""

from __future__ import annotations

import statistics
from typing import Any

import numpy as np
import pytest
from sacrebleu.metrics import CHRF, TER

from mtaudit.stages import quality, score

GOOD = "Chinese President Xi Jinping and US President Donald Trump spoke by phone on Thursday, the state news agency Xinhua said."
PARAPHRASE = "Xi and Trump held a telephone call on Thursday, according to the official Xinhua news agency."
GARBLED = "The eleventh and the president of the United States Donald Triumph spoke for telephone the Thursday, said the agency of state news Shinchoa."


def test_lexical_is_sacrebleu_multi_reference() -> None:
    refs = [GOOD, PARAPHRASE]
    got = score.lexical(GARBLED, refs)
    want = CHRF(word_order=2).sentence_score(GARBLED, refs).score
    assert got["chrf"] == round(want, 2)
    assert got["ter"] == round(TER().sentence_score(GARBLED, refs).score, 2)
    # a second reference can only help chrF++ and BLEU; TER takes the fewest edits but divides
    # by the mean reference length, so a longer second reference may raise it (sacrebleu's rule)
    one = score.lexical(GARBLED, [GOOD])
    assert got["chrf"] >= one["chrf"] and got["bleu"] >= one["bleu"]


def test_semantic_scores_prefer_a_paraphrase_to_a_garbled_copy(cold: Any) -> None:
    """Where chrF++ prefers the garbled copy (shared characters), the neural scores do not."""
    hyps, refs = [PARAPHRASE, GARBLED], [[GOOD], [GOOD]]
    chrf = [score.lexical(h, r)["chrf"] for h, r in zip(hyps, refs)]
    assert chrf[1] > chrf[0]
    bs = score.bertscore(hyps, refs, cold)
    cos = score.semantic(hyps, refs, cold)
    assert bs[0] is not None and bs[1] is not None and bs[0] > bs[1] + 0.05
    assert cos[0] is not None and cos[1] is not None and cos[0] > cos[1] + 0.05


def test_paraphrase_prefers_the_faithful_rewording_and_the_best_reference(cold: Any) -> None:
    """The LM's two-way paraphrase score: a rewording above a garbled copy, the best of several references."""
    para, garbled = score.paraphrase([PARAPHRASE, GARBLED], [[GOOD], [GOOD]], cold)
    assert para is not None and garbled is not None and para > garbled + 0.3
    two = score.paraphrase([PARAPHRASE], [[GARBLED, GOOD]], cold)[0]
    assert two == para  # the garbled reference does not drag the best one down
    assert score.paraphrase([GOOD], [[]], cold) == [None]


def test_paraphrase_mass_counts_what_the_other_side_does_not_predict(cold: Any) -> None:
    """Both directions' tokens below 2 nats add their shortfall: the garbled copy carries more error mass."""
    good, garbled = score.paraphrase_scores([PARAPHRASE, GARBLED], [[GOOD], [GOOD]], cold)
    assert good is not None and garbled is not None
    assert garbled["paraphrase_mass"] < good["paraphrase_mass"] <= 0.0
    assert score.paraphrase_scores([GOOD], [[]], cold) == [None]


@pytest.mark.parametrize(
    "forward,backward,expected",
    [
        ([-1.0, -3.0, -5.0], [-0.5], [-1.75, -4.0]),  # only the tokens below -2 nats cost: 1 + 3
        ([-0.1, -0.2], [-1.9], [-1.025, 0.0]),  # every token predicted within 2 nats: no mass
        ([], [-4.0], [-2.0, -2.0]),  # an empty side reads as 0 in the mean
    ],
)
def test_pair_stats(forward: list[float], backward: list[float], expected: list[float]) -> None:
    got = score.pair_stats(np.asarray(forward, dtype=np.float32), np.asarray(backward, dtype=np.float32))
    assert got == pytest.approx(expected)


def test_slow_scores_are_cached_by_text(cold: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    first = score.bertscore([GOOD], [[PARAPHRASE]], cold)

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("BERTScore recomputed a cached pair")

    monkeypatch.setattr(score.embed, "token_vectors", boom)  # what computes a BERTScore
    assert score.bertscore([GOOD], [[PARAPHRASE]], cold) == first
    assert (score.store(cold).path).exists()


def test_no_reference_means_no_score(cold: Any) -> None:
    out = score.score([GOOD, GARBLED], [[PARAPHRASE], []], cold, use_lm=False)
    assert out[1] == score.Scores()
    assert out[0].chrf is not None and out[0].bertscore is not None and out[0].fluency is None


def test_quality_uses_fitted_weights_in_unit_interval(cold: Any) -> None:
    table = quality.weights()
    assert table is not None, "models/quality/weights.json is missing: run mtaudit meta-eval --fit"
    assert table["cv"]["fast"]["tau_b_mt_only"] is not None
    assert table["version"] in quality.signature() and table["date"] in quality.signature()
    good, bad = score.score([PARAPHRASE, GARBLED], [[GOOD], [GOOD]], cold, use_lm=False)
    for s in (good, bad):
        assert s.quality is not None and 0.0 <= s.quality <= 1.0
    assert good.quality > bad.quality


def test_quality_falls_back_to_the_variant_whose_features_exist() -> None:
    table = quality.weights()
    assert table is not None
    feats = {name: 0.5 for name in table["models"]["fast"]["features"]} | {"chrf": 50.0, "log_ref_words": 3.0}
    assert quality.pick(feats)[0] == "fast"  # type: ignore[index]
    full = {name: -1.5 for name in table["models"]["full"]["features"]} | {"log_ref_words": 3.0}
    assert quality.pick({**feats, **full})[0] == "full"  # type: ignore[index]
    assert quality.pick({**feats, **full}, ("fast",))[0] == "fast"  # type: ignore[index]
    assert quality.combine({"chrf": 50.0}) is None


def test_signatures_name_every_score(settings: Any) -> None:
    sigs = score.signatures(settings)
    assert set(score.SCORE_FIELDS) <= set(sigs)
    assert "bert_score-" in sigs["bertscore"] and "L6" in sigs["bertscore"]
    assert "nats" in sigs["fluency"] or "lm:" in sigs["fluency"]


def _counterparts(reports: dict[str, dict[str, Any]]) -> list[tuple[float, float]]:
    """(quality of a damaged sentence of 000/002, mean quality of its aligned sentences in 001/003/004).

    The same content in the original-English outlets, each scored against its own references:
    comparing sentence with sentence on one content keeps paraphrase distance out of it.
    """
    by_id = {r["article_id"]: k for k, r in reports.items()}
    pairs = []
    for k in ("000", "002"):
        for s in reports[k]["sentences"]:
            if not s["flagged"] or s["scores"]["quality"] is None:
                continue
            theirs = []
            for ref in s["references"]:
                other = by_id.get(ref["article_id"])
                if other in ("001", "003", "004"):
                    q = reports[other]["sentences"][ref["sentence_index"]]["scores"]["quality"]
                    if q is not None:
                        theirs.append(q)
            if theirs:
                pairs.append((s["scores"]["quality"], statistics.mean(theirs)))
    return pairs


def test_seed_damaged_sentences_score_lower_than_the_same_content_in_originals(seed_reports: dict[str, dict[str, Any]]) -> None:
    pairs = _counterparts(seed_reports)
    assert len(pairs) >= 5
    assert sum(d < c for d, c in pairs) > len(pairs) / 2
    assert statistics.mean(d for d, _ in pairs) < statistics.mean(c for _, c in pairs) - 0.02


def test_seed_repairs_raise_the_score(seed_reports: dict[str, dict[str, Any]], settings: Any) -> None:
    """Same sentence, same references: with the supported repairs applied, quality and BERTScore go up."""
    rows = [s for k in ("000", "002") for s in seed_reports[k]["sentences"] if s["repaired"] and s["references"]]
    assert len(rows) >= 3
    refs = [[r["text"] for r in s["references"]] for s in rows]
    fixed = score.score([s["repaired"] for s in rows], refs, settings)
    for f, s in zip(fixed, rows):
        assert f.quality >= s["scores"]["quality"] and f.bertscore >= s["scores"]["bertscore"]  # type: ignore[operator]
        if s["repaired"].lower() != s["text"].lower():  # more than a case fix (the encoder is uncased)
            assert f.quality > s["scores"]["quality"]  # type: ignore[operator]


def test_seed_scores_are_complete_where_referenced(seed_reports: dict[str, dict[str, Any]]) -> None:
    for rep in seed_reports.values():
        for s in rep["sentences"]:
            if s["scores"]["quality"] is not None:
                assert s["scores"]["bertscore"] is not None and s["scores"]["chrf"] is not None
                # the LM runs on sentences the spans flag only (the sentence model's flags would multiply its cost)
                assert (s["scores"]["fluency"] is not None) == ("spans" in s["flagged_by"])
