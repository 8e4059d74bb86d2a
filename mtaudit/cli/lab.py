"""The lab's commands: build training data, train and evaluate the detector, measure the scores against people and on damaged stories. They read the project's data folders and write into a checkout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from mtaudit.base import exits
from mtaudit.cli.common import ConfigOpt, DeviceOpt, JsonOpt, QuietOpt, err, num, out, progress_bar, settings_or_exit
from mtaudit.lab.paths import SHARED_DATA  # a path and nothing else: --help stays fast


def meta_eval(
    data: Annotated[Path, typer.Option("--data", help="A TSV in the WMT22 MQM format (needs hyp and ref_A; mqm and metric columns optional).")] = SHARED_DATA / "wmt22_zhen_mqm" / "wmt22_zhen_news.tsv.gz",
    predictions: Annotated[Path | None, typer.Option("--predictions", help="Write our scores per segment to this CSV (doc_id, seg_id, system, one column per score).")] = None,
    no_lm: Annotated[bool, typer.Option("--no-lm", help="Skip the LM fluency (much faster; quality uses its fitted no-LM variant).")] = False,
    fit: Annotated[bool, typer.Option("--fit", help="Refit the quality weights on this file (grouped CV by doc_id reported) and save models/quality/weights.json.")] = False,
    docs: Annotated[int | None, typer.Option("--docs", help="Only the first N documents (by doc_id), for a quick look.")] = None,
    lm_docs: Annotated[int | None, typer.Option("--lm-docs", help="Run the LM on N documents only (a fixed seeded subset): it is the slow part.")] = None,
    fit_estimator: Annotated[bool, typer.Option("--fit-estimator", help="Refit the quality estimator (the audit's quality) on the dev split's four domains, 10-fold CV by doc_id, and save models/quality/estimator.json/.npz.")] = False,
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
    from mtaudit.base import atomic  # start-up: --help and usage errors load no pandas or torch
    from mtaudit.lab import metaeval  # start-up: --help and usage errors load no pandas or torch

    settings = settings_or_exit(config, device=device)
    if not data.exists():
        err.print(f"[red]error:[/red] no such file: {data} (the dev split lives in ../shared/data/wmt22_zhen_mqm/)")
        raise typer.Exit(exits.USAGE)
    try:
        if fit_estimator:
            from mtaudit.lab import estimator  # start-up: as above

            estimator.run(settings)
        with progress_bar(quiet or as_json) as tick:
            result = metaeval.run(data, settings, use_lm=not no_lm, do_fit=fit, limit_docs=docs, progress=tick, lm_docs=lm_docs)
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(exits.USAGE) from exc
    frame, scores = result.pop("_frame"), result.pop("_scores")
    if predictions is not None:
        atomic.write_text(predictions, metaeval.predictions(frame, scores).to_csv(index=False))
        result["predictions"] = str(predictions)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
        raise typer.Exit(exits.CLEAN)
    if quiet:
        raise typer.Exit(exits.CLEAN)
    tables = [("table", f"{result['rows']} rows, {result['documents']} documents"),
              ("table_lm_rows", f"rows where the LM ran: {result.get('lm_rows')} rows, {result.get('lm_documents')} documents")]
    for key, what in tables:
        if not result.get(key):
            continue
        table = Table(title=f"Kendall tau-b vs MQM: {data.name} ({what})")
        for col in ("metric", "kind", "tau all rows", "n", "tau MT only", "n MT"):
            table.add_column(col, justify="left" if col in ("metric", "kind") else "right")
        for row in sorted(result[key], key=lambda r: -(r["tau_b_mt_only"] or -9)):
            table.add_row(row["metric"], row["kind"], num(row["tau_b_all_rows"], 4), str(row["n_all_rows"]), num(row["tau_b_mt_only"], 4), str(row["n_mt_only"]))
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
    est = result.get("quality_estimator")
    if est:
        err.print(f"quality estimator {est['name']} {est['version']} (the table's `quality` was fitted on these documents too); "
                  f"out of fold ({est['cv']['method']}):")
        for name, cv in [("estimator", est["cv"]["news"]), *est["cv"].get("baselines", {}).items()]:
            err.print(f"  {name}: MT only {cv.get('tau_b_mt_only')} (n={cv.get('n_mt_only')}), "
                      f"within segment {cv.get('tau_b_by_segment')} ({cv.get('n_segments')} segments)")
    err.print(f"the audit's quality: {result.get('quality_used')}")
    if predictions is not None:
        err.print(f"wrote {predictions}")
    raise typer.Exit(exits.CLEAN)


def story_eval(
    data: Annotated[Path, typer.Option("--data", help="ECB+ documents (JSONL with doc_id, subtopic, text).")] = SHARED_DATA / "ecbplus" / "ecbplus_docs.jsonl",
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
    original, (3) whether repaired sentences are closer to the original than the damaged ones,
    (4) how the spans' severities (minor, major, critical) track the damage.

    Exit codes: 0 done, 2 usage error (no data, no Apertium).

    Example: [bold]mtaudit story-eval --limit 6[/bold]
    """
    from mtaudit.base import atomic  # start-up: --help and usage errors load no pandas or torch
    from mtaudit.lab import storyeval  # start-up: --help and usage errors load no pandas or torch

    limit = storyeval.STORIES if limit is None else limit
    seed = storyeval.SEED if seed is None else seed

    settings = settings_or_exit(config, device=device)
    if not data.exists():
        err.print(f"[red]error:[/red] no such file: {data} (ECB+ lives in ../shared/data/ecbplus/)")
        raise typer.Exit(exits.USAGE)
    try:
        with progress_bar(quiet or as_json) as tick:
            result = storyeval.evaluate(data, settings, limit=limit or None, rate=rate, seed=seed, progress=tick)
    except RuntimeError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(exits.USAGE) from exc
    rows = result.pop("rows")
    if rows_out is not None:
        import pandas as pd  # pandas: only the frames pay its import (start-up time)

        atomic.write_text(rows_out, pd.DataFrame(rows).to_csv(index=False))
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
        raise typer.Exit(exits.CLEAN)
    if not quiet:
        d, f, q, r = result["data"], result["flags"]["vs_changed"], result["quality_vs_damage"], result["repair"]
        table = Table(title=f"story-eval: {d['stories']} stories, {d['victim_sentences']} victim sentences ({d['changed_sentences']} changed), {d['context_articles']} other articles")
        table.add_column("figure")
        table.add_column("value", justify="right")
        v = result["victims"]
        table.add_row("victims judged MT / abstained / original", f"{v['judged_machine_translated']} / {v['abstained']} / {v['judged_original']}")
        table.add_row("(1) flag precision vs changed", num(f["precision"]))
        table.add_row("(1) flag recall vs changed", num(f["recall"]))
        table.add_row("(1) flag recall vs heavily damaged", num(result["flags"]["vs_heavily_damaged"]["recall"]))
        spans = result["flags"]["spans_only_vs_changed"]
        table.add_row("(1) spans' flags alone: precision / recall", f"{num(spans['precision'])} / {num(spans['recall'])}")
        table.add_row(f"(2) Spearman quality vs damage chrF (n={q['all_scored']['quality']['n']})", num(q["all_scored"]["quality"]["spearman"]))
        table.add_row("(2) Spearman, changed sentences only", num(q["changed_only"]["spearman"]))
        table.add_row("(2) mean quality drop vs the original sentence", num(q["mean_quality_drop_vs_original"]))
        table.add_row(f"(3) repaired closer to original (n={r['repaired_damaged_sentences']})", num(r["share_improved"]))
        table.add_row("(3) mean chrF gain of repairs", num(r["mean_chrf_gain"]))
        sev = result["severity"]
        for grade, g in sev["by_worst_grade"].items():
            table.add_row(f"(4) worst span {grade}: sentences, share changed, mean damage chrF",
                          f"{g['sentences']}, {num(g['share_changed'])}, {num(g['mean_damage_chrf'])}")
        table.add_row("(4) Kendall error points vs damage chrF, changed only", num(sev["points_vs_damage"]["changed_only"]["kendall_b"]))
        out.print(table)
    raise typer.Exit(exits.CLEAN)


def make_data(
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Where docs.jsonl, coverage.jsonl and manifest.json go (gitignored).")] = Path("data/detector"),
    shared: Annotated[Path, typer.Option("--shared", help="The shared evaluation data folder (dev split).")] = SHARED_DATA,
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
    plus the machine and human translations of shared/data/wmt22_articles (dev split), and windows of
    the trained-on half of shared/data/wmt22_translationese (original English; neural MT from cs, de,
    ja, ru, uk; human translations of the same lines). The ECB+
    articles beyond --ecb-limit go, whole and round-tripped, with their stories into coverage.jsonl,
    on which `mtaudit train` fits how other outlets' coverage moves the verdict.

    Exit codes: 0 built, 2 nothing to build from.

    Example: [bold]mtaudit make-data --out data/detector[/bold]
    """
    from mtaudit.lab import makedata  # start-up: --help and usage errors load no pandas or torch

    manifest = makedata.build(out_dir, shared if shared.exists() else None, seeds if seeds.exists() else None, reuters_deb,
                              ecb_limit, reuters_limit, wmt_limit, seed=seed)
    if not manifest["articles"]:
        err.print("[red]error:[/red] no source data found (shared data, seeds, r-cran-tm): nothing built")
        raise typer.Exit(exits.USAGE)
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


def train(
    data: Annotated[Path, typer.Option("--data", help="Folder written by `mtaudit make-data`.")] = Path("data/detector"),
    model_dir: Annotated[Path, typer.Option("--model-dir", help="Where detector.json, metrics.json and MODEL_CARD.md go.")] = Path("models/detector"),
    lm_k: Annotated[int, typer.Option("--lm-sentences", help="Sentences per article the language model reads (0: LM family off; costly on CPU).")] = 0,
    ablation: Annotated[bool, typer.Option("--ablation/--no-ablation", help="Measure each signal family's contribution (slower).")] = True,
    sentence_lm_from: Annotated[Path | None, typer.Option("--sentence-lm-from", help="Keep this model folder's LM sentence model instead of "
                                                          "refitting it (SmolLM2 need not read the sentences again); refused "
                                                          "unless the sentence data are the same.")] = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Train the calibrated detector and its coverage model, and write them with the model card.

    The detector is a six-class logistic regression over the style profile and a binary one over the
    explicit slips, joined as a Platt-calibrated noisy OR; every figure is out-of-fold, folds grouped by
    source document. Then its coverage model (how other outlets' contradictions move the odds) is fitted
    on the ECB+ articles of coverage.jsonl, which the detector never trained on. The first run also has
    SmolLM2 read every training sentence once for the sentence model's surprisal variant (minutes on
    2 cores; cached after). docs/figures.md gives the times.

    Exit codes: 0 trained, 2 no training data (run `mtaudit make-data`).

    Example: [bold]mtaudit train --data data/detector --model-dir models/detector[/bold]
    """
    from mtaudit.lab import modelcard  # start-up: --help and usage errors load no pandas or torch
    from mtaudit.lab import train as training  # start-up: as above
    from mtaudit.stages import classifier  # start-up: as above

    settings = settings_or_exit(config, device="cpu")
    cfg = training.TrainConfig(lm_k=lm_k, families=training.TrainConfig.families + (("lm",) if lm_k else ()),
                               sentence_lm_from=str(sentence_lm_from or ""))
    try:
        with progress_bar(as_json) as tick:
            result = training.train(data, settings, cfg, ablation=ablation, progress=tick)
    except (FileNotFoundError, ValueError) as exc:  # no data; or a --sentence-lm-from model fitted on other sentences
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(exits.USAGE) from exc
    classifier.save(result.detector, model_dir)
    modelcard.write_card(result.detector, model_dir)
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


def eval_cmd(
    data: Annotated[Path, typer.Option("--data", help="JSONL with id, text and (optionally) label, as shared/data/wmt22_articles/articles.jsonl.")] = SHARED_DATA / "wmt22_articles" / "articles.jsonl",
    predictions: Annotated[Path | None, typer.Option("--predictions", help="Write one CSV row per article: id, label, probability, verdict, how.")] = None,
    model_dir: Annotated[Path, typer.Option("--model-dir", help="The detector to evaluate.")] = Path("models/detector"),
    training_data: Annotated[Path, typer.Option("--training-data", help="make-data folder: rows the detector trained on are scored out-of-fold from it.")] = Path("data/detector"),
    prior: Annotated[str | None, typer.Option("--prior", help="Share of machine translation to calibrate the probabilities to (the detector's own is 0.5; default: the setting mt_prior), or 'auto' to estimate it from the file's probabilities without reading a label.")] = None,
    newsroom: Annotated[bool, typer.Option("--newsroom", help="Instead: audit held-out originals, machine and human translations through the real pipeline, in stories and alone, and measure what a newsroom sees (false alarms, share caught, the precision a reader sees when a small share of the feed is MT, calibration at a prior, time). A few minutes on 2 idle cores; --size for more.")] = False,
    quick: Annotated[bool, typer.Option("--quick", help="--newsroom at tiny sizes (a few articles a set): a smoke run.")] = False,
    size: Annotated[list[str] | None, typer.Option("--size", help="--newsroom: a set's size, NAME=N (repeatable): ecb, roundtrip, roundtrip_story, wmt_original, wmt_articles, wmt_zh, neural, reuters, seeds.")] = None,
    out_json: Annotated[Path, typer.Option("--out", help="--newsroom: where the JSON goes.")] = Path("reports/eval/newsroom.json"),
    keep_cache: Annotated[bool, typer.Option("--keep-cache", help="--newsroom: audit with the usual disk cache, not a fresh one (faster again; the seconds then understate a new article's).")] = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Evaluate the detector on any JSONL file of articles, with metrics for the labelled rows.

    Only `id` and `text` feed the prediction; rows with a `label`
    (machine_translation, human_translation, original_english) give the metrics. A row the committed model
    was trained on is scored by a model retrained without its document (the CSV's `how` column says so).

    Exit codes: 0 evaluated; 2 bad input or no model, or no row could be read; 3 evaluated, but some rows could
    not be read (one line each on stderr, named by file and line; the metrics cover the rows read).

    With --newsroom, the whole audit as a newsroom meets it instead: every article goes through the audit users run
    (mtaudit.lab.newsroom), in its story and alone; the sets, their sizes and what is held out are in the JSON (--out).
    Exit codes there: 0 done, 2 a bad --size.

    Example: [bold]mtaudit eval --data ../shared/data/wmt22_articles/articles.jsonl --predictions preds.csv[/bold]
    """
    settings = settings_or_exit(config, device="cpu")
    if newsroom or quick:
        from mtaudit.base import atomic  # start-up: --help and usage errors load no pandas or torch
        from mtaudit.lab import newsroom as room  # start-up: as above

        try:
            sizes = room.Sizes.parse(size or [], room.QUICK if quick else None)
        except ValueError as exc:
            err.print(f"[red]error:[/red] {escape(str(exc))}")
            raise typer.Exit(exits.USAGE) from exc
        with progress_bar(as_json) as tick:
            result = room.run(sizes, settings, progress=tick, keep_cache=keep_cache)
        atomic.write_json(out_json, result)
        if as_json:
            typer.echo(json.dumps(atomic.finite({k: v for k, v in result.items() if k != "records"}), ensure_ascii=False))
        else:
            _print_newsroom(result)
            err.print(f"wrote {out_json}")
        raise typer.Exit(exits.CLEAN)
    from mtaudit.lab import evaluate  # start-up: --help and usage errors load no pandas or torch
    from mtaudit.stages import classifier  # start-up: --help and usage errors load no pandas or torch

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
        raise typer.Exit(exits.USAGE) from exc
    for line in summary["problems"]:
        err.print(f"[yellow]error[/yellow]: {escape(line)}")
    if not preds:
        err.print(f"[red]error:[/red] no row of {escape(str(data))} could be read")
        if as_json:
            typer.echo(json.dumps(summary, ensure_ascii=False))
        raise typer.Exit(exits.USAGE)
    code = exits.PARTIAL if summary["problems"] else exits.CLEAN
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


def _print_newsroom(r: dict[str, Any]) -> None:
    """The newsroom evaluation's tables: per set, precision at a share of MT, the threshold curve; then AUROC and calibration."""
    pct = lambda v: "-" if v is None else f"{100 * v:.1f}%"  # noqa: E731
    table = Table(title=f"newsroom: {r['articles']} articles audited through the pipeline ({r['seconds']['total']:.0f} s)")
    for col in ("set", "held out", "n", "judged MT", "suspected", "abstained", "sentences flagged", "s/article"):
        table.add_column(col, justify="left" if col in ("set", "held out") else "right")
    for name, s in r["sets"].items():
        held = "yes" if s["in_sample"] == 0 else "in-sample" if s["held_out_n"] == 0 else f"{s['held_out_n']} of {s['n']}"
        table.add_row(name, held, str(s["n"]), pct(s["judged_mt"]), pct(s["suspected"]), pct(s["abstained"]),
                      pct(s["sentences_flagged"]), num(s["seconds_per_article"], 2))
    for key, what in (("originals_story", "pooled held-out originals, in stories"), ("originals_alone", "pooled held-out originals, alone"),
                      ("originals_all", "pooled held-out originals"), ("mt", "pooled held-out MT"), ("human", "pooled human translation")):
        s = r["pooled"][key]
        table.add_row(f"[bold]{what}[/bold]", "", str(s["n"]), pct(s["judged_mt"]), pct(s["suspected"]), pct(s["abstained"]),
                      pct(s["sentences_flagged"]), num(s["seconds_per_article"], 2))
    out.print(table)
    p = r["precision"]["judged_mt"]
    fpr = p["fpr"]
    table = Table(title="precision a reader sees (judged machine-translated); FPR from all held-out originals: "
                        + ", ".join(f"{k} {pct(v['rate'])} ({v['k']}/{v['n']}, 95% up to {pct(v['wilson95'][1])})" for k, v in fpr.items()))
    for col in ("MT set", "caught", "precision at 2%", "at 2%, conservative", "precision at 10%", "at 10%, conservative"):
        table.add_column(col, justify="left" if col == "MT set" else "right")
    for name, t in p["tpr"].items():
        at = [p["at_prevalence"][str(prev)]["fpr_all"][name] for prev in (0.02, 0.1)]
        label = name + (" (in-sample)" if t.get("in_sample") else "")
        table.add_row(label, f"{pct(t['rate'])} ({t['k']}/{t['n']})", pct(at[0]["precision"]), pct(at[0]["conservative"]),
                      pct(at[1]["precision"]), pct(at[1]["conservative"]))
    out.print(table)
    table = Table(title="false alarms against detections by threshold on the verdict probability")
    for col in ("threshold", "originals above", "in stories", "alone", "MT above", "human above"):
        table.add_column(col, justify="right")
    for row in r["curve"]:
        table.add_row(f"{row['threshold']:g}", pct(row["originals"]), pct(row["originals_story"]), pct(row["originals_alone"]),
                      pct(row["mt"]), pct(row["human"]))
    out.print(table)
    mh = r["mt_vs_human"]
    out.print(f"MT vs human translation of the same lines: AUROC {num(mh['auroc'])} on {mh['windows']} window pairs ("
              + ", ".join(f"{k} {num(v['auroc'])}" for k, v in mh["by_pair"].items()) + f"); originals vs MT AUROC {num(mh['original_vs_mt_auroc'])}")
    cal = r["calibration"]
    table = Table(title=f"calibration error (ECE, 10 bins) on held-out rows, classes weighted to the prior; as-is = calibrated for mt_prior {cal['base_prior']:g}")
    for col in ("rows", "n", "prior", "ECE as-is", "ECE moved to the prior"):
        table.add_column(col, justify="left" if col == "rows" else "right")
    for group in ("all_held_out", "original_vs_mt"):
        for prior in ("0.02", "0.1", "0.5"):
            c = cal[group][prior]
            table.add_row(group, str(cal[group]["n"]), prior, num(c["as_is"]), num(c["moved"]))
    out.print(table)
    for nb in r["not_built"]:
        err.print(f"[yellow]not built[/yellow]: {escape(nb['set'])}: {escape(nb['reason'])}")
    for note in r["notes"]:
        err.print(f"[yellow]note[/yellow]: {escape(note)}")
    if not r["levels_reported"]:
        err.print("[yellow]note[/yellow]: the reports carry no verdict level: 'suspected' is not measured (judged MT = machine_translated)")
