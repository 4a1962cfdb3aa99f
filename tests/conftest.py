"""Tests run at the small size, with engines started for real on this machine."""

import contextlib
import fcntl
import itertools
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PARBENCH_SIZE", "small")

import psutil  # noqa: E402
import pytest  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "alone: needs the machine to itself (the load guard, timed shapes); "
                                       "under make test's workers, the others wait")


@contextlib.contextmanager
def machine_share(alone: bool, folder: Path | None):
    """The machine shared by ``make test``'s workers (pytest-xdist): every test holds it
    shared, one marked ``alone`` holds it whole -- the other workers finish their tests and
    start none until it is done. A turnstile lock first, so an ``alone`` test waiting is
    not passed by the other workers' next tests (a writer-first readers-writer lock of two
    flock files). Without workers (``folder`` None) there is no one to wait for."""
    if folder is None:
        yield
        return
    folder.mkdir(exist_ok=True)
    with open(folder / "turnstile", "a") as turnstile, open(folder / "machine", "a") as machine:
        fcntl.flock(turnstile, fcntl.LOCK_EX)
        try:
            fcntl.flock(machine, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        finally:
            if not alone:
                fcntl.flock(turnstile, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(machine, fcntl.LOCK_UN)
            if alone:
                fcntl.flock(turnstile, fcntl.LOCK_UN)


def share_folder(environ=os.environ) -> Path | None:
    """The lock files of this run's workers (xdist names the run in each worker's environment)."""
    run = environ.get("PYTEST_XDIST_TESTRUNUID")
    return Path(tempfile.gettempdir()) / f"parbench-tests-{run}" if run else None


def pytest_collection_modifyitems(items):
    """A module that defines ``engine_of(item)`` has its tests ordered by it (stably, in the
    module's own place): cases on the same engine run one after another, so the warm engine
    a test process keeps (``backends.warm``) serves them all instead of starting again for
    each test function. Deterministic, so every xdist worker collects the same order."""
    out = []
    for module, block in itertools.groupby(items, key=lambda item: item.module):
        key = getattr(module, "engine_of", None)
        out += sorted(block, key=key) if key else block
    items[:] = out


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Around a test's whole protocol: its setup, including module fixtures it starts
    (a Ray runtime), its call and its teardown."""
    with machine_share(item.get_closest_marker("alone") is not None, share_folder()):
        yield


@pytest.fixture(scope="session", autouse=True)
def model_cache(tmp_path_factory):
    """A model cache of the session's own: tests never touch the user's ~/.cache/parbench.

    Set in the environment, so spawned children and asv's processes see it too; the
    model is built there (in a subprocess) by the first test that needs it. The session's
    pytest workers share it: the model is built once, under its lock, and the report's
    figures are drawn once (each written whole).
    """
    saved = os.environ.get("PARBENCH_CACHE")
    if os.environ.get("PYTEST_XDIST_WORKER"):  # the workers' temp folders share this parent
        path = tmp_path_factory.getbasetemp().parent / "parbench-cache"
        path.mkdir(exist_ok=True)
    else:
        path = tmp_path_factory.mktemp("parbench-cache")
    os.environ["PARBENCH_CACHE"] = str(path)
    yield path
    if saved is None:
        os.environ.pop("PARBENCH_CACHE", None)
    else:
        os.environ["PARBENCH_CACHE"] = saved


def live_children() -> list[psutil.Process]:
    """Child processes still running (zombies already reaped count as gone)."""
    out = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                out.append(child)
        except psutil.NoSuchProcess:
            pass
    return out


def still_running(procs, within: float = 0.0) -> list[psutil.Process]:
    """Those of ``procs`` (processes or pids) still running after up to ``within`` s,
    wherever they were reparented (zombies count as gone)."""
    deadline = time.monotonic() + within
    while True:
        out = []
        for p in procs:
            try:
                p = p if isinstance(p, psutil.Process) else psutil.Process(p)
                if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                    out.append(p)
            except psutil.NoSuchProcess:
                pass
        if not out or time.monotonic() >= deadline:
            return out
        procs = out
        time.sleep(0.1)


def describe(procs) -> list[str]:
    out = []
    for p in procs:
        try:
            out.append(f"{p.pid} {' '.join(p.cmdline())[:120]}")
        except psutil.Error:
            out.append(str(p.pid))
    return out


@pytest.fixture
def no_children_left():
    """Fails the test if it leaves a child process of this test process behind."""
    before = {p.pid for p in live_children()}
    yield
    left = [p for p in live_children() if p.pid not in before]
    if left:  # give slow shutdowns a moment before calling them orphans
        psutil.wait_procs(left, timeout=10)
        left = [p for p in live_children() if p.pid not in before]
    assert not left, f"child processes left behind: {describe(left)}"


# Tests of what a benchmark process itself starts and leaves (Ray in asv's session): under
# ``run --engines once`` (the default) a warm point joins the run's cluster and starts none.
PER_POINT_ENGINES = {"test_no_orphan_of_a_benchmark_process_lives_five_seconds"}


@pytest.fixture(autouse=True)
def engines_per_point_where_a_test_needs_them(request, monkeypatch):
    if request.node.originalname in PER_POINT_ENGINES:
        monkeypatch.setenv("PARBENCH_ENGINES", "per-point")
