"""bench_lib.run.plan's printed plan, asv's sampling bounds and the summary docs/generate.py
tabulates, every expected line written out by hand."""

from pathlib import Path

import pytest

from bench_lib.run import plan
from bench_lib.results.benchmark import Benchmark


def benchmarks():
    guessed = Benchmark("a.A.time_x", [0, 1], 3, estimate_s=90.0, skips=frozenset({1}))  # source "guess"
    elsewhere = Benchmark("a.A.time_y", [0], 1, estimate_s=30.0, source="elsewhere")
    measured = Benchmark("b.B.track_z", [0, 1, 2], 3, estimate_s=3700.0, source="measured", start_s=100.0,
                         start_range=(50.0, 200.0))
    return [guessed, elsewhere, measured]


def test_the_plan_prints_each_class_the_total_the_range_what_is_left_out_and_resumed(monkeypatch):
    """a.A: 3 points, 1 n/a, 90 + 30 s = 2m00s, a guess among them; b.B: 3 points, 3700 s =
    1h01m; total 6 points, 3820 s = 1h03m; range: fixed 3820 - 100 = 3720, + 50 = 3770 s
    (1h02m) to + 200 = 3920 s (1h05m)."""
    monkeypatch.delenv("PARBENCH_ENGINES", raising=False)
    resumed = [Benchmark("c.C.time_w", [0, 1], 2)]
    assert plan.plan_lines(benchmarks(), resumed, beyond=4) == [
        f"  {'a.A':<42}     3 points   (1 n/a)  ~  2m00s  (first-run guess)",
        f"  {'b.B':<42}     3 points   (0 n/a)  ~  1h01m",
        f"  {'total':<42}     6 points   (1 n/a)  ~  1h03m",
        "  range ~1h02m to ~1h05m: engine starts at each point's workers (engines per-point; start = a + b x "
        "workers per engine, starts.StartFit), at the low and high ends of its fit",
        "  4 points of sizes beyond the benchmarks' questions are left out (--profile extended)",
        "  resuming: 1 benchmarks (2 points) already recorded for this commit, machine and Python are skipped "
        "(--fresh measures them again)"]


def test_estimates_from_other_machines_say_so_and_a_plan_without_starts_has_no_range(monkeypatch):
    monkeypatch.delenv("PARBENCH_ENGINES", raising=False)
    _, elsewhere, _ = benchmarks()
    assert plan.plan_lines([elsewhere], []) == [
        f"  {'a.A':<42}     1 points   (0 n/a)  ~  0m30s  (other machines)",
        f"  {'total':<42}     1 points   (0 n/a)  ~  0m30s"]


class Timed:
    number = 1

    def __init__(self, repeat, rounds=2):
        self.repeat, self.rounds = repeat, rounds


@pytest.mark.parametrize("bench,expected", [
    (Timed(0, rounds=1), (1, 10, 20.0)),  # asv's defaults for repeat = 0: one round
    (Timed(0, rounds=2), (1, 5, 10.0)),  # ... and several
    (Timed((2, 4, 5.0)), (2, 4, 5.0)),
    (Timed([2, 4, 5.0]), (2, 4, 5.0)),
    (Timed(3), (3, 3, 20.0)),
])
def test_asvs_sampling_bounds_of_a_timed_benchmark(bench, expected):
    assert plan._repeat(bench) == expected


def test_a_benchmark_without_repeat_or_number_has_no_sampling_bounds():
    class Tracked:
        repeat = 3

    assert plan._repeat(Tracked()) is None
    assert plan._repeat(object()) is None


def test_the_summary_sums_the_fresh_full_default_plan(monkeypatch):
    """What it asks ``make`` for (the fresh full-size default plan of everything, costed on
    the machine's series, under the given engines mode), and its sums: 6 points, 1 n/a,
    3820 s, range 3770 to 3920 s (as above)."""
    asked = []

    def make(*args, **kwargs):
        asked.append((args, kwargs))
        return benchmarks(), [], 0, []

    monkeypatch.setattr(plan, "make", make)
    root = Path("/repo")
    assert plan.summary(root, "box", "once") == {"points": 6, "n_a": 1, "total_s": 3820.0, "low_s": 3770.0,
                                                  "high_s": 3920.0}
    assert asked == [((root, root / "results" / "box" / "plan.json", "full", [], False, True), {"engines": "once"})]
