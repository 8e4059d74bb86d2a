"""How far other outlets' coverage moves the detector's odds: fitted on ECB+ stories the detector never read.

The detector reads an article alone. When other outlets cover the story, the spans they
contradict (a name they spell otherwise, a phrase none of them uses) are further evidence,
and the detector's own odds may read differently on news that has coverage. How much of
each is fitted here, not set by hand: ``mtaudit make-data`` takes ECB+ articles the detector
does not train on, from stories ``mtaudit story-eval`` does not use, each as written and as a
full Apertium round trip (``coverage.jsonl``); ``mtaudit train`` audits both versions with the
rest of their story as coverage and fits a logistic regression over two numbers (the
detector's log-odds and the contradicted spans' summed log-odds), measured out-of-fold by
story first. The model is stored in ``detector.json`` and applies only when coverage exists.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from mtaudit.types import Span

FILE = "coverage.jsonl"
CROSS_OUTLET = ("name_mismatch", "name_as_word", "collocation", "wording")  # span kinds other outlets back
MIN_WEIGHT = 0.5  # a span counts as contradicted by the others from this weight on
CAP = 6.0  # summed span log-odds are capped: ten mangled names are not ten times the evidence of three
FEATURES = ("detector_logit", "contradicted_logit")
FOLDS = 5
Progress = Callable[[str, int, int], None]


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def contradicted(spans: list[Span]) -> list[Span]:
    """The spans other outlets contradict (name mismatches, names read as words, phrases none of them uses)."""
    return [s for s in spans if s.kind in CROSS_OUTLET and s.support and s.weight >= MIN_WEIGHT]


def features(p_model: float, strong: list[Span], cap: float = CAP) -> list[float]:
    """[detector log-odds, summed log-odds of the contradicted spans ``strong`` (capped)]: the fitted model's inputs."""
    return [_logit(p_model), min(sum(_logit(s.weight) for s in strong), cap)]


def combine(model: dict[str, Any] | None, p_model: float, spans: list[Span], has_context: bool) -> tuple[float, list[str]]:
    """The probability after coverage, with the reason lines; unchanged without coverage or a fitted model."""
    if not has_context:
        return p_model, []
    if not model:
        return p_model, ["other outlets cover this story, but this detector has no fitted coverage model: their spans are evidence only"]
    strong = contradicted(spans)
    x = features(p_model, strong, model.get("cap", CAP))  # the cap it was fitted with
    z = model["intercept"] + sum(c * v for c, v in zip(model["coef"], x))
    p = 1.0 / (1.0 + math.exp(-z))
    n = len(strong)
    what = (f"{n} spans other outlets contradict (summed log-odds {x[1]:.1f}, weighted {model['coef'][1] * x[1]:+.2f})" if n
            else "other outlets contradict none of its names, phrases or words")
    return p, [f"coverage model (fitted on {model.get('n', '?')} ECB+ articles): {what}; "
               f"detector {p_model:.3f} -> {p:.3f}"]


# --- the data, made by `mtaudit make-data` --------------------------------------------------------


def make(rows: list[dict[str, Any]], trained: set[str], seed: int, limit: int | None = None) -> list[dict[str, Any]]:
    """Stories with victims: the ECB+ articles of ``rows`` outside ``trained``, round-tripped whole.

    ``rows`` are the ECB+ documents of the stories ``mtaudit story-eval`` does not use
    (``makedata.ecb_rows``). Each story keeps all its documents as coverage; a victim is
    audited against the others (never against itself). Pivots alternate spa / cat in a seeded order.
    """
    from mtaudit import storyeval

    docs: dict[str, list[dict[str, Any]]] = {}
    for d in rows:
        docs.setdefault(d["subtopic"], []).append(d)
    victims: list[storyeval.Story] = []
    for sid in sorted(docs, key=lambda s: storyeval.rank(s, seed)):
        members = sorted(docs[sid], key=lambda d: d["doc_id"])
        if len(members) < 3:
            continue
        for v in members:
            if v["doc_id"] not in trained and v["n_sentences"] >= 4:
                victims.append(storyeval.Story(sid, v, [], pivot=("spa", "cat")[len(victims) % 2]))
    victims = victims[:limit]
    storyeval.damage(victims, 1.0, seed)
    out: dict[str, dict[str, Any]] = {}
    for v in victims:
        story = out.setdefault(v.story_id, {"story": v.story_id, "context": [{"doc_id": d["doc_id"], "text": d["text"]}
                                                                             for d in sorted(docs[v.story_id], key=lambda d: d["doc_id"])],
                                            "victims": []})
        story["victims"].append({"doc_id": v.victim["doc_id"], "pivot": v.pivot, "damaged": v.damaged_lines,
                                 "changed": sum(v.changed), "lines": len(v.changed)})
    return list(out.values())


def load(folder: Path) -> list[dict[str, Any]]:
    path = Path(folder) / FILE
    if not path.exists():
        return []
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


# --- the fit, run by `mtaudit train` --------------------------------------------------------------


def audited(stories: list[dict[str, Any]], settings: Any, progress: Progress | None = None) -> Iterator[dict[str, Any]]:
    """Each victim as written (label 0) and round-tripped (label 1), audited against the rest of its story.

    Yields the story, the victim, the label, the article (one sentence per line), its sentence
    evidence and the original lines: the coverage fit and ``mtaudit.spans_eval`` read the same audit.
    """
    from mtaudit import align, detect, signals, storyeval

    for k, story in enumerate(stories):
        context = storyeval.context_articles(story["context"], settings)
        texts = {d["doc_id"]: d["text"] for d in story["context"]}
        for v in story["victims"]:
            others = [a for did, a in context.items() if did != v["doc_id"]]
            index = signals.StoryIndex.build(others)
            original = texts[v["doc_id"]].split("\n")
            for label, lines in ((0, original), (1, v["damaged"])):
                art = storyeval.lines_article(lines, f"{v['doc_id']}:{label}")
                kept, copies = align.split_copies(art, others, settings)  # a copy is no coverage, as in the audit
                story_index = signals.StoryIndex.build(kept) if copies else index
                evidence = detect.sentences(art, align.align(art, kept, settings), story_index, settings)
                yield {"story": story["story"], "victim": v, "label": label, "article": art, "evidence": evidence,
                       "original": original}
        if progress:
            progress("coverage", k + 1, len(stories))


def featurise(stories: list[dict[str, Any]], detector: Any, settings: Any, progress: Progress | None = None) -> list[dict[str, Any]]:
    """Audit each victim as written (label 0) and round-tripped (label 1) against its story: the fit's rows."""
    rows: list[dict[str, Any]] = []
    for a in audited(stories, settings, progress):
        art, v = a["article"], a["victim"]
        p = detector.predict([s.text for s in art.sentences], settings).probability
        strong = contradicted([s for e in a["evidence"] for s in e.spans])
        rows.append({"story": a["story"], "doc_id": v["doc_id"], "pivot": v["pivot"], "label": a["label"],
                     "detector": p, "x": features(p, strong), "contradicted": len(strong)})
    return rows


def _metrics(y: np.ndarray, z: np.ndarray) -> dict[str, Any]:
    from sklearn.metrics import roc_auc_score

    from mtaudit.evaluate import ece

    p = 1.0 / (1.0 + np.exp(-z))
    pc = np.clip(p, 1e-9, 1 - 1e-9)
    return {"auroc": round(float(roc_auc_score(y, z)), 4), "accuracy": round(float(np.mean((p >= 0.5) == y)), 4),
            "log_loss": round(float(-np.mean(y * np.log(pc) + (1 - y) * np.log(1 - pc))), 4),
            "ece": round(float(ece(y, p)), 4), "recall": round(float(np.mean(p[y == 1] >= 0.5)), 4),
            "false_positive_rate": round(float(np.mean(p[y == 0] >= 0.5)), 4)}


def fit(rows: list[dict[str, Any]], c: float = 1.0, seconds: float | None = None) -> dict[str, Any]:
    """Logistic regression over FEATURES; out-of-fold by story first (the figures), then on every row (the model)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    x = np.array([r["x"] for r in rows], dtype=float)
    y = np.array([r["label"] for r in rows])
    groups = np.array([r["story"] for r in rows])
    if len(set(groups)) < 2 or len(set(y)) < 2:
        raise ValueError("the coverage model needs originals and round trips from at least two stories")
    oof = np.zeros(len(y))
    for train, test in GroupKFold(min(FOLDS, len(set(groups)))).split(x, y, groups):
        oof[test] = LogisticRegression(C=c).fit(x[train], y[train]).decision_function(x[test])
    final = LogisticRegression(C=c).fit(x, y)
    alone = x[:, 0]
    return {
        "features": list(FEATURES), "coef": [round(float(v), 4) for v in final.coef_[0]],
        "intercept": round(float(final.intercept_[0]), 4), "cap": CAP, "min_weight": MIN_WEIGHT, "c": c,
        "n": len(rows), "stories": len(set(groups)), "positives": int(y.sum()),
        "out_of_fold": {"detector_alone": _metrics(y, alone), "fitted": _metrics(y, oof)},
        "seconds": seconds,
    }


def train(folder: Path, detector: Any, settings: Any, progress: Progress | None = None) -> dict[str, Any] | None:
    """The coverage model for ``detector`` from ``folder/coverage.jsonl``; None when make-data wrote under two stories."""
    stories = load(folder)
    if len(stories) < 2:
        return None
    t0 = time.time()
    rows = featurise(stories, detector, settings, progress)
    return fit(rows, seconds=round(time.time() - t0, 1))
