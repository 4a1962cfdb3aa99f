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

from bench_lib import config
from bench_lib.backends import processes, _worker
from bench_lib.backends._cluster import check_reachable
from bench_lib.backends._ray_start import lean_start as _lean_start, reread_auth_settings as _reread_auth_settings
from bench_lib.backends.base import Backend, BackendError

PLACEMENT_TIMEOUT = 60.0
ACTOR_TIMEOUT = 60.0
EXIT_TIMEOUT = 5.0
MARKER = "PARBENCH_RAY_RUNTIME"
_runtime = {"users": 0, "owned": False, "cpus": 0, "marker": None, "address": None}


class RayBackend(Backend):
    name = "ray"
    busy_when_idle = True  # idle and warm at n=2: 0.06 cores (scheduler, workers' heartbeats)
    engine = "ray"
    _actors: tuple | None = None  # (class, key, generation, [handles]) of the live actors

    @classmethod
    def worker_limit(cls):
        if config.user_cluster("ray"):
            return 10**6, "checked against the cluster's CPUs at start"
        return super().worker_limit()

    def _start(self):
        import ray
        from ray.util.placement_group import placement_group
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        _ensure_runtime(self.n_workers, self.address)
        _runtime["users"] += 1
        self._counted = True
        cpus = int(ray.cluster_resources().get("CPU", 0))
        if self.n_workers > cpus:
            raise BackendError(
                f"ray: n_workers={self.n_workers} exceeds the limit of {cpus} "
                f"(CPUs in the Ray cluster)"
            )
        self._pg = None
        # The runtime's CPUs are the bound: one started here with n_workers CPUs, or the
        # run's own cluster (nothing else runs on it) when n_workers is all of its CPUs.
        if (_runtime["owned"] and _runtime["cpus"] == self.n_workers) or (
                self.address is not None and _runtime["address"] == self.address and cpus == self.n_workers):
            self._strategy = "DEFAULT"
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
        if self._strategy != "DEFAULT":  # a cluster bigger than the run: its n_workers CPUs, as map's
            remote = remote.options(scheduling_strategy=self._strategy)
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
            "address": config.user_cluster("ray") or (self.address and "run") or "local",
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


def _ensure_runtime(n_workers: int, run_address: str | None = None) -> None:
    """Connect this process to Ray: the user's cluster (``RAY_ADDRESS``), else the run's own
    (``run_address``, from ``run --engines once``), else a local runtime started here."""
    import ray

    address = config.user_cluster("ray") or run_address
    if ray.is_initialized():
        same = _runtime["address"] == address
        if _runtime["users"] > 0 or (same and (address or _runtime["cpus"] >= n_workers)):
            return
        if _runtime["owned"]:
            _shutdown_owned()  # our idle local runtime is too small, or a cluster is wanted
        else:
            ray.shutdown()  # joined another cluster than the one wanted now
            _runtime.update(address=None)
    if address and address == run_address and not config.user_cluster("ray"):
        token = config.run_clusters().get("ray_token")
        if token:  # the run's cluster was started with token authentication
            os.environ.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token)
    if not address and "RAY_AUTH_MODE" not in os.environ:
        # Token auth, said explicitly (Ray's default for a new local runtime, which it
        # otherwise announces with a warning at every start), for this runtime's life only
        os.environ["RAY_AUTH_MODE"] = _runtime["set_mode"] = "token"
    _reread_auth_settings()
    if address:
        options = {}
        if address != "auto":
            check_reachable("ray", "RAY_ADDRESS" if config.user_cluster("ray") else config.CLUSTERS,
                            address.removeprefix("ray://"))
            if address.removeprefix("ray://").rsplit(":", 1)[0] in ("127.0.0.1", "localhost"):
                # A cluster on loopback reaches this driver only at loopback too (its
                # workers call back to the owner of every object the driver puts).
                options["_node_ip_address"] = "127.0.0.1"
        ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING, **options)
        _runtime.update(owned=False, cpus=0, address=address)
        return
    if os.environ.get("RAY_AUTH_MODE", "token") != "disabled":
        os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(32))
    marker = secrets.token_hex(16)
    _runtime.update(owned=True, cpus=n_workers, marker=marker, address=None)
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
