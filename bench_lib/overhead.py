"""Where a parallel run's time goes, one piece at a time, each measured cold exactly where
it should be.

``start``      a new backend until its first no-op task returned from every worker
``imports``    the first call importing a workload's libraries in fresh workers, minus
               the same call once they are imported
``transfer``   an array of 1-100 MB to a worker and back: the engine's normal path (the
               array travels with the task) or its shared path (``share`` places it)
``per_task``   seconds per no-op task, in a batch of many, on a warm or a new pool
``steady``     a workload's warm run (the workload benchmarks time it)

Every function returns seconds and leaves no engine running. The no-op task is
``_worker.warm_up`` with nothing to import: the same picklable function every engine
already runs.
"""

from __future__ import annotations

import functools
import importlib
import statistics
from typing import Any, Callable

import numpy as np

from . import backends, workloads
from .backends import _worker
from .protocol import timed  # one timing discipline (gc off) for every figure

HOLD = 0.05  # seconds each worker holds its no-op, so a lazy pool must start every worker
POOLS = ("reused", "per-call")  # a warm pool kept, or a new pool for every call
TRANSFER_MB = (1, 10, 100)
PATHS = ("normal", "shared")
IMPORTS = {"scipy": backends.base.WARM_MODULES, "tensorflow": ("tensorflow", "keras")}


def noop(threads: int = 1) -> Callable[[float], int]:
    """A task that does nothing but report its worker's pid (``hold`` seconds busy)."""
    return functools.partial(_worker.warm_up, (), threads)


def median_of(repeats: int, measure: Callable[..., float], *args) -> float:
    """The median of ``repeats`` measurements: one slow start does not make the number."""
    return statistics.median(measure(*args) for _ in range(repeats))


def start(backend: str, n_workers: int) -> float:
    """Seconds from nothing to every worker having answered a no-op (then closed).

    The engine's own module is imported before the clock starts: the caller pays that
    once per process, not per pool. Workers are made to answer one each (``hold``), so
    a pool that starts workers lazily is not let off.
    """
    cls = backends.backend_class(backend)
    engine = backends.get(backend, n_workers)
    import_engine(cls)
    hold = HOLD if cls.uses_processes else 0.0
    try:
        # The workers hold at once: the hold adds one HOLD to the wall time, taken back off.
        return timed(lambda: engine.map(noop(engine.threads), [hold] * n_workers)) - hold
    finally:
        engine.close()


def import_engine(cls) -> None:
    """Import the caller's side of an engine (its distribution's top module: ray,
    distributed, joblib), so a cold start times workers, not this process's import."""
    if cls.engine:
        importlib.import_module(cls.engine)


def imports(backend: str, n_workers: int, modules: tuple[str, ...]) -> float:
    """Seconds the first call importing ``modules`` in fresh workers takes over a warm one.

    Fresh means started with nothing imported by us; under ``fork`` the workers inherit
    what the caller had imported, which is exactly what users of fork get (often ~0 s).
    """
    engine = backends.get(backend, n_workers)
    hold = HOLD if engine.uses_processes else 0.0
    task = functools.partial(_worker.warm_up, tuple(modules), engine.threads)
    try:
        engine.warm(())  # every worker exists, nothing imported: the start is excluded
        cold = timed(lambda: engine.map(task, [hold] * n_workers))
        warm = statistics.median(timed(lambda: engine.map(task, [hold] * n_workers)) for _ in range(3))
        # Not clamped: a difference below the warm calls' noise (fork pools inherit the
        # imports) shows as a value near 0, of either sign, rather than as exactly 0.
        return cold - warm
    finally:
        engine.close()


def transfer_unsupported(cls, path: str) -> str | None:
    """Why ``path`` is no transfer on this engine (asv records n/a), or None."""
    if path == "shared" and cls.shares_memory:
        return f"{cls.name} shares memory: nothing to place"
    if path == "shared" and cls.share_restarts:
        return f"{cls.name} places objects by restarting its pool: that is a start, not a transfer"
    return None


def echo(array: np.ndarray, _item=None) -> np.ndarray:
    """The transfer task: hands back what it received (so it travels both ways); called
    as ``echo(array)`` on the normal path and ``echo(shared_array, None)`` on the shared one."""
    return array


def transfer(engine: backends.Backend, megabytes: int, path: str, repeats: int = 3) -> float:
    """Median seconds to send a ``megabytes`` array to one worker and get it back.

    ``normal``: the array is the task's argument. ``shared``: ``share`` places a new copy
    (placing is part of the time: it is what the shared path costs per new object), the
    task names it and returns it. The copy is made before the clock starts.
    """
    if path not in PATHS:
        raise ValueError(f"path must be one of {PATHS}, got {path!r}")
    reason = transfer_unsupported(type(engine), path)
    if reason:
        raise ValueError(reason)
    n = megabytes * 1_000_000 // 8
    base = np.random.default_rng(megabytes).standard_normal(n)
    times = []
    for _ in range(repeats):
        array = base.copy()
        if path == "normal":
            seconds = timed(lambda: _check_echo(engine.map(echo, [array]), array))
        else:
            seconds = timed(lambda: _check_echo(engine.map(echo, [None], data=engine.share(array)), array))
        times.append(seconds)
    return statistics.median(times)


def _check_echo(results: list, array: np.ndarray) -> None:
    [back] = results
    if back.shape != array.shape or back[-1] != array[-1]:
        raise AssertionError("transfer: the array came back changed")


def per_task(backend: str, n_workers: int, pool: str, tasks: int) -> float:
    """Seconds per no-op task in a map of ``tasks``: on a warm pool, or on a new pool
    started (and closed) for the call -- the ``with Pool() as p: p.map(...)`` in a loop."""
    if pool not in POOLS:
        raise ValueError(f"pool must be one of {POOLS}, got {pool!r}")
    items = [0.0] * tasks
    if pool == "reused":
        engine = backends.warm(backend, n_workers, ())
        return timed(lambda: engine.map(noop(engine.threads), items)) / tasks
    import_engine(backends.backend_class(backend))
    return timed(lambda: new_pool_map(backend, n_workers, noop(), items)) / tasks


def new_pool_map(backend: str, n_workers: int, fn: Callable, items: list, data=None) -> list:
    """One call on a pool of its own: start, map, close -- what a per-call pool costs."""
    with backends.get(backend, n_workers) as engine:
        return engine.map(fn, items, data=data)


def on_new_pool(workload: str, backend: str, n_workers: int, variant: str, inputs) -> Any:
    """A workload run on a pool started for it and closed after it."""
    with backends.get(backend, n_workers) as engine:
        return workloads.get(workload).run(engine, inputs, variant)
