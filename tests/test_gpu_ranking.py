"""GPU label-ranking metrics (fastml.kernels.gpu.metrics_ranking behind LRAP, coverage error
and the label ranking loss) against the CPU path and scikit-learn: random inputs, ties, rows
with no / all positives, sample weights, one row, float32 / int / bool scores, both ways of
counting (row scans, sorted rows in blocks)."""

import numpy as np
import pytest
import sklearn.metrics as skm
from _gpu_support import KernelSpy, cudasim, dev, tiny_launch

from fastml.metrics import (
    coverage_error,
    label_ranking_average_precision_score,
    label_ranking_loss,
)

pytestmark = cudasim

_FNS = {
    "lrap": label_ranking_average_precision_score,
    "coverage": coverage_error,
    "ranking_loss": label_ranking_loss,
}
_KERNEL_NAMES = {"lrap": "lrap", "coverage": "coverage", "ranking_loss": "ranking_loss"}


@pytest.fixture(params=["scan", "sorted"])
def counting(request, monkeypatch):
    """Both ways of counting: row scans, and sorted rows (every row, in blocks of 3 rows)."""
    if request.param == "sorted":
        from fastml._gpu import gpu_kernels

        k = gpu_kernels("metrics_ranking")
        monkeypatch.setattr(k, "SORT_LABELS", 0)
        monkeypatch.setattr(k, "SORT_ENTRIES", 3)
    return request.param


def _gpu(fn, y, s, **kw):
    if kw.get("sample_weight") is not None:
        kw = dict(kw, sample_weight=dev(kw["sample_weight"]))
    with tiny_launch():
        return fn(dev(y), dev(s), **kw)


def _check(name, y, s, **kw):
    fn = _FNS[name]
    want = fn(y, s, **kw)
    got = _gpu(fn, y, s, **kw)
    assert type(got) is float
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    ref = getattr(skm, fn.__name__)(y, s, **kw)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-15)


def _inputs(rng, n, L, ties, dtype=np.float64, p=0.3):
    y = (rng.random((n, L)) < p).astype(np.int64)
    s = rng.random((n, L))
    if ties:
        s = np.round(s * 3) / 3
    return y, s.astype(dtype)


@pytest.mark.parametrize("name", list(_FNS))
@pytest.mark.parametrize("ties", [False, True])
def test_random_rows_with_every_edge(monkeypatch, counting, name, ties):
    rng = np.random.default_rng(7 + ties)
    spy = KernelSpy(monkeypatch, "metrics_ranking", [_KERNEL_NAMES[name]])
    y, s = _inputs(rng, 14, 6, ties)
    y[0] = 0  # no relevant label
    y[1] = 1  # every label relevant
    y[2] = [1, 0, 0, 0, 0, 0]
    y[3] = [0, 1, 1, 1, 1, 1]
    s[4] = 0.5  # a row of ties
    _check(name, y, s)
    w = rng.random(14) * (rng.random(14) < 0.7)
    w[5] = 1.0
    _check(name, y, s, sample_weight=w)
    _check(name, y, s.astype(np.float32))
    assert spy.calls == [_KERNEL_NAMES[name]] * 3


@pytest.mark.parametrize("name", list(_FNS))
def test_random_shapes(counting, name):
    """Random small problems in one sweep: sizes, positive rates, ties, weights."""
    rng = np.random.default_rng(2025)
    for _ in range(6):
        n, L = int(rng.integers(1, 12)), int(rng.integers(2, 9))
        y, s = _inputs(rng, n, L, bool(rng.integers(0, 2)), p=float(rng.random()))
        w = None if rng.random() < 0.5 else rng.random(n) + 0.01
        _check(name, y, s, sample_weight=w)


@pytest.mark.parametrize("name", list(_FNS))
def test_one_row_and_wide_rows(counting, name):
    _check(name, np.array([[1, 0, 1]]), np.array([[0.3, 0.2, 0.3]]))
    rng = np.random.default_rng(3)
    y, s = _inputs(rng, 3, 80, True, p=0.1)  # wider than the default scan limit
    _check(name, y, s)
    y[1] = 1 - y[1]  # mostly relevant: the ranking loss scans the irrelevant side
    _check(name, y, s)


@pytest.mark.parametrize("name", list(_FNS))
@pytest.mark.parametrize("dtype", [np.int8, np.int64, np.uint8, np.uint16, bool])
def test_integer_and_bool_scores(name, dtype):
    rng = np.random.default_rng(5)
    y = (rng.random((9, 4)) < 0.4).astype(np.int64)
    y[0] = [1, 0, 1, 0]
    if dtype is bool:
        s = rng.random((9, 4)) < 0.5
    else:
        info = np.iinfo(dtype)
        s = rng.integers(max(info.min, -3), min(info.max, 3) + 1, (9, 4)).astype(dtype)
        s[0, 0] = info.min  # LRAP ranks -y_score: the minimum (and unsigned 0) wraps
        s[1, 2] = info.max
    fn = _FNS[name]
    try:
        want = fn(y, s)
    except Exception as exc:  # scikit-learn's error (bool scores in LRAP)
        with pytest.raises(type(exc)):
            _gpu(fn, y, s)
        return
    got = _gpu(fn, y, s)
    assert type(got) is float
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", list(_FNS))
def test_uncovered_input_goes_to_scikit_learn(reference_calls, name):
    fn = _FNS[name]
    y = np.array([[1, 0, 1], [0, 1, 0]])
    s = np.array([[0.3, 0.2, 0.3], [np.nan, 0.1, 0.2]])
    with pytest.raises(ValueError), tiny_launch():
        fn(dev(y), dev(s))  # NaN: scikit-learn's own error
    with pytest.raises(ValueError), tiny_launch():
        fn(dev(y), dev(s[:, :2]))  # shapes differ
    with pytest.raises(ValueError), tiny_launch():
        fn(dev(np.array([[2, 0, 1], [0, 1, 0]])), dev(np.abs(np.nan_to_num(s))))
    assert reference_calls == [fn.__name__] * 3


def test_kernel_twins_equal_cpu_kernels():
    import inspect

    from _gpu_support import cpu_kernels

    from fastml._backend import CUPY, kernels

    gpu, cpu = kernels("metrics_ranking", CUPY), cpu_kernels("metrics_ranking")
    rng = np.random.default_rng(11)
    y = (rng.random((20, 5)) < 0.4).astype(np.uint8)
    s = np.round(rng.random((20, 5)) * 4) / 4
    w = rng.random(20)
    for name in ("lrap", "coverage", "ranking_loss"):
        assert (list(inspect.signature(getattr(gpu, name)).parameters)
                == list(inspect.signature(getattr(cpu, name)).parameters))
        for weights in (np.empty(0), w):
            for dtype in (np.float32, np.float64):
                sd = s.astype(dtype)
                with tiny_launch():
                    got = getattr(gpu, name)(dev(y), dev(sd), weights)
                np.testing.assert_allclose(got, getattr(cpu, name)(y, sd, weights),
                                           rtol=1e-12)
