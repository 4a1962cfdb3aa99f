"""Overhead decomposition, the machine's ceiling, ratios and the report: structure, units
and real processes -- never a timing threshold (speed is measured by asv, not here)."""

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench_lib import backends, workloads
from bench_lib.measure import overhead, protocol, ratios
from bench_lib.publish import report
from bench_lib.results import points

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).parent / "fixtures" / "results"


def finite_positive(value):
    return isinstance(value, float) and math.isfinite(value) and value > 0


@pytest.mark.parametrize("name", ["threads", "multiprocessing", "loky"])
def test_start_and_imports_are_seconds_and_leave_no_process(name, no_children_left):
    assert finite_positive(overhead.start(name, 2))
    cost = overhead.imports(name, 2, overhead.IMPORTS["scipy"])
    assert isinstance(cost, float) and math.isfinite(cost)  # near 0 may be of either sign


def returning(*values):
    """A stand-in for ``timed`` that still runs the work but reports ``values`` in turn."""
    it = iter(values)
    return lambda fn: (fn(), next(it))[1]


def test_start_takes_the_deliberate_hold_back_off(monkeypatch, no_children_left):
    monkeypatch.setattr(overhead, "timed", returning(0.2, 0.2))
    assert overhead.start("multiprocessing", 1) == pytest.approx(0.2 - 0.05)  # workers held 50 ms
    assert overhead.start("threads", 1) == pytest.approx(0.2)  # threads hold nothing


def test_imports_is_cold_minus_the_median_warm_call_and_never_clamped(monkeypatch, no_children_left):
    monkeypatch.setattr(overhead, "timed", returning(1.0, 1.2, 1.1, 1.3))
    assert overhead.imports("multiprocessing", 1, ("json",)) == pytest.approx(1.0 - 1.2)


def test_a_share_that_restarts_the_pool_is_no_transfer():
    assert "restarting its pool" in overhead.transfer_unsupported(backends.backend_class("multiprocessing"),
                                                                 "shared")
    assert overhead.transfer_unsupported(backends.backend_class("multiprocessing"), "normal") is None
    assert "shares memory" in overhead.transfer_unsupported(backends.backend_class("threads"), "shared")
    assert overhead.transfer_unsupported(backends.backend_class("loky"), "shared") is None
    with pytest.raises(ValueError, match="restarting its pool"):
        overhead.transfer(backends.get("multiprocessing", 1), 1, "shared")


@pytest.mark.parametrize("name", ["threads", "loky", "dask"])
def test_transfer_round_trips_every_path(name, no_children_left):
    engine = backends.get(name, 2).warm(())
    try:
        for path in overhead.PATHS:
            if path == "shared" and engine.shares_memory:
                continue
            assert finite_positive(overhead.transfer(engine, 1, path, repeats=1))
        with pytest.raises(ValueError, match="path must be one of"):
            overhead.transfer(engine, 1, "teleport")
    finally:
        engine.close()


def test_transfer_notices_a_changed_array():
    import numpy as np

    with pytest.raises(AssertionError, match="came back changed"):
        overhead._check_echo([np.zeros(3)], np.ones(3))


@pytest.mark.parametrize("pool", overhead.POOLS)
def test_per_task_is_seconds_per_task(pool, no_children_left):
    try:
        assert finite_positive(overhead.per_task("loky", 2, pool, 20))
    finally:
        backends.close_all()
    with pytest.raises(ValueError, match="pool must be one of"):
        overhead.per_task("loky", 2, "borrowed", 20)


@pytest.mark.parametrize("name", ["threads", "loky"])
def test_ratios_run_on_real_backends_and_record_their_points(name, no_children_left, tmp_path, monkeypatch):
    monkeypatch.setenv("PARBENCH_POINTS", str(tmp_path / "points.jsonl"))
    monkeypatch.setenv("PARBENCH_RUN", "r1")
    quick = {"min_rounds": 3, "max_rounds": 3, "guard": protocol.NoGuard()}
    try:
        measured = ratios.speedups("filter_bank", [name], 2, **quick)
        point, gap = measured["speedup"][name], measured["gap"].get(name)
        assert (gap is None) == (ratios.unsupported("filter_bank", name, 2, "gap") is not None)
    finally:
        backends.close_all()
    assert point["pairs"] == 3 and point["stopped"] in ("precise", "max rounds")
    low, high = point["ci"]
    assert low <= point["value"] <= high
    # a second method on the raw samples: numpy's geometric mean of the paired ratios,
    # which is also the ratio of the two sides' geometric mean times shown beside it
    serial, backend = (np.array(point["samples_s"][k]) for k in ("top", "bottom"))
    assert point["value"] == pytest.approx(np.exp(np.log(serial / backend).mean()))
    assert point["other_time_s"] / point["time_s"] == pytest.approx(point["value"])
    assert point["time_s"] == pytest.approx(np.exp(np.log(backend).mean()))
    assert point["variant"] == ("shared" if name == "loky" else "naive")
    written, bad = points.read(tmp_path / "points.jsonl")
    assert bad == 0 and [r["kind"] for r in written] == ["speedup"] + (["gap"] if gap else [])
    assert written[0]["run"] == "r1" and written[0]["value"] == point["value"]


def test_best_variant_prefers_the_shared_one():
    assert ratios.best_variant("interpolators", "loky", 2) == "shared"
    assert ratios.best_variant("interpolators", "threads", 2) == "pickle-self"
    assert ratios.best_variant("model_inference", "ray", 2) == "per-worker"
    assert "shares memory" in ratios.unsupported("filter_bank", "threads", 2, "gap")


# -- report ------------------------------------------------------------------------------------
def test_report_reads_the_committed_fixture():
    machines = report.load(FIXTURE)
    text = report.render(machines)
    for workload in workloads.names():
        assert f"-- {workload}" in text
    assert text.count("recommended: ") == len(workloads.names()) * len(machines)
    # the fixture predates intervals (no points.jsonl): no row claims a measured speedup,
    # and asv's bare track_speedup values are not passed off as measured ones
    table = report.rows(machines[0], "filter_bank")
    assert table and not any(r.measured or r.speedup_ci for r in table)


def test_report_on_this_repositorys_results():
    done = subprocess.run([sys.executable, "-m", "bench_lib", "report"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "recommended: " in done.stdout and "-- filter_bank" in done.stdout


def test_report_errors_are_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "bench_lib", "report", "--results", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "run the suite first" in done.stderr
    broken = tmp_path / "broken"
    shutil.copytree(FIXTURE, broken)
    victim = next(p for p in broken.glob("*/*.json") if p.name != "machine.json")
    victim.write_text(victim.read_text()[:100])
    with pytest.raises(report.ReportError, match="not valid JSON"):
        report.load(broken)
    done = subprocess.run([sys.executable, "-m", "bench_lib", "report", "--results", str(FIXTURE),
                           "--machine", "nope"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "no results for machine 'nope'" in done.stderr
    assert json.loads((FIXTURE / "benchmarks.json").read_text())  # the fixture itself is intact


def test_every_overhead_and_ratio_benchmark_states_its_unit():
    sys.path.insert(0, str(ROOT))
    import inspect

    from benchmarks import overhead as ob, scaling as sb

    units = {}
    for module in (ob, sb):
        for _, cls in inspect.getmembers(module, inspect.isclass):
            for name in dir(cls):
                if name.startswith("track_"):
                    units[f"{cls.__name__}.{name}"] = getattr(getattr(cls, name), "unit", None)
    assert units["Startup.track_start"] == units["TaskOverhead.track_per_task"] == "seconds"
    assert units["Transfer.track_transfer_mbps"] == "MB/s"
    assert {units[k] for k in ("Ratios.track_speedup",
                               "Gap.track_naive_to_shared", "Ceiling.track_ceiling_speedup")} == {"x"}
    assert all(units.values()), units
