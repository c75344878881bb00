# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Counting kernels for Hamming loss and the precision / recall / F-beta family (CPU).

Every metric here is a plain double loop over two 0/1 matrices that sums a few per-label or
per-row counts: one pass with no temporaries, where scikit-learn builds several (n, L)
intermediates and walks the data many times.

Contract (the API layer in ``fastml.metrics._classification`` guarantees it):

- ``yt`` / ``yp`` are C-contiguous uint8 arrays holding only 0 and 1;
- ``w`` is a C-contiguous float64 array of row weights, read only when ``weighted`` is true
  (pass a length-1 array otherwise).

Each metric is a per-block function over rows ``[lo, hi)`` (the *partial*: its result is a
float64 array of sums), an addition as *combine*, and the one-shot call, which cuts the rows
into blocks fixed by the shape, runs them through the parallel driver and adds the partials
in block order: results are identical for every thread count.
"""

import numpy as np

cimport numpy as cnp
from libc.stdint cimport int64_t, uint8_t

from fastml.kernels._parallel import blocks, map_tasks

cnp.import_array()

cdef Py_ssize_t MIN_ROWS = 2048
cdef Py_ssize_t MAX_BLOCKS = 128
cdef Py_ssize_t MAX_SLOTS = 1 << 21  # partial sums kept at once (blocks x slots per block)


def _row_blocks(Py_ssize_t n, Py_ssize_t slots):
    return blocks(n, MIN_ROWS, min(MAX_BLOCKS, max(1, MAX_SLOTS // max(1, slots))))


def _sum_in_order(parts):
    acc = parts[0]
    for p in parts[1:]:
        acc = acc + p
    return acc


# ----------------------------------------------------------------------------------- Hamming
def hamming_block(const uint8_t[:, ::1] yt, const uint8_t[:, ::1] yp, const double[::1] w,
                  bint weighted, Py_ssize_t lo, Py_ssize_t hi):
    """Partial: ``sum_{lo <= i < hi} w_i * #{j : yt[i, j] != yp[i, j]}`` as a float64."""
    cdef Py_ssize_t i, j, L = yt.shape[1]
    cdef int64_t count, total = 0
    cdef double acc = 0.0
    cdef const uint8_t* a
    cdef const uint8_t* b
    with nogil:
        if weighted:
            for i in range(lo, hi):
                a = &yt[i, 0]
                b = &yp[i, 0]
                count = 0
                for j in range(L):
                    count += a[j] ^ b[j]
                acc += count * w[i]
        elif hi > lo:
            a = &yt[lo, 0]
            b = &yp[lo, 0]
            for j in range((hi - lo) * L):
                total += a[j] ^ b[j]
            acc = <double>total
    return acc


def hamming_numerators(const uint8_t[:, ::1] yt, const uint8_t[:, :, ::1] yp,
                       const double[::1] w, bint weighted):
    """Weighted count of differing entries between ``yt`` (n, L) and each ``yp[b]``.

    Returns float64 (B,): for each b, ``sum_i w_i * #{j : yt[i, j] != yp[b, i, j]}`` (an exact
    integer count when unweighted).
    """
    cdef Py_ssize_t n_models = yp.shape[0], n = yt.shape[0]
    n_blocks, rows = _row_blocks(n, n_models)

    def task(t):
        b, c = divmod(t, n_blocks)
        lo = c * rows
        return hamming_block(yt, yp[b], w, weighted, lo, min(n, lo + rows))

    parts = map_tasks(task, n_models * n_blocks)
    out = np.zeros(n_models)
    for b in range(n_models):
        acc = 0.0
        for c in range(n_blocks):
            acc += parts[b * n_blocks + c]
        out[b] = acc
    return out


# --------------------------------------------------------------------------- per-label counts
def label_counts_block(const uint8_t[:, ::1] yt, const uint8_t[:, ::1] yp,
                       const double[::1] w, bint weighted, Py_ssize_t lo, Py_ssize_t hi):
    """Partial: float64 (3, L) per-label sums over rows ``[lo, hi)``: tp, predicted, true."""
    cdef Py_ssize_t i, j, L = yt.shape[1]
    out = np.zeros((3, L))
    cdef double[:, ::1] o = out
    cdef int64_t[:, ::1] c
    cdef uint8_t t, p
    cdef double wi
    if weighted:
        with nogil:
            for i in range(lo, hi):
                wi = w[i]
                for j in range(L):
                    t = yt[i, j]
                    p = yp[i, j]
                    o[0, j] += wi * (t & p)
                    o[1, j] += wi * p
                    o[2, j] += wi * t
        return out
    counts = np.zeros((3, L), dtype=np.int64)
    c = counts
    with nogil:
        for i in range(lo, hi):
            for j in range(L):
                t = yt[i, j]
                p = yp[i, j]
                c[0, j] += t & p
                c[1, j] += p
                c[2, j] += t
        for i in range(3):
            for j in range(L):
                o[i, j] = <double>c[i, j]
    return out


def label_counts(const uint8_t[:, ::1] yt, const uint8_t[:, ::1] yp, const double[::1] w,
                 bint weighted):
    """Per-label (weighted) true-positive, predicted and true counts.

    Returns float64 (3, L): rows tp, predicted, true, each ``sum_i w_i * indicator`` (exact
    integer counts when unweighted).
    """
    cdef Py_ssize_t n = yt.shape[0]
    n_blocks, rows = _row_blocks(n, 3 * yt.shape[1])
    return _sum_in_order(map_tasks(
        lambda c: label_counts_block(yt, yp, w, weighted, c * rows, min(n, (c + 1) * rows)),
        n_blocks,
    ))


# ------------------------------------------------------------------------ average="samples"
cdef inline void _ratio(double num, double den, double wi, double* s) noexcept nogil:
    # s = (sum v*w, sum v, sum w, count) over rows with a nonzero denominator, then
    # (sum w, count) over the others.
    cdef double v
    if den != 0.0:
        v = num / den
        s[0] += v * wi
        s[1] += v
        s[2] += wi
        s[3] += 1.0
    else:
        s[4] += wi
        s[5] += 1.0


def sample_stats_block(const uint8_t[:, ::1] yt, const uint8_t[:, ::1] yp,
                       const double[::1] w, bint weighted, double beta2,
                       double one_plus_beta2, Py_ssize_t lo, Py_ssize_t hi):
    """Partial of :func:`sample_stats` over rows ``[lo, hi)``: float64 (3, 6)."""
    cdef Py_ssize_t i, j, L = yt.shape[1]
    out = np.zeros((3, 6))
    cdef double[:, ::1] o = out
    cdef int64_t ctp, cpred, ctrue
    cdef uint8_t t, p
    cdef double wi, tpw, pred_s, true_s
    with nogil:
        for i in range(lo, hi):
            ctp = 0
            cpred = 0
            ctrue = 0
            for j in range(L):
                t = yt[i, j]
                p = yp[i, j]
                ctp += t & p
                cpred += p
                ctrue += t
            wi = w[i] if weighted else 1.0
            tpw = ctp * wi
            pred_s = tpw + (cpred * wi - tpw)
            true_s = tpw + (ctrue * wi - tpw)
            _ratio(tpw, pred_s, wi, &o[0, 0])
            _ratio(tpw, true_s, wi, &o[1, 0])
            _ratio(one_plus_beta2 * tpw, beta2 * true_s + pred_s, wi, &o[2, 0])
    return out


def sample_stats(const uint8_t[:, ::1] yt, const uint8_t[:, ::1] yp, const double[::1] w,
                 bint weighted, double beta2, double one_plus_beta2):
    """Sums of per-row precision, recall and F-beta (``average="samples"``).

    For row i with counts tp, predicted, true and weight w_i (1 when unweighted), the row's
    values follow scikit-learn's arithmetic exactly: ``t = tp*w_i``,
    ``P = t + (predicted*w_i - t)``, ``R = t + (true*w_i - t)``, precision ``t / P``,
    recall ``t / R``, F ``one_plus_beta2 * t / (beta2 * R + P)``.

    Returns float64 (3, 6): for precision, recall and F (rows), the sums
    ``[sum v*w, sum v, sum w, count]`` over rows where the metric is defined (nonzero
    denominator), then ``[sum w, count]`` over rows where it is not.
    """
    cdef Py_ssize_t n = yt.shape[0]
    n_blocks, rows = _row_blocks(n, 18)
    return _sum_in_order(map_tasks(
        lambda c: sample_stats_block(yt, yp, w, weighted, beta2, one_plus_beta2,
                                     c * rows, min(n, (c + 1) * rows)),
        n_blocks,
    ))
