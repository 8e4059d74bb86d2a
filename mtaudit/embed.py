"""Sentence embeddings, batched, cached in memory by text hash so no text is encoded twice."""

from __future__ import annotations

import hashlib

import numpy as np

from mtaudit import registry
from mtaudit.settings import Settings

_CACHE: dict[str, np.ndarray] = {}
_CACHE_LIMIT = 500_000


def _key(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def encode(texts: list[str], settings: Settings) -> np.ndarray:
    """L2-normalised embeddings, one row per text (cosine = dot product)."""
    keys = [_key(t) for t in texts]
    todo = sorted({k: t for k, t in zip(keys, texts) if k not in _CACHE}.items())
    if todo:
        model = registry.get("encoder", settings.device)
        vecs = model.encode(
            [t for _, t in todo], batch_size=settings.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        )
        if len(_CACHE) + len(todo) > _CACHE_LIMIT:
            _CACHE.clear()
        for (k, _), v in zip(todo, vecs):
            _CACHE[k] = v.astype(np.float32)
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    return np.stack([_CACHE[k] for k in keys])


def signature() -> str:
    return f"embed:{registry.describe('encoder')}|pool:mean|norm:l2"
