"""Ingest: the seed format, JSONL, HTML, and every kind of bad input, one clear line each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mtaudit.base.settings import Settings
from mtaudit.nightly import job
from mtaudit.stages import ingest
from tests.conftest import ROOT

SEED_000 = (ROOT / "seeds" / "000_1f1dcbe8d1ab7a83.txt").read_text(encoding="utf-8")
SEED_001 = (ROOT / "seeds" / "001_5468ed566707ed0b.txt").read_text(encoding="utf-8")
FRENCH = (
    "Le président américain a déclaré jeudi qu'il se rendrait en Chine après un long entretien téléphonique "
    "avec son homologue chinois. Les deux dirigeants ont parlé du commerce, des droits de douane et des terres rares, "
    "selon l'agence officielle Chine nouvelle, qui a publié un compte rendu de la conversation."
)


def one(path: Path, settings: Settings | None = None) -> tuple[object, list[ingest.Problem]]:
    found = list(ingest.read_file(path, settings or Settings()))
    assert len(found) == 1
    return found[0]


def test_article_id_is_a_stable_content_hash() -> None:
    assert ingest.article_id(SEED_000) == ingest.article_id(SEED_000.replace("\n", "\n\n") + "  ")
    assert ingest.article_id(SEED_000) != ingest.article_id(SEED_001)
    assert len(ingest.article_id(SEED_000)) == 16


def test_seed_metadata_lines_are_not_sentences() -> None:
    article, problems = ingest.parse(SEED_000, "000.txt", Settings())
    assert article is not None and not problems
    assert article.meta["published"] == "2025-06-05 17:32:00"
    assert article.date == "2025-06-05"
    assert article.sentences[-1].text.startswith("Also, the Chinese will not want")
    for s in article.sentences:
        assert article.text[s.start : s.end] == s.text


def test_title_and_byline() -> None:
    article, _ = ingest.parse(SEED_001, "001.txt", Settings())
    assert article is not None
    assert article.title and article.title.startswith("Trump said the call reached")
    assert article.meta["byline"] == "India Weekly"
    assert not any(s.text.startswith("By:") for s in article.sentences)


def test_splitter_keeps_abbreviations_together() -> None:
    text = "Mr. Trump met Mr. Xi on June 5. They spoke for 90 min. about U.S. tariffs, the two sides said. " * 2
    article, _ = ingest.parse(text, "t", Settings(min_words=5))
    assert article is not None
    assert article.sentences[0].text == "Mr. Trump met Mr. Xi on June 5."


@pytest.mark.parametrize(
    "name,data,code",
    [
        ("empty.txt", b"", "E_EMPTY"),
        ("blank.txt", b"   \n\n  \t\n", "E_EMPTY"),
        ("short.txt", b"Just a few words here.", "E_EMPTY"),
        ("binary.txt", bytes(range(256)) * 20, "E_BINARY"),
        ("image.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 500, "E_BINARY"),
        ("french.txt", FRENCH.encode("utf-8"), "E_LANGUAGE"),
        ("junk.html", b"<html><head><script>var a=1;</script></head><body><div><a href='/'>Home</a></div></body></html>", "E_NO_ARTICLE"),
    ],
)
def test_bad_input_is_one_clear_error(tmp_path: Path, name: str, data: bytes, code: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    article, problems = one(path)
    assert article is None
    assert [p.code for p in problems if p.level == "error"] == [code]
    assert all("\n" not in str(p) for p in problems)


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
@pytest.mark.parametrize("line", ["The café’s naïve résumé cost 5 €.", "José Peña left the crème brûlée festival in Zürich.",
                                  "Café au lait est très bon."])
def test_non_utf8_is_decoded_with_a_warning(tmp_path: Path, encoding: str, line: str) -> None:
    """Windows-1252 (and Latin-1, its subset) come back letter for letter: cp1250, which charset_normalizer
    ranked first on such text, turns "Peña" into "Peńa"."""
    path = tmp_path / "legacy.txt"
    path.write_bytes((SEED_001 + "\n" + line + "\n").encode(encoding, "replace"))
    article, problems = one(path)
    assert article is not None
    assert [p.code for p in problems] == ["W_ENCODING"]
    assert line.encode(encoding, "replace").decode(encoding) in article.text
    assert "cp1252" in problems[0].message


def test_chinese_in_a_legacy_code_page_is_not_read_as_windows_1252(tmp_path: Path) -> None:
    path = tmp_path / "gbk.txt"
    path.write_bytes(("中国商务部周六表示，已批准部分稀土磁体出口许可证。" * 20).encode("gb18030"))
    article, problems = one(path)
    assert article is None
    assert [p.code for p in problems] == ["W_ENCODING", "E_LANGUAGE"]
    assert "cp1252" not in problems[0].message


def test_html_article_is_extracted(tmp_path: Path) -> None:
    paras = "".join(f"<p>{line}</p>" for line in SEED_001.splitlines()[2:8])
    page = f"<html><head><title>x</title><script>track()</script></head><body><nav><a href='/'>Home</a></nav><article>{paras}</article></body></html>"
    path = tmp_path / "page.html"
    path.write_text(page, encoding="utf-8")
    article, problems = one(path)
    assert article is not None
    assert "W_HTML" in [p.code for p in problems]
    assert "track()" not in article.text
    assert any("Truth Social" in s.text for s in article.sentences)


@pytest.mark.parametrize(
    "text",
    [
        SEED_001 * 50,  # cut at a paragraph or sentence end
        "Headline of the piece here\n" + "officials from both sides discussed tariffs " * 2000,  # no full stop: at a space
    ],
)
def test_huge_input_is_truncated_near_the_limit_between_words(tmp_path: Path, text: str) -> None:
    """Never after the title, or at 1 character, as a 2 MB paragraph with no full stop was."""
    article, problems = ingest.parse(text, "huge.txt", Settings(max_bytes=20_000))
    assert "W_TRUNCATED" in [p.code for p in problems]
    assert article is not None
    kept = article.text
    assert 10_000 < len(kept.encode("utf-8")) <= 20_000
    assert text.startswith(kept) and text[len(kept)].isspace()


def test_huge_input_with_no_space_is_cut_at_the_limit() -> None:
    article, problems = ingest.parse("Headline\n" + "x" * 40_000, "huge.txt", Settings(max_bytes=20_000))
    truncated = next(p for p in problems if p.code == "W_TRUNCATED")
    assert "the first 20000 characters" in truncated.message
    assert article is None and problems[-1].code == "E_EMPTY"  # one 20,000-letter "word" is no prose


def test_jsonl_good_and_bad_lines(tmp_path: Path) -> None:
    import json

    path = tmp_path / "batch.jsonl"
    lines = [
        json.dumps({"id": "a", "text": SEED_001, "title": "T", "date": "2025-06-05"}),
        "{not json",
        json.dumps({"id": "b"}),
        "",
        json.dumps({"id": "c", "text": SEED_000, "url": "https://example.org/x"}),
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
    found = list(ingest.read_jsonl(path, Settings()))
    articles = [a for a, _ in found if a is not None]
    errors = [p for _, ps in found for p in ps if p.level == "error"]
    assert [a.meta.get("external_id") for a in articles] == ["a", "c"]
    assert articles[0].title == "T" and articles[0].date == "2025-06-05"
    assert articles[1].source == "https://example.org/x"
    assert sorted(p.source.rsplit(":", 1)[1] for p in errors) == ["2", "3"]


def test_batch_goes_on_and_duplicates_are_audited_once(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(SEED_000, encoding="utf-8")
    (tmp_path / "b.txt").write_text(SEED_000 + "\n", encoding="utf-8")
    (tmp_path / "c.txt").write_bytes(b"")
    (tmp_path / ".hidden.txt").write_text(SEED_001, encoding="utf-8")
    articles, problems = ingest.ingest([tmp_path, tmp_path / "missing.txt"], Settings())
    assert len(articles) == 1
    codes = sorted(p.code for p in problems)
    assert codes == ["E_EMPTY", "E_READ", "W_DUPLICATE"]


def test_unreadable_path_is_an_error(tmp_path: Path) -> None:
    """A path that cannot be read as a file (here a folder passed as one) is one E_READ line."""
    folder = tmp_path / "not-a-file.txt"
    folder.mkdir()
    article, problems = one(folder)
    assert article is None and [p.code for p in problems] == ["E_READ"]


def test_a_long_paragraph_is_cut_where_its_sentences_end() -> None:
    """pysbd is quadratic in what it is given (one 485 KB paragraph took 71 s), so long paragraphs go in pieces;
    the sentences come out as pysbd finds them in the whole paragraph."""
    from mtaudit.text import segment

    para = " ".join(line.strip() for line in (SEED_001 + SEED_000 + SEED_001).splitlines() if line.strip() and "http" not in line)
    assert len(para) > 2 * segment.CHUNK
    pieces = segment.chunks(para)
    assert "".join(pieces) == para and len(pieces) >= 3
    assert all(len(p) <= segment.CHUNK for p in pieces)
    assert all(p.rstrip().endswith((".", "?", "!", '"', "”", "’", ")")) for p in pieces[:-1])
    whole = [s.strip() for s in segment._segmenter().segment(para) if s.strip()]
    assert [s.text for s in segment.split(para, [(0, len(para))])] == whole


def test_a_paragraph_with_no_sentence_end_is_cut_at_spaces_and_keeps_exact_offsets() -> None:
    from mtaudit.text import segment

    para = " ".join(["officials from both sides discussed tariffs"] * 1500)  # 66,000 characters, no full stop
    pieces = segment.chunks(para)
    assert "".join(pieces) == para
    assert all(len(p) <= segment.CHUNK and p.endswith(" ") for p in pieces[:-1])
    sentences = segment.split(para, [(0, len(para))])
    assert len(sentences) == len(pieces)
    assert all(para[s.start : s.end] == s.text for s in sentences)


@pytest.mark.parametrize(
    ("charset", "encoding"),
    [("iso-8859-2", "iso-8859-2"), ("ISO-8859-1", "cp1252"), ("koi8-r", "koi8-r")],
)
def test_an_html_file_is_read_in_the_charset_it_declares(tmp_path: Path, charset: str, encoding: str) -> None:
    """A declared charset wins over guessing: Latin-2 bytes read as Windows-1252 would turn "Łódź" into "£ódŸ"."""
    line = {"iso-8859-2": "Łódź", "cp1252": "José Peña", "koi8-r": "Москва"}[encoding]
    paras = "".join(f"<p>{text}</p>" for text in SEED_001.splitlines()[2:8])
    page = (f'<html><head><meta http-equiv="Content-Type" content="text/html; charset={charset}"></head>'
            f"<body><article>{paras}<p>The mayor of {line} said the talks went well, officials added on Friday.</p>"
            "</article></body></html>")
    path = tmp_path / "page.html"
    path.write_bytes(page.encode(encoding, "replace"))
    article, problems = one(path)
    assert article is not None
    assert f"The mayor of {line} said" in article.text
    assert f"decoded as {encoding}" in next(p.message for p in problems if p.code == "W_ENCODING")


def test_the_servers_charset_comes_before_the_pages_own() -> None:
    page = '<html><head><meta charset="koi8-r"></head><body><p>The mayor of Łódź spoke.</p></body></html>'
    data = page.encode("iso-8859-2")
    charset = job._charset("text/html; charset=ISO-8859-2")
    assert charset == "iso-8859-2" and job._charset("text/html") is None and job._charset(None) is None
    text, problems = ingest.decode(data, "https://example.org/a", charset)
    assert text is not None and "Łódź" in text
    assert problems[0].message == "not UTF-8; decoded as iso-8859-2, as the server declares"
    text, _ = ingest.decode(data, "page.html")  # no server: the page's (wrong) declaration is all there is
    assert text is not None and "Łódź" not in text


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-16-le", "utf-32"])
def test_utf16_and_utf32_are_text_not_binary(tmp_path: Path, encoding: str) -> None:
    """Their NUL bytes once made them "binary data": Notepad's "Unicode" files were refused."""
    path = tmp_path / "wide.txt"
    path.write_bytes(SEED_001.encode(encoding))
    article, problems = one(path)
    assert article is not None and article.text == ingest.parse(SEED_001, "x", Settings())[0].text
    assert [p.code for p in problems] == ["W_ENCODING"] and "utf_" in problems[0].message


def test_a_folder_is_read_for_its_article_files_and_the_rest_is_one_warning(tmp_path: Path) -> None:
    """A meta.json sidecar was audited as an article, and img.png / notes.csv failed the batch (E_BINARY, E_EMPTY)."""
    (tmp_path / "a.txt").write_text(SEED_000, encoding="utf-8")
    (tmp_path / "README").write_text(SEED_001, encoding="utf-8")  # no suffix: plain text, as TEXT_SUFFIXES says
    (tmp_path / "meta.json").write_text('{"outlet": "AP", "words": 612}', encoding="utf-8")
    (tmp_path / "img.PNG").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 500)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "notes.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (tmp_path / "sub" / "more.csv").write_text("c\n3\n", encoding="utf-8")
    files, problems = ingest.expand([tmp_path])
    assert sorted(p.name for p in files) == ["README", "a.txt"]
    assert [(p.level, p.code, p.source) for p in problems] == [("warning", "W_SKIPPED", str(tmp_path))]
    assert "skipped 4 files of other types (.png, .json, .csv)" in problems[0].message
    articles, problems = ingest.ingest([tmp_path], Settings())
    assert len(articles) == 2 and [p.code for p in problems] == ["W_SKIPPED"]


def test_a_file_named_outright_is_read_whatever_its_suffix(tmp_path: Path) -> None:
    path = tmp_path / "article.body"
    path.write_text(SEED_001, encoding="utf-8")
    articles, problems = ingest.ingest([path], Settings())
    assert [a.source for a in articles] == [str(path)] and problems == []


def test_a_jsonl_rows_source_field_is_its_outlet_not_its_location(tmp_path: Path) -> None:
    """`"source": "Local"` replaced the row's file:line, so a duplicate read "Local: same text as Local"."""
    import json

    path = tmp_path / "rows.jsonl"
    rows = [{"id": "a", "text": SEED_000, "source": "Local"}, {"id": "b", "text": SEED_001, "source": "Reuters"},
            {"id": "c", "text": SEED_000, "source": "Local"}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    articles, problems = ingest.ingest([path], Settings())
    assert [a.source for a in articles] == [f"{path}:1", f"{path}:2"]
    assert [a.meta["outlet"] for a in articles] == ["Local", "Reuters"]
    assert [str(p) for p in problems] == [f"warning: {path}:3: same text as {path}:1; audited once [W_DUPLICATE]"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hello\n", "no prose: 1 line (1 word), all read as metadata (dateline: short, no full stop); at least 20 words needed"),
        ('<?xml version="1.0"?><rss><channel><title>Cut off\n',
         "no prose: 1 line (3 words), all read as metadata (dateline: short, no full stop); at least 20 words needed"),
        ("By: Jane Doe\nWashington\nThe talks went well, he said.\nhttps://example.org/a.jpg\n",
         "only 6 words of prose (11 words in all, the rest read as metadata); at least 20 needed"),
        ("Just a few words here.", "only 5 words of prose; at least 20 needed"),
    ],
)
def test_too_little_prose_says_what_was_found(tmp_path: Path, text: str, message: str) -> None:
    """Short lines are read as datelines, so "hello" was reported as "only 0 words of prose"."""
    path = tmp_path / "short.txt"
    path.write_text(text, encoding="utf-8")
    article, problems = one(path)
    assert article is None and [(p.code, p.message) for p in problems] == [("E_EMPTY", message)]


def test_a_text_longer_than_any_article_is_audited_on_its_first_sentences(settings: Any) -> None:
    """15,000 sentences would cost every stage 100 articles' time: segmentation stops at max_sentences, and the
    warning and the article's meta say what was audited."""
    text = "\n".join(f"The council met on day {i} and said the budget would be published in the spring." for i in range(15_000))
    art, problems = ingest.parse(text, "huge.txt", settings)
    assert art is not None and len(art.sentences) == settings.max_sentences
    assert art.meta["truncated"] == {"sentences_audited": settings.max_sentences, "words": 16 * 15_000, "setting": "max_sentences"}
    assert [p.code for p in problems] == ["W_LONG"] and "audited the first 300" in problems[0].message
    assert art.sentences[-1].text.startswith(f"The council met on day {settings.max_sentences - 1} ")
    short, problems = ingest.parse(text[:4000], "short.txt", settings)
    assert short is not None and "truncated" not in short.meta and not problems


def test_language_identifier_is_read_back_from_the_cache_folder(tmp_path: Path) -> None:
    """The decoded langid tables are kept on disk (start-up time); read back, or rebuilt over a damaged file, they
    give the same answers as langid's own model."""
    settings = Settings(cache_dir=str(tmp_path))
    texts = [SEED_001[:600], FRENCH, "Der Präsident sagte am Dienstag, die Gespräche würden weitergehen."]
    fresh = [ingest.detect_language(t) for t in texts]  # no cache folder: langid's packed model
    ingest._langid.cache_clear()
    written = [ingest.detect_language(t, settings) for t in texts]
    (stored,) = (tmp_path / "langid").glob("langid-*.pickle")
    ingest._langid.cache_clear()
    read_back = [ingest.detect_language(t, settings) for t in texts]
    stored.write_bytes(b"not a pickle")
    ingest._langid.cache_clear()
    rebuilt = [ingest.detect_language(t, settings) for t in texts]
    assert [lang for lang, _ in fresh] == ["en", "fr", "de"]
    assert written == read_back == rebuilt == fresh
    assert stored.stat().st_size > 1_000_000  # written anew over the damaged file
