"""Numba CPU kernels for the per-row label-ranking metrics: LRAP, coverage error, ranking loss.

Why Numba: each metric is a short typed loop over one row's labels (a scan, or a sort of the
row's relevant scores followed by a counting pass), rows are independent, and Numba compiles
these loops to machine code and spreads chunks of rows over threads with ``prange``, with no
build step. The thread count follows ``NUMBA_NUM_THREADS`` / ``numba.set_num_threads``.

Inputs are trusted (the API layer validated them): ``y`` is a C-contiguous uint8 0/1 array of
shape (n, L) with n >= 1 and L >= 2, ``s`` a C-contiguous float32 or float64 array of the same
shape with finite values, ``w`` a float64 array of n non-negative weights with a positive sum,
or an empty array for "no weights". Every kernel returns the (weighted) mean of its per-row
values, accumulated in float64 per chunk of rows and then over chunks.

Tie rules follow scikit-learn: ranks are pessimistic (a label ties with every label of equal
score and is ranked after all of them), and a tied (relevant, irrelevant) pair counts as
misordered in the ranking loss.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# Rows whose number of relevant (or, for the ranking loss, of the rarer kind of) labels is at
# most this use a direct O(L * k) counting scan, which vectorises; rows with more use a sort
# of the relevant scores and a binary search per other label, O(L log k).
_DIRECT_MAX = 8

# Rows per chunk: each chunk allocates its scratch buffers once and writes one partial sum.
_MAX_CHUNK_ROWS = 4096
_MIN_CHUNKS = 64


@njit(cache=True)
def _chunk_rows(n):
    rows = (n + _MIN_CHUNKS - 1) // _MIN_CHUNKS
    if rows > _MAX_CHUNK_ROWS:
        rows = _MAX_CHUNK_ROWS
    if rows < 1:
        rows = 1
    return rows


@njit(cache=True)
def _count_le(a, k, v):
    """Number of values <= v among the sorted a[0:k] (k >= 1); branch-free binary search."""
    base = 0
    m = k
    while m > 1:
        half = m >> 1
        if a[base + half] <= v:
            base += half
        m -= half
    if a[base] <= v:
        base += 1
    return base


@njit(cache=True)
def _count_lt(a, k, v):
    """Number of values < v among the sorted a[0:k] (k >= 1); branch-free binary search."""
    base = 0
    m = k
    while m > 1:
        half = m >> 1
        if a[base + half] < v:
            base += half
        m -= half
    if a[base] < v:
        base += 1
    return base


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


# ----------------------------------------------------------------------------------- LRAP


@njit(cache=True)
def _lrap_row(yi, si, r, buf, hist):
    """Mean over relevant labels j of (#relevant scoring >= s_j) / (#labels scoring >= s_j)."""
    L = yi.shape[0]
    if r == 0 or r == L:
        return 1.0
    tot = 0.0
    if r <= _DIRECT_MAX:
        for j in range(L):
            if yi[j]:
                v = si[j]
                n_all = 0
                n_rel = 0
                for k in range(L):
                    ge = si[k] >= v
                    n_all += ge
                    n_rel += ge & (yi[k] != 0)
                tot += n_rel / n_all
        return tot / r
    # Sort the relevant scores ascending; hist[p] counts the irrelevant labels with exactly p
    # relevant scores <= theirs, so #irrelevant >= a[j] is the sum of hist[p] over p > j.
    m = 0
    for j in range(L):
        if yi[j]:
            buf[m] = si[j]
            m += 1
    a = buf[:r]
    a.sort()
    for p in range(r + 1):
        hist[p] = 0
    for k in range(L):
        if not yi[k]:
            hist[_count_le(a, r, si[k])] += 1
    n_irr_ge = hist[r]
    j = r - 1
    while j >= 0:
        p = j
        v = a[j]
        while p > 0 and a[p - 1] == v:
            p -= 1
        n_rel_ge = r - p
        tot += (j - p + 1) * (n_rel_ge / (n_rel_ge + n_irr_ge))
        n_irr_ge += hist[p]
        j = p - 1
    return tot / r


@njit(cache=True, parallel=True)
def lrap(y, s, w):
    """Label ranking average precision of 0/1 ``y`` (n, L) ranked by ``s`` (n, L)."""
    n, L = y.shape
    weighted = w.shape[0] > 0
    rows = _chunk_rows(n)
    n_chunks = (n + rows - 1) // rows
    part = np.zeros(n_chunks)
    wpart = np.zeros(n_chunks)
    for c in prange(n_chunks):
        buf = np.empty(L, dtype=s.dtype)
        hist = np.empty(L + 1, dtype=np.int64)
        acc = 0.0
        wacc = 0.0
        for i in range(c * rows, min(n, (c + 1) * rows)):
            yi = y[i]
            val = _lrap_row(yi, s[i], _n_relevant(yi), buf, hist)
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
    lowest = np.inf
    for j in range(L):
        v = si[j] if yi[j] else np.inf
        lowest = min(lowest, v)
    if lowest == np.inf:  # scores are finite, so no label is relevant
        return 0
    cnt = 0
    for j in range(L):
        cnt += si[j] >= lowest
    return cnt


@njit(cache=True, parallel=True)
def coverage(y, s, w):
    """Coverage error of 0/1 ``y`` (n, L) ranked by ``s`` (n, L)."""
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
def _misordered_pairs(yi, si, r, buf):
    """Number of (relevant j, irrelevant k) pairs with s_k >= s_j (0 < r < L)."""
    L = yi.shape[0]
    q = L - r
    cnt = 0
    if r <= _DIRECT_MAX:
        for j in range(L):
            if yi[j]:
                v = si[j]
                for k in range(L):
                    cnt += (si[k] >= v) & (yi[k] == 0)
    elif q <= _DIRECT_MAX:
        for k in range(L):
            if not yi[k]:
                v = si[k]
                for j in range(L):
                    cnt += (si[j] <= v) & (yi[j] != 0)
    elif r <= q:
        # sort the relevant scores; each irrelevant label pairs with those <= its score
        m = 0
        for j in range(L):
            if yi[j]:
                buf[m] = si[j]
                m += 1
        a = buf[:r]
        a.sort()
        for k in range(L):
            if not yi[k]:
                cnt += _count_le(a, r, si[k])
    else:
        # sort the irrelevant scores; each relevant label pairs with those >= its score
        m = 0
        for k in range(L):
            if not yi[k]:
                buf[m] = si[k]
                m += 1
        b = buf[:q]
        b.sort()
        for j in range(L):
            if yi[j]:
                cnt += q - _count_lt(b, q, si[j])
    return cnt


@njit(cache=True, parallel=True)
def ranking_loss(y, s, w):
    """Label ranking loss of 0/1 ``y`` (n, L) ranked by ``s`` (n, L)."""
    n, L = y.shape
    weighted = w.shape[0] > 0
    rows = _chunk_rows(n)
    n_chunks = (n + rows - 1) // rows
    part = np.zeros(n_chunks)
    wpart = np.zeros(n_chunks)
    for c in prange(n_chunks):
        buf = np.empty(L, dtype=s.dtype)
        acc = 0.0
        wacc = 0.0
        for i in range(c * rows, min(n, (c + 1) * rows)):
            yi = y[i]
            r = _n_relevant(yi)
            val = 0.0
            if r != 0 and r != L:
                pairs = _misordered_pairs(yi, s[i], r, buf)
                val = pairs / float(r * (L - r))
            if weighted:
                acc += val * w[i]
                wacc += w[i]
            else:
                acc += val
        part[c] = acc
        wpart[c] = wacc
    return _finish(part, wpart, n, weighted)
