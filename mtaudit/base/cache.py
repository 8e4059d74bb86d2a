"""The one disk cache: a key -> bytes table in SQLite, for whatever is slow to rebuild (embeddings, scores,
features). Each user keys its entries with a version or a model signature, so a change never reads stale values.

WAL journal and one connection per process and file: several processes (Dask workers, the lexical helper)
read and write one file at once; a lock serialises the threads of one process.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

_CHUNK = 500  # SQLite's default limit on host parameters is 999


class Cache:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), timeout=60, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v BLOB NOT NULL)")

    def get_many(self, keys: list[str]) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        with self._lock:
            for i in range(0, len(keys), _CHUNK):
                chunk = keys[i : i + _CHUNK]
                out.update(self._db.execute(f"SELECT k, v FROM kv WHERE k IN ({','.join('?' * len(chunk))})", chunk).fetchall())
        return out

    def put_many(self, items: list[tuple[str, bytes]]) -> None:
        if not items:
            return
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)", items)
            self._db.execute("COMMIT")

    def fetch(self, keys: list[str], compute: Callable[[list[int]], list[Any]], encode: Callable[[Any], bytes] | None = None,
              decode: Callable[[bytes], Any] | None = None) -> list[Any]:
        """The value of each key: stored ones read (through ``decode``); for the others ``compute`` gets the position
        of each missing key's first occurrence and returns their values, which are stored (through ``encode``) and
        handed back as computed."""
        have: dict[str, Any] = self.get_many(sorted(set(keys)))
        if decode is not None:
            have = {k: decode(v) for k, v in have.items()}
        missing: dict[str, int] = {}
        for i, k in enumerate(keys):
            if k not in have and k not in missing:
                missing[k] = i
        if missing:
            new = dict(zip(missing, compute(list(missing.values()))))
            self.put_many([(k, v if encode is None else encode(v)) for k, v in new.items()])
            have.update(new)
        return [have[k] for k in keys]

    def fetch_json(self, keys: list[str], compute: Callable[[list[int]], list[Any]]) -> list[Any]:
        """:meth:`fetch` for values stored as JSON."""
        return self.fetch(keys, compute, _json_bytes, json.loads)

    def get_json(self, keys: list[str]) -> dict[str, Any]:
        return {k: json.loads(v) for k, v in self.get_many(keys).items()}

    def put_json(self, items: dict[str, Any]) -> None:
        self.put_many([(k, _json_bytes(v)) for k, v in items.items()])


def _json_bytes(value: Any) -> bytes:
    """How a JSON value is stored: one encoding for ``put_json`` and ``fetch_json``."""
    return json.dumps(value).encode()


_OPEN: dict[Path, Cache] = {}
_OPEN_LOCK = threading.Lock()


def open_cache(path: Path) -> Cache:
    """The cache at ``path``; one connection per process and file."""
    with _OPEN_LOCK:
        if path not in _OPEN:
            _OPEN[path] = Cache(path)
        return _OPEN[path]


def close_cache(path: Path) -> None:
    """Close the connection to ``path`` (before its folder is removed)."""
    with _OPEN_LOCK:
        found = _OPEN.pop(path, None)
    if found is not None:
        found._db.close()
