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
