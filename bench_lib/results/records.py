"""The records of the JSON-lines files under ``results/<machine>/``: one schema, one reader,
one writer.

Each file names the fields every record of each kind must carry, with their types; any
other field is allowed (a later version adds fields without breaking older readers).
:func:`append` stamps ``"schema": SCHEMA`` on each new record, refuses a bad one before
anything is written, and writes it as one line. :func:`read` returns records at the current
version, without the stamp: a record without one is version 1 (written before there was a
schema), migrated in memory and never refused, so every committed line still reads; a
record of this version that breaks its schema is counted unreadable, like a line a killed
run cut short. Nothing here imports the rest of bench_lib: every module that owns a file
(points, traces, windows, sysinfo, ledger) stands on it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

SCHEMA = 2  # stamped on every record written; none = 1 (before the stamp)

POINTS = "points.jsonl"  # points with their intervals, and asv's sample windows
TRACES = "traces.jsonl"  # one traced call per point
PHASES = "phases.jsonl"  # where each combination's process spent its time
SYSINFO = "sysinfo.jsonl"  # the machine, once per run
MEASURED = "measured.jsonl"  # the ledger: which combinations each asv result file holds

STR, INT, NUMBER, BOOL, DICT, LIST, NONE = str, "int", "number", bool, dict, list, type(None)


class RecordError(ValueError):
    """A record that breaks its file's schema, or a line that cannot be read."""


@dataclass(frozen=True)
class File:
    """One file's schema: the fields of every record (``common``), those of each kind
    (``kinds``; ``{None: ...}`` where records have no kind), the fields checked only where
    present (``optional``), and what a version 1 record lacks that today's readers take
    for granted (``v1_defaults``, per kind)."""

    name: str
    kinds: dict[str | None, dict[str, tuple]]
    common: dict[str, tuple] = field(default_factory=dict)
    optional: dict[str, tuple] = field(default_factory=dict)
    v1_defaults: dict[str | None, dict] = field(default_factory=dict)


RUN = {"machine": (STR,), "commit": (STR,), "run": (STR,)}  # points.context(): which run wrote it
RATIO = {"workload": (STR,), "backend": (STR,), "n_workers": (INT,), "variant": (STR,), "value": (NUMBER,),
         "ci": (LIST,), "half_width": (NUMBER, NONE), "pairs": (INT,), "time_s": (NUMBER,),
         "other_time_s": (NUMBER,), "samples_s": (DICT,), "precise": (BOOL,), "stopped": (STR,),
         "discarded": (INT,), "noisy": (INT,), "quiet": (BOOL,), "foreign_cores_max": (NUMBER,)}
MEASURED_POINT = {**RATIO, "malloc": (STR,)}  # bench_lib.measure.ratios.record

FILES = {f.name: f for f in (
    File(POINTS, common=RUN, optional={"engines": (DICT,), "group": (LIST,), "faults": (DICT,),
                                       "minor_faults": (INT,), "major_faults": (INT,),
                                       # the load guard's tally where a kind does not require it (modes)
                                       "discarded": (INT,), "noisy": (INT,), "quiet": (BOOL,)},
         kinds={"speedup": MEASURED_POINT, "gap": MEASURED_POINT, "harness": MEASURED_POINT,
                "malloc": MEASURED_POINT, "ceiling": {**MEASURED_POINT, "loops": (INT,)},
                # bench_lib.measure.modes: a warm-run figure once / per-point, over rounds of one sitting
                "modes": {"benchmark": (STR,), "params": (DICT,), "value": (NUMBER,), "ci": (LIST,),
                          "rounds": (INT,), "margin": (NUMBER,), "equivalent": (BOOL,), "once_s": (LIST,),
                          "per_point_s": (LIST,)},
                "window": {"benchmark": (STR,), "params": (DICT,), "wall_s": (NUMBER,), "foreign_cores": (NUMBER,),
                           "steal": (NUMBER,), "quiet": (BOOL,)}},
         # before the discipline was recorded, every point ran under glibc's default
         v1_defaults={kind: {"malloc": "default"} for kind in ("speedup", "gap", "harness", "ceiling")}),
    File(TRACES, common=RUN, optional={"engines": (DICT,)},
         kinds={"trace": {"workload": (STR,), "backend": (STR,), "n_workers": (INT,), "variant": (STR,),
                          "size": (STR,), "summary": (DICT,), "columns": (LIST,), "spans": (LIST,)}}),
    File(PHASES, common=RUN, optional={"engines": (DICT,)},
         kinds={"phases": {"benchmark": (STR,), "index": (INT, NONE), "life_s": (NUMBER,), "setup_s": (NUMBER,),
                           "engine_s": (NUMBER,), "inputs_s": (NUMBER,), "warm_s": (NUMBER,),
                           "sampling_s": (NUMBER,), "teardown_s": (NUMBER,), "setups": (INT,),
                           "samples": (INT,)}}),
    File(SYSINFO, kinds={None: {"commit": (STR, NONE), "time": (NUMBER,), "machine": (STR, NONE),
                                "cpu_model": (STR,), "physical_cores": (INT,), "usable_cpus": (INT,),
                                "memory_bytes": (INT,), "python": (STR,), "platform": (STR,), "size": (STR,),
                                "versions": (DICT,)}},
         optional={"run": (STR,), "wall_s": (NUMBER,), "allocator": (DICT,), "quiet": (DICT,)}),
    File(MEASURED, kinds={None: {"file": (STR,), "benchmark": (STR,), "indices": (LIST,), "run": (STR,),
                                 "took_s": (NUMBER,)}},
         optional={"cap_s": (NUMBER,), "split": (DICT,)}),
)}


def schema_of(path: str | os.PathLike) -> File | None:
    """The schema of a results file, by its name; None for a file of no schema."""
    return FILES.get(Path(path).name)


def _is(value, kind) -> bool:
    if kind == INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == NUMBER:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, kind)


def _name(kind) -> str:
    return kind if isinstance(kind, str) else "null" if kind is NONE else kind.__name__


def check(schema: File, record: dict) -> None:
    """Raise RecordError unless ``record`` holds every field its kind needs, of its type."""
    if not isinstance(record, dict):
        raise RecordError(f"{schema.name}: a record is a JSON object, not {type(record).__name__}")
    kind = record.get("kind")
    if kind not in schema.kinds:
        known = ", ".join(sorted(str(k) for k in schema.kinds))
        raise RecordError(f"{schema.name}: unknown kind {kind!r} (known: {known})")
    for name in {**schema.common, **schema.kinds[kind]}:
        if name not in record:
            raise RecordError(f"{schema.name}: a {kind or 'record'} needs {name!r}")
    for name, types in {**schema.optional, **schema.common, **schema.kinds[kind]}.items():
        if name in record and not any(_is(record[name], t) for t in types):
            raise RecordError(f"{schema.name}: {name!r} of a {kind or 'record'} is "
                              f"{' or '.join(map(_name, types))}, not {record[name]!r}")


def migrate(schema: File | None, record: dict) -> dict:
    """``record`` at the current version, without its stamp (a version 1 record gains the
    fields its readers took for granted)."""
    if schema is None:
        return record
    if record.pop("schema", 1) == 1:
        return {**schema.v1_defaults.get(record.get("kind"), {}), **record}
    return record


def _parse(schema: File | None, line: str) -> dict:
    """One line as a record at the current version; ValueError (json's, RecordError) if not."""
    record = json.loads(line)
    if not isinstance(record, dict):
        raise RecordError(f"not a JSON object: {line[:40]}")
    if schema is not None and record.get("schema", 1) != 1:
        if record["schema"] != SCHEMA:
            raise RecordError(f"schema {record['schema']!r}, newer than this reader's {SCHEMA}")
        check(schema, {k: v for k, v in record.items() if k != "schema"})
    return migrate(schema, record)


def read(path: str | os.PathLike, strict: bool = False) -> tuple[list[dict], int]:
    """(the records of a results file, how many lines were unreadable and skipped): a line
    cut short, not an object, or of this version and breaking its schema. ``strict``:
    RecordError at the first such line instead. A missing file holds no records."""
    path = Path(path)
    if not path.is_file():
        return [], 0
    schema, out, bad = schema_of(path), [], 0
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(_parse(schema, line))
        except ValueError as exc:  # json's errors and RecordError
            if strict:
                raise RecordError(f"{path}:{number}: {exc}") from None
            bad += 1
    return out, bad


def follow(path: str | os.PathLike, offset: int) -> tuple[list[dict], int]:
    """The records of the whole lines appended to a results file since byte ``offset``, and
    the offset to follow on from: a line still being written is read next time, an
    unreadable one skipped. A missing file holds none."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            chunk = f.read()
    except FileNotFoundError:
        return [], offset
    complete = chunk[: chunk.rfind(b"\n") + 1]
    schema, out = schema_of(path), []
    for line in complete.decode(errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            out.append(_parse(schema, line))
        except ValueError:  # json's errors and RecordError: skipped, as read does
            continue
    return out, offset + len(complete)


def append(path: str | os.PathLike, record: dict) -> dict:
    """Check ``record`` against its file's schema and append it, stamped, as one line
    (one write in append mode, then fsync): a bad record raises before anything is written,
    and a killed writer leaves at most its own line cut short. Returns the line's record."""
    schema = schema_of(path)
    if schema is None:
        raise RecordError(f"{Path(path).name} is no results file ({', '.join(FILES)})")
    check(schema, record)
    stamped = {**record, "schema": SCHEMA}
    data = (json.dumps(stamped, allow_nan=False) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    return stamped
