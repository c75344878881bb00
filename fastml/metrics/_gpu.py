"""Device-side input handling of the metrics: targets checked and narrowed on the device
(array namespace ``xp``: CuPy, or NumPy under numba-cuda's simulator); the counting and
ranking kernels then run on them and the finishing code is the CPU path's own."""

from __future__ import annotations

import numpy as np

from fastml._gpu import namespace, to_device
from fastml._validation import require


def indicator(y, other=None):
    """``y`` as a C-contiguous uint8 0/1 device array (raises Unsupported otherwise, so that
    the call goes to the reference). A host ``y`` next to a device ``other`` is copied over."""
    xp = namespace(y, other)
    require(y is not None)
    try:
        a = to_device(xp, y)
    except Exception as exc:  # ragged lists, objects, ...
        from fastml._validation import Unsupported

        raise Unsupported from exc
    require(a.dtype.kind in "biuf" and a.dtype != np.float16)
    if a.dtype.kind == "b":
        return xp.ascontiguousarray(a).view(np.uint8)
    require(a.size > 0)
    require(bool(xp.all((a == 0) | (a == 1))))
    return xp.ascontiguousarray(a.astype(np.uint8, copy=False))


def mark(xp, a):
    """``a`` as device data of its run: itself with CuPy; under the simulator a NumPy view
    that :func:`fastml._backend.is_cupy` recognises, so later steps keep the GPU path."""
    if xp is np:
        from fastml.kernels.gpu._launch import simulated

        return simulated(a)
    return a


def scored_targets(y_true, y_score, sample_weight, pos_label):
    """:func:`fastml._validation.scored_targets` (plus ``binary_target``'s label rule) for
    device data: 0/1 targets and finite scores checked on the device; sample weights (one
    number per row) checked on the host. Raises Unsupported for anything else."""
    from fastml._gpu import to_host
    from fastml._validation import (
        ScoredTargets,
        Unsupported,
        binary_target,
        sample_weights,
    )

    xp = namespace(y_true, y_score)
    try:
        y = to_device(xp, y_true)
        s = to_device(xp, y_score)
    except Exception as exc:
        raise Unsupported from exc
    if y.ndim == 2:
        multilabel = True
        require(s.ndim == 2 and y.shape == s.shape and y.shape[1] >= 2)
        y8 = indicator(y)
    else:
        multilabel = False
        require(y.ndim == 1 and s.ndim == 1 and y.shape == s.shape)
        # any two labels: the label rule runs on the host copy of the targets (n values)
        y8 = xp.asarray(binary_target(to_host(y), pos_label)).reshape(-1, 1)
        s = s.reshape(-1, 1)
    require(y8.shape[0] >= 1)
    s = finite_scores(xp, s)
    w = sample_weights(to_host(sample_weight), y8.shape[0])
    return ScoredTargets(mark(xp, y8), mark(xp, s), w, multilabel)


def finite_scores(xp, s):
    """:func:`fastml._validation.finite_scores` on the device: float32 / float64 kept,
    float16 widened to float32, integers to float64 where exact (|value| <= 2**53); bool
    scores, NaN or inf raise Unsupported."""
    kind = s.dtype.kind
    if kind == "f":
        if s.dtype == np.float16:
            s = s.astype(np.float32)
        require(s.dtype in (np.float32, np.float64))
        require(bool(xp.isfinite(s).all()))
        return s
    require(kind in "iu")
    if s.dtype.itemsize == 8 and s.size:
        require(max(abs(int(s.min())), abs(int(s.max()))) <= 2**53)
    return s.astype(np.float64)
