"""The greedy pass of group-aware iterative stratification, in plain Python (the splits
kernel's twin)."""

from __future__ import annotations

import numpy as np


def mix(seed: int, k: int) -> int:
    """The kernel's counter-based tie-break stream: SplitMix64 of ``seed + k * golden``."""
    mask = (1 << 64) - 1
    x = (seed + k * 0x9E3779B97F4A7C15) & mask
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & mask
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & mask
    return (x ^ (x >> 31)) >> 1


def greedy_twin(counts, sizes, order, seed, label_prio, ratios):
    """Plain Python iterative stratification over units (steps 1-2 of the kernel).

    ``counts``: dense (units, labels) positive counts; returns the fold of every unit.
    """
    counts, sizes = counts[order], sizes[order]  # units renumbered by processing position
    n_units, n_labels = counts.shape
    n_folds = len(ratios)
    total = counts.sum(axis=0)
    demand = [[float(total[j]) * ratios[f] for f in range(n_folds)] for j in range(n_labels)]
    size_demand = [float(r) * int(sizes.sum()) for r in ratios]
    fold = [-1] * n_units

    def best(dl, key):
        top = max(range(n_folds), key=lambda f: (dl[f], size_demand[f]))
        tied = [f for f in range(n_folds)
                if (dl[f], size_demand[f]) == (dl[top], size_demand[top])]
        return tied[key % len(tied)]

    def place(u, f):
        fold[u] = f
        size_demand[f] -= int(sizes[u])
        for j in range(n_labels):
            demand[j][f] -= int(counts[u, j])

    while True:
        open_units = [u for u in range(n_units) if fold[u] < 0]
        left = [int(counts[open_units, j].sum()) for j in range(n_labels)]
        candidates = [j for j in range(n_labels) if left[j] > 0]
        if not candidates:
            break
        label = min(candidates, key=lambda j: (left[j], label_prio[j]))
        units = sorted(
            (u for u in range(n_units) if counts[u, label] > 0), key=lambda u: -counts[u, label]
        )
        for u in units:
            if fold[u] < 0:
                place(u, best(demand[label], mix(seed, u)))
    rest = sorted((u for u in range(n_units) if fold[u] < 0), key=lambda u: -sizes[u])
    for u in rest:
        place(u, best([0.0] * n_folds, mix(seed, u)))
    out = np.empty(n_units, np.int64)
    out[order] = fold
    return out
