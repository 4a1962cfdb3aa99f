"""The GIL probe (bench_lib.gil): its arithmetic by hand, and real runs whose share is known
by construction -- a sleep releases the GIL, pure Python and one long C call hold it."""

import functools
import time

import pytest

from bench_lib import gil


def test_held_share_by_hand():
    assert gil.held_share(1.0, 1.0, 1.0) == 0.0  # released: the probe ran at full rate
    assert gil.held_share(1.0, 1.0, 0.0) == 1.0  # held in C: the probe stood still, the run did not slow
    assert gil.held_share(1.0, 2.0, 0.5) == 1.0  # bytecode: turns taken, the run twice as long
    # a = 0.5 s held in C, b = 1.0 s released, c = 0.5 s bytecode: T = 2.0, T_p = 2.5,
    # the probe counts for b + c = 1.5 s of 2.5 s: (1 - 0.6) x 2.5 / 2.0 = 0.5 = (a + c) / T
    assert gil.held_share(2.0, 2.5, 0.6) == pytest.approx(0.5)
    assert gil.held_share(1.0, 1.0, 1.3) == 0.0  # a noisy probe faster than alone: clipped
    with pytest.raises(ValueError, match="took 0"):
        gil.held_share(0, 1.0, 0.5)


def _python(n: int = 400_000) -> int:
    total = 0
    for i in range(n):
        total += i
    return total


def _held_in_c() -> int:
    return sum(range(10_000_000))  # one C call: no bytecode boundary to hand the GIL over at


@pytest.mark.parametrize("fn, low, high", [
    (functools.partial(time.sleep, 0.1), 0.0, 0.2),
    (_python, 0.65, 1.0),
    (_held_in_c, 0.65, 1.0),
], ids=["sleep-releases", "python-holds", "c-call-holds"])
def test_a_real_run_gets_the_share_it_was_built_with(fn, low, high):
    """Built as 0 or 1; this VM's core speed drifts +-20% within a second (the probe's rate
    beside a sleeping thread ranged 15-42 M/s), so the bounds leave that much room."""
    held = gil.measure(fn, rounds=5, min_s=0.1, idle_s=0.1)
    assert low <= held.share <= high, held
    assert held.rounds == 5 and held.loops >= 1


def test_a_long_run_gets_fewer_rounds_and_a_failure_is_raised():
    calls = []
    held = gil.measure(lambda: (calls.append(1), time.sleep(0.05)), rounds=7, min_s=0.05, idle_s=0.05, budget_s=0.3)
    assert held.rounds == 3  # 0.3 s / (2 x 0.05 s) = 3 rounds
    assert len(calls) == 1 + 2 * 3  # the warm-up, then alone and probed per round

    def boom():
        raise RuntimeError("in the thread")

    with pytest.raises(RuntimeError, match="in the thread"):
        gil._probed(boom)


def test_probed_runs_slower_than_planned_stop_at_the_minimum_rounds():
    """Alone 20 ms, so a budget of 0.5 s plans 7 rounds; beside the probe each run takes
    0.2 s (a stand-in for a GIL convoy), so after 3 rounds the budget is spent."""
    import threading

    def run():
        time.sleep(0.2 if threading.current_thread() is not threading.main_thread() else 0.02)

    held = gil.measure(run, rounds=7, min_s=0.01, idle_s=0.01, budget_s=0.5)
    assert held.rounds == 3

