"""Shared helpers of the GPU tests: the array namespace the GPU kernels run on here.

Under numba-cuda's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``, the default of the test
suite) the kernels run on NumPy arrays; with ``NUMBA_ENABLE_CUDASIM=0`` and a device they
run on CuPy arrays. Tests hand inputs to the device with :func:`dev` and read results back
with :func:`host`, so one test covers both.
"""

from __future__ import annotations

import importlib
import os

import numpy as np
import pytest

SIMULATOR = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"


def _namespace():
    try:  # numba-cuda, looked up by name (only kernels/gpu/ names it in its imports)
        importlib.import_module("numba.cuda")
    except Exception as exc:  # numba-cuda absent or unusable
        return None, f"numba-cuda unavailable: {exc}"
    if SIMULATOR:
        return np, None
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() > 0:
            return cupy, None
    except Exception as exc:
        return None, f"no CUDA device: {exc}"
    return None, "no CUDA device"


XP, _WHY = _namespace()
needs_gpu_kernels = pytest.mark.skipif(XP is None, reason=str(_WHY))
cudasim = [pytest.mark.cudasim, needs_gpu_kernels]


def dev(a):
    """``a`` as device data: a CuPy array on a device; in the simulator a NumPy array marked
    as device data (``DeviceArray``), which the public functions route to the GPU path."""
    if a is None:
        return None
    if XP is np:
        from fastml.kernels.gpu._launch import simulated

        return simulated(a)
    return XP.asarray(a)


def host(a):
    """``a`` back as a plain NumPy array (scalars unchanged)."""
    from fastml._gpu import to_host

    a = to_host(a)
    return a.view(np.ndarray) if isinstance(a, np.ndarray) else a


def is_device(a) -> bool:
    """Whether a result is device data of the run (a CuPy array; NumPy in the simulator)."""
    return isinstance(a, XP.ndarray)


class KernelSpy:
    """Counts calls of the GPU kernel functions of one module (proves the routing)."""

    def __init__(self, monkeypatch, hot_path: str, names):
        from fastml._gpu import gpu_kernels

        self.calls = []
        mod = gpu_kernels(hot_path)
        for name in names:
            real = getattr(mod, name)

            def spy(*args, _real=real, _name=name, **kwargs):
                self.calls.append(_name)
                return _real(*args, **kwargs)

            monkeypatch.setattr(mod, name, spy)


def tiny_launch():
    """A context in which every launch is 2 x 32 threads (grid-stride loops cover the rest)."""
    from fastml.kernels.gpu._launch import launch_size

    return launch_size(2, 32)


def cpu_kernels(hot_path: str):
    """The CPU kernel module of ``hot_path`` (compiled under ``fastml.kernels.cpu``)."""
    from fastml._backend import kernels

    return kernels(hot_path)
