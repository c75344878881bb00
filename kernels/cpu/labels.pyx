# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Label primitives shared by the CPU kernels of several hot paths (splits, resampling).

:func:`row_csr`: the positive labels of every row of a 0/1 label matrix, as CSR. Splits
aggregate rows into groups from it; ML-ROS / ML-RUS update label counts row by row from it.

Contract (the API layers guarantee it): ``y`` is a C-contiguous uint8 array of shape
(n, L); any nonzero byte counts as a positive.

Why compiled: one pass counts each row's positives, a prefix sum places the rows, a second
pass writes the labels; NumPy would need ``np.nonzero`` over the whole matrix (int64 row and
column arrays of every positive, then a narrowing copy). Both passes split by rows into
blocks fixed by the shape (:mod:`fastml.kernels._parallel`); the output does not depend on
the blocks, only the speed does.
"""

import numpy as np

cimport numpy as cnp
from libc.stdint cimport int32_t, int64_t, uint8_t

from fastml.kernels._parallel import blocks, map_tasks

cnp.import_array()

#: Matrix entries per block of the two passes (below this, one block: no threads).
cdef Py_ssize_t BLOCK_ENTRIES = 1 << 18
cdef Py_ssize_t MAX_BLOCKS = 64


def row_counts_block(const uint8_t[:, ::1] y, int64_t[::1] indptr, Py_ssize_t lo,
                     Py_ssize_t hi):
    """First pass over rows ``[lo, hi)``: ``indptr[i + 1]`` = positives of row ``i``."""
    cdef Py_ssize_t i, j, L = y.shape[1]
    cdef int64_t c
    cdef const uint8_t* r
    with nogil:
        for i in range(lo, hi):
            r = &y[i, 0] if L else NULL
            c = 0
            for j in range(L):
                c += r[j] != 0
            indptr[i + 1] = c


def row_labels_block(const uint8_t[:, ::1] y, const int64_t[::1] indptr, int32_t[::1] labels,
                     Py_ssize_t lo, Py_ssize_t hi):
    """Second pass over rows ``[lo, hi)``: the labels of row ``i`` (ascending) into
    ``labels[indptr[i]:indptr[i + 1]]``."""
    cdef Py_ssize_t i, j, L = y.shape[1]
    cdef int64_t k
    cdef const uint8_t* r
    with nogil:
        for i in range(lo, hi):
            r = &y[i, 0] if L else NULL
            k = indptr[i]
            for j in range(L):
                if r[j] != 0:
                    labels[k] = <int32_t>j
                    k += 1


def row_csr(const uint8_t[:, ::1] y):
    """Positive labels of every row of the 0/1 matrix ``y`` as CSR ``(indptr, labels)``.

    ``indptr`` is int64 (n + 1), ``labels`` int32, each row's labels ascending.
    """
    cdef Py_ssize_t n = y.shape[0], L = y.shape[1], i
    indptr = np.zeros(n + 1, np.int64)
    cdef int64_t[::1] ip = indptr
    n_blocks, rows = blocks(n, max(1, BLOCK_ENTRIES // max(1, L)), MAX_BLOCKS)
    if n_blocks == 1:
        row_counts_block(y, ip, 0, n)
    else:
        map_tasks(lambda b: row_counts_block(y, ip, b * rows, min(n, (b + 1) * rows)),
                  n_blocks)
    with nogil:
        for i in range(n):
            ip[i + 1] += ip[i]
    labels = np.empty(ip[n], np.int32)
    if n_blocks == 1:
        row_labels_block(y, ip, labels, 0, n)
    else:
        map_tasks(lambda b: row_labels_block(y, ip, labels, b * rows, min(n, (b + 1) * rows)),
                  n_blocks)
    return indptr, labels
