"""One job per module (issue 17): the sizes and places the layout promises, checked so a
change cannot quietly undo them."""

from pathlib import Path

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
    text = (ROOT / "bench_lib" / "cli.py").read_text() + (ROOT / "bench_lib" / "plan.py").read_text()
    assert "asv_runner" in text
    assert not any(word in text for word in ("pkgutil", "walk_packages", "inspect.getmembers", "os.walk"))
