"""Sentence splitting with pysbd, keeping character offsets into the article text."""

from __future__ import annotations

from functools import lru_cache

import pysbd

from mtaudit.types import Sentence


@lru_cache(maxsize=1)
def _segmenter() -> pysbd.Segmenter:
    return pysbd.Segmenter(language="en", clean=False)


def split(text: str, regions: list[tuple[int, int]], first_index: int = 0) -> list[Sentence]:
    """Split each prose region (a paragraph) into sentences.

    Offsets are found by searching each pysbd segment forward from a cursor, so they
    always point at the exact characters in ``text`` (pysbd's own char spans drift on
    repeated sentences).
    """
    sentences: list[Sentence] = []
    for start, end in regions:
        para = text[start:end]
        cursor = 0
        for seg in _segmenter().segment(para):
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
    return sentences
