"""``multiprocessing.Pool`` with an explicit, recorded start method.

``share`` uses the pool's own way: workers receive shared objects once, at start, through
the initializer -- inherited without pickling under ``fork``, pickled once per worker
under ``spawn``/``forkserver``. Placing a new object therefore restarts the pool (in
``setup``, outside any timing).
"""

from __future__ import annotations

import multiprocessing

from bench_lib import config
from bench_lib.backends import _worker
from bench_lib.backends._pool import main_not_reimported, PoolBackend
from bench_lib.backends.base import BackendError


class MultiprocessingBackend(PoolBackend):
    name = "multiprocessing"
    share_restarts = True

    def __init__(self, n_workers, start_method: str | None = None):
        super().__init__(n_workers)
        self.start_method = start_method or config.mp_start_method()
        if self.start_method not in multiprocessing.get_all_start_methods():
            raise BackendError(
                f"{self.name}: start method {self.start_method!r} is not available here; "
                f"use one of {multiprocessing.get_all_start_methods()}"
            )
        self._objects: dict[str, object] = {}

    def _start(self):
        ctx = multiprocessing.get_context(self.start_method)
        with main_not_reimported():
            self._pool = ctx.Pool(
                self.n_workers,
                initializer=_worker.init_worker,
                initargs=(self.threads, dict(self._objects), self.caller),
            )
        self._watch_pool(self._pool)

    def _map(self, fn, items, data):
        # The initializer prepared every worker (thread limit, parent-death signal): a task
        # without an input is ``fn`` itself, as in ``Pool.map`` (the harness benchmark).
        self._check_pool()
        task = fn if data is None else self._task(fn, data)
        return self._pool.map(task, items)

    def raw(self, fn):
        self.start()
        pool = self._pool
        return lambda items: pool.map(fn, items)

    def _share(self, obj):
        key = f"mp-{id(obj)}"
        self._objects[key] = obj
        self._close()
        self._start()
        if self._warmed:
            self.warm(self._warmed)
        return _worker.SharedKey(key)

    def _close(self):
        pool = getattr(self, "_pool", None)
        if pool is not None:
            self._end_pool(pool)
            self._pool = None

    def _info(self):
        return {"start_method": self.start_method}
