"""How bad each span's error is, graded as MQM grades a translation error: minor, major or critical.

A person acts on "this name is wrong (critical)", not on a weight. The grade follows from what
the span says and what backs it, by the MQM definitions (Lommel et al., MQM 2.0; Freitag et al.
2021 for WMT): an error is *critical* when the reader is told something false about who or what
the story is about; *major* when it may confuse or mislead; *minor* when it is noticed but the
meaning survives. The points are MQM's severity multipliers, so a sentence's ``error_points`` read
like an MQM segment score. Not fitted: the rules are read from the definitions. One was checked against
data: on the held-out coverage stories (``python -m mtaudit.lab.spans_eval``), capitalised rare words
were as often real rare names in the originals (39) as garbled ones in the round trips (61), so every
rare word is minor. That harness and ``mtaudit story-eval`` measure the grades (docs/figures.md).
"""

from __future__ import annotations

from dataclasses import replace

from mtaudit.base.types import Span

SEVERITIES = ("minor", "major", "critical")  # least to most severe
POINTS = {"minor": 1.0, "major": 5.0, "critical": 25.0}  # MQM 2.0's multipliers (WMT's MQM: minor 1, major 5, non-translation 25)
VERSION = "mqm-rules-v3"  # v3: name_order

# Kinds that say what the words mean is wrong, backed by other outlets: a wrong name is the news misreported.
CRITICAL_WHEN_BACKED = {"name_mismatch": 2}  # kind -> outlets that must write something else
ALWAYS_CRITICAL = {"name_as_word"}  # a name read as a word ("the eleventh" for Xi): the person disappears from the sentence
MAJOR_WHEN_BACKED = {"name_mismatch": 1, "name_order": 1, "collocation": 1, "wording": 2}  # "rare land magnets": misleads about what is meant
ALWAYS_MAJOR = {"foreign_leftover"}  # untranslated words (MQM accuracy/untranslated); foreign punctuation alone is minor


def grade(span: Span) -> str:
    """The span's severity, from its kind, what backs it and its words."""
    kind, backers = span.kind, len(span.support)
    if kind in ALWAYS_CRITICAL or backers >= CRITICAL_WHEN_BACKED.get(kind, 10**9):
        return "critical"
    if kind in ALWAYS_MAJOR and any(c.isalpha() for c in span.text):
        return "major"
    if backers >= MAJOR_WHEN_BACKED.get(kind, 10**9):
        return "major"
    return "minor"  # rare words too: a garbled name ("Fredchich Mirz") reads like a real rare one, which originals are full of


def graded(spans: list[Span]) -> list[Span]:
    return [replace(sp, severity=grade(sp)) for sp in spans]


def worst(severities: list[str]) -> str | None:
    """The most severe of the grades, or None without any."""
    return max(severities, key=SEVERITIES.index) if severities else None


def points(severities: list[str]) -> float:
    """MQM-style error points: the sum of the multipliers (0 for a sentence without spans)."""
    return sum(POINTS[s] for s in severities)


def signature() -> str:
    return f"severity:{VERSION}:" + "/".join(f"{s}={POINTS[s]:g}" for s in SEVERITIES)
