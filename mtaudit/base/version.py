"""The package's version: one place, read by ``mtaudit.__version__``, the signatures and pyproject.toml."""

__version__ = "0.1.0"
