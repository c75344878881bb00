# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
# distutils: extra_compile_args = -ffp-contract=off
"""Group-aware iterative stratification (Sechidis, Tsoumakas & Vlahavas, 2011) on the CPU.

Why compiled: the algorithm is a greedy loop in which every placement changes the demands
that decide the next one, so it cannot be vectorised; the reference runs it as a Python loop
per row. Here it is one loop in C over CSR / CSC index arrays and small per-fold demand
tables, with the GIL released and no Python objects. It is sequential by nature: no blocks,
no threads. Floating-point expressions are written in the same order as the formulas below
and built without contraction into fused multiply-adds, so a split depends only on the
input and the seed, not on the compiler's target.

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
   ``tied[key % n_tied]`` (``key`` a hash of ``seed`` and the unit's position: SplitMix64's
   finaliser of ``seed + position * golden``). A placement subtracts the unit's counts from
   every demand of the fold. Repeat until no unplaced unit holds a positive.
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
5. Refinement: swaps of two units between two folds, each lowering the sum of squared
   relative deviations of every label's (and the size's) share of each fold, and never
   breaking a floor. Step 1 fixes the rare labels exactly but leaves the labels it reaches
   last (common ones) close to a random spread once most of their rows were placed for
   rarer labels; the swaps even those out.

Contract (``fastml.split`` guarantees it): ``uptr`` int64 (units + 1) with labels ``ulab``
(int32, in ``[0, labels)``) and counts ``ucnt`` (int32, >= 1); ``usize`` int64 >= 1;
``order`` a permutation of the units; ``demand`` (labels x folds) and ``size_demand``
float64, C-contiguous and writable; ``test_fold`` in ``[-1, folds)``. The indices are not
checked (bounds checks off). Other dtypes are converted on entry.

Cost: O(rows + nonzeros) to aggregate, O(nonzeros * folds + labels^2) to place, a sort of
each deficient label's candidate units in the repair pass, and O(nonzeros) per fold pair and
refinement round.
"""

import numpy as np

cimport numpy as cnp
from libc.math cimport INFINITY, sqrt
from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t
from libc.string cimport memcpy

from fastml.kernels.cpu.labels import row_csr  # noqa: F401  (part of this module's API)

cnp.import_array()

cdef extern from *:
    """
    static inline int64_t fastml_split_tie_key(uint64_t seed, int64_t k) {
        uint64_t x = seed + (uint64_t)k * 0x9E3779B97F4A7C15ULL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
        x = x ^ (x >> 31);
        return (int64_t)(x >> 1);
    }
    """
    int64_t tie_key "fastml_split_tie_key"(uint64_t seed, int64_t k) noexcept nogil

cdef double LAST_RESORT = 1e15  # repair-key offset for units taken from folds kept non-empty
cdef Py_ssize_t MAX_CANDIDATES = 1 << 15  # refinement: most candidate units per side of a pair
cdef Py_ssize_t TRIES = 16  # refinement: most swap partners evaluated exactly for one unit


# ----------------------------------------------------------------------------- sort helpers
ctypedef fused key_t:
    int64_t
    double


cdef void stable_argsort(const key_t* keys, int64_t* idx, int64_t* tmp,
                         Py_ssize_t n) noexcept nogil:
    """``idx[:n]`` = the positions ``0..n-1`` ordered by ``keys`` (ascending; equal keys keep
    their order: the order of a stable sort, so of NumPy's ``kind="mergesort"``)."""
    cdef Py_ssize_t i, j, k, lo, mid, hi, width
    cdef int64_t v
    cdef int64_t* src = idx
    cdef int64_t* dst = tmp
    cdef int64_t* swap
    cdef key_t kv
    for i in range(n):
        idx[i] = i
    # runs of 16 by insertion, then bottom-up merges
    lo = 0
    while lo < n:
        hi = min(n, lo + 16)
        for i in range(lo + 1, hi):
            v = idx[i]
            kv = keys[v]
            j = i
            while j > lo and keys[idx[j - 1]] > kv:
                idx[j] = idx[j - 1]
                j -= 1
            idx[j] = v
        lo = hi
    width = 16
    while width < n:
        lo = 0
        while lo < n:
            mid = min(n, lo + width)
            hi = min(n, lo + 2 * width)
            i = lo
            j = mid
            k = lo
            while i < mid and j < hi:
                if keys[src[j]] < keys[src[i]]:
                    dst[k] = src[j]
                    j += 1
                else:
                    dst[k] = src[i]
                    i += 1
                k += 1
            while i < mid:
                dst[k] = src[i]
                i += 1
                k += 1
            while j < hi:
                dst[k] = src[j]
                j += 1
                k += 1
            lo = hi
        swap = src
        src = dst
        dst = swap
        width *= 2
    if src != idx:
        memcpy(idx, src, n * sizeof(int64_t))


cdef double kth_smallest(double* v, Py_ssize_t n, Py_ssize_t k) noexcept nogil:
    """The value of rank ``k`` (0-based) of ``v[:n]`` (reorders ``v``), as ``np.partition``."""
    cdef Py_ssize_t lo = 0, hi = n - 1, i, j, mid
    cdef double pivot, a, b, c, t
    while hi > lo:
        mid = lo + (hi - lo) // 2
        a = v[lo]
        b = v[mid]
        c = v[hi]
        if a < b:
            pivot = b if b < c else (c if a < c else a)
        else:
            pivot = a if a < c else (c if b < c else b)
        i = lo
        j = hi
        while i <= j:
            while v[i] < pivot:
                i += 1
            while v[j] > pivot:
                j -= 1
            if i <= j:
                t = v[i]
                v[i] = v[j]
                v[j] = t
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            return v[k]
    return v[k]


# ------------------------------------------------------------------------------ aggregation
def group_units(rptr, rlab, codes, Py_ssize_t n_groups, Py_ssize_t n_labels):
    """Aggregate rows (CSR ``rptr`` / ``rlab``) into groups ``codes[i]`` in ``[0, n_groups)``.

    Returns ``(uptr, ulab, ucnt, usize)``: per group, its labels with their positive-row
    counts (CSR, labels in order of first appearance) and its number of rows.
    """
    cdef const int64_t[::1] rp = np.ascontiguousarray(rptr, np.int64)
    cdef const int32_t[::1] rl = np.ascontiguousarray(rlab, np.int32)
    cdef const int64_t[::1] cd = np.ascontiguousarray(codes, np.int64)
    cdef Py_ssize_t n = cd.shape[0], i, g, t, p, k = 0, first
    cdef int32_t j
    start_a = np.zeros(n_groups + 1, np.int64)
    rows_a = np.empty(n, np.int64)
    fill_a = np.empty(n_groups, np.int64)
    cdef int64_t nnz = rp[n] if n else 0
    ulab_a = np.empty(nnz, np.int32)
    ucnt_a = np.empty(nnz, np.int32)
    uptr_a = np.zeros(n_groups + 1, np.int64)
    scratch_a = np.zeros(n_labels, np.int32)
    cdef int64_t[::1] start = start_a, rows = rows_a, fill = fill_a, uptr = uptr_a
    cdef int32_t[::1] ulab = ulab_a, ucnt = ucnt_a, scratch = scratch_a
    with nogil:
        for i in range(n):
            start[cd[i] + 1] += 1
        for g in range(n_groups):
            start[g + 1] += start[g]
            fill[g] = start[g]
        for i in range(n):
            g = cd[i]
            rows[fill[g]] = i
            fill[g] += 1
        for g in range(n_groups):
            first = k
            for t in range(start[g], start[g + 1]):
                i = rows[t]
                for p in range(rp[i], rp[i + 1]):
                    j = rl[p]
                    if scratch[j] == 0:
                        ulab[k] = j
                        k += 1
                    scratch[j] += 1
            for p in range(first, k):
                j = ulab[p]
                ucnt[p] = scratch[j]
                scratch[j] = 0
            uptr[g + 1] = k
    usize = np.diff(start_a)
    return uptr_a, ulab_a[:k].copy(), ucnt_a[:k].copy(), usize


# ---------------------------------------------------------------------------- the state
cdef struct State:
    Py_ssize_t n_units, n_labels, n_folds, test_fold
    const int64_t* ptr      # units in processing order: CSR of labels / counts, sizes, keys
    const int32_t* lab
    const int32_t* cnt
    const int64_t* size
    const int64_t* tie
    const int64_t* prio
    double* demand          # labels x folds
    double* size_demand
    const uint8_t* keep
    const int64_t* floors
    const double* target
    int64_t* fold
    int64_t* n_in           # units per fold
    int64_t* test_counts
    # per label: its units (most positives first), their counts, its total (CSC)
    int64_t* lptr
    int64_t* lunit
    int32_t* lcnt
    int64_t* total


cdef inline Py_ssize_t best_fold(const double* dl, const double* sd, Py_ssize_t n_folds,
                                 int64_t key) noexcept nogil:
    """Fold with the largest ``dl``, then the largest ``sd``; ``key`` picks among ties."""
    cdef Py_ssize_t best = 0, f
    cdef int64_t ties = 1, pick
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


cdef void move(State* s, Py_ssize_t u, Py_ssize_t f) noexcept nogil:
    """Put unit ``u`` into fold ``f`` (taking it out of its current fold, if any)."""
    cdef Py_ssize_t F = s.n_folds, p
    cdef int64_t src = s.fold[u]
    cdef int32_t m, c
    s.fold[u] = f
    s.size_demand[f] -= s.size[u]
    s.n_in[f] += 1
    if src >= 0:
        s.size_demand[src] += s.size[u]
        s.n_in[src] -= 1
    for p in range(s.ptr[u], s.ptr[u + 1]):
        m = s.lab[p]
        c = s.cnt[p]
        s.demand[m * F + f] -= c
        if src >= 0:
            s.demand[m * F + src] += c
            if src == s.test_fold:
                s.test_counts[m] -= c
        if f == s.test_fold:
            s.test_counts[m] += c


cdef void label_lists(State* s, int64_t* tmp_unit, int32_t* tmp_cnt,
                      int64_t* hist) noexcept nogil:
    """Per label, its units in increasing order, then most positives first (CSC)."""
    cdef Py_ssize_t L = s.n_labels, nnz = s.ptr[s.n_units], p, u, j, a, b, q, d
    cdef int32_t max_count = 0, cc
    for p in range(nnz):
        s.lptr[s.lab[p] + 1] += 1
        s.total[s.lab[p]] += s.cnt[p]
        if s.cnt[p] > max_count:
            max_count = s.cnt[p]
    for j in range(L):
        s.lptr[j + 1] += s.lptr[j]
    for j in range(L):
        hist[j] = s.lptr[j]  # fill positions
    for u in range(s.n_units):
        for p in range(s.ptr[u], s.ptr[u + 1]):
            j = s.lab[p]
            s.lunit[hist[j]] = u
            s.lcnt[hist[j]] = s.cnt[p]
            hist[j] += 1
    if max_count <= 1:
        return
    # groups: each label's units by decreasing count (stable counting sort)
    for j in range(L):
        a = s.lptr[j]
        b = s.lptr[j + 1]
        if b - a < 2:
            continue
        for q in range(max_count + 2):
            hist[q] = 0
        for q in range(a, b):
            hist[max_count - s.lcnt[q] + 1] += 1
        for q in range(1, max_count + 2):
            hist[q] += hist[q - 1]
        for q in range(a, b):
            cc = max_count - s.lcnt[q]
            d = a + hist[cc]
            hist[cc] += 1
            tmp_unit[d] = s.lunit[q]
            tmp_cnt[d] = s.lcnt[q]
        for q in range(a, b):
            s.lunit[q] = tmp_unit[q]
            s.lcnt[q] = tmp_cnt[q]


cdef void place(State* s, uint8_t* placed, int64_t* remaining, int64_t* rest,
                int64_t* keys, int64_t* idx, int64_t* tmp, double* flat) noexcept nogil:
    """Steps 1-3: labelled units rarest label first, then the others, then no empty fold."""
    cdef Py_ssize_t L = s.n_labels, F = s.n_folds, N = s.n_units
    cdef Py_ssize_t label, j, q, u, p, f, g, n_rest, donor
    cdef int32_t m, c
    cdef int64_t max_size
    cdef const double* dl
    # 1. labelled units, rarest label first
    while True:
        label = -1
        for j in range(L):
            if remaining[j] > 0 and (
                label < 0
                or remaining[j] < remaining[label]
                or (remaining[j] == remaining[label] and s.prio[j] < s.prio[label])
            ):
                label = j
        if label < 0:
            break
        dl = s.demand + label * F
        for q in range(s.lptr[label], s.lptr[label + 1]):
            u = s.lunit[q]
            if placed[u]:
                continue
            placed[u] = 1
            f = best_fold(dl, s.size_demand, F, s.tie[u])
            s.fold[u] = f
            s.size_demand[f] -= s.size[u]
            s.n_in[f] += 1
            for p in range(s.ptr[u], s.ptr[u + 1]):
                m = s.lab[p]
                c = s.cnt[p]
                s.demand[m * F + f] -= c
                remaining[m] -= c
                if f == s.test_fold:
                    s.test_counts[m] += c

    # 2. units without positives, largest first
    n_rest = 0
    max_size = 0
    for u in range(N):
        if s.size[u] > max_size:
            max_size = s.size[u]
        if s.fold[u] < 0:
            rest[n_rest] = u
            n_rest += 1
    if n_rest > 1 and max_size > 1:
        for q in range(n_rest):
            keys[q] = -s.size[rest[q]]
        stable_argsort(<const int64_t*>keys, idx, tmp, n_rest)
        for q in range(n_rest):
            keys[q] = rest[idx[q]]
        for q in range(n_rest):
            rest[q] = keys[q]
    for f in range(F):
        flat[f] = 0.0
    for q in range(n_rest):  # no labels: only sizes change
        u = rest[q]
        f = best_fold(flat, s.size_demand, F, s.tie[u])
        s.fold[u] = f
        s.size_demand[f] -= s.size[u]
        s.n_in[f] += 1

    # 3. no required fold left empty
    for f in range(F):
        if not s.keep[f] or s.n_in[f] > 0:
            continue
        donor = -1
        for u in range(N):
            g = s.fold[u]
            if g != f and (s.n_in[g] > 1 or not s.keep[g]) and (
                donor < 0
                or s.size[u] < s.size[donor]
                or (s.size[u] == s.size[donor]
                    and s.ptr[u + 1] - s.ptr[u] < s.ptr[donor + 1] - s.ptr[donor])
            ):
                donor = u
        if donor >= 0:
            move(s, donor, f)


cdef Py_ssize_t spare_unit(State* s) noexcept nogil:
    """The smallest unit of the test fold whose removal keeps every floor (-1: none)."""
    cdef Py_ssize_t best = -1, w, p
    cdef bint ok
    for w in range(s.n_units):
        if s.fold[w] != s.test_fold or (best >= 0 and s.size[w] >= s.size[best]):
            continue
        ok = True
        for p in range(s.ptr[w], s.ptr[w + 1]):
            if s.test_counts[s.lab[p]] - s.cnt[p] < s.floors[s.lab[p]]:
                ok = False
                break
        if ok:
            best = w
    return best


cdef void repair(State* s, int64_t* by_rarity, int64_t* rkeys, int64_t* cand, int64_t* gain,
                 double* key, int64_t* idx, int64_t* tmp) noexcept nogil:
    """Step 4: test floors."""
    cdef Py_ssize_t L = s.n_labels, F = s.n_folds, T = s.test_fold
    cdef Py_ssize_t r, label, a, b, q, u, p, n_cand, k, src, w, f, dest, j
    cdef int64_t need, over
    cdef int32_t m, c
    cdef double excess
    cdef bint moved = False, ok
    for j in range(L):
        rkeys[j] = s.total[j] * L + s.prio[j]
    stable_argsort(<const int64_t*>rkeys, by_rarity, tmp, L)
    for r in range(L):
        label = by_rarity[r]
        need = s.floors[label] - s.test_counts[label]
        if need <= 0:
            continue
        a = s.lptr[label]
        b = s.lptr[label + 1]
        n_cand = 0
        for q in range(a, b):
            u = s.lunit[q]
            if s.fold[u] == T:
                continue
            over = 0
            for p in range(s.ptr[u], s.ptr[u + 1]):
                m = s.lab[p]
                if m != label and s.test_counts[m] >= s.target[m]:
                    over += s.cnt[p]
            cand[n_cand] = u
            gain[n_cand] = s.lcnt[q]
            key[n_cand] = <double>(s.size[u] + over) / <double>s.lcnt[q]
            if s.keep[s.fold[u]]:
                key[n_cand] += LAST_RESORT
            n_cand += 1
        stable_argsort(<const double*>key, idx, tmp, n_cand)
        for q in range(n_cand):
            k = idx[q]
            u = cand[k]
            src = s.fold[u]
            if s.keep[src] and s.n_in[src] <= 1:
                # u is all that is left there: trade it for the smallest test unit that
                # every floor can spare (it holds none of this label, which is short)
                w = spare_unit(s)
                if w < 0:
                    continue
                move(s, w, src)
            move(s, u, T)
            moved = True
            need -= gain[k]
            if need <= 0:
                break
    if not moved:
        return
    for j in range(L):
        if s.test_counts[j] < s.floors[j]:
            return  # some floor out of reach: keep every unit that helps it

    # Give back rows the test fold no longer needs, where that helps every label involved.
    for u in range(s.n_units):
        excess = -s.size_demand[T]
        if excess <= 0:
            break
        if s.fold[u] != T or s.size[u] >= 2 * excess or s.n_in[T] <= 1:
            continue
        ok = True
        for p in range(s.ptr[u], s.ptr[u + 1]):
            m = s.lab[p]
            c = s.cnt[p]
            if s.test_counts[m] - c < s.floors[m] or 2.0 * (s.test_counts[m] - s.target[m]) < c:
                ok = False
                break
        if not ok:
            continue
        dest = -1
        for f in range(F):
            if f != T and (dest < 0 or s.size_demand[f] > s.size_demand[dest]):
                dest = f
        if dest < 0 or s.size_demand[dest] <= 0:
            break
        move(s, u, dest)


# ------------------------------------------------------------------------------ refinement
cdef struct Refine:
    double* w
    double ws
    double* dev             # folds x labels
    double* sdev
    int64_t* start          # units of fold f: members[start[f]:start[f + 1]]
    int64_t* members
    int64_t* where
    double* score
    double* quad
    int64_t* cap            # folds x folds
    int64_t* cand_a
    int64_t* cand_b
    double* gap
    int64_t* mark
    int64_t* mark_v
    uint8_t* done
    double* values          # scratch of best_candidates
    double* values2
    int64_t* kept
    double* keys
    int64_t* idx
    int64_t* tmp


cdef Py_ssize_t best_candidates(Refine* R, const int64_t* units, Py_ssize_t n, int64_t* out,
                                Py_ssize_t cap) noexcept nogil:
    """Fill ``out`` with the ``units`` of lowest ``score``, ascending; their number."""
    cdef const double* score = R.score
    cdef Py_ssize_t k, t, q
    cdef int64_t u
    cdef double s, cut
    if cap <= 0:
        return 0
    if cap <= 512:  # few: insertion into a sorted list (most units fail the first test)
        k = 0
        for q in range(n):
            u = units[q]
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
    for t in range(n):
        R.values[t] = score[units[t]]
    if n > cap:  # keep the cap lowest: those under the cap-th value, then ties with it
        memcpy(R.values2, R.values, n * sizeof(double))
        cut = kth_smallest(R.values2, n, cap - 1)
        k = 0
        for t in range(n):
            if R.values[t] < cut:
                out[k] = units[t]
                k += 1
        for t in range(n):
            if k == cap:
                break
            if R.values[t] == cut:
                out[k] = units[t]
                k += 1
    else:
        for t in range(n):
            out[t] = units[t]
        k = n
    for t in range(k):
        R.kept[t] = out[t]
        R.keys[t] = score[out[t]]
    stable_argsort(<const double*>R.keys, R.idx, R.tmp, k)
    for t in range(k):
        out[t] = R.kept[R.idx[t]]
    return k


cdef double swap_change(State* s, Refine* R, Py_ssize_t u, Py_ssize_t v, double sgap,
                        Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    """Half the objective change of swapping ``u`` (fold a) with ``v`` (fold b); +inf when
    the swap would take a label of the test fold under its floor."""
    cdef const double* w = R.w
    cdef const double* gap = R.gap
    cdef int64_t* mark = R.mark
    cdef int64_t* mark_v = R.mark_v
    cdef int64_t su = s.size[u], sv = s.size[v], net
    cdef double ws = R.ws
    cdef double delta = ws * (su * (su - sgap) + sv * (sv + sgap) - 2.0 * su * sv)
    cdef Py_ssize_t p, q
    cdef int32_t j, c
    cdef int64_t sign
    cdef bint bad = False
    for p in range(s.ptr[u], s.ptr[u + 1]):
        j = s.lab[p]
        c = s.cnt[p]
        mark[j] = c
        delta += w[j] * c * (c - gap[j])
    for p in range(s.ptr[v], s.ptr[v + 1]):
        j = s.lab[p]
        c = s.cnt[p]
        delta += w[j] * (c * (c + gap[j]) - 2.0 * c * mark[j])
    for q in range(s.ptr[v], s.ptr[v + 1]):
        mark_v[s.lab[q]] = s.cnt[q]
    if s.test_fold == a or s.test_fold == b:
        # net change of the test fold's positives of each label touched
        sign = 1 if s.test_fold == b else -1
        for p in range(s.ptr[u], s.ptr[u + 1]):
            j = s.lab[p]
            net = sign * (mark[j] - mark_v[j])
            if net < 0 and s.test_counts[j] + net < s.floors[j]:
                bad = True
        for q in range(s.ptr[v], s.ptr[v + 1]):
            j = s.lab[q]
            net = -sign * mark_v[j]
            if mark[j] == 0 and net < 0 and s.test_counts[j] + net < s.floors[j]:
                bad = True
    for p in range(s.ptr[u], s.ptr[u + 1]):
        mark[s.lab[p]] = 0
    for q in range(s.ptr[v], s.ptr[v + 1]):
        mark_v[s.lab[q]] = 0
    return INFINITY if bad else delta


cdef void refine(State* s, Refine* R, const double* ratios, Py_ssize_t max_rounds,
                 Py_ssize_t n_cand) noexcept nogil:
    """Step 5: swap units between folds while that lowers the sum of squared relative
    deviations.

    The objective is sum over folds f and labels l of ((C[f, l] - r_f P_l) / P_l)^2 plus the
    same for fold sizes (rows count as a label every row has): every label's share of each
    fold as close to the fold's share of the rows as possible, rare labels weighing as much
    as common ones. For each pair of folds a round scores every unit of the two folds by what
    moving it alone would change, keeps the best of each side (``n_cand`` at first, four
    times as many after a round that swapped a quarter of them), and for each candidate of
    one side, best first, applies the best of the first ``TRIES`` exact evaluations of a
    swap with a candidate of the other side that lowers the objective (shared labels and
    floors accounted for). Rounds repeat until one applies no swap, at most ``max_rounds``.

    Swaps keep every fold's number of units, so no fold becomes empty; a group stays whole.
    """
    cdef Py_ssize_t N = s.n_units, L = s.n_labels, F = s.n_folds, T = s.test_fold
    cdef Py_ssize_t f, j, u, v, p, t, k, i, a, b, side, rnd, na, nb, first, tried, top
    cdef Py_ssize_t best_v, k_ab, swaps, pair_swaps
    cdef int64_t n_samples = 0, sz, moved, tw
    cdef int32_t c, jj
    cdef double wmin = INFINITY, tiny, sgap, q, acc, root_b, root_u, best, bound, delta
    cdef double* w = R.w
    cdef double* dev = R.dev
    cdef double* sdev = R.sdev
    cdef double* gap = R.gap
    cdef double* score = R.score
    cdef double* quad = R.quad
    cdef int64_t* members = R.members
    cdef int64_t* where = R.where
    cdef int64_t* start = R.start
    cdef uint8_t* done = R.done
    for u in range(N):
        n_samples += s.size[u]
    for j in range(L):
        w[j] = 0.0
        if s.total[j] > 0:
            w[j] = 1.0 / (<double>s.total[j] * <double>s.total[j])
            if w[j] < wmin:
                wmin = w[j]
    R.ws = 1.0 / (<double>n_samples * <double>n_samples)
    cdef double ws = R.ws
    # deviations from the proportional targets
    for f in range(F):
        sdev[f] = -ratios[f] * n_samples
        for j in range(L):
            dev[f * L + j] = -ratios[f] * s.total[j]
    for u in range(N):
        f = s.fold[u]
        sdev[f] += s.size[u]
        for p in range(s.ptr[u], s.ptr[u + 1]):
            dev[f * L + s.lab[p]] += s.cnt[p]
    if wmin < INFINITY:
        tiny = 1e-9 * (ws if ws <= wmin else wmin)
    else:
        tiny = 1e-9 * ws

    # the units of each fold (swaps keep the counts)
    for f in range(F + 1):
        start[f] = 0
    for u in range(N):
        start[s.fold[u] + 1] += 1
    for f in range(F):
        start[f + 1] += start[f]
    for f in range(F):
        R.tmp[f] = start[f]  # fill positions
    for u in range(N):
        f = s.fold[u]
        members[R.tmp[f]] = u
        where[u] = R.tmp[f]
        R.tmp[f] += 1

    # Candidates per side: n_cand at first; a pair of folds whose round used a good part of
    # them gets four times as many next round (up to MAX_CANDIDATES), so that splits which
    # need many swaps take few rounds.
    top = min(max(n_cand, MAX_CANDIDATES), N)
    for t in range(F * F):
        R.cap[t] = min(n_cand, top)
    for j in range(L):
        R.mark[j] = 0
        R.mark_v[j] = 0
    for u in range(N):
        done[u] = 0
    for rnd in range(max_rounds):
        swaps = 0
        for a in range(F):
            for b in range(a + 1, F):
                for j in range(L):
                    gap[j] = dev[a * L + j] - dev[b * L + j]
                sgap = sdev[a] - sdev[b]
                # Half the objective change of moving one unit alone (a -> b or b -> a),
                # and its quadratic part. A swap of u and v changes half the objective by
                # score[u] + score[v] - 2 * shared, where shared (the labels both hold) is at
                # most sqrt(quad[u] * quad[v]): pairs whose bound is >= 0 are not evaluated.
                for side in range(2):
                    f = a if side == 0 else b
                    for t in range(start[f], start[f + 1]):
                        u = members[t]
                        sz = s.size[u]
                        q = ws * sz * sz
                        acc = ws * sz * sgap
                        for p in range(s.ptr[u], s.ptr[u + 1]):
                            c = s.cnt[p]
                            jj = s.lab[p]
                            q += w[jj] * c * c
                            acc += w[jj] * c * gap[jj]
                        quad[u] = q
                        score[u] = q - acc if side == 0 else q + acc
                k_ab = R.cap[a * F + b]
                na = best_candidates(R, members + start[a], start[a + 1] - start[a],
                                     R.cand_a, k_ab)
                nb = best_candidates(R, members + start[b], start[b + 1] - start[b],
                                     R.cand_b, k_ab)
                root_b = 0.0
                for k in range(nb):
                    root_b = max(root_b, sqrt(quad[R.cand_b[k]]))
                pair_swaps = 0
                first = 0  # cand_b[:first] are all swapped already
                for i in range(na):
                    u = R.cand_a[i]
                    root_u = sqrt(quad[u])
                    while first < nb and done[R.cand_b[first]]:
                        first += 1
                    if first == nb:
                        break
                    # candidates are in ascending score: nothing further can help
                    if score[u] + score[R.cand_b[first]] - 2.0 * root_u * root_b >= -tiny:
                        break
                    best_v = -1
                    best = -tiny
                    tried = 0
                    for k in range(first, nb):
                        v = R.cand_b[k]
                        bound = score[u] + score[v]
                        if bound - 2.0 * root_u * root_b >= -tiny:
                            break
                        if done[v] or bound - 2.0 * root_u * sqrt(quad[v]) >= -tiny:
                            continue
                        delta = swap_change(s, R, u, v, sgap, a, b)
                        if delta < best:
                            best = delta
                            best_v = v
                        tried += 1
                        if tried == TRIES:
                            break
                    if best_v < 0:
                        continue
                    pair_swaps += 1
                    v = best_v
                    done[u] = 1
                    done[v] = 1
                    s.fold[u] = b
                    s.fold[v] = a
                    members[where[u]] = v
                    members[where[v]] = u
                    tw = where[u]
                    where[u] = where[v]
                    where[v] = tw
                    moved = s.size[u] - s.size[v]
                    sdev[a] -= moved
                    sdev[b] += moved
                    sgap -= 2 * moved
                    for p in range(s.ptr[u], s.ptr[u + 1]):
                        jj = s.lab[p]
                        c = s.cnt[p]
                        dev[a * L + jj] -= c
                        dev[b * L + jj] += c
                        gap[jj] -= 2 * c
                        if a == T:
                            s.test_counts[jj] -= c
                        elif b == T:
                            s.test_counts[jj] += c
                    for p in range(s.ptr[v], s.ptr[v + 1]):
                        jj = s.lab[p]
                        c = s.cnt[p]
                        dev[b * L + jj] -= c
                        dev[a * L + jj] += c
                        gap[jj] += 2 * c
                        if b == T:
                            s.test_counts[jj] -= c
                        elif a == T:
                            s.test_counts[jj] += c
                    swaps += 1
                for i in range(na):
                    done[R.cand_a[i]] = 0
                for k in range(nb):
                    done[R.cand_b[k]] = 0
                if 4 * pair_swaps >= k_ab:
                    R.cap[a * F + b] = min(4 * k_ab, top)
        if swaps == 0:
            break


# -------------------------------------------------------------------------------- the call
def stratify(uptr, ulab, ucnt, usize, unit_rows, order, seed, label_prio, demand,
             size_demand, keep_nonempty, Py_ssize_t test_fold, floors, target, ratios,
             Py_ssize_t refine_rounds, Py_ssize_t n_cand):
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
    cdef const int64_t[::1] uptr_v = np.ascontiguousarray(uptr, np.int64)
    cdef const int32_t[::1] ulab_v = np.ascontiguousarray(ulab, np.int32)
    cdef const int32_t[::1] ucnt_v = np.ascontiguousarray(ucnt, np.int32)
    cdef const int64_t[::1] usize_v = np.ascontiguousarray(usize, np.int64)
    cdef const int64_t[::1] order_v = np.ascontiguousarray(order, np.int64)
    cdef const int64_t[::1] prio_v = np.ascontiguousarray(label_prio, np.int64)
    cdef double[:, ::1] demand_v = demand
    cdef double[::1] sdem_v = size_demand
    cdef const uint8_t[::1] keep_v = np.ascontiguousarray(keep_nonempty, np.bool_).view(np.uint8)
    cdef const int64_t[::1] floors_v = np.ascontiguousarray(floors, np.int64)
    cdef const double[::1] target_v = np.ascontiguousarray(target, np.float64)
    cdef const double[::1] ratios_v = np.ascontiguousarray(ratios, np.float64)
    cdef Py_ssize_t N = order_v.shape[0], L = demand_v.shape[0], F = demand_v.shape[1]
    cdef Py_ssize_t k, k2, u, q
    cdef uint64_t seed_u = <uint64_t>(<int64_t>seed)
    cdef bint rows_only = bool(unit_rows)

    # one gather up front (units renumbered by processing position), so that every later
    # pass reads the arrays in increasing order instead of jumping around them
    ptr_a = np.empty(N + 1, np.int64)
    cdef int64_t[::1] ptr = ptr_a
    with nogil:
        ptr[0] = 0
        for k in range(N):
            u = order_v[k]
            ptr[k + 1] = ptr[k] + uptr_v[u + 1] - uptr_v[u]
    cdef Py_ssize_t nnz = ptr[N]
    lab_a = np.empty(nnz, np.int32)
    tie_a = np.empty(N, np.int64)
    cnt_a = np.ones(nnz, np.int32)
    size_a = np.ones(N, np.int64)
    cdef int32_t[::1] lab = lab_a, cnt = cnt_a
    cdef int64_t[::1] tie = tie_a, size = size_a
    with nogil:
        for k in range(N):
            u = order_v[k]
            q = ptr[k]
            for k2 in range(uptr_v[u], uptr_v[u + 1]):
                lab[q] = ulab_v[k2]
                if not rows_only:
                    cnt[q] = ucnt_v[k2]
                q += 1
            if not rows_only:
                size[k] = usize_v[u]
            tie[k] = tie_key(seed_u, k)

    fold_a = np.full(N, -1, np.int64)
    n_in_a = np.zeros(F, np.int64)
    test_counts_a = np.zeros(L, np.int64)
    lptr_a = np.zeros(L + 1, np.int64)
    lunit_a = np.empty(nnz, np.int64)
    lcnt_a = np.empty(nnz, np.int32)
    total_a = np.zeros(L, np.int64)
    cdef int64_t[::1] fold = fold_a, n_in = n_in_a, test_counts = test_counts_a
    cdef int64_t[::1] lptr = lptr_a, lunit = lunit_a, total = total_a
    cdef int32_t[::1] lcnt = lcnt_a

    cdef State s
    s.n_units = N
    s.n_labels = L
    s.n_folds = F
    s.test_fold = test_fold
    s.ptr = &ptr[0]
    s.lab = &lab[0] if nnz else NULL
    s.cnt = &cnt[0] if nnz else NULL
    s.size = &size[0] if N else NULL
    s.tie = &tie[0] if N else NULL
    s.prio = &prio_v[0] if L else NULL
    s.demand = &demand_v[0, 0] if L and F else NULL
    s.size_demand = &sdem_v[0] if F else NULL
    s.keep = &keep_v[0] if F else NULL
    s.floors = &floors_v[0] if L else NULL
    s.target = &target_v[0] if L else NULL
    s.fold = &fold[0] if N else NULL
    s.n_in = &n_in[0] if F else NULL
    s.test_counts = &test_counts[0] if L else NULL
    s.lptr = &lptr[0]
    s.lunit = &lunit[0] if nnz else NULL
    s.lcnt = &lcnt[0] if nnz else NULL
    s.total = &total[0] if L else NULL

    # scratch: sized for every pass
    cdef Py_ssize_t M = max(N, L, F, 1)
    cdef int32_t max_count = int(cnt_a.max()) if nnz else 1
    i64 = np.empty((6, M), np.int64)
    cdef int64_t[:, ::1] w64 = i64
    hist_a = np.zeros(max(L, max_count + 2, 1), np.int64)
    tmp_unit_a = np.empty(max(nnz, 1), np.int64)
    tmp_cnt_a = np.empty(max(nnz, 1), np.int32)
    cdef int64_t[::1] hist = hist_a, tmp_unit = tmp_unit_a
    cdef int32_t[::1] tmp_cnt = tmp_cnt_a
    placed_a = np.zeros(max(N, 1), np.uint8)
    remaining_a = np.zeros(max(L, 1), np.int64)
    fkey_a = np.empty(M)
    flat_a = np.zeros(max(F, 1))
    cdef uint8_t[::1] placed = placed_a
    cdef int64_t[::1] remaining = remaining_a
    cdef double[::1] fkey = fkey_a, flat = flat_a
    with nogil:
        label_lists(&s, &tmp_unit[0], &tmp_cnt[0], &hist[0])
        for k in range(L):
            remaining[k] = s.total[k]
        place(&s, &placed[0], &remaining[0], &w64[0, 0], &w64[1, 0], &w64[2, 0],
              &w64[3, 0], &flat[0])
        if test_fold >= 0:
            repair(&s, &w64[0, 0], &w64[1, 0], &w64[2, 0], &w64[3, 0], &fkey[0],
                   &w64[4, 0], &w64[5, 0])

    if refine_rounds > 0 and F > 1:
        _run_refine(&s, &ratios_v[0], refine_rounds, n_cand)

    out = np.empty_like(fold_a)
    cdef int64_t[::1] out_v = out
    with nogil:
        for k in range(N):
            out_v[order_v[k]] = fold[k]
    return out, test_counts_a


cdef void _run_refine(State* s, const double* ratios, Py_ssize_t rounds, Py_ssize_t n_cand):
    cdef Py_ssize_t N = s.n_units, L = s.n_labels, F = s.n_folds
    cdef Py_ssize_t top = max(1, min(max(n_cand, MAX_CANDIDATES), N))
    cdef Py_ssize_t n1 = max(N, 1), L1 = max(L, 1)
    f64 = np.empty(4 * n1 + 2 * L1 + F * L + F)
    i64 = np.empty(2 * n1 + (F + 1) + F * F + 5 * top + 2 * L1 + max(F, top), np.int64)
    done_a = np.zeros(n1, np.uint8)
    cdef double[::1] fv = f64
    cdef int64_t[::1] iv = i64
    cdef uint8_t[::1] dv = done_a
    cdef double* fp = &fv[0]
    cdef int64_t* ip = &iv[0]
    cdef Refine R
    R.score = fp
    R.quad = fp + n1
    R.values = fp + 2 * n1
    R.values2 = fp + 3 * n1
    R.w = fp + 4 * n1
    R.gap = fp + 4 * n1 + L1
    R.keys = NULL
    R.dev = fp + 4 * n1 + 2 * L1
    R.sdev = fp + 4 * n1 + 2 * L1 + F * L
    R.members = ip
    R.where = ip + n1
    R.start = ip + 2 * n1
    R.cap = R.start + F + 1
    R.cand_a = R.cap + F * F
    R.cand_b = R.cand_a + top
    R.kept = R.cand_b + top
    R.idx = R.kept + top
    R.mark = R.idx + top
    R.mark_v = R.mark + L1
    R.tmp = R.mark_v + L1
    R.done = &dv[0]
    keys_a = np.empty(top)
    cdef double[::1] kv = keys_a
    R.keys = &kv[0]
    with nogil:
        refine(s, &R, ratios, rounds, n_cand)
