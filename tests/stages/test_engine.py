"""Scale-out and linear cost: Dask gives the single-process reports; grouping is blocked and capped."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pytest

from mtaudit.base.types import Article, Sentence
from mtaudit.stages import engine, stories
from tests.conftest import SEEDS

# Two outlets' reports of one event that has nothing to do with the seeds' story: a second story.
EXTRA = [
    "Firefighters in the Spanish town of Tarifa evacuated more than two thousand residents on Sunday as a wildfire "
    "driven by strong easterly winds spread across the hills above the coast. Regional officials said three homes "
    "were destroyed and that water-dropping aircraft from Seville and Malaga had joined the effort. Roads into the "
    "town were closed and ferries to Tangier were suspended until the smoke cleared.",
    "More than 2,000 people were evacuated from Tarifa in southern Spain on Sunday when a wildfire, fanned by a "
    "strong easterly wind, raced through the hills above the town. Three houses burned down, according to the "
    "regional government, and firefighting planes from Seville and Malaga were sent to help. Ferry crossings to "
    "Tangier were halted and access roads to Tarifa were shut.",
]
TIMING_KEYS = {"seconds", "elapsed", "elapsed_s", "timestamp", "created", "duration_s"}


def _compare(a: Any, b: Any, where: str = "") -> list[str]:
    """Differences between two report trees: floats within 1e-6, timing fields ignored."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{where}: keys {sorted(set(a) ^ set(b))}"] if set(a) != set(b) else []
        for k in set(a) & set(b):
            if k not in TIMING_KEYS:
                out += _compare(a[k], b[k], f"{where}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: length {len(a)} vs {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _compare(x, y, f"{where}[{i}]")]
    if isinstance(a, str) and isinstance(b, str) and ".signatures." in where:
        # score.signatures() reads nrefs off sacrebleu metric objects shared in the process, so it says
        # "nrefs:2" or "nrefs:var" depending on the last sentence that process scored (a score.py issue,
        # not a partitioning one): compare the rest of the signature
        a, b = (re.sub(r"nrefs:\w+", "nrefs:var", x) for x in (a, b))
    if isinstance(a, float) and isinstance(b, float):
        return [] if math.isclose(a, b, abs_tol=1e-6) or (math.isnan(a) and math.isnan(b)) else [f"{where}: {a} vs {b}"]
    return [] if a == b else [f"{where}: {a!r} vs {b!r}"]


@pytest.fixture(scope="module")
def batch(settings: Any) -> list[Article]:
    from mtaudit.stages import ingest

    articles, problems = ingest.ingest([SEEDS], settings, EXTRA)
    assert len(articles) == 7, problems
    return articles


@pytest.mark.slow
def test_dask_reports_equal_single_process(batch: list[Article], settings: Any, seed_result: Any) -> None:
    """Two worker processes, stories never split: the same reports as one process.

    The single-process side is the session's seed audit plus the two extra articles audited
    on their own (they form their own story, so the seeds' reports cannot change). Both
    sides share the cache folder, as two runs on one machine do; alignment, entities,
    detection, references and the report assembly run anew in the workers.
    """
    import torch

    from mtaudit.stages import pipeline

    extra = [a for a in batch if a.source.startswith("<text")]
    single = {r["article_id"]: r for r in seed_result.reports + pipeline.audit_articles(extra, settings)}
    assert len(single) == 7
    parallel = engine.audit_dask(batch, settings, workers=2, threads_per_worker=torch.get_num_threads())  # same float sums
    assert [r["article_id"] for r in parallel] == [a.article_id for a in batch]
    assert len({r["story_id"] for r in parallel}) == 2 and all(r["story_id"] for r in parallel)
    diffs = _compare([single[a.article_id] for a in batch], parallel)
    assert diffs == [], diffs[:10]


def _article(n: int, day: str | None, sentences: int = 2) -> Article:
    sents = [Sentence(i, 0, 1, f"sentence {i} of article {n}") for i in range(sentences)]
    return Article(article_id=f"a{n:04d}", source=f"<{n}>", text="x", date=day, sentences=sents)


def test_partitions_keep_stories_whole_and_order() -> None:
    arts = [_article(i, None, sentences=1 + i % 3) for i in range(12)]
    story_of: dict[str, str | None] = {a.article_id: f"s{i % 4}" if i < 10 else None for i, a in enumerate(arts)}
    parts = engine.partition(arts, story_of, 3)
    assert 1 < len(parts) <= 3
    assert sorted(a.article_id for p in parts for a in p) == sorted(a.article_id for a in arts)
    for part in parts:
        order = [arts.index(a) for a in part]
        assert order == sorted(order)
    where = {a.article_id: k for k, p in enumerate(parts) for a in p}
    for sid in {s for s in story_of.values() if s}:
        assert len({where[a] for a, s in story_of.items() if s == sid}) == 1


def test_grouping_compares_only_within_the_date_window(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Identical articles a month apart are never candidates, and each search sees only nearby blocks."""
    arts = [_article(i, f"2025-{1 + (i // 10) % 6:02d}-{1 + i % 10:02d}") for i in range(60)]
    vecs = np.tile(np.eye(384, dtype=np.float32)[0], (60, 1))  # all the same text
    pool_sizes: list[int] = []
    real = stories._top_k

    def spy(query: np.ndarray, rows: np.ndarray, pool: np.ndarray, k: int) -> Any:
        pool_sizes.append(len(pool))
        return real(query, rows, pool, k)

    monkeypatch.setattr(stories, "_top_k", spy)
    pairs = stories.candidates(arts, vecs, settings)
    assert pairs
    for i, j in pairs:
        assert arts[i].date[:7] == arts[j].date[:7]  # type: ignore[index]
    assert max(pool_sizes) <= 20  # 10 articles a month, days 1-10: never the whole batch of 60


def test_story_size_is_capped(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    arts = [_article(i, "2025-06-05") for i in range(9)]
    same = stories.profile([("Xi Jinping", "PERSON")], "Xi Jinping spoke in 2025.")
    monkeypatch.setattr(stories, "vectors", lambda a, s: (np.tile(np.eye(384, dtype=np.float32)[0], (len(a), 1)),) * 2)
    monkeypatch.setattr(stories, "profiles", lambda a: [same for _ in a])
    assert len({stories.group(arts, settings)[a.article_id] for a in arts}) == 1
    monkeypatch.setattr(stories, "MAX_STORY", 4)
    grouped = stories.group(arts, settings)
    sizes = sorted(list(grouped.values()).count(s) for s in set(grouped.values()))
    assert max(sizes) <= 4 and sum(sizes) == 9


def test_unknown_engine_is_refused(settings: Any) -> None:
    with pytest.raises(ValueError, match="unknown engine"):
        engine.run([], settings, engine="ray")


def test_engine_option_reaches_the_cli() -> None:
    from typer.testing import CliRunner

    from mtaudit.cli import app

    result = CliRunner().invoke(app, ["audit", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "--engine" in result.output and "--workers" in result.output
    bad = CliRunner().invoke(app, ["audit", str(SEEDS), "--engine", "ray"], env={"COLUMNS": "200"})
    assert bad.exit_code == 2 and "engine" in bad.output


def test_dask_workers_keep_glibcs_dynamic_mmap_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dask's nanny would give each worker MALLOC_TRIM_THRESHOLD_, which holds glibc's mmap
    threshold (12.5% slower in the A/B); the local cluster starts without it."""
    pytest.importorskip("distributed")
    import dask.distributed
    from distributed.nanny import _get_env_variables

    from mtaudit.base.settings import Settings

    seen: dict[str, str] = {}

    class Started(Exception):
        pass

    def cluster(**kwargs: Any) -> None:
        seen.update(_get_env_variables("distributed.nanny.pre-spawn-environ"))
        seen.update(kwargs["env"])
        raise Started

    monkeypatch.setattr(dask.distributed, "LocalCluster", cluster)
    monkeypatch.setattr(stories, "group", lambda pool, settings: {})
    with pytest.raises(Started):
        engine.audit_dask([], Settings())
    assert "MALLOC_TRIM_THRESHOLD_" not in seen
    assert seen["OMP_NUM_THREADS"] == "1"  # the rest of the workers' environment is still there
