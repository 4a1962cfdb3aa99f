"""One job per module (issue 17): the sizes and places the layout promises, checked so a
change cannot quietly undo them."""

import importlib
import pkgutil
import sys
from pathlib import Path

import asv_classes

from bench_lib import harness

ROOT = Path(__file__).resolve().parent.parent


def lines(path: Path) -> int:
    return len(path.read_text().splitlines())


def test_no_bench_lib_module_over_350_lines():
    over = {str(p.relative_to(ROOT)): lines(p) for p in (ROOT / "bench_lib").rglob("*.py") if lines(p) > 350}
    assert over == {}


def test_the_workload_and_the_interface_stay_small():
    assert lines(ROOT / "bench_lib" / "workloads" / "model_inference.py") <= 200
    assert lines(ROOT / "bench_lib" / "backends" / "base.py") <= 250


def test_benchmarks_hold_only_what_asv_reads():
    for path in (ROOT / "benchmarks").glob("*.py"):
        text = path.read_text()
        assert "process_group" not in text, path.name
        imports = [line for line in text.splitlines() if line.startswith(("import ", "from "))]
        assert all("bench_lib" not in line or line.startswith("from bench_lib import harness")
                   or line.startswith("from bench_lib.harness import") for line in imports), (path.name, imports)


def test_the_cli_discovers_benchmarks_with_asv_runner_only():
    text = (ROOT / "bench_lib" / "cli.py").read_text() + (ROOT / "bench_lib" / "run" / "plan.py").read_text()
    assert "asv_runner" in text
    assert not any(word in text for word in ("pkgutil", "walk_packages", "inspect.getmembers", "os.walk"))


def test_a_benchmark_modules_teardown_is_harness_teardown():
    """asv runs a module's ``teardown`` after the class's: every module that can start an
    engine has it, so none leaves one open at ``os._exit``."""
    sys.path.insert(0, str(ROOT))
    try:
        import benchmarks
        names = [m.name for m in pkgutil.iter_modules(benchmarks.__path__, "benchmarks.")]
        assert len(names) >= 7
        for name in names:
            assert importlib.import_module(name).teardown is harness.teardown, name
    finally:
        sys.path.remove(str(ROOT))


def test_every_time_benchmark_is_watched():
    """Each class with a ``time_*`` method closes its window at teardown (Windowed); its
    setup opens one (``harness.prepare``, ``prepare_per_call`` or ``watch``), checked on
    a real quick run in tests/test_cli.py. PoolReuse and VolumeGraph were unwatched."""
    timed = [cls for cls, methods in asv_classes.discover(ROOT) if any(m.startswith("time_") for m in methods)]
    assert {cls.__name__ for cls in timed} >= {"FilterBank", "PoolReuse", "VolumeGraph", "ModelInference"}
    assert [cls.__name__ for cls in timed if not issubclass(cls, harness.Windowed)] == []
