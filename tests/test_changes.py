"""The "what changed" page's logic (bench_lib.publish.changes) on hand-made histories whose answers
are worked out by hand: one injected step is found where it was put, an A/A history has
none, a step at a change of host or method is marked so; then the page built from a
results folder in tmp_path lists the injected step."""

import json

import pytest

from bench_lib.publish import changes, report, site

WIGGLE = [0.004, -0.003, 0.002, -0.004, 0.003, -0.002, 0.001, -0.001]  # +-0.4% around each level
XEON = ("Intel Xeon", 2, 2, "Linux-a")
EPYC = ("AMD EPYC", 2, 2, "Linux-b")


def entries(levels, host=(), method=(("allocator", "default"),), half=0.01, paired=True, start=0):
    """One entry per level, the level wiggled by WIGGLE, each with an interval of +-``half``."""
    out = []
    for i, level in enumerate(levels):
        value = level * (1 + WIGGLE[(start + i) % len(WIGGLE)])
        low, high = (value * (1 - half), value * (1 + half)) if half else (None, None)
        out.append(changes.Entry(value, low, high, f"run{start + i:02d}", host, method, None, paired))
    return out


def history(items, benchmark=report.SPEEDUP):
    return changes.History("m", benchmark, (("workload", "filter_bank"), ("backend", "threads")), items, unit="x")


def test_one_injected_step_is_found_where_it_was_put():
    # 20 points at 1.0 +-1%, then 10 at 1.3 +-1%: the after side starts at entry 20.
    # Bands: before 1.0 * (1 - 0.004) * 0.99 .. 1.0 * 1.004 * 1.01 = 0.986 .. 1.014;
    # after 1.3 * 0.996 * 0.99 = 1.282 .. 1.3 * 1.004 * 1.01 = 1.318: apart.
    step = changes.latest_step(history(entries([1.0] * 20 + [1.3] * 10)))
    assert step is not None
    assert step.position == 20
    assert step.before == pytest.approx(1.0, abs=0.005) and step.after == pytest.approx(1.3, abs=0.006)
    assert step.ratio == pytest.approx(1.3, rel=0.01)
    before, after = step.sides()
    assert (len(before), len(after)) == (20, 10)
    assert step.beyond
    changes.classify(step, {})
    assert step.reasons == [] and step.changed


def test_a_a_history_has_no_step_beyond_noise():
    # 30 points at 1.0 wiggled by at most 0.4%, each +-1%: any split the fit makes leaves
    # bands that overlap (both sides span at least 0.986 .. 1.014).
    step = changes.latest_step(history(entries([1.0] * 30)))
    assert step is None or not step.beyond
    found = changes.steps([history(entries([1.0] * 30))], {})
    assert not any(s.beyond for s in found)
    assert changes.summary(found, 1)[0].startswith("0 series changed beyond noise")


def test_a_step_smaller_than_its_intervals_is_not_counted():
    # 1.0 -> 1.015 with +-2% intervals: bands 0.976 .. 1.024 and 0.991 .. 1.040 overlap.
    items = entries([1.0] * 20, half=0.02) + entries([1.015] * 10, half=0.02, start=20)
    step = changes.latest_step(history(items))
    assert step is None or not step.beyond


def test_single_absolute_times_either_side_do_not_count():
    # asv's 99% interval of one absolute time is within its run: one value a side is no
    # spread, however narrow its interval (0.0816 s [0.0794, 0.0846] -> 0.112 s [0.102, 0.119]).
    items = [changes.Entry(0.0816, 0.0794, 0.0846, "a"), changes.Entry(0.112, 0.102, 0.119, "b")]
    assert not changes.apart(items[:1], items[1:])
    # two values a side, bands 0.0794 .. 0.0846 and 0.102 .. 0.119: apart
    assert changes.apart(items[:1] * 2, items[1:] * 2)


def test_a_step_at_a_change_of_host_is_marked_not_a_regression():
    items = entries([1.0] * 20, host=XEON) + entries([0.7] * 10, host=EPYC, start=20)
    [step] = changes.steps([history(items)], {})
    assert step.position == 20 and step.beyond
    assert step.host and not step.method and not step.changed
    assert step.reasons == ["host changed (cpu_model, platform)"]
    assert changes.summary([step], 1)[0] == "0 series changed beyond noise; 1 step coincides with a host change; " \
                                            "0 with a method change."


def test_a_step_at_a_change_of_method_is_marked_not_a_regression():
    items = entries([1.0] * 20, host=XEON) + entries(
        [1.3] * 10, host=XEON, method=(("allocator", "fixed"),), start=20)
    [step] = changes.steps([history(items)], {})
    assert step.position == 20 and step.beyond
    assert step.method and not step.host and not step.changed
    assert step.reasons == ["method changed (allocator default -> fixed)"]


def test_engines_mode_and_benchmark_version_are_methods_too():
    a = changes.Entry(1.0, method=(("allocator", "default"), ("engines mode", "local"), ("benchmark version", "1")))
    b = changes.Entry(1.0, method=(("allocator", "default"), ("engines mode", "cluster"), ("benchmark version", "2")))
    assert changes.method_reasons(a, b) == ["method changed (engines mode local -> cluster)",
                                            "method changed (the benchmark's code: another asv version)"]
    assert changes.engines_mode({"engines": {"ray": "2.60.0", "mode": "cluster"}}) == "cluster"
    assert changes.engines_mode({"engines": {"ray": "2.60.0"}}) is None


def speedup_record(run, serial_s, value=1.5):
    """A speedup point as a run records it, with its serial loop's samples (top)."""
    return {"kind": "speedup", "run": run, "workload": "filter_bank", "backend": "threads", "n_workers": 2,
            "variant": "naive", "value": value, "ci": [value * 0.99, value * 1.01],
            "samples_s": {"top": [serial_s * f for f in (0.99, 1.0, 1.01, 0.995, 1.005)]}}


def test_a_step_where_the_serial_loop_moved_is_a_host_change():
    # Same sysinfo host both sides, but the serial loop ran 40 ms in the run before the step
    # and 20 ms in the run after it: 2x faster, wholly beyond compare's 1.25.
    runs = {"c1-20261201T000000": [speedup_record("c1-20261201T000000", 0.040)],
            "c2-20261202T000000": [speedup_record("c2-20261202T000000", 0.020)]}
    items = entries([1.5] * 20, host=XEON) + entries([1.1] * 10, host=XEON, start=20)
    items = [changes.Entry(e.value, e.low, e.high, e.label, e.host, e.method,
                           "c1-20261201T000000" if i < 20 else "c2-20261202T000000", True)
             for i, e in enumerate(items)]
    [step] = changes.steps([history(items)], {"m": runs})
    assert step.position == 20 and step.host and not step.changed
    assert step.reasons == ["host changed (serial 2.0x faster in filter_bank)"]
    # the same serial time both sides: nothing set aside, the step is a change
    same = {"c1-20261201T000000": runs["c1-20261201T000000"],
            "c2-20261202T000000": [speedup_record("c2-20261202T000000", 0.040)]}
    [step] = changes.steps([history(items)], {"m": same})
    assert step.reasons == [] and step.changed


def test_asv_result_files_make_one_history_per_combination_in_the_order_measured():
    index = {"b.B.time_x": {"param_names": ["backend"], "unit": "seconds"}}

    def result(commit, started, values):
        return {"commit_hash": commit + "0" * 32, "params": {}, "result_columns": ["result", "params", "started_at"],
                "results": {"b.B.time_x": [values, [["'serial'", "'threads'"]], started]}}

    files = [result("bbbbbbbb", 2000, [2.0, 1.0]), result("aaaaaaaa", 1000, [3.0, float("nan")])]
    found = changes.asv_histories("m", files, index, [])
    assert [(h.params, [e.label for e in h.entries]) for h in found] == [
        ((("backend", "serial"),), ["aaaaaaaa", "bbbbbbbb"]), ((("backend", "threads"),), ["bbbbbbbb"])]
    assert [e.value for e in found[0].entries] == [3.0, 2.0] and found[0].unit == "seconds"
    # a commit whose points.jsonl runs give the history instead is left out
    skipped = changes.asv_histories("m", files, index, [], {"b.B.time_x": {"aaaaaaaa"}})
    assert [e.label for e in skipped[0].entries] == ["bbbbbbbb"]


def test_runs_sort_by_their_time_and_upgrade_check_runs_stay_out():
    records = [{"kind": "speedup", "run": run, "workload": "w", "backend": "b", "n_workers": 2, "variant": "v",
                "value": value, "ci": [value * 0.99, value * 1.01]}
               for run, value in (("bbbb-20261202T000000", 2.0), ("aaaa-20261201T000000", 1.0),
                                  ("cccc-upgrade-20261203T000000-ray2.55.1", 9.0))]
    [found] = changes.point_histories("m", records, [])
    assert [e.label for e in found.entries] == ["aaaa-20261201T000000", "bbbb-20261202T000000"]
    assert changes.stamp("cccc-upgrade-20261203T000000-ray2.55.1") == "20261203T000000"


def write_results(root, levels):
    """A results folder with one machine whose points.jsonl holds one speedup per run."""
    results = root / "results"
    folder = results / "m1"
    folder.mkdir(parents=True)
    (results / "benchmarks.json").write_text("{}")
    lines, info = [], []
    for i, level in enumerate(levels):
        run = f"c{i:07d}-20261201T{i // 60:02d}{i % 60:02d}00"
        value = level * (1 + WIGGLE[i % len(WIGGLE)])
        lines.append({"machine": "m1", "commit": f"c{i:07d}", "run": run, "kind": "speedup",
                      "workload": "filter_bank", "backend": "threads", "n_workers": 2, "variant": "naive",
                      "value": value, "ci": [value * 0.99, value * 1.01]})
        info.append({"commit": f"c{i:07d}", "run": run, "cpu_model": "Intel Xeon", "physical_cores": 2,
                     "logical_cpus": 2, "platform": "Linux-a"})
    (folder / "points.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    (folder / "sysinfo.jsonl").write_text("".join(json.dumps(r) + "\n" for r in info))
    return results


def test_the_published_page_lists_the_injected_step(tmp_path):
    results = write_results(tmp_path, [1.0] * 20 + [1.3] * 10)
    page = site.build_changes(results, tmp_path / "html" / site.CHANGES_DIR)
    text = page.read_text()
    assert "1 series changed beyond noise; 0 steps coincide with a host change; 0 with a method change." in text
    changed = text[text.index('id="changed"'):text.index('id="explained"')]
    assert changed.count('<tr class="step"') == 1
    assert f'data-benchmark="{report.SPEEDUP}"' in changed and 'data-position="20"' in changed
    assert "+30%" in changed and "c0000020-20261201T002000" in changed  # the first run after the step
    assert "Regressions page lists" not in text  # no asv site here: nothing said of it
    (tmp_path / "html" / "regressions.json").write_text(json.dumps({"regressions": [["a"], ["b"]]}))
    text = site.build_changes(results, tmp_path / "html" / site.CHANGES_DIR).read_text()
    assert "Regressions page lists 2 steps: " in text
    # an A/A history: the page says so, and its table is empty
    quiet = write_results(tmp_path / "aa", [1.0] * 30)
    text = site.build_changes(quiet, tmp_path / "aa" / "html").read_text()
    assert "0 series changed beyond noise" in text and '<tr class="step"' not in text
