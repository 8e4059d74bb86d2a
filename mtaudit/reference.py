"""Reference-quality versions of a sentence from the other outlets, and a repair backed by them."""

from __future__ import annotations

from typing import Any

from mtaudit.settings import Settings
from mtaudit.types import Article, Link, Sentence, Span

REPAIRABLE = {"name_mismatch", "name_as_word", "collocation", "case"}


def references(links: list[Link], sources: dict[str, str], settings: Settings) -> list[dict[str, Any]]:
    """Aligned sentences good enough to score against, best first, one per other sentence.

    Below ``reference_min_similarity`` a match is a different sentence, not a reference:
    the sentence then gets no reference and no reference-based score.
    """
    out = []
    for link in links:
        if link.similarity < settings.reference_min_similarity:
            continue
        out.append({
            "text": link.text,
            "source": sources.get(link.article_id, link.article_id),
            "article_id": link.article_id,
            "sentence_index": link.sentence_index,
            "similarity": link.similarity,
        })
        if len(out) == settings.max_references:
            break
    return out


def repair(article: Article, sentence: Sentence, spans: list[Span]) -> str | None:
    """Apply the suggestions other outlets back; None when there is nothing supported to apply."""
    fixes = [s for s in spans if s.kind in REPAIRABLE and s.suggestion and s.support]
    if not fixes:
        return None
    text = sentence.text
    for span in sorted(fixes, key=lambda s: s.start, reverse=True):
        a, b = span.start - sentence.start, span.end - sentence.start
        text = text[:a] + span.suggestion + text[b:]  # type: ignore[operator]
    return text
