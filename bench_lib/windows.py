"""The foreign-load windows of asv's own samples.

asv times a ``time_*`` benchmark's samples itself, so the protocol's guard
(bench_lib.protocol) cannot retake one. But asv runs the benchmark's setup and teardown
around every sample (asv#966: setup hooks isolate timed calls), so a window from the end of
``harness.prepare`` (the setup) to the teardown holds one sample. The machine's load over it
is read with the run's guard and recorded in points.jsonl, inside a run only: the first
window of each combination (it was watched) and every loud one. The run's quiet record
(``points.run_quiet``) and the report's ``!`` marks read them.
"""

from __future__ import annotations

from . import points, protocol, ratios

_open: list = []  # the window of the sample asv is about to take: (guard, snapshot)
_watched: set = set()  # combinations of this process with a window recorded


def record(benchmark: str, params: dict, load: protocol.Load) -> dict:
    """One sample's window as points.jsonl keeps it."""
    return {"kind": "window", "benchmark": benchmark, "params": params, "wall_s": round(load.wall_s, 3),
            "foreign_cores": round(load.foreign_cores, 4), "steal": round(load.steal, 4), "quiet": load.quiet()}


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
    if points.run_file() is not None:  # in a run: its windows go beside its points
        guard = ratios.guard()
        _open.append((guard, guard.snapshot()))


def end(benchmark: object, params: tuple) -> dict | None:
    """End the window of this combination's sample (``benchmark``: the asv class instance,
    ``params``: its parameters as asv passes them, setup_cache's result first where there
    is one) and record it if :func:`kept`. Returns the window, or None if none was open."""
    if not _open:
        return None
    guard, before = _open.pop()
    names = getattr(type(benchmark), "param_names", [])
    out = record(benchmark_class(benchmark), dict(zip(names, params[len(params) - len(names):])),
                 guard.load(before, guard.snapshot()))
    if kept(out):
        points.write(out)
    return out
