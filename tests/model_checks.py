"""model_inference runs for tests, each in a spawned child (TensorFlow stays out of pytest's
process): tests/test_models.py submits these by name, so they live in a module of their own."""

from __future__ import annotations

import numpy as np

from bench_lib import backends, config
from bench_lib.backends import affinity
from bench_lib.workloads.model_inference import fresh, WORKLOAD


def check(backend: str, n_workers: int, variant: str, pinned: bool = False) -> dict:
    """Predictions of a steady-state run, a first round and a run after it (for tests,
    in a spawned child). ``pinned`` also reads back the affinities pinning set and restored."""
    inputs = WORKLOAD.inputs(config.size(), n_workers=n_workers)
    engine = backends.warm(backend, n_workers, WORKLOAD.modules)
    out = {"steady": WORKLOAD.run(engine, inputs, variant)}
    if pinned:
        import psutil

        plan = affinity.pin(engine)
        out["plan"] = plan
    out["first"] = fresh(engine, inputs, variant)()
    out["again"] = WORKLOAD.run(engine, inputs, variant)
    if pinned:
        pids = [pid for pid in [*engine.worker_pids, *engine.actor_pids()] if psutil.pid_exists(pid)]
        out["pinned"] = {pid: affinity.affinity(pid) for pid in pids}
        affinity.unpin(engine)
        out["restored"] = {pid: affinity.affinity(pid) for pid in pids}
    return out


def reference() -> np.ndarray:
    """The serial answer: a plain loop reloading for each batch (loads TensorFlow here)."""
    return WORKLOAD.reference_answer(WORKLOAD.inputs(config.size(), n_workers=2))
