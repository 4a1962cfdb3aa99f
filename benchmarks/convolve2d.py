"""convolve2d of a 3000x3000 image: how close does each backend get to the memory-bound ceiling?"""

from bench_lib import harness

teardown = harness.teardown  # after asv's last sample of a combination: close warm engines


class Convolve2D(harness.LongRuns):
    """One task per 4x4 filter over one image (see bench_lib.workloads.convolve2d).

    ``scaling=weak``: one filter per worker; ``strong``: a fixed batch split over workers.
    """

    params = (harness.BACKENDS, harness.n_workers(), harness.variants("convolve2d"), ["weak", "strong"])
    param_names = ["backend", "n_workers", "variant", "scaling"]
    timeout = 600

    skipped = harness.skipped_for("convolve2d")

    def setup(self, backend, n_workers, variant, scaling):
        self.run = harness.prepare("convolve2d", backend, n_workers, variant, scaling=scaling)

    def time_convolve2d(self, backend, n_workers, variant, scaling):
        self.run()

    time_convolve2d.version = "4bd45a0417f8cc15dfb98b579b500729255fdc0bdb12767577ccb1afa7a0013d"
