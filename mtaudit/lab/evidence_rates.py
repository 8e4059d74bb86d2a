"""How often each kind of text carries sentences the sentence model is sure of: what that evidence is worth.

``python -m mtaudit.lab.evidence_rates [DATA_FOLDER] [--per N] [--kinds K,K] [--json]``

The evidence rule (``detect.backing``) counts ``STRONG_SENTENCES`` sentences the LM sentence model is sure of
(p >= ``STRONG_SENTENCE``, in sentences of ``SENTENCE_MODEL_MIN_WORDS`` words or more) as evidence a person can
check. That model was fitted on round-trip damage, so the rate at which originals, human translations and neural
MT carry such sentences says how much the evidence is worth for each. Reads the detector's training-side documents (``mtaudit make-data``'s folder), ``--per`` of each kind
(seeded), with the shipped detector; the LM runs as the settings say (its readings are cached on disk).
Beside today's rule it reports a rule scaled to length: the sure sentences count only when an original of that
length shows as many in under ``ALPHA`` of cases (binomial tail at the originals' rate).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from mtaudit.base.settings import Settings, load_settings
from mtaudit.lab import makedata
from mtaudit.stages import detect, models

KINDS = ("rt_spa", "rt_cat", "rt_glg", "literal_fra", "t_mt", "wmt_mt", "t_ht", "wmt_ht", "original", "t_original")
RATE_FROM = "t_original"  # the originals whose per-sentence rate the length-scaled rule assumes (never in the sentence model's data)
ALPHA = 0.05
SEED = 5


def read(folder: Path, kinds: tuple[str, ...], per: int, settings: Settings) -> list[dict[str, Any]]:
    """One row per document: its kind, sentence count, the detector's probability and the LM sentence model's."""
    det = models.detector()
    by: defaultdict[str, list[makedata.Doc]] = defaultdict(list)
    for d in makedata.load(folder):
        if d.kind in kinds:
            by[d.kind].append(d)
    rows = []
    rng = random.Random(SEED)
    for kind in kinds:
        docs = by.get(kind, [])
        rng.shuffle(docs)
        for d in docs[:per]:
            pred = det.predict(d.sentences, settings)
            sent = det.sentence_lm_probabilities(d.sentences, settings, pred.sentence_rows)
            rows.append({"kind": kind, "corpus": d.corpus, "id": d.id, "n": len(sent), "p": round(pred.probability, 4),
                         "sure": len(detect.sure_sentences(sent, [detect.readable(t) for t in d.sentences]))})
    return rows


def tail(k: int, n: int, rate: float) -> float:
    """P(K >= k) for K ~ Binomial(n, rate): how often an original of n sentences shows k sure ones by chance."""
    from scipy.stats import binom  # scipy: only this measurement pays its import

    return float(binom.sf(k - 1, n, rate))


def table(rows: list[dict[str, Any]], rate_from: str = RATE_FROM, alpha: float = ALPHA) -> dict[str, Any]:
    """Per kind: documents, sentences, the share of sure sentences, and the share of documents today's rule and the
    length-scaled one would count as evidence (all of them, and those the detector calls MT)."""
    base = [r for r in rows if r["kind"] == rate_from]
    rate = sum(r["sure"] for r in base) / max(1, sum(r["n"] for r in base))

    kinds: dict[str, Any] = {}
    for kind in dict.fromkeys(r["kind"] for r in rows):
        rs = [r for r in rows if r["kind"] == kind]
        today = [r["sure"] >= detect.STRONG_SENTENCES for r in rs]
        scaled = [t and tail(r["sure"], r["n"], rate) <= alpha for r, t in zip(rs, today)]
        sentences = sum(r["n"] for r in rs)
        kinds[kind] = {
            "documents": len(rs), "sentences": sentences, "sure_share": round(sum(r["sure"] for r in rs) / max(1, sentences), 4),
            "rule_share": round(sum(today) / len(rs), 4), "scaled_rule_share": round(sum(scaled) / len(rs), 4),
            "read_mt": sum(r["p"] >= 0.5 for r in rs), "rule_read_mt": sum(t for r, t in zip(rs, today) if r["p"] >= 0.5),
        }
    return {"rate_from": rate_from, "original_rate": round(rate, 4), "alpha": alpha, "sure_at": detect.STRONG_SENTENCE,
            "rule_needs": detect.STRONG_SENTENCES, "kinds": kinds}


def markdown(result: dict[str, Any]) -> str:
    head = (f"| kind | documents | sentences | sure (p >= {result['sure_at']}) | {result['rule_needs']}+ sure (today's rule) | "
            f"scaled rule (tail <= {result['alpha']} at {result['original_rate']:.1%}) | read MT by the detector: rule passes |")
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|"]
    for kind, k in result["kinds"].items():
        lines.append(f"| {kind} | {k['documents']} | {k['sentences']} | {k['sure_share']:.1%} | {k['rule_share']:.0%} | "
                     f"{k['scaled_rule_share']:.0%} | {k['rule_read_mt']} of {k['read_mt']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m mtaudit.lab.evidence_rates", description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", nargs="?", default=str(makedata.DEFAULT_OUT), help="mtaudit make-data's folder")
    ap.add_argument("--per", type=int, default=50, help="documents of each kind (seeded draw)")
    ap.add_argument("--kinds", default=",".join(KINDS), help=f"kinds to read (default {','.join(KINDS)}; {RATE_FROM} is always read: the scaled rule's rate)")
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    args = ap.parse_args(argv)
    folder = Path(args.folder)
    if not (folder / "docs.jsonl").exists():
        print(f"{folder}: no docs.jsonl (run `mtaudit make-data` first)", file=sys.stderr)
        return 2
    kinds = tuple(dict.fromkeys([*(k for k in args.kinds.split(",") if k), RATE_FROM]))  # the originals' rate is always read
    result = table(read(folder, kinds, args.per, load_settings()))
    print(json.dumps(result, indent=2) if args.json else markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
