"""What an asv benchmark's ``setup`` calls, so benchmark modules stay one line per method.

``prepare`` checks the combination first (cheap: no engine is imported to skip one), then
reuses the process's warm backend, builds the cached inputs, places them for the
``shared`` variant and runs the workload once per process (unless the workload opts out:
a run of tens of seconds that has nothing left to warm), so a ``time_*`` method times
exactly one steady-state run. Cold costs are measured on their own elsewhere.

Benchmark modules reach bench_lib only through this module, so what a benchmark may call
is listed here: its functions, and the measurement modules ``overhead``, ``ratios`` and ``timeline``
(``from bench_lib.harness import overhead``) for the benchmarks that time those pieces.
"""

from __future__ import annotations

import itertools
import os
import pickle
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import psutil

from bench_lib import backends, config, workloads
from bench_lib.backends import memory
from bench_lib.backends.affinity import pin, pin_unsupported, unpin  # noqa: F401 (re-exported for benchmarks)
from bench_lib.measure import overhead, ratios, timeline, windows  # noqa: F401 (ratios, timeline: re-exported)
from bench_lib.measure.runs import (  # noqa: F401 (re-exported: a benchmark's one import)
    Prepared,
    n_workers,
    prepare,
    prepare_on,
    skip_if,
    unsupported,
    worker_limit,
)

BACKENDS = config.selected("PARBENCH_BACKENDS", backends.names())

class Windowed:
    """asv calls ``teardown`` after each sample: close its load window there (a subclass
    with a teardown of its own calls this one too)."""

    def teardown(self, *params):
        windows.end(self, params)


class SteadyRuns(Windowed):
    """asv sampling for a run that ``prepare`` has already primed: no asv warm-up, and one
    round (asv's default of two starts every engine twice per point, in two processes);
    3-10 samples within 5 s, each of asv's auto-calibrated number of calls."""

    rounds = 1
    warmup_time = 0
    repeat = (3, 10, 5.0)


class LongRuns(Windowed):
    """asv sampling for benchmarks whose one run takes seconds: each sample is one run
    (setup already primed one), 2-5 samples within 30 s, one round, no warm-up."""

    number = 1
    repeat = (2, 5, 30.0)
    rounds = 1
    warmup_time = 0


class VeryLongRuns(LongRuns):
    """One run takes 10-40 s: one sample, more only while they fit in 20 s."""

    repeat = (1, 3, 20.0)


def teardown(*params) -> None:
    """Every benchmark module's own ``teardown`` (asv runs it after the class's): once asv
    has taken a combination's last sample, close the process's warm engines. asv ends its
    benchmark process with ``os._exit``, which skips atexit, so an engine left open leaves
    its semaphores and memory-mapped folders for the resource tracker to warn about. That
    last teardown also records where the process's time went (windows.finish)."""
    done, bench = _last_teardown()
    if done:
        life_s = _age_s()
        started = time.perf_counter()
        backends.close_all()
        windows.finish(getattr(bench, "name", "?"), combination(bench), life_s, time.perf_counter() - started)


def _age_s() -> float:
    """Seconds since this process started: its start tick in /proc against the boot clock
    (psutil's create_time adds the boot time, known to the whole second only)."""
    try:
        start = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        return time.clock_gettime(time.CLOCK_BOOTTIME) - start / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return time.time() - psutil.Process().create_time()


def asv_is_done() -> bool:
    """Whether the running teardown is asv's last in this process (see _last_teardown)."""
    return _last_teardown()[0]


def _last_teardown() -> tuple[bool, Any]:
    """(whether the running teardown is asv's last in this process, asv_runner's benchmark
    object running it). asv_runner tears down around every sample from ``redo_setup``
    (asv#966) and once more from ``run._run``, just before the process ends; outside asv (a
    test calling teardown) this is (False, None)."""
    frame = sys._getframe()
    while frame is not None and frame.f_code.co_name != "do_teardown":
        frame = frame.f_back
    caller = frame.f_back if frame is not None else None
    done = caller is not None and caller.f_code.co_name == "_run" and (
        Path(caller.f_code.co_filename).parts[-2:] == ("asv_runner", "run.py"))
    return done, (frame.f_locals.get("self") if done else None)


def combination(bench: Any) -> int | None:
    """The index asv's result rows give the combination an asv_runner benchmark object
    runs (its params' product order; setup_cache's result, when put first, left out)."""
    try:
        grid = list(itertools.product(*bench._params))
        return grid.index(tuple(bench._current_params[len(bench._current_params) - len(bench._params):]))
    except (AttributeError, TypeError, ValueError):
        return None


@dataclass(frozen=True)
class PreparedPerCall:
    """One workload run, ready: calling it starts a pool of its own, runs it and closes it."""

    workload: workloads.Workload
    backend: str
    n_workers: int
    inputs: workloads.Inputs
    variant: str

    def __call__(self) -> Any:
        return overhead.on_new_pool(self.workload.name, self.backend, self.n_workers, self.variant, self.inputs)


def size() -> str:
    """The configured size of inputs (``PARBENCH_SIZE``: full or small)."""
    return config.size()


def workload_names() -> list[str]:
    return workloads.names()


def backend_class(backend: str) -> type[backends.Backend]:
    """A backend's class, without importing its engine (its flags and worker limit)."""
    return backends.backend_class(backend)


def warm_at_most_workers(backend: str) -> backends.Backend:
    """A warm backend with the most workers this machine runs and the backend allows."""
    return backends.warm(backend, min(n_workers()[-1], backend_class(backend).worker_limit()[0]), ())


def variants(workload: str) -> list[str]:
    return workloads.get(workload).variant_names


def skipped_for(workload: str) -> staticmethod:
    """A workload benchmark's ``skipped(backend, n_workers, variant, ...)``: why asv records
    n/a for a combination (the plan counts these; ``prepare`` raises it), or None."""
    return staticmethod(lambda backend, n_workers, variant, *_: unsupported(workload, backend, n_workers, variant))


def prepare_per_call(workload: str, backend: str, n_workers: int, variant: str, **params) -> PreparedPerCall:
    """Like :func:`prepare`, but each call starts a pool of its own and closes it after
    (``with Pool() as p: p.map(...)`` inside a loop). No warm engine is kept alongside."""
    skip_if(unsupported(workload, backend, n_workers, variant))
    backends.close_all()
    marks = [time.perf_counter()]
    overhead.import_engine(backends.backend_class(backend))
    marks.append(time.perf_counter())
    wl = workloads.get(workload)
    run = PreparedPerCall(wl, backend, n_workers, wl.inputs(config.size(), n_workers=n_workers, **params), variant)
    windows.setup_took(engine_s=marks[1] - marks[0], inputs_s=time.perf_counter() - marks[1], warm_s=0.0)
    windows.begin()
    return run


def watch() -> None:
    """Open the load window of the sample asv takes next, for a setup without ``prepare``
    (which opens it itself)."""
    windows.begin()


def inputs(workload: str, **params) -> workloads.Inputs:
    """A workload's inputs at the configured size (cached by its module)."""
    return workloads.get(workload).inputs(config.size(), **params)


def data_bytes(workload: str, **params) -> int:
    """Size of a workload's input at the configured size, for memory ratios."""
    return inputs(workload, **params).data.nbytes


def pickled_mb(workload: str, **params) -> float:
    """Megabytes of a workload's input pickled: what a task carrying it ships."""
    return len(pickle.dumps(inputs(workload, **params).data, protocol=pickle.HIGHEST_PROTOCOL)) / 1e6


def peak_memory_vs_data(run: Callable[[], Any], workload: str) -> float:
    """Peak RSS of this process and all it started during ``run()``, in multiples of the
    workload's input size."""
    _, peak = memory.peak_tree_rss(run)
    return peak / data_bytes(workload)


def ensure_model() -> str:
    """The model_inference model's path, built (in a subprocess) the first time."""
    from bench_lib.workloads import models  # on use: a benchmark module loads only its own workload's

    return str(models.ensure_model())


def first_round_s(engine: backends.Backend, inputs: workloads.Inputs, variant: str) -> float:
    """Seconds of one model_inference round in which every worker loads the model anew."""
    from bench_lib.workloads import model_inference  # on use: a benchmark module loads only its own workload's

    return model_inference.time_first_round(engine, inputs, variant)


def build_overlap_graph(volume, per_axis: int, halo: int):
    """The ``dask.array`` map_overlap graph of volume_gaussian, built, not computed."""
    from bench_lib.workloads import volume_gaussian  # on use: a benchmark module loads only its own workload's

    return volume_gaussian.build_graph(volume, per_axis, halo)
