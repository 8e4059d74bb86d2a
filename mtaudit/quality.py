"""The combined sentence quality in [0, 1].

Until weights fitted on human judgements land (``mtaudit meta-eval --fit``), quality is the
semantic similarity alone, clipped to [0, 1]: it is the score that tracks meaning across
outlets' paraphrases, where chrF and BLEU punish every rewording.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

WEIGHTS = Path(__file__).resolve().parent.parent / "models" / "quality" / "weights.json"


@lru_cache(maxsize=1)
def weights() -> dict[str, Any] | None:
    return json.loads(WEIGHTS.read_text()) if WEIGHTS.exists() else None


def combine(lex: dict[str, float], sem: float | None) -> float | None:
    if sem is None:
        return None
    return round(min(max(sem, 0.0), 1.0), 4)


def signature() -> str:
    return "quality:semantic-only|unfitted"
