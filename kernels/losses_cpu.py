"""Loss kernels: per-label weighted binary cross-entropy and focal loss, value + gradient +
hessian with respect to the logits in one pass over memory.

Numba: the work is elementwise float math over typed arrays. The exponential and logarithms
are written here as polynomials on the IEEE bit patterns (``_exp_neg``, ``_log_series``,
``_log_pos``; float64 and float32 versions, so float32 input is computed in float32 at twice
the SIMD width), accurate to a few units in the last place: Numba has no vector math library
on this platform, and a call to libm's ``exp``/``log1p`` keeps a loop scalar (about 4x
slower); these helpers are force-inlined (LLVM ``alwaysinline``) so that LLVM vectorises the
element loops. ``error_model="numpy"`` matters for the same reason (Python's division-by-zero
check blocks vectorisation). Threads: see "thread dispatch" below.

Layout. The kernels see one C-contiguous 2-D array ``(R, C)`` given flat, and every per-element
parameter as an outer product ``p_row[r] * p_col[c]``: for a row-major ``(n, K)`` logit matrix
the columns are labels (``p_col`` = the per-label value, ``p_row`` = the sample weight); for a
label-major (Fortran) matrix, seen as its transpose ``(K, n)``, the roles swap. The array is cut
into blocks of about ``_BLOCK`` elements (whole rows when rows are short, slices of one row when
they are long); each block's parameters are expanded into small per-thread buffers, the element
loop runs over contiguous slices, and the block's loss sum (float64) goes to its own slot, so
the total does not depend on the thread count.

Stable forms, with ``sp`` the softplus, ``q = sigma(z)``, ``u = sigma(-z)`` (both computed
directly from ``e = exp(-|z|)``, never ``1 - q``):

* weighted BCE, ``a = w_pos * y``, ``b = w_neg * (1 - y)``:
  ``L = a sp(-z) + b sp(z)``, ``dL = b q - a u``, ``d2L = (a + b) q u``;
* focal, ``m = 1 - p_t = y u + (1 - y) q``, ``ce = y sp(-z) + (1 - y) sp(z)``,
  ``dce = (1 - y) q - y u``, ``r = q u / m`` (in [0, 1]), ``k = 1 - 2 y``,
  ``W = alpha_t m**gamma``: ``L = W ce``, ``dL = W (gamma r k ce + dce)``,
  ``d2L = W (gamma (gamma - 1) r^2 k^2 ce + gamma r k (u - q) ce + 2 gamma r k dce + q u)``;
  the "fisher" surrogate hessian is ``alpha_t q u`` (the hessian of the alpha-weighted BCE,
  i.e. the Fisher information of the logit: positive, and as large as the logistic loss's
  where the exact one is negative or tiny).

Probabilities instead of logits: ``sp(-z) = -log p``, ``sp(z) = -log(1 - p)`` (each capped at
100, as torch's ``binary_cross_entropy``), ``q = p``, ``u = 1 - p``.

Results below the smallest normal number (about 2.2e-308 in float64, 1.2e-38 in float32) are
flushed to zero.
"""

import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload

_BLOCK = 2048  # elements per block: the per-thread buffers stay in L1/L2

# hessian modes of the focal loss
H_EXACT = 0
H_CLIP = 1
H_ABS = 2
H_FISHER = 3

# Math helpers: "contract" only (fused multiply-adds, no reordering), numpy's error model (no
# division-by-zero branch), and force-inlined into the loops that call them.
_MATH_OVERLOAD = {"fastmath": {"contract"}, "error_model": "numpy", "forceinline": True}
_LOG2E = 1.4426950408889634
_LN2 = 0.6931471805599453
_SQRT2 = 1.4142135623730951
_LOG_CAP = 100.0  # -log(p) cap for probability input (torch's clamp of log at -100)


# ------------------------------------------------------------------ bit casts and constants


def _bitcast(src, dst, dst_ir):
    @intrinsic
    def cast(typingctx, x):
        if x != src:
            return None

        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], dst_ir)

        return dst(src), codegen

    return cast


_bits64 = _bitcast(types.float64, types.int64, ir.IntType(64))
_float64 = _bitcast(types.int64, types.float64, ir.DoubleType())
_bits32 = _bitcast(types.float32, types.int32, ir.IntType(32))
_float32 = _bitcast(types.int32, types.float32, ir.FloatType())


def _cast(proto, x):
    """``x`` as the float type of ``proto`` (a float32/float64 scalar or array)."""
    raise NotImplementedError


@overload(_cast, jit_options=_MATH_OVERLOAD)
def _cast_impl(proto, x):
    if getattr(proto, "dtype", proto) == types.float32:
        return lambda proto, x: np.float32(x)
    return lambda proto, x: np.float64(x)


# -------------------------------------------- vectorisable exp / log, float64 and float32
#
# Each works on the bit pattern of its argument (no libm call), so loops that use it
# vectorise. float64: about 1 ulp; float32: about 1 ulp of float32.


def _exp_neg(x):
    """exp(x) for x <= 0; 0.0 below -707 (float64) or -86 (float32)."""
    raise NotImplementedError


def _log_series(x):
    """log((1 + x) / (1 - x)) = 2 atanh(x) for |x| <= 3 - 2 sqrt(2) (about 0.1716)."""
    raise NotImplementedError


def _log_pos(x):
    """log(x) for a positive normal x."""
    raise NotImplementedError


def _exp_neg64(x):
    xc = max(x, -707.0)
    n = np.floor(xc * _LOG2E + 0.5)
    r = (xc - n * 0.6931471803691238) - n * 1.9082149292705877e-10  # |r| <= ln(2) / 2
    # Taylor polynomial of exp(r), degree 13 (truncation < 1e-17)
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    v = _float64(_bits64(p) + (np.int64(n) << 52))  # p * 2**n, n >= -1020: a normal number
    return v * np.float64(x >= -707.0)


def _exp_neg32(x):
    lo = np.float32(-86.0)
    xc = max(x, lo)
    n = np.floor(xc * np.float32(_LOG2E) + np.float32(0.5))
    r = (xc - n * np.float32(0.693359375)) - n * np.float32(-2.12194440e-4)
    # Taylor polynomial of exp(r), degree 7 (truncation < 6e-9)
    p = np.float32(1.0 / 5040.0)
    p = p * r + np.float32(1.0 / 720.0)
    p = p * r + np.float32(1.0 / 120.0)
    p = p * r + np.float32(1.0 / 24.0)
    p = p * r + np.float32(1.0 / 6.0)
    p = p * r + np.float32(0.5)
    p = p * r + np.float32(1.0)
    p = p * r + np.float32(1.0)
    v = _float32(np.int32(_bits32(p) + (np.int32(n) << 23)))  # n >= -125
    return v * np.float32(x >= lo)


def _log_series64(x):
    s2 = x * x
    p = 2.0 / 23.0  # truncation < 1e-17 (relative)
    p = p * s2 + 2.0 / 21.0
    p = p * s2 + 2.0 / 19.0
    p = p * s2 + 2.0 / 17.0
    p = p * s2 + 2.0 / 15.0
    p = p * s2 + 2.0 / 13.0
    p = p * s2 + 2.0 / 11.0
    p = p * s2 + 2.0 / 9.0
    p = p * s2 + 2.0 / 7.0
    p = p * s2 + 2.0 / 5.0
    p = p * s2 + 2.0 / 3.0
    return x * s2 * p + 2.0 * x


def _log_series32(x):
    s2 = x * x
    p = np.float32(2.0 / 9.0)  # truncation < 3e-9 (relative)
    p = p * s2 + np.float32(2.0 / 7.0)
    p = p * s2 + np.float32(2.0 / 5.0)
    p = p * s2 + np.float32(2.0 / 3.0)
    return x * s2 * p + np.float32(2.0) * x


def _log_pos64(x):
    b = _bits64(x)
    e = (b >> 52) - 1023
    f = _float64((b & 0xFFFFFFFFFFFFF) | 0x3FF0000000000000)  # mantissa in [1, 2)
    big = np.float64(f > _SQRT2)  # then use f / 2 and e + 1: f in [0.707, 1.414)
    f = f * (1.0 - 0.5 * big)
    ef = np.float64(e) + big
    s = (f - 1.0) / (f + 1.0)
    return ef * 0.6931471803691238 + (ef * 1.9082149292705877e-10 + _log_series(s))


def _log_pos32(x):
    b = _bits32(x)
    e = (b >> 23) - 127
    f = _float32(np.int32((b & 0x7FFFFF) | 0x3F800000))
    big = np.float32(f > np.float32(_SQRT2))
    f = f * (np.float32(1.0) - np.float32(0.5) * big)
    ef = np.float32(e) + big
    s = (f - np.float32(1.0)) / (f + np.float32(1.0))
    return ef * np.float32(0.693359375) + (
        ef * np.float32(-2.12194440e-4) + _log_series(s)
    )


def _by_precision(generic, impl64, impl32):
    """Register the float64 / float32 implementations of ``generic`` (inlined where used)."""

    @overload(generic, jit_options=_MATH_OVERLOAD)
    def choose(x):
        return impl32 if x == types.float32 else impl64

    return choose


_by_precision(_exp_neg, _exp_neg64, _exp_neg32)
_by_precision(_log_series, _log_series64, _log_series32)
_by_precision(_log_pos, _log_pos64, _log_pos32)

_MATH = {"fastmath": {"contract"}, "error_model": "numpy", "forceinline": True, "cache": True}


def _tiny(x):
    """The smallest normal number of x's precision."""
    raise NotImplementedError


@overload(_tiny, jit_options=_MATH_OVERLOAD)
def _tiny_impl(x):
    if x == types.float32:
        return lambda x: np.float32(1.1754943508222875e-38)
    return lambda x: 2.2250738585072014e-308


@njit(**_MATH)
def _log1m(p):
    """log(1 - p) for 0 <= p < 1, accurate for small p."""
    one = _cast(p, 1.0)
    if p < _cast(p, 0.29):
        return _log_series(-p / (one + one - p))
    return _log_pos(one - p)


@njit(**_MATH)
def _from_logit(z):
    """(sp(-z), sp(z), sigma(z), sigma(-z)) from a logit, with one exp, no log call and one
    division: log1p(e) = 2 atanh(s) with s = e / (2 + e), or ln 2 + 2 atanh((e - 1) / (e + 3))
    for e > sqrt(2) - 1; the division is shared with 1 / (1 + e)."""
    zero = _cast(z, 0.0)
    one = _cast(z, 1.0)
    az = abs(z)
    e = _exp_neg(-az)
    big = e > _cast(z, _SQRT2 - 1.0)
    den = e + _cast(z, 3.0) if big else e + _cast(z, 2.0)
    num = e - one if big else e
    ope = one + e
    inv = one / (ope * den)
    d = den * inv  # 1 / (1 + e) = sigma(|z|)
    l1p = _log_series(num * ope * inv) + (_cast(z, _LN2) if big else zero)  # log(1 + e)
    ed = e * d  # sigma(-|z|)
    pos = z >= zero
    q = d if pos else ed
    u = ed if pos else d
    return max(-z, zero) + l1p, max(z, zero) + l1p, q, u


@njit(**_MATH)
def _from_prob(p):
    """(sp(-z), sp(z), sigma(z), sigma(-z)) for z = logit(p), logs capped at 100."""
    cap = _cast(p, _LOG_CAP)
    one = _cast(p, 1.0)
    spn = min(-_log_pos(p), cap) if p >= _tiny(p) else cap
    spp = min(-_log1m(p), cap) if p < one else cap
    return spn, spp, p, one - p


@njit(**_MATH)
def _bce_elem(spn, spp, q, u, yv, wp, wn):
    a = wp * yv
    b = wn * (_cast(yv, 1.0) - yv)
    return a * spn + b * spp, b * q - a * u, (a + b) * (q * u)


@njit(**_MATH)
def _focal_elem(spn, spp, q, u, yv, ap, an, gamma, gamma_two, hmode, min_hess):
    zero = _cast(yv, 0.0)
    one = _cast(yv, 1.0)
    two = _cast(yv, 2.0)
    ny = one - yv
    ce = yv * spn + ny * spp
    dce = ny * q - yv * u
    m = yv * u + ny * q  # 1 - p_t
    qu = q * u
    ok = m >= _tiny(m)
    r = qu / m if ok else zero  # in [0, 1]: m >= min(q, u) >= q u
    if gamma_two:
        mg = m * m
    elif gamma == zero:
        mg = one
    else:
        mg = _exp_neg(gamma * _log_pos(m)) if ok else zero
    at = ap * yv + an * ny
    w = at * mg
    k = one - two * yv
    grk = gamma * r * k
    loss = w * ce
    grad = w * (grk * ce + dce)
    if hmode == H_FISHER:
        return loss, grad, at * qu
    hess = w * ((gamma - one) * grk * r * k * ce + grk * (u - q) * ce + two * grk * dce + qu)
    if hmode == H_CLIP:
        hess = max(hess, min_hess)
    elif hmode == H_ABS:
        hess = abs(hess)
    return loss, grad, hess


# The block loops count bad inputs on the way: "reassoc" lets LLVM vectorise those sums. It
# applies to the loops' own instructions only: the math helpers above are compiled with
# "contract" alone and keep their flags when inlined, so their operation order (Cody-Waite
# reduction, polynomials) is untouched.
_BLOCK_OPTS = {
    "fastmath": {"contract", "reassoc"}, "error_model": "numpy", "cache": True, "nogil": True,
}


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"}, error_model="numpy")
def _sum(v):
    """Float64 sum of ``v`` (vectorised; the order of additions is fixed per build)."""
    acc = 0.0
    for t in range(v.shape[0]):
        acc += v[t]
    return acc


@njit(**_MATH)
def _bad_input(v, from_logits):
    """1 (in v's float type) for a NaN/inf logit or a probability outside [0, 1], else 0."""
    zero = _cast(v, 0.0)
    one = _cast(v, 1.0)
    if from_logits:
        return zero if abs(v) < _cast(v, np.inf) else one
    return zero if (v >= zero and v <= one) else one


@njit(**_MATH)
def _bad_label(v):
    """1 (in v's float type) for a label outside [0, 1] or NaN, else 0."""
    zero = _cast(v, 0.0)
    one = _cast(v, 1.0)
    return zero if (v >= zero and v <= one) else one


@njit(**_BLOCK_OPTS)
def _bce_block(zs, ys, wp, wn, ls, gs, hs, from_logits, gscale):
    """Weighted BCE of one block: ``zs``, ``ys``, ``wp``, ``wn`` in; ``ls``, ``gs``, ``hs``
    out (all of ``zs``'s length and dtype but ``ys``). Returns (float64 loss sum, bad inputs,
    bad labels). The counts are kept in zs's float type (exact: a block has far fewer than
    2**24 elements), so that the loop has one element width and vectorises; the loss sum is
    a second, float64 pass over ``ls`` (still in L1)."""
    g = _cast(zs, gscale)
    bad_z = _cast(zs, 0.0)
    bad_y = _cast(zs, 0.0)
    if from_logits:
        for t in range(zs.shape[0]):
            yv = _cast(zs, ys[t])
            spn, spp, q, u = _from_logit(zs[t])
            lv, gv, hv = _bce_elem(spn, spp, q, u, yv, wp[t], wn[t])
            ls[t] = lv
            gs[t] = gv * g
            hs[t] = hv * g
            bad_z += _bad_input(zs[t], True)
            bad_y += _bad_label(yv)
    else:
        for t in range(zs.shape[0]):
            yv = _cast(zs, ys[t])
            spn, spp, q, u = _from_prob(zs[t])
            lv, gv, hv = _bce_elem(spn, spp, q, u, yv, wp[t], wn[t])
            ls[t] = lv
            gs[t] = gv * g
            hs[t] = hv * g
            bad_z += _bad_input(zs[t], False)
            bad_y += _bad_label(yv)
    return _sum(ls), int(bad_z), int(bad_y)


@njit(**_BLOCK_OPTS)
def _focal_block(zs, ys, ap, an, ls, gs, hs, from_logits, gamma, hmode, min_hess, gscale):
    """Focal loss of one block, as :func:`_bce_block`; ``ap``, ``an``: alpha_t of positives
    and of negatives (times the sample weight)."""
    g = _cast(zs, gscale)
    gm = _cast(zs, gamma)
    mh = _cast(zs, min_hess)
    bad_z = _cast(zs, 0.0)
    bad_y = _cast(zs, 0.0)
    if from_logits and gamma == 2.0:  # the common case, with m**2 instead of exp(2 log m)
        for t in range(zs.shape[0]):
            yv = _cast(zs, ys[t])
            spn, spp, q, u = _from_logit(zs[t])
            lv, gv, hv = _focal_elem(spn, spp, q, u, yv, ap[t], an[t], gm, True, hmode, mh)
            ls[t] = lv
            gs[t] = gv * g
            hs[t] = hv * g
            bad_z += _bad_input(zs[t], True)
            bad_y += _bad_label(yv)
    elif from_logits:
        for t in range(zs.shape[0]):
            yv = _cast(zs, ys[t])
            spn, spp, q, u = _from_logit(zs[t])
            lv, gv, hv = _focal_elem(spn, spp, q, u, yv, ap[t], an[t], gm, False, hmode, mh)
            ls[t] = lv
            gs[t] = gv * g
            hs[t] = hv * g
            bad_z += _bad_input(zs[t], True)
            bad_y += _bad_label(yv)
    else:
        two = gamma == 2.0
        for t in range(zs.shape[0]):
            yv = _cast(zs, ys[t])
            spn, spp, q, u = _from_prob(zs[t])
            lv, gv, hv = _focal_elem(spn, spp, q, u, yv, ap[t], an[t], gm, two, hmode, mh)
            ls[t] = lv
            gs[t] = gv * g
            hs[t] = hv * g
            bad_z += _bad_input(zs[t], False)
            bad_y += _bad_label(yv)
    return _sum(ls), int(bad_z), int(bad_y)


@njit(cache=True, nogil=True)
def _geometry(n_rows, n_cols):
    """Block layout: (rows per block, blocks per row, number of blocks, buffer length).

    Rows shorter than ``_BLOCK`` are grouped (whole rows per block, so that every full block
    starts at column 0); longer rows are cut into blocks of ``_BLOCK`` columns.
    """
    if n_cols >= _BLOCK:
        per_row = (n_cols + _BLOCK - 1) // _BLOCK
        return 1, per_row, n_rows * per_row, _BLOCK
    rows = _BLOCK // max(n_cols, 1)
    return rows, 1, (n_rows + rows - 1) // rows, rows * n_cols


@njit(cache=True, nogil=True)
def _block_span(b, n_rows, n_cols, rows, per_row):
    """(first flat index, length, first row, number of rows, first column) of block ``b``."""
    if rows == 1:
        r = b // per_row
        c0 = (b - r * per_row) * _BLOCK
        c1 = min(n_cols, c0 + _BLOCK)
        return r * n_cols + c0, c1 - c0, r, 1, c0
    r0 = b * rows
    nr = min(n_rows, r0 + rows) - r0
    return r0 * n_cols, nr * n_cols, r0, nr, 0


@njit(cache=True, nogil=True, error_model="numpy")
def _fill(buf, p_row, p_col, row_ones, r0, nr, c0, m):
    """buf[:m] = p_row[r] * p_col[c] over a block's elements, in memory order (p_row taken as
    1 and not read when ``row_ones``)."""
    if nr == 1:
        s = 1.0 if row_ones else p_row[r0]
        for t in range(m):
            buf[t] = s * p_col[c0 + t]
        return
    nc = m // nr
    for rr in range(nr):
        s = 1.0 if row_ones else p_row[r0 + rr]
        base = rr * nc
        for c in range(nc):
            buf[base + c] = s * p_col[c]


@njit(cache=True, nogil=True)
def _params(buf, p_row, p_col, row_ones, filled, r0, nr, c0, m):
    """The block's per-element parameter vector: a slice of ``p_col`` or of ``buf``.

    With ``row_ones`` the vector is ``p_col`` laid over the block: a plain slice for a block
    within one row; for multi-row blocks (which all start at column 0) the same pattern, so
    ``buf`` is filled only on the first block of a thread (``filled`` False).
    """
    if row_ones and nr == 1:
        return p_col[c0:c0 + m]
    if not (row_ones and filled):
        _fill(buf, p_row, p_col, row_ones, r0, nr, c0, m)
    return buf[:m]


@njit(cache=True, nogil=True)
def _bce_range(
    b0, b1, z, y, wp_row, wp_col, wn_row, wn_col, row_ones, n_rows, n_cols, from_logits,
    loss_out, grad_out, hess_out, gscale, part, bad,
):
    """Weighted BCE of blocks ``b0 .. b1 - 1``: outputs, ``part[b]`` (loss sum of block b) and
    ``bad[b]`` (bad input / label counts)."""
    rows, per_row, n_blocks, blen = _geometry(n_rows, n_cols)
    want_l = loss_out.shape[0] > 0
    want_g = grad_out.shape[0] > 0
    want_h = hess_out.shape[0] > 0
    wpb = np.empty(blen, z.dtype)
    wnb = np.empty(blen, z.dtype)
    lbuf = np.empty(blen, z.dtype)
    gbuf = np.empty(blen, z.dtype)
    hbuf = np.empty(blen, z.dtype)
    filled = False
    for b in range(b0, b1):
        i0, m, r0, nr, c0 = _block_span(b, n_rows, n_cols, rows, per_row)
        i1 = i0 + m
        wp = _params(wpb, wp_row, wp_col, row_ones, filled, r0, nr, c0, m)
        wn = _params(wnb, wn_row, wn_col, row_ones, filled, r0, nr, c0, m)
        filled = True
        ls = loss_out[i0:i1] if want_l else lbuf[:m]
        gs = grad_out[i0:i1] if want_g else gbuf[:m]
        hs = hess_out[i0:i1] if want_h else hbuf[:m]
        part[b], bad[b, 0], bad[b, 1] = _bce_block(
            z[i0:i1], y[i0:i1], wp, wn, ls, gs, hs, from_logits, gscale
        )


@njit(cache=True, nogil=True)
def _focal_range(
    b0, b1, z, y, ap_row, ap_col, an_row, an_col, row_ones, n_rows, n_cols, from_logits,
    gamma, hmode, min_hess, loss_out, grad_out, hess_out, gscale, part, bad,
):
    """Focal loss of blocks ``b0 .. b1 - 1``, as :func:`_bce_range`."""
    rows, per_row, n_blocks, blen = _geometry(n_rows, n_cols)
    want_l = loss_out.shape[0] > 0
    want_g = grad_out.shape[0] > 0
    want_h = hess_out.shape[0] > 0
    apb = np.empty(blen, z.dtype)
    anb = np.empty(blen, z.dtype)
    lbuf = np.empty(blen, z.dtype)
    gbuf = np.empty(blen, z.dtype)
    hbuf = np.empty(blen, z.dtype)
    filled = False
    for b in range(b0, b1):
        i0, m, r0, nr, c0 = _block_span(b, n_rows, n_cols, rows, per_row)
        i1 = i0 + m
        ap = _params(apb, ap_row, ap_col, row_ones, filled, r0, nr, c0, m)
        an = _params(anb, an_row, an_col, row_ones, filled, r0, nr, c0, m)
        filled = True
        ls = loss_out[i0:i1] if want_l else lbuf[:m]
        gs = grad_out[i0:i1] if want_g else gbuf[:m]
        hs = hess_out[i0:i1] if want_h else hbuf[:m]
        part[b], bad[b, 0], bad[b, 1] = _focal_block(
            z[i0:i1], y[i0:i1], ap, an, ls, gs, hs, from_logits, gamma, hmode, min_hess, gscale
        )


# ------------------------------------------------------------------------ thread dispatch
#
# Blocks are shared out to threads from Python: each thread runs the nogil worker above on a
# chunk of blocks taken from a common counter (dynamic scheduling). This costs a few
# microseconds per chunk, and spares the several seconds per type signature that compiling a
# ``parallel=True`` (parfor) driver takes on first use. The thread count follows Numba's:
# ``NUMBA_NUM_THREADS`` / ``numba.set_num_threads``.

_MIN_CHUNK = 16  # blocks per chunk at least (about 32K elements)
_CHUNKS_PER_THREAD = 4
_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_pool_lock = threading.Lock()


def _executor(n_workers: int) -> ThreadPoolExecutor:
    """A shared pool with at least ``n_workers`` threads (created on first use)."""
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size < n_workers:
            _pool = ThreadPoolExecutor(max_workers=n_workers, thread_name_prefix="fastml-loss")
            _pool_size = n_workers
        return _pool


def _forget_pool() -> None:
    """In a forked child the pool's threads do not exist: start a new pool when needed."""
    global _pool, _pool_size, _pool_lock
    _pool, _pool_size, _pool_lock = None, 0, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def _run(worker, n_rows, n_cols, args):
    """Run ``worker(b0, b1, *args, part, bad)`` over all blocks; (sum, bad inputs, bad labels)."""
    n_blocks = _geometry(n_rows, n_cols)[2]
    part = np.zeros(n_blocks)
    bad = np.zeros((n_blocks, 2), np.int64)
    threads = min(numba.get_num_threads(), max(1, n_blocks // _MIN_CHUNK))
    if threads <= 1:
        worker(0, n_blocks, *args, part, bad)
    else:
        n_chunks = min(threads * _CHUNKS_PER_THREAD, n_blocks // _MIN_CHUNK)
        bounds = [n_blocks * c // n_chunks for c in range(n_chunks + 1)]
        counter = itertools.count()

        def drain():
            while (c := next(counter)) < n_chunks:  # next() on a count is atomic (GIL)
                worker(bounds[c], bounds[c + 1], *args, part, bad)

        futures = [_executor(threads - 1).submit(drain) for _ in range(threads - 1)]
        drain()
        for f in futures:
            f.result()
    total = 0.0
    for b in range(n_blocks):  # fixed order: the sum does not depend on the thread count
        total += part[b]
    return total, int(bad[:, 0].sum()), int(bad[:, 1].sum())


def weighted_bce(
    z, y, wp_row, wp_col, wn_row, wn_col, row_ones, n_rows, n_cols, from_logits,
    loss_out, grad_out, hess_out, gscale,
):
    """Weighted BCE over the flat ``(n_rows, n_cols)`` arrays ``z`` (logits or probabilities,
    float32/float64) and ``y`` (labels in [0, 1]: uint8 or z's dtype).

    The weight of a positive is ``wp_row[r] * wp_col[c]``, of a negative ``wn_row[r] *
    wn_col[c]`` (``*_row`` float64, ``*_col`` of z's dtype; ``row_ones``: the ``*_row`` are all
    ones and are not read). Writes the per-element loss into ``loss_out``, and the gradient
    and hessian times ``gscale`` into ``grad_out`` / ``hess_out``, when those have ``z.size``
    elements (pass empty arrays to skip any of them). Returns (float64 loss sum; number of
    NaN/inf logits or probabilities outside [0, 1]; number of labels outside [0, 1] or NaN).
    """
    args = (z, y, wp_row, wp_col, wn_row, wn_col, row_ones, n_rows, n_cols, from_logits,
            loss_out, grad_out, hess_out, gscale)
    return _run(_bce_range, n_rows, n_cols, args)


def focal(
    z, y, ap_row, ap_col, an_row, an_col, row_ones, n_rows, n_cols, from_logits,
    gamma, hmode, min_hess, loss_out, grad_out, hess_out, gscale,
):
    """Focal loss over the flat ``(n_rows, n_cols)`` arrays ``z`` and ``y``; ``alpha_t`` is
    ``ap_row[r] * ap_col[c]`` for a positive and ``an_row[r] * an_col[c]`` for a negative (soft
    labels interpolate). ``hmode`` picks the hessian: H_EXACT, H_CLIP (floor ``min_hess``),
    H_ABS or H_FISHER. Everything else as :func:`weighted_bce`.
    """
    args = (z, y, ap_row, ap_col, an_row, an_col, row_ones, n_rows, n_cols, from_logits,
            float(gamma), int(hmode), float(min_hess), loss_out, grad_out, hess_out, gscale)
    return _run(_focal_range, n_rows, n_cols, args)
