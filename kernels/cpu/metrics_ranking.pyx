# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Per-row label-ranking metrics (CPU): LRAP, coverage error, label ranking loss.

Each metric is a short loop over one row's labels (a scan, or a bucket sort of one side's
scores followed by a counting pass); rows are independent, so the work splits by rows. The
loops are plain typed C (Cython, compiled at install: nothing is compiled on a user's first
call) that run without the GIL, so the parallel driver's threads share the blocks of rows.

Contract (the API layer in ``fastml.metrics._multilabel_ranking`` guarantees it):

- ``y`` is a C-contiguous uint8 array of shape (n, L) holding only 0 and 1, n >= 1, L >= 2;
- ``s`` is a C-contiguous float32 or float64 array of the same shape, every value finite;
- ``w`` is a C-contiguous float64 array of n non-negative weights with a positive sum, or an
  empty array for "no weights".

Bounds checks are off: every index below stays inside these shapes.

Each metric is a per-block function over rows ``[lo, hi)`` (the *partial*: float64 (2,)
holding the sum of the rows' values, weighted when weights are given, and the sum of their
weights), an addition in block order (*combine*), and :func:`finish`, the (weighted) mean. The
one-shot calls with the old names (:func:`lrap`, :func:`coverage`, :func:`ranking_loss`) cut
the rows into blocks fixed by the shape, run them through the parallel driver and combine the
partials in block order, so results are identical for every thread count.

Tie rules follow scikit-learn: ranks are pessimistic (a label is ranked after every label of
equal score), and a tied (relevant, irrelevant) pair counts as misordered in the ranking loss.

Per row, small cases count directly (O(L * r), vectorised). Otherwise the scores of one side
(LRAP: the relevant labels; ranking loss: the smaller side) are bucket-sorted into about 16
buckets per value, evenly spaced in value (or in order key, when values cluster), and each
score of the other side is located with one bucket lookup: O(L) expected per row instead of
a comparison sort and binary searches. Any non-decreasing bucket function gives exact counts;
crowded buckets fall back to sorted binary search.

Order keys: a float maps to a uint64 whose unsigned order is the float order (with -0.0
folded onto +0.0, so equal floats give equal keys); the bucket sort spaces buckets by key
when values cluster. Coverage compares the scores themselves, which order alike.
"""

import numpy as np

cimport numpy as cnp
from cython cimport floating
from libc.stdint cimport int64_t, uint8_t, uint64_t
from libc.math cimport INFINITY
from libc.stdlib cimport calloc, free
from libc.string cimport memcpy

from fastml.kernels._parallel import blocks, map_tasks

cnp.import_array()

# Rows with at most this many relevant labels (for the ranking loss: relevant or irrelevant
# ones), or with at most DIRECT_LABELS labels, use a direct O(L * r) count, which vectorises.
cdef Py_ssize_t DIRECT_MAX = 16
cdef Py_ssize_t DIRECT_LABELS = 32

# Bucket sort: buckets up to this size are insertion-sorted; larger ones (ties, clustered
# values) are checked for order and heap-sorted if need be. Lookups into buckets holding more
# than one value binary-search them.
cdef Py_ssize_t SMALL_BUCKET = 16

# Blocks hold at least this many matrix entries (a fraction of a millisecond of work: waking
# a pool thread costs tens of microseconds), and there are at most MAX_BLOCKS of them.
cdef Py_ssize_t BLOCK_ENTRIES = 1 << 16
cdef Py_ssize_t MAX_BLOCKS = 256

# --------------------------------------------------------------------------- small helpers
cdef inline uint64_t _key(double x) noexcept nogil:
    """uint64 whose unsigned order is the order of the finite float ``x``."""
    cdef double d = x + 0.0  # turns -0.0 into +0.0
    cdef int64_t bits
    memcpy(&bits, &d, 8)
    # negative: flip every bit; positive: set the sign bit (branch-free)
    return <uint64_t>bits ^ (<uint64_t>(bits >> 63) | 0x8000000000000000ULL)


cdef inline double _position(double x, bint keyed) noexcept nogil:
    """Non-decreasing float64 image of a score: the score, or its order key (log-like)."""
    if keyed:
        return <double>_key(x)
    return x


cdef inline floating _min(floating a, floating b) noexcept nogil:
    return a if a < b else b


cdef inline Py_ssize_t _n_relevant(const uint8_t* yi, Py_ssize_t L) noexcept nogil:
    cdef Py_ssize_t j, r = 0
    for j in range(L):
        r += yi[j]
    return r


cdef inline Py_ssize_t _split(floating* dst, const uint8_t* yi, const floating* si,
                              Py_ssize_t L, uint8_t want) noexcept nogil:
    """Copy the scores of the labels with ``yi == want`` to the front of dst; return how many.

    Branch-free: every score is written, and the write position advances only for selected
    labels (dst needs room for all L scores).
    """
    cdef Py_ssize_t j, k = 0
    for j in range(L):
        dst[k] = si[j]
        k += yi[j] == want
    return k


# ------------------------------------------------------------------- bucket-sorted values
cdef inline void _insertion_sort(floating* a, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    cdef Py_ssize_t i, j
    cdef floating x
    for i in range(lo + 1, hi):
        x = a[i]
        j = i - 1
        while j >= lo and a[j] > x:
            a[j + 1] = a[j]
            j -= 1
        a[j + 1] = x


cdef inline void _sift_down(floating* a, Py_ssize_t lo, Py_ssize_t root,
                            Py_ssize_t end) noexcept nogil:
    cdef floating x = a[lo + root]
    cdef Py_ssize_t child
    while True:
        child = 2 * root + 1
        if child >= end:
            break
        if child + 1 < end and a[lo + child + 1] > a[lo + child]:
            child += 1
        if a[lo + child] <= x:
            break
        a[lo + root] = a[lo + child]
        root = child
    a[lo + root] = x


cdef void _heap_sort(floating* a, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    """Sort a[lo:hi] in place, O(k log k) always (for the rare large unsorted bucket)."""
    cdef Py_ssize_t k = hi - lo, root, end
    cdef floating x
    for root in range(k // 2 - 1, -1, -1):
        _sift_down(a, lo, root, k)
    for end in range(k - 1, 0, -1):
        x = a[lo]
        a[lo] = a[lo + end]
        a[lo + end] = x
        _sift_down(a, lo, 0, end)


cdef inline void _min_max(const floating* src, Py_ssize_t m, double* lo_out,
                          double* hi_out) noexcept nogil:
    """min and max of src[0:m] (m >= 1) as float64; four independent chains."""
    cdef double lo0, lo1, lo2, lo3, hi0, hi1, hi2, hi3, x0, x1, x2, x3
    cdef Py_ssize_t i = 0
    lo0 = lo1 = lo2 = lo3 = hi0 = hi1 = hi2 = hi3 = <double>src[0]
    while i + 4 <= m:
        x0 = src[i]
        x1 = src[i + 1]
        x2 = src[i + 2]
        x3 = src[i + 3]
        lo0 = x0 if x0 < lo0 else lo0
        lo1 = x1 if x1 < lo1 else lo1
        lo2 = x2 if x2 < lo2 else lo2
        lo3 = x3 if x3 < lo3 else lo3
        hi0 = x0 if x0 > hi0 else hi0
        hi1 = x1 if x1 > hi1 else hi1
        hi2 = x2 if x2 > hi2 else hi2
        hi3 = x3 if x3 > hi3 else hi3
        i += 4
    while i < m:
        x0 = src[i]
        lo0 = x0 if x0 < lo0 else lo0
        hi0 = x0 if x0 > hi0 else hi0
        i += 1
    lo0 = lo1 if lo1 < lo0 else lo0
    lo2 = lo3 if lo3 < lo2 else lo2
    hi0 = hi1 if hi1 > hi0 else hi0
    hi2 = hi3 if hi3 > hi2 else hi2
    lo_out[0] = lo2 if lo2 < lo0 else lo0
    hi_out[0] = hi2 if hi2 > hi0 else hi0


cdef inline void _key_min_max(const floating* src, Py_ssize_t m, double* lo_out,
                              double* hi_out) noexcept nogil:
    """min and max of the order keys of src[0:m], as float64."""
    cdef uint64_t k, lo = 0xFFFFFFFFFFFFFFFFULL, hi = 0
    cdef Py_ssize_t i
    for i in range(m):
        k = _key(src[i])
        lo = k if k < lo else lo
        hi = k if k > hi else hi
    lo_out[0] = <double>lo
    hi_out[0] = <double>hi


cdef inline double _scale(double lo, double hi, Py_ssize_t nb) noexcept nogil:
    """Buckets per unit of position, or 0 when float64 cannot spread [lo, hi] safely."""
    cdef double scale = nb / (hi - lo) if hi > lo else 0.0
    return scale if 0.0 < scale < 1e300 else 0.0


cdef Py_ssize_t _histogram(const floating* src, Py_ssize_t m, double lo, double scale,
                           Py_ssize_t nb, bint keyed, int64_t* bucket, int64_t* bounds,
                           int64_t* crowded, int64_t* largest_out,
                           int64_t* fullest_out) noexcept nogil:
    """Bucket of every value (into ``bucket``) and counts per bucket (into bounds[t + 2]).

    Lists each bucket that receives a second value in ``crowded``; returns the number of such
    buckets, and writes the largest count and a bucket with that count.
    """
    cdef double top = nb - 1.0, x
    cdef Py_ssize_t i, n_crowded = 0
    cdef int64_t t, c, largest = 0, fullest = 0
    for i in range(nb + 2):
        bounds[i] = 0
    for i in range(m):
        x = (_position(src[i], keyed) - lo) * scale
        t = <int64_t>(top if top < x else x)
        bucket[i] = t
        c = bounds[t + 2] + 1
        bounds[t + 2] = c
        crowded[n_crowded] = t
        n_crowded += c == 2
        fullest = t if c > largest else fullest
        largest = c if c > largest else largest
    largest_out[0] = largest
    fullest_out[0] = fullest
    return n_crowded


cdef bint _tied_bucket(const floating* src, Py_ssize_t m, const int64_t* bucket,
                       int64_t t) noexcept nogil:
    """Whether every value of src[0:m] in bucket t (one at least) is the same."""
    cdef Py_ssize_t i, first = 0, differ = 0
    cdef floating v
    for i in range(m):
        if bucket[i] == t:
            first = i
            break
    v = src[first]
    for i in range(first + 1, m):
        differ += (bucket[i] == t) & (src[i] != v)
    return differ == 0


cdef struct Buckets:
    double lo
    double scale
    double top  # nb - 1
    bint keyed


cdef Buckets _bucket_sort(const floating* src, Py_ssize_t m, Py_ssize_t n_buckets,
                          floating* dst, int64_t* bucket, int64_t* bounds,
                          int64_t* crowded) noexcept nogil:
    """Sort src[0:m] (m >= 1) into dst[0:m] and index it.

    Values are spread over nb equal-width buckets of positions (the values themselves, or,
    when that crowds them, their order keys: see _position): bucket(x) = min(nb - 1,
    floor((position(x) - lo) * scale)), which never decreases as x grows; bucket t spans
    dst[bounds[t]:bounds[t + 1]]. When float64 cannot spread the range, nb is 1 and lo and
    scale are 0: one sorted bucket. ``bucket`` and ``crowded`` (m entries) and ``bounds``
    (n_buckets + 2 entries) are scratch.
    """
    cdef Buckets g
    cdef double lo, hi, klo, khi, scale, kscale
    cdef Py_ssize_t nb = n_buckets, n_crowded, kn, c, i, b0, b1
    cdef int64_t largest, fullest, klargest, kfullest, t
    cdef bint keyed = False, ordered
    _min_max(src, m, &lo, &hi)
    scale = _scale(lo, hi, n_buckets)
    if scale == 0.0:
        nb = 1
        lo = 0.0  # (x - 0.0) * 0.0 is 0 for every finite x, never inf * 0
    n_crowded = _histogram(src, m, lo, scale, nb, False, bucket, bounds, crowded,
                           &largest, &fullest)
    if largest > SMALL_BUCKET and nb > 1 and not _tied_bucket(src, m, bucket, fullest):
        # clustered values: try buckets evenly spaced in order keys instead
        _key_min_max(src, m, &klo, &khi)
        kscale = _scale(klo, khi, nb)
        if kscale > 0.0:
            kn = _histogram(src, m, klo, kscale, nb, True, bucket, bounds, crowded,
                            &klargest, &kfullest)
            if klargest < largest:
                keyed = True
                lo = klo
                scale = kscale
                n_crowded = kn
            else:
                n_crowded = _histogram(src, m, lo, scale, nb, False, bucket, bounds, crowded,
                                       &largest, &fullest)
    for i in range(2, nb + 2):
        bounds[i] += bounds[i - 1]
    for i in range(m):
        t = bucket[i] + 1
        dst[bounds[t]] = src[i]
        bounds[t] += 1
    for c in range(n_crowded):
        t = crowded[c]
        b0 = bounds[t]
        b1 = bounds[t + 1]
        if b1 - b0 <= SMALL_BUCKET:
            _insertion_sort(dst, b0, b1)
        else:
            ordered = True
            for i in range(b0 + 1, b1):
                if dst[i] < dst[i - 1]:
                    ordered = False
                    break
            if not ordered:
                _heap_sort(dst, b0, b1)
    g.lo = lo
    g.scale = scale
    g.top = nb - 1.0
    g.keyed = keyed
    return g


cdef inline Py_ssize_t _bucket_of(const Buckets* g, floating v) noexcept nogil:
    """Bucket of any finite v: min(nb - 1, max(0, floor((position(v) - lo) * scale)))."""
    cdef double x = (_position(v, g.keyed) - g.lo) * g.scale
    cdef int64_t t
    # Branch-free clamps (the lookups' scores fall on either side of the range at random):
    # x to [-1, top] as two minima (compiled to minsd; a maximum here compiles to a branch),
    # then the truncated value's sign masks it to 0.
    x = -_min(-x, 1.0)
    t = <int64_t>_min(x, g.top)
    return <Py_ssize_t>(t & ~(t >> 63))


cdef inline Py_ssize_t _count_le(const floating* a, const int64_t* bounds, const Buckets* g,
                                 floating v) noexcept nogil:
    """Number of values <= v in the bucket-sorted a (see _bucket_sort)."""
    cdef Py_ssize_t t = _bucket_of(g, v), mid
    cdef Py_ssize_t b0 = bounds[t], b1 = bounds[t + 1]
    if b1 - b0 > 1:
        # whole-bucket answers first: a bucket of tied values always ends here
        if a[b1 - 1] <= v:
            return b1
        if a[b0] > v:
            return b0
        while b1 > b0:
            mid = (b0 + b1) >> 1
            if a[mid] <= v:
                b0 = mid + 1
            else:
                b1 = mid
        return b0
    return b0 + ((b1 > b0) & (a[b0] <= v))


cdef inline Py_ssize_t _count_lt(const floating* a, const int64_t* bounds, const Buckets* g,
                                 floating v) noexcept nogil:
    """Number of values < v in the bucket-sorted a (see _bucket_sort)."""
    cdef Py_ssize_t t = _bucket_of(g, v), mid
    cdef Py_ssize_t b0 = bounds[t], b1 = bounds[t + 1]
    if b1 - b0 > 1:
        if a[b1 - 1] < v:
            return b1
        if a[b0] >= v:
            return b0
        while b1 > b0:
            mid = (b0 + b1) >> 1
            if a[mid] < v:
                b0 = mid + 1
            else:
                b1 = mid
        return b0
    return b0 + ((b1 > b0) & (a[b0] < v))


cdef inline Py_ssize_t _n_buckets(Py_ssize_t m, Py_ssize_t L) noexcept nogil:
    """Buckets for m sorted values looked up by about L - m others: sparse, at most 2 L."""
    cdef Py_ssize_t nb = min(16 * m, 2 * L)
    return nb if nb > 1 else 1


# ------------------------------------------------------------------------ per-block scratch
cdef struct Scratch:
    void* vals     # L + 1 scores
    void* sa       # L + 1 scores (calloc'ed: a lookup may read the entry after the last value)
    int64_t* bucket
    int64_t* crowded
    int64_t* bounds  # 2 L + 2
    int64_t* hist    # L + 1


cdef int _scratch_alloc(Scratch* sc, Py_ssize_t L, size_t itemsize) noexcept nogil:
    sc.vals = calloc(L + 1, itemsize)
    sc.sa = calloc(L + 1, itemsize)
    sc.bucket = <int64_t*>calloc(L + 1, sizeof(int64_t))
    sc.crowded = <int64_t*>calloc(L + 1, sizeof(int64_t))
    sc.bounds = <int64_t*>calloc(2 * L + 2, sizeof(int64_t))
    sc.hist = <int64_t*>calloc(L + 1, sizeof(int64_t))
    if (sc.vals == NULL or sc.sa == NULL or sc.bucket == NULL or sc.crowded == NULL
            or sc.bounds == NULL or sc.hist == NULL):
        return -1
    return 0


cdef void _scratch_free(Scratch* sc) noexcept nogil:
    free(sc.vals)
    free(sc.sa)
    free(sc.bucket)
    free(sc.crowded)
    free(sc.bounds)
    free(sc.hist)


# ----------------------------------------------------------------------------------- LRAP
cdef double _lrap_direct(const uint8_t* yi, const floating* si, Py_ssize_t L, Py_ssize_t r,
                         floating* rel) noexcept nogil:
    """LRAP of one row by direct counting, O(L * r); rel is scratch for the relevant scores."""
    cdef Py_ssize_t a, b, k, n_all, n_rel
    cdef double tot = 0.0
    cdef floating v
    _split(rel, yi, si, L, 1)
    for a in range(r):
        v = rel[a]
        n_all = 0
        for k in range(L):
            n_all += si[k] >= v
        n_rel = 0
        for b in range(r):
            n_rel += rel[b] >= v
        tot += <double>n_rel / <double>n_all
    return tot / r


cdef double _lrap_row(const uint8_t* yi, const floating* si, Py_ssize_t L, Py_ssize_t r,
                      floating* vals, floating* sa, int64_t* bucket, int64_t* bounds,
                      int64_t* crowded, int64_t* hist) noexcept nogil:
    """Mean over relevant labels j of (#relevant scoring >= s_j) / (#labels scoring >= s_j)."""
    cdef Buckets g
    cdef Py_ssize_t p, q, k, j, n_rel_ge
    cdef int64_t n_irr_ge
    cdef double tot = 0.0
    cdef floating v
    if r == 0 or r == L:
        return 1.0
    if r <= DIRECT_MAX or L <= DIRECT_LABELS:
        return _lrap_direct(yi, si, L, r, vals)
    _split(vals, yi, si, L, 1)
    g = _bucket_sort(vals, r, _n_buckets(r, L), sa, bucket, bounds, crowded)
    # hist[p]: irrelevant labels with exactly p relevant scores <= theirs; such a label
    # scores >= sa[j] exactly when p > j.
    for p in range(r + 1):
        hist[p] = 0
    q = _split(vals, yi, si, L, 0)
    for k in range(q):
        hist[_count_le(sa, bounds, &g, vals[k])] += 1
    n_irr_ge = hist[r]
    j = r - 1
    while j >= 0:  # tie groups of relevant scores, highest first
        p = j
        v = sa[j]
        while p > 0 and sa[p - 1] == v:
            p -= 1
        n_rel_ge = r - p
        tot += <double>(j - p + 1) * (<double>n_rel_ge / <double>(n_rel_ge + n_irr_ge))
        n_irr_ge += hist[p]
        j = p - 1
    return tot / r


def lrap_block(const uint8_t[:, ::1] y, const floating[:, ::1] s, const double[::1] w,
               Py_ssize_t lo, Py_ssize_t hi):
    """Partial of :func:`lrap` over rows ``[lo, hi)``: float64 ``[sum of values, sum of w]``.

    The first entry is ``sum_i w_i * LRAP_i`` (``sum_i LRAP_i`` without weights), the second
    ``sum_i w_i`` (0 without weights).
    """
    cdef Py_ssize_t i, L = y.shape[1]
    cdef bint weighted = w.shape[0] > 0
    cdef double val, acc = 0.0, wacc = 0.0
    cdef Scratch sc
    cdef const uint8_t* yi
    cdef int failed
    with nogil:
        failed = _scratch_alloc(&sc, L, sizeof(floating))
        if not failed:
            for i in range(lo, hi):
                yi = &y[i, 0]
                val = _lrap_row(yi, &s[i, 0], L, _n_relevant(yi, L), <floating*>sc.vals,
                                <floating*>sc.sa, sc.bucket, sc.bounds, sc.crowded, sc.hist)
                if weighted:
                    acc += val * w[i]
                    wacc += w[i]
                else:
                    acc += val
        _scratch_free(&sc)
    if failed:
        raise MemoryError()
    return np.array([acc, wacc])


# ------------------------------------------------------------------------------- coverage
cdef inline Py_ssize_t _count_ge(const floating* si, Py_ssize_t L, floating v) noexcept nogil:
    """Number of j with si[j] >= v, for finite scores and a v that is not -0.0.

    float32: a vectorised comparison. float64: compilers do not vectorise a float64
    comparison into an integer count for baseline x86-64 (SSE2), so the count is of sign bits
    instead: ``(s + 0.0) - v`` is negative (sign bit set) exactly when s < v, since the
    difference of two distinct finite floats is never zero, an equal pair gives +0.0, and
    ``+ 0.0`` turns a -0.0 score into +0.0 (v is never -0.0).
    """
    cdef Py_ssize_t j, cnt = 0
    cdef uint64_t below = 0, bits
    cdef double d
    if floating is float:
        for j in range(L):
            cnt += si[j] >= v
        return cnt
    else:
        for j in range(L):
            d = (si[j] + 0.0) - v
            memcpy(&bits, &d, 8)
            below += bits >> 63
        return L - <Py_ssize_t>below


cdef inline Py_ssize_t _coverage_row(const uint8_t* yi, const floating* si,
                                     Py_ssize_t L) noexcept nogil:
    """Number of labels scoring >= the lowest relevant score (0 without relevant labels).

    Finite scores compare like their order keys (-0.0 equals +0.0 either way), so the scan
    compares the scores themselves. An irrelevant label's score is lifted to infinity by
    adding ``pen[0]`` (``pen[1]`` is 0), which keeps the minimum branch-free; four
    independent minimum chains hide the latency (compilers do not vectorise a float minimum
    without fast-math flags). The minimum is a score plus +0.0, so never -0.0.
    """
    cdef floating pen[2]
    cdef floating lo0, lo1, lo2, lo3
    cdef Py_ssize_t j = 0
    pen[0] = INFINITY
    pen[1] = 0.0
    lo0 = lo1 = lo2 = lo3 = INFINITY
    while j + 4 <= L:
        lo0 = _min(lo0, si[j] + pen[yi[j]])
        lo1 = _min(lo1, si[j + 1] + pen[yi[j + 1]])
        lo2 = _min(lo2, si[j + 2] + pen[yi[j + 2]])
        lo3 = _min(lo3, si[j + 3] + pen[yi[j + 3]])
        j += 4
    while j < L:
        lo0 = _min(lo0, si[j] + pen[yi[j]])
        j += 1
    lo0 = _min(_min(lo0, lo1), _min(lo2, lo3))
    if lo0 == INFINITY:
        return 0
    return _count_ge(si, L, lo0)


def coverage_block(const uint8_t[:, ::1] y, const floating[:, ::1] s, const double[::1] w,
                   Py_ssize_t lo, Py_ssize_t hi):
    """Partial of :func:`coverage` over rows ``[lo, hi)``: float64 ``[sum of values, sum of w]``
    (see :func:`lrap_block`)."""
    cdef Py_ssize_t i, L = y.shape[1]
    cdef bint weighted = w.shape[0] > 0
    cdef double val, acc = 0.0, wacc = 0.0
    with nogil:
        for i in range(lo, hi):
            val = <double>_coverage_row(&y[i, 0], &s[i, 0], L)
            if weighted:
                acc += val * w[i]
                wacc += w[i]
            else:
                acc += val
    return np.array([acc, wacc])


# --------------------------------------------------------------------------- ranking loss
cdef int64_t _misordered_pairs(const uint8_t* yi, const floating* si, Py_ssize_t L,
                               Py_ssize_t r, floating* vals, floating* sa, int64_t* bucket,
                               int64_t* bounds, int64_t* crowded) noexcept nogil:
    """Number of (relevant j, irrelevant k) pairs with s_k >= s_j (0 < r < L)."""
    cdef Buckets g
    cdef Py_ssize_t q = L - r, m, a, b, k, other
    cdef int64_t cnt = 0
    cdef uint8_t small
    cdef floating v
    if min(r, q) <= DIRECT_MAX or L <= DIRECT_LABELS:
        # direct counting, O(L * min(r, q)): the smaller side's scores against the other's
        m = _split(vals, yi, si, L, 1)
        _split(sa, yi, si, L, 0)
        if r <= q:
            for a in range(r):
                v = vals[a]
                for b in range(q):
                    cnt += sa[b] >= v
        else:
            for b in range(q):
                v = sa[b]
                for a in range(m):
                    cnt += vals[a] <= v
        return cnt
    # sort the smaller side, look the other side up in it
    small = 1 if r <= q else 0
    m = _split(vals, yi, si, L, small)
    g = _bucket_sort(vals, m, _n_buckets(m, L), sa, bucket, bounds, crowded)
    other = _split(vals, yi, si, L, 1 - small)
    if small == 1:
        for k in range(other):  # each irrelevant score pairs with the relevant ones <= it
            cnt += _count_le(sa, bounds, &g, vals[k])
    else:
        for k in range(other):  # each relevant score pairs with the irrelevant ones >= it
            cnt += m - _count_lt(sa, bounds, &g, vals[k])
    return cnt


def ranking_loss_block(const uint8_t[:, ::1] y, const floating[:, ::1] s,
                       const double[::1] w, Py_ssize_t lo, Py_ssize_t hi):
    """Partial of :func:`ranking_loss` over rows ``[lo, hi)``: float64
    ``[sum of values, sum of w]`` (see :func:`lrap_block`)."""
    cdef Py_ssize_t i, r, L = y.shape[1]
    cdef bint weighted = w.shape[0] > 0
    cdef double val, acc = 0.0, wacc = 0.0
    cdef Scratch sc
    cdef const uint8_t* yi
    cdef int64_t pairs
    cdef int failed
    with nogil:
        failed = _scratch_alloc(&sc, L, sizeof(floating))
        if not failed:
            for i in range(lo, hi):
                yi = &y[i, 0]
                r = _n_relevant(yi, L)
                val = 0.0
                if r != 0 and r != L:
                    pairs = _misordered_pairs(yi, &s[i, 0], L, r, <floating*>sc.vals,
                                              <floating*>sc.sa, sc.bucket, sc.bounds,
                                              sc.crowded)
                    val = <double>pairs / <double>(r * (L - r))
                if weighted:
                    acc += val * w[i]
                    wacc += w[i]
                else:
                    acc += val
        _scratch_free(&sc)
    if failed:
        raise MemoryError()
    return np.array([acc, wacc])


# ------------------------------------------------------------------------ entry points
def combine(a, b):
    """Combine two partials (elementwise addition; apply in block order)."""
    return a + b


def finish(stats, Py_ssize_t n, bint weighted) -> float:
    """The (weighted) mean from the combined partial of all ``n`` rows."""
    if weighted:
        return float(stats[0] / stats[1])
    return float(stats[0] / n)


def row_blocks(Py_ssize_t n, Py_ssize_t L):
    """``(count, size)``: the row blocks of an (n, L) input (see ``_parallel.blocks``)."""
    return blocks(n, max(1, BLOCK_ENTRIES // max(1, L)), MAX_BLOCKS)


def _mean(block, y, s, w):
    cdef Py_ssize_t n = y.shape[0]
    count, size = row_blocks(n, y.shape[1])
    parts = map_tasks(lambda b: block(y, s, w, b * size, min(n, (b + 1) * size)), count)
    acc = parts[0]
    for part in parts[1:]:
        acc = combine(acc, part)
    return finish(acc, n, w.shape[0] > 0)


def lrap(y, s, w) -> float:
    """Label ranking average precision of 0/1 ``y`` (n, L) ranked by ``s`` (n, L)."""
    return _mean(lrap_block, y, s, w)


def coverage(y, s, w) -> float:
    """Coverage error of 0/1 ``y`` (n, L) ranked by ``s`` (n, L)."""
    return _mean(coverage_block, y, s, w)


def ranking_loss(y, s, w) -> float:
    """Label ranking loss of 0/1 ``y`` (n, L) ranked by ``s`` (n, L)."""
    return _mean(ranking_loss_block, y, s, w)
