"""GPU average precision and ROC AUC (fastml.kernels.gpu.metrics_curves behind the public
functions) against the CPU path: every average, weights, max_fpr, ties, labels without
positives or negatives, float32/float64, one row."""

import warnings

import numpy as np
import pytest
from _gpu_support import KernelSpy, cudasim, dev, host, is_device, tiny_launch

from fastml.metrics import average_precision_score, roc_auc_score

pytestmark = cudasim


class _Raised(Exception):
    pass


def _run(fn, y, s, **kw):
    """(device result, CPU result); where the CPU call raises (scikit-learn's error on an
    input it rejects), the device call raises the same type and (None, None) comes back."""
    with warnings.catch_warnings(record=True) as w_cpu:
        warnings.simplefilter("always")
        try:
            want = fn(y, s, **kw)
        except Exception as exc:
            want = _Raised(exc)
    if kw.get("sample_weight") is not None:
        kw["sample_weight"] = dev(kw["sample_weight"])
    if isinstance(want, _Raised):
        with pytest.raises(type(want.args[0])), tiny_launch():
            fn(dev(y), dev(s), **kw)
        return None, None
    with warnings.catch_warnings(record=True) as w_gpu, tiny_launch():
        warnings.simplefilter("always")
        got = fn(dev(y), dev(s), **kw)
    assert [str(m.message) for m in w_gpu] == [str(m.message) for m in w_cpu]
    return got, want


def _check(got, want, dtype=np.float64):
    if got is None and want is None:
        return
    tol = dict(rtol=1e-12, atol=1e-14)  # float32 scores are exact in float64: same ranks
    if isinstance(want, np.ndarray):
        assert is_device(got)
        np.testing.assert_allclose(host(got), want, **tol)
    else:
        assert type(got) is type(want)
        np.testing.assert_allclose(got, want, **tol)


def _inputs(rng, n, L, dtype, ties):
    y = (rng.random((n, L)) < 0.3).astype(np.int64)
    s = rng.random((n, L))
    if ties:
        s = np.round(s * 4) / 4
    s = s.astype(dtype)
    if L > 2:
        y[:, 1] = 0  # a label without positives
        y[:, 2] = 1  # a label without negatives
    return y, s


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("weights", [False, True])
def test_ap_and_auc_every_average(monkeypatch, dtype, ties, weights):
    rng = np.random.default_rng(int(ties) * 2 + int(weights) + (dtype == np.float32) * 4)
    y, s = _inputs(rng, 17, 5, dtype, ties)
    sw = rng.random(17) * 2 if weights else None
    spy = KernelSpy(monkeypatch, "metrics_curves", ["flat_stats", "column_stats", "row_stats"])
    for average in (None, "micro", "macro", "weighted", "samples"):
        _check(*_run(average_precision_score, y, s, average=average, sample_weight=sw))
        yy = y.copy()
        yy[:, 2] = rng.random(17) < 0.5  # ROC AUC: keep every label two-class but one
        for max_fpr in (None, 0.3, 1.0):
            _check(*_run(roc_auc_score, yy, s, average=average, sample_weight=sw,
                         max_fpr=max_fpr))
    assert set(spy.calls) == {"flat_stats", "column_stats", "row_stats"}


@pytest.mark.parametrize("case", ["one row", "binary", "binary strings", "int scores",
                                  "fortran", "all ties"])
def test_edge_cases(case):
    rng = np.random.default_rng(9)
    y, s = _inputs(rng, 12, 4, np.float64, True)
    kw = {}
    if case == "one row":
        y, s = np.array([[1, 0, 1]]), np.array([[0.3, 0.2, 0.3]])
        _check(*_run(average_precision_score, y, s, average=None))
        return
    if case == "binary":
        y, s = y[:, 0], s[:, 0]
    elif case == "binary strings":
        y, s = np.where(y[:, 0] > 0, "b", "a"), s[:, 0]
        kw = {"pos_label": "b"}
    elif case == "int scores":
        s = rng.integers(-3, 3, s.shape)
    elif case == "fortran":
        y, s = np.asfortranarray(y), np.asfortranarray(s)
    elif case == "all ties":
        s = np.ones_like(s)
    _check(*_run(average_precision_score, y, s, **kw))
    if case != "binary strings":
        yy = y.copy()
        if yy.ndim == 2:
            yy[:, 1:3] = rng.random((len(yy), 2)) < 0.5
        _check(*_run(roc_auc_score, yy, s))


def test_kernel_twins_equal_cpu_kernels():
    import inspect

    from _gpu_support import cpu_kernels

    from fastml._backend import CUPY, kernels

    gpu, cpu = kernels("metrics_curves", CUPY), cpu_kernels("metrics_curves")
    for name in ("flat_stats", "column_stats", "row_stats"):
        assert (list(inspect.signature(getattr(gpu, name)).parameters)
                == list(inspect.signature(getattr(cpu, name)).parameters))
    rng = np.random.default_rng(11)
    y = (rng.random((30, 4)) < 0.4).astype(np.uint8)
    s = np.round(rng.random((2, 30, 4)) * 6) / 6
    w = rng.random(30)
    thr = 0.5
    with tiny_launch():
        for use_w in (False, True):
            np.testing.assert_allclose(
                gpu.column_stats(dev(s), dev(y), False, dev(w), use_w, thr, 0.25),
                cpu.column_stats(s, y, False, w, use_w, thr, 0.25), rtol=1e-12, atol=1e-15)
            np.testing.assert_allclose(
                gpu.flat_stats(dev(s.reshape(2, -1)), dev(y.reshape(-1)), dev(w), 4, 30,
                               use_w, thr, 0.0),
                cpu.flat_stats(s.reshape(2, -1), y.reshape(-1), w, 4, 30, use_w, thr, 0.0),
                rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(gpu.row_stats(dev(s), dev(y), thr, 0.0),
                                   cpu.row_stats(s, y, thr, 0.0), rtol=1e-12, atol=1e-15)


def test_random_inputs_match_cpu():
    """Random small problems (ties, weights with zeros, labels of one class) in one sweep."""
    rng = np.random.default_rng(2024)
    for _ in range(12):
        n, L = int(rng.integers(1, 15)), int(rng.integers(2, 5))
        y = (rng.random((n, L)) < rng.random()).astype(np.int64)
        s = np.round(rng.random((n, L)) * rng.integers(1, 6)) / 5
        sw = None if rng.random() < 0.4 else rng.random(n) * (rng.random(n) < 0.8)
        if sw is not None and not sw.any():
            sw[0] = 1.0
        average = [None, "micro", "macro", "weighted", "samples"][int(rng.integers(0, 5))]
        _check(*_run(average_precision_score, y, s, average=average, sample_weight=sw))
        _check(*_run(roc_auc_score, y, s, average=average, sample_weight=sw,
                     max_fpr=[None, 0.5][int(rng.integers(0, 2))]))
