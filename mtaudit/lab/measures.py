"""The figures every lab harness reports, computed one way so that training, evaluation and the coverage fit cannot drift apart: AUROC with a threshold's confusion counts, and the calibration error."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

TIMED_ROWS = 30  # rows of a file whose prediction is timed from scratch: what a new article costs


def metrics(y: list[int] | np.ndarray, p: list[float] | np.ndarray, threshold: float = 0.5, band: float = 0.1) -> dict[str, Any]:
    """AUROC, accuracy at the threshold, expected calibration error (10 bins), abstention."""
    from sklearn.metrics import roc_auc_score  # scikit-learn: only fitting and measuring pay its import

    yy, pp = np.asarray(y, dtype=int), np.asarray(p, dtype=float)
    out: dict[str, Any] = {"n": len(yy), "positives": int(yy.sum())}
    if len(yy) == 0:
        return out
    out["auroc"] = float(roc_auc_score(yy, pp)) if 0 < yy.sum() < len(yy) else None
    out["accuracy"] = float(np.mean((pp >= threshold) == (yy == 1)))
    out["ece"] = ece(yy, pp)
    out["ece_balanced"] = ece(yy, pp, balanced=True)
    keep = np.abs(pp - threshold) >= band
    out["abstained"] = float(1 - keep.mean())
    out["accuracy_decided"] = float(np.mean((pp[keep] >= threshold) == (yy[keep] == 1))) if keep.any() else None
    return out


def ece(y: np.ndarray, p: np.ndarray, bins: int = 10, balanced: bool = False, prior: float | None = None) -> float:
    """Expected calibration error: |mean probability - share positive| per bin, weighted by bin size.

    ``prior``: the classes weighted so that the positives are that share of the total, the share of
    machine translation a user states; ``balanced`` is ``prior=0.5``, what the detector is calibrated
    for (on a set that is 86% machine translation the plain figure mostly measures that prior).
    """
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    w = np.ones(len(y))
    share = 0.5 if balanced else prior
    if share is not None and 0 < y.sum() < len(y):
        w = np.where(y == 1, share / y.mean(), (1 - share) / (1 - y.mean()))
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for i in range(bins):
        m = (p >= edges[i]) & ((p < edges[i + 1]) if i < bins - 1 else (p <= 1.0))
        if m.any():
            total += w[m].sum() / w.sum() * abs(np.average(p[m], weights=w[m]) - np.average(y[m], weights=w[m]))
    return float(total)


def finite(x: float | None) -> bool:
    return x is not None and not math.isnan(x)
