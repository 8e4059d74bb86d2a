"""From signal spans to sentence flags and an article verdict, evidence first."""

from __future__ import annotations

from dataclasses import dataclass, field

from mtaudit import signals
from mtaudit.settings import Settings
from mtaudit.types import Article, Link, Span


@dataclass
class SentenceEvidence:
    index: int
    spans: list[Span] = field(default_factory=list)
    probability: float = 0.0
    flagged: bool = False


@dataclass
class Verdict:
    machine_translated: bool | None
    probability: float
    abstained: bool
    reasons: list[str]
    pivot_language: str | None = None
    method: str = "evidence"


def noisy_or(weights: list[float]) -> float:
    """P(at least one piece of evidence is right), treating them as independent."""
    p = 1.0
    for w in weights:
        p *= 1.0 - w
    return 1.0 - p


def sentences(article: Article, links: dict[int, list[Link]], story: signals.StoryIndex, settings: Settings) -> list[SentenceEvidence]:
    out = []
    for sent in article.sentences:
        spans = signals.run_all(signals.Context(article, sent, links.get(sent.index, []), story, settings))
        p = noisy_or([s.weight for s in spans])
        out.append(SentenceEvidence(sent.index, spans, round(p, 4), p >= settings.sentence_threshold))
    return out


def evidence_verdict(evidence: list[SentenceEvidence], settings: Settings) -> Verdict:
    """Article probability from its spans: each span counts half, so one alone never decides."""
    spans = [s for e in evidence for s in e.spans]
    p = noisy_or([0.5 * s.weight for s in spans])
    reasons = [
        f"sentence {e.index}: {s.kind} {s.text!r}" + (f" (others: {s.suggestion!r})" if s.suggestion else "")
        for e in evidence for s in e.spans if s.weight >= 0.5
    ]
    flagged = sum(e.flagged for e in evidence)
    if flagged:
        reasons.insert(0, f"{flagged} of {len(evidence)} sentences flagged")
    abstained = abs(p - settings.article_threshold) < settings.abstain_band
    return Verdict(None if abstained else p >= settings.article_threshold, round(p, 4), abstained, reasons)


def signature(settings: Settings) -> str:
    return (
        f"detect:evidence-noisy-or|signals:{'+'.join(signals.SIGNALS)}|sent_thr:{settings.sentence_threshold}"
        f"|art_thr:{settings.article_threshold}|rare_zipf:{settings.rare_zipf}|name_sim:{settings.name_similarity}"
        f"|colloc:{settings.collocation_min_count}/{settings.collocation_lm_gap}nats"
    )
