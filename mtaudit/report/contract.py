"""The report contract: the per-article JSON's schema, and what a summary row or an index needs of a report."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from mtaudit.stages.detect import LEVELS
from mtaudit.stages.severity import SEVERITIES

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "report.schema.json"


SUMMARY_COLUMNS = [
    "article_id", "source", "title", "date", "story_id", "status", "level", "machine_translated", "probability",
    "abstained", "pivot_language", "sentences", "flagged_sentences", "spans", "critical_spans", "major_spans", "minor_spans",
    "mean_chrf", "mean_bleu", "mean_ter", "mean_semantic", "mean_quality",
]


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text())


def validate(report: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError if a report breaks the contract."""
    import jsonschema  # jsonschema: only validation pays its import

    jsonschema.validate(report, schema())


def level(verdict: dict[str, Any]) -> str:
    """The verdict's level (:data:`mtaudit.stages.detect.LEVELS`). Without the field (reports written before levels,
    the nightly state's rows) it follows from the others: only a suspected verdict is null without abstaining."""
    if verdict.get("level") in LEVELS:
        return str(verdict["level"])
    if verdict.get("abstained"):
        return "abstained"
    mt = verdict.get("machine_translated")
    return "suspected" if mt is None else ("machine_translated" if mt else "original")


def rank(report: dict[str, Any]) -> tuple[int, float]:
    """Sort key of an index: evidence-backed verdicts first, then suspected, undecided, original; likelier first."""
    v = report["verdict"]
    return list(LEVELS).index(level(v)), -(v["probability"] or 0.0)


def summary_row(report: dict[str, Any]) -> dict[str, Any]:
    sents = report["sentences"]

    def mean(key: str) -> float | None:
        vals = [s["scores"][key] for s in sents if s["scores"].get(key) is not None]
        return round(sum(vals) / len(vals), 4) if vals else None

    v = report["verdict"]
    grades = [sp.get("severity") for s in sents for sp in s["spans"]]
    return {
        "article_id": report["article_id"], "source": report["source"], "title": report["title"],
        "date": report["date"], "story_id": report["story_id"], "status": "audited", "level": level(v),
        "machine_translated": v["machine_translated"], "probability": v["probability"],
        "abstained": v["abstained"], "pivot_language": v["pivot_language"],
        "sentences": len(sents), "flagged_sentences": sum(s["flagged"] for s in sents),
        "spans": sum(len(s["spans"]) for s in sents),
        **{f"{g}_spans": grades.count(g) for g in reversed(SEVERITIES)},  # 0 in reports written before severities
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
