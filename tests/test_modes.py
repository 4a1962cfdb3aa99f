"""The two engine modes' comparison (bench_lib.measure.modes): its arithmetic by hand, and a real
sitting at small size as a smoke check (its figures are not asserted: speed belongs in
benchmarks)."""

import math
from pathlib import Path

import pytest

from bench_lib.measure import modes
from bench_lib.results import points

ROOT = Path(__file__).resolve().parents[1]


def test_equivalence_needs_the_whole_interval_inside_the_margin_by_hand():
    # logs of 1.0, 1.02, 0.98, 1.01: mean 0.002388, sd 0.017093, se 0.008547; t(0.975, 3) = 3.182
    # -> exp(0.002388 -+ 0.027198) = [0.9755, 1.0300]
    found = modes.interval([1.0, 1.02, 0.98, 1.01])
    assert found.estimate == pytest.approx(math.exp(0.002388), abs=1e-5)
    assert (found.low, found.high) == (pytest.approx(0.9755, abs=2e-4), pytest.approx(1.0300, abs=2e-4))
    assert modes.equivalent(found, 0.05) and not modes.equivalent(found, 0.02)
    # a shift of 4% with the same spread: [1.0146, 1.0713] reaches past 1.05
    assert not modes.equivalent(modes.interval([1.04 * r for r in (1.0, 1.02, 0.98, 1.01)]), 0.05)


def test_records_pair_the_rounds_in_order_and_keep_the_schema(tmp_path):
    times = {("filter_bank.FilterBank.time_filter_bank", ("ray", 2, "shared", "5x5")):
             {"once": [2.0, 1.0, 4.0], "per-point": [2.0, 1.0, 4.0]}}
    [record] = modes.records(times, {"machine": "m", "commit": "c0ffee00", "run": "c0ffee00-modes-x"})
    assert record["value"] == pytest.approx(1.0) and record["rounds"] == 3 and record["equivalent"]
    assert record["params"] == {"backend": "ray", "n_workers": 2, "variant": "shared", "filter_size": "5x5"}
    path = tmp_path / "points.jsonl"
    points.write(record, path)  # the records schema takes it
    assert points.read(path)[0][0]["kind"] == "modes"


def test_a_sitting_at_small_size_runs_both_modes_in_alternating_order(monkeypatch):
    monkeypatch.setenv("PARBENCH_SIZE", "small")
    # Beside the other pytest worker the guard would retake every process (up to three more
    # times); the retaking is test_a_process_beside_load_is_measured_again's.
    monkeypatch.setenv("PARBENCH_GUARD", "off")
    # Dask's point with only its own cluster up: a Ray cluster per round (seconds each) adds
    # nothing this smoke check asserts; the run's clusters start in tests/test_engines_once.py.
    point = next(p for p in modes.POINTS if p[1][0] == "dask")
    said = []
    times = modes.sitting(ROOT, 2, todo=[point], say=said.append, one_engine=True)
    both = times[point]
    assert len(both["once"]) == len(both["per-point"]) == 2 and all(t > 0 for t in both["once"] + both["per-point"])
    assert said[-1].startswith("[round 2/2]")


def test_a_sitting_refuses_a_series_of_another_cpu_and_writes_nothing(monkeypatch, capsys):
    """A series is one kind of machine: the sitting says so in one line, exits 2, and neither
    measures nor writes."""
    from bench_lib.results import sysinfo

    series = ROOT / "results" / "vm-2core-24gb-xeon"
    before = (series / points.FILE).read_bytes()
    monkeypatch.setattr(sysinfo, "cpu_model", lambda: "Made-up CPU 9000")
    monkeypatch.setattr(modes, "sitting", lambda *a, **k: pytest.fail("measured on another CPU's series"))
    assert modes.main(["--machine", "vm-2core-24gb-xeon", "--rounds", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "results/vm-2core-24gb-xeon holds runs on 'Intel(R) Xeon(R) Processor'" in err[0]
    assert "'Made-up CPU 9000'" in err[0]
    assert (series / points.FILE).read_bytes() == before


@pytest.mark.parametrize("quiet, discarded, noisy, median", [
    ([True], 0, 0, 2.0),                       # the first process was quiet
    ([False, False, True], 2, 0, 6.0),         # two retaken, the third kept
    ([False, False, False, False], 3, 1, 8.0),  # retries (3) ran out: the fourth kept, noisy
])
def test_a_process_beside_load_is_measured_again(monkeypatch, quiet, discarded, noisy, median):
    """The k-th process's timed calls are [k, 2k, 3k] s (median 2k); the guard's verdict
    for each is given. Kept: the first quiet one, else the last."""
    import json
    import subprocess
    import types

    calls = []

    def run(cmd, **kwargs):
        k = len(calls) + 1
        calls.append(cmd)
        out = {"times": [k, 2.0 * k, 3.0 * k], "quiet": quiet[k - 1], "foreign_cores": 0.0, "steal": 0.0}
        return types.SimpleNamespace(returncode=0, stdout="warming up\n" + json.dumps(out) + "\n", stderr="")

    monkeypatch.setattr(subprocess, "run", run)
    tally = {}
    assert modes.measure(ROOT, {}, *modes.POINTS[0], tally) == median
    assert len(calls) == len(quiet) and tally.get("discarded", 0) == discarded and tally.get("noisy", 0) == noisy
    [record] = modes.records({modes.POINTS[0]: {"once": [1.0, 1.0], "per-point": [1.0, 1.0], "tally": tally}},
                             {"machine": "m", "commit": "c0ffee00", "run": "c0ffee00-modes-x"})
    assert (record["discarded"], record["noisy"], record["quiet"]) == (discarded, noisy, noisy == 0)
