"""``python -m bench_lib compare BASE NEW``: a regression gate on ratios, not times.

Absolute times on cloud VMs drift by tens of percent between runs; a speedup is measured
interleaved with its serial side in one process (scaling.Ratios), so both sides drift
together. Where both result sets carry the speedup's interval (the points file), a change is
a regression only when the whole interval of new / base lies below ``1 / factor``; where
one lacks it (results from before intervals), when ``new < base / factor``. Only speedups
are gated (``TRACKED``); efficiency is the speedup over a ceiling and is not. A result set
is a results folder (the newest value of each combination, as the report reads it), one asv
result file, a commit hash (prefix) looked up in ``results/<machine>/``, or a run id from
the points file (two runs of one commit: an A/A comparison).

Interleaving survives noise within a session, not a change of the host under it: where the
arithmetic gets faster and an engine's per-task cost does not, every ratio moves. So the
serial loop's own time is compared too. Where the interval of a workload's serial time,
base / new, lies wholly beyond ``HOST_TOLERANCE`` (1.25) either way, the host changed under
that workload: its speedups are set aside, not gated, and the gate exits ``HOST_CHANGED``
(3). Why 1.25: in the committed same-session pairs (42cc5ba5, 7890cffe, bdfb4bc4) no
workload's serial interval lies more than 1.11x beyond 1; in the pair seven hours apart
(92370b79, 0ea1de8f) every workload's lies at least 1.36x beyond it (filter_bank 1.91x).
1.25 is about twice the largest same-session excess on the log scale and below the
smallest host change seen. A change of measurement method (the allocator discipline a
point records) and a change of the variant a backend ran are named the same way: neither
is a regression, and both exit ``HOST_CHANGED`` where nothing regressed."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from bench_lib.measure import protocol
from bench_lib.publish import report as rep
from bench_lib.publish.result_sets import result_set  # noqa: F401  (compare's API: what BASE and NEW name)

TRACKED = (rep.SPEEDUP,)  # higher is better
KEY = ("workload", "backend", "n_workers", "variant")
HOST_TOLERANCE = 1.25  # serial times this far apart beyond their intervals: another host (docstring)
HOST_CHANGED = 3  # exit status: nothing regressed, but the host, the method or a variant changed
DESCRIPTION = f"""\
Gate the speedups of NEW against BASE: a regression is a speedup whose whole 95%
interval of new / base lies below 1 / --factor (without intervals: new < base / factor).
Only speedups are gated; efficiency is not.

A ratio moves when the host under it changes, so each workload's serial loop time is
compared too: where the interval of base / new serial time lies wholly beyond a factor
{HOST_TOLERANCE:g} either way, that workload's speedups are not gated ("host changed").
Why {HOST_TOLERANCE:g}: the committed same-session pairs' serial times lie at most 1.11x
apart beyond their intervals, the pair seven hours apart (92370b79, 0ea1de8f) at least
1.36x. A change of allocator discipline ("method changed") or of a backend's variant is
named, not gated.

exit status: 0 nothing fell; 1 a regression or a missing point; 2 bad input;
{HOST_CHANGED} nothing regressed, but the host, the method or a variant changed (compare
runs of one session, measured the same way)."""


@dataclass
class Change:
    benchmark: str
    params: dict
    base: float
    new: float
    interval: protocol.Interval | None = None  # of new / base, where both have intervals

    @property
    def ratio(self) -> float:
        return self.new / self.base

    def worse(self, factor: float) -> bool:
        """Fell by more than ``factor``: the whole interval below 1/factor where known."""
        if self.interval is not None and math.isfinite(self.interval.high):
            return self.interval.high < 1 / factor
        return self.new < self.base / factor

    def __str__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        text = f"{self.benchmark}({shown}): {self.base:.2f}x -> {self.new:.2f}x ({self.ratio - 1:+.0%}"
        if self.interval is not None and math.isfinite(self.interval.high):
            text += f", interval {self.interval.low - 1:+.0%} .. {self.interval.high - 1:+.0%}"
        return text + ")"


def interval(record: dict) -> protocol.Interval:
    low, high = record.get("ci") or (None, None)
    nan = math.nan
    return protocol.Interval(record["value"], nan if low is None else low, nan if high is None else high,
                             record.get("pairs", 0))


def speedups(machine: rep.Machine) -> dict[tuple, dict]:
    """The newest speedup point of each (workload, backend, n_workers, variant): later lines win."""
    return {tuple(r[k] for k in KEY): r for r in machine.points if r.get("kind") == "speedup"}


def method(record: dict) -> str:
    """The allocator discipline a point was measured under: ``default`` (glibc's) where the
    record names none, as no point did before the discipline was recorded."""
    return record.get("malloc", "default")


@dataclass(frozen=True)
class Shift:
    """The serial loop of ``workload`` at ``n_workers`` ran ``faster`` times as fast in new
    as in base (base time / new time, with its interval)."""

    workload: str
    n_workers: int
    faster: protocol.Interval

    def __str__(self) -> str:
        x = self.faster.estimate
        return f"serial {x:.1f}x faster" if x >= 1 else f"serial {1 / x:.1f}x slower"


def serial_times(speedups: dict[tuple, dict]) -> dict[tuple[str, int], protocol.Interval]:
    """Each (workload, n_workers)'s serial loop time: the geometric mean, with its t interval,
    of the serial samples of every distinct measurement among ``speedups`` (the backends of
    one group share one), where the points carry their samples."""
    pooled: dict[tuple[str, int], dict[tuple, None]] = {}
    for r in speedups.values():
        serial = (r.get("samples_s") or {}).get("top")  # a speedup is serial (top) / backend (bottom)
        if serial:
            pooled.setdefault((r["workload"], r["n_workers"]), {})[tuple(serial)] = None
    return {key: protocol.log_interval([math.log(t) for samples in sets for t in samples])
            for key, sets in pooled.items()}


def host_shifts(before: dict[tuple, dict], after: dict[tuple, dict],
                tolerance: float = HOST_TOLERANCE) -> list[Shift]:
    """The (workload, n_workers) whose serial time, base / new, lies wholly beyond
    ``tolerance`` either way: the host under them changed. Unknown intervals are no shift."""
    old, new = serial_times(before), serial_times(after)
    shifts = []
    for key in sorted(old.keys() & new.keys()):
        faster = protocol.product_interval(old[key], new[key], power=-1)
        if faster.low > tolerance or faster.high < 1 / tolerance:
            shifts.append(Shift(*key, faster))
    return shifts


@dataclass
class Gate:
    """What ``compare`` found: the changes gated against the factor and those that fell
    below it, the points that went missing, and what was set aside and why."""

    changes: list[Change] = field(default_factory=list)
    worse: list[Change] = field(default_factory=list)
    missing: list[tuple[str, dict]] = field(default_factory=list)
    shifts: list[Shift] = field(default_factory=list)  # the host changed under these
    methods: dict[tuple[str, str], int] = field(default_factory=dict)  # (base, new) allocator: points
    variants: list[tuple[dict, str, str]] = field(default_factory=list)  # (point, base's, new's variant)
    set_aside: list[Change] = field(default_factory=list)  # not gated: host or method changed

    @property
    def status(self) -> int:
        """0 nothing fell, 1 a regression or a missing point, HOST_CHANGED when nothing
        regressed but some ratios were not comparable (host, method or variant changed)."""
        if self.worse or self.missing:
            return 1
        return HOST_CHANGED if self.shifts or self.methods or self.variants else 0

    def notes(self) -> list[str]:
        """One line per reason ratios were set aside rather than gated."""
        lines = []
        if self.shifts:
            several = {s.workload for s in self.shifts if sum(t.workload == s.workload for t in self.shifts) > 1}
            named = [f"{s} ({s.workload}" + (f" at n={s.n_workers})" if s.workload in several else ")")
                     for s in self.shifts]
            lines.append(f"host changed: {', '.join(named)}; compare runs of one session")
        if self.methods:
            moves = ", ".join(f"allocator {a} -> {b}" for a, b in self.methods)
            lines.append(f"method changed: {moves} ({sum(self.methods.values())} speedups not gated); "
                         "compare runs measured the same way")
        for params, a, b in self.variants:
            shown = ", ".join(f"{k}={v!r}" for k, v in params.items())
            lines.append(f"variant changed: {rep.SPEEDUP}({shown}): {a} -> {b} (another run is measured: not gated)")
        return lines


def _speedup_gate(base: rep.Machine, new: rep.Machine, factor: float) -> Gate:
    """The gate on measured speedups (points), keyed by workload, backend, n_workers and
    variant; a change of host or method under a point sets it aside."""
    before, after = speedups(base), speedups(new)
    alike = [k for k in before if k in after and method(before[k]) == method(after[k])]
    found = Gate(shifts=host_shifts({k: before[k] for k in alike}, {k: after[k] for k in alike}))
    shifted = {(s.workload, s.n_workers) for s in found.shifts}
    for key, old in before.items():
        params = dict(zip(KEY, key))
        where = {k: v for k, v in params.items() if k != "variant"}
        now = after.get(key)
        if now is None:
            others = sorted({k[3] for k in after if k[:3] == key[:3]})
            if others:
                found.variants.append((where, key[3], "/".join(others)))
            else:
                found.missing.append((rep.SPEEDUP, where))
            continue
        change = Change(rep.SPEEDUP, params, old["value"], now["value"],
                        protocol.product_interval(interval(now), interval(old), power=-1))
        moved = (method(old), method(now))
        if moved[0] != moved[1]:
            found.methods[moved] = found.methods.get(moved, 0) + 1
            found.set_aside.append(change)
        elif (key[0], key[2]) in shifted:
            found.set_aside.append(change)
        else:
            found.changes.append(change)
    found.worse = [c for c in found.changes if c.worse(factor)]
    return found


def gate(base: rep.Machine, new: rep.Machine, factor: float) -> Gate:
    """The regression gate of ``new`` against ``base`` (the module's docstring says how)."""
    if factor < 1:
        raise ValueError(f"factor must be >= 1 (a drop to 1/factor fails), got {factor}")
    if speedups(base) and speedups(new):  # other points (ceilings, load windows) are not compared
        return _speedup_gate(base, new, factor)
    found = Gate()
    for name in TRACKED:
        old_series = base.series.get(name)
        if old_series is None:
            continue
        new_series = new.series.get(name)
        now = {tuple(sorted(p.items())): v for p, v in new_series.combos()} if new_series else {}
        for params, before in old_series.combos():
            value = now.get(tuple(sorted(params.items())))
            if value is None:
                found.missing.append((name, params))
            elif before > 0:
                found.changes.append(Change(name, params, before, value))
    found.worse = [c for c in found.changes if c.worse(factor)]
    return found


def compare(base: rep.Machine, new: rep.Machine, factor: float):
    """(tracked ratios gated in both, those that fell by more than ``factor``, and the
    (benchmark, params) measured in ``base`` but missing or failed in ``new``): :func:`gate`."""
    found = gate(base, new, factor)
    return found.changes, found.worse, found.missing


# -- do two result sets tell the same story? ---------------------------------------------------
AGREE = 0.05  # two measurements of one speedup agree within 5%, or where their intervals overlap


def agrees(a: dict, b: dict, within: float = AGREE) -> bool:
    """Two records of one speedup agree: values within ``within`` of each other, or
    intervals that overlap."""
    if abs(b["value"] / a["value"] - 1) <= within:
        return True
    return interval(a).overlaps(interval(b))


def winner(records: list[dict]) -> str:
    """The backend a set of speedup points recommends: the fastest at the most workers,
    the loop where none beats it, and 'tie: x/y/...' (in name order) for every backend whose
    interval overlaps the fastest one's: those cannot be told apart. A backend measured
    slower than the loop is never in the tie, as the report's verdict never recommends it."""
    top = max(r["n_workers"] for r in records)
    ranked = sorted((r for r in records if r["n_workers"] == top), key=lambda r: -r["value"])
    best = ranked[0]
    if best["value"] < 1.0:
        return "serial"
    tied = [r["backend"] for r in ranked[1:] if r["value"] >= 1.0 and interval(best).overlaps(interval(r))]
    return "tie: " + "/".join(sorted([best["backend"], *tied])) if tied else best["backend"]


def members(recommended: str) -> set[str]:
    """The backends a :func:`winner` names: one, or every member of a tie."""
    return set(recommended.removeprefix("tie: ").split("/"))


def change(before: str, after: str) -> str:
    """How two runs' recommendations differ: '' (the same), 'tie members differ' (a backend
    tied with the best in one run only: a borderline interval, the runs do not contradict
    each other) or 'CHANGED' (no backend recommended by both)."""
    if before == after:
        return ""
    return "tie members differ" if members(before) & members(after) else "CHANGED"


def agreement(base: rep.Machine, new: rep.Machine) -> tuple[int, int, dict[str, tuple[str, str]]]:
    """(speedups that agree, speedups in both, workload -> (base's winner, new's winner))."""
    before, after = speedups(base), speedups(new)
    both = [k for k in before if k in after]
    agreed = sum(agrees(before[k], after[k]) for k in both)
    winners = {}
    for workload in sorted({k[0] for k in both}):
        pick = [[r for k, r in side.items() if k[0] == workload and k in after and k in before]
                for side in (before, after)]
        winners[workload] = (winner(pick[0]), winner(pick[1]))
    return agreed, len(both), winners
