"""Language-model surprisal with the packaged SmolLM2-135M: per token, per sentence, per phrase."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from mtaudit import registry
from mtaudit.settings import Settings


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
    return registry.get("lm", settings.device)


def surprisal(texts: list[str], settings: Settings) -> list[Surprisal]:
    """Surprisal of every token after the first, batched with padding.

    The vocabulary projection runs one row at a time on its real tokens only: batched logits are
    batch x length x 49,152 floats (0.5 GB for 16 long sentences, twice that with the softmax),
    the transient that set the audit's peak memory.
    """
    import torch

    model, tok = _model(settings)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    out: list[Surprisal] = []
    device = next(model.parameters()).device
    head = model.get_output_embeddings()
    for i in range(0, len(texts), settings.batch_size):
        chunk = texts[i : i + settings.batch_size]
        enc = tok(chunk, return_tensors="pt", padding=True, truncation=True, max_length=256, return_offsets_mapping=True)
        offsets = enc.pop("offset_mapping")
        mask = enc["attention_mask"][:, 1:].numpy().astype(bool)
        with torch.inference_mode():
            hidden = model.base_model(input_ids=enc["input_ids"].to(device), attention_mask=enc["attention_mask"].to(device))[0]
            for row, text in enumerate(chunk):
                keep = mask[row]
                pos = torch.from_numpy(np.flatnonzero(keep))  # position j predicts token j + 1
                logits = head(hidden[row, pos.to(device)]).float()
                target = enc["input_ids"][row, pos + 1].to(device)
                nll = (torch.logsumexp(logits, dim=-1) - logits.gather(-1, target.unsqueeze(-1)).squeeze(-1)).cpu().numpy()
                offs = [tuple(map(int, o)) for o in offsets[row, 1:][keep].tolist()]
                out.append(Surprisal(text, offs, nll.astype(float).tolist()))  # type: ignore[arg-type]
    return out


def continuation_logprob(prefix: str, options: list[str], settings: Settings) -> list[float]:
    """log P(option | prefix) summed over the option's tokens, for each option.

    Each option is its own forward pass (no padding, so a value never depends on the other
    options), remembered per (prefix, option): the collocation signal asks for our own phrase
    once per alternative the other outlets offer.
    """
    return [_option_logprob(prefix, option, settings) for option in options]


@lru_cache(maxsize=4096)
def _option_logprob(prefix: str, option: str, settings: Settings) -> float:
    import torch

    model, tok = _model(settings)
    device = next(model.parameters()).device
    n = len(tok(prefix, return_tensors="pt")["input_ids"][0])
    ids = tok(prefix + option, return_tensors="pt")["input_ids"][0]
    with torch.inference_mode():
        logits = model(input_ids=ids.unsqueeze(0).to(device)).logits[0]
    logp = torch.log_softmax(logits.float(), dim=-1)
    return float(sum(logp[j - 1, ids[j]] for j in range(max(n, 1), len(ids))))


def signature() -> str:
    return f"lm:{registry.describe('lm')}|unit:nats"
