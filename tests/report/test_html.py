"""HTML report: escaped, self-contained, evidence where it belongs; rendered in headless Chromium."""

from __future__ import annotations

import json
import re
import struct
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mtaudit import report
from mtaudit.cli import app
from mtaudit.report import html

PAYLOAD = "<script>document.title='PWNED';document.body.setAttribute('data-pwned','1')</script>"
IMG = "<img src=x onerror=\"document.body.setAttribute('data-pwned','2')\">"
SCRIPT_ARTICLE = (
    "The city council met on Tuesday evening to discuss the new budget for public libraries and parks.\n"
    f"One member read out a message from a resident that said {PAYLOAD} word for word.\n"
    f"Another member showed a slide that contained {IMG} and asked the clerk to explain it.\n"
    "The council will vote on the budget next month after a public hearing in the town hall.\n"
)


class Dom(HTMLParser):
    """Tags, attributes and text of a page, as the browser (or our markup) has them."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.marks: list[dict[str, Any]] = []
        self.text: list[str] = []
        self._open_marks: list[dict[str, Any]] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "mark":
            self._open_marks.append({"attrs": dict(attrs), "text": ""})

    def handle_endtag(self, tag: str) -> None:
        if tag == "mark" and self._open_marks:
            self.marks.append(self._open_marks.pop())

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        for m in self._open_marks:
            m["text"] += data

    def evidence_marks(self) -> dict[str, dict[str, str | None]]:
        """Highlighted spans in the article text (they carry data-kind), by their text."""
        return {m["text"]: m["attrs"] for m in self.marks if "data-kind" in m["attrs"]}


def seed_key(rep: dict[str, Any]) -> str:
    return Path(rep["source"]).name[:3]


@pytest.fixture(scope="module")
def pages(seed_result: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Seed prefix -> written page, plus "index"."""
    out = tmp_path_factory.mktemp("html")
    html.write_pages(seed_result.reports, out)
    found = {seed_key(r): out / f"{r['article_id']}.html" for r in seed_result.reports}
    return {**found, "index": out / "index.html"}


@pytest.fixture(scope="module")
def script_audit(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """`mtaudit audit` on an article whose body quotes HTML: default formats include the HTML page."""
    folder = tmp_path_factory.mktemp("script")
    src = folder / "council.txt"
    src.write_text(SCRIPT_ARTICLE, encoding="utf-8")
    out = folder / "reports"
    result = CliRunner().invoke(app, ["audit", str(src), "--out", str(out), "--quiet"])
    assert result.exit_code in (0, 1), result.output
    rep = json.loads(next(out.glob("[0-9a-f]*.json")).read_text(encoding="utf-8"))
    return out, rep


def chromium_dom(page: Path, screenshot: Path | None = None) -> str:
    if html.find_chromium() is None:
        pytest.skip("chromium is not installed (Debian package 'chromium'; `make setup` installs it)")
    return html.chromium(page, screenshot=screenshot, timeout=180)


def test_article_text_is_escaped_not_injected(script_audit: tuple[Path, dict[str, Any]]) -> None:
    out, rep = script_audit
    assert any(PAYLOAD in s["text"] for s in rep["sentences"]), "the payload should be audited as prose"
    page = (out / f"{rep['article_id']}.html").read_text(encoding="utf-8")
    dom = Dom(page)
    assert [t for t, _ in dom.tags if t in ("script", "img", "iframe", "object", "embed")] == []
    assert not any(k.startswith("on") for _, attrs in dom.tags for k in attrs)
    shown = "".join(dom.text)
    assert PAYLOAD in shown and IMG in shown
    assert "&lt;script&gt;" in page and "&amp;lt;" not in page  # escaped once, not twice
    assert (out / "index.html").exists()


def test_spans_inside_markup_text_are_escaped() -> None:
    """A span, suggestion and reference that hold markup stay text, attributes stay closed."""
    sent = {
        "index": 0,
        "start": 10,
        "end": 40,
        "text": 'He said <b>Shinchoa</b> "quoted" & more',
        "flagged": True,
        "mt_probability": 0.9,
        "repaired": 'He said <b>Xinhua</b> "quoted" & more',
        "spans": [
            {
                "start": 21,
                "end": 29,
                "text": "Shinchoa",
                "kind": 'name" onmouseover="x',
                "weight": 0.8,
                "reason": "<i>why</i>",
                "suggestion": 'Xin"hua<script>',
                "support": ["<svg onload=x>"],
            }
        ],
        "references": [{"text": "</textarea><script>alert(1)</script>", "source": "<b>outlet</b>", "similarity": 0.7}],
        "scores": {"chrf": 10.0, "bleu": 1.0, "ter": 90.0, "semantic": 0.5, "quality": 0.5},
    }
    rep = {
        "article_id": "0" * 16,
        "source": "<em>src</em>",
        "title": "<title>x</title>",
        "date": None,
        "story_id": None,
        "verdict": {
            "machine_translated": True,
            "probability": 0.9,
            "pivot_language": "<u>es</u>",
            "abstained": False,
            "reasons": ["<h1>loud</h1>"],
        },
        "sentences": [sent],
        "signature": "sig<&>",
    }
    page = html.article_page(rep)
    dom = Dom(page)
    assert {t for t, _ in dom.tags} <= {
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "main",
        "p",
        "a",
        "h1",
        "h2",
        "h3",
        "span",
        "code",
        "section",
        "div",
        "ul",
        "li",
        "ol",
        "mark",
        "article",
        "header",
        "strong",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "ins",
        "del",
        "cite",
        "dl",
        "dt",
        "dd",
        "abbr",
        "footer",
    }
    marks = dom.evidence_marks()
    assert marks["Shinchoa"]["data-kind"] == 'name" onmouseover="x'
    assert marks["Shinchoa"]["data-suggestion"] == 'Xin"hua<script>'
    assert not any(k.startswith("on") for _, attrs in dom.tags for k in attrs)
    assert "<b>Shinchoa</b>" in "".join(dom.text)


def test_pages_are_self_contained(pages: dict[str, Path]) -> None:
    for page in pages.values():
        text = page.read_text(encoding="utf-8")
        dom = Dom(text)
        assert not [t for t, _ in dom.tags if t in ("script", "link", "img", "iframe")]
        assert not any(k == "src" for _, attrs in dom.tags for k in attrs)
        assert "@import" not in text and "url(" not in text
        hrefs = [a["href"] for t, a in dom.tags if t == "a" and a.get("href")]
        assert all(h.startswith("#") or h.endswith(".html") for h in hrefs), hrefs
        for h in hrefs:
            if h.endswith(".html"):
                assert (page.parent / h).exists(), h


def test_article_page_shows_evidence_beside_references(pages: dict[str, Path], seed_reports: dict[str, dict[str, Any]]) -> None:
    page = pages["000"].read_text(encoding="utf-8")
    dom = Dom(page)
    marks = dom.evidence_marks()
    assert marks["Shinchoa"]["data-suggestion"] == "Xinhua" and marks["Shinchoa"]["data-kind"] == "name_mismatch"
    assert "002_" in (marks["Shinchoa"]["data-tip"] or "")  # the backing outlets, by name, on hover
    rep = seed_reports["000"]
    flagged = [s for s in rep["sentences"] if s["flagged"]]
    cards = [a for t, a in dom.tags if t == "article" and "card" in (a.get("class") or "")]
    assert {int(a["data-index"] or -1) for a in cards} >= {s["index"] for s in flagged}
    for s in flagged:
        for ref in s["references"]:
            assert ref["text"] in "".join(dom.text)
    assert rep["signatures"]["chrf"] in page and rep["signature"] in page
    shin = next(s for s in flagged if "Shinchoa" in s["text"])
    assert html.diff(shin["text"], shin["repaired"]) == [
        {"op": "same", "text": shin["text"][: shin["text"].index("Shinchoa")]},
        {"op": "del", "text": "Shinchoa"},
        {"op": "ins", "text": "Xinhua"},
        {"op": "same", "text": shin["text"][shin["text"].index("Shinchoa") + 8 :]},
    ]
    assert "<ins>Xinhua</ins>" in page


def test_pages_name_the_outlets_jsonl_rows_give(seed_reports: dict[str, dict[str, Any]]) -> None:
    """A JSONL row's `source` ("Reuters") is its outlet: the pages name it where its location (rows.jsonl:3) would say less."""
    import copy

    reps = {k: copy.deepcopy(r) for k, r in seed_reports.items()}
    for k, r in reps.items():
        r["source"], r["meta"] = f"feed.jsonl:{k}", {**r.get("meta", {}), "outlet": f"Outlet {k}"}
    sources = html.source_map(reps.values())
    dom = Dom(html.article_page(reps["000"], sources))
    assert "Outlet 002" in (dom.evidence_marks()["Shinchoa"]["data-tip"] or "")
    page_text = "".join(dom.text)
    cited = {ref["article_id"] for s in reps["000"]["sentences"] if s["flagged"] for ref in s["references"]}
    assert cited and all(f"Outlet {k}" in page_text for k, r in reps.items() if r["article_id"] in cited)  # beside each reference
    index_text = "".join(Dom(html.index_page(list(reps.values()))).text)
    assert all(f"Outlet {k}" in index_text for k in reps)


def test_index_ranks_by_probability(pages: dict[str, Path], seed_reports: dict[str, dict[str, Any]]) -> None:
    dom = Dom(pages["index"].read_text(encoding="utf-8"))
    rows = [a for t, a in dom.tags if t == "tr" and a.get("data-article-id")]
    probs = [float(a["data-probability"] or 0) for a in rows]
    assert probs == sorted(probs, reverse=True) and len(rows) == 5
    by_id = {r["article_id"]: k for k, r in seed_reports.items()}
    assert {by_id[a["data-article-id"] or ""] for a in rows[:2]} == {"000", "002"}  # the two machine translations first


def test_overlapping_spans_become_pieces() -> None:
    sent = {
        "start": 100,
        "text": "We met Beit Higseth today",
        "spans": [
            {"start": 107, "end": 119, "text": "Beit Higseth", "kind": "name_mismatch"},
            {"start": 112, "end": 119, "text": "Higseth", "kind": "rare_word"},
            {"start": 0, "end": 5, "text": "today", "kind": "case"},
        ],
    }  # wrong offsets: found by its text
    pieces = html.segments(sent)  # type: ignore[arg-type]
    assert "".join(p["text"] for p in pieces) == sent["text"]
    assert [(p["text"], p["kinds"]) for p in pieces] == [
        ("We met ", ""),
        ("Beit ", "name_mismatch"),
        ("Higseth", "name_mismatch rare_word"),
        (" ", ""),
        ("today", "case"),
    ]


def test_report_command_regenerates_pages(seed_result: Any, tmp_path: Path) -> None:
    for rep in seed_result.reports:
        report.write_article(rep, tmp_path, ("json",))
    result = CliRunner().invoke(app, ["report", str(tmp_path), "--html", "--quiet"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "index.html").exists()
    assert len(list(tmp_path.glob("[0-9a-f]*.html"))) == len(seed_result.reports)
    result = CliRunner().invoke(app, ["report", str(tmp_path / "none")])
    assert result.exit_code == 2


def test_chromium_renders_the_seed_highlights(pages: dict[str, Path], tmp_path: Path) -> None:
    shot = tmp_path / "000.png"
    dom = Dom(chromium_dom(pages["000"], screenshot=shot))
    marks = dom.evidence_marks()
    assert marks["the eleventh"]["data-kind"] == "name_as_word" and marks["the eleventh"]["data-suggestion"] == "Xi"
    assert marks["Shinchoa"]["data-kind"] == "name_mismatch" and marks["Shinchoa"]["data-suggestion"] == "Xinhua"
    assert len((marks["Shinchoa"]["data-support"] or "").split(",")) >= 2
    head = shot.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", head[16:24])
    assert width >= 1000 and height >= 1000
    from PIL import Image

    with Image.open(shot) as im:
        colours = im.convert("RGB").resize((160, 250)).getcolors(maxcolors=100_000) or []
    assert len(colours) > 20, "the screenshot is blank"


def test_chromium_shows_script_text_as_text(script_audit: tuple[Path, dict[str, Any]]) -> None:
    out, rep = script_audit
    dom_text = chromium_dom(out / f"{rep['article_id']}.html")
    dom = Dom(dom_text)
    assert [t for t, _ in dom.tags if t in ("script", "img")] == []
    body = next(a for t, a in dom.tags if t == "body")
    assert "data-pwned" not in body
    title = dom_text[dom_text.index("<title>") : dom_text.index("</title>")]
    assert "PWNED" not in title
    assert PAYLOAD in "".join(dom.text)


def test_notebook_fragment_styles_only_itself(seed_reports: dict[str, dict[str, Any]]) -> None:
    """The fragment shown in notebooks carries the flagged cards and CSS that cannot restyle the notebook."""
    frag = html.evidence_fragment(seed_reports["000"], only_flagged=True)
    style = frag[frag.index("<style>") + 7 : frag.index("</style>")]
    heads = [h.strip() for h in re.findall(r"([^{}]+)\{", style) if not h.strip().startswith("@")]
    assert len(heads) > 20
    assert all(s.strip().startswith(".mtaudit-fragment") for h in heads for s in h.split(","))
    assert "&#34;" not in style and '"Segoe UI"' in style  # CSS verbatim, not HTML-escaped
    flagged = [str(s["index"]) for s in seed_reports["000"]["sentences"] if s["flagged"]]
    assert re.findall(r'<article class="card[^"]*" id="e(\d+)"', frag) == flagged
    assert 'data-suggestion="Xinhua"' in frag


def sentence_items(page: str) -> dict[int, tuple[dict[str, str | None], str, str]]:
    """Article-text lines by sentence index: the <li> attributes, the shown probability and its tooltip."""
    dom = Dom(page)
    attrs = {int(a["data-index"] or -1): a for t, a in dom.tags if t == "li" and "sent" in (a.get("class") or "").split()}
    shown = {int(i): (tip, re.sub(r"<[^>]+>", " ", text).strip())
             for i, tip, text in re.findall(r'<li id="s(\d+)".*?<span class="p" title="([^"]*)">(.*?)</span>\s*</li>', page, re.S)}
    assert set(attrs) == set(shown)
    return {i: (attrs[i], *shown[i]) for i in attrs}


def test_sentence_shows_the_probability_that_flagged_it(pages: dict[str, Path], seed_reports: dict[str, dict[str, Any]]) -> None:
    """A sentence only the sentence model flagged read data-p="0.0" (its spans' 0.30) beside its flag: each line carries
    both probabilities and what flagged it, and shows the probability behind its flag."""
    model_only = 0
    for key in ("000", "002"):
        rep = seed_reports[key]
        items = sentence_items(pages[key].read_text(encoding="utf-8"))
        assert set(items) == {s["index"] for s in rep["sentences"]}
        for s in rep["sentences"]:
            attrs, tip, shown = items[s["index"]]
            by = report.flagged_by(s) if s["flagged"] else []
            p = max(s["mt_probability"], s["model_probability"]) if "sentence model" in by else s["mt_probability"]
            assert float(attrs["data-p"] or "nan") == pytest.approx(p), (key, s["index"])
            assert float(attrs["data-p-spans"] or "nan") == pytest.approx(s["mt_probability"])
            assert float(attrs["data-p-model"] or "nan") == pytest.approx(s["model_probability"])
            assert attrs["data-flagged-by"] == ",".join(by)
            assert f"spans {s['mt_probability']:.2f}" in tip and f"sentence model {s['model_probability']:.2f}" in tip
            if s["flagged"]:
                assert p >= 0.5 and shown.startswith(f"{p:.2f}"), (key, s["index"], shown)
                assert tip.startswith("flagged by " + " and ".join(by))
                assert ("model" in shown) == ("sentence model" in by)
            if by == ["sentence model"]:
                model_only += 1
                assert "by-model" in (attrs["class"] or "") and float(attrs["data-p"] or 0) >= 0.6
    assert model_only >= 6
    # the case that read 0.0: spans below the threshold, the flag the sentence model's (002 s10: spans 0.3, model 0.87)
    weak_spans = [(key, s) for key in ("000", "002") for s in seed_reports[key]["sentences"]
                  if report.flagged_by(s) == ["sentence model"] and 0 < s["mt_probability"] < 0.5]
    assert weak_spans
    for key, s in weak_spans:
        attrs = sentence_items(pages[key].read_text(encoding="utf-8"))[s["index"]][0]
        assert float(attrs["data-p-spans"] or "nan") == pytest.approx(s["mt_probability"]) and float(attrs["data-p"] or 0) >= 0.6


def test_flag_probability_without_models() -> None:
    """The page's probability rule on hand-made sentences: the model's counts only where it flagged the sentence."""
    base = {"index": 0, "start": 0, "end": 10, "text": "Some text.", "spans": [], "references": [], "repaired": None, "scores": {}}
    assert html.flag_probability({**base, "flagged": True, "flagged_by": ["sentence model"], "mt_probability": 0.0, "model_probability": 0.84}) == 0.84
    assert html.flag_probability({**base, "flagged": True, "flagged_by": ["spans", "sentence model"], "mt_probability": 0.9, "model_probability": 0.7}) == 0.9
    assert html.flag_probability({**base, "flagged": False, "flagged_by": [], "mt_probability": 0.45, "model_probability": 0.58}) == 0.45
    assert html.flag_probability({**base, "flagged": True, "mt_probability": 0.7, "model_probability": None}) == 0.7  # an older report
    rep = {
        "article_id": "0" * 16, "source": "a.txt", "title": None, "date": None, "story_id": None, "signature": "sig",
        "verdict": {"machine_translated": True, "probability": 0.9, "pivot_language": None, "abstained": False, "reasons": []},
        "sentences": [{**base, "flagged": True, "flagged_by": ["sentence model"], "mt_probability": 0.0, "model_probability": 0.84}],
    }
    attrs, tip, shown = sentence_items(html.article_page(rep))[0]
    assert (attrs["data-p"], attrs["data-p-spans"], attrs["data-p-model"], attrs["data-flagged-by"]) == ("0.84", "0.0", "0.84", "sentence model")
    assert shown == "0.84 model" and tip == "flagged by sentence model · spans 0.00 · sentence model 0.84"


@pytest.mark.parametrize(("support", "says"), [(["reuters"], "others write “Xinhua”"), ([], "English writes “Xinhua”")])
def test_a_suggestion_says_who_backs_it(support: list[str], says: str) -> None:
    """A suggestion no outlet backs (a Romance construction's English, "its" for China's "her") is not the outlets'."""
    tip = report.html._tip({"kind": "name_mismatch", "severity": "major", "suggestion": "Xinhua", "support": support}, {"reuters": "reuters"})
    assert says in tip and ("backed by" in tip) == bool(support)
