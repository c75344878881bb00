"""fastml.losses on Dask arrays equals the in-memory result."""

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
import dask  # noqa: E402

from fastml.losses import focal_loss, label_frequencies, label_weights, weighted_bce  # noqa: E402


@pytest.fixture(autouse=True)
def _threads():
    with dask.config.set(scheduler="threads"):
        yield


def _data(rng, n=1000, k=6, dtype=np.float64):
    y = (rng.random((n, k)) < 0.1).astype(np.float64)
    z = (3 * rng.standard_normal((n, k))).astype(dtype)
    return y, z


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fn,kw", [
    (weighted_bce, {"w_pos": [2.0, 1, 1, 3, 1, 0.5]}),
    (focal_loss, {"alpha": 0.25, "gamma": 2.0, "hessian": "fisher"}),
])
def test_losses_match_in_memory(fn, kw, dtype):
    rng = np.random.default_rng(0)
    y, z = _data(rng, dtype=dtype)
    w = rng.random(y.shape[0])
    dy, dz = da.from_array(y, chunks=(170, 6)), da.from_array(z, chunks=(300, 3))
    dw = da.from_array(w, chunks=250)
    for reduction in ("mean", "sum"):
        for sw, dsw in ((None, None), (w, dw)):
            want = fn(y, z, reduction=reduction, sample_weight=sw, return_grad=True,
                      return_hess=True, **kw)
            got = fn(dy, dz, reduction=reduction, sample_weight=dsw, return_grad=True,
                     return_hess=True, **kw)
            assert isinstance(got[0], float)
            np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
            for g, w_ in zip(got[1:], want[1:], strict=True):
                assert isinstance(g, da.Array)
                np.testing.assert_array_equal(g.compute(), w_)
    none = fn(dy, dz, reduction="none", **kw)
    assert isinstance(none, da.Array) and none.dtype == z.dtype
    np.testing.assert_array_equal(none.compute(), fn(y, z, reduction="none", **kw))
    # one side in memory
    np.testing.assert_allclose(fn(y, dz, **kw), fn(y, z, **kw), rtol=1e-12)


def test_errors_surface():
    rng = np.random.default_rng(1)
    y, z = _data(rng)
    z[500, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        weighted_bce(da.from_array(y, chunks=200), da.from_array(z, chunks=200))
    with pytest.raises(ValueError, match="same shape"):
        weighted_bce(da.from_array(y[:-1], chunks=200), da.from_array(z, chunks=200))
    with pytest.raises(ValueError, match="reduction"):
        weighted_bce(da.from_array(y, chunks=200), da.from_array(z, chunks=200),
                     reduction="avg")


def test_label_frequencies_and_weights():
    rng = np.random.default_rng(2)
    y = (rng.random((2000, 5)) < [0.5, 0.1, 0.01, 0.0, 0.3]).astype(np.int64)
    dy = da.from_array(y, chunks=(333, 2))
    for got, want in zip(label_frequencies(dy), label_frequencies(y), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-13)
    with pytest.warns(UserWarning):
        got = label_weights(dy, "balanced")
    with pytest.warns(UserWarning):
        want = label_weights(y, "balanced")
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-13)
    np.testing.assert_allclose(label_frequencies(dy[:, 0])[0], label_frequencies(y[:, 0])[0])
    bad = y.copy()
    bad[1500, 1] = 2
    with pytest.raises(ValueError):
        label_frequencies(da.from_array(bad, chunks=(333, 5)))
