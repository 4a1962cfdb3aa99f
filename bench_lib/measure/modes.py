"""Do the two engine modes measure the same thing? (``python -m bench_lib.measure.modes``)

``run --engines once`` joins one Ray and one Dask cluster per run; ``--engines per-point``
starts an engine in every asv process. A warm run's time should not care which. Here the
asv benchmarks' own ``setup`` and ``time_*`` methods are timed both ways, in processes of
their own as asv runs them, in one sitting: each round starts the run's clusters, times
every point joined to them, stops them, then times every point on its own engine (the
next round the other way round, so a host that drifts moves both modes alike). A Ray
driver joins one cluster per process, so the two modes cannot share a process.

Each round gives each point one ratio once / per-point (the medians of its timed calls);
the rounds' log ratios give a t interval. The modes agree on a point when that whole 95%
interval lies within ``1 +- MARGIN`` (an equivalence margin: overlap is not enough). The
records go to the machine's points.jsonl (kind ``modes``), where docs/generate.py reads
them. Exit status: 0 every point equivalent, 1 some point not, 2 ``--machine`` names a
series of another CPU (nothing measured).
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_lib import config
from bench_lib.backends import allocator, _run_clusters
from bench_lib.measure import protocol
from bench_lib.results import points, sysinfo

MARGIN = 0.05
# (asv class, params) of warm-run figures: two workloads, the engines that join, 1 and 2 workers
POINTS = [("filter_bank.FilterBank.time_filter_bank", (b, n, "shared", "5x5"))
          for b in ("ray", "dask") for n in (1, 2)] + \
         [("convolve2d.Convolve2D.time_convolve2d", (b, n, "shared", "strong"))
          for b in ("ray", "dask") for n in (1, 2)]


def asv_class(name: str):
    """The asv benchmark class of ``module.Class.method`` and its module, imported as asv does
    (by name, from the checkout's benchmarks/: the measuring layer imports no benchmark)."""
    module, cls, _ = name.rsplit(".", 2)
    found = importlib.import_module(f"benchmarks.{module}")
    return getattr(found, cls), found


def child(name: str, params: list, warm: int, timed: int) -> dict:
    """A point's calls as asv makes them (setup before each; the benchmark module's teardown
    at the end), in this process: the timed calls' seconds, and whether the machine was
    quiet over them (the load guard's window runs from the first timed call to the last;
    this process's tree and the run's clusters, named in its environment, are its own)."""
    method = name.rsplit(".", 1)[1]
    cls, found = asv_class(name)
    bench, times, guard = cls(), [], protocol.guard(config.guard_on())
    try:
        for i in range(warm + timed):
            bench.setup(*params)
            if i == warm:
                before = guard.snapshot()
            start = time.perf_counter()
            getattr(bench, method)(*params)
            if i >= warm:
                times.append(time.perf_counter() - start)
        load = guard.load(before, guard.snapshot())
    finally:
        getattr(found, "teardown", lambda *a: None)(*params)
    return {"times": times, "quiet": load.quiet(), "foreign_cores": load.foreign_cores_resolved, "steal": load.steal}


def calls(name: str) -> tuple[int, int]:
    """(warm-up, timed) calls per process: enough for a steady median in a few seconds."""
    return (2, 25) if "filter_bank" in name else (1, 5)


def measure(root: Path, env: dict, name: str, params: tuple, tally: dict | None = None) -> float:
    """The median of one process's timed calls of a point; a process whose calls ran beside
    foreign load or steal is measured again, up to the protocol's retries (``tally`` counts
    the processes ``discarded`` and those kept ``noisy`` because the retries ran out)."""
    warm, timed = calls(name)
    tally = {} if tally is None else tally
    for attempt in range(protocol.RETRIES + 1):
        done = subprocess.run([sys.executable, "-m", "bench_lib.measure.modes", "--child", name,
                               json.dumps(list(params)), str(warm), str(timed)],
                              cwd=root, env=env, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise RuntimeError(f"{name}{params}: {(done.stderr.strip().splitlines() or ['failed'])[-1]}")
        found = json.loads(done.stdout.strip().splitlines()[-1])
        if found["quiet"]:
            break
        if attempt < protocol.RETRIES:
            tally["discarded"] = tally.get("discarded", 0) + 1
    else:
        tally["noisy"] = tally.get("noisy", 0) + 1
    return statistics.median(found["times"])


def interval(ratios: list[float]) -> protocol.Interval:
    """Geometric mean of the rounds' ratios with its 95% t interval."""
    return protocol.log_interval([math.log(r) for r in ratios])


def equivalent(found: protocol.Interval, margin: float = MARGIN) -> bool:
    return 1 - margin <= found.low and found.high <= 1 + margin


def sitting(root: Path, rounds: int, todo=POINTS, say=print, one_engine: bool = False) -> dict:
    """Every point both ways, ``rounds`` times, alternating which mode goes first.
    ``one_engine``: in ``once``, only the cluster of the point's own engine is up (the other
    engine's idle cluster is not), to tell its idle load apart from the mode itself."""
    here = dict(os.environ)
    base = {**allocator.without(here), **allocator.environment(here), "PYTHONPATH": str(root)}
    base.pop(config.CLUSTERS, None)
    times: dict = {(name, params): {"once": [], "per-point": [], "tally": {}} for name, params in todo}
    started = time.monotonic()
    for r in range(rounds):
        for mode in (("once", "per-point") if r % 2 == 0 else ("per-point", "once")):
            if mode == "once":
                groups = ([[p for p in todo if p[1][0] == e] for e in _run_clusters.ENGINES] if one_engine
                          else [list(todo)])
                for group in filter(None, groups):
                    engines = sorted({p[1][0] for p in group}) if one_engine else list(_run_clusters.ENGINES)
                    with tempfile.TemporaryDirectory() as folder:
                        clusters = _run_clusters.Clusters(Path(folder), base, 2, engines)
                        try:
                            clusters.start()
                            env = {**base, **clusters.environment(), "PARBENCH_ENGINES": "once"}
                            for point in group:
                                found = times[point]
                                found["once"].append(measure(root, env, *point, found["tally"]))
                        finally:
                            clusters.stop()
            else:
                env = {**base, "PARBENCH_ENGINES": "per-point"}
                for point in todo:
                    found = times[point]
                    found["per-point"].append(measure(root, env, *point, found["tally"]))
        spent = time.monotonic() - started
        say(f"[round {r + 1}/{rounds}] {spent / 60:.1f} min spent, ~{spent / (r + 1) * (rounds - r - 1) / 60:.1f} min left")
    return times


def records(times: dict, run: dict, one_engine: bool = False) -> list[dict]:
    """One ``modes`` record per point: once / per-point with its interval, and the rounds
    (``run``: machine, commit and run id)."""
    out = []
    for (name, params), both in times.items():
        ratios = [a / b for a, b in zip(both["once"], both["per-point"])]
        tally = both.get("tally", {})
        found = interval(ratios)
        benchmark = name.rsplit(".", 1)[0]
        names = asv_class(name)[0].param_names
        out.append({**run, "engines": points.engines(), "kind": "modes", "one_engine": one_engine, "benchmark": name, "params": dict(zip(names, params)),
                    "value": found.estimate, "ci": [found.low, found.high], "rounds": len(ratios),
                    "margin": MARGIN, "equivalent": equivalent(found), "once_s": both["once"],
                    "per_point_s": both["per-point"], "class": benchmark,
                    "discarded": tally.get("discarded", 0), "noisy": tally.get("noisy", 0),
                    "quiet": not tally.get("noisy", 0)})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench_lib.measure.modes", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--machine", default=None, help="write the records to results/MACHINE/points.jsonl")
    parser.add_argument("--one-engine", action="store_true",
                        help="in once, only the point's own engine's cluster is up (tells the other's idle load apart)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="the points' n_workers (default 1 2)")
    parser.add_argument("--child", nargs=4, metavar=("NAME", "PARAMS", "WARM", "TIMED"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        name, params, warm, timed = args.child
        print(json.dumps(child(name, json.loads(params), int(warm), int(timed))))  # the parent reads the last line
        return 0
    root = Path(__file__).resolve().parents[2]
    cpu = sysinfo.cpu_model()
    other = args.machine and sysinfo.other_cpu(root / "results" / args.machine, cpu)
    if other:
        print(f"python -m bench_lib.measure.modes: error: results/{args.machine} holds runs on {other!r} but this "
              f"CPU is {cpu!r}; pass this machine's series (`python -m bench_lib info`)", file=sys.stderr)
        return 2
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True).stdout.strip()[:8]
    run = {"machine": args.machine or "", "commit": commit,
           "run": f"{commit}-modes-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}"}
    todo = [p for p in POINTS if p[1][1] in args.workers]
    times = sitting(root, args.rounds, todo, one_engine=args.one_engine)
    found = records(times, run, args.one_engine)
    for record in found:
        low, high = record["ci"]
        print(f"{record['benchmark']} {tuple(record['params'].values())}: once / per-point {record['value']:.3f} "
              f"[{low:.3f}, {high:.3f}] {'within' if record['equivalent'] else 'NOT within'} +-{MARGIN:.0%}")
    if args.machine:
        for record in found:
            points.write(record, root / "results" / args.machine / points.FILE)
    return 0 if all(r["equivalent"] for r in found) else 1


if __name__ == "__main__":
    sys.exit(main())
