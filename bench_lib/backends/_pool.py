"""The engines built on ``multiprocessing.Pool`` -- ``multiprocessing`` itself and joblib's
``multiprocessing`` backend -- share two problems, solved here once:

- a Pool replaces a killed worker but never re-runs, nor fails, the task it held, so a
  map would wait forever: a :class:`Watch` thread fails the pool's pending results with
  :class:`WorkerDied` instead, and the map runs in the caller's thread as users write it
  (no thread of ours around it: the harness benchmark holds it to the engine's own cost);
- ``terminate()`` can hang: :func:`end_pool` ends a pool without a join that can.

Engine state (the watch) lives on the backend, as in joblib's ``PoolManagerMixin``.

Helpers for spawned worker processes of any engine live here too:
:func:`main_not_reimported`; the resource trackers they share are in ``_trackers``, below
``base``, which ``Backend.close`` releases.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from typing import Callable

from bench_lib.backends._trackers import (  # noqa: F401 (re-exported)
    OPEN,
    reap,
    release_trackers,
    stop_resource_trackers,
)
from bench_lib.backends.base import Backend, WorkerDied

WATCH_POLL = 0.1  # seconds between checks for a dead pool worker


def exit_cause(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


class Watch:
    """A daemon thread that notices the first death of a ``pool`` worker and from then on
    fails every pending result with :class:`WorkerDied` (a map waiting on one raises it).

    Every worker seen is watched, replacements too. A death while nothing was pending
    breaks the pool as well: a worker killed while waiting for a task can hold the task
    queue's lock, and no later task would ever be read. The backend checks
    :attr:`died` before each map, so the next one fails at once.
    """

    def __init__(self, name: str, pool, before_failing: Callable[[], None] | None = None):
        self.name, self.pool, self.before_failing = name, pool, before_failing
        self.died: WorkerDied | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"{name}-watch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        seen: dict[int, object] = {}
        while not self._stop.wait(WATCH_POLL):
            if self.died is None:
                seen.update((id(w), w) for w in list(getattr(self.pool, "_pool", ())))
                dead = next((w for w in seen.values() if w.exitcode is not None), None)
                if dead is None:
                    continue
                self.died = WorkerDied(
                    f"{self.name}: worker pid {dead.pid} died ({exit_cause(dead.exitcode)}); a "
                    "multiprocessing pool never re-runs the task a dead worker held, so the run "
                    "stops here instead of waiting forever"
                )
            pending = list(self.pool._cache.values())
            if pending and self.before_failing is not None:
                self.before_failing()
            for result in pending:
                fail(result, self.died)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def fail(result, error: BaseException) -> None:
    """Make a pending ``ApplyResult``/``MapResult`` ready with ``error`` (the pool's own
    ``_set``, once per chunk still missing); one finishing meanwhile is left alone."""
    with contextlib.suppress(KeyError, AttributeError):  # finished under our feet
        for _ in range(max(getattr(result, "_number_left", 1), 1)):
            if result.ready():
                return
            result._set(0, (False, error))


class PoolBackend(Backend):
    """A backend whose tasks run in a ``multiprocessing.Pool`` (or a subclass of it)."""

    _watch: Watch | None = None

    def _watch_pool(self, pool, before_failing: Callable[[], None] | None = None) -> None:
        self._watch = Watch(self.name, pool, before_failing)

    def _check_pool(self) -> None:
        """Raise the death the watch saw, before a map that could only wait forever."""
        if self._watch is not None and self._watch.died is not None:
            raise self._watch.died

    def _end_pool(self, pool) -> None:
        if self._watch is not None:
            self._watch.stop()
            self._watch = None
        end_pool(pool, broken=self.broken)


def end_pool(pool, grace: float = 10.0, broken: bool = False) -> None:
    """End a ``multiprocessing.Pool`` (or joblib's subclass) without a join that can hang.

    ``terminate()`` signals workers and joins them; it was seen to wait forever, and a
    worker killed while holding the task queue's lock deadlocks it. A backend closes its
    pool only after its work returned, so the clean way works: ``close()`` sends every
    worker a sentinel and ``join()`` sees them exit. Only if that stalls (a hung task)
    are the workers killed. ``terminate()`` then releases what is left (joblib's temp
    folders), in a thread so it cannot hang the caller.

    A ``broken`` pool (a worker died under a task) can never finish that task, so
    ``join`` would only wait out the grace: its workers are killed and it is terminated.
    """
    if broken:
        from multiprocessing.pool import TERMINATE

        pool._worker_handler._state = TERMINATE  # no more replacement workers
        _kill_workers(pool)
        for worker in list(getattr(pool, "_pool", ())):
            worker.join(grace)
        # A worker killed while waiting for a task holds the task queue's lock, which
        # terminate() then waits for: bounded, and the workers are gone already.
        _within(pool.terminate, 2.0)
        return
    pool.close()
    if not _within(pool.join, grace):
        _kill_workers(pool)
        _within(pool.join, grace)
    _within(pool.terminate, grace)


def _kill_workers(pool) -> None:
    for worker in list(getattr(pool, "_pool", ())):
        if worker.exitcode is None:
            worker.kill()


def _within(fn: Callable[[], object], seconds: float) -> bool:
    """Run ``fn`` in a daemon thread; True if it returned within ``seconds``."""
    thread = threading.Thread(target=fn, daemon=True)
    thread.start()
    thread.join(seconds)
    return not thread.is_alive()


@contextlib.contextmanager
def main_not_reimported():
    """Start spawned workers without re-running the caller's script in them.

    ``spawn`` children import the parent's ``__main__`` by path; a script without an
    ``if __name__ == "__main__"`` guard then starts its cluster again inside the worker
    ("Nanny failed to start"). Hiding the path while workers start avoids that; functions
    defined in ``__main__`` still reach workers, pickled by value (cloudpickle).
    """
    main = sys.modules.get("__main__")
    saved = {k: main.__dict__[k] for k in ("__file__", "__spec__") if main and k in main.__dict__}
    try:
        for key in saved:
            if key == "__file__":
                del main.__file__
            else:
                main.__spec__ = None
        yield
    finally:
        if main is not None:
            main.__dict__.update(saved)
