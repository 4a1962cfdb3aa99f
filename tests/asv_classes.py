"""The benchmark classes under ``benchmarks/``, found as asv finds them, for tests that
drive a class directly (asv_runner gives names and params, not the classes)."""

import importlib
import inspect
import pkgutil
import sys

PREFIXES = ("time_", "track_", "peakmem_", "mem_", "timeraw_")


def discover(root):
    """(class, benchmark method names) of every asv benchmark class under ``root/benchmarks``
    (benchmark modules import no engine, so this is cheap)."""
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    import benchmarks

    for info in pkgutil.walk_packages(benchmarks.__path__, "benchmarks."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__:
                continue
            methods = [m for m in dir(cls) if m.startswith(PREFIXES)]
            if methods:
                yield cls, methods
