"""The model_inference model: a small Keras MLP built on first use and cached on disk.

Nothing is downloaded. Images are synthetic but MNIST-shaped (28x28 uint8): each class
is a fixed pattern of blobs, shifted, scaled and noised per image, so a model trained one
epoch on them predicts every class, not one. The model (``mnist_mlp.keras``, Keras's
native format) and the images it classifies (``test_images.npy``) live in
:func:`bench_lib.config.cache_dir`, where users can see and delete them.

Building imports TensorFlow, which is not fork-safe: a process that later forks a
``multiprocessing`` pool whose workers use TensorFlow must never have loaded it. So
:func:`ensure_model` builds in a subprocess (``python -m bench_lib.workloads.models build``) and
the caller -- asv's benchmark process, pytest -- stays free of TensorFlow. Files are
written to a temporary name and renamed, so an interrupted build never leaves half a model.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

from bench_lib import config
from bench_lib.workloads import data

MODEL_FILE = "mnist_mlp.keras"
IMAGES_FILE = "test_images.npy"
SIDE, CLASSES = 28, 10
TRAIN_SAMPLES = 12_000
TEST_SAMPLES = 16_384  # not a multiple of any batch: consecutive batches differ
SEED = 7
REBUILD = "python -m bench_lib model --rebuild"
BUILD_TIMEOUT = 600.0


class ModelError(RuntimeError):
    """The cached model cannot be used; the message names the file and how to rebuild it."""


class ModelMissingError(ModelError):
    pass


class ModelCorruptError(ModelError):
    pass


# -- synthetic MNIST-shaped images (numpy only) ---------------------------------------------
def templates() -> np.ndarray:
    """One (28, 28) float pattern per class: three gaussian blobs at class-specific places."""
    r = data.rng(6, SEED)
    yy, xx = np.mgrid[0:SIDE, 0:SIDE].astype(np.float32)
    out = np.zeros((CLASSES, SIDE, SIDE), dtype=np.float32)
    for c in range(CLASSES):
        for cy, cx, s in zip(r.uniform(7, 21, 3), r.uniform(7, 21, 3), r.uniform(1.5, 3.5, 3)):
            out[c] += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s))
    return out / out.max(axis=(1, 2), keepdims=True)


def digits(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` images (uint8, (count, 28, 28)) and their labels, from a fixed seed."""
    r = data.rng(6, SEED, count, seed)
    labels = r.integers(0, CLASSES, count).astype(np.uint8)
    images = templates()[labels] * r.uniform(0.6, 1.0, (count, 1, 1)).astype(np.float32)
    shifts = r.integers(-3, 4, (count, 2))
    for dy, dx in {tuple(s) for s in shifts.tolist()}:
        chosen = (shifts[:, 0] == dy) & (shifts[:, 1] == dx)
        images[chosen] = np.roll(images[chosen], (dy, dx), axis=(1, 2))
    images += 0.25 * r.standard_normal(images.shape, dtype=np.float32)
    return (np.clip(images, 0, 1) * 255).astype(np.uint8), labels


# -- the cache --------------------------------------------------------------------------------
def model_path(directory: Path | None = None) -> Path:
    return Path(directory or config.cache_dir()) / MODEL_FILE


def images_path(directory: Path | None = None) -> Path:
    return Path(directory or config.cache_dir()) / IMAGES_FILE


def ensure_model(rebuild: bool = False) -> Path:
    """The model file, built first (in a subprocess) if it or the images are missing."""
    directory = config.cache_dir()
    if not rebuild and model_path(directory).is_file() and images_path(directory).is_file():
        return model_path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with _locked(directory):  # a second caller waits, then finds the files
        if rebuild or not (model_path(directory).is_file() and images_path(directory).is_file()):
            _build_in_subprocess(directory)
    return model_path(directory)


@contextlib.contextmanager
def _locked(directory: Path):
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _build_in_subprocess(directory: Path) -> None:
    package_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    cmd = [sys.executable, "-m", "bench_lib.workloads.models", "build", str(directory)]
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise ModelError(f"building the model in {directory} took over {BUILD_TIMEOUT:.0f} s") from None
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise ModelError(f"building the model in {directory} failed:\n{tail}")


def clear() -> list[Path]:
    """Delete the cached model and images; they are rebuilt on next use."""
    removed = []
    for path in (model_path(), images_path()):
        if path.exists():
            path.unlink()
            removed.append(path)
    return removed


def build(directory: Path) -> dict:
    """Train and save the model and the test images (imports TensorFlow: run in a subprocess)."""
    started = time.perf_counter()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    x_test, _ = digits(TEST_SAMPLES, seed=2)
    tmp = directory / f"{IMAGES_FILE}.{os.getpid()}.tmp.npy"
    np.save(tmp, x_test)
    os.replace(tmp, images_path(directory))

    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    model = keras.Sequential([
        keras.Input((SIDE, SIDE)),
        keras.layers.Flatten(),
        keras.layers.Dense(512, activation="relu"),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(CLASSES, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x_train, y_train = digits(TRAIN_SAMPLES, seed=1)
    history = model.fit(x_train.astype(np.float32) / 255, y_train, epochs=1, batch_size=128,
                        verbose=0)
    tmp = directory / f"{MODEL_FILE}.{os.getpid()}.tmp.keras"  # Keras wants the suffix
    model.save(tmp)
    os.replace(tmp, model_path(directory))
    return {"path": str(model_path(directory)), "seconds": time.perf_counter() - started,
            "train_accuracy": float(history.history["accuracy"][-1])}


# -- what workers call ------------------------------------------------------------------------
def load_model(path: str | Path):
    """The Keras model at ``path``, or a :class:`ModelError` that says how to rebuild it."""
    path = Path(path)
    if not path.is_file():
        raise ModelMissingError(
            f"no model at {path}: build it with `python -m bench_lib model` "
            f"(the model_inference benchmarks build it on first use)"
        )
    if not zipfile.is_zipfile(path):  # Keras would say "File not found" about it
        raise ModelCorruptError(
            f"model file {path} is not a .keras archive (truncated or overwritten?); "
            f"rebuild it with `{REBUILD}`"
        )
    import keras

    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as exc:
        raise ModelCorruptError(
            f"model file {path} is unreadable ({type(exc).__name__}: {str(exc)[:200]}); "
            f"rebuild it with `{REBUILD}`"
        ) from None


def load_images(path: str | Path) -> np.ndarray:
    """The cached test images, checked like the model."""
    path = Path(path)
    if not path.is_file():
        raise ModelMissingError(f"no test images at {path}: build them with `python -m bench_lib model`")
    try:
        images = np.load(path)
    except Exception as exc:
        raise ModelCorruptError(
            f"test images {path} are unreadable ({type(exc).__name__}: {exc}); rebuild with `{REBUILD}`"
        ) from None
    if images.ndim != 3 or images.shape[1:] != (SIDE, SIDE) or images.dtype != np.uint8:
        raise ModelCorruptError(
            f"test images {path} have shape {images.shape} {images.dtype}, not (n, 28, 28) "
            f"uint8; rebuild with `{REBUILD}`"
        )
    return images


def self_check(directory: Path | None = None, count: int = 1000) -> list[int]:
    """Load the cached model and images and classify ``count`` images: images per class."""
    model = load_model(model_path(directory))
    images = load_images(images_path(directory))[:count]
    scores = model.predict(images.astype(np.float32) / 255, verbose=0)
    return np.bincount(scores.argmax(axis=1), minlength=CLASSES).tolist()


def configure_tensorflow(intra: int, inter: int) -> tuple[int, int]:
    """Fix TensorFlow's intra-/inter-op thread pools in this process before they exist.

    TensorFlow reads both once, when its runtime starts (the first operation); asking
    again for the same values is free, asking for different ones later is an error that
    says what this process already runs with.
    """
    import tensorflow as tf

    threading = tf.config.threading
    try:
        threading.set_intra_op_parallelism_threads(intra)
        threading.set_inter_op_parallelism_threads(inter)
    except RuntimeError:
        raise ModelError(
            f"TensorFlow in process {os.getpid()} already runs with intra_op="
            f"{threading.get_intra_op_parallelism_threads()}, inter_op="
            f"{threading.get_inter_op_parallelism_threads()} threads; cannot switch to "
            f"({intra}, {inter}): one thread setting per process"
        ) from None
    return intra, inter


def command(wipe: bool = False, rebuild: bool = False, check: bool = False) -> None:
    """``python -m bench_lib model``: show the cache (built if missing), or rebuild, clear (``wipe``)
    or check it; a ModelError says what is wrong."""
    if wipe:
        removed = clear()
        print(f"model cache: {config.cache_dir()}")
        print(f"removed {', '.join(p.name for p in removed) or 'nothing (already empty)'}; "
              "the next benchmark run (or this command without --clear) builds it again")
        return
    started = time.perf_counter()
    built = rebuild or not model_path().is_file() or not images_path().is_file()
    path = ensure_model(rebuild=rebuild)
    print(f"model cache: {path.parent}")
    for item in (path, images_path(path.parent)):
        print(f"  {item.name}  {item.stat().st_size / 1e6:.1f} MB")
    if built:
        print(f"built in {time.perf_counter() - started:.1f} s")
    if check:
        per_class = self_check(path.parent)
        print(f"loads and classifies: {sum(per_class)} images, per class {per_class}")


def main(argv: list[str] | None = None) -> int:
    """``python -m bench_lib.workloads.models build DIR``: what :func:`ensure_model` runs."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2 or argv[0] != "build":
        print("usage: python -m bench_lib.workloads.models build DIRECTORY", file=sys.stderr)
        return 2
    result = build(Path(argv[1]))
    print(f"built {result['path']} in {result['seconds']:.1f} s "
          f"(training accuracy {result['train_accuracy']:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
