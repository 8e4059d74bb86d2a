"""What a newsroom lives with: ``mtaudit eval --newsroom``.

Every article goes through the real audit (``pipeline.audit_articles``, the code users run), either
**in its story** (a batch with other outlets' articles on the same events, grouped by the pipeline
itself) or **alone** (a batch of one). Sets are sampled by document or by window of consecutive
lines, never by sentence, with a seeded ``random.Random``:

- original English news: held-out ECB+ documents (in stories and alone), the seeds 001/003/004,
  windows of WMT22 ``original`` lines (the held-out chunks of :mod:`mtaudit.lab.translationese`), the original-English rows of wmt22_articles, Reuters-21578
  when ``r-cran-tm`` is installed (nothing is downloaded);
- machine translation: Apertium round trips (Spanish, Catalan, Galician) of held-out ECB+ documents
  (alone, and a few in their story), neural MT from Chinese (wmt22_articles), windows of neural MT
  from cs, de, ja, ru, uk (wmt22_translationese, held-out chunks), the seeds 000 and 002;
- human translation into English: the reference windows of the same source lines as the MT windows.

An article the committed detector trained on (its text hash in ``meta["training_text_sha"]`` or its
document in ``meta["training_groups"]``) is audited and reported but marked ``in_sample`` and left out
of every pooled figure. Figures: the share judged machine-translated, suspected, abstaining and the
share of sentences flagged; the precision a reader sees at 2% and 10% machine translation in the feed;
MT vs human AUROC on the same lines; calibration error as-is and moved to a prior; a threshold curve;
seconds per article. The library prints nothing.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import random
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mtaudit.base.settings import Settings
from mtaudit.base.types import Article, Progress
from mtaudit.lab import makedata, measures, roundtrip, translationese
from mtaudit.lab.paths import SEEDS, SHARED_DATA
from mtaudit.lab.translationese import NEURAL_PAIRS, WINDOW
from mtaudit.report import flagged_by
from mtaudit.stages import classifier, ingest, models, pipeline

log = logging.getLogger(__name__)

VERSION = 1
SEED = 13
DEFAULT_OUT = Path("reports") / "eval" / "newsroom.json"
LEVELS = ("machine_translated", "suspected", "abstained", "original")
PREVALENCES = (0.02, 0.1)  # shares of machine translation in the feed, for the precision a reader sees
PRIORS = (0.02, 0.1, 0.5)  # priors of the calibration figures
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
PIVOTS = ("spa", "cat", "glg")
TOPIC_CAP = 12  # held-out ECB+ documents of one topic audited together (a newsroom batch of two stories)
SEED_MT = ("000", "002")
SEED_ORIGINAL = ("001", "003", "004")
REUTERS_INSTALLED = Path("/usr/lib/R/site-library/tm/texts")  # makedata.reuters_folder would download it: never here
Z95 = 1.959964


@dataclass(frozen=True)
class Sizes:
    """How many documents or windows each set samples.

    The defaults audited 224 articles in 187 s on 2 idle cores (2026-12-07, fresh caches): about 0.8 s an article, an
    article judged machine-translated several times that (the SmolLM2 sentence model reads it). With the cores shared
    with a test run the same work took 3-7 times longer, so the defaults leave that room under the 15-minute budget.
    """

    ecb: int = 50  # held-out ECB+ originals, by topic: audited in their topic's batch and alone
    roundtrip: int = 5  # per pivot (spa, cat, glg): round trips of held-out ECB+ originals, alone
    roundtrip_story: int = 3  # round trips audited in their topic's batch in place of their original (pivots in turn)
    wmt_original: int = 30  # windows of WMT22 original-English lines, alone
    wmt_articles: int = 4  # original-English rows of wmt22_articles (all in training), alone
    wmt_zh: int = 2  # machine_translation rows of wmt22_articles (all in training), one system per document, alone
    neural: int = 6  # windows per pair (cs, de, ja, ru, uk -> en) of one MT system, alone; the human windows of the same lines too
    reuters: int = 20  # Reuters-21578 articles not trained on, alone (only where r-cran-tm is installed)
    seeds: int = 1  # 1: the five seeds in their story and alone; 0: left out

    @classmethod
    def parse(cls, items: list[str], base: Sizes | None = None) -> Sizes:
        """``["ecb=20", "neural=2"]`` over ``base`` (default: the defaults); a bad key or number is a ValueError."""
        out = base or cls()
        for item in items:
            key, sep, value = item.partition("=")
            key = key.strip().replace("-", "_")
            if not sep or key not in {f.name for f in dataclasses.fields(cls)}:
                raise ValueError(f"--size takes NAME=N with NAME one of {', '.join(f.name for f in dataclasses.fields(cls))}, not {item!r}")
            try:
                n = int(value)
            except ValueError:
                raise ValueError(f"--size {key}: {value!r} is not a whole number") from None
            if n < 0:
                raise ValueError(f"--size {key}: {n} is negative")
            out = dataclasses.replace(out, **{key: n})
        return out


QUICK = Sizes(ecb=3, roundtrip=1, roundtrip_story=1, wmt_original=2, wmt_articles=1, wmt_zh=1, neural=1, reuters=2, seeds=1)  # about a minute


@dataclass
class Item:
    """One article to audit: which set it counts in, its text, and what is known about it (never read by the audit)."""

    set: str
    id: str
    text: str
    label: str  # original | mt | human
    corpus: str
    in_sample: bool
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class Batch:
    """What goes into one ``audit_articles`` call: the audited items and the other coverage (no report of its own)."""

    mode: str  # story | alone
    items: list[Item]
    context: list[Article] = field(default_factory=list)


@dataclass
class SetInfo:
    name: str
    label: str
    mode: str
    corpus: str
    description: str
    held_out: str  # why it is held out, or why it is in-sample


@dataclass
class Plan:
    batches: list[Batch] = field(default_factory=list)
    sets: dict[str, SetInfo] = field(default_factory=dict)
    not_built: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# --- training data: what the committed detector saw ------------------------------------------------


@dataclass
class Training:
    text_sha: set[str]
    groups: set[str]
    coverage_docs: set[str]  # ECB+ documents the coverage model was fitted on (whole and round-tripped)
    manifest: dict[str, Any]

    def seen(self, text: str, group: str | None = None) -> bool:
        return makedata.text_sha(text) in self.text_sha or (group is not None and group in self.groups)


def training(detector: Any, ecb_path: Path | None) -> Training:
    meta = detector.meta
    manifest = meta.get("metrics", {}).get("data", {}).get("manifest", {})
    cover: set[str] = set()
    if ecb_path is not None and ecb_path.exists() and manifest.get("coverage", {}).get("victims"):
        cover = coverage_docs(ecb_path, int(manifest.get("seed", 13)), int(manifest.get("ecb_limit", 300)))
    return Training(set(meta.get("training_text_sha", [])), set(meta.get("training_groups", [])), cover, manifest)


def coverage_docs(path: Path, seed: int, ecb_limit: int) -> set[str]:
    """The ECB+ victims of ``coverage_fit.make`` as ``make-data`` chose them (no Apertium needed to name them)."""
    rows, _ = makedata.ecb_rows(path, seed)
    trained = {r["doc_id"] for r in rows[:ecb_limit]}
    by_story: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_story.setdefault(r["subtopic"], []).append(r)
    return {r["doc_id"] for members in by_story.values() if len(members) >= 3
            for r in members if r["doc_id"] not in trained and r["n_sentences"] >= 4}


# --- building the sets ----------------------------------------------------------------------------


def _parses(text: str, settings: Settings) -> bool:
    return ingest.parse(text, "probe", settings)[0] is not None


def _add_set(plan: Plan, name: str, label: str, mode: str, corpus: str, description: str, held_out: str) -> None:
    plan.sets[name] = SetInfo(name, label, mode, corpus, description, held_out)


def build(sizes: Sizes, settings: Settings, shared: Path = SHARED_DATA, seeds: Path = SEEDS, seed: int = SEED,
          detector: Any = None) -> Plan:
    """Every set's articles, sampled with ``random.Random(seed)`` by document or window; Apertium runs here."""
    detector = detector if detector is not None else models.detector()
    ecb_path = shared / "ecbplus" / "ecbplus_docs.jsonl"
    train = training(detector, ecb_path)
    plan = Plan()
    _ecb_sets(plan, sizes, settings, ecb_path, train, seed)
    _seed_sets(plan, sizes, seeds, train)
    _wmt_articles_sets(plan, sizes, shared / "wmt22_articles" / "articles.jsonl", train, seed)
    _translationese_sets(plan, sizes, shared / "wmt22_translationese" / "lines.tsv.gz",
                         shared / "wmt22_articles" / "articles.jsonl", settings, seed)
    _reuters_set(plan, sizes, settings, train, seed)
    return plan


def _ecb_sets(plan: Plan, sizes: Sizes, settings: Settings, path: Path, train: Training, seed: int) -> None:
    """ECB+ originals by story (a topic's held-out documents audited in one batch, one of them replaced by its round trip
    when ``roundtrip_story`` asks) and alone; round trips of other held-out documents alone."""
    if not path.exists():
        plan.not_built.append({"set": "ECB+ originals and round trips", "reason": f"{path} not found"})
        return
    rows = makedata.read_jsonl(path)
    rng = random.Random(seed)
    parsed: dict[str, bool] = {}

    def ok(r: dict[str, Any]) -> bool:
        if r["doc_id"] not in parsed:
            parsed[r["doc_id"]] = _parses(r["text"], settings)
        return parsed[r["doc_id"]]

    held = sorted((r for r in rows if not train.seen(r["text"], f"ecbplus:{r['doc_id']}")), key=lambda r: r["doc_id"])
    plan.notes.append(f"ECB+: {len(rows)} documents, {len(rows) - len(held)} in the detector's training data (never audited here), "
                      f"{len(held)} held out; {len(train.coverage_docs)} of the held-out ones fitted the 3-parameter coverage model "
                      "(whole and round-tripped, in their story): each ECB+ article says `coverage_fit`")
    why = "not in the detector's training data (text hash and document checked against the model's meta)"

    def item(name: str, r: dict[str, Any], text: str, label: str, **info: Any) -> Item:
        return Item(name, f"ecbplus:{r['doc_id']}" + (f"+rt_{info['pivot']}" if "pivot" in info else ""), text, label, "ecbplus", False,
                    {"doc_id": r["doc_id"], "topic": r["topic"], "subtopic": r["subtopic"],
                     "coverage_fit": r["doc_id"] in train.coverage_docs, **info})

    pivots = [p for p in PIVOTS if p in roundtrip.available()]
    missing = [p for p in PIVOTS if p not in pivots]
    if missing:
        plan.not_built.append({"set": ", ".join(f"mt/roundtrip_{p}" for p in missing), "reason": "Apertium pair not installed"})
    # stories: whole topics (both sub-topics: the other event of the same kind is the hard negative), in a seeded order
    topics = sorted({r["topic"] for r in held}, key=int)
    rng.shuffle(topics)
    story_batches: list[tuple[list[dict[str, Any]], dict[str, Any] | None]] = []
    taken = 0
    for topic in topics:
        if taken >= sizes.ecb:
            break
        docs = [r for r in held if r["topic"] == topic and ok(r)]
        rng.shuffle(docs)
        victim = None
        if pivots and sum(v is not None for _, v in story_batches) < sizes.roundtrip_story:
            for r in docs:
                mates = [o for o in docs if o["subtopic"] == r["subtopic"] and o is not r]
                if r["n_sentences"] >= 4 and len(mates) >= 2:
                    victim = r
                    break
        rest = [r for r in docs if r is not victim]
        if victim is not None:  # its story's other outlets first, so that a small batch still holds them
            rest.sort(key=lambda o: o["subtopic"] != victim["subtopic"])
        rest = rest[: min(TOPIC_CAP, sizes.ecb - taken)]
        if victim is not None and sum(o["subtopic"] == victim["subtopic"] for o in rest) < 2:
            victim = None  # its story's other outlets did not fit in the batch
        if rest:
            story_batches.append((rest, victim))
            taken += len(rest)
    originals = [r for rest, _ in story_batches for r in rest]
    victims = [(v, pivots[n % len(pivots)]) for n, v in enumerate(v for _, v in story_batches if v is not None)]
    eligible = [r for r in held if r["n_sentences"] >= 4 and ok(r)]
    rng.shuffle(eligible)
    alone = [(r, pivots[n % len(pivots)]) for n, r in enumerate(eligible[: sizes.roundtrip * len(pivots)])] if pivots else []
    moved: dict[tuple[str, str], str] = {}
    for pivot in pivots:
        docs = {r["doc_id"]: r for r, p in alone + victims if p == pivot}
        lines = [(d, line) for d, r in docs.items() for line in r["text"].split("\n")]
        back = roundtrip.roundtrip([line for _, line in lines], pivot) if lines else []
        for d in docs:
            moved[(d, pivot)] = "\n".join(b for (dd, _), b in zip(lines, back) if dd == d)
    if originals:
        _add_set(plan, "original/ecbplus/story", "original", "story", "ecbplus",
                 f"held-out ECB+ documents by topic: a topic's held-out documents (at most {TOPIC_CAP}) audited in one batch, both its "
                 "sub-topics (two events of the same kind) together, the pipeline grouping them", why)
        _add_set(plan, "original/ecbplus/alone", "original", "alone", "ecbplus", "the same ECB+ documents, each in a batch of one", why)
    why_rt = "round trips of held-out ECB+ documents (new text: never trained on)"
    if victims:
        _add_set(plan, "mt/roundtrip/story", "mt", "story", "ecbplus", "a held-out ECB+ document round-tripped (pivots in turn) in "
                 "place of its original, in its topic's batch of original documents: how a newsroom meets one", why_rt)
    pivot_of = dict((v["doc_id"], p) for v, p in victims)
    for rest, victim in story_batches:
        items = [item("original/ecbplus/story", r, r["text"], "original") for r in rest]
        if victim is not None:
            p = pivot_of[victim["doc_id"]]
            items.append(item("mt/roundtrip/story", victim, moved[(victim["doc_id"], p)], "mt", pivot=p))
        plan.batches.append(Batch("story", items))
    plan.batches += [Batch("alone", [item("original/ecbplus/alone", r, r["text"], "original")]) for r in originals]
    for pivot in pivots:
        name = f"mt/roundtrip_{pivot}/alone"
        picked = [r for r, p in alone if p == pivot]
        if picked:
            _add_set(plan, name, "mt", "alone", "ecbplus", f"Apertium English -> {pivot} -> English of held-out ECB+ documents, alone", why_rt)
        plan.batches += [Batch("alone", [item(name, r, moved[(r["doc_id"], pivot)], "mt", pivot=pivot)]) for r in picked]


def _seed_sets(plan: Plan, sizes: Sizes, seeds: Path, train: Training) -> None:
    if not sizes.seeds:
        return
    paths = sorted(p for p in seeds.glob("00[0-4]_*.txt")) if seeds.exists() else []
    if not paths:
        plan.not_built.append({"set": "seeds", "reason": f"no seeds under {seeds}"})
        return
    items: dict[str, list[Item]] = {"story": [], "alone": []}
    for path in paths:
        text = path.read_text(encoding="utf-8")
        prefix = path.name[:3]
        label = "mt" if prefix in SEED_MT else "original"
        seen = train.seen(text, f"seeds:{path.stem}")
        for mode in ("story", "alone"):
            items[mode].append(Item(f"{label}/seeds/{mode}", f"seeds:{path.stem}", text, label, "seeds", seen, {"seed": prefix}))
    for mode in ("story", "alone"):
        for label in ("original", "mt"):
            name = f"{label}/seeds/{mode}"
            flags = [it.in_sample for it in items[mode] if it.label == label]
            if not flags:
                continue
            what = "original-English seeds 001, 003, 004" if label == "original" else "machine-translated seeds 000 and 002"
            how = "the five seeds in one batch (the pipeline groups them)" if mode == "story" else "each in a batch of one"
            _add_set(plan, name, label, mode, "seeds", f"{what}: {how}",
                     "in-sample: make-data trains on the original seeds" if all(flags) else
                     "never trained on (make-data leaves the MT seeds out)" if not any(flags) else "mixed: see each article")
    plan.batches.append(Batch("story", items["story"]))
    plan.batches += [Batch("alone", [it]) for it in items["alone"]]


def _wmt_articles_sets(plan: Plan, sizes: Sizes, path: Path, train: Training, seed: int) -> None:
    if not path.exists():
        plan.not_built.append({"set": "wmt22_articles", "reason": f"{path} not found"})
        return
    rows = makedata.read_jsonl(path)
    rng = random.Random(seed)
    originals = sorted((r for r in rows if r["label"] == "original_english"), key=lambda r: r["id"])
    rng.shuffle(originals)
    by_doc: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if r["label"] == "machine_translation":
            by_doc.setdefault(r["doc_id"], []).append(r)
    docs = sorted(by_doc)
    rng.shuffle(docs)
    mt = [rng.choice(sorted(by_doc[d], key=lambda r: r["id"])) for d in docs[: sizes.wmt_zh]]
    for name, label, picked, what in (("original/wmt22_articles/alone", "original", originals[: sizes.wmt_articles],
                                       "original-English rows of wmt22_articles (WMT22 en-zh sources)"),
                                      ("mt/wmt22_zh/alone", "mt", mt, "neural MT from Chinese: machine_translation rows of "
                                       "wmt22_articles, one system per document")):
        if not picked:
            continue
        seen = [train.seen(r["text"], f"wmt22:{r['doc_id']}") for r in picked]
        _add_set(plan, name, label, "alone", "wmt22_articles", what + ", alone",
                 "in-sample: every row of wmt22_articles dev is in the detector's training data" if all(seen) else
                 "held out" if not any(seen) else "mixed: see each article")
        for r, s in zip(picked, seen):
            plan.batches.append(Batch("alone", [Item(name, r["id"], r["text"], label, "wmt22_articles", s,
                                                     {"doc_id": r["doc_id"], "system": r["system"]})]))


def _translationese_sets(plan: Plan, sizes: Sizes, path: Path, articles: Path, settings: Settings, seed: int) -> None:
    if not path.exists():
        plan.not_built.append({"set": "wmt22_translationese windows", "reason": f"{path} not found"})
        return
    if not (sizes.wmt_original or sizes.neural):
        return
    rows = translationese.read_lines(path)
    # WMT22's en->zh sources (wmt22_articles originals, all in training) repeat some en->cs source lines
    trained_lines = set()
    if articles.exists():
        trained_lines = {" ".join(x.split()) for r in makedata.read_jsonl(articles) for x in r["text"].split("\n")}
    rng = random.Random(seed)
    text = translationese.by_text(rows)
    if sizes.wmt_original:
        windows, overlapping = [], 0
        for key in sorted(k for k in text if k[0] == "original"):
            for w in translationese.grid(translationese.side(text[key], key[1], evaluation=True), rng, key[1]):
                lines = [text[key][n] for n in w]
                if any(" ".join(x.split()) in trained_lines for x in lines):
                    overlapping += 1
                    continue
                if _parses("\n".join(lines), settings):
                    windows.append((key, w, lines))
        rng.shuffle(windows)
        plan.notes.append(f"WMT22 original lines: {overlapping} windows left out because a line is also in wmt22_articles "
                          "(the en-zh sources the detector trained on)")
        name = "original/wmt22_lines/alone"
        _add_set(plan, name, "original", "alone", "wmt22_translationese", f"windows of {WINDOW[0]}-{WINDOW[1]} consecutive WMT22 "
                 "original-English lines (en-cs, en-hr sources; news, e-commerce, social, conversation mixed), one paragraph a line",
                 "held out: lines of the chunks make-data never trains on (mtaudit.lab.translationese); windows sharing a line with "
                 "wmt22_articles left out")
        for (_, pair, block), w, lines in windows[: sizes.wmt_original]:
            plan.batches.append(Batch("alone", [Item(name, f"wmt22.{pair}.{w[0]}-{w[-1]}", "\n".join(lines), "original",
                                                     "wmt22_translationese", False, {"pair": pair, "block": int(block), "lines": [w[0], w[-1]]})]))
    if not sizes.neural:
        return
    why = "held out: lines of the chunks make-data never trains on (mtaudit.lab.translationese)"
    for pair in NEURAL_PAIRS:
        if not any(k[0] == "machine" and k[1] == pair for k in text):
            plan.not_built.append({"set": f"mt/wmt22_{pair[:2]}/alone", "reason": f"no machine lines for {pair}"})
            continue
        chosen = [c for c in translationese.translated_windows(text, pair, True, rng) if c[1] and c[2]]
        rng.shuffle(chosen)
        lang = pair[:2]
        mt_name, ht_name = f"mt/wmt22_{lang}/alone", "human/wmt22_lines/alone"
        _add_set(plan, mt_name, "mt", "alone", "wmt22_translationese", f"windows of one MT system's {pair} output "
                 f"({WINDOW[0]}-{WINDOW[1]} consecutive lines, system drawn per window), alone", why)
        _add_set(plan, ht_name, "human", "alone", "wmt22_translationese", "the human reference windows of the same source lines "
                 "as the neural MT windows (cs, de, ja, ru, uk -> en), alone", why)
        for w, mt_ok, ref_ok in chosen[: sizes.neural]:
            (_, _, system), (_, _, ref) = rng.choice(mt_ok), rng.choice(ref_ok)
            window = f"{pair}:{w[0]}-{w[-1]}"
            info = {"pair": pair, "window": window, "lines": [w[0], w[-1]]}
            plan.batches.append(Batch("alone", [Item(mt_name, f"wmt22.{pair}.{system}.{w[0]}-{w[-1]}",
                                                     "\n".join(text[("machine", pair, system)][n] for n in w), "mt",
                                                     "wmt22_translationese", False, {**info, "system": system})]))
            plan.batches.append(Batch("alone", [Item(ht_name, f"wmt22.{pair}.{ref}.{w[0]}-{w[-1]}",
                                                     "\n".join(text[("human", pair, ref)][n] for n in w), "human",
                                                     "wmt22_translationese", False, {**info, "system": ref})]))


def _reuters_set(plan: Plan, sizes: Sizes, settings: Settings, train: Training, seed: int) -> None:
    if not sizes.reuters:
        return
    if not REUTERS_INSTALLED.exists():
        plan.not_built.append({"set": "original/reuters/alone", "reason": f"Reuters-21578 is read from Debian's r-cran-tm "
                               f"({REUTERS_INSTALLED}), which is not installed here; this evaluation downloads nothing"})
        return
    arts = sorted(makedata.reuters_articles(REUTERS_INSTALLED))
    random.Random(seed).shuffle(arts)
    picked = []
    for rid, paras in arts:
        text = "\n".join(paras)
        if len(picked) < sizes.reuters and not train.seen(text, f"reuters:{rid}") and _parses(text, settings):
            picked.append((rid, text))
    name = "original/reuters/alone"
    _add_set(plan, name, "original", "alone", "reuters", "Reuters-21578 articles (1987 newswire), alone",
             "not in the detector's training data (document checked against the model's meta)")
    for rid, text in picked:
        plan.batches.append(Batch("alone", [Item(name, f"reuters:{rid}", text, "original", "reuters", False, {"newid": rid})]))


# --- running the audit ----------------------------------------------------------------------------


def level_of(verdict: dict[str, Any]) -> str:
    """The verdict's level: ``verdict["level"]`` when the report has it, else from ``machine_translated``/``abstained``."""
    level = verdict.get("level")
    if level in LEVELS:
        return str(level)
    if verdict.get("abstained"):
        return "abstained"
    return "machine_translated" if verdict.get("machine_translated") is True else "original"


def audit(plan: Plan, settings: Settings, progress: Progress | None = None,
          by_mode: dict[str, Settings] | None = None) -> list[dict[str, Any]]:
    """Audit every batch through ``pipeline.audit_articles``; one record per audited article, in plan order.

    ``by_mode``: other settings for the story or the alone batches (``run`` gives each mode its own fresh cache).
    """
    records: list[dict[str, Any]] = []
    total = sum(len(b.items) for b in plan.batches)
    for batch in plan.batches:
        settings_here = (by_mode or {}).get(batch.mode, settings)
        arts: list[Article] = []
        kept: list[Item] = []
        ids: set[str] = {c.article_id for c in batch.context}
        for it in batch.items:
            art, problems = ingest.parse(it.text, it.id, settings)
            if art is None or art.article_id in ids:
                why = "; ".join(p.message for p in problems if p.level == "error") or "same text as another article of the batch"
                records.append({**_base(it, batch.mode), "audited": False, "why": why})
                continue
            ids.add(art.article_id)
            arts.append(art)
            kept.append(it)
        if not arts:
            continue
        t0 = time.perf_counter()
        reports = pipeline.audit_articles(arts, settings_here, story_of=None, context=batch.context)
        each = (time.perf_counter() - t0) / len(arts)
        for it, rep in zip(kept, reports):
            records.append({**_base(it, batch.mode), "audited": True, **_read(rep), "seconds": round(each, 3)})
        if progress:
            progress("newsroom audit", len(records), total)
    return records


def _base(it: Item, mode: str) -> dict[str, Any]:
    return {"set": it.set, "id": it.id, "label": it.label, "mode": mode, "corpus": it.corpus, "in_sample": it.in_sample, **it.info}


def _read(report: dict[str, Any]) -> dict[str, Any]:
    v = report["verdict"]
    sents = report.get("sentences", [])
    flagged = [s for s in sents if s.get("flagged")]
    return {"level": level_of(v), "level_reported": "level" in v, "probability": v.get("probability"),
            "machine_translated": v.get("machine_translated"), "abstained": bool(v.get("abstained")),
            "sentences": len(sents), "flagged": len(flagged), **flag_counts(flagged),
            "story_articles": len(report.get("story_articles", []))}


def flag_counts(flagged: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """What flagged an article's flagged report sentences: ``flagged_by`` counts the sentences each path flagged (a
    sentence flagged by both counts under both), ``flagged_span_kinds`` the sentences that carry a span of each kind
    (a sentence with two kinds counts under both; spans of sentences not flagged are not counted)."""
    by = Counter(name for s in flagged for name in flagged_by(s))
    kinds = Counter(kind for s in flagged for kind in {sp["kind"] for sp in s.get("spans", [])})
    return {"flagged_by": dict(sorted(by.items())), "flagged_span_kinds": dict(sorted(kinds.items()))}


def _sum_counts(recs: list[dict[str, Any]], key: str) -> dict[str, int]:
    return dict(sorted(sum((Counter(r.get(key, {})) for r in recs), Counter()).items()))


# --- figures --------------------------------------------------------------------------------------


def precision(prevalence: float, tpr: float | None, fpr: float | None) -> float | None:
    """Share of articles judged machine-translated that are, in a feed that is ``prevalence`` machine translation."""
    if tpr is None or fpr is None:
        return None
    caught, false = prevalence * tpr, (1 - prevalence) * fpr
    return caught / (caught + false) if caught + false > 0 else None


def wilson(k: int, n: int, z: float = Z95) -> tuple[float | None, float | None]:
    """Wilson score interval of a share k/n (95% by default)."""
    if n == 0:
        return None, None
    p = k / n
    centre, half = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, (centre - half) / (1 + z * z / n)), min(1.0, (centre + half) / (1 + z * z / n))


def ece_at_prior(y: list[int] | np.ndarray, p: list[float] | np.ndarray, prior: float, bins: int = 10) -> float | None:
    """Expected calibration error with the classes weighted so that machine translation (y=1) is ``prior`` of the weight.

    Bins as ``measures.ece`` (10 equal-width bins, the last closed); at ``prior=0.5`` it equals ``measures.ece(balanced=True)``.
    """
    yy = np.asarray(y, dtype=float)
    if yy.sum() in (0, len(yy)):
        return None
    return measures.ece(yy, np.asarray(p, dtype=float), bins, prior=prior)


def _share(recs: list[dict[str, Any]], cond: Any) -> float | None:
    return sum(1 for r in recs if cond(r)) / len(recs) if recs else None


def _r(x: float | None, nd: int = 4) -> float | None:
    return None if x is None else round(float(x), nd)


def set_figures(recs: list[dict[str, Any]]) -> dict[str, Any]:
    """The shares a newsroom sees on one set of audited records."""
    levels = any(r.get("level_reported") for r in recs)
    sents = sum(r["sentences"] for r in recs)
    secs = [r["seconds"] for r in recs]
    return {
        "n": len(recs),
        "judged_mt": _r(_share(recs, lambda r: r["level"] == "machine_translated")),
        "suspected": _r(_share(recs, lambda r: r["level"] == "suspected")) if levels else None,
        "abstained": _r(_share(recs, lambda r: r["level"] == "abstained")),
        "original": _r(_share(recs, lambda r: r["level"] == "original")),
        "sentences": sents,
        "sentences_flagged": _r(sum(r["flagged"] for r in recs) / sents) if sents else None,
        "articles_with_flags": _r(_share(recs, lambda r: r["flagged"] > 0)),
        "flagged_by": _sum_counts(recs, "flagged_by"),  # flagged sentences by what flagged them (see flag_counts)
        "flagged_span_kinds": _sum_counts(recs, "flagged_span_kinds"),
        "mean_probability": _r(float(np.mean([r["probability"] for r in recs]))) if recs else None,
        "with_other_coverage": _r(_share(recs, lambda r: r["story_articles"] > 0)),
        "seconds_per_article": _r(float(np.mean(secs)), 3) if secs else None,
    }


def _auroc(neg: list[float], pos: list[float]) -> float | None:
    if not neg or not pos:
        return None
    from sklearn.metrics import roc_auc_score  # scikit-learn: only measuring pays its import

    return float(roc_auc_score([0] * len(neg) + [1] * len(pos), neg + pos))


def summarise(records: list[dict[str, Any]], plan: Plan, settings: Settings) -> dict[str, Any]:
    """Every figure of the newsroom evaluation, from the audited records."""
    done = [r for r in records if r["audited"]]
    held = [r for r in done if not r["in_sample"]]
    sets: dict[str, Any] = {}
    for name, info in plan.sets.items():
        mine = [r for r in done if r["set"] == name]
        fig = set_figures(mine)
        ins = sum(r["in_sample"] for r in mine)
        sets[name] = {**dataclasses.asdict(info), "in_sample": ins, "held_out_n": len(mine) - ins,
                      "not_audited": [{"id": r["id"], "why": r["why"]} for r in records if r["set"] == name and not r["audited"]],
                      **fig}
        if any(r.get("coverage_fit") for r in mine):
            clean = [r for r in mine if not r.get("coverage_fit")]
            sets[name]["outside_coverage_fit"] = {k: set_figures(clean)[k] for k in ("n", "judged_mt", "suspected", "abstained")}
    originals = {"all": [r for r in held if r["label"] == "original"],
                 "story": [r for r in held if r["label"] == "original" and r["mode"] == "story"],
                 "alone": [r for r in held if r["label"] == "original" and r["mode"] == "alone"]}
    mt = [r for r in held if r["label"] == "mt"]
    human = [r for r in held if r["label"] == "human"]
    mt_sets = [n for n, i in plan.sets.items() if i.label == "mt"]
    pooled = {f"originals_{k}": set_figures(v) for k, v in originals.items()}
    pooled["mt"] = set_figures(mt)
    pooled["human"] = set_figures(human)
    pooled["mt_macro_judged_mt"] = _r(float(np.mean([sets[n]["judged_mt"] for n in mt_sets if sets[n]["held_out_n"] and
                                                     sets[n]["judged_mt"] is not None]))) if any(sets[n]["held_out_n"] for n in mt_sets) else None
    return {
        "sets": sets,
        "pooled": pooled,
        "precision": _precision(originals, mt, sets, mt_sets, done),
        "mt_vs_human": _mt_vs_human(held, originals["all"], mt),
        "calibration": _calibration(held, settings),
        "curve": _curve(originals, mt, human, sets, mt_sets, done),
    }


def _rates(recs: list[dict[str, Any]], positive: tuple[str, ...]) -> dict[str, Any]:
    k = sum(r["level"] in positive for r in recs)
    lo, hi = wilson(k, len(recs))
    return {"n": len(recs), "k": k, "rate": _r(k / len(recs)) if recs else None, "wilson95": [_r(lo), _r(hi)]}


def _precision(originals: dict[str, list[dict[str, Any]]], mt: list[dict[str, Any]], sets: dict[str, Any], mt_sets: list[str],
               done: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"formula": "precision = p*TPR / (p*TPR + (1-p)*FPR); FPR: share of held-out originals judged "
                                      "machine-translated, TPR: share of held-out MT judged so",
                           "conservative": "TPR at its Wilson 95% lower bound and FPR at its upper bound"}
    for positive, key in ((("machine_translated",), "judged_mt"), (("machine_translated", "suspected"), "judged_or_suspected")):
        fpr = {k: _rates(v, positive) for k, v in originals.items()}
        tpr = {"pooled": _rates(mt, positive)}
        for name in mt_sets:
            mine = [r for r in done if r["set"] == name and (not r["in_sample"] or sets[name]["held_out_n"] == 0)]
            tpr[name] = {**_rates(mine, positive), "in_sample": sets[name]["held_out_n"] == 0}
        table: dict[str, Any] = {}
        for prev in PREVALENCES:
            row: dict[str, Any] = {}
            for src, f in fpr.items():
                row[f"fpr_{src}"] = {
                    name: {"precision": _r(precision(prev, t["rate"], f["rate"])),
                           "conservative": _r(precision(prev, t["wilson95"][0], f["wilson95"][1]))}
                    for name, t in tpr.items()}
            table[str(prev)] = row
        out[key] = {"fpr": fpr, "tpr": tpr, "at_prevalence": table}
    return out


def _mt_vs_human(held: list[dict[str, Any]], originals: list[dict[str, Any]], mt: list[dict[str, Any]]) -> dict[str, Any]:
    ht = {r["window"]: r for r in held if r["label"] == "human" and r.get("window")}
    pairs = [(ht[r["window"]], r) for r in held if r["label"] == "mt" and r.get("window") in ht]
    out: dict[str, Any] = {"windows": len(pairs),
                           "auroc": _r(_auroc([h["probability"] for h, _ in pairs], [m["probability"] for _, m in pairs])),
                           "mt_higher_same_lines": _r(_share(pairs, lambda hm: hm[1]["probability"] > hm[0]["probability"])),
                           "by_pair": {}}
    for pair in sorted({h["pair"] for h, _ in pairs}):
        sel = [(h, m) for h, m in pairs if h["pair"] == pair]
        out["by_pair"][pair] = {"windows": len(sel), "auroc": _r(_auroc([h["probability"] for h, _ in sel], [m["probability"] for _, m in sel]))}
    out["original_vs_mt_auroc"] = _r(_auroc([r["probability"] for r in originals], [r["probability"] for r in mt]))
    return out


def _calibration(held: list[dict[str, Any]], settings: Settings) -> dict[str, Any]:
    base = settings.mt_prior
    out: dict[str, Any] = {"base_prior": base, "note": "as-is: the verdict probability as reported (calibrated for the setting "
                           "mt_prior); moved: shifted from it to the prior by Bayes' rule (classifier.shift_prior); both weighted so "
                           "machine translation is the prior's share of the total weight"}
    groups = {"all_held_out": held, "original_vs_mt": [r for r in held if r["label"] in ("original", "mt")]}
    for name, recs in groups.items():
        y = np.array([int(r["label"] == "mt") for r in recs])
        p = np.array([r["probability"] for r in recs], dtype=float)
        row: dict[str, Any] = {"n": len(recs), "mt": int(y.sum())}
        for prior in PRIORS:
            moved = classifier.shift_prior(p, prior, base) if len(p) else p
            row[str(prior)] = {"as_is": _r(ece_at_prior(y, p, prior)), "moved": _r(ece_at_prior(y, moved, prior))}
        out[name] = row
    return out


def _curve(originals: dict[str, list[dict[str, Any]]], mt: list[dict[str, Any]], human: list[dict[str, Any]], sets: dict[str, Any],
           mt_sets: list[str], done: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def above(recs: list[dict[str, Any]], t: float) -> float | None:
        return _r(_share(recs, lambda r: r["probability"] >= t))

    rows = []
    for t in THRESHOLDS:
        row: dict[str, Any] = {"threshold": t, "originals": above(originals["all"], t), "originals_story": above(originals["story"], t),
                               "originals_alone": above(originals["alone"], t), "mt": above(mt, t), "human": above(human, t)}
        row["mt_by_set"] = {n: above([r for r in done if r["set"] == n], t) for n in mt_sets}
        rows.append(row)
    return rows


# --- the whole evaluation -------------------------------------------------------------------------


def run(sizes: Sizes, settings: Settings, shared: Path = SHARED_DATA, seeds: Path = SEEDS, seed: int = SEED,
        progress: Progress | None = None, keep_cache: bool = False) -> dict[str, Any]:
    """Build the sets, audit them, and return the result (figures, sets, per-article records).

    Each mode (story, alone) audits on its own fresh, empty disk cache (``keep_cache=False``): a newsroom audits
    each article once, so the seconds per article are those of a new article, not of one whose embeddings and
    scores an earlier pass cached. ``keep_cache=True`` uses the settings' cache (faster again, and no honest time).
    """
    t0 = time.perf_counter()
    detector = models.detector()
    with tempfile.TemporaryDirectory(prefix="mtaudit-newsroom-") as tmp:
        by_mode = None if keep_cache else {mode: settings.replace(cache_dir=str(Path(tmp) / mode)) for mode in ("story", "alone")}
        plan = build(sizes, settings, shared, seeds, seed, detector)  # parsing and Apertium only: no cache read
        built = time.perf_counter() - t0
        records = audit(plan, settings, progress, by_mode)
    audited = time.perf_counter() - t0 - built
    result = {
        "version": VERSION,
        "seed": seed,
        "sizes": dataclasses.asdict(sizes),
        "settings": {"mt_prior": settings.mt_prior, "article_threshold": settings.article_threshold,
                     "abstain_band": settings.abstain_band, "sentence_lm": settings.sentence_lm, "fresh_cache": not keep_cache},
        "detector": {"version": detector.meta.get("version"), "date": detector.meta.get("date"), "signature": detector.signature(),
                     "data_version": detector.meta.get("data_version")},
        "pipeline_signature": pipeline.signature(settings),
        "levels_reported": any(r.get("level_reported") for r in records),
        "held_out_rule": "an article is in-sample when its text hash is in the detector's training_text_sha or its document in "
                         "training_groups; in-sample articles are audited and reported per set but left out of every pooled figure",
        **summarise(records, plan, settings),
        "not_built": plan.not_built,
        "notes": plan.notes,
        "articles": len([r for r in records if r["audited"]]),
        "seconds": {"build": round(built, 1), "audit": round(audited, 1), "total": round(time.perf_counter() - t0, 1)},
        "records": records,
    }
    return result
