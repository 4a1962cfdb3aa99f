"""``python -m bench_lib compare BASE NEW``: a regression gate on ratios, not times.

Absolute times on cloud VMs drift by tens of percent between runs; a speedup or an
efficiency is timed back to back in one process (scaling.Ratios), so both sides drift
together. The gate fails when a tracked ratio fell by more than ``factor`` between two
result sets: ``new < base / factor``. A result set is a results folder (the newest value
of each benchmark, as the report reads it), one asv result file, or a commit hash (prefix)
looked up in ``results/<machine>/``.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import report as rep

TRACKED = (rep.SPEEDUP, rep.EFFICIENCY)  # higher is better


@dataclass
class Change:
    benchmark: str
    params: dict
    base: float
    new: float

    @property
    def ratio(self) -> float:
        return self.new / self.base

    def __str__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return (f"{self.benchmark}({shown}): {self.base:.2f}x -> {self.new:.2f}x "
                f"({self.ratio - 1:+.0%})")


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
        return spec[:8]


def result_set(spec: str, results: Path, machine: str | None = None, root: Path | None = None) -> rep.Machine:
    """The series of a results folder, an asv result file, or a commit in ``results``."""
    path = Path(spec)
    if path.is_dir():
        return _one(rep.load(path), machine, spec)
    if path.is_file():
        found = rep.Machine(path.parent.name, rep.machine_info(path.parent))
        rep.add_results(found, rep.read_file(path), rep.read_index(path.parent.parent))
        return found
    prefix = _commit(spec, root)
    files = sorted(Path(results).glob(f"*/{prefix}*.json")) if len(prefix) >= 4 else []
    files = [f for f in files if f.name != "machine.json" and (not machine or f.parent.name == machine)]
    if not files:
        raise rep.ReportError(f"{spec!r} is neither a results folder, a result file nor a commit "
                              f"with results under {results} (git log shows the commits)")
    by_machine: dict[str, list[Path]] = {}
    for f in files:
        by_machine.setdefault(f.parent.name, []).append(f)
    name = _one([rep.Machine(m) for m in by_machine], machine, spec).name
    if len(by_machine[name]) > 1:  # one file per environment (asv.conf.json's matrix)
        raise rep.ReportError(f"{spec} has results from {len(by_machine[name])} environments on {name}: "
                              f"pass one file ({', '.join(str(f) for f in by_machine[name])})")
    return result_set(str(by_machine[name][0]), results)


def compare(base: rep.Machine, new: rep.Machine, factor: float):
    """(tracked ratios present in both, those that fell by more than ``factor``, and the
    (benchmark, params) measured in ``base`` but missing or failed in ``new``)."""
    if factor < 1:
        raise ValueError(f"factor must be >= 1 (a drop to 1/factor fails), got {factor}")
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
    return changes, [c for c in changes if c.new < c.base / factor], missing
