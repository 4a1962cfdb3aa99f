"""The main command for real: asv machine + asv run + asv publish on a copy of this checkout."""

import json
import math
import os
import shutil
import subprocess
import sys
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


def run_cli(repo, *args, **env):
    env = {**os.environ, "HOME": str(repo.parent / "home"), **env}  # asv writes ~/.asv-machine.json
    return subprocess.run([sys.executable, "-m", "bench_lib", *args], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=900)


def test_quick_run_saves_results_and_publishes(checkout):
    # One class is enough to prove the command; every class runs in test_benchmarks.
    done = run_cli(checkout, "run", "--quick", "--machine", "ci-machine", "--bench", "FilterBank",
                   PARBENCH_BACKENDS="serial,threads")
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
    [line] = (machine / "sysinfo.jsonl").read_text().splitlines()
    info = json.loads(line)
    assert info["commit"] == head and info["threads_per_worker"] == 1 and info["size"] == "small"


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
