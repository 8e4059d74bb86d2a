"""The encoder's word pieces: an empty text is [CLS] [SEP] alone, not a crash (one WMT22 row has an empty translation)."""

from __future__ import annotations

from typing import Any

from mtaudit.nlp import embed, registry


def test_an_empty_text_is_cls_and_sep_alone(settings: Any) -> None:
    tok = registry.get("encoder").tokenizer
    assert embed.word_pieces(tok, "") == embed.word_pieces(tok, "   ") == [tok.cls_token_id, tok.sep_token_id]
    assert embed.word_pieces(tok, "Xinhua said.")[1:-1] == tok.encode("Xinhua said.", add_special_tokens=False)
    (empty,) = embed.token_vectors([""], settings)
    assert empty.shape == (2, embed.DIM)
