"""Shared IDs between data splits: exact leakage checks on large ID columns.

The question "does any patient (user, document, device) of the training set also occur in
the test set?" is usually asked as::

    len(set(df1[col].unique()) & set(df2[col].unique())) >= 1

This module answers it, and the follow-up questions (which IDs, which rows), without Python
objects for the common ID columns: a parallel hash table is built on the smaller side and
probed with the larger (``fastml.kernels.cpu.leakage``).

What counts as the same ID: Python's ``==`` on the values, as a ``set`` would decide, so
``1 == 1.0 == True`` are one ID and ``1`` and ``"1"`` are two; ``b"a"`` and ``"a"`` differ.
Missing values (``None``, NaN, ``pd.NA``, ``pd.NaT``, Arrow / polars nulls) are never shared
IDs; they are counted separately (:func:`leakage_report`). This is the one deliberate
difference from the set expression, which reports a leak when both sides hold ``None``.

- Times: datetime64 / timedelta64 columns (NumPy, pandas; Arrow and polars durations,
  timestamps without a time zone and times of day, read as datetime64 / timedelta64 of
  their unit) compare as NumPy compares them: the same instant or duration whatever the
  unit (1 s == 1000 ms; a day is its midnight), NaT missing. A duration never equals a number
  (NumPy's ``==`` says ``np.timedelta64(1, "s") == 1``, but its hash is a duration's, so a
  set keeps them apart); times of day equal only times of day. Against Python objects
  (``datetime``, ``pd.Timestamp``, in object columns) the set decides. Zoned timestamps and
  dates take the set path on the objects Arrow / pandas give.
- Long doubles compare by exact value: 2**53 + 1 is not 2**53 (NumPy hashes a long double
  as its float64 rounding, so a plain set can miss that it equals ``2**53 + 1`` as an int).
- Decimals and 128-bit integers (polars ``Decimal`` / ``Int128`` / ``UInt128``, Arrow
  decimals) compare by value, as Python's ``Decimal`` and ``int``: ``Decimal("1.0") == 1``.
- Nested values (lists, structs, maps) are refused with a ``TypeError``, as a set refuses
  unhashable values.

Accepted ID columns (1-D): NumPy arrays of bool / int / uint / float (long double too),
datetime64 / timedelta64, fixed-width ``U`` / ``S`` strings and objects; lists and tuples;
pandas Series and Index of any dtype (object, ``str`` / ``string`` / ``string[pyarrow]``,
categorical, nullable ``Int64`` ...); pyarrow Arrays and ChunkedArrays; polars Series. Fast
paths (no Python object per row): numeric columns, NumPy fixed-width strings, Arrow-backed
strings (pandas ``str`` with pyarrow, pyarrow, polars), object columns holding only ``str``
(or only ints, floats, bytes) plus missing values, and categoricals (worked on their
categories). Integer IDs within a range at most 16 times the smaller side's row count use a
byte per value of the range instead of the hash table. datetime64 / timedelta64 columns use
the integer path on counts in their common unit. Anything else (an object column mixing ints
and strings, Python datetimes, decimals, long doubles that float64 does not hold) takes a
plain ``set``-based path with the same semantics.

Threads: the kernels run in parallel on fastml's threads (``FASTML_NUM_THREADS`` or
``fastml.set_num_threads``); results do not depend on the thread count.
"""

from __future__ import annotations

import numpy as np

from fastml._backend import is_cupy, is_dask

# Besides the public names: private ones that other fastml modules read from here
# (``fastml._dask.leakage``; ``fastml.cli``: ``id_column`` below and ``report_from_columns``).
from fastml.leakage._columns import _as_column, _is_wide  # noqa: F401
from fastml.leakage._matching import _match, _objects_of, _var_of_fixed  # noqa: F401
from fastml.leakage._report import (  # noqa: F401
    LeakageReport,
    PairLeakage,
    _report_from_columns,
    report_from_columns,
)

__all__ = [
    "LeakageReport",
    "PairLeakage",
    "has_leakage",
    "leakage",
    "leakage_report",
    "overlap_mask",
    "shared_ids",
]


def has_leakage(a, b) -> bool:
    """True when the ID columns ``a`` and ``b`` share at least one ID.

    Stops at the first shared ID found. Missing values never count as shared.

    Parameters
    ----------
    a, b : array-like
        ID columns (see the module docstring for the accepted types).

    Returns
    -------
    bool

    Examples
    --------
    >>> import numpy as np
    >>> from fastml.leakage import has_leakage
    >>> has_leakage(np.array([1, 2, 3]), np.array([7, 3]))
    True
    >>> has_leakage(["p1", "p2", None], ["p3", None])
    False
    >>> has_leakage([1, 2], [2.0])  # Python equality: 2 == 2.0
    True
    """
    if is_dask(a) or is_dask(b):
        from fastml._dask import leakage as dask_leakage

        return dask_leakage.has_leakage(a, b)
    if is_cupy(a) or is_cupy(b):
        from fastml.leakage import _gpu

        return _gpu.has_leakage(a, b, has_leakage)
    return _match(_as_column(a, "a"), _as_column(b, "b"), stop_first=True).any


def leakage(df1, df2, col) -> bool:
    """Drop-in for ``len(set(df1[col].unique()) & set(df2[col].unique())) >= 1``.

    True when the two frames share an ID in column ``col``. Missing values are never shared
    IDs (the set expression reports a leak when both frames hold ``None``).

    Parameters
    ----------
    df1, df2 : DataFrame-like
        pandas or polars DataFrames, pyarrow Tables, or mappings of columns.
    col : column label
        The ID column, present in both frames (else the frame's own ``KeyError``).

    Returns
    -------
    bool

    Examples
    --------
    >>> import pandas as pd
    >>> from fastml.leakage import leakage
    >>> train = pd.DataFrame({"patient": ["a", "b", "c"], "x": [1, 2, 3]})
    >>> test = pd.DataFrame({"patient": ["d", "c"], "x": [4, 5]})
    >>> leakage(train, test, "patient")
    True
    """
    return has_leakage(df1[col], df2[col])


def shared_ids(a, b) -> np.ndarray:
    """The IDs present in both ``a`` and ``b``, sorted, each once.

    Result type: numeric inputs give a NumPy array (float64 if a side is float, uint64 if
    both are uint64, bool if both are bool, else int64); two NumPy fixed-width string arrays
    give a ``U`` / ``S`` array; other strings an object array of ``str`` (or ``bytes``). Mixed
    object columns give an object array ordered numbers first (by value), then ``str``,
    ``bytes``, then other types by type name; where equal IDs differ in type (``1`` and
    ``1.0``), the value from ``a`` is returned. Two datetime64 (timedelta64) columns give a
    datetime64 (timedelta64) array in the finer unit; Arrow times of day come as timedelta64
    since midnight.

    Examples
    --------
    >>> import numpy as np
    >>> from fastml.leakage import shared_ids
    >>> shared_ids(np.array([5, 3, 9, 3]), np.array([3, 4, 5]))
    array([3, 5])
    >>> shared_ids(["x", 1, None], [None, 1.0, "x", "y"]).tolist()
    [1, 'x']
    """
    if is_dask(a) or is_dask(b):
        from fastml._dask import leakage as dask_leakage

        return dask_leakage.shared_ids(a, b)
    if is_cupy(a) or is_cupy(b):
        from fastml.leakage import _gpu

        return _gpu.shared_ids(a, b, shared_ids)
    return _match(_as_column(a, "a"), _as_column(b, "b"), want_ids=True).ids


def overlap_mask(a, b) -> np.ndarray:
    """For each row of ``a``, whether its ID occurs in ``b`` (bool array of ``len(a)``).

    Rows with a missing ID are False.

    Examples
    --------
    >>> from fastml.leakage import overlap_mask
    >>> overlap_mask([1, 2, None, 2], [2, None]).tolist()
    [False, True, False, True]
    """
    if is_dask(a) or is_dask(b):
        from fastml._dask import leakage as dask_leakage

        return dask_leakage.overlap_mask(a, b)
    if is_cupy(a) or is_cupy(b):
        from fastml.leakage import _gpu

        return _gpu.overlap_mask(a, b, overlap_mask)
    ca, cb = _as_column(a, "a"), _as_column(b, "b")
    m = _match(ca, cb, want_masks="a")
    return np.ascontiguousarray(ca.row_mask(m.mask_a), dtype=bool)


def leakage_report(*, id_col=None, **splits) -> LeakageReport:
    """Pairwise shared IDs between named splits (train/val/test, or k folds).

    Parameters
    ----------
    id_col : column label, optional
        When given, each split is a frame (pandas / polars DataFrame, pyarrow Table, mapping)
        and its ID column is ``split[id_col]``; otherwise each split is an ID column.
    **splits
        At least two named splits.

    Returns
    -------
    LeakageReport
        Truthy when any pair shares an ID; per pair the number of shared IDs, the IDs and the
        affected row positions on both sides; per split the number of rows and of missing
        IDs (never counted as shared).

    Examples
    --------
    >>> import pandas as pd
    >>> from fastml.leakage import leakage_report
    >>> train = pd.DataFrame({"pid": [1, 2, 3, 4, None]})
    >>> val = pd.DataFrame({"pid": [5, 6]})
    >>> test = pd.DataFrame({"pid": [4, 7, 4]})
    >>> report = leakage_report(train=train, val=val, test=test, id_col="pid")
    >>> bool(report)
    True
    >>> report.pair("train", "test").shared_ids
    array([4.])
    >>> report.pair("train", "test").right_rows
    array([0, 2])
    >>> report.splits["train"]
    {'rows': 5, 'missing': 1}
    """
    if len(splits) < 2:
        raise ValueError(f"leakage_report needs at least two named splits, got {len(splits)}")
    ids = {name: split if id_col is None else split[id_col] for name, split in splits.items()}
    if any(is_dask(col) for col in ids.values()):
        from fastml._dask import leakage as dask_leakage

        return dask_leakage.leakage_report(ids)
    columns = {name: _as_column(col, name) for name, col in ids.items()}
    return _report_from_columns(columns)


# Internal-public names (not in ``__all__``), for fastml's own modules such as ``fastml.cli``
# (which reads them from this module when called, so a test may replace them here):
id_column = _as_column  # an ID column in the kernels' form (raises TypeError / ValueError)
