"""The nightly job: fetch new feed items, audit them with the recent coverage, write reports, never twice.

Safe to run unattended from cron:

- one run at a time (``fcntl.flock`` on ``<state>/nightly.lock``; a second run raises AlreadyRunning);
- crash safe at any point, ``kill -9`` included: an item is committed ``pending`` with its text before
  it is audited, its report is written atomically (the JSON lands last), and only then is its result
  committed. On start, ``reconcile`` records pending items whose JSON is already on disk (no second
  report), marks dead runs interrupted and removes temp files;
- a feed that fails (404/500, hangs, trickles, malformed, huge) is reported for that feed alone;
- conditional requests (ETag / Last-Modified): an unchanged feed costs a 304. A feed's validators are
  committed with its items, and kept back when some of its items must be retried, so nothing is lost;
- new articles are grouped with the look-back window's reported articles, so a story gathers articles
  across nights and keeps its story_id;
- a killed run leaves its trace: each problem is committed as it is met, each feed's outcome with its items,
  and the run that completes the night (it and every run since the last completed one) indexes and exits
  on all of them, not only on what it met itself.

The library logs (logger ``mtaudit.nightly``) and returns a NightlyResult; ``mtaudit nightly`` prints.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from email.message import Message
from pathlib import Path
from typing import Any

from mtaudit import report
from mtaudit.base import exits
from mtaudit.base.types import Article, Progress
from mtaudit.base.version import __version__
from mtaudit.nightly.config import Feed, NightlyConfig
from mtaudit.nightly.fetch import Fetcher, FetchError
from mtaudit.nightly.index import index_rows, result_row, write_index
from mtaudit.nightly.lock import run_lock
from mtaudit.nightly.state import Item, State, new_run_id, now
from mtaudit.stages import ingest, pipeline, stories

log = logging.getLogger(__name__)


# item notes that are business as usual, not trouble: logged at DEBUG (--verbose), kept out of cron mail
_ROUTINE = {"W_DUPLICATE", "W_HTML", "W_ENCODING"}


@dataclass
class FeedReport:
    """What happened to one feed tonight: the CLI's log line and the index's feed table.

    During a run it is that run's outcome; in the result and the index it is the night's (see ``night_feed``).
    """
    name: str
    location: str
    status: str = "ok"  # ok | not_modified | error (the night's: error if any of its runs failed to read the feed)
    http_status: int | None = None
    entries: int = 0
    new: int = 0
    duplicates: int = 0
    skipped: int = 0
    failed: int = 0  # items that could not be fetched now (transient); retried next run
    waiting: int = 0  # drop files still being written (changed within settle_seconds); read next run
    seconds: float = 0.0
    error: str | None = None
    problems: list[dict[str, str]] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)  # the feed's status in each run of the night that read it, oldest first

    def line(self) -> str:
        """One line; over several runs (a killed run read the feed too) it says what the night got, not only the last run."""
        # W_FEED is a warning, as the docs say: the entries were read, so the feed did not fail
        loose = "; not well-formed, read anyway (warning W_FEED)" if any(p["code"] == "W_FEED" for p in self.problems) else ""
        took = f" ({self.seconds:.1f} s)"
        extra = (f", {self.failed} to retry" if self.failed else "") + (f", {self.waiting} still being written" if self.waiting else "")
        tally = f"{self.entries} entries, {self.new} new, {self.duplicates} duplicate, {self.skipped} skipped{extra}"
        n = len(self.runs)
        if n <= 1:
            if self.status == "error":
                return f"feed {self.name}: FAILED {self.error}{took}"
            if self.status == "not_modified":
                return f"feed {self.name}: not modified (HTTP 304), nothing new{took}"
            return f"feed {self.name}: {tally}{loose}{took}"
        failed_in, read = self.runs.count("error"), "ok" in self.runs
        parts = []
        if failed_in:
            parts.append(f"FAILED {self.error} in {failed_in} of {n} runs tonight")
        if read:
            parts.append(tally if failed_in else f"{tally} over {n} runs tonight")
        if self.runs[-1] == "not_modified":
            parts.append("last run: not modified (HTTP 304)" if parts else f"not modified (HTTP 304) in {n} runs tonight, nothing new")
        return f"feed {self.name}: {'; '.join(parts)}{loose if read else ''}{took}"


@dataclass
class NightlyResult:
    """The outcome of a run: plain data for the CLI, ``--json`` and tests."""
    run_id: str
    exit_code: int
    feeds: list[FeedReport]
    articles: list[dict[str, Any]]  # the index rows: every result first listed by this run, flagged first
    problems: list[dict[str, str]]
    recovered: int  # reports found on disk after a crash and recorded without re-auditing
    audited: int  # articles audited and reported by this run (recovered ones not included)
    index: dict[str, str]  # format -> path of this run's index
    seconds: float
    signature: str
    night: list[dict[str, str]] = field(default_factory=list)  # the runs this result covers: killed or failed ones, then this one

    @property
    def flagged(self) -> int:
        return sum(1 for a in self.articles if a["machine_translated"])

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["flagged"] = self.flagged
        return d


# ---- fetching -------------------------------------------------------------------------------------

@dataclass
class _Candidate:
    key: str
    title: str | None
    date: str | None
    link: str | None
    text: str | None  # full text or HTML from the feed, when it carries the article
    summary: str | None


def _entry(entry: Any, feed: Feed) -> _Candidate:
    link = entry.get("link") or None
    title = entry.get("title") or None
    summary = entry.get("summary") or None
    stamp = entry.get("published_parsed") or entry.get("updated_parsed")
    date = time.strftime("%Y-%m-%d", stamp) if stamp else None
    text = None
    for content in entry.get("content") or []:
        if content.get("value", "").strip():
            text = content["value"]
            break
    key = link or entry.get("id") or f"{feed.location}#{hashlib.sha256(f'{title}|{summary}'.encode()).hexdigest()[:16]}"
    return _Candidate(key, title, date, link, text, summary)


def _charset(content_type: str | None) -> str | None:
    """The charset parameter of an HTTP Content-Type header."""
    if not content_type:
        return None

    msg = Message()
    msg["content-type"] = content_type
    return msg.get_content_charset()


def _page_text(fetcher: Fetcher, url: str, deadline: float) -> str:
    """The linked page, decoded; HTML stays HTML (ingest.parse extracts the article with trafilatura)."""
    if time.monotonic() > deadline:
        raise FetchError(url, "E_FEED_DEADLINE", "the feed's time budget ran out before this page; retried next run")
    response = fetcher.get(url)
    text, problems = ingest.decode(response.content, url, _charset(response.headers.get("content-type")))
    if text is None:
        raise FetchError(url, problems[0].code, problems[0].message, response.status, transient=False)
    return text


class _Night:
    """One run's working set: config, state, fetcher, problems."""
    def __init__(self, cfg: NightlyConfig, st: State, run_id: str, fetcher: Fetcher, progress: Progress | None):
        self.cfg = cfg
        self.st = st
        self.run_id = run_id
        self.fetcher = fetcher
        self.progress = progress
        self.audited_ok = 0

    def problem(self, report: FeedReport | None, source: str, level: str, code: str, message: str, echo: bool = True,
                feed: str | None = None, db: sqlite3.Connection | None = None) -> None:
        """Record it in the state at once (a kill -9 right after keeps it for the night's index), in the feed's report
        while its feed is read, and log one line: WARNING unless routine (``echo=False``: the feed's own line says it).
        ``feed`` names the feed when there is no report; ``db``: commit it with the caller's transaction instead."""
        name = report.name if report is not None else feed
        p = {"feed": name, "source": source, "level": level, "code": code, "message": message, "run_id": self.run_id}
        if db is not None:
            self.st.add_problem(db, self.run_id, p)
        else:
            with self.st.transaction() as tx:
                self.st.add_problem(tx, self.run_id, p)
        if report is not None:
            report.problems.append(p)
        if echo:
            log.log(logging.DEBUG if code in _ROUTINE else logging.WARNING, "feed %s: %s: %s: %s [%s]", name, level, source, message, code)

    # one feed, all or nothing: its new items and its validators are committed together
    def feed(self, feed: Feed) -> FeedReport:
        t0 = time.monotonic()
        report = FeedReport(feed.name, feed.location)
        try:
            if feed.url:
                items, validators = self._remote(feed, report)
            else:
                items, validators = self._local(feed, report), (None, None)
        except FetchError as exc:
            report.status, report.error, report.http_status = "error", f"{exc.message} [{exc.code}]", exc.status
            self.problem(report, feed.location, "error", exc.code, exc.message, echo=False)
            items, validators = [], self._old_validators(feed)
        except Exception as exc:  # a bug or a library crash on one feed's data: that feed fails, the others go on
            log.exception("feed %s failed", feed.name)
            report.status, report.error = "error", f"{type(exc).__name__}: {exc} [E_FEED_INTERNAL]"[:300]
            self.problem(report, feed.location, "error", "E_FEED_INTERNAL", f"{type(exc).__name__}: {exc}"[:300], echo=False)
            items, validators = [], self._old_validators(feed)
        if report.status != "ok" or report.failed:
            validators = self._old_validators(feed)  # keep last night's: tomorrow's request must not get a 304 for what failed
        report.seconds = round(time.monotonic() - t0, 3)
        report.runs = [report.status]
        with self.st.transaction() as db:
            for item in items:
                self.st.add_item(db, item, self.run_id)
            self.st.save_feed(db, feed.name, feed.location, self.run_id, report.status, *validators, error=report.error)
            self.st.save_feed_run(db, self.run_id, feed.name, feed.location, asdict(report))  # the night's index counts it
        log.log(logging.WARNING if report.status == "error" else logging.INFO, "%s", report.line())
        return report

    def _old_validators(self, feed: Feed) -> tuple[str | None, str | None]:
        old = self.st.feed(feed.name)
        if old and old["location"] == feed.location:
            return old["etag"], old["last_modified"]
        return None, None

    def _remote(self, feed: Feed, report: FeedReport) -> tuple[list[Item], tuple[str | None, str | None]]:
        import feedparser  # only feeds pay its import (start-up time)

        assert feed.url is not None
        response = self.fetcher.get(feed.url, *self._old_validators(feed))
        report.http_status = response.status
        if response.not_modified:
            report.status = "not_modified"
            return [], (response.etag, response.last_modified)
        parsed = feedparser.parse(
            response.content,
            response_headers={"content-type": response.headers.get("content-type", ""), "content-location": response.url},
        )
        if not parsed.entries and (parsed.bozo or not parsed.get("version")):  # an HTML page parses without bozo, as no feed
            why = str(parsed.get("bozo_exception", "")).splitlines()[0][:200] if parsed.get("bozo_exception") else "no RSS/Atom in it"
            raise FetchError(feed.url, "E_FEED", f"not a readable RSS/Atom feed ({why})", response.status, transient=False)
        if parsed.bozo:
            self.problem(report, feed.url, "warning", "W_FEED", f"feed is not well-formed; read {len(parsed.entries)} entries anyway")
        candidates = list({c.key: c for c in (_entry(e, feed) for e in parsed.entries)}.values())
        report.entries = len(candidates)
        fresh = [c for c in candidates if not self.st.seen(c.key)]
        deadline = time.monotonic() + self.cfg.feed_deadline
        need_page = [c for c in fresh if c.text is None and feed.fetch_pages and c.link and c.link.lower().startswith(("http://", "https://"))]
        pages: dict[str, str | FetchError] = {}
        if need_page:
            def one(c: _Candidate) -> tuple[str, str | FetchError]:
                try:
                    return c.key, _page_text(self.fetcher, c.link or "", deadline)
                except FetchError as exc:
                    return c.key, exc

            with ThreadPoolExecutor(max_workers=self.cfg.fetch_workers) as pool:
                pages = dict(pool.map(one, need_page))
        items: list[Item] = []
        ids: dict[str, str] = {}
        for c in fresh:
            got = pages.get(c.key, c.text if c.text is not None else c.summary)
            if isinstance(got, FetchError):
                if got.transient:
                    report.failed += 1
                    self.problem(report, c.key, "error", got.code, f"{got.message}; retried next run")
                else:
                    report.skipped += 1
                    self.problem(report, c.key, "error", got.code, got.message)
                    items.append(Item(c.key, feed.name, None, "skipped", c.title, c.date, c.key, code=got.code, message=got.message))
                continue
            extra = {k: v for k, v in (("title", c.title), ("date", c.date), ("url", c.link), ("feed", feed.name)) if v}
            items.append(self._item(report, c.key, got or "", c.key, extra, ids))
        return items, (response.etag, response.last_modified)

    def _local(self, feed: Feed, report: FeedReport) -> list[Item]:
        assert feed.path is not None
        if not feed.path.exists():
            raise FetchError(str(feed.path), "E_READ", "no such file or folder", transient=True)
        files, _ = ingest.expand([feed.path])
        items: list[Item] = []
        ids: dict[str, str] = {}
        settled = time.time() - self.cfg.settle_seconds
        for path in files:
            try:
                if path.stat().st_mtime > settled:  # a partner may still be writing it: never read half a file
                    report.waiting += 1
                    continue
            except OSError:
                continue
            if path.suffix.lower() in ingest.JSONL_SUFFIXES:
                items.extend(self._jsonl(feed, report, path, ids))
                continue
            key = path.resolve().as_uri()
            report.entries += 1
            if self.st.seen(key):
                continue
            try:
                data = path.read_bytes()
            except OSError as exc:
                report.failed += 1
                self.problem(report, str(path), "error", "E_READ", f"cannot read: {exc.strerror or exc}; retried next run")
                continue
            text, problems = ingest.decode(data, str(path))
            for p in problems:
                self.problem(report, str(path), p.level, p.code, p.message)
            if text is None:
                report.skipped += 1
                items.append(Item(key, feed.name, None, "skipped", source=str(path), code=problems[0].code, message=problems[0].message))
                continue
            items.append(self._item(report, key, text, str(path), {"feed": feed.name}, ids))
        return items

    def _jsonl(self, feed: Feed, report: FeedReport, path: Path, ids: dict[str, str]) -> list[Item]:
        """One item per line (``text`` required; ``id``, ``url``, ``title``, ``date``, ``source`` kept), as ingest.read_jsonl reads them."""
        items: list[Item] = []
        try:
            data = path.read_bytes()
        except OSError as exc:
            report.failed += 1
            self.problem(report, str(path), "error", "E_READ", f"cannot read: {exc.strerror or exc}; retried next run")
            return items
        text, problems = ingest.decode(data, str(path))
        if text is None:  # remembered by content: reported once, read again only when the file changes
            key = f"{path.resolve().as_uri()}#{hashlib.sha256(data).hexdigest()[:16]}"
            if not self.st.seen(key):
                report.skipped += 1
                for p in problems:
                    self.problem(report, str(path), p.level, p.code, p.message)
                items.append(Item(key, feed.name, None, "skipped", source=str(path), code=problems[0].code, message=problems[0].message))
            return items
        for lineno, raw in enumerate(text.splitlines(), 1):
            if not raw.strip():
                continue
            report.entries += 1
            where = f"{path}:{lineno}"
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as exc:
                obj = None
                why = f"not JSON ({exc.msg})"
            else:
                why = "no 'text' string in this line"
            if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                key = f"{path.resolve().as_uri()}#{hashlib.sha256(raw.encode()).hexdigest()[:16]}"
                if not self.st.seen(key):
                    report.skipped += 1
                    self.problem(report, where, "error", "E_JSON", why)
                    items.append(Item(key, feed.name, None, "skipped", source=where, code="E_JSON", message=why))
                continue
            if isinstance(obj.get("url"), str) and obj["url"]:
                key = obj["url"]
            elif "id" in obj:
                key = f"{feed.name}:{obj['id']}"
            else:
                key = f"{path.resolve().as_uri()}#{ingest.article_id(obj['text'])}"
            if self.st.seen(key) or any(i.key == key for i in items):
                continue
            extra = {**ingest.row_meta(obj), "feed": feed.name}  # the row's `source` is its outlet, not its address
            items.append(self._item(report, key, obj["text"], str(obj.get("url") or where), extra, ids))
        return items

    def _item(self, report: FeedReport, key: str, text: str, source: str, extra: dict[str, Any], ids: dict[str, str]) -> Item:
        """Parse (language, emptiness, HTML, size are ingest's checks), then deduplicate by content hash."""
        article, problems = ingest.parse(text, source, self.cfg.settings, extra)
        for p in problems:
            self.problem(report, source, p.level, p.code, p.message)
        title, date = extra.get("title"), extra.get("date")
        if article is None:
            report.skipped += 1
            err = next((p for p in problems if p.level == "error"), None)
            return Item(key, report.name, None, "skipped", title, date, source, extra,
                        code=err.code if err else "E_EMPTY", message=err.message if err else "nothing to audit")
        holder = ids.get(article.article_id) or self.st.holder_of(article.article_id)
        if holder:
            report.duplicates += 1
            self.problem(report, source, "warning", "W_DUPLICATE", f"same text as {holder}; audited once")
            return Item(key, report.name, article.article_id, "duplicate", article.title, article.date, source, extra,
                        code="W_DUPLICATE", message=f"same text as {holder}")
        ids[article.article_id] = key
        report.new += 1
        return Item(key, report.name, article.article_id, "pending", article.title, article.date, source, extra, text=article.text)

    # ---- auditing -----------------------------------------------------------------------------------

    def audit(self) -> int:
        """Audit every pending item (this night's and any a crash left), in batches committed after their reports land."""
        pending = self.st.pending()
        if self.cfg.max_items:
            pending = pending[: self.cfg.max_items]
        if not pending:
            return 0
        settings = self.cfg.settings
        items = {it.article_id: it for it in pending}
        new = self._articles(pending, pending=True)
        context = [a for a in self._articles(self.st.context(self.cfg.lookback_days, self.cfg.max_context)) if a.article_id not in items]
        log.info("auditing %d new articles with %d earlier ones as context", len(new), len(context))
        story_of, adopted = stable_story_ids(stories.group(new + context, settings), self.st.story_ids(a.article_id for a in context))
        self.st.set_story_ids(adopted)
        members: dict[str, list[Article]] = defaultdict(list)
        for a in new + context:
            if story_of.get(a.article_id):
                members[story_of[a.article_id]].append(a)
        done = 0
        for start in range(0, len(new), self.cfg.batch_size):
            batch = new[start : start + self.cfg.batch_size]
            ids = {a.article_id for a in batch}
            others = [o for sid in dict.fromkeys(story_of.get(a.article_id) for a in batch) if sid for o in members[sid] if o.article_id not in ids]
            try:
                reports = pipeline.audit_articles(batch, settings, story_of=story_of, context=others)
            except Exception:  # one poisonous article must not block every night: retry the batch one by one
                log.exception("batch of %d failed; auditing its articles one by one", len(batch))
                reports = self._one_by_one(batch, story_of, members)
            rows = []
            for rep in reports:
                self._write(rep)
                rows.append(result_row(rep, items[rep["article_id"]]))
            with self.st.transaction() as db:
                self.st.record_results(db, rows, self.run_id)
            self.audited_ok += len(rows)
            done += len(batch)
            if self.progress:
                self.progress("audit", done, len(new))
        return self.audited_ok

    def _one_by_one(self, batch: list[Article], story_of: dict[str, str | None], members: dict[str, list[Article]]) -> list[dict[str, Any]]:
        reports: list[dict[str, Any]] = []
        failures: list[tuple[Article, Exception]] = []
        for a in batch:
            sid = story_of.get(a.article_id)
            others = [o for o in members.get(sid or "", []) if o.article_id != a.article_id]
            try:
                reports.extend(pipeline.audit_articles([a], self.cfg.settings, story_of=story_of, context=others))
            except Exception as exc:
                log.exception("audit failed for %s", a.source)
                failures.append((a, exc))
        if failures and not reports and not self.audited_ok:
            raise failures[0][1]  # nothing audits at all: a broken install, not a bad article; leave everything pending
        for a, exc in failures:  # the pipeline works, these articles break it: skip them, say so, go on
            message = f"audit failed: {type(exc).__name__}: {exc}"[:500]
            with self.st.transaction() as db:  # skipped and its problem together: a skipped item is never silently lost
                db.execute("UPDATE items SET status='skipped', code='E_AUDIT', message=? WHERE article_id=? AND status='pending'",
                           (message, a.article_id))
                self.problem(None, a.source, "error", "E_AUDIT", message, echo=False, feed=a.meta.get("feed", ""), db=db)  # logged above
        return reports

    def _articles(self, items: list[Item], pending: bool = False) -> list[Article]:
        """Articles again from stored texts: the same text and settings give the same id and sentences."""
        out = []
        for it in items:
            article, _ = ingest.parse(it.text or "", it.source or it.key, self.cfg.settings, it.extra)
            if article is None or article.article_id != it.article_id:  # the [audit] settings changed since it was fetched
                if not pending:
                    log.warning("stored text of %s no longer parses to the same article under these settings; left out of the context", it.key)
                    continue
                why = "no longer an article under the current [audit] settings"  # an item not audited: an error, as any other
                with self.st.transaction() as db:  # skipped and its problem together
                    db.execute("UPDATE items SET status='skipped', code='E_REPARSE', message=? WHERE key=? AND status='pending'", (why, it.key))
                    self.problem(None, it.source or it.key, "error", "E_REPARSE", why, feed=it.feed, db=db)  # its feed was read another night
                continue
            out.append(article)
        return out

    def _write(self, rep: dict[str, Any]) -> None:
        report.write_article(rep, self.cfg.out, self.cfg.formats)

    # ---- crash recovery -------------------------------------------------------------------------------

    def reconcile(self, interrupted: list[str]) -> int:
        """After a crash: temp files go, dead runs' unwritten index claims are released, reports already on disk are recorded."""
        import jsonschema  # jsonschema: only validation pays its import

        removed = 0
        for folder in (self.cfg.out, self.cfg.out / "runs"):
            if folder.is_dir():
                for tmp in folder.glob(".*.tmp"):
                    tmp.unlink(missing_ok=True)
                    removed += 1
        # a dead run's index exists only if its JSON landed (written last); otherwise its articles go to tonight's index
        dead = [r for r in self.st.unfinished_claims() if not (self.cfg.out / "runs" / f"{r}.json").exists()]
        for r in dead:
            for fmt in ("md", "html"):
                (self.cfg.out / "runs" / f"{r}.{fmt}").unlink(missing_ok=True)
        self.st.unindex(dead)
        rows = []
        for it in self.st.pending():
            path = self.cfg.out / f"{it.article_id}.json"
            if not path.exists():
                continue
            try:
                rep = json.loads(path.read_text(encoding="utf-8"))
                report.validate(rep)
            except (OSError, ValueError, jsonschema.ValidationError) as exc:
                log.warning("report %s does not validate (%s); auditing again", path, exc)
                continue
            if rep.get("article_id") != it.article_id:
                continue
            rows.append(result_row(rep, it, recovered=True))
        if rows:
            with self.st.transaction() as db:
                self.st.record_results(db, rows, self.run_id)
        if interrupted or removed or rows:
            log.info("recovered after %d interrupted run(s): %d temp file(s) removed, %d report(s) on disk recorded",
                     len(interrupted), removed, len(rows))
        return len(rows)


def night_feed(report: FeedReport, earlier: list[dict[str, Any]], problems: list[dict[str, str]]) -> FeedReport:
    """One feed's night: this run's report merged with what the night's earlier (killed or failed) runs got from it.

    Items are counted once (a run's counts land with its items, and committed items are not fetched again), so
    new, duplicate and skipped add up; entries are the last reading's, items to retry and still being written
    this run's. The feed failed tonight if any run failed to read it; the line tells the rest.
    """
    mine = [p for p in problems if p["feed"] == report.name]
    if not earlier:
        return replace(report, problems=mine, runs=[report.status])
    rows = [*earlier, asdict(report)]
    last_read = next((r for r in reversed(rows) if r["status"] == "ok"), None)
    last_error = next((r for r in reversed(rows) if r["status"] == "error"), None)
    return replace(
        report, status="error" if last_error else ("ok" if last_read else "not_modified"),
        entries=last_read["entries"] if last_read else 0, new=sum(r["new"] for r in rows),
        duplicates=sum(r["duplicates"] for r in rows), skipped=sum(r["skipped"] for r in rows),
        seconds=round(sum(r["seconds"] for r in rows), 3), error=last_error["error"] if last_error else None,
        problems=mine, runs=[r["status"] for r in rows],
    )


def night_problems(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Each problem of the night once, in the order met: one met again by a later run (a feed still failing, an
    item a killed run never committed) is listed as that later run met it."""
    def key(p: dict[str, str]) -> tuple[str, str, str, str]:
        return p["feed"], p["source"], p["level"], p["code"]

    last = {key(p): p["run_id"] for p in rows}
    return [p for p in rows if last[key(p)] == p["run_id"]]


def stable_story_ids(story_of: dict[str, str | None], known: dict[str, str | None]) -> tuple[dict[str, str | None], dict[str, str]]:
    """Keep a story's id across nights: a group holding earlier articles takes their (most common) story id.

    ``known`` maps earlier articles to the story id they were reported with (None: alone then).
    Returns the new mapping and the earlier lone articles that now join a story.
    """
    groups: dict[str, list[str]] = defaultdict(list)
    for aid, sid in story_of.items():
        if sid:
            groups[sid].append(aid)
    out = dict(story_of)
    adopted: dict[str, str] = {}
    for sid, ids in groups.items():
        old = Counter(known[a] for a in ids if known.get(a))
        chosen = min(old, key=lambda s: (-old[s], s)) if old else sid
        for a in ids:
            out[a] = chosen
            if a in known and known[a] is None:
                adopted[a] = chosen
    return out, adopted


# ---- the run --------------------------------------------------------------------------------------------

def run(cfg: NightlyConfig, progress: Progress | None = None, transport: Any = None) -> NightlyResult:
    """One night: lock, reconcile, fetch every feed, audit what is pending, index, unlock.

    Raises AlreadyRunning when another run holds the lock. ``transport`` is for httpx test transports.
    """

    t0 = time.monotonic()
    with run_lock(cfg.state / "nightly.lock"):
        st = State(cfg.state / "state.sqlite")
        run_id = new_run_id()
        try:
            interrupted = st.interrupted_runs()
            st.start_run(run_id)
            started = now()
            with Fetcher(cfg.http, transport=transport) as fetcher:
                night = _Night(cfg, st, run_id, fetcher, progress)
                recovered = night.reconcile(interrupted)
                feeds = []
                for n, feed in enumerate(cfg.feeds, 1):
                    feeds.append(night.feed(feed))
                    if progress:
                        progress("feeds", n, len(cfg.feeds))
            audited = night.audit()
            st.prune_texts(max(cfg.keep_text_days, cfg.lookback_days))
            st.prune_history(max(cfg.keep_text_days, cfg.lookback_days), run_id)
            rows = index_rows(st.claim_for_index(run_id), cfg.formats)
            # the night: this run and the killed or failed ones since the last completed run, whose articles it lists too
            runs = [{**r, "status": "finished" if r["run_id"] == run_id else r["status"]} for r in st.night(run_id)]
            problems = night_problems(st.night_problems(run_id))
            earlier: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for fr in st.night_feed_runs(run_id):
                if fr["run_id"] != run_id:
                    earlier[fr["feed"]].append(fr)
            feeds = [night_feed(f, earlier[f.name], problems) for f in feeds]
            if len(runs) > 1:
                log.info("this run completes a night of %d runs (%s): its index and exit code cover their feeds and problems too",
                         len(runs), ", ".join(f"{r['run_id']} {r['status']}" for r in runs[:-1]))
                how = {r["run_id"]: r["status"] for r in runs}
                for p in problems:  # said again here: cron mail of a killed run may never have been read, or sent
                    if p["run_id"] != run_id:
                        log.log(logging.DEBUG if p["code"] in _ROUTINE else logging.WARNING, "feed %s: %s: %s: %s [%s] (met by run %s, %s)",
                                p["feed"], p["level"], p["source"], p["message"], p["code"], p["run_id"], how.get(p["run_id"], "?"))
            # as `mtaudit audit`: any input not audited is a partial failure, whether it is retried (fetch) or not (content),
            # and whichever run of the night met it
            failed = any(f.status == "error" or f.failed for f in feeds) or any(p["level"] == "error" for p in problems)
            flagged = sum(1 for r in rows if r["machine_translated"])
            code = exits.PARTIAL if failed else (exits.FLAGGED if flagged else exits.CLEAN)
            signature = f"{pipeline.signature(cfg.settings)}|nightly:lookback={cfg.lookback_days:g}d,context<={cfg.max_context}"
            doc = {
                "run_id": run_id, "version": __version__, "started_at": started, "finished_at": now(), "exit_code": code,
                "config": str(cfg.source) if cfg.source else None, "flagged": flagged, "recovered": recovered, "audited": audited,
                "feeds": [{**asdict(f), "line": f.line()} for f in feeds], "articles": rows, "problems": problems,
                "signature": signature, "night": runs,
            }
            index = write_index(cfg.out, doc)
            result = NightlyResult(run_id, code, feeds, rows, problems, recovered, audited, index,
                                   round(time.monotonic() - t0, 3), signature, runs)
            st.finish_run(run_id, "finished", code, {k: doc[k] for k in ("flagged", "recovered", "audited")} | {"articles": len(rows)})
            log.info("run %s: %d new articles, %d flagged, exit code %d; index %s", run_id, len(rows), flagged, code, index["md"])
            return result
        except BaseException as exc:
            try:
                st.finish_run(run_id, "failed", exits.FAILED, {"error": f"{type(exc).__name__}: {exc}"[:500]})
            except Exception:  # the database itself may be what failed; the next run marks this one interrupted
                log.exception("could not record the failed run")
            raise
        finally:
            st.close()
