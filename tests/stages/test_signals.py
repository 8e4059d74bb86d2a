"""Table tests for the reference-free signals and features, on real sentences from the seeds."""

from __future__ import annotations

from typing import Any

import pytest

from mtaudit.base.settings import Settings
from mtaudit.stages import detect, features, ingest, pivot, reference, signals
from mtaudit.stages.signals import Context, StoryIndex
from mtaudit.text import lexicon
from tests.conftest import SEEDS


def seed_article(prefix: str) -> Any:
    path = next(SEEDS.glob(f"{prefix}_*.txt"))
    article, _ = ingest.parse(path.read_text(encoding="utf-8"), path.name, Settings())
    assert article is not None
    return article


def spans_in(article: Any, fn: Any, needle: str) -> list[Any]:
    """Run one signal alone on the sentence holding ``needle``, with no other coverage."""
    sent = next(s for s in article.sentences if needle in s.text)
    return fn(Context(article, sent, [], StoryIndex(), Settings()))


@pytest.mark.parametrize(
    "fn,needle,span_text,suggestion",
    [
        (signals.foreign_leftover, "phase un", "un", None),
        (signals.pronoun_gender, "soften her Export", "her", "its"),
        (signals.capitalisation, "Last known conversation With XI", "With", "with"),
        (signals.capitalisation, "Last known conversation With XI", "XI", "Xi"),
        (signals.capitalisation, "Most of those who have promised", "Most", "most"),
    ],
)
def test_signal_finds_the_damage_in_002(fn: Any, needle: str, span_text: str, suggestion: str | None) -> None:
    article = seed_article("002")
    spans = spans_in(article, fn, needle)
    hit = [s for s in spans if s.text == span_text]
    assert hit, f"{fn.__name__} found {[s.text for s in spans]} in the sentence with {needle!r}"
    assert hit[0].suggestion == suggestion
    assert hit[0].reason
    assert article.text[hit[0].start : hit[0].end] == span_text


@pytest.mark.parametrize("prefix", ["001", "003", "004"])
@pytest.mark.parametrize("fn", [signals.foreign_leftover, signals.pronoun_gender, signals.day_of_month, signals.calque,
                                signals.romance_calque, signals.capitalisation])
def test_reference_free_signals_quiet_on_original_english(prefix: str, fn: Any) -> None:
    article = seed_article(prefix)
    found = [s.text for sent in article.sentences for s in fn(Context(article, sent, [], StoryIndex(), Settings()))]
    assert found == []


@pytest.mark.parametrize(("text", "found"), [
    ("The singer's rep told People.com on Tuesday that she was fine.", []),  # ECB+ originals: an address, not Catalan
    ("The story was first reported by TMZ. com, California news site.", []),
    ("Write to news@latimes.com or see articles.latimes.com/2013/may for more.", []),
    ("The ministers signed the phase un agreement in Geneva.", ["un"]),  # seed 002's leftover still found
])
def test_foreign_leftover_skips_addresses(text: str, found: list[str]) -> None:
    article, _ = ingest.parse(text, "t.txt", Settings(min_words=5))
    assert article is not None
    spans = [s.text for sent in article.sentences for s in signals.foreign_leftover(Context(article, sent, [], StoryIndex(), Settings()))]
    assert spans == found


@pytest.mark.parametrize(
    "word,expected,lang",
    [("un", True, {"fr", "es", "ca", "it"}), ("des", True, {"fr"}), ("the", False, None), ("export", False, None),
     ("Xinhua", False, None)],
)
def test_leftover_words(word: str, expected: bool, lang: set[str] | None) -> None:
    hit, found = features.is_leftover(lexicon.Token(0, len(word), word))
    assert hit is expected
    if lang:
        assert found in lang


@pytest.mark.parametrize(
    "sentence,pairs",
    [
        ("Trump also suggested that China could soften her export controls.", [("China", "her")]),
        ("The ministry said she would resign, the woman told reporters.", []),  # a woman in the sentence: no claim
        ("Merkel said her government would act.", []),  # a person's name stands nearer
        ("China said its export controls would stay.", []),
    ],
)
def test_female_pronoun_for_a_country(sentence: str, pairs: list[tuple[str, str]]) -> None:
    toks = lexicon.tokens(sentence)
    assert [(toks[i].text, toks[j].text) for i, j in features.female_for_thing(toks)] == pairs


@pytest.mark.parametrize(
    "sentence,found",
    [
        # WMT22 zh-en MT (Online-W, xinhua-zh-01.104086) and variants of it: dates by the day alone
        ("Mauritius reported for the first time two cases of Omicron strain infection in the country on the 10th.",
         ["the 10th"]),
        ("The Ministry of Health of Cyprus announced on the 10th that three cases had been confirmed.", ["the 10th"]),
        ("Talks resumed on the 9th and ended on the 23rd, the agency said.", ["the 9th", "the 23rd"]),
        # ordinals that qualify a noun are English: no date there
        ("The 19th CPC Central Committee met in Beijing.", []),
        ("The church dates from the 17th century.", []),
        ("He was shot outside the 67th precinct on Friday.", []),
        ("She scored in the 43rd minute.", []),
        ("The talks resumed on Dec. 10 in Vienna.", []),
    ],
)
def test_day_of_month_without_a_month(sentence: str, found: list[str]) -> None:
    assert features.DAY_OF_MONTH.findall(sentence) == found
    assert features.sentence_features(sentence)["literal.day_of_month"] == len(found)
    article = _one_sentence("d", sentence)
    spans = signals.day_of_month(Context(article, article.sentences[0], [], StoryIndex(), Settings()))
    assert [(sp.text, sp.kind) for sp in spans] == [(t, "day_of_month") for t in found]
    assert all(sentence[sp.start : sp.end] == sp.text and "no month" in sp.reason for sp in spans)


def test_pivot_guess_chinese_from_dates_by_the_day() -> None:
    spans = [{"kind": "day_of_month", "text": "the 10th"}, {"kind": "day_of_month", "text": "the 11th"}]
    g = pivot.guess(spans, ["Cyprus announced on the 10th that three cases were confirmed."])
    assert g.language == "zh" and g.confidence is not None and 0 < g.confidence < 1
    assert any("10日" in e for e in g.evidence)
    assert pivot.guess(spans[:1], ["Cyprus announced on the 10th that three cases were confirmed."]).language is None


@pytest.mark.parametrize(
    "sentence,found",
    [
        # WMT22 zh-en MT (xinhua-zh-01.103929): the dateline's reporter credit and 有关方面
        ("Xinhua News Agency, Tehran, December 11 (Reporter Gao Wencheng, Wang Shoubao) Iranian President Raisi said on the 11th "
         "that a good agreement can be reached.", ["(Reporter Gao Wencheng, Wang Shoubao)"]),
        ("Iran had submitted proposals to other relevant parties in the Iranian nuclear deal.", ["relevant parties"]),
        ("Relevant departments will carry out inspections and serve the masses.", ["Relevant departments", "the masses"]),
        ("The photo caused a heated discussion among netizens.", ["netizens"]),
        # English news: the same words in other roles
        ("The court found the evidence relevant to the case.", []),
        ("The relevant question is who pays.", []),
        ("The reporter (right) asked the minister about the masses of refugees.", []),
        ("The talks (Reuters reported) resumed in Vienna.", []),
    ],
)
def test_chinese_news_phrasing_kept_word_for_word(sentence: str, found: list[str]) -> None:
    article = _one_sentence("c", sentence)
    spans = signals.calque(Context(article, article.sentences[0], [], StoryIndex(), Settings()))
    assert [sp.text for sp in sorted(spans, key=lambda sp: sp.start)] == found
    assert all(sentence[sp.start : sp.end] == sp.text and sp.kind == "calque" and "word for word" in sp.reason for sp in spans)
    assert all(sp.weight == (0.15 if "netizen" in sp.text else 0.3) for sp in spans)  # English China coverage says netizens too


@pytest.mark.parametrize(
    "sentence,found",
    [
        # Apertium round trips of ECB+ articles (the detector's training side): each construction of ROMANCE_CALQUES,
        # with the English it suggests (None: no sure fix)
        ("Mothers cancelled only months before the his wedding.", [("the his", "his")]),
        ("John Jenkin, 23, was arrested tomorrow of Saturday after police found two dead women in a house.",
         [("tomorrow of Saturday", "Saturday morning")]),
        ("The actress, 26, checked in night of late Thursday, reports of TMZ.", [("night of late", None)]),
        ("Lohan checked out morning of Thursday of Centre of Recovery.", [("morning of Thursday", "Thursday morning")]),
        ("The Red Sox made the offer at Friday, a report said.", [("at Friday", "on Friday")]),
        ("The dozens gathered to remember of 16 years Kimani Grey.", [("of 16 years Kimani", "16-year-old Kimani")]),
        ("Published: April 16, 2013 9: 09 I AM", [("9: 09 I AM", "9:09 a.m.")]),
        ("The two men were charged with murder of degree in the death of the mother.", [("murder of degree", None)]),
        ("He faces murder of second degree.", [("murder of second degree", "second-degree murder")]),
        # English news: the same words in other roles
        ("He said that his family was safe and that their house stood.", []),
        ("Harrison did not play in Thursday night's 31-24 win over Jacksonville.", []),
        ("The vote comes at Sunday's meeting, on the morning of the election.", []),
        ("Tornadoes struck from the evening of Friday the 10th through the next day.", []),  # WMT22 ja-en human
        ("He served a sentence of 20 years in prison, police said at 9:09 a.m.", []),
        ("I am sure the charge is first-degree murder, she said.", []),
    ],
)
def test_romance_constructions_kept_word_for_word(sentence: str, found: list[tuple[str, str | None]]) -> None:
    article = _one_sentence("r", sentence)
    spans = signals.romance_calque(Context(article, article.sentences[0], [], StoryIndex(), Settings()))
    assert [(sp.text, sp.suggestion) for sp in sorted(spans, key=lambda sp: sp.start)] == found
    assert all(sentence[sp.start : sp.end] == sp.text and sp.kind == "romance_calque" and "word for word" in sp.reason
               and sp.weight >= detect.CHECKABLE_WEIGHT and not sp.support for sp in spans)  # checkable, backed by no outlet


@pytest.mark.parametrize(("text", "found"), [
    ("The actrizde33años rep Jack Ketsoyan told the magazine.", ["actrizde33años"]),  # Spanish round trip
    ("15 dedesembre of 2008 at 1: 00pm CST", ["dedesembre"]),  # Catalan round trip
    ("The disease is neurodegenerative, and it degenerates in December.", []),  # de + "gener" inside English words
])
def test_foreign_leftover_glued_phrases(text: str, found: list[str]) -> None:
    article = _one_sentence("g", text)
    ctx = Context(article, article.sentences[0], [], StoryIndex(), Settings())
    spans = signals.foreign_leftover(ctx)
    assert [sp.text for sp in spans] == found
    assert all(sp.kind == "foreign_leftover" and sp.weight >= detect.CHECKABLE_WEIGHT for sp in spans)
    together = signals.run_all(ctx, second_opinion=False)  # rare_word runs first and would take the glued word
    assert [sp.kind for sp in together if sp.text in found] == ["foreign_leftover"] * len(found)


def test_pivot_guess_romance_from_constructions() -> None:
    """The constructions point to the languages that have them, and only together with other evidence to one."""
    spans = [{"kind": "romance_calque", "text": "the his"}, {"kind": "romance_calque", "text": "the her"},
             {"kind": "romance_calque", "text": "the their"}]
    g = pivot.guess(spans, ["Mothers cancelled only months before the his wedding."])
    assert any("Romance construction" in e for e in g.evidence)
    assert g.scores["ca"] == g.scores["pt"] == g.scores["it"] > 0 and "zh" not in g.scores
    assert g.language is None  # the construction is Catalan, Portuguese or Italian alike: no one language is named


def test_pivot_guess_chinese_from_phrasing_and_dates() -> None:
    spans = [{"kind": "calque", "text": "relevant departments"}, {"kind": "day_of_month", "text": "the 10th"}]
    g = pivot.guess(spans, ["Relevant departments said on the 10th that the work went well."])
    assert g.language == "zh" and any("word for word" in e for e in g.evidence)


def test_phrase_statistics_see_a_broken_collocation() -> None:
    good = features.sentence_features("Beijing eased export controls on rare earth magnets.")
    bad = features.sentence_features("Beijing eased export controls on rare land magnets.")
    assert bad["ngram.content_pair_pmi"] < good["ngram.content_pair_pmi"]


def test_style_features_describe_sentence_shape() -> None:
    f = features.article_features(["One short sentence here.", "Another sentence that is a good deal longer than the first one was."])
    assert f["style.len_mean"] == pytest.approx(8.5)  # 4 and 13 words
    assert 0 < f["style.len_cv"] < 1
    assert f["style.fw.the"] > 0
    assert f["lm.mean"] != f["lm.mean"]  # NaN: the LM family was not computed


def test_typography_is_normalised_before_features() -> None:
    curly = features.sentence_features("He said “it’s 145 %” today.")
    straight = features.sentence_features('He said "it\'s 145%" today.')
    assert curly == straight


def test_pick_lm_sentences_prefers_unusual_words() -> None:
    sents = ["The cat sat on the mat today.", "Fredchich Mirz met Beit Higseth in Singaport.", "It was a fine day for all."]
    assert features.pick_lm_sentences(sents, 1) == [1]


@pytest.mark.slow
def test_lm_spike_second_opinion_on_002() -> None:
    """The LM reads a sentence other evidence points at and names its least likely word."""
    article = seed_article("002")
    sent = next(s for s in article.sentences if "Asset burden" in s.text)
    spans = signals.lm_spike(Context(article, sent, [], StoryIndex(), Settings(device="cpu")))
    assert len(spans) == 1 and spans[0].kind == "lm_spike" and "nats" in spans[0].reason
    assert spans[0].weight < 0.5


@pytest.mark.slow
def test_second_opinions_read_the_first_flagged_sentences_of_each_article_in_one_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """The LM reads, in one call for both articles, the first LM_SPIKE_SENTENCES (2) sentences the other spans flag:
    no unflagged sentence, none past the budget, and an article's reading does not depend on what was read before."""
    settings = Settings(device="cpu")
    calls: list[list[str]] = []
    real = signals.spikes
    monkeypatch.setattr(signals, "spikes", lambda ctxs: calls.append([c.sentence.text for c in ctxs]) or real(ctxs))
    articles = [seed_article("002"), seed_article("001")]
    found = [[(ctx := Context(a, s, [], StoryIndex(), settings), signals.run_all(ctx, second_opinion=False)) for s in a.sentences]
             for a in articles]
    flagged = [[ctx.sentence.text for ctx, spans in sents if signals._flags(spans, settings)] for sents in found]
    assert len(flagged[0]) > 2 and flagged[1] == []  # 002's slips flag sentences; the original 001 has none flagged
    out = signals.second_opinions(found)
    assert signals.LM_SPIKE_SENTENCES == 2 and calls == [flagged[0][:2]]
    added = [sp for spans, (_, before) in zip(out[0], found[0]) for sp in spans if sp not in before]
    assert added and {sp.kind for sp in added} == {"lm_spike"}
    assert out[1] == [spans for _, spans in found[1]]
    assert signals.second_opinions(found) == out  # a second audit of the same articles reads the same sentences


def test_pivot_guess_french_for_002() -> None:
    article = seed_article("002")
    g = pivot.guess([], [s.text for s in article.sentences])
    assert g.language == "fr"
    assert g.confidence is not None and 0 < g.confidence < 1
    assert any("Asset" in e for e in g.evidence)


def test_pivot_guess_arabic_from_name_mangling() -> None:
    spans = [
        {"kind": "name_mismatch", "text": "Beit Higseth", "suggestion": "Pete Hegseth"},
        {"kind": "name_mismatch", "text": "Shinchoa", "suggestion": "Xinhua"},
    ]
    g = pivot.guess(spans, ["Higseth told Singaport that Beijing was preparing."])
    assert g.language == "ar"
    assert any("no /p/" in e for e in g.evidence)


def test_pivot_guess_none_on_original_english() -> None:
    article = seed_article("004")
    assert pivot.guess([], [s.text for s in article.sentences]).language is None


def _one_sentence(aid: str, text: str) -> Any:
    from mtaudit.base.types import Article, Sentence

    return Article(article_id=aid, source=aid, text=text, sentences=[Sentence(0, 0, len(text), text)])


@pytest.mark.parametrize(
    "ours,theirs,expected",
    [
        # the seeds: a garbled name and its garbled first name (Beit~Pete 0.50) become the outlets' name
        ("US Defense Minister Beit Higseth said China poses a threat.",
         "US defence secretary Pete Hegseth said China posed a threat.", [("Beit Higseth", "Pete Hegseth")]),
        ("The Shinchoa agency reported the call.", "The Xinhua agency reported the call.", [("Shinchoa", "Xinhua")]),
        # ECB+ (story-eval, 18_ecb): another witness, whose first name only looks like the other's (Lorin~Lon)
        ("Lorin Pearce, an executive assistant, said she saw a police officer with a gun.",
         "Lon Wood, who works nearby, said he saw a police officer with a gun.", []),
    ],
)
def test_name_mismatch_whole_names(ours: str, theirs: str, expected: list[tuple[str, str]]) -> None:
    article = _one_sentence("ours", ours)
    index = StoryIndex.build([_one_sentence("theirs", theirs), _one_sentence("also", theirs)])  # two outlets agree
    ctx = Context(article, article.sentences[0], [], index, Settings())
    assert [(s.text, s.suggestion) for s in signals.name_mismatch(ctx)] == expected


def _wording(ours: str, others: list[str]) -> list[tuple[str, str | None, list[str]]]:
    from mtaudit.base.types import Link

    article = _one_sentence("ours", ours)
    arts = [_one_sentence(f"o{k}", text) for k, text in enumerate(others)]
    links = [Link(a.article_id, 0, a.text, 0.8) for a in arts]
    ctx = Context(article, article.sentences[0], links, StoryIndex.build(arts), Settings(device="cpu"))
    return [(s.text, s.suggestion, s.support) for s in signals.wording(ctx)]


@pytest.mark.slow
@pytest.mark.parametrize(
    "ours,others,expected",
    [
        # an Apertium round trip of ECB+ (held-out coverage data) against two outlets that agree
        ("Formal sentencing is put for 11 a.m. on Nov. 8.",
         ["Sentencing is set for 11 a.m. on Nov. 8.", "His sentencing is set for 11 a.m. on Nov. 8, the judge said."],
         [("put", "set", ["o0", "o1"])]),
        # one outlet is a style, not evidence (in the seeds it is often the machine-translated one)
        ("Formal sentencing is put for 11 a.m. on Nov. 8.", ["Sentencing is set for 11 a.m. on Nov. 8."], []),
        # another outlet writes our word beside the same neighbour: outlets differ, no error
        ("Formal sentencing is put for 11 a.m. on Nov. 8.",
         ["Sentencing is set for 11 a.m. on Nov. 8.", "Sentencing is set for 11 a.m. on Nov. 8.",
          "The hearing is put off until Nov. 8."], []),
        # a word dropped is not a substitution
        ("Sentencing is for 11 a.m. on Nov. 8.", ["Sentencing is set for 11 a.m. on Nov. 8."] * 2, []),
    ],
)
def test_wording_substitutions_two_outlets_agree_on(ours: str, others: list[str], expected: list[Any]) -> None:
    assert _wording(ours, others) == expected


@pytest.mark.parametrize(
    "ours,theirs,expected",
    [
        ("Shinchoa", "Xinhua", True), ("Higseth", "Hegseth", True), ("Singaport", "Singapore", True),
        ("Fusió", "Fusion", True), ("Sequela", "Sequel", True), ("Dopes", "Dope", True),  # Apertium's endings
        # ECB+ originals, where the outlets write a name built on ours or an acronym like it
        ("Calamita", "LaCalamita", False), ("OccupyBloomberg", "Bloomberg", False), ("Ziranag", "Iran", False),
        ("Seahawk", "Seahawks", False), ("T-Mo's", "T-Mobile's", False), ("GPRS", "GPS", False),
        ("Taiwanese", "Taiwan", False),
    ],
)
def test_other_spelling(ours: str, theirs: str, expected: bool) -> None:
    assert signals._other_spelling(ours, theirs) is expected


def test_name_mismatch_needs_two_outlets() -> None:
    """One outlet's spelling of a transliterated name is a variant, not evidence (ECB+: Masoud, Massoud)."""
    ours = "Masoud Dalman, head of the province's emergency affairs, said several buildings collapsed."
    one = "Massoud Dalman said several buildings collapsed."
    article = _one_sentence("ours", ours)
    for others, expected in (([one], []), ([one, "Provincial official Massoud Dalman said so."], ["Masoud"])):
        index = StoryIndex.build([_one_sentence(f"o{k}", t) for k, t in enumerate(others)])
        found = signals.name_mismatch(Context(article, article.sentences[0], [], index, Settings()))
        assert [s.text for s in found] == expected


@pytest.mark.slow
@pytest.mark.parametrize(
    "ours,theirs,expected",
    [
        ("China agreed to resume exports of rare land magnets.", "China agreed to resume exports of rare earth magnets.",
         [("rare land", "rare earth")]),
        # ECB+ originals: a name where the outlets write a common word is the name signals' business
        ("NYPD officers shot and killed the teen late Saturday night.", "Police officers shot and killed the teen late Saturday night.", []),
        ("It will include a microSD card slot.", "It will include a memory card slot.", []),
    ],
)
def test_collocation_leaves_names_alone(ours: str, theirs: str, expected: list[tuple[str, str]]) -> None:
    from mtaudit.base.types import Link

    article = _one_sentence("ours", ours)
    arts = [_one_sentence("o0", theirs), _one_sentence("o1", theirs)]
    links = [Link(a.article_id, 0, a.text, 0.8) for a in arts]
    ctx = Context(article, article.sentences[0], links, StoryIndex.build(arts), Settings(device="cpu"))
    assert [(s.text, s.suggestion) for s in signals.collocation(ctx)] == expected


# Issue 31: names a transliteration round trip mangles (mtaudit.lab.repairs_eval's rules), in ECB+ sentences; the
# other outlets are sentences of the same ECB+ story, as written.
HORTON = ["The suspect, Andrew Lopez, was among three teens arrested for the shooting that claimed the life of Zurana Horton.",
          "Video of Brooklyn Mother of 13 Zurana Horton shot and killed in a gang shooting was revealed Thursday."]
CHEEKS = ["\"I look at Mo Cheeks and I know Mo Cheeks, \"King said.", "Mo Cheeks will take over as new coach",
          "~Cheeks returns as Sixers' fixer after Chris Ford was let go.", "~Star Chris Webber praised Maurice Cheeks."]
SAINTS = ["The New Orleans Saints placed Reggie Bush on injured reserve today.", "The Saints face the Detroit Lions in Week 16.",
          "The Jets lost again."]
JENKIN = ["John Jenkin, 23, was arrested near the house where Alice McMeekin, 58, and Katie Jenkin, 20, were discovered.",
          "His sister Katie Jenkin, 20, and mother Alice McMeekin, 58, were found dead in a home in Millom."]


@pytest.mark.parametrize(
    "ours,others,expected",
    [
        # sounds alike, letters less so (Hurtan~Horton: letters 0.67, sound keys equal)
        ("Police said Zoramo Hurtan was shot outside a school in Brownsville.", HORTON, [("Zoramo Hurtan", "Zurana Horton")]),
        # the name most outlets write, not a closer spelling of another one (Chigs~Chris by letters)
        ("Sixers Hire Mo Chigs as Head Coach", CHEEKS, [("Chigs", "Cheeks")]),
        # one outlet's Jets hid the Saints two outlets write
        ("Bush will miss the rest of the season, the Semts said.", SAINTS, [("Semts", "Saints")]),
        # the way of writing the name that fits ours (Katie Jenkin, not John Jenkin)
        ("His sister Kate Jengin was found dead in Millom.", JENKIN, [("Kate Jengin", "Katie Jenkin")]),
        # their very word inside the name does not end it; the possessive stays ours
        ("Banky was CEO of Tarlgrass Distribution Ltt., a wholesaler.",
         ["Banky was CEO of TallGrass Distribution Ltd., a wholesaler of natural health products.",
          "The business is listed at TallGrass Distribution Ltd., a natural health product supplier."],
         [("Tarlgrass Distribution Ltt", "TallGrass Distribution Ltd")]),
        ("Weitz will helm the second part of Stephini Meier's series.",
         ["Weitz comes on board to helm the second installment in Stephenie Meyer's four-book series.",
          "The film is based on the second book in author Stephenie Meyer's series."], [("Stephini Meier's", "Stephenie Meyer's")]),
        # ECB+ originals: a word built on a name they write (Somali), a name that begins with another sound, the outlets'
        # own variants (ours is one more), a capitalised first word that only sounds like a name
        ("They had 26 crewmen aboard, all Somalian nationals.",
         ["The crew of 26 were Somali.", "Mr Somani said the crew were Somali.", "Somani spoke for the owners."], []),
        ("LaCalamita was asked by Judge Michael A. Martone if he understood the charges.",
         ["Anthony LaCalamita appeared in court.", "Anthony LaCalamita III was charged."], []),
        ("A team of experts from the governorate of the Hormuzgan province arrived.",
         ["Experts from Hormozgan province arrived.", "The quake hit Hormozgan province.", "Rescuers reached Hormouzgan."], []),
        ("Moviemaker Gary Ross has pulled out of negotiations.",
         ["Gary Ross pulled out in November.", "In November, Gary Ross said no."], []),
    ],
)
def test_name_mismatch_transliterated_names(ours: str, others: list[str], expected: list[tuple[str, str]]) -> None:
    """The other outlets' sentences are aligned with ours, as the pipeline aligns them, but those marked "~"."""
    assert _names_found(ours, others, aligned=True) == expected


POTTER = ["Daniel Radcliffe, who plays Harry Potter, is in the film.", "Fans of Harry Potter queued all night."]
CAVALIERS = ["The Cavaliers lost at home to the Hawks.", "Cleveland Cavaliers fans booed."]
THOMAS = ["Pierre Thomas ran for 80 yards.", "Saints running back Pierre Thomas scored twice."]


@pytest.mark.parametrize(
    "ours,others,aligned,expected",
    [
        # sound keys alike but not equal (Cafaliaso~Cavaliers: kafarasa, kafarars): by their letters alone (0.67) unless
        # aligned sentences of two outlets write the name
        ("The Cafaliaso lost at home.", CAVALIERS, False, []),
        ("The Cafaliaso lost at home.", CAVALIERS, True, [("Cafaliaso", "Cavaliers")]),
        # the same sound key, every sound in place, counts without them, even first in a sentence (Hurtan, Horton: artan)
        ("Police said Zoramo Hurtan was shot outside a school in Brownsville.", HORTON, False, [("Zoramo Hurtan", "Zurana Horton")]),
        ("Hurtan was shot outside a school in Brownsville.", HORTON, False, [("Hurtan", "Horton")]),
        # a neighbour of ours is their name's word in its place: looser spelling will do (Pelr~Pierre 0.60, Padta~Potter)
        ("Pelr Thomas was placed on injured reserve.", THOMAS, False, [("Pelr", "Pierre")]),
        ("Fans of Harry Padta queued again.", POTTER, False, [("Padta", "Potter")]),
        # an acronym the outlets write (PDT: 0.80 by letters) is no spelling of ours and hides nothing
        ("Fans of Harry Padta queued again.", [*POTTER, "Updated 1:32 PM PDT by the desk."], False, [("Padta", "Potter")]),
        # ... but a name English knows stays a name of its own (Pilar~Pierre by sound 0.72)
        ("Pilar Thomas was placed on injured reserve.", THOMAS, True, []),
        ("Pelr was placed on injured reserve.", THOMAS, False, []),  # no neighbour to anchor it: letters alone, 0.60
    ],
)
def test_name_mismatch_by_sound(ours: str, others: list[str], aligned: bool, expected: list[tuple[str, str]]) -> None:
    assert _names_found(ours, others, aligned=aligned) == expected


def _names_found(ours: str, others: list[str], aligned: bool) -> list[tuple[str, str | None]]:
    from mtaudit.base.types import Link

    article = _one_sentence("ours", ours)
    index = StoryIndex.build([_one_sentence(f"o{k}", t.removeprefix("~")) for k, t in enumerate(others)])
    links = [Link(f"o{k}", 0, t, 0.7) for k, t in enumerate(others) if not t.startswith("~")] if aligned else []
    found = signals.name_mismatch(Context(article, article.sentences[0], links, index, Settings()))
    assert all(len(s.support) >= 2 for s in found)
    return [(s.text, s.suggestion) for s in found]


@pytest.mark.parametrize(
    "word,key",
    [("Horton", "artan"), ("Hurtan", "artan"), ("Xinhua", "sana"), ("Shinchoa", "sanka"), ("Cheeks", "kaks"), ("Chigs", "kaks"),
     ("Philadelphia", "faratarfa"), ("Meyer's", "nar")],
)
def test_sound_key(word: str, key: str) -> None:
    assert signals.sound_key(word) == key


@pytest.mark.parametrize(
    "a,b,low,high",
    [
        ("Hurtan", "Horton", 0.8, 0.9), ("Zoramo", "Zurana", 0.72, 0.8), ("Mirz", "Merz", 0.75, 0.75),  # short: letters alone
        ("Martone", "Anthony", 0.0, 0.72), ("Peterson", "Patterson", 0.9, 1.0),  # another first sound; a common variant
    ],
)
def test_spelling_similarity(a: str, b: str, low: float, high: float) -> None:
    assert low <= signals.spelling_similarity(a, b) <= high


def _collocations(ours: str, others: list[str]) -> list[tuple[str, str | None]]:
    from mtaudit.base.types import Link

    article = _one_sentence("ours", ours)
    arts = [_one_sentence(f"o{k}", text) for k, text in enumerate(others)]
    links = [Link(a.article_id, 0, a.text, 0.8) for a in arts]
    ctx = Context(article, article.sentences[0], links, StoryIndex.build(arts), Settings(device="cpu"))
    return [(s.text, s.suggestion) for s in signals.collocation(ctx)]


@pytest.mark.slow
@pytest.mark.parametrize(
    "ours,others,expected",
    [
        # ECB+ originals (the detector's training documents, audited in their topic's batch): the others' phrase
        # names another thing, and read with the rest of our sentence the language model no longer prefers it
        ("John Jenkin also faces an animal cruelty charge after the family's dog was also found beaten to death.",
         ["The family dog was also found dead.",
          "Mr Jenkin, who has also been charged with animal cruelty after the family dog was found dead at the house."], []),
        ("Manning connected with Dominic Rhodes on a 10-yard scoring pass in the third quarter, which was countered by "
         "Montell Owens's two-yard run to give the Jaguars a 24-14 lead.",
         ["He threw two touchdown passes and set up a game-tying 45-yard field goal by Adam Vinatieri."], []),
        # their Apertium round trips (en-ca-en, en-es-en) against the same outlets: the damage is still found
        ("It threw two touchdown passes and mounted a quelligajoc campde45 yards goal for Adam Vinatieri.",
         ["He threw two touchdown passes and set up a game-tying 45-yard field goal by Adam Vinatieri.",
          "However Manning's one-yard touchdown pass to tight end Dallas Clark and Adam Vinatieri's 45-yard field goal "
          "tied the scores."], [("yards goal", "field goal")]),
        ("A jury in oriental Oklahoma has condemned a man of 27 years to shoot died his pregnant girlfriend and his "
         "unborn creature after it refused to take an abortion.",
         ["A jury in eastern Oklahoma has convicted a 27 - year - old man of shooting dead his pregnant girlfriend and "
          "her unborn baby after she refused to get an abortion."], [("unborn creature", "unborn baby")]),
        ("China agreed to resume exports of rare land magnets.",  # seed 002
         ["China agreed to resume exports of rare earth magnets.", "Rare earth magnets are in short supply."],
         [("rare land", "rare earth")]),
    ],
)
def test_collocation_reads_the_rest_of_our_sentence(ours: str, others: list[str], expected: list[Any]) -> None:
    assert _collocations(ours, others) == expected


@pytest.mark.parametrize(
    "ours,others,found",
    [
        # Apertium round trips of ECB+ articles against their story's other outlets (the detector's training side)
        ("Lohan left one rehab centre in Beach of Newport in Thursday.",
         ["Lohan left a rehab facility in Newport Beach on Thursday.", "The Newport Beach clinic said she left."],
         [("Beach of Newport", "Newport Beach")]),
        ("Prosecutors said he was held in the jail of County of the Fulton.",
         ["He is held in the Fulton County jail.", "Fulton County prosecutors said so."], [("County of the Fulton", "Fulton County")]),
        ("Director of 'The Games of Hunger', Gary Ross, is in negotiations.",
         ["Gary Ross directed The Hunger Games.", "The Hunger Games sequel is in talks."], [("Games of Hunger", "Hunger Games")]),
        # one outlet is not enough; an outlet that writes it our way too ("Department of Justice", "Justice Department")
        ("He was taken to Beach of Newport.", ["He was taken to Newport Beach.", "Police in the city said so."], []),
        ("The Department of Justice said it would appeal.",
         ["The Justice Department said it would appeal.", "A Justice Department spokesman agreed.",
          "The Department of Justice filed the papers."], []),
        # English has both orders: the language model prefers ours (seed 000 against its outlets' "commerce ministry")
        ("The Chinese Ministry of Commerce denied these claims.",
         ["The Chinese commerce ministry said the talks went well.", "China's commerce ministry did not comment."], []),
        # no coverage, no span
        ("The University of California said so.", [], []),
    ],
)
def test_name_turned_inside_out(ours: str, others: list[str], found: list[tuple[str, str]]) -> None:
    article = _one_sentence("ours", ours)
    index = StoryIndex.build([_one_sentence(f"o{k}", t) for k, t in enumerate(others)])
    spans = signals.name_order(Context(article, article.sentences[0], [], index, Settings()))
    assert [(sp.text, sp.suggestion) for sp in spans] == found
    assert all(sp.kind == "name_order" and len(sp.support) >= signals.NAME_ORDER_OUTLETS and ours[sp.start : sp.end] == sp.text
               and sp.weight >= detect.CHECKABLE_WEIGHT for sp in spans)
    fixed = ours
    for text, fix in found:
        fixed = fixed.replace(text, fix)
    assert reference.repair(article, article.sentences[0], spans) == (fixed if found else None)  # backed, so applied


@pytest.mark.parametrize(("glued", "language"), [("actrizde33años", "es"), ("dedesembre", "ca"), ("demaig", "ca")])
def test_pivot_guess_reads_the_language_of_a_glued_phrase(glued: str, language: str) -> None:
    g = pivot.guess([{"kind": "foreign_leftover", "text": glued}], ["One sentence."])
    assert g.scores == {language: 1.0} and any("glued into one word" in e for e in g.evidence)
