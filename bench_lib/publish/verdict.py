"""The first line of a workload's block in ``report``: which backend to use here, how sure
the figures are, and why each other backend loses -- in words a user acts on.

A backend is recommended only where its measured speedup is above 1 and its interval
overlaps the leader's; a leader whose interval is wider than ±25% is no winner yet. The
reason given for a losing backend is its largest cause measured on the warm run (the
ceiling, a lock held, shipping the input, moving it, waiting, tasks' overhead, page
faults), never a one-off start cost: a new pool's cost is stated as what it is, once, as is
what the user's own loop pays under glibc's default allocator where that was measured.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from bench_lib import backends, workloads
from bench_lib.results.asv_results import CEILING, GAP, GIL, LOCK, Machine

NEAR = 0.8  # a bound (ceiling, lock) is a backend's cause where it runs within this share of it
CLOSE = 1.05  # speedups from times (no interval) this close are not told apart; a bound's slack
WIDE = 0.25  # a leader's relative half-width above this is no reliable winner
FAULTS_RATIO, FAULTS_MIN = 2.0, 1000  # one arm's page faults per run this much above the other's


@dataclass(frozen=True)
class Cause:
    """One measured reason a warm run falls short of n times the loop; ``share``: the part
    of its run (or of the ideal speedup) it accounts for, None where it is counted, not timed."""

    share: float | None
    text: str


@dataclass(frozen=True)
class Verdict:
    text: str  # the whole line
    use: str  # what to use, for the summary table
    figure: str  # its speedup with interval and worker count
    reason: str  # the one-line reason, for the summary table


def figure(row) -> str:
    """'1.70x [1.55, 1.86]'; '1.30x from separate runs' times' where it was not measured
    interleaved (no interval)."""
    text = f"{row.speedup:.2f}x"
    if row.speedup_ci:
        text += f" [{row.speedup_ci[0]:.2f}, {row.speedup_ci[1]:.2f}]"
    return text if row.measured else text + " from separate runs' times"


def half_width(row) -> float | None:
    """Half the 95% interval relative to the estimate; None without an interval."""
    if not row.speedup_ci or not row.speedup:
        return None
    return (row.speedup_ci[1] - row.speedup_ci[0]) / 2 / row.speedup


def threaded(backend: str) -> bool:
    """A pool of threads in the caller's process (one GIL, the caller's memory); a backend
    this checkout does not know (results of another) is taken for processes."""
    try:
        engine = backends.backend_class(backend)
    except backends.BackendError:
        return False
    return backend != "serial" and engine.shares_memory and not engine.uses_processes


def how(row) -> str:
    """A variant in words; a pool of threads reads the caller's input whichever it is."""
    if threaded(row.backend) and row.variant in ("naive", "shared"):
        return "input shared in memory"
    return {"shared": "shared input", "naive": "input with every task"}.get(row.variant, row.variant)


def malloc(discipline: str) -> str:
    return {"fixed": "fixed malloc thresholds"}.get(discipline, f"{discipline} malloc")


def tied(best, other) -> bool:
    """Two measured speedups whose intervals overlap cannot be told apart; two from times
    (no interval) within 5% of each other are not told apart either."""
    if not (best.measured or other.measured or best.speedup_ci or other.speedup_ci):
        return other.speedup >= best.speedup / CLOSE
    if not (best.speedup_ci and other.speedup_ci):
        return False
    return best.speedup_ci[0] <= other.speedup_ci[1] and other.speedup_ci[0] <= best.speedup_ci[1]


def ceiling_of(machine: Machine, workload: str, n: int, run: str) -> tuple[float, str, str, float] | None:
    """(value, ' [low, high]' or '', where it was measured, its upper bound) of the
    machine's ceiling at n: the table run's own point, else the newest asv value."""
    point = machine.ceiling_point(workload, n, run or None)
    if point is not None:
        low, high = point.get("ci") or [None, None]
        if low is None or high is None:
            return point["value"], "", f"run {run}'s ceiling", point["value"]
        return point["value"], f" [{low:.2f}, {high:.2f}]", f"run {run}'s ceiling", high
    series = machine.series.get(CEILING)
    value = series.get(workload=workload, n_workers=n) if series else None
    if value is None:
        return None
    return value, "", f"asv's ceiling at {series.commit_of(workload=workload, n_workers=n)[:8]}", value


def faults(row) -> tuple[float, float] | None:
    """Median minor page faults per sample of (the loop, the backend) in the row's point."""
    recorded = ((row.record or {}).get("faults") or {})
    top, bottom = ([v for v in (recorded.get(arm) or {}).get("minor") or () if v is not None]
                   for arm in ("top", "bottom"))
    if not top or not bottom:
        return None
    return statistics.median(top), statistics.median(bottom)


def default_malloc(machine: Machine, workload: str, run: str) -> str | None:
    """What the user's own loop pays under glibc's default allocator (scaling.DefaultMalloc:
    the loop's time there over its time under fixed thresholds), of the table's run where
    it has one, else the newest; None where it was not measured."""
    found = [p for p in machine.points if p.get("kind") == "malloc" and p.get("workload") == workload]
    point = ([p for p in found if p.get("run") == run] or found or [None])[-1]
    if point is None or not point.get("value"):
        return None
    low, high = point.get("ci") or [None, None]
    interval = "" if low is None or high is None else f" [{low:.2f}, {high:.2f}]"
    return (f"your own loop under glibc's default malloc takes {point['value']:.2f}x{interval} as long: fixed "
            f"malloc thresholds remove {1 - 1 / point['value']:.0%} of its time (run {point.get('run', '?')})")


def causes(machine: Machine, workload: str, row, run: str) -> list[Cause]:
    """Every measured cause that holds ``row`` back on the warm run, with its size."""
    wl, n, found = workloads.get(workload), row.n_workers, []
    ceiling = ceiling_of(machine, workload, n, run)
    # the ceiling holds back every backend alike: it is a backend's cause only where it runs near it
    if ceiling and ceiling[0] < n and row.speedup is not None and NEAR * ceiling[0] <= row.speedup <= ceiling[0]:
        value, interval, where, _ = ceiling
        found.append(Cause(1 - value / n, f"the machine allows only {value:.2f}x{interval} at {n} workers "
                                          f"(memory-bound: {where})"))
    gil, lock = (machine.value(name, workload=workload) for name in (GIL, LOCK))
    held = max((s for s in (gil, lock) if s is not None), default=None)
    bound = None if held is None else 1 / (held + (1 - held) / n)  # Amdahl's, with the held part serial
    lost = 1 - (row.speedup or 0) / n  # of the ideal speedup; a lock is named where it explains half of it
    if threaded(row.backend) and held is not None and held > 0.05 and (row.speedup or 0) <= bound * CLOSE and \
            1 - bound / n >= lost / 2:
        by_lock = lock is not None and lock >= (gil or 0)
        what = f"{wl.libraries} holds a process-wide lock" if by_lock else "the GIL is held"
        what += f" {held:.0%} of the run"
        found.append(Cause(1 - bound / n, f"{what}: threads take turns there"))
    gap = machine.value(GAP, workload=workload, backend=row.backend, n_workers=n)
    if gap is not None and gap > 1.05 and row.variant == wl.gap_pair[0]:
        found.append(Cause(1 - 1 / gap, f"it ships the input with every task ({row.variant}), "
                                        f"{gap:.1f}x slower than placing it once"))
    trace = machine.trace(workload, row.backend, n, run) or {}
    if trace.get("input_share", 0) >= 0.01:
        found.append(Cause(trace["input_share"], f"moving its input takes {trace['input_share']:.0%} of the run"))
    if trace.get("idle_share", 0) >= 0.05:
        found.append(Cause(trace["idle_share"], f"its workers sit idle {trace['idle_share']:.0%} of the run"))
    per_task, tasks = row.overheads.per_task_ms, trace.get("tasks")
    if per_task and tasks and row.seconds:
        cost = per_task * tasks / 1000
        found.append(Cause(cost / row.seconds, f"{per_task:.2f} ms per task x {tasks} tasks = "
                                               f"{cost / row.seconds:.0%} of the run"))
    paid = faults(row)
    if paid and paid[1] >= FAULTS_RATIO * paid[0] and paid[1] - paid[0] >= FAULTS_MIN:
        found.append(Cause(None, f"it pays {paid[1]:,.0f} page faults a run, the loop {paid[0]:,.0f} "
                                 f"(allocator: {malloc(row.malloc)})"))
    return found


def largest(found: list[Cause]) -> str:
    """The largest timed cause; page faults (counted, not timed) where no timed one reaches
    5% of the run, and beside it otherwise."""
    timed = sorted((c for c in found if c.share is not None), key=lambda c: -c.share)
    counted = [c.text for c in found if c.share is None]
    if timed and timed[0].share >= 0.05:
        return "; ".join([timed[0].text, *(f"also {text}" for text in counted)])
    if counted:
        return counted[0]
    return "no measured cause explains 5% of its run"


def losers(machine: Machine, workload: str, rows: list, run: str) -> list[str]:
    """'ray 0.58x, slower than the loop: <its largest cause>', one clause per cause: the
    backends a cause holds back alike are named together."""
    by_cause: dict[str, list[str]] = {}
    for row in rows:
        where = ""
        if row.speedup < 1:
            below = row.speedup_ci is not None and row.speedup_ci[1] < 1
            where = " (slower than the loop)" if below else " (no faster than the loop)"
        by_cause.setdefault(largest(causes(machine, workload, row, run)), []).append(
            f"{row.backend} {row.speedup:.2f}x{where}")
    return [f"{', '.join(names)}: {cause}" for cause, names in by_cause.items()]


def settle(row) -> str:
    """What would narrow a wide interval."""
    wants = []
    if not row.precise or row.quiet:
        wants.append("more rounds" + ("" if row.precise else " (the time cap stopped it: raise PARBENCH_POINT_CAP_S)"))
    if not row.quiet:
        wants.append("a quieter machine (it was measured beside foreign load)")
    return " or ".join(wants)


def extras(machine: Machine, workload: str, leader, fast: list, serial, run: str) -> list[str]:
    """The leader's one-off start, memory where backends differ, page faults that favour it,
    and a ceiling below its speedup, each said with why."""
    out, o = [], leader.overheads
    if o.start_s is not None and o.start_s + (o.import_s or 0) >= 0.05:
        imports = ("" if not o.import_s or o.import_s < 0.01 else
                   f" (+{o.import_s:.2f} s importing {workloads.get(workload).libraries})")
        out.append(f"a new {leader.backend} pool costs {o.start_s:.2f} s once{imports}")
    headline = workloads.get(workload).headline.rsplit(".", 1)[0]
    memory = machine.series.get(f"{headline}.track_memory_vs_data")
    if memory is not None:
        peaks = {r.backend: memory.get(backend=r.backend, n_workers=r.n_workers, variant=r.variant)
                 for r in [leader, *fast, *([serial] if serial else [])]}
        peaks = {b: v for b, v in peaks.items() if v is not None}
        if len(peaks) > 1 and max(peaks.values()) > 1.1 * min(peaks.values()):
            out.append("peak memory of all processes " + ", ".join(
                f"{'the loop' if b == 'serial' else b} {v:.1f}x the data" for b, v in peaks.items()))
    paid = faults(leader)
    if paid and paid[0] >= FAULTS_RATIO * paid[1] and paid[0] - paid[1] >= FAULTS_MIN:
        out.append(f"the loop pays {paid[0]:,.0f} page faults a run, {leader.backend} {paid[1]:,.0f}: part of the "
                   f"gain is the allocator's ({malloc(leader.malloc)}), not parallel work")
    ceiling = ceiling_of(machine, workload, leader.n_workers, run)
    if ceiling and leader.speedup > ceiling[0]:
        value, interval, where, high = ceiling
        own = run and where.startswith(f"run {run}")
        why = ("measured in another run" if not own else "within noise" if leader.speedup_ci and
               leader.speedup_ci[0] <= high else leader.reason or "unexplained")
        out.append(f"above the machine's ceiling of {value:.2f}x{interval} ({where}): {why}")
    return out


def verdict(machine: Machine, workload: str, table: list, run: str) -> Verdict:
    """The block's first line (see the module's docstring)."""
    top = max((r.n_workers for r in table), default=0)
    ranked = sorted((r for r in table if r.n_workers == top and r.backend != "serial" and r.speedup is not None),
                    key=lambda r: -r.speedup)
    if any(r.measured for r in ranked):  # times of separate runs never outrank interleaved measurements
        ranked = [r for r in ranked if r.measured]
    serial = next((r for r in table if r.backend == "serial"), None)
    if not ranked:
        return Verdict("no backend was measured beside the loop", "-", "-", "not measured")
    leader, rest = ranked[0], ranked[1:]
    where = f"at {top} workers, {malloc(leader.malloc)}"
    own_loop = [found] if (found := default_malloc(machine, workload, run)) else []  # said whoever wins
    if leader.speedup < 1:
        slower = "; ".join([*losers(machine, workload, ranked, run), *own_loop])
        reason = largest(causes(machine, workload, leader, run))
        return Verdict(f"use the loop: no backend beats it {where}; {slower}", "the loop",
                       f"best {leader.backend} {figure(leader)}", f"{leader.backend}: {reason}")
    fast = [r for r in rest if r.speedup >= 1 and tied(leader, r)]
    others = losers(machine, workload, [r for r in rest if r not in fast], run)
    spread = half_width(leader)
    if spread is not None and spread > WIDE:
        level = [r.backend for r in fast]
        text = (f"no reliable winner yet {where}: {leader.backend} leads with {figure(leader)}, ±{spread:.0%}"
                + (f", {', '.join(level)} within it" if level else "") + f"; {settle(leader)} would settle it")
        return Verdict("; ".join([text, *others, *own_loop]), f"no reliable winner yet ({leader.backend} leads)",
                       f"{figure(leader)} at {top} workers", f"±{spread:.0%}: {settle(leader)} would settle it")
    names = [r.backend for r in fast]
    level = (f"{', '.join(names[:-1])} and {names[-1]} are" if len(names) > 1 else f"{names[0]} is") if names else ""
    noise = "within noise" if leader.measured else "within 5%; no intervals: measure them with scaling.Ratios"
    text = f"use {leader.backend}, {how(leader)}: {figure(leader)} over the loop {where}"
    parts = [text, *([f"{level} as fast ({noise})"] if level else []), *others,
             *extras(machine, workload, leader, fast, serial, run), *own_loop]
    own = [c for c in causes(machine, workload, leader, run) if c.share is None or c.share >= 0.1]
    beaten = [r for r in rest if r not in fast][:1]  # the summary names the runner-up's cause alone
    reason = (f"held back by: {largest(own)}" if own else losers(machine, workload, beaten, run)[0] if beaten else
              f"{len(fast)} other{'s' if len(fast) > 1 else ''} as fast ({noise})" if fast else
              "the only backend measured")
    return Verdict("; ".join(parts), f"{leader.backend}, {how(leader)}", f"{figure(leader)} at {top} workers",
                   reason)
