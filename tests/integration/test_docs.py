"""The documentation: the site builds offline with no warning, and the README stays a short page for users."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def test_docs_site_builds_strict(tmp_path: Path) -> None:
    """A broken link or anchor, a page missing from the nav or a model card's symlink gone fails the build."""
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    for page in ("index.html", "cli/index.html", "settings/index.html", "models/detector/index.html", "models/quality/index.html"):
        assert (site / page).is_file(), f"{page} not built"


def test_readme_is_short_and_names_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines; move reference material to docs/"
    assert "make audit" in text
    assert "make test" in text
