"""A filter bank on one image with ``scipy.signal.fftconvolve``: one task per filter.

Two regimes users meet: small 5x5 filters (mode ``valid``; each task takes milliseconds,
so per-task overhead decides) and 511x511 filters (mode ``full``; the FFTs dominate).
The answer is the sum of the filtered images.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.signal import fftconvolve

from bench_lib.workloads import data, Inputs, Workload

N_FILTERS = 3
# size -> filter_size label -> (image side, filter side, fftconvolve mode)
SHAPES = {
    "full": {"5x5": (512, 5, "valid"), "511x511": (512, 511, "full")},
    "small": {"5x5": (64, 5, "valid"), "511x511": (64, 63, "full")},
}


def convolve(image: np.ndarray, item: tuple[np.ndarray, str]) -> np.ndarray:
    kernel, mode = item
    return fftconvolve(image, kernel, mode=mode)


def total(results: list[np.ndarray]) -> np.ndarray:
    return np.sum(results, axis=0)


@lru_cache(maxsize=4)
def build(size: str, filter_size: str = "5x5") -> Inputs:
    side, k, mode = SHAPES[size][filter_size]
    items = [(f, mode) for f in data.filters(N_FILTERS, k)]
    return Inputs(data.image(side), items, {"filter_size": filter_size})


WORKLOAD = Workload(
    name="filter_bank",
    tasks=N_FILTERS,
    build=build,
    task=convolve,
    reduce=total,
    headline="filter_bank.FilterBank.time_filter_bank",
    params={"filter_size": ("5x5", "511x511")},
    representative={"filter_size": "5x5"},
)
