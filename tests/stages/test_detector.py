"""The committed detector: loads through the registry, explains itself, gives the seed verdicts, evaluates files."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from mtaudit.base.settings import Settings
from mtaudit.lab import evaluate, measures, train
from mtaudit.stages import classifier, ingest, models
from tests.conftest import ROOT, SEEDS


def seed_sentences(prefix: str) -> list[str]:
    path = next(SEEDS.glob(f"{prefix}_*.txt"))
    article, _ = ingest.parse(path.read_text(encoding="utf-8"), path.name, Settings())
    assert article is not None
    return [s.text for s in article.sentences]


@pytest.fixture(scope="module")
def detector() -> classifier.Detector:
    return models.detector()


def test_committed_detector_loads_through_the_registry(detector: classifier.Detector) -> None:
    assert isinstance(detector, classifier.Detector)
    assert detector.signature().startswith("detector:")
    assert f"|data:v{detector.meta['data_version']}|trained:{detector.meta['date']}" in detector.signature()
    art = detector.article
    assert isinstance(art, classifier.SoftmaxModel) and detector.rules is not None and detector.combination
    assert set(art.classes) == {"original", "original_mixed", "human_translation", "neural_mt", "neural_mt_other", "round_trip"}
    assert len(art.classes) == len(art.coef) == len(art.intercept) and set(art.positive) < set(art.classes)
    assert all(len(row) == len(art.names) == len(art.mean) for row in art.coef)
    assert not set(art.names) & set(detector.rules.names)  # the profile and the slips: each feature in one model
    assert detector.sentence is not None
    assert (ROOT / "models" / "detector" / "MODEL_CARD.md").exists()
    assert (ROOT / "models" / "detector" / "detector.json").stat().st_size < 3_000_000


def test_json_round_trip_and_no_pickle(detector: classifier.Detector, tmp_path: Path) -> None:
    classifier.save(detector, tmp_path)
    again = classifier.load(tmp_path)
    sents = seed_sentences("002")
    assert again.predict(sents).probability == pytest.approx(detector.predict(sents).probability)
    assert json.loads((tmp_path / "detector.json").read_text())["format"] == "mtaudit-detector"


def test_contributions_add_up_to_each_models_log_odds(detector: classifier.Detector) -> None:
    """Article model: to log P(likeliest MT class) / P(likeliest other class); rules model: to its logit."""
    feats = detector.predict(seed_sentences("000")).features
    art, rules = detector.article, detector.rules
    row = art.matrix([feats])
    a, b = art.rivals(row[0])
    probs = art.class_probabilities(row)[0]
    total = sum(c for _, c in art.contributions(row[0])) + art.intercept[a] - art.intercept[b]
    assert total == pytest.approx(math.log(probs[a] / probs[b]))
    assert art.classes[a] in art.positive and art.classes[b] not in art.positive
    rrow = rules.matrix([feats])
    assert sum(c for _, c in rules.contributions(rrow[0])) + rules.intercept == pytest.approx(float(rules.logit(rrow)[0]))


@pytest.mark.parametrize("p_article,p_rules", [(0.1, 0.1), (0.1, 0.9), (0.9, 0.1), (0.5, 0.5)])
def test_prediction_is_the_calibrated_noisy_or(detector: classifier.Detector, p_article: float, p_rules: float) -> None:
    p = detector.combine(p_article, p_rules)
    assert p == pytest.approx(float(classifier.calibrate(classifier.noisy_or(np.array([p_article]), np.array([p_rules])),
                                                         detector.combination)[0]))
    assert detector.combine(p_article, min(p_rules + 0.05, 0.99)) > p  # more evidence from either side raises it
    assert detector.combine(min(p_article + 0.05, 0.99), p_rules) > p


def test_prediction_carries_both_models(detector: classifier.Detector) -> None:
    """002 is a fluent neural round trip: its style reads as not machine-translated (original English or a human
    translation: 0.42 / 0.47 with detector 1.1.0), its slips carry the verdict."""
    pred = detector.predict(seed_sentences("002"))
    assert pred.article_probability is not None and pred.rules_probability is not None
    assert pred.probability == pytest.approx(detector.combine(pred.article_probability, pred.rules_probability))
    assert set(pred.kinds) == set(detector.article.classes) and sum(pred.kinds.values()) == pytest.approx(1.0)
    assert max(pred.kinds, key=pred.kinds.get) in {"original", "human_translation"}
    assert pred.article_probability < detector.threshold < pred.rules_probability


@pytest.mark.parametrize("seed,is_mt", [("000", True), ("001", False), ("002", True), ("003", False), ("004", False)])
def test_lone_seed_is_judged_correctly(detector: classifier.Detector, seed: str, is_mt: bool) -> None:
    """The article alone, no other coverage: reference-free features only, and a decision (no abstention)."""
    pred = detector.predict(seed_sentences(seed))
    assert pred.machine_translated is is_mt and not pred.abstained


@pytest.mark.parametrize("seed,is_mt", [("000", True), ("001", False), ("002", True), ("003", False), ("004", False)])
def test_seed_report_verdicts_come_from_the_detector(seed_reports: dict[str, dict[str, Any]], seed: str, is_mt: bool) -> None:
    verdict = seed_reports[seed]["verdict"]
    assert verdict["method"] == "detector"
    reasons = verdict["reasons"]
    if is_mt:  # first what a person can check, then how the detector read it
        assert reasons[0].startswith("judged machine-translated on evidence a person can check: ")
        reasons = reasons[1:]
    assert reasons[0].startswith("detector (article alone)")
    assert reasons[1].startswith("style profile reads as ")  # the four kinds of text, likeliest first
    assert reasons[2].startswith("coverage model (fitted on ")  # the other four seeds cover the story
    assert verdict["machine_translated"] is is_mt


@pytest.mark.parametrize(
    ("machine_translated", "probabilities", "by_model"),
    [
        (True, [0.9, 0.6, 0.59, 0.2], [True, True, False, False]),  # the detector's rule: p >= threshold + band
        (False, [0.9, 0.6, 0.59, 0.2], [False] * 4),  # an article judged original gets no sentence-model flags
        (None, [0.9, 0.6, 0.59, 0.2], [False] * 4),  # nor one the detector abstains on
        (True, [], [False] * 4),  # no sentence model: nothing changes
    ],
)
def test_sentence_model_flags_only_inside_machine_translated_articles(
    machine_translated: bool | None, probabilities: list[float], by_model: list[bool]
) -> None:
    from mtaudit.stages import detect

    evidence = [detect.SentenceEvidence(i, flagged=(i == 3)) for i in range(4)]
    verdict = detect.Verdict(machine_translated, 0.9, machine_translated is None, [], sentence_probabilities=probabilities)
    out = detect.flag_by_model(evidence, verdict)
    assert [e.flagged_by_model for e in out] == by_model
    assert [e.flagged for e in out] == [False, False, False, True]  # the spans' flags stay as they were
    assert out[3].flagged_by == ["spans", "sentence model"][: 1 + by_model[3]]
    assert [e.flagged_by_model for e in evidence] == [False] * 4  # new evidence, the input untouched
    assert any("sentence model flags" in r for r in verdict.reasons) == any(b and i != 3 for i, b in enumerate(by_model))


def test_seed_sentences_flagged_by_the_sentence_model_say_so(seed_reports: dict[str, dict[str, Any]]) -> None:
    """000 and 002 gain flags from the sentence model, each with its probability; the originals gain none."""
    for seed in ("000", "002"):
        by_model = [s for s in seed_reports[seed]["sentences"] if "sentence model" in s["flagged_by"]]
        assert by_model and all(s["flagged"] and s["model_probability"] >= 0.6 for s in by_model)
    for seed in ("001", "003", "004"):
        assert not any(s["flagged_by"] for s in seed_reports[seed]["sentences"])
        assert all(s["model_probability"] is not None for s in seed_reports[seed]["sentences"])


def test_pivot_in_reports(seed_reports: dict[str, dict[str, Any]]) -> None:
    assert seed_reports["002"]["verdict"]["pivot_language"] == "fr"
    assert seed_reports["000"]["verdict"]["pivot_language"] == "ar"
    for seed in ("001", "003", "004"):
        assert seed_reports[seed]["verdict"]["pivot_language"] is None


def test_metrics_table() -> None:
    m = measures.metrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.9])
    assert m["auroc"] == pytest.approx(0.75)
    assert m["accuracy"] == pytest.approx(0.75)
    assert measures.ece(np.array([0, 1]), np.array([0.0, 1.0])) == 0.0
    assert measures.ece(np.array([0, 0]), np.array([0.95, 0.95])) == pytest.approx(0.95)
    # a coin-flip on a set that is 75% positive: off by 0.25 as it stands, exact at the 50:50 prior it claims
    y, half = np.array([0, 1, 1, 1]), np.full(4, 0.5)
    assert measures.ece(y, half) == pytest.approx(0.25)
    assert measures.ece(y, half, balanced=True) == pytest.approx(0.0)
    assert measures.metrics(y, half)["ece_balanced"] == pytest.approx(0.0)


def test_calibration_maps_monotonically() -> None:
    scores = np.array([-3.0, 0.0, 3.0])
    p = classifier.calibrate(scores, {"method": "sigmoid", "a": -1.0, "b": 0.0})
    assert np.all(np.diff(p) > 0) and p[1] == pytest.approx(0.5)
    iso = classifier.calibrate(scores, {"method": "isotonic", "x": [-1.0, 1.0], "y": [0.2, 0.8]})
    assert iso.tolist() == [0.2, 0.5, 0.8]


@pytest.fixture(scope="module")
def eval_file(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """Seeds 000/002 (never trained on), two ECB+ documents outside the training sample, one row without a label."""
    from mtaudit.lab import makedata

    rows = [{"id": "seed000", "label": "machine_translation", "text": "\n".join(seed_sentences("000"))},
            {"id": "seed002", "label": "machine_translation", "text": "\n".join(seed_sentences("002"))}]
    ecb = makedata.read_jsonl(shared_data / "ecbplus" / "ecbplus_docs.jsonl")
    ecb.sort(key=lambda r: makedata.stable_rank(r["doc_id"], 13))
    unseen = [r for r in ecb[-20:] if r["n_sentences"] >= 8][:2]
    rows += [{"id": r["doc_id"], "label": "original_english", "text": r["text"]} for r in unseen]
    rows.append({"id": "nolabel", "text": "\n".join(seed_sentences("004"))[:1500]})
    path = tmp_path_factory.mktemp("eval") / "small.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_eval_cli_writes_every_row(eval_file: Path, tmp_path: Path) -> None:
    from mtaudit.cli import app

    out = tmp_path / "preds.csv"
    res = CliRunner().invoke(app, ["eval", "--data", str(eval_file), "--predictions", str(out), "--json",
                                   "--training-data", str(tmp_path / "none")])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["id"] for r in rows] == ["seed000", "seed002", *[r["id"] for r in rows[2:4]], "nolabel"]
    assert rows[-1]["label"] == "" and 0.0 <= float(rows[-1]["probability"]) <= 1.0
    assert all(r["how"] == "model" for r in rows)
    assert summary["rows"] == 5 and summary["labelled"] == 4
    assert summary["all"]["n"] == 4 and summary["mt_vs_original"]["auroc"] is not None
    by_id = {r["id"]: float(r["probability"]) for r in rows}
    assert min(by_id["seed000"], by_id["seed002"]) > max(by_id[r["id"]] for r in rows[2:4])


def test_eval_ignores_the_label_when_predicting(eval_file: Path, tmp_path: Path, detector: classifier.Detector) -> None:
    flipped = tmp_path / "flipped.jsonl"
    rows = [json.loads(line) for line in eval_file.read_text().splitlines()]
    for r in rows:
        r["label"] = "original_english"
    flipped.write_text("".join(json.dumps(r) + "\n" for r in rows))
    a, _ = evaluate.evaluate_file(eval_file, detector, Settings(), None)
    b, _ = evaluate.evaluate_file(flipped, detector, Settings(), None)
    assert [p["probability"] for p in a] == [p["probability"] for p in b]


def test_eval_refuses_train_on_test(tmp_path: Path, shared_data: Path) -> None:
    """A row the committed model trained on is never scored by it: without the training data, a clear error."""
    from mtaudit.cli import app

    row = json.loads((shared_data / "wmt22_articles" / "articles.jsonl").read_text(encoding="utf-8").splitlines()[0])
    path = tmp_path / "seen.jsonl"
    path.write_text(json.dumps(row) + "\n")
    res = CliRunner().invoke(app, ["eval", "--data", str(path), "--training-data", str(tmp_path / "none")])
    assert res.exit_code == 2
    assert "out-of-fold" in res.output


def test_no_nan_in_committed_weights(detector: classifier.Detector) -> None:
    art, rules = detector.article, detector.rules
    assert rules is not None
    for v in [x for row in art.coef for x in row] + art.intercept + art.mean + art.scale + rules.coef + rules.mean + rules.scale:
        assert math.isfinite(v)


def test_peak_family_reads_the_worst_sentences() -> None:
    """A peak (mean of the three highest sentences) is never below the article mean, and is deterministic."""
    from mtaudit.stages import features

    sents = seed_sentences("002")
    f = features.article_features(sents)
    peaks = [k for k in f if k.startswith("peak.")]
    assert "peak.ngram.rare_share" in peaks and "peak.literal.who_for_thing" in peaks
    for k in peaks:
        base = k.removeprefix("peak.")
        if base in f and not base.startswith(("literal.", "caps.")):  # those are per ten sentences at article level
            assert f[k] >= f[base] - 1e-12
    assert features.article_features(sents) == f


def test_clipped_standardisation_caps_one_feature() -> None:
    model = classifier.LinearModel(["a", "b"], [0.0, 0.0], [1.0, 1.0], [1.0, 1.0], 0.0, {"method": "none"}, clip=3.0)
    assert model.logit(np.array([[100.0, -1.0]]))[0] == pytest.approx(2.0)
    assert classifier.LinearModel(["a"], [0.0], [1.0], [1.0], 0.0, {"method": "none"}).logit(np.array([[100.0]]))[0] == 100.0


@pytest.mark.parametrize(
    ("p", "verdict", "abstained"),
    [(0.6, True, False), (0.4, False, False), (0.5, None, True), (0.5999, None, True), (0.4001, None, True), (0.95, True, False)],
)
def test_decision_rule_with_its_edges(p: float, verdict: bool | None, abstained: bool) -> None:
    """The rule the trained detector and the evidence-only verdict share: p on the band's edge decides (0.6 - 0.5 is 0.0999...)."""
    assert classifier.decide(p, 0.5, 0.1) == (verdict, abstained)


def test_sentence_model_with_surprisal_is_stronger_held_out(detector: classifier.Detector) -> None:
    """The committed card's figures: out-of-fold by document on the same sentences, with and without SmolLM2 surprisal."""
    m = detector.meta["metrics"]
    assert detector.sentence_lm is not None and "lm.mean" in detector.sentence_lm.names
    assert m["sentence_roundtrip_lm"]["n"] == m["sentence_roundtrip"]["n"]
    assert m["sentence_roundtrip_lm"]["auroc"] > m["sentence_roundtrip"]["auroc"] + 0.05


def test_sentence_lm_reads_the_round_trip_as_more_machine_translated(detector: classifier.Detector, settings: Settings) -> None:
    """On real text: 000 (round trip) against 001 (original English), sentence by sentence: the LM variant
    separates them (mean 0.41 against 0.33) where the reference-free model barely does (0.46 against 0.44)."""
    mt, orig = seed_sentences("000"), seed_sentences("001")
    p_mt, p_orig = detector.sentence_lm_probabilities(mt, settings), detector.sentence_lm_probabilities(orig, settings)
    assert len(p_mt) == len(mt) and len(p_orig) == len(orig) and all(0.0 <= p <= 1.0 for p in p_mt + p_orig)
    free_gap = np.mean(detector.predict(mt).sentence_probabilities) - np.mean(detector.predict(orig).sentence_probabilities)
    assert np.mean(p_mt) - np.mean(p_orig) > max(0.05, free_gap + 0.03)
    assert detector.sentence_lm_probabilities([], settings) == []


def test_seed_flags_in_a_machine_translated_article_come_from_the_surprisal_model(seed_reports: dict[str, dict[str, Any]]) -> None:
    for seed in ("000", "002"):
        assert any("sentence model (with SmolLM2 surprisal)" in r for r in seed_reports[seed]["verdict"]["reasons"])
    for seed in ("001", "003", "004"):  # not judged machine-translated: no LM pass for them
        assert not any("SmolLM2 surprisal" in r for r in seed_reports[seed]["verdict"]["reasons"])


def test_softmax_model_by_hand() -> None:
    """Three classes, one feature: P(MT) is the mass of the positive classes, contributions explain the rival pair."""
    model = classifier.SoftmaxModel(["x"], [0.0], [1.0], [[0.0], [1.0], [2.0]], [0.0, 0.0, 0.0], ["orig", "rt", "nmt"],
                                    ["rt", "nmt"], {"method": "none"})
    row = np.array([[1.0]])
    e = np.exp([0.0, 1.0, 2.0])
    mass = (e[1] + e[2]) / e.sum()
    assert float(model.logit(row)[0]) == pytest.approx(math.log(mass / (1 - mass)))
    assert model.rivals(row[0]) == (2, 0)
    assert model.contributions(row[0]) == [("x", pytest.approx(2.0))]


def test_fit_softmax_separates_four_kinds() -> None:
    """Seeded toy data: each class shifted along its own feature; the fitted model ranks positives first."""
    rng = np.random.default_rng(13)
    kinds = ["original", "human_translation", "neural_mt", "round_trip"]
    dicts, classes, groups = [], [], []
    for i in range(200):
        k = i % 4
        dicts.append({f"f{j}": float(rng.normal(2.0 if j == k else 0.0)) for j in range(4)})
        classes.append(kinds[k])
        groups.append(f"g{i % 20}")
    model = classifier.fit_softmax(dicts, classes, ["neural_mt", "round_trip"], groups, ["f0", "f1", "f2", "f3"], c=1.0)
    p = model.proba(model.matrix(dicts))
    pos = np.array([c in ("neural_mt", "round_trip") for c in classes])
    assert p[pos].mean() > 0.75 > 0.25 > p[~pos].mean()
    assert model.calibration["method"] == "sigmoid"
    # weights that make the negatives count 9 to 1: calibrated with them ("same") the probabilities refer to
    # that mix and fall; calibrated on the rows as they are ("data", half positive) they stay where they were
    w = [0.2 if c in ("neural_mt", "round_trip") else 1.8 for c in classes]
    fit = lambda how: classifier.fit_softmax(dicts, classes, ["neural_mt", "round_trip"], groups,  # noqa: E731
                                             ["f0", "f1", "f2", "f3"], c=1.0, weights=w, calibration_weights=how)
    same, data = fit("same"), fit("data")
    assert same.proba(same.matrix(dicts)).mean() < data.proba(data.matrix(dicts)).mean() - 0.1
    assert abs(data.proba(data.matrix(dicts)).mean() - 0.5) < 0.1


@pytest.mark.parametrize(("p", "prior", "expected"), [
    (0.5, 0.5, 0.5), (0.9, 0.5, 0.9),  # the detector's own prior: unchanged
    (0.5, 0.05, 0.05), (0.5, 0.9, 0.9),  # no evidence either way: the prior itself
    (0.9, 0.1, 0.5),  # odds 9:1 times 1:9
])
def test_shift_prior_by_hand(p: float, prior: float, expected: float) -> None:
    assert float(classifier.shift_prior(p, prior)) == pytest.approx(expected)


def test_shift_prior_refuses_a_certain_prior() -> None:
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        classifier.shift_prior(0.7, 1.0)


def test_estimate_prior_recovers_a_known_mix() -> None:
    """Seeded: scores calibrated at 50:50 for a set that is 80% positive; EM finds about 0.8 without labels."""
    rng = np.random.default_rng(13)
    y = rng.random(4000) < 0.8
    logit = np.where(y, 1.5, -1.5) + rng.normal(0, 1.5, len(y))  # two Gaussians: the 50:50 posterior's log-odds is 2 * 1.5 / 1.5**2 * x
    p = 1 / (1 + np.exp(-(2 * 1.5 / 1.5**2) * logit))
    assert classifier.estimate_prior(p) == pytest.approx(0.8, abs=0.03)
    assert classifier.estimate_prior(1 - p) == pytest.approx(0.2, abs=0.03)


def test_eval_cli_calibrates_to_a_prior(eval_file: Path, tmp_path: Path) -> None:
    """--prior moves every probability by Bayes' rule (ranking unchanged); 'auto' reads no label."""
    from mtaudit.cli import app

    def run(*extra: str) -> tuple[dict[str, Any], dict[str, float]]:
        out = tmp_path / f"preds{len(extra)}.csv"
        res = CliRunner().invoke(app, ["eval", "--data", str(eval_file), "--predictions", str(out), "--json",
                                       "--training-data", str(tmp_path / "none"), *extra])
        assert res.exit_code == 0, res.output
        return json.loads(res.stdout.strip().splitlines()[-1]), {r["id"]: float(r["probability"]) for r in csv.DictReader(out.open())}

    base, p0 = run()
    moved, p1 = run("--prior", "0.2")
    auto, _ = run("--prior", "auto")
    assert base["prior"] == 0.5 and moved["prior"] == 0.2 and moved["prior_source"] == "--prior"
    for k in p0:
        assert p1[k] == pytest.approx(float(classifier.shift_prior(p0[k], 0.2)), abs=1e-5)  # the CSV keeps 6 decimals
    assert moved["all"]["auroc"] == base["all"]["auroc"] and moved["all"]["ece_balanced"] is None
    assert 0.0 < auto["prior"] < 1.0 and "no labels" in auto["prior_source"]
    bad = CliRunner().invoke(app, ["eval", "--data", str(eval_file), "--prior", "lots"])
    assert bad.exit_code == 2 and "--prior takes a share" in bad.output


def test_eval_cli_decides_at_the_settings_threshold(eval_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """mtaudit eval's verdicts and accuracy follow article_threshold and abstain_band, as the audit's do."""
    from mtaudit.cli import app

    monkeypatch.setenv("MTAUDIT_ARTICLE_THRESHOLD", "0.999")
    monkeypatch.setenv("MTAUDIT_ABSTAIN_BAND", "0")
    out = tmp_path / "preds.csv"
    res = CliRunner().invoke(app, ["eval", "--data", str(eval_file), "--predictions", str(out), "--json",
                                   "--training-data", str(tmp_path / "none")])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert summary["threshold"] == 0.999 and summary["abstain_band"] == 0.0
    rows = list(csv.DictReader(out.open()))
    assert rows and all(r["verdict"] == ("machine_translation" if float(r["probability"]) >= 0.999 else "not_machine_translation")
                        for r in rows)


def test_eval_rows_skip_what_cannot_be_read(tmp_path: Path) -> None:
    """One bad row costs that row: each is named by file and line, the good rows are all kept."""
    from mtaudit.lab import evaluate

    path = tmp_path / "mixed.jsonl"
    good = json.dumps({"id": "a", "label": "original_english", "text": "The council met on Tuesday."})
    path.write_bytes(b"\n".join([good.encode(), b'{"id": "b", "text": "broken', "{\"text\": \"caf\xe9\"}".encode("latin-1"),
                                  b'{"id": "c"}', b'{"id": "d", "text": "  "}', b"", b'["a list"]',
                                  json.dumps({"text": "No id here."}).encode()]) + b"\n")
    rows, problems = evaluate.read_rows(path)
    assert [r["id"] for r in rows] == ["a", "mixed.jsonl:8"]
    assert [p.split(": ", 1)[0] for p in problems] == [f"{path}:{n}" for n in (2, 3, 4, 5, 7)]
    assert [p.rsplit("[", 1)[1] for p in problems] == ["E_JSON]", "E_ENCODING]", "E_JSON]", "E_EMPTY]", "E_JSON]"]


def test_eval_cli_goes_on_past_a_bad_row(tmp_path: Path) -> None:
    """A bad row is one stderr line naming file and line and exit 3; the good rows are scored; no good row is exit 2."""
    from mtaudit.cli import app

    path = tmp_path / "rows.jsonl"
    good = json.dumps({"id": "seed000", "label": "machine_translation", "text": "\n".join(seed_sentences("000"))})
    path.write_text(good + "\n{\"id\": \"x\", \"text\": \"cut off\n", encoding="utf-8")
    out = tmp_path / "preds.csv"
    res = CliRunner().invoke(app, ["eval", "--data", str(path), "--predictions", str(out), "--json",
                                   "--training-data", str(tmp_path / "none")])
    assert res.exit_code == 3, res.output
    assert f"{path}:2: not JSON" in " ".join(res.stderr.split()) and "[E_JSON]" in res.stderr
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert summary["rows"] == 1 and len(summary["problems"]) == 1
    assert [r["id"] for r in csv.DictReader(out.open())] == ["seed000"]
    path.write_text("{broken\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["eval", "--data", str(path), "--training-data", str(tmp_path / "none")])
    assert res.exit_code == 2 and "could be read" in res.stderr


def test_audit_verdict_moves_to_the_expected_share() -> None:
    """The setting mt_prior moves the article probability (and says so); 0.5 leaves it alone."""
    from mtaudit.stages import detect, ingest

    path = next(SEEDS.glob("002_*.txt"))
    article, _ = ingest.parse(path.read_text(encoding="utf-8"), path.name, Settings())
    assert article is not None
    plain = detect.model_verdict(article, [], Settings())
    rare = detect.model_verdict(article, [], Settings(mt_prior=0.02))
    assert rare.probability == pytest.approx(float(classifier.shift_prior(plain.probability, 0.02)), abs=1e-3)  # both rounded to 4 decimals
    assert rare.probability < plain.probability
    assert any("mt_prior" in r for r in rare.reasons) and not any("mt_prior" in r for r in plain.reasons)


def test_audit_verdict_follows_the_threshold_settings() -> None:
    """article_threshold and abstain_band decide the detector's verdict (they were read only without a detector)."""
    from mtaudit.stages import detect, ingest

    path = next(SEEDS.glob("002_*.txt"))
    article, _ = ingest.parse(path.read_text(encoding="utf-8"), path.name, Settings())
    assert article is not None
    plain = detect.model_verdict(article, [], Settings())
    assert plain.machine_translated is True and plain.probability < 0.995
    strict = detect.model_verdict(article, [], Settings(article_threshold=0.995, abstain_band=0.0))
    assert strict.probability == plain.probability and strict.machine_translated is False and not strict.abstained
    wide = detect.model_verdict(article, [], Settings(abstain_band=0.49))
    assert wide.abstained and wide.machine_translated is None


def test_signature_names_the_prior() -> None:
    from mtaudit.stages import detect

    assert detect.signature(Settings()).endswith("|mt_prior:0.5")
    assert "|mt_prior:0.05" in detect.signature(Settings(mt_prior=0.05))


def test_out_of_fold_calibration_never_reads_its_own_fold(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each fold's probabilities are calibrated on the other folds' labels only (the reported ECE is not in-sample)."""
    from mtaudit.lab import makedata

    rng = np.random.default_rng(13)
    docs = [makedata.Doc(f"d{i}", f"g{i % 25}", "reuters", "original", int(rng.random() < 0.5), ["x"]) for i in range(200)]
    dicts = [{"f": float(rng.normal(1.5 * d.label))} for d in docs]

    class Fixed:  # scores that do not depend on the labels, so only the calibration can read them
        def probabilities(self, ds: list[dict[str, float]]) -> tuple[np.ndarray, None]:
            return 1 / (1 + np.exp(-np.array([x["f"] for x in ds]))), None

    monkeypatch.setattr(train, "fit_parts", lambda *a, **k: Fixed())
    cfg = train.TrainConfig()
    fs = train.fold_scores(docs, dicts, ["f"], [], cfg, [1.0] * len(docs))
    _, test0 = fs.folds[0]
    for i in test0:  # flip the labels of fold 0 alone
        docs[i].label = 1 - docs[i].label
    flipped = train.fold_scores(docs, dicts, ["f"], [], cfg, [1.0] * len(docs))
    assert flipped.calibrations[0] == fs.calibrations[0]
    assert all(flipped.calibrations[k] != fs.calibrations[k] for k in range(1, cfg.n_splits))
    p, combination = train.detector_out_of_fold(docs, dicts, ["f"], [], cfg, [1.0] * len(docs))
    assert np.allclose(p[test0], classifier.calibrate(flipped.score[test0], flipped.calibrations[0]))
    assert combination != flipped.calibrations[0]  # the final model's calibration reads every row
