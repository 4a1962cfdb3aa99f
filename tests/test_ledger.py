"""bench_lib.results.ledger: asv's result files read and replaced whole, the ledger of what
each one holds, and where a benchmark's time went; every expected value worked by hand."""

import json
import math
import sys
from pathlib import Path

import pytest

from bench_lib.results import ledger, records
from bench_lib.results.benchmark import Benchmark

BENCH = Benchmark("a.B.time_x", [0, 2], 3)


def asv_file(path: Path, results: dict) -> Path:
    path.write_text(json.dumps({"result_columns": ["result", "params"],
                                "results": {name: [value, [["1", "2", "3"]]] for name, value in results.items()}}))
    return path


def test_a_commits_result_file_is_named_as_asv_names_it_for_this_python():
    env = "existing-py_" + sys.executable.lstrip("/").replace("/", "_")
    assert ledger.result_path(Path("r"), "box", "abcdef123456") == Path("r") / "box" / f"abcdef12-{env}.json"


def test_rows_of_a_result_file_by_column_and_none_without_a_file(tmp_path):
    path = asv_file(tmp_path / "c.json", {"a.B.time_x": [1.0, None, 2.0]})
    assert ledger.load_rows(path) == {"a.B.time_x": {"result": [1.0, None, 2.0], "params": [["1", "2", "3"]]}}
    assert ledger.load_rows(tmp_path / "none.json") == {}


def test_an_unreadable_file_or_ledger_line_names_the_file_to_move_away(tmp_path):
    final = tmp_path / "c.json"
    final.write_text("{cut")
    with pytest.raises(ledger.Unreadable) as caught:
        ledger.read(final)
    assert str(caught.value).startswith("unreadable asv result file of this commit (")
    assert str(caught.value).endswith(f"): move {final} away to run it again")
    asv_file(final, {"a.B.time_x": [1.0, None, 2.0]})
    (tmp_path / ledger.LEDGER).write_text('{"file": "c.json", "benchm\n')  # a line cut short: read strictly
    with pytest.raises(ledger.Unreadable, match="move .* away to run it again"):
        ledger.read(final)


def test_a_lone_value_is_one_result():
    assert ledger.values({"result": 2.5}) == [2.5]
    assert ledger.values({"result": [1.0, None]}) == [1.0, None]
    assert ledger.values({}) == [None]


def test_notes_of_a_file_add_up_and_carry_the_cap_and_split_only_when_given(tmp_path):
    final, other = tmp_path / "c.json", tmp_path / "d.json"
    ledger.note(final, BENCH, "r1", 3.456)
    ledger.note(final, Benchmark("a.B.time_x", [1], 3), "r2", 1.0, cap_s=60.0, split={"asv_s": 0.5})
    ledger.note(other, Benchmark("a.C.time_y", [0], 1), "r2", 2.0)
    lines = records.read(tmp_path / ledger.LEDGER, strict=True)[0]
    assert lines == [
        {"file": "c.json", "benchmark": "a.B.time_x", "indices": [0, 2], "run": "r1", "took_s": 3.46},
        {"file": "c.json", "benchmark": "a.B.time_x", "indices": [1], "run": "r2", "took_s": 1.0, "cap_s": 60.0,
         "split": {"asv_s": 0.5}},
        {"file": "d.json", "benchmark": "a.C.time_y", "indices": [0], "run": "r2", "took_s": 2.0}]
    assert ledger.measured(final) == {"a.B.time_x": {0, 1, 2}}
    assert ledger.measured(other) == {"a.C.time_y": {0}}


def test_recorded_needs_every_selected_combination_measured_and_not_failed():
    done = {"a.B.time_x": {0, 2}}
    assert ledger.recorded(BENCH, {"a.B.time_x": {"result": [1.0, None, math.nan]}}, done)
    assert not ledger.recorded(BENCH, {"a.B.time_x": {"result": [None, 1.0, 2.0]}}, done)  # 0 failed
    assert not ledger.recorded(BENCH, {"a.B.time_x": {"result": [1.0, 2.0, 3.0]}}, {"a.B.time_x": {0}})
    assert not ledger.recorded(BENCH, {"a.B.time_x": {"result": [1.0, 2.0]}}, done)  # a row of another size
    assert not ledger.recorded(BENCH, {}, done)


def test_outcome_counts_measured_skipped_and_failed_among_the_selected():
    bench = Benchmark("a.B.time_x", [0, 1, 2, 3], 4)
    assert ledger.outcome(bench, {"a.B.time_x": {"result": [1.0, math.nan, None, 2.0]}}) == (2, 1, 1)
    assert ledger.outcome(bench, {}) == (0, 0, 4)
    short = Benchmark("a.B.time_x", [0, 1], 2)
    assert ledger.outcome(short, {"a.B.time_x": {"result": [1.0]}}) == (1, 0, 1)  # past the row's end: failed


def test_replace_whole_renames_a_full_copy_over_the_target(tmp_path):
    source, target = tmp_path / "new.json", tmp_path / "deep" / "er" / "c.json"
    source.write_text("new")
    ledger.replace_whole(source, target, keep=True)
    assert target.read_text() == "new" and source.read_text() == "new"
    source.write_text("newer")
    ledger.replace_whole(source, target)
    assert target.read_text() == "newer" and not source.exists()
    assert sorted(p.name for p in target.parent.iterdir()) == ["c.json"]  # no temporary left


def test_split_of_a_benchmarks_time_worked_by_hand():
    """Two combinations, one in two processes. Combination 0: life 4 + 2 = 6 s, setup
    (1.23456 + 0.5 + 0.25) + 0 = 1.98456 -> parts summed per combination to 4 decimals;
    combination 1: life 3. took 9.5 s: asv 9.5 - 9 - teardown 0 = 0.5; body = 9 - setup -
    sampling; engine 1.23456 + 1.0 = 2.23456 -> 2.23."""
    phases = [
        {"kind": "phases", "benchmark": "a.B", "index": 0, "life_s": 4.0, "engine_s": 1.23456, "inputs_s": 0.5,
         "warm_s": 0.25, "sampling_s": 1.5, "teardown_s": 0.0},
        {"kind": "phases", "benchmark": "a.B", "index": 0, "life_s": 2.0, "sampling_s": 1.25},
        {"kind": "phases", "benchmark": "a.B", "index": 1, "life_s": 3.0, "engine_s": 1.0, "sampling_s": 1.6},
        {"kind": "phases", "benchmark": "a.C", "index": 0, "life_s": 100.0},
        {"kind": "other", "benchmark": "a.B", "index": 0, "life_s": 100.0},
    ]
    got = ledger.split("a.B", phases, 9.5)
    assert got["combinations"]["0"] == {"life_s": 6.0, "engine_s": 1.2346, "inputs_s": 0.5, "warm_s": 0.25,
                                        "sampling_s": 2.75, "teardown_s": 0.0}
    assert got["combinations"]["1"]["engine_s"] == 1.0 and got["combinations"]["1"]["life_s"] == 3.0
    # setup 1.2346 + 0.75 + 1.0 = 2.9846; sampling 4.35; body 9 - 2.9846 - 4.35 = 1.6654
    assert {k: got[k] for k in (*ledger.PARTS, "engine_s")} == {
        "asv_s": 0.5, "setup_s": 2.98, "sampling_s": 4.35, "body_s": 1.67, "teardown_s": 0.0, "engine_s": 2.23}
    tight = ledger.split("a.B", [{"kind": "phases", "benchmark": "a.B", "index": 0, "life_s": 1.0,
                                  "sampling_s": 0.75, "teardown_s": 0.125}], 1.5)
    assert (tight["asv_s"], tight["body_s"], tight["teardown_s"]) == (0.38, 0.25, 0.12)  # 0.375 and 0.125 round to even
    assert ledger.split("a.B", [{"kind": "phases", "benchmark": "a.B", "index": 0, "life_s": 5.0}], 2.0)["asv_s"] == 0.0


def test_the_runs_split_line_sums_the_benchmarks_and_gives_shares():
    splits = [{"asv_s": 1.0, "setup_s": 2.0, "sampling_s": 3.0, "body_s": 1.0, "teardown_s": 0.5, "engine_s": 1.5},
              {"sampling_s": 2.0, "teardown_s": 0.5}]
    assert ledger.split_line(splits) == (
        "parbench: where the time went: asv's start and processes 1.0 s (10%), "
        "setup (engine start 1.5 s, inputs, warm-up) 2.0 s (20%), sampling 5.0 s (50%), "
        "the rest of benchmark processes (track_* calls, calibration) 1.0 s (10%), teardown 1.0 s (10%)")
