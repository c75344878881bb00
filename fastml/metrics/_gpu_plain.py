"""The fastml-only metric functions on device data (CuPy arrays; NumPy arrays marked as
device data under numba-cuda's simulator): :func:`multilabel_report`'s problems,
:func:`best_thresholds`, :func:`batch_average_precision_score` and
:func:`batch_hamming_loss`.

Inputs are checked on the device with the CPU functions' rules and messages (bad input is a
ValueError, as there); sample weights and per-label thresholds (one number per row / label)
are checked on the host. The work runs in the GPU score-curve and counting kernels
(``fastml.kernels.gpu.metrics_curves`` / ``metrics_counts``), which hand back a few numbers
per label or batch member; the finishing arithmetic is the CPU path's own. Results: a report
is a host DataFrame (as on the CPU); arrays of per-label or per-member values are device
arrays of the input's namespace.
"""

from __future__ import annotations

import numpy as np

from fastml._backend import is_cupy
from fastml._gpu import gpu_kernels, namespace, to_device, to_host
from fastml._validation import (
    ScoredTargets,
    Unsupported,
    as_array,
    require,
    sample_weights,
    unit_weights,
)
from fastml.metrics import _gpu
from fastml.metrics._curves import _Problems

_COUNT_ENTRIES = 1 << 24  # entries compared per step in counts_at


def _is_sparse(x) -> bool:
    return type(x).__module__.startswith("scipy.sparse")


def _read(xp, x, *, allow_sparse: bool = False):
    """``x`` (device or host) as a numeric or bool array of ``xp`` (Unsupported otherwise)."""
    if not is_cupy(x):  # host data next to device data: checked here, then copied over
        x = as_array(x, allow_sparse=allow_sparse)
    try:
        a = to_device(xp, x)
    except Exception as exc:
        raise Unsupported(f"could not read the input: {exc}") from exc
    require(a.dtype.kind in "biuf", f"dtype {a.dtype} is not numeric")
    return a


def _indicator01(a):
    """The 0/1 device array ``a`` as C-contiguous uint8 (Unsupported otherwise)."""
    if a.dtype == np.float16:
        a = a.astype(np.float32)
    require(a.size > 0)
    return _gpu.indicator(a)


class _DeviceProblems(_Problems):
    """:class:`fastml.metrics._curves._Problems` of device data: the curve statistics come
    from the GPU kernels (the scores are device data); the counts at per-label thresholds
    are compared on the device."""

    def counts_at(self, thr: np.ndarray):
        """Per label: positives and negatives with ``float64(score) >= thr`` (host float64)."""
        y, s = self.t.y, self.t.score
        xp = namespace(s)
        n, n_labels = y.shape
        t = xp.asarray(np.asarray(thr, dtype=np.float64))
        tp = xp.zeros(n_labels, np.int64)
        pred = xp.zeros(n_labels, np.int64)
        step = max(1, _COUNT_ENTRIES // max(1, n_labels))
        for lo in range(0, n, step):
            hit = s[lo : lo + step] >= t  # float32 against float64: compared in float64
            pred += hit.sum(axis=0, dtype=np.int64)
            tp += (hit & (y[lo : lo + step] != 0)).sum(axis=0, dtype=np.int64)
        tp_h = np.asarray(to_host(tp), dtype=np.float64)
        return tp_h, np.asarray(to_host(pred), dtype=np.float64) - tp_h


def _scored(y_true, y_score) -> ScoredTargets:
    """:func:`fastml._validation.scored_targets` for device data (0/1 targets, no weights)."""
    xp = namespace(y_true, y_score)
    y = _read(xp, y_true)
    s = _read(xp, y_score)
    if y.ndim == 2 and y.shape[1] == 1 and s.ndim == 2:  # one column: one label, as 1-D
        y, s = y[:, 0], s[:, 0]
    if y.ndim == 2:
        multilabel = True
        require(s.ndim == 2 and y.shape == s.shape,
                f"y_true and y_score must have the same shape, got {y.shape} and {s.shape}")
        require(y.shape[1] >= 2, f"a 2-D y_true needs at least 2 labels, got {y.shape}")
    else:
        multilabel = False
        require(y.ndim == 1, f"y_true must be 2-D (n_samples, n_labels), got shape {y.shape}")
        require(s.ndim == 1 and y.shape == s.shape,
                f"y_true and y_score must have the same shape, got {y.shape} and {s.shape}")
        y, s = y.reshape(-1, 1), s.reshape(-1, 1)
    require(y.shape[0] >= 1, "no samples")
    try:
        y8 = _indicator01(y)
    except Unsupported:
        raise Unsupported("y_true must hold only 0 and 1 (or booleans)") from None
    try:
        s = _gpu.finite_scores(xp, s)
    except Unsupported:
        raise Unsupported("y_score must hold finite numbers") from None
    return ScoredTargets(_gpu.mark(xp, y8), _gpu.mark(xp, s), None, multilabel)


def problems(y_true, y_score, caller: str) -> _DeviceProblems:
    """The validated problems of ``multilabel_report`` / ``best_thresholds`` on device data;
    bad input raises the CPU function's ValueError."""
    try:
        return _DeviceProblems(_scored(y_true, y_score), 0)
    except Unsupported as exc:
        reason = f" ({exc})" if str(exc) else ""
        raise ValueError(
            f"{caller} expects y_true as 0/1 targets of shape (n_samples,) or "
            "(n_samples, n_labels), and y_score as finite int or float scores of the same "
            f"shape, with at least one sample{reason}"
        ) from None


def best_thresholds(y_true, y_score, metric: str, beta: float, target):
    """:func:`fastml.metrics.best_thresholds` of device data (parameters already checked):
    a ``BestThresholds`` of float64 device arrays."""
    from fastml.metrics._curves import BEST_F1, BEST_THR, BestThresholds

    p = problems(y_true, y_score, "best_thresholds")
    xp = namespace(p.t.score)
    if metric == "f1":
        stats = p.stats(flat=False)
        return BestThresholds(_gpu.mark(xp, xp.asarray(stats[:, BEST_THR].copy())),
                              _gpu.mark(xp, xp.asarray(stats[:, BEST_F1].copy())))
    k = gpu_kernels("metrics_curves")
    code = {"fbeta": k.FBETA, "recall": k.RECALL, "precision": k.PRECISION}[metric]
    s_lm = xp.ascontiguousarray(p.t.score.T, dtype=np.float64)  # label-major problems
    y_lm = xp.ascontiguousarray(p.t.y.T)
    thr, score = k.operating_points(s_lm, y_lm, code, beta, 0.0 if target is None else target)
    return BestThresholds(_gpu.mark(xp, thr), _gpu.mark(xp, score))


# ----------------------------------------------------------------------------- batch axis


def batch_average_precision_score(y_true, y_score, average, sample_weight):
    """:func:`fastml.metrics.batch_average_precision_score` of device data (``average``
    already checked): a float64 device array (B,) or (B, L)."""
    from fastml.metrics import _curves as C
    from fastml.metrics._curves import POS_W, average_precision_score

    xp = namespace(y_true, y_score)
    try:
        y = _read(xp, y_true)
        s = _read(xp, y_score)
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
        y8 = _indicator01(y)
    except Unsupported:
        raise ValueError("y_true must contain only 0 and 1 (a binary indicator)") from None
    try:
        s = _gpu.finite_scores(xp, s)
    except Unsupported:
        raise ValueError("y_score must be finite int or float scores (no NaN or inf)") from None
    try:
        w = sample_weights(to_host(sample_weight), y.shape[0])
    except Unsupported:
        raise ValueError(
            "sample_weight must be finite, non-negative, not all zero, of shape (n_samples,)"
        ) from None
    y8, s = _gpu.mark(xp, y8), _gpu.mark(xp, xp.ascontiguousarray(s))
    try:
        w, e = unit_weights(w)
    except Unsupported:
        # non-zero weights spanning more than 2**900: scikit-learn computes each member on
        # the host (as on the CPU path), so the inputs are copied there in this case only
        cut = (lambda a: a[:, 0]) if binary else (lambda a: a)
        yh, sh = np.asarray(to_host(y8)), np.asarray(to_host(s))
        out = np.array(
            [
                average_precision_score(cut(yh), cut(sb), average=average, sample_weight=w)
                for sb in sh
            ],
            dtype=np.float64,
        )
        return _gpu.mark(xp, xp.asarray(out))
    if binary or average == "micro":
        stats = C._flat_stats(y8, s, w)
        C._warn_no_positive(stats, once=True)
        out = C._ap_from_stats(stats)
    elif average == "samples":
        stats = C._row_stats(y8, s)
        C._warn_no_positive(stats, once=True)
        scores = C._ap_from_stats(stats)
        if w is not None:
            scores = np.where(w == 0, 0.0, scores)
        out = np.average(scores, axis=1, weights=w)
    else:
        stats = C._column_stats(y8, s, w)
        C._warn_no_positive(stats[0], once=False)
        scores = C._ap_from_stats(stats)
        if average is None:
            out = scores
        elif average == "weighted":
            support = stats[0, :, POS_W]
            if C._no_support(support, e):
                out = np.zeros(s.shape[0])
            else:
                scores = np.where(support == 0, 0.0, scores)
                out = np.average(scores, axis=1, weights=support)
        else:
            out = scores.mean(axis=1)
    return _gpu.mark(xp, xp.asarray(np.asarray(out, dtype=np.float64)))


def _batch_array(xp, y, name: str, *, allow_sparse: bool):
    if _is_sparse(y) and not allow_sparse:
        raise ValueError(f"{name} must be a dense array, not a sparse matrix.")
    try:
        return _read(xp, y, allow_sparse=allow_sparse)
    except Unsupported:
        raise ValueError(
            f"{name} must be an array-like of 0/1 numbers (bool, integer or float)."
        ) from None


def _batch_binary(y, name: str):
    try:
        return _indicator01(y)
    except Unsupported:
        raise ValueError(f"{name} must contain only the values 0 and 1.") from None


def batch_hamming_loss(y_true, y_pred, sample_weight):
    """:func:`fastml.metrics.batch_hamming_loss` of device data: a float64 device array
    (B,)."""
    xp = namespace(y_true, y_pred)
    yt = _batch_array(xp, y_true, "y_true", allow_sparse=True)
    if yt.ndim not in (1, 2):
        raise ValueError(
            f"y_true must be 1-D (n_samples,) or 2-D (n_samples, n_labels); got shape {yt.shape}."
        )
    yp = _batch_array(xp, y_pred, "y_pred", allow_sparse=False)
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
    yt = yt.reshape(yt.shape[0], -1)
    n_samples, n_labels = yt.shape
    n_models = yp.shape[0]
    yt = _gpu.mark(xp, _batch_binary(yt, "y_true"))
    if n_models:
        yp = _batch_binary(yp, "y_pred").reshape(n_models, n_samples, n_labels)
        yp = _gpu.mark(xp, yp)
    w = None
    if sample_weight is not None:
        from fastml._validation import plain_array

        try:
            w = plain_array(to_host(sample_weight), "sample_weight").astype(np.float64)
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
        w = np.ascontiguousarray(w)
    if n_models == 0:
        return _gpu.mark(xp, xp.zeros(0))
    weighted = w is not None
    k = gpu_kernels("metrics_counts")
    wrong = k.hamming_numerators(yt, yp, w if weighted else np.ones(1), weighted)
    if multilabel:
        scale = n_samples * n_labels * (np.mean(w) if weighted else 1.0)
    else:
        scale = np.sum(w) if weighted else n_samples
    return _gpu.mark(xp, xp.asarray(wrong / scale))
