"""HTML reports for people: one page per article and an index, rendered with jinja2.

Pages are self-contained (inline CSS, no script, no font or CDN), so a folder of reports can
be mailed, archived or opened offline. Every value from a report goes through jinja2's
autoescaping: this module builds plain data (text pieces and span dicts), never markup, so an
article that contains ``<script>`` shows it as text.

``chromium`` drives Debian's headless Chromium for the tests and the README screenshot.
"""

from __future__ import annotations

import difflib
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import jinja2
from markupsafe import Markup

from mtaudit.base import atomic
from mtaudit.base.version import __version__
from mtaudit.report.contract import flagged_by, level, rank, summary_row
from mtaudit.stages.detect import LEVEL_SHORT, LEVELS

TEMPLATES = Path(__file__).resolve().parent / "templates"
KIND_LABELS = {
    "name_mismatch": "name spelled otherwise",
    "name_as_word": "name read as a word",
    "name_order": "name turned inside out",
    "collocation": "broken set phrase",
    "wording": "word the other outlets replace",
    "rare_word": "word unknown in English",
    "case": "odd capitalisation",
    "capitalisation": "odd capitalisation",
    "foreign_leftover": "leftover of another language",
    "pronoun_gender": "pronoun of the wrong gender",
    "day_of_month": "day of the month with no month",
    "calque": "Chinese news phrasing, word for word",
    "romance_calque": "Romance construction, word for word",
    "lm_spike": "surprising to a language model",
}
SCORE_LABELS = {"chrf": "chrF++", "bleu": "BLEU", "ter": "TER", "semantic": "semantic", "quality": "quality"}
_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")
_CLASS = re.compile(r"[^a-z0-9_-]")


# The badge class of each verdict level (style.css colours them).
LEVEL_CLASS = {"machine_translated": "mt", "suspected": "suspect", "abstained": "abstain", "original": "ok"}


@lru_cache(maxsize=1)
def env() -> jinja2.Environment:
    """The template environment: autoescape on everywhere, undefined names are errors."""
    e = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    e.filters["num"] = _num
    return e


def _num(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def outlet(source: str) -> str:
    """A short outlet name for a source: the host of a URL, the file name of a path."""
    if "://" in source:
        return urlparse(source).netloc or source
    return source.rstrip("/").rsplit("/", 1)[-1]


def named_source(report: dict[str, Any]) -> str:
    """What to call a report's article: the outlet a JSONL row names ("Reuters"), else its source."""
    return str((report.get("meta") or {}).get("outlet") or report["source"])


def source_map(reports: Iterable[dict[str, Any]]) -> dict[str, str]:
    """article_id -> source (or outlet, see ``named_source``), from the reports and the references they cite."""
    out: dict[str, str] = {}
    for rep in reports:
        for s in rep["sentences"]:
            for ref in s["references"]:
                if ref.get("article_id"):
                    out.setdefault(ref["article_id"], ref["source"])
        out[rep["article_id"]] = named_source(rep)
    return out


def segments(sentence: dict[str, Any]) -> list[dict[str, Any]]:
    """Cut a sentence into pieces of text, each with the spans that cover it (overlaps allowed).

    Span offsets are into the article; a span whose offsets do not point at its text inside the
    sentence (a report edited by hand, say) is placed by searching its text, or left out.
    """
    text, base = sentence["text"], sentence["start"]
    placed: list[tuple[int, int, dict[str, Any]]] = []
    for sp in sentence["spans"]:
        a, b = sp["start"] - base, sp["end"] - base
        if not (0 <= a < b <= len(text) and text[a:b] == sp["text"]):
            a = text.find(sp["text"]) if sp["text"] else -1
            if a < 0:
                continue
            b = a + len(sp["text"])
        placed.append((a, b, sp))
    cuts = sorted({0, len(text)} | {a for a, _, _ in placed} | {b for _, b, _ in placed})
    pieces: list[dict[str, Any]] = []
    for a, b in zip(cuts, cuts[1:]):
        cover = [sp for x, y, sp in placed if x <= a and b <= y]
        if pieces and [id(s) for s in pieces[-1]["spans"]] == [id(s) for s in cover]:
            pieces[-1]["text"] += text[a:b]
        else:
            pieces.append({"text": text[a:b], "spans": cover})
    for piece in pieces:
        piece["kinds"] = " ".join(sorted({_CLASS.sub("-", sp["kind"].lower()) for sp in piece["spans"]}))
    return pieces


def diff(before: str, after: str) -> list[dict[str, str]]:
    """Word-level pieces of a repair: {"op": "same"|"del"|"ins", "text": ...}.

    Changes separated only by whitespace are one change, so "Beit Higseth" -> "Pete Hegseth"
    reads as one replacement, not two interleaved ones.
    """
    a, b = _TOKEN.findall(before), _TOKEN.findall(after)
    ops = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    out: list[dict[str, str]] = []
    old: list[str] = []
    new: list[str] = []

    def flush() -> None:
        if old:
            out.append({"op": "del", "text": "".join(old)})
        if new:
            out.append({"op": "ins", "text": "".join(new)})
        old.clear()
        new.clear()

    for n, (op, i1, i2, j1, j2) in enumerate(ops):
        if op != "equal":
            old.extend(a[i1:i2])
            new.extend(b[j1:j2])
            continue
        same = "".join(a[i1:i2])
        if (old or new) and not same.strip() and n + 1 < len(ops):
            old.append(same)
            new.append(same)
            continue
        flush()
        out.append({"op": "same", "text": same})
    flush()
    return out


def _tip(sp: dict[str, Any], sources: dict[str, str]) -> str:
    label = KIND_LABELS.get(sp["kind"], sp["kind"].replace("_", " "))
    parts = [f"{label} ({sp['severity']})" if sp.get("severity") else label]
    if sp.get("suggestion"):  # backed by other outlets, or a fix English itself gives ("its" for China's "her")
        parts.append(f"{'others write' if sp.get('support') else 'English writes'} “{sp['suggestion']}”")
    if sp.get("support"):
        parts.append("backed by " + ", ".join(outlet(sources.get(a, a)) for a in sp["support"]))
    return " · ".join(parts)


def flag_probability(sentence: dict[str, Any]) -> float:
    """The probability behind a sentence's flag, the one a reader should see beside it.

    A sentence the detector's sentence model flagged may have no span at all (spans' probability
    0.0), so the spans' probability alone reads as "no evidence" next to a flag: where the model
    flagged the sentence its probability counts too, whichever of the two is larger.
    """
    p = float(sentence["mt_probability"])
    model = sentence.get("model_probability")
    if model is not None and "sentence model" in flagged_by(sentence):
        p = max(p, float(model))
    return p


def _flag_tip(sentence: dict[str, Any]) -> str:
    """Hover text for a sentence's probability: what flagged it and both probabilities."""
    by = flagged_by(sentence)
    parts = [("flagged by " + " and ".join(by)) if sentence["flagged"] and by else "not flagged", f"spans {sentence['mt_probability']:.2f}"]
    if sentence.get("model_probability") is not None:
        parts.append(f"sentence model {sentence['model_probability']:.2f}")
    return " · ".join(parts)


def _article_view(report: dict[str, Any], sources: dict[str, str]) -> dict[str, Any]:
    """Everything the article template shows, as plain data."""
    v = report["verdict"]
    lv = level(v)
    verdict, cls = LEVELS[lv], LEVEL_CLASS[lv]
    sentences = []
    for s in report["sentences"]:
        pieces = segments(s)
        for piece in pieces:
            piece["tips"] = " | ".join(_tip(sp, sources) for sp in piece["spans"])
        spans = [
            {
                **sp,
                "severity": sp.get("severity"),  # None in reports written before severities
                "label": KIND_LABELS.get(sp["kind"], sp["kind"].replace("_", " ")),
                "kind_class": _CLASS.sub("-", sp["kind"].lower()),
                "outlets": [{"id": a, "name": outlet(sources.get(a, a))} for a in sp["support"]],
            }
            for sp in s["spans"]
        ]
        refs = [{**r, "outlet": outlet(sources.get(r.get("article_id") or "", r["source"]))}
                for r in sorted(s["references"], key=lambda r: -r["similarity"])]
        scores = [
            {
                "key": k,
                "label": label,
                "value": s["scores"].get(k),
                "digits": 1 if k in ("chrf", "bleu", "ter") else 2,
                "signature": report.get("signatures", {}).get(k, ""),
            }
            for k, label in SCORE_LABELS.items()
        ]
        sentences.append(
            {
                **s,
                "pieces": pieces,
                "span_rows": spans,
                "refs": refs,
                "score_rows": scores,
                "repair": diff(s["text"], s["repaired"]) if s["repaired"] else None,
                "evidence": bool(s["flagged"] or s["spans"]),
                "flagged_by": flagged_by(s),
                "model_probability": s.get("model_probability"),
                "flag_probability": flag_probability(s),
                "flag_tip": _flag_tip(s),
            }
        )
    kinds = sorted({sp["kind"] for s in report["sentences"] for sp in s["spans"]})
    return {
        "report": report,
        "title": report["title"] or outlet(named_source(report)),
        "verdict": verdict,
        "verdict_class": cls,
        "sentences": sentences,
        "evidence": [s for s in sentences if s["evidence"]],
        "flagged": sum(s["flagged"] for s in report["sentences"]),
        "legend": [{"kind": k, "kind_class": _CLASS.sub("-", k.lower()), "label": KIND_LABELS.get(k, k.replace("_", " "))} for k in kinds],
        "story": [{"id": a, "name": outlet(sources.get(a, a))} for a in report.get("story_articles", [])],
        "signatures": [{"label": "verdict", "value": report["signature"]}]
        + [{"label": SCORE_LABELS.get(k, k), "value": sig} for k, sig in report.get("signatures", {}).items()],
        "version": __version__,
    }


def article_page(report: dict[str, Any], sources: dict[str, str] | None = None) -> str:
    """One article's page: highlighted text, then each sentence with evidence beside its references."""
    sources = {**source_map([report]), **(sources or {})}
    return env().get_template("article.html.j2").render(**_article_view(report, sources))


_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")


@lru_cache(maxsize=1)
def scoped_css(scope: str = ".mtaudit-fragment") -> str:
    """The page stylesheet with every rule limited to ``scope``, so a fragment shown inside a
    notebook styles itself and leaves the notebook's own tables and fonts alone."""

    def rule(m: re.Match[str]) -> str:
        head = m.group(1).strip()
        if head.startswith("@"):
            return m.group(0)
        sels = [scope if s.strip() in (":root", "html", "body") else f"{scope} {s.strip()}" for s in head.split(",")]
        return f"\n{', '.join(sels)} {{{m.group(2)}}}"

    return _RULE.sub(rule, (TEMPLATES / "style.css").read_text(encoding="utf-8"))


def evidence_fragment(report: dict[str, Any], only_flagged: bool = False) -> str:
    """The evidence cards of one report as an HTML fragment with its own scoped <style> (for notebooks)."""
    view = _article_view(report, source_map([report]))
    if only_flagged:
        view["evidence"] = [s for s in view["evidence"] if s["flagged"]]
    return env().get_template("fragment.html.j2").render(**view, css=Markup(scoped_css()))  # our own file, not report data


def index_page(reports: list[dict[str, Any]]) -> str:
    """All articles, evidence-backed verdicts first (then suspected, undecided, original), likelier first within each."""
    rows = []
    for rep in sorted(reports, key=lambda r: (*rank(r), r["source"])):
        cls = LEVEL_CLASS[level(rep["verdict"])]
        evidence = [sp for s in rep["sentences"] for sp in s["spans"]]
        top = list({(sp["text"], sp["suggestion"]): sp for sp in sorted(evidence, key=lambda sp: sp.get("weight") or 0)}.values())[::-1][:3]
        rows.append(
            {
                **summary_row(rep),
                "href": f"{rep['article_id']}.html",
                "name": rep["title"] or outlet(named_source(rep)),
                "outlet": outlet(named_source(rep)),
                "verdict_class": cls,
                "verdict": LEVEL_SHORT[level(rep["verdict"])],
                "top": [
                    {"text": sp["text"], "suggestion": sp["suggestion"], "kind_class": _CLASS.sub("-", sp["kind"].lower())} for sp in top
                ],
            }
        )
    stories = {r["story_id"] for r in reports if r["story_id"]}
    signatures = sorted({r["signature"] for r in reports})
    return (
        env()
        .get_template("index.html.j2")
        .render(
            rows=rows,
            n=len(reports),
            n_mt=sum(r["verdict"]["machine_translated"] is True for r in reports),
            n_abstain=sum(r["verdict"]["abstained"] for r in reports),
            n_suspected=sum(level(r["verdict"]) == "suspected" for r in reports),
            n_stories=len(stories),
            signatures=signatures,
            version=__version__,
        )
    )


def write_index(reports: list[dict[str, Any]], out_dir: Path) -> Path:
    """Write ``index.html`` (atomically) next to the article pages."""
    path = Path(out_dir) / "index.html"
    atomic.write_text(path, index_page(reports))
    return path


def write_pages(reports: list[dict[str, Any]], out_dir: Path) -> list[Path]:
    """Every article page plus the index; supporting outlets are named across the whole batch."""
    sources = source_map(reports)
    written = []
    for rep in reports:
        path = Path(out_dir) / f"{rep['article_id']}.html"
        atomic.write_text(path, article_page(rep, sources))
        written.append(path)
    written.append(write_index(reports, out_dir))
    return written


CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-extensions",
    "--hide-scrollbars",
    "--mute-audio",
)


def find_chromium() -> str | None:
    """Debian's chromium (or a chromium/chrome on PATH); None when there is none."""
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def chromium(
    page: Path, dump_dom: bool = True, screenshot: Path | None = None, window: tuple[int, int] = (1280, 2000), timeout: float = 120.0
) -> str:
    """Open a local page in headless Chromium; return the DOM after load, and/or save a PNG.

    Each call gets a fresh profile folder, so nothing is shared between runs. Raises
    FileNotFoundError when no Chromium is installed and subprocess.TimeoutExpired past ``timeout``.
    """
    exe = find_chromium()
    if exe is None:
        raise FileNotFoundError("chromium not found (Debian: apt-get install chromium)")
    url = Path(page).resolve().as_uri()
    dom = ""
    with tempfile.TemporaryDirectory(prefix="mtaudit-chromium-") as profile:
        base = [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={window[0]},{window[1]}"]
        if dump_dom:
            run = subprocess.run([*base, "--dump-dom", url], capture_output=True, text=True, timeout=timeout, check=False)
            if run.returncode != 0 or not run.stdout.strip():
                raise RuntimeError(f"chromium --dump-dom failed ({run.returncode}): {run.stderr.strip()[-500:]}")
            dom = run.stdout
        if screenshot is not None:
            shot = Path(screenshot).resolve()
            shot.parent.mkdir(parents=True, exist_ok=True)
            run = subprocess.run([*base, f"--screenshot={shot}", url], capture_output=True, text=True, timeout=timeout, check=False)
            if run.returncode != 0 or not shot.exists():
                raise RuntimeError(f"chromium --screenshot failed ({run.returncode}): {run.stderr.strip()[-500:]}")
    return dom
