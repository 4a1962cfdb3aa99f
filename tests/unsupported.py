"""The benchmark combinations asv records as n/a (``setup`` raises NotImplementedError),
written out by hand from what each combination means -- never computed from
``bench_lib.harness.unsupported`` or the backends' flags. tests/test_skips.py holds every
benchmark's ``setup`` to it, over every combination of every class.

A row is (classes, pattern, reason). It matches a combination of one of ``classes`` when
every parameter the pattern names has a matching value: a value, a tuple of values,
``Not(values...)`` or ``Above(n)``. A combination skips iff some row matches it. Rows
describe this machine's local engines (no ``RAY_ADDRESS`` / ``DASK_SCHEDULER_ADDRESS``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Not:
    """Any value except these."""

    values: tuple

    def __init__(self, *values):
        object.__setattr__(self, "values", values)

    def __call__(self, value) -> bool:
        return value not in self.values


@dataclass(frozen=True)
class Above:
    """Any number greater than ``bound``."""

    bound: int

    def __call__(self, value) -> bool:
        return value > self.bound


# Every benchmark class under benchmarks/; one missing here (or new there) fails the test
# until its rows, or its having none, are written down.
CLASSES = (
    "FilterBank", "Convolve2D", "VolumeGaussian", "VolumeGraph",
    "Interpolators", "InterpolatorChunks", "InterpolatorSize", "ModelInference",
    "Startup", "Imports", "Transfer", "TaskOverhead", "PoolReuse", "Harness",
    "Ceiling", "Ratios", "Gap", "Traces", "GilHeld", "LockHeld",  # GilHeld, LockHeld: every workload they list, no rows
    "DefaultMalloc",  # every workload, no rows
    "StartGrowth",  # past the cores on purpose: every combination runs, no rows
)

WORKLOAD_CLASSES = ("FilterBank", "Convolve2D", "VolumeGaussian", "Interpolators", "ModelInference")
# Backends whose tasks see the caller's objects: placing ``data`` once changes nothing.
SHARES_MEMORY = ("serial", "threads", "joblib-threading")
EVERY_POOL = (*WORKLOAD_CLASSES, "InterpolatorChunks", "Startup", "Imports", "TaskOverhead",
              "PoolReuse", "Ratios", "Gap", "Traces")

SKIPS = [
    (EVERY_POOL, {"backend": "serial", "n_workers": Above(1)},
     "serial is one loop in the caller: it has one worker"),
    (("FilterBank", "Convolve2D", "VolumeGaussian", "Interpolators"),
     {"backend": SHARES_MEMORY, "variant": "shared"},
     "tasks already see the caller's data: 'shared' would repeat the naive run"),
    (("VolumeGaussian",), {"variant": "map_overlap", "backend": Not("dask", "threads")},
     "dask.array's map_overlap runs on a Dask scheduler: distributed or threaded"),
    (("VolumeGaussian",), {"variant": "whole", "backend": Not("serial")},
     "one unchunked call has nothing to spread over workers"),
    (("ModelInference",), {"variant": "tf-threads", "backend": Not("serial")},
     "TensorFlow's own intra-op threads in one process, the alternative to a pool"),
    (("ModelInference",), {"variant": "actors", "backend": Not("ray")},
     "actors are Ray's"),
    (("ModelInference",), {"pinned": True, "backend": SHARES_MEMORY},
     "tasks run in the caller's process: no worker process to pin"),
    (("ModelInference",), {"pinned": True, "backend": ("loky", "joblib-multiprocessing"), "n_workers": 1},
     "joblib runs a single job in the caller: no worker process to pin"),
    (("Transfer",), {"backend": SHARES_MEMORY, "path": "shared"},
     "tasks already see the caller's array: nothing to place"),
    (("Transfer",), {"backend": "multiprocessing", "path": "shared"},
     "multiprocessing places an object by restarting its pool: a start, not a transfer"),
    (("Gap",), {"backend": SHARES_MEMORY,
                "workload": ("filter_bank", "convolve2d", "volume_gaussian", "interpolators")},
     "the shared side of the workload's naive/shared pair does not exist there"),
    (("Harness",), {"backend": "serial"},
     "serial is a loop in the caller: no engine of its own to hold Backend.map against"),
]


def matches(pattern, value) -> bool:
    if callable(pattern):
        return pattern(value)
    if isinstance(pattern, tuple):
        return value in pattern
    return value == pattern


def reason(cls_name: str, named: dict) -> str | None:
    """The table's reason why this combination (param name -> value) skips, or None."""
    for classes, pattern, why in SKIPS:
        if cls_name in classes and all(k in named and matches(p, named[k]) for k, p in pattern.items()):
            return why
    return None
