"""Device arithmetic that must give the CPU kernels' bits: a float64 product that is never
fused into a multiply-add, and the CPU kernels' counter-based uniform random stream.

Why: NVVM contracts ``a * b + c`` into one fused multiply-add (one rounding instead of two)
unless fast math is off *and* the product is a ``__dmul_rn`` (libdevice's round-to-nearest
product, which is never contracted). The CPU kernels are built without contraction, so an
expression that must match them bit for bit (a squared distance that decides a neighbour,
an interpolated feature) takes its products from :func:`mul_rn`.

The simulator does not implement libdevice, and runs each thread as a Python thread, where
NumPy's unsigned overflow warnings cannot be silenced: there the same functions are written
with Python floats and integers (masked to 64 bits), which give the same values.
"""

from __future__ import annotations

import numpy as np
from numba import cuda

from ._launch import SIMULATOR

_GOLDEN = 0x9E3779B97F4A7C15
_MIX1 = 0xBF58476D1CE4E5B9
_MIX2 = 0x94D049BB133111EB
_MASK = (1 << 64) - 1
_UNIT = 1.0 / 9007199254740992.0  # 2**-53

_G64 = np.uint64(_GOLDEN)
_M1_64 = np.uint64(_MIX1)
_M2_64 = np.uint64(_MIX2)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)


def uniform_u64(key, i):
    """The ``i``-th uniform in [0, 1) of stream ``key`` (both uint64): SplitMix64 of
    ``key + i * golden``, top 53 bits; ``fastml_uniform`` of the CPU kernels. Written for
    uint64 arithmetic (wrapping), as the device compiles it."""
    z = key + i * _G64
    z = (z ^ (z >> _S30)) * _M1_64
    z = (z ^ (z >> _S27)) * _M2_64
    z = z ^ (z >> _S31)
    return np.float64(z >> _S11) * _UNIT


def uniform_int(key, i):
    """:func:`uniform_u64` in Python integers (the simulator's version: no NumPy overflow
    warnings in its threads)."""
    z = (int(key) + int(i) * _GOLDEN) & _MASK
    z = ((z ^ (z >> 30)) * _MIX1) & _MASK
    z = ((z ^ (z >> 27)) * _MIX2) & _MASK
    z = z ^ (z >> 31)
    return float(z >> 11) * _UNIT


def _mul_python(a, b):
    return float(a) * float(b)


if SIMULATOR:
    mul_rn = cuda.jit(device=True)(_mul_python)
    uniform = cuda.jit(device=True)(uniform_int)
else:
    from numba.cuda import libdevice

    @cuda.jit(device=True, inline=True)
    def mul_rn(a, b):
        """``a * b`` in float64, rounded on its own (never fused with an addition)."""
        return libdevice.dmul_rn(a, b)

    uniform = cuda.jit(device=True, inline=True)(uniform_u64)
