"""GPU paths of the fastml-only metric functions: multilabel_report, best_thresholds,
batch_average_precision_score and batch_hamming_loss on device data, against the CPU path
(same numbers, warnings and errors; device arrays where the CPU returns per-label or
per-member arrays, a host DataFrame for the report)."""

import warnings

import numpy as np
import pandas as pd
import pytest
from _gpu_support import KernelSpy, cudasim, dev, host, is_device, tiny_launch

from fastml.metrics import (
    batch_average_precision_score,
    batch_hamming_loss,
    best_thresholds,
    multilabel_report,
)

pytestmark = cudasim


def _both(fn, *args, **kw):
    """(device result, CPU result, device warnings, CPU warnings); array arguments and
    ``sample_weight`` go to the device for the first."""
    with warnings.catch_warnings(record=True) as w_cpu:
        warnings.simplefilter("always")
        want = fn(*args, **kw)
    dargs = [dev(a) if isinstance(a, np.ndarray) else a for a in args]
    dkw = {k: dev(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    with warnings.catch_warnings(record=True) as w_gpu, tiny_launch():
        warnings.simplefilter("always")
        got = fn(*dargs, **dkw)
    assert [str(m.message) for m in w_gpu] == [str(m.message) for m in w_cpu]
    return got, want


def _same_error(fn, *args, **kw):
    """The device call raises the CPU call's exception type and message."""
    with pytest.raises(Exception) as cpu:
        fn(*args, **kw)
    dargs = [dev(a) if isinstance(a, np.ndarray) else a for a in args]
    with pytest.raises(type(cpu.value)) as gpu, tiny_launch():
        fn(*dargs, **kw)
    assert str(gpu.value) == str(cpu.value)


def _inputs(rng, n=16, L=4, dtype=np.float64):
    y = (rng.random((n, L)) < 0.35).astype(np.int64)
    s = (np.round(rng.random((n, L)) * 5) / 5).astype(dtype)
    y[:, 1] = 0  # a label without positives
    y[:, 2] = 1  # a label without negatives
    return y, s


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_multilabel_report(monkeypatch, dtype):
    spy = KernelSpy(monkeypatch, "metrics_curves", ["column_stats"])
    rng = np.random.default_rng(1)
    y, s = _inputs(rng, dtype=dtype)
    for thr in (0.5, np.array([0.2, 0.4, 0.6, 0.7]), 0.7):
        got, want = _both(multilabel_report, y, s, threshold=thr, label_names=list("abcd"))
        assert isinstance(got, pd.DataFrame)
        pd.testing.assert_frame_equal(got, want, rtol=1e-12, atol=0)
    # per-label thresholds from the device (best_thresholds' output) are accepted
    with tiny_launch():
        t = best_thresholds(dev(y), dev(s)).thresholds
        got = multilabel_report(dev(y), dev(s), threshold=t)
    pd.testing.assert_frame_equal(got, multilabel_report(y, s, threshold=host(t)), rtol=1e-12)
    assert spy.calls and set(spy.calls) == {"column_stats"}


@pytest.mark.parametrize("case", ["binary", "one column", "bool labels", "int scores",
                                  "one row", "fortran", "host labels"])
def test_report_and_thresholds_shapes(case):
    rng = np.random.default_rng(2)
    y, s = _inputs(rng)
    if case == "binary":
        y, s = y[:, 0], s[:, 0]
    elif case == "one column":
        y, s = y[:, :1], s[:, :1]
    elif case == "bool labels":
        y = y.astype(bool)
    elif case == "int scores":
        s = rng.integers(-3, 4, s.shape)
    elif case == "one row":
        y, s = np.array([[1, 0, 1]]), np.array([[0.3, 0.2, 0.3]])
    elif case == "fortran":
        y, s = np.asfortranarray(y), np.asfortranarray(s)
    got, want = _both(multilabel_report, y, s)
    pd.testing.assert_frame_equal(got, want, rtol=1e-12)
    if case == "host labels":  # host targets next to device scores
        with tiny_launch():
            got = best_thresholds(y, dev(s), "precision", target=0.5)
    else:
        got, _ = _both(best_thresholds, y, s, "precision", target=0.5)
    want = best_thresholds(y, s, "precision", target=0.5)
    np.testing.assert_array_equal(host(got.thresholds), want.thresholds)
    np.testing.assert_array_equal(host(got.scores), want.scores)


@pytest.mark.parametrize("metric,kw", [("f1", {}), ("fbeta", {"beta": 0.5}),
                                       ("fbeta", {"beta": 3.0}), ("recall", {"target": 0.6}),
                                       ("recall", {"target": 1.0}),
                                       ("precision", {"target": 0.7}),
                                       ("precision", {"target": 1.0})])
def test_best_thresholds(monkeypatch, metric, kw):
    spy = KernelSpy(monkeypatch, "metrics_curves", ["column_stats", "operating_points"])
    rng = np.random.default_rng(3)
    for ties in (False, True):
        y, s = _inputs(rng, n=23, L=5)
        if not ties:
            s = rng.random(s.shape)
        got, want = _both(best_thresholds, y, s, metric, **kw)
        assert is_device(got.thresholds) and is_device(got.scores)
        np.testing.assert_array_equal(host(got.thresholds), want.thresholds)
        np.testing.assert_allclose(host(got.scores), want.scores, rtol=1e-15, atol=0)
    assert set(spy.calls) == ({"column_stats"} if metric == "f1" else {"operating_points"})


@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted", "samples"])
@pytest.mark.parametrize("weights", [False, True])
def test_batch_average_precision(monkeypatch, average, weights):
    spy = KernelSpy(monkeypatch, "metrics_curves", ["flat_stats", "column_stats", "row_stats"])
    rng = np.random.default_rng(4)
    y, _ = _inputs(rng, n=13, L=4)
    s = np.round(rng.random((3, 13, 4)) * 4) / 4
    kw = {"average": average}
    if weights:
        kw["sample_weight"] = rng.random(13) * (rng.random(13) < 0.8)
    got, want = _both(batch_average_precision_score, y, s, **kw)
    assert is_device(got) and host(got).shape == want.shape
    np.testing.assert_allclose(host(got), want, rtol=1e-12, atol=1e-15)
    # binary targets
    got, want = _both(batch_average_precision_score, y[:, 0], s[:, :, 0], **kw)
    np.testing.assert_allclose(host(got), want, rtol=1e-12, atol=1e-15)
    assert spy.calls


def test_batch_average_precision_extreme_weights():
    """Weights spanning more than 2**900: each member goes to scikit-learn (as on the CPU)."""
    rng = np.random.default_rng(5)
    y, _ = _inputs(rng, n=8, L=3)
    s = rng.random((2, 8, 3))
    w = np.full(8, 1.0)
    w[0] = 1e-300
    w[1] = 1e300
    got, want = _both(batch_average_precision_score, y, s, sample_weight=w)
    np.testing.assert_allclose(host(got), want, rtol=1e-12)


@pytest.mark.parametrize("weights", [False, True])
def test_batch_hamming_loss(monkeypatch, weights):
    spy = KernelSpy(monkeypatch, "metrics_counts", ["hamming_numerators"])
    rng = np.random.default_rng(6)
    y = (rng.random((15, 4)) < 0.4).astype(np.int64)
    p = (rng.random((3, 15, 4)) < 0.4).astype(bool)
    kw = {"sample_weight": rng.random(15)} if weights else {}
    for yt, yp in ((y, p), (y[:, 0], p[:, :, 0]), (y[:, :1], p[:, :, :1]),
                   (y.astype(np.float16), p.astype(np.float32))):
        got, want = _both(batch_hamming_loss, yt, yp, **kw)
        assert is_device(got)
        np.testing.assert_allclose(host(got), want, rtol=1e-12, atol=0)
    got, want = _both(batch_hamming_loss, y, p[:0])
    assert host(got).shape == want.shape == (0,)
    assert spy.calls == ["hamming_numerators"] * 4


def test_bad_input_gets_the_cpu_errors():
    y = np.array([[1, 0], [0, 1], [1, 1]])
    s = np.array([[0.2, 0.5], [0.3, 0.1], [0.9, 0.4]])
    for fn in (multilabel_report, best_thresholds):
        _same_error(fn, y * 2, s)  # not 0/1
        _same_error(fn, y, s[:2])  # shapes differ
        _same_error(fn, y, np.where(s > 0.8, np.nan, s))  # NaN
        _same_error(fn, y[:, :, None], s[:, :, None])  # 3-D
    _same_error(multilabel_report, y, s, threshold=np.array([0.5, np.nan]))
    _same_error(best_thresholds, y, s, "recall")  # target missing
    b = np.stack([s, s])
    _same_error(batch_average_precision_score, y, b, average="binary")
    _same_error(batch_average_precision_score, y * 2, b)
    _same_error(batch_average_precision_score, y, b[:, :2])
    _same_error(batch_average_precision_score, y, np.where(b > 0.8, np.inf, b))
    _same_error(batch_average_precision_score, y, b, sample_weight=np.array([1.0, -1.0, 1.0]))
    _same_error(batch_average_precision_score, y, b[:0])
    p = np.stack([y, 1 - y])
    _same_error(batch_hamming_loss, y * 2, p)
    _same_error(batch_hamming_loss, y, p * 3)
    _same_error(batch_hamming_loss, y, p[:, :2])
    _same_error(batch_hamming_loss, y[:0], p[:, :0])
    _same_error(batch_hamming_loss, y, p, sample_weight=np.zeros(3))
    _same_error(batch_hamming_loss, y, p, sample_weight=np.ones(2))
    _same_error(batch_hamming_loss, y[None], p[None])


def test_best_thresholds_tie_goes_to_the_highest():
    """Two thresholds with the same F-beta (2/3 at 0.9 and at 0.3): the higher one wins."""
    y = np.array([[1, 1], [0, 1], [0, 0], [1, 0]])
    s = np.array([[0.9, 0.9], [0.5, 0.5], [0.4, 0.4], [0.3, 0.3]])
    for metric, kw in (("f1", {}), ("fbeta", {"beta": 1.0})):
        got, want = _both(best_thresholds, y, s, metric, **kw)
        assert want.thresholds[0] == 0.9 and want.scores[0] == 2 / 3
        np.testing.assert_array_equal(host(got.thresholds), want.thresholds)
        np.testing.assert_array_equal(host(got.scores), want.scores)
