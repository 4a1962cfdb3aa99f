"""What a point costs, and how a budget shrinks it.

A point's time is a part sampling decides (asv's samples of a time_* benchmark, the
protocol's pairs up to its time cap) and a part it does not (asv's start, the benchmark's
setup, priming, engine start). A budget can only shrink the first, and asv's sampling has
a floor: at least ``min_repeat`` samples (and two runs), however little time it is given.
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

from bench_lib.results import ledger, records, sysinfo
from bench_lib.results.benchmark import MIN_RUN_COUNT, Benchmark, Cost, samples  # noqa: F401 (re-exported)

# Per point, when this machine has no earlier duration for a benchmark.
FIRST_RUN_GUESS_S = {"full": 30.0, "small": 2.0}

# Benchmarks whose points stop at PARBENCH_POINT_CAP_S (the paired protocol of ratios.py).
CAPPED = ("scaling.",)


def _sampling(row: dict, indices) -> tuple[tuple[float, ...], float]:
    """(one sample's seconds at each measured point, mean seconds sampled per point) of an
    asv result row at ``indices``: result x number is a sample, times repeat the sampling."""
    if not isinstance(row.get("result"), list) or not isinstance(row.get("stats_number"), list):
        return (), 0.0
    one, spent = [], []
    for i in indices:
        value, number, repeat = (row[key][i] if i < len(row[key] or []) else None
                                 for key in ("result", "stats_number", "stats_repeat"))
        if isinstance(value, (int, float)) and not math.isnan(value) and number and repeat:
            one.append(value * number)
            spent.append(value * number * repeat)
    return tuple(one), (statistics.fmean(spent) if spent else 0.0)


def per_point(folder: Path, skips: dict[str, frozenset[int]]) -> dict[str, Cost]:
    """{benchmark: Cost per measured point} of one machine's folder: its latest wall time
    in the ledger (asv's start included; ``skips``, its n/a combinations, left out), else
    asv's latest recorded duration per number plus asv's start; of a time_* benchmark, the
    part of it that was sampling, from asv's row of the same file."""
    latest: dict[str, tuple[float, Cost]] = {}  # name -> (when, cost)
    rows = {}
    for path in folder.glob("*.json"):
        if path.name == "machine.json":
            continue
        try:
            rows[path.name] = ledger.load_rows(path)
        except (ValueError, KeyError):
            continue
    try:
        lines = (folder / ledger.LEDGER).read_text().splitlines()
    except FileNotFoundError:
        lines = []
    capped: dict[str, list[tuple[float, float]]] = {}  # name -> [(cap, seconds per point)], oldest first
    for line in lines:
        entry = json.loads(line)
        name = entry["benchmark"]
        done = sorted(set(entry["indices"]) - skips.get(name, frozenset()))
        if entry.get("took_s") and done and entry.get("cap_s"):
            capped.setdefault(name, []).append((entry["cap_s"], entry["took_s"] / len(done)))
            latest[name] = (float("inf"), _on_cap(capped[name]))
        elif entry.get("took_s") and done:
            latest[name] = (float("inf"), _split(entry["took_s"] / len(done), rows.get(entry["file"], {}).get(name),
                                                 done, entry.get("split")))
    for file_rows in rows.values():
        for name, row in file_rows.items():
            results = ledger.values(row)
            done = [i for i, v in enumerate(results) if isinstance(v, (int, float)) and not math.isnan(v)]
            when = row.get("started_at") or 0
            if row.get("duration") and done and when >= latest.get(name, (-1, None))[0]:
                latest[name] = (when, _split((row["duration"] + ledger.ASV_START_S) / len(done), row, done))
    return {name: cost for name, (_, cost) in latest.items()}


def _split(seconds: float, row: dict | None, indices, recorded: dict | None = None) -> Cost:
    """A point's cost: its sampling as its processes timed it (the ledger's ``split``,
    asv's calibration included) where recorded, else as asv's row implies it."""
    one, sampled = _sampling(row or {}, indices)
    if recorded and recorded.get("sampling_s"):
        sampled = recorded["sampling_s"] / len(indices)
    sampled = min(sampled, seconds)
    return Cost(seconds - sampled, one, sampled)


def _on_cap(history: list[tuple[float, float]]) -> Cost:
    """A protocol point's cost from its runs under time caps (oldest first). A point's
    sampling grows at most as fast as its cap, and only while it runs to the cap: one
    that took longer than its cap holds that much setup and least rounds, which do not
    shrink. Under two caps at least 1.5x apart, the line through the latest run and the
    latest under such another cap, its slope between flat and that bound (closer caps
    show the host's day more than the cap)."""
    cap, seconds = history[-1]
    other = next(((c, s) for c, s in reversed(history) if max(c, cap) >= 1.5 * min(c, cap)), None)
    bound = min(1.0, seconds / cap)
    slope = bound if other is None else min(max((seconds - other[1]) / (cap - other[0]), 0.0), bound)
    return Cost(seconds - slope * cap, (), slope * cap, cap)


def elsewhere(folder: Path, size: str, skips: dict[str, frozenset[int]]) -> list[dict[str, Cost]]:
    """per_point of every other machine beside ``folder`` whose last run was at ``size``
    (its sysinfo record says): what a machine's first run can plan from."""
    out = []
    for other in sorted(path.parent for path in folder.parent.glob(f"*/{records.SYSINFO}")):
        if other.resolve() == folder.resolve():
            continue
        runs = sysinfo.read(other)
        if runs and runs[-1].get("size") == size:
            out.append(per_point(other, skips))
    return out


def speed(own: dict[str, Cost], theirs: dict[str, Cost]) -> float:
    """How many times longer this machine takes per point than another: the median ratio
    over the benchmarks both measured; 1 when they share none (a machine's first run)."""
    ratios = [own[name].recorded_s / theirs[name].recorded_s for name in own.keys() & theirs.keys()
              if theirs[name].recorded_s > 0]
    return statistics.median(ratios) if ratios else 1.0


def estimate(benchmarks: list[Benchmark], folder: Path, size: str, cap_s: float | None = None) -> None:
    """Seconds per benchmark: its points that will be measured (n/a ones cost next to
    nothing: 4 took 4 s, asv's start) times a Cost per measured point: this machine's,
    else the median of other machines' at this size, each scaled by how much slower this
    machine ran what both measured, else a first-run guess. time_* points are costed at
    their own ``repeat``, protocol points at the time cap ``cap_s``."""
    skips = {bench.name: bench.skips for bench in benchmarks}
    own = per_point(folder, skips)
    others = [(theirs, speed(own, theirs)) for theirs in elsewhere(folder, size, skips)]
    for bench in benchmarks:
        cost, bench.source = own.get(bench.name), "measured"
        if cost is None:
            scaled = [theirs[bench.name].scaled(factor) for theirs, factor in others if bench.name in theirs]
            cost, bench.source = ((median(scaled, bench.repeat, cap_s), "elsewhere") if scaled
                                  else (Cost(FIRST_RUN_GUESS_S[size]), "guess"))
        bench.cost = cost
        bench.estimate_s = (len(bench.selected) - bench.n_a) * cost.at(bench.repeat, cap_s)


def median(costs: list[Cost], repeat: tuple | None, cap_s: float | None) -> Cost:
    """The median cost at ``repeat`` and ``cap_s``; of an even count, the two middle ones
    averaged part by part (their samples pooled), so that a budget still sees the floor."""
    costs = sorted(costs, key=lambda c: c.at(repeat, cap_s))
    middle = len(costs) // 2
    if len(costs) % 2:
        return costs[middle]
    a, b = costs[middle - 1:middle + 1]
    if a.sample_s and b.sample_s:
        return Cost((a.fixed_s + b.fixed_s) / 2, a.sample_s + b.sample_s, (a.sampled_s + b.sampled_s) / 2)
    if cap_s and a.cap_s and b.cap_s:
        return Cost((a.fixed_s + b.fixed_s) / 2, (), (a.at(cap_s=cap_s) - a.fixed_s + b.at(cap_s=cap_s) - b.fixed_s) / 2,
                    cap_s)
    return Cost((a.at(repeat) + b.at(repeat)) / 2)


def shrunk(repeat: tuple, factor: float) -> tuple:
    """asv's ``repeat`` with its time limit cut by ``factor`` (as the run passes it)."""
    low, high, seconds = repeat
    return (low, high, float(f"{seconds * factor:.2f}"))


def capped_at(cap_s: float, factor: float) -> float:
    """The protocol's time cap cut by ``factor`` (never below a second), as the run sets it."""
    return float(f"{max(1.0, cap_s * factor):.1f}")


def _shrinks(bench: Benchmark) -> bool:
    return bool(bench.repeat) or bench.name.startswith(CAPPED)


def _under(bench: Benchmark, factor: float, cap_s: float) -> float:
    """A benchmark's planned seconds with sampling cut by ``factor``: its estimate scaled
    the way its recorded cost scales (a time_* point's floor of samples kept), else by
    ``factor`` itself (a cost with no sampling record)."""
    cost = bench.cost
    if bench.repeat and cost and cost.sample_s:
        whole = cost.at(bench.repeat)
        return bench.estimate_s * cost.at(shrunk(bench.repeat, factor)) / whole if whole else 0.0
    if bench.repeat:
        return bench.estimate_s * factor
    if cost and cost.cap_s:
        whole = cost.at(cap_s=cap_s)
        return bench.estimate_s * cost.at(cap_s=capped_at(cap_s, factor)) / whole if whole else 0.0
    return bench.estimate_s * capped_at(cap_s, factor) / cap_s


def fit(benchmarks: list[Benchmark], budget_s: float, cap_s: float) -> tuple[dict, list[str]]:
    """Shorten sampling so the plan fits ``budget_s``: the protocol's per-point time cap and
    asv's ``repeat`` time of time_* benchmarks, by the largest one factor (down to a tenth)
    whose plan fits. Returns the environment to set and what it says; estimates are set in
    place. Setup and asv's least samples per point cannot shrink, so a budget below what
    they take is said, not promised."""
    scalable = [b for b in benchmarks if _shrinks(b)]
    fixed = sum(b.estimate_s for b in benchmarks if not _shrinks(b))
    planned = fixed + sum(b.estimate_s for b in scalable)
    if planned <= budget_s:
        return {}, [f"the plan (~{duration(planned)}) fits the budget of {duration(budget_s)}"]
    if not scalable:
        return {}, [f"budget {duration(budget_s)} < plan ~{duration(planned)}: nothing in it samples by time, "
                    f"so nothing can shrink: ~{duration(planned)} is the least this plan takes"]

    def total(factor: float) -> float:
        return fixed + sum(_under(b, factor, cap_s) for b in scalable)

    low, high = 0.1, 1.0
    if total(low) <= budget_s:
        for _ in range(40):  # total grows with the factor: bisect to the largest that fits
            middle = (low + high) / 2
            low, high = (middle, high) if total(middle) <= budget_s else (low, middle)
    factor, least = low, total(low)
    lines = [f"budget {duration(budget_s)} < plan ~{duration(planned)}: sampling cut to "
             f"{factor:.0%} of its usual time; less precise (wider intervals, more points marked imprecise):"]
    env, cap = {}, capped_at(cap_s, factor)
    for bench in scalable:
        before, bench.estimate_s = bench.estimate_s, _under(bench, factor, cap_s)
        change = f"~{duration(before)} -> ~{duration(bench.estimate_s)}"
        if bench.repeat:
            low, high, seconds = shrunk(bench.repeat, factor)
            bench.attributes = [f"repeat=({low},{high},{seconds:.2f})"]
            lines.append(f"  {bench.name}: asv samples for at most {seconds:.1f} s "
                         f"instead of {bench.repeat[2]:g} s ({change})")
        else:
            env["PARBENCH_POINT_CAP_S"] = f"{cap:.1f}"
            lines.append(f"  {bench.name}: each point stops at {cap:.1f} s instead of {cap_s:g} s ({change})")
    if least > budget_s:
        lines.append(f"  setup and asv's least samples cannot shrink: ~{duration(least)} is the least "
                     "this plan takes")
    return env, lines


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"
