"""bench_lib.run.costs piece by piece, every expected value worked out by hand: how asv's
result columns become seconds of sampling, which of a benchmark's recorded runs is the
latest, the median of two middle costs, and the edges of a budget's cut (tests/test_plan.py
drives the same code through whole plans)."""

import json
import math

import pytest

from bench_lib.results import ledger
from bench_lib.run import costs, plan
from test_plan import write_sampled

NAN = float("nan")


def test_asvs_columns_become_one_samples_seconds_and_the_sampling_per_point():
    """result x number is one sample (0.5 s x 4 = 2 s), times repeat the sampling (10 x 2 s
    = 20 s). Left out: a nan, a None, a point with no repeat, an index past the columns."""
    row = {"result": [0.5, NAN, None, 0.2], "stats_number": [4, 1, 1, 3], "stats_repeat": [10, 5, 5, 0]}
    assert costs._sampling(row, [0, 1, 2, 3, 4]) == ((2.0,), 20.0)
    # two points: 2 s x 10 and 0.3 s x 2 x 5 = 3 s: (20 + 3) / 2 per point
    row = {"result": [0.5, 0.3], "stats_number": [4, 2], "stats_repeat": [10, 5]}
    one, spent = costs._sampling(row, [0, 1])
    assert one == pytest.approx((2.0, 0.6)) and spent == pytest.approx(11.5)
    assert costs._sampling({}, [0]) == ((), 0.0)  # a track_* row: no sampling columns
    assert costs._sampling({"result": [NAN], "stats_number": [1], "stats_repeat": [1]}, [0]) == ((), 0.0)


def test_asv_never_stops_before_two_samples_so_starting_the_count_at_one_changes_nothing():
    assert costs.samples(100.0, (1, 1, 1.0)) == 1  # max_repeat 1 wins over the two runs
    assert costs.samples(100.0, (1, 5, 1.0)) == 2


def test_durations_at_the_hour():
    assert costs.duration(3600) == "1h00m"
    assert costs.duration(3599.4) == "59m59s"
    assert costs.duration(7199) == "1h59m"


def test_speed_is_the_median_ratio_over_benchmarks_the_other_machine_took_time_for():
    """a: 3 s here, 1.5 s there (2x); b: 5 s here, 0.5 s there (10x); c: nothing recorded
    there, left out (no ratio): the median of 2 and 10 is 6."""
    own = {"a": costs.Cost(3.0), "b": costs.Cost(5.0), "c": costs.Cost(1.0)}
    theirs = {"a": costs.Cost(1.0, (), 0.5), "b": costs.Cost(0.5), "c": costs.Cost(0.0)}
    assert costs.speed(own, theirs) == 6.0
    assert costs.speed(own, {"x": costs.Cost(1.0)}) == 1.0


# -- median -----------------------------------------------------------------------------------
def test_median_of_two_time_costs_pools_their_samples_and_averages_the_rest():
    """Four costs, recorded 1, 3, 7, 20 s: the middle two (3 and 7) averaged part by part."""
    low, a, b, high = (costs.Cost(0.5, (0.1,), 0.5), costs.Cost(1.0, (0.5,), 2.0),
                       costs.Cost(3.0, (1.0,), 4.0), costs.Cost(10.0, (2.0,), 10.0))
    assert costs.median([high, b, low, a], None, None) == costs.Cost(2.0, (0.5, 1.0), 3.0)


def test_median_orders_by_the_cost_at_this_runs_repeat_and_cap():
    """At repeat (1, 10, 5): a's 1 s samples are taken 6 times, 1 + 6 = 7 s, more than b (4)
    and c (5), though a recorded only 2 s: the median is c. At a cap of 20 s, d's 4 s
    under a 10 s cap become 8 s: 9 s, above e (6) and f (7): the median is f."""
    a, b, c = costs.Cost(1.0, (1.0,), 1.0), costs.Cost(4.0), costs.Cost(5.0)
    assert costs.median([a, b, c], (1, 10, 5.0), None) == c
    d, e, f = costs.Cost(1.0, (), 4.0, 10.0), costs.Cost(6.0), costs.Cost(7.0)
    assert costs.median([d, e, f], None, 20.0) == f


def test_median_of_a_sampled_and_an_unsampled_cost_is_their_mean_at_the_repeat():
    """At (1, 10, 5): a: 1 + 6 x 1 s = 7 s; b: 3 s, no samples: (3 + 7) / 2. g's 0.1 s
    samples are taken 10 times, 0.5 + 1 = 1.5 s, under h's 3 s: (1.5 + 3) / 2."""
    a, b = costs.Cost(1.0, (1.0,), 1.0), costs.Cost(3.0)
    assert costs.median([a, b], (1, 10, 5.0), None) == costs.Cost(5.0)
    g = costs.Cost(0.5, (0.1,), 0.2)
    assert costs.median([g, b], (1, 10, 5.0), None) == costs.Cost(2.25)
    assert costs.median([costs.Cost(1.0, (0.5,), 2.0), costs.Cost(5.0)], None, None) == costs.Cost(4.0)


def test_median_of_two_capped_costs_is_a_line_at_this_runs_cap():
    """Under cap 10 s, d samples 2 s and e 4 s; at 20 s they sample 4 and 8 s: the median
    keeps setup (1 + 2) / 2 apart from sampling (4 + 8) / 2, at the new cap."""
    d, e = costs.Cost(1.0, (), 2.0, 10.0), costs.Cost(2.0, (), 4.0, 10.0)
    assert costs.median([e, d], None, 20.0) == costs.Cost(1.5, (), 6.0, 20.0)
    # without a cap for this run: the recorded 3 and 6 s, averaged
    assert costs.median([e, d], None, None) == costs.Cost(4.5)
    # one capped, one not: nothing to scale the other by: their recorded 2 and 3 s
    assert costs.median([costs.Cost(2.0), costs.Cost(1.0, (), 2.0, 10.0)], None, 20.0) == costs.Cost(2.5)


# -- the latest recorded run ---------------------------------------------------------------------
@pytest.mark.parametrize("newer_in", ["a.json", "b.json"])
def test_the_latest_started_run_of_a_benchmark_is_its_cost(tmp_path, newer_in):
    """The row started later (200) is the cost, in whichever file it is: 10 s + asv's start
    over 2 points; the older row (100) took 30 s. A row without a start is older than both."""
    older = "b.json" if newer_in == "a.json" else "a.json"
    write_sampled(tmp_path / newer_in, {"m.C.track": {"result": [1.0, 2.0], "started_at": 200, "duration": 10.0}})
    write_sampled(tmp_path / older, {"m.C.track": {"result": [1.0, 2.0], "started_at": 100, "duration": 30.0},
                                     "m.D.track": {"result": [1.0], "duration": 8.0}})
    write_sampled(tmp_path / "c.json", {"m.D.track": {"result": [1.0], "started_at": 1, "duration": 2.0}})
    found = costs.per_point(tmp_path, {})
    assert found["m.C.track"] == costs.Cost((10.0 + ledger.ASV_START_S) / 2)
    assert found["m.D.track"] == costs.Cost(2.0 + ledger.ASV_START_S)


def test_a_row_without_a_start_is_still_a_cost(tmp_path):
    write_sampled(tmp_path / "a.json", {"m.C.track": {"result": [1.0], "duration": 6.0}})
    assert costs.per_point(tmp_path, {}) == {"m.C.track": costs.Cost(6.0 + ledger.ASV_START_S)}


def test_every_result_file_is_read_past_machine_json_and_a_damaged_one(tmp_path):
    """Files created so that machine.json and a damaged file sit between good ones in the
    folder's order (tmpfs lists newest first; any order must give every good file)."""
    names = [f"{i:08x}-env.json" for i in range(6)]
    for i, name in enumerate(names):
        write_sampled(tmp_path / name, {f"m.C{i}.track": {"result": [1.0], "duration": float(i + 1)}})
        if i == 2:
            (tmp_path / "machine.json").write_text(json.dumps({"machine": "m", "version": 1}))
            (tmp_path / "0badf11e-env.json").write_text("{damaged")
    found = costs.per_point(tmp_path, {})
    assert found == {f"m.C{i}.track": costs.Cost(i + 1 + ledger.ASV_START_S) for i in range(6)}


def test_a_ledger_entry_without_its_wall_time_leaves_the_row_as_the_cost(tmp_path):
    """An entry with no took_s (a run stopped before it wrote one) says nothing of time."""
    write_sampled(tmp_path / "f.json", {"m.C.track": {"result": [1.0], "started_at": 5, "duration": 6.0}})
    (tmp_path / ledger.LEDGER).write_text(
        json.dumps({"file": "f.json", "benchmark": "m.C.track", "indices": [0], "took_s": 0}) + "\n")
    assert costs.per_point(tmp_path, {}) == {"m.C.track": costs.Cost(6.0 + ledger.ASV_START_S)}


def test_asvs_duration_of_a_time_point_is_split_with_its_own_rows_samples(tmp_path):
    """No ledger: (26 s + asv's 4 s start) over 1 point = 30 s; its sample of 0.5 s x 4,
    taken 3 times, is 6 s of it: 24 s setup."""
    write_sampled(tmp_path / "f.json", {"m.C.time_x": {"result": [0.5], "started_at": 5, "duration": 30.0 - ledger.ASV_START_S,
                                                       "stats_number": [4], "stats_repeat": [3]}})
    assert costs.per_point(tmp_path, {}) == {"m.C.time_x": costs.Cost(24.0, (2.0,), 6.0)}


def test_other_machines_are_ordered_at_this_benchmarks_repeat(tmp_path):
    """Three other machines, one point of m.C.time_x each, nothing here to scale by. p
    recorded 12 s, 1 s of it one sample: at repeat (1, 10, 5) that sample is taken 6 times,
    11 + 6 = 17 s; q and r recorded 15 and 16 s, no samples: the median is r's 16 s (by
    what they recorded, 12, 15 and 16 s, it would be q's 15 s)."""
    results = tmp_path / "results"
    for name, duration, stats in (("p", 12.0, [1]), ("q", 15.0, None), ("r", 16.0, None)):
        folder = results / name
        folder.mkdir(parents=True)
        (folder / "sysinfo.jsonl").write_text(json.dumps({"size": "full"}) + "\n")
        write_sampled(folder / "f.json", {"m.C.time_x": {"result": [1.0], "started_at": 1,
                                                         "duration": duration - ledger.ASV_START_S,
                                                         "stats_number": stats, "stats_repeat": stats}})
    bench = plan.Benchmark("m.C.time_x", [0], 1, repeat=(1, 10, 5.0))
    costs.estimate([bench], results / "here", "full")
    assert bench.source == "elsewhere" and bench.estimate_s == 16.0


# -- the edges of a budget ------------------------------------------------------------------
def test_a_cut_of_a_time_benchmark_follows_asvs_rule_at_the_shorter_limit():
    """1 s setup and 1 s samples under (1, 10, 5): 6 samples, 7 s a point. Halved to 2.5 s:
    3 samples, 4 s a point, so a 14 s estimate becomes 14 x 4 / 7 = 8 s."""
    bench = plan.Benchmark("a.A.time_x", [0], 1, estimate_s=14.0, repeat=(1, 10, 5.0),
                           cost=costs.Cost(1.0, (1.0,), 4.0))
    assert costs._under(bench, 0.5, 120.0) == pytest.approx(8.0)


def test_a_cost_of_nothing_cuts_to_nothing():
    free = plan.Benchmark("a.A.time_x", [0], 1, estimate_s=0.0, repeat=(1, 10, 5.0), cost=costs.Cost(0.0, (0.0,), 0.0))
    assert costs._under(free, 0.5, 120.0) == 0.0
    capped = plan.Benchmark("scaling.Ratios.track_speedup", [0], 1, estimate_s=0.0, cost=costs.Cost(0.0, (), 0.0, 10.0))
    assert costs._under(capped, 0.5, 120.0) == 0.0


def test_fit_names_the_least_a_plan_takes():
    """1000 s of setup alone cannot meet 10 s: the cut bottoms at a tenth (100 s -> 10 s)
    and says so: 1010 s."""
    benches = [plan.Benchmark("a.A.time_x", [0], 1, estimate_s=100.0, repeat=(1, 3, 20.0)),
               plan.Benchmark("b.B.track_y", [0], 1, estimate_s=1000.0)]
    _, lines = costs.fit(benches, 10.0, 120.0)
    assert lines[-1] == "  setup and asv's least samples cannot shrink: ~16m50s is the least this plan takes"
    assert math.isclose(benches[0].estimate_s, 10.0)


def test_fit_does_not_promise_a_plan_that_cannot_shrink():
    """A startup benchmark of 600 s has no sampling to cut: 600 s = 10m00s against a
    budget of 60 s = 1m00s is over, and said so, not said to fit."""
    bench = plan.Benchmark("overhead.Startup.track_start", [0], 1, estimate_s=600.0)
    env, lines = costs.fit([bench], 60.0, 120.0)
    assert env == {}
    assert lines == ["budget 1m00s < plan ~10m00s: nothing in it samples by time, so nothing can shrink: "
                     "~10m00s is the least this plan takes"]
    assert bench.estimate_s == 600.0


def test_a_benchmarks_split_adds_its_processes_and_leaves_asv_the_rest():
    """Two processes of combination 0 (life 3 s and 2 s; setup 1+0.5+0.5 and 0+0.5+0.5 s;
    sampling 1 and 0.5 s; teardown 0.25 s each) and one of combination 2 (life 1 s, no
    setup, no sampling) of a benchmark that took 10 s: setup 3, sampling 1.5, body
    6 - 3 - 1.5 = 1.5, teardown 0.5, asv 10 - 6 - 0.5 = 3.5. Another benchmark's line is
    not counted. With another's 2.5 s of asv, the run: 6, 3, 1.5, 1.5, 0.5 of 12.5 s."""
    first = {"kind": "phases", "benchmark": "a.A.time_x", "index": 0, "life_s": 3.0, "engine_s": 1.0,
             "inputs_s": 0.5, "warm_s": 0.5, "sampling_s": 1.0, "teardown_s": 0.25}
    lines = [first, {**first, "life_s": 2.0, "engine_s": 0.0, "sampling_s": 0.5},
             {"kind": "phases", "benchmark": "a.A.time_x", "index": 2, "life_s": 1.0},
             {**first, "benchmark": "a.A.time_y"}]
    split = ledger.split("a.A.time_x", lines, 10.0)
    assert {k: split[k] for k in ledger.PARTS} == {"asv_s": 3.5, "setup_s": 3.0, "sampling_s": 1.5, "body_s": 1.5,
                                                    "teardown_s": 0.5}
    assert split["engine_s"] == 1.0
    assert split["combinations"]["0"] == {"life_s": 5.0, "engine_s": 1.0, "inputs_s": 1.0, "warm_s": 1.0,
                                          "sampling_s": 1.5, "teardown_s": 0.5}
    assert sorted(split["combinations"]) == ["0", "2"]
    assert ledger.split_line([split, {"asv_s": 2.5}]).endswith(
        "asv's start and processes 6.0 s (48%), setup (engine start 1.0 s, inputs, warm-up) 3.0 s (24%), sampling 1.5 s (12%), the rest of benchmark "
        "processes (track_* calls, calibration) 1.5 s (12%), teardown 0.5 s (4%)")


def test_a_recorded_split_gives_a_points_sampling(tmp_path):
    """As test_plan's 100 s over 2 points with samples of 2 s (x5) and 8 s (x2), but the
    processes timed 30 s of sampling in all (asv's calibration with it): 15 s a point, so
    35 s a point is setup; under (2, 5, 30) 5 x 2 s and 4 x 8 s, 21 s a point: 56 s."""
    write_sampled(tmp_path / "f.json", {"a.A.time_x": {"result": [2.0, 8.0], "duration": 90.0, "started_at": 5,
                                                       "stats_number": [1, 1], "stats_repeat": [5, 2]}})
    entry = {"file": "f.json", "benchmark": "a.A.time_x", "indices": [0, 1], "took_s": 100.0,
             "split": {"asv_s": 20.0, "setup_s": 40.0, "sampling_s": 30.0, "body_s": 5.0, "teardown_s": 5.0}}
    (tmp_path / ledger.LEDGER).write_text(json.dumps(entry) + "\n")
    cost = costs.per_point(tmp_path, {})["a.A.time_x"]
    assert (cost.fixed_s, cost.sampled_s, *cost.sample_s) == pytest.approx((35.0, 15.0, 2.0, 8.0))
    assert cost.at((2, 5, 30.0)) == pytest.approx(56.0)
