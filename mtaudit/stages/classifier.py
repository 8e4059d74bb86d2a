"""The trained detector: standardised features -> logistic regressions -> calibration.

Why scikit-learn's logistic regression and not a neural head: the training data are a few
thousand articles, the features are a few dozen readable numbers, and a linear model gives
(1) probabilities that calibrate well (Platt or isotonic, fitted on out-of-fold scores by
``CalibratedClassifierCV(ensemble=False)`` with document-grouped folds), (2) an explanation
for free: each feature's contribution to the log-odds is coefficient x standardised value,
and (3) a prediction in microseconds on a CPU.

Two models read every article. The article model is multinomial: original English (news; web
text), human translation, neural machine translation (from Chinese; from five more languages), round
trip; P(MT) is the mass of the MT classes. One
binary boundary must put machine translation above both originals and human translations, and
the features that set MT apart from the one point the wrong way for the other ("as" and "by" are
rarer in MT than in human translation, commoner than in original news); a class each gives each
its own boundary. The rules model reads only the rare, explicit slips (literal, foreign, caps:
"her export controls", "phase un", "XI"), and the two combine as a noisy OR, so a fluent article
with a few such slips is not outvoted by its fluent style.

One family of the article model is learnt rather than hand-made: the word-choice model
(:mod:`mtaudit.stages.wordchoice`), whose reading of each sentence the article model weighs like any feature.

The model is saved as plain JSON (``models/detector/detector.json``, the word-choice model beside it as gzipped
JSON): numbers and words only, no pickle, so loading it runs no code and any version of Python can read it.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mtaudit.base.atomic import write_text
from mtaudit.base.cache import Cache
from mtaudit.stages import features, wordchoice
from mtaudit.stages.wordchoice import WordChoiceModel

MODEL_VERSION = "1.2.0"
MODEL_FILE = "detector.json"


@dataclass
class LinearModel:
    """z = (x - mean) / scale (NaN -> 0, clipped to +-clip), logit = coef . z + intercept, p = calibrate(logit).

    The clip keeps an article far outside the training data on one heavy-tailed feature from being decided by it alone.
    """

    names: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    calibration: dict[str, Any]
    clip: float | None = None

    def standardise(self, rows: np.ndarray) -> np.ndarray:
        return standardise(rows, np.asarray(self.mean), np.asarray(self.scale), self.clip)

    def logit(self, rows: np.ndarray) -> np.ndarray:
        return self.standardise(rows) @ np.asarray(self.coef) + self.intercept

    def proba(self, rows: np.ndarray) -> np.ndarray:
        return calibrate(self.logit(rows), self.calibration)

    def contributions(self, row: np.ndarray) -> list[tuple[str, float]]:
        """Each feature's share of the log-odds, largest first."""
        z = self.standardise(np.asarray(row, dtype=float)[None, :])[0]
        parts = z * np.asarray(self.coef)
        order = np.argsort(-np.abs(parts))
        return [(self.names[i], float(parts[i])) for i in order]

    def matrix(self, dicts: list[dict[str, float]]) -> np.ndarray:
        return feature_matrix(dicts, self.names)


def standardise(rows: np.ndarray, mean: np.ndarray, scale: np.ndarray, clip: float | None) -> np.ndarray:
    z = np.nan_to_num((np.asarray(rows, dtype=float) - mean) / scale, nan=0.0, posinf=0.0, neginf=0.0)
    return z if clip is None else np.clip(z, -clip, clip)


def feature_matrix(dicts: list[dict[str, float]], names: list[str]) -> np.ndarray:
    """Rows of ``names`` from feature dicts; a feature a dict lacks is NaN (standardised to the mean)."""
    return np.array([[d.get(n, math.nan) for n in names] for d in dicts], dtype=float)


def logodds(p: np.ndarray | float) -> np.ndarray:
    """log(p / (1 - p)), with p kept off 0 and 1."""
    q = np.clip(np.asarray(p, dtype=float), 1e-12, 1 - 1e-12)
    return np.log(q) - np.log1p(-q)


def moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and standard deviations, ignoring NaN; a constant or empty column gets scale 1."""
    with np.errstate(all="ignore"):
        mean = np.nan_to_num(np.nanmean(x, axis=0), nan=0.0)
        scale = np.nan_to_num(np.nanstd(x, axis=0), nan=1.0)
    return mean, np.where(scale > 1e-12, scale, 1.0)


def calibrate(scores: np.ndarray, cal: dict[str, Any]) -> np.ndarray:
    scores = np.asarray(scores, dtype=float)
    if cal["method"] == "sigmoid":
        return 1.0 / (1.0 + np.exp(cal["a"] * scores + cal["b"]))
    if cal["method"] == "isotonic":
        return np.clip(np.interp(scores, cal["x"], cal["y"]), 0.0, 1.0)
    return 1.0 / (1.0 + np.exp(-scores))


def fit_linear(
    dicts: list[dict[str, float]],
    y: list[int],
    groups: list[str],
    names: list[str],
    c: float = 0.3,
    method: str = "isotonic",
    n_splits: int = 5,
    seed: int = 13,
    weights: list[float] | None = None,
    calibration_weights: str = "same",
    clip: float | None = None,
) -> LinearModel:
    """Fit, then calibrate on out-of-fold scores from document-grouped folds (no document on both sides).

    Standardisation uses the mean and scale of all rows given (no labels involved); a missing
    value (NaN) becomes the mean. ``weights`` balance the populations of the training mix; with
    ``calibration_weights="same"`` (default) the calibrator sees them too, so probabilities refer
    to the balanced mix (closer to a 50:50 prior) rather than to the training set's 78% MT.
    """
    from sklearn.calibration import CalibratedClassifierCV  # scikit-learn: only fitting and measuring pay its import
    from sklearn.linear_model import LogisticRegression  # scikit-learn: only fitting and measuring pay its import
    from sklearn.model_selection import GroupKFold  # scikit-learn: only fitting and measuring pay its import

    x = feature_matrix(dicts, names)
    yy = np.asarray(y)
    mean, scale = moments(x)
    z = standardise(x, mean, scale, clip)
    w = np.ones(len(yy)) if weights is None else np.asarray(weights, dtype=float)
    if weights is None:  # balance the classes
        w = np.where(yy == 1, 0.5 / max(yy.mean(), 1e-9), 0.5 / max(1 - yy.mean(), 1e-9))
    folds = list(GroupKFold(n_splits=min(n_splits, len(set(groups)))).split(z, yy, groups))
    if calibration_weights == "same":
        base = LogisticRegression(C=c, max_iter=5000, random_state=seed)
        cal = CalibratedClassifierCV(base, method=method, cv=folds, ensemble=False).fit(z, yy, sample_weight=w)
        fitted = cal.calibrated_classifiers_[0]
        lr, calibrator = fitted.estimator, fitted.calibrators[0]
        if method == "isotonic":
            calibration = {"method": "isotonic", "x": calibrator.X_thresholds_.tolist(), "y": calibrator.y_thresholds_.tolist()}
        else:
            calibration = {"method": "sigmoid", "a": float(calibrator.a_), "b": float(calibrator.b_)}
    else:
        # what CalibratedClassifierCV(ensemble=False) does, except that the calibrator sees every row at
        # weight 1: the weights balance what the model learns, the probabilities keep the data's own rates
        oof = np.zeros(len(yy))
        for train, test in folds:
            fold = LogisticRegression(C=c, max_iter=5000, random_state=seed).fit(z[train], yy[train], sample_weight=w[train])
            oof[test] = fold.decision_function(z[test])
        lr = LogisticRegression(C=c, max_iter=5000, random_state=seed).fit(z, yy, sample_weight=w)
        if method == "isotonic":
            from sklearn.isotonic import IsotonicRegression  # scikit-learn: only fitting and measuring pay its import

            iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(oof, yy)
            calibration = {"method": "isotonic", "x": iso.X_thresholds_.tolist(), "y": iso.y_thresholds_.tolist()}
        else:
            platt = LogisticRegression(C=1e6, max_iter=1000).fit(oof[:, None], yy)
            calibration = {"method": "sigmoid", "a": float(-platt.coef_[0][0]), "b": float(-platt.intercept_[0])}
    return LinearModel(list(names), mean.tolist(), scale.tolist(), lr.coef_[0].tolist(), float(lr.intercept_[0]), calibration,
                       clip)


@dataclass
class SoftmaxModel:
    """Multinomial logistic regression over standardised features; P(MT) is the mass of ``positive`` classes."""
    names: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[list[float]]  # one row per class
    intercept: list[float]
    classes: list[str]
    positive: list[str]
    calibration: dict[str, Any]
    clip: float | None = None

    def standardise(self, rows: np.ndarray) -> np.ndarray:
        return standardise(rows, np.asarray(self.mean), np.asarray(self.scale), self.clip)

    def class_probabilities(self, rows: np.ndarray) -> np.ndarray:
        scores = self.standardise(rows) @ np.asarray(self.coef).T + np.asarray(self.intercept)
        scores -= scores.max(axis=1, keepdims=True)
        e = np.exp(scores)
        return e / e.sum(axis=1, keepdims=True)

    def logit(self, rows: np.ndarray) -> np.ndarray:
        """Log-odds of the positive classes' mass (before calibration)."""
        return logodds(self.class_probabilities(rows)[:, np.isin(self.classes, self.positive)].sum(axis=1))

    def proba(self, rows: np.ndarray) -> np.ndarray:
        return calibrate(self.logit(rows), self.calibration)

    def rivals(self, row: np.ndarray) -> tuple[int, int]:
        """The likeliest positive class and the likeliest other class of one row."""
        probs = self.class_probabilities(np.asarray(row, dtype=float)[None, :])[0]
        pos = np.isin(self.classes, self.positive)
        return int(np.argmax(np.where(pos, probs, -1.0))), int(np.argmax(np.where(pos, -1.0, probs)))

    def contributions(self, row: np.ndarray) -> list[tuple[str, float]]:
        """Each feature's share of log P(likeliest MT class) / P(likeliest other class), largest first.

        Exact for that pair (they add up to it with the intercepts' difference): the reason an article
        reads as, say, round trip rather than original English.
        """
        a, b = self.rivals(row)
        z = self.standardise(np.asarray(row, dtype=float)[None, :])[0]
        parts = z * (np.asarray(self.coef[a]) - np.asarray(self.coef[b]))
        order = np.argsort(-np.abs(parts))
        return [(self.names[i], float(parts[i])) for i in order]

    def matrix(self, dicts: list[dict[str, float]]) -> np.ndarray:
        return feature_matrix(dicts, self.names)


def fit_softmax(
    dicts: list[dict[str, float]],
    classes: list[str],
    positive: list[str],
    groups: list[str],
    names: list[str],
    c: float = 0.01,
    n_splits: int = 5,
    seed: int = 13,
    weights: list[float] | None = None,
    clip: float | None = None,
    calibration_weights: str = "same",
) -> SoftmaxModel:
    """Fit the multinomial model; Platt-calibrate the log-odds of the positive mass on document-grouped out-of-fold scores.

    Standardisation, weights and ``calibration_weights`` as in :func:`fit_linear`.
    """
    from sklearn.linear_model import LogisticRegression  # scikit-learn: only fitting and measuring pay its import
    from sklearn.model_selection import GroupKFold  # scikit-learn: only fitting and measuring pay its import

    x = feature_matrix(dicts, names)
    mean, scale = moments(x)
    z = standardise(x, mean, scale, clip)
    labels = np.asarray(classes)
    y = np.isin(labels, positive).astype(int)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)

    def fit(rows: np.ndarray) -> SoftmaxModel:
        lr = LogisticRegression(C=c, max_iter=5000, random_state=seed).fit(z[rows], labels[rows], sample_weight=w[rows])
        return SoftmaxModel(list(names), mean.tolist(), scale.tolist(), lr.coef_.tolist(), lr.intercept_.tolist(),
                            [str(k) for k in lr.classes_], list(positive), {"method": "none"}, clip)

    oof = np.zeros(len(y))
    for train, test in GroupKFold(n_splits=min(n_splits, len(set(groups)))).split(z, y, groups):
        oof[test] = fit(train).logit(x[test])
    model = fit(np.arange(len(y)))
    model.calibration = platt(oof, y, w if calibration_weights == "same" else None)
    return model


def platt(scores: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> dict[str, Any]:
    """Sigmoid calibration of ``scores`` (as :func:`calibrate` reads it), fitted by weighted logistic regression."""
    from sklearn.linear_model import LogisticRegression  # scikit-learn: only fitting and measuring pay its import

    fit = LogisticRegression(C=1e6, max_iter=1000).fit(np.asarray(scores, dtype=float)[:, None], y, sample_weight=w)
    return {"method": "sigmoid", "a": float(-fit.coef_[0][0]), "b": float(-fit.intercept_[0])}


def noisy_or(p_article: np.ndarray, p_rules: np.ndarray | None) -> np.ndarray:
    """P(either model is right that the article is MT), as log-odds: the combination's input to its calibration."""
    p = np.asarray(p_article, dtype=float)
    if p_rules is not None:
        p = 1.0 - (1.0 - p) * (1.0 - np.asarray(p_rules, dtype=float))
    return logodds(p)


@dataclass
class Prediction:
    probability: float
    machine_translated: bool | None
    abstained: bool
    contributions: list[tuple[str, float]]  # the stronger model's: each feature's share of its log-odds, largest first
    features: dict[str, float]
    sentence_probabilities: list[float] = field(default_factory=list)
    sentence_rows: list[dict[str, float]] = field(default_factory=list)  # the sentence features, for sentence_lm_probabilities
    article_probability: float | None = None  # the article model's own, before the rules join it
    rules_probability: float | None = None
    kinds: dict[str, float] = field(default_factory=dict)  # the multinomial model's reading: kind of text -> probability


def featurise(sentences: list[str], lm_k: int = 0, settings: Any = None, cache: Cache | None = None,
              rows: list[dict[str, float]] | None = None) -> dict[str, float]:
    """The article features every detector reads (from the on-disk cache when it has them)."""
    key = features.cache_key("\n".join(sentences), lm_k)
    if cache is not None and (hit := cache.get_json([key]).get(key)) is not None:
        return hit
    lm_rows = features.lm_features(sentences, lm_k, settings) if lm_k and settings is not None else None
    feats = features.article_features(sentences, lm_rows, rows)
    if cache is not None:
        cache.put_json({key: feats})
    return feats


@dataclass
class Detector:
    """Article model + rules model + sentence model + the decision rule, as saved in models/detector/."""
    article: SoftmaxModel
    sentence: LinearModel | None
    threshold: float = 0.5
    abstain_band: float = 0.1
    lm_k: int = 0  # sentences per article the LM reads (0: LM family off)
    meta: dict[str, Any] = field(default_factory=dict)
    coverage: dict[str, Any] | None = None  # mtaudit.stages.coverage's fitted model: how other outlets move the odds
    sentence_lm: LinearModel | None = None  # the sentence model plus SmolLM2 surprisal (costly: articles judged MT only)
    rules: LinearModel | None = None  # explicit slips only; joins the article model as a noisy OR
    combination: dict[str, Any] | None = None  # calibration of the noisy OR's log-odds
    wordchoice: WordChoiceModel | None = None  # the learnt word-choice model (mtaudit.stages.wordchoice): its family

    def signature(self) -> str:
        fam = "+".join(sorted({features.family(n) for n in self.article.names}))
        fam += "/" + "+".join(sorted({features.family(n) for n in self.rules.names})) if self.rules else ""
        cov = f"logit:{self.coverage['n']}" if self.coverage else "none"
        return (
            f"detector:{self.meta.get('version', MODEL_VERSION)}|features:v{features.FEATURE_VERSION}|{fam}|article:softmax{len(self.article.classes)}"
            f"|rules:{'noisy-or' if self.rules else 'none'}|cal:{self.article.calibration['method']}|thr:{self.threshold}|band:{self.abstain_band}|lm_k:{self.lm_k}"
            f"|coverage:{cov}|sentence_lm:{self.meta.get('lm_dtype') or 'on' if self.sentence_lm else 'off'}"
            f"|wordchoice:{self.wordchoice.version() if self.wordchoice else 'none'}|data:v{self.meta.get('data_version', '?')}"
            f"|trained:{self.meta.get('date', '?')}"
        )

    def featurise(self, sentences: list[str], settings: Any = None, cache: Cache | None = None,
                  rows: list[dict[str, float]] | None = None) -> dict[str, float]:
        feats = featurise(sentences, self.lm_k, settings, cache, rows)
        return {**feats, **self.wordchoice.features(sentences)} if self.wordchoice is not None else feats

    def decide(self, p: float) -> tuple[bool | None, bool]:
        return decide(p, self.threshold, self.abstain_band)

    def predict(self, sentences: list[str], settings: Any = None, cache: Cache | None = None) -> Prediction:
        rows = features.sentence_rows(sentences) if self.sentence is not None and sentences else None
        feats = self.featurise(sentences, settings, cache, rows)
        row = self.article.matrix([feats])
        p_article = float(self.article.proba(row)[0])
        p, p_rules, explains = p_article, None, (self.article, row[0])
        if self.rules is not None:
            rules_row = self.rules.matrix([feats])
            p_rules = float(self.rules.proba(rules_row)[0])
            p = self.combine(p_article, p_rules)
            if p_rules > p_article:  # the explanation of the stronger evidence
                explains = (self.rules, rules_row[0])
        why = explains[0].contributions(explains[1])
        verdict, abstained = self.decide(p)
        sent_p: list[float] = []
        if self.sentence is not None and rows:
            sent_p = [float(v) for v in self.sentence.proba(self.sentence.matrix(rows))]
        kinds = {k: float(v) for k, v in zip(self.article.classes, self.article.class_probabilities(row)[0])}
        return Prediction(p, verdict, abstained, why, feats, sent_p, rows or [], p_article, p_rules, kinds)

    def combine(self, p_article: float, p_rules: float | None) -> float:
        score = noisy_or(np.array([p_article]), None if p_rules is None else np.array([p_rules]))
        return float(calibrate(score, self.combination or {"method": "none"})[0])

    def sentence_lm_probabilities(self, sentences: list[str], settings: Any,
                                  rows: list[dict[str, float]] | None = None) -> list[float]:
        """Each sentence's probability under the sentence model that also reads LM surprisal; [] without one.

        ``rows``: the sentences' features if ``predict`` already made them (``Prediction.sentence_rows``).
        """
        if self.sentence_lm is None or not sentences:
            return []
        rows = rows or features.sentence_rows(sentences)
        if len(rows) != len(sentences):
            return []
        merged = [{**r, **lm} for r, lm in zip(rows, features.lm_rows(sentences, settings))]
        return [float(v) for v in self.sentence_lm.proba(self.sentence_lm.matrix(merged))]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": "mtaudit-detector", "version": self.meta.get("version", MODEL_VERSION),
            "threshold": self.threshold, "abstain_band": self.abstain_band, "lm_k": self.lm_k,
            "feature_version": features.FEATURE_VERSION, "meta": self.meta,
            "article": self.article.__dict__, "sentence": None if self.sentence is None else self.sentence.__dict__,
            "coverage": self.coverage, "sentence_lm": None if self.sentence_lm is None else self.sentence_lm.__dict__,
            "rules": None if self.rules is None else self.rules.__dict__, "combination": self.combination,
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Detector:
        if obj.get("format") != "mtaudit-detector":
            raise ValueError("not an mtaudit detector file")
        if str(obj.get("feature_version")) != features.FEATURE_VERSION:
            raise ValueError(
                f"detector was trained on features v{obj.get('feature_version')}, this code computes v{features.FEATURE_VERSION}: "
                "run `mtaudit train`"
            )
        sent, sent_lm, rules = obj.get("sentence"), obj.get("sentence_lm"), obj.get("rules")
        return cls(SoftmaxModel(**obj["article"]), None if sent is None else LinearModel(**sent), obj["threshold"],
                   obj["abstain_band"], obj.get("lm_k", 0), obj.get("meta", {}), obj.get("coverage"),
                   None if sent_lm is None else LinearModel(**sent_lm), None if rules is None else LinearModel(**rules),
                   obj.get("combination"))


def shift_prior(p: np.ndarray | float, prior: float, base: float = 0.5) -> np.ndarray:
    """Probabilities calibrated at class prior ``base`` moved to ``prior`` (Bayes' rule on the odds)."""
    if not 0.0 < prior < 1.0:
        raise ValueError(f"a prior must lie strictly between 0 and 1, not {prior}")
    z = logodds(p) + math.log(prior / (1 - prior)) - math.log(base / (1 - base))
    return 1.0 / (1.0 + np.exp(-z))


def estimate_prior(p: np.ndarray | list[float], base: float = 0.5, iterations: int = 500) -> float:
    """The share of machine translation in a set of articles, from their probabilities alone (no labels).

    Saerens, Latinne and Decaestecker (2002): move the probabilities to a guessed prior, take their
    mean as the next guess, until it settles. It overshoots when the model is overconfident.
    """
    q = np.asarray(p, dtype=float)
    if q.size == 0:
        raise ValueError("no probabilities to estimate a prior from")
    prior = base
    for _ in range(iterations):
        new = float(np.clip(shift_prior(q, prior, base).mean(), 1e-6, 1 - 1e-6))
        if abs(new - prior) < 1e-7:
            break
        prior = new
    return prior


def decide(p: float, threshold: float, band: float) -> tuple[bool | None, bool]:
    """(verdict, abstained): machine-translated at p >= threshold, no verdict within ``band`` of it."""
    abstained = abs(p - threshold) < band - 1e-12  # 0.6 - 0.5 is 0.0999...: p on the edge decides
    return (None if abstained else p >= threshold), abstained


def save(detector: Detector, folder: Path) -> Path:
    """detector.json, and its learnt word-choice model beside it (wordchoice.json.gz) where it has one."""
    path = Path(folder) / MODEL_FILE
    if detector.wordchoice is not None:
        wordchoice.save(detector.wordchoice, Path(folder))
    write_text(path, json.dumps(detector.to_json(), indent=1, allow_nan=False) + "\n")
    return path


def load(folder: Path) -> Detector:
    """The committed detector (what the registry's "detector" entry returns)."""
    path = Path(folder) / MODEL_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: run `mtaudit make-data` then `mtaudit train`")
    with open(path, encoding="utf-8") as fh:
        det = Detector.from_json(json.load(fh))
    det.wordchoice = wordchoice.load(Path(folder))
    wanted = det.meta.get("wordchoice_version")
    if wanted and (det.wordchoice is None or det.wordchoice.version() != wanted):
        raise ValueError(f"detector {det.meta.get('version')} reads the word-choice model {wanted}, but {Path(folder) / wordchoice.FILE} "
                         f"holds {det.wordchoice.version() if det.wordchoice else 'nothing'}: run `mtaudit train`")
    return det


def today() -> str:
    return _dt.date.today().isoformat()
