"""The losses on device arrays (CuPy, or NumPy under numba-cuda's simulator): validation and
shaping written once against the array namespace ``xp``, the fused kernel of
``fastml.kernels.gpu.losses``. Results stay on the device (arrays of ``xp``); "mean" and "sum"
come back as Python floats, as on the CPU. Per-label parameters (a few numbers per label) are
checked on the host and moved to the device.
"""

from __future__ import annotations

import numpy as np

from fastml._gpu import gpu_kernels, namespace, to_host
from fastml._validation import label_dtype, sample_weights
from fastml.losses import _core


def _device(xp, x, what: str):
    if x is None:
        raise TypeError(f"{what} is None")
    if xp is np:
        x = to_host(x)
    try:
        return xp.asarray(x)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} must be array-like of numbers: {exc}") from exc


def _scores(xp, x, what):
    return _core._scores_dtype(_device(xp, x, what), what)


def _labels(xp, x):
    return label_dtype(_device(xp, x, "y_true"))


class _Problem(_core._Problem):
    """:class:`fastml.losses._core._Problem` with its arrays in ``xp``."""

    xp = np

    def empty_like_input(self):
        if self.label_major:
            return self.xp.empty((self.n_rows, self.n_cols), self.z.dtype).T
        return self.xp.empty(self.shape, self.z.dtype)

    def kernel_params(self, *per_label):
        rows, cols, ones = super().kernel_params(*per_label)
        xp = self.xp
        return ([xp.asarray(a, dtype=np.float64) for a in rows],
                [xp.asarray(a, dtype=self.z.dtype) for a in cols], ones)


def _prepare(xp, y_true, logits, sample_weight, from_logits: bool) -> _Problem:
    z = _scores(xp, logits, "logits" if from_logits else "probabilities")
    y = _labels(xp, y_true)
    if y.dtype.kind == "f" and y.dtype != z.dtype:
        y = y.astype(z.dtype)
    if y.shape != z.shape:
        raise ValueError(f"y_true and logits must have the same shape: {y.shape} != {z.shape}")
    shape = z.shape
    n_labels = shape[-1] if z.ndim >= 2 else 1
    n_samples = z.size // n_labels if n_labels else (shape[0] if z.ndim else 1)
    label_major = (
        z.ndim == 2 and z.flags.f_contiguous and not z.flags.c_contiguous
        and y.flags.f_contiguous
    )
    if label_major:
        zk, yk = z.T, y.T
        n_rows, n_cols = n_labels, n_samples
    else:
        zk, yk = xp.ascontiguousarray(z), xp.ascontiguousarray(y)
        n_rows, n_cols = n_samples, n_labels
    # validated on the host (one value per sample), as the CPU path does
    sw = sample_weights(None if sample_weight is None else to_host(sample_weight), n_samples,
                        errors="raise")
    p = _Problem(zk.reshape(-1), yk.reshape(-1), shape, n_rows, n_cols, label_major,
                 n_labels, sw)
    p.xp = xp
    return p


def weighted_bce(y_true, logits, w_pos, w_neg, reduction, sample_weight, from_logits,
                 return_grad, return_hess, grad_scale=1.0, *, xp=None):
    """:func:`fastml.losses.weighted_bce` on device arrays (``xp``: their namespace)."""
    xp = xp or namespace(y_true, logits)
    _core._check_reduction(reduction)
    p = _prepare(xp, y_true, logits, sample_weight, bool(from_logits))
    _core._check_common(p, reduction)
    wp = _core._per_label(_host(w_pos), p.n_labels, "w_pos")
    wn = _core._per_label(_host(w_neg), p.n_labels, "w_neg")
    (wp_row, wn_row), (wp_col, wn_col), row_ones = p.kernel_params(wp, wn)
    outs, (lf, gf, hf) = _outputs(p, reduction, return_grad, return_hess)
    result = gpu_kernels("losses").weighted_bce(
        p.z, p.y, wp_row, wp_col, wn_row, wn_col, row_ones, p.n_rows, p.n_cols,
        bool(from_logits), lf, gf, hf, float(grad_scale),
    )
    return _core._finish(p, result, outs, reduction, return_grad, return_hess, from_logits)


def focal_loss(y_true, logits, alpha, gamma, reduction, hessian, min_hess, sample_weight,
               from_logits, return_grad, return_hess, grad_scale=1.0, *, xp=None):
    """:func:`fastml.losses.focal_loss` on device arrays (``xp``: their namespace)."""
    xp = xp or namespace(y_true, logits)
    _core._check_reduction(reduction)
    if not (isinstance(hessian, str) and hessian in _core._HESSIANS):
        raise ValueError(f"hessian must be one of {tuple(_core._HESSIANS)}, got {hessian!r}")
    gamma = _core._scalar(gamma, "gamma")
    if gamma < 0:
        raise ValueError(f"gamma must be >= 0, got {gamma}")
    min_hess = _core._scalar(min_hess, "min_hess")
    p = _prepare(xp, y_true, logits, sample_weight, bool(from_logits))
    _core._check_common(p, reduction)
    a_pos, a_neg = _core._alpha_weights(_host(alpha), p.n_labels)
    (ap_row, an_row), (ap_col, an_col), row_ones = p.kernel_params(a_pos, a_neg)
    outs, (lf, gf, hf) = _outputs(p, reduction, return_grad, return_hess)
    result = gpu_kernels("losses").focal(
        p.z, p.y, ap_row, ap_col, an_row, an_col, row_ones, p.n_rows, p.n_cols,
        bool(from_logits), gamma, _core._HESSIANS[hessian], min_hess, lf, gf, hf,
        float(grad_scale),
    )
    return _core._finish(p, result, outs, reduction, return_grad, return_hess, from_logits)


def _host(v):
    """A per-label parameter on the host (a few numbers: the copy is negligible)."""
    return to_host(v)


def _outputs(p: _Problem, reduction, return_grad, return_hess):
    empty = p.xp.empty(0, p.z.dtype)
    loss = p.empty_like_input() if reduction == "none" else None
    grad = p.empty_like_input() if return_grad else None
    hess = p.empty_like_input() if return_hess else None
    flat = [empty if a is None else p.flat(a) for a in (loss, grad, hess)]
    return (loss, grad, hess), flat
