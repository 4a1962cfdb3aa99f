"""Classifying 28x28 images with a Keras MLP whose loading costs more than a batch.

One batch of images per worker per round, several rounds (weak scaling: items are batch
indices, ``n_workers * rounds`` of them); every batch is classified with ``model.predict`` and
``reduce`` concatenates the argmax predictions in batch order. The model and images come from
:mod:`bench_lib.workloads.models`' cache; ``build`` only checks (or, the first time, builds in a
subprocess) that they exist, so the caller never imports TensorFlow -- it is not fork-safe,
and ``multiprocessing`` forks pools from the caller.

Variants (no naive/shared: the input is a file name): ``reload`` -- every task loads the model
and images, as a stateless ``Pool.map`` must; ``per-worker`` -- loaded once per worker and
kept (per process, or per thread on thread backends), what a Pool/loky initializer or Dask
worker state gives; ``tf-threads`` -- serial only, one model in the caller on TensorFlow's own
intra-op threads over every usable CPU; ``actors`` -- ray only, one :class:`Classifier` actor
per worker within the backend's CPUs (``RayBackend.actors``), each loading the model in
``__init__``, batches round-robin.

Every process that classifies sets TensorFlow's intra/inter-op threads explicitly
(:func:`tf_threads`). :func:`fresh` runs one round with a new *generation* of per-worker state
(new actors), so the first round -- loading included -- is timed on its own. Ray starts a new
process for each actor rather than reusing the warm task workers, so the actors' first round
also pays a process start and TensorFlow's import: what actor users pay. Pinning (the
benchmark's ``pinned``) is :mod:`bench_lib.backends.affinity`'s; later actors follow it.
"""

from __future__ import annotations

import functools
import itertools
import os
import threading
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from bench_lib import config
from bench_lib.backends import affinity, Backend
from bench_lib.workloads import Inputs, models, Variant, Workload

BATCH = {"full": 10_000, "small": 256}
ROUNDS = {"full": 3, "small": 2}
PREDICT_BATCH = 32  # Keras's default: what ``model.predict(x)`` does


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
    """TensorFlow's (intra_op, inter_op) threads in each process that classifies: workers get
    ``PARBENCH_THREADS_PER_WORKER`` for both, like every other library here; thread backends
    share one process and one setting, and their calls still run side by side (TensorFlow runs
    one-thread kernels in the calling thread). ``tf-threads``: serial, on every usable CPU."""
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
    return classify(models.load_model(batches.model), models.load_images(batches.images), batches, index)


_held = threading.local()  # (paths, generation, model, images) of this worker thread


def held(batches: Batches, threads: tuple[int, int], generation: str | None = None):
    """This worker's model and images, loaded on first use and kept; a new ``generation``
    loads them again (a first round), ``None`` takes whatever is held."""
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
    return np.concatenate([predict_held(inputs.data, i, threads) for i in inputs.items])


# -- Ray actors -----------------------------------------------------------------------------
class Classifier:
    """A Ray actor (``ray.remote`` is applied at use): loads the model once, in ``__init__``."""

    def __init__(self, batches: Batches, threads: tuple[int, int], core: int | None = None):
        if core is not None:
            affinity.set_affinity(os.getpid(), [core])
        models.configure_tensorflow(*threads)
        self.model = models.load_model(batches.model)
        self.images = models.load_images(batches.images)

    def classify(self, batches: Batches, index: int) -> np.ndarray:
        return classify(self.model, self.images, batches, index)


# -- rounds ---------------------------------------------------------------------------------
def classify_items(backend: Backend, inputs: Inputs, variant: str, items: list,
                   generation: str | None = None) -> np.ndarray:
    batches = inputs.data
    if variant == "actors":  # the backend's Classifier actors (Ray): new ones for a new generation
        args = lambda i: (batches, tf_threads("actors"), affinity.core_for(backend, i))  # noqa: E731
        backend.actors(Classifier, (batches.model, batches.images), args, generation)
        return np.concatenate(backend.actor_map("classify", items, batches))
    backend.retire_actors()  # actors hold the run's CPUs that tasks need
    threads = tf_threads(variant)
    if variant == "reload":
        task = functools.partial(predict_reload, threads=threads)
    else:  # per-worker, tf-threads
        task = functools.partial(predict_held, threads=threads, generation=generation)
    return np.concatenate(backend.map(task, items, data=batches))


def every_round(_wl, backend: Backend, inputs: Inputs, variant: str) -> np.ndarray:
    """Every round, steady state: per-worker models are reused if loaded."""
    return classify_items(backend, inputs, variant, inputs.items)


_generations = itertools.count(1)


def fresh(backend: Backend, inputs: Inputs, variant: str) -> Callable[[], np.ndarray]:
    """A call running one round (a batch per worker) in which every worker loads anew;
    clearing the way -- retiring the previous actors -- happens here, not in the call."""
    reason = WORKLOAD.unsupported(backend.name, variant)
    if reason:
        raise ValueError(reason)
    generation = f"{os.getpid()}-{next(_generations)}"
    if variant == "actors":
        backend.retire_actors()
    items = inputs.items[: backend.n_workers]
    return functools.partial(classify_items, backend, inputs, variant, items, generation)


def time_first_round(backend: Backend, inputs: Inputs, variant: str) -> float:
    """Seconds of one first round, model loading included."""
    run = fresh(backend, inputs, variant)
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


# -- inputs ---------------------------------------------------------------------------------
def build(size: str, n_workers: int = 1) -> Inputs:
    """Batch indices for ``n_workers`` x rounds; the model is built (in a subprocess) if missing."""
    model = models.ensure_model()
    batches = Batches(str(model), str(models.images_path(model.parent)), BATCH[size])
    rounds = ROUNDS[size]
    return Inputs(batches, list(range(n_workers * rounds)), {"rounds": rounds, "batch": BATCH[size]})


WORKLOAD = Workload(
    name="model_inference",
    tasks=ROUNDS["full"],
    build=build,
    task=predict_reload,
    reduce=np.concatenate,
    headline="model_inference.ModelInference.time_rounds",
    headline_fixed={"pinned": False},
    modules=("numpy", "tensorflow", "keras"),
    libraries="tensorflow",
    sized_by_workers=True,
    weak_scaling=True,  # a batch per worker per round
    own_serial_loop=solo,
    gap_pair=("reload", "per-worker"),
    variants=(
        Variant("reload", every_round),
        Variant("per-worker", every_round),
        Variant("tf-threads", every_round, ("serial",)),
        Variant("actors", every_round, ("ray",)),
    ),
)
