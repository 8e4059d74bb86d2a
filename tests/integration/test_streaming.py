"""The audit streams: reports come out one by one, and the slim copy the CLI keeps loses nothing the summary needs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mtaudit import report
from mtaudit.base import process
from mtaudit.base.settings import Settings
from mtaudit.report import html
from mtaudit.stages import ingest, pipeline
from tests.conftest import SEEDS


def test_reports_come_out_before_the_batch_is_done(settings: Any, seed_result: Any) -> None:
    articles, _ = ingest.ingest([SEEDS], settings)
    finished: list[int] = []
    stream = pipeline.iter_audit(articles, settings, progress=lambda stage, done, total: finished.append(done))
    first = next(stream)
    assert finished == [1] and len(articles) == 5  # one report finished, four still to score
    expected = seed_result.reports[0]
    assert first["article_id"] == expected["article_id"]
    assert first["verdict"]["probability"] == expected["verdict"]["probability"]
    assert [s["scores"] for s in first["sentences"]] == [s["scores"] for s in expected["sentences"]]
    rest = list(stream)
    assert [r["article_id"] for r in rest] == [r["article_id"] for r in seed_result.reports[1:]]
    assert finished == [1, 2, 3, 4, 5]


def test_empty_batch_streams_nothing(settings: Any) -> None:
    assert list(pipeline.iter_audit([], settings)) == []


def test_slim_reports_give_the_same_summary_and_index(seed_result: Any) -> None:
    full = seed_result.reports
    slim = [report.slim(r) for r in full]
    assert all("text" not in s and "references" not in s for r in slim for s in r["sentences"])
    assert report.summary_frame(slim).equals(report.summary_frame(full))
    assert html.index_page(slim) == html.index_page(full)
    assert len(str(slim)) < 0.5 * len(str(full))  # what makes a 5,000-article batch fit in memory


FRAGMENTED_HEAP = """
import os
from mtaudit.base import process
def rss_mb():
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
blocks = [bytes(64 * 1024) for _ in range(2000)]  # 125 MB from the heap, each below glibc's mmap threshold
guard = bytes(64 * 1024)  # keeps the top of the heap in use, so free() alone cannot give the blocks back
del blocks
before = rss_mb()
process.release_memory()
print(before - rss_mb())
"""


@pytest.mark.skipif(not Path("/proc/self/statm").exists() or process._libc("malloc_trim") is None, reason="needs Linux with glibc")
def test_release_memory_gives_freed_heap_back() -> None:
    """What keeps a long batch's RSS flat: memory freed inside the heap goes back to the system."""
    out = subprocess.run([sys.executable, "-c", FRAGMENTED_HEAP], capture_output=True, text=True, check=True)
    assert float(out.stdout) > 60  # of the 125 MB freed; without the trim RSS does not move


LARGE_BLOCKS = """
import ctypes, sys
from mtaudit.base import process
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
mallinfo2 = ctypes.CDLL("libc.so.6").mallinfo2
mallinfo2.restype = Info
if sys.argv[1] == "fixed":
    process.fix_mmap_threshold()
first = bytearray(8 * 2**20)
del first  # freeing an 8 MB block raises glibc's mmap threshold to 8 MB unless it is held
before = mallinfo2().hblkhd
blocks = [b"\\x01" * 2**20 for _ in range(20)]  # 1 MB blocks, like a model's short-lived tensors
print((mallinfo2().hblkhd - before) / 2**20)  # MB newly held in mappings of their own
"""


@pytest.mark.skipif(process._libc("mallopt") is None or process._libc("mallinfo2") is None, reason="needs glibc 2.33+")
def test_large_blocks_get_their_own_mapping_with_the_threshold_held() -> None:
    """What ``low_memory`` buys: with glibc's threshold held, 1 MB tensors get mappings of their own instead of heap that is kept after free."""
    # glibc's MALLOC_* variables switch its dynamic threshold off too (Dask's nanny sets one by
    # default, in its own process's environment as well), so leave any out
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}

    def mapped(mode: str) -> float:
        out = subprocess.run([sys.executable, "-c", LARGE_BLOCKS, mode], capture_output=True, text=True, check=True, env=env)
        return float(out.stdout)

    assert mapped("fixed") >= 20  # each 1 MB block its own mapping, unmapped when freed
    assert mapped("default") < 4  # glibc's own behaviour after that first free: from the heap (other threads may map a little)


@pytest.mark.parametrize("low_memory", [False, True])
def test_audit_holds_the_threshold_only_in_low_memory_mode(low_memory: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Holding it costs time (every large tensor a fresh mapping), so only when asked."""
    calls: list[bool] = []
    monkeypatch.setattr(process, "fix_mmap_threshold", lambda: calls.append(True) or True)
    assert list(pipeline.iter_audit([], Settings(low_memory=low_memory), story_of={})) == []
    assert calls == ([True] if low_memory else [])


def test_status_names_each_article_and_stage_as_it_starts(settings: Any) -> None:
    """What a long batch is on, and since when: an operator sees the input a stuck batch is stuck on."""
    articles, _ = ingest.ingest([SEEDS], settings)
    seen: list[tuple[str, str]] = []
    reports = list(pipeline.iter_audit(articles, settings, status=lambda stage, what: seen.append((stage, what))))
    assert len(reports) == 5 and seen[0] == ("group into stories", "5 articles")
    for a in articles:
        assert [stage for stage, what in seen if what == a.source] == ["align", "detect", "score"]
