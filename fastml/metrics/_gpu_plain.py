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
    scored_shapes,
)
from fastml.metrics import _gpu
from fastml.metrics._classification import _batch_targets, _batch_weights
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
    y, s, multilabel = scored_shapes(y, s)
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
    already checked): a float64 device array (B,) or (B, L). The CPU function's checks,
    messages and finishing, over the GPU kernels."""
    from fastml.metrics._curves import _batch_ap, _BatchFamily

    xp = namespace(y_true, y_score)
    family = _BatchFamily(
        read=lambda y: _read(xp, y),
        indicator=_indicator01,
        scores=lambda s: _gpu.finite_scores(xp, s),
        ready=lambda y8, s: (_gpu.mark(xp, y8), _gpu.mark(xp, xp.ascontiguousarray(s))),
        host=lambda a: None if a is None else to_host(a),
        wrap=lambda out: _gpu.mark(xp, xp.asarray(np.asarray(out, dtype=np.float64))),
    )
    return _batch_ap(y_true, y_score, average, sample_weight, family)


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
    yt, yp, multilabel = _batch_targets(
        lambda y, name, allow_sparse: _batch_array(xp, y, name, allow_sparse=allow_sparse),
        y_true, y_pred,
    )
    n_samples, n_labels = yt.shape
    n_models = yp.shape[0]
    yt = _gpu.mark(xp, _batch_binary(yt, "y_true"))
    if n_models:
        yp = _batch_binary(yp, "y_pred").reshape(n_models, n_samples, n_labels)
        yp = _gpu.mark(xp, yp)
    w = _batch_weights(sample_weight, n_samples)
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
