"""Reference-quality versions of a sentence from the other outlets, and a repair backed by them.

References are many-to-many: one of our sentences may be covered by one sentence of another
outlet, or by two adjacent ones (an outlet that split it in two); the merged pair is kept when
it matches our sentence better than either half. Each outlet gives at most one reference (its
best), below a confidence floor a match is a different sentence and is dropped, and the rest
are ranked best first with their source. When nothing is good enough, the sentence gets no
reference, and ``status`` says so, instead of being scored against a poor match.

Repairs apply only span suggestions that other outlets back (``support``), never new text.
"""

from __future__ import annotations

from typing import Any

from mtaudit.base.settings import Settings
from mtaudit.base.types import Article, Link, Sentence, Span
from mtaudit.nlp import embed

REPAIRABLE = {"name_mismatch", "name_as_word", "name_order", "collocation", "wording", "case"}
MERGE_GAIN = 0.02  # a merged pair must beat its best half by this much in cosine
RELATIVE_FLOOR = 0.15  # references further than this below the best one are left out


def references(
    links: list[Link],
    sources: dict[str, str],
    settings: Settings,
    sentence: str | None = None,
    articles: dict[str, Article] | None = None,
) -> list[dict[str, Any]]:
    """Aligned sentences good enough to score against, best first, at most one per other article.

    With ``sentence`` (our text) and ``articles`` (id -> Article), adjacent sentences of one
    outlet are merged when together they match our sentence better (many-to-many).
    """
    cands = [_candidate(link) for link in links]
    if sentence is not None and articles:
        cands = _merge_adjacent(cands, sentence, articles, settings)
    best_per_article: dict[str, dict[str, Any]] = {}
    for c in cands:
        if c["similarity"] < settings.reference_min_similarity:
            continue
        held = best_per_article.get(c["article_id"])
        if held is None or c["similarity"] > held["similarity"]:
            best_per_article[c["article_id"]] = c
    ranked = sorted(best_per_article.values(), key=lambda c: (-c["similarity"], c["article_id"], c["sentence_index"]))
    if ranked:
        floor = ranked[0]["similarity"] - RELATIVE_FLOOR
        ranked = [c for c in ranked if c["similarity"] >= floor]
    out = []
    for c in ranked[: settings.max_references]:
        out.append({
            "text": c["text"],
            "source": sources.get(c["article_id"], c["article_id"]),
            "article_id": c["article_id"],
            "sentence_index": c["sentence_index"],
            "sentence_indices": c["sentence_indices"],
            "similarity": c["similarity"],
        })
    return out


def status(links: list[Link], refs: list[dict[str, Any]], settings: Settings) -> str:
    """One line on where the references came from, or why there are none."""
    if refs:
        outlets = len({r["article_id"] for r in refs})
        merged = sum(len(r.get("sentence_indices", [0])) > 1 for r in refs)
        return f"{len(refs)} reference(s) from {outlets} outlet(s)" + (f", {merged} merged from adjacent sentences" if merged else "")
    if not links:
        return "no aligned sentence in the other outlets: not scored"
    best = max(link.similarity for link in links)
    return f"no reference good enough (best similarity {best:.2f} < {settings.reference_min_similarity}): not scored"


def _candidate(link: Link) -> dict[str, Any]:
    return {
        "text": link.text, "article_id": link.article_id, "sentence_index": link.sentence_index,
        "sentence_indices": [link.sentence_index], "similarity": round(float(link.similarity), 4),
    }


def _merge_adjacent(
    cands: list[dict[str, Any]], sentence: str, articles: dict[str, Article], settings: Settings
) -> list[dict[str, Any]]:
    """Add merged pairs (a linked sentence with its neighbour) that beat the linked sentence alone."""
    pairs: list[tuple[dict[str, Any], list[Sentence]]] = []
    for c in cands:
        art = articles.get(c["article_id"])
        if art is None:
            continue
        by_index = {s.index: s for s in art.sentences}
        here = by_index.get(c["sentence_index"])
        if here is None:
            continue
        for other in (by_index.get(c["sentence_index"] - 1), by_index.get(c["sentence_index"] + 1)):
            if other is not None:
                pairs.append((c, sorted([here, other], key=lambda s: s.index)))
    if not pairs:
        return cands
    texts = [" ".join(s.text for s in pair) for _, pair in pairs]
    vecs = embed.encode([sentence] + texts, settings)
    sims = vecs[1:] @ vecs[0]
    merged = []
    for (c, pair), text, sim in zip(pairs, texts, sims):
        if float(sim) >= c["similarity"] + MERGE_GAIN:
            merged.append({
                "text": text, "article_id": c["article_id"], "sentence_index": pair[0].index,
                "sentence_indices": [s.index for s in pair], "similarity": round(float(sim), 4),
            })
    return cands + merged


def supported_fixes(spans: list[Span]) -> list[Span]:
    """Spans with a suggestion that other outlets back, non-overlapping, left to right."""
    fixes = sorted(
        (s for s in spans if s.kind in REPAIRABLE and s.suggestion and s.support and s.suggestion != s.text),
        key=lambda s: (s.start, -(s.end - s.start)),
    )
    out: list[Span] = []
    for span in fixes:
        if out and span.start < out[-1].end:
            continue
        out.append(span)
    return out


def repair(article: Article, sentence: Sentence, spans: list[Span]) -> str | None:
    """Apply the suggestions other outlets back; None when there is nothing supported to apply.

    Only the span's characters change, and only to the suggestion the supporting outlets
    wrote; a suggestion replacing the first word keeps the sentence's capital, one replacing
    words in capitals is written in capitals (not for ``case`` spans, whose point is the case).
    """
    fixes = [s for s in supported_fixes(spans) if sentence.start <= s.start < s.end <= sentence.end]
    if not fixes:
        return None
    text = sentence.text
    for span in reversed(fixes):
        a, b = span.start - sentence.start, span.end - sentence.start
        new = span.suggestion or ""
        if span.text.isupper() and len(span.text) > 1 and span.kind != "case":
            new = new.upper()  # a headline in capitals stays in capitals (SEQUELA -> SEQUEL)
        elif a == 0 and new[:1].islower() and text[:1].isupper():
            new = new[:1].upper() + new[1:]
        text = text[:a] + new + text[b:]
    return text if text != sentence.text else None
