"""The traces file of a run: one traced call of a warm run written beside the run's points
(``results/<machine>/traces.jsonl``, one line per point, spans as rows of numbers relative
to the first hand-over: tens of bytes a task), and read back. Below the protocol's rounds
(bench_lib.measure.ratios traces each point on its warm engines once they are done) and the
benchmark that reads the trace back (bench_lib.measure.timeline)."""

from __future__ import annotations

from pathlib import Path

from bench_lib import config
from bench_lib.backends import trace
from bench_lib.results import points, records

FILE = records.TRACES
COLUMNS = ("pid", "thread", "submitted_s", "started_s", "input_s", "finished_s")


def take(run) -> dict:
    """One traced call of a warm ``run`` (a ``measure.runs.Prepared``, handed in: the traces
    file imports nothing of the layer that measures), written to the run's traces file and
    returned."""
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
    return [r for r in records.read(Path(folder) / FILE)[0] if r.get("kind") == "trace"]


def summaries(folder: Path) -> list[dict]:
    """The traces of a machine's results folder without their spans: what the report reads."""
    return [{k: v for k, v in record.items() if k != "spans"} for record in read(folder)]


def sentence(record: dict) -> str:
    """What a timeline shows, in one line: '<backend>: 38% idle; tasks wait a median
    4.1 ms to start'."""
    s = record["summary"]
    return (f"{record['backend']}: {s['idle_share']:.0%} idle; tasks wait a median "
            f"{s['median_wait_s'] * 1e3:.1f} ms to start; busiest worker {s['imbalance']:.2f}x the mean")
