"""What an asv benchmark's ``setup`` calls, so benchmark modules stay one line per method.

``prepare`` checks the combination first (cheap: no engine is imported to skip one), then
reuses the process's warm backend, builds the cached inputs, places them for the
``shared`` variant and runs the workload once per process (unless the workload opts out:
a run of tens of seconds that has nothing left to warm), so a ``time_*`` method times
exactly one steady-state run. Cold costs are measured on their own elsewhere.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from . import backends, config, overhead, workloads

BACKENDS = config.selected("PARBENCH_BACKENDS", backends.names())

_primed: set[tuple] = set()


class LongRuns:
    """asv sampling for benchmarks whose one run takes seconds: each sample is one run
    (setup already primed one), 2-5 samples within 30 s, one round, no warm-up."""

    number = 1
    repeat = (2, 5, 30.0)
    rounds = 1
    warmup_time = 0


class VeryLongRuns(LongRuns):
    """One run takes 10-40 s: one sample, more only while they fit in 20 s."""

    repeat = (1, 3, 20.0)


def n_workers() -> list[int]:
    return config.worker_counts()


def variants(workload: str) -> list[str]:
    return workloads.get(workload).variant_names


def unsupported(workload: str, backend: str, n_workers: int, variant: str) -> str | None:
    """Why this combination has no meaning (asv records it as n/a), or None."""
    reason = workloads.get(workload).unsupported(backend, variant) or worker_limit(backend, n_workers)
    if reason:
        return reason
    cls = backends.backend_class(backend)
    if variant == "shared" and cls.shares_memory:
        return f"{backend} shares memory with the caller: 'shared' would repeat the unshared run"
    return None


def worker_limit(backend: str, n_workers: int) -> str | None:
    """Why ``backend`` cannot have ``n_workers`` here (serial has one), or None."""
    limit, why = backends.backend_class(backend).worker_limit()
    if n_workers > limit:
        return f"{backend}: n_workers={n_workers} exceeds {limit} ({why})"
    return None


def prepare_per_call(workload: str, backend: str, n_workers: int, variant: str, **params) -> Callable[[], Any]:
    """Like :func:`prepare`, but each call starts a pool of its own and closes it after
    (``with Pool() as p: p.map(...)`` inside a loop). No warm engine is kept alongside."""
    reason = unsupported(workload, backend, n_workers, variant)
    if reason:
        raise NotImplementedError(reason)
    backends.close_all()
    overhead.import_engine(backends.backend_class(backend))
    inputs = workloads.get(workload).inputs(config.size(), n_workers=n_workers, **params)
    return functools.partial(overhead.on_new_pool, workload, backend, n_workers, variant, inputs)


def prepare(workload: str, backend: str, n_workers: int, variant: str, **params) -> Callable[[], Any]:
    """A zero-argument callable running ``workload`` once on a warm ``backend``."""
    reason = unsupported(workload, backend, n_workers, variant)
    if reason:
        raise NotImplementedError(reason)
    wl = workloads.get(workload)
    inputs = wl.inputs(config.size(), n_workers=n_workers, **params)
    engine = backends.warm(backend, n_workers, wl.modules)
    if variant == "shared":
        engine.share(inputs.data)  # placement is setup, never timed (memoised)
    run = functools.partial(wl.run, engine, inputs, variant)
    key = (workload, backend, n_workers, variant, tuple(sorted(params.items())))
    if wl.warm_before_timing and key not in _primed:
        run()  # first call: placement, lazy imports, caches in workers
        _primed.add(key)
    return run


def prepared(run: Callable[[], Any]) -> tuple[backends.Backend, workloads.Inputs]:
    """The warm backend and the inputs that a callable from :func:`prepare` runs on."""
    engine, inputs, _variant = run.args
    return engine, inputs


def data_bytes(workload: str, **params) -> int:
    """Size of a workload's input at the configured size, for memory ratios."""
    return workloads.get(workload).inputs(config.size(), **params).data.nbytes
