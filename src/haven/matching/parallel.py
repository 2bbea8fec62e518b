"""Chunked work over the machine's cores, in threads.

The pass's hot loops (Bloom-filter gathers and ANDs, bit counts, sorts, level lookups) are numpy
calls that release the GIL, so threads run them in parallel without copying the tables into
other processes. Each chunk writes only its own slice of preallocated outputs: the result does
not depend on how many threads ran or in what order the chunks finished.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

MAX_THREADS = 4  # each thread holds one chunk's temporaries (about 100 MiB): this bounds them


def threads() -> int:
    """Threads for chunked work: the cores this process may run on, at most ``MAX_THREADS``."""
    affinity = getattr(os, "sched_getaffinity", None)  # Linux; elsewhere every core counts
    cores = len(affinity(0)) if affinity is not None else (os.cpu_count() or 1)
    return max(1, min(MAX_THREADS, cores))


def over_chunks(*, total: int, size: int, work: Callable[[int, int], None]) -> None:
    """Call ``work(lo, hi)`` for consecutive slices of ``range(total)`` of at most ``size``,
    several at once when there are several slices and cores; the first exception is raised."""
    bounds = [(lo, min(lo + size, total)) for lo in range(0, total, size)]
    n = min(threads(), len(bounds))
    if n <= 1:
        for lo, hi in bounds:
            work(lo, hi)
        return
    with ThreadPoolExecutor(max_workers=n, thread_name_prefix="haven-match") as pool:
        for future in [pool.submit(work, lo, hi) for lo, hi in bounds]:
            future.result()
