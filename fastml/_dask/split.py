"""Splits of Dask collections.

The assignment of rows to train / test (or folds) is sequential, so it runs in memory on
what it needs: the label matrix and the groups are gathered to the client (n x labels bytes;
the features never are), the in-memory algorithm decides, and the resulting row positions
are applied to the Dask inputs lazily: the splits come back as Dask collections holding the
same rows, in the same order, as the in-memory call would give.
"""

from __future__ import annotations

import numpy as np

from fastml._dask import _is_dask, gather, n_rows, take_rows

__all__ = ["gather", "n_rows", "stand_in", "take", "train_test_split"]


def stand_in(x):
    """An in-memory object of ``x``'s length (for code that only reads the length)."""
    return np.empty((n_rows(x), 0)) if _is_dask(x) else x


def take(a, rows: np.ndarray):
    """Rows ``rows`` of ``a``: lazily for a Dask collection, else as scikit-learn indexes."""
    if _is_dask(a):
        return take_rows(a, rows)
    from sklearn.utils import _safe_indexing

    return _safe_indexing(a, rows)


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
    return [part for a in arrays for part in (take(a, train), take(a, test))]
