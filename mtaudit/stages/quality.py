"""The combined sentence quality in [0, 1], with weights fitted on human judgements.

``models/quality/weights.json`` holds logistic models fitted by ``mtaudit meta-eval --fit`` on
the WMT22 zh-en news MQM dev split: quality = P(professional annotators find no error in the
sentence | its scores), for a sentence of typical length (see ``linear``). Two fitted variants: ``full`` uses the LM fluency, ``fast`` does
without it; ``combine`` uses the first whose features are all present. The file names its
version and date, and that is what the quality signature carries.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Any

WEIGHTS = Path(__file__).resolve().parent.parent / "models" / "quality" / "weights.json"


@lru_cache(maxsize=1)
def weights() -> dict[str, Any] | None:
    """The fitted weights, or None before any were fitted."""
    return json.loads(WEIGHTS.read_text()) if WEIGHTS.exists() else None


EXPOSURE = "log_ref_words"


def linear(model: dict[str, Any], feats: dict[str, float | None], exposure: bool = False) -> float | None:
    """The model's logit for these features; None if one it needs is missing.

    Without ``exposure`` the length term is held at the training mean: the quality of a
    typical-length sentence with these scores. That is what the audit reports, so that a
    sentence is not marked down for its length; MQM sums penalties over a segment, so the
    meta-evaluation also gives the version with the real length (``exposure=True``).
    """
    z = float(model["intercept"])
    for name, mu, sd, w in zip(model["features"], model["mean"], model["scale"], model["coef"]):
        if name == EXPOSURE and not exposure:
            continue  # (x - mu) = 0 at the training mean
        v = feats.get(name)
        if v is None:
            return None
        x = transform(name, float(v))
        z += w * (x - mu) / (sd or 1.0)
    return z


def transform(name: str, value: float) -> float:
    """Feature transforms applied before standardising (same at fit and at use)."""
    if name == "len_ratio":
        return abs(math.log(max(value, 1e-3)))  # too short or too long, either way
    return value


def pick(feats: dict[str, float | None], variants: tuple[str, ...] | None = None) -> tuple[str, dict[str, Any]] | None:
    """The first fitted variant (of ``variants`` if given) whose features are all present."""
    table = weights()
    if not table:
        return None
    for name in table["order"]:
        if variants is not None and name not in variants:
            continue
        model = table["models"][name]
        if all(feats.get(f) is not None for f in model["features"]):
            return name, model
    return None


def combine(feats: dict[str, float | None], exposure: bool = False, variants: tuple[str, ...] | None = None) -> float | None:
    """Quality in [0, 1] (length held at the training mean unless ``exposure``); before weights exist, the semantic cosine clipped.

    ``variants`` restricts the choice (the audit asks for ``("fast",)`` so that every sentence of
    a report gets the same model, whatever LM scores a few of them carry).
    """
    chosen = pick(feats, variants)
    if chosen is None:
        if weights() is None and feats.get("semantic") is not None:
            return round(min(max(float(feats["semantic"]), 0.0), 1.0), 4)  # type: ignore[arg-type]
        return None
    z = linear(chosen[1], feats, exposure=exposure)
    if z is None:
        return None
    return round(1.0 / (1.0 + math.exp(-z)), 4)


def signature() -> str:
    table = weights()
    if not table:
        return "quality:semantic-only|unfitted"
    return (
        f"quality:logistic-P(no-error)|length:held-at-training-mean|weights:{table['version']}|fitted:{table['date']}"
        f"|data:{table['data']['name']}|variants:{'>'.join(table['order'])}"
    )
