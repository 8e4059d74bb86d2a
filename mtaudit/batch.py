"""A batch audit into a reports folder, with the policy every caller shares: ``mtaudit audit`` calls this.

What it decides: each report is written as soon as its article is done; ``clean`` empties the folder of an
earlier run's files only once there is something to write; the summary and index list this run's articles
and say how many earlier reports they leave out; Ctrl-C keeps what was finished and writes its summary;
and one exit code (:mod:`mtaudit.base.exits`) says what happened. Silent: the caller prints.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from mtaudit import report
from mtaudit.base import exits, process
from mtaudit.base.settings import Settings
from mtaudit.base.types import Problem, Progress, Status
from mtaudit.base.version import __version__
from mtaudit.report import html
from mtaudit.stages import engine as engines
from mtaudit.stages import ingest, pipeline

FORMATS = ("json", "md", "html")


@dataclass
class BatchResult:
    """What a batch audit did: its slim reports, the inputs' problems, and the exit code that follows."""

    out_dir: Path
    meta: dict[str, Any]  # version, signature, inputs: what summary.json opens with
    reports: list[dict[str, Any]] = field(default_factory=list)  # slim (report.slim), in the order written
    problems: list[Problem] = field(default_factory=list)
    articles_found: int | None = None  # None until the ingest is done
    interrupted: bool = False
    stale: set[str] = field(default_factory=set)  # earlier reports in out_dir that this summary leaves out

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.level == "error"]

    def frame(self) -> pd.DataFrame:
        return report.summary_frame(self.reports)

    @property
    def flagged(self) -> int:
        """Articles judged machine-translated (a suspected or undecided verdict is null, an original false)."""
        return sum(r["verdict"]["machine_translated"] is True for r in self.reports)

    @property
    def exit_code(self) -> int:
        """130 interrupted; 2 nothing audited; 3 some inputs failed (wins over 1); 1 flagged; 0 clean."""
        if self.interrupted:
            return exits.INTERRUPTED
        if not self.reports:
            return exits.USAGE
        if self.errors:
            return exits.PARTIAL
        return exits.FLAGGED if self.flagged else exits.CLEAN

    def as_json(self) -> dict[str, Any]:
        """Both facts, whichever exit code won: flagged articles and inputs not audited."""
        frame = self.frame()
        return {**self.meta, "exit_code": self.exit_code, "interrupted": self.interrupted, "audited": len(self.reports),
                "articles_found": self.articles_found, "flagged": self.flagged, "failed": len(self.errors),
                "earlier_reports": len(self.stale), "articles": json.loads(frame.to_json(orient="records")),
                "problems": [p.__dict__ for p in self.problems]}

    def interrupted_line(self) -> str:
        """The one line Ctrl-C gets, instead of a traceback."""
        done = len(self.reports)
        if self.articles_found is None:
            return "interrupted while reading the inputs: nothing audited, nothing written"
        if not done:
            return f"interrupted: 0 of {self.articles_found} articles audited; nothing written; rerun to finish"
        return f"interrupted: {done} of {self.articles_found} articles audited; summary written for those; rerun to finish"


def prepare(engine: str, threads: int | None = None) -> None:
    """Check the engine and tune this process; call before anything loads torch (the settings may)."""
    if engine not in engines.ENGINES:
        raise ValueError(f"unknown engine {engine!r} (use {' or '.join(engines.ENGINES)})")
    process.prepare_process(threads if engine == "local" else None)


def check_formats(formats: tuple[str, ...]) -> None:
    bad = set(formats) - set(FORMATS)
    if bad:
        raise ValueError(f"unknown format {', '.join(sorted(bad))} (use json, md, html)")


def audit_folder(
    inputs: list[Path],
    out_dir: Path,
    settings: Settings,
    formats: tuple[str, ...] = FORMATS,
    clean: bool = False,
    engine: str = "local",
    workers: int = 2,
    threads: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
    status: Status | None = None,
) -> BatchResult:
    """Audit ``inputs`` into ``out_dir``; the result carries the exit code. Raises ValueError on a bad format or engine."""
    check_formats(formats)
    tick: Progress = progress or (lambda stage, done, total: None)
    result = BatchResult(Path(out_dir), {"version": __version__, "signature": pipeline.signature(settings),
                                         "inputs": [str(p) for p in inputs]})
    earlier = report.report_ids(out_dir)  # before this run writes: what is there and will not be in its summary
    cleaned = False

    def seen(stage: str, done: int, total: int) -> None:
        if stage == "ingest":
            result.articles_found = total
        tick(stage, done, total)

    try:
        if engine == "local":
            found, stream = pipeline.audit_stream(inputs, settings, progress=seen, status=status)
        else:
            articles, found = ingest.ingest(inputs, settings)
            result.articles_found = len(articles)
            stream = iter(engines.run(articles, settings, engine, workers=workers, threads=threads, scheduler=scheduler, progress=tick))
        result.problems = found
        for rep in stream:  # each report lands as soon as it is done; only its slim summary stays in memory
            if clean and not cleaned:  # here, not earlier: a run with nothing to audit leaves the folder alone
                report.clean(out_dir)
                cleaned, earlier = True, set()
            report.write_article(rep, out_dir, ("json",) + tuple(f for f in formats if f != "json"))
            result.reports.append(report.slim(rep))
    except KeyboardInterrupt:  # Ctrl-C: what was finished is on disk; give it a summary, not a traceback
        result.interrupted = True
    if result.reports:  # nothing audited: an earlier run's summary and index stay as they were
        report.write_summary(result.reports, [p.__dict__ for p in result.problems], out_dir, result.meta)
        if "html" in formats:
            html.write_index(result.reports, out_dir)
    result.stale = earlier - {r["article_id"] for r in result.reports}  # what this run did not write over
    return result
