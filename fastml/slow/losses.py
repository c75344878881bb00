"""The weighted BCE and focal losses straight from their formulas, one NumPy operation at a
time (element-wise value, gradient and hessian with respect to the logits)."""

from __future__ import annotations

import numpy as np
from scipy.special import expit


def weighted_bce(y, z, w_pos=1.0, w_neg=1.0, sample_weight=None, dtype=None):
    """Element-wise ``(loss, grad, hess)`` of ``w_pos y softplus(-z) + w_neg (1 - y)
    softplus(z)``. ``dtype``: compute in it (default: the dtype of ``z``)."""
    z = np.asarray(z) if dtype is None else np.asarray(z, dtype=dtype)
    y = np.asarray(y, dtype=z.dtype)
    a = w_pos * y
    b = w_neg * (1 - y)
    if sample_weight is not None:
        sw = np.asarray(sample_weight, dtype=z.dtype).reshape(-1, *[1] * (y.ndim - 1))
        a, b = a * sw, b * sw
    p, pm = expit(z), expit(-z)
    loss = a * np.logaddexp(0, -z) + b * np.logaddexp(0, z)
    return loss, b * p - a * pm, (a + b) * p * pm


def focal(y, z, alpha=0.25, gamma=2.0, dtype=None):
    """Element-wise ``(loss, grad, exact hess, fisher hess)`` of the focal loss:
    torchvision's formula for the value, the chain rule through ``p = sigmoid(z)`` for the
    derivatives. ``alpha`` None or negative: no class weighting."""
    z = np.asarray(z) if dtype is None else np.asarray(z, dtype=dtype)
    y = np.asarray(y, dtype=z.dtype)
    p = expit(z)
    ce = y * np.logaddexp(0, -z) + (1 - y) * np.logaddexp(0, z)
    m = 1 - (p * y + (1 - p) * (1 - y))
    off = alpha is None or np.all(np.asarray(alpha) < 0)
    at = 1.0 if off else alpha * y + (1 - alpha) * (1 - y)
    dp = p * (1 - p)
    dm = (1 - 2 * y) * dp
    ddm = (1 - 2 * y) * dp * (1 - 2 * p)
    loss = at * m**gamma * ce
    grad = at * (gamma * m ** (gamma - 1) * dm * ce + m**gamma * (p - y))
    hess = at * (
        gamma * (gamma - 1) * m ** (gamma - 2) * dm**2 * ce
        + gamma * m ** (gamma - 1) * ddm * ce
        + 2 * gamma * m ** (gamma - 1) * dm * (p - y)
        + m**gamma * dp
    )
    return loss, grad, hess, at * dp
