"""The main command for real: asv machine + asv run + asv publish on a copy of this checkout."""

import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GIT = ["git", "-c", "user.name=parbench", "-c", "user.email=parbench@localhost"]


@pytest.fixture(scope="module")
def checkout(tmp_path_factory):
    """This tree as a fresh one-commit git checkout, so results/ and html/ start empty."""
    repo = tmp_path_factory.mktemp("checkout") / "parbench"
    shutil.copytree(ROOT, repo, ignore=shutil.ignore_patterns(
        ".venv", ".asv", ".git", "results", "html", "__pycache__", ".pytest_cache", "*.egg-info"))
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run([*GIT, "commit", "-qm", "snapshot"], cwd=repo, check=True)
    return repo


@pytest.fixture
def pristine(checkout, tmp_path):
    """A clone of ``checkout`` whose results/ no other test has run into: a plan there has
    no other machine's durations, so its points are at the first-run guess."""
    repo = tmp_path / "parbench"
    subprocess.run(["git", "clone", "-q", str(checkout), str(repo)], check=True)
    return repo


def run_cli(repo, *args, **env):
    # asv writes ~/.asv-machine.json; it drops PYTHONPATH from its benchmark processes, and
    # ASV_PYTHONPATH makes them import this copy's bench_lib, not an editable install's checkout.
    env = {**os.environ, "HOME": str(repo.parent / "home"), "ASV_PYTHONPATH": str(repo), **env}
    return subprocess.run([sys.executable, "-m", "bench_lib", *args], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=900)


def test_quick_run_saves_results_and_publishes(checkout):
    # One class is enough to prove the command; every class runs in test_benchmarks.
    done = run_cli(checkout, "run", "--quick", "--machine", "ci-machine", "--bench", "FilterBank",
                   "--bench", r"Harness\.track_harness_ratio\('threads'", "--bench", "VolumeGraph",
                   "--bench", r"PoolReuse\.time_filter_bank\('threads', 2", "--bench", "LockHeld",
                   PARBENCH_BACKENDS="serial,threads", PARBENCH_POINT_CAP_S="4")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    machine = checkout / "results" / "ci-machine-small"  # small sizes never mix with real ones
    [result_file] = [p for p in machine.glob("*.json") if p.name != "machine.json"]
    result = json.loads(result_file.read_text())
    head = subprocess.check_output(["git", "rev-parse", "HEAD"], cwd=checkout, text=True).strip()
    assert result["commit_hash"] == head
    values = result["results"]["filter_bank.FilterBank.time_filter_bank"][0]
    timed = [v for v in values if v is not None and not math.isnan(v)]
    # serial/threads x {1, 2 workers} x {naive, shared} x 2 filter sizes: serial n=2 and
    # threads' shared variant are skipped, the other combinations are timed.
    assert timed and all(v > 0 for v in timed)
    assert (checkout / "html" / "index.html").is_file()
    # between asv's lines, the run says what it times now and each point as it is measured
    assert "[parbench]   timing filter_bank.FilterBank(backend=threads, n_workers=2, variant=naive" in done.stdout, done.stdout[-3000:]
    assert re.search(r"\[parbench\]   harness no-op threads n=2: [\d.]+ ±[\d.]+%, \d+ rounds", done.stdout), done.stdout[-3000:]
    # a protocol point of a machine's first run: its folder exists before the first result file
    records = [json.loads(line) for line in (machine / "points.jsonl").read_text().splitlines()]
    [point] = [r for r in records if r["kind"] == "harness"]
    assert point["backend"] == "threads" and point["value"] > 0
    # and a load window of each timed filter bank combination (bench_lib.measure.windows)
    windows = {(w["params"]["backend"], w["params"]["n_workers"]) for w in records
               if w["kind"] == "window" and w["benchmark"] == "filter_bank.FilterBank"}
    assert ("serial", 1) in windows and ("threads", 2) in windows
    # every time_* class is watched: a new pool per call, and a graph built with no engine
    watched = {(w["benchmark"], w["params"].get("pool")) for w in records if w["kind"] == "window"}
    assert {("overhead.PoolReuse", "reused"), ("overhead.PoolReuse", "per-call"),
            ("volume_gaussian.VolumeGraph", None)} <= watched, watched
    [line] = (machine / "sysinfo.jsonl").read_text().splitlines()
    info = json.loads(line)
    assert info["commit"] == head and info["threads_per_worker"] == 1 and info["size"] == "small"
    protocol = [r for r in records if r["kind"] != "window"]
    assert info["quiet"]["points"] == len(protocol) and info["run"] == point["run"]  # the run's load, from its points
    # the ledger says which time cap the protocol's points ran under, so a plan can scale them
    caps = {e["benchmark"]: e.get("cap_s") for e in map(json.loads, (machine / "measured.jsonl").read_text().splitlines())}
    assert caps["scaling.LockHeld.track_lock_held_share"] == 4.0
    assert caps["overhead.Harness.track_harness_ratio"] is None
    assert info["quiet"]["windows"] == len({(w["benchmark"], *sorted(w["params"].items()))
                                            for w in records if w["kind"] == "window"})


def test_asv_check_passes():
    done = subprocess.run([sys.executable, "-m", "asv", "check", "-E", "existing:same"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "No problems found" in done.stdout, done.stdout + done.stderr


def test_outside_a_checkout_is_a_clear_error(tmp_path):
    done = run_cli(tmp_path, "run", "--quick")
    assert done.returncode == 2
    assert "no asv.conf.json" in done.stderr


def test_unknown_backend_selection_is_a_clear_error(checkout):
    done = subprocess.run([sys.executable, "-c", "import bench_lib.harness"], cwd=checkout,
                          env={**os.environ, "PARBENCH_BACKENDS": "serial,spark"},
                          capture_output=True, text=True)
    assert done.returncode != 0 and "unknown ['spark']" in done.stderr


FAULTY = '''"""Written by tests/test_cli.py: a benchmark that hangs, beside one that works."""
import functools

from bench_lib import backends
from bench_lib.backends import _worker


class Hang:
    timeout = 5  # seconds, deliberately short (loky starts in ~1): what asv.conf.json's timeouts do at scale

    def setup(self):
        self.engine = backends.warm("loky", 2, ())

    def time_hangs(self):
        self.engine.map(functools.partial(_worker.warm_up, (), 1), [3600.0] * 2)


class Fine:
    def track_ok(self):
        return 1.0
'''
ENGINE = re.compile(r"\b(loky|joblib|multiprocessing|ray|raylet|gcs_server|dask|distributed)\b")


def engine_processes(mark: str) -> dict[int, str]:
    """Live processes of the run marked ``mark`` (never another run's on this machine)
    whose command line names an engine."""
    import psutil

    out = {}
    for p in psutil.process_iter(["pid", "cmdline", "status"]):
        try:
            cmd = " ".join(p.info["cmdline"] or [])
            if (p.info["status"] != psutil.STATUS_ZOMBIE and ENGINE.search(cmd)
                    and p.environ().get("TEST_RUN_MARK") == mark):
                out[p.info["pid"]] = cmd[:120]
        except psutil.Error:
            continue
    return out


def test_a_hung_benchmark_times_out_loses_nothing_and_leaves_no_engine(checkout, tmp_path):
    """A run in which a benchmark hangs: asv's timeout stops it, the next benchmarks run,
    the earlier commit's results are byte-identical, every results file parses, and no
    engine process (multiprocessing, loky, Ray, Dask) outlives the run."""
    repo = tmp_path / "parbench"
    shutil.copytree(checkout, repo)
    (repo / "benchmarks" / "zz_faults.py").write_text(FAULTY)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run([*GIT, "commit", "-qm", "faulty benchmark"], cwd=repo, check=True)
    first = run_cli(repo, "run", "--quick", "--machine", "ci-faults", "--bench", "Fine", "--no-publish")
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    machine = repo / "results" / "ci-faults-small"
    earlier = {p: p.read_bytes() for p in machine.glob("*.json")}
    subprocess.run([*GIT, "commit", "-q", "--allow-empty", "-m", "next commit"], cwd=repo, check=True)

    mark = uuid.uuid4().hex  # every process of the run inherits it
    engines = r"FilterBank.time_filter_bank\('(multiprocessing|loky|ray|dask)', 2, 'naive', '5x5'\)"
    done = run_cli(repo, "run", "--quick", "--machine", "ci-faults", "--bench", f"zz_faults|{engines}",
                   TEST_RUN_MARK=mark)
    out = done.stdout + done.stderr
    assert done.returncode != 0 and "asv: benchmark timed out (timeout 5" in out, out[-3000:]
    head = subprocess.check_output(["git", "rev-parse", "HEAD"], cwd=repo, text=True).strip()
    [new] = [p for p in machine.glob(f"{head[:8]}-*.json")]
    results = json.loads(new.read_text())["results"]
    assert results["zz_faults.Hang.time_hangs"][0] is None  # failed, recorded as such
    assert results["zz_faults.Fine.track_ok"][0] == [1.0]  # the benchmark after it ran
    timed = results["filter_bank.FilterBank.time_filter_bank"][0]
    assert sum(v is not None and not math.isnan(v) for v in timed) == 4, timed
    for path, content in earlier.items():
        assert path.read_bytes() == content, f"{path} changed"
    for path in (repo / "results").rglob("*.json"):
        json.loads(path.read_text())
    left = {}
    for _ in range(30):  # Ray's daemons notice their driver is gone within seconds
        left = engine_processes(mark)
        if not left:
            break
        time.sleep(2)
    assert not left, f"engine processes outlived the run: {left}"


@pytest.mark.parametrize("args,env,message", [
    (["--bench", "NoSuchWorkload"], {}, "no benchmark matches --bench 'NoSuchWorkload'; classes: "),
    (["--bench", "Filter[Bank"], {}, "is not a regular expression"),
    ([], {"PARBENCH_BACKENDS": "serial,spark"}, "PARBENCH_BACKENDS names unknown ['spark']"),
    ([], {"PARBENCH_MAX_WORKERS": "0"}, "PARBENCH_MAX_WORKERS"),
    ([], {"PARBENCH_POINT_CAP_S": "soon"}, "PARBENCH_POINT_CAP_S='soon' must be a positive number of seconds"),
    ([], {"DASK_SCHEDULER_ADDRESS": "tcp://127.0.0.1:9"}, "cannot reach the cluster at DASK_SCHEDULER_ADDRESS"),
    ([], {"RAY_ADDRESS": "127.0.0.1:9"}, "cannot reach the cluster at RAY_ADDRESS"),
])
def test_bad_configuration_is_one_line_before_anything_runs(checkout, args, env, message):
    done = run_cli(checkout, "run", "--quick", *args, **env)
    assert done.returncode == 2, done.stdout[-1000:] + done.stderr[-1000:]
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "asv run" not in done.stdout  # nothing was started


def test_read_only_results_is_one_line(checkout, tmp_path):
    """A ``results`` that cannot take a file is refused before anything runs, in one line.

    No permission bit stops root and a read-only mount needs privileges, so ``results``
    is a regular file where the directory belongs: no one, root included, can write into it.
    """
    repo = tmp_path / "parbench"
    shutil.copytree(checkout, repo)
    results = repo / "results"
    shutil.rmtree(results, ignore_errors=True)  # earlier tests ran in the checkout copied here
    results.write_text("earlier results\n")
    before = sorted(p.relative_to(repo) for p in repo.rglob("*") if ".git" not in p.parts)
    done = run_cli(repo, "run", "--quick")
    assert done.returncode == 2, done.stdout[-1000:] + done.stderr[-1000:]
    assert f"{results} is not writable" in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "asv run" not in done.stdout  # nothing was started
    assert results.read_text() == "earlier results\n"
    assert sorted(p.relative_to(repo) for p in repo.rglob("*") if ".git" not in p.parts) == before


def test_a_dirty_tree_is_refused_unless_allowed(checkout, tmp_path):
    repo = tmp_path / "parbench"
    shutil.copytree(checkout, repo)
    (repo / "results").mkdir(exist_ok=True)
    (repo / "results" / "note.txt").write_text("results and html are what runs write: never dirty")
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run([*GIT, "commit", "-qm", "results"], cwd=repo, check=True)
    (repo / "results" / "note.txt").write_text("changed")
    args = ("run", "--quick", "--no-publish", "--machine", "ci-dirty", "--bench", "NoSuchWorkload")
    done = run_cli(repo, *args)  # clean code: gets past the check to the --bench check
    assert "no benchmark matches" in done.stderr, done.stderr
    with open(repo / "bench_lib" / "__init__.py", "a") as f:
        f.write("# edited\n")
    done = run_cli(repo, *args)
    assert done.returncode == 2 and "uncommitted changes" in done.stderr and "--allow-dirty" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_series_of_another_cpu_is_refused(checkout, tmp_path):
    repo = tmp_path / "parbench"
    shutil.copytree(checkout, repo)
    series = repo / "results" / "ci-cpu-small"
    series.mkdir(parents=True)
    (series / "sysinfo.jsonl").write_text(json.dumps({"cpu_model": "Some Other CPU 9000"}) + "\n")
    done = run_cli(repo, "run", "--quick", "--no-publish", "--machine", "ci-cpu", "--bench", "FilterBank")
    assert done.returncode == 2, done.stdout[-1000:] + done.stderr[-1000:]
    assert "holds runs on 'Some Other CPU 9000'" in done.stderr and "asv run" not in done.stdout


def test_the_default_machine_name_carries_the_cpu():
    from bench_lib.results import sysinfo

    assert sysinfo.cpu_tag("Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz") == "xeon-platinum-8259cl"
    assert sysinfo.cpu_tag("AMD EPYC 7R13 Processor") == "epyc-7r13"
    assert sysinfo.cpu_tag("(R)") == "cpu"
    # two VM CPUs that name no model number: the clock is what tells them apart
    assert sysinfo.cpu_tag("Intel(R) Xeon(R) Processor") == "xeon"
    assert sysinfo.cpu_tag("Intel(R) Xeon(R) Processor @ 2.80GHz") == "xeon-2.80ghz"
    assert sysinfo.cpu_tag("Intel(R) Xeon(R) Processor @ 2.80 GHz") == "xeon-2.80ghz"
    assert sysinfo.default_machine_name().endswith("-" + sysinfo.cpu_tag(sysinfo.cpu_model()))


def test_plan_only_prints_the_plan_with_its_na_points_and_writes_nothing(pristine):
    """The filter bank: 8 backends x 2 worker counts x 2 variants x 2 filter sizes = 64.
    n/a, by hand: serial at 2 workers (4), and 'shared' where tasks already see the
    caller's data: serial at 1 (2), threads and joblib-threading at 1 and 2 (4 each): 14.
    The other 50 at the first-run guess, 2 s each at the tests' small size: 1m40s."""
    before = sorted(p.relative_to(pristine) for p in pristine.rglob("*") if ".git" not in p.parts)
    done = run_cli(pristine, "run", "--plan-only", "--machine", "ci-plan", "--bench", r"FilterBank\.time_")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert re.search(r"filter_bank\.FilterBank\s+64 points\s+\(14 n/a\)\s+~\s*1m40s\s+\(first-run guess\)", done.stdout), done.stdout
    after = sorted(p.relative_to(pristine) for p in pristine.rglob("*") if ".git" not in p.parts)
    assert after == before


def test_the_default_profile_leaves_out_the_sizes_beyond_the_question(checkout):
    """Interpolators at 2 worker counts: 8 backends x 2 x 3 variants x 3 grids = 144, of
    which grids 50 and 530 (two of three) only run with --profile extended: 48 left, 96 out.
    n/a, by hand, at grid 300: serial at 2 workers (3 variants), serial's shared at 1, threads'
    and joblib-threading's shared at 1 and 2 (2 each): 8."""
    done = run_cli(checkout, "run", "--plan-only", "--machine", "ci-plan", "--bench", r"Interpolators\.time_")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert re.search(r"interpolators\.Interpolators\s+48 points\s+\(8 n/a\)", done.stdout), done.stdout
    assert "96 points of sizes beyond the benchmarks' questions are left out (--profile extended)" in done.stdout
    extended = run_cli(checkout, "run", "--plan-only", "--profile", "extended", "--machine", "ci-plan",
                       "--bench", r"Interpolators\.time_")
    assert extended.returncode == 0, extended.stderr[-3000:]
    assert re.search(r"interpolators\.Interpolators\s+144 points\s+\(24 n/a\)", extended.stdout), extended.stdout
    assert "left out" not in extended.stdout
    wrong = run_cli(checkout, "run", "--plan-only", "--profile", "huge", "--machine", "ci-plan")
    assert wrong.returncode == 2 and "invalid choice: 'huge'" in wrong.stderr, wrong.stderr


def test_plan_only_for_more_cores_plans_their_worker_counts_and_cores_alone_is_refused(pristine):
    """--cores 8: n_workers 1, 2, 4, 8, so the filter bank has 8 x 4 x 2 x 2 = 128
    combinations. n/a, by hand: serial above one worker (3 counts x 4 = 12), 'shared'
    on serial at 1 (2) and on threads and joblib-threading at every count (8 each): 30.
    The other 98 at 2 s: 3m16s."""
    done = run_cli(pristine, "run", "--plan-only", "--cores", "8", "--machine", "ci-plan", "--bench", r"FilterBank\.time_")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert re.search(r"filter_bank\.FilterBank\s+128 points\s+\(30 n/a\)\s+~\s*3m16s", done.stdout), done.stdout
    for args in (("--cores", "8"), ("--plan-only", "--cores", "0")):
        refused = run_cli(pristine, "run", *args, "--machine", "ci-plan", "--bench", r"FilterBank\.time_")
        assert refused.returncode == 2 and "--cores N (N >= 1)" in refused.stderr, refused.stderr
    assert not (pristine / "results" / "ci-plan-small").exists()



# -- command-line papercuts: each runs on this checkout and its committed results -----------------
def bench_lib_here(*args):
    return subprocess.run([sys.executable, "-m", "bench_lib", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_a_closed_pipe_ends_quietly():
    """``report --json | head -1``: the reader leaves after a line, which is not the report's failure."""
    proc = subprocess.Popen([sys.executable, "-m", "bench_lib", "report", "--json"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()  # the JSON is far longer than a pipe holds: the report is still writing
    proc.stdout.close()
    errors = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 0 and errors == "", errors
    assert first == b"[\n"


def test_a_word_after_run_is_refused_in_one_line():
    """``run --plan-only FilterBank`` once passed the word to asv and planned the whole suite."""
    done = bench_lib_here("run", "--plan-only", "FilterBank")
    assert done.returncode == 2 and done.stdout == "", done.stdout[-1000:]
    assert done.stderr.strip().splitlines() == [
        "parbench: error: run takes no words (FilterBank): choose benchmarks with --bench REGEX; "
        "arguments for asv run go after --"]
    done = bench_lib_here("report", "--", "--frob")  # only run hands words on, to asv
    assert done.returncode == 2 and "only run passes arguments after --" in done.stderr, done.stderr


def test_only_the_words_after_a_double_dash_go_to_asv(monkeypatch):
    from bench_lib import cli

    seen = []
    monkeypatch.setattr(cli, "run", lambda args: seen.append(args) or 0)
    assert cli.main(["run", "--plan-only", "--bench", "FilterBank", "--", "--show-stderr", "-v"]) == 0
    assert seen[0].asv_args == ["--show-stderr", "-v"] and seen[0].bench == ["FilterBank"]
    assert cli.main(["run", "--plan-only"]) == 0 and seen[1].asv_args == []


def test_compare_with_an_unknown_machine_names_the_machine():
    results = ROOT / "results"
    done = bench_lib_here("compare", "7890cffe-20261203T142323", "7890cffe-20261203T151143", "--machine", "nosuch")
    machines = ", ".join(sorted(p.name for p in results.iterdir() if p.is_dir()))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"parbench: error: no machine 'nosuch' in {results}/; machines: {machines}"]


def test_compare_exits_1_for_a_backend_made_slower_on_one_stack(tmp_path):
    """The command on written-out runs (tests/test_gate.py's slowed_stack: threads 1.25x
    slower, speedup 1.5x -> 1.2x); one line names the regression, the rest are not called."""
    from test_gate import slowed_stack

    results = slowed_stack(tmp_path / "results")
    done = bench_lib_here("compare", "aaaa1111-r1", "bbbb2222-r1", "--factor", "1.2", "--results", str(results))
    assert done.returncode == 1, done.stdout + done.stderr
    fell = [x for x in done.stdout.splitlines() if x.startswith("REGRESSION")]
    assert len(fell) == 1 and "backend='threads'" in fell[0] and "1.50x -> 1.20x (-20%" in fell[0], done.stdout
    assert "changed:" not in done.stdout and "1 of 3 tracked ratios fell by more than a factor 1.2" in done.stdout


def test_version_is_the_installed_packages():
    from importlib.metadata import version

    done = bench_lib_here("--version")
    assert done.returncode == 0 and done.stdout == f"parbench {version('parbench')}\n"


# the variables a run sets for its own processes: not settings a user gives
BOOKKEEPING = {"PARBENCH_RUN", "PARBENCH_POINTS", "PARBENCH_COMMIT", "PARBENCH_SPEEDUP_GROUP", "PARBENCH_RAY_RUNTIME",
               "PARBENCH_CLUSTERS", "PARBENCH_RAY_START"}


def test_every_setting_the_code_reads_is_in_help_and_info_with_its_default():
    """The variables found in the source, not the list that --help prints from."""
    read = {name for path in [*(ROOT / "bench_lib").rglob("*.py"), *(ROOT / "benchmarks").rglob("*.py")]
            for name in re.findall(r"PARBENCH_[A-Z_]+", path.read_text())} - BOOKKEEPING
    assert len(read) >= 14, read
    for args in (("--help",), ("run", "--help")):
        text = bench_lib_here(*args).stdout
        for name in read | {"RAY_ADDRESS", "DASK_SCHEDULER_ADDRESS"}:
            [line] = [x for x in text.splitlines() if x.strip().startswith(name + " ")]
            assert "(default: " in line, (args, line)
    info = json.loads(bench_lib_here("info").stdout)
    assert read <= set(info["settings"]) and all(s["default"] for s in info["settings"].values())


def test_help_documents_every_exit_status():
    """0, 1, 2; the host-changed code compare exits with (tests/test_gate.py: 3 on the committed
    day-apart pair); 128 + SIGINT and + SIGTERM for a stopped run."""
    import signal

    text = bench_lib_here("--help").stdout
    status = text.split("exit status:\n", 1)[1]
    codes = re.findall(r"^  (\d+(?:, \d+)*)\s", status, re.M)
    assert codes == ["0", "1", "2", "3", f"{128 + signal.SIGINT}, {128 + signal.SIGTERM}"], codes
    assert "compare: nothing regressed, but the host" in status


def test_help_states_the_real_defaults():
    """run --machine: the name info prints (host, cores, memory, CPU); compare: the host
    tolerance and its code, and that only speedups are gated."""
    import platform

    run_help = " ".join(bench_lib_here("run", "--help").stdout.split())
    assert "--machine MACHINE machine name for results/ (default: $PARBENCH_MACHINE, else host-cores-memory-cpu" in run_help
    machine = json.loads(bench_lib_here("info").stdout)["machine"]
    assert re.fullmatch(rf"{re.escape(platform.node())}-\d+core-\d+gb-[\w.-]+", machine), machine
    compare_help = " ".join(bench_lib_here("compare", "--help").stdout.split())
    assert "lies wholly beyond a factor 1.25 either way" in compare_help and "3 nothing regressed" in compare_help
    assert "efficiency is not" in compare_help
    top = " ".join(bench_lib_here("--help").stdout.split())
    assert "speedup fell by more than --factor (speedups only: efficiency is not gated)" in top
