"""The nightly job's memory, in SQLite: feeds' validators, items seen, runs, results, texts for look-back.

Why SQLite: one file, transactions, and it survives ``kill -9`` (WAL journal, synchronous=FULL),
so "state committed after the report landed" is a real promise. An item moves
``pending`` (fetched, text stored) -> ``reported`` (its JSON report is on disk, a result row
exists); ``duplicate`` and ``skipped`` items are remembered so they are never fetched again.

A night, for the run index and the exit code, is the run that completes (status ``finished``) and every
run since the previous one that completed: runs killed (``interrupted``) or stopped on an error
(``failed``). Each problem is committed the moment it is met, and each feed's outcome with its items,
so the completing run can report what the runs it resumed met before they died.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 2  # 2: the problems and feed_runs tables (a version-1 state gains them on open, in one transaction)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT,
    status TEXT NOT NULL,            -- running | finished | interrupted | failed
    exit_code INTEGER, summary TEXT  -- JSON
);
CREATE TABLE IF NOT EXISTS feeds (
    name TEXT PRIMARY KEY, location TEXT NOT NULL, etag TEXT, last_modified TEXT,
    last_status TEXT, last_run TEXT, last_error TEXT
);
CREATE TABLE IF NOT EXISTS items (
    key TEXT PRIMARY KEY,            -- the item's URL (or file path, or JSONL id)
    feed TEXT NOT NULL,
    article_id TEXT,                 -- content hash (mtaudit.stages.ingest.article_id); NULL when skipped before parsing
    status TEXT NOT NULL,            -- pending | reported | duplicate | skipped
    title TEXT, date TEXT, source TEXT,
    extra TEXT,                      -- JSON given to ingest.parse again when the text is re-read
    text TEXT,                       -- kept for pending items and for look-back context; pruned later
    code TEXT, message TEXT,         -- why skipped, or what it duplicates
    run_id TEXT NOT NULL,            -- the run that first saw it
    fetched_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS items_article ON items(article_id);
CREATE INDEX IF NOT EXISTS items_status ON items(status, fetched_at);
CREATE TABLE IF NOT EXISTS results (
    article_id TEXT PRIMARY KEY, key TEXT NOT NULL, feed TEXT NOT NULL, run_id TEXT NOT NULL,
    story_id TEXT, machine_translated INTEGER, probability REAL, abstained INTEGER,
    sentences INTEGER, flagged_sentences INTEGER, title TEXT, source TEXT,
    recovered INTEGER NOT NULL DEFAULT 0,  -- 1: found on disk after a crash and recorded, not re-audited
    indexed_in TEXT,                       -- the run whose index lists it (each result in exactly one index)
    reported_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS results_index ON results(indexed_in);
CREATE INDEX IF NOT EXISTS results_story ON results(story_id);
CREATE TABLE IF NOT EXISTS problems (
    id INTEGER PRIMARY KEY,          -- the order they were met in
    run_id TEXT NOT NULL,            -- the run that met it
    feed TEXT, source TEXT NOT NULL, level TEXT NOT NULL, code TEXT NOT NULL, message TEXT NOT NULL,
    met_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS problems_run ON problems(run_id);
CREATE TABLE IF NOT EXISTS feed_runs (  -- what one run got from one feed, committed with the feed's items
    run_id TEXT NOT NULL, feed TEXT NOT NULL, location TEXT NOT NULL,
    status TEXT NOT NULL,            -- ok | not_modified | error
    http_status INTEGER, entries INTEGER NOT NULL, new INTEGER NOT NULL, duplicates INTEGER NOT NULL,
    skipped INTEGER NOT NULL, failed INTEGER NOT NULL, waiting INTEGER NOT NULL, seconds REAL NOT NULL, error TEXT,
    PRIMARY KEY (run_id, feed)
);
"""

_FEED_RUN_COLUMNS = ("status", "http_status", "entries", "new", "duplicates", "skipped", "failed", "waiting", "seconds", "error")

# the runs of the night that `run_id` completes: every run after the last other run that finished
_NIGHT = "SELECT rowid FROM runs WHERE rowid > COALESCE((SELECT MAX(rowid) FROM runs WHERE status='finished' AND run_id != ?), 0)"


def _statements(script: str) -> list[str]:
    """The script's statements one by one, so that they can run inside one transaction (executescript commits first)."""
    out, buf = [], ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    return out


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_run_id() -> str:
    """Sortable and unique for sequential runs (the lock forbids concurrent ones)."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


@dataclass
class Item:
    """A row of ``items`` as the nightly job uses it."""

    key: str
    feed: str
    article_id: str | None
    status: str
    title: str | None = None
    date: str | None = None
    source: str | None = None
    extra: dict[str, Any] | None = None
    text: str | None = None
    code: str | None = None
    message: str | None = None


class State:
    """The state database of one nightly setup; open it only while holding the run lock."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self._open_schema()

    def _open_schema(self) -> None:
        """Create the tables, or migrate an older state, in one transaction: a kill mid-way leaves the file as it was.

        Version 1 -> 2 only adds tables (problems, feed_runs); the runs recorded before it have no rows
        there, so a night that began under version 1 lists only the problems met since the upgrade.
        """
        with self.transaction() as db:
            has_meta = db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").fetchone()
            found = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() if has_meta else None
            if found is not None and not 1 <= int(found[0]) <= SCHEMA_VERSION:  # a newer mtaudit's state: touch nothing
                raise RuntimeError(f"{self.path}: state schema {found[0]}, this mtaudit reads {SCHEMA_VERSION}")
            for statement in _statements(_SCHEMA):  # IF NOT EXISTS everywhere: creates what a new or older state lacks
                db.execute(statement)
            db.execute("INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                       (str(SCHEMA_VERSION),))

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception: all of a step or none of it."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # runs
    def start_run(self, run_id: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO runs (run_id, started_at, status) VALUES (?, ?, 'running')", (run_id, now()))

    def finish_run(self, run_id: str, status: str, exit_code: int, summary: dict[str, Any]) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE runs SET finished_at=?, status=?, exit_code=?, summary=? WHERE run_id=?",
                (now(), status, exit_code, json.dumps(summary, ensure_ascii=False), run_id),
            )

    def interrupted_runs(self) -> list[str]:
        """Runs left 'running' by a process that died (we hold the lock, so none is alive): mark them."""
        with self.transaction() as db:
            ids = [r[0] for r in db.execute("SELECT run_id FROM runs WHERE status='running' ORDER BY run_id")]
            db.executemany("UPDATE runs SET status='interrupted', finished_at=? WHERE run_id=?", [(now(), i) for i in ids])
        return ids

    def runs(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.db.execute("SELECT * FROM runs ORDER BY run_id")]

    def night(self, run_id: str) -> list[dict[str, Any]]:
        """The runs of the night ``run_id`` completes, oldest first: those since the last other run that finished, and itself."""
        return [dict(r) for r in self.db.execute(
            f"SELECT run_id, started_at, status FROM runs WHERE rowid IN ({_NIGHT}) ORDER BY rowid", (run_id,))]

    # problems and feed outcomes, for the night's index
    def add_problem(self, db: sqlite3.Connection, run_id: str, problem: dict[str, Any]) -> None:
        """Inside a transaction: the caller commits it at once (or with the state change it explains)."""
        db.execute(
            "INSERT INTO problems (run_id, feed, source, level, code, message, met_at) VALUES (?,?,?,?,?,?,?)",
            (run_id, problem["feed"], problem["source"], problem["level"], problem["code"], problem["message"], now()),
        )

    def night_problems(self, run_id: str) -> list[dict[str, Any]]:
        """Every problem met by the runs of the night ``run_id`` completes, in the order met."""
        return [dict(r) for r in self.db.execute(
            f"SELECT feed, source, level, code, message, run_id FROM problems WHERE run_id IN (SELECT run_id FROM runs WHERE rowid IN ({_NIGHT})) "
            "ORDER BY id", (run_id,))]

    def save_feed_run(self, db: sqlite3.Connection, run_id: str, feed: str, location: str, outcome: dict[str, Any]) -> None:
        """Inside the feed's transaction: what this run got from the feed lands together with the items it counts."""
        db.execute(
            f"INSERT OR REPLACE INTO feed_runs (run_id, feed, location, {', '.join(_FEED_RUN_COLUMNS)}) VALUES (?,?,?,{','.join('?' * len(_FEED_RUN_COLUMNS))})",
            (run_id, feed, location, *(outcome[c] for c in _FEED_RUN_COLUMNS)),
        )

    def night_feed_runs(self, run_id: str) -> list[dict[str, Any]]:
        """What each run of the night ``run_id`` completes got from each feed, oldest run first."""
        return [dict(r) for r in self.db.execute(
            f"SELECT f.* FROM feed_runs f JOIN runs r ON r.run_id = f.run_id WHERE r.rowid IN ({_NIGHT}) ORDER BY r.rowid, f.feed", (run_id,))]

    def prune_history(self, keep_days: float, run_id: str) -> int:
        """Drop the problems and feed outcomes of runs older than ``keep_days`` whose night is over (never the current one's)."""
        since = (datetime.now(UTC) - timedelta(days=keep_days)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        old = f"SELECT run_id FROM runs WHERE started_at < ? AND rowid NOT IN ({_NIGHT})"
        with self.transaction() as db:
            return (db.execute(f"DELETE FROM problems WHERE run_id IN ({old})", (since, run_id)).rowcount
                    + db.execute(f"DELETE FROM feed_runs WHERE run_id IN ({old})", (since, run_id)).rowcount)

    # feeds
    def feed(self, name: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT * FROM feeds WHERE name=?", (name,)).fetchone()
        return dict(row) if row else None

    def save_feed(
        self, db: sqlite3.Connection, name: str, location: str, run_id: str, status: str,
        etag: str | None = None, last_modified: str | None = None, error: str | None = None,
    ) -> None:
        """Inside the feed's transaction: validators land together with the items they cover."""
        db.execute(
            "INSERT INTO feeds (name, location, etag, last_modified, last_status, last_run, last_error) VALUES (?,?,?,?,?,?,?) "
            "ON CONFLICT(name) DO UPDATE SET location=excluded.location, etag=excluded.etag, last_modified=excluded.last_modified, "
            "last_status=excluded.last_status, last_run=excluded.last_run, last_error=excluded.last_error",
            (name, location, etag, last_modified, status, run_id, error),
        )

    # items
    def seen(self, key: str) -> bool:
        return self.db.execute("SELECT 1 FROM items WHERE key=?", (key,)).fetchone() is not None

    def holder_of(self, article_id: str) -> str | None:
        """The key of an item already holding this text (pending or reported), if any."""
        row = self.db.execute(
            "SELECT key FROM items WHERE article_id=? AND status IN ('pending','reported') LIMIT 1", (article_id,)
        ).fetchone()
        return row[0] if row else None

    def add_item(self, db: sqlite3.Connection, item: Item, run_id: str) -> None:
        db.execute(
            "INSERT OR IGNORE INTO items (key, feed, article_id, status, title, date, source, extra, text, code, message, run_id, fetched_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (item.key, item.feed, item.article_id, item.status, item.title, item.date, item.source,
             json.dumps(item.extra or {}, ensure_ascii=False), item.text, item.code, item.message, run_id, now()),
        )

    def _items(self, sql: str, args: Iterable[Any] = ()) -> list[Item]:
        return [
            Item(r["key"], r["feed"], r["article_id"], r["status"], r["title"], r["date"], r["source"],
                 json.loads(r["extra"] or "{}"), r["text"], r["code"], r["message"])
            for r in self.db.execute(sql, tuple(args))
        ]

    def pending(self) -> list[Item]:
        return self._items("SELECT * FROM items WHERE status='pending' ORDER BY fetched_at, key")

    def context(self, lookback_days: float, limit: int) -> list[Item]:
        """Reported items fetched within the look-back window, newest first, at most ``limit``."""
        since = (datetime.now(UTC) - timedelta(days=lookback_days)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return self._items(
            "SELECT * FROM items WHERE status='reported' AND text IS NOT NULL AND fetched_at>=? ORDER BY fetched_at DESC, key LIMIT ?",
            (since, limit),
        )

    def items(self, status: str | None = None) -> list[Item]:
        if status is None:
            return self._items("SELECT * FROM items ORDER BY fetched_at, key")
        return self._items("SELECT * FROM items WHERE status=? ORDER BY fetched_at, key", (status,))

    def prune_texts(self, keep_days: float) -> int:
        """Drop texts of reported items older than ``keep_days``: they no longer serve as context."""
        since = (datetime.now(UTC) - timedelta(days=keep_days)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        with self.transaction() as db:
            return db.execute("UPDATE items SET text=NULL WHERE status='reported' AND fetched_at<? AND text IS NOT NULL", (since,)).rowcount

    # results
    def record_results(self, db: sqlite3.Connection, rows: list[dict[str, Any]], run_id: str) -> None:
        """Inside a transaction: one result per report on disk, and its item marked reported."""
        stamp = now()
        for row in rows:
            db.execute(
                "INSERT OR IGNORE INTO results (article_id, key, feed, run_id, story_id, machine_translated, probability, abstained, "
                "sentences, flagged_sentences, title, source, recovered, reported_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (row["article_id"], row["key"], row["feed"], run_id, row["story_id"], row["machine_translated"], row["probability"],
                 row["abstained"], row["sentences"], row["flagged_sentences"], row["title"], row["source"], int(row.get("recovered", 0)), stamp),
            )
            db.execute("UPDATE items SET status='reported' WHERE key=? AND status='pending'", (row["key"],))

    def story_ids(self, article_ids: Iterable[str]) -> dict[str, str | None]:
        ids = list(article_ids)
        out: dict[str, str | None] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            out.update({r[0]: r[1] for r in self.db.execute(f"SELECT article_id, story_id FROM results WHERE article_id IN ({marks})", chunk)})
        return out

    def set_story_ids(self, changes: dict[str, str]) -> None:
        """Give a story id to earlier lone articles that tonight's coverage joined (their reports stay as written)."""
        if changes:
            with self.transaction() as db:
                db.executemany("UPDATE results SET story_id=? WHERE article_id=? AND story_id IS NULL", [(s, a) for a, s in changes.items()])

    def unfinished_claims(self) -> list[str]:
        """Runs that claimed results for their index but never finished (killed, or failed)."""
        return [r[0] for r in self.db.execute(
            "SELECT DISTINCT r.indexed_in FROM results r JOIN runs u ON u.run_id = r.indexed_in WHERE u.status != 'finished'"
        )]

    def unindex(self, run_ids: list[str]) -> None:
        """Results claimed by the index of a run that died: the next index lists them instead."""
        if run_ids:
            with self.transaction() as db:
                db.executemany("UPDATE results SET indexed_in=NULL WHERE indexed_in=?", [(r,) for r in run_ids])

    def claim_for_index(self, run_id: str) -> list[dict[str, Any]]:
        """Every result no index lists yet now belongs to this run's index (committed before the index is written)."""
        with self.transaction() as db:
            db.execute("UPDATE results SET indexed_in=? WHERE indexed_in IS NULL", (run_id,))
        return [dict(r) for r in self.db.execute("SELECT * FROM results WHERE indexed_in=? ORDER BY article_id", (run_id,))]

    def results(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.db.execute("SELECT * FROM results ORDER BY article_id")]

    def counts(self) -> dict[str, int]:
        return {r[0]: r[1] for r in self.db.execute("SELECT status, COUNT(*) FROM items GROUP BY status")}
