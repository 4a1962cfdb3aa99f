"""Gaussian filtering of a (50, 1104, 1104) float32 volume in overlapping chunks.

The volume is cut into tiles across its two large axes; each task filters its tile plus a
halo and returns the tile's interior, which ``reduce`` stitches back. With a halo of at
least the filter's radius -- ``int(truncate * sigma + 0.5)``, 12 for sigma 3 and scipy's
default truncate 4.0 -- the stitched volume equals the unchunked filter to float32
rounding; a smaller halo (9 is a common choice) is wrong near tile edges.

Variants beyond naive (each task gets its own padded tile, cut and copied) and shared
(volume placed once, tasks carry tile bounds): ``map_overlap`` is what Dask users write
(``dask.array`` on the distributed cluster, or Dask's threaded scheduler on ``threads``),
and ``whole`` is one unchunked ``gaussian_filter`` call in the caller (the reference).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.ndimage import gaussian_filter

from bench_lib.workloads import data, Inputs, NAIVE, SHARED, Variant, Workload

SIGMA = 3.0
TRUNCATE = 4.0  # scipy's default
SHAPE = {"full": (50, 1104, 1104), "small": (6, 120, 120)}
TILES = {"full": 4, "small": 3}  # tiles per large axis: 16 tasks at full size


def halo_for(sigma: float = SIGMA, truncate: float = TRUNCATE) -> int:
    """The filter's radius in voxels, as scipy computes it: the halo a tile needs."""
    return int(truncate * sigma + 0.5)


@dataclass(frozen=True)
class Tile:
    """Interior bounds of one tile along axes 1 and 2, and the halo filtered around it."""

    y0: int
    y1: int
    x0: int
    x1: int
    halo: int
    shape: tuple[int, int, int]  # the whole volume's, to clip halos and stitch

    def padded(self) -> tuple[slice, slice, slice]:
        h, (_, ny, nx) = self.halo, self.shape
        return (slice(None), slice(max(self.y0 - h, 0), min(self.y1 + h, ny)),
                slice(max(self.x0 - h, 0), min(self.x1 + h, nx)))

    def interior(self) -> tuple[slice, slice, slice]:
        """Where the interior sits inside the padded block."""
        _, ys, xs = self.padded()
        return (slice(None), slice(self.y0 - ys.start, self.y1 - ys.start),
                slice(self.x0 - xs.start, self.x1 - xs.start))


def tiles(shape: tuple[int, int, int], per_axis: int, halo: int) -> list[Tile]:
    ys = np.linspace(0, shape[1], per_axis + 1).astype(int)
    xs = np.linspace(0, shape[2], per_axis + 1).astype(int)
    return [Tile(int(ys[i]), int(ys[i + 1]), int(xs[j]), int(xs[j + 1]), halo, shape)
            for i in range(per_axis) for j in range(per_axis)]


def filter_tile(block: np.ndarray, tile: Tile) -> tuple[Tile, np.ndarray]:
    """Filter one tile. ``block`` is the whole volume, or (naive) the tile's padded block."""
    if block.shape == tile.shape:
        block = block[tile.padded()]
    out = gaussian_filter(block, SIGMA, truncate=TRUNCATE)
    return tile, out[tile.interior()]


def cut(volume: np.ndarray, tile: Tile) -> tuple[np.ndarray, Tile]:
    """The naive program's per-task input: this tile's padded block, copied out."""
    return np.ascontiguousarray(volume[tile.padded()]), tile


def stitch(results: list[tuple[Tile, np.ndarray]]) -> np.ndarray:
    shape = results[0][0].shape
    out = np.empty(shape, dtype=np.float32)
    for tile, interior in results:
        out[:, tile.y0:tile.y1, tile.x0:tile.x1] = interior
    return out


def build_graph(volume: np.ndarray, per_axis: int, halo: int):
    """The ``dask.array`` expression users write: from_array + map_overlap (not computed)."""
    import dask.array as da

    side = [-(-n // per_axis) for n in volume.shape[1:]]
    arr = da.from_array(volume, chunks=(volume.shape[0], *side))
    return arr.map_overlap(gaussian_filter, depth={0: 0, 1: halo, 2: halo}, boundary="none",
                           dtype=volume.dtype, sigma=SIGMA, truncate=TRUNCATE)


def run_map_overlap(_wl, backend, inputs: Inputs, _name: str) -> np.ndarray:
    graph = build_graph(inputs.data, inputs.params["tiles"], inputs.params["halo"])
    if backend.name == "dask":
        return graph.compute(scheduler=backend.client, workers=backend.workers)  # n_workers of a bigger cluster
    return graph.compute(scheduler="threads", num_workers=backend.n_workers)


def run_whole(_wl, backend, inputs: Inputs, _name: str) -> np.ndarray:
    return gaussian_filter(inputs.data, SIGMA, truncate=TRUNCATE)


@lru_cache(maxsize=4)
def build(size: str, halo: int | None = None) -> Inputs:
    halo = halo_for() if halo is None else halo
    shape = SHAPE[size]
    per_axis = TILES[size]
    return Inputs(data.volume(shape), tiles(shape, per_axis, halo),
                  {"halo": halo, "tiles": per_axis})


WORKLOAD = Workload(
    name="volume_gaussian",
    tasks=TILES["full"] ** 2,
    build=build,
    task=filter_tile,
    reduce=stitch,
    headline="volume_gaussian.VolumeGaussian.time_volume_gaussian",
    modules=("numpy", "scipy.ndimage"),
    pack=cut,
    variants=(
        NAIVE,
        SHARED,
        Variant("map_overlap", run_map_overlap, ("dask", "threads")),
        Variant("whole", run_whole, ("serial",)),
    ),
)
