"""The layers of pyproject.toml's [tool.importlinter] hold (issue 44), and lint-imports
really fails when one is broken: a contract that cannot fail guards nothing."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def lint_imports(where: Path) -> subprocess.CompletedProcess:
    """lint-imports of this venv on the tree at ``where``, that tree's packages first on the path."""
    command = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"
    return subprocess.run([command, "--no-cache"], cwd=where, capture_output=True, text=True, timeout=300,
                          env={"PATH": str(Path(sys.executable).parent), "PYTHONPATH": str(where)})


def test_every_import_contract_is_kept():
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize("module, line, broken", [
    # the settings, at the bottom, importing the command line at the top
    ("bench_lib/config.py", "from . import cli", "bench_lib.config is not allowed to import bench_lib.cli"),
    # an engine importing a workload
    ("bench_lib/backends/serial.py", "from .. import workloads", "bench_lib.backends.serial -> bench_lib.workloads"),
    # the report importing what measures
    ("bench_lib/report.py", "from . import ratios", "bench_lib.report is not allowed to import bench_lib.ratios"),
])
def test_one_import_against_the_contracts_fails_them(tmp_path, module, line, broken):
    copy = tmp_path / "tree"
    skip = shutil.ignore_patterns("__pycache__", "www")
    for name in ("bench_lib", "benchmarks"):
        shutil.copytree(ROOT / name, copy / name, ignore=skip)
    shutil.copy(ROOT / "pyproject.toml", copy)
    target = copy / module
    target.write_text(target.read_text() + f"\n{line}  # injected\n")
    done = lint_imports(copy)
    assert done.returncode != 0
    assert broken in done.stdout, done.stdout
