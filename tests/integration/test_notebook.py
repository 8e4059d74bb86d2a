"""The exploration notebook runs top to bottom on the seed reports and shows what it promises."""

from __future__ import annotations

import base64
import contextlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from mtaudit import report
from tests.conftest import ROOT

REPO = ROOT
NOTEBOOK = REPO / "notebooks" / "explore_flags.ipynb"
KERNEL = "mtaudit-test-venv"
FIGURES = ("scores_per_article", "signal_contributions", "damage_map")
# Run in the kernel after the notebook: the plain data its last figures were drawn from, as JSON.
PROBE = """
import json
print(json.dumps({
    "contributions": contributions[["article_id", "index", "flagged_by", "mt_probability", "model_probability"]].to_dict("records"),
    "grid": {aid: [None if np.isnan(v) else float(v) for v in grid[r]] for r, aid in enumerate(ranked.article_id)},
    "legend": [t.get_text() for t in sig_ax.get_legend().get_texts()],
    "map_legend": [t.get_text() for t in map_ax.get_legend().get_texts()],
    "spans_threshold": spans_threshold,
    "model_threshold": model_threshold,
}))
"""


def outputs(nb: Any, mime: str) -> list[str]:
    found = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if mime in data:
                found.append(data[mime] if isinstance(data[mime], str) else "".join(data[mime]))
    return found


def make_figures() -> Any:
    """notebooks/figures/make_figures.py, the script that runs the notebook for the README: its kernel spec is ours."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_figures", REPO / "notebooks" / "figures" / "make_figures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def kernel_env(tmp: Path, **extra: str | None) -> pytest.MonkeyPatch:
    """Environment for a kernel that is this interpreter (the .venv's), set until ``undo()``; a None value unsets."""
    make_figures().write_kernel(tmp / "jupyter", KERNEL, "mtaudit tests")
    mp = pytest.MonkeyPatch()
    base = {"JUPYTER_PATH": str(tmp / "jupyter"), "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"), "IPYTHONDIR": str(tmp / "ipython"), "MPLBACKEND": "Agg"}
    for key, value in {**base, **extra}.items():
        if value is None:
            mp.delenv(key, raising=False)
        else:
            mp.setenv(key, value)
    return mp


@pytest.fixture(scope="module")
def executed(seed_result: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path, dict[str, Any]]:
    """Run the notebook once on the seed reports, then ask its kernel what the last figures were drawn from."""
    nbclient = pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("ipykernel")
    tmp = tmp_path_factory.mktemp("notebook")
    reports = tmp / "reports"
    for rep in seed_result.reports:
        report.write_article(rep, reports, ("json",))
    figures = tmp / "figures"
    mp = kernel_env(tmp, MTAUDIT_REPORTS=str(reports), MTAUDIT_FIGURES=str(figures), MTAUDIT_SEEDS=None)
    try:
        nb = nbformat.read(NOTEBOOK, as_version=4)
        client = nbclient.NotebookClient(nb, kernel_name=KERNEL, timeout=300, resources={"metadata": {"path": str(NOTEBOOK.parent)}})
        with client.setup_kernel():
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
            probe = run_extra(client, nbformat.v4.new_code_cell(PROBE))
    finally:
        mp.undo()
    drawn = json.loads("".join(o.get("text", "") for o in probe.outputs if o.get("name") == "stdout"))
    return nb, figures, drawn


def run_extra(client: Any, cell: Any) -> Any:
    """Execute a cell that is not the notebook's in its kernel (nbclient stores a cell at its index: append, then drop it)."""
    client.nb.cells.append(cell)
    try:
        client.execute_cell(cell, len(client.nb.cells) - 1)
    finally:
        client.nb.cells.pop()
    return cell


def html_table(html: str) -> list[dict[str, str]]:
    """The rows of a pandas HTML table as {column: cell text}."""
    rows = [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S) for row in re.findall(r"<tr[^>]*>(.*?)</tr>", html, re.S)]
    head = rows[0]
    return [dict(zip(head, row)) for row in rows[1:]]


def test_committed_notebook_is_small_and_clean() -> None:
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    assert NOTEBOOK.stat().st_size < 100_000
    assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code"), "strip the outputs before committing"


def test_runs_without_errors(executed: tuple[Any, Path, dict[str, Any]]) -> None:
    nb, _, _ = executed
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []
    assert all(c.get("execution_count") for c in nb.cells if c.cell_type == "code")


def test_articles_ranked_by_probability(executed: tuple[Any, Path, dict[str, Any]]) -> None:
    nb, _, _ = executed
    tables = [t for t in outputs(nb, "text/html") if "<table" in t and "000_1f1dcbe8d1ab7a83" in t]
    assert tables, "no table shows the seed 000 article"
    ranked = next(t for t in tables if "probability" in t and "001_5468ed566707ed0b" in t)
    pos = {k: ranked.index(k) for k in ("000_1f1dcbe8d1ab7a83", "002_4113d488b7a79072", "001_5468ed566707ed0b")}
    assert max(pos["000_1f1dcbe8d1ab7a83"], pos["002_4113d488b7a79072"]) < pos["001_5468ed566707ed0b"]  # both MT seeds first


def test_flagged_sentences_beside_references_and_repairs(executed: tuple[Any, Path, dict[str, Any]], seed_reports: dict[str, Any]) -> None:
    nb, _, _ = executed
    sent = next(s for s in seed_reports["000"]["sentences"] if "Shinchoa" in s["text"])
    side = [t for t in outputs(nb, "text/html") if "best_reference" in t and "repaired" in t]
    assert side and "Xinhua" in side[0] and "Shinchoa" in side[0]
    assert max(sent["references"], key=lambda r: r["similarity"])["text"][:60].replace("“", "") in side[0].replace("“", "")


def test_spans_highlighted(executed: tuple[Any, Path, dict[str, Any]]) -> None:
    nb, _, _ = executed
    html = "".join(outputs(nb, "text/html"))
    assert 'data-suggestion="Xinhua"' in html and ">Shinchoa</mark>" in html
    assert 'data-suggestion="Xi"' in html and ">the eleventh</mark>" in html
    assert "<script" not in html


def test_figures_are_drawn_and_saved(executed: tuple[Any, Path, dict[str, Any]]) -> None:
    nb, figures, _ = executed
    images = [base64.b64decode(png) for png in outputs(nb, "image/png")]
    assert len(images) >= 3
    assert all(img[:8] == b"\x89PNG\r\n\x1a\n" and len(img) > 10_000 for img in images)
    for name in FIGURES:
        data = (figures / f"{name}.png").read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, name


def test_flagged_table_says_what_flagged_each_sentence(executed: tuple[Any, Path, dict[str, Any]], seed_reports: dict[str, Any]) -> None:
    """A sentence only the sentence model flags showed mt_probability 0.0000 and nothing else: the table gives both
    probabilities and what flagged it, as the reports have them."""
    nb, _, _ = executed
    table = next(t for t in outputs(nb, "text/html") if "best_reference" in t and "repaired" in t)
    rows = html_table(table)
    assert {"flagged_by", "mt_probability", "model_probability"} <= set(rows[0])
    expected = {(k, s["index"]): s for k, rep in seed_reports.items() for s in rep["sentences"] if s["flagged"]}
    shown = {(r["article"][:3], int(r["index"])): r for r in rows}
    assert set(shown) == set(expected)
    model_only = 0
    for key, s in expected.items():
        row = shown[key]
        assert row["flagged_by"] == " + ".join(report.flagged_by(s)), key
        assert float(row["mt_probability"]) == pytest.approx(s["mt_probability"], abs=1e-4)
        assert float(row["model_probability"]) == pytest.approx(s["model_probability"], abs=1e-4)
        model_only += report.flagged_by(s) == ["sentence model"]
    assert model_only >= 6  # seed 000 alone has 6 sentences only the sentence model flags


def test_signal_chart_marks_what_flagged_each_sentence(executed: tuple[Any, Path, dict[str, Any]], seed_reports: dict[str, Any]) -> None:
    """The dashed line is the spans' threshold and agrees with the spans' flags; the sentence model's flags are drawn
    too (002 s7 at spans 0.475 is flagged, s3 at 0.45 is not: the model tells them apart)."""
    nb, _, drawn = executed
    ids = {rep["article_id"]: k for k, rep in seed_reports.items()}
    rows = {(ids[r["article_id"]], r["index"]): r for r in drawn["contributions"]}
    flagged = {(k, s["index"]): s for k, rep in seed_reports.items() for s in rep["sentences"] if s["flagged"]}
    assert set(flagged) <= set(rows), "every flagged sentence has a row, a sentence without spans too"
    for key, row in rows.items():
        s = next(s for s in seed_reports[key[0]]["sentences"] if s["index"] == key[1])
        by = report.flagged_by(s) if s["flagged"] else []
        assert row["flagged_by"] == " + ".join(by), key
        assert ("spans" in by) == (row["mt_probability"] >= drawn["spans_threshold"]), key
        if "sentence model" in by:
            assert row["model_probability"] >= drawn["model_threshold"], key
    assert drawn["spans_threshold"] == 0.5 and drawn["model_threshold"] == pytest.approx(0.6)
    legend = " | ".join(drawn["legend"])
    assert "spans' threshold (0.5)" in legend and "sentence model: flagged it" in legend
    text = " ".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "spans' threshold" in text and "the flagging threshold" not in text


def test_damage_map_colours_by_what_flagged(executed: tuple[Any, Path, dict[str, Any]], seed_reports: dict[str, Any]) -> None:
    """A sentence only the sentence model flags was a ring on a white cell: its cell takes the model's probability."""
    _, _, drawn = executed
    for key in ("000", "002"):
        rep = seed_reports[key]
        cells = drawn["grid"][rep["article_id"]]
        for s in rep["sentences"]:
            by = report.flagged_by(s) if s["flagged"] else []
            p = max(s["mt_probability"], s["model_probability"]) if "sentence model" in by else s["mt_probability"]
            assert cells[s["index"]] == pytest.approx(p), (key, s["index"])
            if by == ["sentence model"]:
                assert cells[s["index"]] >= 0.6, (key, s["index"])
    assert "flagged by the sentence model" in drawn["map_legend"] and "flagged by its spans" in drawn["map_legend"]


def test_a_copy_elsewhere_finds_the_checkout_or_says_why(tmp_path: Path) -> None:
    """Run from another folder the notebook found no seeds, printed E_READ and drew empty plots; a mistyped
    MTAUDIT_REPORTS showed the seeds as that folder's results. Now the folders come from the package, and a
    folder that holds nothing to show is an exception that names it."""
    nbclient = pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("ipykernel")
    copy = tmp_path / "elsewhere" / "nb.ipynb"
    copy.parent.mkdir()
    shutil.copy(NOTEBOOK, copy)
    nb = nbformat.read(copy, as_version=4)
    setup, load = [c for c in nb.cells if c.cell_type == "code"][:2]
    (tmp_path / "not_reports").mkdir()
    (tmp_path / "not_reports" / "notes.txt").write_text("no report here\n")
    (tmp_path / "no_articles").mkdir()
    mp = kernel_env(tmp_path / "kernel", MTAUDIT_REPORTS=None, MTAUDIT_SEEDS=None, MTAUDIT_FIGURES=None)
    try:
        client = nbclient.NotebookClient(nb, kernel_name=KERNEL, timeout=120, resources={"metadata": {"path": str(copy.parent)}})
        with client.setup_kernel():

            def run(source: str) -> Any:
                cell = nbformat.v4.new_code_cell(source)
                with contextlib.suppress(nbclient.exceptions.CellExecutionError):  # the error is in the cell's outputs
                    run_extra(client, cell)
                return cell

            def stdout(cell: Any) -> str:
                failed = [f"{o['ename']}: {o['evalue']}" for o in cell.outputs if o.get("output_type") == "error"]
                assert not failed, failed
                return "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout")

            def error(env: dict[str, str | None]) -> str:
                """Set the variables in the kernel, rerun the setup and the loading cells; the loading cell's error."""
                run("import os\n" + "".join(f"os.environ.pop({k!r}, None)\n" if v is None else f"os.environ[{k!r}] = {v!r}\n" for k, v in env.items()))
                assert not [o for o in run(setup.source).outputs if o.get("output_type") == "error"]
                errors = [o for o in run(load.source).outputs if o.get("output_type") == "error"]
                assert errors, f"no error with {env}"
                return f"{errors[0]['ename']}: {errors[0]['evalue']}"

            stdout(run(setup.source))
            where = json.loads(stdout(run("import json\nprint(json.dumps([str(Path.cwd()), str(ROOT), str(SEEDS)]))")))
            assert Path(where[0]).resolve() == copy.parent.resolve()  # the kernel really runs elsewhere
            assert Path(where[1]) == REPO and Path(where[2]) == REPO / "seeds"

            msg = error({"MTAUDIT_REPORTS": str(tmp_path / "typo")})
            assert msg.startswith("FileNotFoundError") and "MTAUDIT_REPORTS" in msg and str(tmp_path / "typo") in msg
            msg = error({"MTAUDIT_REPORTS": str(tmp_path / "not_reports")})
            assert "MTAUDIT_REPORTS" in msg and "holds no reports" in msg
            msg = error({"MTAUDIT_REPORTS": None, "MTAUDIT_SEEDS": str(tmp_path / "no_articles")})
            assert "no article to show" in msg and str(tmp_path / "no_articles") in msg
            msg = error({"MTAUDIT_SEEDS": str(tmp_path / "missing")})
            assert msg.startswith("FileNotFoundError") and "MTAUDIT_SEEDS" in msg and str(tmp_path / "missing") in msg
    finally:
        mp.undo()
