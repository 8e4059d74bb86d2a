"""Sentence alignment across the outlets of one story: each sentence's closest matches.

Only within a story (at most ``stories.MAX_STORY`` articles), never across the batch, so the
cost per article is bounded by its story's size, not by the batch's.
"""

from __future__ import annotations

import numpy as np
from rapidfuzz import fuzz, process

from mtaudit.base.settings import Settings
from mtaudit.base.types import Article, Link
from mtaudit.nlp import embed


def align(article: Article, others: list[Article], settings: Settings) -> dict[int, list[Link]]:
    """sentence index -> up to ``align_top_k`` links above ``align_min_similarity``, best first.

    Many-to-many: one sentence may link to several sentences of several articles, and one
    sentence of another article may serve several of ours.
    """
    pool = [(o, s) for o in others for s in o.sentences]
    out: dict[int, list[Link]] = {s.index: [] for s in article.sentences}
    if not pool or not article.sentences:
        return out
    mine = embed.encode([s.text for s in article.sentences], settings)
    theirs = embed.encode([s.text for _, s in pool], settings)
    sims = mine @ theirs.T
    k = min(settings.align_top_k, len(pool))
    for row, sent in enumerate(article.sentences):
        best = np.argsort(-sims[row], kind="stable")[:k]
        out[sent.index] = [
            Link(pool[j][0].article_id, pool[j][1].index, pool[j][1].text, round(float(sims[row, j]), 4))
            for j in best
            if sims[row, j] >= settings.align_min_similarity
        ]
    return out


COPY_RATIO = 95  # rapidfuzz ratio at which two sentences are the same sentence (a typo or a quote mark apart)


def split_copies(article: Article, others: list[Article], settings: Settings) -> tuple[list[Article], list[Article]]:
    """The other articles of the story as (coverage, copies): a copy has ``copy_share`` of either's sentences
    near-verbatim in the other.

    A syndicated or republished copy of a machine-translated article carries the same "the eleventh" and would
    count as an outlet agreeing with it; outlets that wrote their own text share a quote or two, not most of it.
    The audit and the coverage fit both take their coverage from here.
    """
    mine = [s.text for s in article.sentences]
    coverage, copies = [], []
    for other in others:
        theirs = [s.text for s in other.sentences]
        if mine and theirs:
            same = process.cdist(mine, theirs, scorer=fuzz.ratio, score_cutoff=COPY_RATIO, workers=1) > 0
            if max(same.any(axis=1).mean(), same.any(axis=0).mean()) >= settings.copy_share:
                copies.append(other)
                continue
        coverage.append(other)
    return coverage, copies
