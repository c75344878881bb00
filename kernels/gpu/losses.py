"""Loss kernels on the GPU: per-label weighted binary cross-entropy and focal loss, value +
gradient + hessian with respect to the logits from one fused kernel (one read of ``z`` and
``y``, one write of each output asked for).

Input contract (as :mod:`fastml.kernels.losses_cpu`, whose names and signatures these are):
flat C-contiguous ``z`` (float32/float64 logits or probabilities) and ``y`` (uint8 or z's
dtype) of an ``(n_rows, n_cols)`` array; per-element parameters as outer products
``p_row[r] * p_col[c]``; outputs of ``z``'s dtype, or empty to skip.

Why this way: the work is elementwise, memory-bound math. Each element is computed in
float64 (a float32 input is widened on load and the outputs rounded once on store: the FP64
units of an H100/H200 keep up with the memory), with the same stable forms as the CPU
kernel (``sp`` softplus, ``q = sigma(z)``, ``u = sigma(-z)`` from ``e = exp(-|z|)``, never
``1 - q``). Each thread keeps a float64 loss sum and int64 counts of bad inputs and labels in
registers and writes them to its own slot; the slots are added afterwards in a fixed order,
so the result does not depend on scheduling (no atomics).
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda, types

from ._launch import launch, n_threads, xp_of

H_EXACT, H_CLIP, H_ABS, H_FISHER = 0, 1, 2, 3
BCE, FOCAL = 0, 1
_LOG_CAP = 100.0


@cuda.jit(device=True, inline=True)
def _from_logit(z):
    """(sp(-z), sp(z), sigma(z), sigma(-z))."""
    e = math.exp(-abs(z))
    l1p = math.log1p(e)
    d = 1.0 / (1.0 + e)
    ed = e * d
    if z >= 0.0:
        return l1p, z + l1p, d, ed
    return -z + l1p, l1p, ed, d


@cuda.jit(device=True, inline=True)
def _from_prob(p):
    """(sp(-z), sp(z), sigma(z), sigma(-z)) for z = logit(p); logs capped at 100."""
    spn = min(-math.log(p), _LOG_CAP) if p >= 2.2250738585072014e-308 else _LOG_CAP
    spp = min(-math.log1p(-p), _LOG_CAP) if p < 1.0 else _LOG_CAP
    return spn, spp, p, 1.0 - p


@cuda.jit(device=True, inline=True)
def _focal_elem(spn, spp, q, u, yv, at_pos, at_neg, gamma, hmode, min_hess):
    ny = 1.0 - yv
    ce = yv * spn + ny * spp
    dce = ny * q - yv * u
    m = yv * u + ny * q  # 1 - p_t
    qu = q * u
    ok = m >= 2.2250738585072014e-308
    r = qu / m if ok else 0.0
    if gamma == 2.0:
        mg = m * m
    elif gamma == 0.0:
        mg = 1.0
    else:
        mg = math.exp(gamma * math.log(m)) if ok else 0.0
    at = at_pos * yv + at_neg * ny
    w = at * mg
    k = 1.0 - 2.0 * yv
    grk = gamma * r * k
    loss = w * ce
    grad = w * (grk * ce + dce)
    if hmode == H_FISHER:
        return loss, grad, at * qu
    hess = w * ((gamma - 1.0) * grk * r * k * ce + grk * (u - q) * ce + 2.0 * grk * dce + qu)
    if hmode == H_CLIP:
        hess = max(hess, min_hess)
    elif hmode == H_ABS:
        hess = abs(hess)
    return loss, grad, hess


@cuda.jit
def loss_kernel(
    kind, z, y, p_row, p_col, q_row, q_col, row_ones, n_cols, from_logits, gamma, hmode,
    min_hess, want, loss_out, grad_out, hess_out, gscale, part, bad,
):
    """One fused pass: element i of the flat (n_rows, n_cols) input; ``kind`` BCE (p, q are
    w_pos, w_neg) or FOCAL (alpha_t of positives / negatives); ``want`` bit 0/1/2: write
    loss / grad / hess. Thread t writes its loss sum to part[t], its bad counts to bad[t]."""
    t0 = cuda.grid(1)
    stride = cuda.gridsize(1)
    acc = 0.0
    bad_z = 0
    bad_y = 0
    for i in range(t0, z.shape[0], stride):
        r = i // n_cols
        c = i - r * n_cols
        zv = float(z[i])
        yv = float(y[i])
        if from_logits:
            if not abs(zv) < math.inf:
                bad_z += 1
            spn, spp, q, u = _from_logit(zv)
        else:
            if not (zv >= 0.0 and zv <= 1.0):
                bad_z += 1
            spn, spp, q, u = _from_prob(zv)
        if not (yv >= 0.0 and yv <= 1.0):
            bad_y += 1
        s = 1.0 if row_ones else p_row[r]
        sn = 1.0 if row_ones else q_row[r]
        pv = s * float(p_col[c])
        qv = sn * float(q_col[c])
        if kind == BCE:
            a = pv * yv
            b = qv * (1.0 - yv)
            lv = a * spn + b * spp
            gv = b * q - a * u
            hv = (a + b) * (q * u)
        else:
            lv, gv, hv = _focal_elem(spn, spp, q, u, yv, pv, qv, gamma, hmode, min_hess)
        if want & 1:
            loss_out[i] = lv
        if want & 2:
            grad_out[i] = gv * gscale
        if want & 4:
            hess_out[i] = hv * gscale
        acc += float(loss_out[i]) if want & 1 else lv
    part[t0] = acc
    bad[t0, 0] = bad_z
    bad[t0, 1] = bad_y


def _signatures():
    """Every type signature :func:`loss_kernel` is launched with (checked by compiling PTX)."""
    sigs = []
    for zt in (types.float32, types.float64):
        for yt in (types.uint8, zt):
            arr = zt[::1]
            sigs.append((
                types.int64, arr, yt[::1], types.float64[::1], arr, types.float64[::1], arr,
                types.boolean, types.int64, types.boolean, types.float64, types.int64,
                types.float64, types.int64, arr, arr, arr, types.float64, types.float64[::1],
                types.int64[:, ::1],
            ))
    return sigs


SIGNATURES = {loss_kernel: _signatures()}


def _run(kind, z, y, p_row, p_col, q_row, q_col, row_ones, n_rows, n_cols, from_logits,
         gamma, hmode, min_hess, loss_out, grad_out, hess_out, gscale):
    xp = xp_of(z)
    n = int(z.shape[0])
    if n == 0:
        return 0.0, 0, 0
    want = 0
    outs = []
    for bit, a in ((1, loss_out), (2, grad_out), (4, hess_out)):
        if a.shape[0] == n:
            want |= bit
            outs.append(a)
        else:  # a one-element stand-in, never written
            outs.append(xp.empty(1, z.dtype))
    nt = n_threads(n)
    part = xp.zeros(nt, np.float64)
    bad = xp.zeros((nt, 2), np.int64)
    launch(
        loss_kernel, n, np.int64(kind), z, y, p_row, p_col, q_row, q_col, bool(row_ones),
        np.int64(n_cols), bool(from_logits), float(gamma), np.int64(hmode), float(min_hess),
        np.int64(want), outs[0], outs[1], outs[2], float(gscale), part, bad,
    )
    counts = bad.sum(axis=0)
    return float(part.sum()), int(counts[0]), int(counts[1])


def weighted_bce(
    z, y, wp_row, wp_col, wn_row, wn_col, row_ones, n_rows, n_cols, from_logits,
    loss_out, grad_out, hess_out, gscale,
):
    """Weighted BCE over the flat ``(n_rows, n_cols)`` device arrays ``z`` and ``y``; as
    ``fastml.kernels.losses_cpu.weighted_bce``: returns (float64 loss sum, bad inputs, bad
    labels) and writes the outputs that have ``z.size`` elements."""
    return _run(BCE, z, y, wp_row, wp_col, wn_row, wn_col, row_ones, n_rows, n_cols,
                from_logits, 0.0, 0, 0.0, loss_out, grad_out, hess_out, gscale)


def focal(
    z, y, ap_row, ap_col, an_row, an_col, row_ones, n_rows, n_cols, from_logits,
    gamma, hmode, min_hess, loss_out, grad_out, hess_out, gscale,
):
    """Focal loss over the flat ``(n_rows, n_cols)`` device arrays; as
    ``fastml.kernels.losses_cpu.focal``."""
    return _run(FOCAL, z, y, ap_row, ap_col, an_row, an_col, row_ones, n_rows, n_cols,
                from_logits, gamma, hmode, min_hess, loss_out, grad_out, hess_out, gscale)
