"""What changed in the history, and what only moved with its host: the "what changed" page.

asv's own Regressions page lists every step its detector finds in a series. On cloud VMs
most of those steps are the host changing under the series (another VM, a faster or slower
day), or a change of how a point is measured (the allocator discipline), not a change of
the code. Here each history (one machine series, benchmark and parameter combination, in
the order measured) goes through asv's own step detection (``asv.step_detect``), and its
latest step counts only when the values on either side lie apart beyond their intervals
(or, where none were recorded, beyond their spread). A step that coincides with a change
of host (the run's sysinfo record, or the serial loop's time moving: the gate's own
``compare.host_shifts``) or of method (the allocator discipline a point records, the
engines' mode, the benchmark's code as asv versions it) is marked as such.

Everything but :func:`load` is a pure function over records, so tests build histories by
hand.
"""

from __future__ import annotations

import ast
import itertools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from asv import step_detect

from bench_lib import workloads
from bench_lib.publish import compare, report as rep
from bench_lib.results import points, sysinfo

# the points file's kinds that are one benchmark's value with its interval (others: checks)
KINDS = {"speedup": rep.SPEEDUP, "ceiling": rep.CEILING, "gap": rep.GAP}
HOST_FIELDS = ("cpu_model", "physical_cores", "logical_cpus", "platform")  # platform: kernel/VM build
MIN_SPREAD = 2  # a side without intervals needs this many points to show a spread at all


@dataclass(frozen=True)
class Entry:
    """One measured value of a history: its interval where recorded, which run (or commit)
    measured it, the host it ran on and how it was measured (field -> value)."""

    value: float
    low: float | None = None
    high: float | None = None
    label: str = ""
    host: tuple = ()
    method: tuple = ()  # ((field, value), ...): allocator, engines mode, benchmark version
    run: str | None = None  # the points run, for the serial loop's time (host_shifts)
    paired: bool = False  # a ratio measured interleaved: its interval holds across drift in its run

    @property
    def has_interval(self) -> bool:
        return self.low is not None and self.high is not None


@dataclass
class History:
    machine: str
    benchmark: str
    params: tuple  # ((name, value), ...)
    entries: list[Entry]
    stack: str = ""  # an asv matrix environment's engines; '' for the existing environment
    unit: str = ""

    @property
    def title(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.params)
        return f"{self.benchmark}({shown})" + (f" [{self.stack}]" if self.stack else "")


@dataclass
class Step:
    """The latest step of a history: ``after`` starts at entry ``position``; asv's fit puts
    the segment before it at ``left`` and the one after it up to ``right``."""

    history: History
    position: int
    before: float  # asv's fitted level of each side
    after: float
    beyond: bool  # the two sides lie apart beyond their intervals (or spread)
    reasons: list[str] = field(default_factory=list)  # host or method changes at the step
    left: int = 0
    right: int | None = None

    @property
    def ratio(self) -> float:
        return self.after / self.before

    @property
    def size(self) -> float:
        """How far the step goes, either way, on the log scale (for sorting)."""
        return abs(math.log(self.ratio)) if self.before > 0 and self.after > 0 else math.inf

    @property
    def host(self) -> bool:
        return any(r.startswith("host") for r in self.reasons)

    @property
    def method(self) -> bool:
        return any(r.startswith("method") for r in self.reasons)

    @property
    def changed(self) -> bool:
        """Beyond noise, with neither the host nor the method changing at the step."""
        return self.beyond and not self.reasons

    def sides(self) -> tuple[list[Entry], list[Entry]]:
        """The entries of the two segments either side of the step."""
        entries = self.history.entries
        return entries[self.left:self.position], entries[self.position:self.right]


def band(entries: list[Entry]) -> tuple[float, float]:
    """The range a side's values and their intervals cover."""
    lows = [e.low if e.has_interval else e.value for e in entries]
    highs = [e.high if e.has_interval else e.value for e in entries]
    return min(lows), max(highs)


def apart(before: list[Entry], after: list[Entry]) -> bool:
    """The two sides' bands do not overlap, and each side shows its noise: the interval of
    a ratio measured interleaved, or at least ``MIN_SPREAD`` values. One absolute time
    does not: asv's interval of it is within one run, and times drift by tens of percent
    between runs on a cloud VM (docs/validation.md)."""
    for side in (before, after):
        if not any(e.paired and e.has_interval for e in side) and len(side) < MIN_SPREAD:
            return False
    (low_a, high_a), (low_b, high_b) = band(before), band(after)
    return high_a < low_b or high_b < low_a


def latest_step(history: History) -> Step | None:
    """asv's piecewise-constant fit (``step_detect.detect_steps``) of the history; its last
    step, and whether that step lies beyond the sides' intervals. The sides are the last
    two segments of the fit. Weights: a point's relative precision where it has an
    interval (asv fills in the median weight for the others)."""
    entries = history.entries
    if len(entries) < 2:
        return None
    weights = [e.value / (e.high - e.low) if e.has_interval and e.high > e.low else None for e in entries]
    steps = step_detect.detect_steps([e.value for e in entries], weights)
    if len(steps) < 2:
        return None
    (left, _, before, _, _), (position, right, after, _, _) = steps[-2], steps[-1]
    return Step(history, position, before, after, apart(entries[left:position], entries[position:right]),
                left=left, right=right)


def host_reasons(a: Entry, b: Entry, shifts: list[compare.Shift], workload: str | None) -> list[str]:
    """Why the host under ``a`` and ``b`` differs: their sysinfo records, or the serial
    loop's time between their runs (``shifts``: of ``workload`` where the history has one)."""
    parts = []
    if a.host and b.host and a.host != b.host:
        parts.append(", ".join(name for name, x, y in zip(HOST_FIELDS, a.host, b.host) if x != y))
    shifted = [s for s in shifts if workload is None or s.workload == workload]
    if shifted:
        parts.append(f"{shifted[0]} in {shifted[0].workload}")
    return [f"host changed ({'; '.join(parts)})"] if parts else []


def workload_of(history: History) -> str | None:
    """The workload a history times: its ``workload`` parameter, or its benchmark's module
    (``volume_gaussian.VolumeGaussian.time_volume_gaussian``) where that names one."""
    named = dict(history.params).get("workload")
    module = history.benchmark.split(".", 1)[0]
    return named or (module if module in workloads.names() else None)


def method_reasons(a: Entry, b: Entry) -> list[str]:
    """How the method changed between ``a`` and ``b``: each field both record, and differ."""
    before, after = dict(a.method), dict(b.method)
    return [f"method changed ({name} {before[name]} -> {after[name]})" if name != "benchmark version"
            else "method changed (the benchmark's code: another asv version)"
            for name in before if name in after and before[name] != after[name]]


def serial_shifts(before: list[dict], after: list[dict]) -> list[compare.Shift]:
    """The gate's host-changed test between two runs' records: the serial loop's time of
    each workload, over the speedups measured the same way in both."""
    old, new = (compare.speedups(rep.Machine("", points=records)) for records in (before, after))
    alike = [k for k in old if k in new and compare.method(old[k]) == compare.method(new[k])]
    return compare.host_shifts({k: old[k] for k in alike}, {k: new[k] for k in alike})


def stamp(run: str) -> str:
    """When a run started, as its id says (``<commit>-YYYYMMDDTHHMMSS``): sorts in time."""
    found = re.search(r"\d{8}T\d{6}", run)
    return found.group(0) if found else run


def upgrade_run(run: str) -> bool:
    """A run of ``upgrade-check`` (``<commit>-upgrade-<time>-ray<version>``, bench_lib.cli):
    two engine stacks alternating in one session, judged by its own verdict, not a step
    in a history."""
    return "-upgrade-" in run


def bracket(a: str, b: str, runs: dict[str, list[dict]]) -> tuple[str, str] | None:
    """The nearest runs at or before ``a`` and at or after ``b`` that measured speedups
    (the serial loop's time): a run of asv's times alone measured none."""
    timed = sorted((r for r, records in runs.items()
                    if not upgrade_run(r) and any(x.get("kind") == "speedup" for x in records)), key=stamp)
    before = [r for r in timed if stamp(r) <= stamp(a)]
    after = [r for r in timed if stamp(r) >= stamp(b)]
    return (before[-1], after[0]) if before and after and before[-1] != after[0] else None


def classify(step: Step, runs: dict[str, list[dict]]) -> Step:
    """Mark ``step`` with the host and method changes between the entries either side of
    it; ``runs``: the machine's runs' points records (for the serial loop's time between
    the nearest runs either side that measured it)."""
    a, b = step.history.entries[step.position - 1], step.history.entries[step.position]
    pair = bracket(a.run, b.run, runs) if a.run and b.run else None
    shifts = serial_shifts(runs[pair[0]], runs[pair[1]]) if pair else []
    step.reasons = method_reasons(a, b) + host_reasons(a, b, shifts, workload_of(step.history))
    return step


def steps(histories: list[History], runs: dict[str, dict[str, list[dict]]]) -> list[Step]:
    """Each history's latest step, marked, the largest first; ``runs``: machine -> run ->
    its points records."""
    found = [classify(s, runs.get(s.history.machine, {})) for s in map(latest_step, histories) if s is not None]
    return sorted(found, key=lambda s: (-s.size, s.history.machine, s.history.title))


def summary(found: list[Step], histories: int) -> list[str]:
    """The page's plain statements, first things first."""
    beyond = [s for s in found if s.beyond]
    changed = sum(s.changed for s in beyond)
    host = sum(s.host for s in beyond)
    method = sum(s.method for s in beyond)
    both = sum(s.host and s.method for s in beyond)
    return [f"{changed} series changed beyond noise; {host} {'step coincides' if host == 1 else 'steps coincide'} "
            f"with a host change; {method} with a method change" + (f" ({both} with both)" if both else "") + ".",
            f"{histories} histories examined; in {len(found) - len(beyond)} others the latest step lies within "
            "noise (overlapping intervals, or a single absolute time on one side): not listed."]


# -- histories from records -------------------------------------------------------------
def _literal(text):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def host_of(line: dict) -> tuple:
    return tuple(line.get(name) for name in HOST_FIELDS) if line else ()


def engines_mode(record: dict) -> str | None:
    """The engines' mode a record names (local engines or a cluster), where it names one."""
    engines = record.get("engines")
    return record.get("engines_mode") or (engines.get("mode") if isinstance(engines, dict) else None)


def _method(record: dict, discipline: str, version: str | None = None) -> tuple:
    fields = [("allocator", discipline)]
    mode = engines_mode(record)
    if mode:
        fields.append(("engines mode", mode))
    if version:
        fields.append(("benchmark version", version))
    return tuple(fields)


def point_histories(machine: str, records: list[dict], sysinfo: list[dict]) -> list[History]:
    """One history per benchmark and parameters (with the point's variant) from the points file:
    one entry per run (its newest record), in the order the runs were measured."""
    lines = {line["run"]: line for line in sysinfo if line.get("run")}
    by_key: dict[tuple, dict[str, dict]] = {}
    for r in records:
        if r.get("kind") in KINDS and isinstance(r.get("value"), (int, float)) and r.get("run") and \
                not upgrade_run(r["run"]):
            params = tuple((k, r[k]) for k in ("workload", "backend", "n_workers", "variant") if k in r)
            by_key.setdefault((KINDS[r["kind"]], params), {})[r["run"]] = r  # the run's newest wins
    out = []
    for (benchmark, params), runs in sorted(by_key.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
        entries = []
        for run in sorted(runs, key=stamp):
            r = runs[run]
            low, high = r.get("ci") or (None, None)
            entries.append(Entry(r["value"], low, high, run, host_of(lines.get(run, {})),
                                 _method(r, compare.method(r)), run, paired=True))
        out.append(History(machine, benchmark, params, entries, unit="x"))
    return out


def asv_histories(machine: str, files: list[dict], index: dict, sysinfo: list[dict],
                  skip: dict[str, set[str]] | None = None) -> list[History]:
    """One history per benchmark, parameter combination and environment from asv's result
    files (one value per commit, asv's 99% interval where it has one), in the order asv
    started the benchmark. ``skip``: benchmark -> commits whose points-file runs give its
    history instead (the same values, with their 95% intervals and one entry per run)."""
    skip = skip or {}
    by_commit: dict[str, dict] = {}
    for line in sysinfo:  # the newest run of a commit, as asv keeps the newest value
        by_commit[str(line.get("commit", ""))[:8]] = line
    cells: dict[tuple, list[tuple[float, Entry]]] = {}
    for data in files:
        commit = data.get("commit_hash", "")[:8]
        named = {k: data.get("params", {}).get(k) for k in points.ENGINES}
        stack = ", ".join(f"{k} {v}" for k, v in named.items() if v is not None)
        line = by_commit.get(commit, {})
        discipline = (line.get("allocator") or {}).get("discipline") or "default"
        for name, row in data.get("results", {}).items():
            entry = dict(zip(data.get("result_columns", []), row))
            names = index.get(name, {}).get("param_names")
            axes = [[_literal(v) for v in axis] for axis in entry.get("params") or []]
            if names is None or len(names) != len(axes) or commit in skip.get(name, ()):
                continue
            pad = [None] * len(entry.get("result") or [])
            lows, highs = (entry.get("stats_ci_99_a") or pad) + pad, (entry.get("stats_ci_99_b") or pad) + pad
            for i, (combo, value) in enumerate(zip(itertools.product(*axes), entry.get("result") or [])):
                if not isinstance(value, (int, float)) or math.isnan(value):
                    continue
                low, high = lows[i], highs[i]
                interval = (low, high) if low is not None and high is not None else (None, None)
                cells.setdefault((name, tuple(zip(names, combo)), stack), []).append(
                    (entry.get("started_at") or data.get("date") or 0,
                     Entry(value, *interval, commit, host_of(line),
                           _method(line, discipline, entry.get("version")), line.get("run"))))
    return [History(machine, name, params, [e for _, e in sorted(found, key=lambda te: te[0])], stack,
                    index[name].get("unit", ""))
            for (name, params, stack), found in sorted(cells.items(), key=lambda kv: str(kv[0]))]


def load(results: Path) -> tuple[list[History], dict[str, dict[str, list[dict]]]]:
    """Every machine series' histories under ``results``, and (machine -> run -> records)
    its points."""
    results = Path(results)
    index = rep.read_index(results)
    histories, runs = [], {}
    for folder in sorted(p for p in results.iterdir() if p.is_dir()):
        records = points.read(folder / points.FILE)[0]
        machine = sysinfo.read(folder)
        for r in records:
            if r.get("run"):
                runs.setdefault(folder.name, {}).setdefault(r["run"], []).append(r)
        measured = point_histories(folder.name, records, machine)
        skip: dict[str, set[str]] = {}
        for r in records:
            if r.get("kind") in KINDS:
                skip.setdefault(KINDS[r["kind"]], set()).add(str(r.get("commit", ""))[:8])
        files = [rep.read_file(p) for p in sorted(folder.glob("*.json")) if p.name != "machine.json"]
        histories += measured + asv_histories(folder.name, files, index, machine, skip)
    return histories, runs
