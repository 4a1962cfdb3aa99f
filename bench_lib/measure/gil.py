"""How much of a workload's run holds the GIL: the part no number of threads can overlap.

It is measured with one worker, so a forecast fitted on n_workers=1 alone can tell a
thread pool's serial part (bench_lib.publish.forecast). The run executes in a thread while this
thread counts a pure-Python loop (the probe). Of the run's time, a part

- ``a`` holds the GIL in C code: the probe cannot count, the run is not slowed;
- ``b`` has released it (numpy, scipy, TensorFlow kernels): the probe counts at full rate;
- ``c`` runs Python bytecode: the two threads take turns, so the probe counts for ``c``
  and the run's part doubles to ``2c``.

So the probed run lasts ``T_p = a + b + 2c``, the probe counts at a share ``P`` of its rate
alone with ``P x T_p = b + c``, and the run alone lasts ``T = a + b + c``. The part that
holds the GIL, ``(a + c) / T``, is then ``(1 - P) x T_p / T``: 1 for bytecode or C that
holds the GIL, 0 for work that releases it. The probe needs a core of its own: measured
with the workers' BLAS thread limit, on a machine of 2 cores or more.

The GIL is not the only thing a second thread can wait for: a library may serialise its
calls with a lock of its own (SciPy evaluates every spline under one ``FITPACK_LOCK``), and
a pure-Python probe runs freely beside it. Given a ``probe`` -- a tiny call through the same
lock, which a workload names (``Workload.lock_probe``) -- the probe thread makes that call
at every count, and the same arithmetic gives the share of the run inside that lock or the
GIL: ``a`` then reads "holds what the probe needs".
"""

from __future__ import annotations

import functools
import math
import statistics
import threading
import time
from dataclasses import dataclass
from typing import Callable

from bench_lib.measure import protocol

ROUNDS = 7  # alone / probed pairs; the medians of each are used
MIN_ROUNDS = 3
MIN_S = 0.3  # a run lasts at least this long (short functions are called in a loop)
BUDGET_S = 60.0  # a long run gets fewer rounds
IDLE_S = 0.2  # the probe's rate alone (beside a sleeping thread), taken before every probed run


def held_share(alone_s: float, probed_s: float, probe_share: float) -> float:
    """``(1 - P) x T_p / T`` (see the module), clipped to [0, 1]."""
    if not alone_s > 0:
        raise ValueError(f"a run took {alone_s!r} s")
    return min(max((1 - probe_share) * probed_s / alone_s, 0.0), 1.0)


def _probed(fn: Callable[[], object], probe: Callable[[], object] | None = None) -> tuple[float, float]:
    """(seconds of ``fn`` run in a thread, probe iterations per second meanwhile); an
    iteration is a count, and a call of ``probe`` where there is one."""
    done, failed = [], []

    def work():
        try:
            fn()
        except BaseException as exc:  # the caller re-raises it
            failed.append(exc)
        done.append(time.perf_counter())

    count, clock = 0, time.perf_counter
    thread = threading.Thread(target=work, daemon=True)
    started = clock()
    thread.start()
    if probe is None:
        while not done:
            count += 1
    else:
        while not done:
            probe()
            count += 1
    thread.join()
    if failed:
        raise failed[0]
    seconds = done[0] - started
    return seconds, count / seconds


@dataclass(frozen=True)
class Held:
    share: float  # of the run's time that holds the GIL (0..1)
    alone_s: float  # median run alone
    probed_s: float  # median run beside the probe
    probe_share: float  # median probe rate during the run / alone
    rounds: int
    loops: int  # calls of the function per run


def measure(fn: Callable[[], object], rounds: int = ROUNDS, idle_s: float = IDLE_S,
            min_s: float = MIN_S, budget_s: float = BUDGET_S, probe: Callable[[], object] | None = None) -> Held:
    """The GIL-held share of ``fn``, from interleaved pairs (run alone, run beside the probe)
    after one warm-up call: ``rounds``, fewer (3 at least) where they would pass ``budget_s``
    (planned from the run alone, and cut when the probed runs take longer).
    A run is as many calls of ``fn`` as last ``min_s``; the probe's idle rate is the mean of
    one taken just before and one just after each probed run (a VM's core speed drifts).
    With ``probe``, the share of the run inside the lock it takes, or the GIL (see above)."""
    once = max(protocol.timed(fn), 1e-6)
    loops = math.ceil(min_s / once)
    rounds = max(MIN_ROUNDS, min(rounds, math.floor(budget_s / (2 * loops * once))))

    def run():
        for _ in range(loops):
            fn()

    def idle() -> float:
        return _probed(functools.partial(time.sleep, idle_s), probe)[1]  # the probe beside a sleeping thread

    alone, probed, shares = [], [], []
    began = time.perf_counter()
    for k in range(rounds):
        if k >= MIN_ROUNDS and time.perf_counter() - began > budget_s:
            break  # a run the probe slows many times over (a GIL convoy) gets its minimum
        alone.append(protocol.timed(run))
        before = idle()
        seconds, rate = _probed(run, probe)
        probed.append(seconds)
        shares.append(rate / ((before + idle()) / 2))
    a, p, s = statistics.median(alone), statistics.median(probed), statistics.median(shares)
    return Held(held_share(a, p, s), a, p, s, len(alone), loops)
