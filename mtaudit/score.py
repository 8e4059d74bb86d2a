"""Sentence scores against several references at once, each with a signature (as sacrebleu does)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from sacrebleu.metrics import BLEU, CHRF, TER

from mtaudit import embed
from mtaudit.settings import Settings


@lru_cache(maxsize=1)
def metrics() -> dict[str, object]:
    """chrF++ (word order 2), sentence BLEU (exponential smoothing, effective order), TER."""
    table: dict[str, object] = {"chrf": CHRF(word_order=2), "bleu": BLEU(effective_order=True), "ter": TER()}
    for metric in table.values():
        metric.sentence_score("warm up", ["warm up"])  # type: ignore[attr-defined]  # fixes the signature's fields
    return table


@dataclass
class Scores:
    chrf: float | None = None
    bleu: float | None = None
    ter: float | None = None
    semantic: float | None = None
    quality: float | None = None


def lexical(hyp: str, refs: list[str]) -> dict[str, float]:
    m = metrics()
    return {
        "chrf": round(m["chrf"].sentence_score(hyp, refs).score, 2),  # type: ignore[attr-defined]
        "bleu": round(m["bleu"].sentence_score(hyp, refs).score, 2),  # type: ignore[attr-defined]
        "ter": round(m["ter"].sentence_score(hyp, refs).score, 2),  # type: ignore[attr-defined]
    }


def semantic(hyps: list[str], refs: list[list[str]], settings: Settings) -> list[float | None]:
    """Best cosine between the sentence and any of its references (MiniLM embeddings)."""
    flat = sorted({t for r in refs for t in r} | set(hyps))
    if not flat:
        return [None] * len(hyps)
    vecs = dict(zip(flat, embed.encode(flat, settings)))
    out: list[float | None] = []
    for h, rs in zip(hyps, refs):
        out.append(round(float(max(vecs[h] @ vecs[r] for r in rs)), 4) if rs else None)
    return out


def score(hyps: list[str], refs: list[list[str]], settings: Settings) -> list[Scores]:
    """One Scores per sentence; all None where it has no reference good enough to score against."""
    sem = semantic(hyps, refs, settings)
    out = []
    for h, rs, s in zip(hyps, refs, sem):
        if not rs:
            out.append(Scores())
            continue
        lx = lexical(h, rs)
        out.append(Scores(lx["chrf"], lx["bleu"], lx["ter"], s, quality(lx, s)))
    return out


def quality(lex: dict[str, float], sem: float | None) -> float | None:
    """Combined quality in [0, 1]: see mtaudit/quality.py for the fitted weights."""
    from mtaudit import quality as q

    return q.combine(lex, sem)


def signatures(settings: Settings) -> dict[str, str]:
    m = metrics()
    from mtaudit import quality as q

    return {
        "chrf": "chrF2++|" + str(m["chrf"].get_signature()).replace("nrefs:1", "nrefs:var"),  # type: ignore[attr-defined]
        "bleu": "BLEU|" + str(m["bleu"].get_signature()).replace("nrefs:1", "nrefs:var"),  # type: ignore[attr-defined]
        "ter": "TER|" + str(m["ter"].get_signature()).replace("nrefs:1", "nrefs:var"),  # type: ignore[attr-defined]
        "semantic": f"cos-max|{embed.signature()}",
        "quality": q.signature(),
    }


def mean(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return round(float(np.mean(vals)), 4) if vals else None
