"""Language-model surprisal with the packaged SmolLM2-135M: per token, per sentence, per phrase."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from mtaudit.base.cache import Cache, open_cache
from mtaudit.base.settings import Settings, cache_root
from mtaudit.nlp import registry


@dataclass
class Surprisal:
    """Per-token surprisal (nats) with character offsets into the scored text."""

    text: str
    offsets: list[tuple[int, int]]
    nats: list[float]

    @property
    def mean(self) -> float:
        return float(np.mean(self.nats)) if self.nats else 0.0


def _model(settings: Settings):  # type: ignore[no-untyped-def]
    return registry.get("lm", settings.device, settings.lm_precision)


CPU_BATCH = 16  # sentences per forward pass on a CPU: 448 sentences sorted by length took 33 s at 8 or 16, 37 s at 32

# Texts read lately, and what the LM made of them. A flagged sentence is read by three callers (the lm_spike
# signal, the sentence model's surprisal features, the fluency score), most often as the same text; each reads it
# once. Two chunks of the audit's articles (2 x 16 x ~25 sentences) fit, so the fluency score of chunk n, scored
# after chunk n+1 is detected, still finds them. Behind the memory, the disk cache keeps every reading: an article
# audited again (a notebook re-run, a nightly job restarted) costs the LM nothing (the seeds: 7.9 of 8.9 s warm).
MEMO_SIZE = 4096
_MEMO: OrderedDict[tuple[str, str], Surprisal] = OrderedDict()


def _batch(settings: Settings, device: Any) -> int:
    return settings.batch_size if device.type != "cpu" else min(settings.batch_size, CPU_BATCH)


def surprisal(texts: list[str], settings: Settings) -> list[Surprisal]:
    """Surprisal of every token after the first, in input order; from memory or the disk cache where read before.

    A remembered reading equals a fresh one to float32 rounding (1e-5 nats): each row sees only its
    own tokens whatever it is padded to (``tests/nlp/test_lm.py``), and the cache keeps the float32
    values as they were. In bfloat16 the last bits follow the batch of the first reading.
    """
    sig = signature(settings)
    keys = [(sig, t) for t in texts]
    missing = list(dict.fromkeys(t for k, t in zip(keys, texts) if k not in _MEMO))
    if missing:
        blobs = _disk(settings).fetch([_key("s", t) for t in missing],
                                      lambda pos: [_pack(r) for r in _read([missing[i] for i in pos], settings)])
        for t, blob in zip(missing, blobs):
            _MEMO[(sig, t)] = _unpack(t, blob)
    out = []
    for key in keys:
        _MEMO.move_to_end(key)
        out.append(_MEMO[key])
    while len(_MEMO) > max(MEMO_SIZE, len(keys)):
        _MEMO.popitem(last=False)
    return out


def _disk(settings: Settings) -> Cache:
    """The LM's disk cache for this model, number type and device."""
    tag = hashlib.sha256(f"{signature(settings)}|{registry.pick_device(settings.device)}".encode()).hexdigest()[:12]
    return open_cache(cache_root(settings) / "surprisal" / f"smollm2-{tag}.sqlite")


def _key(kind: str, text: str) -> str:
    return kind + ":" + hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def _pack(res: Surprisal) -> bytes:
    """Offsets as int32 pairs, then the nats as float32: the LM computed them in float32, so nothing is lost."""
    return np.asarray(res.offsets, dtype=np.int32).reshape(-1, 2).tobytes() + np.asarray(res.nats, dtype=np.float32).tobytes()


def _unpack(text: str, blob: bytes) -> Surprisal:
    n = len(blob) // 12  # 2 x int32 + 1 x float32 a token
    offsets = np.frombuffer(blob[: 8 * n], dtype=np.int32).reshape(-1, 2)
    nats = np.frombuffer(blob[8 * n :], dtype=np.float32)
    return Surprisal(text, [(int(a), int(b)) for a, b in offsets], nats.astype(float).tolist())


def _read(texts: list[str], settings: Settings) -> list[Surprisal]:
    """The LM's reading of ``texts``, batched with padding.

    Batches are cut from the texts sorted by length, so a batch pads to a length near its
    own texts' instead of the longest of the lot. Each row is projected to the vocabulary on
    its real tokens only (``_next_token_nll``).
    """
    import torch  # torch loads with the first model, not on import (start-up time)

    if not texts:
        return []
    model, tok = _model(settings)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    out: dict[int, Surprisal] = {}
    device = next(model.parameters()).device
    batch = _batch(settings, device)
    order = sorted(range(len(texts)), key=lambda k: len(texts[k]))
    for i in range(0, len(order), batch):
        picked = order[i : i + batch]
        chunk = [texts[k] for k in picked]
        enc = tok(chunk, return_tensors="pt", padding=True, truncation=True, max_length=256, return_offsets_mapping=True)
        offsets = enc.pop("offset_mapping")
        mask = enc["attention_mask"][:, 1:].numpy().astype(bool)
        with torch.inference_mode():
            hidden = model.base_model(input_ids=enc["input_ids"].to(device), attention_mask=enc["attention_mask"].to(device))[0]
            for row, text in enumerate(chunk):
                keep = mask[row]
                nll = _next_token_nll(model, hidden[row], enc["input_ids"][row], torch.from_numpy(np.flatnonzero(keep))).numpy()
                offs = [tuple(map(int, o)) for o in offsets[row, 1:][keep].tolist()]
                out[picked[row]] = Surprisal(text, offs, nll.astype(float).tolist())  # type: ignore[arg-type]
    return [out[k] for k in range(len(texts))]


def _next_token_nll(model: Any, hidden: Any, ids: Any, pos: Any) -> Any:
    """Surprisal (nats, on the CPU) of token ``j + 1`` for each position ``j`` in ``pos`` of one sequence.

    Only those positions are projected to the vocabulary: batched logits are batch x length x
    49,152 floats (0.5 GB for 16 long sentences, twice that with a softmax), the transient that
    set the audit's peak memory.
    """
    import torch  # torch loads with the first model, not on import (start-up time)

    logits = model.get_output_embeddings()(hidden[pos.to(hidden.device)]).float()
    target = ids[pos + 1].to(hidden.device)
    return (torch.logsumexp(logits, dim=-1) - logits.gather(-1, target.unsqueeze(-1)).squeeze(-1)).cpu()


def _right_padded(seqs: list[list[int]], pad: int) -> tuple[Any, Any]:
    """Token rows padded on the right, and their attention mask: each row keeps its own positions."""
    import torch  # torch loads with the first model, not on import (start-up time)

    ids = torch.full((len(seqs), max(map(len, seqs))), pad)
    mask = torch.zeros_like(ids)
    for r, seq in enumerate(seqs):
        ids[r, : len(seq)] = torch.tensor(seq)
        mask[r, : len(seq)] = 1
    return ids, mask


def conditional_tokens(prefixes: list[str], targets: list[str], settings: Settings, max_tokens: int = 128) -> list[np.ndarray]:
    """Log-probability (nats) of each of a target's first ``max_tokens`` tokens after its prefix.

    Prefix and target are tokenised apart and joined, so the target's tokens are the same
    after any prefix. Rows are right-padded, which leaves each row's positions and attention
    its own; only the target's positions are projected to the vocabulary (``_next_token_nll``).
    """
    import torch  # torch loads with the first model, not on import (start-up time)

    model, tok = _model(settings)
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    device = next(model.parameters()).device
    out: list[np.ndarray] = [np.zeros(0, dtype=np.float32)] * len(targets)
    order = sorted(range(len(targets)), key=lambda i: len(prefixes[i]) + len(targets[i]))  # little padding
    step = _batch(settings, device)
    for lo in range(0, len(order), step):
        rows = order[lo : lo + step]
        seqs, starts = [], []
        for i in rows:
            head = tok(prefixes[i])["input_ids"] or [tok.eos_token_id]
            seqs.append(head + tok(targets[i])["input_ids"][:max_tokens])
            starts.append(len(head))
        ids, mask = _right_padded(seqs, pad)
        with torch.inference_mode():
            hidden = model.base_model(input_ids=ids.to(device), attention_mask=mask.to(device))[0]
            for r, i in enumerate(rows):
                nll = _next_token_nll(model, hidden[r], ids[r], torch.arange(starts[r] - 1, len(seqs[r]) - 1))
                out[i] = (-nll).numpy().astype(np.float32)
    return out


_OPTIONS: dict[tuple[str, str, Settings], float] = {}  # (prefix, option, settings) -> log P(option | prefix)
_OPTIONS_LIMIT = 4096


def continuation_logprob(prefix: str, options: list[str], settings: Settings) -> list[float]:
    """log P(option | prefix) summed over the option's tokens, for each option.

    The options not yet remembered are read in one right-padded batch: with eager attention a row's
    values do not depend on the others (checked in the tests), and two short rows cost little more
    than one. Remembered per (prefix, option): the collocation signal asks for our own phrase once
    per alternative the other outlets offer.
    """
    got = {o: v for o in dict.fromkeys(options) if (v := _OPTIONS.get((prefix, o, settings))) is not None}
    todo = [o for o in dict.fromkeys(options) if o not in got]
    if todo:  # read from this call's own dict: another thread may clear the shared one meanwhile
        blobs = _disk(settings).fetch([_key("o", prefix + "\x00" + o) for o in todo], lambda pos: [
            np.float64(v).tobytes() for v in _options_logprob(prefix, [todo[i] for i in pos], settings)])
        got.update((o, float(np.frombuffer(blob, dtype=np.float64)[0])) for o, blob in zip(todo, blobs))
        if len(_OPTIONS) + len(todo) > _OPTIONS_LIMIT:
            _OPTIONS.clear()
        _OPTIONS.update({(prefix, o, settings): got[o] for o in todo})
    return [got[o] for o in options]


def _options_logprob(prefix: str, options: list[str], settings: Settings) -> list[float]:
    """One forward pass over prefix + each option (tokenised together, as a reader sees the text)."""
    import torch  # torch loads with the first model, not on import (start-up time)

    model, tok = _model(settings)
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    device = next(model.parameters()).device
    n = max(len(tok(prefix)["input_ids"]), 1)
    seqs = [tok(prefix + option)["input_ids"] for option in options]
    ids, mask = _right_padded(seqs, pad)
    with torch.inference_mode():
        hidden = model.base_model(input_ids=ids.to(device), attention_mask=mask.to(device))[0]
        return [-float(_next_token_nll(model, hidden[r], ids[r], torch.arange(n - 1, len(seq) - 1)).sum())
                for r, seq in enumerate(seqs)]


def dtype(settings: Settings) -> str:
    """The number type the LM runs in under these settings: what its caches and signatures are keyed by."""
    return registry.lm_dtype(settings.lm_precision, settings.device)


def signature(settings: Settings) -> str:
    return f"lm:{registry.describe('lm')}|dtype:{dtype(settings)}|unit:nats"
