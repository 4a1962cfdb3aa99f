"""Every registered backend is a real engine: same answers as serial, clean shutdown,
clear errors on bad input, warm backends reused within a process."""

import functools
import os
import socket
import time

import numpy as np
import pytest

from bench_lib import backends, config
from bench_lib.backends import BackendError
from bench_lib.backends._worker import thread_info, warm_up
from bench_lib.workloads.filter_bank import convolve
from conftest import describe, live_children, still_running

EXPECTED = {"serial", "threads", "multiprocessing", "loky", "joblib-threading",
            "joblib-multiprocessing", "ray", "dask"}
CASES = [(name, n) for name in backends.names() for n in (1, 2) if not (name == "serial" and n == 2)]


# Tasks must be importable by every worker (Ray's cannot import test modules): use
# bench_lib's own functions. fftconvolve needs both the shared image and the item;
# warm_up(modules, threads, hold) with the item as hold=0 returns the worker's pid.
pid_of = functools.partial(warm_up, (), 1)
NO_HOLD = [0.0] * 8


@pytest.fixture(scope="module")
def image():
    return np.random.default_rng(7).standard_normal((96, 96))


def test_registry_lists_every_engine():
    assert EXPECTED <= set(backends.names())


@pytest.mark.parametrize("name,n_workers", CASES)
def test_map_equals_serial_and_closes_clean(name, n_workers, image, no_children_left):
    items = [(np.ones((w, w)) / w**2, "valid") for w in (3, 5, 7, 9)]
    expected = [convolve(image, item) for item in items]
    with backends.get(name, n_workers) as backend:
        backend.warm()
        naive = backend.map(convolve, items, data=image)
        shared = backend.map(convolve, items, data=backend.share(image))
        again = backend.map(convolve, items, data=backend.share(image))  # placed once, reused
        info = backend.info()
    for got in (naive, shared, again):
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e, rtol=1e-12)
    assert info["n_workers"] == n_workers and info["threads_per_worker"] == 1
    assert backend.closed


@pytest.mark.parametrize("name", ["multiprocessing", "loky", "ray", "dask"])
def test_workers_are_separate_processes_with_limited_blas(name, no_children_left):
    with backends.get(name, 2) as backend:
        backend.warm()
        pids = set(backend.map(pid_of, NO_HOLD))
        pools = backend.map(thread_info, [1, 1])  # after warm() imported scipy's BLAS
    assert os.getpid() not in pids
    blas = [p for pool in pools for p in pool if p["user_api"] == "blas"]
    assert blas and all(p["num_threads"] == 1 for p in blas)


def test_multiprocessing_records_its_start_method():
    backend = backends.get("multiprocessing", 1, start_method="spawn")
    assert backend.info()["start_method"] == "spawn"
    with pytest.raises(BackendError, match="start method 'nope'"):
        backends.get("multiprocessing", 1, start_method="nope")


def test_unknown_backend_lists_valid_names():
    with pytest.raises(BackendError) as err:
        backends.get("spark", 2)
    for name in EXPECTED:
        assert name in str(err.value)


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True, None])
def test_bad_worker_count_is_rejected(bad):
    with pytest.raises(BackendError, match="n_workers"):
        backends.get("threads", bad)


def test_too_many_workers_names_the_limit():
    limit = config.max_workers()
    with pytest.raises(BackendError, match=f"limit of {limit}"):
        backends.get("loky", limit + 1)
    with pytest.raises(BackendError, match="limit of 1"):
        backends.get("serial", 2)


def test_bad_max_workers_setting(monkeypatch):
    monkeypatch.setenv("PARBENCH_MAX_WORKERS", "lots")
    with pytest.raises(config.ConfigError, match="PARBENCH_MAX_WORKERS"):
        backends.get("threads", 1)


def _dead_address() -> str:
    with socket.socket() as s:  # a port nobody listens on once closed
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


@pytest.mark.parametrize("name,variable", [("ray", "RAY_ADDRESS"), ("dask", "DASK_SCHEDULER_ADDRESS")])
def test_unreachable_cluster_fails_fast(name, variable, monkeypatch, no_children_left):
    monkeypatch.setenv(variable, _dead_address())
    started = time.monotonic()
    with pytest.raises(BackendError, match=f"cannot reach the cluster at {variable}"):
        with backends.get(name, 1):
            pass
    assert time.monotonic() - started < 15


def test_warm_cache_reuses_one_backend_per_process(no_children_left):
    try:
        first = backends.warm("loky", 2)
        workers = {p.pid for p in live_children()}
        assert backends.warm("loky", 2) is first  # a second setup gets the same pool...
        first.map(pid_of, NO_HOLD)
        assert {p.pid for p in live_children()} == workers  # ...and no new processes
        other = backends.warm("threads", 2)  # asking for another closes the first
        assert first.closed and not other.closed
    finally:
        backends.close_all()
    assert other.closed


@pytest.mark.parametrize("name", ["multiprocessing", "joblib-multiprocessing"])
def test_cached_fork_pools_close(name, no_children_left):
    """Workers forked from a cached pool inherit the cache and its SIGTERM handler; the
    pool's terminate() must still end them instead of each closing the cache's copy."""
    try:
        backends.warm(name, 2)
    finally:
        backends.close_all()


def test_forked_child_dies_on_sigterm_without_closing_the_parents_engines(tmp_path):
    """The race behind a hung Pool.terminate(), made deterministic: a forked child that
    receives SIGTERM must die of it, not run the inherited handler's close_all()."""
    import signal

    backends.warm("threads", 1)  # installs the SIGTERM handler in this process
    marker = tmp_path / "closed"
    pid = os.fork()
    if pid == 0:  # child: make close_all observable, then wait to be terminated
        backends.close_all = lambda: marker.write_text("closed")
        time.sleep(30)
        os._exit(0)
    try:
        time.sleep(0.5)
        os.kill(pid, signal.SIGTERM)
        _, status = os.waitpid(pid, 0)
    finally:
        backends.close_all()
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM
    assert not marker.exists()


@pytest.mark.parametrize("name", ["multiprocessing", "joblib-multiprocessing"])
def test_cached_fork_pools_close_every_time(name, no_children_left):
    """Switching between cached backends closes fork pools again and again without a hang
    (Pool.terminate() once waited forever on a worker; a hang fails via pytest-timeout)."""
    try:
        for _ in range(10):
            backends.warm(name, 2).map(pid_of, NO_HOLD)
            backends.warm("threads", 1)
    finally:
        backends.close_all()


DIE_WITHOUT_CLOSING = """
import json, os, sys, psutil
from bench_lib import backends
backend = backends.warm(sys.argv[1], 2)
pids = [p.pid for p in psutil.Process().children(recursive=True)]
print(json.dumps({"workers": backend.worker_pids, "children": pids}), flush=True)
os._exit(0)  # as asv's benchmark process ends: no atexit, no close()
"""


@pytest.mark.parametrize("name", ["multiprocessing", "loky", "joblib-multiprocessing", "dask", "ray"])
def test_workers_die_with_a_caller_that_never_closed(name):
    """asv's benchmark process ends with os._exit (and a timed-out one is SIGKILLed): the
    engine's processes must not outlive it."""
    import json
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", DIE_WITHOUT_CLOSING, name],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(set(seen["workers"])) == 2 and set(seen["workers"]) <= set(seen["children"])
    # Ray's dashboard and runtime-env agents notice their raylet is gone only after ~40 s:
    # the backend's watcher (one of the children) ends them all within ~1.5 s.
    left = still_running(seen["children"], within=10 if name == "ray" else 30)
    for p in left:
        p.kill()
    assert not left, f"{name}: processes outlived their caller: {describe(left)}"


POOLS_CLOSED_ONE_BY_ONE = """
import operator, sys
from multiprocessing import resource_tracker
from joblib.externals.loky.backend import resource_tracker as loky_tracker
from bench_lib import backends
pools = [backends.get(name, 2).start() for name in sys.argv[1:]]
for i, pool in enumerate(pools):
    for other in pools[i:]:
        print(other.name, other.map(operator.neg, [1, 2, 3]))
    pool.close()
print("trackers", resource_tracker._resource_tracker._pid, loky_tracker._resource_tracker._pid)
"""


def test_process_pools_warm_side_by_side_close_one_by_one_without_tracker_tracebacks():
    """A run's speedups keep a group's process pools open in one process and close them in
    turn. Stopping the resource trackers at the first close made the trackers that restart
    print a KeyError traceback for each semaphore of a pool still open (526 in one full
    run); they stop once the last pool closes, and none outlives it."""
    import subprocess
    import sys

    names = ["multiprocessing", "loky", "joblib-multiprocessing"]
    done = subprocess.run([sys.executable, "-c", POOLS_CLOSED_ONE_BY_ONE, *names],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    mapped = [f"{name} [-1, -2, -3]" for i in range(3) for name in names[i:]]
    assert done.stdout.splitlines() == mapped + ["trackers None None"]
    for sign in ("Traceback", "KeyError", "leaked"):
        assert sign not in done.stderr, done.stderr[-3000:]
