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
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .plan import Benchmark

LEDGER = "measured.jsonl"  # beside the result files: which combinations each one holds
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
    try:
        lines = (final.parent / LEDGER).read_text().splitlines()
    except FileNotFoundError:
        return done
    for line in lines:
        entry = json.loads(line)
        if entry["file"] == final.name:
            done.setdefault(entry["benchmark"], set()).update(entry["indices"])
    return done


def note(final: Path, bench: Benchmark, run: str, took_s: float, cap_s: float | None = None) -> None:
    """Record that ``final`` now holds ``bench``'s selected combinations, what they took, and
    the time cap its points ran under (the protocol's benchmarks)."""
    entry = {"file": final.name, "benchmark": bench.name, "indices": bench.selected, "run": run,
             "took_s": round(took_s, 2)}
    if cap_s is not None:
        entry["cap_s"] = cap_s
    with open(final.parent / LEDGER, "a") as ledger:
        ledger.write(json.dumps(entry) + "\n")


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
