"""Fitting the coverage model (mtaudit train) on ECB+ stories the detector never read; the model itself is applied by :mod:`mtaudit.stages.coverage`.

``mtaudit make-data`` takes ECB+ articles the detector does not train on, from stories ``mtaudit story-eval`` does not use,
each as written and as a full Apertium round trip (``coverage.jsonl``); ``mtaudit train`` audits both versions with the
rest of their story as coverage and fits a logistic regression over two numbers (the detector's log-odds and the
contradicted spans' summed log-odds), measured out-of-fold by story first.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from mtaudit.base.types import Progress
from mtaudit.lab import storyeval
from mtaudit.lab.measures import ece
from mtaudit.stages import align, detect, signals
from mtaudit.stages.coverage import CAP, FEATURES, MIN_WEIGHT, contradicted, features

FILE = "coverage.jsonl"


FOLDS = 5


def make(rows: list[dict[str, Any]], trained: set[str], seed: int, limit: int | None = None) -> list[dict[str, Any]]:
    """Stories with victims: the ECB+ articles of ``rows`` outside ``trained``, round-tripped whole.

    ``rows`` are the ECB+ documents of the stories ``mtaudit story-eval`` does not use
    (``makedata.ecb_rows``). Each story keeps all its documents as coverage; a victim is
    audited against the others (never against itself). Pivots alternate spa / cat in a seeded order.
    """

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


def audited(stories: list[dict[str, Any]], settings: Any, progress: Progress | None = None) -> Iterator[dict[str, Any]]:
    """Each victim as written (label 0) and round-tripped (label 1), audited against the rest of its story.

    Yields the story, the victim, the label, the article (one sentence per line), its sentence
    evidence and the original lines: the coverage fit and ``mtaudit.lab.spans_eval`` read the same audit.
    """

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
    from sklearn.metrics import roc_auc_score  # scikit-learn: only fitting and measuring pay its import

    p = 1.0 / (1.0 + np.exp(-z))
    pc = np.clip(p, 1e-9, 1 - 1e-9)
    return {"auroc": round(float(roc_auc_score(y, z)), 4), "accuracy": round(float(np.mean((p >= 0.5) == y)), 4),
            "log_loss": round(float(-np.mean(y * np.log(pc) + (1 - y) * np.log(1 - pc))), 4),
            "ece": round(float(ece(y, p)), 4), "recall": round(float(np.mean(p[y == 1] >= 0.5)), 4),
            "false_positive_rate": round(float(np.mean(p[y == 0] >= 0.5)), 4)}


def fit(rows: list[dict[str, Any]], c: float = 1.0, seconds: float | None = None) -> dict[str, Any]:
    """Logistic regression over FEATURES; out-of-fold by story first (the figures), then on every row (the model)."""
    from sklearn.linear_model import LogisticRegression  # scikit-learn: only fitting and measuring pay its import
    from sklearn.model_selection import GroupKFold  # scikit-learn: only fitting and measuring pay its import

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
