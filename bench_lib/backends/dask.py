"""Dask distributed with process workers of one thread each: a ``LocalCluster`` started
here, or an existing scheduler given by ``DASK_SCHEDULER_ADDRESS`` (Dask's own variable).

On an existing cluster (the user's, or the one ``run --engines once`` started for the whole
run, which warm runs join: bench_lib.backends._run_clusters), tasks are pinned to ``n_workers`` of its workers, so ``n_workers``
means the same there as here. ``share`` is ``Client.scatter(broadcast=True)``: every worker
holds the object in memory and tasks name it by future.
"""

from __future__ import annotations

import logging
import warnings

from bench_lib import config
from bench_lib.backends import _worker
from bench_lib.backends._cluster import check_reachable
from bench_lib.backends._pool import main_not_reimported
from bench_lib.backends.base import Backend, BackendError

VARIABLE = "DASK_SCHEDULER_ADDRESS"


class DaskBackend(Backend):
    name = "dask"
    busy_when_idle = True  # idle and warm at n=2: 0.16 cores (scheduler, workers' heartbeats)
    engine = "distributed"

    @classmethod
    def worker_limit(cls):
        if config.user_cluster("dask"):
            return 10**6, "checked against the cluster's workers at start"
        return super().worker_limit()

    def _start(self):
        from distributed import Client, LocalCluster

        address = config.user_cluster("dask") or self.address  # the user's cluster, else the run's
        self._cluster = None
        if address:
            check_reachable("dask", VARIABLE if config.user_cluster("dask") else config.CLUSTERS, address)
            self.client = Client(address, timeout="10s", set_as_default=False)
            workers = sorted(self.client.scheduler_info()["workers"])
            if self.n_workers > len(workers):
                raise BackendError(
                    f"dask: n_workers={self.n_workers} exceeds the limit of {len(workers)} "
                    f"(workers connected to {address})"
                )
            self._workers = workers[: self.n_workers]
        else:
            with main_not_reimported():
                self._cluster = LocalCluster(
                    n_workers=self.n_workers,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                    memory_limit=_worker_memory(self.n_workers),
                    silence_logs=logging.ERROR,
                )
            self.client = Client(self._cluster, set_as_default=False)
            self._workers = None

    @property
    def workers(self) -> list[str] | None:
        """The workers tasks are pinned to (None: all of a cluster started for this backend);
        a dask collection computed on ``client`` passes them too."""
        return self._workers

    def _map(self, fn, items, data):
        with warnings.catch_warnings():
            # Naive runs put big inputs in the graph on purpose; Dask warns each time.
            warnings.filterwarnings("ignore", message="Large object of size")
            # Positional, one per task: a large keyword argument becomes a graph key of its
            # own in Client.map (seen to collide), and a future here is resolved per task.
            futures = self.client.map(
                _worker.call, [fn] * len(items), [data] * len(items), items,
                threads=self.threads, caller=self.caller, pure=False, workers=self._workers,
            )
        return self.client.gather(futures)

    def raw(self, fn):
        self.start()
        client = self.client
        workers = self._workers  # on a bigger cluster, n_workers of its workers, as map's
        return lambda items: client.gather(client.map(fn, items, pure=False, workers=workers))

    def _share(self, obj):
        [future] = self.client.scatter([obj], broadcast=True, hash=False, workers=self._workers)
        return future

    def _close(self):
        client = getattr(self, "client", None)
        if client is not None:
            scattered = [handle for _, handle in self._placed.values()]
            if scattered:  # release first, or the scheduler logs lost data at shutdown
                client.cancel(scattered)
            client.close()
            self.client = None
        cluster = getattr(self, "_cluster", None)
        if cluster is not None:
            cluster.close()
            self._cluster = None

    def _info(self):
        return {
            "address": config.user_cluster("dask") or (self.address and "run") or "local",
            "worker_memory_bytes": None if config.user_cluster("dask") or self.address else _worker_memory(self.n_workers),
        }


def _worker_memory(n_workers: int) -> int:
    default_mb = int(config.total_memory() * 0.6 / n_workers / 1024**2)
    return config.megabytes("PARBENCH_DASK_WORKER_MEMORY_MB", default_mb)
