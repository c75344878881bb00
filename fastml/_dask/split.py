"""Splits of Dask collections.

The assignment of rows to train / test (or folds) is sequential, so it runs in memory on
what it needs: the label matrix and the groups are gathered to the client (n x labels bytes;
the features never are), the in-memory algorithm decides, and the resulting row positions
are applied to the Dask inputs lazily: the splits come back as Dask collections holding the
same rows, in the same order, as the in-memory call would give.
"""

from __future__ import annotations

import numpy as np


def _is_dask(x) -> bool:
    return x is not None and callable(getattr(type(x), "__dask_graph__", None))


def gather(x):
    """``x`` in memory (a Dask array as NumPy, a Dask DataFrame / Series as pandas)."""
    return x.compute() if _is_dask(x) else x


def _partition_lengths(x) -> list[int]:
    import dask

    return [int(n) for n in dask.compute(*[dask.delayed(len)(p) for p in x.to_delayed()])]


def n_rows(x) -> int:
    """Number of rows, without gathering ``x``."""
    if not _is_dask(x):
        return len(x) if not hasattr(x, "shape") else int(x.shape[0])
    if hasattr(x, "chunks"):  # Dask array
        if any(c != c for c in x.chunks[0]):
            x.compute_chunk_sizes()
        return int(sum(x.chunks[0]))
    return sum(_partition_lengths(x))


def stand_in(x):
    """An in-memory object of ``x``'s length (for code that only reads the length)."""
    return np.empty((n_rows(x), 0)) if _is_dask(x) else x


def take_rows(a, rows: np.ndarray):
    """Rows ``rows`` (ascending positions) of ``a``, lazily when ``a`` is a Dask collection."""
    if not _is_dask(a):
        from sklearn.utils import _safe_indexing

        return _safe_indexing(a, rows)
    if hasattr(a, "chunks"):  # Dask array
        if any(c != c for c in a.chunks[0]):
            a.compute_chunk_sizes()
        return a[rows]
    import dask
    import dask.dataframe as dd

    lengths = _partition_lengths(a)
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    parts = []
    for p, lo, hi in zip(a.to_delayed(), bounds[:-1], bounds[1:]):
        local = rows[(rows >= lo) & (rows < hi)] - lo
        parts.append(dask.delayed(_iloc)(p, local))
    return dd.from_delayed(parts, meta=a._meta, verify_meta=False)


def _iloc(part, local):
    return part.iloc[local]


def train_test_split(split, arrays, *, y, groups, **kwargs) -> list:
    """``split`` (the in-memory function) on gathered labels and groups, applied to
    ``arrays`` lazily."""
    n = n_rows(arrays[0])
    for a in arrays[1:]:
        if n_rows(a) != n:
            raise ValueError(
                "Found input variables with inconsistent numbers of samples: "
                f"{[n_rows(x) for x in arrays]}"
            )
    train, test = split(np.arange(n), y=gather(y), groups=gather(groups), **kwargs)
    return [part for a in arrays for part in (take_rows(a, train), take_rows(a, test))]
