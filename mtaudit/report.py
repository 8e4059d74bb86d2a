"""Report writing: per-article JSON (the contract), Markdown, and the batch summary.

Every file is written atomically; the JSON follows ``schema/report.schema.json``.
"""

from __future__ import annotations

import io
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from mtaudit import atomic

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "report.schema.json"
SUMMARY_COLUMNS = [
    "article_id", "source", "title", "date", "story_id", "status", "machine_translated", "probability",
    "abstained", "pivot_language", "sentences", "flagged_sentences", "spans",
    "mean_chrf", "mean_bleu", "mean_ter", "mean_semantic", "mean_quality",
]
REPORT_FILE = re.compile(r"^[0-9a-f]{16}\.json$")  # <article_id>.json: one article's report, written last
ARTICLE_FILE = re.compile(r"^[0-9a-f]{16}\.(json|md|html)$")
SUMMARY_FILES = ("summary.csv", "summary.parquet", "summary.json")
INDEX_FILE = "index.html"


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text())


def validate(report: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError if a report breaks the contract."""
    import jsonschema

    jsonschema.validate(report, schema())


def summary_row(report: dict[str, Any]) -> dict[str, Any]:
    sents = report["sentences"]

    def mean(key: str) -> float | None:
        vals = [s["scores"][key] for s in sents if s["scores"].get(key) is not None]
        return round(sum(vals) / len(vals), 4) if vals else None

    v = report["verdict"]
    return {
        "article_id": report["article_id"], "source": report["source"], "title": report["title"],
        "date": report["date"], "story_id": report["story_id"], "status": "audited",
        "machine_translated": v["machine_translated"], "probability": v["probability"],
        "abstained": v["abstained"], "pivot_language": v["pivot_language"],
        "sentences": len(sents), "flagged_sentences": sum(s["flagged"] for s in sents),
        "spans": sum(len(s["spans"]) for s in sents),
        "mean_chrf": mean("chrf"), "mean_bleu": mean("bleu"), "mean_ter": mean("ter"),
        "mean_semantic": mean("semantic"), "mean_quality": mean("quality"),
    }


def slim(report: dict[str, Any]) -> dict[str, Any]:
    """What the batch summary and the index page need of a report once its files are written.

    Sentence texts, references and repairs go (they are most of a report's memory); the
    verdict, the flags, the spans and the scores stay, so ``summary_row`` and
    ``html.index_page`` give the same output from either.
    """
    keep = ("index", "flagged", "spans", "scores")
    return {**report, "sentences": [{k: s[k] for k in keep} for s in report["sentences"]]}


def summary_frame(reports: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame([summary_row(r) for r in reports], columns=SUMMARY_COLUMNS)


def flagged_by(sentence: dict[str, Any]) -> list[str]:
    """What flagged a report sentence; reports written before the sentence model could flag carry no ``flagged_by``."""
    return sentence.get("flagged_by") or (["spans"] if sentence["flagged"] else [])


def md_text(text: str) -> str:
    """Article text made inert in Markdown: renderers pass raw HTML through, so a title "<script>..." must not be a tag."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def markdown(report: dict[str, Any]) -> str:
    """A readable page: verdict and reasons, then each flagged sentence with its evidence.

    Text that comes from the article (title, sentences, spans' reasons, references) is escaped
    with :func:`md_text`; ids and paths sit in code spans, where Markdown reads nothing.
    """
    v = report["verdict"]
    verdict = "abstained" if v["abstained"] else ("machine-translated" if v["machine_translated"] else "not machine-translated")
    n_flagged = sum(s["flagged"] for s in report["sentences"])
    lines = [
        f"# {md_text(report['title'] or report['source'])}",
        "",
        f"- article: `{report['article_id']}` from `{report['source']}`" + (f", dated {report['date']}" if report["date"] else ""),
        f"- story: `{report['story_id']}`" if report["story_id"] else "- story: no other coverage in this batch; reference-free signals only",
        f"- verdict: **{verdict}** (probability {v['probability']:.2f})" + (f", pivot language guess: {v['pivot_language']}" if v["pivot_language"] else ""),
        f"- flagged sentences: {n_flagged} of {len(report['sentences'])}",
        "",
    ]
    if v["reasons"]:
        lines += ["## Why", ""] + [f"- {md_text(r)}" for r in v["reasons"]] + [""]
    flagged = [s for s in report["sentences"] if s["flagged"] or s["spans"]]
    lines += ["## Sentences with evidence", ""] if flagged else ["No sentence carries evidence of machine translation.", ""]
    for s in flagged:
        by = flagged_by(s)
        model_p = f", sentence model p={s['model_probability']:.2f}" if s.get("model_probability") is not None else ""
        lines.append(f"### Sentence {s['index']}" + (f" (flagged by {' and '.join(by)})" if s["flagged"] else "")
                     + f", spans p={s['mt_probability']:.2f}{model_p}")
        lines += ["", f"> {md_text(s['text'])}", ""]
        if s["flagged"] and not s["spans"]:  # the sentence model's flag names no words: say so, and what to read it against
            against = "read it against the references below" if s["references"] else "no other outlet has a sentence like it"
            lines.append(f"- no span names the damage: the detector's sentence model, reading the sentence alone, "
                         f"calls it machine-translated ({s.get('model_probability') or 0:.2f}); {against}")
        for sp in s["spans"]:
            sug = f" -> **{md_text(sp['suggestion'])}**" if sp["suggestion"] else ""
            sup = f" (backed by {', '.join(sp['support'])})" if sp["support"] else ""
            lines.append(f"- `{sp['text']}`{sug} [{sp['kind']}]{sup}: {md_text(sp['reason'])}")
        if s["repaired"]:
            lines += ["", f"Repaired: {md_text(s['repaired'])}"]
        for ref in s["references"]:
            lines.append(f"- reference ({ref['similarity']:.2f}, `{ref['source']}`): {md_text(ref['text'])}")
        sc = s["scores"]
        if sc.get("chrf") is not None:
            lines.append(
                f"- scores: chrF++ {sc['chrf']:.1f}, BLEU {sc['bleu']:.1f}, TER {sc['ter']:.1f}, semantic {sc['semantic']:.2f}, quality {sc['quality']:.2f}"
            )
        lines.append("")
    lines += ["---", "", f"Signature: `{report['signature']}`", ""]
    return "\n".join(lines)


def write_article(report: dict[str, Any], out: Path, formats: tuple[str, ...] = ("json", "md")) -> list[Path]:
    """Write one article's report files; the JSON lands last, so its presence means 'done'."""
    out = Path(out)
    written = []
    if "md" in formats:
        atomic.write_text(out / f"{report['article_id']}.md", markdown(report))
        written.append(out / f"{report['article_id']}.md")
    if "html" in formats:
        from mtaudit import html

        atomic.write_text(out / f"{report['article_id']}.html", html.article_page(report))
        written.append(out / f"{report['article_id']}.html")
    atomic.write_json(out / f"{report['article_id']}.json", report)
    written.append(out / f"{report['article_id']}.json")
    return written


def write_summary(reports: list[dict[str, Any]], problems: list[dict[str, Any]], out: Path, meta: dict[str, Any]) -> None:
    """summary.csv and summary.parquet (one row per article) and summary.json (with problems)."""
    frame = summary_frame(reports)
    atomic.write_text(Path(out) / "summary.csv", frame.to_csv(index=False))
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    atomic.write_bytes(Path(out) / "summary.parquet", buf.getvalue())
    atomic.write_json(Path(out) / "summary.json", {**meta, "articles": frame.to_dict(orient="records"), "problems": problems})


def report_ids(folder: Path) -> set[str]:
    """The article ids with a ``<article_id>.json`` report in ``folder`` (none when there is no folder)."""
    folder = Path(folder)
    if not folder.is_dir():
        return set()
    return {p.name[:-5] for p in folder.iterdir() if REPORT_FILE.match(p.name) and p.is_file()}


def outputs(folder: Path) -> list[Path]:
    """The files an audit writes in ``folder``: article reports and pages, the summary, the index.

    Only these names, so cleaning a folder never touches what someone else keeps there
    (inputs, notes, a nightly job's ``runs/``).
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    names = set(SUMMARY_FILES) | {INDEX_FILE}
    return sorted(p for p in folder.iterdir() if (ARTICLE_FILE.match(p.name) or p.name in names) and p.is_file())


def clean(folder: Path) -> list[Path]:
    """Remove an earlier run's files (:func:`outputs`) so the folder holds this run's alone; returns what went."""
    removed = []
    for path in outputs(folder):
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def recorded_summary(folder: Path) -> dict[str, Any]:
    """The ``summary.json`` an audit left in ``folder``, or {} when there is none or it cannot be read."""
    try:
        obj = json.loads((Path(folder) / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return obj if isinstance(obj, dict) else {}


def rewrite_summary(reports: list[dict[str, Any]], folder: Path, out: Path, version: str) -> list[Path]:
    """Write the summary of ``reports`` (a folder's, as ``mtaudit report`` ranks them) to ``out``.

    An audit's summary lists only that run's articles; a folder that also holds an earlier run's
    reports would then disagree with its own index. The problems and inputs the audit recorded in
    ``folder``'s summary.json are kept: the reports cannot tell which inputs failed.
    """
    old = recorded_summary(folder)
    problems = [p for p in old.get("problems") or [] if isinstance(p, dict)]
    signatures = sorted({r["signature"] for r in reports})
    meta = {
        "version": version,
        "signature": signatures[0] if len(signatures) == 1 else None,  # None: the reports come from differently configured runs
        "inputs": old.get("inputs") if isinstance(old.get("inputs"), list) else [],
        "rewritten_by": "mtaudit report",
    }
    write_summary(reports, problems, out, meta)
    return [Path(out) / name for name in SUMMARY_FILES]
