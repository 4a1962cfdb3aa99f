"""The local Ray runtime the ray backend starts: closing it ends every one of its
processes (Ray leaves its agents running for a minute, using CPU while the next benchmark
is timed) and no other Ray's; and it starts in a process that already used Ray (Ray caches
its authentication settings per process)."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench_lib import backends
from conftest import describe, live_children, still_running
from test_clusters import ray_cluster  # noqa: F401  (a `ray start` cluster beside ours)

ITEMS = [-3, 1, -4, 1, -5]
ROOT = Path(__file__).resolve().parent.parent


def serial_abs():
    with backends.get("serial", 1) as engine:
        return engine.map(abs, ITEMS)


@pytest.mark.parametrize("raylet", ["prompt", "slow to exit"])
def test_closing_ends_every_process_of_the_runtime(raylet, monkeypatch):
    """5 s after close, nothing the runtime started runs. ``ray.shutdown()`` gives the
    raylet 1 s to end its agents and workers, then SIGKILLs it, and the orphaned agents
    linger for a minute: a raylet SIGSTOPped as the shutdown begins (a busy machine)
    makes that happen every time."""
    from ray._private.node import Node

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    if raylet == "slow to exit":
        kill_all = Node.kill_all_processes

        def stalled_first(node, *args, **kwargs):
            for p in live_children():
                if "raylet/raylet" in " ".join(p.cmdline()):
                    p.suspend()
            return kill_all(node, *args, **kwargs)

        monkeypatch.setattr(Node, "kill_all_processes", stalled_first)
    before = {p.pid for p in live_children()}
    engine = backends.get("ray", 1).start()
    try:
        assert engine.map(abs, ITEMS) == serial_abs()
        runtime = [p for p in live_children() if p.pid not in before]
        names = " ".join(" ".join(p.cmdline()) for p in runtime)
        assert all(name in names for name in ("raylet", "gcs_server", "Agent")), describe(runtime)
    finally:
        started = time.monotonic()
        engine.close()
        close_s = time.monotonic() - started
    left = still_running(runtime, within=5)  # a process once ended stays ended: no need to wait out 5 s
    for p in left:
        p.kill()
    assert not left, f"runtime processes alive 5 s after close: {describe(left)}"
    assert close_s < 10, f"close took {close_s:.1f} s"
    print(f"close took {close_s:.2f} s (raylet {raylet})")


def test_closing_leaves_another_ray_cluster_running(ray_cluster, monkeypatch):  # noqa: F811
    monkeypatch.delenv("RAY_ADDRESS")  # a local runtime of our own, beside the cluster
    with backends.get("ray", 1) as engine:
        assert engine.map(abs, ITEMS) == serial_abs()
    time.sleep(1)
    ended = set(ray_cluster) - set(still_running(ray_cluster))
    assert not ended, f"closing ended {len(ended)} of the other cluster's processes"


def run_fresh(script: str, tmp_path) -> subprocess.CompletedProcess:
    """``script`` in a new Python with no Ray settings and a HOME of its own (a plain
    ``ray.init()`` writes a token to ~/.ray)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(HOME=str(tmp_path), RAY_USAGE_STATS_ENABLED="0")
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def result_of(done: subprocess.CompletedProcess):
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


MAP_ABS = f"""
import json
from bench_lib import backends
with backends.get("ray", 1) as engine:
    print(json.dumps(engine.map(abs, {ITEMS!r})))
"""


def test_a_process_that_ran_ray_init_and_shutdown(tmp_path):
    """Ray's own ``ray.init()`` turns token mode on and caches a token from ~/.ray; the
    runtime started next must not be told one token and the driver hold another."""
    # address="local": a new runtime, as a plain ray.init() starts when no cluster is up (other
    # tests' `ray start` clusters may be, and a plain one would join theirs)
    setup = "import ray\nray.init(address='local', num_cpus=1, include_dashboard=False)\nray.shutdown()\n"
    assert result_of(run_fresh(setup + MAP_ABS, tmp_path)) == [abs(x) for x in ITEMS]


@pytest.mark.parametrize("auth_mode", [None, "token"])
def test_a_process_that_failed_to_reach_a_cluster(tmp_path, auth_mode):
    """The failed connection imports Ray with no ``RAY_AUTH_MODE`` (cached: disabled);
    a mode set afterwards must take effect."""
    with socket.socket() as s:  # a port nobody listens on once closed
        s.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{s.getsockname()[1]}"
    setup = f"""
import os
from bench_lib import backends
os.environ["RAY_ADDRESS"] = {dead!r}
try:
    backends.get("ray", 1).start()
    raise SystemExit("reached a cluster at a closed port")
except backends.BackendError as exc:
    assert "cannot reach the cluster at RAY_ADDRESS" in str(exc), exc
del os.environ["RAY_ADDRESS"]
if {auth_mode!r}:
    os.environ["RAY_AUTH_MODE"] = {auth_mode!r}
"""
    assert result_of(run_fresh(setup + MAP_ABS, tmp_path)) == [abs(x) for x in ITEMS]


def test_a_local_runtime_starts_without_the_monitors_it_has_no_use_for():
    """Ray's own start spawns the autoscaler's monitor and a log monitor; the backend's
    runtime runs tasks without either (log_to_driver=False, a local runtime never scales)."""
    import psutil

    from bench_lib import backends

    engine = backends.warm("ray", 2, ())
    try:
        daemons = [" ".join(p.cmdline()) for p in psutil.Process().children(recursive=True)]
        assert not [d for d in daemons if d.endswith(("/monitor.py", "/log_monitor.py")) or "monitor.py " in d], daemons
        assert any("raylet" in d for d in daemons), daemons  # the runtime itself is there
        assert engine.map(abs, [-1, -2, 3]) == [1, 2, 3]
    finally:
        backends.close_all()
