"""How far other outlets' coverage moves the detector's odds: the fitted coverage model, applied.

The detector reads an article alone. When other outlets cover the story, the spans they
contradict (a name they spell otherwise, a phrase none of them uses) are further evidence,
and the detector's own odds may read differently on news that has coverage. How much of
each is fitted, not set by hand (:mod:`mtaudit.lab.coverage_fit`). The model is stored in
``detector.json`` and applies only when coverage exists.
"""

from __future__ import annotations

import math
from typing import Any

from mtaudit.base.types import Span

CROSS_OUTLET = ("name_mismatch", "name_as_word", "collocation", "wording")  # span kinds other outlets back
MIN_WEIGHT = 0.5  # a span counts as contradicted by the others from this weight on
CAP = 6.0  # summed span log-odds are capped: ten mangled names are not ten times the evidence of three
FEATURES = ("detector_logit", "contradicted_logit")


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def contradicted(spans: list[Span]) -> list[Span]:
    """The spans other outlets contradict (name mismatches, names read as words, phrases none of them uses)."""
    return [s for s in spans if s.kind in CROSS_OUTLET and s.support and s.weight >= MIN_WEIGHT]


def features(p_model: float, strong: list[Span], cap: float = CAP) -> list[float]:
    """[detector log-odds, summed log-odds of the contradicted spans ``strong`` (capped)]: the fitted model's inputs."""
    return [_logit(p_model), min(sum(_logit(s.weight) for s in strong), cap)]


def combine(model: dict[str, Any] | None, p_model: float, spans: list[Span], has_context: bool) -> tuple[float, list[str]]:
    """The probability after coverage, with the reason lines; unchanged without coverage or a fitted model."""
    if not has_context:
        return p_model, []
    if not model:
        return p_model, ["other outlets cover this story, but this detector has no fitted coverage model: their spans are evidence only"]
    strong = contradicted(spans)
    x = features(p_model, strong, model.get("cap", CAP))  # the cap it was fitted with
    z = model["intercept"] + sum(c * v for c, v in zip(model["coef"], x))
    p = 1.0 / (1.0 + math.exp(-z))
    n = len(strong)
    what = (f"{n} spans other outlets contradict (summed log-odds {x[1]:.1f}, weighted {model['coef'][1] * x[1]:+.2f})" if n
            else "other outlets contradict none of its names, phrases or words")
    return p, [f"coverage model (fitted on {model.get('n', '?')} ECB+ articles): {what}; "
               f"detector {p_model:.3f} -> {p:.3f}"]
