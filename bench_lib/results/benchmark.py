"""A benchmark a run measures and what one of its points costs: the records that planning
(bench_lib.run.plan), costing (bench_lib.run.costs) and the ledger (bench_lib.results.ledger) pass between
them, kept below all three so none imports another for a type."""

from __future__ import annotations

import dataclasses
import re
import statistics


MIN_RUN_COUNT = 2  # asv's default: a time_* point runs its function at least twice


def samples(sample_s: float, repeat: tuple) -> int:
    """How many samples asv takes of a point whose one sample lasts ``sample_s`` under
    ``repeat = (min_repeat, max_repeat, max_time)``: it stops once it has ``min_repeat``
    (and two runs) and more than ``max_time`` has passed, or at ``max_repeat``."""
    low, high, max_time = repeat
    taken = 0
    while taken < high:
        taken += 1
        if taken >= max(low, MIN_RUN_COUNT) and taken * sample_s > max_time:
            break
    return taken


@dataclasses.dataclass(frozen=True)
class Cost:
    """One measured point's seconds, as recorded: ``fixed_s`` that sampling does not decide,
    and of a time_* benchmark the length of one sample at each point recorded (its
    sampling at another ``repeat`` follows asv's rule); of a protocol benchmark, the time
    cap it ran under, ``sampled_s`` the part that grows with the cap."""

    fixed_s: float
    sample_s: tuple[float, ...] = ()
    sampled_s: float = 0.0       # the recorded sampling per point (time_*)
    cap_s: float | None = None   # the protocol's cap it was recorded under

    @property
    def recorded_s(self) -> float:
        return self.fixed_s + self.sampled_s

    def at(self, repeat: tuple | None = None, cap_s: float | None = None) -> float:
        """Seconds per point under ``repeat`` (time_*) or the time cap ``cap_s`` (protocol)."""
        if self.sample_s and repeat:
            return self.fixed_s + statistics.fmean(samples(s, repeat) * s for s in self.sample_s)
        if cap_s and self.cap_s:
            return self.fixed_s + self.sampled_s * cap_s / self.cap_s
        return self.recorded_s

    def scaled(self, factor: float) -> "Cost":
        """This cost on a machine ``factor`` times slower: every part, samples included."""
        return Cost(self.fixed_s * factor, tuple(s * factor for s in self.sample_s), self.sampled_s * factor,
                    self.cap_s)


@dataclasses.dataclass
class Benchmark:
    """One asv benchmark and the parameter combinations of it this run measures."""

    name: str                # module.Class.method, as asv names it
    selected: list[int]      # indices into the product of its params ([0] without params)
    total: int               # combinations it has
    estimate_s: float | None = None
    source: str = "guess"    # of its estimate: "measured" here, "elsewhere" (other machines), "guess"
    repeat: tuple | None = None  # asv's (min_repeat, max_repeat, max_time) of a time_* benchmark
    attributes: list[str] = dataclasses.field(default_factory=list)  # asv -a overrides (a budget)
    params: tuple[dict, ...] = ()  # the selected combinations: {param name: value as asv shows it}
    skips: frozenset[int] = frozenset()  # indices asv will record as n/a (the class's ``skipped``)
    cost: Cost | None = None  # of one measured point (costs.estimate)
    start_s: float = 0.0  # engine start its points pay beyond their cost (starts.engine_starts)
    start_range: tuple[float, float] = (0.0, 0.0)  # low, high of start_s

    @property
    def measured(self) -> bool:
        return self.source == "measured"

    @property
    def n_a(self) -> int:
        """Selected combinations asv will record as n/a: a fork and a raise, no measurement."""
        return len(self.skips.intersection(self.selected))

    @property
    def group(self) -> str:
        return self.name.rsplit(".", 1)[0]

    def regex(self, names: list[str]) -> str:
        """The ``--bench`` regex asv needs to run exactly the selected combinations."""
        if len(self.selected) == self.total:
            return f"^{re.escape(self.name)}(\\(|$)"
        return "^(" + "|".join(re.escape(names[i]) for i in self.selected) + ")$"
