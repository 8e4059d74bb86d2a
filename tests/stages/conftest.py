"""Fixtures the stage tests share."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="module")
def cold(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Settings whose score cache is a fresh folder, so caching is really exercised."""
    return settings.replace(cache_dir=str(tmp_path_factory.mktemp("cache")))
