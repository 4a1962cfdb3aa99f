"""The arithmetic of the overhead figures, without engines (expected values by hand): the
median of repeats, import cost unclamped, seconds per item, which transfers and harness
comparisons exist. Fast, for mutation testing; tests/test_engines.py runs the real thing."""

import numpy as np
import pytest

from bench_lib import backends
from bench_lib.measure import overhead


def test_median_of_repeats_calls_each_time_with_the_arguments():
    calls, values = [], iter([3.0, 1.0, 2.0, 9.0])
    assert overhead.median_of(3, lambda a, b: calls.append((a, b)) or next(values), "x", 2) == 2.0
    assert calls == [("x", 2)] * 3


def test_import_cost_is_cold_minus_the_median_warm_call_unclamped():
    assert overhead.import_cost(1.0, [0.2, 0.1, 0.3]) == pytest.approx(0.8)
    assert overhead.import_cost(0.1, [0.2, 0.3, 0.25]) == pytest.approx(-0.15)  # below the noise


def test_per_item_divides():
    assert overhead.per_item(1.0, 500) == pytest.approx(0.002)


@pytest.mark.parametrize("name,path,refused", [
    ("threads", "shared", "shares memory"), ("joblib-threading", "shared", "shares memory"),
    ("serial", "shared", "shares memory"), ("multiprocessing", "shared", "restarting its pool"),
    ("loky", "shared", None), ("ray", "shared", None), ("dask", "shared", None),
    ("threads", "normal", None), ("multiprocessing", "normal", None),
])
def test_which_transfers_exist(name, path, refused):
    reason = overhead.transfer_unsupported(backends.backend_class(name), path)
    assert reason is None if refused is None else (refused in reason and name in reason)


def test_echo_hands_back_and_check_echo_notices_a_change():
    a = np.arange(5.0)
    assert overhead.echo(a) is a and overhead.echo(a, None) is a
    overhead._check_echo([a.copy()], a)
    with pytest.raises(AssertionError, match="^transfer: the array came back changed$"):
        overhead._check_echo([a + 1], a)
    with pytest.raises(AssertionError):
        overhead._check_echo([a[:4]], a)
    with pytest.raises(ValueError):
        overhead._check_echo([a, a], a)


@pytest.mark.parametrize("name", ["serial"])
def test_harness_has_nothing_to_compare_on_a_loop(name):
    assert "no engine idiom" in overhead.harness_unsupported(backends.backend_class(name))


@pytest.mark.parametrize("name", ["threads", "multiprocessing", "loky", "joblib-multiprocessing",
                                  "joblib-threading", "ray", "dask"])
def test_harness_compares_every_engine_with_an_idiom(name):
    assert overhead.harness_unsupported(backends.backend_class(name)) is None


def test_noop_is_the_warm_up_with_nothing_to_import():
    task = overhead.noop(3)
    assert task.args == ((), 3) and task(0.0) > 0  # a pid
    assert overhead.noop().args == ((), 1)  # one BLAS thread unless told
