"""Finding and ending the processes of a run: by the ``PARBENCH_RUN`` every process of
it inherits, and by asv's session, which Ray's agents keep after they lose both their
environment (they rename themselves) and their parent."""

from __future__ import annotations

import os
import signal

GRACE_S = 5.0  # between SIGTERM and SIGKILL for what a run leaves


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
    end(procs, grace)
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


def end(procs: list, grace: float) -> None:
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
