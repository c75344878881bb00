"""Average precision and ROC AUC on Dask arrays, exact.

Plan (per label, or one flat problem for average="micro" and 1-D binary targets):

1. One pass over the row blocks validates them and gathers each problem's positives (scores
   and weights, in row order) to the client: in imbalanced data they are few. The client
   sorts and deduplicates them with the compiled kernel (``sorted_positives``), as the
   in-memory call does.
2. The distinct positive scores go to every block; each block histograms its negatives over
   them (``histogram_block``, the kernels' row-split partial); the partials are added in a
   tree on the workers (``combine``).
3. The client finishes each problem from its positives and its summed histogram
   (``finish_stats``: suffix sums, the step integral), then the public function averages
   exactly as it does in memory.

average="samples" needs no gathering: each row is its own problem, scored in its block; the
blocks' (weighted) sums of the row scores are added.

Weights are scaled by the same power of two as in memory (exact). Unweighted results equal
the in-memory ones bit for bit (integer counts); weighted ones agree to rounding.
"""

from __future__ import annotations

import numpy as np

from fastml._backend import kernels
from fastml._dask import log

_INF = np.inf


def _as_dask(x, like=None):
    import dask.array as da

    if callable(getattr(type(x), "__dask_graph__", None)):
        if hasattr(x, "to_dask_array"):
            x = x.to_dask_array(lengths=True)
        return x
    arr = np.asarray(x)
    if like is not None and arr.shape[:1] == like.shape[:1]:
        return da.from_array(arr, chunks=(like.chunks[0],) + tuple((d,) for d in arr.shape[1:]))
    return da.from_array(arr)


def _known(x):
    if any(c != c for axis in x.chunks for c in axis):
        x.compute_chunk_sizes()
    return x


class Scored:
    """Validated Dask inputs of a score metric: ``y`` (n, L) 0/1, ``score`` (n, L) float,
    ``weight`` (n,) or None, ``multilabel``; blocks of rows with the label axis whole."""

    def __init__(self, y_true, y_score, sample_weight):
        y = _known(_as_dask(y_true))
        s = _known(_as_dask(y_score, like=y))
        if y.shape != s.shape:
            raise ValueError(f"y_true and y_score have different shapes: {y.shape} != {s.shape}")
        if y.ndim == 1:
            y, s = y[:, None], s[:, None]
        if y.ndim != 2:
            raise ValueError(f"y_true must be 1-D or 2-D, got shape {y.shape}")
        if y.shape[0] == 0:
            raise ValueError("y_true has no samples")
        if s.dtype.kind not in "biuf":
            raise ValueError(f"y_score must be numeric, got dtype {s.dtype}")
        self.multilabel = y.shape[1] > 1
        self.y = y.rechunk({1: -1})
        self.score = s.rechunk(self.y.chunks)
        self.dtype = np.float32 if s.dtype == np.float32 else np.float64
        self.weight = None
        self.weighted = sample_weight is not None
        if sample_weight is not None:
            w = _known(_as_dask(sample_weight)).reshape(-1)
            if w.shape[0] != y.shape[0]:
                raise ValueError(f"sample_weight has {w.shape[0]} values for {y.shape[0]} "
                                 "samples")
            self.weight = w.rechunk((self.y.chunks[0],))
        self.e = 0
        self.shape = self.y.shape

    # ------------------------------------------------------------------ block helpers
    def _blocks(self):
        """Per row block: (y, score, weight or None) as delayed objects."""
        ys = self.y.to_delayed().ravel().tolist()
        ss = self.score.to_delayed().ravel().tolist()
        ws = (self.weight.to_delayed().ravel().tolist() if self.weight is not None
              else [None] * len(ys))
        return list(zip(ys, ss, ws, strict=True))

    def gather_positives(self, flat: bool):
        """Pass 1: validate every block and gather the positives of each problem; sets the
        weight exponent ``e``. Returns one (scores, weights or None) pair per problem."""
        import dask

        parts = dask.compute(*[dask.delayed(_positives_block)(y, s, w, flat, self.dtype)
                               for y, s, w in self._blocks()])
        wmax = max((p[2] for p in parts), default=0.0)
        if self.weight is not None:
            total = sum(p[3] for p in parts)
            if total == 0:
                raise ValueError("sample_weight: the weights sum to zero")
            self.e = int(np.frexp(wmax)[1])
        n_problems = 1 if flat else self.shape[1]
        log.debug("score curves: %d problem(s) over %d row blocks; %d positives gathered",
                  n_problems, len(parts), sum(len(x) for p in parts for x in p[0]))
        out = []
        for j in range(n_problems):
            scores = np.concatenate([p[0][j] for p in parts]).astype(self.dtype, copy=False)
            weights = None
            if self.weight is not None:
                weights = np.ldexp(np.concatenate([p[1][j] for p in parts]), -self.e)
            out.append((scores, weights))
        return out

    def parts(self, flat: bool = False, thr: float = _INF):
        """Per problem ``(a, pw, n_pos, part)``: the sorted distinct positive scores, their
        weights, the number of positives, and the summed negative histogram over them."""
        import dask

        k = kernels("metrics_curves")
        positives = self.gather_positives(flat)
        sorted_pos = []
        for scores, weights in positives:
            n = scores.shape[0]
            w = weights if weights is not None else np.ones(1)
            a, pw, n_pos = k.sorted_positives(scores, np.ones(n, np.uint8), w, 1, max(n, 1),
                                              weights is not None)
            sorted_pos.append((a, pw, n_pos))
        shared = dask.delayed([(a, k.bucket_index(a)) for a, _, _ in sorted_pos], pure=True)
        partials = [dask.delayed(_histogram_block)(y, s, w, shared, flat, self.e, thr,
                                                   self.dtype)
                    for y, s, w in self._blocks()]
        while len(partials) > 1:  # a tree of additions, 8 at a time
            partials = [dask.delayed(_add_many)(partials[i:i + 8])
                        for i in range(0, len(partials), 8)]
        (total,) = dask.compute(partials[0])
        return [(a, pw, n_pos, part) for (a, pw, n_pos), part in zip(sorted_pos, total,
                                                                      strict=True)]

    def stats(self, flat: bool, thr: float = _INF, max_fpr: float = 0.0) -> np.ndarray:
        """(n_problems, N_STATS) statistics, as the in-memory kernels compute them."""
        k = kernels("metrics_curves")
        return np.array([k.finish_stats(a, pw, n_pos, part, thr, max_fpr)
                         for a, pw, n_pos, part in self.parts(flat, thr)])

    def counts_at(self, thr: np.ndarray):
        """Per label: positives and negatives with ``float64(score) >= thr``."""
        import dask

        thr = np.asarray(thr, dtype=np.float64)
        parts = dask.compute(*[dask.delayed(_counts_block)(y, s, thr, self.dtype)
                               for y, s, _ in self._blocks()])
        tp, pred = np.sum(parts, axis=0)
        return tp, pred - tp

    def samples(self, which: str, max_fpr: float = 0.0) -> tuple[float, int]:
        """average="samples": the (weighted) mean over rows of each row's AP or AUC, and the
        number of rows without a positive (AP) or with one class only (AUC)."""
        import dask

        parts = dask.compute(*[dask.delayed(_samples_block)(y, s, w, which, max_fpr,
                                                             self.dtype)
                               for y, s, w in self._blocks()])
        total = np.sum(parts, axis=0)
        sum_sw, sum_w, n_bad = total
        if self.weight is not None and sum_w == 0:
            raise ValueError("sample_weight: the weights sum to zero")
        return float(sum_sw / sum_w), int(n_bad)


def _check_block(y, s, w, dtype, check: bool = True):
    """A block's (uint8 targets, scores in ``dtype``, float64 weights or None), validated
    unless ``check`` is False (a later pass over blocks the first pass validated)."""
    y = np.asarray(y)
    s = np.asarray(s)
    if not check:
        w = None if w is None else np.asarray(w, dtype=np.float64)
        return (np.ascontiguousarray(y, dtype=np.uint8),
                np.ascontiguousarray(s, dtype=dtype), w)
    if y.dtype.kind not in "biuf" or y.dtype == np.float16:
        raise ValueError(f"y_true must hold 0 and 1, got dtype {y.dtype}")
    if y.size and not np.isin(y, (0, 1)).all():
        raise ValueError("y_true must be a 0/1 label indicator (Dask input: other targets "
                         "are not supported)")
    s = s.astype(dtype, copy=False)
    if s.size and not np.isfinite(s).all():
        raise ValueError("Input y_score contains NaN or infinity.")
    if w is not None:
        w = np.asarray(w, dtype=np.float64)
        if w.size and not (np.isfinite(w).all() and (w >= 0).all()):
            raise ValueError("sample_weight must be finite and >= 0")
    return np.ascontiguousarray(y, dtype=np.uint8), np.ascontiguousarray(s), w


def _positives_block(y, s, w, flat: bool, dtype):
    y, s, w = _check_block(y, s, w, dtype)
    if flat:
        mask = y.reshape(-1) == 1
        scores = [s.reshape(-1)[mask]]
        weights = [np.repeat(w, y.shape[1])[mask]] if w is not None else None
    else:
        cols = [y[:, j] == 1 for j in range(y.shape[1])]
        scores = [s[m, j] for j, m in enumerate(cols)]
        weights = [w[m] for m in cols] if w is not None else None
    wmax = float(w.max()) if w is not None and w.size else 0.0
    wsum = float(w.sum()) if w is not None else 0.0
    return scores, weights, wmax, wsum


def _histogram_block(y, s, w, shared, flat: bool, e: int, thr: float, dtype):
    k = kernels("metrics_curves")
    y, s, w = _check_block(y, s, w, dtype, check=False)  # validated by the first pass
    use_w = w is not None
    wk = np.ldexp(w, -e) if use_w else np.ones(1)
    n, n_labels = y.shape
    out = []
    if flat:
        a, index = shared[0]
        out.append(k.histogram_block(s.reshape(-1), y.reshape(-1), wk, n_labels, max(n, 1),
                                     use_w, thr, a, 0, n * n_labels, index))
    else:
        for j, (a, index) in enumerate(shared):
            out.append(k.histogram_block(np.ascontiguousarray(s[:, j]),
                                         np.ascontiguousarray(y[:, j]), wk, 1, max(n, 1),
                                         use_w, thr, a, 0, n, index))
    return out


def _counts_block(y, s, thr, dtype):
    y, s, _ = _check_block(y, s, None, dtype)
    hit = s >= thr
    return np.stack([np.count_nonzero(hit & (y != 0), axis=0),
                     np.count_nonzero(hit, axis=0)]).astype(np.float64)


def _add_many(items):
    k = kernels("metrics_curves")
    acc = items[0]
    for item in items[1:]:
        acc = [k.combine(p, q) for p, q in zip(acc, item, strict=True)]
    return acc


def _samples_block(y, s, w, which: str, max_fpr: float, dtype):
    from fastml.kernels.cpu.metrics_curves import AP, AUC, NEG_N, POS_N, POS_W

    y, s, w = _check_block(y, s, w, dtype)
    if y.shape[0] == 0:
        return np.zeros(3)
    stats = kernels("metrics_curves").row_stats(s[np.newaxis], y, _INF, max_fpr)[0]
    if which == "ap":
        scores = stats[:, AP]
        bad = int(np.count_nonzero(stats[:, POS_W] == 0))
    else:
        one_class = (stats[:, POS_N] == 0) | (stats[:, NEG_N] == 0)
        scores = stats[:, AUC].copy()
        scores[one_class] = np.nan
        bad = int(np.count_nonzero(one_class))
    if w is None:
        return np.array([scores.sum(), float(scores.shape[0]), bad])
    scores = np.where(w == 0, 0.0, scores)
    return np.array([(scores * w).sum(), w.sum(), bad])
