"""The shared input layer: conversions, the one-pass 0/1 narrowing kernel, fallbacks."""

import warnings

import numpy as np
import pandas as pd
import pytest

from fastml._validation import (
    Unsupported,
    as_array,
    binary_indicator,
    binary_target,
    finite_scores,
    reference,
    sample_weights,
)
from fastml.kernels.cpu import validation as kern


def test_narrow_kernel():
    src = np.array([0, 1, 1, 0, 0], dtype=np.int64)
    out = np.empty(5, np.uint8)
    assert kern.narrow_indicator(src.view(np.uint64), out, False)
    np.testing.assert_array_equal(out, src)
    for bad in (2, -1, 2**40):
        s = src.copy()
        s[3] = bad
        assert not kern.narrow_indicator(s.view(np.uint64), out, False)
    f = np.array([0.0, -0.0, 1.0, 1.0, 0.0] * 30000)  # several parallel chunks
    out = np.empty(f.size, np.uint8)
    assert kern.narrow_indicator(f.view(np.uint64), out, True)
    np.testing.assert_array_equal(out, f)
    for bad in (np.nan, np.inf, -1.0, 0.5, 1 + 2**-52, 5e-324, 2.0):
        g = f.copy()
        g[123_456] = bad
        assert not kern.narrow_indicator(g.view(np.uint64), out, True)


@pytest.mark.parametrize("dtype", [bool, np.int8, np.uint8, np.int16, np.int32, np.int64,
                                   np.uint64, np.float32, np.float64])
@pytest.mark.parametrize("order", ["C", "F", "strided"])
def test_binary_indicator_all_dtypes_and_layouts(dtype, order):
    rng = np.random.default_rng(0)
    y = (rng.random((40, 6)) < 0.3).astype(dtype)
    y = {"C": y, "F": np.asfortranarray(y), "strided": y[::2, ::2]}[order]
    out = binary_indicator(y)
    assert out.dtype == np.uint8 and out.shape == y.shape
    np.testing.assert_array_equal(out, y.astype(np.uint8))
    if dtype is not bool:
        bad = y.copy()
        bad[1, 1] = 2
        with pytest.raises(Unsupported):
            binary_indicator(bad)


def test_finite_scores_no_overflow_warning_and_exactness():
    huge = np.array([1e308, 1e308, -1e308])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert finite_scores(huge) is huge
    with pytest.raises(Unsupported):
        finite_scores(np.array([1.0, np.nan]))
    with pytest.raises(Unsupported):
        finite_scores(np.array([2**60, 1], dtype=np.int64))
    assert finite_scores(np.array([2**52, 1], dtype=np.int64)).dtype == np.float64
    assert finite_scores(np.array([1, 2], dtype=np.float16)).dtype == np.float32


def test_as_array_refuses_pandas_extension_dtypes():
    frame = pd.DataFrame({"a": pd.array([1, 0], dtype="Int64"), "b": [0, 1]})
    with pytest.raises(Unsupported):
        as_array(frame)
    with pytest.raises(Unsupported):
        as_array(pd.Series([1, 0], dtype="category"))
    sparse = pd.DataFrame({"a": pd.arrays.SparseArray([1, 0])})
    with pytest.raises(Unsupported):
        as_array(sparse)
    np.testing.assert_array_equal(as_array(pd.DataFrame({"a": [1, 0]})), [[1], [0]])


def test_sample_weights_rules():
    assert sample_weights(None, 3) is None
    np.testing.assert_array_equal(sample_weights([1, 0, 2], 3), [1.0, 0.0, 2.0])
    for bad in ([0, 0, 0], [1, -1, 1], [1, np.nan, 1], [1, 1], [[1, 1, 1]]):
        with pytest.raises(Unsupported):
            sample_weights(bad, 3)


def test_sample_weights_two_contracts():
    # drop-ins hand what they do not cover to the reference (Unsupported); fastml-only
    # functions take any shape of n numbers and all-zero weights, and refuse the rest with
    # a message of the right type
    for errors in ("fallback", "raise"):
        assert sample_weights(None, 3, errors=errors) is None
        got = sample_weights(pd.Series([1, 0, 2], dtype="int8"), 3, errors=errors)
        assert got.dtype == np.float64 and got.flags.c_contiguous
        np.testing.assert_array_equal(got, [1.0, 0.0, 2.0])
    for ok in ([0, 0, 0], [[1], [0], [2]], pd.Series([1, 0, 2], dtype="Int64")):
        with pytest.raises(Unsupported):
            sample_weights(ok, 3)
        assert sample_weights(ok, 3, errors="raise").shape == (3,)
    for bad, error, match in (
        (["a", "b", "c"], TypeError, "sample_weight must be numeric, got dtype <U1"),
        ([[1, 2], [3]], TypeError, "sample_weight must be array-like of numbers"),
        ([1, 2], ValueError, r"one value per sample \(3\), got 2"),
        ([1, -1, 1], ValueError, "finite and >= 0"),
        ([1, np.inf, 1], ValueError, "finite and >= 0"),
        (pd.Series([1, None, 2], dtype="Int64"), ValueError, "missing values"),
    ):
        with pytest.raises(Unsupported):
            sample_weights(bad, 3)
        with pytest.raises(error, match=match):
            sample_weights(bad, 3, errors="raise")
    with pytest.raises(ValueError, match="errors must be"):
        sample_weights([1, 2, 3], 3, errors="ignore")


def test_label_matrix_rules():
    import scipy.sparse as sp

    from fastml._validation import (
        LOSS_LABEL_RULES,
        LOSS_TARGET_RULES,
        SPLIT_RULES,
        label_dtype,
        label_matrix,
    )

    y = np.array([[0, 1], [1, 0], [1, 1]])
    frame = pd.DataFrame(y, columns=["a", "b"], dtype="Int64")
    lab = label_matrix(frame)
    assert lab.y.dtype == np.uint8 and lab.y.flags.c_contiguous and lab.kind == "frame"
    assert lab.names == ["a", "b"] and lab.source is frame
    np.testing.assert_array_equal(lab.y, y)
    # sparse input: densified by default, kept as canonical CSR for the splits
    stored = sp.coo_matrix(([1, 0, 1, 1], ([0, 1, 1, 2], [1, 1, 0, 0])), shape=(3, 2))
    lab = label_matrix(stored)
    assert lab.kind == "sparse" and lab.csr is None
    np.testing.assert_array_equal(lab.y, [[0, 1], [1, 0], [1, 0]])
    lab = label_matrix(stored, "y", SPLIT_RULES)
    assert lab.y is None and lab.csr.nnz == 3 and lab.csr.has_canonical_format
    # a 1-D input is one label where the rules say so
    with pytest.raises(ValueError, match="reshape"):
        label_matrix([0, 1, 1])
    assert label_matrix([0, 1, 1], "y", SPLIT_RULES).y.shape == (3, 1)
    assert label_matrix([0, 1, 1], "y_true", LOSS_LABEL_RULES).y.shape == (3, 1)
    # soft labels are kept (float32 stays float32), checked to lie in [0, 1] in a matrix
    soft = np.array([[0.25, 1.0]], np.float32)
    assert label_matrix(soft, "y_true", LOSS_LABEL_RULES).y.dtype == np.float32
    with pytest.raises(ValueError, match="only 0 and 1"):
        label_matrix(soft)
    with pytest.raises(ValueError, match=r"Y must lie in \[0, 1\]"):
        label_matrix(soft * 2, "y_true", LOSS_LABEL_RULES)
    assert label_matrix(soft * 2, "y_true", LOSS_TARGET_RULES).y.shape == (1, 2)
    assert label_dtype(np.ones((2, 2, 2), bool)).dtype == np.uint8
    # the exception type of a bad dtype is the rules' (scikit-learn's ValueError for splits)
    with pytest.raises(TypeError, match="numbers or booleans"):
        label_matrix(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="multilabel-indicator.*got dtype <U1"):
        label_matrix(np.array([["a", "b"]]), "y", SPLIT_RULES)


def test_binary_target_encodings():
    np.testing.assert_array_equal(binary_target(["b", "a", "b"]), [1, 0, 1])
    np.testing.assert_array_equal(binary_target([-1, 1, 1], pos_label=-1), [1, 0, 0])
    np.testing.assert_array_equal(binary_target([3.0, 3.0]), [0, 0])
    for bad, pos in (([0, 1, 2], None), ([0.5, 1.5], None), (["a", "b"], "c"), (["a", "b"], 1),
                     (np.array([1, "a"], dtype=object), None), ([[0, 1]], None), ([], None)):
        with pytest.raises(Unsupported):
            binary_target(bad, pos)


def test_reference_survives_swapping_fastml_into_sklearn(monkeypatch):
    import sklearn.metrics

    from fastml.metrics import average_precision_score

    original = sklearn.metrics.average_precision_score
    monkeypatch.setattr(sklearn.metrics, "average_precision_score", average_precision_score)
    import fastml._validation as validation

    monkeypatch.setattr(validation, "_REFERENCES", {})
    assert reference("average_precision_score") is original


def test_fastml_only_errors_say_what_was_wrong():
    import fastml.metrics as fm

    with pytest.raises(ValueError, match=r"same shape, got \(3, 2\) and \(4, 2\)"):
        fm.multilabel_report(np.zeros((3, 2)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="only 0 and 1"):
        fm.best_thresholds(np.array([[0, 2], [1, 0]]), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="finite"):
        fm.best_thresholds(np.array([[0, 1], [1, 0]]), np.array([[0.1, np.nan], [0.2, 0.3]]))


def test_tensor_like_inputs_are_arrays_not_pandas_objects(tensor_like):
    from fastml._validation import host_array, plain_array

    a = np.arange(12.0).reshape(3, 4)
    t = tensor_like(a)
    for convert in (as_array, host_array, lambda x: plain_array(x, "x")):
        out = convert(t)
        assert out.shape == a.shape and out.dtype == a.dtype
        assert np.shares_memory(out, a)  # read without a copy


def test_big_endian_becomes_native_with_the_same_values():
    from fastml._validation import host_array

    for dtype in (">f8", ">f4", ">i8", ">u2", ">i4"):
        a = np.array([[0, 1], [1, 0]], dtype=dtype)
        out = host_array(a)
        assert out.dtype.isnative and out.dtype == a.dtype.newbyteorder("=")
        np.testing.assert_array_equal(out, a)
    s = np.array([0.25, 1e300, -3.5], dtype=">f8")
    assert finite_scores(as_array(s)).dtype == np.float64


def test_one_conversion_for_nullable_frames():
    from fastml._validation import host_array, plain_array

    frame = pd.DataFrame({"a": pd.array([1, 0], dtype="Int64"),
                          "b": pd.array([True, False], dtype="boolean"),
                          "c": pd.array([0.5, 1.5], dtype="Float64")})
    out = plain_array(frame, "Y")
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [[1, 1, 0.5], [0, 0, 1.5]])
    assert plain_array(frame["a"], "y").dtype == np.int64
    assert plain_array(frame["b"], "y").dtype == np.bool_
    with pytest.raises(Unsupported):  # drop-ins leave them to their reference
        host_array(frame)
    with pytest.raises(ValueError, match="missing values"):
        plain_array(pd.DataFrame({"a": pd.array([1, None], dtype="Int64")}), "Y")
    with pytest.raises(TypeError, match="None"):
        plain_array(None, "Y")
    with pytest.raises(ValueError, match="could not be converted"):
        plain_array([[0, 1], [1]], "Y")
    with pytest.raises(TypeError, match="could not be converted"):
        plain_array([[0, 1], [1]], "Y", error=TypeError)


def test_warnings_point_at_the_caller():
    import fastml.losses as fl
    import fastml.metrics as fm
    from fastml.split import MultilabelStratifiedKFold

    y = np.array([[0, 1], [0, 1], [0, 0], [0, 1]])
    p = np.array([[0, 1], [0, 0], [0, 1], [0, 0]])
    s = np.random.default_rng(0).random((4, 2))
    calls = [
        lambda: fm.precision_score(y, p, average=None),
        lambda: fm.precision_score(y, p, average="samples"),
        lambda: fm.recall_score(y, p, average="macro"),
        lambda: fm.f1_score(y, p, average="macro", pos_label=2),
        lambda: fm.fbeta_score(y, p, beta=2.0, average=None),
        lambda: fm.precision_recall_fscore_support(y, p),
        lambda: fm.roc_auc_score(y, s, average=None),
        lambda: fm.roc_auc_score(y, s, average="macro"),
        lambda: fm.roc_auc_score(y[:, 0], s[:, 0]),
        lambda: fl.label_weights(y),
        lambda: fl.AveragePrecisionMetric(name="ap"),
        lambda: list(MultilabelStratifiedKFold(n_splits=2).split(s, y, groups=[0, 0, 1, 1])),
        lambda: list(MultilabelStratifiedKFold(n_splits=4).split(s, y)),
    ]
    for call in calls:
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            call()
        assert rec, calls.index(call)
        for r in rec:
            assert r.filename == __file__, (str(r.message), r.filename, r.lineno)


def test_find_stack_level_counts_fastml_frames_only():
    from fastml._validation import find_stack_level

    assert find_stack_level() == 1  # called from here: this frame is the caller's


def test_array_interface_only_objects_are_read_without_a_copy():
    from fastml._validation import host_array

    a = np.arange(6, dtype=np.int64).reshape(2, 3) % 2

    class Exporter:
        dtype = "exporter.int64"  # not a NumPy dtype, and an index method: not pandas

        def index(self):
            raise AssertionError

        @property
        def __array_interface__(self):
            return a.__array_interface__

    out = host_array(Exporter())
    assert np.shares_memory(out, a)
    np.testing.assert_array_equal(as_array(Exporter()), a)
