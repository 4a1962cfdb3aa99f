"""``python -m bench_lib upgrade-check``: did an engine upgrade make a workload slower?

The two engine stacks of asv.conf.json's matrix are measured in one session, alternating
point by point (old new, then new old, ...), so both see the same host: a host that
drifts over the session moves both sides of each pair alike (Pinpoint's A/B idea; asv's
``--interleave-rounds`` refuses these environments and ``track_speedup`` has no rounds).
Each point is one speedup over the serial loop with its interval, measured by the stack's
own Python on this checkout's code (``PYTHONPATH``), so only the engines differ. Two
stacks' speedups are independent measurements: new / old combines their intervals
(protocol.product_interval). A point regressed only where that whole interval lies below
``1 / factor``. The coordinator here imports no engine: each point runs in the stack's
interpreter (``python -m bench_lib.run.upgrade WORKLOAD BACKEND N_WORKERS``)."""

from __future__ import annotations

import ast
import json
import math
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from bench_lib.checkout import CLIError
from bench_lib.measure import protocol
from bench_lib.results import points
from bench_lib.run import plan

BENCHMARK = "scaling.Ratios.track_speedup"


@dataclass(frozen=True)
class Stack:
    """One environment of asv's matrix: its interpreter and the engine versions it pins."""

    env_name: str
    python: Path
    versions: dict
    requirements: dict = field(default_factory=dict)  # every pinned package, as asv names them
    python_version: str = ""

    @property
    def label(self) -> str:
        return " ".join(f"{k} {self.versions[k]}" for k in points.ENGINES if k in self.versions)

    def built(self) -> bool:
        return self.python.is_file()


@dataclass(frozen=True)
class Point:
    workload: str
    backend: str
    n_workers: int

    def __str__(self) -> str:
        return f"{self.workload} {self.backend} n={self.n_workers}"


@dataclass(frozen=True)
class Outcome:
    """One point on both stacks: each side's speedup record and new / old with its interval."""

    point: Point
    old: dict
    new: dict
    change: protocol.Interval

    def regressed(self, factor: float) -> bool:
        return math.isfinite(self.change.high) and self.change.high < 1 / factor

    @property
    def detectable(self) -> float:
        """The smallest change (a factor) whose interval, this wide, would exclude 1."""
        low, high = self.change.low, self.change.high
        if not (math.isfinite(low) and math.isfinite(high) and low > 0):
            return math.inf
        return math.exp((math.log(high) - math.log(low)) / 2)


def interval(record: dict) -> protocol.Interval:
    low, high = record.get("ci") or (None, None)
    return protocol.Interval(record["value"], math.nan if low is None else low,
                             math.nan if high is None else high, record.get("pairs", 0))


def compare(point: Point, old: dict, new: dict) -> Outcome:
    return Outcome(point, old, new, protocol.product_interval(interval(new), interval(old), power=-1))


Measure = Callable[[Stack, Point], dict]


def check(old: Stack, new: Stack, todo: list[Point], measure: Measure,
          say: Callable[[str], None] = print, clock: Callable[[], float] = time.monotonic) -> list[Outcome]:
    """Every point on both stacks, alternating which goes first so neither always runs on
    a host warmed (or loaded) by the other; progress and an ETA after each point."""
    started, out = clock(), []
    for i, point in enumerate(todo):
        order = (("old", old), ("new", new)) if i % 2 == 0 else (("new", new), ("old", old))
        got = {side: measure(stack, point) for side, stack in order}  # by side: an A/A may name one stack twice
        out.append(compare(point, got["old"], got["new"]))
        spent = clock() - started
        left = spent / (i + 1) * (len(todo) - i - 1)
        say(f"[{i + 1}/{len(todo)}] {point}: {_minutes(spent)} spent, ~{_minutes(left)} left")
    return out


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f}m" if seconds >= 60 else f"{seconds:.0f}s"


def lines(old: Stack, new: Stack, outcomes: list[Outcome], factor: float) -> list[str]:
    """What the check found, one line per point: new / old, its interval, the smallest
    change this precision could detect, and the verdict against ``factor``."""
    out = [f"old: {old.label}", f"new: {new.label}"]
    for o in outcomes:
        c = o.change
        shown = (f"[{c.low:.2f}, {c.high:.2f}]" if math.isfinite(c.low) and math.isfinite(c.high)
                 else "[no interval]")
        smallest = "" if math.isinf(o.detectable) else f", detectable beyond x{o.detectable:.2f} either way"
        verdict = "  REGRESSION" if o.regressed(factor) else ""
        out.append(f"{o.point}: {o.old['value']:.2f}x -> {o.new['value']:.2f}x, new/old {c.estimate:.2f} "
                   f"{shown}{smallest}{verdict}")
    worse = sum(o.regressed(factor) for o in outcomes)
    out.append(f"{worse} of {len(outcomes)} points slower on the new stack beyond 1/{factor:g} "
               "(the whole interval below it)")
    return out


def status(outcomes: list[Outcome], factor: float) -> int:
    """1 where some point's whole interval of new / old lies below ``1 / factor``, else 0."""
    return 1 if any(o.regressed(factor) for o in outcomes) else 0


def speedup_points(root: Path, bench: str | None = None) -> list[Point]:
    """The speedup benchmark's combinations of the default profile that are not skipped,
    as asv_runner names them, those matching ``bench`` where given."""
    try:
        re.compile(bench or "")
    except re.error as exc:
        raise ValueError(f"--bench {bench!r} is not a regular expression ({exc})") from None
    found = {f.name: f for f in plan.discover(root)}[BENCHMARK]
    todo = []
    for i, combo in enumerate(found.combos):
        if i in found.skips or i in found.extended or (bench and not re.search(bench, combo)):
            continue
        workload, backend, n = ast.literal_eval(combo[len(BENCHMARK):])
        todo.append(Point(workload, backend, int(n)))
    return todo


def stacks(root: Path) -> list[Stack]:
    """asv.conf.json's matrix environments, as asv itself names and places them."""
    from asv import config as asv_config, environment

    conf = asv_config.Config.load(str(root / "asv.conf.json"))
    found = []
    for env in environment.get_environments(conf, None):
        versions = {k: str(v) for k, v in env.requirements.items() if k in points.ENGINES}
        # asv places env_dir from the working directory; ours is the checkout's, wherever we run
        found.append(Stack(env.name, root / conf.env_dir / env.dir_name / "bin" / "python", versions,
                           {k: str(v) for k, v in env.requirements.items()}, str(env.python)))
    return found


def pick(found: list[Stack], names: list[str] | None) -> tuple[Stack, Stack]:
    """(old, new): the stacks ``names`` select (each a text in one env name), else the two
    of the matrix, the one with the older Ray first."""
    if names:
        chosen = []
        for name in names:
            hits = [s for s in found if name in s.env_name]
            if len(hits) != 1:
                raise ValueError(f"--stacks {name!r} matches {len(hits)} of asv's environments: "
                                 + ", ".join(s.env_name for s in found))
            chosen.append(hits[0])
        return chosen[0], chosen[1]
    if len(found) != 2:
        raise ValueError(f"asv.conf.json's matrix has {len(found)} environments: name two with --stacks")
    return tuple(sorted(found, key=lambda s: [int(x) for x in re.findall(r"\d+", s.versions.get("ray", "0"))]))


def missing(stack: Stack) -> str:
    """One line: which stack is not built, and asv's command that builds it."""
    return (f"the stack {stack.label} is not built ({stack.python} is missing): build both with "
            "`python -m asv setup` in the checkout (asv.conf.json's matrix, into .asv/env; needs PyPI)")


def runner(root: Path, env: dict, run_id: str) -> Measure:
    """Measure a point in the stack's own interpreter, on this checkout's code; each stack's
    points under a run id of its own (``run_id`` and its Ray version), which compare takes."""
    def measure(stack: Stack, point: Point) -> dict:
        run_env = dict(env, PYTHONPATH=str(root), PARBENCH_RUN=f"{run_id}-ray{stack.versions.get('ray', '')}")
        done = subprocess.run([str(stack.python), "-m", "bench_lib.run.upgrade", point.workload, point.backend,
                               str(point.n_workers)], cwd=root, env=run_env, capture_output=True, text=True)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
            raise RuntimeError(f"{point} on {stack.label} failed: {last}")
        return json.loads(done.stdout.strip().splitlines()[-1])
    return measure


def save(results: Path, machine: str, commit: str, stack: Stack, measured: dict[Point, dict]) -> Path | None:
    """Write ``stack``'s speedups as asv's result file of its environment (asv's own
    Results, as ``asv run`` would in that environment), so the site draws one line per
    stack; combinations not measured here keep what the file held. None where asv's index
    (results/benchmarks.json) does not know the benchmark."""
    import datetime
    import itertools

    from asv import results as asv_results, runner as asv_runner

    index_path = results / "benchmarks.json"
    bench = json.loads(index_path.read_text()).get(BENCHMARK) if index_path.is_file() else None
    if bench is None:
        return None
    combos = [tuple(c) for c in itertools.product(*bench["params"])]
    values, chosen = [math.nan] * len(combos), set()
    for point, record in measured.items():
        key = (repr(point.workload), repr(point.backend), str(point.n_workers))
        if key in combos:
            values[combos.index(key)] = record["value"]
            chosen.add(combos.index(key))
    name = asv_results.get_filename(machine, commit, stack.env_name)
    path = results / name
    if path.is_file():
        found = asv_results.Results.load(str(path), machine)
    else:
        found = asv_results.Results({"machine": machine, "python": stack.python_version, **stack.requirements},
                                    stack.requirements, commit, int(time.time() * 1000), stack.python_version,
                                    stack.env_name, {})
    found.add_result(bench, asv_runner.BenchmarkResult(values, [None] * len(values), [None] * len(values), 0, "", None),
                     started_at=datetime.datetime.now(datetime.timezone.utc), selected_idx=chosen)
    found.save(str(results))
    return path


def save_both(results: Path, machine: str, commit: str, old: Stack, new: Stack,
              outcomes: list[Outcome]) -> list[Path]:
    """Both stacks' asv result files, each with its side of every outcome."""
    written = [save(results, machine, commit, stack, {o.point: getattr(o, side) for o in outcomes})
               for stack, side in ((old, "old"), (new, "new"))]
    return [p for p in written if p is not None]


def recorded(records: list[dict]) -> tuple[dict, dict, list[Outcome]]:
    """The newest upgrade check in a machine's points: (old versions, new versions, its
    outcomes), each stack's points told apart by the run id's Ray suffix and their engine
    versions, the older Ray being old. Empty where no check was recorded."""
    runs = [r for r in records if r.get("kind") == "speedup" and "-upgrade-" in r.get("run", "")]
    if not runs:
        return {}, {}, []
    newest = max(r["run"].rsplit("-ray", 1)[0] for r in runs)
    sides: dict[str, dict] = {}
    for r in runs:
        prefix, _, ray = r["run"].rpartition("-ray")
        if prefix == newest:
            sides.setdefault(ray, {})[(r["workload"], r["backend"], r["n_workers"])] = r
    if len(sides) != 2:
        return {}, {}, []
    old_ray, new_ray = sorted(sides, key=lambda v: [int(x) for x in re.findall(r"\d+", v)])
    old, new = sides[old_ray], sides[new_ray]
    outcomes = [compare(Point(*key), old[key], new[key]) for key in old if key in new]
    versions = [next(iter(side.values())).get("engines", {}) for side in (old, new)]
    return versions[0], versions[1], outcomes


def markdown(old: dict, new: dict, outcomes: list[Outcome], factor: float) -> list[str]:
    """The check as a table for the docs: both speedups, new / old with its interval, and
    whether the change lies beyond noise (the interval excludes 1) or beyond ``factor``."""
    def label(versions: dict) -> str:
        return ", ".join(f"{k} {versions[k]}" for k in points.ENGINES if k in versions)

    def verdict(o: Outcome) -> str:
        c = o.change
        if o.regressed(factor):
            return f"**slower beyond 1/{factor:g}**"
        if c.high < 1:
            return "slower, beyond noise"
        if c.low > 1:
            return "faster, beyond noise"
        return "within noise"

    out = [f"old: {label(old)}; new: {label(new)}", "",
           "| workload | backend | n | old speedup | new speedup | new / old [95%] | detectable | |",
           "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for o in sorted(outcomes, key=lambda o: (o.point.workload, o.point.backend, o.point.n_workers)):
        c = o.change
        out.append(f"| {o.point.workload} | {o.point.backend} | {o.point.n_workers} | {o.old['value']:.2f}x "
                   f"| {o.new['value']:.2f}x | {c.estimate:.2f} [{c.low:.2f}, {c.high:.2f}] "
                   f"| x{o.detectable:.2f} | {verdict(o)} |")
    return out


def print_recorded(path: Path, factor: float) -> int:
    """``upgrade-check --recorded``: the newest check in a points file, printed as it was
    measured; its status against ``factor``."""
    old, new, outcomes = recorded(points.read(path)[0]) if path.is_file() else ({}, {}, [])
    if not outcomes:
        raise CLIError(f"no upgrade check is recorded in {path}: run upgrade-check first")
    run = max(o.new["run"] for o in outcomes).rsplit("-ray", 1)[0]
    print(f"upgrade check {run} ({len(outcomes)} points), as recorded in {path}")
    print("\n".join(lines(Stack("", Path(), old), Stack("", Path(), new), outcomes, factor)))
    return status(outcomes, factor)


def _here(argv: list[str]) -> int:
    """One point in this interpreter (a stack's): its speedup record as the last line."""
    from bench_lib.measure import ratios  # the engines load here, in the stack's process, never the coordinator's

    workload, backend, n = argv
    record = ratios.speedup_in_run(workload, backend, int(n))
    print(json.dumps({**{k: record.get(k) for k in ("value", "ci", "pairs", "variant")}, "engines": points.engines()}))
    return 0


if __name__ == "__main__":
    sys.exit(_here(sys.argv[1:]))
