"""asv's results read into one ``Machine`` per folder of ``results/`` (what the report and
the gate read): ``results/benchmarks.json`` (parameter names and units) and
``results/<machine>/<commit>-<env>.json``, with the machine's ``sysinfo.jsonl`` and
``points.jsonl``. Each combination of a benchmark's parameters takes its value from the
newest result file that measured it, so runs of different parts of the suite on different
commits combine, even a run of part of one benchmark (``--bench``); every value keeps its
own commit. Values of another version of the benchmark (asv's ``version``: it timed other
work) are never mixed in. The benchmarks read are named here, besides each workload's
headline.
"""

from __future__ import annotations

import ast
import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench_lib.results import points, sysinfo, traces

# Each workload's own headline benchmark is its catalogue entry's (bench_lib.workloads).
SPEEDUP = "scaling.Ratios.track_speedup"
CEILING = "scaling.Ceiling.track_ceiling_speedup"
GAP = "scaling.Gap.track_naive_to_shared"
START = "overhead.Startup.track_start"
IMPORTS = "overhead.Imports.track_imports"
PER_TASK = "overhead.TaskOverhead.track_per_task"
TRANSFER = "overhead.Transfer.track_transfer_mbps"
GIL = "scaling.GilHeld.track_gil_held_share"
LOCK = "scaling.LockHeld.track_lock_held_share"
TRACES = traces.FILE
SMALL_SUFFIX = "-small"  # what ``run --quick`` and the small-size test series are named


class ReportError(RuntimeError):
    pass


@dataclass
class Series:
    """One benchmark's values over its parameter grid, each from the newest result file
    that measured it (``commits[i]`` is value i's commit; ``commit`` the newest of them)."""

    name: str
    param_names: list[str]
    params: list[list[Any]]
    values: list[float | None]
    commit: str
    unit: str = ""
    commits: list[str] | None = None  # not given: every value is ``commit``'s (filled in)
    cis: list[tuple[float, float] | None] | None = None  # asv's 99% interval of each value
    version: str | None = None  # asv's version of the benchmark (its code's hash)

    def __post_init__(self):
        self.commits = self.commits or [self.commit] * len(self.values)
        self.cis = self.cis or [None] * len(self.values)

    def commit_of(self, **wanted) -> str:
        """The commit of the value at ``wanted`` (``commit`` when not measured)."""
        for i, combo in enumerate(itertools.product(*self.params)):
            if all(dict(zip(self.param_names, combo)).get(k, v) == v for k, v in wanted.items()):
                if _measured(self.values[i]):
                    return self.commits[i]
        return self.commit

    def intervals(self) -> dict[tuple, tuple[float, float]]:
        """asv's 99% interval of each measured value, by its parameter values."""
        return {combo: ci for combo, ci, value in zip(itertools.product(*self.params), self.cis, self.values)
                if ci is not None and _measured(value)}

    def get(self, **wanted) -> float | None:
        """The first measured value at ``wanted`` parameters, or None."""
        for named, value in self.combos():
            if all(named[k] == v for k, v in wanted.items() if k in named):
                return value
        return None

    def combos(self):
        """(parameters by name, value) of every combination that has a measured value."""
        for combo, value in zip(itertools.product(*self.params), self.values):
            if _measured(value):
                yield dict(zip(self.param_names, combo)), value


def _measured(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


@dataclass
class Machine:
    name: str
    info: dict = field(default_factory=dict)
    series: dict[str, Series] = field(default_factory=dict)
    points: list[dict] = field(default_factory=list)  # points.jsonl, oldest first
    # Every commit's ceiling series, so an older run's speedups keep their own ceiling.
    ceilings: dict[str, Series] = field(default_factory=dict)
    traces: list[dict] = field(default_factory=list)  # traces.jsonl's summaries (no spans), oldest first
    runs: dict[str, dict] = field(default_factory=dict)  # each run's sysinfo.jsonl line

    @property
    def small(self) -> bool:
        """A smoke-test or small-size series: its figures time other work than the full size."""
        return self.name.endswith(SMALL_SUFFIX) or self.info.get("size") == "small"

    def discipline(self, record: dict) -> str:
        """The allocator discipline a point was measured under: the record's own, else its
        run's sysinfo line's (asv's times: the newest run of their commit); 'default' where
        neither says (glibc's: not recorded before the discipline was)."""
        commit = str(record.get("commit") or "-")[:8]
        line = self.runs.get(record.get("run") or "") or next(
            (line for line in reversed(self.runs.values()) if str(line.get("commit", ""))[:8] == commit), {})
        return record.get("malloc") or (line.get("allocator") or {}).get("discipline") or "default"

    def trace(self, workload: str, backend: str, n_workers: int, run: str | None) -> dict | None:
        """The summary of the trace of run ``run`` (else the newest) on one backend and count."""
        matches = [r for r in self.traces if (r.get("workload"), r.get("backend"), r.get("n_workers")) == (
            workload, backend, n_workers)]
        found = ([r for r in matches if r.get("run") == run] or matches or [{}])[-1]
        return found.get("summary")

    def value(self, benchmark: str, **params) -> float | None:
        s = self.series.get(benchmark)
        return s.get(**params) if s else None

    def ceiling_point(self, workload: str, n_workers: int, run: str | None) -> dict | None:
        """The ceiling measured in run ``run`` (points.jsonl, with its interval), or None."""
        found = None
        for record in self.points if run else ():
            if (record.get("kind"), record.get("workload"), record.get("n_workers"), record.get("run")) == (
                    "ceiling", workload, n_workers, run):
                found = record  # the newest wins
        return found

    def window(self, benchmark: str, combo: dict, commit: str) -> dict | None:
        """The newest load window (points.jsonl) over asv's samples of one combination of
        ``benchmark`` timed at ``commit``, or None (older results, or outside a run)."""
        want = points.window_combo({"benchmark": benchmark.rsplit(".", 1)[0], "params": combo})
        found = None
        for record in self.points:
            if (record.get("kind"), str(record.get("commit", ""))[:8]) == ("window", commit[:8]) and \
                    points.window_combo(record) == want:
                found = record
        return found

    def ceiling(self, workload: str, n_workers: int, commit: str | None = None) -> float | None:
        """The ceiling at ``n_workers``; with ``commit``, only one recorded at that commit
        (the same run as a speedup it divides), else missing."""
        s = self.series.get(CEILING) if commit is None else self.ceilings.get(commit[:8])
        return None if s is None else s.get(workload=workload, n_workers=n_workers)


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def read_index(results: Path) -> dict:
    """asv's ``benchmarks.json`` of a results folder: parameter names and units."""
    index = Path(results) / "benchmarks.json"
    if not index.is_file():
        raise ReportError(f"{index} not found: run the suite first (python -m bench_lib run)")
    try:
        return json.loads(index.read_text())
    except json.JSONDecodeError as exc:
        raise ReportError(f"{index} is not valid JSON ({exc}); restore it from git") from None


def read_file(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path} is not valid JSON ({exc})") from None
    except OSError as exc:
        raise ReportError(f"{path} cannot be read ({exc})") from None


def add_results(machine: Machine, data: dict, meta: dict) -> None:
    """Put one asv result file's series into ``machine``: its measured values replace
    older ones of the same combinations; the older file's other combinations stay, unless
    the benchmark's version changed (they timed other work)."""
    columns = data.get("result_columns", [])
    commit = data.get("commit_hash", "")[:8]
    for name, row in data.get("results", {}).items():
        entry = dict(zip(columns, row))
        params = [[_literal(v) for v in axis] for axis in entry.get("params") or []]
        values = entry.get("result")
        if values is None or name not in meta:
            continue
        names = meta[name].get("param_names", [])
        if len(names) != len(params):
            continue  # the benchmark's parameters changed since: not comparable
        pad = [None] * len(values)
        pairs = zip((entry.get("stats_ci_99_a") or []) + pad, (entry.get("stats_ci_99_b") or []) + pad)
        cis = [None if None in pair else pair for pair, _ in zip(pairs, values)]
        series = Series(name, names, params, list(values), commit, meta[name].get("unit", ""),
                        cis=cis, version=entry.get("version"))
        older = machine.series.get(name)
        machine.series[name] = merged(older, series) if older is not None else series
        if name == CEILING:
            machine.ceilings[commit] = series  # that run's own ceilings, for its speedups


def merged(older: Series, newer: Series) -> Series:
    """``newer`` with ``older``'s measured values where ``newer`` has none, over the union
    of both parameter grids; ``newer`` alone when the benchmark's version changed."""
    if older.version != newer.version:
        return newer

    def cells(s: Series) -> dict[tuple, tuple]:
        return {combo: cell for combo, *cell in zip(itertools.product(*s.params), s.values, s.commits, s.cis)}

    both = cells(older)
    both.update({combo: cell for combo, cell in cells(newer).items() if _measured(cell[0]) or combo not in both})
    axes = [list(axis) + [v for v in old_axis if v not in axis] for axis, old_axis in zip(newer.params, older.params)]
    grid = [both.get(combo, [None, newer.commit, None]) for combo in itertools.product(*axes)]
    return Series(newer.name, newer.param_names, axes, [c[0] for c in grid], newer.commit, newer.unit,
                  [c[1] for c in grid], [c[2] for c in grid], newer.version)


def machine_info(folder: Path) -> dict:
    """The newest line of ``sysinfo.jsonl`` (bench_lib run appends one per run)."""
    lines = sysinfo.read(folder)
    return lines[-1] if lines else {}


def load(results: Path) -> list[Machine]:
    """Every machine under ``results`` with the newest value of each benchmark."""
    results = Path(results)
    meta = read_index(results)
    machines = []
    for folder in sorted(p for p in results.iterdir() if p.is_dir()):
        # an upgrade check's points are two other stacks' (upgrade-check --recorded reads them)
        mine = [r for r in points.read(folder / points.FILE)[0] if "-upgrade-" not in r.get("run", "")]
        machine = Machine(folder.name, machine_info(folder), points=mine,
                          traces=traces.summaries(folder),
                          runs={line["run"]: line for line in sysinfo.read(folder) if line.get("run")})
        files = [read_file(path) for path in folder.glob("*.json") if path.name != "machine.json"]
        for data in sorted(files, key=lambda d: d.get("date", 0)):  # newest last: wins
            add_results(machine, data, meta)
        if machine.series:
            machines.append(machine)
    if not machines:
        raise ReportError(f"no results under {results}: run the suite first")
    return machines


def pick(machines: list[Machine], name: str | None, where: str, everything: bool = True) -> list[Machine]:
    """The machine called ``name``, or a one-line error; with no name, all of them, but
    small-size series only where no full-size one exists, unless ``everything``."""
    if name is None:
        full = [m for m in machines if not m.small]
        return machines if everything or not full else full
    chosen = [m for m in machines if m.name == name]
    if not chosen:
        raise ReportError(f"no results for machine {name!r} in {where}; have: "
                          f"{', '.join(m.name for m in machines)}")
    return chosen
