"""``mtaudit nightly``: one night of the feed job, for cron."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from mtaudit.base import exits
from mtaudit.cli.common import err


def nightly(
    config: Annotated[Path, typer.Option("--config", "-c", help="The nightly TOML file: \\[nightly] feeds, out, state, lookback_days; optional \\[audit] settings. See examples/nightly.toml.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the run's result (feeds, new articles, problems, exit code) as JSON on stdout; "
                                                 "when the run cannot start or stops, {exit_code, error, config}.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only warnings and errors on stderr (for cron mail): one line per feed that failed "
                                              "and per item that could not be audited.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Also one line per duplicate item and per routine note (HTML extracted, "
                                                "encoding guessed).")] = False,
) -> None:
    """Fetch new items from the configured feeds, audit them with the recent coverage, write reports and a run index.

    Safe to run unattended: one run at a time (a lock in the state folder), and a run killed at any
    point (kill -9 included) is finished by the next one without duplicate or half-written reports.
    Unchanged feeds cost a 304 (ETag / Last-Modified); items already seen (by URL or by content) are skipped.
    Reports go to OUT/<article_id>.json/.md, the run index to OUT/runs/<run_id>.md/.html/.json (flagged first).
    Each item that could not be audited gets one WARNING line on stderr (feed, file or URL, message, code).

    Exit codes: 0 nothing flagged, 1 at least one new article flagged as machine-translated,
    2 config error, 3 partial failure (a feed or some items failed; the rest was done; 3 wins over 1),
    4 another run is in progress, 5 the run stopped on an internal error (the next run resumes).
    As in [bold]mtaudit audit[/bold], an item refused for its content (empty, binary, not English, bad JSON line,
    a page that is gone or too large) counts as failed, on the night it first appears only: it is remembered
    and not retried. A feed or page that failed for a passing reason (timeout, server error) is retried next run.

    Example cron line: [bold]15 2 * * * cd /srv/mtaudit && .venv/bin/mtaudit nightly --config nightly.toml --quiet[/bold]
    """

    from mtaudit import nightly as job  # start-up: --help and usage errors load no pandas or torch

    def stop(code: int, label: str, message: str) -> typer.Exit:
        """One line on stderr, and with --json the object scripts expect even though there is no run result."""
        err.print(f"{label} {escape(message)}", highlight=False)
        if as_json:
            typer.echo(json.dumps({"exit_code": code, "error": message, "config": str(config)}, ensure_ascii=False))
        return typer.Exit(code)

    try:
        cfg = job.load_config(config)
    except job.ConfigError as exc:
        raise stop(exits.CONFIG, "[red]error:[/red]", f"config: {exc}") from exc
    logger = logging.getLogger("mtaudit")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    level = logging.WARNING if quiet else (logging.DEBUG if verbose else logging.INFO)
    handler.setLevel(level)
    old_level = logger.level
    logger.setLevel(min(level, logger.level or logging.WARNING))
    logger.addHandler(handler)
    try:
        result = job.run(cfg)
    except job.AlreadyRunning as exc:
        raise stop(exits.LOCKED, "[yellow]not started:[/yellow]", str(exc)) from exc
    except Exception as exc:
        raise stop(exits.FAILED, "[red]error:[/red]",
                   f"nightly run failed: {type(exc).__name__}: {exc} (the next run resumes where this one stopped)") from exc
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    if as_json:
        typer.echo(json.dumps({**result.to_dict(), "error": None}, ensure_ascii=False))
    elif not quiet:
        failed = sum(1 for f in result.feeds if f.status == "error")
        items_failed = sum(1 for p in result.problems if p["level"] == "error") - failed  # a failed feed is one error of its own
        err.print(
            f"{len(result.articles)} new articles, {result.flagged} flagged, {failed} feed(s) failed, {items_failed} item(s) not audited"
            + (f", {result.recovered} recovered after a crash" if result.recovered else "")
            + f"; index {escape(result.index['md'])}; exit code {result.exit_code}",
            highlight=False,
        )
    raise typer.Exit(result.exit_code)
