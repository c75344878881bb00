"""Counting kernels on the GPU for Hamming loss and the precision / recall / F-beta family:
the names, signatures and results of ``fastml.kernels.cpu.metrics_counts`` (float64 host
arrays of a few numbers per label, which the API finishes with the CPU path's own code).

Contract: ``yt`` / ``yp`` are C-contiguous uint8 device arrays of 0/1 (``yp`` of
:func:`hamming_numerators` is (B, n, L)); ``w`` float64 row weights (host or device), read
only when ``weighted``.

Why this way: one launch counts, for every label and every chunk of rows (a fixed geometry
from the shape, so results do not depend on the launch size), tp / predicted / true / wrong
in int64 registers (and float64 weighted sums), and writes them to its own slot; the slots
are added by CuPy. No atomics, no float32: integer counts are exact and weighted sums are
float64 in a fixed order. Neighbouring threads take neighbouring labels, so reads of a row
are coalesced. ``average="samples"`` needs per-row counts: a second kernel (one thread per
row, grid-stride) writes tp / predicted / true per row, and the per-row ratios and their sums
use scikit-learn's arithmetic, in the array namespace.
"""

from __future__ import annotations

import numpy as np
from numba import cuda, types

from ._launch import launch, xp_of

_TASKS = 1 << 16  # (label, chunk) tasks per launch at least, where the rows allow


@cuda.jit
def label_chunk_counts(yt, yp, w, weighted, rows, cnt, wsum):
    """Task t = (chunk c, label j): over rows [c*rows, (c+1)*rows), cnt[c, :, j] = int64
    (tp, predicted, true, wrong) and, when ``weighted``, wsum[c, :, j] the w-weighted sums."""
    n = yt.shape[0]
    n_labels = yt.shape[1]
    n_tasks = cnt.shape[0] * n_labels
    for t in range(cuda.grid(1), n_tasks, cuda.gridsize(1)):
        c = t // n_labels
        j = t - c * n_labels
        lo = c * rows
        hi = min(n, lo + rows)
        tp = 0
        pr = 0
        tr = 0
        wr = 0
        stp = 0.0
        spr = 0.0
        str_ = 0.0
        swr = 0.0
        for i in range(lo, hi):
            a = np.int64(yt[i, j])
            b = np.int64(yp[i, j])
            ab = a & b
            x = a ^ b
            tp += ab
            pr += b
            tr += a
            wr += x
            if weighted:
                wi = w[i]
                stp += wi * ab
                spr += wi * b
                str_ += wi * a
                swr += wi * x
        cnt[c, 0, j] = tp
        cnt[c, 1, j] = pr
        cnt[c, 2, j] = tr
        cnt[c, 3, j] = wr
        if weighted:
            wsum[c, 0, j] = stp
            wsum[c, 1, j] = spr
            wsum[c, 2, j] = str_
            wsum[c, 3, j] = swr


@cuda.jit
def row_counts(yt, yp, out):
    """out[i] = int64 (tp, predicted, true) of row i."""
    n_labels = yt.shape[1]
    for i in range(cuda.grid(1), yt.shape[0], cuda.gridsize(1)):
        tp = 0
        pr = 0
        tr = 0
        for j in range(n_labels):
            a = np.int64(yt[i, j])
            b = np.int64(yp[i, j])
            tp += a & b
            pr += b
            tr += a
        out[i, 0] = tp
        out[i, 1] = pr
        out[i, 2] = tr


_U8 = types.uint8[:, ::1]
SIGNATURES = {
    label_chunk_counts: [(_U8, _U8, types.float64[::1], types.boolean, types.int64,
                          types.int64[:, :, ::1], types.float64[:, :, ::1])],
    row_counts: [(_U8, _U8, types.int64[:, ::1])],
}


def _chunk_rows(n: int, n_labels: int) -> int:
    """Rows per chunk: enough (label, chunk) tasks to fill a device, from the shape only."""
    chunks = max(1, min(n, -(-_TASKS // max(1, n_labels))))
    return max(1, -(-n // chunks))


def _weights(xp, w, weighted):
    if not weighted:
        return xp.ones(1)
    return xp.asarray(w, dtype=np.float64)


def _label_sums(yt, yp, w, weighted):
    """(4, L) device array: tp, predicted, true, wrong (int64, or float64 sums weighted)."""
    xp = xp_of(yt)
    n, n_labels = yt.shape
    rows = _chunk_rows(n, n_labels)
    n_chunks = max(1, -(-n // rows))
    cnt = xp.zeros((n_chunks, 4, n_labels), np.int64)
    wsum = xp.zeros((n_chunks, 4, n_labels) if weighted else (1, 4, 1), np.float64)
    if n and n_labels:
        launch(label_chunk_counts, n_chunks * n_labels, yt, yp, _weights(xp, w, weighted),
               bool(weighted), np.int64(rows), cnt, wsum)
    return wsum.sum(axis=0) if weighted else cnt.sum(axis=0)


def _host(a):
    return a if isinstance(a, np.ndarray) else a.get()


def hamming_numerators(yt, yp, w, weighted):
    """float64 (B,): ``sum_i w_i * #{j : yt[i, j] != yp[b, i, j]}`` for each b."""
    out = np.zeros(yp.shape[0])
    for b in range(yp.shape[0]):
        out[b] = float(_label_sums(yt, yp[b], w, weighted)[3].sum())
    return out


def label_counts(yt, yp, w, weighted):
    """float64 (3, L) host array: per-label (weighted) tp, predicted, true."""
    return _host(_label_sums(yt, yp, w, weighted)[:3]).astype(np.float64)


def sample_stats(yt, yp, w, weighted, beta2, one_plus_beta2):
    """float64 (3, 6) host array: for precision, recall and F, ``[sum v*w, sum v, sum w,
    count]`` over rows where the metric is defined, then ``[sum w, count]`` over the others
    (as ``fastml.kernels.cpu.metrics_counts.sample_stats``)."""
    xp = xp_of(yt)
    n = yt.shape[0]
    counts = xp.zeros((n, 3), np.int64)
    if n:
        launch(row_counts, n, yt, yp, counts)
    wi = _weights(xp, w, weighted) if weighted else xp.ones(n)
    c = counts.astype(np.float64)
    tpw = c[:, 0] * wi
    pred_s = tpw + (c[:, 1] * wi - tpw)
    true_s = tpw + (c[:, 2] * wi - tpw)
    out = np.zeros((3, 6))
    pairs = ((tpw, pred_s), (tpw, true_s), (one_plus_beta2 * tpw, beta2 * true_s + pred_s))
    for m, (num, den) in enumerate(pairs):
        ok = den != 0.0
        v = xp.where(ok, num / xp.where(ok, den, 1.0), 0.0)
        sums = xp.stack([
            (v * wi * ok).sum(), (v * ok).sum(), (wi * ok).sum(), ok.sum(),
            (wi * ~ok).sum(), (~ok).sum(),
        ]).astype(np.float64)
        out[m] = _host(sums)
    return out
