"""Resampling kernels on the GPU: the imbalance measures (positives per label, SCUMBLE) and
MLSMOTE's bags, exact neighbour search and synthesis, with the names, signatures and results
of ``fastml.kernels.cpu.resample`` (``label_counts``, ``scumble``, ``bags``, ``gather``,
``bag_knn``, ``synthesize``). The sequential parts (ML-ROS / ML-RUS, MLSMOTE's random
choices of pairs and neighbours) stay on the host.

Contract: ``y`` is a C-contiguous uint8 0/1 device array (n, L); ``ir`` IRLbl per label
(> 0 wherever a row has the label); ``pts`` C-contiguous float64 (P, d) device features of
the bag members; ``x`` / ``out_x`` C-contiguous float32 or float64 (same dtype); index
arrays int64 and in range; every synthetic row has at least one neighbour.

Measures: ``row_scumble`` (one thread per row, grid-stride) computes a row's SCUMBLE ``1 -
geometric / arithmetic mean`` of its labels' IRLbl (0 with fewer than two labels) with the
CPU kernel's arithmetic (sums over the row's labels in label order, float64); the sums over
rows are CuPy reductions (float64), the label counts an int64 CuPy sum.

Neighbours (:func:`bag_knn`): the exact ``k`` nearest members of every bag member, in
(squared distance, member) order, the distance being the CPU kernel's: the sum of squared
differences over the features, in feature order, in float64. Seeds go in blocks; a block's
squared distances to every member of its bag come from one float64 matrix product of the
bag's centred rows, ``|a|^2 + |b|^2 - 2 a.b``, within a proven bound of the exact sum; a pair
whose lower bound is above the ``k``-th smallest upper bound of its seed cannot be a
neighbour, and the others (about ``k`` per seed) are measured exactly by ``recheck`` (one
thread per seed) and kept as the CPU kernel keeps them. So the lists equal the CPU's, ties
included; the products only decide which pairs need no exact sum.

Synthesis (``synth_rows``, one thread per synthetic row): the CPU kernel's loop, its
counter-based random stream and its float64 interpolation ``x_s + g (x_c - x_s)``, with the
product never fused into a multiply-add (:mod:`._math`), so the rows are the CPU's bit for
bit.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda, types

from ._launch import launch, xp_of
from ._math import mul_rn, uniform


@cuda.jit
def row_scumble(y, ir, log_ir, out):
    """out[i] = SCUMBLE of row i."""
    n_labels = y.shape[1]
    for i in range(cuda.grid(1), y.shape[0], cuda.gridsize(1)):
        m = 0.0
        sl = 0.0
        ss = 0.0
        for j in range(n_labels):
            if y[i, j] != 0:
                m += 1.0
                sl += log_ir[j]
                ss += ir[j]
        s = 0.0
        if m >= 2.0:
            s = 1.0 - math.exp(sl / m) / (ss / m)
        out[i] = s


SIGNATURES = {
    row_scumble: [(types.uint8[:, ::1], types.float64[::1], types.float64[::1],
                   types.float64[::1])],
}


def _host(a):
    return a if isinstance(a, np.ndarray) else a.get()


def label_counts(y):
    """Positives per label (int64, host)."""
    return np.asarray(_host(y.sum(axis=0, dtype=np.int64)), dtype=np.int64)


def scumble(y, ir, per_row=False):
    """``(total, per_label, rows)`` as the CPU kernel: the sum of row SCUMBLE, for each label
    the sum over the rows having it (host float64), and every row's SCUMBLE when ``per_row``
    (a device array; else empty)."""
    xp = xp_of(y)
    n, n_labels = y.shape
    ir_h = np.ascontiguousarray(ir, np.float64)
    log_h = np.zeros(n_labels)
    np.log(ir_h, out=log_h, where=ir_h > 0)
    rows = xp.zeros(n)
    if n and n_labels:
        launch(row_scumble, n, xp.ascontiguousarray(y), xp.asarray(ir_h), xp.asarray(log_h),
               rows)
    total = float(rows.sum())
    per_label = _host((y * rows[:, None]).sum(axis=0))
    return total, np.asarray(per_label, np.float64), rows if per_row else xp.zeros(0)


# ------------------------------------------------------------------------------- MLSMOTE
def bags(y, labels):
    """Rows having each label of ``labels``, as host CSC ``(ptr, rows)``: the rows of
    ``labels[b]`` are ``rows[ptr[b]:ptr[b+1]]``, ascending (small index arrays)."""
    xp = xp_of(y)
    lab = np.ascontiguousarray(labels, np.int64)
    ptr = np.zeros(lab.shape[0] + 1, np.int64)
    if lab.shape[0] == 0:
        return ptr, np.empty(0, np.int64)
    sub = y[:, xp.asarray(lab)].T  # (bags, n)
    _, rows = xp.nonzero(sub)  # bag-major, rows ascending
    np.cumsum(_host((sub != 0).sum(axis=1)), out=ptr[1:])
    return ptr, np.ascontiguousarray(_host(rows), np.int64)


def gather(x, rows):
    """The rows ``rows`` of ``x`` as a new C-contiguous float64 device array."""
    xp = xp_of(x)
    idx = xp.asarray(np.ascontiguousarray(_host(rows), np.int64))
    return xp.ascontiguousarray(x[idx], dtype=np.float64)


@cuda.jit
def recheck(pts, lo, s0, cptr, cand, mm, nbr, dist):
    """Seed t of a block (member ``lo + s0 + t`` of ``pts``): its candidates
    ``lo + cand[cptr[t]:cptr[t+1]]`` (ascending) measured exactly, as the CPU kernel measures
    them (sum of squared differences in feature order, float64, products not fused), and
    kept in its list of ``mm`` entries of ``nbr`` / ``dist`` as the CPU kernel keeps them: a
    candidate enters only when strictly closer than the last, behind the entries of equal
    distance, so ties go to the lower member."""
    d = pts.shape[1]
    for t in range(cuda.grid(1), cptr.shape[0] - 1, cuda.gridsize(1)):
        g = lo + s0 + t
        for q in range(cptr[t], cptr[t + 1]):
            c = lo + cand[q]
            acc = 0.0
            for f in range(d):
                diff = pts[g, f] - pts[c, f]
                acc = acc + mul_rn(diff, diff)
            if acc < dist[g, mm - 1]:
                p = mm - 1
                while p > 0 and dist[g, p - 1] > acc:
                    dist[g, p] = dist[g, p - 1]
                    nbr[g, p] = nbr[g, p - 1]
                    p -= 1
                dist[g, p] = acc
                nbr[g, p] = c


#: Seeds x bag members per block of distance products (the product and its bounds are a few
#: float64 arrays of this size).
KNN_BLOCK_ENTRIES = 1 << 24


def _candidates(xp, cen, nrm, s0, s1, mm):
    """(s1 - s0, m) bool: the members that may be among the ``mm`` nearest of seeds
    ``s0..s1`` of a bag (the seeds themselves excluded).

    ``cen`` are the bag's rows minus their mean (float64), ``nrm`` their squared norms. With
    ``B = nrm_a + nrm_b`` (d features, u = 2**-53), the product form ``B - 2 a.b`` (any
    summation order, fused or not) is within about ``2 d u B`` of the centred rows' squared
    distance, which is within ``5 u B`` of the uncentred rows' exact one (the centring's
    rounding), which is within ``(2 d + 6) u B`` of the CPU's sequential float64 sum: under
    ``(4 d + 15) u B`` together, to first order. The slack used, ``(8 d + 64) u B + (d + 8)
    2**-1000`` (the last term for values near underflow), covers that twice over, and the
    rounding of the bounds themselves. Pairs whose bounds are not finite (rows near the
    float64 overflow) are always candidates.
    """
    m = cen.shape[0]
    prod = cen[s0:s1] @ cen.T
    base = nrm[s0:s1, None] + nrm[None, :]
    approx = base - 2.0 * prod
    d = cen.shape[1]
    slack = (8.0 * d + 64.0) * 2.0**-53 * base + (d + 8.0) * 2.0**-1000
    lower = approx - slack
    upper = approx + slack
    lower[~xp.isfinite(lower)] = -np.inf
    upper[~xp.isfinite(upper)] = np.inf
    own = xp.arange(s1 - s0)
    upper[own, s0 + own] = np.inf
    if mm < m - 1:
        kth = xp.partition(upper, mm - 1, axis=1)[:, mm - 1]
        cand = lower <= kth[:, None]
    else:  # every other member is a neighbour
        cand = xp.ones((s1 - s0, m), dtype=bool)
    cand[own, s0 + own] = False
    return cand


def bag_knn(pts, bag_ptr, k, n_threads=None, first=None):
    """Exact k nearest neighbours of every bag member among the other members of its bag
    (``fastml.kernels.cpu.resample.bag_knn``: same lists, distances and tie order).

    ``pts`` (P, d) C-contiguous float64 device features of the bag members (bag ``b`` is
    rows ``bag_ptr[b]:bag_ptr[b+1]``, host ``bag_ptr``). Returns ``(nbr, dist, count)``:
    ``nbr`` / ``dist`` device (P, max(k, 1)) int64 member numbers (nearest first, ties:
    lower member first; -1 unused) and squared distances (inf unused), ``count`` host int64
    ``min(k, bag size - 1)`` per member. ``n_threads`` is ignored (the CPU twin's
    parameter); ``first``, when given, is called once before the search (the CPU twin's
    parameter: work of the caller's own)."""
    if first is not None:
        first()
    xp = xp_of(pts)
    ptr = np.ascontiguousarray(_host(bag_ptr), np.int64)
    n_members = pts.shape[0]
    width = max(k, 1)
    nbr = xp.full((n_members, width), -1, np.int64)
    dist = xp.full((n_members, width), np.inf)
    sizes = np.diff(ptr)
    count = np.repeat(np.minimum(k, np.maximum(sizes - 1, 0)), sizes).astype(np.int64)
    if n_members == 0 or k <= 0:
        return nbr, dist, count
    for b in range(sizes.shape[0]):
        lo, hi = int(ptr[b]), int(ptr[b + 1])
        m = hi - lo
        mm = min(k, m - 1)
        if mm <= 0:
            continue
        members = pts[lo:hi]
        cen = members - members.mean(axis=0)
        nrm = (cen * cen).sum(axis=1)
        step = max(1, KNN_BLOCK_ENTRIES // m)
        for s0 in range(0, m, step):
            s1 = min(m, s0 + step)
            cand = _candidates(xp, cen, nrm, s0, s1, mm)
            cptr = xp.zeros(s1 - s0 + 1, np.int64)
            cptr[1:] = xp.cumsum(cand.sum(axis=1, dtype=np.int64))
            _, cols = xp.nonzero(cand)  # seed-major, members ascending
            launch(recheck, s1 - s0, pts, np.int64(lo), np.int64(s0), cptr,
                   xp.ascontiguousarray(cols, dtype=np.int64), np.int64(mm), nbr, dist)
    return nbr, dist, count


@cuda.jit
def synth_rows(x, y, seeds, nbrs, n_nbrs, chosen, numeric, categorical, strategy,
               per_feature, key, out_x, out_y):
    """Synthetic row t (see :func:`synthesize`), as the CPU kernel's loop writes it."""
    d = x.shape[1]
    n_labels = y.shape[1]
    for t in range(cuda.grid(1), seeds.shape[0], cuda.gridsize(1)):
        s = seeds[t]
        c = chosen[t]
        m = n_nbrs[t]
        g = 0.0
        if not per_feature:
            g = uniform(key, np.uint64(t))
        for a in range(numeric.shape[0]):
            f = numeric[a]
            xs = np.float64(x[s, f])
            if per_feature:
                g = uniform(key, np.uint64(t * d + f))
            out_x[t, f] = xs + mul_rn(g, np.float64(x[c, f]) - xs)
        for a in range(categorical.shape[0]):
            f = categorical[a]
            best_v = np.float64(x[nbrs[t, 0], f])
            best_n = 0
            for r in range(m):
                v = np.float64(x[nbrs[t, r], f])
                cnt = 0
                for q in range(m):
                    if np.float64(x[nbrs[t, q], f]) == v:
                        cnt += 1
                if cnt > best_n or (cnt == best_n and v < best_v):
                    best_n = cnt
                    best_v = v
            out_x[t, f] = best_v
        for j in range(n_labels):
            cnt = 1 if y[s, j] != 0 else 0
            for r in range(m):
                if y[nbrs[t, r], j] != 0:
                    cnt += 1
            if strategy == 0:
                keep = 2 * cnt > m + 1
            elif strategy == 1:
                keep = cnt > 0
            else:
                keep = cnt == m + 1
            out_y[t, j] = 1 if keep else 0


def _index(xp, a):
    return xp.asarray(np.ascontiguousarray(_host(a), np.int64))


def synthesize(x, y, seeds, nbrs, n_nbrs, chosen, numeric, categorical, strategy,
               per_feature, key, out_x, out_y):
    """Write one synthetic row per entry ``t`` into the device arrays ``out_x[t]`` /
    ``out_y[t]`` (``fastml.kernels.cpu.resample.synthesize``: same rows, bit for bit).

    Row ``t`` interpolates between ``x[seeds[t]]`` and ``x[chosen[t]]`` on the ``numeric``
    columns, ``x_s + g (x_c - x_s)`` with ``g`` the CPU kernel's uniform of stream ``key``
    (per feature: draw ``t * d + f``; per row: draw ``t``); ``categorical`` columns take the
    most frequent value among the neighbours ``nbrs[t, :n_nbrs[t]]`` (ties: the smallest);
    labels follow ``strategy`` (0 ranking, 1 union, 2 intersection) over the seed and its
    neighbours. Index arrays may be host arrays (they are copied to the device)."""
    xp = xp_of(x)
    n = int(np.shape(seeds)[0])
    if n == 0:
        return
    launch(synth_rows, n, x, y, _index(xp, seeds), xp.ascontiguousarray(_index(xp, nbrs)),
           _index(xp, n_nbrs), _index(xp, chosen), _index(xp, numeric),
           _index(xp, categorical), np.int64(strategy), bool(per_feature), np.uint64(key),
           out_x, out_y)


_F2 = types.float64[:, ::1]
_I1 = types.int64[::1]
_I2 = types.int64[:, ::1]
SIGNATURES[recheck] = [(_F2, types.int64, types.int64, _I1, _I1, types.int64, _I2, _F2)]
SIGNATURES[synth_rows] = [
    (t[:, ::1], types.uint8[:, ::1], _I1, _I2, _I1, _I1, _I1, _I1, types.int64, types.boolean,
     types.uint64, t[:, ::1], types.uint8[:, ::1])
    for t in (types.float32, types.float64)
]
