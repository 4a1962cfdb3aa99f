"""Large shared state: 50 ``RectBivariateSpline`` interpolators, 1,000,000 query points.

The work per interpolator k is ``sum(exp(f_k.ev(xi, yi)))``; the answer is the total over
k. What makes it slow in parallel is not the arithmetic but the object: its pickled size
grows with the grid (g=50: ~1 MB, g=300: ~36 MB, g=530: ~113 MB), and the way people
first write it -- ``pool.map(self.total, range(50))`` -- pickles the whole object with
every task (or every chunk of tasks, where the engine batches them).

Variants: ``pickle-self`` submits a bound method of the object per interpolator;
``shared`` places the object once with the engine's own mechanism (fork-inherited pool
initializer, joblib memory map, ``ray.put``, Dask scatter) and tasks carry an index;
``batched`` still submits a bound method but one task per worker, each summing a
contiguous range of k, so the object travels ``n_workers`` times. On backends that share
memory (serial, threads) nothing is pickled and only task granularity differs.

The query points are generated from a fixed seed in each process that needs them (never
shipped; ~15 ms once per process), so transfer cost is the object's alone. ``chunk`` evaluates them in slices of
that many points inside each task: smaller slices keep ``ev``'s temporaries in cache.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy.interpolate import RectBivariateSpline

from bench_lib.workloads import data, Inputs, SHARED, Variant, Workload

COUNT = 50
GRIDS = (50, 300, 530)  # the grid parameter: sets the pickled size of the object
POINTS = {"full": 1_000_000, "small": 20_000}
GRID_SCALE = {"full": 1, "small": 10}  # small size: g/10 points per axis
# Query points per ev() call inside a task; "unlimited" is one call on all points
# (at the full 1,000,000 points, 1000K and unlimited are the same run: a noise check).
CHUNKS = ("125K", "250K", "500K", "1000K", "unlimited")


class Interpolators:
    """``count`` bilinear interpolators on a ``grid`` x ``grid`` mesh over the unit square."""

    def __init__(self, grid: int, n_points: int, count: int = COUNT, chunk: int | None = None):
        axis = np.linspace(0.0, 1.0, grid)
        r = data.rng(4, grid, count)
        self.splines = [
            RectBivariateSpline(axis, axis, 0.5 * r.standard_normal((grid, grid)), kx=1, ky=1)
            for _ in range(count)
        ]
        self.n_points = n_points
        self.chunk = chunk

    def total(self, k: int) -> float:
        """``sum(exp(f_k(x, y)))`` over the query points, ``chunk`` points per ev() call."""
        xi, yi = data.points(self.n_points)
        spline, step = self.splines[k], self.chunk or self.n_points
        return math.fsum(
            float(np.exp(spline.ev(xi[a:a + step], yi[a:a + step])).sum())
            for a in range(0, self.n_points, step)
        )

    def range_total(self, span: tuple[int, int]) -> float:
        """The totals of interpolators ``lo <= k < hi``: one task's work."""
        lo, hi = span
        return math.fsum(self.total(k) for k in range(lo, hi))


def range_total(obj: Interpolators, span: tuple[int, int]) -> float:
    """The ``shared`` task: the object arrives as the engine placed it."""
    return obj.range_total(span)


def spans(count: int, parts: int) -> list[tuple[int, int]]:
    """``count`` indices cut into ``parts`` contiguous ranges (one per worker)."""
    edges = np.linspace(0, count, min(parts, count) + 1).astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


def run_pickle_self(_wl, backend, inputs: Inputs, _name: str) -> float:
    return math.fsum(backend.map(inputs.data.range_total, inputs.items))


def run_batched(_wl, backend, inputs: Inputs, _name: str) -> float:
    parts = spans(len(inputs.data.splines), backend.n_workers)
    return math.fsum(backend.map(inputs.data.range_total, parts))


def chunk_points(chunk: str, n_points: int) -> int | None:
    """``"250K"`` as a number of points, scaled to the configured number of points."""
    if chunk == "unlimited":
        return None
    return max(1, int(chunk.removesuffix("K")) * 1000 * n_points // POINTS["full"])


@lru_cache(maxsize=4)
def build(size: str, grid: int = GRIDS[0], chunk: str = "unlimited") -> Inputs:
    n_points = POINTS[size]
    obj = Interpolators(max(grid // GRID_SCALE[size], 2), n_points, chunk=chunk_points(chunk, n_points))
    return Inputs(obj, [(k, k + 1) for k in range(COUNT)], {"grid": grid, "chunk": chunk})


def fitpack_probe():
    """One point of a 4 x 4 spline: a call as short as FITPACK's get, through the same
    process-wide ``FITPACK_LOCK`` every ``ev`` of a task takes (SciPy serialises them)."""
    axis = np.linspace(0.0, 1.0, 4)
    tiny, at = RectBivariateSpline(axis, axis, np.zeros((4, 4)), kx=1, ky=1), np.array([0.5])
    return lambda: tiny.ev(at, at)


WORKLOAD = Workload(
    name="interpolators",
    tasks=COUNT,
    build=build,
    task=range_total,
    reduce=math.fsum,
    headline="interpolators.Interpolators.time_interpolators",
    modules=("numpy", "scipy.interpolate"),
    params={"grid": GRIDS, "chunk": CHUNKS},
    # g=300 (36 MB pickled): the size at which real programs went 10x slower.
    representative={"grid": 300},
    variants=(SHARED, Variant("pickle-self", run_pickle_self), Variant("batched", run_batched)),
    gap_pair=("pickle-self", "shared"),
    warm_before_timing=False,  # a run takes 10-40 s; workers are warm and the object is placed in setup
    lock_probe=fitpack_probe,
)
