"""Every workload gives the serial answer on every backend and variant (small sizes)."""

import numpy as np
import pytest
from scipy import ndimage, signal

from bench_lib import backends, harness, workloads
from bench_lib.backends import BackendError

# Every process-based engine and one shared-memory one; all of them in test_benchmarks.
def cases(workload):
    return [
        (b, n, v)
        for b in backends.names()
        for n in (1, 2)
        for v in harness.variants(workload)
        if harness.unsupported(workload, b, n, v) is None
    ]


@pytest.fixture(scope="module", autouse=True)
def close_engines():
    yield
    backends.close_all()


@pytest.mark.parametrize("filter_size", ["5x5", "511x511"])
@pytest.mark.parametrize("backend,n_workers,variant", cases("filter_bank"))
def test_filter_bank_matches_serial(backend, n_workers, variant, filter_size):
    wl = workloads.get("filter_bank")
    inputs = wl.inputs("small", filter_size=filter_size)
    engine = backends.warm(backend, n_workers, wl.modules)
    got = wl.run(engine, inputs, variant)
    np.testing.assert_allclose(got, wl.serial(inputs), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("filter_size", ["5x5", "511x511"])
def test_filter_bank_serial_is_a_direct_convolution(filter_size):
    """The reference itself checked against a different algorithm (direct, not FFT)."""
    wl = workloads.get("filter_bank")
    inputs = wl.inputs("small", filter_size=filter_size)
    direct = sum(signal.convolve2d(inputs.data, f, mode=mode) for f, mode in inputs.items)
    np.testing.assert_allclose(wl.serial(inputs), direct, rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("scaling", ["weak", "strong"])
@pytest.mark.parametrize("backend,n_workers,variant", cases("convolve2d"))
def test_convolve2d_matches_serial(backend, n_workers, variant, scaling):
    wl = workloads.get("convolve2d")
    inputs = wl.inputs("small", n_workers=n_workers, scaling=scaling)
    assert len(inputs.items) == (n_workers if scaling == "weak" else 4)
    got = wl.run(backends.warm(backend, n_workers, wl.modules), inputs, variant)
    np.testing.assert_allclose(got, wl.serial(inputs), rtol=1e-10, atol=1e-10)


@pytest.fixture(scope="module")
def unchunked():
    """The whole small volume filtered in one call: what every chunked run must equal."""
    inputs = workloads.get("volume_gaussian").inputs("small")
    return ndimage.gaussian_filter(inputs.data, 3.0)


@pytest.mark.parametrize("backend,n_workers,variant", cases("volume_gaussian"))
def test_volume_gaussian_equals_unchunked_filter_voxel_for_voxel(backend, n_workers, variant, unchunked):
    wl = workloads.get("volume_gaussian")
    inputs = wl.inputs("small")
    got = wl.run(backends.warm(backend, n_workers, wl.modules), inputs, variant)
    assert got.shape == unchunked.shape and got.dtype == np.float32
    # float32 rounding, everywhere including chunk edges (the halo covers the radius)
    np.testing.assert_allclose(got, unchunked, rtol=0, atol=1e-6)


def test_a_too_small_halo_is_detected(unchunked):
    """Halo 9 < radius 12: wrong near internal tile edges only, far beyond float32 rounding."""
    from bench_lib.workloads import volume_gaussian as vg

    assert vg.halo_for(3.0, 4.0) == 12
    inputs = vg.build("small", halo=9)
    err = np.abs(workloads.get("volume_gaussian").serial(inputs) - unchunked)
    ny, nx = unchunked.shape[1:]
    near = np.zeros((ny, nx), dtype=bool)
    for t in inputs.items:
        for y in {t.y0, t.y1} - {0, ny}:
            near[max(y - 12, 0):y + 12, :] = True
        for x in {t.x0, t.x1} - {0, nx}:
            near[:, max(x - 12, 0):x + 12] = True
    assert err[:, near].max() > 1e-5
    assert err[:, ~near].max() <= 1e-6


@pytest.mark.parametrize("backend,n_workers,variant", cases("interpolators"))
def test_interpolators_total_matches_serial(backend, n_workers, variant):
    wl = workloads.get("interpolators")
    inputs = wl.inputs("small", grid=300)
    got = wl.run(backends.warm(backend, n_workers, wl.modules), inputs, variant)
    assert got == pytest.approx(wl.serial(inputs), rel=1e-9)


def test_interpolators_chunks_change_the_slicing_not_the_answer():
    wl = workloads.get("interpolators")
    whole = wl.serial(wl.inputs("small", grid=50))
    for chunk in ("125K", "500K"):
        inputs = wl.inputs("small", grid=50, chunk=chunk)
        assert inputs.data.chunk < inputs.data.n_points  # really sliced
        assert wl.serial(inputs) == pytest.approx(whole, rel=1e-12)


def test_interpolator_object_size_grows_with_the_grid():
    """The real object at the real grids (not the small size): 1 MB, >30 MB, ~113 MB."""
    import pickle

    from bench_lib.workloads.interpolators import Interpolators

    sizes = [len(pickle.dumps(Interpolators(g, n_points=10), protocol=5)) / 1e6 for g in (50, 300, 530)]
    assert sizes[0] < 2 < 30 < sizes[1] < sizes[2]
    assert sizes[2] > 100


def test_pickle_self_ships_the_object_with_every_task_and_shared_does_not():
    import pickle

    wl = workloads.get("interpolators")
    inputs = wl.inputs("small", grid=530)
    size = len(pickle.dumps(inputs.data, protocol=5))
    with backends.get("multiprocessing", 1) as b:
        per_task = b._task(inputs.data.range_total, None)  # what run_pickle_self submits
        assert len(pickle.dumps(per_task, protocol=5)) >= size
        placed = b._task(wl.task, b.share(inputs.data))
        assert len(pickle.dumps(placed, protocol=5)) < size / 100


def test_batched_spans_cover_every_interpolator_once():
    from bench_lib.workloads.interpolators import spans

    for parts in (1, 2, 3, 7, 50, 64):
        covered = [k for lo, hi in spans(50, parts) for k in range(lo, hi)]
        assert covered == list(range(50)) and len(spans(50, parts)) == min(parts, 50)


def test_memory_sampler_sees_worker_processes():
    from bench_lib import memory

    with backends.get("loky", 2) as b:
        b.warm()
        own = memory.psutil.Process().memory_info().rss
        assert memory.tree_rss() > own  # the workers' memory counts
        _, peak = memory.peak_tree_rss(lambda: b.map(np.ones, [(2000, 2000)] * 2))
        assert peak >= own


def test_bad_workload_input_is_rejected():
    with pytest.raises(ValueError, match="unknown workload .nope.; choose one of: filter_bank, convolve2d, volume_gaussian, interpolators"):
        workloads.get("nope")
    with pytest.raises(ValueError, match="filter_size='3x3'"):
        workloads.get("filter_bank").inputs("small", filter_size="3x3")
    with pytest.raises(ValueError, match="filter_bank has no variant .cached."):
        with backends.get("serial", 1) as b:
            workloads.get("filter_bank").run(b, workloads.get("filter_bank").inputs("small"), "cached")


def test_meaningless_combinations_are_skipped_not_failed():
    assert "shares memory" in harness.unsupported("filter_bank", "threads", 2, "shared")
    assert "exceeds 1" in harness.unsupported("filter_bank", "serial", 2, "naive")
    assert "runs on dask, threads only" in harness.unsupported("volume_gaussian", "loky", 2, "map_overlap")
    assert "no variant 'map_overlap'" in harness.unsupported("filter_bank", "dask", 2, "map_overlap")
    with pytest.raises(NotImplementedError):
        harness.prepare("filter_bank", "serial", 2, "naive", filter_size="5x5")
    with pytest.raises(BackendError, match="unknown backend"):
        harness.prepare("filter_bank", "mpi", 1, "naive", filter_size="5x5")
