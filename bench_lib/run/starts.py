"""Engine start against workers, for the plan of a machine with other cores.

A point that starts an engine pays its start, and a process engine's start grows with its
workers: on a machine of N cores a point at n workers pays start(n), not the start this
machine's points paid. The plan fits start = a + b n per engine (StartFit) from
``overhead.StartGrowth`` (1, 2, 4, 8 workers) and ``overhead.Startup`` (this machine's
counts), and adds the difference (engine_starts), per point or once per run.
"""

from __future__ import annotations

import ast
import dataclasses
import math
import statistics
from pathlib import Path

from bench_lib import backends
from bench_lib.results import asv_results, records
from bench_lib.results.benchmark import Benchmark

START_SERIES = ("overhead.StartGrowth.track_start_growth", "overhead.Startup.track_start")
STARTS_PER_POINT = {"overhead.Startup.": 3, "overhead.StartGrowth.": 3}  # median of 3 cold starts
FIXED_AXIS = ("overhead.StartGrowth.",)  # its n_workers do not follow the cores: nothing to add
# Classes that start engines in every point even when the run keeps one engine per run.
START_MEASURING = ("overhead.Startup.", "overhead.StartGrowth.", "overhead.Imports.")
ENGINE_MODES = ("per-point", "once")
ONCE_ENGINES = ("ray", "dask")  # what ``--engines once`` starts once per run (config.engines)
T95 = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26, 10: 2.23}  # Student's t, 97.5%


@dataclasses.dataclass(frozen=True)
class StartFit:
    """Seconds to start one engine with n workers: ``a + b n`` (least squares over the
    measured points, ``b`` never below 0) and its range. With three worker counts or more
    the range is the line's 95% interval; with two, the flat line through the largest
    count (start stops growing) to start in proportion to workers (all of it per worker);
    with one (a 2-worker start alone), the same two bounds, and the line between them
    (half of the start per worker) as the estimate."""

    a: float
    b: float
    points: tuple[tuple[int, float], ...] = ()
    how: str = ""

    def at(self, n: float) -> float:
        return max(0.0, self.a + self.b * n)

    def range_at(self, n: float) -> tuple[float, float]:
        counts = sorted({k for k, _ in self.points})
        if len(counts) >= 3:
            m = len(self.points)
            mean = statistics.fmean(k for k, _ in self.points)
            sxx = sum((k - mean) ** 2 for k, _ in self.points)
            residual = sum((t - self.at(k)) ** 2 for k, t in self.points) / (m - 2)
            half = T95.get(m - 2, 2.0) * math.sqrt(residual * (1 / m + (n - mean) ** 2 / sxx))
            return max(0.0, self.at(n) - half), self.at(n) + half
        top = counts[-1]
        at_top = statistics.fmean(t for k, t in self.points if k == top)
        flat, proportional = (at_top, at_top * n / top)
        return (min(flat, proportional, self.at(n)), max(flat, proportional, self.at(n)))


def fit_start(points: list[tuple[int, float]]) -> StartFit | None:
    """The line ``a + b n`` through measured (workers, seconds) points (see StartFit)."""
    points = [(int(k), float(t)) for k, t in points if t is not None and not math.isnan(t)]
    counts = {k for k, _ in points}
    if not points:
        return None
    if len(counts) == 1:
        [k] = counts
        t = statistics.fmean(t for _, t in points)
        return StartFit(t / 2, t / (2 * k), tuple(points), f"one count ({k}): half its start taken per worker")
    mean_k = statistics.fmean(k for k, _ in points)
    mean_t = statistics.fmean(t for _, t in points)
    b = sum((k - mean_k) * (t - mean_t) for k, t in points) / sum((k - mean_k) ** 2 for k, _ in points)
    b = max(b, 0.0)
    return StartFit(mean_t - b * mean_k, b, tuple(points), f"least squares over {len(points)} points")


def start_points(folder: Path) -> dict[str, list[tuple[int, float]]]:
    """{backend: [(n_workers, seconds)]} of one machine's folder: StartGrowth's points where
    measured, and Startup's at counts StartGrowth did not measure; never a count whose
    tasks run in the caller (joblib at one worker, threads), which starts no pool."""
    machine = asv_results.Machine(folder.name)
    try:  # no index or an unreadable file: no start measured (the plan names bad files elsewhere)
        meta = asv_results.read_index(folder.parent)
        files = [asv_results.read_file(p) for p in folder.glob("*.json") if p.name != "machine.json"]
        for data in sorted(files, key=lambda d: d.get("date", 0)):
            asv_results.add_results(machine, data, meta)
    except (asv_results.ReportError, KeyError, TypeError, AttributeError, ValueError):
        return {}
    out: dict[str, list[tuple[int, float]]] = {}
    for name in START_SERIES:
        series = machine.series.get(name)
        for combo, value in series.combos() if series else ():
            if _in_caller(combo["backend"], combo["n_workers"]):
                continue  # no pool started (joblib's n=1, threads): not a start
            have = {k for k, _ in out.get(combo["backend"], [])}
            if combo["n_workers"] not in have or name == START_SERIES[0]:
                out.setdefault(combo["backend"], []).append((combo["n_workers"], value))
    return out


def _in_caller(backend: str, n_workers: int) -> bool:
    try:
        return backends.backend_class(backend).in_caller(n_workers)
    except backends.BackendError:  # a backend this version no longer has
        return False


def start_fits(folder: Path) -> dict[str, StartFit]:
    """Each engine's StartFit from ``folder``'s results, else from the other machines'
    beside it (their points pooled), engine by engine."""
    own = start_points(folder) if folder.is_dir() else {}
    pooled: dict[str, list[tuple[int, float]]] = {}
    for other in sorted(p for p in folder.parent.glob("*") if p.is_dir() and p.resolve() != folder.resolve()
                        and not p.name.endswith("-small")):
        for backend, found in start_points(other).items():
            pooled.setdefault(backend, []).extend(found)
    fits = {}
    for backend in own.keys() | pooled.keys():
        fitted = fit_start(own.get(backend) or pooled[backend])
        if fitted:
            fits[backend] = fitted
    return fits


def _n_workers(params: dict) -> int | None:
    raw = params.get("n_workers")
    return int(ast.literal_eval(raw)) if raw is not None else None


def engine_starts(benchmarks: list[Benchmark], fits: dict[str, StartFit], reference: float,
                  mode: str = "per-point", recorded: str = "per-point") -> tuple[float, float]:
    """Add to each benchmark's estimate the start its points pay beyond what its cost
    recorded (measured at ``reference`` workers, the mean of the recorded machine's counts):
    per point that starts an engine, STARTS_PER_POINT x (start(n) - start(reference)).
    With ``mode`` "once" (one Ray and one Dask cluster per run), their points shed the start
    they recorded, but for START_MEASURING classes and new-pool-per-call points, which
    start their own, and the first benchmark on each pays one start of its cluster at the
    most workers the run asks of it; other engines start per point as before. Costs
    ``recorded`` under "once" hold no Ray or Dask start in their warm points: none is shed,
    and per point each pays its whole start. Sets ``start_s`` and ``start_range`` on each
    benchmark; returns the range (low, high) of the whole plan's start adjustment."""
    if mode not in ENGINE_MODES:
        raise ValueError(f"engines mode must be one of {ENGINE_MODES}, got {mode!r}")
    once: dict[str, tuple[Benchmark, int]] = {}  # engine -> (its first benchmark, most workers)
    for bench in benchmarks:
        bench.start_s, bench.start_range = 0.0, (0.0, 0.0)
        if bench.name.startswith(FIXED_AXIS):
            continue
        count = next((k for prefix, k in STARTS_PER_POINT.items() if bench.name.startswith(prefix)), 1)
        measuring = mode == "per-point"
        added = low = high = 0.0
        for i, params in zip(bench.selected, bench.params):
            backend, n = ast.literal_eval(params.get("backend", "None")), _n_workers(params)
            fit = fits.get(backend)
            if fit is None or n is None or i in bench.skips:
                continue
            own_engine = bench.name.startswith(START_MEASURING) or params.get("pool") == "'per-call'"
            was = 0.0 if recorded == "once" and backend in ONCE_ENGINES and not own_engine else fit.at(reference)
            if measuring or backend not in ONCE_ENGINES or own_engine:
                lo, hi = fit.range_at(n)
                added, low, high = added + count * (fit.at(n) - was), low + count * (lo - was), high + count * (hi - was)
            else:
                added, low, high = added - was, low - was, high - was
                first, most = once.get(backend, (bench, n))
                once[backend] = (first, max(most, n))
        bench.start_s, bench.start_range = added, (low, high)
    for backend, (first, n) in once.items():
        lo, hi = fits[backend].range_at(n)
        first.start_s += fits[backend].at(n)
        first.start_range = (first.start_range[0] + lo, first.start_range[1] + hi)
    for bench in benchmarks:
        bench.estimate_s = max(0.0, bench.estimate_s + bench.start_s)
    return sum(b.start_range[0] for b in benchmarks), sum(b.start_range[1] for b in benchmarks)


def recorded_counts(folder: Path) -> float:
    """The mean n_workers of the points a machine's costs were recorded over: 1, 2, 4, ...
    up to its physical cores (its sysinfo), 2 cores where unknown."""
    cores = asv_results.machine_info(folder).get("physical_cores") if folder.is_dir() else None
    cores, counts, n = int(cores or 2), [], 1
    while n <= cores:
        counts.append(n)
        n *= 2
    counts += [cores] if counts[-1] != cores else []
    return statistics.fmean(counts)


def recorded_mode(folder: Path) -> str:
    """The engines mode of a machine's newest run (its sysinfo line's ``engines``), whose
    costs the plan reads; "per-point" before runs recorded one."""
    lines, _ = records.read(folder / records.SYSINFO)
    mode = lines[-1].get("engines") if lines else None
    return mode if mode in ENGINE_MODES else "per-point"
