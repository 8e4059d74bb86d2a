"""WMT22 translationese lines (``shared/data/wmt22_translationese``): one split that training and evaluation share.

The lines carry no document boundaries, so a window of consecutive lines stands in for an article.
Every line falls in a chunk of ``CHUNK`` consecutive line numbers of its pair; a chunk is either
trained on (``make-data``) or held out (``mtaudit eval --newsroom``), never both. The machine and
human translations of one source line share its pair and line, so they always fall on the same side
and in the same cross-validation group: MT and human translation of one text are never split.
Windows never cross a chunk's edge; a document that does is the only text the two sides can share.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import random
from pathlib import Path
from typing import Any

CHUNK = 100  # consecutive lines a chunk: several documents of the test set
HELD_OUT_SHARE = 0.5  # chunks kept for evaluation
SPLIT_SEED = "wmt22_translationese:v1"
WINDOW = (12, 20)  # lines a window, drawn per window (a short news article's length)
NEURAL_PAIRS = ("cs-en", "de-en", "ja-en", "ru-en", "uk-en")


def read_lines(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        return [{**r, "line": int(r["line"]), "block": int(r["block"])}
                for r in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)]


def chunk(pair: str, line: int) -> str:
    """The chunk a line belongs to: its cross-validation group and the unit of the split."""
    return f"wmt22t:{pair}:{(line - 1) // CHUNK}"


def held_out(pair: str, line: int) -> bool:
    """Whether a line is kept for evaluation (a fixed hash of its chunk: the same on every machine)."""
    h = int(hashlib.sha256(f"{SPLIT_SEED}|{chunk(pair, line)}".encode()).hexdigest()[:8], 16)
    return h / 0xFFFFFFFF < HELD_OUT_SHARE


def grid(lines: list[int], rng: random.Random, pair: str) -> list[list[int]]:
    """Runs of consecutive line numbers cut into windows of ``WINDOW`` lines (length drawn per window), no overlap,
    none across a chunk's edge."""
    out, run = [], []
    for n in sorted(lines):
        if run and (n != run[-1] + 1 or chunk(pair, n) != chunk(pair, run[-1])):
            out += _cut(run, rng)
            run = []
        run.append(n)
    return out + _cut(run, rng)


def _cut(run: list[int], rng: random.Random) -> list[list[int]]:
    out = []
    for lo in range(0, len(run), WINDOW[1]):
        size = rng.randint(*WINDOW)
        if len(run) - lo >= size:
            out.append(run[lo : lo + size])
    return out


def by_text(rows: list[dict[str, Any]]) -> dict[tuple[str, str, str], dict[int, str]]:
    """(kind, pair, system or original block) -> line number -> text."""
    text: dict[tuple[str, str, str], dict[int, str]] = {}
    for r in rows:
        key = (r["kind"], r["pair"], r["system"] if r["kind"] != "original" else str(r["block"]))
        text.setdefault(key, {})[r["line"]] = r["text"]
    return text


def side(lines: dict[int, str] | list[int], pair: str, evaluation: bool) -> list[int]:
    """The line numbers of one side of the split."""
    return [n for n in lines if held_out(pair, n) == evaluation]


Key = tuple[str, str, str]  # a key of ``by_text``


def translated_windows(text: dict[Key, dict[int, str]], pair: str, evaluation: bool,
                       rng: random.Random) -> list[tuple[list[int], list[Key], list[Key]]]:
    """Windows of one pair's side of the split, each with the MT outputs and the human references that have every line."""
    mt = sorted(k for k in text if k[0] == "machine" and k[1] == pair)
    refs = sorted(k for k in text if k[0] == "human" and k[1] == pair)
    every = sorted(set().union(*(text[k] for k in mt))) if mt else []
    return [(w, [k for k in mt if all(n in text[k] for n in w)], [k for k in refs if all(n in text[k] for n in w)])
            for w in grid(side(every, pair, evaluation), rng, pair)]
