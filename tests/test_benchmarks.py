"""Drives every asv benchmark once at the small size, so none can rot between asv runs.

Benchmarks are discovered the way asv does it (classes in modules under benchmarks/ with
time_/track_/peakmem_/mem_ methods); every parameter combination runs setup -> each
method -> teardown, with ``setup_cache``'s value first as asv passes it, and
NotImplementedError in setup counts as asv's skip. A class with a ``process_group(*combo)``
(it loads TensorFlow, which must not enter a process that later forks pools) runs in a
spawned child per group instead of here.
"""

import concurrent.futures as cf
import itertools
import math
import multiprocessing
import subprocess
import sys
from pathlib import Path

import pytest

from bench_lib import backends, cli, config

ROOT = Path(__file__).resolve().parent.parent
ENGINES = ("ray", "dask", "distributed", "joblib", "tensorflow", "keras", "loky")

sys.path.insert(0, str(ROOT))


def discover():
    return cli.discover(ROOT)


# The overhead and scaling classes cross every backend with cold starts, every workload
# and array sizes: they are driven for a loop, a thread and a process backend at the
# smallest transfer (bench_lib's overhead functions run on every engine in test_overhead,
# and the workload classes run every backend); so is TensorFlow's import cost.
THIN_BACKENDS = {"serial", "threads", "loky"}
THIN_MODULES = ("benchmarks.overhead", "benchmarks.scaling")


# ModelInference loads TensorFlow in every worker (seconds per process): every backend is
# driven once at the most workers (``per-worker``), every variant on serial, loky and Ray,
# pinning on loky; tests/test_models.py checks every backend's predictions against serial.
MODEL_BACKENDS = {"serial", "loky", "ray"}


def thinned_model(named) -> bool:
    top = max(config.worker_counts())
    backend, n, variant = named["backend"], named["n_workers"], named["variant"]
    if backend == "serial":
        return n != 1
    if n != top:
        return True
    if named["pinned"]:
        return backend != "loky"
    return not (backend in MODEL_BACKENDS or variant == "per-worker")


COMMON = ("backend", "n_workers", "variant")


def thinned_workload(cls, named) -> bool:
    """Workload classes: a loop, a thread and a process backend over every combination;
    the other engines at the most workers, every variant, the first value of the rest
    (tests/test_workloads.py checks each engine's answers for 1 and 2 workers)."""
    if named.get("backend", "serial") in THIN_BACKENDS:
        return False
    if named.get("n_workers", 0) not in (0, max(config.worker_counts())):
        return True
    firsts = dict(zip(cls.param_names, (axis[0] for axis in cls.params)))
    return any(named[k] != firsts[k] for k in named if k not in COMMON)


def thinned(cls, combo) -> bool:
    named = dict(zip(getattr(cls, "param_names", []), combo))
    if cls.__name__ == "ModelInference":
        return thinned_model(named)
    if cls.__module__ not in THIN_MODULES and named.get("modules") != "tensorflow":
        return thinned_workload(cls, named)
    if named.get("backend", "serial") not in THIN_BACKENDS or named.get("megabytes", 1) > 1:
        return True
    # TensorFlow in workers costs seconds per process: once, on loky at the most workers.
    heavy = named.get("workload") == "model_inference" or named.get("modules") == "tensorflow"
    top = max(config.worker_counts())
    return heavy and (named.get("backend", "loky") != "loky" or named.get("n_workers", top) != top)


def cases():
    out = []
    for cls, methods in discover():
        params = getattr(cls, "params", [[]])
        if params and not isinstance(params[0], (list, tuple)):
            params = [params]
        for combo in itertools.product(*params) if params != [[]] else [()]:
            if thinned(cls, combo):
                continue
            out.append(pytest.param(cls, methods, combo, id=f"{cls.__name__}{list(combo)}"))
    return out


class Child:
    """The spawned process of the current ``process_group``; one at a time."""

    key = None
    pool = None

    @classmethod
    def run(cls, key, fn, *args):
        if key != cls.key:
            cls.close()
            backends.close_all()  # one live engine at a time, here or there
            cls.pool = cf.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
            cls.key = key
        return cls.pool.submit(fn, *args).result(timeout=900)

    @classmethod
    def close(cls):
        if cls.pool is not None:
            try:  # before exit: a multiprocessing child joins pool workers left running
                cls.pool.submit(backends.close_all).result(timeout=300)
            finally:
                cls.pool.shutdown(wait=True)
                cls.pool = cls.key = None


@pytest.fixture(scope="module", autouse=True)
def close_engines():
    yield
    Child.close()
    backends.close_all()


_caches: dict = {}


def cache_args(cls) -> tuple:
    """``setup_cache``'s value as asv passes it (first argument), computed once per class."""
    if not hasattr(cls, "setup_cache"):
        return ()
    if cls not in _caches:
        _caches[cls] = cls().setup_cache()
    return (_caches[cls],)


def run_case(cls, methods, args) -> str | None:
    """setup -> each method -> teardown; the reason when setup skips (asv's n/a)."""
    bench = cls()
    try:
        if hasattr(bench, "setup"):
            bench.setup(*args)
    except NotImplementedError as skip:
        return str(skip)
    try:
        for name in methods:
            value = getattr(bench, name)(*args)
            if name.startswith("track_"):
                assert isinstance(value, (int, float)) and math.isfinite(value), (name, value)
    finally:
        if hasattr(bench, "teardown"):
            bench.teardown(*args)
    return None


@pytest.mark.parametrize("cls,methods,combo", cases())
def test_benchmark_runs(cls, methods, combo):
    args = (*cache_args(cls), *combo)
    group = getattr(cls, "process_group", None)
    key = group(*combo) if group else None
    if key is None:
        if group is None:  # closing engines here under a live executor upsets its semaphores
            Child.close()
        skip = run_case(cls, methods, args)
    else:
        skip = Child.run((cls.__name__, key), run_case, cls, methods, args)
    if skip is not None:
        pytest.skip(f"asv would record n/a: {skip}")


def test_every_benchmark_class_names_its_params():
    for cls, _ in discover():
        params = getattr(cls, "params", None)
        if params:
            if not isinstance(params[0], (list, tuple)):
                params = [params]  # asv's form for a single parameter
            assert len(cls.param_names) == len(params), cls
            for common in ("backend", "n_workers", "variant"):
                if common in cls.param_names:
                    assert cls.param_names.index(common) < 3, cls


def test_benchmark_modules_import_no_engine():
    """asv's forkserver imports benchmark modules once and forks: no engine may be in it."""
    code = (
        "import sys; sys.path.insert(0, %r)\n"
        "import pkgutil, importlib, benchmarks\n"
        "for m in pkgutil.walk_packages(benchmarks.__path__, 'benchmarks.'):\n"
        "    importlib.import_module(m.name)\n"
        "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in %r)))\n"
    ) % (str(ROOT), ENGINES)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"benchmark modules import engines: {out.stdout}"
