"""The allocator discipline reaches every process that runs work, and faults are counted per
sample where they happen. Expected counts are worked by hand: re-touching a 100 MiB block that
glibc maps afresh costs one fault per 4 KiB page, 100 * 2**20 / 4096 = 25,600."""

import os
import subprocess
import sys

import pytest

from bench_lib import backends, config
from bench_lib.backends import allocator
from bench_lib.measure import protocol, ratios

PAGES_100_MIB = 100 * 2**20 // 4096  # 25,600
PROBE = "from bench_lib.backends import allocator; allocator.apply(); print(allocator.probe())"


def probe_in_fresh_python(**env) -> int:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    out = subprocess.run([sys.executable, "-c", PROBE], env={**clean, **env}, capture_output=True, text=True,
                         check=True, timeout=60)
    return int(out.stdout.strip())


def test_glibcs_default_maps_a_large_block_afresh_each_time():
    assert probe_in_fresh_python(PARBENCH_MALLOC="default") >= PAGES_100_MIB


def test_the_fixed_discipline_keeps_it_through_mallopt_alone():
    assert probe_in_fresh_python(PARBENCH_MALLOC="fixed") < PAGES_100_MIB // 10


def test_the_fixed_discipline_keeps_it_through_the_environment_alone():
    """What ``run`` gives asv: the variables, read by glibc when a process starts (no mallopt:
    the discipline named is default, so :func:`allocator.apply` does nothing)."""
    faults = probe_in_fresh_python(PARBENCH_MALLOC="default", **allocator.ENVIRONMENT)
    assert faults < PAGES_100_MIB // 10


ENGINE_PROBE = """
import sys
from bench_lib import backends
from bench_lib.backends import allocator
with backends.get(sys.argv[1], 2) as engine:
    engine.warm(("numpy",))
    print(max(engine.map(allocator.probe, [100] * 4)))
"""


@pytest.mark.parametrize("name", ["threads", "multiprocessing", "loky", "joblib-multiprocessing", "dask", "ray"])
def test_every_engines_workers_run_under_the_fixed_discipline(name, no_children_left):
    """Checked in the worker itself (its engine may start it with an environment of its own),
    in a Python started as ``run`` starts asv: with the discipline's variables. Thread arms
    need them from the start: an arena limit set by mallopt after threads exist is not
    taken (glibc fixes it at the first extra arena)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    out = subprocess.run([sys.executable, "-c", ENGINE_PROBE, name], env={**clean, **allocator.environment(clean)},
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert int(out.stdout.split()[-1]) < PAGES_100_MIB // 10, out.stdout


def test_a_workers_compute_faults_reach_the_callers_meter(tmp_path, no_children_left):
    """A fresh worker's first touch of 100 MiB faults its pages in, inside the task: the meter
    sees them as compute faults, and among all faults of the sample. At least 90% of them:
    a forked worker may find a few MB of the block free in the heap it inherited."""
    meter = allocator.Meter(str(tmp_path))
    with backends.get("multiprocessing", 1) as engine:
        engine.warm(("numpy",))
        engine.faults_in = str(tmp_path)
        before = meter.read()
        engine.map(allocator.probe, [100])
        sample = meter.delta(before, meter.read())
    assert sample["compute"] >= 0.9 * PAGES_100_MIB
    assert sample["minor"] >= sample["compute"]
    assert list(tmp_path.iterdir())  # the worker's tally file


def test_delta_counts_new_processes_from_zero_and_ended_ones_not_at_all():
    before = {1: (10, 1, 4, 0), 2: (5, 0, 5, 0)}
    after = {1: (30, 1, 9, 0), 3: (7, 2, 3, 1)}  # 2 ended, 3 started
    assert allocator.delta(before, after) == {"minor": 20 + 7, "major": 0 + 2, "compute": 5 + 3,
                                              "compute_major": 1}


class CountingMeter:
    """A meter whose every read is 100 faults on from the last (in one process)."""

    def __init__(self):
        self.n = 0

    def read(self):
        self.n += 100
        return {1: (self.n, 0, self.n // 2, 0)}

    delta = staticmethod(allocator.delta)


class LoudThenQuiet:
    """A guard whose first sample sees foreign load and the rest do not."""

    def __init__(self):
        self.samples = 0

    def snapshot(self):
        return None

    def load(self, before, after):
        self.samples += 1
        return protocol.Load(1.0, 5.0 if self.samples == 1 else 0.0, 0.0)


def test_a_kept_sample_keeps_its_own_faults_and_a_discarded_ones_go():
    out = protocol.Measurement({"a": []})
    protocol.guarded(lambda: None, LoudThenQuiet(), iter(range(100)).__next__, 3, out, CountingMeter(), "a")
    # reads 100, 200 (discarded sample), 300, 400 (kept): its delta is 100 faults, 50 compute
    assert out.discarded == 1
    assert out.faults == {"a": [{"minor": 100, "major": 0, "compute": 50, "compute_major": 0}]}


def test_a_point_carries_each_sides_faults_and_the_discipline(monkeypatch):
    monkeypatch.setenv("PARBENCH_MALLOC", "default")
    m = protocol.Measurement({"serial": [2.0, 2.0], "threads": [1.0, 1.0]})
    m.faults = {"serial": [{"minor": 7, "major": 1, "compute": 6, "compute_major": 0}] * 2,
                "threads": [{"minor": 0, "major": 0, "compute": 0, "compute_major": 0}] * 2}
    point = ratios.record("speedup", "serial", "threads", m, workload="w", backend="threads", n_workers=1)
    assert point["malloc"] == "default"
    assert point["faults"] == {"top": {"minor": [7, 7], "major": [1, 1], "compute": [6, 6]},
                               "bottom": {"minor": [0, 0], "major": [0, 0], "compute": [0, 0]}}


def test_a_point_without_a_meter_has_no_faults_and_the_default_discipline_is_fixed(monkeypatch):
    monkeypatch.delenv("PARBENCH_MALLOC", raising=False)
    m = protocol.Measurement({"alone": [1.0, 1.0], "together": [1.0, 1.0]})
    point = ratios.record("ceiling", "alone", "together", m)
    assert "faults" not in point and point["malloc"] == "fixed"


def test_an_unknown_discipline_is_one_clear_error(monkeypatch):
    monkeypatch.setenv("PARBENCH_MALLOC", "jemalloc")
    with pytest.raises(config.ConfigError, match="PARBENCH_MALLOC='jemalloc': use one of fixed, default"):
        allocator.discipline()


def test_a_default_run_starts_its_processes_without_any_malloc_variable():
    env = {"PATH": "/bin", "MALLOC_ARENA_MAX": "4", "GLIBC_TUNABLES": "glibc.malloc.trim_threshold=1",
           "PARBENCH_MALLOC": "default"}
    assert {**allocator.without(env), **allocator.environment(env)} == {"PATH": "/bin", "PARBENCH_MALLOC": "default"}
    fixed = {**allocator.without({"PATH": "/bin"}), **allocator.environment({"PATH": "/bin"})}
    assert fixed == {"PATH": "/bin", "MALLOC_MMAP_THRESHOLD_": str(2**30), "MALLOC_TRIM_THRESHOLD_": str(2**30),
                     "MALLOC_ARENA_MAX": "1"}


def test_sysinfo_says_how_faults_were_shaped():
    info = allocator.settings({"PARBENCH_MALLOC": "fixed"})
    assert info["discipline"] == "fixed" and info["malloc_env"]["MALLOC_ARENA_MAX"] == "1"
    with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
        assert info["thp_enabled"] == f.read().strip()


def test_your_own_loop_under_glibcs_default_pays_faults_the_fixed_discipline_does_not(monkeypatch, no_children_left):
    """convolve2d's small loop works on arrays of 320 KB and more (its 200x200 float image),
    above glibc's 128 KiB mmap threshold: the default maps them afresh every call (80 faults
    of 4 KiB for the image's size alone, more for the padded result), the fixed discipline
    reuses its heap. The two loops run in processes of their own."""
    monkeypatch.setenv("PARBENCH_POINT_CAP_S", "0.5")
    monkeypatch.setenv("PARBENCH_GUARD", "off")
    point = ratios.default_malloc_cost("convolve2d")
    median = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
    default, fixed = (median(point["faults"][side]["compute"]) for side in ("top", "bottom"))
    assert default >= 200 and fixed <= default / 10, (default, fixed)
    assert point["kind"] == "malloc" and point["variant"] == "default/fixed malloc" and point["pairs"] >= 3
