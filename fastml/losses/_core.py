"""Per-label weighted binary cross-entropy and focal loss: value, gradient and hessian with
respect to the logits from one fused pass (``fastml.kernels.cpu.losses``), and per-label
class weights from label frequencies.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from numbers import Real
from typing import Literal

import numpy as np

from fastml._backend import is_cupy, is_dask, kernels
from fastml._validation import (
    LOSS_LABEL_RULES,
    LOSS_TARGET_RULES,
    find_stack_level,
    label_matrix,
    sample_weights,
    to_numpy,
)

Reduction = Literal["mean", "sum", "none"]
_REDUCTIONS = ("mean", "sum", "none")
_HESSIANS = {"exact": 0, "clip": 1, "abs": 2, "fisher": 3}  # kernels' H_EXACT, ... H_FISHER
_METHODS = ("frequency", "balanced", "pos_weight")


# ------------------------------------------------------------------------ input handling


def _scores_dtype(a, what: str = "logits"):
    """``a`` (a NumPy or device array) with the scores' dtype rule: float32 / float64 kept,
    other floats widened, integers as float64; anything else is a TypeError."""
    kind = a.dtype.kind
    if kind == "f":
        if a.dtype in (np.float32, np.float64):
            return a
        return a.astype(np.float32 if a.dtype.itemsize < 4 else np.float64)
    if kind in "iu":
        return a.astype(np.float64)
    raise TypeError(f"{what} must have a real (float or integer) dtype, got {a.dtype}")


def _as_scores(x, what: str = "logits") -> np.ndarray:
    """Logits or probabilities as float32/float64 (kept), other real numbers as float64."""
    return _scores_dtype(to_numpy(x, what), what)


def _as_labels(x) -> np.ndarray:
    """Labels as uint8 (bool/integer 0/1: bool is viewed, not copied) or float32/float64."""
    return label_matrix(x, "y_true", LOSS_TARGET_RULES).y


def _per_label(value, n_labels: int, what: str, *, allow_negative: bool = False) -> np.ndarray:
    """A scalar or a (n_labels,) array of finite numbers, as float64 (n_labels,)."""
    if value is None:
        return np.ones(n_labels)
    a = to_numpy(value, what)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{what} must be a number or an array of numbers, got dtype {a.dtype}")
    a = a.astype(np.float64)
    if a.ndim == 0:
        a = np.full(n_labels, float(a))
    elif a.shape != (n_labels,):
        raise ValueError(
            f"{what} must be a scalar or have one value per label ({n_labels}), "
            f"got shape {a.shape}"
        )
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{what} must be finite")
    if not allow_negative and np.any(a < 0):
        raise ValueError(f"{what} must be >= 0")
    return a


def _label_axis_shape(shape: tuple, *per_label) -> tuple:
    """The shape under which the torch losses hand a tensor to the kernels.

    In torch the last axis holds the labels: ``pos_weight`` (and fastml's per-label
    ``w_neg`` and ``alpha``) broadcast against it. A 1-D tensor of K logits given a
    per-label parameter of K values is therefore one row of K labels, ``(1, K)``; any other
    shape is kept (a 1-D tensor with scalar parameters is K independent entries either
    way, and the kernels read the last axis of a 2-D or wider tensor as the labels).
    """
    if len(shape) != 1 or shape[0] == 1:
        return tuple(shape)
    for value in per_label:
        if value is not None and np.ndim(value) == 1 and np.shape(value)[0] == shape[0]:
            return (1, shape[0])
    return tuple(shape)


@dataclass
class _Problem:
    """Validated inputs in the kernels' view: one C-contiguous (n_rows, n_cols) array."""

    z: np.ndarray  # flat, float32/float64
    y: np.ndarray  # flat, uint8/float32/float64
    shape: tuple  # the caller's shape
    n_rows: int
    n_cols: int
    label_major: bool  # kernel rows are labels (Fortran-ordered (n, K) input)
    n_labels: int
    sample_weight: np.ndarray | None  # float64 (n_samples,)

    def empty_like_input(self) -> np.ndarray:
        """An uninitialised array shaped and laid out like the input."""
        if self.label_major:
            return np.empty((self.n_rows, self.n_cols), self.z.dtype).T
        return np.empty(self.shape, self.z.dtype)

    def flat(self, a: np.ndarray) -> np.ndarray:
        """The kernel's flat view of an output from :meth:`empty_like_input` (no copy)."""
        return (a.T if self.label_major else a).reshape(-1)

    def kernel_params(self, *per_label: np.ndarray):
        """The kernels' view of per-label parameters (each times the sample weight): lists
        of ``p_row`` (float64) and ``p_col`` (z's dtype) with ``param = p_row[r] * p_col[c]``,
        and whether every ``p_row`` is all ones (then it is not read)."""
        sw = self.sample_weight
        dtype = self.z.dtype
        if not self.label_major:
            rows = [np.ones(1) if sw is None else sw] * len(per_label)
            return rows, [a.astype(dtype) for a in per_label], sw is None
        col = np.ones(self.n_cols, dtype) if sw is None else sw.astype(dtype)
        ones = all(bool(np.all(a == 1.0)) for a in per_label)
        rows = [np.ones(1) if ones else a for a in per_label]
        return rows, [col] * len(per_label), ones


def _prepare(y_true, logits, sample_weight, from_logits: bool) -> _Problem:
    z = _as_scores(logits, "logits" if from_logits else "probabilities")
    y = _as_labels(y_true)
    if y.dtype.kind == "f" and y.dtype != z.dtype:  # the kernels take uint8 or z's dtype
        y = y.astype(z.dtype)
    if y.shape != z.shape:
        raise ValueError(f"y_true and logits must have the same shape: {y.shape} != {z.shape}")
    shape = z.shape
    n_labels = shape[-1] if z.ndim >= 2 else 1
    n_samples = z.size // n_labels if n_labels else (shape[0] if z.ndim else 1)
    label_major = (
        z.ndim == 2
        and z.flags.f_contiguous
        and not z.flags.c_contiguous
        and y.flags.f_contiguous
    )
    if label_major:
        zk, yk = z.T, y.T  # C-contiguous (K, n) views
        n_rows, n_cols = n_labels, n_samples
    else:
        zk, yk = np.ascontiguousarray(z), np.ascontiguousarray(y)
        n_rows, n_cols = n_samples, n_labels
    sw = sample_weights(sample_weight, n_samples, errors="raise")
    return _Problem(
        zk.reshape(-1), yk.reshape(-1), shape, n_rows, n_cols, label_major, n_labels, sw
    )


def _check_reduction(reduction) -> None:
    if not (isinstance(reduction, str) and reduction in _REDUCTIONS):
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _outputs(p: _Problem, reduction: str, return_grad: bool, return_hess: bool):
    empty = np.empty(0, p.z.dtype)
    loss = p.empty_like_input() if reduction == "none" else None
    grad = p.empty_like_input() if return_grad else None
    hess = p.empty_like_input() if return_hess else None
    flat = [empty if a is None else p.flat(a) for a in (loss, grad, hess)]
    return (loss, grad, hess), flat


def _finish(p, result, outs, reduction, return_grad, return_hess, from_logits):
    total, bad_z, bad_y = result
    if bad_z:
        what = (
            "NaN or infinite logits" if from_logits else "probabilities outside [0, 1] or NaN"
        )
        raise ValueError(f"found {bad_z} {what}")
    if bad_y:
        raise ValueError(f"y_true must lie in [0, 1]; found {bad_y} values outside or NaN")
    loss, grad, hess = outs
    if reduction == "none":
        value = loss
    elif reduction == "sum":
        value = float(total)
    else:
        value = float(total) / p.z.size
    extra = [a for a, want in ((grad, return_grad), (hess, return_hess)) if want]
    return (value, *extra) if extra else value


def _check_common(p: _Problem, reduction: str) -> None:
    if p.z.size == 0 and reduction == "mean":
        raise ValueError("the mean loss of an empty input is undefined")


# ------------------------------------------------------------------------ label weights


def label_frequencies(Y) -> tuple[np.ndarray, np.ndarray]:
    """Per-label frequency of positives and of negatives.

    Parameters
    ----------
    Y : array-like of shape (n_samples, n_labels) or (n_samples,)
        Label indicator matrix (0/1, bool) or soft labels in [0, 1]. A 1-D array is one
        label.

    Returns
    -------
    pos_freq, neg_freq : ndarray of shape (n_labels,)
        Mean of ``Y`` per label, and ``1 - pos_freq``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastml.losses import label_frequencies
    >>> Y = np.array([[1, 0], [0, 0], [1, 0], [0, 1]])
    >>> pos, neg = label_frequencies(Y)
    >>> pos.tolist(), neg.tolist()
    ([0.5, 0.25], [0.5, 0.75])
    """
    if is_dask(Y):
        from fastml._dask import losses as dask_losses

        return dask_losses.label_frequencies(label_frequencies, Y)
    # a 1-D Y is one label; 0/1 or soft labels in [0, 1], at least one sample
    y = label_matrix(Y, "y_true", LOSS_LABEL_RULES).y
    pos = y.mean(axis=0, dtype=np.float64)
    return pos, 1.0 - pos


def label_weights(
    Y,
    method: Literal["frequency", "balanced", "pos_weight"] = "frequency",
    *,
    one_class: Literal["neutral", "raise"] = "neutral",
) -> tuple[np.ndarray, np.ndarray]:
    """Per-label weights ``(w_pos, w_neg)`` that rebalance positives against negatives.

    Parameters
    ----------
    Y : array-like of shape (n_samples, n_labels) or (n_samples,)
        Label indicator matrix (0/1, bool) or soft labels in [0, 1].
    method : {"frequency", "balanced", "pos_weight"}, default="frequency"
        With ``p`` / ``q`` the frequency of positives / negatives of a label and ``n`` the
        number of samples:

        - "frequency": ``w_pos = q``, ``w_neg = p``: both classes carry the same total
          weight ``p q`` (weights sum to 1 per label).
        - "balanced": ``w_pos = 1 / (2 p)``, ``w_neg = 1 / (2 q)``, i.e. ``n / (2 count)``
          as scikit-learn's ``class_weight="balanced"`` (each class carries weight n / 2).
        - "pos_weight": ``w_pos = q / p`` (torch's ``pos_weight = n_neg / n_pos``),
          ``w_neg = 1``.

        All three give the same ratio ``w_pos / w_neg = q / p``; they differ by a per-label
        scale (which matters for ``min_child_weight`` in boosting and for how labels share a
        network's loss).
    one_class : {"neutral", "raise"}, default="neutral"
        What to do with a label that has no positives or no negatives (its frequency ratio
        is undefined). "neutral" gives it the weights of a balanced label (frequency:
        0.5 / 0.5; balanced and pos_weight: 1 / 1), i.e. no reweighting, and warns;
        "raise" raises ValueError. Weights are never inf or NaN.

    Returns
    -------
    w_pos, w_neg : ndarray of shape (n_labels,)

    Examples
    --------
    >>> import numpy as np
    >>> from fastml.losses import label_weights
    >>> Y = np.array([[1, 0], [0, 0], [0, 0], [0, 1]])
    >>> w_pos, w_neg = label_weights(Y, "balanced")
    >>> w_pos.tolist(), w_neg.tolist()
    ([2.0, 2.0], [0.6666666666666666, 0.6666666666666666])
    >>> label_weights(Y, "frequency")[0].tolist()
    [0.75, 0.75]
    """
    if not (isinstance(method, str) and method in _METHODS):
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    if one_class not in ("neutral", "raise"):
        raise ValueError(f"one_class must be 'neutral' or 'raise', got {one_class!r}")
    pos, neg = label_frequencies(Y)
    degenerate = (pos <= 0.0) | (neg <= 0.0)
    if degenerate.any():
        labels = np.flatnonzero(degenerate).tolist()
        message = f"labels {labels} have no positives or no negatives"
        if one_class == "raise":
            raise ValueError(message)
        warnings.warn(
            f"{message}; they get neutral weights (no reweighting)",
            UserWarning,
            stacklevel=find_stack_level(),
        )
    p = np.where(degenerate, 0.5, pos)
    q = np.where(degenerate, 0.5, neg)
    if method == "frequency":
        return q.copy(), p.copy()
    if method == "balanced":
        return 0.5 / p, 0.5 / q
    return q / p, np.ones_like(p)


# ------------------------------------------------------------------------------- losses


def weighted_bce(
    y_true,
    logits,
    w_pos=None,
    w_neg=None,
    *,
    reduction: Reduction = "mean",
    sample_weight=None,
    from_logits: bool = True,
    return_grad: bool = False,
    return_hess: bool = False,
) -> float | np.ndarray | tuple:
    """Per-label weighted binary cross-entropy, with its gradient and hessian w.r.t. the
    logits from the same pass.

    ``loss = w_pos * y * softplus(-z) + w_neg * (1 - y) * softplus(z)`` per element, i.e.
    ``-(w_pos y log sigma(z) + w_neg (1 - y) log(1 - sigma(z)))``, computed in stable form.
    With ``w_neg=1`` this is torch's ``binary_cross_entropy_with_logits(z, y,
    pos_weight=w_pos)``.

    Parameters
    ----------
    y_true : array-like, same shape as ``logits``
        Targets in [0, 1]: 0/1 (bool, int) or soft labels (float).
    logits : array-like of shape (n_samples, n_labels), (n_samples,) or (..., n_labels)
        Raw scores z. float32 stays float32 (computed in float32), float64 stays float64;
        integers become float64. The last axis holds the labels.
    w_pos, w_neg : float or array-like of shape (n_labels,), default=None (1.0)
        Weight of the positive / negative term, per label (see :func:`label_weights`).
    reduction : {"mean", "sum", "none"}, default="mean"
        "mean" divides the weighted sum by the number of elements (as torch), "sum" returns
        the sum, "none" the per-element losses (shape and dtype of ``logits``). Sums are
        accumulated in float64.
    sample_weight : array-like of shape (n_samples,), default=None
        Weight of each sample (row), multiplied into every term.
    from_logits : bool, default=True
        False: ``logits`` holds probabilities p in [0, 1]; ``-log p`` and ``-log(1 - p)``
        are capped at 100 (as torch's ``binary_cross_entropy``). Gradients and hessians are
        still taken w.r.t. the logit ``z = log(p / (1 - p))``.
    return_grad, return_hess : bool, default=False
        Also return d loss / d z and d^2 loss / d z^2, element-wise (arrays shaped and laid
        out like ``logits``). They are the derivatives of each element's loss, not scaled
        by the reduction: for ``reduction="mean"`` the gradient of the returned value is
        ``grad / logits.size``. The hessian is ``(a + b) sigma(z) sigma(-z) >= 0``.

    Returns
    -------
    loss : float or ndarray
        A Python float for "mean" / "sum", an array for "none".
    grad : ndarray, only when ``return_grad``
    hess : ndarray, only when ``return_hess``
        Returned in the order (loss, grad, hess), skipping the ones not asked for.

    Raises
    ------
    ValueError
        Shapes differ; NaN or infinite logits; probabilities or labels outside [0, 1] or
        NaN; negative or non-finite weights; unknown reduction.
    TypeError
        Non-numeric input.

    Notes
    -----
    One parallel compiled pass reads ``y`` and ``z`` once and writes only the outputs asked
    for; its exp/log are vectorised polynomials (a few ulp). Threads: ``FASTML_NUM_THREADS``
    or ``fastml.set_num_threads``. The loss sum does not depend on the thread count.

    Examples
    --------
    >>> import numpy as np
    >>> from fastml.losses import weighted_bce
    >>> y = np.array([[1, 0], [0, 1]])
    >>> z = np.array([[2.0, -1.0], [0.5, 3.0]])
    >>> round(weighted_bce(y, z), 6)
    0.365714
    >>> loss, grad, hess = weighted_bce(y, z, w_pos=[2.0, 1.0], reduction="sum",
    ...                                 return_grad=True, return_hess=True)
    >>> round(loss, 6), grad.round(4).tolist()
    (1.589782, [[-0.2384, 0.2689], [0.6225, -0.0474]])
    """
    if is_dask(y_true) or is_dask(logits) or is_dask(sample_weight):
        from fastml._dask import losses as dask_losses

        _check_reduction(reduction)
        return dask_losses.loss(
            weighted_bce, y_true, logits, w_pos=w_pos, w_neg=w_neg, reduction=reduction,
            sample_weight=sample_weight, from_logits=from_logits, return_grad=return_grad,
            return_hess=return_hess,
        )
    return _weighted_bce(
        y_true, logits, w_pos, w_neg, reduction, sample_weight, from_logits, return_grad,
        return_hess,
    )


def _weighted_bce(
    y_true, logits, w_pos, w_neg, reduction, sample_weight, from_logits, return_grad,
    return_hess, grad_scale=1.0,
):
    """:func:`weighted_bce`, with gradient and hessian multiplied by ``grad_scale``."""
    if is_cupy(y_true) or is_cupy(logits):
        from fastml.losses import _gpu

        return _gpu.weighted_bce(y_true, logits, w_pos, w_neg, reduction, sample_weight,
                                 from_logits, return_grad, return_hess, grad_scale)
    _check_reduction(reduction)
    p = _prepare(y_true, logits, sample_weight, bool(from_logits))
    _check_common(p, reduction)
    wp = _per_label(w_pos, p.n_labels, "w_pos")
    wn = _per_label(w_neg, p.n_labels, "w_neg")
    (wp_row, wn_row), (wp_col, wn_col), row_ones = p.kernel_params(wp, wn)
    outs, (lf, gf, hf) = _outputs(p, reduction, return_grad, return_hess)
    result = kernels("losses").weighted_bce(
        p.z, p.y, wp_row, wp_col, wn_row, wn_col, row_ones, p.n_rows, p.n_cols,
        bool(from_logits), lf, gf, hf, float(grad_scale),
    )
    return _finish(p, result, outs, reduction, return_grad, return_hess, from_logits)


def focal_loss(
    y_true,
    logits,
    *,
    alpha=0.25,
    gamma: float = 2.0,
    reduction: Reduction = "mean",
    hessian: Literal["exact", "clip", "abs", "fisher"] = "exact",
    min_hess: float = 1e-6,
    sample_weight=None,
    from_logits: bool = True,
    return_grad: bool = False,
    return_hess: bool = False,
) -> float | np.ndarray | tuple:
    """Sigmoid focal loss (Lin et al. 2017, as torchvision's ``sigmoid_focal_loss``), with
    its gradient and hessian w.r.t. the logits from the same pass.

    Per element, with ``p = sigma(z)``, ``p_t = p y + (1 - p)(1 - y)`` and
    ``alpha_t = alpha y + (1 - alpha)(1 - y)``:
    ``loss = alpha_t (1 - p_t)**gamma * BCE(z, y)``, computed in stable form
    (``1 - p_t = y sigma(-z) + (1 - y) sigma(z)``, no subtraction).

    Parameters
    ----------
    y_true : array-like, same shape as ``logits``
        Targets in [0, 1]: 0/1 or soft labels (the formulas above, interpolated).
    logits : array-like of shape (n_samples, n_labels), (n_samples,) or (..., n_labels)
        Raw scores; float32 stays float32, float64 stays float64.
    alpha : float, array-like of shape (n_labels,), or None, default=0.25
        Weight of the positives (negatives get ``1 - alpha``), per label or shared. A
        negative value (torchvision's ``alpha=-1``) or None disables the weighting
        (``alpha_t = 1``) for that label.
    gamma : float, default=2.0
        Focusing parameter, >= 0; 0 gives the alpha-weighted BCE. ``gamma=2`` has a faster
        path.
    reduction : {"mean", "sum", "none"}, default="mean"
        As in :func:`weighted_bce`.
    hessian : {"exact", "clip", "abs", "fisher"}, default="exact"
        Which second derivative ``return_hess`` gives. The exact hessian of the focal loss is
        negative for confidently wrong predictions (``p_t`` below about 0.06 at
        ``gamma=2``), which stalls or derails Newton-type boosting. "clip" is
        ``max(exact, min_hess)``, "abs" is ``|exact|``, "fisher" is the BCE-style surrogate
        ``alpha_t sigma(z) sigma(-z)``: the hessian of the alpha-weighted BCE (the Fisher
        information of the logit), always > 0 and never smaller than the logistic loss's
        where the focal loss is hard to optimise.

        For XGBoost / LightGBM use "fisher" (the default of :class:`XGBoostObjective` and
        :class:`LightGBMObjective`): it trains from any starting margin. "abs" came closer
        to the logistic objective's AP when starting from the label priors in our tests,
        but is near zero around ``p_t`` of 0.06; "exact" and "clip" stall from a bad start
        (the hessian sums fall below ``min_child_weight``, or turn negative). Use "exact"
        for analysing the loss itself.
    min_hess : float, default=1e-6
        Floor of the "clip" hessian.
    sample_weight, from_logits, return_grad, return_hess
        As in :func:`weighted_bce` (gradients are element-wise, not scaled by the reduction).

    Returns
    -------
    loss : float or ndarray
    grad : ndarray, only when ``return_grad``
    hess : ndarray, only when ``return_hess``

    Examples
    --------
    >>> import numpy as np
    >>> from fastml.losses import focal_loss
    >>> y = np.array([[1, 0], [0, 1]])
    >>> z = np.array([[2.0, -1.0], [0.5, 3.0]])
    >>> round(focal_loss(y, z), 6)
    0.075133
    >>> loss, grad, hess = focal_loss(y, z, alpha=None, gamma=0.0, reduction="none",
    ...                               return_grad=True, return_hess=True)  # = plain BCE
    >>> grad.round(4).tolist()
    [[-0.1192, 0.2689], [0.6225, -0.0474]]
    """
    if is_dask(y_true) or is_dask(logits) or is_dask(sample_weight):
        from fastml._dask import losses as dask_losses

        _check_reduction(reduction)
        return dask_losses.loss(
            focal_loss, y_true, logits, alpha=alpha, gamma=gamma, hessian=hessian,
            min_hess=min_hess, reduction=reduction, sample_weight=sample_weight,
            from_logits=from_logits, return_grad=return_grad, return_hess=return_hess,
        )
    return _focal_loss(
        y_true, logits, alpha, gamma, reduction, hessian, min_hess, sample_weight, from_logits,
        return_grad, return_hess,
    )


def _focal_loss(
    y_true, logits, alpha, gamma, reduction, hessian, min_hess, sample_weight, from_logits,
    return_grad, return_hess, grad_scale=1.0,
):
    """:func:`focal_loss`, with gradient and hessian multiplied by ``grad_scale``."""
    if is_cupy(y_true) or is_cupy(logits):
        from fastml.losses import _gpu

        return _gpu.focal_loss(y_true, logits, alpha, gamma, reduction, hessian, min_hess,
                               sample_weight, from_logits, return_grad, return_hess, grad_scale)
    _check_reduction(reduction)
    if not (isinstance(hessian, str) and hessian in _HESSIANS):
        raise ValueError(f"hessian must be one of {tuple(_HESSIANS)}, got {hessian!r}")
    gamma = _scalar(gamma, "gamma")
    if gamma < 0:
        raise ValueError(f"gamma must be >= 0, got {gamma}")
    min_hess = _scalar(min_hess, "min_hess")
    p = _prepare(y_true, logits, sample_weight, bool(from_logits))
    _check_common(p, reduction)
    a_pos, a_neg = _alpha_weights(alpha, p.n_labels)
    (ap_row, an_row), (ap_col, an_col), row_ones = p.kernel_params(a_pos, a_neg)
    outs, (lf, gf, hf) = _outputs(p, reduction, return_grad, return_hess)
    result = kernels("losses").focal(
        p.z, p.y, ap_row, ap_col, an_row, an_col, row_ones, p.n_rows, p.n_cols,
        bool(from_logits), gamma, _HESSIANS[hessian], min_hess, lf, gf, hf, float(grad_scale),
    )
    return _finish(p, result, outs, reduction, return_grad, return_hess, from_logits)


def _scalar(value, what: str) -> float:
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if not isinstance(value, Real) or isinstance(value, bool):
        raise TypeError(f"{what} must be a real number, got {value!r}")
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(f"{what} must be finite, got {v}")
    return v


def _alpha_weights(alpha, n_labels: int) -> tuple[np.ndarray, np.ndarray]:
    """(alpha_t of positives, alpha_t of negatives) per label; negative alpha: both 1."""
    if alpha is None:
        return np.ones(n_labels), np.ones(n_labels)
    a = _per_label(alpha, n_labels, "alpha", allow_negative=True)
    if np.any(a > 1):
        raise ValueError("alpha must be <= 1 (or negative to disable the weighting)")
    off = a < 0
    return np.where(off, 1.0, a), np.where(off, 1.0, 1.0 - a)
