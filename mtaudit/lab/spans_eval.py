"""The cross-outlet span signals and their repairs, measured on held-out ECB+ stories.

``python -m mtaudit.lab.spans_eval [DATA_FOLDER] [--json]`` reads the coverage stories that
``mtaudit make-data`` writes (``coverage.jsonl``: ECB+ articles neither the detector nor
``mtaudit story-eval`` uses, each as written and as a whole Apertium round trip) and audits
both versions against the rest of their story, as ``mtaudit train`` does for the coverage
model. What it counts:

- a span on an article as written is a false alarm; a span on its round trip is wrong when
  the original line has its words between the same neighbouring words (it was there before
  the round trip), right otherwise;
- a repair (the sentence with the supported suggestions applied) is closer or further when
  its chrF against the original line rises or falls; a repair of an original is a wrong one.

Per kind, with only that kind's suggestions applied, and for all kinds together.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from mtaudit.base.settings import Settings, load_settings
from mtaudit.base.types import Span
from mtaudit.lab import coverage_fit, makedata
from mtaudit.stages import coverage, detect, reference, severity
from mtaudit.stages.signals import tokens

ALL = "all kinds"


def was_there(text: str, span: Span, original: str) -> bool:
    """Whether the original line has the span's words between the same neighbouring words (so the round trip did not make it)."""
    toks = tokens(text)
    words = [t.key for t in toks]
    inside = [i for i, t in enumerate(toks) if span.start <= t.start and t.end <= span.end]
    if not inside:
        return span.text in original
    phrase = words[max(inside[0] - 1, 0) : inside[-1] + 2]
    return f" {' '.join(phrase)} " in f" {' '.join(t.key for t in tokens(original))} "


def _tally() -> dict[str, Any]:
    return {"spans_on_originals": 0, "spans_right": 0, "spans_wrong": 0, "repaired_originals": 0,
            "repaired_round_trips": 0, "closer": 0, "further": 0, "chrf_gains": []}


def evaluate(folder: Path, settings: Settings, progress: coverage.Progress | None = None) -> dict[str, Any]:
    """Counts per span kind, per severity and for all kinds, and one row per span (``spans``: its kind, severity,
    weight, support and outcome: on_originals, right or wrong); empty ``kinds`` when make-data wrote no coverage stories."""
    from sacrebleu.metrics import CHRF  # sacrebleu: only scoring pays its import

    chrf = CHRF()
    stories = coverage_fit.load(folder)
    out: defaultdict[str, dict[str, Any]] = defaultdict(_tally)
    graded: dict[str, dict[str, int]] = {g: {"spans_on_originals": 0, "spans_right": 0, "spans_wrong": 0} for g in severity.SEVERITIES[::-1]}
    sentences = [0, 0]
    rows: list[dict[str, Any]] = []
    for a in coverage_fit.audited(stories, settings, progress):
        label, art = a["label"], a["article"]
        sentences[label] += len(art.sentences)
        for e in a["evidence"]:
            sent, original = art.sentences[e.index], a["original"][e.index]
            by_kind: defaultdict[str, list[Span]] = defaultdict(list)
            for span in e.spans:
                by_kind[span.kind].append(span)
                t, g = out[span.kind], graded[str(span.severity)]  # detect.sentences graded it
                key = "spans_on_originals" if label == 0 else "spans_wrong" if was_there(art.text, span, original) else "spans_right"
                t[key] += 1
                g[key] += 1
                rows.append({"story": a["story"], "article": art.source, "sentence": e.index, "kind": span.kind,
                             "severity": span.severity, "weight": span.weight, "support": len(span.support),
                             "text": span.text, "first_word": span.start == sent.start, "outcome": key.removeprefix("spans_")})
            for kind, spans in [*by_kind.items(), (ALL, e.spans)]:
                repaired = reference.repair(art, sent, spans)
                if repaired is None:
                    continue
                t = out[kind]
                if label == 0:
                    t["repaired_originals"] += 1
                    continue
                gain = chrf.sentence_score(repaired, [original]).score - chrf.sentence_score(sent.text, [original]).score
                t["repaired_round_trips"] += 1
                t["closer"] += gain > 0
                t["further"] += gain < 0
                t["chrf_gains"].append(gain)
    kinds = {}
    for kind, t in sorted(out.items(), key=lambda kv: (kv[0] == ALL, kv[0])):
        gains = t.pop("chrf_gains")
        kinds[kind] = {**t, "mean_chrf_gain": round(sum(gains) / len(gains), 2) if gains else None}
    return {"data": {"stories": len(stories), "articles": sum(len(s["victims"]) for s in stories),
                     "sentences_original": sentences[0], "sentences_round_trip": sentences[1]},
            "kinds": kinds, "severities": graded, "signature": detect.signature(settings), "spans": rows}


def table(result: dict[str, Any]) -> str:
    """Plain-text table of ``evaluate``'s counts, one row per kind."""
    head = ["kind", "on originals", "right", "wrong", "repairs: originals", "round trips", "closer", "further", "mean chrF gain"]
    keys = ["spans_on_originals", "spans_right", "spans_wrong", "repaired_originals", "repaired_round_trips", "closer",
            "further", "mean_chrf_gain"]
    rows = [head] + [[kind] + ["-" if t[k] is None else str(t[k]) for k in keys] for kind, t in result["kinds"].items()]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in rows)


def main(argv: list[str] | None = None) -> int:
    """Print the table (or JSON with --json); exit 2 when there are no coverage stories to read."""
    args = sys.argv[1:] if argv is None else argv
    as_json = "--json" in args
    folders = [a for a in args if a != "--json"]
    folder = Path(folders[0]) if folders else makedata.DEFAULT_OUT
    result = evaluate(folder, load_settings())
    if not result["kinds"] and not result["data"]["stories"]:
        print(f"no coverage stories in {folder / coverage_fit.FILE}: run `mtaudit make-data` first", file=sys.stderr)
        return 2
    d = result["data"]
    print(json.dumps(result, indent=1) if as_json else
          f"{d['articles']} ECB+ articles in {d['stories']} stories, {d['sentences_original']} sentences as written, "
          f"{d['sentences_round_trip']} round-tripped\n{table(result)}\n\nby severity (on originals / right / wrong on round trips): "
          + ", ".join(f"{g} {t['spans_on_originals']} / {t['spans_right']} / {t['spans_wrong']}" for g, t in result["severities"].items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
