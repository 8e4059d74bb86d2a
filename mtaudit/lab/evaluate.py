"""Train and measure the detector: ``mtaudit train`` and ``mtaudit eval``.

Honest figures need care, because the wmt22_articles dev split is both training data and
the set the figures are reported on. So:
- every figure on training data is out-of-fold, from folds grouped by source document
  (all versions of a document, and every round trip of an original, fall in one fold);
- ``evaluate_file`` scores a row with the committed model only if its text was never
  trained on; a row that was (its text hash is in the model card's list) is scored by a
  model retrained without its fold, and the CSV says which is which.
Only ``id`` and ``text`` feed a prediction; ``label`` is read for the metrics alone.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import time
from pathlib import Path
from typing import Any

from mtaudit.base.atomic import write_text
from mtaudit.base.settings import Settings
from mtaudit.base.types import Progress
from mtaudit.lab import makedata, measures, train
from mtaudit.stages import classifier

LABELS = {"machine_translation": 1, "human_translation": 0, "original_english": 0}


text_sha = makedata.text_sha


# --- evaluating any JSONL file --------------------------------------------------------------------


def read_rows(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """The file's rows, and one line per row that cannot be read ("path:line: why [code]"), so one bad row
    costs that row, not the run. A missing file is still an OSError: there is nothing to evaluate."""
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    with open(path, "rb") as fh:
        for n, raw in enumerate(fh, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                problems.append(f"{path}:{n}: not UTF-8 ({exc.reason} at byte {exc.start}) [E_ENCODING]")
                continue
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(f"{path}:{n}: not JSON ({exc.msg}, column {exc.colno}) [E_JSON]")
                continue
            if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                problems.append(f"{path}:{n}: no 'text' string field [E_JSON]")
                continue
            if not row["text"].strip():
                problems.append(f"{path}:{n}: empty text [E_EMPTY]")
                continue
            row.setdefault("id", f"{path.name}:{n}")
            rows.append(row)
    return rows, problems


def sentences_of(text: str) -> list[str]:
    """Split raw text the way make-data splits its articles (paragraphs by line, then pysbd)."""
    paras = [p for p in text.split("\n") if p.strip()]
    sents, _ = makedata.split_paragraphs(paras)
    return sents or [" ".join(text.split())]


def evaluate_file(
    path: Path,
    detector: classifier.Detector,
    settings: Settings | None = None,
    data: Path | None = makedata.DEFAULT_OUT,
    progress: Progress | None = None,
    prior: float | str | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One prediction per row (id, label, probability, verdict, how) and the metrics on labelled rows.

    ``prior``: the share of machine translation to calibrate to (default: the setting ``mt_prior``), or
    ``"auto"`` to estimate it from the file's own probabilities (no labels read). Rows that cannot be read
    are skipped and named in ``summary["problems"]``.
    """
    settings = settings or Settings()
    rows, problems = read_rows(path)
    seen = set(detector.meta.get("training_text_sha", []))
    cache = train.feature_cache(settings)
    timed, spent = 0, 0.0
    preds: list[dict[str, Any]] = []
    for n, row in enumerate(rows):
        t0 = time.perf_counter()
        sents = sentences_of(row["text"])
        if n < measures.TIMED_ROWS:  # timed without the feature cache: what a new article costs
            pred = detector.predict(sents, settings, None)
            timed, spent = timed + 1, spent + time.perf_counter() - t0
        else:
            pred = detector.predict(sents, settings, cache)
        how = "seen-in-training" if text_sha(row["text"]) in seen else "model"
        preds.append({"id": row["id"], "label": row.get("label"), "probability": pred.probability, "how": how})
        if progress:
            progress("predict", n + 1, len(rows))
    per_article = spent / max(timed, 1)
    if any(p["how"] == "seen-in-training" for p in preds):
        refit_seen(rows, preds, detector, settings, data)
    prior_used, source = settings.mt_prior, "setting mt_prior"
    if prior == "auto" and preds:
        prior_used = classifier.estimate_prior([p["probability"] for p in preds])
        source = "estimated from the probabilities (Saerens EM, no labels)"
    elif prior is not None and prior != "auto":
        prior_used, source = float(prior), "--prior"
    if prior_used != 0.5 and preds:
        for p, moved in zip(preds, classifier.shift_prior([p["probability"] for p in preds], prior_used)):
            p["probability"] = float(moved)
    threshold, band = settings.article_threshold, settings.abstain_band  # as the audit decides (settings, then flags)
    for p in preds:  # every verdict here, once the probability is final (out-of-fold, moved to the prior)
        p["verdict"] = verdict_word(classifier.decide(p["probability"], threshold, band)[0])
    labelled = [p for p in preds if p["label"] in LABELS]
    summary: dict[str, Any] = {"file": str(path), "rows": len(rows), "labelled": len(labelled), "problems": problems,
                               "signature": detector.signature(), "seconds_per_article": round(per_article, 4),
                               "timed_rows": timed, "prior": round(prior_used, 4), "prior_source": source,
                               "threshold": threshold, "abstain_band": band,
                               "scored_by": {k: sum(p["how"] == k for p in preds) for k in sorted({p["how"] for p in preds})}}
    groups = {
        "all": lambda lab: True,
        "mt_vs_original": lambda lab: lab in ("machine_translation", "original_english"),
        "mt_vs_human": lambda lab: lab in ("machine_translation", "human_translation"),
    }
    for name, cond in groups.items():
        sel = [p for p in labelled if cond(p["label"])]
        if sel:
            summary[name] = measures.metrics([LABELS[p["label"]] for p in sel], [p["probability"] for p in sel],
                                    threshold, band)
            if prior_used != 0.5:  # the 50:50 reweighting measures the detector's own calibration, not the moved one
                summary[name]["ece_balanced"] = None
    return preds, summary


def verdict_word(mt: bool | None) -> str:
    return "abstain" if mt is None else ("machine_translation" if mt else "not_machine_translation")


def refit_seen(rows: list[dict[str, Any]], preds: list[dict[str, Any]], detector: classifier.Detector,
               settings: Settings, data: Path | None) -> None:
    """Rows the committed model trained on get an out-of-fold probability instead.

    The training data are rebuilt folds by source document; a row is predicted by a model
    fitted without its document's fold (same features, same settings as the committed one) and
    calibrated on the other folds' out-of-fold scores, as ``mtaudit train`` measures it.
    """
    if data is None or not (data / "docs.jsonl").exists():
        raise FileNotFoundError(
            "some rows were used to train the committed detector; scoring them with it would be train-on-test. "
            "Run `mtaudit make-data` so they can be scored out-of-fold"
        )
    docs = makedata.load(data)
    groups = [d.group for d in docs]
    group_of_sha = {d.source_sha: d.group for d in docs if d.source_sha}
    saved = detector.meta.get("metrics", {}).get("config", {})
    cfg = train.TrainConfig(**{k: (tuple(tuple(x) for x in v) if k == "shares" else tuple(v) if isinstance(v, list) else v)
                         for k, v in saved.items() if k in train.TrainConfig.__dataclass_fields__})
    dicts, _, cfg = train.article_dicts(docs, dataclasses.replace(cfg, lm_k=detector.lm_k), settings)
    seen = [(row, p) for row, p in zip(rows, preds) if p["how"] == "seen-in-training"]
    if not seen:
        return
    fs = train.fold_scores(docs, dicts, detector.article.names, detector.rules.names if detector.rules else [], cfg,
                     train.weights(docs, cfg))
    fold_of = fs.fold_of(groups)
    cache = train.feature_cache(settings)
    for row, p in seen:
        group = group_of_sha.get(text_sha(row["text"]))
        if group is None or group not in fold_of:
            raise ValueError(f"{p['id']}: trained on, but not in the data under {data} (rebuild it with `mtaudit make-data`)")
        k = fold_of[group]
        feats = detector.featurise(sentences_of(row["text"]), settings, cache)
        prob = float(classifier.calibrate(classifier.noisy_or(*fs.models[k].probabilities([feats])), fs.calibrations[k])[0])
        p.update(probability=prob, how=f"out-of-fold-{k}")  # the verdict follows, at the settings' threshold


def write_predictions(preds: list[dict[str, Any]], path: Path) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=["id", "label", "probability", "verdict", "how"], lineterminator="\n")
    w.writeheader()
    for p in preds:
        w.writerow({**p, "label": p["label"] or "", "probability": f"{p['probability']:.6f}"})
    write_text(path, buf.getvalue())


# --- model card ----------------------------------------------------------------------------------
