"""A run's Ray cluster whose first ``ray start`` fails is started again on fresh ports, and
what the failed start left running is ended (CI saw ``ray start`` exit 1 once on a loaded
2-core VM: its raylet did not register within Ray's own fixed 30 s)."""

import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from bench_lib.backends import _run_clusters

# Stands in for a failed ``ray start``: leaves a child running (as a GCS left by a start
# that gave up would be), then exits 1.
FAILED_START = ("import subprocess, sys; subprocess.Popen(['sleep', '120'], start_new_session=True); "
                "sys.exit(1)")


def _sleepers_with(token: str) -> list:
    out = []
    for proc in psutil.process_iter(["name", "cmdline", "environ"]):
        if proc.info["cmdline"] == ["sleep", "120"] and (proc.info["environ"] or {}).get("PARBENCH_TEST_TOKEN") == token:
            out.append(proc)
    return out


@pytest.mark.parametrize("failures, starts", [(1, True), (2, False)])
def test_a_failed_ray_start_is_tried_once_more_and_leaves_nothing(tmp_path, monkeypatch, failures, starts):
    """One failed start: the second start answers, the log says why it started twice, and
    the first one's leftover is gone. Two failed starts: one clear error with the log's
    end, and nothing left running."""
    token = os.urandom(8).hex()
    spawned = []
    real_spawn = _run_clusters.Clusters._spawn

    def spawn(self, cmd, env, log):
        spawned.append(cmd)
        if cmd[1:3] == ["start", "--head"] and len(spawned) <= failures:
            cmd = [sys.executable, "-c", FAILED_START]
            env = {**env, "PARBENCH_TEST_TOKEN": token}
        return real_spawn(self, cmd, env, log)

    monkeypatch.setattr(_run_clusters.Clusters, "_spawn", spawn)
    clusters = _run_clusters.Clusters(tmp_path / "clusters", dict(os.environ), 1, ["ray"])
    try:
        if starts:
            environment = clusters.start()
            address = clusters.info["ray"]
            assert environment and address.startswith("127.0.0.1:")
            ports = {cmd[cmd.index("--port") + 1] for cmd in spawned}
            assert len(spawned) == 2 and len(ports) == 2, spawned  # fresh ports the second time
            done = subprocess.run([str(Path(sys.executable).parent / "ray"), "status", "--address", address], capture_output=True, text=True,
                                  timeout=60, env={**os.environ, "RAY_AUTH_MODE": "token",
                                                   "RAY_AUTH_TOKEN": clusters.info["ray_token"]})
            assert done.returncode == 0, done.stderr[-2000:]
        else:
            with pytest.raises(RuntimeError, match=r"^the run's ray cluster exited with 1; its log ends"):
                clusters.start()
            assert len(spawned) == 2
        log = (tmp_path / "clusters" / "ray-start.log").read_text()
        assert "ray start exited with 1; start 2 of 2, on fresh ports" in log
        assert not psutil.wait_procs(_sleepers_with(token), timeout=5)[1]
    finally:
        clusters.stop()
        for proc in _sleepers_with(token):
            proc.kill()
    assert not _sleepers_with(token)
