"""model_inference: serial predicts what the model's forward pass written out in numpy
predicts, and every backend and variant predicts what serial predicts; the model cache.

TensorFlow stays out of pytest's process: other tests fork ``multiprocessing`` pools
from it, and TensorFlow is not fork-safe. Whatever loads it runs in spawned children, one
per group of combinations that may share a process (tests/process_groups.py); the model
itself is built in a subprocess, in the session's own cache (conftest).
"""

import concurrent.futures as cf
import multiprocessing
import os
import shutil
import subprocess
import sys
import zipfile
from itertools import groupby

import numpy as np
import psutil
import pytest

from bench_lib import backends, harness
from bench_lib.backends import affinity
from bench_lib.workloads import model_inference as mi, models
from model_checks import check, reference
from process_groups import model_inference as process_group
from test_workloads import model_logits, model_mismatches, worker_counts

TIMEOUT = 600


def cases():
    """(backend, n_workers, variant, pinned) for every meaningful combination at the worker
    counts that run different code (tests/test_workloads.py); two of them pinned: actors
    created pinned (ray), and a forked pool."""
    out = [
        (b, n, v, False)
        for b in backends.names()
        for n in sorted(worker_counts(b), reverse=True)  # a caller that loads TensorFlow (joblib n=1) never forks after
        for v in harness.variants("model_inference")
        if harness.unsupported("model_inference", b, n, v) is None
    ]
    pinned = {("ray", 2, "actors"), ("multiprocessing", 2, "per-worker")}
    return [(b, n, v, (b, n, v) in pinned) for b, n, v, _ in out]


def groups():
    keyed = sorted(cases(), key=lambda c: (c[0] != "serial", repr(process_group(*c)), -c[1]))
    return [pytest.param(list(combos), id=f"{key[0]}-{'workers' if key[1] is None else 'caller'}"
                         + ("" if key[1] is None else f"{key[1][0]}threads"))
            for key, combos in groupby(keyed, key=lambda c: process_group(*c))]


def spawned():
    return cf.ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))


def shut(pool):
    """Close the child's engines first: a multiprocessing child joins its non-daemon
    children (loky's workers idle 300 s) before atexit would close them."""
    try:
        pool.submit(backends.close_all).result(TIMEOUT)
    finally:
        pool.shutdown(wait=True)


@pytest.fixture(autouse=True)
def resource_tracker():
    """This process's multiprocessing resource tracker, running when every test starts.

    Started by the first spawned child, it serves every child after it, so it is not a
    test's leftover (``no_children_left``). A process backend closed here stops it
    (``stop_resource_trackers``): without this, the next test to spawn a child would start
    it again and be blamed for it, and which test that is depends on the order they run in.
    """
    from multiprocessing import resource_tracker as tracker

    tracker.ensure_running()
    yield


@pytest.fixture(scope="module")
def model(model_cache):
    """The session's model, built here if no test did yet (a subprocess: no TF in pytest)."""
    return models.ensure_model()


@pytest.fixture(scope="module")
def serial_child(model):
    """The child that computes the reference; serial's own variants reuse it."""
    pool = spawned()
    try:
        yield pool, pool.submit(reference).result(TIMEOUT)
    finally:
        shut(pool)


# -- without TensorFlow ------------------------------------------------------------------
def test_workers_keep_their_model_until_a_new_generation(monkeypatch):
    """per-worker state without TensorFlow: loads are counted with stand-ins."""
    loads = []
    monkeypatch.setattr(mi.models, "configure_tensorflow", lambda intra, inter: None)
    monkeypatch.setattr(mi.models, "load_model", lambda path: loads.append(path) or object())
    monkeypatch.setattr(mi.models, "load_images", lambda path: np.zeros((1, 28, 28), np.uint8))
    monkeypatch.setattr(mi, "_held", mi.threading.local())
    batches = mi.Batches("model.keras", "images.npy", 1)
    first = mi.held(batches, (1, 1))
    assert mi.held(batches, (1, 1))[0] is first[0]
    assert len(loads) == 1
    fresh = mi.held(batches, (1, 1), generation="g1")
    assert fresh[0] is not first[0] and len(loads) == 2
    assert mi.held(batches, (1, 1), generation="g1")[0] is fresh[0]
    assert mi.held(batches, (1, 1))[0] is fresh[0] and len(loads) == 2  # steady state reuses
    mi.held(mi.Batches("other.keras", "images.npy", 1), (1, 1))
    assert len(loads) == 3
    with backends.get("serial", 1) as b:
        with pytest.raises(ValueError, match="runs on ray only"):
            mi.fresh(b, mi.Inputs(batches, [0]), "actors")


def test_pinning_sets_and_restores_every_worker_thread(no_children_left):
    cores = sorted(os.sched_getaffinity(0))
    with backends.get("loky", 2) as b:
        b.warm(("numpy",))
        plan = affinity.pin(b)
        assert sorted(plan) == b.worker_pids
        for i, pid in enumerate(b.worker_pids):
            assert affinity.affinity(pid) == [[cores[i % len(cores)]]]
            assert psutil.Process(pid).cpu_affinity() == [cores[i % len(cores)]]
        affinity.unpin(b)
        for pid in b.worker_pids:
            assert affinity.affinity(pid) == [cores]
    assert "runs tasks in the caller" in affinity.pin_unsupported("threads", 2)
    assert "in the caller" in affinity.pin_unsupported("loky", 1)
    assert affinity.pin_unsupported("multiprocessing", 1) is None
    with backends.get("serial", 1) as b, pytest.raises(NotImplementedError):
        affinity.pin(b)


def test_process_groups_keep_tensorflow_settings_apart():
    assert process_group("serial", 1, "reload") != process_group("serial", 1, "tf-threads")
    assert process_group("loky", 2, "reload") == ("loky", None)
    assert process_group("loky", 1, "reload") != ("loky", None)
    assert process_group("threads", 2, "per-worker") == process_group("threads", 1, "reload")


# -- predictions -----------------------------------------------------------------------------
def test_model_inference_stays_out_of_this_process(model):
    inputs = mi.WORKLOAD.inputs("small", n_workers=2)
    assert inputs.items == [0, 1, 2, 3] and inputs.data.size == mi.BATCH["small"]
    assert "tensorflow" not in sys.modules and "keras" not in sys.modules


def test_reference_is_a_real_classifier(serial_child):
    _, ref = serial_child
    assert ref.shape == (4 * mi.BATCH["small"],) and ref.dtype == np.int8
    # Varied classes, mostly the right ones (labels come from the same generator).
    _, labels = models.digits(models.TEST_SAMPLES, seed=2)
    assert len(np.unique(ref)) == models.CLASSES
    assert (ref == labels[: ref.size]).mean() > 0.6


def test_reference_equals_a_forward_pass_written_in_numpy(serial_child):
    """The serial answer itself against relu(x W1 + b1) W2 + b2 from the model's weights
    (numpy, float64): every backend's predictions are compared with it below."""
    pool, ref = serial_child
    inputs = mi.WORKLOAD.inputs("small", n_workers=2)
    logits = pool.submit(model_logits, inputs.data, inputs.items).result(TIMEOUT)
    assert logits.shape == (ref.size, models.CLASSES)
    assert model_mismatches(ref, logits) == 0


@pytest.mark.parametrize("combos", groups())
def test_predictions_equal_serial(combos, serial_child, no_children_left):
    pool, ref = serial_child
    own = None if combos[0][0] == "serial" and combos[0][2] != "tf-threads" else spawned()
    failures = []
    try:
        for backend, n_workers, variant, pinned in combos:
            out = (own or pool).submit(check, backend, n_workers, variant, pinned).result(TIMEOUT)
            size = n_workers * mi.ROUNDS["small"] * mi.BATCH["small"]
            for name, expect in (("steady", ref[:size]), ("first", ref[: size // mi.ROUNDS["small"]])):
                if not np.array_equal(out[name], expect):
                    failures.append(f"{backend} n={n_workers} {variant}: {name} differs in "
                                    f"{int((out[name] != expect).sum())} of {expect.size}")
            if pinned:
                cores = sorted(os.sched_getaffinity(0))
                assert out["plan"] and len(out["pinned"]) >= n_workers, out
                # every thread of every worker on one core, then all cores again
                assert all(len(sets) == 1 and len(sets[0]) == 1 for sets in out["pinned"].values()), out
                assert {sets[0][0] for sets in out["pinned"].values()} == set(cores[:n_workers]), out
                assert all(sets == [cores] for sets in out["restored"].values()), out
    finally:
        if own is not None:
            shut(own)
    assert not failures, failures


# -- the cache -------------------------------------------------------------------------------
def cli(*args, cache):
    env = {**os.environ, "PARBENCH_CACHE": str(cache), "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([sys.executable, "-m", "bench_lib", *args], env=env,
                          capture_output=True, text=True, timeout=TIMEOUT)


@pytest.fixture
def own_cache(model, tmp_path, monkeypatch):
    """A copy of the session's cache that a test may break."""
    for name in (models.MODEL_FILE, models.IMAGES_FILE):
        shutil.copy(model.parent / name, tmp_path / name)
    monkeypatch.setenv("PARBENCH_CACHE", str(tmp_path))
    return tmp_path


def test_cache_rebuilds_after_the_model_is_deleted(own_cache):
    path = own_cache / models.MODEL_FILE
    path.unlink()
    with pytest.raises(models.ModelMissingError, match="build it with `python -m bench_lib model`"):
        models.load_model(path)  # said before importing keras
    done = cli("model", "--check", cache=own_cache)  # builds (in a subprocess), then loads
    assert done.returncode == 0, done.stderr
    assert "built in" in done.stdout and "classifies: 1000 images" in done.stdout
    assert zipfile.is_zipfile(path) and not list(own_cache.glob("*.tmp*"))
    assert models.ensure_model() == path  # present now: nothing to build
    assert "tensorflow" not in sys.modules


@pytest.mark.parametrize("damage", ["truncated", "garbage", "bad-config"])
def test_a_corrupt_model_is_a_clear_error(own_cache, damage):
    path = own_cache / models.MODEL_FILE
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[: 100_000])
    elif damage == "garbage":
        path.write_bytes(os.urandom(3000))
    else:
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("config.json", "{not json")
    if damage != "bad-config":  # recognised without TensorFlow
        with pytest.raises(models.ModelCorruptError, match="model --rebuild"):
            models.load_model(path)
        return
    done = cli("model", "--check", cache=own_cache)
    assert done.returncode == 2
    assert f"model file {path} is unreadable" in done.stderr
    assert "python -m bench_lib model --rebuild" in done.stderr and "Traceback" not in done.stderr


def test_model_command_clears_the_cache(own_cache):
    done = cli("model", "--clear", cache=own_cache)
    assert done.returncode == 0 and "removed mnist_mlp.keras, test_images.npy" in done.stdout
    assert not (own_cache / models.MODEL_FILE).exists()
    assert not (own_cache / models.IMAGES_FILE).exists()
    with pytest.raises(models.ModelMissingError, match="no model at"):
        models.load_model(own_cache / models.MODEL_FILE)
