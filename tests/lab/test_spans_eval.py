"""mtaudit.lab.spans_eval: the span signals and their repairs, counted on coverage stories."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mtaudit.base.settings import Settings
from mtaudit.base.types import Span
from mtaudit.lab import coverage_fit, spans_eval
from mtaudit.stages.signals import tokens

LEAD = "Xinhua reported that the two leaders spoke by phone on Thursday about trade and rare earth exports."
STORY = {
    "story": "s1",
    "context": [
        {"doc_id": "v", "text": LEAD + "\nThe call lasted ninety minutes, officials in Beijing said on Friday."},
        {"doc_id": "a", "text": LEAD + "\nThe call lasted about ninety minutes, according to officials."},
        {"doc_id": "b", "text": "China's official Xinhua news agency reported that the two leaders spoke by phone on Thursday about "
                                "trade.\nOfficials said the call lasted ninety minutes."},
    ],
    "victims": [{"doc_id": "v", "pivot": "spa", "changed": 1, "lines": 2,
                 "damaged": [LEAD.replace("Xinhua", "Shinchoa"),
                             "The call lasted ninety minutes, officials in Beijing said on Friday."]}],
}


@pytest.mark.slow
def test_counts_a_garbled_name_and_its_repair(tmp_path: Path) -> None:
    (tmp_path / coverage_fit.FILE).write_text(json.dumps(STORY) + "\n", encoding="utf-8")
    result = spans_eval.evaluate(tmp_path, Settings(device="cpu"))
    assert result["data"] == {"stories": 1, "articles": 1, "sentences_original": 2, "sentences_round_trip": 2}
    names = result["kinds"]["name_mismatch"]
    assert (names["spans_on_originals"], names["spans_right"], names["spans_wrong"]) == (0, 1, 0)
    assert (names["repaired_round_trips"], names["closer"], names["further"]) == (1, 1, 0)
    assert names["mean_chrf_gain"] > 0
    assert result["kinds"][spans_eval.ALL]["repaired_originals"] == 0
    assert result["severities"]["critical"] == {"spans_on_originals": 0, "spans_right": 1, "spans_wrong": 0}  # two outlets write Xinhua
    lines = spans_eval.table(result).splitlines()
    assert lines[0].split()[:3] == ["kind", "on", "originals"] and lines[1].split()[:4] == ["name_mismatch", "0", "1", "0"]


def test_no_coverage_stories_exit_2(tmp_path: Path) -> None:
    assert spans_eval.main([str(tmp_path)]) == 2


@pytest.mark.parametrize(
    "text,word,original,expected",
    [
        ("The police agent had a gun.", "agent", "The police officer had a gun.", False),  # the round trip made it
        ("He was at the corner on Fifth.", "at", "He saw at noon what stood in the corner on Fifth.", False),  # 'at' elsewhere
        ("He was in the corner on Fifth.", "in", "At noon it was in the corner.", True),  # same words around
    ],
)
def test_was_there_reads_the_neighbouring_words(text: str, word: str, original: str, expected: bool) -> None:
    tok = next(t for t in tokens(text) if t.text == word)
    span = Span(tok.start, tok.end, word, "wording", 0.55, "", None, [])
    assert spans_eval.was_there(text, span, original) is expected
