"""The upgrade check (bench_lib.run.upgrade) without building environments: a fake stack
runner hands back speedup records written here by hand, so every expected figure is
worked out on paper from them."""

import importlib.metadata as md
import json
import math
import os
import sys
from pathlib import Path

import pytest

from bench_lib import cli
from bench_lib.run import upgrade

ROOT = Path(__file__).resolve().parent.parent
OLD = upgrade.Stack("virtualenv-old", Path("/nowhere/old/bin/python"),
                    {"ray": "2.55.1", "dask": "2026.1.2", "distributed": "2026.1.2", "joblib": "1.5.3"})
NEW = upgrade.Stack("virtualenv-new", Path("/nowhere/new/bin/python"),
                    {"ray": "2.60.0", "dask": "2026.8.0", "distributed": "2026.8.0", "joblib": "1.6.0"})
TODO = [upgrade.Point("filter_bank", "threads", 2), upgrade.Point("filter_bank", "loky", 2),
        upgrade.Point("convolve2d", "ray", 2)]
SPEEDUP = {"threads": 1.6, "loky": 1.9, "ray": 1.4}


def record(value, within=1.02):
    """A speedup measured to within a factor ``within`` either way."""
    return {"value": value, "ci": [value / within, value * within], "pairs": 10}


def fake(slower=None, factor=1.25, within=1.02, calls=None):
    """A stack runner: each point's speedup from SPEEDUP, the backend ``slower`` made
    ``factor`` times slower on the new stack only (a test-only injection)."""
    def measure(stack, point):
        if calls is not None:
            calls.append((stack.env_name, point.backend))
        value = SPEEDUP[point.backend]
        if stack is NEW and point.backend == slower:
            value /= factor
        return record(value, within)
    return measure


def run(measure, factor=1.2):
    outcomes = upgrade.check(OLD, NEW, TODO, measure, say=lambda line: None)
    return outcomes, upgrade.status(outcomes, factor)


def test_a_a_of_two_identical_stacks_exits_0():
    outcomes, status = run(fake())
    assert status == 0
    assert [o.change.estimate for o in outcomes] == pytest.approx([1.0, 1.0, 1.0])


def test_a_backend_made_125x_slower_on_the_new_stack_is_caught():
    """threads 1.6 -> 1.28: new / old 0.8 with log half-width sqrt(2) ln 1.02 = 0.02801,
    so its interval tops out at 0.8 e^0.02801 = 0.8227 < 1/1.2 = 0.8333: caught."""
    outcomes, status = run(fake(slower="threads"))
    assert status == 1
    caught = [o for o in outcomes if o.regressed(1.2)]
    assert [o.point.backend for o in caught] == ["threads"]
    assert caught[0].change.estimate == pytest.approx(0.8)
    assert caught[0].change.high == pytest.approx(0.8227, abs=1e-4)


def test_a_slowdown_whose_interval_reaches_past_the_factor_is_not_called():
    """Each side within 10%: log half-width sqrt(2) ln 1.1 = 0.1348, so 0.8's interval
    reaches 0.8 e^0.1348 = 0.9155, above 1/1.2: too imprecise to call."""
    outcomes, status = run(fake(slower="threads", within=1.1))
    assert status == 0
    assert outcomes[0].change.high == pytest.approx(0.9155, abs=1e-4)


def test_the_stacks_alternate_which_goes_first():
    calls = []
    run(fake(calls=calls))
    assert calls == [("virtualenv-old", "threads"), ("virtualenv-new", "threads"),
                     ("virtualenv-new", "loky"), ("virtualenv-old", "loky"),
                     ("virtualenv-old", "ray"), ("virtualenv-new", "ray")]


def test_the_smallest_detectable_change_by_hand():
    """Both sides within 2%: exp(sqrt(2) ln 1.02) = 1.0284; no interval: none."""
    outcomes, _ = run(fake())
    assert outcomes[0].detectable == pytest.approx(1.0284, abs=1e-4)
    bare = upgrade.compare(TODO[0], {"value": 1.5}, {"value": 1.5})
    assert math.isinf(bare.detectable) and not bare.regressed(1.0)


def test_each_point_is_one_line_with_its_interval_and_the_versions():
    outcomes, _ = run(fake(slower="threads"))
    text = upgrade.lines(OLD, NEW, outcomes, 1.2)
    assert text[0] == "old: ray 2.55.1 dask 2026.1.2 distributed 2026.1.2 joblib 1.5.3"
    assert text[1] == "new: ray 2.60.0 dask 2026.8.0 distributed 2026.8.0 joblib 1.6.0"
    assert text[2] == ("filter_bank threads n=2: 1.60x -> 1.28x, new/old 0.80 [0.78, 0.82], "
                       "detectable beyond x1.03 either way  REGRESSION")
    assert text[3].startswith("filter_bank loky n=2: 1.90x -> 1.90x, new/old 1.00 [0.97, 1.03]")
    assert text[-1].startswith("1 of 3 points slower")


def test_progress_gives_an_eta_from_the_points_done():
    """A fake clock: 10 s per point, so after the first of three, 20 s are left."""
    ticks = iter([0.0, 10.0, 20.0, 30.0])
    said = []
    upgrade.check(OLD, NEW, TODO, fake(), say=said.append, clock=lambda: next(ticks))
    assert said[0] == "[1/3] filter_bank threads n=2: 10s spent, ~20s left"
    assert said[2] == "[3/3] convolve2d ray n=2: 30s spent, ~0s left"


def test_the_older_ray_is_old_and_stacks_are_named_by_their_env():
    assert upgrade.pick([NEW, OLD], None) == (OLD, NEW)
    assert upgrade.pick([OLD, NEW], ["new", "old"]) == (NEW, OLD)
    with pytest.raises(ValueError, match="matches 2"):
        upgrade.pick([OLD, NEW], ["virtualenv", "new"])
    with pytest.raises(ValueError, match="has 1 environments"):
        upgrade.pick([OLD], None)


def test_the_stacks_are_asv_conf_jsons_matrix(tmp_path, monkeypatch):
    """asv.conf.json pins two stacks whole (its excludes): these versions are written there;
    their environments are the checkout's, whatever the working directory."""
    monkeypatch.chdir(tmp_path)
    found = upgrade.stacks(ROOT)
    assert sorted(s.label for s in found) == [
        "ray 2.55.1 dask 2026.1.2 distributed 2026.1.2 joblib 1.5.3",
        "ray 2.60.0 dask 2026.8.0 distributed 2026.8.0 joblib 1.6.0"]
    assert all(s.python.parent.parent.parent == ROOT / ".asv" / "env" for s in found)


def test_a_missing_environment_is_one_line_naming_asvs_command(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(upgrade, "stacks", lambda root: [OLD, NEW])
    assert cli.main(["upgrade-check"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "python -m asv setup" in err[0] and "ray 2.55.1" in err[0]


def test_the_speedup_points_are_asvs_combinations():
    """--bench narrows them by asv's names; none matching is no point."""
    todo = upgrade.speedup_points(ROOT, r"'filter_bank', 'threads'")
    assert todo and {(p.workload, p.backend) for p in todo} == {("filter_bank", "threads")}
    assert upgrade.speedup_points(ROOT, "no-such-workload") == []


def test_a_point_runs_in_the_stacks_own_python_and_lands_under_its_run(tmp_path, monkeypatch):
    """This venv as a stack, one small point: the record comes back on stdout, and the
    points file holds it under the stack's run id with this venv's engine versions."""
    monkeypatch.setenv("PARBENCH_SIZE", "small")
    here = upgrade.Stack("existing", Path(sys.executable), {"ray": "9.9"})
    env = dict(os.environ, PARBENCH_POINTS=str(tmp_path / "points.jsonl"),
               PARBENCH_COMMIT="abcd1234", PARBENCH_MACHINE="box")
    got = upgrade.runner(ROOT, env, "abcd1234-upgrade-t")(here, upgrade.Point("filter_bank", "threads", 2))
    assert got["value"] > 0 and got["engines"]["joblib"] == md.version("joblib")
    lines = [json.loads(x) for x in (tmp_path / "points.jsonl").read_text().splitlines()]
    speedup = [x for x in lines if x.get("kind") == "speedup"]
    assert [x["run"] for x in speedup] == ["abcd1234-upgrade-t-ray9.9"]
    assert speedup[0]["value"] == got["value"] and speedup[0]["engines"] == got["engines"]


def test_each_stacks_speedups_become_its_asv_result_file(tmp_path):
    """asv's index knows two backends of one workload; the stack measured threads (1.6):
    its file holds 1.6 there and nothing for loky, under the stack's params; a second save
    of loky (1.9) keeps threads."""
    from bench_lib.publish import report

    results = tmp_path / "results"
    (results / "box").mkdir(parents=True)
    (results / "benchmarks.json").write_text(json.dumps({upgrade.BENCHMARK: {
        "name": upgrade.BENCHMARK, "param_names": ["workload", "backend", "n_workers"], "type": "track",
        "params": [["'filter_bank'"], ["'threads'", "'loky'"], ["2"]], "unit": "x", "version": "v1"}}))
    stack = upgrade.Stack(OLD.env_name, OLD.python, OLD.versions, {**OLD.versions, "numpy": "2.4.6"}, "3.11")
    commit = "abcd1234" + "0" * 32
    path = upgrade.save(results, "box", commit, stack, {TODO[0]: record(1.6)})
    assert path == results / "box" / "abcd1234-virtualenv-old.json"
    data = report.read_file(path)
    assert data["params"] == {"machine": "box", "python": "3.11", **OLD.versions, "numpy": "2.4.6"}
    values = data["results"][upgrade.BENCHMARK][0]
    assert values[0] == 1.6 and math.isnan(values[1])
    upgrade.save(results, "box", commit, stack, {TODO[1]: record(1.9)})
    assert report.read_file(path)["results"][upgrade.BENCHMARK][0] == [1.6, 1.9]


def test_the_command_exits_1_on_an_injected_slowdown_and_writes_both_stacks(tmp_path, monkeypatch, capsys):
    """The whole command on a checkout of its own, with the fake stack runner: threads made
    1.25x slower on the new stack exits 1 and names it; both stacks' asv files are written."""
    import subprocess

    (tmp_path / "asv.conf.json").write_text("{}")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "t"],
                   cwd=tmp_path, check=True)
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "benchmarks.json").write_text(json.dumps({upgrade.BENCHMARK: {
        "name": upgrade.BENCHMARK, "param_names": ["workload", "backend", "n_workers"], "type": "track",
        "params": [["'filter_bank'"], ["'threads'", "'loky'"], ["2"]], "unit": "x", "version": "v1"}}))
    built = [upgrade.Stack(s.env_name, Path(sys.executable), s.versions) for s in (OLD, NEW)]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PARBENCH_SIZE", "small")  # small sizes go to their own series, as run's do
    monkeypatch.setattr(upgrade, "stacks", lambda root: built)
    monkeypatch.setattr(upgrade, "speedup_points", lambda root, bench: TODO[:2])
    slower = fake(slower="threads")
    monkeypatch.setattr(upgrade, "runner", lambda root, env, run_id: lambda stack, point: slower(
        OLD if stack is built[0] else NEW, point))
    assert cli.main(["upgrade-check", "--machine", "box"]) == 1
    out = capsys.readouterr().out
    assert "filter_bank threads n=2: 1.60x -> 1.28x" in out and "REGRESSION" in out
    assert sorted(p.name for p in (tmp_path / "results" / "box-small").glob("*.json")) == [
        f"{cli._git(tmp_path, 'rev-parse', 'HEAD')[:8]}-{s.env_name}.json" for s in (NEW, OLD)]
    monkeypatch.setattr(upgrade, "runner", lambda root, env, run_id: fake())
    assert cli.main(["upgrade-check", "--machine", "box", "--factor", "1.1"]) == 0


def test_a_point_that_fails_in_its_stack_says_where_in_one_line(tmp_path):
    """A stack whose interpreter cannot run the point: its last line of stderr, named."""
    broken = upgrade.Stack("broken", Path(sys.executable), {"ray": "0"})
    env = dict(os.environ, PARBENCH_POINTS=str(tmp_path / "points.jsonl"))
    with pytest.raises(RuntimeError, match=r"^no_such_workload threads n=2 on ray 0 failed: .+"):
        upgrade.runner(ROOT, env, "r")(broken, upgrade.Point("no_such_workload", "threads", 2))


def test_a_point_failing_mid_check_exits_1_not_2(tmp_path, monkeypatch, capsys):
    """2 says nothing started; a point that failed in its stack is run's 1."""
    (tmp_path / "asv.conf.json").write_text("{}")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(upgrade, "stacks", lambda root: [upgrade.Stack(s.env_name, Path(sys.executable), s.versions)
                                                         for s in (OLD, NEW)])
    monkeypatch.setattr(upgrade, "speedup_points", lambda root, bench: TODO[:1])
    monkeypatch.setattr(cli, "_git", lambda root, *args: "abcd1234" * 5)

    def fails(root, env, run_id):
        def measure(stack, point):
            raise RuntimeError(f"{point} on {stack.label} failed: boom")
        return measure
    monkeypatch.setattr(upgrade, "runner", fails)
    assert cli.main(["upgrade-check", "--machine", "box"]) == 1
    assert capsys.readouterr().err.strip() == "parbench: filter_bank threads n=2 on ray 2.55.1 dask 2026.1.2 " \
        "distributed 2026.1.2 joblib 1.5.3 failed: boom"


def test_a_bad_bench_pattern_is_one_line(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    assert cli.main(["upgrade-check", "--bench", "("]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--bench '(' is not a regular expression" in err[0]


def test_one_stack_named_twice_keeps_both_measurements():
    """An A/A on one environment: the first point measures old then new, here 1.0 then
    2.0, so new / old is 2.0 (not the second measurement against itself)."""
    values = iter([1.0, 2.0])
    outcomes = upgrade.check(OLD, OLD, TODO[:1], lambda stack, point: record(next(values)), say=lambda line: None)
    assert outcomes[0].change.estimate == pytest.approx(2.0)


def stack_point(run, ray, value, low, high, backend="ray", workload="filter_bank"):
    return {"kind": "speedup", "run": f"{run}-ray{ray}", "workload": workload, "backend": backend, "n_workers": 2,
            "value": value, "ci": [low, high], "pairs": 10, "engines": {"ray": ray, "dask": "d" + ray}}


def test_the_newest_recorded_check_pairs_each_stacks_points_by_hand():
    """Old is the older Ray (2.9 < 2.10: numbers, not text); an older check and asv's own
    runs are left out; new / old of a pair with intervals [1.9, 2.1] over [0.95, 1.05]."""
    records = [stack_point("aaaa-upgrade-20261201T000000", "2.9.0", 9.0, 8.0, 10.0),  # an older check
               stack_point("bbbb-upgrade-20261207T000000", "2.10.0", 2.0, 2.0, 2.0),
               stack_point("bbbb-upgrade-20261207T000000", "2.9.0", 1.0, 1.0, 1.0),
               stack_point("bbbb-upgrade-20261207T000000", "2.10.0", 0.5, 0.45, 0.55, backend="dask"),
               stack_point("bbbb-upgrade-20261207T000000", "2.9.0", 1.0, 0.95, 1.05, backend="dask"),
               {**stack_point("bbbb-20261207T000000", "", 5.0, 5.0, 5.0), "run": "bbbb-20261207T000000"}]
    old, new, outcomes = upgrade.recorded(records)
    assert (old["ray"], new["ray"]) == ("2.9.0", "2.10.0")
    by = {o.point.backend: o.change for o in outcomes}
    assert set(by) == {"ray", "dask"}
    assert by["ray"].estimate == pytest.approx(2.0)
    # dask: 0.5 / 1.0; each side's log half-width, ln(0.55 / 0.45) / 2 = 0.1003 and
    # ln(1.05 / 0.95) / 2 = 0.0500, combine in quadrature: 0.1121, so
    # [0.5 e^-0.1121, 0.5 e^0.1121] = [0.447, 0.559]
    assert by["dask"].estimate == pytest.approx(0.5)
    assert (by["dask"].low, by["dask"].high) == (pytest.approx(0.447, abs=0.001), pytest.approx(0.559, abs=0.001))
    table = "\n".join(upgrade.markdown(old, new, outcomes, 1.2))
    assert "| filter_bank | dask | 2 | 1.00x | 0.50x | 0.50 [0.45, 0.56]" in table
    assert "slower beyond 1/1.2" in table.split("| dask |")[1].splitlines()[0]
    assert upgrade.recorded(records[-1:]) == ({}, {}, [])


def test_the_recorded_check_is_printed_from_results_with_its_status(tmp_path, monkeypatch, capsys):
    """``upgrade-check --recorded`` measures nothing: it prints the newest check of the
    machine's points, a line per point, and exits as the check did (1: dask fell to 0.5x)."""
    (tmp_path / "asv.conf.json").write_text("{}")
    folder = tmp_path / "results" / "box"
    folder.mkdir(parents=True)
    check = "bbbb-upgrade-20261207T000000"
    lines = [stack_point(check, "2.10.0", 2.0, 1.9, 2.1), stack_point(check, "2.9.0", 1.0, 0.95, 1.05),
             stack_point(check, "2.10.0", 0.5, 0.45, 0.55, backend="dask"),
             stack_point(check, "2.9.0", 1.0, 0.95, 1.05, backend="dask")]
    (folder / "points.jsonl").write_text("".join(json.dumps({**r, "machine": "box", "commit": "bbbb"}) + "\n"
                                                 for r in lines))
    monkeypatch.chdir(tmp_path)
    assert cli.main(["upgrade-check", "--recorded", "--machine", "box"]) == 1
    out = capsys.readouterr().out
    assert f"upgrade check {check} (2 points)" in out
    assert "filter_bank dask n=2: 1.00x -> 0.50x, new/old 0.50 [0.45, 0.56]" in out and "REGRESSION" in out
    assert "filter_bank ray n=2: 1.00x -> 2.00x, new/old 2.00" in out
    assert cli.main(["upgrade-check", "--recorded", "--machine", "box", "--factor", "2.5"]) == 0
    capsys.readouterr()
    assert cli.main(["upgrade-check", "--recorded", "--machine", "empty"]) == 2
    assert "no upgrade check is recorded" in capsys.readouterr().err
