"""What ``compare``'s BASE and NEW name: a results folder, one asv result file, a commit
(prefix) or a run id from points.jsonl, read into one machine's series and points. An asv
result file of a matrix environment takes only the points of its own engine stack, so two
stacks measured at one commit stay apart (points.same_stack)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from bench_lib.publish import report as rep
from bench_lib.results import points


def _one(machines: list[rep.Machine], machine: str | None, spec: str) -> rep.Machine:
    chosen = rep.pick(machines, machine, spec)
    if len(chosen) > 1:
        raise rep.ReportError(f"{spec} holds several machines ({', '.join(m.name for m in chosen)}): "
                              "choose one with --machine")
    return chosen[0]


def _commit(spec: str, root: Path | None) -> str:
    """A commit-ish (HEAD, a branch, a tag, a hash) as the 8-character prefix asv uses."""
    try:
        return subprocess.check_output(["git", "rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}"],
                                       cwd=root, text=True, stderr=subprocess.DEVNULL).strip()[:8]
    except (OSError, subprocess.CalledProcessError):
        # a hash passes through as its prefix; anything else (an unknown run id) matches nothing
        return spec[:8] if re.fullmatch(r"[0-9a-f]{4,40}", spec) else spec


def result_set(spec: str, results: Path, machine: str | None = None, root: Path | None = None) -> rep.Machine:
    """The series of a results folder, an asv result file, a commit or a run in ``results``."""
    path = Path(spec)
    if path.is_dir():
        return _one(rep.load(path), machine, spec)
    if path.is_file():
        found = rep.Machine(path.parent.name, rep.machine_info(path.parent))
        data = rep.read_file(path)
        rep.add_results(found, data, rep.read_index(path.parent.parent))
        commit = data.get("commit_hash", "")[:8]
        params = data.get("params", {})
        found.points = [r for r in _points(path.parent) if r.get("commit") == commit and points.same_stack(r, params)]
        return found
    if machine and not (Path(results) / machine).is_dir():
        have = sorted(p.name for p in Path(results).glob("*") if p.is_dir())
        raise rep.ReportError(f"no machine {machine!r} in {results}/; machines: {', '.join(have) or 'none'}")
    runs = _run(Path(results), spec, machine)
    if runs is not None:
        return runs
    prefix = _commit(spec, root)
    files = sorted(Path(results).glob(f"*/{prefix}*.json")) if len(prefix) >= 4 else []
    files = [f for f in files if f.name != "machine.json" and (not machine or f.parent.name == machine)]
    if not files:
        raise rep.ReportError(f"{spec!r} is neither a results folder, a result file, a run nor a commit "
                              f"with results under {results} (git log shows the commits)")
    by_machine: dict[str, list[Path]] = {}
    for f in files:
        by_machine.setdefault(f.parent.name, []).append(f)
    name = _one([rep.Machine(m) for m in by_machine], machine, spec).name
    if len(by_machine[name]) > 1:  # one file per environment (asv.conf.json's matrix)
        raise rep.ReportError(f"{spec} has results from {len(by_machine[name])} environments on {name}: "
                              f"pass one file ({', '.join(str(f) for f in by_machine[name])})")
    return result_set(str(by_machine[name][0]), results)


def _points(folder: Path) -> list[dict]:
    return points.read(folder / points.FILE)[0]


def _run(results: Path, run: str, machine: str | None) -> rep.Machine | None:
    """The points of one run (its id as points.jsonl records it), or None."""
    found = []
    for folder in sorted(p for p in results.glob("*") if p.is_dir()):
        if machine and folder.name != machine:
            continue
        records = [r for r in _points(folder) if r.get("run") == run]
        if records:
            found.append(rep.Machine(folder.name, rep.machine_info(folder), points=records))
    return _one(found, machine, run) if found else None
