"""Imbalance measures on the GPU: positives per label and SCUMBLE (the names, signatures and
results of ``fastml.kernels.cpu.resample.label_counts`` / ``scumble``). The sequential
resampling algorithms (MLSMOTE, ML-ROS/RUS) are not here: they run on the host.

Contract: ``y`` is a C-contiguous uint8 0/1 device array (n, L); ``ir`` IRLbl per label
(> 0 wherever a row has the label).

Why this way: ``row_scumble`` (one thread per row, grid-stride) computes a row's SCUMBLE
``1 - geometric / arithmetic mean`` of its labels' IRLbl (0 with fewer than two labels) with
the CPU kernel's arithmetic (sums over the row's labels in label order, float64); the sums
over rows are CuPy reductions (float64), the label counts an int64 CuPy sum.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda, types

from ._launch import launch, xp_of


@cuda.jit
def row_scumble(y, ir, log_ir, out):
    """out[i] = SCUMBLE of row i."""
    n_labels = y.shape[1]
    for i in range(cuda.grid(1), y.shape[0], cuda.gridsize(1)):
        m = 0.0
        sl = 0.0
        ss = 0.0
        for j in range(n_labels):
            if y[i, j] != 0:
                m += 1.0
                sl += log_ir[j]
                ss += ir[j]
        s = 0.0
        if m >= 2.0:
            s = 1.0 - math.exp(sl / m) / (ss / m)
        out[i] = s


SIGNATURES = {
    row_scumble: [(types.uint8[:, ::1], types.float64[::1], types.float64[::1],
                   types.float64[::1])],
}


def _host(a):
    return a if isinstance(a, np.ndarray) else a.get()


def label_counts(y):
    """Positives per label (int64, host)."""
    return np.asarray(_host(y.sum(axis=0, dtype=np.int64)), dtype=np.int64)


def scumble(y, ir, per_row=False):
    """``(total, per_label, rows)`` as the CPU kernel: the sum of row SCUMBLE, for each label
    the sum over the rows having it (host float64), and every row's SCUMBLE when ``per_row``
    (a device array; else empty)."""
    xp = xp_of(y)
    n, n_labels = y.shape
    ir_h = np.ascontiguousarray(ir, np.float64)
    log_h = np.zeros(n_labels)
    np.log(ir_h, out=log_h, where=ir_h > 0)
    rows = xp.zeros(n)
    if n and n_labels:
        launch(row_scumble, n, xp.ascontiguousarray(y), xp.asarray(ir_h), xp.asarray(log_h),
               rows)
    total = float(rows.sum())
    per_label = _host((y * rows[:, None]).sum(axis=0))
    return total, np.asarray(per_label, np.float64), rows if per_row else xp.zeros(0)
