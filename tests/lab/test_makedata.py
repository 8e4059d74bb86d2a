"""make-data on a tiny sample: real Apertium round trips and FreeDict substitutions, paired by sentence."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import pytest

from mtaudit.lab import coverage_fit, makedata, roundtrip, storyeval
from tests.conftest import ROOT

needs_apertium = pytest.mark.skipif(not roundtrip.available(), reason="apertium eng-spa/eng-cat not installed (make debs)")
needs_freedict = pytest.mark.skipif(not roundtrip.freedict_available("fra"), reason="FreeDict eng-fra/fra-eng not installed")


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    if not roundtrip.available():
        pytest.skip("apertium not installed")
    out = tmp_path_factory.mktemp("md")
    makedata.build(out, shared=shared_data, seeds=ROOT / "seeds", ecb_limit=2, wmt_limit=5, reuters=False,  # the 5th-ranked document is zh-en (MT + HT)
                   coverage_limit=8, translationese_systems=0)  # tests/lab/test_translationese.py reads those lines
    return out


@pytest.fixture(scope="module")
def tiny(tiny_dir: Path) -> tuple[list[makedata.Doc], dict[str, Any]]:
    return makedata.load(tiny_dir), json.loads((tiny_dir / "manifest.json").read_text(encoding="utf-8"))


@needs_apertium
def test_apertium_keeps_lines_apart_and_recovers_a_lost_line() -> None:
    lines = ["The two juries showed little emotion.", "showed little emotion.", "Horton said she is now caring.", "Hello."]
    out = roundtrip.translate(lines, "eng-cat")
    assert len(out) == len(lines)
    assert out[-1] == "Hola."


def test_a_line_that_kills_apertium_stays_untranslated_and_the_rest_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """An Apertium crash (seen: eng-cat exit 141 on one ECB+ article) costs one line, not the build."""
    import subprocess

    calls: list[int] = []

    def fake(flat: list[str], mode: str, timeout: float) -> list[str]:
        calls.append(len(flat))
        if any("poison" in line for line in flat):
            raise subprocess.CalledProcessError(141, ["apertium", "-u", mode])
        return [line.upper() for line in flat]

    monkeypatch.setattr(roundtrip, "_apertium", fake)
    lines = ["one.", "two.", "a poison line.", "four.", "five."]
    assert roundtrip.translate(lines, "eng-cat") == ["ONE.", "TWO.", "a poison line.", "FOUR.", "FIVE."]
    assert calls[0] == 5 and len(calls) < 10  # halving, not one call per line


@needs_apertium
@pytest.mark.parametrize("pivot", sorted(roundtrip.PIVOTS))
def test_round_trip_damages_english(pivot: str) -> None:
    if pivot not in roundtrip.available():
        pytest.skip(f"apertium {roundtrip.PIVOTS[pivot][0]} not installed (make debs)")
    back = roundtrip.roundtrip(['The United States accused China of failing to ease "export controls" on rare earth magnets.'], pivot)
    assert back[0] != "" and "rare earth magnets" not in back[0]
    assert "*" not in back[0] and " ," not in back[0]
    assert back[0].count('"') == 2 and "quote" not in back[0]  # the quotation marks survive (eng-hbs's do not)


@needs_freedict
@pytest.mark.parametrize("pair,word,first", [("eng-fra", "trump", "atout"), ("fra-eng", "terre", "ground")])
def test_freedict_senses(pair: str, word: str, first: str) -> None:
    assert roundtrip.FreeDict(pair).senses(word)[0] == first


@needs_freedict
def test_literal_substitution_is_seeded_and_keeps_case() -> None:
    there, back = roundtrip.FreeDict("eng-fra"), roundtrip.FreeDict("fra-eng")
    text = "The United States accused China of failing to ease export controls on rare earth magnets."
    a = roundtrip.literal(text, there, back, 0.5, random.Random(1))
    b = roundtrip.literal(text, there, back, 0.5, random.Random(1))
    assert a == b and a != text
    assert a.startswith("The ")


def test_make_data_pairs_sentences_and_groups(tiny: tuple[list[makedata.Doc], dict[str, Any]]) -> None:
    docs, manifest = tiny
    by_id = {d.id: d for d in docs}
    originals = [d for d in docs if d.kind == "original"]
    assert {d.corpus for d in originals} >= {"wmt22", "ecbplus", "seeds"}
    assert not any("000_" in d.id or "002_" in d.id for d in docs), "the MT seeds are never training data"
    for o in originals:
        assert o.label == 0
        for kind in ("rt_spa", "rt_cat"):
            rt = by_id[f"{o.id}.{kind}"]
            assert rt.label == 1 and rt.group == o.group and len(rt.sentences) == len(o.sentences)
        assert sum(a != b for a, b in zip(o.sentences, by_id[f"{o.id}.rt_spa"].sentences)) > len(o.sentences) / 2
    mt = [d for d in docs if d.kind == "wmt_mt"]
    assert mt and all(d.label == 1 and d.source_sha for d in mt)
    assert all(d.label == 0 for d in docs if d.kind == "wmt_ht")
    assert manifest["articles"] == len(docs) and "ecbplus" in manifest["licences"]


def test_ecb_training_documents_leave_out_the_story_eval_stories(shared_data: Path) -> None:
    """18_15ecb ranks 9th for seed 13 but belongs to a story `mtaudit story-eval` damages: it is skipped."""
    path = shared_data / "ecbplus" / "ecbplus_docs.jsonl"
    rows, left_out = makedata.ecb_rows(path, 13)
    held = storyeval.evaluated_subtopics(path)
    assert len(held) == storyeval.STORIES and left_out == 70
    assert not any(r["subtopic"] in held for r in rows)
    assert "18_15ecb" not in [r["doc_id"] for r in rows[:9]]
    assert [r["doc_id"] for r in rows[:3]] == ["5_10ecb", "32_11ecbplus", "3_6ecbplus"]  # the seeded order is kept


def test_make_data_normalises_both_sides(tiny: tuple[list[makedata.Doc], dict[str, Any]]) -> None:
    docs, _ = tiny
    for d in docs:
        for s in d.sentences:
            assert roundtrip.normalise(s) == s
            assert "“" not in s and "’" not in s


def test_make_data_is_reproducible(tiny: tuple[list[makedata.Doc], dict[str, Any]], tmp_path: Path, shared_data: Path) -> None:
    docs, _ = tiny
    makedata.build(tmp_path, shared=shared_data, seeds=None, ecb_limit=2, wmt_limit=5, reuters=False,
                   pivots=(), literal_langs=("fra", "spa", "ara"))
    first = {d.id: d.sentences for d in docs if d.kind.startswith("literal_") and d.corpus != "seeds"}
    second = {d.id: d.sentences for d in makedata.load(tmp_path) if d.kind.startswith("literal_")}
    assert first and set(first) == set(second)
    assert all(first[k] == second[k] for k in first)
    assert json.loads((tmp_path / "manifest.json").read_text())["pivots"] == []


def test_reuters_articles_parse(tmp_path: Path) -> None:
    """The Reuters-21578 SGML-in-XML of r-cran-tm, on a record written here in its format."""
    folder = tmp_path / "texts" / "crude"
    folder.mkdir(parents=True)
    (folder / "reut-00001.xml").write_text(
        '<?xml version="1.0"?>\n<LEWIS>\n<REUTERS TOPICS="YES" NEWID="127">\n<TEXT>\n<TITLE>OIL PRICES</TITLE>\n'
        "<BODY>Diamond Shamrock Corp said that effective today it had cut its contract prices for crude oil by\n"
        "1.50 dlrs a barrel, the company said in a statement released late on Friday to the press.\n"
        "    The reduction brings its posted price for West Texas Intermediate to 16.00 dlrs a barrel, the\n"
        "company said, adding that the change was made in line with other refiners in the region.\n Reuter\n&#3;</BODY></TEXT>\n"
        "</REUTERS>\n</LEWIS>\n", encoding="latin-1")
    arts = makedata.reuters_articles(tmp_path / "texts")
    assert len(arts) == 1 and arts[0][0] == "127"
    assert len(arts[0][1]) == 2 and not arts[0][1][-1].endswith("Reuter")
    shutil.rmtree(folder)


def test_coverage_victims_are_articles_the_detector_never_reads(tiny_dir: Path, shared_data: Path) -> None:
    """coverage.jsonl: ECB+ articles beyond --ecb-limit, outside story-eval's stories, round-tripped whole, with their story."""

    stories = coverage_fit.load(tiny_dir)
    trained = {r["doc_id"] for r in makedata.ecb_rows(shared_data / "ecbplus" / "ecbplus_docs.jsonl", 13)[0][:2]}
    held = storyeval.evaluated_subtopics(shared_data / "ecbplus" / "ecbplus_docs.jsonl")
    victims = [(s, v) for s in stories for v in s["victims"]]
    assert len(victims) == 8 and stories
    assert [v["pivot"] for _, v in victims] == ["spa", "cat"] * 4
    for s, v in victims:
        assert v["doc_id"] not in trained and s["story"] not in held
        original = next(d["text"] for d in s["context"] if d["doc_id"] == v["doc_id"]).split("\n")
        assert len(v["damaged"]) == len(original) == v["lines"] and v["changed"] > len(original) / 2
    assert json.loads((tiny_dir / "manifest.json").read_text())["coverage"] == {"stories": len(stories), "victims": 8}
