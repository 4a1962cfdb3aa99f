"""Reading results (bench_lib.publish.report.load and friends) and choosing result sets for the gate
(bench_lib.publish.compare.result_set), in-process, on a results folder written out by hand in the
layout asv 0.6 uses. Expected values are the ones written into the files here."""

import json
import subprocess

import pytest

from bench_lib.publish import compare, report, result_sets

SPEEDUP = report.SPEEDUP
COLUMNS = ["result", "params", "version", "started_at", "duration"]
INDEX = {
    SPEEDUP: {"param_names": ["workload", "backend", "n_workers"], "unit": "x"},
    report.CEILING: {"param_names": ["workload", "n_workers"], "unit": "x"},
    report.START: {"param_names": ["backend", "n_workers"], "unit": "seconds"},
}


def result_file(folder, commit, date, results, env="env-a"):
    data = {"commit_hash": commit, "env_name": env, "date": date, "result_columns": COLUMNS,
            "results": {name: [values, params, "v1", 0, 1.0] for name, (values, params) in results.items()}}
    path = folder / f"{commit[:8]}-{env}.json"
    path.write_text(json.dumps(data))
    return path


def speedups(*values):
    return values, [["'filter_bank'"], ["'threads'", "'loky'"], ["2"]]


def point(value, run, commit, backend="threads", low=None, high=None):
    return {"kind": "speedup", "workload": "filter_bank", "backend": backend, "n_workers": 2,
            "variant": "naive", "value": value, "ci": [low, high], "pairs": 4, "time_s": 0.05,
            "other_time_s": 0.05 * value, "precise": True, "quiet": True, "commit": commit, "run": run}


@pytest.fixture
def results(tmp_path):
    """Two machines. box: commit aaaa1111 (older) and bbbb2222 (newer), two runs of
    bbbb2222 in points.jsonl; other: one commit, no points."""
    root = tmp_path / "results"
    box = root / "box"
    box.mkdir(parents=True)
    (root / "benchmarks.json").write_text(json.dumps(INDEX))
    result_file(box, "aaaa1111" + "0" * 32, 1000, {
        SPEEDUP: speedups(1.1, 1.2),
        report.CEILING: ([1.0, 1.5], [["'filter_bank'"], ["1", "2"]]),
        report.START: ([0.5, float("nan")], [["'loky'"], ["1", "2"]])})
    result_file(box, "bbbb2222" + "0" * 32, 2000, {
        "gone.Benchmark.track_x": ([1.0], [["1"]]),  # not in the index: skipped
        report.CEILING: ([1.0], [["'filter_bank'"]]),  # parameters changed since: skipped
        SPEEDUP: speedups(1.3, None)})
    # asv's machine record is not a result file, whatever it holds
    (box / "machine.json").write_text(json.dumps({"date": 9999, "result_columns": ["result", "params"],
                                                  "results": {SPEEDUP: speedups(9.0, 9.0)}}))
    (box / "sysinfo.jsonl").write_text('{"cpu_model": "old"}\n{"cpu_model": "new"}\n')
    lines = [point(1.3, "bbbb2222-r1", "bbbb2222", low=1.25, high=1.35),
             point(1.28, "bbbb2222-r2", "bbbb2222", low=1.22, high=1.34),
             point(0.9, "bbbb2222-r2", "bbbb2222", backend="loky", low=0.85, high=0.95),
             point(1.1, "aaaa1111-r0", "aaaa1111")]
    (box / "points.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    other = root / "other"
    other.mkdir()
    result_file(other, "cccc3333" + "0" * 32, 3000, {SPEEDUP: speedups(2.0, 2.5)})
    (root / "empty").mkdir()  # a machine without results is not listed
    return root


def test_load_takes_the_newest_value_of_each_combination(results):
    """The newer file measured threads only (loky failed: None): threads is its 1.3, loky
    keeps the older file's 1.2, each under its own commit."""
    machines = report.load(results)
    assert [m.name for m in machines] == ["box", "other"]
    box = machines[0]
    assert box.info == {"cpu_model": "new"}
    speed = box.series[SPEEDUP]
    assert speed.commit == "bbbb2222" and speed.values == [1.3, 1.2] and speed.unit == "x"
    assert speed.commits == ["bbbb2222", "aaaa1111"]
    assert speed.commit_of(backend="threads") == "bbbb2222" and speed.commit_of(backend="loky") == "aaaa1111"
    assert speed.params == [["filter_bank"], ["threads", "loky"], [2]]
    assert box.value(SPEEDUP, backend="threads") == 1.3 and box.value(SPEEDUP, backend="loky") == 1.2
    ceiling = box.series[report.CEILING]  # the newer file's ceiling had other parameters
    assert ceiling.commit == "aaaa1111" and box.value(report.CEILING, n_workers=2) == 1.5
    assert box.value(report.START, backend="loky", n_workers=2) is None  # nan is missing
    assert box.value(report.START, backend="loky", n_workers=1) == 0.5
    assert "gone.Benchmark.track_x" not in box.series
    assert box.value("no.such.benchmark") is None
    assert [p["run"] for p in box.points] == ["bbbb2222-r1", "bbbb2222-r2", "bbbb2222-r2", "aaaa1111-r0"]
    assert machines[1].points == [] and machines[1].info == {}


def test_every_commits_ceiling_is_kept_for_its_own_runs():
    """A newer result file replaces the series shown, but an older run's speedups still
    divide by the ceiling of their own commit."""
    m = report.Machine("m")
    meta = {report.CEILING: {"param_names": ["workload", "n_workers"], "unit": "x"}}
    for commit, value in (("aaaa1111", 1.5), ("bbbb2222", 1.8)):
        report.add_results(m, {"commit_hash": commit + "0" * 32, "result_columns": ["result", "params"],
                               "results": {report.CEILING: [[1.0, value], [["'filter_bank'"], ["1", "2"]]]}},
                           meta)
    assert m.ceiling("filter_bank", 2, "aaaa1111ff") == 1.5
    assert m.ceiling("filter_bank", 2, "bbbb2222") == 1.8 and m.ceiling("filter_bank", 2) == 1.8
    assert m.ceiling("filter_bank", 1, "aaaa1111") == 1.0
    assert m.ceiling("filter_bank", 2, "cccc3333") is None


def test_series_combos_and_get():
    s = report.Series("s", ["a", "b"], [[1, 2], ["x", "y"]], [10.0, None, float("nan"), 40.0], "c")
    assert list(s.combos()) == [({"a": 1, "b": "x"}, 10.0), ({"a": 2, "b": "y"}, 40.0)]
    assert s.get(a=2) == 40.0 and s.get(b="y", a=2) == 40.0 and s.get(a=1, b="y") is None
    assert s.get(a=1, other="ignored") == 10.0


def test_literal_params():
    assert report._literal("'loky'") == "loky" and report._literal("2") == 2
    assert report._literal("not python(") == "not python("


def test_read_errors_are_report_errors(results, tmp_path):
    with pytest.raises(report.ReportError, match="benchmarks.json not found: run the suite first"):
        report.read_index(tmp_path)
    (tmp_path / "benchmarks.json").write_text("{cut")
    with pytest.raises(report.ReportError, match="is not valid JSON .*restore it from git"):
        report.read_index(tmp_path)
    with pytest.raises(report.ReportError, match="cannot be read"):
        report.read_file(tmp_path / "missing.json")
    with pytest.raises(report.ReportError, match="no results under"):
        report.load(_only_index(tmp_path))
    assert report.machine_info(tmp_path / "nowhere") == {}


def _only_index(tmp_path):
    folder = tmp_path / "only-index"
    folder.mkdir()
    (folder / "benchmarks.json").write_text(json.dumps(INDEX))
    (folder / "box").mkdir()
    return folder


def test_pick_by_name(results):
    machines = report.load(results)
    assert report.pick(machines, None, "x") == machines
    assert [m.name for m in report.pick(machines, "other", "x")] == ["other"]
    with pytest.raises(report.ReportError, match=r"^no results for machine 'nope' in here; have: box, other$"):
        report.pick(machines, "nope", "here")


def test_result_set_of_a_folder_a_file_a_commit_and_a_run(results):
    folder = compare.result_set(str(results), results, machine="box")
    assert folder.name == "box" and len(folder.points) == 4
    with pytest.raises(report.ReportError, match=r"holds several machines \(box, other\): choose one"):
        compare.result_set(str(results), results)
    one = compare.result_set(str(results / "box" / "aaaa1111-env-a.json"), results)
    assert one.name == "box" and one.info == {"cpu_model": "new"}
    assert one.value(SPEEDUP, backend="loky") == 1.2
    assert [p["run"] for p in one.points] == ["aaaa1111-r0"]  # that commit's points only
    commit = compare.result_set("bbbb2222", results)
    assert commit.value(SPEEDUP, backend="threads") == 1.3 and len(commit.points) == 3
    run = compare.result_set("bbbb2222-r2", results)
    assert run.name == "box" and [p["value"] for p in run.points] == [1.28, 0.9]
    assert compare.result_set("bbbb2222-r2", results, machine="box").name == "box"
    with pytest.raises(report.ReportError, match="is neither a results folder, a result file, a run nor a commit"):
        compare.result_set("bbbb2222-r2", results, machine="other")
    with pytest.raises(report.ReportError, match="neither"):
        compare.result_set("abc", results)  # too short to be a commit prefix
    with pytest.raises(report.ReportError, match="neither"):
        compare.result_set("bbbb2222-r9", results)  # no such run: not taken for its commit


def test_a_commit_with_results_of_two_environments_needs_a_file(results):
    result_file(results / "box", "bbbb2222" + "0" * 32, 2500, {SPEEDUP: speedups(1.0, 1.0)}, env="env-b")
    with pytest.raises(report.ReportError, match="has results from 2 environments on box: pass one file"):
        compare.result_set("bbbb2222", results)


def test_commit_resolves_git_names_and_passes_hashes_through(tmp_path):
    assert result_sets._commit("bbbb2222ffff", tmp_path) == "bbbb2222"  # not a repository: a prefix
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty",
                    "-m", "x"], cwd=tmp_path, check=True)
    head = subprocess.check_output(["git", "rev-parse", "HEAD"], cwd=tmp_path, text=True).strip()
    assert result_sets._commit("HEAD", tmp_path) == head[:8]


def test_a_a_of_two_runs_of_one_commit(results):
    base = compare.result_set("bbbb2222-r1", results)
    new = compare.result_set("bbbb2222-r2", results)
    changes, worse, missing = compare.compare(base, new, 1.2)
    assert [(c.base, c.new) for c in changes] == [(1.3, 1.28)] and worse == [] and missing == []
    # the other way round, loky was measured only in r2: it is new, not missing
    changes, worse, missing = compare.compare(new, base, 1.2)
    assert missing == [(SPEEDUP, {"workload": "filter_bank", "backend": "loky", "n_workers": 2})]


def test_series_gate_when_a_side_has_no_points(results):
    base = compare.result_set(str(results / "box" / "aaaa1111-env-a.json"), results)
    base.points = []
    new = compare.result_set(str(results / "other" / "cccc3333-env-a.json"), results)
    changes, worse, missing = compare.compare(base, new, 1.2)
    assert [(c.benchmark, c.params["backend"], c.base, c.new) for c in changes] == [
        (SPEEDUP, "threads", 1.1, 2.0), (SPEEDUP, "loky", 1.2, 2.5)]
    assert worse == [] and missing == []
    changes, worse, missing = compare.compare(new, base, 1.2)  # 2.0 -> 1.1, 2.5 -> 1.2
    assert [c.params["backend"] for c in worse] == ["threads", "loky"]
    assert str(worse[0]) == ("scaling.Ratios.track_speedup(workload='filter_bank', backend='threads', "
                             "n_workers=2): 2.00x -> 1.10x (-45%)")
    base.series[SPEEDUP].values = [1.1, None]  # failed in new
    changes, worse, missing = compare.compare(new, base, 1.2)
    assert missing == [(SPEEDUP, {"workload": "filter_bank", "backend": "loky", "n_workers": 2})]
    assert compare.compare(report.Machine("a"), new, 1.0) == ([], [], [])
    zero = report.Machine("z", series={SPEEDUP: report.Series(
        SPEEDUP, ["workload", "backend", "n_workers"], [["filter_bank"], ["threads", "loky"], [2]], [0.0, 1.0], "c")})
    changes, _, _ = compare.compare(zero, zero, 1.0)
    assert [c.base for c in changes] == [1.0]  # a zero base has no ratio


def test_interval_of_a_record():
    iv = compare.interval({"value": 2.0, "ci": [1.9, 2.1], "pairs": 7})
    assert (iv.estimate, iv.low, iv.high, iv.pairs) == (2.0, 1.9, 2.1, 7)
    iv = compare.interval({"value": 2.0, "ci": [1.9, None]})
    assert iv.low == 1.9 and iv.high != iv.high and iv.pairs == 0
    iv = compare.interval({"value": 2.0})
    assert iv.low != iv.low and iv.high != iv.high


def _file(commit, values, params, version="v1", low=None, high=None):
    columns = ["result", "params", "version", "stats_ci_99_a", "stats_ci_99_b"]
    return {"commit_hash": commit + "0" * 32, "result_columns": columns,
            "results": {SPEEDUP: [values, params, version, low, high]}}


def test_a_subset_run_keeps_the_older_runs_other_combinations():
    """A run of part of a benchmark (asv --bench on one parameter value) must not hide the
    older run's other values. Older: threads and loky at n=1, 2; newer: loky and ray at n=2,
    4 (ray at 2 failed: None; loky at 4 has a lower bound only). The union of the grids has
    combinations neither file holds (ray at 1, threads at 4): missing. Worked out by hand."""
    m = report.Machine("m")
    meta = {SPEEDUP: INDEX[SPEEDUP]}
    report.add_results(m, _file("aaaa1111", [1.0, 1.8, 0.9, 1.5],
                                [["'filter_bank'"], ["'threads'", "'loky'"], ["1", "2"]],
                                low=[0.9, 1.7, 0.8, 1.4], high=[1.1, 1.9, 1.0, 1.6]), meta)
    report.add_results(m, _file("bbbb2222", [1.7, 2.1, None, 2.5],
                                [["'filter_bank'"], ["'loky'", "'ray'"], ["2", "4"]],
                                low=[1.6, 1.9, None, 2.4], high=[1.8, None, None, 2.6]), meta)
    s = m.series[SPEEDUP]
    assert s.name == SPEEDUP and s.params == [["filter_bank"], ["loky", "ray", "threads"], [2, 4, 1]]
    got = {(c["backend"], c["n_workers"]): (v, s.commit_of(**c)) for c, v in s.combos()}
    assert got == {("loky", 1): (0.9, "aaaa1111"), ("loky", 2): (1.7, "bbbb2222"), ("loky", 4): (2.1, "bbbb2222"),
                   ("ray", 4): (2.5, "bbbb2222"),
                   ("threads", 1): (1.0, "aaaa1111"), ("threads", 2): (1.8, "aaaa1111")}
    assert s.get(backend="ray", n_workers=2) is None and s.get(backend="threads", n_workers=4) is None
    # a parameter the series does not have does not stop the match (as get); unmeasured: the newest
    assert s.commit_of(backend="loky", n_workers=1, pinned=False) == "aaaa1111"
    assert s.commit == "bbbb2222" and s.commit_of(backend="ray", n_workers=1) == "bbbb2222"
    assert s.intervals() == {("filter_bank", "loky", 1): (0.8, 1.0), ("filter_bank", "loky", 2): (1.6, 1.8),
                             ("filter_bank", "ray", 4): (2.4, 2.6), ("filter_bank", "threads", 1): (0.9, 1.1),
                             ("filter_bank", "threads", 2): (1.7, 1.9)}
    fresh = report.Series("x", [], [], [3.0, 4.0], "cccc3333")  # one file's series: every value its commit's
    assert fresh.commits == ["cccc3333", "cccc3333"] and fresh.cis == [None, None] and fresh.intervals() == {}


def test_a_new_version_of_a_benchmark_drops_the_older_values():
    """asv's version changes when the benchmark's code does: the older values timed other
    work and are not merged in; later files of the new version merge as usual."""
    m = report.Machine("m")
    meta = {SPEEDUP: INDEX[SPEEDUP]}
    params = [["'filter_bank'"], ["'threads'", "'loky'"], ["2"]]
    report.add_results(m, _file("aaaa1111", [1.0, 1.8], params, version="v1"), meta)
    report.add_results(m, _file("bbbb2222", [1.5, None], params, version="v2"), meta)
    assert m.series[SPEEDUP].values == [1.5, None] and m.value(SPEEDUP, backend="loky") is None
    report.add_results(m, _file("cccc3333", [None, 1.1], params, version="v2"), meta)
    assert m.series[SPEEDUP].values == [1.5, 1.1]
    assert m.series[SPEEDUP].commits == ["bbbb2222", "cccc3333"]
    report.add_results(m, _file("dddd4444", [float("nan"), None], params, version="v2"), meta)
    assert m.series[SPEEDUP].values == [1.5, 1.1] and m.series[SPEEDUP].version == "v2"


def test_add_results_defaults_and_skips(tmp_path):
    m = report.Machine("m")
    report.add_results(m, {}, INDEX)
    report.add_results(m, {"result_columns": COLUMNS}, INDEX)
    report.add_results(m, {"results": {SPEEDUP: [[1.0], [["'filter_bank'"]]]}}, INDEX)  # no columns
    assert m.series == {}
    meta = {"a.B.track": {}, "c.D.track": {"param_names": ["n"], "unit": "x"}}
    data = {"result_columns": ["result", "params"],
            "results": {"c.D.track": [[1.0], [["1"], ["2"]]],  # two axes for one name: skipped
                        "x.Y.track": [None, []],  # failed: no values
                        "a.B.track": [[3.0], []]}}
    report.add_results(m, data, meta)
    s = m.series["a.B.track"]
    assert (s.name, s.param_names, s.values, s.commit, s.unit) == ("a.B.track", [], [3.0], "", "")
    assert list(m.series) == ["a.B.track"]


def test_machine_info_is_the_last_of_several_lines(tmp_path):
    (tmp_path / "sysinfo.jsonl").write_text('{"n": 1}\n{"n": 2}\n{"n": 3}\n')
    assert report.machine_info(tmp_path) == {"n": 3}


def test_a_result_file_without_a_date_counts_as_oldest(results):
    box = results / "box"
    for path in box.glob("*-env-a.json"):
        path.unlink()
    result_file(box, "dddd4444" + "0" * 32, 0.5, {SPEEDUP: speedups(2.0, 2.0)})
    undated = result_file(box, "eeee5555" + "0" * 32, 0, {SPEEDUP: speedups(3.0, 3.0)})
    data = json.loads(undated.read_text())
    del data["date"]
    undated.write_text(json.dumps(data))
    assert report.load(results)[0].value(SPEEDUP, backend="threads") == 2.0


def test_invalid_result_json_is_named(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text("{")
    with pytest.raises(report.ReportError, match=r"x.json is not valid JSON"):
        report.read_file(bad)


def test_result_set_messages_name_what_was_asked(results):
    with pytest.raises(report.ReportError, match=f"^{results} holds several machines"):
        compare.result_set(str(results), results)
    result_file(results / "other", "bbbb2222" + "0" * 32, 2600, {SPEEDUP: speedups(1.0, 1.0)})
    with pytest.raises(report.ReportError, match="^bbbb2222 holds several machines"):
        compare.result_set("bbbb2222", results)
    assert compare.result_set("bbbb2222", results, machine="other").value(SPEEDUP, backend="loky") == 1.0
    result_file(results / "box", "bbbb2222" + "0" * 32, 2500, {SPEEDUP: speedups(1.0, 1.0)}, env="env-b")
    with pytest.raises(report.ReportError) as err:
        compare.result_set("bbbb2222", results, machine="box")
    assert "bbbb2222-env-a.json, " in str(err.value) and "bbbb2222-env-b.json)" in str(err.value)


def test_commit_prefixes_need_four_characters_and_machine_json_is_no_result(results):
    result_file(results / "other", "abcd1234" + "0" * 32, 10, {SPEEDUP: speedups(1.0, 1.0)})
    assert compare.result_set("abcd", results).name == "other"
    with pytest.raises(report.ReportError, match="neither"):
        compare.result_set("abc", results)
    with pytest.raises(report.ReportError, match="neither"):
        compare.result_set("machine", results)


def test_a_run_keeps_its_machine_info_and_names_itself_when_ambiguous(results):
    assert compare.result_set("bbbb2222-r1", results).info == {"cpu_model": "new"}
    with open(results / "other" / "points.jsonl", "w") as f:
        f.write(json.dumps(point(1.0, "bbbb2222-r1", "bbbb2222")) + "\n")
    with pytest.raises(report.ReportError, match="^bbbb2222-r1 holds several machines"):
        compare.result_set("bbbb2222-r1", results)
    assert compare.result_set("bbbb2222-r1", results, machine="other").name == "other"


def test_points_gate_names_the_benchmark_and_needs_points_on_both_sides(results):
    base = compare.result_set("bbbb2222-r2", results)
    base.points.insert(0, point(5.0, "x", "x", backend="ray"))  # missing in new, listed first
    new = compare.result_set("bbbb2222-r2", results)
    changes, _, missing = compare.compare(base, new, 1.2)
    assert [c.benchmark for c in changes] == [SPEEDUP, SPEEDUP]
    assert [m[1]["backend"] for m in missing] == ["ray"]
    with_points = compare.result_set("bbbb2222", results)  # series and points
    series_only = compare.result_set(str(results / "other" / "cccc3333-env-a.json"), results)
    changes, _, missing = compare.compare(with_points, series_only, 1.2)
    assert [(c.base, c.new) for c in changes] == [(1.3, 2.0)] and missing == []
    empty = report.Machine("e")
    assert compare.compare(series_only, empty, 1.2)[2] == [
        (SPEEDUP, {"workload": "filter_bank", "backend": b, "n_workers": 2}) for b in ("threads", "loky")]


def test_guard_roots():
    import os

    from bench_lib.measure import protocol

    child = subprocess.Popen(["sleep", "30"])
    try:
        def seen(guard):  # the pids whose CPU time the guard counts as foreign
            return {pid for pid, _ in guard.snapshot()[0]}

        rooted = seen(protocol.Guard(root=child.pid, also=[]))
        assert child.pid not in rooted and os.getpid() in rooted  # the test itself is foreign there
        assert not {os.getpid(), child.pid} & seen(protocol.Guard(also=[]))  # a tree of its own
    finally:
        child.kill()
        child.wait()


def test_pick_errors_name_the_result_set(results):
    with pytest.raises(report.ReportError, match=f"no results for machine 'nope' in {results}"):
        compare.result_set(str(results), results, machine="nope")


def test_commit_names_resolve_in_the_given_repository(results, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty",
                    "-m", "x"], cwd=repo, check=True)
    head = subprocess.check_output(["git", "rev-parse", "HEAD"], cwd=repo, text=True).strip()
    result_file(results / "other", head, 4000, {SPEEDUP: speedups(7.0, 7.0)})
    assert compare.result_set("HEAD", results, root=repo).value(SPEEDUP, backend="threads") == 7.0


OLD_STACK = {"ray": "2.55.1", "dask": "2026.1.2", "distributed": "2026.1.2", "joblib": "1.5.3"}
NEW_STACK = {"ray": "2.60.0", "dask": "2026.8.0", "distributed": "2026.8.0", "joblib": "1.6.0"}


def stack_file(folder, commit, stack, value):
    """An asv result file of one matrix environment: asv writes its versions into params."""
    path = result_file(folder, commit, 1000, {SPEEDUP: speedups(value, value)},
                       env="env-" + stack["ray"].replace(".", ""))
    data = json.loads(path.read_text())
    data["params"] = {"machine": folder.name, "python": "3.11", "numpy": "2.4.6", **stack}
    path.write_text(json.dumps(data))
    return path


def test_two_stacks_at_one_commit_keep_their_points_apart(tmp_path):
    """Both stacks measured commit dddd4444; each point names its engines. Each result file
    takes only its own stack's point (1.5 old, 1.8 new); a point that names no engines
    belongs to neither matrix stack."""
    root = tmp_path / "results"
    box = root / "box"
    box.mkdir(parents=True)
    (root / "benchmarks.json").write_text(json.dumps(INDEX))
    commit = "dddd4444" + "0" * 32
    old, new = stack_file(box, commit, OLD_STACK, 1.5), stack_file(box, commit, NEW_STACK, 1.8)
    lines = [{**point(1.5, "dddd4444-old", "dddd4444"), "engines": OLD_STACK},
             {**point(1.8, "dddd4444-new", "dddd4444"), "engines": NEW_STACK},
             point(9.0, "dddd4444-bare", "dddd4444")]
    (box / "points.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    assert [p["value"] for p in compare.result_set(str(old), root).points] == [1.5]
    assert [p["value"] for p in compare.result_set(str(new), root).points] == [1.8]


def test_a_file_of_an_existing_environment_takes_every_point_of_its_commit(tmp_path):
    """``bench_lib run`` measures in this Python (asv's ``existing``): its file names no
    engine versions, so every point of its commit is its own, with or without engines."""
    root = tmp_path / "results"
    box = root / "box"
    box.mkdir(parents=True)
    (root / "benchmarks.json").write_text(json.dumps(INDEX))
    path = result_file(box, "eeee5555" + "0" * 32, 1000, {SPEEDUP: speedups(1.2, 1.2)}, env="existing-py")
    lines = [{**point(1.2, "r1", "eeee5555"), "engines": NEW_STACK}, point(1.3, "r0", "eeee5555"),
             point(2.0, "r9", "ffff6666")]
    (box / "points.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    assert [p["value"] for p in compare.result_set(str(path), root).points] == [1.2, 1.3]


def test_a_point_records_the_engine_versions_of_its_process(tmp_path, monkeypatch):
    """What ``importlib.metadata`` says of this venv, asked here apart from the module."""
    import importlib.metadata as md

    from bench_lib.results import points

    monkeypatch.setenv("PARBENCH_COMMIT", "abcd1234")
    target = tmp_path / "points.jsonl"
    made_up = {k: v for k, v in point(1.0, "r", "c").items() if k not in ("commit", "run")}  # the run's: context
    assert points.write({**made_up, "half_width": 0.1, "samples_s": {}, "stopped": "precise",
                         "discarded": 0, "noisy": 0, "foreign_cores_max": 0.0, "malloc": "fixed"}, target)
    record = points.read(target)[0][0]
    assert record["commit"] == "abcd1234"
    assert record["engines"]["joblib"] == md.version("joblib")
    assert set(record["engines"]) == {"ray", "dask", "distributed", "joblib"}
