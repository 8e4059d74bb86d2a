"""The command line: thin typer wrappers over the library, printing with rich."""

from __future__ import annotations

import contextlib
import json
import math
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
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
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a Ctrl-C

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="TOML settings file (\\[audit] table). Default: ./mtaudit.toml if present.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout (for scripts).")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar, no table.")]
DeviceOpt = Annotated[str | None, typer.Option("--device", help="auto, cpu or cuda.")]


def _settings(config: Path | None, **flags: Any):  # type: ignore[no-untyped-def]
    from mtaudit.settings import load_settings

    try:
        settings = load_settings(config, **flags)
        if settings.device == "cuda":  # say so now, not as a traceback once the first model loads
            from mtaudit import registry

            registry.pick_device(settings.device)
    except (OSError, ValueError, RuntimeError) as exc:  # the library's message, verbatim: it names the file or variable
        err.print(f"[red]error:[/red] settings: {escape(str(exc))}", highlight=False)
        raise typer.Exit(EXIT_USAGE) from exc
    return settings


def _problem_line(p: Any) -> str:
    """One stderr line per input problem; sources and messages are data, never rich markup."""
    return f"[yellow]{p.level}[/yellow]: {escape(str(p.source))}: {escape(p.message)} \\[{p.code}]"


@contextlib.contextmanager
def _progress(hidden: bool) -> Iterator[Callable[[str, int, int], None]]:
    """The library's progress callback, drawn as one rich bar per stage on stderr (when it is a terminal)."""
    if hidden or not sys.stderr.isatty():
        yield lambda stage, done, total: None
        return
    tasks: dict[str, Any] = {}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True) as bar:

        def tick(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield tick


@app.command()
def audit(
    inputs: Annotated[list[Path], typer.Argument(help="Files or folders. A folder is read for its articles: .txt/.text/.md or no extension (plain text, seed format), .html/.htm/.xhtml, .jsonl/.ndjson (one article per line); other files are skipped with one warning. A file named outright is read whatever its name.")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Where reports go: <article_id>.json/.md/.html, summary.csv/.parquet/.json, index.html (with html in --format).")] = Path("reports"),
    formats: Annotated[str, typer.Option("--format", help="Comma-separated report formats: json, md, html.")] = "json,md,html",
    clean: Annotated[bool, typer.Option("--clean", help="Before the first report is written, remove an earlier run's files from --out (<article_id>.json/.md/.html, summary.*, index.html; nothing else), so the folder holds this run alone.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the batch summary as JSON on stdout (for scripts).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar, no table.")] = False,
    config: ConfigOpt = None,
    device: DeviceOpt = None,
    engine: Annotated[str, typer.Option("--engine", help="local (this process) or dask (worker processes; stories are never split, reports are the same).")] = "local",
    workers: Annotated[int, typer.Option("--workers", min=1, help="Dask worker processes on this machine (--engine dask).")] = 2,
    threads: Annotated[int | None, typer.Option("--threads", min=1, help="Torch threads per process (default: torch's choice locally, 1 per Dask worker).")] = None,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="Address of a running Dask scheduler (tcp://host:8786) instead of a local cluster.")] = None,
    low_memory: Annotated[bool | None, typer.Option("--low-memory/--no-low-memory", help="Hold the C heap's mmap threshold (the default), so memory stays flat however large the batch; --no-low-memory is about 12% faster but its peak grows with the batch (figures: README, \"Speed and memory\"). Same reports either way.")] = None,
    sentence_lm: Annotated[bool | None, typer.Option("--sentence-lm/--no-sentence-lm", help="In articles judged machine-translated, flag sentences with the sentence model that also reads SmolLM2 surprisal (the default: story-eval recall 0.64 against 0.32 without it); --no-sentence-lm skips that LM pass: faster (README, \"Speed and memory\"), fewer sentences flagged.")] = None,
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
    from mtaudit import engine as engines

    if engine not in engines.ENGINES:
        err.print(f"[red]error:[/red] unknown engine {engine!r} (use {' or '.join(engines.ENGINES)})")
        raise typer.Exit(EXIT_USAGE)
    engines.prepare_process(threads if engine == "local" else None)  # before torch loads
    from mtaudit import pipeline, report

    settings = _settings(config, device=device, low_memory=low_memory, sentence_lm=sentence_lm)
    fmt = tuple(f.strip() for f in formats.split(",") if f.strip())
    bad = set(fmt) - {"json", "md", "html"}
    if bad:
        err.print(f"[red]error:[/red] unknown format {', '.join(sorted(bad))} (use json, md, html)")
        raise typer.Exit(EXIT_USAGE)
    earlier = report.report_ids(out_dir)  # before this run writes: what is there and will not be in its summary
    run = _Run()
    try:
        with _progress(quiet or as_json) as tick:

            def seen(stage: str, done: int, total: int) -> None:
                if stage == "ingest":
                    run.total = total
                tick(stage, done, total)

            if engine == "local":
                found, stream = pipeline.audit_stream(inputs, settings, progress=seen)
            else:
                from mtaudit import ingest

                articles, found = ingest.ingest(inputs, settings)
                run.total = len(articles)
                stream = iter(engines.run(articles, settings, engine, workers=workers, threads=threads, scheduler=scheduler, progress=tick))
            run.result.problems = found
            for rep in stream:  # each report lands as soon as it is done; only its slim summary stays in memory
                if clean and not run.cleaned:  # here, not earlier: a run with nothing to audit leaves the folder alone
                    report.clean(out_dir)
                    run.cleaned, earlier = True, set()
                report.write_article(rep, out_dir, ("json",) + tuple(f for f in fmt if f != "json"))
                run.result.reports.append(report.slim(rep))
    except KeyboardInterrupt:  # Ctrl-C: what was finished is on disk; give it a summary, not a traceback
        run.interrupted = True
    result = run.result
    meta = {"version": __version__, "signature": pipeline.signature(settings), "inputs": [str(p) for p in inputs]}
    problems = [p.__dict__ for p in result.problems]
    if result.reports:  # nothing audited: an earlier run's summary and index stay as they were
        report.write_summary(result.reports, problems, out_dir, meta)
        if "html" in fmt:
            from mtaudit import html

            html.write_index(result.reports, out_dir)
    for p in result.problems:
        err.print(_problem_line(p), highlight=False)
    stale = earlier - {r["article_id"] for r in result.reports}  # what this run did not write over
    if stale and result.reports:
        n = len(stale)
        err.print(f"[yellow]warning[/yellow]: {n} report{'s' if n != 1 else ''} from an earlier run {'are' if n != 1 else 'is'} in "
                  f"{escape(str(out_dir))}/; {'they are' if n != 1 else 'it is'} not in this summary; use a new folder or --clean",
                  highlight=False)
    frame = report.summary_frame(result.reports)
    errors = [p for p in result.problems if p.level == "error"]
    flagged = int(frame["machine_translated"].fillna(False).astype(bool).sum()) if len(frame) else 0
    if run.interrupted:
        code = EXIT_INTERRUPTED
    elif not result.reports:
        code = EXIT_USAGE
    elif errors:
        code = EXIT_PARTIAL
    else:
        code = EXIT_FLAGGED if flagged else EXIT_CLEAN
    if as_json:  # both facts, whichever exit code won: flagged articles and inputs not audited
        payload = {**meta, "exit_code": code, "interrupted": run.interrupted, "audited": len(result.reports),
                   "articles_found": run.total, "flagged": flagged, "failed": len(errors), "earlier_reports": len(stale),
                   "articles": json.loads(frame.to_json(orient="records")), "problems": problems}
        typer.echo(json.dumps(payload, ensure_ascii=False))
    if run.interrupted:
        err.print(run.interrupted_line(), highlight=False)
    elif not as_json and not quiet:
        _print_table(frame)
        err.print(f"{len(result.reports)} audited, {flagged} flagged, {len(errors)} failed; reports in {escape(str(out_dir))}/", highlight=False)
    raise typer.Exit(code)


class _Run:
    """What the streaming loop has kept so far: read again when Ctrl-C cuts the loop short."""

    def __init__(self) -> None:
        from mtaudit import pipeline

        self.result = pipeline.AuditResult([], [])
        self.total: int | None = None  # articles found by the ingest; None until it is done
        self.cleaned = False
        self.interrupted = False

    def interrupted_line(self) -> str:
        """The one line Ctrl-C gets, instead of a traceback."""
        done = len(self.result.reports)
        if self.total is None:
            return "interrupted while reading the inputs: nothing audited, nothing written"
        if not done:
            return f"interrupted: 0 of {self.total} articles audited; nothing written; rerun to finish"
        return f"interrupted: {done} of {self.total} articles audited; summary written for those; rerun to finish"


def _cell(value: Any, digits: int) -> str:
    """A number for the table, or "-" when there is none: None, or NaN (pandas' mean of no scores, as for an article without references)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def _print_table(frame: Any) -> None:
    table = Table(title="mtaudit", show_lines=False)
    for col in ("source", "verdict", "probability", "flagged", "chrF++", "semantic"):
        table.add_column(col, justify="right" if col != "source" else "left")
    for row in frame.sort_values("probability", ascending=False).itertuples():
        verdict = "abstain" if row.abstained else ("[red]MT[/red]" if row.machine_translated else "[green]ok[/green]")
        table.add_row(
            escape(str(row.source)), verdict, _cell(row.probability, 2), f"{row.flagged_sentences}/{row.sentences}",
            _cell(row.mean_chrf, 1), _cell(row.mean_semantic, 2),
        )
    out.print(table)


@app.command()
def models(
    write: Annotated[bool, typer.Option("--write", help="Write models/manifest.json.")] = False,
    load: Annotated[bool, typer.Option("--load", help="Load each model once (warms the caches; the LM's first load dequantises it).")] = False,
) -> None:
    """List the models the audit loads: name, package, version, upstream weights, licence.

    The packaged models (encoder, lm, ner) show their package's version; our own (the detector, its coverage
    model, the quality weights, all under models/) show the version their file carries, the one in report signatures.

    Exit codes: 0 listed (loaded, written), 2 a model could not be loaded (--load; one line each, the others are loaded).

    Example: [bold]mtaudit models --load[/bold]
    """
    from mtaudit import registry

    table = Table(title="models")
    for col in ("name", "package", "version", "upstream", "licence"):
        table.add_column(col)
    for row in registry.manifest():
        table.add_row(*(escape(row[k]) for k in ("name", "package", "version", "upstream", "licence")))
    out.print(table)
    failed = 0
    if load:
        for name in registry.ENTRIES:
            try:
                registry.get(name)
            except (ImportError, OSError, RuntimeError, ValueError) as exc:  # a missing package or model file: say which, go on
                failed += 1
                err.print(f"[red]error:[/red] {name}: {escape(str(exc))}", highlight=False)
                continue
            err.print(f"loaded {name}")
    if write:
        registry.write_manifest()
    raise typer.Exit(EXIT_USAGE if failed else EXIT_CLEAN)


@app.command("report")
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
    from mtaudit import api, atomic
    from mtaudit import report as report_mod

    try:
        res = api.load_reports(reports_dir)
    except FileNotFoundError as exc:
        err.print(f"[red]error:[/red] {exc} (run `mtaudit audit INPUTS --out {reports_dir}` first)")
        raise typer.Exit(EXIT_USAGE) from exc
    unreadable = [p for p in res.problems if p.code in ("E_REPORT", "E_SCHEMA")]
    for p in unreadable:
        err.print(_problem_line(p), highlight=False)
    if not res.reports:
        err.print(f"[red]error:[/red] no <article_id>.json report in {reports_dir}/")
        raise typer.Exit(EXIT_USAGE)
    target = out_dir or reports_dir
    written = report_mod.rewrite_summary(res.reports, reports_dir, target, __version__)
    if html:
        from mtaudit import html as html_mod

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
        _print_table(frame.astype(object).where(frame.notna(), None))
        err.print(f"wrote {len(written)} files to {target}/" + (f"; open {Path(target) / 'index.html'}" if html else ""))
    raise typer.Exit(EXIT_PARTIAL if unreadable else EXIT_CLEAN)


def _num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


@app.command("meta-eval")
def meta_eval(
    data: Annotated[Path, typer.Option("--data", help="A TSV in the WMT22 MQM format (needs hyp and ref_A; mqm and metric columns optional).")] = Path(
        "../shared/data/wmt22_zhen_mqm/wmt22_zhen_news.tsv.gz"
    ),
    predictions: Annotated[Path | None, typer.Option("--predictions", help="Write our scores per segment to this CSV (doc_id, seg_id, system, one column per score).")] = None,
    no_lm: Annotated[bool, typer.Option("--no-lm", help="Skip the LM fluency (much faster; quality uses its fitted no-LM variant).")] = False,
    fit: Annotated[bool, typer.Option("--fit", help="Refit the quality weights on this file (grouped CV by doc_id reported) and save models/quality/weights.json.")] = False,
    docs: Annotated[int | None, typer.Option("--docs", help="Only the first N documents (by doc_id), for a quick look.")] = None,
    lm_docs: Annotated[int | None, typer.Option("--lm-docs", help="Run the LM on N documents only (a fixed seeded subset): it is the slow part.")] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    config: ConfigOpt = None,
    device: DeviceOpt = None,
) -> None:
    """Do our sentence scores agree with people? Segment Kendall tau-b against WMT22 MQM.

    Our scores use [bold]hyp[/bold] and [bold]ref_A[/bold] only; [bold]mqm[/bold] and the official metric columns
    are only correlated with, side by side ("all rows", and "MT only" = the WMT22 no-grouping variant).
    Slow scores are cached, so a second run is quick. The full dev split with the LM takes a
    long while on 2 cores the first time.

    Exit codes: 0 done, 2 usage error (missing file or columns).

    Example: [bold]mtaudit meta-eval --predictions scores.csv[/bold]
    """
    from mtaudit import atomic, metaeval

    settings = _settings(config, device=device)
    if not data.exists():
        err.print(f"[red]error:[/red] no such file: {data} (the dev split lives in ../shared/data/wmt22_zhen_mqm/)")
        raise typer.Exit(EXIT_USAGE)
    try:
        with _progress(quiet or as_json) as tick:
            result = metaeval.run(data, settings, use_lm=not no_lm, do_fit=fit, limit_docs=docs, progress=tick, lm_docs=lm_docs)
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_USAGE) from exc
    frame, scores = result.pop("_frame"), result.pop("_scores")
    if predictions is not None:
        atomic.write_text(predictions, metaeval.predictions(frame, scores).to_csv(index=False))
        result["predictions"] = str(predictions)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
        raise typer.Exit(EXIT_CLEAN)
    if quiet:
        raise typer.Exit(EXIT_CLEAN)
    tables = [("table", f"{result['rows']} rows, {result['documents']} documents"),
              ("table_lm_rows", f"rows where the LM ran: {result.get('lm_rows')} rows, {result.get('lm_documents')} documents")]
    for key, what in tables:
        if not result.get(key):
            continue
        table = Table(title=f"Kendall tau-b vs MQM: {data.name} ({what})")
        for col in ("metric", "kind", "tau all rows", "n", "tau MT only", "n MT"):
            table.add_column(col, justify="left" if col in ("metric", "kind") else "right")
        for row in sorted(result[key], key=lambda r: -(r["tau_b_mt_only"] or -9)):
            table.add_row(row["metric"], row["kind"], _num(row["tau_b_all_rows"], 4), str(row["n_all_rows"]), _num(row["tau_b_mt_only"], 4), str(row["n_mt_only"]))
        out.print(table)
    if not result["table"]:
        err.print(f"no mqm column in {data}: scored {result['rows']} rows, nothing to correlate with")
    qw = result.get("quality_weights")
    if qw:
        err.print(f"quality weights {qw['version']}; tau out of fold (grouped CV by document, never fitted on the evaluated documents):")
        for name, cv in qw["cv"].items():
            err.print(f"  {name}: all rows {cv.get('tau_b_all_rows')} (n={cv.get('n_all_rows')}), MT only {cv.get('tau_b_mt_only')} (n={cv.get('n_mt_only')}), {cv.get('documents')} documents")
        if fit:
            err.print("  note: the table's quality columns were fitted on these very rows; quote the CV figures above")
    if predictions is not None:
        err.print(f"wrote {predictions}")
    raise typer.Exit(EXIT_CLEAN)


@app.command("story-eval")
def story_eval(
    data: Annotated[Path, typer.Option("--data", help="ECB+ documents (JSONL with doc_id, subtopic, text).")] = Path("../shared/data/ecbplus/ecbplus_docs.jsonl"),
    limit: Annotated[int | None, typer.Option("--limit", help="How many stories (sub-topics with 3+ documents); 0 = all. Default: the first 6 (storyeval.STORIES), which the detector never trained on; beyond them it may have.")] = None,
    rate: Annotated[float, typer.Option("--rate", help="Share of the victim article's sentences replaced by their round trip (1.0 = whole article).")] = 0.5,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed for the story order, the victim and the damaged sentences. Default: 7 (storyeval.SEED), the one make-data leaves out.")] = None,
    rows_out: Annotated[Path | None, typer.Option("--rows", help="Write the per-sentence rows to this CSV.")] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    config: ConfigOpt = None,
    device: DeviceOpt = None,
) -> None:
    """Damage one outlet's article of each ECB+ story by an Apertium round trip, audit it, and measure.

    Figures: (1) precision/recall of sentence flags against the sentences the round trip changed,
    (2) rank correlation of the quality score with chrF of each damaged sentence against its own
    original, (3) whether repaired sentences are closer to the original than the damaged ones.

    Exit codes: 0 done, 2 usage error (no data, no Apertium).

    Example: [bold]mtaudit story-eval --limit 6[/bold]
    """
    from mtaudit import atomic, storyeval

    limit = storyeval.STORIES if limit is None else limit
    seed = storyeval.SEED if seed is None else seed

    settings = _settings(config, device=device)
    if not data.exists():
        err.print(f"[red]error:[/red] no such file: {data} (ECB+ lives in ../shared/data/ecbplus/)")
        raise typer.Exit(EXIT_USAGE)
    try:
        with _progress(quiet or as_json) as tick:
            result = storyeval.evaluate(data, settings, limit=limit or None, rate=rate, seed=seed, progress=tick)
    except RuntimeError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_USAGE) from exc
    rows = result.pop("rows")
    if rows_out is not None:
        import pandas as pd

        atomic.write_text(rows_out, pd.DataFrame(rows).to_csv(index=False))
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
        raise typer.Exit(EXIT_CLEAN)
    if not quiet:
        d, f, q, r = result["data"], result["flags"]["vs_changed"], result["quality_vs_damage"], result["repair"]
        table = Table(title=f"story-eval: {d['stories']} stories, {d['victim_sentences']} victim sentences ({d['changed_sentences']} changed), {d['context_articles']} other articles")
        table.add_column("figure")
        table.add_column("value", justify="right")
        v = result["victims"]
        table.add_row("victims judged MT / abstained / original", f"{v['judged_machine_translated']} / {v['abstained']} / {v['judged_original']}")
        table.add_row("(1) flag precision vs changed", _num(f["precision"]))
        table.add_row("(1) flag recall vs changed", _num(f["recall"]))
        table.add_row("(1) flag recall vs heavily damaged", _num(result["flags"]["vs_heavily_damaged"]["recall"]))
        spans = result["flags"]["spans_only_vs_changed"]
        table.add_row("(1) spans' flags alone: precision / recall", f"{_num(spans['precision'])} / {_num(spans['recall'])}")
        table.add_row(f"(2) Spearman quality vs damage chrF (n={q['all_scored']['quality']['n']})", _num(q["all_scored"]["quality"]["spearman"]))
        table.add_row("(2) Spearman, changed sentences only", _num(q["changed_only"]["spearman"]))
        table.add_row("(2) mean quality drop vs the original sentence", _num(q["mean_quality_drop_vs_original"]))
        table.add_row(f"(3) repaired closer to original (n={r['repaired_damaged_sentences']})", _num(r["share_improved"]))
        table.add_row("(3) mean chrF gain of repairs", _num(r["mean_chrf_gain"]))
        out.print(table)
    raise typer.Exit(EXIT_CLEAN)


@app.command()
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
    import logging

    from rich.markup import escape

    from mtaudit import nightly as job

    def stop(code: int, label: str, message: str) -> typer.Exit:
        """One line on stderr, and with --json the object scripts expect even though there is no run result."""
        err.print(f"{label} {escape(message)}", highlight=False)
        if as_json:
            typer.echo(json.dumps({"exit_code": code, "error": message, "config": str(config)}, ensure_ascii=False))
        return typer.Exit(code)

    try:
        cfg = job.load_config(config)
    except job.ConfigError as exc:
        raise stop(job.EXIT_CONFIG, "[red]error:[/red]", f"config: {exc}") from exc
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
        raise stop(job.EXIT_LOCKED, "[yellow]not started:[/yellow]", str(exc)) from exc
    except Exception as exc:
        raise stop(job.EXIT_FAILED, "[red]error:[/red]",
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


@app.command("make-data")
def make_data(
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Where docs.jsonl, coverage.jsonl and manifest.json go (gitignored).")] = Path("data/detector"),
    shared: Annotated[Path, typer.Option("--shared", help="The shared evaluation data folder (dev split).")] = Path("../shared/data"),
    seeds: Annotated[Path, typer.Option("--seeds", help="Seed folder: its original-English articles (001, 003, 004) join the negatives.")] = Path("seeds"),
    reuters_deb: Annotated[Path | None, typer.Option("--reuters-deb", help="A downloaded r-cran-tm .deb (default: installed package, else apt-get download).")] = None,
    ecb_limit: Annotated[int, typer.Option("--ecb-limit", help="How many ECB+ documents to use (sha256-ranked, reproducible).")] = 300,
    reuters_limit: Annotated[int | None, typer.Option("--reuters-limit", help="At most this many Reuters articles.")] = None,
    wmt_limit: Annotated[int | None, typer.Option("--wmt-limit", help="At most this many wmt22 documents (all their versions).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the literal substitutions and the sampling.")] = 13,
    as_json: Annotated[bool, typer.Option("--json", help="Print the manifest as JSON.")] = False,
) -> None:
    """Build the detector's training data from round trips, literal substitutions and WMT22 translations.

    Apertium round trips (en-es-en, en-ca-en, en-gl-en) and FreeDict literal
    substitutions of original English news (Reuters-21578, ECB+, wmt22 originals, seeds 001/003/004),
    plus the machine and human translations of shared/data/wmt22_articles (dev split). The ECB+
    articles beyond --ecb-limit go, whole and round-tripped, with their stories into coverage.jsonl,
    on which `mtaudit train` fits how other outlets' coverage moves the verdict.

    Exit codes: 0 built, 2 nothing to build from.

    Example: [bold]mtaudit make-data --out data/detector[/bold]
    """
    from mtaudit import makedata

    manifest = makedata.build(out_dir, shared if shared.exists() else None, seeds if seeds.exists() else None, reuters_deb,
                              ecb_limit, reuters_limit, wmt_limit, seed=seed)
    if not manifest["articles"]:
        err.print("[red]error:[/red] no source data found (shared data, seeds, r-cran-tm): nothing built")
        raise typer.Exit(EXIT_USAGE)
    if as_json:
        typer.echo(json.dumps(manifest, ensure_ascii=False))
        return
    table = Table(title=f"training data in {out_dir}/docs.jsonl")
    for col in ("corpus", "kind", "articles", "sentences", "words"):
        table.add_column(col, justify="left" if col in ("corpus", "kind") else "right")
    for corpus, kinds in manifest["by_corpus"].items():
        for kind, row in kinds.items():
            table.add_row(corpus, kind, str(row["articles"]), str(row["sentences"]), str(row["words"]))
    out.print(table)
    for note in manifest["notes"]:
        err.print(f"[yellow]note[/yellow]: {note}")
    err.print(f"{manifest['articles']} articles from {manifest['groups']} documents; coverage.jsonl: "
              f"{manifest['coverage']['victims']} articles in {manifest['coverage']['stories']} stories; {manifest['seconds']} s")


@app.command()
def train(
    data: Annotated[Path, typer.Option("--data", help="Folder written by `mtaudit make-data`.")] = Path("data/detector"),
    model_dir: Annotated[Path, typer.Option("--model-dir", help="Where detector.json, metrics.json and MODEL_CARD.md go.")] = Path("models/detector"),
    lm_k: Annotated[int, typer.Option("--lm-sentences", help="Sentences per article the language model reads (0: LM family off; costly on CPU).")] = 0,
    ablation: Annotated[bool, typer.Option("--ablation/--no-ablation", help="Measure each signal family's contribution (slower).")] = True,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Train the calibrated detector and its coverage model, and write them with the model card.

    The detector is a four-class logistic regression over the style profile and a binary one over the
    explicit slips, joined as a Platt-calibrated noisy OR; every figure is out-of-fold, folds grouped by
    source document. Then its coverage model (how other outlets' contradictions move the odds) is fitted
    on the ECB+ articles of coverage.jsonl, which the detector never trained on. The first run also has
    SmolLM2 read every training sentence once for the sentence model's surprisal variant (minutes on
    2 cores; cached after). README, "Measured", gives the times.

    Exit codes: 0 trained, 2 no training data (run `mtaudit make-data`).

    Example: [bold]mtaudit train --data data/detector --model-dir models/detector[/bold]
    """
    from mtaudit import classifier, evaluate

    settings = _settings(config, device="cpu")
    cfg = evaluate.TrainConfig(lm_k=lm_k, families=evaluate.TrainConfig.families + (("lm",) if lm_k else ()))
    try:
        with _progress(as_json) as tick:
            result = evaluate.train(data, settings, cfg, ablation=ablation, progress=tick)
    except FileNotFoundError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_USAGE) from exc
    classifier.save(result.detector, model_dir)
    evaluate.write_card(result.detector, model_dir)
    if as_json:
        typer.echo(json.dumps(result.report, ensure_ascii=False))
        return
    _print_metrics(result.report["article"], "out-of-fold, article level")
    s = result.report["sentence_roundtrip"]
    err.print(f"sentence level (held-out round trips): AUROC {s['auroc']:.3f} on {s['n']} sentences")
    if "sentence_roundtrip_lm" in result.report:
        err.print(f"  with SmolLM2 surprisal (the flags in articles judged MT): AUROC {result.report['sentence_roundtrip_lm']['auroc']:.3f}")
    cov = result.detector.coverage
    if cov:
        a, f = cov["out_of_fold"]["detector_alone"], cov["out_of_fold"]["fitted"]
        err.print(f"coverage model ({cov['n']} ECB+ articles with coverage, out-of-fold by story): accuracy "
                  f"{a['accuracy']:.3f} -> {f['accuracy']:.3f}, log loss {a['log_loss']:.3f} -> {f['log_loss']:.3f}")
    else:
        err.print("[yellow]note[/yellow]: no coverage.jsonl in the data: other outlets' spans will not move the verdict")
    err.print(f"model written to {model_dir}/detector.json; card in {model_dir}/MODEL_CARD.md")


def _print_metrics(tasks: dict[str, Any], title: str) -> None:
    table = Table(title=title)
    for col in ("task", "n", "AUROC", "accuracy", "ECE", "ECE 50:50", "abstained"):
        table.add_column(col, justify="left" if col == "task" else "right")
    for name, m in tasks.items():
        if not isinstance(m, dict) or "n" not in m:
            continue
        fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
        table.add_row(name, str(m["n"]), fmt(m.get("auroc")), fmt(m.get("accuracy")), fmt(m.get("ece")), fmt(m.get("ece_balanced")),
                      fmt(m.get("abstained")))
    out.print(table)


@app.command("eval")
def eval_cmd(
    data: Annotated[Path, typer.Option("--data", help="JSONL with id, text and (optionally) label, as shared/data/wmt22_articles/articles.jsonl.")] = Path("../shared/data/wmt22_articles/articles.jsonl"),
    predictions: Annotated[Path | None, typer.Option("--predictions", help="Write one CSV row per article: id, label, probability, verdict, how.")] = None,
    model_dir: Annotated[Path, typer.Option("--model-dir", help="The detector to evaluate.")] = Path("models/detector"),
    training_data: Annotated[Path, typer.Option("--training-data", help="make-data folder: rows the detector trained on are scored out-of-fold from it.")] = Path("data/detector"),
    prior: Annotated[str | None, typer.Option("--prior", help="Share of machine translation to calibrate the probabilities to (the detector's own is 0.5; default: the setting mt_prior), or 'auto' to estimate it from the file's probabilities without reading a label.")] = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Evaluate the detector on any JSONL file of articles, with metrics for the labelled rows.

    Only `id` and `text` feed the prediction; rows with a `label`
    (machine_translation, human_translation, original_english) give the metrics. A row the committed model
    was trained on is scored by a model retrained without its document (the CSV's `how` column says so).

    Exit codes: 0 evaluated; 2 bad input or no model, or no row could be read; 3 evaluated, but some rows could
    not be read (one line each on stderr, named by file and line; the metrics cover the rows read).

    Example: [bold]mtaudit eval --data ../shared/data/wmt22_articles/articles.jsonl --predictions preds.csv[/bold]
    """
    from mtaudit import classifier, evaluate

    settings = _settings(config, device="cpu")
    try:
        detector = classifier.load(model_dir)
        share: float | str | None = prior
        if prior not in (None, "auto"):
            try:
                share = float(prior)
            except ValueError:
                raise ValueError(f"--prior takes a share between 0 and 1, or 'auto', not {prior!r}") from None
        preds, summary = evaluate.evaluate_file(data, detector, settings, training_data, prior=share)
    except (OSError, ValueError) as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_USAGE) from exc
    for line in summary["problems"]:
        err.print(f"[yellow]error[/yellow]: {escape(line)}")
    if not preds:
        err.print(f"[red]error:[/red] no row of {escape(str(data))} could be read")
        if as_json:
            typer.echo(json.dumps(summary, ensure_ascii=False))
        raise typer.Exit(EXIT_USAGE)
    code = EXIT_PARTIAL if summary["problems"] else EXIT_CLEAN
    if predictions is not None:
        evaluate.write_predictions(preds, predictions)
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False))
        raise typer.Exit(code)
    _print_metrics(summary, f"{data.name}: {summary['rows']} rows, {summary['labelled']} labelled")
    err.print(f"scored by: {summary['scored_by']}; {summary['seconds_per_article'] * 1000:.0f} ms per article; {summary['signature']}")
    if summary["prior"] != 0.5:
        err.print(f"probabilities calibrated to a share of machine translation of {summary['prior']:g} ({summary['prior_source']})")
    if predictions is not None:
        err.print(f"predictions written to {predictions}")
    raise typer.Exit(code)


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
