"""bench_lib.results.records: every results file has one schema, one reader and one writer; every
committed line still reads, a bad record never reaches a file."""

import json
from pathlib import Path

import pytest

from bench_lib.results import records

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = sorted((ROOT / "results").glob("*/*.jsonl"))


def window(**fields):
    """A load window with every field points.jsonl requires of one, made up."""
    return {"machine": "box", "commit": "abcd1234", "run": "r1", "kind": "window", "benchmark": "a.B",
            "params": {"n_workers": 2}, "wall_s": 0.5, "foreign_cores": 0.0, "steal": 0.0, "quiet": True, **fields}


def ledger_entry(**fields):
    return {"file": "abcd1234-existing.json", "benchmark": "a.B.time_x", "indices": [0, 2], "run": "r1",
            "took_s": 3.5, **fields}


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_the_committed_results_are_files_of_the_schema():
    assert {p.name for p in COMMITTED} == {"points.jsonl", "traces.jsonl", "sysinfo.jsonl", "measured.jsonl",
                                           "phases.jsonl"}


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_committed_record_reads_and_keeps_the_current_schema(path):
    read, unreadable = records.read(path, strict=True)
    assert unreadable == 0 and len(read) == sum(1 for line in path.read_text().splitlines() if line.strip())
    for record in read:
        records.check(records.schema_of(path), record)  # raises on a missing or mistyped field


def test_a_record_is_appended_stamped_and_read_back_without_the_stamp(tmp_path):
    path = tmp_path / "points.jsonl"
    records.append(path, window())
    records.append(path, window(quiet=False, minor_faults=12))
    assert [line["schema"] for line in lines(path)] == [2, 2]
    assert records.read(path) == ([window(), window(quiet=False, minor_faults=12)], 0)


def test_fields_the_schema_does_not_name_are_kept():
    """A later writer adds a field (the engine stack of a run, say): older readers pass it on."""
    records.check(records.FILES["points.jsonl"], window(engines={"ray": "2.40"}, added="anything"))


@pytest.mark.parametrize("bad", [
    {k: v for k, v in window().items() if k != "wall_s"},  # a required field missing
    window(kind="speedups"),  # a kind the file does not hold
    window(wall_s="0.5"),  # a number as text
    window(quiet=1),  # an int for a bool
    window(minor_faults=True),  # a bool for an int, in an optional field
    window(wall_s=float("nan")),  # not JSON
    [window()],  # not an object
])
def test_a_bad_record_raises_before_anything_is_written(tmp_path, bad):
    path = tmp_path / "points.jsonl"
    records.append(path, window())
    before = path.read_bytes()
    with pytest.raises(ValueError):
        records.append(path, bad)
    assert path.read_bytes() == before
    with pytest.raises(ValueError):
        records.append(tmp_path / "traces.jsonl", bad)
    assert not (tmp_path / "traces.jsonl").exists()


def test_a_file_of_no_schema_is_refused(tmp_path):
    with pytest.raises(records.RecordError, match="no results file"):
        records.append(tmp_path / "notes.jsonl", window())
    assert not (tmp_path / "notes.jsonl").exists()


def test_the_ledger_and_sysinfo_have_no_kind(tmp_path):
    records.append(tmp_path / "measured.jsonl", ledger_entry(cap_s=30.0))
    with pytest.raises(records.RecordError, match="needs 'took_s'"):
        records.append(tmp_path / "measured.jsonl", {k: v for k, v in ledger_entry().items() if k != "took_s"})
    with pytest.raises(records.RecordError, match="unknown kind 'window'"):
        records.append(tmp_path / "measured.jsonl", ledger_entry(kind="window"))
    assert records.read(tmp_path / "measured.jsonl") == ([ledger_entry(cap_s=30.0)], 0)


def test_version_1_records_are_migrated_never_refused(tmp_path):
    """Lines without a stamp were written before the schema: a point then ran under glibc's
    default allocator, and a partial line (a test's, an old run's) reads as it was."""
    path = tmp_path / "points.jsonl"
    path.write_text('{"kind": "speedup", "value": 1.5}\n{"kind": "window", "quiet": true}\n{"a": 1}\n'
                    '{"kind": "gap", "malloc": "fixed"}\n')
    assert records.read(path) == ([{"malloc": "default", "kind": "speedup", "value": 1.5},
                                   {"kind": "window", "quiet": True}, {"a": 1},
                                   {"kind": "gap", "malloc": "fixed"}], 0)


def test_a_line_cut_short_a_broken_current_record_and_a_newer_schema_are_unreadable(tmp_path):
    path = tmp_path / "points.jsonl"
    broken = {**window(), "schema": 2, "wall_s": None}
    newer = {**window(), "schema": 3}
    path.write_text(json.dumps({**window(), "schema": 2}) + "\n" + json.dumps(broken) + "\n"
                    + json.dumps(newer) + "\n[1]\n" + '{"kind": "window", "be')
    assert records.read(path) == ([window()], 4)
    with pytest.raises(records.RecordError, match=r"points.jsonl:2: .*'wall_s'"):
        records.read(path, strict=True)


def test_a_missing_file_holds_nothing(tmp_path):
    assert records.read(tmp_path / "points.jsonl") == ([], 0)
    assert records.read(tmp_path / "points.jsonl", strict=True) == ([], 0)
