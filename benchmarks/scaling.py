"""Speedup, the machine's ceiling, and the naive-to-shared gap: ratios whose two sides are
timed interleaved in one process (unit: x). Efficiency is speedup / ceiling of the same
run, derived by the report, never measured a second time."""

from bench_lib import harness
from bench_lib.harness import ratios, timeline

teardown = harness.teardown  # after asv's last sample of a combination: close warm engines

WORKLOADS = harness.workload_names()
TOP = harness.n_workers()[-1:]  # ratios at the most workers; workload benchmarks cover 1..n


class Ceiling:
    """n copies of a workload's serial work in n processes, no engine: n x T1 / Tn."""

    params = (WORKLOADS, harness.n_workers())
    param_names = ["workload", "n_workers"]
    timeout = 1200

    def track_ceiling_speedup(self, workload, n_workers):
        return ratios.ceiling_speedup(workload, n_workers)

    track_ceiling_speedup.unit = "x"
    track_ceiling_speedup.version = "0e1220c13e42ad9088fbb5949ea45d8495e1d2e5110e3010a45882b51572cd36"


class DefaultMalloc:
    """What your own serial loop pays for glibc's default allocator: its time under glibc's
    defaults over its time under the fixed discipline every other figure here is measured
    under (bench_lib.backends.allocator), each in a process of its own, timed in alternating rounds."""

    params = (WORKLOADS,)
    param_names = ["workload"]
    timeout = 900

    def track_default_malloc_cost(self, workload):
        return ratios.default_malloc_cost(workload)["value"]

    track_default_malloc_cost.unit = "x"
    track_default_malloc_cost.version = "1"


class GilHeld:
    """The share of a workload's serial run that holds the GIL, at one worker: what no
    thread pool overlaps (bench_lib.measure.gil); the forecast's serial part for thread backends."""

    params = (WORKLOADS,)
    param_names = ["workload"]
    timeout = 900

    def track_gil_held_share(self, workload):
        return ratios.gil_held(workload).share

    track_gil_held_share.unit = "share"
    track_gil_held_share.version = "1"


class LockHeld:
    """The share of a workload's serial run inside a process-wide lock of its library, or
    the GIL, at one worker (bench_lib.measure.gil with the workload's lock probe): SciPy serialises
    FITPACK calls, so a thread pool of interpolators queues where the GIL probe sees 5%."""

    params = (ratios.locked_workloads(),)
    param_names = ["workload"]
    timeout = 900

    def track_lock_held_share(self, workload):
        return ratios.gil_held(workload, lock=True).share

    track_lock_held_share.unit = "share"
    track_lock_held_share.version = "1"


class AtTheMostWorkers:
    """Per workload and backend at the most workers, on the variant a careful user picks
    (the shared one where it exists); n/a where no variant runs."""

    params = (WORKLOADS, harness.BACKENDS, TOP)
    param_names = ["workload", "backend", "n_workers"]

    @staticmethod
    def skipped(workload, backend, n_workers):
        """Why asv records n/a for this combination (the plan counts these), or None."""
        return harness.worker_limit(backend, n_workers) or ratios.unsupported(workload, backend, n_workers)

    def setup(self, workload, backend, n_workers):
        harness.skip_if(self.skipped(workload, backend, n_workers))


class Ratios(AtTheMostWorkers):
    """Speedup over the serial loop; its interval and samples go to points.jsonl."""

    timeout = 1800

    def track_speedup(self, workload, backend, n_workers):
        return ratios.speedup_in_run(workload, backend, n_workers)["value"]

    track_speedup.unit = "x"
    track_speedup.version = "2"


class Gap:
    """Naive time / shared time on one warm backend: the workload's own pair of variants
    (naive/shared, pickle-self/shared, reload/per-worker), from the rounds that measure its
    speedup (the naive variant is one more arm there): the shared run is timed once."""

    params = (WORKLOADS, harness.BACKENDS, TOP)
    param_names = ["workload", "backend", "n_workers"]
    timeout = 1800

    @staticmethod
    def skipped(workload, backend, n_workers):
        """Why asv records n/a for this combination (the plan counts these), or None."""
        return harness.worker_limit(backend, n_workers) or ratios.unsupported(workload, backend, n_workers, "gap")

    def setup(self, workload, backend, n_workers):
        harness.skip_if(self.skipped(workload, backend, n_workers))

    def track_naive_to_shared(self, workload, backend, n_workers):
        return ratios.gap_in_run(workload, backend, n_workers)["value"]

    track_naive_to_shared.unit = "x"
    track_naive_to_shared.version = "2"


class Traces(AtTheMostWorkers):
    """One traced run per point (bench_lib.measure.timeline): which worker ran each task, when, and
    how long it waited; the spans go to traces.jsonl, asv keeps the workers' idle share.
    The run's speedup measurement takes it on its warm engines; this reads it back."""

    timeout = 900

    def track_idle_share(self, workload, backend, n_workers):
        return timeline.traced(workload, backend, n_workers)["summary"]["idle_share"]

    track_idle_share.unit = "share"
    track_idle_share.version = "1"
