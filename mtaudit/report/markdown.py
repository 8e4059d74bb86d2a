"""The Markdown page of one report: verdict and reasons, then each sentence with evidence."""

from __future__ import annotations

from typing import Any

from mtaudit.report.contract import flagged_by, level
from mtaudit.stages.detect import LEVELS


def md_text(text: str) -> str:
    """Article text made inert in Markdown: renderers pass raw HTML through, so a title "<script>..." must not be a tag."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def markdown(report: dict[str, Any]) -> str:
    """A readable page: verdict and reasons, then each flagged sentence with its evidence.

    Text that comes from the article (title, sentences, spans' reasons, references) is escaped
    with :func:`md_text`; ids and paths sit in code spans, where Markdown reads nothing.
    """
    v = report["verdict"]
    verdict = LEVELS[level(v)]
    n_flagged = sum(s["flagged"] for s in report["sentences"])
    lines = [
        f"# {md_text(report['title'] or report['source'])}",
        "",
        f"- article: `{report['article_id']}` from `{report['source']}`" + (f", dated {report['date']}" if report["date"] else ""),
        f"- story: `{report['story_id']}`" if report["story_id"] else "- story: no other coverage in this batch; reference-free signals only",
        f"- verdict: **{verdict}** (probability {v['probability']:.2f})" + (f", pivot language guess: {v['pivot_language']}" if v["pivot_language"] else ""),
        f"- flagged sentences: {n_flagged} of {len(report['sentences'])}",
        "",
    ]
    if v["reasons"]:
        lines += ["## Why", ""] + [f"- {md_text(r)}" for r in v["reasons"]] + [""]
    flagged = [s for s in report["sentences"] if s["flagged"] or s["spans"]]
    lines += ["## Sentences with evidence", ""] if flagged else ["No sentence carries evidence of machine translation.", ""]
    for s in flagged:
        by = flagged_by(s)
        model_p = f", sentence model p={s['model_probability']:.2f}" if s.get("model_probability") is not None else ""
        lines.append(f"### Sentence {s['index']}" + (f" (flagged by {' and '.join(by)})" if s["flagged"] else "")
                     + f", spans p={s['mt_probability']:.2f}{model_p}")
        lines += ["", f"> {md_text(s['text'])}", ""]
        if s["flagged"] and not s["spans"]:  # the sentence model's flag names no words: say so, and what to read it against
            against = "read it against the references below" if s["references"] else "no other outlet has a sentence like it"
            lines.append(f"- no span names the damage: the detector's sentence model, reading the sentence alone, "
                         f"calls it machine-translated ({s.get('model_probability') or 0:.2f}); {against}")
        for sp in s["spans"]:
            sug = f" -> **{md_text(sp['suggestion'])}**" if sp["suggestion"] else ""
            sup = f" (backed by {', '.join(sp['support'])})" if sp["support"] else ""
            grade = f", **{sp['severity']}**" if sp.get("severity") else ""
            lines.append(f"- `{sp['text']}`{sug} [{sp['kind']}{grade}]{sup}: {md_text(sp['reason'])}")
        if s["repaired"]:
            lines += ["", f"Repaired: {md_text(s['repaired'])}"]
        for ref in s["references"]:
            lines.append(f"- reference ({ref['similarity']:.2f}, `{ref['source']}`): {md_text(ref['text'])}")
        sc = s["scores"]
        if sc.get("chrf") is not None:
            lines.append(
                f"- scores: chrF++ {sc['chrf']:.1f}, BLEU {sc['bleu']:.1f}, TER {sc['ter']:.1f}, semantic {sc['semantic']:.2f}, quality {sc['quality']:.2f}"
            )
        lines.append("")
    lines += ["---", "", f"Signature: `{report['signature']}`", ""]
    return "\n".join(lines)
