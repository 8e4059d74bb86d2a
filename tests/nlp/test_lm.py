"""The packaged LM's surprisal: what the fluency score and the detector's LM experiment read."""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest

from mtaudit.nlp import lm

# Padding invariance is a float32 property. bfloat16's kernels follow the batch shape: with the LM forced to it
# (MTAUDIT_LM_PRECISION=bfloat16) a token moved by up to 0.11 nats and an option's sum by 0.38 between alone and
# padded, on this project's AMX machine: why float32 is the default (the golden tests check both types' verdicts).
float32_only = pytest.mark.skipif(os.environ.get("MTAUDIT_LM_PRECISION") == "bfloat16",
                                  reason="padding invariance holds in float32; bfloat16 follows the batch shape")

FLUENT = "China's commerce ministry said on Saturday that it had approved some export licences for rare earth magnets."
GARBLED = "The ministry of the trade of China said Saturday that she approved some licences of export for magnets of land rare."
SHORT = "Xi spoke with Trump."


def test_garbled_word_order_costs_more_nats(settings: Any) -> None:
    fluent, garbled = lm.surprisal([FLUENT, GARBLED], settings)
    assert garbled.mean > fluent.mean + 0.3


@float32_only
def test_a_sentence_scores_the_same_alone_and_padded_in_a_batch(settings: Any) -> None:
    """Padding a short sentence to a long one's length must not change its tokens' surprisal."""
    together = lm._read([SHORT, FLUENT], settings.replace(batch_size=2))  # past the memory: two fresh reads
    for text, got in zip((SHORT, FLUENT), together):
        alone = lm._read([text], settings.replace(batch_size=1))[0]
        assert got.offsets == alone.offsets
        assert got.nats == pytest.approx(alone.nats, abs=1e-3)


def test_a_text_read_before_is_not_read_again(settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Memory answers repeats in and across calls with the first reading; the disk cache answers a later process
    (here: the memory emptied) with the same floats; only texts never read reach the LM."""
    settings = settings.replace(cache_dir=str(tmp_path))
    monkeypatch.setattr(lm, "_MEMO", OrderedDict())  # what earlier tests read is not remembered here
    first = lm.surprisal([FLUENT, SHORT, FLUENT], settings)
    assert first[0] is first[2]
    read: list[list[str]] = []
    real = lm._read
    monkeypatch.setattr(lm, "_read", lambda texts, s: read.append(list(texts)) or real(texts, s))
    again = lm.surprisal([SHORT, GARBLED, FLUENT], settings)
    assert read == [[GARBLED]]
    assert again[0] is first[1] and again[2] is first[0] and again[1].text == GARBLED
    monkeypatch.setattr(lm, "_MEMO", OrderedDict())  # a new process, the same cache folder
    later = lm.surprisal([FLUENT, GARBLED], settings)
    assert read == [[GARBLED]]
    assert later[0] == first[0] and later[1] == again[1]  # offsets and nats, every float equal
    options = lm.continuation_logprob("China approved licences for rare", [" earth magnets", " land magnets"], settings)
    lm._OPTIONS.clear()
    monkeypatch.setattr(lm, "_options_logprob", lambda *a: pytest.fail("read again"))
    assert lm.continuation_logprob("China approved licences for rare", [" earth magnets", " land magnets"], settings) == options


def test_offsets_point_at_the_predicted_tokens(settings: Any) -> None:
    res = lm.surprisal([SHORT], settings)[0]
    assert len(res.nats) == len(res.offsets) > 0
    assert res.offsets[0][0] > 0  # the first token ("X" of "Xi") has no prediction: the first predicted one follows it
    assert "Trump" in "".join(SHORT[a:b] for a, b in res.offsets)


@float32_only
def test_conditional_reads_only_the_target_and_ignores_padding(settings: Any) -> None:
    """log P(target | prefix) per token: the same alone and beside a longer row, and the prefix matters."""
    prefix = "Sentence: " + FLUENT + "\nThe same sentence in other words: "
    together = lm.conditional_tokens([prefix, "Headline: "], [FLUENT, SHORT], settings.replace(batch_size=2))
    alone = [lm.conditional_tokens([p], [t], settings.replace(batch_size=1))[0] for p, t in ((prefix, FLUENT), ("Headline: ", SHORT))]
    assert [len(v) for v in together] == [len(v) for v in alone] and all(v.max() <= 0 for v in together)
    for a, b in zip(together, alone):
        assert a == pytest.approx(b, abs=1e-3)  # token by token
    unprimed = lm.conditional_tokens(["Headline: "], [FLUENT], settings)[0]
    assert together[0].mean() > unprimed.mean() + 0.5  # having just read the sentence, the LM predicts it far better


@pytest.mark.parametrize(("precision", "device", "expected"), [("float32", "cpu", "float32"), ("bfloat16", "cpu", "bfloat16")])
def test_an_explicit_precision_is_kept(precision: str, device: str, expected: str) -> None:
    from mtaudit.nlp import registry

    assert registry.lm_dtype(precision, device) == expected
    assert registry.lm_dtype("auto", "cpu") == registry.lm_dtype("auto", "auto") == "float32"  # whatever the CPU: reports must not depend on it


def test_bfloat16_reads_like_float32_and_says_so(settings: Any) -> None:
    """The faster number type moves token surprisal by hundredths of a nat and keeps the garbled sentence costlier."""
    import numpy as np

    f32, b16 = settings.replace(lm_precision="float32"), settings.replace(lm_precision="bfloat16")
    (fa, _), (fb, gb) = lm.surprisal([FLUENT, GARBLED], f32), lm.surprisal([FLUENT, GARBLED], b16)
    assert fa.offsets == fb.offsets
    assert float(np.mean(np.abs(np.array(fa.nats) - np.array(fb.nats)))) < 0.15
    assert gb.mean > fb.mean + 0.3
    assert "dtype:bfloat16" in lm.signature(b16) and "dtype:float32" in lm.signature(f32)


@float32_only
def test_options_read_together_score_as_read_alone(settings: Any) -> None:
    """The collocation and wording signals' options share one padded pass; each keeps its own value."""
    prefix = "China's commerce ministry said it had approved export licences for rare"
    options = [" earth magnets.", " land magnets made in the provinces of the north.", " earth"]
    lm._OPTIONS.clear()
    together = lm.continuation_logprob(prefix, options, settings)
    alone = [lm._options_logprob(prefix, [o], settings)[0] for o in options]
    assert together == pytest.approx(alone, abs=1e-4)  # float32 rounding of a ~50-nat sum (1e-5 seen); a padding leak moves hundredths
    assert together[0] > together[1]  # the collocation reads likelier than the calque
    assert lm.continuation_logprob(prefix, options[:1], settings) == together[:1]  # remembered


def test_onednn_kernel_cache_is_bounded_unless_the_caller_chose(monkeypatch: pytest.MonkeyPatch) -> None:
    """bfloat16 matmuls keep a kernel per shape; at oneDNN's default of 1,024 they grew a long audit by up to 0.7 GB."""
    from mtaudit.nlp import registry

    monkeypatch.delenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY", raising=False)
    registry.offline()
    assert os.environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] == registry.ONEDNN_CACHE == "128"
    monkeypatch.setenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "7")
    registry.offline()
    assert os.environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] == "7"
