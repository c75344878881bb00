"""GPU counting metrics (fastml.kernels.gpu.metrics_counts behind the public functions) against
the CPU path, on random and edge-case inputs."""

import warnings

import numpy as np
import pytest
from _gpu_support import KernelSpy, cpu_kernels, cudasim, dev, host, is_device, tiny_launch

from fastml.metrics import (
    f1_score,
    fbeta_score,
    hamming_loss,
    multilabel_confusion_matrix,
    precision_recall_fscore_support,
    precision_score,
    recall_score,
)

pytestmark = cudasim


def _pair(rng, n, L, p=0.3, dtype=np.int64):
    yt = (rng.random((n, L)) < p).astype(dtype)
    yp = (rng.random((n, L)) < p).astype(dtype)
    return yt, yp


def _same(got, want):
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            _same(g, w)
        return
    if want is None:
        assert got is None
        return
    if isinstance(want, np.ndarray):
        assert is_device(got)
        got = host(got)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
        return
    assert type(got) is type(want), (type(got), type(want))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def _both(fn, yt, yp, **kw):
    with warnings.catch_warnings(record=True) as w_cpu:
        warnings.simplefilter("always")
        want = fn(yt, yp, **kw)
    sw = kw.get("sample_weight")
    if sw is not None:
        kw["sample_weight"] = dev(sw)
    with warnings.catch_warnings(record=True) as w_gpu, tiny_launch():
        warnings.simplefilter("always")
        got = fn(dev(yt), dev(yp), **kw)
    assert [str(m.message) for m in w_gpu] == [str(m.message) for m in w_cpu]
    return got, want


CASES = [
    ("random", 23, 5, 0.3),
    ("one row", 1, 4, 0.5),
    ("no positives", 9, 3, 0.0),
    ("all positives", 7, 3, 1.0),
    ("wide", 5, 70, 0.1),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("weights", [None, "float", "int"])
def test_counting_metrics_match_cpu(monkeypatch, case, weights):
    _, n, L, p = case
    rng = np.random.default_rng(n * L)
    yt, yp = _pair(rng, n, L, p)
    sw = {None: None, "float": rng.random(n) * 3, "int": rng.integers(0, 4, n)}[weights]
    if sw is not None and not np.any(sw):
        sw[0] = 1
    spy = KernelSpy(monkeypatch, "metrics_counts",
                    ["hamming_numerators", "label_counts", "sample_stats"])
    got, want = _both(hamming_loss, yt, yp, sample_weight=sw)
    _same(got, want)
    for average in (None, "micro", "macro", "weighted", "samples"):
        for fn, kw in ((precision_recall_fscore_support, {"beta": 0.5}),
                       (f1_score, {}), (precision_score, {"zero_division": 1.0}),
                       (recall_score, {"zero_division": np.nan})):
            got, want = _both(fn, yt, yp, average=average, sample_weight=sw, **kw)
            _same(got, want)
    got, want = _both(fbeta_score, yt, yp, beta=2.0, average="macro", labels=[2, 0],
                      sample_weight=sw)
    _same(got, want)
    for samplewise in (False, True):
        got, want = _both(multilabel_confusion_matrix, yt, yp, samplewise=samplewise,
                          sample_weight=sw)
        _same(got, want)
    assert {"hamming_numerators", "label_counts", "sample_stats"} <= set(spy.calls)


@pytest.mark.parametrize("dtype", [bool, np.uint8, np.int32, np.float32, np.float64])
def test_input_dtypes_and_binary_hamming(dtype):
    rng = np.random.default_rng(4)
    yt, yp = _pair(rng, 12, 3, dtype=dtype)
    got, want = _both(hamming_loss, yt, yp)
    _same(got, want)
    got, want = _both(hamming_loss, yt[:, 0], yp[:, 0])  # binary 1-D targets
    _same(got, want)
    got, want = _both(f1_score, yt, yp, average="macro")
    _same(got, want)


def test_mixed_host_and_device_and_non_indicator_input(reference_calls):
    rng = np.random.default_rng(6)
    yt, yp = _pair(rng, 10, 4)
    with tiny_launch():
        assert hamming_loss(dev(yt), yp) == hamming_loss(yt, yp)
        assert reference_calls == []
        try:  # not 0/1 indicators: handed to scikit-learn unchanged
            hamming_loss(dev(yt * 2), dev(yp))
        except TypeError:  # scikit-learn refuses CuPy arrays
            pass
    assert reference_calls == ["hamming_loss"]


def test_kernel_twins_equal_cpu_kernels():
    import inspect

    from fastml._backend import CUPY, kernels

    gpu, cpu = kernels("metrics_counts", CUPY), cpu_kernels("metrics_counts")
    rng = np.random.default_rng(8)
    yt, yp = (x.astype(np.uint8) for x in _pair(rng, 40, 6))
    w = rng.random(40)
    for name in ("hamming_numerators", "label_counts", "sample_stats"):
        assert (list(inspect.signature(getattr(gpu, name)).parameters)
                == list(inspect.signature(getattr(cpu, name)).parameters))
    dt, dp, dw = dev(yt), dev(yp), dev(w)
    with tiny_launch():
        for weighted in (False, True):
            np.testing.assert_allclose(
                gpu.label_counts(dt, dp, dw, weighted), cpu.label_counts(yt, yp, w, weighted),
                rtol=1e-13)
            np.testing.assert_allclose(
                gpu.sample_stats(dt, dp, dw, weighted, 4.0, 5.0),
                cpu.sample_stats(yt, yp, w, weighted, 4.0, 5.0), rtol=1e-13)
            yp3 = np.stack([yp, yt, 1 - yp])
            np.testing.assert_allclose(
                gpu.hamming_numerators(dt, dev(yp3), dw, weighted),
                cpu.hamming_numerators(yt, yp3, w, weighted), rtol=1e-13)
