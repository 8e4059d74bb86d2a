"""The audit, end to end: ingest -> segment -> stories -> align -> detect -> references -> score.

Plain functions over plain data. The CLI, the notebook, the nightly job and the engines
all call ``iter_audit`` (or ``audit_articles``, its list); nothing here prints or writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtaudit.base import process
from mtaudit.base.settings import Settings
from mtaudit.base.types import Article, Link, Problem, Progress, Status
from mtaudit.base.version import __version__
from mtaudit.nlp import embed
from mtaudit.stages import align, detect, ingest, reference, score, severity, signals, stories


@dataclass
class AuditResult:
    reports: list[dict[str, Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def signature(settings: Settings) -> str:
    return "|".join([f"mtaudit:{__version__}", stories.signature(settings), detect.signature(settings)])


CHUNK = 16  # articles prepared (aligned, detected, referenced) ahead of the ones being scored


@dataclass
class _Prepared:
    """One article between detection and scoring: everything but the scores."""
    article: Article
    sid: str | None
    others: list[Article]
    links: dict[int, list[Link]]
    evidence: list[Any]
    verdict: Any
    refs: list[list[dict[str, Any]]]
    lexical: score.LexicalJob


def audit_articles(
    articles: list[Article],
    settings: Settings,
    progress: Progress | None = None,
    story_of: dict[str, str | None] | None = None,
    context: list[Article] | None = None,
) -> list[dict[str, Any]]:
    """Audit ingested articles: the reports of :func:`iter_audit`, as a list in input order."""
    return list(iter_audit(articles, settings, progress, story_of, context))


def iter_audit(
    articles: list[Article],
    settings: Settings,
    progress: Progress | None = None,
    story_of: dict[str, str | None] | None = None,
    context: list[Article] | None = None,
    status: Status | None = None,
) -> Iterator[dict[str, Any]]:
    """Audit ingested articles, yielding one report dict each, in input order, as each is done.

    A caller that writes each report and lets it go holds one chunk of reports at a time,
    not the batch: memory stays flat on a 5,000-article batch, and a run stopped halfway
    has written everything it finished.

    ``context`` are articles already audited (an earlier night's coverage): they join the
    story grouping and serve as references but get no report of their own.

    Articles go in chunks of ``CHUNK``: a chunk is aligned, detected and given references
    while the helper process computes the previous chunk's lexical scores (TER is pure
    Python and the costliest score), then the previous chunk is scored and reported. Every
    figure is computed per article exactly as before; only the order of work changes.
    """
    if settings.low_memory:
        process.fix_mmap_threshold()  # from here on large blocks come from mmap and go back when freed
    context = context or []
    pool = articles + [c for c in context if c.article_id not in {a.article_id for a in articles}]
    now: Status = status or (lambda stage, what: None)
    if story_of is None:
        now("group into stories", f"{len(pool)} articles")
        story_of = stories.group(pool, settings)
    by_story: dict[str, list[Article]] = {}
    for a in pool:
        sid = story_of.get(a.article_id)
        if sid:
            by_story.setdefault(sid, []).append(a)
    sources = {a.article_id: a.source for a in pool}
    sigs = score.signatures(settings)
    sig = signature(settings)
    done = 0
    pending: list[_Prepared] = []
    for lo in range(0, len(articles) + CHUNK, CHUNK):
        ready = _prepare(articles[lo : lo + CHUNK], story_of, by_story, sources, settings, now) if lo < len(articles) else []
        for prep in pending:
            now("score", prep.article.source)
            report = _finish(prep, settings, sig, sigs)
            done += 1
            if progress:
                progress("audit", done, len(articles))
            yield report
        pending = ready
        process.release_memory()  # else the C heap keeps what the encoder freed: RSS grew ~1 MB an article


def _prepare(chunk: list[Article], story_of: dict[str, str | None], by_story: dict[str, list[Article]],
             sources: dict[str, str], settings: Settings, now: Status) -> list[_Prepared]:
    """Align, detect and reference a chunk, and start its lexical scores in the helper process."""
    aligned = []
    copies_of: dict[str, list[Article]] = {}
    for article in chunk:
        now("align", article.source)
        sid = story_of.get(article.article_id)
        others = [o for o in by_story.get(sid, []) if o.article_id != article.article_id] if sid else []
        others, copies = align.split_copies(article, others, settings)
        aligned.append((article, sid, others, align.align(article, others, settings)))
        copies_of[article.article_id] = copies
    _prefetch_merges(aligned, settings)
    now("detect", f"{len(aligned)} articles")
    evidence_of = detect.sentences_of([(article, links, signals.StoryIndex.build(others)) for article, _, others, links in aligned], settings)
    out = []
    for (article, sid, others, links), evidence in zip(aligned, evidence_of):
        now("detect", article.source)
        verdict = detect.model_verdict(article, evidence, settings, has_context=bool(others))
        if copies_of[article.article_id]:
            ids = ", ".join(sorted(o.article_id for o in copies_of[article.article_id]))
            verdict.reasons.append(f"not counted as other coverage: {len(copies_of[article.article_id])} near-copies of this "
                                   f"article in the batch ({ids}); a copy repeats its errors, it does not confirm them")
        evidence = detect.flag_by_model(detect.settle(verdict, evidence), verdict)
        by_id = {o.article_id: o for o in others}
        refs = [reference.references(links[s.index], sources, settings, sentence=s.text, articles=by_id) for s in article.sentences]
        job = score.submit_lexical([s.text for s in article.sentences], [[r["text"] for r in rs] for rs in refs], settings)
        out.append(_Prepared(article, sid, others, links, evidence, verdict, refs, job))
    return out


def _prefetch_merges(aligned: list[tuple[Article, str | None, list[Article], dict[int, list[Link]]]], settings: Settings) -> None:
    """Embed, in one call for the chunk, the adjacent-sentence pairs ``reference.references`` will try.

    The texts are built as ``reference._merge_adjacent`` builds them; embeddings do not depend
    on the batch they are computed in (``mtaudit.nlp.embed``), so this changes no figure: it only
    turns many small encoder calls into a few full ones (the calls there then hit the cache).
    """

    texts: dict[str, None] = {}
    for _, _, others, links in aligned:
        if not others:
            continue
        by_index = {o.article_id: {s.index: s for s in o.sentences} for o in others}
        for sent_links in links.values():
            for link in sent_links:
                sents = by_index.get(link.article_id)
                here = sents.get(link.sentence_index) if sents else None
                if sents is None or here is None:
                    continue
                for other in (sents.get(link.sentence_index - 1), sents.get(link.sentence_index + 1)):
                    if other is not None:
                        texts[" ".join(s.text for s in sorted([here, other], key=lambda s: s.index))] = None
    if texts:
        embed.encode(list(texts), settings)


def _finish(prep: _Prepared, settings: Settings, sig: str, sigs: dict[str, str]) -> dict[str, Any]:
    """Score one prepared article and build its report."""
    article, evidence, refs, links, verdict, others = prep.article, prep.evidence, prep.refs, prep.links, prep.verdict, prep.others
    scores = score.score([s.text for s in article.sentences], [[r["text"] for r in rs] for rs in refs], settings,
                         fluency_for=[ev.flagged for ev in evidence], lexical_job=prep.lexical)  # span flags only: the LM is the slow part
    sentences = []
    for sent, ev, rs, sc in zip(article.sentences, evidence, refs, scores):
        sentences.append({
            "index": sent.index, "start": sent.start, "end": sent.end, "text": sent.text,
            "flagged": ev.flagged or ev.flagged_by_model, "flagged_by": ev.flagged_by, "mt_probability": ev.probability,
            "model_probability": ev.model_probability,
            "severity": severity.worst(grades := [sp.severity for sp in ev.spans if sp.severity]),
            "error_points": severity.points(grades),
            "spans": [sp.to_dict() for sp in ev.spans],
            "references": rs,
            "reference_note": reference.status(links[sent.index], rs, settings),
            "repaired": reference.repair(article, sent, ev.spans),
            "scores": sc.__dict__,
        })
    if not others:
        verdict.reasons.append("no other coverage of this story in the batch: reference-free signals only")
    if cut := article.meta.get("truncated"):
        verdict.reasons.append(f"only the first {cut['sentences_audited']} sentences of {cut['words']} words of prose were audited "
                               f"(setting {cut['setting']}): longer than any news article as written")
    return {
        "article_id": article.article_id, "source": article.source, "title": article.title,
        "date": article.date, "story_id": prep.sid,
        "story_articles": sorted(o.article_id for o in others),
        "meta": article.meta,
        "verdict": {
            "level": verdict.level, "machine_translated": verdict.machine_translated, "probability": verdict.probability,
            "pivot_language": verdict.pivot_language, "pivot_confidence": verdict.pivot_confidence, "abstained": verdict.abstained,
            "reasons": verdict.reasons, "method": verdict.method,
        },
        "sentences": sentences,
        "signature": sig,
        "signatures": sigs,
    }


def audit(
    inputs: Iterable[str | Path] = (),
    settings: Settings | None = None,
    texts: Iterable[str] = (),
    progress: Progress | None = None,
) -> AuditResult:
    """Ingest paths and raw texts, then audit them together."""
    problems, reports = audit_stream(inputs, settings, texts, progress)
    return AuditResult(list(reports), problems)


def audit_stream(
    inputs: Iterable[str | Path] = (),
    settings: Settings | None = None,
    texts: Iterable[str] = (),
    progress: Progress | None = None,
    status: Status | None = None,
) -> tuple[list[Problem], Iterator[dict[str, Any]]]:
    """Ingest now (so the input problems are known at once), audit lazily: ``(problems, reports)``."""
    settings = settings or Settings()
    articles, problems = ingest.ingest(inputs, settings, texts)
    if progress:
        progress("ingest", len(articles), len(articles))
    return problems, iter_audit(articles, settings, progress, status=status)
