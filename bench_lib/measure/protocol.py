"""The measurement protocol every compared figure goes through: how one sample is timed,
how the sides of a ratio are interleaved, when to stop, the interval, and the
foreign-load guard.

Why paired: absolute times on cloud VMs drift by tens of percent within minutes. Two
sides timed in the same round, seconds apart, drift together, so their ratio is stable
where their times are not. Every round times every arm once, in an order that rotates
from round to round (S B1 B2, B1 B2 S, B2 S B1, ...), so no arm always runs first.

The ratio of arm X over arm Y is the geometric mean of the per-round ratios
``X_i / Y_i``, and its 95% interval is Student's t interval on their logarithms,
exponentiated (log-ratios of timings are close to normal; the interval of a ratio is then
multiplicative, as a speedup's uncertainty is). Kalibera & Jones (ISMM 2013) use the
same unit of repetition: the round, not the single sample.

A sample taken while processes outside this run used the CPU, or while the hypervisor
stole it, is thrown away and taken again (a bounded number of times): the foreign-load
guard. Everything here is engine-free and pure apart from the clock and /proc, so its
unit tests are fast enough for mutation testing.
"""

from __future__ import annotations

import gc
import math
import os
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping

from bench_lib import config

LEVEL = 0.95
TARGET_HALF_WIDTH = 0.03  # stop once the interval is within +-3% of the ratio
MIN_ROUNDS = 3
FOREIGN_CPU_LIMIT = 0.10  # cores' worth of CPU used by processes outside the run
STEAL_LIMIT = 0.05  # share of the machine's CPU time stolen by the hypervisor
RETRIES = 3  # discarded samples retaken per sample, at most
MAX_ROUNDS = 400  # fast points stop here; slow ones reach their time cap first
# CPU times are counted in clock ticks: any process that ran at all shows up as at least
# one tick, which in a 40 ms sample alone would look like a quarter of a core. Two ticks
# of foreign CPU are always allowed on top of the limit.
TICK_SLACK_S = 2 / os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 0.02
# Steal is counted in the same ticks, summed over all CPUs: a 50 ms sample on 2 CPUs spans
# about 10, so one tick of steal (flushed from the hypervisor's clock at a tick, however
# long ago it accrued) reads as 10%. Two ticks of steal are allowed on top of the limit too.
STEAL_SLACK_TICKS = 2


# -- one sample ---------------------------------------------------------------------------
def timed(fn: Callable[[], object], clock: Callable[[], float] = time.perf_counter) -> float:
    """Wall seconds of one call of ``fn``, with the garbage collector off, as asv's own
    ``time_*`` samples are taken: one timing discipline for every figure compared."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        started = clock()
        fn()
        return clock() - started
    finally:
        if enabled:
            gc.enable()


# -- statistics ---------------------------------------------------------------------------
def t_quantile(p: float, dof: int) -> float:
    """Student's t quantile (scipy's, imported late: this module stays light)."""
    from scipy.stats import t

    return float(t.ppf(p, dof))


@dataclass(frozen=True)
class Interval:
    """A ratio with its interval: ``estimate`` in [``low``, ``high``] at ``level``,
    from ``pairs`` paired rounds. With fewer than two rounds the bounds are unknown (nan)."""

    estimate: float
    low: float
    high: float
    pairs: int
    level: float = LEVEL

    @property
    def half_width(self) -> float:
        """Half the interval's width as a fraction of the estimate (inf when unknown)."""
        if math.isnan(self.low) or math.isnan(self.high):
            return math.inf
        return (self.high - self.low) / 2 / self.estimate

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def overlaps(self, other: "Interval") -> bool:
        return self.low <= other.high and other.low <= self.high


def log_interval(logs: list[float], level: float = LEVEL) -> Interval:
    """Geometric mean and t interval of values given by their logarithms."""
    n = len(logs)
    if n == 0:
        raise ValueError("no samples")
    centre = statistics.fmean(logs)
    if n < 2:
        return Interval(math.exp(centre), math.nan, math.nan, n, level)
    spread = t_quantile(0.5 + level / 2, n - 1) * statistics.stdev(logs) / math.sqrt(n)
    return Interval(math.exp(centre), math.exp(centre - spread), math.exp(centre + spread), n, level)


def ratio_interval(top: list[float], bottom: list[float], level: float = LEVEL) -> Interval:
    """Ratio ``top / bottom`` of paired samples (round i of one with round i of the other)."""
    if len(top) != len(bottom):
        raise ValueError(f"paired samples differ in length: {len(top)} and {len(bottom)}")
    if any(x <= 0 for x in (*top, *bottom)):
        raise ValueError("times must be positive")
    return log_interval([math.log(a / b) for a, b in zip(top, bottom)], level)


def product_interval(first: Interval, second: Interval, power: int = 1) -> Interval:
    """``first * second**power`` of two independent measurements: their log half-widths
    add in quadrature (efficiency = speedup / ceiling is ``power=-1``; a change between
    runs, new / base, too)."""
    estimate = first.estimate * second.estimate ** power
    pairs = min(first.pairs, second.pairs)
    wide = [_log_half(i) for i in (first, second)]
    if math.inf in wide:
        return Interval(estimate, math.nan, math.nan, pairs, first.level)
    spread = math.hypot(*wide)
    return Interval(estimate, estimate * math.exp(-spread), estimate * math.exp(spread), pairs, first.level)


def _log_half(interval: Interval) -> float:
    if math.isnan(interval.low) or math.isnan(interval.high):
        return math.inf
    return (math.log(interval.high) - math.log(interval.low)) / 2


# -- the foreign-load guard ----------------------------------------------------------------
@dataclass(frozen=True)
class Load:
    """What the rest of the machine did while one sample was timed."""

    wall_s: float
    foreign_cpu_s: float  # CPU time of processes outside this run's process tree
    steal: float  # share of all CPUs' time the hypervisor took
    ticks: int = 0  # all CPUs' clock ticks over the sample, that share's denominator (0: unknown)

    @property
    def foreign_cores(self) -> float:
        return self.foreign_cpu_s / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def foreign_cores_resolved(self) -> float:
        return beyond_ticks(self.foreign_cpu_s, self.wall_s)

    def quiet(self, cpu_limit: float = FOREIGN_CPU_LIMIT, steal_limit: float = STEAL_LIMIT) -> bool:
        slack = STEAL_SLACK_TICKS / self.ticks if self.ticks > 0 else 0.0
        return self.foreign_cpu_s <= cpu_limit * self.wall_s + TICK_SLACK_S and self.steal <= steal_limit + slack


def beyond_ticks(foreign_cpu_s: float, wall_s: float) -> float:
    """Foreign cores beyond the two clock ticks any sample may show (0 within them): one
    10 ms tick in a 2 ms sample would read as 5 cores of a quiet machine."""
    return max(0.0, foreign_cpu_s - TICK_SLACK_S) / wall_s if wall_s > 0 else 0.0


def steal_share(before: tuple[int, int], after: tuple[int, int]) -> float:
    """Stolen share of CPU time between two (steal, total) tick counts of /proc/stat."""
    total = after[1] - before[1]
    return (after[0] - before[0]) / total if total > 0 else 0.0


def proc_stat(path: str = "/proc/stat") -> tuple[int, int]:
    """(steal, total) jiffies over all CPUs, from /proc/stat's first line."""
    try:
        with open(path) as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except OSError:  # not Linux: no steal to see
        return (0, 0)
    # user nice system idle iowait irq softirq steal [guest guest_nice, already in user]
    return (fields[7] if len(fields) > 7 else 0, sum(fields[:8]))


def foreign_cpu(before: Mapping[tuple[int, float], float], after: Mapping[tuple[int, float], float]) -> float:
    """CPU seconds spent between two snapshots by processes outside the run. Keys are
    (pid, create time), so a reused pid is a new process, counted from zero."""
    return sum(cpu - before.get(key, 0.0) for key, cpu in after.items())


class Guard:
    """Snapshots of every process's CPU time except the run's own -- this process's tree (its
    engine workers included) and the trees of the clusters ``run --engines once`` started for
    the whole run (``also``: their root pids) -- and of the steal counter, around each sample."""

    def __init__(self, root: int | None = None, also: list[int] | None = None):
        import psutil

        self._psutil = psutil
        self._root = psutil.Process(root or os.getpid())
        self._also = list(config.run_cluster_pids() if also is None else also)

    def snapshot(self) -> tuple[dict[tuple[int, float], float], tuple[int, int], float]:
        rows = []
        for p in self._psutil.process_iter(["pid", "ppid", "create_time", "cpu_times"]):
            info = p.info
            rows.append((info["pid"], info["ppid"], info["create_time"], info.get("cpu_times")))
        own = descendants({self._root.pid, *self._also}, [(pid, ppid) for pid, ppid, _, _ in rows])
        cpu = {}
        for pid, _, created, times in rows:
            if pid in own or times is None:
                continue
            cpu[(pid, created)] = times.user + times.system
        return cpu, proc_stat(), time.perf_counter()

    def load(self, before, after) -> Load:
        return Load(after[2] - before[2], foreign_cpu(before[0], after[0]), steal_share(before[1], after[1]),
                    after[1][1] - before[1][1])


def descendants(roots: set[int], parents: list[tuple[int, int]]) -> set[int]:
    """``roots`` and every process below them, from (pid, ppid) pairs of one listing."""
    children: dict[int, list[int]] = {}
    for pid, ppid in parents:
        children.setdefault(ppid, []).append(pid)
    found, todo = set(roots), list(roots)
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


class NoGuard:
    """Takes every sample as quiet (tests of the arithmetic; a machine that cannot see
    its processes)."""

    def snapshot(self):
        return None

    def load(self, before, after) -> Load:
        return Load(1.0, 0.0, 0.0)


def guard(on: bool = True):
    """The foreign-load guard, or :class:`NoGuard` where the run cannot see other processes
    (``PARBENCH_GUARD=off``: a container without its host's /proc)."""
    return Guard() if on else NoGuard()


# -- the rounds -----------------------------------------------------------------------------
def rotation(names: list[str], round_index: int) -> list[str]:
    """Round ``i``'s order: the arms rotated left by ``i``."""
    k = round_index % len(names)
    return names[k:] + names[:k]


@dataclass
class Measurement:
    """The samples of every arm, aligned by round, and how they were taken."""

    times: dict[str, list[float]]
    discarded: int = 0
    noisy: int = 0  # samples kept although never quiet (retries ran out)
    precise: bool = False
    stopped: str = ""  # "precise", "time cap" or "max rounds"
    loads: list[Load] = field(default_factory=list)
    # per arm, the page faults of each kept sample (bench_lib.backends.allocator.delta), when metered
    faults: dict[str, list[dict]] = field(default_factory=dict)

    @property
    def rounds(self) -> int:
        return min((len(v) for v in self.times.values()), default=0)

    @property
    def quiet(self) -> bool:
        return self.noisy == 0

    def ratio(self, top: str, bottom: str) -> Interval:
        return ratio_interval(self.times[top], self.times[bottom])

    def center(self, arm: str) -> float:
        """The arm's geometric mean time: the ratio of two arms' centres is exactly the
        estimate of their paired ratio, so a time and a speedup shown together agree."""
        return math.exp(statistics.fmean(math.log(t) for t in self.times[arm]))


def guarded(fn: Callable[[], object], guard, clock, retries: int, out: Measurement,
            meter=None, arm: str = "") -> float:
    """One sample of ``fn``, retaken while the machine was not quiet (``retries`` times); with
    a ``meter`` (bench_lib.backends.allocator.Meter), the kept sample's page faults go to ``out.faults``."""
    for attempt in range(retries + 1):
        before = guard.snapshot()
        counted = meter.read() if meter is not None else None
        seconds = timed(fn, clock)
        if meter is not None:
            faults = meter.delta(counted, meter.read())
        load = guard.load(before, guard.snapshot())
        out.loads.append(load)
        if load.quiet() or attempt == retries:
            break
        out.discarded += 1
    if meter is not None:
        out.faults.setdefault(arm, []).append(faults)
    if not load.quiet():
        out.noisy += 1
    return seconds


def measure(arms: Mapping[str, Callable[[], object]], baseline: str, *,
            target: float = TARGET_HALF_WIDTH, min_rounds: int = MIN_ROUNDS, max_rounds: int = MAX_ROUNDS,
            time_cap_s: float = 60.0, guard=None, retries: int = RETRIES,
            clock: Callable[[], float] = time.perf_counter, meter=None) -> Measurement:
    """Rounds of every arm in rotating order until each arm's ratio to ``baseline`` is
    within ``target`` (half-width, relative) after ``min_rounds``, or the time cap or
    ``max_rounds`` is reached, whichever comes first. A ``meter`` counts each kept sample's
    page faults (outside its timed call, like the guard's snapshots)."""
    names = list(arms)
    if baseline not in arms or len(names) < 2:
        raise ValueError(f"need a baseline among at least two arms, got {names} and {baseline!r}")
    if min_rounds < 2 or max_rounds < min_rounds:
        raise ValueError(f"need 2 <= min_rounds <= max_rounds, got {min_rounds}, {max_rounds}")
    guard = NoGuard() if guard is None else guard
    out = Measurement({name: [] for name in names})
    started = clock()
    for i in range(max_rounds):
        for name in rotation(names, i):
            out.times[name].append(guarded(arms[name], guard, clock, retries, out, meter, name))
        if i + 1 < min_rounds:
            continue
        if all(out.ratio(baseline, other).half_width <= target for other in names if other != baseline):
            out.precise, out.stopped = True, "precise"
            return out
        if clock() - started >= time_cap_s:
            out.stopped = "time cap"
            return out
    out.stopped = "max rounds"
    return out
