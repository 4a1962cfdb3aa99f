"""Where a pool's time goes: starting workers, importing in them, moving data, per task."""

from bench_lib import config, harness, overhead

TASKS = {"full": 500, "small": 50}  # no-op tasks per map when timing per-task overhead


def _check(backend, n_workers):
    reason = harness.worker_limit(backend, n_workers)
    if reason:
        raise NotImplementedError(reason)


class Startup:
    """A new backend until every worker answered a no-op (median of 3 cold starts)."""

    params = (harness.BACKENDS, harness.n_workers())
    param_names = ["backend", "n_workers"]
    timeout = 600

    def setup(self, backend, n_workers):
        _check(backend, n_workers)

    def track_start(self, backend, n_workers):
        return overhead.median_of(3, overhead.start, backend, n_workers)

    track_start.unit = "seconds"


class Imports:
    """First call importing a workload's libraries in fresh workers, minus a warm call.

    ``fork`` pools inherit the caller's imports (asv's benchmark process has imported
    scipy already), spawned workers (loky, Ray, Dask) pay them.
    """

    params = (harness.BACKENDS, harness.n_workers(), list(overhead.IMPORTS))
    param_names = ["backend", "n_workers", "modules"]
    timeout = 600

    def setup(self, backend, n_workers, modules):
        _check(backend, n_workers)

    def track_imports(self, backend, n_workers, modules):
        return overhead.imports(backend, n_workers, overhead.IMPORTS[modules])

    track_imports.unit = "seconds"


class Transfer(harness.LongRuns):
    """An array to one worker and back; ``shared`` places it with ``share`` (placing timed).

    The backend has the most workers this machine runs (joblib runs one in the caller).
    """

    params = (harness.BACKENDS, list(overhead.PATHS), list(overhead.TRANSFER_MB))
    param_names = ["backend", "path", "megabytes"]
    timeout = 600

    def setup(self, backend, path, megabytes):
        cls = harness.backends.backend_class(backend)
        reason = overhead.transfer_unsupported(cls, path)
        if reason:
            raise NotImplementedError(reason)
        self.engine = harness.backends.warm(backend, min(harness.n_workers()[-1], cls.worker_limit()[0]), ())

    def track_transfer_seconds(self, backend, path, megabytes):
        return overhead.transfer(self.engine, megabytes, path)

    track_transfer_seconds.unit = "seconds"

    def track_transfer_mbps(self, backend, path, megabytes):
        """Both ways: 2 x size / round-trip seconds."""
        return 2 * megabytes / overhead.transfer(self.engine, megabytes, path)

    track_transfer_mbps.unit = "MB/s"


class ByPool:
    """Every backend and worker count, on a warm pool kept or a new pool per call."""

    params = (harness.BACKENDS, harness.n_workers(), list(overhead.POOLS))
    param_names = ["backend", "n_workers", "pool"]
    timeout = 600


class TaskOverhead(ByPool):
    """Seconds per no-op task in a map of many: on a warm pool or a new pool per call."""

    def setup(self, backend, n_workers, pool):
        _check(backend, n_workers)

    def track_per_task(self, backend, n_workers, pool):
        tasks = TASKS[config.size()]
        return overhead.median_of(3, overhead.per_task, backend, n_workers, pool, tasks)

    track_per_task.unit = "seconds"


class PoolReuse(ByPool):
    """The 5x5 filter bank (ms per task) on a reused pool or on a new pool per call."""

    def setup(self, backend, n_workers, pool):
        prepare = harness.prepare if pool == "reused" else harness.prepare_per_call
        self.run = prepare("filter_bank", backend, n_workers, "naive", filter_size="5x5")

    def time_filter_bank(self, backend, n_workers, pool):
        self.run()


class Harness:
    """What parbench adds over the engine used directly: ``Backend.map`` time / the
    engine's own idiom's time (Pool.map, Parallel, f.remote + ray.get, client.map +
    gather) on one warm engine, no-op tasks, interleaved. Target: <= 1.05."""

    params = (harness.BACKENDS, harness.n_workers()[-1:])
    param_names = ["backend", "n_workers"]
    timeout = 600

    def setup(self, backend, n_workers):
        reason = harness.worker_limit(backend, n_workers) or overhead.harness_unsupported(
            harness.backends.backend_class(backend))
        if reason:
            raise NotImplementedError(reason)

    def track_harness_ratio(self, backend, n_workers):
        return overhead.harness(backend, n_workers, TASKS[config.size()])["value"]

    track_harness_ratio.unit = "x"
