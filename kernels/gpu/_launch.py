"""Launch helpers shared by the GPU kernels: the array namespace of an array, the launch size
(a parameter, so that tests run tiny grids in the simulator) and CuPy's current stream.

Every kernel uses a grid-stride loop, so any launch size gives the same result; per-thread
partial results are indexed by the global thread id and reduced afterwards in a fixed order.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

import numpy as np
from numba import cuda

SIMULATOR = os.environ.get("NUMBA_ENABLE_CUDASIM", "0") == "1"
THREADS = 256  # threads per block on a device
MAX_BLOCKS = 4096  # blocks per launch at most (grid-stride loops cover the rest)
_SIM_LAUNCH = (2, 32)  # the simulator runs one Python thread per GPU thread: keep it tiny
_forced: list[tuple[int, int] | None] = [None]


@contextmanager
def launch_size(blocks: int, threads: int):
    """Run every launch in the block with ``blocks`` x ``threads`` threads (tests, tuning)."""
    old = _forced[0]
    _forced[0] = (int(blocks), int(threads))
    try:
        yield
    finally:
        _forced[0] = old


def geometry(n: int) -> tuple[int, int]:
    """(blocks, threads) for ``n`` work items."""
    if _forced[0] is not None:
        return _forced[0]
    if SIMULATOR:
        return _SIM_LAUNCH
    blocks = max(1, min(MAX_BLOCKS, (int(n) + THREADS - 1) // THREADS))
    return blocks, THREADS


class DeviceArray(np.ndarray):
    """A NumPy array that fastml treats as device data (``fastml._backend.family`` answers
    "cupy"): under numba-cuda's simulator it drives the whole GPU path, entry hooks included,
    without CuPy. ``get()`` returns the host copy, as CuPy's does."""

    __fastml_device__ = True

    def get(self) -> np.ndarray:
        return np.array(self, copy=True).view(np.ndarray)


def simulated(a) -> DeviceArray:
    """``a`` as a :class:`DeviceArray` (a view; tests under the simulator)."""
    return np.asarray(a).view(DeviceArray)


def xp_of(a):
    """The array namespace of ``a``: NumPy for NumPy arrays (the simulator), else CuPy."""
    if isinstance(a, np.ndarray):
        return np
    import cupy

    return cupy


def launch(kernel, n: int, *args) -> int:
    """Launch ``kernel`` over ``n`` items on CuPy's current stream; returns the thread count
    (the length of per-thread partial arrays the caller allocated with :func:`n_threads`)."""
    blocks, threads = geometry(n)
    if SIMULATOR or all(isinstance(a, np.ndarray) or np.isscalar(a) for a in args):
        kernel[blocks, threads](*args)
    else:
        import cupy

        stream = cuda.external_stream(cupy.cuda.get_current_stream().ptr)
        kernel[blocks, threads, stream](*args)
    return blocks * threads


def n_threads(n: int) -> int:
    """The number of threads :func:`launch` will start for ``n`` items."""
    blocks, threads = geometry(n)
    return blocks * threads
