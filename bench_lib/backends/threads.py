"""``concurrent.futures.ThreadPoolExecutor``: shares memory, bound by the GIL where
the work holds it (numpy/scipy kernels mostly release it)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from bench_lib.backends.base import Backend


class ThreadsBackend(Backend):
    name = "threads"
    uses_processes = False
    shares_memory = True

    def _start(self):
        self._pool = ThreadPoolExecutor(self.n_workers, thread_name_prefix="parbench")

    def _map(self, fn, items, data):
        return list(self._pool.map(self._task(fn, data), items))

    def raw(self, fn):
        self.start()
        pool = self._pool
        return lambda items: list(pool.map(fn, items))

    def _close(self):
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
