"""Score-curve kernels on the GPU: average precision, ROC AUC (full or partial), best F1 and
the counts at a threshold, for many binary problems at once, exact and with scikit-learn's
tie rule. Names and signatures of :mod:`fastml.kernels.metrics_curves_cpu` (``flat_stats``,
``column_stats``, ``row_stats``), same statistics table (host float64, ``N_STATS`` columns).

Per binary problem (the row of a label-major ``(P, n)`` score matrix):

1. only the positives are sorted: CuPy gathers every problem's positive scores into one flat
   array and sorts it by (problem, score) (a segmented sort, no padding);
2. ``dedup`` (one thread per problem) walks its sorted positives into distinct ascending
   values ``a[0..m)`` with the positive weight of each (summed in sorted order);
3. ``negatives`` (one thread per element, grid-stride) locates every negative by binary
   search, ``r = #{a <= v}``, and adds its weight to ``hist[r]`` (and ``tie[r - 1]`` when
   ``a[r - 1] == v``): int64 atomics unweighted (exact in any order), float64 weighted;
4. ``finish`` (one thread per problem) runs the CPU kernel's suffix pass: false positives at
   each distinct positive score, ties forming one threshold, AP as scikit-learn's step
   integral, ROC AUC with half of the tied pairs, McClish-standardised partial AUC;
   or ``points`` (one thread per problem) picks the operating point of ``best_thresholds``
   (best F-beta, or a target recall / precision) from the same pieces.

Why this way: O(P log P + N log P) work like the CPU kernel, no sort of the negatives, and
every count exact; the per-problem passes are sequential in the same order as the CPU's, so
the statistics agree with it to the last bits except for weighted sums added by atomics.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda, types

from ._launch import launch, xp_of
from ._math import mul_rn

AP, AUC, BEST_F1, BEST_THR, POS_W, NEG_W, TP_AT, FP_AT, POS_N, NEG_N = range(10)
N_STATS = 10


@cuda.jit
def dedup(pv, pw, off, a, aw, m_out):
    """Problem p: its sorted positives pv[off[p]:off[p+1]] (weights pw) into distinct values
    a[off[p]:off[p]+m] with summed weights aw; m_out[p] = m."""
    for p in range(cuda.grid(1), m_out.shape[0], cuda.gridsize(1)):
        lo = off[p]
        hi = off[p + 1]
        m = 0
        for k in range(lo, hi):
            v = pv[k]
            if m > 0 and v == a[lo + m - 1]:
                aw[lo + m - 1] += pw[k]
            else:
                a[lo + m] = v
                aw[lo + m] = pw[k]
                m += 1
        m_out[p] = m


@cuda.jit
def negatives(s, y, w, use_w, a, off, m_arr, hist_i, tie_i, hist_f, tie_f):
    """Every negative (p, i) of the label-major (P, n) ``s``/``y``: r = #{a <= v} among its
    problem's distinct positives; hist[off[p] + p + r] += w, tie[off[p] + r - 1] += w on a
    tie (int64 arrays unweighted, float64 with ``use_w``)."""
    n = s.shape[1]
    total = s.shape[0] * n
    for e in range(cuda.grid(1), total, cuda.gridsize(1)):
        p = e // n
        i = e - p * n
        if y[p, i] != 0:
            continue
        v = s[p, i]
        base = off[p]
        lo = 0
        hi = m_arr[p]
        while lo < hi:
            mid = (lo + hi) // 2
            if a[base + mid] <= v:
                lo = mid + 1
            else:
                hi = mid
        r = lo
        tied = r > 0 and a[base + r - 1] == v
        if use_w:
            wi = w[i]
            cuda.atomic.add(hist_f, base + p + r, wi)
            if tied:
                cuda.atomic.add(tie_f, base + r - 1, wi)
        else:
            cuda.atomic.add(hist_i, base + p + r, 1)
            if tied:
                cuda.atomic.add(tie_i, base + r - 1, 1)


@cuda.jit(device=True, inline=True)
def _area_to(x0, y0, x1, y1, xmax):
    """Trapezoid area of the segment (x0, y0)-(x1, y1) restricted to x <= xmax."""
    if x1 <= x0 or x0 >= xmax:
        return 0.0
    if x1 <= xmax:
        return (x1 - x0) * (y0 + y1) * 0.5
    ym = y0 + (y1 - y0) * (xmax - x0) / (x1 - x0)
    return (xmax - x0) * (y0 + ym) * 0.5


@cuda.jit
def finish(a, aw, off, m_arr, hist, tie, neg_w, fp_at, n_pos, n_neg, thr, max_fpr, out):
    """Suffix pass of problem p over its distinct positive scores: out[p, 0:N_STATS]."""
    for p in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        base = off[p]
        m = m_arr[p]
        nw = neg_w[p]
        pos_w = 0.0
        for j in range(m):
            pos_w += aw[base + j]
        fp = 0.0
        tp = 0.0
        ap = 0.0
        auc = 0.0
        pauc = 0.0
        best_f1 = -1.0
        best_thr = math.inf
        tp_at = 0.0
        x_prev = 0.0
        y_prev = 0.0
        x_max = max_fpr * nw
        for j in range(m - 1, -1, -1):
            fp += hist[base + p + j + 1]
            tp_gt = tp
            pwj = aw[base + j]
            tp += pwj
            denom = tp + fp
            if pwj != 0.0 and denom > 0.0:
                ap += pwj * (tp / denom)
            tj = tie[base + j]
            auc += pwj * ((nw - fp) + 0.5 * tj)
            f1 = 2.0 * tp / (tp + fp + pos_w) if pos_w > 0.0 else 0.0
            if f1 > best_f1:
                best_f1 = f1
                best_thr = a[base + j]
            if a[base + j] >= thr:
                tp_at = tp
            if max_fpr > 0.0:
                fp_gt = fp - tj
                pauc += _area_to(x_prev, y_prev, fp_gt, tp_gt, x_max)
                pauc += _area_to(fp_gt, tp_gt, fp, tp, x_max)
                x_prev = fp
                y_prev = tp
        if m == 0:
            best_f1 = 0.0
        out[p, AP] = max(0.0, ap / pos_w) if pos_w > 0.0 else 0.0
        if pos_w > 0.0 and nw > 0.0:
            if max_fpr > 0.0:
                pauc += _area_to(x_prev, y_prev, nw, pos_w, x_max)
                pauc /= pos_w * nw
                min_area = 0.5 * max_fpr * max_fpr
                out[p, AUC] = 0.5 * (1.0 + (pauc - min_area) / (max_fpr - min_area))
            else:
                out[p, AUC] = auc / (pos_w * nw)
        else:
            out[p, AUC] = math.nan
        out[p, BEST_F1] = best_f1
        out[p, BEST_THR] = best_thr
        out[p, POS_W] = pos_w
        out[p, NEG_W] = nw
        out[p, TP_AT] = tp_at
        out[p, FP_AT] = fp_at[p]
        out[p, POS_N] = n_pos[p]
        out[p, NEG_N] = n_neg[p]


_F1, _I1 = types.float64[::1], types.int64[::1]
SIGNATURES = {
    dedup: [(_F1, _F1, _I1, _F1, _F1, _I1)],
    negatives: [(types.float64[:, ::1], types.uint8[:, ::1], _F1, types.boolean, _F1, _I1, _I1,
                 _I1, _I1, _F1, _F1)],
    finish: [(_F1, _F1, _I1, _I1, _F1, _F1, _F1, _F1, _I1, _I1, types.float64, types.float64,
              types.float64[:, ::1])],
}


def _host(a):
    return a if isinstance(a, np.ndarray) else a.get()


class _Parts:
    """The per-problem pieces of the label-major problems ``s`` / ``y`` on the device:
    distinct positive scores ``a`` (problem p at ``off[p]:off[p] + m[p]``) with their
    positive weights ``aw``, the negatives' histogram ``hist`` over them (problem p at
    ``off[p] + p : off[p] + p + m[p] + 1``, float64) and the tie counts ``tie``."""

    def __init__(self, s, y, w):
        xp = self.xp = xp_of(s)
        n_prob, n = s.shape
        use_w = w is not None
        yb = self.yb = y != 0
        self.n_pos = yb.sum(axis=1, dtype=np.int64)
        self.n_neg = n - self.n_pos
        off = self.off = xp.zeros(n_prob + 1, np.int64)
        off[1:] = xp.cumsum(self.n_pos)
        rows, cols = xp.nonzero(yb)
        pv = s[rows, cols]
        order = xp.lexsort(xp.stack([pv, rows.astype(np.float64)]))  # by problem, then score
        pv = xp.ascontiguousarray(pv[order])
        pw = xp.ascontiguousarray(w[cols[order]]) if use_w else xp.ones(pv.shape[0])
        total = max(int(pv.shape[0]), 1)
        a = self.a = xp.zeros(total)
        aw = self.aw = xp.zeros(total)
        m = self.m = xp.zeros(n_prob, np.int64)
        if n_prob:
            launch(dedup, n_prob, pv, pw, off, a, aw, m)
        hist_size = total + n_prob
        if use_w:
            hist_i = tie_i = xp.zeros(1, np.int64)
            hist_f = xp.zeros(hist_size)
            tie_f = xp.zeros(total)
            wk = w
        else:
            hist_i = xp.zeros(hist_size, np.int64)
            tie_i = xp.zeros(total, np.int64)
            hist_f = tie_f = xp.zeros(1)
            wk = xp.ones(1)
        if n_prob and n:
            launch(negatives, n_prob * n, s, y, wk, use_w, a, off, m, hist_i, tie_i, hist_f,
                   tie_f)
        if not use_w:
            hist_f = hist_i.astype(np.float64)
            tie_f = tie_i.astype(np.float64)
        self.hist, self.tie = hist_f, tie_f


def problem_stats(s, y, w, thr, max_fpr):
    """Statistics (P, N_STATS), on the host, of the label-major problems ``s`` / ``y``
    ((P, n) C-contiguous float64 / uint8 device arrays); ``w`` (n,) float64 device weights
    of the positions, or None."""
    parts = _Parts(s, y, w)
    xp = parts.xp
    n_prob = s.shape[0]
    use_w = w is not None
    neg = ~parts.yb
    if use_w:
        neg_w = (neg * w[None, :]).sum(axis=1)
        fp_at = ((neg & (s >= thr)) * w[None, :]).sum(axis=1)
    else:
        neg_w = parts.n_neg.astype(np.float64)
        fp_at = (neg & (s >= thr)).sum(axis=1).astype(np.float64)
    out = xp.zeros((n_prob, N_STATS))
    if n_prob:
        launch(finish, n_prob, parts.a, parts.aw, parts.off, parts.m, parts.hist, parts.tie,
               xp.ascontiguousarray(neg_w), xp.ascontiguousarray(fp_at), parts.n_pos,
               parts.n_neg, float(thr), float(max_fpr), out)
    return _host(out)


#: Codes of the operating-point rules of :func:`operating_points` (``metric`` argument).
FBETA, RECALL, PRECISION = 0, 1, 2


@cuda.jit
def points(a, aw, off, m_arr, hist, n_pos, metric, beta2, target, thr_out, score_out):
    """Problem p's operating point over its distinct positive scores a[k] (tp, fp: the
    positives and negatives scoring >= a[k], summed from the top as NumPy's reversed
    cumulative sums): FBETA the highest a[k] with the best F-beta, RECALL the highest with
    tp / total >= target, PRECISION the lowest with tp / (tp + fp) >= target; +inf and 0
    where there is none (or no positive)."""
    for p in range(cuda.grid(1), thr_out.shape[0], cuda.gridsize(1)):
        base = off[p]
        m = m_arr[p]
        best = -1
        best_v = 0.0
        if n_pos[p] > 0 and m > 0:
            total = 0.0
            for j in range(m - 1, -1, -1):
                total += aw[base + j]
            tp = 0.0
            fp = 0.0
            for j in range(m - 1, -1, -1):
                tp += aw[base + j]
                fp += hist[base + p + j + 1]
                if metric == FBETA:
                    v = (1.0 + beta2) * tp / (mul_rn(beta2, total) + tp + fp)
                    if best < 0 or v > best_v:
                        best = j
                        best_v = v
                elif metric == RECALL:
                    v = tp / total
                    if best < 0 and v >= target:
                        best = j
                        best_v = v
                else:
                    v = tp / (tp + fp)
                    if v >= target:
                        best = j
                        best_v = v
        if best < 0:
            thr_out[p] = math.inf
            score_out[p] = 0.0
        else:
            thr_out[p] = a[base + best]
            score_out[p] = best_v


def operating_points(s, y, metric, beta, target):
    """``(thresholds, scores)``, float64 device arrays (P,), of the unweighted label-major
    problems ``s`` / ``y`` ((P, n) C-contiguous float64 / uint8 device arrays) under the
    rule ``metric`` (FBETA, RECALL or PRECISION; see :func:`points`), with the arithmetic of
    ``fastml.metrics._curves._operating_points``."""
    parts = _Parts(s, y, None)
    xp = parts.xp
    n_prob = s.shape[0]
    thr = xp.zeros(n_prob)
    score = xp.zeros(n_prob)
    if n_prob:
        launch(points, n_prob, parts.a, parts.aw, parts.off, parts.m, parts.hist,
               parts.n_pos, int(metric), float(beta) * float(beta), float(target), thr, score)
    return thr, score


SIGNATURES[points] = [(_F1, _F1, _I1, _I1, _F1, _I1, types.int64, types.float64, types.float64,
                       _F1, _F1)]


def _f64(xp, a):
    return xp.ascontiguousarray(a, dtype=np.float64)


def flat_stats(s, y, w, wdiv, wmod, use_w, thr, max_fpr):
    """(B, N_STATS): all N entries of each ``s[b]`` (B, N) against ``y`` (N,) as one binary
    problem; the weight of entry i is ``w[(i // wdiv) % wmod]``."""
    xp = xp_of(s)
    big_n = y.shape[0]
    wk = None
    if use_w:
        idx = (xp.arange(big_n) // wdiv) % wmod
        wk = _f64(xp, xp.asarray(w)[idx])
    y2 = xp.ascontiguousarray(y.reshape(1, -1)).view(np.uint8)
    return np.stack([problem_stats(_f64(xp, s[b].reshape(1, -1)), y2, wk, thr, max_fpr)[0]
                     for b in range(s.shape[0])])


def column_stats(s, y, label_major, w, use_w, thr, max_fpr):
    """(B, L, N_STATS): every label of every batch member; ``s`` (B, n, L) and ``y`` (n, L),
    or (B, L, n) and (L, n) when ``label_major``."""
    xp = xp_of(s)
    yk = y if label_major else y.T
    yk = xp.ascontiguousarray(yk).view(np.uint8)
    wk = _f64(xp, xp.asarray(w)) if use_w else None
    return np.stack([
        problem_stats(_f64(xp, s[b] if label_major else s[b].T), yk, wk, thr, max_fpr)
        for b in range(s.shape[0])
    ])


def row_stats(s, y, thr, max_fpr):
    """(B, n, N_STATS): every row of every batch member (``s`` (B, n, L), ``y`` (n, L))."""
    xp = xp_of(s)
    yk = xp.ascontiguousarray(y).view(np.uint8)
    return np.stack([problem_stats(_f64(xp, s[b]), yk, None, thr, max_fpr)
                     for b in range(s.shape[0])])
