"""Shared glue of the GPU paths: the array namespace of device inputs and the GPU kernel
modules, with clear errors when the ``gpu`` extra is not installed.

Device arrays are CuPy arrays (or objects exposing ``__cuda_array_interface__``); under
numba-cuda's CUDA simulator, NumPy arrays marked as device data
(``fastml.kernels.gpu._launch.DeviceArray``) take the same path with ``xp = numpy``.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from fastml._backend import CUPY, is_cupy, kernels

_EXTRA = "install fastml-multilabel[gpu] (CuPy and numba-cuda)"


def namespace(*arrays):
    """NumPy when every device input is a (simulated) NumPy array, else CuPy."""
    for a in arrays:
        if a is not None and is_cupy(a) and not isinstance(a, np.ndarray):
            try:
                import cupy
            except ImportError as exc:
                raise TypeError(f"CuPy input needs CuPy: {_EXTRA}") from exc
            return cupy
    return np


def gpu_kernels(hot_path: str) -> ModuleType:
    """The GPU kernel module of ``hot_path`` (TypeError when numba-cuda is missing)."""
    try:
        return kernels(hot_path, CUPY)
    except ImportError as exc:
        raise TypeError(f"CuPy input needs numba-cuda: {_EXTRA} ({exc})") from exc


def to_host(a):
    """A device array's host copy (NumPy arrays and scalars unchanged)."""
    if a is None or (isinstance(a, np.ndarray) and not is_cupy(a)):
        return a
    if hasattr(a, "get"):
        return a.get()
    if is_cupy(a):  # another __cuda_array_interface__ object: through CuPy
        return namespace(a).asnumpy(a)
    return a


def to_device(xp, a):
    """``a`` (host or device) as an array of ``xp``."""
    if a is None:
        return None
    if xp is np:
        return np.asarray(to_host(a) if is_cupy(a) else a)
    return xp.asarray(a)
