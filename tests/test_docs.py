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
import subprocess
import sys
from pathlib import Path

import asv_classes
import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
METHOD, RUNNING = DOCS / "method.md", DOCS / "running.md"
REGRESSIONS, TROUBLESHOOTING, CONTRIBUTING = DOCS / "regressions.md", DOCS / "troubleshooting.md", DOCS / "contributing.md"
PNG = "docs/report.png"


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


def test_a_a_pairs_are_runs_of_one_commit_and_their_table_is_worked_by_hand(monkeypatch):
    """docs/validation.md's pairs: two runs of one commit with a point in common, never an
    upgrade check's stacks; each run's row: precise points, rounds, the median relative
    half-width (0.05/1.0, 0.2/2.0, 0.3/1.5 -> 5%, 10%, 20%: median 10%), retaken samples
    and points kept beside load."""
    generate = _generate()

    def speedup(run, backend, value, low, high, pairs, **extra):
        return {"kind": "speedup", "run": run, "workload": "w", "backend": backend, "n_workers": 2, "value": value,
                "ci": [low, high], "pairs": pairs, **extra}

    a, b, c, up = "abc-20260101T000000", "abc-20260101T010000", "def-20260101T020000", "abc-upgrade-new"
    records = [speedup(a, "t", 1.0, 0.95, 1.05, 40, precise=True, discarded=2),
               speedup(a, "r", 2.0, 1.8, 2.2, 3, discarded=1, quiet=False),
               speedup(a, "l", 1.5, 1.2, 1.8, 5),
               speedup(b, "t", 1.0, 0.9, 1.1, 7), speedup(c, "t", 1.0, 0.9, 1.1, 7), speedup(up, "t", 1.0, 0.9, 1.1, 7),
               {"kind": "gap", "run": c, "workload": "w", "backend": "t", "n_workers": 2, "value": 1.0, "ci": [1, 1]}]
    speedups = generate.speedup_records(records)
    assert generate.aa_pairs(speedups) == [(a, b)]
    monkeypatch.setattr(generate, "run_line", lambda run: {"wall_s": 1830.0})
    rows = generate.run_rows(speedups, (a,))
    assert rows[2] == f"| {a} | 30 | 3 | 1 | 3-40 | 10.0% | 3 | 1 |"


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
    from t2 (flat) to 24 t2 (proportional). Checked for Ray on the first series, which is
    no longer measured (Startup alone; StartGrowth's 4 and 8 workers were never measured
    there), from asv's values read apart from bench_lib.run.starts."""
    from bench_lib.results import asv_results

    [first] = [m for m in asv_results.load(ROOT / "results") if m.name == "vm-2core-24gb"]
    assert "overhead.StartGrowth.track_start_growth" not in first.series
    t1, t2 = (first.value("overhead.Startup.track_start", backend="ray", n_workers=n) for n in (1, 2))
    assert t2 > t1  # else the slope is clamped at 0 and the line is not this one
    a, b = 2 * t1 - t2, t2 - t1
    text = (ROOT / "docs" / "forecast.md").read_text()
    row = f"| vm-2core-24gb | ray | 1: {t1:.2f}, 2: {t2:.2f} | {a:.2f} | {b:.3f} | {a + 48 * b:.1f} [{t2:.1f}, {24 * t2:.1f}] |"
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
