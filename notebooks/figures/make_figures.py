"""Regenerate the README figures: the executed notebook's plots and Chromium screenshots of a seed report.

    .venv/bin/python notebooks/figures/make_figures.py [REPORTS_DIR] [--out notebooks/figures]

REPORTS_DIR defaults to reports/ (written by `make audit`); when it holds no report, the seeds are
audited into a temporary folder first. Needs the dev extra (nbclient, ipykernel) and Debian's chromium.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "explore_flags.ipynb"


def reports_folder(wanted: Path, scratch: Path) -> Path:
    """The given folder when it holds reports, else the seeds audited into scratch."""
    import mtaudit
    from mtaudit import report

    if wanted.is_dir() and mtaudit.load_reports(wanted).reports:
        return wanted
    res = mtaudit.audit([ROOT / "seeds"])
    for rep in res.reports:
        report.write_article(rep, scratch, ("json",))
    return scratch


def write_kernel(jupyter_path: Path, name: str, display_name: str) -> None:
    """A kernel spec under ``jupyter_path`` that runs this interpreter (the .venv's, with mtaudit), not a system one."""
    spec = jupyter_path / "kernels" / name
    spec.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": display_name, "language": "python"}))


def run_notebook(reports: Path, figures: Path, scratch: Path) -> None:
    """Execute the notebook with this interpreter as its kernel; its cells save the PNGs."""
    import nbclient
    import nbformat

    write_kernel(scratch / "jupyter", "mtaudit-figures", "mtaudit")
    os.environ.update({"JUPYTER_PATH": str(scratch / "jupyter"), "MTAUDIT_REPORTS": str(reports), "MTAUDIT_FIGURES": str(figures)})
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(
        nb, kernel_name="mtaudit-figures", timeout=600, resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    ).execute()


def screenshots(reports: Path, figures: Path, scratch: Path) -> None:
    """The seed 000 page (verdict and highlighted text), its evidence cards, and the index."""
    import mtaudit
    from mtaudit.report import html

    res = mtaudit.load_reports(reports)
    pages = scratch / "html"
    html.write_pages(res.reports, pages)
    top = max(res.reports, key=lambda r: r["verdict"]["probability"])
    html.chromium(pages / f"{top['article_id']}.html", dump_dom=False, screenshot=figures / "report_article.png", window=(1280, 1560))
    cards = pages / "cards.html"
    cards.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'></head><body style='margin:0;padding:20px 28px;background:#f5f6f8'>"
        + html.evidence_fragment(top, only_flagged=True)
        + "</body></html>",
        encoding="utf-8",
    )
    html.chromium(cards, dump_dom=False, screenshot=figures / "report_evidence.png", window=(1280, 1120))
    html.chromium(pages / "index.html", dump_dom=False, screenshot=figures / "report_index.png", window=(1280, 660))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="?", type=Path, default=ROOT / "reports")
    parser.add_argument("--out", type=Path, default=ROOT / "notebooks" / "figures")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mtaudit-figures-") as tmp:
        scratch = Path(tmp)
        reports = reports_folder(args.reports, scratch / "reports")
        screenshots(reports, args.out, scratch)
        run_notebook(reports, args.out, scratch)
    print("\n".join(sorted(str(p) for p in args.out.glob("*.png"))))


if __name__ == "__main__":
    main()
