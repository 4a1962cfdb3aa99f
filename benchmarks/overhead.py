"""Where a pool's time goes: starting workers, importing in them, moving data, per task."""

from bench_lib import harness
from bench_lib.harness import overhead

teardown = harness.teardown  # after asv's last sample of a combination: close warm engines

TASKS = {"full": 500, "small": 50}  # no-op tasks per map when timing per-task overhead


class ByWorkers:
    """Classes whose only n/a is a worker count the backend cannot have (serial at 2)."""

    @staticmethod
    def skipped(backend, n_workers, *_):
        """Why asv records n/a for this combination (the plan counts these), or None."""
        return harness.worker_limit(backend, n_workers)

    def setup(self, backend, n_workers, *_):
        harness.skip_if(self.skipped(backend, n_workers))


class Startup(ByWorkers):
    """A new backend until every worker answered a no-op (median of 3 cold starts)."""

    params = (harness.BACKENDS, harness.n_workers())
    param_names = ["backend", "n_workers"]
    timeout = 600

    def track_start(self, backend, n_workers):
        return overhead.median_of(3, overhead.start, backend, n_workers)

    track_start.unit = "seconds"
    track_start.version = "aac66315c7da7f1948419d8abc8d26c29f9616f6ce8b72153a5206492d5788ac"


class StartGrowth:
    """How a process engine's start grows with its workers: a new cluster until every
    worker answered a no-op (median of 3 cold starts) at 1, 2, 4 and 8 workers, past
    this machine's cores on purpose. Spawning and importing serialise on few cores, so
    the growth measured here bounds from above what each worker adds on a machine with
    at least that many cores. The plan of a bigger machine fits a line to it (bench_lib.run.starts)."""

    params = ([b for b in overhead.GROWTH_BACKENDS if b in harness.BACKENDS], list(overhead.GROWTH_WORKERS))
    param_names = ["backend", "n_workers"]
    timeout = 600

    def track_start_growth(self, backend, n_workers):
        return overhead.median_of(3, overhead.start, backend, n_workers, True)

    track_start_growth.unit = "seconds"
    track_start_growth.version = "c1049f5a96eb470a7743f9699229d668c610b7eeca562ac709a53092f3544683"


class Imports(ByWorkers):
    """First call importing a workload's libraries in fresh workers, minus a warm call.

    ``fork`` pools inherit the caller's imports (asv's benchmark process has imported
    scipy already), spawned workers (loky, Ray, Dask) pay them.
    """

    params = (harness.BACKENDS, harness.n_workers(), list(overhead.IMPORTS))
    param_names = ["backend", "n_workers", "modules"]
    timeout = 600

    def track_imports(self, backend, n_workers, modules):
        return overhead.imports(backend, n_workers, overhead.IMPORTS[modules])

    track_imports.unit = "seconds"
    track_imports.version = "42b485a3379928f638cef232428158f8bb96ab91e01ddc26cf1f11ade7a05f48"


class Transfer(harness.LongRuns):
    """An array to one worker and back; ``shared`` places it with ``share`` (placing timed).

    The backend has the most workers this machine runs (joblib runs one in the caller).
    """

    params = (harness.BACKENDS, list(overhead.PATHS), list(overhead.TRANSFER_MB))
    param_names = ["backend", "path", "megabytes"]
    timeout = 600

    @staticmethod
    def skipped(backend, path, megabytes):
        """Why asv records n/a for this combination (the plan counts these), or None."""
        return overhead.transfer_unsupported(harness.backend_class(backend), path)

    def setup(self, backend, path, megabytes):
        harness.skip_if(self.skipped(backend, path, megabytes))
        self.engine = harness.warm_at_most_workers(backend)

    def track_transfer_seconds(self, backend, path, megabytes):
        return overhead.transfer(self.engine, megabytes, path)

    track_transfer_seconds.unit = "seconds"
    track_transfer_seconds.version = "066ba1f80284f39be85e5f9111a06d0445b1be9b14acd685a98c9c2471d89b0f"

    def track_transfer_mbps(self, backend, path, megabytes):
        """Both ways: 2 x size / round-trip seconds."""
        return 2 * megabytes / overhead.transfer(self.engine, megabytes, path)

    track_transfer_mbps.unit = "MB/s"
    track_transfer_mbps.version = "d4af2f3b6e6a0996614971c58b6aa3b64c975ee463ce3dcdb4423c6ebe63ff9e"


class ByPool(ByWorkers):
    """Every backend and worker count, on a warm pool kept or a new pool per call."""

    params = (harness.BACKENDS, harness.n_workers(), list(overhead.POOLS))
    param_names = ["backend", "n_workers", "pool"]
    timeout = 600


class TaskOverhead(ByPool):
    """Seconds per no-op task in a map of many: on a warm pool or a new pool per call."""

    def track_per_task(self, backend, n_workers, pool):
        tasks = TASKS[harness.size()]
        return overhead.median_of(3, overhead.per_task, backend, n_workers, pool, tasks)

    track_per_task.unit = "seconds"
    track_per_task.version = "9cd67b5e5a0be4927e862de72a597eeb9899b64c1f8e19a11d27b64964ce1b1d"


class PoolReuse(ByPool, harness.Windowed):
    """The 5x5 filter bank (ms per task) on a reused pool or on a new pool per call."""

    def setup(self, backend, n_workers, pool):
        prepare = harness.prepare if pool == "reused" else harness.prepare_per_call
        self.run = prepare("filter_bank", backend, n_workers, "naive", filter_size="5x5")

    def time_filter_bank(self, backend, n_workers, pool):
        self.run()

    time_filter_bank.version = "889937b7e120f1aeac1929da0ffd164a38bb94837489bca6df450dd05ba82915"


class Harness:
    """What parbench adds over the engine used directly: ``Backend.map`` time / the
    engine's own idiom's time (Pool.map, Parallel, f.remote + ray.get, client.map +
    gather) on one warm engine, no-op tasks, interleaved. Target: <= 1.05."""

    params = (harness.BACKENDS, harness.n_workers()[-1:])
    param_names = ["backend", "n_workers"]
    timeout = 600

    @staticmethod
    def skipped(backend, n_workers):
        """Why asv records n/a for this combination (the plan counts these), or None."""
        return harness.worker_limit(backend, n_workers) or overhead.harness_unsupported(harness.backend_class(backend))

    def setup(self, backend, n_workers):
        harness.skip_if(self.skipped(backend, n_workers))

    def track_harness_ratio(self, backend, n_workers):
        return overhead.harness(backend, n_workers, TASKS[harness.size()])["value"]

    track_harness_ratio.unit = "x"
    track_harness_ratio.version = "1e1cb3723c49981617cc3c14725f83d82f0ebe2b0f69a31fbdf71d76757b88de"
