"""The run's plan, resume and budget arithmetic, on hand-made inputs (no engines)."""

import ast
import dataclasses
import itertools
import json
import math
import re
from pathlib import Path

import pytest

from bench_lib import config
from bench_lib.results import ledger
from bench_lib.run import costs, plan, runner, starts
import unsupported

ROOT = Path(__file__).resolve().parent.parent

FOUND = [
    plan.Found("a.A.time_x", ("a.A.time_x('serial', 1)", "a.A.time_x('serial', 2)", "a.A.time_x('ray', 1)",
                                "a.A.time_x('ray', 2)"), (("'serial'", "'ray'"), ("1", "2")),
                 ("backend", "n_workers"), (2, 5, 30.0)),
    plan.Found("b.B.track_y", ()),
]


def test_select_picks_the_combinations_asv_would_and_regex_runs_exactly_them():
    benchmarks, names = plan.select(FOUND, [r"'ray'"])
    assert [(b.name, b.selected, b.total) for b in benchmarks] == [("a.A.time_x", [2, 3], 4)]
    # asv's own filter, given the regex: second method, shared with nothing in runner
    from asv.benchmarks import Benchmarks

    class Conf:
        benchmark_dir = "benchmarks"

    spec = [{"name": "a.A.time_x", "params": [["'serial'", "'ray'"], ["1", "2"]]},
            {"name": "b.B.track_y", "params": []}]
    regex = benchmarks[0].regex(names["a.A.time_x"])
    chosen = Benchmarks(Conf(), spec, regex=[regex])
    assert list(chosen) == ["a.A.time_x"] and chosen.benchmark_selection["a.A.time_x"] == [2, 3]
    whole, names = plan.select(FOUND, [])
    assert [b.selected for b in whole] == [[0, 1, 2, 3], [0]]
    assert list(Benchmarks(Conf(), spec, regex=[whole[1].regex(names["b.B.track_y"])])) == ["b.B.track_y"]
    assert re.search(whole[0].regex(names["a.A.time_x"]), "a.A.time_xy('serial', 1)") is None


def write_result(path, rows):
    columns = ["result", "params", "version", "started_at", "duration"]
    path.write_text(json.dumps({"result_columns": columns,
                                "results": {k: [v.get(c) for c in columns] for k, v in rows.items()}}))


def test_recorded_needs_the_ledger_and_a_result_for_every_selected_combination(tmp_path):
    final = tmp_path / "abc-existing.json"
    write_result(final, {"a.A.time_x": {"result": [1.0, float("nan"), None, float("nan")]}})
    bench = plan.Benchmark("a.A.time_x", [0, 1], 4)
    rows = ledger.load_rows(final)
    assert not ledger.recorded(bench, rows, {})  # n/a may mean "not selected": no ledger, no skip
    (tmp_path / ledger.LEDGER).write_text(
        json.dumps({"file": final.name, "benchmark": "a.A.time_x", "indices": [0, 1]}) + "\n"
        + json.dumps({"file": "other.json", "benchmark": "a.A.time_x", "indices": [2, 3]}) + "\n")
    done = ledger.measured(final)
    assert done == {"a.A.time_x": {0, 1}}
    assert ledger.recorded(bench, rows, done)
    assert not ledger.recorded(plan.Benchmark("a.A.time_x", [0, 2], 4), rows, {"a.A.time_x": {0, 2}})  # 2 failed
    assert not ledger.recorded(plan.Benchmark("b.B.track_y", [0], 1), rows, done)
    assert ledger.outcome(plan.Benchmark("a.A.time_x", [0, 1, 2], 4), rows) == (1, 1, 1)


def test_estimate_prefers_the_ledgers_wall_time_then_asvs_duration_then_a_guess(tmp_path):
    folder = tmp_path / "m"  # the only machine: nothing beside it
    folder.mkdir()
    (folder / ledger.LEDGER).write_text(
        json.dumps({"file": "f.json", "benchmark": "a.A.time_x", "indices": [0, 1], "took_s": 10.0}) + "\n")
    write_result(folder / "f.json", {
        "a.A.time_x": {"result": [1.0, 1.0, 1.0, 1.0], "duration": 100.0, "started_at": 5},
        "b.B.track_y": {"result": [2.0, float("nan"), 3.0], "duration": 8.0, "started_at": 5}})
    benches = [plan.Benchmark("a.A.time_x", [0, 1, 2], 4), plan.Benchmark("b.B.track_y", [0], 3),
               plan.Benchmark("c.C.time_z", [0, 1], 2)]
    costs.estimate(benches, folder, "full")
    assert benches[0].estimate_s == pytest.approx(3 * 10.0 / 2)  # ledger: 5 s per point
    assert benches[1].estimate_s == pytest.approx((8.0 + ledger.ASV_START_S) / 2)  # 2 numbers measured
    assert benches[2].estimate_s == 2 * costs.FIRST_RUN_GUESS_S["full"] and not benches[2].measured


def test_protocol_points_are_planned_at_the_time_cap_of_this_run(tmp_path):
    """A protocol point runs to its time cap: one recorded under a 60 s cap takes about twice
    as long under 120 s. Only entries that say their cap are scaled."""
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / ledger.LEDGER).write_text("".join(json.dumps(entry) + "\n" for entry in [
        {"file": "f.json", "benchmark": "scaling.Gap.track_x", "indices": [0, 1], "took_s": 100.0, "cap_s": 60.0},
        {"file": "f.json", "benchmark": "scaling.Old.track_y", "indices": [0], "took_s": 40.0},
        {"file": "f.json", "benchmark": "a.A.time_z", "indices": [0], "took_s": 7.0}]))
    benches = [plan.Benchmark("scaling.Gap.track_x", [0, 1, 2], 3), plan.Benchmark("scaling.Old.track_y", [0], 1),
               plan.Benchmark("a.A.time_z", [0], 1)]
    costs.estimate(benches, folder, "full", cap_s=120.0)
    assert [b.estimate_s for b in benches] == pytest.approx([3 * 100.0, 40.0, 7.0])  # 50 s a point, doubled
    costs.estimate(benches, folder, "full", cap_s=15.0)
    assert benches[0].estimate_s == pytest.approx(3 * 12.5)
    costs.estimate(benches, folder, "full")  # no cap given: as recorded
    assert benches[0].estimate_s == pytest.approx(3 * 50.0)


def test_a_protocol_point_under_two_caps_is_a_line_through_them(tmp_path):
    """By hand: 30 s a point under a 20 s cap, then 25 s under 10 s: 0.5 s per second of
    cap on top of 20 s that does not shrink; at 60 s, 50 s a point. A later run under the
    same cap (28 s) is the one the line goes through. A run that took longer under a lower
    cap gives no negative slope: flat; one that would grow faster than its time: in
    proportion. A point's sampling grows at most second for second with the cap."""
    def planned(entries, cap):
        folder = tmp_path / str(len(list(tmp_path.iterdir())))
        folder.mkdir()
        (folder / ledger.LEDGER).write_text("".join(
            json.dumps({"file": "f.json", "benchmark": "scaling.C.track_x", "indices": list(range(10)),
                        "took_s": took, "cap_s": c}) + "\n" for c, took in entries))
        bench = plan.Benchmark("scaling.C.track_x", [0], 1)
        costs.estimate([bench], folder, "full", cap_s=cap)
        return bench.estimate_s

    assert planned([(20.0, 300.0), (10.0, 250.0)], 60.0) == pytest.approx(50.0)
    assert planned([(20.0, 300.0), (10.0, 250.0)], 10.0) == pytest.approx(25.0)
    assert planned([(20.0, 300.0), (10.0, 250.0), (10.0, 280.0)], 60.0) == pytest.approx(28.0 - 0.2 * 10 + 0.2 * 60)
    assert planned([(20.0, 300.0), (10.0, 320.0)], 60.0) == pytest.approx(32.0)    # flat
    assert planned([(20.0, 300.0), (10.0, 50.0)], 60.0) == pytest.approx(5.0 * 6)  # proportional to 5 s at 10 s
    # one cap: 25 s a point under a 10 s cap holds 15 s that the cap does not decide: 75 s at 60 s
    assert planned([(15.0, 270.0), (10.0, 250.0)], 60.0) == pytest.approx(21.0 + 0.4 * 60)  # 1.5x apart: a line
    assert planned([(10.0, 250.0)], 60.0) == pytest.approx(15.0 + 60.0)
    assert planned([(10.0, 250.0)], 5.0) == pytest.approx(15.0 + 5.0)
    # 12.3 s and 11.6 s are too close to tell the cap from the host: the latest alone
    assert planned([(12.3, 270.0), (11.6, 371.0)], 60.0) == pytest.approx(37.1 - 11.6 + 60.0)


def test_na_points_are_planned_at_nothing_and_left_out_of_the_time_per_point(tmp_path):
    """An n/a combination is a fork and a raise (4 took 4 s, asv's start): the plan costs
    only the points that will be measured, and a ledger entry's time is per measured point."""
    folder = tmp_path / "m"  # the only machine: nothing beside it
    folder.mkdir()
    (folder / ledger.LEDGER).write_text(
        json.dumps({"file": "f.json", "benchmark": "a.A.time_x", "indices": [0, 1, 2, 3], "took_s": 12.0}) + "\n")
    skips = frozenset({1, 3})
    both = plan.Benchmark("a.A.time_x", [0, 2], 4, skips=skips)     # measured both times
    none = plan.Benchmark("a.A.time_x", [1, 3], 4, skips=skips)     # n/a both
    new = plan.Benchmark("c.C.time_z", [0, 1, 2], 3, skips=frozenset({2}))  # no history: the guess
    costs.estimate([both, none, new], folder, "full")
    assert (both.n_a, none.n_a, new.n_a) == (0, 2, 1)
    assert both.estimate_s == pytest.approx(2 * 12.0 / 2)  # 12 s over the 2 measured: 6 s each
    assert none.estimate_s == 0.0
    assert new.estimate_s == 2 * costs.FIRST_RUN_GUESS_S["full"]
    lines = plan.plan_lines([both, none], [])
    assert re.search(r"a\.A\s+4 points\s+\(2 n/a\)\s+~\s*0m12s", lines[0]), lines



def machine_folder(results, name, size, per_point):
    """A machine's folder whose ledger gives each benchmark ``per_point`` seconds (1 point)."""
    folder = results / name
    folder.mkdir(parents=True)
    (folder / "sysinfo.jsonl").write_text(json.dumps({"size": size}) + "\n")
    (folder / ledger.LEDGER).write_text("".join(
        json.dumps({"file": "f.json", "benchmark": b, "indices": [0], "took_s": s}) + "\n" for b, s in per_point.items()))
    return folder


def test_a_benchmark_never_run_here_is_planned_from_other_machines_scaled_to_this_one(tmp_path):
    """By hand: this machine took 12 s a point of a.A where 'fast' took 6 s and 'slow' 24 s,
    so it is 2x fast's time and 0.5x slow's. c.C, never run here: fast's 5 s -> 10 s, slow's
    30 s -> 15 s, their median 12.5 s a point, 2 points: 25 s. 'tiny' ran small sizes (its
    100 s, x12, would make the median 15 s): left out. d.D ran nowhere: the guess."""
    results = tmp_path / "results"
    here = machine_folder(results, "here", "full", {"a.A.time_x": 12.0})
    machine_folder(results, "fast", "full", {"a.A.time_x": 6.0, "c.C.time_z": 5.0})
    machine_folder(results, "slow", "full", {"a.A.time_x": 24.0, "c.C.time_z": 30.0})
    machine_folder(results, "tiny", "small", {"a.A.time_x": 1.0, "c.C.time_z": 100.0})
    for name, sysinfo in (("empty", ""), ("damaged", "{not json")):  # say nothing of their size: left out
        machine_folder(results, name, "full", {"c.C.time_z": 1000.0})
        (results / name / "sysinfo.jsonl").write_text(sysinfo)
    benches = [plan.Benchmark("a.A.time_x", [0, 1], 2), plan.Benchmark("c.C.time_z", [0, 1], 2),
               plan.Benchmark("d.D.time_w", [0], 1)]
    costs.estimate(benches, here, "full")
    assert [b.estimate_s for b in benches] == [24.0, 25.0, costs.FIRST_RUN_GUESS_S["full"]]
    assert [b.source for b in benches] == ["measured", "elsewhere", "guess"]
    assert [" ".join(line.split("~")[1].split()) for line in plan.plan_lines(benches, [])[:3]] == [
        "0m24s", "0m25s (other machines)", "0m30s (first-run guess)"]
    # a machine's first run shares nothing to scale by: the others' times as they are,
    # a.A the median of 12, 6 and 24 s; c.C of 5 and 30 s
    new = [plan.Benchmark("a.A.time_x", [0], 2), plan.Benchmark("c.C.time_z", [0], 2)]
    costs.estimate(new, results / "new", "full")
    assert [b.estimate_s for b in new] == [12.0, 17.5] and {b.source for b in new} == {"elsewhere"}
    small = [plan.Benchmark("c.C.time_z", [0], 2)]
    costs.estimate(small, results / "new-small", "small")
    assert small[0].estimate_s == 100.0

def test_the_plans_na_combinations_are_the_hand_written_tables():
    """Every class's ``skipped`` against tests/unsupported.py (written by hand from what
    each combination means), over every combination of every benchmark asv finds."""
    found = plan.discover(ROOT)
    assert len(found) >= 20
    for bench in found:
        values = [[ast.literal_eval(v) for v in axis] for axis in bench.params]
        cls = bench.name.split(".")[-2]
        expected = {i for i, combo in enumerate(itertools.product(*values))
                    if unsupported.reason(cls, dict(zip(bench.param_names, combo)))}
        assert bench.skips == expected, (bench.name, sorted(bench.skips ^ expected))
    assert sum(len(b.skips) for b in found) > 300


def test_fit_scales_only_what_can_shrink_by_one_factor():
    benches = [plan.Benchmark("a.A.time_x", [0], 1, estimate_s=600.0, repeat=(2, 5, 30.0)),
               plan.Benchmark("scaling.Ratios.track_speedup", [0], 1, estimate_s=400.0),
               plan.Benchmark("b.B.track_y", [0], 1, estimate_s=200.0)]
    env, lines = costs.fit(benches, 700.0, 120.0)
    # fixed 200 s; 1000 s must become 500 s: factor 0.5
    assert env == {"PARBENCH_POINT_CAP_S": "60.0"}
    assert benches[0].attributes == ["repeat=(2,5,15.00)"]
    assert [b.estimate_s for b in benches] == pytest.approx([300.0, 200.0, 200.0])
    assert "50%" in lines[0] and len(lines) == 3
    env, lines = costs.fit(benches, 10_000.0, 120.0)
    assert env == {} and "fits" in lines[0]


def test_fit_says_when_the_budget_cannot_be_met():
    benches = [plan.Benchmark("a.A.time_x", [0], 1, estimate_s=100.0, repeat=(1, 3, 20.0)),
               plan.Benchmark("b.B.track_y", [0], 1, estimate_s=500.0)]
    _, lines = costs.fit(benches, 300.0, 120.0)
    assert benches[0].estimate_s == pytest.approx(10.0)  # floored at a tenth
    assert "cannot shrink: ~8m30s" in lines[-1]


def test_asv_sample_count_follows_its_rule_worked_by_hand():
    """asv takes samples until it has min_repeat (and two runs) and more than max_time has
    passed, or max_repeat: 15.32 s samples under (2, 5, 30): 30.64 s > 30 after 2."""
    assert costs.samples(15.32, (2, 5, 30.0)) == 2
    assert costs.samples(15.0, (2, 5, 30.0)) == 3     # 30 s is not more than 30
    assert costs.samples(1.0, (3, 10, 5.0)) == 6      # 6 s > 5 s
    assert costs.samples(2.0, (3, 10, 5.0)) == 3      # the minimum already passes 5 s
    assert costs.samples(0.5, (3, 10, 5.0)) == 10     # max_repeat first
    assert costs.samples(40.0, (1, 3, 20.0)) == 2     # min_repeat 1, but asv runs a point twice


def write_sampled(path, rows):
    columns = ["result", "params", "version", "started_at", "duration", "stats_number", "stats_repeat"]
    path.write_text(json.dumps({"result_columns": columns,
                                "results": {k: [v.get(c) for c in columns] for k, v in rows.items()}}))


def test_a_time_point_is_split_into_setup_and_samples_and_costed_at_another_repeat(tmp_path):
    """By hand: 100 s over 2 points is 50 s a point. Samples of 2 s (x5) and 8 s (x2) are 10
    and 16 s of sampling, 13 s a point, so 37 s a point is setup. Under (2, 5, 30): 5 x 2 s
    and 4 x 8 s, 21 s a point: 58 s. Under (2, 5, 3): 2 samples each, 10 s a point: 47 s."""
    folder = tmp_path / "m"
    folder.mkdir()
    write_sampled(folder / "f.json", {"a.A.time_x": {"result": [2.0, 8.0, None], "duration": 90.0, "started_at": 5,
                                                     "stats_number": [1, 1, None], "stats_repeat": [5, 2, None]}})
    (folder / ledger.LEDGER).write_text(
        json.dumps({"file": "f.json", "benchmark": "a.A.time_x", "indices": [0, 1], "took_s": 100.0}) + "\n")
    cost = costs.per_point(folder, {})["a.A.time_x"]
    assert (cost.fixed_s, cost.sampled_s, *cost.sample_s) == pytest.approx((37.0, 13.0, 2.0, 8.0))
    assert cost.at((2, 5, 30.0)) == pytest.approx(58.0)
    assert cost.at((2, 5, 3.0)) == pytest.approx(47.0)
    assert cost.at() == pytest.approx(50.0)  # no repeat: as recorded
    bench = plan.Benchmark("a.A.time_x", [0, 1, 2], 3, repeat=(2, 5, 30.0))
    costs.estimate([bench], folder, "full")
    assert bench.estimate_s == pytest.approx(3 * 58.0)
    # a machine twice as slow: setup 74 s; samples of 4 s (5 of them, 20 s) and 16 s (2, 32 s)
    assert cost.scaled(2.0).at((2, 5, 30.0)) == pytest.approx(74.0 + (20.0 + 32.0) / 2)


def test_fit_keeps_asvs_least_samples_and_cuts_the_rest_deeper():
    """Ten points of 5 s setup and 15 s samples under (2, 5, 30): 3 samples, 50 s a point,
    500 s; any cut leaves 2 samples, 35 s a point, 350 s. With a protocol benchmark of
    400 s at a 120 s cap and a budget of 550 s, the protocol must come down to 200 s: its
    cap to 60 s (factor 0.5), where one factor over both sums would say 0.61 and overrun."""
    floored = costs.Cost(5.0, (15.0,), 30.0)
    interp = plan.Benchmark("a.A.time_x", list(range(10)), 10, repeat=(2, 5, 30.0), cost=floored)
    interp.estimate_s = 10 * floored.at(interp.repeat)
    assert interp.estimate_s == pytest.approx(500.0)
    ratios = plan.Benchmark("scaling.Ratios.track_speedup", [0], 1, estimate_s=400.0)
    env, lines = costs.fit([interp, ratios], 550.0, 120.0)
    assert env == {"PARBENCH_POINT_CAP_S": "60.0"}
    assert interp.estimate_s == pytest.approx(350.0) and ratios.estimate_s == pytest.approx(200.0)
    assert "~8m20s -> ~5m50s" in lines[1] and "~6m40s -> ~3m20s" in lines[2]
    alone = plan.Benchmark("a.A.time_x", list(range(10)), 10, repeat=(2, 5, 30.0), cost=floored, estimate_s=500.0)
    _, lines = costs.fit([alone], 300.0, 120.0)
    assert "cannot shrink: ~5m50s" in lines[-1]


def test_duration_and_eta():
    assert plan.duration(59.6) == "1m00s" and plan.duration(3725) == "1h02m"
    progress = runner.Progress([plan.Benchmark("a", [0, 1], 2, estimate_s=100.0),
                                plan.Benchmark("b", [0], 1, estimate_s=300.0)])
    assert progress.eta() == 400.0  # nothing done: the plan
    progress.started -= 200.0  # 200 s spent on a benchmark planned at 100 s
    progress.end(plan.Benchmark("a", [0, 1], 2, estimate_s=100.0))
    assert progress.points == 3 and progress.done_points == 2
    assert progress.eta() == pytest.approx(300.0 * 2.0, rel=0.01)  # twice as slow as planned
    assert not math.isnan(progress.eta())


def test_quick_takes_the_most_workers_first_values_every_variant_on_one_rotating_engine():
    first = plan.Found("m.K.time_a", tuple(f"m.K.time_a({b}, {n}, {v})" for b in ("'serial'", "'threads'", "'loky'", "'ray'")
                                            for n in ("1", "2") for v in ("'naive'", "'shared'")),
                         (("'serial'", "'threads'", "'loky'", "'ray'"), ("1", "2"), ("'naive'", "'shared'")),
                         ("backend", "n_workers", "variant"))
    second = dataclasses.replace(first, name="m.K.time_b", combos=tuple(c.replace("time_a", "time_b") for c in first.combos))
    plain = plan.Found("m.L.track_c", ())
    ceiling = plan.Found("m.M.track_d", ("m.M.track_d('w1', 1)", "m.M.track_d('w1', 2)", "m.M.track_d('w2', 1)",
                                           "m.M.track_d('w2', 2)"), (("'w1'", "'w2'"), ("1", "2")), ("workload", "n_workers"))
    chosen = plan.quick([first, second, plain, ceiling])
    assert chosen == {"m.K.time_a('serial', 1, 'naive')", "m.K.time_a('threads', 2, 'naive')",
                      "m.K.time_a('loky', 2, 'naive')", "m.K.time_a('loky', 2, 'shared')",  # the first engine
                      "m.K.time_b('serial', 1, 'naive')", "m.K.time_b('threads', 2, 'naive')",
                      "m.K.time_b('ray', 2, 'naive')", "m.K.time_b('ray', 2, 'shared')",  # the second
                      "m.L.track_c", "m.M.track_d('w1', 2)"}
    benchmarks, _ = plan.select([first, plain], [], chosen)
    # index = backend * 4 + n_workers * 2 + variant: serial at n=1, threads and loky at n=2,
    # naive; loky's shared too
    assert [b.selected for b in benchmarks] == [[0, 6, 10, 11], [0]]


def test_the_extended_profile_holds_what_each_class_declares_beyond_its_question():
    """By hand, whatever the worker counts: Interpolators' grids 50 and 530 are two of its
    three grids; InterpolatorChunks' threads and loky two of its three backends;
    ModelInference's pinned=True half of its combinations. No other class declares any."""
    found = {b.name: b for b in plan.discover(ROOT)}
    share = {"interpolators.Interpolators.time_interpolators": 2 / 3,
             "interpolators.InterpolatorChunks.time_interpolator_chunks": 2 / 3,
             "model_inference.ModelInference.time_rounds": 1 / 2,
             "model_inference.ModelInference.track_first_round": 1 / 2}
    for name, bench in found.items():
        assert len(bench.extended) == round(share.get(name, 0) * len(bench.combos)), name
    chunks = found["interpolators.InterpolatorChunks.time_interpolator_chunks"]
    assert all(("'serial'" in label) == (i not in chunks.extended) for i, label in enumerate(chunks.combos))
    kept = plan.in_profile(list(found.values()), "default")
    assert plan.in_profile(list(found.values()), "extended") is None
    assert not any(", 50)" in c or ", 530)" in c for c in kept if c.startswith("interpolators.Interpolators."))
    with pytest.raises(ValueError, match="unknown profile 'huge'"):
        plan.in_profile([], "huge")


def test_quick_takes_the_first_values_the_default_profile_measures():
    """A grid whose first value is extended-only: quick takes the second (indices 0, 2 are
    grid 10 of serial/threads, 1 and 3 grid 20)."""
    grid = plan.Found("m.G.time_g", ("m.G.time_g('serial', 10)", "m.G.time_g('serial', 20)",
                                     "m.G.time_g('threads', 10)", "m.G.time_g('threads', 20)"),
                      (("'serial'", "'threads'"), ("10", "20")), ("backend", "grid"), extended=frozenset({0, 2}))
    assert plan.quick([grid]) == {"m.G.time_g('serial', 20)", "m.G.time_g('threads', 20)"}
    assert grid.first_in_profile(0) == "'serial'" and grid.first_in_profile(1) == "20"
    every = dataclasses.replace(grid, extended=frozenset(range(4)))  # nothing left: the first value
    assert every.first_in_profile(1) == "10"


def test_extended_must_name_a_parameter(monkeypatch):
    from benchmarks import interpolators

    monkeypatch.setattr(interpolators.Interpolators, "extended", {"gird": [50]})
    fake = dataclasses.make_dataclass("B", ["name", "params", "param_names"])(
        "interpolators.Interpolators.time_interpolators", [["'serial'"], ["50"]], ["backend", "grid"])
    with pytest.raises(ValueError, match=r"'extended' names no parameter \['gird'\]"):
        plan._extended(fake)


def test_batches_join_short_neighbours_with_the_same_attributes(monkeypatch):
    def bench(name, seconds, attributes=()):
        return plan.Benchmark(name, [0], 1, estimate_s=seconds, attributes=list(attributes))

    queue = [bench("a", 20), bench("b", 30), bench("c", 20), bench("d", 100), bench("e", 5),
            bench("f", 5, ["repeat=(1,2,3.00)"]), bench("g", 5, ["repeat=(1,2,3.00)"])]
    assert [[b.name for b in batch] for batch in plan.batches(queue, 60)] == [
        ["a", "b"], ["c"], ["d"], ["e"], ["f", "g"]]  # 20+30 <= 60 < 20+30+20
    assert [len(batch) for batch in plan.batches(queue, 0)] == [1] * 7
    monkeypatch.delenv("PARBENCH_BATCH_S", raising=False)
    assert config.batch_s() == 60
    monkeypatch.setenv("PARBENCH_BATCH_S", "-1")
    with pytest.raises(ValueError, match="PARBENCH_BATCH_S='-1'"):
        config.batch_s()


@pytest.mark.parametrize("text", ["{not json", '{"results": {}}', '{"result_columns": ["result"], "results": 3}'])
def test_an_unreadable_result_file_is_named_as_such(tmp_path, text):
    """A damaged result file of this commit is the one error that says "move it away"."""
    final = tmp_path / "abc-env.json"
    final.write_text(text)
    with pytest.raises(ledger.Unreadable, match=f"unreadable asv result file of this commit .*move {re.escape(str(final))} away"):
        plan.make(ROOT, final, "small", [r"filter_bank\.FilterBank"], False, False)


def test_a_bad_extended_declaration_is_not_called_an_unreadable_file(tmp_path, monkeypatch):
    from benchmarks import interpolators

    monkeypatch.setattr(interpolators.Interpolators, "extended", {"gird": [50]})
    with pytest.raises(ValueError, match="'extended' names no parameter") as caught:
        plan.make(ROOT, tmp_path / "none.json", "small", [r"interpolators\.Interpolators\."], False, False)
    assert not isinstance(caught.value, ledger.Unreadable)


def test_ratios_or_gap_run_alone_is_planned_with_the_others_share_of_their_one_measurement(tmp_path):
    """Ratios and Gap share one measurement, booked on whichever ran first (Gap: 270 s,
    Ratios: 5 s for the same point). Run alone, either one pays both; run together, each
    keeps its own booking (the total is the same)."""
    found = {f.name: f for f in plan.discover(ROOT)}
    ratios_name, gap_name = "scaling.Ratios.track_speedup", "scaling.Gap.track_naive_to_shared"
    [point] = [i for i, label in enumerate(found[ratios_name].combos) if "('filter_bank', 'loky'," in label]
    assert point not in found[ratios_name].skips | found[gap_name].skips  # loky: a speedup and a gap
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / ledger.LEDGER).write_text("".join(json.dumps(e) + "\n" for e in [
        {"file": "f.json", "benchmark": gap_name, "indices": [point], "took_s": 270.0},
        {"file": "f.json", "benchmark": ratios_name, "indices": [point], "took_s": 5.0}]))

    def planned(*patterns):
        todo = plan.make(ROOT, folder / "c-env.json", "full", list(patterns), False, True)[0]
        return {b.name: b.estimate_s for b in todo}

    ratios, gap = r"scaling\.Ratios\.track_speedup\('filter_bank', 'loky'", r"scaling\.Gap\.\w+\('filter_bank', 'loky'"
    assert planned(ratios) == {ratios_name: pytest.approx(275.0)}
    assert planned(gap) == {gap_name: pytest.approx(275.0)}
    assert planned(ratios, gap) == {ratios_name: pytest.approx(5.0), gap_name: pytest.approx(270.0)}


def test_the_runs_group_names_the_backends_of_its_speedups_and_gaps():
    """Ratios and Gap points are measured in one group's rounds: the environment names the
    backends of both, each once, in the order the plan meets them; other classes add none."""
    def bench(name, *backends):
        return plan.Benchmark(name, list(range(len(backends))), len(backends),
                              params=tuple({"workload": "'filter_bank'", "backend": repr(b), "n_workers": "2"}
                                           for b in backends))
    ratios = bench("scaling.Ratios.track_speedup", "loky", "threads", "loky")
    gap = bench("scaling.Gap.track_naive_to_shared", "dask", "loky")
    traces = bench("scaling.Traces.track_idle_share", "ray")
    assert plan.speedup_group([ratios, gap, traces]) == {"PARBENCH_SPEEDUP_GROUP": "loky,threads,dask"}
    assert plan.speedup_group([gap]) == {"PARBENCH_SPEEDUP_GROUP": "dask,loky"}
    assert plan.speedup_group([traces]) == {}


def test_other_machines_median_of_two_keeps_setup_samples_and_caps_apart(tmp_path):
    """By hand, two machines 'p' and 'q' sharing nothing with this one (speed 1):
    a.A: p took 20 s a point of which 5 samples of 2 s; q 40 s of which 2 of 8 s. So p is
    10 s setup and q 24 s: their median is 17 s setup with samples of 2 and 8 s. Under
    (2, 5, 3): 2 samples each, 4 and 16 s, 27 s a point. scaling.C: p 10 s a point under a
    20 s cap (in proportion), q 90 s under 60 s (30 s beyond its cap): at a 30 s cap, 15
    and 60 s; their median is 15 s that does not shrink plus 22.5 s at 30 s, 60 s at 60 s."""
    results = tmp_path / "results"
    for name, took, row, (cap, capped) in (("p", 20.0, (2.0, 5), (20.0, 10.0)), ("q", 40.0, (8.0, 2), (60.0, 90.0))):
        folder = results / name
        folder.mkdir(parents=True)
        (folder / "sysinfo.jsonl").write_text(json.dumps({"size": "full"}) + "\n")
        write_sampled(folder / "f.json", {"a.A.time_x": {"result": [row[0]], "duration": 1.0, "started_at": 5,
                                                         "stats_number": [1], "stats_repeat": [row[1]]}})
        (folder / ledger.LEDGER).write_text(
            json.dumps({"file": "f.json", "benchmark": "a.A.time_x", "indices": [0], "took_s": took}) + "\n"
            + json.dumps({"file": "f.json", "benchmark": "scaling.C.track_x", "indices": [0], "took_s": capped,
                          "cap_s": cap}) + "\n")
    timed = plan.Benchmark("a.A.time_x", [0], 1, repeat=(2, 5, 3.0))
    protocol = plan.Benchmark("scaling.C.track_x", [0], 1)
    costs.estimate([timed, protocol], results / "new", "full", cap_s=30.0)
    assert timed.estimate_s == pytest.approx(27.0) and timed.source == "elsewhere"
    assert timed.cost.fixed_s == pytest.approx(17.0) and sorted(timed.cost.sample_s) == [2.0, 8.0]
    assert protocol.estimate_s == pytest.approx(37.5)
    assert protocol.cost.at(cap_s=60.0) == pytest.approx(60.0)
    slow = protocol.cost.scaled(2.0)  # a machine twice as slow keeps the cap it ran under
    assert (slow.cap_s, slow.at(cap_s=30.0)) == (30.0, pytest.approx(75.0))
    assert sorted(timed.cost.scaled(2.0).sample_s) == [4.0, 16.0]


def test_fit_cuts_a_protocol_cap_by_what_its_line_saves():
    """Ten points of 20 s that do not shrink plus 0.5 s per second of cap: 50 s a point at
    60 s, 500 s. To fit 400 s a point must take 40 s: a cap of 40 s (in proportion, 48 s,
    would overrun). A plan that equals the budget fits; the cap never goes below 1 s."""
    line = costs.Cost(20.0, (), 10.0, 20.0)
    bench = plan.Benchmark("scaling.C.track_x", list(range(10)), 10, cost=line, estimate_s=10 * line.at(cap_s=60.0))
    assert bench.estimate_s == pytest.approx(500.0)
    env, lines = costs.fit([bench], 400.0, 60.0)
    assert env == {"PARBENCH_POINT_CAP_S": "40.0"} and bench.estimate_s == pytest.approx(400.0)
    assert len(lines) == 2  # met: nothing said about what cannot shrink
    env, lines = costs.fit([bench], 400.0, 60.0)
    assert env == {} and "fits" in lines[0]
    assert costs.capped_at(5.0, 0.1) == 1.0 and costs.capped_at(120.0, 0.5) == 60.0


# -- engine start against workers (starts.StartFit, starts.engine_starts) ----------------------

def test_start_fit_is_least_squares_and_a_point_at_8_workers_pays_5_s():
    """Points on the line 1 + 0.5 n: a = 1 s, b = 0.5 s per worker; start at 8 workers is
    1 + 4 = 5 s, with no spread so the range is that one value."""
    fit = starts.fit_start([(1, 1.5), (2, 2.0), (4, 3.0), (8, 5.0)])
    assert (fit.a, fit.b) == (pytest.approx(1.0), pytest.approx(0.5))
    assert fit.at(8) == pytest.approx(5.0)
    assert fit.range_at(48) == (pytest.approx(25.0), pytest.approx(25.0))


def test_start_fit_range_is_the_lines_95_percent_interval_with_three_counts():
    """(1, 1), (2, 3), (3, 2): mean n 2, mean t 2, Sxy = 1, Sxx = 2, so b = 0.5, a = 1.
    Residuals -0.5, 1, -0.5: s^2 = 1.5 / (3 - 2) = 1.5. At n = 2 (the mean) the half-width
    is t(1 df) 12.71 x sqrt(1.5 / 3) = 8.987: from 2 - 8.987, held at 0, to 10.987. At
    n = 4: 12.71 x sqrt(1.5 x (1/3 + 4/2)) = 12.71 x 1.8708 = 23.778 around 3."""
    fit = starts.fit_start([(1, 1.0), (2, 3.0), (3, 2.0)])
    assert (fit.a, fit.b) == (pytest.approx(1.0), pytest.approx(0.5))
    assert fit.range_at(2) == (0.0, pytest.approx(10.987, abs=1e-3))
    assert fit.range_at(4)[1] == pytest.approx(3 + 23.778, abs=1e-2)


def test_start_fit_with_two_counts_ranges_from_flat_to_proportional():
    """(1, 1.0), (2, 1.5): the line 0.5 + 0.5 n, 4.5 s at 8; the range runs from start
    staying at the 2-worker 1.5 s to start in proportion to workers, 1.5 x 8 / 2 = 6 s. A
    start that fell with workers is held flat: (1, 3), (2, 2) gives b = 0, a = 2.5."""
    fit = starts.fit_start([(1, 1.0), (2, 1.5)])
    assert fit.at(8) == pytest.approx(4.5)
    assert fit.range_at(8) == (pytest.approx(1.5), pytest.approx(6.0))
    falling = starts.fit_start([(1, 3.0), (2, 2.0)])
    assert (falling.a, falling.b) == (pytest.approx(2.5), 0.0)
    assert falling.range_at(8) == (pytest.approx(2.0), pytest.approx(8.0))


def test_start_fit_from_the_2_worker_point_alone_takes_half_per_worker():
    """A 2-worker start of 4 s alone: half of it per worker, a = 2, b = 1: 10 s at 8,
    between 4 s (flat) and 16 s (proportional)."""
    fit = starts.fit_start([(2, 4.0)])
    assert (fit.a, fit.b) == (pytest.approx(2.0), pytest.approx(1.0))
    assert fit.at(8) == pytest.approx(10.0)
    assert fit.range_at(8) == (pytest.approx(4.0), pytest.approx(16.0))
    assert starts.fit_start([]) is None


def _bench(name, combos, estimate_s):
    return plan.Benchmark(name, list(range(len(combos))), len(combos), estimate_s=estimate_s,
                          params=tuple({"backend": repr(b), "n_workers": str(n)} for b, n in combos))


LINE = starts.StartFit(1.0, 0.5, ((1, 1.5), (2, 2.0), (4, 3.0), (8, 5.0)))  # 1 + 0.5 n, exact


def test_an_8_core_plan_counts_engine_start_per_point_at_its_workers():
    """Recorded on a 2-core machine (its counts 1 and 2: reference 1.5 workers, start
    1.75 s). On 8 cores a workload class has ray at 1, 2, 4, 8 and serial at 1, 100 s
    planned before starts: ray adds (1.5 - 1.75) + (2 - 1.75) + (3 - 1.75) + (5 - 1.75)
    = 4.5 s, serial nothing (no fit): 104.5 s. Startup (3 starts a point) at ray 8:
    3 x 3.25 = 9.75 s on its 20 s. StartGrowth's counts do not follow the cores: as
    recorded. Total 104.5 + 29.75 + 40 = 174.25 s; the fit has no spread: no range."""
    work = _bench("w.W.time_w", [("ray", 1), ("ray", 2), ("ray", 4), ("ray", 8), ("serial", 1)], 100.0)
    start = _bench("overhead.Startup.track_start", [("ray", 8)], 20.0)
    growth = _bench("overhead.StartGrowth.track_start_growth", [("ray", 8)], 40.0)
    assert starts.recorded_counts(Path("/nonexistent")) == 1.5  # 2 cores where unknown: 1 and 2
    low, high = starts.engine_starts([work, start, growth], {"ray": LINE}, 1.5, "per-point")
    assert (work.estimate_s, start.estimate_s, growth.estimate_s) == (
        pytest.approx(104.5), pytest.approx(29.75), 40.0)
    assert (low, high) == (pytest.approx(14.25), pytest.approx(14.25))
    assert plan.span([work, start, growth]) == (pytest.approx(174.25), pytest.approx(174.25))


def test_engines_once_per_run_pay_one_start_at_the_most_workers():
    """The same selection with one engine per run: the workload's four ray points shed
    the 1.75 s each recorded (-7 s) and the run pays one ray start at 8 workers, 5 s, on
    the first benchmark that uses ray: 100 - 7 + 5 = 98 s. Startup still starts its own
    (29.75 s). Total 98 + 29.75 + 40 = 167.75 s."""
    work = _bench("w.W.time_w", [("ray", 1), ("ray", 2), ("ray", 4), ("ray", 8), ("serial", 1)], 100.0)
    start = _bench("overhead.Startup.track_start", [("ray", 8)], 20.0)
    growth = _bench("overhead.StartGrowth.track_start_growth", [("ray", 8)], 40.0)
    starts.engine_starts([work, start, growth], {"ray": LINE}, 1.5, "once")
    assert (work.estimate_s, start.estimate_s) == (pytest.approx(98.0), pytest.approx(29.75))
    assert sum(b.estimate_s for b in (work, start, growth)) == pytest.approx(167.75)
    with pytest.raises(ValueError):
        starts.engine_starts([work], {}, 1.5, "sometimes")


def test_the_plans_range_follows_the_fits_range():
    """Two counts, (1, 1.0) and (2, 1.5): the line 0.5 + 0.5 n, reference 1.5 -> 1.25 s.
    One ray point at 8 workers on 10 s: 10 + 4.5 - 1.25 = 13.25 s; its range runs from
    10 + 1.5 - 1.25 = 10.25 s (flat) to 10 + 6 - 1.25 = 14.75 s (proportional)."""
    fit = starts.fit_start([(1, 1.0), (2, 1.5)])
    work = _bench("w.W.time_w", [("ray", 8)], 10.0)
    starts.engine_starts([work], {"ray": fit}, 1.5)
    assert work.estimate_s == pytest.approx(13.25)
    assert plan.span([work]) == (pytest.approx(10.25), pytest.approx(14.75))
    lines = plan.plan_lines([work], [])
    assert lines[-1].startswith("  range ~0m10s to ~0m15s")


def test_start_points_read_startgrowth_and_fill_in_from_startup(tmp_path):
    """StartGrowth measured dask at 1, 2, 4, 8 (1, 1.5, 2.5, 4.5: the line 0.5 + 0.5 n);
    Startup's dask at 2 (9 s, another session's figure) is left out where StartGrowth has
    the count; Startup's ray at 1 and 2 stands alone for ray; loky at 1 started nothing."""
    from test_forecast import write_results

    write_results(tmp_path, {
        starts.START_SERIES[0]: (["backend", "n_workers"], [["dask"], [1, 2, 4, 8]],
                                {("dask", 1): 1.0, ("dask", 2): 1.5, ("dask", 4): 2.5, ("dask", 8): 4.5}),
        starts.START_SERIES[1]: (["backend", "n_workers"], [["dask", "ray", "loky"], [1, 2]],
                                 {("dask", 2): 9.0, ("ray", 1): 3.0, ("ray", 2): 3.5,
                                  ("loky", 1): 0.0, ("loky", 2): 0.5})})
    found = starts.start_points(tmp_path / "m")
    assert sorted(found["dask"]) == [(1, 1.0), (2, 1.5), (4, 2.5), (8, 4.5)]
    assert sorted(found["ray"]) == [(1, 3.0), (2, 3.5)]
    assert found["loky"] == [(2, 0.5)]  # at one worker loky runs in the caller: no pool, no start
    fits = starts.start_fits(tmp_path / "m")
    assert (fits["dask"].a, fits["dask"].b) == (pytest.approx(0.5), pytest.approx(0.5))
    assert fits["ray"].at(8) == pytest.approx(6.5)  # 2.5 + 0.5 x 8


def test_engines_once_per_run_leave_loky_and_multiprocessing_starting_per_point():
    """Once per run covers Ray and Dask only: a loky point at 8 workers still pays its own
    start, 5 - 1.75 = 3.25 s more than recorded, on 10 s: 13.25 s."""
    work = _bench("w.W.time_w", [("loky", 8)], 10.0)
    starts.engine_starts([work], {"loky": LINE}, 1.5, "once")
    assert work.estimate_s == pytest.approx(13.25)


def test_costs_recorded_with_engines_once_shed_no_start(tmp_path):
    """Recorded under one cluster per run, a warm ray point's cost holds no start: planned
    once per run it stays 10 s and the run adds one start at 8 workers, 5 s (15 s); per
    point it pays its whole start at 8 workers, 5 s (15 s). Startup starts its own either
    way: 3 x (5 - 1.75) on 20 s. The mode is read from the newest sysinfo line."""
    for mode in ("once", "per-point"):
        work = _bench("w.W.time_w", [("ray", 8)], 10.0)
        start = _bench("overhead.Startup.track_start", [("ray", 8)], 20.0)
        starts.engine_starts([work, start], {"ray": LINE}, 1.5, mode, recorded="once")
        assert (work.estimate_s, start.estimate_s) == (pytest.approx(15.0), pytest.approx(29.75))
    (tmp_path / "sysinfo.jsonl").write_text('{"engines": "per-point"}\n{"engines": "once"}\n')
    assert starts.recorded_mode(tmp_path) == "once"
    assert starts.recorded_mode(tmp_path / "none") == "per-point"


def test_the_plans_engines_mode_is_configs_where_config_has_one(monkeypatch):
    """plan.make takes the mode as a parameter; by default it is config.engines()
    (PARBENCH_ENGINES), and per-point where config has no such setting."""
    from bench_lib import config

    monkeypatch.setattr(config, "engines", lambda: "once", raising=False)
    assert plan.engines_mode() == "once"
    monkeypatch.delattr(config, "engines")
    assert plan.engines_mode() == "per-point"
