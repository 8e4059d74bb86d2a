"""One typography-neutral form of a text, for the detector's features and for both sides of its training data.

Apertium's own tells (unknown-word marks, a space before punctuation) go too, so a feature cannot learn the
engine that made the training data instead of the translation.
"""

from __future__ import annotations

import re
import unicodedata

_MARKS = re.compile(r"(?<!\w)[*#@~](?=\w)")
_SPACE_PUNCT = re.compile(r"\s+([,.;:!?%)\]])")
_OPEN_SPACE = re.compile(r"([(\[])\s+")


def clean(text: str) -> str:
    """Remove Apertium's own tells: unknown-word marks, space before punctuation, double spaces."""
    text = _MARKS.sub("", text)
    text = _SPACE_PUNCT.sub(r"\1", text)
    text = _OPEN_SPACE.sub(r"\1", text)
    return re.sub(r"[ \t]{2,}", " ", text).strip()


def normalise(text: str) -> str:
    """Typography-neutral form for both sides of training data: quotes, apostrophes, dashes, spaces."""
    text = unicodedata.normalize("NFKC", text)
    for a, b in (("’", "'"), ("‘", "'"), ("“", '"'), ("”", '"'), ("–", "-"), ("—", "-"), ("\u00a0", " ")):
        text = text.replace(a, b)
    return clean(text)
