"""The report's arithmetic on hand-made results (bench_lib.report, bench_lib.points):
every expected figure is written out here, not computed by the report."""

import json
import os

import pytest

from bench_lib import points, report, workloads

TIME = workloads.get("filter_bank").headline


def series(name, names, params, values, commit="c0ffee00"):
    return report.Series(name, names, params, values, commit)


def fixture_machine(records=(), ceiling=1.6):
    """filter_bank 5x5: serial 100 ms; threads n=2 50 ms naive; loky n=2 40 ms naive and
    80 ms shared (3x3 runs faster, and must not leak into the 5x5 table); a ceiling of
    ``ceiling`` at n=2 recorded at commit c0ffee00 (convolve2d's is 1.9)."""
    m = report.Machine("m")
    m.series[TIME] = series(TIME, ["backend", "n_workers", "variant", "filter_size"],
                            [["serial", "threads", "loky"], [1, 2], ["naive", "shared"], ["5x5", "3x3"]],
                            [0.100, 0.01, None, None, None, None, None, None,  # serial
                             None, None, None, None, 0.050, 0.005, None, None,  # threads
                             None, None, None, None, 0.040, 0.004, 0.080, 0.008])  # loky
    m.series[report.CEILING] = series(report.CEILING, ["workload", "n_workers"],
                                      [["convolve2d", "filter_bank"], [1, 2]], [1.0, 1.9, 1.0, ceiling])
    m.ceilings["c0ffee00"] = m.series[report.CEILING]
    m.points = list(records)
    return m


def record(backend, value, ci, time_s, variant="shared", commit="c0ffee00", **extra):
    return {"kind": "speedup", "workload": "filter_bank", "backend": backend, "n_workers": 2,
            "variant": variant, "value": value, "ci": ci, "pairs": 6, "time_s": time_s,
            "other_time_s": 0.1, "precise": True, "quiet": True, "commit": commit, "run": "r1", **extra}


def by_backend(table):
    return {(r.backend, r.n_workers): r for r in table}


def test_rows_from_times_take_the_fastest_variant_and_mark_the_speedup():
    table = by_backend(report.rows(fixture_machine(), "filter_bank"))
    loky = table[("loky", 2)]
    assert (loky.seconds, loky.variant, loky.measured) == (0.040, "naive", False)
    assert loky.speedup == pytest.approx(0.100 / 0.040)
    assert loky.efficiency is None  # no measured speedup: no efficiency drawn from times
    assert report.speedup_text(loky) == "2.50x*"
    assert [(r.backend, r.n_workers) for r in report.rows(fixture_machine(), "filter_bank")] == [
        ("serial", 1), ("loky", 2), ("threads", 2)]


def test_a_measured_point_gives_the_row_its_time_variant_speedup_and_interval():
    m = fixture_machine([record("loky", 1.25, [1.2, 1.3], 0.080)])
    loky = by_backend(report.rows(m, "filter_bank"))[("loky", 2)]
    # the shared variant's measurement, not the naive variant's faster asv time
    assert (loky.seconds, loky.variant, loky.speedup, loky.measured) == (0.080, "shared", 1.25, True)
    assert loky.speedup_ci == (1.2, 1.3)
    assert loky.efficiency == pytest.approx(1.25 / 1.6)
    assert loky.efficiency_ci == pytest.approx((1.2 / 1.6, 1.3 / 1.6))
    assert report.speedup_text(loky) == "1.25x ±0.05"


def test_efficiency_needs_the_ceiling_of_the_same_commit():
    m = fixture_machine([record("loky", 1.25, [1.2, 1.3], 0.080, commit="deadbeef")])
    loky = by_backend(report.rows(m, "filter_bank"))[("loky", 2)]
    assert loky.efficiency is None and loky.efficiency_ci is None


def test_efficiency_above_one_outside_its_interval_says_why():
    m = fixture_machine([record("loky", 1.9, [1.7, 2.1], 0.05)])
    loky = by_backend(report.rows(m, "filter_bank"))[("loky", 2)]
    assert loky.efficiency_ci[0] == pytest.approx(1.7 / 1.6) and "above the ceiling" in loky.reason
    m = fixture_machine([record("loky", 1.65, [1.5, 1.8], 0.05)])  # interval reaches below 1
    assert by_backend(report.rows(m, "filter_bank"))[("loky", 2)].reason == ""


def test_marks_for_imprecise_and_noisy_points():
    m = fixture_machine([record("loky", 1.25, [1.0, 1.5], 0.08, precise=False, quiet=False)])
    loky = by_backend(report.rows(m, "filter_bank"))[("loky", 2)]
    assert report.speedup_text(loky) == "1.25x ±0.25~!"
    one_pair = fixture_machine([record("loky", 1.25, [None, None], 0.08)])
    assert report.speedup_text(by_backend(report.rows(one_pair, "filter_bank"))[("loky", 2)]) == "1.25x"


def test_newer_point_replaces_an_older_one():
    m = fixture_machine([record("loky", 1.25, [1.2, 1.3], 0.08), record("loky", 1.5, [1.4, 1.6], 0.066)])
    assert by_backend(report.rows(m, "filter_bank"))[("loky", 2)].speedup == 1.5


def test_recommendation_names_a_tie_when_intervals_overlap():
    m = fixture_machine([record("loky", 1.25, [1.15, 1.35], 0.08), record("threads", 1.2, [1.1, 1.3], 0.083)])
    text = report.recommend(m, "filter_bank", report.rows(m, "filter_bank"))
    assert text.startswith("tie: loky (n_workers=2, shared): 80.0 ms, 1.25x ±0.10 over serial")
    assert "; threads 1.20x ±0.10 (intervals overlap)" in text
    m.points.append(record("ray", 1.16, [1.0, 1.32], 0.086))  # a third overlapping one joins the tie
    m.points.append(record("dask", 0.5, [0.45, 0.55], 0.2))  # one that does not, stays out
    text = report.recommend(m, "filter_bank", report.rows(m, "filter_bank"))
    assert "; threads 1.20x ±0.10; ray 1.16x ±0.16 (intervals overlap)" in text and "dask 0.50x ±0.05 (" not in text


def test_recommendation_without_overlap_is_no_tie_and_serial_wins_below_one():
    m = fixture_machine([record("loky", 1.5, [1.45, 1.55], 0.066), record("threads", 1.2, [1.1, 1.3], 0.083)])
    text = report.recommend(m, "filter_bank", report.rows(m, "filter_bank"))
    assert text.startswith("loky (n_workers=2, shared): 66.0 ms, 1.50x ±0.05 over serial's 100.0 ms, 94% of the machine's")
    m = fixture_machine([record("loky", 0.8, [0.7, 0.9], 0.125), record("threads", 0.9, [0.85, 0.95], 0.11)])
    assert report.recommend(m, "filter_bank", report.rows(m, "filter_bank")).startswith("serial (n_workers=1")
    assert report.recommend(m, "filter_bank", []) == "no results"


def test_tied_needs_both_intervals():
    a = report.Row("a", 2, 1.0, "v", 1.2, True, speedup_ci=(1.1, 1.3))
    b = report.Row("b", 2, 1.0, "v", 1.2, True)
    assert not report.tied(a, b) and not report.tied(b, a)
    assert report.tied(a, report.Row("c", 2, 1.0, "v", 1.4, True, speedup_ci=(1.3, 1.5)))
    assert not report.tied(a, report.Row("c", 2, 1.0, "v", 1.4, True, speedup_ci=(1.31, 1.5)))


def test_point_objects_carry_every_field_of_each_run():
    m = fixture_machine([record("loky", 1.25, [1.2, 1.3], 0.08, discarded=2),
                         record("loky", 1.5, [1.4, 1.6], 0.066, run="r2")])
    objs = report.point_objects([m])
    assert [o["run"] for o in objs] == ["r1", "r2"]  # both runs, not only the newest
    assert objs[0] == {
        "machine": "m", "commit": "c0ffee00", "run": "r1", "workload": "filter_bank", "backend": "loky",
        "n_workers": 2, "variant": "shared", "time_s": 0.08, "serial_time_s": 0.1, "speedup": 1.25,
        "speedup_ci": [1.2, 1.3], "efficiency": pytest.approx(1.25 / 1.6),
        "efficiency_ci": [pytest.approx(0.75), pytest.approx(1.3 / 1.6)], "efficiency_reason": None,
        "pairs": 6, "precise": True, "quiet": True, "discarded": 2}


def test_machine_ceiling_lookups():
    m = fixture_machine([record("loky", 1.25, [1.2, 1.3], 0.08)])
    assert m.ceiling("filter_bank", 2) == 1.6 and m.ceiling("filter_bank", 2, "c0ffee00ab") == 1.6
    assert m.ceiling("filter_bank", 2, "deadbeef") is None
    assert report.Machine("empty").ceiling("filter_bank", 2) is None


def test_render_shows_intervals_and_the_legend():
    m = fixture_machine([record("loky", 1.25, [1.2, 1.3], 0.08)])
    text = report.render([m])
    [line] = [ln for ln in text.splitlines() if ln.startswith("loky")]
    assert "80.0 ms" in line and "1.25x ±0.05" in line and "78%" in line
    assert "half the 95% interval" in text and "runs r1" in text


def test_points_file_round_trip_and_a_cut_last_line(tmp_path, monkeypatch):
    path = tmp_path / "points.jsonl"
    assert not points.write({"kind": "speedup"})  # no run: nothing written
    monkeypatch.setenv("PARBENCH_POINTS", str(path))
    monkeypatch.setenv("PARBENCH_RUN", "r9")
    monkeypatch.setenv("PARBENCH_COMMIT", "abc12345")
    monkeypatch.setenv("PARBENCH_MACHINE", "box")
    assert points.write({"kind": "speedup", "value": 2.0})
    assert points.write({"kind": "gap", "value": 1.5}, path)
    with open(path, "a") as f:
        f.write('{"kind": "speedup", "val')  # a run killed mid-line
    records, bad = points.read(path)
    assert bad == 1
    assert records == [{"machine": "box", "commit": "abc12345", "run": "r9", "kind": "speedup", "value": 2.0},
                       {"machine": "box", "commit": "abc12345", "run": "r9", "kind": "gap", "value": 1.5}]
    path.write_text('{"cut\n\n{"a": 1}\n{"cut again\n{"b": 2}\n[1, 2]\n')
    assert points.read(path) == ([{"a": 1}, {"b": 2}], 3)
    assert points.read(tmp_path / "none.jsonl") == ([], 0)
    with pytest.raises(ValueError):
        points.write({"value": float("nan")})
    assert json.loads(path.read_text().splitlines()[-2]) == {"b": 2}


def test_this_runs_records_are_its_own_from_its_file_or_the_one_beside_it(tmp_path, monkeypatch):
    """What a run reads back (its points, its traces) is what it wrote, in order: another
    run's lines, in either file, are not; outside a run there is nothing to read."""
    lines = {"runs.jsonl": [{"run": "r1", "kind": "speedup"}, {"run": "r2", "kind": "speedup"}, {"run": "r1", "kind": "gap"}],
             "traces.jsonl": [{"run": "r2", "kind": "trace"}, {"run": "r1", "kind": "trace", "n": 1},
                              {"run": "r1", "kind": "trace", "n": 2}]}
    for name, records in lines.items():
        (tmp_path / name).write_text("".join(json.dumps(r) + "\n" for r in records) + '{"run": "r1", "cut')
    monkeypatch.delenv("PARBENCH_RUN", raising=False)
    monkeypatch.setenv("PARBENCH_POINTS", str(tmp_path / "runs.jsonl"))
    assert points.of_this_run() == [] and points.of_this_run("traces.jsonl") == []
    monkeypatch.setenv("PARBENCH_RUN", "r1")
    assert points.of_this_run() == [{"run": "r1", "kind": "speedup"}, {"run": "r1", "kind": "gap"}]
    assert points.of_this_run("traces.jsonl") == [{"run": "r1", "kind": "trace", "n": 1}, {"run": "r1", "kind": "trace", "n": 2}]
    assert points.of_this_run("none.jsonl") == []
    monkeypatch.delenv("PARBENCH_POINTS")
    assert points.of_this_run() == []


def test_points_context_outside_a_run_is_empty_and_files_are_world_readable(tmp_path, monkeypatch):
    for name in ("PARBENCH_MACHINE", "PARBENCH_COMMIT", "PARBENCH_RUN"):
        monkeypatch.delenv(name, raising=False)
    assert points.context() == {"machine": "", "commit": "", "run": ""}
    old = os.umask(0o022)
    try:
        points.write({"kind": "gap"}, tmp_path / "new.jsonl")
    finally:
        os.umask(old)
    assert (tmp_path / "new.jsonl").stat().st_mode & 0o777 == 0o644


def with_overheads(m):
    """Overheads at n=2 written out: loky start 0.9 s, scipy import 1.5 s, tensorflow 6 s,
    0.1 ms per task reused, 2 ms on a new pool, 250 MB/s for 10 MB; threads start 1 ms;
    naive/shared gap 1.5 on loky."""
    m.info = {"cpu_model": "TestCPU", "physical_cores": 2, "logical_cpus": 2, "memory_bytes": 2**34,
              "threads_per_worker": 1}
    m.series[report.START] = series(report.START, ["backend", "n_workers"], [["threads", "loky"], [1, 2]],
                                    [None, 0.001, None, 0.9])
    m.series[report.IMPORTS] = series(report.IMPORTS, ["backend", "n_workers", "modules"],
                                      [["loky"], [2], ["scipy", "tensorflow"]], [1.5, 6.0])
    m.series[report.PER_TASK] = series(report.PER_TASK, ["backend", "n_workers", "pool"],
                                       [["loky"], [2], ["reused", "per-call"]], [0.0001, 0.002])
    m.series[report.TRANSFER] = series(report.TRANSFER, ["backend", "path", "megabytes"],
                                       [["loky"], ["normal", "shared"], [1, 10]], [900.0, 250.0, 5.0, 6.0])
    m.series[report.GAP] = series(report.GAP, ["workload", "backend", "n_workers"],
                                  [["filter_bank"], ["loky"], [2]], [1.5])
    return m


def test_overheads_by_hand():
    m = with_overheads(fixture_machine())
    assert report.overheads(m, "filter_bank", "loky", 2) == report.Overheads(
        start_s=0.9, import_s=1.5, per_task_ms=pytest.approx(0.1), new_pool_per_task_ms=pytest.approx(2.0),
        transfer_mb_per_s=250.0)
    assert report.overheads(m, "model_inference", "loky", 2).import_s == 6.0
    assert report.overheads(m, "filter_bank", "threads", 2) == report.Overheads(start_s=0.001)
    assert report.overheads(m, "filter_bank", "loky", 1) == report.Overheads(transfer_mb_per_s=250.0)


def test_render_by_hand():
    m = with_overheads(fixture_machine([record("loky", 1.25, [1.2, 1.3], 0.080)], ceiling=1.5))
    text = report.render([m])
    assert text.endswith("runs r1)\n")
    lines = text.splitlines()
    assert lines[0] == "== machine m: TestCPU, 2 cores / 2 CPUs, 16 GiB, 1 BLAS thread(s) per worker"
    assert lines[1:3] == ["", "-- filter_bank (filter_size=5x5)   [filter_bank.FilterBank.time_filter_bank]"]
    assert lines[3].split() == ["backend", "n", "variant", "time", "serial", "speedup", "effic.", "start", "s", "import",
                                "s", "task", "ms", "new-pool", "MB/s"]
    assert [ln.split() for ln in lines[4:7]] == [
        ["serial", "1", "naive", "100.0", "ms", "100.0", "ms", "1.00x*", "-", "-", "-", "-", "-", "-"],
        ["threads", "2", "naive", "50.0", "ms", "100.0", "ms", "2.00x*", "-", "0.001", "-", "-", "-", "-"],
        ["loky", "2", "shared", "80.0", "ms", "100.0", "ms", "1.25x", "±0.05", "83%", "0.900", "1.500", "0.100",
         "2.00", "250"]]
    assert lines[7] == ("recommended: threads (n_workers=2, naive): 50.0 ms, 2.00x* over serial's 100.0 ms -- the machine "
                        "allows only 1.50x on 2 cores (memory-bound); loky reaches 1.25x ±0.05 (largest "
                        "overhead: import 1.5 s)")
    assert lines[8:] == ["", "(serial: the serial loop's time for the row's work, in the measurement its speedup "
                         "comes from; speedup ±: half the 95% interval of paired rounds; * from separate runs' times, "
                         "not measured interleaved; ~ imprecise: the time cap came before ±3%; ! measured beside "
                         "foreign load; results of commits c0ffee00; runs r1)"]
    assert report.render([report.Machine("bare")]).splitlines()[0] == (
        "== machine bare: ?, ? cores / ? CPUs, ?, ? BLAS thread(s) per worker")


def test_recommendation_by_hand_with_every_reason():
    m = with_overheads(fixture_machine([record("loky", 2.5, [2.4, 2.6], 0.040)], ceiling=1.5))
    text = report.recommend(m, "filter_bank", report.rows(m, "filter_bank"))
    assert text == ("loky (n_workers=2, shared): 40.0 ms, 2.50x ±0.10 over serial's 100.0 ms, 167% of the machine's "
                    "ceiling -- the machine allows only 1.50x on 2 cores (memory-bound); above the ceiling, "
                    "whose copies each build their own inputs and run all the items: each worker of this "
                    "backend runs part of them, a smaller working set (a cache effect); naive use is 1.5x "
                    "slower here: place the input once; threads "
                    "reaches 2.00x* (largest overhead: start 0.001 s)")


def test_no_memory_bound_reason_at_the_bound_and_no_gap_reason_at_1_2():
    m = with_overheads(fixture_machine([record("loky", 1.25, [1.2, 1.3], 0.080)], ceiling=1.6))
    m.series[report.GAP].values = [1.2]
    m.points.append(record("loky", 2.5, [2.4, 2.6], 0.040))
    text = report.recommend(m, "filter_bank", report.rows(m, "filter_bank"))
    assert "memory-bound" not in text and "naive use" not in text


def test_weak_scaling_rows_count_the_work_of_every_worker():
    name = workloads.get("model_inference").headline
    m = report.Machine("m")
    m.series[name] = series(name, ["backend", "n_workers", "variant", "pinned"],
                            [["serial", "loky"], [1, 2], ["per-worker"], [False, True]],
                            [4.0, 1.0, None, None, None, None, 4.0, 1.0])
    rows = by_backend(report.rows(m, "model_inference"))
    assert rows[("loky", 2)].speedup == pytest.approx(2.0)  # 2 batches in the time of one
    assert rows[("serial", 1)].seconds == 4.0  # pinned=True is not this table's


def test_equal_times_keep_the_first_variant_and_a_series_without_variants_has_none():
    m = fixture_machine()
    m.series[TIME].values[20:24] = [0.05, None, 0.05, None]
    assert by_backend(report.rows(m, "filter_bank"))[("loky", 2)].variant == "naive"
    name = workloads.get("volume_gaussian").headline
    m.series[name] = series(name, ["backend", "n_workers"], [["serial"], [1]], [2.0])
    [row] = report.rows(m, "volume_gaussian")
    assert (row.variant, row.seconds, row.speedup) == ("", 2.0, 1.0)
    assert report.rows(m, "interpolators") == []


def test_measured_row_defaults_and_an_efficiency_exactly_at_one():
    rec = record("loky", 1.5, [1.5, 1.8], 0.05)
    del rec["pairs"]
    row = report.measured_row(fixture_machine(ceiling=1.5), rec)
    assert row.pairs == 0 and row.efficiency_ci[0] == pytest.approx(1.0) and row.reason == ""
    bare = {k: v for k, v in record("loky", 1.5, [None, None], 0.05).items() if k not in ("commit", "run")}
    [obj] = report.point_objects([fixture_machine([bare])])
    assert (obj["commit"], obj["run"], obj["discarded"]) == ("", "", 0)
    assert obj["speedup_ci"] is None and obj["efficiency_ci"] is None
    assert obj["efficiency"] == pytest.approx(1.5 / 1.6)  # no commit: the ceiling at hand
    assert report.point_objects([fixture_machine([{"kind": "gap", "workload": "filter_bank"}])]) == []


def test_ci_needs_both_bounds():
    assert report._ci({"ci": [1.0, 2.0]}) == (1.0, 2.0)
    assert report._ci({"ci": [None, 2.0]}) is None and report._ci({"ci": [1.0, None]}) is None
    assert report._ci({}) is None


def test_ceiling_is_looked_up_per_workload():
    m = fixture_machine()
    assert m.ceiling("convolve2d", 2) == 1.9 and m.ceiling("filter_bank", 2) == 1.6


def test_seconds_and_missing_values_by_hand():
    assert report._s(0.0123) == "12.3 ms" and report._s(1.0) == "1.00 s" and report._s(1.5) == "1.50 s"
    assert report._fmt(None, ".2f") == "-" and report._fmt(0.5, ".0%") == "50%"


def table_of(*rows):
    return [report.Row(b, n, t, "v", sp, measured, speedup_ci=ci, overheads=o or report.Overheads())
            for b, n, t, sp, measured, ci, o in rows]


def test_the_loop_wins_when_no_backend_beats_it_and_other_reasons_are_given():
    m = report.Machine("m")
    table = table_of(("serial", 1, 0.1, 1.0, False, None, None), ("loky", 2, 0.2, 0.5, False, None, None))
    assert report.recommend(m, "filter_bank", table) == (
        "serial (n_workers=1, v): 100.0 ms, 1.00x* over serial -- no backend beats the loop; loky reaches 0.50x*")


def test_a_lone_backend_without_reasons_has_no_dash():
    m = report.Machine("m")
    table = table_of(("serial", 1, 0.1, 1.0, False, None, None), ("loky", 2, 0.05, 2.0, True, (1.9, 2.1), None))
    assert report.recommend(m, "filter_bank", table) == "loky (n_workers=2, v): 50.0 ms, 2.00x ±0.10 over serial"


def test_unknown_speedups_rank_last_and_fewer_workers_are_not_candidates():
    m = report.Machine("m")
    table = table_of(("threads", 2, 0.05, None, False, None, None), ("loky", 2, 0.2, 0.8, True, None, None),
                     ("dask", 1, 0.01, 9.0, True, None, None))
    assert report.recommend(m, "filter_bank", table).startswith("loky (n_workers=2, v): 200.0 ms, 0.80x over")


def test_two_others_at_most_and_the_largest_overhead_in_its_own_unit():
    m = report.Machine("m")
    slow_tasks = report.Overheads(start_s=0.9, import_s=0.1, per_task_ms=500.0)
    table = table_of(("serial", 1, 0.1, 1.0, False, None, None), ("loky", 2, 0.05, 2.0, False, None, None),
                     ("a", 2, 0.06, 1.7, False, None, slow_tasks),
                     ("b", 2, 0.07, 1.5, False, None,
                      report.Overheads(start_s=0.1, per_task_ms=900.0, transfer_mb_per_s=1e9)),
                     ("c", 2, 0.08, 1.4, False, None, None))
    text = report.recommend(m, "filter_bank", table)
    assert text.endswith("-- a reaches 1.70x* (largest overhead: start 0.9 s); "
                         "b reaches 1.50x* (largest overhead: per-task 900 ms)")


def test_gap_is_read_for_this_workload_at_the_most_workers():
    m = with_overheads(fixture_machine([record("loky", 2.5, [2.4, 2.6], 0.040)], ceiling=1.9))
    m.series[report.GAP] = series(report.GAP, ["workload", "backend", "n_workers"],
                                  [["convolve2d", "filter_bank"], ["loky"], [1, 2]], [3.0, 3.0, 3.0, 1.1])
    text = report.recommend(m, "filter_bank", report.rows(m, "filter_bank"))
    assert "naive use" not in text


def test_render_of_a_workload_without_fixed_parameters_and_of_several_commits_and_runs():
    m = report.Machine("m")
    name = workloads.get("volume_gaussian").headline
    m.series[name] = series(name, ["backend", "n_workers"], [["serial"], [1]], [2.0], commit="aaaa0000")
    m.series[TIME] = series(TIME, ["backend", "n_workers"], [["serial"], [1]], [None], commit="bbbb0000")
    m.points = [{"kind": "gap", "run": "r2"}, {"kind": "gap"}, {"kind": "gap", "run": ""}, {"kind": "gap", "run": "r1"}]
    text = report.render([m])
    assert "\n-- volume_gaussian   [volume_gaussian.VolumeGaussian.time_volume_gaussian]\n" in text
    assert "-- filter_bank" not in text
    assert text.endswith("results of commits aaaa0000, bbbb0000; runs r1, r2)\n")
    m.points = [{"kind": "gap", "run": ""}]
    assert report.render([m]).endswith("results of commits aaaa0000, bbbb0000)\n")
    # a series merged from two commits names both, not only its newest
    m.series[TIME] = report.Series(TIME, ["backend", "n_workers"], [["serial"], [1, 2]], [None, 1.0],
                                   "dddd0000", commits=["cccc0000", "dddd0000"])
    assert report.render([m]).endswith("results of commits aaaa0000, cccc0000, dddd0000)\n")


def test_rows_skip_other_records_and_keep_series_without_the_fixed_parameter():
    m = fixture_machine([record("loky", 1.25, [1.2, 1.3], 0.080)])
    m.points.insert(0, {"kind": "gap", "workload": "filter_bank"})
    m.points.insert(0, {**record("threads", 9.0, [8.0, 10.0], 0.01), "workload": "convolve2d"})
    table = by_backend(report.rows(m, "filter_bank"))
    assert table[("loky", 2)].speedup == 1.25 and table[("threads", 2)].speedup == pytest.approx(2.0)
    m.series[TIME] = series(TIME, ["backend", "n_workers"], [["serial"], [1]], [0.1])  # no filter_size axis
    assert [r.seconds for r in report.rows(m, "filter_bank")] == [0.1, 0.08]
    assert [(o["workload"], o["backend"]) for o in report.point_objects([m])] == [
        ("convolve2d", "threads"), ("filter_bank", "loky")]


def test_model_inference_rows_show_the_tensorflow_import():
    name = workloads.get("model_inference").headline
    m = with_overheads(report.Machine("m"))
    m.series[name] = series(name, ["backend", "n_workers", "variant", "pinned"],
                            [["serial", "loky"], [1, 2], ["per-worker"], [False]], [4.0, None, None, 4.0])
    rows = by_backend(report.rows(m, "model_inference"))
    assert rows[("loky", 2)].overheads.import_s == 6.0
    rec = {**record("loky", 1.9, [1.8, 2.0], 4.2), "workload": "model_inference"}
    assert report.measured_row(m, rec).overheads.import_s == 6.0


def test_overheads_pick_their_own_pool_and_path():
    m = with_overheads(fixture_machine())
    m.series[report.PER_TASK] = series(report.PER_TASK, ["backend", "n_workers", "pool"],
                                       [["loky"], [2], ["per-call", "reused"]], [0.002, 0.0001])
    m.series[report.TRANSFER] = series(report.TRANSFER, ["backend", "path", "megabytes"],
                                       [["loky"], ["shared", "normal"], [10]], [5.0, 250.0])
    got = report.overheads(m, "filter_bank", "loky", 2)
    assert got.per_task_ms == pytest.approx(0.1) and got.new_pool_per_task_ms == pytest.approx(2.0)
    assert got.transfer_mb_per_s == 250.0


def test_speedup_text_of_nothing_and_touching_intervals():
    assert report.speedup_text(report.Row("a", 1, 1.0, "v")) == "-"
    a = report.Row("a", 2, 1.0, "v", 1.2, True, speedup_ci=(1.1, 1.3))
    c = report.Row("c", 2, 1.0, "v", 1.4, True, speedup_ci=(1.3, 1.5))
    assert report.tied(c, a) and report.tied(a, c)


def test_run_quiet_sums_one_runs_points(tmp_path):
    path = tmp_path / "points.jsonl"
    lines = [{"run": "r1", "precise": True, "quiet": True, "discarded": 2, "foreign_cores_max": 0.25},
             {"run": "r1", "precise": False, "quiet": False, "discarded": 5, "foreign_cores_max": 0.7},
             {"run": "r1", "kind": "ceiling"},  # no guard record: counts as a point, quiet and precise
             {"run": "r2", "precise": False, "quiet": False, "discarded": 100, "foreign_cores_max": 1.9},
             # asv's sample windows: counted by combination apart from the points (b's first
             # window and two loud ones are one combination); their cores count beyond the two
             # 10 ms ticks the clock cannot resolve: 0.9 cores over 1 s is 0.88, the run's most
             {"run": "r1", "kind": "window", "benchmark": "x.X", "params": {"n": 1}, "quiet": True,
              "foreign_cores": 0.01, "wall_s": 1.0},
             {"run": "r1", "kind": "window", "benchmark": "x.X", "params": {"n": 2}, "quiet": True,
              "foreign_cores": 0.0, "wall_s": 1.0},
             {"run": "r1", "kind": "window", "benchmark": "x.X", "params": {"n": 2}, "quiet": False,
              "foreign_cores": 0.9, "wall_s": 1.0},
             {"run": "r1", "kind": "window", "benchmark": "x.X", "params": {"n": 2}, "quiet": False,
              "foreign_cores": 0.3, "wall_s": 1.0},
             # one tick in 2 ms reads as 5 cores: within the clock's resolution, 0
             {"run": "r1", "kind": "window", "benchmark": "x.X", "params": {"n": 2}, "quiet": True,
              "foreign_cores": 5.0, "wall_s": 0.002},
             {"run": "r2", "kind": "window", "benchmark": "x.X", "params": {"n": 3}, "quiet": False,
              "foreign_cores": 1.5, "wall_s": 1.0},
             # r4: the points' most (0.8) beats the windows'; another benchmark with the same
             # parameters is another combination; a window without fields counts as quiet
             {"run": "r4", "foreign_cores_max": 0.8},
             {"run": "r4", "kind": "window", "benchmark": "x.X", "params": {"n": 1}, "foreign_cores": 0.31234,
              "wall_s": 1.0},
             {"run": "r4", "kind": "window", "benchmark": "y.Y", "params": {"n": 1}, "quiet": False},
             {"run": "r4", "kind": "window"},
             # a window missing its cores, or its wall, shows no foreign load
             {"run": "r4", "kind": "window", "benchmark": "x.X", "params": {"n": 1}, "wall_s": 1.0},
             {"run": "r4", "kind": "window", "benchmark": "x.X", "params": {"n": 1}, "foreign_cores": 2.0},
             # 0.31234 cores over 0.5 s: (0.15617 - 0.02) / 0.5 = 0.27234
             {"run": "r5", "kind": "window", "benchmark": "x.X", "params": {"n": 1}, "foreign_cores": 0.31234,
              "wall_s": 0.5}]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines) + '{"run": "r1", "cut')
    assert points.run_quiet(path, "r1") == {"points": 3, "imprecise": 1, "not_quiet": 1, "discarded_samples": 7,
                                            "windows": 2, "windows_not_quiet": 1, "foreign_cores_max": 0.88}
    assert points.run_quiet(path, "r3") == {"points": 0, "imprecise": 0, "not_quiet": 0, "discarded_samples": 0,
                                            "windows": 0, "windows_not_quiet": 0, "foreign_cores_max": 0.0}
    assert points.run_quiet(path, "r4") == {"points": 1, "imprecise": 0, "not_quiet": 0, "discarded_samples": 0,
                                            "windows": 3, "windows_not_quiet": 1, "foreign_cores_max": 0.8}
    assert points.run_quiet(path, "r5")["foreign_cores_max"] == 0.272  # rounded to 3 decimals


def test_every_rows_speedup_is_its_serial_time_over_its_time():
    """A row is read alone: asv rows divide asv's serial time (n times it for weak scaling),
    a measured row the serial loop's time of its own rounds -- never another row's."""
    m = fixture_machine([record("loky", 1.25, [1.2, 1.3], 0.080)])
    table = by_backend(report.rows(m, "filter_bank"))
    assert (table[("serial", 1)].serial_s, table[("threads", 2)].serial_s) == (0.100, 0.100)
    assert table[("loky", 2)].serial_s == 0.1  # the record's other_time_s, not the serial row's
    assert [ln.split()[5:7] for ln in report.render([m]).splitlines()[4:7]] == [["100.0", "ms"]] * 3
    name = workloads.get("model_inference").headline
    weak = report.Machine("w")
    weak.series[name] = series(name, ["backend", "n_workers", "variant", "pinned"],
                               [["serial", "loky"], [1, 2], ["per-worker"], [False]], [4.0, None, None, 2.5])
    loky = by_backend(report.rows(weak, "model_inference"))[("loky", 2)]
    assert (loky.serial_s, loky.speedup) == (8.0, pytest.approx(3.2))  # two batches: 8 s serial, 8 / 2.5
    alone = report.Machine("a")  # no serial run: no serial time, no speedup, shown as missing
    alone.series[TIME] = series(TIME, ["backend", "n_workers", "variant", "filter_size"],
                                [["loky"], [2], ["naive"], ["5x5"]], [0.040])
    assert report.render([alone]).splitlines()[4].split()[3:7] == ["40.0", "ms", "-", "-"]


def test_a_loud_load_window_marks_its_asv_row_and_only_at_its_own_commit():
    """asv's samples cannot be retaken, but their combination's window says whether the
    machine was quiet over them: a loud one puts ! on that row's speedup."""
    def window(backend, n, variant, quiet, commit="c0ffee00ffff"):
        return {"kind": "window", "benchmark": "filter_bank.FilterBank", "commit": commit, "quiet": quiet,
                "params": {"backend": backend, "n_workers": n, "variant": variant, "filter_size": "5x5"}}

    m = fixture_machine([window("threads", 2, "naive", False), window("serial", 1, "naive", True),
                         window("loky", 2, "naive", False, commit="0therc0mmit")])
    table = by_backend(report.rows(m, "filter_bank"))
    assert report.speedup_text(table[("threads", 2)]) == "2.00x*!"  # 100 ms / 50 ms, beside foreign load
    assert report.speedup_text(table[("serial", 1)]) == "1.00x*"
    assert report.speedup_text(table[("loky", 2)]) == "2.50x*"  # another commit's window is not this time's
    later = fixture_machine([window("threads", 2, "naive", False), window("threads", 2, "naive", True)])
    assert by_backend(report.rows(later, "filter_bank"))[("threads", 2)].quiet  # the newest window wins


def test_a_window_is_found_by_its_commits_first_8_characters_and_its_parameters():
    m = report.Machine("m", points=[
        {"kind": "window", "benchmark": "filter_bank.FilterBank", "commit": "c0ffee00", "params": {"n": 2}, "quiet": False},
        {"kind": "window", "benchmark": "filter_bank.FilterBank", "commit": "c0ffee00", "quiet": True}])
    assert m.window(TIME, {"n_workers": 2}, "c0ffee00ffff") is None  # other parameters
    assert m.window(TIME, {"n": "2"}, "c0ffee00ffff")["quiet"] is False  # "2" and 2 are one parameter
    assert m.window(TIME, {}, "c0ffee00")["quiet"] is True  # a window without parameters: the empty set
    assert m.window(TIME, {"n": 2}, "c0ffee01") is None
