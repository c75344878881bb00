"""The Dask back end: the public functions on Dask collections, exact.

Detection happens in the public functions (``fastml._backend.family``, by type, before any
conversion: converting a Dask collection would compute it on the client). Modules here build
graphs whose tasks call fastml's in-memory functions or its compiled per-block kernels on one
partition at a time; what is gathered to the client is said in each function's docstring.
"""

from __future__ import annotations

from typing import Any


def partitions(x) -> tuple[list[Any], bool]:
    """``x`` as a list of parts and whether they are Dask delayed objects.

    A Dask Series / Index / DataFrame gives its partitions, a 1-D Dask array its chunks, and
    anything in memory one part (itself).
    """
    if callable(getattr(type(x), "__dask_graph__", None)):
        parts = x.to_delayed()
        if hasattr(parts, "ravel"):  # a Dask array: an ndarray of delayed chunks
            if getattr(x, "ndim", 1) != 1:
                raise ValueError(f"an ID column must be 1-D, got a Dask array of shape "
                                 f"{x.shape}")
            parts = parts.ravel().tolist()
        return list(parts), True
    return [x], False
