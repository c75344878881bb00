# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Loss kernels (CPU): per-label weighted binary cross-entropy and focal loss, value +
gradient + hessian with respect to the logits in one pass over memory.

Contract (``fastml.losses._core`` guarantees it, so bounds are not checked here):

- ``z`` (logits or probabilities, float32 or float64) and ``y`` (labels: uint8, or ``z``'s
  dtype) are flat C-contiguous views of one ``(n_rows, n_cols)`` array;
- every per-element parameter is an outer product ``p_row[r] * p_col[c]``: ``p_row`` float64
  of length ``n_rows`` (not read when ``row_ones``: pass a length-1 array), ``p_col`` of
  ``z``'s dtype and length ``n_cols``. For a row-major ``(n, K)`` logit matrix the columns are
  labels (``p_col`` = the per-label value, ``p_row`` = the sample weight); for a label-major
  (Fortran) matrix, seen as its transpose ``(K, n)``, the roles swap;
- ``loss_out`` / ``grad_out`` / ``hess_out`` (``z``'s dtype) have ``z``'s length, or length 0
  when not wanted.

Layout. The array is cut into blocks of about ``BLOCK`` elements (whole rows when rows are
short, slices of one row when they are long): each block's parameters are expanded into a
small buffer (uint8 labels are widened to the logits' type there too: the element loops
see one element width), the element loop runs over contiguous slices, and the block's loss sum
(float64, in an order fixed by the block's length) is added to the others in block order.
Tasks for the parallel driver are runs of whole blocks whose bounds depend on the shape
only, so results are identical for every thread count (``fastml.set_num_threads``,
``FASTML_NUM_THREADS``).

Why this way: the work is elementwise float math, bound by exp / log. The element loops are
C (``_losses_math.h``) so that they vectorise: exp and log are polynomials on the float bits,
inlined, and the loops branch only through selects. On x86-64 (GCC / Clang, ELF) they are
built for the baseline (SSE2), for AVX2 + FMA and for AVX-512, and the best level this CPU
runs is chosen at import; ``FASTML_SIMD`` in the environment (read at import: "baseline",
"avx2" or "avx512", a cap) or :func:`set_simd_level` picks another. The builds may differ
in the last bit (fused multiply-adds); each is accurate to a few units in the last place.
"""

import os

from libc.stdint cimport int64_t, uint8_t
from libc.stdlib cimport free, malloc

from fastml.kernels._parallel import blocks, map_tasks

cdef extern from "_losses_math.h" nogil:
    int FML_ISA_BASELINE
    int FML_ISA_AVX2
    int FML_ISA_AVX512
    int fml_losses_isa_available(int level)
    int fml_losses_set_isa(int level)
    int fml_losses_get_isa()

    double fml_bce_block_f32(const float* z, const float* y, const float* pp, const float* pn,
                             float* ls, float* gs, float* hs, Py_ssize_t m, int from_logits,
                             float g, int64_t* bad)
    double fml_bce_block_f64(const double* z, const double* y, const double* pp,
                             const double* pn, double* ls, double* gs, double* hs,
                             Py_ssize_t m, int from_logits, double g, int64_t* bad)
    double fml_focal_block_f32(const float* z, const float* y, const float* pp,
                               const float* pn, float* ls, float* gs, float* hs, Py_ssize_t m,
                               int from_logits, float gamma, int hmode, float min_hess,
                               float g, int64_t* bad)
    double fml_focal_block_f64(const double* z, const double* y, const double* pp,
                               const double* pn, double* ls, double* gs, double* hs,
                               Py_ssize_t m, int from_logits, double gamma, int hmode,
                               double min_hess, double g, int64_t* bad)

ctypedef fused real:
    float
    double

ctypedef fused label:
    uint8_t
    float
    double

# hessian modes of the focal loss
H_EXACT = 0
H_CLIP = 1
H_ABS = 2
H_FISHER = 3

cdef enum:
    # Elements per block: small enough that a block's inputs, parameters and outputs stay in
    # L1 between the element loop and the passes that count bad inputs and sum the losses
    # (measured: 256 beat 2048 by 27% (float32) and 13% (float64) on 10^6 x 20).
    BLOCK = 256
cdef Py_ssize_t MIN_TASK_ELEMENTS = 1 << 15  # elements per task at least (Python overhead)
cdef Py_ssize_t MAX_TASKS = 64

# ----------------------------------------------------------------------- SIMD level choice

_LEVELS = {"baseline": FML_ISA_BASELINE, "avx2": FML_ISA_AVX2, "avx512": FML_ISA_AVX512}


def simd_levels():
    """Names of the builds of the element loops this CPU can run, baseline first."""
    return tuple(name for name, level in _LEVELS.items() if fml_losses_isa_available(level))


def get_simd_level():
    """Name of the build of the element loops in use ("baseline", "avx2" or "avx512")."""
    level = fml_losses_get_isa()
    return next(name for name, v in _LEVELS.items() if v == level)


def set_simd_level(name):
    """Use the build ``name`` ("baseline", "avx2", "avx512", or "best": the best this CPU can
    run)."""
    if name == "best":
        name = max(simd_levels(), key=_LEVELS.get)
    if name not in _LEVELS or not fml_losses_set_isa(_LEVELS[name]):
        raise ValueError(
            f"SIMD level {name!r} is not available here; available: {simd_levels()}"
        )


def _level_from_environment():
    """The best available level, capped by ``FASTML_SIMD`` when it names a level."""
    wanted = os.environ.get("FASTML_SIMD", "").strip().lower()
    levels = simd_levels()
    if wanted in _LEVELS:
        levels = [name for name in levels if _LEVELS[name] <= _LEVELS[wanted]]
    return max(levels, key=_LEVELS.get)


set_simd_level(_level_from_environment())

# -------------------------------------------------------------------------- block geometry


cdef inline void _geometry(Py_ssize_t n_rows, Py_ssize_t n_cols, Py_ssize_t* rows,
                           Py_ssize_t* per_row, Py_ssize_t* n_blocks,
                           Py_ssize_t* blen) noexcept nogil:
    """Block layout: rows per block, blocks per row, number of blocks, buffer length.

    Rows shorter than ``BLOCK`` are grouped (whole rows per block, so that every full block
    starts at column 0); longer rows are cut into blocks of ``BLOCK`` columns.
    """
    if n_cols >= BLOCK:
        per_row[0] = (n_cols + BLOCK - 1) // BLOCK
        rows[0] = 1
        n_blocks[0] = n_rows * per_row[0]
        blen[0] = BLOCK
    else:
        rows[0] = BLOCK // max(n_cols, 1)
        per_row[0] = 1
        n_blocks[0] = (n_rows + rows[0] - 1) // rows[0]
        blen[0] = rows[0] * n_cols


def geometry(Py_ssize_t n_rows, Py_ssize_t n_cols):
    """``(rows per block, blocks per row, number of blocks, elements per block at most)``."""
    cdef Py_ssize_t rows, per_row, n_blocks, blen
    _geometry(n_rows, n_cols, &rows, &per_row, &n_blocks, &blen)
    return rows, per_row, n_blocks, blen


cdef inline void _fill(real* buf, const double[::1] p_row, const real[::1] p_col,
                       bint row_ones, Py_ssize_t r0, Py_ssize_t nr, Py_ssize_t c0,
                       Py_ssize_t m) noexcept nogil:
    """buf[:m] = p_row[r] * p_col[c] over a block's elements, in memory order (p_row taken
    as 1 and not read when ``row_ones``); the product is formed in float64."""
    cdef Py_ssize_t t, rr, c, nc, base
    cdef double s
    if nr == 1:
        s = 1.0 if row_ones else p_row[r0]
        for t in range(m):
            buf[t] = <real>(s * <double>p_col[c0 + t])
        return
    nc = m // nr
    for rr in range(nr):
        s = 1.0 if row_ones else p_row[r0 + rr]
        base = rr * nc
        for c in range(nc):
            buf[base + c] = <real>(s * <double>p_col[c])


cdef inline const real* _params(real* buf, const double[::1] p_row, const real[::1] p_col,
                                bint row_ones, bint filled, Py_ssize_t r0, Py_ssize_t nr,
                                Py_ssize_t c0, Py_ssize_t m) noexcept nogil:
    """The block's per-element parameter vector: a slice of ``p_col`` or ``buf``.

    With ``row_ones`` the vector is ``p_col`` laid over the block: a plain slice for a block
    within one row; for multi-row blocks (which all start at column 0) the same pattern, so
    ``buf`` is filled only on a task's first block (``filled`` false).
    """
    if row_ones and nr == 1:
        return &p_col[c0]
    if not (row_ones and filled):
        _fill(buf, p_row, p_col, row_ones, r0, nr, c0, m)
    return buf


cdef inline double _call_block(
    bint focal, const real* z, const real* y, const real* pp, const real* pn, real* ls,
    real* gs, real* hs, Py_ssize_t m, bint from_logits, real gamma, int hmode, real min_hess,
    real g, int64_t* bad,
) noexcept nogil:
    """One block through the C loop of its float type."""
    if real is float:
        if focal:
            return fml_focal_block_f32(z, y, pp, pn, ls, gs, hs, m, from_logits, gamma, hmode,
                                       min_hess, g, bad)
        return fml_bce_block_f32(z, y, pp, pn, ls, gs, hs, m, from_logits, g, bad)
    else:
        if focal:
            return fml_focal_block_f64(z, y, pp, pn, ls, gs, hs, m, from_logits, gamma, hmode,
                                       min_hess, g, bad)
        return fml_bce_block_f64(z, y, pp, pn, ls, gs, hs, m, from_logits, g, bad)


cdef int _run_blocks(
    bint focal, const real[::1] z, const label[::1] y, const double[::1] pp_row,
    const real[::1] pp_col, const double[::1] pn_row, const real[::1] pn_col, bint row_ones,
    Py_ssize_t n_rows, Py_ssize_t n_cols, bint from_logits, double gamma, int hmode,
    double min_hess, real[::1] loss_out, real[::1] grad_out, real[::1] hess_out,
    double gscale, Py_ssize_t b0, Py_ssize_t b1, double* total, int64_t* bad,
) noexcept nogil:
    """Blocks ``b0 .. b1 - 1``: writes the outputs, sets ``total`` (their loss sums added in
    block order) and adds to ``bad``. Returns -1 when the buffers cannot be allocated."""
    cdef Py_ssize_t rows, per_row, n_blocks, blen, b, r, i0, m, r0, nr, c0, c1, c
    cdef bint want_l = loss_out.shape[0] > 0
    cdef bint want_g = grad_out.shape[0] > 0
    cdef bint want_h = hess_out.shape[0] > 0
    cdef bint filled = False
    cdef real* buf
    cdef const real* pp
    cdef const real* pn
    cdef real* ls
    cdef real* gs
    cdef real* hs
    cdef const real* ys
    cdef double acc = 0.0
    _geometry(n_rows, n_cols, &rows, &per_row, &n_blocks, &blen)
    buf = <real*>malloc(6 * max(blen, 1) * sizeof(real))
    if buf == NULL:
        return -1
    for b in range(b0, b1):
        if rows == 1:
            r = b // per_row
            c0 = (b - r * per_row) * BLOCK
            c1 = min(n_cols, c0 + BLOCK)
            i0, m, r0, nr = r * n_cols + c0, c1 - c0, r, 1
        else:
            r0 = b * rows
            nr = min(n_rows, r0 + rows) - r0
            i0, m, c0 = r0 * n_cols, nr * n_cols, 0
        pp = _params(buf, pp_row, pp_col, row_ones, filled, r0, nr, c0, m)
        pn = _params(buf + blen, pn_row, pn_col, row_ones, filled, r0, nr, c0, m)
        filled = True
        ls = &loss_out[i0] if want_l else buf + 2 * blen
        gs = &grad_out[i0] if want_g else buf + 3 * blen
        hs = &hess_out[i0] if want_h else buf + 4 * blen
        if label is uint8_t:  # labels in the logits' type: one element width in the loop
            for c in range(m):
                buf[5 * blen + c] = <real>y[i0 + c]
            ys = buf + 5 * blen
        else:
            ys = <const real*>&y[i0]
        acc += _call_block(focal, &z[i0], ys, pp, pn, ls, gs, hs, m, from_logits,
                           <real>gamma, hmode, <real>min_hess, <real>gscale, bad)
    free(buf)
    total[0] = acc
    return 0


def _blocks_part(bint focal, const real[::1] z, const label[::1] y,
                 const double[::1] pp_row, const real[::1] pp_col, const double[::1] pn_row,
                 const real[::1] pn_col, bint row_ones, Py_ssize_t n_rows, Py_ssize_t n_cols,
                 bint from_logits, double gamma, int hmode, double min_hess,
                 real[::1] loss_out, real[::1] grad_out, real[::1] hess_out, double gscale,
                 Py_ssize_t b0, Py_ssize_t b1):
    cdef double total = 0.0
    cdef int64_t bad[2]
    cdef int status = 0
    bad[0] = 0
    bad[1] = 0
    if (real is float and label is double) or (real is double and label is float):
        raise TypeError("labels must be uint8 or of the logits' dtype")
    else:
        if b1 > b0:
            with nogil:
                status = _run_blocks(focal, z, y, pp_row, pp_col, pn_row, pn_col, row_ones,
                                     n_rows, n_cols, from_logits, gamma, hmode, min_hess,
                                     loss_out, grad_out, hess_out, gscale, b0, b1, &total, bad)
        if status < 0:
            raise MemoryError()
        return total, bad[0], bad[1]


def _one_shot(bint focal, z, y, pp_row, pp_col, pn_row, pn_col, row_ones, n_rows, n_cols,
              from_logits, gamma, hmode, min_hess, loss_out, grad_out, hess_out, gscale):
    _, _, n_blocks, blen = geometry(n_rows, n_cols)
    n_tasks, size = blocks(n_blocks, max(1, MIN_TASK_ELEMENTS // max(blen, 1)), MAX_TASKS)
    args = (focal, z, y, pp_row, pp_col, pn_row, pn_col, bool(row_ones), n_rows, n_cols,
            bool(from_logits), float(gamma), int(hmode), float(min_hess), loss_out, grad_out,
            hess_out, float(gscale))
    parts = map_tasks(
        lambda t: _blocks_part(*args, t * size, min(n_blocks, (t + 1) * size)), n_tasks
    )
    total = 0.0
    bad_z = bad_y = 0
    for part in parts:  # task order: the sum does not depend on the thread count
        total += part[0]
        bad_z += part[1]
        bad_y += part[2]
    return total, int(bad_z), int(bad_y)


# ------------------------------------------------------------------------------ public API


def weighted_bce_blocks(z, y, wp_row, wp_col, wn_row, wn_col, row_ones, n_rows, n_cols,
                        from_logits, loss_out, grad_out, hess_out, gscale, b0, b1):
    """Partial: :func:`weighted_bce` on blocks ``b0 .. b1 - 1`` of :func:`geometry` only
    (their outputs written); returns (float64 loss sum of those blocks added in block order,
    bad inputs, bad labels)."""
    return _blocks_part(False, z, y, wp_row, wp_col, wn_row, wn_col, bool(row_ones), n_rows,
                        n_cols, bool(from_logits), 0.0, 0, 0.0, loss_out, grad_out, hess_out,
                        float(gscale), b0, b1)


def focal_blocks(z, y, ap_row, ap_col, an_row, an_col, row_ones, n_rows, n_cols, from_logits,
                 gamma, hmode, min_hess, loss_out, grad_out, hess_out, gscale, b0, b1):
    """Partial: :func:`focal` on blocks ``b0 .. b1 - 1``, as :func:`weighted_bce_blocks`."""
    return _blocks_part(True, z, y, ap_row, ap_col, an_row, an_col, bool(row_ones), n_rows,
                        n_cols, bool(from_logits), float(gamma), int(hmode), float(min_hess),
                        loss_out, grad_out, hess_out, float(gscale), b0, b1)


def weighted_bce(z, y, wp_row, wp_col, wn_row, wn_col, row_ones, n_rows, n_cols, from_logits,
                 loss_out, grad_out, hess_out, gscale):
    """Weighted BCE over the flat ``(n_rows, n_cols)`` arrays ``z`` (logits or probabilities,
    float32/float64) and ``y`` (labels in [0, 1]: uint8 or z's dtype).

    The weight of a positive is ``wp_row[r] * wp_col[c]``, of a negative ``wn_row[r] *
    wn_col[c]`` (``*_row`` float64, ``*_col`` of z's dtype; ``row_ones``: the ``*_row`` are all
    ones and are not read). Writes the per-element loss into ``loss_out``, and the gradient
    and hessian times ``gscale`` into ``grad_out`` / ``hess_out``, when those have ``z.size``
    elements (pass empty arrays to skip any of them). Returns (float64 loss sum; number of
    NaN/inf logits or probabilities outside [0, 1]; number of labels outside [0, 1] or NaN).
    """
    return _one_shot(False, z, y, wp_row, wp_col, wn_row, wn_col, row_ones, n_rows, n_cols,
                     from_logits, 0.0, 0, 0.0, loss_out, grad_out, hess_out, gscale)


def focal(z, y, ap_row, ap_col, an_row, an_col, row_ones, n_rows, n_cols, from_logits,
          gamma, hmode, min_hess, loss_out, grad_out, hess_out, gscale):
    """Focal loss over the flat ``(n_rows, n_cols)`` arrays ``z`` and ``y``; ``alpha_t`` is
    ``ap_row[r] * ap_col[c]`` for a positive and ``an_row[r] * an_col[c]`` for a negative (soft
    labels interpolate). ``hmode`` picks the hessian: H_EXACT, H_CLIP (floor ``min_hess``),
    H_ABS or H_FISHER. Everything else as :func:`weighted_bce`.
    """
    return _one_shot(True, z, y, ap_row, ap_col, an_row, an_col, row_ones, n_rows, n_cols,
                     from_logits, gamma, hmode, min_hess, loss_out, grad_out, hess_out, gscale)
