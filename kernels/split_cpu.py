"""Group-aware iterative stratification (Sechidis, Tsoumakas & Vlahavas, 2011) on the CPU.

Why Numba: the algorithm is a greedy loop in which every placement changes the demands that
decide the next one, so it cannot be vectorised; the reference runs it as a Python loop per
row. Here it is one compiled loop over typed arrays (CSR / CSC index arrays and small
per-fold demand tables), with no Python objects.

Terms. A *unit* is what is placed as a whole: a group of rows, or a single row when there
are no groups. Unit ``u`` has ``usize[u]`` rows and, for each label ``l`` it contains,
``c[u, l]`` positive rows, stored as CSR: ``ulab[uptr[u]:uptr[u+1]]`` (labels) and ``ucnt``
(counts). *Folds* are the parts of one partition (K folds, or train / test / left out).
``demand[l, f]`` is how many more positives of label ``l`` fold ``f`` should receive and
``size_demand[f]`` how many more rows.

The assignment (:func:`stratify`), on units renumbered in processing order:

1. Take the label with the fewest positives among units not yet placed (ties: the label
   with the smallest ``label_prio``). Place each of its unplaced units, most positives of the
   label first (then in processing order), in the fold with the largest demand for the
   label; ties go to the fold with the largest size demand, remaining ties to
   ``tied[key % n_tied]`` (``key`` a hash of ``seed`` and the unit's position). A placement
   subtracts the unit's counts from every demand of the fold. Repeat until no unplaced unit
   holds a positive.
2. Units without positives go, largest first, to the fold with the largest size demand.
3. A fold that must not be empty (``keep_nonempty``) and is, receives the smallest unit of a
   fold that may be empty or holds two or more.
4. Floors (``floors[l]`` test positives of label ``l`` in fold ``test_fold``): labels, rarest
   first, that are under their floor pull whole units into the test fold, cheapest first
   (fewest rows and over-represented positives per positive gained, units from folds that
   may be empty before the others). A unit that is the last of its fold is traded for the
   smallest test unit that every floor can spare, or left. Moving units into the test fold
   never lowers another label's test count, so a floor once met stays met. If anything moved
   and every floor is met, test units whose removal keeps every floor and brings each of
   their labels closer to its proportional target go back, while that shrinks the test
   fold's excess of rows.
5. Refinement (:func:`_refine`): swaps of two units between two folds, each lowering the sum
   of squared relative deviations of every label's (and the size's) share of each fold, and
   never breaking a floor. Step 1 fixes the rare labels exactly but leaves the labels it
   reaches last (common ones) close to a random spread once most of their rows were placed
   for rarer labels; the swaps even those out.

Cost: O(rows + nonzeros) to aggregate, O(nonzeros * folds + labels^2) to place, a sort of
each deficient label's candidate units in the repair pass, and O(nonzeros) per fold pair and
refinement round.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_LAST_RESORT = 1e15  # repair-key offset for units taken from folds that must stay non-empty
_MAX_CANDIDATES = 1 << 15  # refinement: most candidate units per side of a fold pair
_TRIES = 16  # refinement: most swap partners evaluated exactly for one unit


#: Above this many matrix entries, :func:`row_csr` runs its parallel twin; below it, thread
#: start-up and synchronisation (costly on a busy machine) outweigh the work.
PARALLEL_ENTRIES = 1 << 24


def row_csr(y):
    """Positive labels of every row of the 0/1 matrix ``y`` as CSR ``(indptr, labels)``."""
    if y.size >= PARALLEL_ENTRIES:
        return _row_csr_parallel(y)
    return _row_csr_serial(y)


@njit(cache=True)
def _row_csr_serial(y):
    n, n_labels = y.shape
    indptr = np.zeros(n + 1, np.int64)
    for i in range(n):
        c = 0
        for j in range(n_labels):
            c += y[i, j] != 0
        indptr[i + 1] = indptr[i] + c
    labels = np.empty(indptr[n], np.int32)
    k = 0
    for i in range(n):
        for j in range(n_labels):
            if y[i, j] != 0:
                labels[k] = j
                k += 1
    return indptr, labels


@njit(cache=True, parallel=True)
def _row_csr_parallel(y):
    n, n_labels = y.shape
    counts = np.zeros(n + 1, np.int64)
    for i in prange(n):
        c = 0
        for j in range(n_labels):
            c += y[i, j] != 0
        counts[i + 1] = c
    indptr = np.cumsum(counts)
    labels = np.empty(indptr[n], np.int32)
    for i in prange(n):
        k = indptr[i]
        for j in range(n_labels):
            if y[i, j] != 0:
                labels[k] = j
                k += 1
    return indptr, labels


@njit(cache=True)
def group_units(rptr, rlab, codes, n_groups, n_labels):
    """Aggregate rows (CSR ``rptr`` / ``rlab``) into groups ``codes[i]`` in ``[0, n_groups)``.

    Returns ``(uptr, ulab, ucnt, usize)``: per group, its labels with their positive-row
    counts (CSR, labels in order of first appearance) and its number of rows.
    """
    n = codes.shape[0]
    start = np.zeros(n_groups + 1, np.int64)
    for i in range(n):
        start[codes[i] + 1] += 1
    for g in range(n_groups):
        start[g + 1] += start[g]
    usize = start[1:] - start[:-1]
    rows = np.empty(n, np.int64)
    fill = start[:-1].copy()
    for i in range(n):
        g = codes[i]
        rows[fill[g]] = i
        fill[g] += 1

    nnz = rptr[n]
    ulab = np.empty(nnz, np.int32)
    ucnt = np.empty(nnz, np.int32)
    uptr = np.zeros(n_groups + 1, np.int64)
    scratch = np.zeros(n_labels, np.int32)
    k = 0
    for g in range(n_groups):
        first = k
        for t in range(start[g], start[g + 1]):
            i = rows[t]
            for p in range(rptr[i], rptr[i + 1]):
                j = rlab[p]
                if scratch[j] == 0:
                    ulab[k] = j
                    k += 1
                scratch[j] += 1
        for p in range(first, k):
            j = ulab[p]
            ucnt[p] = scratch[j]
            scratch[j] = 0
        uptr[g + 1] = k
    return uptr, ulab[:k].copy(), ucnt[:k].copy(), usize


@njit(cache=True, inline="always")
def _best_fold(dl, sd, key):
    """Fold with the largest ``dl``, then the largest ``sd``; ``key`` picks among ties."""
    n_folds = sd.shape[0]
    best = 0
    ties = 1
    for f in range(1, n_folds):
        if dl[f] > dl[best] or (dl[f] == dl[best] and sd[f] > sd[best]):
            best = f
            ties = 1
        elif dl[f] == dl[best] and sd[f] == sd[best]:
            ties += 1
    if ties > 1:
        pick = key % ties
        for f in range(n_folds):
            if dl[f] == dl[best] and sd[f] == sd[best]:
                if pick == 0:
                    return f
                pick -= 1
    return best


@njit(cache=True)
def _move(u, f, fold, uptr, ulab, ucnt, usize, demand, size_demand, n_units, test_counts,
          test_fold):
    """Put unit ``u`` into fold ``f`` (taking it out of its current fold, if any)."""
    src = fold[u]
    fold[u] = f
    size_demand[f] -= usize[u]
    n_units[f] += 1
    if src >= 0:
        size_demand[src] += usize[u]
        n_units[src] -= 1
    for p in range(uptr[u], uptr[u + 1]):
        m = ulab[p]
        c = ucnt[p]
        demand[m, f] -= c
        if src >= 0:
            demand[m, src] += c
            if src == test_fold:
                test_counts[m] -= c
        if f == test_fold:
            test_counts[m] += c


@njit(cache=True, inline="always")
def _tie_key(seed, k):
    """A well-mixed non-negative int64 from ``seed`` and ``k`` (SplitMix64's finaliser)."""
    x = np.uint64(seed) + np.uint64(k) * np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    x = x ^ (x >> np.uint64(31))
    return np.int64(x >> np.uint64(1))


@njit(cache=True)
def _in_order(uptr, ulab, ucnt, usize, order, seed, unit_rows):
    """The units renumbered by processing position: unit ``k`` of the result is ``order[k]``,
    with its tie-breaking key.

    One gather up front, so that every later pass reads the arrays in increasing order
    instead of jumping around them. ``unit_rows``: every unit is one row with counts of 1
    (those arrays are then not read).
    """
    n_units = order.shape[0]
    ptr = np.empty(n_units + 1, np.int64)
    ptr[0] = 0
    for k in range(n_units):
        u = order[k]
        ptr[k + 1] = ptr[k] + uptr[u + 1] - uptr[u]
    lab = np.empty(ptr[n_units], np.int32)
    tie = np.empty(n_units, np.int64)
    for k in range(n_units):
        u = order[k]
        q = ptr[k]
        for p in range(uptr[u], uptr[u + 1]):
            lab[q] = ulab[p]
            q += 1
        tie[k] = _tie_key(seed, k)
    if unit_rows:
        return ptr, lab, np.ones(ptr[n_units], np.int32), np.ones(n_units, np.int64), tie
    cnt = np.empty(ptr[n_units], np.int32)
    size = np.empty(n_units, np.int64)
    for k in range(n_units):
        u = order[k]
        q = ptr[k]
        for p in range(uptr[u], uptr[u + 1]):
            cnt[q] = ucnt[p]
            q += 1
        size[k] = usize[u]
    return ptr, lab, cnt, size, tie


@njit(cache=True)
def _label_lists(uptr, ulab, ucnt, n_labels):
    """Per label, its units in increasing order, then most positives first (CSC)."""
    nnz = ulab.shape[0]
    lptr = np.zeros(n_labels + 1, np.int64)
    total = np.zeros(n_labels, np.int64)
    max_count = 0
    for p in range(nnz):
        lptr[ulab[p] + 1] += 1
        total[ulab[p]] += ucnt[p]
        max_count = max(max_count, ucnt[p])
    for j in range(n_labels):
        lptr[j + 1] += lptr[j]
    lunit = np.empty(nnz, np.int64)
    lcnt = np.empty(nnz, np.int32)
    fill = lptr[:-1].copy()
    for u in range(uptr.shape[0] - 1):
        for p in range(uptr[u], uptr[u + 1]):
            j = ulab[p]
            lunit[fill[j]] = u
            lcnt[fill[j]] = ucnt[p]
            fill[j] += 1
    if max_count > 1:  # groups: each label's units by decreasing count (stable counting sort)
        hist = np.zeros(max_count + 2, np.int64)
        tmp_unit = np.empty(nnz, np.int64)
        tmp_cnt = np.empty(nnz, np.int32)
        for j in range(n_labels):
            a, b = lptr[j], lptr[j + 1]
            if b - a < 2:
                continue
            hist[:] = 0
            for s in range(a, b):
                hist[max_count - lcnt[s] + 1] += 1
            for c in range(1, max_count + 2):
                hist[c] += hist[c - 1]
            for s in range(a, b):
                d = a + hist[max_count - lcnt[s]]
                hist[max_count - lcnt[s]] += 1
                tmp_unit[d] = lunit[s]
                tmp_cnt[d] = lcnt[s]
            lunit[a:b] = tmp_unit[a:b]
            lcnt[a:b] = tmp_cnt[a:b]
    return lptr, lunit, lcnt, total


@njit(cache=True)
def stratify(uptr, ulab, ucnt, usize, unit_rows, order, seed, label_prio, demand, size_demand,
             keep_nonempty, test_fold, floors, target, ratios, refine_rounds, n_cand):
    """Assign every unit to a fold (see the module docstring).

    ``unit_rows``: every unit is one row (counts and sizes 1); ``order``: the units in
    processing order (a permutation); ``seed``: a non-negative int from which each unit's
    fold tie-breaking key is derived; ``label_prio``: per label, a rank that breaks
    ties between equally rare labels; ``demand`` (labels x folds) and ``size_demand`` (folds):
    targets, updated in place to what is left; ``keep_nonempty`` (folds, bool); ``test_fold``:
    the fold the ``floors`` apply to (-1: none); ``target``: each label's proportional number
    of test positives (the repair pass moves units back only towards it); ``ratios``: each
    fold's share of the rows (the refinement's targets); ``refine_rounds`` and ``n_cand``:
    at most that many refinement rounds (0: none), starting with that many candidates.

    Returns ``(fold, test_counts)``: the fold of every unit and the test fold's positives per
    label (zeros when ``test_fold`` is -1).
    """
    ptr, lab, cnt, size, tie = _in_order(uptr, ulab, ucnt, usize, order, seed, unit_rows)
    placed, test_counts = _stratify_in_order(
        ptr, lab, cnt, size, tie, label_prio, demand, size_demand, keep_nonempty, test_fold,
        floors, target, ratios, refine_rounds, n_cand,
    )
    fold = np.empty_like(placed)
    for k in range(order.shape[0]):
        fold[order[k]] = placed[k]
    return fold, test_counts


@njit(cache=True)
def _stratify_in_order(uptr, ulab, ucnt, usize, tie_key, label_prio, demand, size_demand,
                       keep_nonempty, test_fold, floors, target, ratios, refine_rounds, n_cand):
    """:func:`stratify` for units numbered in processing order."""
    n_units_total = usize.shape[0]
    n_labels, n_folds = demand.shape
    lptr, lunit, lcnt, total = _label_lists(uptr, ulab, ucnt, n_labels)
    fold = np.full(n_units_total, -1, np.int64)
    n_units = np.zeros(n_folds, np.int64)
    test_counts = np.zeros(n_labels, np.int64)
    remaining = total.copy()
    placed = np.zeros(n_units_total, np.uint8)  # 1 byte per unit: the hot check stays in cache

    # 1. labelled units, rarest label first
    while True:
        label = -1
        for j in range(n_labels):
            if remaining[j] > 0 and (
                label < 0
                or remaining[j] < remaining[label]
                or (remaining[j] == remaining[label] and label_prio[j] < label_prio[label])
            ):
                label = j
        if label < 0:
            break
        dl = demand[label]
        for s in range(lptr[label], lptr[label + 1]):
            u = lunit[s]
            if placed[u]:
                continue
            placed[u] = 1
            f = _best_fold(dl, size_demand, tie_key[u])
            # the placement is written out here: a call per unit that passes arrays costs
            # reference-count updates on each of them, several times the work itself
            fold[u] = f
            size_demand[f] -= usize[u]
            n_units[f] += 1
            for p in range(uptr[u], uptr[u + 1]):
                m = ulab[p]
                c = ucnt[p]
                demand[m, f] -= c
                remaining[m] -= c
                if f == test_fold:
                    test_counts[m] += c

    # 2. units without positives, largest first
    n_rest = 0
    for u in range(n_units_total):
        if fold[u] < 0:
            n_rest += 1
    rest = np.empty(n_rest, np.int64)
    n_rest = 0
    for u in range(n_units_total):
        if fold[u] < 0:
            rest[n_rest] = u
            n_rest += 1
    if n_rest > 1 and usize.max() > 1:
        rest = rest[np.argsort(-usize[rest], kind="mergesort")]
    flat = np.zeros(n_folds)
    for u in rest:  # no labels: only sizes change
        f = _best_fold(flat, size_demand, tie_key[u])
        fold[u] = f
        size_demand[f] -= usize[u]
        n_units[f] += 1

    # 3. no required fold left empty
    for f in range(n_folds):
        if not keep_nonempty[f] or n_units[f] > 0:
            continue
        donor = -1
        for u in range(n_units_total):
            g = fold[u]
            if g != f and (n_units[g] > 1 or not keep_nonempty[g]) and (
                donor < 0
                or usize[u] < usize[donor]
                or (usize[u] == usize[donor]
                    and uptr[u + 1] - uptr[u] < uptr[donor + 1] - uptr[donor])
            ):
                donor = u
        if donor >= 0:
            _move(donor, f, fold, uptr, ulab, ucnt, usize, demand, size_demand, n_units,
                  test_counts, test_fold)

    # 4. test floors
    if test_fold >= 0:
        _repair(uptr, ulab, ucnt, usize, label_prio, demand, size_demand,
                keep_nonempty, test_fold, floors, target, fold, n_units, test_counts,
                lptr, lunit, lcnt, total)

    # 5. local improvement by swaps
    if refine_rounds > 0 and n_folds > 1:
        _refine(uptr, ulab, ucnt, usize, fold, ratios, total, test_fold, floors, test_counts,
                refine_rounds, n_cand)
    return fold, test_counts


@njit(cache=True)
def _repair(uptr, ulab, ucnt, usize, label_prio, demand, size_demand, keep_nonempty,
            test_fold, floors, target, fold, n_units, test_counts, lptr, lunit, lcnt, total):
    n_labels, n_folds = demand.shape
    by_rarity = np.argsort(total * n_labels + label_prio, kind="mergesort")
    moved = False
    for label in by_rarity:
        need = floors[label] - test_counts[label]
        if need <= 0:
            continue
        a, b = lptr[label], lptr[label + 1]
        cand = np.empty(b - a, np.int64)
        gain = np.empty(b - a, np.int64)
        key = np.empty(b - a)
        n_cand = 0
        for s in range(a, b):
            u = lunit[s]
            if fold[u] == test_fold:
                continue
            over = 0
            for p in range(uptr[u], uptr[u + 1]):
                m = ulab[p]
                if m != label and test_counts[m] >= target[m]:
                    over += ucnt[p]
            cand[n_cand] = u
            gain[n_cand] = lcnt[s]
            key[n_cand] = (usize[u] + over) / lcnt[s]
            if keep_nonempty[fold[u]]:
                key[n_cand] += _LAST_RESORT
            n_cand += 1
        for k in np.argsort(key[:n_cand], kind="mergesort"):
            u = cand[k]
            src = fold[u]
            if keep_nonempty[src] and n_units[src] <= 1:
                # u is all that is left there: trade it for the smallest test unit that
                # every floor can spare (it holds none of this label, which is short)
                w = _spare_unit(uptr, ulab, ucnt, usize, fold, test_fold, floors,
                                test_counts)
                if w < 0:
                    continue
                _move(w, src, fold, uptr, ulab, ucnt, usize, demand, size_demand, n_units,
                      test_counts, test_fold)
            _move(u, test_fold, fold, uptr, ulab, ucnt, usize, demand, size_demand, n_units,
                  test_counts, test_fold)
            moved = True
            need -= gain[k]
            if need <= 0:
                break
    if not moved:
        return
    for j in range(n_labels):
        if test_counts[j] < floors[j]:
            return  # some floor out of reach: keep every unit that helps it

    # Give back rows the test fold no longer needs, where that helps every label involved.
    for u in range(usize.shape[0]):
        excess = -size_demand[test_fold]
        if excess <= 0:
            break
        if fold[u] != test_fold or usize[u] >= 2 * excess or n_units[test_fold] <= 1:
            continue
        ok = True
        for p in range(uptr[u], uptr[u + 1]):
            m = ulab[p]
            c = ucnt[p]
            if test_counts[m] - c < floors[m] or 2.0 * (test_counts[m] - target[m]) < c:
                ok = False
                break
        if not ok:
            continue
        dest = -1
        for f in range(n_folds):
            if f != test_fold and (dest < 0 or size_demand[f] > size_demand[dest]):
                dest = f
        if dest < 0 or size_demand[dest] <= 0:
            break
        _move(u, dest, fold, uptr, ulab, ucnt, usize, demand, size_demand, n_units,
              test_counts, test_fold)


@njit(cache=True)
def _spare_unit(uptr, ulab, ucnt, usize, fold, test_fold, floors, test_counts):
    """The smallest unit of the test fold whose removal keeps every floor (-1: none)."""
    best = -1
    for w in range(usize.shape[0]):
        if fold[w] != test_fold or (best >= 0 and usize[w] >= usize[best]):
            continue
        ok = True
        for p in range(uptr[w], uptr[w + 1]):
            if test_counts[ulab[p]] - ucnt[p] < floors[ulab[p]]:
                ok = False
                break
        if ok:
            best = w
    return best


@njit(cache=True)
def _refine(uptr, ulab, ucnt, usize, fold, ratios, total, test_fold, floors, test_counts,
            max_rounds, n_cand):
    """Swap units between folds while that lowers the sum of squared relative deviations.

    The objective is sum over folds f and labels l of ((C[f, l] - r_f P_l) / P_l)^2 plus the
    same for fold sizes (rows count as a label every row has): every label's share of each
    fold as close to the fold's share of the rows as possible, rare labels weighing as much as
    common ones. For each pair of folds a round scores every unit of the two folds by what
    moving it alone would change, keeps the best of each side (``n_cand`` at first, four
    times as many after a round that swapped a quarter of them), and for each candidate of
    one side, best first, applies the best of the first ``_TRIES`` exact evaluations of a
    swap with a candidate of the other side that lowers the objective (shared labels and
    floors accounted for). Rounds repeat until one applies no swap, at most ``max_rounds``.

    Swaps keep every fold's number of units, so no fold becomes empty; a group stays whole.
    """
    n_units_total = usize.shape[0]
    n_labels = total.shape[0]
    n_folds = ratios.shape[0]
    n_samples = usize.sum()
    w = np.zeros(n_labels)
    for j in range(n_labels):
        if total[j] > 0:
            w[j] = 1.0 / (float(total[j]) * float(total[j]))
    ws = 1.0 / (float(n_samples) * float(n_samples))
    # deviations from the proportional targets
    dev = np.zeros((n_folds, n_labels))
    sdev = np.zeros(n_folds)
    for f in range(n_folds):
        sdev[f] = -ratios[f] * n_samples
        for j in range(n_labels):
            dev[f, j] = -ratios[f] * total[j]
    for u in range(n_units_total):
        f = fold[u]
        sdev[f] += usize[u]
        for p in range(uptr[u], uptr[u + 1]):
            dev[f, ulab[p]] += ucnt[p]
    tiny = 1e-9 * min(ws, w[w > 0].min()) if (w > 0).any() else 1e-9 * ws

    # the units of each fold: members[start[f]:start[f + 1]] (swaps keep the counts)
    start = np.zeros(n_folds + 1, np.int64)
    for u in range(n_units_total):
        start[fold[u] + 1] += 1
    for f in range(n_folds):
        start[f + 1] += start[f]
    members = np.empty(n_units_total, np.int64)
    where = np.empty(n_units_total, np.int64)
    fill = start[:-1].copy()
    for u in range(n_units_total):
        members[fill[fold[u]]] = u
        where[u] = fill[fold[u]]
        fill[fold[u]] += 1

    score = np.empty(n_units_total)
    quad = np.empty(n_units_total)
    # Candidates per side: n_cand at first; a pair of folds whose round used a good part of
    # them gets four times as many next round (up to _MAX_CANDIDATES), so that splits which
    # need many swaps take few rounds.
    top = min(max(n_cand, _MAX_CANDIDATES), n_units_total)
    cap = np.full((n_folds, n_folds), min(n_cand, top), np.int64)
    cand_a = np.empty(top, np.int64)
    cand_b = np.empty(top, np.int64)
    gap = np.empty(n_labels)  # dev[a] - dev[b]
    mark = np.zeros(n_labels, np.int64)
    mark_v = np.zeros(n_labels, np.int64)
    done = np.zeros(n_units_total, np.bool_)
    for _ in range(max_rounds):
        swaps = 0
        for a in range(n_folds):
            for b in range(a + 1, n_folds):
                for j in range(n_labels):
                    gap[j] = dev[a, j] - dev[b, j]
                sgap = sdev[a] - sdev[b]
                # Half the objective change of moving one unit alone (a -> b or b -> a),
                # and its quadratic part. A swap of u and v changes half the objective by
                # score[u] + score[v] - 2 * shared, where shared (the labels both hold) is at
                # most sqrt(quad[u] * quad[v]): pairs whose bound is >= 0 are not evaluated.
                for side in range(2):
                    f = a if side == 0 else b
                    for t in range(start[f], start[f + 1]):
                        u = members[t]
                        s = usize[u]
                        q = ws * s * s
                        acc = ws * s * sgap
                        for p in range(uptr[u], uptr[u + 1]):
                            c = ucnt[p]
                            q += w[ulab[p]] * c * c
                            acc += w[ulab[p]] * c * gap[ulab[p]]
                        quad[u] = q
                        score[u] = q - acc if side == 0 else q + acc
                k_ab = cap[a, b]
                na = _best_candidates(score, members[start[a]:start[a + 1]], cand_a[:k_ab])
                nb = _best_candidates(score, members[start[b]:start[b + 1]], cand_b[:k_ab])
                root_b = 0.0
                for k in range(nb):
                    root_b = max(root_b, np.sqrt(quad[cand_b[k]]))
                pair_swaps = 0
                first = 0  # cand_b[:first] are all swapped already
                for i in range(na):
                    u = cand_a[i]
                    root_u = np.sqrt(quad[u])
                    while first < nb and done[cand_b[first]]:
                        first += 1
                    if first == nb:
                        break
                    # candidates are in ascending score: nothing further can help
                    if score[u] + score[cand_b[first]] - 2.0 * root_u * root_b >= -tiny:
                        break
                    best_v = -1
                    best = -tiny
                    tried = 0
                    for k in range(first, nb):
                        v = cand_b[k]
                        bound = score[u] + score[v]
                        if bound - 2.0 * root_u * root_b >= -tiny:
                            break
                        if done[v] or bound - 2.0 * root_u * np.sqrt(quad[v]) >= -tiny:
                            continue
                        delta = _swap_change(u, v, uptr, ulab, ucnt, usize, w, ws, gap, sgap,
                                             mark, mark_v, a, b, test_fold, floors,
                                             test_counts)
                        if delta < best:
                            best = delta
                            best_v = v
                        tried += 1
                        if tried == _TRIES:
                            break
                    if best_v < 0:
                        continue
                    pair_swaps += 1
                    v = best_v
                    done[u] = True
                    done[v] = True
                    fold[u] = b
                    fold[v] = a
                    members[where[u]] = v
                    members[where[v]] = u
                    where[u], where[v] = where[v], where[u]
                    moved = usize[u] - usize[v]
                    sdev[a] -= moved
                    sdev[b] += moved
                    sgap -= 2 * moved
                    for p in range(uptr[u], uptr[u + 1]):
                        j = ulab[p]
                        c = ucnt[p]
                        dev[a, j] -= c
                        dev[b, j] += c
                        gap[j] -= 2 * c
                        if a == test_fold:
                            test_counts[j] -= c
                        elif b == test_fold:
                            test_counts[j] += c
                    for p in range(uptr[v], uptr[v + 1]):
                        j = ulab[p]
                        c = ucnt[p]
                        dev[b, j] -= c
                        dev[a, j] += c
                        gap[j] += 2 * c
                        if b == test_fold:
                            test_counts[j] -= c
                        elif a == test_fold:
                            test_counts[j] += c
                    swaps += 1
                for i in range(na):
                    done[cand_a[i]] = False
                for k in range(nb):
                    done[cand_b[k]] = False
                if 4 * pair_swaps >= k_ab:
                    cap[a, b] = min(4 * k_ab, top)
        if swaps == 0:
            break


@njit(cache=True)
def _best_candidates(score, units, out):
    """Fill ``out`` with the ``units`` of lowest ``score``, ascending; their number."""
    cap = out.shape[0]
    n = units.shape[0]
    if cap <= 512:  # few: insertion into a sorted list (most units fail the first test)
        k = 0
        for u in units:
            s = score[u]
            if k == cap and s >= score[out[k - 1]]:
                continue
            t = k if k < cap else cap - 1
            while t > 0 and score[out[t - 1]] > s:
                if t < cap:
                    out[t] = out[t - 1]
                t -= 1
            out[t] = u
            if k < cap:
                k += 1
        return k
    values = np.empty(n)
    for t in range(n):
        values[t] = score[units[t]]
    if n > cap:  # keep the cap lowest: those under the cap-th value, then ties with it
        cut = np.partition(values.copy(), cap - 1)[cap - 1]
        k = 0
        for t in range(n):
            if values[t] < cut:
                out[k] = units[t]
                k += 1
        for t in range(n):
            if k == cap:
                break
            if values[t] == cut:
                out[k] = units[t]
                k += 1
    else:
        out[:n] = units
        k = n
    kept = out[:k].copy()
    keys = np.empty(k)
    for t in range(k):
        keys[t] = score[kept[t]]
    order = np.argsort(keys, kind="mergesort")
    for t in range(k):
        out[t] = kept[order[t]]
    return k


@njit(cache=True)
def _swap_change(u, v, uptr, ulab, ucnt, usize, w, ws, gap, sgap, mark, mark_v, a, b,
                 test_fold, floors, test_counts):
    """Half the objective change of swapping ``u`` (fold a) with ``v`` (fold b); +inf when
    the swap would take a label of the test fold under its floor."""
    su = usize[u]
    sv = usize[v]
    delta = ws * (su * (su - sgap) + sv * (sv + sgap) - 2.0 * su * sv)
    for p in range(uptr[u], uptr[u + 1]):
        j = ulab[p]
        c = ucnt[p]
        mark[j] = c
        delta += w[j] * c * (c - gap[j])
    for p in range(uptr[v], uptr[v + 1]):
        j = ulab[p]
        c = ucnt[p]
        delta += w[j] * (c * (c + gap[j]) - 2.0 * c * mark[j])
    for q in range(uptr[v], uptr[v + 1]):
        mark_v[ulab[q]] = ucnt[q]
    bad = False
    if test_fold == a or test_fold == b:
        # net change of the test fold's positives of each label touched
        sign = 1 if test_fold == b else -1
        for p in range(uptr[u], uptr[u + 1]):
            j = ulab[p]
            net = sign * (mark[j] - mark_v[j])
            if net < 0 and test_counts[j] + net < floors[j]:
                bad = True
        for q in range(uptr[v], uptr[v + 1]):
            j = ulab[q]
            net = -sign * mark_v[j]
            if mark[j] == 0 and net < 0 and test_counts[j] + net < floors[j]:
                bad = True
    for p in range(uptr[u], uptr[u + 1]):
        mark[ulab[p]] = 0
    for q in range(uptr[v], uptr[v + 1]):
        mark_v[ulab[q]] = 0
    return np.inf if bad else delta
