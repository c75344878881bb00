"""GPU leakage checks (fastml.kernels.gpu.leakage behind has_leakage / shared_ids /
overlap_mask) against the CPU path: int64, uint64, float IDs, NaN, empty columns, and the
host route for anything else."""

import numpy as np
import pytest
from _gpu_support import KernelSpy, cudasim, dev, host, is_device, tiny_launch

from fastml.leakage import has_leakage, overlap_mask, shared_ids

pytestmark = cudasim


def _check(a, b, a_dev=True, b_dev=True):
    da = dev(a) if a_dev else a
    db = dev(b) if b_dev else b
    with tiny_launch():
        got_any = has_leakage(da, db)
        got_ids = shared_ids(da, db)
        got_mask = overlap_mask(da, db)
    assert got_any is has_leakage(a, b)
    want_ids = shared_ids(a, b)
    assert is_device(got_ids) and is_device(got_mask)
    np.testing.assert_array_equal(host(got_ids), want_ids)
    assert host(got_ids).dtype == want_ids.dtype
    np.testing.assert_array_equal(host(got_mask), overlap_mask(a, b))


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint64, np.uint16, np.float64,
                                   np.float32])
def test_numeric_ids_on_the_device(monkeypatch, dtype):
    spy = KernelSpy(monkeypatch, "leakage", ["member_mask"])
    rng = np.random.default_rng(1)
    a = rng.integers(0, 60, 40).astype(dtype)
    b = rng.integers(50, 120, 25).astype(dtype)
    _check(a, b)
    _check(a, b, b_dev=False)  # a host column next to a device one
    _check(a, np.array([], dtype))
    _check(a, a[::-1].copy())
    _check(a[:1], b[:1])
    assert spy.calls


def test_extreme_values_and_nan():
    big = np.array([2**64 - 1, 2**63, 0, 7], np.uint64)
    _check(big, np.array([2**63, 5, 2**64 - 1], np.uint64))
    ints = np.array([-(2**63), 2**63 - 1, -1, 0], np.int64)
    _check(ints, np.array([2**63 - 1, -1, 3], np.int64))
    f = np.array([np.nan, 1.5, -0.0, np.inf, 2.0])
    _check(f, np.array([np.nan, 0.0, np.inf, 3.0]))
    _check(np.array([np.nan]), np.array([np.nan]))


def test_mixed_types_go_to_the_host(monkeypatch):
    spy = KernelSpy(monkeypatch, "leakage", ["member_mask"])
    ints = np.array([1, 2, 3], np.int64)
    _check(ints, np.array([2.0, 3.5]))  # integers against floats: the CPU's exact rule
    _check(ints, np.array([3, 4], np.uint64))  # signed against uint64
    with tiny_launch():
        assert has_leakage(dev(ints), ["x", 2]) is has_leakage(ints, ["x", 2])
        assert has_leakage(dev(np.array([True, False])), dev(np.array([True])))
    assert spy.calls == []
