"""Sentence embeddings: batched, canonical, cached by text hash in memory and on disk.

Canonical means a text's vector does not depend on which other texts share its batch:
every text is padded to its token length rounded up to a multiple of ``PAD_TO`` and
batched only with texts of that padded length, so the matrix shapes a text meets depend on
its own length alone (checked: bit-equal alone, in any batch, in any order). A text's vector is
then bit-for-bit the same in a single process, in a Dask worker that sees one story, and
in the on-disk cache written by last night's run; that is what lets ``--engine dask``
give the same reports as the single-process run. (Padded batches, as
``SentenceTransformer.encode`` builds them, move vectors by ~1e-7, enough to flip a
similarity rounded to four decimals.) Padding to a multiple of 8 wastes under 8 tokens a
text, and keeps the number of forward passes small even for a call with a few texts.

The on-disk cache (SQLite under ``cache_root/embed``, keyed by model version and device)
is on by default; ``MTAUDIT_EMBED_DISK_CACHE=0`` switches it off (the benchmark does, to
time the real cost).
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict, defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from mtaudit.base.cache import open_cache
from mtaudit.base.settings import Settings, cache_root
from mtaudit.nlp import registry

DIM = 384
PAD_TO = 8  # token lengths are rounded up to this; texts of one rounded length share batches
SCHEME = "pad8-v1"  # bump when the way vectors are computed changes
_CACHE: OrderedDict[str, np.ndarray] = OrderedDict()
# Least recently used first out past this (~85 MB of vectors). The audit needs one story's sentences
# and merged pairs at a time (64 articles at most, a few thousand vectors); more only kept memory
# growing with the batch. The on-disk cache (when on) still holds every vector.
_CACHE_LIMIT = 50_000


def _key(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def disk_cache_enabled() -> bool:
    return os.environ.get("MTAUDIT_EMBED_DISK_CACHE", "1") != "0"


def _db_path(settings: Settings) -> Path:
    device = registry.pick_device(settings.device)
    tag = hashlib.sha256(f"{registry.describe('encoder')}|{SCHEME}|{device}".encode()).hexdigest()[:12]
    return cache_root(settings) / "embed" / f"minilm-{tag}.sqlite"


def _disk_get(keys: list[str], settings: Settings) -> dict[str, np.ndarray]:
    if not keys:
        return {}
    return {k: np.frombuffer(blob, dtype=np.float32) for k, blob in open_cache(_db_path(settings)).get_many(keys).items()}


def _disk_put(items: list[tuple[str, np.ndarray]], settings: Settings) -> None:
    if items:
        open_cache(_db_path(settings)).put_many([(k, v.tobytes()) for k, v in items])


def _remember(items: list[tuple[str, np.ndarray]]) -> None:
    for k, v in items:
        _CACHE[k] = v
        _CACHE.move_to_end(k)
    while len(_CACHE) > _CACHE_LIMIT:
        _CACHE.popitem(last=False)


def compute(texts: list[str], settings: Settings) -> np.ndarray:
    """Encode without any cache: batches of up to ``batch_size`` texts of one padded length, on the settings' device."""
    import torch  # torch loads with the first model, not on import (start-up time)

    out = np.zeros((len(texts), DIM), dtype=np.float32)
    if not texts:
        return out
    model = registry.get("encoder", settings.device)
    pad_id = model.tokenizer.pad_token_id or 0
    ids = model.tokenizer(texts, truncation=True, max_length=model.max_seq_length)["input_ids"]
    by_length: defaultdict[int, list[int]] = defaultdict(list)
    for i, row in enumerate(ids):
        by_length[-(-len(row) // PAD_TO) * PAD_TO].append(i)
    size = max(1, settings.batch_size)
    for length in sorted(by_length):
        members = by_length[length]
        for start in range(0, len(members), size):
            chunk = members[start : start + size]
            features = model.preprocess([texts[i] for i in chunk])
            for key, value in list(features.items()):
                if isinstance(value, torch.Tensor):
                    if value.ndim == 2 and value.shape[1] < length:  # pad to the rounded length, whatever the batch
                        value = torch.nn.functional.pad(value, (0, length - value.shape[1]), value=pad_id if key == "input_ids" else 0)
                    features[key] = value.to(model.device)
            with torch.inference_mode():
                vecs = model(features)["sentence_embedding"].float()
                vecs = torch.nn.functional.normalize(vecs, dim=1)
            out[chunk] = vecs.cpu().numpy()
    return out


def encode(texts: list[str], settings: Settings) -> np.ndarray:
    """L2-normalised embeddings, one row per text (cosine = dot product)."""
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    keys = [_key(t) for t in texts]
    found: dict[str, np.ndarray] = {}
    for k in keys:
        if k in _CACHE:
            _CACHE.move_to_end(k)
            found[k] = _CACHE[k]
    missing = {k: t for k, t in zip(keys, texts) if k not in found}
    if missing:
        use_disk = disk_cache_enabled()
        if use_disk:
            hits = _disk_get(sorted(missing), settings)
            found.update(hits)
            _remember(list(hits.items()))
        todo = sorted((k, t) for k, t in missing.items() if k not in found)
        if todo:
            vecs = compute([t for _, t in todo], settings)
            new = [(k, v) for (k, _), v in zip(todo, vecs)]
            found.update(new)
            _remember(new)
            if use_disk:
                _disk_put(new, settings)
    return np.stack([found[k] for k in keys])


def signature() -> str:
    return f"embed:{registry.describe('encoder')}|pool:mean|norm:l2|batch:{SCHEME}"


TOKEN_MAX_LENGTH = 512  # what bert-score's tokenizer truncates at (the encoder's own limit)
_TOKEN_CACHE: OrderedDict[str, np.ndarray] = OrderedDict()
_TOKEN_CACHE_BYTES = 96 * 2**20  # least recently used token matrices go first past this (a story needs ~20 MB)
_token_bytes = 0


def word_pieces(tok: Any, text: str) -> list[int]:
    """The text's word pieces with [CLS] and [SEP]; an empty text is the two alone ([CLS] [SEP])."""
    return list(tok.encode(text.strip(), add_special_tokens=True, max_length=TOKEN_MAX_LENGTH, truncation=True))


def token_vectors(texts: list[str], settings: Settings) -> list[np.ndarray]:
    """Last-layer token embeddings (L2-normalised, [CLS] and [SEP] included), one matrix per text.

    What bert-score computes with this encoder at layer 6 (its last), but canonical like
    ``compute``: texts are padded to their token length rounded up to ``PAD_TO`` and batched
    only with texts of that length, so a text's matrix does not depend on the other texts
    of a call. Kept in memory (least recently used out past 96 MB): the sentences of a story
    serve as references for each of its articles in turn.
    """
    global _token_bytes
    import torch  # torch loads with the first model, not on import (start-up time)

    out: dict[str, np.ndarray] = {}
    todo: dict[str, str] = {}
    for t in texts:
        k = _key(t)
        if k in _TOKEN_CACHE:
            _TOKEN_CACHE.move_to_end(k)
            out[k] = _TOKEN_CACHE[k]
        else:
            todo.setdefault(k, t)
    if todo:
        model = registry.get("encoder", settings.device)
        bert = model[0].auto_model
        pad_id = model.tokenizer.pad_token_id or 0
        ids = {k: word_pieces(model.tokenizer, t) for k, t in todo.items()}  # this run's encoder: no second model on another device
        by_length: defaultdict[int, list[str]] = defaultdict(list)
        for k in sorted(ids):
            by_length[-(-len(ids[k]) // PAD_TO) * PAD_TO].append(k)
        size = max(1, settings.batch_size)
        for length in sorted(by_length):
            members = by_length[length]
            for start in range(0, len(members), size):
                chunk = members[start : start + size]
                x = torch.full((len(chunk), length), pad_id, dtype=torch.long)
                mask = torch.zeros((len(chunk), length), dtype=torch.long)
                for row, k in enumerate(chunk):
                    x[row, : len(ids[k])] = torch.tensor(ids[k])
                    mask[row, : len(ids[k])] = 1
                with torch.inference_mode():
                    hidden = bert(input_ids=x.to(bert.device), attention_mask=mask.to(bert.device))[0].float()
                    hidden = hidden / torch.norm(hidden, dim=-1, keepdim=True)
                hidden_np = hidden.cpu().numpy()
                for row, k in enumerate(chunk):
                    mat = np.ascontiguousarray(hidden_np[row, : len(ids[k])])
                    out[k] = mat
                    _TOKEN_CACHE[k] = mat
                    _token_bytes += mat.nbytes
        while _token_bytes > _TOKEN_CACHE_BYTES and _TOKEN_CACHE:
            _, old = _TOKEN_CACHE.popitem(last=False)
            _token_bytes -= old.nbytes
    return [out[_key(t)] for t in texts]
