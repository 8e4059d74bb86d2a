"""Story grouping: the pairwise measure behind the default threshold, and grouping on real ECB+ text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mtaudit.lab import grouping_eval
from mtaudit.stages import ingest, stories


@pytest.mark.parametrize(
    "pred,want",
    [
        ({"a": "x", "b": "x", "c": "y", "d": "y"}, {"precision": 1.0, "recall": 1.0, "f1": 1.0}),
        ({"a": "x", "b": "x", "c": "x", "d": "x"}, {"precision": 0.3333, "recall": 1.0, "f1": 0.5}),
        ({"a": None, "b": None, "c": None, "d": None}, {"precision": 0.0, "recall": 0.0, "f1": 0.0}),
        ({"a": "x", "b": "x", "c": None, "d": None}, {"precision": 1.0, "recall": 0.5, "f1": 0.6667}),
    ],
)
def test_pairwise_scores(pred: dict[str, str | None], want: dict[str, float]) -> None:
    gold = {"a": "1", "b": "1", "c": "2", "d": "2"}
    assert grouping_eval.pairwise(pred, gold) == want


def test_a_lone_article_has_no_story(settings: Any) -> None:
    seeds = sorted(Path("seeds").glob("*.txt"))
    article, _ = ingest.parse(seeds[0].read_text(encoding="utf-8"), str(seeds[0]), settings)
    assert article is not None
    assert stories.group([article], settings) == {article.article_id: None}


@pytest.mark.parametrize("topic", ["1", "3"])
def test_two_ecbplus_events_of_one_topic_stay_apart(settings: Any, shared_data: Path, topic: str) -> None:
    """Two sub-topics of one ECB+ topic are similar events of one kind (two celebrities in rehab,
    two sentencings of killers): the hard case. They must never share a story, and each still groups."""
    docs = [json.loads(line) for line in (shared_data / "ecbplus" / "ecbplus_docs.jsonl").open(encoding="utf-8")]
    subtopics = sorted({d["subtopic"] for d in docs if d["topic"] == topic})
    picked = [d for sub in subtopics for d in [d for d in docs if d["subtopic"] == sub][:6]]
    articles, gold = [], {}
    for d in picked:
        article, _ = ingest.parse(d["text"], d["doc_id"], settings.replace(min_words=5))
        if article is not None and article.article_id not in gold:
            articles.append(article)
            gold[article.article_id] = d["subtopic"]
    assert len(set(gold.values())) >= 2, "the sample needs both sub-topics"
    got = grouping_eval.pairwise(stories.group(articles, settings), gold)
    assert got["precision"] == 1.0 and got["recall"] >= 0.4
