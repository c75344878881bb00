# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
# distutils: extra_compile_args = -ffp-contract=off
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
in block order: results are identical for every thread count. Built without contraction
into fused multiply-adds, so that per-row products round as scikit-learn's do (this matters
for subnormal weights) on every instruction set.
"""

import numpy as np

cimport numpy as cnp
from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t

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
    #define FASTML_ONE_BITS 0x3FF0000000000000ULL
    static inline __attribute__((always_inline))
    uint64_t fastml_bit(const void* p, int kind, ptrdiff_t k, uint64_t* bad) {
        if (kind == 0) return ((const uint8_t*)p)[k];
        uint64_t v = ((const uint64_t*)p)[k];
        if (kind == 1) {
            *bad |= v >> 1;
            return v & 1;
        }
        *bad |= (uint64_t)((v != FASTML_ONE_BITS) & ((v << 1) != 0));
        return v == FASTML_ONE_BITS;
    }
    /* Call FN(a, ka, b, kb, ...) with the kinds ka, kb as constants, so that the compiler
       builds one specialised loop per pair of kinds (9 pairs) from one generic body. */
    #define FASTML_BY_KINDS(FN, a, ka, b, kb, ...)                                       \
        switch ((ka) * 3 + (kb)) {                                                       \
            case 0: return FN(a, 0, b, 0, __VA_ARGS__);                                  \
            case 1: return FN(a, 0, b, 1, __VA_ARGS__);                                  \
            case 2: return FN(a, 0, b, 2, __VA_ARGS__);                                  \
            case 3: return FN(a, 1, b, 0, __VA_ARGS__);                                  \
            case 4: return FN(a, 1, b, 1, __VA_ARGS__);                                  \
            case 5: return FN(a, 1, b, 2, __VA_ARGS__);                                  \
            case 6: return FN(a, 2, b, 0, __VA_ARGS__);                                  \
            case 7: return FN(a, 2, b, 1, __VA_ARGS__);                                  \
            default: return FN(a, 2, b, 2, __VA_ARGS__);                                 \
        }
    /* Sum of the bytes of x, each 0 or 1 (at most 8). */
    static inline uint32_t fastml_byte_sum(uint64_t x) {
        return (uint32_t)((x * 0x0101010101010101ULL) >> 56);
    }
    static inline uint64_t fastml_load8(const uint8_t* p) {
        uint64_t v;
        memcpy(&v, p, 8);
        return v;
    }
    /* Per-row tp / predicted / true counts of rows [0, rows) into three int32 arrays.
       Rows of 8 bytes or more are read as 64-bit words (the last word of a row overlaps the
       one before it, its repeated low bytes shifted out), and the 0/1 bytes of a word are
       added with one multiplication; shorter rows, and big-endian hosts, go byte by byte. */
    static void fastml_row_counts(const uint8_t* yt, const uint8_t* yp, ptrdiff_t rows,
                                  ptrdiff_t L, int32_t* tp, int32_t* pred, int32_t* tru) {
    #if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        if (L >= 8) {
            ptrdiff_t full = L / 8, r = L % 8;
            unsigned shift = (unsigned)(8 - r) * 8;
            for (ptrdiff_t i = 0; i < rows; i++) {
                const uint8_t* rt = yt + i * L;
                const uint8_t* rp = yp + i * L;
                uint32_t a = 0, b = 0, c = 0;
                for (ptrdiff_t k = 0; k < full; k++) {
                    uint64_t t = fastml_load8(rt + 8 * k), p = fastml_load8(rp + 8 * k);
                    a += fastml_byte_sum(t & p);
                    b += fastml_byte_sum(p);
                    c += fastml_byte_sum(t);
                }
                if (r) {
                    uint64_t t = fastml_load8(rt + L - 8) >> shift;
                    uint64_t p = fastml_load8(rp + L - 8) >> shift;
                    a += fastml_byte_sum(t & p);
                    b += fastml_byte_sum(p);
                    c += fastml_byte_sum(t);
                }
                tp[i] = (int32_t)a;
                pred[i] = (int32_t)b;
                tru[i] = (int32_t)c;
            }
            return;
        }
    #endif
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
    /* fastml_row_counts of two matrices read in their given kinds (see fastml_bit): the
       wide ones are checked in the same pass. Returns nonzero if a value is not 0 or 1. */
    static inline __attribute__((always_inline))
    uint64_t fastml_row_counts_kinds(const void* yt, int tk, const void* yp, int pk,
                                     ptrdiff_t rows, ptrdiff_t L, int32_t* tp,
                                     int32_t* pred, int32_t* tru) {
        uint64_t bad = 0;
        for (ptrdiff_t i = 0; i < rows; i++) {
            uint32_t a = 0, b = 0, c = 0;
            for (ptrdiff_t j = i * L; j < (i + 1) * L; j++) {
                uint32_t t = (uint32_t)fastml_bit(yt, tk, j, &bad);
                uint32_t p = (uint32_t)fastml_bit(yp, pk, j, &bad);
                a += t & p;
                b += p;
                c += t;
            }
            tp[i] = (int32_t)a;
            pred[i] = (int32_t)b;
            tru[i] = (int32_t)c;
        }
        return bad;
    }
    FASTML_COUNT_CLONES
    static uint64_t fastml_row_counts_wide(const void* yt, int tk, const void* yp, int pk,
                                           ptrdiff_t rows, ptrdiff_t L, int32_t* tp,
                                           int32_t* pred, int32_t* tru) {
        FASTML_BY_KINDS(fastml_row_counts_kinds, yt, tk, yp, pk, rows, L, tp, pred, tru)
    }
    /* Per-label tp / predicted / true counts of rows [0, rows) of two matrices read in
       their kinds (see fastml_bit), added to the int64 arrays. Returns 1 if a value is not
       0 or 1, 2 when out of memory. */
    static inline __attribute__((always_inline))
    uint64_t fastml_label_counts_kinds(const void* yt, int tk, const void* yp, int pk,
                                       ptrdiff_t rows, ptrdiff_t L, int64_t* tp,
                                       int64_t* pred, int64_t* tru) {
        /* As fastml_label_counts: the rows are read as one flat run in pieces of P = L * m
           entries (P a multiple of 8, so a piece is whole vectors), slot q of a piece
           belonging to label q % L; 16-bit slot counters are added to the int64 totals
           every 65535 pieces; the rows after the last whole piece are counted directly. */
        uint64_t bad = 0;
        ptrdiff_t m = 8 / fastml_gcd(L, 8), P = L * m, pieces = rows / m;
        uint16_t* acc = (uint16_t*)calloc(3 * (size_t)P, sizeof(uint16_t));
        if (acc == NULL) return 2;
        uint16_t *a_tp = acc, *a_p = acc + P, *a_t = acc + 2 * P;
        for (ptrdiff_t k0 = 0; k0 < pieces; k0 += 65535) {
            ptrdiff_t k1 = pieces - k0 < 65535 ? pieces : k0 + 65535;
            for (ptrdiff_t k = k0; k < k1; k++) {
                ptrdiff_t base = k * P;
                for (ptrdiff_t q = 0; q < P; q++) {
                    uint16_t t = (uint16_t)fastml_bit(yt, tk, base + q, &bad);
                    uint16_t p = (uint16_t)fastml_bit(yp, pk, base + q, &bad);
                    a_tp[q] += t & p;
                    a_p[q] += p;
                    a_t[q] += t;
                }
            }
            for (ptrdiff_t q = 0; q < P; q++) {
                tp[q % L] += a_tp[q];
                pred[q % L] += a_p[q];
                tru[q % L] += a_t[q];
                a_tp[q] = a_p[q] = a_t[q] = 0;
            }
        }
        for (ptrdiff_t e = pieces * P; e < rows * L; e++) {
            uint64_t t = fastml_bit(yt, tk, e, &bad), p = fastml_bit(yp, pk, e, &bad);
            tp[e % L] += (int64_t)(t & p);
            pred[e % L] += (int64_t)p;
            tru[e % L] += (int64_t)t;
        }
        free(acc);
        return bad ? 1 : 0;
    }
    FASTML_COUNT_CLONES
    static uint64_t fastml_label_counts_wide(const void* yt, int tk, const void* yp, int pk,
                                             ptrdiff_t rows, ptrdiff_t L, int64_t* tp,
                                             int64_t* pred, int64_t* tru) {
        FASTML_BY_KINDS(fastml_label_counts_kinds, yt, tk, yp, pk, rows, L, tp, pred, tru)
    }
    /* Adds the per-row precision, recall and F-beta of rows [0, rows) to the 18 sums of
       ``acc`` (see sample_stats; w is NULL when unweighted). Rows go in chunks: their counts
       first, then per metric one branch-free loop (a row whose denominator is 0 divides by
       1 and is masked out) that adds into four interleaved partial sums, row i into lane
       i % 4, so that it runs as one vector of four doubles and its result does not depend
       on the instruction set. Counts of rows are kept as integers. The matrices are read
       in their kinds (tk, pk: see fastml_bit); returns 1 if a wide value is not 0 or 1,
       -1 when out of memory. */
    #define FASTML_CHUNK 512
    #if defined(__GNUC__)
    typedef double fastml_v4d __attribute__((vector_size(32)));
    typedef long long fastml_v4l __attribute__((vector_size(32)));
    #endif
    /* lanes: 4 x {sum v*w, sum v, sum w (defined), sum w (undefined)}; defined: rows with
       a nonzero denominator. */
    FASTML_COUNT_CLONES
    static void fastml_ratio_sums(const double* num, const double* den, const double* wt,
                                  int n, int weighted, double* lanes, int64_t* defined) {
        int64_t d3 = 0;
        int n4 = 0;
    #if defined(__GNUC__)
        fastml_v4d s0, s1, s2, s4;
        const fastml_v4d zero = {0.0, 0.0, 0.0, 0.0}, one = {1.0, 1.0, 1.0, 1.0};
        fastml_v4l dn = {0, 0, 0, 0};
        memcpy(&s0, lanes, 32);
        memcpy(&s1, lanes + 4, 32);
        memcpy(&s2, lanes + 8, 32);
        memcpy(&s4, lanes + 12, 32);
        n4 = n & ~3;
        for (int i = 0; i < n4; i += 4) {
            fastml_v4d dd, nn, wi;
            memcpy(&dd, den + i, 32);
            memcpy(&nn, num + i, 32);
            fastml_v4l m = dd != zero;                /* all ones where defined */
            fastml_v4d v = nn / (fastml_v4d)(((fastml_v4l)dd & m) | ((fastml_v4l)one & ~m));
            v = (fastml_v4d)((fastml_v4l)v & m);
            s1 += v;
            dn -= m;
            if (weighted) {
                memcpy(&wi, wt + i, 32);
                s0 += v * wi;
                s2 += (fastml_v4d)((fastml_v4l)wi & m);
                s4 += (fastml_v4d)((fastml_v4l)wi & ~m);
            }
        }
        memcpy(lanes, &s0, 32);
        memcpy(lanes + 4, &s1, 32);
        memcpy(lanes + 8, &s2, 32);
        memcpy(lanes + 12, &s4, 32);
        d3 = dn[0] + dn[1] + dn[2] + dn[3];
    #endif
        for (int i = n4; i < n; i++) {  /* the same lanes, one row at a time */
            int l = i & 3, d = den[i] != 0.0;
            double wi = weighted ? wt[i] : 1.0;
            double v = d ? num[i] / den[i] : 0.0;
            lanes[l] += v * wi;
            lanes[4 + l] += v;
            lanes[8 + l] += d ? wi : 0.0;
            lanes[12 + l] += d ? 0.0 : wi;
            d3 += d;
        }
        *defined += d3;
    }
    static int fastml_sample_stats(const void* yt, int tk, const void* yp, int pk,
                                   ptrdiff_t rows, ptrdiff_t L, const double* w,
                                   double beta2, double one_plus_beta2, double* acc) {
        ptrdiff_t ts = tk == 0 ? 1 : 8, ps = pk == 0 ? 1 : 8;  /* bytes per entry */
        uint64_t bad = 0;
        int32_t* c = (int32_t*)malloc(sizeof(int32_t) * 3 * FASTML_CHUNK);
        double* f = (double*)malloc(sizeof(double) * 6 * FASTML_CHUNK);
        if (c == NULL || f == NULL) { free(c); free(f); return -1; }
        int32_t *ctp = c, *cpred = c + FASTML_CHUNK, *ctru = c + 2 * FASTML_CHUNK;
        double *wt = f, *t = f + FASTML_CHUNK, *fnum = f + 2 * FASTML_CHUNK;
        double *den = f + 3 * FASTML_CHUNK;      /* 3 chunks: P, R, F denominators */
        double lanes[3][16] = {{0}};
        int64_t defined[3] = {0, 0, 0};
        int weighted = w != NULL;
        for (ptrdiff_t i0 = 0; i0 < rows; i0 += FASTML_CHUNK) {
            int n = (int)(rows - i0 < FASTML_CHUNK ? rows - i0 : FASTML_CHUNK);
            if (L > 0)
            {
                const char* t0 = (const char*)yt + i0 * L * ts;
                const char* p0 = (const char*)yp + i0 * L * ps;
                if (tk == 0 && pk == 0)
                    fastml_row_counts((const uint8_t*)t0, (const uint8_t*)p0, n, L, ctp,
                                      cpred, ctru);
                else
                    bad |= fastml_row_counts_wide(t0, tk, p0, pk, n, L, ctp, cpred, ctru);
            }
            else
                memset(c, 0, sizeof(int32_t) * 3 * FASTML_CHUNK);
            for (int i = 0; i < n; i++) {
                double wi = weighted ? w[i0 + i] : 1.0;
                double tpw = ctp[i] * wi;
                double p = tpw + (cpred[i] * wi - tpw);
                double r = tpw + (ctru[i] * wi - tpw);
                wt[i] = wi;
                t[i] = tpw;
                den[i] = p;
                den[FASTML_CHUNK + i] = r;
                den[2 * FASTML_CHUNK + i] = beta2 * r + p;
                fnum[i] = one_plus_beta2 * tpw;
            }
            fastml_ratio_sums(t, den, wt, n, weighted, lanes[0], &defined[0]);
            fastml_ratio_sums(t, den + FASTML_CHUNK, wt, n, weighted, lanes[1], &defined[1]);
            fastml_ratio_sums(fnum, den + 2 * FASTML_CHUNK, wt, n, weighted, lanes[2],
                              &defined[2]);
        }
        for (int m = 0; m < 3; m++) {
            double* s = acc + 6 * m;
            double* ln = lanes[m];
            double sv = (ln[4] + ln[5]) + (ln[6] + ln[7]);
            double nd = (double)defined[m], nu = (double)(rows - defined[m]);
            if (weighted) {
                s[0] += (ln[0] + ln[1]) + (ln[2] + ln[3]);
                s[2] += (ln[8] + ln[9]) + (ln[10] + ln[11]);
                s[4] += (ln[12] + ln[13]) + (ln[14] + ln[15]);
            } else {
                s[0] += sv;
                s[2] += nd;
                s[4] += nu;
            }
            s[1] += sv;
            s[3] += nd;
            s[5] += nu;
        }
        free(c);
        free(f);
        return bad ? 1 : 0;
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
    /* Number of positions where a and b differ, both read in their given form: kind 0 is
       uint8 0/1 (already checked), kind 1 the bits of int64 values, kind 2 the bits of
       float64 values (valid: 0, -0.0 and 1.0). Checking and counting are one pass, with no
       narrowed copy written. Returns -1 if a wide value is not 0 or 1. */
    static inline __attribute__((always_inline))
    int64_t fastml_xor_kinds(const void* a, int ak, const void* b, int bk, ptrdiff_t n) {
        uint64_t bad = 0, total = 0;
        for (ptrdiff_t k = 0; k < n; k++)
            total += fastml_bit(a, ak, k, &bad) ^ fastml_bit(b, bk, k, &bad);
        return bad ? -1 : (int64_t)total;
    }
    FASTML_COUNT_CLONES
    static int64_t fastml_xor_wide(const void* a, int ak, const void* b, int bk, ptrdiff_t n) {
        FASTML_BY_KINDS(fastml_xor_kinds, a, ak, b, bk, n)
    }
    """
    int64_t fastml_xor_wide(const void* a, int ak, const void* b, int bk,
                            Py_ssize_t n) noexcept nogil
    int fastml_label_counts(const uint8_t* yt, const uint8_t* yp, Py_ssize_t rows,
                            Py_ssize_t L, int64_t* tp, int64_t* pred, int64_t* tru) noexcept nogil
    int64_t fastml_xor_count(const uint8_t* a, const uint8_t* b, Py_ssize_t n) noexcept nogil
    uint64_t fastml_label_counts_wide(const void* yt, int tk, const void* yp, int pk,
                                      Py_ssize_t rows, Py_ssize_t L, int64_t* tp,
                                      int64_t* pred, int64_t* tru) noexcept nogil
    int fastml_sample_stats(const void* yt, int tk, const void* yp, int pk, Py_ssize_t rows,
                            Py_ssize_t L, const double* w, double beta2,
                            double one_plus_beta2, double* acc) noexcept nogil


cdef Py_ssize_t MIN_ROWS = 64
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


cdef Py_ssize_t WIDE_BLOCK = 1 << 19


cdef int _kind(a):
    if a.dtype == np.uint8:
        return 0
    return 2 if a.dtype.kind == "f" else 1


def xor_counts_wide(a, b):
    """For each row ``b[m]`` of the 2-D C-contiguous ``b``, the number of positions where
    it differs from the flat contiguous ``a`` (of length ``b.shape[1]``), or -1 if one of
    its values (or of ``a``'s) is not 0 or 1.

    ``a`` and ``b`` are each uint8 (values already checked), int64 or float64 (checked here,
    in the same pass: no narrowed copy is made). Returns int64 (B,). Every row is cut into
    blocks of a fixed size, run through the parallel driver; the counts are exact integers.
    """
    cdef Py_ssize_t n_rows = b.shape[0], n = b.shape[1]
    cdef int ak = _kind(a), bk = _kind(b)
    out = np.zeros(n_rows, dtype=np.int64)
    if n == 0 or n_rows == 0:
        return out
    cdef size_t pa = a.ctypes.data, pb = b.ctypes.data
    cdef Py_ssize_t sa = a.itemsize, sb = b.itemsize
    cdef Py_ssize_t n_blocks = (n + WIDE_BLOCK - 1) // WIDE_BLOCK

    def task(Py_ssize_t t):
        cdef Py_ssize_t m = t // n_blocks, c = t % n_blocks
        cdef Py_ssize_t lo = c * WIDE_BLOCK, hi = min(n, (c + 1) * WIDE_BLOCK)
        cdef const char* row = <const char*>pb + m * n * sb
        cdef int64_t r
        with nogil:
            r = fastml_xor_wide(<const char*>pa + lo * sa, ak, row + lo * sb, bk, hi - lo)
        return r

    parts = map_tasks(task, n_rows * n_blocks, nbytes=n * (sa + n_rows * sb))
    for m in range(n_rows):
        counts = parts[m * n_blocks:(m + 1) * n_blocks]
        out[m] = -1 if min(counts) < 0 else sum(counts)
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


def label_counts_wide(a, b):
    """Unweighted :func:`label_counts` of the 2-D C-contiguous 0/1 matrices ``a`` and ``b``
    read as they are (each uint8, already checked, or int64 / float64, checked in the same
    pass, with no narrowed copy); None if a value is not 0 or 1. The counts are exact
    integers, whatever the blocks."""
    cdef Py_ssize_t n = a.shape[0], L = a.shape[1]
    cdef int ak = _kind(a), bk = _kind(b)
    cdef size_t pa = a.ctypes.data, pb = b.ctypes.data
    cdef Py_ssize_t sa = a.itemsize * L, sb = b.itemsize * L
    n_blocks, rows = _row_blocks(n, 3 * L, L)

    def task(Py_ssize_t c):
        cdef Py_ssize_t lo = c * rows, hi = min(n, (c + 1) * rows)
        counts = np.zeros((3, L), dtype=np.int64)
        cdef int64_t[:, ::1] o = counts
        cdef uint64_t bad = 0
        if L > 0 and hi > lo:
            with nogil:
                bad = fastml_label_counts_wide(<const char*>pa + lo * sa, ak,
                                               <const char*>pb + lo * sb, bk, hi - lo, L,
                                               &o[0, 0], &o[1, 0], &o[2, 0])
        if bad == 2:
            raise MemoryError()
        return None if bad else counts

    parts = map_tasks(task, n_blocks, nbytes=n * (sa + sb))
    if any(p is None for p in parts):
        return None
    return _sum_in_order(parts).astype(np.float64)


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
def sample_stats_block(const uint8_t[:, ::1] yt, const uint8_t[:, ::1] yp,
                       const double[::1] w, bint weighted, double beta2,
                       double one_plus_beta2, Py_ssize_t lo, Py_ssize_t hi):
    """Partial of :func:`sample_stats` over rows ``[lo, hi)``: float64 (3, 6)."""
    cdef Py_ssize_t L = yt.shape[1]
    out = np.zeros((3, 6))
    cdef double[:, ::1] o = out
    cdef int err
    cdef const uint8_t* pt = NULL
    cdef const uint8_t* pp = NULL
    if hi <= lo:
        return out
    if L > 0:
        pt, pp = &yt[lo, 0], &yp[lo, 0]
    with nogil:
        err = fastml_sample_stats(pt, 0, pp, 0, hi - lo, L, &w[lo] if weighted else NULL,
                                  beta2, one_plus_beta2, &o[0, 0])
    if err:
        raise MemoryError()
    return out


def sample_stats_wide(a, b, const double[::1] w, bint weighted, double beta2,
                      double one_plus_beta2):
    """:func:`sample_stats` of the 2-D C-contiguous 0/1 matrices ``a`` and ``b`` read as
    they are (each uint8, already checked, or int64 / float64, checked in the same pass, with
    no narrowed copy); None if a value is not 0 or 1."""
    cdef Py_ssize_t n = a.shape[0], L = a.shape[1]
    cdef int ak = _kind(a), bk = _kind(b)
    cdef size_t pa = a.ctypes.data, pb = b.ctypes.data
    cdef Py_ssize_t sa = a.itemsize * L, sb = b.itemsize * L
    n_blocks, rows = _row_blocks(n, 18, L)

    def task(Py_ssize_t c):
        cdef Py_ssize_t lo = c * rows, hi = min(n, (c + 1) * rows)
        out = np.zeros((3, 6))
        cdef double[:, ::1] o = out
        cdef int err
        with nogil:
            err = fastml_sample_stats(<const char*>pa + lo * sa, ak, <const char*>pb + lo * sb,
                                      bk, hi - lo, L, &w[lo] if weighted else NULL, beta2,
                                      one_plus_beta2, &o[0, 0])
        if err < 0:
            raise MemoryError()
        return None if err else out

    parts = map_tasks(task, n_blocks, nbytes=n * (sa + sb))
    if any(p is None for p in parts):
        return None
    return _sum_in_order(parts)


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
