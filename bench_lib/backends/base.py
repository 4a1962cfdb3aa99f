"""The one interface every parallel engine implements.

A backend is started (cold), warmed (workers exist and have imported the workload's
libraries), maps a function over items in order, and places a large read-only input once
with its engine's own mechanism (``share``) so tasks can name it instead of carrying it.
Subclasses fill in ``_start``, ``_map``, ``_share`` and ``_close``; everything a caller
touches -- validation, errors, memoised sharing, context management -- lives here once.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import warnings
from abc import ABC, abstractmethod
from typing import Any, Callable, ClassVar, Iterable

from bench_lib import config
from bench_lib.backends import allocator, trace, _trackers, _worker

# What a scientific workload imports; warming imports these in every worker.
WARM_MODULES = ("numpy", "scipy.signal", "scipy.ndimage", "scipy.interpolate")


class BackendError(RuntimeError):
    """An engine could not start, run or stop; the message names the backend and the cause."""


class WorkerDied(BackendError):
    """A worker process died during a map; the backend is closed (its pool is broken)."""


# What engines raise when a worker died under a task (loky, futures; Dask and Ray after retries).
DEATHS = ("TerminatedWorkerError", "BrokenProcessPool", "KilledWorker", "WorkerCrashedError",
          "NodeDiedError", "ActorDiedError")


def check_n_workers(name: str, n_workers: Any, limit: int, why: str) -> int:
    if isinstance(n_workers, bool) or not isinstance(n_workers, int):
        raise BackendError(f"{name}: n_workers must be an integer, got {n_workers!r}")
    if n_workers < 1:
        raise BackendError(f"{name}: n_workers must be at least 1, got {n_workers}")
    if n_workers > limit:
        raise BackendError(f"{name}: n_workers={n_workers} exceeds the limit of {limit} ({why})")
    return n_workers


class Backend(ABC):
    """A parallel engine with ``n_workers`` workers; use it as a context manager."""

    name: ClassVar[str]
    engine: ClassVar[str | None] = None  # distribution whose version is recorded
    uses_processes: ClassVar[bool] = True
    # Tasks see the caller's objects without copying: naive and shared are the same thing.
    shares_memory: ClassVar[bool] = False
    # ``share`` places an object by restarting the workers (a pool initializer): placing a
    # new object is a pool start, not a transfer.
    share_restarts: ClassVar[bool] = False
    # Its daemons use CPU while it idles (heartbeats, profilers): it is never kept warm
    # beside another engine's timing (ratios.speedups).
    busy_when_idle: ClassVar[bool] = False
    address: str | None = None  # the run's cluster it joins (``backends.get(join=True)``), or its own

    def __init__(self, n_workers: int):
        limit, why = self.worker_limit()
        self.n_workers = check_n_workers(self.name, n_workers, limit, why)
        self.threads = config.threads_per_worker()
        self.caller = os.getpid()  # workers elsewhere die with their parent (_worker)
        self.started = False
        self.closed = False
        self.broken = False  # a worker died under a task: close without waiting for it
        self._placed: dict[int, tuple[object, object]] = {}
        self._warmed: tuple[str, ...] = ()
        self.worker_pids: list[int] = []  # processes seen running tasks while warming
        self._at_close: list[Callable[[], None]] = []
        self.pinned_cores: list[int] | None = None  # worker i's: [i mod len] (bench_lib.backends.affinity)
        self.faults_in: str | None = None  # a protocol measurement counts tasks' faults here
        self._fault_wrappers: dict = {}  # fn -> allocator.Counted(fn)

    # -- what subclasses provide -------------------------------------------------------
    @classmethod
    def worker_limit(cls) -> tuple[int, str]:
        return config.max_workers(), "usable CPUs here; PARBENCH_MAX_WORKERS overrides"

    @classmethod
    def in_caller(cls, n_workers: int) -> bool:
        """Whether tasks run in the calling process (no worker process of their own)."""
        return not cls.uses_processes

    @abstractmethod
    def _start(self) -> None: ...

    @abstractmethod
    def _map(self, fn: Callable, items: list, data: Any) -> list: ...

    def _share(self, obj: object) -> object:
        return obj

    @abstractmethod
    def _close(self) -> None: ...

    def _info(self) -> dict:
        return {}

    # -- the interface --------------------------------------------------------------------
    def start(self) -> "Backend":
        """Start the workers (cold: nothing imported in them yet)."""
        if self.closed:
            raise BackendError(f"{self.name}: backend is closed; get a new one")
        if not self.started:
            if self.uses_processes:  # its close stops the resource trackers if it is the last
                _trackers.OPEN.add(self)
            try:
                self._start()
            except Exception as exc:
                self.close()
                if isinstance(exc, BackendError):
                    raise
                raise BackendError(
                    f"{self.name}: could not start {self.n_workers} worker(s): "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            self.started = True
        return self

    def warm(self, modules: Iterable[str] = WARM_MODULES) -> "Backend":
        """Make every worker exist and import ``modules``, so timings exclude both."""
        self.start()
        self._warmed = tuple(modules)
        hold = 0.2 if self.uses_processes else 0.0
        task = functools.partial(_worker.warm_up, self._warmed, self.threads, caller=self.caller)
        seen: set[int] = set()
        for _ in range(10):  # a pool may hand two warm-up tasks to one worker; retry
            seen.update(self.map(task, [hold] * self.n_workers))
            if len(seen) >= self.n_workers or not self.uses_processes:
                break
        self.worker_pids = sorted(seen)
        return self

    def map(self, fn: Callable, items: Iterable, data: Any = None) -> list:
        """``[fn(data, item) for item in items]`` (or ``fn(item)`` without data), in order.

        ``data`` is either the object itself -- sent with every task, the naive way -- or
        the handle :meth:`share` returned for it.
        """
        self.start()
        items, recording = list(items), trace.active()
        if self.faults_in is not None:  # one wrapper per fn: Ray registers each function once
            if fn not in self._fault_wrappers:
                self._fault_wrappers[fn] = allocator.Counted(fn, self.faults_in)
            fn = self._fault_wrappers[fn]
        try:
            if recording is not None:  # a traced map (bench_lib.backends.trace); never a timed one
                return trace.unwrap(self._map(*trace.wrap(self, fn, items, data)), recording)
            return self._map(fn, items, data)
        except WorkerDied:
            self.broken = True
            self.close()  # the warm cache starts a new backend next time
            raise
        except BackendError:
            raise
        except Exception as exc:
            if type(exc).__name__ in DEATHS:
                self.broken = True
                self.close()
                raise WorkerDied(
                    f"{self.name} (n_workers={self.n_workers}): a worker process died under a "
                    f"task: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                ) from exc
            raise BackendError(
                f"{self.name} (n_workers={self.n_workers}): task failed: "
                f"{type(exc).__name__}: {exc}"
            ) from exc

    def share(self, obj: object) -> object:
        """Place ``obj`` once with the engine's own mechanism; pass the result to ``map``.

        Memoised per object, so a benchmark ``setup`` run for every sample places it once.
        """
        if self.shares_memory:
            return obj
        self.start()
        placed = self._placed.get(id(obj))
        if placed is None or placed[0] is not obj:
            placed = self._placed[id(obj)] = (obj, self._share(obj))
        return placed[1]

    def actor_pids(self) -> list[int]:
        """Processes of the actors this backend holds (engines with actors: Ray)."""
        return []

    def retire_actors(self, wait: bool = True) -> None:
        """Kill the actors this backend holds, if any; ``wait`` until their CPUs are free."""

    def at_close(self, fn: Callable[[], None]) -> None:
        """Call ``fn`` when this backend closes, before its workers stop (e.g. kill actors)."""
        self._at_close.append(fn)

    def close(self) -> None:
        """Stop every worker this backend started; safe to call twice."""
        if self.closed:
            return
        self.closed = True
        try:
            while self._at_close:
                try:
                    self._at_close.pop()()
                except Exception as exc:  # the engine below still has to stop
                    warnings.warn(f"{self.name}: cleanup at close failed: {exc!r}", RuntimeWarning)
            self._close()  # also after a failed start, which may leave half an engine
        finally:
            self._placed.clear()
            if self.uses_processes:
                _trackers.release_trackers(self)

    def raw(self, fn: Callable) -> Callable[[list], list]:
        """``items -> [fn(item) for item in items]`` on this backend's own engine, written
        as the engine's documentation writes it, with nothing of parbench around it: what
        the harness benchmark holds :meth:`map` against. Process engines provide it."""
        raise NotImplementedError(f"{self.name}: no raw engine idiom to hold map against")

    def info(self) -> dict:
        """Where and how this backend runs, stored with results."""
        version = None
        if self.engine:
            try:
                version = importlib.metadata.version(self.engine)
            except importlib.metadata.PackageNotFoundError:
                pass
        return {"backend": self.name, "n_workers": self.n_workers, "threads_per_worker": self.threads,
                "engine": self.engine, "engine_version": version, **self._info()}

    def __enter__(self) -> "Backend":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "started" if self.started else "new"
        return f"<{type(self).__name__} {self.name} n_workers={self.n_workers} {state}>"

    def _task(self, fn: Callable, data: Any) -> Callable:
        """The picklable per-item callable every engine runs. Tasks that run in this
        process get this process prepared once, here, and nothing around ``fn``."""
        if not self.uses_processes:
            _worker.prepare(self.threads, self.caller)
            return fn if data is None else functools.partial(fn, data)
        return functools.partial(_worker.call, fn, data, threads=self.threads, caller=self.caller)
