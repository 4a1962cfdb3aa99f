"""Run-wide settings read from the environment, so asv's benchmark processes see them too.

asv passes the parent's environment to every benchmark process, which makes environment
variables the one channel that reaches a benchmark's ``setup`` unchanged:

``PARBENCH_SIZE``               ``full`` (default: the real sizes) or ``small`` (tests, ``--quick``)
``PARBENCH_MAX_WORKERS``        most workers a local engine may start (default: usable CPUs)
``PARBENCH_PLAN_CORES``         physical cores to plan for (``run --plan-only --cores``; never measured)
``PARBENCH_THREADS_PER_WORKER`` BLAS/OpenMP threads in each worker and in serial (default 1)
``PARBENCH_MP_START``           ``multiprocessing`` start method (default ``fork``, Linux's)
``PARBENCH_BACKENDS``           comma-separated backends to benchmark (default: all registered)
``PARBENCH_POINT_CAP_S``        seconds a protocol point may take (default 60 full, 10 small)
``PARBENCH_CACHE``              folder for built artefacts: the model_inference model, large inputs, the
                                report page's figures
                                (default: ``$XDG_CACHE_HOME/parbench``, else ``~/.cache/parbench``)
``PARBENCH_ENGINES``            ``per-point`` (default): each asv process starts its own engine; ``once``:
                                ``run`` starts one Ray and one Dask cluster for the whole run, which warm
                                runs join (not the default: their idle load slows points at all cores,
                                docs/engines_once.md)
``RAY_ADDRESS``                 use this Ray cluster instead of starting one
``DASK_SCHEDULER_ADDRESS``      use this Dask scheduler instead of starting a LocalCluster
"""

from __future__ import annotations

import math
import os
from pathlib import Path

SIZES = ("small", "full")

# Every setting a user may give, with its default and meaning: the one list ``--help`` and
# ``info`` print. The run's own bookkeeping (PARBENCH_RUN, _POINTS, _COMMIT,
# _SPEEDUP_GROUP, _RAY_RUNTIME, _CLUSTERS) is set by ``run`` for its processes and is not listed.
SETTINGS = (
    ("PARBENCH_SIZE", "full", "full (the real sizes) or small (tests, --quick)"),
    ("PARBENCH_MACHINE", "host-cores-memory-cpu", "machine name of the results series"),
    ("PARBENCH_MAX_WORKERS", "usable CPUs", "most workers a local engine may start"),
    ("PARBENCH_PLAN_CORES", "physical cores", "cores to plan for (run --plan-only --cores)"),
    ("PARBENCH_THREADS_PER_WORKER", "1", "BLAS/OpenMP threads per worker and in serial"),
    ("PARBENCH_MP_START", "fork", "multiprocessing start method"),
    ("PARBENCH_BACKENDS", "all registered", "comma-separated backends to benchmark"),
    ("PARBENCH_POINT_CAP_S", "60 (small: 10)", "seconds one protocol point may take"),
    ("PARBENCH_BATCH_S", "60", "planned seconds of short benchmarks per asv process"),
    ("PARBENCH_GUARD", "on", "off: keep samples taken beside foreign load"),
    ("PARBENCH_MALLOC", "fixed", "allocator discipline: fixed malloc thresholds, or default (glibc's)"),
    ("PARBENCH_ENGINES", "per-point", "per-point: each asv process starts its own engine; once: one Ray and one "
                                      "Dask cluster per run, joined by warm runs (run --engines)"),
    ("PARBENCH_CACHE", "~/.cache/parbench", "folder for the built model, inputs and report figures"),
    ("PARBENCH_RAY_OBJECT_STORE_MB", "30% of memory, <= 4096", "Ray's object store size"),
    ("PARBENCH_DASK_WORKER_MEMORY_MB", "60% of memory / workers", "each Dask worker's memory limit"),
    ("RAY_ADDRESS", "local", "use this Ray cluster instead of starting one"),
    ("DASK_SCHEDULER_ADDRESS", "local", "use this Dask scheduler instead of a LocalCluster"),
)


def settings_help() -> str:
    """The settings as an epilog for ``--help``: name, default, meaning."""
    width = max(len(name) for name, _, _ in SETTINGS)
    return "settings (environment):\n" + "\n".join(
        f"  {name:<{width}}  {meaning} (default: {default})" for name, default, meaning in SETTINGS)


class ConfigError(ValueError):
    """A setting is wrong; the message says which and what to do."""


def size(environ=os.environ) -> str:
    value = environ.get("PARBENCH_SIZE", "full")
    if value not in SIZES:
        raise ConfigError(f"PARBENCH_SIZE={value!r}: use one of {', '.join(SIZES)}")
    return value


POINT_CAP_S = {"full": 60.0, "small": 10.0}  # every committed full-size protocol run used 60


def point_cap_s(environ=os.environ) -> float:
    """Seconds one protocol point may take before it is recorded as imprecise
    (``PARBENCH_POINT_CAP_S``), in the environment a run gives its benchmarks."""
    raw = environ.get("PARBENCH_POINT_CAP_S")
    if raw:
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not value > 0:
            raise ConfigError(f"PARBENCH_POINT_CAP_S={raw!r} must be a positive number of seconds")
        return value
    return POINT_CAP_S[size(environ)]


def usable_cpus() -> int:
    """CPUs this process may run on (affinity-aware, unlike ``os.cpu_count``)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def physical_cores() -> int:
    import psutil

    return psutil.cpu_count(logical=False) or usable_cpus()


def max_workers() -> int:
    return _positive_int("PARBENCH_MAX_WORKERS", usable_cpus())


def threads_per_worker() -> int:
    return _positive_int("PARBENCH_THREADS_PER_WORKER", 1)


def worker_counts() -> list[int]:
    """1, 2, 4, ... up to the physical cores: the ``n_workers`` axis of every benchmark."""
    top = _positive_int("PARBENCH_PLAN_CORES", min(physical_cores(), max_workers()))
    counts, n = [], 1
    while n <= top:
        counts.append(n)
        n *= 2
    if counts[-1] != top:
        counts.append(top)
    return counts


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer") from None
    if value < 1:
        raise ConfigError(f"{name}={raw!r} must be at least 1")
    return value


def cache_dir() -> Path:
    """Where built artefacts live (the inference model): visible, and safe to delete."""
    raw = os.environ.get("PARBENCH_CACHE")
    if raw:
        return Path(raw).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "parbench"


def guard_on(environ=os.environ) -> bool:
    """Whether samples beside foreign load are thrown away (``PARBENCH_GUARD``; ``off`` for a
    machine where the run cannot see other processes, e.g. a container without its host's /proc)."""
    return environ.get("PARBENCH_GUARD", "on") != "off"


SPEEDUP_GROUP = "PARBENCH_SPEEDUP_GROUP"  # set by ``run``: the backends whose speedups share rounds


def speedup_group(environ=os.environ) -> list[str]:
    """The backends ``run`` measures speedups of together (bench_lib.measure.ratios.group_for), in order."""
    return [b for b in environ.get(SPEEDUP_GROUP, "").split(",") if b]


MALLOC_DISCIPLINES = ("fixed", "default")


def malloc(environ=os.environ) -> str:
    """The allocator discipline of a run's processes (``PARBENCH_MALLOC``; bench_lib.backends.allocator)."""
    value = environ.get("PARBENCH_MALLOC", "") or "fixed"
    if value not in MALLOC_DISCIPLINES:
        raise ConfigError(f"PARBENCH_MALLOC={value!r}: use one of {', '.join(MALLOC_DISCIPLINES)}")
    return value


def mp_start_method() -> str:
    return os.environ.get("PARBENCH_MP_START", "fork")


def total_memory() -> int:
    import psutil

    return psutil.virtual_memory().total


def megabytes(name: str, default: int) -> int:
    """A memory size in MB from the environment, in bytes."""
    return _positive_int(name, default) * 1024**2


def selected(variable: str, available: list[str]) -> list[str]:
    """The subset of ``available`` named in ``variable`` (comma-separated), or all of it."""
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return list(available)
    chosen = [name.strip() for name in raw.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in available]
    if unknown:
        raise ConfigError(f"{variable} names unknown {unknown}; choose from {', '.join(available)}")
    return chosen


ENGINE_MODES = ("once", "per-point")


def engines(environ=os.environ) -> str:
    """How a run starts Ray and Dask (``PARBENCH_ENGINES``): ``once``, one cluster of each for
    the whole run, which warm runs join; ``per-point``, each asv process starts its own."""
    value = environ.get("PARBENCH_ENGINES", "") or "per-point"
    if value not in ENGINE_MODES:
        raise ConfigError(f"PARBENCH_ENGINES={value!r}: use one of {', '.join(ENGINE_MODES)}")
    return value


CLUSTERS = "PARBENCH_CLUSTERS"  # set by ``run --engines once``: its clusters (bench_lib.backends._run_clusters)


def run_clusters(environ=os.environ) -> dict:
    """The clusters ``run`` started for the whole run: ``{"ray": address, "dask": address,
    "ray_token": token, "pids": [root pids of their process trees]}``, or {} outside such a run.
    Private to the run: the user's own ``RAY_ADDRESS``/``DASK_SCHEDULER_ADDRESS`` are not
    touched, so what measures an engine's start still starts one."""
    import json

    raw = environ.get(CLUSTERS, "")
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        raise ConfigError(f"{CLUSTERS}={raw!r} is not the JSON a run sets") from None
    return value if isinstance(value, dict) else {}


def run_cluster(backend: str, environ=os.environ) -> str | None:
    """The address of the run's own cluster of ``backend`` (``ray``, ``dask``), or None."""
    return run_clusters(environ).get(backend) or None


def run_cluster_pids(environ=os.environ) -> list[int]:
    """Root pids of the run's cluster processes: the load guard and the fault meter count
    their trees as the run's own."""
    return [int(p) for p in run_clusters(environ).get("pids", [])]


CLUSTER_VARIABLES = {"ray": "RAY_ADDRESS", "dask": "DASK_SCHEDULER_ADDRESS"}  # the engines' own


def user_cluster(backend: str, environ=os.environ) -> str | None:
    """A cluster the user named with the engine's own variable (it wins over the run's)."""
    variable = CLUSTER_VARIABLES.get(backend)
    return (environ.get(variable) or None) if variable else None


# What ``run`` tells the processes it starts about the run (not user settings; not listed).
RUN, POINTS, COMMIT, MACHINE = "PARBENCH_RUN", "PARBENCH_POINTS", "PARBENCH_COMMIT", "PARBENCH_MACHINE"


def machine(environ=os.environ) -> str | None:
    """The machine series named by ``PARBENCH_MACHINE`` (None: the command's default)."""
    return environ.get(MACHINE) or None


def run_context(environ=os.environ) -> dict:
    """Which run this process measures for, as ``run`` set it: machine, commit and run id
    ("" each outside a run)."""
    return {"machine": environ.get(MACHINE, ""), "commit": environ.get(COMMIT, ""), "run": environ.get(RUN, "")}


def points_file(environ=os.environ) -> str | None:
    """The run's points file (``run`` sets it; None outside a run)."""
    return environ.get(POINTS) or None


def batch_s(environ=os.environ) -> float:
    """Planned seconds of benchmarks that may share one asv run (``PARBENCH_BATCH_S``,
    default 60; 0 runs and saves every benchmark alone)."""
    raw = environ.get("PARBENCH_BATCH_S", "60")
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise ConfigError(f"PARBENCH_BATCH_S={raw!r} must be a number of seconds, 0 or more")
    return value
