"""The reference builder and the repair: filtered, ranked, many-to-many; repairs only with support."""

from __future__ import annotations

from typing import Any

import pytest

from mtaudit.base.types import Article, Link, Sentence, Span
from mtaudit.stages import reference


def _article(aid: str, sentences: list[str]) -> Article:
    text, sents, pos = "", [], 0
    for i, s in enumerate(sentences):
        sents.append(Sentence(i, pos, pos + len(s), s))
        text += s + " "
        pos += len(s) + 1
    return Article(aid, f"{aid}.txt", text, sentences=sents)


def test_poor_matches_are_not_references(settings: Any) -> None:
    links = [Link("b", 0, "Something else entirely.", 0.52), Link("c", 3, "Another unrelated line.", 0.47)]
    assert reference.references(links, {}, settings) == []
    note = reference.status(links, [], settings)
    assert "no reference good enough" in note and "0.52" in note


def test_one_reference_per_outlet_best_first_with_sources(settings: Any) -> None:
    links = [
        Link("b", 2, "B's second-best line.", 0.71),
        Link("c", 5, "C's line.", 0.83),
        Link("b", 1, "B's best line.", 0.90),
        Link("d", 0, "D's weak line.", 0.61),  # above the floor, but far below the best: left out
    ]
    refs = reference.references(links, {"b": "outlet-b.txt"}, settings)
    assert [(r["article_id"], r["sentence_index"]) for r in refs] == [("b", 1), ("c", 5)]
    assert refs[0]["source"] == "outlet-b.txt" and refs[1]["source"] == "c"
    assert refs[0]["similarity"] >= refs[1]["similarity"]
    assert "2 reference(s) from 2 outlet(s)" in reference.status(links, refs, settings)


def test_adjacent_sentences_merge_when_together_they_match_better(settings: Any) -> None:
    """One outlet split our sentence in two: the merged pair is the reference, with both indices."""
    ours = "President Xi Jinping spoke with Donald Trump by phone on Thursday, and they agreed to resume trade talks in London next week."
    other = _article("b", [
        "Markets rose in Asia on Friday.",
        "President Xi Jinping spoke with Donald Trump by phone on Thursday.",
        "They agreed to resume trade talks in London next week.",
        "Analysts were cautious.",
    ])
    from mtaudit.nlp import embed

    v = embed.encode([ours, other.sentences[1].text], settings)
    link = Link("b", 1, other.sentences[1].text, round(float(v[0] @ v[1]), 4))
    refs = reference.references([link], {}, settings, sentence=ours, articles={"b": other})
    assert refs[0]["sentence_indices"] == [1, 2]
    assert refs[0]["text"] == other.sentences[1].text + " " + other.sentences[2].text
    assert refs[0]["similarity"] > link.similarity
    # without the articles there is nothing to merge with: the single sentence stays
    alone = reference.references([link], {}, settings, sentence=ours)
    assert alone[0]["sentence_indices"] == [1]


def test_repair_applies_only_supported_suggestions() -> None:
    art = _article("a", ["Shinchoa said the eleventh met Trump on rare land issues."])
    sent = art.sentences[0]
    spans = [
        Span(0, 8, "Shinchoa", "name_mismatch", 0.85, "", "Xinhua", ["b", "c"]),
        Span(14, 26, "the eleventh", "name_as_word", 0.9, "", "Xi", ["b"]),
        Span(40, 49, "rare land", "collocation", 0.7, "", "rare earth", []),  # no outlet backs it: not applied
        Span(31, 36, "Trump", "rare_word", 0.4, "", None, []),
    ]
    assert art.text[14:26] == "the eleventh" and art.text[40:49] == "rare land"
    assert reference.repair(art, sent, spans) == "Xinhua said Xi met Trump on rare land issues."
    assert sorted({a for s in reference.supported_fixes(spans) for a in s.support}) == ["b", "c"]  # who backs the repair
    assert reference.repair(art, sent, spans[2:]) is None


def test_repair_keeps_the_capital_at_sentence_start() -> None:
    art = _article("a", ["Rare land exports fell."])
    spans = [Span(0, 9, "Rare land", "collocation", 0.75, "", "rare earth", ["b", "c"])]
    assert reference.repair(art, art.sentences[0], spans) == "Rare earth exports fell."


def test_repair_keeps_a_headline_in_capitals() -> None:
    """ECB+ round trip: "SEQUELA" (Catalan) where the outlets write "Sequel"; the headline stays in capitals."""
    art = _article("a", ["GARY ROSS IN NEGOTIATIONS TO DIRECT 'THE HUNGER GAMES' SEQUELA"])
    start = art.text.index("SEQUELA")
    spans = [Span(start, start + 7, "SEQUELA", "name_mismatch", 0.85, "", "Sequel", ["b", "c"])]
    assert reference.repair(art, art.sentences[0], spans) == "GARY ROSS IN NEGOTIATIONS TO DIRECT 'THE HUNGER GAMES' SEQUEL"
    case = [Span(0, 4, "GARY", "case", 0.25, "", "Gary", ["b", "c"])]  # a case span's point is the case
    assert reference.repair(art, art.sentences[0], case).startswith("Gary ROSS")


@pytest.mark.parametrize("needle,fix", [("the eleventh", "Xi"), ("Shinchoa", "Xinhua")])
def test_seed_repairs_appear_in_the_reports(seed_reports: dict[str, dict[str, Any]], needle: str, fix: str) -> None:
    hits = [s for s in seed_reports["000"]["sentences"] if needle in s["text"]]
    assert hits
    for s in hits:
        assert s["repaired"] is not None
        assert needle not in s["repaired"] and fix in s["repaired"]
        # never invented text: every inserted piece is the suggestion of a span other outlets back
        import difflib

        backed = {sp["suggestion"] for sp in s["spans"] if sp["suggestion"] and sp["support"]}
        ops = difflib.SequenceMatcher(None, s["text"], s["repaired"], autojunk=False).get_opcodes()
        inserted = [s["repaired"][j1:j2] for tag, _, _, j1, j2 in ops if tag in ("replace", "insert")]
        assert inserted and all(any(piece in b for b in backed) for piece in inserted)


def test_seed_references_are_filtered_and_ranked(seed_reports: dict[str, dict[str, Any]], settings: Any) -> None:
    for rep in seed_reports.values():
        for s in rep["sentences"]:
            sims = [r["similarity"] for r in s["references"]]
            assert sims == sorted(sims, reverse=True)
            assert all(v >= settings.reference_min_similarity for v in sims)
            assert len({r["article_id"] for r in s["references"]}) == len(s["references"])
            assert rep["article_id"] not in {r["article_id"] for r in s["references"]}
            if not s["references"]:
                assert s["scores"]["chrf"] is None and s["scores"]["quality"] is None
                assert "not scored" in s["reference_note"]
