"""Ray tasks, on a local Ray started here or on an existing cluster (``RAY_ADDRESS``).

One Ray runtime per process (Ray's own rule). A run never uses more than ``n_workers``
CPUs: a local runtime started for it has exactly ``n_workers`` CPUs, and tasks of one CPU
each are bounded by that alone, as in Ray's own examples. Only where the runtime has more
CPUs than the run asked for (a shared cluster, or a local runtime another backend of this
process started bigger) are tasks scheduled into a placement group of ``n_workers``
one-CPU bundles: that bounds them too, at a cost per task (1.16x on no-op tasks).

Ray >= 2.59 turns on token authentication for local clusters and writes a token under
``~/.ray``; a local cluster here gets a fresh random ``RAY_AUTH_TOKEN`` in this process's
environment instead (inherited by Ray's daemons), so it starts without prompts or files
and stays authenticated. On an existing cluster, supply its token as Ray documents.

A local runtime's daemons carry a marker of their own in their environment
(``PARBENCH_RAY_RUNTIME``), so closing ends exactly its processes, no other Ray's; so does
a watcher process (``_ray_watch``) when this process dies without closing.

A backend also holds one pool of actors (:meth:`RayBackend.actors`), ``n_workers`` of
them within the run's CPUs, kept while they serve the same key; they are killed when
another key (or class) is asked for, by :meth:`RayBackend.retire_actors`, and on close.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import secrets
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Callable

from .. import config, processes
from . import _worker
from ._cluster import check_reachable
from .base import Backend, BackendError

PLACEMENT_TIMEOUT = 60.0
ACTOR_TIMEOUT = 60.0
EXIT_TIMEOUT = 5.0
MARKER = "PARBENCH_RAY_RUNTIME"
_runtime = {"users": 0, "owned": False, "cpus": 0, "marker": None}


class RayBackend(Backend):
    name = "ray"
    busy_when_idle = True  # idle and warm at n=2: 0.06 cores (scheduler, workers' heartbeats)
    engine = "ray"
    _actors: tuple | None = None  # (class, key, generation, [handles]) of the live actors

    @classmethod
    def worker_limit(cls):
        if os.environ.get("RAY_ADDRESS"):
            return 10**6, "checked against the cluster's CPUs at start"
        return super().worker_limit()

    def _start(self):
        import ray
        from ray.util.placement_group import placement_group
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        _ensure_runtime(self.n_workers)
        _runtime["users"] += 1
        self._counted = True
        cpus = int(ray.cluster_resources().get("CPU", 0))
        if self.n_workers > cpus:
            raise BackendError(
                f"ray: n_workers={self.n_workers} exceeds the limit of {cpus} "
                f"(CPUs in the Ray cluster)"
            )
        self._pg = None
        if _runtime["owned"] and _runtime["cpus"] == self.n_workers:
            self._strategy = "DEFAULT"  # the runtime's CPUs are the bound
        else:
            self._strategy = PlacementGroupSchedulingStrategy(self._reserve(placement_group))
        self._remote = ray.remote(_worker.call).options(num_cpus=1, scheduling_strategy=self._strategy)
        self._remotes = {}
        self.at_close(functools.partial(self.retire_actors, wait=False))

    def _reserve(self, placement_group):
        """A placement group of ``n_workers`` one-CPU bundles, ready."""
        import ray

        self._pg = placement_group([{"CPU": 1}] * self.n_workers, strategy="PACK")
        try:
            ray.get(self._pg.ready(), timeout=PLACEMENT_TIMEOUT)
        except ray.exceptions.GetTimeoutError:
            free = ray.available_resources().get("CPU", 0)
            raise BackendError(
                f"ray: could not reserve {self.n_workers} CPUs within {PLACEMENT_TIMEOUT:.0f} s "
                f"({free:g} free in the cluster)"
            ) from None
        return self._pg

    def scheduling(self):
        """The strategy tasks use, for actors that must stay in this run's CPUs."""
        self.start()
        return self._strategy

    def free_cpus(self) -> float:
        """CPUs of this run's reservation not held by a task or actor right now."""
        import ray

        self.start()
        resource = f"CPU_group_{self._pg.id.hex()}" if self._pg is not None else "CPU"
        return ray.available_resources().get(resource, 0)

    # -- actors -----------------------------------------------------------------------------
    def actors(self, cls: type, key, args_for: Callable[[int], tuple], generation=None) -> list:
        """Handles of ``n_workers`` actors of ``cls`` (one CPU each, within this run's CPUs),
        actor i built as ``cls(*args_for(i))``. The live ones serve while they were built for
        ``cls`` and ``key`` and ``generation`` is None or theirs; otherwise they are retired
        and new ones built (a new ``generation``: every actor starts anew)."""
        import ray

        current = self._actors
        if current and current[:2] == (cls, key) and generation in (None, current[2]):
            return current[3]
        self.retire_actors()
        remote = ray.remote(cls).options(num_cpus=1, scheduling_strategy=self.scheduling())
        handles = [remote.remote(*args_for(i)) for i in range(self.n_workers)]
        self._actors = (cls, key, generation, handles)
        return handles

    def actor_map(self, method: str, items: list, *args) -> list:
        """``actor.method(*args, item)`` for every item, round-robin over the live actors, in order."""
        import ray

        handles = self._actors[3]
        refs = [getattr(handles[k % len(handles)], method).remote(*args, item) for k, item in enumerate(items)]
        try:
            return ray.get(refs)
        except Exception as exc:
            raise BackendError(f"ray actors (n_workers={self.n_workers}): {type(exc).__name__}: {exc}") from exc

    def retire_actors(self, wait: bool = True) -> None:
        """Kill the live actors; ``wait`` until their CPUs are free again."""
        current, self._actors = self._actors, None
        if not current:
            return
        import ray

        if not ray.is_initialized():  # shut down already (Ray's own atexit): actors are gone
            return
        for actor in current[3]:
            ray.kill(actor)
        if wait:
            deadline = time.monotonic() + ACTOR_TIMEOUT
            while self.free_cpus() < self.n_workers:
                if time.monotonic() > deadline:
                    raise BackendError(f"ray: killed actors did not free their CPUs in {ACTOR_TIMEOUT:.0f} s")
                time.sleep(0.02)

    def actor_pids(self) -> list[int]:
        if not self._actors:
            return []
        import ray

        return ray.get([a.__ray_call__.remote(_pid) for a in self._actors[3]], timeout=ACTOR_TIMEOUT)

    def raw(self, fn):
        import ray

        self.start()
        # ``@ray.remote`` takes functions; anything else callable goes in a closure, as users write it.
        remote = ray.remote(num_cpus=1)(fn if isinstance(fn, types.FunctionType) else lambda item: fn(item))
        return lambda items: ray.get([remote.remote(item) for item in items])

    def _map(self, fn, items, data):
        import ray

        if _exported_by_reference(fn):  # one remote function per fn, like ``@ray.remote``
            remote = self._remotes.get(fn)
            if remote is None:
                remote = self._remotes[fn] = ray.remote(_worker.bound(fn, self.threads, self.caller)).options(
                    num_cpus=1, scheduling_strategy=self._strategy)
            refs = [remote.remote(item) if data is None else remote.remote(data, item) for item in items]
        else:  # fn carries state (a bound method, a partial): it travels with each task
            refs = [self._remote.remote(fn, data, item, self.threads, self.caller) for item in items]
        return ray.get(refs)

    def _share(self, obj):
        import ray

        return ray.put(obj)  # top-level ObjectRef arguments arrive as the object

    def _close(self):
        import ray
        from ray.util.placement_group import remove_placement_group

        pg = getattr(self, "_pg", None)
        if pg is not None and ray.is_initialized():
            remove_placement_group(pg)
        self._pg = None
        if getattr(self, "_counted", False):
            self._counted = False
            _runtime["users"] -= 1
        if _runtime["users"] == 0 and _runtime["owned"]:
            _shutdown_owned()

    def _info(self):
        return {
            "address": os.environ.get("RAY_ADDRESS") or "local",
            "object_store_bytes": _object_store_bytes(),
        }


def _pid(actor) -> int:
    return os.getpid()


def _exported_by_reference(fn) -> bool:
    """A module-level function: pickled by name, so binding it into a remote function
    exports nothing of a workload's state."""
    return isinstance(fn, types.FunctionType) and "<locals>" not in fn.__qualname__


def _object_store_bytes() -> int:
    # Explicit, so a small machine or a small /dev/shm fails loudly instead of spilling.
    default_mb = min(4096, int(config.total_memory() * 0.3 / 1024**2))
    return config.megabytes("PARBENCH_RAY_OBJECT_STORE_MB", default_mb)


def _ensure_runtime(n_workers: int) -> None:
    import ray

    address = os.environ.get("RAY_ADDRESS")
    if ray.is_initialized():
        if address or _runtime["cpus"] >= n_workers or _runtime["users"] > 0:
            return
        _shutdown_owned()  # our idle local runtime is too small for this request
    if not address and "RAY_AUTH_MODE" not in os.environ:
        # Token auth, said explicitly (Ray's default for a new local runtime, which it
        # otherwise announces with a warning at every start), for this runtime's life only
        os.environ["RAY_AUTH_MODE"] = _runtime["set_mode"] = "token"
    _reread_auth_settings()
    if address:
        options = {}
        if address != "auto":
            check_reachable("ray", "RAY_ADDRESS", address.removeprefix("ray://"))
            if address.removeprefix("ray://").rsplit(":", 1)[0] in ("127.0.0.1", "localhost"):
                # A cluster on loopback reaches this driver only at loopback too (its
                # workers call back to the owner of every object the driver puts).
                options["_node_ip_address"] = "127.0.0.1"
        ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING, **options)
        _runtime.update(owned=False, cpus=0)
        return
    if os.environ.get("RAY_AUTH_MODE", "token") != "disabled":
        os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(32))
    marker = secrets.token_hex(16)
    _runtime.update(owned=True, cpus=n_workers, marker=marker)
    os.environ[MARKER] = marker  # inherited by the daemons ray.init starts, not by later children
    try:
        with _lean_start():
            ray.init(
                address="local",  # a new runtime, even if `ray start` left one (or its file) here
                num_cpus=n_workers,
                include_dashboard=False,
                object_store_memory=_object_store_bytes(),
                log_to_driver=False,
                logging_level=logging.WARNING,
            )
        # Ends the runtime if this process dies without closing it (asv's benchmark
        # processes end with os._exit): Ray's agents would notice only after ~40 s.
        _runtime["watcher"] = subprocess.Popen(
            [sys.executable, "-m", "bench_lib.backends._ray_watch", str(os.getpid()), marker],
            cwd=Path(__file__).parents[2],  # this bench_lib, first on the watcher's path
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except BaseException:
        _shutdown_owned()  # a half-started runtime leaves daemons too
        raise
    finally:
        os.environ.pop(MARKER, None)


@contextlib.contextmanager
def _lean_start():
    """A local runtime without the two daemons a benchmark has no use for: the autoscaler's
    monitor (a local runtime never scales) and the log monitor (log_to_driver=False). ray.init
    has no option for them; ``ray start`` has (--no-monitor, --include-log-monitor) through
    the RayParams it builds, where they are set here, for this start only."""
    from ray._private import parameter

    original = parameter.RayParams.__init__

    def lean(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.no_monitor, self.include_log_monitor = True, False

    parameter.RayParams.__init__ = lean
    try:
        yield
    finally:
        parameter.RayParams.__init__ = original


def _reread_auth_settings() -> None:
    """Make Ray read ``RAY_AUTH_MODE`` and the token from the environment as it is now.

    Ray reads them once per process, when first imported, and caches them: a process that
    imported Ray before these were set (a failed connection, an earlier ``ray.init()``)
    would otherwise connect without the token its cluster (or the daemons it starts) want,
    and fail with ``InvalidAuthToken``. Ray's own tests reset it so
    (``ray._private.authentication_test_utils.reset_auth_token_state``).
    """
    from ray import _raylet

    loader = getattr(_raylet, "AuthenticationTokenLoader", None)  # older Ray: no token auth
    if loader is not None:
        _raylet.Config.initialize("")  # first: a draining thread may reload the token from it
        loader.instance().reset_cache()


def _shutdown_owned() -> None:
    """``ray.shutdown()``, then end what it leaves of the runtime started here.

    Ray gives the raylet 1 s to end its agents and workers, then SIGKILLs it: on a busy
    machine its dashboard and runtime-env agents (~85 MB each), and at times raylet and
    gcs_server, outlive ``ray.shutdown()`` by a minute, orphaned, using CPU while the
    next benchmark is timed. The runtime's processes (its watcher among them), found by
    its marker before the shutdown (while the agents are still the raylet's children) and
    after it (what started meanwhile), are SIGTERMed, then SIGKILLed, all gone within
    ``EXIT_TIMEOUT`` s.
    """
    import ray

    marker, watcher = _runtime["marker"], _runtime.pop("watcher", None)
    procs = processes.marked(MARKER, marker)
    try:
        ray.shutdown()
    finally:
        _runtime.update(owned=False, cpus=0, marker=None)
        if _runtime.pop("set_mode", None):
            os.environ.pop("RAY_AUTH_MODE", None)
        end_runtime(marker, procs)
        if watcher is not None:
            watcher.poll()  # reaped: no zombie child left here


def end_runtime(marker: str, known=()) -> None:
    """End the processes carrying the runtime's ``marker``, their descendants and ``known``.
    The agents take seconds over a SIGTERM: a second of grace, then SIGKILL."""
    processes.end(processes.marked(MARKER, marker, known), 1.0, settle=EXIT_TIMEOUT - 1.0)
