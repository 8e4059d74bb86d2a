"""One settings object: shipped defaults, then a TOML file, then MTAUDIT_* environment, then flags."""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

DEFAULT_CONFIG = Path("mtaudit.toml")


@dataclass(frozen=True)
class Settings:
    """Every tunable of the audit. Field names are the keys of the ``[audit]`` TOML table."""

    # models and compute
    device: str = "auto"  # auto | cpu | cuda
    batch_size: int = 64
    # the language model's number type: auto is float32 on every machine, so a report does not depend on the CPU
    # (bfloat16's kernels differ by CPU and batch shape). bfloat16 is faster where the CPU computes it natively
    # (AVX512-BF16 or AMX: 40 sentences a second against 12 on 2 cores), surprisal within 0.05 nats on average
    lm_precision: str = "auto"  # auto | float32 | bfloat16
    cache_dir: str = ""  # empty: $XDG_CACHE_HOME/mtaudit or ~/.cache/mtaudit
    # hold glibc's mmap threshold: peak 2.21 GB at 5,000 articles against 2.59 GB at 1,500 without it;
    # ~12% slower. On by default: running out of memory fails a batch, 12% more time does not
    low_memory: bool = True
    # a running Dask scheduler (tcp://host:8786) to audit on, story partitions as tasks; empty: no cluster
    # (``mtaudit audit`` then runs in this process, or on a local cluster with ``--workers N``)
    dask_scheduler: str = ""
    # ingest
    max_bytes: int = 2_000_000  # larger inputs are truncated at a sentence boundary, with a warning
    # an article longer than this is audited on its first max_sentences sentences, with a warning and a note in its
    # report: news articles are rarely over 150 sentences, and every stage's cost grows with an article's length,
    # so one 15,000-sentence file would hold up every report behind it
    max_sentences: int = 300
    min_words: int = 20  # shorter articles are skipped as empty
    language: str = "en"
    # stories
    story_threshold: float = 0.55  # the pair model's probability that links two articles: the threshold fitted with it (models/grouping/grouping.json)
    story_window_days: int = 7  # articles further apart in date are never one story
    story_neighbors: int = 20  # candidates per article (blocking: no all-pairs over a batch)
    # alignment and references
    align_top_k: int = 4
    align_min_similarity: float = 0.45
    # another article of the story whose sentences are this share (either way) of near-verbatim copies of ours is a
    # copy (syndication, a republished feed item): it repeats our errors, it does not confirm them, so it is no coverage
    copy_share: float = 0.8
    reference_min_similarity: float = 0.6
    max_references: int = 3
    # detection
    rare_zipf: float = 1.0  # words rarer than this in English (wordfreq Zipf) are suspicious
    name_similarity: float = 0.72  # how alike two spellings must be to be one name
    collocation_min_count: int = 1_000_000  # bigram count that makes a phrase a fixed collocation
    collocation_lm_gap: float = 4.0  # nats by which the LM must prefer the other outlets' phrase
    wording_lm_gap: float = 2.5  # nats by which the LM must prefer the other outlets' words between the same neighbours
    sentence_threshold: float = 0.5  # sentence flagged when its MT probability reaches this
    article_threshold: float = 0.5
    abstain_band: float = 0.1  # |p - threshold| below this: abstain
    # in an article judged machine-translated, the sentence flags come from the sentence model that also
    # reads SmolLM2 surprisal (held-out AUROC 0.836 against 0.682; about 0.03 s a sentence on 2 cores in bfloat16, 0.09 s in float32)
    sentence_lm: bool = True
    # the share of machine translation expected among the articles audited. The detector is calibrated at
    # 0.5 (no assumption); another prior moves every article probability by Bayes' rule, so that on a feed
    # where 5% are machine-translated a probability means what it says there (wmt22 dev, 86% MT: ECE 0.146
    # at 0.5, 0.051 at its own share, out-of-fold with the detector of 2026-11-30, data version 4)
    mt_prior: float = 0.5
    # quality: how the estimator uses the reference length. held: at its training mean (a sentence is not marked down
    # for being long, as the old score did); scored: as fitted (MQM sums penalties, so longer is worse). auto: the
    # measured choice, mtaudit.stages.quality.LENGTH (its figures there, in the models card and in docs/figures.md)
    quality_length: str = "auto"  # auto | held | scored

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed; an unknown name or a bad value is a ValueError that says which."""
        for key in changes:
            if key not in KNOWN:
                raise ValueError(f"unknown setting {key!r} (known: {', '.join(sorted(KNOWN))})")
        check({**dataclasses.asdict(self), **changes})
        return dataclasses.replace(self, **changes)


KNOWN = frozenset(f.name for f in fields(Settings))


def _coerce(name: str, value: Any) -> Any:
    kind = {f.name: f.type for f in fields(Settings)}[name]
    if kind in ("int", "float"):
        try:
            return int(value) if kind == "int" else float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name}: {value!r} is not {'a whole number' if kind == 'int' else 'a number'}") from None
    if kind == "bool":
        word = str(value).strip().lower()
        if isinstance(value, bool) or word in ("1", "true", "yes", "on", "0", "false", "no", "off", ""):
            return value if isinstance(value, bool) else word in ("1", "true", "yes", "on")
        raise ValueError(f"{name}: {value!r} is not a yes/no value (true, false, 1, 0, on, off)")
    return str(value)


DEVICES = ("auto", "cpu", "cuda")
LM_PRECISIONS = ("auto", "float32", "bfloat16")
QUALITY_LENGTHS = ("auto", "held", "scored")


def load_settings(config: Path | None = None, default_file: bool = True, **flags: Any) -> Settings:
    """Layer the sources; unknown keys are an error so a typo never passes silently.

    Without ``config``, ``./mtaudit.toml`` is read when it exists, unless ``default_file`` is off (the Python
    API: a library call should not depend on the folder it runs in, but ``MTAUDIT_*`` still count).
    """
    values: dict[str, Any] = {}
    path = config if config is not None else (DEFAULT_CONFIG if default_file and DEFAULT_CONFIG.exists() else None)
    if path is not None:
        with open(path, "rb") as fh:
            table = tomllib.load(fh)
        table = table.get("audit", table)
        for key, value in table.items():
            if isinstance(value, dict):
                continue  # other tables (e.g. [nightly]) belong to other commands
            if key not in KNOWN:
                raise ValueError(f"{path}: unknown setting {key!r} (known: {', '.join(sorted(KNOWN))})")
            try:
                values[key] = _coerce(key, value)
            except ValueError as exc:
                raise ValueError(f"{path}: {exc}") from None
    for f in fields(Settings):
        var = f"MTAUDIT_{f.name.upper()}"
        env = os.environ.get(var)
        if env is not None:
            try:
                values[f.name] = _coerce(f.name, env)
            except ValueError as exc:
                raise ValueError(f"environment variable {var}: {exc}") from None
    values.update({k: v for k, v in flags.items() if v is not None})
    check(values)
    return Settings(**values)


def check(values: dict[str, Any]) -> None:
    """The checks a type cannot make: a ValueError naming the setting and what it accepts."""
    if values.get("device", "auto") not in DEVICES:
        raise ValueError(f"device {values['device']!r} is not one of {', '.join(DEVICES)}")
    if values.get("lm_precision", "auto") not in LM_PRECISIONS:
        raise ValueError(f"lm_precision {values['lm_precision']!r} is not one of {', '.join(LM_PRECISIONS)}")
    if values.get("quality_length", "auto") not in QUALITY_LENGTHS:
        raise ValueError(f"quality_length {values['quality_length']!r} is not one of {', '.join(QUALITY_LENGTHS)}")
    if not 0.0 < values.get("mt_prior", 0.5) < 1.0:
        raise ValueError(f"mt_prior {values['mt_prior']!r} must lie strictly between 0 and 1 (a share of articles)")
    if values.get("dask_scheduler") and not re.match(r"^([a-z]+://)?(\[[0-9a-fA-F:]+\]|[^\s/:\[\]]+)(:\d+)?/?$", values["dask_scheduler"]):
        raise ValueError(f"dask_scheduler {values['dask_scheduler']!r} is not a scheduler address (tcp://host:8786)")
    if values.get("max_sentences", 1) < 1:
        raise ValueError(f"max_sentences {values['max_sentences']!r} must be at least 1")


def cache_root(settings: Settings) -> Path:
    """Where slow-to-rebuild artefacts live, keyed later by model and version."""
    if settings.cache_dir:
        return Path(settings.cache_dir)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mtaudit"
