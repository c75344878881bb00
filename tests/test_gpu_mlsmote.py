"""MLSMOTE on device features (fastml.resample._gpu with fastml.kernels.gpu.resample's bags,
neighbour search and synthesis) against the CPU path: the same rows, bit for bit, for the
same random_state; exact neighbour lists (ties, near ties, large offsets, blocks); labels on
the host or on the device; categorical columns; errors."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from _gpu_support import KernelSpy, cpu_kernels, cudasim, dev, host, is_device, tiny_launch

from fastml.resample import MLSMOTE, mlsmote

pytestmark = cudasim


def _data(rng, n=48, d=3, L=4, ties=True, dtype=np.float64):
    X = rng.normal(size=(n, d))
    if ties:
        X = np.round(X * 2) / 2  # many equal distances
    Y = (rng.random((n, L)) < [0.5, 0.3, 0.12, 0.06][:L]).astype(np.int64)
    Y[:2, 3 % L] = 1  # a small bag
    return X.astype(dtype), Y


def _fit(X, Y, on_device, **kw):
    s = MLSMOTE(random_state=kw.pop("random_state", 5), **kw)
    if on_device:
        with tiny_launch():
            xr, yr = s.fit_resample(dev(X), Y)
    else:
        xr, yr = s.fit_resample(X, Y)
    return s, xr, yr


def _same(X, Y, Y_dev=None, **kw):
    """Fit on the CPU and with device X (and ``Y_dev`` as labels); every output equal."""
    cpu, xc, yc = _fit(X, Y, False, **dict(kw))
    gpu, xg, yg = _fit(X, Y if Y_dev is None else Y_dev, True, **dict(kw))
    assert is_device(xg) and host(xg).dtype == xc.dtype
    np.testing.assert_array_equal(host(xg), xc)
    if isinstance(yc, pd.DataFrame):
        pd.testing.assert_frame_equal(yg, yc)
    elif sp.issparse(yc):
        assert type(yg) is type(yc)
        np.testing.assert_array_equal(yg.toarray(), yc.toarray())
    else:
        assert host(yg).dtype == yc.dtype
        np.testing.assert_array_equal(host(yg), yc)
    for name in ("seed_indices_", "neighbor_indices_", "neighbors_", "source_labels_",
                 "minority_labels_", "irlbl_"):
        np.testing.assert_array_equal(getattr(gpu, name), getattr(cpu, name))
    assert gpu.mean_ir_ == cpu.mean_ir_
    return xg, yg


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("strategy", ["ranking", "union", "intersection"])
def test_same_rows_as_the_cpu(monkeypatch, dtype, strategy):
    spy = KernelSpy(monkeypatch, "resample", ["bag_knn", "synthesize"])
    rng = np.random.default_rng(1)
    X, Y = _data(rng, dtype=dtype)
    _same(X, Y, label_strategy=strategy)
    _same(X, Y, label_strategy=strategy, gap="sample", k_neighbors=3)
    assert spy.calls == ["bag_knn", "synthesize"] * 2


@pytest.mark.parametrize("kw", [{"sampling_factor": 0.5}, {"sampling_factor": 2.3},
                                {"max_samples": 3}, {"max_samples": 0},
                                {"k_neighbors": 1}, {"k_neighbors": 30},
                                {"sampling_factor": 0.0}])
def test_parameters(kw):
    rng = np.random.default_rng(2)
    X, Y = _data(rng)
    _same(X, Y, **kw)


@pytest.mark.parametrize("labels", ["device int", "device bool", "host bool", "frame",
                                    "sparse"])
def test_label_forms(labels):
    rng = np.random.default_rng(3)
    X, Y = _data(rng, n=30)
    if labels == "device int":
        _, yg = _same(X, Y, Y_dev=dev(Y))
        assert is_device(yg)
    elif labels == "device bool":
        _, yg = _same(X, Y.astype(bool), Y_dev=dev(Y.astype(bool)))
        assert is_device(yg)
    elif labels == "host bool":
        _same(X, Y.astype(bool))
    elif labels == "frame":
        _same(X, pd.DataFrame(Y, columns=list("abcd"), index=np.arange(30) * 2))
    else:
        _same(X, sp.csr_matrix(Y))


def test_integer_features_and_categorical_columns():
    rng = np.random.default_rng(4)
    X, Y = _data(rng, n=40, d=4)
    Xi = rng.integers(-5, 6, X.shape)
    _same(Xi, Y)  # integers: interpolated as float64
    Xc = X.copy()
    Xc[:, 1] = rng.integers(0, 3, 40) * 10.0  # categories: voted among the neighbours
    Xc[:, 3] = rng.choice([-1.5, 2.0, 7.25], 40)
    _same(Xc, Y, categorical_features=[1, 3])
    _same(Xc.astype(np.float32), Y, categorical_features=np.array([False, True, False, True]))
    before = Xc.copy()
    _fit(Xc, Y, True, categorical_features=[1])
    np.testing.assert_array_equal(Xc, before)  # the input is not modified


def test_one_row_bags_and_no_minority():
    rng = np.random.default_rng(5)
    X, Y = _data(rng, n=20)
    Y[:, 3] = 0
    Y[7, 3] = 1  # a minority label with one row: its seed makes nothing
    _same(X, Y)
    _same(X, np.ones((20, 2), np.int64))  # no minority label: nothing made


def _knn_both(pts, ptr, k):
    from fastml._gpu import gpu_kernels

    g = gpu_kernels("resample")
    want = cpu_kernels("resample").bag_knn(pts, ptr, k)
    with tiny_launch():
        got = g.bag_knn(dev(pts), ptr, k)
    np.testing.assert_array_equal(host(got[0]), want[0])
    np.testing.assert_array_equal(host(got[1]), want[1])
    np.testing.assert_array_equal(got[2], want[2])


@pytest.mark.parametrize("case", ["grid ties", "duplicates", "large offset", "near ties",
                                  "tiny values", "small bags"])
def test_neighbour_lists_are_exact(monkeypatch, case):
    """The GPU neighbour search against the CPU kernel's, where the product form alone
    would misorder: exact ties, duplicates, cancellation at a large offset, distances one
    unit in the last place apart, values near underflow; seeds in blocks of 5."""
    from fastml._gpu import gpu_kernels

    monkeypatch.setattr(gpu_kernels("resample"), "KNN_BLOCK_ENTRIES", 5 * 40)
    rng = np.random.default_rng(6)
    ptr = np.array([0, 25, 40, 43, 44], np.int64)
    if case == "grid ties":
        pts = rng.integers(0, 3, (44, 3)).astype(np.float64)
    elif case == "duplicates":
        pts = np.repeat(rng.normal(size=(11, 4)), 4, axis=0)
    elif case == "large offset":
        pts = 1e8 + rng.integers(0, 4, (44, 3)) * 2.0**-20
    elif case == "near ties":
        base = rng.normal(size=(1, 2))
        steps = rng.integers(0, 3, (44, 2)) * np.spacing(1.0)
        pts = base + steps + rng.integers(0, 2, (44, 1)) * 0.5
    elif case == "tiny values":
        pts = rng.integers(0, 4, (44, 3)) * 2.0**-1060
    else:
        ptr = np.array([0, 2, 3, 6, 44], np.int64)
        pts = rng.normal(size=(44, 2))
    for k in (1, 3, 7):
        _knn_both(np.ascontiguousarray(pts), ptr, k)


def test_uniform_stream_device_form():
    """Both forms of the random stream, the uint64 one compiled for the device and the
    Python integer one the simulator runs, equal the slow twin of the CPU kernels' stream."""
    from fastml.kernels.gpu._math import uniform_int, uniform_u64
    from fastml.slow.resample import uniform_stream

    rng = np.random.default_rng(7)
    keys = rng.integers(0, 2**63, 20, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    with np.errstate(over="ignore"):
        for key in keys:
            for i in rng.integers(0, 2**40, 5, dtype=np.uint64):
                want = uniform_stream(int(key), int(i))
                assert uniform_u64(key, i) == want
                assert uniform_int(int(key), int(i)) == want


def test_bad_features_get_the_cpu_errors():
    rng = np.random.default_rng(8)
    X, Y = _data(rng, n=20)
    bad = X.copy()
    bad[3, 1] = np.nan
    cases = [
        (bad, {}),
        (X[:5], {}),
        (X[:, 0], {}),
        (X[:, :0], {}),
        (X, {"categorical_features": [0, 1, 2]}),
        (X, {"categorical_features": [5]}),
        (X, {"categorical_features": ["a"]}),
    ]
    for Xb, kw in cases:
        with pytest.raises(Exception) as cpu:
            mlsmote(Xb, Y, random_state=0, **kw)
        with pytest.raises(type(cpu.value)) as gpu, tiny_launch():
            mlsmote(dev(Xb), Y, random_state=0, **kw)
        assert str(gpu.value) == str(cpu.value)
    with pytest.raises(ValueError, match="only 0 and 1"), tiny_launch():
        mlsmote(dev(X), dev(Y * 2), random_state=0)


def test_kernel_twins_match_the_cpu_kernels():
    """The CPU kernels' names, taking their parameters in their order (the GPU twin may
    take more); bags and gathers equal theirs."""
    import inspect

    from fastml._gpu import gpu_kernels

    g, c = gpu_kernels("resample"), cpu_kernels("resample")
    for name in ("bags", "gather", "bag_knn", "synthesize", "label_counts"):
        want = list(inspect.signature(getattr(c, name)).parameters)
        assert list(inspect.signature(getattr(g, name)).parameters)[: len(want)] == want
    rng = np.random.default_rng(9)
    y = (rng.random((30, 5)) < 0.3).astype(np.uint8)
    labels = np.array([4, 0, 2], np.int64)
    for got, want in zip(g.bags(dev(y), labels), c.bags(y, labels), strict=True):
        np.testing.assert_array_equal(got, want)
    x = rng.normal(size=(30, 3)).astype(np.float32)
    rows = np.array([5, 0, 29, 5], np.int64)
    np.testing.assert_array_equal(host(g.gather(dev(x), rows)), c.gather(x, rows))
