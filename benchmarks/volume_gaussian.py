"""Chunked gaussian filter of a (50,1104,1104) volume: time, memory, and dask's graph cost.

Memory is the whole process tree's peak (bench_lib.backends.memory): asv's ``peakmem_*`` would read
this process alone, missing the workers where parallel runs keep their copies.
"""

from bench_lib import harness

teardown = harness.teardown  # after asv's last sample of a combination: close warm engines


class VolumeGaussian(harness.LongRuns):
    """Tiles with a 12-voxel halo, stitched back (see bench_lib.workloads.volume_gaussian).

    Variants: ``naive`` ships each task its own padded tile, ``shared`` places the volume
    once, ``map_overlap`` is dask.array's (dask, threads), ``whole`` one unchunked call.
    """

    params = (harness.BACKENDS, harness.n_workers(), harness.variants("volume_gaussian"))
    param_names = ["backend", "n_workers", "variant"]
    timeout = 900

    skipped = harness.skipped_for("volume_gaussian")

    def setup(self, backend, n_workers, variant):
        self.run = harness.prepare("volume_gaussian", backend, n_workers, variant)

    def time_volume_gaussian(self, backend, n_workers, variant):
        self.run()

    time_volume_gaussian.version = "c5f0d21381508ee3f3cbeab83da40c35e33fbafe16df45bd99e25f3ab45edca3"

    def track_memory_vs_data(self, backend, n_workers, variant):
        """Peak RSS of this process and all it started, in multiples of the volume's size."""
        return harness.peak_memory_vs_data(self.run, "volume_gaussian")

    track_memory_vs_data.unit = "x data size"
    track_memory_vs_data.version = "6d2c021a82f8b7c2bc481cceafb7b592c836ae8f49d8b38e5a5d576dddef924f"


class VolumeGraph(harness.Windowed):
    """Building the dask.array map_overlap graph alone, which users pay before any compute."""

    timeout = 300

    def setup(self):
        inputs = harness.inputs("volume_gaussian")
        self.args = (inputs.data, inputs.params["tiles"], inputs.params["halo"])
        harness.watch()

    def time_build_graph(self):
        harness.build_overlap_graph(*self.args)

    time_build_graph.version = "dc000435686a75feebdbb380d4a3b061eea3722d351e4774d811d4bd5350a409"
