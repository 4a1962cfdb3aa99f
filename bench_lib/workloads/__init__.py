"""Workloads: pure functions, importable by every worker, with a registry like backends.

A workload turns a size and its own parameters into ``Inputs``: one large read-only
``data`` object (the thing a naive program ships with every task) and a list of small
per-task ``items``. ``task(data, item)`` is what a worker runs and ``reduce`` combines
the results in order, so every backend computes exactly the same answer as serial.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

from ..backends import Backend

VARIANTS = ("naive", "shared")


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

    def inputs(self, size: str, **params) -> Inputs:
        for key, value in params.items():
            allowed = self.params.get(key)
            if allowed is None:
                raise ValueError(f"workload {self.name!r} has no parameter {key!r}")
            if value not in allowed:
                raise ValueError(f"{self.name}: {key}={value!r}; choose one of {list(allowed)}")
        return self.build(size, **params)

    def run(self, backend: Backend, inputs: Inputs, variant: str = "naive"):
        """One complete run: tasks submitted, results gathered and reduced."""
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}; choose one of {list(VARIANTS)}")
        data = backend.share(inputs.data) if variant == "shared" else inputs.data
        return self.reduce(backend.map(self.task, inputs.items, data=data))

    def serial(self, inputs: Inputs):
        """The reference answer: a plain loop, no engine."""
        return self.reduce([self.task(inputs.data, item) for item in inputs.items])


_REGISTRY = {
    "filter_bank": "bench_lib.workloads.filter_bank:WORKLOAD",
}


def names() -> list[str]:
    return list(_REGISTRY)


def get(name: str) -> Workload:
    try:
        module, _, attr = _REGISTRY[name].partition(":")
    except KeyError:
        raise ValueError(f"unknown workload {name!r}; choose one of: {', '.join(_REGISTRY)}") from None
    return getattr(importlib.import_module(module), attr)
