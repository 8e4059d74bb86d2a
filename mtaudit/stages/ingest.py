"""Read articles from text files, JSONL, HTML and folders; never crash on bad input.

The seed format is plain body text, one paragraph per line, sometimes with a leading
`` date YYYY-MM-DD <caption>`` line, a byline, dateline lines, or a trailing image URL
and timestamp. Those are metadata: they go to ``Article.meta`` and out of the sentences.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import re
import unicodedata
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from mtaudit.base.atomic import write_bytes
from mtaudit.base.settings import Settings, cache_root
from mtaudit.base.types import Article, Problem
from mtaudit.nlp import registry
from mtaudit.text import segment

TEXT_SUFFIXES = {".txt", ".text", ".md", ""}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
# what a folder is read for: a folder also holds sidecars (meta.json), images and spreadsheets, which are no article
ARTICLE_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSONL_SUFFIXES

_DATE_LINE = re.compile(r"^\s*date\s+(\d{4}-\d{2}-\d{2})\b\s*(.*)$", re.I)
_STAMP_LINE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})(?:[ T]\d{2}:\d{2}(?::\d{2})?)?\s*$")
_URL_LINE = re.compile(r"^\s*https?://\S+\s*$")
_BYLINE = re.compile(r"^\s*By:?\s+\S.{0,60}$")
_TERMINAL = tuple(".!?\"'”’)»。！？」")  # CJK stops too: a Chinese paragraph is prose, not a dateline
_TAG = re.compile(r"<\s*/?\s*(html|body|div|p|script|style|head|meta|span|a|table)\b", re.I)


def article_id(text: str) -> str:
    """Stable id: a hash of the text with whitespace and Unicode form normalised."""
    norm = " ".join(unicodedata.normalize("NFC", text).split())
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()[:16]


# English text that is not UTF-8 is nearly always Windows-1252 (browsers read Latin-1 and unlabelled English pages
# so), and its bytes above 127 are a few accented letters and curly quotes. charset_normalizer guessed cp775, cp850
# or cp1250 for such articles ("José Peña" -> "José Peńa", "naïve" -> "na’ve"), and the detector then read the
# mangled names as damage; text mostly above 127 (Chinese, Cyrillic code pages) is still left to it.
LEGACY_HIGH_SHARE = 0.1
LANGUAGE_MIN_CHARS = 40  # shorter samples are refused as too short, whatever language langid guesses


def _declared_encoding(data: bytes) -> str | None:
    """The charset an HTML page declares in its head (bs4 reads the meta tags); Latin-1 and ASCII mean
    Windows-1252, as browsers read them."""
    head = data[:4096]
    if b"<" not in head:
        return None
    from bs4.dammit import EncodingDetector  # only HTML input pays its import

    return _web_charset(EncodingDetector.find_declared_encoding(head, is_html=True))


def _web_charset(label: str | None) -> str | None:
    if label and label.strip().lower().replace("_", "-") in ("iso-8859-1", "latin-1", "latin1", "ascii", "us-ascii"):
        return "cp1252"
    return label.strip() if label else None


def decode(data: bytes, source: str, charset: str | None = None) -> tuple[str | None, list[Problem]]:
    """UTF-8 first (UTF-16 or UTF-32 if its NUL bytes say so); then the charset an HTML page declares; then Windows-1252 for English-looking bytes; else
    the most likely encoding; each but UTF-8 with a warning; binary is refused. ``charset``: what the server
    said (HTTP Content-Type), which comes before the page's own declaration, as in a browser."""
    if not data.strip():
        return None, [Problem(source, "error", "E_EMPTY", "empty input, nothing to audit")]
    sample = data[:8192]
    if b"\x00" in sample or sum(b < 9 or 13 < b < 32 for b in sample) > len(sample) * 0.05:
        # UTF-16 and UTF-32 (what Windows Notepad calls "Unicode") are full of NUL bytes too
        from charset_normalizer import from_bytes

        wide = from_bytes(data).best()
        if wide is None or not wide.encoding.startswith(("utf_16", "utf_32")):
            return None, [Problem(source, "error", "E_BINARY", "binary data, not text")]
        return str(wide), [Problem(source, "warning", "W_ENCODING", f"not UTF-8; decoded as {wide.encoding}")]
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        pass
    declared = _web_charset(charset) if charset else _declared_encoding(data)
    if declared:
        try:
            return data.decode(declared), [Problem(source, "warning", "W_ENCODING",
                                                   f"not UTF-8; decoded as {declared}, as the {'server' if charset else 'HTML'} declares")]
        except (LookupError, UnicodeDecodeError):  # a wrong or unknown declaration: guess as for plain text
            pass
    if len(data.translate(None, bytes(range(128)))) < LEGACY_HIGH_SHARE * len(data):
        try:
            return data.decode("cp1252"), [Problem(source, "warning", "W_ENCODING", "not UTF-8; decoded as cp1252")]
        except UnicodeDecodeError:  # one of the five bytes cp1252 leaves undefined: not Windows-1252
            pass
    from charset_normalizer import from_bytes  # only undecodable input pays its import

    best = from_bytes(data).best()
    if best is None:
        return None, [Problem(source, "error", "E_ENCODING", "not UTF-8 and no encoding fits")]
    return str(best), [
        Problem(source, "warning", "W_ENCODING", f"not UTF-8; decoded as {best.encoding}")
    ]


def _looks_like_html(text: str) -> bool:
    return len(_TAG.findall(text[:20000])) >= 3


def html_to_text(html: str) -> str | None:
    """Main text of a page via trafilatura, one paragraph per line."""
    import trafilatura  # only HTML input pays its import (start-up time)

    return trafilatura.extract(html, include_comments=False, include_tables=False, favor_precision=True)


@lru_cache(maxsize=4)
def _langid(cache: Path | None = None) -> Any:
    """langid's identifier. Decoding its packed model takes 1.5-3 s, a quarter of a warm audit of the seeds, so the
    decoded tables are kept in the cache folder, keyed by langid's version, and read back in milliseconds."""
    from langid.langid import LanguageIdentifier  # langid loads its model on import: only language checks pay it

    path = cache / "langid" / f"langid-{registry.package_version('langid')}.pickle" if cache is not None else None
    if path is not None and path.exists():
        try:
            return LanguageIdentifier(*pickle.loads(path.read_bytes()), norm_probs=True)  # our own file, written below
        except Exception:  # a damaged or foreign file: decode the model again and write it anew
            pass
    from langid.langid import model

    ident = LanguageIdentifier.from_modelstring(model, norm_probs=True)
    if path is not None:
        tables = (ident.nb_ptc, ident.nb_pc, ident.nb_numfeats, ident.nb_classes, ident.tk_nextmove, ident.tk_output)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_bytes(path, pickle.dumps(tables, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError:  # a read-only cache folder costs time, not the answer
            pass
    return ident


def detect_language(text: str, settings: Settings | None = None) -> tuple[str, float]:
    """langid's language code and probability for ``text`` (its first 5,000 characters)."""
    lang, prob = _langid(cache_root(settings) if settings is not None else None).classify(text[:5000])
    return str(lang), float(prob)


def _cut_point(text: str) -> int:
    """Where to end a truncated text: its last paragraph or sentence end, else its last space, in its second half.

    Without the second-half rule a 2 MB paragraph with no full stop was cut after its title, or to 1 character.
    """
    half = len(text) // 2
    for end in (max(text.rfind("\n"), text.rfind(". ") + 1), text.rfind(" ")):
        if end > half:
            return end
    return len(text)


def parse(text: str, source: str, settings: Settings, extra: dict[str, Any] | None = None) -> tuple[Article | None, list[Problem]]:
    """Turn decoded text into an Article with metadata split off and sentences found."""
    problems: list[Problem] = []
    if _looks_like_html(text):
        extracted = html_to_text(text)
        if not extracted or len(extracted.split()) < settings.min_words:
            return None, [Problem(source, "error", "E_NO_ARTICLE", "HTML with no article text in it")]
        problems.append(Problem(source, "warning", "W_HTML", "HTML input; article text extracted"))
        text = extracted
    if len(text.encode("utf-8")) > settings.max_bytes:
        cut = text.encode("utf-8")[: settings.max_bytes].decode("utf-8", "ignore")
        cut = cut[: _cut_point(cut)]
        problems.append(
            Problem(source, "warning", "W_TRUNCATED", f"larger than {settings.max_bytes} bytes; audited the first {len(cut)} characters")
        )
        text = cut

    meta: dict[str, Any] = dict(extra or {})
    lines: list[tuple[int, int]] = []  # (start, end) of each non-blank line
    pos = 0
    for raw in text.splitlines(keepends=True):
        body = raw.rstrip("\r\n")
        if body.strip():
            lead = len(body) - len(body.lstrip())
            lines.append((pos + lead, pos + len(body.rstrip())))
        pos += len(raw)

    def line(i: int) -> str:
        return text[lines[i][0] : lines[i][1]]

    first, last = 0, len(lines)
    taken: dict[str, None] = {}  # which metadata rules took lines, in order, for the message when no prose is left
    if first < last and (m := _DATE_LINE.match(line(first))):
        taken["date line"] = None
        meta["date"] = m.group(1)
        if m.group(2).strip():
            meta["caption"] = m.group(2).strip()
        first += 1
    while last > first and (_URL_LINE.match(line(last - 1)) or _STAMP_LINE.match(line(last - 1))):
        value = line(last - 1).strip()
        if _URL_LINE.match(value):
            taken["image URL"] = None
            meta.setdefault("urls", []).insert(0, value)
        else:
            taken["timestamp"] = None
            meta["published"] = value
            meta.setdefault("date", value[:10])
        last -= 1
    title = meta.get("title")
    if first < last and not title:
        head = line(first)
        if len(head.split()) >= 5 and not head.endswith(_TERMINAL):
            title = head  # a headline: kept as metadata and still audited as prose
    prose: list[tuple[int, int]] = []
    for i in range(first, last):
        value = line(i)
        if _BYLINE.match(value) and len(value.split()) <= 8:
            taken["byline"] = None
            meta["byline"] = value.split(None, 1)[1].strip()
            continue
        if not prose and len(value.split()) <= 4 and not value.endswith(_TERMINAL):
            taken["dateline: short, no full stop"] = None
            meta.setdefault("dateline", []).append(value)  # "Washington/Hong Kong", "CNN", "—"
            continue
        prose.append(lines[i])

    words = sum(len(text[a:b].split()) for a, b in prose)
    sample = " ".join(text[a:b] for a, b in prose)
    lang, prob = detect_language(sample, settings)
    meta["language"] = {"code": lang, "probability": round(prob, 4), "by": "langid"}
    # language before length: Chinese or Japanese prose has no spaces, so 500 characters count as one "word"
    if lang != settings.language and prob >= 0.9 and len(sample) >= LANGUAGE_MIN_CHARS:
        return None, problems + [
            Problem(source, "error", "E_LANGUAGE", f"language is {lang} (p={prob:.2f}), not {settings.language}; skipped")
        ]
    if words < settings.min_words:
        return None, problems + [Problem(source, "error", "E_EMPTY", _too_little(text, lines, prose, list(taken), settings.min_words))]
    article = Article(
        article_id=article_id(text),
        source=source,
        text=text,
        title=title,
        date=meta.get("date"),
        meta=meta,
    )
    article.sentences = segment.split(text, prose, limit=settings.max_sentences + 1)
    if len(article.sentences) > settings.max_sentences:
        article.sentences = article.sentences[: settings.max_sentences]
        meta["truncated"] = {"sentences_audited": settings.max_sentences, "words": words, "setting": "max_sentences"}
        problems.append(Problem(source, "warning", "W_LONG", f"{words} words of prose, more than {settings.max_sentences} sentences: "
                                f"audited the first {settings.max_sentences} (setting max_sentences)"))
    return article, problems


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _too_little(text: str, lines: list[tuple[int, int]], prose: list[tuple[int, int]], taken: list[str], need: int) -> str:
    """Why an input is too short, in what it holds: "only 0 words" was said of a file of short lines
    that the metadata rules took (a lone "hello" is read as a dateline), which looked like a reading bug."""
    if not lines:
        return "no text, nothing to audit"
    total = sum(len(text[a:b].split()) for a, b in lines)
    found = _plural(total, "word")
    if not prose:
        return f"no prose: {_plural(len(lines), 'line')} ({found}), all read as metadata ({', '.join(taken)}); at least {need} words needed"
    words = sum(len(text[a:b].split()) for a, b in prose)
    rest = f" ({found} in all, the rest read as metadata)" if total > words else ""
    return f"only {_plural(words, 'word')} of prose{rest}; at least {need} needed"


def _read_bytes(path: Path) -> tuple[bytes | None, list[Problem]]:
    try:
        return path.read_bytes(), []
    except OSError as exc:
        return None, [Problem(str(path), "error", "E_READ", f"cannot read: {exc.strerror or exc}")]


def read_text(path: Path) -> tuple[str | None, list[Problem]]:
    """A file's text, decoded (UTF-8, else charset detection with a warning), or why it cannot be had."""
    data, problems = _read_bytes(path)
    if data is None:
        return None, problems
    return decode(data, str(path))


def row_meta(obj: dict[str, Any]) -> dict[str, Any]:
    """A JSONL row's metadata. Its ``source`` is the outlet ("Reuters"), kept as ``outlet``: used as the
    article's source it replaced the row's file:line, and a duplicate read "Local: same text as Local"."""
    extra = {k: obj[k] for k in ("title", "date", "url") if isinstance(obj.get(k), str)}
    if "id" in obj:
        extra["external_id"] = str(obj["id"])
    if obj.get("source") not in (None, ""):
        extra["outlet"] = obj["source"] if isinstance(obj["source"], str) else json.dumps(obj["source"], ensure_ascii=False)
    return extra


def read_jsonl(path: Path, settings: Settings) -> Iterator[tuple[Article | None, list[Problem]]]:
    """One article per line: ``text`` required; ``id``, ``title``, ``date``, ``url``, ``source`` kept (see ``row_meta``).

    The source is the row's URL, else its ``path:line``, never its ``source`` field (an outlet name is no address)."""
    text, problems = read_text(path)
    if text is None or problems:
        yield None, problems
    if text is None:
        return
    for lineno, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            yield None, [Problem(where, "error", "E_JSON", f"not JSON ({exc.msg})")]
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            yield None, [Problem(where, "error", "E_JSON", "no 'text' string in this line")]
            continue
        yield parse(obj["text"], str(obj.get("url") or where), settings, row_meta(obj))


def read_file(path: Path, settings: Settings) -> Iterator[tuple[Article | None, list[Problem]]]:
    suffix = path.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        yield from read_jsonl(path, settings)
        return
    text, problems = read_text(path)
    if text is None:
        yield None, problems
        return
    article, more = parse(text, str(path), settings)
    yield article, problems + more


def expand(inputs: Iterable[str | Path]) -> tuple[list[Path], list[Problem]]:
    """Folders become their article files (sorted, hidden ones skipped); missing paths are problems.

    In a folder only the article formats are read (``ARTICLE_SUFFIXES``): a ``meta.json`` sidecar was audited
    as an article and an image failed the batch. The others are counted in one warning per folder. A file
    named outright is read whatever its name: the user asked for it.
    """
    files: list[Path] = []
    problems: list[Problem] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            skipped: dict[str, int] = {}
            for p in sorted(path.rglob("*")):
                if not p.is_file() or any(part.startswith(".") for part in p.relative_to(path).parts):
                    continue
                if p.suffix.lower() in ARTICLE_SUFFIXES:
                    files.append(p)
                else:
                    skipped[p.suffix.lower()] = skipped.get(p.suffix.lower(), 0) + 1
            if skipped:
                n = sum(skipped.values())
                kinds = ", ".join(list(skipped)[:8]) + (", ..." if len(skipped) > 8 else "")
                problems.append(Problem(str(path), "warning", "W_SKIPPED",
                                        f"skipped {_plural(n, 'file')} of other types ({kinds}); name a file to read it anyway"))
        elif path.exists():
            files.append(path)
        else:
            problems.append(Problem(str(path), "error", "E_READ", "no such file or folder"))
    return files, problems


def ingest(
    inputs: Iterable[str | Path], settings: Settings, texts: Iterable[str] = ()
) -> tuple[list[Article], list[Problem]]:
    """All articles from paths (files, folders, JSONL) and raw texts; duplicates dropped with a warning."""
    files, problems = expand(inputs)
    articles: list[Article] = []
    seen: dict[str, str] = {}

    def keep(article: Article | None, found: list[Problem]) -> None:
        problems.extend(found)
        if article is None:
            return
        if article.article_id in seen:
            problems.append(
                Problem(article.source, "warning", "W_DUPLICATE", f"same text as {seen[article.article_id]}; audited once")
            )
            return
        seen[article.article_id] = article.source
        articles.append(article)

    for path in files:
        for article, found in read_file(path, settings):
            keep(article, found)
    for n, text in enumerate(texts):
        keep(*parse(text, f"<text {n}>", settings))
    return articles, problems
