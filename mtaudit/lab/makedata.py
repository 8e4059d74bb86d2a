"""Build the detector's training data, reproducibly: ``mtaudit make-data``.

Positives (machine translation) the project makes itself from original English news:
- Apertium round trips, English -> Spanish, Catalan or Galician -> English (Debian's
  apertium-eng-spa, apertium-eng-cat, apertium-en-gl), sentence by sentence so each damaged
  sentence stays paired with its original (sentence-level training and evaluation);
- literal word-by-word substitution through FreeDict dictionaries (eng-fra/fra-eng,
  eng-spa/spa-eng, eng-ara/ara-eng): "rare earth" -> "terre rare" -> "rare ground";
plus the machine-translated articles of ``shared/data/wmt22_articles`` (dev split) and windows of
neural MT from five more languages (``shared/data/wmt22_translationese``, the trained-on chunks of
:mod:`mtaudit.lab.translationese`).

Negatives: the originals themselves (Reuters-21578 from Debian's r-cran-tm, the
original-English articles of wmt22_articles and the ECB+ news documents of the dev split,
the seeds' original-English articles, the original-English windows of wmt22_translationese) and the
human translations of wmt22_articles and wmt22_translationese.

Both sides go through :func:`mtaudit.lab.roundtrip.normalise`, so the detector learns the
damage, not Apertium's typography. Every record carries a ``group`` (its source document):
splits and cross-validation keep a group together, never a sentence apart from its article.
"""

from __future__ import annotations

import hashlib
import html
import json
import random
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mtaudit.base.atomic import write_json, write_text
from mtaudit.base.settings import Settings
from mtaudit.base.types import Progress
from mtaudit.lab import coverage_fit, roundtrip, storyeval, translationese
from mtaudit.stages import ingest
from mtaudit.text import segment

DATA_VERSION = "5"  # 2: ECB+ without the stories `mtaudit story-eval` damages; 3: + coverage.jsonl; 4: + Galician round trips;
# 5: + windows of wmt22_translationese (original, neural MT from five languages, human translation)
DEFAULT_OUT = Path("data") / "detector"
SEED_ORIGINALS = ("001", "003", "004")  # 000 and 002 are the MT seeds: never trained on
LICENCES = {
    "reuters": "Reuters-21578 (Reuters Ltd. and Carnegie Group: free distribution for research purposes), as shipped by Debian's r-cran-tm (GPL-3)",
    "wmt22": "WMT22 research data: MT/HT from florethsong/mtme-zh-mwe (Apache-2.0 repository), originals from the WMT22 test set (research use)",
    "ecbplus": "ECB+ corpus (Cybulska and Vossen 2014), CC BY 3.0",
    "wmt22t": "WMT22 general test set sources, system outputs and references (wmt-conference/wmt22-news-systems; research use, cite Kocmi et al. 2022)",
    "seeds": "news articles in the repository's seeds/ (copyright their publishers; used as test fixtures and training negatives)",
}


@dataclass
class Doc:
    """One training article; ``sentences[i]`` of a round trip is the damaged ``sentences[i]`` of its original."""
    id: str
    group: str  # source document: all versions of one document share it
    corpus: str  # reuters | wmt22 | wmt22t | ecbplus | seeds
    kind: str  # original | rt_spa | rt_cat | literal_fra | literal_spa | literal_ara | wmt_mt | wmt_ht | t_original | t_mt | t_ht
    label: int  # 1 machine translation, 0 not
    sentences: list[str]
    paragraphs: list[int] = field(default_factory=list)  # paragraph number of each sentence
    text: str = ""
    source_sha: str = ""  # hash of the raw text a shared-data row came with (finds it again in `mtaudit eval`)

    def render(self) -> Doc:
        paras: dict[int, list[str]] = {}
        for s, p in zip(self.sentences, self.paragraphs or [0] * len(self.sentences)):
            paras.setdefault(p, []).append(s)
        self.text = "\n".join(" ".join(v) for _, v in sorted(paras.items()))
        return self


def split_paragraphs(paragraphs: list[str]) -> tuple[list[str], list[int]]:
    """Sentences (pysbd, as the audit splits them) with the paragraph each comes from."""
    text = "\n".join(paragraphs)
    regions, pos = [], 0
    for p in paragraphs:
        regions.append((pos, pos + len(p)))
        pos += len(p) + 1
    sents, paras = [], []
    for n, region in enumerate(regions):
        for s in segment.split(text, [region]):
            clean = roundtrip.normalise(s.text)
            if len(clean.split()) >= 3:
                sents.append(clean)
                paras.append(n)
    return sents, paras


# --- sources ------------------------------------------------------------------------------


def reuters_folder(deb: Path | None, work: Path) -> Path | None:
    """tm's texts folder: from an installed r-cran-tm, a given .deb, or ``apt-get download``."""
    installed = Path("/usr/lib/R/site-library/tm/texts")
    if installed.exists():
        return installed
    if deb is None:
        if shutil.which("apt-get") is None:
            return None
        proc = subprocess.run(["apt-get", "download", "r-cran-tm"], cwd=work, capture_output=True, text=True, timeout=300)
        found = sorted(work.glob("r-cran-tm_*.deb"))
        if proc.returncode != 0 or not found:
            return None
        deb = found[0]
    subprocess.run(["dpkg", "-x", str(deb), str(work / "tm")], check=True, timeout=300)
    texts = work / "tm" / "usr" / "lib" / "R" / "site-library" / "tm" / "texts"
    return texts if texts.exists() else None


def reuters_articles(folder: Path) -> list[tuple[str, list[str]]]:
    """(id, paragraphs) of every Reuters-21578 article under tm's texts folder, deduplicated."""
    out, seen = [], set()
    for path in sorted(folder.rglob("*.xml")):
        raw = path.read_text(encoding="latin-1")
        for m in re.finditer(r'<REUTERS[^>]*NEWID="(\d+)"[^>]*>.*?<BODY>(.*?)</BODY>', raw, re.S):
            newid, body = m.group(1), html.unescape(m.group(2))
            if newid in seen:
                continue
            seen.add(newid)
            body = re.sub(r"\s*Reuter\s*\x03?\s*$", "", body.replace("&#3;", "")).strip()
            paras = [" ".join(p.split()) for p in re.split(r"\n\s{3,}", body) if p.strip()]
            if sum(len(p.split()) for p in paras) >= 40:
                out.append((newid, paras))
    return out


def ecb_rows(path: Path, seed: int) -> tuple[list[dict[str, Any]], int]:
    """ECB+ documents in a seeded order, without the stories the story-level evaluation damages; and how many were left out.

    That evaluation damages its victims with the same Apertium round trips this data is made
    of: trained on them, the detector would be judged on articles it learned.
    """

    rows = read_jsonl(path)
    held = storyeval.evaluated_subtopics(path)
    kept = sorted((r for r in rows if r.get("subtopic") not in held), key=lambda r: stable_rank(r["doc_id"], seed))
    return kept, len(rows) - len(kept)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def seed_paragraphs(path: Path) -> list[str]:
    """A seed's prose paragraphs, metadata lines left out as the audit leaves them out."""
    article, _ = ingest.parse(path.read_text(encoding="utf-8"), path.name, Settings())
    if article is None:
        return []
    paras: dict[int, list[str]] = {}
    for s in article.sentences:
        line = article.text.count("\n", 0, s.start)
        paras.setdefault(line, []).append(s.text)
    return [" ".join(v) for _, v in sorted(paras.items())]


# --- building -----------------------------------------------------------------------------


def text_sha(text: str) -> str:
    """Hash of a text with whitespace normalised: how `mtaudit eval` recognises a training row."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()[:16]


def stable_rank(key: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}|{key}".encode()).hexdigest()


def build(
    out: Path = DEFAULT_OUT,
    shared: Path | None = None,
    seeds: Path | None = None,
    reuters_deb: Path | None = None,
    ecb_limit: int = 300,
    reuters_limit: int | None = None,
    wmt_limit: int | None = None,
    pivots: tuple[str, ...] = ("spa", "cat", "glg"),
    literal_langs: tuple[str, ...] = ("fra", "spa", "ara"),
    literal_rate: float = 0.3,
    seed: int = 13,
    progress: Progress | None = None,
    reuters: bool = True,
    coverage_limit: int | None = None,
    translationese_systems: int = 2,
) -> dict[str, Any]:
    """Write ``docs.jsonl``, ``coverage.jsonl`` and ``manifest.json`` under ``out``; return the manifest.

    ``coverage.jsonl`` holds the ECB+ articles beyond ``ecb_limit`` (never trained on), whole
    and round-tripped, with their stories: what fits the detector's coverage model.
    """
    t0 = time.time()
    originals: list[tuple[str, str, str, list[str]]] = []  # (id, group, corpus, paragraphs)
    extra: list[Doc] = []
    original_sha: dict[str, str] = {}
    notes: list[str] = []
    cover: list[dict[str, Any]] = []
    available = roundtrip.available()  # the Apertium pivots installed (one `apertium -l`)
    with tempfile.TemporaryDirectory() as tmp:
        folder = reuters_folder(reuters_deb, Path(tmp)) if reuters else None
        if folder is None:
            notes.append("Reuters-21578 left out" + (" (r-cran-tm could not be downloaded)" if reuters else ""))
        else:
            arts = reuters_articles(folder)
            arts.sort(key=lambda a: stable_rank(a[0], seed))
            for rid, paras in arts[:reuters_limit]:
                originals.append((f"reuters.{rid}", f"reuters:{rid}", "reuters", paras))
    if shared is not None and (shared / "wmt22_articles" / "articles.jsonl").exists():
        rows = read_jsonl(shared / "wmt22_articles" / "articles.jsonl")
        docs = sorted({r["doc_id"] for r in rows}, key=lambda d: stable_rank(d, seed))[:wmt_limit]
        keep = set(docs)
        for r in rows:
            if r["doc_id"] not in keep:
                continue
            paras = [p for p in r["text"].split("\n") if p.strip()]
            group = f"wmt22:{r['doc_id']}"
            if r["label"] == "original_english":
                originals.append((r["id"], group, "wmt22", paras))
                original_sha[r["id"]] = text_sha(r["text"])
            else:
                sents, pnums = split_paragraphs(paras)
                is_mt = r["label"] == "machine_translation"
                extra.append(Doc(r["id"], group, "wmt22", "wmt_mt" if is_mt else "wmt_ht", int(is_mt), sents, pnums,
                                 source_sha=text_sha(r["text"])))
    else:
        notes.append("shared/data/wmt22_articles not found: left out")
    lines = shared / "wmt22_translationese" / "lines.tsv.gz" if shared is not None else None
    if lines is not None and lines.exists() and translationese_systems:
        extra += translationese_docs(lines, seed, translationese_systems)
    else:
        notes.append("shared/data/wmt22_translationese left out")
    if shared is not None and (shared / "ecbplus" / "ecbplus_docs.jsonl").exists():
        rows, left_out = ecb_rows(shared / "ecbplus" / "ecbplus_docs.jsonl", seed)
        notes.append(f"ECB+: {left_out} documents of the stories `mtaudit story-eval` damages are left out")
        for r in rows[:ecb_limit]:
            paras = [p for p in r["text"].split("\n") if p.strip()]
            if sum(len(p.split()) for p in paras) >= 40:
                originals.append((f"ecbplus.{r['doc_id']}", f"ecbplus:{r['doc_id']}", "ecbplus", paras))
                original_sha[f"ecbplus.{r['doc_id']}"] = text_sha(r["text"])
        if {"spa", "cat"} <= set(available):
            cover = coverage_fit.make(rows, {r["doc_id"] for r in rows[:ecb_limit]}, seed, coverage_limit)
        else:
            notes.append("Apertium eng-spa / eng-cat not installed: no coverage.jsonl, the detector gets no coverage model")
    if seeds is not None:
        for prefix in SEED_ORIGINALS:
            for path in sorted(seeds.glob(f"{prefix}_*.txt")):
                originals.append((f"seeds.{path.stem}", f"seeds:{path.stem}", "seeds", seed_paragraphs(path)))
                original_sha[f"seeds.{path.stem}"] = text_sha(path.read_text(encoding="utf-8"))

    docs: list[Doc] = []
    split = [(oid, group, corpus, *split_paragraphs(paras)) for oid, group, corpus, paras in originals]
    for oid, group, corpus, sents, pnums in split:
        docs.append(Doc(oid, group, corpus, "original", 0, sents, pnums, source_sha=original_sha.get(oid, "")))
    for n, pivot in enumerate(p for p in pivots if p in available):
        flat = [s for _, _, _, sents, _ in split for s in sents]
        back = iter(roundtrip.roundtrip(flat, pivot)) if flat else iter(())
        for oid, group, corpus, sents, pnums in split:
            moved = [roundtrip.normalise(next(back)) for _ in sents]
            docs.append(Doc(f"{oid}.rt_{pivot}", group, corpus, f"rt_{pivot}", 1, moved, pnums))
        if progress:
            progress("apertium", n + 1, len(pivots))
    missing = [p for p in pivots if p not in available]
    if missing:
        notes.append(f"Apertium pivots not installed, left out: {', '.join(missing)}")
    langs = [lang for lang in literal_langs if roundtrip.freedict_available(lang)]
    dicts = {lang: (roundtrip.FreeDict(f"eng-{lang}"), roundtrip.FreeDict(f"{lang}-eng")) for lang in langs}
    if langs:
        for oid, group, corpus, sents, pnums in split:
            lang = langs[int(stable_rank(oid, seed), 16) % len(langs)]
            there, back_dict = dicts[lang]
            doc_rng = random.Random(stable_rank(oid, seed))  # per document: one article's output never depends on the others
            moved = [roundtrip.normalise(roundtrip.literal(s, there, back_dict, literal_rate, doc_rng)) for s in sents]
            docs.append(Doc(f"{oid}.literal_{lang}", group, corpus, f"literal_{lang}", 1, moved, pnums))
    docs += extra
    docs = [d.render() for d in docs if d.sentences]
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "docs.jsonl", "".join(json.dumps(asdict(d), ensure_ascii=False) + "\n" for d in docs))
    write_text(out / coverage_fit.FILE, "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cover))
    manifest = summarise(docs)
    manifest.update({
        "data_version": DATA_VERSION, "seed": seed, "pivots": [p for p in pivots if p in available],
        "literal_langs": langs, "literal_rate": literal_rate, "ecb_limit": ecb_limit, "notes": notes,
        "coverage": {"stories": len(cover), "victims": sum(len(c["victims"]) for c in cover)},
        "licences": {c: LICENCES[c] for c in sorted({d.corpus for d in docs})},
        "seconds": round(time.time() - t0, 1),
    })
    write_json(out / "manifest.json", manifest)
    return manifest


def translationese_docs(path: Path, seed: int, systems: int) -> list[Doc]:
    """Windows of the trained-on side of wmt22_translationese: originals, and per window of each pair ``systems``
    MT outputs and one human reference of the same lines (one group: the chunk)."""
    text = translationese.by_text(translationese.read_lines(path))
    rng = random.Random(seed)
    docs: list[Doc] = []

    def add(kind: str, key: tuple[str, str, str], window: list[int], label: int) -> None:
        pair = key[1]
        sents, pnums = split_paragraphs([text[key][n] for n in window])
        docs.append(Doc(f"wmt22t.{pair}.{key[2]}.{window[0]}-{window[-1]}", translationese.chunk(pair, window[0]), "wmt22t",
                        kind, label, sents, pnums))

    for key in sorted(k for k in text if k[0] == "original"):
        for w in translationese.grid(translationese.side(text[key], key[1], evaluation=False), rng, key[1]):
            add("t_original", key, w, 0)
    for pair in translationese.NEURAL_PAIRS:
        for w, mt_ok, ref_ok in translationese.translated_windows(text, pair, False, rng):
            for k in rng.sample(mt_ok, min(systems, len(mt_ok))):
                add("t_mt", k, w, 1)
            if ref_ok:
                add("t_ht", rng.choice(ref_ok), w, 0)
    return docs


def summarise(docs: list[Doc]) -> dict[str, Any]:
    """Counts of documents, articles, sentences and words by corpus and kind (for the model card)."""
    table: dict[str, dict[str, dict[str, int]]] = {}
    for d in docs:
        row = table.setdefault(d.corpus, {}).setdefault(d.kind, {"articles": 0, "sentences": 0, "words": 0})
        row["articles"] += 1
        row["sentences"] += len(d.sentences)
        row["words"] += len(d.text.split())
    return {
        "articles": len(docs), "groups": len({d.group for d in docs}),
        "positives": sum(d.label for d in docs), "negatives": sum(1 - d.label for d in docs), "by_corpus": table,
    }


def load(folder: Path = DEFAULT_OUT) -> list[Doc]:
    path = folder / "docs.jsonl"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: run `mtaudit make-data` first")
    return [Doc(**row) for row in read_jsonl(path)]
