"""The Dask back end on a distributed LocalCluster with two worker processes: every task
(closures, kernels, broadcast arrays) travels to other processes and back."""

import warnings

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
pd = pytest.importorskip("pandas")
distributed = pytest.importorskip("distributed")

import fastml.metrics as fm  # noqa: E402
from fastml.losses import focal_loss, label_weights  # noqa: E402
from fastml.resample import MLSMOTE, imbalance_report  # noqa: E402
from fastml.split import multilabel_train_test_split  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as c:
        yield c


def test_everything_on_two_processes(client):
    rng = np.random.default_rng(0)
    n, k = 3000, 5
    y = (rng.random((n, k)) < [0.3, 0.1, 0.05, 0.02, 0.2]).astype(np.int64)
    s = y + rng.standard_normal((n, k))
    p = (s > 0.5).astype(np.int64)
    w = rng.random(n)
    x = rng.standard_normal((n, 4))
    dy, ds, dp = (da.from_array(a, chunks=(700, k)) for a in (y, s, p))
    dw, dx = da.from_array(w, chunks=700), da.from_array(x, chunks=(700, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert fm.hamming_loss(dy, dp) == fm.hamming_loss(y, p)
        assert fm.f1_score(dy, dp, average="macro") == fm.f1_score(y, p, average="macro")
        assert fm.average_precision_score(dy, ds) == fm.average_precision_score(y, s)
        np.testing.assert_allclose(fm.roc_auc_score(dy, ds, sample_weight=dw, average=None),
                                   fm.roc_auc_score(y, s, sample_weight=w, average=None),
                                   rtol=1e-12)
        pd.testing.assert_frame_equal(fm.multilabel_report(dy, ds), fm.multilabel_report(y, s))
    loss, grad = focal_loss(dy.astype(float), ds, return_grad=True)
    want_loss, want_grad = focal_loss(y.astype(float), s, return_grad=True)
    np.testing.assert_allclose(loss, want_loss, rtol=1e-12)
    np.testing.assert_array_equal(grad.compute(), want_grad)
    for g, w_ in zip(label_weights(dy), label_weights(y), strict=True):
        np.testing.assert_allclose(g, w_, rtol=1e-13)
    assert imbalance_report(dy).mean_ir == imbalance_report(y).mean_ir
    parts = multilabel_train_test_split(dx, y=dy, test_size=0.25, random_state=0)
    want = multilabel_train_test_split(x, y=y, test_size=0.25, random_state=0)
    for g, w_ in zip(parts, want, strict=True):
        np.testing.assert_array_equal(g.compute(), w_)
    gx, gy = MLSMOTE(random_state=0).fit_resample(dx, dy)
    wx, wy = MLSMOTE(random_state=0).fit_resample(x, y)
    np.testing.assert_array_equal(gx.compute(), wx)
    np.testing.assert_array_equal(gy.compute(), wy)
