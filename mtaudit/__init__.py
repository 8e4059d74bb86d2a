"""mtaudit: find machine-translated news articles and measure the damage, sentence by sentence."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
