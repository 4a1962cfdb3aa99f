"""The GIL probe (bench_lib.measure.gil): its arithmetic by hand, and real runs whose share is known
by construction -- a sleep releases the GIL, pure Python and one long C call hold it."""

import functools
import time

import pytest

from bench_lib.measure import gil


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
@pytest.mark.alone
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



class Scripted:
    """Stands in for the clock and the probe: ``fn`` takes 0.02 s once (protocol.timed), a
    run alone 0.1 s; beside the probe a run takes 0.15 s and the probe counts 40 per s,
    beside a sleep it counts 80 before a probed run and 120 after it (a mean of 100);
    each round moves the clock by ``step`` s. By hand: share (1 - 40/100) x 0.15 / 0.1 = 0.9."""

    def __init__(self, monkeypatch, step):
        self.now, self.step, self.idle_rates, self.timed = 100.0, step, [], []
        monkeypatch.setattr(gil.time, "perf_counter", lambda: self.now)
        monkeypatch.setattr(gil.protocol, "timed", self.fake_timed)
        monkeypatch.setattr(gil, "_probed", self.fake_probed)

    def fake_timed(self, fn):
        self.timed.append(fn)
        return 0.02 if len(self.timed) == 1 else 0.1

    def fake_probed(self, fn, probe=None):
        if isinstance(fn, functools.partial) and fn.func is time.sleep:
            self.idle_rates.append(80.0 if len(self.idle_rates) % 2 == 0 else 120.0)
            return fn.args[0], self.idle_rates[-1]
        self.now += self.step  # a round's time, counted once per probed run
        return 0.15, 40.0


def test_measure_by_hand_plans_its_rounds_from_the_budget(monkeypatch):
    script = Scripted(monkeypatch, step=0.0)
    held = gil.measure(lambda: None, rounds=7, min_s=0.1, budget_s=1.0, idle_s=0.05)
    # loops: ceil(0.1 / 0.02) = 5; rounds: floor(1.0 / (2 x 5 x 0.02)) = 5 of the 7 asked
    assert held == gil.Held(share=pytest.approx(0.9), alone_s=0.1, probed_s=0.15, probe_share=pytest.approx(0.4),
                            rounds=5, loops=5)
    assert len(script.idle_rates) == 2 * 5 and len(script.timed) == 1 + 5


def test_measure_by_hand_stops_once_the_rounds_pass_the_budget(monkeypatch):
    Scripted(monkeypatch, step=0.5)
    # planned floor(1.5 / 0.2) = 7; after 3 rounds 1.5 s have passed, not more than the
    # budget, so a 4th runs; after it 2.0 s > 1.5 s: 4 rounds
    held = gil.measure(lambda: None, rounds=7, min_s=0.1, budget_s=1.5, idle_s=0.05)
    assert held.rounds == 4


def test_the_share_is_clipped_at_one_and_the_probe_counts_at_its_own_rate():
    assert gil.held_share(1.0, 3.0, 0.0) == 1.0  # 3.0 before clipping
    short, long = gil._probed(functools.partial(time.sleep, 0.05)), gil._probed(functools.partial(time.sleep, 0.2))
    assert 0.05 <= short[0] < 0.5 and 0.2 <= long[0] < 1.0
    # a spinning loop counts about the same per second however long it spins (here over
    # 1e5 per second), so two spins 4x apart give rates well within 4x of each other
    assert short[1] > 1e5 and long[1] > 1e5 and 0.25 < short[1] / long[1] < 4


def test_probed_calls_the_probe_once_per_count_and_measure_hands_it_to_every_probe(monkeypatch):
    calls = []
    seconds, rate = gil._probed(functools.partial(time.sleep, 0.05), lambda: calls.append(1))
    assert calls and rate == pytest.approx(len(calls) / seconds)
    probes = []
    monkeypatch.setattr(gil, "_probed", lambda fn, probe=None: (probes.append(probe), (0.1, 10.0))[1])
    monkeypatch.setattr(gil.protocol, "timed", lambda fn: 0.1)
    mine = object()
    gil.measure(lambda: None, rounds=3, min_s=0.1, idle_s=0.01, probe=mine)
    assert probes == [mine] * 3 * 3  # idle before, the run, idle after: every round


@pytest.mark.alone
def test_a_real_run_inside_a_lock_is_held_for_a_probe_through_that_lock():
    """By construction: the run sleeps (the GIL released: a pure-Python probe counts freely,
    as for sleep-releases above) while holding a lock, which a probe taking the same lock
    cannot pass: near 1. The bound leaves this VM's +-20% drift, as above."""
    import threading

    lock = threading.Lock()

    def run():
        with lock:
            time.sleep(0.1)

    def through_the_lock():
        with lock:
            pass

    assert gil.measure(run, rounds=5, min_s=0.1, idle_s=0.1, probe=through_the_lock).share >= 0.65


def test_only_the_interpolators_name_a_lock_of_their_library():
    from bench_lib.measure import ratios

    assert ratios.locked_workloads() == ["interpolators"]  # SciPy's FITPACK_LOCK
    with pytest.raises(ValueError, match="names no lock"):
        ratios.gil_held("filter_bank", lock=True)
