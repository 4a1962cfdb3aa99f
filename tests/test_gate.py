"""The regression gate (bench_lib.compare) in-process: interval rules on hand-made points
whose answers are worked out by hand, then the real thing -- two measurements of one
backend (A/A) pass, a backend slowed in this test (registered here only) is caught."""

import math
import time

import pytest

from bench_lib import backends, compare, protocol, ratios, report
from bench_lib.backends.threads import ThreadsBackend


def point(value, half=None, backend="threads", workload="filter_bank", n=2, pairs=5):
    """A speedup record with an interval of +-``half`` on the log scale (exp(+-half))."""
    ci = [None, None] if half is None else [value * math.exp(-half), value * math.exp(half)]
    return {"kind": "speedup", "workload": workload, "backend": backend, "n_workers": n,
            "variant": "naive", "value": value, "ci": ci, "pairs": pairs}


def machine(*records):
    return report.Machine("m", points=list(records))


def test_identical_points_pass():
    changes, worse, missing = compare.compare(machine(point(2.0, 0.02)), machine(point(2.0, 0.02)), 1.2)
    assert len(changes) == 1 and worse == [] and missing == []
    assert changes[0].ratio == 1.0


def test_a_30_percent_drop_with_narrow_intervals_is_a_regression():
    # new/base = 0.7, log half-width sqrt(0.02^2 + 0.02^2) = 0.0283: the interval's top
    # 0.7 * e^0.0283 = 0.720 lies below 1/1.2 = 0.833; the bottom 0.7 * e^-0.0283 = 0.680
    changes, worse, _ = compare.compare(machine(point(2.0, 0.02)), machine(point(1.4, 0.02)), 1.2)
    assert worse == changes and len(worse) == 1
    iv = worse[0].interval
    assert iv.estimate == pytest.approx(0.7)
    assert iv.high == pytest.approx(0.7 * math.exp(math.sqrt(2) * 0.02))
    assert iv.low == pytest.approx(0.7 * math.exp(-math.sqrt(2) * 0.02))
    assert "-30%" in str(worse[0]) and "interval -32% .. -28%" in str(worse[0])


def test_a_drop_whose_interval_reaches_past_the_factor_is_not_called():
    # new/base = 0.8 (< 1/1.2 as a point), but log half-width sqrt(0.1^2 + 0.1^2) = 0.141:
    # the top 0.8 * e^0.141 = 0.921 is above 0.833: not shown to be worse
    _, worse, _ = compare.compare(machine(point(2.0, 0.1)), machine(point(1.6, 0.1)), 1.2)
    assert worse == []
    # the same drop with half-widths of 0.01 (top 0.8 * e^0.0141 = 0.811) is caught
    _, worse, _ = compare.compare(machine(point(2.0, 0.01)), machine(point(1.6, 0.01)), 1.2)
    assert len(worse) == 1


def test_the_interval_bound_is_strict_at_one_over_factor():
    # top of the interval exactly at 1/factor: not wholly below it
    change = compare.Change("s", {}, 1.0, 0.5, protocol.Interval(0.5, 0.4, 0.5, 3))
    assert not change.worse(2.0)
    assert change.worse(1.99)


def test_points_without_intervals_fall_back_to_the_factor_on_the_values():
    changes, worse, _ = compare.compare(machine(point(2.0)), machine(point(1.6)), 1.2)
    assert len(changes) == 1 and len(worse) == 1  # 1.6 < 2.0 / 1.2 = 1.667
    _, worse, _ = compare.compare(machine(point(2.0)), machine(point(1.7)), 1.2)
    assert worse == []
    assert compare.Change("s", {}, 2.0, 1.0).worse(1.99) and not compare.Change("s", {}, 2.0, 1.0).worse(2.0)


def test_a_point_missing_in_new_is_reported_and_an_improvement_is_not():
    base = machine(point(2.0, 0.02), point(1.5, 0.02, backend="loky"))
    new = machine(point(3.0, 0.02))
    changes, worse, missing = compare.compare(base, new, 1.2)
    assert [c.params["backend"] for c in changes] == ["threads"] and worse == []
    assert missing == [(report.SPEEDUP, {"workload": "filter_bank", "backend": "loky", "n_workers": 2})]


def test_newest_point_of_a_key_wins():
    base = machine(point(2.0, 0.02))
    new = machine(point(1.0, 0.02), point(2.0, 0.02))  # the later line replaces the earlier
    _, worse, _ = compare.compare(base, new, 1.2)
    assert worse == []


def test_factor_below_one_is_refused():
    with pytest.raises(ValueError, match="factor must be >= 1"):
        compare.compare(machine(), machine(), 0.9)


def test_load_windows_alone_do_not_replace_the_asv_series_in_the_gate():
    """Two asv-only runs carry load windows in points.jsonl but no speedup points: the gate
    compares their asv series (a halved track_speedup fails), not the empty set of points."""
    window = {"kind": "window", "benchmark": "filter_bank.FilterBank", "params": {}, "quiet": True}

    def with_speedup(value):
        m = machine(window)
        m.series[report.SPEEDUP] = report.Series(report.SPEEDUP, ["workload", "backend", "n_workers"],
                                                 [["filter_bank"], ["threads"], [2]], [value], "c0ffee00")
        return m

    changes, worse, _ = compare.compare(with_speedup(2.0), with_speedup(1.0), 1.2)
    assert [(c.base, c.new) for c in changes] == [(2.0, 1.0)] and len(worse) == 1


class SlowedThreads(ThreadsBackend):
    """threads, plus 30 ms per map: a backend that got slower (this test's only)."""

    name = "slowed-threads"

    def _map(self, fn, items, data):
        time.sleep(0.03)
        return super()._map(fn, items, data)


@pytest.fixture
def slowed():
    backends.register("slowed-threads", SlowedThreads)
    yield "slowed-threads"
    backends.close_all()
    backends._REGISTRY.pop("slowed-threads", None)


def test_real_a_a_passes_and_a_slowed_backend_is_caught(slowed, no_children_left):
    # The real foreign-load guard, as a run uses it: with NoGuard a burst of load from a
    # process outside the test (an engine of an earlier test winding down) once read as a
    # 0.77x -> 0.27x regression of threads.
    options = {"min_rounds": 5, "max_rounds": 12, "time_cap_s": 5.0, "guard": protocol.Guard()}
    try:
        first, again, slow = (ratios.speedups("filter_bank", [name], 2, **options)["speedup"][name]
                              for name in ("threads", "threads", slowed))
    finally:
        backends.close_all()
    _, worse, _ = compare.compare(machine(first), machine(again), 1.2)
    assert worse == [], [str(c) for c in worse]
    slow["backend"] = "threads"  # the same point, measured after the slowdown
    _, worse, _ = compare.compare(machine(first), machine(slow), 1.2)
    assert len(worse) == 1, (first, slow)


def test_agreement_by_hand():
    a = [point(2.0, 0.01), point(1.0, 0.01, backend="loky"), point(0.5, 0.01, backend="dask")]
    b = [point(2.09, 0.01), point(1.2, 0.1, backend="loky"), point(0.6, 0.01, backend="dask")]
    # threads: 4.5% apart; loky 20% apart but [1.086, 1.326] overlaps [0.990, 1.010]? no:
    # 1.2 * e^-0.1 = 1.086 > 1.010; dask: 20% apart, [0.594, 0.606] vs [0.495, 0.505]: no
    agreed, both, winners = compare.agreement(machine(*a), machine(*b))
    assert (agreed, both) == (1, 3)
    assert winners == {"filter_bank": ("threads", "threads")}
    b[1] = point(1.2, 0.2, backend="loky")  # 1.2 * e^-0.2 = 0.982 < 1.010: overlaps
    assert compare.agreement(machine(*a), machine(*b))[0] == 2
    assert compare.agrees(point(2.0), point(2.09)) and compare.agrees(point(2.0), point(1.91)) and not compare.agrees(point(2.0), point(2.11, 0.001))


def test_a_recommendation_changed_only_when_no_backend_is_in_both():
    assert compare.change("threads", "threads") == ""
    assert compare.change("tie: loky/threads", "tie: loky/threads") == ""
    assert compare.change("tie: loky/ray/threads", "tie: loky/threads") == "tie members differ"
    assert compare.change("threads", "tie: loky/threads") == "tie members differ"
    assert compare.change("tie: loky/multiprocessing", "tie: ray/threads") == "CHANGED"
    assert compare.change("threads", "loky") == "CHANGED"
    assert compare.change("serial", "threads") == "CHANGED"
    assert compare.members("tie: dask/loky") == {"dask", "loky"} and compare.members("serial") == {"serial"}


def test_winner_by_hand():
    assert compare.winner([point(2.0, 0.01), point(1.5, 0.01, backend="loky")]) == "threads"
    assert compare.winner([point(2.0, 0.1), point(1.9, 0.01, backend="loky")]) == "tie: loky/threads"
    assert compare.winner([point(1.9, 0.1), point(2.0, 0.01, backend="loky")]) == "tie: loky/threads"
    # every backend whose interval reaches the fastest one's is in the tie, not only the second
    three = [point(2.0, 0.05), point(1.95, 0.01, backend="loky"), point(1.92, 0.05, backend="dask"),
             point(1.5, 0.01, backend="ray")]
    assert compare.winner(three) == "tie: dask/loky/threads"
    assert compare.winner([point(0.9, 0.01), point(0.8, 0.01, backend="loky")]) == "serial"
    assert compare.winner([point(0.9, 0.01, n=1), point(1.2, 0.01, backend="loky")]) == "loky"


def test_agreement_boundaries_and_winners_of_each_side():
    assert compare.agrees(point(1.0), point(1.0625), within=0.0625)  # exactly at the bound
    assert compare.winner([point(1.0, 0.01)]) == "threads"  # 1.00x is not below the loop
    base = [point(2.0, 0.01), point(1.5, 0.01, backend="loky"), point(5.0, 0.01, backend="ray"),
            point(1.2, 0.01, workload="convolve2d"), point(9.0, 0.01, backend="dask", workload="convolve2d")]
    new = [point(1.5, 0.01), point(2.0, 0.01, backend="loky"), point(1.2, 0.01, workload="convolve2d")]
    agreed, both, winners = compare.agreement(machine(*base), machine(*new))
    # ray and dask were measured in base only: they take part in neither side's choice
    assert both == 3 and agreed == 1
    assert winners == {"convolve2d": ("threads", "threads"), "filter_bank": ("threads", "loky")}
