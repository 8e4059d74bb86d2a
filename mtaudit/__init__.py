"""mtaudit: find machine-translated news articles and measure the damage, sentence by sentence."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mtaudit.base.version import __version__

__all__ = ["__version__", "audit", "load_reports"]

if TYPE_CHECKING:
    from mtaudit.api import audit, load_reports


def __getattr__(name: str) -> Any:
    """``mtaudit.audit`` and ``mtaudit.load_reports`` load pandas on first use, not on every CLI start."""
    if name in ("audit", "load_reports"):
        from mtaudit import api  # pandas loads on the first mtaudit.audit call, not with every import of mtaudit

        return getattr(api, name)
    raise AttributeError(f"module 'mtaudit' has no attribute {name!r}")
