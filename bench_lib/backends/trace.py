"""Per-task traces: which worker ran each task, when the task was handed to the engine,
when it started and finished, and how long it spent getting its input before computing.

Why: a time says how long a map took, not where the time went -- a worker sitting idle,
tasks waiting to start, one straggler setting the wall time. A traced map answers that.

One clock: ``time.monotonic()`` is Linux's CLOCK_MONOTONIC, shared by every process of a
machine, so stamps taken in the caller and in worker processes compare directly. Across
the nodes of a cluster they do not (each node's clock starts at its own boot): spans
from another host are kept, but the timeline is only meaningful per machine.

Tracing wraps each task (:class:`Traced`) and, on engines that pickle, carries the
naive input as bytes that the task unpickles itself, so unpickling is timed apart from
computing; a shared input is looked up inside the task (:class:`Lookup`). Dask and Ray
resolve their shared handles before a task starts: there the input's arrival is part of
the wait, and ``input_s`` is None. Tracing is off unless :func:`recording` is active, and
never on in a timed sample (asv's or the protocol's).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(frozen=True)
class Span:
    """One task. Times are ``time.monotonic()`` seconds; ``input_s`` is the part of
    started..finished spent unpickling or resolving its input (None: the engine did it)."""

    pid: int
    thread: str
    submitted: float
    started: float
    input_s: float | None
    finished: float


@dataclass
class Trace:
    """The spans of every map made while recording, with what was traced."""

    labels: dict = field(default_factory=dict)
    spans: list[Span] = field(default_factory=list)


_ACTIVE: Trace | None = None


@contextlib.contextmanager
def recording(**labels):
    """Trace every ``Backend.map`` in this process until the block ends."""
    global _ACTIVE
    previous, _ACTIVE = _ACTIVE, Trace(dict(labels))
    try:
        yield _ACTIVE
    finally:
        _ACTIVE = previous


def active() -> Trace | None:
    return _ACTIVE


# -- what a trace says ----------------------------------------------------------------------
def summary(spans: list[Span], n_workers: int) -> dict:
    """Figures read off one map's spans: shares of the workers' time (n_workers x wall,
    wall from the first hand-over to the last finish) spent computing, getting inputs
    and idle; the median wait from hand-over to start; imbalance = the busiest worker's
    busy time / the mean over the ``n_workers`` workers."""
    if not spans:
        raise ValueError("no spans: nothing was traced")
    wall = max(s.finished for s in spans) - min(s.submitted for s in spans)
    busy: dict[tuple[int, str], float] = {}
    for s in spans:
        key = (s.pid, s.thread)
        busy[key] = busy.get(key, 0.0) + (s.finished - s.started)
    inputs = sum(s.input_s or 0.0 for s in spans)
    capacity = wall * n_workers
    total_busy = sum(busy.values())
    return {
        "tasks": len(spans), "workers_seen": len(busy), "wall_s": wall,
        "compute_share": (total_busy - inputs) / capacity,
        "input_share": inputs / capacity,
        "idle_share": 1.0 - total_busy / capacity,
        "median_wait_s": statistics.median(s.started - s.submitted for s in spans),
        "imbalance": max(busy.values()) / (total_busy / n_workers),
    }


# -- engine-driving: exercised with every real engine (tests/test_engines.py); mutation testing
# covers the arithmetic above.
# pragma: no mutate block
class Packed:
    """An input pickled once in the caller; the task unpickles it (timed as input)."""

    def __init__(self, obj: Any):
        self.blob = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)

    def open(self) -> Any:
        return pickle.loads(self.blob)


class Lookup:
    """A shared input's handle, resolved inside the task so the lookup is timed."""

    def __init__(self, handle: Any):
        self.handle = handle

    def open(self) -> Any:
        return self.handle.resolve()  # _worker.SharedKey: fork-inherited or memory-mapped


def _open(value: Any) -> Any:
    return value.open() if isinstance(value, (Packed, Lookup)) else value


class Traced:
    """``fn`` as a task that also returns its :class:`Span`."""

    def __init__(self, fn: Callable, submitted: float, engine_resolves: bool):
        self.fn, self.submitted, self.engine_resolves = fn, submitted, engine_resolves

    def __call__(self, *args):
        started = time.monotonic()
        data, item = args if len(args) == 2 else (None, args[0])
        data, item = _open(data), _open(item)
        ready = time.monotonic()
        result = self.fn(item) if data is None else self.fn(data, item)
        finished = time.monotonic()
        span = Span(os.getpid(), threading.current_thread().name, self.submitted, started,
                    None if self.engine_resolves else ready - started, finished)
        return result, span


def wrap(backend, fn: Callable, items: list, data: Any) -> tuple[Callable, list, Any]:
    """``fn``, ``items`` and ``data`` as a traced map sends them (see the module's doc)."""
    pickles = backend.uses_processes and not backend.in_caller(backend.n_workers)
    # Dask's scattered future and Ray's ObjectRef are resolved by the engine before the task
    # starts, as in an untraced run (a ref resolved inside the task would change how Ray runs it)
    engine_resolves = pickles and type(data).__name__ in ("Future", "ObjectRef")
    if pickles:
        items = [Packed(item) for item in items]
        if data is not None and not engine_resolves:
            data = Lookup(data) if not _is_object(data) else Packed(data)
    return Traced(fn, time.monotonic(), engine_resolves), items, data


def _is_object(data: Any) -> bool:
    """Whether ``data`` is the input itself (naive) rather than a handle from ``share``."""
    return type(data).__name__ not in ("SharedKey", "ObjectRef", "Future")


def unwrap(results: list, trace: Trace) -> list:
    """The results of a traced map, its spans added to ``trace``."""
    trace.spans.extend(span for _, span in results)
    return [result for result, _ in results]
