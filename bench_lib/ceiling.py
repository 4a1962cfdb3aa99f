"""The machine's ceiling: how much faster n copies of a task can finish than one, with no
engine and no transfer at all.

``measure(workload, n)`` starts n fresh processes (``spawn``: nothing inherited), each
generating its own inputs from the fixed seeds and running the workload's serial loop
once to warm up; they then wait at a barrier and each runs the same number of loops.
ceiling speedup = n x (time of one copy alone) / (time until the last of n concurrent
copies finished). A compute-bound task reaches ~n; one limited by memory bandwidth or a
shared cache stays well below, and no backend can beat that on this machine.
"""

from __future__ import annotations

import multiprocessing
import os
import queue as queues
import time
from dataclasses import dataclass, field

from . import config, workloads
from .backends import _worker
from .backends.base import stop_resource_trackers

TIMEOUT = 1800.0  # seconds for one measurement, past which the copies are killed


@dataclass(frozen=True)
class Copy:
    """What one copy reports: who ran, where, when (wall clock) and for how long."""

    pid: int
    affinity: tuple[int, ...]
    began: float
    ended: float
    seconds: float
    loops: int


@dataclass(frozen=True)
class Ceiling:
    workload: str
    n: int
    params: dict
    single: float  # seconds of one copy alone
    concurrent: float  # seconds until the last of n concurrent copies finished
    copies: list[Copy] = field(default_factory=list)

    @property
    def speedup(self) -> float:
        return self.n * self.single / self.concurrent


def _copy(name: str, size: str, params: dict, loops: int, min_seconds: float,
          threads: int, barrier, queue) -> None:
    """One copy, in its own process: build inputs, warm up, wait, run ``loops`` (or calibrate)."""
    try:
        _worker.limit_threads(threads)
        wl = workloads.get(name)
        inputs = wl.inputs(size, **params)
        wl.baseline(inputs)  # imports, caches, lazy loading: not part of the copy's time
        if loops == 0:  # calibrate: as many loops as fill min_seconds, alone
            began, count = time.perf_counter(), 0
            while True:
                wl.baseline(inputs)
                count += 1
                if time.perf_counter() - began >= min_seconds:
                    break
            loops = count
        barrier.wait(timeout=TIMEOUT)
        began_wall, began = time.time(), time.perf_counter()
        for _ in range(loops):
            wl.baseline(inputs)
        seconds = time.perf_counter() - began
        queue.put(Copy(os.getpid(), tuple(sorted(os.sched_getaffinity(0))), began_wall,
                       began_wall + seconds, seconds, loops))
    except BaseException as exc:  # the parent must hear about it rather than wait
        queue.put(f"{type(exc).__name__}: {exc}")
        raise


def run_copies(name: str, n: int, loops: int = 0, min_seconds: float = 1.0,
               params: dict | None = None, size: str | None = None) -> list[Copy]:
    """Run ``n`` copies at once in ``n`` processes; ``loops=0`` calibrates (use n=1)."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if loops == 0 and n != 1:
        raise ValueError("calibrate (loops=0) with one copy, then run n copies with its loops")
    ctx = multiprocessing.get_context("spawn")
    barrier, queue = ctx.Barrier(n), ctx.Queue()
    args = (name, size or config.size(), dict(params or {}), loops, min_seconds,
            config.threads_per_worker(), barrier, queue)
    procs = [ctx.Process(target=_copy, args=args, daemon=True) for _ in range(n)]
    for p in procs:
        p.start()
    out: list = []
    try:
        out = _collect(queue, procs, name)
    finally:
        finished = len(out) == n and not isinstance(out[0], str)
        for p in procs:
            p.join(timeout=10 if finished else 0.5)
            if p.is_alive():
                p.kill()
                p.join()
        stop_resource_trackers()  # spawn started one for the barrier's semaphores
    errors = [o for o in out if isinstance(o, str)]
    if errors:
        raise RuntimeError(f"ceiling copy of {name} failed: {errors[0]}")
    return out


def _collect(queue, procs, name: str) -> list:
    """One report per copy; a copy that died without reporting is an error, not a hang."""
    out, deadline = [], time.monotonic() + TIMEOUT
    while len(out) < len(procs):
        try:
            item = queue.get(timeout=1.0)
        except queues.Empty:
            dead = [p.exitcode for p in procs if p.exitcode not in (None, 0)]
            if dead:
                return [f"a copy of {name} died (exit code {dead[0]}) before reporting"]
            if time.monotonic() > deadline:
                return [f"copies of {name} did not finish within {TIMEOUT:.0f} s"]
            continue
        if isinstance(item, str):  # its peers wait at the barrier: stop them all
            return [item]
        out.append(item)
    return out


def measure(name: str, n: int, params: dict | None = None, min_seconds: float = 1.0,
            size: str | None = None) -> Ceiling:
    """One copy alone (calibrated to last ``min_seconds``), then ``n`` at once."""
    [alone] = run_copies(name, 1, 0, min_seconds, params, size)
    together = run_copies(name, n, alone.loops, min_seconds, params, size) if n > 1 else [alone]
    concurrent = max(c.ended for c in together) - min(c.began for c in together)
    return Ceiling(name, n, dict(params or {}), alone.seconds, concurrent, together)
