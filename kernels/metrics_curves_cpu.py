"""Score-curve kernels: average precision, ROC AUC (full or partial), the best-F1 threshold
and the confusion counts at a fixed threshold, for many binary problems in one call.

Numba: the work is plain typed loops over score vectors (gather, sort, binary search,
histogram), parallel over problems (labels, rows, or batch members), with no Python objects.

One binary problem (scores ``s``, 0/1 targets ``y``, optional weights):

1. the positives' scores are gathered, sorted and deduplicated into ascending distinct values
   ``a[0..m)`` with the positive weight of each value;
2. every negative is located among them by binary search: ``r = #{a <= v}``. It adds its
   weight to ``hist[r]`` (and to ``tie[r - 1]`` when ``a[r - 1] == v``);
3. a suffix pass over ``j = m-1 .. 0`` gives the negative weight with score ``>= a[j]``
   (false positives at threshold ``a[j]``, ties included: scikit-learn's rule that tied
   scores form one threshold) and the positive weight with score ``>= a[j]``.

AP, ROC AUC, F1 at every threshold follow without sorting the negatives:
O(P log P + N log P) per problem. The weight of element ``i`` of a problem is
``w[(i // wdiv) % wmod]`` so that flattened matrices share one per-row weight vector.
"""

import numpy as np
from numba import njit, prange

# Columns of the per-problem statistics table.
AP = 0  # average precision (scikit-learn's step integral)
AUC = 1  # ROC AUC, or McClish-standardised partial AUC when max_fpr is given
BEST_F1 = 2  # maximum over thresholds of F1 (predict positive when score >= threshold)
BEST_THR = 3  # the highest threshold reaching BEST_F1 (+inf when there is no positive)
POS_W = 4  # total positive weight
NEG_W = 5  # total negative weight
TP_AT = 6  # positive weight with score >= thr
FP_AT = 7  # negative weight with score >= thr
POS_N = 8  # number of positives (unweighted)
NEG_N = 9  # number of negatives (unweighted)
N_STATS = 10


@njit(cache=True, nogil=True, inline="always")
def _count_le(a, lo, hi, v):
    """Number of values of the ascending ``a[lo:hi]`` that are <= v."""
    n = hi - lo
    if n <= 0:
        return 0
    base = lo
    while n > 1:
        half = n >> 1
        base = base + half if a[base + half] <= v else base
        n -= half
    return base - lo + (1 if a[base] <= v else 0)


_MIN_BUCKETED = 64  # fewer distinct positives than this: plain binary search
_MAX_BUCKETS = 1 << 22


@njit(cache=True, nogil=True)
def _bucket_index(a, m):
    """Index the ascending distinct ``a[0:m]`` by a monotone linear bucket map.

    Returns (first, lo, scale, nb): ``first[b]`` counts the values whose bucket is < b. Any
    monotone map keeps the search exact: a value in a lower bucket than ``v`` is < v, one in
    a higher bucket is > v, so only ``v``'s own bucket needs a search.
    """
    nb = 64
    while nb < m and nb < _MAX_BUCKETS:
        nb *= 2
    lo = np.float64(a[0])
    span = np.float64(a[m - 1]) - lo
    scale = nb / span if span > 0.0 else 0.0
    first = np.zeros(nb + 1, np.int32)
    for k in range(m):
        first[_bucket(a[k], lo, scale, nb) + 1] += 1
    for b in range(nb):
        first[b + 1] += first[b]
    return first, lo, scale, nb


@njit(cache=True, nogil=True, inline="always")
def _bucket(v, lo, scale, nb):
    x = (np.float64(v) - lo) * scale
    return int(x) if x < nb else nb - 1


@njit(cache=True, nogil=True)
def _positives(s, y, w, wdiv, wmod, use_w, pv, pw):
    """Sorted distinct positive scores into ``pv[0:m]``, their weights into ``pw[0:m]``.

    Returns (m, number of positives). ``pv``/``pw`` need room for every positive.
    """
    n_pos = 0
    for i in range(s.shape[0]):
        if y[i]:
            pv[n_pos] = s[i]
            if use_w:
                pw[n_pos] = w[(i // wdiv) % wmod]
            n_pos += 1
    if n_pos == 0:
        return 0, 0
    if use_w:
        order = np.argsort(pv[:n_pos])
        sv = pv[:n_pos][order]
        sw = pw[:n_pos][order]
        for k in range(n_pos):
            pv[k] = sv[k]
            pw[k] = sw[k]
    else:
        pv[:n_pos].sort()
        for k in range(n_pos):
            pw[k] = 1.0
    m = 1
    for k in range(1, n_pos):
        if pv[k] == pv[m - 1]:
            pw[m - 1] += pw[k]
        else:
            pv[m] = pv[k]
            pw[m] = pw[k]
            m += 1
    return m, n_pos


@njit(cache=True, nogil=True)
def _negatives(s, y, w, wdiv, wmod, use_w, thr, a, m, hist, tie, lo, hi):
    """Histogram the negatives of ``s[lo:hi]`` against the distinct positives ``a[0:m]``.

    Adds into ``hist[0:m+1]`` and ``tie[0:m]``; returns (negative weight, negative weight
    with score >= thr, number of negatives).
    """
    bucketed = m >= _MIN_BUCKETED
    if bucketed:
        first, a_lo, scale, nb = _bucket_index(a, m)
        a_hi = a[m - 1]
    else:
        first, a_lo, scale, nb, a_hi = np.zeros(1, np.int32), 0.0, 0.0, 1, a[0]
    neg_w = 0.0
    fp_at = 0.0
    n_neg = 0
    for i in range(lo, hi):
        if y[i]:
            continue
        v = s[i]
        wi = w[(i // wdiv) % wmod] if use_w else 1.0
        if not bucketed:
            r = _count_le(a, 0, m, v)
        elif v < a_lo:
            r = 0
        elif v >= a_hi:
            r = m
        else:
            b = _bucket(v, a_lo, scale, nb)
            r = first[b] + _count_le(a, first[b], first[b + 1], v)
        hist[r] += wi
        if r > 0 and a[r - 1] == v:
            tie[r - 1] += wi
        neg_w += wi
        if v >= thr:
            fp_at += wi
        n_neg += 1
    return neg_w, fp_at, n_neg


@njit(cache=True, nogil=True, inline="always")
def _area_to(x0, y0, x1, y1, xmax):
    """Trapezoid area of the segment (x0, y0)-(x1, y1) restricted to x <= xmax."""
    if x1 <= x0 or x0 >= xmax:
        return 0.0
    if x1 <= xmax:
        return (x1 - x0) * (y0 + y1) * 0.5
    ym = y0 + (y1 - y0) * (xmax - x0) / (x1 - x0)
    return (xmax - x0) * (y0 + ym) * 0.5


@njit(cache=True, nogil=True)
def _finish(a, pw, m, hist, tie, neg_w, fp_at, n_pos, n_neg, thr, max_fpr, out):
    """Suffix pass over the distinct positive scores: fills ``out[0:N_STATS]``."""
    pos_w = 0.0
    for j in range(m):
        pos_w += pw[j]
    fp = 0.0
    tp = 0.0
    ap = 0.0
    auc = 0.0
    pauc = 0.0
    best_f1 = -1.0
    best_thr = np.inf
    tp_at = 0.0
    # ROC curve walk (used for the partial AUC), in false/true positive weight units
    x_prev = 0.0
    y_prev = 0.0
    x_max = max_fpr * neg_w
    for j in range(m - 1, -1, -1):
        fp += hist[j + 1]
        tp_gt = tp
        tp += pw[j]
        denom = tp + fp
        if pw[j] != 0.0 and denom > 0.0:
            ap += pw[j] * (tp / denom)
        auc += pw[j] * ((neg_w - fp) + 0.5 * tie[j])
        f1 = 2.0 * tp / (tp + fp + pos_w) if pos_w > 0.0 else 0.0
        if f1 > best_f1:
            best_f1 = f1
            best_thr = a[j]
        if a[j] >= thr:
            tp_at = tp
        if max_fpr > 0.0:
            fp_gt = fp - tie[j]
            pauc += _area_to(x_prev, y_prev, fp_gt, tp_gt, x_max)
            pauc += _area_to(fp_gt, tp_gt, fp, tp, x_max)
            x_prev = fp
            y_prev = tp
    if m == 0:
        best_f1 = 0.0
    out[AP] = max(0.0, ap / pos_w) if pos_w > 0.0 else 0.0
    if pos_w > 0.0 and neg_w > 0.0:
        if max_fpr > 0.0:
            pauc += _area_to(x_prev, y_prev, neg_w, pos_w, x_max)
            pauc /= pos_w * neg_w
            min_area = 0.5 * max_fpr * max_fpr
            out[AUC] = 0.5 * (1.0 + (pauc - min_area) / (max_fpr - min_area))
        else:
            out[AUC] = auc / (pos_w * neg_w)
    else:
        out[AUC] = np.nan
    out[BEST_F1] = best_f1
    out[BEST_THR] = best_thr
    out[POS_W] = pos_w
    out[NEG_W] = neg_w
    out[TP_AT] = tp_at
    out[FP_AT] = fp_at
    out[POS_N] = n_pos
    out[NEG_N] = n_neg


@njit(cache=True, nogil=True)
def _problem(s, y, w, wdiv, wmod, use_w, thr, max_fpr, pv, pw, out):
    """Statistics of one binary problem, sequentially. ``pv``/``pw`` hold every positive."""
    m, n_pos = _positives(s, y, w, wdiv, wmod, use_w, pv, pw)
    hist = np.zeros(m + 1)
    tie = np.zeros(max(m, 1))
    neg_w, fp_at, n_neg = _negatives(
        s, y, w, wdiv, wmod, use_w, thr, pv, m, hist, tie, 0, s.shape[0]
    )
    _finish(pv, pw, m, hist, tie, neg_w, fp_at, n_pos, n_neg, thr, max_fpr, out)


_PARTITIONED_MIN = 1 << 15  # distinct positives from which flat problems radix-partition
_PART_BITS = 8


@njit(cache=True, nogil=True, inline="always")
def _locate(v, a, m, first, a_lo, scale, nb):
    """``#{a <= v}`` through the bucket index (``m`` >= _MIN_BUCKETED)."""
    if v < a_lo:
        return 0
    if v >= a[m - 1]:
        return m
    b = _bucket(v, a_lo, scale, nb)
    return first[b] + _count_le(a, first[b], first[b + 1], v)


@njit(cache=True, parallel=True)
def _negatives_partitioned(s, y, w, wdiv, wmod, use_w, thr, a, m, hist, tie):
    """``_negatives`` over all of ``s`` for many distinct positives (large ``m``).

    The tables of a large ``m`` do not fit in cache, so each negative would cost several
    misses. Instead the negatives are radix-partitioned by the high bits of their bucket
    (count, then scatter, both in parallel chunks); each partition is then resolved against
    its own slice of the positives, which fits in cache, into a local histogram.
    """
    n = s.shape[0]
    first, a_lo, scale, nb = _bucket_index(a, m)
    n_parts = 1 << _PART_BITS
    shift = 0
    while (nb >> shift) > n_parts:
        shift += 1
    n_chunks = max(1, min(64, n // 65536))
    step = (n + n_chunks - 1) // n_chunks
    counts = np.zeros((n_chunks, n_parts), np.int64)
    edge = np.zeros((n_chunks, 6))  # below w, top w, top tie w, neg w, fp_at, n_neg
    a_hi = a[m - 1]
    for c in prange(n_chunks):
        for i in range(c * step, min(n, (c + 1) * step)):
            if y[i]:
                continue
            v = s[i]
            wi = w[(i // wdiv) % wmod] if use_w else 1.0
            edge[c, 3] += wi
            edge[c, 5] += 1
            if v >= thr:
                edge[c, 4] += wi
            if v < a_lo:
                edge[c, 0] += wi
            elif v >= a_hi:
                edge[c, 1] += wi
                if v == a_hi:
                    edge[c, 2] += wi
            else:
                counts[c, _bucket(v, a_lo, scale, nb) >> shift] += 1
    # scatter positions: partition-major, chunk-minor
    offsets = np.empty((n_chunks, n_parts), np.int64)
    part_start = np.empty(n_parts + 1, np.int64)
    total = 0
    for p in range(n_parts):
        part_start[p] = total
        for c in range(n_chunks):
            offsets[c, p] = total
            total += counts[c, p]
    part_start[n_parts] = total
    buf_v = np.empty(total, s.dtype)
    buf_w = np.empty(total if use_w else 1)
    for c in prange(n_chunks):
        pos = offsets[c].copy()
        for i in range(c * step, min(n, (c + 1) * step)):
            if y[i]:
                continue
            v = s[i]
            if v < a_lo or v >= a_hi:
                continue
            p = _bucket(v, a_lo, scale, nb) >> shift
            buf_v[pos[p]] = v
            if use_w:
                buf_w[pos[p]] = w[(i // wdiv) % wmod]
            pos[p] += 1
    # resolve each partition against its slice of the positives
    lo_k = np.empty(n_parts + 1, np.int64)
    for p in range(n_parts + 1):
        lo_k[p] = first[min(p << shift, nb)]
    local_start = np.empty(n_parts + 1, np.int64)
    acc = 0
    for p in range(n_parts):
        local_start[p] = acc
        acc += lo_k[p + 1] - lo_k[p] + 1
    local_start[n_parts] = acc
    local_hist = np.zeros(acc)
    local_tie = np.zeros(acc)
    for p in prange(n_parts):
        k0 = lo_k[p]
        base = local_start[p]
        for q in range(part_start[p], part_start[p + 1]):
            v = buf_v[q]
            wi = buf_w[q] if use_w else 1.0
            b = _bucket(v, a_lo, scale, nb)
            r = first[b] + _count_le(a, first[b], first[b + 1], v)
            local_hist[base + r - k0] += wi
            if r > k0 and a[r - 1] == v:
                local_tie[base + r - 1 - k0] += wi
    for p in range(n_parts):
        k0 = lo_k[p]
        for k in range(lo_k[p + 1] - k0 + 1):
            hist[k0 + k] += local_hist[local_start[p] + k]
            tie[k0 + k] += local_tie[local_start[p] + k] if k0 + k < m else 0.0
    edges = edge.sum(axis=0)
    hist[0] += edges[0]
    hist[m] += edges[1]
    tie[m - 1] += edges[2]
    return edges[3], edges[4], int(edges[5])


@njit(cache=True, parallel=True)
def flat_stats(s, y, w, wdiv, wmod, use_w, thr, max_fpr):
    """Statistics of large binary problems: ``s`` (B, N) scored against one ``y`` (N,).

    Each problem's negatives are scanned in parallel chunks (radix-partitioned when there are
    many distinct positives). Used for 1-D binary input and for average="micro" (the flattened
    matrix), one problem per batch member.
    """
    n_batch, n = s.shape
    n_pos = 0
    for i in range(n):
        n_pos += y[i]
    pv = np.empty(max(n_pos, 1), s.dtype)
    pw = np.empty(max(n_pos, 1))
    out = np.empty((n_batch, N_STATS))
    n_chunks = max(1, min(64, n // 65536))
    step = (n + n_chunks - 1) // n_chunks
    for b in range(n_batch):
        m, n_pos = _positives(s[b], y, w, wdiv, wmod, use_w, pv, pw)
        if m >= _PARTITIONED_MIN:
            hist = np.zeros(m + 1)
            tie = np.zeros(m)
            neg_w, fp_at, n_neg = _negatives_partitioned(
                s[b], y, w, wdiv, wmod, use_w, thr, pv, m, hist, tie
            )
            _finish(pv, pw, m, hist, tie, neg_w, fp_at, n_pos, n_neg, thr, max_fpr, out[b])
            continue
        hists = np.zeros((n_chunks, m + 1))
        ties = np.zeros((n_chunks, max(m, 1)))
        parts = np.zeros((n_chunks, 3))
        for c in prange(n_chunks):
            lo = c * step
            hi = min(n, lo + step)
            neg_w, fp_at, n_neg = _negatives(
                s[b], y, w, wdiv, wmod, use_w, thr, pv, m, hists[c], ties[c], lo, hi
            )
            parts[c, 0] = neg_w
            parts[c, 1] = fp_at
            parts[c, 2] = n_neg
        _finish(
            pv, pw, m, hists.sum(axis=0), ties.sum(axis=0), parts[:, 0].sum(),
            parts[:, 1].sum(), n_pos, int(parts[:, 2].sum()), thr, max_fpr, out[b],
        )
    return out


_TILE = 64


@njit(cache=True, parallel=True)
def _to_label_major(a):
    """(B, n, L) -> C-contiguous (B, L, n), copied in cache-sized 64 x 64 tiles in parallel."""
    n_batch, n, n_labels = a.shape
    out = np.empty((n_batch, n_labels, n), a.dtype)
    row_tiles = (n + _TILE - 1) // _TILE
    col_tiles = (n_labels + _TILE - 1) // _TILE
    for t in prange(n_batch * row_tiles * col_tiles):
        b = t // (row_tiles * col_tiles)
        r = t % (row_tiles * col_tiles)
        i0 = (r // col_tiles) * _TILE
        j0 = (r % col_tiles) * _TILE
        for j in range(j0, min(n_labels, j0 + _TILE)):
            for i in range(i0, min(n, i0 + _TILE)):
                out[b, j, i] = a[b, i, j]
    return out


@njit(cache=True, parallel=True)
def _label_problems(s, y, w, use_w, thr, max_fpr):
    """Statistics of every label column: ``s`` (B, L, n) and ``y`` (L, n), C-contiguous."""
    n_batch, n_labels, n = s.shape
    out = np.empty((n_batch, n_labels, N_STATS))
    for t in prange(n_batch * n_labels):
        b = t // n_labels
        j = t % n_labels
        n_pos = 0
        for i in range(n):
            n_pos += y[j, i]
        pv = np.empty(max(n_pos, 1), s.dtype)
        pw = np.empty(max(n_pos, 1))
        _problem(s[b, j], y[j], w, 1, n, use_w, thr, max_fpr, pv, pw, out[b, j])
    return out


def column_stats(s, y, label_major, w, use_w, thr, max_fpr):
    """Statistics of every label of every batch member: ``out[b, j, :]``.

    ``s`` is (B, n, L) when not ``label_major``, else (B, L, n) (each C-contiguous); ``y`` is
    (n, L) or (L, n) accordingly. Row-major input is first transposed in tiles (one copy of
    the scores), so that every label's column is read contiguously.
    """
    if not label_major:
        s = _to_label_major(s)
        y = _to_label_major(y[np.newaxis])[0]
    return _label_problems(s, y, w, use_w, thr, max_fpr)


@njit(cache=True, parallel=True)
def row_stats(s, y, thr, max_fpr):
    """Statistics of every row of every batch member (average="samples"): ``out[b, i, :]``.

    ``s`` is (B, n, L) C-contiguous, ``y`` (n, L); rows are unweighted problems of L values.
    """
    n_batch, n, n_labels = s.shape
    out = np.empty((n_batch, n, N_STATS))
    w = np.empty(1)
    total = n_batch * n
    n_chunks = max(1, min(total, 256))
    step = (total + n_chunks - 1) // n_chunks
    for c in prange(n_chunks):
        pv = np.empty(n_labels, s.dtype)
        pw = np.empty(n_labels)
        hist = np.empty(n_labels + 1)
        tie = np.empty(n_labels)
        for t in range(c * step, min(total, (c + 1) * step)):
            b = t // n
            i = t % n
            srow = s[b, i]
            yrow = y[i]
            m, n_pos = _positives(srow, yrow, w, 1, 1, False, pv, pw)
            hist[: m + 1] = 0.0
            tie[:m] = 0.0
            neg_w, fp_at, n_neg = _negatives(
                srow, yrow, w, 1, 1, False, thr, pv, m, hist, tie, 0, n_labels
            )
            _finish(pv, pw, m, hist, tie, neg_w, fp_at, n_pos, n_neg, thr, max_fpr, out[b, i])
    return out
