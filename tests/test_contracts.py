"""The layers of pyproject.toml's [tool.importlinter] hold (issue 44), and lint-imports
really fails when one is broken: a contract that cannot fail guards nothing."""

import ast
import re
import shutil
import subprocess
import sys
import tomllib
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
    ("bench_lib/config.py", "from bench_lib import cli", "bench_lib.config is not allowed to import bench_lib.cli"),
    # an engine importing a workload
    ("bench_lib/backends/serial.py", "from bench_lib import workloads",
     "bench_lib.backends.serial -> bench_lib.workloads"),
    # a results file's module importing what measures (a layer above it)
    ("bench_lib/results/points.py", "from bench_lib.measure import protocol",
     "bench_lib.results.points -> bench_lib.measure.protocol"),
    # the report importing what measures (publish stands above measure, but reads apart from it)
    ("bench_lib/publish/report.py", "from bench_lib.measure import ratios",
     "bench_lib.publish.report is not allowed to import bench_lib.measure.ratios"),
    # one engine importing another
    ("bench_lib/backends/threads.py", "from bench_lib.backends import ray",
     "bench_lib.backends.threads -> bench_lib.backends.ray"),
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


def package_entries() -> set[str]:
    """bench_lib's subpackages and top-level modules, from the folders themselves."""
    package = ROOT / "bench_lib"
    found = {p.stem for p in package.glob("*.py") if p.stem != "__init__"}
    return found | {p.parent.name for p in package.glob("*/__init__.py")}


def test_the_layers_contract_names_every_subpackage_and_module_of_bench_lib():
    """One entry per folder (and top-level module), so a new one must be placed in a layer."""
    contract = next(c for c in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
                    if c["id"] == "layers")
    named = {name.strip() for layer in contract["layers"] for name in re.split(r"[|:]", layer)}
    assert named == package_entries()
    assert {"backends", "workloads", "results", "measure", "publish", "run"} <= named


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected set of more than one module (Tarjan), or a module importing itself."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1 or node in edges.get(node, ()):
                found.append(sorted(group))

    for node in list(edges):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle_worked_by_hand():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    assert cycles({"a": {"a"}}) == [["a"]]


def test_bench_lib_has_no_import_cycle():
    """grimp's graph (import-linter's), type-only imports left out as the contracts do."""
    import grimp

    graph = grimp.build_graph("bench_lib", exclude_type_checking_imports=True)
    edges = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    assert cycles(edges) == []


def said_why(lines: list[str], first: int, end: int) -> bool:
    """A comment on the import's own lines, or above the run of imports it stands in."""
    if any("#" in line for line in lines[first:end]):
        return True
    while first > 0 and lines[first - 1].strip().startswith(("from ", "import ")):
        first -= 1
        if "#" in lines[first]:
            return True
    return first > 0 and lines[first - 1].strip().startswith("#")


def test_the_why_check_reads_a_comment_above_a_run_of_imports_and_nothing_else():
    lines = ["def f():", "    # on use", "    import a", "    from b import c", "", "    from d import e"]
    assert said_why(lines, 2, 3) and said_why(lines, 3, 4)
    assert not said_why(lines, 5, 6)
    assert said_why(["    from b import c  # cheap"], 0, 1)


def test_every_import_inside_a_function_of_bench_lib_says_why():
    """An import of bench_lib's own modules inside a function hides an arrow of the graph:
    each carries a comment, on its line or the line above."""
    silent = []
    for path in sorted((ROOT / "bench_lib").rglob("*.py")):
        text = path.read_text()
        lines = text.splitlines()
        for function in ast.walk(ast.parse(text)):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("bench_lib")):
                    if not said_why(lines, node.lineno - 1, node.end_lineno):
                        silent.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert silent == []
