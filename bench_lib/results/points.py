"""Measured points with their intervals, one JSON line each, beside asv's result files.

asv stores one number per ``track_*`` value. A point's interval, number of pairs, times
of both sides and foreign-load record have no place there, so the benchmark process
appends them here as soon as the point is measured: ``results/<machine>/points.jsonl``.
``python -m bench_lib run`` names the file and the run (``PARBENCH_POINTS``,
``PARBENCH_RUN``, ``PARBENCH_COMMIT``, ``PARBENCH_MACHINE``); outside a run (tests, a bare
``asv run``) nothing is written. Each line is checked and written by bench_lib.results.records: a
killed run leaves at most its last line cut short, which ``read`` skips and counts.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from bench_lib import config
from bench_lib.results import records, sysinfo

FILE = records.POINTS
ENGINES = ("ray", "dask", "distributed", "joblib")  # what an engine stack of asv's matrix varies


@functools.lru_cache(maxsize=1)
def engines() -> dict[str, str | None]:
    """The engine versions installed where this process runs (None: not installed)."""
    return sysinfo.versions(ENGINES)


def context() -> dict:
    """Which run a point belongs to, from the environment ``bench_lib run`` set, and which
    engine stack measured it: two stacks of asv's matrix at one commit are two runs."""
    return {**config.run_context(), "engines": dict(engines())}


def same_stack(record: dict, params: dict) -> bool:
    """Whether a point was measured on the stack an asv result file names in its params
    (asv's matrix versions). A file that names no engine (an ``existing`` environment)
    takes every point of its commit; one that does takes only points whose engines agree,
    so a point that records none (before engines were recorded) belongs to no matrix stack."""
    named = {k: str(params[k]) for k in ENGINES if params.get(k) is not None}
    if not named:
        return True
    have = record.get("engines") or {}
    return all(have.get(k) == v for k, v in named.items())


def write(record: dict, path: str | os.PathLike | None = None) -> bool:
    """Append ``record`` (with its run context) to ``path`` or the run's file (:func:`run_file`):
    points, or the traces and phases beside them (records.RecordError, a ValueError, for a
    record its file's schema refuses: nothing is written)."""
    target = path or run_file()
    if not target:
        return False
    records.append(target, {**context(), **record})
    return True


def read(path: str | os.PathLike) -> tuple[list[dict], int]:
    """(the records of a points file, or of the traces or phases beside it, at the current
    schema; how many lines were unreadable and skipped)."""
    return records.read(path)


def follow(path: str | os.PathLike, offset: int) -> tuple[list[dict], int]:
    """The records appended to a points file since byte ``offset``, and where to go on:
    what a run prints while asv runs (bench_lib.run.feed)."""
    return records.follow(path, offset)


def run_file(name: str | None = None) -> Path | None:
    """The run's points file (``$PARBENCH_POINTS``), or its file ``name`` beside it
    (traces); None outside a run."""
    target = config.points_file()
    if not target:
        return None
    return Path(target) if name is None else Path(target).with_name(name)


def of_this_run(name: str | None = None) -> list[dict]:
    """What this run (``PARBENCH_RUN``) wrote to :func:`run_file` ``name``; nothing outside
    a run. A point measured once for many views is read back here instead of being
    measured again."""
    path, run = run_file(name), config.run_context()["run"]
    if path is None or not run:
        return []
    return [r for r in read(path)[0] if r.get("run") == run]


def window_combo(window: dict) -> tuple:
    """The asv combination a load window belongs to: its benchmark class and its parameters
    as text (a parameter read back from asv's files, "2", is the one a run passed as 2)."""
    return window.get("benchmark"), tuple(sorted((k, str(v)) for k, v in window.get("params", {}).items()))
