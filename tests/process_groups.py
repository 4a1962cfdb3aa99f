"""Which parameter combinations of a benchmark may share one calling process, for tests
that run many combinations in one (tests/test_benchmarks.py, tests/test_models.py).

TensorFlow is not fork-safe and holds one thread setting per process: a combination that
loads it in the calling process runs in a spawned child, one per key, whichever class it
is of. ``GROUPS`` maps a benchmark class name to ``key(*combination)``; None (or a class not
listed): any process.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bench_lib import backends
from bench_lib.workloads.model_inference import tf_threads

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # the checkout's benchmarks/, as asv_classes.discover does
    sys.path.insert(0, str(ROOT))

from benchmarks.model_inference import ModelInference  # noqa: E402


def model_inference(backend: str, n_workers: int, variant: str, *_) -> tuple:
    """The backend and TensorFlow's threads in the *caller* (None when only workers load
    it): a process holds one thread setting, and one that loaded TensorFlow must not fork
    a pool afterwards."""
    in_caller = backends.backend_class(backend).in_caller(n_workers)
    return backend, tf_threads(variant) if in_caller else None


def model_inference_benchmark(backend, n_workers, variant, pinned):
    """ModelInference: None when skipped before anything is loaded (it may run anywhere)."""
    if ModelInference.skipped(backend, n_workers, variant, pinned):
        return None
    return model_inference(backend, n_workers, variant)


def imports(backend, n_workers, modules):
    """Imports: TensorFlow imported by tasks that run in the caller must stay out of a
    process that forks pools later: such combinations run in a spawned child."""
    in_caller = backends.backend_class(backend).in_caller(n_workers)
    return ("imports", backend, n_workers) if modules == "tensorflow" and in_caller else None


def scaling(workload, backend, n_workers):
    """Ratios and Gap: model_inference's serial side loads TensorFlow in the caller: those
    combinations run in a spawned child per backend."""
    return ("model_inference", backend) if workload == "model_inference" else None


def gil_held(workload):
    """GilHeld: model_inference's serial run loads TensorFlow in the caller with serial's
    threads, as ModelInference's serial reload does: the same child serves both."""
    return model_inference("serial", 1, "reload") if workload == "model_inference" else None


GROUPS = {"ModelInference": model_inference_benchmark, "Imports": imports, "Ratios": scaling, "Gap": scaling,
          "Traces": scaling, "GilHeld": gil_held}
