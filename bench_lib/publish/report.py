"""``python -m bench_lib report``: what the results say, per machine and workload, in the
terminal -- first the backend to use here and why (bench_lib.publish.verdict), then the table it
stands on: times, speedups with their intervals, efficiency against the machine's ceiling,
and with ``--wide`` the overheads. Within 120 columns by default.

Reads ``results/`` through ``bench_lib.results.asv_results`` (its names are re-exported here:
``report.load``, ``report.Machine``, ``report.ReportError``...); this module turns each
machine's results into one table per workload, from one run's points where the speedups
were measured interleaved (rows from elsewhere say where they come from).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

from bench_lib import workloads
from bench_lib.measure import protocol
from bench_lib.publish import prices, verdict
from bench_lib.results.asv_results import (  # noqa: F401 (re-exported: callers use report.load, report.Machine...)
    CEILING,
    GAP,
    GIL,
    IMPORTS,
    LOCK,
    PER_TASK,
    SPEEDUP,
    START,
    TRANSFER,
    Machine,
    ReportError,
    Series,
    _literal,
    add_results,
    load,
    machine_info,
    pick,
    read_file,
    read_index,
)


# Why an efficiency can lie above 1 (its whole interval), by how the ceiling's copies held
# their input.
ABOVE_CEILING = {
    "shared input": ("above the ceiling, whose copies read the same shared input: each worker "
                     "runs part of the items, a smaller working set than a copy running them "
                     "all (a cache effect)"),
    "own inputs": ("above the ceiling, whose copies each build their own inputs and run all the "
                   "items: each worker of this backend runs part of them, a smaller working set "
                   "(a cache effect)"),
}


# -- one workload's table ---------------------------------------------------------------------
@dataclass(frozen=True)
class Overheads:
    """Where a first call's time goes on one backend and worker count; None: not measured."""

    start_s: float | None = None  # a new pool until every worker answered a no-op
    import_s: float | None = None  # the workload's libraries imported in fresh workers
    per_task_ms: float | None = None  # one no-op task on a warm pool
    new_pool_per_task_ms: float | None = None  # the same on a new pool per call
    transfer_mb_per_s: float | None = None  # 10 MB to a worker and back, the normal path


@dataclass
class Row:
    backend: str
    n_workers: int
    seconds: float
    variant: str
    speedup: float | None = None
    measured: bool = False  # speedup measured interleaved with serial (a point), else from times
    serial_s: float | None = None  # the serial time of this row's work that its speedup divides
    efficiency: float | None = None
    overheads: Overheads = field(default_factory=Overheads)
    speedup_ci: tuple[float, float] | None = None
    efficiency_ci: tuple[float, float] | None = None
    pairs: int = 0
    precise: bool = True
    quiet: bool = True
    reason: str = ""  # why an efficiency above 1 is not an error
    run: str = ""  # the run of its point; "" for asv's times
    commit: str = ""  # the commit its figures were measured at
    malloc: str = "default"  # the allocator discipline it was measured under
    record: dict | None = None  # its point, for what the verdict reads off it (page faults)


def _ci(record: dict) -> tuple[float, float] | None:
    low, high = record.get("ci") or (None, None)
    return None if low is None or high is None else (low, high)


def table_run(machine: Machine, workload: str) -> str:
    """The run whose points a workload's table shows: the newest that measured its
    speedups at the most workers ("" where none did)."""
    found = [r for r in machine.points if r.get("kind") == "speedup" and r.get("workload") == workload]
    top = max((r["n_workers"] for r in found), default=0)
    return ([r.get("run", "") for r in found if r["n_workers"] == top] or [""])[-1]


def rows(machine: Machine, workload: str) -> list[Row]:
    """One row per backend and n_workers. Where the speedup was measured (a point), the
    row's time, serial time, variant and speedup all come from that one measurement, of
    the table's run where it has one; elsewhere the fastest variant's asv time, and a
    speedup over asv's serial time (marked). The table's serial row is the loop its
    run's leader was measured against."""
    wl = workloads.get(workload)
    fixed = wl.table_params
    series = machine.series.get(wl.headline)
    best: dict[tuple[str, int], Row] = {}
    for combo, value in series.combos() if series else ():
        if any(combo.get(k, v) != v for k, v in fixed.items()):
            continue
        key = (combo["backend"], combo["n_workers"])
        if key not in best or value < best[key].seconds:
            commit = series.commit_of(**combo)
            window = machine.window(wl.headline, combo, commit)
            best[key] = Row(combo["backend"], combo["n_workers"], value, str(combo.get("variant", "")),
                            quiet=window is None or bool(window.get("quiet")), commit=commit[:8],
                            malloc=machine.discipline({"commit": commit}))
    serial = best.get(("serial", 1))
    for row in best.values():
        if serial is not None:
            work = row.n_workers if wl.weak_scaling else 1
            row.serial_s = work * serial.seconds
            row.speedup = row.serial_s / row.seconds
        row.overheads = overheads(machine, workload, row.backend, row.n_workers)
    run = table_run(machine, workload)
    for record in machine.points:  # the table's run wins; elsewhere newer records replace older
        if record.get("kind") != "speedup" or record.get("workload") != workload:
            continue
        key = (record["backend"], record["n_workers"])
        if key not in best or best[key].run != run or record.get("run", "") == run:
            best[key] = measured_row(machine, record)
    own = [r for r in best.values() if r.run == run and r.measured] if run else []
    if own:
        leader = max(own, key=lambda r: (r.n_workers, r.speedup))
        best[("serial", 1)] = Row("serial", 1, leader.serial_s, "loop", 1.0, True, leader.serial_s, run=run,
                                  commit=leader.commit, malloc=leader.malloc)
    return sorted(best.values(), key=lambda r: (r.backend != "serial", r.n_workers, -(r.speedup or 0.0)))


def measured_row(machine: Machine, record: dict) -> Row:
    row = Row(record["backend"], record["n_workers"], record["time_s"], record["variant"],
              record["value"], True, serial_s=record.get("other_time_s"), speedup_ci=_ci(record),
              pairs=record.get("pairs", 0),
              precise=bool(record.get("precise")), quiet=bool(record.get("quiet")), run=record.get("run", ""),
              commit=str(record.get("commit", ""))[:8], malloc=machine.discipline(record), record=record)
    point = machine.ceiling_point(record["workload"], row.n_workers, record.get("run"))
    if point is not None:  # the same run's ceiling, with its interval
        row.efficiency = row.speedup / point["value"]
        if row.speedup_ci and _ci(point):
            efficiency = protocol.product_interval(
                protocol.Interval(row.speedup, *row.speedup_ci, row.pairs),
                protocol.Interval(point["value"], *_ci(point), point.get("pairs", 0)), power=-1)
            row.efficiency_ci = (efficiency.low, efficiency.high)
    else:  # older results: the ceiling asv recorded at the same commit, no interval of its own
        top = machine.ceiling(record["workload"], row.n_workers, record.get("commit") or None)
        if top:
            row.efficiency = row.speedup / top
            if row.speedup_ci:
                row.efficiency_ci = (row.speedup_ci[0] / top, row.speedup_ci[1] / top)
    if row.efficiency_ci and row.efficiency_ci[0] > 1.0:
        row.reason = ABOVE_CEILING["shared input" if point and point.get("variant") == "shared input" else "own inputs"]
    row.overheads = overheads(machine, record["workload"], row.backend, row.n_workers)
    return row


def overheads(machine: Machine, workload: str, backend: str, n_workers: int) -> Overheads:
    def at(benchmark: str, **params) -> float | None:
        return machine.value(benchmark, backend=backend, n_workers=n_workers, **params)

    def ms(seconds: float | None) -> float | None:
        return None if seconds is None else seconds * 1000

    return Overheads(
        start_s=at(START),
        import_s=at(IMPORTS, modules=workloads.get(workload).libraries),
        per_task_ms=ms(at(PER_TASK, pool="reused")),
        new_pool_per_task_ms=ms(at(PER_TASK, pool="per-call")),
        transfer_mb_per_s=machine.value(TRANSFER, backend=backend, path="normal", megabytes=10),
    )


def speedup_text(row: Row) -> str:
    """'1.62x ±0.04' (measured, with its interval); marks: * from separate runs' times,
    ~ imprecise (time cap before +-3%), ! taken beside foreign load."""
    if row.speedup is None:
        return "-"
    text = f"{row.speedup:.2f}x"
    if row.speedup_ci:
        text += f" ±{(row.speedup_ci[1] - row.speedup_ci[0]) / 2:.2f}"
    return text + marks(row)


def marks(row: Row) -> str:
    text = "" if row.measured else "*"
    if row.measured and not row.precise:
        text += "~"
    if not row.quiet:  # a point's samples, or the load window of asv's samples (bench_lib.measure.windows)
        text += "!"
    return text


def _s(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def title(workload: str) -> str:
    """The workload's name with its table's fixed parameters: 'filter_bank (filter_size=5x5)'."""
    shown = ", ".join(f"{k}={v}" for k, v in workloads.get(workload).table_params.items())
    return workload + (f" ({shown})" if shown else "")


WIDTH = 120  # the default output's columns
SMALL_ONLY = ("only small-size (smoke-test) series here: their times are of smaller work than the full "
              "size, not figures to choose a backend by")
WIDE_HEADER = f"{'start s':>8}{'import s':>9}{'task ms':>8}{'new-pool task ms':>17}{'transfer MB/s':>14}"


def source(row: Row, run: str, serial: Row | None) -> str:
    """Where a row's figures come from, when not from the table's own run."""
    if run:
        return "" if row.run == run else f"run {row.run}" if row.run else f"asv {row.commit}"
    return "" if serial is None or row.commit == serial.commit else f"asv {row.commit}"


def block(machine: Machine, workload: str, wide: bool = False) -> list[str]:
    """One workload's verdict, its table and the notes that keep them from contradicting."""
    table = rows(machine, workload)
    if not table:
        return []
    run = table_run(machine, workload)
    wl = workloads.get(workload)
    lines = [f"\n-- {title(workload)}: " + (f"run {run}" if run else "asv's times") + f"   [{wl.headline}]",
             *textwrap.wrap("recommended: " + verdict.verdict(machine, workload, table, run).text, WIDTH,
                            subsequent_indent="  ", break_on_hyphens=False)]
    effic = any(r.efficiency is not None for r in table)
    serial = next((r for r in table if r.backend == "serial"), None)
    lines.append(f"{'backend':<23}{'n':>2} {'variant':<12}{'time':>9}{'speedup':>10} {'95% interval':<14}"
                 + (f"{'effic.':>7}" if effic else "") + (WIDE_HEADER if wide else "") + "  from")
    for r in table:
        o = r.overheads if r.backend != "serial" else Overheads()
        interval = f"[{r.speedup_ci[0]:.2f}, {r.speedup_ci[1]:.2f}]" if r.speedup_ci else ""
        line = (f"{r.backend:<23}{r.n_workers:>2} {r.variant:<12}{_s(r.seconds):>9}"
                f"{'-' if r.speedup is None else f'{r.speedup:.2f}x' + marks(r):>10} {interval:<14}"
                + (f"{_fmt(r.efficiency, '.0%'):>7}" if effic else ""))
        if wide:
            line += (f"{_fmt(o.start_s, '.3f'):>8}{_fmt(o.import_s, '.3f'):>9}{_fmt(o.per_task_ms, '.3f'):>8}"
                     f"{_fmt(o.new_pool_per_task_ms, '.2f'):>17}{_fmt(o.transfer_mb_per_s, '.0f'):>14}")
        lines.append((line + "  " + source(r, run, serial)).rstrip())
    loops = sorted({r.serial_s for r in table if r.run == run and r.measured and r.serial_s} if run else ())
    if loops and loops[-1] > 1.05 * loops[0]:
        lines.append(f"(the loop took {_s(loops[0])} to {_s(loops[-1])} across this run's groups of backends; "
                     "each speedup divides its own group's loop)")
    apart = next((r for r in table if r.run != run and not r.measured and r.backend != "serial" and r.serial_s), None)
    if run and apart is not None:  # their speedups divide another loop than the table's: say whose
        lines.append(f"(rows from asv: times of separate runs, each speedup over asv's serial time, "
                     f"{_s(apart.serial_s / (apart.n_workers if wl.weak_scaling else 1))} at {apart.commit})")
    if wl.weak_scaling and serial is not None:
        lines.append("(each worker has its own batch: the loop runs the batches of all the workers)")
    return lines


def render(machines: list[Machine], wide: bool = False) -> str:
    lines = [SMALL_ONLY] if machines and all(m.small for m in machines) else []
    for machine in machines:
        info = machine.info
        memory = info.get("memory_bytes")
        lines.extend(textwrap.wrap(
            f"== machine {machine.name}: {info.get('cpu_model', '?')}, "
            f"{info.get('physical_cores', '?')} cores / {info.get('logical_cpus', '?')} CPUs, "
            f"{'?' if memory is None else f'{memory / 2**30:.0f} GiB'}, "
            f"{info.get('threads_per_worker', '?')} BLAS thread(s) per worker", WIDTH, subsequent_indent="   "))
        for workload in workloads.names():
            lines.extend(block(machine, workload, wide))
        recommended = [(w, f"{b.backend} n={b.n_workers}", b.seconds) for w in workloads.names()
                       if (b := leader(rows(machine, w))) is not None]
        costs = prices.cost_lines(machine.name, info.get("wall_s"), recommended)
        lines.extend(["", *costs] if costs else [])
        commits = sorted({c for s in machine.series.values() for c in s.commits})
        runs = sorted({p.get("run", "") for p in machine.points} - {""})
        under = {r: machine.discipline({"run": r}) for r in runs}  # each run's allocator discipline
        legend = ("(speedup: the serial loop's time over the backend's, measured interleaved in paired rounds, with "
                  "their 95% interval; * from separate runs' times, not measured interleaved; ~ imprecise: the "
                  "time cap came before ±3%; ! measured beside foreign load; from: a row measured elsewhere than "
                  f"the table's run; results of commits {', '.join(commits)}"
                  + "".join(f"; runs under {verdict.malloc(d)}: {', '.join(r for r in runs if under[r] == d)}"
                            for d in sorted(set(under.values()))) + ")")
        lines.extend(["", *textwrap.wrap(legend, WIDTH, break_on_hyphens=False), ""])
    return "\n".join(lines)


def leader(table: list[Row]) -> Row | None:
    """The row with the best speedup at the most workers, or the loop where none beats it."""
    top = max((r.n_workers for r in table), default=0)
    ranked = sorted((r for r in table if (r.n_workers == top or r.backend == "serial") and r.speedup is not None),
                    key=lambda r: -r.speedup)
    return ranked[0] if ranked else None


# -- one object per measured point -------------------------------------------------------------
def point_objects(machines: list[Machine]) -> list[dict]:
    """Every measured speedup of every run, as ``report --json`` prints them."""
    out = []
    for machine in machines:
        for record in machine.points:
            if record.get("kind") != "speedup":
                continue
            row = measured_row(machine, record)
            out.append({
                "machine": machine.name, "commit": record.get("commit", ""), "run": record.get("run", ""),
                "workload": record["workload"], "backend": row.backend, "n_workers": row.n_workers,
                "variant": row.variant, "time_s": row.seconds, "serial_time_s": record.get("other_time_s"),
                "speedup": row.speedup, "speedup_ci": list(row.speedup_ci) if row.speedup_ci else None,
                "efficiency": row.efficiency,
                "efficiency_ci": list(row.efficiency_ci) if row.efficiency_ci else None,
                "efficiency_reason": row.reason or None,
                "pairs": row.pairs, "precise": row.precise, "quiet": row.quiet,
                "discarded": record.get("discarded", 0), "malloc": machine.discipline(record),
                "minor_faults_median": dict(zip(("loop", "backend"), paid)) if (paid := verdict.faults(row)) else None,
            })
    return out
