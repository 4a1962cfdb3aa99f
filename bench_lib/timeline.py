"""Traced runs of a workload (bench_lib.trace), kept beside the run they belong to.

Each workload runs once, traced, per backend at the most workers, on a warm engine: the
engines its speedup was measured on, once the rounds are done (``ratios.speedups``), or,
where this run measured no speedup of the point, one of ``scaling.Traces``' own after one
untraced run (placement, lazy imports). asv keeps one number of it (the workers' idle
share); the spans go to ``results/<machine>/traces.jsonl``, one line per point, next to
``points.jsonl``, so asv's files -- and the history the site reads -- stay small. A line
holds its spans as rows of numbers relative to the first hand-over: tens of bytes a task.
"""

from __future__ import annotations

from pathlib import Path

from . import config, harness, points, ratios, trace, workloads

FILE = "traces.jsonl"
COLUMNS = ("pid", "thread", "submitted_s", "started_s", "input_s", "finished_s")


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


def take(run: harness.Prepared) -> dict:
    """One traced call of a warm ``run``, written to the run's traces file and returned."""
    with trace.recording() as recorded_spans:
        run()
    n_workers = run.engine.n_workers
    record = {"kind": "trace", "workload": run.workload.name, "backend": run.engine.name, "n_workers": n_workers,
              "variant": run.variant, "size": config.size(),
              "summary": trace.summary(recorded_spans.spans, n_workers), "columns": list(COLUMNS),
              "spans": rows(recorded_spans.spans)}
    path = points.run_file(FILE)
    if path is not None:
        points.write(record, path)
    return record


def recorded(workload: str, backend: str, n_workers: int) -> dict | None:
    """The trace this run (``PARBENCH_RUN``) already took of the point, or None."""
    found = [r for r in points.of_this_run(FILE) if r.get("kind") == "trace"
             and (r.get("workload"), r.get("backend"), r.get("n_workers")) == (workload, backend, n_workers)]
    return found[-1] if found else None


def rows(spans: list[trace.Span]) -> list[list]:
    """Spans as rows of :data:`COLUMNS`, times in seconds after the first hand-over."""
    t0 = min(s.submitted for s in spans)
    return [[s.pid, s.thread, round(s.submitted - t0, 6), round(s.started - t0, 6),
             None if s.input_s is None else round(s.input_s, 6), round(s.finished - t0, 6)]
            for s in sorted(spans, key=lambda s: s.started)]


def read(folder: Path) -> list[dict]:
    """The trace lines of a machine's results folder (unreadable lines skipped)."""
    return [r for r in points.read(Path(folder) / FILE)[0] if r.get("kind") == "trace"]


def sentence(record: dict) -> str:
    """What a timeline shows, in one line: '<backend>: 38% idle; tasks wait a median
    4.1 ms to start'."""
    s = record["summary"]
    return (f"{record['backend']}: {s['idle_share']:.0%} idle; tasks wait a median "
            f"{s['median_wait_s'] * 1e3:.1f} ms to start; busiest worker {s['imbalance']:.2f}x the mean")


def tracing_cost(workload: str, backend: str, n_workers: int, **options) -> dict:
    """Traced / untraced time of one run, paired through the protocol in this process:
    what tracing adds (it is never on in a timed sample; this says what it would add)."""
    from . import protocol

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
    """``python -m bench_lib.timeline cost [workload] [backend ...]``: tracing's cost."""
    import argparse

    from . import backends

    parser = argparse.ArgumentParser(prog="python -m bench_lib.timeline", description=main.__doc__)
    parser.add_argument("what", choices=["cost"])
    parser.add_argument("workload", nargs="?", default="filter_bank")
    parser.add_argument("backend", nargs="*", default=[b for b in backends.names() if b != "serial"])
    args = parser.parse_args(argv)
    n_workers = harness.n_workers()[-1]
    print(f"traced / untraced time of one {args.workload} run at n_workers={n_workers} ({config.size()} size), "
          f"paired, 95% interval:", flush=True)
    for name in args.backend:
        try:
            c = tracing_cost(args.workload, name, n_workers)
        finally:
            backends.close_all()
        print(f"  {name:<24}{c['ratio']:.3f}  [{c['ci'][0]:.3f}, {c['ci'][1]:.3f}]  {c['pairs']} pairs", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
