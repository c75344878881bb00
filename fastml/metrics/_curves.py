"""Score-curve metrics: average precision, ROC AUC, a per-label report, per-label thresholds.

Every label (or row, for average="samples") is one binary problem; all of them are computed
in one parallel kernel call (``fastml.kernels.cpu.metrics_curves``) from one sorted pass.
"""

from __future__ import annotations

from collections.abc import Callable
from numbers import Real
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from fastml._backend import is_cupy, is_dask, kernels
from fastml._validation import (
    ScoredTargets,
    Unsupported,
    as_array,
    binary_indicator,
    binary_target,
    finite_scores,
    is_option,
    reference_fallback,
    require,
    sample_weights,
    scored_targets,
    unit_weights,
    warn,
    warn_undefined,
)
from fastml.kernels.cpu.metrics_curves import (
    AP,
    AUC,
    BEST_F1,
    BEST_THR,
    FP_AT,
    NEG_N,
    NEG_W,
    POS_N,
    POS_W,
    TP_AT,
)

if TYPE_CHECKING:
    import pandas as pd

_AVERAGES = (None, "micro", "macro", "weighted", "samples")
_NO_POSITIVE = (
    "No positive class found in y_true, recall is set to one for all thresholds."
)
_ONE_CLASS = "Only one class is present in y_true. ROC AUC score is not defined in that case."


def _is_one(value) -> bool:
    return isinstance(value, (Real, np.number)) and not isinstance(value, complex) and value == 1


def _curve_kernels(s):
    """The score-curve kernels of the scores' family (GPU kernels for device data)."""
    if is_cupy(s):
        from fastml._gpu import gpu_kernels

        return gpu_kernels("metrics_curves")
    return kernels("metrics_curves")


def _contig(a):
    if isinstance(a, np.ndarray) and not is_cupy(a):
        return np.ascontiguousarray(a)
    from fastml._gpu import namespace

    return namespace(a).ascontiguousarray(a)


def _flat_stats(y: np.ndarray, s: np.ndarray, w: np.ndarray | None, max_fpr: float = 0.0):
    """Statistics (B, N_STATS) of all entries of ``s`` (n, L) or (B, n, L) against ``y`` (n, L)
    as one binary problem per batch member, ``w`` weighting rows."""
    k = _curve_kernels(s)
    s3 = s if s.ndim == 3 else s[np.newaxis]
    n, n_labels = y.shape
    if y.flags.f_contiguous and not y.flags.c_contiguous and all(
        sb.flags.f_contiguous for sb in s3
    ):
        # Fortran order: flatten column by column, without copies where possible
        yk = y.T.reshape(-1)
        sk = _contig(s3.transpose(0, 2, 1)).reshape(len(s3), -1)
        wdiv, wmod = 1, n
    else:
        yk = _contig(y).reshape(-1)
        sk = _contig(s3).reshape(len(s3), -1)
        wdiv, wmod = n_labels, n
    stats = k.flat_stats(
        sk, yk, _kernel_weight(w), wdiv, wmod, w is not None, np.inf, max_fpr
    )
    return stats if s.ndim == 3 else stats[0]


def _column_stats(y, s, w, thr=np.inf, max_fpr=0.0):
    """Per-label statistics (B, L, N_STATS) of ``s`` (n, L) or (B, n, L) against ``y`` (n, L)."""
    k = _curve_kernels(s)
    batched = s.ndim == 3
    s3 = s if batched else s[np.newaxis]
    if (
        y.flags.f_contiguous
        and not y.flags.c_contiguous
        and all(sb.flags.f_contiguous for sb in s3)
    ):
        yk = y.T
        sk = _contig(s3.transpose(0, 2, 1))
        label_major = True
    else:
        yk = _contig(y)
        sk = _contig(s3)
        label_major = False
    return k.column_stats(
        sk, yk, label_major, _kernel_weight(w), w is not None, thr, max_fpr
    )


def _row_stats(y, s, max_fpr=0.0):
    """Per-row statistics (B, n, N_STATS) of ``s`` (n, L) or (B, n, L) against ``y`` (n, L)."""
    k = _curve_kernels(s)
    s3 = s if s.ndim == 3 else s[np.newaxis]
    return k.row_stats(_contig(s3), _contig(y), np.inf, max_fpr)


def _targets(y_true, y_score, sample_weight, pos_label) -> tuple[ScoredTargets, int]:
    """Validated inputs, and the binary exponent ``e`` the weights were scaled by.

    A 1-D ``y_true`` may hold any two labels (mapped to 0/1 here). The weights come back
    scaled by ``2**-e`` (largest in [0.5, 1), see :func:`unit_weights`), so that the kernels
    see the same ratios at any scale of the given weights.
    """
    if is_cupy(y_true) or is_cupy(y_score):  # device data: checked and kept on the device
        from fastml.metrics import _gpu

        t = _gpu.scored_targets(y_true, y_score, sample_weight, pos_label)
        w, e = unit_weights(t.weight)
        return t._replace(weight=w), e
    try:
        one_d = np.ndim(y_true) == 1
    except Exception as exc:  # ragged input: the reference explains
        raise Unsupported from exc
    if one_d:
        y_true = binary_target(y_true, pos_label)
    t = scored_targets(y_true, y_score, sample_weight)
    w, e = unit_weights(t.weight)
    return t._replace(weight=w), e


def _no_support(support: np.ndarray, e: int) -> bool:
    """scikit-learn's test for average="weighted": the total positive weight, in the scale
    of the given weights (``support`` was computed from weights scaled by ``2**-e``), is
    close to zero."""
    return bool(np.isclose(np.ldexp(support.sum(), e), 0.0))


def _like_input(result: np.ndarray, score):
    """Per-label results on the device when the scores are there."""
    if not is_cupy(score):
        return result
    from fastml._gpu import namespace, to_device

    return to_device(namespace(score), result)


def _kernel_weight(w):
    return np.ones(1) if w is None else w


def _average(scores: np.ndarray, weights: np.ndarray | None) -> float:
    """scikit-learn's final averaging: zero-weight entries forced to 0, then np.average."""
    if weights is not None:
        scores = scores.copy()
        scores[weights == 0] = 0
    return float(np.average(scores, weights=weights))


class _Problems:
    """The statistics a score metric needs, from validated in-memory inputs (the Dask twin is
    ``fastml._dask.curves.Scored``: same methods)."""

    def __init__(self, t: ScoredTargets, e: int):
        self.t, self.e = t, e
        self.multilabel = t.multilabel
        self.weighted = t.weight is not None

    def stats(self, flat: bool, thr: float = np.inf, max_fpr: float = 0.0) -> np.ndarray:
        t = self.t
        if flat:
            return _flat_stats(t.y, t.score, t.weight, max_fpr)[np.newaxis]
        return _column_stats(t.y, t.score, t.weight, thr, max_fpr)[0]

    @property
    def shape(self) -> tuple[int, int]:
        return self.t.y.shape

    @property
    def score(self):
        return self.t.score

    def counts_at(self, thr: np.ndarray):
        return _counts_at(self.t.y, self.t.score, thr)

    def parts(self, flat: bool = False, thr: float = np.inf):
        """Per label ``(a, pw, n_pos, part)``: sorted distinct positive scores, their weights,
        the number of positives and the negatives' histogram over them (the kernels'
        row-split partial over all rows)."""
        k = kernels("metrics_curves")
        t = self.t
        w = np.ones(1) if t.weight is None else t.weight
        out = []
        for j in range(self.shape[1]):
            s = np.ascontiguousarray(t.score[:, j])
            y = np.ascontiguousarray(t.y[:, j])
            n = s.shape[0]
            a, pw, n_pos = k.sorted_positives(s, y, w, 1, n, t.weight is not None)
            part = k.histogram_block(s, y, w, 1, n, t.weight is not None, thr, a, 0, n)
            out.append((a, pw, n_pos, part))
        return out

    def samples(self, which: str, max_fpr: float = 0.0) -> tuple[float, int]:
        stats = _row_stats(self.t.y, self.t.score, max_fpr)[0]
        if which == "ap":
            n_bad = int(np.count_nonzero(stats[:, POS_W] == 0))
            scores = _ap_from_stats(stats)
        else:
            one_class = (stats[:, POS_N] == 0) | (stats[:, NEG_N] == 0)
            n_bad = int(np.count_nonzero(one_class))
            scores = stats[:, AUC].copy()
            scores[one_class] = np.nan
        return _average(scores, self.t.weight), n_bad


def _problems(y_true, y_score, sample_weight, pos_label):
    """:class:`_Problems` of a call, over Dask arrays when an input is one."""
    if is_dask(y_true) or is_dask(y_score) or is_dask(sample_weight):
        from fastml._dask.curves import Scored

        return Scored(y_true, y_score, sample_weight)
    return _Problems(*_targets(y_true, y_score, sample_weight, pos_label))


# ----------------------------------------------------------------------- average precision


def _ap_from_stats(stats: np.ndarray) -> np.ndarray:

    return stats[..., AP]


def _warn_no_positive(stats: np.ndarray, once: bool) -> None:

    n_missing = int(np.count_nonzero(stats[..., POS_W] == 0))
    for _ in range(min(n_missing, 1) if once else n_missing):
        warn(_NO_POSITIVE)


@reference_fallback("average_precision_score")
def average_precision_score(
    y_true, y_score, *, average="macro", pos_label=1, sample_weight=None
) -> float | np.ndarray:
    """Average precision (AP) from prediction scores, exactly as scikit-learn computes it.

    AP is the step integral of the precision-recall curve,
    ``sum_n (R_n - R_{n-1}) P_n``; tied scores form one threshold.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_labels)
        Binary (0/1) targets, or a multi-label indicator matrix.
    y_score : array-like of the same shape
        Scores: probabilities or decision values.
    average : {"micro", "macro", "weighted", "samples"} or None, default="macro"
        Averaging over labels, as in scikit-learn; ignored for binary ``y_true``.
    pos_label : int, float, bool or str, default=1
        The positive label; must be 1 for multi-label input. Invalid values (None among
        them) get scikit-learn's own error.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    float or ndarray of shape (n_labels,)
        The averaged AP, or one AP per label when ``average=None``.

    Notes
    -----
    Accelerated: multi-label 0/1 indicators (bool, int or float dtype; dense) and 1-D binary
    targets with any two labels (numbers or strings, ``pos_label`` among them), finite int or
    float scores, non-negative weights. Anything else is computed by scikit-learn. A label
    without positives has AP 0 and triggers scikit-learn's warning.

    Examples
    --------
    >>> import numpy as np
    >>> from fastml.metrics import average_precision_score
    >>> y_true = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    >>> y_score = np.array([[0.9, 0.2], [0.3, 0.8], [0.6, 0.4], [0.2, 0.5]])
    >>> round(average_precision_score(y_true, y_score), 4)
    0.9167
    """
    require(is_option(average, _AVERAGES))
    # scikit-learn takes a number, a string or a bool (None is invalid here, unlike in
    # roc_curve): anything else is its to reject
    require(isinstance(pos_label, (Real, str, np.bool_)))
    p = _problems(y_true, y_score, sample_weight, pos_label)
    require(not p.multilabel or _is_one(pos_label))
    if not p.multilabel or average == "micro":
        stats = p.stats(flat=True)[0]
        _warn_no_positive(stats, once=True)
        return float(_ap_from_stats(stats))
    if average == "samples":
        value, n_bad = p.samples("ap")
        if n_bad:
            warn(_NO_POSITIVE)
        return value
    stats = p.stats(flat=False)
    support = stats[:, POS_W]
    if average == "weighted" and _no_support(support, p.e):
        return 0  # scikit-learn returns before scoring any label (so without warnings)
    _warn_no_positive(stats, once=False)
    scores = _ap_from_stats(stats)
    if average is None:
        return _like_input(scores, p.score)
    return _average(scores, support if average == "weighted" else None)


# ------------------------------------------------------------------------------ ROC AUC


def _auc_from_stats(stats: np.ndarray, weighted: bool, once: bool = False) -> np.ndarray:
    """ROC AUC per problem; NaN (with scikit-learn's warning) where one class is absent."""

    one_class = (stats[..., POS_N] == 0) | (stats[..., NEG_N] == 0)
    if weighted:
        # Both classes present but one with zero total weight: scikit-learn's curve is then
        # degenerate in its own way; let it answer.
        weightless = (stats[..., POS_W] == 0) | (stats[..., NEG_W] == 0)
        require(not np.any(weightless & ~one_class))
    n_undefined = int(np.count_nonzero(one_class))
    for _ in range(min(n_undefined, 1) if once else n_undefined):
        warn_undefined(_ONE_CLASS)
    auc = stats[..., AUC].copy()
    auc[one_class] = np.nan
    return auc


def _check_max_fpr(max_fpr) -> float:
    if max_fpr is None:
        return 0.0
    require(isinstance(max_fpr, (Real, np.number)) and not isinstance(max_fpr, bool))
    require(0 < max_fpr <= 1)
    return 0.0 if max_fpr == 1 else float(max_fpr)


@reference_fallback("roc_auc_score")
def roc_auc_score(
    y_true,
    y_score,
    *,
    average="macro",
    sample_weight=None,
    max_fpr=None,
    multi_class="raise",
    labels=None,
) -> float | np.ndarray:
    """Area under the ROC curve, exactly as scikit-learn computes it.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_labels)
        Binary (0/1) targets, or a multi-label indicator matrix.
    y_score : array-like of the same shape
        Scores: probabilities or decision values.
    average : {"micro", "macro", "weighted", "samples"} or None, default="macro"
        Averaging over labels, as in scikit-learn; ignored for binary ``y_true``.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.
    max_fpr : float in (0, 1], default=None
        If given, the McClish-standardised partial AUC over [0, max_fpr].
    multi_class, labels :
        As in scikit-learn; used only for multiclass targets (computed by scikit-learn).

    Returns
    -------
    float or ndarray of shape (n_labels,)
        The averaged AUC, or one AUC per label when ``average=None``. A label with one class
        only gives NaN and scikit-learn's ``UndefinedMetricWarning``.

    Notes
    -----
    Accelerated: multi-label 0/1 indicators and 1-D binary targets with any two labels (the
    greater is positive, as in scikit-learn), finite scores, non-negative weights. Multiclass
    targets and anything else are computed by scikit-learn.

    Examples
    --------
    >>> import numpy as np
    >>> from fastml.metrics import roc_auc_score
    >>> y_true = np.array([0, 0, 1, 1])
    >>> y_score = np.array([0.1, 0.4, 0.35, 0.8])
    >>> roc_auc_score(y_true, y_score)
    0.75
    """
    require(is_option(average, _AVERAGES))
    require(is_option(multi_class, ("raise", "ovr", "ovo")) and labels is None)
    fpr_cut = _check_max_fpr(max_fpr)
    p = _problems(y_true, y_score, sample_weight, None)
    weighted = p.weighted
    if not p.multilabel or average == "micro":
        stats = p.stats(flat=True, max_fpr=fpr_cut)[0]
        return float(_auc_from_stats(stats, weighted))
    if average == "samples":
        value, n_bad = p.samples("auc", fpr_cut)
        if n_bad:
            warn_undefined(_ONE_CLASS)
        return value
    stats = p.stats(flat=False, max_fpr=fpr_cut)
    support = stats[:, POS_W]
    if average == "weighted" and _no_support(support, p.e):
        return 0  # scikit-learn returns before scoring any label (so without warnings)
    scores = _auc_from_stats(stats, weighted)
    if average is None:
        return _like_input(scores, p.score)
    return _average(scores, support if average == "weighted" else None)


# --------------------------------------------------------------------------- batch axis


def batch_average_precision_score(
    y_true, y_score, *, average="macro", sample_weight=None
) -> np.ndarray:
    """Average precision of B score matrices against one target matrix, in one parallel call.

    For B models or checkpoints scored on one validation set: ``y_score[b]`` is scored against
    ``y_true`` exactly as ``average_precision_score(y_true, y_score[b], average=average,
    sample_weight=sample_weight)`` would, and the B results come back together.

    Parameters
    ----------
    y_true : array-like of shape (n_samples, n_labels) or (n_samples,)
        0/1 targets shared by every batch member.
    y_score : array-like of shape (B, n_samples, n_labels) or (B, n_samples)
        One score matrix (or vector, for binary targets) per batch member.
    average : {"micro", "macro", "weighted", "samples"} or None, default="macro"
        As in :func:`average_precision_score` (ignored for binary targets).
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    ndarray of shape (B,), or (B, n_labels) when ``average=None``
        A CuPy array when the inputs are CuPy arrays (computed on the GPU).

    Raises
    ------
    ValueError
        When the inputs are not 0/1 targets with finite scores of matching shapes, or
        ``average`` is not one of the options.

    Examples
    --------
    >>> import numpy as np
    >>> from fastml.metrics import batch_average_precision_score
    >>> y_true = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    >>> y_score = np.array([[[0.9, 0.2], [0.3, 0.8], [0.6, 0.4], [0.2, 0.5]],
    ...                     [[0.1, 0.9], [0.8, 0.1], [0.5, 0.5], [0.7, 0.2]]])
    >>> batch_average_precision_score(y_true, y_score).round(4)
    array([0.9167, 0.4583])
    """
    if not is_option(average, _AVERAGES):
        raise ValueError(f"average has to be one of {_AVERAGES}, got {average!r}")
    if is_cupy(y_true) or is_cupy(y_score):  # device data: fastml/metrics/_gpu_plain.py
        from fastml.metrics._gpu_plain import batch_average_precision_score as on_device

        return on_device(y_true, y_score, average, sample_weight)
    return _batch_ap(y_true, y_score, average, sample_weight, _HOST_BATCH)


class _BatchFamily(NamedTuple):
    """What :func:`_batch_ap` does differently per array family: read an input, check
    labels and scores (each raising Unsupported), ready the checked arrays for the
    kernels, bring arrays to the host, and hand a host result back in the family."""

    read: Callable
    indicator: Callable
    scores: Callable
    ready: Callable
    host: Callable
    wrap: Callable


_HOST_BATCH = _BatchFamily(
    read=as_array, indicator=binary_indicator, scores=finite_scores,
    ready=lambda y8, s: (y8, s), host=lambda a: a, wrap=lambda out: out,
)


def _batch_ap(y_true, y_score, average, sample_weight, fam: _BatchFamily):
    """:func:`batch_average_precision_score` over the kernels of one array family."""
    try:
        y = fam.read(y_true)
        s = fam.read(y_score)
    except Unsupported:
        raise ValueError(
            "batch_average_precision_score expects numeric arrays: y_true of shape "
            "(n_samples, n_labels) and y_score of shape (B, n_samples, n_labels)"
        ) from None
    if s.ndim != y.ndim + 1 or s.shape[1:] != y.shape or y.ndim not in (1, 2):
        raise ValueError(
            "y_score must have shape (B, *y_true.shape); got y_true of shape "
            f"{y.shape} and y_score of shape {s.shape}"
        )
    if s.shape[0] == 0 or y.shape[0] == 0:
        raise ValueError("batch_average_precision_score needs at least one batch member and sample")
    binary = y.ndim == 1
    if binary:
        y, s = y.reshape(-1, 1), s.reshape(s.shape[0], -1, 1)
    try:
        y8 = fam.indicator(y)
    except Unsupported:
        raise ValueError("y_true must contain only 0 and 1 (a binary indicator)") from None
    try:
        s = fam.scores(s)
    except Unsupported:
        raise ValueError("y_score must be finite int or float scores (no NaN or inf)") from None
    try:
        w = sample_weights(fam.host(sample_weight), y.shape[0])
    except Unsupported:
        raise ValueError(
            "sample_weight must be finite, non-negative, not all zero, of shape (n_samples,)"
        ) from None
    y8, s = fam.ready(y8, s)
    try:
        w, e = unit_weights(w)
    except Unsupported:
        # non-zero weights spanning more than 2**900: one call per member, each computed by
        # scikit-learn (see average_precision_score), on host copies
        cut = (lambda a: a[:, 0]) if binary else (lambda a: a)
        yh, sh = np.asarray(fam.host(y8)), np.asarray(fam.host(s))
        return fam.wrap(np.array(
            [
                average_precision_score(cut(yh), cut(sb), average=average, sample_weight=w)
                for sb in sh
            ],
            dtype=np.float64,
        ))
    if binary or average == "micro":
        stats = _flat_stats(y8, s, w)
        _warn_no_positive(stats, once=True)
        return fam.wrap(_ap_from_stats(stats))
    if average == "samples":
        stats = _row_stats(y8, s)
        _warn_no_positive(stats, once=True)
        scores = _ap_from_stats(stats)
        if w is not None:
            scores = np.where(w == 0, 0.0, scores)
        return fam.wrap(np.average(scores, axis=1, weights=w))
    stats = _column_stats(y8, s, w)
    _warn_no_positive(stats[0], once=False)
    scores = _ap_from_stats(stats)
    if average is None:
        return fam.wrap(scores)
    if average == "weighted":
        support = stats[0, :, POS_W]
        if _no_support(support, e):
            return fam.wrap(np.zeros(s.shape[0]))
        scores = np.where(support == 0, 0.0, scores)
        return fam.wrap(np.average(scores, axis=1, weights=support))
    return fam.wrap(scores.mean(axis=1))


# ------------------------------------------------------------------ report and thresholds


def _prepare_plain(y_true, y_score, caller: str):
    """Validated problems of ``(y, score)`` for functions with no reference (bad input is a
    ValueError): :class:`_Problems`, or the Dask twin for Dask input. An (n, 1) label matrix
    is one label, as a 1-D one."""
    if is_dask(y_true) or is_dask(y_score):
        from fastml._dask.curves import Scored

        return Scored(y_true, y_score, None)
    if is_cupy(y_true) or is_cupy(y_score):  # device data: fastml/metrics/_gpu_plain.py
        from fastml.metrics._gpu_plain import problems

        return problems(y_true, y_score, caller)
    try:
        if np.ndim(y_true) == 2 and np.shape(y_true)[1] == 1 and np.ndim(y_score) == 2:
            y_true, y_score = _one_column(y_true), _one_column(y_score)
        return _Problems(scored_targets(y_true, y_score), 0)
    except Unsupported as exc:
        reason = f" ({exc})" if str(exc) else ""
        raise ValueError(
            f"{caller} expects y_true as 0/1 targets of shape (n_samples,) or "
            "(n_samples, n_labels), and y_score as finite int or float scores of the same "
            f"shape, with at least one sample{reason}"
        ) from None


def _one_column(x):
    return x.iloc[:, 0] if hasattr(x, "iloc") else np.asarray(x)[:, 0]


def _label_names(label_names, n_labels: int, y_true=None) -> list:
    if label_names is None:
        columns = getattr(y_true, "columns", None)  # a DataFrame's column names
        if columns is not None and len(columns) == n_labels:
            return list(columns)
        return list(range(n_labels))
    names = list(label_names)
    if len(names) != n_labels:
        raise ValueError(f"label_names has {len(names)} entries for {n_labels} labels")
    return names


def multilabel_report(
    y_true, y_score, threshold=0.5, *, label_names=None
) -> pd.DataFrame | dict[str, np.ndarray]:
    """Per-label metrics table from one sorted pass per label.

    For every label: support (number of positives), prevalence, average precision, ROC AUC,
    and precision, recall and F1 of the prediction ``y_score >= threshold``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples, n_labels) or (n_samples,)
        0/1 targets.
    y_score : array-like of the same shape
        Scores (probabilities or decision values).
    threshold : float or array-like of shape (n_labels,), default=0.5
        Decision threshold, one for all labels or one per label (e.g. from
        :func:`best_thresholds`): a sample is predicted positive when its score is >= it.
        The comparison is exact: the score and the threshold are both taken as float64
        values (``y_score.astype(np.float64) >= np.float64(threshold)``), for a shared
        threshold and per-label thresholds alike. For float32 scores and a threshold that
        float32 cannot hold (0.7, say) this can differ from NumPy's ``y_score >= 0.7``,
        which under NumPy 2's promotion rules rounds a Python float threshold to float32
        first; thresholds that are float32 values (those of :func:`best_thresholds` for
        float32 scores, 0.5, or any float32 array) give the same decisions either way.
    label_names : sequence of length n_labels, optional
        Row labels of the table (default 0 .. n_labels - 1).

    Returns
    -------
    pandas.DataFrame or dict of ndarray
        One row per label with columns ``support``, ``prevalence``, ``average_precision``,
        ``roc_auc``, ``precision``, ``recall``, ``f1`` (a DataFrame indexed by label when
        pandas is installed, else a dict of arrays plus ``"label"``).

    Notes
    -----
    Values equal scikit-learn's: ``average_precision_score(..., average=None)``,
    ``roc_auc_score(..., average=None)`` (NaN for a label with one class), and precision,
    recall, F1 with ``zero_division=0``. No warnings are emitted for undefined values.
    CuPy inputs are computed on the GPU and give the same table (a host DataFrame);
    ``threshold`` may then be a CuPy array too.

    Examples
    --------
    >>> import numpy as np
    >>> from fastml.metrics import multilabel_report
    >>> y_true = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    >>> y_score = np.array([[0.9, 0.2], [0.3, 0.8], [0.6, 0.4], [0.2, 0.5]])
    >>> report = multilabel_report(y_true, y_score, label_names=["cat", "dog"])
    >>> report["f1"].round(3).tolist()
    [1.0, 0.5]
    """

    p = _prepare_plain(y_true, y_score, "multilabel_report")
    n, n_labels = p.shape
    names = _label_names(label_names, n_labels, y_true)
    if is_cupy(threshold):  # per-label thresholds on the device (one number per label)
        from fastml._gpu import to_host

        threshold = to_host(threshold)
    thr = np.asarray(threshold, dtype=np.float64)
    if thr.ndim == 0:
        thr = np.full(n_labels, float(thr))
    if thr.shape != (n_labels,) or np.isnan(thr).any():
        raise ValueError(
            f"threshold must be a number or an array of {n_labels} numbers (no NaN)"
        )
    if np.all(thr == thr[0]):
        # the kernel compares each score, widened to float64, with the float64 threshold
        stats = p.stats(flat=False, thr=float(thr[0]))
    else:
        # per-label thresholds: the curves from one kernel call, the counts at each label's
        # threshold from the same float64 comparison, made here
        stats = p.stats(flat=False)
        stats[:, TP_AT], stats[:, FP_AT] = p.counts_at(thr)
    support = stats[:, POS_N]
    tp, fp = stats[:, TP_AT], stats[:, FP_AT]
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        f1 = np.where(support + tp + fp > 0, 2 * tp / (support + tp + fp), 0.0)
    auc = stats[:, AUC].copy()
    auc[(support == 0) | (support == n)] = np.nan
    columns = {
        "support": support.astype(np.int64),
        "prevalence": support / n,
        "average_precision": stats[:, AP],
        "roc_auc": auc,
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }
    try:
        import pandas as pd
    except ImportError:
        return {"label": np.asarray(names, dtype=object), **columns}
    return pd.DataFrame(columns, index=pd.Index(names, name="label"))


_COUNT_BLOCK = 1 << 16  # elements compared per step in _counts_at


def _counts_at(y: np.ndarray, score: np.ndarray, thr: np.ndarray):
    """Per label: positives and negatives with ``float64(score) >= thr`` (``thr`` float64).

    NumPy compares a float32 block with a float64 array in float64, exactly; rows go in
    blocks so that no temporary is larger than ``_COUNT_BLOCK`` elements.
    """
    n, n_labels = y.shape
    tp = np.zeros(n_labels)
    pred = np.zeros(n_labels)
    step = max(1, _COUNT_BLOCK // n_labels)
    for lo in range(0, n, step):
        hit = score[lo : lo + step] >= thr
        pred += np.count_nonzero(hit, axis=0)
        tp += np.count_nonzero(hit & (y[lo : lo + step] != 0), axis=0)
    return tp, pred - tp


def _operating_points(parts, metric: str, beta: float, target) -> BestThresholds:
    """Thresholds from each label's positives and negative histogram: at distinct positive
    score ``a[k]``, ``tp = #positives >= a[k]`` and ``fp = #negatives >= a[k]``."""
    thresholds, scores = [], []
    for a, pw, n_pos, part in parts:
        m = a.shape[0]
        if n_pos == 0 or m == 0:
            thresholds.append(np.inf)
            scores.append(0.0)
            continue
        tp = np.cumsum(pw[:m][::-1])[::-1]                 # positives with score >= a[k]
        fp = np.cumsum(part[: m + 1][::-1])[::-1][1:]      # negatives with score >= a[k]
        total = tp[0]
        with np.errstate(divide="ignore", invalid="ignore"):
            if metric == "fbeta":
                b2 = beta * beta
                value = (1 + b2) * tp / (b2 * total + tp + fp)
                k = m - 1 - int(np.argmax(value[::-1]))     # the highest of the best
            elif metric == "recall":
                value = tp / total
                ok = np.flatnonzero(value >= target)
                k = int(ok[-1]) if ok.size else -1
            else:
                value = tp / (tp + fp)
                ok = np.flatnonzero(value >= target)
                k = int(ok[0]) if ok.size else -1
        if k < 0:
            thresholds.append(np.inf)
            scores.append(0.0)
        else:
            thresholds.append(float(a[k]))
            scores.append(float(value[k]))
    return BestThresholds(np.array(thresholds), np.array(scores))


class BestThresholds(NamedTuple):
    """Per-label decision thresholds and the score each one reaches."""

    thresholds: np.ndarray
    scores: np.ndarray


def best_thresholds(
    y_true, y_score, metric="f1", *, beta: float = 1.0, target: float | None = None
) -> BestThresholds:
    """Per label, the decision threshold that maximises F1 (or F-beta), or the operating
    point that reaches a given recall or precision, and the score reached there.

    Label-specific threshold tuning for rare labels: for every label, the decision
    ``y_score >= threshold`` with the best F1 over all thresholds (every distinct score is a
    candidate; tied scores move together). All labels come from one parallel kernel call.

    Parameters
    ----------
    y_true : array-like of shape (n_samples, n_labels) or (n_samples,)
        0/1 targets.
    y_score : array-like of the same shape
        Scores (probabilities or decision values).
    metric : {"f1", "fbeta", "recall", "precision"}, default="f1"
        "f1" / "fbeta": the threshold maximising F1 / F-beta (``beta``); when several reach
        the best value, the highest. "recall": the highest threshold whose recall is at
        least ``target`` (the best precision at that recall). "precision": the lowest
        threshold whose precision is at least ``target`` (the most recall at that
        precision). Only distinct scores of positives are candidates: a threshold between
        them changes no positive decision and only adds false positives.
    beta : float, default=1.0
        Weight of recall for ``metric="fbeta"`` (``beta > 0``; 1 is F1).
    target : float in (0, 1], optional
        The recall or precision to reach (required for those metrics).

    Returns
    -------
    BestThresholds
        ``thresholds`` and ``scores`` (the F1, F-beta, recall or precision reached), arrays
        of shape (n_labels,) (shape (1,) for 1-D input). A label without positives, or
        whose target cannot be reached, gets threshold +inf (predict nothing) and score 0.
        CuPy inputs are computed on the GPU; both arrays are then CuPy arrays.

    Examples
    --------
    >>> import numpy as np
    >>> from fastml.metrics import best_thresholds
    >>> y_true = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    >>> y_score = np.array([[0.9, 0.2], [0.3, 0.8], [0.6, 0.4], [0.2, 0.5]])
    >>> thresholds, scores = best_thresholds(y_true, y_score)
    >>> thresholds.tolist(), scores.tolist()
    ([0.6, 0.4], [1.0, 0.8])
    """

    if not is_option(metric, ("f1", "fbeta", "recall", "precision")):
        raise ValueError(
            f"metric must be 'f1', 'fbeta', 'recall' or 'precision', got {metric!r}"
        )
    if metric == "fbeta" and not (isinstance(beta, Real) and 0 < beta < np.inf):
        raise ValueError(f"beta must be a positive number, got {beta!r}")
    if metric in ("recall", "precision"):
        if not (isinstance(target, Real) and 0 < target <= 1):
            raise ValueError(f"target must be a number in (0, 1] for metric={metric!r}, "
                             f"got {target!r}")
    if is_cupy(y_true) or is_cupy(y_score):  # device data: fastml/metrics/_gpu_plain.py
        from fastml.metrics._gpu_plain import best_thresholds as on_device

        return on_device(y_true, y_score, metric, float(beta), target)
    p = _prepare_plain(y_true, y_score, "best_thresholds")
    if metric != "f1":
        return _operating_points(p.parts(), metric, float(beta), target)
    stats = p.stats(flat=False)
    return BestThresholds(stats[:, BEST_THR].copy(), stats[:, BEST_F1].copy())
