"""Ratios measured back to back in one process: speedup, efficiency and the naive-to-shared
gap. Absolute times on cloud VMs drift by tens of percent between runs; the two sides
of a ratio timed alternately, seconds apart, drift together.

Each ratio times its two sides ``repeats`` times, alternating which goes first, and
returns the median of the per-pair ratios. The serial side is the workload's
``baseline`` -- a loop in this process, no engine -- on the very inputs the backend runs.
"""

from __future__ import annotations

import functools
import statistics
from typing import Any, Callable

from . import ceiling, config, harness, workloads
from .overhead import timed

# The parameters a workload's ratios are measured at: where the question is sharpest.
# Interpolators at g=300 (36 MB pickled), the size at which real programs went 10x slower.
REPRESENTATIVE: dict[str, dict[str, Any]] = {
    "filter_bank": {"filter_size": "5x5"},
    "convolve2d": {"scaling": "strong"},
    "interpolators": {"grid": 300},
}
REPEATS = 3


def params_for(workload: str) -> dict[str, Any]:
    return dict(REPRESENTATIVE.get(workload, {}))


def paired(a: Callable[[], Any], b: Callable[[], Any], repeats: int = REPEATS) -> float:
    """Median of time(a) / time(b) over ``repeats`` adjacent pairs, alternating the order."""
    ratios = []
    for i in range(repeats):
        first, second = (a, b) if i % 2 == 0 else (b, a)
        t1 = timed(first)
        t2 = timed(second)
        ta, tb = (t1, t2) if i % 2 == 0 else (t2, t1)
        ratios.append(ta / tb)
    return statistics.median(ratios)


def best_variant(workload: str, backend: str, n_workers: int) -> str | None:
    """The variant a careful user runs here: the shared one where it means something."""
    wl = workloads.get(workload)
    for variant in (wl.gap[1], *wl.variants):
        if not harness.unsupported(workload, backend, n_workers, variant):
            return variant
    return None


def unsupported(workload: str, backend: str, n_workers: int, what: str = "speedup") -> str | None:
    """Why this ratio has no meaning here (asv records n/a), or None."""
    if what == "gap":
        wl = workloads.get(workload)
        for variant in wl.gap:
            reason = harness.unsupported(workload, backend, n_workers, variant)
            if reason:
                return reason
        return None
    if best_variant(workload, backend, n_workers) is None:
        return f"{workload}: no variant runs on {backend} with n_workers={n_workers}"
    return None


def speedup(workload: str, backend: str, n_workers: int, repeats: int = REPEATS) -> float:
    """Serial loop time / warm backend time, on the same inputs, in this process."""
    variant = best_variant(workload, backend, n_workers)
    if variant is None:
        raise ValueError(unsupported(workload, backend, n_workers))
    run = harness.prepare(workload, backend, n_workers, variant, **params_for(workload))
    _, inputs = harness.prepared(run)
    wl = workloads.get(workload)
    wl.baseline(inputs)  # its caches and imports are warm too
    return paired(lambda: wl.baseline(inputs), run, repeats)


def efficiency(workload: str, backend: str, n_workers: int, repeats: int = REPEATS) -> float:
    """Speedup / the machine's ceiling speedup for n_workers copies, both measured here."""
    s = speedup(workload, backend, n_workers, repeats)
    top = ceiling_speedup(workload, n_workers)
    return s / top


@functools.lru_cache(maxsize=None)
def ceiling_speedup(workload: str, n_workers: int) -> float:
    """The ceiling for one unit of the workload's serial work (inputs for one worker);
    one measurement per process and (workload, n_workers), whatever the backend."""
    params = params_for(workload)
    if workloads.get(workload).uses_n_workers:
        params["n_workers"] = 1
    seconds = 2.0 if config.size() == "full" else 0.3
    return ceiling.measure(workload, n_workers, params, min_seconds=seconds).speedup


def gap(workload: str, backend: str, n_workers: int, repeats: int = REPEATS) -> float:
    """Time of the naive variant / time of the shared one, on one warm backend."""
    naive, shared = workloads.get(workload).gap
    params = params_for(workload)
    run_shared = harness.prepare(workload, backend, n_workers, shared, **params)
    run_naive = harness.prepare(workload, backend, n_workers, naive, **params)
    return paired(run_naive, run_shared, repeats)
