"""What the volume cache saves a point's setup, and that it changes nothing timed: the
volume_gaussian input built against loaded from the cache, and the same filter on each.
Run from the checkout: .venv/bin/python docs/volume_cache.py"""
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench_lib import config  # noqa: E402
from bench_lib.workloads.data import volume  # noqa: E402
from bench_lib.workloads.volume_gaussian import SHAPE, SIGMA, TRUNCATE  # noqa: E402

shape = SHAPE["full"]
started = time.perf_counter()
made = volume.__wrapped__.__wrapped__(shape)
built = time.perf_counter() - started
volume(shape)  # into the cache
started = time.perf_counter()
loaded = volume.__wrapped__(shape)
print(f"volume {shape} float32, {made.nbytes / 1e6:.0f} MB: built in {built:.2f} s, "
      f"loaded from {config.cache_dir() / 'inputs'} in {time.perf_counter() - started:.2f} s, "
      f"identical: {np.array_equal(made, loaded)}")
took = {"built": [], "loaded": []}
for _ in range(3):  # interleaved: the same filter on each, as VolumeGaussian's 'whole' runs it
    for name, array in (("built", made), ("loaded", loaded)):
        started = time.perf_counter()
        gaussian_filter(array, SIGMA, truncate=TRUNCATE)
        took[name].append(time.perf_counter() - started)
print(f"gaussian_filter(sigma={SIGMA:g}), median of 3 interleaved: " + ", ".join(
    f"{name} {statistics.median(seconds):.2f} s" for name, seconds in took.items()))
