"""Workloads: pure functions, importable by every worker, with a registry like backends.

A workload turns a size and its own parameters into ``Inputs``: one large read-only
``data`` object and a list of small per-task ``items``. ``task(data, item)`` is what a
worker runs and ``reduce`` combines the results in order, so every backend computes
exactly the same answer as serial.

Variants: ``naive`` ships the input with every task, as people first write it -- the
whole ``data``, or, for a workload with ``pack``, each task's own piece cut out and copied
(a chunked volume); ``shared`` places ``data`` once with the engine's own mechanism and
tasks carry only their item. A workload may add variants of its own (``extra``): a runner
and the backends it makes sense on, such as ``dask.array.map_overlap`` on Dask.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

from ..backends import Backend

VARIANTS = ("naive", "shared")


def apply_packed(task: Callable, packed: tuple) -> Any:
    """Run ``task`` on a (piece, item) pair that carries its own data (naive + pack)."""
    piece, item = packed
    return task(piece, item)


@dataclass(frozen=True)
class Variant:
    """A workload-specific way to run it, on the backends where it exists."""

    run: Callable[[Backend, "Inputs"], Any]
    backends: tuple[str, ...] | None = None  # None: every backend


@dataclass(frozen=True)
class Inputs:
    data: Any
    items: list
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Workload:
    name: str
    build: Callable[..., Inputs]  # build(size, **params) -> Inputs (cached by the module)
    task: Callable[[Any, Any], Any]
    reduce: Callable[[list], Any]
    modules: tuple[str, ...] = ("numpy", "scipy.signal")
    params: dict = field(default_factory=dict)  # name -> allowed values, for validation
    pack: Callable[[Any, Any], tuple] | None = None  # naive: (data, item) -> (piece, item)
    extra: dict[str, Variant] = field(default_factory=dict)
    uses_n_workers: bool = False  # build() sizes the batch to the workers (weak scaling)
    standard: tuple[str, ...] = VARIANTS  # which of naive/shared this workload runs
    prime: bool = True  # run once before timing; False where one run is long and cold-safe
    # The steady serial work without an engine, for speedups and the machine's ceiling
    # (default: ``serial``); and the (naive, shared) pair of variants whose ratio is the
    # cost of shipping state with every task.
    solo: Callable[[Inputs], Any] | None = None
    gap: tuple[str, str] = VARIANTS

    @property
    def variants(self) -> list[str]:
        return [*self.standard, *self.extra]

    def unsupported(self, backend: str, variant: str) -> str | None:
        if variant not in self.variants:
            return f"{self.name} has no variant {variant!r} (it has {self.variants})"
        allowed = self.extra[variant].backends if variant in self.extra else None
        if allowed is not None and backend not in allowed:
            return f"{self.name}: {variant!r} runs on {', '.join(self.extra[variant].backends)} only"
        return None

    def inputs(self, size: str, n_workers: int | None = None, **params) -> Inputs:
        for key, value in params.items():
            allowed = self.params.get(key)
            if allowed is None:
                raise ValueError(f"workload {self.name!r} has no parameter {key!r}")
            if value not in allowed:
                raise ValueError(f"{self.name}: {key}={value!r}; choose one of {list(allowed)}")
        if self.uses_n_workers:
            params["n_workers"] = n_workers or 1
        return self.build(size, **params)

    def run(self, backend: Backend, inputs: Inputs, variant: str = "naive"):
        """One complete run: tasks submitted, results gathered and reduced."""
        reason = self.unsupported(backend.name, variant)
        if reason:
            raise ValueError(reason)
        if variant in self.extra:
            return self.extra[variant].run(backend, inputs)
        if variant == "shared":
            results = backend.map(self.task, inputs.items, data=backend.share(inputs.data))
        elif self.pack is not None:
            packed = [self.pack(inputs.data, item) for item in inputs.items]
            results = backend.map(functools.partial(apply_packed, self.task), packed)
        else:
            results = backend.map(self.task, inputs.items, data=inputs.data)
        return self.reduce(results)

    def serial(self, inputs: Inputs):
        """The reference answer: a plain loop, no engine."""
        return self.reduce([self.task(inputs.data, item) for item in inputs.items])

    def baseline(self, inputs: Inputs):
        """The steady serial run speedups are measured against (a loop, no engine)."""
        return self.solo(inputs) if self.solo is not None else self.serial(inputs)


_REGISTRY = {
    "filter_bank": "bench_lib.workloads.filter_bank:WORKLOAD",
    "convolve2d": "bench_lib.workloads.convolve2d:WORKLOAD",
    "volume_gaussian": "bench_lib.workloads.volume_gaussian:WORKLOAD",
    "interpolators": "bench_lib.workloads.interpolators:WORKLOAD",
    "model_inference": "bench_lib.workloads.model_inference:WORKLOAD",
}


def names() -> list[str]:
    return list(_REGISTRY)


def get(name: str) -> Workload:
    try:
        module, _, attr = _REGISTRY[name].partition(":")
    except KeyError:
        raise ValueError(f"unknown workload {name!r}; choose one of: {', '.join(_REGISTRY)}") from None
    return getattr(importlib.import_module(module), attr)
