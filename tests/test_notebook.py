"""The exploration notebook runs top to bottom on the seed reports and shows what it promises."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from mtaudit import report

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "explore_flags.ipynb"
KERNEL = "mtaudit-test-venv"
FIGURES = ("scores_per_article", "signal_contributions", "damage_map")


def outputs(nb: Any, mime: str) -> list[str]:
    found = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if mime in data:
                found.append(data[mime] if isinstance(data[mime], str) else "".join(data[mime]))
    return found


@pytest.fixture(scope="module")
def executed(seed_result: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    """Run the notebook once on the seed reports, with a kernel that is this interpreter (the .venv's)."""
    nbclient = pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("ipykernel")
    tmp = tmp_path_factory.mktemp("notebook")
    reports = tmp / "reports"
    for rep in seed_result.reports:
        report.write_article(rep, reports, ("json",))
    spec = tmp / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "mtaudit tests",
                "language": "python",
            }
        )
    )
    figures = tmp / "figures"
    mp = pytest.MonkeyPatch()
    for key, value in {
        "JUPYTER_PATH": str(tmp / "jupyter"),
        "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
        "IPYTHONDIR": str(tmp / "ipython"),
        "MTAUDIT_REPORTS": str(reports),
        "MTAUDIT_FIGURES": str(figures),
        "MPLBACKEND": "Agg",
    }.items():
        mp.setenv(key, value)
    try:
        nb = nbformat.read(NOTEBOOK, as_version=4)
        client = nbclient.NotebookClient(nb, kernel_name=KERNEL, timeout=300, resources={"metadata": {"path": str(NOTEBOOK.parent)}})
        client.execute()
    finally:
        mp.undo()
    return nb, figures


def test_committed_notebook_is_small_and_clean() -> None:
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    assert NOTEBOOK.stat().st_size < 100_000
    assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code"), "strip the outputs before committing"


def test_runs_without_errors(executed: tuple[Any, Path]) -> None:
    nb, _ = executed
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []
    assert all(c.get("execution_count") for c in nb.cells if c.cell_type == "code")


def test_articles_ranked_by_probability(executed: tuple[Any, Path]) -> None:
    nb, _ = executed
    tables = [t for t in outputs(nb, "text/html") if "<table" in t and "000_1f1dcbe8d1ab7a83" in t]
    assert tables, "no table shows the seed 000 article"
    ranked = next(t for t in tables if "probability" in t and "001_5468ed566707ed0b" in t)
    pos = {k: ranked.index(k) for k in ("000_1f1dcbe8d1ab7a83", "002_4113d488b7a79072", "001_5468ed566707ed0b")}
    assert max(pos["000_1f1dcbe8d1ab7a83"], pos["002_4113d488b7a79072"]) < pos["001_5468ed566707ed0b"]  # both MT seeds first


def test_flagged_sentences_beside_references_and_repairs(executed: tuple[Any, Path], seed_reports: dict[str, Any]) -> None:
    nb, _ = executed
    sent = next(s for s in seed_reports["000"]["sentences"] if "Shinchoa" in s["text"])
    side = [t for t in outputs(nb, "text/html") if "best_reference" in t and "repaired" in t]
    assert side and "Xinhua" in side[0] and "Shinchoa" in side[0]
    assert max(sent["references"], key=lambda r: r["similarity"])["text"][:60].replace("“", "") in side[0].replace("“", "")


def test_spans_highlighted(executed: tuple[Any, Path]) -> None:
    nb, _ = executed
    html = "".join(outputs(nb, "text/html"))
    assert 'data-suggestion="Xinhua"' in html and ">Shinchoa</mark>" in html
    assert 'data-suggestion="Xi"' in html and ">the eleventh</mark>" in html
    assert "<script" not in html


def test_figures_are_drawn_and_saved(executed: tuple[Any, Path]) -> None:
    nb, figures = executed
    images = [base64.b64decode(png) for png in outputs(nb, "image/png")]
    assert len(images) >= 3
    assert all(img[:8] == b"\x89PNG\r\n\x1a\n" and len(img) > 10_000 for img in images)
    for name in FIGURES:
        data = (figures / f"{name}.png").read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, name
