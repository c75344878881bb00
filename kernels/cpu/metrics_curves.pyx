# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Score-curve kernels (CPU): average precision, ROC AUC (full or partial), the best-F1
threshold and the confusion counts at a fixed threshold, for many binary problems in one call.

One binary problem (scores ``s``, 0/1 targets ``y``, optional weights):

1. the positives' scores are gathered, sorted and deduplicated into ascending distinct values
   ``a[0..m)`` with the positive weight of each value (:func:`sorted_positives`);
2. every negative is located among them: ``r = #{a <= v}``, through a monotone linear bucket
   map of ``a``. It adds its weight to ``hist[r]`` (and to ``tie[r - 1]`` when
   ``a[r - 1] == v``) (:func:`histogram_block`);
3. a suffix pass over ``j = m-1 .. 0`` gives the negative weight with score ``>= a[j]``
   (false positives at threshold ``a[j]``, ties included: scikit-learn's rule that tied
   scores form one threshold) and the positive weight with score ``>= a[j]``
   (:func:`finish_stats`).

AP, ROC AUC, F1 at every threshold follow without sorting the negatives:
O(P log P + N log P) per problem, exact (the histogram counts; nothing is binned).

How step 2 runs (the hot loop; about one negative in ten nanoseconds or less): one table
entry per bucket holds the bucket's start in ``a``, its size and its first two values, so a
negative is located with one table access and no branch unless its bucket holds three values
or more (rare: about two buckets per value while the table stays within a few MiB). Negatives
go in blocks: their buckets are computed first (a vectorised pass), then looked up, the table
entries prefetched a few negatives ahead, so that the accesses of consecutive negatives
overlap. The histogram and the tie counts of a value sit side by side; unweighted, both are
32-bit counts packed in one 64-bit word (one memory update per negative).

Step 2 splits by rows: the histogram of a block of rows is the *partial*, histograms add
(*combine*, in block order), and step 3 is the *finish*. The one-shot calls cut the work into
tasks fixed by the input's shape and run them through the parallel driver
(``fastml.kernels._parallel``), so results are identical for every thread count:

- :func:`column_stats`: one problem per label; tasks are groups of labels. Row-major input is
  first copied label-major, in row blocks: unweighted, each label's scores are split on the
  way into its positives then its negatives (so no target is transposed or read again, and
  the negatives are located straight from the buffer); weighted, scores and targets are
  transposed in cache-sized tiles;
- :func:`row_stats`: one problem per row (``average="samples"``); tasks are groups of rows;
- :func:`flat_stats`: one large problem per batch member (1-D input, ``average="micro"``);
  tasks are row blocks of the negatives. With many distinct positives (tables that do not fit
  in cache) the negatives are first radix-partitioned by bucket, and each partition is
  resolved against its own slice of the positives.

Contract (``fastml.metrics._curves`` guarantees it): scores are float32 or float64 and finite,
C-contiguous; targets are C-contiguous uint8 holding only 0 and 1, of the scores' problem
shape; ``w`` is a C-contiguous float64 array, read only when ``use_w`` is true (then every
index ``(i // wdiv) % wmod`` of a problem's element ``i`` is in bounds), so flattened matrices
share one per-row weight vector. Bounds and wrap-around are therefore not checked.

Sorting is written here and runs without the GIL: many positives are radix sorted on integer
keys that order the floats (stable, so the weights of tied positive scores add in row order),
few by an introsort. The unweighted split copy of :func:`column_stats` is the exception: its
positives are contiguous, so they are sorted in place by NumPy's vectorised sort (which
releases the GIL; order among equal values does not matter without weights).
"""

import numpy as np

cimport numpy as cnp
from libc.math cimport INFINITY, NAN
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memcpy, memset

from fastml.kernels._parallel import blocks, map_tasks

cnp.import_array()

cdef extern from *:
    """
    #define FASTML_PREFETCH(p) __builtin_prefetch((const void*)(p))
    """
    void FASTML_PREFETCH(const void* p) noexcept nogil

# Columns of the per-problem statistics table.
cdef enum:
    _AP = 0
    _AUC = 1
    _BEST_F1 = 2
    _BEST_THR = 3
    _POS_W = 4
    _NEG_W = 5
    _TP_AT = 6
    _FP_AT = 7
    _POS_N = 8
    _NEG_N = 9
    _N_STATS = 10

AP = _AP  # average precision (scikit-learn's step integral)
AUC = _AUC  # ROC AUC, or McClish-standardised partial AUC when max_fpr is given
BEST_F1 = _BEST_F1  # maximum over thresholds of F1 (predict positive when score >= threshold)
BEST_THR = _BEST_THR  # the highest threshold reaching BEST_F1 (+inf when there is no positive)
POS_W = _POS_W  # total positive weight
NEG_W = _NEG_W  # total negative weight
TP_AT = _TP_AT  # positive weight with score >= thr
FP_AT = _FP_AT  # negative weight with score >= thr
POS_N = _POS_N  # number of positives (unweighted)
NEG_N = _NEG_N  # number of negatives (unweighted)
N_STATS = _N_STATS

ctypedef fused score_t:
    float
    double

cdef struct pair_f:
    float v
    double w

cdef struct pair_d:
    double v
    double w

ctypedef fused elem_t:
    float
    double
    pair_f
    pair_d

cdef Py_ssize_t MIN_BUCKETED = 64  # fewer distinct positives than this: plain binary search
cdef Py_ssize_t MAX_BUCKETS = 1 << 22
cdef Py_ssize_t TAB_DOUBLE_MAX = 1 << 18  # buckets (6 MiB of table)
cdef Py_ssize_t PARTITIONED_MIN = 1 << 15  # distinct positives from which flat problems partition
cdef int PART_BITS = 8
cdef Py_ssize_t FLAT_ROWS = 65536  # rows per block of a flat problem
cdef Py_ssize_t FLAT_BLOCKS = 64
cdef Py_ssize_t TILE = 64
cdef Py_ssize_t TASK_WORK = 1 << 16  # elements per task, at least (labels, rows, tiles)
cdef Py_ssize_t MAX_TASKS = 256
cdef Py_ssize_t SMALL_SORT = 16


# ------------------------------------------------------------------------------- sorting
cdef inline double _key(elem_t x) noexcept nogil:
    if elem_t is pair_f or elem_t is pair_d:
        return x.v
    else:
        return x


cdef inline void _swap(elem_t* a, Py_ssize_t i, Py_ssize_t j) noexcept nogil:
    cdef elem_t t = a[i]
    a[i] = a[j]
    a[j] = t


cdef void _insertion_sort(elem_t* a, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i, j
    cdef elem_t x
    for i in range(1, n):
        x = a[i]
        j = i
        while j > 0 and _key(x) < _key(a[j - 1]):
            a[j] = a[j - 1]
            j -= 1
        a[j] = x


cdef void _sift_down(elem_t* a, Py_ssize_t root, Py_ssize_t n) noexcept nogil:
    cdef elem_t x = a[root]
    cdef Py_ssize_t c
    while True:
        c = 2 * root + 1
        if c >= n:
            break
        if c + 1 < n and _key(a[c]) < _key(a[c + 1]):
            c += 1
        if not (_key(x) < _key(a[c])):
            break
        a[root] = a[c]
        root = c
    a[root] = x


cdef void _heap_sort(elem_t* a, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    i = n // 2
    while i > 0:
        i -= 1
        _sift_down(a, i, n)
    i = n
    while i > 1:
        i -= 1
        _swap(a, 0, i)
        _sift_down(a, 0, i)


cdef void _intro_sort(elem_t* a, Py_ssize_t n, int depth) noexcept nogil:
    """Quicksort (median of three, pivot kept out of the scan) on the larger part, recursion
    on the smaller; heapsort once ``depth`` splits are used up; insertion sort for short runs.
    """
    cdef Py_ssize_t mid, i, j, last
    cdef double pivot
    while n > SMALL_SORT:
        if depth == 0:
            _heap_sort(a, n)
            return
        depth -= 1
        last = n - 1
        mid = n >> 1
        if _key(a[mid]) < _key(a[0]):
            _swap(a, mid, 0)
        if _key(a[last]) < _key(a[mid]):
            _swap(a, last, mid)
            if _key(a[mid]) < _key(a[0]):
                _swap(a, mid, 0)
        # a[0] <= pivot <= a[last]; park the pivot at last - 1: both scans stop at a sentinel
        pivot = _key(a[mid])
        _swap(a, mid, last - 1)
        i = 0
        j = last - 1
        while True:
            i += 1
            while _key(a[i]) < pivot:
                i += 1
            j -= 1
            while pivot < _key(a[j]):
                j -= 1
            if i >= j:
                break
            _swap(a, i, j)
        _swap(a, i, last - 1)
        # a[0:i] <= pivot == a[i] <= a[i+1:n]
        if i < n - 1 - i:
            _intro_sort(a, i, depth)
            a = a + i + 1
            n = n - i - 1
        else:
            _intro_sort(a + i + 1, n - i - 1, depth)
            n = i
    _insertion_sort(a, n)


cdef void _sort(elem_t* a, Py_ssize_t n) noexcept nogil:
    """Ascending by value (pairs by their ``v``); not stable."""
    cdef int depth = 0
    cdef Py_ssize_t k = n
    while k > 1:
        depth += 2
        k >>= 1
    _intro_sort(a, n, depth)


def _set_packed_max(int64_t value):
    """Test hook: the number of negatives from which unweighted histograms are counted in
    float64 instead of packed 32-bit counts (normally 2^32); returns the previous value."""
    global PACKED_MAX
    old = PACKED_MAX
    PACKED_MAX = value
    return old


def _introsort(score_t[::1] a, int depth):
    """Test hook: sort ``a`` in place with the introsort, at most ``depth`` quicksort levels
    before the heapsort takes over (0: heapsort only)."""
    with nogil:
        _intro_sort(&a[0], a.shape[0], depth)


cdef enum:
    RADIX_BITS = 11
    RADIX = 1 << RADIX_BITS
    RADIX_MAX_PASSES = 6  # 64-bit keys

cdef Py_ssize_t RADIX_MIN = 1024  # positives from which the radix sort replaces the introsort


cdef inline uint64_t _to_key(score_t v) noexcept nogil:
    """Unsigned key with the order of the finite value ``v`` (-0.0 just below +0.0)."""
    cdef uint64_t u
    cdef uint32_t h
    if score_t is double:
        memcpy(&u, &v, sizeof(double))
        return ~u if u >> 63 else u | (<uint64_t>1 << 63)
    else:
        memcpy(&h, &v, sizeof(float))
        h = ~h if h >> 31 else h | (<uint32_t>1 << 31)
        return h


cdef inline score_t _from_key(uint64_t k, score_t kind) noexcept nogil:
    """Inverse of :func:`_to_key` (``kind`` only selects the type)."""
    cdef uint32_t h
    cdef score_t v
    if score_t is double:
        k = k & ~(<uint64_t>1 << 63) if k >> 63 else ~k
        memcpy(&v, &k, sizeof(double))
    else:
        h = <uint32_t>k
        h = h & ~(<uint32_t>1 << 31) if h >> 31 else ~h
        memcpy(&v, &h, sizeof(float))
    return v


cdef void _radix_sort(uint64_t* k, double* w, uint64_t* k2, double* w2, Py_ssize_t n,
                      int bits, Py_ssize_t* counts) noexcept nogil:
    """Stable LSD radix sort of the keys ``k[0:n]`` (their ``bits`` low bits), carrying ``w``
    along when it is not NULL; ``k2``/``w2`` are scratch of the same size and ``counts`` holds
    RADIX_MAX_PASSES * RADIX entries. Digits that are the same for every key are skipped."""
    cdef int passes = (bits + RADIX_BITS - 1) // RADIX_BITS, p, shift
    cdef Py_ssize_t i, d, total, c
    cdef Py_ssize_t* cnt
    cdef uint64_t* src = k
    cdef uint64_t* dst = k2
    cdef uint64_t* tk
    cdef double* sw = w
    cdef double* dw = w2
    cdef double* tw
    cdef uint64_t key
    memset(counts, 0, passes * RADIX * sizeof(Py_ssize_t))
    for i in range(n):
        key = k[i]
        for p in range(passes):
            counts[p * RADIX + ((key >> (p * RADIX_BITS)) & (RADIX - 1))] += 1
    for p in range(passes):
        shift = p * RADIX_BITS
        cnt = counts + p * RADIX
        if cnt[(src[0] >> shift) & (RADIX - 1)] == n:
            continue
        total = 0
        for d in range(RADIX):
            c = cnt[d]
            cnt[d] = total
            total += c
        if w != NULL:
            for i in range(n):
                d = (src[i] >> shift) & (RADIX - 1)
                dst[cnt[d]] = src[i]
                dw[cnt[d]] = sw[i]
                cnt[d] += 1
            tw = sw
            sw = dw
            dw = tw
        else:
            for i in range(n):
                d = (src[i] >> shift) & (RADIX - 1)
                dst[cnt[d]] = src[i]
                cnt[d] += 1
        tk = src
        src = dst
        dst = tk
    if src != k:
        memcpy(k, src, n * sizeof(uint64_t))
        if w != NULL:
            memcpy(w, sw, n * sizeof(double))


cdef struct SortBuf:
    void* pairs  # (value, weight) pairs for the introsort of weighted positives
    uint64_t* keys  # radix sort keys and scratch, and weight scratch
    uint64_t* keys2
    double* w2
    Py_ssize_t* counts
    Py_ssize_t cap_pairs
    Py_ssize_t cap_keys


cdef void _sortbuf_free(SortBuf* sb) noexcept nogil:
    free(sb.pairs)
    free(sb.keys)
    free(sb.keys2)
    free(sb.w2)
    free(sb.counts)
    memset(sb, 0, sizeof(SortBuf))


cdef int _sortbuf_reserve(SortBuf* sb, Py_ssize_t n_pos, bint use_w) noexcept nogil:
    """Room to sort ``n_pos`` positives: 0, or -1 out of memory."""
    if n_pos >= RADIX_MIN:
        if n_pos > sb.cap_keys:
            free(sb.keys)
            free(sb.keys2)
            free(sb.w2)
            sb.keys = <uint64_t*>malloc((n_pos + 1) * sizeof(uint64_t))  # + 1: gather slack
            sb.keys2 = <uint64_t*>malloc(n_pos * sizeof(uint64_t))
            sb.w2 = <double*>malloc(n_pos * sizeof(double))
            sb.cap_keys = n_pos
            if sb.keys == NULL or sb.keys2 == NULL or sb.w2 == NULL:
                sb.cap_keys = 0
                return -1
        if sb.counts == NULL:
            sb.counts = <Py_ssize_t*>malloc(RADIX_MAX_PASSES * RADIX * sizeof(Py_ssize_t))
            if sb.counts == NULL:
                return -1
        return 0
    if use_w and n_pos > sb.cap_pairs:
        free(sb.pairs)
        sb.pairs = malloc(n_pos * sizeof(pair_d))
        sb.cap_pairs = n_pos
        if sb.pairs == NULL:
            sb.cap_pairs = 0
            return -1
    return 0


# --------------------------------------------------------------------- problem building blocks
cdef struct BucketIndex:
    int32_t* first  # first[b]: number of values whose bucket is < b (nb + 1 entries)
    double lo
    double scale
    Py_ssize_t nb
    bint bucketed


cdef inline Py_ssize_t _bucket(double v, double lo, double scale, Py_ssize_t nb) noexcept nogil:
    cdef double x = (v - lo) * scale
    return <Py_ssize_t>x if x < nb else nb - 1


cdef Py_ssize_t _n_buckets(Py_ssize_t m) noexcept nogil:
    cdef Py_ssize_t nb = 64
    while nb < m and nb < MAX_BUCKETS:
        nb *= 2
    return nb


cdef void _bucket_index(const score_t* a, Py_ssize_t m, BucketIndex* ix) noexcept nogil:
    """Index the ascending distinct ``a[0:m]`` by a monotone linear bucket map into
    ``ix.first`` (``ix.nb + 1`` entries, set by the caller). Any monotone map keeps the search
    exact: a value in a lower bucket than ``v`` is < v, one in a higher bucket is > v, so only
    ``v``'s own bucket needs a search."""
    cdef Py_ssize_t k, b, nb = ix.nb
    cdef double span
    cdef int32_t* first = ix.first
    ix.lo = <double>a[0]
    span = <double>a[m - 1] - ix.lo
    ix.scale = <double>nb / span if span > 0.0 else 0.0
    memset(first, 0, (nb + 1) * sizeof(int32_t))
    for k in range(m):
        first[_bucket(a[k], ix.lo, ix.scale, nb) + 1] += 1
    for b in range(nb):
        first[b + 1] += first[b]
    ix.bucketed = True


cdef Py_ssize_t _positives(const score_t* s, const uint8_t* y, Py_ssize_t n, const double* w,
                           Py_ssize_t wdiv, Py_ssize_t wmod, bint use_w, Py_ssize_t n_pos,
                           score_t* pv, double* pw, SortBuf* sb) noexcept nogil:
    """Sorted distinct positive scores into ``pv[0:m]``, their weights into ``pw[0:m]``;
    returns m. ``n_pos`` is the number of positives; ``pv``/``pw`` need room for it plus
    one, ``sb`` what :func:`_sortbuf_reserve` gives for it. Many positives are radix sorted
    (stable: tied positives add their weights in row order), few by the introsort."""
    cdef Py_ssize_t i, k, m, c = 0
    cdef pair_f* pf = <pair_f*>sb.pairs
    cdef pair_d* pd = <pair_d*>sb.pairs
    cdef uint64_t* keys = sb.keys
    cdef score_t kind = 0
    if n_pos >= RADIX_MIN:
        if use_w:
            for i in range(n):
                if y[i]:
                    keys[c] = _to_key(s[i])
                    pw[c] = w[(i // wdiv) % wmod]
                    c += 1
        else:
            for i in range(n):
                keys[c] = _to_key(s[i])
                c += y[i] != 0
        _radix_sort(keys, pw if use_w else NULL, sb.keys2, sb.w2, n_pos,
                    64 if score_t is double else 32, sb.counts)
        for k in range(n_pos):
            pv[k] = _from_key(keys[k], kind)
            if not use_w:
                pw[k] = 1.0
    elif use_w:
        for i in range(n):
            if y[i]:
                if score_t is float:
                    pf[c].v = s[i]
                    pf[c].w = w[(i // wdiv) % wmod]
                else:
                    pd[c].v = s[i]
                    pd[c].w = w[(i // wdiv) % wmod]
                c += 1
        if score_t is float:
            _sort(pf, n_pos)
            for k in range(n_pos):
                pv[k] = pf[k].v
                pw[k] = pf[k].w
        else:
            _sort(pd, n_pos)
            for k in range(n_pos):
                pv[k] = pd[k].v
                pw[k] = pd[k].w
    else:
        for i in range(n):
            pv[c] = s[i]
            c += y[i] != 0
        _sort(pv, n_pos)
        for k in range(n_pos):
            pw[k] = 1.0
    if n_pos == 0:
        return 0
    m = 1
    for k in range(1, n_pos):
        if pv[k] == pv[m - 1]:
            pw[m - 1] += pw[k]
        else:
            pv[m] = pv[k]
            pw[m] = pw[k]
            m += 1
    return m


cdef inline double _next_w(const double* w, Py_ssize_t wdiv, Py_ssize_t wmod, Py_ssize_t* q,
                           Py_ssize_t* rem) noexcept nogil:
    """``w[(i // wdiv) % wmod]`` for consecutive ``i``, stepped instead of divided."""
    cdef double wi = w[q[0]]
    rem[0] += 1
    if rem[0] == wdiv:
        rem[0] = 0
        q[0] += 1
        if q[0] == wmod:
            q[0] = 0
    return wi


cdef struct Slot:
    double v0  # the bucket's smallest value (+inf for an empty bucket)
    double v1  # its second smallest (+inf for a bucket of fewer than two)
    int32_t k  # number of values in lower buckets
    int32_t c  # number of values in the bucket


cdef enum:
    NEG_BLOCK = 256  # rows whose negatives are gathered before they are located
    PREFETCH_AHEAD = 8  # negatives between the prefetch of a table slot and its use

cdef int64_t PACKED_MAX = <int64_t>1 << 32  # negatives counted with packed 32-bit counts


cdef inline int32_t _slot(double v, double lo, double scale, double top) noexcept nogil:
    """The bucket of any finite ``v``, clamped to [0, nb - 1] (``top`` = nb - 1) without
    branches: values below the positives land in bucket 0, above them in the last."""
    cdef double x = (v - lo) * scale
    x = x if x > 0.0 else 0.0
    x = x if x < top else top
    return <int32_t>x


cdef void _slots(const score_t* a, const int32_t* first, Py_ssize_t nb,
                 Slot* tab) noexcept nogil:
    """The interleaved table of a bucket index: for bucket b its start, its size and its first
    value, read together in one cache access."""
    cdef Py_ssize_t b
    for b in range(nb):
        tab[b].k = first[b]
        tab[b].c = first[b + 1] - first[b]
        tab[b].v0 = <double>a[first[b]] if tab[b].c > 0 else INFINITY
        tab[b].v1 = <double>a[first[b] + 1] if tab[b].c > 1 else INFINITY


cdef void _negatives(const score_t* s, const uint8_t* y, const double* w, Py_ssize_t wdiv,
                     Py_ssize_t wmod, bint use_w, double thr, const score_t* a, Py_ssize_t m,
                     const Slot* tab, double a_lo, double scale, Py_ssize_t nb, double* ht,
                     Py_ssize_t lo, Py_ssize_t hi, double* res) noexcept nogil:
    """Histogram the negatives of ``s[lo:hi]`` against the distinct positives ``a[0:m]``
    (``m >= 1``), bucketed by ``tab`` (:func:`_slots`, ``nb`` buckets).

    Fills the interleaved ``ht[0:2m+2]`` (zero on entry): ``ht[2r]`` is the weight of
    negatives with ``#{a <= v} == r``, ``ht[2r+1]`` that of negatives equal to ``a[r-1]``.
    Sets ``res[0:3]`` to (negative weight, negative weight with score >= thr, number of
    negatives) of the block. Unweighted, the histogram is counted in integers, both counts
    of a value in one 64-bit word (see :func:`_count_block`; in the same memory, unpacked at
    the end): one memory update per negative and no floating-point latency in the chains.

    Rows go in blocks: the negatives of a block are gathered first (no branch on the target),
    then located. Locating is branch-free unless the bucket holds two values or more, so the
    table and histogram accesses of consecutive negatives overlap.
    """
    cdef Py_ssize_t i, i0, i1, t, cnt, r, k, q = 0, rem = 0
    cdef double wi = 1.0, neg_w = 0.0, fp_at = 0.0, n_neg = 0.0, v, eq, top = <double>(nb - 1)
    cdef int64_t n_fp = 0
    cdef uint64_t* hc = <uint64_t*>ht
    cdef bint dbl = use_w or hi - lo >= PACKED_MAX
    cdef double vb[NEG_BLOCK]
    cdef double wb[NEG_BLOCK]
    cdef int32_t sb[NEG_BLOCK]
    cdef const Slot* e
    if use_w and hi > lo:
        q = (lo // wdiv) % wmod
        rem = lo % wdiv
    i0 = lo
    while i0 < hi:
        i1 = min(hi, i0 + NEG_BLOCK)
        cnt = 0
        if use_w:
            for i in range(i0, i1):
                vb[cnt] = <double>s[i]
                wb[cnt] = _next_w(w, wdiv, wmod, &q, &rem)
                cnt += y[i] == 0
        else:
            for i in range(i0, i1):
                vb[cnt] = <double>s[i]
                cnt += y[i] == 0
            if dbl:  # too many rows for the packed counts: unit weights
                for t in range(cnt):
                    wb[t] = 1.0
        for t in range(cnt):
            sb[t] = _slot(vb[t], a_lo, scale, top)
        if dbl:
            for t in range(cnt):
                FASTML_PREFETCH(&tab[sb[t + PREFETCH_AHEAD if t + PREFETCH_AHEAD < cnt else t]])
                v = vb[t]
                wi = wb[t]
                e = &tab[sb[t]]
                k = e.k
                if e.c > 2:
                    r = k + _count_le_d(a, k, k + e.c, v)
                    eq = 1.0 if r > k and <double>a[r - 1] == v else 0.0
                else:
                    r = k + (v >= e.v0) + (v >= e.v1)
                    eq = <double>((v == e.v0) | (v == e.v1))
                ht[2 * r] += wi
                ht[2 * r + 1] += wi * eq
                neg_w += wi
                fp_at += wi * (v >= thr)
        else:
            n_fp += _count_block(vb, sb, cnt, tab, a, hc, thr)
        n_neg += <double>cnt
        i0 = i1
    if dbl:
        res[0] = neg_w
        res[1] = fp_at
    else:
        _counts_to_weights(ht, m + 1)
        res[0] = n_neg
        res[1] = <double>n_fp
    res[2] = n_neg


cdef inline int64_t _count_block(const double* vb, const int32_t* sb, Py_ssize_t cnt,
                                 const Slot* tab, const score_t* a, uint64_t* hc,
                                 double thr) noexcept nogil:
    """Count the negatives ``vb[0:cnt]`` (their buckets in ``sb``) into the packed histogram
    ``hc[0:m+1]``: ``hc[r]`` holds, in its low 32 bits, the number of negatives with
    ``#{a <= v} == r`` and in its high 32 bits the number equal to ``a[r-1]`` (fewer than
    PACKED_MAX negatives in all, so neither overflows). Returns how many are >= thr (a
    separate pass, skipped for an infinite ``thr``)."""
    cdef Py_ssize_t t, k, r
    cdef int64_t eqi, n_fp = 0
    cdef double v
    cdef const Slot* e
    for t in range(cnt):
        FASTML_PREFETCH(&tab[sb[t + PREFETCH_AHEAD if t + PREFETCH_AHEAD < cnt else t]])
        v = vb[t]
        e = &tab[sb[t]]
        k = e.k
        if e.c > 2:
            r = k + _count_le_d(a, k, k + e.c, v)
            eqi = r > k and <double>a[r - 1] == v
        else:
            r = k + (v >= e.v0) + (v >= e.v1)
            eqi = (v == e.v0) | (v == e.v1)
        hc[r] += 1 + (<uint64_t>eqi << 32)
    if thr < INFINITY:
        for t in range(cnt):
            n_fp += vb[t] >= thr
    return n_fp


cdef inline void _counts_to_weights(double* ht, Py_ssize_t size) noexcept nogil:
    """The packed counts of :func:`_count_block` stored in the first ``size`` words of
    ``ht``, unpacked in place into the interleaved float64 layout ``ht[0:2*size]`` (from the
    top down: word r is read before ``ht[2r]``, ``ht[2r+1]`` overwrite it)."""
    cdef Py_ssize_t r = size
    cdef uint64_t c
    while r > 0:
        r -= 1
        memcpy(&c, &ht[r], sizeof(uint64_t))  # read as stored (no aliasing)
        ht[2 * r] = <double>(c & <uint64_t>0xFFFFFFFF)
        ht[2 * r + 1] = <double>(c >> 32)


cdef void _negatives_none(const uint8_t* y, const double* w, Py_ssize_t wdiv, Py_ssize_t wmod,
                          bint use_w, double thr, const score_t* s, Py_ssize_t lo,
                          Py_ssize_t hi, double* res) noexcept nogil:
    """:func:`_negatives` without positives: only the sums (every negative is below them)."""
    cdef Py_ssize_t i, q = 0, rem = 0
    cdef double wi = 1.0, neg_w = 0.0, fp_at = 0.0, n_neg = 0.0
    if use_w and hi > lo:
        q = (lo // wdiv) % wmod
        rem = lo % wdiv
    for i in range(lo, hi):
        if use_w:
            wi = _next_w(w, wdiv, wmod, &q, &rem)
        if y[i]:
            continue
        neg_w += wi
        if s[i] >= thr:
            fp_at += wi
        n_neg += 1.0
    res[0] = neg_w
    res[1] = fp_at
    res[2] = n_neg


cdef inline Py_ssize_t _count_le_d(const score_t* a, Py_ssize_t lo, Py_ssize_t hi,
                                   double v) noexcept nogil:
    """Number of values of the ascending ``a[lo:hi]`` (``hi > lo``) that are <= v."""
    cdef Py_ssize_t n = hi - lo, half, base = lo
    while n > 1:
        half = n >> 1
        base = base + half if <double>a[base + half] <= v else base
        n -= half
    return base - lo + (1 if <double>a[base] <= v else 0)


cdef inline double _area_to(double x0, double y0, double x1, double y1,
                            double xmax) noexcept nogil:
    """Trapezoid area of the segment (x0, y0)-(x1, y1) restricted to x <= xmax."""
    cdef double ym
    if x1 <= x0 or x0 >= xmax:
        return 0.0
    if x1 <= xmax:
        return (x1 - x0) * (y0 + y1) * 0.5
    ym = y0 + (y1 - y0) * (xmax - x0) / (x1 - x0)
    return (xmax - x0) * (y0 + ym) * 0.5


cdef void _finish(const score_t* a, const double* pw, Py_ssize_t m, const double* hist,
                  const double* tie, Py_ssize_t hs, double neg_w, double fp_at,
                  Py_ssize_t n_pos, double n_neg, double thr, double max_fpr,
                  double* out) noexcept nogil:
    """Suffix pass over the distinct positive scores: fills ``out[0:N_STATS]``. ``hist[r]``
    and ``tie[k]`` are read at ``hist[r * hs]``, ``tie[k * hs]`` (``hs``: 1 for a partial, 2
    for the interleaved histogram of :func:`_negatives`)."""
    cdef Py_ssize_t j
    cdef double pos_w = 0.0, fp = 0.0, tp = 0.0, ap = 0.0, auc = 0.0, pauc = 0.0
    cdef double best_f1 = -1.0, best_thr = INFINITY, tp_at = 0.0, tp_gt, denom, f1, fp_gt
    cdef double x_prev = 0.0, y_prev = 0.0, x_max = max_fpr * neg_w, min_area, v
    for j in range(m):
        pos_w += pw[j]
    # ROC curve walk (used for the partial AUC), in false/true positive weight units
    j = m
    while j > 0:
        j -= 1
        fp += hist[(j + 1) * hs]
        tp_gt = tp
        tp += pw[j]
        denom = tp + fp
        if pw[j] != 0.0 and denom > 0.0:
            ap += pw[j] * (tp / denom)
        auc += pw[j] * ((neg_w - fp) + 0.5 * tie[j * hs])
        f1 = 2.0 * tp / (tp + fp + pos_w) if pos_w > 0.0 else 0.0
        if f1 > best_f1:
            best_f1 = f1
            best_thr = a[j]
        if a[j] >= thr:
            tp_at = tp
        if max_fpr > 0.0:
            fp_gt = fp - tie[j * hs]
            pauc += _area_to(x_prev, y_prev, fp_gt, tp_gt, x_max)
            pauc += _area_to(fp_gt, tp_gt, fp, tp, x_max)
            x_prev = fp
            y_prev = tp
    if m == 0:
        best_f1 = 0.0
    if pos_w > 0.0:
        v = ap / pos_w
        out[_AP] = v if v > 0.0 else 0.0
    else:
        out[_AP] = 0.0
    if pos_w > 0.0 and neg_w > 0.0:
        if max_fpr > 0.0:
            pauc += _area_to(x_prev, y_prev, neg_w, pos_w, x_max)
            pauc /= pos_w * neg_w
            min_area = 0.5 * max_fpr * max_fpr
            out[_AUC] = 0.5 * (1.0 + (pauc - min_area) / (max_fpr - min_area))
        else:
            out[_AUC] = auc / (pos_w * neg_w)
    else:
        out[_AUC] = NAN
    out[_BEST_F1] = best_f1
    out[_BEST_THR] = best_thr
    out[_POS_W] = pos_w
    out[_NEG_W] = neg_w
    out[_TP_AT] = tp_at
    out[_FP_AT] = fp_at
    out[_POS_N] = <double>n_pos
    out[_NEG_N] = n_neg


# ----------------------------------------------------------------------------- workspaces
cdef struct Work:
    void* pv  # score_t values, cap entries
    double* pw  # cap entries
    double* ht  # interleaved histogram, 2 * (cap + 1) entries
    SortBuf sb
    Slot* tab  # cap_tab entries
    Py_ssize_t cap
    Py_ssize_t cap_tab


cdef void _work_free(Work* ws) noexcept nogil:
    free(ws.pv)
    free(ws.pw)
    free(ws.ht)
    _sortbuf_free(&ws.sb)
    free(ws.tab)
    memset(ws, 0, sizeof(Work))


cdef int _work_reserve(Work* ws, Py_ssize_t cap, bint use_w) noexcept nogil:
    """Room for ``cap`` positives, sorting buffers aside: 0, or -1 out of memory."""
    if cap > ws.cap:
        free(ws.pv)
        free(ws.pw)
        free(ws.ht)
        ws.pv = malloc(cap * sizeof(double))
        ws.pw = <double*>malloc(cap * sizeof(double))
        ws.ht = <double*>malloc(2 * (cap + 1) * sizeof(double))
        ws.cap = cap
        if ws.pv == NULL or ws.pw == NULL or ws.ht == NULL:
            ws.cap = 0
            return -1
    return 0


cdef int _work_tab(Work* ws, Py_ssize_t cap) noexcept nogil:
    if cap > ws.cap_tab:
        free(ws.tab)
        ws.tab = <Slot*>malloc(cap * sizeof(Slot))
        ws.cap_tab = cap
        if ws.tab == NULL:
            ws.cap_tab = 0
            return -1
    return 0


cdef Py_ssize_t _tab_size(Py_ssize_t m) noexcept nogil:
    """Buckets of the table of ``m`` distinct positives (one: plain binary search): twice
    :func:`_n_buckets` while the table stays small (few negatives then meet a bucket of more
    than two values), :func:`_n_buckets` beyond (a table out of cache costs more than the
    searches it saves)."""
    cdef Py_ssize_t nb
    if m < MIN_BUCKETED:
        return 1
    nb = _n_buckets(m)
    return 2 * nb if 2 * nb <= TAB_DOUBLE_MAX else nb


cdef void _build_tab(const score_t* a, Py_ssize_t m, Slot* tab, Py_ssize_t nb, double* lo,
                     double* scale) noexcept nogil:
    """The bucket table (:func:`_slots`) of the ascending distinct ``a[0:m]`` (``m >= 1``)
    with ``nb`` buckets (:func:`_tab_size`), built directly: sizes, then starts."""
    cdef Py_ssize_t k, b, run = 0
    cdef double span, top = <double>(nb - 1)
    lo[0] = <double>a[0]
    span = <double>a[m - 1] - lo[0]
    scale[0] = <double>nb / span if span > 0.0 and nb > 1 else 0.0
    for b in range(nb):
        tab[b].c = 0
    for k in range(m):
        tab[_slot(<double>a[k], lo[0], scale[0], top)].c += 1
    for b in range(nb):
        tab[b].k = <int32_t>run
        tab[b].v0 = <double>a[run] if tab[b].c > 0 else INFINITY
        tab[b].v1 = <double>a[run + 1] if tab[b].c > 1 else INFINITY
        run += tab[b].c


cdef int _problem(const score_t* s, const uint8_t* y, Py_ssize_t n, const double* w,
                  Py_ssize_t wdiv, Py_ssize_t wmod, bint use_w, double thr, double max_fpr,
                  Work* ws, double* out) noexcept nogil:
    """Statistics of one binary problem ``s[0:n]``, sequentially: 0, or -1 out of memory."""
    cdef Py_ssize_t i, m, nb, n_pos = 0
    cdef double res[3]
    cdef double lo, scale
    cdef score_t* pv
    for i in range(n):
        n_pos += y[i] != 0
    if _work_reserve(ws, n_pos + 1, use_w) < 0 or _sortbuf_reserve(&ws.sb, n_pos, use_w) < 0:
        return -1
    pv = <score_t*>ws.pv
    m = _positives(s, y, n, w, wdiv, wmod, use_w, n_pos, pv, ws.pw, &ws.sb)
    memset(ws.ht, 0, 2 * (m + 1) * sizeof(double))
    if m == 0:
        _negatives_none(y, w, wdiv, wmod, use_w, thr, s, 0, n, res)
    else:
        nb = _tab_size(m)
        if _work_tab(ws, nb) < 0:
            return -1
        _build_tab(pv, m, ws.tab, nb, &lo, &scale)
        _negatives(s, y, w, wdiv, wmod, use_w, thr, pv, m, ws.tab, lo, scale, nb, ws.ht, 0, n,
                   res)
    _finish(pv, ws.pw, m, ws.ht, ws.ht + 3, 2, res[0], res[1], n_pos, res[2], thr, max_fpr,
            out)
    return 0


# ------------------------------------------------------------------- the row-split contract
def sorted_positives(const score_t[::1] s, const uint8_t[::1] y, const double[::1] w,
                     Py_ssize_t wdiv, Py_ssize_t wmod, bint use_w):
    """The sorted distinct positive scores of one problem and their total weights.

    Returns ``(a, pw, n_pos)``: ``a`` ascending distinct scores of the positives (dtype of
    ``s``), ``pw`` float64 the positive weight at each, ``n_pos`` the number of positives.
    This is what a row-split computation broadcasts to every block.
    """
    cdef Py_ssize_t i, m = 0, n = s.shape[0], n_pos = 0
    cdef SortBuf sb
    cdef int err
    for i in range(n):
        n_pos += y[i] != 0
    pv_arr = np.empty(n_pos + 1, np.float32 if score_t is float else np.float64)
    pw_arr = np.empty(n_pos + 1)
    cdef score_t[::1] pv = pv_arr
    cdef double[::1] pw = pw_arr
    memset(&sb, 0, sizeof(SortBuf))
    with nogil:
        err = _sortbuf_reserve(&sb, n_pos, use_w)
        if err == 0:
            m = _positives(&s[0], &y[0], n, &w[0], wdiv, wmod, use_w, n_pos, &pv[0], &pw[0],
                           &sb)
        _sortbuf_free(&sb)
    if err:
        raise MemoryError()
    return pv_arr[:m], pw_arr[:m], n_pos


def bucket_index(const score_t[::1] a):
    """``(first, lo, scale, nb)``: the bucket index of the ascending distinct scores ``a``
    (``nb == 0``: too few values, plain binary search). Shared by the blocks of a problem."""
    cdef BucketIndex ix
    cdef Py_ssize_t m = a.shape[0]
    if m < MIN_BUCKETED:
        return np.zeros(1, np.int32), 0.0, 0.0, 0
    ix.nb = _n_buckets(m)
    first_arr = np.empty(ix.nb + 1, np.int32)
    cdef int32_t[::1] first = first_arr
    ix.first = &first[0]
    with nogil:
        _bucket_index(&a[0], m, &ix)
    return first_arr, ix.lo, ix.scale, ix.nb


def histogram_block(const score_t[::1] s, const uint8_t[::1] y, const double[::1] w,
                    Py_ssize_t wdiv, Py_ssize_t wmod, bint use_w, double thr,
                    const score_t[::1] a, Py_ssize_t lo, Py_ssize_t hi, index=None):
    """Partial: the negatives of rows ``[lo, hi)`` histogrammed over the distinct positives.

    ``a`` holds a problem's ascending distinct positive scores (:func:`sorted_positives`, m
    values); ``index`` is :func:`bucket_index` of ``a`` (built here when None). Returns float64
    (2m + 4,): ``hist[0:m+1]`` (negative weight with ``#{a <= v} == r`` at ``r``),
    ``tie[0:m]`` (negative weight equal to ``a[k]``), then negative weight, negative weight
    with score ``>= thr`` and number of negatives. Partials of blocks add (:func:`combine`).
    """
    cdef Py_ssize_t m = a.shape[0], nb, k
    cdef const int32_t[::1] first
    cdef double a_lo, scale
    cdef Slot* tab = NULL
    cdef double* ht = NULL
    cdef Slot one
    if index is None:
        index = bucket_index(a)
    first_arr, lo_v, scale_v, nb_v = index
    first = first_arr
    a_lo, scale, nb = lo_v, scale_v, nb_v
    part_arr = np.zeros(2 * m + 4)
    cdef double[::1] part = part_arr
    if hi <= lo:
        return part_arr
    with nogil:
        if m == 0:
            _negatives_none(&y[0], &w[0], wdiv, wmod, use_w, thr, &s[0], lo, hi,
                            &part[2 * m + 1])
            part[0] = part[2 * m + 1]
        else:
            ht = <double*>calloc(2 * (m + 1), sizeof(double))
            if nb > 0:
                tab = <Slot*>malloc(nb * sizeof(Slot))
                if tab != NULL:
                    _slots(&a[0], &first[0], nb, tab)
            else:  # one bucket: plain binary search
                nb = 1
                scale = 0.0
                a_lo = <double>a[0]
                one.k = 0
                one.c = <int32_t>m
                one.v0 = <double>a[0]
                one.v1 = <double>a[1] if m > 1 else INFINITY
                tab = &one
            if tab != NULL and ht != NULL:
                _negatives(&s[0], &y[0], &w[0], wdiv, wmod, use_w, thr, &a[0], m, tab, a_lo,
                           scale, nb, ht, lo, hi, &part[2 * m + 1])
                for k in range(m + 1):
                    part[k] = ht[2 * k]
                for k in range(m):
                    part[m + 1 + k] = ht[2 * k + 3]
            if tab != &one:
                free(tab)
            free(ht)
    if m > 0 and (tab == NULL or ht == NULL):
        raise MemoryError()
    return part_arr


def combine(a, b):
    """Combine two partials of one problem (:func:`histogram_block`): their sum."""
    return a + b


def finish_stats(const score_t[::1] a, const double[::1] pw, Py_ssize_t n_pos,
                 const double[::1] part, double thr, double max_fpr):
    """Finish: the statistics (N_STATS,) of a problem from its positives and its combined
    partial (suffix sums over the distinct positive scores)."""
    cdef Py_ssize_t m = a.shape[0]
    out_arr = np.empty(_N_STATS)
    cdef double[::1] out = out_arr
    with nogil:
        _finish(&a[0], &pw[0], m, &part[0], &part[m + 1], 1, part[2 * m + 1], part[2 * m + 2],
                n_pos, part[2 * m + 3], thr, max_fpr, &out[0])
    return out_arr


# --------------------------------------------------------------- flat problems, partitioned
def _part_count_block(const score_t[::1] s, const uint8_t[::1] y, const double[::1] w,
                      Py_ssize_t wdiv, Py_ssize_t wmod, bint use_w, double thr, double a_lo,
                      double a_hi, double scale, Py_ssize_t nb, int shift, int64_t[::1] counts,
                      double[::1] edge, Py_ssize_t lo, Py_ssize_t hi):
    """Negatives of rows [lo, hi) per partition (``counts``) and their edge sums (``edge``:
    weight below all positives, at or above the top one, equal to the top one, all, with
    score >= thr, number). The sums are kept in registers (row order, as the one-shot
    order); unweighted, everything is counted without branches."""
    cdef Py_ssize_t i, q = 0, rem = 0
    cdef double v, wi = 1.0, top = <double>(nb - 1)
    cdef double e0 = 0.0, e1 = 0.0, e2 = 0.0, e3 = 0.0, e4 = 0.0, e5 = 0.0
    cdef int64_t c0 = 0, c1 = 0, c2 = 0, c4 = 0, c5 = 0, neg, below, above
    with nogil:
        if use_w:
            if hi > lo:
                q = (lo // wdiv) % wmod
                rem = lo % wdiv
            for i in range(lo, hi):
                wi = _next_w(&w[0], wdiv, wmod, &q, &rem)
                if y[i]:
                    continue
                v = s[i]
                e3 += wi
                e5 += 1.0
                if v >= thr:
                    e4 += wi
                if v < a_lo:
                    e0 += wi
                elif v >= a_hi:
                    e1 += wi
                    if v == a_hi:
                        e2 += wi
                else:
                    counts[_bucket(v, a_lo, scale, nb) >> shift] += 1
        else:
            for i in range(lo, hi):
                v = s[i]
                neg = y[i] == 0
                below = v < a_lo
                above = v >= a_hi
                c5 += neg
                c4 += neg & (v >= thr)
                c0 += neg & below
                c1 += neg & above
                c2 += neg & (v == a_hi)
                counts[_slot(v, a_lo, scale, top) >> shift] += neg & ~(below | above)
            e0 = <double>c0
            e1 = <double>c1
            e2 = <double>c2
            e3 = <double>c5
            e4 = <double>c4
            e5 = <double>c5
        edge[0] += e0
        edge[1] += e1
        edge[2] += e2
        edge[3] += e3
        edge[4] += e4
        edge[5] += e5


def _part_scatter_block(const score_t[::1] s, const uint8_t[::1] y, const double[::1] w,
                        Py_ssize_t wdiv, Py_ssize_t wmod, bint use_w, double a_lo, double a_hi,
                        double scale, Py_ssize_t nb, int shift, int64_t[::1] pos,
                        score_t[::1] buf_v, double[::1] buf_w, Py_ssize_t lo, Py_ssize_t hi):
    """Scatter the inner negatives of rows [lo, hi) to their partitions (``pos``: next slot)."""
    cdef Py_ssize_t i, p, q = 0, rem = 0
    cdef score_t v
    cdef double wi = 1.0
    with nogil:
        if use_w and hi > lo:
            q = (lo // wdiv) % wmod
            rem = lo % wdiv
        for i in range(lo, hi):
            if use_w:
                wi = _next_w(&w[0], wdiv, wmod, &q, &rem)
            if y[i]:
                continue
            v = s[i]
            if v < a_lo or v >= a_hi:
                continue
            p = _bucket(v, a_lo, scale, nb) >> shift
            buf_v[pos[p]] = v
            if use_w:
                buf_w[pos[p]] = wi
            pos[p] += 1


def _part_resolve_block(const score_t[::1] buf_v, const double[::1] buf_w, bint use_w,
                        const score_t[::1] a, const int32_t[::1] first, double a_lo,
                        double scale, Py_ssize_t nb, const int64_t[::1] lo_k,
                        const int64_t[::1] part_start, const int64_t[::1] local_start,
                        double[::1] local_hist, double[::1] local_tie, int shift,
                        Py_ssize_t p0, Py_ssize_t p1):
    """Resolve partitions [p0, p1) against their slices of the positives, into their own
    local histograms. Each partition gets the bucket table (:func:`_slots`) of its own
    buckets and an interleaved local histogram, both in cache, and is located as in
    :func:`_negatives`."""
    cdef Py_ssize_t p, qi, k0, base, b, b0, b1, i, t, cnt, width, most_w = 0, most_b = 0
    cdef double top
    cdef double vb[NEG_BLOCK]
    cdef int32_t sb[NEG_BLOCK]
    cdef Slot* tab = NULL
    cdef double* ht = NULL
    cdef bint failed = False
    with nogil:
        for p in range(p0, p1):
            most_w = max(most_w, lo_k[p + 1] - lo_k[p])
            b0 = min(nb, p << shift)
            most_b = max(most_b, min(nb, (p + 1) << shift) - b0)
        tab = <Slot*>malloc(max(1, most_b) * sizeof(Slot))
        ht = <double*>malloc(2 * (most_w + 2) * sizeof(double))
        failed = tab == NULL or ht == NULL
        for p in range(p0, p1):
            if failed:
                break
            k0 = lo_k[p]
            base = local_start[p]
            width = lo_k[p + 1] - k0
            b0 = min(nb, p << shift)
            b1 = min(nb, (p + 1) << shift)
            if part_start[p + 1] == part_start[p]:
                continue
            _slots(&a[0], &first[b0], b1 - b0, tab)
            for b in range(b1 - b0):
                tab[b].k -= <int32_t>k0
            memset(ht, 0, 2 * (width + 2) * sizeof(double))
            top = <double>(b1 - 1)
            if not use_w and part_start[p + 1] - part_start[p] < PACKED_MAX:
                # unweighted: packed counts, as in _negatives
                qi = part_start[p]
                while qi < part_start[p + 1]:
                    cnt = min(<Py_ssize_t>NEG_BLOCK, part_start[p + 1] - qi)
                    for t in range(cnt):
                        vb[t] = <double>buf_v[qi + t]
                        sb[t] = _slot(vb[t], a_lo, scale, top) - b0
                    _count_block(vb, sb, cnt, tab, &a[k0], <uint64_t*>ht, INFINITY)
                    qi += cnt
                _counts_to_weights(ht, width + 1)
            else:
                _resolve_weighted(buf_v, buf_w, use_w, &a[k0], tab, a_lo, scale, b0, top, ht,
                                  part_start[p], part_start[p + 1])
            for i in range(width + 1):
                local_hist[base + i] += ht[2 * i]
            for i in range(width):
                local_tie[base + i] += ht[2 * i + 3]
        free(tab)
        free(ht)
    if failed:
        raise MemoryError()


cdef void _resolve_weighted(const score_t[::1] buf_v, const double[::1] buf_w, bint use_w,
                            const score_t* a, const Slot* tab, double a_lo, double scale,
                            Py_ssize_t b0, double top, double* ht, Py_ssize_t q0,
                            Py_ssize_t q1) noexcept nogil:
    """One partition's negatives ``q0 <= qi < q1`` into the float64 interleaved ``ht``
    (``a`` and ``tab`` local to the partition; weights when ``use_w``, else ones)."""
    cdef Py_ssize_t qi, k, r
    cdef double v, wi = 1.0, eq
    cdef const Slot* e
    for qi in range(q0, q1):
        v = <double>buf_v[qi]
        if use_w:
            wi = buf_w[qi]
        e = &tab[_slot(v, a_lo, scale, top) - b0]
        k = e.k
        if e.c > 2:
            r = k + _count_le_d(a, k, k + e.c, v)
            eq = 1.0 if r > k and <double>a[r - 1] == v else 0.0
        else:
            r = k + (v >= e.v0) + (v >= e.v1)
            eq = <double>((v == e.v0) | (v == e.v1))
        ht[2 * r] += wi
        ht[2 * r + 1] += wi * eq


def _part_merge(double[::1] part, Py_ssize_t m, const int64_t[::1] lo_k,
                const int64_t[::1] local_start, const double[::1] local_hist,
                const double[::1] local_tie, const double[:, ::1] edge):
    """Add the local histograms (partition order) and the edge sums (block order) into the
    partial ``part`` (layout of :func:`histogram_block`)."""
    cdef Py_ssize_t p, k, k0, n_parts = lo_k.shape[0] - 1
    cdef double* hist = &part[0]
    cdef double* tie = &part[m + 1]
    cdef double e[6]
    with nogil:
        for p in range(n_parts):
            k0 = lo_k[p]
            for k in range(lo_k[p + 1] - k0 + 1):
                hist[k0 + k] += local_hist[local_start[p] + k]
                if k0 + k < m:
                    tie[k0 + k] += local_tie[local_start[p] + k]
        for k in range(6):
            e[k] = 0.0
        for p in range(edge.shape[0]):
            for k in range(6):
                e[k] += edge[p, k]
        hist[0] += e[0]
        hist[m] += e[1]
        tie[m - 1] += e[2]
        part[2 * m + 1] = e[3]
        part[2 * m + 2] = e[4]
        part[2 * m + 3] = e[5]


def _negatives_partitioned(s, y, w, Py_ssize_t wdiv, Py_ssize_t wmod, bint use_w, double thr,
                           a):
    """The combined partial of :func:`histogram_block` over all of ``s``, for many distinct
    positives (``len(a) >= PARTITIONED_MIN``).

    The tables of a large ``m`` do not fit in cache, so each negative would cost several
    misses. Instead the negatives are radix-partitioned by the high bits of their bucket
    (count, then scatter, both in row blocks); each partition is then resolved against its
    own slice of the positives, which fits in cache, into a local histogram.
    """
    cdef Py_ssize_t n = s.shape[0], m = a.shape[0], n_parts = 1 << PART_BITS, shift = 0
    first, a_lo, scale, nb = bucket_index(a)
    while (nb >> shift) > n_parts:
        shift += 1
    a_hi = float(a[m - 1])
    n_blocks, size = blocks(n, FLAT_ROWS, FLAT_BLOCKS)
    counts = np.zeros((n_blocks, n_parts), np.int64)
    edge = np.zeros((n_blocks, 6))
    map_tasks(lambda c: _part_count_block(
        s, y, w, wdiv, wmod, use_w, thr, a_lo, a_hi, scale, nb, shift, counts[c], edge[c],
        c * size, min(n, (c + 1) * size)), n_blocks)
    # scatter positions: partition-major, block-minor
    sizes = counts.T.reshape(-1)
    starts = np.cumsum(sizes) - sizes
    offsets = np.ascontiguousarray(starts.reshape(n_parts, n_blocks).T)
    total = int(sizes.sum())
    part_start = np.append(offsets[0], total).astype(np.int64)
    buf_v = np.empty(total, s.dtype)
    buf_w = np.empty(total if use_w else 1)
    map_tasks(lambda c: _part_scatter_block(
        s, y, w, wdiv, wmod, use_w, a_lo, a_hi, scale, nb, shift, offsets[c].copy(), buf_v,
        buf_w, c * size, min(n, (c + 1) * size)), n_blocks)
    # resolve each partition against its slice of the positives
    lo_k = first[np.minimum(np.arange(n_parts + 1) << shift, nb)].astype(np.int64)
    widths = lo_k[1:] - lo_k[:n_parts] + 1
    local_start = np.zeros(n_parts + 1, np.int64)
    np.cumsum(widths, out=local_start[1:])
    local_hist = np.zeros(int(local_start[n_parts]))
    local_tie = np.zeros(int(local_start[n_parts]))
    n_groups, group = blocks(n_parts, 8, 64)
    map_tasks(lambda g: _part_resolve_block(
        buf_v, buf_w, use_w, a, first, a_lo, scale, nb, lo_k, part_start, local_start,
        local_hist, local_tie, shift, g * group, min(n_parts, (g + 1) * group)), n_groups)
    part = np.zeros(2 * m + 4)
    _part_merge(part, m, lo_k, local_start, local_hist, local_tie, edge)
    return part


# --------------------------------------------------------------------------- one-shot calls
def flat_stats(s, y, w, Py_ssize_t wdiv, Py_ssize_t wmod, bint use_w, double thr,
               double max_fpr):
    """Statistics of large binary problems: ``s`` (B, N) scored against one ``y`` (N,).

    Each problem's negatives are histogrammed in row blocks fixed by N, the partials added in
    block order (radix-partitioned when there are many distinct positives). Used for 1-D
    binary input and for average="micro" (the flattened matrix), one problem per batch member.
    Returns float64 (B, N_STATS).
    """
    cdef Py_ssize_t n_batch = s.shape[0], n = s.shape[1]
    out = np.empty((n_batch, _N_STATS))
    n_blocks, size = blocks(n, FLAT_ROWS, FLAT_BLOCKS)
    for b in range(n_batch):
        sb = s[b]
        a, pw, n_pos = sorted_positives(sb, y, w, wdiv, wmod, use_w)
        if a.shape[0] >= PARTITIONED_MIN:
            part = _negatives_partitioned(sb, y, w, wdiv, wmod, use_w, thr, a)
        else:
            index = bucket_index(a)
            parts = map_tasks(lambda c: histogram_block(
                sb, y, w, wdiv, wmod, use_w, thr, a, c * size, min(n, (c + 1) * size), index),
                n_blocks)
            part = parts[0]
            for p in parts[1:]:
                part = combine(part, p)
        out[b] = finish_stats(a, pw, n_pos, part, thr, max_fpr)
    return out


ctypedef fused cell_t:
    uint8_t
    float
    double


def _transpose_block(const cell_t[:, :, ::1] src, cell_t[:, :, ::1] dst, Py_ssize_t t0,
                     Py_ssize_t t1):
    """Bands ``t0 <= t < t1`` (band t: TILE rows of one batch member) of ``dst[b] = src[b].T``,
    copied tile by tile."""
    cdef Py_ssize_t n = src.shape[1], L = src.shape[2], t, b, i0, i1, j0, j1, i, j
    cdef Py_ssize_t row_tiles = (n + TILE - 1) // TILE
    cdef const cell_t* sp
    cdef cell_t* dp
    with nogil:
        for t in range(t0, t1):
            b = t // row_tiles
            i0 = (t % row_tiles) * TILE
            i1 = min(n, i0 + TILE)
            sp = &src[b, 0, 0]
            dp = &dst[b, 0, 0]
            j0 = 0
            while j0 < L:
                j1 = min(L, j0 + TILE)
                for j in range(j0, j1):
                    for i in range(i0, i1):
                        dp[j * n + i] = sp[i * L + j]
                j0 = j1


def to_label_major(a):
    """(B, n, L) -> C-contiguous (B, L, n), copied in cache-sized tiles in parallel."""
    cdef Py_ssize_t n_batch = a.shape[0], n = a.shape[1], L = a.shape[2]
    out = np.empty((n_batch, L, n), a.dtype)
    total = n_batch * ((n + TILE - 1) // TILE)
    if total == 0 or L == 0:
        return out
    count, size = blocks(total, max(1, 4 * TASK_WORK // (TILE * L)), MAX_TASKS)
    map_tasks(lambda t: _transpose_block(a, out, t * size, min(total, (t + 1) * size)), count)
    return out


def label_stats_block(const score_t[:, :, ::1] s, const uint8_t[:, ::1] y, const double[::1] w,
                      bint use_w, double thr, double max_fpr, double[:, :, ::1] out,
                      Py_ssize_t lo, Py_ssize_t hi):
    """Label problems ``lo <= t < hi`` (t = b * L + j: label j of batch member b) of the
    label-major ``s`` (B, L, n) against ``y`` (L, n), into ``out[b, j, :]``."""
    cdef Py_ssize_t t, b, j, i, L = s.shape[1], n = s.shape[2], n_pos, most = 0
    cdef int err = 0
    cdef Work ws
    memset(&ws, 0, sizeof(Work))
    with nogil:
        # one workspace for the task, sized for its label with the most positives
        for t in range(lo, hi):
            j = t % L
            n_pos = 0
            for i in range(n):
                n_pos += y[j, i] != 0
            most = max(most, n_pos)
        err = _work_reserve(&ws, most + 1, use_w)
        for t in range(lo, hi):
            if err:
                break
            b = t // L
            j = t % L
            err = _problem(&s[b, j, 0], &y[j, 0], n, &w[0], 1, n, use_w, thr, max_fpr, &ws,
                           &out[b, j, 0])
        _work_free(&ws)
    if err:
        raise MemoryError()


def _split_count_block(const uint8_t[:, ::1] y, int64_t[::1] counts, Py_ssize_t lo,
                       Py_ssize_t hi):
    """Positives of rows [lo, hi) per label (``counts``, L entries)."""
    cdef Py_ssize_t i, j, L = y.shape[1]
    with nogil:
        for i in range(lo, hi):
            for j in range(L):
                counts[j] += y[i, j] != 0


def _split_block(const score_t[:, ::1] s, const uint8_t[:, ::1] y, score_t[:, ::1] out,
                 const int64_t[::1] pos_at, const int64_t[::1] neg_at, Py_ssize_t lo,
                 Py_ssize_t hi):
    """Rows [lo, hi) of the row-major ``s`` (n, L) into the label-major ``out`` (L, n), split
    by target: label j's positives from ``out[j, pos_at[j]]`` on, its negatives from
    ``out[j, neg_at[j]]`` on, each in row order."""
    cdef Py_ssize_t i, j, k, L = s.shape[1], n = out.shape[1]
    cdef Py_ssize_t* at = <Py_ssize_t*>malloc(2 * max(L, 1) * sizeof(Py_ssize_t))
    cdef score_t* o
    if at == NULL:
        raise MemoryError()
    with nogil:
        for j in range(L):
            at[2 * j] = j * n + neg_at[j]  # slot 2j + y: negatives, then positives
            at[2 * j + 1] = j * n + pos_at[j]
        o = &out[0, 0]
        for i in range(lo, hi):
            for j in range(L):
                k = 2 * j + (y[i, j] != 0)
                o[at[k]] = s[i, j]
                at[k] += 1
        free(at)


def _split_stats_block(const score_t[:, :, ::1] v, const int64_t[::1] n_pos, double thr,
                       double max_fpr, double[:, :, ::1] out, Py_ssize_t lo, Py_ssize_t hi):
    """Label problems ``lo <= t < hi`` (t = b * L + j) of the split label-major ``v``
    (B, L, n): label j's ``n_pos[j]`` positives first, ascending (sorted by the caller),
    then its negatives (unweighted)."""
    cdef Py_ssize_t t, b, j, L = v.shape[1], n = v.shape[2], most = 0
    cdef int err = 0
    cdef Work ws
    memset(&ws, 0, sizeof(Work))
    with nogil:
        for t in range(lo, hi):
            most = max(most, n_pos[t % L])
        err = _work_reserve(&ws, most + 1, False)
        for t in range(lo, hi):
            if err:
                break
            b = t // L
            j = t % L
            err = _split_problem(&v[b, j, 0], n_pos[j], n - n_pos[j], thr, max_fpr, &ws,
                                 &out[b, j, 0])
        _work_free(&ws)
    if err:
        raise MemoryError()


cdef int _split_problem(const score_t* v, Py_ssize_t n_pos, Py_ssize_t n_neg,
                        double thr, double max_fpr, Work* ws, double* out) noexcept nogil:
    """:func:`_problem` (unweighted) of a label whose positives ``v[0:n_pos]`` (ascending)
    and negatives ``v[n_pos:n_pos+n_neg]`` are already apart: the positives are only
    deduplicated, the negatives located with no target to read and no gathering."""
    cdef Py_ssize_t m, nb, i0, i1, t, cnt
    cdef double lo, scale, top, n_fp = 0.0
    cdef double res[3]
    cdef double vb[NEG_BLOCK]
    cdef int32_t sb[NEG_BLOCK]
    cdef const score_t* neg = v + n_pos
    cdef score_t* pv
    if _work_reserve(ws, n_pos + 1, False) < 0:
        return -1
    pv = <score_t*>ws.pv
    m = 0
    for t in range(n_pos):
        if m > 0 and v[t] == pv[m - 1]:
            ws.pw[m - 1] += 1.0
        else:
            pv[m] = v[t]
            ws.pw[m] = 1.0
            m += 1
    memset(ws.ht, 0, 2 * (m + 1) * sizeof(double))
    if m == 0:
        for t in range(n_neg):
            n_fp += neg[t] >= thr
        res[0] = <double>n_neg
        res[1] = n_fp
        res[2] = <double>n_neg
    else:
        nb = _tab_size(m)
        if _work_tab(ws, nb) < 0:
            return -1
        _build_tab(pv, m, ws.tab, nb, &lo, &scale)
        top = <double>(nb - 1)
        i0 = 0
        while i0 < n_neg:
            i1 = min(n_neg, i0 + NEG_BLOCK)
            cnt = i1 - i0
            for t in range(cnt):
                vb[t] = <double>neg[i0 + t]
                sb[t] = _slot(vb[t], lo, scale, top)
            n_fp += <double>_count_block(vb, sb, cnt, ws.tab, pv, <uint64_t*>ws.ht, thr)
            i0 = i1
        _counts_to_weights(ws.ht, m + 1)
        res[0] = <double>n_neg
        res[1] = n_fp
        res[2] = <double>n_neg
    _finish(pv, ws.pw, m, ws.ht, ws.ht + 3, 2, res[0], res[1], n_pos, res[2], thr, max_fpr,
            out)
    return 0


def _split_stats(s, y, thr, max_fpr):
    """:func:`column_stats` of row-major, unweighted input: every label's scores are copied
    to a label-major buffer already split into positives and negatives (one pass over the
    rows, in row blocks), so that no target is transposed or read again."""
    n_batch, n, n_labels = s.shape
    out = np.empty((n_batch, n_labels, _N_STATS))
    total = n_batch * n_labels
    if total == 0:
        return out
    n_blocks, size = blocks(n, max(1, TASK_WORK // max(n_labels, 1)), MAX_TASKS)
    counts = np.zeros((n_blocks, n_labels), np.int64)
    map_tasks(lambda c: _split_count_block(y, counts[c], c * size, min(n, (c + 1) * size)),
              n_blocks)
    n_pos = counts.sum(axis=0)
    pos_at = np.cumsum(counts, axis=0) - counts  # positives before each block, per label
    rows_before = np.minimum(np.arange(n_blocks) * size, n)[:, np.newaxis]
    neg_at = n_pos + (rows_before - pos_at)
    v = np.empty((n_batch, n_labels, n), s.dtype)
    map_tasks(lambda t: _split_block(
        s[t // n_blocks], y, v[t // n_blocks], pos_at[t % n_blocks], neg_at[t % n_blocks],
        (t % n_blocks) * size, min(n, (t % n_blocks + 1) * size)), n_batch * n_blocks)
    count, size = blocks(total, max(1, TASK_WORK // max(n, 1)), MAX_TASKS)

    def task(t):
        lo, hi = t * size, min(total, (t + 1) * size)
        for u in range(lo, hi):
            b, j = divmod(u, n_labels)
            if n_pos[j] > 1:
                v[b, j, :n_pos[j]].sort()  # NumPy's sort (vectorised; releases the GIL)
        _split_stats_block(v, n_pos, thr, max_fpr, out, lo, hi)

    map_tasks(task, count)
    return out


def column_stats(s, y, label_major, w, use_w, thr, max_fpr):
    """Statistics of every label of every batch member: ``out[b, j, :]``.

    ``s`` is (B, n, L) when not ``label_major``, else (B, L, n) (each C-contiguous); ``y`` is
    (n, L) or (L, n) accordingly. Row-major input is first transposed in tiles (one copy of
    the scores), so that every label's column is read contiguously. Returns float64
    (B, L, N_STATS).
    """
    if not label_major and not use_w and s.shape[1] < PACKED_MAX:
        return _split_stats(s, y, thr, max_fpr)
    if not label_major:
        s = to_label_major(s)
        y = to_label_major(y[np.newaxis])[0]
    n_batch, n_labels, n = s.shape
    out = np.empty((n_batch, n_labels, _N_STATS))
    total = n_batch * n_labels
    if total == 0:
        return out
    count, size = blocks(total, max(1, TASK_WORK // max(n, 1)), MAX_TASKS)
    map_tasks(lambda t: label_stats_block(
        s, y, w, use_w, thr, max_fpr, out, t * size, min(total, (t + 1) * size)), count)
    return out


def row_stats_block(const score_t[:, :, ::1] s, const uint8_t[:, ::1] y, double thr,
                    double max_fpr, double[:, :, ::1] out, Py_ssize_t lo, Py_ssize_t hi):
    """Row problems ``lo <= t < hi`` (t = b * n + i: row i of batch member b) of ``s``
    (B, n, L) against ``y`` (n, L), unweighted, into ``out[b, i, :]``."""
    cdef Py_ssize_t t, b, i, n = s.shape[1], L = s.shape[2]
    cdef int err = 0
    cdef double no_w = 1.0
    cdef Work ws
    memset(&ws, 0, sizeof(Work))
    with nogil:
        err = _work_reserve(&ws, L + 1, False)
        for t in range(lo, hi):
            if err:
                break
            b = t // n
            i = t % n
            err = _problem(&s[b, i, 0], &y[i, 0], L, &no_w, 1, 1, False, thr, max_fpr, &ws,
                           &out[b, i, 0])
        _work_free(&ws)
    if err:
        raise MemoryError()


def row_stats(s, y, thr, max_fpr):
    """Statistics of every row of every batch member (average="samples"): ``out[b, i, :]``.

    ``s`` is (B, n, L) C-contiguous, ``y`` (n, L); rows are unweighted problems of L values.
    Returns float64 (B, n, N_STATS).
    """
    n_batch, n, n_labels = s.shape
    out = np.empty((n_batch, n, _N_STATS))
    total = n_batch * n
    if total == 0:
        return out
    count, size = blocks(total, max(1, TASK_WORK // max(n_labels, 1)), MAX_TASKS)
    map_tasks(lambda t: row_stats_block(
        s, y, thr, max_fpr, out, t * size, min(total, (t + 1) * size)), count)
    return out

