"""``scipy.signal.convolve2d`` of a large image with small 4x4 filters, downsampled.

A 3000x3000 float64 image (72 MB) and one task per filter: ``convolve2d(image, f)[::5, ::5]``.
Memory bound: two copies at once run slower per copy than one alone, so even a perfect
engine stays below n x. ``scaling``: ``weak`` gives each worker one filter (more workers,
more work), ``strong`` a fixed batch of filters split over the workers.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.signal import convolve2d

from bench_lib.workloads import data, Inputs, Workload

STRONG_BATCH = 4
SIDE = {"full": 3000, "small": 200}
FILTER = 4
STEP = 5


def convolve_downsampled(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    return convolve2d(image, kernel)[::STEP, ::STEP]


def total(results: list[np.ndarray]) -> np.ndarray:
    return np.sum(results, axis=0)


@lru_cache(maxsize=4)
def build(size: str, scaling: str = "strong", n_workers: int = 1) -> Inputs:
    count = n_workers if scaling == "weak" else STRONG_BATCH
    return Inputs(data.image(SIDE[size]), list(data.filters(count, FILTER)),
                  {"scaling": scaling, "filters": count})


WORKLOAD = Workload(
    name="convolve2d",
    tasks=STRONG_BATCH,
    build=build,
    task=convolve_downsampled,
    reduce=total,
    headline="convolve2d.Convolve2D.time_convolve2d",
    params={"scaling": ("weak", "strong")},
    representative={"scaling": "strong"},
    sized_by_workers=True,
)
