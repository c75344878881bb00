"""Input-check kernels shared by the public API (``fastml._validation``).

Why Numba: checking that a 64-bit target matrix holds only 0 and 1 and narrowing it to uint8
is one fused pass here, where NumPy needs separate min, max and astype passes over the data.
"""

import numpy as np
from numba import njit, prange

_ONE_BITS = np.uint64(0x3FF0000000000000)  # float64 1.0
_CHUNK = 1 << 16
_SERIAL_MAX = 1 << 18  # below this many values a parallel launch costs more than it saves


@njit(cache=True, parallel=True)
def narrow_indicator(src, out, is_float):
    """Copy 64-bit 0/1 values into uint8 ``out``; False if any value is not 0 or 1.

    ``src`` is the flat uint64 view of a contiguous int64 array (``is_float`` false: valid
    values are the integers 0 and 1) or float64 array (``is_float`` true: valid bit patterns
    are those of 0.0, -0.0 and 1.0); ``out`` is flat uint8 of the same size.
    """
    n = src.size
    if n <= _SERIAL_MAX:
        if is_float:
            return not _narrow_float(src, out)
        return not _narrow_int(src, out)
    n_chunks = max(1, (n + _CHUNK - 1) // _CHUNK)
    bad = np.zeros(n_chunks, dtype=np.bool_)
    for c in prange(n_chunks):
        lo = c * _CHUNK
        hi = min(n, lo + _CHUNK)
        if is_float:
            bad[c] = _narrow_float(src[lo:hi], out[lo:hi])
        else:
            bad[c] = _narrow_int(src[lo:hi], out[lo:hi])
    return not bad.any()


@njit(cache=True, inline="always")
def _narrow_int(s, o):
    bad = False
    for j in range(s.size):
        v = s[j]
        o[j] = np.uint8(v)
        bad |= v > 1
    return bad


@njit(cache=True, inline="always")
def _narrow_float(s, o):
    bad = False
    for j in range(s.size):
        v = s[j]
        one = v == _ONE_BITS
        o[j] = np.uint8(one)
        bad |= not (one or (v << np.uint64(1)) == 0)
    return bad


@njit(cache=True)
def narrow01(src, out):
    """Copy the 1-D numeric ``src`` (any dtype) into the uint8 ``out`` if every value is 0 or 1
    (NaN is neither); return whether it was. Serial and branch-free, so the loop vectorises."""
    bad = np.uint8(0)
    for i in range(src.shape[0]):
        v = src[i]
        one = np.uint8(v == 1)
        bad |= np.uint8(1) ^ (one | np.uint8(v == 0))
        out[i] = one
    return bad == 0
