"""Real machine translation for building training and test data: Apertium round trips.

Apertium (Debian packages apertium-eng-spa, apertium-eng-cat) is rule-based MT that runs
offline. Its output carries typographic tells neural MT does not (``*``/``#``/``@`` marks on
unknown words, a space before punctuation, straight apostrophes, double spaces); ``clean``
removes them and ``normalise`` is applied to *both* sides of any training pair, so a
detector learns the damage, not the engine's typography.
"""

from __future__ import annotations

import gzip
import logging
import os
import random
import re
import shutil
import subprocess
from pathlib import Path

from mtaudit.text.normalise import clean, normalise  # noqa: F401  (roundtrip.normalise: the data scripts' name for it)

log = logging.getLogger(__name__)
# Debian's English pairs that go both ways. Left out: eng-hbs (Serbo-Croatian) turns every quotation mark
# into "parquote"; en-eo (Esperanto), measured 2026-11-30 as a fourth pivot, cost the coverage model 2 points
PIVOTS = {"spa": ("eng-spa", "spa-eng"), "cat": ("eng-cat", "cat-eng"), "glg": ("en-gl", "gl-en")}


def available() -> list[str]:
    """Pivot languages whose Apertium modes are installed here."""
    if shutil.which("apertium") is None:
        return []
    try:
        modes = subprocess.run(["apertium", "-l"], capture_output=True, text=True, timeout=30).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return []
    return [p for p, (there, back) in PIVOTS.items() if there in modes and back in modes]


def translate(lines: list[str], mode: str, timeout: float = 600) -> list[str]:
    """One Apertium call for many lines; unknown words keep their form (``-u`` drops ``*``).

    Apertium sometimes loses lines (seen: eng-cat prints nothing for "showed little emotion."
    followed by "Horton said she is now caring.") or dies on one (seen: eng-cat, exit 141, on
    an ECB+ article). Then the batch is halved until the line at fault is found; that line is
    kept untranslated (and logged) so lines stay paired and the rest is translated.
    """
    if not lines:
        return []
    flat = [" ".join(line.split()) for line in lines]
    try:
        out = _apertium(flat, mode, timeout)
    except subprocess.CalledProcessError as exc:
        out, why = [], f"exited with {exc.returncode}"
    else:
        why = "lost a line"
    if len(out) == len(flat):
        return out
    if len(flat) == 1:
        log.warning("apertium %s %s; kept untranslated: %.80s", mode, why, flat[0])
        return flat
    half = len(flat) // 2
    return translate(flat[:half], mode, timeout) + translate(flat[half:], mode, timeout)


def _apertium(flat: list[str], mode: str, timeout: float) -> list[str]:
    # a blank line between inputs: with single newlines Apertium joins a line ending "2 p." to the next
    proc = subprocess.run(
        ["apertium", "-u", mode], input="\n\n".join(flat) + "\n", capture_output=True, text=True, timeout=timeout, check=True
    )
    return [part.strip() for part in re.split(r"\n[ \t]*\n", proc.stdout.strip("\n"))] if proc.stdout.strip() else []


def roundtrip(lines: list[str], pivot: str = "spa") -> list[str]:
    """English -> pivot -> English, cleaned of the engine's typographic marks."""
    there, back = PIVOTS[pivot]
    return [clean(line) for line in translate(translate(lines, there), back)]


# --- FreeDict literal substitution -------------------------------------------------------

DICT_DIR = "/usr/share/dictd"
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?")


def _b64(s: str) -> int:
    n = 0
    for c in s:
        n = n * 64 + _B64.index(c)
    return n


class FreeDict:
    """A dictd dictionary (``freedict-eng-fra.index`` + ``.dict.dz``) read without dictd.

    ``senses(word)`` gives the translations of the first sense, in the dictionary's order.
    """

    def __init__(self, pair: str, folder: str = DICT_DIR) -> None:
        base = Path(folder) / f"freedict-{pair}"
        self.pair = pair
        self.index: dict[str, tuple[int, int]] = {}
        with open(f"{base}.index", encoding="utf-8") as fh:
            for line in fh:
                parts = line.rstrip("\n").split("\t")
                if len(parts) == 3 and not parts[0].startswith("00database"):
                    self.index.setdefault(parts[0].lower(), (_b64(parts[1]), _b64(parts[2])))
        with gzip.open(f"{base}.dict.dz") as fh:  # dictzip is gzip-compatible
            self.data = fh.read()

    def senses(self, word: str) -> list[str]:
        at = self.index.get(word.lower())
        if at is None:
            return []
        entry = self.data[at[0] : at[0] + at[1]].decode("utf-8", "replace").split("\n")[1:]
        body = next((ln for ln in entry if ln.strip() and not ln.strip().startswith(("<", "Note", "Synonym", "see"))), "")
        body = re.sub(r"^\s*\d+\.\s*", "", body)
        body = re.sub(r"\([^)]*\)|<[^>]*>|\[[^]]*\]", "", body)
        return [s.strip() for s in re.split(r"[,;]", body) if s.strip() and len(s.split()) <= 2]


def freedict_available(lang: str, folder: str = DICT_DIR) -> bool:
    return all(os.path.exists(f"{folder}/freedict-{p}.index") for p in (f"eng-{lang}", f"{lang}-eng"))


def literal(sentence: str, there: FreeDict, back: FreeDict, rate: float, rng: object, names: bool = True) -> str:
    """Word-by-word through another language and back: "rare earth" -> "terre rare" -> "rare ground".

    Each content word with a dictionary entry is replaced, with probability ``rate``, by a
    back-translation of its first translation that differs from it; capitalised words go
    through too (a name read as a word: "Trump" -> "atout" -> "Asset" in a larger dictionary).
    """

    assert isinstance(rng, random.Random)
    out, pos = [], 0
    for m in _WORD.finditer(sentence):
        word = m.group()
        if len(word) < 3 or (word[:1].isupper() and (not names or m.start() == 0)) or rng.random() >= rate:
            continue
        options = []
        for foreign in there.senses(word)[:2]:
            options += [w for w in back.senses(foreign) if w.lower() != word.lower() and w.isascii()]
        if not options:
            continue
        new = options[0] if rng.random() < 0.7 else rng.choice(options)
        new = new[:1].upper() + new[1:] if word[:1].isupper() else new.lower()
        out.append(sentence[pos : m.start()] + new)
        pos = m.end()
    out.append(sentence[pos:])
    return "".join(out)
