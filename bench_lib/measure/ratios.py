"""Speedup and the naive-to-shared gap, measured once per point, together, through the protocol
(bench_lib.measure.protocol): both sides in one process, interleaved round by round, until the
interval is within 3% or the point's time cap is reached.

The serial side is the workload's ``serial_loop`` -- a loop in this process, no engine,
under the same BLAS thread limit as every worker -- on the very inputs the backend runs.
Efficiency is not measured again: it is the speedup over the ceiling of the same run
(bench_lib.publish.report divides them). Each point's samples, interval and load record go to
``points.jsonl`` (bench_lib.results.points) as soon as it is measured.
"""

from __future__ import annotations

import functools
import math
import os
import shutil
import sys
import tempfile
from typing import Any

from bench_lib import backends, config, workloads
from bench_lib.backends import allocator, _worker
from bench_lib.measure import ceiling, gil, protocol, runs
from bench_lib.results import points, traces

SERIAL = "serial"


def params_for(workload: str) -> dict[str, Any]:
    """The parameters a workload's ratios are measured at (its ``representative``), a copy."""
    return dict(workloads.get(workload).representative)


def guard():
    """The foreign-load guard, unless ``PARBENCH_GUARD=off`` (a machine where the run
    cannot see other processes, e.g. a container without /proc of its host)."""
    return protocol.guard(config.guard_on())


def best_variant(workload: str, backend: str, n_workers: int) -> str | None:
    """The variant a careful user runs here: the shared one where it means something."""
    wl = workloads.get(workload)
    for variant in (wl.gap_pair[1], *wl.variant_names):
        if not runs.unsupported(workload, backend, n_workers, variant):
            return variant
    return None


def unsupported(workload: str, backend: str, n_workers: int, what: str = "speedup") -> str | None:
    """Why this ratio has no meaning here (asv records n/a), or None."""
    if what == "gap":
        wl = workloads.get(workload)
        for variant in wl.gap_pair:
            reason = runs.unsupported(workload, backend, n_workers, variant)
            if reason:
                return reason
        return None
    if best_variant(workload, backend, n_workers) is None:
        return f"{workload}: no variant runs on {backend} with n_workers={n_workers}"
    return None


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


FAULT_KEYS = ("minor", "major", "compute")


def faults_of(m: protocol.Measurement, top: str, bottom: str) -> dict:
    """Each side's page faults per sample (aligned with its samples), where they were counted."""
    return {side: {key: [sample[key] for sample in m.faults[arm]] for key in FAULT_KEYS}
            for side, arm in (("top", top), ("bottom", bottom)) if arm in m.faults}


def record(kind: str, top: str, bottom: str, m: protocol.Measurement, **point) -> dict:
    """The published view of one measurement: ratio ``top / bottom`` with its interval,
    both sides' geometric mean times and samples, their page faults, the allocator
    discipline, and how quietly and precisely it was taken."""
    iv = m.ratio(top, bottom)
    faults = faults_of(m, top, bottom)
    return {
        "kind": kind, **point,
        "value": iv.estimate, "ci": [_finite(iv.low), _finite(iv.high)],
        "half_width": _finite(iv.half_width), "pairs": iv.pairs,
        "time_s": m.center(bottom), "other_time_s": m.center(top),
        "samples_s": {"top": m.times[top], "bottom": m.times[bottom]},
        "precise": m.precise or iv.half_width <= protocol.TARGET_HALF_WIDTH, "stopped": m.stopped,
        "discarded": m.discarded, "noisy": m.noisy, "quiet": m.quiet,
        "foreign_cores_max": max((load.foreign_cores_resolved for load in m.loads), default=0.0),
        "malloc": allocator.discipline(), **({"faults": faults} if faults else {}),
    }


# -- engine-driving: exercised with real engines (tests/test_engines.py, test_ceiling.py,
# test_runs.py), too slow for mutation testing, which covers the arithmetic above.
# pragma: no mutate block
def measured(kind: str, arms: dict, top: str, bottom: str, options: dict, **point) -> dict:
    """Measure ``top / bottom`` through the protocol (the run's cap and guard unless
    ``options`` say otherwise), record the point in points.jsonl and return it."""
    options = {"time_cap_s": config.point_cap_s(), "guard": guard(), **options}
    out = record(kind, top, bottom, protocol.measure(arms, bottom, **options), **point)
    points.write(out)
    return out


def prepare_best(workload: str, backend: str, n_workers: int) -> runs.Prepared:
    """The run a trace or tracing's cost is taken of (a speedup's: :func:`speedups`): the
    variant a careful user picks, at the workload's representative parameters, on the
    process's warm engine."""
    variant = best_variant(workload, backend, n_workers)
    if variant is None:
        raise ValueError(unsupported(workload, backend, n_workers))
    return runs.prepare(workload, backend, n_workers, variant, **params_for(workload))


def _against_serial(wl: workloads.Workload, inputs, arms: dict, options: dict, faults_in: str) -> protocol.Measurement:
    """The serial loop on ``inputs`` vs every warm run in ``arms``, in rotating rounds. The
    time cap grows with the arms, (k + 1) / 2 times a point's, so each backend gets about
    the rounds a pair of its own would (one arm: a point's cap). Every sample's page faults
    are counted, the loop's compute faults like a task's (bench_lib.backends.allocator)."""
    _worker.limit_threads(config.threads_per_worker())  # serial under the workers' limit (and allocator)
    loop = allocator.Counted(functools.partial(wl.serial_loop, inputs), faults_in)
    loop()  # its caches and imports are warm too
    options = {"time_cap_s": config.point_cap_s() * (len(arms) + 1) / 2, "guard": guard(),
               "meter": allocator.Meter(faults_in), **options}
    return protocol.measure({SERIAL: loop, **arms}, SERIAL, **options)


def fault_folder() -> str:
    """Where a measurement's tasks keep their fault tallies: memory, not disk, where it can."""
    return tempfile.mkdtemp(prefix="parbench-faults-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)




def group_for(workload: str, backend: str, n_workers: int) -> list[str]:
    """The backends whose speedups are measured together with this one: those of the
    run's group (``PARBENCH_SPEEDUP_GROUP``) that can run the workload here and idle
    quietly (a warm Dask or Ray would load the other arms' samples); else it alone."""
    named = [b for b in config.speedup_group() if b != SERIAL]
    group = [b for b in dict.fromkeys(named) if not backends.backend_class(b).busy_when_idle
             and not runs.worker_limit(b, n_workers) and best_variant(workload, b, n_workers)]
    return group if backend in group and len(group) > 1 else [backend]


def in_run(kind: str, workload: str, backend: str, n_workers: int, **options) -> dict:
    """This backend's ``kind`` ("speedup" or "gap") at ``n_workers``: one measurement gives
    both (:func:`speedups`), for the whole of its group, taken by the first point of the
    group that runs; later points of the run, of either kind, find theirs in the run's
    points file. A run killed mid-group measures what is missing."""
    done = _recorded(workload, n_workers)
    if backend in done[kind]:
        return done[kind][backend]
    group = group_for(workload, backend, n_workers)
    measured_here = done["speedup"]
    names = [b for b in group if b not in measured_here] if backend not in measured_here else [backend]
    return speedups(workload, names, n_workers, **options)[kind][backend]


def speedup_in_run(workload: str, backend: str, n_workers: int, **options) -> dict:
    return in_run("speedup", workload, backend, n_workers, **options)


def gap_in_run(workload: str, backend: str, n_workers: int, **options) -> dict:
    return in_run("gap", workload, backend, n_workers, **options)


def _recorded(workload: str, n_workers: int) -> dict[str, dict[str, dict]]:
    """This run's points of ``workload`` at ``n_workers`` measured in a group's rounds
    (:func:`speedups`), by kind ("speedup", "gap") and backend: one read of the file."""
    out: dict[str, dict[str, dict]] = {"speedup": {}, "gap": {}}
    for r in points.of_this_run():
        if r.get("kind") in out and (r.get("workload"), r.get("n_workers")) == (workload, n_workers) and r.get("group"):
            out[r["kind"]][r["backend"]] = r
    return out


def gap_arm(backend: str, naive: str) -> str:
    """The arm of a backend's naive variant in a group's rounds."""
    return f"{backend}/{naive}"


def speedups(workload: str, names: list[str], n_workers: int, **options) -> dict[str, dict[str, dict]]:
    """Serial loop vs every backend in ``names``, all warm at once (engines of its own,
    closed after), in rotating rounds (S B1 B2 ..., B1 B2 ... S, ...): one serial baseline
    for all, so a round costs one serial run instead of one per backend. Where the
    backend's run is the shared variant of the workload's gap pair, its naive variant is an
    arm of the same rounds, on the same engine: the gap is naive / shared of those samples,
    not a second measurement of the shared run. Once the rounds are done, each backend's
    run is traced once on its warm engine (bench_lib.measure.timeline: ``scaling.Traces`` reads it
    back). Returns {"speedup": {backend: point}, "gap": {backend: point}}."""
    wl = workloads.get(workload)
    naive, shared = wl.gap_pair
    inputs = wl.inputs(config.size(), n_workers=n_workers, **params_for(workload))
    engines, arms, variants, gaps = [], {}, {}, []
    backends.close_all()  # the process's warm engine: loky's is the same executor as a new one's
    folder = fault_folder()
    try:
        # Process pools start (and fork) before anything runs tasks in this process: a
        # thread engine's task may load TensorFlow here, which a later fork must not copy.
        for name in sorted(names, key=lambda b: backends.backend_class(b).in_caller(n_workers)):
            engine = backends.get(name, n_workers, join=True)  # warm runs: the run's cluster, if any
            engines.append(engine)
            engine.faults_in = folder
            engine.warm(wl.modules)
            variants[name] = best_variant(workload, name, n_workers)
            arms[name] = runs.prepare_on(engine, wl, inputs, variants[name])
            if variants[name] == shared and unsupported(workload, name, n_workers, "gap") is None:
                arms[gap_arm(name, naive)] = runs.prepare_on(engine, wl, inputs, naive)
                gaps.append(name)
        m = _against_serial(wl, inputs, arms, options, folder)
        out: dict[str, dict[str, dict]] = {"speedup": {}, "gap": {}}
        for name in names:
            out["speedup"][name] = record("speedup", SERIAL, name, m, workload=workload, backend=name,
                                          n_workers=n_workers, variant=variants[name], group=sorted(names))
            points.write(out["speedup"][name])
        for name in gaps:
            out["gap"][name] = record("gap", gap_arm(name, naive), name, m, workload=workload, backend=name,
                                      n_workers=n_workers, variant=f"{naive}/{shared}", group=sorted(names))
            points.write(out["gap"][name])
        for engine in engines:
            engine.faults_in = None  # traces time the bare map
        _trace_each(arms, names)
    finally:
        for engine in engines:
            engine.close()
        shutil.rmtree(folder, ignore_errors=True)
    return out


def _trace_each(arms: dict, names: list[str]) -> None:
    """The run's trace of each point, on the engines its rounds warmed (bench_lib.measure.timeline).
    The points are written first: a trace that fails loses none of them, and is said, and
    ``scaling.Traces`` then takes one of its own (and fails there, visibly, if it must)."""
    for name in names:
        try:
            traces.take(arms[name])
        except Exception as e:  # noqa: BLE001 -- the measured points stand without it
            print(f"parbench: {name}'s trace was not taken beside its speedup ({e!r}); "
                  f"scaling.Traces takes its own", file=sys.stderr, flush=True)


@functools.lru_cache(maxsize=None)
def ceiling_speedup(workload: str, n_workers: int) -> float:
    """The ceiling for one unit of the workload's serial work (inputs for one worker);
    one measurement per process and (workload, n_workers), whatever the backend."""
    return ceiling_point(workload, n_workers)["value"]


def ceiling_point(workload: str, n_workers: int, **options) -> dict:
    """The ceiling at ``n_workers`` (bench_lib.measure.ceiling) through the protocol, recorded in
    points.jsonl like a speedup (n=1 is 1 by definition: nothing measured or recorded)."""
    params = params_for(workload)
    if workloads.get(workload).sized_by_workers:
        params["n_workers"] = 1
    seconds = 0.5 if config.size() == "full" else 0.05  # one copy's share of a round
    options = {"time_cap_s": config.point_cap_s(), "guard": guard(), **options}
    result = ceiling.measure(workload, n_workers, params, min_seconds=seconds, **options)
    point = {"workload": workload, "backend": "none", "n_workers": n_workers,
             "variant": "shared input" if result.shared else "own inputs", "loops": result.loops}
    if result.measurement is None:
        return {"kind": "ceiling", **point, "value": 1.0, "ci": [1.0, 1.0]}
    out = record("ceiling", "alone", "together", result.measurement, **point)
    points.write(out)
    return out


def default_malloc_cost(workload: str, **options) -> dict:
    """What the workload's own serial loop pays under glibc's default allocator: its time
    there over its time under the fixed discipline, each in a process of its own started
    with that discipline (bench_lib.measure.ceiling.Copies), timed in alternating rounds, with each
    sample's page faults. ``1 - 1/value`` is the share of the default loop's time that the
    discipline removes: what parbench's arms no longer pay, and a user's loop still does."""
    params = params_for(workload)
    if workloads.get(workload).sized_by_workers:
        params["n_workers"] = 1
    base = allocator.without(dict(os.environ))
    folder = fault_folder()
    options = {"time_cap_s": config.point_cap_s(), "guard": guard(), "meter": allocator.Meter(folder), **options}
    try:
        with ceiling.Copies(workload, 1, params, environ={**base, "PARBENCH_MALLOC": "default"},
                            faults_in=folder) as default, \
             ceiling.Copies(workload, 1, params, environ={**base, "PARBENCH_MALLOC": "fixed",
                                                          **allocator.ENVIRONMENT}, faults_in=folder) as fixed:
            arms = {"default": lambda: default.alone(1), "fixed": lambda: fixed.alone(1)}
            m = protocol.measure(arms, "fixed", **options)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    out = record("malloc", "default", "fixed", m, workload=workload, backend=SERIAL, n_workers=1,
                 variant="default/fixed malloc")
    points.write(out)
    return out


def gil_held(workload: str, lock: bool = False) -> gil.Held:
    """The GIL-held share of the workload's serial loop at one worker (bench_lib.measure.gil), on
    its representative inputs under the workers' thread limit: what a thread pool cannot
    overlap, for the forecast of thread backends from n_workers=1. With ``lock``, the share
    inside its library's lock or the GIL, probed through ``Workload.lock_probe``."""
    wl = workloads.get(workload)
    if lock and wl.lock_probe is None:
        raise ValueError(f"{workload} names no lock its tasks take besides the GIL")
    inputs = wl.inputs(config.size(), n_workers=1, **params_for(workload))
    _worker.limit_threads(config.threads_per_worker())
    quick = {} if config.size() == "full" else {"rounds": gil.MIN_ROUNDS, "min_s": 0.05, "idle_s": 0.05, "budget_s": 2.0}
    return gil.measure(functools.partial(wl.serial_loop, inputs), probe=wl.lock_probe() if lock else None, **quick)


def locked_workloads() -> list[str]:
    """The workloads whose tasks take a lock of their library besides the GIL."""
    return [name for name in workloads.names() if workloads.get(name).lock_probe is not None]
