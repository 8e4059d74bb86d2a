"""mtaudit nightly against a real HTTP server on 127.0.0.1: bad feeds fail alone, two nights in a row, lock, config.

The articles are the first lines of the seeds (all about one story), so the real pipeline runs
on real text while each night audits only a handful of short articles.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mtaudit import nightly, report
from mtaudit.base import exits
from mtaudit.cli import app
from mtaudit.lab.bench_nightly import LoopbackServer, as_html, html_page, rss
from mtaudit.nightly.job import FeedReport, _Night, night_feed, night_problems
from mtaudit.nightly.state import State
from tests import feeds
from tests.conftest import ROOT

runner = CliRunner()
DATE = "2026-01-15"
FRENCH = (
    "Le président américain Donald Trump a annoncé jeudi qu'il avait eu un long entretien téléphonique avec le "
    "dirigeant chinois Xi Jinping. Les deux dirigeants ont convenu de se rencontrer prochainement pour discuter "
    "des tarifs douaniers et des terres rares."
)
GERMAN = (
    "Der amerikanische Präsident Donald Trump hat am Donnerstag mitgeteilt, dass er ein langes Telefongespräch mit dem "
    "chinesischen Staatschef Xi Jinping geführt habe. Die beiden Politiker vereinbarten, sich bald zu treffen, um über "
    "Zölle und seltene Erden zu sprechen. Beide Seiten bezeichneten das Gespräch als sehr positiv und konstruktiv."
)
NO_ARTICLE = (
    b"<!doctype html><html><head><title>Section</title></head><body><nav><a href='/'>Home</a> <a href='/a'>World</a> "
    b"<a href='/b'>Sport</a> <a href='/c'>Weather</a></nav><div class='ad'>Subscribe now</div>"
    b"<footer><p>Copyright 2026</p></footer></body></html>"
)
FAST_HTTP = "timeout = 0.5\ndeadline = 1.5\nretries = 1\nbackoff = 0.01\nmax_bytes = 1000000"


def excerpt(prefix: str, lines: int = 8) -> str:
    """The first lines of a seed article: real news text, short enough to audit in seconds."""
    path = next((ROOT / "seeds").glob(f"{prefix}_*.txt"))
    return "\n".join([ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()][:lines])


def entry(base: str, slug: str, title: str, content: str | None = None, summary: str | None = None) -> dict[str, Any]:
    return {"title": title, "link": f"{base}/news/{slug}.html", "date": DATE, "content": content,
            "summary": summary or f"{title}: read the full story on our site."}


def config(path: Path, feeds_toml: list[str], extra: str = "batch_size = 2\nsettle_seconds = 0") -> Path:
    path.write_text("\n".join(["[nightly]", 'out = "out"', 'state = "state"', extra, "", "[nightly.http]", FAST_HTTP, "", *feeds_toml]),
                    encoding="utf-8")
    return path


def feed_toml(name: str, url: str | None = None, path: str | None = None) -> str:
    where = f'url = "{url}"' if url else f'path = "{path}"'
    return f'[[nightly.feeds]]\nname = "{name}"\n{where}\n'


def reports_in(out: Path) -> dict[str, dict[str, Any]]:
    found = {}
    for p in out.glob("*.json"):
        rep = json.loads(p.read_text(encoding="utf-8"))
        report.validate(rep)
        found[rep["article_id"]] = rep
    return found


# ---- one night of bad input, then a second night through the CLI -----------------------------------

@pytest.fixture(scope="module")
def bad_night(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("bad-night")
    with LoopbackServer() as srv:
        b = srv.base
        srv.routes["/news/003.html"] = html_page("Trump and Xi talk trade", excerpt("003"))
        srv.routes["/news/empty.html"] = NO_ARTICLE
        srv.routes["/news/huge.html"] = feeds.huge(3_000_000, declare=False)
        srv.routes["/good.xml"] = rss("good", b, [
            entry(b, "001", "Trump and Xi agree to meet", content=as_html(excerpt("001"))),
            entry(b, "003", "Trump and Xi talk trade"),  # summary only: the page is fetched
            entry(b, "empty", "A page without an article"),
            entry(b, "fr", "Trump et Xi", content=f"<p>{FRENCH}</p>"),
            entry(b, "001-copy", "Same story, new address", content=as_html(excerpt("001"))),
            entry(b, "huge", "A very long page"),
        ])
        srv.routes["/malformed.xml"] = b'<?xml version="1.0"?><rss version="2.0"><channel><title>cut off in the mid'
        srv.routes["/error.xml"] = feeds.status(500)
        srv.routes["/hang.xml"] = feeds.hang(srv)
        srv.routes["/trickle.xml"] = feeds.trickle(srv)
        drops = tmp / "drops"
        drops.mkdir()
        (drops / "partner.jsonl").write_text(
            json.dumps({"id": "p-1", "title": "Trump and Xi invite each other", "date": DATE, "source": "Partner Wire", "text": excerpt("004")}) + "\n{not json\n",
            encoding="utf-8",
        )
        # the failing feeds come first: the good ones after them must still be read
        cfg_path = config(tmp / "nightly.toml", [
            feed_toml("malformed", f"{b}/malformed.xml"), feed_toml("error", f"{b}/error.xml"),
            feed_toml("missing", f"{b}/missing.xml"), feed_toml("hang", f"{b}/hang.xml"),
            feed_toml("trickle", f"{b}/trickle.xml"), feed_toml("good", f"{b}/good.xml"), feed_toml("drops", path="drops"),
        ])
        first = nightly.run(nightly.load_config(cfg_path))
        night1_requests = len(srv.requests)
        second = runner.invoke(app, ["nightly", "--config", str(cfg_path), "--json"])
        yield {"first": first, "second": second, "out": tmp / "out", "server": srv, "night1_requests": night1_requests, "config": cfg_path}


def test_each_bad_feed_fails_alone_and_the_others_are_read(bad_night: dict[str, Any]) -> None:
    first: nightly.NightlyResult = bad_night["first"]
    by = {f.name: f for f in first.feeds}
    assert {n: by[n].status for n in by} == {
        "malformed": "error", "error": "error", "missing": "error", "hang": "error", "trickle": "error", "good": "ok", "drops": "ok",
    }
    assert "[E_FEED]" in (by["malformed"].error or "")
    assert "[E_HTTP_500]" in (by["error"].error or "") and len(bad_night["server"].hits("/error.xml")) >= 2  # retried
    assert "[E_HTTP_404]" in (by["missing"].error or "")
    assert "[E_TIMEOUT]" in (by["hang"].error or "")
    assert "[E_DEADLINE]" in (by["trickle"].error or "")
    good = by["good"]
    assert (good.entries, good.new, good.duplicates, good.skipped, good.failed) == (6, 2, 1, 3, 0)
    codes = {p["code"] for p in good.problems}
    assert {"E_NO_ARTICLE", "E_LANGUAGE", "W_DUPLICATE", "E_TOO_LARGE"} <= codes
    assert (by["drops"].new, by["drops"].skipped) == (1, 1) and {p["code"] for p in by["drops"].problems} == {"E_JSON"}
    assert first.exit_code == exits.PARTIAL


def test_good_items_get_valid_reports_and_an_index_listing_them(bad_night: dict[str, Any]) -> None:
    first: nightly.NightlyResult = bad_night["first"]
    out: Path = bad_night["out"]
    reps = reports_in(out)
    assert len(reps) == 3 and first.audited == 3
    assert {r["source"].rsplit("/", 1)[-1] for r in reps.values()} == {"001.html", "003.html", "partner.jsonl:1"}
    assert [r["meta"].get("outlet") for r in reps.values() if r["source"].endswith(":1")] == ["Partner Wire"]  # its `source` field
    assert len({r["story_id"] for r in reps.values()}) == 1 and None not in {r["story_id"] for r in reps.values()}  # one story
    index = json.loads(Path(first.index["json"]).read_text(encoding="utf-8"))
    assert sorted(a["article_id"] for a in index["articles"]) == sorted(reps)
    for a in index["articles"]:
        assert (out / "runs" / a["page"]).resolve().exists() and (out / "runs" / a["report"]).resolve().exists()
    assert len(index["feeds"]) == 7 and all(f["line"].startswith(f"feed {f['name']}:") for f in index["feeds"])
    md = Path(first.index["md"]).read_text(encoding="utf-8")
    assert "FAILED" in md and "E_NO_ARTICLE" in md
    assert "<table>" in Path(first.index["html"]).read_text(encoding="utf-8")
    assert not list(out.glob(".*.tmp")) and not list((out / "runs").glob(".*.tmp"))


def test_second_night_asks_conditionally_and_refetches_nothing(bad_night: dict[str, Any]) -> None:
    second = bad_night["second"]
    assert second.exit_code == exits.PARTIAL, second.output  # the broken feeds are still broken
    payload = json.loads(second.stdout)
    by = {f["name"]: f for f in payload["feeds"]}
    assert by["good"]["status"] == "not_modified" and payload["articles"] == [] and payload["audited"] == 0
    srv: LoopbackServer = bad_night["server"]
    later = [p for p, _ in srv.requests[bad_night["night1_requests"] :]]
    assert not [p for p in later if p.startswith("/news/")]  # no page fetched again, skipped ones included
    assert "If-None-Match" in srv.hits("/good.xml")[-1]
    assert len(reports_in(bad_night["out"])) == 3


# ---- two nights in a row: conditional requests, and a story that continues --------------------------

@pytest.fixture(scope="module")
def two_nights(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("two-nights")
    with LoopbackServer() as srv:
        b = srv.base
        srv.routes["/wire.xml"] = rss("wire", b, [entry(b, "001", "Trump and Xi agree to meet", content=as_html(excerpt("001")))])
        srv.routes["/news/003.html"] = html_page("Trump and Xi talk trade", excerpt("003"))
        srv.routes["/news/004.html"] = html_page("Trump and Xi invite each other", excerpt("004"))
        web_night1 = [entry(b, "003", "Trump and Xi talk trade")]
        srv.routes["/web.xml"] = rss("web", b, web_night1)
        cfg = nightly.load_config(config(tmp / "nightly.toml", [feed_toml("wire", f"{b}/wire.xml"), feed_toml("web", f"{b}/web.xml")]))
        night1 = nightly.run(cfg)
        mark = len(srv.requests)
        srv.routes["/web.xml"] = rss("web", b, [entry(b, "004", "Trump and Xi invite each other"), *web_night1])  # one new item
        night2 = nightly.run(cfg)
        yield {"night1": night1, "night2": night2, "server": srv, "night2_requests": srv.requests[mark:], "out": cfg.out}


def test_second_night_fetches_only_what_is_new(two_nights: dict[str, Any]) -> None:
    n1, n2 = two_nights["night1"], two_nights["night2"]
    assert [f.status for f in n1.feeds] == ["ok", "ok"] and n1.audited == 2
    wire, web = n2.feeds
    assert wire.status == "not_modified" and wire.http_status == 304
    assert web.status == "ok" and (web.entries, web.new) == (2, 1)
    paths = [p for p, _ in two_nights["night2_requests"]]
    assert sorted(paths) == ["/news/004.html", "/web.xml", "/wire.xml"]  # the old page is not fetched again
    assert all("If-None-Match" in h for p, h in two_nights["night2_requests"] if p.endswith(".xml"))
    assert n2.audited == 1 and len(n2.articles) == 1


def test_a_new_article_joins_last_nights_story(two_nights: dict[str, Any]) -> None:
    n1, n2 = two_nights["night1"], two_nights["night2"]
    reps = reports_in(two_nights["out"])
    old_ids = {a["article_id"] for a in n1.articles}
    (new_id,) = {a["article_id"] for a in n2.articles}
    story = {reps[i]["story_id"] for i in old_ids}
    assert len(story) == 1 and None not in story
    assert reps[new_id]["story_id"] in story  # the same story_id across nights
    assert old_ids <= set(reps[new_id]["story_articles"])  # last night's articles served as its context


# ---- bad items on stderr and in the exit code ----------------------------------------------------------

def warnings_by_code(stderr: str) -> dict[str, list[str]]:
    """The log lines naming a problem code ("... [E_BINARY]"), grouped by code."""
    found: dict[str, list[str]] = {}
    for ln in stderr.splitlines():
        if ln.endswith("]") and "[" in ln:
            found.setdefault(ln.rsplit("[", 1)[1][:-1], []).append(ln)
    return found


def test_bad_drop_items_warn_once_on_stderr_exit_3_and_are_not_retried(tmp_path: Path) -> None:
    """--quiet is for cron mail: each item that could not be audited is one WARNING line, and the night exits 3,
    as `mtaudit audit` does for inputs it could not audit. Refused for their content, they are remembered: the next
    night neither reports them again nor exits 3 for them."""
    drops = tmp_path / "drops"
    drops.mkdir()
    (drops / "001.txt").write_text(excerpt("001"), encoding="utf-8")
    (drops / "003.txt").write_text(excerpt("003"), encoding="utf-8")
    (drops / "noise.txt").write_bytes(bytes(range(256)) * 8)
    (drops / "de.txt").write_text(GERMAN, encoding="utf-8")
    (drops / "partner.jsonl").write_text("{not json\n", encoding="utf-8")
    (drops / "blob.jsonl").write_bytes(bytes(range(256)) * 4)
    cfg = config(tmp_path / "n.toml", [feed_toml("drops", path="drops")])
    night1 = runner.invoke(app, ["nightly", "--config", str(cfg), "--quiet"])
    assert night1.exit_code == exits.PARTIAL, night1.output
    assert night1.stdout == "" and " INFO " not in night1.stderr
    got = warnings_by_code(night1.stderr)
    expected = {"E_BINARY": sorted([str(drops / "noise.txt"), str(drops / "blob.jsonl")]), "E_LANGUAGE": [str(drops / "de.txt")],
                "E_JSON": [f"{drops / 'partner.jsonl'}:1"]}
    assert set(got) == set(expected), night1.stderr
    for code, sources in expected.items():
        assert len(got[code]) == len(sources), night1.stderr
        for line, source in zip(sorted(got[code]), sources, strict=True):
            assert " WARNING feed drops: error: " in line and f": {source}: " in line, line
    assert "language is de" in got["E_LANGUAGE"][0] and "binary data" in got["E_BINARY"][0]
    assert len(reports_in(tmp_path / "out")) == 2

    night2 = runner.invoke(app, ["nightly", "--config", str(cfg), "--quiet", "--json"])
    assert night2.exit_code == exits.CLEAN, night2.output
    assert warnings_by_code(night2.stderr) == {}
    payload = json.loads(night2.stdout)
    assert payload["problems"] == [] and payload["feeds"][0]["skipped"] == 0 and payload["error"] is None
    st = State(tmp_path / "state" / "state.sqlite")
    try:
        assert st.counts() == {"reported": 2, "skipped": 4}
    finally:
        st.close()


def test_a_malformed_feed_and_a_gone_page_are_warned_about(tmp_path: Path) -> None:
    """Without --quiet too: the W_FEED warning of a feed read despite its errors, and a linked page's 404, each on a
    WARNING line naming the URL; the 404 counts as a failed item (exit 3) on its night only."""
    with LoopbackServer() as srv:
        b = srv.base
        srv.routes["/loose.xml"] = (
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>loose</title><item><title>Gone</title>'
            f"<link>{b}/news/gone.html</link><description>Read it &nbsp; here</description></item></channel></rss>"
        ).encode()
        cfg = config(tmp_path / "n.toml", [feed_toml("loose", f"{b}/loose.xml")])
        night1 = runner.invoke(app, ["nightly", "--config", str(cfg)])
        night2 = runner.invoke(app, ["nightly", "--config", str(cfg)])
        gone_hits = len(srv.hits("/news/gone.html"))
    assert night1.exit_code == exits.PARTIAL, night1.output
    got = warnings_by_code(night1.stderr)
    (feed_line,) = got["W_FEED"]
    assert " WARNING feed loose: warning: " in feed_line and f"{b}/loose.xml: feed is not well-formed; read 1 entries" in feed_line
    (page_line,) = got["E_HTTP_404"]
    assert " WARNING feed loose: error: " in page_line and f"{b}/news/gone.html: HTTP 404" in page_line
    assert "1 skipped" in night1.stderr and "1 item(s) not audited" in night1.stderr
    assert night2.exit_code == exits.CLEAN, night2.output  # the gone page is not asked for again
    assert gone_hits == 1 and "E_HTTP_404" not in night2.stderr


class Killed(BaseException):
    """Stands in for kill -9 (BaseException: nothing in the run may swallow it)."""


@pytest.mark.parametrize("how", ["killed", "failed"])
def test_problems_of_a_killed_or_failed_run_are_in_the_index_and_exit_code_of_the_run_completing_the_night(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str,
) -> None:
    """The first run meets three bad drop items (remembered, so never met again) and dies: killed (left 'running',
    as kill -9 leaves it) or stopped on an error (exit 5). The next run meets nothing itself, yet its index lists
    them and says what the feed gave over both runs, and it exits 3. The run after that starts a new night."""
    drops = tmp_path / "drops"
    drops.mkdir()
    (drops / "noise.txt").write_bytes(bytes(range(256)) * 8)
    (drops / "de.txt").write_text(GERMAN, encoding="utf-8")
    (drops / "partner.jsonl").write_text("{not json\n", encoding="utf-8")
    cfg = nightly.load_config(config(tmp_path / "n.toml", [feed_toml("drops", path="drops")]))

    def dies(self: Any) -> int:
        raise Killed if how == "killed" else RuntimeError("disk [full]")

    def no_record(self: State, *args: Any) -> None:
        raise Killed  # the process is gone: nothing records how the run ended

    with monkeypatch.context() as m:
        m.setattr(_Night, "audit", dies)
        if how == "killed":
            m.setattr(State, "finish_run", no_record)
        with pytest.raises(Killed if how == "killed" else RuntimeError):
            nightly.run(cfg)
    completing = nightly.run(cfg)  # nothing new, nothing pending: no model is loaded
    after = nightly.run(cfg)

    st = State(cfg.state / "state.sqlite")
    try:
        runs = st.runs()
    finally:
        st.close()
    assert [r["status"] for r in runs] == ["interrupted" if how == "killed" else "failed", "finished", "finished"]
    first = runs[0]["run_id"]
    assert sorted((p["code"], p["run_id"]) for p in completing.problems) == [("E_BINARY", first), ("E_JSON", first), ("E_LANGUAGE", first)]
    assert completing.exit_code == exits.PARTIAL and [r["run_id"] for r in completing.night] == [first, completing.run_id]
    (feed,) = completing.feeds
    assert (feed.status, feed.runs, feed.entries, feed.new, feed.skipped) == ("ok", ["ok", "ok"], 3, 0, 3)
    assert feed.line().startswith("feed drops: 3 entries, 0 new, 0 duplicate, 3 skipped over 2 runs tonight")
    index = json.loads(Path(completing.index["json"]).read_text(encoding="utf-8"))
    assert index["problems"] == completing.problems and index["exit_code"] == exits.PARTIAL
    md = Path(completing.index["md"]).read_text(encoding="utf-8")
    assert f"this run completes a night of 2 runs: it covers the feeds, articles and problems of {first} ({runs[0]['status']})" in md
    assert md.count(f"(met by run {first})") == 3
    # the night is over: the next run reports only itself
    assert after.exit_code == exits.CLEAN and after.problems == [] and [r["run_id"] for r in after.night] == [after.run_id]
    assert after.feeds[0].line().startswith("feed drops: 3 entries, 0 new, 0 duplicate, 0 skipped (")


def test_a_feeds_night_over_several_runs() -> None:
    """What the index says of a feed that a killed run read too: the night's items, its failures, its last answer."""
    def run(status: str, new: int = 0, skipped: int = 0, error: str | None = None) -> dict[str, Any]:
        return {"run_id": "r", "status": status, "http_status": None, "entries": 5 if status == "ok" else 0, "new": new, "duplicates": 0,
                "skipped": skipped, "failed": 0, "waiting": 0, "seconds": 1.0, "error": error}

    now_304 = FeedReport("f", "u", status="not_modified", http_status=304, seconds=0.5)
    got = night_feed(now_304, [run("ok", new=3, skipped=1)], [])
    assert (got.status, got.entries, got.new, got.skipped, got.runs) == ("ok", 5, 3, 1, ["ok", "not_modified"])
    assert got.line() == "feed f: 5 entries, 3 new, 0 duplicate, 1 skipped over 2 runs tonight; last run: not modified (HTTP 304) (1.5 s)"
    failing = FeedReport("f", "u", status="error", error="HTTP 500 [E_HTTP_500]", seconds=0.5)
    got = night_feed(failing, [run("ok", new=2), run("error", error="timed out [E_TIMEOUT]")], [])
    assert got.status == "error" and got.error == "HTTP 500 [E_HTTP_500]"
    assert got.line() == "feed f: FAILED HTTP 500 [E_HTTP_500] in 2 of 3 runs tonight; 5 entries, 2 new, 0 duplicate, 0 skipped (2.5 s)"
    read_now = FeedReport("f", "u", entries=4, new=4, seconds=0.5)
    got = night_feed(read_now, [run("error", error="HTTP 503 [E_HTTP_503]")], [])
    assert got.status == "error" and got.line() == "feed f: FAILED HTTP 503 [E_HTTP_503] in 1 of 2 runs tonight; 4 entries, 4 new, 0 duplicate, 0 skipped (1.5 s)"
    assert night_feed(now_304, [run("not_modified")], []).line() == "feed f: not modified (HTTP 304) in 2 runs tonight, nothing new (1.5 s)"
    alone = night_feed(read_now, [], [{"feed": "f", "source": "u", "level": "warning", "code": "W_FEED", "message": "m", "run_id": "r"}])
    assert alone.runs == ["ok"] and alone.line() == "feed f: 4 entries, 4 new, 0 duplicate, 0 skipped; not well-formed, read anyway (warning W_FEED) (0.5 s)"


def test_a_problem_met_again_by_a_later_run_of_the_night_is_listed_once() -> None:
    def p(run_id: str, source: str, code: str = "E_HTTP_500") -> dict[str, str]:
        return {"feed": "f", "source": source, "level": "error", "code": code, "message": "m", "run_id": run_id}

    rows = [p("a", "feed"), p("a", "page1", "E_HTTP_404"), p("b", "feed"), p("b", "page2"), p("b", "page2", "W_HTML"), p("c", "feed")]
    assert night_problems(rows) == [p("a", "page1", "E_HTTP_404"), p("b", "page2"), p("b", "page2", "W_HTML"), p("c", "feed")]


def test_a_version_1_state_gains_the_night_tables_and_a_newer_one_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    st = State(path)
    st.start_run("r1")
    st.db.executescript("DROP TABLE problems; DROP TABLE feed_runs; UPDATE meta SET value='1' WHERE key='schema_version';")
    st.close()
    st = State(path)  # migrated: the tables are added, nothing else changes
    try:
        assert st.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == "2"
        assert [r["run_id"] for r in st.runs()] == ["r1"] and st.night_problems("r2") == [] and st.night_feed_runs("r2") == []
        st.db.executescript("DROP TABLE problems; UPDATE meta SET value='3' WHERE key='schema_version';")
    finally:
        st.close()
    with pytest.raises(RuntimeError, match="state schema 3, this mtaudit reads 2"):
        State(path)
    db = sqlite3.connect(path)
    try:
        assert db.execute("SELECT name FROM sqlite_master WHERE name='problems'").fetchone() is None  # untouched
    finally:
        db.close()


@contextlib.contextmanager
def held_lock(lock: Path) -> Iterator[None]:
    """The nightly lock held as another run (pid 4242) holds it, until the block ends."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(fd, b"pid 4242 since 2026-01-15T02:15:00Z\n")
        yield
    finally:
        os.close(fd)


def test_json_is_printed_when_the_run_cannot_start_or_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--json promises one object on stdout with the exit code, whatever happens; the human line stays on stderr."""
    missing = runner.invoke(app, ["nightly", "--config", str(tmp_path / "nope.toml"), "--json"])
    assert missing.exit_code == exits.CONFIG
    payload = json.loads(missing.stdout)
    assert payload["exit_code"] == exits.CONFIG and "no such config file" in payload["error"]
    assert "no such config file" in missing.stderr

    cfg = config(tmp_path / "n.toml", [feed_toml("drops", path="drops")])
    with held_lock(tmp_path / "state" / "nightly.lock"):
        locked = runner.invoke(app, ["nightly", "--config", str(cfg), "--json"])
    assert locked.exit_code == exits.LOCKED
    payload = json.loads(locked.stdout)
    assert payload["exit_code"] == exits.LOCKED and "another nightly run is in progress (pid 4242" in payload["error"]

    def broken(cfg: nightly.NightlyConfig) -> nightly.NightlyResult:
        raise RuntimeError("disk [full]")

    monkeypatch.setattr(nightly, "run", broken)
    failed = runner.invoke(app, ["nightly", "--config", str(cfg), "--json"])
    assert failed.exit_code == exits.FAILED
    payload = json.loads(failed.stdout)
    assert payload["exit_code"] == exits.FAILED and "RuntimeError: disk [full]" in payload["error"]
    assert payload["config"] == str(cfg)


# ---- lock, config, exit codes, story ids, index order: no models ------------------------------------

def test_drop_files_still_being_written_wait_for_the_next_run(tmp_path: Path) -> None:
    drops = tmp_path / "drops"
    drops.mkdir()
    (drops / "today.jsonl").write_text(json.dumps({"id": "x", "text": excerpt("004")}) + "\n", encoding="utf-8")
    cfg = nightly.load_config(config(tmp_path / "n.toml", [feed_toml("drops", path="drops")], "settle_seconds = 3600"))
    result = nightly.run(cfg)  # nothing settled, so nothing to audit: no model is loaded
    (feed,) = result.feeds
    assert (feed.waiting, feed.entries, feed.new) == (1, 0, 0) and "1 still being written" in feed.line()
    assert result.exit_code == exits.CLEAN and result.articles == []


def test_a_second_run_exits_with_its_own_code_while_the_first_holds_the_lock(tmp_path: Path) -> None:
    cfg = config(tmp_path / "n.toml", [feed_toml("drops", path="drops")])
    with held_lock(tmp_path / "state" / "nightly.lock"):
        result = runner.invoke(app, ["nightly", "--config", str(cfg)])
    assert result.exit_code == exits.LOCKED
    assert "another nightly run is in progress (pid 4242" in result.output
    assert not (tmp_path / "state" / "state.sqlite").exists()  # it touched nothing


@pytest.mark.parametrize(("text", "message"), [
    (None, "no such config file"),
    ("[audit]\nmin_words = 20\n", "no [nightly] table"),
    ('[nightly]\nout = "o"\nstate = "s"\nfeeds = []\n', "at least one [[nightly.feeds]]"),
    ('[nightly]\nout = "o"\nstate = "s"\nlookbak_days = 2\n[[nightly.feeds]]\nname = "a"\npath = "d"\n', "unknown key lookbak_days"),
    ('[nightly]\nout = "o"\nstate = "s"\n[[nightly.feeds]]\nname = "a"\npath = "d"\nurl = "http://127.0.0.1/x"\n', "exactly one of url"),
    ('[nightly]\nout = "o"\nstate = "s"\n[[nightly.feeds]]\nname = "a"\nurl = "ftp://127.0.0.1/x"\n', "must start with http"),
    ('[nightly]\nout = "o"\nstate = "s"\n[[nightly.feeds]]\nname = "a"\npath = "d"\n[[nightly.feeds]]\nname = "a"\npath = "e"\n', "repeated: a"),
    ('[nightly]\nout = "o"\nstate = "s"\nbatch_size = "ten"\n[[nightly.feeds]]\nname = "a"\npath = "d"\n', "batch_size must be an integer"),
    ('[nightly]\nout = "o"\nstate = "s"\n[nightly.http]\ntimeout = 1\nproxy = "x"\n[[nightly.feeds]]\nname = "a"\npath = "d"\n', "unknown key proxy"),
    ('[nightly]\nout = "o"\nstate = "s"\n[[nightly.feeds]]\nname = "a"\npath = "d"\n[audit]\nthreshold = 1\n', "unknown setting 'threshold'"),
    ("[nightly\n", "Expected"),
])
def test_config_errors_exit_2_with_one_line(tmp_path: Path, text: str | None, message: str) -> None:
    path = tmp_path / "n.toml"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["nightly", "--config", str(path)])
    assert result.exit_code == exits.CONFIG, result.output
    assert message in result.output and len(result.output.strip().splitlines()) == 1


def test_example_config_loads() -> None:
    cfg = nightly.load_config(ROOT / "examples" / "nightly.toml")
    assert [f.url is not None for f in cfg.feeds] == [True, True, False] and cfg.http.retries == 2
    assert cfg.out == ROOT / "examples" / "nightly" / "reports"


def test_story_ids_survive_across_nights() -> None:
    # tonight's grouping: x joined a, b (reported last night as s-old); y joined lone c; z is alone
    tonight = {"a": "s-new1", "b": "s-new1", "x": "s-new1", "c": "s-new2", "y": "s-new2", "z": None}
    known = {"a": "s-old", "b": "s-old", "c": None}
    story_of, adopted = nightly.stable_story_ids(tonight, known)
    assert story_of == {"a": "s-old", "b": "s-old", "x": "s-old", "c": "s-new2", "y": "s-new2", "z": None}
    assert adopted == {"c": "s-new2"}
    # two old stories bridged by a new article: the larger one's id wins, deterministically
    merged, _ = nightly.stable_story_ids({"a": "n", "b": "n", "c": "n", "x": "n"}, {"a": "s2", "b": "s2", "c": "s1"})
    assert set(merged.values()) == {"s2"}


def test_index_lists_flagged_first_then_abstentions() -> None:
    def row(aid: str, mt: int | None, p: float, abstained: int = 0) -> dict[str, Any]:
        return {"article_id": aid, "machine_translated": mt, "probability": p, "abstained": abstained, "title": aid, "source": aid,
                "feed": "f", "story_id": None, "sentences": 3, "flagged_sentences": 0, "run_id": "r", "recovered": 0}

    rows = nightly.index_rows([row("ok-high", 0, 0.3), row("mt-low", 1, 0.7), row("abst", None, 0.5, 1), row("mt-high", 1, 0.95)], ("json", "md"))
    assert [r["article_id"] for r in rows] == ["mt-high", "mt-low", "abst", "ok-high"]
    assert rows[0]["page"] == "../mt-high.md" and rows[0]["machine_translated"] is True
