# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Input-check kernels shared by the public API (``fastml._validation``).

Checking that a wide target matrix holds only 0 and 1 and narrowing it to uint8 is one fused
pass here (NumPy needs separate min, max and astype passes). Inputs are trusted: the API hands
flat contiguous arrays of equal length.
"""

import numpy as np

cimport numpy as cnp
from libc.stdint cimport uint8_t, uint64_t

from fastml.kernels._parallel import map_tasks

cnp.import_array()

ctypedef fused num_t:
    cnp.npy_bool
    cnp.int8_t
    cnp.uint8_t
    cnp.int16_t
    cnp.uint16_t
    cnp.int32_t
    cnp.uint32_t
    cnp.int64_t
    cnp.uint64_t
    float
    double

cdef uint64_t ONE_BITS = 0x3FF0000000000000ULL  # float64 1.0
cdef Py_ssize_t BLOCK = 1 << 18


cdef bint _narrow(const uint64_t[::1] src, uint8_t[::1] out, bint is_float,
                  Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    """True if any value in [lo, hi) is not 0/1 (int64 bits or float64 bits)."""
    cdef uint64_t v, bad = 0
    cdef Py_ssize_t j
    if is_float:
        for j in range(lo, hi):
            v = src[j]
            out[j] = v == ONE_BITS
            bad |= (v != ONE_BITS) & ((v << 1) != 0)
    else:
        for j in range(lo, hi):
            v = src[j]
            out[j] = <uint8_t>v
            bad |= v > 1
    return bad != 0


def narrow_indicator(const uint64_t[::1] src, uint8_t[::1] out, bint is_float):
    """Copy 64-bit 0/1 values into uint8 ``out``; False if any value is not 0 or 1.

    ``src`` is the flat uint64 view of a contiguous int64 array (``is_float`` false: valid
    values are the integers 0 and 1) or float64 array (``is_float`` true: valid bit patterns
    are those of 0.0, -0.0 and 1.0); ``out`` is flat uint8 of the same size.
    """
    cdef Py_ssize_t n = src.shape[0]
    cdef Py_ssize_t n_blocks = max(1, (n + BLOCK - 1) // BLOCK)

    def block(Py_ssize_t b):
        cdef bint bad
        cdef Py_ssize_t lo = b * BLOCK, hi = min(n, (b + 1) * BLOCK)
        with nogil:
            bad = _narrow(src, out, is_float, lo, hi)
        return bad

    return not any(map_tasks(block, n_blocks))


def narrow01(const num_t[:] src, uint8_t[::1] out):
    """Copy the 1-D numeric ``src`` into the uint8 ``out`` if every value is 0 or 1 (NaN is
    neither); return whether it was."""
    cdef Py_ssize_t i, n = src.shape[0]
    cdef uint8_t bad = 0, one
    with nogil:
        for i in range(n):
            one = src[i] == 1
            bad |= 1 ^ (one | (src[i] == 0))
            out[i] = one
    return bad == 0
