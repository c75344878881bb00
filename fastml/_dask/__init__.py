"""The Dask back end: the public functions on Dask collections, exact.

Detection happens in the public functions (``fastml._backend.family``, by type, before any
conversion: converting a Dask collection would compute it on the client). Modules here build
graphs whose tasks call fastml's in-memory functions or its compiled per-block kernels on one
partition at a time; what is gathered to the client is said in each function's docstring.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

#: Debug lines say which plan ran and how much reached the client:
#: ``logging.getLogger("fastml.dask").setLevel(logging.DEBUG)``.
log = logging.getLogger("fastml.dask")


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


def take_rows(a, rows: np.ndarray, n_new: int = 0):
    """Rows at positions ``rows`` (any order, repeats allowed) of the Dask collection ``a``,
    lazily. A Dask array is indexed; a Dask DataFrame / Series gets one output partition per
    run of about a partition's length, each built from the input partitions it draws on.

    The last ``n_new`` rows are new rows (clones): in a DataFrame / Series they get fresh
    index labels after the input's (``max + 1, ...`` for an integer index, positions
    ``n, n + 1, ...`` otherwise), as the in-memory resamplers give them."""
    rows = np.asarray(rows, dtype=np.int64)
    if hasattr(a, "chunks"):  # Dask array
        if any(c != c for c in a.chunks[0]):
            a.compute_chunk_sizes()
        return a[rows]
    import dask
    import dask.dataframe as dd

    lengths = _partition_lengths(a)
    bounds = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    sources = a.to_delayed()
    per_part = max(1, int(np.ceil(bounds[-1] / max(1, len(lengths)))))
    first_new = rows.shape[0] - n_new
    start = 0
    if n_new:
        import pandas as pd

        index = a._meta.index
        integer = pd.api.types.is_integer_dtype(index.dtype) and not isinstance(
            index, pd.MultiIndex)
        start = int(a.index.max().compute()) + 1 if integer and bounds[-1] else int(bounds[-1])
    outputs = []
    for lo in range(0, max(1, rows.shape[0]), per_part):
        chunk = rows[lo:lo + per_part]
        src = np.searchsorted(bounds, chunk, side="right") - 1
        order = np.argsort(src, kind="stable")
        used = np.unique(src)
        pieces = [(sources[s], chunk[src == s] - bounds[s]) for s in used]
        inverse = np.empty_like(order)
        inverse[order] = np.arange(order.shape[0])
        hi = lo + chunk.shape[0]
        fresh = None
        if n_new and hi > first_new:
            k = max(0, first_new - lo)  # rows of this chunk that keep their labels
            fresh = (k, start + (lo + k - first_new))
        outputs.append(dask.delayed(_assemble)(
            [p for p, _ in pieces], [loc for _, loc in pieces], inverse, a._meta, fresh))
    return dd.from_delayed(outputs, meta=a._meta, verify_meta=False)


def _assemble(parts, locals_, inverse, meta, fresh=None):
    import pandas as pd

    pieces = [p.iloc[loc] for p, loc in zip(parts, locals_, strict=True)]
    if not pieces:
        return meta
    joined = pd.concat(pieces) if len(pieces) > 1 else pieces[0]
    out = joined.iloc[inverse]
    if fresh is not None:
        keep, first = fresh
        labels = out.index[:keep].append(pd.RangeIndex(first, first + len(out) - keep))
        labels.name = out.index.name
        out = out.set_axis(labels)
    return out


def like(result, original):
    """The in-memory ``result`` as a Dask collection of ``original``'s kind."""
    if not _is_dask(original):
        return result
    if hasattr(original, "chunks"):
        import dask.array as da

        return da.from_array(result, chunks=(original.chunks[0][0] or "auto",)
                             + tuple(-1 for _ in range(result.ndim - 1)))
    import dask.dataframe as dd

    return dd.from_pandas(result, npartitions=max(1, original.npartitions), sort=False)


