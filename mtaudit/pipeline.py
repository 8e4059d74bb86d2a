"""The audit, end to end: ingest -> segment -> stories -> align -> detect -> references -> score.

Plain functions over plain data. The CLI, the notebook, the nightly job and the engines
all call ``audit_articles``; nothing here prints or writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtaudit import __version__, align, detect, ingest, reference, score, signals, stories
from mtaudit.settings import Settings
from mtaudit.types import Article, Problem

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class AuditResult:
    reports: list[dict[str, Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def signature(settings: Settings) -> str:
    return "|".join([f"mtaudit:{__version__}", stories.signature(settings), detect.signature(settings)])


def audit_articles(
    articles: list[Article],
    settings: Settings,
    progress: Progress | None = None,
    story_of: dict[str, str | None] | None = None,
    context: list[Article] | None = None,
) -> list[dict[str, Any]]:
    """Audit ingested articles, one report dict each, in input order.

    ``context`` are articles already audited (an earlier night's coverage): they join the
    story grouping and serve as references but get no report of their own.
    """
    context = context or []
    pool = articles + [c for c in context if c.article_id not in {a.article_id for a in articles}]
    story_of = story_of if story_of is not None else stories.group(pool, settings)
    by_story: dict[str, list[Article]] = {}
    for a in pool:
        sid = story_of.get(a.article_id)
        if sid:
            by_story.setdefault(sid, []).append(a)
    sources = {a.article_id: a.source for a in pool}
    sigs = score.signatures(settings)
    sig = signature(settings)
    reports = []
    for n, article in enumerate(articles):
        sid = story_of.get(article.article_id)
        others = [o for o in by_story.get(sid, []) if o.article_id != article.article_id] if sid else []
        links = align.align(article, others, settings)
        index = signals.StoryIndex.build(others)
        evidence = detect.sentences(article, links, index, settings)
        verdict = detect.model_verdict(article, evidence, settings, has_context=bool(others))
        by_id = {o.article_id: o for o in others}
        refs = [reference.references(links[s.index], sources, settings, sentence=s.text, articles=by_id) for s in article.sentences]
        scores = score.score([s.text for s in article.sentences], [[r["text"] for r in rs] for rs in refs], settings,
                             fluency_for=[ev.flagged for ev in evidence])
        sentences = []
        for sent, ev, rs, sc in zip(article.sentences, evidence, refs, scores):
            sentences.append({
                "index": sent.index, "start": sent.start, "end": sent.end, "text": sent.text,
                "flagged": ev.flagged, "mt_probability": ev.probability,
                "spans": [sp.to_dict() for sp in ev.spans],
                "references": rs,
                "reference_note": reference.status(links[sent.index], rs, settings),
                "repaired": reference.repair(article, sent, ev.spans),
                "scores": sc.__dict__,
            })
        if not others:
            verdict.reasons.append("no other coverage of this story in the batch: reference-free signals only")
        reports.append({
            "article_id": article.article_id, "source": article.source, "title": article.title,
            "date": article.date, "story_id": sid,
            "story_articles": sorted(o.article_id for o in others),
            "meta": article.meta,
            "verdict": {
                "machine_translated": verdict.machine_translated, "probability": verdict.probability,
                "pivot_language": verdict.pivot_language, "pivot_confidence": verdict.pivot_confidence, "abstained": verdict.abstained,
                "reasons": verdict.reasons, "method": verdict.method,
            },
            "sentences": sentences,
            "signature": sig,
            "signatures": sigs,
        })
        if progress:
            progress("audit", n + 1, len(articles))
    return reports


def audit(
    inputs: Iterable[str | Path] = (),
    settings: Settings | None = None,
    texts: Iterable[str] = (),
    progress: Progress | None = None,
) -> AuditResult:
    """Ingest paths and raw texts, then audit them together."""
    settings = settings or Settings()
    articles, problems = ingest.ingest(inputs, settings, texts)
    if progress:
        progress("ingest", len(articles), len(articles))
    return AuditResult(audit_articles(articles, settings, progress), problems)
