"""Tuning of this process for a long CPU audit: OpenMP's wait policy and torch threads, and glibc's heap (a fixed mmap threshold, trimming after each chunk) so memory stays flat."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Callable
from functools import cache


def prepare_process(threads: int | None = None) -> None:
    """Threading for a CPU process: OpenMP threads wait passively (on a shared box spinning
    threads steal the cores the other processes need) and torch uses ``threads`` if given.

    The wait policy only takes effect when set before torch is first imported.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if threads:
        import torch  # torch loads with the first model, not on import (start-up time)

        torch.set_num_threads(threads)


@cache
def _libc(name: str) -> Callable[..., int] | None:
    """A glibc function (``malloc_trim``, ``mallopt``), or None on another C library (musl, macOS)."""
    try:
        return getattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), name)  # type: ignore[no-any-return]
    except (OSError, AttributeError):
        return None


M_MMAP_THRESHOLD = -3  # mallopt's parameter number in glibc's malloc.h


MMAP_THRESHOLD = 128 * 1024  # glibc's starting value, held fixed


@cache
def fix_mmap_threshold() -> bool:
    """Keep large blocks out of the C heap: each comes from ``mmap`` and goes back when freed.

    glibc raises its mmap threshold every time a large block is freed (up to 32 MB), so after
    the first encoder batches the models' big short-lived tensors are carved from the heap,
    which keeps hundreds of MB it cannot return (300 articles: 334 MB free but kept, peak
    2.25 GB). Held at 128 KB: free heap under 30 MB, peak 1.98 GB, the same reports, but every
    large tensor is a fresh mapping the kernel must zero: the whole audit ran 12.5% slower
    (150 articles, two runs each way, each its own process). ``Settings.low_memory`` holds it by default all the
    same: with the dynamic threshold a 1,500-article audit peaked at 2.59 GB, held 5,000 peaked at 2.21 GB. Once per process.
    """
    mallopt = _libc("mallopt")
    return bool(mallopt is not None and mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))


def release_memory() -> None:
    """Give the C heap's free pages back to the system.

    Encoder calls on tensors of ever-changing shapes leave glibc's heap fragmented: free
    memory it keeps instead of returning, so RSS grew about 1 MB an article (1.65 -> 2.13 GB
    over 300 articles, 3.4 GB on the way to 5,000) with no Python object growing. Trimming
    after each chunk keeps it flat (1.62 -> 1.65 GB over the same 300) and costs
    milliseconds. A no-op where the C library has no ``malloc_trim``.
    """
    trim = _libc("malloc_trim")
    if trim is not None:
        trim(0)
