"""Pointing mtaudit at a running Dask cluster: the reports equal one process's, and the CLI picks the engine."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from mtaudit.base.settings import Settings, load_settings
from mtaudit.stages import engine
from tests.conftest import SEEDS
from tests.stages.test_engine import EXTRA

TIMING_KEYS = {"seconds", "elapsed", "elapsed_s", "timestamp", "created", "duration_s"}


def _strip(tree: Any, where: str = "") -> Any:
    """A report without its timing fields; sacrebleu's ``nrefs`` in a signature is per process (see test_engine)."""
    if isinstance(tree, dict):
        return {k: _strip(v, f"{where}.{k}") for k, v in tree.items() if k not in TIMING_KEYS}
    if isinstance(tree, list):
        return [_strip(v, where) for v in tree]
    if isinstance(tree, str) and ".signatures." in where:
        return re.sub(r"nrefs:\w+", "nrefs:var", tree)
    return tree


@pytest.mark.slow
def test_seeds_through_an_existing_cluster_equal_one_process(settings: Any, seed_result: Any) -> None:
    """A LocalCluster of 2 worker processes started here, reached only by its address (the setting a user
    sets): every field of every report equals the single-process audit's, floats exactly."""
    pytest.importorskip("distributed")
    import torch
    from dask.distributed import Client, LocalCluster

    from mtaudit.stages import ingest, pipeline

    articles, problems = ingest.ingest([SEEDS], settings, EXTRA)  # the seeds' story and a second one: two tasks
    assert len(articles) == 7, problems
    extra = [a for a in articles if a.source.startswith("<text")]
    single = {r["article_id"]: r for r in seed_result.reports + pipeline.audit_articles(extra, settings)}
    threads = torch.get_num_threads()  # the single process's, so float sums are the same
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        via = settings.replace(dask_scheduler=cluster.scheduler_address)
        reports = engine.run(articles, via, engine=engine.choose(None, None, via), threads=threads)
        worker_pids = set(client.run(lambda: __import__("os").getpid()).values())
    assert len(worker_pids) == 2 and __import__("os").getpid() not in worker_pids
    assert [r["article_id"] for r in reports] == [a.article_id for a in articles]
    assert len({r["story_id"] for r in reports}) == 2
    for rep, art in zip(reports, articles, strict=True):
        assert _strip(rep) == _strip(single[art.article_id]), art.source


def test_partitions_of_a_batch_are_whole_stories_per_task() -> None:
    """Every task the cluster gets holds whole stories, however many workers ask."""
    from tests.stages.test_engine import _article

    arts = [_article(i, None) for i in range(10)]
    story_of: dict[str, str | None] = {a.article_id: f"s{i // 3}" for i, a in enumerate(arts)}
    for parts in (1, 2, 3, 8):
        where = {a.article_id: k for k, p in enumerate(engine.partition(arts, story_of, parts)) for a in p}
        for sid in set(story_of.values()):
            assert len({where[a] for a, s in story_of.items() if s == sid}) == 1


def test_engine_choice() -> None:
    """No scheduler and no --workers: this process; either one: Dask; a named engine wins."""
    plain, remote = Settings(), Settings(dask_scheduler="tcp://10.1.2.3:8786")
    assert engine.choose(None, None, plain) == "local"
    assert engine.choose(None, 4, plain) == "dask"
    assert engine.choose(None, None, remote) == "dask"
    assert engine.choose("local", None, remote) == "local"
    with pytest.raises(ValueError, match="unknown engine"):
        engine.choose("ray", None, plain)


def test_scheduler_from_the_environment_and_refused_when_malformed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MTAUDIT_DASK_SCHEDULER", "tcp://sched.example.org:8786")
    assert load_settings(None, default_file=False).dask_scheduler == "tcp://sched.example.org:8786"
    monkeypatch.setenv("MTAUDIT_DASK_SCHEDULER", "tcp://sched example:8786")
    with pytest.raises(ValueError, match="dask_scheduler"):
        load_settings(None, default_file=False)


@pytest.mark.parametrize(("flags", "env", "want"), [
    ([], {}, ("local", None, 2)),
    (["--workers", "3"], {}, ("dask", None, 3)),
    (["--scheduler", "tcp://127.0.0.1:8786"], {}, ("dask", "tcp://127.0.0.1:8786", 2)),
    ([], {"MTAUDIT_DASK_SCHEDULER": "tcp://127.0.0.1:8786"}, ("dask", "tcp://127.0.0.1:8786", 2)),
    (["--engine", "local"], {"MTAUDIT_DASK_SCHEDULER": "tcp://127.0.0.1:8786"}, ("local", "tcp://127.0.0.1:8786", 2)),
])
def test_cli_passes_the_engine_and_scheduler(flags: list[str], env: dict[str, str], want: tuple[Any, ...],
                                             monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """``mtaudit audit`` hands batch.audit_folder the chosen engine, the scheduler and the worker count."""
    from typer.testing import CliRunner

    from mtaudit import batch
    from mtaudit.cli import app

    seen: dict[str, Any] = {}

    def fake(inputs: Any, out_dir: Any, settings: Settings, fmt: Any, **kw: Any) -> Any:
        seen.update(kw)
        raise SystemExit(0)

    monkeypatch.setattr(batch, "audit_folder", fake)
    monkeypatch.delenv("MTAUDIT_DASK_SCHEDULER", raising=False)
    monkeypatch.chdir(tmp_path)  # no ./mtaudit.toml
    CliRunner().invoke(app, ["audit", str(SEEDS), "--out", str(tmp_path / "out"), "-q", *flags], env=env)
    assert (seen["engine"], seen["scheduler"], seen["workers"]) == want
