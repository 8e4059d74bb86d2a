"""How well story grouping finds the same event: pairwise precision/recall/F1 on ECB+.

ECB+ groups news documents by sub-topic (one event each); the other sub-topic of the same
topic is a similar event of the same kind, the hard negative a grouping must keep apart.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from mtaudit.base.settings import Settings, load_settings
from mtaudit.lab.paths import SHARED_DATA
from mtaudit.stages import ingest, stories


def load_ecbplus(path: Path, settings: Settings) -> tuple[list[Any], dict[str, str]]:
    """ECB+ documents as Articles (one sentence per line), and article_id -> gold sub-topic."""
    articles, gold = [], {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            doc = json.loads(line)
            article, _ = ingest.parse(doc["text"], doc["doc_id"], settings.replace(min_words=5))
            if article is not None and article.article_id not in gold:
                articles.append(article)
                gold[article.article_id] = doc["subtopic"]
    return articles, gold


def pair_counts(pred: dict[str, str | None], gold: dict[str, str]) -> tuple[int, int, int]:
    """Over the document pairs of ``gold``: (linked and of one gold story, linked, of one gold story), counted from
    cluster sizes rather than pair by pair (the grouping fit's grid search calls this thousands of times)."""
    def pairs(sizes: Counter[Any]) -> int:
        return sum(c * (c - 1) // 2 for c in sizes.values())

    linked = [(p, gold[a]) for a, p in pred.items() if p is not None and a in gold]
    return pairs(Counter(linked)), pairs(Counter(p for p, _ in linked)), pairs(Counter(gold.values()))


def pairwise(pred: dict[str, str | None], gold: dict[str, str]) -> dict[str, float]:
    """Pairwise precision, recall, F1 over all document pairs (singletons link nothing)."""
    tp, said, true = pair_counts(pred, gold)
    p = tp / said if said else 0.0
    r = tp / true if true else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0}


def evaluate(path: Path, settings: Settings, thresholds: list[float] | None = None) -> dict[str, Any]:
    articles, gold = load_ecbplus(path, settings)
    rows = []
    for thr in thresholds or [settings.story_threshold]:
        pred = stories.group(articles, settings.replace(story_threshold=thr))
        rows.append({"threshold": thr, **pairwise(pred, gold), "stories": len({v for v in pred.values() if v})})
    return {"documents": len(articles), "gold_stories": len(set(gold.values())), "signature": stories.signature(settings), "rows": rows}


def main() -> None:
    """``python -m mtaudit.lab.grouping_eval [THRESHOLD ...]``: the table behind the default story threshold."""

    path = SHARED_DATA / "ecbplus" / "ecbplus_docs.jsonl"
    thresholds = [float(a) for a in sys.argv[1:]] or [0.45, 0.5, 0.55, 0.6, 0.65, 0.7]
    print(json.dumps(evaluate(path, load_settings(), thresholds), indent=1))


if __name__ == "__main__":
    main()
