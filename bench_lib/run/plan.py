"""What a run will do: the benchmarks asv finds, the combinations selected, their
estimated time, the quick subset, a budget, and how they are batched into asv runs."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import itertools
import re
import sys
from pathlib import Path

from bench_lib import config
from bench_lib.results import ledger, records
from bench_lib.results.benchmark import Benchmark  # noqa: F401 (re-exported: plan.Benchmark)
from bench_lib.run import costs, starts
from bench_lib.run.costs import duration


@dataclasses.dataclass(frozen=True)
class Found:
    """A benchmark as asv_runner discovers it: its name, its combinations' names (asv
    matches ``--bench`` against these), its params as asv shows them, its sampling bound."""

    name: str
    combos: tuple[str, ...]
    params: tuple[tuple[str, ...], ...] = ()
    param_names: tuple[str, ...] = ()
    repeat: tuple | None = None
    skips: frozenset[int] = frozenset()
    extended: frozenset[int] = frozenset()  # beyond the default profile (the class's ``extended``)

    def first_in_profile(self, k: int) -> str:
        """The first value of parameter ``k`` that the default profile measures."""
        for i, combo in enumerate(itertools.product(*self.params)):
            if i not in self.extended:
                return combo[k]
        return self.params[k][0]


PROFILES = ("default", "extended")


def discover(root: Path) -> list[Found]:
    """Every benchmark under ``root/benchmarks``, found and named by asv_runner itself."""
    from asv_runner import discovery

    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    found = []
    for bench in discovery.disc_benchmarks(str(root / "benchmarks")):
        combos = tuple(f"{bench.name}({', '.join(c)})" for c in itertools.product(*bench.params))
        found.append(Found(bench.name, combos if bench.params else (), tuple(map(tuple, bench.params)),
                           tuple(bench.param_names if bench.params else ()), _repeat(bench), _skips(bench),
                           _extended(bench)))
    return sorted(found, key=lambda f: f.name)


def _owner(bench):
    """The class (or module) that defines an asv benchmark, as discovery imported it."""
    module, _, rest = bench.name.partition(".")
    owner = importlib.import_module(f"benchmarks.{module}")
    for part in rest.split(".")[:-1]:
        owner = getattr(owner, part)
    return owner


def _skips(bench) -> frozenset[int]:
    """The combinations (indices) that the benchmark's class says are n/a, through its
    ``skipped(*params)`` (the one its setup raises NotImplementedError from); none without one."""
    skipped = getattr(_owner(bench), "skipped", None) if bench.params else None
    if skipped is None:
        return frozenset()
    return frozenset(i for i, combo in enumerate(_values(bench)) if skipped(*combo))


def _values(bench):
    """Every combination of a discovered benchmark's parameters, as Python values."""
    return itertools.product(*[[ast.literal_eval(v) for v in axis] for axis in bench.params])


def _extended(bench) -> frozenset[int]:
    """The combinations (indices) only ``--profile extended`` measures: those with a value
    the class lists in ``extended = {param name: values}`` (sizes beyond its question)."""
    beyond = getattr(_owner(bench), "extended", None) if bench.params else None
    if not beyond:
        return frozenset()
    unknown = set(beyond) - set(bench.param_names)
    if unknown:
        raise ValueError(f"{bench.name}: 'extended' names no parameter {sorted(unknown)}")
    return frozenset(i for i, combo in enumerate(_values(bench))
                     if any(value in beyond.get(name, ()) for name, value in zip(bench.param_names, combo)))


def in_profile(found: list[Found], profile: str) -> set[str] | None:
    """The combination names ``profile`` measures (None: every one)."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}: use one of {', '.join(PROFILES)}")
    if profile == "extended":
        return None
    return {label for bench in found for i, label in enumerate(bench.combos or [bench.name])
            if i not in bench.extended}


def engines_mode() -> str:
    """How the run starts Ray and Dask: ``config.engines()`` (PARBENCH_ENGINES, ``run
    --engines``), "per-point" where config has no such setting."""
    engines = getattr(config, "engines", None)
    return engines() if engines else "per-point"


def make(root: Path, final: Path, size: str, patterns, quick_run: bool, fresh: bool, profile: str = "default",
         engines: str | None = None):
    """(to run, already recorded, combination names, points beyond the profile): the
    selection within ``profile``, less what ``final`` holds (unless ``fresh``), with
    estimates, engine starts at each point's workers included (``engines``: per-point
    or once per run; default engines_mode()). ``--quick`` alone is the smoke test."""
    found = discover(root)
    wanted = quick(found) if quick_run and not patterns else None
    everything, names = select(found, patterns, wanted)
    kept = in_profile(found, profile)
    benchmarks = everything if kept is None else select(found, patterns, kept & wanted if wanted else kept)[0]
    beyond = sum(len(b.selected) for b in everything) - sum(len(b.selected) for b in benchmarks)
    rows, done = ledger.read(final)
    skipped = [] if fresh else [b for b in benchmarks if ledger.recorded(b, rows, done)]
    todo = [b for b in benchmarks if b not in skipped]
    alone, shadows = [b for b in todo if b.name in GROUPED], []
    if len(alone) == 1 and not any(b.name in GROUPED for b in skipped):
        # One measurement times both, booked on whichever ran first: run alone, it pays the other's share too.
        [partner] = [f for f in found if f.name in GROUPED and f.name != alone[0].name]
        shadows = [Benchmark(partner.name, alone[0].selected, alone[0].total, skips=partner.skips)]
    costs.estimate([*todo, *shadows], final.parent, size, config.point_cap_s())
    folder = final.parent
    source = folder if folder.is_dir() else next(iter(sorted(folder.parent.glob(f"*/{records.SYSINFO}"))), folder).parent
    starts.engine_starts([*todo, *shadows], starts.start_fits(folder), starts.recorded_counts(source),
                         engines or engines_mode(), starts.recorded_mode(source))
    for shadow in shadows:
        alone[0].estimate_s += shadow.estimate_s
        alone[0].start_s += shadow.start_s
        alone[0].start_range = tuple(a + b for a, b in zip(alone[0].start_range, shadow.start_range))
    return todo, skipped, names, beyond


def _repeat(bench) -> tuple | None:
    """A time_* benchmark's sampling bound, with asv's defaults for ``repeat = 0``."""
    if not hasattr(bench, "repeat") or not hasattr(bench, "number"):
        return None
    if bench.repeat == 0:
        return (1, 10, 20.0) if bench.rounds == 1 else (1, 5, 10.0)
    return tuple(bench.repeat) if isinstance(bench.repeat, (tuple, list)) else (bench.repeat, bench.repeat, 20.0)


def select(found, patterns, only: set[str] | None = None) -> tuple[list[Benchmark], dict[str, list[str]]]:
    """The benchmarks ``--bench`` regexes select, the way asv filters them (and among
    ``only``, when given)."""
    picked, names = [], {}
    for bench in found:
        labels = list(bench.combos or [bench.name])
        chosen = [i for i, label in enumerate(labels) if (not patterns or any(re.search(p, label) for p in patterns))
                  and (only is None or label in only)]
        if chosen:
            combos = [dict(zip(bench.param_names, c)) for c in itertools.product(*bench.params)] if bench.params else []
            picked.append(Benchmark(bench.name, chosen, len(labels), repeat=bench.repeat,
                                    params=tuple(combos[i] for i in chosen) if combos else (), skips=bench.skips))
            names[bench.name] = labels
    return picked, names


# --quick without --bench: each benchmark runs serial, threads and one of these, in turn,
# so every engine goes through the run and every benchmark runs, in minutes.
QUICK_ENGINES = ("loky", "ray", "multiprocessing", "dask", "joblib-multiprocessing", "joblib-threading")


def quick(found: list[Found]) -> set[str]:
    """The smoke-test subset, as combination names: of each benchmark serial, threads and
    one engine in rotation as the backend, the most workers (serial: one), every variant
    on the engine (each variant's code runs somewhere), and the first value of every other
    parameter that the default profile measures."""
    out = set()
    for k, bench in enumerate(found):
        if not bench.params:
            out.add(bench.name)
            continue
        engine = repr(QUICK_ENGINES[k % len(QUICK_ENGINES)])
        named = list(zip(bench.param_names, bench.params))
        first = {name: bench.first_in_profile(j) for j, name in enumerate(bench.param_names)}

        def keep(name: str, value: dict, most: str) -> bool:
            if name == "backend":
                return value[name] in ("'serial'", "'threads'", engine)
            if name == "n_workers":
                return value[name] == most
            return value[name] == first[name] or (name == "variant" and value.get("backend") == engine)

        for label, combo in zip(bench.combos, itertools.product(*bench.params)):
            value = dict(zip(bench.param_names, combo))
            most = (min if value.get("backend") == "'serial'" else max)(
                dict(named).get("n_workers", ["0"]), key=int)  # serial runs on one worker only
            if all(keep(name, value, most) for name in bench.param_names):
                out.add(label)
    return out


def plan_lines(benchmarks: list[Benchmark], skipped: list[Benchmark], beyond: int = 0) -> list[str]:
    """The plan, per benchmark class: points and estimated time (and how many points only
    the extended profile measures)."""
    lines = []
    for group, members in itertools.groupby(benchmarks, key=lambda b: b.group):
        members = list(members)
        points, n_a = sum(len(b.selected) for b in members), sum(b.n_a for b in members)
        sources = {b.source for b in members}
        source = "  (first-run guess)" if "guess" in sources else "  (other machines)" if "elsewhere" in sources else ""
        lines.append(f"  {group:<42} {points:>5} points {f'({n_a} n/a)':>9}  "
                     f"~{duration(sum(b.estimate_s for b in members)):>7}{source}")
    total = sum(b.estimate_s for b in benchmarks)
    n_a = f"({sum(b.n_a for b in benchmarks)} n/a)"
    lines.append(f"  {'total':<42} {sum(len(b.selected) for b in benchmarks):>5} points {n_a:>9}  ~{duration(total):>7}")
    if any(b.start_s or b.start_range != (0.0, 0.0) for b in benchmarks):
        low, high = span(benchmarks)
        lines.append(f"  range ~{duration(low)} to ~{duration(high)}: engine starts at each point's workers "
                     f"(engines {engines_mode()}; start = a + b x workers per engine, starts.StartFit), "
                     "at the low and high ends of its fit")
    if beyond:
        lines.append(f"  {beyond} points of sizes beyond the benchmarks' questions are left out (--profile extended)")
    if skipped:
        lines.append(f"  resuming: {len(skipped)} benchmarks ({sum(len(b.selected) for b in skipped)} points) "
                     "already recorded for this commit, machine and Python are skipped (--fresh measures them again)")
    return lines

def span(benchmarks: list[Benchmark]) -> tuple[float, float]:
    """The plan's total at the low and high ends of its engine starts' range."""
    total = sum(b.estimate_s for b in benchmarks)
    fixed = total - sum(b.start_s for b in benchmarks)
    return (max(0.0, fixed + sum(b.start_range[0] for b in benchmarks)),
            max(total, fixed + sum(b.start_range[1] for b in benchmarks)))


def batches(benchmarks: list[Benchmark], limit: float) -> list[list[Benchmark]]:
    """Consecutive benchmarks planned at ``limit`` seconds or less together share one asv
    start (a kill loses at most that batch); a longer benchmark runs, and is saved, alone."""
    out: list[list[Benchmark]] = []
    for bench in benchmarks:
        last = out[-1] if out else None
        if (last and sum(b.estimate_s for b in last) + bench.estimate_s <= limit
                and bench.attributes == last[0].attributes):
            last.append(bench)
        else:
            out.append([bench])
    return out


GROUPED = ("scaling.Ratios.track_speedup", "scaling.Gap.track_naive_to_shared")


def speedup_group(benchmarks: list[Benchmark]) -> dict[str, str]:
    """The environment telling Ratios and Gap which backends this run measures, so the
    first point of a workload times them all, naive variants too, on one serial baseline
    (ratios.speedups)."""
    chosen = []
    for bench in benchmarks:
        if bench.name in GROUPED:
            for combo in bench.params:  # {'workload': "'filter_bank'", 'backend': "'loky'", ...}
                backend = ast.literal_eval(combo["backend"])
                chosen += [backend] if backend not in chosen else []
    return {"PARBENCH_SPEEDUP_GROUP": ",".join(chosen)} if chosen else {}


def summary(root: Path, machine: str, engines: str) -> dict:
    """The fresh full-size default-profile plan of everything, costed on ``machine``'s
    series, for the cores PARBENCH_PLAN_CORES names (read at the benchmarks' import):
    points, n/a, total and its range, in seconds. What docs/generate.py tabulates."""
    todo, _, _, _ = make(root, root / "results" / machine / "plan.json", "full", [], False, True, engines=engines)
    low, high = span(todo)
    return {"points": sum(len(b.selected) for b in todo), "n_a": sum(b.n_a for b in todo),
            "total_s": sum(b.estimate_s for b in todo), "low_s": low, "high_s": high}


if __name__ == "__main__":  # python -m bench_lib.run.plan MACHINE: the summary of each engines mode, as JSON
    import json

    print(json.dumps({mode: summary(Path(__file__).resolve().parents[2], sys.argv[1], mode)
                      for mode in starts.ENGINE_MODES}))
