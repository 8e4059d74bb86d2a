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
    """The shipped defaults, less what MTAUDIT_* says: CI runs the golden tests again with MTAUDIT_LM_PRECISION=bfloat16."""
    from mtaudit.base.settings import load_settings

    return load_settings(default_file=False)


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
