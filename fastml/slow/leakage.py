"""Shared IDs as Python sets decide them: ``fastml.leakage``'s reference.

Missing values (None, NaN, ``pd.NA``, ``pd.NaT``) are never shared IDs; everything else is
compared with ``==`` / ``hash`` as a ``set`` does.
"""

from __future__ import annotations

import numpy as np


def is_missing(v) -> bool:
    if v is None or type(v).__name__ in ("NAType", "NaTType"):
        return True
    try:
        return bool(v != v)
    except (TypeError, ValueError):
        return False


def as_list(x) -> list:
    """A column's values as Python objects (what a set would hold)."""
    module = type(x).__module__.split(".")[0]
    if module == "pyarrow":
        return x.to_pylist()
    if module == "polars":
        return x.to_list()
    if module == "pandas":
        import pandas as pd

        if isinstance(x, (pd.Series, pd.Index)) and isinstance(x.dtype, pd.CategoricalDtype):
            return list(x.astype(object))
        return list(x)
    if isinstance(x, np.ndarray):
        return list(x)  # NumPy scalars: what set(df[col].unique()) holds
    return list(x)


def shared(a, b) -> set:
    """The IDs of ``b`` also in ``a`` (missing values left out)."""
    sa = {v for v in as_list(a) if not is_missing(v)}
    return {v for v in as_list(b) if not is_missing(v) and v in sa}


def overlap_mask(a, b) -> np.ndarray:
    """Per row of ``a``: is its ID in ``b``."""
    sb = {v for v in as_list(b) if not is_missing(v)}
    return np.array([not is_missing(v) and v in sb for v in as_list(a)], dtype=bool)
