"""GPU imbalance measures (fastml.kernels.gpu.resample behind imbalance_report, irlbl,
scumble, ...) against the CPU path; the sequential resampling algorithms take device labels
to the host."""

import numpy as np
import pytest
from _gpu_support import KernelSpy, cudasim, dev, host, is_device, tiny_launch

from fastml.resample import (
    cvir,
    imbalance_report,
    irlbl,
    max_ir,
    mean_ir,
    mlros,
    scumble,
    scumble_per_label,
    scumble_per_sample,
)

pytestmark = cudasim


def _labels(rng, n=25, L=6):
    y = (rng.random((n, L)) < [0.5, 0.3, 0.1, 0.05, 0.6, 0.0][:L]).astype(np.int64)
    y[0, 3] = 1
    return y


@pytest.mark.parametrize("dtype", [bool, np.uint8, np.int64, np.float32, np.float16])
def test_measures_match_cpu(monkeypatch, dtype):
    spy = KernelSpy(monkeypatch, "resample", ["label_counts", "scumble"])
    y = _labels(np.random.default_rng(3)).astype(dtype)
    d = dev(y)
    with tiny_launch():
        for fn in (irlbl, scumble_per_label, scumble_per_sample):
            got, want = fn(d), fn(y)
            assert is_device(got)
            np.testing.assert_allclose(host(got), want, rtol=1e-12, atol=1e-15)
        for fn in (mean_ir, max_ir, cvir, scumble):
            got, want = fn(d), fn(y)
            assert type(got) is float
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
        got, want = imbalance_report(d, list("abcdef")), imbalance_report(y, list("abcdef"))
    for field in ("count", "prevalence", "irlbl", "scumble_label"):
        np.testing.assert_allclose(getattr(got, field), getattr(want, field), rtol=1e-12)
    assert (got.mean_ir, got.max_ir, got.n_samples) == (want.mean_ir, want.max_ir,
                                                       want.n_samples)
    np.testing.assert_allclose(got.scumble, want.scumble, rtol=1e-12)
    assert set(spy.calls) == {"label_counts", "scumble"}


def test_one_row_and_bad_labels():
    y = np.array([[1, 0, 1]])
    with tiny_launch():
        np.testing.assert_allclose(host(irlbl(dev(y))), irlbl(y))
        assert scumble(dev(y)) == scumble(y)
        with pytest.raises(ValueError, match="only 0 and 1"):
            irlbl(dev(np.array([[2, 0], [1, 1]])))
        with pytest.raises(ValueError, match="2-D"):
            irlbl(dev(np.array([1, 0])))


def test_resampling_takes_device_labels_to_the_host():
    rng = np.random.default_rng(4)
    y = _labels(rng)
    X = rng.random((25, 3))
    xw, yw = mlros(X, y, random_state=0)
    xg, yg = mlros(X, dev(y), random_state=0)
    np.testing.assert_array_equal(xg, xw)
    np.testing.assert_array_equal(host(yg), yw)
