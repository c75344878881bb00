"""Leakage kernels on the GPU for numeric IDs (int64, uint64, float64): which rows of one
column hold an ID present in another.

Contract: ``ids`` is a C-contiguous device array; ``table`` the other column's IDs, sorted
ascending (CuPy's sort), of the same dtype, with missing values (NaN) removed.

Why this way: sort-and-probe. CuPy sorts the smaller side once; ``probe`` (one thread per row,
grid-stride) binary-searches each row's ID in it. O((n + m) log m), exact for every dtype (no
hashing, so no collisions to resolve), no atomics: each thread writes its rows' flags. NaN
never matches (it compares unequal), as fastml's rule says missing IDs are never shared.
"""

from __future__ import annotations

import numpy as np
from numba import cuda, types

from ._launch import launch, xp_of


@cuda.jit
def probe(ids, table, found):
    """found[i] = 1 when ids[i] occurs in the sorted ``table``, else 0."""
    m = table.shape[0]
    for i in range(cuda.grid(1), ids.shape[0], cuda.gridsize(1)):
        v = ids[i]
        lo = 0
        hi = m
        while lo < hi:  # first index with table[index] >= v
            mid = (lo + hi) // 2
            if table[mid] < v:
                lo = mid + 1
            else:
                hi = mid
        found[i] = 1 if (lo < m and table[lo] == v) else 0


SIGNATURES = {
    probe: [(t[::1], t[::1], types.uint8[::1]) for t in (types.int64, types.uint64,
                                                          types.float64)],
}


def sorted_table(ids):
    """The IDs sorted ascending, NaN removed (the ``table`` of :func:`member_mask`)."""
    xp = xp_of(ids)
    if ids.dtype.kind == "f":
        ids = ids[~xp.isnan(ids)]
    return xp.sort(ids)


def member_mask(ids, table):
    """Bool device array: for each of ``ids``, whether it occurs in the sorted ``table``."""
    xp = xp_of(ids)
    found = xp.zeros(ids.shape[0], np.uint8)
    if ids.shape[0] and table.shape[0]:
        launch(probe, ids.shape[0], xp.ascontiguousarray(ids), xp.ascontiguousarray(table),
               found)
    return found.view(bool)
