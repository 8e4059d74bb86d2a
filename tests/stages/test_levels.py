"""Verdict levels: a machine-translation call is judged only on evidence a person can check; style alone is "suspected"."""

from __future__ import annotations

import pytest

from mtaudit.base.types import Span
from mtaudit.stages import detect, signals
from mtaudit.stages.detect import SentenceEvidence, Verdict


def span(kind: str, weight: float = 0.9) -> Span:
    return Span(0, 5, "words", kind, weight, "why")


def verdict(p_sentences: list[float], machine: bool | None = True, abstained: bool = False) -> Verdict:
    return Verdict(machine, 0.95 if machine else 0.2, abstained, ["detector (article alone): 0.95"], method="detector",
                   sentence_probabilities=p_sentences)


def evidence(*spans_per_sentence: list[Span]) -> list[SentenceEvidence]:
    out = []
    for i, spans in enumerate(spans_per_sentence):
        p = signals.noisy_or([s.weight for s in spans])
        out.append(SentenceEvidence(i, spans, round(p, 4), p >= 0.5))
    return out


@pytest.mark.parametrize(("spans", "sure", "level"), [
    ([[span("rare_word")], [], []], [0.95, 0.3, 0.2], "suspected"),  # style, one sure sentence, a reference-free span
    ([[], [], []], [0.3, 0.3, 0.2], "suspected"),  # style alone
    ([[span("name_mismatch")], [], []], [0.3, 0.3, 0.2], "machine_translated"),  # a name other outlets spell otherwise
    ([[span("collocation", 0.4)], [], []], [0.3, 0.3, 0.2], "suspected"),  # too weak to count
    ([[span("foreign_leftover")], [], []], [0.3, 0.3, 0.2], "machine_translated"),  # "phase un"
    ([[], [], []], [0.85, 0.81, 0.2], "machine_translated"),  # the sentence model sure of two sentences
    ([[], [], []], [0.79, 0.95, 0.2], "suspected"),  # ... of one
])
def test_a_call_is_judged_only_on_checkable_evidence(spans: list[list[Span]], sure: list[float], level: str) -> None:
    v = verdict(sure)
    ev = detect.settle(v, evidence(*spans))
    assert v.level == level
    assert v.machine_translated is (True if level == "machine_translated" else None)
    assert v.reasons[0].startswith("judged machine-translated" if level == "machine_translated" else "suspected, not judged")
    judged = level == "machine_translated"
    assert [e.flagged for e in ev] == [e.flagged and judged for e in evidence(*spans)]  # these spans have no outlet's support


def test_a_suspected_article_gets_no_sentence_model_flags() -> None:
    v = verdict([0.95, 0.3])
    ev = detect.flag_by_model(detect.settle(v, evidence([], [])), v)
    assert v.level == "suspected" and not any(e.flagged or e.flagged_by_model for e in ev)


@pytest.mark.parametrize(("machine", "abstained", "level"), [(False, False, "original"), (None, True, "abstained")])
def test_undecided_and_original_keep_their_call(machine: bool | None, abstained: bool, level: str) -> None:
    v = verdict([0.9, 0.9], machine, abstained)
    detect.settle(v, evidence([], []))
    assert v.level == level and v.machine_translated is machine


def test_only_contradicted_spans_flag_sentences_of_an_article_not_judged() -> None:
    """Spans that originals carry too (a rare name, odd capitals, a quoted foreign word) stay as evidence, not flags;
    names other outlets spell otherwise in two sentences are errors worth a flag in any article."""
    v = verdict([0.1, 0.1, 0.1, 0.1, 0.1], machine=False)
    backed = Span(0, 5, "Shinchoa", "name_mismatch", 0.9, "why", "Xinhua", ["b", "c"])
    also = Span(0, 5, "Higseth", "name_mismatch", 0.9, "why", "Hegseth", ["b", "c"])
    ev = detect.settle(v, evidence([span("rare_word")], [backed], [span("capitalisation"), span("lm_spike")],
                                   [span("foreign_leftover")], [also]))
    assert [e.flagged for e in ev] == [False, True, False, False, True]
    assert [len(e.spans) for e in ev] == [1, 1, 2, 1, 1]  # the evidence stays in the report


def _name(text: str, suggestion: str) -> Span:
    return Span(0, len(text), text, "name_mismatch", 0.85, "why", suggestion, ["b", "c"])


@pytest.mark.parametrize(("names", "flagged"), [
    # ECB+ originals (the detector's training documents) in their topic's batch: the original's own typo, alone
    ([_name("Browsnville", "Brownsville"), None, None], [False, False, False]),
    # a transliteration the outlets differ on, with a reference-free span elsewhere: still one contradicted sentence
    ([_name("Zinabieh", "Zainabieh"), span("rare_word"), None], [False, False, False]),
    # seed 000 (round-trip MT), had it not been judged: two names other outlets spell otherwise
    ([_name("Shinchoa", "Xinhua"), None, _name("Beit Higseth", "Pete Hegseth")], [True, False, True]),
    # a held-out ECB+ original: its writer spells the spokesman "Milliote" throughout, two outlets "Miliote": one choice
    ([_name("Milliote", "Miliote"), None, _name("Milliote", "Miliote")], [False, False, False]),
])
def test_one_contradicted_sentence_does_not_flag_an_article_not_judged(names: list[Span | None], flagged: list[bool]) -> None:
    v = verdict([0.1, 0.1, 0.1], machine=False)
    ev = detect.settle(v, evidence(*[[sp] if sp else [] for sp in names]))
    assert v.level == "original" and [e.flagged for e in ev] == flagged
    v = verdict([0.9, 0.9, 0.1])  # judged machine-translated: every span flag stays, one contradicted sentence too
    ev = detect.settle(v, evidence(*[[sp] if sp else [] for sp in names]))
    assert v.level == "machine_translated" and [e.flagged for e in ev] == [sp is not None and sp.weight >= 0.5 for sp in names]


# A held-out WMT22 original-English window (web text, en-cs lines 344-363): the sentence model was sure of three of its
# sentences, two of them a phone's menu items, and that judged it machine-translated.
WINDOW = ["Tap on the More icon at the bottom-right of the screen (3 horizontal lines).", "Tap Device information.",
          "Tap Repair now/Restore", "How come we never saw the main shuttlebay?"]


@pytest.mark.parametrize(("text", "counts"), [
    *zip(WINDOW, [True, False, False, True]),
    ("Xi said: Taiwan.", False),  # four words
    ("China's rare earth exports rose.", True),  # five
])
def test_the_sentence_model_counts_from_five_words(text: str, counts: bool) -> None:
    assert detect.readable(text) is counts


def test_short_sentences_neither_back_a_verdict_nor_get_flags() -> None:
    """Sure of the window's two menu items and one long sentence: one sentence that counts, so style alone ("suspected");
    sure of two long ones: judged, and the short sentence the model would flag is not flagged."""
    readable = [detect.readable(t) for t in WINDOW]
    v = Verdict(True, 0.63, False, ["detector (article alone): 0.63"], method="detector",
                sentence_probabilities=[0.9, 0.95, 0.97, 0.2], sentence_readable=readable)
    ev = detect.flag_by_model(detect.settle(v, evidence([], [], [], [])), v)
    assert v.level == "suspected" and not any(e.flagged_by_model for e in ev)
    v = Verdict(True, 0.63, False, ["detector (article alone): 0.63"], method="detector",
                sentence_probabilities=[0.9, 0.95, 0.3, 0.85], sentence_readable=readable)
    ev = detect.flag_by_model(detect.settle(v, evidence([], [], [], [])), v)
    assert v.level == "machine_translated"
    assert [e.flagged_by_model for e in ev] == [True, False, False, True]
    assert detect.sure_sentences(v.sentence_probabilities, detect.counted(v)) == [0, 3]
