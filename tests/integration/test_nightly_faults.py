"""Crash safety of the nightly job: killed anywhere, re-run, every item reported exactly once, no partial report,
and nothing a killed run met left out of the night's index and exit code.

The first test stops a run exactly between "reports written" and "state committed" (the
window that matters) and checks the next run records those reports without writing them again.
Another kills (kill -9) a run that has met a night's only failures, and checks that the run
completing the night lists them and exits 3. The slow SIGKILL test is the real thing: `mtaudit
nightly` over 210 feed items in a subprocess, SIGKILLed three times at seeded random points (once in
its first seconds, twice mid-audit at random report counts), then re-run to completion. Its articles are one real news sentence of 20+ words each (ECB+ when the
shared data is there, the seeds otherwise), audited in commits of 20. Cost: about 4 CPU-minutes
(one uninterrupted night of these 210 items is ~2.5 CPU-minutes; each restart adds model loading and
re-grouping); 3-4 minutes of wall clock on 2 idle cores, much more on busy ones.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from mtaudit import nightly, report
from mtaudit.base import exits
from mtaudit.lab.bench_nightly import LoopbackServer, serve_items, synthetic_items, write_config
from mtaudit.nightly.state import State
from tests import feeds
from tests.conftest import ROOT

REPORT_NAME = re.compile(r"^[0-9a-f]{16}\.json$")


def article_reports(out: Path) -> dict[str, dict[str, Any]]:
    """Every <article_id>.json: it must parse and validate (a partial report fails here)."""
    found = {}
    for p in sorted(out.iterdir()):
        if REPORT_NAME.match(p.name):
            rep = json.loads(p.read_text(encoding="utf-8"))
            report.validate(rep)
            assert rep["article_id"] == p.stem
            found[p.stem] = rep
    return found


def index_listings(out: Path) -> Counter[str]:
    """How many run indexes list each article (each must be listed by exactly one)."""
    seen: Counter[str] = Counter()
    for p in sorted((out / "runs").glob("*.json")):
        seen.update(a["article_id"] for a in json.loads(p.read_text(encoding="utf-8"))["articles"])
    return seen


class Killed(BaseException):
    """Stands in for kill -9 at an exact point (BaseException: nothing in the run may swallow it)."""


def test_a_crash_between_report_and_commit_is_recovered_without_rewriting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    items = synthetic_items(6, sentences=1, seed=3)
    with LoopbackServer() as srv:
        cfg = nightly.load_config(write_config(tmp_path / "n.toml", serve_items(srv, items, feeds=2), "batch_size = 2"))
        real = State.record_results
        calls = {"n": 0}

        def dies_on_second_batch(self: State, db: sqlite3.Connection, rows: list[dict[str, Any]], run_id: str) -> None:
            calls["n"] += 1
            if calls["n"] == 2:  # the second batch's reports are on disk; its commit never happens
                raise Killed
            real(self, db, rows, run_id)

        monkeypatch.setattr(State, "record_results", dies_on_second_batch)
        with pytest.raises(Killed):
            nightly.run(cfg)
        monkeypatch.setattr(State, "record_results", real)
        on_disk = {p.name: p.stat().st_mtime_ns for p in cfg.out.glob("*.json")}
        assert len(on_disk) == 4  # two batches written, one committed
        (cfg.out / ".0123456789abcdef.json.x1y2.tmp").write_text('{"article_id": "half of a rep')  # a temp file a kill left
        result = nightly.run(cfg)

    assert result.recovered == 2 and result.audited == 2  # recorded from disk, not audited again
    assert {p.name: p.stat().st_mtime_ns for p in cfg.out.glob("*.json") if p.name in on_disk} == on_disk  # never rewritten
    reps = article_reports(cfg.out)
    assert len(reps) == 6 and {r["source"] for r in reps.values()} == {f"{srv.base}/news/{it.slug}.html" for it in items}
    assert index_listings(cfg.out) == Counter(dict.fromkeys(reps, 1))  # the dead run wrote no index: this one lists all six
    assert not list(cfg.out.glob(".*.tmp"))
    st = State(cfg.state / "state.sqlite")
    try:
        assert [r["status"] for r in st.runs()] == ["failed", "finished"]
        assert len(st.results()) == 6 and st.counts() == {"reported": 6}
    finally:
        st.close()


def test_an_article_that_breaks_the_audit_is_skipped_but_a_broken_pipeline_stops_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mtaudit.stages import pipeline

    items = synthetic_items(4, sentences=1, seed=5, min_words=20, min_sentence_words=20)
    real = pipeline.audit_articles
    with LoopbackServer() as srv:
        cfg = nightly.load_config(write_config(tmp_path / "n.toml", serve_items(srv, items, feeds=1), "batch_size = 2"))
        poison = f"{srv.base}/news/{items[0].slug}.html"

        def always_fails(articles: list[Any], *args: Any, **kw: Any) -> list[dict[str, Any]]:
            raise RuntimeError("model file is corrupt")

        monkeypatch.setattr(pipeline, "audit_articles", always_fails)
        with pytest.raises(RuntimeError):  # nothing audits: the run fails (exit 5 in the CLI) and skips nothing
            nightly.run(cfg)
        st = State(cfg.state / "state.sqlite")
        assert st.counts() == {"pending": 4}
        st.close()

        def breaks_on_one(articles: list[Any], *args: Any, **kw: Any) -> list[dict[str, Any]]:
            if any(a.source == poison for a in articles):
                raise ValueError("this article breaks the aligner")
            return real(articles, *args, **kw)

        monkeypatch.setattr(pipeline, "audit_articles", breaks_on_one)
        result = nightly.run(cfg)
    assert result.exit_code == exits.PARTIAL and result.audited == 3 and len(result.articles) == 3
    assert [(p["source"], p["code"]) for p in result.problems] == [(poison, "E_AUDIT")]
    assert len(article_reports(cfg.out)) == 3
    st = State(cfg.state / "state.sqlite")
    try:
        assert st.counts() == {"reported": 3, "skipped": 1}  # not retried every night, not blocking the others
    finally:
        st.close()


@pytest.mark.slow
def test_sigkill_at_random_points_then_rerun_reports_every_item_exactly_once(tmp_path: Path) -> None:
    n_items, rng = 210, random.Random(20260115)
    try:
        items = synthetic_items(n_items, sentences=1, seed=11, min_words=20, min_sentence_words=20)  # one sentence each: cheap
    except ValueError as exc:
        pytest.skip(f"needs ../shared/data (ECB+ sentences) for {n_items} distinct one-sentence items: {exc}")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    kills: list[dict[str, Any]] = []
    with LoopbackServer() as srv:
        cfg_path = write_config(tmp_path / "n.toml", serve_items(srv, items, feeds=3), "batch_size = 20")
        out = tmp_path / "out"
        cmd = [sys.executable, "-m", "mtaudit.cli", "nightly", "--config", str(cfg_path), "--quiet"]

        def count() -> int:
            return sum(1 for p in out.glob("*.json") if REPORT_NAME.match(p.name)) if out.exists() else 0

        # where to kill: once early (fetching, committing, grouping or loading models), then twice mid-audit
        # at random report counts; each restart reloads the models, so more kills cost more than they show
        plan: list[tuple[str, float]] = [("early", rng.uniform(0.0, 3.0))]
        plan += [("after_reports", float(k)) for k in sorted(rng.sample(range(5, n_items - 30), 2))]
        snapshots: dict[str, int] = {}
        for attempt, (how, at) in enumerate(plan):
            with open(tmp_path / f"run{attempt}.log", "wb") as log:
                proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
                t0 = time.monotonic()
                while proc.poll() is None and time.monotonic() - t0 < 600:
                    if how == "early" and (tmp_path / "state" / "state.sqlite").exists():
                        time.sleep(at)  # the run has started: kill it somewhere in its first seconds
                        break
                    if how == "after_reports" and count() >= at:
                        time.sleep(rng.uniform(0.0, 1.0))  # land anywhere: mid-batch, mid-write, mid-commit
                        break
                    time.sleep(0.05)
                if proc.poll() is None:
                    proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=60)
            kills.append({"plan": how, "at": at, "returncode": proc.returncode, "reports_after": count()})
            for p in out.glob("*.json"):
                snapshots.setdefault(p.name, p.stat().st_mtime_ns)  # a landed JSON must never be written again
        final = subprocess.run([*cmd[:-1], "--json"], cwd=ROOT, env=env, capture_output=True, timeout=900)

    assert final.returncode in (exits.CLEAN, exits.FLAGGED), final.stderr.decode()[-2000:]
    assert all(k["returncode"] == -signal.SIGKILL for k in kills), kills  # every planned kill happened
    assert sum(0 < k["reports_after"] < n_items for k in kills) >= 2, kills  # two of them mid-audit
    reps = article_reports(out)  # every report parses and validates: none is partial
    assert len(reps) == n_items
    assert sorted(r["source"] for r in reps.values()) == sorted(f"{srv.base}/news/{it.slug}.html" for it in items)
    assert {n: p.stat().st_mtime_ns for n in snapshots for p in [out / n]} == snapshots  # each written exactly once
    assert index_listings(out) == Counter(dict.fromkeys(reps, 1))  # each listed by exactly one run index
    assert not list(out.glob(".*.tmp")) and not list((out / "runs").glob(".*.tmp"))
    st = State(tmp_path / "state" / "state.sqlite")
    try:
        results = st.results()
        assert len(results) == n_items and {r["article_id"] for r in results} == set(reps)
        assert st.counts() == {"reported": n_items}
        statuses = [r["status"] for r in st.runs()]
        assert statuses[-1] == "finished" and set(statuses[:-1]) == {"interrupted"}  # every killed run was seen as such
    finally:
        st.close()
    assert json.loads(final.stdout)["exit_code"] == final.returncode


def test_failures_met_only_before_a_kill_are_in_the_completing_runs_index_and_exit_code(tmp_path: Path) -> None:
    """Issue 29: the first run of the night meets a gone page (404), a photo where an article was expected and a feed
    read despite its errors, commits them, and is killed (kill -9) while it waits for the next feed. The run that
    completes the night meets no failure itself (the bad feed answers 304, its items are remembered), yet its index
    lists the killed run's problems, says what each feed did across both runs, and it exits 3."""
    items = synthetic_items(2, sentences=1, seed=13, min_words=20, min_sentence_words=20)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    with LoopbackServer() as srv:
        b = srv.base
        (wire,) = serve_items(srv, items, feeds=1)
        wire_path = wire.removeprefix(b)
        body = srv.routes[wire_path]
        assert isinstance(body, bytes)
        srv.routes[wire_path] = feeds.slow(srv, body, 3.0)  # the killed run is still waiting for it
        srv.routes["/news/photo.html"] = feeds.jpeg()  # /news/gone.html has no route: 404
        srv.routes["/bad.xml"] = (
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>bad</title>'
            f"<item><title>Gone</title><link>{b}/news/gone.html</link><description>Read it &nbsp; here</description></item>"
            f"<item><title>Photo</title><link>{b}/news/photo.html</link><description>See it &nbsp; here</description></item>"
            f"</channel></rss>"
        ).encode()
        cfg_path = write_config(tmp_path / "n.toml", [f"{b}/bad.xml", wire], "batch_size = 1")  # feed0: bad, feed1: wire
        cmd = [sys.executable, "-m", "mtaudit.cli", "nightly", "--config", str(cfg_path), "--quiet"]
        with open(tmp_path / "killed.log", "wb") as log:
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            t0 = time.monotonic()
            while proc.poll() is None and not srv.hits(wire_path) and time.monotonic() - t0 < 120:
                time.sleep(0.02)  # the wire feed is asked for only after the bad feed's items are committed
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
        final = subprocess.run([*cmd[:-1], "--json"], cwd=ROOT, env=env, capture_output=True, timeout=600)

    killed_log = (tmp_path / "killed.log").read_text(encoding="utf-8", errors="replace")
    assert proc.returncode == -signal.SIGKILL, killed_log
    assert "E_HTTP_404" in killed_log and "E_BINARY" in killed_log  # met (and said on stderr) by the killed run
    st = State(tmp_path / "state" / "state.sqlite")
    try:
        runs = st.runs()
    finally:
        st.close()
    assert [r["status"] for r in runs] == ["interrupted", "finished"]
    killed_run, final_run = (r["run_id"] for r in runs)
    payload = json.loads(final.stdout)
    index = json.loads(Path(payload["index"]["json"]).read_text(encoding="utf-8"))
    md = Path(payload["index"]["md"]).read_text(encoding="utf-8")
    met = {p["code"]: p for p in index["problems"]}
    assert {"E_HTTP_404", "E_BINARY", "W_FEED"} <= set(met), index["problems"]
    assert met["E_HTTP_404"]["source"] == f"{b}/news/gone.html" and met["E_BINARY"]["source"] == f"{b}/news/photo.html"
    assert {met[c]["run_id"] for c in ("E_HTTP_404", "E_BINARY", "W_FEED")} == {killed_run}
    assert "E_HTTP_404" in md and "E_BINARY" in md and "W_FEED" in md
    page = Path(payload["index"]["html"]).read_text(encoding="utf-8")
    assert f"[E_HTTP_404] (met by run {killed_run})" in page and f"{killed_run} (interrupted)" in page
    assert index["problems"] == payload["problems"] and index["run_id"] == final_run
    lines = {f["name"]: f["line"] for f in index["feeds"]}
    assert "2 skipped" in lines["feed0"] and "nothing new" not in lines["feed0"], lines  # not just "304" for the night
    assert "not well-formed" in lines["feed0"] and "2 new" in lines["feed1"], lines
    assert len(index["articles"]) == 2
    assert final.returncode == exits.PARTIAL == payload["exit_code"] == index["exit_code"], final.stderr.decode()[-2000:]


def test_synthetic_items_from_the_seeds_alone_end_with_a_clear_error() -> None:
    """Without ../shared/data the pool is the seeds' sentences: a few items, and a ValueError instead of drawing forever."""
    nowhere = Path("/nonexistent-shared-data")
    few = synthetic_items(5, sentences=1, seed=11, shared=nowhere, min_words=20, min_sentence_words=20)
    assert len({i.text for i in few}) == 5
    with pytest.raises(ValueError, match="distinct articles"):
        synthetic_items(210, sentences=1, seed=11, shared=nowhere, min_words=20, min_sentence_words=20)
