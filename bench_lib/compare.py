"""``python -m bench_lib compare BASE NEW``: a regression gate on ratios, not times.

Absolute times on cloud VMs drift by tens of percent between runs; a speedup is measured
interleaved with its serial side in one process (scaling.Ratios), so both sides drift
together. Where both result sets carry the speedup's interval (points.jsonl), a change is
a regression only when the whole interval of new / base lies below ``1 / factor``; where
one lacks it (results from before intervals), when ``new < base / factor``. A result set
is a results folder (the newest value of each combination, as the report reads it), one asv
result file, a commit hash (prefix) looked up in ``results/<machine>/``, or a run id from
points.jsonl (two runs of one commit: an A/A comparison).
"""

from __future__ import annotations

import math
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import protocol, report as rep

TRACKED = (rep.SPEEDUP,)  # higher is better
KEY = ("workload", "backend", "n_workers")


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


def _one(machines: list[rep.Machine], machine: str | None, spec: str) -> rep.Machine:
    chosen = rep.pick(machines, machine, spec)
    if len(chosen) > 1:
        raise rep.ReportError(f"{spec} holds several machines ({', '.join(m.name for m in chosen)}): "
                              "choose one with --machine")
    return chosen[0]


def _commit(spec: str, root: Path | None) -> str:
    """A commit-ish (HEAD, a branch, a tag, a hash) as the 8-character prefix asv uses."""
    try:
        return subprocess.check_output(["git", "rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}"],
                                       cwd=root, text=True, stderr=subprocess.DEVNULL).strip()[:8]
    except (OSError, subprocess.CalledProcessError):
        # a hash passes through as its prefix; anything else (an unknown run id) matches nothing
        return spec[:8] if re.fullmatch(r"[0-9a-f]{4,40}", spec) else spec


def result_set(spec: str, results: Path, machine: str | None = None, root: Path | None = None) -> rep.Machine:
    """The series of a results folder, an asv result file, a commit or a run in ``results``."""
    path = Path(spec)
    if path.is_dir():
        return _one(rep.load(path), machine, spec)
    if path.is_file():
        found = rep.Machine(path.parent.name, rep.machine_info(path.parent))
        data = rep.read_file(path)
        rep.add_results(found, data, rep.read_index(path.parent.parent))
        commit = data.get("commit_hash", "")[:8]
        found.points = [r for r in _points(path.parent) if r.get("commit") == commit]
        return found
    runs = _run(Path(results), spec, machine)
    if runs is not None:
        return runs
    prefix = _commit(spec, root)
    files = sorted(Path(results).glob(f"*/{prefix}*.json")) if len(prefix) >= 4 else []
    files = [f for f in files if f.name != "machine.json" and (not machine or f.parent.name == machine)]
    if not files:
        raise rep.ReportError(f"{spec!r} is neither a results folder, a result file, a run nor a commit "
                              f"with results under {results} (git log shows the commits)")
    by_machine: dict[str, list[Path]] = {}
    for f in files:
        by_machine.setdefault(f.parent.name, []).append(f)
    name = _one([rep.Machine(m) for m in by_machine], machine, spec).name
    if len(by_machine[name]) > 1:  # one file per environment (asv.conf.json's matrix)
        raise rep.ReportError(f"{spec} has results from {len(by_machine[name])} environments on {name}: "
                              f"pass one file ({', '.join(str(f) for f in by_machine[name])})")
    return result_set(str(by_machine[name][0]), results)


def _points(folder: Path) -> list[dict]:
    from . import points

    return points.read(folder / points.FILE)[0]


def _run(results: Path, run: str, machine: str | None) -> rep.Machine | None:
    """The points of one run (its id as points.jsonl records it), or None."""
    found = []
    for folder in sorted(p for p in results.glob("*") if p.is_dir()):
        if machine and folder.name != machine:
            continue
        records = [r for r in _points(folder) if r.get("run") == run]
        if records:
            found.append(rep.Machine(folder.name, rep.machine_info(folder), points=records))
    return _one(found, machine, run) if found else None


def _speedups(machine: rep.Machine) -> dict[tuple, dict]:
    """The newest speedup point of each (workload, backend, n_workers): later lines win."""
    return {tuple(r[k] for k in KEY): r for r in machine.points if r.get("kind") == "speedup"}


def _speedup_changes(base: rep.Machine, new: rep.Machine):
    """Changes of measured speedups (points), keyed by workload, backend and n_workers."""
    before, after = _speedups(base), _speedups(new)
    changes, missing = [], []
    for key, old in before.items():
        params = dict(zip(KEY, key))
        now = after.get(key)
        if now is None:
            missing.append((rep.SPEEDUP, params))
            continue
        change = protocol.product_interval(interval(now), interval(old), power=-1)
        changes.append(Change(rep.SPEEDUP, params, old["value"], now["value"], change))
    return changes, missing


def compare(base: rep.Machine, new: rep.Machine, factor: float):
    """(tracked ratios present in both, those that fell by more than ``factor``, and the
    (benchmark, params) measured in ``base`` but missing or failed in ``new``)."""
    if factor < 1:
        raise ValueError(f"factor must be >= 1 (a drop to 1/factor fails), got {factor}")
    if _speedups(base) and _speedups(new):  # other points (ceilings, load windows) are not compared
        changes, missing = _speedup_changes(base, new)
        return changes, [c for c in changes if c.worse(factor)], missing
    changes, missing = [], []
    for name in TRACKED:
        old_series = base.series.get(name)
        if old_series is None:
            continue
        new_series = new.series.get(name)
        now = {tuple(sorted(p.items())): v for p, v in new_series.combos()} if new_series else {}
        for params, before in old_series.combos():
            value = now.get(tuple(sorted(params.items())))
            if value is None:
                missing.append((name, params))
            elif before > 0:
                changes.append(Change(name, params, before, value))
    return changes, [c for c in changes if c.worse(factor)], missing


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
    interval overlaps the fastest one's: those cannot be told apart."""
    top = max(r["n_workers"] for r in records)
    ranked = sorted((r for r in records if r["n_workers"] == top), key=lambda r: -r["value"])
    best = ranked[0]
    if best["value"] < 1.0:
        return "serial"
    tied = [r["backend"] for r in ranked[1:] if interval(best).overlaps(interval(r))]
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
    before, after = _speedups(base), _speedups(new)
    both = [k for k in before if k in after]
    agreed = sum(agrees(before[k], after[k]) for k in both)
    winners = {}
    for workload in sorted({k[0] for k in both}):
        pick = [[r for k, r in side.items() if k[0] == workload and k in after and k in before]
                for side in (before, after)]
        winners[workload] = (winner(pick[0]), winner(pick[1]))
    return agreed, len(both), winners
