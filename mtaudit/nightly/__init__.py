"""The nightly job for cron: fetch new feed items, audit them with the recent coverage, write reports and a
run index, never twice, safe under kill -9. Modules: ``config`` (the TOML file), ``fetch`` (HTTP with
bounded cost), ``state`` (SQLite memory), ``lock``, ``job`` (the run), ``index`` (the run's page).

May import: mtaudit.report, mtaudit.stages, mtaudit.nlp, mtaudit.text, mtaudit.base.
The names below are the public API (``from mtaudit import nightly; nightly.run(nightly.load_config(path))``).
"""

from mtaudit.nightly.config import ConfigError, Feed, NightlyConfig, load_config
from mtaudit.nightly.index import index_rows
from mtaudit.nightly.job import FeedReport, NightlyResult, run, stable_story_ids
from mtaudit.nightly.lock import AlreadyRunning

__all__ = [
    "AlreadyRunning", "ConfigError", "Feed", "FeedReport", "NightlyConfig", "NightlyResult", "index_rows", "load_config",
    "run", "stable_story_ids",
]
