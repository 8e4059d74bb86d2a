"""Shared fixtures: the seeds audited once per session, and the shared data folder when present."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SHARED_DATA = Path(os.environ.get("MTAUDIT_SHARED_DATA", ROOT.parent / "shared" / "data"))

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"


@pytest.fixture(scope="session")
def settings() -> Any:
    from mtaudit.base.settings import Settings

    return Settings()


@pytest.fixture(scope="session")
def seed_result(settings: Any) -> Any:
    from mtaudit.stages import pipeline

    return pipeline.audit([SEEDS], settings)


@pytest.fixture(scope="session")
def seed_reports(seed_result: Any) -> dict[str, dict[str, Any]]:
    """Seed prefix ("000".."004") -> report."""
    return {Path(r["source"]).name[:3]: r for r in seed_result.reports}


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA
