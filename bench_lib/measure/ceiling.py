"""The machine's ceiling: how much faster n copies of a workload's serial work finish side
by side than one after another, with no engine and no transfer at all.

``measure(workload, n)`` keeps n copy processes ready, each warmed up on the workload's
inputs. Where the workload's best variant shares one input across workers, the parent
builds that input once and the copies inherit it (``fork``): they read one copy of it, as
shared workers do, so an efficiency above 1 means something real. Elsewhere (a model each
worker loads for itself) every copy is started clean (``spawn``) and builds its own.

Each round of the protocol (bench_lib.measure.protocol) times two arms, interleaved:
``alone``    one copy runs ``n x loops`` loops;
``together`` every copy runs ``loops`` loops at once (the last one to finish ends it).
ceiling = alone / together, with the protocol's interval. A compute-bound task reaches ~n;
one limited by memory bandwidth or a shared cache stays below, and no backend sharing the
input the same way can beat that on this machine.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import time
from dataclasses import dataclass

from bench_lib import config, workloads
from bench_lib.backends import allocator, _worker
from bench_lib.backends._pool import main_not_reimported, reap
from bench_lib.measure import protocol

TIMEOUT = 1800.0  # seconds a copy may take to answer, past which the copies are killed
READY_TIMEOUT = 600.0  # seconds for a copy to build its inputs and warm up


class CeilingError(RuntimeError):
    """A copy failed, died or did not answer; the message names the workload and the cause."""


def shares_input(name: str) -> bool:
    """Whether the workload's best variant shares one input across workers (``shared``)."""
    return workloads.SHARED in workloads.get(name).variants


@dataclass(frozen=True)
class Ceiling:
    workload: str
    n: int
    params: dict
    loops: int  # loops per copy in ``together`` (``alone`` runs n times as many)
    shared: bool  # the copies read one input inherited from the parent
    measurement: protocol.Measurement | None  # None at n=1: 1 by definition

    def interval(self) -> protocol.Interval:
        if self.measurement is None:
            return protocol.Interval(1.0, 1.0, 1.0, 0)
        return self.measurement.ratio("alone", "together")

    @property
    def speedup(self) -> float:
        return self.interval().estimate


def loops_for(seconds_one_loop: float, min_seconds: float) -> int:
    """Loops per copy so that one copy's share of a round lasts at least ``min_seconds``."""
    if not seconds_one_loop > 0:
        raise ValueError(f"a loop took {seconds_one_loop!r} s")
    return max(1, math.ceil(min_seconds / seconds_one_loop))


# -- engine-driving: exercised with real engines (tests/test_engines.py, test_ceiling.py,
# test_harness.py), too slow for mutation testing, which covers the arithmetic above.
# pragma: no mutate block
def _serve(conn, name: str, size: str, params: dict, threads: int, inputs, faults_in: str | None = None) -> None:
    """One copy: build (unless inherited) and warm its inputs, then run ``loops`` loops of
    the serial work each time it is told, answering with its seconds, until told None.
    With ``faults_in``, the loops' page faults are tallied there (bench_lib.backends.allocator)."""
    try:
        _worker.limit_threads(threads)
        wl = workloads.get(name)
        built = inputs is None
        if built:
            inputs = wl.inputs(size, **params)
        serial_loop = wl.serial_loop
        if faults_in is not None:
            serial_loop = allocator.Counted(wl.serial_loop, faults_in)
        serial_loop(inputs)  # imports, caches, lazy loading: not part of any sample
        conn.send(("ready", built))
        while (loops := conn.recv()) is not None:
            began = time.monotonic()  # one clock for every process of the machine
            for _ in range(loops):
                serial_loop(inputs)
            conn.send(("done", (began, time.monotonic())))
    except BaseException as exc:  # the parent must hear about it rather than wait
        try:
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
        except OSError:
            pass
        raise


def _tracker_pid() -> int | None:
    """The pid of this process's multiprocessing resource tracker, if it started one."""
    from multiprocessing import resource_tracker

    return getattr(resource_tracker._resource_tracker, "_pid", None)


def _stop_tracker(pid: int, grace: float = 2.0) -> None:
    """Stop the resource tracker ``pid`` that spawning the copies launched, and only it.

    Spawned copies need a tracker; the first spawn launches one that would otherwise
    outlive the copies as an orphan. One that was already running is someone else's: it
    may hold semaphores still in use (an engine's, an executor's), and closing it makes
    it unlink them as "leaked", after which their owners' own unlink fails with
    ``FileNotFoundError`` tracebacks. (``backends._pool.stop_resource_trackers`` stops
    every tracker, loky's too, whoever started it.) A tracker exits once every process
    holding its pipe closed it; one still up after ``grace`` is killed.
    """
    from multiprocessing import resource_tracker

    tracker = resource_tracker._resource_tracker
    with tracker._lock:
        if tracker._pid != pid or tracker._fd is None:
            return  # already stopped or replaced
        os.close(tracker._fd)
        tracker._fd = tracker._pid = None
    reap(pid, grace)


@contextlib.contextmanager
def environment(environ: dict | None):
    """This process's environment replaced by ``environ`` while a child is spawned (it
    starts with the environment of that moment), then restored."""
    if environ is None:
        yield
        return
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class Copies:
    """``n`` copy processes of one workload, ready to run its serial work on command. With
    ``environ``, each copy starts clean (``spawn``) with that environment instead of this
    process's, builds its own inputs, and tallies its faults in ``faults_in``: a copy under
    another allocator discipline (bench_lib.backends.allocator) than this process's."""

    def __init__(self, name: str, n: int, params: dict | None = None, size: str | None = None,
                 environ: dict | None = None, faults_in: str | None = None):
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        self.name, self.n = name, n
        size, params = size or config.size(), dict(params or {})
        self.shared = shares_input(name) and environ is None
        inputs = workloads.get(name).inputs(size, **params) if self.shared else None
        ctx = multiprocessing.get_context("fork" if self.shared else "spawn")
        self.conns, self.procs = [], []
        self._tracker = None  # pid of the resource tracker these copies started, if any
        tracker_before = _tracker_pid()
        try:
            for _ in range(n):
                mine, theirs = ctx.Pipe()
                proc = ctx.Process(target=_serve, daemon=True,
                                   args=(theirs, name, size, params, config.threads_per_worker(), inputs, faults_in))
                try:
                    with main_not_reimported(), environment(environ):  # a script's top level must not run again
                        proc.start()
                finally:  # the first spawn launches a tracker (even if the start then fails)
                    if not self.shared and self._tracker is None and _tracker_pid() != tracker_before:
                        self._tracker = _tracker_pid()  # launched for these copies: ours to stop
                theirs.close()
                self.conns.append(mine)
                self.procs.append(proc)
            self.built = [self._answer(i, READY_TIMEOUT) for i in range(n)]  # own inputs?
        except BaseException:
            self.close()
            raise

    def _answer(self, i: int, timeout: float = TIMEOUT):
        conn, proc = self.conns[i], self.procs[i]
        deadline = time.monotonic() + timeout
        while not conn.poll(0.5):
            if not proc.is_alive():
                raise CeilingError(f"a copy of {self.name} died (exit code {proc.exitcode}) before answering")
            if time.monotonic() > deadline:
                raise CeilingError(f"a copy of {self.name} did not answer within {timeout:.0f} s")
        try:
            kind, value = conn.recv()
        except EOFError:
            raise CeilingError(f"a copy of {self.name} died (exit code {proc.exitcode}) before answering") from None
        if kind == "error":
            raise CeilingError(f"ceiling copy of {self.name} failed: {value}")
        return value

    def alone(self, loops: int) -> float:
        """Copy 0 runs ``loops`` loops while the others wait; its own seconds."""
        self.conns[0].send(loops)
        began, ended = self._answer(0)
        return ended - began

    def together(self, loops: int) -> list[tuple[float, float]]:
        """Every copy runs ``loops`` loops at once; returns, when the last one finished,
        each copy's (began, ended) on the machine's monotonic clock."""
        for conn in self.conns:
            conn.send(loops)
        return [self._answer(i) for i in range(self.n)]

    def close(self) -> None:
        for conn in self.conns:
            try:
                conn.send(None)
            except OSError:
                pass
        for proc in self.procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
                proc.join()
        for conn in self.conns:
            conn.close()
        self.conns, self.procs = [], []
        if self._tracker is not None:
            _stop_tracker(self._tracker)
            self._tracker = None

    def __enter__(self) -> "Copies":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def measure(name: str, n: int, params: dict | None = None, min_seconds: float = 1.0,
            size: str | None = None, **options) -> Ceiling:
    """The ceiling at ``n`` through the protocol; ``options`` go to :func:`protocol.measure`.
    ``n=1`` is 1 by definition (one copy against one copy) and measures nothing."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if n == 1:
        return Ceiling(name, 1, dict(params or {}), 0, shares_input(name), None)
    with Copies(name, n, params, size) as copies:
        loops = loops_for(copies.alone(1), min_seconds)
        arms = {"alone": lambda: copies.alone(n * loops), "together": lambda: copies.together(loops)}
        m = protocol.measure(arms, "together", **options)
        return Ceiling(name, n, dict(params or {}), loops, copies.shared, m)
