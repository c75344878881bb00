"""Multi-label resampling kernels: imbalance measures, exact k-nearest neighbours inside each
label's bag, MLSMOTE synthesis, and the sequential loops of random over- and under-sampling.

Numba: every job here is a typed loop over rows, features or bag members that NumPy can only
express with (n x labels) or (bag x bag) temporaries, or with a Python loop per synthetic row
(the reference's cost); here they are compiled loops, parallel where the iterations are
independent, with no Python objects.

Random numbers inside kernels come from a counter-based SplitMix64 stream: the ``i``-th
uniform of stream ``key`` is a hash of ``key + i * golden``, so a value depends only on
``key`` and its position, never on the thread that draws it or on the thread count.

Neighbour search (:func:`bag_knn`). The rows of every bag are gathered once into one
float64 array ``pts`` (the bags are consecutive row ranges). Seeds go in groups of four
consecutive members of a bag; one pass over the bag computes, for each member, the four
squared Euclidean distances as plain sums of squared differences over the features (no
``|x|^2 + |y|^2 - 2 x.y`` expansion, so no cancellation: the search is exact, not
approximate), each feature load shared by the four seeds, the sums kept in SIMD partial
sums in a fixed order (deterministic). Each seed keeps a sorted list of its ``k`` best
(distance, member); a member replaces the worst only when strictly closer, and members are
visited in ascending order, so ties go to the lower row index. Work: the sum over bags of
size^2 x features; memory: the gathered bags (as large as the features of the synthetic rows
of one pass) plus a few k-long lists per thread, never bag x bag.

Small inputs run serial twins of the parallel loops: on a busy machine a parallel region
costs milliseconds to start and join.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53

#: Rows per chunk of the measure passes (fixed, so float sums do not depend on threads).
_CHUNK_ROWS = 8192
#: Seeds sharing one pass over their bag in the neighbour search (fixed by _distances4).
GROUP = 4
#: Bag members per tile of distances.
_TILE = 256
#: Above this many matrix entries (rows x labels, or synthetic rows x features) the
#: measure and synthesis passes run their parallel twins; below it, starting and
#: synchronising threads (very costly on a busy machine) outweighs the work.
PARALLEL_ENTRIES = 1 << 22
#: Above this many (seed, member, feature) triples the neighbour search runs in parallel.
PARALLEL_WORK = 1 << 26
#: Floating-point freedom for the distance sums: reassociation (SIMD partial sums in a
#: fixed order) and fused multiply-add; nothing that changes what is computed.
_FASTMATH = {"reassoc", "contract", "nsz"}

RANKING, UNION, INTERSECTION = 0, 1, 2


@njit(cache=True, inline="always")
def _uniform(key, i):
    """The ``i``-th uniform in [0, 1) of the SplitMix64 stream ``key`` (uint64)."""
    z = key + np.uint64(i) * _GAMMA
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    z = z ^ (z >> np.uint64(31))
    return np.float64(z >> np.uint64(11)) * _TO_UNIT


# ------------------------------------------------------------------------------ measures


@njit(cache=True)
def _count_chunk(y, c, part):
    n_labels = y.shape[1]
    acc = np.zeros(n_labels, np.int64)
    lo = c * _CHUNK_ROWS
    hi = min(y.shape[0], lo + _CHUNK_ROWS)
    for i in range(lo, hi):
        for j in range(n_labels):
            acc[j] += y[i, j]
    part[c] = acc


@njit(cache=True)
def _label_counts_serial(y, part):
    for c in range(part.shape[0]):
        _count_chunk(y, c, part)


@njit(cache=True, parallel=True)
def _label_counts_parallel(y, part):
    for c in prange(part.shape[0]):
        _count_chunk(y, c, part)


def label_counts(y):
    """Positives per label of the C-contiguous uint8 0/1 matrix ``y`` (int64)."""
    n_chunks = max(1, -(-y.shape[0] // _CHUNK_ROWS))
    part = np.zeros((n_chunks, y.shape[1]), np.int64)
    run = _label_counts_parallel if y.size >= PARALLEL_ENTRIES else _label_counts_serial
    run(y, part)
    return part.sum(axis=0)


@njit(cache=True, inline="always", fastmath=_FASTMATH)
def _row_scumble(y, i, ir, log_ir):
    """SCUMBLE of row ``i``: 1 - geometric / arithmetic mean of its labels' IRLbl (0 for
    rows with fewer than two labels). Branch-free sums over the labels."""
    n_labels = y.shape[1]
    m = 0
    s_log = 0.0
    s_ir = 0.0
    for j in range(n_labels):
        b = y[i, j]
        m += b
        s_log += b * log_ir[j]
        s_ir += b * ir[j]
    if m < 2:
        return 0.0
    return 1.0 - np.exp(s_log / m) / (s_ir / m)


@njit(cache=True, fastmath=_FASTMATH)
def _scumble_chunk(y, ir, log_ir, c, part, rows):
    n_labels = y.shape[1]
    acc = np.zeros(n_labels + 1)
    lo = c * _CHUNK_ROWS
    hi = min(y.shape[0], lo + _CHUNK_ROWS)
    for i in range(lo, hi):
        s = _row_scumble(y, i, ir, log_ir)
        if rows.shape[0]:
            rows[i] = s
        if s != 0.0:
            acc[n_labels] += s
            for j in range(n_labels):
                acc[j] += s * y[i, j]
    part[c] = acc


@njit(cache=True)
def _scumble_serial(y, ir, log_ir, part, rows):
    for c in range(part.shape[0]):
        _scumble_chunk(y, ir, log_ir, c, part, rows)


@njit(cache=True, parallel=True)
def _scumble_parallel(y, ir, log_ir, part, rows):
    for c in prange(part.shape[0]):
        _scumble_chunk(y, ir, log_ir, c, part, rows)


def scumble(y, ir, per_row=False):
    """``(total, per_label, rows)``: the sum over rows of SCUMBLE; for each label the sum
    over the rows having it; SCUMBLE of every row when ``per_row`` (else an empty array).
    ``ir`` is IRLbl per label (> 0 wherever a row has the label). Partial sums are taken
    over fixed chunks of rows and added in chunk order, so they do not depend on threads."""
    n, n_labels = y.shape
    log_ir = np.zeros(n_labels)
    np.log(ir, out=log_ir, where=ir > 0)
    n_chunks = max(1, -(-n // _CHUNK_ROWS))
    part = np.zeros((n_chunks, n_labels + 1))
    rows = np.zeros(n if per_row else 0)
    run = _scumble_parallel if y.size >= PARALLEL_ENTRIES else _scumble_serial
    run(y, ir, log_ir, part, rows)
    tot = np.zeros(n_labels + 1)
    for c in range(n_chunks):  # in chunk order
        tot += part[c]
    return float(tot[n_labels]), tot[:n_labels], rows


# ---------------------------------------------------------------------------------- bags


@njit(cache=True)
def bags(y, labels):
    """Rows having each label of ``labels``, as CSC ``(ptr, rows)``: the rows of
    ``labels[b]`` are ``rows[ptr[b]:ptr[b+1]]``, ascending."""
    n = y.shape[0]
    n_bags = labels.shape[0]
    ptr = np.zeros(n_bags + 1, np.int64)
    for b in range(n_bags):
        j = labels[b]
        c = 0
        for i in range(n):
            c += y[i, j] != 0
        ptr[b + 1] = ptr[b] + c
    rows = np.empty(ptr[n_bags], np.int64)
    for b in range(n_bags):
        j = labels[b]
        k = ptr[b]
        for i in range(n):
            if y[i, j]:
                rows[k] = i
                k += 1
    return ptr, rows


# ------------------------------------------------------------------------ neighbour search


@njit(cache=True, inline="always")
def _insert(best_d, best_i, g, m, dist, idx):
    """Insert (dist, idx) into seed ``g``'s ascending list ``best_*[g, :m]`` whose last
    slot is free (or holds the entry to drop); entries equal to ``dist`` stay in front."""
    p = m - 1
    while p > 0 and best_d[g, p - 1] > dist:
        best_d[g, p] = best_d[g, p - 1]
        best_i[g, p] = best_i[g, p - 1]
        p -= 1
    best_d[g, p] = dist
    best_i[g, p] = idx


@njit(cache=True, fastmath=_FASTMATH)
def _distances4(pts, lo, hi, q0, q1, q2, q3, acc):
    """``acc[g, c - lo]`` = squared distance between member ``q_g`` and member ``c``, for
    ``c`` in ``lo:hi``; each feature of ``c`` is loaded once for the four seeds."""
    d = pts.shape[1]
    x0 = pts[q0]
    x1 = pts[q1]
    x2 = pts[q2]
    x3 = pts[q3]
    for c in range(lo, hi):
        r = pts[c]
        a0 = 0.0
        a1 = 0.0
        a2 = 0.0
        a3 = 0.0
        for f in range(d):
            rf = r[f]
            t0 = x0[f] - rf
            t1 = x1[f] - rf
            t2 = x2[f] - rf
            t3 = x3[f] - rf
            a0 += t0 * t0
            a1 += t1 * t1
            a2 += t2 * t2
            a3 += t3 * t3
        acc[0, c - lo] = a0
        acc[1, c - lo] = a1
        acc[2, c - lo] = a2
        acc[3, c - lo] = a3


@njit(cache=True)
def _knn_bag(pts, lo, hi, k, nbr, dist, acc):
    """Neighbours of every member of the bag ``lo:hi`` (rows of ``nbr`` / ``dist``, which
    start as -1 / inf).

    Each pair is measured once: the group of seeds ``p0..p0+3`` meets the members from
    ``p0`` on, and a member beyond the group also takes the seeds into its own list. Every
    list therefore receives its candidates in ascending member order, and a candidate
    enters only when strictly closer than the list's last, so ties go to the lower member.
    """
    m = min(k, hi - lo - 1)
    if m <= 0:
        return
    q = np.empty(GROUP, np.int64)
    for p0 in range(lo, hi, GROUP):
        n_seeds = min(GROUP, hi - p0)
        for g in range(GROUP):  # a short group is padded with its last seed (not used)
            q[g] = p0 + min(g, n_seeds - 1)
        for t0 in range(p0, hi, _TILE):
            t1 = min(hi, t0 + _TILE)
            _distances4(pts, t0, t1, q[0], q[1], q[2], q[3], acc)
            for g in range(n_seeds):
                seed = q[g]
                last = dist[seed, m - 1]
                for c in range(t0, t1):
                    v = acc[g, c - t0]
                    if v < last and c != seed:
                        _insert(dist, nbr, seed, m, v, c)
                        last = dist[seed, m - 1]
            for c in range(max(t0, p0 + n_seeds), t1):
                last = dist[c, m - 1]
                for g in range(n_seeds):
                    v = acc[g, c - t0]
                    if v < last:
                        _insert(dist, nbr, c, m, v, q[g])
                        last = dist[c, m - 1]


@njit(cache=True)
def _knn_bin(pts, bag_ptr, order, start, stop, k, nbr, dist):
    acc = np.empty((GROUP, _TILE))
    for i in range(start, stop):
        b = order[i]
        _knn_bag(pts, bag_ptr[b], bag_ptr[b + 1], k, nbr, dist, acc)


@njit(cache=True)
def _knn_serial(pts, bag_ptr, order, bin_ptr, k, nbr, dist):
    for t in range(bin_ptr.shape[0] - 1):
        _knn_bin(pts, bag_ptr, order, bin_ptr[t], bin_ptr[t + 1], k, nbr, dist)


@njit(cache=True, parallel=True)
def _knn_parallel(pts, bag_ptr, order, bin_ptr, k, nbr, dist):
    for t in prange(bin_ptr.shape[0] - 1):
        _knn_bin(pts, bag_ptr, order, bin_ptr[t], bin_ptr[t + 1], k, nbr, dist)


def bag_knn(pts, bag_ptr, k, n_threads):
    """Exact k nearest neighbours of every bag member among the other members of its bag.

    ``pts`` (P, d) float64 holds the features of the bag members (bag ``b`` is rows
    ``bag_ptr[b]:bag_ptr[b+1]``). Returns ``(nbr, dist, count)``: for member ``p``,
    ``count[p] = min(k, bag size - 1)`` neighbours ``nbr[p, :count[p]]`` as member numbers,
    nearest first (ties: lower member first), squared Euclidean distances in ``dist``;
    unused slots hold -1 / inf. Bags are shared out whole over the threads (largest work
    first, to the least loaded thread); results do not depend on the sharing.
    """
    n_members = pts.shape[0]
    width = max(k, 1)
    nbr = np.full((n_members, width), -1, np.int64)
    dist = np.full((n_members, width), np.inf)
    sizes = np.diff(bag_ptr)
    count = np.repeat(np.minimum(k, np.maximum(sizes - 1, 0)), sizes)
    work = sizes.astype(np.float64) ** 2 * pts.shape[1]
    n_bins = min(n_threads, sizes.shape[0]) if work.sum() >= PARALLEL_WORK else 1
    order = np.argsort(-work, kind="stable")
    if n_bins > 1:
        load = np.zeros(n_bins)
        owner = np.empty(sizes.shape[0], np.int64)
        for b in order:
            t = int(np.argmin(load))
            owner[b] = t
            load[t] += work[b]
        order = np.argsort(owner, kind="stable")
        bin_ptr = np.searchsorted(owner[order], np.arange(n_bins + 1))
        _knn_parallel(pts, bag_ptr, order, bin_ptr, k, nbr, dist)
    else:
        _knn_serial(pts, bag_ptr, order, np.array([0, sizes.shape[0]]), k, nbr, dist)
    return nbr, dist, count


# ------------------------------------------------------------------------------ synthesis


@njit(cache=True)
def _synthesize_row(
    t, x, y, seeds, nbrs, n_nbrs, chosen, numeric, categorical, strategy, per_feature, key,
    out_x, out_y,
):
    n_labels = y.shape[1]
    d = x.shape[1]
    s = seeds[t]
    c = chosen[t]
    m = n_nbrs[t]
    if per_feature:
        for a in range(numeric.shape[0]):
            f = numeric[a]
            xs = np.float64(x[s, f])
            g = _uniform(key, t * d + f)
            out_x[t, f] = xs + g * (np.float64(x[c, f]) - xs)
    else:
        g = _uniform(key, t)
        for a in range(numeric.shape[0]):
            f = numeric[a]
            xs = np.float64(x[s, f])
            out_x[t, f] = xs + g * (np.float64(x[c, f]) - xs)
    for a in range(categorical.shape[0]):
        f = categorical[a]
        best_v = np.float64(x[nbrs[t, 0], f])
        best_n = 0
        for r in range(m):
            v = np.float64(x[nbrs[t, r], f])
            cnt = 0
            for q in range(m):
                cnt += np.float64(x[nbrs[t, q], f]) == v
            if cnt > best_n or (cnt == best_n and v < best_v):
                best_n = cnt
                best_v = v
        out_x[t, f] = best_v
    for j in range(n_labels):
        cnt = np.int64(y[s, j] != 0)
        for r in range(m):
            cnt += y[nbrs[t, r], j] != 0
        if strategy == RANKING:
            keep = 2 * cnt > m + 1
        elif strategy == UNION:
            keep = cnt > 0
        else:
            keep = cnt == m + 1
        out_y[t, j] = 1 if keep else 0


@njit(cache=True)
def _synthesize_serial(
    x, y, seeds, nbrs, n_nbrs, chosen, numeric, categorical, strategy, per_feature, key,
    out_x, out_y,
):
    for t in range(seeds.shape[0]):
        _synthesize_row(
            t, x, y, seeds, nbrs, n_nbrs, chosen, numeric, categorical, strategy,
            per_feature, key, out_x, out_y,
        )


@njit(cache=True, parallel=True)
def _synthesize_parallel(
    x, y, seeds, nbrs, n_nbrs, chosen, numeric, categorical, strategy, per_feature, key,
    out_x, out_y,
):
    for t in prange(seeds.shape[0]):
        _synthesize_row(
            t, x, y, seeds, nbrs, n_nbrs, chosen, numeric, categorical, strategy,
            per_feature, key, out_x, out_y,
        )


def synthesize(
    x, y, seeds, nbrs, n_nbrs, chosen, numeric, categorical, strategy, per_feature, key,
    out_x, out_y,
):
    """Write one synthetic row per entry ``t`` into ``out_x[t]`` / ``out_y[t]``.

    Row ``t`` interpolates between ``x[seeds[t]]`` and its chosen neighbour
    ``x[chosen[t]]`` on the ``numeric`` columns: ``x_s + g (x_c - x_s)`` with ``g`` uniform
    in [0, 1), drawn per feature (``per_feature``) or once per row. ``categorical`` columns
    take the most frequent value among the neighbours ``nbrs[t, :n_nbrs[t]]`` (ties: the
    smallest value). Labels: the ``strategy`` (RANKING: present in more than half of the
    seed and its neighbours; UNION; INTERSECTION) over the seed and its neighbours.
    """
    work = seeds.shape[0] * (x.shape[1] + y.shape[1] * (nbrs.shape[1] + 1))
    run = _synthesize_parallel if work >= PARALLEL_ENTRIES else _synthesize_serial
    run(
        x, y, seeds, nbrs, n_nbrs, chosen, numeric, categorical, strategy, per_feature, key,
        out_x, out_y,
    )


# ------------------------------------------------------------------ random over/under-sampling


@njit(cache=True)
def mlros(row_ptr, row_lab, counts, bag_ptr, bag_rows, bag_label, mean_ir, quota, key):
    """ML-ROS (Charte et al., 2015): clone random rows of the minority bags in turn.

    Bags are visited round-robin; after a clone the bag's label leaves the rotation once its
    IRLbl (max count / count, counts updated with every clone) is <= ``mean_ir``. Stops
    after ``quota`` clones or when no bag is left. Returns the cloned row indices in order.
    ``counts`` is updated in place.
    """
    n_bags = bag_label.shape[0]
    active = np.arange(n_bags)
    n_active = n_bags
    out = np.empty(quota, np.int64)
    max_count = counts.max() if counts.shape[0] else 0
    t = 0
    while t < quota and n_active > 0:
        a = 0
        while a < n_active and t < quota:
            b = active[a]
            lo = bag_ptr[b]
            size = bag_ptr[b + 1] - lo
            r = bag_rows[lo + min(size - 1, np.int64(_uniform(key, t) * size))]
            out[t] = r
            t += 1
            for q in range(row_ptr[r], row_ptr[r + 1]):
                lab = row_lab[q]
                counts[lab] += 1
                if counts[lab] > max_count:
                    max_count = counts[lab]
            if max_count / counts[bag_label[b]] <= mean_ir:
                for z in range(a, n_active - 1):
                    active[z] = active[z + 1]
                n_active -= 1
            else:
                a += 1
    return out[:t].copy()


@njit(cache=True)
def mlrus(row_ptr, row_lab, counts, bag_ptr, bag_rows, bag_label, mean_ir, quota, key, n_rows):
    """ML-RUS (Charte et al., 2015): delete random rows of the majority bags in turn.

    Bags are visited round-robin; each turn deletes a random row still present in the bag.
    A bag's label leaves the rotation once its IRLbl (max count / count, counts updated
    with every deletion) is >= ``mean_ir``, or when its bag is empty. Stops after ``quota``
    deletions or when no bag is left. Returns the boolean mask of kept rows. ``bag_rows``
    and ``counts`` are modified in place.
    """
    n_bags = bag_label.shape[0]
    n_labels = counts.shape[0]
    alive = np.ones(n_rows, np.bool_)
    size = np.empty(n_bags, np.int64)
    for b in range(n_bags):
        size[b] = bag_ptr[b + 1] - bag_ptr[b]
    active = np.arange(n_bags)
    n_active = n_bags
    t = 0
    draw = 0
    while t < quota and n_active > 0:
        a = 0
        while a < n_active and t < quota:
            b = active[a]
            lo = bag_ptr[b]
            r = -1
            while size[b] > 0:  # a random row still alive; dead ones are dropped as met
                pos = lo + min(size[b] - 1, np.int64(_uniform(key, draw) * size[b]))
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
            alive[r] = False
            t += 1
            for q in range(row_ptr[r], row_ptr[r + 1]):
                counts[row_lab[q]] -= 1
            max_count = 0
            for j in range(n_labels):
                if counts[j] > max_count:
                    max_count = counts[j]
            lab_count = counts[bag_label[b]]
            if lab_count == 0 or max_count / lab_count >= mean_ir:
                for z in range(a, n_active - 1):
                    active[z] = active[z + 1]
                n_active -= 1
            else:
                a += 1
    return alive
