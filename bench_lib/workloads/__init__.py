"""Workloads: pure functions, importable by every worker, with a registry like backends.

A workload turns a size and its own parameters into ``Inputs``: one large read-only
``data`` object and a list of small per-task ``items``. ``task(data, item)`` is what a
worker runs and ``reduce`` combines the results in order, so every backend computes
exactly the same answer as serial.

Variants are ways to run it. ``NAIVE`` ships the input with every task, as people first
write it -- the whole ``data``, or, for a workload with ``pack``, each task's own piece cut
out and copied (a chunked volume); ``SHARED`` places ``data`` once with the engine's own
mechanism and tasks carry only their item. A workload may have variants of its own: a
runner and the backends it makes sense on, such as ``dask.array.map_overlap`` on Dask.

Each ``Workload`` is also the catalogue entry every reader uses (the report, the ratios,
the site, the benchmarks): its headline benchmark, the parameters its ratios and table are
taken at, the libraries its workers import, and whether its work grows with the workers.

Beside them: their synthetic inputs (data) and the model_inference model (models).
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

from bench_lib.backends import Backend


def apply_packed(task: Callable, packed: tuple) -> Any:
    """Run ``task`` on a (piece, item) pair that carries its own data (naive + pack)."""
    piece, item = packed
    return task(piece, item)


@dataclass(frozen=True)
class Inputs:
    data: Any
    items: list
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Variant:
    """One way to run a workload, on the backends where it means something.

    ``run(workload, backend, inputs, name)`` is one complete run; ``name`` lets one runner
    serve several variants that differ only in how a task is set up."""

    name: str
    run: Callable[["Workload", Backend, Inputs, str], Any]
    backends: tuple[str, ...] | None = None  # None: every backend

    def unsupported(self, workload: str, backend: str) -> str | None:
        if self.backends is not None and backend not in self.backends:
            return f"{workload}: {self.name!r} runs on {', '.join(self.backends)} only"
        return None


def ship_with_every_task(wl: "Workload", backend: Backend, inputs: Inputs, _name: str):
    if wl.pack is None:
        return wl.reduce(backend.map(wl.task, inputs.items, data=inputs.data))
    packed = [wl.pack(inputs.data, item) for item in inputs.items]
    return wl.reduce(backend.map(functools.partial(apply_packed, wl.task), packed))


def place_once(wl: "Workload", backend: Backend, inputs: Inputs, _name: str):
    return wl.reduce(backend.map(wl.task, inputs.items, data=backend.share(inputs.data)))


NAIVE = Variant("naive", ship_with_every_task)
SHARED = Variant("shared", place_once)


@dataclass(frozen=True)
class Workload:
    name: str
    build: Callable[..., Inputs]  # build(size, **params) -> Inputs (cached by the module)
    task: Callable[[Any, Any], Any]
    reduce: Callable[[list], Any]
    headline: str  # the asv benchmark holding its steady-state time: the report's table
    modules: tuple[str, ...] = ("numpy", "scipy.signal")  # what its workers import
    # Which set of overhead.IMPORTS (the Imports benchmark's ``modules``) its workers pay.
    libraries: str = "scipy"
    params: dict = field(default_factory=dict)  # name -> allowed values, for validation
    # Where its ratios are measured and its table shown: where the question is sharpest.
    representative: dict = field(default_factory=dict)
    headline_fixed: dict = field(default_factory=dict)  # the headline's other fixed parameters
    pack: Callable[[Any, Any], tuple] | None = None  # naive: (data, item) -> (piece, item)
    variants: tuple[Variant, ...] = (NAIVE, SHARED)  # in the order asv lists them
    sized_by_workers: bool = False  # build() takes n_workers (its batch can grow with them)
    # The representative run gives every worker its own share of work, so a speedup from
    # times is n x T(serial) / T(n) (weak scaling); else the work is fixed (strong).
    weak_scaling: bool = False
    # Tasks of one full-size run at its representative parameters (per worker, for weak
    # scaling), what the forecast's dispatch and rounding count; None: one per worker.
    tasks: int | None = None
    warm_before_timing: bool = True  # False where one run is long and has nothing to warm
    # The (slow, fast) pair of variants whose time ratio is the cost of shipping state with
    # every task (the Gap benchmark).
    gap_pair: tuple[str, str] = (NAIVE.name, SHARED.name)
    # Its own steady serial loop, where the reference loop is not steady (a model loaded
    # per batch): what speedups and the machine's ceiling are measured against.
    own_serial_loop: Callable[[Inputs], Any] | None = None
    # A tiny call through a process-wide lock of the workload's library that its tasks
    # take besides the GIL (SciPy's FITPACK_LOCK): the probe of scaling.LockHeld (bench_lib.measure.gil).
    lock_probe: Callable[[], Callable[[], Any]] | None = None

    @property
    def variant_names(self) -> list[str]:
        return [v.name for v in self.variants]

    @property
    def table_params(self) -> dict:
        """The headline benchmark's parameters fixed for the report's table."""
        return {**self.representative, **self.headline_fixed}

    def variant(self, name: str) -> Variant | None:
        return next((v for v in self.variants if v.name == name), None)

    def unsupported(self, backend: str, variant: str) -> str | None:
        found = self.variant(variant)
        if found is None:
            return f"{self.name} has no variant {variant!r} (it has {self.variant_names})"
        return found.unsupported(self.name, backend)

    def inputs(self, size: str, n_workers: int | None = None, **params) -> Inputs:
        for key, value in params.items():
            allowed = self.params.get(key)
            if allowed is None:
                raise ValueError(f"workload {self.name!r} has no parameter {key!r}")
            if value not in allowed:
                raise ValueError(f"{self.name}: {key}={value!r}; choose one of {list(allowed)}")
        if self.sized_by_workers:
            params["n_workers"] = n_workers or 1
        return self.build(size, **params)

    def run(self, backend: Backend, inputs: Inputs, variant: str = NAIVE.name):
        """One complete run: tasks submitted, results gathered and reduced."""
        reason = self.unsupported(backend.name, variant)
        if reason:
            raise ValueError(reason)
        return self.variant(variant).run(self, backend, inputs, variant)

    def reference_answer(self, inputs: Inputs):
        """The reference answer: a plain loop, no engine."""
        return self.reduce([self.task(inputs.data, item) for item in inputs.items])

    def serial_loop(self, inputs: Inputs):
        """The steady serial run speedups are measured against (a loop, no engine)."""
        if self.own_serial_loop is not None:
            return self.own_serial_loop(inputs)
        return self.reference_answer(inputs)


_REGISTRY = {
    "filter_bank": "bench_lib.workloads.filter_bank:WORKLOAD",
    "convolve2d": "bench_lib.workloads.convolve2d:WORKLOAD",
    "volume_gaussian": "bench_lib.workloads.volume_gaussian:WORKLOAD",
    "interpolators": "bench_lib.workloads.interpolators:WORKLOAD",
    "model_inference": "bench_lib.workloads.model_inference:WORKLOAD",
}

# Another package adds a workload by naming its Workload under this entry-point group:
#   [project.entry-points."parbench.workloads"]
#   toy = "my_package.toy:WORKLOAD"
# The generic benchmarks (scaling.Ratios, Gap, Ceiling, ...) then measure it like the seed
# workloads; a plug-in cannot replace one of those (their results would change meaning).
PLUGIN_GROUP = "parbench.workloads"


@functools.cache
def _plugins() -> dict[str, str]:
    """Installed plug-ins' workloads, name -> "module:attr", sorted by name."""
    from importlib.metadata import entry_points

    found = {ep.name: ep.value for ep in entry_points(group=PLUGIN_GROUP) if ep.name not in _REGISTRY}
    return dict(sorted(found.items()))


def _paths() -> dict[str, str]:
    return {**_REGISTRY, **_plugins()}


def names() -> list[str]:
    return list(_paths())


def get(name: str) -> Workload:
    paths = _paths()
    try:
        module, _, attr = paths[name].partition(":")
    except KeyError:
        raise ValueError(f"unknown workload {name!r}; choose one of: {', '.join(paths)}") from None
    try:
        found = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"workload {name!r} ({paths[name]}) cannot be loaded: {exc}") from None
    if not isinstance(found, Workload) or found.name != name:
        raise ValueError(f"workload {name!r} ({paths[name]}) is not a Workload named {name!r}")
    return found
