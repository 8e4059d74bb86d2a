"""Group articles that cover the same event: a pair model over embeddings, entities, years, numbers; a date window.

Candidates come from nearest-neighbour search (k per article) inside date blocks, never
from all pairs: a dated article is compared only with the articles of its own and the two
neighbouring ``story_window_days`` blocks (and the undated ones), so the cost grows linearly
with a batch that spans more days, and an article's k candidates are never used up by
look-alikes from another month. Each candidate pair is scored by a logistic pair model
(``mtaudit/models/grouping/grouping.json``, fitted by :mod:`mtaudit.lab.grouping_fit` on ECB+ dev):
embedding cosine alone cannot tell two celebrities' rehab stories apart, who and when can. Linked
pairs are joined strongest first into stories of at most ``MAX_STORY`` articles, so one giant
cluster cannot make the per-story work quadratic.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import numpy as np

from mtaudit.base import process
from mtaudit.base.settings import Settings
from mtaudit.base.types import Article
from mtaudit.nlp import embed, registry
from mtaudit.stages import align
from mtaudit.text import lexicon

ENTITY_LABELS = {"PERSON", "ORG", "GPE", "NORP", "EVENT", "LOC", "FAC"}
MAX_STORY = 64  # articles per story at most: alignment and the story index cost grows with its square
LEAD_SENTENCES = 3  # the lead: the sentences that say what happened, before background and quotes
_ENCODE_CHUNK = 256  # articles whose sentences go to the encoder in one call
MODEL = Path(__file__).resolve().parent.parent / "models" / "grouping" / "grouping.json"
# the pair model's inputs, in order; grouping.json names them too and is refused when they differ
FEATURES = ("cosine", "lead_cosine", "entity_jaccard", "people", "places", "groups", "protagonist", "years", "numbers")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*")
_YEAR = re.compile(r"(?:19|20)\d\d")


@dataclass(frozen=True)
class Profile:
    """What an article brings to a pair besides its vectors: who, where, when and how many."""

    entities: frozenset[str]  # lower-cased entity names, as spaCy found them
    people: frozenset[str]  # the words of PERSON names ("tara", "reid")
    places: frozenset[str]  # the words of GPE, LOC and FAC names
    groups: frozenset[str]  # the words of ORG, NORP and EVENT names
    protagonist: str | None  # the person-name word mentioned most: whom the story is about
    years: frozenset[str]  # 19xx and 20xx named in the text
    numbers: frozenset[str]  # other numbers of two digits or more, or with a decimal point


@dataclass(frozen=True)
class PairModel:
    """A logistic model of "same event" over ``FEATURES``: p = sigmoid(w . x + b)."""

    version: str
    weights: tuple[float, ...]
    bias: float
    threshold: float  # the link threshold it was fitted with (the default ``story_threshold``)
    cohesion: float  # two stories merge only when this share of the pairs between them are links (no chaining)

    def probability(self, x: list[float]) -> float:
        z = self.bias + sum(w * v for w, v in zip(self.weights, x))
        return 1.0 / (1.0 + math.exp(-z))


@lru_cache(maxsize=1)
def pair_model() -> PairModel:
    """The shipped pair model (read once); refused when its features are not this code's."""
    obj = json.loads(MODEL.read_text(encoding="utf-8"))
    if tuple(obj["features"]) != FEATURES:
        raise ValueError(f"{MODEL}: features {obj['features']} are not this code's {list(FEATURES)}: refit with `python -m mtaudit.lab.grouping_fit`")
    return PairModel(str(obj["version"]), tuple(float(w) for w in obj["weights"]), float(obj["bias"]), float(obj["threshold"]),
                     float(obj.get("cohesion", 0.0)))


def vectors(articles: list[Article], settings: Settings) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors per article: the mean of its sentence embeddings, and the mean of its lead's.

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
    lead = np.zeros((len(articles), 384), dtype=np.float32)
    for lo in range(0, len(articles), _ENCODE_CHUNK):  # one encoder call per chunk of articles, not per article
        chunk = articles[lo : lo + _ENCODE_CHUNK]
        vecs = embed.encode([s.text for a in chunk for s in a.sentences], settings)
        at = 0
        for i, a in enumerate(chunk, lo):
            if a.sentences:
                mine = vecs[at : at + len(a.sentences)]
                for dest, rows in ((out, mine), (lead, mine[:LEAD_SENTENCES])):
                    v = rows.mean(axis=0)
                    dest[i] = v / (np.linalg.norm(v) or 1.0)
                at += len(a.sentences)
        process.release_memory()
    return out, lead


def profiles(articles: list[Article]) -> list[Profile]:
    """Each article's named entities (spaCy), years and numbers: the event's who, where and when."""
    nlp = registry.get("ner")
    texts = [" ".join(s.text for s in a.sentences)[:20000] for a in articles]
    only = [n for n in ("ner",) if n in nlp.pipe_names]  # the tagger feeds nothing NER reads: same entities, less time
    with nlp.select_pipes(enable=only):
        docs = list(nlp.pipe(texts, batch_size=16))
    return [profile([(e.text, e.label_) for e in doc.ents], text) for doc, text in zip(docs, texts)]


def _name_words(names: list[str]) -> frozenset[str]:
    """The words of entity names, lower-cased, possessives and stop words dropped: "Tara Reid's" -> {tara, reid}."""
    stop = lexicon.stop_words()
    return frozenset(t.key for n in names for t in lexicon.tokens(n) if len(t.key) > 2 and t.key not in stop)


def profile(ents: list[tuple[str, str]], text: str) -> Profile:
    """An article's profile from its (entity text, spaCy label) pairs and its text."""
    kept = [(t, label) for t, label in ents if label in ENTITY_LABELS]
    words = Counter(t.key for n, label in kept if label == "PERSON" for t in lexicon.tokens(n) if len(t.key) > 2)
    years, numbers = set(), set()
    for m in _NUMBER.finditer(text):
        value = m.group().replace(",", "")
        if _YEAR.fullmatch(value):
            years.add(value)
        elif "." in value or len(value) >= 2:  # "6.1", "33", "1,200"; a lone digit names nothing
            numbers.add(value)
    return Profile(
        entities=frozenset(t.lower() for t, _ in kept),
        people=_name_words([t for t, label in kept if label == "PERSON"]),
        places=_name_words([t for t, label in kept if label in ("GPE", "LOC", "FAC")]),
        groups=_name_words([t for t, label in kept if label in ("ORG", "NORP", "EVENT")]),
        protagonist=words.most_common(1)[0][0] if words else None,
        years=frozenset(years),
        numbers=frozenset(numbers),
    )


def _overlap(a: frozenset[str], b: frozenset[str]) -> float:
    """Shared share of the smaller set (0 when either is empty): a short article naming three of a long one's ten names agrees fully."""
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def _agree(a: frozenset[str], b: frozenset[str]) -> float:
    """+1 when both name a common value, -1 when both name values and none in common, 0 when either names none."""
    if not a or not b:
        return 0.0
    return 1.0 if a & b else -1.0


def pair_features(cos: float, lead_cos: float, a: Profile, b: Profile) -> list[float]:
    """The pair model's inputs, in the order of ``FEATURES``."""
    if a.protagonist and b.protagonist:
        protagonist = (float(a.protagonist in b.people) + float(b.protagonist in a.people)) / 2
    else:
        protagonist = 0.0
    return [
        cos,
        lead_cos,
        _jaccard(a.entities, b.entities),
        _overlap(a.people, b.people),
        _overlap(a.places, b.places),
        _overlap(a.groups, b.groups),
        protagonist,
        _agree(a.years, b.years),
        _jaccard(a.numbers, b.numbers),
    ]


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


def pairs(articles: list[Article], settings: Settings) -> dict[tuple[int, int], list[float]]:
    """(i, j) with i < j -> the pair model's features, for the candidate pairs only (blocked k-NN)."""
    if not articles:
        return {}
    vecs, lead = vectors(articles, settings)
    prof = profiles(articles)
    return {
        (i, j): pair_features(cos, float(lead[i] @ lead[j]), prof[i], prof[j])
        for (i, j), cos in candidates(articles, vecs, settings).items()
    }


def join(articles: list[Article], scores: dict[tuple[int, int], float], threshold: float, cohesion: float = 0.0) -> dict[str, str | None]:
    """article_id -> story_id from pair scores: links at or above ``threshold``, strongest first, stories capped at ``MAX_STORY``.

    Two stories merge only when at least ``cohesion`` of the pairs between them are links
    (a pair that is no candidate is no link): single links alone chained two ECB+ events of
    one kind through one stray pair (out-of-fold precision 0.78 at cohesion 0, 0.88 with it).
    The check costs |A| x |B| look-ups per merge, at most ``MAX_STORY`` squared.
    """
    n = len(articles)
    parent = list(range(n))
    size = [1] * n

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    links = sorted((-s, i, j) for (i, j), s in scores.items() if s >= threshold)
    members_of: dict[int, list[int]] = {i: [i] for i in range(n)}
    for _, i, j in links:  # strongest links first, so a capped story keeps its closest members
        a, b = find(i), find(j)
        if a == b or size[a] + size[b] > MAX_STORY:
            continue
        if cohesion > 0 and size[a] * size[b] > 1:
            linked = sum(scores.get((min(u, v), max(u, v)), 0.0) >= threshold for u in members_of[a] for v in members_of[b])
            if linked < cohesion * size[a] * size[b]:
                continue
        parent[a] = b
        size[b] += size[a]
        members_of[b] += members_of.pop(a)
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


def group(articles: list[Article], settings: Settings) -> dict[str, str | None]:
    """article_id -> story_id; None for an article with no other coverage in the batch."""
    if not articles:
        return {}
    model = pair_model()
    scores = {ij: model.probability(x) for ij, x in pairs(articles, settings).items()}
    return join(articles, scores, settings.story_threshold, model.cohesion)


def signature(settings: Settings) -> str:
    """What produced the grouping: the pair model's version and features, the NER model, the link threshold, the search."""
    return (
        f"story:pair-lr@{pair_model().version}({','.join(FEATURES)};ner:{registry.describe('ner')})"
        f"|thr:{settings.story_threshold}|cohesion:{pair_model().cohesion}"
        f"|window:{settings.story_window_days}d|k:{settings.story_neighbors}|blocked-knn|max:{MAX_STORY}"
        f"|copies:{settings.copy_share}@ratio{align.COPY_RATIO}"
    )
