"""What every command shares: the consoles, the common options, settings with a clear error, the progress bar, number cells."""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from mtaudit.base import exits

err = Console(stderr=True, soft_wrap=True)  # one-line messages stay one line


out = Console()


ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="TOML settings file (\\[audit] table). Default: ./mtaudit.toml if present.")]


JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout (for scripts).")]


QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar, no table.")]


DeviceOpt = Annotated[str | None, typer.Option("--device", help="auto, cpu or cuda.")]


def settings_or_exit(config: Path | None, **flags: Any):  # type: ignore[no-untyped-def]
    from mtaudit.base.settings import load_settings  # start-up: --help and usage errors load no pandas or torch

    try:
        settings = load_settings(config, **flags)
        if settings.device == "cuda":  # say so now, not as a traceback once the first model loads
            from mtaudit.nlp import registry  # start-up: --help and usage errors load no pandas or torch

            registry.pick_device(settings.device)
    except (OSError, ValueError, RuntimeError) as exc:  # the library's message, verbatim: it names the file or variable
        err.print(f"[red]error:[/red] settings: {escape(str(exc))}", highlight=False)
        raise typer.Exit(exits.USAGE) from exc
    return settings


def problem_line(p: Any) -> str:
    """One stderr line per input problem; sources and messages are data, never rich markup."""
    return f"[yellow]{p.level}[/yellow]: {escape(str(p.source))}: {escape(p.message)} \\[{p.code}]"


class Bars:
    """The library's progress callback (one rich bar per stage) and its status callback: a last line saying
    which article and stage the audit is on, with the time it has taken so far, so a stuck input shows."""

    def __init__(self, bar: Progress | None) -> None:
        self.bar, self.tasks, self.now = bar, {}, None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.bar is None:
            return
        if stage not in self.tasks:
            self.tasks[stage] = self.bar.add_task(stage, total=total)
        self.bar.update(self.tasks[stage], completed=done, total=total)

    def status(self, stage: str, what: str) -> None:
        if self.bar is None:
            return
        if self.now is not None:  # a new task, so its elapsed time is this step's
            self.bar.remove_task(self.now)
        self.now = self.bar.add_task(f"now: {stage} {escape(what)}", total=None)


@contextlib.contextmanager
def progress_bar(hidden: bool) -> Iterator[Bars]:
    """Bars on stderr when it is a terminal; silent callbacks otherwise."""
    if hidden or not sys.stderr.isatty():
        yield Bars(None)
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True) as bar:
        yield Bars(bar)


def cell(value: Any, digits: int) -> str:
    """A number for the table, or "-" when there is none: None, or NaN (pandas' mean of no scores, as for an article without references)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"
