"""Registry of parallel backends, and the per-process cache of warm ones.

``names()`` lists what ``get(name, n_workers)`` can build. Adding an engine is one module
with a :class:`Backend` subclass plus one line in ``_REGISTRY``. Entries are import paths,
so importing this package (as every asv benchmark module does) imports no engine.

The package also holds what the engines stand on: the allocator discipline of every
worker (allocator), CPU affinity, finding and ending processes, their memory, and the
tracing hooks a traced map wraps tasks in.
"""

from __future__ import annotations

import atexit
import importlib
import os
import signal
from typing import Callable, Iterable

from bench_lib import config
from bench_lib.backends.base import Backend, BackendError, WARM_MODULES

__all__ = ["Backend", "BackendError", "names", "get", "register", "warm", "close_all"]

_REGISTRY: dict[str, str | Callable[..., Backend]] = {
    "serial": "bench_lib.backends.serial:SerialBackend",
    "threads": "bench_lib.backends.threads:ThreadsBackend",
    "multiprocessing": "bench_lib.backends.multiprocessing:MultiprocessingBackend",
    "loky": "bench_lib.backends.joblib:LokyBackend",
    "joblib-threading": "bench_lib.backends.joblib:JoblibThreadingBackend",
    "joblib-multiprocessing": "bench_lib.backends.joblib:JoblibMultiprocessingBackend",
    "ray": "bench_lib.backends.ray:RayBackend",
    "dask": "bench_lib.backends.dask:DaskBackend",
}


def names() -> list[str]:
    return list(_REGISTRY)


def register(name: str, factory: str | Callable[..., Backend]) -> None:
    """Add an engine: ``factory`` is a ``Backend`` subclass or ``"module:Class"``."""
    _REGISTRY[name] = factory


def backend_class(name: str) -> type[Backend]:
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise BackendError(
            f"unknown backend {name!r}; choose one of: {', '.join(_REGISTRY)}"
        ) from None
    if isinstance(factory, str):
        module, _, attr = factory.partition(":")
        factory = getattr(importlib.import_module(module), attr)
    return factory


def get(name: str, n_workers: int, join: bool = False, **options) -> Backend:
    """A new, not yet started backend; start it with ``with`` or ``.start()``. ``join``: a
    warm-run path, which runs on the run's own Ray or Dask cluster where ``run`` started one
    (``run --engines once``); without it the engine starts its own (what a start costs)."""
    backend = backend_class(name)(n_workers, **options)
    if join and config.user_cluster(name) is None:  # a cluster the user named wins
        backend.address = config.run_cluster(name)
    return backend


# -- per-process cache ---------------------------------------------------------------------
# asv calls setup/teardown around every sample (~85 times per parameter combination in
# one process), so a backend started in setup would be restarted each time. ``warm``
# keeps one warm backend per process and hands it back; it is closed at exit or when a
# different one is asked for (one live engine at a time keeps memory and CPUs honest).
_cache: dict[tuple, Backend] = {}


def warm(name: str, n_workers: int, modules: Iterable[str] = WARM_MODULES) -> Backend:
    """A started backend whose workers have imported ``modules``, reused within the process."""
    key = (name, n_workers)
    modules = tuple(modules)
    backend = _cache.get(key)
    if backend is not None and not backend.closed:
        if not set(modules) <= set(backend._warmed):
            backend.warm(modules + backend._warmed)
        return backend
    close_all()
    backend = get(name, n_workers, join=True)
    _install_exit_handlers()
    _cache[key] = backend
    backend.warm(modules)
    return backend


def close_all() -> None:
    """Close every cached backend (at exit, on SIGTERM, or before starting another)."""
    while _cache:
        _, backend = _cache.popitem()
        backend.close()


_handlers_installed = False


def _install_exit_handlers() -> None:
    """Close engines at exit and on SIGTERM (what asv sends when a benchmark times out)."""
    global _handlers_installed
    if _handlers_installed:
        return
    _handlers_installed = True
    atexit.register(close_all)
    try:
        previous = signal.getsignal(signal.SIGTERM)
    except ValueError:  # pragma: no cover
        return

    owner = os.getpid()

    def on_sigterm(signum, frame):
        if os.getpid() != owner:
            # A forked worker inherited this handler: it must just die, as Pool.terminate
            # expects, not close its copy of the parent's engines (that deadlocks).
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        close_all()
        if callable(previous):
            previous(signum, frame)
        raise SystemExit(128 + signum)

    try:
        signal.signal(signal.SIGTERM, on_sigterm)
    except ValueError:  # not the main thread: atexit still applies
        pass
