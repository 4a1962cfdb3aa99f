"""asv result files, read and replaced whole, and the ledger beside them.

asv writes n/a both for a combination it skipped and one a run did not select, so
``measured.jsonl`` beside the result files says which combinations each file holds.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
from pathlib import Path
from bench_lib.results import records
from bench_lib.results.benchmark import Benchmark

LEDGER = records.MEASURED  # beside the result files: which combinations each one holds
PHASES = records.PHASES  # beside them: where each combination's process spent its time (windows.finish)
ASV_START_S = 4.0  # one asv run's start and discovery, on this 2-core machine


def result_path(results: Path, machine: str, commit: str) -> Path:
    """Where asv keeps this commit's results for this Python (``-E existing:<python>``)."""
    from asv.environment import get_env_name
    from asv.results import get_filename

    return results / get_filename(machine, commit, get_env_name("existing", sys.executable, {}, {}))


def load_rows(path: Path) -> dict[str, dict]:
    """{benchmark: {column: value}} of an asv result file ({} when there is none)."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    columns = data["result_columns"]
    return {name: dict(zip(columns, row)) for name, row in data["results"].items()}


class Unreadable(ValueError):
    """This commit's asv result file (or the ledger beside it) cannot be read: a benchmark's
    own declaration errors stay plain ValueErrors, so neither is mistaken for the other."""


def read(final: Path) -> tuple[dict[str, dict], dict[str, set[int]]]:
    """(load_rows, measured) of a result file, or Unreadable naming the file to move away."""
    try:
        rows, done = load_rows(final), measured(final)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise Unreadable(f"unreadable asv result file of this commit ({exc!r}): move {final} away to run "
                         "it again") from None
    return rows, done


def values(row: dict) -> list:
    """A row's results, one per combination (asv stores a lone value for no params)."""
    return row["result"] if isinstance(row.get("result"), list) else [row.get("result")]


def measured(final: Path) -> dict[str, set[int]]:
    """{benchmark: combination indices} this result file holds measurements of, from the
    ledger beside it. asv writes n/a both for a skipped combination and one not selected,
    so the file alone cannot tell what a run left out."""
    done: dict[str, set[int]] = {}
    for entry in records.read(final.parent / LEDGER, strict=True)[0]:  # a bad line: Unreadable (read)
        if entry["file"] == final.name:
            done.setdefault(entry["benchmark"], set()).update(entry["indices"])
    return done


def note(final: Path, bench: Benchmark, run: str, took_s: float, cap_s: float | None = None,
         split: dict | None = None) -> None:
    """Record that ``final`` now holds ``bench``'s selected combinations, what they took, the
    time cap its points ran under (the protocol's benchmarks) and where the time went (split)."""
    entry = {"file": final.name, "benchmark": bench.name, "indices": bench.selected, "run": run,
             "took_s": round(took_s, 2)}
    if cap_s is not None:
        entry["cap_s"] = cap_s
    if split:
        entry["split"] = split
    records.append(final.parent / LEDGER, entry)


def recorded(bench: Benchmark, rows: dict[str, dict], done: dict[str, set[int]]) -> bool:
    """Every selected combination was measured into the file and has a result there (a
    number, or n/a for a skip; a failure is measured again)."""
    row = rows.get(bench.name)
    if row is None or not set(bench.selected) <= done.get(bench.name, set()):
        return False
    results = values(row)
    return len(results) == bench.total and all(results[i] is not None for i in bench.selected)


def outcome(bench: Benchmark, rows: dict[str, dict]) -> tuple[int, int, int]:
    """(measured, skipped as n/a, failed) among the selected combinations."""
    row = rows.get(bench.name) or {"result": [None] * bench.total}
    results = values(row)
    picked = [results[i] if i < len(results) else None for i in bench.selected]
    failed = sum(v is None for v in picked)
    skipped = sum(isinstance(v, float) and math.isnan(v) for v in picked)
    return len(picked) - failed - skipped, skipped, failed


def replace_whole(source: Path, target: Path, keep: bool = False) -> None:
    """Copy ``source`` beside ``target``, then rename over it: never a partial file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.copyfile(source, temporary)
    os.replace(temporary, target)
    if not keep:
        source.unlink()


PARTS = ("asv_s", "setup_s", "sampling_s", "body_s", "teardown_s")
COMBINATION = ("life_s", "engine_s", "inputs_s", "warm_s", "sampling_s", "teardown_s")


def split(name: str, phases: list[dict], took_s: float) -> dict:
    """Where ``took_s`` of benchmark ``name`` went, from the phases lines (windows.finish)
    its processes wrote: per combination (index), each part summed over its processes; in
    all, setup (engine start, inputs, warm-up), sampling (asv's samples), body (the rest of
    a process's life: a track_* call, asv's calibration, imports), teardown (engines
    closed), and asv_s, what no benchmark process holds: asv's start, discovery, process
    spawns, result writing (``took_s`` carries a share of what its batch had in common)."""
    combos: dict[str, dict] = {}
    for line in phases:
        if line.get("kind") == "phases" and line.get("benchmark") == name:
            combo = combos.setdefault(str(line.get("index")), dict.fromkeys(COMBINATION, 0.0))
            for key in COMBINATION:
                combo[key] = round(combo[key] + line.get(key, 0.0), 4)
    setup = sum(c["engine_s"] + c["inputs_s"] + c["warm_s"] for c in combos.values())
    sampling = sum(c["sampling_s"] for c in combos.values())
    life = sum(c["life_s"] for c in combos.values())
    teardown = sum(c["teardown_s"] for c in combos.values())
    parts = (max(0.0, took_s - life - teardown), setup, sampling, max(0.0, life - setup - sampling), teardown)
    engine = sum(c["engine_s"] for c in combos.values())
    return {**{key: round(value, 2) for key, value in zip(PARTS, parts)}, "engine_s": round(engine, 2),
            "combinations": combos}


def split_line(splits: list[dict]) -> str:
    """A run's time by part, from its benchmarks' splits."""
    total = {key: sum(s.get(key, 0.0) for s in splits) for key in PARTS}
    whole = sum(total.values()) or 1.0
    engine = sum(s.get("engine_s", 0.0) for s in splits)
    said = {"asv_s": "asv's start and processes", "setup_s": f"setup (engine start {engine:.1f} s, inputs, warm-up)",
            "sampling_s": "sampling", "body_s": "the rest of benchmark processes (track_* calls, calibration)",
            "teardown_s": "teardown"}
    return "parbench: where the time went: " + ", ".join(
        f"{said[key]} {total[key]:.1f} s ({total[key] / whole:.0%})" for key in PARTS)
