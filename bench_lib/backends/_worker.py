"""What runs inside a worker, whatever the engine: one module, importable by every worker.

Every engine calls :func:`call`, so thread limits and shared-input lookup behave the same
in a thread, a forked or spawned process, a Ray worker or a Dask worker.
"""

from __future__ import annotations

import ctypes
import importlib
import os
import signal
import sys
import time
from dataclasses import dataclass

from bench_lib.backends import allocator

# Objects placed once per worker by a backend's ``share`` (pool initializer, fork
# inheritance), looked up by key when a task names them.
_SHARED: dict[str, object] = {}
_LIMITED: tuple[int, int] | None = None  # (threads, len(sys.modules)) when last applied
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


@dataclass(frozen=True)
class SharedKey:
    """Stands in a task for an object already placed in the worker under ``key``."""

    key: str
    path: str | None = None  # a joblib dump to memory-map when the worker lacks the object

    def resolve(self):
        obj = _SHARED.get(self.key)
        if obj is None:
            if self.path is None:
                raise RuntimeError(
                    f"shared input {self.key!r} was never placed in worker {os.getpid()}"
                )
            import joblib

            obj = _SHARED[self.key] = joblib.load(self.path, mmap_mode="r")
        return obj


def init_worker(threads: int, shared: dict | None = None, caller: int | None = None) -> None:
    """Pool initializer: limit threads, and hold the shared inputs for the pool's life."""
    die_with_parent(caller)
    limit_threads(threads)
    if shared:
        _SHARED.update(shared)


def limit_threads(threads: int) -> None:
    """Cap BLAS/OpenMP threads in this process so n workers use n cores, and set the run's
    allocator discipline here (bench_lib.backends.allocator), which a worker's engine may not pass on.

    ``threadpool_limits`` only reaches libraries already loaded (scipy brings its own
    OpenBLAS on first import), so the variables are set for later ones and the limit is
    re-applied whenever imports happened since; a warm worker pays one ``len()`` per task.
    """
    global _LIMITED
    if _LIMITED == (threads, len(sys.modules)):
        return
    allocator.apply()
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)
    _LIMITED = (threads, len(sys.modules))


_GUARDED: int | None = None  # pid of this process once die_with_parent armed it


def die_with_parent(caller: int | None) -> None:
    """In a worker process, arrange to be SIGKILLed when the process that started it dies.

    An engine's workers are normally stopped by ``Backend.close`` (at exit, on SIGTERM).
    asv's benchmark process ends with ``os._exit`` -- no atexit -- and a timed-out one is
    SIGKILLed: loky and Pool workers then lived on as orphans (TensorFlow threads still
    spinning). Linux's parent-death signal ends them with their parent whatever the way
    it died. ``caller`` is the pid that created the backend: a task running there (the
    threads backend, joblib's n_jobs=1) must not arm it. The signal fires when the *thread*
    that started the worker ends; every engine here starts workers from a thread that
    lives as long as the engine (caller's main thread, pool handler, event loop, raylet).
    """
    global _GUARDED
    pid = os.getpid()
    if caller is None or pid == caller or _GUARDED == pid or not sys.platform.startswith("linux"):
        return
    _GUARDED = pid
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - no prctl: close() still applies
        return


_READY: tuple | None = None  # (threads, caller, len(sys.modules)) once prepared here


def _forked() -> None:
    global _READY
    _READY = None  # a forked child arms its own parent-death signal


os.register_at_fork(after_in_child=_forked)


def prepare(threads: int, caller: int | None = None) -> None:
    """What every task needs before it runs (:func:`die_with_parent`, :func:`limit_threads`),
    done once per process and again only after new imports: a task pays one comparison,
    so parbench's ``map`` costs what the engine's own ``map`` costs (the harness benchmark)."""
    global _READY
    if _READY != (threads, caller, len(sys.modules)):
        die_with_parent(caller)
        limit_threads(threads)
        _READY = (threads, caller, len(sys.modules))


def call(fn, data, item, threads: int, caller: int | None = None):
    """Run one task: ``fn(item)``, or ``fn(data, item)`` when the workload has an input."""
    prepare(threads, caller)
    if isinstance(data, SharedKey):
        data = data.resolve()
    return fn(item) if data is None else fn(data, item)


def bound(fn, threads: int, caller: int | None = None):
    """``fn`` prepared like :func:`call`, as a plain function of ``(item)`` or ``(data,
    item)``: engines that take functions only (Ray's ``remote``) export it once instead
    of sending ``fn`` with every task."""

    def task(*args):
        data, item = args if len(args) == 2 else (None, *args)
        return call(fn, data, item, threads, caller)

    task.__name__ = task.__qualname__ = getattr(fn, "__name__", "task")
    return task


def nothing(item):
    """The no-op task of the harness benchmark: hands its item back."""
    return item


def warm_up(modules: tuple[str, ...], threads: int, hold: float = 0.0,
            caller: int | None = None) -> int:
    """Import ``modules`` in this worker; ``hold`` keeps it busy so peers get their own."""
    prepare(threads, caller)
    for name in modules:
        importlib.import_module(name)
    if hold:
        time.sleep(hold)
    return os.getpid()


def thread_info(threads: int) -> list[dict]:
    limit_threads(threads)
    from threadpoolctl import threadpool_info

    return [
        {k: d.get(k) for k in ("user_api", "internal_api", "num_threads", "version")}
        for d in threadpool_info()
    ]
