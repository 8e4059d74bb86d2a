"""Our own trained models, entered in the one registry (:mod:`mtaudit.nlp.registry`): the detector, its
coverage model, the quality weights and the story grouping's pair model.

They ship as package data under ``mtaudit/models/`` (``models/`` in a checkout points there), so an installed
wheel audits as a checkout does. Each carries its own version in its file; that version is what
``mtaudit models`` lists and what report signatures name. Importing this module enters them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mtaudit.nlp import registry
from mtaudit.nlp.registry import Entry
from mtaudit.stages import classifier, quality, stories

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
DETECTOR_DIR = MODELS_DIR / "detector"


def _load_detector(device: str, dtype: str) -> Any:
    return classifier.load(DETECTOR_DIR)


def _load_coverage(device: str, dtype: str) -> Any:
    """The coverage model is fitted with the detector and saved inside detector.json."""
    return registry.get("detector").coverage


def _load_quality(device: str, dtype: str) -> Any:
    """The audit's quality model: the MQM estimator, or the logistic weights where it is not shipped."""
    est = quality.estimator()
    if est is not None:
        return est
    table = quality.weights()
    if table is None:
        raise FileNotFoundError(f"{quality.WEIGHTS} not found: run `mtaudit meta-eval --fit`")
    return table


def _load_grouping(device: str, dtype: str) -> Any:
    return stories.pair_model()


def _json_file(path: Path) -> dict[str, Any] | None:
    """A model file's JSON, or None when it is missing or unreadable (the listing says so, it does not fail)."""
    try:
        with open(path, encoding="utf-8") as fh:
            obj = json.load(fh)
    except (OSError, ValueError):
        return None
    return obj if isinstance(obj, dict) else None


def _detector_version() -> str:
    obj = _json_file(DETECTOR_DIR / "detector.json")
    return str(obj.get("version", "?")) if obj else "missing"


def _coverage_version() -> str:
    """The detector's version: `mtaudit train` fits the two together and saves them in one file."""
    obj = _json_file(DETECTOR_DIR / "detector.json")
    if not obj:
        return "missing"
    return str(obj.get("version", "?")) if obj.get("coverage") else "not fitted"


def _quality_version() -> str:
    """The estimator's version where it ships (what the audit's quality is), else the logistic weights'."""
    obj = _json_file(quality.ESTIMATOR) if quality.ESTIMATOR_ARRAYS.exists() else None
    obj = obj or _json_file(quality.WEIGHTS)
    return str(obj.get("version", "?")) if obj else "missing"


def _grouping_version() -> str:
    obj = _json_file(stories.MODEL)
    return str(obj.get("version", "?")) if obj else "missing"


registry.register(Entry("detector", "mtaudit", "models/detector/detector.json (+ wordchoice.json.gz)", "MIT", _load_detector, _detector_version))
registry.register(Entry("coverage", "mtaudit", "models/detector/detector.json (coverage)", "MIT", _load_coverage, _coverage_version))
registry.register(Entry("quality", "mtaudit", "models/quality/estimator.json (fallback weights.json)", "MIT", _load_quality,
                        _quality_version))
registry.register(Entry("grouping", "mtaudit", "models/grouping/grouping.json", "MIT", _load_grouping, _grouping_version))


def detector() -> Any:
    """The trained detector (:class:`mtaudit.stages.classifier.Detector`), loaded once per process."""
    return registry.get("detector")
