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

cdef Py_ssize_t BLOCK = 1 << 18


cdef extern from *:
    """
    #include <stdint.h>
    #include <stddef.h>
    /* Built for AVX-512, AVX2 and the baseline and chosen at load time (GCC / Clang on
       ELF x86-64: ifunc): narrowing 64-bit words to bytes is shuffle-bound, and the
       baseline's 128-bit packs run it at a third of AVX2's speed. */
    #if defined(__x86_64__) && defined(__GNUC__) && defined(__ELF__)
    #define FASTML_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
    #else
    #define FASTML_CLONES
    #endif
    FASTML_CLONES
    static int fastml_narrow_int(const uint64_t* src, uint8_t* out, ptrdiff_t n) {
        uint64_t bad = 0;
        for (ptrdiff_t j = 0; j < n; j++) {
            uint64_t v = src[j];
            out[j] = (uint8_t)v;
            bad |= v > 1;
        }
        return bad != 0;
    }
    FASTML_CLONES
    static int fastml_narrow_float(const uint64_t* src, uint8_t* out, ptrdiff_t n) {
        const uint64_t one = 0x3FF0000000000000ULL;  /* float64 1.0; 0.0 and -0.0 are 0 */
        uint64_t bad = 0;
        for (ptrdiff_t j = 0; j < n; j++) {
            uint64_t v = src[j];
            out[j] = v == one;
            bad |= (v != one) & ((v << 1) != 0);
        }
        return bad != 0;
    }
    """
    int fastml_narrow_int(const uint64_t* src, uint8_t* out, Py_ssize_t n) noexcept nogil
    int fastml_narrow_float(const uint64_t* src, uint8_t* out, Py_ssize_t n) noexcept nogil


cdef bint _narrow(const uint64_t* src, uint8_t* out, bint is_float,
                  Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    """True if any value in [lo, hi) is not 0/1 (int64 bits or float64 bits)."""
    if is_float:
        return fastml_narrow_float(src + lo, out + lo, hi - lo) != 0
    return fastml_narrow_int(src + lo, out + lo, hi - lo) != 0


def narrow_indicator(const uint64_t[::1] src, uint8_t[::1] out, bint is_float):
    """Copy 64-bit 0/1 values into uint8 ``out``; False if any value is not 0 or 1.

    ``src`` is the flat uint64 view of a contiguous int64 array (``is_float`` false: valid
    values are the integers 0 and 1) or float64 array (``is_float`` true: valid bit patterns
    are those of 0.0, -0.0 and 1.0); ``out`` is flat uint8 of the same size.
    """
    cdef Py_ssize_t n = src.shape[0]
    cdef Py_ssize_t n_blocks = max(1, (n + BLOCK - 1) // BLOCK)
    if n == 0:
        return True
    cdef const uint64_t* sp = &src[0]
    cdef uint8_t* op = &out[0]
    cdef size_t s_addr = <size_t>sp, o_addr = <size_t>op

    def block(Py_ssize_t b):
        cdef bint bad
        cdef Py_ssize_t lo = b * BLOCK, hi = min(n, (b + 1) * BLOCK)
        with nogil:
            bad = _narrow(<const uint64_t*>s_addr, <uint8_t*>o_addr, is_float, lo, hi)
        return bad

    return not any(map_tasks(block, n_blocks, nbytes=9 * n))


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
