"""Reference-free features of an article and of each sentence, grouped by signal family.

The detector is a linear model over these, so every feature is a number a person can
read ("3 words per 100 are frequent in French and rare in English"), and every family can
be switched off to measure what it adds (the ablation table in the model card).

Families (prefix of each feature name):
- ``ngram``: phrase statistics: wordfreq Zipf of the words, and symspellpy's English bigram
  counts (is "rare land" a phrase English uses?).
- ``foreign``: leftovers of another language ("phase un"), foreign punctuation.
- ``literal``: literal-translation patterns: a female pronoun for a country or institution
  ("China could soften her export controls"), "the Thursday", ordinals where names belong, a day of
  the month with no month ("on the 10th", the way Chinese news dates events).
- ``style``: stylometry: function-word profile, sentence-length shape, punctuation,
  contractions, lexical variety.
- ``caps``: capitalisation oddities: "XI" beside "Xi", "her Export controls", "With" mid-sentence.
- ``peak``: each sentence-level ngram/foreign/literal/caps feature averaged over the article's three
  highest sentences: round-trip damage sits in a few sentences, and the article mean dilutes it.
- ``pos``: part-of-speech profile (spaCy's universal tags): the share of each word class and of the
  commonest tag pairs. Translation shifts both, human and machine translation alike but not in the
  same way (Volansky et al. 2015): a source language's syntax shows through in the tag sequence.
- ``lm``: SmolLM2 surprisal on a few sentences (optional: it is the costly family).
- ``wordchoice``: the learnt word-choice model's reading of the sentences; it lives in the detector
  (:mod:`mtaudit.stages.wordchoice`), which adds it to these.

All text is passed through :func:`mtaudit.text.normalise.normalise` first, in training and in
use alike, so typography (curly quotes, a space before "%") never decides.
"""

from __future__ import annotations

import hashlib
import math
import re
import statistics
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

from mtaudit.nlp import lm, registry
from mtaudit.text.lexicon import ORDINALS, Token, bigrams, stop_words, tokens, zipf
from mtaudit.text.normalise import normalise

FEATURE_VERSION = "6"
LM_FEATURE_VERSION = "4"  # the SmolLM2 sentence features last changed at v4: their cache outlives new article families
FAMILIES = ("ngram", "foreign", "literal", "style", "caps", "peak", "pos", "lm", "wordchoice")
PEAK_TOP = 3  # sentences the peak family averages over
FOREIGN_LANGS = ("fr", "es", "ca", "de", "it", "pt")

TOKEN = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*|\d+(?:[.,]\d+)*|[^\w\s]")
FOREIGN_PUNCT = re.compile(r"[«»¿¡„‚‹›，。、；：？！（）【】《》「」『』・\u3000]")
CONTRACTION = re.compile(r"\b\w+(?:n't|'re|'ve|'ll|'d|'m)\b", re.I)
MONTHS = {"january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"}
# "on the 10th" with no month: Chinese (Japanese, Korean) news date events by the day alone (10日), and MT
# keeps it; English news writes the weekday or "Dec. 10". Only a date's use counts: what follows is
# punctuation or a word that cannot start the noun an ordinal would qualify ("the 19th CPC", "the 17th century")
DAY_OF_MONTH = re.compile(r"\bthe \d{1,2}(?:st|nd|rd|th)\b(?=\s*(?:[.,;:)]|$|(?:that|and|to|of|at|in|as|is|was|when|with|for|"
                          r"this|last|next|local|morning|afternoon|evening|night)\b))")
WEEKDAYS = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
# Countries, capitals and institutions: English refers to them as "it"/"its" (or "they").
NON_PERSONS = {
    "china", "beijing", "washington", "america", "russia", "moscow", "japan", "tokyo", "india", "france", "paris",
    "germany", "berlin", "britain", "london", "italy", "spain", "canada", "mexico", "brazil", "iran", "israel",
    "ukraine", "taiwan", "europe", "korea", "pakistan", "turkey", "egypt", "australia", "singapore", "vietnam",
    "government", "ministry", "administration", "company", "agency", "party", "country", "nation", "state",
    "union", "commission", "council", "parliament", "congress", "court", "bank", "firm", "group",
    "committee", "department", "organisation", "organization", "city", "province", "army", "navy", "police",
}
FEMALE = {"she", "her", "hers", "herself"}
FEMALE_CUES = {"mrs", "ms", "miss", "woman", "women", "wife", "mother", "daughter", "sister", "girl", "lady", "queen",
               "actress", "herself", "chairwoman", "spokeswoman", "businesswoman", "madam", "she"}
# Function words in closed classes: their profile shifts under translation (Baroni and Bernardini 2006).
FUNCTION_WORDS = (
    "the", "of", "and", "to", "a", "in", "that", "is", "was", "for", "it", "with", "as", "on", "be", "at", "by",
    "which", "this", "had", "not", "are", "but", "from", "or", "have", "an", "they", "were", "their", "has", "been",
    "its", "will", "would", "who", "also", "said", "there", "we", "he", "she", "his", "her", "more", "than", "such",
    "so", "all", "about", "into", "after", "while", "since", "however", "between", "through", "both", "other",
)
# spaCy's universal part-of-speech tags, and the 60 commonest pairs of them in the training data of
# 2026-11-30 (``mtaudit make-data``, 1,912 articles; the rarest holds 0.4% of all pairs). Fixed here so
# that a feature is a function of the text alone, whatever data a model is trained on.
UPOS = ("ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN", "PUNCT", "SCONJ",
        "SYM", "VERB", "X")
POS_PAIRS = (
    "NOUN ADP", "DET NOUN", "NOUN PUNCT", "ADP DET", "ADJ NOUN", "PROPN PROPN", "NOUN NOUN", "VERB ADP", "ADP NOUN",
    "PROPN PUNCT", "ADP PROPN", "VERB DET", "DET ADJ", "AUX VERB", "PUNCT DET", "PUNCT PROPN", "NOUN VERB", "PART VERB",
    "NOUN AUX", "DET PROPN", "NOUN CCONJ", "NUM NOUN", "PUNCT NOUN", "VERB NOUN", "PROPN ADP", "PUNCT VERB",
    "PUNCT PUNCT", "PROPN VERB", "PRON AUX", "PRON VERB", "VERB PUNCT", "PUNCT PRON", "ADP ADJ", "PUNCT CCONJ",
    "PUNCT ADP", "PROPN NOUN", "NUM PUNCT", "ADP NUM", "VERB PRON", "PRON NOUN", "ADV VERB", "NOUN PART", "PROPN AUX",
    "ADP PRON", "CCONJ VERB", "CCONJ NOUN", "VERB PROPN", "VERB PART", "VERB ADJ", "AUX AUX", "PUNCT ADJ", "ADJ ADJ",
    "NOUN PROPN", "PUNCT NUM", "ADV PUNCT", "AUX DET", "ADJ PUNCT", "AUX ADV", "PUNCT ADV", "PROPN CCONJ",
)
# Romance and Germanic function words that English writes only as acronyms, if at all ("phase un").
FOREIGN_FUNCTION = {
    "un", "une", "des", "du", "les", "los", "las", "del", "et", "und", "der", "das", "avec", "pour", "dans", "est",
    "mais", "qui", "que", "por", "para", "della", "degli", "nicht", "ist", "sont", "cette", "aux", "una", "unos",
    "uno", "nel", "dei", "sul", "também", "não", "com", "muy", "pero", "sobre", "entre", "desde",
}
# Closed-class words that English capitalises only at a sentence start or in a title ("Last known conversation With XI").
FUNCTION_CAPS = {
    "with", "of", "and", "the", "for", "from", "to", "in", "on", "at", "by", "most", "who", "which", "that", "this",
    "these", "those", "his", "its", "their", "our", "after", "before", "about", "against", "between", "into", "through",
    "during", "without", "within", "or", "but", "as", "than", "also", "has", "have", "had", "was", "were", "is", "are",
    "be", "been", "it", "they", "he", "she", "we", "there", "when", "while", "since", "because", "not", "more",
}
ACRONYM_OK = {"us", "uk", "eu", "un", "ai", "ceo", "gdp", "nato", "usa", "ok", "tv", "it"}


@lru_cache(maxsize=16_384)
def foreign_gap(word: str) -> tuple[float, str]:
    """How much more common a word is in its likeliest other language than in English (Zipf points)."""
    best, lang = max((zipf(word, lang), lang) for lang in FOREIGN_LANGS)
    return best - zipf(word), lang


def is_leftover(tok: Token) -> tuple[bool, str]:
    """A lowercase word much more common in another language than in English ("un", "des")."""
    w = tok.plain
    if not tok.text.islower() or len(w) < 2:
        return False, ""
    gap, lang = foreign_gap(w)
    if w in FOREIGN_FUNCTION and gap >= 1.5:
        return True, lang
    if zipf(w) < 1.5 and gap >= 2.5 and len(w) >= 4:
        return True, lang
    return False, ""


def female_for_thing(toks: list[Token]) -> list[tuple[int, int]]:
    """(entity index, pronoun index) pairs: a female pronoun whose nearest antecedent is a country or institution."""
    out = []
    lowers = [t.plain for t in toks]
    if any(w in FEMALE_CUES - FEMALE for w in lowers):
        return out
    for j, w in enumerate(lowers):
        if w not in FEMALE:
            continue
        for i in range(j - 1, max(j - 12, -1), -1):
            if toks[i].text[:1].isupper() and lowers[i] not in NON_PERSONS and i > 0 and zipf(lowers[i]) < 4.5:
                break  # a person's name may stand nearer
            if lowers[i] in NON_PERSONS:
                out.append((i, j))
                break
    return out


def caps_oddities(toks: list[Token], text: str, article_forms: set[str]) -> list[tuple[int, str]]:
    """(token index, kind): "XI" where the article also writes "Xi"; a common word capitalised mid-sentence."""
    out: list[tuple[int, str]] = []
    if not toks:
        return out
    capital_share = sum(t.text[:1].isupper() for t in toks) / len(toks)
    if capital_share > 0.5:
        return out  # a headline in title case or capitals
    upper_share = sum(t.text.isupper() and len(t.text) > 1 for t in toks) / len(toks)
    for i, t in enumerate(toks):
        if i == 0:
            continue
        before = text[toks[i - 1].end : t.start]
        if any(ch in before for ch in ".:;!?\"'“‘(—–-"):
            continue  # after a colon, a quote or a dash a capital is regular
        if t.text.isupper() and len(t.text) > 1 and upper_share <= 0.2:
            run = any(toks[j].text.isupper() and len(toks[j].text) > 1 for j in (i - 1, i + 1) if 0 <= j < len(toks))
            if not run and t.text.title() in article_forms and t.plain not in ACRONYM_OK:
                out.append((i, "all_caps_name"))
            continue
        if not t.text[:1].isupper() or t.text.isupper():
            continue
        prev_cap = toks[i - 1].text[:1].isupper()
        next_cap = i + 1 < len(toks) and toks[i + 1].text[:1].isupper() and text[t.end : toks[i + 1].start] == " "
        known_lower = t.plain in article_forms  # the article itself writes this word in lower case elsewhere
        if t.plain in FUNCTION_CAPS and not prev_cap and known_lower:
            out.append((i, "capital_function_word"))
        elif known_lower and not prev_cap and not next_cap and zipf(t.plain) >= 3.5 and t.plain not in WEEKDAYS | MONTHS:
            out.append((i, "capital_common_word"))
    return out


def sentence_features(text: str, article_forms: set[str] | None = None) -> dict[str, float]:
    """Cheap features of one sentence (normalised first). Counts are per word so lengths compare."""
    text = normalise(text)
    toks = tokens(text)
    n = max(len(toks), 1)
    lowers = [t.plain for t in toks]
    stops = stop_words()
    f: dict[str, float] = {}
    # ngram: word and phrase frequencies
    content = [t for t in toks if t.plain not in stops]
    zs = [zipf(t.plain) for t in content] or [0.0]
    lower_content = [t for t in content if t.text.islower()]
    f["ngram.mean_zipf"] = statistics.fmean(zs)
    f["ngram.rare_share"] = sum(z < 1.0 for z in zs) / n
    f["ngram.rare_lower_share"] = sum(zipf(t.plain) < 2.5 for t in lower_content) / n
    table = bigrams()
    pairs = [(a.plain, b.plain) for a, b in zip(toks, toks[1:]) if text[a.end : b.start] == " " and a.text.islower() and b.text.islower()]
    frequent = [(a, b) for a, b in pairs if zipf(a) >= 4.0 and zipf(b) >= 4.0]
    f["ngram.unseen_frequent_pairs"] = sum((p not in table) for p in frequent) / max(len(frequent), 1)
    content_pairs = [(a, b) for a, b in pairs if a not in stops and b not in stops]
    pmis = [math.log10(table.get((a, b), 1) + 1) - (zipf(a) + zipf(b)) / 2 for a, b in content_pairs]
    f["ngram.content_pair_pmi"] = statistics.fmean(pmis) if pmis else 0.0
    f["ngram.content_pairs_unseen"] = sum((p not in table) for p in content_pairs) / n
    # foreign leftovers
    f["foreign.leftovers"] = sum(is_leftover(t)[0] for t in toks) / n
    f["foreign.punct"] = len(FOREIGN_PUNCT.findall(text)) / n
    f["foreign.non_ascii_letters"] = sum(1 for ch in text if ch.isalpha() and ord(ch) > 127) / max(len(text), 1)
    # literal-translation patterns
    f["literal.female_for_thing"] = float(len(female_for_thing(toks)))
    f["literal.article_weekday"] = float(sum(a == "the" and b in WEEKDAYS for a, b in zip(lowers, lowers[1:])))
    f["literal.ordinal_alone"] = float(sum(
        a == "the" and b in ORDINALS and (c in stops or c in {"of"}) for a, b, c in zip(lowers, lowers[1:], lowers[2:])
    ))
    f["literal.day_of_month"] = float(len(DAY_OF_MONTH.findall(text)))
    f["literal.who_for_thing"] = float(sum(a in NON_PERSONS and b == "who" for a, b in zip(lowers, lowers[1:])))
    f["literal.of_the"] = sum(a == "of" and b == "the" for a, b in zip(lowers, lowers[1:])) / n
    f["literal.which_is"] = sum(a in {"which", "who"} and b in {"is", "was", "are", "were", "has", "have"} for a, b in zip(lowers, lowers[1:])) / n
    # style
    f["style.words"] = float(len(toks))
    f["style.commas"] = text.count(",") / n
    f["style.quotes"] = float(text.count('"') > 0)
    f["style.contractions"] = len(CONTRACTION.findall(text)) / n
    f["style.said"] = sum(w in {"said", "says", "told"} for w in lowers) / n
    f["style.digits"] = len(re.findall(r"\d+", text)) / n
    f["style.parens"] = text.count("(") / n
    f["style.capitalised_share"] = sum(t.text[:1].isupper() for t in toks[1:]) / n
    # capitalisation oddities
    odd = caps_oddities(toks, text, article_forms or set())
    f["caps.all_caps_name"] = float(sum(k == "all_caps_name" for _, k in odd))
    f["caps.capital_function_word"] = float(sum(k == "capital_function_word" for _, k in odd))
    f["caps.capital_common_word"] = float(sum(k == "capital_common_word" for _, k in odd))
    return f


def title_forms(sentences: Iterable[str]) -> set[str]:
    """Title-case words the article writes somewhere: "Xi" makes a later "XI" odd."""
    forms: set[str] = set()
    for s in sentences:
        for t in tokens(normalise(s)):
            if t.text[:1].isupper() and not t.text.isupper():
                forms.add(t.text)
            elif t.text.islower():
                forms.add(t.plain)
    return forms


def lm_sentence_features(nats: list[float], offsets: list[tuple[int, int]], text: str) -> dict[str, float]:
    """Surprisal shape of one sentence: mean, peak, share of spikes, peak on a lowercase content word."""
    if not nats:
        return {"lm.mean": 0.0, "lm.max": 0.0, "lm.spike_share": 0.0, "lm.content_peak": 0.0, "lm.p90": 0.0}
    ordered = sorted(nats)
    content_peak = 0.0
    stops = stop_words()
    for (a, b), v in zip(offsets, nats):
        piece = text[a:b].strip()
        if piece.isalpha() and piece.islower() and piece not in stops and len(piece) > 2 and (a == 0 or text[a - 1] == " "):
            content_peak = max(content_peak, v)
    return {
        "lm.mean": statistics.fmean(nats),
        "lm.max": ordered[-1],
        "lm.p90": ordered[int(0.9 * (len(ordered) - 1))],
        "lm.spike_share": sum(v > 10.0 for v in nats) / len(nats),
        "lm.content_peak": content_peak,
    }


def pick_lm_sentences(sentences: list[str], k: int) -> list[int]:
    """Which sentences the LM reads when it cannot read them all: the ones with the most unusual words.

    Deterministic, so training and use pick alike; ties go to the earlier sentence.
    """
    if k <= 0:
        return []
    scored = []
    for i, s in enumerate(sentences):
        toks = tokens(s)
        if len(toks) < 4:
            continue
        odd = sum(zipf(t.plain) < 3.0 for t in toks) + 2 * sum(is_leftover(t)[0] for t in toks)
        scored.append((-odd / math.sqrt(len(toks)), i))
    return sorted(i for _, i in sorted(scored)[:k])


def sentence_rows(sentences: list[str]) -> list[dict[str, float]]:
    """Features of every sentence, each knowing the article's own spellings ("Xi" makes "XI" odd)."""
    norm = [normalise(s) for s in sentences if s.strip()]
    forms = title_forms(norm)
    return [sentence_features(s, forms) for s in norm]


def article_features(sentences: list[str], lm_rows: dict[int, dict[str, float]] | None = None,
                     rows: list[dict[str, float]] | None = None) -> dict[str, float]:
    """Article vector: sentence features averaged (and their peaks), plus article-only stylometry."""
    norm = [normalise(s) for s in sentences if s.strip()]
    rows = (rows if rows is not None else sentence_rows(sentences)) or [sentence_features("")]
    f: dict[str, float] = {}
    for key in rows[0]:
        vals = [r[key] for r in rows]
        if key.startswith(("ngram.", "foreign.", "style.")) and key != "style.words":
            f[key] = statistics.fmean(vals)
    for key in ("literal.female_for_thing", "literal.article_weekday", "literal.ordinal_alone", "literal.who_for_thing",
                "literal.day_of_month",
                "caps.all_caps_name", "caps.capital_function_word", "caps.capital_common_word"):
        f[key] = 10.0 * sum(r[key] for r in rows) / len(rows)  # per ten sentences
    for key in ("literal.of_the", "literal.which_is"):
        f[key] = statistics.fmean(r[key] for r in rows)
    for key in rows[0]:
        if key.startswith(("ngram.", "foreign.", "literal.", "caps.")):
            top = sorted((r[key] for r in rows), reverse=True)[:PEAK_TOP]
            f[f"peak.{key}"] = statistics.fmean(top)
    f["ngram.rare_peak"] = max(r["ngram.rare_lower_share"] for r in rows)
    f["foreign.any_leftover"] = float(any(r["foreign.leftovers"] > 0 for r in rows))
    lengths = [r["style.words"] for r in rows]
    f["style.len_mean"] = statistics.fmean(lengths)
    f["style.len_cv"] = statistics.pstdev(lengths) / max(f["style.len_mean"], 1.0)
    f["style.long_share"] = sum(v > 40 for v in lengths) / len(lengths)
    f["style.short_share"] = sum(v < 8 for v in lengths) / len(lengths)
    all_words = [t.plain for s in norm for t in tokens(s)]
    f["style.mattr"] = mattr(all_words)
    counts = Counter(all_words)
    total = max(len(all_words), 1)
    for w in FUNCTION_WORDS:
        f[f"style.fw.{w}"] = counts[w] / total
    f.update(pos_features(pos_tags(norm)))
    lm_rows = lm_rows or {}
    if lm_rows:
        vals = list(lm_rows.values())
        for key in vals[0]:
            f[f"{key}"] = statistics.fmean(v[key] for v in vals)
        f["lm.max_peak"] = max(v["lm.max"] for v in vals)
        f["lm.content_peak_max"] = max(v["lm.content_peak"] for v in vals)
    else:
        for key in ("lm.mean", "lm.max", "lm.p90", "lm.spike_share", "lm.content_peak", "lm.max_peak", "lm.content_peak_max"):
            f[key] = math.nan  # not computed: the model imputes its training mean, so it adds nothing
    return f


def pos_tags(sentences: list[str]) -> list[list[str]]:
    """Universal part-of-speech tags of each sentence, from the spaCy pipeline the registry loads for NER."""
    nlp = registry.get("ner")
    keep = [n for n in ("tok2vec", "tagger", "attribute_ruler") if n in nlp.pipe_names]
    with nlp.select_pipes(enable=keep):
        return [[t.pos_ for t in doc if not t.is_space] for doc in nlp.pipe(sentences, batch_size=64)]


def pos_features(tags: list[list[str]]) -> dict[str, float]:
    """Share of each tag among all tokens, and of each common tag pair among the pairs inside sentences."""
    singles = Counter(t for sent in tags for t in sent)
    pairs = Counter(f"{a} {b}" for sent in tags for a, b in zip(sent, sent[1:]))
    n_single, n_pair = max(sum(singles.values()), 1), max(sum(pairs.values()), 1)
    f = {f"pos.{t}": singles[t] / n_single for t in UPOS}
    f.update({f"pos.{p.replace(' ', '_')}": pairs[p] / n_pair for p in POS_PAIRS})
    return f


def mattr(tokens: list[str], window: int = 50) -> float:
    """Moving-average type-token ratio: lexical variety that does not fall with length."""
    if len(tokens) <= window:
        return len(set(tokens)) / max(len(tokens), 1)
    counts = Counter(tokens[:window])
    ratios = [len(counts)]
    for i in range(window, len(tokens)):
        counts[tokens[i]] += 1
        old = tokens[i - window]
        counts[old] -= 1
        if counts[old] == 0:
            del counts[old]
        ratios.append(len(counts))
    return statistics.fmean(ratios) / window


def family(name: str) -> str:
    return name.split(".", 1)[0]


def lm_features(sentences: list[str], k: int, settings: object) -> dict[int, dict[str, float]]:
    """SmolLM2 surprisal features for the k sentences :func:`pick_lm_sentences` chooses (batched)."""
    idx = pick_lm_sentences(sentences, k)
    return dict(zip(idx, lm_rows([sentences[i] for i in idx], settings)))


def lm_rows(sentences: list[str], settings: object) -> list[dict[str, float]]:
    """SmolLM2 surprisal features of each sentence (its first 48 words), in one batched pass."""
    if not sentences:
        return []
    texts = [" ".join(normalise(s).split()[:48]) for s in sentences]
    return [lm_sentence_features(r.nats, r.offsets, r.text) for r in lm.surprisal(texts, settings)]  # type: ignore[arg-type]


def cache_key(text: str, lm_k: int, version: str = FEATURE_VERSION) -> str:
    """Per-text features on disk are keyed by a hash of the text, the feature version and the LM budget."""
    return hashlib.sha256(f"{version}|lm{lm_k}|{text}".encode()).hexdigest()[:24]
