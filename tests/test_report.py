"""The report's arithmetic on hand-made results (bench_lib.publish.report, bench_lib.results.points):
every expected figure is written out here, not computed by the report."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench_lib import workloads
from bench_lib.measure import windows
from bench_lib.publish import findings, report, verdict
from bench_lib.results import points

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








def test_point_objects_carry_every_field_of_each_run():
    m = fixture_machine([record("loky", 1.25, [1.2, 1.3], 0.08, discarded=2),
                         record("loky", 1.5, [1.4, 1.6], 0.066, run="r2", malloc="fixed",
                                faults={"top": {"minor": [3, 1, 2]}, "bottom": {"minor": [10, 30, 20, 40]}})])
    objs = report.point_objects([m])
    assert [o["run"] for o in objs] == ["r1", "r2"]  # both runs, not only the newest
    assert (objs[1]["malloc"], objs[1]["minor_faults_median"]) == ("fixed", {"loop": 2, "backend": 25})
    assert objs[0] == {
        "machine": "m", "commit": "c0ffee00", "run": "r1", "workload": "filter_bank", "backend": "loky",
        "n_workers": 2, "variant": "shared", "time_s": 0.08, "serial_time_s": 0.1, "speedup": 1.25,
        "speedup_ci": [1.2, 1.3], "efficiency": pytest.approx(1.25 / 1.6),
        "efficiency_ci": [pytest.approx(0.75), pytest.approx(1.3 / 1.6)], "efficiency_reason": None,
        "pairs": 6, "precise": True, "quiet": True, "discarded": 2, "malloc": "default",
        "minor_faults_median": None}


def test_machine_ceiling_lookups():
    m = fixture_machine([record("loky", 1.25, [1.2, 1.3], 0.08)])
    assert m.ceiling("filter_bank", 2) == 1.6 and m.ceiling("filter_bank", 2, "c0ffee00ab") == 1.6
    assert m.ceiling("filter_bank", 2, "deadbeef") is None
    assert report.Machine("empty").ceiling("filter_bank", 2) is None




def measured(kind, value):
    """A point with every field points.jsonl requires of it (bench_lib.results.records), made up."""
    return {"kind": kind, "workload": "filter_bank", "backend": "loky", "n_workers": 2, "variant": "naive",
            "value": value, "ci": [value - 0.1, value + 0.1], "half_width": 0.05, "pairs": 4, "time_s": 0.1,
            "other_time_s": 0.1 / value, "samples_s": {"top": [], "bottom": []}, "precise": True, "stopped": "precise",
            "discarded": 0, "noisy": 0, "quiet": True, "foreign_cores_max": 0.0, "malloc": "fixed"}


def test_points_file_round_trip_and_a_cut_last_line(tmp_path, monkeypatch):
    path = tmp_path / "points.jsonl"
    monkeypatch.setattr(points, "engines", lambda: {"ray": "9.1", "dask": None})  # the stack, written out
    assert not points.write(measured("speedup", 2.0))  # no run: nothing written
    monkeypatch.setenv("PARBENCH_POINTS", str(path))
    monkeypatch.setenv("PARBENCH_RUN", "r9")
    monkeypatch.setenv("PARBENCH_COMMIT", "abc12345")
    monkeypatch.setenv("PARBENCH_MACHINE", "box")
    assert points.write(measured("speedup", 2.0))
    assert points.write(measured("gap", 1.5), path)
    with open(path, "a") as f:
        f.write('{"kind": "speedup", "val')  # a run killed mid-line
    records, bad = points.read(path)
    assert bad == 1
    stack = {"ray": "9.1", "dask": None}
    assert records == [{"machine": "box", "commit": "abc12345", "run": "r9", "engines": stack, **measured("speedup", 2.0)},
                       {"machine": "box", "commit": "abc12345", "run": "r9", "engines": stack, **measured("gap", 1.5)}]
    path.write_text('{"cut\n\n{"a": 1}\n{"cut again\n{"b": 2}\n[1, 2]\n')
    assert points.read(path) == ([{"a": 1}, {"b": 2}], 3)
    assert points.read(tmp_path / "none.jsonl") == ([], 0)
    with pytest.raises(ValueError):
        points.write(measured("speedup", float("nan")))
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
    monkeypatch.setattr(points, "engines", lambda: {"joblib": "1.0"})
    assert points.context() == {"machine": "", "commit": "", "run": "", "engines": {"joblib": "1.0"}}
    old = os.umask(0o022)
    try:
        points.write(measured("gap", 1.5), tmp_path / "points.jsonl")
    finally:
        os.umask(old)
    assert (tmp_path / "points.jsonl").stat().st_mode & 0o777 == 0o644


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
    assert windows.run_quiet(path, "r1") == {"points": 3, "imprecise": 1, "not_quiet": 1, "discarded_samples": 7,
                                            "windows": 2, "windows_not_quiet": 1, "foreign_cores_max": 0.88}
    assert windows.run_quiet(path, "r3") == {"points": 0, "imprecise": 0, "not_quiet": 0, "discarded_samples": 0,
                                            "windows": 0, "windows_not_quiet": 0, "foreign_cores_max": 0.0}
    assert windows.run_quiet(path, "r4") == {"points": 1, "imprecise": 0, "not_quiet": 0, "discarded_samples": 0,
                                            "windows": 3, "windows_not_quiet": 1, "foreign_cores_max": 0.8}
    assert windows.run_quiet(path, "r5")["foreign_cores_max"] == 0.272  # rounded to 3 decimals




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


# -- the verdict (bench_lib.publish.verdict): every expected sentence written out by hand ---------------
def verdict_of(m, workload="filter_bank"):
    return verdict.verdict(m, workload, report.rows(m, workload), report.table_run(m, workload))


def test_the_verdict_recommends_the_leader_and_its_ties_above_one_never_one_below():
    """dask's interval (0.80-1.18) overlaps the leader's (1.15-1.35) but its estimate is
    below 1: it is named no faster than the loop, never as fast."""
    m = fixture_machine([record("loky", 1.25, [1.15, 1.35], 0.080), record("threads", 1.2, [1.1, 1.3], 0.083),
                         record("dask", 0.99, [0.8, 1.18], 0.101), record("multiprocessing", 0.5, [0.45, 0.55], 0.2)])
    got = verdict_of(m)
    assert got.text == ("use loky, shared input: 1.25x [1.15, 1.35] over the loop at 2 workers, default malloc; "
                        "threads is as fast (within noise); dask 0.99x (no faster than the loop), multiprocessing 0.50x "
                        "(slower than the loop): no measured cause explains 5% of its run")
    assert (got.use, got.figure) == ("loky, shared input", "1.25x [1.15, 1.35] at 2 workers")
    assert got.reason == "dask 0.99x (no faster than the loop): no measured cause explains 5% of its run"


def test_a_leader_wider_than_25_percent_is_no_winner_and_says_what_would_settle_it():
    m = fixture_machine([record("loky", 1.5, [1.0, 2.1], 0.066, precise=False), record("threads", 1.2, [1.1, 1.3], 0.083)])
    got = verdict_of(m)  # (2.1 - 1.0) / 2 / 1.5 = 36.7%
    assert got.text == ("no reliable winner yet at 2 workers, default malloc: loky leads with 1.50x [1.00, 2.10], ±37%, "
                        "threads within it; more rounds (the time cap stopped it: raise PARBENCH_POINT_CAP_S) would "
                        "settle it")
    assert got.use == "no reliable winner yet (loky leads)"
    loud = fixture_machine([record("loky", 1.5, [1.0, 2.1], 0.066, quiet=False)])
    assert verdict_of(loud).text.endswith("; a quieter machine (it was measured beside foreign load) would settle it")
    edge = fixture_machine([record("loky", 1.0, [0.75, 1.25], 0.1)])  # exactly ±25%: still a verdict
    assert verdict_of(edge).text.startswith("use loky, shared input: 1.00x [0.75, 1.25] over the loop")


def test_the_loop_wins_where_every_backend_is_below_one():
    m = fixture_machine([record("loky", 0.8, [0.7, 0.9], 0.125), record("threads", 0.9, [0.85, 1.05], 0.11)])
    got = verdict_of(m)
    assert got.text == ("use the loop: no backend beats it at 2 workers, default malloc; threads 0.90x (no faster "
                        "than the loop), loky 0.80x (slower than the loop): no measured cause explains 5% of its run")
    assert (got.use, got.figure) == ("the loop", "best threads 0.90x [0.85, 1.05]")
    assert verdict.verdict(report.Machine("m"), "filter_bank", [], "").use == "-"


def test_speedups_from_times_alone_are_said_to_be_so_and_tie_within_5_percent():
    m = fixture_machine()  # asv's times only: threads 100/50 = 2.00x, loky 100/40 = 2.50x
    m.series[TIME].values[12] = 0.041  # threads n=2 naive: 100/41 = 2.44x, within 5% of 2.50x
    assert verdict_of(m).text == ("use loky, input with every task: 2.50x from separate runs' times over the loop at 2 "
                                  "workers, default malloc; threads is as fast (within 5%; no intervals: measure them "
                                  "with scaling.Ratios); above the machine's ceiling of 1.60x (asv's ceiling at "
                                  "c0ffee00): measured in another run")


def test_each_cause_by_hand_and_the_largest_is_the_reason():
    m = with_overheads(fixture_machine([record("loky", 1.5, [1.45, 1.55], 0.080, variant="naive",
                                               faults={"top": {"minor": [100, 90, 110]},
                                                       "bottom": {"minor": [5000, 6000, 7000]}})], ceiling=1.6))
    m.traces = [{"run": "r0", "workload": "filter_bank", "backend": "loky", "n_workers": 2,
                 "summary": {"tasks": 1, "idle_share": 0.9}},  # another run's trace: not this table's
                {"run": "r1", "workload": "filter_bank", "backend": "loky", "n_workers": 2,
                 "summary": {"tasks": 200, "input_share": 0.02, "idle_share": 0.3}}]
    row = by_backend(report.rows(m, "filter_bank"))[("loky", 2)]
    found = verdict.causes(m, "filter_bank", row, "r1")
    # ceiling 1.6 at 2: 1 - 1.6/2 = 0.2 (1.5 lies within 90-100% of it); gap 1.5: 1 - 1/1.5;
    # 0.1 ms x 200 tasks = 20 ms of 80 ms; page faults median 6000 against 100
    assert [(c.share and round(c.share, 4), c.text) for c in found] == [
        (0.2, "the machine allows only 1.60x at 2 workers (memory-bound: asv's ceiling at c0ffee00)"),
        (0.3333, "it ships the input with every task (naive), 1.5x slower than placing it once"),
        (0.02, "moving its input takes 2% of the run"),
        (0.3, "its workers sit idle 30% of the run"),
        (0.25, "0.10 ms per task x 200 tasks = 25% of the run"),
        (None, "it pays 6,000 page faults a run, the loop 100 (allocator: default malloc)")]
    assert verdict.largest(found) == ("it ships the input with every task (naive), 1.5x slower than placing it once; "
                                      "also it pays 6,000 page faults a run, the loop 100 (allocator: default malloc)")
    assert verdict.largest([verdict.Cause(0.04, "small"), verdict.Cause(None, "faults")]) == "faults"
    assert verdict.largest([verdict.Cause(0.04, "small")]) == "no measured cause explains 5% of its run"


def test_a_lock_held_is_a_thread_pools_cause_only_while_it_explains_the_speedup():
    m = fixture_machine([record("threads", 1.1, [1.05, 1.15], 0.091), record("loky", 1.1, [1.05, 1.15], 0.091)])
    m.series[report.GIL] = series(report.GIL, ["workload"], [["filter_bank"]], [0.1])
    m.series[report.LOCK] = series(report.LOCK, ["workload"], [["filter_bank"]], [0.8])
    rows = by_backend(report.rows(m, "filter_bank"))
    # Amdahl with 80% held: 1 / (0.8 + 0.2 / 2) = 1.111x at most; 1 - 1.111 / 2 = 0.444
    [lock] = verdict.causes(m, "filter_bank", rows[("threads", 2)], "r1")
    assert (round(lock.share, 3), lock.text) == (0.444, "scipy holds a process-wide lock 80% of the run: "
                                                        "threads take turns there")
    assert verdict.causes(m, "filter_bank", rows[("loky", 2)], "r1") == []  # processes hold no lock of each other
    m.series[report.LOCK].values = [0.0]  # the GIL alone: 1 / (0.1 + 0.45) = 1.82x, far above 1.1x
    assert verdict.causes(m, "filter_bank", rows[("threads", 2)], "r1") == []  # 0.09 of the 0.45 lost
    m.series[report.GIL].values = [0.95]  # 1 / (0.95 + 0.025) = 1.026x; 0.77x lost 0.615, the lock 0.487 of it
    slow = by_backend(report.rows(fixture_machine([record("threads", 0.77, [0.7, 0.86], 0.13)]), "filter_bank"))
    [gil] = verdict.causes(m, "filter_bank", slow[("threads", 2)], "r1")
    assert (round(gil.share, 3), gil.text) == (0.487, "the GIL is held 95% of the run: threads take turns there")


def test_a_start_cost_is_said_once_and_never_as_why_a_warm_run_lost():
    m = with_overheads(fixture_machine([record("loky", 2.5, [2.4, 2.6], 0.040), record("threads", 1.5, [1.4, 1.6], 0.066)],
                                       ceiling=2.0))
    assert "a new loky pool costs 0.90 s once (+1.50 s importing scipy)" in verdict_of(m).text
    m = with_overheads(fixture_machine([record("threads", 2.5, [2.4, 2.6], 0.040), record("loky", 1.5, [1.4, 1.6], 0.066)],
                                       ceiling=2.0))
    text = verdict_of(m).text
    assert "loky 1.50x: no measured cause explains 5% of its run" in text and "0.90" not in text
    assert "pool costs" not in text  # threads start in 1 ms: nothing worth a mention


def test_page_faults_that_favour_the_leader_and_the_discipline_it_ran_under():
    faults = {"top": {"minor": [6789, 6789, 6800]}, "bottom": {"minor": [0, 0, 10]}}
    m = fixture_machine([record("threads", 1.5, [1.45, 1.55], 0.066, faults=faults, malloc="fixed")], ceiling=2.0)
    assert verdict_of(m).text == ("use threads, input shared in memory: 1.50x [1.45, 1.55] over the loop at 2 workers, fixed "
                                  "malloc thresholds; the loop pays 6,789 page faults a run, threads 0: part of the "
                                  "gain is the allocator's (fixed malloc thresholds), not parallel work")
    m = fixture_machine([record("threads", 1.5, [1.45, 1.55], 0.066)], ceiling=2.0)
    m.runs = {"r1": {"run": "r1", "allocator": {"discipline": "fixed"}}}  # the run's sysinfo line says
    assert "at 2 workers, fixed malloc thresholds" in verdict_of(m).text
    assert m.discipline({"run": "r9"}) == "default" and m.discipline({"commit": "c0ffee00"}) == "default"
    m.runs["r1"]["commit"] = "c0ffee00aaaa"
    assert m.discipline({"commit": "c0ffee00"}) == "fixed"  # asv's times: their commit's run


def test_a_ceiling_below_the_leader_names_its_interval_and_run_and_why():
    ceiling = {"kind": "ceiling", "workload": "filter_bank", "n_workers": 2, "run": "r1", "value": 1.2,
               "ci": [1.1, 1.3], "pairs": 6, "variant": "own inputs"}
    m = fixture_machine([ceiling, record("loky", 1.5, [1.45, 1.55], 0.066)])
    assert verdict_of(m).text.endswith("; above the machine's ceiling of 1.20x [1.10, 1.30] (run r1's ceiling): "
                                       + report.ABOVE_CEILING["own inputs"])
    near = fixture_machine([{**ceiling, "value": 1.4, "ci": [1.2, 1.6]}, record("loky", 1.7, [1.55, 1.85], 0.06)])
    assert verdict_of(near).text.endswith("above the machine's ceiling of 1.40x [1.20, 1.60] (run r1's ceiling): "
                                          "within noise")  # 1.55 <= 1.60: the intervals overlap
    m = fixture_machine([record("loky", 1.7, [1.45, 1.95], 0.066)])  # asv's 1.6, of no run of its own
    assert verdict_of(m).text.endswith("; above the machine's ceiling of 1.60x (asv's ceiling at c0ffee00): "
                                       "measured in another run")


def test_one_serial_time_per_table_from_its_run_and_other_runs_marked():
    """r2 is the newest run at n=2: its loop (110 ms, against its leader threads) is the
    table's; loky was measured in r1 only and says so; asv's rows say their commit."""
    m = fixture_machine([record("loky", 1.25, [1.2, 1.3], 0.080),
                         record("threads", 1.5, [1.45, 1.55], 0.0733, run="r2", other_time_s=0.11),
                         record("ray", 1.2, [1.15, 1.25], 0.1, run="r2", other_time_s=0.12)])
    table = report.rows(m, "filter_bank")
    assert report.table_run(m, "filter_bank") == "r2"
    assert [(r.backend, r.seconds, report.source(r, "r2", table[0])) for r in table] == [
        ("serial", 0.11, ""), ("threads", 0.0733, ""), ("loky", 0.080, "run r1"), ("ray", 0.1, "")]
    lines = report.block(m, "filter_bank")
    assert lines[0] == "\n-- filter_bank (filter_size=5x5): run r2   [filter_bank.FilterBank.time_filter_bank]"
    assert lines[-1] == ("(the loop took 110.0 ms to 120.0 ms across this run's groups of backends; each speedup "
                         "divides its own group's loop)")
    asv = fixture_machine()
    rows = report.rows(asv, "filter_bank")
    assert [report.source(r, "", rows[0]) for r in rows] == ["", "", ""]  # one commit: nothing to mark


def test_render_by_hand_fits_120_columns_with_units_and_the_overheads_behind_wide():
    m = with_overheads(fixture_machine([record("loky", 1.25, [1.2, 1.3], 0.080)], ceiling=1.5))
    lines = report.render([m]).splitlines()
    assert lines[:3] == ["== machine m: TestCPU, 2 cores / 2 CPUs, 16 GiB, 1 BLAS thread(s) per worker", "",
                         "-- filter_bank (filter_size=5x5): run r1   [filter_bank.FilterBank.time_filter_bank]"]
    assert lines[3].startswith("recommended: use loky, shared input: 1.25x [1.20, 1.30] over the loop at 2 workers")
    at = lines.index(next(ln for ln in lines if ln.startswith("backend")))
    assert lines[at].split() == ["backend", "n", "variant", "time", "speedup", "95%", "interval", "effic.", "from"]
    assert [ln.split() for ln in lines[at + 1:at + 4]] == [
        ["serial", "1", "loop", "100.0", "ms", "1.00x", "-"],
        ["threads", "2", "naive", "50.0", "ms", "2.00x*", "-", "asv", "c0ffee00"],
        ["loky", "2", "shared", "80.0", "ms", "1.25x", "[1.20,", "1.30]", "83%"]]  # 1.25 / 1.5
    assert max(len(ln) for ln in lines) <= 120
    wide = report.render([m], wide=True).splitlines()
    assert wide[at].split()[-12:] == ["start", "s", "import", "s", "task", "ms", "new-pool", "task", "ms", "transfer",
                                      "MB/s", "from"]
    assert "start s" not in lines[at] and "MB/s" not in lines[at]
    assert wide[at + 1].split()[-5:] == ["-", "-", "-", "-", "-"]  # the loop has no pool: no overheads
    assert wide[at + 3].split()[-5:] == ["0.900", "1.500", "0.100", "2.00", "250"]


def test_small_series_are_hidden_where_full_ones_exist_and_said_when_alone():
    full, small = fixture_machine(), fixture_machine()
    small.name = "m-small"
    assert report.pick([full, small], None, "r", everything=False) == [full]
    assert report.pick([full, small], None, "r", everything=True) == [full, small]
    assert report.pick([full, small], "m-small", "r", everything=False) == [small]  # --machine shows it
    assert report.pick([small], None, "r", everything=False) == [small]
    assert report.render([small]).splitlines()[0] == report.SMALL_ONLY
    assert report.render([full]).startswith("== machine m:")
    sized = fixture_machine()
    sized.info = {"size": "small"}
    assert sized.small and not full.small


def test_the_summary_as_markdown_by_hand():
    m = fixture_machine([record("loky", 1.25, [1.15, 1.35], 0.080), record("threads", 0.9, [0.85, 0.95], 0.11)])
    m.info = {"cpu_model": "TestCPU", "physical_cores": 2}
    for name in workloads.names():  # only filter_bank measured here
        assert name == "filter_bank" or not report.rows(m, name)
    assert findings.render([m], markdown=True).splitlines() == [
        "**m (TestCPU, 2 cores; run r1; default malloc)**", "",
        "| workload | use | speedup over the loop | why |", "| --- | --- | --- | --- |",
        "| filter_bank | loky, shared input | 1.25x [1.15, 1.35] at 2 workers | threads 0.90x (slower than the loop): "
        "no measured cause explains 5% of its run |"]
    assert findings.render([m]).splitlines()[0] == "== m (TestCPU, 2 cores; run r1; default malloc)"
    m.runs = {"r1": {"run": "r1", "allocator": {"discipline": "fixed"}}}
    assert findings.render([m]).splitlines()[0] == "== m (TestCPU, 2 cores; run r1; fixed malloc thresholds)"


def test_the_readmes_findings_are_the_commands_output_on_results():
    """The README's table is ``report --summary --markdown`` on the committed results,
    between its two markers, within the README's first 60 lines."""
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-m", "bench_lib", "report", "--summary", "--markdown"], cwd=root,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    readme = (root / "README.md").read_text().splitlines()
    start, end = readme.index(findings.BEGIN), readme.index(findings.END)
    assert readme[start + 1:end] == done.stdout.splitlines()
    assert end < 60


def test_every_rows_speedup_is_its_serial_time_over_its_time():
    """A row is read alone: asv rows divide asv's serial time (n times it for weak scaling),
    a measured row the serial loop's time of its own rounds -- never another row's."""
    m = fixture_machine([record("loky", 1.25, [1.2, 1.3], 0.080, other_time_s=0.1)])
    m.series[TIME].values[0] = 0.09  # asv's own serial time: 90 ms
    table = by_backend(report.rows(m, "filter_bank"))
    assert table[("threads", 2)].serial_s == 0.09 and table[("threads", 2)].speedup == pytest.approx(0.09 / 0.05)
    assert table[("loky", 2)].serial_s == 0.1  # the record's other_time_s, not asv's serial time
    assert table[("serial", 1)].seconds == 0.1  # the table's one serial time: its run's loop
    name = workloads.get("model_inference").headline
    weak = report.Machine("w")
    weak.series[name] = series(name, ["backend", "n_workers", "variant", "pinned"],
                               [["serial", "loky"], [1, 2], ["per-worker"], [False]], [4.0, None, None, 2.5])
    loky = by_backend(report.rows(weak, "model_inference"))[("loky", 2)]
    assert (loky.serial_s, loky.speedup) == (8.0, pytest.approx(3.2))  # two batches: 8 s serial, 8 / 2.5
    alone = report.Machine("a")  # no serial run: no serial time, no speedup, shown as missing
    alone.series[TIME] = series(TIME, ["backend", "n_workers", "variant", "filter_size"],
                                [["loky"], [2], ["naive"], ["5x5"]], [0.040])
    lines = report.render([alone]).splitlines()
    assert lines[3] == "recommended: no backend was measured beside the loop"
    assert lines[5].split() == ["loky", "2", "naive", "40.0", "ms", "-"]


def test_render_shows_intervals_and_the_legend():
    m = fixture_machine([record("loky", 1.25, [1.2, 1.3], 0.08, precise=False)])
    text = report.render([m])
    [line] = [ln for ln in text.splitlines() if ln.startswith("loky")]
    assert line.split()[3:8] == ["80.0", "ms", "1.25x~", "[1.20,", "1.30]"]
    legend = " ".join(text.split("\n\n(", 1)[1].split())
    assert legend.startswith("speedup: the serial loop's time over the backend's, measured interleaved in paired "
                             "rounds, with their 95% interval; * from separate runs' times")
    assert legend.endswith("results of commits c0ffee00; runs under default malloc: r1)")


def test_recommendation_names_a_tie_when_intervals_overlap():
    """Every backend at or above 1 whose interval overlaps the leader's is as fast; one
    whose does not is named with its own figure."""
    m = fixture_machine([record("loky", 1.25, [1.15, 1.35], 0.08), record("threads", 1.2, [1.1, 1.3], 0.083),
                         record("ray", 1.16, [1.0, 1.32], 0.086), record("dask", 1.05, [1.0, 1.1], 0.095)])
    text = verdict_of(m).text
    assert "; threads and ray are as fast (within noise); dask 1.05x: " in text


def test_asv_rows_beside_a_run_say_whose_loop_they_divide_and_a_pool_of_threads_shares_its_input():
    m = fixture_machine([record("loky", 1.25, [1.2, 1.3], 0.08, other_time_s=0.1),
                         record("threads", 1.6, [1.5, 1.7], 0.0625, variant="naive")])
    m.series[TIME].values[0] = 0.09  # asv's serial: 90 ms, not the run's 100 ms
    m.series[TIME].values[8] = 0.06  # threads n=1 naive 5x5, asv's only: 90 / 60 = 1.50x
    lines = report.block(m, "filter_bank")
    assert lines[-1] == "(rows from asv: times of separate runs, each speedup over asv's serial time, 90.0 ms at c0ffee00)"
    assert verdict_of(m).use == "threads, input shared in memory"  # naive or not, threads read the caller's input
    assert verdict.how(report.Row("loky", 2, 1.0, "naive")) == "input with every task"
    assert verdict.how(report.Row("ray", 2, 1.0, "actors")) == "actors"
    assert not verdict.threaded("an-engine-of-another-checkout") and not verdict.threaded("serial")
    assert verdict.threaded("joblib-threading") and not verdict.threaded("joblib-multiprocessing")


def test_memory_is_said_where_the_recommended_backends_differ():
    name = "volume_gaussian.VolumeGaussian.track_memory_vs_data"
    headline = workloads.get("volume_gaussian").headline
    m = report.Machine("m")
    m.series[headline] = series(headline, ["backend", "n_workers", "variant"],
                                [["serial", "threads", "loky"], [1, 2], ["whole", "shared"]],
                                [2.0, None, None, None, None, None, None, 1.0, None, None, None, 1.05])
    m.series[name] = series(name, ["backend", "n_workers", "variant"], [["threads", "loky"], [2], ["shared"]], [4.3, 6.4])
    got = verdict.verdict(m, "volume_gaussian", report.rows(m, "volume_gaussian"), "")
    # 2.0 / 1.0 = 2.00x and 2.0 / 1.05 = 1.90x: within 5%, as fast
    assert got.text == ("use threads, input shared in memory: 2.00x from separate runs' times over the loop at 2 "
                        "workers, default malloc; loky is as fast (within 5%; no intervals: measure them with "
                        "scaling.Ratios); peak memory of all processes threads 4.3x the data, loky 6.4x the data")
    m.series[name].values = [4.3, 4.5]  # within 10%: nothing to choose by
    assert "peak memory" not in verdict.verdict(m, "volume_gaussian", report.rows(m, "volume_gaussian"), "").text


def bench_lib_report(*args, cwd=None):
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-m", "bench_lib", "report", *args], cwd=cwd or root,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_command_hides_small_series_where_a_full_one_exists_unless_asked(tmp_path):
    import shutil

    fixture = Path(__file__).parent / "fixtures" / "results"
    shutil.copytree(fixture, tmp_path / "results")
    full = tmp_path / "results" / "box"
    shutil.copytree(tmp_path / "results" / "fixture-small", full)
    for path in [*full.glob("*.json"), full / "sysinfo.jsonl"]:  # as a full-size run would have written them
        path.write_text(path.read_text().replace('"fixture-small"', '"box"').replace('"size": "small"', '"size": "full"'))
    results = str(tmp_path / "results")
    shown = bench_lib_report("--results", results)
    assert "== machine box:" in shown and "fixture-small" not in shown
    assert max(len(line) for line in shown.splitlines()) <= 120
    assert "== machine fixture-small:" in bench_lib_report("--results", results, "--all")
    alone = bench_lib_report("--results", results, "--machine", "fixture-small")
    assert alone.splitlines()[0] == report.SMALL_ONLY
    assert {o["machine"] for o in json.loads(bench_lib_report("--results", results, "--json"))} <= {"box", "fixture-small"}
    assert "start s" in bench_lib_report("--results", results, "--wide") and "start s" not in shown


def test_on_the_committed_results_every_block_opens_with_a_verdict_that_recommends_nothing_below_one():
    text = bench_lib_report()
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 120 and "-small" not in text
    titles = [i for i, line in enumerate(lines) if line.startswith("-- ")]
    assert titles and all(lines[i + 1].startswith("recommended: ") for i in titles)
    for machine in report.pick(report.load(Path(__file__).resolve().parent.parent / "results"), None, "", False):
        for workload in workloads.names():
            table = report.rows(machine, workload)
            if not table:
                continue
            got = verdict_of(machine, workload)
            speed = {r.backend: r.speedup for r in table if r.n_workers == max(t.n_workers for t in table)}
            named = got.text.split(";")[:2]  # the leader, then the backends as fast as it
            if got.text.startswith("use ") and not got.text.startswith("use the loop"):
                assert speed[got.use.split(",")[0]] >= 1, (machine.name, workload)
            if len(named) > 1 and "as fast" in named[1]:
                fast = named[1].replace(" and ", ", ").split(" are as fast")[0].split(" is as fast")[0].split(", ")
                assert all(speed[b.strip()] >= 1 for b in fast), (machine.name, workload, fast)


def test_what_the_users_own_loop_pays_under_the_default_allocator_is_said_whoever_wins():
    malloc = {"kind": "malloc", "workload": "filter_bank", "backend": "serial", "n_workers": 1, "run": "r1",
              "value": 2.0, "ci": [1.8, 2.2], "variant": "default/fixed malloc"}
    said = ("your own loop under glibc's default malloc takes 2.00x [1.80, 2.20] as long: fixed malloc thresholds "
            "remove 50% of its time (run r1)")  # 1 - 1/2
    won = fixture_machine([malloc, record("loky", 1.25, [1.2, 1.3], 0.08)], ceiling=2.0)
    assert verdict_of(won).text.endswith("; " + said)
    lost = fixture_machine([malloc, record("loky", 0.8, [0.7, 0.9], 0.125)])
    assert verdict_of(lost).text.endswith("; " + said)
    assert "own loop" not in verdict_of(fixture_machine([record("loky", 0.8, [0.7, 0.9], 0.125)])).text
    gaps = report.Row("loky", 2, 1.0, "v", 1.0, True, record={"faults": {"top": {"minor": [5, None, 7]},
                                                                         "bottom": {"minor": [None]}}})
    assert verdict.faults(gaps) is None  # a side with no counted sample has no median
    gaps.record["faults"]["bottom"]["minor"] = [1, None, 3, 9]
    assert verdict.faults(gaps) == (6, 3)  # medians of 5, 7 and of 1, 3, 9
