"""Finding and ending processes: by a variable every one of them inherits (a run's
``PARBENCH_RUN``, a Ray runtime's marker) plus their descendants, and by asv's session,
which Ray's agents keep after they lose both their environment (they rename themselves)
and their parent.

A zombie counts as ended: it holds no memory or CPU, and waiting for one orphaned to init
would wait out every grace period (init reaps it in its own time).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time

RUN = "PARBENCH_RUN"  # every process of a run carries its id
GRACE_S = 5.0  # between SIGTERM and SIGKILL for what a run leaves


def marked(variable: str, value: str | None, known=()) -> list:
    """Live processes (other than this one) whose environment carries ``variable=value``,
    and their descendants: Dask's workers and Ray's agents are started with an environment
    of their own (the agents' retitling wipes it), plus those of ``known`` still running."""
    import psutil

    found = {p.pid: p for p in running(known)}
    for proc in psutil.process_iter(["environ", "status"]) if value else ():
        if proc.info["status"] != psutil.STATUS_ZOMBIE and (proc.info["environ"] or {}).get(variable) == value:
            with contextlib.suppress(psutil.Error):
                for p in (proc, *proc.children(recursive=True)):
                    found.setdefault(p.pid, p)
    found.pop(os.getpid(), None)
    return list(found.values())


def tree_sum(read) -> float:
    """``read(process)`` summed over this process and every descendant; one that ends
    meanwhile counts 0 (peak memory, an idle engine's CPU)."""
    import psutil

    me = psutil.Process()
    total = 0
    for proc in (me, *me.children(recursive=True)):
        with contextlib.suppress(psutil.Error):
            total += read(proc)
    return total


def stop_marked(variable: str, value: str, grace: float = GRACE_S) -> int:
    """End every process :func:`marked` so (engines close on SIGTERM); returns how many."""
    procs = marked(variable, value)
    end(procs, grace)
    return len(procs)


def end(procs: list, grace: float, settle: float = 1.0) -> list:
    """SIGTERM, then SIGKILL what outlives ``grace`` s (0: SIGKILL at once); returns what
    still runs ``settle`` s after the SIGKILL."""
    import psutil

    for action, within in ([] if grace == 0 else [("terminate", grace)]) + [("kill", settle)]:
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                getattr(proc, action)()
        procs = running(procs, within)
    return procs


def running(procs, within: float = 0.0) -> list:
    """Those of ``procs`` still running (not zombies) after up to ``within`` s."""
    import psutil

    deadline = time.monotonic() + within
    while True:
        left = []
        for proc in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:  # not a reused pid
                    left.append(proc)
        if not left or time.monotonic() >= deadline:
            return left
        procs = left
        time.sleep(0.05)


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


def end_with_parent() -> None:
    """In asv, before it starts: SIGTERM when this CLI dies, however it died (Linux's
    parent-death signal), so a killed CLI does not leave asv measuring on unseen."""
    import ctypes

    try:
        ctypes.CDLL(None).prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


def kill_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass
