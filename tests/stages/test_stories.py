"""Story grouping: the pairwise measure, the pair model's features and its shipped figure, and grouping on real text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mtaudit.lab import grouping_eval
from mtaudit.stages import ingest, stories

REID = ("Tara Reid has entered a rehab program, the American Pie star's rep confirmed to People on Friday. "
        "Reid checked into Promises Treatment Center in Malibu in 2008.")
REID_ENTS = [("Tara Reid", "PERSON"), ("American Pie", "WORK_OF_ART"), ("People", "ORG"), ("Friday", "DATE"),
             ("Reid", "PERSON"), ("Promises Treatment Center", "ORG"), ("Malibu", "GPE")]
REID2 = "Actress Tara Reid is in rehab at the Promises centre in Malibu, her publicist said in 2008."
REID2_ENTS = [("Tara Reid", "PERSON"), ("Promises", "ORG"), ("Malibu", "GPE")]
LOHAN = ("Lindsay Lohan checked into the Betty Ford Center in Rancho Mirage on Thursday to begin 90 days of "
         "court-ordered rehab in 2013. Lohan's lawyer said the actress was ready.")
LOHAN_ENTS = [("Lindsay Lohan", "PERSON"), ("the Betty Ford Center", "ORG"), ("Rancho Mirage", "GPE"),
              ("Lohan", "PERSON"), ("90 days", "DATE")]
QUAKE = "A 6.1 magnitude earthquake hit Aceh, killing 12 people, officials said."
QUAKE_ENTS = [("Aceh", "GPE")]
QUAKE2 = "The magnitude 6.1 quake struck Indonesia's Aceh province; at least 12 died and 200 were hurt."
QUAKE2_ENTS = [("Indonesia", "GPE"), ("Aceh", "GPE")]


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


def _features(a: tuple[str, list[tuple[str, str]]], b: tuple[str, list[tuple[str, str]]]) -> dict[str, float]:
    pa, pb = stories.profile(a[1], a[0]), stories.profile(b[1], b[0])
    return dict(zip(stories.FEATURES, stories.pair_features(0.8, 0.7, pa, pb)))


@pytest.mark.parametrize(
    "a,b,want",
    [
        # one event, two outlets: the same person, place and year; the protagonist named by both
        ((REID, REID_ENTS), (REID2, REID2_ENTS), {"people": 1.0, "places": 1.0, "protagonist": 1.0, "years": 1.0}),
        # the hard negative: another celebrity's rehab, another year, no name in common
        ((REID, REID_ENTS), (LOHAN, LOHAN_ENTS), {"people": 0.0, "places": 0.0, "protagonist": 0.0, "years": -1.0,
                                                   "entity_jaccard": 0.0}),
        # no people and no years: those features say nothing; the numbers 6.1 and 12 are shared, 200 is not
        ((QUAKE, QUAKE_ENTS), (QUAKE2, QUAKE2_ENTS), {"people": 0.0, "protagonist": 0.0, "years": 0.0, "places": 1.0,
                                                       "numbers": 2 / 3, "entity_jaccard": 0.5}),
        # the cosines pass through as given
        ((QUAKE, QUAKE_ENTS), (REID, REID_ENTS), {"cosine": 0.8, "lead_cosine": 0.7, "places": 0.0, "numbers": 0.0}),
    ],
)
def test_pair_features(a: tuple[str, list[tuple[str, str]]], b: tuple[str, list[tuple[str, str]]], want: dict[str, float]) -> None:
    got = _features(a, b)
    assert {k: round(got[k], 4) for k in want} == {k: round(v, 4) for k, v in want.items()}
    assert got == _features(b, a)  # a pair has no order


def test_a_profile_reads_names_years_and_numbers() -> None:
    p = stories.profile(LOHAN_ENTS, LOHAN)
    assert p.people == {"lindsay", "lohan"} and p.protagonist == "lohan"  # the possessive "Lohan's" is Lohan
    assert p.places == {"rancho", "mirage"} and p.groups == {"betty", "ford", "center"}
    assert p.years == {"2013"} and p.numbers == {"90"}  # a date entity is no name; a lone digit is no number
    assert "90 days" not in p.entities


def test_the_shipped_pair_model_matches_the_code(settings: Any) -> None:
    model = stories.pair_model()
    assert len(model.weights) == len(stories.FEATURES)
    assert 0.0 < model.threshold < 1.0
    card = json.loads(stories.MODEL.read_text(encoding="utf-8"))
    assert card["features"] == list(stories.FEATURES) and card["version"] == model.version
    sig = stories.signature(settings)
    assert f"pair-lr@{model.version}" in sig and f"thr:{settings.story_threshold}" in sig


def test_a_model_file_for_other_features_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    obj = json.loads(stories.MODEL.read_text(encoding="utf-8"))
    obj["features"] = obj["features"][:-1]
    monkeypatch.setattr(stories, "MODEL", tmp_path / "grouping.json")
    (tmp_path / "grouping.json").write_text(json.dumps(obj), encoding="utf-8")
    stories.pair_model.cache_clear()
    try:
        with pytest.raises(ValueError, match="refit"):
            stories.pair_model()
    finally:
        stories.pair_model.cache_clear()


@pytest.mark.slow
def test_the_shipped_out_of_fold_figure_is_the_cards(shared_data: Path) -> None:
    """Refit leave-one-topic-out on ECB+ dev: the out-of-fold pairwise figures are what grouping.json and its card say."""
    from mtaudit.lab import grouping_fit

    shipped = json.loads(stories.MODEL.read_text(encoding="utf-8"))
    result = grouping_fit.evaluate(shared_data / "ecbplus" / "ecbplus_docs.jsonl")
    oof = result["out_of_fold"]
    assert {k: oof[k] for k in ("precision", "recall", "f1")} == shipped["out_of_fold"]
    assert result["model"]["threshold"] == shipped["threshold"]
    assert result["model"]["weights"] == pytest.approx(shipped["weights"], abs=1e-4)
    card = (stories.MODEL.parent / "README.md").read_text(encoding="utf-8")
    assert f"| {oof['precision']:.3f} | {oof['recall']:.3f} | {oof['f1']:.3f} |" in card
