"""The resource trackers that process pools share, stopped when the last pool closes.

Its own module, below every backend: ``Backend.close`` releases them for whichever engine it
closes, and the pool plumbing (bench_lib.backends._pool) reaps its helpers with :func:`reap`.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import weakref

# Process backends started and not closed yet. They share the resource trackers (one of
# multiprocessing's, one of loky's per process): a tracker stopped while one is still open
# restarts on demand and is then told to forget semaphores it never saw, printing a
# KeyError traceback for each (joblib#1595). So the trackers stop when the last one closes.
OPEN: "weakref.WeakSet" = weakref.WeakSet()


def release_trackers(backend) -> None:
    """``backend`` closed: stop the resource trackers if no process backend is open now."""
    OPEN.discard(backend)
    if not OPEN:
        stop_resource_trackers()


def stop_resource_trackers(grace: float = 2.0) -> None:
    """Stop the resource-tracker helpers that spawned pools leave behind.

    multiprocessing's (and loky's copy of it) otherwise live until the interpreter exits,
    showing up as orphans after a backend closed; they restart on demand. A tracker exits
    when every process holding its pipe has closed it; one that outlives ``grace`` (a
    straggler still holds the pipe) is killed rather than waited for.
    """
    from multiprocessing import resource_tracker

    modules = [resource_tracker]
    if "joblib.externals.loky.backend.resource_tracker" in sys.modules:
        modules.append(sys.modules["joblib.externals.loky.backend.resource_tracker"])
    for module in modules:
        tracker = getattr(module, "_resource_tracker", None)
        if tracker is None or getattr(tracker, "_fd", None) is None:
            continue
        with tracker._lock:
            pid = tracker._pid
            os.close(tracker._fd)
            tracker._fd = tracker._pid = None
        if pid is not None:
            reap(pid, grace)


def reap(pid: int, grace: float) -> None:
    """Wait up to ``grace`` s for child ``pid`` to exit (a tracker whose pipe was closed
    does), then SIGKILL it; either way it is reaped."""
    deadline = time.monotonic() + grace
    try:
        while os.waitpid(pid, os.WNOHANG) == (0, 0):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                break
            time.sleep(0.02)
    except ChildProcessError:  # already reaped
        pass
