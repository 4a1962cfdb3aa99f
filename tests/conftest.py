"""Tests run at the small size, with engines started for real on this machine."""

import os
import time

os.environ.setdefault("PARBENCH_SIZE", "small")

import psutil  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def model_cache(tmp_path_factory):
    """A model cache of the session's own: tests never touch the user's ~/.cache/parbench.

    Set in the environment, so spawned children and asv's processes see it too; the
    model is built there (in a subprocess) by the first test that needs it.
    """
    saved = os.environ.get("PARBENCH_CACHE")
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
