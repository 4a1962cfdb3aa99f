"""convolve2d of a 3000x3000 image: how close does each backend get to the memory-bound ceiling?"""

from bench_lib import harness


class Convolve2D:
    """One task per 4x4 filter over one image (see bench_lib.workloads.convolve2d).

    ``scaling=weak``: one filter per worker; ``strong``: a fixed batch split over workers.
    """

    params = (harness.BACKENDS, harness.n_workers(), harness.variants("convolve2d"), ["weak", "strong"])
    param_names = ["backend", "n_workers", "variant", "scaling"]
    timeout = 600
    # One run takes seconds at full size: each sample is one run (setup already primed
    # one), 2-5 samples per combination, one round.
    number = 1
    repeat = (2, 5, 30.0)
    rounds = 1
    warmup_time = 0

    def setup(self, backend, n_workers, variant, scaling):
        self.run = harness.prepare("convolve2d", backend, n_workers, variant, scaling=scaling)

    def time_convolve2d(self, backend, n_workers, variant, scaling):
        self.run()
