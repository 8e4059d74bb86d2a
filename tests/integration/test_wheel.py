"""A wheel (``pip install .``, not ``-e``) carries everything the audit needs: models, templates, schema.

The wheel is installed without its dependencies into a fresh virtual environment that borrows them from
this one (a ``.pth`` path to its site-packages: the dependencies' folders, not this checkout), and audits
a seed article from a folder outside the checkout.
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, SEEDS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
                   check=True, cwd=out)
    (found,) = out.glob("mtaudit-*.whl")
    return found


def test_the_wheel_carries_the_models_templates_and_schema(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("mtaudit/models/detector/detector.json", "mtaudit/models/detector/wordchoice.json.gz", "mtaudit/models/quality/weights.json",
                   "mtaudit/report/schema/report.schema.json", "mtaudit/report/templates/article.html.j2",
                   "mtaudit/report/templates/nightly_index.html.j2", "mtaudit/py.typed"):
        assert needed in names, needed
    assert not any(n.startswith(("tests/", "seeds/")) for n in names)


def test_an_installed_wheel_audits_a_seed_article(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    python = env_dir / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)],
                   check=True)
    (fresh_site,) = (env_dir / "lib").glob("python3*/site-packages")
    # the dependencies only: a plain path line, so this environment's editable-install hook is not run there
    (fresh_site / "deps.pth").write_text("".join(p + "\n" for p in site.getsitepackages()))
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": ""}
    where = subprocess.run([str(python), "-c", "import mtaudit.stages.models as m; print(m.MODELS_DIR)"],
                           capture_output=True, text=True, cwd=work, env=env, check=True).stdout.strip()
    assert where.startswith(str(fresh_site)), where  # the installed copy, not this checkout
    (article,) = SEEDS.glob("000_*.txt")
    run = subprocess.run([str(python), "-m", "mtaudit.cli", "audit", str(article), "--out", str(work / "reports"),
                          "--format", "json", "--json"], capture_output=True, text=True, cwd=work, env=env)
    assert run.returncode == 1, run.stderr[-2000:]  # 1: flagged as machine-translated, as from the checkout
    summary = json.loads(run.stdout)
    assert summary["audited"] == 1 and summary["flagged"] == 1
    (report,) = [p for p in (work / "reports").glob("*.json") if p.name != "summary.json"]
    verdict = json.loads(report.read_text())["verdict"]
    assert verdict["machine_translated"] is True and verdict["level"] == "machine_translated"
