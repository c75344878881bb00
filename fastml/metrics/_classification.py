"""Counting metrics: Hamming loss and the precision / recall / F-beta family.

Accelerated input (everything else goes to scikit-learn unchanged):

- multi-label indicator targets: 2-D arrays (or lists, pandas frames, SciPy CSR/CSC/COO
  matrices holding only stored ones) of 0/1 values with bool, integer or float dtype, of
  one shape with at least two columns;
- for :func:`hamming_loss` also binary targets: 1-D (or one-column) 0/1 arrays;
- for the precision / recall / F family: ``average`` in None, "micro", "macro",
  "weighted", "samples"; ``labels`` None or column indices; any ``beta``,
  ``zero_division`` and ``warn_for`` scikit-learn accepts;
- non-negative finite sample weights, not all zero.

One kernel pass over both matrices gathers every count a call needs; the few per-label or
per-row divisions that follow use scikit-learn's own arithmetic, so results agree with it
to the last bits (weighted sums may differ in rounding, far below 1e-12 relative). Kernels
run in parallel on ``fastml.set_num_threads`` threads (``FASTML_NUM_THREADS``).
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from fastml._backend import is_cupy, is_dask, kernels
from fastml._validation import (
    Unsupported,
    as_array,
    binary_indicator,
    find_stack_level,
    is_option,
    plain_array,
    reference_fallback,
    require,
    sample_weights,
    warn_undefined,
)

__all__ = [
    "fbeta_score",
    "multilabel_confusion_matrix",
    "batch_hamming_loss",
    "f1_score",
    "hamming_loss",
    "precision_recall_fscore_support",
    "precision_score",
    "recall_score",
]

_AVERAGES = (None, "micro", "macro", "weighted", "samples")
_SPARSE_FORMATS = ("csr", "csc", "coo")
_NO_WEIGHTS = np.ones(1)
# Integer sample weights above this are left to scikit-learn (its integer products could
# overflow or lose exactness where float64 sums would not).
_MAX_INT_WEIGHT = 2**31


# --------------------------------------------------------------------------- inputs


def _is_sparse(x) -> bool:
    return type(x).__module__.startswith("scipy.sparse")


def _indicator(y) -> tuple[np.ndarray, bool]:
    """``y`` as a uint8 0/1 array (any layout) and whether it came as a sparse matrix."""
    if _is_sparse(y):
        # Only canonical matrices whose stored values are all one: scikit-learn counts
        # stored zeros as positives and reads duplicate entries before summing them.
        require(getattr(y, "format", None) in _SPARSE_FORMATS and y.ndim == 2)
        require(y.dtype.kind in "biuf" and y.dtype != np.float16)
        require(bool(y.has_canonical_format))
        require(bool(np.all(y.data == 1)))
        return y.astype(np.uint8).toarray(), True
    arr = as_array(y)
    # scikit-learn turns multi-label targets into SciPy sparse matrices, which reject float16.
    require(arr.dtype != np.float16)
    return binary_indicator(arr), False


def _kernel_ready(y: np.ndarray) -> np.ndarray:
    """C-contiguous, writeable uint8 (one compiled specialization per kernel)."""
    y = np.ascontiguousarray(y)
    if not y.flags.writeable:
        y = y.copy()
    return y


def _targets(y_true, y_pred, *, allow_binary: bool) -> tuple[np.ndarray, np.ndarray, bool]:
    """Both targets as C-contiguous uint8 (n, L) arrays and whether they are multi-label.

    Multi-label: two 2-D 0/1 arrays of one shape with at least two columns. Binary (only
    when ``allow_binary``): two dense 1-D or one-column 0/1 arrays of one length, returned
    as (n, 1).
    """
    if is_cupy(y_true) or is_cupy(y_pred):  # device data stay on the device
        from fastml.metrics import _gpu

        yt, sparse_t = _gpu.indicator(y_true, y_pred), False
        yp, sparse_p = _gpu.indicator(y_pred, y_true), False
    else:
        yt, sparse_t = _indicator(y_true)
        yp, sparse_p = _indicator(y_pred)
    multilabel = (yt.ndim == 2 and yt.shape[1] > 1) or (yp.ndim == 2 and yp.shape[1] > 1)
    if multilabel:
        require(yt.ndim == 2 and yt.shape == yp.shape)
    else:
        require(allow_binary and not (sparse_t or sparse_p))
        require(yt.ndim in (1, 2) and yp.ndim in (1, 2))
        yt, yp = yt.reshape(-1, 1), yp.reshape(-1, 1)
        require(yt.shape == yp.shape)
    require(yt.shape[0] >= 1)
    if not isinstance(yt, np.ndarray) or not isinstance(yp, np.ndarray):
        return yt, yp, multilabel  # device arrays, made C-contiguous by _gpu.indicator
    return _kernel_ready(yt), _kernel_ready(yp), multilabel


def _weights(sample_weight, n_samples: int, *, allow_narrow_float: bool) -> np.ndarray | None:
    """float64 sample weights, or None. Dtypes whose reference arithmetic differs go back."""
    if sample_weight is None:
        return None
    raw = as_array(_host(sample_weight))
    kind = raw.dtype.kind
    if kind == "f":
        allowed = (np.float64, np.float32, np.float16) if allow_narrow_float else (np.float64,)
        require(raw.dtype in allowed)
    else:
        require(kind in "iu")
        if raw.size:
            require(int(raw.max()) <= _MAX_INT_WEIGHT)
    return sample_weights(raw, n_samples)


def _signed_int(sample_weight) -> bool:
    if is_dask(sample_weight) or is_cupy(sample_weight):  # their dtype, without a copy
        return sample_weight.dtype.kind == "i"
    return as_array(sample_weight).dtype.kind == "i"


def _host(x):
    """Device data (row weights: one number per row) copied to the host; else unchanged."""
    if is_cupy(x):
        from fastml._gpu import to_host

        return to_host(x)
    return x


def _counting(y_true, y_pred):
    """(kernel module, device namespace or None) of the inputs' family."""
    if is_cupy(y_true) or is_cupy(y_pred):
        from fastml._gpu import gpu_kernels, namespace

        return gpu_kernels("metrics_counts"), namespace(y_true, y_pred)
    return kernels("metrics_counts"), None


def _columns(y, cols):
    if isinstance(y, np.ndarray):
        return np.ascontiguousarray(y[:, cols])
    from fastml._gpu import namespace

    return namespace(y).ascontiguousarray(y[:, cols])



class _Counts:
    """Count statistics of two 0/1 label matrices from the kernels of their array family:
    the compiled CPU kernels, or the GPU kernels for device arrays (``xp``: their namespace;
    the counts come back to the host). ``fastml._dask.metrics.Counts`` is the same interface
    over Dask arrays."""

    def __init__(self, yt, yp, w: np.ndarray | None, k=None, xp=None):
        self.yt, self.yp, self.w = yt, yp, w
        self.k = k if k is not None else kernels("metrics_counts")
        self.xp = xp
        self.shape = yt.shape
        self.weighted = w is not None

    def select(self, cols) -> None:
        if cols is not None:
            self.yt = _columns(self.yt, cols)
            self.yp = _columns(self.yp, cols)
            self.shape = self.yt.shape

    def _args(self):
        return self.yt, self.yp, self.w if self.weighted else _NO_WEIGHTS, self.weighted

    def _total(self) -> float:
        return float(np.sum(self.w)) if self.weighted else float(self.shape[0])

    def label_counts(self) -> tuple[np.ndarray, float]:
        return self.k.label_counts(*self._args()), self._total()

    def sample_stats(self, beta2: float, one_plus_beta2: float) -> tuple[np.ndarray, float]:
        return self.k.sample_stats(*self._args(), beta2, one_plus_beta2), self._total()

    def hamming(self) -> tuple[float, float]:
        n, n_labels = self.shape
        (wrong,) = self.k.hamming_numerators(
            self.yt, self.yp.reshape(1, n, n_labels), *self._args()[2:]
        )
        return wrong, self._total()

    def any_positive(self) -> bool:
        """Whether either matrix holds a 1 anywhere (whatever the weights)."""
        return bool(self.yt.any()) or bool(self.yp.any())

    def per_sample(self):
        """Per-row (tp, predicted, true) counts, on the host."""
        t, p = np.asarray(_host(self.yt)), np.asarray(_host(self.yp))
        return (np.count_nonzero(t & p, axis=1), np.count_nonzero(p, axis=1),
                np.count_nonzero(t, axis=1))


class _InPlaceCounts(_Counts):
    """:class:`_Counts` of two int64 / float64 / bool multi-label matrices of one shape in C
    order, read where they are: the per-row statistics and the unweighted per-label counts
    run on them directly (their values checked in the same pass); other counts narrow them
    to uint8 first, when asked."""

    def __init__(self, a: np.ndarray, b: np.ndarray, w: np.ndarray | None):
        self._raw = (a, b)
        self._narrowed = None
        super().__init__(a, b, w)

    @property
    def yt(self):
        return self._narrow()[0]

    @yt.setter
    def yt(self, value):
        pass  # set by the base class: the raw matrices are kept in ``_raw``

    @property
    def yp(self):
        return self._narrow()[1]

    @yp.setter
    def yp(self, value):
        pass

    def _narrow(self):
        if self._narrowed is None:
            self._narrowed = tuple(_kernel_ready(binary_indicator(x)) for x in self._raw)
        return self._narrowed

    def select(self, cols) -> None:
        if cols is not None:
            self._narrowed = tuple(np.ascontiguousarray(y[:, cols]) for y in self._narrow())
            self._raw = self._narrowed
            self.shape = self._narrowed[0].shape

    def _flat(self):
        return tuple(x.view(np.uint8) if x.dtype == np.bool_ else x for x in self._raw)

    def label_counts(self) -> tuple[np.ndarray, float]:
        if self.weighted or self._narrowed is not None:
            return super().label_counts()
        counts = self.k.label_counts_wide(*self._flat())
        require(counts is not None)  # a value other than 0 / 1: the reference decides
        return counts, self._total()

    def sample_stats(self, beta2: float, one_plus_beta2: float) -> tuple[np.ndarray, float]:
        a, b = self._flat()
        w = self.w if self.weighted else _NO_WEIGHTS
        stats = self.k.sample_stats_wide(a, b, w, self.weighted, beta2, one_plus_beta2)
        require(stats is not None)  # a value other than 0 / 1: the reference decides
        return stats, self._total()


def _in_place_pair(y_true, y_pred) -> bool:
    """Whether two targets are multi-label matrices the in-place kernels read as they are."""
    return (
        type(y_true) is np.ndarray and type(y_pred) is np.ndarray
        and y_true.ndim == 2 and y_true.shape == y_pred.shape
        and y_true.shape[0] >= 1 and y_true.shape[1] >= 2
        and _in_place_ready(y_true) and _in_place_ready(y_pred)
    )


def _counter(y_true, y_pred, sample_weight, labels, *, allow_binary: bool = False,
             allow_narrow_float: bool = True):
    """The count statistics of a call (validated; Unsupported for what the fast path does
    not cover), over Dask arrays when an input is one (multi-label targets only)."""
    if is_dask(y_true) or is_dask(y_pred) or is_dask(sample_weight):
        from fastml._dask.metrics import Counts

        counter = Counts(y_true, y_pred, sample_weight)
        counter.multilabel = True
        counter.xp = None
    elif _in_place_pair(y_true, y_pred):
        w = _weights(sample_weight, y_true.shape[0], allow_narrow_float=allow_narrow_float)
        counter = _InPlaceCounts(y_true, y_pred, w)
        counter.multilabel = True
    else:
        yt, yp, multilabel = _targets(y_true, y_pred, allow_binary=allow_binary)
        w = _weights(sample_weight, yt.shape[0], allow_narrow_float=allow_narrow_float)
        counter = _Counts(yt, yp, w, *_counting(y_true, y_pred))
        counter.multilabel = multilabel
    counter.select(_label_columns(labels, counter.shape[1]))
    return counter


def _label_columns(labels, n_labels: int) -> np.ndarray | None:
    """Column indices selected by ``labels`` (None: all columns in order)."""
    if labels is None:
        return None
    try:
        cols = np.asarray(labels)
    except Exception as exc:
        raise Unsupported from exc
    require(cols.ndim == 1 and cols.size >= 1 and cols.dtype.kind in "iu")
    require(int(cols.min()) >= 0 and int(cols.max()) < n_labels)
    if cols.size == n_labels and bool(np.all(cols == np.arange(n_labels))):
        return None
    return cols.astype(np.intp)


def _zero_division(zero_division) -> tuple[float, bool]:
    """(value set on a zero division, whether to warn) as scikit-learn reads the option."""
    if isinstance(zero_division, str):
        require(zero_division == "warn")
        return 0.0, True
    require(
        isinstance(zero_division, (int, float, np.integer, np.floating))
        and (zero_division in (0, 1) or math.isnan(zero_division))
    )
    # scikit-learn keeps 0/1 only for Python int/float (bool and np.float64 included);
    # other NumPy scalars such as np.float32(1.0) come out as NaN.
    if isinstance(zero_division, (int, float)) and zero_division in (0, 1):
        return float(zero_division), False
    return math.nan, False


def _is_real(x) -> bool:
    """A real number as scikit-learn's parameter validation sees one (bool included)."""
    return isinstance(x, numbers.Real) and not isinstance(x, np.timedelta64)


# --------------------------------------------------------------------------- arithmetic


def _divide(numerator, denominator, zero_value: float) -> tuple[np.ndarray, bool]:
    """``numerator / denominator`` as float64, ``zero_value`` where the denominator is 0."""
    mask = denominator == 0
    den = np.array(denominator, dtype=np.float64)
    den[mask] = 1
    result = np.asarray(numerator, dtype=np.float64) / den
    undefined = bool(mask.any())
    if undefined:
        result[mask] = zero_value
    return result, undefined


def _nan_average(values: np.ndarray, weights=None) -> float:
    """Mean of the non-NaN values, weighted if asked; unweighted when those weights sum to 0."""
    mask = np.isnan(values)
    if values.shape[0] == 0 or mask.all():
        return math.nan
    if weights is None:
        return float(np.nanmean(values))
    keep = ~mask
    kept = values[keep]
    w = np.asarray(weights)[keep].astype(np.float64)
    scale = np.sum(w)
    if scale == 0.0:
        return float(np.mean(kept))
    return float(np.sum(kept * w) / scale)


def _undefined_message(metric: str, modifier: str, average, result_size: int) -> str:
    what, where = ("label", "sample") if average == "samples" else ("sample", "label")
    reason = "due to" if result_size == 1 else f"in {where}s with"
    return (
        f"{metric.capitalize()} is ill-defined and being set to 0.0 {reason} "
        f"no {modifier} {what}s. Use `zero_division` parameter to control this behavior."
    )


_MODIFIERS = {"precision": "predicted", "recall": "true", "f-score": "true nor predicted"}


def _maybe_warn(metric, undefined, warn, warn_for, average, result_size) -> None:
    if undefined and warn and metric in warn_for:
        warn_undefined(_undefined_message(metric, _MODIFIERS[metric], average, result_size))


def _samples_average(stats: np.ndarray, zero_value: float, weight_total, n: int) -> float:
    """Average of one per-row metric from the kernel's sums (see ``sample_stats``)."""
    sum_vw, sum_v, w_defined, n_defined, w_undefined, n_undefined = stats
    if math.isnan(zero_value):
        if n_defined == 0:
            return math.nan
        if weight_total is None:
            return float(sum_v / n_defined)
        if w_defined == 0:
            return float(sum_v / n_defined)
        return float(sum_vw / w_defined)
    if weight_total is None:
        return float((sum_v + zero_value * n_undefined) / n)
    return float((sum_vw + zero_value * w_undefined) / weight_total)


# --------------------------------------------------------------------------- core


def _prf(y_true, y_pred, beta, labels, pos_label, average, warn_for, sample_weight, zero_division):
    """Fast path shared by the precision / recall / F family (raises Unsupported)."""
    # Parameters, in the forms scikit-learn's validation accepts.
    require(is_option(average, _AVERAGES))
    zero_value, warn = _zero_division(zero_division)
    require(_is_real(beta) and beta >= 0)
    require(beta == math.inf or beta <= 1e100)  # no overflow in beta**2 (nor np.isposinf)
    require(isinstance(warn_for, (list, tuple, set)))
    require(all(isinstance(m, str) for m in warn_for))
    require(pos_label is None or isinstance(pos_label, (str, np.bool_)) or _is_real(pos_label))

    counter = _counter(y_true, y_pred, sample_weight, labels)
    n_samples = counter.shape[0]

    # Checks are over: from here on the call is ours.
    if pos_label not in (None, 1):
        warnings.warn(
            f"Note that pos_label (set to {pos_label!r}) is ignored when average != 'binary' "
            f"(got {average!r}). You may use labels=[pos_label] to specify a single positive "
            "class.",
            UserWarning,
            stacklevel=find_stack_level(),
        )
    weighted = counter.weighted
    xp = counter.xp
    beta2 = beta**2
    f_is_precision = beta == 0
    f_is_recall = bool(np.isposinf(beta))

    if average == "samples":
        if f_is_precision or f_is_recall:
            b2, c1 = 1.0, 2.0  # F is precision or recall itself: its own sums go unused
        else:
            b2, c1 = float(beta2), float(1 + beta2)
        stats, weight_total = counter.sample_stats(b2, c1)
        if f_is_recall:
            stats[2] = stats[1]
        elif f_is_precision:
            stats[2] = stats[0]
        weight_total = weight_total if weighted else None
        scores = []
        for m, metric in enumerate(("precision", "recall", "f-score")):
            own_division = m < 2 or not (f_is_precision or f_is_recall)
            _maybe_warn(
                metric, own_division and stats[m, 5] > 0, warn, warn_for, average, n_samples
            )
            scores.append(_samples_average(stats[m], zero_value, weight_total, n_samples))
        return scores[0], scores[1], scores[2], None

    counts, _ = counter.label_counts()
    # scikit-learn's counts are integers unless weighted; weighted by signed integers, they
    # stay integers when no entry is positive (NumPy's bincount of nothing is int64),
    # whatever the weights of the entries (a positive of weight 0 still makes floats).
    if not weighted or (_signed_int(sample_weight) and not counts[1:].any()
                        and not counter.any_positive()):
        counts = counts.astype(np.int64)
    tp, pred, true = counts
    # scikit-learn rebuilds these from a confusion matrix: pred = tp + (pred - tp), etc.
    tp_sum = tp
    pred_sum = tp + (pred - tp)
    true_sum = tp + (true - tp)
    if average == "micro":
        tp_sum = np.reshape(np.sum(tp_sum), (1,))
        pred_sum = np.reshape(np.sum(pred_sum), (1,))
        true_sum = np.reshape(np.sum(true_sum), (1,))
    size = tp_sum.shape[0]

    precision, undefined = _divide(tp_sum, pred_sum, zero_value)
    _maybe_warn("precision", undefined, warn, warn_for, average, size)
    recall, undefined = _divide(tp_sum, true_sum, zero_value)
    _maybe_warn("recall", undefined, warn, warn_for, average, size)
    if f_is_recall:
        f_score = recall
    elif f_is_precision:
        f_score = precision
    else:
        denominator = beta2 * true_sum.astype(np.float64) + pred_sum.astype(np.float64)
        numerator = (1 + beta2) * tp_sum.astype(np.float64)
        f_score, undefined = _divide(numerator, denominator, zero_value)
        _maybe_warn("f-score", undefined, warn, warn_for, average, size)

    if average is None:
        if xp is not None:  # device input: per-label results on the device
            return tuple(xp.asarray(a) for a in (precision, recall, f_score, true_sum))
        return precision, recall, f_score, true_sum
    weights = true_sum if average == "weighted" else None
    return (
        _nan_average(precision, weights),
        _nan_average(recall, weights),
        _nan_average(f_score, weights),
        None,
    )


# --------------------------------------------------------------------------- public API


@reference_fallback("hamming_loss")
def hamming_loss(y_true, y_pred, *, sample_weight=None) -> float:
    """Average Hamming loss: the fraction of labels that are incorrectly predicted.

    Drop-in for :func:`sklearn.metrics.hamming_loss`: same signature, result, return type
    and errors. Multi-label 0/1 indicator targets (dense or SciPy sparse) and binary 1-D 0/1
    targets are computed in one parallel pass; other input (multiclass, string labels, ...)
    is handed to scikit-learn.

    Parameters
    ----------
    y_true : array-like or sparse matrix of shape (n_samples,) or (n_samples, n_labels)
        Ground truth labels (0/1 label indicators for multi-label data).
    y_pred : array-like or sparse matrix, same shape as ``y_true``
        Predicted labels.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    loss : float
        The weighted fraction of wrong entries, between 0 and 1.

    Examples
    --------
    >>> import numpy as np
    >>> from fastml.metrics import hamming_loss
    >>> hamming_loss(np.array([[0, 1], [1, 1]]), np.zeros((2, 2)))
    0.75
    >>> hamming_loss([1, 0, 1, 1], [1, 1, 1, 0])
    0.5
    """
    if sample_weight is None:
        loss = _hamming_in_place(y_true, y_pred)
        if loss is not None:
            return loss
    counter = _counter(y_true, y_pred, sample_weight, None, allow_binary=True,
                       allow_narrow_float=False)
    n_samples, n_labels = counter.shape
    wrong, total = counter.hamming()
    return _hamming_from_count(
        wrong, total if counter.weighted else None, n_samples, n_labels, counter.multilabel
    )


_IN_PLACE_DTYPES = (np.dtype(np.int64), np.dtype(np.float64), np.dtype(np.bool_))


def _flat_01(y: np.ndarray) -> np.ndarray:
    """The flat view the in-place kernels read: bool as uint8, int64 / float64 as they are."""
    flat = y.reshape(-1, order="C" if y.flags.c_contiguous else "F")  # a view
    return flat.view(np.uint8) if flat.dtype == np.bool_ else flat


def _in_place_ready(y: np.ndarray) -> bool:
    """Whether the in-place kernels read ``y`` as it is (C order, a dtype they check)."""
    return y.dtype in _IN_PLACE_DTYPES and y.dtype.isnative and y.flags.c_contiguous


def _hamming_in_place(y_true, y_pred):
    """Unweighted Hamming loss of two dense int64 / float64 / bool arrays of one shape and
    memory order, checked and counted in one pass without narrowed copies; None when the
    inputs are not of that kind (or not 0/1), for the general path to handle."""
    if type(y_true) is not np.ndarray or type(y_pred) is not np.ndarray:
        return None
    if y_true.dtype not in _IN_PLACE_DTYPES or y_pred.dtype not in _IN_PLACE_DTYPES:
        return None
    if y_true.shape != y_pred.shape or y_true.ndim not in (1, 2) or y_true.size == 0:
        return None
    same_order = (y_true.flags.c_contiguous and y_pred.flags.c_contiguous) or (
        y_true.flags.f_contiguous and y_pred.flags.f_contiguous
    )
    if not same_order or not (y_true.dtype.isnative and y_pred.dtype.isnative):
        return None
    (wrong,) = kernels("metrics_counts").xor_counts_wide(
        _flat_01(y_true), _flat_01(y_pred).reshape(1, -1)
    )
    if wrong < 0:
        return None
    n_samples = y_true.shape[0]
    n_labels = y_true.shape[1] if y_true.ndim == 2 else 1
    return _hamming_from_count(float(wrong), None, n_samples, n_labels, n_labels > 1)


def _hamming_from_count(wrong, w_total, n_samples: int, n_labels: int, multilabel: bool):
    """Scale a (weighted) count of wrong entries as scikit-learn does, return type included
    (``w_total``: the sum of the weights, None when unweighted)."""
    if multilabel:
        if w_total is None:
            return float(wrong) / (n_samples * n_labels * 1.0)
        return np.float64(float(wrong) / (n_samples * n_labels * (w_total / n_samples)))
    if w_total is None:
        return float(wrong / n_samples)
    return float(wrong / w_total)


def batch_hamming_loss(y_true, y_pred, *, sample_weight=None) -> np.ndarray:
    """Hamming losses of many predictions of one target set, in one parallel pass.

    ``batch_hamming_loss(y_true, y_pred)[b]`` equals ``hamming_loss(y_true, y_pred[b])``:
    handy to score B models, seeds or checkpoints on one validation set. Only 0/1 targets
    are covered (multi-label indicators, or binary 1-D targets).

    Parameters
    ----------
    y_true : array-like or sparse matrix of shape (n_samples, n_labels) or (n_samples,)
        Ground truth 0/1 labels.
    y_pred : array-like of shape (n_models, n_samples, n_labels) or (n_models, n_samples)
        One 0/1 prediction of ``y_true``'s shape per model.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative, finite sample weights, not all zero (used as float64).

    Returns
    -------
    losses : ndarray of shape (n_models,), dtype float64
        The Hamming loss of each prediction (a CuPy array, computed on the GPU, for CuPy
        inputs).

    Raises
    ------
    ValueError
        If the targets are not 0/1 values, are empty, their shapes do not match, or the
        sample weights are invalid.

    Examples
    --------
    >>> import numpy as np
    >>> from fastml.metrics import batch_hamming_loss
    >>> y_true = np.array([[0, 1], [1, 1]])
    >>> y_pred = np.array([np.zeros((2, 2)), y_true, [[1, 1], [1, 1]]])
    >>> batch_hamming_loss(y_true, y_pred)
    array([0.75, 0.  , 0.25])
    """
    if is_cupy(y_true) or is_cupy(y_pred):  # device data: fastml/metrics/_gpu_plain.py
        from fastml.metrics._gpu_plain import batch_hamming_loss as on_device

        return on_device(y_true, y_pred, sample_weight)
    yt, yp, multilabel = _batch_targets(_batch_array, y_true, y_pred)
    n_samples, n_labels = yt.shape
    n_models = yp.shape[0]
    yt = _kernel_ready(_batch_binary(yt, "y_true"))
    if sample_weight is None and n_models and _in_place_ready(yp):
        # checked and counted in one pass over the predictions, without narrowed copies
        wrong = kernels("metrics_counts").xor_counts_wide(
            yt.reshape(-1), _flat_01(yp).reshape(n_models, -1)
        )
        if wrong.min() < 0:
            raise ValueError("y_pred must contain only the values 0 and 1.")
        scale = n_samples * n_labels if multilabel else n_samples
        return wrong / scale
    if n_models:
        yp = _kernel_ready(_batch_binary(yp, "y_pred")).reshape(n_models, n_samples, n_labels)

    w = _batch_weights(sample_weight, n_samples)
    if n_models == 0:
        return np.zeros(0)

    k = kernels("metrics_counts")
    weighted = w is not None
    wrong = k.hamming_numerators(yt, yp, w if weighted else _NO_WEIGHTS, weighted)
    if multilabel:
        scale = n_samples * n_labels * (np.mean(w) if weighted else 1.0)
    else:
        scale = np.sum(w) if weighted else n_samples
    return wrong / scale


def _batch_targets(read, y_true, y_pred):
    """The shape checks of :func:`batch_hamming_loss` (``read(y, name, allow_sparse=...)``
    turns an input into an array of its family): ``y_true`` as (n_samples, n_labels),
    ``y_pred`` as given, and whether the targets are multi-label."""
    yt = read(y_true, "y_true", allow_sparse=True)
    if yt.ndim not in (1, 2):
        raise ValueError(
            f"y_true must be 1-D (n_samples,) or 2-D (n_samples, n_labels); got shape {yt.shape}."
        )
    yp = read(y_pred, "y_pred", allow_sparse=False)
    if yp.ndim != yt.ndim + 1 or yp.shape[1:] != yt.shape:
        raise ValueError(
            f"y_pred must have shape (n_models, *y_true.shape) = (n_models, "
            f"{', '.join(map(str, yt.shape))}); got shape {yp.shape}."
        )
    if yt.size == 0:
        raise ValueError(
            f"Found empty input array: y_true has shape {yt.shape}, while at least one "
            "sample and one label are required."
        )
    multilabel = yt.ndim == 2 and yt.shape[1] > 1
    return yt.reshape(yt.shape[0], -1), yp, multilabel


def _batch_weights(sample_weight, n_samples: int) -> np.ndarray | None:
    """The sample weights of :func:`batch_hamming_loss` as contiguous float64 on the host,
    or None; ValueError with a message for bad ones."""
    if sample_weight is None:
        return None
    try:
        w = plain_array(_host(sample_weight), "sample_weight").astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError("sample_weight must be an array of numbers.") from exc
    if w.shape != (n_samples,):
        raise ValueError(
            f"sample_weight must have shape (n_samples,) = ({n_samples},); got {w.shape}."
        )
    if not np.all(np.isfinite(w)) or w.min() < 0:
        raise ValueError("sample_weight must be finite and non-negative.")
    if not w.any():
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return np.ascontiguousarray(w)


def _batch_array(y, name: str, *, allow_sparse: bool) -> np.ndarray:
    if _is_sparse(y) and not allow_sparse:
        raise ValueError(f"{name} must be a dense array, not a sparse matrix.")
    try:
        if _is_sparse(y):
            return as_array(y, allow_sparse=True)
        return as_array(y)
    except Unsupported:
        raise ValueError(
            f"{name} must be an array-like of 0/1 numbers (bool, integer or float)."
        ) from None


def _batch_binary(y: np.ndarray, name: str) -> np.ndarray:
    try:
        return binary_indicator(y)
    except Unsupported:
        raise ValueError(f"{name} must contain only the values 0 and 1.") from None


@reference_fallback("precision_recall_fscore_support")
def precision_recall_fscore_support(
    y_true,
    y_pred,
    *,
    beta: float = 1.0,
    labels=None,
    pos_label=1,
    average: str | None = None,
    warn_for=("precision", "recall", "f-score"),
    sample_weight=None,
    zero_division="warn",
) -> tuple:
    """Precision, recall, F-beta score and support for each label, or their average.

    Drop-in for :func:`sklearn.metrics.precision_recall_fscore_support`: same signature,
    results, warnings (``UndefinedMetricWarning`` on zero divisions) and errors. Multi-label
    0/1 indicator targets (dense or SciPy sparse) with ``average`` in None, "micro",
    "macro", "weighted" or "samples" are computed in one parallel pass; other input is
    handed to scikit-learn.

    Parameters
    ----------
    y_true : array-like or sparse matrix of shape (n_samples, n_labels)
        Ground truth 0/1 label indicators.
    y_pred : array-like or sparse matrix of shape (n_samples, n_labels)
        Predicted 0/1 label indicators.
    beta : float, default=1.0
        Weight of recall relative to precision in the F-score.
    labels : array-like, default=None
        Column indices to score, in the order of the per-label results.
    pos_label : int, float, bool or str, default=1
        Used only with ``average="binary"`` (not accelerated); a warning otherwise.
    average : {"micro", "macro", "samples", "weighted", "binary"} or None, default=None
        None returns per-label arrays; otherwise the kind of average.
    warn_for : list, tuple or set, default=("precision", "recall", "f-score")
        Which metrics warn when ill-defined.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.
    zero_division : {"warn", 0.0, 1.0, np.nan}, default="warn"
        Value set where a metric divides by zero ("warn": 0 and a warning).

    Returns
    -------
    precision, recall, fbeta_score : float or ndarray of shape (n_labels,)
    support : None or ndarray of shape (n_labels,)
        Per-label number (weighted sum) of true positives' rows; None when averaged.

    Examples
    --------
    >>> import numpy as np
    >>> from fastml.metrics import precision_recall_fscore_support
    >>> y_true = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 0]])
    >>> y_pred = np.array([[1, 1, 1], [0, 1, 0], [1, 0, 0]])
    >>> p, r, f, s = precision_recall_fscore_support(y_true, y_pred)
    >>> p, r, s
    (array([1. , 0.5, 1. ]), array([1. , 0.5, 0.5]), array([2, 2, 2]))
    >>> precision_recall_fscore_support(y_true, y_pred, average="micro")
    (0.8, 0.6666666666666666, 0.7272727272727273, None)
    """
    return _prf(
        y_true, y_pred, beta, labels, pos_label, average, warn_for, sample_weight, zero_division
    )


@reference_fallback("precision_score")
def precision_score(
    y_true,
    y_pred,
    *,
    labels=None,
    pos_label=1,
    average: str | None = "binary",
    sample_weight=None,
    zero_division="warn",
) -> float | np.ndarray:
    """Precision ``tp / (tp + fp)``, per label or averaged.

    Drop-in for :func:`sklearn.metrics.precision_score`; accelerated for multi-label 0/1
    indicator targets with ``average`` in None, "micro", "macro", "weighted", "samples"
    (the default "binary" does not apply to multi-label targets: scikit-learn raises).
    Parameters as :func:`precision_recall_fscore_support`.

    Returns
    -------
    precision : float or ndarray of shape (n_labels,)

    Examples
    --------
    >>> import numpy as np
    >>> from fastml.metrics import precision_score
    >>> y_true = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 0]])
    >>> y_pred = np.array([[1, 1, 1], [0, 1, 0], [1, 0, 0]])
    >>> precision_score(y_true, y_pred, average="macro")
    0.8333333333333334
    """
    p, _, _, _ = _prf(
        y_true,
        y_pred,
        1.0,
        labels,
        pos_label,
        average,
        ("precision",),
        sample_weight,
        zero_division,
    )
    return p


@reference_fallback("recall_score")
def recall_score(
    y_true,
    y_pred,
    *,
    labels=None,
    pos_label=1,
    average: str | None = "binary",
    sample_weight=None,
    zero_division="warn",
) -> float | np.ndarray:
    """Recall ``tp / (tp + fn)``, per label or averaged.

    Drop-in for :func:`sklearn.metrics.recall_score`; accelerated for multi-label 0/1
    indicator targets with ``average`` in None, "micro", "macro", "weighted", "samples".
    Parameters as :func:`precision_recall_fscore_support`.

    Returns
    -------
    recall : float or ndarray of shape (n_labels,)

    Examples
    --------
    >>> import numpy as np
    >>> from fastml.metrics import recall_score
    >>> y_true = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 0]])
    >>> y_pred = np.array([[1, 1, 1], [0, 1, 0], [1, 0, 0]])
    >>> recall_score(y_true, y_pred, average=None)
    array([1. , 0.5, 0.5])
    """
    _, r, _, _ = _prf(
        y_true,
        y_pred,
        1.0,
        labels,
        pos_label,
        average,
        ("recall",),
        sample_weight,
        zero_division,
    )
    return r


@reference_fallback("f1_score")
def f1_score(
    y_true,
    y_pred,
    *,
    labels=None,
    pos_label=1,
    average: str | None = "binary",
    sample_weight=None,
    zero_division="warn",
) -> float | np.ndarray:
    """F1 score, the harmonic mean of precision and recall, per label or averaged.

    Drop-in for :func:`sklearn.metrics.f1_score`; accelerated for multi-label 0/1 indicator
    targets with ``average`` in None, "micro", "macro", "weighted", "samples".
    Parameters as :func:`precision_recall_fscore_support`.

    Returns
    -------
    f1 : float or ndarray of shape (n_labels,)

    Examples
    --------
    >>> import numpy as np
    >>> from fastml.metrics import f1_score
    >>> y_true = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 0]])
    >>> y_pred = np.array([[1, 1, 1], [0, 1, 0], [1, 0, 0]])
    >>> f1_score(y_true, y_pred, average="samples")
    0.7111111111111111
    """
    _, _, f, _ = _prf(
        y_true,
        y_pred,
        1,
        labels,
        pos_label,
        average,
        ("f-score",),
        sample_weight,
        zero_division,
    )
    return f


@reference_fallback("fbeta_score")
def fbeta_score(
    y_true,
    y_pred,
    *,
    beta,
    labels=None,
    pos_label=1,
    average: str | None = "binary",
    sample_weight=None,
    zero_division="warn",
) -> float | np.ndarray:
    """F-beta score, the weighted harmonic mean of precision and recall (recall ``beta``
    times as important), per label or averaged.

    Drop-in for :func:`sklearn.metrics.fbeta_score`; accelerated for multi-label 0/1
    indicator targets with ``average`` in None, "micro", "macro", "weighted", "samples".
    Parameters as :func:`precision_recall_fscore_support`.

    Returns
    -------
    fbeta : float or ndarray of shape (n_labels,)

    Examples
    --------
    >>> import numpy as np
    >>> from fastml.metrics import fbeta_score
    >>> y_true = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 0]])
    >>> y_pred = np.array([[1, 1, 1], [0, 1, 0], [1, 0, 0]])
    >>> round(float(fbeta_score(y_true, y_pred, beta=2.0, average="micro")), 6)
    0.689655
    """
    _, _, f, _ = _prf(
        y_true, y_pred, beta, labels, pos_label, average, ("f-score",), sample_weight,
        zero_division,
    )
    return f


@reference_fallback("multilabel_confusion_matrix")
def multilabel_confusion_matrix(
    y_true, y_pred, *, sample_weight=None, labels=None, samplewise: bool = False
) -> np.ndarray:
    """One 2x2 confusion matrix per label (or per sample): ``[[tn, fp], [fn, tp]]``.

    Drop-in for :func:`sklearn.metrics.multilabel_confusion_matrix`; multi-label 0/1
    indicator targets (dense or SciPy sparse) are counted in one parallel pass, anything
    else (binary, multiclass) is handed to scikit-learn.

    Parameters
    ----------
    y_true, y_pred : array-like or sparse matrix of shape (n_samples, n_labels)
        0/1 label indicators.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights (the counts become weighted sums, float64).
    labels : array-like of int, default=None
        Columns to report, in this order (all columns by default).
    samplewise : bool, default=False
        One matrix per sample instead of per label.

    Returns
    -------
    ndarray of shape (n_labels, 2, 2) or (n_samples, 2, 2)
        int64 counts (float64 weighted sums with ``sample_weight``).

    Examples
    --------
    >>> import numpy as np
    >>> from fastml.metrics import multilabel_confusion_matrix
    >>> y_true = np.array([[1, 0, 1], [0, 1, 0]])
    >>> y_pred = np.array([[1, 0, 0], [0, 1, 1]])
    >>> multilabel_confusion_matrix(y_true, y_pred)[2].tolist()
    [[0, 1], [1, 0]]
    """
    require(isinstance(samplewise, (bool, np.bool_)))
    counter = _counter(y_true, y_pred, sample_weight, labels)
    require(counter.multilabel)
    n_samples, n_labels = counter.shape
    weighted = counter.weighted
    if samplewise:
        tp, pred, true = counter.per_sample()
        total = n_labels
        if weighted:
            w = counter.w
            if _signed_int(sample_weight):  # scikit-learn's integer products stay integers
                w = w.astype(np.int64)
            tp, pred, true = tp * w, pred * w, true * w
            total = w * n_labels
    else:
        counts, w_total = counter.label_counts()
        if not weighted:
            counts = counts.astype(np.int64)
        tp, pred, true = counts
        total = w_total if weighted else n_samples
    fp = pred - tp
    fn = true - tp
    tn = total - tp - fp - fn
    if is_dask(tp):
        import dask.array as da

        return da.stack([tn, fp, fn, tp]).T.reshape(-1, 2, 2)
    out = np.stack([tn, fp, fn, tp]).T.reshape(-1, 2, 2)
    return out if counter.xp is None else counter.xp.asarray(out)


_REPORT_HEADERS = ("precision", "recall", "f1-score", "support")


@reference_fallback("classification_report")
def classification_report(
    y_true,
    y_pred,
    *,
    labels=None,
    target_names=None,
    sample_weight=None,
    digits: int = 2,
    output_dict: bool = False,
    zero_division="warn",
) -> str | dict:
    """Text (or dict) report of precision, recall, F1 and support per label, then the micro,
    macro, weighted and samples averages.

    Drop-in for :func:`sklearn.metrics.classification_report`: multi-label 0/1 indicator
    targets are counted by the compiled kernels (same text, numbers and warnings); binary and
    multiclass targets are handed to scikit-learn.

    Examples
    --------
    >>> import numpy as np
    >>> from fastml.metrics import classification_report
    >>> y_true = np.array([[1, 0], [0, 1], [1, 1]])
    >>> y_pred = np.array([[1, 0], [0, 1], [1, 0]])
    >>> print(classification_report(y_true, y_pred, target_names=["cat", "dog"]))
                  precision    recall  f1-score   support
    <BLANKLINE>
             cat       1.00      1.00      1.00         2
             dog       1.00      0.50      0.67         2
    <BLANKLINE>
       micro avg       1.00      0.75      0.86         4
       macro avg       1.00      0.75      0.83         4
    weighted avg       1.00      0.75      0.83         4
     samples avg       1.00      0.83      0.89         4
    <BLANKLINE>
    """
    require(isinstance(digits, (int, np.integer)) and not isinstance(digits, bool))
    require(isinstance(output_dict, (bool, np.bool_)))
    counter = _counter(y_true, y_pred, sample_weight, None)
    require(counter.multilabel)
    n_labels = counter.shape[1]
    labels_given = labels is not None
    label_list = list(np.asarray(labels)) if labels_given else list(np.arange(n_labels))
    _label_columns(label_list, n_labels) if labels_given else None  # Unsupported if invalid
    if target_names is not None and len(label_list) != len(target_names):
        if labels_given:
            warnings.warn(
                f"labels size, {len(label_list)}, does not match size of target_names, "
                f"{len(target_names)}",
                UserWarning,
                stacklevel=3,
            )
        else:
            raise ValueError(
                f"Number of classes, {len(label_list)}, does not match size of target_names, "
                f"{len(target_names)}. Try specifying the labels parameter"
            )
    names = [f"{name}" for name in label_list] if target_names is None else target_names

    def prfs(average):
        return precision_recall_fscore_support(
            y_true, y_pred, labels=labels if labels_given else None, average=average,
            sample_weight=sample_weight, zero_division=zero_division,
        )

    p, r, f1, s = prfs(None)
    rows = list(zip(names, p, r, f1, s))  # noqa: B905 (names may be longer: as scikit-learn)
    averages = []
    for average in ("micro", "macro", "weighted", "samples"):
        avg_p, avg_r, avg_f1, _ = prfs(average)
        averages.append((average + " avg", [avg_p, avg_r, avg_f1, np.sum(s)]))
    if output_dict:
        report = {row[0]: dict(zip(_REPORT_HEADERS, [float(v) for v in row[1:]], strict=True))
                  for row in rows}
        for heading, values in averages:
            report[heading] = dict(zip(_REPORT_HEADERS, [float(v) for v in values],
                                       strict=True))
        return report
    width = max(max(len(str(name)) for name in names), len("weighted avg"), digits)
    head_fmt = "{:>{width}s} " + " {:>9}" * len(_REPORT_HEADERS)
    text = head_fmt.format("", *_REPORT_HEADERS, width=width) + "\n\n"
    row_fmt = "{:>{width}s} " + " {:>9.{digits}f}" * 3 + " {:>9}\n"
    for row in rows:
        text += row_fmt.format(*row, width=width, digits=digits)
    text += "\n"
    for heading, values in averages:
        text += row_fmt.format(heading, *values, width=width, digits=digits)
    return text
