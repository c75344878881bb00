"""``fastml.losses`` on Dask arrays, exact.

Element-wise results (``reduction="none"``, gradients, hessians) are Dask arrays chunked like
the logits (the label axis in one chunk): each block is computed by the in-memory function,
so every element equals the in-memory result bit for bit. Sums and means add per-block
float64 sums in a tree (equal to the in-memory value within rounding, about 1e-15
relative) and are computed. Label frequencies add per-block column sums. Nothing the size of
the input reaches the client.
"""

from __future__ import annotations

import numpy as np


def _as_dask(x, like=None):
    import dask.array as da

    if callable(getattr(type(x), "__dask_graph__", None)):
        if hasattr(x, "to_dask_array"):  # a Dask DataFrame or Series
            x = x.to_dask_array(lengths=True)
        return x
    arr = np.asarray(x)
    if like is not None and arr.shape == like.shape:
        return da.from_array(arr, chunks=like.chunks)
    return da.from_array(arr)


def _known(x):
    if any(c != c for axis in x.chunks for c in axis):  # unknown chunk sizes
        x.compute_chunk_sizes()
    return x


def _aligned(y_true, logits, sample_weight):
    """Logits, labels and sample weights as Dask arrays with one set of row chunks and the
    label axis whole; shapes checked as the in-memory function checks them."""
    z = _known(_as_dask(logits))
    y = _known(_as_dask(y_true, like=z))
    if y.shape != z.shape:
        raise ValueError(f"y_true and logits must have the same shape: {y.shape} != {z.shape}")
    if z.ndim > 2:
        raise ValueError("Dask input: logits must be 1-D or 2-D (samples, labels)")
    if z.ndim == 2:
        z = z.rechunk({1: -1})
    y = y.rechunk(z.chunks)
    sw = None
    if sample_weight is not None:
        sw = _known(_as_dask(sample_weight)).reshape(-1)
        n_samples = z.shape[0]
        if sw.shape[0] != n_samples:
            raise ValueError(f"sample_weight must have one value per sample ({n_samples}), "
                             f"got {sw.shape[0]}")
        sw = sw.rechunk((z.chunks[0],))
        if z.ndim == 2:
            sw = sw[:, None]
    return y, z, sw


def _block_value(fn, kwargs):
    def run(y, z, sw=None):
        value = fn(y, z, reduction="sum", sample_weight=None if sw is None else sw.ravel(),
                   **kwargs)
        return np.full((1,) * z.ndim, float(value))
    return run


def _block_array(fn, kwargs, which: str):
    def run(y, z, sw=None):
        w = None if sw is None else sw.ravel()
        if which == "loss":
            return fn(y, z, reduction="none", sample_weight=w, **kwargs)
        out = fn(y, z, reduction="sum", sample_weight=w, return_grad=which == "grad",
                 return_hess=which == "hess", **kwargs)
        return out[1]
    return run


def loss(fn, y_true, logits, *, reduction, sample_weight, return_grad, return_hess, **kwargs):
    """``fn`` (the in-memory ``weighted_bce`` or ``focal_loss``) over the blocks."""
    import dask.array as da

    y, z, sw = _aligned(y_true, logits, sample_weight)
    args = (y, z) if sw is None else (y, z, sw)
    dtype = np.float32 if z.dtype == np.float32 else np.float64
    if reduction == "none":
        value = da.map_blocks(_block_array(fn, kwargs, "loss"), *args, dtype=dtype)
    else:
        if z.size == 0 and reduction == "mean":
            raise ValueError("the mean loss of an empty input is undefined")
        sums = da.map_blocks(_block_value(fn, kwargs), *args, dtype=np.float64,
                             chunks=tuple((1,) * len(c) for c in z.chunks))
        total = float(sums.sum(dtype=np.float64).compute())
        value = total if reduction == "sum" else total / z.size
    extra = [da.map_blocks(_block_array(fn, kwargs, which), *args, dtype=dtype)
             for which, want in (("grad", return_grad), ("hess", return_hess)) if want]
    return (value, *extra) if extra else value


def _freq_block(fn):
    def run(y):
        if y.shape[0] == 0:
            return np.zeros((1, y.shape[1] + 1))
        y = np.asarray(y)
        fn(y)  # validates the block as the in-memory call does
        out = np.empty((1, y.shape[1] + 1))
        out[0, :-1] = y.sum(axis=0, dtype=np.float64)
        out[0, -1] = y.shape[0]
        return out
    return run


def label_frequencies(fn, Y):
    """``(pos_freq, neg_freq)`` of a Dask label matrix: per-block sums added in a tree."""
    import dask.array as da

    y = _known(_as_dask(Y))
    if y.ndim not in (1, 2):
        raise ValueError(f"Y must be 1-D or 2-D, got shape {y.shape}")
    if y.shape[0] == 0:
        raise ValueError("Y has no samples")
    y = (y if y.ndim == 2 else y[:, None]).rechunk({1: -1})
    n_labels = y.shape[1]
    parts = da.map_blocks(_freq_block(fn), y, dtype=np.float64,
                          chunks=((1,) * len(y.chunks[0]), (n_labels + 1,)))
    total = parts.sum(axis=0, dtype=np.float64).compute()
    pos = total[:-1] / total[-1]
    return pos, 1.0 - pos
