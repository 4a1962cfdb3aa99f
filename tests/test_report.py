"""The report's arithmetic on hand-made results (bench_lib.report, bench_lib.points):
every expected figure is written out here, not computed by the report."""

import json

import pytest

from bench_lib import points, report

TIME = report.TIMES["filter_bank"][0]


def series(name, names, params, values, commit="c0ffee00"):
    return report.Series(name, names, params, values, commit)


def fixture_machine(records=()):
    """filter_bank 5x5: serial 100 ms; threads n=2 50 ms naive; loky n=2 40 ms naive and
    80 ms shared; a ceiling of 1.6 at n=2 recorded at commit c0ffee00."""
    m = report.Machine("m")
    m.series[TIME] = series(TIME, ["backend", "n_workers", "variant", "filter_size"],
                            [["serial", "threads", "loky"], [1, 2], ["naive", "shared"], ["5x5"]],
                            [0.100, None, None, None,  # serial
                             None, None, 0.050, None,  # threads
                             None, None, 0.040, 0.080])  # loky
    m.series[report.CEILING] = series(report.CEILING, ["workload", "n_workers"],
                                      [["filter_bank"], [1, 2]], [1.0, 1.6])
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


def test_recommendation_without_overlap_is_no_tie_and_serial_wins_below_one():
    m = fixture_machine([record("loky", 1.5, [1.45, 1.55], 0.066), record("threads", 1.2, [1.1, 1.3], 0.083)])
    text = report.recommend(m, "filter_bank", report.rows(m, "filter_bank"))
    assert text.startswith("loky (n_workers=2, shared): 66.0 ms, 1.50x ±0.05 over serial, 94% of the machine's")
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


def test_machine_point_and_ceiling_lookups():
    m = fixture_machine([record("loky", 1.25, [1.2, 1.3], 0.08)])
    assert m.point("speedup", backend="loky")["value"] == 1.25
    assert m.point("speedup", backend="dask") is None and m.point("gap", backend="loky") is None
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
    path.write_text('[1, 2]\n\n{"a": 1}\n')
    assert points.read(path) == ([{"a": 1}], 1)
    assert points.read(tmp_path / "none.jsonl") == ([], 0)
    with pytest.raises(ValueError):
        points.write({"value": float("nan")})
    assert json.loads(path.read_text().splitlines()[-1]) == {"a": 1}
