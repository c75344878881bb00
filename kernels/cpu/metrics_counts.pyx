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
from libc.stdint cimport int32_t, int64_t, uint8_t

from fastml.kernels._parallel import blocks, map_tasks

cnp.import_array()

cdef extern from *:
    """
    #include <stdint.h>
    #include <stddef.h>
    #include <stdlib.h>
    #include <string.h>
    #if defined(__x86_64__) && defined(__GNUC__) && defined(__ELF__)
    #define FASTML_COUNT_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
    #else
    #define FASTML_COUNT_CLONES
    #endif
    /* Per-label tp / predicted / true counts of rows [0, rows). The rows are read as one
       flat run of bytes in pieces of P = L * m bytes (P a multiple of 64), so that every
       piece lines up with the labels: slot q of a piece always belongs to label q % L, and
       the inner loop is one long, vectorised pass with no per-row remainder. 16-bit slot
       counters take at most 65535 pieces before they are added to the 64-bit totals; the
       rows after the last whole piece are counted one by one. Built for several instruction
       sets, chosen at load time. Returns -1 when out of memory. */
    static ptrdiff_t fastml_gcd(ptrdiff_t a, ptrdiff_t b) {
        while (b) { ptrdiff_t t = a % b; a = b; b = t; }
        return a;
    }
    FASTML_COUNT_CLONES
    static int fastml_label_counts(const uint8_t* yt, const uint8_t* yp, ptrdiff_t rows,
                                   ptrdiff_t L, int64_t* tp, int64_t* pred, int64_t* tru) {
        if (L <= 0 || rows <= 0) return 0;
        ptrdiff_t m = 64 / fastml_gcd(L, 64);
        ptrdiff_t P = L * m;                      /* bytes per piece: m rows */
        ptrdiff_t pieces = rows / m;
        uint16_t* acc = (uint16_t*)malloc(sizeof(uint16_t) * 3 * (size_t)P);
        if (acc == NULL) return -1;
        uint16_t* a_tp = acc;
        uint16_t* a_p = acc + P;
        uint16_t* a_t = acc + 2 * P;
        for (ptrdiff_t k0 = 0; k0 < pieces; k0 += 65535) {
            ptrdiff_t k1 = pieces - k0 < 65535 ? pieces : k0 + 65535;
            memset(acc, 0, sizeof(uint16_t) * 3 * (size_t)P);
            for (ptrdiff_t k = k0; k < k1; k++) {
                const uint8_t* pt = yt + k * P;
                const uint8_t* pp = yp + k * P;
                for (ptrdiff_t q = 0; q < P; q++) {
                    a_tp[q] += pt[q] & pp[q];
                    a_p[q] += pp[q];
                    a_t[q] += pt[q];
                }
            }
            for (ptrdiff_t q = 0; q < P; q++) {
                tp[q % L] += a_tp[q];
                pred[q % L] += a_p[q];
                tru[q % L] += a_t[q];
            }
        }
        free(acc);
        for (ptrdiff_t i = pieces * m; i < rows; i++) {
            const uint8_t* rt = yt + i * L;
            const uint8_t* rp = yp + i * L;
            for (ptrdiff_t j = 0; j < L; j++) {
                tp[j] += rt[j] & rp[j];
                pred[j] += rp[j];
                tru[j] += rt[j];
            }
        }
        return 0;
    }
    /* Per-row tp / predicted / true counts of rows [0, rows) into three int32 arrays. */
    FASTML_COUNT_CLONES
    static void fastml_row_counts(const uint8_t* yt, const uint8_t* yp, ptrdiff_t rows,
                                  ptrdiff_t L, int32_t* tp, int32_t* pred, int32_t* tru) {
        for (ptrdiff_t i = 0; i < rows; i++) {
            const uint8_t* rt = yt + i * L;
            const uint8_t* rp = yp + i * L;
            uint32_t a = 0, b = 0, c = 0;
            for (ptrdiff_t j = 0; j < L; j++) {
                a += rt[j] & rp[j];
                b += rp[j];
                c += rt[j];
            }
            tp[i] = (int32_t)a;
            pred[i] = (int32_t)b;
            tru[i] = (int32_t)c;
        }
    }
    /* Number of differing bytes of a and b (0/1 values): 32-bit lane sums over runs of at
       most 2^24 bytes. */
    FASTML_COUNT_CLONES
    static int64_t fastml_xor_count(const uint8_t* a, const uint8_t* b, ptrdiff_t n) {
        int64_t total = 0;
        for (ptrdiff_t k0 = 0; k0 < n; k0 += (ptrdiff_t)1 << 24) {
            ptrdiff_t k1 = n - k0 < ((ptrdiff_t)1 << 24) ? n : k0 + ((ptrdiff_t)1 << 24);
            uint32_t s = 0;
            for (ptrdiff_t k = k0; k < k1; k++) s += (uint32_t)(a[k] ^ b[k]);
            total += s;
        }
        return total;
    }
    """
    int fastml_label_counts(const uint8_t* yt, const uint8_t* yp, Py_ssize_t rows,
                            Py_ssize_t L, int64_t* tp, int64_t* pred, int64_t* tru) noexcept nogil
    int64_t fastml_xor_count(const uint8_t* a, const uint8_t* b, Py_ssize_t n) noexcept nogil
    void fastml_row_counts(const uint8_t* yt, const uint8_t* yp, Py_ssize_t rows,
                           Py_ssize_t L, int32_t* tp, int32_t* pred, int32_t* tru) noexcept nogil


cdef Py_ssize_t MIN_ROWS = 2048
cdef Py_ssize_t MIN_BYTES = 1 << 19
cdef Py_ssize_t MAX_BLOCKS = 128
cdef Py_ssize_t MAX_SLOTS = 1 << 21  # partial sums kept at once (blocks x slots per block)


def _row_blocks(Py_ssize_t n, Py_ssize_t slots, Py_ssize_t row_bytes=1):
    """Blocks of at least MIN_ROWS rows and MIN_BYTES bytes of each input (a block's fixed
    costs, a Python call and its result arrays, stay small against its work)."""
    cdef Py_ssize_t min_rows = max(MIN_ROWS, MIN_BYTES // max(1, row_bytes))
    return blocks(n, min_rows, min(MAX_BLOCKS, max(1, MAX_SLOTS // max(1, slots))))


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
        elif hi > lo and L > 0:
            acc = <double>fastml_xor_count(&yt[lo, 0], &yp[lo, 0], (hi - lo) * L)
    return acc


def hamming_numerators(const uint8_t[:, ::1] yt, const uint8_t[:, :, ::1] yp,
                       const double[::1] w, bint weighted):
    """Weighted count of differing entries between ``yt`` (n, L) and each ``yp[b]``.

    Returns float64 (B,): for each b, ``sum_i w_i * #{j : yt[i, j] != yp[b, i, j]}`` (an exact
    integer count when unweighted).
    """
    cdef Py_ssize_t n_models = yp.shape[0], n = yt.shape[0]
    n_blocks, rows = _row_blocks(n, n_models, yt.shape[1])

    def task(t):
        b, c = divmod(t, n_blocks)
        lo = c * rows
        return hamming_block(yt, yp[b], w, weighted, lo, min(n, lo + rows))

    parts = map_tasks(task, n_models * n_blocks, nbytes=(n_models + 1) * yt.shape[0] * yt.shape[1])
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
    cdef const uint8_t* rt
    cdef const uint8_t* rp
    cdef double* o0
    cdef double* o1
    cdef double* o2
    cdef double wi
    if hi <= lo or L == 0:
        return out
    # raw pointers throughout: the loops vectorise over the labels
    if weighted:
        o0, o1, o2 = &o[0, 0], &o[1, 0], &o[2, 0]
        with nogil:
            for i in range(lo, hi):
                wi = w[i]
                rt = &yt[i, 0]
                rp = &yp[i, 0]
                for j in range(L):
                    o0[j] += wi * (rt[j] & rp[j])
                    o1[j] += wi * rp[j]
                    o2[j] += wi * rt[j]
        return out
    counts = np.zeros((3, L), dtype=np.int64)
    c = counts
    cdef int err
    with nogil:
        err = fastml_label_counts(&yt[lo, 0], &yp[lo, 0], hi - lo, L, &c[0, 0], &c[1, 0],
                                  &c[2, 0])
    if err:
        raise MemoryError()
    return counts.astype(np.float64)


def label_counts(const uint8_t[:, ::1] yt, const uint8_t[:, ::1] yp, const double[::1] w,
                 bint weighted):
    """Per-label (weighted) true-positive, predicted and true counts.

    Returns float64 (3, L): rows tp, predicted, true, each ``sum_i w_i * indicator`` (exact
    integer counts when unweighted).
    """
    cdef Py_ssize_t n = yt.shape[0]
    n_blocks, rows = _row_blocks(n, 3 * yt.shape[1], yt.shape[1])
    return _sum_in_order(map_tasks(
        lambda c: label_counts_block(yt, yp, w, weighted, c * rows, min(n, (c + 1) * rows)),
        n_blocks, nbytes=2 * n * yt.shape[1],
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
    cdef Py_ssize_t i, L = yt.shape[1]
    out = np.zeros((3, 6))
    cdef double[:, ::1] o = out
    cdef double wi, tpw, pred_s, true_s
    cdef double acc[18]  # local sums (kept in registers), copied to ``out`` at the end
    cdef const int32_t* ctp
    cdef const int32_t* cpred
    cdef const int32_t* ctrue
    if hi <= lo or L == 0:
        if hi > lo:  # no labels: every row's metrics are undefined
            counts = np.zeros((3, hi - lo), dtype=np.int32)
        else:
            return out
    else:
        counts = np.empty((3, hi - lo), dtype=np.int32)
    cdef int32_t[:, ::1] c = counts
    for i in range(18):
        acc[i] = 0.0
    with nogil:
        if L > 0:
            fastml_row_counts(&yt[lo, 0], &yp[lo, 0], hi - lo, L, &c[0, 0], &c[1, 0],
                              &c[2, 0])
        ctp, cpred, ctrue = &c[0, 0], &c[1, 0], &c[2, 0]
        for i in range(hi - lo):
            wi = w[lo + i] if weighted else 1.0
            tpw = ctp[i] * wi
            pred_s = tpw + (cpred[i] * wi - tpw)
            true_s = tpw + (ctrue[i] * wi - tpw)
            _ratio(tpw, pred_s, wi, acc)
            _ratio(tpw, true_s, wi, acc + 6)
            _ratio(one_plus_beta2 * tpw, beta2 * true_s + pred_s, wi, acc + 12)
    for i in range(18):
        o[i // 6, i % 6] = acc[i]
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
    n_blocks, rows = _row_blocks(n, 18, yt.shape[1])
    return _sum_in_order(map_tasks(
        lambda c: sample_stats_block(yt, yp, w, weighted, beta2, one_plus_beta2,
                                     c * rows, min(n, (c + 1) * rows)),
        n_blocks, nbytes=2 * n * yt.shape[1],
    ))
