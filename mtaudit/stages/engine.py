"""Where the audit runs: in this process (``local``) or on a Dask cluster (``dask``).

Both call the one code path, ``pipeline.audit_articles``. The Dask engine groups the whole
batch into stories once, here (embeddings and entities: cheap next to the audit), cuts the
batch into partitions that never split a story, audits each partition on a worker with
that same grouping (``story_of``), and gathers the reports back into input order. Every
stage after grouping looks only inside a story, and the embeddings are computed the same
way whatever else is in a batch (see ``mtaudit.nlp.embed``), so the reports equal the
single-process run's. They are bit-equal when the workers use as many torch threads as the
single process did: a different thread count changes float sums in the last bits, which
can move a figure rounded to four decimals by one unit.

Why Dask and not Ray: ``distributed`` is pure Python on top of what the audit already
installs (tornado, msgpack, cloudpickle, psutil): the dask and distributed wheels are 2.5 MB
together, a local cluster of worker processes starts in seconds on a 2-core box, and the
same code talks to a real cluster through ``--scheduler tcp://host:8786``. Ray's wheel
(2.60.0, CPython 3.11, manylinux x86_64) is 79 MB of compiled code (its own object store,
raylet and dashboard services) for scheduling we do not need: our tasks are coarse (one story partition each) and their results are plain
dicts. Models load once per worker process (the registry caches them per process).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from mtaudit.base.process import prepare_process
from mtaudit.base.settings import Settings
from mtaudit.base.types import Article, Progress
from mtaudit.stages import pipeline, stories

ENGINES = ("local", "dask")
log = logging.getLogger(__name__)


def choose(engine: str | None, workers: int | None, settings: Settings) -> str:
    """The engine a run gets: the one named, else Dask when a scheduler is set or worker processes
    are asked for (``--workers N``), else this process. Naming one is how to overrule the settings."""
    if engine is not None:
        if engine not in ENGINES:
            raise ValueError(f"unknown engine {engine!r} (use {' or '.join(ENGINES)})")
        return engine
    return "dask" if settings.dask_scheduler or workers else "local"


def partition(articles: list[Article], story_of: dict[str, str | None], parts: int) -> list[list[Article]]:
    """Cut a batch into at most ``parts`` lists that keep each story whole.

    Stories go, largest first (by sentences), to the lightest partition; within a partition
    articles keep their input order. Articles with no story are units of their own.
    """
    units: dict[str, list[int]] = {}
    for i, a in enumerate(articles):
        units.setdefault(story_of.get(a.article_id) or f"lone:{a.article_id}", []).append(i)
    weight = {key: sum(max(1, len(articles[i].sentences)) for i in idx) for key, idx in units.items()}
    bins: list[list[int]] = [[] for _ in range(max(1, min(parts, len(units))))]
    load = [0] * len(bins)
    for key in sorted(units, key=lambda k: (-weight[k], k)):
        b = min(range(len(bins)), key=lambda j: (load[j], j))
        bins[b].extend(units[key])
        load[b] += weight[key]
    return [[articles[i] for i in sorted(idx)] for idx in bins if idx]


def _audit_partition(part: list[Article], settings: Settings, story_of: dict[str, str | None],
                     context: list[Article], threads: int | None) -> list[dict[str, Any]]:
    """Runs on a worker: the same call the single-process engine makes."""
    prepare_process(threads)
    return pipeline.audit_articles(part, settings, story_of=story_of, context=context)


def audit_dask(
    articles: list[Article],
    settings: Settings,
    workers: int = 2,
    threads_per_worker: int = 1,
    scheduler: str | None = None,
    progress: Progress | None = None,
    context: list[Article] | None = None,
    partitions_per_worker: int = 2,
) -> list[dict[str, Any]]:
    """Audit on Dask: the cluster at ``scheduler`` (else ``settings.dask_scheduler``), or, with neither,
    a LocalCluster of ``workers`` processes started and closed here."""
    import dask  # optional engine: only --engine dask imports Dask
    from dask.distributed import Client, LocalCluster, as_completed  # optional engine: only --engine dask imports Dask

    context = context or []
    ids = {a.article_id for a in articles}
    pool = articles + [c for c in context if c.article_id not in ids]
    story_of = stories.group(pool, settings)
    parts = partition(articles, story_of, workers * partitions_per_worker)
    env = {
        "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE"), "OMP_NUM_THREADS": str(threads_per_worker),
        "MKL_NUM_THREADS": str(threads_per_worker), "OPENBLAS_NUM_THREADS": str(threads_per_worker),
        "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
    }
    env.update({k: v for k, v in os.environ.items() if k.startswith("MTAUDIT_")})
    cluster = None
    scheduler = scheduler or settings.dask_scheduler
    if scheduler:
        client = Client(scheduler)
    else:
        # Dask's nanny puts MALLOC_TRIM_THRESHOLD_ in each worker's environment, which switches off
        # glibc's dynamic mmap threshold (what ``low_memory`` does, 12.5% slower); settings decide that
        with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address=None, silence_logs=logging.ERROR, env=env,
            )
        client = Client(cluster)
    try:
        futures = []
        for part in parts:
            part_ids = {a.article_id for a in part}
            sids = {story_of[a] for a in part_ids if story_of.get(a)}
            part_context = [c for c in context if c.article_id not in part_ids and story_of.get(c.article_id) in sids]
            sub = {a.article_id: story_of.get(a.article_id) for a in part + part_context}
            futures.append(client.submit(_audit_partition, part, settings, sub, part_context, threads_per_worker, pure=False))
        by_id: dict[str, dict[str, Any]] = {}
        for fut in as_completed(futures):
            for rep in fut.result():
                by_id[rep["article_id"]] = rep
            if progress:
                progress("audit", len(by_id), len(articles))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return [by_id[a.article_id] for a in articles]


def run(
    articles: list[Article],
    settings: Settings,
    engine: str = "local",
    workers: int = 2,
    threads: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
    context: list[Article] | None = None,
) -> list[dict[str, Any]]:
    """Audit ingested articles with the chosen engine; reports in input order either way."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r} (use {' or '.join(ENGINES)})")
    if engine == "dask":
        return audit_dask(articles, settings, workers=workers, threads_per_worker=threads or 1,
                          scheduler=scheduler, progress=progress, context=context)
    prepare_process(threads)
    return pipeline.audit_articles(articles, settings, progress, context=context)
