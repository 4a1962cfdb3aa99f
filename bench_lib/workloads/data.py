"""Deterministic inputs, built once per process (``lru_cache``) from fixed seeds.

Nothing is downloaded: images and volumes are synthetic but image-like (smooth structure
plus noise), so convolution and filtering do realistic amounts of work. The large ones are
also built once per machine: asv gives every point a process of its own, and the volume
took 4.4-4.8 s of each point's setup to build, 0.06 s to load (``python -m bench_lib.workloads.data``).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import os
import tempfile
from functools import lru_cache

import numpy as np

from bench_lib import config

SEED = 20261122


def on_disk(build):
    """``build(*args)``'s array, kept in the cache folder under a name that changes with
    ``build``'s code, its arguments and the numpy and scipy that made it, so a stale file is
    never read. Written whole (a rename), so a killed build leaves no half file; a file
    that cannot be read is built again."""
    import scipy

    code = inspect.getsource(build)

    @functools.wraps(build)
    def cached(*args):
        key = hashlib.sha256(repr((code, args, np.__version__, scipy.__version__)).encode()).hexdigest()[:16]
        path = config.cache_dir() / "inputs" / f"{build.__name__}-{key}.npy"
        try:
            array = np.load(path)
        except (OSError, ValueError, EOFError):
            array = build(*args)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, staged = tempfile.mkstemp(dir=path.parent, suffix=".npy.part")
            with os.fdopen(fd, "wb") as out:
                np.save(out, array)
            os.replace(staged, path)
        array.setflags(write=False)
        return array

    return cached


def rng(*salt: int) -> np.random.Generator:
    return np.random.default_rng([SEED, *salt])


@lru_cache(maxsize=8)
@on_disk
def image(n: int, seed: int = 0) -> np.ndarray:
    """An ``n x n`` float64 image: low-frequency structure plus noise, read-only."""
    r = rng(1, n, seed)
    coarse = r.standard_normal((max(n // 32, 2), max(n // 32, 2)))
    from scipy.ndimage import zoom

    smooth = zoom(coarse, n / coarse.shape[0], order=3)[:n, :n]
    img = smooth + 0.1 * r.standard_normal((n, n))
    img.setflags(write=False)
    return img


@lru_cache(maxsize=8)
def filters(count: int, size: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    """``count`` random-normal ``size x size`` filters."""
    r = rng(2, count, size, seed)
    out = tuple(r.standard_normal((size, size)) for _ in range(count))
    for f in out:
        f.setflags(write=False)
    return out


@lru_cache(maxsize=2)
@on_disk
def volume(shape: tuple[int, int, int], seed: int = 0) -> np.ndarray:
    """A float32 volume in [-1, 1]: smooth blobs plus noise, like a microscopy stack."""
    from scipy.ndimage import zoom

    r = rng(3, *shape, seed)
    coarse_shape = (max(shape[0] // 5, 2), max(shape[1] // 48, 2), max(shape[2] // 48, 2))
    coarse = r.standard_normal(coarse_shape).astype(np.float32)
    smooth = zoom(coarse, [s / c for s, c in zip(shape, coarse_shape)], order=1)
    vol = smooth[: shape[0], : shape[1], : shape[2]]
    vol += 0.2 * r.standard_normal(shape, dtype=np.float32)
    lo, hi = vol.min(), vol.max()
    vol = (2 * (vol - lo) / (hi - lo) - 1).astype(np.float32)
    vol.setflags(write=False)
    return vol


@lru_cache(maxsize=2)
def points(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` uniform query points in the unit square, as (x, y) arrays."""
    r = rng(5, n, seed)
    xy = r.random((2, n))
    xy.setflags(write=False)
    return xy[0], xy[1]
