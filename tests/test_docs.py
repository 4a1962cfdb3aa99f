"""The README and the docs pages: every row of the claims table (docs/contributing.md) names a
test that exists or a command that runs, the figures the pages quote from committed results
are the ones those results give, no page speaks in the first person, the README stays short,
and docs/report.png was drawn with the site code of its commit or later.

Also the docs' promises that nothing else tested: the sizes and settings it states,
the timeouts it lists, `model --rebuild`, asv's integrity hashes kept by ``bench_lib.publish.site``,
and that ``setup`` runs the workload once before timing.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import json
import math
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import asv_classes
import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
METHOD, VALIDATION, RUNNING = DOCS / "method.md", DOCS / "validation.md", DOCS / "running.md"
REGRESSIONS, TROUBLESHOOTING, CONTRIBUTING = DOCS / "regressions.md", DOCS / "troubleshooting.md", DOCS / "contributing.md"
PNG = "docs/report.png"
XEON = "vm-2core-24gb-xeon"
RUNS = ("bdfb4bc4-20261130T044334", "bdfb4bc4-20261130T051716")


# -- the claims table ------------------------------------------------------------------------
def claims(text: str) -> list[tuple[str, list[str]]]:
    """(claim, [backing, ...]) for each row of the README's last section, "## Claims":
    a backing is a code span of the row's second cell (a test node id or a command)."""
    section = text.split("\n## Claims", 1)
    assert len(section) == 2, "README has no '## Claims' section"
    rows = []
    for line in section[1].splitlines():
        if not line.startswith("|") or re.match(r"\|\s*-+", line):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        if len(cells) != 2:
            raise AssertionError(f"a claims row needs two cells: {line}")
        if cells == ["claim", "test or command"]:
            continue
        rows.append((cells[0], re.findall(r"`([^`]+)`", cells[1])))
    return rows


def defined_tests(path: Path) -> set[str]:
    """Test functions of a test file, as ``name`` and ``Class::name``."""
    tree = ast.parse(path.read_text(), str(path))
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            names |= {f"{node.name}::{f.name}" for f in node.body
                      if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) and f.name.startswith("test")}
    return names


def missing_test(node: str) -> str | None:
    """Why ``node`` (``tests/x.py::test_name[param]``) is not a test of this checkout, or None."""
    file, sep, name = node.partition("::")
    if not sep or not file.startswith("tests/") or not file.endswith(".py"):
        return f"{node}: not a node id of the form tests/<file>.py::<test>"
    path = ROOT / file
    if not path.is_file():
        return f"{node}: no file {file}"
    name = re.sub(r"\[[^\]]*\]$", "", name)  # a parametrized case names its function
    if name not in defined_tests(path):
        return f"{node}: {file} defines no test {name}"
    return None


def cli_subcommands() -> set[str]:
    """The subcommands ``python -m bench_lib`` registers (its parser is built inside main,
    partly by modules that add their own, as forecast.add_parser does)."""
    from bench_lib import cli

    sources = Path(cli.__file__).parent.rglob("*.py")
    return {name for path in sources for name in re.findall(r'add_parser\(\s*"([a-z-]+)"', path.read_text())}


def make_targets() -> set[str]:
    return set(re.findall(r"^([A-Za-z][\w-]*):", (ROOT / "Makefile").read_text(), re.M))


def missing_command(command: str) -> str | None:
    """Why ``command`` cannot run in this checkout, or None. ``python -m bench_lib <sub>``
    must name a subcommand of the CLI, ``make <target>`` a Makefile target, anything else a
    program on PATH or in the checkout (a leading ``VAR=value`` is skipped)."""
    words = shlex.split(command.split("|")[0])
    while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):
        words.pop(0)
    if not words:
        return f"{command}: no program"
    program = words[0]
    if program.endswith("python") and words[1:3] == ["-m", "bench_lib"]:
        if not (ROOT / program).exists() and shutil.which(program) is None:
            return f"{command}: no {program}"
        if len(words) < 4 or words[3] not in cli_subcommands():
            return f"{command}: not a subcommand of python -m bench_lib ({sorted(cli_subcommands())})"
        return None
    if program == "make":
        wanted = [w for w in words[1:] if "=" not in w and not w.startswith("-")]
        unknown = [w for w in wanted if w not in make_targets()]
        return f"{command}: no Makefile target {unknown}" if unknown or not wanted else None
    if shutil.which(program) is None and not (ROOT / program).exists():
        return f"{command}: no program {program}"
    return None


def backing_errors(text: str) -> list[str]:
    errors = []
    rows = claims(text)
    if not rows:
        return ["the claims table is empty"]
    for claim, backing in rows:
        if not backing:
            errors.append(f"{claim!r}: names neither a test nor a command")
        for item in backing:
            why = missing_test(item) if item.startswith("tests/") else missing_command(item)
            if why:
                errors.append(f"{claim!r}: {why}")
    return errors


def test_every_claim_names_a_test_that_exists_or_a_command_that_runs():
    assert backing_errors(CONTRIBUTING.read_text()) == []


def test_the_claims_check_catches_a_missing_test_a_missing_command_and_an_empty_row():
    good = "x\n## Claims\n\n| claim | test or command |\n| --- | --- |\n"
    ok = good + "| a | `tests/test_docs.py::test_every_claim_names_a_test_that_exists_or_a_command_that_runs` |\n"
    assert backing_errors(ok) == []
    param = good + "| a | `tests/test_docs.py::test_every_claim_names_a_test_that_exists_or_a_command_that_runs[x]` |\n"
    assert backing_errors(param) == []
    for row, why in [("`tests/test_docs.py::test_nothing_of_the_kind`", "defines no test"),
                     ("`tests/test_nowhere.py::test_x`", "no file"),
                     ("`tests/test_docs.py`", "not a node id"),
                     ("`.venv/bin/python -m bench_lib frobnicate`", "not a subcommand"),
                     ("`make frobnicate`", "no Makefile target"),
                     ("`no-such-program-here --flag`", "no program"),
                     ("nothing", "names neither")]:
        [error] = backing_errors(good + f"| a claim | {row} |\n")
        assert why in error
    assert backing_errors("x\n## Claims\n\nnothing\n") == ["the claims table is empty"]


def test_results_reading_commands_of_the_table_run():
    """The commands that read committed results run, here, and exit 0."""
    commands = {c for _, backing in claims(CONTRIBUTING.read_text()) for c in backing
                if re.match(r"\.venv/bin/python -m bench_lib (report|compare)\b", c) and "|" not in c}
    assert commands
    for command in sorted(commands):
        words = shlex.split(command)
        done = subprocess.run([sys.executable, *words[1:]], cwd=ROOT, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, f"{command}: {done.stderr[-1000:]}"


# -- docs/report.png -------------------------------------------------------------------------
def test_report_png_is_one_view_a_readme_can_carry():
    """The picture the README shows: at most 300 KB, the top of the page (``make docs``
    redraws it with ``python -m bench_lib site --screenshot docs/report.png``)."""
    from PIL import Image

    from bench_lib.publish.site import chromium

    assert (ROOT / PNG).stat().st_size <= 300 * 1024
    with Image.open(ROOT / PNG) as image:
        assert image.mode == "P" and image.height <= chromium.VIEW_HEIGHT + 100
        assert image.text["Source"].startswith("parbench ")


def test_a_tagged_png_keeps_its_pixels_and_names_what_drew_it(tmp_path):
    from PIL import Image

    from bench_lib.publish.site import chromium

    png = tmp_path / "p.png"
    Image.new("RGB", (3, 2), (10, 20, 30)).save(png)
    chromium._tag(png, "Source", "parbench abc123")
    with Image.open(png) as image:
        image.load()
        assert image.text == {"Source": "parbench abc123"}
        assert list(image.get_flattened_data()) == [(10, 20, 30)] * 6


# -- the Reproducibility section -------------------------------------------------------------
def report_json(machine: str) -> list[dict]:
    """Every point ``report --json`` prints for a committed series."""
    done = subprocess.run([sys.executable, "-m", "bench_lib", "report", "--json", "--machine", machine],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def xeon_report() -> list[dict]:
    return report_json(XEON)


@pytest.fixture(scope="module")
def xeon_points(xeon_report) -> list[dict]:
    return [p for p in xeon_report if p["run"] in RUNS]


def wall_seconds() -> dict[str, float]:
    """Each committed Xeon run's wall time, by run id (sysinfo.jsonl)."""
    lines = (ROOT / "results" / XEON / "sysinfo.jsonl").read_text().splitlines()
    return {json.loads(line)["run"]: json.loads(line)["wall_s"] for line in lines}


def unquoted(figures: tuple[str, ...], end: str) -> list[str]:
    """The ``figures`` the README's Reproducibility section, up to ``end``, does not quote
    (whitespace folded)."""
    text = " ".join(VALIDATION.read_text().split())
    section = text.split("## Reproducibility", 1)[1].split(end, 1)[0]
    return [f for f in figures if f not in section]


def compared(*runs: str) -> str:
    """What ``compare`` prints for two committed runs (it must pass)."""
    done = subprocess.run([sys.executable, "-m", "bench_lib", "compare", *runs, "--factor", "1.2"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def half_width(p: dict) -> float:
    low, high = p["speedup_ci"]
    return (high - low) / 2 / p["speedup"]


def overlap(a: dict, b: dict) -> bool:
    return a["speedup_ci"][0] <= b["speedup_ci"][1] and b["speedup_ci"][0] <= a["speedup_ci"][1]


def tie(side: dict, workload: str) -> tuple[dict, set[str]]:
    """A run's recommendation for a workload, by hand: its fastest point, and every backend
    whose speedup interval overlaps that one's, unless it measured slower than the loop."""
    rows = sorted((p for k, p in side.items() if k[0] == workload), key=lambda p: -p["speedup"])
    return rows[0], {rows[0]["backend"], *(p["backend"] for p in rows[1:]
                                           if p["speedup"] >= 1.0 and overlap(rows[0], p))}


# Each figure as the README's Reproducibility section writes it (whitespace folded).
REPRODUCIBILITY_FIGURES = (
    "`bdfb4bc4-20261130T044334`, 1904 s", "`bdfb4bc4-20261130T051716`, 2008 s",
    "27 of 28 agree within 5% or with overlapping 95% intervals (96%); 16 of 28 within 5% outright",
    "Median difference 4.4%, largest 16.2% (convolve2d / multiprocessing, 1.75x [1.59, 1.93] then 2.03x [1.89, 2.19])",
    "filter_bank / joblib-multiprocessing (0.763x [0.740, 0.786] then 0.828x [0.804, 0.853], +8.6%)",
    "0 regressions of 28 at `--factor 1.2`",
    "filter_bank's points (30-100 ms a sample) reach ±3% in 137-325 rounds (one stopped at the 400-round limit at ±3.02%)",
    "The others take 1.4-5.6 s a sample: two reached ±3% in 3 rounds (loky on convolve2d and on model_inference, first run)",
    "after 6-15 rounds, at ±5% to ±70% (Ray on model_inference)",
    "the median half-width of all 56 points is 9.3%",
    "filter_bank: threads (1.42x ±0.04, then 1.43x ±0.04) in both",
    "convolve2d (loky, multiprocessing, joblib-multiprocessing) and model_inference (five backends)",
    "volume_gaussian's tie has 3 members in the first run and 5 in the second",
    "117 samples were discarded (besides the 7,446 kept) and retaken; 2 of 56 points",
    "model_inference's ceiling at n=2 is 1.17x, below most backends' speedups there",
    "(up to 121% in the first run, 116% in the second)",
)


def test_the_readme_quotes_the_figures_checked_here():
    assert unquoted(REPRODUCIBILITY_FIGURES, " ## ") == []


def test_reproducibility_figures_are_the_committed_results(xeon_points):
    """Each figure of the README's "Reproducibility" section, recomputed by hand from
    ``report --json`` and ``sysinfo.jsonl`` (not with compare's own agreement code)."""
    pts = xeon_points
    assert len(pts) == 56 and {p["commit"] for p in pts} == {"bdfb4bc4"}
    walls = wall_seconds()
    assert [round(walls[r]) for r in RUNS] == [1904, 2008]
    first = {(p["workload"], p["backend"]): p for p in pts if p["run"] == RUNS[0]}
    second = {(p["workload"], p["backend"]): p for p in pts if p["run"] == RUNS[1]}
    assert first.keys() == second.keys() and len(first) == 28

    # Speedups: agreement, differences, the largest, the one that does not agree
    diff = {k: abs(second[k]["speedup"] / first[k]["speedup"] - 1) for k in first}
    within5 = {k for k in first if diff[k] <= 0.05}
    agree = {k for k in first if k in within5 or overlap(first[k], second[k])}
    assert (len(agree), len(within5)) == (27, 16) and round(100 * 27 / 28) == 96
    assert round(100 * statistics.median(diff.values()), 1) == 4.4
    top = max(diff, key=diff.get)
    assert top == ("convolve2d", "multiprocessing") and round(100 * diff[top], 1) == 16.2
    a, b = first[top], second[top]
    assert [round(a["speedup"], 2), *[round(x, 2) for x in a["speedup_ci"]]] == [1.75, 1.59, 1.93]
    assert [round(b["speedup"], 2), *[round(x, 2) for x in b["speedup_ci"]]] == [2.03, 1.89, 2.19]
    [odd] = set(first) - agree
    a, b = first[odd], second[odd]
    assert odd == ("filter_bank", "joblib-multiprocessing")
    assert [round(a["speedup"], 3), *[round(x, 3) for x in a["speedup_ci"]]] == [0.763, 0.740, 0.786]
    assert [round(b["speedup"], 3), *[round(x, 3) for x in b["speedup_ci"]]] == [0.828, 0.804, 0.853]
    assert round(100 * (b["speedup"] / a["speedup"] - 1), 1) == 8.6
    # every row's times give its speedup exactly
    for p in pts:
        assert p["serial_time_s"] / p["time_s"] == pytest.approx(p["speedup"], rel=1e-9)

    # Precision
    fb = [p for p in pts if p["workload"] == "filter_bank"]
    others = [p for p in pts if p["workload"] != "filter_bank"]
    assert (round(1000 * min(p["time_s"] for p in fb)), round(1000 * max(p["time_s"] for p in fb))) == (29, 100)
    precise = sorted(p["pairs"] for p in fb if p["precise"])
    assert (precise[0], precise[-1], len(precise)) == (137, 325, 13)
    [capped] = [p for p in fb if not p["precise"]]
    assert capped["pairs"] == 400 and round(100 * half_width(capped), 2) == 3.02
    assert (round(min(p["time_s"] for p in others), 1), round(max(p["time_s"] for p in others), 1)) == (1.4, 5.6)
    fast = sorted((p["workload"], p["backend"], p["run"]) for p in others if p["precise"])
    assert fast == [("convolve2d", "loky", RUNS[0]), ("model_inference", "loky", RUNS[0])]
    assert all(p["pairs"] == 3 for p in others if p["precise"])
    rest = [p for p in others if not p["precise"]]
    assert (min(p["pairs"] for p in rest), max(p["pairs"] for p in rest)) == (6, 15)
    widths = [half_width(p) for p in rest]
    assert (round(100 * min(widths)), round(100 * max(widths))) == (5, 70)
    widest = max(rest, key=half_width)
    assert (widest["workload"], widest["backend"]) == ("model_inference", "ray")
    assert round(100 * statistics.median(half_width(p) for p in pts), 1) == 9.3

    # Recommendations: filter_bank's winner in each run
    for run, text in zip(RUNS, ("1.42x ±0.04", "1.43x ±0.04")):
        best = max((p for p in fb if p["run"] == run), key=lambda p: p["speedup"])
        ci = best["speedup_ci"]
        assert best["backend"] == "threads"
        assert f"{best['speedup']:.2f}x ±{(ci[1] - ci[0]) / 2:.2f}" == text

    # Foreign load: discarded and kept samples (two a round), points kept beside load
    assert sum(p["discarded"] for p in pts) == 117
    assert 2 * sum(p["pairs"] for p in pts) == 7446
    assert sum(not p["quiet"] for p in pts) == 2

    # Not yet covered: model_inference's ceiling and its efficiencies
    mi = [p for p in pts if p["workload"] == "model_inference" and p["efficiency"]]
    ceilings = {round(p["speedup"] / p["efficiency"], 2) for p in mi}
    assert ceilings == {1.17}
    assert [round(100 * max(p["efficiency"] for p in mi if p["run"] == r)) for r in RUNS] == [121, 116]
    above = [p for p in mi if p["run"] == RUNS[1] and p["speedup"] > 1.17]
    assert len(above) > len(mi) / 4  # "below most backends' speedups there"


def test_ties_and_the_a_a_gate_are_what_compare_prints():
    out = compared(*RUNS)
    assert "agreement: 27 of 28 speedups within 5% or with overlapping intervals (96%)" in out
    assert "0 of 28 tracked ratios fell by more than a factor 1.2, 0 missing" in out
    ties = dict(re.findall(r"recommended for (\w+): (.*)", out))
    assert ties["filter_bank"] == "threads -> threads"
    same = "tie: joblib-multiprocessing/loky/multiprocessing"
    assert ties["convolve2d"] == f"{same} -> {same}"
    five = "tie: dask/joblib-multiprocessing/joblib-threading/loky/multiprocessing"  # ray below 1 in one run
    assert ties["model_inference"] == f"{five} -> {five}"
    before, after = ties["volume_gaussian"].removesuffix("  (tie members differ)").split(" -> ")
    assert len(before.split("/")) == 3 and len(after.split("/")) == 5


# -- the two runs under the current protocol ----------------------------------------------------
AA = ("42cc5ba5-20261130T163600", "42cc5ba5-20261130T172235")
AA_FIGURES = (
    "run `42cc5ba5-20261130T163600` (2793 s, with one traced run per point) and run `42cc5ba5-20261130T172235` (2297 s)",
    "34 of 35 agree within 5% or with overlapping 95% intervals (97%; target 90%); 22 of 35 within 5% outright; "
    "median difference 4.1%, largest 36.3% (convolve2d / dask",
    "volume_gaussian / dask: 1.155x [1.072, 1.244], then 1.368x [1.285, 1.455]",
    "0 regressions of 35 at `--factor 1.2`",
    "filter_bank: threads in both runs (1.66x ±0.05, then 1.67x ±0.05)",
    "model_inference and interpolators: the same five-way tie in both (dask, joblib-multiprocessing, loky, multiprocessing, ray)",
    "filter_bank's points (25-93 ms a sample) reach ±3% in 13 of 14 points (225-354 rounds;",
    "one stopped at the cap after 372. The rest take 1.2-24 s a sample",
    "8-18 rounds for convolve2d, volume_gaussian and model_inference, and 3 for the interpolators (9-24 s a sample), "
    "whose intervals reach ±55% (loky, first run); one interpolators point (threads, second run) reached ±3%",
    "Median half-width of all 70 points: 9.7%",
    "the ceilings at n=2 are 1.37-1.89x (model_inference",
    "72 samples were discarded and retaken; no point kept a sample taken beside foreign load",
    "(35 traces, 553 tasks)",
)


def test_the_readme_quotes_the_a_a_figures():
    assert unquoted(AA_FIGURES, "### Earlier runs") == []


def test_a_a_runs_under_the_current_protocol(xeon_report):
    """The current protocol's A/A figures, recomputed by hand from ``report --json``,
    ``points.jsonl``, ``traces.jsonl`` and ``sysinfo.jsonl`` (not compare's code)."""
    pts = [p for p in xeon_report if p["run"] in AA]
    folder = ROOT / "results" / XEON
    walls = wall_seconds()
    assert [round(walls[r]) for r in AA] == [2793, 2297]
    first = {(p["workload"], p["backend"]): p for p in pts if p["run"] == AA[0]}
    second = {(p["workload"], p["backend"]): p for p in pts if p["run"] == AA[1]}
    assert first.keys() == second.keys() and len(first) == 35 and len(pts) == 70

    diff = {k: abs(second[k]["speedup"] / first[k]["speedup"] - 1) for k in first}
    within5 = {k for k in first if diff[k] <= 0.05}
    agree = {k for k in first if k in within5 or overlap(first[k], second[k])}
    assert (len(agree), len(within5), round(100 * len(agree) / 35)) == (34, 22, 97)
    assert round(100 * statistics.median(diff.values()), 1) == 4.1
    top = max(diff, key=diff.get)
    assert top == ("convolve2d", "dask") and round(100 * diff[top], 1) == 36.3 and top in agree
    [odd] = set(first) - agree
    a, b = first[odd], second[odd]
    assert odd == ("volume_gaussian", "dask")
    assert [round(a["speedup"], 3), *[round(x, 3) for x in a["speedup_ci"]]] == [1.155, 1.072, 1.244]
    assert [round(b["speedup"], 3), *[round(x, 3) for x in b["speedup_ci"]]] == [1.368, 1.285, 1.455]

    # recommendations
    for workload in {k[0] for k in first}:
        (best1, tie1), (best2, tie2) = tie(first, workload), tie(second, workload)
        assert best1["backend"] in tie2 and best2["backend"] in tie1  # never contradict
        assert (tie1 == tie2) == (workload in ("filter_bank", "model_inference", "interpolators"))
    fb = [tie(side, "filter_bank")[0] for side in (first, second)]
    assert [f"{p['backend']} {p['speedup']:.2f}x ±{(p['speedup_ci'][1] - p['speedup_ci'][0]) / 2:.2f}" for p in fb] == [
        "threads 1.66x ±0.05", "threads 1.67x ±0.05"]
    assert tie(first, "model_inference")[1] == {"dask", "joblib-multiprocessing", "loky", "multiprocessing", "ray"}

    # precision
    fbs = [p for p in pts if p["workload"] == "filter_bank"]
    assert (round(1000 * min(p["time_s"] for p in fbs)), round(1000 * max(p["time_s"] for p in fbs))) == (25, 93)
    precise = sorted(p["pairs"] for p in fbs if p["precise"])
    assert (len(precise), precise[0], precise[-1]) == (13, 225, 354)
    assert [p["pairs"] for p in fbs if not p["precise"]] == [372]
    rest = [p for p in pts if p["workload"] != "filter_bank"]
    assert (round(min(p["time_s"] for p in rest), 1), round(max(p["time_s"] for p in rest))) == (1.2, 24)
    mid = [p["pairs"] for p in rest if p["workload"] != "interpolators"]
    assert (min(mid), max(mid)) == (8, 18)
    interp = [p for p in rest if p["workload"] == "interpolators"]
    assert {p["pairs"] for p in interp} == {3}
    assert (round(min(p["time_s"] for p in interp)), round(max(p["time_s"] for p in interp))) == (9, 24)
    widest = max(pts, key=half_width)
    assert (widest["workload"], widest["backend"], widest["run"], round(100 * half_width(widest))) == (
        "interpolators", "loky", AA[0], 55)
    assert [(p["workload"], p["backend"], p["run"]) for p in rest if p["precise"]] == [("interpolators", "threads", AA[1])]
    assert round(100 * statistics.median(half_width(p) for p in pts), 1) == 9.7
    for p in pts:
        assert p["speedup_ci"][0] <= p["speedup"] <= p["speedup_ci"][1]
        assert p["serial_time_s"] / p["time_s"] == pytest.approx(p["speedup"], rel=1e-9)
        assert not (p["efficiency_ci"] and p["efficiency_ci"][0] > 1.05)

    # ceilings, load, traces
    ceilings = [json.loads(line) for line in (folder / "points.jsonl").read_text().splitlines()
                if '"ceiling"' in line and any(r in line for r in AA)]
    at_two = [c["value"] for c in ceilings if c["kind"] == "ceiling" and c["n_workers"] == 2 and c["run"] in AA]
    assert len(at_two) == 10 and (round(min(at_two), 2), round(max(at_two), 2)) == (1.37, 1.89)
    assert min(ceilings, key=lambda c: c["value"])["workload"] == "model_inference"
    assert sum(p["discarded"] for p in pts) == 72 and all(p["quiet"] for p in pts)
    traces = [json.loads(line) for line in (folder / "traces.jsonl").read_text().splitlines()]
    ours = [t for t in traces if t.get("run") == AA[0]]
    assert len(ours) == 35 and sum(len(t["spans"]) for t in ours) == 553
    assert {(t["workload"], t["backend"]) for t in ours} == set(first)


def test_a_a_recommendations_are_what_compare_prints():
    out = compared(*AA)
    assert "agreement: 34 of 35 speedups within 5% or with overlapping intervals (97%)" in out
    assert "0 of 35 tracked ratios fell by more than a factor 1.2, 0 missing" in out
    how = {w: line.rsplit("  (", 1)[1] if "  (" in line else "" for w, line in
           re.findall(r"recommended for (\w+): (.*)", out)}
    assert how == {"filter_bank": "", "model_inference": "", "convolve2d": "tie members differ)",
                   "volume_gaussian": "tie members differ)", "interpolators": ""}


EPYC = "vm-2core-24gb-epyc"
EPYC_AA = ("7890cffe-20261203T142323", "7890cffe-20261203T151143")


def test_a_a_runs_on_the_epyc_are_the_readmes():
    """The second CPU's A/A figures in the README, recomputed by hand from ``report --json``
    and ``sysinfo.jsonl``, the gate's and the recommendations' from what ``compare`` prints."""
    pts = [p for p in report_json(EPYC) if p["run"] in EPYC_AA]
    first, second = ({(p["workload"], p["backend"]): p for p in pts if p["run"] == run} for run in EPYC_AA)
    assert first.keys() == second.keys() and len(first) == 35 and len(pts) == 70
    diff = {k: abs(second[k]["speedup"] / first[k]["speedup"] - 1) for k in first}
    within5 = {k for k in first if diff[k] <= 0.05}
    agree = {k for k in first if k in within5 or overlap(first[k], second[k])}
    top = max(diff, key=diff.get)
    assert set(first) - agree == {("filter_bank", "joblib-threading")}
    odd = [side[("filter_bank", "joblib-threading")] for side in (first, second)]
    same = sorted(w for w in {k[0] for k in first} if tie(first, w)[1] == tie(second, w)[1])
    for workload in {k[0] for k in first}:  # each run's fastest is in the other's tie
        (best1, tie1), (best2, tie2) = tie(first, workload), tie(second, workload)
        assert best1["backend"] in tie2 and best2["backend"] in tie1
    info = {r["run"]: r for r in map(json.loads, (ROOT / "results" / EPYC / "sysinfo.jsonl").read_text().splitlines())}
    quiet = [info[run]["quiet"] for run in EPYC_AA]
    out = compared(*EPYC_AA)
    differ = sorted(re.findall(r"recommended for (\w+): .*\(tie members differ\)", out))
    assert sorted(set(w for w, _ in first) - set(same)) == differ  # compare's reading is the one by hand
    regressions = int(re.search(r"(\d+) of 35 tracked ratios fell", out).group(1))
    figures = (
        f"run `{EPYC_AA[0]}` ({info[EPYC_AA[0]]['wall_s']:.0f} s) and run `{EPYC_AA[1]}` ({info[EPYC_AA[1]]['wall_s']:.0f} s)",
        f"{len(agree)} of 35 agree within 5% or with overlapping 95% intervals ({100 * len(agree) / 35:.0f}%; "
        f"target 90%); {len(within5)} of 35 within 5% outright; median difference "
        f"{100 * statistics.median(diff.values()):.1f}%, largest {100 * diff[top]:.1f}% ({top[0]} / {top[1]}",
        f"{regressions} regressions of 35 at `--factor 1.2`",
        f"the same in both runs for {', '.join(same)}",
        f"tie members differ for {', '.join(differ)}",
        "filter_bank / joblib-threading: " + ", then ".join(
            f"{p['speedup']:.3f}x [{p['speedup_ci'][0]:.3f}, {p['speedup_ci'][1]:.3f}]" for p in odd),
        *(f"{q['not_quiet']} of {q['points']} protocol points kept a sample beside foreign load "
          f"({q['discarded_samples']} samples discarded and retaken; at most {q['foreign_cores_max']:.2f} foreign cores)"
          for q in quiet),
    )
    text = " ".join(VALIDATION.read_text().split())
    assert [f for f in figures if f not in text] == []


# -- what the README states about the code ----------------------------------------------------
def test_workload_sizes_are_the_readmes():
    """The "What is measured" table's sizes, against the workloads' full-size constants."""
    from bench_lib.workloads import convolve2d, filter_bank, interpolators, model_inference
    from bench_lib.workloads import volume_gaussian as vg

    assert filter_bank.N_FILTERS == 3
    assert filter_bank.SHAPES["full"] == {"5x5": (512, 5, "valid"), "511x511": (512, 511, "full")}
    assert (convolve2d.SIDE["full"], convolve2d.FILTER, convolve2d.STEP, convolve2d.STRONG_BATCH) == (3000, 4, 5, 4)
    assert vg.SHAPE["full"] == (50, 1104, 1104) and vg.TILES["full"] ** 2 == 16
    assert vg.SIGMA == 3 and vg.halo_for() == 12
    assert (interpolators.COUNT, interpolators.GRIDS, interpolators.POINTS["full"]) == (50, (50, 300, 530), 1_000_000)
    assert interpolators.CHUNKS == ("125K", "250K", "500K", "1000K", "unlimited")
    assert (model_inference.BATCH["full"], model_inference.ROUNDS["full"]) == (10_000, 3)
    from bench_lib.workloads import models

    assert (models.SIDE, models.CLASSES) == (28, 10)  # 784 inputs, 10 outputs
    assert "keras.layers.Dense(512, " in Path(models.__file__).read_text()
    text = " ".join(METHOD.read_text().split())
    for phrase in ("3000x3000 float64 image, 4x4 filters", "(50,1104,1104) float32 volume in 16 tiles with a 12-voxel halo",
                   "50 `RectBivariateSpline`", "at 1,000,000 points", "`grid`: 50, 300, 530",
                   "one batch of 10,000 28x28 images per worker per round, 3 rounds", "(784→512→10)"):
        assert phrase in text, phrase


def test_interpolators_pickle_to_the_readmes_sizes():
    import pickle

    from bench_lib.workloads.interpolators import Interpolators

    sizes = [len(pickle.dumps(Interpolators(g, n_points=10), protocol=pickle.HIGHEST_PROTOCOL)) / 1e6
             for g in (50, 300, 530)]
    assert [round(s) for s in sizes] == [1, 36, 113]
    assert "(the object pickles to 1, 36, 113 MB; 50 and 530: `--profile extended`)" in " ".join(METHOD.read_text().split())


def test_worker_counts_are_powers_of_two_up_to_the_cores(monkeypatch):
    from bench_lib import config

    monkeypatch.delenv("PARBENCH_MAX_WORKERS", raising=False)
    for cores, counts in [(1, [1]), (2, [1, 2]), (6, [1, 2, 4, 6]), (8, [1, 2, 4, 8])]:
        monkeypatch.setattr(config, "physical_cores", lambda c=cores: c)
        monkeypatch.setattr(config, "usable_cpus", lambda c=cores: c)
        assert config.worker_counts() == counts


def test_settings_defaults_are_the_readmes(monkeypatch):
    from bench_lib import config
    from bench_lib.backends import dask as dask_backend
    from bench_lib.backends import ray as ray_backend
    from bench_lib.workloads import model_inference

    for name in ("PARBENCH_SIZE", "PARBENCH_THREADS_PER_WORKER", "PARBENCH_MP_START", "PARBENCH_POINT_CAP_S",
                 "PARBENCH_RAY_OBJECT_STORE_MB", "PARBENCH_DASK_WORKER_MEMORY_MB", "PARBENCH_CACHE",
                 "XDG_CACHE_HOME", "PARBENCH_MAX_WORKERS", "PARBENCH_BATCH_S"):
        monkeypatch.delenv(name, raising=False)
    assert config.size() == "full" and config.point_cap_s() == 60 and config.batch_s() == 60
    monkeypatch.setenv("PARBENCH_SIZE", "small")
    assert config.point_cap_s() == 10
    assert config.threads_per_worker() == 1 and config.mp_start_method() == "fork"
    assert config.max_workers() == config.usable_cpus()
    assert config.cache_dir() == Path.home() / ".cache" / "parbench"
    mb = 1024**2
    for total, store in [(8 * 1024 * mb, int(8 * 1024 * 0.3)), (64 * 1024 * mb, 4096)]:
        monkeypatch.setattr(config, "total_memory", lambda t=total: t)
        assert ray_backend._object_store_bytes() == store * mb
        assert dask_backend._worker_memory(2) == int(total * 0.6 / 2 / mb) * mb
    # TensorFlow's threads: PARBENCH_THREADS_PER_WORKER in workers, every usable CPU for tf-threads
    assert model_inference.tf_threads("per-worker") == (1, 1)
    assert model_inference.tf_threads("tf-threads") == (config.usable_cpus(),) * 2


def test_timeouts_are_the_readmes():
    """The "a task hangs" row of "When things go wrong": asv's default and each class's own."""
    from bench_lib import cli

    text = TROUBLESHOOTING.read_text()
    row = re.search(r"`default_benchmark_timeout` (\d+) s in `asv.conf.json`; classes with long "
                    r"full-size runs set their own \(([^)]*)\)", text)
    assert row, "the timeouts row of docs/troubleshooting.md changed: update this test"
    conf = (ROOT / "asv.conf.json").read_text()
    assert re.search(r'"default_benchmark_timeout":\s*(\d+)', conf).group(1) == row.group(1)
    stated = {}
    for group in row.group(2).split(";"):
        names, seconds = re.fullmatch(r"\s*(.*?) (\d+) s\s*", group).groups()
        for name in names.split(","):
            stated[name.strip()] = int(seconds)
    classes = {cls.__name__: cls for cls, _methods in asv_classes.discover(ROOT)}
    actual = {name: int(cls.timeout) for name, cls in classes.items() if hasattr(cls, "timeout")}
    assert set(stated) <= set(classes), set(stated) - set(classes)
    assert actual == stated  # every class with a timeout of its own is listed, with it


def test_setup_runs_the_workload_once_except_the_interpolators(monkeypatch):
    from bench_lib import backends, harness, workloads
    from bench_lib.measure import runs

    monkeypatch.setenv("PARBENCH_SIZE", "small")
    assert workloads.get("interpolators").warm_before_timing is False
    assert all(workloads.get(name).warm_before_timing for name in workloads.names() if name != "interpolators")
    calls = []
    real = workloads.Workload.run

    def counted(self, *args, **kwargs):
        if self.name == "filter_bank":
            calls.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(workloads.Workload, "run", counted)
    monkeypatch.setattr(runs, "_primed", set())
    try:
        run = harness.prepare("filter_bank", "serial", 1, "naive", filter_size="5x5")
        assert len(calls) == 1  # setup ran it once
        harness.prepare("filter_bank", "serial", 1, "naive", filter_size="5x5")
        assert len(calls) == 1  # a second setup of the same combination does not
        run()
        assert len(calls) == 2
    finally:
        backends.close_all()


def test_integrity_hashes_are_kept_only_where_the_copy_is_byte_identical(tmp_path):
    from bench_lib.publish import site

    url, local = next((u, v) for u, v in site.CDN.items() if v.endswith(".js"))
    digest = base64.b64encode(hashlib.sha384((site.VENDOR / local).read_bytes()).digest()).decode()
    good = f'<script src="{url}" integrity="sha384-{digest}" crossorigin="anonymous"></script>'
    bad = f'<script src="{url}" integrity="sha384-{"A" * 64}" crossorigin="anonymous"></script>'
    (tmp_path / "index.json").write_text(json.dumps({"benchmarks": {}}))
    (tmp_path / "index.html").write_text(f"<html><head>{good}</head></html>")
    (tmp_path / "other.html").write_text(f"<html><head>{bad}</head></html>")
    assert site.localize(tmp_path) == [url, url]
    kept, dropped = (tmp_path / "index.html").read_text(), (tmp_path / "other.html").read_text()
    assert f'src="vendor/{local}" integrity="sha384-{digest}"' in kept
    assert f'src="vendor/{local}"' in dropped and "integrity" not in dropped and url not in dropped


def test_model_rebuild_trains_and_saves_again(tmp_path):
    """`model` keeps what is there; `model --rebuild` replaces it with a freshly trained one
    (a real build in a subprocess, as the README shows it)."""
    import zipfile

    from bench_lib.workloads import models

    env = {**os.environ, "PARBENCH_CACHE": str(tmp_path), "TF_CPP_MIN_LOG_LEVEL": "2"}
    stale = b"not a model, but present"
    (tmp_path / models.MODEL_FILE).write_bytes(stale)
    (tmp_path / models.IMAGES_FILE).write_bytes(stale)

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "bench_lib", "model", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=models.BUILD_TIMEOUT + 60)

    shown = cli()
    assert shown.returncode == 0 and "built in" not in shown.stdout
    assert (tmp_path / models.MODEL_FILE).read_bytes() == stale
    rebuilt = cli("--rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr[-2000:]
    assert re.search(r"built in \d+\.\d s", rebuilt.stdout)
    assert zipfile.is_zipfile(tmp_path / models.MODEL_FILE)
    import numpy as np

    images = np.load(tmp_path / models.IMAGES_FILE)
    assert images.ndim == 3 and images.shape[1:] == (models.SIDE, models.SIDE)
    assert not math.isnan(float(images.mean()))


def test_engine_versions_are_the_pinned_ones():
    """"Engine versions side by side": the current stack is constraints.txt's, the matrix
    holds the two stacks, and its excludes leave exactly those two environments."""
    import itertools

    conf = json.loads(re.sub(r"^\s*//.*$", "", (ROOT / "asv.conf.json").read_text(), flags=re.M))
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", (ROOT / "constraints.txt").read_text(), re.M))
    current = {"ray": "2.60.0", "dask": "2026.8.0", "distributed": "2026.8.0", "joblib": "1.6.0"}
    previous = {"ray": "2.55.1", "dask": "2026.1.2", "distributed": "2026.1.2", "joblib": "1.5.3"}
    assert {k: pins[k] for k in current} == current
    req = conf["matrix"]["req"]
    assert {k: req[k] for k in current} == {k: [current[k], previous[k]] for k in current}
    names = sorted(current)
    excluded = [e["req"] for e in conf["exclude"]]
    left = [dict(zip(names, combo)) for combo in itertools.product(*(req[n] for n in names))
            if not any(all(dict(zip(names, combo))[k] == v for k, v in e.items()) for e in excluded)]
    assert sorted(left, key=str) == sorted([current, previous], key=str)
    text = " ".join(REGRESSIONS.read_text().split())
    assert "(Ray 2.60.0, Dask/distributed 2026.8.0, joblib 1.6.0, as in `constraints.txt`)" in text
    assert "(Ray 2.55.1, Dask/distributed 2026.1.2, joblib 1.5.3)" in text


def took_by_class(folder: Path) -> dict[tuple[str, str], float]:
    """Each benchmark's wall time in a machine's runs, by (run id, class name) (measured.jsonl)."""
    return {(e["run"], e["benchmark"].split(".")[1]): e["took_s"]
            for e in map(json.loads, (folder / "measured.jsonl").read_text().splitlines())}


def test_the_readmes_speedups_and_gaps_in_one_measurement_are_the_committed_results():
    """The run that measured Ratios and Gap together, against the earlier runs of each."""
    text = " ".join(METHOD.read_text().split())
    folder = ROOT / "results" / "vm-2core-24gb-xeon"
    took = took_by_class(folder)
    assert (round(took[("42cc5ba5-20261130T163600", "Ratios")]), round(took[("42cc5ba5-20261130T172235", "Ratios")]),
            round(took[("72511f1b-20261201T231447", "Gap")])) == (1865, 1784, 1625)
    assert "Ratios alone took 1865 s and 1784 s at the same cap" in text and "Gap 1625 s at a cap of 40 s" in text
    new = "92370b79-20261202T025611"
    assert (round(took[(new, "Gap")] / 60), round(took[(new, "Ratios")])) == (47, 5)
    wall = [e["wall_s"] for e in map(json.loads, (folder / "sysinfo.jsonl").read_text().splitlines()) if e.get("run") == new]
    assert [round(w) for w in wall] == [2825] and "both classes took 2825 s together" in text
    rows = [json.loads(line) for line in (folder / "points.jsonl").read_text().splitlines()]

    def of(run, kind):
        return {(r["workload"], r["backend"]): r for r in rows if (r.get("run"), r.get("kind")) == (run, kind)}

    def overlap(a, b):
        return not (a["ci"][1] < b["ci"][0] or b["ci"][1] < a["ci"][0])

    gaps, before = of(new, "gap"), of("72511f1b-20261201T231447", "gap")
    assert len(gaps) == 27 and all(overlap(gaps[k], before[k]) for k in gaps)
    inside = sum(before[k]["ci"][0] <= gaps[k]["value"] <= before[k]["ci"][1] for k in gaps)
    assert inside == 24 and "All 27 gaps' intervals overlap those of the pairs' (24 of the 27 values lie inside them)" in text
    speedups, earlier = of(new, "speedup"), of("42cc5ba5-20261130T172235", "speedup")
    apart = sorted(k for k in speedups if not overlap(speedups[k], earlier[k]))
    assert len(speedups) == 35 and apart == [("filter_bank", "joblib-threading"), ("filter_bank", "threads")]
    assert "33 of 35 speedups overlap" in text
    for backend, now, then in (("threads", "1.56x", "1.67x"), ("joblib-threading", "1.32x", "1.42x")):
        k = ("filter_bank", backend)
        assert (f"{speedups[k]['value']:.2f}x", f"{earlier[k]['value']:.2f}x") == (now, then)
        assert f"{backend} {now} against {then}" in text


def test_the_readmes_volume_rerun_figures_are_the_committed_results():
    """The VolumeGaussian re-run with cached inputs against the run before it: durations
    from the ledger, the ratio of every timed value, the watched combinations' load."""
    text = " ".join(RUNNING.read_text().split())
    folder = ROOT / "results" / "vm-2core-24gb-xeon"
    old, new = "bb94859e-20261201T235757", "896ad4e6-20261202T094418"
    took = {}
    for entry in map(json.loads, (folder / "measured.jsonl").read_text().splitlines()):
        if entry["benchmark"].startswith("volume_gaussian.VolumeGaussian."):
            took[entry["run"]] = took.get(entry["run"], 0.0) + entry["took_s"]
    name = "volume_gaussian.VolumeGaussian.time_volume_gaussian"
    before, after = ([json.loads((folder / f"{run[:8]}-existing-py_work_main_.venv_bin_python.json").read_text())
                      for run in (old, new)])
    column = before["result_columns"].index("result")
    pairs = [(a, b) for a, b in zip(before["results"][name][column], after["results"][name][column])
             if a is not None and b is not None and not (math.isnan(a) or math.isnan(b))]
    ratios = sorted(b / a for a, b in pairs)
    median = (ratios[len(ratios) // 2] + ratios[(len(ratios) - 1) // 2]) / 2
    quiet = {e["run"]: e["quiet"] for e in map(json.loads, (folder / "sysinfo.jsonl").read_text().splitlines())
             if e.get("run") in (old, new)}
    assert len(pairs) == 30
    assert (f"VolumeGaussian's two methods took {round(took[new])} s (run `{new}`" in text
            and f"against {round(took[old])} s in run `{old}`" in text), (took, "README")
    assert f"(median {median:.2f}x the earlier run's, {ratios[0]:.2f}-{ratios[-1]:.2f}x)" in text, ratios
    assert f"{quiet[new]['windows_not_quiet']} of {quiet[new]['windows']} timed combinations" in text
    assert f"{quiet[old]['windows_not_quiet']} of its {quiet[old]['windows']} watched combinations" in text


def test_the_readmes_runs_across_a_day_of_the_host_are_the_committed_results():
    """The A/A pair seven hours apart: compare's agreement and regressions, the serial
    baselines' ratios and the gaps' agreement worked from points.jsonl with the same rule
    (within 5%, or intervals that overlap)."""
    text = " ".join(VALIDATION.read_text().split())
    first, second = "92370b79-20261202T025611", "0ea1de8f-20261202T100241"
    out = subprocess.run([sys.executable, "-m", "bench_lib", "compare", first, second, "--factor", "1.2"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300).stdout
    assert "agreement: 24 of 35 speedups within 5% or with overlapping intervals (69%)" in out
    assert "24 of 35 agree within 5% or with overlapping intervals (69%" in text
    fell = re.findall(r"not gated scaling\.Ratios\.track_speedup\(workload='(\w+)', backend='([\w-]+)'", out)
    assert sorted(fell) == sorted(("filter_bank", b) for b in ("threads", "loky", "joblib-threading",
                                                             "joblib-multiprocessing"))
    assert "REGRESSION" not in out and "host changed: serial" in out
    assert "Four filter_bank speedups fell past `--factor 1.2`" in text
    assert "calls none of them a regression and exits 3" in text
    assert "recommended for filter_bank: threads -> threads" in out
    rows = [json.loads(line) for line in (ROOT / "results" / "vm-2core-24gb-xeon" / "points.jsonl").read_text().splitlines()]

    def of(run, kind):
        return {(r["workload"], r["backend"]): r for r in rows if r.get("run") == run and r["kind"] == kind}

    a, b = of(first, "speedup"), of(second, "speedup")
    shorter = [a[k]["other_time_s"] / b[k]["other_time_s"] for k in a]
    assert f"is {min(shorter):.2f}x to {max(shorter):.2f}x shorter" in text
    ga, gb = of(first, "gap"), of(second, "gap")
    agree = sum(abs(gb[k]["value"] / ga[k]["value"] - 1) <= 0.05
                or (ga[k]["ci"][0] <= gb[k]["ci"][1] and gb[k]["ci"][0] <= ga[k]["ci"][1]) for k in ga)
    assert f"Gaps: {agree} of {len(ga)} agree." in text
    quiet = {e["run"]: e["quiet"] for e in map(json.loads, (ROOT / "results" / "vm-2core-24gb-xeon" / "sysinfo.jsonl")
                                                 .read_text().splitlines()) if e.get("run") in (first, second)}
    assert quiet[first]["not_quiet"] == quiet[second]["not_quiet"] == 0


def test_traces_on_the_speedups_engines_are_the_committed_run():
    """The README's figures for run ea5bb7e6 (traces taken on the speedups' warm engines),
    recomputed from the committed traces.jsonl, measured.jsonl and sysinfo.jsonl."""
    folder, run = ROOT / "results" / "vm-2core-24gb-epyc", "ea5bb7e6-20261203T121110"
    lines = [line for line in (folder / "traces.jsonl").read_text().splitlines() if json.loads(line)["run"] == run]
    tasks = sum(len(json.loads(line)["spans"]) for line in lines)
    took = took_by_class(folder)
    [info] = [r for r in map(json.loads, (folder / "sysinfo.jsonl").read_text().splitlines()) if r["run"] == run]
    q = info["quiet"]
    gap = round(took[(run, "Gap")])
    figures = (
        f"`scaling.Traces` took {took[(run, 'Traces')]:.1f} s for its {len(lines)} points",
        f"{took[('f00cc1cb-20261202T124624', 'Traces')]:.0f} s in run `f00cc1cb`",
        f"Its {len(lines)} traces ({tasks} tasks)",
        f"which took {gap // 60}m{gap % 60:02d}s (Gap; Ratios read its points back in {took[(run, 'Ratios')]:.1f} s)",
        f"Run total {info['wall_s']:.0f} s",
        f"{q['not_quiet']} of its {q['points']} protocol points kept a sample beside foreign load "
        f"({q['discarded_samples']} samples discarded and retaken), {q['imprecise']} stopped imprecise",
    )
    text = " ".join(RUNNING.read_text().split())
    assert [f for f in figures if f not in text] == []


def test_the_readmes_tie_stability_is_the_scripts():
    """The A/A pairs' recommendations recomputed from the first rounds only: the README's
    counts are what ``docs/tie_stability.py`` prints, and at all the rounds they are the
    counts docs/validation.md gives for each pair (3 of 5 on the Xeon, 3 of 5 on the EPYC)."""
    out = subprocess.run([sys.executable, str(ROOT / "docs" / "tie_stability.py")], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    counts = [re.findall(r"rounds: (\d) of 5", line) for line in out.splitlines()]
    assert [c[-1] for c in counts] == ["3", "3"], out
    text = " ".join(VALIDATION.read_text().split())
    assert (f"the same in both runs for {', '.join(counts[0][:-1])} and {counts[0][-1]} of 5 workloads in the Xeon pair "
            f"above, and {', '.join(counts[1][:-1])} and {counts[1][-1]} of 5 in this pair") in text
    paired = re.findall(r"paired between backends: (\d) of 5", out)
    assert len(set(paired)) == 1 and f"gives {paired[0]} of 5 in each pair (the same script)" in text



def test_the_generated_docs_pages_are_what_the_results_give():
    """``make docs`` has been run since results/ or docs/generate.py last changed."""
    out = subprocess.run([sys.executable, str(ROOT / "docs" / "generate.py"), "--check"], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr


def _generate():
    import importlib.util

    spec = importlib.util.spec_from_file_location("generate", ROOT / "docs" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_generated_region_replaces_only_the_lines_between_its_markers():
    generate = _generate()
    text = "a\n<!-- t -->\nold 1\nold 2\n<!-- /t -->\nb\n"
    assert generate.with_region(text, "<!-- t -->", "<!-- /t -->", ["new"]) == "a\n<!-- t -->\nnew\n<!-- /t -->\nb\n"
    assert generate.hours(3 * 3600 + 29.6 * 60) == "3h29m"  # as the plan prints it: minutes rounded down


def test_the_readmes_plan_table_is_the_plan_commands_totals():
    """The README's 48-core row holds what ``run --plan-only --fresh --cores 48`` prints
    for the same series, engines per point (a second path: the command, not plan.summary),
    its total and its range; one row per instance size."""
    generate = _generate()
    readme = (ROOT / "README.md").read_text().splitlines()
    start, end = readme.index(generate.PLAN_BEGIN), readme.index(generate.PLAN_END)
    rows = readme[start + 3:end]
    assert [int(r.split("|")[1]) for r in rows] == [cores for cores, _ in generate.INSTANCES]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARBENCH_")}
    out = subprocess.run([sys.executable, "-m", "bench_lib", "run", "--plan-only", "--fresh", "--cores", "48",
                          "--machine", generate.PLAN_MACHINE], cwd=ROOT, capture_output=True, text=True,
                         timeout=300, env=dict(env, PARBENCH_ENGINES="per-point")).stdout
    total = re.search(r"^  total .*~ *(\d+h\d\dm)$", out, re.M).group(1)
    low, high = re.search(r"^  range ~(\d+h\d\dm) to ~(\d+h\d\dm): engine starts", out, re.M).groups()
    [row] = [r for r in rows if r.startswith("| 48 |")]
    assert row.split("|")[5].strip() == f"~{total} ({low} to {high})"


def test_a_figure_in_a_sentence_is_written_from_the_results():
    """Run 72511f1b's sysinfo line says wall_s 2474.7: the figure reads "2475 s", whatever
    stood between the markers; a figure nobody defined is an error, not a blank."""
    generate = _generate()
    text = "took <!-- fig:wall 72511f1b-20261201T231447 -->9 s<!-- /fig -->, done"
    assert generate.with_figures(text) == "took <!-- fig:wall 72511f1b-20261201T231447 -->2475 s<!-- /fig -->, done"
    with pytest.raises(KeyError):
        generate.with_figures("<!-- fig:nothing -->1<!-- /fig -->")


def test_forecast_pages_start_fit_rows_are_the_two_point_lines():
    """With Startup's 1- and 2-worker starts t1, t2 alone, the least-squares line is the
    line through them: b = t2 - t1, a = 2 t1 - t2, start at 48 = a + 48 b; its range runs
    from t2 (flat) to 24 t2 (proportional). Checked for Ray on the EPYC series (Startup
    alone; StartGrowth's 4 and 8 workers were never measured there), from asv's values read
    apart from bench_lib.run.starts."""
    from bench_lib.results import asv_results

    [epyc] = [m for m in asv_results.load(ROOT / "results") if m.name == "vm-2core-24gb-epyc"]
    assert "overhead.StartGrowth.track_start_growth" not in epyc.series
    t1, t2 = (epyc.value("overhead.Startup.track_start", backend="ray", n_workers=n) for n in (1, 2))
    a, b = 2 * t1 - t2, t2 - t1
    text = (ROOT / "docs" / "forecast.md").read_text()
    row = f"| vm-2core-24gb-epyc | ray | 1: {t1:.2f}, 2: {t2:.2f} | {a:.2f} | {b:.3f} | {a + 48 * b:.1f} [{t2:.1f}, {24 * t2:.1f}] |"
    assert row in text.splitlines()


def test_the_allocator_pages_half_widths_are_the_points_medians():
    """One cell worked from points.jsonl by hand: run 42cc5ba5-20261130T172235's
    interpolators speedups, their half-widths' median."""
    rows = [json.loads(line) for line in (ROOT / "results" / "vm-2core-24gb-xeon" / "points.jsonl").read_text().splitlines()]
    widths = sorted(r["half_width"] for r in rows if r.get("run") == "42cc5ba5-20261130T172235"
                    and r["kind"] == "speedup" and r["workload"] == "interpolators")
    middle = (widths[(len(widths) - 1) // 2] + widths[len(widths) // 2]) / 2
    line = next(line for line in (ROOT / "docs" / "allocator.md").read_text().splitlines()
                if line.startswith("| 42cc5ba5-20261130T172235 |"))
    assert f"| {middle:.1%} |" in line


# -- the README and the pages as prose --------------------------------------------------------
FIRST_PERSON = re.compile(r"\b(I|[Ww]e|[Mm]y|[Oo]ur|[Uu]s)\b(?!-)")  # us-east-1 is a region


def prose(text: str) -> str:
    """Markdown without its fenced code blocks, inline code and link targets."""
    text = re.sub(r"(?ms)^```.*?^```[^\n]*$", "", text)
    text = re.sub(r"(?m)^    .*$", "", text)  # indented code blocks
    text = re.sub(r"`[^`\n]*`", "", text)
    return re.sub(r"\]\([^)]*\)", "]", text)


def first_person(text: str) -> list[str]:
    return [line for line in prose(text).splitlines() if FIRST_PERSON.search(line)]


def test_no_page_speaks_in_the_first_person():
    pages = [README, *sorted(DOCS.glob("*.md"))]
    assert {p.name: first_person(p.read_text()) for p in pages if first_person(p.read_text())} == {}


def test_the_first_person_check_catches_a_sentence_and_spares_code():
    assert first_person("Then we ran it.\nI cloned it.\nOur pool.") == ["Then we ran it.", "I cloned it.", "Our pool."]
    assert first_person("in us-east-1; worker i\n`we` and\n```sh\nI=1 we\n```\n    our = 1\n") == []


def test_the_readme_is_a_short_guide_with_every_page_linked():
    text = README.read_text()
    assert len(text.splitlines()) <= 250
    for page in sorted(DOCS.glob("*.md")):
        assert f"(docs/{page.name})" in text, page.name
    assert not re.search(r"\bissue \d+", text)


def test_the_settings_table_lists_every_setting_the_help_lists():
    """The README points to ``python -m bench_lib --help`` for the settings; docs/running.md's
    table says more about each, and leaves none out."""
    out = subprocess.run([sys.executable, "-m", "bench_lib", "--help"], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, check=True).stdout
    listed = set(re.findall(r"^  (PARBENCH_[A-Z_]+) ", out, re.M))
    assert "PARBENCH_SIZE" in listed
    table = set(re.findall(r"^\| `(PARBENCH_[A-Z_]+)` \|", RUNNING.read_text(), re.M))
    assert listed <= table, listed - table
