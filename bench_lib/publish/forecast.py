"""``python -m bench_lib forecast``: the time and speedup of every workload and backend at
more workers than were measured, from what was measured at fewer, with an interval.

The model, per workload, backend and variant (fit on the counts below ``--workers``)::

    T(n) = D(n) + (T(1) - D(1)) x w(n) x (s + (1 - s) / g(n))

- ``D(n) = tasks(n) x per-task`` is the serial part the caller pays: dispatch latency, from
  ``overhead.TaskOverhead`` (reused pool) at the largest fitted count. ``s``, the share of
  the rest that does not parallelise, is fitted where a count above 1 was measured. From
  n=1 alone it is 0 for process pools, and for thread pools the share of the run that
  holds the GIL, or its library's own lock where that is larger, measured at one worker
  (``scaling.GilHeld``, ``scaling.LockHeld``; bench_lib.measure.gil).
- ``g(n) = tasks / ceil(tasks / n) x c(b) / b`` with ``b = min(n, tasks)`` busy workers:
  whole tasks per worker, slowed by memory contention ``c(b) = b / (1 + m (b - 1))``, ``m``
  the memory-bound share read off ``scaling.Ceiling`` at its largest fitted count (or ``--ceilings-up-to``).
- ``w(n)``: the work grows with n for weak scaling (model_inference), else 1.

Start and imports are paid once per new pool and lie outside the warm run this forecasts;
transfers lie inside ``T(1) - D(1)`` (each task's data reaches its worker in parallel).
Where a term is missing, or the memory term would be extrapolated past a measured
memory-bound share, the row says so instead of guessing.
"""

from __future__ import annotations

import itertools
import math
import statistics
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from bench_lib import backends, workloads
from bench_lib.checkout import CLIError, project_root
from bench_lib.results import asv_results as results
from bench_lib.results.asv_results import CEILING, Machine, PER_TASK

GIL = "scaling.GilHeld.track_gil_held_share"
LOCK = "scaling.LockHeld.track_lock_held_share"

MEMORY_NOISE = 0.10  # a memory-bound share this small, read off a ceiling without interval, is noise
NOTES = {
    "memory-scales": "memory bandwidth assumed to scale: no ceiling measured past n=1",
    "s=0": "serial part = dispatch only: nothing measured past n=1 (no traces yet)",
    "gil": "threads: assumes the work releases the GIL (no scaling.GilHeld on this machine)",
    "gil-held": "threads: s = the share of the run that holds the GIL, measured at one worker (scaling.GilHeld)",
    "lock-held": "threads: s = the share of the run inside its library's own lock or the GIL, measured at one "
                 "worker (scaling.LockHeld), above its GIL share",
    "m-held": "memory-bound share of the largest measured ceiling held constant",
}


@dataclass
class Forecast:
    workload: str
    backend: str
    variant: str = ""
    time_s: float | None = None
    time_ci: tuple[float, float] | None = None
    speedup: float | None = None
    speedup_ci: tuple[float, float] | None = None
    measured_speedup: float | None = None  # at the forecast count, never used in the fit
    notes: list[str] = field(default_factory=list)
    cannot: str = ""  # why the model cannot say

    @property
    def error(self) -> float | None:
        """predicted / measured speedup - 1."""
        if self.speedup is None or self.measured_speedup is None:
            return None
        return self.speedup / self.measured_speedup - 1

    @property
    def inside(self) -> bool:
        """The measured speedup lies inside the forecast's interval (with an error to have one)."""
        return self.error is not None and self.speedup_ci[0] <= self.measured_speedup <= self.speedup_ci[1]


# -- the model's terms ------------------------------------------------------------------------
def memory_share(ceiling: float, n: int) -> float:
    """m such that n / (1 + m (n - 1)) is the measured ceiling at n: 0 scales, 1 does not."""
    return min(max((n / ceiling - 1) / (n - 1), 0.0), 1.0)


def parallelism(tasks: int, n: int, m: float) -> float:
    """g(n): how many times faster than one worker ``tasks`` equal tasks run on n workers."""
    busy = min(n, tasks)
    return tasks / math.ceil(tasks / n) / (1 + m * (busy - 1))


def serial_share(t1_s: float, d1_s: float, tm_s: float, dm_s: float, work: float, g: float) -> float:
    """s that makes the model give the measured time ``tm_s`` at a count where g(n) = ``g``."""
    if g <= 1:
        return 0.0
    ratio = (tm_s - dm_s) / ((t1_s - d1_s) * work)
    return min(max((ratio - 1 / g) / (1 - 1 / g), 0.0), 1.0)


def predict_s(t1_s: float, d1_s: float, dn_s: float, work: float, s: float, g: float) -> float:
    return dn_s + (t1_s - d1_s) * work * (s + (1 - s) / g)


# -- reading the terms off a machine ------------------------------------------------------------
@dataclass
class Terms:
    """What one machine measured of one workload, restricted to the fitted counts."""

    times: dict[tuple[str, int, str], float]  # (backend, n, variant) -> s
    cis: dict[tuple[str, int, str], tuple[float, float]]
    per_task_s: dict[tuple[str, int], float]
    ceiling: tuple[int, float, tuple[float, float] | None] | None  # (n, value, interval)
    gil_share: float | None = None  # of the serial run that holds the GIL, at one worker
    lock_share: float | None = None  # of the serial run inside its library's lock or the GIL


def terms(machine: Machine, workload: str, fitted: int, ceilings_to: int | None = None) -> Terms:
    """The terms at the counts <= ``fitted``; the machine's ceilings at counts <= ``ceilings_to``
    (default ``fitted``): copies of the serial loop, no backend, so a machine's own measure."""
    wl = workloads.get(workload)
    name, fixed = wl.headline, wl.table_params
    series = machine.series.get(name)
    raw = series.intervals() if series else {}
    times, cis = {}, {}
    for combo, value in series.combos() if series else ():
        if any(combo.get(k, v) != v for k, v in fixed.items()):
            continue
        key = (combo["backend"], combo["n_workers"], str(combo.get("variant", "")))
        times[key] = value
        ci = raw.get(tuple(combo[p] for p in series.param_names))
        if ci:
            cis[key] = ci
    per_task = {(c["backend"], c["n_workers"]): v for c, v in
                (machine.series[PER_TASK].combos() if PER_TASK in machine.series else ())
                if c["pool"] == "reused" and c["n_workers"] <= fitted}
    ceilings = [(c["n_workers"], v) for c, v in
                (machine.series[CEILING].combos() if CEILING in machine.series else ())
                if c["workload"] == workload and 1 < c["n_workers"] <= (ceilings_to or fitted)]
    ceiling = None
    if ceilings:
        n, value = max(ceilings)
        points = [p for p in machine.points if (p.get("kind"), p.get("workload"), p.get("n_workers")) ==
                  ("ceiling", workload, n) and None not in (p.get("ci") or [None])]
        ceiling = (n, points[-1]["value"], tuple(points[-1]["ci"])) if points else (n, value, None)
    shares = {name: [v for c, v in (machine.series[name].combos() if name in machine.series else ())
                     if c["workload"] == workload] for name in (GIL, LOCK)}
    return Terms(times, cis, per_task, ceiling, *(shares[n][-1] if shares[n] else None for n in (GIL, LOCK)))


# -- one forecast -------------------------------------------------------------------------------
def tasks(workload: str, variant: str, n: int) -> int:
    """Tasks of one full-size run, as the workload says (Workload.tasks, per worker for weak
    scaling); a batched variant and a workload that does not say run one task per worker."""
    found = workloads.get(workload)
    if found.weak_scaling:
        return (found.tasks or 1) * n
    return n if variant == "batched" or found.tasks is None else found.tasks


@dataclass(frozen=True)
class Engine:
    """What a backend's class says about its n=1 run."""

    pooled_at_one: bool = True  # False: one worker runs in the caller, n in worker processes
    threads: bool = False  # its workers are threads of one process: they share its GIL


def engine(backend: str, n: int) -> Engine:
    """joblib runs ``n_jobs=1`` sequentially in the caller: its n=1 time holds no pool to
    extrapolate to n worker processes. An unknown name is taken as a pool of processes."""
    try:
        cls = backends.backend_class(backend)
    except backends.BackendError:
        return Engine()
    return Engine(not (cls.in_caller(1) and not cls.in_caller(n)), not cls.uses_processes)


def forecast(t: Terms, workload: str, backend: str, n: int, fitted: int, kind: Engine = Engine()) -> Forecast:
    """The warm time and speedup of ``backend`` at ``n`` workers from the counts <= ``fitted``."""
    out = Forecast(workload, backend)
    if not kind.pooled_at_one and fitted == 1:
        out.cannot = "n_workers=1 runs in the caller, without the pool: nothing of the pool was measured"
        return out
    serial = [(v, k[2]) for k, v in t.times.items() if k[:2] == ("serial", 1)]
    if not serial:
        out.cannot = "no serial time at n_workers=1"
        return out
    ts, serial_variant = min(serial)
    ts_ci = t.cis.get(("serial", 1, serial_variant), (ts, ts))
    candidates = {k[2] for k in t.times if k[:2] == (backend, 1)}
    if not candidates:
        found = sorted({k[1] for k in t.times if k[0] == backend})
        out.cannot = f"no time at n_workers=1 (measured at {', '.join(map(str, found)) or 'none'})"
        return out
    base = max(k[1] for k in t.times if k[0] == backend and k[2] in candidates and k[1] <= fitted)
    tm, out.variant = min((t.times[(backend, base, v)], v) for v in candidates if (backend, base, v) in t.times)
    if (backend, 1) not in t.per_task_s:
        out.cannot = "dispatch latency not measured (overhead.TaskOverhead)"
        return out
    per_task_n = t.per_task_s.get((backend, base), t.per_task_s[(backend, 1)])
    m_range, n_c = (0.0, 0.0), 1
    if t.ceiling is None:
        out.notes.append("memory-scales")
    else:
        n_c, value, ci = t.ceiling
        m = memory_share(value, n_c)
        m_range = (memory_share(ci[1], n_c), memory_share(ci[0], n_c)) if ci else (m, m)
        if n > n_c and (m_range[0] > 0 if ci else m > MEMORY_NOISE):
            out.cannot = (f"memory bandwidth at n={n} unknown: the ceiling at n={n_c} ({value:.2f}x) "
                          f"shows a memory-bound share of {m:.0%}")
            return out
        if n > n_c:
            out.notes.append("m-held")
    held = 0.0  # s from n=1 alone: what a thread pool cannot overlap
    if base == 1 and kind.threads and t.lock_share is not None and t.lock_share > (t.gil_share or 0.0):
        held = t.lock_share
        out.notes.append("lock-held")
    elif base == 1 and kind.threads and t.gil_share is not None:
        held = t.gil_share
        out.notes.append("gil-held")
    elif base == 1:
        out.notes.append("s=0")
        if kind.threads:
            out.notes.append("gil")
    work = {k: (k if workloads.get(workload).weak_scaling else 1) for k in (base, n)}

    def time_s(t1: float, tm: float, m: float) -> float:
        d1 = tasks(workload, out.variant, 1) * t.per_task_s[(backend, 1)]
        s = held
        if base > 1:
            dm = tasks(workload, out.variant, base) * per_task_n
            s = serial_share(t1, d1, tm, dm, work[base], parallelism(tasks(workload, out.variant, base), base, m))
        dn = tasks(workload, out.variant, n) * per_task_n
        return predict_s(t1, d1, dn, work[n], s, parallelism(tasks(workload, out.variant, n), n, m))

    t1 = t.times[(backend, 1, out.variant)]
    t1_ci = t.cis.get((backend, 1, out.variant), (t1, t1))
    tm_ci = t.cis.get((backend, base, out.variant), (tm, tm))
    out.time_s = time_s(t1, tm, sum(m_range) / 2)
    corners = [time_s(a, b, m) for a, b, m in itertools.product(t1_ci, tm_ci, m_range)]
    # asv's 99% interval of two samples can reach below 0 s: no time is, so such a bound
    # leaves the speedup unbounded on that side (0 or inf), never negative
    out.time_ci = (max(min(corners), 0.0), max(max(corners), 0.0))
    out.speedup = work[n] * ts / out.time_s
    out.speedup_ci = (work[n] * max(ts_ci[0], 0.0) / out.time_ci[1] if out.time_ci[1] > 0 else 0.0,
                      work[n] * ts_ci[1] / out.time_ci[0] if out.time_ci[0] > 0 else math.inf)
    measured = t.times.get((backend, n, out.variant))
    if measured is not None and n > fitted:
        out.measured_speedup = work[n] * ts / measured
    return out


def table(machine: Machine, n: int, fitted: int, ceilings_to: int | None = None,
          probes: bool = True) -> dict[str, list[Forecast]]:
    """Every workload's forecasts; ``probes=False``: as if GilHeld and LockHeld never ran (s = 0)."""
    out = {}
    for workload in workloads.names():
        t = terms(machine, workload, fitted, ceilings_to)
        if not probes:
            t = dataclasses.replace(t, gil_share=None, lock_share=None)
        names = sorted({k[0] for k in t.times} - {"serial"})
        if names:
            out[workload] = [forecast(t, workload, b, n, fitted, engine(b, n)) for b in names]
    return out


def curve(machine: Machine, workload: str, counts: list[int]) -> dict[str, list[tuple[int, float]]]:
    """Per backend, (n, forecast speedup) at each of ``counts`` the model can say, each
    fitted on every count below it: the report's dashed lines."""
    out: dict[str, list[tuple[int, float]]] = {}
    for n in counts:
        t = terms(machine, workload, n - 1)
        for backend in sorted({k[0] for k in t.times} - {"serial"}):
            f = forecast(t, workload, backend, n, n - 1, engine(backend, n))
            if f.speedup is not None:
                out.setdefault(backend, []).append((n, f.speedup))
    return out


# -- the command ----------------------------------------------------------------------------------
def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def render(machine: Machine, forecasts: dict[str, list[Forecast]], n: int, fitted: int,
           ceilings_to: int | None = None) -> str:
    info = machine.info
    lines = [f"== forecast for {machine.name} ({info.get('cpu_model', '?')}, {info.get('physical_cores', '?')} "
             f"cores) at n_workers={n}, fitted on the counts measured up to {fitted} only"
             + (f"; the machine's ceilings up to {ceilings_to}" if (ceilings_to or fitted) > fitted else ""),
             "   warm run: T(n) = D(n) + (T(1) - D(1)) x w(n) x (s + (1 - s) / g(n)); a forecast, not a measurement",
             "   the serial part D (dispatch latency) comes from overhead.TaskOverhead until traces exist"]
    errors, inside, used = [], 0, set()
    for workload in workloads.names():
        if workload not in forecasts:
            lines.append(f"\n-- {workload}: cannot say: no {workloads.get(workload).headline} on this machine")
            continue
        lines.append(f"\n-- {workload}")
        lines.append(f"{'backend':<23}{'variant':<12}{'time s':>8}{'speedup':>9}  {'interval':<15}"
                     f"{'measured':>9}{'error':>8}  notes")
        for f in forecasts[workload]:
            if f.cannot:
                lines.append(f"{f.backend:<23}{f.variant:<12}cannot say: {f.cannot}")
                continue
            error = "-" if f.error is None else f"{f.error:+.0%}"
            interval = f"[{f.speedup_ci[0]:.2f}, {f.speedup_ci[1]:.2f}]"
            lines.append(f"{f.backend:<23}{f.variant:<12}{f.time_s:>8.3f}{_x(f.speedup):>9}  {interval:<15}"
                         f"{_x(f.measured_speedup):>9}{error:>8}  {' '.join(f.notes)}".rstrip())
            used.update(f.notes)
            if f.error is not None:
                errors.append(abs(f.error))
                inside += f.inside
    lines.append("\ninterval: the forecast at every corner of its inputs' intervals (asv's 99% of each time, the "
                 "ceiling's 95% where recorded)\nerror: forecast / measured speedup - 1; the measurement is never fitted")
    lines.extend(f"{note}: {NOTES[note]}" for note in NOTES if note in used)
    if errors:
        lines.append(f"median absolute error {statistics.median(errors):.1%} over {len(errors)} measured points "
                     f"(target <= 15%); the measurement lies inside the interval for {inside} of {len(errors)}")
    else:
        lines.append(f"nothing measured at n_workers={n} to compare with")
    return "\n".join(lines)


def command(args) -> int:
    folder = Path(args.results) if args.results else project_root() / "results"
    fitted = args.workers - 1 if args.max_measured is None else min(args.max_measured, args.workers - 1)
    if fitted < 1:
        raise CLIError("a forecast needs --workers >= 2 and --max-measured >= 1: it fits on n_workers=1 at least")
    if args.ceilings_up_to is not None and not fitted <= args.ceilings_up_to <= args.workers:
        raise CLIError(f"--ceilings-up-to must lie between the fitted count ({fitted}) and --workers ({args.workers})")
    try:
        machines = results.pick(results.load(folder), args.machine, str(folder))
    except results.ReportError as exc:
        raise CLIError(str(exc)) from None
    print("\n\n".join(render(m, table(m, args.workers, fitted, args.ceilings_up_to), args.workers, fitted,
                             args.ceilings_up_to) for m in machines))
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("forecast", help="predict time and speedup at more workers than were measured")
    p.add_argument("--workers", type=int, required=True, help="the worker count to forecast")
    p.add_argument("--max-measured", type=int, metavar="N",
                   help="fit on the counts <= N only (default: every count below --workers)")
    p.add_argument("--ceilings-up-to", type=int, metavar="K",
                   help="read the memory-bound share off the machine's ceilings (scaling.Ceiling: copies of "
                        "the serial loop, no backend) up to K workers (default: the fitted counts)")
    p.add_argument("--machine", help="only this machine")
    p.add_argument("--results", help="results folder (default: results/ of this checkout)")
    p.set_defaults(func=command)
