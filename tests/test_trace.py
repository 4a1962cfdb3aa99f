"""Trace arithmetic on hand-made spans (expected values worked out by hand in comments),
and a traced map's results in order. Engines' real traces: tests/test_engines.py."""

import pytest

from bench_lib import backends
from bench_lib.backends import trace
from bench_lib.backends.trace import Span
from bench_lib.measure import timeline


def spans():
    # worker A: two tasks, 1..3 (0.5 s of it unpickling its input) and 3..4; worker B: 2..4.
    # All handed over at 0; the clock reads 100 then (a monotonic clock starts anywhere).
    return [Span(1, "MainThread", 100.0, 101.0, 0.5, 103.0), Span(2, "MainThread", 100.0, 102.0, 0.0, 104.0),
            Span(1, "MainThread", 100.0, 103.0, 0.0, 104.0)]


def test_summary_by_hand():
    s = trace.summary(spans(), n_workers=2)
    # wall 4 s, capacity 2 x 4 = 8; busy A 3, B 2: 5 busy, 0.5 of it input
    assert s["wall_s"] == 4.0 and s["tasks"] == 3 and s["workers_seen"] == 2
    assert s["idle_share"] == pytest.approx(3 / 8)
    assert s["compute_share"] == pytest.approx(4.5 / 8)
    assert s["input_share"] == pytest.approx(0.5 / 8)
    assert s["median_wait_s"] == 2.0  # waits 1, 2, 3
    assert s["imbalance"] == pytest.approx(3 / 2.5)  # busiest 3 s over the mean of 2.5 s


def test_a_worker_that_never_ran_counts_as_idle():
    # n_workers=3 but only two workers ran: the third one's 4 s are idle, and the mean busy
    # time is over all three workers
    s = trace.summary(spans(), n_workers=3)
    assert s["idle_share"] == pytest.approx(1 - 5 / 12)
    assert s["imbalance"] == pytest.approx(3 / (5 / 3))


def test_summary_of_nothing_is_an_error():
    with pytest.raises(ValueError, match="^no spans: nothing was traced$"):
        trace.summary([], 2)


def test_rows_are_relative_to_the_first_hand_over_and_sorted_by_start():
    late = [Span(7, "t", 10.0, 12.0, None, 13.0), Span(8, "t", 10.5, 11.0, 0.25, 11.5)]
    assert timeline.rows(late) == [[8, "t", 0.5, 1.0, 0.25, 1.5], [7, "t", 0.0, 2.0, None, 3.0]]


def test_sentence_says_idle_wait_and_imbalance():
    record = {"backend": "dask", "summary": {"idle_share": 0.375, "median_wait_s": 0.0041, "imbalance": 1.2}}
    assert timeline.sentence(record) == ("dask: 38% idle; tasks wait a median 4.1 ms to start; "
                                         "busiest worker 1.20x the mean")


@pytest.mark.parametrize("name", ["serial", "threads"])
def test_a_traced_map_returns_results_in_order_and_a_span_per_task(name):
    with backends.get(name, 1 if name == "serial" else 2) as engine:
        items = list(range(20))
        with trace.recording() as recorded:
            out = engine.map(pow, items, 2)  # pow(2, item)
        assert out == [2 ** i for i in items]
        assert len(recorded.spans) == 20
        assert engine.map(pow, [3], 2) == [8] and len(recorded.spans) == 20  # off after the block
