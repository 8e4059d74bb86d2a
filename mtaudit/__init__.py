"""mtaudit: find machine-translated news articles and measure the damage, sentence by sentence."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["__version__", "audit", "load_reports"]

if TYPE_CHECKING:
    from mtaudit.api import audit, load_reports


def __getattr__(name: str) -> Any:
    """``mtaudit.audit`` and ``mtaudit.load_reports`` load pandas on first use, not on every CLI start."""
    if name in ("audit", "load_reports"):
        from mtaudit import api

        return getattr(api, name)
    raise AttributeError(f"module 'mtaudit' has no attribute {name!r}")
