"""``mtaudit audit``: parse, call :func:`mtaudit.batch.audit_folder`, print."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from mtaudit.base import exits
from mtaudit.cli.common import ConfigOpt, DeviceOpt, cell, err, out, problem_line, progress_bar, settings_or_exit


def audit(
    inputs: Annotated[list[Path], typer.Argument(help="Files or folders. A folder is read for its articles: .txt/.text/.md or no extension (plain text, seed format), .html/.htm/.xhtml, .jsonl/.ndjson (one article per line); other files are skipped with one warning. A file named outright is read whatever its name.")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Where reports go: <article_id>.json/.md/.html, summary.csv/.parquet/.json, index.html (with html in --format).")] = Path("reports"),
    formats: Annotated[str, typer.Option("--format", help="Comma-separated report formats: json, md, html.")] = "json,md,html",
    clean: Annotated[bool, typer.Option("--clean", help="Before the first report is written, remove an earlier run's files from --out (<article_id>.json/.md/.html, summary.*, index.html; nothing else), so the folder holds this run alone.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the batch summary as JSON on stdout (for scripts).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar, no table.")] = False,
    config: ConfigOpt = None,
    device: DeviceOpt = None,
    engine: Annotated[str | None, typer.Option("--engine", help="local (this process) or dask (worker processes; stories are never split, reports are the same). Default: dask when a scheduler is set or --workers is given, else local.")] = None,
    workers: Annotated[int | None, typer.Option("--workers", min=1, help="Audit on a local Dask cluster of this many worker processes (when no scheduler is set; 2 with --engine dask).")] = None,
    threads: Annotated[int | None, typer.Option("--threads", min=1, help="Torch threads per process (default: torch's choice locally, 1 per Dask worker).")] = None,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="Address of a running Dask scheduler (tcp://host:8786) to audit on, instead of this process or a local cluster (setting dask_scheduler, MTAUDIT_DASK_SCHEDULER).")] = None,
    low_memory: Annotated[bool | None, typer.Option("--low-memory/--no-low-memory", help="Hold the C heap's mmap threshold (the default), so memory stays flat however large the batch; --no-low-memory is about 12% faster but its peak grows with the batch (figures: docs/figures.md, \"Speed and memory\"). Same reports either way.")] = None,
    sentence_lm: Annotated[bool | None, typer.Option("--sentence-lm/--no-sentence-lm", help="In articles judged machine-translated, flag sentences with the sentence model that also reads SmolLM2 surprisal (the default: story-eval recall 0.64 against 0.32 without it); --no-sentence-lm skips that LM pass: faster (docs/figures.md, \"Speed and memory\"), fewer sentences flagged, and a lone article with no checkable span may then be only suspected.")] = None,
) -> None:
    """Audit articles: group them into stories, flag machine translation with evidence, score every sentence.

    Each report is written as soon as its article is done; the summary and index.html list this run's
    articles. Reports an earlier run left in --out are not in them: a warning says how many ([bold]--clean[/bold]
    removes them first). Ctrl-C stops the run and still writes the summary of the articles finished.

    Exit codes: 0 nothing flagged, 1 at least one article flagged as machine-translated,
    2 usage error or nothing could be audited (--out is then left as it was),
    3 some inputs could not be audited (the rest were), 130 interrupted (Ctrl-C; the summary covers the articles finished).
    3 wins over 1: when inputs failed and articles were flagged, the exit code is 3; the summary line
    and --json (flagged, failed, exit_code) still say how many were flagged.

    Example: [bold]mtaudit audit seeds/ --out reports/[/bold]
    """
    from mtaudit import batch  # start-up: --help and usage errors load no pandas or torch
    from mtaudit.stages.engine import choose  # start-up: --help and usage errors load no pandas or torch

    fmt = tuple(f.strip() for f in formats.split(",") if f.strip())
    try:
        batch.prepare(engine or "local")  # the process's environment before torch loads; torch threads below
        batch.check_formats(fmt)
    except ValueError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(exits.USAGE) from exc
    settings = settings_or_exit(config, device=device, low_memory=low_memory, sentence_lm=sentence_lm, dask_scheduler=scheduler)
    chosen = choose(engine, workers, settings)  # a scheduler in the settings or --workers N: Dask, unless --engine says
    batch.prepare(chosen, threads)
    with progress_bar(quiet or as_json) as tick:
        result = batch.audit_folder(inputs, out_dir, settings, fmt, clean=clean, engine=chosen, workers=workers or 2,
                                    threads=threads, scheduler=settings.dask_scheduler or None, progress=tick, status=tick.status)
    for p in result.problems:
        err.print(problem_line(p), highlight=False)
    if result.stale and result.reports:
        n = len(result.stale)
        err.print(f"[yellow]warning[/yellow]: {n} report{'s' if n != 1 else ''} from an earlier run {'are' if n != 1 else 'is'} in "
                  f"{escape(str(out_dir))}/; {'they are' if n != 1 else 'it is'} not in this summary; use a new folder or --clean",
                  highlight=False)
    if as_json:
        typer.echo(json.dumps(result.as_json(), ensure_ascii=False))
    if result.interrupted:
        err.print(result.interrupted_line(), highlight=False)
    elif not as_json and not quiet:
        print_table(result.frame())
        err.print(f"{len(result.reports)} audited, {result.flagged} flagged, {len(result.errors)} failed; reports in {escape(str(out_dir))}/",
                  highlight=False)
    raise typer.Exit(result.exit_code)


def print_table(frame: Any) -> None:
    table = Table(title="mtaudit", show_lines=False)
    for col in ("source", "verdict", "probability", "flagged", "critical", "chrF++", "semantic"):
        table.add_column(col, justify="right" if col != "source" else "left")
    from mtaudit.stages.detect import LEVELS  # start-up: --help and usage errors load no pandas or torch

    order = frame.assign(rank=frame["level"].map(list(LEVELS).index)).sort_values(["rank", "probability"], ascending=[True, False])
    for row in order.itertuples():
        verdict = {"machine_translated": "[red]MT[/red]", "suspected": "[magenta]suspected[/magenta]", "abstained": "abstain",
                   "original": "[green]ok[/green]"}[row.level]
        table.add_row(
            escape(str(row.source)), verdict, cell(row.probability, 2), f"{row.flagged_sentences}/{row.sentences}",
            str(row.critical_spans), cell(row.mean_chrf, 1), cell(row.mean_semantic, 2),
        )
    out.print(table)
