"""Group articles that cover the same event: embeddings + named entities + a date window.

Candidates come from nearest-neighbour search (k per article) inside date blocks, never
from all pairs: a dated article is compared only with the articles of its own and the two
neighbouring ``story_window_days`` blocks (and the undated ones), so the cost grows linearly
with a batch that spans more days, and an article's k candidates are never used up by
look-alikes from another month. Linked pairs are joined strongest first into stories of at
most ``MAX_STORY`` articles, so one giant cluster cannot make the per-story work quadratic.
"""

from __future__ import annotations

import hashlib
from datetime import date

import numpy as np

from mtaudit.base import process
from mtaudit.base.settings import Settings
from mtaudit.base.types import Article
from mtaudit.nlp import embed, registry
from mtaudit.stages import align

ENTITY_LABELS = {"PERSON", "ORG", "GPE", "NORP", "EVENT", "LOC", "FAC"}
MAX_STORY = 64  # articles per story at most: alignment and the story index cost grows with its square
_ENCODE_CHUNK = 256  # articles whose sentences go to the encoder in one call


def entities(articles: list[Article]) -> list[set[str]]:
    """Lower-cased named entities per article (spaCy), the event's who and where."""
    nlp = registry.get("ner")
    texts = [" ".join(s.text for s in a.sentences)[:20000] for a in articles]
    only = [n for n in ("ner",) if n in nlp.pipe_names]  # the tagger feeds nothing NER reads: same entities, less time
    with nlp.select_pipes(enable=only):
        return [
            {e.text.lower() for e in doc.ents if e.label_ in ENTITY_LABELS}
            for doc in nlp.pipe(texts, batch_size=16)
        ]


def vectors(articles: list[Article], settings: Settings) -> np.ndarray:
    """One unit vector per article: the mean of its sentence embeddings.

    The sentence vectors go to the embedding cache, which alignment then reads; the cache is
    bounded (``embed._CACHE_LIMIT``), so past ~3,000 articles the oldest are dropped and read
    back from the on-disk embedding cache when their story comes up, instead of memory growing
    with the batch (with that cache switched off they are encoded again: 424 s of alignment at
    5,000 articles against 3.1 s).

    The C heap is trimmed after each chunk: between the encoder's short-lived tensors the
    cache's small vectors pin pages glibc then cannot reuse for the next chunk's tensors, so
    without it the heap grew by ~450 MB of free-but-kept memory while 5,000 articles were
    grouped (RSS 1.77 -> 2.35 GB, mallinfo2 free 32 -> 450 MB).
    """
    out = np.zeros((len(articles), 384), dtype=np.float32)
    for lo in range(0, len(articles), _ENCODE_CHUNK):  # one encoder call per chunk of articles, not per article
        chunk = articles[lo : lo + _ENCODE_CHUNK]
        vecs = embed.encode([s.text for a in chunk for s in a.sentences], settings)
        at = 0
        for i, a in enumerate(chunk, lo):
            if a.sentences:
                v = vecs[at : at + len(a.sentences)].mean(axis=0)
                out[i] = v / (np.linalg.norm(v) or 1.0)
                at += len(a.sentences)
        process.release_memory()
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


def _day(value: str | None) -> int | None:
    try:
        return date.fromisoformat(value[:10]).toordinal() if value else None
    except ValueError:
        return None


def _top_k(query: np.ndarray, rows: np.ndarray, pool: np.ndarray, k: int) -> list[tuple[int, int, float]]:
    """(query row, pool row, cosine) for the k most similar pool rows of each query row, self excluded."""
    out: list[tuple[int, int, float]] = []
    if len(pool) == 0:
        return out
    for lo in range(0, len(query), 1024):  # bounded memory: 1024 x |pool| similarities at a time
        sims = query[lo : lo + 1024] @ pool.T
        kk = min(k + 1, sims.shape[1])
        best = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
        for r, cols in enumerate(best):
            for c in cols:
                out.append((lo + r, int(c), float(sims[r, c])))
    return out


def candidates(articles: list[Article], vecs: np.ndarray, settings: Settings) -> dict[tuple[int, int], float]:
    """(i, j) with i < j -> cosine, for pairs within the date window found by blocked k-NN search.

    Dated articles fall in blocks of ``story_window_days``; each block searches its own and its
    two neighbouring blocks plus the undated articles. Undated articles search the whole batch
    (they could belong anywhere), which stays linear while they are a bounded share of it.
    """
    n = len(articles)
    days = [_day(a.date) for a in articles]
    width = max(1, settings.story_window_days)
    blocks: dict[int, list[int]] = {}
    undated: list[int] = []
    for i, d in enumerate(days):
        (undated if d is None else blocks.setdefault(d // width, [])).append(i)
    pairs: dict[tuple[int, int], float] = {}

    def search(queries: list[int], pool: list[int]) -> None:
        found = _top_k(vecs[queries], np.asarray(pool), vecs[pool], settings.story_neighbors)
        for q, p, cos in found:
            i, j = queries[q], pool[p]
            if i == j:
                continue
            if days[i] is not None and days[j] is not None and abs(days[i] - days[j]) > settings.story_window_days:  # type: ignore[operator]
                continue
            pairs[(min(i, j), max(i, j))] = cos

    for b, members in blocks.items():
        pool = sorted(undated + [i for bb in (b - 1, b, b + 1) for i in blocks.get(bb, [])])
        search(members, pool)
    if undated:
        search(undated, list(range(n)))
    return pairs


def group(articles: list[Article], settings: Settings) -> dict[str, str | None]:
    """article_id -> story_id; None for an article with no other coverage in the batch."""
    n = len(articles)
    if n == 0:
        return {}
    vecs = vectors(articles, settings)
    ents = entities(articles)
    parent = list(range(n))
    size = [1] * n

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    links = []
    for (i, j), cos in candidates(articles, vecs, settings).items():
        s = link_score(cos, ents[i], ents[j])
        if s >= settings.story_threshold:
            links.append((-s, i, j))
    for _, i, j in sorted(links):  # strongest links first, so a capped story keeps its closest members
        a, b = find(i), find(j)
        if a != b and size[a] + size[b] <= MAX_STORY:
            parent[a] = b
            size[b] += size[a]
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
        f"|window:{settings.story_window_days}d|k:{settings.story_neighbors}|blocked-knn|max:{MAX_STORY}"
        f"|copies:{settings.copy_share}@ratio{align.COPY_RATIO}"
    )
