"""A run in pieces that survive: ``asv run`` per benchmark, each saved as it ends.

asv writes a run's result file only when the whole ``asv run`` ends, so an interrupted
run used to keep nothing. Here every benchmark (one method, with its selected parameter
combinations) runs in an ``asv run`` of its own -- short ones share one, up to a minute of
planned work -- into a staging copy of the result file, which replaces the real one by an
atomic rename as soon as it ends: a SIGKILL loses at most the batch in flight, and never
leaves a half-written file. asv itself merges each benchmark into the copy, so the
history is the one an uninterrupted run writes. Running the same command again skips
what this commit, machine and Python have recorded.

Every process of a run (asv, its forkserver, benchmark processes, Ray's daemons, Dask's
and loky's workers) inherits ``PARBENCH_RUN`` in its environment; on SIGINT/SIGTERM and
at the end, whatever still carries this run's value is stopped. With ``--engines once``
the run's Ray and Dask clusters are started before asv and stopped first
(bench_lib.backends._run_clusters).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench_lib.backends import allocator, _run_clusters
from bench_lib.backends.processes import end, end_with_parent, GRACE_S, kill_group, RUN, session_processes, stop_marked
from bench_lib.config import batch_s, point_cap_s, worker_counts
from bench_lib.publish.site import config_for
from bench_lib.results import points, sysinfo
from bench_lib.results.ledger import load_rows, note, outcome, PHASES, replace_whole, result_path, split, split_line
from bench_lib.run.costs import CAPPED, duration
from bench_lib.run.feed import Feed, describe  # noqa: F401 (describe: re-exported)
from bench_lib.run.plan import batches, Benchmark, GROUPED

REAP_S = 2.0  # how often orphans of asv's session are looked for while it runs (and new points read)


class RunError(RuntimeError):
    """A run cannot start here; the message says why and what to do."""


def check_results_writable(results: Path) -> None:
    """Write a probe file: permissions, a read-only mount, a full disk all show up here."""
    probe = results / f".parbench-write-probe-{os.getpid()}"
    try:
        results.mkdir(parents=True, exist_ok=True)
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise RunError(f"{results} is not writable ({exc.strerror}): fix its permissions "
                       "or run from a writable clone") from None


def check_same_cpu(folder: Path, cpu: str) -> None:
    """A series is one kind of machine: refuse to add runs of another CPU model to it."""
    recorded = sysinfo.other_cpu(folder, cpu)
    if recorded:
        raise RunError(f"{folder} holds runs on {recorded!r} but this CPU is {cpu!r}: their figures "
                       "would mix in one series; pass another --machine (the default name carries the CPU)")


class State:
    """The id of an unfinished run of this commit on this machine, so that running the same
    command again resumes it under the same id (its points stay one run)."""

    def __init__(self, root: Path, machine: str, commit: str):
        self.path = root / ".asv" / "parbench-runs" / f"{machine}-{commit[:8]}.json"
        self.commit = commit

    def run_id(self, fresh: bool, dirty: bool) -> str:
        if not fresh and self.path.is_file():
            return json.loads(self.path.read_text())["run"]
        return f"{self.commit[:8]}-{time.strftime('%Y%m%dT%H%M%S')}" + ("-dirty" if dirty else "")

    def begin(self, run_id: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps({"run": run_id}))

    def end(self) -> None:
        self.path.unlink(missing_ok=True)


def summary_lines(summary: dict, planned: int, quiet: dict) -> list[str]:
    """Planned against actual, the machine's load (``windows.run_quiet``), and how to
    resume an interrupted run."""
    ran = summary["ran"]
    lines = [f"parbench: planned ~{duration(sum(b.estimate_s for b, _, _ in ran))}, took "
             f"{duration(sum(t for _, t, _ in ran))} for the {len(ran)} benchmarks that ran "
             f"({sum(f for _, _, f in ran)} points failed)"]
    if summary.get("split"):
        lines.append(split_line(summary["split"]))
    if quiet["points"]:
        lines.append(f"parbench: machine load over the run's {quiet['points']} protocol points: {quiet['not_quiet']} "
                     f"taken under foreign load, {quiet['imprecise']} imprecise, {quiet['discarded_samples']} samples "
                     f"discarded, at most {quiet['foreign_cores_max']:.2f} foreign cores")
    if quiet.get("windows"):
        lines.append(f"parbench: machine load over asv's samples of {quiet['windows']} timed combinations: "
                     f"{quiet['windows_not_quiet']} had samples beside foreign load (marked ! in the report)")
    if summary["interrupted"]:
        lines.append(f"parbench: stopped by {signal.Signals(summary['interrupted']).name}; {len(ran)} of {planned} "
                     "benchmarks finished and are saved: run the same command to resume")
    return lines


class Interrupted(Exception):
    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class Progress:
    """One line per step, readable in a log; a live bar as well when stdout is a terminal."""

    def __init__(self, benchmarks: list[Benchmark]):
        self.points = sum(len(b.selected) for b in benchmarks)
        self.planned = sum(b.estimate_s for b in benchmarks)
        self.done_points, self.done_planned = 0, 0.0
        self.started = time.monotonic()
        self.bar = None
        if sys.stdout.isatty():
            from rich.progress import BarColumn, Progress as Bar, TextColumn, TimeElapsedColumn

            self.bar = Bar(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total} points"),
                           TimeElapsedColumn(), transient=True)
            self.task = self.bar.add_task("parbench", total=self.points)
            self.bar.start()

    def echo(self, line: str) -> None:
        if self.bar is not None:
            self.bar.console.out(line, highlight=False)
        else:
            print(line, flush=True)

    def eta(self) -> float:
        """Remaining planned time, scaled by how actual time compared with plan so far."""
        elapsed = time.monotonic() - self.started
        pace = elapsed / self.done_planned if self.done_planned >= 60 else 1.0
        return max(0.0, (self.planned - self.done_planned) * min(4.0, max(0.25, pace)))

    def begin(self, batch: list[Benchmark]) -> None:
        elapsed = time.monotonic() - self.started
        now = ", ".join(b.name for b in batch)
        self.echo(f"[parbench {self.done_points}/{self.points} points · {duration(elapsed)} elapsed · "
                  f"ETA {duration(self.eta())}] {now} ({sum(len(b.selected) for b in batch)} points, "
                  f"~{duration(sum(b.estimate_s for b in batch))})")
        if self.bar is not None:
            self.bar.update(self.task, description=now if len(now) < 60 else batch[0].name + ", ...")

    def end(self, bench: Benchmark) -> None:
        self.done_points += len(bench.selected)
        self.done_planned += bench.estimate_s
        if self.bar is not None:
            self.bar.update(self.task, completed=self.done_points)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


@dataclasses.dataclass
class Run:
    """One invocation: what to run, where results go, and how asv is called."""

    root: Path
    results: Path
    machine: str
    commit: str
    run_id: str
    env: dict
    asv_args: list[str]
    quick: bool = False
    _child: subprocess.Popen | None = None
    _signal: int | None = None
    _clusters: object | None = None  # bench_lib.backends._run_clusters.Clusters, with --engines once
    _cluster_env: dict = dataclasses.field(default_factory=dict)

    @property
    def staging(self) -> Path:
        return self.root / ".asv" / "parbench-staging" / self.run_id

    def _config(self) -> Path:
        """asv.conf.json with results going to the staging folder."""
        return config_for(self.root, self.staging / "results", self.staging / "html", folder=self.staging)

    def _on_signal(self, signum, frame):
        self._signal = signum
        if self._child is not None and self._child.poll() is None:
            kill_group(self._child.pid, signal.SIGTERM)

    def execute(self, benchmarks: list[Benchmark], names: dict[str, list[str]]) -> dict:
        """Run each benchmark in turn, saving after each; returns what happened."""
        final = result_path(self.results, self.machine, self.commit)
        staged = result_path(self.staging / "results", self.machine, self.commit)
        staged.parent.mkdir(parents=True, exist_ok=True)
        final.parent.mkdir(parents=True, exist_ok=True)  # points.jsonl goes there from the first point on
        config = self._config()
        stop_marked(RUN, self.run_id)  # what an interrupted invocation of this run left
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        progress = Progress(benchmarks)
        summary = {"ran": [], "status": 0, "interrupted": None, "split": []}
        phases_file = final.parent / PHASES
        try:
            for engine, group in _run_clusters.phases(benchmarks, GROUPED, self.env):
                self._cluster_for(engine, progress)
                self._run_batches(group, names, config, final, staged, phases_file, progress, summary)
        except Interrupted as exc:
            summary["interrupted"] = exc.signum
        finally:
            progress.close()
            self._cluster_for(None, progress)
            for s, handler in previous.items():
                signal.signal(s, handler)
            stop_marked(RUN, self.run_id, GRACE_S / 2)
            shutil.rmtree(self.staging, ignore_errors=True)
        return summary

    def _run_batches(self, group, names, config, final, staged, phases_file, progress, summary) -> None:
        """asv over one phase's benchmarks, batch by batch, each saved as it ends."""
        for batch in batches(group, batch_s()):
            if self._signal is not None:
                raise Interrupted(self._signal)
            progress.begin(batch)
            if final.exists():
                shutil.copyfile(final, staged)  # asv merges these benchmarks into it
            started, seen = time.monotonic(), len(points.read(phases_file)[0])
            regex = "|".join(f"({bench.regex(names[bench.name])})" for bench in batch)
            status = self._asv(config, regex, batch[0].attributes, progress)
            if self._signal is not None:
                raise Interrupted(self._signal)
            took = time.monotonic() - started
            self._save(staged, final)
            rows = load_rows(final)
            phases = [p for p in points.read(phases_file)[0][seen:] if p.get("run") == self.run_id]
            summary["status"] = summary["status"] or status
            for bench in batch:
                # asv's own duration of each, plus a share of the asv start they had in common
                spent = (rows.get(bench.name, {}).get("duration") or 0.0) + (took - sum(
                    rows.get(b.name, {}).get("duration") or 0.0 for b in batch)) / len(batch)
                summary["split"].append(split(bench.name, phases, spent))
                note(final, bench, self.run_id, spent,
                     point_cap_s(self.env) if bench.name.startswith(CAPPED) else None, summary["split"][-1])
                measured, skipped, failed = outcome(bench, rows)
                summary["ran"].append((bench, spent, failed))
                progress.end(bench)
                progress.echo(f"[parbench] done {bench.name}: {measured} measured, {skipped} n/a, {failed} "
                              f"failed in {duration(spent)} (planned ~{duration(bench.estimate_s)})")

    def _cluster_for(self, engine: str | None, progress: Progress) -> None:
        """``--engines once``: only ``engine``'s cluster up (None: none), sized to the run's
        most workers (bench_lib.backends._run_clusters); the previous phase's is stopped."""
        if self._clusters is not None:
            self._clusters.stop()
            self._clusters, self._cluster_env = None, {}
        if engine is None:
            return
        started = time.monotonic()
        self._clusters = _run_clusters.Clusters(self.staging / "clusters" / engine, self.env, worker_counts()[-1],
                                                [engine])
        try:
            self._cluster_env = self._clusters.start(stopped=lambda: self._signal is not None)
        except RuntimeError as exc:  # the log's tail says why; --engines per-point needs no cluster
            raise RunError(f"{exc}\n(--engines per-point starts an engine per point instead)") from None
        progress.echo(f"[parbench] engines once: {engine}'s cluster started for its points in "
                      f"{time.monotonic() - started:.1f} s ({worker_counts()[-1]} workers; no other cluster up)")
        if self._signal is not None:
            raise Interrupted(self._signal)

    def _asv(self, config: Path, regex: str, attributes: list[str], progress: Progress) -> int:
        """asv in its own session (so a terminal's Ctrl-C reaches it only through us); its
        output is echoed by a thread, since an engine worker may hold the pipe open, and the
        run's new points between its lines."""
        cmd = [sys.executable, "-m", "asv", "run", "--config", str(config), "-E", f"existing:{sys.executable}",
               "--set-commit-hash", self.commit, "--machine", self.machine, "--show-stderr", "--bench", regex,
               *(["--quick"] if self.quick else []), *[a for attr in attributes for a in ("-a", attr)],
               *self.asv_args]
        # the allocator discipline from each process's start; the run's clusters, privately
        env = {**allocator.without(self.env), **allocator.environment(self.env), **self._cluster_env}
        child = self._child = subprocess.Popen(cmd, cwd=self.root, env=env, stdout=subprocess.PIPE,
                                               stderr=subprocess.STDOUT, text=True, errors="replace",
                                               start_new_session=True, preexec_fn=end_with_parent)
        echo = threading.Thread(target=lambda: [progress.echo(line.rstrip("\n")) for line in child.stdout],
                                daemon=True)
        echo.start()
        feed = Feed(self.results / self.machine / points.FILE, self.run_id)
        signalled, reaped = None, time.monotonic()
        while True:
            try:
                status = child.wait(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                if self._signal is not None and signalled is None:
                    signalled = time.monotonic()
                if signalled is not None and time.monotonic() - signalled > GRACE_S / 2:
                    kill_group(child.pid, signal.SIGKILL)
                if time.monotonic() - reaped > REAP_S:  # debris of benchmarks that ended
                    end(session_processes(child.pid, orphans_only=True), 0)
                    for line in feed.lines():
                        progress.echo(line)
                    reaped = time.monotonic()
        for line in feed.lines():
            progress.echo(line)
        self._child = None
        end(session_processes(child.pid), GRACE_S / 2)  # whatever asv left
        echo.join(timeout=1.0)
        return status

    def _save(self, staged: Path, final: Path) -> None:
        """The staged result file replaces the real one, whole, if it parses."""
        for name in ("benchmarks.json", f"{self.machine}/machine.json"):
            source = self.staging / "results" / name
            if source.exists():
                replace_whole(source, self.results / name)
        if staged.exists():
            json.loads(staged.read_text())  # asv finished writing it
            replace_whole(staged, final, keep=True)
