"""Chunked gaussian filter of a (50,1104,1104) volume: time, memory, and dask's graph cost."""

from bench_lib import harness, memory
from bench_lib.workloads import volume_gaussian


class VolumeGaussian(harness.LongRuns):
    """Tiles with a 12-voxel halo, stitched back (see bench_lib.workloads.volume_gaussian).

    Variants: ``naive`` ships each task its own padded tile, ``shared`` places the volume
    once, ``map_overlap`` is dask.array's (dask, threads), ``whole`` one unchunked call.
    """

    params = (harness.BACKENDS, harness.n_workers(), harness.variants("volume_gaussian"))
    param_names = ["backend", "n_workers", "variant"]
    timeout = 900

    def setup(self, backend, n_workers, variant):
        self.run = harness.prepare("volume_gaussian", backend, n_workers, variant)

    def time_volume_gaussian(self, backend, n_workers, variant):
        self.run()

    def peakmem_volume_gaussian(self, backend, n_workers, variant):
        self.run()

    def track_memory_vs_data(self, backend, n_workers, variant):
        """Peak RSS of this process and all it started, in multiples of the volume's size."""
        _, peak = memory.peak_tree_rss(self.run)
        return peak / harness.data_bytes("volume_gaussian")

    track_memory_vs_data.unit = "x data size"


class VolumeGraph:
    """Building the dask.array map_overlap graph alone, which users pay before any compute."""

    timeout = 300

    def setup(self):
        inputs = volume_gaussian.WORKLOAD.inputs(harness.config.size())
        self.args = (inputs.data, inputs.params["tiles"], inputs.params["halo"])

    def time_build_graph(self):
        volume_gaussian.build_graph(*self.args)
