"""The load windows around asv's own samples (bench_lib.measure.windows): which are recorded, with
what, and the parameters they name -- on a guard that reports loads set by hand. The real
thing, a busy loop beside a real run, is tests/test_runner.py's."""

import json

import pytest

from bench_lib import harness
from bench_lib.measure import protocol, runs, windows


class ScriptedGuard:
    """Reports the foreign CPU seconds of ``loads`` in turn, over 1 s windows, no steal;
    each load must be read between the two snapshots of its own window."""

    def __init__(self, loads):
        self.loads, self.taken = list(loads), 0

    def snapshot(self):
        self.taken += 1
        return self.taken

    def load(self, before, after):
        assert (before, after) == (self.taken - 1, self.taken), "not this window's snapshots"
        return protocol.Load(1.0, self.loads.pop(0), 0.0)


class FilterBank(harness.SteadyRuns):
    param_names = ["backend", "n_workers", "variant", "filter_size"]


class WithCache(harness.LongRuns):
    """Like ModelInference: asv passes setup_cache's result before the parameters."""

    param_names = ["backend", "n_workers"]


@pytest.fixture
def written(tmp_path, monkeypatch):
    path = tmp_path / "points.jsonl"
    monkeypatch.setenv("PARBENCH_POINTS", str(path))
    monkeypatch.setenv("PARBENCH_RUN", "r1")
    monkeypatch.setattr(windows, "_watched", set())
    return lambda: [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def samples(monkeypatch, bench, params, loads):
    """asv's sequence for one combination: setup (the window opens), a sample, teardown."""
    guard = ScriptedGuard(loads)
    monkeypatch.setattr(windows.protocol, "guard", lambda on: guard)
    for _ in loads:
        windows.begin()
        bench.teardown(*params)


def test_a_combinations_first_window_and_every_loud_one_are_recorded(monkeypatch, written):
    params = ("threads", 2, "naive", "5x5")
    # foreign CPU seconds per 1 s sample; the limit is 0.1 core (plus two clock ticks)
    samples(monkeypatch, FilterBank(), params, [0.0, 0.05, 0.5, 0.0, 0.9])
    out = written()
    assert [w["foreign_cores"] for w in out] == [0.0, 0.5, 0.9]
    assert [w["quiet"] for w in out] == [True, False, False]
    assert out[0]["benchmark"] == "test_windows.FilterBank"
    assert out[0]["params"] == {"backend": "threads", "n_workers": 2, "variant": "naive", "filter_size": "5x5"}
    assert out[0]["run"] == "r1" and out[0]["kind"] == "window" and out[0]["wall_s"] == 1.0
    samples(monkeypatch, FilterBank(), ("serial", 1, "naive", "5x5"), [0.0, 0.0])  # another combination
    assert [w["params"]["backend"] for w in written()] == ["threads"] * 3 + ["serial"]


def test_setup_caches_result_is_not_a_parameter_and_no_window_no_record(monkeypatch, written):
    samples(monkeypatch, WithCache(), ("/models/m.keras", "loky", 2), [0.0])
    assert written()[0]["params"] == {"backend": "loky", "n_workers": 2}
    assert windows.end(WithCache(), ("m", "loky", 2)) is None  # a teardown without a window
    assert len(written()) == 1


def test_outside_a_run_no_window_is_opened(monkeypatch):
    monkeypatch.delenv("PARBENCH_POINTS", raising=False)
    monkeypatch.setattr(windows.protocol, "guard", lambda on: pytest.fail("no guard outside a run"))
    windows.begin()
    assert windows.end(FilterBank(), ("serial", 1, "naive", "5x5")) is None


def test_the_class_name_drops_the_benchmarks_package():
    Bench = type("FilterBank", (), {"__module__": "benchmarks.filter_bank"})
    assert windows.benchmark_class(Bench()) == "filter_bank.FilterBank"


def test_a_window_record_by_hand():
    # 0.03 s of foreign CPU over 0.4567 s: 0.065689... cores; 1.23456% steal
    out = windows.record("x.X", {"n": 1}, protocol.Load(0.4567, 0.03, 0.0123456))
    assert out == {"kind": "window", "benchmark": "x.X", "params": {"n": 1}, "wall_s": 0.457,
                   "foreign_cores": 0.0657, "steal": 0.0123, "quiet": True}
    assert not windows.record("x.X", {}, protocol.Load(0.4567, 0.07, 0.0))["quiet"]  # 0.07 > 0.0457 + 0.02


def _asv_like(path: str, caller: str):
    """A function named ``caller``, compiled as if it were in ``path``, that calls
    ``do_teardown`` as asv_runner does, which calls harness.asv_is_done."""
    source = (f"def {caller}():\n    return do_teardown()\n"
              "def do_teardown():\n    return asv_is_done()\n")
    scope = {"asv_is_done": harness.asv_is_done}
    exec(compile(source, path, "exec"), scope)
    return scope[caller]


def test_only_asvs_teardown_before_the_process_ends_is_its_last():
    """asv_runner tears down from ``redo_setup`` around every sample, and from ``run._run``
    once at the end (then ``os._exit``): only that one closes the warm engines."""
    assert _asv_like("/x/asv_runner/run.py", "_run")() is True
    assert _asv_like("/x/asv_runner/benchmarks/_base.py", "redo_setup")() is False
    assert _asv_like("/x/other/run.py", "_run")() is False  # not asv's
    assert _asv_like("/x/asv_runner/run.py", "main")() is False
    assert harness.asv_is_done() is False  # a test calling teardown itself


def test_a_class_without_parameters_has_a_window_of_no_parameters(monkeypatch, written):
    class Graph(harness.Windowed):
        pass

    samples(monkeypatch, Graph(), (), [0.0])
    assert written()[0]["params"] == {} and written()[0]["benchmark"] == "test_windows.Graph"


class Clock:
    """time.perf_counter for windows, set by hand."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self):
        return self.now


def test_a_combinations_phases_add_its_setups_and_samples(tmp_path, monkeypatch):
    """Two setups (the first pays: engine 2 s, inputs 0.5 s, warm-up 1 s; the second
    0.25 s of cached inputs) and two samples of 3 s and 1 s: setup 3.75 s, sampling 4 s."""
    path = tmp_path / "points.jsonl"
    monkeypatch.setenv("PARBENCH_POINTS", str(path))
    monkeypatch.setenv("PARBENCH_RUN", "r1")
    monkeypatch.setattr(windows, "_phase", {})
    monkeypatch.setattr(windows, "_watched", set())  # this process's first window of the combination is kept
    monkeypatch.setattr(windows.protocol, "guard", lambda on: ScriptedGuard([0.0, 0.0]))
    clock = Clock()
    monkeypatch.setattr(windows, "time", clock)
    bench, params = FilterBank(), ("threads", 2, "naive", "5x5")
    for setup, sample in (((2.0, 0.5, 1.0), 3.0), ((0.0, 0.25, 0.0), 1.0)):
        windows.setup_took(*setup)
        windows.begin()
        clock.now += sample
        bench.teardown(*params)
    out = windows.finish("filter_bank.FilterBank.time_filter_bank", 7, life_s=10.0, teardown_s=0.5)
    expected = {"kind": "phases", "benchmark": "filter_bank.FilterBank.time_filter_bank", "index": 7, "life_s": 10.0,
                "setup_s": 3.75, "engine_s": 2.0, "inputs_s": 0.75, "warm_s": 1.0, "sampling_s": 4.0,
                "teardown_s": 0.5, "setups": 2, "samples": 2}
    assert out == expected
    written = json.loads((tmp_path / "phases.jsonl").read_text())
    assert {k: written[k] for k in expected} == expected and written["run"] == "r1"
    assert windows._phase == {}  # the next combination starts from nothing
    assert [r["kind"] for r in map(json.loads, path.read_text().splitlines())] == ["window"]  # no phase among points


def test_every_setup_says_its_parts_and_the_first_pays(monkeypatch):
    """harness.prepare reports each setup to the combination's phases: two prepares of one
    combination are two setups, and only the first runs the workload once (warm-up)."""
    monkeypatch.setattr(windows, "_phase", {})
    monkeypatch.setattr(runs, "_primed", set())
    monkeypatch.setattr(windows.points, "run_file", lambda name=None: None)
    for _ in range(2):
        harness.prepare("filter_bank", "serial", 1, "naive", filter_size="5x5")
        warm = windows._phase["warm_s"]
    out = windows.finish("filter_bank.FilterBank.time_filter_bank", 0, life_s=1.0, teardown_s=0.0)
    assert out["setups"] == 2 and out["samples"] == 0  # no sample was taken between
    assert out["warm_s"] > 0 and out["setup_s"] == pytest.approx(out["engine_s"] + out["inputs_s"] + out["warm_s"],
                                                                 abs=2e-4)
    harness.prepare("filter_bank", "serial", 1, "naive", filter_size="5x5")
    assert windows._phase["warm_s"] < warm  # primed already: nothing is run in setup


def test_a_window_holds_the_page_faults_of_its_sample(monkeypatch, written):
    """A sample that touches a fresh 100 MiB anonymous mapping faults in one page of 4 KiB
    at a time: 100 * 2**20 / 4096 = 25,600 minor faults at least, whatever the allocator
    (an mmap of its own, not malloc's)."""
    import mmap

    monkeypatch.setattr(windows.protocol, "guard", lambda on: ScriptedGuard([0.0]))
    windows.begin()
    block = mmap.mmap(-1, 100 << 20)
    block[::4096] = b"\x01" * (25_600)
    block.close()
    window = windows.end(FilterBank(), ("threads", 2, "naive", "5x5"))
    assert window["minor_faults"] >= 25_600 and window["major_faults"] >= 0
    assert written()[0]["minor_faults"] == window["minor_faults"]
