"""Ends a local Ray runtime whose driver died without closing it.

asv's benchmark processes end with ``os._exit`` (a timed-out one is SIGKILLed): Ray's
raylet and GCS, its dashboard and runtime-env agents notice only by polling, 40-60 s later,
loading the benchmarks timed meanwhile. The ray backend starts this watcher as a child of
the driver, carrying the runtime's marker (so closing the runtime ends it too); ``run
--engines once`` starts one as its own child for the run's clusters (_run_clusters). When the
driver is gone (this process has another parent) it ends the runtime as closing would
have, and exits; it also exits once the runtime is gone.

Usage: ``python -m bench_lib.backends._ray_watch <driver pid> <marker>``.
"""

from __future__ import annotations

import os
import signal
import sys
import time

from bench_lib.backends import processes
from bench_lib.backends.ray import end_runtime, MARKER

POLL_S = 0.2  # how soon the driver's death is noticed
CHECK_S = 5.0  # how often, at most, the runtime's processes are looked for again


def watch(driver: int, marker: str) -> None:
    """Ray's agents retitle themselves, which wipes the marker from their environment:
    they are known as the raylet's children, found while the raylet still runs (at first
    twice a second, then less often), so that they are ended even after it is gone."""
    known, every, checked = processes.marked(MARKER, marker), 0.5, time.monotonic()
    while os.getppid() == driver:
        time.sleep(POLL_S)
        if time.monotonic() - checked > every:
            known = processes.marked(MARKER, marker, known)
            if not known:
                return  # the runtime was closed (or ended) without this watcher
            every, checked = min(2 * every, CHECK_S), time.monotonic()
    end_runtime(marker, known)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C is for the driver
    watch(int(sys.argv[1]), sys.argv[2])
