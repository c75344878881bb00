"""fastml.metrics score-curve metrics against scikit-learn (the reference) and plain versions."""

import tempfile
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.metrics as skm
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import UndefinedMetricWarning

from fastml.metrics import (
    average_precision_score,
    batch_average_precision_score,
    best_thresholds,
    multilabel_report,
    roc_auc_score,
)

AVERAGES = [None, "micro", "macro", "weighted", "samples"]
PAIRS = [
    (average_precision_score, skm.average_precision_score),
    (roc_auc_score, skm.roc_auc_score),
]


def quiet(f, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return f(*args, **kwargs)


def assert_same(fast, ref, *args, **kwargs):
    a = quiet(fast, *args, **kwargs)
    b = quiet(ref, *args, **kwargs)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    assert np.shape(a) == np.shape(b)
    return a


def make(rng, n, n_labels, prevalence=0.3, n_values=None, dtype=np.float64):
    y = (rng.random((n, n_labels)) < prevalence).astype(np.int64)
    if n_values is None:
        s = (y + rng.standard_normal((n, n_labels))).astype(dtype)
    else:  # heavy ties
        s = rng.integers(0, n_values, (n, n_labels)).astype(dtype) / n_values
    return y, s


@pytest.mark.parametrize("fast, ref", PAIRS)
@pytest.mark.parametrize("average", AVERAGES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("n_values", [None, 3, 12])
def test_random_multilabel(fast, ref, average, weighted, n_values):
    rng = np.random.default_rng(hash((average, weighted, n_values)) % 2**32)
    for n, n_labels in [(1, 2), (7, 3), (60, 5), (400, 9)]:
        y, s = make(rng, n, n_labels, n_values=n_values)
        w = None
        if weighted:
            w = rng.random(n) * 3
            w[:: max(2, n // 5)] = 0
            if not w.any():
                w[0] = 1.0
        assert_same(fast, ref, y, s, average=average, sample_weight=w)


@pytest.mark.parametrize("fast, ref", PAIRS)
@pytest.mark.parametrize("weighted", [False, True])
def test_random_binary(fast, ref, weighted):
    rng = np.random.default_rng(1)
    for n in [1, 2, 5, 50, 3000]:
        for n_values in [None, 4]:
            y, s = make(rng, n, 1, n_values=n_values)
            w = rng.random(n) + (rng.random(n) < 0.2) if weighted else None
            assert_same(fast, ref, y[:, 0], s[:, 0], sample_weight=w)


def test_large_binary_and_micro_use_parallel_chunks():
    rng = np.random.default_rng(2)
    y, s = make(rng, 300_000, 2, prevalence=0.05, n_values=5000)
    w = rng.random(300_000)
    for fast, ref in PAIRS:
        assert_same(fast, ref, y[:, 0], s[:, 0], sample_weight=w)
        assert_same(fast, ref, y, s, average="micro", sample_weight=w)


def test_radix_partitioned_flat_problems():
    # more than 2**15 distinct positive scores: the flat (binary / micro) kernel partitions the
    # negatives; exact ties between negatives and positives fall on partition boundaries too
    rng = np.random.default_rng(15)
    n = 120_000
    y = (rng.random((n, 2)) < 0.4).astype(int)
    s = rng.integers(0, 10**6, (n, 2)) / 1e6
    s[:50] = s.max()  # negatives tied with the top positive
    s[50:100] = s.min()
    w = rng.random(n)
    for fast, ref in PAIRS:
        for sw in (None, w):
            assert_same(fast, ref, y, s, average="micro", sample_weight=sw)
            assert_same(fast, ref, y[:, 0], s[:, 0], sample_weight=sw)
    assert_same(roc_auc_score, skm.roc_auc_score, y[:, 1], s[:, 1], max_fpr=0.3, sample_weight=w)


def test_many_distinct_positive_values_bucket_index():
    # enough positives for the bucket index, with skewed scores and an outlier
    rng = np.random.default_rng(3)
    y = (rng.random((5000, 3)) < 0.4).astype(int)
    s = np.exp(rng.standard_normal((5000, 3)) * 4)
    s[0, :] = 1e300
    s[1, :] = -1e300
    for fast, ref in PAIRS:
        assert_same(fast, ref, y, s, average=None)


@pytest.mark.parametrize("max_fpr", [0.01, 0.2, 0.5, 0.77, 1.0])
@pytest.mark.parametrize("average", AVERAGES)
def test_partial_auc(max_fpr, average):
    rng = np.random.default_rng(4)
    for n_values in [None, 5]:
        y, s = make(rng, 300, 4, n_values=n_values)
        w = rng.random(300)
        assert_same(roc_auc_score, skm.roc_auc_score, y, s, average=average, max_fpr=max_fpr)
        assert_same(
            roc_auc_score, skm.roc_auc_score, y, s, average=average, max_fpr=max_fpr,
            sample_weight=w,
        )
        assert_same(roc_auc_score, skm.roc_auc_score, y[:, 0], s[:, 0], max_fpr=max_fpr)


@given(
    st.integers(1, 30),
    st.integers(2, 6),
    st.integers(1, 6),
    st.integers(0, 2**32 - 1),
    st.sampled_from(AVERAGES),
    st.booleans(),
)
@settings(max_examples=120, deadline=None)
def test_hypothesis(n, n_labels, n_values, seed, average, weighted):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, n_labels)) < rng.random()).astype(np.uint8)
    s = rng.integers(-n_values, n_values + 1, (n, n_labels)).astype(float)
    w = rng.integers(0, 3, n).astype(float) if weighted else None
    if w is not None and not w.any():
        w[0] = 2.0
    for fast, ref in PAIRS:
        assert_same(fast, ref, y, s, average=average, sample_weight=w)


# ------------------------------------------------------------------ edge cases and warnings


def test_label_without_positives_warns_and_scores_zero():
    y = np.array([[1, 0], [0, 0], [1, 0]])
    s = np.array([[0.9, 0.1], [0.2, 0.4], [0.7, 0.3]])
    with pytest.warns(UserWarning, match="No positive class found in y_true"):
        per_label = average_precision_score(y, s, average=None)
    np.testing.assert_array_equal(per_label, [1.0, 0.0])
    with pytest.warns(UserWarning, match="No positive class found in y_true"):
        assert average_precision_score(y, s) == pytest.approx(0.5)
    # weighted: zero support gets weight 0
    assert quiet(average_precision_score, y, s, average="weighted") == pytest.approx(1.0)


def test_weighted_with_no_support_returns_int_zero():
    y = np.zeros((3, 2), dtype=int)
    s = np.array([[0.9, 0.1], [0.2, 0.4], [0.7, 0.3]])
    for fast, ref in PAIRS:
        a = quiet(fast, y, s, average="weighted")
        b = quiet(ref, y, s, average="weighted")
        assert a == b == 0 and type(a) is type(b)


def test_roc_auc_one_class_is_nan_with_warning():
    y = np.array([[1, 0], [1, 1], [1, 0]])
    s = np.array([[0.9, 0.1], [0.2, 0.4], [0.7, 0.3]])
    with pytest.warns(UndefinedMetricWarning, match="Only one class is present"):
        per_label = roc_auc_score(y, s, average=None)
    assert np.isnan(per_label[0]) and per_label[1] == 1.0
    with pytest.warns(UndefinedMetricWarning):
        assert np.isnan(roc_auc_score(y, s))
    with pytest.warns(UndefinedMetricWarning):
        assert np.isnan(roc_auc_score(np.ones(4, int), np.arange(4.0)))


def test_no_warning_on_regular_input():
    rng = np.random.default_rng(5)
    y, s = make(rng, 100, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        average_precision_score(y, s)
        roc_auc_score(y, s)


def test_samples_average_rows_without_positives():
    y = np.array([[1, 0, 0], [0, 0, 0], [1, 1, 1], [0, 1, 0]])
    s = np.array([[0.9, 0.1, 0.3], [0.2, 0.4, 0.1], [0.7, 0.3, 0.3], [0.5, 0.5, 0.2]])
    with pytest.warns(UserWarning, match="No positive class"):
        a = average_precision_score(y, s, average="samples")
    assert a == pytest.approx(quiet(skm.average_precision_score, y, s, average="samples"))
    assert_same(roc_auc_score, skm.roc_auc_score, y, s, average="samples")
    w = np.array([1.0, 0.0, 2.0, 1.0])  # zero weight on the undefined row
    assert_same(roc_auc_score, skm.roc_auc_score, y, s, average="samples", sample_weight=w)


@pytest.mark.parametrize("fast, ref", PAIRS)
def test_zero_weight_for_a_whole_class_falls_back(fast, ref):
    y = np.array([1, 0, 1, 0, 0])
    s = np.array([0.9, 0.1, 0.4, 0.5, 0.3])
    w = np.array([0.0, 1.0, 0.0, 1.0, 1.0])  # every positive weighs 0
    assert_same(fast, ref, y, s, sample_weight=w)


# ------------------------------------------------------------------------------ input types


def test_input_types_and_layouts():
    rng = np.random.default_rng(6)
    y, s = make(rng, 200, 5, n_values=20)
    variants = [
        (y.tolist(), s.tolist()),
        (y.astype(bool), s),
        (y.astype(np.float32), s.astype(np.float32)),
        (y.astype(np.int8), (s * 20).astype(np.int64)),
        (y.astype(np.uint16), (s * 20).astype(np.int32)),
        (np.asfortranarray(y), np.asfortranarray(s)),
        (np.asfortranarray(y), s),
        (y, np.asfortranarray(s)),
        (y[::2], s[::2]),
        (np.hstack([y, y])[:, ::2], np.hstack([s, s])[:, ::2]),
        (s.astype(np.float16) > 0.5, s.astype(np.float16)),
    ]
    import pandas as pd

    variants.append((pd.DataFrame(y), pd.DataFrame(s)))
    variants.append((pd.Series(y[:, 0]), pd.Series(s[:, 0])))
    w_full = rng.random(200)
    for yt, ys in variants:
        n = np.asarray(yt).shape[0]
        for average in AVERAGES:
            for fast, ref in PAIRS:
                assert_same(fast, ref, yt, ys, average=average)
                assert_same(fast, ref, yt, ys, average=average, sample_weight=w_full[:n])


def test_float32_scores_match():
    rng = np.random.default_rng(7)
    y, s = make(rng, 500, 4, dtype=np.float32)
    for fast, ref in PAIRS:
        for average in AVERAGES:
            assert_same(fast, ref, y, s, average=average)


def test_int64_scores_beyond_float_precision_use_reference():
    y = np.array([1, 0, 1, 0])
    s = np.array([2**60, 2**60 + 1, 2**60 + 2, 5], dtype=np.int64)
    for fast, ref in PAIRS:
        assert_same(fast, ref, y, s)


def test_other_binary_label_encodings():
    rng = np.random.default_rng(14)
    s = np.round(rng.random(300), 1)
    w = rng.random(300)
    codes = rng.integers(0, 2, 300)
    encodings = [
        (np.array([-1, 1])[codes], 1),
        (np.array([3, 7])[codes], 7),
        (np.array([0.0, 2.0])[codes], 2.0),
        (np.array(["eggs", "spam"])[codes], "spam"),
        (np.array(["eggs", "spam"], dtype=object)[codes], "eggs"),
        (codes.astype(bool), True),
        (codes, 0),
        (np.full(300, "only"), "only"),
        (np.full(300, "only"), "other"),
    ]
    for y, pos_label in encodings:
        for sw in (None, w):
            assert_same(roc_auc_score, skm.roc_auc_score, y, s, sample_weight=sw)
            assert_same(
                average_precision_score, skm.average_precision_score, y, s,
                pos_label=pos_label, sample_weight=sw,
            )
    # the same problem in any encoding gives the same numbers, to the last bit
    as_numbers = roc_auc_score(codes, s)
    assert roc_auc_score(np.array(["eggs", "spam"])[codes], s) == as_numbers
    assert roc_auc_score(np.array([-1, 1])[codes], s) == as_numbers
    # errors and unusual cases stay scikit-learn's
    y3 = np.array([0, 1, 2, 1, 0])
    assert error_of(roc_auc_score, y3, s[:5]) == error_of(skm.roc_auc_score, y3, s[:5])
    y_ab = np.array(["a", "b", "b", "a", "b"])
    assert error_of(average_precision_score, y_ab, s[:5]) == error_of(
        skm.average_precision_score, y_ab, s[:5]
    )
    assert error_of(average_precision_score, y_ab, s[:5], pos_label="c") == error_of(
        skm.average_precision_score, y_ab, s[:5], pos_label="c"
    )
    y_cont = np.array([0.5, 1.5, 0.5, 1.5, 0.5])
    assert error_of(roc_auc_score, y_cont, s[:5]) == error_of(skm.roc_auc_score, y_cont, s[:5])
    y_mixed = np.array(["a", 1, "a", 1, 1], dtype=object)
    assert error_of(roc_auc_score, y_mixed, s[:5]) == error_of(skm.roc_auc_score, y_mixed, s[:5])
    # multiclass
    rng = np.random.default_rng(8)
    yc = rng.integers(0, 3, 60)
    p = rng.random((60, 3))
    p /= p.sum(axis=1, keepdims=True)
    assert_same(roc_auc_score, skm.roc_auc_score, yc, p, multi_class="ovr")
    assert_same(average_precision_score, skm.average_precision_score, yc, p)


# ----------------------------------------------------------------------------------- errors


def error_of(f, *args, **kwargs):
    try:
        quiet(f, *args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the type is what is compared
        return type(exc), str(exc)
    return None


BAD_INPUTS = [
    ("shape mismatch", np.array([[1, 0], [0, 1]]), np.array([[0.1, 0.2, 0.3], [0.1, 0.2, 0.3]])),
    ("length mismatch", np.array([1, 0, 1]), np.array([0.1, 0.2])),
    ("nan score", np.array([1, 0, 1]), np.array([0.1, np.nan, 0.3])),
    ("inf score", np.array([[1, 0], [0, 1]]), np.array([[0.1, np.inf], [0.2, 0.3]])),
    ("non-binary y", np.array([[2, 0], [0, 1]]), np.array([[0.1, 0.2], [0.3, 0.4]])),
    ("continuous y", np.array([[0.5, 0], [0, 1]]), np.array([[0.1, 0.2], [0.3, 0.4]])),
    ("3-D", np.zeros((2, 2, 2), int), np.zeros((2, 2, 2))),
    ("empty", np.zeros((0, 3), int), np.zeros((0, 3))),
    ("empty 1-D", np.zeros(0, int), np.zeros(0)),
    ("string scores", np.array([1, 0]), np.array(["a", "b"])),
]


@pytest.mark.parametrize("fast, ref", PAIRS)
@pytest.mark.parametrize("case, y, s", BAD_INPUTS)
def test_bad_input_errors_like_sklearn(fast, ref, case, y, s):
    expected = error_of(ref, y, s)
    assert expected is not None, case
    assert error_of(fast, y, s) == expected


@pytest.mark.parametrize("fast, ref", PAIRS)
@pytest.mark.parametrize(
    "kwargs",
    [
        {"average": "binary"},
        {"average": "foo"},
        {"sample_weight": np.zeros(3)},
        {"sample_weight": np.ones(2)},
        {"sample_weight": np.array([1.0, np.nan, 1.0])},
        {"sample_weight": -np.ones(3)},
    ],
)
def test_bad_parameters_error_like_sklearn(fast, ref, kwargs):
    y = np.array([[1, 0], [0, 1], [1, 1]])
    s = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.5]])
    assert error_of(fast, y, s, **kwargs) == error_of(ref, y, s, **kwargs)


def test_pos_label_and_max_fpr_errors_like_sklearn():
    y = np.array([[1, 0], [0, 1], [1, 1]])
    s = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.5]])
    ap, ref_ap = average_precision_score, skm.average_precision_score
    assert error_of(ap, y, s, pos_label=0) == error_of(ref_ap, y, s, pos_label=0)
    assert error_of(ap, y[:, 0], s[:, 0], pos_label=2) == error_of(
        ref_ap, y[:, 0], s[:, 0], pos_label=2
    )
    for max_fpr in [0, -0.5, 1.5]:
        assert error_of(roc_auc_score, y, s, max_fpr=max_fpr) == error_of(
            skm.roc_auc_score, y, s, max_fpr=max_fpr
        )


def test_sparse_y_true_like_sklearn():
    y = sp.csr_matrix(np.array([[1, 0], [0, 1], [1, 1]]))
    s = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.5]])
    for fast, ref in PAIRS:
        assert error_of(fast, y, s) == error_of(ref, y, s)


# ---------------------------------------------------------------------------- batch axis


@pytest.mark.parametrize("average", AVERAGES)
@pytest.mark.parametrize("weighted", [False, True])
def test_batch_average_precision_matches_loop(average, weighted):
    rng = np.random.default_rng(9)
    y, _ = make(rng, 300, 6, prevalence=0.2)
    y[:, 5] = 0  # a label without positives
    scores = np.stack([make(rng, 300, 6, n_values=n_values)[1] for n_values in (None, 7, 30)])
    w = rng.random(300) if weighted else None
    got = quiet(batch_average_precision_score, y, scores, average=average, sample_weight=w)
    expected = [
        quiet(skm.average_precision_score, y, s, average=average, sample_weight=w) for s in scores
    ]
    np.testing.assert_allclose(got, np.array(expected, dtype=float), rtol=1e-12, atol=1e-12)
    assert got.shape == np.shape(expected)


def test_batch_binary_and_fortran():
    rng = np.random.default_rng(10)
    y, _ = make(rng, 200, 3)
    scores = np.stack([make(rng, 200, 3)[1] for _ in range(4)])
    f_scores = np.stack([np.asfortranarray(s) for s in scores])
    got = batch_average_precision_score(np.asfortranarray(y), f_scores)
    np.testing.assert_allclose(
        got, [skm.average_precision_score(y, s) for s in scores], rtol=1e-12
    )
    got_binary = batch_average_precision_score(y[:, 0], scores[:, :, 0])
    np.testing.assert_allclose(
        got_binary, [skm.average_precision_score(y[:, 0], s[:, 0]) for s in scores], rtol=1e-12
    )


@pytest.mark.parametrize(
    "y, s, kwargs",
    [
        (np.array([[1, 0], [0, 1]]), np.zeros((2, 2)), {}),  # not 3-D
        (np.array([[1, 0], [0, 1]]), np.zeros((3, 3, 2)), {}),  # shape mismatch
        (np.array([[1, 2], [0, 1]]), np.zeros((3, 2, 2)), {}),  # non-binary
        (np.array([[1, 0], [0, 1]]), np.full((3, 2, 2), np.nan), {}),
        (np.array([[1, 0], [0, 1]]), np.zeros((0, 2, 2)), {}),
        (np.array([[1, 0], [0, 1]]), np.zeros((3, 2, 2)), {"average": "binary"}),
        (np.array([[1, 0], [0, 1]]), np.zeros((3, 2, 2)), {"sample_weight": np.zeros(2)}),
        (np.array([["a", "b"], ["b", "a"]]), np.zeros((3, 2, 2)), {}),
    ],
)
def test_batch_bad_input(y, s, kwargs):
    with pytest.raises(ValueError):
        batch_average_precision_score(y, s, **kwargs)


# ------------------------------------------------------------------------------- report


def test_multilabel_report_matches_sklearn():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(11)
    y, s = make(rng, 400, 6, prevalence=0.15, n_values=25)
    y[:, 4] = 0
    y[:, 5] = 1
    report = multilabel_report(y, s, threshold=0.52, label_names=list("abcdef"))
    assert isinstance(report, pd.DataFrame)
    assert list(report.index) == list("abcdef")
    assert list(report.columns) == [
        "support", "prevalence", "average_precision", "roc_auc", "precision", "recall", "f1",
    ]
    pred = s >= 0.52
    np.testing.assert_array_equal(report["support"], y.sum(axis=0))
    np.testing.assert_allclose(report["prevalence"], y.mean(axis=0), rtol=1e-15)
    np.testing.assert_allclose(
        report["average_precision"],
        quiet(skm.average_precision_score, y, s, average=None), rtol=1e-12, atol=1e-12,
    )
    np.testing.assert_allclose(
        report["roc_auc"], quiet(skm.roc_auc_score, y, s, average=None), rtol=1e-12
    )
    for name, ref in [
        ("precision", skm.precision_score), ("recall", skm.recall_score), ("f1", skm.f1_score)
    ]:
        expected = ref(y, pred, average=None, zero_division=0)
        np.testing.assert_allclose(report[name], expected, rtol=1e-12, atol=1e-12)


def test_multilabel_report_per_label_thresholds_and_binary():
    rng = np.random.default_rng(12)
    y, s = make(rng, 300, 4, n_values=10)
    thr = np.array([0.2, 0.5, 0.7, 0.95])
    report = multilabel_report(y, s, threshold=thr)
    expected = skm.f1_score(y, s >= thr, average=None, zero_division=0)
    np.testing.assert_allclose(report["f1"], expected, rtol=1e-12)
    binary = multilabel_report(y[:, 0], s[:, 0], threshold=0.5)
    assert len(binary) == 1
    np.testing.assert_allclose(
        binary["f1"], [skm.f1_score(y[:, 0], s[:, 0] >= 0.5, zero_division=0)], rtol=1e-12
    )


def test_multilabel_report_bad_input():
    with pytest.raises(ValueError):
        multilabel_report(np.array([[1, 2], [0, 1]]), np.zeros((2, 2)))
    with pytest.raises(ValueError):
        multilabel_report(np.array([[1, 0], [0, 1]]), np.zeros((2, 2)), threshold=[0.5])
    with pytest.raises(ValueError):
        multilabel_report(np.array([[1, 0], [0, 1]]), np.zeros((2, 2)), label_names=["a"])


# ------------------------------------------------------------------------------ thresholds


def best_f1_plain(y, s):
    """Try every distinct score as threshold; keep the highest threshold among the best."""
    best_t, best_f = np.inf, 0.0
    for t in np.unique(s)[::-1]:
        f = skm.f1_score(y, s >= t, zero_division=0)
        if f > best_f + 1e-15:
            best_t, best_f = t, f
    return best_t, best_f


def test_best_thresholds_against_brute_force():
    rng = np.random.default_rng(13)
    for n_values in [None, 4, 30]:
        y, s = make(rng, 150, 5, prevalence=0.1, n_values=n_values)
        y[:, 4] = 0
        thresholds, scores = best_thresholds(y, s)
        for j in range(5):
            t, f = best_f1_plain(y[:, j], s[:, j])
            assert thresholds[j] == t
            assert scores[j] == pytest.approx(f, rel=1e-12, abs=1e-15)
            if np.isfinite(t):
                assert skm.f1_score(y[:, j], s[:, j] >= thresholds[j]) == pytest.approx(f)


def test_best_thresholds_bad_metric():
    with pytest.raises(ValueError):
        best_thresholds(np.array([[1, 0], [0, 1]]), np.zeros((2, 2)), metric="accuracy")


# ------------------------------------------------------------------ weights at any scale

SCALES = [1e-300, 1e-200, 1e150, 1e300]


def _weighted_cases(rng, n=60, n_labels=4):
    y, s = make(rng, n, n_labels, prevalence=0.35, n_values=9)
    y[:, 3] = 0  # a label without positives
    return y, s, rng.random(n) + 0.05


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("average", AVERAGES)
def test_extreme_weight_scales_match_sklearn(scale, average):
    """Weights near the ends of the float64 range: the kernels multiply weight sums, which
    over- or underflowed (uninitialised results, SystemError, ZeroDivisionError, NaN)."""
    rng = np.random.default_rng(21)
    y, s, w = _weighted_cases(rng)
    w = w * scale
    cases = [
        (average_precision_score, skm.average_precision_score, {}),
        (roc_auc_score, skm.roc_auc_score, {}),
        (roc_auc_score, skm.roc_auc_score, {"max_fpr": 0.3}),
    ]
    for fast, ref, kwargs in cases:
        yy = y[:, :3] if fast is roc_auc_score else y  # ROC AUC: no one-class label (NaN)
        ss = s[:, : yy.shape[1]]
        got = assert_same(fast, ref, yy, ss, average=average, sample_weight=w, **kwargs)
        # binary input (average is ignored there)
        assert_same(fast, ref, yy[:, 0], ss[:, 0], average=average, sample_weight=w, **kwargs)
        # the fast path ran: the same numbers as with weights of a usual scale
        unscaled = quiet(fast, yy, ss, average=average, sample_weight=w / scale, **kwargs)
        if average == "weighted" and scale < 1e-100:
            assert got == 0  # scikit-learn's "no support" rule, in the weights' own scale
        else:
            np.testing.assert_allclose(got, unscaled, rtol=1e-12)


def test_extreme_weights_stay_on_the_fast_path(fast_only):
    rng = np.random.default_rng(22)
    y, s, _ = _weighted_cases(rng)
    y = y[:, :3]
    s = s[:, :3]
    w = rng.integers(1, 1000, len(y)).astype(np.float64)  # exact at every scale below
    # 2**-1046: subnormal weights; 2**1013: weight sums beyond the float64 range
    for scale in [2.0**-1046, 2.0**-1000, 2.0**-600, 2.0**500, 2.0**1000, 2.0**1013]:
        for average in ["micro", "macro", "samples", None]:
            for f in (average_precision_score, roc_auc_score):
                got = quiet(f, y, s, average=average, sample_weight=w * scale)
                want = quiet(f, y, s, average=average, sample_weight=w)
                np.testing.assert_allclose(got, want, rtol=1e-12)
        got = quiet(batch_average_precision_score, y, np.stack([s, s[::-1]]),
                    sample_weight=w * scale)
        want = quiet(batch_average_precision_score, y, np.stack([s, s[::-1]]), sample_weight=w)
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_repeated_tiny_weight_calls_are_stable():
    y = np.array([1, 0, 1, 0, 1, 0])
    s = np.array([0.9, 0.8, 0.7, 0.3, 0.2, 0.1])
    w = np.full(6, 1e-300)
    expected = skm.roc_auc_score(y, s, sample_weight=w)
    for _ in range(3):
        assert roc_auc_score(y, s, sample_weight=w) == pytest.approx(expected, rel=1e-12)
        y2, s2 = y.reshape(2, 3).T, s.reshape(2, 3).T
        assert roc_auc_score(y2, s2, sample_weight=w[:3]) == pytest.approx(
            skm.roc_auc_score(y2, s2, sample_weight=w[:3]), rel=1e-12
        )
    assert average_precision_score(y, s, sample_weight=w) == pytest.approx(
        skm.average_precision_score(y, s, sample_weight=w), rel=1e-12
    )


@pytest.mark.parametrize("average", AVERAGES)
def test_mixed_weight_magnitudes_match_sklearn(average):
    rng = np.random.default_rng(23)
    y, s, w = _weighted_cases(rng)
    spans = [
        w * 10.0 ** rng.integers(-150, 150, len(w)),  # 1e300 apart: still on the fast path
        w * 10.0 ** rng.integers(-300, 300, len(w)),  # wider: scikit-learn's arithmetic
        np.where(rng.random(len(w)) < 0.5, 1e300, 1e-300) * w,
        np.where(np.arange(len(w)) == 0, 1e300, w),  # one weight dwarfs the others
        np.where(np.arange(len(w)) == 0, 1.0, 1e-320),  # subnormal beside a normal weight
    ]
    for sw in spans:
        assert_same(average_precision_score, skm.average_precision_score, y, s,
                    average=average, sample_weight=sw)
        assert_same(average_precision_score, skm.average_precision_score, y[:, 0], s[:, 0],
                    sample_weight=sw)
        assert_same(roc_auc_score, skm.roc_auc_score, y[:, :3], s[:, :3], average=average,
                    sample_weight=sw)
        assert_same(roc_auc_score, skm.roc_auc_score, y[:, :3], s[:, :3], average=average,
                    sample_weight=sw, max_fpr=0.4)
        got = quiet(batch_average_precision_score, y, np.stack([s, s[::-1]]),
                    average=average, sample_weight=sw)
        want = [quiet(skm.average_precision_score, y, ss, average=average, sample_weight=sw)
                for ss in (s, s[::-1])]
        np.testing.assert_allclose(got, np.array(want, dtype=float), rtol=1e-12, atol=1e-12)


def test_zero_and_negative_weights_error_like_sklearn():
    rng = np.random.default_rng(24)
    y, s, w = _weighted_cases(rng, n=20)
    for sw in (np.zeros(20), -w, np.where(np.arange(20) < 10, -1.0, 1.0)):
        for average in AVERAGES:
            for fast, ref in PAIRS:
                assert error_of(fast, y, s, average=average, sample_weight=sw) == error_of(
                    ref, y, s, average=average, sample_weight=sw
                )
                if error_of(ref, y, s, average=average, sample_weight=sw) is None:
                    assert_same(fast, ref, y, s, average=average, sample_weight=sw)
        with pytest.raises(ValueError):
            batch_average_precision_score(y, s[np.newaxis], sample_weight=sw)


# --------------------------------------------------------------------------- pos_label


@pytest.mark.parametrize(
    "pos_label", [None, [1], (1,), "a", 2, 1.5, np.nan, 1j, np.array([1]), object()]
)
def test_invalid_pos_label_errors_like_sklearn(pos_label):
    """average_precision_score has no "greater label" default: pos_label=None is invalid."""
    y = np.array([1, 0, 1, 1, 0])
    s = np.array([0.9, 0.1, 0.8, 0.4, 0.5])
    for yy in (y, np.ones(5, int), np.zeros(5, int), y.reshape(-1, 1) @ np.ones((1, 2), int)):
        ss = s if yy.ndim == 1 else np.column_stack([s, s[::-1]])
        expected = error_of(skm.average_precision_score, yy, ss, pos_label=pos_label)
        assert error_of(average_precision_score, yy, ss, pos_label=pos_label) == expected
        if expected is None:  # a label absent from a one-class y_true: scikit-learn's AP
            assert_same(average_precision_score, skm.average_precision_score, yy, ss,
                        pos_label=pos_label)
    if pos_label is None:  # rejected by parameter validation, even for a one-class y_true
        for yy in (y, np.ones(5, int)):
            error = error_of(average_precision_score, yy, s, pos_label=None)
            assert error is not None and error[0].__name__ == "InvalidParameterError"


@pytest.mark.parametrize("pos_label", [1, True, np.int64(1), 1.0, np.float32(1)])
def test_valid_pos_label_forms_match_sklearn(pos_label, fast_only):
    y = np.array([1, 0, 1, 1, 0])
    s = np.array([0.9, 0.1, 0.8, 0.4, 0.5])
    assert average_precision_score(y, s, pos_label=pos_label) == pytest.approx(
        skm.average_precision_score(y, s, pos_label=pos_label), rel=1e-15
    )


# ------------------------------------------------------------ report with float32 scores


def _report_counts(report, j):
    return report["precision"].iloc[j], report["recall"].iloc[j]


def test_multilabel_report_float32_thresholds_one_rule():
    """Per-label thresholds used to be rounded to float32 (to nearest), a shared one not:
    a label's numbers then depended on the other labels' thresholds."""
    rng = np.random.default_rng(25)
    for _ in range(100):
        n, n_labels = 40, 4
        y = (rng.random((n, n_labels)) < 0.4).astype(np.int64)
        y[0] = 1
        s = rng.random((n, n_labels)).astype(np.float32)
        picked = s[rng.integers(0, n, n_labels), np.arange(n_labels)].astype(np.float64)
        # thresholds a hair around score values, and values float32 cannot hold
        thr = picked + rng.choice([-1e-9, 0.0, 1e-9, 3e-8], n_labels)
        per_label = multilabel_report(y, s, thr)
        # the documented rule: float64(score) >= float64(threshold)
        pred = s.astype(np.float64) >= thr
        precision = skm.precision_score(y, pred, average=None, zero_division=0)
        recall = skm.recall_score(y, pred, average=None, zero_division=0)
        np.testing.assert_array_equal(per_label["precision"], precision)
        np.testing.assert_array_equal(per_label["recall"], recall)
        for j in range(n_labels):
            shared = multilabel_report(y, s, float(thr[j]))
            assert _report_counts(shared, j) == _report_counts(per_label, j)
            # the same label alone, with its threshold: the same decisions
            alone = multilabel_report(y[:, j], s[:, j], thr[j])
            assert _report_counts(alone, 0) == _report_counts(per_label, j)


def test_multilabel_report_threshold_rule_documented_cases():
    y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    s = np.full((4, 2), np.float32(0.7))  # 0.699999988..., below the float64 0.7
    s[3] = 0.1
    # float64 comparison: float32(0.7) < 0.7, nothing is predicted at 0.7
    for thr in (0.7, [0.7, 0.7], np.array([0.7, 0.7])):
        report = multilabel_report(y, s, thr)
        np.testing.assert_array_equal(report["recall"], [0.0, 0.0])
    # a float32 threshold holds the score's value exactly: predicted
    for thr in (np.float32(0.7), np.array([0.7, 0.7], np.float32), [float(np.float32(0.7))] * 2):
        report = multilabel_report(y, s, thr)
        np.testing.assert_array_equal(report["recall"], [1.0, 1.0])
    # mixed: per label, each by the same rule
    report = multilabel_report(y, s, [0.7, float(np.float32(0.7))])
    np.testing.assert_array_equal(report["recall"], [0.0, 1.0])
    # infinite thresholds: nothing / everything predicted
    report = multilabel_report(y, s, [np.inf, -np.inf])
    np.testing.assert_array_equal(report["recall"], [0.0, 1.0])
    np.testing.assert_array_equal(report["precision"], [0.0, 0.5])


# ----------------------------------------------------- kernel: blocks, threads, partials


def _curve_results(seed):
    """Every public score-curve function on inputs cut into several blocks / tasks."""
    rng = np.random.default_rng(seed)
    out = []
    y, s = make(rng, 3000, 50, prevalence=0.1)  # label groups: several tasks
    w = rng.random(3000)
    for sw in (None, w):
        out.append(average_precision_score(y, s, average=None, sample_weight=sw))
        out.append(roc_auc_score(y, s, average=None, sample_weight=sw))
        out.append(roc_auc_score(np.asfortranarray(y), np.asfortranarray(s), average=None,
                                 max_fpr=0.3, sample_weight=sw))
    y, s = make(rng, 70_000, 4, prevalence=0.05, n_values=3000)  # flat: several row blocks
    w = rng.random(70_000)
    for sw in (None, w):
        out.append(average_precision_score(y, s, average="micro", sample_weight=sw))
        out.append(roc_auc_score(y[:, 0], s[:, 0], sample_weight=sw))
    y, s = make(rng, 140_000, 2, prevalence=0.4)  # flat, radix-partitioned (many positives)
    for sw in (None, rng.random(140_000)):
        out.append(average_precision_score(y, s, average="micro", sample_weight=sw))
        out.append(roc_auc_score(y, s, average="micro", max_fpr=0.2, sample_weight=sw))
    y, s = make(rng, 20_000, 10, prevalence=0.2, n_values=50)  # rows: several tasks
    out.append(average_precision_score(y, s, average="samples"))
    out.append(roc_auc_score(y, s, average="samples"))
    batch = np.stack([s, s[::-1].copy(), s * 2])
    out.append(batch_average_precision_score(y, batch, average=None))
    out.append(batch_average_precision_score(y, batch, average="micro"))
    out.append(np.asarray(multilabel_report(y, s, threshold=np.linspace(0.1, 0.9, 10))["f1"]))
    out.append(np.concatenate(best_thresholds(y, s)))
    return [np.asarray(v, dtype=float) for v in out]


def test_identical_for_any_thread_count(threads, fast_only):
    results = []
    for k in (1, 2, 3):
        threads(k)
        results.append(quiet(_curve_results, 20))
    for other in results[1:]:
        for a, b in zip(results[0], other, strict=True):
            np.testing.assert_array_equal(a, b)


def _small_curve_results(seed):
    rng = np.random.default_rng(seed)
    y, s = make(rng, 40_000, 6, prevalence=0.1, n_values=500)
    w = rng.random(40_000)
    return [
        float(average_precision_score(y, s)),
        float(average_precision_score(y, s, average="micro", sample_weight=w)),
        float(average_precision_score(y, s, average="samples")),
        float(roc_auc_score(y, s)),
        float(roc_auc_score(y[:, 0], s[:, 0])),
    ]


def test_fork_after_a_call(threads):
    import multiprocessing as mp

    threads(2)
    expected = [quiet(_small_curve_results, k) for k in range(3)]  # the parent used its pool
    with mp.get_context("fork").Pool(2) as pool:
        result = pool.map_async(_small_curve_results, range(3))
        assert result.get(timeout=120) == expected


def test_no_jit_compiler_is_loaded():
    import subprocess
    import sys

    code = (
        "import sys, warnings\n"
        "import numpy as np\n"
        "from fastml.metrics import average_precision_score, roc_auc_score, best_thresholds\n"
        "warnings.simplefilter('ignore')\n"
        "rng = np.random.default_rng(0)\n"
        "y = (rng.random((500, 4)) < 0.3).astype(int); s = rng.random((500, 4))\n"
        "for a in ('macro', 'micro', 'samples'):\n"
        "    average_precision_score(y, s, average=a); roc_auc_score(y, s, average=a)\n"
        "best_thresholds(y, s)\n"
        "assert 'numba' not in sys.modules, 'numba was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120,
                   cwd=tempfile.gettempdir())  # the installed fastml, not the checkout


def _kernel():
    from fastml._backend import kernels

    return kernels("metrics_curves")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("n_values", [None, 40, 5000])
def test_histogram_partials_against_plain_counts(dtype, weighted, n_values):
    # partial = histogram of a block's negatives over the sorted distinct positive scores,
    # checked against NumPy (searchsorted); partials of any row split add to the one-shot
    k = _kernel()
    rng = np.random.default_rng(21)
    n = 9000
    y = (rng.random(n) < 0.3).astype(np.uint8)
    if n_values is None:
        s = (y + rng.standard_normal(n)).astype(dtype)
    else:
        s = (rng.integers(0, n_values, n) / n_values).astype(dtype)
    w = rng.random(n) if weighted else np.ones(1)
    wv = w if weighted else np.ones(n)

    a, pw, n_pos = k.sorted_positives(s, y, w, 1, n, weighted)
    distinct, inverse = np.unique(s[y == 1], return_inverse=True)
    np.testing.assert_array_equal(a, distinct)
    np.testing.assert_allclose(pw, np.bincount(inverse, wv[y == 1]), rtol=1e-13)
    assert n_pos == y.sum()

    m = len(a)
    neg = y == 0
    r = np.searchsorted(a, s[neg], side="right")
    hist = np.bincount(r, wv[neg], minlength=m + 1)
    tied = (r > 0) & (a[np.maximum(r - 1, 0)] == s[neg])
    tie = np.bincount(r[tied] - 1, wv[neg][tied], minlength=m)
    thr = 0.5
    plain = np.concatenate(
        [hist, tie, [wv[neg].sum(), wv[neg][s[neg] >= thr].sum(), neg.sum()]]
    )
    whole = k.histogram_block(s, y, w, 1, n, weighted, thr, a, 0, n)
    np.testing.assert_allclose(whole, plain, rtol=1e-12, atol=1e-9)
    if not weighted:
        np.testing.assert_array_equal(whole, plain)

    cuts = [0, 1, 777, 778, 5000, n]
    index = k.bucket_index(a)
    parts = [k.histogram_block(s, y, w, 1, n, weighted, thr, a, lo, hi, index)
             for lo, hi in zip(cuts[:-1], cuts[1:], strict=True)]
    total = parts[0]
    for p in parts[1:]:
        total = k.combine(total, p)
    np.testing.assert_allclose(total, whole, rtol=1e-12, atol=1e-9)

    stats = k.finish_stats(a, pw, n_pos, whole, thr, 0.0)
    one_shot = k.flat_stats(s[np.newaxis], y, w, 1, n, weighted, thr, 0.0)[0]
    np.testing.assert_array_equal(stats, one_shot)
    ref_ap = skm.average_precision_score(y, s, sample_weight=w if weighted else None)
    assert stats[k.AP] == pytest.approx(ref_ap, rel=1e-12)


def _plain_partial(a, s, y, wv, thr):
    """The partial of histogram_block from NumPy (searchsorted), for checks."""
    m = len(a)
    neg = y == 0
    r = np.searchsorted(a, s[neg], side="right")
    hist = np.bincount(r, wv[neg], minlength=m + 1)
    tied = (r > 0) & (a[np.maximum(r - 1, 0)] == s[neg])
    tie = np.bincount(r[tied] - 1, wv[neg][tied], minlength=m)
    return np.concatenate([hist, tie, [wv[neg].sum(), wv[neg][s[neg] >= thr].sum(), neg.sum()]])


def _bucket_stress(rng, n_pos, n_neg, dtype):
    """Positives whose bucket table has empty buckets, buckets of one, two and many values
    (a dense cluster of close values), and negatives tied with the first, second and later
    value of a bucket, between values, and below and above all positives."""
    sparse = rng.uniform(0.0, 1.0, n_pos // 2)
    dense = 0.5 + rng.uniform(0.0, 1e-4, n_pos - n_pos // 2)
    pos = np.concatenate([sparse, dense]).astype(dtype)
    a = np.unique(pos)
    neg = np.concatenate([
        rng.choice(a, n_neg // 4),  # ties, with any value of a bucket
        rng.uniform(-0.5, 1.5, n_neg // 4),  # between, below and above
        0.5 + rng.uniform(0.0, 1e-4, n_neg // 4),  # inside the dense cluster
        np.nextafter(rng.choice(a, n_neg - 3 * (n_neg // 4)), np.inf),  # just above a value
    ]).astype(dtype)
    s = np.concatenate([pos, neg])
    y = np.concatenate([np.ones(len(pos), np.uint8), np.zeros(len(neg), np.uint8)])
    order = rng.permutation(len(s))
    return np.ascontiguousarray(s[order]), np.ascontiguousarray(y[order])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("n_pos", [1, 2, 3, 63, 64, 700, 40_000])
def test_bucket_table_paths_match_plain_histogram(dtype, weighted, n_pos):
    # one problem through every locating path: per label (column_stats, its own bucket
    # table), by row blocks (histogram_block, the shared bucket_index) and flattened
    # (flat_stats; partitioned by bucket from 2^15 distinct positives), against NumPy
    k = _kernel()
    rng = np.random.default_rng([n_pos, weighted, np.dtype(dtype).itemsize])
    s, y = _bucket_stress(rng, n_pos, max(400, 2 * n_pos), dtype)
    n = len(s)
    w = rng.random(n) + 0.25 if weighted else np.ones(1)
    wv = w if weighted else np.ones(n)
    thr = 0.5
    a, pw, n_pos_k = k.sorted_positives(s, y, w, 1, n, weighted)
    plain = _plain_partial(a, s, y, wv, thr)
    whole = k.histogram_block(s, y, w, 1, n, weighted, thr, a, 0, n)
    np.testing.assert_allclose(whole, plain, rtol=1e-12, atol=1e-9)
    if not weighted:
        np.testing.assert_array_equal(whole, plain)
    ref = skm.roc_auc_score(y, s, sample_weight=w if weighted else None)
    for max_fpr in (0.0, 0.3):
        expected = k.finish_stats(a, pw, n_pos_k, whole, thr, max_fpr)
        if max_fpr == 0.0:
            assert expected[k.AUC] == pytest.approx(ref, rel=1e-12)
        per_label = k.column_stats(s[np.newaxis, np.newaxis], y[np.newaxis], True, w, weighted,
                                   thr, max_fpr)[0, 0]
        flat = k.flat_stats(s[np.newaxis], y, w, 1, n, weighted, thr, max_fpr)[0]
        np.testing.assert_array_equal(per_label, expected)
        np.testing.assert_allclose(flat, expected, rtol=1e-12)
        if not weighted:
            np.testing.assert_array_equal(flat, expected)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n, n_labels, n_batch", [(1, 1, 1), (5, 3, 2), (700, 4, 1),
                                                  (50_000, 3, 2), (30_000, 7, 1)])
def test_row_major_split_path_matches_label_major(dtype, n, n_labels, n_batch):
    # unweighted row-major input is split by target into a label-major buffer (positives,
    # then negatives) in row blocks: the same statistics as the label-major path, bit for
    # bit, for labels with no positive, no negative, ties, and several row blocks
    k = _kernel()
    rng = np.random.default_rng([n, n_labels, n_batch, np.dtype(dtype).itemsize])
    prevalence = rng.choice([0.0, 0.002, 0.05, 0.5, 1.0], n_labels)
    y = (rng.random((n, n_labels)) < prevalence).astype(np.uint8)
    s = (y + rng.standard_normal((n_batch, n, n_labels))).astype(dtype)
    s[..., 0] = np.round(s[..., 0] * 4) / 4  # heavy ties in label 0
    s[:, ::3, 0] *= -1  # and signed zeros among them
    for thr, max_fpr in ((np.inf, 0.0), (0.5, 0.25)):
        rows = k.column_stats(s, y, False, np.ones(1), False, thr, max_fpr)
        labels = k.column_stats(np.ascontiguousarray(s.transpose(0, 2, 1)),
                                np.ascontiguousarray(y.T), True, np.ones(1), False, thr,
                                max_fpr)
        np.testing.assert_array_equal(rows, labels)
    for b in range(n_batch):
        for j in range(n_labels):
            if 0 < y[:, j].sum() < n:
                ref = skm.average_precision_score(y[:, j], s[b, :, j])
                assert rows[b, j, k.AP] == pytest.approx(ref, rel=1e-12)


def test_packed_counts_and_their_float64_fallback_agree():
    # unweighted negatives are counted in packed 32-bit pairs (count, ties) below 2^32 rows,
    # in float64 from there on (the row paths): lowering the limit gives the same partials
    # and statistics, and the row-major split path is then not taken
    k = _kernel()
    rng = np.random.default_rng(31)
    n, n_labels = 3000, 3
    y = (rng.random((n, n_labels)) < 0.2).astype(np.uint8)
    s = np.round(y + rng.standard_normal((1, n, n_labels)), 1)  # ties
    yj, sj = np.ascontiguousarray(y[:, 0]), np.ascontiguousarray(s[0, :, 0])
    a, _, _ = k.sorted_positives(sj, yj, np.ones(1), 1, n, False)

    # a flat problem with enough distinct positives to be partitioned
    yf = (rng.random(90_000) < 0.5).astype(np.uint8)
    sf = np.round(yf + rng.standard_normal(90_000), 5)[np.newaxis]

    def run():
        return (k.histogram_block(sj, yj, np.ones(1), 1, n, False, 0.5, a, 0, n),
                k.column_stats(s, y, False, np.ones(1), False, 0.5, 0.3),
                k.flat_stats(s.reshape(1, -1), y.reshape(-1), np.ones(1), 1, 1, False, 0.5,
                             0.0),
                k.flat_stats(sf, yf, np.ones(1), 1, 1, False, 0.5, 0.0))

    packed = run()
    old = k._set_packed_max(100)
    try:
        wide = run()
    finally:
        k._set_packed_max(old)
    for p, q in zip(packed, wide, strict=True):
        np.testing.assert_array_equal(p, q)
    np.testing.assert_array_equal(packed[0], _plain_partial(a, sj, yj, np.ones(n), 0.5))


@pytest.mark.parametrize("n", [0, 1, 2, 15, 17, 100, 4099, 200_000])
def test_sorted_positives_on_hard_orders(n):
    k = _kernel()
    rng = np.random.default_rng(n)
    idx = np.arange(n, dtype=float)
    patterns = {
        "sorted": idx,
        "reversed": idx[::-1].copy(),
        "constant": np.zeros(n),
        "organ_pipe": np.minimum(idx, n - 1 - idx),
        "two_values": idx % 2,
        "sawtooth": idx % 17,
        "random": rng.standard_normal(n),
        "signed_zeros": np.where(idx % 2 == 0, 0.0, -0.0),
        "wide": rng.choice([-1.0, 1.0], n) * 10.0 ** rng.uniform(-30, 30, n),
    }
    y = np.ones(n, np.uint8)
    w = rng.random(n) + 0.5
    for name, s in patterns.items():
        for dtype in (np.float64, np.float32):
            sv = s.astype(dtype)
            expected, inverse = np.unique(sv, return_inverse=True)
            for weighted in (False, True):
                a, pw, n_pos = k.sorted_positives(sv, y, w if weighted else np.ones(1), 1,
                                                  max(n, 1), weighted)
                np.testing.assert_array_equal(a, expected, err_msg=name)
                counts = np.bincount(inverse, w if weighted else None, minlength=len(expected))
                np.testing.assert_allclose(pw, counts, rtol=1e-12, err_msg=name)
                assert n_pos == n


def test_tied_positive_weights_add_in_row_order():
    # many positives are radix sorted, which is stable: the weights of tied positive scores
    # are added in row order, so the result does not depend on how the sort moves ties
    k = _kernel()
    rng = np.random.default_rng(22)
    n = 20_000
    s = rng.integers(0, 7, n) / 7
    y = (rng.random(n) < 0.5).astype(np.uint8)
    w = rng.random(n) * 10.0 ** rng.integers(-8, 8, n)
    a, pw, _ = k.sorted_positives(s, y, w, 1, n, True)
    expected = []
    for value in a:
        total = 0.0
        for wi in w[(y == 1) & (s == value)]:
            total += float(wi)
        expected.append(total)
    np.testing.assert_array_equal(pw, expected)


@pytest.mark.parametrize("depth", [0, 1, 3, 64])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_introsort_and_its_heapsort_fallback(depth, dtype):
    k = _kernel()
    rng = np.random.default_rng(depth)
    for n in (1, 2, 16, 17, 18, 100, 1000, 5000):
        for values in (rng.standard_normal(n), rng.integers(0, 3, n), np.arange(n)[::-1]):
            a = np.ascontiguousarray(values, dtype=dtype)
            k._introsort(a, depth)
            np.testing.assert_array_equal(a, np.sort(values.astype(dtype)))


# ---------------------------------------------- operating points, (n, 1) targets, label names


def _brute_operating_point(y, s, metric, beta=1.0, target=None):
    """Per label, over every distinct positive score as a threshold (descending)."""
    best_t, best_v = np.inf, 0.0
    pos = np.unique(s[y == 1])[::-1]
    total = int(y.sum())
    found = None
    for t in pos:
        pred = s >= t
        tp = int(np.sum(pred & (y == 1)))
        fp = int(np.sum(pred & (y == 0)))
        if metric == "fbeta":
            v = (1 + beta**2) * tp / (beta**2 * total + tp + fp)
            if v > best_v:  # descending thresholds: strictly better keeps the highest
                best_t, best_v = t, v
        elif metric == "recall":
            v = tp / total
            if v >= target and found is None:
                found = (t, v)
        else:
            v = tp / (tp + fp)
            if v >= target:
                found = (t, v)  # keeps going down: the lowest threshold wins
    if metric == "fbeta":
        return best_t, best_v
    return found if found is not None else (np.inf, 0.0)


@pytest.mark.parametrize("seed", range(6))
def test_best_thresholds_operating_points_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    y, s = make(rng, 120, 4, prevalence=0.2, n_values=15 if seed % 2 else None)
    y[:, 3] = 0
    for metric, kw in [("fbeta", {"beta": 2.0}), ("fbeta", {"beta": 0.5}),
                       ("recall", {"target": 0.8}), ("precision", {"target": 0.6}),
                       ("precision", {"target": 1.0})]:
        got = best_thresholds(y, s, metric, **kw)
        for j in range(4):
            t, v = _brute_operating_point(y[:, j], s[:, j], metric, kw.get("beta", 1.0),
                                          kw.get("target"))
            assert got.thresholds[j] == t, (metric, kw, j)
            assert got.scores[j] == pytest.approx(v, rel=1e-12, abs=0)
    f1 = best_thresholds(y, s)
    fb = best_thresholds(y, s, "fbeta", beta=1.0)
    np.testing.assert_array_equal(f1.thresholds, fb.thresholds)
    np.testing.assert_allclose(f1.scores, fb.scores, rtol=1e-12)


def test_best_thresholds_bad_options():
    y = np.array([[1, 0], [0, 1], [1, 1]])
    s = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.6]])
    for kw in ({"metric": "auc"}, {"metric": "recall"}, {"metric": "recall", "target": 1.5},
               {"metric": "fbeta", "beta": 0}, {"metric": "precision", "target": "x"}):
        with pytest.raises(ValueError):
            best_thresholds(y, s, **kw)


def test_report_takes_one_column_and_dataframe_names():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(1)
    y, s = make(rng, 200, 3, prevalence=0.3)
    one = multilabel_report(y[:, :1], s[:, :1])
    flat = multilabel_report(y[:, 0], s[:, 0])
    pd.testing.assert_frame_equal(one, flat)
    frame = pd.DataFrame(y, columns=["cat", "dog", "owl"])
    report = multilabel_report(frame, s)
    assert list(report.index) == ["cat", "dog", "owl"]
    assert list(multilabel_report(frame, s, label_names=["a", "b", "c"]).index) == list("abc")
    np.testing.assert_array_equal(best_thresholds(y[:, :1], s[:, :1]).thresholds,
                                  best_thresholds(y[:, 0], s[:, 0]).thresholds)


# ------------------------------------------------------- tensors and big-endian input


def test_tensor_like_inputs_take_the_fast_path(tensor_like, fast_only):
    rng = np.random.default_rng(3)
    y = (rng.random((60, 4)) < 0.4).astype(np.int64)
    y[0] = 1
    s = rng.random((60, 4))
    batch = rng.random((3, 60, 4))
    assert average_precision_score(tensor_like(y), tensor_like(s)) == pytest.approx(
        quiet(skm.average_precision_score, y, s), rel=1e-12
    )
    assert roc_auc_score(tensor_like(y), tensor_like(s)) == pytest.approx(
        skm.roc_auc_score(y, s), rel=1e-12
    )
    np.testing.assert_array_equal(
        batch_average_precision_score(tensor_like(y), tensor_like(batch)),
        batch_average_precision_score(y, batch),
    )
    report = multilabel_report(tensor_like(y), tensor_like(s))
    np.testing.assert_array_equal(report["f1"], multilabel_report(y, s)["f1"])
    got = best_thresholds(tensor_like(y), tensor_like(s))
    want = best_thresholds(y, s)
    np.testing.assert_array_equal(got.thresholds, want.thresholds)
    np.testing.assert_array_equal(got.scores, want.scores)


def test_big_endian_scores_are_numbers(fast_only):
    rng = np.random.default_rng(4)
    y = (rng.random((50, 3)) < 0.4).astype(">i8")
    y[0] = 1
    s = rng.random((50, 3))
    big = s.astype(">f8")
    assert average_precision_score(y, big) == pytest.approx(
        quiet(skm.average_precision_score, y, s), rel=1e-12
    )
    np.testing.assert_array_equal(
        batch_average_precision_score(y, big[None]), batch_average_precision_score(y, s[None])
    )
    np.testing.assert_array_equal(
        multilabel_report(y, big)["average_precision"],
        multilabel_report(y, s)["average_precision"],
    )
    np.testing.assert_array_equal(best_thresholds(y, big).thresholds,
                                  best_thresholds(y, s).thresholds)


def test_curve_warnings_point_at_the_caller():
    y = np.array([[0, 1], [0, 1], [0, 0]])
    s = np.array([[0.1, 0.9], [0.2, 0.3], [0.4, 0.5]])
    calls = [
        lambda: average_precision_score(y, s),
        lambda: average_precision_score(y, s, average="samples"),
        lambda: batch_average_precision_score(y, s[None]),
        lambda: roc_auc_score(y, s, average=None),
    ]
    for call in calls:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            call()
        assert caught, call
        assert all(w.filename == __file__ for w in caught), [w.filename for w in caught]
