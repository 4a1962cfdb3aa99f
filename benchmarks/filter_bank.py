"""Filter bank with fftconvolve: does any backend beat a loop when each task takes ms?"""

from bench_lib import harness

teardown = harness.teardown  # after asv's last sample of a combination: close warm engines


class FilterBank(harness.SteadyRuns):
    """Three filters over one image, one task per filter (see bench_lib.workloads.filter_bank).

    ``naive`` sends the image with every task; ``shared`` places it once with the engine's
    own mechanism. Backends that share memory (threads) run ``naive`` only.
    """

    params = (harness.BACKENDS, harness.n_workers(), harness.variants("filter_bank"), ["5x5", "511x511"])
    param_names = ["backend", "n_workers", "variant", "filter_size"]
    timeout = 300

    skipped = harness.skipped_for("filter_bank")

    def setup(self, backend, n_workers, variant, filter_size):
        self.run = harness.prepare("filter_bank", backend, n_workers, variant, filter_size=filter_size)

    def time_filter_bank(self, backend, n_workers, variant, filter_size):
        self.run()

    time_filter_bank.version = "64514d04c7126f8a3868a08bd6a5ee034501701362b13258fff197cdcb36d1ed"
