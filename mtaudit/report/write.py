"""Writing an audit's files: each article's JSON (the contract), Markdown and HTML, the batch summary; cleaning a folder.

Every file is written atomically; the JSON follows ``schema/report.schema.json``.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

from mtaudit.base import atomic
from mtaudit.report import html
from mtaudit.report.contract import summary_frame
from mtaudit.report.markdown import markdown

REPORT_FILE = re.compile(r"^[0-9a-f]{16}\.json$")  # <article_id>.json: one article's report, written last
ARTICLE_FILE = re.compile(r"^[0-9a-f]{16}\.(json|md|html)$")
SUMMARY_FILES = ("summary.csv", "summary.parquet", "summary.json")
INDEX_FILE = "index.html"


def write_article(report: dict[str, Any], out: Path, formats: tuple[str, ...] = ("json", "md")) -> list[Path]:
    """Write one article's report files; the JSON lands last, so its presence means 'done'."""
    out = Path(out)
    written = []
    if "md" in formats:
        atomic.write_text(out / f"{report['article_id']}.md", markdown(report))
        written.append(out / f"{report['article_id']}.md")
    if "html" in formats:
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
