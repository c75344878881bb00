"""Counting metrics (Hamming loss, the precision / recall / F family, confusion matrices)
on Dask arrays and DataFrames.

Each row block is narrowed and counted by the compiled per-block kernels
(``fastml.kernels.cpu.metrics_counts.*_block``, the *partial*), the blocks' small count
arrays are added in a tree (*combine*), and the public function finishes them exactly as it
finishes the in-memory counts. Integer counts are exact, so unweighted results equal the
in-memory ones bit for bit; weighted sums agree to rounding. Nothing but per-label counts
reaches the client.
"""

from __future__ import annotations

import numpy as np

from fastml._backend import kernels
from fastml._validation import Unsupported, binary_indicator


def _as_dask(x, like=None):
    import dask.array as da

    if callable(getattr(type(x), "__dask_graph__", None)):
        if hasattr(x, "to_dask_array"):  # a Dask DataFrame or Series
            x = x.to_dask_array(lengths=True)
        return x
    arr = np.asarray(x)
    if like is not None and arr.shape[:1] == like.shape[:1]:
        chunks = (like.chunks[0],) + tuple((s,) for s in arr.shape[1:])
        return da.from_array(arr, chunks=chunks)
    return da.from_array(arr)


def _known(x):
    if any(c != c for axis in x.chunks for c in axis):
        x.compute_chunk_sizes()
    return x


def _narrow(block, name: str) -> np.ndarray:
    block = np.asarray(block)
    if block.dtype.kind not in "biuf" or block.dtype == np.float16:
        raise ValueError(f"{name} must be a 0/1 label indicator matrix, got dtype {block.dtype}")
    if block.shape[0] == 0:
        return np.zeros(block.shape, np.uint8)
    try:
        out = binary_indicator(np.ascontiguousarray(block))
    except Unsupported:
        raise ValueError(
            f"{name} must be a multi-label indicator matrix of 0 and 1 "
            "(Dask input: other targets are not supported)"
        ) from None
    return np.ascontiguousarray(out)


class Counts:
    """The count statistics of two Dask label matrices (and optional row weights)."""

    def __init__(self, y_true, y_pred, sample_weight):
        yt = _known(_as_dask(y_true))
        yp = _known(_as_dask(y_pred, like=yt))
        if yt.ndim != 2 or yp.ndim != 2 or yt.shape[1] < 2:
            raise ValueError(
                "Dask input: y_true and y_pred must be 2-D multi-label indicator matrices "
                f"(got shapes {yt.shape} and {yp.shape})"
            )
        if yt.shape != yp.shape:
            raise ValueError(
                f"y_true and y_pred have different shapes: {yt.shape} != {yp.shape}"
            )
        if yt.shape[0] == 0:
            raise ValueError("y_true has no samples")
        self.yt = yt.rechunk({1: -1})
        self.yp = yp.rechunk(self.yt.chunks)
        self.shape = self.yt.shape
        self.weighted = sample_weight is not None
        self.w = None
        if self.weighted:
            w = _known(_as_dask(sample_weight)).reshape(-1)
            if w.shape[0] != self.shape[0]:
                raise ValueError(
                    f"sample_weight has {w.shape[0]} values for {self.shape[0]} samples"
                )
            self.w = w.astype(np.float64).rechunk((self.yt.chunks[0],))

    def any_positive(self) -> bool:
        """Whether either matrix holds a nonzero entry anywhere (whatever the weights)."""
        import dask

        t, p = dask.compute((self.yt != 0).any(), (self.yp != 0).any())
        return bool(t) or bool(p)

    def select(self, cols) -> None:
        """Keep the label columns ``cols`` (in this order)."""
        if cols is not None:
            self.yt = self.yt[:, cols].rechunk({1: -1})
            self.yp = self.yp[:, cols].rechunk(self.yt.chunks)
            self.shape = self.yt.shape

    def _reduce(self, partial, width: int) -> tuple[np.ndarray, float]:
        """Sum over row blocks of ``partial(yt, yp, w) -> float64 (width,)``, and the sum
        of the weights (checked finite and >= 0 in every block)."""
        import dask.array as da

        def block(yt, yp, w=None):
            t, p = _narrow(yt, "y_true"), _narrow(yp, "y_pred")
            out = np.zeros((1, width + 1))
            if w is not None:
                w = np.ascontiguousarray(w, dtype=np.float64)
                if not (np.isfinite(w).all() and (w >= 0).all()):
                    raise ValueError("sample_weight must be finite and >= 0")
                out[0, -1] = w.sum()
            else:
                out[0, -1] = t.shape[0]
            if t.shape[0]:
                out[0, :width] = np.ravel(partial(t, p, w))
            return out

        args = (self.yt, self.yp) if self.w is None else (self.yt, self.yp, self.w[:, None])
        parts = da.map_blocks(
            block if self.w is None else (lambda t, p, w: block(t, p, w.ravel())),
            *args, dtype=np.float64,
            chunks=((1,) * len(self.yt.chunks[0]), (width + 1,)),
        )
        total = parts.sum(axis=0, dtype=np.float64).compute()
        if self.weighted and total[-1] == 0:
            raise ValueError("sample_weight: the weights sum to zero")
        return total[:width], float(total[-1])

    def _k(self):
        return kernels("metrics_counts")

    def label_counts(self) -> tuple[np.ndarray, float]:
        """float64 (3, L) per-label tp, predicted, true (weighted sums), and the weight
        total."""
        k, L = self._k(), self.shape[1]
        ones = np.ones(1)

        def partial(t, p, w):
            return k.label_counts_block(t, p, ones if w is None else w, w is not None, 0,
                                        t.shape[0])

        total, wsum = self._reduce(partial, 3 * L)
        return total.reshape(3, L), wsum

    def sample_stats(self, beta2: float, one_plus_beta2: float) -> tuple[np.ndarray, float]:
        k = self._k()
        ones = np.ones(1)

        def partial(t, p, w):
            return k.sample_stats_block(t, p, ones if w is None else w, w is not None, beta2,
                                        one_plus_beta2, 0, t.shape[0])

        total, wsum = self._reduce(partial, 18)
        return total.reshape(3, 6), wsum

    def hamming(self) -> tuple[float, float]:
        k = self._k()
        ones = np.ones(1)

        def partial(t, p, w):
            return np.array([k.hamming_block(t, p, ones if w is None else w, w is not None, 0,
                                             t.shape[0])])

        total, wsum = self._reduce(partial, 1)
        return float(total[0]), wsum

    def per_sample(self):
        """Dask arrays (tp, predicted, true) per row, int64 (chunked like the rows)."""
        import dask.array as da

        def block(yt, yp):
            t, p = _narrow(yt, "y_true"), _narrow(yp, "y_pred")
            return np.stack([np.count_nonzero(t & p, axis=1), np.count_nonzero(p, axis=1),
                             np.count_nonzero(t, axis=1)], axis=1).astype(np.int64)

        out = da.map_blocks(block, self.yt, self.yp, dtype=np.int64,
                            chunks=(self.yt.chunks[0], (3,)))
        return out[:, 0], out[:, 1], out[:, 2]
