"""One local Ray cluster and one local Dask cluster for a whole run (``run --engines once``).

Why: asv starts a process per parameter combination, and each used to start its engine from
nothing (Ray 2.5-7 s, Dask 0.7 s). Here ``run`` starts each engine once, before asv, sized to
the run's most workers (one CPU, one thread per worker, process workers), and the warm-run
paths join it by address (``config.run_clusters``); what measures a start still starts one.

The clusters run under the run's allocator discipline and the workers' thread limits (their
environment, from their first instruction), in sessions of their own (a terminal's Ctrl-C
reaches them only through ``run``), with a parent-death signal (SIGTERM when ``run`` dies).
Every one of their processes carries a marker (``PARBENCH_RAY_RUNTIME``), as a runtime the
Ray backend starts does, and a watcher (``_ray_watch``, a child of ``run``) ends whatever
carries it once ``run`` is gone, however it died: ``ray start`` daemons outlive a SIGKILLed
parent, and Ray's agents retitle themselves, losing the marker (the watcher knows them as
the raylet's children).

Usage of the module itself: ``python -m bench_lib.backends._run_clusters dask N MEMORY FILE``
runs the Dask cluster in a process of its own, writing the scheduler's address to FILE.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench_lib import config
from bench_lib.backends import allocator, processes, _worker
from bench_lib.backends.dask import _worker_memory
from bench_lib.backends.ray import MARKER, _object_store_bytes, end_runtime

START_TIMEOUT = 90.0  # s for a cluster to answer: Ray takes 2.5-7 s on an idle 2-core VM
# Starts of Ray's head tried before giving up: ``ray start`` exits 1 when its raylet does not
# register within Ray's own fixed 30 s (seen once on a loaded 2-core VM) or a port it was
# given was taken meanwhile; a second start, on fresh ports, is cheaper than a lost run.
RAY_STARTS = 2
RAY_ATTEMPT = "PARBENCH_RAY_START"  # one token a start: what a failed start leaves is ended
STOP_GRACE_S = 5.0
ENGINES = ("ray", "dask")
# Classes whose every point times an engine's start or first call on fresh workers: they
# never join, so a run of only these needs no cluster.
STARTS = ("overhead.Startup.", "overhead.StartGrowth.", "overhead.Imports.")
SOCKET_PATH_MAX = 107  # AF_UNIX; Ray's socket paths add ~60 characters to its temp dir


def engine_of(bench, params: dict, grouped=(), environ=os.environ) -> str | None:
    """The one engine of :data:`ENGINES` whose run cluster a combination joins, or None: it
    names no such backend, it times a start, its point measures many backends at once
    (``grouped``: the speedup group's benchmarks), or the user gave that engine's cluster."""
    if bench.name.startswith(STARTS) or bench.name in grouped:
        return None
    backend = str(params.get("backend", "")).strip("'\"")
    return backend if backend in ENGINES and config.user_cluster(backend, environ) is None else None


def phases(benchmarks, grouped=(), environ=os.environ) -> list[tuple[str | None, list]]:
    """The run in phases by the cluster that is up: first what joins none (no cluster up),
    then Ray's combinations (only Ray's cluster up), then Dask's. An idle cluster is not
    free: beside a point that takes every core, the other engine's idle cluster made it
    5-18% slower (docs/engines_once.md). Each phase holds each benchmark's combinations of
    that engine, as a benchmark of its own (its share of the estimate); per point, one
    phase of everything."""
    import dataclasses

    if config.engines(environ) != "once":
        return [(None, list(benchmarks))]
    out: dict[str | None, list] = {None: [], **{e: [] for e in ENGINES}}
    for bench in benchmarks:
        params = list(bench.params) or [{}] * len(bench.selected)
        for engine in out:
            keep = [(i, p) for i, p in zip(bench.selected, params) if engine_of(bench, p, grouped, environ) == engine]
            if not keep:
                continue
            if len(keep) == len(bench.selected):
                out[engine].append(bench)
                continue
            share = len(keep) / len(bench.selected)
            out[engine].append(dataclasses.replace(
                bench, selected=[i for i, _ in keep], params=tuple(p for _, p in keep) if bench.params else (),
                estimate_s=None if bench.estimate_s is None else bench.estimate_s * share,
                start_s=bench.start_s * share, start_range=tuple(x * share for x in bench.start_range)))
    return [(engine, group) for engine, group in out.items() if group]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Clusters:
    """The run's clusters: :meth:`start` them, hand :meth:`environment` to asv, :meth:`stop`."""

    def __init__(self, folder: Path, environ: dict, n_workers: int, engines: list[str]):
        self.folder, self.environ, self.n_workers, self.engines = Path(folder), dict(environ), n_workers, engines
        self.marker = secrets.token_hex(16)
        self.info: dict = {}
        self.roots: dict[str, subprocess.Popen] = {}
        self.watcher: subprocess.Popen | None = None
        self._temp: Path | None = None

    def _env(self) -> dict:
        """The run's environment, its allocator discipline and the workers' thread limits,
        plus the marker every process of these clusters carries."""
        threads = str(config.threads_per_worker())
        return {**allocator.without(self.environ), **allocator.environment(self.environ),
                **{name: threads for name in _worker.THREAD_VARIABLES},
                "RAY_USAGE_STATS_ENABLED": "0", processes_marker(): self.marker}

    def _spawn(self, cmd: list[str], env: dict, log: str) -> subprocess.Popen:
        with open(self.folder / log, "ab") as out:
            return subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True, preexec_fn=processes.end_with_parent,
                                    cwd=Path(__file__).parents[2])

    def start(self, stopped=lambda: False) -> dict:
        """Start the clusters and wait until each answers (or ``stopped()``: a signal came);
        returns :meth:`environment`."""
        self.folder.mkdir(parents=True, exist_ok=True)
        env = self._env()
        try:
            if "ray" in self.engines:
                self._start_ray(env)
            if "dask" in self.engines:
                self._start_dask(env)
            # A child of this process, carrying the marker: ends everything marked once we are gone.
            self.watcher = subprocess.Popen(
                [sys.executable, "-m", "bench_lib.backends._ray_watch", str(os.getpid()), self.marker],
                env=env, cwd=Path(__file__).parents[2], start_new_session=True,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for engine in self.engines:
                self._wait(engine, stopped)
        except BaseException:
            self.stop()
            raise
        self.info["pids"] = [p.pid for p in (*self.roots.values(), self.watcher) if p is not None]
        return self.environment()

    def environment(self) -> dict:
        """What asv's processes get: the clusters' addresses and root pids, privately."""
        return {config.CLUSTERS: json.dumps(self.info)} if self.info.get("pids") else {}

    def _start_ray(self, env: dict) -> None:
        temp = self.folder / "ray"
        if len(str(temp)) + 60 > SOCKET_PATH_MAX:  # Ray refuses socket paths past AF_UNIX's limit
            temp = Path(tempfile.mkdtemp(prefix="pbray-"))
            self._temp = temp
        temp.mkdir(parents=True, exist_ok=True)
        port, token = free_port(), secrets.token_hex(32)
        ports = {flag: str(free_port()) for flag in (
            "--ray-client-server-port", "--dashboard-agent-listen-port", "--dashboard-agent-grpc-port",
            "--metrics-export-port", "--runtime-env-agent-port", "--node-manager-port", "--object-manager-port")}
        ray = shutil.which("ray", path=str(Path(sys.executable).parent)) or "ray"
        cmd = [ray, "start", "--head", "--block", "--port", str(port), "--node-ip-address", "127.0.0.1",
               "--num-cpus", str(self.n_workers), "--num-gpus", "0", "--include-dashboard", "false",
               "--object-store-memory", str(_object_store_bytes()), "--temp-dir", str(temp),
               "--disable-usage-stats", "--no-monitor", "--include-log-monitor", "false",
               *[x for item in ports.items() for x in item]]
        self._ray_attempt = secrets.token_hex(8)
        self.roots["ray"] = self._spawn(cmd, {**env, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token,
                                              RAY_ATTEMPT: self._ray_attempt}, "ray-start.log")
        self.info.update(ray=f"127.0.0.1:{port}", ray_token=token)
        self._ray_ready = temp / "ray_current_cluster"  # written by `ray start` once its node is up

    def _start_dask(self, env: dict) -> None:
        self._dask_file = self.folder / "dask-address"
        self._dask_file.unlink(missing_ok=True)
        cmd = [sys.executable, "-m", "bench_lib.backends._run_clusters", "dask", str(self.n_workers),
               str(_worker_memory(self.n_workers)), str(self._dask_file)]
        self.roots["dask"] = self._spawn(cmd, env, "dask-cluster.log")

    def _wait(self, engine: str, stopped) -> None:
        proc, deadline = self.roots[engine], time.monotonic() + START_TIMEOUT
        starts = 1
        while not stopped():
            if engine == "ray" and self._ray_ready.exists():
                return
            if engine == "dask" and self._dask_file.exists():
                self.info["dask"] = self._dask_file.read_text().strip()
                return
            if engine == "ray" and proc.poll() is not None and starts < RAY_STARTS:
                starts += 1
                with open(self.folder / "ray-start.log", "a") as out:
                    out.write(f"\n[parbench] ray start exited with {proc.returncode}; start {starts} "
                              f"of {RAY_STARTS}, on fresh ports\n")
                # What the failed start left (a GCS, a raylet) carries its attempt's token.
                processes.end(processes.marked(RAY_ATTEMPT, self._ray_attempt), 1.0)
                self._start_ray(self._env())  # the first start's environment, derived again
                proc, deadline = self.roots[engine], time.monotonic() + START_TIMEOUT
                continue
            if proc.poll() is not None or time.monotonic() > deadline:
                log = (self.folder / ("ray-start.log" if engine == "ray" else "dask-cluster.log"))
                tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
                why = f"exited with {proc.returncode}" if proc.returncode is not None else \
                    f"did not answer within {START_TIMEOUT:.0f} s"
                raise RuntimeError(f"the run's {engine} cluster {why}; its log ends:\n{tail}")
            time.sleep(0.1)

    def stop(self) -> None:
        """SIGTERM to each cluster's root (``ray start --block`` ends its node, the Dask
        process closes its cluster), then whatever carries the marker is ended."""
        known = processes.marked(processes_marker(), self.marker)
        for proc in self.roots.values():
            with contextlib.suppress(OSError):
                proc.terminate()
        for proc in self.roots.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=STOP_GRACE_S)
        end_runtime(self.marker, known)
        for proc in (*self.roots.values(), self.watcher):
            if proc is not None:
                with contextlib.suppress(OSError):
                    proc.kill()
                proc.wait()
        self.roots.clear()
        self.watcher = None
        if self._temp is not None:
            shutil.rmtree(self._temp, ignore_errors=True)


def processes_marker() -> str:
    return MARKER


def serve_dask(n_workers: int, memory: int, address_file: str) -> None:
    """A LocalCluster of ``n_workers`` one-thread process workers until SIGTERM or SIGINT
    (the parent-death signal is SIGTERM); its address goes to ``address_file``."""
    from distributed import LocalCluster

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    if allocator.discipline() == allocator.FIXED:  # Dask's nanny would set glibc's trim threshold
        import dask

        key = "distributed.nanny.pre-spawn-environ"
        dask.config.set({key: {**dask.config.get(key, {}), **allocator.ENVIRONMENT}})
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                           scheduler_port=0, dashboard_address=None, memory_limit=memory,
                           silence_logs=logging.ERROR)
    try:
        partial = Path(address_file + ".tmp")
        partial.write_text(cluster.scheduler_address)
        partial.rename(address_file)
        while not stop.wait(0.5):
            pass
    finally:
        cluster.close(timeout=STOP_GRACE_S)


if __name__ == "__main__":
    if sys.argv[1:2] == ["dask"]:
        serve_dask(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
