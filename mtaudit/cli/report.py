"""``mtaudit report``: rebuild the index and summary of a reports folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from mtaudit.base import exits
from mtaudit.base.version import __version__
from mtaudit.cli.audit import print_table
from mtaudit.cli.common import err, problem_line


def report_command(
    reports_dir: Annotated[Path, typer.Argument(help="A folder of <article_id>.json reports written by `mtaudit audit`.")] = Path("reports"),
    html: Annotated[bool, typer.Option("--html", help="(Re)write <article_id>.html pages and index.html from the JSON reports.")] = False,
    md: Annotated[bool, typer.Option("--md", help="(Re)write the <article_id>.md pages.")] = False,
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="Where the summary and the pages go. Default: the reports folder itself.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the articles table as JSON on stdout (for scripts).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No table.")] = False,
) -> None:
    """Read an existing reports folder: rank its articles, rewrite its summary, regenerate the HTML or Markdown pages.

    No model is loaded and nothing is re-audited: the JSON reports are the source. summary.csv/.parquet/.json
    are rewritten from every report in the folder (keeping the input problems the audit recorded), so the
    summary and index.html list the same articles even when the folder holds reports of several runs.

    Exit codes: 0 done, 2 usage error (no such folder, or no report in it),
    3 some report files could not be read or break the schema (the rest were used).

    Example: [bold]mtaudit report reports/ --html[/bold], then open reports/index.html
    """
    from mtaudit import api  # start-up: --help and usage errors load no pandas or torch
    from mtaudit import report as report_mod  # start-up: --help and usage errors load no pandas or torch
    from mtaudit.base import atomic  # start-up: --help and usage errors load no pandas or torch

    try:
        res = api.load_reports(reports_dir)
    except FileNotFoundError as exc:
        err.print(f"[red]error:[/red] {exc} (run `mtaudit audit INPUTS --out {reports_dir}` first)")
        raise typer.Exit(exits.USAGE) from exc
    unreadable = [p for p in res.problems if p.code in ("E_REPORT", "E_SCHEMA")]
    for p in unreadable:
        err.print(problem_line(p), highlight=False)
    if not res.reports:
        err.print(f"[red]error:[/red] no <article_id>.json report in {reports_dir}/")
        raise typer.Exit(exits.USAGE)
    target = out_dir or reports_dir
    written = report_mod.rewrite_summary(res.reports, reports_dir, target, __version__)
    if html:
        from mtaudit.report import html as html_mod  # start-up: --help and usage errors load no pandas or torch

        written += html_mod.write_pages(res.reports, target)
    if md:
        for rep in res.reports:
            path = Path(target) / f"{rep['article_id']}.md"
            atomic.write_text(path, report_mod.markdown(rep))
            written.append(path)
    frame = res.articles
    if as_json:
        cols = [c for c in frame.columns if c not in ("reasons", "story_articles", "signature")]
        payload = {"reports_dir": str(reports_dir), "written": [str(p) for p in written],
                   "articles": json.loads(frame[cols].sort_values("probability", ascending=False).to_json(orient="records"))}
        typer.echo(json.dumps(payload, ensure_ascii=False))
    elif not quiet:
        print_table(frame.astype(object).where(frame.notna(), None))
        err.print(f"wrote {len(written)} files to {target}/" + (f"; open {Path(target) / 'index.html'}" if html else ""))
    raise typer.Exit(exits.PARTIAL if unreadable else exits.CLEAN)
