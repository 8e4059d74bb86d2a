"""Real machine translation for building training and test data: Apertium round trips.

Apertium (Debian packages apertium-eng-spa, apertium-eng-cat) is rule-based MT that runs
offline. Its output carries typographic tells neural MT does not (``*``/``#``/``@`` marks on
unknown words, a space before punctuation, straight apostrophes, double spaces); ``clean``
removes them and ``normalise`` is applied to *both* sides of any training pair, so a
detector learns the damage, not the engine's typography.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata

PIVOTS = {"spa": ("eng-spa", "spa-eng"), "cat": ("eng-cat", "cat-eng")}
_MARKS = re.compile(r"(?<!\w)[*#@~](?=\w)")
_SPACE_PUNCT = re.compile(r"\s+([,.;:!?%)\]])")
_OPEN_SPACE = re.compile(r"([(\[])\s+")


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
    """One Apertium call for many lines; unknown words keep their form (``-u`` drops ``*``)."""
    if not lines:
        return []
    flat = [" ".join(line.split()) for line in lines]
    proc = subprocess.run(
        ["apertium", "-u", mode], input="\n".join(flat) + "\n", capture_output=True, text=True, timeout=timeout, check=True
    )
    out = proc.stdout.rstrip("\n").split("\n")
    if len(out) != len(flat):
        raise RuntimeError(f"apertium {mode} returned {len(out)} lines for {len(flat)}")
    return out


def roundtrip(lines: list[str], pivot: str = "spa") -> list[str]:
    """English -> pivot -> English, cleaned of the engine's typographic marks."""
    there, back = PIVOTS[pivot]
    return [clean(line) for line in translate(translate(lines, there), back)]


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
