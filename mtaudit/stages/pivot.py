"""Which language a machine translation went through, where the evidence allows a guess.

Three kinds of trace are told apart:
- Romance (and German) traces: words of that language left in the English ("phase un"),
  false friends that only make sense through it ("Asset" for Trump: French *atout* is
  both "trump card" and "asset"), and a female pronoun for a country (*la Chine* -> "her");
- Arabic-style name mangling: names respelled the way Arabic script forces them, with no
  /p/ ("Pete" -> "Beit"), /e/ and /i/ merged ("Hegseth" -> "Higseth", "Merz" -> "Mirz"),
  "x" read as "sh" ("Xinhua" -> "Shinchoa"); seen by comparing a garbled name with the
  spelling the other outlets use (the name_mismatch spans), and, more weakly, by several
  names no dictionary knows with no Romance trace beside them;
- Chinese (or Japanese, Korean) dating: an event dated by the day of the month alone ("said on the
  10th that"), the way their news writes 10日, and Chinese news phrasing kept word for word ("relevant
  departments", "(Reporter Gao Wencheng)"); two such traces are needed for a guess.

The result is a language code with a confidence and the evidence, or None.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from mtaudit.stages import features as feats
from mtaudit.stages import signals
from mtaudit.text import lexicon

# A name read as a word through one language: the word English shows -> (language, how).
FALSE_FRIENDS: dict[str, tuple[str, str]] = {
    "asset": ("fr", "Trump -> French 'atout' (trump card; asset) -> 'Asset'"),
    "triumph": ("es", "Trump -> Spanish 'triunfo' (trump card; triumph) -> 'Triumph'"),
    "triunfo": ("es", "Trump -> Spanish 'triunfo' left untranslated"),
    "atout": ("fr", "Trump -> French 'atout' left untranslated"),
    "trunfo": ("pt", "Trump -> Portuguese 'trunfo' left untranslated"),
}
ARABIC_RULES = (
    ("p", "b", "no /p/ in Arabic"),
    ("v", "f", "no /v/ in Arabic"),
    ("e", "i", "Arabic writes /e/ and /i/ alike"),
    ("o", "u", "Arabic writes /o/ and /u/ alike"),
    ("x", "sh", "'x' read as 'sh' (Xinhua)"),
    ("g", "j", "'g' read as 'j'"),
)


@dataclass
class Guess:
    language: str | None
    confidence: float | None
    evidence: list[str] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)


def _fold(s: str) -> str:
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode().lower()


def arabic_mangling(wrong: str, right: str) -> list[str]:
    """The Arabic-script rules that explain how ``right`` became ``wrong`` ("Beit Higseth" <- "Pete Hegseth")."""
    w, r = _fold(wrong), _fold(right)
    found = []
    for a, b, why in ARABIC_RULES:
        if a in r and b in w and r.replace(a, b) != r and (a not in w or w.count(b) > r.count(b)):
            found.append(why)
    return found


def _credit_languages(score: defaultdict[str, float], word: str) -> list[str]:
    """The other languages ``word`` is most common in (within 0.3 Zipf of the likeliest; none that no list knows), each
    credited with an equal share of one point in ``score``."""
    zs = {lang: lexicon.zipf(word, lang) for lang in feats.FOREIGN_LANGS}
    top = max(zs.values())
    near = [lang for lang, z in zs.items() if z > 0 and z >= top - 0.3]
    for lang in near:
        score[lang] += 1.0 / len(near)
    return near


def guess(spans: list[dict[str, Any]], sentences: list[str], features: dict[str, float] | None = None) -> Guess:
    """Weigh the traces in an article's spans and text; a language when one clearly leads.

    ``spans`` are report-style span dicts (kind, text, suggestion); ``sentences`` the text.
    """

    score: defaultdict[str, float] = defaultdict(float)
    evidence: list[str] = []
    leftovers: Counter[str] = Counter()
    for sent in sentences:
        for tok in lexicon.tokens(sent):
            hit, _ = feats.is_leftover(tok)
            if hit:
                near = _credit_languages(score, tok.plain)
                leftovers[tok.text] += 1
                evidence.append(f"{tok.text!r} left untranslated: a word of {'/'.join(near)}")
            friend = FALSE_FRIENDS.get(tok.plain)
            if friend and tok.text[:1].isupper():
                score[friend[0]] += 2.0
                evidence.append(f"{tok.text!r}: {friend[1]}")
    for sp in spans:
        kind = sp.get("kind")
        if kind == "pronoun_gender":
            for lang in ("fr", "es", "it", "pt", "ca", "ar"):
                score[lang] += 0.2
            evidence.append(f"{sp['text']!r} for a country: a language with grammatical gender")
        if kind == "day_of_month":
            score["zh"] += 0.5
            evidence.append(f"{sp['text']!r} for a date: a day of the month with no month, as Chinese news writes 10日")
        if kind == "calque":
            score["zh"] += 0.5
            evidence.append(f"{sp['text']!r}: Chinese news phrasing kept word for word")
        if kind == "foreign_leftover" and (glued := signals.FUSED_LEFTOVER.fullmatch(sp.get("text", ""))):
            word = (glued["years"] or glued["month"]).lower()  # "actrizde33años" -> "años"
            if near := _credit_languages(score, word):
                evidence.append(f"{sp['text']!r}: a phrase of {'/'.join(near)} glued into one word ({word!r})")
        if kind == "romance_calque":
            langs = signals.romance_languages(sp.get("text", ""))
            for lang in langs:
                score[lang] += 0.5 / len(langs)
            evidence.append(f"{sp['text']!r}: a Romance construction kept word for word ({', '.join(langs)})")
        if kind == "name_mismatch" and sp.get("suggestion"):
            rules = arabic_mangling(sp["text"], sp["suggestion"])
            if rules:
                score["ar"] += 0.75 * len(rules)
                evidence.append(f"{sp['text']!r} for {sp['suggestion']!r}: {'; '.join(rules)}")
    unknown_names = {sp["text"] for sp in spans if sp.get("kind") == "rare_word" and re.match(r"[A-Z]", sp.get("text", ""))}
    romance = sum(v for k, v in score.items() if k not in ("ar", "zh"))
    if len(unknown_names) >= 3 and romance == 0:
        score["ar"] += 0.5
        evidence.append(f"{len(unknown_names)} names no dictionary knows and no Romance trace: a non-Latin script pivot, "
                        "Arabic-style (weak)")
    if not score:
        return Guess(None, None, [], {})
    ranked = sorted(score.items(), key=lambda kv: -kv[1])
    best, top = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    if top < 1.0 or top - second < 0.5:
        return Guess(None, None, evidence, dict(score))
    confidence = round(min(0.95, (top - second) / (top + 1.0)), 3)
    return Guess(best, confidence, evidence, dict(score))
