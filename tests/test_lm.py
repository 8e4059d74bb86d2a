"""The packaged LM's surprisal: what the fluency score and the detector's LM experiment read."""

from __future__ import annotations

from typing import Any

import pytest

from mtaudit import lm

FLUENT = "China's commerce ministry said on Saturday that it had approved some export licences for rare earth magnets."
GARBLED = "The ministry of the trade of China said Saturday that she approved some licences of export for magnets of land rare."
SHORT = "Xi spoke with Trump."


def test_garbled_word_order_costs_more_nats(settings: Any) -> None:
    fluent, garbled = lm.surprisal([FLUENT, GARBLED], settings)
    assert garbled.mean > fluent.mean + 0.3


def test_a_sentence_scores_the_same_alone_and_padded_in_a_batch(settings: Any) -> None:
    """Padding a short sentence to a long one's length must not change its tokens' surprisal."""
    together = lm.surprisal([SHORT, FLUENT], settings.replace(batch_size=2))
    for text, got in zip((SHORT, FLUENT), together):
        alone = lm.surprisal([text], settings.replace(batch_size=1))[0]
        assert got.offsets == alone.offsets
        assert got.nats == pytest.approx(alone.nats, abs=1e-3)


def test_offsets_point_at_the_predicted_tokens(settings: Any) -> None:
    res = lm.surprisal([SHORT], settings)[0]
    assert len(res.nats) == len(res.offsets) > 0
    assert res.offsets[0][0] > 0  # the first token ("X" of "Xi") has no prediction: the first predicted one follows it
    assert "Trump" in "".join(SHORT[a:b] for a, b in res.offsets)
