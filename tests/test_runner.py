"""A run that cannot lose what it measured: saved per benchmark, resumed, stopped cleanly.

Real small runs of ``python -m bench_lib run`` on a copy of this checkout, killed part-way.
Processes are attributed to a run by a marker variable this test puts in the CLI's
environment (every descendant inherits it), never by the code under test.
"""

import itertools
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid

import psutil
import pytest

from test_cli import GIT, ROOT, checkout  # noqa: F401 - the fixture is used by name

CHEAP = ["--bench", r"overhead\.Startup\.track_start\('(serial|threads)'", "--bench", "VolumeGraph",
         "--bench", r"InterpolatorSize"]
# Benchmarks run in name order: convolve2d's serial points end before FilterBank's engines start.
WITH_ENGINES = ["--bench", r"Convolve2D\.time_convolve2d\('serial'", "--bench",
                r"FilterBank\.time_filter_bank\('(ray|loky|dask)', 2"]


def marked(mark: str) -> list[psutil.Process]:
    out = []
    for proc in psutil.process_iter(["status"]):
        try:
            if proc.info["status"] != psutil.STATUS_ZOMBIE and proc.environ().get("TEST_RUN_MARK") == mark:
                out.append(proc)
        except (psutil.Error, OSError):
            continue
    return out


def start(repo, mark, *args, quick=True, asv=()):
    # PARBENCH_BATCH_S=0: every benchmark its own asv run, saved alone (the default batches short ones).
    # asv drops PYTHONPATH from its benchmark processes; ASV_PYTHONPATH makes them import this
    # copy's bench_lib, not whichever checkout an editable install points at.
    env = {**os.environ, "HOME": str(repo.parent / "home"), "TEST_RUN_MARK": mark, "PARBENCH_BATCH_S": "0",
           "ASV_PYTHONPATH": str(repo)}
    sizes = ["--quick"] if quick else []  # else asv's own sampling, at PARBENCH_SIZE
    return subprocess.Popen([sys.executable, "-m", "bench_lib", "run", *sizes, "--no-publish", *args,
                             *(("--", *asv) if asv else ())],
                            cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def living(procs) -> list[tuple[int, str]]:
    """(pid, name) of the processes that still run (a zombie has ended)."""
    out = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append((p.pid, p.name()))
        except psutil.Error:
            continue
    return out


def result_file(repo, machine):
    head = subprocess.check_output(["git", "rev-parse", "HEAD"], cwd=repo, text=True).strip()
    return head, [p for p in (repo / "results" / machine).glob(f"{head[:8]}-*.json")]


def keys_once(path):
    """The result file parses and names every benchmark once (a JSON object may repeat a key)."""
    def no_repeats(pairs):
        keys = [k for k, _ in pairs]
        assert len(keys) == len(set(keys)), keys
        return dict(pairs)

    return json.loads(path.read_text(), object_pairs_hook=no_repeats)


def wait_for(condition, timeout, step=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    return condition()


@pytest.fixture
def repo(checkout, tmp_path):  # noqa: F811
    copy = tmp_path / "parbench"
    shutil.copytree(checkout, copy, ignore=shutil.ignore_patterns("results", "html", ".asv"))
    return copy


def test_sigkill_of_the_whole_run_keeps_finished_benchmarks_and_the_same_command_resumes(repo):
    mark = uuid.uuid4().hex
    run = start(repo, mark, "--machine", "ci-resume", *CHEAP)
    machine = "ci-resume-small"

    def first_saved():
        _, files = result_file(repo, machine)
        return files and "overhead.Startup.track_start" in keys_once(files[0])["results"]

    assert wait_for(first_saved, 120), run.communicate(timeout=60)[0][-3000:]
    for proc in marked(mark):  # the machine goes away: everything of the run, at once
        proc.kill()
    run.wait(timeout=30)
    psutil.wait_procs(marked(mark), timeout=10)
    _, [saved] = result_file(repo, machine)
    before = keys_once(saved)["results"]
    assert "overhead.Startup.track_start" in before

    again = start(repo, mark, "--machine", "ci-resume", *CHEAP)
    out = again.communicate(timeout=600)[0]
    assert again.returncode == 0, out[-3000:]
    finished = len(before)
    assert f"resuming: {finished} benchmarks" in out, out[:2000]
    assert out.count("[parbench] done ") == 3 - finished, out[-3000:]
    _, [final] = result_file(repo, machine)
    results = keys_once(final)["results"]
    assert sorted(results) == ["interpolators.InterpolatorSize.track_pickled_mb",
                               "overhead.Startup.track_start", "volume_gaussian.VolumeGraph.time_build_graph"]
    assert results["overhead.Startup.track_start"] == before["overhead.Startup.track_start"]  # kept, not re-run
    startup = results["overhead.Startup.track_start"][0]  # backend x n_workers (1, 2)
    assert startup[0] > 0 and math.isnan(startup[1]) and startup[2] > 0 and startup[3] > 0  # serial n=2: n/a
    assert results["volume_gaussian.VolumeGraph.time_build_graph"][0][0] > 0
    assert all(v is not None for v in results["interpolators.InterpolatorSize.track_pickled_mb"][0])
    assert not list((repo / "results").rglob("*.tmp")), "a partial copy was left"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_to_the_cli_alone_stops_every_process_of_the_run_and_keeps_what_finished(repo, signum):
    mark = uuid.uuid4().hex
    run = start(repo, mark, "--machine", f"ci-{signum.name.lower()}", *WITH_ENGINES)

    def engine_running():  # Convolve2D is saved, and FilterBank has started an engine's processes
        _, files = result_file(repo, f"ci-{signum.name.lower()}-small")
        return files and len(marked(mark)) >= 6  # CLI, asv, its forkserver, benchmark, 2+ engine

    assert wait_for(engine_running, 180, step=0.5), run.communicate(timeout=60)[0][-3000:]
    # Dask's workers and Ray's agents get an environment of their own: count descendants too
    tree = set(psutil.Process(run.pid).children(recursive=True)) | set(marked(mark))
    sent = time.monotonic()
    run.send_signal(signum)  # to the CLI's pid only, not its group

    def alive():
        return living(tree | set(marked(mark)))

    out = run.communicate(timeout=30)[0]
    wait_for(lambda: not alive(), 10 - (time.monotonic() - sent))
    assert not alive(), f"alive 10 s after {signum.name}: {alive()}"
    assert run.returncode == 128 + signum, out[-3000:]
    assert f"stopped by {signum.name}" in out and "run the same command to resume" in out
    _, [saved] = result_file(repo, f"ci-{signum.name.lower()}-small")
    results = keys_once(saved)["results"]
    assert list(results) == ["convolve2d.Convolve2D.time_convolve2d"]  # finished before the signal: kept


@pytest.mark.alone
def test_no_orphan_of_a_benchmark_process_lives_five_seconds(repo):
    """Each benchmark process ends with ``os._exit``; Ray's agents it started outlived it
    by a minute, loading the next points. They stay in asv's session (asv is its leader):
    none of that session may be orphaned for more than 5 s, nor left after the run. (Two
    guards: the runner's reaper and the ray backend's watcher; either alone passes.)"""
    mark = uuid.uuid4().hex
    run = start(repo, mark, "--machine", "ci-debris", "--bench", r"FilterBank\.time_filter_bank\('ray', [12], 'naive', '5x5'")
    sessions, stale, ray_seen = set(), {}, set()
    while run.poll() is None:
        for child in psutil.Process(run.pid).children():
            try:
                if "asv" in child.cmdline():
                    sessions.add(child.pid)  # asv's session: its pid
            except psutil.Error:
                pass
        now = time.time()
        for proc in psutil.process_iter(["ppid", "name", "create_time"]):
            try:
                if os.getsid(proc.pid) in sessions and "ray" in proc.info["name"]:
                    ray_seen.add(proc.pid)
                if os.getsid(proc.pid) in sessions and proc.info["ppid"] == 1 and proc.status() != psutil.STATUS_ZOMBIE:
                    first = stale.setdefault(proc.pid, (now, proc.info["name"]))[0]
                    assert now - first < 5.0, f"{proc.info['name']} ({proc.pid}) orphaned for {now - first:.1f} s"
            except (psutil.Error, OSError):
                continue
        time.sleep(0.25)  # the ray backend's watcher ends a runtime's orphans within ~1.5 s
    out = run.stdout.read()
    assert run.returncode == 0, out[-3000:]
    assert sessions, "asv was never seen"
    # Not vacuous: Ray's processes ran in asv's session. (An orphan is not always seen: the
    # ray watcher may end it within one 0.25 s poll, which is what the test asks for.)
    assert ray_seen, "no Ray process ran in asv's session: the test saw nothing to check"
    left = [p.pid for p in psutil.process_iter() if _sid(p.pid) in sessions and _live(p)]
    assert not left, f"processes of asv's session outlived the run: {left}"


def _sid(pid):
    try:
        return os.getsid(pid)
    except OSError:
        return None


def _live(proc) -> bool:
    """Not a zombie: one holds no memory or CPU, and one orphaned to init stays until init
    reaps it (this machine's init may take its time), whatever the run did."""
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


@pytest.mark.alone
def test_asvs_own_samples_are_watched_and_a_hog_beside_them_is_recorded_and_marked(repo, monkeypatch):
    """asv times ``time_*`` samples itself; each combination's load window (setup to
    teardown) goes to points.jsonl, the run's summary counts the loud ones and the report
    marks their rows. Busy loops outside the run make every window loud."""
    # Two hogs, one per core: asv sets up before every call (asv#966), so a window holds one
    # 16-25 ms call of the 5x5 filters, and the guard allows two 10 ms CPU-time ticks of
    # slack. One hog beside the two threads of ('threads', 2) got two thirds of a core,
    # 17 ms a window, and read quiet; two get a core between them.
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True) for _ in range(2)]
    try:
        monkeypatch.setenv("PARBENCH_SIZE", "full")  # asv's own sampling, at full size
        run = start(repo, uuid.uuid4().hex, "--machine", "ci-windows",
                    "--bench", r"FilterBank\.time_filter_bank\('(serial|threads)', [12], 'naive', '5x5'", quick=False)
        out = run.communicate(timeout=600)[0]
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    assert run.returncode == 0, out[-3000:]
    folder = repo / "results" / "ci-windows"
    records = [json.loads(line) for line in (folder / "points.jsonl").read_text().splitlines()]
    windows = [r for r in records if r.get("kind") == "window"]
    # asv sets up and tears down around every sample: a window each; the first of each
    # combination is recorded, and every loud one
    combos = sorted({(w["params"]["backend"], w["params"]["n_workers"]) for w in windows})
    assert combos == [("serial", 1), ("threads", 1), ("threads", 2)], windows  # serial at 2: n/a, no window
    assert all(w["benchmark"] == "filter_bank.FilterBank" and w["wall_s"] > 0 for w in windows)
    # the hogs: a core or more, less when the run's own threads take both (the limit is 0.1)
    loud = sorted({(w["params"]["backend"], w["params"]["n_workers"]) for w in windows
                   if not w["quiet"] and w["foreign_cores"] > 0.2})
    assert loud == combos, [(w["params"]["backend"], w["foreign_cores"], w["wall_s"]) for w in windows]
    assert "asv's samples of 3 timed combinations: 3 had samples beside foreign load" in out, out[-2000:]
    report = subprocess.run([sys.executable, "-m", "bench_lib", "report", "--machine", "ci-windows"],
                            cwd=repo, capture_output=True, text=True, env={**os.environ, "ASV_PYTHONPATH": str(repo)})
    rows = [ln.split() for ln in report.stdout.splitlines() if ln.startswith(("serial ", "threads "))]
    assert len(rows) == 3 and all(any(x.endswith("x*!") for x in r) for r in rows), report.stdout



@pytest.mark.parametrize("backend", ["loky", "joblib-multiprocessing", "dask"])
def test_asvs_last_teardown_closes_the_engine_and_nothing_is_leaked(repo, backend):
    """asv_runner's benchmark process runs one combination (``run._run``) and ends with
    ``os._exit``, which skips atexit: an engine still open there left its semaphores (Dask:
    "12 leaked semaphore objects") and memory-mapped folders (loky, joblib) for the resource
    tracker, which warned on stderr after the process had gone. The benchmark modules'
    ``teardown`` closes engines after the last sample. Here that process is run as asv's
    server forks it, and stderr is read to its end, the orphaned tracker's writes included
    (through asv the warning races asv's reading of the output, and is often lost)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from benchmarks.filter_bank import FilterBank

    combo = (backend, 2, "shared", "5x5")
    index = list(itertools.product(*FilterBank.params)).index(combo)
    code = ("import json, os, sys\n"
            "from asv_runner.run import _run\n"
            "_run((sys.argv[1], sys.argv[2], json.dumps({'number': 1, 'repeat': 3, 'warmup_time': 0}), 'None', 'result.json'))\n"
            "os._exit(0)\n")
    env = {**os.environ, "PARBENCH_SIZE": "small", "PYTHONPATH": str(repo), "PYTHONWARNINGS": "default"}
    done = subprocess.run([sys.executable, "-c", code, str(repo / "benchmarks"), f"filter_bank.FilterBank.time_filter_bank-{index}"],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    samples = json.loads((repo / "result.json").read_text())["samples"]
    assert len(samples) == 3 and all(s > 0 for s in samples)  # the combination ran, sampled as asv does
    for sign in ("leaked", "resource_tracker"):
        assert sign not in done.stderr, done.stderr[-3000:]
    # A Dask worker whose heartbeat fires while the scheduler is closing logs that closed
    # comm with its traceback (seen once in a full, loaded pytest run): distributed's own
    # shutdown race, not a leak. Any other traceback fails.
    heartbeat = "distributed.worker - ERROR - Failed to communicate with scheduler during heartbeat"
    tracebacks = done.stderr.count("Traceback (most recent call last)")
    raced = done.stderr.count(heartbeat) if "CommClosedError" in done.stderr else 0
    assert tracebacks <= 2 * raced, done.stderr[-3000:]  # the race's traceback is chained: two headers


def test_the_feed_says_each_new_point_of_this_run_and_reads_no_line_twice(tmp_path):
    """Between asv's lines: the combination asv times now and each protocol point, from the
    run's points file; a line still being written is read once it is whole."""
    from bench_lib.run.runner import Feed

    path = tmp_path / "points.jsonl"
    path.write_text(json.dumps({"run": "r1", "kind": "speedup", "workload": "old"}) + "\n")  # before this run
    feed = Feed(path, "r2")
    window = {"run": "r2", "kind": "window", "benchmark": "filter_bank.FilterBank",
              "params": {"backend": "loky", "n_workers": 2}, "quiet": False}
    point = {"run": "r2", "kind": "speedup", "workload": "convolve2d", "backend": "ray", "n_workers": 2,
             "value": 1.8412, "half_width": 0.0312, "pairs": 19, "precise": False}
    other = {"run": "r1", "kind": "gap", "workload": "x", "backend": "y", "n_workers": 2, "value": 1.0}
    whole, half = json.dumps(point) + "\n", json.dumps(window)
    with open(path, "a") as f:
        f.write(whole + json.dumps(other) + "\n" + half[:20])
    assert feed.lines() == ["[parbench]   speedup convolve2d ray n=2: 1.84 ±3.1%, 19 rounds, imprecise"]
    with open(path, "a") as f:
        f.write(half[20:] + "\n")
    assert feed.lines() == ["[parbench]   timing filter_bank.FilterBank(backend=loky, n_workers=2) -- beside foreign load"]
    assert feed.lines() == []
    quiet = {**window, "params": {"backend": "dask", "n_workers": 1}, "quiet": True}
    with open(path, "a") as f:  # more windows of a combination said once, once more when first loud
        for record in (window, quiet, quiet, {**quiet, "quiet": False}, {**quiet, "quiet": False}):
            f.write(json.dumps(record) + "\n")
    assert feed.lines() == ["[parbench]   timing filter_bank.FilterBank(backend=dask, n_workers=1)",
                            "[parbench]   timing filter_bank.FilterBank(backend=dask, n_workers=1) -- beside foreign load"]
    assert Feed(tmp_path / "none.jsonl", "r2").lines() == []


def test_a_combinations_process_records_where_its_time_went(repo):
    """asv_runner's process of one combination, as asv's server forks it, at 3 samples of
    one call: asv sets up before every sample (3 setups, 3 sample windows), and its last
    teardown writes one phases line naming asv's benchmark and the combination's index,
    whose setup and sampling lie within the process's life."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from benchmarks.filter_bank import FilterBank

    index = list(itertools.product(*FilterBank.params)).index(("threads", 2, "naive", "5x5"))
    code = ("import json, os, sys\n"
            "from asv_runner.run import _run\n"
            "_run((sys.argv[1], sys.argv[2], json.dumps({'number': 1, 'repeat': 3, 'warmup_time': 0}), 'None', 'result.json'))\n"
            "os._exit(0)\n")
    env = {**os.environ, "PARBENCH_SIZE": "small", "PYTHONPATH": str(repo), "PARBENCH_POINTS": str(repo / "points.jsonl"),
           "PARBENCH_RUN": "r1"}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code, str(repo / "benchmarks"), f"filter_bank.FilterBank.time_filter_bank-{index}"],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=300)
    wall = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-3000:]
    (line,) = [json.loads(x) for x in (repo / "phases.jsonl").read_text().splitlines()]
    assert (line["benchmark"], line["index"], line["setups"], line["samples"], line["run"]) == (
        "filter_bank.FilterBank.time_filter_bank", index, 3, 3, "r1")
    assert line["sampling_s"] > 0 and line["setup_s"] > 0
    # its life is within ours of it, to a clock tick (its start is known in 10 ms ticks)
    assert line["setup_s"] + line["sampling_s"] < line["life_s"] < wall + 0.01, (line, wall)


def test_a_run_keeps_each_benchmarks_split_in_the_ledger_and_prints_the_runs(repo):
    """One asv run of two serial combinations: the ledger's line of the benchmark splits
    its time into parts that add up to what it took, with both combinations' processes,
    and the run ends saying where the time went."""
    run = start(repo, uuid.uuid4().hex, "--machine", "ci-split",
                "--bench", r"FilterBank\.time_filter_bank\('serial', 1, 'naive', '(5x5|511x511)'")
    out = run.communicate(timeout=600)[0]
    assert run.returncode == 0, out[-3000:]
    (entry,) = [json.loads(x) for x in (repo / "results" / "ci-split-small" / "measured.jsonl").read_text().splitlines()]
    split = entry["split"]
    assert len(split["combinations"]) == 2 and sorted(map(int, split["combinations"])) == sorted(entry["indices"])
    assert sum(split[k] for k in ("asv_s", "setup_s", "sampling_s", "body_s", "teardown_s")) == pytest.approx(
        entry["took_s"], abs=0.05)
    assert split["asv_s"] > 0 and split["setup_s"] > 0
    assert "parbench: where the time went: asv's start and processes" in out, out[-2000:]
