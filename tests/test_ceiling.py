"""The machine's ceiling, measured like the work: copies read one inherited input where the
workload's best variant shares one, build their own where it does not; the figure is the
protocol's paired ratio of its own samples, recorded with its interval; a failing or dying
copy is an error, never a hang or an orphan; and the report divides by the same run's
ceiling, intervals combined."""

import json
import math
import os
import signal
import subprocess
import sys
import threading

import pytest

from bench_lib.measure import ceiling, protocol, ratios
from bench_lib.publish import report

QUICK = {"min_rounds": 3, "max_rounds": 3, "guard": protocol.NoGuard()}


def test_shared_workloads_inherit_one_input_and_model_inference_builds_its_own():
    assert [w for w in ("filter_bank", "convolve2d", "volume_gaussian", "interpolators", "model_inference")
            if ceiling.shares_input(w)] == ["filter_bank", "convolve2d", "volume_gaussian", "interpolators"]


def test_copies_of_a_shared_workload_do_not_build_inputs(no_children_left):
    with ceiling.Copies("filter_bank", 2, {"filter_size": "5x5"}) as copies:
        assert copies.shared and copies.built == [False, False]
        assert len({p.pid for p in copies.procs} | {os.getpid()}) == 3
        assert copies.alone(1) > 0
        spans = copies.together(40)
        # They ran at once: each began before the other ended.
        assert max(b for b, _ in spans) < min(e for _, e in spans)


def test_ceiling_is_the_paired_ratio_of_alone_over_together(no_children_left):
    # 0.1 s rounds: at 0.02 s one disturbed round of three put the ratio at 2.7 (seed 1 of pytest-randomly)
    result = ceiling.measure("filter_bank", 2, {"filter_size": "5x5"}, min_seconds=0.1, **QUICK)
    times = result.measurement.times
    assert len(times["alone"]) == len(times["together"]) == 3
    # By hand: the geometric mean of the per-round ratios.
    by_hand = math.exp(sum(math.log(a / t) for a, t in zip(times["alone"], times["together"])) / 3)
    iv = result.interval()
    assert result.speedup == pytest.approx(by_hand, rel=1e-12)
    assert iv.low <= result.speedup <= iv.high and iv.pairs == 3
    if "MUTANT_UNDER_TEST" not in os.environ:  # mutmut's call recording distorts short rounds
        assert 0.3 < result.speedup < 2.6  # two copies against one doing both: about 1 to 2
    assert result.loops >= 1 and result.shared


def test_one_copy_is_one_by_definition_and_starts_nothing(no_children_left):
    result = ceiling.measure("filter_bank", 1)
    assert result.measurement is None and result.speedup == 1.0
    assert (result.interval().low, result.interval().high, result.interval().pairs) == (1.0, 1.0, 0)


@pytest.mark.parametrize("n", [0, -1, 1.5, True])
def test_bad_n_is_refused(n):
    with pytest.raises(ValueError, match="positive integer"):
        ceiling.measure("filter_bank", n)


def test_loops_fill_the_minimum():
    assert ceiling.loops_for(0.3, 1.0) == 4  # 3 loops last 0.9 s: one more
    assert ceiling.loops_for(2.0, 1.0) == 1
    assert ceiling.loops_for(0.25, 1.0) == 4
    with pytest.raises(ValueError, match="a loop took 0.0 s"):
        ceiling.loops_for(0.0, 1.0)


def test_a_copy_killed_mid_round_is_an_error_not_a_hang(no_children_left):
    with ceiling.Copies("filter_bank", 2, {"filter_size": "5x5"}) as copies:
        victim = copies.procs[1].pid
        timer = threading.Timer(0.3, os.kill, (victim, signal.SIGKILL))
        timer.start()
        try:
            # ~1 ms a loop here: the kill lands seconds before the round could end (if it
            # ended first, together() would return and the test fail, never pass unseen)
            with pytest.raises(ceiling.CeilingError, match="filter_bank died"):
                copies.together(3_000)
        finally:
            timer.join()


def test_ceiling_point_is_recorded_with_its_interval(tmp_path, monkeypatch):
    monkeypatch.setenv("PARBENCH_POINTS", str(tmp_path / "points.jsonl"))
    point = ratios.ceiling_point("filter_bank", 2, **QUICK)
    [written] = [json.loads(line) for line in (tmp_path / "points.jsonl").read_text().splitlines()]
    assert written["kind"] == "ceiling" and written["variant"] == "shared input"
    assert written["value"] == point["value"] and written["pairs"] == 3
    low, high = written["ci"]
    assert low <= written["value"] <= high
    top, bottom = written["samples_s"]["top"], written["samples_s"]["bottom"]  # alone, together
    assert written["value"] == pytest.approx(math.exp(sum(math.log(a / b) for a, b in zip(top, bottom)) / 3))


def _point(kind, value, half_log, **extra):
    return {"kind": kind, "workload": "filter_bank", "n_workers": 2, "run": "r1", "commit": "c0ffee00",
            "value": value, "ci": [value * math.exp(-half_log), value * math.exp(half_log)],
            "pairs": 10, "time_s": 0.1, "other_time_s": 0.1 * value, "precise": True, "quiet": True, **extra}


def test_efficiency_divides_by_the_same_runs_ceiling_with_intervals_combined():
    speedup = _point("speedup", 1.8, 0.03, backend="loky", variant="shared")
    machine = report.Machine("m", points=[_point("ceiling", 1.5, 0.04, backend="none", variant="shared input"),
                                          _point("ceiling", 1.0, 0.01, backend="none", variant="shared input",
                                                 run="other"),
                                          speedup])
    row = report.measured_row(machine, speedup)
    # By hand: 1.8 / 1.5 = 1.2; log half-widths 0.03 and 0.04 in quadrature: 0.05.
    assert row.efficiency == pytest.approx(1.2)
    assert row.efficiency_ci == pytest.approx((1.2 * math.exp(-0.05), 1.2 * math.exp(0.05)))
    assert row.reason == report.ABOVE_CEILING["shared input"]  # wholly above 1, shared-input ceiling
    own = report.Machine("m", points=[_point("ceiling", 1.5, 0.04, backend="none", variant="own inputs"), speedup])
    assert report.measured_row(own, speedup).reason == report.ABOVE_CEILING["own inputs"]
    assert report.ABOVE_CEILING["own inputs"] != report.ABOVE_CEILING["shared input"]


def test_a_speedup_without_an_interval_gets_an_efficiency_without_one():
    speedup = _point("speedup", 1.8, 0.03, backend="loky", variant="shared", ci=[None, None])
    machine = report.Machine("m", points=[_point("ceiling", 1.5, 0.04, backend="none", variant="shared input"),
                                          speedup])
    row = report.measured_row(machine, speedup)
    assert row.efficiency == pytest.approx(1.2) and row.efficiency_ci is None and row.reason == ""


def test_points_without_a_run_have_no_ceiling_of_their_own():
    bare = {k: v for k, v in _point("ceiling", 1.5, 0.04, backend="none", variant="shared input").items() if k != "run"}
    machine = report.Machine("m", points=[bare])
    assert machine.ceiling_point("filter_bank", 2, None) is None
    assert machine.ceiling_point("filter_bank", 2, "r1") is None


def test_efficiency_within_one_needs_no_reason():
    speedup = _point("speedup", 1.4, 0.03, backend="loky", variant="shared")
    machine = report.Machine("m", points=[_point("ceiling", 1.5, 0.04, backend="none", variant="shared input"),
                                          speedup])
    row = report.measured_row(machine, speedup)
    assert row.efficiency == pytest.approx(1.4 / 1.5) and row.reason == ""


def test_copies_of_model_inference_each_build_their_own(no_children_left):
    with ceiling.Copies("model_inference", 2) as copies:
        assert not copies.shared and copies.built == [True, True]


def test_a_copy_that_fails_to_build_is_named(no_children_left):
    with pytest.raises(ceiling.CeilingError, match="copy of model_inference failed: ValueError"):
        ceiling.Copies("model_inference", 1, {"bogus": 1})


# -- multiprocessing's resource tracker: a quick asv run once printed hundreds of lines of
# "leaked semaphore objects" warnings and `FileNotFoundError` tracebacks from
# `synchronize._cleanup`. The tracker was closed while semaphores registered with it were
# still alive: it unlinked them as leaked, and their owners' own unlink then failed.
# Each check runs in a fresh interpreter, whose stderr is all it printed.
TRACKER_SCRIPT = r'''
import gc, multiprocessing, os, sys
from multiprocessing import resource_tracker
from bench_lib.measure import ceiling, protocol

mode = sys.argv[1]
if "spawn" in mode:  # filter_bank's copies spawned, each building its own inputs: fast
    ceiling.shares_input = lambda name: False

def tracker():
    return resource_tracker._resource_tracker._pid

def run():
    result = ceiling.measure("filter_bank", 2, {"filter_size": "5x5"}, min_seconds=0.005, size="small",
                             min_rounds=2, max_rounds=2, guard=protocol.NoGuard())
    assert result.measurement is not None, result

if mode.startswith("others"):
    # Someone else's semaphore (an engine's, an executor's) on a tracker already running.
    lock = multiprocessing.get_context("spawn").Lock()
    theirs = tracker()
    run()
    assert tracker() == theirs, "the copies stopped a tracker that was not theirs"
    del lock
    gc.collect()  # its owner unlinks it now: the tracker must not have done so already
elif mode.startswith("asv"):
    # As asv's forkserver runs a benchmark: in a forked child that ends with os._exit.
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            run()
            code = 0 if tracker() is None and not multiprocessing.active_children() else 3
        except BaseException:
            import traceback
            traceback.print_exc()
        finally:
            os._exit(code)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0, "the benchmark child failed"
print("ok", file=sys.stderr)
'''


@pytest.mark.parametrize("mode", ["asv-fork", "asv-spawn", "others-spawn"])
def test_real_copies_leave_no_semaphore_to_the_tracker_and_stop_no_tracker_of_others(mode):
    done = subprocess.run([sys.executable, "-c", TRACKER_SCRIPT, mode], capture_output=True, text=True,
                          timeout=300)
    err = done.stderr
    assert done.returncode == 0 and err.strip().endswith("ok"), err
    for sign in ("Traceback", "leaked", "resource_tracker", "FileNotFoundError"):
        assert sign not in err, err
