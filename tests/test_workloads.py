"""Every workload gives the serial answer on every backend and variant (small sizes)."""

import numpy as np
import pytest
from scipy import signal

from bench_lib import backends, harness, workloads
from bench_lib.backends import BackendError

# Every process-based engine and one shared-memory one; all of them in test_benchmarks.
CASES = [
    (b, n, v)
    for b in backends.names()
    for n in (1, 2)
    for v in harness.VARIANTS
    if harness.unsupported(b, n, v) is None
]


@pytest.fixture(scope="module", autouse=True)
def close_engines():
    yield
    backends.close_all()


@pytest.mark.parametrize("filter_size", ["5x5", "511x511"])
@pytest.mark.parametrize("backend,n_workers,variant", CASES)
def test_filter_bank_matches_serial(backend, n_workers, variant, filter_size):
    wl = workloads.get("filter_bank")
    inputs = wl.inputs("small", filter_size=filter_size)
    engine = backends.warm(backend, n_workers, wl.modules)
    got = wl.run(engine, inputs, variant)
    np.testing.assert_allclose(got, wl.serial(inputs), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("filter_size", ["5x5", "511x511"])
def test_filter_bank_serial_is_a_direct_convolution(filter_size):
    """The reference itself checked against a different algorithm (direct, not FFT)."""
    wl = workloads.get("filter_bank")
    inputs = wl.inputs("small", filter_size=filter_size)
    direct = sum(signal.convolve2d(inputs.data, f, mode=mode) for f, mode in inputs.items)
    np.testing.assert_allclose(wl.serial(inputs), direct, rtol=1e-8, atol=1e-8)


def test_bad_workload_input_is_rejected():
    with pytest.raises(ValueError, match="unknown workload 'nope'; choose one of: filter_bank"):
        workloads.get("nope")
    with pytest.raises(ValueError, match="filter_size='3x3'"):
        workloads.get("filter_bank").inputs("small", filter_size="3x3")
    with pytest.raises(ValueError, match="unknown variant"):
        with backends.get("serial", 1) as b:
            workloads.get("filter_bank").run(b, workloads.get("filter_bank").inputs("small"), "cached")


def test_meaningless_combinations_are_skipped_not_failed():
    assert "shares memory" in harness.unsupported("threads", 2, "shared")
    assert "exceeds 1" in harness.unsupported("serial", 2, "naive")
    with pytest.raises(NotImplementedError):
        harness.prepare("filter_bank", "serial", 2, "naive", filter_size="5x5")
    with pytest.raises(BackendError, match="unknown backend"):
        harness.prepare("filter_bank", "mpi", 1, "naive", filter_size="5x5")
