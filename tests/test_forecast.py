"""The forecast (bench_lib.publish.forecast) on hand-made result folders whose answers are worked
out by hand below, then the command on the committed results and the README's table."""

import contextlib
import dataclasses
import io
import itertools
import json
import re
import unittest.mock
from pathlib import Path

import pytest

from bench_lib import cli, workloads
from bench_lib.publish import forecast

ROOT = Path(__file__).resolve().parent.parent
README_COMMAND = ".venv/bin/python -m bench_lib forecast --workers 2 --max-measured 1 --machine vm-2core-24gb-xeon"
TIME = {"filter_bank": "filter_bank.FilterBank.time_filter_bank",
        "convolve2d": "convolve2d.Convolve2D.time_convolve2d",
        "model_inference": "model_inference.ModelInference.time_rounds"}
PER_TASK = "overhead.TaskOverhead.track_per_task"
CEILING = "scaling.Ceiling.track_ceiling_speedup"
TIME_AXES = ["backend", "n_workers", "variant"]


def write_results(folder: Path, series: dict[str, tuple[list[str], list[list], dict[tuple, float | tuple]]]):
    """One asv result file: ``series`` maps a benchmark to (param names, axes, values by
    combination); a value may be (value, ci_low, ci_high)."""
    results, index = {}, {}
    for name, (names, axes, values) in series.items():
        combos = list(itertools.product(*axes))
        cells = [values.get(c) for c in combos]
        val = [c[0] if isinstance(c, tuple) else c for c in cells]
        low = [c[1] if isinstance(c, tuple) else None for c in cells]
        high = [c[2] if isinstance(c, tuple) else None for c in cells]
        results[name] = [val, [[repr(v) for v in axis] for axis in axes], low, high]
        index[name] = {"param_names": names, "unit": "seconds"}
    machine = folder / "m"
    machine.mkdir(parents=True)
    (folder / "benchmarks.json").write_text(json.dumps(index))
    (machine / "c0ffee00-existing.json").write_text(json.dumps({
        "commit_hash": "c0ffee00" * 5, "date": 1,
        "result_columns": ["result", "params", "stats_ci_99_a", "stats_ci_99_b"], "results": results}))
    return folder


def run(*args: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["forecast", *args]) == 0
    return out.getvalue()


def rows(folder: Path, n: int, fitted: int, ceilings_to: int | None = None) -> dict[tuple[str, str], forecast.Forecast]:
    from bench_lib.results import asv_results

    [machine] = asv_results.load(folder)
    return {(w, f.backend): f for w, fs in forecast.table(machine, n, fitted, ceilings_to).items() for f in fs}


# -- the terms -------------------------------------------------------------------------------
def test_memory_share_and_parallelism_by_hand():
    assert forecast.memory_share(1.6, 2) == pytest.approx(0.25)  # 2 / 1.6 = 1 + m
    assert forecast.memory_share(2.0, 2) == 0.0
    assert forecast.memory_share(2.5, 2) == 0.0  # above ideal: clipped, no negative share
    assert forecast.parallelism(3, 2, 0.0) == pytest.approx(1.5)  # 3 tasks on 2: two rounds
    assert forecast.parallelism(4, 2, 0.25) == pytest.approx(2 / 1.25)
    assert forecast.parallelism(16, 8, 0.0) == pytest.approx(8.0)
    assert forecast.parallelism(4, 8, 0.0) == pytest.approx(4.0)  # never more busy than tasks


# -- hand-made machines ----------------------------------------------------------------------
@pytest.fixture
def strong(tmp_path):
    """filter_bank (3 tasks): serial 100 ms [90, 110]; threads 110 ms [100, 120] at n=1 and
    70 ms at n=2; threads per task 1 ms at n=1. loky has its n=1 (in the caller); dask only n=2."""
    return write_results(tmp_path, {
        TIME["filter_bank"]: (TIME_AXES, [["serial", "threads", "loky", "dask"], [1, 2], ["naive"]], {
            ("serial", 1, "naive"): (0.100, 0.090, 0.110), ("threads", 1, "naive"): (0.110, 0.100, 0.120),
            ("threads", 2, "naive"): 0.070, ("loky", 1, "naive"): 0.1, ("loky", 2, "naive"): 0.06,
            ("dask", 2, "naive"): 0.08}),
        PER_TASK: (["backend", "n_workers", "pool"], [["threads", "loky", "dask"], [1, 2], ["reused"]], {
            ("threads", 1, "reused"): 0.001, ("loky", 1, "reused"): 0.001, ("dask", 1, "reused"): 0.001}),
    })


def test_n2_from_n1_alone_by_hand(strong):
    f = rows(strong, 2, 1)[("filter_bank", "threads")]
    # D = 3 x 1 ms; T(2) = 0.003 + (0.110 - 0.003) / 1.5 (3 tasks on 2 workers)
    assert f.time_s == pytest.approx(0.003 + 0.107 / 1.5)
    assert f.speedup == pytest.approx(0.100 / 0.0743333, rel=1e-5)
    assert f.measured_speedup == pytest.approx(0.100 / 0.070)
    assert f.error == pytest.approx(0.070 / 0.0743333 - 1, rel=1e-5)
    # the interval: T(1) over [100, 120] ms, serial over [90, 110] ms
    assert f.time_ci == pytest.approx((0.003 + 0.097 / 1.5, 0.003 + 0.117 / 1.5))
    assert f.speedup_ci == pytest.approx((0.090 / 0.081, 0.110 / 0.0676667), rel=1e-5)
    assert set(f.notes) == {"memory-scales", "s=0", "gil"}


def test_a_thread_pools_serial_share_at_n1_is_its_measured_gil_share(tmp_path):
    """The strong fixture's threads, with scaling.GilHeld saying half the run holds the GIL."""
    gil = {"scaling.GilHeld.track_gil_held_share": (["workload"], [["filter_bank"]], {("filter_bank",): 0.5})}
    folder = write_results(tmp_path, {**gil, TIME["filter_bank"]: (TIME_AXES, [["serial", "threads"], [1, 2], ["naive"]], {
        ("serial", 1, "naive"): 0.100, ("threads", 1, "naive"): 0.110, ("threads", 2, "naive"): 0.090}),
        PER_TASK: (["backend", "n_workers", "pool"], [["threads"], [1], ["reused"]], {("threads", 1, "reused"): 0.001})})
    f = rows(folder, 2, 1)[("filter_bank", "threads")]
    # T(2) = 0.003 + (0.110 - 0.003) x (0.5 + 0.5 / 1.5): half overlaps on 3 tasks over 2 threads
    assert f.time_s == pytest.approx(0.003 + 0.107 * (0.5 + 0.5 / 1.5))
    assert f.error == pytest.approx(0.090 / (0.003 + 0.107 * (0.5 + 0.5 / 1.5)) - 1)
    assert set(f.notes) == {"memory-scales", "gil-held"}


@pytest.mark.parametrize("lock, s, note", [(0.9, 0.9, "lock-held"), (0.3, 0.5, "gil-held")])
def test_a_thread_pools_serial_share_is_its_librarys_lock_share_where_that_is_larger(tmp_path, lock, s, note):
    """As above (GIL-held 0.5), with scaling.LockHeld measuring ``lock`` of the run inside
    the library's own lock or the GIL: the larger of the two is what threads cannot overlap."""
    shares = {"scaling.GilHeld.track_gil_held_share": (["workload"], [["filter_bank"]], {("filter_bank",): 0.5}),
              "scaling.LockHeld.track_lock_held_share": (["workload"], [["filter_bank"]], {("filter_bank",): lock})}
    folder = write_results(tmp_path, {**shares, TIME["filter_bank"]: (TIME_AXES, [["serial", "threads"], [1, 2], ["naive"]], {
        ("serial", 1, "naive"): 0.100, ("threads", 1, "naive"): 0.110, ("threads", 2, "naive"): 0.090}),
        PER_TASK: (["backend", "n_workers", "pool"], [["threads"], [1], ["reused"]], {("threads", 1, "reused"): 0.001})})
    f = rows(folder, 2, 1)[("filter_bank", "threads")]
    # T(2) = 0.003 + (0.110 - 0.003) x (s + (1 - s) / 1.5): 3 tasks over 2 threads
    assert f.time_s == pytest.approx(0.003 + 0.107 * (s + (1 - s) / 1.5))
    assert set(f.notes) == {"memory-scales", note}


def test_an_interval_reaching_below_zero_seconds_leaves_the_speedup_unbounded(tmp_path):
    """asv's 99% interval of two samples can go below 0 s: serial 100 ms [-20, 220] ms, threads
    110 ms [-30, 250] ms at n=1 (per task 1 ms, 3 tasks). T(2) = 0.003 + 0.107 / 1.5; its
    corners 0.003 + (-0.033 / 1.5) < 0 and 0.003 + 0.247 / 1.5: the low one is clipped to 0."""
    folder = write_results(tmp_path, {TIME["filter_bank"]: (TIME_AXES, [["serial", "threads"], [1, 2], ["naive"]], {
        ("serial", 1, "naive"): (0.100, -0.020, 0.220), ("threads", 1, "naive"): (0.110, -0.030, 0.250),
        ("threads", 2, "naive"): 0.080}),
        PER_TASK: (["backend", "n_workers", "pool"], [["threads"], [1], ["reused"]], {("threads", 1, "reused"): 0.001})})
    f = rows(folder, 2, 1)[("filter_bank", "threads")]
    assert f.time_ci == pytest.approx((0.0, 0.003 + 0.247 / 1.5))
    assert f.speedup_ci == (0.0, float("inf"))  # serial's low bound clipped to 0 s too
    assert f.speedup == pytest.approx(0.100 / (0.003 + 0.107 / 1.5))


def test_what_the_model_cannot_say(strong):
    table = rows(strong, 2, 1)
    assert "in the caller" in table[("filter_bank", "loky")].cannot  # joblib's n_jobs=1: no pool
    assert table[("filter_bank", "dask")].cannot == "no time at n_workers=1 (measured at 2)"
    assert table[("filter_bank", "loky")].speedup is None


def test_a_fitted_serial_share_and_memory_share_carry_to_four_workers(tmp_path):
    """convolve2d (4 tasks): serial 1 s; multiprocessing 1.02 s at n=1, 0.62 s at n=2, 5 ms
    per task; the ceiling at 2 is 1.95x, so m = 2 / 1.95 - 1 = 1/39. D(1) = D(2) = 20 ms.
    g(2) = 2 / (1 + 1/39) = 1.95; (0.62 - 0.02) / 1.0 = 0.6 = s + (1 - s) / 1.95, s = 17/95.
    g(4) = 4 / (1 + 3/39) = 156/42; T(4) = 0.02 + 17/95 + (78/95) / (156/42) = 0.42 s."""
    folder = write_results(tmp_path, {
        TIME["convolve2d"]: (TIME_AXES, [["serial", "multiprocessing"], [1, 2], ["shared"]], {
            ("serial", 1, "shared"): 1.0, ("multiprocessing", 1, "shared"): 1.02,
            ("multiprocessing", 2, "shared"): 0.62}),
        PER_TASK: (["backend", "n_workers", "pool"], [["multiprocessing"], [1, 2], ["reused"]], {
            ("multiprocessing", 1, "reused"): 0.005, ("multiprocessing", 2, "reused"): 0.005}),
        CEILING: (["workload", "n_workers"], [["convolve2d", "filter_bank"], [1, 2]], {
            ("convolve2d", 1): 1.0, ("convolve2d", 2): 1.95, ("filter_bank", 2): 1.5}),
    })
    f = rows(folder, 4, 2)[("convolve2d", "multiprocessing")]
    assert f.time_s == pytest.approx(0.42)
    assert f.speedup == pytest.approx(1 / 0.42)
    assert f.measured_speedup is None and f.notes == ["m-held"]


def test_past_a_memory_bound_ceiling_it_cannot_say(tmp_path):
    folder = write_results(tmp_path, {
        TIME["filter_bank"]: (TIME_AXES, [["serial", "multiprocessing"], [1, 2], ["naive"]], {
            ("serial", 1, "naive"): 1.0, ("multiprocessing", 1, "naive"): 1.0,
            ("multiprocessing", 2, "naive"): 0.7}),
        PER_TASK: (["backend", "n_workers", "pool"], [["multiprocessing"], [1], ["reused"]],
                   {("multiprocessing", 1, "reused"): 0.0}),
        CEILING: (["workload", "n_workers"], [["filter_bank"], [2]], {("filter_bank", 2): 1.5}),
    })
    f = rows(folder, 4, 2)[("filter_bank", "multiprocessing")]
    assert f.cannot == ("memory bandwidth at n=4 unknown: the ceiling at n=2 (1.50x) shows a "
                        "memory-bound share of 33%")
    # fitted on n=1 only the ceiling at 2 is not used: bandwidth assumed to scale, said so
    f = rows(folder, 2, 1)[("filter_bank", "multiprocessing")]
    assert f.time_s == pytest.approx(1.0 / 1.5) and "memory-scales" in f.notes
    # unless the machine's ceiling at 2 is let in: m = 2 / 1.5 - 1 = 1/3, 3 tasks on 2 workers:
    # g(2) = 3 / ceil(3 / 2) / (1 + 1/3) = 9/8, T(2) = 0 + 1.0 x 8/9
    f = rows(folder, 2, 1, ceilings_to=2)[("filter_bank", "multiprocessing")]
    assert f.time_s == pytest.approx(8 / 9) and f.notes == ["s=0"]


def test_weak_scaling_grows_the_work_and_the_tasks(tmp_path):
    """model_inference, 3 rounds: ray 1.1 s at n=1, 10 ms per task. At n=2: 6 tasks, D = 60 ms,
    the work doubles over 2 workers: T(2) = 0.06 + (1.1 - 0.03) x 2 / 2 = 1.13 s, speedup
    2 x 1.0 / 1.13."""
    folder = write_results(tmp_path, {
        TIME["model_inference"]: (TIME_AXES, [["serial", "ray"], [1], ["per-worker"]], {
            ("serial", 1, "per-worker"): 1.0, ("ray", 1, "per-worker"): 1.1}),
        PER_TASK: (["backend", "n_workers", "pool"], [["ray"], [1], ["reused"]], {("ray", 1, "reused"): 0.01}),
    })
    f = rows(folder, 2, 1)[("model_inference", "ray")]
    assert f.time_s == pytest.approx(1.13)
    assert f.speedup == pytest.approx(2 / 1.13)


def test_the_command_on_hand_made_results_prints_the_forecast_and_its_error(strong):
    out = run("--workers", "2", "--max-measured", "1", "--results", str(strong))
    line = next(x for x in out.splitlines() if x.startswith("threads "))
    assert line.split()[2:7] == ["0.074", "1.35x", "[1.11,", "1.63]", "1.43x"]  # 0.1/0.0743, 0.1/0.07
    assert "-6%" in line  # 0.07 / 0.0743 - 1
    assert "median absolute error 5.8% over 1 measured points" in out
    assert out.splitlines()[0].endswith("up to 1 only")  # no ceiling let in past the fitted counts
    assert "-- convolve2d: cannot say: no convolve2d.Convolve2D.time_convolve2d on this machine" in out


def test_the_command_refuses_a_count_it_cannot_fit(strong, capsys):
    assert cli.main(["forecast", "--workers", "1", "--results", str(strong)]) == 2
    assert "fits on n_workers=1 at least" in capsys.readouterr().err
    assert cli.main(["forecast", "--workers", "2", "--ceilings-up-to", "3", "--results", str(strong)]) == 2
    assert "--ceilings-up-to must lie between the fitted count (1) and --workers (2)" in capsys.readouterr().err


# -- the committed results and the README ------------------------------------------------------
def readme_section() -> str:
    """docs/forecast.md's "Forecast past this machine" section (once the README's)."""
    return (ROOT / "docs" / "forecast.md").read_text().split("## Forecast past this machine", 1)[1].split("\n## ", 1)[0]


def readme_prose() -> str:
    """The section's words, on one line."""
    return " ".join(readme_section().split())


def errors_by_row(out: str) -> dict[tuple[str, str], int]:
    """(workload, backend) -> the error in % printed by ``forecast``."""
    return {(w, line.split()[0]): int(e) for w, block in re.findall(r"-- (\w+)\n(.*?)\n\n", out, re.S)
            for line in block.splitlines() for e in re.findall(r"x +([+-]\d+)%", line)}


def test_committed_results_print_predictions_and_errors_against_n2():
    out = run(*README_COMMAND.split()[4:])
    assert "fitted on the counts measured up to 1 only" in out
    assert "until traces exist" in out and "a forecast, not a measurement" in out
    errors = re.findall(r"\d\.\d\dx +[+-]\d+%", out)
    assert len(errors) >= 10
    assert re.search(r"median absolute error [\d.]+% over \d+ measured points", out)


# -- the report's dashed lines ------------------------------------------------------------------
def test_the_report_draws_the_forecast_dashed_past_the_measured_n(strong, monkeypatch):
    """threads fitted on n=1 and 2: (0.070 - 0.003) / 0.107 is below 1 / 1.5, so s = 0 (clipped);
    at 4 workers the 3 tasks take one round: T = 0.003 + 0.107 / 3, and 8 workers the same."""
    import matplotlib.pyplot as plt

    from bench_lib.results import asv_results
    from bench_lib.publish import report
    from bench_lib.publish.site import report_page

    [machine] = asv_results.load(strong)
    ahead = forecast.curve(machine, "filter_bank", [4, 8])
    assert set(ahead) == {"threads", "loky"}  # dask: no time at n=1
    assert ahead["threads"] == [(4, pytest.approx(0.1 / (0.003 + 0.107 / 3))),
                                (8, pytest.approx(0.1 / (0.003 + 0.107 / 3)))]
    figures = []
    monkeypatch.setattr(plt, "close", figures.append)
    table = report.rows(machine, "filter_bank")
    assert report_page.workload_figure(machine, "filter_bank", table, strong / "f.svg", ahead)
    speed = figures[0].axes[0]
    dashed = [line for line in speed.lines if line.get_linestyle() == "--"]
    assert [list(line.get_xdata()) for line in dashed] == [[2, 4, 8]] * 2  # from the measured n=2 on
    assert {line.get_markerfacecolor() for line in dashed} == {"none"}  # hollow: not a measurement


SECOND_XEON = "vm-2core-24gb-xeon-2.80ghz"
SECOND_COMMAND = f".venv/bin/python -m bench_lib forecast --workers 2 --max-measured 1 --machine {SECOND_XEON}"
FIRST_RUN_FILE = "1caf82fd-existing-py_work_main_.venv_bin_python.json"
AGAIN_FILE = "afd1886f-existing-py_work_main_.venv_bin_python.json"


def test_the_readmes_figures_of_the_library_lock_are_the_commands(monkeypatch):
    """The README's lock paragraph: the shares committed on the second Xeon series, the
    forecast's errors with scaling.LockHeld, and without it (the GIL's share alone)."""
    prose = readme_prose()
    machine = SECOND_COMMAND.split()[4:]
    with_lock = errors_by_row(run(*machine))
    assert (with_lock[("interpolators", "threads")], with_lock[("interpolators", "joblib-threading")]) == (23, 36)
    assert "threads are +23% and joblib-threading +36% off their measured 1.07x and 1.23x" in prose
    monkeypatch.setattr(forecast, "LOCK", "no such benchmark")
    gil_only = errors_by_row(run(*machine))
    assert (gil_only[("interpolators", "threads")], gil_only[("interpolators", "joblib-threading")]) == (66, 83)
    assert "they are +66% and +83%" in prose
    from bench_lib.results import asv_results

    [m] = [m for m in asv_results.load(ROOT / "results") if m.name == SECOND_XEON]
    shares = {name: m.value(name, workload="interpolators") for name in (forecast.GIL, "scaling.LockHeld.track_lock_held_share")}
    assert [round(v * 100) for v in shares.values()] == [27, 72]
    first = series(FIRST_RUN_FILE, forecast.GIL)  # the lock's run, before the GIL was measured again
    assert round(first.get(workload="interpolators") * 100) == 13
    assert "held 72% of the serial run" in prose and "the GIL alone 13% in that run and 27% when measured again" in prose


def series(file: str, benchmark: str):
    """One benchmark's series from one committed result file of the second Xeon."""
    from bench_lib.results import asv_results

    m = asv_results.Machine("one file")
    asv_results.add_results(m, asv_results.read_file(ROOT / "results" / SECOND_XEON / file),
                            asv_results.read_index(ROOT / "results"))
    return m.series[benchmark]


def test_the_readmes_second_cpu_table_and_its_noise_are_the_committed_results():
    """The README's table for the second Xeon is the command's output; the serial times and
    load windows its words quote are those of the committed runs."""
    section = readme_section()
    block = section.split(SECOND_COMMAND + "\n```\n\n```text\n", 1)[1].split("\n```", 1)[0]
    assert block == run(*SECOND_COMMAND.split()[4:]).rstrip("\n")
    median = re.search(r"median absolute error ([\d.]+%)", block).group(1)
    prose = readme_prose()
    assert f"On this CPU the median absolute error is {median}" in prose
    headline = "interpolators.Interpolators.time_interpolators"
    at = {"variant": "pickle-self", "grid": 300, "n_workers": 1}
    assert round(series(FIRST_RUN_FILE, headline).get(backend="serial", **at), 2) == 13.84
    again = series(AGAIN_FILE, headline)
    assert round(again.get(backend="serial", **at), 2) == 24.69 and round(again.get(backend="threads", **at), 2) == 20.85
    assert "took 13.84 s in run `1caf82fd` and 24.69 s in run" in prose and "took 20.85 s" in prose
    from bench_lib.results import points

    records, unreadable = points.read(ROOT / "results" / SECOND_XEON / points.FILE)
    windows = [w for w in records if w.get("kind") == "window"]
    assert unreadable == 0
    first = [w for w in windows if w["run"] == "afd1886f-20261201T054157"]
    loud = [w for w in first if not w["quiet"]]
    assert (len(first), len(loud), sum(w["steal"] > 0.05 for w in loud), sum(w["foreign_cores"] > 0.1 for w in loud)) == (302, 203, 201, 3)
    assert round(max(w["steal"] for w in first) * 100) == 37
    second = [w for w in windows if w["run"] == "afd1886f-20261201T070143"]
    assert second and all(w["quiet"] for w in second) and round(max(w["steal"] for w in second) * 100) == 3
    assert "203 of 302 load windows were not quiet: 201 for the host's steal" in prose
    assert "(up to 37%), 3 for foreign processes" in prose and "(steal at most 3%)" in prose
    runs = {json.loads(line)["run"]: json.loads(line)["quiet"]
            for line in (ROOT / "results" / SECOND_XEON / "sysinfo.jsonl").read_text().splitlines()}
    assert (runs["afd1886f-20261201T054157"]["windows_not_quiet"], runs["afd1886f-20261201T054157"]["windows"]) == (72, 143)
    assert "(72 of its 143 timed combinations, as its line in `sysinfo.jsonl` records)" in prose


def test_the_generated_table_of_the_miss_is_what_the_command_prints():
    """Each series' row of docs/forecast.md (docs/generate.py sums the forecasts itself): its
    median error and the points inside the interval are what the command prints, fitted on
    n=1 alone and with the machine's ceiling at n=2 let in."""
    text = (ROOT / "docs" / "forecast.md").read_text()
    rows_seen = re.findall(r"^\| ([\w.-]+) \| (\d+) \| ([\d.]+%) \((\d+) of \d+\) \| ([\d.]+%) \((\d+) of \d+\) \|",
                           text, re.M)
    assert len(rows_seen) >= 4
    for machine, count, alone, inside_alone, with_ceiling, inside_with in rows_seen:
        for extra, median, inside in (((), alone, inside_alone), (("--ceilings-up-to", "2"), with_ceiling, inside_with)):
            out = run("--workers", "2", "--max-measured", "1", *extra, "--machine", machine)
            assert (f"median absolute error {median} over {count} measured points" in out
                    and f"inside the interval for {inside} of {count}" in out), (machine, extra)


def test_task_counts_come_from_each_workload_as_counted_by_hand():
    """Full-size tasks per run, counted from each workload's module by hand: 3 filters,
    a strong batch of 4 images, 4 x 4 tiles of the volume, 50 splines; a batched variant
    and a workload that states no count run one task per worker."""
    assert {w: forecast.tasks(w, "naive", 2) for w in ("filter_bank", "convolve2d", "volume_gaussian",
                                                      "interpolators")} == {
        "filter_bank": 3, "convolve2d": 4, "volume_gaussian": 16, "interpolators": 50}
    assert forecast.tasks("interpolators", "batched", 2) == 2
    assert forecast.tasks("model_inference", "naive", 2) == 3 * 2  # weak: 3 rounds of one task a worker
    plugin = dataclasses.replace(workloads.get("filter_bank"), tasks=None)
    with unittest.mock.patch.object(workloads, "get", return_value=plugin):
        assert forecast.tasks("filter_bank", "naive", 5) == 5
