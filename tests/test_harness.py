"""The harness benchmark (parbench's ``Backend.map`` against the engine used directly) and
what it made of the engines: each engine's raw idiom really is the engine's, the ratio is
the paired ratio of its own samples, a pool that lost a worker between maps goes on, and
the committed full-size run shows every engine within 5% of its raw use."""

import functools
import json
import math
import os
import signal
import statistics
import time
from pathlib import Path

import pytest

from bench_lib import backends
from bench_lib.backends import _worker
from bench_lib.measure import overhead, protocol

ROOT = Path(__file__).resolve().parent.parent
PROCESS_ENGINES = ("multiprocessing", "loky", "joblib-multiprocessing", "ray", "dask")
TARGET = 1.05


@pytest.fixture
def points_file(tmp_path, monkeypatch):
    path = tmp_path / "points.jsonl"
    monkeypatch.setenv("PARBENCH_POINTS", str(path))
    return path


@pytest.mark.parametrize("name", [*PROCESS_ENGINES, "threads", "joblib-threading"])
def test_harness_ratio_is_the_paired_ratio_of_its_samples(name, points_file):
    try:
        point = overhead.harness(name, 2, 20, min_rounds=3, max_rounds=3, guard=protocol.NoGuard())
    finally:
        backends.close_all()
    parbench, raw = point["samples_s"]["top"], point["samples_s"]["bottom"]
    assert point["kind"] == "harness" and point["backend"] == name and point["pairs"] == 3
    assert len(parbench) == len(raw) == 3
    # By hand: the geometric mean of the three per-round ratios, and of each side's times.
    by_hand = math.exp(sum(math.log(p / r) for p, r in zip(parbench, raw)) / 3)
    assert point["value"] == pytest.approx(by_hand, rel=1e-12)
    assert point["time_s"] == pytest.approx(math.exp(sum(map(math.log, raw)) / 3), rel=1e-12)
    low, high = point["ci"]
    assert low <= point["value"] <= high
    [written] = [json.loads(line) for line in points_file.read_text().splitlines()]
    assert written["value"] == point["value"] and written["backend"] == name


def test_serial_has_no_raw_idiom_and_says_why():
    assert overhead.harness_unsupported(backends.backend_class("serial"))
    for name in PROCESS_ENGINES:
        assert overhead.harness_unsupported(backends.backend_class(name)) is None


@pytest.mark.parametrize("name", PROCESS_ENGINES)
def test_raw_idiom_runs_in_the_engines_workers(name, no_children_left):
    """Raw use reaches the backend's own worker processes, all of them, not the caller."""
    with backends.get(name, 2) as engine:
        engine.warm(())
        pids = engine.raw(functools.partial(_worker.warm_up, (), 1))([0.3, 0.3])
        assert os.getpid() not in pids
        assert len(set(pids)) == 2


@pytest.mark.parametrize("name", ["multiprocessing", "joblib-multiprocessing"])
def test_a_worker_lost_between_maps_fails_the_next_map_at_once(name, no_children_left):
    """A worker killed while idle can hold the pool's task-queue lock: no later task would
    be read. The next map must fail at once, naming the death, not wait forever."""
    engine = backends.get(name, 2)
    try:
        engine.warm(())
        victim = engine.worker_pids[0]
        os.kill(victim, signal.SIGKILL)
        time.sleep(5 * 0.1)  # several of the watch's polls
        started = time.monotonic()
        with pytest.raises(backends.base.WorkerDied, match=f"{name}: worker pid {victim} died .*SIGKILL"):
            engine.map(_worker.nothing, list(range(10)))
        assert time.monotonic() - started < 5
        assert engine.broken and engine.closed
    finally:
        engine.close()
    with backends.get(name, 2) as again:
        assert again.map(_worker.nothing, list(range(10))) == list(range(10))


def newest_full_run_harness_points() -> list[dict]:
    """The harness points of the newest run in the committed full-size series."""
    path = ROOT / "results" / "vm-2core-24gb-xeon" / "points.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    harness = [r for r in records if r.get("kind") == "harness"]
    if not harness:
        return []
    newest = max(r["run"] for r in harness)
    return [r for r in harness if r["run"] == newest]


def test_committed_full_size_run_keeps_every_engine_within_five_percent_of_raw_use():
    """Every precise point within 5%, and no point beyond 5% with 95% confidence. A point the
    protocol left imprecise (its 400 rounds did not reach +-3%: 500 no-op tasks take about a
    millisecond on a pool, and one pair's ratio spans 0.2x to 5x) says nothing either way
    with its estimate alone."""
    points = newest_full_run_harness_points()
    assert {p["backend"] for p in points} >= set(PROCESS_ENGINES), "a process engine was not measured"
    over = {p["backend"]: round(p["value"], 3) for p in points if p["precise"] and not p["value"] <= TARGET}
    assert not over, f"Backend.map over raw engine use above {TARGET}: {over}"
    beyond = {p["backend"]: p["ci"] for p in points if p["ci"][0] > TARGET}
    assert not beyond, f"Backend.map over raw engine use above {TARGET} beyond noise: {beyond}"
    assert sum(p["precise"] for p in points) >= len(points) - 1, [(p["backend"], p["precise"]) for p in points]
    for p in points:  # each is the paired ratio of its own samples
        ratios = [a / b for a, b in zip(p["samples_s"]["top"], p["samples_s"]["bottom"])]
        assert p["value"] == pytest.approx(statistics.geometric_mean(ratios), rel=1e-9)
