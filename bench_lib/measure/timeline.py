"""Traced runs of a workload (bench_lib.backends.trace), kept beside the run they belong to.

Each workload runs once, traced, per backend at the most workers, on a warm engine: the
engines its speedup was measured on, once the rounds are done (``ratios.speedups``), or,
where this run measured no speedup of the point, one of ``scaling.Traces``' own after one
untraced run (placement, lazy imports). asv keeps one number of it (the workers' idle
share); the spans go to ``results/<machine>/traces.jsonl``, one line per point, next to
``points.jsonl``, so asv's files -- and the history the site reads -- stay small. A line
holds its spans as rows of numbers relative to the first hand-over: tens of bytes a task.
"""

from __future__ import annotations

from bench_lib import backends, config, workloads
from bench_lib.backends import trace
from bench_lib.measure import protocol, ratios, runs
from bench_lib.results.traces import COLUMNS, FILE, read, recorded, rows, sentence, take  # noqa: F401 (re-exported)


def traced(workload: str, backend: str, n_workers: int) -> dict:
    """This run's trace of ``workload`` on ``backend``: the one its speedup's measurement
    took on its warm engine (:func:`take`, from ``ratios.speedups``), else one traced run
    here on a warm engine, on the variant and parameters of its speedup (``ratios``)."""
    done = recorded(workload, backend, n_workers)
    if done is not None:
        return done
    run = ratios.prepare_best(workload, backend, n_workers)
    if not workloads.get(workload).warm_before_timing:
        run()  # prepare leaves long runs cold; the trace is of a warm one, like every timing
    return take(run)


def tracing_cost(workload: str, backend: str, n_workers: int, **options) -> dict:
    """Traced / untraced time of one run, paired through the protocol in this process:
    what tracing adds (it is never on in a timed sample; this says what it would add)."""
    run = ratios.prepare_best(workload, backend, n_workers)

    def run_traced():
        with trace.recording():
            run()

    m = protocol.measure({"untraced": run, "traced": run_traced}, "untraced",
                         time_cap_s=options.pop("time_cap_s", config.point_cap_s()), guard=ratios.guard(), **options)
    iv = m.ratio("traced", "untraced")
    return {"workload": workload, "backend": backend, "n_workers": n_workers, "variant": run.variant,
            "ratio": iv.estimate, "ci": [iv.low, iv.high], "pairs": iv.pairs}


def main(argv: list[str] | None = None) -> int:
    """``python -m bench_lib.measure.timeline cost [workload] [backend ...]``: tracing's cost."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench_lib.measure.timeline", description=main.__doc__)
    parser.add_argument("what", choices=["cost"])
    parser.add_argument("workload", nargs="?", default="filter_bank")
    parser.add_argument("backend", nargs="*", default=[b for b in backends.names() if b != "serial"])
    args = parser.parse_args(argv)
    most = runs.n_workers()[-1]
    print(f"traced / untraced time of one {args.workload} run at n_workers={most} ({config.size()} size), "
          f"paired, 95% interval:", flush=True)
    for name in args.backend:
        try:
            c = tracing_cost(args.workload, name, most)
        finally:
            backends.close_all()
        print(f"  {name:<24}{c['ratio']:.3f}  [{c['ci'][0]:.3f}, {c['ci'][1]:.3f}]  {c['pairs']} pairs", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
