"""50 spline interpolators of 1-113 MB: what pickling ``self`` per task costs, and its fixes."""

from bench_lib import harness

teardown = harness.teardown  # after asv's last sample of a combination: close warm engines

BACKENDS_SWEEP = [b for b in ("serial", "threads", "loky") if b in harness.BACKENDS]


class Interpolators(harness.VeryLongRuns):
    """``sum(exp(f_k.ev(xi, yi)))`` over 50 interpolators (bench_lib.workloads.interpolators).

    ``grid`` sets the object's pickled size (see track_pickled_mb). ``pickle-self``: a
    bound method per interpolator; ``shared``: the object placed once; ``batched``: a
    bound method per worker. Serial and threads pickle nothing (no ``shared`` point).
    """

    params = (harness.BACKENDS, harness.n_workers(), harness.variants("interpolators"), [50, 300, 530])
    param_names = ["backend", "n_workers", "variant", "grid"]
    # The question is an object of tens of MB (grid 300: 36 MB); 1 MB and 113 MB show how the
    # cost grows with the size and take two thirds of the class's time: run --profile extended.
    extended = {"grid": [50, 530]}
    timeout = 900  # one run is 10-40 s at full size (50 x 1M-point evaluations)

    skipped = harness.skipped_for("interpolators")

    def setup(self, backend, n_workers, variant, grid):
        self.run = harness.prepare("interpolators", backend, n_workers, variant, grid=grid)

    def time_interpolators(self, backend, n_workers, variant, grid):
        self.run()

    time_interpolators.version = "dff25cea357b5f280c660e5c4665a7d6b012d44c2242d98a885c0a5212a83eaf"


class InterpolatorChunks(harness.VeryLongRuns):
    """The cache effect: the ``shared`` run with the query points evaluated in slices.

    Smaller slices keep ``ev``'s temporaries in cache; a few backends suffice, since the
    effect is inside each task. At 1M points, ``1000K`` and ``unlimited`` are the same run.
    """

    params = (BACKENDS_SWEEP, harness.n_workers(), ["125K", "250K", "500K", "1000K", "unlimited"])
    param_names = ["backend", "n_workers", "chunk"]
    extended = {"backend": ["threads", "loky"]}  # the same effect inside each task: serial shows it
    timeout = 900

    @staticmethod
    def variant(backend):
        return "pickle-self" if backend in ("serial", "threads") else "shared"

    @classmethod
    def skipped(cls, backend, n_workers, chunk):
        """Why asv records n/a for this combination (the plan counts these), or None."""
        return harness.unsupported("interpolators", backend, n_workers, cls.variant(backend))

    def setup(self, backend, n_workers, chunk):
        self.run = harness.prepare("interpolators", backend, n_workers, self.variant(backend), grid=50, chunk=chunk)

    def time_interpolator_chunks(self, backend, n_workers, chunk):
        self.run()

    time_interpolator_chunks.version = "ce43f85e537d3124af8d1569bc3499c2c768ee3135ee38ae5f260fc0739736ff"


class InterpolatorSize:
    """What every ``pickle-self`` task carries: the object's pickled size."""

    params = [50, 300, 530]
    param_names = ["grid"]

    def track_pickled_mb(self, grid):
        return harness.pickled_mb("interpolators", grid=grid)

    track_pickled_mb.unit = "MB"
    track_pickled_mb.version = "3708f4d5ee45936d9293e92aa8bb87715c3c156bcd29c08ad41270ddc15ba9d4"
