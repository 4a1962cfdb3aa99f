"""``python -m bench_lib compare BASE NEW``: a regression gate on ratios, not times.

Absolute times on cloud VMs drift by tens of percent between runs; a speedup or an
efficiency is timed back to back in one process (scaling.Ratios), so both sides drift
together. The gate fails when a tracked ratio fell by more than ``factor`` between two
result sets: ``new < base / factor``. A result set is a results folder (the newest value
of each benchmark, as the report reads it), one asv result file, or a commit hash (prefix)
looked up in ``results/<machine>/``.
"""

from __future__ import annotations

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


def _pick(machines: list[rep.Machine], machine: str | None, spec: str) -> rep.Machine:
    if machine:
        chosen = [m for m in machines if m.name == machine]
        if not chosen:
            raise rep.ReportError(f"{spec}: no results for machine {machine!r} "
                                  f"(have: {', '.join(m.name for m in machines)})")
        return chosen[0]
    if len(machines) > 1:
        raise rep.ReportError(f"{spec} holds several machines ({', '.join(m.name for m in machines)}): "
                              "choose one with --machine")
    return machines[0]


def result_set(spec: str, results: Path, machine: str | None = None) -> rep.Machine:
    """The series of a results folder, an asv result file, or a commit in ``results``."""
    path = Path(spec)
    if path.is_dir():
        return _pick(rep.load(path), machine, spec)
    if path.is_file():
        found = rep.Machine(path.parent.name, rep.machine_info(path.parent))
        rep.add_results(found, rep.read_file(path), rep.read_index(path.parent.parent))
        return found
    files = sorted(Path(results).glob(f"*/{spec}*.json")) if len(spec) >= 4 else []
    files = [f for f in files if f.name != "machine.json" and (not machine or f.parent.name == machine)]
    if not files:
        raise rep.ReportError(f"{spec!r} is neither a results folder, a result file nor a commit "
                              f"with results under {results} (git log shows the commits)")
    machines = {}
    meta = rep.read_index(results)
    for f in sorted(files, key=lambda f: rep.read_file(f).get("date", 0)):
        found = machines.setdefault(f.parent.name, rep.Machine(f.parent.name, rep.machine_info(f.parent)))
        rep.add_results(found, rep.read_file(f), meta)
    return _pick(list(machines.values()), machine, spec)


def compare(base: rep.Machine, new: rep.Machine, factor: float) -> tuple[list[Change], list[Change]]:
    """(every tracked ratio present in both, those that fell by more than ``factor``)."""
    if factor < 1:
        raise ValueError(f"factor must be >= 1 (a drop to 1/factor fails), got {factor}")
    changes = []
    for name in TRACKED:
        old_series, new_series = base.series.get(name), new.series.get(name)
        if old_series is None or new_series is None:
            continue
        old = {tuple(sorted(p.items())): v for p, v in old_series.combos()}
        for params, value in new_series.combos():
            before = old.get(tuple(sorted(params.items())))
            if before is not None and before > 0:
                changes.append(Change(name, params, before, value))
    return changes, [c for c in changes if c.new < c.base / factor]
