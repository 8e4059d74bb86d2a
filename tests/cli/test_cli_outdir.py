"""The --out folder agrees with itself: earlier runs' reports are named or cleaned, and Ctrl-C still leaves a summary."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mtaudit.cli import app
from tests.conftest import SEEDS

runner = CliRunner()
HREF = re.compile(r'href="([0-9a-f]{16})\.html"')


def seed(prefix: str) -> str:
    return str(next(SEEDS.glob(f"{prefix}_*.txt")))


def report_ids(folder: Path) -> set[str]:
    return {p.stem for p in folder.glob("*.json") if p.name != "summary.json"}


def summary_ids(folder: Path) -> tuple[list[str], list[str]]:
    """The article ids summary.csv and summary.json list, in their order."""
    csv = [line.split(",", 1)[0] for line in (folder / "summary.csv").read_text().splitlines()[1:]]
    js = [a["article_id"] for a in json.loads((folder / "summary.json").read_text())["articles"]]
    return csv, js


@pytest.fixture(scope="module")
def all_seeds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One audit of the five seeds, with every format: copied by each test that needs an earlier run."""
    out = tmp_path_factory.mktemp("seeds") / "reports"
    result = runner.invoke(app, ["audit", str(SEEDS), "--out", str(out), "--quiet"])
    assert result.exit_code == 1, result.output
    assert len(report_ids(out)) == 5
    return out


def test_an_earlier_runs_reports_are_named_once_and_report_makes_the_summary_agree(all_seeds: Path, tmp_path: Path) -> None:
    out = tmp_path / "X"
    shutil.copytree(all_seeds, out)
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")  # an input problem, to see it survive `mtaudit report`
    result = runner.invoke(app, ["audit", seed("001"), seed("003"), str(empty), "--out", str(out), "--json"])
    assert result.exit_code == 3, result.output
    payload = json.loads(result.stdout)
    assert (payload["audited"], payload["earlier_reports"]) == (2, 3)
    new = {a["article_id"] for a in payload["articles"]}
    warnings = [ln for ln in result.stderr.splitlines() if "earlier run" in ln]
    assert warnings == [f"warning: 3 reports from an earlier run are in {out}/; they are not in this summary; use a new folder or --clean"]
    csv, js = summary_ids(out)
    assert set(csv) == set(js) == new  # this run's summary: its own articles only
    assert set(HREF.findall((out / "index.html").read_text())) == new
    assert len(report_ids(out)) == 5  # nothing deleted without --clean

    result = runner.invoke(app, ["report", str(out), "--html", "--quiet"])
    assert result.exit_code == 0, result.output
    csv, js = summary_ids(out)
    assert set(csv) == set(js) == set(HREF.findall((out / "index.html").read_text())) == report_ids(out)
    summary = json.loads((out / "summary.json").read_text())
    assert [p["code"] for p in summary["problems"]] == ["E_EMPTY"]  # the audit's recorded problem is kept
    assert summary["rewritten_by"] == "mtaudit report" and summary["signature"].startswith("mtaudit:")
    import pandas as pd

    assert set(pd.read_parquet(out / "summary.parquet")["article_id"]) == report_ids(out)
    assert not list(out.glob(".*.tmp"))

    # the same articles again: every report is this run's, so no warning
    result = runner.invoke(app, ["audit", seed("001"), seed("003"), "--out", str(tmp_path / "again"), "--quiet"])
    again = runner.invoke(app, ["audit", seed("001"), seed("003"), "--out", str(tmp_path / "again"), "--quiet"])
    assert result.exit_code == again.exit_code == 0 and "earlier run" not in again.stderr, again.output


def test_clean_removes_the_earlier_runs_files_and_nothing_else(all_seeds: Path, tmp_path: Path) -> None:
    out = tmp_path / "X"
    shutil.copytree(all_seeds, out)
    (out / "notes.txt").write_text("mine")
    (out / "summary.xlsx").write_text("mine too")
    (out / "runs").mkdir()
    (out / "runs" / "0123456789abcdef.json").write_text("{}")
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}

    # nothing to audit: a usage error, and --out is left exactly as it was
    result = runner.invoke(app, ["audit", str(tmp_path / "nope"), "--out", str(out), "--clean"])
    assert result.exit_code == 2, result.output
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before

    result = runner.invoke(app, ["audit", seed("001"), seed("003"), "--out", str(out), "--clean", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    new = {a["article_id"] for a in payload["articles"]}
    assert payload["earlier_reports"] == 0 and "earlier run" not in result.stderr
    assert report_ids(out) == new
    left = {p.name for p in out.iterdir()}
    assert left == {f"{i}.{ext}" for i in new for ext in ("json", "md", "html")} | {
        "summary.csv", "summary.parquet", "summary.json", "index.html", "notes.txt", "summary.xlsx", "runs"}
    assert (out / "runs" / "0123456789abcdef.json").exists()


def _reports(folder: Path, n: int) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json")) if p.name != "summary.json"][:n]


def _interrupted_stream(reports: list[dict[str, Any]], found: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """audit_stream as on a batch of ``found`` articles, and a real SIGINT to this process after ``reports``."""
    from mtaudit.stages import pipeline

    def fake(inputs: Any, settings: Any, texts: Any = (), progress: Any = None, status: Any = None) -> tuple[list[Any], Iterator[dict[str, Any]]]:
        if progress:
            progress("ingest", found, found)

        def stream() -> Iterator[dict[str, Any]]:
            yield from reports
            os.kill(os.getpid(), signal.SIGINT)  # Python's own handler turns it into KeyboardInterrupt, as Ctrl-C would
            signal.pause()  # never reached once the handler has run
            yield from ()

        return [], stream()

    monkeypatch.setattr(pipeline, "audit_stream", fake)


def test_ctrl_c_writes_the_summary_of_the_finished_articles_and_exits_130(all_seeds: Path, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finished = _reports(all_seeds, 2)
    _interrupted_stream(finished, 40, monkeypatch)
    out = tmp_path / "X"
    result = runner.invoke(app, ["audit", str(SEEDS), "--out", str(out)])
    assert result.exit_code == 130, result.output
    assert "Traceback" not in result.output
    assert result.stderr.strip().splitlines()[-1] == "interrupted: 2 of 40 articles audited; summary written for those; rerun to finish"
    ids = {r["article_id"] for r in finished}
    csv, js = summary_ids(out)
    assert set(csv) == set(js) == set(HREF.findall((out / "index.html").read_text())) == report_ids(out) == ids

    _interrupted_stream(finished, 40, monkeypatch)
    result = runner.invoke(app, ["audit", str(SEEDS), "--out", str(tmp_path / "J"), "--json"])
    payload = json.loads(result.stdout)
    assert result.exit_code == payload["exit_code"] == 130
    assert (payload["interrupted"], payload["audited"], payload["articles_found"]) == (True, 2, 40)


def test_ctrl_c_before_any_article_is_done_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _interrupted_stream([], 40, monkeypatch)
    result = runner.invoke(app, ["audit", str(SEEDS), "--out", str(tmp_path / "X")])
    assert result.exit_code == 130, result.output
    assert result.stderr.strip().splitlines() == ["interrupted: 0 of 40 articles audited; nothing written; rerun to finish"]
    assert not (tmp_path / "X").exists()
