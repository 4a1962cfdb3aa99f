"""Pinning a backend's worker processes one per core (Linux ``sched_setaffinity``).

:func:`pin` pins worker i to core i mod the caller's usable cores, and remembers those
cores on the backend (``Backend.pinned_cores``), so processes started for it afterwards --
Ray actors -- pin themselves the same way (:func:`core_for`); :func:`unpin` gives every
worker all the caller's cores again. The model_inference benchmark's ``pinned`` parameter.
"""

from __future__ import annotations

import os

from bench_lib import backends, config
from bench_lib.backends import Backend


def pin_unsupported(backend: str, n_workers: int) -> str | None:
    """Why ``pinned=True`` has no meaning for this backend, or None."""
    cls = backends.backend_class(backend)
    if cls.in_caller(n_workers):
        return f"{backend} (n_workers={n_workers}) runs tasks in the caller: no worker process to pin"
    if not hasattr(os, "sched_setaffinity"):
        return "pinning workers to cores needs Linux (sched_setaffinity)"
    if backend in ("ray", "dask") and config.user_cluster(backend):
        variable = config.CLUSTER_VARIABLES[backend]
        return f"{backend} runs on the cluster at {variable}: its workers cannot be pinned from here"
    return None


def set_affinity(pid: int, cores: list[int]) -> bool:
    """Set the CPU affinity of every thread of ``pid`` (``cpu_affinity`` sets one thread).

    False if the process is gone (Ray retires idle task workers when actors need room).
    """
    import psutil

    try:
        threads = psutil.Process(pid).threads()
    except psutil.NoSuchProcess:
        return False
    for thread in threads:
        try:
            os.sched_setaffinity(thread.id, cores)
        except ProcessLookupError:  # the thread ended meanwhile
            pass
    return True


def affinity(pid: int) -> list[list[int]]:
    """The distinct CPU sets of ``pid``'s threads (one entry when pinning reached them all)."""
    import psutil

    sets = set()
    for thread in psutil.Process(pid).threads():
        try:
            sets.add(tuple(sorted(os.sched_getaffinity(thread.id))))
        except ProcessLookupError:
            pass
    return [list(s) for s in sorted(sets)]


def core_for(backend: Backend, i: int) -> int | None:
    """The core worker ``i`` of a pinned backend belongs on; None when it is not pinned."""
    cores = backend.pinned_cores
    return cores[i % len(cores)] if cores else None


def pin(backend: Backend) -> dict[int, list[int]]:
    """Pin worker i to core i mod usable cores (and so future actors); returns pid -> cores.

    Workers are the processes seen while warming (and current actors); an engine that
    starts other processes later (Ray may replace idle task workers) runs those unpinned.
    """
    reason = pin_unsupported(backend.name, backend.n_workers)
    if reason:
        raise NotImplementedError(reason)
    backend.pinned_cores = sorted(os.sched_getaffinity(0))
    plan = {}
    for group in (backend.worker_pids, backend.actor_pids()):
        for i, pid in enumerate(group):
            plan[pid] = [core_for(backend, i)]
    return {pid: chosen for pid, chosen in plan.items() if set_affinity(pid, chosen)}


def unpin(backend: Backend) -> None:
    """Give every worker all the caller's cores again (warm backends are reused)."""
    cores, backend.pinned_cores = backend.pinned_cores, None
    cores = cores or sorted(os.sched_getaffinity(0))
    if backend.closed:
        return
    for pid in [*backend.worker_pids, *backend.actor_pids()]:
        set_affinity(pid, cores)
