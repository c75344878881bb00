"""Counting kernels for Hamming loss and the precision / recall / F-beta family (CPU).

Why Numba: every metric here is a plain double loop over two 0/1 matrices that sums a few
per-label or per-row counts. Numba compiles that loop to one parallel pass with no
temporaries, where NumPy / scikit-learn build several (n, L) intermediates (sparse copies,
``y_true - y_pred``, ``y_true * y_pred``) and walk the data many times.

Conventions (the API layer in ``fastml.metrics._classification`` guarantees them):

- ``yt`` / ``yp`` are C-contiguous uint8 arrays holding only 0 and 1;
- ``w`` is a C-contiguous float64 array of row weights, read only when ``weighted`` is true
  (pass a length-1 array otherwise, so each kernel compiles once);
- rows are cut into chunks whose count depends only on the shape (never on the thread
  count), each chunk sums into its own slot, and the slots are added in order at the end:
  results are deterministic for a given input.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# Chunking: at least _MIN_ROWS rows per chunk, at most _MAX_CHUNKS chunks, and at most
# about _MAX_SLOTS partial sums in total (per-label partials are chunks x labels).
_MIN_ROWS = 2048
_MAX_CHUNKS = 128
_MAX_SLOTS = 1 << 21


@njit(cache=True)
def _chunking(n_rows, slots_per_chunk):
    """(number of chunks, rows per chunk) for ``n_rows`` rows."""
    n_chunks = (n_rows + _MIN_ROWS - 1) // _MIN_ROWS
    n_chunks = min(n_chunks, _MAX_CHUNKS)
    n_chunks = min(n_chunks, max(1, _MAX_SLOTS // max(1, slots_per_chunk)))
    n_chunks = max(1, n_chunks)
    rows = (n_rows + n_chunks - 1) // n_chunks
    n_chunks = max(1, (n_rows + rows - 1) // rows) if n_rows > 0 else 1
    return n_chunks, max(rows, 1)


@njit(cache=True, inline="always")
def _xor_count(a, b):
    # Zero-based loops over slices: Numba then knows no index is negative and vectorizes.
    count = 0
    for j in range(a.size):
        count += a[j] ^ b[j]
    return count


@njit(cache=True, parallel=True)
def hamming_numerators(yt, yp, w, weighted):
    """Weighted count of differing entries between ``yt`` (n, L) and each ``yp[b]``.

    Parameters: ``yt`` uint8 (n, L); ``yp`` uint8 (B, n, L); ``w`` float64 (n,) row weights;
    ``weighted``: use ``w`` (else every row weighs 1). Returns float64 (B,): for each b,
    ``sum_i w_i * #{j : yt[i, j] != yp[b, i, j]}`` (an exact integer count when unweighted).
    """
    n_models = yp.shape[0]
    n, n_labels = yt.shape
    n_chunks, rows = _chunking(n, n_models)
    flat_t = yt.reshape(n * n_labels)
    partial = np.zeros((n_models, n_chunks))
    for task in prange(n_models * n_chunks):
        b = task // n_chunks
        c = task - b * n_chunks
        lo = c * rows
        hi = min(n, lo + rows)
        if weighted:
            block_t = yt[lo:hi]
            block_p = yp[b, lo:hi]
            block_w = w[lo:hi]
            acc = 0.0
            for i in range(hi - lo):
                acc += _xor_count(block_t[i], block_p[i]) * block_w[i]
            partial[b, c] = acc
        else:
            flat_p = yp[b].reshape(n * n_labels)
            partial[b, c] = _xor_count(
                flat_t[lo * n_labels : hi * n_labels], flat_p[lo * n_labels : hi * n_labels]
            )
    out = np.zeros(n_models)
    for b in range(n_models):
        acc = 0.0
        for c in range(n_chunks):
            acc += partial[b, c]
        out[b] = acc
    return out


@njit(cache=True, parallel=True)
def label_counts(yt, yp, w, weighted):
    """Per-label (weighted) true-positive, predicted and true counts.

    Returns float64 (3, L): rows tp, predicted, true, each ``sum_i w_i * indicator``
    (exact integer counts when unweighted).
    """
    n, n_labels = yt.shape
    n_chunks, rows = _chunking(n, 3 * n_labels)
    partial = np.zeros((n_chunks, 3, n_labels))
    for c in prange(n_chunks):
        lo = c * rows
        hi = min(n, lo + rows)
        block_t = yt[lo:hi]
        block_p = yp[lo:hi]
        if weighted:
            block_w = w[lo:hi]
            tp = partial[c, 0]
            pred = partial[c, 1]
            true = partial[c, 2]
            for i in range(hi - lo):
                row_t = block_t[i]
                row_p = block_p[i]
                wi = block_w[i]
                for j in range(n_labels):
                    t = row_t[j]
                    p = row_p[j]
                    tp[j] += wi * (t & p)
                    pred[j] += wi * p
                    true[j] += wi * t
        else:
            ctp = np.zeros(n_labels, dtype=np.int64)
            cpred = np.zeros(n_labels, dtype=np.int64)
            ctrue = np.zeros(n_labels, dtype=np.int64)
            for i in range(hi - lo):
                row_t = block_t[i]
                row_p = block_p[i]
                for j in range(n_labels):
                    t = row_t[j]
                    p = row_p[j]
                    ctp[j] += t & p
                    cpred[j] += p
                    ctrue[j] += t
            for j in range(n_labels):
                partial[c, 0, j] = ctp[j]
                partial[c, 1, j] = cpred[j]
                partial[c, 2, j] = ctrue[j]
    out = np.zeros((3, n_labels))
    for c in range(n_chunks):
        for k in range(3):
            for j in range(n_labels):
                out[k, j] += partial[c, k, j]
    return out


@njit(cache=True, inline="always")
def _ratio(num, den, wi, s):
    # s = (sum v*w, sum v, sum w, count) over rows with a nonzero denominator, then
    # (sum w, count) over the others; returns the updated tuple (kept in registers).
    if den != 0.0:
        v = num / den
        return (s[0] + v * wi, s[1] + v, s[2] + wi, s[3] + 1.0, s[4], s[5])
    return (s[0], s[1], s[2], s[3], s[4] + wi, s[5] + 1.0)


@njit(cache=True, inline="always")
def _row_counts(row_t, row_p):
    ctp = 0
    cpred = 0
    ctrue = 0
    for j in range(row_t.size):
        t = row_t[j]
        p = row_p[j]
        ctp += t & p
        cpred += p
        ctrue += t
    return ctp, cpred, ctrue


@njit(cache=True, parallel=True)
def sample_stats(yt, yp, w, weighted, beta2, one_plus_beta2):
    """Sums of per-row precision, recall and F-beta (``average="samples"``).

    For row i with counts tp, predicted, true and weight w_i (1 when unweighted), the row's
    values follow scikit-learn's arithmetic exactly: ``t = tp*w_i``,
    ``P = t + (predicted*w_i - t)``, ``R = t + (true*w_i - t)``, precision ``t / P``,
    recall ``t / R``, F ``one_plus_beta2 * t / (beta2 * R + P)``.

    Returns float64 (3, 6): for precision, recall and F (rows), the sums
    ``[sum v*w, sum v, sum w, count]`` over rows where the metric is defined (nonzero
    denominator), then ``[sum w, count]`` over rows where it is not.
    """
    n = yt.shape[0]
    n_chunks, rows = _chunking(n, 18)
    partial = np.zeros((n_chunks, 3, 6))
    for c in prange(n_chunks):
        lo = c * rows
        hi = min(n, lo + rows)
        block_t = yt[lo:hi]
        block_p = yp[lo:hi]
        block_w = w[lo:hi] if weighted else w
        zero = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        sp, sr, sf = zero, zero, zero
        for i in range(hi - lo):
            ctp, cpred, ctrue = _row_counts(block_t[i], block_p[i])
            wi = block_w[i] if weighted else 1.0
            tpw = ctp * wi
            pred_s = tpw + (cpred * wi - tpw)
            true_s = tpw + (ctrue * wi - tpw)
            sp = _ratio(tpw, pred_s, wi, sp)
            sr = _ratio(tpw, true_s, wi, sr)
            sf = _ratio(one_plus_beta2 * tpw, beta2 * true_s + pred_s, wi, sf)
        for k in range(6):
            partial[c, 0, k] = sp[k]
            partial[c, 1, k] = sr[k]
            partial[c, 2, k] = sf[k]
    out = np.zeros((3, 6))
    for c in range(n_chunks):
        for m in range(3):
            for k in range(6):
                out[m, k] += partial[c, m, k]
    return out
