"""Group articles that cover the same event: embeddings + named entities + a date window.

Candidates come from a nearest-neighbour index (k per article), never from all pairs, so
the cost grows linearly with the batch; linked pairs are joined into stories.
"""

from __future__ import annotations

import hashlib
from datetime import date

import numpy as np

from mtaudit import embed, registry
from mtaudit.settings import Settings
from mtaudit.types import Article

ENTITY_LABELS = {"PERSON", "ORG", "GPE", "NORP", "EVENT", "LOC", "FAC"}


def entities(articles: list[Article]) -> list[set[str]]:
    """Lower-cased named entities per article (spaCy), the event's who and where."""
    nlp = registry.get("ner")
    texts = [" ".join(s.text for s in a.sentences)[:20000] for a in articles]
    return [
        {e.text.lower() for e in doc.ents if e.label_ in ENTITY_LABELS}
        for doc in nlp.pipe(texts, batch_size=16)
    ]


def vectors(articles: list[Article], settings: Settings) -> np.ndarray:
    """One unit vector per article: the mean of its sentence embeddings."""
    out = np.zeros((len(articles), 384), dtype=np.float32)
    for i, a in enumerate(articles):
        if a.sentences:
            v = embed.encode([s.text for s in a.sentences], settings).mean(axis=0)
            out[i] = v / (np.linalg.norm(v) or 1.0)
    return out


def _days(a: str | None, b: str | None) -> int | None:
    try:
        return abs((date.fromisoformat(a[:10]) - date.fromisoformat(b[:10])).days) if a and b else None
    except ValueError:
        return None


def link_score(cos: float, ents_a: set[str], ents_b: set[str]) -> float:
    union = len(ents_a | ents_b)
    jaccard = len(ents_a & ents_b) / union if union else 0.0
    return 0.7 * cos + 0.3 * jaccard


def group(articles: list[Article], settings: Settings) -> dict[str, str | None]:
    """article_id -> story_id; None for an article with no other coverage in the batch."""
    n = len(articles)
    if n == 0:
        return {}
    vecs = vectors(articles, settings)
    ents = entities(articles)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    if n > 1:
        from sklearn.neighbors import NearestNeighbors

        k = min(settings.story_neighbors + 1, n)
        index = NearestNeighbors(n_neighbors=k, metric="cosine", algorithm="brute").fit(vecs)
        dist, idx = index.kneighbors(vecs)
        for i in range(n):
            for d, j in zip(dist[i], idx[i]):
                if j == i:
                    continue
                gap = _days(articles[i].date, articles[int(j)].date)
                if gap is not None and gap > settings.story_window_days:
                    continue
                if link_score(1.0 - float(d), ents[i], ents[int(j)]) >= settings.story_threshold:
                    parent[find(i)] = find(int(j))
    members: dict[int, list[int]] = {}
    for i in range(n):
        members.setdefault(find(i), []).append(i)
    out: dict[str, str | None] = {}
    for group_ in members.values():
        ids = sorted(articles[i].article_id for i in group_)
        sid = "s" + hashlib.sha256("|".join(ids).encode()).hexdigest()[:12] if len(ids) > 1 else None
        for i in group_:
            out[articles[i].article_id] = sid
    return out


def signature(settings: Settings) -> str:
    return (
        f"story:0.7cos+0.3jaccard(ner:{registry.describe('ner')})|thr:{settings.story_threshold}"
        f"|window:{settings.story_window_days}d|k:{settings.story_neighbors}"
    )
