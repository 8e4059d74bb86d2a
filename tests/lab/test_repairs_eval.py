"""mtaudit.lab.repairs_eval: names mangled as a transliteration round trip mangles them, found and repaired."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtaudit.base.settings import Settings
from mtaudit.base.types import Span
from mtaudit.lab import repairs_eval, storyeval


@pytest.mark.parametrize(
    "word,expected",
    [  # seeded and deterministic: the same word mangles the same way in every article and every run
        ("Xinhua", "Xinhue"), ("Hegseth", "Hegseza"), ("Horton", "Hurtan"), ("Zurana", "Zoramo"), ("Cheeks", "Chigs"),
        ("Kennedy", "Kenoneti"), ("Saints", "Semts"), ("Pittsburgh", "Pittusiburgh"),
    ],
)
def test_mangle_is_seeded(word: str, expected: str) -> None:
    assert repairs_eval.mangle(word) == expected


@pytest.mark.parametrize("word", ["Xinhua", "Merz", "Lohan", "Kafoury", "Teixeira", "LaCalamita", "Oprah", "Ed"])
def test_mangle_changes_the_word_and_keeps_its_capital(word: str) -> None:
    out = repairs_eval.mangle(word)
    assert out != word and out.isalpha() and out[:1].isupper()
    assert repairs_eval.mangle(word, seed=1) == repairs_eval.mangle(word, seed=1)


def test_mangle_keeps_the_first_letter_mostly() -> None:
    words = [f"Name{chr(97 + i)}{chr(97 + j)}" for i in range(26) for j in range(26)]
    kept = sum(repairs_eval.mangle(w)[0] == "N" for w in words)
    assert 0.8 * len(words) < kept < len(words)  # FIRST_LETTER: a voicing swap or a cluster may take it, rarely


@pytest.mark.parametrize(
    "word,expected",
    [("Hegseth", True), ("Xinhua", True), ("Pete", True), ("Obama", False), ("White", False), ("China", False),  # everyday: translated
     ("NASA", False), ("al", False), ("Ed", False), ("O'Neal", False), ("the", False)],
)
def test_manglable(word: str, expected: bool) -> None:
    assert repairs_eval.manglable(word) is expected


def test_split_by_topic_halves() -> None:
    topics = set(range(1, 23))
    half = repairs_eval.split(topics)
    assert sorted(half) == sorted(topics)
    assert sum(h == "tune" for h in half.values()) == 11
    assert repairs_eval.split(topics) == half and repairs_eval.split(topics, seed=5) != half


LINE = "Police said Zoramo Hurtan was shot on Monday near the school."


def _victim() -> tuple[repairs_eval.Victim, object]:
    v = repairs_eval.Victim("s", 1, {"doc_id": "v"}, [], lines=[LINE.replace("Zoramo Hurtan", "Zurana Horton")], damaged=[LINE])
    start = LINE.index("Zoramo")
    v.occurrences = [repairs_eval.Occurrence(0, start, start + len("Zoramo Hurtan"), "Zurana Horton", "Zoramo Hurtan", "PERSON", 3)]
    return v, storyeval.lines_article(v.damaged, "v")


def _report(spans: list[Span], repaired: str | None) -> dict[str, object]:
    return {"source": "v", "story_articles": ["a", "b"], "sentences": [{"spans": [s.to_dict() for s in spans], "repaired": repaired}]}


@pytest.mark.parametrize(
    "text,suggestion,support,result",
    [
        ("Zoramo Hurtan", "Zurana Horton", ["a", "b"], "repaired"),
        ("Zoramo Hurtan", "zurana horton", ["a", "b"], "repaired"),  # the name, whatever its case
        ("Hurtan", "Horton", ["a", "b"], "wrong"),  # half a name back is not the name
        ("Zoramo Hurtan", "Andrew Lopez", ["a", "b"], "wrong"),
        ("Zoramo Hurtan", "Zurana Horton", [], "found"),  # no outlet backs it: no repair
        ("Monday", "Tuesday", ["a", "b"], "missed"),  # a repair elsewhere
    ],
)
def test_count_damaged(text: str, suggestion: str, support: list[str], result: str) -> None:
    v, art = _victim()
    start = LINE.index(text)
    span = Span(start, start + len(text), text, "name_mismatch", 0.85, "", suggestion, support)
    rows, elsewhere = repairs_eval.count_damaged(v, art, _report([span], LINE.replace(text, suggestion) if support else None))
    assert [r["result"] for r in rows] == [result]
    assert elsewhere == (result == "missed")


def test_count_original_and_summary() -> None:
    span = Span(0, 6, "Police", "rare_word", 0.35, "")
    assert repairs_eval.count_original(_report([span], None)) == {"spans": 1, "name_spans": 0, "repairs": 0}
    rows = [{"carried": 2, "result": "repaired"}, {"carried": 3, "result": "found"}, {"carried": 1, "result": "wrong"}]
    s = repairs_eval.summary(rows, 1, [{"spans": 2, "name_spans": 1, "repairs": 1}])
    assert (s["eligible"], s["found"], s["repaired"], s["wrong"], s["wrong_all"]) == (2, 2, 1, 0, 1)
    assert (s["repaired_share"], s["repairs_elsewhere"], s["name_spans_on_originals"], s["repairs_of_originals"]) == (0.5, 1, 1, 1)


def test_bad_option_exits_2() -> None:
    assert repairs_eval.main(["--half", "middle"]) == 2


@pytest.fixture(scope="module")
def ecb(shared_data: Path) -> Path:
    return shared_data / "ecbplus" / "ecbplus_docs.jsonl"


@pytest.mark.slow
def test_damage_mangles_names_the_ner_finds(ecb: Path) -> None:
    victims = [v for v in repairs_eval.load_victims(ecb) if v.story in ("33_ecbplus", "5_ecbplus")]
    repairs_eval.damage(victims)
    for v in victims:
        assert v.occurrences and len(v.damaged) == len(v.lines)
        for o in v.occurrences:
            assert v.damaged[o.line][o.start : o.end] == o.mangled != o.true
            assert o.true in v.lines[o.line]
        assert sum(a != b for a, b in zip(v.lines, v.damaged)) == len({o.line for o in v.occurrences})


@pytest.mark.slow
def test_repairs_end_to_end_on_ecb_stories(ecb: Path) -> None:
    """Through the pipeline with the gold stories, the mangled names two outlets write come back (issue 31).

    Before: Zoramo Hurtan and Hurtan (for Zurana Horton) were left as rare words, Chigs became "Chris", which two
    outlets write, rather than Cheeks, which more write, and Blozas stayed: 2 of 7 repaired. Then 6: "Hurtan was shot and
    killed", a sentence's first word, was compared by its letters only (0.67) and stayed. Now 7: its sound key equals
    Horton's (artan), which counts wherever the word sits.
    """
    result = repairs_eval.evaluate(Settings(device="cpu"), halves=("tune",), groupings=("gold",), path=ecb,
                                   stories={"33_ecbplus", "5_ecbplus"})
    r = result["results"]["tune/gold"]
    assert r["stories"] == 2 and r["eligible"] == 7
    assert (r["repaired"], r["wrong"], r["repairs_of_originals"], r["name_spans_on_originals"]) == (7, 0, 0, 0)
    row = repairs_eval.table(result).splitlines()[1].split()
    assert row[:5] == ["tune/gold", "2", "7", "7", "(100%)"] and row[5:7] == ["7", "(100%)"]
