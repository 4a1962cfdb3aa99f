"""Drives every asv benchmark once at the small size, so none can rot between asv runs.

Benchmarks are discovered the way asv does it (classes in modules under benchmarks/ with
time_/track_/peakmem_/mem_ methods); every parameter combination runs setup -> each
method -> teardown, with ``setup_cache``'s value first as asv passes it, and
NotImplementedError in setup counts as asv's skip. The first timed run of every case that
times one is checked against an oracle that shares no code with the workload
(tests/test_workloads.py): the same call, so checking costs no second run. A class in
tests/process_groups.py (it loads TensorFlow, which must not enter a process that later
forks pools) runs in a spawned child per group of its combinations instead of here.
"""

import concurrent.futures as cf
import itertools
import math
import multiprocessing
import subprocess
import sys
from pathlib import Path

import pytest

from bench_lib import backends, config, workloads
from bench_lib.workloads import volume_gaussian
import asv_classes
import unsupported
from process_groups import GROUPS
from test_workloads import check_answer, model_logits, model_mismatches

ROOT = Path(__file__).resolve().parent.parent
ENGINES = ("ray", "dask", "distributed", "joblib", "tensorflow", "keras", "loky")

sys.path.insert(0, str(ROOT))

from benchmarks.volume_gaussian import VolumeGraph  # noqa: E402


def discover():
    return asv_classes.discover(ROOT)


# The overhead and scaling classes cross every backend with cold starts, every workload
# and array sizes: here they are driven for a loop, a thread and a process backend at the
# smallest transfer, and TensorFlow's import cost once. Every engine goes through each of
# them at the most workers, with its figures checked, in tests/test_engines.py (the
# filter bank's ratios there; the other workloads' ratios here); the combinations it
# drives are not repeated here.
THIN_BACKENDS = {"serial", "threads", "loky"}
THIN_MODULES = ("benchmarks.overhead", "benchmarks.scaling")


def in_test_engines(cls, named) -> bool:
    """The combinations tests/test_engines.py runs and checks."""
    name, top = cls.__name__, max(config.worker_counts())
    if name in ("Ratios", "Gap", "Traces"):
        return named["workload"] == "filter_bank"
    if name == "Transfer":
        return named["megabytes"] == 1
    if name in ("Startup", "TaskOverhead", "PoolReuse") or (name == "Imports" and named["modules"] == "scipy"):
        return named["n_workers"] == (1 if named["backend"] == "serial" else top)
    return False


def thinned_model(named) -> bool:
    """ModelInference loads TensorFlow in every worker (seconds per process): the class is
    driven on serial (one worker) and loky (the most workers), every variant they run,
    pinned or not; tests/test_models.py checks every backend's predictions, every variant
    (Ray's actors too), steady and first round, against serial, on the warm engine and
    through the workload calls the class times."""
    backend, n = named["backend"], named["n_workers"]
    if backend == "serial":
        return n != 1
    return backend != "loky" or n != max(config.worker_counts())


COMMON = ("backend", "n_workers", "variant")


def thinned_workload(cls, named) -> bool:
    """Workload classes: a loop, a thread and a process backend over every combination;
    the other engines at the most workers, every variant, the first value of the rest
    (tests/test_workloads.py checks each engine's answers against serial)."""
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
    if in_test_engines(cls, named):
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


def child_key(cls, combo):
    """The spawned child a combination runs in (tests/process_groups.py), None: here."""
    group = GROUPS.get(cls.__name__)
    return group(*combo) if group else None


def engine_of(item) -> tuple:
    """Tests' order (conftest): the cases on one engine together, across the classes, so the
    warm engine serves them all; those of a spawned child's group last, by child."""
    params = getattr(item, "callspec", None)
    if params is None or "cls" not in params.params:
        return ("",)
    cls, combo = params.params["cls"], params.params["combo"]
    key = child_key(cls, combo)
    if key is not None:
        return ("~child", repr(key))
    named = dict(zip(getattr(cls, "param_names", []), combo))
    return ("engine", str(named.get("backend", "")), str(named.get("n_workers", "")))


class Child:
    """The spawned process of the current process group (tests/process_groups.py); one at a time."""

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


@pytest.fixture(scope="module", autouse=True)
def short_points(tmp_path_factory):
    """Ratios, Gap and Ceiling stop after their minimum rounds (as in tests/test_engines.py),
    not at the small size's 10 s cap: a finite figure is what is checked here, and it comes
    from the first rounds as well. The module is one run with a points file, as under
    ``bench_lib run``: Gap's points measure each speedup too, and Ratios read theirs back
    (one measurement, as in a run), so model_inference's rounds run once, not twice. Set
    before any spawned child starts: children inherit it."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PARBENCH_POINT_CAP_S", "0.3")
        mp.setenv("PARBENCH_POINTS", str(tmp_path_factory.mktemp("run") / "points.jsonl"))
        mp.setenv("PARBENCH_RUN", "test-benchmarks")
        mp.setenv("PARBENCH_GUARD", "off")  # other tests' processes are not foreign load here
        yield


_caches: dict = {}


def cache_args(cls) -> tuple:
    """``setup_cache``'s value as asv passes it (first argument), computed once per class."""
    if not hasattr(cls, "setup_cache"):
        return ()
    if cls not in _caches:
        _caches[cls] = cls().setup_cache()
    return (_caches[cls],)


class Recorder:
    """Stands in for a benchmark's ``self.run`` (what its ``time_*`` method calls): runs
    it and keeps what the first call returned, so the timed run's answer can be checked."""

    def __init__(self, run):
        self.run, self.results = run, []

    def __call__(self):
        result = self.run()
        if not self.results:
            self.results.append(result)
        return result


def workload_of(run) -> tuple[str, object]:
    """(workload name, inputs) of a run from harness.prepare or prepare_per_call."""
    return run.workload.name, run.inputs


def check_result(bench, recorded) -> str:
    """The timed run's answer against an oracle sharing no code with its workload
    (tests/test_workloads.py); returns what was checked."""
    if isinstance(bench, VolumeGraph):  # the graph is what is timed: its value once
        volume, per_axis, halo = bench.args
        got = volume_gaussian.build_graph(volume, per_axis, halo).compute(scheduler="sync")
        check_answer("volume_gaussian", workloads.get("volume_gaussian").inputs(config.size()), got)
        return "volume_gaussian graph"
    assert recorded is not None and recorded.results, "the time_* method never ran self.run"
    name, inputs = workload_of(recorded.run)
    got = recorded.results[0]
    if name == "model_inference":
        logits = model_logits(inputs.data, inputs.items)
        assert len(got) == len(logits) and model_mismatches(got, logits) == 0
    else:
        check_answer(name, inputs, got)
    return name


def run_case(cls, methods, args) -> str | None:
    """setup -> each method -> teardown; the reason when setup skips (asv's n/a).
    A case that times a run also checks the answer of its first timed call."""
    bench = cls()
    try:
        if hasattr(bench, "setup"):
            bench.setup(*args)
    except NotImplementedError as skip:
        return str(skip)
    recorded = None
    if hasattr(bench, "run"):
        recorded = bench.run = Recorder(bench.run)
    try:
        for name in methods:
            value = getattr(bench, name)(*args)
            if name.startswith("track_"):
                assert isinstance(value, (int, float)) and math.isfinite(value), (name, value)
        if any(name.startswith("time_") for name in methods):
            check_result(bench, recorded)
    finally:
        if hasattr(bench, "teardown"):
            bench.teardown(*args)
    return None


@pytest.mark.parametrize("cls,methods,combo", cases())
def test_benchmark_runs(cls, methods, combo):
    args = (*cache_args(cls), *combo)
    key = child_key(cls, combo)
    if key is None:
        if cls.__name__ not in GROUPS:  # closing engines here under a live executor upsets its semaphores
            Child.close()
        skip = run_case(cls, methods, args)
    else:
        skip = Child.run(key, run_case, cls, methods, args)
    expected = unsupported.reason(cls.__name__, dict(zip(getattr(cls, "param_names", []), combo)))
    assert (skip is None) == (expected is None), f"setup: {skip or 'runs'}; tests/unsupported.py: {expected or 'runs'}"
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
