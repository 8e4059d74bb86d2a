"""The command line: thin typer wrappers over the library, printing with rich."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from mtaudit import __version__

app = typer.Typer(
    name="mtaudit",
    help="Find machine-translated news articles and measure the damage, sentence by sentence.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, soft_wrap=True)  # one-line messages stay one line
out = Console()

EXIT_CLEAN, EXIT_FLAGGED, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="TOML settings file ([audit] table). Default: ./mtaudit.toml if present.")]
DeviceOpt = Annotated[str | None, typer.Option("--device", help="auto, cpu or cuda.")]


def _settings(config: Path | None, **flags: Any):  # type: ignore[no-untyped-def]
    from mtaudit.settings import load_settings

    try:
        return load_settings(config, **flags)
    except (OSError, ValueError) as exc:
        err.print(f"[red]error:[/red] settings: {exc}")
        raise typer.Exit(EXIT_USAGE) from exc


def _progress(quiet: bool) -> Progress | None:
    if quiet or not sys.stderr.isatty():
        return None
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err, transient=True)


@app.command()
def audit(
    inputs: Annotated[list[Path], typer.Argument(help="Files or folders: .txt (seed format), .jsonl (one article per line), .html.")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Where reports go: <article_id>.json/.md, summary.csv/.parquet/.json.")] = Path("reports"),
    formats: Annotated[str, typer.Option("--format", help="Comma-separated report formats: json, md, html.")] = "json,md",
    as_json: Annotated[bool, typer.Option("--json", help="Print the batch summary as JSON on stdout (for scripts).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar, no table.")] = False,
    config: ConfigOpt = None,
    device: DeviceOpt = None,
) -> None:
    """Audit articles: group them into stories, flag machine translation with evidence, score every sentence.

    Exit codes: 0 nothing flagged, 1 at least one article flagged as machine-translated,
    2 usage error or nothing could be audited, 3 some inputs could not be audited (the rest were).

    Example: [bold]mtaudit audit seeds/ --out reports/[/bold]
    """
    from mtaudit import pipeline, report

    settings = _settings(config, device=device)
    fmt = tuple(f.strip() for f in formats.split(",") if f.strip())
    bad = set(fmt) - {"json", "md", "html"}
    if bad:
        err.print(f"[red]error:[/red] unknown format {', '.join(sorted(bad))} (use json, md, html)")
        raise typer.Exit(EXIT_USAGE)
    bar = _progress(quiet or as_json)
    task: dict[str, Any] = {}

    def tick(stage: str, done: int, total: int) -> None:
        if bar is None:
            return
        if stage not in task:
            task[stage] = bar.add_task(stage, total=total)
        bar.update(task[stage], completed=done, total=total)

    if bar:
        bar.start()
    try:
        result = pipeline.audit(inputs, settings, progress=tick)
        for rep in result.reports:
            report.write_article(rep, out_dir, ("json",) + tuple(f for f in fmt if f != "json"))
        meta = {"version": __version__, "signature": pipeline.signature(settings), "inputs": [str(p) for p in inputs]}
        problems = [p.__dict__ for p in result.problems]
        report.write_summary(result.reports, problems, out_dir, meta)
        if "html" in fmt:
            from mtaudit import html

            html.write_index(result.reports, out_dir)
    finally:
        if bar:
            bar.stop()
    for p in result.problems:
        err.print(f"[yellow]{p.level}[/yellow]: {p.source}: {p.message} [{p.code}]", highlight=False)
    frame = report.summary_frame(result.reports)
    errors = [p for p in result.problems if p.level == "error"]
    flagged = int(frame["machine_translated"].fillna(False).astype(bool).sum()) if len(frame) else 0
    if not result.reports:
        code = EXIT_USAGE
    elif errors:
        code = EXIT_PARTIAL
    else:
        code = EXIT_FLAGGED if flagged else EXIT_CLEAN
    if as_json:
        payload = {**meta, "exit_code": code, "flagged": flagged, "articles": json.loads(frame.to_json(orient="records")), "problems": problems}
        typer.echo(json.dumps(payload, ensure_ascii=False))
    elif not quiet:
        _print_table(frame)
        err.print(f"{len(result.reports)} audited, {flagged} flagged, {len(errors)} failed; reports in {out_dir}/")
    raise typer.Exit(code)


def _print_table(frame: Any) -> None:
    table = Table(title="mtaudit", show_lines=False)
    for col in ("source", "verdict", "probability", "flagged", "chrF++", "semantic"):
        table.add_column(col, justify="right" if col != "source" else "left")
    for row in frame.sort_values("probability", ascending=False).itertuples():
        verdict = "abstain" if row.abstained else ("[red]MT[/red]" if row.machine_translated else "[green]ok[/green]")
        table.add_row(
            str(row.source), verdict, f"{row.probability:.2f}", f"{row.flagged_sentences}/{row.sentences}",
            "-" if row.mean_chrf is None else f"{row.mean_chrf:.1f}", "-" if row.mean_semantic is None else f"{row.mean_semantic:.2f}",
        )
    out.print(table)


@app.command()
def models(
    write: Annotated[bool, typer.Option("--write", help="Write models/manifest.json.")] = False,
    load: Annotated[bool, typer.Option("--load", help="Load each packaged model once (warms the caches).")] = False,
) -> None:
    """List the models the audit loads: name, package, version, upstream weights, licence."""
    from mtaudit import registry

    table = Table(title="models")
    for col in ("name", "package", "version", "upstream", "licence"):
        table.add_column(col)
    for row in registry.manifest():
        table.add_row(*(row[k] for k in ("name", "package", "version", "upstream", "licence")))
    out.print(table)
    if load:
        for name in ("encoder", "lm", "ner"):
            registry.get(name)
            err.print(f"loaded {name}")
    if write:
        registry.write_manifest()


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"mtaudit {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=version_callback, is_eager=True, help="Print the version.")] = False,
) -> None:
    """mtaudit: a machine-translation quality auditor for news."""


if __name__ == "__main__":
    app()
