"""fastml's counting metrics against scikit-learn (the reference) and the kernels against
plain NumPy twins.

Tests named ``*_fast`` run with the fallback to scikit-learn disabled, so they fail if the
fast path reference_calls instead of computing; tests of unsupported input check that the call
was reference_calls and that results, warnings and exceptions are scikit-learn's.
"""

from __future__ import annotations

import itertools
import math
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import sklearn.metrics as skm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import UndefinedMetricWarning

import fastml._validation as validation
import fastml.metrics as fm
from fastml.kernels.cpu import metrics_counts as kern

AVERAGES = [None, "micro", "macro", "weighted", "samples"]
ZERO_DIVISIONS = ["warn", 0, 1, 0.0, 1.0, np.nan]
BETAS = [0, 0.5, 1, 2.0, np.inf]
PRF_FUNCS = ["precision_score", "recall_score", "f1_score"]
TOL = dict(rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- helpers


def _refuse(name, module="sklearn.metrics"):  # for hypothesis tests (no fixtures there)
    raise AssertionError(f"fast path handed {name} to {module}")


def run(func, *args, **kwargs):
    """(result, [(category, message), ...] of user warnings) or (exception, warnings)."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        try:
            out = func(*args, **kwargs)
        except Exception as exc:  # compared by the caller
            out = exc
    seen = [(w.category, str(w.message)) for w in record if issubclass(w.category, UserWarning)]
    return out, seen


def assert_same_value(fast, ref):
    """Same type (float / np.float64 / ndarray dtype / None) and equal within 1e-12."""
    if ref is None:
        assert fast is None
        return
    if isinstance(ref, np.ndarray):
        assert isinstance(fast, np.ndarray)
        assert fast.dtype == ref.dtype and fast.shape == ref.shape
        np.testing.assert_allclose(fast, ref, **TOL)
        return
    assert type(fast) is type(ref), (type(fast), type(ref))
    if math.isnan(ref):
        assert math.isnan(fast)
    else:
        np.testing.assert_allclose(fast, ref, **TOL)


def assert_same(fast, ref):
    if isinstance(ref, tuple):
        assert isinstance(fast, tuple) and len(fast) == len(ref)
        for a, b in zip(fast, ref, strict=True):
            assert_same_value(a, b)
    else:
        assert_same_value(fast, ref)


def compare(name, *args, **kwargs):
    """Call fastml's and scikit-learn's ``name``; same result or exception, same warnings."""
    fast, fast_warnings = run(getattr(fm, name), *args, **kwargs)
    ref, ref_warnings = run(getattr(skm, name), *args, **kwargs)
    if isinstance(ref, Exception):
        assert type(fast) is type(ref), (fast, ref)
        assert str(fast) == str(ref)
    else:
        if isinstance(fast, Exception):
            raise fast
        assert_same(fast, ref)
    assert fast_warnings == ref_warnings
    return fast, fast_warnings


def indicators(rng, n, n_labels, p=0.3, dtype=np.int64):
    return (rng.random((n, n_labels)) < p).astype(dtype)


def edge_pair(rng, n, n_labels, dtype=np.int64):
    """Random targets with a label never true, one never predicted, one in neither, and
    all-zero rows (in y_true, in y_pred, in both)."""
    yt = indicators(rng, n, n_labels)
    yp = indicators(rng, n, n_labels)
    yt[:, 0] = 0
    yp[:, 1 % n_labels] = 0
    if n_labels > 2:
        yt[:, 2] = yp[:, 2] = 0
    yt[0] = 0
    if n > 1:
        yp[1] = 0
    if n > 2:
        yt[2] = yp[2] = 0
    return yt.astype(dtype), yp.astype(dtype)


def weights(rng, n, kind):
    if kind is None:
        return None
    if kind == "int":
        w = rng.integers(0, 4, n)
        w[0] = 1
        return w
    w = rng.random(n) * 3
    if kind == "zeros" and n > 1:
        w[rng.random(n) < 0.3] = 0
        w[0] = 0.5
    return w


# --------------------------------------------------------------------------- PRF family


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 30),
    n_labels=st.integers(2, 6),
    seed=st.integers(0, 2**32 - 1),
    p_true=st.sampled_from([0.0, 0.1, 0.5, 1.0]),
    p_pred=st.sampled_from([0.0, 0.2, 0.5, 1.0]),
    dtype=st.sampled_from([bool, np.int64, np.float64, np.int32, np.uint8, np.float32]),
    weight_kind=st.sampled_from([None, "float", "zeros", "int"]),
    average=st.sampled_from(AVERAGES),
    zero_division=st.sampled_from(ZERO_DIVISIONS),
    beta=st.sampled_from(BETAS),
)
def test_prf_random_fast(
    n, n_labels, seed, p_true, p_pred, dtype, weight_kind, average, zero_division, beta
):
    rng = np.random.default_rng(seed)
    yt = indicators(rng, n, n_labels, p_true, dtype)
    yp = indicators(rng, n, n_labels, p_pred, dtype)
    sw = weights(rng, n, weight_kind)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(validation, "reference", _refuse)
        compare(
            "precision_recall_fscore_support",
            yt,
            yp,
            beta=beta,
            average=average,
            sample_weight=sw,
            zero_division=zero_division,
        )


@pytest.mark.parametrize("dtype", [bool, np.int64, np.uint8])
def test_support_dtype_with_positives_of_zero_weight_like_sklearn(fast_only, dtype):
    # scikit-learn's weighted counts are floats as soon as any entry is positive, even one
    # whose integer weight is 0; with no positive entry at all they stay integers
    yt = np.array([[0, 0], [1, 0]], dtype)
    yp = np.zeros((2, 2), dtype)
    for sw in (np.array([1, 0]), np.array([0, 2])):
        compare("precision_recall_fscore_support", yt, yp, average=None, sample_weight=sw)
        compare("precision_recall_fscore_support", yp, yp, average=None, sample_weight=sw)


@pytest.mark.parametrize("name", PRF_FUNCS)
@pytest.mark.parametrize("average", AVERAGES)
@pytest.mark.parametrize("zero_division", ["warn", 0, 1.0, np.nan])
@pytest.mark.parametrize("weight_kind", [None, "zeros"])
def test_scores_edges_fast(fast_only, name, average, zero_division, weight_kind):
    rng = np.random.default_rng(7)
    yt, yp = edge_pair(rng, 12, 5)
    sw = weights(rng, 12, weight_kind)
    _, seen = compare(name, yt, yp, average=average, sample_weight=sw, zero_division=zero_division)
    if zero_division == "warn" and average != "micro":
        assert seen, "labels/rows with no true or predicted positives must warn"
        assert all(cat is UndefinedMetricWarning for cat, _ in seen)


@pytest.mark.parametrize("average", AVERAGES)
@pytest.mark.parametrize("beta", BETAS + [np.float32(0.3), np.float32(np.inf), 3, 1e-200, True])
def test_prf_warn_for_and_beta_fast(fast_only, average, beta):
    rng = np.random.default_rng(3)
    yt, yp = edge_pair(rng, 9, 4)
    for warn_for in [("precision", "recall", "f-score"), ["recall"], {"f-score"}]:
        compare(
            "precision_recall_fscore_support",
            yt,
            yp,
            beta=beta,
            average=average,
            warn_for=warn_for,
        )


def test_warning_messages_fast(fast_only):
    yt = np.array([[0, 1, 1], [0, 1, 0]])
    yp = np.array([[0, 0, 1], [0, 0, 0]])
    msg = (
        "Precision is ill-defined and being set to 0.0 in labels with no predicted samples."
        " Use `zero_division` parameter to control this behavior."
    )
    with pytest.warns(UndefinedMetricWarning, match="^" + msg.replace("(", r"\(")):
        fm.precision_score(yt, yp, average="macro")
    with pytest.warns(UndefinedMetricWarning, match="Recall is ill-defined .* no true samples"):
        fm.recall_score(yt, yp, average=None)
    with pytest.warns(
        UndefinedMetricWarning,
        match="F-score is ill-defined and being set to 0.0 in labels with no true nor predicted",
    ):
        fm.f1_score(yt, yp, average="macro")
    # samples: the roles of samples and labels swap in the message
    with pytest.warns(
        UndefinedMetricWarning, match="Precision is ill-defined .* in samples with no predicted"
    ):
        fm.precision_score(yt, yp, average="samples")
    # micro (one value): "due to"
    with pytest.warns(UndefinedMetricWarning, match="due to no predicted samples"):
        fm.precision_score(np.ones((2, 2)), np.zeros((2, 2)), average="micro")


def test_no_warning_when_defined_fast(fast_only):
    yt = np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1]])
    yp = np.array([[1, 0, 1], [1, 1, 0], [0, 1, 1]])
    for average in AVERAGES:
        for name in PRF_FUNCS + ["precision_recall_fscore_support"]:
            kwargs = {} if name == "precision_recall_fscore_support" else {}
            _, seen = compare(name, yt, yp, average=average, **kwargs)
            assert seen == []
    # undefined but zero_division given: no warning either
    yt[:, 0] = 0
    yp[:, 0] = 0
    _, seen = compare("f1_score", yt, yp, average="macro", zero_division=1)
    assert seen == []
    # precision undefined only: f1 warns for nothing (its warn_for is f-score)
    _, seen = compare("f1_score", [[1, 0], [0, 1]], [[0, 0], [0, 1]], average=None)
    assert seen == []


@pytest.mark.parametrize("average", AVERAGES)
def test_small_shapes_fast(fast_only, average):
    # one sample, two labels, all-zero everything
    for yt, yp in [
        ([[1, 0]], [[1, 1]]),
        ([[0, 0]], [[0, 0]]),
        (np.zeros((4, 2)), np.zeros((4, 2))),
        (np.ones((3, 2)), np.ones((3, 2))),
        (np.eye(2), 1 - np.eye(2)),
    ]:
        compare("precision_recall_fscore_support", yt, yp, average=average)
        for zd in (np.nan, 1):
            compare(
                "f1_score", yt, yp, average=average, zero_division=zd, sample_weight=[2] * len(yt)
            )


def test_return_types_fast(fast_only):
    yt = np.array([[1, 0, 1], [0, 1, 1]])
    yp = np.array([[1, 1, 1], [0, 1, 0]])
    p, r, f, s = fm.precision_recall_fscore_support(yt, yp)
    assert p.dtype == r.dtype == f.dtype == np.float64 and s.dtype == np.int64
    _, _, _, s = fm.precision_recall_fscore_support(yt, yp, sample_weight=[1, 2])
    assert s.dtype == np.float64
    for average in AVERAGES[1:]:
        out = fm.precision_recall_fscore_support(yt, yp, average=average)
        assert [type(v) for v in out] == [float, float, float, type(None)]
    assert type(fm.f1_score(yt, yp, average="macro")) is float


@pytest.mark.parametrize("average", AVERAGES)
def test_labels_fast(fast_only, average):
    rng = np.random.default_rng(11)
    yt, yp = edge_pair(rng, 15, 5)
    for labels in (
        [3, 1],
        [0],
        [4, 4, 2],
        np.array([2, 0, 1], dtype=np.uint32),
        [0, 1, 2, 3, 4],
        range(5),
        (4, 3, 2, 1, 0),
        np.array([1], dtype=np.int8),
    ):
        name = "precision_recall_fscore_support" if average is None else "f1_score"
        compare(name, yt, yp, labels=labels, average=average, sample_weight=np.arange(15.0))


@pytest.mark.parametrize("labels", [[5], [-1], [0.0, 1.0], [True, False], [[0, 1]], []])
def test_unusual_labels_delegated(reference_calls, labels):
    yt, yp = edge_pair(np.random.default_rng(2), 6, 3)
    compare("f1_score", yt, yp, labels=labels, average="macro")
    assert reference_calls


def test_pos_label_warning_fast(fast_only):
    yt, yp = edge_pair(np.random.default_rng(4), 6, 3)
    for pos_label in (0, "a", 2.5, None, True, 1.0, np.int64(3)):
        _, seen = compare("f1_score", yt, yp, average="micro", pos_label=pos_label)
        noted = [m for c, m in seen if c is UserWarning]
        assert bool(noted) == (pos_label not in (None, 1))


@pytest.mark.parametrize("zero_division", [np.float32(1.0), np.int64(1), True, False, 1.0])
def test_zero_division_scalar_types_fast(fast_only, zero_division):
    # scikit-learn keeps 0/1 only for Python int/float; other NumPy scalars read as NaN
    yt, yp = edge_pair(np.random.default_rng(5), 8, 4)
    for average in AVERAGES:
        compare("recall_score", yt, yp, average=average, zero_division=zero_division)


@pytest.mark.parametrize("average", AVERAGES)
def test_multiple_chunks_fast(fast_only, average):
    # more rows than one kernel chunk (2048): partial sums are combined
    rng = np.random.default_rng(8)
    yt, yp = edge_pair(rng, 9000, 7, dtype=bool)
    sw = weights(rng, 9000, "zeros")
    for zd in ("warn", np.nan):
        compare("precision_recall_fscore_support", yt, yp, average=average, zero_division=zd)
        compare(
            "precision_recall_fscore_support",
            yt,
            yp,
            average=average,
            sample_weight=sw,
            zero_division=zd,
            beta=0.7,
        )


# --------------------------------------------------------------------------- input forms


def _forms(yt, yp):
    """(name, y_true, y_pred) in the forms users pass."""
    yield "lists", yt.tolist(), yp.tolist()
    yield "bool", yt.astype(bool), yp.astype(bool)
    yield "float", yt.astype(float), yp.astype(float)
    yield "float32/int8", yt.astype(np.float32), yp.astype(np.int8)
    yield "mixed", yt.astype(bool), yp.astype(np.float64)
    yield "fortran", np.asfortranarray(yt), np.asfortranarray(yp.astype(float))
    yield "sliced", np.repeat(yt, 2, axis=1)[::1, ::2], np.repeat(yp, 2, axis=0)[::2]
    ro_t, ro_p = yt.copy(), yp.astype(bool)
    ro_t.flags.writeable = False
    ro_p.flags.writeable = False
    yield "read-only", ro_t, ro_p
    yield "pandas", pd.DataFrame(yt), pd.DataFrame(yp.astype(bool))
    yield "csr", sp.csr_matrix(yt), sp.csr_array(yp)
    yield "csc/dense", sp.csc_array(yt.astype(float)), yp
    yield "coo", sp.coo_array(yt), sp.coo_matrix(yp.astype(bool))


@pytest.mark.parametrize("form", range(12))
def test_input_forms_fast(fast_only, form):
    rng = np.random.default_rng(9)
    yt, yp = edge_pair(rng, 10, 4)
    name, a, b = list(_forms(yt, yp))[form]
    sw = weights(rng, 10, "zeros")
    compare("hamming_loss", a, b)
    compare("hamming_loss", a, b, sample_weight=sw)
    for average in (None, "samples"):
        compare("precision_recall_fscore_support", a, b, average=average)
    for average in ("micro", "weighted"):
        compare("f1_score", a, b, average=average, sample_weight=sw, zero_division=np.nan)


def test_weight_forms_fast(fast_only):
    rng = np.random.default_rng(10)
    yt, yp = edge_pair(rng, 10, 4)
    base = weights(rng, 10, "zeros")
    for sw in (
        base.tolist(),
        pd.Series(base),
        base.astype(np.float32),
        np.arange(10) % 3,
        base[::-1].copy()[::-1],
    ):
        for average in AVERAGES:
            compare("precision_recall_fscore_support", yt, yp, average=average, sample_weight=sw)


# --------------------------------------------------------------------------- reference_calls input


DELEGATED = [
    ("multiclass", [0, 1, 2, 2], [0, 2, 1, 2], {}),
    ("strings", ["a", "b", "a"], ["a", "a", "b"], {}),
    ("binary 1-D", [0, 1, 1, 0], [0, 1, 0, 0], {}),
    ("multilabel {0,2}", np.array([[0, 2], [2, 0]]), np.array([[0, 2], [0, 2]]), {}),
    ("float16", np.eye(3, dtype=np.float16), np.eye(3, dtype=np.float16), {}),
    (
        "sparse explicit zero",
        sp.csr_array((np.array([1, 0, 1]), np.array([0, 1, 1]), np.array([0, 1, 2, 3])), (3, 2)),
        np.array([[1, 1], [0, 0], [1, 0]]),
        {},
    ),
    ("negative weight", np.eye(3), np.ones((3, 3)), {"sample_weight": [1.0, -1.0, 2.0]}),
    ("lil", sp.lil_array(np.eye(3)), np.eye(3), {}),
]


@pytest.mark.parametrize("case", DELEGATED, ids=[c[0] for c in DELEGATED])
@pytest.mark.parametrize("name", ["hamming_loss", "f1_score", "precision_recall_fscore_support"])
def test_delegated_inputs(reference_calls, case, name):
    _, yt, yp, kwargs = case
    if name != "hamming_loss":
        kwargs = dict(kwargs, average="macro")
    compare(name, yt, yp, **kwargs)
    if not (name == "hamming_loss" and case[0] == "binary 1-D"):
        assert reference_calls == [name]


ERRORS = [
    ("shape mismatch", np.eye(3), np.ones((3, 4)), {}),
    ("length mismatch", np.eye(3), np.ones((4, 3)), {}),
    ("non-binary", np.array([[0, 1, 2], [2, 1, 0]]), np.ones((2, 3)), {}),
    ("continuous", np.eye(3) * 0.5, np.ones((3, 3)), {}),
    ("nan", np.full((2, 2), np.nan), np.ones((2, 2)), {}),
    ("3-D", np.ones((2, 2, 2)), np.ones((2, 2, 2)), {}),
    ("empty", np.zeros((0, 3)), np.zeros((0, 3)), {}),
    ("empty list", [], [], {}),
    ("weight length", np.eye(3), np.ones((3, 3)), {"sample_weight": [1.0, 2.0]}),
    ("weights all zero", np.eye(3), np.ones((3, 3)), {"sample_weight": [0, 0, 0]}),
    ("weights nan", np.eye(3), np.ones((3, 3)), {"sample_weight": [1, np.nan, 1]}),
    ("weights 2-D", np.eye(3), np.ones((3, 3)), {"sample_weight": np.ones((3, 1))}),
    ("sparse binary", sp.csr_array(np.ones((3, 1))), sp.csr_array(np.ones((3, 1))), {}),
    ("None", None, np.eye(2), {}),
]


@pytest.mark.parametrize("case", ERRORS, ids=[c[0] for c in ERRORS])
@pytest.mark.parametrize("name", ["hamming_loss", "f1_score", "recall_score"])
def test_errors_match_sklearn(case, name):
    _, yt, yp, kwargs = case
    if name != "hamming_loss":
        kwargs = dict(kwargs, average="micro")
    fast, _ = run(getattr(fm, name), yt, yp, **kwargs)
    ref, _ = run(getattr(skm, name), yt, yp, **kwargs)
    assert isinstance(ref, Exception), ref
    assert type(fast) is type(ref) and str(fast) == str(ref)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},  # average="binary" (the default) on multi-label input
        {"average": "binary"},
        {"average": "bogus"},
        {"average": "macro", "zero_division": 2},
        {"average": "macro", "zero_division": "nan"},
        {"average": "macro", "beta": -1.0},
        {"average": "macro", "beta": 10**400},
        {"average": "macro", "warn_for": "precision"},
        {"average": "macro", "pos_label": [1]},
    ],
)
def test_parameter_errors_match_sklearn(kwargs):
    yt, yp = np.eye(3), np.ones((3, 3))
    func = "f1_score"
    if "beta" in kwargs or "warn_for" in kwargs:
        func = "precision_recall_fscore_support"
    fast, _ = run(getattr(fm, func), yt, yp, **kwargs)
    ref, _ = run(getattr(skm, func), yt, yp, **kwargs)
    assert isinstance(ref, Exception)
    assert type(fast) is type(ref) and str(fast) == str(ref)


# --------------------------------------------------------------------------- hamming


@settings(max_examples=100, deadline=None)
@given(
    n=st.integers(1, 40),
    n_labels=st.integers(1, 6),
    seed=st.integers(0, 2**32 - 1),
    p=st.sampled_from([0.0, 0.3, 1.0]),
    dtype=st.sampled_from([bool, np.int64, np.float64, np.uint8]),
    weight_kind=st.sampled_from([None, "float", "zeros", "int"]),
    one_d=st.booleans(),
)
def test_hamming_random_fast(n, n_labels, seed, p, dtype, weight_kind, one_d):
    rng = np.random.default_rng(seed)
    yt = indicators(rng, n, n_labels, p, dtype)
    yp = indicators(rng, n, n_labels, 0.3, dtype)
    if one_d:  # binary targets: 1-D, or a 1-D / one-column mix
        yt, yp = yt[:, 0], yp[:, :1] if n_labels == 1 else yp[:, 0]
    sw = weights(rng, n, weight_kind)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(validation, "reference", _refuse)
        compare("hamming_loss", yt, yp, sample_weight=sw)


def test_hamming_return_type_fast(fast_only):
    yt, yp = np.eye(3), np.ones((3, 3))
    assert type(fm.hamming_loss(yt, yp)) is float
    assert type(fm.hamming_loss(yt, yp, sample_weight=[1, 2, 3])) is np.float64
    assert type(fm.hamming_loss([0, 1], [1, 1], sample_weight=[1, 2])) is float
    assert fm.hamming_loss(yt, yp) == pytest.approx(2 / 3, rel=1e-15)


def test_hamming_large_fast(fast_only):
    rng = np.random.default_rng(12)
    yt = indicators(rng, 20_000, 9, 0.1)
    yp = indicators(rng, 20_000, 9, 0.1)
    sw = weights(rng, 20_000, "zeros")
    compare("hamming_loss", yt, yp)
    compare("hamming_loss", yt, yp, sample_weight=sw)
    compare("hamming_loss", yt[:, 3].astype(float), yp[:, 3], sample_weight=sw)


def test_hamming_float32_weights_delegated(reference_calls):
    # scikit-learn computes in float32 here and returns np.float32: left to it
    compare("hamming_loss", np.eye(3), np.ones((3, 3)), sample_weight=np.ones(3, np.float32) / 3)
    assert reference_calls == ["hamming_loss"]


# --------------------------------------------------------------------------- batch hamming


@pytest.mark.parametrize("shape", [(1, 5, 3), (4, 30, 2), (3, 3000, 5), (2, 7, 1), (5, 1, 4)])
@pytest.mark.parametrize("weight_kind", [None, "zeros", "int"])
def test_batch_hamming_matches_loop(shape, weight_kind):
    rng = np.random.default_rng(13)
    n_models, n, n_labels = shape
    yt = indicators(rng, n, n_labels)
    yp = (rng.random(shape) < 0.3).astype(np.int64)
    sw = weights(rng, n, weight_kind)
    out = fm.batch_hamming_loss(yt, yp, sample_weight=sw)
    expected = [skm.hamming_loss(yt, yp[b], sample_weight=sw) for b in range(n_models)]
    assert out.dtype == np.float64 and out.shape == (n_models,)
    np.testing.assert_allclose(out, expected, **TOL)


def test_batch_hamming_forms():
    rng = np.random.default_rng(14)
    yt = indicators(rng, 20, 4)
    yp = (rng.random((3, 20, 4)) < 0.4).astype(bool)
    expected = [skm.hamming_loss(yt, yp[b]) for b in range(3)]
    for a, b in [
        (yt.tolist(), yp.tolist()),
        (sp.csr_array(yt), yp.astype(float)),
        (pd.DataFrame(yt), list(yp)),
        (np.asfortranarray(yt), np.asfortranarray(yp)),
    ]:
        np.testing.assert_allclose(fm.batch_hamming_loss(a, b), expected, **TOL)
    # binary targets: y_true (n,), y_pred (B, n)
    out = fm.batch_hamming_loss(yt[:, 0], yp[:, :, 0], sample_weight=np.arange(20))
    expected = [
        skm.hamming_loss(yt[:, 0], yp[b, :, 0], sample_weight=np.arange(20)) for b in range(3)
    ]
    np.testing.assert_allclose(out, expected, **TOL)
    assert fm.batch_hamming_loss(yt, np.zeros((0, 20, 4))).shape == (0,)


@pytest.mark.parametrize(
    "y_true, y_pred, kwargs, match",
    [
        (np.eye(3), np.ones((2, 3, 4)), {}, "y_pred must have shape"),
        (np.eye(3), np.ones((3, 3)), {}, "y_pred must have shape"),
        (np.eye(3), np.ones((2, 4, 3)), {}, "y_pred must have shape"),
        (np.ones((2, 2, 2)), np.ones((1, 2, 2, 2)), {}, "y_true must be 1-D"),
        (np.eye(3) * 2, np.ones((2, 3, 3)), {}, "y_true must contain only the values 0 and 1"),
        (np.eye(3), np.full((2, 3, 3), 0.5), {}, "y_pred must contain only the values 0 and 1"),
        (np.eye(3), np.full((2, 3, 3), np.nan), {}, "y_pred must contain only"),
        (np.zeros((0, 3)), np.zeros((2, 0, 3)), {}, "empty"),
        (np.zeros((3, 0)), np.zeros((2, 3, 0)), {}, "empty"),
        ([], np.zeros((2, 0)), {}, "empty"),
        (["a", "b"], np.zeros((2, 2)), {}, "y_true must be an array-like of 0/1"),
        (np.eye(3), np.ones((2, 3, 3)), {"sample_weight": [1, 2]}, "sample_weight must have"),
        (np.eye(3), np.ones((2, 3, 3)), {"sample_weight": [1, -2, 1]}, "non-negative"),
        (np.eye(3), np.ones((2, 3, 3)), {"sample_weight": [1, np.inf, 1]}, "finite"),
        (np.eye(3), np.ones((2, 3, 3)), {"sample_weight": [0, 0, 0]}, "at least one non-zero"),
        (np.eye(3), np.ones((2, 3, 3)), {"sample_weight": ["a", "b", "c"]}, "array of numbers"),
        (np.eye(3), sp.csr_array(np.ones((3, 3))), {}, "dense"),
    ],
)
def test_batch_hamming_errors(y_true, y_pred, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fm.batch_hamming_loss(y_true, y_pred, **kwargs)


# --------------------------------------------------------------------------- kernels vs twins


def test_kernels_match_numpy_twins():
    rng = np.random.default_rng(15)
    for n, n_labels in [(1, 1), (5, 3), (2049, 4), (6000, 40), (300, 2500), (703, 14), (9, 8)]:
        yt = indicators(rng, n, n_labels, dtype=np.uint8)
        yp = indicators(rng, n, n_labels, dtype=np.uint8)
        w = rng.random(n)
        w[::3] = 0
        for weighted in (False, True):
            ww = w if weighted else np.ones(n)
            counts = kern.label_counts(yt, yp, w if weighted else np.ones(1), weighted)
            twin = np.stack(
                [
                    ((yt & yp) * ww[:, None]).sum(0),
                    (yp * ww[:, None]).sum(0),
                    (yt * ww[:, None]).sum(0),
                ]
            )
            np.testing.assert_allclose(counts, twin, rtol=1e-12)
            ham = kern.hamming_numerators(
                yt, np.stack([yp, yt, 1 - yt]), w if weighted else np.ones(1), weighted
            )
            np.testing.assert_allclose(
                ham, [((yt != yp).sum(1) * ww).sum(), 0.0, ww.sum() * n_labels], rtol=1e-12
            )
            stats = kern.sample_stats(yt, yp, w if weighted else np.ones(1), weighted, 4.0, 5.0)
            tp = (yt & yp).sum(1) * ww
            pred = yp.sum(1) * ww
            true = yt.sum(1) * ww
            for m, (num, den) in enumerate([(tp, pred), (tp, true), (5 * tp, 4 * true + pred)]):
                ok = den != 0
                v = np.divide(num, den, out=np.zeros(n), where=ok)
                twin = [
                    (v * ww)[ok].sum(),
                    v[ok].sum(),
                    ww[ok].sum(),
                    ok.sum(),
                    ww[~ok].sum(),
                    (~ok).sum(),
                ]
                np.testing.assert_allclose(stats[m], twin, rtol=1e-12, atol=1e-12)


def test_in_place_xor_kernel_matches_numpy(threads):
    """The one-pass check-and-count over uint8 / int64 / float64 inputs equals NumPy's count,
    across block boundaries and for every thread count, and flags any value not 0 or 1."""
    rng = np.random.default_rng(16)
    n = 3 * 131072 + 5  # several blocks, a partial last one
    a = indicators(rng, 1, n, dtype=np.uint8)[0]
    rows = indicators(rng, 3, n, dtype=np.uint8)
    expected = (rows != a).sum(axis=1)
    forms = {
        "u8": lambda x: x,
        "i8": lambda x: x.astype(np.int64),
        "f8": lambda x: x.astype(np.float64),
        "-0.0": lambda x: np.where(x == 1, 1.0, -0.0),
    }
    for fa in ("u8", "i8", "f8", "-0.0"):
        for fb in ("i8", "f8", "-0.0"):
            for n_threads in (1, 3):
                threads(n_threads)
                got = kern.xor_counts_wide(forms[fa](a), forms[fb](rows))
                np.testing.assert_array_equal(got, expected)
    for bad in (2, -1, 0.5, np.nan, np.inf, 1 + 2**-52, 5e-324):
        for dtype in (np.int64, np.float64):
            if dtype is np.int64 and not float(bad).is_integer():
                continue
            b = rows.astype(dtype)
            b[1, n - 1] = bad
            got = kern.xor_counts_wide(a, b)
            assert got[1] == -1 and got[0] == expected[0] and got[2] == expected[2]
            wide_a = a.astype(dtype)
            wide_a[7] = bad
            assert (kern.xor_counts_wide(wide_a, rows.astype(np.int64)) == -1).all()


@pytest.mark.parametrize("dtypes", [(np.int64, np.float64), (bool, np.int64), (np.float64, bool)])
@pytest.mark.parametrize("order", ["C", "F", "CF"])
@pytest.mark.parametrize("shape", [(300_001, 3), (9, 1), (11,)])
def test_hamming_in_place_path_matches_sklearn(fast_only, dtypes, order, shape):
    rng = np.random.default_rng(17)
    yt = (rng.random(shape) < 0.3).astype(dtypes[0])
    yp = (rng.random(shape) < 0.4).astype(dtypes[1])
    yt = np.asfortranarray(yt) if order in ("F", "CF") else yt
    yp = np.asfortranarray(yp) if order == "F" else yp
    compare("hamming_loss", yt, yp)
    if yt.dtype == np.float64:
        yt[yt == 0] = -0.0  # negative zero is a 0 label
        compare("hamming_loss", yt, yp)
    batch = np.stack([yp, 1 - yp, yt.astype(yp.dtype)])
    np.testing.assert_array_equal(
        fm.batch_hamming_loss(yt, batch), [skm.hamming_loss(yt, q) for q in batch]
    )


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("bad", [2, -1, 0.5, np.nan])
def test_hamming_in_place_path_other_values_like_sklearn(bad):
    """Values other than 0 / 1 leave the one-pass path: the result or error is the
    reference's own (some such matrices are still label indicators to scikit-learn)."""
    yt = np.zeros((6, 3))
    yp = np.ones((6, 3))
    yp[4, 2] = bad
    for a, b in ((yt, yp), (yp, yt)):
        try:
            expected = skm.hamming_loss(a, b)
        except ValueError as exc:
            with pytest.raises(ValueError, match=re.escape(str(exc))):
                fm.hamming_loss(a, b)
        else:
            assert fm.hamming_loss(a, b) == expected
    with pytest.raises(ValueError, match="y_pred must contain only the values 0 and 1"):
        fm.batch_hamming_loss(yt, np.stack([yt, yp]))


@pytest.mark.parametrize("n, n_labels", [(1, 2), (7, 3), (700, 14), (3000, 9), (300, 2001)])
def test_in_place_sample_stats_equal_the_narrowed_ones(threads, n, n_labels):
    """Per-row statistics read from int64 / float64 / bool matrices in place equal those of
    the same matrices narrowed to uint8, bit for bit, on any thread count; a value other
    than 0 / 1 anywhere gives None."""
    rng = np.random.default_rng(n + n_labels)
    yt = indicators(rng, n, n_labels, 0.2, dtype=np.uint8)
    yp = indicators(rng, n, n_labels, 0.3, dtype=np.uint8)
    w = rng.random(n)
    forms = [np.uint8, np.int64, np.float64]
    for weighted in (False, True):
        ww = w if weighted else np.ones(1)
        want = kern.sample_stats(yt, yp, ww, weighted, 0.25, 1.25)
        for ft, fp in itertools.product(forms, forms):
            for n_threads in (1, 3):
                threads(n_threads)
                got = kern.sample_stats_wide(yt.astype(ft), yp.astype(fp), ww, weighted,
                                             0.25, 1.25)
                np.testing.assert_array_equal(got, want)
    for bad in (2, -1, 0.5, np.nan):
        wide = yp.astype(np.float64)
        wide[n // 2, n_labels - 1] = bad
        assert kern.sample_stats_wide(yt, wide, np.ones(1), False, 1.0, 2.0) is None
        assert kern.sample_stats_wide(wide, yt.astype(np.int64), np.ones(1), False, 1.0,
                                      2.0) is None


@pytest.mark.parametrize("n, n_labels", [(1, 2), (3, 3), (700, 14), (300_001, 2), (300, 2001)])
def test_in_place_label_counts_equal_the_narrowed_ones(threads, n, n_labels):
    """Unweighted per-label counts read from int64 / float64 / bool matrices in place equal
    those of the narrowed matrices (exact integers; 16-bit slots flushed every 65,535 pieces),
    on any thread count; a value other than 0 / 1 anywhere gives None."""
    rng = np.random.default_rng(n * 7 + n_labels)
    yt = indicators(rng, n, n_labels, 0.6, dtype=np.uint8)
    yp = indicators(rng, n, n_labels, 0.7, dtype=np.uint8)
    want = kern.label_counts(yt, yp, np.ones(1), False)
    forms = [np.uint8, np.int64, np.float64]
    for ft, fp in itertools.product(forms, forms):
        for n_threads in (1, 3):
            threads(n_threads)
            got = kern.label_counts_wide(yt.astype(ft), yp.astype(fp))
            np.testing.assert_array_equal(got, want)
    for bad in (2, -1, 0.5, np.nan):
        wide = yp.astype(np.float64)
        wide[n - 1, 0] = bad
        assert kern.label_counts_wide(yt, wide) is None
        assert kern.label_counts_wide(wide, yt.astype(np.int64)) is None


@pytest.mark.parametrize("average", AVERAGES)
def test_in_place_counts_path_matches_sklearn(fast_only, average):
    rng = np.random.default_rng(18)
    for dt, dp in [(np.int64, np.float64), (bool, np.int64), (np.float64, bool)]:
        yt = indicators(rng, 900, 6, 0.3).astype(dt)
        yp = indicators(rng, 900, 6, 0.4).astype(dp)
        for kwargs in ({}, {"sample_weight": rng.random(900)}, {"labels": [4, 1]},
                       {"zero_division": 1.0}):
            compare("precision_recall_fscore_support", yt, yp, average=average, **kwargs)
            compare("fbeta_score", yt, yp, beta=0.5, average=average, **kwargs)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("bad", [2, -1, 0.5, np.nan])
def test_in_place_counts_other_values_like_sklearn(bad):
    yt = np.zeros((6, 3))
    yp = np.ones((6, 3))
    yp[4, 2] = bad
    for a, b in ((yt, yp), (yp, yt)):
        for average in ("samples", "micro"):
            try:
                expected = skm.f1_score(a, b, average=average)
            except ValueError as exc:
                with pytest.raises(ValueError, match=re.escape(str(exc))):
                    fm.f1_score(a, b, average=average)
            else:
                assert fm.f1_score(a, b, average=average) == pytest.approx(expected, rel=1e-12)


# ------------------------------------------------------------- weights at extreme scales


@pytest.mark.parametrize("scale", [1e-300, 1e-200, 1e-315, 1e150, 1e300, "mixed"])
def test_weight_scales_match_sklearn_fast(fast_only, scale):
    """The counting and ranking kernels only add weights (no products of sums): they agree
    with scikit-learn's own arithmetic at any scale, subnormal weights included."""
    rng = np.random.default_rng(31)
    n, n_labels = 50, 4
    y = indicators(rng, n, n_labels, p=0.4)
    p = indicators(rng, n, n_labels, p=0.5)
    s = rng.random((n, n_labels))
    w = rng.random(n) + 0.05
    w = w * 10.0 ** rng.integers(-150, 150, n) if scale == "mixed" else w * scale
    compare("hamming_loss", y, p, sample_weight=w)
    compare("hamming_loss", y[:, 0], p[:, 0], sample_weight=w)
    for average in AVERAGES:
        for name in ("precision_recall_fscore_support", *PRF_FUNCS):
            compare(name, y, p, average=average, sample_weight=w)
    for name in ("label_ranking_average_precision_score", "coverage_error",
                 "label_ranking_loss"):
        compare(name, y, s, sample_weight=w)
    preds = np.stack([p, 1 - p])
    np.testing.assert_allclose(
        fm.batch_hamming_loss(y, preds, sample_weight=w),
        [skm.hamming_loss(y, q, sample_weight=w) for q in preds], **TOL,
    )


def test_zero_and_negative_weights_like_sklearn():
    rng = np.random.default_rng(32)
    y = indicators(rng, 20, 3, p=0.4)
    p = indicators(rng, 20, 3, p=0.5)
    s = rng.random((20, 3))
    for w in (np.zeros(20), -np.ones(20), np.where(np.arange(20) < 10, -1.0, 2.0)):
        compare("hamming_loss", y, p, sample_weight=w)
        for name in PRF_FUNCS:
            compare(name, y, p, average="macro", sample_weight=w)
        for name in ("label_ranking_average_precision_score", "coverage_error",
                     "label_ranking_loss"):
            compare(name, y, s, sample_weight=w)
        with pytest.raises(ValueError):
            fm.batch_hamming_loss(y, p[np.newaxis], sample_weight=w)


# ------------------------------------------------- fbeta_score, multilabel_confusion_matrix


def _same(got, want):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape and got.dtype.kind == want.dtype.kind, (got, want)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_multilabel_confusion_matrix_matches_sklearn(seed, fast_only):
    import sklearn.metrics as skm

    rng = np.random.default_rng(seed)
    n, k = rng.integers(1, 300), rng.integers(2, 9)
    yt = (rng.random((n, k)) < 0.3).astype(np.int64)
    yp = (rng.random((n, k)) < 0.3).astype(np.int64)
    wf = rng.random(n)
    wi = rng.integers(0, 4, n)
    labels = rng.permutation(k)[: max(1, k // 2)]
    for kw in ({}, {"samplewise": True}, {"sample_weight": wf},
               {"sample_weight": wf, "samplewise": True}, {"sample_weight": wi},
               {"sample_weight": wi, "samplewise": True}, {"labels": labels},
               {"labels": labels, "sample_weight": wf}):
        _same(fm.multilabel_confusion_matrix(yt, yp, **kw),
              skm.multilabel_confusion_matrix(yt, yp, **kw))
    sp = pytest.importorskip("scipy.sparse")
    _same(fm.multilabel_confusion_matrix(sp.csr_matrix(yt), sp.csr_matrix(yp)),
          skm.multilabel_confusion_matrix(sp.csr_matrix(yt), sp.csr_matrix(yp)))


def test_multilabel_confusion_matrix_other_input_goes_to_sklearn(reference_calls):
    import sklearn.metrics as skm

    y, p = ["a", "b", "a"], ["a", "a", "b"]
    _same(fm.multilabel_confusion_matrix(y, p), skm.multilabel_confusion_matrix(y, p))
    with pytest.raises(ValueError, match="labels"):
        fm.multilabel_confusion_matrix(np.eye(3), np.eye(3), labels=[0, 5])
    assert "multilabel_confusion_matrix" in reference_calls


@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted", "samples"])
@pytest.mark.parametrize("beta", [0.0, 0.5, 2.0, np.inf])
def test_fbeta_score_matches_sklearn(average, beta, fast_only):
    import sklearn.metrics as skm

    rng = np.random.default_rng(7)
    yt = (rng.random((200, 6)) < 0.3).astype(np.int64)
    yp = (rng.random((200, 6)) < 0.3).astype(np.int64)
    yt[:, 5] = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = fm.fbeta_score(yt, yp, beta=beta, average=average)
        want = skm.fbeta_score(yt, yp, beta=beta, average=average)
    _same(got, want)


def test_fbeta_score_bad_beta_is_sklearns_error():
    import sklearn.metrics as skm

    yt = np.array([[1, 0], [0, 1]])
    with pytest.raises(Exception) as ours:
        fm.fbeta_score(yt, yt, beta=-1, average="macro")
    with pytest.raises(Exception) as theirs:
        skm.fbeta_score(yt, yt, beta=-1, average="macro")
    assert type(ours.value) is type(theirs.value)


@pytest.mark.parametrize("seed", range(3))
def test_classification_report_matches_sklearn(seed, fast_only):
    import sklearn.metrics as skm

    rng = np.random.default_rng(seed)
    yt = (rng.random((150, 5)) < 0.3).astype(np.int64)
    yp = (rng.random((150, 5)) < 0.3).astype(np.int64)
    yt[:, 4] = 0
    yp[:, 4] = 0
    w = rng.random(150)
    names = ["alpha", "b", "gamma-ray", "d", "e"]
    for kw in ({}, {"digits": 4}, {"target_names": names}, {"sample_weight": w},
               {"output_dict": True}, {"labels": [3, 1], "target_names": ["x", "y"]},
               {"zero_division": 1}, {"output_dict": True, "sample_weight": w}):
        with warnings.catch_warnings(record=True) as ours:
            warnings.simplefilter("always")
            got = fm.classification_report(yt, yp, **kw)
        with warnings.catch_warnings(record=True) as theirs:
            warnings.simplefilter("always")
            want = skm.classification_report(yt, yp, **kw)
        if isinstance(want, dict):
            assert got.keys() == want.keys()
            for key in want:
                for col in want[key]:
                    assert got[key][col] == pytest.approx(want[key][col], rel=1e-12)
        else:
            assert got == want
        assert sorted(str(w.message) for w in ours) == sorted(str(w.message) for w in theirs)


def test_classification_report_other_input_and_errors(reference_calls):
    import sklearn.metrics as skm

    assert fm.classification_report([0, 1, 1], [0, 1, 0]) == skm.classification_report(
        [0, 1, 1], [0, 1, 0])
    assert "classification_report" in reference_calls
    with pytest.raises(ValueError, match="target_names"):
        fm.classification_report(np.eye(3, dtype=int), np.eye(3, dtype=int),
                                 target_names=["a"])


def test_tensor_like_inputs_take_the_fast_path(tensor_like, fast_only):
    rng = np.random.default_rng(5)
    y = (rng.random((40, 3)) < 0.5).astype(np.int64)
    p = (rng.random((40, 3)) < 0.5).astype(np.int64)
    batch = (rng.random((4, 40, 3)) < 0.5).astype(np.int64)
    assert fm.hamming_loss(tensor_like(y), tensor_like(p)) == skm.hamming_loss(y, p)
    assert fm.f1_score(tensor_like(y), tensor_like(p), average="macro") == pytest.approx(
        skm.f1_score(y, p, average="macro"), rel=1e-12
    )
    np.testing.assert_array_equal(
        fm.batch_hamming_loss(tensor_like(y), tensor_like(batch)),
        [skm.hamming_loss(y, b) for b in batch],
    )
    np.testing.assert_array_equal(
        fm.batch_hamming_loss(y.astype(">i8"), batch.astype(">f8")),
        [skm.hamming_loss(y, b) for b in batch],
    )


def test_tensor_like_sample_weights(tensor_like, fast_only):
    rng = np.random.default_rng(6)
    y = (rng.random((30, 3)) < 0.5).astype(np.int64)
    p = (rng.random((30, 3)) < 0.5).astype(np.int64)
    w = rng.integers(0, 5, 30)
    for samplewise in (False, True):
        got = fm.multilabel_confusion_matrix(tensor_like(y), tensor_like(p),
                                             sample_weight=tensor_like(w), samplewise=samplewise)
        want = skm.multilabel_confusion_matrix(y, p, sample_weight=w, samplewise=samplewise)
        np.testing.assert_array_equal(got, want)
        assert got.dtype == want.dtype
    np.testing.assert_array_equal(
        fm.batch_hamming_loss(tensor_like(y), tensor_like(p[None]), sample_weight=tensor_like(w)),
        [skm.hamming_loss(y, p, sample_weight=w)],
    )
