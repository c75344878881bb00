"""Label-ranking metrics on the GPU: LRAP, coverage error, label ranking loss, with the
names, signatures and results of ``fastml.kernels.cpu.metrics_ranking`` (``lrap``,
``coverage``, ``ranking_loss``: a Python float).

Contract (the API layer in ``fastml.metrics._gpu_ranking`` guarantees it): ``y`` is a
C-contiguous uint8 0/1 device array (n, L), n >= 1, L >= 2; ``s`` a C-contiguous float32 or
float64 device array of the same shape, every value finite; ``w`` float64 row weights with
a positive sum (host or device), or an empty array for "no weights".

One launch per metric covers every row (one thread per row, grid-stride), each row worked
as the CPU kernel's direct count does it, with scikit-learn's tie rules: a relevant label
``j`` of row ``i`` needs ``#{k : s_k >= s_j}`` and ``#{relevant k : s_k >= s_j}``
(pessimistic ranks, tied labels counted as ranked above); LRAP sums their ratio over the
row's relevant labels in label order, the ranking loss counts ``#{irrelevant k : s_k >=
s_j}`` (a tied pair is misordered), the coverage counts the labels scoring at least the
lowest relevant score. Rows with no or every label relevant give LRAP 1 and ranking loss 0;
coverage of a row without relevant labels is 0. Counts are int64 and every ratio float64.

Why this way: rows are independent and a row is short, so a thread per row needs no
communication. Up to ``SORT_LABELS`` labels a thread counts by scanning its row (O(L) per
relevant label, registers and L1 only). Wider rows are first sorted by CuPy's segmented sort
(two sorts of the block of rows: all scores, and the relevant scores with the others set to
-inf), after which each count is one binary search: O(L log L) per row instead of
O(L * relevant). Both ways give the same integer counts, so the same bits. The per-row
values stay on the device; the (weighted) mean is a float64 CuPy reduction, which may round
differently from the CPU's blockwise sum (far below 1e-12 relative).
"""

from __future__ import annotations

import numpy as np
from numba import cuda, types

from ._launch import launch, xp_of

#: Rows with more labels than this are sorted first (binary searches instead of scans).
SORT_LABELS = 64
#: Matrix entries per block of rows sorted at once (bounds the sorted copies' memory).
SORT_ENTRIES = 1 << 25


@cuda.jit(device=True, inline=True)
def _n_ge_sorted(a, i, n_labels, v):
    """#{k : a[i, k] >= v} in the ascending row a[i]."""
    lo = 0
    hi = n_labels
    while lo < hi:
        mid = (lo + hi) // 2
        if a[i, mid] < v:
            lo = mid + 1
        else:
            hi = mid
    return n_labels - lo


@cuda.jit
def lrap_rows(y, s, srt, rel, use_sorted, out):
    """out[i] = LRAP of row i: the mean over its relevant labels j, in label order, of
    #{relevant k : s_k >= s_j} / #{k : s_k >= s_j} (1.0 for no or all labels relevant)."""
    n_labels = y.shape[1]
    for i in range(cuda.grid(1), y.shape[0], cuda.gridsize(1)):
        r = 0
        for j in range(n_labels):
            if y[i, j] != 0:
                r += 1
        if r == 0 or r == n_labels:
            out[i] = 1.0
            continue
        tot = 0.0
        for j in range(n_labels):
            if y[i, j] == 0:
                continue
            v = s[i, j]
            if use_sorted:
                n_all = _n_ge_sorted(srt, i, n_labels, v)
                n_rel = _n_ge_sorted(rel, i, n_labels, v)
            else:
                n_all = 0
                n_rel = 0
                for k in range(n_labels):
                    if s[i, k] >= v:
                        n_all += 1
                        if y[i, k] != 0:
                            n_rel += 1
            tot += np.float64(n_rel) / np.float64(n_all)
        out[i] = tot / np.float64(r)


@cuda.jit
def ranking_loss_rows(y, s, srt, rel, use_sorted, out):
    """out[i] = #{(relevant j, irrelevant k) : s_k >= s_j} / (r * (L - r)) of row i (0.0 for
    no or all labels relevant)."""
    n_labels = y.shape[1]
    for i in range(cuda.grid(1), y.shape[0], cuda.gridsize(1)):
        r = 0
        for j in range(n_labels):
            if y[i, j] != 0:
                r += 1
        q = n_labels - r
        if r == 0 or q == 0:
            out[i] = 0.0
            continue
        pairs = 0
        if use_sorted:
            for j in range(n_labels):
                if y[i, j] != 0:
                    v = s[i, j]
                    pairs += _n_ge_sorted(srt, i, n_labels, v) - _n_ge_sorted(
                        rel, i, n_labels, v)
        elif r <= q:  # each relevant score against the irrelevant ones
            for j in range(n_labels):
                if y[i, j] != 0:
                    v = s[i, j]
                    for k in range(n_labels):
                        if y[i, k] == 0 and s[i, k] >= v:
                            pairs += 1
        else:  # each irrelevant score against the relevant ones
            for k in range(n_labels):
                if y[i, k] == 0:
                    v = s[i, k]
                    for j in range(n_labels):
                        if y[i, j] != 0 and s[i, j] <= v:
                            pairs += 1
        out[i] = np.float64(pairs) / np.float64(r * q)


@cuda.jit
def coverage_rows(y, s, out):
    """out[i] = #{k : s_k >= lowest relevant score} of row i (0.0 without relevant labels)."""
    n_labels = y.shape[1]
    for i in range(cuda.grid(1), y.shape[0], cuda.gridsize(1)):
        found = False
        lo = s[i, 0]
        for j in range(n_labels):
            if y[i, j] != 0 and (not found or s[i, j] < lo):
                lo = s[i, j]
                found = True
        cnt = 0
        if found:
            for k in range(n_labels):
                if s[i, k] >= lo:
                    cnt += 1
        out[i] = np.float64(cnt)


_U8 = types.uint8[:, ::1]
_OUT = types.float64[::1]


def _sigs(with_sorted: bool):
    out = []
    for t in (types.float32, types.float64):
        m = t[:, ::1]
        out.append((_U8, m, m, m, types.boolean, _OUT) if with_sorted else (_U8, m, _OUT))
    return out


SIGNATURES = {
    lrap_rows: _sigs(True),
    ranking_loss_rows: _sigs(True),
    coverage_rows: _sigs(False),
}


def row_values(kernel, y, s):
    """Per-row values (float64 device array (n,)) of ``kernel`` (``lrap_rows`` or
    ``ranking_loss_rows``), sorting rows wider than :data:`SORT_LABELS` labels first."""
    xp = xp_of(y)
    n, n_labels = y.shape
    out = xp.zeros(n)
    if n_labels <= SORT_LABELS:
        dummy = xp.zeros((1, 1), s.dtype)
        launch(kernel, n, y, s, dummy, dummy, False, out)
        return out
    step = max(1, SORT_ENTRIES // n_labels)
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        yb, sb = y[lo:hi], s[lo:hi]
        srt = xp.sort(sb, axis=1)
        rel = sb.copy()
        rel[yb == 0] = -np.inf
        rel = xp.sort(rel, axis=1)
        launch(kernel, hi - lo, yb, sb, srt, rel, True, out[lo:hi])
    return out


def _mean(values, w) -> float:
    """The (weighted) mean of the per-row values, as the CPU kernels' ``finish``."""
    xp = xp_of(values)
    if w.shape[0] == 0:
        return float(values.sum()) / values.shape[0]
    wd = xp.asarray(w, dtype=np.float64)
    return float((values * wd).sum()) / float(wd.sum())


def lrap(y, s, w) -> float:
    """Label ranking average precision of 0/1 ``y`` (n, L) ranked by ``s`` (n, L)."""
    return _mean(row_values(lrap_rows, y, s), w)


def coverage(y, s, w) -> float:
    """Coverage error of 0/1 ``y`` (n, L) ranked by ``s`` (n, L)."""
    xp = xp_of(y)
    out = xp.zeros(y.shape[0])
    launch(coverage_rows, y.shape[0], y, s, out)
    return _mean(out, w)


def ranking_loss(y, s, w) -> float:
    """Label ranking loss of 0/1 ``y`` (n, L) ranked by ``s`` (n, L)."""
    return _mean(row_values(ranking_loss_rows, y, s), w)
