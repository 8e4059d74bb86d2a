"""Names mangled as a transliteration round trip mangles them, found and repaired from the other outlets: measured on ECB+.

``python -m mtaudit.lab.repairs_eval [--half tune|other|both] [--grouping gold|pipeline|both] [--limit N] [--json]``

From ECB+ (``../shared/data/ecbplus``: documents of one ``subtopic`` are several outlets' articles on one
event), each story with three or more documents gives one victim, a seeded pick. spaCy's NER (the model
story grouping reads) finds the victim's names of people, places and organisations; a seeded half of
its distinct names are mangled at every place the NER finds them (``mangle``), the rest of the text is
left as written. The victim is audited through the pipeline (``pipeline.audit_articles``) twice:

- with the gold stories: its references are the other documents of its ECB+ sub-topic;
- with the pipeline's own grouping over the victims and every other document of the half's topics
  (both sub-topics of a topic, one the hard negative): what a user's batch gets.

For each mangled occurrence where two or more other documents of the gold story write the true name
("eligible"), we count: found (a span of any kind covers it), repaired (the supported suggestions over it,
applied as ``reference.repair`` applies them, give the true name back, nothing else), wrong (a repair over
it gives anything else, a part of the name included). Repairs elsewhere on the damaged article are counted
too, and the victim as written is audited the same two ways: every span or repair there is a false alarm.

Topics are split in two by a seeded hash: constants are tuned on ``tune`` only; ``other`` is reported
beside it to show what the tuning did not see.
"""

from __future__ import annotations

import json
import random
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtaudit.base.settings import Settings, load_settings
from mtaudit.base.types import Article, Span
from mtaudit.lab import storyeval
from mtaudit.lab.paths import SHARED_DATA
from mtaudit.nlp import registry
from mtaudit.stages import pipeline, reference
from mtaudit.text.lexicon import zipf

DEFAULT_DATA = SHARED_DATA / "ecbplus" / "ecbplus_docs.jsonl"
SEED = 31  # issue 31: the topic split, the victims, the names picked and their mangling
NAME_SHARE = 0.5  # share of a victim's distinct names mangled (at least one)
LABELS = ("PERSON", "ORG", "GPE", "LOC", "FAC")  # spaCy labels of names; NORP (Chinese, Democrats) a round trip translates
KEPT_ZIPF = 4.5  # a name word English uses this much (White, House, Obama, China) the MT dictionary holds both ways: kept
HALVES = ("tune", "other")
GROUPINGS = ("gold", "pipeline")

# --- the mangler ------------------------------------------------------------------------------------------
#
# Written from what the seeds show and what transliteration through a syllabary or a Cyrillic or Chinese
# phonetic spelling does to a name on its way back, not fitted to anything: Xinhua -> Shinchoa (x -> sh, an
# aspirate hardened, u -> o), Friedrich Merz -> Fredchich Mirz (a vowel pair simplified, r -> ch, e -> i),
# Pete Hegseth -> Beit Higseth (voicing p -> b, a long vowel rewritten, e -> i). Each word is changed by
# one to three edits (longer words more), each edit one of:
#   - a spelling cluster rewritten as the sound is written back (ph -> f, th -> s/t/z, x -> sh/ks, ch -> sh/k,
#     ee/ea -> i, ou -> u, w -> v, c -> k/s, j -> zh/dzh, y -> i ...);
#   - a consonant swapped with its voiced or voiceless twin, or l <-> r, m <-> n (the scripts merge them);
#   - a vowel moved to a neighbour (e <-> i, o <-> u, a -> e/o);
#   - a letter dropped (a double letter, an h after a consonant, a final e) or added (a vowel between two
#     consonants or after a final one, as syllabaries need; an h after k/g/t as Cyrillic kh, gh, th).
# The first letter is kept (edits start at the second letter) except for a voicing swap or a cluster
# rewrite, with probability FIRST_LETTER; the word keeps its capital. The rng is seeded by the seed and
# the word, so a word mangles the same way at every place in an article, as one translation does.
FIRST_LETTER = 0.15

CLUSTERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ph", ("f",)), ("th", ("s", "t", "z")), ("ck", ("k",)), ("qu", ("kv", "k")), ("x", ("sh", "ks")),
    ("sh", ("s", "sch")), ("ch", ("sh", "k", "tch")), ("ee", ("i",)), ("ea", ("i", "e")), ("ie", ("i", "e")),
    ("ei", ("ai", "e")), ("ou", ("u", "o")), ("oo", ("u",)), ("ai", ("ei", "e")), ("ay", ("ei", "ai")),
    ("au", ("o", "ao")), ("j", ("zh", "dzh", "y")), ("w", ("v", "u")), ("c", ("k", "s")), ("y", ("i",)),
    ("er", ("ir", "a")), ("ow", ("au", "ov")),
)
TWINS = {"p": "b", "b": "p", "t": "d", "d": "t", "k": "g", "g": "k", "f": "v", "v": "f", "s": "z", "z": "s",
         "l": "r", "r": "l", "m": "n", "n": "m"}
VOWEL_MOVES = {"a": ("e", "o"), "e": ("i", "a"), "i": ("e", "y"), "o": ("u", "a"), "u": ("o", "a")}
VOWELS = "aeiou"
EDIT_WEIGHTS = (("cluster", 0.25), ("consonant", 0.25), ("vowel", 0.3), ("drop", 0.1), ("add", 0.1))


def _edit(word: str, rng: random.Random) -> str:
    """One edit of a lower-case word, or the word unchanged when the drawn edit has no place in it."""
    kind = rng.choices([k for k, _ in EDIT_WEIGHTS], [w for _, w in EDIT_WEIGHTS])[0]
    lo = 0 if kind in ("cluster", "consonant") and rng.random() < FIRST_LETTER else 1
    if kind == "cluster":
        places = [(i, pat, subs) for pat, subs in CLUSTERS for i in range(lo, len(word)) if word.startswith(pat, i)]
        if places:
            i, pat, subs = rng.choice(places)
            return word[:i] + rng.choice(subs) + word[i + len(pat):]
    elif kind == "consonant":
        places = [i for i in range(lo, len(word)) if word[i] in TWINS]
        if places:
            i = rng.choice(places)
            return word[:i] + TWINS[word[i]] + word[i + 1:]
    elif kind == "vowel":
        places = [i for i in range(1, len(word)) if word[i] in VOWEL_MOVES]
        if places:
            i = rng.choice(places)
            return word[:i] + rng.choice(VOWEL_MOVES[word[i]]) + word[i + 1:]
    elif kind == "drop":
        places = [i for i in range(1, len(word)) if word[i] == word[i - 1] or (word[i] == "h" and word[i - 1] not in VOWELS)]
        if word.endswith("e") and len(word) > 3:
            places.append(len(word) - 1)
        if places:
            i = rng.choice(places)
            return word[:i] + word[i + 1:]
    else:
        places = [i for i in range(2, len(word) + 1) if word[i - 1] not in VOWELS and (i == len(word) or word[i] not in VOWELS)]
        places += [i for i in range(2, len(word)) if word[i - 1] in "kgt" and word[i] != "h"]
        if places:
            i = rng.choice(places)
            add = "h" if i < len(word) and word[i - 1] in "kgt" and word[i] not in VOWELS and rng.random() < 0.5 else rng.choice("aiuo")
            return word[:i] + add + word[i:]
    return word


def mangle(word: str, seed: int = SEED) -> str:
    """The word as a transliteration round trip might bring it back (never the word itself); see the rules above."""
    rng = random.Random(storyeval.rank(f"mangle:{word}", seed))
    low = word.lower()
    edits = 1 + (len(word) >= 6) + (rng.random() < 0.3)
    out, done = low, 0
    for _ in range(40):  # an edit with no place in the word, or one that undoes an earlier, is drawn again
        if done >= edits and out != low:
            break
        new = _edit(out, rng)
        if new != out:
            out, done = new, done + 1
    if out == low:
        out = low + "a"
    return out[:1].upper() + out[1:] if word[:1].isupper() else out


def manglable(word: str) -> bool:
    """A word of a name a round trip spells by sound: capitalised, letters only, not an acronym, not an everyday word."""
    return (len(word) >= 3 and word.isalpha() and word[:1].isupper() and not word.isupper()
            and zipf(word) < KEPT_ZIPF)


# --- stories and damage ---------------------------------------------------------------------------------

@dataclass
class Occurrence:
    line: int
    start: int  # in the damaged line
    end: int
    true: str
    mangled: str
    label: str
    carried: int  # other documents of the gold story that write the true name


@dataclass
class Victim:
    story: str
    topic: int
    doc: dict[str, Any]
    others: list[dict[str, Any]]
    lines: list[str] = field(default_factory=list)  # as written
    damaged: list[str] = field(default_factory=list)
    occurrences: list[Occurrence] = field(default_factory=list)


def split(topics: set[int], seed: int = SEED) -> dict[int, str]:
    """Each topic's half: topics sorted by a seeded hash, the first half tunes (both sub-topics of a topic stay together)."""
    order = sorted(topics, key=lambda t: storyeval.rank(f"topic:{t}", seed))
    return {t: HALVES[n >= len(order) // 2] for n, t in enumerate(order)}


def load_victims(path: Path = DEFAULT_DATA, seed: int = SEED) -> list[Victim]:
    """One victim per story of three or more documents, picked as ``mtaudit story-eval`` picks its victims."""
    return [Victim(s.story_id, int(s.victim["topic"]), s.victim, s.others) for s in storyeval.load_stories(path, None, seed)]


def _carried(name: str, others: list[dict[str, Any]]) -> int:
    pattern = re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])")
    return sum(bool(pattern.search(d["text"])) for d in others)


def damage(victims: list[Victim], seed: int = SEED) -> None:
    """Mangle a seeded share of each victim's distinct names wherever the NER finds them (one NER pass for all)."""
    nlp = registry.get("ner")
    for v in victims:
        v.lines = v.doc["text"].split("\n")
    flat = [(v, i, line) for v in victims for i, line in enumerate(v.lines)]
    with nlp.select_pipes(enable=[n for n in ("ner",) if n in nlp.pipe_names]):
        docs = list(nlp.pipe([line for _, _, line in flat], batch_size=32))
    ents: dict[int, list[tuple[int, int, int, str, str]]] = {}
    for (v, i, _), doc in zip(flat, docs):
        ents.setdefault(id(v), []).extend((i, e.start_char, e.end_char, e.text, e.label_) for e in doc.ents if e.label_ in LABELS)
    for v in victims:
        found = ents.get(id(v), [])
        names = sorted({text for *_, text, _ in found if any(manglable(w) for w in re.findall(r"[A-Za-z]+", text))})
        rng = random.Random(storyeval.rank(f"names:{v.story}", seed))
        picked = {n for n in names if rng.random() < NAME_SHARE} or set(names[:1])
        v.damaged = list(v.lines)
        for i in range(len(v.lines)):
            here = sorted((e for e in found if e[0] == i and e[3] in picked), key=lambda e: e[1])
            line, out, pos, shift = v.lines[i], [], 0, 0
            for _, a, b, text, label in here:
                if a < pos:
                    continue  # overlapping entities: the first one holds the place
                new = re.sub(r"[A-Za-z]+", lambda m: mangle(m.group(), seed) if manglable(m.group()) else m.group(), text)
                out.append(line[pos:a] + new)
                start = a + shift
                v.occurrences.append(Occurrence(i, start, start + len(new), text, new, label, _carried(text, v.others)))
                shift += len(new) - len(text)
                pos = b
            v.damaged[i] = "".join(out) + line[pos:]


# --- audit and counts -----------------------------------------------------------------------------------

def _audit(victims: list[Victim], lines_of: str, grouping: str, settings: Settings, path: Path) -> list[tuple[Article, dict[str, Any]]]:
    """The victims (damaged or as written) audited in one pipeline call, against the gold stories or the pipeline's grouping."""
    arts = [storyeval.lines_article(getattr(v, lines_of), f"{v.doc['doc_id']}:{lines_of}") for v in victims]
    context: list[Article] = []
    story_of: dict[str, str | None] = {}
    topics = {v.topic for v in victims}
    victim_ids = {v.doc["doc_id"] for v in victims}
    if grouping == "gold":
        for v, a in zip(victims, arts):
            story_of[a.article_id] = v.story
            for o in storyeval.context_articles(v.others, settings).values():
                context.append(o)
                story_of[o.article_id] = v.story
    else:  # every other document of the half's topics, both sub-topics: the grouping must find the story
        with open(path, encoding="utf-8") as fh:
            rows = [d for d in map(json.loads, fh) if int(d["topic"]) in topics and d["doc_id"] not in victim_ids]
        context = list(storyeval.context_articles(rows, settings).values())
    reports = pipeline.audit_articles(arts, settings, story_of=story_of or None, context=context)
    return list(zip(arts, reports))


def _spans(sentence: dict[str, Any]) -> list[Span]:
    return [Span(**{k: sp[k] for k in Span.__dataclass_fields__}) for sp in sentence["spans"]]


def count_damaged(victim: Victim, article: Article, report: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    """Per mangled occurrence: found, repaired or wrong; and the repairs that touch no mangled name."""
    rows, elsewhere = [], 0
    touched: set[int] = set()
    by_line: dict[int, list[Occurrence]] = {}
    for occ in victim.occurrences:
        by_line.setdefault(occ.line, []).append(occ)
    for sent, rep in zip(article.sentences, report["sentences"]):
        spans = _spans(rep)
        fixes = reference.supported_fixes([s for s in spans if sent.start <= s.start < s.end <= sent.end])
        for occ in by_line.get(sent.index, []):
            a, b = sent.start + occ.start, sent.start + occ.end
            over = [s for s in spans if s.start < b and a < s.end]
            mine = [f for f in fixes if f.start < b and a < f.end]
            touched.update(id(f) for f in mine)
            result = "missed" if not over else "found"
            if mine:
                lo, hi = min(f.start for f in mine) - sent.start, max(f.end for f in mine) - sent.start
                want = sent.text
                for o in sorted((o for o in by_line[sent.index] if o.start < hi and lo < o.end), key=lambda o: -o.start):
                    want = want[: o.start] + o.true + want[o.end :]
                result = "repaired" if (reference.repair(article, sent, mine) or "").casefold() == want.casefold() else "wrong"
                if result == "repaired" and rep["repaired"] is None:
                    raise AssertionError(f"{report['source']}: a repair the report does not carry")
            rows.append({"story": victim.story, "line": sent.index, "true": occ.true, "mangled": occ.mangled,
                         "label": occ.label, "carried": occ.carried, "result": result,
                         "kinds": sorted({s.kind for s in over}),
                         "suggestions": [f.suggestion for f in mine], "story_articles": len(report["story_articles"])})
        elsewhere += sum(id(f) not in touched for f in fixes)
    return rows, elsewhere


def count_original(report: dict[str, Any]) -> dict[str, int]:
    """False alarms on the victim as written: spans (name kinds apart) and repaired sentences."""
    spans = [sp for s in report["sentences"] for sp in s["spans"]]
    return {"spans": len(spans), "name_spans": sum(sp["kind"] in ("name_mismatch", "name_as_word") for sp in spans),
            "repairs": sum(s["repaired"] is not None for s in report["sentences"])}


def summary(rows: list[dict[str, Any]], elsewhere: int, originals: list[dict[str, int]]) -> dict[str, Any]:
    eligible = [r for r in rows if r["carried"] >= 2]

    def share(k: int, n: int) -> float | None:
        return round(k / n, 4) if n else None

    found = sum(r["result"] != "missed" for r in eligible)
    repaired = sum(r["result"] == "repaired" for r in eligible)
    return {
        "occurrences": len(rows), "eligible": len(eligible),
        "found": found, "repaired": repaired, "wrong": sum(r["result"] == "wrong" for r in eligible),
        "found_share": share(found, len(eligible)), "repaired_share": share(repaired, len(eligible)),
        "found_all": sum(r["result"] != "missed" for r in rows), "repaired_all": sum(r["result"] == "repaired" for r in rows),
        "wrong_all": sum(r["result"] == "wrong" for r in rows),
        "repairs_elsewhere": elsewhere,
        "originals": len(originals),
        "spans_on_originals": sum(o["spans"] for o in originals),
        "name_spans_on_originals": sum(o["name_spans"] for o in originals),
        "repairs_of_originals": sum(o["repairs"] for o in originals),
    }


def evaluate(settings: Settings, halves: tuple[str, ...] = HALVES, groupings: tuple[str, ...] = GROUPINGS,
             limit: int | None = None, seed: int = SEED, path: Path = DEFAULT_DATA,
             stories: set[str] | None = None) -> dict[str, Any]:
    """Counts per half and grouping, with every occurrence's row (``stories``: only these sub-topics)."""
    victims = load_victims(path, seed)
    half_of = split({v.topic for v in victims}, seed)
    victims = [v for v in victims if stories is None or v.story in stories]
    by_half = {h: [v for v in victims if half_of[v.topic] == h][:limit] for h in halves}
    damage([v for vs in by_half.values() for v in vs], seed)
    results: dict[str, Any] = {}
    all_rows: list[dict[str, Any]] = []
    for half, vs in by_half.items():
        for grouping in groupings:
            rows, elsewhere, originals = [], 0, []
            for v, (art, rep) in zip(vs, _audit(vs, "damaged", grouping, settings, path)):
                r, e = count_damaged(v, art, rep)
                rows += [{**x, "half": half, "grouping": grouping} for x in r]
                elsewhere += e
            for _, rep in _audit(vs, "lines", grouping, settings, path):
                originals.append(count_original(rep))
            results[f"{half}/{grouping}"] = {"half": half, "grouping": grouping, "stories": len(vs), **summary(rows, elsewhere, originals)}
            all_rows += rows
    return {"seed": seed, "name_share": NAME_SHARE, "signature": f"repairs_eval|seed:{seed}|{pipeline.signature(settings)}",
            "results": results, "rows": all_rows}


COLUMNS = (("stories", "stories"), ("eligible", "names (>=2 carry)"), ("found", "found"), ("repaired", "repaired"),
           ("wrong", "wrong"), ("repairs_elsewhere", "repairs elsewhere"), ("spans_on_originals", "spans on originals"),
           ("name_spans_on_originals", "of them name spans"), ("repairs_of_originals", "repairs of originals"))


def table(result: dict[str, Any]) -> str:
    """Plain-text table, one row per half and grouping; found and repaired with their share of the eligible names."""
    head = ["half/grouping"] + [label for _, label in COLUMNS]
    rows = [head]
    for key, r in result["results"].items():
        cells = [key]
        for k, _ in COLUMNS:
            v = r[k]
            if k in ("found", "repaired") and r["eligible"]:
                cells.append(f"{v} ({100 * v / r['eligible']:.0f}%)")
            else:
                cells.append(str(v))
        rows.append(cells)
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in rows)


def _option(args: list[str], name: str, default: str | None) -> str | None:
    return args[args.index(name) + 1] if name in args and args.index(name) + 1 < len(args) else default


def main(argv: list[str] | None = None) -> int:
    """Print the table (or JSON with --json, rows included); exit 2 on a bad option."""
    args = sys.argv[1:] if argv is None else argv
    half, grouping, limit = _option(args, "--half", "both"), _option(args, "--grouping", "both"), _option(args, "--limit", None)
    if half not in (*HALVES, "both") or grouping not in (*GROUPINGS, "both") or (limit is not None and not limit.isdigit()):
        print("usage: python -m mtaudit.lab.repairs_eval [--half tune|other|both] [--grouping gold|pipeline|both] "
              "[--limit N] [--json]", file=sys.stderr)
        return 2
    result = evaluate(load_settings(), HALVES if half == "both" else (half,), GROUPINGS if grouping == "both" else (grouping,),
                      int(limit) if limit else None)
    print(json.dumps(result, indent=1) if "--json" in args else table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
