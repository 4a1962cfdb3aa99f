"""One allocator discipline for every process of a run, and the page faults each sample pays.

Why: glibc's main arena hands the multi-megabyte temporaries of numpy and scipy back to the
kernel when they are freed (blocks above the mmap threshold are unmapped, the heap's top is
trimmed), and the next call faults them in again, page by page, zeroed by the kernel. A
thread's own arena is capped at 64 MiB heaps and keeps what fits. So with glibc's defaults
the serial loop (the main thread) and a process worker's main thread pay faults that a thread
pool does not -- measured here: the filter bank's loop spends about half of its time in them,
and the interpolators' loop 40,000 faults a run that a thread does not -- and each fault costs
what the host makes it cost. A speedup then measures the allocator as much as the backend.

``fixed`` (the default) gives every arm the same conditions: one arena for all threads,
nothing above 1 GiB served by mmap, nothing trimmed below 1 GiB of free top. After the first
run a process reuses its heap, whatever thread runs the task. It is set twice, because each
way alone misses some processes: in the environment ``run`` gives asv (glibc reads it when a
process starts, so it reaches processes that never run parbench code, such as Ray's daemons),
and with ``mallopt`` in every process that runs a task or a serial loop (:func:`apply`), which
reaches workers an engine started with an environment of its own. ``default`` leaves glibc's
behaviour alone: what a user's own loop pays (``PARBENCH_MALLOC=default``).

Faults are counted per sample (:class:`Meter`): all of them, in the caller and every process
it started, and apart from them the ones inside the task's computation (:class:`Counted`,
the thread that ran it), so the faults of moving data -- pickling, shared memory, an engine's
bookkeeping -- are the difference.
"""

from __future__ import annotations

import ctypes
import os
import resource
import sys
import threading
from pathlib import Path
from typing import Callable

from bench_lib import config

FIXED, DEFAULT = "fixed", "default"
DISCIPLINES = (FIXED, DEFAULT)
MMAP_THRESHOLD = 1 << 30  # bytes: no array of these workloads is served by a fresh mapping
TRIM_THRESHOLD = 1 << 30  # bytes of free heap top kept before any is given back
ARENA_MAX = 1  # every thread allocates where the main thread does
# glibc's mallopt parameters (malloc.h)
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8
ENVIRONMENT = {"MALLOC_MMAP_THRESHOLD_": str(MMAP_THRESHOLD), "MALLOC_TRIM_THRESHOLD_": str(TRIM_THRESHOLD),
               "MALLOC_ARENA_MAX": str(ARENA_MAX)}
THP = "/sys/kernel/mm/transparent_hugepage"


def discipline(environ=os.environ) -> str:
    """The run's discipline (``PARBENCH_MALLOC``, default ``fixed``)."""
    return config.malloc(environ)


def environment(environ=os.environ) -> dict[str, str]:
    """The variables a run's processes start with: the fixed thresholds, or none of them."""
    return dict(ENVIRONMENT) if discipline(environ) == FIXED else {}


def without(environ: dict) -> dict:
    """``environ`` less glibc's malloc variables: a ``default`` run starts from glibc's own."""
    return {k: v for k, v in environ.items() if k not in ENVIRONMENT and not k.startswith("GLIBC_TUNABLES")}


_APPLIED: tuple[int, str] | None = None  # (pid, discipline) once applied in this process


def apply(environ=os.environ) -> bool:
    """Set the discipline in this process with ``mallopt`` (once per process; a forked child
    inherits its parent's settings). Returns whether glibc took every setting."""
    global _APPLIED
    wanted = discipline(environ)
    if _APPLIED == (os.getpid(), wanted):
        return True
    _APPLIED = (os.getpid(), wanted)
    if wanted != FIXED or not sys.platform.startswith("linux"):
        return True
    try:
        libc = ctypes.CDLL(None)
        return all(libc.mallopt(p, v) == 1 for p, v in (
            (M_MMAP_THRESHOLD, MMAP_THRESHOLD), (M_TRIM_THRESHOLD, TRIM_THRESHOLD), (M_ARENA_MAX, ARENA_MAX)))
    except (OSError, AttributeError):  # pragma: no cover - not glibc: nothing to fix
        return False


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def settings(environ=os.environ) -> dict:
    """What shapes page faults, for sysinfo.jsonl: the discipline and its values, the
    kernel's transparent-hugepage policy and numpy's, and the C library."""
    libc = os.confstr("CS_GNU_LIBC_VERSION") if hasattr(os, "confstr") else None
    return {"discipline": discipline(environ), "malloc_env": environment(environ),
            "thp_enabled": _read(f"{THP}/enabled"), "thp_defrag": _read(f"{THP}/defrag"),
            "numpy_madvise_hugepage": environ.get("NUMPY_MADVISE_HUGEPAGE"), "libc": libc}


def probe(mib: int = 100) -> int:
    """Minor faults of this thread while it allocates, touches and frees ``mib`` MiB for the
    second time: about one per 4 KiB page where the block is mapped afresh (glibc's default
    above 32 MiB), about none where the discipline keeps it in the heap. A check that runs
    in a worker itself, whatever its engine passed on to it."""
    size, page = mib << 20, 4096
    for _ in range(2):
        before = thread_faults()[0]
        block = bytearray(size)
        block[::page] = b"\x01" * len(range(0, size, page))
        touched = thread_faults()[0] - before
        del block
    return touched


# -- counting faults ----------------------------------------------------------------------------
def proc_faults(pid: int) -> tuple[int, int]:
    """(minor, major) faults of process ``pid`` so far, from /proc/<pid>/stat (0, 0 if gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            text = f.read().decode()
    except OSError:
        return (0, 0)
    fields = text[text.rindex(")") + 2:].split()  # the command name may hold spaces
    return int(fields[7]), int(fields[9])  # fields 10 and 12 of stat(5), counted from 1


def thread_faults() -> tuple[int, int]:
    """(minor, major) faults of the calling thread so far."""
    usage = resource.getrusage(getattr(resource, "RUSAGE_THREAD", resource.RUSAGE_SELF))
    return usage.ru_minflt, usage.ru_majflt


class Counted:
    """``fn`` that adds the faults of the thread running it to its process's tally, kept in a
    file of ``folder`` named after the process, so the caller can read a worker's tally
    between samples. Only protocol measurements wrap tasks in it (the harness benchmark holds
    a bare ``map`` to the engine's own)."""

    _lock = threading.Lock()
    _tally = [0, 0]
    _fd: tuple[int, int] | None = None  # (pid, fd) of this process's tally file

    def __init__(self, fn: Callable, folder: str):
        self.fn, self.folder = fn, folder
        self.__name__ = getattr(fn, "__name__", "task")

    def __call__(self, *args):
        before = thread_faults()
        try:
            return self.fn(*args)
        finally:
            after = thread_faults()
            self._add(after[0] - before[0], after[1] - before[1])

    def _add(self, minor: int, major: int) -> None:
        cls = Counted
        with cls._lock:
            if cls._fd is None or cls._fd[0] != os.getpid():  # a forked child starts its own
                cls._tally = [0, 0]
                fd = os.open(os.path.join(self.folder, str(os.getpid())), os.O_RDWR | os.O_CREAT, 0o644)
                cls._fd = (os.getpid(), fd)
            cls._tally[0] += minor
            cls._tally[1] += major
            os.pwrite(cls._fd[1], f"{cls._tally[0]:020d}{cls._tally[1]:020d}".encode(), 0)


def tallies(folder: str) -> dict[int, tuple[int, int]]:
    """Every process's compute faults so far in ``folder``, by pid."""
    out = {}
    try:
        names = os.listdir(folder)
    except OSError:
        return out
    for name in names:
        try:
            with open(os.path.join(folder, name), "rb") as f:
                raw = f.read(40)
            out[int(name)] = (int(raw[:20]), int(raw[20:40]))
        except (OSError, ValueError):
            continue
    return out


class Meter:
    """Faults of one sample: all of them in this process and every process it started (its
    engines' workers and daemons) or the run's clusters hold (``run --engines once``: their
    trees are the run's own, as the load guard counts them), and the compute share from
    :class:`Counted` tallies."""

    def __init__(self, folder: str | None = None, also: list[int] | None = None):
        import psutil

        self.folder = folder  # None: no task is Counted (asv's own samples), compute stays 0
        self._root = psutil.Process()
        self._psutil = psutil
        self._also = list(config.run_cluster_pids() if also is None else also)

    def read(self) -> dict[int, tuple[int, int, int, int]]:
        """pid -> (minor, major, compute minor, compute major) so far."""
        others = self._others()
        pids = [self._root.pid, *(p.pid for p in others)]
        for root in (self._root, *others):
            try:
                pids += [p.pid for p in root.children(recursive=True)]
            except self._psutil.Error:
                pass
        counted = tallies(self.folder) if self.folder else {}
        out = {}
        for pid in pids:
            minor, major = (resource.getrusage(resource.RUSAGE_SELF)[6:8] if pid == self._root.pid
                            else proc_faults(pid))
            out[pid] = (minor, major, *counted.get(pid, (0, 0)))
        for pid, (minor, major) in counted.items():  # a process that ended keeps its tally
            out.setdefault(pid, (0, 0, minor, major))
        return out

    def _others(self) -> list:
        """The run's cluster roots still running."""
        out = []
        for pid in self._also:
            try:
                out.append(self._psutil.Process(pid))
            except self._psutil.Error:
                continue
        return out

    @staticmethod
    def delta(before: dict, after: dict) -> dict[str, int]:
        return delta(before, after)


def delta(before: dict, after: dict) -> dict[str, int]:
    """A sample's faults between two :meth:`Meter.read`: a process that started during the
    sample counts from zero, one that ended counts nothing."""
    total = [0, 0, 0, 0]
    for pid, now in after.items():
        then = before.get(pid, (0, 0, 0, 0))
        for i in range(4):
            total[i] += max(0, now[i] - then[i])
    return {"minor": total[0], "major": total[1], "compute": total[2], "compute_major": total[3]}
