"""The baseline: a plain loop in the calling thread, BLAS limited like every worker."""

from __future__ import annotations

from bench_lib.backends.base import Backend


class SerialBackend(Backend):
    name = "serial"
    uses_processes = False
    shares_memory = True

    @classmethod
    def worker_limit(cls):
        return 1, "serial runs in the calling thread"

    def _start(self):
        pass

    def _map(self, fn, items, data):
        task = self._task(fn, data)
        return [task(item) for item in items]

    def _close(self):
        pass
