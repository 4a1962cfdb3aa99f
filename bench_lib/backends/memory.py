"""Peak memory of a run across the calling process and every process it started.

asv's ``peakmem_*`` reads the benchmark process's own max RSS, which misses pool workers,
Ray's raylet and workers, and Dask's nannies -- where parallel programs keep their copies.
This samples the RSS of the whole process tree while the run goes on. RSS counts pages
shared between processes (fork, /dev/shm) once per process, so the figure is an upper
bound of what the machine needed; it is the number users compare with the data size.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from bench_lib.backends import processes


def tree_rss() -> int:
    return processes.tree_sum(lambda proc: proc.memory_info().rss)


def peak_tree_rss(fn: Callable[[], Any], interval: float = 0.02) -> tuple[Any, int]:
    """Run ``fn`` and return its result and the highest process-tree RSS seen meanwhile."""
    peak = tree_rss()
    done = threading.Event()

    def sample():
        nonlocal peak
        while not done.wait(interval):
            peak = max(peak, tree_rss())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        result = fn()
    finally:
        done.set()
        sampler.join()
    return result, max(peak, tree_rss())
