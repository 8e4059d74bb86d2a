"""Meta-evaluation against WMT22 MQM: fair inputs, the same rows as the official metrics, honest CV."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mtaudit.lab import metaeval


@pytest.fixture(scope="module")
def sample(shared_data: Path) -> pd.DataFrame:
    """Two dev documents, five segments each, every system: small enough to score in a test."""
    frame = metaeval.load(shared_data / "wmt22_zhen_mqm" / "wmt22_zhen_news.tsv.gz")
    docs = sorted(frame["doc_id"].unique())[:2]
    frame = frame[frame["doc_id"].isin(docs) & (frame["seg_id"] <= 5)]
    return frame.reset_index(drop=True)


@pytest.fixture(scope="module")
def scored(sample: pd.DataFrame, settings: Any) -> pd.DataFrame:
    return metaeval.add_quality(metaeval.compute(sample, settings, use_lm=False))


def test_kendall_is_tau_b_on_shared_rows() -> None:
    x = pd.Series([1.0, 2.0, 3.0, np.nan, 5.0])
    y = pd.Series([-5.0, -1.0, 0.0, 0.0, np.nan])
    tau, n = metaeval.kendall(x, y)
    assert (tau, n) == (1.0, 3)
    tau, _ = metaeval.kendall(-x, y)
    assert tau == -1.0


def test_only_hyp_and_ref_a_feed_our_scores(sample: pd.DataFrame, scored: pd.DataFrame, settings: Any) -> None:
    """Scrambling mqm, the official metrics, ref_B and source changes none of our scores."""
    noisy = sample.copy()
    rng = np.random.default_rng(0)
    for col in ["mqm", "ref_B", "source", *[c for c in noisy.columns if c.endswith(("-refA", "-refB", "-src"))]]:
        noisy[col] = rng.permutation(noisy[col].to_numpy())
    again = metaeval.add_quality(metaeval.compute(noisy, settings, use_lm=False))
    cols = ["chrf", "bleu", "ter", "semantic", "bertscore", "quality"]
    pd.testing.assert_frame_equal(scored[cols], again[cols])


def test_table_sits_next_to_the_official_metrics(sample: pd.DataFrame, scored: pd.DataFrame) -> None:
    rows = {r["metric"]: r for r in metaeval.table(sample, scored)}
    assert {"chrf", "bertscore", "quality", "COMET-22-refA", "BERTScore-refA", "chrF-refA"} <= set(rows)
    # same rows for ours and theirs: the refA row (no -refA score) is left out of both
    assert rows["quality"]["n_all_rows"] == rows["COMET-22-refA"]["n_all_rows"]
    assert rows["quality"]["n_mt_only"] == rows["COMET-22-refA"]["n_mt_only"] < rows["quality"]["n_all_rows"]
    # our sentence chrF with word order 0 would equal the official chrF; chrF++ stays close to it
    official = sample["chrF-refA"].astype(float)
    ok = official.notna()
    assert np.corrcoef(scored.loc[ok, "chrf"], official[ok])[0, 1] > 0.9


def test_predictions_are_keyed_as_the_input(sample: pd.DataFrame, scored: pd.DataFrame, tmp_path: Path, settings: Any) -> None:
    pred = metaeval.predictions(sample, scored)
    assert list(pred.columns[:3]) == ["doc_id", "seg_id", "system"]
    assert "quality" in pred.columns and len(pred) == len(sample)
    # a file with only the keys, hyp and ref_A is scored and written all the same
    bare = sample[["doc_id", "seg_id", "system", "hyp", "ref_A"]].head(6)
    path = tmp_path / "bare.tsv"
    bare.to_csv(path, sep="\t", index=False)
    result = metaeval.run(path, settings, use_lm=False)
    assert result["table"] == [] and result["rows"] == 6
    out = metaeval.predictions(result["_frame"], result["_scores"])
    assert out["quality"].notna().all() and out["chrf"].notna().all()


def test_fit_cross_validates_by_document() -> None:
    """On synthetic rows where one feature carries the signal, the grouped CV finds it out of fold."""
    rng = np.random.default_rng(1)
    n = 600
    frame = pd.DataFrame({
        "doc_id": [f"d{i % 12}" for i in range(n)], "seg_id": range(n), "system": ["s"] * n,
        "hyp": ["h"] * n, "ref_A": ["r"] * n,
    })
    signal = rng.normal(size=n)
    frame["mqm"] = np.where(signal + 0.5 * rng.normal(size=n) > 0, 0.0, -5.0 - rng.integers(0, 10, n))
    feats = pd.DataFrame({name: rng.normal(size=n) for name in metaeval.FEATURES})
    feats["bertscore"] = signal + 0.3 * rng.normal(size=n)
    feats["paraphrase_mass"] = signal
    feats["len_ratio"] = np.exp(rng.normal(scale=0.1, size=n))
    w = metaeval.fit(frame, feats, folds=4, data_name="synthetic")
    assert w["data"]["documents"] == 12 and w["cv"]["full"]["tau_b_mt_only"] > 0.3
    for variant, carrier in (("full", "paraphrase_mass"), ("fast", "bertscore")):
        model = w["models"][variant]
        assert np.argmax(np.abs(model["coef"])) == model["features"].index(carrier)
    assert w["order"] == ["full", "fast"] and w["version"].startswith(w["date"])


def test_saved_weights_document_their_fit() -> None:
    from mtaudit.stages import quality

    w = quality.weights()
    assert w is not None
    assert w["data"]["documents"] >= 10 and "grouped by doc_id" in w["method"]
    for variant in ("full", "fast"):
        assert len(w["models"][variant]["coef"]) == len(w["models"][variant]["features"])
        assert w["cv"][variant]["tau_b_mt_only"] > 0.1
    card = quality.WEIGHTS.parent / "README.md"
    assert card.exists() and w["version"] in card.read_text()
