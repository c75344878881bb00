"""Numba CPU kernels for the per-row label-ranking metrics: LRAP, coverage error, ranking loss.

Why Numba: each metric is a short typed loop over one row's labels (a scan, or a bucket sort of
the row's relevant scores followed by a counting pass), rows are independent, and Numba
compiles these loops to vectorised machine code and spreads chunks of rows over threads with
``prange``, with no build step. Threads follow ``NUMBA_NUM_THREADS`` / ``numba.set_num_threads``.

Inputs are trusted (the API layer validated them): ``y`` is a C-contiguous uint8 0/1 array of
shape (n, L) with n >= 1 and L >= 2, ``s`` a C-contiguous float32 or float64 array of the same
shape with finite values, ``w`` a float64 array of n non-negative weights with a positive sum,
or an empty array for "no weights". Every kernel returns the (weighted) mean of its per-row
values, accumulated in float64 per chunk of rows and then over chunks.

Tie rules follow scikit-learn: ranks are pessimistic (a label is ranked after every label of
equal score), and a tied (relevant, irrelevant) pair counts as misordered in the ranking loss.

Per row, small cases count directly (O(L * r), vectorised). Otherwise the scores of one side
(LRAP: the relevant labels; ranking loss: the smaller side) are bucket-sorted into about 16
buckets per value, evenly spaced in value (or in order key, when values cluster), and each
score of the other side is located with one bucket lookup: O(L) expected per row instead of
a comparison sort and binary searches. Any non-decreasing bucket function gives exact counts;
crowded buckets fall back to sorted binary search.

Order keys: a float maps to a uint64 whose unsigned order is the float order (with -0.0
folded onto +0.0, so equal floats give equal keys). Integer keys also let the coverage scan
(min over relevant scores, then a count) vectorise.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

# Rows with at most this many relevant labels (for the ranking loss: relevant or irrelevant
# ones), or with at most _DIRECT_LABELS labels, use a direct O(L * r) count, which vectorises.
_DIRECT_MAX = 16
_DIRECT_LABELS = 32

# Bucket sort: buckets up to this size are insertion-sorted; larger ones (ties, clustered
# values) are checked for order and heap-sorted if need be. Lookups into buckets holding more
# than one value binary-search them.
_SMALL_BUCKET = 16

# Inputs up to this many elements run on the calling thread alone: waking the other threads
# costs more than they save there (tens of microseconds on an idle machine, up to a scheduler
# time slice on a busy one).
_SERIAL_MAX = 1 << 20

# Rows per chunk: each chunk allocates its scratch buffers once and writes one partial sum.
_MAX_CHUNK_ROWS = 4096
_MIN_CHUNKS = 64

_MIN_INT64 = np.int64(-(1 << 63))
_UINT64_MAX = np.uint64(0xFFFFFFFFFFFFFFFF)


@njit(cache=True)
def _chunk_rows(n):
    rows = (n + _MIN_CHUNKS - 1) // _MIN_CHUNKS
    return max(1, min(rows, _MAX_CHUNK_ROWS))


@njit(cache=True)
def _key(x):
    """uint64 whose unsigned order is the order of the finite float ``x``."""
    bits = np.float64(x + 0.0).view(np.int64)  # + 0.0 turns -0.0 into +0.0
    # negative: flip every bit; positive: set the sign bit (branch-free, so loops vectorise)
    return np.uint64(bits ^ ((bits >> 63) | _MIN_INT64))


@njit(cache=True)
def _n_relevant(yi):
    r = 0
    for j in range(yi.shape[0]):
        r += yi[j]
    return r


@njit(cache=True)
def _finish(part, wpart, n, weighted):
    total = 0.0
    for c in range(part.shape[0]):
        total += part[c]
    if weighted:
        wsum = 0.0
        for c in range(wpart.shape[0]):
            wsum += wpart[c]
        return total / wsum
    return total / n


# ------------------------------------------------------------------- bucket-sorted values


@njit(cache=True)
def _insertion_sort(a, lo, hi):
    for i in range(lo + 1, hi):
        x = a[i]
        j = i - 1
        while j >= lo and a[j] > x:
            a[j + 1] = a[j]
            j -= 1
        a[j + 1] = x


@njit(cache=True)
def _sift_down(a, lo, root, end):
    x = a[lo + root]
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


@njit(cache=True)
def _heap_sort(a, lo, hi):
    """Sort a[lo:hi] in place, O(k log k) always (for the rare large unsorted bucket).

    Small and quick to compile, unlike ``ndarray.sort``.
    """
    k = hi - lo
    for root in range(k // 2 - 1, -1, -1):
        _sift_down(a, lo, root, k)
    for end in range(k - 1, 0, -1):
        x = a[lo]
        a[lo] = a[lo + end]
        a[lo + end] = x
        _sift_down(a, lo, 0, end)


@njit(cache=True)
def _split(src, yi, si, want):
    """Copy the scores of the labels with ``yi == want`` to the front of src; return how many.

    Branch-free: every score is written, and the write position advances only for selected
    labels (src needs room for all L scores).
    """
    k = 0
    for j in range(yi.shape[0]):
        src[k] = si[j]
        k += yi[j] == want
    return k


@njit(cache=True)
def _min_max(src, m):
    """(min, max) of src[0:m] as float64; four independent chains to hide min/max latency."""
    lo0 = lo1 = lo2 = lo3 = np.float64(src[0])
    hi0 = hi1 = hi2 = hi3 = lo0
    i = 0
    while i + 4 <= m:
        x0 = np.float64(src[i])
        x1 = np.float64(src[i + 1])
        x2 = np.float64(src[i + 2])
        x3 = np.float64(src[i + 3])
        lo0 = min(lo0, x0)
        lo1 = min(lo1, x1)
        lo2 = min(lo2, x2)
        lo3 = min(lo3, x3)
        hi0 = max(hi0, x0)
        hi1 = max(hi1, x1)
        hi2 = max(hi2, x2)
        hi3 = max(hi3, x3)
        i += 4
    while i < m:
        x0 = np.float64(src[i])
        lo0 = min(lo0, x0)
        hi0 = max(hi0, x0)
        i += 1
    return min(min(lo0, lo1), min(lo2, lo3)), max(max(hi0, hi1), max(hi2, hi3))


@njit(cache=True)
def _key_min_max(src, m):
    """(min, max) of the order keys of src[0:m], as float64 (integer min/max vectorise)."""
    lo = _UINT64_MAX
    hi = np.uint64(0)
    for i in range(m):
        k = _key(src[i])
        lo = min(lo, k)
        hi = max(hi, k)
    return np.float64(lo), np.float64(hi)


@njit(cache=True)
def _position(x, keyed):
    """Non-decreasing float64 image of a score: the score, or its order key (log-like)."""
    return np.float64(_key(x)) if keyed else np.float64(x)


@njit(cache=True)
def _scale(lo, hi, nb):
    """Buckets per unit of position, or 0 when float64 cannot spread [lo, hi] safely."""
    scale = nb / (hi - lo) if hi > lo else 0.0
    return scale if 0.0 < scale < 1e300 else 0.0


@njit(cache=True)
def _histogram(src, m, lo, scale, nb, keyed, bucket, bounds, crowded):
    """Bucket of every value (into ``bucket``) and counts per bucket (into bounds[t + 2]).

    Lists each bucket that receives a second value in ``crowded``; returns (number of such
    buckets, largest count, a bucket with that count).
    """
    top = nb - 1.0
    for t in range(nb + 2):
        bounds[t] = 0
    n_crowded = 0
    largest = 0
    fullest = 0
    for i in range(m):
        t = np.int64(min((_position(src[i], keyed) - lo) * scale, top))
        bucket[i] = t
        c = bounds[t + 2] + 1
        bounds[t + 2] = c
        crowded[n_crowded] = t
        n_crowded += c == 2
        fullest = t if c > largest else fullest
        largest = max(largest, c)
    return n_crowded, largest, fullest


@njit(cache=True)
def _tied_bucket(src, m, bucket, t):
    """Whether every value of src[0:m] in bucket t (one at least) is the same."""
    first = -1
    for i in range(m):
        if bucket[i] == t:
            first = i
            break
    v = src[first]
    differ = 0
    for i in range(first + 1, m):
        differ += (bucket[i] == t) & (src[i] != v)
    return differ == 0


@njit(cache=True)
def _bucket_sort(src, m, n_buckets, dst, bucket, bounds, crowded):
    """Sort src[0:m] (m >= 1) into dst[0:m] and index it; return (lo, scale, nb, keyed).

    Values are spread over nb equal-width buckets of positions (the values themselves, or,
    when that crowds them, their order keys: see _position): bucket(x) = min(nb - 1,
    floor((position(x) - lo) * scale)), which never decreases as x grows; bucket t spans
    dst[bounds[t]:bounds[t + 1]]. When float64 cannot spread the range, nb is 1 and lo and
    scale are 0: one sorted bucket. ``bucket`` and ``crowded`` (int64, m entries) and
    ``bounds`` (int64, n_buckets + 2 entries) are scratch.
    """
    lo, hi = _min_max(src, m)
    scale = _scale(lo, hi, n_buckets)
    nb = n_buckets
    if scale == 0.0:
        nb = 1
        lo = 0.0  # (x - 0.0) * 0.0 is 0 for every finite x, never inf * 0
    keyed = False
    n_crowded, largest, fullest = _histogram(src, m, lo, scale, nb, False, bucket, bounds, crowded)
    if largest > _SMALL_BUCKET and nb > 1 and not _tied_bucket(src, m, bucket, fullest):
        # clustered values: try buckets evenly spaced in order keys instead
        klo, khi = _key_min_max(src, m)
        kscale = _scale(klo, khi, nb)
        if kscale > 0.0:
            kn, klargest, _ = _histogram(src, m, klo, kscale, nb, True, bucket, bounds, crowded)
            if klargest < largest:
                keyed = True
                lo = klo
                scale = kscale
                n_crowded = kn
            else:
                n_crowded, _, _ = _histogram(src, m, lo, scale, nb, False, bucket, bounds, crowded)
    for t in range(2, nb + 2):
        bounds[t] += bounds[t - 1]
    for i in range(m):
        t = bucket[i] + 1
        dst[bounds[t]] = src[i]
        bounds[t] += 1
    for c in range(n_crowded):
        t = crowded[c]
        b0 = bounds[t]
        b1 = bounds[t + 1]
        if b1 - b0 <= _SMALL_BUCKET:
            _insertion_sort(dst, b0, b1)
        else:
            ordered = True
            for i in range(b0 + 1, b1):
                if dst[i] < dst[i - 1]:
                    ordered = False
                    break
            if not ordered:
                _heap_sort(dst, b0, b1)
    return lo, scale, nb, keyed


@njit(cache=True)
def _search_le(a, b0, b1, v):
    """Number of values <= v in the sorted a[0:b1], given those in a[0:b0] are (b1 > b0)."""
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


@njit(cache=True)
def _search_lt(a, b0, b1, v):
    """Number of values < v in the sorted a[0:b1], given those in a[0:b0] are (b1 > b0)."""
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


@njit(cache=True)
def _count_le(a, bounds, lo, scale, top, keyed, v):
    """Number of values <= v in the bucket-sorted a (see _bucket_sort; top = nb - 1)."""
    t = np.int64(min(max((_position(v, keyed) - lo) * scale, 0.0), top))
    b0 = bounds[t]
    b1 = bounds[t + 1]
    if b1 - b0 > 1:
        return _search_le(a, b0, b1, v)
    return b0 + ((b1 > b0) & (a[b0] <= v))


@njit(cache=True)
def _count_lt(a, bounds, lo, scale, top, keyed, v):
    """Number of values < v in the bucket-sorted a (see _bucket_sort; top = nb - 1)."""
    t = np.int64(min(max((_position(v, keyed) - lo) * scale, 0.0), top))
    b0 = bounds[t]
    b1 = bounds[t + 1]
    if b1 - b0 > 1:
        return _search_lt(a, b0, b1, v)
    return b0 + ((b1 > b0) & (a[b0] < v))


@njit(cache=True)
def _n_buckets(m, L):
    """Buckets for m sorted values looked up by about L - m others: sparse, at most 2 L."""
    return max(1, min(16 * m, 2 * L))


# ----------------------------------------------------------------------------------- LRAP


@njit(cache=True)
def _lrap_direct(yi, si, r, rel):
    """LRAP of one row by direct counting, O(L * r); rel is scratch for the relevant scores."""
    L = yi.shape[0]
    _split(rel, yi, si, 1)
    tot = 0.0
    for a in range(r):
        v = rel[a]
        n_all = 0
        for k in range(L):
            n_all += si[k] >= v
        n_rel = 0
        for b in range(r):
            n_rel += rel[b] >= v
        tot += n_rel / n_all
    return tot / r


@njit(cache=True)
def _lrap_row(yi, si, r, vals, sa, bucket, bounds, crowded, hist):
    """Mean over relevant labels j of (#relevant scoring >= s_j) / (#labels scoring >= s_j)."""
    L = yi.shape[0]
    if r == 0 or r == L:
        return 1.0
    if r <= _DIRECT_MAX or L <= _DIRECT_LABELS:
        return _lrap_direct(yi, si, r, vals)
    _split(vals, yi, si, 1)
    lo, scale, nb, keyed = _bucket_sort(vals, r, _n_buckets(r, L), sa, bucket, bounds, crowded)
    top = nb - 1.0
    # hist[p]: irrelevant labels with exactly p relevant scores <= theirs; such a label
    # scores >= sa[j] exactly when p > j.
    for p in range(r + 1):
        hist[p] = 0
    q = _split(vals, yi, si, 0)
    for k in range(q):
        hist[_count_le(sa, bounds, lo, scale, top, keyed, vals[k])] += 1
    n_irr_ge = hist[r]
    tot = 0.0
    j = r - 1
    while j >= 0:  # tie groups of relevant scores, highest first
        p = j
        v = sa[j]
        while p > 0 and sa[p - 1] == v:
            p -= 1
        n_rel_ge = r - p
        tot += (j - p + 1) * (n_rel_ge / (n_rel_ge + n_irr_ge))
        n_irr_ge += hist[p]
        j = p - 1
    return tot / r


@njit(cache=True, parallel=True)
def _lrap(y, s, w):
    n, L = y.shape
    weighted = w.shape[0] > 0
    rows = _chunk_rows(n)
    n_chunks = (n + rows - 1) // rows
    part = np.zeros(n_chunks)
    wpart = np.zeros(n_chunks)
    for c in prange(n_chunks):
        vals = np.empty(L, dtype=s.dtype)
        sa = np.empty(L, dtype=s.dtype)
        bucket = np.empty(L, dtype=np.int32)
        crowded = np.empty(L, dtype=np.int32)
        bounds = np.empty(2 * L + 2, dtype=np.int32)
        hist = np.empty(L + 1, dtype=np.int64)
        acc = 0.0
        wacc = 0.0
        for i in range(c * rows, min(n, (c + 1) * rows)):
            yi = y[i]
            val = _lrap_row(yi, s[i], _n_relevant(yi), vals, sa, bucket, bounds, crowded, hist)
            if weighted:
                acc += val * w[i]
                wacc += w[i]
            else:
                acc += val
        part[c] = acc
        wpart[c] = wacc
    return _finish(part, wpart, n, weighted)


# ------------------------------------------------------------------------------- coverage


@njit(cache=True)
def _coverage_row(yi, si):
    """Number of labels scoring >= the lowest relevant score (0 without relevant labels)."""
    L = yi.shape[0]
    lowest = _UINT64_MAX  # no key reaches it: keys of finite floats stay below 0xFFF0...
    for j in range(L):
        k = _key(si[j]) if yi[j] != 0 else _UINT64_MAX
        lowest = min(lowest, k)
    if lowest == _UINT64_MAX:
        return 0
    cnt = 0
    for j in range(L):
        cnt += _key(si[j]) >= lowest
    return cnt


@njit(cache=True, parallel=True)
def _coverage(y, s, w):
    n, L = y.shape
    weighted = w.shape[0] > 0
    rows = _chunk_rows(n)
    n_chunks = (n + rows - 1) // rows
    part = np.zeros(n_chunks)
    wpart = np.zeros(n_chunks)
    for c in prange(n_chunks):
        acc = 0.0
        wacc = 0.0
        for i in range(c * rows, min(n, (c + 1) * rows)):
            val = _coverage_row(y[i], s[i])
            if weighted:
                acc += val * w[i]
                wacc += w[i]
            else:
                acc += val
        part[c] = acc
        wpart[c] = wacc
    return _finish(part, wpart, n, weighted)


# --------------------------------------------------------------------------- ranking loss


@njit(cache=True)
def _misordered_pairs(yi, si, r, vals, sa, bucket, bounds, crowded):
    """Number of (relevant j, irrelevant k) pairs with s_k >= s_j (0 < r < L)."""
    L = yi.shape[0]
    q = L - r
    cnt = 0
    if min(r, q) <= _DIRECT_MAX or L <= _DIRECT_LABELS:
        # direct counting, O(L * min(r, q)): the smaller side's scores against the other's
        m = _split(vals, yi, si, 1)
        _split(sa, yi, si, 0)
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
    m = _split(vals, yi, si, small)
    lo, scale, nb, keyed = _bucket_sort(vals, m, _n_buckets(m, L), sa, bucket, bounds, crowded)
    top = nb - 1.0
    other = _split(vals, yi, si, 1 - small)
    if small == 1:
        for k in range(other):  # each irrelevant score pairs with the relevant ones <= it
            cnt += _count_le(sa, bounds, lo, scale, top, keyed, vals[k])
    else:
        for k in range(other):  # each relevant score pairs with the irrelevant ones >= it
            cnt += m - _count_lt(sa, bounds, lo, scale, top, keyed, vals[k])
    return cnt


@njit(cache=True, parallel=True)
def _ranking_loss(y, s, w):
    n, L = y.shape
    weighted = w.shape[0] > 0
    rows = _chunk_rows(n)
    n_chunks = (n + rows - 1) // rows
    part = np.zeros(n_chunks)
    wpart = np.zeros(n_chunks)
    for c in prange(n_chunks):
        vals = np.empty(L, dtype=s.dtype)
        sa = np.empty(L, dtype=s.dtype)
        bucket = np.empty(L, dtype=np.int32)
        crowded = np.empty(L, dtype=np.int32)
        bounds = np.empty(2 * L + 2, dtype=np.int32)
        acc = 0.0
        wacc = 0.0
        for i in range(c * rows, min(n, (c + 1) * rows)):
            yi = y[i]
            r = _n_relevant(yi)
            val = 0.0
            if r != 0 and r != L:
                pairs = _misordered_pairs(yi, s[i], r, vals, sa, bucket, bounds, crowded)
                val = pairs / float(r * (L - r))
            if weighted:
                acc += val * w[i]
                wacc += w[i]
            else:
                acc += val
        part[c] = acc
        wpart[c] = wacc
    return _finish(part, wpart, n, weighted)


# ------------------------------------------------------------------------ entry points


def _run(kernel, y, s, w):
    if y.size > _SERIAL_MAX or numba.get_num_threads() == 1:
        return kernel(y, s, w)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        return kernel(y, s, w)
    finally:
        numba.set_num_threads(threads)


def lrap(y: np.ndarray, s: np.ndarray, w: np.ndarray) -> float:
    """Label ranking average precision of 0/1 ``y`` (n, L) ranked by ``s`` (n, L)."""
    return _run(_lrap, y, s, w)


def coverage(y: np.ndarray, s: np.ndarray, w: np.ndarray) -> float:
    """Coverage error of 0/1 ``y`` (n, L) ranked by ``s`` (n, L)."""
    return _run(_coverage, y, s, w)


def ranking_loss(y: np.ndarray, s: np.ndarray, w: np.ndarray) -> float:
    """Label ranking loss of 0/1 ``y`` (n, L) ranked by ``s`` (n, L)."""
    return _run(_ranking_loss, y, s, w)
