"""bench_lib.measure.timeline without an engine: which trace a point gets (this run's own, or
one taken here on a warm run), what tracing costs through the protocol on a clock the test
drives, and what ``python -m bench_lib.measure.timeline cost`` prints. Every expected
figure is worked out by hand from the fake durations."""

import math
import types

import pytest

from bench_lib import backends, workloads
from bench_lib.backends import trace
from bench_lib.measure import protocol, ratios, runs, timeline


class Run:
    """A prepared run that only counts its calls and advances the test's clock: 1 s a call,
    and ``traced[k]`` s for its k-th call inside ``trace.recording()`` (cycled)."""

    def __init__(self, clock=None, traced=(1.0,), variant="shared"):
        self.clock, self.traced, self.variant = clock, list(traced), variant
        self.calls, self.traced_calls = 0, 0

    def __call__(self):
        self.calls += 1
        if self.clock is None:
            return
        if trace.active() is not None:
            self.clock.now += self.traced[self.traced_calls % len(self.traced)]
            self.traced_calls += 1
        else:
            self.clock.now += 1.0


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def _prepare(monkeypatch, run, warm_before_timing=False):
    asked = []

    def prepare_best(workload, backend, n_workers):
        asked.append((workload, backend, n_workers))
        return run

    monkeypatch.setattr(ratios, "prepare_best", prepare_best)
    monkeypatch.setattr(workloads, "get", lambda name: types.SimpleNamespace(warm_before_timing=warm_before_timing))
    return asked


def test_a_trace_this_run_already_took_is_returned_and_nothing_is_prepared(monkeypatch):
    taken = {"kind": "trace", "workload": "filter_bank", "backend": "ray", "n_workers": 2}
    looked = []
    monkeypatch.setattr(timeline, "recorded", lambda *point: looked.append(point) or taken)
    asked = _prepare(monkeypatch, Run())
    monkeypatch.setattr(timeline, "take", lambda run: pytest.fail("traced again"))
    assert timeline.traced("filter_bank", "ray", 2) is taken
    assert looked == [("filter_bank", "ray", 2)] and asked == []


@pytest.mark.parametrize("warm_before_timing, calls_before_take", [(False, 1), (True, 0)])
def test_without_a_trace_one_is_taken_here_on_a_warm_run(monkeypatch, warm_before_timing, calls_before_take):
    """A workload its prepare leaves cold gets one untraced call first; one already warm
    goes straight to the trace."""
    run = Run()
    monkeypatch.setattr(timeline, "recorded", lambda *point: None)
    asked = _prepare(monkeypatch, run, warm_before_timing)
    seen = []
    monkeypatch.setattr(timeline, "take", lambda r: seen.append((r, r.calls)) or {"trace": "here"})
    assert timeline.traced("interpolators", "dask", 1) == {"trace": "here"}
    assert asked == [("interpolators", "dask", 1)]
    assert seen == [(run, calls_before_take)]


class CountingGuard(protocol.NoGuard):
    def __init__(self):
        self.snapshots = 0

    def snapshot(self):
        self.snapshots += 1


def test_tracing_cost_is_traced_over_untraced_time_stopped_by_the_point_cap(monkeypatch):
    """Untraced calls take 1 s, traced ones 1.25, 1.5, 1.25, ... s: never within +-3%, so the
    rounds run until the point cap (7 s here). Rounds end at 2.25, 4.75 and 7.0 s: three
    pairs, ratios 1.25, 1.5, 1.25, geometric mean (1.25 * 1.5 * 1.25) ** (1/3)."""
    clock = Clock()
    run = Run(clock, traced=(1.25, 1.5), variant="pinned")
    _prepare(monkeypatch, run)
    guard = CountingGuard()
    monkeypatch.setattr(ratios, "guard", lambda: guard)
    monkeypatch.setenv("PARBENCH_POINT_CAP_S", "7")
    found = timeline.tracing_cost("filter_bank", "threads", 2, clock=clock)
    assert found["workload"] == "filter_bank" and found["backend"] == "threads" and found["n_workers"] == 2
    assert found["variant"] == "pinned" and found["pairs"] == 3
    assert found["ratio"] == pytest.approx((1.25 * 1.5 * 1.25) ** (1 / 3), rel=1e-12)
    # the three log ratios' t interval: mean +- t(0.975, 2) * sd / sqrt(3), t(0.975, 2) = 4.302653
    logs = [math.log(1.25), math.log(1.5), math.log(1.25)]
    mean = sum(logs) / 3
    sd = math.sqrt(sum((x - mean) ** 2 for x in logs) / 2)
    half = 4.302653 * sd / math.sqrt(3)
    assert found["ci"] == pytest.approx([math.exp(mean - half), math.exp(mean + half)], rel=1e-5)
    assert run.calls == 6 and run.traced_calls == 3
    assert guard.snapshots == 12  # the guard of ratios.guard(), around each of the six samples


def test_a_time_cap_given_overrides_the_point_cap(monkeypatch):
    """The same calls with ``time_cap_s=12``: rounds end at 2.25, 4.75, 7.0, 9.5, 11.75 and
    14.25 s, so six pairs."""
    clock = Clock()
    _prepare(monkeypatch, Run(clock, traced=(1.25, 1.5)))
    monkeypatch.setattr(ratios, "guard", lambda: protocol.NoGuard())
    monkeypatch.setenv("PARBENCH_POINT_CAP_S", "7")
    found = timeline.tracing_cost("filter_bank", "threads", 2, clock=clock, time_cap_s=12)
    assert found["pairs"] == 6
    assert found["ratio"] == pytest.approx((1.25 * 1.5) ** (1 / 2), rel=1e-12)  # three of each


def test_tracing_that_costs_nothing_stops_at_the_least_rounds(monkeypatch):
    """Traced and untraced calls both take 1 s: the interval is 1 +- 0 after three rounds."""
    clock = Clock()
    _prepare(monkeypatch, Run(clock, traced=(1.0,)))
    monkeypatch.setattr(ratios, "guard", lambda: protocol.NoGuard())
    found = timeline.tracing_cost("convolve2d", "ray", 1, clock=clock)
    assert found["pairs"] == 3 and found["ratio"] == 1.0 and found["ci"] == [1.0, 1.0]


@pytest.fixture
def costs(monkeypatch):
    """The cost command with its measurement faked: each backend's line, and the closes."""
    asked, closed = [], []

    def tracing_cost(workload, backend, n_workers):
        asked.append((workload, backend, n_workers))
        if backend == "broken":
            raise RuntimeError("worker died")
        return {"ratio": 1.0414, "ci": [0.98765, 1.10449], "pairs": 12}

    monkeypatch.setattr(timeline, "tracing_cost", tracing_cost)
    monkeypatch.setattr(backends, "close_all", lambda: closed.append(len(asked)))
    monkeypatch.setattr(backends, "names", lambda: ["serial", "threads", "ray"])
    monkeypatch.setattr(runs, "n_workers", lambda: [1, 2, 4])
    monkeypatch.setenv("PARBENCH_SIZE", "small")
    return asked, closed


def test_the_cost_command_measures_every_backend_but_serial_at_the_most_workers(costs, capsys):
    asked, closed = costs
    assert timeline.main(["cost"]) == 0
    assert asked == [("filter_bank", "threads", 4), ("filter_bank", "ray", 4)]
    assert closed == [1, 2]  # the engines closed after each backend
    assert capsys.readouterr().out.splitlines() == [
        "traced / untraced time of one filter_bank run at n_workers=4 (small size), paired, 95% interval:",
        "  threads                 1.041  [0.988, 1.104]  12 pairs",
        "  ray                     1.041  [0.988, 1.104]  12 pairs",
    ]


def test_the_cost_command_takes_a_workload_and_backends_and_closes_engines_on_failure(costs, capsys):
    asked, closed = costs
    assert timeline.main(["cost", "interpolators", "ray"]) == 0
    assert asked == [("interpolators", "ray", 4)]
    assert capsys.readouterr().out.splitlines()[1] == "  ray                     1.041  [0.988, 1.104]  12 pairs"
    with pytest.raises(RuntimeError, match="worker died"):
        timeline.main(["cost", "filter_bank", "broken", "ray"])
    assert closed == [1, 2]  # closed after the failing backend too; ray never ran
    with pytest.raises(SystemExit) as stop:
        timeline.main(["trace"])
    assert stop.value.code == 2
