"""fastml's LRAP, coverage error and label ranking loss against scikit-learn's.

Inputs the kernels cover are run with the scikit-learn fallback disabled (fixture
``fast_only``), so a test of the fast path fails if it silently delegates. Inputs that are
delegated are compared with scikit-learn end to end: same value, same warnings, or the same
exception type and message.
"""

from __future__ import annotations

import itertools
import multiprocessing
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import sklearn.metrics as skm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastml._validation as validation
import fastml.metrics as fm
from fastml._backend import kernels

NAMES = ["label_ranking_average_precision_score", "coverage_error", "label_ranking_loss"]
SPARSE_OK = {"label_ranking_average_precision_score", "label_ranking_loss"}
TOL = {"rtol": 1e-12, "atol": 1e-12}


def _pair(name):
    return getattr(fm, name), getattr(skm, name)


def _refuse(name, module="sklearn.metrics"):  # for hypothesis tests (no fixtures there)
    raise AssertionError(f"fast path handed {name} to {module}")


def _outcome(fn, *args, **kwargs):
    """('ok', value, warning categories) or ('err', exception type, message)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = fn(*args, **kwargs)
        except Exception as exc:  # the type and message are what we compare
            return ("err", type(exc), str(exc))
    return ("ok", value, sorted(w.category.__name__ for w in caught))


def assert_same(name, *args, **kwargs):
    """fastml and scikit-learn agree on ``args``: value and warnings, or error and message."""
    fast, ref = _pair(name)
    got = _outcome(fast, *args, **kwargs)
    want = _outcome(ref, *args, **kwargs)
    assert got[0] == want[0], (got, want)
    if want[0] == "err":
        assert got[1] is want[1]
        assert got[2] == want[2]
    else:
        assert type(got[1]) is float
        if np.isnan(want[1]):
            assert np.isnan(got[1])
        else:
            np.testing.assert_allclose(got[1], want[1], **TOL)
        assert got[2] == want[2]
    return got


def assert_fast(name, y_true, y_score, sample_weight=None):
    """The fast path (no hand-off allowed by ``fast_only``) equals scikit-learn."""
    fast, ref = _pair(name)
    want = ref(y_true, y_score, sample_weight=sample_weight)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = fast(y_true, y_score, sample_weight=sample_weight)
    assert type(got) is float
    np.testing.assert_allclose(got, want, **TOL)
    return got


def _random_case(rng, n, L, *, density=None, ties=None, dtype=np.float64):
    density = rng.uniform(0.0, 1.0) if density is None else density
    y = (rng.random((n, L)) < density).astype(np.int64)
    # force some all-zero and all-one rows
    if n >= 3:
        y[rng.integers(n)] = 0
        y[rng.integers(n)] = 1
    if ties is None:
        ties = bool(rng.integers(2))
    if ties:
        s = rng.integers(0, 3, (n, L)).astype(dtype)
    else:
        s = rng.standard_normal((n, L)).astype(dtype)
    return y, s


# ----------------------------------------------------------------------------- fast path


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_random_matches_sklearn(name, dtype, fast_only):
    rng = np.random.default_rng(1234)
    for _ in range(40):
        n = int(rng.integers(1, 25))
        L = int(rng.integers(2, 30))
        y, s = _random_case(rng, n, L, dtype=dtype)
        assert_fast(name, y, s)
        w = rng.random(n)
        w[rng.random(n) < 0.3] = 0.0
        if w.sum() == 0:
            w[0] = 1.0
        assert_fast(name, y, s, sample_weight=w)


@pytest.mark.parametrize("name", NAMES)
def test_values_are_not_trivial(name, fast_only):
    # guards against a comparison that would pass for any constant
    rng = np.random.default_rng(7)
    values = {assert_fast(name, *_random_case(rng, 10, 6, density=0.4)) for _ in range(5)}
    assert len(values) > 1


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    "L,density,ties",
    [
        (2000, 0.002, False),
        (2000, 0.05, False),
        (2000, 0.5, False),
        (2000, 0.97, False),
        (2000, 0.05, True),
        (2000, 0.5, True),
        (300, 0.3, False),
        (64, 0.5, True),
    ],
)
def test_many_labels(name, L, density, ties, fast_only):
    rng = np.random.default_rng(L + int(density * 1000))
    for dtype in (np.float64, np.float32):
        y, s = _random_case(rng, 6, L, density=density, ties=ties, dtype=dtype)
        assert_fast(name, y, s)
        assert_fast(name, y, s, sample_weight=rng.random(6))


def _scores(rng, kind, shape, dtype):
    if kind == "skewed":  # clustered near 0 with a long tail: crowded value buckets
        s = np.exp(4 * rng.standard_normal(shape))
    elif kind == "rounded":  # many ties, many distinct values
        s = np.round(rng.random(shape), 2)
    elif kind == "extreme":  # ranges that overflow float64 differences
        s = rng.choice([-1e308, -1.0, -0.0, 0.0, 5e-324, 0.5, 1e308], shape)
        s[:, ::3] = rng.standard_normal(s[:, ::3].shape)
        if dtype == np.float32:
            s = np.clip(s, -3e38, 3e38)
    elif kind == "one-outlier":  # one huge score, the rest packed together
        s = rng.random(shape)
        s[:, 0] = 1e300 if dtype == np.float64 else 1e38
    else:  # "narrow": values a few ulps apart
        s = 1.0 + rng.integers(0, 50, shape) * np.finfo(dtype).eps
    return s.astype(dtype)


# scikit-learn's own finiteness check sums the scores and warns when that overflows to inf - inf
@pytest.mark.filterwarnings("ignore:invalid value encountered in reduce:RuntimeWarning")
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("kind", ["skewed", "rounded", "extreme", "one-outlier", "narrow"])
@pytest.mark.parametrize("density", [0.03, 0.3, 0.8])
def test_many_labels_hard_scores(name, kind, density, fast_only):
    rng = np.random.default_rng([len(kind), int(density * 100)])
    for dtype in (np.float64, np.float32):
        y = (rng.random((4, 700)) < density).astype(np.int8)
        s = _scores(rng, kind, y.shape, dtype)
        assert_fast(name, y, s)


@pytest.mark.parametrize("name", NAMES)
def test_many_rows_several_chunks(name, fast_only):
    rng = np.random.default_rng(99)
    y, s = _random_case(rng, 3000, 12, density=0.3, ties=False)
    s[::7] = np.round(s[::7], 1)  # ties in some rows
    assert_fast(name, y, s)
    w = rng.random(3000)
    w[::5] = 0
    assert_fast(name, y, s, sample_weight=w)


@given(
    data=st.data(),
    n=st.integers(1, 8),
    L=st.integers(2, 12),
    n_values=st.integers(1, 6),
    weighted=st.booleans(),
)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_hypothesis(data, n, L, n_values, weighted):
    y = np.array(data.draw(st.lists(st.integers(0, 1), min_size=n * L, max_size=n * L)))
    y = y.reshape(n, L)
    s = (
        np.array(
            data.draw(st.lists(st.integers(0, n_values - 1), min_size=n * L, max_size=n * L)),
            dtype=np.float64,
        ).reshape(n, L)
        / n_values
    )
    w = None
    if weighted:
        w = np.array(
            data.draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 3.0]), min_size=n, max_size=n))
        )
        if w.sum() == 0:
            w[-1] = 2.0
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(validation, "reference", _refuse)
        for name in NAMES:
            fast, ref = _pair(name)
            np.testing.assert_allclose(
                fast(y, s, sample_weight=w), ref(y, s, sample_weight=w), **TOL
            )


@pytest.mark.parametrize("name", NAMES)
def test_degenerate_rows(name, fast_only):
    y = np.array([[0, 0, 0], [1, 1, 1], [1, 0, 0], [0, 0, 0]])
    s = np.array([[0.1, 0.2, 0.3], [0.3, 0.2, 0.1], [0.2, 0.2, 0.2], [0.0, 0.0, 1.0]])
    assert_fast(name, y, s)
    assert_fast(name, y, s, sample_weight=[0.0, 1.0, 2.0, 3.0])
    assert_fast(name, np.zeros((4, 3)), s)
    assert_fast(name, np.ones((4, 3), dtype=bool), s)


def test_known_values(fast_only):
    y = [[1, 0, 0], [0, 0, 1]]
    s = [[0.75, 0.5, 1], [1, 0.2, 0.1]]
    assert fm.label_ranking_average_precision_score(y, s) == pytest.approx(5 / 12, abs=1e-15)
    assert fm.coverage_error(y, s) == 2.5
    assert fm.label_ranking_loss(y, s) == 0.75
    # all scores tied: every label ranks last
    assert fm.coverage_error([[1, 0, 0, 0]], [[1.0, 1.0, 1.0, 1.0]]) == 4.0
    assert fm.label_ranking_loss([[1, 0, 0, 0]], [[1.0, 1.0, 1.0, 1.0]]) == 1.0
    assert fm.label_ranking_average_precision_score([[1, 0, 1, 0]], [[1, 1, 1, 1]]) == 0.5


@pytest.mark.parametrize("name", NAMES)
def test_small_shapes(name, fast_only):
    assert_fast(name, [[1, 0]], [[0.3, 0.7]])
    assert_fast(name, [[0, 1]], [[0.3, 0.7]])
    assert_fast(name, [[1, 0], [0, 1], [1, 1]], [[0.5, 0.5], [0.1, 0.2], [3, 4]])
    assert_fast(name, [[1, 0, 1]], [[0.1, 0.9, 0.5]], sample_weight=[2.5])


@pytest.mark.parametrize("name", NAMES)
def test_signed_zero_and_extreme_values(name, fast_only):
    y = np.array([[1, 0, 1, 0, 0], [0, 1, 0, 1, 1], [1, 1, 0, 0, 0]])
    s = np.array(
        [
            [-0.0, 0.0, 5e-324, -5e-324, 0.0],
            [1.7e308, -1.7e308, 0.0, -0.0, 1e-300],
            [-1.7e308, -1.7e308, 1.7e308, 1.7e308, -0.0],
        ]
    )
    assert_fast(name, y, s)
    s32 = np.array(
        [
            [-0.0, 0.0, 1e-45, -1e-45, 0.0],
            [3e38, -3e38, 0.0, -0.0, 1e-30],
            [-3e38, -3e38, 3e38, 3e38, -0.0],
        ],
        dtype=np.float32,
    )
    assert_fast(name, y, s32)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    "dtype", [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint64, np.float16]
)
def test_integer_and_small_float_scores(name, dtype):
    rng = np.random.default_rng(5)
    y, _ = _random_case(rng, 30, 7, density=0.4)
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else None
    lo = max(info.min, -1000) if info else -8
    hi = min(info.max, 1000) if info else 8
    s = rng.integers(lo, hi, (30, 7)).astype(dtype)
    s[0, :3] = 0
    if info is not None:
        s[1, 2] = info.min  # negation wraps in scikit-learn's LRAP
        s[2, 4] = info.max
    assert_same(name, y, s)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.uint64])
def test_lrap_integer_wraparound_is_fast(dtype, fast_only):
    # scikit-learn ranks -y_score: uint 0 and int8 -128 wrap to the top. fastml matches it.
    y = np.array([[1, 0, 0, 1], [0, 1, 1, 0], [1, 1, 0, 0]])
    lo = np.iinfo(dtype).min
    s = np.array([[0, 5, 3, 1], [lo, 2, 9, 0], [7, 7, 0, 1]]).astype(dtype)
    got = assert_fast("label_ranking_average_precision_score", y, s)
    plain = skm.label_ranking_average_precision_score(y, s.astype(np.float64))
    assert got != plain  # the wrap-around really changes the ranking here


@pytest.mark.parametrize("name", ["coverage_error", "label_ranking_loss"])
def test_bool_scores(name, fast_only):
    y = np.array([[1, 0, 0, 1], [0, 1, 1, 0], [1, 1, 0, 0]])
    s = np.array([[1, 0, 1, 1], [0, 0, 1, 0], [1, 1, 0, 1]], dtype=bool)
    assert_fast(name, y, s)


def test_bool_scores_lrap_error():
    y = np.array([[1, 0, 0, 1], [0, 1, 1, 0]])
    s = np.array([[1, 0, 1, 1], [0, 0, 1, 0]], dtype=bool)
    assert assert_same("label_ranking_average_precision_score", y, s)[1] is TypeError


def test_float16_coverage_warns_like_sklearn(reference_calls):
    y = np.array([[1, 0, 0], [0, 1, 1]])
    s = np.array([[0.5, 0.25, 1.0], [0.1, 0.2, 0.3]], dtype=np.float16)
    got = assert_same("coverage_error", y, s)
    assert got[2] == ["RuntimeWarning"]
    assert reference_calls == ["coverage_error"]


# ------------------------------------------------------------------------- input formats


def _formats(y, s):
    """(y_true, y_score) variants that must give identical results."""
    yield y.astype(bool), s
    yield y.astype(np.int8), s
    yield y.astype(np.uint8), s
    yield y.astype(np.float64), s
    yield y.astype(np.float32), s.astype(np.float32)
    yield y.tolist(), s.tolist()
    yield pd.DataFrame(y), pd.DataFrame(s)
    yield pd.DataFrame(y.astype(bool)), s
    yield np.asfortranarray(y), np.asfortranarray(s)
    big_y = np.zeros((y.shape[0] * 2, y.shape[1] * 2), dtype=y.dtype)
    big_s = np.zeros(big_y.shape)
    big_y[::2, ::2], big_s[::2, ::2] = y, s
    yield big_y[::2, ::2], big_s[::2, ::2]  # non-contiguous views
    yield y[:, ::-1], s[:, ::-1]


@pytest.mark.parametrize("name", NAMES)
def test_input_formats(name, fast_only):
    rng = np.random.default_rng(3)
    y, s = _random_case(rng, 12, 5, density=0.4, ties=True)
    s = s + rng.integers(0, 2, s.shape) * 0.5
    w = rng.random(12)
    for yy, ss in _formats(y, s):
        assert_fast(name, yy, ss)
        assert_fast(name, yy, ss, sample_weight=w)
    assert_fast(name, y, s, sample_weight=w.tolist())
    assert_fast(name, y, s, sample_weight=pd.Series(w))
    assert_fast(name, y, s, sample_weight=(w * 10).astype(int))
    assert_fast(name, y, s, sample_weight=np.asfortranarray(np.c_[w, w])[:, 0])


@pytest.mark.parametrize("name", sorted(SPARSE_OK))
@pytest.mark.parametrize(
    "make", [sp.csr_array, sp.csr_matrix, sp.csc_array, sp.coo_array, sp.lil_matrix]
)
def test_sparse_y_true(name, make, fast_only):
    rng = np.random.default_rng(11)
    y, s = _random_case(rng, 20, 9, density=0.3)
    assert_fast(name, make(y), s)
    assert_fast(name, make(y.astype(bool)), s, sample_weight=rng.random(20))
    assert_fast(name, make(np.zeros((3, 4))), rng.random((3, 4)))


@pytest.mark.parametrize("name", sorted(SPARSE_OK))
def test_sparse_with_stored_zeros_or_duplicates(name, reference_calls):
    y = np.array([[1, 0, 0], [0, 1, 1], [1, 1, 0]], dtype=float)
    s = np.array([[0.2, 0.5, 0.1], [0.3, 0.3, 0.9], [0.1, 0.2, 0.3]])
    m = sp.csr_array(y)
    m.data[0] = 0.0  # a stored zero: scikit-learn counts it as relevant
    got = assert_same(name, m, s)
    assert got[1] != _outcome(getattr(skm, name), m.toarray(), s)[1]
    coo = sp.coo_array(([1.0, 1.0, 1.0], ([0, 0, 1], [1, 1, 2])), shape=(2, 3))
    assert_same(name, coo, s[:2])  # duplicates summed to 2
    assert reference_calls == [name, name]


def test_coverage_rejects_sparse_like_sklearn():
    y = sp.csr_array(np.array([[1, 0, 1], [0, 1, 0]]))
    got = assert_same("coverage_error", y, np.array([[0.2, 0.5, 0.1], [0.3, 0.3, 0.9]]))
    assert got[0] == "err"


@pytest.mark.parametrize("name", NAMES)
def test_pandas_extension_columns_go_to_sklearn(name, reference_calls):
    # all-sparse frames become SciPy sparse in scikit-learn (coverage_error then refuses
    # them), partly sparse frames warn, nullable columns convert early
    y = np.array([[1, 0, 0], [0, 1, 1], [1, 1, 0]])
    s = np.array([[0.2, 0.5, 0.1], [0.3, 0.3, 0.9], [0.1, 0.2, 0.3]])
    sparse_y = pd.DataFrame.sparse.from_spmatrix(sp.csr_matrix(y))
    partly_sparse_y = sparse_y.copy()
    partly_sparse_y[0] = partly_sparse_y[0].sparse.to_dense()
    cases = [
        (sparse_y, s),
        (y, pd.DataFrame.sparse.from_spmatrix(sp.csr_matrix(s))),
        (partly_sparse_y, s),
        (pd.DataFrame(y).astype("Int64"), s),
        (y, pd.DataFrame(s).astype("Float64")),
    ]
    outcomes = [assert_same(name, yy, ss) for yy, ss in cases]
    assert reference_calls == [name] * len(cases)
    assert outcomes[2][2] == ["UserWarning"]  # the partly sparse frame
    if name == "coverage_error":
        assert outcomes[0][1] is TypeError


def test_lrap_pandas_weights_are_indexed_by_label(reference_calls):
    # scikit-learn's LRAP reads sample_weight[i]: a Series is looked up by its index label
    y = np.array([[1, 0, 0], [0, 1, 1], [1, 1, 0]])
    s = np.array([[0.2, 0.5, 0.1], [0.3, 0.3, 0.9], [0.1, 0.2, 0.3]])
    w = pd.Series([1.0, 2.0, 3.0], index=[2, 1, 0])
    for name in NAMES:
        assert_same(name, y, s, sample_weight=w)
    assert reference_calls == ["label_ranking_average_precision_score"]
    assert_same(
        "label_ranking_average_precision_score",
        y,
        s,
        sample_weight=pd.Series([1.0, 2.0, 3.0], index=list("abc")),
    )


# ------------------------------------------------------------------------------- errors

Y = np.array([[1, 0, 0], [0, 1, 1], [1, 1, 0]])
S = np.array([[0.2, 0.5, 0.1], [0.3, 0.3, 0.9], [0.1, 0.2, 0.3]])

BAD_INPUTS = {
    "shape mismatch": (Y, S[:, :2], None),
    "length mismatch": (Y, S[:2], None),
    "nan score": (Y, np.where(S > 0.4, np.nan, S), None),
    "inf score": (Y, np.where(S > 0.4, np.inf, S), None),
    "-inf score": (Y, np.where(S > 0.4, -np.inf, S), None),
    "non-binary y": (Y * 2 + Y[::-1], S, None),
    "y in {0, 2}": (Y * 2, S, None),
    "y in {-1, 1}": (Y * 2 - 1, S, None),
    "float y": (Y * 0.5, S, None),
    "1-D y": (Y[:, 0], S[:, 0], None),
    "(n, 1) y": (Y[:, :1], S[:, :1], None),
    "3-D": (Y[None], S[None], None),
    "empty": (np.zeros((0, 3)), np.zeros((0, 3)), None),
    "no labels": (np.zeros((3, 0)), np.zeros((3, 0)), None),
    "weights too short": (Y, S, [1.0, 2.0]),
    "weights 2-D": (Y, S, [[1.0], [2.0], [3.0]]),
    "all-zero weights": (Y, S, [0.0, 0.0, 0.0]),
    "negative weight": (Y, S, [1.0, -1.0, 0.5]),
    "nan weight": (Y, S, [1.0, np.nan, 0.5]),
    "string y": (Y.astype(str), S, None),
    "complex scores": (Y, S.astype(complex), None),
    "sparse scores": (Y, sp.csr_array(S), None),
    "None scores": (Y, None, None),
    "ragged": ([[1, 0], [1]], [[0.1, 0.2], [0.3]], None),
    "int64 beyond 2**53": (Y, (S * 10).astype(np.int64) + 2**60, None),
}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_unusual_input_matches_sklearn(name, case, reference_calls):
    y, s, w = BAD_INPUTS[case]
    assert_same(name, y, s, sample_weight=w)
    assert reference_calls == [name]  # handed to scikit-learn, never half-computed


# --------------------------------------------------------- kernel: blocks, threads, fork


def _mixed_extremes(rng, n, L, dtype):
    """Scores mixing signed zeros, subnormals, the largest finite values, a tight cluster
    and plain noise, so rows take the bucket-sorted paths with every clamp and fallback."""
    info = np.finfo(dtype)
    pool = np.array(
        [
            0.0,
            -0.0,
            info.smallest_subnormal,
            -info.smallest_subnormal,
            info.max,
            -info.max,
            info.max / 3,
            -info.max / 7,
            1.0,
        ],
        dtype=dtype,
    )
    s = rng.standard_normal((n, L)).astype(dtype)
    pick = rng.random((n, L))
    s[pick < 0.3] = rng.choice(pool, size=int((pick < 0.3).sum()))
    cluster = (pick >= 0.3) & (pick < 0.6)
    s[cluster] = (1.0 + rng.integers(0, 40, size=int(cluster.sum())) * info.eps).astype(dtype)
    return s


# scikit-learn's own finiteness check sums the scores and warns when that overflows to inf - inf
@pytest.mark.filterwarnings("ignore:invalid value encountered in reduce:RuntimeWarning")
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bucket_path_extreme_and_clustered_scores(name, dtype, fast_only):
    rng = np.random.default_rng(11)
    for L, density in ((120, 0.5), (400, 0.1), (400, 0.9)):
        y = (rng.random((8, L)) < density).astype(np.int64)
        assert_fast(name, y, _mixed_extremes(rng, 8, L, dtype))


# (rows, labels, density): several row blocks each; the second takes the bucket-sorted paths.
MULTI_BLOCK = [(30_000, 12, 0.2), (400, 1_000, 0.1)]


def _multi_block_case(n, L, density, dtype, seed=3):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, L)) < density).astype(np.int64)
    s = rng.standard_normal((n, L)).round(1).astype(dtype)  # rounding makes ties
    w = rng.random(n)
    return y, s, w


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape", MULTI_BLOCK)
def test_identical_for_any_thread_count(name, shape, threads, fast_only):
    n, L, density = shape
    assert kernels("metrics_ranking").row_blocks(n, L)[0] > 2
    fast, ref = _pair(name)
    for dtype in (np.float64, np.float32):
        y, s, w = _multi_block_case(n, L, density, dtype)
        for weights in (None, w):
            got = []
            for k in (1, 2, 3):
                threads(k)
                got.append(fast(y, s, sample_weight=weights))
            assert got[0] == got[1] == got[2]
    np.testing.assert_allclose(got[0], ref(y, s, sample_weight=w), **TOL)


@pytest.mark.parametrize("shape", MULTI_BLOCK)
def test_partials_combine_to_the_one_shot(shape):
    k = kernels("metrics_ranking")
    n, L, density = shape
    y, s, w = _multi_block_case(n, L, density, np.float64)
    y = y.astype(np.uint8)
    count, size = k.row_blocks(n, L)
    for block, one_shot in (
        (k.lrap_block, k.lrap),
        (k.coverage_block, k.coverage),
        (k.ranking_loss_block, k.ranking_loss),
    ):
        for weights in (np.empty(0), w):
            weighted = weights.shape[0] > 0
            parts = [block(y, s, weights, b * size, min(n, (b + 1) * size)) for b in range(count)]
            acc = parts[0]
            for part in parts[1:]:
                acc = k.combine(acc, part)
            assert k.finish(acc, n, weighted) == one_shot(y, s, weights)
            # any other cut gives the same mean up to rounding
            cuts = [0, 1, n // 3, n - 1, n]
            other = [block(y, s, weights, a, b) for a, b in itertools.pairwise(cuts)]
            total = other[0]
            for part in other[1:]:
                total = k.combine(total, part)
            np.testing.assert_allclose(
                k.finish(total, n, weighted), one_shot(y, s, weights), rtol=1e-13
            )


def _ranking_calls(seed):
    rng = np.random.default_rng(seed)
    y = (rng.random((20_000, 16)) < 0.2).astype(np.int64)
    s = rng.random((20_000, 16))
    return [getattr(fm, name)(y, s) for name in NAMES]


def test_fork_child_can_call_after_the_parent(threads):
    threads(2)
    expected = [_ranking_calls(seed) for seed in range(3)]  # the parent has used its pool
    with multiprocessing.get_context("fork").Pool(2) as pool:
        assert pool.map_async(_ranking_calls, range(3)).get(timeout=120) == expected
