"""The run index: one page per night (JSON, Markdown, HTML) listing the feeds, the new articles flagged first, and the problems.

A night is the run that completes and the killed or failed runs since the last completed one (see mtaudit.nightly.state).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from mtaudit.base import atomic
from mtaudit.nightly.state import Item
from mtaudit.report import html
from mtaudit.report.contract import level, rank
from mtaudit.stages.detect import LEVEL_SHORT


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    """The report templates' folder, with jinja2's plain whitespace rules (the article pages trim blocks)."""
    return jinja2.Environment(loader=jinja2.FileSystemLoader(html.TEMPLATES), autoescape=True)


def result_row(rep: dict[str, Any], item: Item, recovered: bool = False) -> dict[str, Any]:
    """The state's summary of one report."""
    v = rep["verdict"]
    return {
        "article_id": rep["article_id"], "key": item.key, "feed": item.feed, "story_id": rep["story_id"],
        "machine_translated": None if v["machine_translated"] is None else int(v["machine_translated"]),
        "probability": v["probability"], "abstained": int(v["abstained"]), "sentences": len(rep["sentences"]),
        "flagged_sentences": sum(1 for s in rep["sentences"] if s["flagged"]), "title": rep["title"], "source": rep["source"],
        "recovered": recovered,
    }


def _order(row: dict[str, Any]) -> tuple[int, float, str]:
    """Evidence-backed verdicts first, then suspected, undecided, original; likelier first within each."""
    return (*rank({"verdict": row}), row["title"] or row["source"] or "")


def index_rows(results: list[dict[str, Any]], formats: tuple[str, ...]) -> list[dict[str, Any]]:
    """Flagged first, then abstentions, then the rest; each with links relative to ``<out>/runs/``."""
    page = "html" if "html" in formats else ("md" if "md" in formats else "json")
    rows = []
    for r in sorted(results, key=_order):
        rows.append({
            "article_id": r["article_id"], "title": r["title"], "source": r["source"], "feed": r["feed"], "story_id": r["story_id"],
            "machine_translated": None if r["machine_translated"] is None else bool(r["machine_translated"]),
            "probability": r["probability"], "abstained": bool(r["abstained"]), "sentences": r["sentences"],
            "flagged_sentences": r["flagged_sentences"], "reported_by": r["run_id"], "recovered": bool(r["recovered"]),
            "report": f"../{r['article_id']}.json", "page": f"../{r['article_id']}.{page}",
        })
    return rows


def _verdict(row: dict[str, Any]) -> str:
    return LEVEL_SHORT[level(row)]


def _night(doc: dict[str, Any]) -> list[str]:
    """The earlier runs this index covers (killed, or stopped on an error): why it lists what they met."""
    earlier = [r for r in doc.get("night", []) if r["run_id"] != doc["run_id"]]
    if not earlier:
        return []
    runs = ", ".join(f"{r['run_id']} ({r['status']})" for r in earlier)
    return [f"- this run completes a night of {len(earlier) + 1} runs: it covers the feeds, articles and problems of {runs} too"]


def _problem(p: dict[str, Any], run_id: str) -> str:
    met = f" (met by run {p['run_id']})" if p.get("run_id") and p["run_id"] != run_id else ""
    return f"- {p['level']}: {p['feed']}: {p['source']}: {p['message']} [{p['code']}]{met}"


def index_markdown(doc: dict[str, Any]) -> str:
    lines = [f"# mtaudit nightly run {doc['run_id']}", "",
             f"- started {doc['started_at']}, finished {doc['finished_at']}, exit code {doc['exit_code']}",
             *_night(doc),
             f"- {len(doc['articles'])} new articles, {doc['flagged']} flagged as machine-translated", "", "## Feeds", ""]
    lines += [f"- {f['line']}" for f in doc["feeds"]] + ["", "## Articles (flagged first)", ""]
    if doc["articles"]:
        lines += ["| verdict | probability | flagged sentences | story | article |", "|---|---|---|---|---|"]
        for a in doc["articles"]:
            title = (a["title"] or a["source"] or a["article_id"]).replace("|", "\\|")
            lines.append(f"| {_verdict(a)} | {a['probability']:.2f} | {a['flagged_sentences']}/{a['sentences']} | "
                         f"{a['story_id'] or '-'} | [{title}]({a['page']}) ([json]({a['report']})) |")
    else:
        lines.append("No new articles.")
    if doc["problems"]:
        lines += ["", "## Problems", ""] + [_problem(p, doc["run_id"]) for p in doc["problems"]]
    lines += ["", "---", "", f"Signature: `{doc['signature']}`", ""]
    return "\n".join(lines)


def write_index(out: Path, doc: dict[str, Any]) -> dict[str, str]:
    """``<out>/runs/<run_id>.json``, ``.md`` and ``.html``, each atomic; the JSON lands last."""
    runs = out / "runs"
    paths = {fmt: str(runs / f"{doc['run_id']}.{fmt}") for fmt in ("md", "html", "json")}
    atomic.write_text(Path(paths["md"]), index_markdown(doc))
    page = _env().get_template("nightly_index.html.j2").render(d=doc, verdict=_verdict)
    atomic.write_text(Path(paths["html"]), page)
    atomic.write_json(Path(paths["json"]), doc)
    return paths
