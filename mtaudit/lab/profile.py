"""``make profile``: py-spy over the benchmark's audit of one batch, a flame graph and where the wall time goes.

Why py-spy beside the bench's pyinstrument ``--profile``: it samples from outside the process
(no tracing hooks in the audit), sees the lexical helper process too (``--subprocesses``), and
counts idle samples (``--idle``), so a share of the main thread's samples is a share of wall
time, waits included. The models load and warm up before sampling starts (as in ``make bench``);
py-spy is attached to this process for the audit alone, with empty caches, and stopped after.

Writes under ``reports/bench/`` (git-ignored): ``profile-N.raw.txt`` (py-spy's collapsed stacks),
``profile-N.svg`` (a flame graph of the main process, drawn here from the raw stacks: py-spy
writes one format a run) and ``profile-N.md`` (the share table that docs/benchmarks.md quotes).
"""

from __future__ import annotations

import argparse
import html
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

from mtaudit.lab.bench import OUT_DIR, _cold_caches, _warm_up, build_batch, write_jsonl

# A sample goes to the first category matched walking its stack from the leaf up. Models come first
# (the LM called from a detection signal is LM time), then the innermost mtaudit module.
MODEL_RULES: list[tuple[str, tuple[str, ...]]] = [
    ("LM (SmolLM2 surprisal)", ("mtaudit/nlp/lm.py",)),
    ("encoder (MiniLM: sentence and token embeddings)", ("mtaudit/nlp/embed.py", "sentence_transformers/")),
    ("spaCy (tagger, entities)", ("spacy/", "thinc/")),
]
MODULE_RULES: list[tuple[str, tuple[str, ...]]] = [
    ("waiting for the lexical helper", ("LexicalJob.", "LexicalHelper.")),
    ("features, signals, detector (Python)", ("mtaudit/stages/features.py", "mtaudit/stages/signals.py", "mtaudit/stages/classifier.py",
                                               "mtaudit/stages/coverage.py", "mtaudit/stages/detect.py", "mtaudit/stages/pivot.py",
                                               "mtaudit/stages/models.py")),
    ("scores and quality (Python)", ("mtaudit/stages/score.py", "mtaudit/stages/quality.py")),
    ("stories, alignment, references (Python)", ("mtaudit/stages/stories.py", "mtaudit/stages/align.py", "mtaudit/stages/reference.py")),
    ("reports (JSON, Markdown)", ("mtaudit/report/",)),
    ("ingest and sentence splitting (I/O)", ("mtaudit/stages/ingest.py", "mtaudit/text/segment.py")),
    ("disk cache (SQLite)", ("mtaudit/base/cache.py",)),
    ("pipeline glue", ("mtaudit/stages/pipeline.py",)),
]
FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def py_spy() -> str:
    """The py-spy binary of this virtualenv, else the one on PATH."""
    here = Path(sys.executable).parent / "py-spy"
    found = str(here) if here.exists() else shutil.which("py-spy")
    if not found:
        raise SystemExit("py-spy is not installed: pip install -c constraints.txt -e '.[dev]'")
    return found


def read_raw(path: Path) -> list[tuple[list[str], int]]:
    """py-spy's raw format: ``frame;frame;... count`` a line. A process's command line may hold a
    newline, so a line that does not end in a count continues on the next."""
    stacks, pending = [], ""
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        pending += line
        m = re.search(r" (\d+)$", pending)
        if not m:
            pending += " "
            continue
        stacks.append((pending[: m.start()].split(";"), int(m.group(1))))
        pending = ""
    return stacks


def split_stack(frames: list[str]) -> tuple[str, str, list[str]]:
    """(process, thread, code frames) of one raw stack; the process is the innermost ``process`` frame."""
    proc, thread, rest = "", "", []
    for f in frames:
        if f.startswith("process ") and not rest:
            proc = f.split(":", 1)[0]
        elif f.startswith("thread (") and not rest:
            thread = f
        else:
            rest.append(f)
    return proc, thread, rest


def categorise(frames: list[str]) -> str:
    """The category of one sample (its code frames, root first)."""
    for name, keys in MODEL_RULES:
        if any(k in f for f in frames for k in keys):
            return name
    for f in reversed(frames):
        for name, keys in MODULE_RULES:
            if any(k in f for k in keys):
                return name
    return "other (Python start-up, glue)"


PIPELINE_LOOP = ("iter_audit (", "_prepare (", "_finish (", "audit_articles (", "audit_stream (", "audit (")


def stage_of(frames: list[str]) -> str:
    """The audit stage a sample is in: the outermost audit function below the pipeline's own loop."""
    for f in frames:
        if any(k in f for k in ("mtaudit/stages/", "mtaudit/report/", "mtaudit/nlp/")) and not (
                "mtaudit/stages/pipeline.py" in f and f.startswith(PIPELINE_LOOP)):
            return _name(f)
    return "outside the stages (glue, the profiler's own loop)"


def shares(stacks: list[tuple[list[str], int]]) -> dict[str, Any]:
    """Where the main thread's samples go (wall time): by kind of work, by stage and kind, by function."""
    # every stack starts at the profiled process; a helper's stacks nest its own ``process`` frame below it
    main_proc = next((f[0].split(":", 1)[0] for f, _ in stacks if f and f[0].startswith("process ")), "")
    by_cat: Counter[str] = Counter()
    by_stage: Counter[tuple[str, str]] = Counter()
    own: Counter[str] = Counter()
    helper = 0
    total = 0
    for frames, n in stacks:
        proc, thread, code = split_stack(frames)
        if proc != main_proc:
            helper += n if code and not _idle(code[-1]) else 0
            continue
        if "MainThread" not in thread:
            continue
        total += n
        kind = categorise(code)
        by_cat[kind] += n
        by_stage[(stage_of(code), kind)] += n
        if code:
            own[_name(code[-1])] += n
    return {"main_samples": total, "categories": by_cat, "stages": by_stage, "own": own, "helper_busy_samples": helper}


def _name(frame: str) -> str:
    m = FRAME.match(frame)
    return f"{m.group('func')} ({m.group('file')})" if m else frame


def _idle(frame: str) -> bool:
    """A leaf frame that waits: the helper blocks in ``_serve``'s read and its parent-watch thread sleeps."""
    return frame.startswith(("_serve (", "_exit_with_parent.<locals>.watch (", "select (", "poll (", "read (", "readline (")) or any(
        k in frame for k in ("(threading.py", "(selectors.py", "(queue.py"))


def table(result: dict[str, Any], seconds: float, top: int = 12) -> str:
    """Markdown: the categories, then the functions with the most samples of their own."""
    total = max(1, result["main_samples"])
    lines = ["| where | share of wall time | seconds |", "|---|---:|---:|"]
    for name, n in result["categories"].most_common():
        lines.append(f"| {name} | {n / total:.1%} | {seconds * n / total:.1f} |")
    lines += ["", "| stage (outermost audit function) | kind of work | share of wall time |", "|---|---|---:|"]
    for (stage, kind), n in result["stages"].most_common(top):
        lines.append(f"| `{stage}` | {kind} | {n / total:.1%} |")
    lines += ["", "| function (own samples: the frame on top of the stack) | share of wall time |", "|---|---:|"]
    for name, n in result["own"].most_common(top):
        lines.append(f"| `{name}` | {n / total:.1%} |")
    return "\n".join(lines) + "\n"


def flame_svg(stacks: list[tuple[list[str], int]], title: str, width: int = 1600, row: int = 16, min_share: float = 0.001) -> str:
    """A static flame graph (root at the bottom) of the main process's stacks; hover shows the share."""
    # every stack starts at the profiled process; a helper's stacks nest its own ``process`` frame below it
    main_proc = next((f[0].split(":", 1)[0] for f, _ in stacks if f and f[0].startswith("process ")), "")
    def node() -> dict[str, Any]:
        return {"n": 0, "kids": {}}

    tree = node()
    depth = 0
    for frames, n in stacks:
        proc, thread, code = split_stack(frames)
        if proc != main_proc:
            continue
        path = [thread.split(":")[-1].strip() or thread] + [_name(f) for f in code]
        tree["n"] += n
        cur = tree
        for name in path:
            cur = cur["kids"].setdefault(name, node())
            cur["n"] += n
        depth = max(depth, len(path))
    total = max(1, tree["n"])
    height = (depth + 2) * row + 30
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="monospace" font-size="11">',
           f'<text x="4" y="16">{html.escape(title)}: {total} samples; width = share of wall time</text>']

    def draw(cur: dict[str, Any], name: str, x: float, level: int) -> None:
        w = width * cur["n"] / total
        if w < width * min_share:
            return
        y = height - (level + 1) * row
        hue = 20 + zlib.crc32(name.split(" (")[-1].encode()) % 40  # colour by file, the same every run
        share = cur["n"] / total
        out.append(f'<g><title>{html.escape(name)}: {share:.2%}</title>'
                   f'<rect x="{x:.1f}" y="{y}" width="{max(w - 0.5, 0.5):.1f}" height="{row - 1}" fill="hsl({hue},80%,60%)"/>')
        chars = int(w / 6.6)
        if chars >= 4:
            label = name if len(name) <= chars else name[: chars - 2] + ".."
            out.append(f'<text x="{x + 2:.1f}" y="{y + row - 4}">{html.escape(label)}</text>')
        out.append("</g>")
        for kid_name, kid in sorted(cur["kids"].items()):
            draw(kid, kid_name, x, level + 1)
            x += width * kid["n"] / total

    x = 0.0
    for kid_name, kid in sorted(tree["kids"].items()):
        draw(kid, kid_name, x, 0)
        x += width * kid["n"] / total
    out.append("</svg>")
    return "\n".join(out) + "\n"


def profile(n: int, out_dir: Path, rate: int = 100) -> dict[str, Any]:
    """Warm the models, then audit ``n`` benchmark articles under py-spy; write the three files."""
    from mtaudit import report  # after warm-up order: the audit's imports are not what is profiled
    from mtaudit.base import process
    from mtaudit.stages import ingest, pipeline

    process.prepare_process(None)
    out_dir.mkdir(parents=True, exist_ok=True)
    raw = out_dir / f"profile-{n}.raw.txt"
    with tempfile.TemporaryDirectory(prefix="mtaudit-profile-") as tmp:
        work = Path(tmp)
        src = write_jsonl(build_batch(n), work / f"batch-{n}.jsonl")
        _warm_up(work)
        with _cold_caches(work / "cache") as settings:
            spy = subprocess.Popen([py_spy(), "record", "-p", str(os.getpid()), "-f", "raw", "-o", str(raw), "--idle", "--threads",
                                    "--subprocesses", "--function", "-r", str(rate)], stderr=subprocess.PIPE, text=True)
            time.sleep(1.0)  # py-spy attaches before the audit starts
            t0 = time.perf_counter()
            articles, problems = ingest.ingest([src], settings)
            reports = []
            for rep in pipeline.iter_audit(articles, settings):  # as the bench does: write each report, keep the slim one
                report.write_article(rep, work / "reports", ("json", "md"))
                reports.append(report.slim(rep))
            report.write_summary(reports, [p.__dict__ for p in problems], work / "reports", {"signature": pipeline.signature(settings)})
            wall = time.perf_counter() - t0
            spy.send_signal(signal.SIGINT)
            _, err = spy.communicate(timeout=120)
    if spy.returncode not in (0, -signal.SIGINT) or not raw.exists():
        raise SystemExit(f"py-spy failed: {err.strip()[-500:]}")
    stacks = read_raw(raw)
    result = shares(stacks)
    svg = out_dir / f"profile-{n}.svg"
    svg.write_text(flame_svg(stacks, f"mtaudit audit of {len(reports)} benchmark articles, {wall:.0f} s wall"), encoding="utf-8")
    helper_share = result["helper_busy_samples"] / max(1, result["main_samples"])
    text = (f"# py-spy profile: {len(reports)} articles, {wall:.1f} s wall, {rate} samples/s, "
            f"{result['main_samples']} main-thread samples\n\n" + table(result, wall) +
            f"\nThe lexical helper process was busy for {helper_share:.0%} of the wall time, in parallel.\n")
    (out_dir / f"profile-{n}.md").write_text(text, encoding="utf-8")
    return {"wall_s": wall, "articles": len(reports), "table": text, "files": [str(raw), str(svg), str(out_dir / f"profile-{n}.md")]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mtaudit.lab.profile", description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=50, help="benchmark batch size (default 50)")
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples a second (default 100)")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="where the files go (default reports/bench/)")
    parser.add_argument("--from-raw", type=Path, default=None, help="redraw the SVG and table from an earlier raw file (wall seconds: --wall)")
    parser.add_argument("--wall", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.from_raw:
        stacks = read_raw(args.from_raw)
        print(table(shares(stacks), args.wall))
        args.from_raw.with_suffix("").with_suffix(".svg").write_text(flame_svg(stacks, str(args.from_raw)), encoding="utf-8")
        return 0
    done = profile(args.size, args.out, args.rate)
    print(done["table"])
    print("written " + ", ".join(done["files"]), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
