"""Sentence splitting with pysbd, keeping character offsets into the article text."""

from __future__ import annotations

import re
from functools import lru_cache

import pysbd

from mtaudit.base.types import Sentence

# pysbd's abbreviation pass is quadratic in the length of what it is given: one 485 KB paragraph took 71 s, so a
# 2 MB one (the default max_bytes) would take about twenty minutes. News paragraphs are far shorter, so longer
# ones are cut first, at the last sentence end before this many characters (else at a space).
CHUNK = 5000
_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*\s+")


@lru_cache(maxsize=1)
def _segmenter() -> pysbd.Segmenter:
    return pysbd.Segmenter(language="en", clean=False)


def chunks(para: str, limit: int = CHUNK) -> list[str]:
    """``para`` in consecutive pieces of at most ``limit`` characters, cut where a sentence ends."""
    out: list[str] = []
    at = 0
    while len(para) - at > limit:
        window = para[at : at + limit]
        ends = [m.end() for m in _SENTENCE_END.finditer(window)]
        cut = ends[-1] if ends else (window.rfind(" ") + 1 or limit)
        out.append(para[at : at + cut])
        at += cut
    out.append(para[at:])
    return out


def split(text: str, regions: list[tuple[int, int]], first_index: int = 0, limit: int | None = None) -> list[Sentence]:
    """Split each prose region (a paragraph) into sentences, stopping after ``limit`` sentences (the rest is not read).

    Offsets are found by searching each pysbd segment forward from a cursor, so they
    always point at the exact characters in ``text`` (pysbd's own char spans drift on
    repeated sentences).
    """
    sentences: list[Sentence] = []
    for start, end in regions:
        para = text[start:end]
        cursor = 0
        for seg in (seg for piece in chunks(para) for seg in _segmenter().segment(piece)):
            piece = seg.strip()
            if not piece:
                continue
            at = para.find(piece, cursor)
            if at < 0:  # pysbd normalised something; fall back to the cursor
                at = cursor
            cursor = at + len(piece)
            if not any(ch.isalnum() for ch in piece):
                continue
            sentences.append(
                Sentence(first_index + len(sentences), start + at, start + at + len(piece), piece)
            )
            if limit is not None and len(sentences) >= limit:
                return sentences
    return sentences
