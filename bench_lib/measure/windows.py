"""The foreign-load windows of asv's own samples.

asv times a ``time_*`` benchmark's samples itself, so the protocol's guard
(bench_lib.measure.protocol) cannot retake one. But asv runs the benchmark's setup and teardown
around every sample (asv#966: setup hooks isolate timed calls), so a window from the end of
``harness.prepare`` (the setup) to the teardown holds one sample. The machine's load over it
is read with the run's guard and recorded in points.jsonl, inside a run only: the first
window of each combination (it was watched) and every loud one. The run's quiet record
(``windows.run_quiet``) and the report's ``!`` marks read them.

The same bracket says where a combination's process spent its time: its setups (by part,
as ``harness.prepare`` reports them), its samples, and at asv's last teardown the process's
life and the engines' close; one ``phases`` line per combination in ``phases.jsonl`` beside
the points (a file of its own, so no reader of points mistakes it for a point).
"""

from __future__ import annotations

import os
import time

from bench_lib import config
from bench_lib.backends import allocator
from bench_lib.measure import protocol
from bench_lib.results import points, records

_open: list = []  # the window of the sample asv is about to take: (guard, snapshot, meter, faults so far)
_watched: set = set()  # combinations of this process with a window recorded
_phase: dict = {}  # this process's combination so far: seconds by setup part, sampling, counts


def record(benchmark: str, params: dict, load: protocol.Load, faults: dict | None = None) -> dict:
    """One sample's window as points.jsonl keeps it, with the page faults of the benchmark's
    processes over it (bench_lib.backends.allocator) where they were counted."""
    out = {"kind": "window", "benchmark": benchmark, "params": params, "wall_s": round(load.wall_s, 3),
           "foreign_cores": round(load.foreign_cores, 4), "steal": round(load.steal, 4), "quiet": load.quiet()}
    if faults is not None:
        out.update(minor_faults=faults["minor"], major_faults=faults["major"])
    return out


def benchmark_class(benchmark: object) -> str:
    """'filter_bank.FilterBank': the class part of asv's benchmark names."""
    module = type(benchmark).__module__
    return f"{module.removeprefix('benchmarks.')}.{type(benchmark).__name__}"


def kept(window: dict) -> bool:
    """Whether a window is recorded: its combination's first in this process, or loud."""
    key = points.window_combo(window)
    first = key not in _watched
    _watched.add(key)
    return first or not window["quiet"]


def begin() -> None:
    """Start watching the rest of the machine for the sample asv is about to take."""
    _open.clear()
    _phase["sample_from"] = time.perf_counter()
    if points.run_file() is not None:  # in a run: its windows go beside its points
        guard, meter = protocol.guard(config.guard_on()), allocator.Meter()
        _open.append((guard, guard.snapshot(), meter, meter.read()))


def end(benchmark: object, params: tuple) -> dict | None:
    """End the window of this combination's sample (``benchmark``: the asv class instance,
    ``params``: its parameters as asv passes them, setup_cache's result first where there
    is one) and record it if :func:`kept`. Returns the window, or None if none was open."""
    if "sample_from" in _phase:
        _add(sampling_s=time.perf_counter() - _phase.pop("sample_from"), samples=1)
    if not _open:
        return None
    guard, before, meter, counted = _open.pop()
    faults = meter.delta(counted, meter.read())
    names = getattr(type(benchmark), "param_names", [])
    out = record(benchmark_class(benchmark), dict(zip(names, params[len(params) - len(names):])),
                 guard.load(before, guard.snapshot()), faults)
    if kept(out):
        points.write(out)
    return out


def _add(**amounts: float) -> None:
    for key, amount in amounts.items():
        _phase[key] = _phase.get(key, 0) + amount


def setup_took(engine_s: float, inputs_s: float, warm_s: float) -> None:
    """One setup's seconds by part, for this process's combination: asv runs setup before
    every sample, and only the first one usually pays (warm engine and inputs cached)."""
    _add(engine_s=engine_s, inputs_s=inputs_s, warm_s=warm_s, setups=1)


def finish(benchmark: str, index: int | None, life_s: float, teardown_s: float) -> dict:
    """This process's combination (``index`` into the product of its params) as
    phases.jsonl keeps it, written inside a run: the process's ``life_s`` up to asv's last
    teardown, its setups and samples within it, and that teardown's ``teardown_s``."""
    _phase.pop("sample_from", None)
    parts = {key: round(_phase.get(key, 0.0), 4) for key in ("engine_s", "inputs_s", "warm_s", "sampling_s")}
    out = {"kind": "phases", "benchmark": benchmark, "index": index, "life_s": round(life_s, 4),
           "setup_s": round(parts["engine_s"] + parts["inputs_s"] + parts["warm_s"], 4), **parts,
           "teardown_s": round(teardown_s, 4), "setups": _phase.get("setups", 0), "samples": _phase.get("samples", 0)}
    _phase.clear()
    where = points.run_file(records.PHASES)
    if where is not None:
        points.write(out, where)
    return out


def run_quiet(path: str | os.PathLike, run: str) -> dict:
    """How quiet the machine was over one run, from its points: how many there are, how
    many ended imprecise or were taken under foreign load anyway, the samples the load
    guard threw away; how many of asv's timed combinations were watched (their samples'
    load windows) and in how many a sample saw foreign load; and the most foreign cores
    beyond the clock's resolution (protocol.beyond_ticks)."""
    own = [r for r in points.read(path)[0] if r.get("run") == run]
    windows = [r for r in own if r.get("kind") == "window"]  # a combination's first, and loud ones
    measured = [r for r in own if r.get("kind") != "window"]
    combos = {points.window_combo(w) for w in windows}
    return {"points": len(measured),
            "imprecise": sum(not r.get("precise", True) for r in measured),
            "not_quiet": sum(not r.get("quiet", True) for r in measured),
            "discarded_samples": sum(r.get("discarded", 0) for r in measured),
            "windows": len(combos),
            "windows_not_quiet": len({points.window_combo(w) for w in windows if not w.get("quiet", True)}),
            "foreign_cores_max": round(max([r.get("foreign_cores_max", 0.0) for r in measured]
                                           + [_resolved(w) for w in windows], default=0.0), 3)}


def _resolved(window: dict) -> float:
    """A window's foreign cores beyond two clock ticks, from its record's cores and wall."""
    wall = window.get("wall_s", 0.0)
    return protocol.beyond_ticks(window.get("foreign_cores", 0.0) * wall, wall)
