"""``precision_recall_curve`` and ``roc_curve``: scikit-learn's curves of a binary problem.

A curve has a point at every distinct score, so every score is sorted once (NumPy's stable
sort, ties kept in input order as scikit-learn keeps them); the counts at each threshold
are cumulative sums in float64, exactly scikit-learn's arithmetic, without its validation
passes (``type_of_target``'s unique over the targets, repeated finiteness checks). 0/1
targets (bool, int or float) with ``pos_label`` None or 1 and finite scores take this path;
anything else is handed to scikit-learn.
"""

from __future__ import annotations

import numpy as np

from fastml._validation import (
    as_array,
    reference_fallback,
    require,
    warn,
    warn_undefined,
)


def _inputs(y_true, y_score, pos_label, sample_weight, drop_intermediate):
    require(pos_label is None or (not isinstance(pos_label, str) and pos_label == 1
                                  and not isinstance(pos_label, float)))
    require(isinstance(drop_intermediate, (bool, np.bool_)))
    y = as_array(y_true)
    s = as_array(y_score)
    require(y.ndim == 1 and s.ndim == 1 and y.shape == s.shape and y.shape[0] >= 1)
    require(y.dtype.kind in "biuf" and s.dtype.kind in "biuf" and s.dtype != np.float16)
    require(bool(np.all((y == 0) | (y == 1))))
    require(s.dtype.kind != "f" or bool(np.isfinite(s).all()))
    w = None
    if sample_weight is not None:
        w = as_array(sample_weight)
        require(w.ndim == 1 and w.shape == y.shape and w.dtype.kind in "biuf")
        w = w.astype(np.float64)
        require(bool(np.isfinite(w).all()) and bool((w >= 0).all()))
        keep = w != 0
        if not keep.all():
            y, s, w = y[keep], s[keep], w[keep]
        require(y.shape[0] >= 1)
    return y, s, w


def _counts(y, s, w):
    """``(fps, tps, thresholds)`` at every distinct score, descending.

    Unweighted, the counts are integers: a plain sort of the scores and one of the positives'
    scores give them (``#scores >= t`` and ``#positive scores >= t`` at each distinct ``t``),
    without the stable argsort and the gathers that weights need."""
    n = s.shape[0]
    if w is None:
        ordered = np.sort(s)
        starts = np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1]]))
        values = ordered[starts][::-1]
        positives = np.sort(s[y == 1])
        tps = (positives.shape[0] - np.searchsorted(positives, values, "left")).astype(
            np.float64)
        fps = (n - starts[::-1]).astype(np.float64) - tps
        return fps, tps, values
    order = (n - 1) - np.argsort(s[::-1], kind="stable")[::-1]  # stable descending
    s = s[order]
    truth = (y[order] == 1).astype(np.float64)
    idx = np.concatenate([np.flatnonzero(np.diff(s)), [n - 1]])
    if w is None:
        tps = np.cumsum(truth, dtype=np.float64)[idx]
        fps = 1 + idx.astype(np.float64) - tps
    else:
        w = w[order]
        tps = np.cumsum(truth * w, dtype=np.float64)[idx]
        fps = np.cumsum((1 - truth) * w, dtype=np.float64)[idx]
    return fps, tps, s[idx]


@reference_fallback("precision_recall_curve")
def precision_recall_curve(
    y_true, y_score, *, pos_label=None, sample_weight=None, drop_intermediate=False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision-recall pairs at every threshold of a binary problem.

    Drop-in for :func:`sklearn.metrics.precision_recall_curve` (same arrays, warnings and
    errors).

    Examples
    --------
    >>> import numpy as np
    >>> from fastml.metrics import precision_recall_curve
    >>> precision, recall, thresholds = precision_recall_curve(
    ...     np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    >>> precision.tolist(), recall.tolist(), thresholds.tolist()
    ([0.5, 0.6666666666666666, 0.5, 1.0, 1.0], [1.0, 1.0, 0.5, 0.5, 0.0], [0.1, 0.35, 0.4, 0.8])
    """
    y, s, w = _inputs(y_true, y_score, pos_label, sample_weight, drop_intermediate)
    fps, tps, thresholds = _counts(y, s, w)
    if drop_intermediate and fps.shape[0] > 2:
        keep = np.flatnonzero(np.concatenate(
            [[True], np.logical_or(np.diff(tps[:-1]), np.diff(tps[1:])), [True]]))
        fps, tps, thresholds = fps[keep], tps[keep], thresholds[keep]
    ps = tps + fps
    precision = np.zeros_like(tps)
    np.divide(tps, ps, out=precision, where=ps != 0)
    if tps[-1] == 0:
        warn("No positive class found in y_true, recall is set to one for all thresholds.")
        recall = np.full(tps.shape, 1.0)
    else:
        recall = tps / tps[-1]
    return (np.concatenate((precision[::-1], [1.0])), np.concatenate((recall[::-1], [0.0])),
            thresholds[::-1])


@reference_fallback("roc_curve")
def roc_curve(
    y_true, y_score, *, pos_label=None, sample_weight=None, drop_intermediate=True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Receiver operating characteristic points of a binary problem.

    Drop-in for :func:`sklearn.metrics.roc_curve` (same arrays, warnings and errors).

    Examples
    --------
    >>> import numpy as np
    >>> from fastml.metrics import roc_curve
    >>> fpr, tpr, thresholds = roc_curve(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    >>> fpr.tolist(), tpr.tolist(), thresholds.tolist()
    ([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0], [inf, 0.8, 0.4, 0.35, 0.1])
    """
    y, s, w = _inputs(y_true, y_score, pos_label, sample_weight, drop_intermediate)
    fps, tps, thresholds = _counts(y, s, w)
    if drop_intermediate and fps.shape[0] > 2:
        keep = np.flatnonzero(np.concatenate(
            [[True], np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), [True]]))
        fps, tps, thresholds = fps[keep], tps[keep], thresholds[keep]
    tps = np.concatenate([[0.0], tps])
    fps = np.concatenate([[0.0], fps])
    thresholds = np.concatenate([[np.inf], thresholds.astype(np.float64)])
    if fps[-1] <= 0:
        warn_undefined(
            "No negative samples in y_true, false positive value should be meaningless"
        )
        fpr = np.full(fps.shape, np.nan)
    else:
        fpr = fps / fps[-1]
    if tps[-1] <= 0:
        warn_undefined(
            "No positive samples in y_true, true positive value should be meaningless"
        )
        tpr = np.full(tps.shape, np.nan)
    else:
        tpr = tps / tps[-1]
    return fpr, tpr, thresholds
