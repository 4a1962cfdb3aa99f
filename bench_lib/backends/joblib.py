"""joblib's three engines behind one class: ``loky`` (the default, reusable spawned
workers), ``threading`` and ``multiprocessing``.

The pool lives in a ``with Parallel(...)`` block for the backend's life -- the reuse that
joblib's docs recommend. Naive calls already get joblib's automatic memory-mapping of
arrays over ``max_nbytes`` (1 MB); ``share`` goes further and dumps the object once,
so each worker memory-maps (arrays) or loads (anything else) it a single time.

joblib runs ``n_jobs=1`` in the calling process (its SequentialBackend), pool or not: the
``n_workers=1`` point of a joblib backend is what users get, and ``info()`` says so.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path

from bench_lib.backends import _worker
from bench_lib.backends._pool import PoolBackend


class JoblibBackend(PoolBackend):
    engine = "joblib"
    joblib_backend = "loky"

    @classmethod
    def in_caller(cls, n_workers):
        return n_workers == 1 or super().in_caller(n_workers)

    def _start(self):
        from joblib import Parallel

        self._parallel = Parallel(n_jobs=self.n_workers, backend=self.joblib_backend)
        self._parallel.__enter__()
        pool = getattr(self._parallel._backend, "_pool", None)  # joblib's multiprocessing Pool
        if pool is not None and self.uses_processes:  # loky raises TerminatedWorkerError itself
            # The broken pool is ours to end (``close``): joblib's abort would start another.
            self._watch_pool(pool, lambda: setattr(self._parallel, "_aborted", True))

    def _map(self, fn, items, data):
        from joblib import delayed

        self._check_pool()
        # Arguments, not a partial per task: joblib pickles each task's callable anew.
        task = delayed(_worker.call)
        return self._parallel(task(fn, data, item, self.threads, self.caller) for item in items)

    def raw(self, fn):
        from joblib import delayed

        self.start()
        parallel = self._parallel  # the ``with Parallel(...)`` block this backend lives in
        return lambda items: parallel(delayed(fn)(item) for item in items)

    def _share(self, obj):
        import joblib

        if getattr(self, "_dump_dir", None) is None:
            self._dump_dir = tempfile.mkdtemp(prefix="parbench-joblib-", dir=_dump_root())
        path = Path(self._dump_dir) / f"{uuid.uuid4().hex}.joblib"
        joblib.dump(obj, path)
        return _worker.SharedKey(path.stem, str(path))

    def _close(self):
        parallel = getattr(self, "_parallel", None)
        if parallel is not None:
            engine = parallel._backend
            if self.uses_processes and getattr(engine, "_pool", None) is not None:
                self._end_pool(engine._pool)
                engine._pool = None
            if getattr(engine, "_workers", None) is not None:
                # Exiting alone leaves loky's reusable workers idling for 300 s: kill them.
                engine.abort_everything(ensure_ready=False)
            parallel.__exit__(None, None, None)
            self._parallel = None
        if getattr(self, "_dump_dir", None):
            shutil.rmtree(self._dump_dir, ignore_errors=True)
            self._dump_dir = None

    def _info(self):
        return {"joblib_backend": self.joblib_backend, "in_caller": self.n_workers == 1}


def _dump_root() -> str | None:
    """RAM-backed /dev/shm when it exists (as joblib itself prefers), else the temp dir."""
    return "/dev/shm" if Path("/dev/shm").is_dir() else None


class LokyBackend(JoblibBackend):
    name = "loky"


class JoblibThreadingBackend(JoblibBackend):
    name = "joblib-threading"
    joblib_backend = "threading"
    uses_processes = False
    shares_memory = True


class JoblibMultiprocessingBackend(JoblibBackend):
    name = "joblib-multiprocessing"
    joblib_backend = "multiprocessing"
