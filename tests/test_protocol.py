"""The measurement protocol (bench_lib.measure.protocol): every expected value here is worked out
by hand (or from a printed t table), never by calling the code under test. Fast and
engine-free: ``make mutation`` runs these against mutants of the module."""

import gc
import math
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from bench_lib.measure import protocol as p


class Clock:
    """A fake wall clock: arms advance it by the seconds they 'take'."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def arm(clock, seconds, calls=None, name=None):
    durations = list(seconds) if isinstance(seconds, (list, tuple)) else None

    def run():
        if calls is not None:
            calls.append(name)
        clock.now += durations.pop(0) if durations is not None else seconds
    return run


# -- one sample ----------------------------------------------------------------------------
def test_timed_is_the_clock_difference_with_gc_off_and_restores_it():
    clock = Clock()
    seen = []

    def work():
        seen.append(gc.isenabled())
        clock.now += 0.25
    assert gc.isenabled()
    assert p.timed(work, clock) == 0.25
    assert seen == [False] and gc.isenabled()


def test_timed_leaves_a_disabled_gc_disabled_and_reenables_after_an_error():
    gc.disable()
    try:
        p.timed(lambda: None)
        assert not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(ZeroDivisionError):
        p.timed(lambda: 1 / 0)
    assert gc.isenabled()


# -- statistics ----------------------------------------------------------------------------
@pytest.mark.parametrize("dof, table", [(1, 12.706), (2, 4.303), (4, 2.776), (9, 2.262), (29, 2.045)])
def test_t_quantile_matches_the_printed_table(dof, table):
    assert p.t_quantile(0.975, dof) == pytest.approx(table, abs=1e-3)


def test_ratio_interval_worked_by_hand():
    # log ratios 0, 0.1, 0.2: mean 0.1, sd 0.1, n 3, t(0.975, 2) = 4.3027
    top = [1.0, math.exp(0.1) * 2, math.exp(0.2) * 3]
    bottom = [1.0, 2.0, 3.0]
    iv = p.ratio_interval(top, bottom)
    spread = 4.302653 * 0.1 / math.sqrt(3)
    assert iv.estimate == pytest.approx(math.exp(0.1), rel=1e-9)
    assert iv.low == pytest.approx(math.exp(0.1 - spread), rel=1e-5)
    assert iv.high == pytest.approx(math.exp(0.1 + spread), rel=1e-5)
    assert iv.pairs == 3 and iv.level == 0.95
    assert iv.half_width == pytest.approx((math.exp(0.1 + spread) - math.exp(0.1 - spread)) / 2 / math.exp(0.1),
                                          rel=1e-5)


def test_ratio_interval_is_paired_not_pooled():
    # every round the top takes exactly twice the bottom although rounds drift 3x: the
    # paired ratio is exact (a pooled one would not be)
    iv = p.ratio_interval([2.0, 6.0, 4.0, 2.0], [1.0, 3.0, 2.0, 1.0])
    assert (iv.estimate, iv.low, iv.high) == pytest.approx((2.0, 2.0, 2.0))
    assert iv.half_width == pytest.approx(0.0)


def test_ratio_interval_orientation():
    iv = p.ratio_interval([3.0, 3.0], [1.0, 1.0])
    assert iv.estimate == pytest.approx(3.0)
    assert p.ratio_interval([1.0, 1.0], [3.0, 3.0]).estimate == pytest.approx(1 / 3)


def test_one_pair_has_no_interval():
    iv = p.ratio_interval([2.0], [1.0])
    assert iv.estimate == pytest.approx(2.0)
    assert math.isnan(iv.low) and math.isnan(iv.high)
    assert iv.half_width == math.inf and iv.pairs == 1


def test_ratio_interval_refuses_bad_samples():
    with pytest.raises(ValueError, match="differ in length"):
        p.ratio_interval([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="positive"):
        p.ratio_interval([1.0, 0.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="positive"):
        p.ratio_interval([1.0, 1.0], [-1.0, 1.0])
    with pytest.raises(ValueError, match="no samples"):
        p.ratio_interval([], [])


def test_a_95_percent_interval_covers_the_true_ratio_95_percent_of_the_time():
    # 1,000 synthetic sample sets, 6 pairs each, true ratio 1.5, lognormal noise on both
    # sides and a drift shared by the pair: the interval should hold 1.5 about 95% of
    # the time (binomial sd 0.7%: 93-97% is a 3-sigma band)
    rng = np.random.default_rng(20261130)
    hits = 0
    for _ in range(1000):
        drift = rng.lognormal(0.0, 0.3, 6)
        bottom = drift * rng.lognormal(0.0, 0.05, 6)
        top = 1.5 * drift * rng.lognormal(0.0, 0.05, 6)
        hits += p.ratio_interval(list(top), list(bottom)).contains(1.5)
    assert 930 <= hits <= 970


def test_interval_contains_and_overlaps_at_their_bounds():
    iv = p.Interval(1.0, 0.9, 1.1, 3)
    assert iv.contains(0.9) and iv.contains(1.1) and iv.contains(1.0)
    assert not iv.contains(0.8999) and not iv.contains(1.1001)
    assert iv.overlaps(p.Interval(1.2, 1.1, 1.3, 3))
    assert p.Interval(1.2, 1.1, 1.3, 3).overlaps(iv)
    assert not iv.overlaps(p.Interval(1.2, 1.1001, 1.3, 3))
    assert not p.Interval(0.5, 0.4, 0.8999, 3).overlaps(iv)


def test_product_interval_adds_log_half_widths_in_quadrature():
    speedup = p.Interval(2.0, 2.0 * math.exp(-0.03), 2.0 * math.exp(0.03), 7)
    ceiling = p.Interval(1.5, 1.5 * math.exp(-0.04), 1.5 * math.exp(0.04), 5)
    eff = p.product_interval(speedup, ceiling, power=-1)
    assert eff.estimate == pytest.approx(2.0 / 1.5)
    assert eff.low == pytest.approx(2.0 / 1.5 * math.exp(-0.05))
    assert eff.high == pytest.approx(2.0 / 1.5 * math.exp(0.05))
    assert eff.pairs == 5
    both = p.product_interval(speedup, ceiling)
    assert both.estimate == pytest.approx(3.0)
    assert both.high == pytest.approx(3.0 * math.exp(0.05))


def test_product_interval_of_an_unknown_interval_is_unknown():
    known = p.Interval(2.0, 1.9, 2.1, 3)
    unknown = p.Interval(1.5, math.nan, math.nan, 1)
    for iv in (p.product_interval(known, unknown), p.product_interval(unknown, known)):
        assert iv.estimate == pytest.approx(3.0)
        assert math.isnan(iv.low) and math.isnan(iv.high)


# -- the foreign-load guard ----------------------------------------------------------------
def test_load_limits_at_their_bounds():
    # 0.10 cores over the sample plus two clock ticks (0.02 s at Linux's 100 Hz)
    assert os.sysconf("SC_CLK_TCK") == 100 and p.TICK_SLACK_S == 0.02
    assert p.Load(2.0, 0.219, 0.0).quiet()
    assert not p.Load(2.0, 0.221, 0.0).quiet()
    assert p.Load(0.04, 0.02, 0.0).quiet()  # one process's 2 ticks in a 40 ms sample: not load
    assert p.Load(0.0, 0.02, 0.0).quiet()  # exactly the slack: still quiet
    assert not p.Load(0.04, 0.03, 0.0).quiet()
    assert p.Load(1.0, 0.0, 0.05).quiet()
    assert not p.Load(1.0, 0.0, 0.051).quiet()
    assert p.Load(2.0, 0.5, 0.0).foreign_cores == pytest.approx(0.25)
    assert p.Load(0.0, 0.5, 0.0).foreign_cores == 0.0
    assert p.Load(1.0, 0.51, 0.0).quiet(cpu_limit=0.5)
    assert not p.Load(1.0, 0.53, 0.0).quiet(cpu_limit=0.5)
    assert not p.Load(1.0, 0.0, 0.2).quiet(steal_limit=0.1)
    # steal in ticks over all CPUs: two of them are resolution, not load -- 2 of 10 ticks
    # (20%) pass at 5% + 2/10, 3 of 10 do not; over 200 ticks the slack is 1%
    assert p.Load(0.05, 0.0, 0.2, 10).quiet() and p.Load(0.05, 0.0, 0.25, 10).quiet()
    assert not p.Load(0.05, 0.0, 0.3, 10).quiet()
    assert p.Load(1.0, 0.0, 0.06, 200).quiet() and not p.Load(1.0, 0.0, 0.061, 200).quiet()
    assert not p.Load(1.0, 0.0, 0.051, 0).quiet()  # no tick count: no slack
    assert p.Load(0.005, 0.0, 1.0, 1).quiet()  # one tick in all: stolen or not, it cannot tell


def test_foreign_cores_beyond_the_clocks_two_ticks():
    # one 10 ms tick in a 2 ms sample reads as 5 cores; beyond two ticks it is nothing
    assert p.Load(0.002, 0.01, 0.0).foreign_cores == pytest.approx(5.0)
    assert p.Load(0.002, 0.01, 0.0).foreign_cores_resolved == 0.0
    assert p.beyond_ticks(0.02, 0.1) == 0.0  # exactly two ticks
    assert p.beyond_ticks(0.05, 0.1) == pytest.approx(0.3)  # (0.05 - 0.02) / 0.1
    assert p.beyond_ticks(1.02, 2.0) == pytest.approx(0.5)
    assert p.beyond_ticks(0.5, 0.0) == 0.0  # no wall: nothing to divide
    assert p.Load(2.0, 0.42, 0.0).foreign_cores_resolved == pytest.approx(0.2)


def test_steal_share_by_hand():
    assert p.steal_share((10, 1000), (30, 1200)) == pytest.approx(0.1)
    assert p.steal_share((10, 1000), (10, 1000)) == 0.0


def test_foreign_cpu_counts_new_and_reused_pids_from_zero():
    before = {(1, 1.0): 2.0, (2, 5.0): 1.0, (4, 1.0): 9.0}
    after = {(1, 1.0): 2.5, (2, 6.0): 0.3, (3, 7.0): 0.2}  # pid 2 reused, pid 4 ended
    assert p.foreign_cpu(before, after) == pytest.approx(0.5 + 0.3 + 0.2)


def test_proc_stat_reads_steal_and_total(tmp_path):
    stat = tmp_path / "stat"
    stat.write_text("cpu  10 20 30 40 50 60 70 80 90 100\ncpu0 1 2 3 4 5 6 7 8 9 10\n")
    assert p.proc_stat(stat) == (80, 360)
    assert p.proc_stat(tmp_path / "missing") == (0, 0)


def test_proc_stat_of_this_machine_counts_up():
    steal, total = p.proc_stat()
    assert total > 0 and 0 <= steal <= total


@pytest.fixture
def hog():
    """A busy loop outside this process's tree (its parent shell exits: init adopts it)."""
    out = subprocess.check_output(
        ["sh", "-c", f"{sys.executable} -c 'while True: pass' >/dev/null 2>&1 & echo $!"], text=True)
    pid = int(out.strip())
    time.sleep(0.3)
    yield pid
    os.kill(pid, signal.SIGKILL)


@pytest.mark.alone
def test_guard_sees_a_cpu_hog_outside_the_run_and_not_its_own_children(hog):
    guard = p.Guard()
    before = guard.snapshot()
    time.sleep(0.5)
    load = guard.load(before, guard.snapshot())
    assert load.foreign_cores > 0.5 and not load.quiet()
    # the same busy loop as this process's own child is the run's own work
    os.kill(hog, signal.SIGSTOP)
    child = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        before = guard.snapshot()
        time.sleep(0.5)
        own = guard.load(before, guard.snapshot())
    finally:
        child.kill()
        child.wait()
        os.kill(hog, signal.SIGCONT)
    assert own.foreign_cores < load.foreign_cores - 0.5


@pytest.mark.alone
def test_measure_discards_samples_taken_beside_a_hog_and_says_so(hog):
    out = p.measure({"a": lambda: time.sleep(0.1), "b": lambda: time.sleep(0.05)}, "a",
                    guard=p.Guard(), retries=2, min_rounds=2, max_rounds=2)
    assert out.discarded == 4 * 2  # every sample retaken twice
    assert out.noisy == 4 and not out.quiet
    assert out.rounds == 2 and len(out.loads) == 12


class FakeGuard:
    """Loud for the first ``loud`` samples, quiet after."""

    def __init__(self, loud):
        self.loud = loud

    def snapshot(self):
        return None

    def load(self, before, after):
        self.loud -= 1
        return p.Load(1.0, 1.0 if self.loud >= 0 else 0.0, 0.0)


def test_guarded_retakes_a_loud_sample_within_its_retries():
    clock = Clock()
    out = p.Measurement({})
    seconds = p.guarded(arm(clock, [5.0, 4.0, 3.0]), FakeGuard(2), clock, 3, out)
    assert seconds == 3.0 and out.discarded == 2 and out.noisy == 0 and out.quiet


def test_guarded_keeps_the_last_sample_when_retries_run_out_and_counts_it_noisy():
    clock = Clock()
    out = p.Measurement({})
    seconds = p.guarded(arm(clock, [5.0, 4.0, 3.0]), FakeGuard(10), clock, 2, out)
    assert seconds == 3.0 and out.discarded == 2 and out.noisy == 1 and not out.quiet
    out = p.Measurement({})
    assert p.guarded(arm(clock, [7.0]), FakeGuard(10), clock, 0, out) == 7.0
    assert out.discarded == 0 and out.noisy == 1


def test_no_guard_is_always_quiet():
    g = p.NoGuard()
    assert g.load(g.snapshot(), g.snapshot()).quiet()


# -- the rounds ----------------------------------------------------------------------------
def test_rotation_by_hand():
    names = ["s", "a", "b"]
    assert p.rotation(names, 0) == ["s", "a", "b"]
    assert p.rotation(names, 1) == ["a", "b", "s"]
    assert p.rotation(names, 2) == ["b", "s", "a"]
    assert p.rotation(names, 4) == ["a", "b", "s"]


def test_measure_interleaves_in_rotating_order_and_stops_when_precise():
    clock, calls = Clock(), []
    arms = {"serial": arm(clock, 2.0, calls, "serial"), "x": arm(clock, 1.0, calls, "x"),
            "y": arm(clock, 4.0, calls, "y")}
    out = p.measure(arms, "serial", clock=clock)
    assert calls == ["serial", "x", "y", "x", "y", "serial", "y", "serial", "x"]
    assert out.times == {"serial": [2.0] * 3, "x": [1.0] * 3, "y": [4.0] * 3}
    assert out.precise and out.stopped == "precise" and out.rounds == 3
    assert out.ratio("serial", "x").estimate == pytest.approx(2.0)
    assert out.ratio("serial", "y").estimate == pytest.approx(0.5)
    assert out.center("y") == pytest.approx(4.0) and out.quiet and out.discarded == 0


def test_center_is_the_geometric_mean():
    out = p.Measurement({"a": [1.0, 4.0], "b": [2.0, 8.0, 4.0]})
    assert out.center("a") == pytest.approx(2.0)
    assert out.center("b") == pytest.approx(4.0)


def test_measure_goes_on_until_the_half_width_is_reached():
    # the backend's rounds alternate 1.0/1.1 s against a steady 2 s: ratios 2 and 1/0.55
    clock = Clock()
    steady = arm(clock, 2.0)
    wobbly = arm(clock, [1.0, 1.1] * 50)
    loose = p.measure({"s": steady, "b": wobbly}, "s", clock=clock, target=0.03, time_cap_s=1e9)
    # log ratios alternate ln 2 and ln(2/1.1); half-width = sinh(t * sd / sqrt(n)), from a
    # t table: n=3 13.7%, n=8 4.3%, n=12 3.16%, n=13 2.99%: the first n at or under 3% is 13
    assert loose.precise and loose.rounds == 13
    clock2 = Clock()
    tight = p.measure({"s": arm(clock2, 2.0), "b": arm(clock2, [1.0, 1.1] * 50)}, "s", clock=clock2,
                      target=0.2, time_cap_s=1e9)
    assert tight.precise and tight.rounds == 3


def test_measure_stops_at_the_time_cap_and_marks_it_imprecise():
    clock = Clock()
    out = p.measure({"s": arm(clock, 2.0), "b": arm(clock, [1.0, 1.5] * 50)}, "s", clock=clock,
                    time_cap_s=20.0, target=0.001)
    # a round takes 3.0 or 3.5 s: after 3 rounds 9.5 s, 6 rounds 19.5 s, 7 rounds 22.5 s
    assert out.rounds == 7 and out.stopped == "time cap" and not out.precise


def test_measure_stops_at_max_rounds():
    clock = Clock()
    out = p.measure({"s": arm(clock, 2.0), "b": arm(clock, [1.0, 1.5] * 50)}, "s", clock=clock,
                    target=0.001, max_rounds=5, time_cap_s=1e9)
    assert out.rounds == 5 and out.stopped == "max rounds" and not out.precise


def test_measure_does_not_stop_before_min_rounds_even_when_precise_or_over_time():
    clock = Clock()
    out = p.measure({"s": arm(clock, 2.0), "b": arm(clock, 1.0)}, "s", clock=clock, min_rounds=4,
                    time_cap_s=0.0)
    assert out.rounds == 4 and out.precise


def test_measure_refuses_bad_arguments():
    with pytest.raises(ValueError, match="baseline"):
        p.measure({"a": lambda: None}, "a")
    with pytest.raises(ValueError, match="baseline"):
        p.measure({"a": lambda: None, "b": lambda: None}, "c")
    with pytest.raises(ValueError, match="min_rounds"):
        p.measure({"a": lambda: None, "b": lambda: None}, "a", min_rounds=1)
    with pytest.raises(ValueError, match="min_rounds"):
        p.measure({"a": lambda: None, "b": lambda: None}, "a", min_rounds=4, max_rounds=3)
    assert p.measure({"a": lambda: None, "b": lambda: None}, "a", min_rounds=2, max_rounds=2).rounds == 2


def test_measurement_of_no_arms_has_no_rounds():
    assert p.Measurement({}).rounds == 0


# -- edges, each pinned by hand ------------------------------------------------------------
def test_one_sample_intervals_keep_their_level():
    assert p.log_interval([0.1], level=0.9).level == 0.9
    assert p.ratio_interval([2.0, 2.0], [1.0, 1.0], level=0.9).level == 0.9
    with pytest.raises(ValueError, match="^no samples$"):
        p.log_interval([])
    with pytest.raises(ValueError, match="^times must be positive$"):
        p.ratio_interval([0.0, 1.0], [1.0, 1.0])


def test_two_pairs_have_an_interval_by_hand():
    # logs ln 2, ln 3: mean ln sqrt(6), sd/sqrt(n) = ln(1.5)/2, t(0.975, 1) = 12.706
    iv = p.ratio_interval([2.0, 3.0], [1.0, 1.0])
    assert iv.estimate == pytest.approx(math.sqrt(6))
    assert iv.low == pytest.approx(math.sqrt(6) * math.exp(-12.7062 * math.log(1.5) / 2), rel=1e-4)
    assert iv.high == pytest.approx(math.sqrt(6) * math.exp(12.7062 * math.log(1.5) / 2), rel=1e-4)


def test_a_90_percent_interval_uses_the_95th_t_quantile():
    # logs 0, 0.1, 0.2 as above; t(0.95, 2) = 2.920
    iv = p.ratio_interval([1.0, math.exp(0.1), math.exp(0.2)], [1.0, 1.0, 1.0], level=0.9)
    assert iv.high == pytest.approx(math.exp(0.1 + 2.919986 * 0.1 / math.sqrt(3)), rel=1e-5)


def test_product_of_unknown_intervals_keeps_pairs_and_level():
    known = p.Interval(2.0, 1.9, 2.1, 3, 0.9)
    half_known = p.Interval(1.5, math.nan, 1.6, 5, 0.9)  # one bound is enough to be unknown
    iv = p.product_interval(known, half_known)
    assert math.isnan(iv.low) and iv.pairs == 3 and iv.level == 0.9
    assert p.product_interval(known, p.Interval(1.5, 1.4, math.nan, 5)).pairs == 3
    assert p.product_interval(known, p.Interval(1.5, 1.4, 1.6, 5)).level == 0.9


def test_steal_share_of_a_single_tick():
    assert p.steal_share((0, 0), (1, 1)) == 1.0


@pytest.mark.parametrize("line, expected", [
    ("cpu  1 2 3 4 5 6 7\n", (0, 28)),  # no steal column (old kernels)
    ("cpu  1 2 3 4 5 6 7 8\n", (8, 36)),
])
def test_proc_stat_with_and_without_a_steal_column(tmp_path, line, expected):
    stat = tmp_path / "stat"
    stat.write_text(line)
    assert p.proc_stat(stat) == expected


def test_no_guard_reports_one_quiet_second():
    assert p.NoGuard().load(None, None) == p.Load(1.0, 0.0, 0.0)


class TokenGuard:
    """Hands out numbered snapshots and records which pair each load was given."""

    def __init__(self, loud=0):
        self.n, self.pairs, self.loud = 0, [], loud

    def snapshot(self):
        self.n += 1
        return self.n

    def load(self, before, after):
        self.pairs.append((before, after))
        self.loud -= 1
        return p.Load(1.0, 1.0 if self.loud >= 0 else 0.0, 0.0)


def test_guarded_gives_the_load_its_own_before_and_after_and_keeps_every_load():
    clock, guard = Clock(), TokenGuard(loud=1)
    out = p.Measurement({})
    out.noisy = 2
    p.guarded(arm(clock, [1.0, 1.0]), guard, clock, 3, out)
    assert guard.pairs == [(1, 2), (3, 4)]
    assert out.loads == [p.Load(1.0, 1.0, 0.0), p.Load(1.0, 0.0, 0.0)]
    p.guarded(arm(clock, [1.0]), TokenGuard(loud=5), clock, 0, out)
    assert out.noisy == 3


def test_measure_uses_the_guard_it_is_given():
    clock = Clock()
    out = p.measure({"s": arm(clock, 2.0), "b": arm(clock, 1.0)}, "s", clock=clock, guard=TokenGuard(loud=2))
    assert out.discarded == 2 and out.rounds == 3 and out.quiet


def test_measure_defaults_cap_at_60_s_and_400_rounds():
    clock = Clock()  # rounds of 2 s, never precise: the 60 s cap ends round 30
    out = p.measure({"s": arm(clock, 1.0), "b": arm(clock, [0.5, 1.5] * 40)}, "s", clock=clock)
    assert out.rounds == 30 and out.stopped == "time cap"
    clock = Clock()  # rounds of 0.125 s: 400 rounds (50 s) come first
    out = p.measure({"s": arm(clock, 0.0625), "b": arm(clock, [0.03125, 0.09375] * 250)}, "s", clock=clock)
    assert out.rounds == 400 and out.stopped == "max rounds"


def test_measure_stops_at_exactly_the_target_and_exactly_the_cap():
    clock = Clock()  # constant ratio: half-width 0, equal to a target of 0
    out = p.measure({"s": arm(clock, 2.0), "b": arm(clock, 1.0)}, "s", clock=clock, target=0.0)
    assert out.rounds == 3 and out.precise
    clock = Clock()  # rounds of 3, 3.5, 3 s: 9.5 s after round 3, exactly the cap
    out = p.measure({"s": arm(clock, 2.0), "b": arm(clock, [1.0, 1.5] * 50)}, "s", clock=clock,
                    target=0.001, time_cap_s=9.5)
    assert out.rounds == 3 and out.stopped == "time cap"


@pytest.mark.alone
def test_guard_of_another_root_counts_this_process_as_foreign_and_its_root_tree_as_own(hog):
    busy_grandchild = subprocess.Popen(["sh", "-c", f"{sys.executable} -c 'while True: pass'; true"],
                                       start_new_session=True)
    try:
        time.sleep(0.3)
        mine, theirs = p.Guard(), p.Guard(root=hog)
        before, before_theirs = mine.snapshot(), theirs.snapshot()
        time.sleep(0.5)
        after, after_theirs = mine.snapshot(), theirs.snapshot()
    finally:
        os.killpg(busy_grandchild.pid, signal.SIGKILL)
        busy_grandchild.wait()
    # mine: the hog is foreign (~1 core), the grandchild is its own; theirs: the hog is
    # its own and the grandchild foreign (~1 core) -- each about one core, never two
    for guard, b, a in ((mine, before, after), (p.Guard(root=hog), before_theirs, after_theirs)):
        load = guard.load(b, a)
        assert 0.5 < load.foreign_cores < 1.5, load
        assert isinstance(load.steal, float) and 0.0 <= load.steal <= 1.0


def test_guard_snapshot_adds_user_and_system_time(tmp_path):
    # a process that spends most of its time in the kernel (stat calls), read back from
    # /proc/<pid>/stat by hand: utime + stime in clock ticks
    script = "import os\nwhile True: os.stat('/')\n"
    out = subprocess.check_output(["sh", "-c", f"{sys.executable} -c \"{script}\" >/dev/null 2>&1 & echo $!"],
                                  text=True)
    pid = int(out.strip())
    try:
        time.sleep(1.0)
        os.kill(pid, signal.SIGSTOP)
        time.sleep(0.1)
        snap = p.Guard().snapshot()[0]
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        utime, stime = int(fields[11]), int(fields[12])
    finally:
        os.kill(pid, signal.SIGKILL)
    [cpu] = [v for (q, _), v in snap.items() if q == pid]
    ticks = os.sysconf("SC_CLK_TCK")
    assert stime > 0.2 * (utime + stime)  # the kernel share is large enough to tell + from -
    assert cpu == pytest.approx((utime + stime) / ticks, abs=0.02)


@pytest.mark.alone
def test_real_guard_counts_grandchildren_as_own():
    """A busy grandchild (under a shell child) is the run's own work: with nothing else
    busy, the guard sees almost no foreign load. Needs a quiet machine: not under mutmut."""
    busy = subprocess.Popen(["sh", "-c", f"{sys.executable} -c 'while True: pass'; true"], start_new_session=True)
    try:
        time.sleep(0.3)
        guard = p.Guard()
        before = guard.snapshot()
        time.sleep(0.5)
        load = guard.load(before, guard.snapshot())
    finally:
        os.killpg(busy.pid, signal.SIGKILL)
        busy.wait()
    assert load.foreign_cores < 0.4, load


def test_guard_load_of_two_snapshots_by_hand():
    """(foreign CPU by (pid, start), (steal, total) ticks, clock): 2 s of wall; process 1
    used 0.25 s more, process 2 is new with 0.5 s; 3 of 30 ticks stolen."""
    before = ({(1, 0.0): 1.0}, (10, 1000), 5.0)
    after = ({(1, 0.0): 1.25, (2, 3.0): 0.5}, (13, 1030), 7.0)
    assert p.Guard().load(before, after) == p.Load(2.0, 0.75, 0.1, 30)
