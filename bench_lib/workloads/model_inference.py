"""Classifying 28x28 images with a Keras MLP whose loading costs more than a batch.

One batch of images per worker per round, several rounds (weak scaling: items are batch
indices, ``n_workers * rounds`` of them); every batch is classified with
``model.predict`` and ``reduce`` concatenates the argmax predictions in batch order. The
model and images come from :mod:`bench_lib.models`' cache; ``build`` only checks (or, the
first time, builds in a subprocess) that they exist, so the caller never imports
TensorFlow -- it is not fork-safe, and ``multiprocessing`` forks pools from the caller.

Variants (no naive/shared: the input is a file name):

``reload``      every task loads the model and images, as a stateless ``Pool.map`` must
``per-worker``  loaded once per worker and kept -- per process, or per thread on thread
                backends -- which is what a Pool/loky initializer or Dask worker state gives
``tf-threads``  serial only: one model in the caller, TensorFlow's own intra-op threads
                on every usable CPU
``actors``      ray only: one actor per worker within the backend's CPUs, each
                loading the model in ``__init__``; batches go round-robin

Every process that classifies sets TensorFlow's intra/inter-op threads explicitly
(:func:`tf_threads`). :func:`fresh` runs one round with a new *generation* of per-worker
state (new actors), so the first round -- loading included -- is timed on its own. Ray
starts a new process for each actor rather than reusing the warm task workers, so the
actors' first round also pays a process start and TensorFlow's import: what actor users pay.
:func:`pin` pins worker processes one per core; the benchmark's ``pinned`` parameter.
"""

from __future__ import annotations

import functools
import itertools
import os
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .. import backends, config, models
from ..backends import Backend, BackendError
from . import Inputs, Variant, Workload

BATCH = {"full": 10_000, "small": 256}
ROUNDS = {"full": 3, "small": 2}
PREDICT_BATCH = 32  # Keras's default: what ``model.predict(x)`` does
ACTOR_TIMEOUT = 60.0


@dataclass(frozen=True)
class Batches:
    """Where a worker finds the model and images, and how batch ``i`` is cut (picklable)."""

    model: str
    images: str
    size: int

    def rows(self, index: int) -> np.ndarray:
        """Image rows of batch ``index``, wrapping around the cached images."""
        return np.arange(index * self.size, (index + 1) * self.size)


def tf_threads(variant: str) -> tuple[int, int]:
    """TensorFlow's (intra_op, inter_op) threads in each process that classifies.

    Workers get ``PARBENCH_THREADS_PER_WORKER`` for both, like every other library here;
    thread backends share one process and one setting, and their calls still run side by
    side (TensorFlow runs one-thread kernels in the calling thread). ``tf-threads`` is
    serial with TensorFlow's own parallelism over every usable CPU.
    """
    n = config.usable_cpus() if variant == "tf-threads" else config.threads_per_worker()
    return n, n


def classify(model, images: np.ndarray, batches: Batches, index: int) -> np.ndarray:
    """Argmax class of every image in batch ``index`` (int8)."""
    x = np.take(images, batches.rows(index), axis=0, mode="wrap").astype(np.float32) / 255
    scores = model.predict(x, batch_size=PREDICT_BATCH, verbose=0)
    return np.argmax(scores, axis=1).astype(np.int8)


def predict_reload(batches: Batches, index: int, threads: tuple[int, int] | None = None) -> np.ndarray:
    """One stateless task: load the model and images, classify one batch."""
    models.configure_tensorflow(*(threads or tf_threads("reload")))
    return classify(models.load_model(batches.model), models.load_images(batches.images),
                    batches, index)


_held = threading.local()  # (paths, generation, model, images) of this worker thread


def held(batches: Batches, threads: tuple[int, int], generation: str | None = None):
    """This worker's model and images, loaded on first use and kept.

    A new ``generation`` loads them again (a first round); ``None`` takes whatever is held.
    """
    paths = (batches.model, batches.images)
    state = getattr(_held, "state", None)
    if state is None or state[0] != paths or (generation is not None and state[1] != generation):
        _held.state = None  # let the old model go before loading the new one
        models.configure_tensorflow(*threads)
        state = _held.state = (paths, generation, models.load_model(batches.model),
                               models.load_images(batches.images))
    return state[2], state[3]


def predict_held(batches: Batches, index: int, threads: tuple[int, int],
                 generation: str | None = None) -> np.ndarray:
    model, images = held(batches, threads, generation)
    return classify(model, images, batches, index)


def solo(inputs: Inputs) -> np.ndarray:
    """Serial steady state: one model held by this process, every batch in a loop."""
    threads = tf_threads("per-worker")
    return concatenate([predict_held(inputs.data, i, threads) for i in inputs.items])


def concatenate(results: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(results)


# -- Ray actors -----------------------------------------------------------------------------
class Classifier:
    """A Ray actor (``ray.remote`` is applied at use): loads the model once, in ``__init__``."""

    def __init__(self, batches: Batches, threads: tuple[int, int], core: int | None = None):
        if core is not None:
            set_affinity(os.getpid(), [core])
        models.configure_tensorflow(*threads)
        self.model = models.load_model(batches.model)
        self.images = models.load_images(batches.images)

    def classify(self, batches: Batches, index: int) -> np.ndarray:
        return classify(self.model, self.images, batches, index)

    def pid(self) -> int:
        return os.getpid()


_actors: dict[int, tuple] = {}  # id(backend) -> (paths, generation, [actor handles])
_cleanup_registered: "weakref.WeakSet[Backend]" = weakref.WeakSet()


def actors_for(backend: Backend, batches: Batches, generation: str | None = None) -> list:
    """The backend's classifier actors, created (and loading) if none or a new generation."""
    import ray

    paths = (batches.model, batches.images)
    current = _actors.get(id(backend))
    if current and current[0] == paths and generation in (None, current[1]):
        return current[2]
    retire_actors(backend)
    remote = ray.remote(Classifier).options(num_cpus=1, scheduling_strategy=backend.scheduling())
    cores = _pins.get(id(backend))
    actors = [remote.remote(batches, tf_threads("actors"), cores[i % len(cores)] if cores else None)
              for i in range(backend.n_workers)]
    _actors[id(backend)] = (paths, generation, actors)
    if backend not in _cleanup_registered:
        backend.at_close(functools.partial(retire_actors, backend, wait=False))
        _cleanup_registered.add(backend)
    return actors


def retire_actors(backend: Backend, wait: bool = True) -> None:
    """Kill the backend's actors; ``wait`` until their CPUs are free again."""
    current = _actors.pop(id(backend), None)
    if not current:
        return
    import ray

    if not ray.is_initialized():  # shut down already (Ray's own atexit): actors are gone
        return

    for actor in current[2]:
        ray.kill(actor)
    if wait:
        deadline = time.monotonic() + ACTOR_TIMEOUT
        while backend.free_cpus() < backend.n_workers:
            if time.monotonic() > deadline:
                raise BackendError(f"ray: killed actors did not free their CPUs in {ACTOR_TIMEOUT:.0f} s")
            time.sleep(0.02)


def actor_pids(backend: Backend) -> list[int]:
    current = _actors.get(id(backend))
    if not current:
        return []
    import ray

    return ray.get([actor.pid.remote() for actor in current[2]], timeout=ACTOR_TIMEOUT)


def run_actors(backend: Backend, batches: Batches, items: list, generation: str | None = None) -> list:
    import ray

    actors = actors_for(backend, batches, generation)
    refs = [actors[k % len(actors)].classify.remote(batches, item) for k, item in enumerate(items)]
    try:
        return ray.get(refs)
    except Exception as exc:
        raise BackendError(f"ray actors (n_workers={backend.n_workers}): {type(exc).__name__}: {exc}") from exc


# -- rounds ---------------------------------------------------------------------------------
def classify_items(backend: Backend, inputs: Inputs, variant: str, items: list,
                   generation: str | None = None) -> np.ndarray:
    if variant == "actors":
        return concatenate(run_actors(backend, inputs.data, items, generation))
    retire_actors(backend)  # actors hold the run's CPUs that tasks need
    threads = tf_threads(variant)
    if variant == "reload":
        task = functools.partial(predict_reload, threads=threads)
    else:  # per-worker, tf-threads
        task = functools.partial(predict_held, threads=threads, generation=generation)
    return concatenate(backend.map(task, items, data=inputs.data))


def run_variant(variant: str, backend: Backend, inputs: Inputs) -> np.ndarray:
    """Every round, steady state: per-worker models are reused if loaded."""
    return classify_items(backend, inputs, variant, inputs.items)


_generations = itertools.count(1)


def fresh(backend: Backend, inputs: Inputs, variant: str) -> Callable[[], np.ndarray]:
    """A call running one round (a batch per worker) in which every worker loads anew.

    Clearing the way -- retiring the previous actors -- happens here, not in the call.
    """
    reason = WORKLOAD.unsupported(backend.name, variant)
    if reason:
        raise ValueError(reason)
    generation = f"{os.getpid()}-{next(_generations)}"
    if variant == "actors":
        retire_actors(backend)
    items = inputs.items[: backend.n_workers]
    return functools.partial(classify_items, backend, inputs, variant, items, generation)


def first_round(backend: Backend, inputs: Inputs, variant: str) -> np.ndarray:
    return fresh(backend, inputs, variant)()


def time_first_round(backend: Backend, inputs: Inputs, variant: str) -> float:
    """Seconds of one first round, model loading included."""
    run = fresh(backend, inputs, variant)
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


# -- pinning --------------------------------------------------------------------------------
_pins: dict[int, list[int]] = {}  # id(backend) -> the cores worker i is pinned to (i mod len)


def pin_unsupported(backend: str, n_workers: int) -> str | None:
    """Why ``pinned=True`` has no meaning for this backend, or None."""
    cls = backends.backend_class(backend)
    if cls.in_caller(n_workers):
        return f"{backend} (n_workers={n_workers}) runs tasks in the caller: no worker process to pin"
    if not hasattr(os, "sched_setaffinity"):
        return "pinning workers to cores needs Linux (sched_setaffinity)"
    for variable in ("RAY_ADDRESS", "DASK_SCHEDULER_ADDRESS"):
        if os.environ.get(variable) and backend in ("ray", "dask"):
            return f"{backend} runs on the cluster at {variable}: its workers cannot be pinned from here"
    return None


def set_affinity(pid: int, cores: list[int]) -> bool:
    """Set the CPU affinity of every thread of ``pid`` (``cpu_affinity`` sets one thread).

    False if the process is gone (Ray retires idle task workers when actors need room).
    """
    import psutil

    try:
        threads = psutil.Process(pid).threads()
    except psutil.NoSuchProcess:
        return False
    for thread in threads:
        try:
            os.sched_setaffinity(thread.id, cores)
        except ProcessLookupError:  # the thread ended meanwhile
            pass
    return True


def affinity(pid: int) -> list[list[int]]:
    """The distinct CPU sets of ``pid``'s threads (one entry when pinning reached them all)."""
    import psutil

    sets = set()
    for thread in psutil.Process(pid).threads():
        try:
            sets.add(tuple(sorted(os.sched_getaffinity(thread.id))))
        except ProcessLookupError:
            pass
    return [list(s) for s in sorted(sets)]


def pin(backend: Backend) -> dict[int, list[int]]:
    """Pin worker i to core i mod usable cores (and so future actors); returns pid -> cores.

    Workers are the processes seen while warming (and current actors); an engine that
    starts other processes later (Ray may replace idle task workers) runs those unpinned.
    """
    reason = pin_unsupported(backend.name, backend.n_workers)
    if reason:
        raise NotImplementedError(reason)
    cores = sorted(os.sched_getaffinity(0))
    _pins[id(backend)] = cores
    plan = {}
    for group in (backend.worker_pids, actor_pids(backend)):
        for i, pid in enumerate(group):
            plan[pid] = [cores[i % len(cores)]]
    return {pid: chosen for pid, chosen in plan.items() if set_affinity(pid, chosen)}


def unpin(backend: Backend) -> None:
    """Give every worker all the caller's cores again (warm backends are reused)."""
    cores = _pins.pop(id(backend), None) or sorted(os.sched_getaffinity(0))
    if backend.closed:
        return
    for pid in [*backend.worker_pids, *actor_pids(backend)]:
        set_affinity(pid, cores)


def settings(backend: str, n_workers: int, variant: str, pinned: bool) -> dict:
    """What a run is configured with, beyond its parameters: TensorFlow threads, pinning."""
    intra, inter = tf_threads(variant)
    return {"tf_intra_op_threads": intra, "tf_inter_op_threads": inter,
            "in_caller": backends.backend_class(backend).in_caller(n_workers),
            "pinned": "worker i -> core i mod usable cores" if pinned else "no",
            "model": str(models.model_path())}


# -- inputs ---------------------------------------------------------------------------------
def build(size: str, n_workers: int = 1) -> Inputs:
    """Batch indices for ``n_workers`` x rounds; the model is built (in a subprocess) if missing."""
    model = models.ensure_model()
    batches = Batches(str(model), str(models.images_path(model.parent)), BATCH[size])
    rounds = ROUNDS[size]
    return Inputs(batches, list(range(n_workers * rounds)),
                  {"rounds": rounds, "batch": BATCH[size]})


def process_group(backend: str, n_workers: int, variant: str, *_) -> tuple:
    """Combinations that may share one calling process (tests run many in one).

    The key is the backend and TensorFlow's threads in the *caller* (None when only
    workers load it): a process holds one thread setting, and one that loaded TensorFlow
    must not fork a pool afterwards.
    """
    in_caller = backends.backend_class(backend).in_caller(n_workers)
    return backend, tf_threads(variant) if in_caller else None


def check(backend: str, n_workers: int, variant: str, pinned: bool = False) -> dict:
    """Predictions of a steady-state run, a first round and a run after it (for tests,
    in a spawned child). ``pinned`` also reads back the affinities pinning set and restored."""
    inputs = WORKLOAD.inputs(config.size(), n_workers=n_workers)
    engine = backends.warm(backend, n_workers, WORKLOAD.modules)
    out = {"steady": WORKLOAD.run(engine, inputs, variant)}
    if pinned:
        import psutil

        plan = pin(engine)
        out["plan"] = plan
    out["first"] = first_round(engine, inputs, variant)
    out["again"] = WORKLOAD.run(engine, inputs, variant)
    if pinned:
        pids = [pid for pid in [*engine.worker_pids, *actor_pids(engine)] if psutil.pid_exists(pid)]
        out["pinned"] = {pid: affinity(pid) for pid in pids}
        unpin(engine)
        out["restored"] = {pid: affinity(pid) for pid in pids}
    return out


def reference() -> np.ndarray:
    """The serial answer: a plain loop reloading for each batch (loads TensorFlow here)."""
    return WORKLOAD.serial(WORKLOAD.inputs(config.size(), n_workers=2))


WORKLOAD = Workload(
    name="model_inference",
    build=build,
    task=predict_reload,
    reduce=concatenate,
    modules=("numpy", "tensorflow", "keras"),
    uses_n_workers=True,
    standard=(),
    solo=solo,
    gap=("reload", "per-worker"),
    extra={
        "reload": Variant(functools.partial(run_variant, "reload")),
        "per-worker": Variant(functools.partial(run_variant, "per-worker")),
        "tf-threads": Variant(functools.partial(run_variant, "tf-threads"), ("serial",)),
        "actors": Variant(functools.partial(run_variant, "actors"), ("ray",)),
    },
)
