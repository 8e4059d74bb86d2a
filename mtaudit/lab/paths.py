"""Where the lab finds its inputs: the checkout it runs from, and the shared evaluation data beside it.

The data folder is ``../shared/data`` next to the checkout (its files stay where they are), or wherever
``MTAUDIT_SHARED_DATA`` points. Only the lab reads it: a user's audit never does.
"""

from __future__ import annotations

import os
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]
SHARED_DATA = Path(os.environ.get("MTAUDIT_SHARED_DATA", CHECKOUT.parent / "shared" / "data"))
SEEDS = CHECKOUT / "seeds"
