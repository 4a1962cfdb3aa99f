"""bench_lib.measure.ratios without engines: the published view of a measurement (every field worked
out by hand from hand-made samples), the point's time cap and guard settings, and which
variant a speedup or gap is measured on. Fast, for mutation testing."""

import math

import pytest

from bench_lib import config
from bench_lib.measure import protocol, ratios


def test_record_is_the_published_view_of_one_measurement():
    # Three rounds: serial 0.4, 0.5, 0.6 s; loky 0.2, 0.25, 0.4 s: ratios 2, 2, 1.5.
    m = protocol.Measurement(
        times={"serial": [0.4, 0.5, 0.6], "loky": [0.2, 0.25, 0.4]},
        discarded=4, noisy=1, precise=False, stopped="time cap",
        loads=[protocol.Load(0.5, 0.1, 0.0), protocol.Load(0.25, 0.2, 0.0), protocol.Load(0.0, 1.0, 0.0)],
    )
    out = ratios.record("speedup", "serial", "loky", m, workload="filter_bank", backend="loky",
                        n_workers=2, variant="shared")
    geo = (2 * 2 * 1.5) ** (1 / 3)
    logs = [math.log(2), math.log(2), math.log(1.5)]
    mean = sum(logs) / 3
    sd = math.sqrt(sum((x - mean) ** 2 for x in logs) / 2)
    half = 4.302652729911275 * sd / math.sqrt(3)  # t(0.975, 2 dof), from a table
    assert out["kind"] == "speedup" and out["workload"] == "filter_bank" and out["variant"] == "shared"
    assert out["backend"] == "loky" and out["n_workers"] == 2
    assert out["value"] == pytest.approx(geo, rel=1e-12)
    assert out["ci"] == pytest.approx([math.exp(mean - half), math.exp(mean + half)], rel=1e-9)
    assert out["half_width"] == pytest.approx((math.exp(mean + half) - math.exp(mean - half)) / 2 / geo, rel=1e-9)
    assert out["pairs"] == 3
    assert out["time_s"] == pytest.approx((0.2 * 0.25 * 0.4) ** (1 / 3), rel=1e-12)  # the bottom arm
    assert out["other_time_s"] == pytest.approx((0.4 * 0.5 * 0.6) ** (1 / 3), rel=1e-12)
    assert out["samples_s"] == {"top": [0.4, 0.5, 0.6], "bottom": [0.2, 0.25, 0.4]}
    assert (out["precise"], out["stopped"], out["discarded"], out["noisy"], out["quiet"]) == (
        False, "time cap", 4, 1, False)
    # 0.2 s of 0.25 s, less the two 10 ms ticks the clock cannot resolve; a 0 s wall counts 0
    assert out["foreign_cores_max"] == pytest.approx((0.2 - 0.02) / 0.25)


def test_record_of_one_round_has_no_interval():
    m = protocol.Measurement(times={"a": [1.0], "b": [0.5]})
    out = ratios.record("gap", "a", "b", m)
    assert out["value"] == pytest.approx(2.0) and out["ci"] == [None, None] and out["half_width"] is None
    assert out["quiet"] and out["foreign_cores_max"] == 0.0


def test_time_cap_reads_the_setting_and_refuses_nonsense(monkeypatch):
    monkeypatch.delenv("PARBENCH_POINT_CAP_S", raising=False)
    monkeypatch.setenv("PARBENCH_SIZE", "small")
    assert config.point_cap_s() == 10.0
    monkeypatch.setenv("PARBENCH_SIZE", "full")
    assert config.point_cap_s() == 60.0
    # a run's own environment, not this process's, when it is given
    assert config.point_cap_s({"PARBENCH_SIZE": "small"}) == 10.0
    assert config.point_cap_s({"PARBENCH_POINT_CAP_S": "30"}) == 30.0
    monkeypatch.setenv("PARBENCH_POINT_CAP_S", "7.5")
    assert config.point_cap_s() == 7.5
    monkeypatch.setenv("PARBENCH_POINT_CAP_S", "0.5")  # under a second is a cap too
    assert config.point_cap_s() == 0.5
    for bad in ("0", "-3", "abc", "nan"):
        monkeypatch.setenv("PARBENCH_POINT_CAP_S", bad)
        with pytest.raises(config.ConfigError, match="PARBENCH_POINT_CAP_S"):
            config.point_cap_s()


def test_guard_is_off_only_when_asked(monkeypatch):
    monkeypatch.delenv("PARBENCH_GUARD", raising=False)
    assert type(ratios.guard()) is protocol.Guard
    monkeypatch.setenv("PARBENCH_GUARD", "off")
    assert type(ratios.guard()) is protocol.NoGuard
    monkeypatch.setenv("PARBENCH_GUARD", "on")
    assert type(ratios.guard()) is protocol.Guard


@pytest.mark.parametrize("workload,backend,n,variant", [
    ("filter_bank", "loky", 2, "shared"),  # the shared variant where it means something
    ("filter_bank", "threads", 2, "naive"),  # threads share memory: no shared variant
    ("interpolators", "ray", 2, "shared"),
    ("model_inference", "loky", 2, "per-worker"),  # its own (reload, per-worker) pair
    ("model_inference", "serial", 1, "per-worker"),
    ("filter_bank", "serial", 2, None),  # serial has one worker
])
def test_best_variant_is_the_one_a_careful_user_runs(workload, backend, n, variant):
    assert ratios.best_variant(workload, backend, n) == variant
    assert (ratios.unsupported(workload, backend, n) is None) == (variant is not None)


@pytest.mark.parametrize("workload,backend,runs", [
    ("filter_bank", "loky", True), ("filter_bank", "threads", False), ("filter_bank", "serial", False),
    ("model_inference", "ray", True),
])
def test_a_gap_needs_both_of_its_variants(workload, backend, runs):
    reason = ratios.unsupported(workload, backend, 2, "gap")
    assert (reason is None) == runs
    assert runs or workload in reason or backend in reason


def test_params_are_the_representative_ones_and_a_copy():
    assert ratios.params_for("interpolators") == {"grid": 300}
    assert ratios.params_for("volume_gaussian") == {}
    ratios.params_for("filter_bank")["filter_size"] = "511x511"
    assert ratios.params_for("filter_bank") == {"filter_size": "5x5"}


def test_in_a_group_each_arm_is_precise_on_its_own_interval():
    # A group stopped at its time cap: arm a's ratios are 2, 2, 2 (half-width 0), arm b's
    # 2, 4, 2 (far wider than 3%); only a is precise.
    m = protocol.Measurement(times={"serial": [1.0, 1.0, 1.0], "a": [0.5, 0.5, 0.5], "b": [0.5, 0.25, 0.5]},
                             precise=False, stopped="time cap")
    assert ratios.record("speedup", "serial", "a", m)["precise"] is True
    assert ratios.record("speedup", "serial", "b", m)["precise"] is False
    # ratios 1.02, 1.0, 0.98: log half-width = t(0.975, 2) x sd / sqrt(3) = 4.3027 x 0.02 / 1.732
    # ~ 0.0497, above 3%
    wide = protocol.Measurement(times={"serial": [1.02, 1.0, 0.98], "c": [1.0, 1.0, 1.0]})
    assert ratios.record("speedup", "serial", "c", wide)["precise"] is False
