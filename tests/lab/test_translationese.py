"""The wmt22_translationese split: what make-data trains on and what the newsroom evaluation audits never meet."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from mtaudit.base.settings import Settings
from mtaudit.lab import makedata, newsroom, train, translationese
from mtaudit.stages import features, models


@pytest.fixture(scope="module")
def lines_path(shared_data: Path) -> Path:
    path = shared_data / "wmt22_translationese" / "lines.tsv.gz"
    if not path.exists():
        pytest.skip(f"{path} not found")
    return path


@pytest.fixture(scope="module")
def trained(lines_path: Path) -> list[makedata.Doc]:
    return makedata.translationese_docs(lines_path, 13, 2)


@pytest.mark.parametrize(("pair", "line", "other"), [("de-en", 1, 100), ("ja-en", 101, 200), ("en-cs", 1501, 1600)])
def test_a_chunk_falls_wholly_on_one_side(pair: str, line: int, other: int) -> None:
    assert translationese.chunk(pair, line) == translationese.chunk(pair, other)
    assert translationese.held_out(pair, line) == translationese.held_out(pair, other)
    assert translationese.chunk(pair, other + 1) != translationese.chunk(pair, other)


def test_about_half_the_chunks_are_held_out() -> None:
    sides = Counter(translationese.held_out(p, n) for p in translationese.NEURAL_PAIRS for n in range(1, 2001, translationese.CHUNK))
    assert 0.3 < sides[True] / sum(sides.values()) < 0.7


def test_windows_never_cross_a_chunk_edge() -> None:
    windows = translationese.grid(list(range(1, 401)), random.Random(1), "de-en")
    assert windows and all(translationese.chunk("de-en", w[0]) == translationese.chunk("de-en", w[-1]) for w in windows)
    assert all(translationese.WINDOW[0] <= len(w) <= translationese.WINDOW[1] for w in windows)


def test_training_windows_are_all_on_the_trained_side(trained: list[makedata.Doc]) -> None:
    kinds = Counter(d.kind for d in trained)
    assert kinds["t_mt"] > kinds["t_ht"] > kinds["t_original"] > 50
    for d in trained:
        pair, first = d.id.split(".")[1], int(d.id.rsplit(".", 1)[1].split("-")[0])
        assert not translationese.held_out(pair, first), d.id
        assert d.group == translationese.chunk(pair, first)
        assert d.label == (d.kind == "t_mt")
    # machine and human translations of the same lines share a group (one cross-validation fold)
    by_group = {}
    for d in trained:
        by_group.setdefault(d.group, set()).add(d.kind)
    assert any({"t_mt", "t_ht"} <= kinds for kinds in by_group.values())


def test_the_newsroom_evaluation_audits_only_held_out_lines(trained: list[makedata.Doc], shared_data: Path) -> None:
    plan = newsroom.Plan()
    sizes = newsroom.Sizes(ecb=0, roundtrip=0, roundtrip_story=0, wmt_original=40, wmt_articles=0, wmt_zh=0, neural=10,
                           reuters=0)
    newsroom._translationese_sets(plan, sizes, shared_data / "wmt22_translationese" / "lines.tsv.gz",
                                  shared_data / "wmt22_articles" / "articles.jsonl", Settings(), 13)
    items = [it for b in plan.batches for it in b.items]
    assert len(items) > 40
    seen = {makedata.text_sha(d.text) for d in trained}
    trained_lines = {s for d in trained for s in d.sentences}
    for it in items:
        pair, (lo, hi) = it.info["pair"], it.info["lines"]
        assert translationese.held_out(pair, lo) and translationese.held_out(pair, hi), it.id
        assert makedata.text_sha(it.text) not in seen
    shared = sum(line in trained_lines for it in items for line in it.text.split("\n"))
    assert shared < 0.02 * sum(len(it.text.split("\n")) for it in items)  # only lines a test set repeats


@pytest.mark.parametrize(("kind", "cls", "positive"), [("t_mt", "neural_mt_other", True), ("t_ht", "human_translation", False),
                                                       ("t_original", "original_mixed", False), ("wmt_mt", "neural_mt", True)])
def test_each_population_has_its_class(kind: str, cls: str, positive: bool) -> None:
    doc = makedata.Doc("x", "g", "wmt22t" if kind.startswith("t_") else "wmt22", kind, int(positive), ["A sentence here."])
    assert train.CLASSES[train.population(doc)] == cls
    assert (cls in train.POSITIVE) == positive


def test_a_sentence_model_fitted_on_other_sentences_is_not_carried() -> None:
    """--sentence-lm-from keeps a model's LM sentence model only when its sentences are these: here they are not."""
    texts = ["The minister said on Tuesday that talks would resume.", "the eleventh said the talks will resume on Tuesday.",
             "Prices rose sharply in the third quarter.", "The prices rose of form sharp in the third trimester."] * 10
    forms = features.title_forms(texts)
    rows = [features.sentence_features(t, forms) for t in texts]
    y, groups = [0, 1, 0, 1] * 10, [f"g{i // 4}" for i in range(40)]
    cfg = train.TrainConfig(sentence_lm_from=str(models.DETECTOR_DIR))
    scfg = train.TrainConfig(c=cfg.sentence_c)
    with pytest.raises(ValueError, match="other sentences"):
        train.carried_sentence_lm(cfg, rows, y, groups, train.names_for(rows[0], cfg.families + cfg.rules), scfg)
