"""Existing clusters, started as separate processes on 127.0.0.1 the way users start
them (``ray start --head`` plus a second ``ray start --address`` node; ``dask scheduler``
plus two ``dask worker``): a workload runs through the address and gives the serial
answer, ``n_workers`` limits what it uses, and stopping the clusters leaves no process."""

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from bench_lib import backends, workloads

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pids_of(procs) -> set[int]:
    out = set()
    for proc in procs:
        try:
            p = psutil.Process(proc.pid)
            out |= {p.pid, *(c.pid for c in p.children(recursive=True))}
        except psutil.NoSuchProcess:
            pass
    return out


def stop(procs) -> None:
    """SIGTERM each process group, then SIGKILL what outlives 20 s."""
    for proc in procs:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for proc in procs:
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def alive(pids) -> list[str]:
    out = []
    for pid in pids:
        try:
            p = psutil.Process(pid)
            if p.status() != psutil.STATUS_ZOMBIE:
                out.append(f"{pid} {' '.join(p.cmdline())[:100]}")
        except psutil.NoSuchProcess:
            pass
    return out


def filter_bank_matches_serial(name, n_workers):
    wl = workloads.get("filter_bank")
    inputs = wl.inputs("small", filter_size="5x5")
    with backends.get(name, n_workers) as engine:
        engine.warm(wl.modules)
        for variant in ("naive", "shared"):
            np.testing.assert_allclose(wl.run(engine, inputs, variant), wl.reference_answer(inputs),
                                       rtol=1e-10, atol=1e-10)
        return set(engine.worker_pids)  # the worker processes warm-up tasks ran in


@pytest.fixture
def dask_cluster(monkeypatch):
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        for _ in range(2):
            procs.append(subprocess.Popen(
                [str(BIN / "dask"), "worker", address, "--nthreads", "1", "--nworkers", "1",
                 "--no-dashboard", "--host", "127.0.0.1"],
                start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", address)
        yield procs
    finally:
        started = pids_of(procs)
        stop(procs)
        deadline = time.monotonic() + 30  # resource trackers exit once their pipes close
        while alive(started) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not alive(started), f"dask cluster processes left: {alive(started)}"


RAY_CLUSTER_MARKER = "PARBENCH_TEST_RAY_CLUSTER"


def ray_processes(marker: str) -> set[psutil.Process]:
    """The processes of the cluster started with ``marker`` in its environment: those that
    carry it (gcs_server, raylets, workers...) and their descendants (Ray's agents retitle
    themselves, which wipes their copy of the environment). Other Rays are left alone."""
    out = set()
    for p in psutil.process_iter(["environ"]):
        if (p.info["environ"] or {}).get(RAY_CLUSTER_MARKER) == marker:
            with contextlib.suppress(psutil.Error):
                out |= {p, *p.children(recursive=True)}
    return out


@pytest.fixture
def ray_cluster(monkeypatch):
    """A two-node cluster started by ``ray start`` with token authentication; yields its
    processes, and ends exactly those at teardown."""
    port = free_port()
    marker = secrets.token_hex(16)
    monkeypatch.setenv("RAY_AUTH_MODE", "token")  # `ray start --address` defaults to disabled
    monkeypatch.setenv("RAY_AUTH_TOKEN", secrets.token_hex(32))
    env = {**os.environ, RAY_CLUSTER_MARKER: marker, "RAY_USAGE_STATS_ENABLED": "0"}
    ray = str(BIN / "ray")
    cluster: set[psutil.Process] = set()
    try:
        subprocess.run([ray, "start", "--head", "--port", str(port), "--node-ip-address", "127.0.0.1",
                        "--num-cpus", "1", "--include-dashboard=false", "--disable-usage-stats"],
                       env=env, check=True, capture_output=True, timeout=180)
        subprocess.run([ray, "start", "--address", f"127.0.0.1:{port}", "--node-ip-address", "127.0.0.1",
                        "--num-cpus", "1"], env=env, check=True, capture_output=True, timeout=180)
        cluster = ray_processes(marker)
        monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{port}")
        yield set(cluster)
    finally:
        backends.close_all()
        import ray as ray_module

        if ray_module.is_initialized():
            ray_module.shutdown()
        cluster |= ray_processes(marker)
        # What `ray stop` does (SIGTERM, then SIGKILL what lingers), to this cluster's
        # processes only: `ray stop` ends every Ray on the machine, a benchmark's included.
        # Ray's agents sit out a SIGTERM (a 15 s wait for them ran out every time): 3 s, then SIGKILL.
        pids = {p.pid for p in cluster}
        for signal_name, grace_s in (("terminate", 3), ("kill", 15)):
            for p in cluster:
                with contextlib.suppress(psutil.Error):
                    getattr(p, signal_name)()
            deadline = time.monotonic() + grace_s
            while alive(pids) and time.monotonic() < deadline:
                time.sleep(0.2)
        current = Path(tempfile.gettempdir()) / "ray" / "ray_current_cluster"  # ray stop removes it too
        if current.is_file() and current.read_text().strip().endswith(f":{port}"):
            current.unlink()
        assert cluster and not alive(pids), f"ray cluster processes left: {alive(pids)}"


def test_dask_cluster_by_address(dask_cluster):
    cluster_workers = pids_of(dask_cluster)
    used = filter_bank_matches_serial("dask", 2)
    assert len(used) == 2 and used <= cluster_workers  # the cluster's workers, not local ones
    assert len(filter_bank_matches_serial("dask", 1)) == 1  # n_workers=1 uses one of the two
    with pytest.raises(backends.BackendError, match="exceeds the limit of 2"):
        backends.get("dask", 3).start()


def test_ray_cluster_of_two_nodes_by_address(ray_cluster):
    import ray

    used = filter_bank_matches_serial("ray", 2)
    assert len(used) == 2
    assert len([n for n in ray.nodes() if n["Alive"]]) == 2  # connected to the two-node cluster
    assert len(filter_bank_matches_serial("ray", 1)) == 1
    with pytest.raises(backends.BackendError, match="exceeds the limit of 2"):
        backends.get("ray", 3).start()
