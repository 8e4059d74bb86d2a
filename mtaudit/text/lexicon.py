"""The one lexicon: what a word is, how common it is in English and elsewhere, which pairs are fixed phrases.

Every signal and feature tokenizes and looks words up here, so "a word" means the same thing everywhere.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from functools import cached_property, lru_cache

from wordfreq import zipf_frequency

# A word: letters, joined by single apostrophes or hyphens ("don't", "Xi-led"); digits and "_" are not letters.
WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
ORDINALS = (
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
    "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
    "eighteenth", "nineteenth", "twentieth",
)


# Word-frequency look-ups, least recently used out: a news batch's everyday words fit well within
# these; larger limits (300k and 100k) only let memory grow with the batch (~0.35 KB an entry),
# and wordfreq keeps its own cache of the underlying look-up.
@lru_cache(maxsize=65_536)
def zipf(word: str, lang: str = "en") -> float:
    return zipf_frequency(word.lower(), lang)


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    from spacy.lang.en.stop_words import STOP_WORDS  # spaCy's import costs ~1 s; only the signals that read stop words pay it

    return frozenset(STOP_WORDS)


@lru_cache(maxsize=1)
def bigrams() -> dict[tuple[str, str], int]:
    """symspellpy's English bigram counts (242k pairs): which two-word phrases are fixed.

    The words are interned: a word is in many pairs, and one string for it instead of one per pair holds the table
    in 34 MB of RSS instead of 62 (measured alone, 2026-12-07).
    """
    import symspellpy  # read once, when the first collocation is checked

    path = os.path.join(os.path.dirname(symspellpy.__file__), "frequency_bigramdictionary_en_243_342.txt")
    table: dict[tuple[str, str], int] = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            a, b, count = line.split()
            table[(sys.intern(a), sys.intern(b))] = int(count)
    return table


def name_key(word: str) -> str:
    """Comparison key of a name: lower case, a straight apostrophe, no possessive ("Hegseth’s" = "hegseth")."""
    key = word.lower().replace("’", "'")
    return key[:-2] if key.endswith("'s") and len(key) > 3 else key


@dataclass
class Token:
    start: int  # offset into the text given (plus the offset asked for)
    end: int
    text: str

    @cached_property
    def plain(self) -> str:
        """Lower case with a straight apostrophe: the form the features count."""
        return self.text.lower().replace("’", "'")

    @cached_property
    def key(self) -> str:
        """Comparison key of a name: :attr:`plain` without a possessive ("Hegseth’s" = "hegseth").

        Cached on the token: the signals read it in their inner loops.
        """
        return name_key(self.plain)

    @property
    def capitalised(self) -> bool:
        return self.text[:1].isupper()


def tokens(text: str, offset: int = 0) -> list[Token]:
    """Every word of ``text`` with its offsets (shifted by ``offset``)."""
    return [Token(offset + m.start(), offset + m.end(), m.group()) for m in WORD.finditer(text)]
