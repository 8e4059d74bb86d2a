"""``python -m mtaudit.cli``: the same command line as ``mtaudit``."""

from mtaudit.cli import app

app()
