"""``python -m bench_lib report``: what the results say, per machine and workload, in the
terminal -- times, speedup, efficiency against the machine's ceiling, the overheads that
explain them, and the backend to use here and why.

Reads ``results/`` through ``bench_lib.asv_results`` (its names are re-exported here:
``report.load``, ``report.Machine``, ``report.ReportError``...); this module turns each
machine's results into one table per workload, the speedups and efficiencies, and the
recommendation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import prices, protocol, workloads
from .asv_results import (  # noqa: F401 (re-exported: callers use report.load, report.Machine...)
    CEILING, GAP, IMPORTS, PER_TASK, SPEEDUP, START, TRANSFER, Machine, ReportError, Series, _literal,
    add_results, load, machine_info, pick, read_file, read_index,
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

    def largest(self) -> tuple[str, float, str] | None:
        """(name, value, unit) of the largest of start, import and per-task cost, compared
        in seconds but given in its own unit; None when none was measured."""
        pieces = [(name, value, unit, seconds) for name, value, unit, seconds in (
            ("start", self.start_s, "s", self.start_s),
            ("import", self.import_s, "s", self.import_s),
            ("per-task", self.per_task_ms, "ms", None if self.per_task_ms is None else self.per_task_ms / 1000),
        ) if value is not None]
        if not pieces:
            return None
        name, value, unit, _seconds = max(pieces, key=lambda piece: piece[3])
        return name, value, unit


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


def _ci(record: dict) -> tuple[float, float] | None:
    low, high = record.get("ci") or (None, None)
    return None if low is None or high is None else (low, high)


def rows(machine: Machine, workload: str) -> list[Row]:
    """One row per backend and n_workers. Where the speedup was measured (a point), the
    row's time, serial time, variant and speedup all come from that one measurement;
    elsewhere the fastest variant's asv time, and a speedup over asv's serial time (marked).
    Either way the row's speedup is its serial time over its time, so a row never needs
    another row's time to be read."""
    wl = workloads.get(workload)
    fixed = wl.table_params
    series = machine.series.get(wl.headline)
    best: dict[tuple[str, int], Row] = {}
    for combo, value in series.combos() if series else ():
        if any(combo.get(k, v) != v for k, v in fixed.items()):
            continue
        key = (combo["backend"], combo["n_workers"])
        if key not in best or value < best[key].seconds:
            window = machine.window(wl.headline, combo, series.commit_of(**combo))
            best[key] = Row(combo["backend"], combo["n_workers"], value, str(combo.get("variant", "")),
                            quiet=window is None or bool(window.get("quiet")))
    serial = best.get(("serial", 1))
    for row in best.values():
        if serial is not None:
            work = row.n_workers if wl.weak_scaling else 1
            row.serial_s = work * serial.seconds
            row.speedup = row.serial_s / row.seconds
        row.overheads = overheads(machine, workload, row.backend, row.n_workers)
    for record in machine.points:
        if record.get("kind") != "speedup" or record.get("workload") != workload:
            continue
        key = (record["backend"], record["n_workers"])  # newer records replace older ones
        best[key] = measured_row(machine, record)
    return sorted(best.values(), key=lambda r: (r.n_workers, r.seconds))


def measured_row(machine: Machine, record: dict) -> Row:
    row = Row(record["backend"], record["n_workers"], record["time_s"], record["variant"],
              record["value"], True, serial_s=record.get("other_time_s"), speedup_ci=_ci(record),
              pairs=record.get("pairs", 0),
              precise=bool(record.get("precise")), quiet=bool(record.get("quiet")))
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
    if not row.measured:
        text += "*"
    if row.measured and not row.precise:
        text += "~"
    if not row.quiet:  # a point's samples, or the load window of asv's samples (bench_lib.windows)
        text += "!"
    return text


def tied(best: Row, other: Row) -> bool:
    """Two measured speedups whose intervals overlap cannot be told apart."""
    if not (best.speedup_ci and other.speedup_ci):
        return False
    return best.speedup_ci[0] <= other.speedup_ci[1] and other.speedup_ci[0] <= best.speedup_ci[1]


def _candidates(table: list[Row]) -> list[Row]:
    """The rows a recommendation chooses from, best speedup first: the most workers, and
    the loop."""
    top_n = max(r.n_workers for r in table)
    candidates = [r for r in table if r.n_workers == top_n or r.backend == "serial"]
    return sorted(candidates, key=lambda r: -(r.speedup if r.speedup is not None else 0.0))


def recommend(machine: Machine, workload: str, table: list[Row]) -> str:
    """The backend with the best speedup at the most workers (measured interleaved where
    Ratios ran), or the loop if none beats it; a tie where the runner-up's interval
    overlaps; and what holds the others back."""
    if not table:
        return "no results"
    top_n = max(r.n_workers for r in table)
    candidates = _candidates(table)
    best = candidates[0]  # the loop (1.00x) wins where no backend beats it
    text = f"{best.backend} (n_workers={best.n_workers}, {best.variant}): {_s(best.seconds)}"
    if best.speedup is not None:
        text += f", {speedup_text(best)} over serial" + ("" if best.serial_s is None else f"'s {_s(best.serial_s)}")
    if best.efficiency is not None:
        text += f", {best.efficiency:.0%} of the machine's ceiling"
    ties = [r for r in candidates if r is not best and r.backend != "serial" and tied(best, r)]
    if ties:
        others = "; ".join(f"{r.backend} {speedup_text(r)}" for r in ties)
        text = f"tie: {text}; {others} (intervals overlap)"
    ceiling = machine.value(CEILING, workload=workload, n_workers=top_n)
    reasons = []
    if ceiling is not None and ceiling < 0.8 * top_n:
        reasons.append(f"the machine allows only {ceiling:.2f}x on {top_n} cores (memory-bound)")
    if best.backend == "serial":
        reasons.append("no backend beats the loop")
    if best.reason:
        reasons.append(best.reason)
    gap = machine.value(GAP, workload=workload, backend=best.backend, n_workers=top_n)
    if gap is not None and gap > 1.2:
        reasons.append(f"naive use is {gap:.1f}x slower here: place the input once")
    for other in [r for r in candidates if r is not best and r.backend != "serial"][:2]:
        text_other = f"{other.backend}"
        if other.speedup is not None:
            text_other += f" reaches {speedup_text(other)}"
        largest = other.overheads.largest()
        if largest:
            name, value, unit = largest
            text_other += f" (largest overhead: {name} {value:.3g} {unit})"
        reasons.append(text_other)
    return text + (" -- " + "; ".join(reasons) if reasons else "")


def _s(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def title(workload: str) -> str:
    """The workload's name with its table's fixed parameters: 'filter_bank (filter_size=5x5)'."""
    shown = ", ".join(f"{k}={v}" for k, v in workloads.get(workload).table_params.items())
    return workload + (f" ({shown})" if shown else "")


def render(machines: list[Machine]) -> str:
    lines = []
    for machine in machines:
        info = machine.info
        memory = info.get("memory_bytes")
        lines.append(f"== machine {machine.name}: {info.get('cpu_model', '?')}, "
                     f"{info.get('physical_cores', '?')} cores / {info.get('logical_cpus', '?')} CPUs, "
                     f"{'?' if memory is None else f'{memory / 2**30:.0f} GiB'}, "
                     f"{info.get('threads_per_worker', '?')} BLAS thread(s) per worker")
        for workload in workloads.names():
            table = rows(machine, workload)
            if not table:
                continue
            lines.append(f"\n-- {title(workload)}   [{workloads.get(workload).headline}]")
            header = (f"{'backend':<23}{'n':>2} {'variant':<12}{'time':>10}{'serial':>10}{'speedup':>15}{'effic.':>8}"
                      f"{'start s':>9}{'import s':>9}{'task ms':>9}{'new-pool':>9}{'MB/s':>8}")
            lines.append(header)
            for r in table:
                o = r.overheads
                lines.append(
                    f"{r.backend:<23}{r.n_workers:>2} {r.variant:<12}{_s(r.seconds):>10}"
                    f"{'-' if r.serial_s is None else _s(r.serial_s):>10}{speedup_text(r):>15}"
                    f"{_fmt(r.efficiency, '.0%'):>8}{_fmt(o.start_s, '.3f'):>9}"
                    f"{_fmt(o.import_s, '.3f'):>9}{_fmt(o.per_task_ms, '.3f'):>9}"
                    f"{_fmt(o.new_pool_per_task_ms, '.2f'):>9}{_fmt(o.transfer_mb_per_s, '.0f'):>8}")
            lines.append(f"recommended: {recommend(machine, workload, table)}")
        recommended = [(w, f"{b.backend} n={b.n_workers}", b.seconds) for w in workloads.names()
                       if (t := rows(machine, w)) and (b := _candidates(t)[0]).seconds is not None]
        costs = prices.cost_lines(machine.name, info.get("wall_s"), recommended)
        lines.extend(["", *costs] if costs else [])
        commits = sorted({c for s in machine.series.values() for c in s.commits})
        runs = sorted({p.get("run", "") for p in machine.points} - {""})
        lines.append("\n(serial: the serial loop's time for the row's work, in the measurement its speedup "
                     "comes from; speedup ±: half the 95% interval of paired rounds; * from separate runs' times, "
                     "not measured interleaved; ~ imprecise: the time cap came before ±3%; ! measured "
                     f"beside foreign load; results of commits {', '.join(commits)}"
                     + (f"; runs {', '.join(runs)}" if runs else "") + ")\n")
    return "\n".join(lines)


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
                "discarded": record.get("discarded", 0),
            })
    return out
