"""Where a parallel run's time goes, one piece at a time, each measured cold exactly where
it should be.

``start``      a new backend until its first no-op task returned from every worker
``imports``    the first call importing a workload's libraries in fresh workers, minus
               the same call once they are imported
``transfer``   an array of 1-100 MB to a worker and back: the engine's normal path (the
               array travels with the task) or its shared path (``share`` places it)
``per_task``   seconds per no-op task, in a batch of many, on a warm or a new pool
``steady``     a workload's warm run (the workload benchmarks time it)
``harness``    parbench's ``Backend.map`` over the engine's own idiom on the same warm
               engine (``Pool.map``, ``Parallel``, ``f.remote`` + ``ray.get``,
               ``client.map`` + ``gather``), no-op tasks: what the suite itself adds

Every function returns seconds and leaves no engine running. The no-op task is
``_worker.warm_up`` with nothing to import: the same picklable function every engine
already runs.
"""

from __future__ import annotations

import functools
import importlib
import statistics
import time
from typing import Any, Callable

import numpy as np

from bench_lib import backends, workloads
from bench_lib.backends import processes, _worker
from bench_lib.measure import ratios
from bench_lib.measure.protocol import timed  # one timing discipline (gc off) for every figure

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


def import_cost(cold: float, warm: list[float]) -> float:
    """First call minus the median warm call. Not clamped: a difference below the warm
    calls' noise (fork pools inherit the imports) shows as a value near 0, of either sign,
    rather than as exactly 0."""
    return cold - statistics.median(warm)


def per_item(seconds: float, items: int) -> float:
    return seconds / items


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


def _check_echo(results: list, array: np.ndarray) -> None:
    [back] = results
    if back.shape != array.shape or back[-1] != array[-1]:
        raise AssertionError("transfer: the array came back changed")


def harness_unsupported(cls) -> str | None:
    """Why the harness benchmark has nothing to compare on this engine, or None."""
    if cls.raw is backends.Backend.raw:
        return f"{cls.name}: a loop in the caller, no engine idiom to compare with"
    return None


# -- engine-driving: exercised with real engines (tests/test_engines.py, test_ceiling.py,
# test_harness.py), too slow for mutation testing, which covers the arithmetic above.
# pragma: no mutate block
def start(backend: str, n_workers: int, oversubscribe: bool = False) -> float:
    """Seconds from nothing to every worker having answered a no-op (then closed).

    The engine's own module is imported before the clock starts: the caller pays that
    once per process, not per pool. Workers are made to answer one each (``hold``), so
    a pool that starts workers lazily is not let off. ``oversubscribe``: past this
    machine's worker limit on purpose (``overhead.StartGrowth``: how start grows with
    workers, measured beyond the cores there are).
    """
    cls = backends.backend_class(backend)
    engine = (_unlimited(cls, n_workers) if oversubscribe else cls)(n_workers)
    import_engine(cls)
    hold = HOLD if cls.uses_processes else 0.0
    try:
        # The workers hold at once: the hold adds one HOLD to the wall time, taken back off.
        return timed(lambda: engine.map(noop(engine.threads), [hold] * n_workers)) - hold
    finally:
        engine.close()


def _unlimited(cls, n_workers: int):
    """``cls`` allowed ``n_workers`` whatever the usable CPUs (a local engine only)."""
    return type(cls.__name__, (cls,), {"worker_limit": classmethod(
        lambda c: (n_workers, "oversubscribed on purpose: start growth"))})


GROWTH_BACKENDS = ("ray", "dask", "loky", "multiprocessing")  # engines whose start spawns processes
GROWTH_WORKERS = (1, 2, 4, 8)  # past 2 cores on purpose: see overhead.StartGrowth


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
        return import_cost(cold, [timed(lambda: engine.map(task, [hold] * n_workers)) for _ in range(3)])
    finally:
        engine.close()


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


def per_task(backend: str, n_workers: int, pool: str, tasks: int) -> float:
    """Seconds per no-op task in a map of ``tasks``: on a warm pool, or on a new pool
    started (and closed) for the call -- the ``with Pool() as p: p.map(...)`` in a loop."""
    if pool not in POOLS:
        raise ValueError(f"pool must be one of {POOLS}, got {pool!r}")
    items = [0.0] * tasks
    if pool == "reused":
        engine = backends.warm(backend, n_workers, ())
        return per_item(timed(lambda: engine.map(noop(engine.threads), items)), tasks)
    import_engine(backends.backend_class(backend))
    return per_item(timed(lambda: new_pool_map(backend, n_workers, noop(), items)), tasks)


def new_pool_map(backend: str, n_workers: int, fn: Callable, items: list, data=None) -> list:
    """One call on a pool of its own: start, map, close -- what a per-call pool costs."""
    with backends.get(backend, n_workers) as engine:
        return engine.map(fn, items, data=data)


def on_new_pool(workload: str, backend: str, n_workers: int, variant: str, inputs) -> Any:
    """A workload run on a pool started for it and closed after it."""
    with backends.get(backend, n_workers) as engine:
        return workloads.get(workload).run(engine, inputs, variant)


def harness(backend: str, n_workers: int, tasks: int, **options) -> dict:
    """``Backend.map`` time / raw engine time for a map of ``tasks`` no-op tasks on one warm
    engine, interleaved through the protocol; recorded in points.jsonl like a speedup.
    ``options`` go to :func:`protocol.measure`."""
    engine = backends.warm(backend, n_workers, ())
    items = list(range(tasks))
    raw, fn = engine.raw(_worker.nothing), _worker.nothing
    for call in (raw, lambda batch: engine.map(fn, batch)):  # both warm, both right
        if call(items) != items:
            raise AssertionError(f"harness: {backend} did not hand the no-op items back in order")
    arms = {"raw": lambda: raw(items), "parbench": lambda: engine.map(fn, items)}
    return ratios.measured("harness", arms, "parbench", "raw", options, workload="no-op",
                           backend=backend, n_workers=n_workers, variant=f"{tasks}-tasks")


def idle_cores(backend: str, n_workers: int, seconds: float = 15.0) -> float:
    """Cores' worth of CPU a warm, idle engine uses (this process and its descendants): what
    it would take from another engine timed beside it (``Backend.busy_when_idle``)."""
    def cpu() -> float:
        return processes.tree_sum(lambda proc: sum(proc.cpu_times()[:2]))  # user + system

    with backends.get(backend, n_workers) as engine:
        engine.warm()
        time.sleep(5.0)  # past the start's own bursts
        before, started = cpu(), time.monotonic()
        time.sleep(seconds)
        return (cpu() - before) / (time.monotonic() - started)


def close_s(backend: str, n_workers: int) -> float:
    """Seconds to close a warm engine: what ``harness.teardown`` adds to each asv point."""
    backends.warm(backend, n_workers, ("numpy",))
    started = time.perf_counter()
    backends.close_all()
    return time.perf_counter() - started


if __name__ == "__main__":  # python -m bench_lib.measure.overhead idle|close [backend ...]
    import sys

    for name in sys.argv[2:] or backends.names():
        if name == "serial":
            continue
        if sys.argv[1:2] == ["close"]:
            print(f"{name:<24}{close_s(name, 2):.2f} s to close, warm (n_workers=2)", flush=True)
        else:
            print(f"{name:<24}{idle_cores(name, 2):.3f} cores while warm and idle (n_workers=2)", flush=True)
