"""A workload ready to time on an engine: the combination checked (asv records n/a for one
that has no meaning), the inputs built, the engine warm, the first call made. What the asv
benchmarks' setups (through bench_lib.harness) and the protocol's rounds (bench_lib.measure.ratios)
both time, kept below both so neither imports the other."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from bench_lib import backends, config, workloads
from bench_lib.measure import windows

_primed: set[tuple] = set()


def skip_if(reason: str | None) -> None:
    """asv records a combination as n/a when its setup raises NotImplementedError: raise
    it when there is a reason."""
    if reason:
        raise NotImplementedError(reason)


@dataclass(frozen=True)
class Prepared:
    """One workload run, ready on a warm engine: calling it runs the workload once."""

    workload: workloads.Workload
    engine: backends.Backend
    inputs: workloads.Inputs
    variant: str

    def __call__(self) -> Any:
        return self.workload.run(self.engine, self.inputs, self.variant)


def n_workers() -> list[int]:
    return config.worker_counts()


def unsupported(workload: str, backend: str, n_workers: int, variant: str) -> str | None:
    """Why this combination has no meaning (asv records it as n/a), or None."""
    reason = workloads.get(workload).unsupported(backend, variant) or worker_limit(backend, n_workers)
    if reason:
        return reason
    cls = backends.backend_class(backend)
    if variant == workloads.SHARED.name and cls.shares_memory:
        return f"{backend} shares memory with the caller: 'shared' would repeat the unshared run"
    return None


def worker_limit(backend: str, n_workers: int) -> str | None:
    """Why ``backend`` cannot have ``n_workers`` here (serial has one), or None."""
    limit, why = backends.backend_class(backend).worker_limit()
    if n_workers > limit:
        return f"{backend}: n_workers={n_workers} exceeds {limit} ({why})"
    return None


def prepare(workload: str, backend: str, n_workers: int, variant: str, **params) -> Prepared:
    """``workload`` ready to run once on a warm ``backend`` (see :class:`Prepared`)."""
    skip_if(unsupported(workload, backend, n_workers, variant))
    wl = workloads.get(workload)
    marks = [time.perf_counter()]
    inputs = wl.inputs(config.size(), n_workers=n_workers, **params)
    marks.append(time.perf_counter())
    engine = backends.warm(backend, n_workers, wl.modules)
    marks.append(time.perf_counter())
    key = (workload, backend, n_workers, variant, tuple(sorted(params.items())))
    run = prepare_on(engine, wl, inputs, variant, prime=key not in _primed)
    _primed.add(key)
    marks.append(time.perf_counter())
    windows.setup_took(engine_s=marks[2] - marks[1], inputs_s=marks[1] - marks[0], warm_s=marks[3] - marks[2])
    windows.begin()
    return run


def prepare_on(engine: backends.Backend, wl: workloads.Workload, inputs: workloads.Inputs, variant: str,
               prime: bool = True) -> Prepared:
    """:func:`prepare` on an engine the caller holds (several at once: ``ratios.speedups``)."""
    if variant == workloads.SHARED.name:
        engine.share(inputs.data)  # placement is setup, never timed (memoised)
    run = Prepared(wl, engine, inputs, variant)
    if wl.warm_before_timing and prime:
        run()  # first call: placement, lazy imports, caches in workers
    return run
