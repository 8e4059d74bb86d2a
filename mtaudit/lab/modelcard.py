"""The detector's model card (``models/detector/MODEL_CARD.md``), written from the fitted detector and its measured figures."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from mtaudit.base.atomic import write_json, write_text
from mtaudit.stages import classifier, features


def _fmt(v: Any, nd: int = 3) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else (f"{v:.{nd}f}" if isinstance(v, float) else str(v))


def cfg_of(det: classifier.Detector) -> dict[str, Any]:
    return det.meta.get("metrics", {}).get("config", {})


def card_text(det: classifier.Detector) -> str:
    """MODEL_CARD.md: data, sizes, licences, features, metrics, date, version, how to reproduce."""
    meta = det.meta
    rep = meta.get("metrics", {})
    data = rep.get("data", {})
    manifest = data.get("manifest", {})
    lines = [
        "# mtaudit detector: model card", "",
        f"- version: {meta.get('version')} (features v{meta.get('feature_version')}), trained {meta.get('date')}",
        f"- signature: `{det.signature()}`",
        f"- what it is: two L2 logistic regressions (scikit-learn, populations weighted) over readable reference-free "
        f"features. The article model is multinomial (C={cfg_of(det).get('c')}) over {len(det.article.names)} features: "
        f"{', '.join(det.article.classes)}; P(MT) is the mass of {' and '.join(det.article.positive)}. The rules model (C={cfg_of(det).get('rules_c')}) reads "
        f"only the explicit slips ({', '.join(sorted({features.family(n) for n in det.rules.names})) if det.rules else 'none'}: "
        f"{len(det.rules.names) if det.rules else 0} features). They join as a noisy OR, 1 - (1 - p_article)(1 - p_rules), "
        f"Platt-calibrated on document-grouped out-of-fold scores "
        f"({'every row at weight 1, so probabilities keep the training set' + chr(39) + 's MT rate' if cfg_of(det).get('calibration_weights') == 'data' else 'with the population weights'}); "
        "saved as plain JSON (no pickle).",
        f"- decision: machine-translated when p >= {det.threshold}; abstains when |p - {det.threshold}| < {det.abstain_band}.",
        f"- language model: {'SmolLM2-135M surprisal on ' + str(det.lm_k) + ' sentences per article' if det.lm_k else 'not used by the article model (CPU cost; the lm_spike span signal still explains)'}",
        "- reproduce: `mtaudit make-data && mtaudit train` (then `mtaudit eval`).", "",
        "## Training data", "",
        f"{data.get('articles')} articles from {data.get('groups')} source documents; {data.get('sentences')} sentences for the sentence model. "
        f"Positives {manifest.get('positives')}, negatives {manifest.get('negatives')}. Built by `mtaudit make-data` "
        f"(data version {manifest.get('data_version')}, seed {manifest.get('seed')}; Apertium pivots {manifest.get('pivots')}, "
        f"FreeDict literal substitution through {manifest.get('literal_langs')} at rate {manifest.get('literal_rate')}).", "",
        "| corpus | kind | articles | sentences | words |", "|---|---|---:|---:|---:|",
    ]
    for corpus, kinds in manifest.get("by_corpus", {}).items():
        for kind, row in kinds.items():
            lines.append(f"| {corpus} | {kind} | {row['articles']} | {row['sentences']} | {row['words']} |")
    lines += ["", "Licences:", ""] + [f"- {k}: {v}" for k, v in manifest.get("licences", {}).items()]
    lines += ["", "Typography is normalised on both sides (`mtaudit.lab.roundtrip.normalise`): the model learns the damage, "
              "not Apertium's marks. The MT seeds 000 and 002 are never trained on; 001/003/004 (original English) are, "
              "as negatives with their round trips as positives.", "",
              "## Metrics (out-of-fold, folds grouped by source document)", "",
              "| task | n | positives | AUROC | accuracy | ECE | ECE, classes weighted 50:50 | abstained | accuracy when decided |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, m in rep.get("article", {}).items():
        lines.append(f"| article: {name} | {m.get('n')} | {m.get('positives')} | {_fmt(m.get('auroc'))} | {_fmt(m.get('accuracy'))} | "
                     f"{_fmt(m.get('ece'))} | {_fmt(m.get('ece_balanced'))} | {_fmt(m.get('abstained'))} | {_fmt(m.get('accuracy_decided'))} |")
    for key, label in (("sentence_roundtrip", "sentence: held-out round trips"),
                       ("sentence_roundtrip_lm", "sentence, with SmolLM2 surprisal (flags in articles judged MT)")):
        s = rep.get(key, {})
        if s:
            lines.append(f"| {label} | {s.get('n')} | {s.get('positives')} | {_fmt(s.get('auroc'))} | "
                         f"{_fmt(s.get('accuracy'))} | {_fmt(s.get('ece'))} | {_fmt(s.get('ece_balanced'))} | {_fmt(s.get('abstained'))} | {_fmt(s.get('accuracy_decided'))} |")
    abl = rep.get("ablation", [])
    if abl:
        lines += ["", "## Ablation (AUROC, out-of-fold; delta against the full model)", "",
                  "| family | mode | MT vs original | MT vs human | round-trip articles |", "|---|---|---:|---:|---:|"]
        for r in abl:
            lines.append(f"| {r['family']} | {r['mode']} | {_fmt(r.get('wmt22_mt_vs_original'))} ({_fmt(r.get('delta_wmt22_mt_vs_original'), 3)}) | "
                         f"{_fmt(r.get('wmt22_mt_vs_human'))} ({_fmt(r.get('delta_wmt22_mt_vs_human'), 3)}) | "
                         f"{_fmt(r.get('roundtrip_articles'))} ({_fmt(r.get('delta_roundtrip_articles'), 3)}) |")
    extra = meta.get("extra_figures", {})
    if extra:
        lines += ["", "## Further figures", ""] + [f"- {k}: {v}" for k, v in extra.items()]
    seeds = rep.get("seeds_article_alone", {})
    if seeds:
        lines += ["", "## Seeds, each read alone (no other coverage)", "", "| seed | truth | probability |", "|---|---|---:|"]
        lines += [f"| {k} | {'MT' if k in ('000', '002') else 'original'} | {v:.3f} |" for k, v in seeds.items()]
        lines += ["", "In the audit, other coverage moves these through the coverage model below."]
    lines += coverage_card(det.coverage) + wordchoice_card(det)
    t = rep.get("timing_s", {})
    lines += ["", "## Time (2 CPU cores shared with other jobs)", "",
              f"- training: features {t.get('features')} s (cached per text; a cold run computes them at the per-article cost below), "
              f"cross-validation {t.get('cross_validation')} s, "
              + (f"sentence model with LM surprisal kept from detector {meta['sentence_lm_from']} (its sentence model refits to "
                 "the same coefficients: the same sentences), "
                 if meta.get("sentence_lm_from") else
                 f"sentence model with LM surprisal {t.get('sentence_lm')} s (SmolLM2 reads every training sentence once, about "
                 "forty a second in bfloat16 and ten in float32, then its features are cached), ")
              + (f"ablation {t.get('ablation')} s, " if rep.get("ablation") else "no ablation (`--no-ablation`), ")
              + f"final fit {t.get('final_fit')} s, total {t.get('total')} s.",
              f"- detection: {t.get('detect_per_article_uncached')} s per article (features from scratch, no LM; "
              f"{t.get('detect_timed_articles')} articles timed).", ""]
    lines += ["## Features", "", "Each is a number per article (sentence features averaged, or counted per ten sentences). "
              "Article model, the 25 features whose coefficients (on standardised features) differ most between classes:", ""]
    art = det.article
    coef = np.asarray(art.coef)
    lines += ["| feature | " + " | ".join(k.replace("_", " ") for k in art.classes) + " |", "|---|" + "---:|" * len(art.classes)]
    order = [(art.names[i], coef[:, i]) for i in np.argsort(-(coef.max(axis=0) - coef.min(axis=0)))]
    lines += [f"| {n} | " + " | ".join(f"{v:+.3f}" for v in col) + " |" for n, col in order[:25]]
    if det.rules is not None:
        lines += ["", "Rules model, every feature:", "", "| feature | coefficient |", "|---|---:|"]
        lines += [f"| {n} | {c:+.3f} |" for n, c in sorted(zip(det.rules.names, det.rules.coef), key=lambda kv: -abs(kv[1]))]
    lines += ["", f"({len(order)} features in all; the full list with means and scales is in detector.json.)", "",
              "## Limits", "",
              "- Trained on rule-based round trips (Apertium), literal substitutions and zh-en neural MT: other engines and "
              "language pairs may look different; the held-out halves of the shared data measure that.",
              "- MT vs human translation is hard for reference-free features: both are translations of the same text.",
              "- The model reads the article alone; the coverage model is fitted on Apertium round trips only, whose "
              "damage rarely touches names. Neural round trips that mangle names (the seeds' \"the eleventh\" for Xi) "
              "are not in its data. Its contradicted-span weight depends on how rarely the span signals fire on originals: "
              "0.30 with the signals of 2026-11-29, 0.94 since they ask two outlets to agree (2026-11-30), 0.55 beside the "
              "four-class detector (which leaves the spans less to add on Apertium round trips)"
              + (f", {det.coverage['coef'][1]:.2f} beside this one" if det.coverage else "")
              + ", rules written while reading the spans of these same rows, so its out-of-fold figures are not a clean "
              "held-out measure.",
              "- The language-model family is left out of the article model: measured once (ad hoc, wmt22 articles only, "
              "3 sentences per article, grouped 5-fold), adding SmolLM2 surprisal moved MT-vs-human AUROC 0.874 -> 0.865 and "
              "cost about a second per article on these cores. SmolLM2 still gives the lm_spike spans.",
              "- Calibration is fitted on the population-balanced training mix (a 50:50 prior), so on a set that is 86% MT "
              "(wmt22 dev) the probabilities run low and the ECE above is high; weighted back to the 50:50 prior it is "
              "calibrated for (the column beside it) the same probabilities are off by 0.03-0.12. Moved by Bayes' rule to "
              "a set's share of MT (setting `mt_prior`, `mtaudit eval --prior N`, or `--prior auto` to estimate it from "
              "the probabilities without labels), wmt22 dev ECE was 0.051 over all rows at its own share (0.047-0.049 per task) "
              "and 0.014-0.064 at the estimated one (2026-11-30, data version 4, each fold calibrated on the others). Calibrated at the training "
              "set's own 78% MT rate (`calibration_weights=\"data\"`), wmt22 ECE fell to 0.07-0.13 (measured out-of-fold) but "
              "the original-English seeds read alone rose to 0.6-0.76: the prior is a deployment choice, not a fix.",
              "- How the design was chosen (2026-11-30, out-of-fold on the training data, plus the 230 held-out ECB+ "
              "articles of the coverage set read alone, and the seeds): one binary model over every family (the design "
              "until then): wmt22 MT vs original 0.861, MT vs human 0.811, round trips 0.833, held-out AUROC 0.937 with 35% "
              "false positives; the same plus part of speech at a quarter weight: 0.881 / 0.826 / 0.842, seed 002 alone "
              "0.68 -> 0.64; four classes with part of speech, every family in one model: 0.910 / 0.887 / 0.907, held-out "
              "0.990 with 14% false positives, but seed 002 alone 0.12 and 0.01 after coverage; plus the rules model as a "
              "noisy OR: 0.879 / 0.842 / 0.900, 002 alone 0.85; the profile and the slips apart (this model): the figures "
              "above. Five variants of the last step were compared; the differences between them on wmt22 (0.88-0.90, "
              "0.84-0.86) are within what 16 original documents can tell apart.",
              "- The noisy OR is a structural choice the training data does not ask for: a logistic stacker fitted on the "
              "out-of-fold scores gave the rules model a negative weight (-0.76) beside the article model, because on "
              "Apertium round trips and zh-en MT the slips add little the profile lacks. It is there for neural round "
              "trips like the seeds, whose fluent style the article model reads as original English (002: 0.84 for the "
              "original class) and which no training data covers; the slip rules (a female pronoun or \"who\" for a "
              "country, \"phase un\") were written while reading the seeds, so the seeds do not measure them fairly.",
              "- The day-of-month feature (`literal.day_of_month`, \"said on the 10th that\": Chinese news dates events by "
              "the day alone) was added on 2026-11-30 after reading the wmt22 dev MT documents the model ranked lowest; "
              "out-of-fold by document it moved MT vs original 0.904 -> 0.932 and MT vs human 0.856 -> 0.881 (92 of 342 MT "
              "articles, from 8 of 19 documents, carry it; 2 of 38 human translations; 1 of 383 originals, an Indian "
              "outlet's report of a Korean press release). It was chosen on the same dev documents it is measured on, "
              "so the held-out half is its fair test.",
              "- Galician round trips (Debian's apertium-en-gl, data version 4, 2026-11-30) joined Spanish and Catalan: "
              "MT vs original 0.932 -> 0.948, MT vs human 0.881 -> 0.888 (calibrated on all rows, as measured until then; "
              "0.941 and 0.877 with each fold calibrated on the others), held-out ECB+ read alone 0.986 either way, "
              "coverage accuracy 0.944 -> 0.939, seeds still on the right side of their bars. Measured beside it and not "
              "adopted: Esperanto (en-eo) as well, 0.952 / 0.887 but coverage accuracy 0.922; Serbo-Croatian (eng-hbs) "
              "returns every quotation mark as \"parquote\", an engine tell the model would learn.",
              "- Measured and not adopted (2026-11-30): the MT and human translations of the WMT22 MQM set's other dev "
              "domains (e-commerce and social posts: 28 more source documents, 504 MT and 56 human articles) as more "
              "training data. MT vs original 0.904 -> 0.918, MT vs human 0.856 -> 0.870, held-out false positives 18% -> 13%, "
              "but seed 002 read alone 0.94 -> 0.80 and 0.79 after coverage (its bar is 0.9), coverage accuracy 0.948 -> 0.930.",
              "- Measured and not adopted (2026-11-30, each fold calibrated on the others; this model: 0.941 MT vs original, "
              "0.877 MT vs human, held-out 0.986): the article's mean MiniLM sentence embedding as a 384-feature family, "
              "0.828 / 0.816 (it learns the round trips' and the topics' vectors, not translationese); spaCy's dependency "
              "labels, distances and tree depth as a 43-feature family, 0.941 / 0.887, held-out 0.988, coverage accuracy "
              "0.943, for the parser's time in every detection; the wmt22 originals' training share at 1 or 2 instead of "
              "0.5, 0.933 and 0.919 (16 documents weighed more are learnt, not generalised from); 343 more original-English "
              "news articles (the Lee corpus of ABC news, 2000-2001, in gensim's test data) with their round trips: "
              "0.932 / 0.863, held-out 0.989, coverage accuracy 0.952, false positives 4% (a third source of originals "
              "moved the boundary towards its own style and away from the wmt22 originals').",
              "- Measured and not adopted (2026-11-30, same baseline): the part of speech that opens each sentence (14 shares; "
              "fronted adverbials, 'On the 10th, ...', open 19% of wmt22 MT and human sentences against 7% of originals), "
              "0.944 / 0.879 but seed 000 0.883 after coverage (bar 0.9); the share of sentences with a colon, semicolon, "
              "dash or closing ?/!, 0.934 / 0.919 and ECE 50:50 over all wmt22 0.049, but 000 0.882, and most of the gain "
              "is the human translators' semicolons (14% of their sentences, 2% of MT), a habit of this set's translators "
              "rather than of machine translation; both, 0.938 / 0.920, 000 0.797. Scoring P(neural MT) alone or against "
              "P(original) instead of the mass of both MT classes: 0.942 / 0.870 and 0.954 / 0.754 (round trips 0.719 "
              "with neural MT alone); reweighting the calibration towards the wmt22 rows: ECE 50:50 0.084-0.092, no better; "
              "beta calibration (three parameters) 0.090 / 0.111 against Platt's 0.084 / 0.121, isotonic 0.067 / 0.104 "
              "but AUROC 0.927 / 0.863.",
              "- Measured and not adopted (2026-11-30, last; same baseline): part-of-speech trigrams inside sentences, the 30 "
              "or 100 commonest in the training articles as shares (a classic translationese feature, Volansky et al. 2015): "
              "0.944 / 0.878 with 30 but seed 000 0.890 after coverage (bar 0.9), 0.929 / 0.861 with 100.",
              "- Measured and not adopted (2026-11-30, last): Chinese news phrasing kept word for word (a reporter credited in "
              "brackets, 'relevant departments', 'the masses', 'netizens'; listed while reading the wmt22 dev MT documents ranked lowest, from what "
              "Chinese-English translation is known to keep, so the held-out half is their fair test; found in 69 of the 342 wmt22 dev MT articles, 2 of 38 human translations, none of the 16 originals nor of "
              "502 ECB+ articles) as a detector feature: in the article model (`mtaudit train`) 0.946 / 0.888, ECE 50:50 "
              "0.075 / 0.105, coverage accuracy 0.944, but seed 000 0.8997 after coverage (bar 0.9) and 0.62 alone; in the "
              "slips model (ad hoc, out-of-fold) 0.960 / 0.906 but 000 0.889 after coverage and 0.55 alone; with 'carry out' "
              "as well 0.959 / 0.894, 000 0.913 after coverage but 0.59 alone, inside the abstention band. The phrases are "
              "the `calque` span instead, and Chinese-pivot evidence.",
              "- Measured and not adopted (2026-12-08, training-side windows only): a linear probe on a window's mean MiniLM "
              "sentence embedding (the encoder the audit already runs), fitted on neural MT against the human translation of "
              "the same lines (five pairs, two MT systems a window, folds by 100-line chunk): AUROC 0.59-0.63 (C 0.1-10), "
              "below this model's 0.750. Against original English it reaches 0.89-0.93, but the originals are other "
              "documents: that is their topics, not translationese.",
              "- The original-English seeds 001/003/004 are training negatives (as the issue asks); 000 and 002 are not."]
    return "\n".join(lines) + "\n"


def coverage_card(cov: dict[str, Any] | None) -> list[str]:
    """The model card's section on the coverage model (mtaudit.stages.coverage)."""
    if not cov:
        return ["", "## Other coverage", "", "No coverage model (make-data wrote no coverage.jsonl): other outlets' spans "
                "are evidence in the reports but do not move the verdict."]
    (a1, a2), b = cov["coef"], cov["intercept"]
    lines = ["", "## Other coverage (`mtaudit.stages.coverage`)", "",
             f"When other outlets cover the story the verdict is logistic({a1:+.3f} x detector log-odds {a2:+.3f} x summed "
             f"log-odds of the spans other outlets contradict (capped at {cov['cap']:g}) {b:+.3f}), fitted on {cov['n']} ECB+ "
             f"articles in {cov['stories']} stories that the detector never trained on and `mtaudit story-eval` never uses: "
             f"each as written and as a whole Apertium round trip, audited against the rest of its story. "
             f"Out-of-fold, folds grouped by story:", "",
             "| model | AUROC | accuracy | log loss | ECE | recall | false-positive rate |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name, m in cov["out_of_fold"].items():
        lines.append(f"| {name.replace('_', ' ')} | {_fmt(m['auroc'])} | {_fmt(m['accuracy'])} | {_fmt(m['log_loss'])} | "
                     f"{_fmt(m['ece'])} | {_fmt(m['recall'])} | {_fmt(m['false_positive_rate'])} |")
    return lines + ["", f"(audited and fitted in {cov.get('seconds')} s; the articles with no coverage keep the detector's "
                        "own probability.)"]


def wordchoice_card(det: classifier.Detector) -> list[str]:
    """The model card's section on the word-choice model (mtaudit.stages.wordchoice)."""
    wc = det.wordchoice
    if wc is None:
        return ["", "## Word choice", "", "No word-choice model (the shared wmt22_translationese lines were missing at training)."]
    m = wc.meta
    fig = m.get("metrics", {})
    return ["", "## Word choice (`mtaudit.stages.wordchoice`, `wordchoice.json.gz`)", "",
            f"Version {m.get('version')}, fitted {m.get('date')}: logistic regression (C={m.get('c')}, classes balanced) over tf-idf "
            f"word 1-2-grams and character 2-5-grams ({len(wc.word_vocab)} and {len(wc.char_vocab)}, at most "
            f"{m.get('max_features')} each), text typography-neutral. Data: {m.get('data')}; licence: research use (WMT22, "
            "cite Kocmi et al. 2022). Each sentence's log-odds of MT joins the article model as the `wordchoice` family "
            "(mean, mean of the top 3, share above 0). In training, an article whose chunk the model fitted on is read by the "
            "fold model that never saw that chunk.", "",
            f"- out-of-fold by chunk, one line at a time: AUROC {_fmt(fig.get('line_auroc_out_of_fold'))} on {fig.get('lines')} lines "
            f"({fig.get('mt_lines')} MT); windows of 12-20 lines read far better (the article model's translationese rows above).",
            "- what it learnt: human translators write contractions and idiom (\"'ll\", \"got\", \"up\"); the systems keep "
            "\"due to\", \"of\", \"will\" and the source's symbols (\"#\", \"/\")."]


def write_card(det: classifier.Detector, folder: Path) -> None:
    write_text(Path(folder) / "MODEL_CARD.md", card_text(det))
    write_json(Path(folder) / "metrics.json", det.meta.get("metrics", {}))
