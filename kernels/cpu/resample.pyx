# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
# distutils: extra_compile_args = -ffp-contract=off
"""Multi-label resampling kernels (CPU): imbalance measures, exact k-nearest neighbours inside
each label's bag, MLSMOTE synthesis, and the sequential loops of random over- and
under-sampling.

Why compiled: every job here is a typed loop over rows, features or bag members that NumPy
can only express with (n x labels) or (bag x bag) temporaries, or with a Python loop per
synthetic row (the reference's cost). Independent work (chunks of rows, bags, synthetic
rows) runs on the parallel driver (:mod:`fastml.kernels._parallel`) with the GIL released;
small inputs run on the calling thread, since waking threads costs more than the work.
Floating-point expressions are evaluated as written (built without contraction into fused
multiply-adds), so results do not depend on the compiler's target or on the thread count.

Random numbers come from a counter-based SplitMix64 stream: the ``i``-th uniform of stream
``key`` is a hash of ``key + i * golden``, so a value depends only on ``key`` and its
position, never on the thread that draws it.

Measures (:func:`label_counts`, :func:`scumble`): partial sums over fixed chunks of
``_CHUNK_ROWS`` rows, added in chunk order, whichever thread computed them. A row's SCUMBLE
sums run over its labels in label order; the row is read 8 labels at a time as one word, so
absent labels (most of them, in imbalanced data) cost one test per word.

Neighbour search (:func:`bag_knn`). The rows of every bag are gathered once into one
float64 array ``pts`` (the bags are consecutive row ranges). Seeds go in groups of
``GROUP`` consecutive members of a bag, their features interleaved in a small buffer; one
pass over the bag computes, for each member, the ``GROUP`` squared Euclidean distances as
plain sums of squared differences over the features in feature order (no ``|x|^2 + |y|^2 -
2 x.y`` expansion, so no cancellation: the search is exact, not approximate), each feature
of the member loaded once for the group; the group's sums are one short vector, so the
compiler vectorises across seeds without reordering any sum (GCC with glibc on x86-64 also
builds an AVX2 clone, picked at load time; every build gives the same bits). Each seed
keeps a sorted list of its ``k`` best (distance, member); a member replaces the worst only
when strictly closer, and members are visited in ascending order, so ties go to the lower
member: the lists are the first ``k`` members in (distance, member) order, whatever the
grouping or tiling. Work:
the sum over bags of size^2 x features; memory: the gathered bags plus a few small buffers
per task, never bag x bag. Bags are tasks, largest first.

Large bags with many features are instead screened with float32 matrix products of their
centred rows (BLAS, through NumPy, one BLAS thread per task): rigorous lower and upper
bounds of every pair's direct distance leave only about ``k`` pairs per member to measure
with the direct sum above, so the result is the same, bit for bit (see :func:`bag_knn`).
A product costs one float32 fused multiply-add per pair and feature where the direct sum
costs three float64 operations, but the screening adds a cost per pair that does not grow
with the features: the products win from about 16 features on. BLAS is reached through
NumPy's matmul (which releases the GIL), not ``scipy.linalg.cython_blas``: importing
``scipy.linalg`` would add 0.1-0.4 s to a process's first call.

Contract (``fastml.resample`` guarantees it): label matrices are C-contiguous uint8 0/1
arrays; index arrays are int64 and in range (bounds checks are off); ``pts`` and the
feature matrices are C-contiguous float64 (``pts``) or float32 / float64 (``x``, with
``out_x`` of the same dtype); every synthetic row has at least one neighbour.
"""

import contextlib
import threading

import numpy as np

cimport numpy as cnp
from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t
from libc.stdlib cimport free, malloc

from fastml.kernels._parallel import blocks, map_tasks

cnp.import_array()

cdef extern from *:
    """
    static inline double fastml_uniform(uint64_t key, uint64_t i) {
        uint64_t z = key + i * 0x9E3779B97F4A7C15ULL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        z = z ^ (z >> 31);
        return (double)(z >> 11) * (1.0 / 9007199254740992.0);
    }
    """
    double uniform "fastml_uniform"(uint64_t key, uint64_t i) noexcept nogil

cdef extern from *:
    """
    /* One synthetic row over all the features, each with its own gap: the loop of
       synthesize_block, on contiguous features, so the compiler can vectorise the random
       stream and the interpolation (lane arithmetic is plain IEEE: same bits). */
    #if defined(__GNUC__) && defined(__GLIBC__) && defined(__x86_64__) && !defined(__clang__) && __GNUC__ >= 8
    #define FASTML_INTERP_CLONES __attribute__((target_clones("avx2", "default")))
    #else
    #define FASTML_INTERP_CLONES
    #endif
    FASTML_INTERP_CLONES
    static void fastml_interp_d(const double *xs, const double *xc, double *out,
                                Py_ssize_t d, uint64_t key, uint64_t base) {
        Py_ssize_t f;
        for (f = 0; f < d; f++) {
            double g = fastml_uniform(key, base + (uint64_t)f);
            out[f] = xs[f] + g * (xc[f] - xs[f]);
        }
    }
    FASTML_INTERP_CLONES
    static void fastml_interp_f(const float *xs, const float *xc, float *out,
                                Py_ssize_t d, uint64_t key, uint64_t base) {
        Py_ssize_t f;
        for (f = 0; f < d; f++) {
            double g = fastml_uniform(key, base + (uint64_t)f), a = (double)xs[f];
            out[f] = (float)(a + g * ((double)xc[f] - a));
        }
    }
    """
    void interp_d "fastml_interp_d"(const double* xs, const double* xc, double* out,
                                    Py_ssize_t d, uint64_t key, uint64_t base) noexcept nogil
    void interp_f "fastml_interp_f"(const float* xs, const float* xc, float* out,
                                    Py_ssize_t d, uint64_t key, uint64_t base) noexcept nogil

cdef extern from *:
    """
    #include <string.h>
    /* The squared distances of a group of 4 seeds to members lo..hi-1: for each member, the
       4 sums run over the features in order, side by side in one 4-lane vector (lane g:
       seed g), so vectorising never reorders a sum; 4 members at a time keep 4 independent
       chains in flight. Lane arithmetic is plain IEEE (no contraction), so every build
       (SSE2 baseline, the AVX2 clone, the scalar fallback) gives the same bits. */
    #if defined(__GNUC__) || defined(__clang__)
    typedef double fastml_v4d __attribute__((vector_size(32)));
    #if defined(__GLIBC__) && defined(__x86_64__) && !defined(__clang__) && __GNUC__ >= 8
    __attribute__((target_clones("avx2", "default")))
    #endif
    static void fastml_distances4(const double *pts, Py_ssize_t d, Py_ssize_t lo, Py_ssize_t hi,
                                  const double *xs, double *acc) {
        Py_ssize_t c = lo, f;
        for (; c + 4 <= hi; c += 4) {
            const double *r0 = pts + c * d, *r1 = r0 + d, *r2 = r1 + d, *r3 = r2 + d;
            fastml_v4d a0 = {0, 0, 0, 0}, a1 = a0, a2 = a0, a3 = a0, x, t0, t1, t2, t3;
            for (f = 0; f < d; f++) {
                memcpy(&x, xs + 4 * f, sizeof x);
                t0 = x - r0[f];
                t1 = x - r1[f];
                t2 = x - r2[f];
                t3 = x - r3[f];
                a0 = a0 + t0 * t0;
                a1 = a1 + t1 * t1;
                a2 = a2 + t2 * t2;
                a3 = a3 + t3 * t3;
            }
            memcpy(acc + 4 * (c - lo), &a0, sizeof a0);
            memcpy(acc + 4 * (c - lo + 1), &a1, sizeof a1);
            memcpy(acc + 4 * (c - lo + 2), &a2, sizeof a2);
            memcpy(acc + 4 * (c - lo + 3), &a3, sizeof a3);
        }
        for (; c < hi; c++) {
            const double *r = pts + c * d;
            fastml_v4d a = {0, 0, 0, 0}, x, t;
            for (f = 0; f < d; f++) {
                memcpy(&x, xs + 4 * f, sizeof x);
                t = x - r[f];
                a = a + t * t;
            }
            memcpy(acc + 4 * (c - lo), &a, sizeof a);
        }
    }
    #else
    static void fastml_distances4(const double *pts, Py_ssize_t d, Py_ssize_t lo, Py_ssize_t hi,
                                  const double *xs, double *acc) {
        Py_ssize_t c, f, g;
        for (c = lo; c < hi; c++) {
            const double *r = pts + c * d;
            double a[4] = {0, 0, 0, 0}, t;
            for (f = 0; f < d; f++)
                for (g = 0; g < 4; g++) {
                    t = xs[4 * f + g] - r[f];
                    a[g] = a[g] + t * t;
                }
            for (g = 0; g < 4; g++)
                acc[4 * (c - lo) + g] = a[g];
        }
    }
    #endif
    """
    void distances "fastml_distances4"(const double* pts, Py_ssize_t d, Py_ssize_t lo,
                                       Py_ssize_t hi, const double* xs,
                                       double* acc) noexcept nogil

ctypedef fused floating:
    float
    double

#: Rows per chunk of the measure passes (fixed, so float sums do not depend on threads).
_CHUNK_ROWS = 8192
cdef Py_ssize_t CHUNK_ROWS = 8192
#: Seeds sharing one pass over their bag in the neighbour search.
GROUP = 4

cdef enum:
    C_GROUP = 4  # GROUP, as a C constant
    TILE = 256  # bag members per tile of distances

#: Above this many matrix entries (rows x labels, or synthetic rows x features) the
#: measure and synthesis passes are shared out to the threads; below it, they run on the
#: calling thread (waking and joining threads outweighs the work).
PARALLEL_ENTRIES = 1 << 22
#: Above this many (seed, member, feature) triples the neighbour search runs its bags on
#: the threads.
PARALLEL_WORK = 1 << 26
#: Synthetic rows per block of the parallel synthesis pass, and the work (rows x (features
#: + labels x (neighbours + 1))) above which it is shared out: a synthetic row reads two
#: random rows of the input and a label row per neighbour, so an entry costs several times
#: one of the measure passes (about 2 ns on one core), and the synthesis pays for the
#: threads from a lower count.
_SYN_ROWS = 2048
PARALLEL_SYN_ENTRIES = 1 << 19
#: Entries per block of the parallel row copies, and the size from which they are shared
#: out; rows x bags from which the bags are found as tasks.
_COPY_ENTRIES = 1 << 18
PARALLEL_COPY_ENTRIES = 1 << 19
PARALLEL_BAG_ENTRIES = 1 << 19

RANKING, UNION, INTERSECTION = 0, 1, 2


# ------------------------------------------------------------------------------ measures
def label_counts_block(const uint8_t[:, ::1] y, Py_ssize_t lo, Py_ssize_t hi):
    """Partial: positives per label over rows ``[lo, hi)`` (int64)."""
    cdef Py_ssize_t i, j, L = y.shape[1]
    out = np.zeros(L, np.int64)
    cdef int64_t[::1] acc = out
    with nogil:
        for i in range(lo, hi):
            for j in range(L):
                acc[j] += y[i, j]
    return out


def label_counts(const uint8_t[:, ::1] y):
    """Positives per label of the C-contiguous uint8 0/1 matrix ``y`` (int64)."""
    cdef Py_ssize_t n = y.shape[0]
    if y.shape[0] * y.shape[1] < PARALLEL_ENTRIES:
        return label_counts_block(y, 0, n)
    n_chunks = max(1, (n + CHUNK_ROWS - 1) // CHUNK_ROWS)
    parts = map_tasks(
        lambda c: label_counts_block(y, c * CHUNK_ROWS, min(n, (c + 1) * CHUNK_ROWS)),
        n_chunks,
    )
    acc = parts[0]
    for p in parts[1:]:
        acc = acc + p
    return acc


cdef extern from *:
    """
    #include <math.h>
    #include <string.h>
    /* Labels of row yi (L bytes, 0/1) in order, read 8 at a time as one word: a word of
       absent labels costs one test, a present label one step of a bit scan. BODY runs with
       g = each present label. */
    #if defined(__GNUC__) || defined(__clang__)
    #define FASTML_LOW_FIRST(w) ((w) < 8 || ((const union { uint16_t u; uint8_t b[2]; }){1}).b[0])
    #define FASTML_NEXT(word) ((Py_ssize_t)(__builtin_ctzll(word) >> 3))
    #else
    #define FASTML_LOW_FIRST(w) 0
    #define FASTML_NEXT(word) 0
    #endif
    #define FASTML_FOR_LABELS(yi, L, BODY) do {                                         \
        Py_ssize_t j_, w_, g;                                                           \
        uint64_t word_;                                                                 \
        for (j_ = 0; j_ < (L); j_ += 8) {                                               \
            if ((L) - j_ >= 8) {                                                        \
                w_ = 8;                                                                 \
                memcpy(&word_, (yi) + j_, 8);                                           \
            } else {                                                                    \
                w_ = (L) - j_;                                                          \
                word_ = 0;                                                              \
                for (g = 0; g < w_; g++)                                                \
                    word_ |= (uint64_t)(yi)[j_ + g] << (8 * g);                         \
            }                                                                           \
            if (word_ == 0)                                                             \
                continue;                                                               \
            if (FASTML_LOW_FIRST(w_)) {                                                 \
                while (word_) {                                                         \
                    g = j_ + FASTML_NEXT(word_);                                        \
                    BODY                                                                \
                    word_ &= ~((uint64_t)0xFF << (8 * (g - j_)));                        \
                }                                                                       \
            } else {                                                                    \
                for (g = j_; g < j_ + w_; g++)                                          \
                    if ((yi)[g]) {                                                      \
                        BODY                                                            \
                    }                                                                   \
            }                                                                           \
        }                                                                               \
    } while (0)

    /* One chunk of rows lo..hi-1 of the SCUMBLE pass. A row's SCUMBLE is 1 - geometric /
       arithmetic mean of its labels' IRLbl (0 with fewer than two labels), the sums taken
       over its labels in label order (the terms of absent labels are exact zeros: leaving
       them out changes nothing). acc[j] (j < L) adds it over the rows having label j,
       acc[L] over all rows, in row order; rows (when not NULL) receives each row's. */
    static void fastml_scumble_chunk(const uint8_t *y, Py_ssize_t lo, Py_ssize_t hi,
                                     Py_ssize_t L, const double *ir, const double *log_ir,
                                     double *acc, double *rows) {
        Py_ssize_t i;
        for (i = lo; i < hi; i++) {
            const uint8_t *yi = y + i * L;
            double m = 0.0, sl = 0.0, ss = 0.0, s = 0.0;
            FASTML_FOR_LABELS(yi, L, { m += 1.0; sl += log_ir[g]; ss += ir[g]; });
            if (m >= 2.0)
                s = 1.0 - exp(sl / m) / (ss / m);
            if (rows)
                rows[i] = s;
            if (s != 0.0) {
                acc[L] += s;
                FASTML_FOR_LABELS(yi, L, { acc[g] += s; });
            }
        }
    }

    """
    void scumble_chunk "fastml_scumble_chunk"(const uint8_t* y, Py_ssize_t lo, Py_ssize_t hi,
                                              Py_ssize_t L, const double* ir,
                                              const double* log_ir, double* acc,
                                              double* rows) noexcept nogil


def scumble_chunks(const uint8_t[:, ::1] y, const double[::1] ir, const double[::1] log_ir,
                   double[:, ::1] part, double[::1] rows, Py_ssize_t c0, Py_ssize_t c1):
    """Partials of chunks ``[c0, c1)``: ``part[c, :L]`` the sum of row SCUMBLE over the
    chunk's rows having each label, ``part[c, L]`` over all its rows; ``rows[i]`` the
    SCUMBLE of row ``i`` when ``rows`` is not empty."""
    cdef Py_ssize_t n = y.shape[0], L = y.shape[1], c, lo
    cdef double* rows_ = &rows[0] if rows.shape[0] > 0 else NULL
    cdef const uint8_t* y_ = &y[0, 0] if n and L else NULL
    cdef const double* ir_ = &ir[0] if L else NULL
    cdef const double* log_ = &log_ir[0] if L else NULL
    with nogil:
        for c in range(c0, c1):
            lo = c * CHUNK_ROWS
            scumble_chunk(y_, lo, min(n, lo + CHUNK_ROWS), L, ir_, log_, &part[c, 0], rows_)


def scumble(const uint8_t[:, ::1] y, ir, per_row=False):
    """``(total, per_label, rows)``: the sum over rows of SCUMBLE; for each label the sum
    over the rows having it; SCUMBLE of every row when ``per_row`` (else an empty array).
    ``ir`` is IRLbl per label (> 0 wherever a row has the label). Partial sums are taken
    over fixed chunks of rows and added in chunk order, so they do not depend on threads."""
    cdef Py_ssize_t n = y.shape[0], L = y.shape[1]
    ir = np.ascontiguousarray(ir, np.float64)
    log_ir = np.zeros(L)
    np.log(ir, out=log_ir, where=ir > 0)
    n_chunks = max(1, (n + CHUNK_ROWS - 1) // CHUNK_ROWS)
    part = np.zeros((n_chunks, L + 1))
    rows = np.zeros(n if per_row else 0)
    if n * L < PARALLEL_ENTRIES:
        scumble_chunks(y, ir, log_ir, part, rows, 0, n_chunks)
    else:
        map_tasks(lambda c: scumble_chunks(y, ir, log_ir, part, rows, c, c + 1), n_chunks)
    tot = np.zeros(L + 1)
    for c in range(n_chunks):  # in chunk order
        tot += part[c]
    return float(tot[L]), tot[:L], rows


# ---------------------------------------------------------------------------------- bags
def bags_count(const uint8_t[:, ::1] y, const int64_t[::1] lab, int64_t[::1] sizes,
               Py_ssize_t lo, Py_ssize_t hi):
    """``sizes[b]``: the rows having label ``lab[b]``, for bags ``[lo, hi)``."""
    cdef Py_ssize_t n = y.shape[0], i, b, j
    cdef int64_t c
    with nogil:  # one column at a time
        for b in range(lo, hi):
            j = lab[b]
            c = 0
            for i in range(n):
                c += y[i, j] != 0
            sizes[b] = c


def bags_fill(const uint8_t[:, ::1] y, const int64_t[::1] lab, const int64_t[::1] start,
              int64_t[::1] rows, Py_ssize_t lo, Py_ssize_t hi):
    """The rows of bags ``[lo, hi)``: bag ``b`` into ``rows[start[b]:]``, followed by one
    spare slot that no other bag uses."""
    cdef Py_ssize_t n = y.shape[0], i, b, j
    cdef int64_t k
    # Branch-free fill: every row is written at the bag's cursor, which moves on only past
    # a row having the label; the rows without it land in the spare slot after the bag.
    with nogil:
        for b in range(lo, hi):
            j = lab[b]
            k = start[b]
            for i in range(n):
                rows[k] = i
                k += y[i, j] != 0


def bags(const uint8_t[:, ::1] y, labels):
    """Rows having each label of ``labels``, as CSC ``(ptr, rows)``: the rows of
    ``labels[b]`` are ``rows[ptr[b]:ptr[b+1]]``, ascending. Large inputs run their bags
    as tasks (the result does not depend on the sharing)."""
    lab_a = np.ascontiguousarray(labels, np.int64)
    cdef Py_ssize_t n = y.shape[0], n_bags = lab_a.shape[0]
    sizes = np.zeros(n_bags, np.int64)
    ptr = np.zeros(n_bags + 1, np.int64)
    if n_bags == 0:
        return ptr, np.empty(0, np.int64)
    parallel = n * n_bags >= PARALLEL_BAG_ENTRIES and n_bags >= 2
    if parallel:
        map_tasks(lambda b: bags_count(y, lab_a, sizes, b, b + 1), n_bags)
    else:
        bags_count(y, lab_a, sizes, 0, n_bags)
    np.cumsum(sizes, out=ptr[1:])
    spare = ptr[1:] + np.arange(n_bags)  # the spare slot after each bag
    start = spare - sizes
    padded = np.empty(ptr[n_bags] + n_bags, np.int64)
    if parallel:
        map_tasks(lambda b: bags_fill(y, lab_a, start, padded, b, b + 1), n_bags)
    else:
        bags_fill(y, lab_a, start, padded, 0, n_bags)
    keep = np.ones(padded.shape[0], bool)
    keep[spare] = False
    return ptr, padded[keep]


# ------------------------------------------------------------------------ neighbour search
cdef inline void insert(double* best_d, int64_t* best_i, Py_ssize_t m, double dist,
                        int64_t idx) noexcept nogil:
    """Insert (dist, idx) into the ascending list ``best_*[:m]`` whose last slot is free
    (or holds the entry to drop); entries equal to ``dist`` stay in front."""
    cdef Py_ssize_t p = m - 1
    while p > 0 and best_d[p - 1] > dist:
        best_d[p] = best_d[p - 1]
        best_i[p] = best_i[p - 1]
        p -= 1
    best_d[p] = dist
    best_i[p] = idx


cdef void knn_bag(const double* pts, Py_ssize_t d, Py_ssize_t lo, Py_ssize_t hi,
                  Py_ssize_t k, Py_ssize_t width, int64_t* nbr, double* dist, double* xs,
                  double* acc) noexcept nogil:
    """Neighbours of every member of the bag ``lo:hi`` (rows of ``nbr`` / ``dist``, of
    ``width`` slots, which start as -1 / inf).

    Each pair is measured once: the group of seeds ``p0..p0+3`` meets the members from
    ``p0`` on, and a member beyond the group also takes the seeds into its own list. Every
    list therefore receives its candidates in ascending member order, and a candidate
    enters only when strictly closer than the list's last, so ties go to the lower member.
    """
    cdef Py_ssize_t m = min(k, hi - lo - 1)
    cdef Py_ssize_t p0, n_seeds, g, f, t0, t1, c, seed
    cdef int64_t q[C_GROUP]
    cdef double last, v
    if m <= 0:
        return
    p0 = lo
    while p0 < hi:
        n_seeds = min(C_GROUP, hi - p0)
        for g in range(C_GROUP):  # a short group is padded with its last seed (not used)
            q[g] = p0 + min(g, n_seeds - 1)
        for f in range(d):
            for g in range(C_GROUP):
                xs[f * C_GROUP + g] = pts[q[g] * d + f]
        t0 = p0
        while t0 < hi:
            t1 = min(hi, t0 + TILE)
            distances(pts, d, t0, t1, xs, acc)
            for g in range(n_seeds):
                seed = q[g]
                last = dist[seed * width + m - 1]
                for c in range(t0, t1):
                    v = acc[(c - t0) * C_GROUP + g]
                    if v < last and c != seed:
                        insert(dist + seed * width, nbr + seed * width, m, v, c)
                        last = dist[seed * width + m - 1]
            for c in range(max(t0, p0 + n_seeds), t1):
                last = dist[c * width + m - 1]
                for g in range(n_seeds):
                    v = acc[(c - t0) * C_GROUP + g]
                    if v < last:
                        insert(dist + c * width, nbr + c * width, m, v, q[g])
                        last = dist[c * width + m - 1]
            t0 = t1
        p0 += C_GROUP


def knn_bags(const double[:, ::1] pts, const int64_t[::1] bag_ptr, const int64_t[::1] which,
             Py_ssize_t k, int64_t[:, ::1] nbr, double[:, ::1] dist):
    """The neighbour lists of the members of bags ``which`` (see :func:`bag_knn`)."""
    cdef Py_ssize_t d = pts.shape[1], width = nbr.shape[1], t, b
    cdef double* xs = <double*>malloc((C_GROUP * max(d, 1) + C_GROUP * TILE) * sizeof(double))
    if xs == NULL:
        raise MemoryError()
    cdef double* acc = xs + C_GROUP * max(d, 1)
    cdef const double* p = &pts[0, 0] if pts.shape[0] and d else NULL
    try:
        with nogil:
            for t in range(which.shape[0]):
                b = which[t]
                knn_bag(p, d, bag_ptr[b], bag_ptr[b + 1], k, width, &nbr[0, 0], &dist[0, 0],
                        xs, acc)
    finally:
        free(xs)


# ----------------------------------------------------- neighbour search by matrix products
cdef extern from *:
    """
    #include <math.h>
    #include <string.h>
    /* The squared distance of two rows exactly as the direct search measures it: the sum
       of squared differences over the features in order (a term is the same whichever
       row comes first: (a - b)^2 == (b - a)^2 in IEEE arithmetic). */
    static double fastml_sqdist(const double *a, const double *b, Py_ssize_t d) {
        double s = 0.0, t;
        Py_ssize_t f;
        for (f = 0; f < d; f++) {
            t = a[f] - b[f];
            s = s + t * t;
        }
        return s;
    }

    /* State of the product search of one bag (members 0..m-1, bag-local; row x of the
       gathered points is lo + x). For each member x: ubl[x] holds the mm smallest upper
       bounds seen (ascending), ubk[x] the largest of them (an upper bound of the distance
       of x's mm-th neighbour); cand[x] the members whose lower bound was at most ubk[x]
       when met (with that bound), cnt[x] of them; the exact lists are the outputs. */
    typedef struct {
        const double *pts;
        Py_ssize_t d, lo, m, mm, cap, width;
        const double *qh, *ql;
        double *ubl, *ubk, *cand_l, tiny;
        int64_t *cand_i, *cnt, *nbr;
        double *dist;
        const float *qf;  /* float32 lower bounds of ql (see FASTML_SCREEN_VEC) */
        float *ubf;       /* float32 upper bounds of ubk, kept in step with it */
    } fastml_sym;

    /* float32 neighbours of a double x (finite or infinite, not NaN): the nearest float32
       at or above x, and at or below it. One step up or down is one step of the bits. */
    static inline float fastml_step_f(float f, int up) {
        uint32_t b;
        if (f == 0.0f) return up ? 0x1p-149f : -0x1p-149f;
        memcpy(&b, &f, 4);
        b = ((b >> 31) == 0) == (up != 0) ? b + 1 : b - 1;  /* away from or towards zero */
        memcpy(&f, &b, 4);
        return f;
    }
    static inline float fastml_up_f(double x) {  /* branch-free: it runs on every bound */
        float f = (float)x + 0.0f;  /* -0.0 becomes +0.0: below, f < 0 means f <= -2^-149 */
        uint32_t b;
        memcpy(&b, &f, 4);
        uint32_t need = (double)f < x, neg = b >> 31;
        b += need * (1u - 2u * neg);  /* one step up: away from zero, or towards it */
        memcpy(&f, &b, 4);
        return f;
    }
    static inline float fastml_down_f(double x) {
        float f = (float)x;
        return (double)f > x ? fastml_step_f(f, 0) : f;
    }

    /* Insert u (below the largest) into x's ascending list, dropping the largest. Without
       branches: slot i becomes min(b[i], max(b[i - 1], u)), from the top slot down (the
       insertion point is unpredictable, so a searching loop mispredicts on most calls). */
    static inline void fastml_ub_insert(fastml_sym *S, Py_ssize_t x, double u) {
        double *b = S->ubl + x * S->mm;
        Py_ssize_t i;
        for (i = S->mm - 1; i > 0; i--) {
            double lo = b[i - 1] > u ? b[i - 1] : u;
            b[i] = b[i] < lo ? b[i] : lo;
        }
        b[0] = b[0] < u ? b[0] : u;
        S->ubk[x] = b[S->mm - 1];
        S->ubf[x] = fastml_up_f(S->ubk[x]);
    }

    /* Offer y, at the exact distance v from x, to x's list, kept in ascending
       (distance, member) order whatever the order of the offers. */
    static void fastml_offer(fastml_sym *S, Py_ssize_t x, Py_ssize_t y, double v) {
        Py_ssize_t gx = S->lo + x, gy = S->lo + y, p = S->mm - 1;
        double *bd = S->dist + gx * S->width;
        int64_t *bi = S->nbr + gx * S->width;
        if (!(v < bd[p] || (v == bd[p] && bi[p] >= 0 && gy < bi[p])))
            return;
        while (p > 0 && (bd[p - 1] > v || (bd[p - 1] == v && bi[p - 1] > gy))) {
            bd[p] = bd[p - 1];
            bi[p] = bi[p - 1];
            p--;
        }
        bd[p] = v;
        bi[p] = gy;
    }

    /* Measure x's candidates still within its bound, and empty the buffer. Four
       candidates are measured side by side (four independent sums, each over the features
       in order, as fastml_sqdist: the same bits, four times the additions in flight), then
       offered in buffer order. */
    static void fastml_flush(fastml_sym *S, Py_ssize_t x) {
        Py_ssize_t j, f, n = S->cnt[x], kept = 0, d = S->d;
        int64_t *ci = S->cand_i + x * S->cap;
        const double *cl = S->cand_l + x * S->cap;
        const double *a = S->pts + (S->lo + x) * d;
        double lim = S->ubk[x];
        for (j = 0; j < n; j++)  /* the candidates within the bound, in order, in place */
            if (cl[j] <= lim)
                ci[kept++] = ci[j];
        for (j = 0; j + 4 <= kept; j += 4) {
            const double *rows = S->pts + S->lo * d;
            const double *b0 = rows + ci[j] * d, *b1 = rows + ci[j + 1] * d;
            const double *b2 = rows + ci[j + 2] * d, *b3 = rows + ci[j + 3] * d;
            double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0, t0, t1, t2, t3;
            for (f = 0; f < d; f++) {
                t0 = a[f] - b0[f];
                t1 = a[f] - b1[f];
                t2 = a[f] - b2[f];
                t3 = a[f] - b3[f];
                s0 = s0 + t0 * t0;
                s1 = s1 + t1 * t1;
                s2 = s2 + t2 * t2;
                s3 = s3 + t3 * t3;
            }
            fastml_offer(S, x, ci[j], s0);
            fastml_offer(S, x, ci[j + 1], s1);
            fastml_offer(S, x, ci[j + 2], s2);
            fastml_offer(S, x, ci[j + 3], s3);
        }
        for (; j < kept; j++)
            fastml_offer(S, x, ci[j], fastml_sqdist(a, S->pts + (S->lo + ci[j]) * d, d));
        S->cnt[x] = 0;
    }

    static void fastml_push(fastml_sym *S, Py_ssize_t x, Py_ssize_t y, double l) {
        Py_ssize_t n = S->cnt[x], j, w;
        int64_t *ci = S->cand_i + x * S->cap;
        double *cl = S->cand_l + x * S->cap, lim;
        if (n == S->cap) {  /* drop what the bound now excludes; measure if still full */
            lim = S->ubk[x];
            for (j = 0, w = 0; j < n; j++)
                if (cl[j] <= lim) {
                    ci[w] = ci[j];
                    cl[w] = cl[j];
                    w++;
                }
            S->cnt[x] = n = w;
            if (n > S->cap / 2) {
                fastml_flush(S, x);
                n = 0;
            }
        }
        ci[n] = y;
        cl[n] = l;
        S->cnt[x] = n + 1;
    }

    /* Screen the products g (nb x nt, row-major) of seeds s0.. and members t0.. (bag-local).
       Seeds take every member but themselves; members from col_from on (those outside the
       seed block) also take the seeds. A pair whose lower bound is within a member's
       current bound becomes its candidate (the flush drops those the final bound
       excludes), and the pair's upper bound may lower the bound. 8 entries at a time are
       tested branch-free, as two 4-lane vectors where the compiler has them, into a mask
       of the entries that may pass; those are then redone one by one (the bounds only
       fall meanwhile, so the mask is a superset). */
    #if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 9)
    typedef double fastml_v4 __attribute__((vector_size(32)));
    typedef float fastml_f4 __attribute__((vector_size(16)));
    typedef long long fastml_m4 __attribute__((vector_size(32)));
    #define FASTML_ANY8(VAL, CMP)                                                         \
        {                                                                                 \
            fastml_v4 g0, g1, q0, q1, u0, u1, v0, v1, R, L;                               \
            fastml_f4 f0, f1;                                                             \
            fastml_m4 h0;                                                                 \
            R = (fastml_v4){rs, rs, rs, rs};                                              \
            L = (fastml_v4){lim, lim, lim, lim};                                          \
            memcpy(&f0, row + c, sizeof f0);                                              \
            memcpy(&f1, row + c + 4, sizeof f1);                                          \
            g0 = __builtin_convertvector(f0, fastml_v4);                                  \
            g1 = __builtin_convertvector(f1, fastml_v4);                                  \
            memcpy(&q0, VAL##_q + c, sizeof q0);                                          \
            memcpy(&q1, VAL##_q + c + 4, sizeof q1);                                      \
            memcpy(&u0, ubk + c, sizeof u0);                                              \
            memcpy(&u1, ubk + c + 4, sizeof u1);                                          \
            v0 = (R + q0) - (g0 + g0);                                                    \
            v1 = (R + q1) - (g1 + g1);                                                    \
            h0 = (((v0 CMP L) | (v0 CMP u0)) & (fastml_m4){1, 2, 4, 8})                   \
                 | (((v1 CMP L) | (v1 CMP u1)) & (fastml_m4){16, 32, 64, 128});           \
            hit = (unsigned)(h0[0] | h0[1] | h0[2] | h0[3]);                              \
        }
    #else
    #define FASTML_ANY8(VAL, CMP)                                                         \
        for (j = 0; j < 8; j++) {                                                         \
            double v = (rs + VAL##_q[c + j]) - 2.0 * (double)row[c + j];                  \
            hit |= (unsigned)((v CMP lim) | (v CMP ubk[c + j])) << j;                     \
        }
    #endif
    #if defined(__GNUC__) || defined(__clang__)
    #define FASTML_LOWEST(m) __builtin_ctz(m)
    #else
    static int fastml_lowest(unsigned m) { int j = 0; while (!(m >> j & 1)) j++; return j; }
    #define FASTML_LOWEST(m) fastml_lowest(m)
    #endif
    #define FASTML_SCREEN_PASS(VAL, CMP, ROW_HIT, COL_HIT)                                  \
        for (r = 0; r < nb; r++) {                                                        \
            Py_ssize_t s = s0 + r;                                                        \
            const float *row = g + r * nt - t0;                                           \
            double rs = VAL##_seed(s);                                                    \
            for (c = t0; c < cf; c++) {                                                   \
                Py_ssize_t cc = c;                                                        \
                double v = (rs + VAL##_q[cc]) - 2.0 * (double)row[cc];                   \
                if (cc != s && v CMP ubk[s]) { ROW_HIT }                                  \
            }                                                                             \
            for (; c + 8 <= t1; c += 8) {                                                 \
                double lim = ubk[s];                                                      \
                unsigned hit = 0;                                                         \
                FASTML_ANY8(VAL, CMP)                                                     \
                for (; hit; hit &= hit - 1) {                                             \
                    Py_ssize_t cc = c + FASTML_LOWEST(hit);                               \
                    double v = (rs + VAL##_q[cc]) - 2.0 * (double)row[cc];               \
                    if (v CMP ubk[s]) { ROW_HIT }                                         \
                    if (v CMP ubk[cc]) { COL_HIT }                                        \
                }                                                                         \
            }                                                                             \
            for (; c < t1; c++) {                                                         \
                Py_ssize_t cc = c;                                                        \
                double v = (rs + VAL##_q[cc]) - 2.0 * (double)row[cc];                   \
                if (v CMP ubk[s]) { ROW_HIT }                                             \
                if (v CMP ubk[cc]) { COL_HIT }                                            \
            }                                                                             \
        }
    #define lo_q ql
    #define lo_seed(s) (ql[s] - tiny)
    #if defined(__GNUC__) && defined(__GLIBC__) && defined(__x86_64__) && !defined(__clang__) && __GNUC__ >= 8
    __attribute__((target_clones("avx2", "default")))
    #endif
    static void fastml_screen_generic(fastml_sym *S, const float *g, Py_ssize_t s0,
                                      Py_ssize_t nb, Py_ssize_t t0, Py_ssize_t nt,
                                      Py_ssize_t col_from) {
        Py_ssize_t r, c, j, t1 = t0 + nt;
        (void)j;  /* used by the scalar test only */
        Py_ssize_t cf = col_from < t0 ? t0 : (col_from > t1 ? t1 : col_from);
        const double *qh = S->qh, *ql = S->ql;
        double *ubk = S->ubk, tiny = S->tiny;
        /* one pass: a pair whose lower bound v is within a member's bound is kept as its
           candidate, and its upper bound u may lower that bound */
        FASTML_SCREEN_PASS(
            lo, <=,
            double u = (qh[s] + tiny + qh[cc]) - 2.0 * (double)row[cc];
            fastml_push(S, s, cc, v);
            if (u < ubk[s]) fastml_ub_insert(S, s, u);,
            double u = (qh[s] + tiny + qh[cc]) - 2.0 * (double)row[cc];
            fastml_push(S, cc, s, v);
            if (u < ubk[cc]) fastml_ub_insert(S, cc, u);)
    }
    #undef lo_q
    #undef lo_seed

    /* The pair (seed s, member cc) of the screen above, exactly: offered to the seed's
       list, and (col: cc is outside the seed block) to the member's. */
    static inline void fastml_pair(fastml_sym *S, const float *row, Py_ssize_t s,
                                   Py_ssize_t cc, double rs, int col) {
        const double *qh = S->qh;
        double *ubk = S->ubk, tiny = S->tiny;
        double v = (rs + S->ql[cc]) - 2.0 * (double)row[cc];
        if (cc != s && v <= ubk[s]) {
            double u = (qh[s] + tiny + qh[cc]) - 2.0 * (double)row[cc];
            fastml_push(S, s, cc, v);
            if (u < ubk[s]) fastml_ub_insert(S, s, u);
        }
        if (col && v <= ubk[cc]) {
            double u = (qh[s] + tiny + qh[cc]) - 2.0 * (double)row[cc];
            fastml_push(S, cc, s, v);
            if (u < ubk[cc]) fastml_ub_insert(S, cc, u);
        }
    }

    /* The same screen with a float32 pre-test, 8 (AVX2) or 16 (AVX-512) pairs at a time.
       For the seed's exact lower-bound term rs and a member's ql[c], the pre-test computes
       vf = (rsf + qf[c]) - 2 g in float32, where rsf and qf[c] are rs and ql[c] lowered by
       2^-20 of their size (and rsf by 2^-100 more), rounded down to float32. The float32
       rounding of vf is within 3 * 2^-24 (|rs| + ql[c]) (|g| is at most about half the
       sum of the two norms), well inside what was taken off, so vf never exceeds the exact
       double v of the pair; and the float32 bounds ubf are never below the double ones.
       A pair that fails the pre-test therefore fails the exact test: only the pairs that
       pass it are done exactly, in the same order as the scalar screen, so the lists are
       the same bit for bit. */
    #if defined(__x86_64__) && defined(__GNUC__) && (defined(__clang__) || __GNUC__ >= 8)
    #include <immintrin.h>
    #define FASTML_HAVE_VEC_SCREEN 1
    static inline float fastml_seed_low(double rs) {
        return fastml_down_f((rs - fabs(rs) * 0x1p-20) - 0x1p-100);
    }
    #define FASTML_SCREEN_VEC(NAME, TARGET, W, VT, MT, LOAD, SET1, ADD, SUB, LE)           \
    __attribute__((target(TARGET)))                                                      \
    static void NAME(fastml_sym *S, const float *g, Py_ssize_t s0, Py_ssize_t nb,        \
                     Py_ssize_t t0, Py_ssize_t nt, Py_ssize_t col_from) {                \
        Py_ssize_t r, c, t1 = t0 + nt;                                                    \
        Py_ssize_t cf = col_from < t0 ? t0 : (col_from > t1 ? t1 : col_from);             \
        const float *qf = S->qf, *ubf = S->ubf;                                           \
        for (r = 0; r < nb; r++) {                                                        \
            Py_ssize_t s = s0 + r;                                                        \
            const float *row = g + r * nt - t0;                                           \
            double rs = S->ql[s] - S->tiny;                                               \
            VT R = SET1(fastml_seed_low(rs));                                             \
            for (c = t0; c + W <= cf; c += W) {                                           \
                VT G = LOAD(row + c);                                                     \
                VT V = SUB(ADD(R, LOAD(qf + c)), ADD(G, G));                              \
                MT m = LE(V, SET1(ubf[s]));                                               \
                for (; m; m &= m - 1)                                                     \
                    fastml_pair(S, row, s, c + __builtin_ctz((unsigned)m), rs, 0);        \
            }                                                                             \
            for (; c < cf; c++) fastml_pair(S, row, s, c, rs, 0);                         \
            for (; c + W <= t1; c += W) {                                                 \
                VT G = LOAD(row + c);                                                     \
                VT V = SUB(ADD(R, LOAD(qf + c)), ADD(G, G));                              \
                MT m = LE(V, SET1(ubf[s])) | LE(V, LOAD(ubf + c));                        \
                for (; m; m &= m - 1)                                                     \
                    fastml_pair(S, row, s, c + __builtin_ctz((unsigned)m), rs, 1);        \
            }                                                                             \
            for (; c < t1; c++) fastml_pair(S, row, s, c, rs, 1);                         \
        }                                                                                 \
    }
    #define FASTML_LE8(a, b) (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(a, b, _CMP_LE_OQ))
    #define FASTML_LE16(a, b) (unsigned)_mm512_cmp_ps_mask(a, b, _CMP_LE_OQ)
    FASTML_SCREEN_VEC(fastml_screen_avx2, "avx2", 8, __m256, unsigned, _mm256_loadu_ps,
                      _mm256_set1_ps, _mm256_add_ps, _mm256_sub_ps, FASTML_LE8)
    FASTML_SCREEN_VEC(fastml_screen_avx512, "avx512f", 16, __m512, unsigned,
                      _mm512_loadu_ps, _mm512_set1_ps, _mm512_add_ps, _mm512_sub_ps,
                      FASTML_LE16)
    #endif

    /* Highest screen level to use: 0 scalar, 1 AVX2, 2 AVX-512 (tests lower it). */
    static int fastml_screen_cap = 2;
    static int fastml_screen_level(void) {
        int level = 0;
    #ifdef FASTML_HAVE_VEC_SCREEN
        if (__builtin_cpu_supports("avx512f")) level = 2;
        else if (__builtin_cpu_supports("avx2")) level = 1;
    #endif
        return level < fastml_screen_cap ? level : fastml_screen_cap;
    }
    static void fastml_screen(fastml_sym *S, const float *g, Py_ssize_t s0, Py_ssize_t nb,
                              Py_ssize_t t0, Py_ssize_t nt, Py_ssize_t col_from) {
        int level = fastml_screen_level();
    #ifdef FASTML_HAVE_VEC_SCREEN
        if (level == 2) { fastml_screen_avx512(S, g, s0, nb, t0, nt, col_from); return; }
        if (level == 1) { fastml_screen_avx2(S, g, s0, nb, t0, nt, col_from); return; }
    #endif
        (void)level;
        fastml_screen_generic(S, g, s0, nb, t0, nt, col_from);
    }
    """
    ctypedef struct fastml_sym:
        const double* pts
        Py_ssize_t d, lo, m, mm, cap, width
        const double* qh
        const double* ql
        double* ubl
        double* ubk
        double* cand_l
        double tiny
        int64_t* cand_i
        int64_t* cnt
        int64_t* nbr
        double* dist
        const float* qf
        float* ubf
    int fastml_screen_cap
    int fastml_screen_level() noexcept nogil
    float fastml_down_f(double x) noexcept nogil
    void sym_screen "fastml_screen"(fastml_sym* S, const float* g, Py_ssize_t s0,
                                    Py_ssize_t nb, Py_ssize_t t0, Py_ssize_t nt,
                                    Py_ssize_t col_from) noexcept nogil
    void sym_flush "fastml_flush"(fastml_sym* S, Py_ssize_t x) noexcept nogil

#: Bags of at least this many (member, member, feature) triples, with rows of at least
#: ``GEMM_MIN_FEATURES`` features, are searched with matrix products; others directly
#: (measured on bags of 1,000-1,900 rows, k = 5: the products win from about 16 features
#: on, by 1.2x at 24 features, 1.5x at 50, 1.8x at 100; with fewer, the screening costs
#: more than the direct sums).
GEMM_MIN_WORK = 1 << 24
GEMM_MIN_FEATURES = 20
#: Seeds per matrix product, and members per product, in the product search.
GEMM_SEEDS = 128
GEMM_TILE = 1024
#: Largest squared norm of a centred member the product search takes (its float32 rows and
#: products stay far from overflow); a bag beyond it is searched directly.
_GEMM_MAX_NORM = 1e36
#: Absolute slack of the bounds, per feature: above the rounding of float32 terms near
#: underflow, even where they are flushed to zero.
_GEMM_TINY = 2.0 ** -118
#: Multiplier of the slack (1: the bound; a test sets 0 to show its data needs it).
_GEMM_SLACK = 1.0


def knn_product_bag(const double[:, ::1] pts, Py_ssize_t lo, Py_ssize_t hi, Py_ssize_t k,
                    int64_t[:, ::1] nbr, double[:, ::1] dist, Py_ssize_t block,
                    Py_ssize_t tile):
    """The neighbour lists of the bag ``lo:hi`` by matrix products (see :func:`bag_knn`).
    Returns False, having done nothing, when the bag's centred rows are too large for
    float32 products (the caller then searches it directly)."""
    cdef Py_ssize_t m = hi - lo, d = pts.shape[1], mm = min(k, hi - lo - 1), x, f
    cdef Py_ssize_t s0, s1, t0, t1, cap = 4 * max(mm, 1) + 16
    cdef double s, v, top = 0.0, rel, c_up, c_lo
    cdef float v32
    cdef fastml_sym S
    if mm <= 0:
        return True
    block = max(1, min(block, m))
    tile = max(1, min(tile, m))
    fbuf = _scratch("f", m * (4 + mm + cap) + d, np.float64)
    gbuf = _scratch("g", m * d + block * tile + 2 * m, np.float32)
    ibuf = _scratch("i", m * (cap + 1), np.int64)
    qh_a, ql_a, ubk_a, cand_l_a, ubl_a, mean_a, _ = np.split(
        fbuf, np.cumsum([m, m, m, m * cap, m * mm, d])
    )
    cen = gbuf[:m * d].reshape(m, d)
    qf_a = gbuf[m * d:m * d + m]
    ubf_a = gbuf[m * d + m:m * d + 2 * m]
    buf = gbuf[m * d + 2 * m:]
    cand_i_a, cnt_a = ibuf[:m * cap], ibuf[m * cap:m * (cap + 1)]
    mean_a[:] = 0.0
    cdef float[:, ::1] cv = cen
    cdef double[::1] qh = qh_a, ql = ql_a, mean = mean_a
    # twice the bound of the rounding (see bag_knn), relative to n_s + n_c
    rel = _GEMM_SLACK * ((2.0 * d + 12.0) * 2.0 ** -24 + (6.0 * d + 32.0) * 2.0 ** -53)
    c_up = 1.0 + rel
    c_lo = 1.0 - rel
    with nogil:
        for x in range(m):
            for f in range(d):
                mean[f] += pts[lo + x, f]
        for f in range(d):
            mean[f] = mean[f] / <double>m
        for x in range(m):
            s = 0.0
            for f in range(d):
                v32 = <float>(pts[lo + x, f] - mean[f])
                cv[x, f] = v32
                v = <double>v32
                s = s + v * v
            if not (s <= top):
                top = s
            qh[x] = s * c_up
            ql[x] = s * c_lo
    if not (top <= _GEMM_MAX_NORM):
        return False
    ubl_a[:] = np.inf
    ubk_a[:] = np.inf
    ubf_a[:] = np.inf
    cnt_a[:] = 0
    cdef double[::1] ubl = ubl_a, ubk = ubk_a, cand_l = cand_l_a
    cdef int64_t[::1] cand_i = cand_i_a, cnt = cnt_a
    cdef const float[:, ::1] gv
    S.pts = &pts[0, 0]
    S.d = d
    S.lo = lo
    S.m = m
    S.mm = mm
    S.cap = cap
    S.width = nbr.shape[1]
    S.qh = &qh[0]
    S.ql = &ql[0]
    S.ubl = &ubl[0]
    S.ubk = &ubk[0]
    S.cand_l = &cand_l[0]
    S.cand_i = &cand_i[0]
    S.cnt = &cnt[0]
    S.tiny = _GEMM_SLACK * (d + 8.0) * _GEMM_TINY
    S.nbr = &nbr[0, 0]
    S.dist = &dist[0, 0]
    cdef float[::1] qfv = qf_a, ubfv = ubf_a
    with nogil:  # float32 lower bounds of ql for the screen's pre-test
        for x in range(m):
            qfv[x] = fastml_down_f(ql[x] * (1.0 - 2.0 ** -20))
    S.qf = &qfv[0]
    S.ubf = &ubfv[0]
    for s0 in range(0, m, block):
        s1 = min(m, s0 + block)
        seeds = cen[s0:s1]
        for t0 in range(s0, m, tile):
            t1 = min(m, t0 + tile)
            g = buf[:(s1 - s0) * (t1 - t0)].reshape(s1 - s0, t1 - t0)
            np.matmul(seeds, cen[t0:t1].T, out=g)  # BLAS sgemm, without the GIL
            gv = g
            with nogil:
                sym_screen(&S, &gv[0, 0], s0, s1 - s0, t0, t1 - t0, s1)
    with nogil:
        for x in range(m):
            sym_flush(&S, x)
    return True


def screen_level(cap=None):
    """The screen's instruction-set level on this CPU (0: scalar, 1: AVX2 pre-test,
    2: AVX-512 pre-test), after capping it at ``cap`` when given (tests compare levels;
    every level gives the same lists)."""
    global fastml_screen_cap
    if cap is not None:
        fastml_screen_cap = int(cap)
    return fastml_screen_level()


_local = threading.local()
#: Largest scratch buffer a thread keeps between calls, in bytes.
_SCRATCH_KEEP = 1 << 23


def _scratch(name, n, dtype):
    """``n`` items of a per-thread buffer reused across bags and calls (no fresh pages to
    fault in for every bag); a buffer above ``_SCRATCH_KEEP`` bytes is not kept."""
    bufs = getattr(_local, "bufs", None)
    if bufs is None:
        bufs = _local.bufs = {}
    a = bufs.get(name)
    if a is None or a.shape[0] < n:
        a = np.empty(n, dtype)
        if a.nbytes <= _SCRATCH_KEEP:
            bufs[name] = a
        else:
            bufs.pop(name, None)
    return a[:n]


_blas_control = None


def _one_blas_thread():
    """A context in which BLAS runs on the calling thread only: the tasks are the
    parallelism, and BLAS threads on top of them oversubscribe the cores."""
    global _blas_control
    try:
        if _blas_control is None:
            from threadpoolctl import ThreadpoolController

            _blas_control = ThreadpoolController()
        return _blas_control.limit(limits=1, user_api="blas")
    except Exception:  # threadpoolctl missing or unable: BLAS keeps its own threads
        return contextlib.nullcontext()


def knn_in_parallel(bag_ptr, Py_ssize_t d):
    """Whether :func:`bag_knn` may run the bags ``bag_ptr`` (rows of ``d`` features) as
    parallel tasks (enough work, two bags or more)."""
    sizes = np.diff(np.asarray(bag_ptr, np.int64)).astype(np.float64)
    return sizes.shape[0] >= 2 and float((sizes ** 2).sum()) * d >= PARALLEL_WORK


def bag_knn(pts, bag_ptr, Py_ssize_t k, n_threads=None, first=None):
    """Exact k nearest neighbours of every bag member among the other members of its bag.

    ``pts`` (P, d) float64 holds the features of the bag members (bag ``b`` is rows
    ``bag_ptr[b]:bag_ptr[b+1]``). Returns ``(nbr, dist, count)``: for member ``p``,
    ``count[p] = min(k, bag size - 1)`` neighbours ``nbr[p, :count[p]]`` as member numbers,
    nearest first (ties: lower member first), squared Euclidean distances in ``dist``;
    unused slots hold -1 / inf. Large inputs run their bags as tasks on at most
    ``n_threads`` threads (default: the driver's), largest work first; results do not
    depend on the sharing. ``first``, when given, is a function of no arguments that the
    calling thread runs before its share of the bags (see :func:`map_tasks`); it runs
    first on one thread too.

    Bags of ``GEMM_MIN_WORK`` or more with ``GEMM_MIN_FEATURES`` or more features are
    searched with matrix products. Their rows are centred on the bag's mean and rounded to
    float32; with ``n_s``, ``n_c`` the squared norms of two such rows (summed in float64)
    and ``g`` their product (BLAS sgemm on the calling thread; each pair once: a block of
    seeds against the members from the block on), ``n_s + n_c - 2 g`` is within
    ``((d + 6) u32 + (3 d + 12) u64) (n_s + n_c) + d 2^-124`` of the direct distance
    (``u32`` = 2^-24, ``u64`` = 2^-53; counting the rounding of the centring and of the
    float32 rows, of the norms and products in any summation order, of the bound's own
    arithmetic and of the direct sum itself; the last term covers float32 terms near
    underflow, even flushed to zero). Twice the relative part and ``(d + 8) 2^-118`` give,
    for every pair, a lower and an upper bound of its direct distance. Each member keeps
    its ``k`` smallest upper bounds, the largest of which bounds its ``k``-th distance; a
    pair whose lower bound exceeds that cannot be a neighbour, and the others (about ``k``
    per member in practice) are measured with the direct sum and kept in (distance, member)
    order. So the lists, distances and tie order are those of the direct search, bit for
    bit: the products only decide which pairs need no direct sum. A bag whose centred rows
    are too large for float32 (``_GEMM_MAX_NORM``) is searched directly.
    """
    pts = np.ascontiguousarray(pts, np.float64)
    bag_ptr = np.ascontiguousarray(bag_ptr, np.int64)
    n_members, d = pts.shape[0], pts.shape[1]
    width = max(k, 1)
    nbr = np.full((n_members, width), -1, np.int64)
    dist = np.full((n_members, width), np.inf)
    sizes = np.diff(bag_ptr)
    count = np.repeat(np.minimum(k, np.maximum(sizes - 1, 0)), sizes)
    if n_members == 0 or k <= 0:
        if first is not None:
            first()
        return nbr, dist, count
    work = sizes.astype(np.float64) ** 2 * d
    product = (work >= GEMM_MIN_WORK) & (sizes >= 2) & (d >= GEMM_MIN_FEATURES)
    order = np.argsort(-work, kind="stable").astype(np.int64)
    block, tile = int(GEMM_SEEDS), int(GEMM_TILE)

    def run(t):
        b = order[t]
        if not (product[b] and knn_product_bag(pts, bag_ptr[b], bag_ptr[b + 1], k, nbr,
                                                dist, block, tile)):
            knn_bags(pts, bag_ptr, order[t:t + 1], k, nbr, dist)

    with _one_blas_thread() if product.any() else contextlib.nullcontext():
        if not knn_in_parallel(bag_ptr, d):
            if first is not None:
                first()
            for t in range(order.shape[0]):
                run(t)
        else:
            map_tasks(run, order.shape[0], n_threads, first=first)
    return nbr, dist, count


# ------------------------------------------------------------------------- row copies
cdef extern from *:
    """
    #include <string.h>
    /* Copy n doubles / floats and tell whether every one is finite (all exponent bits set
       means inf or NaN); integer tests, so the compiler vectorises the loop. */
    static int fastml_copy_finite_d(const double *src, double *dst, Py_ssize_t n) {
        uint64_t bad = 0, b;
        Py_ssize_t i;
        for (i = 0; i < n; i++) {
            memcpy(&b, src + i, sizeof b);
            bad |= ((b >> 52) & 0x7ffu) == 0x7ffu;
            dst[i] = src[i];
        }
        return bad == 0;
    }
    static int fastml_copy_finite_f(const float *src, float *dst, Py_ssize_t n) {
        uint32_t bad = 0, b;
        Py_ssize_t i;
        for (i = 0; i < n; i++) {
            memcpy(&b, src + i, sizeof b);
            bad |= ((b >> 23) & 0xffu) == 0xffu;
            dst[i] = src[i];
        }
        return bad == 0;
    }
    """
    int copy_finite_d "fastml_copy_finite_d"(const double* src, double* dst,
                                             Py_ssize_t n) noexcept nogil
    int copy_finite_f "fastml_copy_finite_f"(const float* src, float* dst,
                                             Py_ssize_t n) noexcept nogil


def copy_finite_block(const floating[:, ::1] src, floating[:, ::1] dst, Py_ssize_t lo,
                      Py_ssize_t hi):
    """Copy rows ``[lo, hi)`` of ``src`` into ``dst``; return whether they are all finite."""
    cdef Py_ssize_t d = src.shape[1]
    cdef int ok = 1
    if hi <= lo or d == 0:
        return True
    with nogil:
        if floating is double:
            ok = copy_finite_d(&src[lo, 0], &dst[lo, 0], (hi - lo) * d)
        else:
            ok = copy_finite_f(&src[lo, 0], &dst[lo, 0], (hi - lo) * d)
    return ok != 0


def copy_finite(src, dst):
    """Copy the (n, d) float32 / float64 ``src`` into the first n rows of ``dst`` (same
    dtype, C-contiguous) in one pass; return whether every value is finite (the copy is
    then complete; otherwise it may be partial). Large copies run as row blocks."""
    cdef Py_ssize_t n = src.shape[0], d = src.shape[1]
    if n * d < PARALLEL_COPY_ENTRIES:
        return copy_finite_block(src, dst, 0, n)
    n_blocks, size = blocks(n, max(1, _COPY_ENTRIES // max(d, 1)))
    parts = map_tasks(
        lambda b: copy_finite_block(src, dst, b * size, min(n, (b + 1) * size)), n_blocks
    )
    return all(parts)


def gather_block(const floating[:, ::1] x, const int64_t[::1] rows, double[:, ::1] out,
                 Py_ssize_t lo, Py_ssize_t hi):
    """``out[t] = x[rows[t]]`` (as float64) for ``t`` in ``[lo, hi)``."""
    cdef Py_ssize_t d = x.shape[1], t, f
    cdef const floating* src
    with nogil:
        for t in range(lo, hi):
            src = &x[rows[t], 0]
            for f in range(d):
                out[t, f] = <double>src[f]


def gather(x, rows):
    """The rows ``rows`` of the float32 / float64 C-contiguous ``x`` as a new C-contiguous
    float64 array (``x[rows]`` in float64), large gathers in row blocks."""
    rows = np.ascontiguousarray(rows, np.int64)
    cdef Py_ssize_t n = rows.shape[0], d = x.shape[1]
    out = np.empty((n, d), np.float64)
    if n == 0 or d == 0:
        return out
    if n * d < PARALLEL_COPY_ENTRIES:
        gather_block(x, rows, out, 0, n)
        return out
    n_blocks, size = blocks(n, max(1, _COPY_ENTRIES // max(d, 1)))
    map_tasks(lambda b: gather_block(x, rows, out, b * size, min(n, (b + 1) * size)),
              n_blocks)
    return out


# ------------------------------------------------------------------------------ synthesis
def synthesize_block(const floating[:, ::1] x, const uint8_t[:, ::1] y,
                     const int64_t[::1] seeds, const int64_t[:, ::1] nbrs,
                     const int64_t[::1] n_nbrs, const int64_t[::1] chosen,
                     const int64_t[::1] numeric, const int64_t[::1] categorical,
                     int strategy, bint per_feature, uint64_t key,
                     floating[:, ::1] out_x, uint8_t[:, ::1] out_y, Py_ssize_t lo,
                     Py_ssize_t hi):
    """Synthetic rows ``[lo, hi)`` (see :func:`synthesize`)."""
    cdef Py_ssize_t L = y.shape[1], d = x.shape[1], t, a, f, r, q, j
    cdef int64_t s, c, m, cnt, best_n
    cdef double xs, g, v, best_v
    cdef bint keep
    cdef bint all_numeric = numeric.shape[0] == d and d > 0
    if all_numeric:  # numeric is 0, 1, ..., d - 1
        for a in range(d):
            all_numeric = all_numeric and numeric[a] == a
    with nogil:
        for t in range(lo, hi):
            s = seeds[t]
            c = chosen[t]
            m = n_nbrs[t]
            if per_feature and all_numeric:
                if floating is double:
                    interp_d(&x[s, 0], &x[c, 0], &out_x[t, 0], d, key, <uint64_t>(t * d))
                else:
                    interp_f(&x[s, 0], &x[c, 0], &out_x[t, 0], d, key, <uint64_t>(t * d))
            elif per_feature:
                for a in range(numeric.shape[0]):
                    f = numeric[a]
                    xs = <double>x[s, f]
                    g = uniform(key, <uint64_t>(t * d + f))
                    out_x[t, f] = <floating>(xs + g * (<double>x[c, f] - xs))
            else:
                g = uniform(key, <uint64_t>t)
                for a in range(numeric.shape[0]):
                    f = numeric[a]
                    xs = <double>x[s, f]
                    out_x[t, f] = <floating>(xs + g * (<double>x[c, f] - xs))
            for a in range(categorical.shape[0]):
                f = categorical[a]
                best_v = <double>x[nbrs[t, 0], f]
                best_n = 0
                for r in range(m):
                    v = <double>x[nbrs[t, r], f]
                    cnt = 0
                    for q in range(m):
                        cnt += <double>x[nbrs[t, q], f] == v
                    if cnt > best_n or (cnt == best_n and v < best_v):
                        best_n = cnt
                        best_v = v
                out_x[t, f] = <floating>best_v
            for j in range(L):
                cnt = y[s, j] != 0
                for r in range(m):
                    cnt += y[nbrs[t, r], j] != 0
                if strategy == 0:
                    keep = 2 * cnt > m + 1
                elif strategy == 1:
                    keep = cnt > 0
                else:
                    keep = cnt == m + 1
                out_y[t, j] = 1 if keep else 0


def synthesize(x, y, seeds, nbrs, n_nbrs, chosen, numeric, categorical, strategy,
               per_feature, key, out_x, out_y):
    """Write one synthetic row per entry ``t`` into ``out_x[t]`` / ``out_y[t]``.

    Row ``t`` interpolates between ``x[seeds[t]]`` and its chosen neighbour
    ``x[chosen[t]]`` on the ``numeric`` columns: ``x_s + g (x_c - x_s)`` with ``g`` uniform
    in [0, 1), drawn per feature (``per_feature``) or once per row. ``categorical`` columns
    take the most frequent value among the neighbours ``nbrs[t, :n_nbrs[t]]`` (ties: the
    smallest value). Labels: the ``strategy`` (RANKING: present in more than half of the
    seed and its neighbours; UNION; INTERSECTION) over the seed and its neighbours.
    """
    seeds = np.ascontiguousarray(seeds, np.int64)
    nbrs = np.ascontiguousarray(nbrs, np.int64)
    n_nbrs = np.ascontiguousarray(n_nbrs, np.int64)
    chosen = np.ascontiguousarray(chosen, np.int64)
    numeric = np.ascontiguousarray(numeric, np.int64)
    categorical = np.ascontiguousarray(categorical, np.int64)
    key = int(key)
    strategy = int(strategy)
    per_feature = bool(per_feature)
    n = seeds.shape[0]
    work = n * (x.shape[1] + y.shape[1] * (nbrs.shape[1] + 1))
    if work < PARALLEL_SYN_ENTRIES:
        synthesize_block(x, y, seeds, nbrs, n_nbrs, chosen, numeric, categorical, strategy,
                         per_feature, key, out_x, out_y, 0, n)
        return
    n_blocks, size = blocks(n, _SYN_ROWS)
    map_tasks(
        lambda b: synthesize_block(
            x, y, seeds, nbrs, n_nbrs, chosen, numeric, categorical, strategy, per_feature,
            key, out_x, out_y, b * size, min(n, (b + 1) * size),
        ),
        n_blocks,
    )


# ------------------------------------------------------------------ random over/under-sampling
def mlros(const int64_t[::1] row_ptr, const int32_t[::1] row_lab, int64_t[::1] counts,
          const int64_t[::1] bag_ptr, const int64_t[::1] bag_rows,
          const int64_t[::1] bag_label, double mean_ir, Py_ssize_t quota, uint64_t key):
    """ML-ROS (Charte et al., 2015): clone random rows of the minority bags in turn.

    Bags are visited round-robin; after a clone the bag's label leaves the rotation once its
    IRLbl (max count / count, counts updated with every clone) is <= ``mean_ir``. Stops
    after ``quota`` clones or when no bag is left. Returns the cloned row indices in order.
    ``counts`` is updated in place.
    """
    cdef Py_ssize_t n_bags = bag_label.shape[0], n_active = n_bags, a, z, q, L = counts.shape[0]
    cdef int64_t t = 0, b, lo, size, r, max_count = 0
    cdef int32_t lab
    active_a = np.arange(n_bags, dtype=np.int64)
    out_a = np.empty(max(quota, 0), np.int64)
    cdef int64_t[::1] active = active_a, out = out_a
    with nogil:
        for q in range(L):
            if q == 0 or counts[q] > max_count:
                max_count = counts[q]
        while t < quota and n_active > 0:
            a = 0
            while a < n_active and t < quota:
                b = active[a]
                lo = bag_ptr[b]
                size = bag_ptr[b + 1] - lo
                r = bag_rows[lo + min(size - 1, <int64_t>(uniform(key, <uint64_t>t) * size))]
                out[t] = r
                t += 1
                for q in range(row_ptr[r], row_ptr[r + 1]):
                    lab = row_lab[q]
                    counts[lab] += 1
                    if counts[lab] > max_count:
                        max_count = counts[lab]
                if <double>max_count / <double>counts[bag_label[b]] <= mean_ir:
                    for z in range(a, n_active - 1):
                        active[z] = active[z + 1]
                    n_active -= 1
                else:
                    a += 1
    return out_a[:t].copy()


def mlrus(const int64_t[::1] row_ptr, const int32_t[::1] row_lab, int64_t[::1] counts,
          const int64_t[::1] bag_ptr, int64_t[::1] bag_rows, const int64_t[::1] bag_label,
          double mean_ir, Py_ssize_t quota, uint64_t key, Py_ssize_t n_rows):
    """ML-RUS (Charte et al., 2015): delete random rows of the majority bags in turn.

    Bags are visited round-robin; each turn deletes a random row still present in the bag.
    A bag's label leaves the rotation once its IRLbl (max count / count, counts updated
    with every deletion) is >= ``mean_ir``, or when its bag is empty. Stops after ``quota``
    deletions or when no bag is left. Returns the boolean mask of kept rows. ``bag_rows``
    and ``counts`` are modified in place.
    """
    cdef Py_ssize_t n_bags = bag_label.shape[0], n_labels = counts.shape[0]
    cdef Py_ssize_t n_active = n_bags, a, z, q, j
    cdef int64_t t = 0, draw = 0, b, lo, r, pos, cand, max_count, lab_count
    alive_a = np.ones(n_rows, np.bool_)
    size_a = np.empty(n_bags, np.int64)
    active_a = np.arange(n_bags, dtype=np.int64)
    cdef uint8_t[::1] alive = alive_a.view(np.uint8)
    cdef int64_t[::1] size = size_a, active = active_a
    with nogil:
        for b in range(n_bags):
            size[b] = bag_ptr[b + 1] - bag_ptr[b]
        while t < quota and n_active > 0:
            a = 0
            while a < n_active and t < quota:
                b = active[a]
                lo = bag_ptr[b]
                r = -1
                while size[b] > 0:  # a random row still alive; dead ones are dropped as met
                    pos = lo + min(size[b] - 1,
                                   <int64_t>(uniform(key, <uint64_t>draw) * size[b]))
                    draw += 1
                    cand = bag_rows[pos]
                    if alive[cand]:
                        r = cand
                        break
                    size[b] -= 1
                    bag_rows[pos] = bag_rows[lo + size[b]]
                    bag_rows[lo + size[b]] = cand
                if r < 0:
                    for z in range(a, n_active - 1):
                        active[z] = active[z + 1]
                    n_active -= 1
                    continue
                alive[r] = 0
                t += 1
                for q in range(row_ptr[r], row_ptr[r + 1]):
                    counts[row_lab[q]] -= 1
                max_count = 0
                for j in range(n_labels):
                    if counts[j] > max_count:
                        max_count = counts[j]
                lab_count = counts[bag_label[b]]
                if lab_count == 0 or <double>max_count / <double>lab_count >= mean_ir:
                    for z in range(a, n_active - 1):
                        active[z] = active[z + 1]
                    n_active -= 1
                else:
                    a += 1
    return alive_a
