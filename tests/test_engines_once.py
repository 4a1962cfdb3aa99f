"""``run --engines once``: one Ray and one Dask cluster per run, joined by the warm points.

Real small runs of ``python -m bench_lib run`` on a copy of this checkout. Processes are
told apart by what the operating system says of them -- their names and command lines
(``gcs_server``, ``raylet``, ``ray start``, a multiprocessing spawn child), their session
and their parent -- and by a marker this test puts in the CLI's environment, never by the
code under test.
"""

import math
import os
import shutil
import signal
import threading
import time
import uuid

import psutil
import pytest

from bench_lib.results import points

from test_cli import checkout  # noqa: F401 - the fixture is used by name
from test_runner import keys_once, living, marked, result_file, start, wait_for


@pytest.fixture
def repo(checkout, tmp_path):  # noqa: F811 - as tests/test_runner.py's: a copy without results
    copy = tmp_path / "parbench"
    shutil.copytree(checkout, copy, ignore=shutil.ignore_patterns("results", "html", ".asv"))
    return copy


RAY_DAEMONS = ("gcs_server", "raylet")
FILTERS = r"FilterBank\.time_filter_bank\('(ray|dask)', [12], 'shared', '5x5'"
# Both modes at two workers: one worker on the run's two-CPU cluster (its reservation) is
# test_a_point_on_the_runs_cluster_gets_exactly_its_workers's; each point less here is an
# engine start less in the per-point half, while the test holds the machine alone.
BOTH_MODES = r"FilterBank\.time_filter_bank\('(ray|dask)', 2, 'shared', '5x5'"


def _cmdline(proc) -> str:
    try:
        return " ".join(proc.cmdline())
    except (psutil.Error, OSError):
        return ""


def _is_cluster_root(proc) -> bool:
    line = _cmdline(proc)
    return ("ray start" in line or line.endswith("/ray start") or " start --head" in line
            or "bench_lib.backends._run_clusters dask" in line)


def _dask_worker(line: str) -> bool:
    return "spawn_main" in line or "multiprocessing-fork" in line


class Watch:
    """Polls the run's processes while it runs: asv's session (asv leads one of its own)
    and the clusters' trees (roots found by their command lines among the marked processes)."""

    def __init__(self, run, mark):
        self.run, self.mark = run, mark
        self.sessions: set[int] = set()
        self.in_asv: set[str] = set()  # names and command lines seen in asv's session
        self.cluster: dict[int, psutil.Process] = {}
        self.spawned: set[str] = set()
        self.seen_names: set[str] = set()  # of the clusters' processes, when first seen
        self.roots: dict[int, str] = {}
        self.together = 0  # polls that saw Ray's and Dask's cluster roots alive at once
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while not self._stop.is_set():
            self.poll()
            time.sleep(0.2)

    def poll(self):
        try:
            children = psutil.Process(self.run.pid).children()
        except psutil.Error:
            children = []
        for child in children:
            if "-m asv run" in _cmdline(child):
                self.sessions.add(child.pid)
        for proc in marked(self.mark):
            if _is_cluster_root(proc):
                self.roots[proc.pid] = _cmdline(proc)[:80]
        live = [line for pid, line in self.roots.items() if psutil.pid_exists(pid)
                and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
        if any("start --head" in line for line in live) and any("_run_clusters dask" in line for line in live):
            self.together += 1
        for pid in list(self.roots):
            try:
                root = psutil.Process(pid)
                for p in (root, *root.children(recursive=True)):
                    if p.pid not in self.cluster:
                        self.cluster[p.pid] = p
                        self.seen_names.add(p.name())
            except psutil.Error:
                continue
        for proc in psutil.process_iter(["name"]):
            try:
                if os.getsid(proc.pid) in self.sessions:
                    self.in_asv.add(proc.info["name"])
                    if _dask_worker(_cmdline(proc)):
                        self.in_asv.add("dask-worker-process")
                        self.spawned.add(_cmdline(proc)[-60:] + " <- " + _cmdline(proc.parent())[:150])
            except (psutil.Error, OSError):
                continue

    def stop(self):
        self._stop.set()
        self.thread.join(timeout=5)

    def alive(self):
        return living(self.cluster.values())

    def names(self):
        return set(self.seen_names)


def _values(results: dict, name: str) -> dict[tuple, float]:
    """asv's values of a benchmark by its parameters as asv shows them."""
    import itertools

    row = results[name]
    return {combo: value for combo, value in zip(itertools.product(*row[1]), row[0])}


def _run(repo, mark, machine, *args, engines="once"):
    run = start(repo, mark, "--machine", machine, "--engines", engines, *args)
    watch = Watch(run, mark)
    out = run.communicate(timeout=600)[0]
    watch.poll()
    watch.stop()
    return run, watch, out


@pytest.mark.alone  # compares the two modes' times
def test_both_modes_measure_the_same_points_and_only_per_point_starts_engines_in_asvs_processes(repo):
    """Ray's and Dask's filter bank at 2 workers under both modes: every point is
    measured, the two modes' times agree within a loose factor at this small size, the
    once-mode benchmark processes start no Ray daemon and no Dask worker of their own (the
    per-point ones do), and the run's clusters are gone soon after a normal end."""
    mark = uuid.uuid4().hex
    once, seen, out = _run(repo, mark, "ci-once", "--bench", BOTH_MODES)
    assert once.returncode == 0, out[-3000:]
    ended = time.monotonic()
    assert seen.sessions, "asv was never seen"
    assert any("start --head" in line for line in seen.roots.values()), seen.roots
    assert any("_run_clusters dask" in line for line in seen.roots.values()), seen.roots
    assert set(RAY_DAEMONS) <= seen.names(), seen.names()
    assert not (set(RAY_DAEMONS) | {"dask-worker-process"}) & seen.in_asv, (seen.in_asv, seen.spawned)
    # one cluster at a time: Ray's for its points, then Dask's (an idle cluster slows the rest)
    assert seen.together == 0, "Ray's and Dask's clusters were up at once"
    assert out.index("engines once: ray's cluster started") < out.index("engines once: dask's cluster started"), out
    wait_for(lambda: not seen.alive(), 10 - (time.monotonic() - ended))
    assert not seen.alive(), f"the run's clusters outlived it: {seen.alive()}"

    per_point, seen_pp, out_pp = _run(repo, mark, "ci-per-point", "--bench", BOTH_MODES, engines="per-point")
    assert per_point.returncode == 0, out_pp[-3000:]
    assert not seen_pp.roots, f"per-point started clusters: {seen_pp.roots}"
    assert set(RAY_DAEMONS) <= seen_pp.in_asv and "dask-worker-process" in seen_pp.in_asv, seen_pp.in_asv

    name = "filter_bank.FilterBank.time_filter_bank"
    _, [a] = result_file(repo, "ci-once-small")
    _, [b] = result_file(repo, "ci-per-point-small")
    times_once, times_pp = _values(keys_once(a)["results"], name), _values(keys_once(b)["results"], name)
    checked = 0
    for combo, t_once in times_once.items():
        backend = combo[0].strip("'")
        if backend in ("ray", "dask") and combo[1:] == ("2", "'shared'", "'5x5'"):
            t_pp = times_pp[combo]
            assert t_once and t_pp and not math.isnan(t_once) and not math.isnan(t_pp), (combo, t_once, t_pp)
            assert 1 / 4 < t_once / t_pp < 4, (combo, t_once, t_pp)  # ms tasks at small size: loose
            checked += 1
    assert checked == 2, times_once


def test_starts_and_a_speedup_group_start_their_own_engines_and_no_cluster(repo, monkeypatch):
    """The first phase of a run (one run here for both): Startup still starts its own
    engines, and the protocol's rounds (``ratios.speedups``) measure every backend of the
    speedup group in one process, interleaved, where a run cluster would idle beside the
    other arms. A run of only these starts no cluster; their engines start in asv's
    benchmark processes."""
    monkeypatch.setenv("PARBENCH_POINT_CAP_S", "1")  # where the rounds run, not how precise they get
    mark = uuid.uuid4().hex
    run, seen, out = _run(repo, mark, "ci-first-phase", "--bench",
                          r"overhead\.Startup\.track_start\('(ray|dask)', 1\)"
                          r"|scaling\.Ratios\.track_speedup\('filter_bank', '(ray|dask)'")
    assert run.returncode == 0, out[-3000:]
    assert not seen.roots, f"a run of starts and a speedup group started clusters: {seen.roots}"
    assert set(RAY_DAEMONS) <= seen.in_asv and "dask-worker-process" in seen.in_asv, seen.in_asv
    _, [saved] = result_file(repo, "ci-first-phase-small")
    starts = _values(keys_once(saved)["results"], "overhead.Startup.track_start")
    assert starts[("'ray'", "1")] > 0 and starts[("'dask'", "1")] > 0, starts
    found, unreadable = points.read(repo / "results" / "ci-first-phase-small" / points.FILE)
    assert unreadable == 0, found
    speedups = {r["backend"]: r["value"] for r in found if r.get("kind") == "speedup"}
    assert set(speedups) == {"ray", "dask"} and all(v > 0 for v in speedups.values()), speedups


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL])
def test_the_runs_clusters_are_gone_after_a_signal_to_the_cli(repo, signum):
    """SIGTERM: the runner stops them; SIGKILL of the CLI alone: their parent-death signal
    and the watcher (a child of the CLI, which notices it is gone) end them."""
    mark = uuid.uuid4().hex
    run = start(repo, mark, "--machine", f"ci-once-{signum.name.lower()}", "--engines", "once", "--bench", FILTERS)
    watch = Watch(run, mark)
    try:
        up = wait_for(lambda: len(watch.roots) >= 2 and set(RAY_DAEMONS) <= watch.names(), 120, step=0.5)
        assert up, (watch.roots, watch.names())
        time.sleep(1.0)  # the trees as they are now: agents, workers
        watch.poll()
        sent = time.monotonic()
        run.send_signal(signum)  # to the CLI's pid only, not its group
        out = run.communicate(timeout=60)[0]
        wait_for(lambda: not watch.alive(), 10 - (time.monotonic() - sent))
        assert not watch.alive(), f"alive 10 s after {signum.name}: {watch.alive()}\n{out[-2000:]}"
        if signum == signal.SIGTERM:
            assert run.returncode == 128 + signum, out[-3000:]
    finally:
        watch.stop()
        for proc in marked(mark):  # whatever else of the run (asv after a SIGKILL ends by itself)
            proc.kill()


CHECK = r"""
import json, sys
from bench_lib.backends import allocator
from bench_lib.measure import protocol
pids = [int(p) for p in sys.argv[1:]]
seen = {pid for pid, _ in protocol.Guard().snapshot()[0]}
told_nothing = {pid for pid, _ in protocol.Guard(also=[]).snapshot()[0]}
metered = set(allocator.Meter().read())
import psutil
started_with = [{k: v for k, v in psutil.Process(p).environ().items() if k.startswith(("MALLOC_", "OMP_", "OPENBLAS_"))}
                for p in pids]
print(json.dumps([[p in seen for p in pids], [p in told_nothing for p in pids], [p in metered for p in pids],
                  started_with]))
"""

RESERVE = "CHECK = " + repr(CHECK) + r"""
import functools, json, os, sys, time
from pathlib import Path
from bench_lib.backends import _run_clusters, _worker
import bench_lib.backends as backends

clusters = _run_clusters.Clusters(Path(sys.argv[1]), dict(os.environ), 2, ["ray", "dask"])
os.environ.update(clusters.start())
out = {}
try:
    for name in ("ray", "dask"):
        for n in (1, 2):
            with backends.get(name, n, join=True) as engine:
                engine.warm(())
                task = functools.partial(_worker.warm_up, (), 1)
                started = time.perf_counter()
                engine.map(task, [0.5, 0.5])
                out[f"{name} {n}"] = [time.perf_counter() - started, engine.address]
                if n == 2:  # whom the guard and the meter of another process (as asv's are) count
                    import subprocess
                    check = subprocess.run([sys.executable, "-c", CHECK, *map(str, engine.worker_pids)],
                                           capture_output=True, text=True, check=True)
                    out[f"{name} workers"] = json.loads(check.stdout)
finally:
    import ray
    ray.shutdown()
    clusters.stop()
print(json.dumps(out))
"""


@pytest.mark.alone
def test_a_point_on_the_runs_cluster_gets_exactly_its_workers(tmp_path):
    """Two tasks of 0.5 s on the run's two-worker clusters: at n_workers=1 they take turns
    (>= 1 s), at 2 they overlap (< 1 s): Ray's reservation and Dask's pinning hold n_workers.
    The workers, outside this process's tree, are the run's own to the load guard (counted
    foreign by a guard told of no cluster) and to the fault meter, and started under the
    run's allocator discipline and one BLAS thread each."""
    import json
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", RESERVE, str(tmp_path / "clusters")], capture_output=True,
                          text=True, timeout=300, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert done.returncode == 0, done.stderr[-3000:]
    walls = json.loads(done.stdout.strip().splitlines()[-1])
    for name in ("ray", "dask"):
        assert walls[f"{name} 1"][1] and walls[f"{name} 2"][1], walls  # joined, not started here
        assert walls[f"{name} 1"][0] >= 1.0, walls
        assert walls[f"{name} 2"][0] < 0.95, walls
        in_foreign_default, in_foreign_without, metered, environments = walls[f"{name} workers"]
        assert len(metered) == 2 and not any(in_foreign_default) and all(in_foreign_without) and all(metered), walls
        for env in environments:  # the run's allocator discipline and one BLAS thread, from their start
            assert env.get("MALLOC_ARENA_MAX") == "1" and env.get("MALLOC_MMAP_THRESHOLD_") == str(1 << 30), env
            assert env.get("MALLOC_TRIM_THRESHOLD_") == str(1 << 30), env  # not Dask nanny's 65536
            assert env.get("OMP_NUM_THREADS") == "1" and env.get("OPENBLAS_NUM_THREADS") == "1", env


def test_the_run_goes_in_phases_one_cluster_at_a_time_by_hand():
    """``--engines once``: first the combinations that join no cluster, then Ray's, then
    Dask's, each benchmark split with its share of the estimate; starts and the speedup
    group stay in the first phase; per point, or with the user's own cluster, nothing moves."""
    from bench_lib.backends import _run_clusters
    from bench_lib.results.benchmark import Benchmark

    combos = ({"backend": "'threads'", "n_workers": "2"}, {"backend": "'ray'", "n_workers": "1"},
              {"backend": "'dask'", "n_workers": "1"}, {"backend": "'ray'", "n_workers": "2"})
    filters = Benchmark("filter_bank.FilterBank.time_filter_bank", [0, 3, 5, 6], 8, estimate_s=40.0, params=combos,
                        start_s=8.0, start_range=(4.0, 12.0))
    starts = Benchmark("overhead.Startup.track_start", [1], 4, estimate_s=5.0, params=({"backend": "'ray'"},))
    group = Benchmark("scaling.Ratios.track_speedup", [2], 9, estimate_s=9.0, params=({"backend": "'dask'"},))
    once = {"PARBENCH_ENGINES": "once"}
    phases = _run_clusters.phases([filters, starts, group], grouped=("scaling.Ratios.track_speedup",), environ=once)
    assert [(engine, [(b.name.split(".")[1], b.selected) for b in found]) for engine, found in phases] == [
        (None, [("FilterBank", [0]), ("Startup", [1]), ("Ratios", [2])]),
        ("ray", [("FilterBank", [3, 6])]),
        ("dask", [("FilterBank", [5])])]
    ray = phases[1][1][0]
    assert (ray.estimate_s, ray.start_s, ray.start_range) == (20.0, 4.0, (2.0, 6.0))  # 2 of its 4 combinations
    assert ray.params == (combos[1], combos[3])
    assert _run_clusters.phases([filters], environ={"PARBENCH_ENGINES": "per-point"}) == [(None, [filters])]
    mine = _run_clusters.phases([filters], environ={**once, "RAY_ADDRESS": "10.0.0.5:6379"})
    assert [(e, [b.selected for b in found]) for e, found in mine] == [(None, [[0, 3, 6]]), ("dask", [[5]])]
