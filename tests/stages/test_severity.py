"""Severities: each span graded as MQM grades an error, from what it says and what backs it (the seeds' own spans)."""

from __future__ import annotations

import pytest

from mtaudit.base.types import Span
from mtaudit.stages import severity


def span(text: str, kind: str, support: int = 0) -> Span:
    return Span(10, 10 + len(text), text, kind, 0.5, "why", None, [f"o{i}" for i in range(support)])


@pytest.mark.parametrize(("sp", "grade"), [
    (span("the eleventh", "name_as_word", 4), "critical"),  # seed 000: Xi read as the Roman numeral XI
    (span("Shinchoa", "name_mismatch", 2), "critical"),  # two outlets write Xinhua: the agency is misreported
    (span("Shinchoa", "name_mismatch", 1), "major"),  # one outlet only: may mislead
    (span("rare ground", "collocation", 2), "major"),  # "rare earth" in two outlets: what is meant is lost
    (span("rare ground", "collocation", 0), "minor"),
    (span("a police agent", "wording", 1), "minor"),  # one outlet words it otherwise: a choice, not an error
    (span("a police agent", "wording", 2), "major"),
    (span("un", "foreign_leftover"), "major"),  # "phase un": untranslated
    (span("«", "foreign_leftover"), "minor"),  # another language's punctuation: noticed, meaning intact
    (span("Fredchich Mirz", "rare_word"), "minor"),  # a garbled name in no other outlet reads like a real rare one
    (span("cocovio", "rare_word"), "minor"),
    (span("her", "pronoun_gender"), "minor"),  # "China could soften her controls": the meaning survives
    (span("the 10th", "day_of_month"), "minor"),
    (span("XI", "case", 4), "minor"),  # capitals where the others write "Xi"
    (span("With", "capitalisation"), "minor"),
    (span("counselor", "lm_spike"), "minor"),
    (span("relevant departments", "calque"), "minor"),
    (span("the his", "romance_calque"), "minor"),  # "the his wedding": grammar, the meaning survives
    (span("actrizde33años", "foreign_leftover"), "major"),  # a phrase left untranslated
])
def test_grades(sp: Span, grade: str) -> None:
    assert severity.grade(sp) == grade


def test_points_and_worst_read_like_an_mqm_segment_score() -> None:
    assert severity.points([]) == 0 and severity.worst([]) is None
    assert severity.points(["minor", "critical", "major"]) == 31.0  # 1 + 25 + 5
    assert severity.worst(["minor", "critical", "major"]) == "critical"
    assert severity.worst(["minor", "minor"]) == "minor"


def test_graded_keeps_everything_but_the_severity() -> None:
    spans = [span("Shinchoa", "name_mismatch", 2), span("her", "pronoun_gender")]
    out = severity.graded(spans)
    assert [s.severity for s in out] == ["critical", "minor"]
    assert [s.to_dict() | {"severity": None} for s in out] == [s.to_dict() for s in spans]
