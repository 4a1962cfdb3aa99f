"""A worker SIGKILLed in the middle of a map, for every process-based backend: the run
completes through the engine's own recovery (Ray retries the task, Dask reschedules it)
or fails at once with a message naming the backend and the cause -- never a hang; the
next run on that backend works, and no process is left behind."""

import functools
import os
import signal
import threading
import time

import pytest

from bench_lib import backends
from bench_lib.backends import _worker

TASKS, HOLD = 8, 1.0  # 8 tasks of 1 s on 2 workers: ~4 s of work; the kill comes at 0.5 s
RECOVERS = {"ray", "dask"}
BOUND = {"ray": 120, "dask": 90}  # engine recovery: a new worker process, the task again


@pytest.mark.parametrize("name", ["multiprocessing", "loky", "joblib-multiprocessing", "ray", "dask"])
def test_a_killed_worker_fails_clearly_or_recovers(name, no_children_left):
    engine = backends.get(name, 2)
    try:
        engine.warm(())
        victim = engine.worker_pids[0]
        task = functools.partial(_worker.warm_up, (), 1)
        timer = threading.Timer(0.5, os.kill, (victim, signal.SIGKILL))
        started = time.monotonic()
        timer.start()
        try:
            pids = engine.map(task, [HOLD] * TASKS)
            outcome = None
        except backends.BackendError as exc:
            outcome = exc
        finally:
            timer.join()
        took = time.monotonic() - started
        if name in RECOVERS:
            assert outcome is None, f"{name} should recover by itself: {outcome}"
            assert len(pids) == TASKS and victim not in pids[-1:]
            assert took < BOUND[name]
        else:
            assert isinstance(outcome, backends.base.WorkerDied), outcome
            text = str(outcome)
            assert text.startswith(name) and ("SIGKILL" in text or "TerminatedWorkerError" in text), text
            assert took < 30, f"{name} took {took:.0f} s to notice"
            assert engine.closed  # a broken pool is not handed out again
    finally:
        engine.close()
    with backends.get(name, 2) as again:  # the next run works normally
        assert len(again.map(functools.partial(_worker.warm_up, (), 1), [0.0] * 4)) == 4
