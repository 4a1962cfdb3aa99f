"""Every workload gives the right answer on every backend and variant (small sizes).

"Right" is an oracle that shares no code with the workload's task: convolutions written
out as sums of shifted images in numpy, the unchunked ``ndimage.gaussian_filter`` of the
whole volume, scipy's ``RegularGridInterpolator`` on the splines' grid values, and the
model's forward pass written out in numpy from its weights. tests/test_benchmarks.py
checks each timed run against the same oracles.
"""

import functools
import math

import numpy as np
import psutil
import pytest
from scipy import ndimage, signal
from scipy.interpolate import RegularGridInterpolator

from bench_lib import backends, harness, workloads
from bench_lib.backends import BackendError
from bench_lib.workloads import data


# -- oracles -----------------------------------------------------------------------------------
def direct_convolution(image, kernel, mode="full"):
    """2-D convolution as a sum of shifted, scaled copies of the image (numpy only)."""
    (n, m), (k, l) = image.shape, kernel.shape
    full = np.zeros((n + k - 1, m + l - 1))
    for i in range(k):
        for j in range(l):
            full[i:i + n, j:j + m] += kernel[i, j] * image
    if mode == "full":
        return full
    assert mode == "valid"
    return full[k - 1:n, l - 1:m]


def filter_bank_oracle(inputs):
    return sum(direct_convolution(inputs.data, kernel, mode) for kernel, mode in inputs.items)


def convolve2d_oracle(inputs):
    """Each filter's full convolution, every 5th row and column from the first, summed."""
    return sum(direct_convolution(inputs.data, kernel)[0::5, 0::5] for kernel in inputs.items)


def volume_gaussian_oracle(inputs):
    return ndimage.gaussian_filter(inputs.data, 3.0)  # whole volume: no tiles, no halo


def interpolators_oracle(inputs):
    """sum(exp(f_k(x, y))) over k and the query points, each f_k evaluated by scipy's
    RegularGridInterpolator on the values its bilinear spline holds at the grid nodes."""
    obj = inputs.data
    xi, yi = data.points(obj.n_points)
    points = np.column_stack([xi, yi])
    total = 0.0
    for spline in obj.splines:
        tx, ty = spline.get_knots()  # kx = ky = 1: the grid axes, ends doubled
        values = spline.get_coeffs().reshape(len(tx) - 2, len(ty) - 2)
        f = RegularGridInterpolator((tx[1:-1], ty[1:-1]), values, method="linear")
        total += math.fsum(np.exp(f(points)))
    return total


@functools.lru_cache(maxsize=2)
def dense_weights(path):
    """[(W, b)] of the model's Dense layers, in order (Flatten and Dropout hold none)."""
    from bench_lib.workloads import models

    model = models.load_model(path)
    return [layer.get_weights() for layer in model.layers if layer.get_weights()]


def model_logits(batches, items):
    """Scores of every image of ``items`` batches by the model's forward pass written
    out in numpy (float64) from its Dense layers' weights: relu(x W1 + b1) W2 + b2.
    Loads the model with Keras: call it in a process that may hold TensorFlow."""
    from bench_lib.workloads import models

    (w1, b1), (w2, b2) = dense_weights(batches.model)
    images = models.load_images(batches.images)
    rows = np.concatenate([np.arange(i * batches.size, (i + 1) * batches.size) for i in items])
    x = images[rows % len(images)].reshape(len(rows), -1).astype(np.float64) / 255
    hidden = np.maximum(x @ w1 + b1, 0.0)
    return hidden @ w2 + b2  # softmax keeps the order: argmax of the logits


def model_mismatches(got, logits, margin=1e-4):
    """Predictions that differ from the numpy argmax where its top two scores are not a
    near-tie (float32 inside Keras may flip those)."""
    top2 = np.sort(logits, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > margin
    return int(((np.asarray(got) != logits.argmax(axis=1)) & clear).sum())


ORACLES = {"filter_bank": filter_bank_oracle, "convolve2d": convolve2d_oracle,
           "volume_gaussian": volume_gaussian_oracle, "interpolators": interpolators_oracle}
_answers: dict = {}


def expected(workload, inputs):
    """The oracle's answer for these inputs (computed once per inputs object)."""
    key = (workload, id(inputs))
    if key not in _answers:
        _answers[key] = (inputs, ORACLES[workload](inputs))  # inputs kept: ids stay unique
    return _answers[key][1]


def check_answer(workload, inputs, got):
    """``got`` is the oracle's answer to float rounding (float32 for the volume)."""
    want = expected(workload, inputs)
    if workload == "interpolators":
        assert got == pytest.approx(want, rel=1e-9)
        return
    assert np.shape(got) == np.shape(want)
    atol = 1e-6 if workload == "volume_gaussian" else 1e-9
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=atol)


def worker_counts(backend):
    """2, and 1 where one worker means tasks in the caller (other code than 2 workers). A
    worker engine's one-worker pool runs the code of its two-worker pool: it is checked
    against serial by tests/test_backends.py, not again with every workload and variant."""
    return (1, 2) if backends.backend_class(backend).in_caller(1) else (2,)


def cases(workload):
    """Every backend and variant, at the worker counts that run different code."""
    return [
        (b, n, v)
        for b in backends.names()
        for n in worker_counts(b)
        for v in harness.variants(workload)
        if harness.unsupported(workload, b, n, v) is None
    ]


def engine_of(item) -> tuple:
    """Tests' order (conftest): one engine's cases together, across the workloads."""
    params = getattr(item, "callspec", None)
    params = params.params if params else {}
    return params.get("backend", ""), params.get("n_workers", 0)


@pytest.fixture(scope="module", autouse=True)
def close_engines():
    yield
    backends.close_all()


@pytest.mark.parametrize("filter_size", ["5x5", "511x511"])
@pytest.mark.parametrize("backend,n_workers,variant", cases("filter_bank"))
def test_filter_bank_matches_direct_convolution(backend, n_workers, variant, filter_size):
    wl = workloads.get("filter_bank")
    inputs = wl.inputs("small", filter_size=filter_size)
    engine = backends.warm(backend, n_workers, wl.modules)
    check_answer("filter_bank", inputs, wl.run(engine, inputs, variant))


@pytest.mark.parametrize("filter_size", ["5x5", "511x511"])
def test_filter_bank_serial_is_a_direct_convolution(filter_size):
    """The reference itself checked against a different algorithm (direct, not FFT)."""
    wl = workloads.get("filter_bank")
    inputs = wl.inputs("small", filter_size=filter_size)
    direct = sum(signal.convolve2d(inputs.data, f, mode=mode) for f, mode in inputs.items)
    np.testing.assert_allclose(wl.reference_answer(inputs), direct, rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("scaling", ["weak", "strong"])
@pytest.mark.parametrize("backend,n_workers,variant", cases("convolve2d"))
def test_convolve2d_matches_direct_convolution(backend, n_workers, variant, scaling):
    wl = workloads.get("convolve2d")
    inputs = wl.inputs("small", n_workers=n_workers, scaling=scaling)
    assert len(inputs.items) == (n_workers if scaling == "weak" else 4)
    got = wl.run(backends.warm(backend, n_workers, wl.modules), inputs, variant)
    assert got.shape == (41, 41)  # a 200x200 image, a 4x4 filter: 203 rows, every 5th
    check_answer("convolve2d", inputs, got)


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
    err = np.abs(workloads.get("volume_gaussian").reference_answer(inputs) - unchunked)
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
def test_interpolators_total_matches_grid_interpolation(backend, n_workers, variant):
    wl = workloads.get("interpolators")
    inputs = wl.inputs("small", grid=300)
    got = wl.run(backends.warm(backend, n_workers, wl.modules), inputs, variant)
    check_answer("interpolators", inputs, got)


def test_interpolators_chunks_change_the_slicing_not_the_answer():
    wl = workloads.get("interpolators")
    for chunk in ("125K", "500K"):
        inputs = wl.inputs("small", grid=50, chunk=chunk)
        assert inputs.data.chunk < inputs.data.n_points  # really sliced
        check_answer("interpolators", inputs, wl.reference_answer(inputs))


def test_the_convolution_oracle_by_hand():
    image = np.array([[1.0, 2.0], [3.0, 4.0]])
    kernel = np.array([[1.0, 0.0], [0.0, -1.0]])
    # out[i, j] = sum over (a, b) of image[a, b] * kernel[i - a, j - b]
    full = np.array([[1.0, 2.0, 0.0], [3.0, 3.0, -2.0], [0.0, -3.0, -4.0]])
    np.testing.assert_array_equal(direct_convolution(image, kernel), full)
    np.testing.assert_array_equal(direct_convolution(image, kernel, "valid"), [[3.0]])
    ramp = np.arange(12.0).reshape(3, 4)  # a 1x2 difference filter on a ramp: all ones
    np.testing.assert_array_equal(direct_convolution(ramp, np.array([[1.0, -1.0]]), "valid"),
                                  np.ones((3, 3)))


def test_the_interpolation_oracle_reproduces_a_bilinear_function():
    """Both the workload's splines and the oracle interpolate bilinearly: on the grid
    values of 1 + 2x + 3y + 4xy they give it back exactly, anywhere in the square."""
    from scipy.interpolate import RectBivariateSpline

    from bench_lib.workloads.interpolators import Interpolators

    axis = np.linspace(0.0, 1.0, 7)
    x, y = np.meshgrid(axis, axis, indexing="ij")
    obj = Interpolators(7, 1000, count=2)
    obj.splines = [RectBivariateSpline(axis, axis, 1 + 2 * x + 3 * y + 4 * x * y, kx=1, ky=1),
                   RectBivariateSpline(axis, axis, np.zeros((7, 7)), kx=1, ky=1)]
    xi, yi = data.points(1000)
    by_hand = math.fsum(np.exp(1 + 2 * xi + 3 * yi + 4 * xi * yi)) + 1000.0  # exp(0) = 1
    assert interpolators_oracle(workloads.Inputs(obj, [])) == pytest.approx(by_hand, rel=1e-12)
    assert obj.range_total((0, 2)) == pytest.approx(by_hand, rel=1e-12)


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
    from bench_lib.backends import memory

    with backends.get("loky", 2) as b:
        b.warm()
        own = psutil.Process().memory_info().rss
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


def test_large_inputs_are_built_once_per_machine_and_a_bad_file_is_built_again(tmp_path, monkeypatch):
    monkeypatch.setenv("PARBENCH_CACHE", str(tmp_path))
    cached, build = data.volume.__wrapped__, data.volume.__wrapped__.__wrapped__
    first = cached((4, 50, 60))
    [path] = (tmp_path / "inputs").glob("volume-*.npy")
    assert np.array_equal(first, build((4, 50, 60))) and not first.flags.writeable
    # the next process reads the file, not the generator
    np.save(path, np.full((4, 50, 60), 7.0, np.float32))
    assert (cached((4, 50, 60)) == 7.0).all()
    # other arguments are another file
    cached((4, 50, 61))
    assert len(list((tmp_path / "inputs").glob("volume-*.npy"))) == 2
    # a file cut short is built again and replaced whole
    path.write_bytes(path.read_bytes()[:100])
    assert np.array_equal(cached((4, 50, 60)), build((4, 50, 60)))
    assert np.array_equal(np.load(path), first)
    assert not list((tmp_path / "inputs").glob("*.part"))


TOY_MODULE = '''
from bench_lib.workloads import Inputs, Workload

def build(size, scale="1"):
    return Inputs(data=int(scale), items=list(range(1, 11)), params={"scale": scale})

def task(data, item):
    return data * item * item

WORKLOAD = Workload(name="toy", build=build, task=task, reduce=sum, headline="toy_bench.Toy.time_toy",
                    modules=("math",), params={"scale": ("1", "3")}, representative={"scale": "3"})
'''

TOY_CHECK = '''
import sys
from bench_lib import backends, workloads
from benchmarks.scaling import Ratios
print(workloads.names())
wl = workloads.get("toy")
inputs = wl.inputs("small", scale="3")
with backends.get("threads", 2) as backend:
    print(wl.run(backend, inputs, "naive"), wl.run(backend, inputs, "shared"))
print("toy" in Ratios.params[0])
try:
    workloads.get("filter_bank2")
except ValueError as exc:
    print(exc)
'''


def test_a_workload_from_an_installed_plugin_is_registered_and_runs(tmp_path):
    """A package installed with an entry point in the ``parbench.workloads`` group adds its
    workload to the registry, so the generic benchmarks measure it; a seed workload's name
    cannot be taken over."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    package = tmp_path / "toy"
    package.mkdir()
    (package / "toy_workload.py").write_text(TOY_MODULE)
    (package / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "parbench-toy"\nversion = "0.1"\n\n'
        '[tool.setuptools]\npy-modules = ["toy_workload"]\n\n'
        '[project.entry-points."parbench.workloads"]\n'
        'toy = "toy_workload:WORKLOAD"\nfilter_bank = "toy_workload:WORKLOAD"\n')
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "--target", str(site), str(package)], check=True, capture_output=True)
    env = {**__import__("os").environ, "PYTHONPATH": f"{site}:{root}"}
    done = subprocess.run([sys.executable, "-c", TOY_CHECK], cwd=root, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    # the five seed workloads, then the plug-in; its second entry did not replace filter_bank
    assert lines[0] == str(["filter_bank", "convolve2d", "volume_gaussian", "interpolators", "model_inference",
                            "toy"])
    assert lines[1] == "1155 1155"  # 3 x (1 + 4 + ... + 100) = 3 x 385, on threads, both variants
    assert lines[2] == "True"  # scaling.Ratios takes it among its workloads
    assert lines[3].startswith("unknown workload 'filter_bank2'") and "toy" in lines[3]
