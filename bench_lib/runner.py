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
at the end, whatever still carries this run's value is stopped.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

LEDGER = "measured.jsonl"  # beside the result files: which combinations each one holds
ASV_START_S = 4.0  # one asv run's start and discovery, on this 2-core machine
GRACE_S = 5.0  # between SIGTERM and SIGKILL for what a run leaves
REAP_S = 2.0  # how often orphans of asv's session are looked for while it runs
# Per point, when this machine has no earlier duration for a benchmark.
FIRST_RUN_GUESS_S = {"full": 30.0, "small": 2.0}


@dataclasses.dataclass
class Benchmark:
    """One asv benchmark and the parameter combinations of it this run measures."""

    name: str                # module.Class.method, as asv names it
    selected: list[int]      # indices into the product of its params ([0] without params)
    total: int               # combinations it has
    estimate_s: float | None = None
    measured: bool = False   # estimate from this machine's durations, not a guess
    repeat: tuple | None = None  # asv's (min_repeat, max_repeat, max_time) of a time_* benchmark
    attributes: list[str] = dataclasses.field(default_factory=list)  # asv -a overrides (a budget)

    @property
    def group(self) -> str:
        return self.name.rsplit(".", 1)[0]

    def regex(self, names: list[str]) -> str:
        """The ``--bench`` regex asv needs to run exactly the selected combinations."""
        if len(self.selected) == self.total:
            return f"^{re.escape(self.name)}(\\(|$)"
        return "^(" + "|".join(re.escape(names[i]) for i in self.selected) + ")$"


@dataclasses.dataclass(frozen=True)
class Found:
    """A benchmark as asv_runner discovers it: its name, its combinations' names (asv
    matches ``--bench`` against these), its params as asv shows them, its sampling bound."""

    name: str
    combos: tuple[str, ...]
    params: tuple[tuple[str, ...], ...] = ()
    param_names: tuple[str, ...] = ()
    repeat: tuple | None = None


def discover(root: Path) -> list[Found]:
    """Every benchmark under ``root/benchmarks``, found and named by asv_runner itself."""
    from asv_runner import discovery

    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    found = []
    for bench in discovery.disc_benchmarks(str(root / "benchmarks")):
        combos = tuple(f"{bench.name}({', '.join(c)})" for c in itertools.product(*bench.params))
        found.append(Found(bench.name, combos if bench.params else (), tuple(map(tuple, bench.params)),
                           tuple(bench.param_names if bench.params else ()), _repeat(bench)))
    return sorted(found, key=lambda f: f.name)


def _repeat(bench) -> tuple | None:
    """A time_* benchmark's sampling bound, with asv's defaults for ``repeat = 0``."""
    if not hasattr(bench, "repeat") or not hasattr(bench, "number"):
        return None
    if bench.repeat == 0:
        return (1, 10, 20.0) if bench.rounds == 1 else (1, 5, 10.0)
    return tuple(bench.repeat) if isinstance(bench.repeat, (tuple, list)) else (bench.repeat, bench.repeat, 20.0)


def select(found, patterns, only: set[str] | None = None) -> tuple[list[Benchmark], dict[str, list[str]]]:
    """The benchmarks ``--bench`` regexes select, the way asv filters them (and among
    ``only``, when given)."""
    picked, names = [], {}
    for bench in found:
        labels = list(bench.combos or [bench.name])
        chosen = [i for i, label in enumerate(labels) if (not patterns or any(re.search(p, label) for p in patterns))
                  and (only is None or label in only)]
        if chosen:
            picked.append(Benchmark(bench.name, chosen, len(labels), repeat=bench.repeat))
            names[bench.name] = labels
    return picked, names


# --quick without --bench: each benchmark runs serial, threads and one of these, in turn,
# so every engine goes through the run and every benchmark runs, in minutes.
QUICK_ENGINES = ("loky", "ray", "multiprocessing", "dask", "joblib-multiprocessing", "joblib-threading")


def quick(found: list[Found]) -> set[str]:
    """The smoke-test subset, as combination names: of each benchmark serial, threads and
    one engine in rotation as the backend, the most workers (serial: one), and the first
    value of every other parameter."""
    out = set()
    for k, bench in enumerate(found):
        if not bench.params:
            out.add(bench.name)
            continue
        engines = {repr(b) for b in ("serial", "threads", QUICK_ENGINES[k % len(QUICK_ENGINES)])}
        named = list(zip(bench.param_names, bench.params))
        for label, combo in zip(bench.combos, itertools.product(*bench.params)):
            value = dict(zip(bench.param_names, combo))
            most = (min if value.get("backend") == "'serial'" else max)(
                dict(named).get("n_workers", ["0"]), key=int)  # serial runs on one worker only
            if all(value[name] in engines if name == "backend" else
                   value[name] == most if name == "n_workers" else value[name] == values[0]
                   for name, values in named):
                out.add(label)
    return out


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


def recorded(bench: Benchmark, rows: dict[str, dict], done: dict[str, set[int]]) -> bool:
    """Every selected combination was measured into the file and has a result there (a
    number, or n/a for a skip; a failure is measured again)."""
    row = rows.get(bench.name)
    if row is None or not set(bench.selected) <= done.get(bench.name, set()):
        return False
    values = row["result"] if isinstance(row["result"], list) else [row["result"]]
    return len(values) == bench.total and all(values[i] is not None for i in bench.selected)


def estimate(benchmarks: list[Benchmark], folder: Path, size: str) -> None:
    """Seconds per benchmark: this machine's latest wall time per point of it (the ledger:
    asv's start included), else asv's duration per measured point plus asv's start, else
    a first-run guess per point."""
    latest: dict[str, tuple[float, float]] = {}  # name -> (when, seconds per point)
    try:
        lines = (folder / LEDGER).read_text().splitlines()
    except FileNotFoundError:
        lines = []
    for line in lines:
        entry = json.loads(line)
        if entry.get("took_s") and entry["indices"]:
            latest[entry["benchmark"]] = (float("inf"), entry["took_s"] / len(entry["indices"]))
    for path in folder.glob("*.json"):
        if path.name == "machine.json":
            continue
        try:
            rows = load_rows(path)
        except (ValueError, KeyError):
            continue
        for name, row in rows.items():
            values = row.get("result")
            values = values if isinstance(values, list) else [values]
            done = sum(isinstance(v, (int, float)) and not math.isnan(v) for v in values)
            when = row.get("started_at") or 0
            if row.get("duration") and done and when >= latest.get(name, (-1, 0))[0]:
                latest[name] = (when, (row["duration"] + ASV_START_S) / done)
    for bench in benchmarks:
        per_point = latest.get(bench.name)
        bench.measured = per_point is not None
        bench.estimate_s = len(bench.selected) * (per_point[1] if per_point else FIRST_RUN_GUESS_S[size])


# Benchmarks whose points stop at PARBENCH_POINT_CAP_S (the paired protocol of ratios.py).
CAPPED = ("scaling.",)


def fit(benchmarks: list[Benchmark], budget_s: float, cap_s: float) -> tuple[dict, list[str]]:
    """Shorten sampling so the plan fits ``budget_s``: the protocol's per-point time cap and
    asv's ``repeat`` time of time_* benchmarks, by one factor. Returns the environment to
    set and what it says; estimates are scaled in place. Setup and at least one sample per
    point cannot shrink, so a budget below the estimate of the rest is said, not promised."""
    scalable = [b for b in benchmarks if b.repeat or b.name.startswith(CAPPED)]
    fixed = sum(b.estimate_s for b in benchmarks if b not in scalable)
    flexible = sum(b.estimate_s for b in scalable)
    if fixed + flexible <= budget_s or not scalable:
        return {}, [f"the plan (~{duration(fixed + flexible)}) fits the budget of {duration(budget_s)}"]
    factor = min(1.0, max(0.1, (budget_s - fixed) / flexible))
    lines = [f"budget {duration(budget_s)} < plan ~{duration(fixed + flexible)}: sampling cut to "
             f"{factor:.0%} of its usual time; less precise (wider intervals, more points marked imprecise):"]
    env = {}
    for bench in scalable:
        bench.estimate_s *= factor
        if bench.repeat:
            low, high, seconds = bench.repeat
            bench.attributes = [f"repeat=({low},{high},{seconds * factor:.2f})"]
            lines.append(f"  {bench.name}: asv samples for at most {seconds * factor:.1f} s instead of {seconds:g} s")
        else:
            env["PARBENCH_POINT_CAP_S"] = f"{max(1.0, cap_s * factor):.1f}"
            lines.append(f"  {bench.name}: each point stops at {max(1.0, cap_s * factor):.1f} s instead of {cap_s:g} s")
    if factor == 0.1 or fixed > budget_s:
        lines.append(f"  the rest cannot shrink: ~{duration(fixed + flexible * factor)} is the least this plan takes")
    return env, lines


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


def plan_lines(benchmarks: list[Benchmark], skipped: list[Benchmark]) -> list[str]:
    """The plan, per benchmark class: points and estimated time."""
    lines = []
    for group, members in itertools.groupby(benchmarks, key=lambda b: b.group):
        members = list(members)
        points = sum(len(b.selected) for b in members)
        source = "" if all(b.measured for b in members) else "  (first-run guess)"
        lines.append(f"  {group:<42} {points:>5} points  ~{duration(sum(b.estimate_s for b in members)):>7}{source}")
    total = sum(b.estimate_s for b in benchmarks)
    lines.append(f"  {'total':<42} {sum(len(b.selected) for b in benchmarks):>5} points  ~{duration(total):>7}")
    if skipped:
        lines.append(f"  resuming: {len(skipped)} benchmarks ({sum(len(b.selected) for b in skipped)} points) "
                     "already recorded for this commit, machine and Python are skipped (--fresh measures them again)")
    return lines


def outcome(bench: Benchmark, rows: dict[str, dict]) -> tuple[int, int, int]:
    """(measured, skipped as n/a, failed) among the selected combinations."""
    row = rows.get(bench.name) or {"result": [None] * bench.total}
    values = row["result"] if isinstance(row["result"], list) else [row["result"]]
    picked = [values[i] if i < len(values) else None for i in bench.selected]
    failed = sum(v is None for v in picked)
    skipped = sum(isinstance(v, float) and math.isnan(v) for v in picked)
    return len(picked) - failed - skipped, skipped, failed


def processes_of(run_id: str) -> list:
    """Live processes (other than this one) whose environment carries ``PARBENCH_RUN=run_id``,
    and their descendants: Dask's workers and Ray's agents are started with an environment
    of their own."""
    import psutil

    found = {}
    for proc in psutil.process_iter(["pid", "status"]):
        try:
            if proc.info["status"] != psutil.STATUS_ZOMBIE and proc.environ().get("PARBENCH_RUN") == run_id:
                found[proc.pid] = proc
                found.update((child.pid, child) for child in proc.children(recursive=True))
        except (psutil.Error, OSError):
            continue
    found.pop(os.getpid(), None)
    return list(found.values())


def stop_processes(run_id: str, grace: float = GRACE_S) -> int:
    """SIGTERM every process of the run (engines close on it), SIGKILL what outlives
    ``grace``; returns how many there were."""

    procs = processes_of(run_id)
    _end(procs, grace)
    return len(procs)


def session_processes(sid: int, orphans_only: bool = False) -> list:
    """Processes of session ``sid`` (asv runs in a session of its own; Ray's agents and
    workers stay in it even after their raylet is gone), or only those orphaned to init:
    a benchmark process ends with ``os._exit``, and what it started without a
    parent-death signal (Ray's agents) lives on for a minute."""
    import psutil

    found = []
    for proc in psutil.process_iter(["ppid"]):
        try:
            if proc.pid != os.getpid() and os.getsid(proc.pid) == sid and (
                    not orphans_only or proc.info["ppid"] == 1):
                found.append(proc)
        except (psutil.Error, OSError):
            continue
    return found


def _end(procs: list, grace: float) -> None:
    """SIGTERM, then SIGKILL what outlives ``grace`` (0: SIGKILL at once)."""
    import psutil

    for proc in procs:
        try:
            proc.kill() if grace == 0 else proc.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(procs, timeout=grace or 1.0)
    for proc in alive:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(alive, timeout=1.0)


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


def batch_s() -> float:
    """Planned seconds of benchmarks that may share one asv run (``PARBENCH_BATCH_S``,
    default 60; 0 runs and saves every benchmark alone)."""
    raw = os.environ.get("PARBENCH_BATCH_S", "60")
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise ValueError(f"PARBENCH_BATCH_S={raw!r} must be a number of seconds, 0 or more")
    return value


def batches(benchmarks: list[Benchmark], limit: float) -> list[list[Benchmark]]:
    """Consecutive benchmarks planned at ``limit`` seconds or less together share one asv
    start (a kill loses at most that batch); a longer benchmark runs, and is saved, alone."""
    out: list[list[Benchmark]] = []
    for bench in benchmarks:
        last = out[-1] if out else None
        if (last and sum(b.estimate_s for b in last) + bench.estimate_s <= limit
                and bench.attributes == last[0].attributes):
            last.append(bench)
        else:
            out.append([bench])
    return out


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

    @property
    def staging(self) -> Path:
        return self.root / ".asv" / "parbench-staging" / self.run_id

    def _config(self) -> Path:
        """asv.conf.json with results going to the staging folder (absolute paths)."""
        from asv import util

        conf = util.load_json(str(self.root / "asv.conf.json"), js_comments=True)
        conf.update(repo=str(self.root), benchmark_dir=str(self.root / conf.get("benchmark_dir", "benchmarks")),
                    results_dir=str(self.staging / "results"), html_dir=str(self.staging / "html"))
        path = self.staging / "asv.conf.json"
        path.write_text(json.dumps(conf, indent=1))
        return path

    def _on_signal(self, signum, frame):
        self._signal = signum
        if self._child is not None and self._child.poll() is None:
            _kill_group(self._child.pid, signal.SIGTERM)

    def execute(self, benchmarks: list[Benchmark], names: dict[str, list[str]]) -> dict:
        """Run each benchmark in turn, saving after each; returns what happened."""
        final = result_path(self.results, self.machine, self.commit)
        staged = result_path(self.staging / "results", self.machine, self.commit)
        staged.parent.mkdir(parents=True, exist_ok=True)
        config = self._config()
        stop_processes(self.run_id)  # what an interrupted invocation of this run left
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        progress = Progress(benchmarks)
        summary = {"ran": [], "status": 0, "interrupted": None}
        try:
            for batch in batches(benchmarks, batch_s()):
                if self._signal is not None:
                    raise Interrupted(self._signal)
                progress.begin(batch)
                if final.exists():
                    shutil.copyfile(final, staged)  # asv merges these benchmarks into it
                started = time.monotonic()
                regex = "|".join(f"({bench.regex(names[bench.name])})" for bench in batch)
                status = self._asv(config, regex, batch[0].attributes, progress)
                if self._signal is not None:
                    raise Interrupted(self._signal)
                took = time.monotonic() - started
                self._save(staged, final)
                rows = load_rows(final)
                summary["status"] = summary["status"] or status
                for bench in batch:
                    # asv's own duration of each, plus a share of the asv start they had in common
                    spent = (rows.get(bench.name, {}).get("duration") or 0.0) + (took - sum(
                        rows.get(b.name, {}).get("duration") or 0.0 for b in batch)) / len(batch)
                    with open(final.parent / LEDGER, "a") as ledger:
                        ledger.write(json.dumps({"file": final.name, "benchmark": bench.name, "indices": bench.selected,
                                                 "run": self.run_id, "took_s": round(spent, 2)}) + "\n")
                    measured, skipped, failed = outcome(bench, rows)
                    summary["ran"].append((bench, spent, failed))
                    progress.end(bench)
                    progress.echo(f"[parbench] done {bench.name}: {measured} measured, {skipped} n/a, {failed} "
                                  f"failed in {duration(spent)} (planned ~{duration(bench.estimate_s)})")
        except Interrupted as exc:
            summary["interrupted"] = exc.signum
        finally:
            progress.close()
            for s, handler in previous.items():
                signal.signal(s, handler)
            stop_processes(self.run_id, GRACE_S / 2)
            shutil.rmtree(self.staging, ignore_errors=True)
        return summary

    def _asv(self, config: Path, regex: str, attributes: list[str], progress: Progress) -> int:
        """asv in its own session (so a terminal's Ctrl-C reaches it only through us); its
        output is echoed by a thread, since an engine worker may hold the pipe open."""
        cmd = [sys.executable, "-m", "asv", "run", "--config", str(config), "-E", f"existing:{sys.executable}",
               "--set-commit-hash", self.commit, "--machine", self.machine, "--show-stderr", "--bench", regex,
               *(["--quick"] if self.quick else []), *[a for attr in attributes for a in ("-a", attr)],
               *self.asv_args]
        child = self._child = subprocess.Popen(cmd, cwd=self.root, env=self.env, stdout=subprocess.PIPE,
                                               stderr=subprocess.STDOUT, text=True, errors="replace",
                                               start_new_session=True, preexec_fn=_end_with_parent)
        echo = threading.Thread(target=lambda: [progress.echo(line.rstrip("\n")) for line in child.stdout],
                                daemon=True)
        echo.start()
        signalled, reaped = None, time.monotonic()
        while True:
            try:
                status = child.wait(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                if self._signal is not None and signalled is None:
                    signalled = time.monotonic()
                if signalled is not None and time.monotonic() - signalled > GRACE_S / 2:
                    _kill_group(child.pid, signal.SIGKILL)
                if time.monotonic() - reaped > REAP_S:  # debris of benchmarks that ended
                    _end(session_processes(child.pid, orphans_only=True), 0)
                    reaped = time.monotonic()
        self._child = None
        _end(session_processes(child.pid), GRACE_S / 2)  # whatever asv left
        echo.join(timeout=1.0)
        return status

    def _save(self, staged: Path, final: Path) -> None:
        """The staged result file replaces the real one, whole, if it parses."""
        for name in ("benchmarks.json", f"{self.machine}/machine.json"):
            source = self.staging / "results" / name
            if source.exists():
                _replace(source, self.results / name)
        if staged.exists():
            json.loads(staged.read_text())  # asv finished writing it
            _replace(staged, final, keep=True)


def _end_with_parent() -> None:
    """In asv, before it starts: SIGTERM when this CLI dies, however it died (Linux's
    parent-death signal), so a killed CLI does not leave asv measuring on unseen."""
    import ctypes

    try:
        ctypes.CDLL(None).prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


def _kill_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _replace(source: Path, target: Path, keep: bool = False) -> None:
    """Copy ``source`` beside ``target``, then rename over it: never a partial file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.copyfile(source, temporary)
    os.replace(temporary, target)
    if not keep:
        source.unlink()
