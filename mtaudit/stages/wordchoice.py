"""The detector's learnt word-choice model: which words and letter sequences machine translation uses where a human
translator of the same sentence does not.

The hand-made families read what translation does to English in general (style, part of speech) and what a round
trip breaks (phrases, names). Neither separates neural MT from a human translation of the same text well: both are
translations, and neural MT is fluent. What tells them apart is wording: MT keeps "due to", "of the" and
"will" where a translator writes "'ll", "got" or "up". This model learns that from wmt22_translationese, where
the machine and human translations of each source line are both there, so the topic is the same on both sides and
only the translator differs: logistic regression over tf-idf word 1-2-grams and character 2-5-grams (scikit-learn's
vectorisers, rebuilt from the saved vocabulary and idf), text typography-neutral first
(:func:`mtaudit.text.normalise.normalise`), so curly quotes and dashes, which the references use and the systems
do not, teach it nothing.

Its reading of each sentence joins the article model as the ``wordchoice`` family. It is saved beside the detector as
gzipped JSON: words, numbers and settings, no pickle.
"""

from __future__ import annotations

import gzip
import json
import statistics
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from mtaudit.base.atomic import write_bytes
from mtaudit.text.normalise import normalise

FILE = "wordchoice.json.gz"
MODEL_VERSION = "1.0.0"  # what `mtaudit train` stamps on the model it fits
WORD_NGRAMS = (1, 2)
CHAR_NGRAMS = (2, 5)  # within word edges (scikit-learn's "char_wb")
TOP = 3  # sentences the family's peak averages over, as the hand-made peak family does


@dataclass
class WordChoiceModel:
    """tf-idf over a fixed vocabulary -> logistic regression; ``score`` is each sentence's log-odds of MT."""

    word_vocab: list[str]
    word_idf: list[float]
    char_vocab: list[str]
    char_idf: list[float]
    coef: list[float]  # word features, then character features
    intercept: float
    meta: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def _vectorisers(self) -> list[Any]:
        from sklearn.feature_extraction.text import TfidfVectorizer  # scikit-learn: only a detector with this model pays it

        out = []
        for vocab, idf, kw in ((self.word_vocab, self.word_idf, {"ngram_range": WORD_NGRAMS}),
                               (self.char_vocab, self.char_idf, {"analyzer": "char_wb", "ngram_range": CHAR_NGRAMS})):
            vec = TfidfVectorizer(vocabulary={w: i for i, w in enumerate(vocab)}, sublinear_tf=True, **kw)
            vec.idf_ = np.asarray(idf, dtype=np.float64)
            out.append(vec)
        return out

    @cached_property
    def _weights(self) -> np.ndarray:
        """``coef`` as an array, made once: the audit reads every article through it."""
        return np.asarray(self.coef, dtype=np.float64)

    def score(self, sentences: list[str]) -> np.ndarray:
        """Each sentence's log-odds of machine rather than human translation (before any calibration)."""
        if not sentences:
            return np.zeros(0)
        from scipy.sparse import hstack  # scipy: comes with scikit-learn, paid with it

        norm = [normalise(s) for s in sentences]
        x = hstack([v.transform(norm) for v in self._vectorisers]).tocsr()
        return np.asarray(x @ self._weights).ravel() + self.intercept

    def telling(self, sentences: list[str], k: int = 5) -> list[str]:
        """The words and word pairs that push this text most towards machine translation (their weight summed over
        the sentences), strongest first: what a reader can see of a verdict that rests on word choice."""
        sentences = [s for s in sentences if s.strip()]
        if not sentences:
            return []
        x = self._vectorisers[0].transform([normalise(s) for s in sentences])
        weight = np.asarray(x.sum(axis=0)).ravel() * self._weights[: len(self.word_vocab)]
        top = [i for i in np.argsort(-weight, kind="stable")[:k] if weight[i] > 0]
        return [self.word_vocab[i] for i in top]

    def features(self, sentences: list[str]) -> dict[str, float]:
        """The article's ``wordchoice`` family: the mean sentence reading, its peak, and the share read as MT."""
        return features_of(self.score([s for s in sentences if s.strip()]))

    def version(self) -> str:
        return str(self.meta.get("version", "?"))

    def to_json(self) -> dict[str, Any]:
        return {"format": "mtaudit-wordchoice", **{k: v for k, v in self.__dict__.items() if not k.startswith("_")}}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> WordChoiceModel:
        if obj.get("format") != "mtaudit-wordchoice":
            raise ValueError("not an mtaudit word-choice model file")
        return cls(obj["word_vocab"], obj["word_idf"], obj["char_vocab"], obj["char_idf"], obj["coef"], obj["intercept"],
                   obj.get("meta", {}))


def features_of(scores: np.ndarray) -> dict[str, float]:
    """The ``wordchoice`` family from sentence readings (an article with no sentence reads 0: no lean either way)."""
    vals = [float(v) for v in scores] or [0.0]
    return {"wordchoice.mean": statistics.fmean(vals),
            "wordchoice.peak": statistics.fmean(sorted(vals, reverse=True)[:TOP]),
            "wordchoice.mt_share": sum(v > 0 for v in vals) / len(vals)}


def fit(texts: list[str], labels: list[int], c: float, max_features: int, meta: dict[str, Any] | None = None) -> WordChoiceModel:
    """Fit on lines labelled 1 (machine translation) or 0 (human translation), classes balanced."""
    from scipy.sparse import hstack  # scipy: only fitting pays it here
    from sklearn.feature_extraction.text import TfidfVectorizer  # scikit-learn: only fitting and measuring pay its import
    from sklearn.linear_model import LogisticRegression  # scikit-learn: as above

    norm = [normalise(t) for t in texts]
    word = TfidfVectorizer(ngram_range=WORD_NGRAMS, min_df=2, sublinear_tf=True, max_features=max_features)
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=CHAR_NGRAMS, min_df=3, sublinear_tf=True, max_features=max_features)
    x = hstack([word.fit_transform(norm), char.fit_transform(norm)]).tocsr()
    lr = LogisticRegression(C=c, max_iter=5000, class_weight="balanced").fit(x, np.asarray(labels))

    def vocab(vec: Any) -> list[str]:
        return [str(w) for w in vec.get_feature_names_out()]

    return WordChoiceModel(vocab(word), [round(float(v), 6) for v in word.idf_], vocab(char), [round(float(v), 6) for v in char.idf_],
                        [round(float(v), 6) for v in lr.coef_[0]], round(float(lr.intercept_[0]), 6), dict(meta or {}))


def save(model: WordChoiceModel, folder: Path) -> Path:
    path = Path(folder) / FILE
    write_bytes(path, gzip.compress(json.dumps(model.to_json(), ensure_ascii=False).encode("utf-8"), mtime=0))
    return path


def load(folder: Path) -> WordChoiceModel | None:
    """The model saved beside the detector, or None where the detector was trained without one."""
    path = Path(folder) / FILE
    if not path.exists():
        return None
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return WordChoiceModel.from_json(json.load(fh))
