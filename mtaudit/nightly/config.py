"""The nightly job's config file: feeds, folders and limits, read from TOML and checked with a message that names the key."""

from __future__ import annotations

import importlib.util
import tomllib
from collections import Counter
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from mtaudit.base.settings import Settings, load_settings
from mtaudit.nightly.fetch import FetchSettings

_NIGHTLY_KEYS = {"feeds", "out", "state", "lookback_days", "max_context", "keep_text_days", "batch_size", "formats",
                 "fetch_workers", "feed_deadline", "max_items", "settle_seconds", "http"}


_FEED_KEYS = {"name", "url", "path", "fetch_pages"}


class ConfigError(ValueError):
    """The nightly config cannot be used; the message says which key and why."""


@dataclass(frozen=True)
class Feed:
    """One source: an RSS/Atom ``url``, or a local ``path`` (a drop folder or file; .jsonl = one item per line)."""

    name: str
    url: str | None = None
    path: Path | None = None
    fetch_pages: bool = True  # an entry with only a summary: fetch its link and extract the article

    @property
    def location(self) -> str:
        return self.url or str(self.path)


@dataclass(frozen=True)
class NightlyConfig:
    """The ``[nightly]`` table (and ``[nightly.http]``, ``[[nightly.feeds]]``), plus ``[audit]`` settings."""

    feeds: tuple[Feed, ...]
    out: Path
    state: Path
    lookback_days: float = 3.0  # reported articles this recent join tonight's story grouping
    max_context: int = 1000  # at most this many of them (newest first): grouping cost grows with it
    keep_text_days: float = 30.0  # texts of older reported items are dropped from the state
    batch_size: int = 25  # items audited, written and committed together
    formats: tuple[str, ...] = ("json", "md")
    fetch_workers: int = 4  # pages fetched in parallel within a feed
    feed_deadline: float = 600.0  # seconds for one feed's pages; the rest are retried next run
    max_items: int = 0  # audit at most this many pending items per run (0: all); the rest wait
    settle_seconds: float = 30.0  # drop-folder files changed more recently than this may be half-written: next run
    http: FetchSettings = field(default_factory=FetchSettings)
    settings: Settings = field(default_factory=Settings)
    source: Path | None = None


def _number(table: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or (kind is int and not isinstance(value, int)):
        raise ConfigError(f"{where}: {key} must be {'an integer' if kind is int else 'a number'}, not {value!r}")
    if value < 0:
        raise ConfigError(f"{where}: {key} must not be negative")
    return kind(value)


def load_config(path: Path) -> NightlyConfig:
    """Read and check the TOML config; relative paths are relative to the config file's folder."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            doc = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such config file") from exc
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    table = doc.get("nightly")
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: no [nightly] table (see examples/nightly.toml)")
    where = f"{path} [nightly]"
    unknown = set(table) - _NIGHTLY_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key {', '.join(sorted(unknown))} (known: {', '.join(sorted(_NIGHTLY_KEYS))})")
    base = path.resolve().parent

    def local(value: Any, key: str) -> Path:
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{where}: {key} must be a path")
        p = Path(value).expanduser()
        return p if p.is_absolute() else base / p

    for key in ("out", "state"):
        if key not in table:
            raise ConfigError(f"{where}: {key} is required")
    feeds_raw = table.get("feeds")
    if not isinstance(feeds_raw, list) or not feeds_raw:
        raise ConfigError(f"{where}: at least one [[nightly.feeds]] entry is required")
    feeds: list[Feed] = []
    for n, raw in enumerate(feeds_raw, 1):
        fw = f"{path} feed {n}"
        if not isinstance(raw, dict):
            raise ConfigError(f"{fw}: must be a table with name and url or path")
        if set(raw) - _FEED_KEYS:
            raise ConfigError(f"{fw}: unknown key {', '.join(sorted(set(raw) - _FEED_KEYS))} (known: {', '.join(sorted(_FEED_KEYS))})")
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{fw}: name is required")
        if ("url" in raw) == ("path" in raw):
            raise ConfigError(f"{fw} ({name}): give exactly one of url (RSS/Atom) or path (folder or JSONL file)")
        url = raw.get("url")
        if url is not None and (not isinstance(url, str) or not url.lower().startswith(("http://", "https://"))):
            raise ConfigError(f"{fw} ({name}): url must start with http:// or https://")
        fetch_pages = raw.get("fetch_pages", True)
        if not isinstance(fetch_pages, bool):
            raise ConfigError(f"{fw} ({name}): fetch_pages must be true or false")
        feeds.append(Feed(name.strip(), url, local(raw["path"], "path") if "path" in raw else None, fetch_pages))
    dupes = [n for n, c in Counter(f.name for f in feeds).items() if c > 1]
    if dupes:
        raise ConfigError(f"{path}: feed names must be unique; repeated: {', '.join(dupes)}")

    kw: dict[str, Any] = {}
    for key, kind in (("lookback_days", float), ("max_context", int), ("keep_text_days", float), ("batch_size", int),
                      ("fetch_workers", int), ("feed_deadline", float), ("max_items", int), ("settle_seconds", float)):
        if key in table:
            kw[key] = _number(table, key, kind, where)
    if kw.get("batch_size", 1) < 1 or kw.get("fetch_workers", 1) < 1:
        raise ConfigError(f"{where}: batch_size and fetch_workers must be at least 1")
    if "formats" in table:
        fmt = table["formats"]
        if not isinstance(fmt, list) or not all(isinstance(f, str) for f in fmt) or set(fmt) - {"json", "md", "html"}:
            raise ConfigError(f"{where}: formats must be a list of json, md, html")
        if "html" in fmt and importlib.util.find_spec("mtaudit.report.html") is None:
            raise ConfigError(f"{where}: format html needs mtaudit.report.html, which this install lacks; use json and md")
        kw["formats"] = ("json",) + tuple(f for f in dict.fromkeys(fmt) if f != "json")
    http = table.get("http", {})
    if not isinstance(http, dict):
        raise ConfigError(f"{where}: http must be a table")
    known_http = {f.name: f.type for f in fields(FetchSettings)}
    if set(http) - set(known_http):
        raise ConfigError(f"{where}.http: unknown key {', '.join(sorted(set(http) - set(known_http)))} (known: {', '.join(sorted(known_http))})")
    http_kw = {}
    for key, value in http.items():
        http_kw[key] = str(value) if known_http[key] == "str" else _number(http, key, int if known_http[key] == "int" else float, f"{where}.http")
    try:
        settings = load_settings(path)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"[audit] {exc}") from exc
    return NightlyConfig(
        feeds=tuple(feeds), out=local(table["out"], "out"), state=local(table["state"], "state"),
        http=FetchSettings(**http_kw), settings=settings, source=path, **kw,
    )
