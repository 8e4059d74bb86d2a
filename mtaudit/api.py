"""The Python API: audit articles, or load a reports folder, and get pandas DataFrames back.

``audit`` runs the one audit path (``mtaudit.stages.pipeline.audit``); ``load_reports`` reads the
``<article_id>.json`` files an earlier audit wrote. Both hand their report dicts to ``frames``,
the only code that turns reports into tables, so a notebook on fresh results and a notebook on
last night's folder see the same columns.

Example::

    import mtaudit
    res = mtaudit.audit(["seeds/"])            # or mtaudit.load_reports("reports/")
    res.articles.sort_values("probability", ascending=False)
    res.sentences[res.sentences.flagged]
    res.spans.groupby("kind").weight.sum()

Columns (stable: new columns may be added, a column's meaning never changes silently).

``Result.articles``, one row per audited article:
  article_id (str), source (str: file name, file:line or URL), title (str|None), date (str|None),
  story_id (str|None: None when no other article of the batch covers the story), status ("audited"),
  level (str: machine_translated, judged on evidence a person can check; suspected, the style alone reads as
  translated; abstained; original), machine_translated (pandas nullable boolean: True only when judged; <NA> when
  abstained or suspected), probability (float 0..1, the article's MT
  probability), abstained (bool), pivot_language (str|None), sentences (int), flagged_sentences (int),
  spans (int: evidence spans), critical_spans, major_spans, minor_spans (int: spans of each severity; 0 in reports
  written before severities), mean_chrf, mean_bleu, mean_ter (float: sentence means, NaN without references),
  mean_semantic, mean_quality (float 0..1, NaN without references), method (str: how the verdict was reached),
  reasons (list[str]: the verdict's reasons), story_articles (list[str]: the other articles of the
  story), signature (str: how the verdict was computed).

``Result.sentences``, one row per sentence of every article:
  article_id, source, index (int: sentence number in its article, from 0), position (float 0..1:
  index / (sentences - 1), where in the article it sits), start, end (int: character offsets into the
  article text as ingested), text (str), flagged (bool: by spans, or by the sentence model in an
  article judged machine-translated), flagged_by_model (bool), mt_probability (float 0..1: from the
  spans), model_probability (float 0..1, NaN without a detector: the detector's sentence model; in an article judged
  machine-translated, its variant that also reads SmolLM2 surprisal, unless sentence_lm is off), n_spans (int),
  severity (str|None: the most severe of its spans, minor, major or critical), error_points (float: MQM-style points
  of its spans, minor 1, major 5, critical 25; NaN in reports written before severities),
  chrf, bleu, ter (float, NaN without references: chrF and BLEU 0..100, TER 0 up, an edit rate that passes 100
  for a sentence far from its references; lower is better), semantic,
  quality (float 0..1, NaN without references), n_references (int), best_reference (str|None: the most similar
  reference), best_reference_source (str|None), best_reference_article_id (str|None),
  best_reference_similarity (float, NaN without references), repaired (str|None: the sentence with supported
  suggestions applied; None when no repair is supported).

``Result.spans``, one row per evidence span:
  article_id, source, sentence_index (int), start, end (int: offsets into the article text),
  text (str), kind (str: name_mismatch, name_as_word, collocation, rare_word, case, ...),
  severity (str|None: minor, major or critical, graded as MQM grades an error; ``mtaudit.stages.severity``),
  weight (float 0..1: how strongly it alone suggests MT), reason (str), suggestion (str|None: what
  the other outlets write), support (list[str]: article ids of the outlets that back the
  suggestion), n_support (int).

``Result.references``, one row per reference of every sentence (the side-by-side view):
  article_id, sentence_index, rank (int: 0 is the most similar), text, ref_source,
  ref_article_id (str|None), ref_sentence_index (nullable Int64), similarity (float).

Number columns are float64 whatever the batch (NaN where a value is missing: a sentence with no
reference has no chrF), so their type does not depend on the data.

``Result.reports`` holds the report dicts themselves (the JSON contract) and ``Result.problems``
the inputs that could not be audited or read (``mtaudit.base.types.Problem``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from mtaudit.base.settings import load_settings
from mtaudit.base.types import Problem
from mtaudit.report import REPORT_FILE, flagged_by, summary_row
from mtaudit.report import validate as check
from mtaudit.stages import ingest, pipeline

if TYPE_CHECKING:
    from mtaudit.base.settings import Settings
    from mtaudit.stages.pipeline import Progress

ARTICLE_COLUMNS = [
    "article_id",
    "source",
    "title",
    "date",
    "story_id",
    "status",
    "level",
    "machine_translated",
    "probability",
    "abstained",
    "pivot_language",
    "sentences",
    "flagged_sentences",
    "spans",
    "critical_spans",
    "major_spans",
    "minor_spans",
    "mean_chrf",
    "mean_bleu",
    "mean_ter",
    "mean_semantic",
    "mean_quality",
    "method",
    "reasons",
    "story_articles",
    "signature",
]
SENTENCE_COLUMNS = [
    "article_id",
    "source",
    "index",
    "position",
    "start",
    "end",
    "text",
    "flagged",
    "flagged_by_model",
    "mt_probability",
    "model_probability",
    "n_spans",
    "severity",
    "error_points",
    "chrf",
    "bleu",
    "ter",
    "semantic",
    "quality",
    "n_references",
    "best_reference",
    "best_reference_source",
    "best_reference_article_id",
    "best_reference_similarity",
    "repaired",
]
SPAN_COLUMNS = [
    "article_id",
    "source",
    "sentence_index",
    "start",
    "end",
    "text",
    "kind",
    "severity",
    "weight",
    "reason",
    "suggestion",
    "support",
    "n_support",
]
REFERENCE_COLUMNS = [
    "article_id",
    "sentence_index",
    "rank",
    "text",
    "ref_source",
    "ref_article_id",
    "ref_sentence_index",
    "similarity",
]
_MAX_PATH = 4096


@dataclass
class Result:
    """Reports plus their tables; build it with ``audit``, ``load_reports`` or ``from_reports``."""
    reports: list[dict[str, Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    articles: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ARTICLE_COLUMNS))
    sentences: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SENTENCE_COLUMNS))
    spans: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SPAN_COLUMNS))
    references: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=REFERENCE_COLUMNS))

    def report(self, key: str) -> dict[str, Any]:
        """One report by article id, or by a unique prefix of its id or of its source's file name."""
        hits = [r for r in self.reports if r["article_id"] == key]
        if not hits:
            hits = [r for r in self.reports if r["article_id"].startswith(key) or _name(r["source"]).startswith(key)]
        if len(hits) != 1:
            raise KeyError(f"{key!r} matches {len(hits)} reports")
        return hits[0]

    def __repr__(self) -> str:
        flagged = int(self.articles["machine_translated"].eq(True).sum()) if len(self.articles) else 0
        return (
            f"Result({len(self.reports)} articles, {flagged} machine-translated, {len(self.sentences)} sentences, "
            f"{len(self.spans)} spans, {len(self.problems)} problems)"
        )


def _name(source: str) -> str:
    return source.rstrip("/").rsplit("/", 1)[-1]


def frames(reports: list[dict[str, Any]]) -> dict[str, pd.DataFrame]:
    """The one place report dicts become tables: articles, sentences, spans and references."""
    arts, sents, spans, refs = [], [], [], []
    for rep in reports:
        v = rep["verdict"]
        arts.append(
            {
                **summary_row(rep),
                "method": v.get("method"),
                "reasons": list(v.get("reasons", [])),
                "story_articles": list(rep.get("story_articles", [])),
                "signature": rep.get("signature"),
            }
        )
        aid, src, n = rep["article_id"], rep["source"], len(rep["sentences"])
        for s in rep["sentences"]:
            best = max(s["references"], key=lambda r: r["similarity"], default=None)
            sc = s["scores"]
            sents.append(
                {
                    "article_id": aid,
                    "source": src,
                    "index": s["index"],
                    "position": s["index"] / (n - 1) if n > 1 else 0.0,
                    "start": s["start"],
                    "end": s["end"],
                    "text": s["text"],
                    "flagged": bool(s["flagged"]),
                    "flagged_by_model": "sentence model" in flagged_by(s),
                    "mt_probability": s["mt_probability"],
                    "model_probability": s.get("model_probability"),
                    "n_spans": len(s["spans"]),
                    "severity": s.get("severity"),
                    "error_points": s.get("error_points"),
                    "chrf": sc.get("chrf"),
                    "bleu": sc.get("bleu"),
                    "ter": sc.get("ter"),
                    "semantic": sc.get("semantic"),
                    "quality": sc.get("quality"),
                    "n_references": len(s["references"]),
                    "best_reference": best["text"] if best else None,
                    "best_reference_source": best["source"] if best else None,
                    "best_reference_article_id": best.get("article_id") if best else None,
                    "best_reference_similarity": best["similarity"] if best else None,
                    "repaired": s["repaired"],
                }
            )
            for sp in s["spans"]:
                spans.append(
                    {
                        "article_id": aid,
                        "source": src,
                        "sentence_index": s["index"],
                        "start": sp["start"],
                        "end": sp["end"],
                        "text": sp["text"],
                        "kind": sp["kind"],
                        "severity": sp.get("severity"),
                        "weight": sp.get("weight"),
                        "reason": sp.get("reason"),
                        "suggestion": sp["suggestion"],
                        "support": list(sp["support"]),
                        "n_support": len(sp["support"]),
                    }
                )
            ranked = sorted(s["references"], key=lambda r: -r["similarity"])
            for rank, r in enumerate(ranked):
                refs.append(
                    {
                        "article_id": aid,
                        "sentence_index": s["index"],
                        "rank": rank,
                        "text": r["text"],
                        "ref_source": r["source"],
                        "ref_article_id": r.get("article_id"),
                        "ref_sentence_index": r.get("sentence_index"),
                        "similarity": r["similarity"],
                    }
                )
    return {
        "articles": _frame(
            arts, ARTICLE_COLUMNS,
            {"machine_translated": "boolean", "probability": "float64", "abstained": "bool", "sentences": "int64",
             "flagged_sentences": "int64", "spans": "int64",
             **dict.fromkeys(("critical_spans", "major_spans", "minor_spans"), "int64"), **dict.fromkeys(("mean_chrf", "mean_bleu", "mean_ter",
                                                                             "mean_semantic", "mean_quality"), "float64")},
        ),
        "sentences": _frame(
            sents,
            SENTENCE_COLUMNS,
            {
                "index": "int64",
                "position": "float64",
                "start": "int64",
                "end": "int64",
                "flagged": "bool",
                "flagged_by_model": "bool",
                "mt_probability": "float64",
                "model_probability": "float64",
                "n_spans": "int64",
                "error_points": "float64",
                "n_references": "int64",
                **dict.fromkeys(("chrf", "bleu", "ter", "semantic", "quality", "best_reference_similarity"), "float64"),
            },
        ),
        "spans": _frame(
            spans, SPAN_COLUMNS, {"sentence_index": "int64", "start": "int64", "end": "int64", "weight": "float64", "n_support": "int64"}
        ),
        "references": _frame(refs, REFERENCE_COLUMNS,
                             {"sentence_index": "int64", "rank": "int64", "ref_sentence_index": "Int64", "similarity": "float64"}),
    }


def _frame(rows: list[dict[str, Any]], columns: list[str], dtypes: dict[str, str]) -> pd.DataFrame:
    """Fixed columns and dtypes, whatever the data: an empty batch has the shape of a full one, and a column with a
    missing value keeps its type (a float column NaN, ``machine_translated`` pandas' nullable boolean, so
    ``articles[articles.machine_translated]`` works when an article abstains; it was object then, and raised)."""
    frame = pd.DataFrame(rows, columns=columns)
    nullable = {"int64": "Int64", "bool": "boolean"}  # never missing in reports; nullable if a hand-edited one is
    texts = {k: "str" for k in columns if k in STRING_COLUMNS}  # pandas infers str only when a value is there
    return frame.astype({**texts, **{k: nullable.get(v, v) if frame[k].isna().any() else v for k, v in dtypes.items()}})


# text columns (a string or missing): typed as pandas' str, present or not
STRING_COLUMNS = frozenset({
    "article_id", "source", "title", "date", "story_id", "status", "level", "pivot_language", "method", "signature", "text",
    "best_reference", "best_reference_source", "best_reference_article_id", "repaired", "kind", "reason",
    "suggestion", "ref_source", "ref_article_id", "severity",
})


def from_reports(reports: list[dict[str, Any]], problems: Iterable[Problem] = ()) -> Result:
    """Wrap report dicts (the JSON contract) into a Result with its tables."""
    reports = list(reports)
    return Result(reports=reports, problems=list(problems), **frames(reports))


def _split_inputs(paths_or_texts: str | Path | Iterable[str | Path]) -> tuple[list[str | Path], list[str]]:
    """Path objects, and strings that name an existing file or folder or look like a path, are inputs;
    other strings are article texts.

    A mistyped path was audited as a one-word article ("<text 0>: only 0 words of prose"); as a path it is
    reported as the CLI reports it, "no such file or folder" under its own name.
    """
    items = [paths_or_texts] if isinstance(paths_or_texts, str | Path) else list(paths_or_texts)
    paths: list[str | Path] = []
    texts: list[str] = []
    for item in items:
        if isinstance(item, Path):
            paths.append(item)
        elif not isinstance(item, str):
            raise TypeError(f"expected a path or an article text, got {type(item).__name__}")
        elif "\n" not in item and len(item) < _MAX_PATH and item.strip() and (Path(item).exists() or _looks_like_path(item)):
            paths.append(Path(item))
        else:
            texts.append(item)
    return paths, texts


def _looks_like_path(item: str) -> bool:
    """No whitespace (an article always has spaces) and no sentence end (Chinese prose has no spaces but
    ends in 。); or one line with a folder separator that ends in an article file's suffix."""

    if not any(c.isspace() for c in item):
        return not item.endswith(ingest._TERMINAL) or Path(item).suffix.lower() in ingest.ARTICLE_SUFFIXES - {""}
    return ("/" in item or "\\" in item) and Path(item).suffix.lower() in ingest.ARTICLE_SUFFIXES - {""}


def audit(
    paths_or_texts: str | Path | Iterable[str | Path],
    settings: Settings | None = None,
    progress: Progress | None = None,
    **changes: Any,
) -> Result:
    """Audit files, folders and raw article texts together (texts can share a story with files).

    ``settings`` defaults to the shipped defaults with the ``MTAUDIT_*`` environment variables over them, as the
    CLI reads them (``MTAUDIT_CACHE_DIR``, ``MTAUDIT_SENTENCE_LM=0``...), but no config file is read implicitly;
    keyword ``changes`` override single fields, e.g. ``audit(texts, sentence_threshold=0.6)``.
    """

    settings = settings or load_settings(default_file=False)
    if changes:
        settings = settings.replace(**changes)
    paths, texts = _split_inputs(paths_or_texts)
    result = pipeline.audit(paths, settings, texts=texts, progress=progress)
    return from_reports(result.reports, result.problems)


def load_reports(folder: str | Path, validate: bool = True) -> Result:
    """Read the ``<article_id>.json`` reports of a folder (summary.json and other files are skipped).

    A report that cannot be read or breaks the schema becomes a Problem, not an exception; the
    problems an audit recorded in ``summary.json`` come back too. Reports are ordered by source.
    """
    from jsonschema import ValidationError  # jsonschema: only validation pays its import

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no reports folder at {folder}")
    reports: list[dict[str, Any]] = []
    problems: list[Problem] = []
    for path in sorted(p for p in folder.iterdir() if REPORT_FILE.match(p.name)):
        try:
            rep = json.loads(path.read_text(encoding="utf-8"))
            if validate:
                check(rep)
        except ValidationError as exc:
            problems.append(Problem(str(path), "error", "E_SCHEMA", f"report breaks the schema: {_first_line(exc)}"))
            continue
        except (OSError, ValueError) as exc:  # JSONDecodeError is a ValueError
            problems.append(Problem(str(path), "error", "E_REPORT", f"unreadable report: {_first_line(exc)}"))
            continue
        reports.append(rep)
    summary = folder / "summary.json"
    if summary.exists():
        try:
            recorded = json.loads(summary.read_text(encoding="utf-8")).get("problems", [])
            problems = [Problem(**{k: p[k] for k in ("source", "level", "code", "message")}) for p in recorded] + problems
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            problems.append(Problem(str(summary), "warning", "W_SUMMARY", f"summary.json unreadable: {_first_line(exc)}"))
    reports.sort(key=lambda r: (r["source"], r["article_id"]))
    return from_reports(reports, problems)


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]
