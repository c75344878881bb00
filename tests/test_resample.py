"""fastml.resample against its slow twins (fastml/slow/resample.py) and scikit-learn.

The twins: the imbalance measures as a direct NumPy computation; MLSMOTE written from the
paper with scikit-learn's NearestNeighbors per label; ML-ROS / ML-RUS as plain loops.
"""


import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.neighbors import NearestNeighbors

from fastml import resample as R
from fastml._backend import kernels
from fastml._validation import random_generator
from fastml.resample import _random
from fastml.resample._base import _key
from fastml.slow.resample import (
    imbalance_numpy,
    make_data,
    mlros_reference,
    mlrus_reference,
    mlsmote_paper,
    strategy_labels,
    uniform_stream,
)

kern = kernels("resample")


def report_tuple(Y):
    r = R.imbalance_report(Y)
    return (
        r.count, r.prevalence, r.irlbl, r.scumble_label, r.mean_ir, r.max_ir, r.cvir, r.scumble
    )


def assert_measures(Y):
    got = report_tuple(Y)
    want = imbalance_numpy(np.asarray(Y.toarray() if sp.issparse(Y) else Y))
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14, equal_nan=True)
    return got


def random_labels(rng, n, n_labels, prevalence=None):
    p = prevalence if prevalence is not None else rng.uniform(0.01, 0.6, n_labels)
    return (rng.random((n, n_labels)) < p).astype(np.int64)


# ------------------------------------------------------------------------------ measures


def test_measures_by_hand():
    # counts 3, 2, 0 -> IRLbl 1, 1.5, 0 (no positives: 0, as mldr)
    Y = np.array([[1, 1, 0], [1, 0, 0], [1, 0, 0], [0, 1, 0]])
    r = R.imbalance_report(Y, label_names=["a", "b", "c"])
    assert r.count.tolist() == [3, 2, 0]
    assert r.irlbl.tolist() == [1.0, 1.5, 0.0]
    assert r.mean_ir == pytest.approx(2.5 / 3)
    assert r.max_ir == 1.5
    assert r.cvir == pytest.approx(np.std([1, 1.5, 0], ddof=1) / (2.5 / 3))
    row0 = 1 - np.sqrt(1.5) / 1.25  # the only row with two labels
    assert r.scumble == pytest.approx(row0 / 4, rel=1e-14)
    np.testing.assert_allclose(r.scumble_label[:2], [row0 / 3, row0 / 2], rtol=1e-14)
    assert np.isnan(r.scumble_label[2])
    assert r.minority_labels.tolist() == [0, 1]
    assert "MeanIR" in str(r) and "* minority" in str(r)
    assert R.irlbl(Y).tolist() == [1.0, 1.5, 0.0]
    assert R.mean_ir(Y) == r.mean_ir and R.max_ir(Y) == r.max_ir and R.cvir(Y) == r.cvir
    assert R.scumble(Y) == r.scumble
    np.testing.assert_array_equal(R.scumble_per_label(Y), r.scumble_label)
    np.testing.assert_allclose(R.scumble_per_sample(Y), [row0, 0, 0, 0], rtol=1e-14)


@pytest.mark.parametrize("shape", [(1, 1), (1, 3), (7, 1), (50, 4), (1000, 12), (20_000, 30)])
def test_measures_random(shape):
    rng = np.random.default_rng(shape)
    Y = random_labels(rng, *shape)
    assert_measures(Y)


def test_measures_edge_cases():
    rng = np.random.default_rng(1)
    Y = random_labels(rng, 300, 6)
    Y[:, 2] = 0  # a label without positives
    Y[:10] = 0  # rows without labels
    Y[10] = 1  # a row with every label present
    assert_measures(Y)
    assert_measures(np.zeros((5, 3), int))  # nothing positive: IRLbl 0, CVIR NaN
    assert np.isnan(R.cvir(np.zeros((5, 3), int)))
    assert_measures(np.ones((5, 3), int))  # every label everywhere: SCUMBLE 0
    assert R.cvir([[1], [0]]) == 0.0


def test_measures_input_types():
    rng = np.random.default_rng(2)
    Y = random_labels(rng, 200, 5)
    want = assert_measures(Y)
    pd = pytest.importorskip("pandas")
    variants = [
        Y.astype(bool), Y.astype(np.float32), Y.astype(np.uint8), np.asfortranarray(Y),
        Y.tolist(), sp.csr_matrix(Y), sp.csc_array(Y), pd.DataFrame(Y, columns=list("abcde")),
        np.repeat(Y, 2, axis=1)[:, ::2],
    ]
    for v in variants:
        for g, w in zip(report_tuple(v), want, strict=True):
            np.testing.assert_array_equal(g, w)
    r = R.imbalance_report(pd.DataFrame(Y, columns=list("abcde")))
    assert r.label_names == list("abcde")
    frame = r.to_frame()
    assert list(frame.index) == list("abcde") and frame["IRLbl"].tolist() == r.irlbl.tolist()


@settings(max_examples=60, deadline=None)
@given(arrays(np.bool_, st.tuples(st.integers(1, 40), st.integers(1, 8))))
def test_measures_hypothesis(Y):
    assert_measures(Y)


def test_measures_parallel_twin(monkeypatch):
    rng = np.random.default_rng(3)
    Y = random_labels(rng, 30_000, 7)
    want = report_tuple(Y)
    monkeypatch.setattr(kern, "PARALLEL_ENTRIES", 0)
    for g, w in zip(report_tuple(Y), want, strict=True):
        np.testing.assert_array_equal(g, w)
    np.testing.assert_array_equal(
        R.scumble_per_sample(Y), kern.scumble(np.ascontiguousarray(Y, np.uint8), want[2], True)[2]
    )


@pytest.mark.parametrize(
    "Y, error",
    [
        (None, ValueError),
        ([[0, 2], [1, 0]], ValueError),
        ([[0.5, 1], [1, 0]], ValueError),
        ([[np.nan, 1], [1, 0]], ValueError),
        ([0, 1, 1], ValueError),
        (np.zeros((0, 3)), ValueError),
        (np.zeros((3, 0)), ValueError),
        ([["a", "b"]], TypeError),
        (np.array([[1, 0]], dtype=object), TypeError),
    ],
)
def test_measures_bad_input(Y, error):
    with pytest.raises(error):
        R.imbalance_report(Y)


def test_label_names_length():
    with pytest.raises(ValueError, match="label_names"):
        R.imbalance_report([[1, 0]], label_names=["a"])


# ------------------------------------------------------------------------------ MLSMOTE


def clustered(rng, n, d, n_labels, prevalence=None, dtype=np.float64):
    Y = random_labels(rng, n, n_labels, prevalence)
    X = rng.normal(size=(n, d)) + Y @ rng.normal(size=(n_labels, d))
    return X.astype(dtype), Y


def same_neighbours(X, sampler, ref):
    """fastml's neighbour lists equal the reference's, row by row; where they differ, the
    distances must tie (the order among tied rows is the implementations' own)."""
    assert len(ref.neighbors) == sampler.neighbors_.shape[0]
    differ = 0
    for i, (want, want_d) in enumerate(zip(ref.neighbors, ref.neighbor_distances, strict=True)):
        got = sampler.neighbors_[i]
        got = got[got >= 0]
        assert len(got) == len(want)
        if set(got) != set(want):
            differ += 1
            seed = sampler.seed_indices_[i]
            got_d = np.sqrt(((X[got].astype(np.float64) - X[seed]) ** 2).sum(axis=1))
            np.testing.assert_allclose(np.sort(got_d), np.sort(want_d), rtol=1e-9)
    return differ


def check_synthetic(X, Y, X_res, Y_res, sampler, strategy="ranking", gap="feature"):
    n = X.shape[0]
    np.testing.assert_array_equal(np.asarray(X_res)[:n], X)
    np.testing.assert_array_equal(np.asarray(Y_res)[:n], Y)
    new_x, new_y = np.asarray(X_res)[n:], np.asarray(Y_res)[n:]
    seeds, chosen = sampler.seed_indices_, sampler.neighbor_indices_
    assert len(new_x) == len(seeds) == len(chosen) == len(sampler.neighbors_)
    for t in range(len(seeds)):
        nb = sampler.neighbors_[t][sampler.neighbors_[t] >= 0]
        assert chosen[t] in nb and seeds[t] not in nb
        assert Y[seeds[t], sampler.source_labels_[t]] == 1
        assert (Y[nb, sampler.source_labels_[t]] == 1).all()
        np.testing.assert_array_equal(new_y[t], strategy_labels(Y, seeds[t], nb, strategy))
    lo = np.minimum(X[seeds], X[chosen])
    hi = np.maximum(X[seeds], X[chosen])
    assert ((new_x >= lo) & (new_x <= hi)).all(), "a synthetic value off its segment"
    if gap == "sample" and len(seeds):
        span = X[chosen].astype(np.float64) - X[seeds]
        ok = np.abs(span) > 1e-3
        g = np.where(ok, (new_x - X[seeds]) / np.where(ok, span, 1), np.nan)
        spread = np.nanmax(g, axis=1) - np.nanmin(g, axis=1)
        assert np.nanmax(spread) < (1e-4 if X.dtype == np.float32 else 1e-9)


@pytest.mark.parametrize("strategy", ["ranking", "union", "intersection"])
@pytest.mark.parametrize("k", [1, 3, 5])
def test_mlsmote_against_paper(strategy, k):
    rng = np.random.default_rng([k, len(strategy)])
    X, Y = clustered(rng, 400, 6, 7)
    sampler = R.MLSMOTE(k_neighbors=k, label_strategy=strategy, random_state=0)
    X_res, Y_res = sampler.fit_resample(X, Y)
    ref = mlsmote_paper(X, Y, k_neighbors=k, label_strategy=strategy, random_state=0)
    assert X_res.shape == ref.X.shape and Y_res.shape == ref.Y.shape
    np.testing.assert_array_equal(sampler.minority_labels_, ref.minority)
    np.testing.assert_array_equal(sampler.source_labels_, ref.source_labels)
    np.testing.assert_array_equal(sampler.seed_indices_, ref.seeds)
    assert same_neighbours(X, sampler, ref) == 0  # continuous data: no ties
    check_synthetic(X, Y, X_res, Y_res, sampler, strategy)
    assert sampler.mean_ir_ == pytest.approx(R.mean_ir(Y))


def test_neighbours_match_sklearn_each_bag():
    X, Y = make_data(3_000, n_features=20, n_labels=10)
    sampler = R.MLSMOTE(k_neighbors=7, random_state=0)
    sampler.fit_resample(X, Y)
    for label in sampler.minority_labels_:
        bag = np.flatnonzero(Y[:, label])
        ind = NearestNeighbors(n_neighbors=7).fit(X[bag]).kneighbors(return_distance=False)
        rows = np.flatnonzero(sampler.source_labels_ == label)
        np.testing.assert_array_equal(sampler.seed_indices_[rows], bag)
        np.testing.assert_array_equal(sampler.neighbors_[rows], bag[ind])


def test_neighbours_with_ties_and_duplicates():
    # integer features on a small grid and duplicated rows: many tied distances; the
    # k-th distance must equal scikit-learn's, and ties go to the lower row index
    rng = np.random.default_rng(5)
    X = rng.integers(0, 3, size=(300, 3)).astype(np.float64)
    X[100:120] = X[0]
    Y = np.zeros((300, 3), int)
    Y[:, 0] = 1
    Y[:150, 1] = 1
    Y[::10, 2] = 1
    sampler = R.MLSMOTE(k_neighbors=4, random_state=0)
    sampler.fit_resample(X, Y)
    for label in sampler.minority_labels_:
        bag = np.flatnonzero(Y[:, label])
        dist, _ = NearestNeighbors(n_neighbors=4).fit(X[bag]).kneighbors()
        rows = np.flatnonzero(sampler.source_labels_ == label)
        for r, seed, want in zip(rows, bag, dist, strict=True):
            nb = sampler.neighbors_[r]
            got = np.sqrt(((X[nb] - X[seed]) ** 2).sum(axis=1))
            np.testing.assert_allclose(got, want, atol=1e-12)
            # ties: lower row first, and no row left out that ties with the last one
            d_all = ((X[bag] - X[seed]) ** 2).sum(axis=1)
            d_all[bag == seed] = np.inf
            order = np.lexsort((bag, d_all))[:4]
            np.testing.assert_array_equal(nb, bag[order])


def test_gap_per_sample_and_per_feature():
    rng = np.random.default_rng(6)
    X, Y = clustered(rng, 300, 5, 6)
    for gap in ("feature", "sample"):
        sampler = R.MLSMOTE(gap=gap, random_state=1)
        X_res, Y_res = sampler.fit_resample(X, Y)
        check_synthetic(X, Y, X_res, Y_res, sampler, gap=gap)
    # per feature: the gaps of one row differ
    sampler = R.MLSMOTE(gap="feature", random_state=1)
    new = sampler.fit_resample(X, Y)[0][len(X):]
    span = X[sampler.neighbor_indices_] - X[sampler.seed_indices_]
    g = (new - X[sampler.seed_indices_]) / span
    assert np.median(g.max(axis=1) - g.min(axis=1)) > 0.3


def test_determinism_and_threads(monkeypatch):
    X, Y = make_data(2_000, n_features=8, n_labels=8)
    a = R.mlsmote(X, Y, random_state=3)
    b = R.mlsmote(X, Y, random_state=3)
    c = R.mlsmote(X, Y, random_state=4)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    d = R.mlsmote(X, Y, random_state=np.random.default_rng(3))
    np.testing.assert_array_equal(a[0], d[0])
    np.random.seed(0)  # None: NumPy's global RandomState, as scikit-learn
    e = R.mlsmote(X, Y, random_state=None)
    g = R.mlsmote(X, Y, random_state=None)
    f = R.mlsmote(X, Y, random_state=np.random.RandomState(0))
    np.testing.assert_array_equal(e[0], f[0])
    assert not np.array_equal(e[0], g[0])
    # the parallel twins give the same rows
    monkeypatch.setattr(kern, "PARALLEL_ENTRIES", 0)
    monkeypatch.setattr(kern, "PARALLEL_SYN_ENTRIES", 0)
    monkeypatch.setattr(kern, "PARALLEL_WORK", 0)
    h = R.mlsmote(X, Y, random_state=3)
    np.testing.assert_array_equal(a[0], h[0])
    np.testing.assert_array_equal(a[1], h[1])


def test_small_bags_and_k_larger_than_bag():
    rng = np.random.default_rng(7)
    n = 200
    X = rng.normal(size=(n, 4))
    Y = np.zeros((n, 5), int)
    Y[:, 0] = 1
    Y[:150, 1] = 1
    Y[[3], 2] = 1  # bag of one row: no neighbour, no synthetic row
    Y[[5, 9, 11], 3] = 1  # bag of three: two neighbours each with k=5
    # label 4: no positives (IRLbl 0, never a minority label)
    sampler = R.MLSMOTE(k_neighbors=5, random_state=0)
    X_res, Y_res = sampler.fit_resample(X, Y)
    assert sampler.minority_labels_.tolist() == [2, 3]
    assert sampler.irlbl_[4] == 0
    assert sampler.seed_indices_.tolist() == [5, 9, 11]
    for t, seed in enumerate([5, 9, 11]):
        nb = sampler.neighbors_[t]
        assert sorted(nb[nb >= 0]) == sorted({5, 9, 11} - {seed})
        assert (nb[2:] == -1).all()
    check_synthetic(X, Y, X_res, Y_res, sampler)
    ref = mlsmote_paper(X, Y, k_neighbors=5)
    assert len(ref.X) == len(X_res)


def test_only_two_rows_and_no_minority():
    X = np.array([[0.0, 0.0], [1.0, 2.0], [3.0, 3.0]])
    Y = np.array([[1, 1], [1, 1], [1, 0]])
    X_res, Y_res = R.mlsmote(X, Y, k_neighbors=5, random_state=0)
    assert X_res.shape == (5, 2)  # label 1 (IRLbl 1.5 > 1.25): two seeds, one neighbour each
    new = X_res[3:]
    assert ((new >= 0) & (new <= 2)).all()
    # balanced labels: no minority label, output equals input
    X_res, Y_res = R.mlsmote(X, np.ones((3, 2), int), random_state=0)
    np.testing.assert_array_equal(X_res, X)


def test_constant_features_and_float32():
    rng = np.random.default_rng(8)
    X, Y = clustered(rng, 300, 5, 6, dtype=np.float32)
    X[:, 1] = 7.0
    sampler = R.MLSMOTE(random_state=0)
    X_res, Y_res = sampler.fit_resample(X, Y)
    assert X_res.dtype == np.float32
    assert (X_res[:, 1] == 7.0).all()
    check_synthetic(X, Y, X_res, Y_res, sampler)
    ref = mlsmote_paper(X, Y)
    same_neighbours(X, sampler, ref)
    # all-constant features: every distance ties, neighbours are the lowest other rows
    Xc = np.zeros((40, 3))
    Yc = np.zeros((40, 2), int)
    Yc[:, 0] = 1
    Yc[10:20, 1] = 1
    s = R.MLSMOTE(k_neighbors=3, random_state=0)
    Xr, _ = s.fit_resample(Xc, Yc)
    assert (Xr == 0).all()
    assert s.neighbors_[0].tolist() == [11, 12, 13]
    assert s.neighbors_[5].tolist() == [10, 11, 12]


def test_dtypes_and_containers():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(9)
    X, Y = clustered(rng, 200, 4, 5)
    want_x, want_y = R.mlsmote(X, Y, random_state=0)
    Xi = rng.integers(0, 100, size=(200, 4))
    assert R.mlsmote(Xi, Y, random_state=0)[0].dtype == np.float64
    Xr, Yr = R.mlsmote(
        pd.DataFrame(X, columns=list("abcd")), pd.DataFrame(Y, columns=list("vwxyz")),
        random_state=0,
    )
    assert list(Xr.columns) == list("abcd") and list(Yr.columns) == list("vwxyz")
    np.testing.assert_array_equal(Xr.to_numpy(), want_x)
    np.testing.assert_array_equal(Yr.to_numpy(), want_y)
    Xr, Yr = R.mlsmote(X, sp.csr_matrix(Y), random_state=0)
    assert sp.issparse(Yr) and isinstance(Yr, sp.csr_matrix)
    np.testing.assert_array_equal(Yr.toarray(), want_y)
    Xr, Yr = R.mlsmote(X.tolist(), Y.astype(bool), random_state=0)
    assert Yr.dtype == bool
    np.testing.assert_array_equal(Yr, want_y.astype(bool))
    Xr, Yr = R.mlsmote(np.asfortranarray(X), np.asfortranarray(Y), random_state=0)
    np.testing.assert_array_equal(Xr, want_x)


def test_sampling_factor_and_max_samples():
    rng = np.random.default_rng(10)
    X, Y = clustered(rng, 300, 4, 6)
    base = R.MLSMOTE(random_state=0)
    base.fit_resample(X, Y)
    pairs = len(base.seed_indices_)
    for factor, cap, want in [
        (2.0, None, 2 * pairs), (0.5, None, round(0.5 * pairs)), (0.0, None, 0),
        (1.0, 7, 7), (3.0, 10_000, 3 * pairs),
    ]:
        s = R.MLSMOTE(sampling_factor=factor, max_samples=cap, random_state=0)
        X_res, Y_res = s.fit_resample(X, Y)
        assert len(X_res) - len(X) == want == len(s.seed_indices_)
        check_synthetic(X, Y, X_res, Y_res, s)
        # each (label, seed) pair appears floor(factor) or ceil(factor) times
        pair = np.c_[s.source_labels_, s.seed_indices_]
        pairs_seen = np.unique(pair, axis=0, return_counts=True)[1]
        if want:
            assert pairs_seen.max() - pairs_seen.min() <= 1


def test_categorical_features():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(11)
    X, Y = clustered(rng, 300, 4, 6)
    X[:, 2] = rng.integers(0, 3, 300)
    s = R.MLSMOTE(categorical_features=[2], random_state=0)
    X_res, Y_res = s.fit_resample(X, Y)
    new = X_res[len(X):]
    for t in range(len(new)):
        nb = s.neighbors_[t][s.neighbors_[t] >= 0]
        values, counts = np.unique(X[nb, 2], return_counts=True)
        assert new[t, 2] == values[np.argmax(counts)]  # most frequent, smallest on ties
    # the categorical column is left out of the distance
    numeric = np.delete(X, 2, axis=1)
    s2 = R.MLSMOTE(random_state=0)
    s2.fit_resample(numeric, Y)
    np.testing.assert_array_equal(s.neighbors_, s2.neighbors_)
    mask = np.array([False, False, True, False])
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    for cats in (mask, ["c"], np.array([-2])):
        s3 = R.MLSMOTE(categorical_features=cats, random_state=0)
        out = s3.fit_resample(frame if isinstance(cats, list) else X, Y)[0]
        np.testing.assert_array_equal(np.asarray(out), X_res)


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"k_neighbors": 0}, ValueError),
        ({"k_neighbors": 2.5}, TypeError),
        ({"k_neighbors": True}, TypeError),
        ({"label_strategy": "vote"}, ValueError),
        ({"gap": "segment"}, ValueError),
        ({"sampling_factor": -1}, ValueError),
        ({"sampling_factor": float("nan")}, ValueError),
        ({"sampling_factor": "2"}, TypeError),
        ({"max_samples": -1}, ValueError),
        ({"max_samples": 1.5}, TypeError),
        ({"random_state": -1}, ValueError),
        ({"random_state": "seed"}, TypeError),
        ({"categorical_features": [9]}, ValueError),
        ({"categorical_features": [True, False]}, ValueError),
        ({"categorical_features": ["a"]}, ValueError),
        ({"categorical_features": [0, 1, 2]}, ValueError),
    ],
)
def test_mlsmote_bad_parameters(kwargs, error):
    X, Y = np.random.default_rng(0).normal(size=(20, 3)), np.eye(20, 2, dtype=int)
    with pytest.raises(error):
        R.MLSMOTE(**kwargs).fit_resample(X, Y)


def test_mlsmote_bad_data():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(20, 3)), (rng.random((20, 2)) < 0.3).astype(int)
    bad = X.copy()
    bad[3, 1] = np.nan
    cases = [
        (bad, Y, ValueError),
        (X[:10], Y, ValueError),
        (X[:, 0], Y, ValueError),
        (np.zeros((20, 0)), Y, ValueError),
        (X.astype(str), Y, TypeError),
        (sp.csr_matrix(X), Y, TypeError),
        (None, Y, ValueError),
        (X, Y * 2, ValueError),
        (X, Y[:, 0], ValueError),
    ]
    for x, y, error in cases:
        with pytest.raises(error):
            R.mlsmote(x, y)


def test_sampler_protocol():
    from sklearn.base import clone

    s = R.MLSMOTE(k_neighbors=3, random_state=0, sampling_factor=2.0)
    c = clone(s)
    assert c.get_params() == s.get_params() and c is not s
    assert "k_neighbors=3" in repr(s)
    with pytest.raises(ValueError):
        s.set_params(bogus=1)
    X, Y = make_data(300, n_features=4, n_labels=5)
    assert s.fit(X, Y) is s and s.n_features_in_ == 4


def test_imblearn_pipeline():
    pipeline = pytest.importorskip("imblearn.pipeline")
    from sklearn.neighbors import KNeighborsClassifier

    X, Y = make_data(400, n_features=4, n_labels=5)
    for sampler in (R.MLSMOTE(random_state=0), R.MLROS(random_state=0), R.MLRUS(random_state=0)):
        model = pipeline.make_pipeline(sampler, KNeighborsClassifier(3)).fit(X, Y)
        assert model.predict(X).shape == Y.shape


def test_reduces_imbalance_on_bench_data():
    X, Y = make_data(3_000)
    X_res, Y_res = R.mlsmote(X, Y, random_state=0)
    assert R.mean_ir(Y_res) < R.mean_ir(Y)


# ------------------------------------------------------------------------- ML-ROS / ML-RUS


def key_for(seed):
    return int(_key(random_generator(seed)))


@pytest.mark.parametrize("ratio", [0.0, 0.05, 0.25, 1.5])
def test_mlros_against_loop(ratio):
    rng = np.random.default_rng(12)
    Y = random_labels(rng, 500, 8)
    X = np.arange(500)[:, None]
    s = R.MLROS(sampling_ratio=ratio, random_state=5)
    X_res, Y_res = s.fit_resample(X, Y)
    clones = mlros_reference(Y, round(ratio * 500), key_for(5))
    np.testing.assert_array_equal(s.sample_indices_, np.r_[np.arange(500), clones])
    np.testing.assert_array_equal(X_res.ravel(), s.sample_indices_)
    np.testing.assert_array_equal(Y_res, Y[s.sample_indices_])
    assert set(np.flatnonzero(Y[clones][:, s.minority_labels_].any(axis=1))) == set(
        range(len(clones))
    )


@pytest.mark.parametrize("ratio", [0.0, 0.05, 0.25, 0.9, 1.0])
def test_mlrus_against_loop(ratio):
    rng = np.random.default_rng(13)
    Y = random_labels(rng, 500, 8)
    X = np.arange(500)[:, None]
    s = R.MLRUS(sampling_ratio=ratio, random_state=5)
    X_res, Y_res = s.fit_resample(X, Y)
    alive = mlrus_reference(Y, round(ratio * 500), key_for(5))
    np.testing.assert_array_equal(s.sample_indices_, np.flatnonzero(alive))
    np.testing.assert_array_equal(X_res.ravel(), s.sample_indices_)
    np.testing.assert_array_equal(Y_res, Y[s.sample_indices_])


def test_random_stream_matches_twin():
    key = key_for(1)
    u = np.array([uniform_stream(key, i) for i in range(100)])
    assert ((u >= 0) & (u < 1)).all() and abs(u.mean() - 0.5) < 0.1


def test_ros_rus_containers_and_errors():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(14)
    Y = random_labels(rng, 100, 4)
    X = pd.DataFrame({"a": np.arange(100), "b": list("xy" * 50)}, index=np.arange(100) + 7)
    X_res, Y_res = R.mlros(X, pd.DataFrame(Y, columns=list("pqrs")), random_state=0)
    assert list(X_res.columns) == ["a", "b"]
    # the input rows keep their index labels, the clones get fresh ones after the largest
    assert X_res.index.equals(pd.RangeIndex(7, 7 + len(X_res)))
    assert list(Y_res.columns) == list("pqrs")
    X_res, _ = R.mlrus(sp.csr_matrix(np.eye(100)), Y, random_state=0)
    assert sp.issparse(X_res)
    X_res, _ = R.mlros(np.array(list("ab" * 50), dtype=object), Y, random_state=0)
    assert X_res.dtype == object
    with pytest.raises(ValueError):
        R.mlrus(X, Y, sampling_ratio=1.5)
    with pytest.raises(ValueError):
        R.mlros(X[:50], Y)
    with pytest.raises(TypeError):
        R.mlros(X, Y, sampling_ratio=None)
    a = R.mlros(np.arange(100), Y, random_state=3)[0]
    b = R.mlros(np.arange(100), Y, random_state=3)[0]
    np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ dtypes, byte order, layout


def read_only(a):
    a = a.copy()
    a.setflags(write=False)
    return a


def label_variants(Y):
    """The same 0/1 matrix in every dtype, byte order and layout a user may hand in."""
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(Y)
    return {
        ">i8": Y.astype(">i8"),
        ">f8": Y.astype(">f8"),
        ">u2": Y.astype(">u2"),
        "float16": Y.astype(np.float16),
        "longdouble": Y.astype(np.longdouble),
        "bool": Y.astype(bool),
        "int8": Y.astype(np.int8),
        "fortran": np.asfortranarray(Y),
        "fortran >f8": np.asfortranarray(Y.astype(">f8")),
        "read-only": read_only(Y),
        "read-only bool": read_only(Y.astype(bool)),
        "strided": np.repeat(Y, 2, axis=1)[:, ::2],
        "strided float16": np.repeat(Y.astype(np.float16), 2, axis=0)[::2],
        "Int64": frame.astype("Int64"),
        "boolean": frame.astype("boolean"),
        "Float64": frame.astype("Float64"),
        "UInt8 and bool": frame.astype("UInt8").astype({0: bool}),
    }


def values(y):
    """A resampled label matrix (array or DataFrame) as plain uint8."""
    return np.asarray(y).astype(np.uint8)


def test_measures_any_dtype_byte_order_and_layout():
    rng = np.random.default_rng(21)
    Y = random_labels(rng, 300, 6).astype(np.uint8)
    Y[:, 4] = 0  # a label without positives
    want = report_tuple(Y)
    per_row = R.scumble_per_sample(Y)
    for name, v in label_variants(Y).items():
        for g, w in zip(report_tuple(v), want, strict=True):
            np.testing.assert_array_equal(g, w, err_msg=name)
        np.testing.assert_array_equal(R.irlbl(v), want[2], err_msg=name)
        np.testing.assert_array_equal(R.scumble_per_sample(v), per_row, err_msg=name)
        np.testing.assert_array_equal(R.scumble_per_label(v), want[3], err_msg=name)
        assert R.mean_ir(v) == want[4] and R.cvir(v) == want[6] and R.scumble(v) == want[7]
    for v in (sp.csr_matrix(Y.astype(np.longdouble)), sp.csc_array(Y.astype(np.int8))):
        for g, w in zip(report_tuple(v), want, strict=True):
            np.testing.assert_array_equal(g, w)


def test_resampling_any_dtype_byte_order_and_layout():
    rng = np.random.default_rng(22)
    X, Y = clustered(rng, 300, 4, 5)
    Y = Y.astype(np.uint8)
    smote = R.MLSMOTE(k_neighbors=3, random_state=0)
    want_x, want_y = smote.fit_resample(X, Y)
    ros = R.MLROS(sampling_ratio=0.3, random_state=1)
    ros.fit_resample(X, Y)
    rus = R.MLRUS(sampling_ratio=0.3, random_state=2)
    rus.fit_resample(X, Y)
    assert len(smote.seed_indices_) and len(ros.sample_indices_) > 300 > len(rus.sample_indices_)
    for name, v in label_variants(Y).items():
        s = R.MLSMOTE(k_neighbors=3, random_state=0)
        got_x, got_y = s.fit_resample(X, v)
        np.testing.assert_array_equal(got_x, want_x, err_msg=name)
        np.testing.assert_array_equal(values(got_y), want_y, err_msg=name)
        np.testing.assert_array_equal(s.neighbors_, smote.neighbors_, err_msg=name)
        got_x, got_y = R.mlsmote(X, v, k_neighbors=3, random_state=0)
        np.testing.assert_array_equal(got_x, want_x, err_msg=name)
        for want, sampler in ((ros, R.MLROS), (rus, R.MLRUS)):
            s = sampler(sampling_ratio=0.3, random_state=want.random_state)
            got_x, got_y = s.fit_resample(X, v)
            np.testing.assert_array_equal(s.sample_indices_, want.sample_indices_, err_msg=name)
            np.testing.assert_array_equal(got_x, X[want.sample_indices_], err_msg=name)
            np.testing.assert_array_equal(values(got_y), Y[want.sample_indices_], err_msg=name)
        got_x, got_y = R.mlros(X, v, sampling_ratio=0.3, random_state=1)
        np.testing.assert_array_equal(got_x, X[ros.sample_indices_], err_msg=name)
        got_x, got_y = R.mlrus(X, v, sampling_ratio=0.3, random_state=2)
        np.testing.assert_array_equal(got_x, X[rus.sample_indices_], err_msg=name)
    # the input's dtype is kept, in native byte order
    assert R.mlros(X, Y.astype(">i8"), random_state=0)[1].dtype == np.int64
    assert R.mlsmote(X, Y.astype(np.float16), random_state=0)[1].dtype == np.float16


def test_mlsmote_features_any_dtype_byte_order_and_layout():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(23)
    X, Y = clustered(rng, 300, 4, 5)
    X16 = X.astype(np.float16)
    cases = [  # (X variant, the plain input it must equal, output dtype)
        (X.astype(">f8"), X, np.float64),
        (np.asfortranarray(X.astype(">f8")), X, np.float64),
        (read_only(X), X, np.float64),
        (np.repeat(X, 2, axis=1)[:, ::2], X, np.float64),
        (X.astype(">f4"), X.astype(np.float32), np.float32),
        (X16, X16.astype(np.float64), np.float64),
        (X16.astype(">f2"), X16.astype(np.float64), np.float64),
        (pd.DataFrame(X).astype("Float64"), X, np.float64),
        (np.rint(X * 10).astype(">i4"), np.rint(X * 10), np.float64),
    ]
    for v, plain, dtype in cases:
        want_x, want_y = R.mlsmote(plain, Y, random_state=0)
        got_x, got_y = R.mlsmote(v, Y, random_state=0)
        got_x = np.asarray(got_x)
        assert got_x.dtype == dtype
        np.testing.assert_array_equal(got_x, want_x)
        np.testing.assert_array_equal(got_y, want_y)


def test_missing_and_unsupported_label_values_are_refused():
    pd = pytest.importorskip("pandas")
    X, Y = np.zeros((6, 1)), np.array([[1, 0], [0, 1], [1, 1]] * 2)
    with_na = pd.DataFrame(Y).astype("Int64")
    with_na.iloc[2, 1] = pd.NA
    for f in (R.imbalance_report, lambda y: R.mlros(X, y), lambda y: R.mlsmote(X, y)):
        with pytest.raises(ValueError, match="missing values"):
            f(with_na)
        with pytest.raises(ValueError, match="only 0 and 1"):
            f(pd.DataFrame(Y * 2).astype("Int64"))
        with pytest.raises(ValueError, match="only 0 and 1"):
            f(Y.astype(np.longdouble) + np.longdouble(1e-3) * (Y == 1))  # near 1 is not 1
        with pytest.raises(TypeError, match="numbers or booleans"):
            f(Y.astype(np.complex128))
        with pytest.raises(TypeError, match="numbers or booleans"):
            f(pd.DataFrame(Y).astype("string"))
    with pytest.raises(ValueError, match="X contains missing values"):
        R.mlsmote(pd.DataFrame([[1.0], [None]] * 3).astype("Float64"), Y)


# ------------------------------------------------------------------ ML-ROS budget


@pytest.mark.parametrize(
    "ratio", [1e9, 10.5, float("inf"), 10**400, -0.1], ids=["1e9", "10.5", "inf", "10**400", "-0.1"]
)
def test_mlros_budget_out_of_range(ratio):
    X, Y = np.arange(4)[:, None], np.array([[1, 0], [1, 0], [1, 0], [1, 1]])
    with pytest.raises(ValueError, match=r"sampling_ratio must be in \[0, 10\]"):
        R.MLROS(sampling_ratio=ratio).fit_resample(X, Y)
    with pytest.raises(ValueError, match=r"sampling_ratio must be in \[0, 10\]"):
        R.mlros(X, Y, sampling_ratio=ratio)


def test_mlros_full_budget_is_balance():
    # Cloning the row with label 1 raises label 1 to MeanIR: once there, cloning stops,
    # whatever the budget beyond that.
    X, Y = np.arange(4)[:, None], np.array([[1, 0], [1, 0], [1, 0], [1, 1]])
    for ratio in (0.75, 2.0, 10):
        s = R.MLROS(sampling_ratio=ratio, random_state=0)
        X_res, Y_res = s.fit_resample(X, Y)
        assert s.sample_indices_.tolist() == [0, 1, 2, 3, 3]
        assert R.irlbl(Y_res)[1] <= s.mean_ir_


def test_mlros_buffer_follows_the_clones(monkeypatch):
    """The clone buffer grows with the clones made (never the whole budget up front), and the
    clones equal those of a single run with the whole budget."""
    rng = np.random.default_rng(24)
    budgets = []
    real = kern.mlros

    def spy(*args):
        budgets.append(args[7])
        return real(*args)

    monkeypatch.setattr(kern, "mlros", spy)
    monkeypatch.setattr(_random, "_FIRST_BUDGET", 8)  # read there
    Y = random_labels(rng, 40, 5)
    X = np.arange(40)[:, None]
    for ratio in (10, 3.0, 0.3):
        budgets.clear()
        s = R.MLROS(sampling_ratio=ratio, random_state=7)
        s.fit_resample(X, Y)
        quota = round(ratio * 40)
        clones = mlros_reference(Y, quota, key_for(7))
        np.testing.assert_array_equal(s.sample_indices_, np.r_[np.arange(40), clones])
        assert budgets[0] == min(quota, 40) and budgets[-1] <= quota
        if len(clones) < 40:
            assert budgets == [min(quota, 40)]
    # Labels without positives put MeanIR below 1, so that every label with positives is a
    # minority label forever: the whole budget is used.
    Y = np.zeros((40, 16), int)
    Y[:, 0] = 1
    Y[:3, 1] = 1
    assert R.mean_ir(Y) < 1
    budgets.clear()
    s = R.MLROS(sampling_ratio=10, random_state=7)
    s.fit_resample(X, Y)
    assert len(s.sample_indices_) == 40 + 400 and budgets == [40, 160, 400]
    np.testing.assert_array_equal(s.sample_indices_[40:], mlros_reference(Y, 400, key_for(7)))


# ------------------------------------------------- kernel edge cases, threads, fork safety


@pytest.mark.parametrize("n_labels", [1, 7, 8, 9, 17, 70])
def test_scumble_rows_against_formula(n_labels):
    # rows read as words of 8 labels: label counts around and above the word size
    rng = np.random.default_rng(n_labels)
    Y = (rng.random((3_000, n_labels)) < rng.uniform(0.02, 0.9, n_labels)).astype(np.uint8)
    Y[0] = 1  # every label
    Y[1] = 0  # none
    Y[2, -1] = 1  # only the last label
    counts = Y.sum(axis=0)
    ir = np.where(counts > 0, counts.max() / np.maximum(counts, 1), 0.0)
    want = np.zeros(len(Y))
    for i, row in enumerate(Y):
        v = ir[row > 0]
        if v.size >= 2:
            want[i] = 1 - np.exp(np.log(v).mean()) / v.mean()
    total, per_label, rows = kern.scumble(Y, ir, True)
    np.testing.assert_allclose(rows, want, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(total, want.sum(), rtol=1e-12)
    np.testing.assert_allclose(per_label, Y.T @ want, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize(("n_threads", "tasks"), [(1, False), (1, True), (3, True)])
def test_bags_against_columns(monkeypatch, threads, n_threads, tasks):
    threads(n_threads)
    monkeypatch.setattr(kern, "PARALLEL_BAG_ENTRIES", 0 if tasks else 1 << 62)
    rng = np.random.default_rng(21)
    Y = (rng.random((500, 6)) < [0.5, 0.1, 0.0, 0.9, 0.02, 1.0]).astype(np.uint8)
    for labels in ([], [2], [0, 1, 2, 3, 4, 5], [5, 1, 1, 4], [3, 0]):
        ptr, rows = kern.bags(Y, np.array(labels, np.int64))
        assert ptr.dtype == rows.dtype == np.int64 and len(ptr) == len(labels) + 1
        assert ptr[-1] == len(rows)
        for b, j in enumerate(labels):
            np.testing.assert_array_equal(rows[ptr[b]:ptr[b + 1]], np.flatnonzero(Y[:, j]))


@pytest.mark.parametrize("integer", [False, True])
def test_bag_knn_against_brute_force(monkeypatch, integer):
    # bags of sizes around the seed group (4) and tile (256) sizes; integer features tie
    rng = np.random.default_rng(8)
    sizes = [1, 2, 3, 4, 5, 9, 257, 300]
    pts = rng.integers(0, 3, (sum(sizes), 5)) if integer else rng.normal(size=(sum(sizes), 5))
    pts = pts.astype(np.float64)
    ptr = np.r_[0, np.cumsum(sizes)].astype(np.int64)
    for parallel in (False, True):
        if parallel:
            monkeypatch.setattr(kern, "PARALLEL_WORK", 0)
        for k in (1, 4, 6):
            nbr, dist, count = kern.bag_knn(pts, ptr, k, 2)
            for b in range(len(sizes)):
                lo, hi = ptr[b], ptr[b + 1]
                for p in range(lo, hi):
                    d = ((pts[lo:hi] - pts[p]) ** 2).sum(axis=1)
                    d[p - lo] = np.inf
                    m = min(k, hi - lo - 1)
                    want = lo + np.lexsort((np.arange(hi - lo), d))[:m]
                    assert count[p] == m
                    np.testing.assert_array_equal(nbr[p, :m], want)
                    np.testing.assert_allclose(dist[p, :m], d[want - lo], rtol=1e-14)
                    assert (nbr[p, m:] == -1).all() and np.isinf(dist[p, m:]).all()


def plain_knn(pts, ptr, k):
    """Neighbour lists by definition: squared distances summed over the features in order
    (as the direct search adds them), the first k members in (distance, member) order."""
    n, width = len(pts), max(k, 1)
    nbr, dist = np.full((n, width), -1, np.int64), np.full((n, width), np.inf)
    for b in range(len(ptr) - 1):
        lo, hi = ptr[b], ptr[b + 1]
        m = min(k, hi - lo - 1)
        for p in range(lo, hi):
            d = np.zeros(hi - lo)
            for f in range(pts.shape[1]):
                t = pts[lo:hi, f] - pts[p, f]
                d = d + t * t
            d[p - lo] = np.inf
            order = np.lexsort((np.arange(hi - lo), d))[:m]
            nbr[p, :m], dist[p, :m] = lo + order, d[order]
    return nbr, dist


def near_tie_points(kind, rng):
    """Bags (points, bag pointer) whose neighbours are decided by the last bits."""
    d = 24
    if kind == "last_bits":  # 5 copies of each point, one coordinate moved by 1-3 ulps
        pts = np.repeat(rng.normal(size=(50, d)), 5, axis=0)
        rows, cols = np.arange(len(pts)), rng.integers(0, d, len(pts))
        steps = rng.integers(1, 4, len(pts)) * rng.choice([-1, 1], len(pts))
        pts[rows, cols] += steps * np.spacing(pts[rows, cols])
        pts = pts[rng.permutation(len(pts))]
    elif kind == "duplicates":  # whole groups of equal rows: zero distances, ties by index
        pts = rng.normal(size=(120, d))
        pts[rng.integers(0, 120, 70)] = pts[3]
        pts[rng.integers(0, 120, 20)] = pts[7]
    elif kind == "large_offset":  # two clusters at +-1e6: centred norms ~1e12, steps ~1
        pts = rng.integers(0, 3, size=(150, d)).astype(np.float64) * 0.5
        pts[::2] += 1e6
        pts[1::2] -= 1e6
        pts[::7] += np.spacing(1e6)
    elif kind == "grid":  # a small integer grid: many exact ties
        pts = rng.integers(0, 2, size=(200, d)).astype(np.float64)
    elif kind == "underflow":  # float32 products of these underflow to zero
        pts = rng.normal(size=(100, d)) * 1e-30
    elif kind == "overflow":  # centred rows beyond float32: searched directly
        pts = rng.normal(size=(100, d)) * 1e19
    else:
        raise AssertionError(kind)
    sizes = [len(pts) - 40, 2, 3, 35]
    return np.ascontiguousarray(pts), np.r_[0, np.cumsum(sizes)].astype(np.int64)


def force_products(monkeypatch, seeds=None, tile=None):
    monkeypatch.setattr(kern, "GEMM_MIN_WORK", 0)
    monkeypatch.setattr(kern, "GEMM_MIN_FEATURES", 1)
    if seeds is not None:
        monkeypatch.setattr(kern, "GEMM_SEEDS", seeds)
        monkeypatch.setattr(kern, "GEMM_TILE", tile)


KINDS = ["last_bits", "duplicates", "large_offset", "grid", "underflow", "overflow"]


@pytest.fixture
def screen_levels():
    """Every screen level this CPU runs (scalar, then the float32 pre-tests it has)."""
    best = kern.screen_level()
    yield list(range(best + 1))
    kern.screen_level(2)


@pytest.mark.parametrize("kind", KINDS)
def test_bag_knn_products_exact_on_near_ties(monkeypatch, kind, screen_levels):
    # the product search screens pairs with float32 products of centred rows, then
    # measures the survivors exactly: lists, distances and tie order are the definition's,
    # at every screen level
    pts, ptr = near_tie_points(kind, np.random.default_rng(KINDS.index(kind)))
    for k in (1, 3, 5):
        want = plain_knn(pts, ptr, k)
        direct = kern.bag_knn(pts, ptr, k, 1)
        for seeds, tile in ((None, None), (7, 19), (64, 5)):  # blocks, tiles, 8-wide tails
            with monkeypatch.context() as mp:
                force_products(mp, seeds, tile)
                for parallel, level in itertools.product((False, True), screen_levels):
                    kern.screen_level(level)
                    if parallel:
                        mp.setattr(kern, "PARALLEL_WORK", 0)
                    nbr, dist, count = kern.bag_knn(pts, ptr, k, 2)
                    np.testing.assert_array_equal(nbr, want[0])
                    np.testing.assert_array_equal(dist, want[1])
                    np.testing.assert_array_equal(count, direct[2])
        np.testing.assert_array_equal(direct[0], want[0])
        np.testing.assert_array_equal(direct[1], want[1])


@pytest.mark.parametrize("kind", ["last_bits", "large_offset"])
def test_bag_knn_products_need_the_bound(monkeypatch, kind):
    # without the rounding bound (the screen trusting the products as distances), these
    # data lose true neighbours: the exact re-check of every pair within the bound is
    # what keeps the lists above exact
    pts, ptr = near_tie_points(kind, np.random.default_rng(KINDS.index(kind)))
    want = plain_knn(pts, ptr, 2)
    force_products(monkeypatch)
    monkeypatch.setattr(kern, "_GEMM_SLACK", 0.0)
    nbr, _, _ = kern.bag_knn(pts, ptr, 2, 1)
    assert (nbr != want[0]).any()


def test_bag_knn_products_random_against_direct(monkeypatch, threads):
    # larger random bags, many features: the product path equals the direct one on any
    # number of threads
    rng = np.random.default_rng(31)
    sizes = [700, 300, 1, 2, 90]
    pts = rng.normal(size=(sum(sizes), 48)) + np.repeat(rng.normal(size=(5, 48)), sizes, 0)
    ptr = np.r_[0, np.cumsum(sizes)].astype(np.int64)
    direct = kern.bag_knn(pts, ptr, 5, 1)
    force_products(monkeypatch)
    monkeypatch.setattr(kern, "PARALLEL_WORK", 0)
    for n in (1, 2, 3):
        threads(n)
        for a, b in zip(kern.bag_knn(pts, ptr, 5), direct, strict=True):
            np.testing.assert_array_equal(a, b)


def test_bag_knn_products_random_every_screen_level(monkeypatch, screen_levels):
    rng = np.random.default_rng(32)
    sizes = [600, 257, 33]
    pts = rng.normal(size=(sum(sizes), 40)) * rng.uniform(0.1, 10, size=40)
    ptr = np.r_[0, np.cumsum(sizes)].astype(np.int64)
    direct = kern.bag_knn(pts, ptr, 6, 1)
    force_products(monkeypatch, 32, 100)
    for level in screen_levels:
        kern.screen_level(level)
        for a, b in zip(kern.bag_knn(pts, ptr, 6, 1), direct, strict=True):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_mlsmote_refuses_nan_inside_bags_with_products_in_parallel(monkeypatch, threads, value):
    # the input rows are checked while copied into the output: a bad value inside a
    # minority bag raises, also where the bags would be searched by products in parallel
    X, Y = make_data(2_000, n_features=45, n_labels=8)
    force_products(monkeypatch)
    monkeypatch.setattr(kern, "PARALLEL_WORK", 0)
    threads(2)
    minority_row = int(np.flatnonzero(Y[:, -1])[3])
    for row in (0, minority_row, len(X) - 1):
        bad = X.copy()
        bad[row, 7] = value
        with pytest.raises(ValueError, match="NaN or infinity"):
            R.MLSMOTE(k_neighbors=5, random_state=1).fit_resample(bad, Y)


def test_mlsmote_same_with_products(monkeypatch):
    X, Y = make_data(2_000, n_features=45, n_labels=8)
    before = R.MLSMOTE(k_neighbors=5, random_state=1)
    out = before.fit_resample(X, Y)
    force_products(monkeypatch)
    after = R.MLSMOTE(k_neighbors=5, random_state=1)
    for a, b in zip(after.fit_resample(X, Y), out, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(after.neighbors_, before.neighbors_)


def _resample_calls(seed):
    X, Y = make_data(6_000, n_features=12, n_labels=9, seed=seed)
    out = list(R.MLSMOTE(k_neighbors=5, random_state=seed).fit_resample(X, Y))
    out += list(R.MLSMOTE(gap="sample", random_state=seed).fit_resample(X.astype(np.float32), Y))
    r = R.imbalance_report(Y)
    out += [r.scumble_label, np.array([r.scumble]), R.scumble_per_sample(Y)]
    out += list(R.mlros(X, Y, random_state=seed)) + list(R.mlrus(X, Y, random_state=seed))
    return out


def test_identical_for_any_thread_count(monkeypatch, threads):
    # every pass in blocks / tasks (as large inputs run them), on 1, 2 and 3 threads
    monkeypatch.setattr(kern, "PARALLEL_ENTRIES", 0)
    monkeypatch.setattr(kern, "PARALLEL_SYN_ENTRIES", 0)
    monkeypatch.setattr(kern, "PARALLEL_COPY_ENTRIES", 0)
    monkeypatch.setattr(kern, "PARALLEL_BAG_ENTRIES", 0)
    monkeypatch.setattr(kern, "_COPY_ENTRIES", 64)
    monkeypatch.setattr(kern, "_SYN_ROWS", 7)
    monkeypatch.setattr(kern, "PARALLEL_WORK", 0)
    results = []
    for k in (1, 2, 3):
        threads(k)
        results.append(_resample_calls(2))
    for other in results[1:]:
        for a, b in zip(results[0], other, strict=True):
            np.testing.assert_array_equal(a, b)
    # and the one-block paths give the same
    monkeypatch.setattr(kern, "PARALLEL_ENTRIES", 1 << 62)
    monkeypatch.setattr(kern, "PARALLEL_SYN_ENTRIES", 1 << 62)
    monkeypatch.setattr(kern, "PARALLEL_COPY_ENTRIES", 1 << 62)
    monkeypatch.setattr(kern, "PARALLEL_BAG_ENTRIES", 1 << 62)
    monkeypatch.setattr(kern, "PARALLEL_WORK", 1 << 62)
    for a, b in zip(results[0], _resample_calls(2), strict=True):
        np.testing.assert_array_equal(a, b)


def _fork_probe(seed):
    kern.PARALLEL_ENTRIES = kern.PARALLEL_WORK = 0
    return [a.tobytes() for a in _resample_calls(seed)]


def test_fork_child_after_parent_call(monkeypatch, threads):
    import multiprocessing as mp

    threads(2)
    monkeypatch.setattr(kern, "PARALLEL_ENTRIES", 0)
    monkeypatch.setattr(kern, "PARALLEL_WORK", 0)
    expected = [[a.tobytes() for a in _resample_calls(s)] for s in range(2)]
    with mp.get_context("fork").Pool(2) as pool:
        result = pool.map_async(_fork_probe, range(2))
        assert result.get(timeout=120) == expected


# ------------------------------------------------ pandas index and categorical columns


def _vote(values, column):
    """The most frequent value (ties: the smallest where the column's values compare, else
    the first seen down the column)."""
    counts = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    top = max(counts.values())
    tied = [v for v in counts if counts[v] == top]
    try:
        sorted(set(column))
    except TypeError:
        return next(v for v in column if v in tied)
    return min(tied)


@pytest.mark.parametrize("index_kind", ["int", "str", "named"])
def test_resamplers_keep_the_index_and_extend_it(index_kind):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(21)
    X, Y = clustered(rng, 120, 3, 4, prevalence=[0.5, 0.3, 0.08, 0.04])
    if index_kind == "str":
        index = pd.Index([f"r{i}" for i in range(120)])
    else:
        name = "id" if index_kind == "named" else None
        index = pd.Index(rng.permutation(120) * 3 + 40, name=name)
    y_index = pd.Index(np.arange(120) + 1000)
    fx = pd.DataFrame(X, columns=list("abc"), index=index)
    fy = pd.DataFrame(Y, columns=list("pqrs"), index=y_index)
    for sampler in (R.MLSMOTE(random_state=0), R.MLROS(random_state=0), R.MLRUS(random_state=0)):
        x_res, y_res = sampler.fit_resample(fx, fy)
        n_out = len(x_res)
        assert len(y_res) == n_out and x_res.index.name == index.name
        if isinstance(sampler, R.MLRUS):
            kept = sampler.sample_indices_
            assert x_res.index.equals(index[kept]) and y_res.index.equals(y_index[kept])
            np.testing.assert_array_equal(x_res.to_numpy(), X[kept])
            continue
        n_new = n_out - 120
        assert n_new > 0
        assert x_res.index[:120].equals(index) and y_res.index[:120].equals(y_index)
        start = index.max() + 1 if index_kind != "str" else 120
        assert list(x_res.index[120:]) == list(range(start, start + n_new))
        assert list(y_res.index[120:]) == list(range(1120, 1120 + n_new))
        assert x_res.index.is_unique and y_res.index.is_unique
        np.testing.assert_array_equal(x_res.to_numpy()[:120], X)
        if isinstance(sampler, R.MLROS):  # clones: the rows of the input they copy
            src = sampler.sample_indices_[120:]
            np.testing.assert_array_equal(x_res.to_numpy()[120:], X[src])
            np.testing.assert_array_equal(y_res.to_numpy()[120:], Y[src])
    # a Series of features too
    xs, _ = R.mlros(pd.Series(np.arange(120), index=index), fy, random_state=0)
    assert xs.index[:120].equals(index) and xs.index.is_unique


def test_mlsmote_categorical_columns_of_any_type_keep_their_dtype():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(22)
    X, Y = clustered(rng, 200, 2, 4, prevalence=[0.5, 0.3, 0.08, 0.05])
    mixed = np.empty(200, dtype=object)
    mixed[:] = [("u" if i % 3 else 7) if i % 5 else 2.5 for i in range(200)]
    frame = pd.DataFrame({
        "x0": X[:, 0],
        "n": rng.integers(0, 4, 200),                       # integer codes
        "s": rng.choice(["red", "green", "blue"], 200).astype(object),
        "c": pd.Categorical(rng.choice(["lo", "mid", "hi"], 200)),
        "b": rng.random(200) < 0.5,
        "m": mixed,                                          # values that do not compare
        "x1": X[:, 1].astype(np.float32),
        "i": rng.integers(0, 50, 200),                       # numeric, interpolated
    })
    cats = ["n", "s", "c", "b", "m"]
    sampler = R.MLSMOTE(categorical_features=cats, k_neighbors=4, random_state=0)
    x_res, y_res = sampler.fit_resample(frame, Y)
    n_new = len(x_res) - 200
    assert n_new > 0 and list(x_res.columns) == list(frame.columns)
    for col in cats:
        assert x_res[col].dtype == frame[col].dtype, col
        assert x_res[col].iloc[:200].equals(frame[col])
    for col in ("x0", "x1", "i"):
        assert x_res[col].dtype.kind == "f"
    new = x_res.iloc[200:]
    for t in range(n_new):
        nb = sampler.neighbors_[t][sampler.neighbors_[t] >= 0]
        for col in cats:
            want = _vote(frame[col].iloc[nb].tolist(), frame[col].tolist())
            assert new[col].iloc[t] == want, (t, col)
    # the distance reads the numeric columns only: same neighbours as without the others
    plain = R.MLSMOTE(k_neighbors=4, random_state=0)
    plain.fit_resample(frame[["x0", "x1", "i"]], Y)
    np.testing.assert_array_equal(sampler.neighbors_, plain.neighbors_)
    # an object array: numeric columns become floats, categories keep their values
    arr = np.empty((200, 2), dtype=object)
    arr[:, 0], arr[:, 1] = X[:, 0], frame["s"].to_numpy()
    out, _ = R.mlsmote(arr, Y, categorical_features=[1], random_state=0)
    assert out.dtype == object and set(out[200:, 1]) <= {"red", "green", "blue"}
    assert all(isinstance(v, float) for v in out[:, 0])
    # an integer array with an integer categorical column: floats, the values kept
    ints = np.column_stack([rng.integers(0, 100, 200), frame["n"].to_numpy()])
    out, _ = R.mlsmote(ints, Y, categorical_features=[1], random_state=0)
    assert out.dtype == np.float64 and set(out[200:, 1]) <= {0.0, 1.0, 2.0, 3.0}
    with pytest.raises(TypeError, match="categorical_features"):
        R.mlsmote(frame, Y)  # text columns cannot be interpolated


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_copy_finite_and_gather_against_numpy(monkeypatch, threads, dtype):
    # Large enough for the row blocks on the threads; every non-finite value in any block
    # (first, middle, last entry) must be seen.
    from fastml.kernels import _parallel

    monkeypatch.setattr(_parallel, "_n_threads", threads)
    rng = np.random.default_rng(5)
    n, d = (1 << 22) // 7 + 3, 7
    x = rng.normal(size=(n, d)).astype(dtype)
    out = np.full((n + 5, d), 7.0, dtype)
    assert kern.copy_finite(x, out)
    np.testing.assert_array_equal(out[:n], x)
    assert (out[n:] == 7).all()
    tiny = np.finfo(dtype).smallest_subnormal
    x[1, 2], x[2, 3] = np.finfo(dtype).max, tiny  # finite extremes pass
    assert kern.copy_finite(x, out)
    for value in (np.nan, np.inf, -np.inf):
        for at in (0, n * d // 2, n * d - 1):
            bad = x.copy()
            bad.reshape(-1)[at] = value
            assert not kern.copy_finite(bad, out)
    small = x[:50]
    assert kern.copy_finite(small, out)
    small = small.copy()
    small[49, 6] = np.nan
    assert not kern.copy_finite(small, out)
    rows = rng.integers(0, n, size=200_000)
    got = kern.gather(x, rows)
    assert got.dtype == np.float64 and got.flags.c_contiguous
    np.testing.assert_array_equal(got, x[rows].astype(np.float64))
    np.testing.assert_array_equal(kern.gather(x, rows[:9]), x[rows[:9]].astype(np.float64))
    assert kern.gather(x, rows[:0]).shape == (0, d)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mlsmote_plain_array_refuses_nan_and_infinity_anywhere(dtype):
    rng = np.random.default_rng(8)
    X, Y = clustered(rng, 400, 5, 4)
    X = X.astype(dtype)
    want = R.mlsmote(np.asfortranarray(X), Y, random_state=3)  # the converting path
    got = R.mlsmote(X, Y, random_state=3)  # used as it is
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype
        np.testing.assert_array_equal(g, w)
    for value in (np.nan, np.inf, -np.inf):
        for i, j in ((0, 0), (199, 2), (399, 4)):
            bad = X.copy()
            bad[i, j] = value
            with pytest.raises(ValueError, match="NaN or infinity"):
                R.mlsmote(bad, Y, random_state=3)
    # no minority bag at all: the input rows are still checked
    with pytest.raises(ValueError, match="NaN or infinity"):
        R.mlsmote(bad, np.ones((400, 2), int))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_synthesis_contiguous_features_as_indexed(dtype):
    # all-numeric rows take the contiguous loop; the same columns listed out of order take
    # the indexed one: same random stream position per (row, feature), same bits
    rng = np.random.default_rng(13)
    n, d, L, k = 300, 11, 4, 3
    x = (rng.normal(size=(n, d)) * 10).astype(dtype)
    y = (rng.random((n, L)) < 0.4).astype(np.uint8)
    t = 500
    seeds = rng.integers(0, n, t)
    nbrs = rng.integers(0, n, (t, k))
    m = np.full(t, k, np.int64)
    chosen = nbrs[np.arange(t), rng.integers(0, k, t)]
    none = np.empty(0, np.int64)
    outs = []
    for numeric in (np.arange(d), rng.permutation(d)):
        ox, oy = np.empty((t, d), dtype), np.empty((t, L), np.uint8)
        kern.synthesize(x, y, seeds, nbrs, m, chosen, numeric, none, 0, True, 12345, ox, oy)
        outs.append(ox)
    np.testing.assert_array_equal(outs[0], outs[1])
    key = 12345
    for r, f in ((0, 0), (7, d - 1), (t - 1, 5)):
        g = uniform_stream(key, r * d + f)
        a, b = float(x[seeds[r], f]), float(x[chosen[r], f])
        assert outs[0][r, f] == dtype(a + g * (b - a))
