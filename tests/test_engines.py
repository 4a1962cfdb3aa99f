"""Every engine through every overhead and ratio benchmark class, at the small size and
the most workers this machine runs, with each figure checked for what it means.

tests/test_benchmarks.py drives every class on a loop, a thread and a process backend;
here every engine goes through ``Startup``, ``Imports``, ``TaskOverhead``, ``Transfer``,
``PoolReuse``, ``Ratios`` and ``Gap`` once (the filter bank for the ratios: milliseconds
per round), and the ceiling once. The asv classes themselves are called, as asv calls
them. Expected values come from the samples the point recorded, worked out here with
numpy, from wall clocks read around the call, and from the filter bank's oracle (sums of
shifted images, tests/test_workloads.py), never from the code under test.

Warm figures run first, on one warm engine per module-scoped ``engine``; the cold ones
close it first, as asv's fresh process per benchmark would have none.
"""

import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import t as student_t

from bench_lib import backends, config, harness, workloads
from bench_lib.backends import trace
from bench_lib.measure import overhead, ratios
from test_workloads import check_answer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import overhead as ob, scaling as sb  # noqa: E402

# Written out, not computed: what each engine is, for the figures' meaning.
#   processes: tasks run in worker processes started for the engine (at the most workers)
#   spawned:   those workers start as new interpreters (nothing inherited from the caller)
#   ratio_variant: the filter bank variant a careful user runs (shared where it means something)
#   shared_transfer: the engine places an object once (threads share memory; multiprocessing
#                    restarts its pool to place one)
ENGINES = {
    "serial":                 dict(processes=False, spawned=False, ratio_variant=None, shared_transfer=False),
    "threads":                dict(processes=False, spawned=False, ratio_variant="naive", shared_transfer=False),
    "multiprocessing":        dict(processes=True, spawned=False, ratio_variant="shared", shared_transfer=False),
    "loky":                   dict(processes=True, spawned=True, ratio_variant="shared", shared_transfer=True),
    "joblib-threading":       dict(processes=False, spawned=False, ratio_variant="naive", shared_transfer=False),
    "joblib-multiprocessing": dict(processes=True, spawned=False, ratio_variant="shared", shared_transfer=True),
    "ray":                    dict(processes=True, spawned=True, ratio_variant="shared", shared_transfer=True),
    "dask":                   dict(processes=True, spawned=True, ratio_variant="shared", shared_transfer=True),
}
TOP = max(config.worker_counts())
COLD_STARTS_PER_CALL = {"ray"}  # seconds per start: its per-call map is not repeated here


def workers(name):
    return 1 if name == "serial" else TOP


def test_every_engine_is_in_the_table():
    assert sorted(ENGINES) == sorted(backends.names()) == sorted(harness.BACKENDS)


@pytest.fixture(scope="module", params=list(ENGINES))
def engine(request):
    """The engine's name; its warm backend (if any) is closed when its tests are done."""
    backends.close_all()
    yield request.param
    backends.close_all()


@pytest.fixture
def points_file(tmp_path, monkeypatch):
    path = tmp_path / "points.jsonl"
    monkeypatch.setenv("PARBENCH_POINTS", str(path))
    monkeypatch.setenv("PARBENCH_POINT_CAP_S", "0.3")  # a few rounds, not 3% precision
    monkeypatch.setenv("PARBENCH_GUARD", "off")  # other tests' processes are not foreign load here
    return path


def timed_call(fn, *args):
    started = time.perf_counter()
    value = fn(*args)
    return value, time.perf_counter() - started


def finite_positive(value):
    return isinstance(value, float) and math.isfinite(value) and value > 0


class Recorder:
    """Stands in for a benchmark's ``self.run``: runs it and keeps what the runs returned."""

    def __init__(self, run):
        self.run, self.results = run, []

    def __call__(self):
        result = self.run()
        self.results.append(result)
        return result


def filter_bank_inputs(n_workers):
    return workloads.get("filter_bank").inputs(config.size(), n_workers=n_workers, filter_size="5x5")


# -- warm figures ----------------------------------------------------------------------------
@pytest.mark.parametrize("path", overhead.PATHS)
def test_transfer(engine, path):
    bench = ob.Transfer()
    if path == "shared" and not ENGINES[engine]["shared_transfer"]:
        with pytest.raises(NotImplementedError):
            bench.setup(engine, path, 1)
        return
    bench.setup(engine, path, 1)
    assert bench.engine.n_workers == workers(engine) and bench.engine.started
    seconds, wall = timed_call(bench.track_transfer_seconds, engine, path, 1)
    # the median of 3 round trips: two of them at least as long, all within the call
    assert finite_positive(seconds) and 2 * seconds <= wall
    mbps, wall = timed_call(bench.track_transfer_mbps, engine, path, 1)
    # 2 MB per round trip over the median round trip; two round trips of at least the
    # median fit in the call
    assert finite_positive(mbps) and mbps >= 2 * 2 / wall


def test_task_overhead_on_a_reused_pool(engine):
    bench = ob.TaskOverhead()
    n = workers(engine)
    bench.setup(engine, n, "reused")
    per_task, wall = timed_call(bench.track_per_task, engine, n, "reused")
    tasks = ob.TASKS["small"]
    assert tasks == 50 and config.size() == "small"
    # median of 3 maps of 50 tasks: two maps of at least 50 x per_task fit in the call
    assert finite_positive(per_task) and 2 * tasks * per_task <= wall


def test_pool_reuse_on_a_reused_pool_gives_the_filter_bank(engine):
    bench = ob.PoolReuse()
    n = workers(engine)
    bench.setup(engine, n, "reused")
    bench.run = Recorder(bench.run)
    bench.time_filter_bank(engine, n, "reused")
    [result] = bench.run.results
    check_answer("filter_bank", filter_bank_inputs(n), result)


def point_of(path, kind):
    """The one point of ``kind`` written; a speedup and a gap come from one measurement."""
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    together = {"speedup", "gap"} if kind in ("speedup", "gap") else {kind}
    assert [p["kind"] for p in lines].count(kind) == 1 and {p["kind"] for p in lines} <= together, lines
    return next(p for p in lines if p["kind"] == kind)


def check_ratio(point, value, top, bottom):
    """A recorded ratio against its own samples, recomputed here with numpy."""
    a, b = np.array(point["samples_s"]["top"]), np.array(point["samples_s"]["bottom"])
    assert len(a) == len(b) == point["pairs"] >= 3 and (a > 0).all() and (b > 0).all()
    assert value == point["value"]  # what asv stores is what points.jsonl holds
    assert value == pytest.approx(math.exp(np.mean(np.log(a / b))), rel=1e-12)
    assert point["time_s"] == pytest.approx(math.exp(np.mean(np.log(b))), rel=1e-12)
    assert point["other_time_s"] == pytest.approx(math.exp(np.mean(np.log(a))), rel=1e-12)
    assert point["other_time_s"] / point["time_s"] == pytest.approx(value, rel=1e-12)
    low, high = point["ci"]
    assert low < value < high
    # the 95% t interval of the log-ratios, exponentiated
    logs = np.log(a / b)
    spread = student_t.ppf(0.975, len(logs) - 1) * logs.std(ddof=1) / math.sqrt(len(logs))
    assert low == pytest.approx(value * math.exp(-spread), rel=1e-9)
    assert high == pytest.approx(value * math.exp(spread), rel=1e-9)


def test_ratios_and_gap_of_the_filter_bank_are_one_measurement(engine, points_file, monkeypatch):
    """Ratios measures the speedup and, where its variant is 'shared', the naive arm in the
    same rounds; Gap, later in the run, reads its point back and measures nothing."""
    monkeypatch.setenv("PARBENCH_RUN", f"run-{engine}")  # one run: Gap finds the Ratios point
    bench, gap = sb.Ratios(), sb.Gap()
    variant = ENGINES[engine]["ratio_variant"]
    if variant is None:  # serial has one worker, and is the other side of every speedup
        for cls in (bench, gap):
            with pytest.raises(NotImplementedError):
                cls.setup("filter_bank", engine, TOP)
        return
    bench.setup("filter_bank", engine, TOP)
    value = bench.track_speedup("filter_bank", engine, TOP)
    point = point_of(points_file, "speedup")
    assert (point["workload"], point["backend"], point["n_workers"], point["variant"]) == (
        "filter_bank", engine, TOP, variant)
    check_ratio(point, value, "serial", engine)
    written = points_file.read_text()
    if variant != "shared":  # no 'shared' where memory is shared
        with pytest.raises(NotImplementedError):
            gap.setup("filter_bank", engine, TOP)
        checked = [variant]
    else:
        gap.setup("filter_bank", engine, TOP)
        value = gap.track_naive_to_shared("filter_bank", engine, TOP)
        assert points_file.read_text() == written  # read back, not measured again
        point = point_of(points_file, "gap")
        assert (point["backend"], point["variant"]) == (engine, "naive/shared")
        check_ratio(point, value, "naive", "shared")  # both arms measured, every round
        checked = ["naive", "shared"]
    # the arms it timed give the filter bank's answer
    for arm in checked:
        run = harness.prepare("filter_bank", engine, TOP, arm, filter_size="5x5")
        check_answer("filter_bank", filter_bank_inputs(TOP), run())


def test_a_runs_speedups_share_one_serial_baseline(points_file, monkeypatch):
    """With the run's group set, the first Ratios point of a workload times every backend
    of the group against one serial loop, in the same rounds; later points read theirs."""
    group = ["threads", "multiprocessing", "loky", "joblib-multiprocessing"]
    # serial is the baseline; Ray's and Dask's daemons use CPU while idle: each is its own pair
    monkeypatch.setenv("PARBENCH_SPEEDUP_GROUP", ",".join(["serial", *group, "ray", "dask"]))
    monkeypatch.setenv("PARBENCH_RUN", "run-1")
    bench = sb.Ratios()
    first = bench.track_speedup("filter_bank", "loky", TOP)
    lines = [json.loads(line) for line in points_file.read_text().splitlines()]
    speedups = {p["backend"]: p for p in lines if p["kind"] == "speedup"}
    gaps = {p["backend"]: p for p in lines if p["kind"] == "gap"}
    assert sorted(speedups) == sorted(group) and len(lines) == len(speedups) + len(gaps)
    # the gap pair (naive/shared) where the backend's speedup is of 'shared': the process pools
    assert sorted(gaps) == ["joblib-multiprocessing", "loky", "multiprocessing"]
    serial = lines[0]["samples_s"]["top"]  # speedup = serial (top) / backend (bottom)
    for point in speedups.values():
        assert point["group"] == sorted(group)
        assert point["samples_s"]["top"] == serial  # one baseline, the same rounds
        check_ratio(point, point["value"], "serial", point["backend"])
    for name, point in gaps.items():
        assert (point["group"], point["variant"], point["pairs"]) == (sorted(group), "naive/shared", len(serial))
        # the shared run is timed once: the gap's bottom is the speedup's own samples
        assert point["samples_s"]["bottom"] == speedups[name]["samples_s"]["bottom"]
        check_ratio(point, point["value"], "naive", "shared")
    assert first == speedups["loky"]["value"]
    # the next points of the run measure nothing, of either kind: the values are the ones recorded
    assert bench.track_speedup("filter_bank", "threads", TOP) == speedups["threads"]["value"]
    assert sb.Gap().track_naive_to_shared("filter_bank", "multiprocessing", TOP) == gaps["multiprocessing"]["value"]
    assert len(points_file.read_text().splitlines()) == len(lines)
    # each backend of the group traced once on its warm engine, after the rounds; Traces reads it back
    traces_file = points_file.with_name("traces.jsonl")
    traces = [json.loads(line) for line in traces_file.read_text().splitlines()]
    assert sorted((t["backend"], t["run"], t["variant"]) for t in traces) == sorted(
        (b, "run-1", speedups[b]["variant"]) for b in group)
    assert all(len(t["spans"]) == 3 for t in traces)  # three filters, one task each
    threads_trace = next(t for t in traces if t["backend"] == "threads")
    assert sb.Traces().track_idle_share("filter_bank", "threads", TOP) == threads_trace["summary"]["idle_share"]
    assert len(traces_file.read_text().splitlines()) == len(traces)
    # Dask idles loudly: measured on its own (its gap in the same rounds), not kept warm beside the group
    assert sb.Gap().track_naive_to_shared("filter_bank", "dask", TOP) > 0
    dask = [json.loads(line) for line in points_file.read_text().splitlines()[len(lines):]]
    assert sorted((p["kind"], p["backend"], tuple(p["group"])) for p in dask) == [
        ("gap", "dask", ("dask",)), ("speedup", "dask", ("dask",))]
    assert bench.track_speedup("filter_bank", "dask", TOP) == next(p["value"] for p in dask if p["kind"] == "speedup")
    points_file.write_text("\n".join(points_file.read_text().splitlines()[:len(lines)]) + "\n")
    # another run measures again, and a backend outside the group is measured on its own
    monkeypatch.setenv("PARBENCH_RUN", "run-2")
    monkeypatch.setenv("PARBENCH_SPEEDUP_GROUP", "threads,loky")
    bench.track_speedup("filter_bank", "joblib-threading", TOP)
    last = [json.loads(line) for line in points_file.read_text().splitlines()][len(lines):]
    assert [(p["kind"], p["backend"], p["group"]) for p in last] == [("speedup", "joblib-threading", ["joblib-threading"])]


def test_a_trace_that_fails_loses_no_measured_point(points_file, monkeypatch, capsys):
    """The points are written before the traces are taken: a trace that raises is said,
    the speedup stands, and Traces later takes one of its own."""
    from bench_lib.results import traces

    monkeypatch.setenv("PARBENCH_RUN", "run-1")
    take = traces.take

    def broken(*args):
        raise RuntimeError("tracer broke")

    monkeypatch.setattr(traces, "take", broken)
    value = sb.Ratios().track_speedup("filter_bank", "threads", TOP)
    [point] = [json.loads(line) for line in points_file.read_text().splitlines()]
    assert (point["kind"], point["backend"], point["value"]) == ("speedup", "threads", value)
    assert "threads's trace was not taken beside its speedup (RuntimeError('tracer broke'))" in capsys.readouterr().err
    traces_file = points_file.with_name("traces.jsonl")
    assert not traces_file.exists()
    monkeypatch.setattr(traces, "take", take)
    share = sb.Traces().track_idle_share("filter_bank", "threads", TOP)
    [line] = [json.loads(x) for x in traces_file.read_text().splitlines()]
    assert (line["backend"], line["run"], line["summary"]["idle_share"]) == ("threads", "run-1", share)


def test_traces_of_the_filter_bank(engine, points_file):
    """One traced run: a span per filter, on the engine's own workers, and the idle share
    recomputed here from the written rows (numpy, not trace.summary)."""
    bench = sb.Traces()
    variant = ENGINES[engine]["ratio_variant"]
    if variant is None:
        with pytest.raises(NotImplementedError):
            bench.setup("filter_bank", engine, TOP)
        return
    bench.setup("filter_bank", engine, TOP)
    value = bench.track_idle_share("filter_bank", engine, TOP)
    [line] = [json.loads(x) for x in points_file.with_name("traces.jsonl").read_text().splitlines()]
    assert (line["workload"], line["backend"], line["n_workers"], line["variant"]) == (
        "filter_bank", engine, TOP, variant)
    rows = line["spans"]
    assert len(rows) == 3  # three filters, one task each
    pid, thread, submitted, started, input_s, finished = (list(c) for c in zip(*rows))
    assert min(submitted) == 0.0 and all(a <= b <= c for a, b, c in zip(submitted, started, finished))
    run = harness.prepare("filter_bank", engine, TOP, variant, filter_size="5x5")
    with trace.recording():  # a traced run gives the filter bank's answer, in order
        check_answer("filter_bank", filter_bank_inputs(TOP), run())
    engine_obj = run.engine
    if ENGINES[engine]["processes"]:
        assert set(pid) <= set(engine_obj.worker_pids) and os.getpid() not in pid
    else:
        assert set(pid) == {os.getpid()}
    # Dask and Ray resolve a shared input before the task: no input time of its own
    assert all((s is None) == (engine in ("dask", "ray")) for s in input_s)
    wall = max(finished) - min(submitted)
    busy = np.array(finished) - np.array(started)
    # rows are rounded to 1 us: 8 roundings of up to 0.5 us each over the workers' time
    assert value == pytest.approx(1 - busy.sum() / (wall * TOP), abs=4e-6 / (wall * TOP))


# -- cold figures: no warm engine left ------------------------------------------------------
def test_startup(engine, no_children_left):
    """Three cold starts, each closed: no worker left behind."""
    backends.close_all()
    bench = ob.Startup()
    n = workers(engine)
    bench.setup(engine, n)
    start, wall = timed_call(bench.track_start, engine, n)
    assert finite_positive(start)
    # median of 3 starts, each timed with the workers' hold and then without it: two of
    # them (hold included) fit in the call
    hold = overhead.HOLD if ENGINES[engine]["processes"] else 0.0
    assert 2 * (start + hold) <= wall


def test_imports(engine, no_children_left):
    backends.close_all()
    bench = ob.Imports()
    n = workers(engine)
    bench.setup(engine, n, "scipy")
    cost, wall = timed_call(bench.track_imports, engine, n, "scipy")
    assert isinstance(cost, float) and math.isfinite(cost) and abs(cost) < wall
    if ENGINES[engine]["spawned"]:
        # new interpreters import scipy.signal, ndimage and interpolate on the first call
        assert cost > 0, cost


@pytest.mark.parametrize("benchmark", ["TaskOverhead", "PoolReuse"])
def test_a_new_pool_per_call(engine, benchmark, no_children_left):
    """A pool of the call's own, closed after it: no worker left behind."""
    if benchmark == "TaskOverhead" and engine in COLD_STARTS_PER_CALL:
        pytest.skip(f"{engine}: three cold starts; its cold start is measured by test_startup")
    backends.close_all()
    bench = getattr(ob, benchmark)()
    n = workers(engine)
    bench.setup(engine, n, "per-call")
    if benchmark == "TaskOverhead":
        per_task, wall = timed_call(bench.track_per_task, engine, n, "per-call")
        assert finite_positive(per_task) and 2 * ob.TASKS["small"] * per_task <= wall
    else:
        bench.run = Recorder(bench.run)
        bench.time_filter_bank(engine, n, "per-call")
        [result] = bench.run.results
        check_answer("filter_bank", filter_bank_inputs(n), result)


def test_ceiling_of_the_filter_bank():
    """Two copies at once against one alone: a real speedup, at most the copies' count
    (with room for timing noise)."""
    value = ratios.ceiling_speedup("filter_bank", TOP)
    assert finite_positive(value) and value <= TOP * 1.5
