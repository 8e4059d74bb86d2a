"""Do our sentence scores agree with people? Segment-level Kendall tau against WMT22 MQM.

The data (``../shared/data/wmt22_zhen_mqm/``) holds, per (document, segment, system): the
Chinese source, the system's English output, two references, the MQM score given by
professional annotators and the official WMT22 metrics' scores. We score ``hyp`` against
``ref_A`` alone (as the official ``-refA`` columns did); ``mqm`` and the metric columns are
only ever used to correlate, and to fit the quality weights (``fit``, cross-validated by
document so that no document is both fitted and evaluated on).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mtaudit.base import atomic
from mtaudit.base.settings import Settings
from mtaudit.base.types import Progress
from mtaudit.lab.paths import SHARED_DATA
from mtaudit.stages import quality, score

DEFAULT_DATA = SHARED_DATA / "wmt22_zhen_mqm" / "wmt22_zhen_news.tsv.gz"
KEYS = ["doc_id", "seg_id", "system"]
OUR_SCORES = ["chrf", "bleu", "ter", "semantic", "bertscore", "fluency", "paraphrase", "paraphrase_mass", "quality", "quality_fast",
              "quality_len", "quality_full_len"]
OFFICIAL = ["BLEU-refA", "chrF-refA", "BERTScore-refA", "BLEURT-20-refA", "COMET-22-refA", "metricx_xxl_MQM_2020-refA", "COMETKiwi-src"]
HUMAN_SYSTEMS = {"refA", "refB"}
# What the quality model uses. MQM sums error penalties over a segment, so the chance of an
# error grows with its length: log_ref_words (the reference's length) is that exposure, fitted
# like the rest; taken from the reference, it is the same for every version of one content. Length alone
# ranks MQM well when all segments are pooled, so the table also gives the length-only tau and
# the tau within each source segment (same source, different systems), where length barely varies.
FEATURES_FAST = ["bertscore", "chrf", "log_ref_words"]
# The LM variant: the paraphrase error mass alone (2026-11-30). On the 3,220 MT rows, out-of-fold by
# document: pooled 0.295 (the raw mass 0.331: one feature, so the fitted weights do not change its
# ranking, only the fold models' scales do) and 0.202 within segment, against the paraphrase mean with
# the exposure 0.259 / 0.218, the mean with the mass 0.289 / 0.207; the mass is a sum, so it carries
# the exposure itself. Before: the paraphrase mean alone beat every mix with BERTScore, chrF and
# fluency within segments (0.256 against 0.21-0.25 on the 6 LM documents).
FEATURES_FULL = ["paraphrase_mass"]
FEATURES = list(dict.fromkeys(FEATURES_FAST + FEATURES_FULL))  # every feature either variant reads
ERROR_FREE = -0.5  # MQM above this: no error (minor punctuation, -0.1, aside)


def load(path: Path) -> pd.DataFrame:
    """The table as the data README says to read it; ``hyp`` and ``ref_A`` are required."""
    frame = pd.read_csv(path, sep="\t", keep_default_na=False, na_values=[""])
    missing = [c for c in ("hyp", "ref_A") if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)} (need at least hyp and ref_A)")
    for col in KEYS:
        if col not in frame.columns:
            frame[col] = range(len(frame)) if col == "seg_id" else ""
    frame["hyp"] = frame["hyp"].fillna("").astype(str)
    frame["ref_A"] = frame["ref_A"].fillna("").astype(str)
    return frame


def lm_rows(frame: pd.DataFrame, docs: int | None) -> list[bool]:
    """Rows of the first ``docs`` documents in a fixed seeded order (all rows if None): where the LM runs.

    The LM is slow on 2 cores (about 10 sentences/s), so the full meta-evaluation may give it
    a seeded subset of documents; every figure says on how many rows it stands.
    """
    if docs is None:
        return [True] * len(frame)
    ids = frame["doc_id"].astype(str)
    order = sorted(ids.unique(), key=lambda d: hashlib.sha256(("lm:" + d).encode()).hexdigest())[:docs]
    return ids.isin(order).tolist()


def compute(frame: pd.DataFrame, settings: Settings, use_lm: bool = True, progress: Progress | None = None,
            chunk: int = 256, lm_mask: list[bool] | None = None) -> pd.DataFrame:
    """Raw features per row from ``hyp`` and ``ref_A`` only (cached, so an interrupted run resumes)."""
    hyps = frame["hyp"].tolist()
    refs = [[r] if r.strip() else [] for r in frame["ref_A"].tolist()]
    rows: list[dict[str, float | None]] = []
    for start in range(0, len(hyps), chunk):
        mask = None if lm_mask is None else lm_mask[start : start + chunk]
        rows += score.features(hyps[start : start + chunk], refs[start : start + chunk], settings, use_lm=use_lm, lm_mask=mask,
                               with_paraphrase=use_lm)
        if progress:
            progress("scoring", min(start + chunk, len(hyps)), len(hyps))
    feats = pd.DataFrame(rows, index=frame.index)
    for col in [*FEATURES, "lm_mean", "lm_worst3", "semantic", "len_ratio", "estimator"]:
        if col not in feats.columns:
            feats[col] = np.nan
    feats["fluency"] = -feats["lm_mean"]
    return feats


def add_quality(feats: pd.DataFrame, weights: dict[str, Any] | None = None) -> pd.DataFrame:
    """Our combined scores from the fitted weights.

    quality: as the audit reports it (the estimator where one is shipped, else the fast variant);
    quality_fast: the fast logistic variant, length held at the training mean (the audit's quality before the estimator);
    quality_len: the fast variant with the real length (what MQM, a sum over the segment, measures);
    quality_full_len: the LM variant (paraphrase error mass), with the real length, where the LM ran.
    """

    table = weights or quality.weights()
    out = feats.copy()
    if not table:
        out["quality"] = out["quality_fast"] = out["quality_len"] = out["quality_full_len"] = np.nan
        return out
    cols = [c for c in dict.fromkeys([*FEATURES, "estimator", *quality.ESTIMATOR_LEXICAL]) if c in out.columns]
    recs = out[cols].to_dict(orient="records")
    clean = [{k: (None if pd.isna(v) else float(v)) for k, v in r.items()} for r in recs]
    out["quality"] = [quality.combine(r, variants=quality.AUDIT_VARIANTS) for r in clean]
    out["quality_fast"] = [_prob(table, r, "fast", False) for r in clean]
    out["quality_len"] = [_prob(table, r, "fast", True) for r in clean]
    out["quality_full_len"] = [_prob(table, r, "full", True) for r in clean]
    return out


def _prob(table: dict[str, Any], feats: dict[str, float | None], variant: str, exposure: bool) -> float | None:
    if variant not in table["models"]:
        return None
    z = quality.linear(table["models"][variant], feats, exposure=exposure)
    return None if z is None else round(float(1.0 / (1.0 + np.exp(-z))), 4)


# ---------------------------------------------------------------- correlation


def kendall(x: pd.Series, y: pd.Series) -> tuple[float | None, int]:
    """Kendall tau-b over the rows where both are present (scipy, ties handled as tau-b)."""
    from scipy.stats import kendalltau  # SciPy: only the measurements pay its import

    ok = x.notna() & y.notna()
    n = int(ok.sum())
    if n < 3:
        return None, n
    tau = kendalltau(x[ok].astype(float), y[ok].astype(float), variant="b").statistic
    return (None if np.isnan(tau) else round(float(tau), 4)), n


def orient(name: str, values: pd.Series) -> pd.Series:
    """TER is an error rate (lower = better); flip it so every score reads higher = better."""
    return -values if name == "ter" else values


def table(frame: pd.DataFrame, ours: pd.DataFrame, subset: list[bool] | None = None) -> list[dict[str, Any]]:
    """tau-b of each score with mqm: all rows, and MT only (WMT22 "no grouping"), on the same rows.

    The comparison rows are those where the official reference-based metrics exist
    (the refA row has no -refA score) when the file has them, else every row with mqm.
    """
    if "mqm" not in frame.columns or frame["mqm"].notna().sum() < 3:
        return []
    mqm = frame["mqm"].astype(float)
    base = mqm.notna()
    if "COMET-22-refA" in frame.columns:
        base &= frame["COMET-22-refA"].notna()
    base &= frame["ref_A"].str.strip().ne("")
    if subset is not None:
        base &= pd.Series(subset, index=frame.index)
    mt = base & ~frame["system"].astype(str).isin(HUMAN_SYSTEMS)
    rows = []
    cols = [(c, "ours", orient(c, ours[c])) for c in OUR_SCORES if c in ours.columns and ours[c].notna().any()]
    cols += [(c, "official", frame[c]) for c in OFFICIAL if c in frame.columns]
    cols.append(("length only (-words)", "diagnostic", -frame["hyp"].str.split().str.len().astype(float)))
    segment = frame["doc_id"].astype(str) + "\x1f" + frame["seg_id"].astype(str)
    for name, kind, values in cols:
        t_all, n_all = kendall(values[base], mqm[base])
        t_mt, n_mt = kendall(values[mt], mqm[mt])
        t_seg, n_seg = grouped_kendall(values[mt], mqm[mt], segment[mt])
        rows.append({"metric": name, "kind": kind, "tau_b_all_rows": t_all, "n_all_rows": n_all, "tau_b_mt_only": t_mt,
                     "n_mt_only": n_mt, "tau_b_by_segment": t_seg, "n_segments": n_seg})
    return rows


def grouped_kendall(x: pd.Series, y: pd.Series, groups: pd.Series) -> tuple[float | None, int]:
    """Mean within-group tau-b (groups: source segments; MT systems compared on the same source).

    Groups where either side is constant are skipped (tau undefined), as WMT's item grouping does.
    """
    from scipy.stats import kendalltau  # SciPy: only the measurements pay its import

    frame = pd.DataFrame({"x": x.astype(float), "y": y.astype(float), "g": groups}).dropna()
    taus = []
    for _, part in frame.groupby("g"):
        if len(part) >= 2 and part["x"].nunique() > 1 and part["y"].nunique() > 1:
            taus.append(kendalltau(part["x"], part["y"], variant="b").statistic)
    taus = [t for t in taus if not np.isnan(t)]
    return (round(float(np.mean(taus)), 4) if taus else None), len(taus)


def predictions(frame: pd.DataFrame, ours: pd.DataFrame) -> pd.DataFrame:
    """doc_id, seg_id, system, then one column per score (keyed as in the input)."""
    cols = [c for c in OUR_SCORES if c in ours.columns]
    return pd.concat([frame[KEYS].reset_index(drop=True), ours[cols].reset_index(drop=True)], axis=1)


# ---------------------------------------------------------------- fitting the quality weights


def _design(feats: pd.DataFrame, names: list[str]) -> np.ndarray:
    return np.column_stack([[quality.transform(n, float(v)) for v in feats[n]] for n in names])


def _fit_one(x: np.ndarray, y: np.ndarray, c: float) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression  # scikit-learn: only fitting and measuring pay its import

    mu, sd = x.mean(axis=0), x.std(axis=0)
    sd[sd == 0] = 1.0
    clf = LogisticRegression(C=c, max_iter=2000).fit((x - mu) / sd, y)
    return {"mean": mu.tolist(), "scale": sd.tolist(), "coef": clf.coef_[0].tolist(), "intercept": float(clf.intercept_[0])}


def _logit(model: dict[str, Any], x: np.ndarray) -> np.ndarray:
    return ((x - np.asarray(model["mean"])) / np.asarray(model["scale"])) @ np.asarray(model["coef"]) + model["intercept"]


def fit(frame: pd.DataFrame, feats: pd.DataFrame, c: float = 1.0, folds: int | None = None, seed: int = 13,
        data_name: str = "wmt22_zhen_news dev") -> dict[str, Any]:
    """Fit the logistic quality models, each on every MQM row that has its features.

    Target: no error (mqm > -0.5). Before the final fit on all those documents, a
    cross-validation grouped by ``doc_id`` (leave one document out unless ``folds`` is
    given) gives out-of-fold predictions: the tau reported is over documents the weights
    never saw. Leave-one-document-out keeps the fold models near-identical, which matters
    because a pooled tau ranks predictions made by different fold models against each other. Where the LM ran on fewer rows (it is
    slow), the fast variant is also cross-validated on exactly the full variant's rows.
    """
    mqm = frame["mqm"].astype(float)
    base = mqm.notna() & frame["ref_A"].str.strip().ne("") & (frame["hyp"] != frame["ref_A"])
    models: dict[str, Any] = {}
    cv: dict[str, Any] = {}
    used = {}
    for name, names in (("full", FEATURES_FULL), ("fast", FEATURES_FAST)):
        ok = base & feats[names].notna().all(axis=1)
        used[name] = ok
        if ok.sum() < 50:
            continue
        cv[name] = _cross_validate(frame, feats, ok, names, c, folds, seed)
        y = (mqm[ok] > ERROR_FREE).astype(int).to_numpy()
        models[name] = {"features": names, "rows": int(ok.sum()), "documents": int(frame.loc[ok, "doc_id"].nunique()),
                        **_fit_one(_design(feats.loc[ok], names), y, c)}
    if "full" in cv and used["full"].sum() < used["fast"].sum():
        cv["fast_on_full_rows"] = _cross_validate(frame, feats, used["full"], FEATURES_FAST, c, folds, seed)
    ok = used["fast"]
    today = dt.date.today().isoformat()
    digest = hashlib.sha256(json.dumps(models, sort_keys=True).encode()).hexdigest()[:8]
    return {
        "version": f"{today}-{digest}",
        "date": today,
        "order": [n for n in ("full", "fast") if n in models],
        "target": f"P(mqm > {ERROR_FREE}): annotators find no error (a minor one costs 1, a major one 5)",
        "method": f"sklearn LogisticRegression(C={c}) on standardised features; cross-validation grouped by doc_id "
                  f"({'leave-one-document-out' if folds is None else f'{folds}-fold GroupKFold, shuffled groups, seed {seed}'}) for the reported tau",
        "data": {"name": data_name, "rows": int(ok.sum()), "documents": int(frame.loc[ok, "doc_id"].nunique()),
                 "positives": int((mqm[ok] > ERROR_FREE).sum()), "reference": "ref_A only"},
        "cv": cv,
        "models": models,
    }


def _cross_validate(frame: pd.DataFrame, feats: pd.DataFrame, ok: pd.Series, names: list[str], c: float,
                    folds: int | None, seed: int) -> dict[str, Any]:
    """Out-of-fold logits by document, correlated with mqm on the official comparison rows."""
    from sklearn.model_selection import GroupKFold, LeaveOneGroupOut  # scikit-learn: only fitting and measuring pay its import

    mqm = frame["mqm"].astype(float)
    y = (mqm[ok] > ERROR_FREE).astype(int).to_numpy()
    x = _design(feats.loc[ok], names)
    groups = _shuffle_groups(frame.loc[ok, "doc_id"].to_numpy(), seed)
    oof = np.zeros(len(y))
    splitter = LeaveOneGroupOut() if folds is None else GroupKFold(n_splits=min(folds, len(set(groups))))
    flat = np.zeros(len(y))  # the same, with the length term held at the fold's training mean (as the audit reports)
    at = names.index("log_ref_words") if "log_ref_words" in names else None
    for train, test in splitter.split(x, y, groups):
        model = _fit_one(x[train], y[train], c)
        oof[test] = _logit(model, x[test])
        held = x[test].copy()
        if at is not None:
            held[:, at] = model["mean"][at]
        flat[test] = _logit(model, held)
    sub = frame.loc[ok].copy()
    sub["oof"] = oof
    out = {**_cv_taus(sub), "documents": int(sub["doc_id"].nunique())}
    sub["oof"] = flat
    out["length_held"] = _cv_taus(sub)
    return out


def _shuffle_groups(groups: np.ndarray, seed: int) -> np.ndarray:
    """Relabel documents in a seeded random order, so GroupKFold's folds are not size-sorted by name."""
    uniq = sorted(set(groups))
    perm = np.random.default_rng(seed).permutation(len(uniq))
    relabel = {g: int(perm[i]) for i, g in enumerate(uniq)}
    return np.asarray([relabel[g] for g in groups])


def _cv_taus(sub: pd.DataFrame) -> dict[str, Any]:
    mqm = sub["mqm"].astype(float)
    base = sub["COMET-22-refA"].notna() if "COMET-22-refA" in sub.columns else mqm.notna()
    mt = base & ~sub["system"].astype(str).isin(HUMAN_SYSTEMS)
    t_all, n_all = kendall(sub["oof"][base], mqm[base])
    t_mt, n_mt = kendall(sub["oof"][mt], mqm[mt])
    segment = sub["doc_id"].astype(str) + "\x1f" + sub["seg_id"].astype(str)
    t_seg, n_seg = grouped_kendall(sub["oof"][mt], mqm[mt], segment[mt])
    return {"tau_b_all_rows": t_all, "n_all_rows": n_all, "tau_b_mt_only": t_mt, "n_mt_only": n_mt,
            "tau_b_by_segment": t_seg, "n_segments": n_seg}


def write_weights(weights: dict[str, Any], path: Path | None = None) -> Path:
    """weights.json and its card (README.md) beside it, both atomically."""
    target = path or quality.WEIGHTS
    atomic.write_json(target, weights)
    atomic.write_text(target.parent / "README.md", card(weights))
    quality.weights.cache_clear()
    return target


def card(weights: dict[str, Any]) -> str:
    """The model card: data, method, cross-validated metrics, date, and what limits them."""
    d = weights["data"]
    lines = [
        "# quality: the combined sentence score",
        "",
        f"- version: `{weights['version']}`, fitted {weights['date']} by `mtaudit meta-eval --fit`",
        f"- target: {weights['target']}; quality = the fitted probability, in [0, 1]",
        f"- data: {d['name']} (WMT22 zh-en news, MQM by professional annotators; dev split only): "
        f"{d['rows']} rows with MQM, {d['documents']} documents, {d['positives']} without a major error; scores use {d['reference']}",
        f"- method: {weights['method']}",
        "- features, standardised: BERTScore F1 and chrF++ against the reference, log(1 + reference words) as exposure",
        "  (MQM sums penalties over a segment, so longer content has more chances of an error; taken from the reference,",
        "  it is the same for every translation of one segment, so it never ranks them); `full` (where the LM ran) uses",
        "  the LM's paraphrase error mass alone: the LM reads the sentence after the reference and the reference after",
        "  the sentence, each after a paraphrase prompt (`mtaudit.stages.score.paraphrase_scores`, Prism-style), and every token",
        "  it predicts worse than 2 nats adds its shortfall; a sum over the segment, like MQM, so no exposure term",
        "",
        "| variant | feature | coefficient |",
        "|---|---|---|",
    ]
    for name in weights["order"]:
        m = weights["models"][name]
        for f, c in zip(m["features"], m["coef"]):
            lines.append(f"| {name} | {f} | {c:+.3f} |")
    lines += ["", "## Cross-validated Kendall tau-b with MQM (out-of-fold: never fitted on the evaluated documents)", "",
              "| variant | documents | tau all rows | n | tau MT only (no grouping) | n | tau within segment (mean) | segments |",
              "|---|---|---|---|---|---|---|---|"]
    for name, cv in weights["cv"].items():
        lines.append(f"| {name} | {cv.get('documents', d['documents'])} | {cv['tau_b_all_rows']} | {cv['n_all_rows']} | {cv['tau_b_mt_only']} | "
                     f"{cv['n_mt_only']} | {cv.get('tau_b_by_segment')} | {cv.get('n_segments')} |")
    for name, cv in weights["cv"].items():
        if "length_held" in cv:
            h = cv["length_held"]
            lines.append(f"| {name}, length held (the audit's quality) | {cv.get('documents')} | {h['tau_b_all_rows']} | {h['n_all_rows']} | "
                         f"{h['tau_b_mt_only']} | {h['n_mt_only']} | {h.get('tau_b_by_segment')} | {h.get('n_segments')} |")
    lines += ["", "`full` has one feature, so its fitted weights do not change how it ranks: over all the documents it ranks",
              "as the raw mass does (`mtaudit meta-eval` prints it as `paraphrase_mass`). Out-of-fold, each document's",
              "predictions come from another fold model, whose scale differs a little: the pooled tau above is lower for that."]
    lines += ["", "Length alone (fewer words = better) reaches a pooled MT-only tau of about 0.23 on these rows: part of any",
              "pooled figure is length. The within-segment tau compares systems on the same source segment, where length",
              "barely varies: there our scores stand on their own."]
    lines += [
        "",
        "Official metrics on the same dev rows (MT only, no grouping, from the data README): BLEU 0.015, chrF 0.008,",
        "BERTScore 0.262, BLEURT-20 0.334, COMET-22 0.412, MetricX-XXL 0.440, COMETKiwi 0.351; within segment",
        "(mean over segments, computed by `mtaudit meta-eval`): chrF 0.14, BERTScore 0.23, COMET-22 0.25.",
        "",
        "## Limits",
        "- CPU-sized packaged models only: MiniLM-L6 (22M parameters) for BERTScore and cosine, SmolLM2-135M",
        "  for fluency and the paraphrase score; no COMET, BLEURT or MetricX weights exist offline (hub only).",
        "  Measured and not adopted (2026-11-29): Gemma 3 270M as the paraphrase LM (within segment 0.211 on the",
        "  13 documents the feature choice never saw, the same as SmolLM2, at ~1.4x its time); multilingual-e5-small",
        "  cosines (source~sentence lifted pooled tau to 0.278 but lowered within-segment tau to 0.204); weights",
        "  fitted on within-segment pairs (never above the paraphrase score alone).",
        "- The LM is slow on 2 cores (two passes per sentence and reference: 32 minutes for the 4,600 rows), so",
        "  the audit reports `fast` for every sentence alike (`meta-eval --lm-docs N` runs it on a seeded subset).",
        "- `full`'s feature set was chosen by the same document-grouped cross-validation it reports: on 2026-11-29",
        "  among nine sets (the paraphrase mean with the exposure won), on 2026-11-30 among nine more (the mass alone;",
        "  with the mean; with the exposure; floors of 1, 2 and 3 nats; sums with no floor). The 2-nat floor was set",
        "  before measuring; 1 and 3 rank alike (out-of-fold, with the mean: 0.284 and 0.294 against 2's 0.289).",
        "- Fitted on translations of Chinese news scored against a translation reference; in the audit the",
        "  references are other outlets' sentences on the same event (paraphrases), a shift the fit never saw.",
        "- The held-out halves of the data were never used.",
        "",
    ]
    est = quality.estimator()
    if est is not None:
        lines = lines[:1] + ["", f"The audit's quality is the estimator `{est['name']}` (below); the logistic models",
                             "further down are the earlier score, kept for the LM variant and as a fallback.", ""] + lines[2:]
        lines += estimator_card(est, weights)
    return "\n".join(lines)


def estimator_card(est: dict[str, Any], weights: dict[str, Any] | None = None) -> list[str]:
    """The estimator's section of the card: what it reads, how it was fitted, and its out-of-fold figures."""
    d, cv = est["data"], est["cv"]
    lines = [
        f"## The estimator: `{est['name']}` (the audit's quality)", "",
        f"- version: `{est['version']}`, fitted {est['date']} by `mtaudit meta-eval --fit-estimator` (`mtaudit.lab.estimator`)",
        f"- encoder (frozen): `{est['encoder']}` (Apache-2.0), the one the audit already runs for the cosine",
        f"- inputs: {est['inputs']}",
        f"- regressor: {est['regressor']}",
        f"- target: {est['target']}; calibration (a, b) = {est['calibration']}",
        f"- data: {d['name']}, {d['split']}: {d['rows']} rows with MQM, {d['documents']} documents, domains "
        f"{', '.join(d['domains'])}; {d['news_rows']} news rows; {d['reference']}",
        f"- cross-validation: {cv['method']}",
        "- licence: the weights are ours (the project's licence); they were fitted on WMT22 research data (Freitag et al. 2022,",
        "  Google MQM; see the data README) and read MiniLM embeddings (Apache-2.0)",
        "", "### Out-of-fold Kendall tau-b with MQM, news MT rows, ref_A", "",
        "| score | tau MT only (no grouping) | n | tau within segment (mean) | segments |", "|---|---|---|---|---|",
    ]
    rows = [(f"**{est['name']}** (out-of-fold)", cv["news"])]
    if weights and "fast" in weights.get("cv", {}):
        fast = weights["cv"]["fast"]
        rows.append(("old `fast` logistic, out-of-fold (leave one news document out), with the length exposure", fast))
        if "length_held" in fast:
            rows.append(("old `fast`, length held (what the audit reported before)", fast["length_held"]))
    rows += [(f"official {name}", v) for name, v in cv.get("baselines", {}).items()]
    for name, v in rows:
        lines.append(f"| {name} | {v.get('tau_b_mt_only')} | {v.get('n_mt_only')} | {v.get('tau_b_by_segment')} | {v.get('n_segments')} |")
    alld = cv.get("all_domains", {})
    lines += ["", f"All four domains, MT rows, out-of-fold: pooled {alld.get('tau_b_mt_only')} (n={alld.get('n_mt_only')}), "
                  f"within segment {alld.get('tau_b_by_segment')} ({alld.get('n_segments')} segments).",
              "The out-of-fold raw scores of the news rows ship beside the model (`estimator_oof_news.csv.gz`);",
              "`tests/stages/test_estimator.py` recomputes these figures from them and the data's MQM.", ""]
    sp = est.get("speed")
    if sp:
        lines += [f"Speed, measured by the fit (`bench.scorer_speed`, {sp['sentences']} dev sentences, cold caches, no LM, as the audit "
                  f"scores): {sp['full_sentences_per_s']} sentences a second for every score and the estimator, against sacrebleu "
                  f"sentence chrF's {sp['chrf_sentences_per_s']} on the same sentences in the same run (this machine, 2 cores, shared "
                  f"with other jobs); the estimator's own step, on scores already computed: {sp.get('estimator_only_sentences_per_s')} a second.", ""]
    lines += length_card()
    lines += est.get("notes", [])
    return lines


def length_card() -> list[str]:
    """The card's account of the length term: both uses measured, and the one the audit ships (``quality.LENGTH``)."""
    m = quality.LENGTH_MEASURED
    lines = [f"### The reference length: `{quality.LENGTH}` in the audit (setting `quality_length`)", "",
             *quality.LENGTH_DECISION, "",
             "| length | story-eval tau, changed sentences | n | all scored sentences | n | damaged below original "
             "| MQM news pooled | within segment | all domains pooled | within segment |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for mode in quality.LENGTHS:
        v = m[mode]
        lines.append(f"| {mode}{' (shipped)' if mode == quality.LENGTH else ''} | {v['story_changed']} | {v['story_changed_n']} "
                     f"| {v['story_all']} | {v['story_all_n']} | {v['story_below_original']} | {v['mqm_news_pooled']} "
                     f"| {v['mqm_news_within']} | {v['mqm_all_pooled']} | {v['mqm_all_within']} |")
    return [*lines, "", f"Commands: {quality.LENGTH_COMMANDS}", ""]


# ---------------------------------------------------------------- one call for the CLI


def run(path: Path, settings: Settings, use_lm: bool = True, do_fit: bool = False, limit_docs: int | None = None,
        progress: Progress | None = None, lm_docs: int | None = None) -> dict[str, Any]:
    """Score a table, optionally (re)fit the quality weights on it, and correlate with mqm."""
    frame = load(path)
    if limit_docs:
        keep = sorted(frame["doc_id"].astype(str).unique())[:limit_docs]
        frame = frame[frame["doc_id"].astype(str).isin(keep)].reset_index(drop=True)
    mask = lm_rows(frame, lm_docs)
    feats = compute(frame, settings, use_lm=use_lm, progress=progress, lm_mask=mask)
    fitted = None
    if do_fit:
        if "mqm" not in frame.columns:
            raise ValueError(f"{path}: --fit needs an mqm column")
        fitted = fit(frame, feats, data_name=path.name)
        write_weights(fitted)
    ours = add_quality(feats)
    result = {
        "data": str(path), "rows": len(frame), "documents": int(frame["doc_id"].nunique()),
        "rows_with_mqm": int(frame["mqm"].notna().sum()) if "mqm" in frame.columns else 0,
        "reference": "ref_A only", "lm": use_lm,
        "table": table(frame, ours),
        "lm_rows": int(sum(mask)) if use_lm else 0,
        "lm_documents": int(frame.loc[mask, "doc_id"].nunique()) if use_lm else 0,
        "table_lm_rows": table(frame, ours, mask) if use_lm and not all(mask) else [],
        "signatures": score.signatures(settings, use_lm),
    }

    weights = quality.weights()
    if weights:
        result["quality_weights"] = {"version": weights["version"], "cv": weights["cv"], "data": weights["data"]}
    est = quality.estimator()
    if est:
        result["quality_estimator"] = {"name": est["name"], "version": est["version"], "cv": est["cv"], "data": est["data"]}
    result["quality_used"] = score.quality_signature(False, settings)
    if fitted:
        result["fitted"] = True
    result["_frame"], result["_scores"] = frame, ours
    return result
