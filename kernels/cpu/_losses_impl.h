/* Type-generic part of the loss kernels, included by _losses_math.h once per float type with
 * these macros set (and unset here at the end):
 *
 *   FML_T     logit, label and output type (float or double)
 *   FML_PREC  f32 / f64: suffix of the functions of FML_T's precision (and of those here)
 *   FML_TINY  smallest normal number of FML_T
 *   FML_ABS   fabsf / fabs
 *   FML_UINT  unsigned integer of FML_T's width; FML_BITS its bits; FML_TOP width - 1;
 *   FML_EXP_BITS, FML_EXP_ONE, FML_SIGN_BITS, FML_ONE_BITS: exponent field, its lowest
 *             bit, sign bit and the bits of 1.0
 *
 * Stable forms, with sp the softplus, q = sigma(z), u = sigma(-z) (both from e = exp(-|z|),
 * never as 1 - q):
 *   weighted BCE, a = w_pos y, b = w_neg (1 - y):
 *     L = a sp(-z) + b sp(z),  dL = b q - a u,  d2L = (a + b) q u;
 *   focal, m = 1 - p_t = y u + (1 - y) q, ce = y sp(-z) + (1 - y) sp(z), dce = (1 - y) q - y u,
 *     r = q u / m (in [0, 1]), k = 1 - 2 y, W = alpha_t m**gamma:
 *     L = W ce,  dL = W (gamma r k ce + dce),
 *     d2L = W (gamma (gamma - 1) r^2 k^2 ce + gamma r k (u - q) ce + 2 gamma r k dce + q u);
 *     the "fisher" surrogate hessian is alpha_t q u.
 * Probabilities instead of logits: sp(-z) = -log p, sp(z) = -log(1 - p), each capped at 100,
 * q = p, u = 1 - p.
 *
 * Every function here is branch-free on the data (both sides computed, then a select), so
 * that the compiler vectorises the block loops without speculating any floating-point
 * operation.
 */

#define T FML_T
#define FN(name) FML_CAT(name, FML_PREC)
#define MATH(name) FML_CAT(name, FML_PREC)

/* log(1 - p) for 0 <= p < 1, accurate for small p. */
FML_INLINE T FN(fml_log1m)(T p) {
    T small = MATH(fml_log_series)(-p / ((T)1 + (T)1 - p));
    T large = MATH(fml_log_pos)((T)1 - p);
    return p < (T)0.29 ? small : large;
}

/* (sp(-z), sp(z), sigma(z), sigma(-z)) from a logit, with one exp, no log call and one
 * division: log1p(e) = 2 atanh(s) with s = e / (2 + e), or ln 2 + 2 atanh((e - 1) / (e + 3))
 * for e > sqrt(2) - 1; the division is shared with 1 / (1 + e). */
FML_INLINE void FN(fml_from_logit)(T z, T *spn, T *spp, T *q, T *u) {
    T az = FML_ABS(z);
    T e = MATH(fml_exp_neg)(-az);
    int big = e > (T)(FML_SQRT2 - 1.0);
    /* selects of constants, then one expression: no work is duplicated per side */
    T den = e + (big ? (T)3 : (T)2);
    T num = e - (big ? (T)1 : (T)0);
    T ope = (T)1 + e;
    T inv = (T)1 / (ope * den);
    T d = den * inv; /* 1 / (1 + e) = sigma(|z|) */
    T series = MATH(fml_log_series)(num * ope * inv);
    T l1p = series + (big ? (T)FML_LN2 : (T)0); /* log(1 + e) */
    T ed = e * d;                                 /* sigma(-|z|) */
    int pos = z >= (T)0;
    T mz = -z;
    *q = pos ? d : ed;
    *u = pos ? ed : d;
    *spn = (mz > (T)0 ? mz : (T)0) + l1p;
    *spp = (z > (T)0 ? z : (T)0) + l1p;
}

/* (sp(-z), sp(z), sigma(z), sigma(-z)) for z = logit(p), logs capped at 100. */
FML_INLINE void FN(fml_from_prob)(T p, T *spn, T *spp, T *q, T *u) {
    const T cap = (T)FML_LOG_CAP;
    T ln = -MATH(fml_log_pos)(p);
    T l1 = -FN(fml_log1m)(p);
    T ln_c = ln < cap ? ln : cap;
    T l1_c = l1 < cap ? l1 : cap;
    *spn = p >= (T)FML_TINY ? ln_c : cap;
    *spp = p < (T)1 ? l1_c : cap;
    *q = p;
    *u = (T)1 - p;
}

FML_INLINE void FN(fml_bce_elem)(T spn, T spp, T q, T u, T y, T wp, T wn, T *l, T *g, T *h) {
    T a = wp * y;
    T b = wn * ((T)1 - y);
    *l = a * spn + b * spp;
    *g = b * q - a * u;
    *h = (a + b) * (q * u);
}

/* gamma_two: m**2 instead of exp(gamma log m); fisher: the surrogate hessian (the exact one
 * is not computed); otherwise hmode picks exact, clipped at min_hess, or absolute. */
FML_INLINE void FN(fml_focal_elem)(T spn, T spp, T q, T u, T y, T ap, T an, T gamma,
                                   const int gamma_two, const int fisher, int hmode, T min_hess,
                                   T *l, T *g, T *h) {
    T ny = (T)1 - y;
    T ce = y * spn + ny * spp;
    T dce = ny * q - y * u;
    T m = y * u + ny * q; /* 1 - p_t */
    T qu = q * u;
    int ok = m >= (T)FML_TINY;
    T ratio = qu / m;
    T r = ok ? ratio : (T)0; /* in [0, 1]: m >= min(q, u) >= q u */
    T mg;
    if (gamma_two) {
        mg = m * m;
    } else {
        T pw = MATH(fml_exp_neg)(gamma * MATH(fml_log_pos)(m));
        T pw_ok = ok ? pw : (T)0;
        mg = gamma == (T)0 ? (T)1 : pw_ok;
    }
    T at = ap * y + an * ny;
    T w = at * mg;
    T k = (T)1 - (T)2 * y;
    T grk = gamma * r * k;
    *l = w * ce;
    *g = w * (grk * ce + dce);
    if (fisher) {
        *h = at * qu;
    } else {
        T hv = w * ((gamma - (T)1) * grk * r * k * ce + grk * (u - q) * ce + (T)2 * grk * dce + qu);
        T hc = hv > min_hess ? hv : min_hess;
        T ha = FML_ABS(hv);
        hv = hmode == FML_H_CLIP ? hc : hv;
        *h = hmode == FML_H_ABS ? ha : hv;
    }
}

/* 1 for a NaN/inf logit, else 0, from the bits b: the exponent field is all ones. */
FML_INLINE FML_UINT FN(fml_nonfinite)(FML_UINT b) {
    return ((b & FML_EXP_BITS) + FML_EXP_ONE) >> FML_TOP;
}

/* 1 for a value outside [0, 1] or NaN, else 0, from the bits b: the magnitude's bits exceed
 * those of 1.0 (NaN included), or the sign is set on a nonzero magnitude (-0.0 is valid). */
FML_INLINE FML_UINT FN(fml_outside01)(FML_UINT b) {
    FML_UINT mag = b & ~FML_SIGN_BITS;
    FML_UINT above = (FML_ONE_BITS - mag) >> FML_TOP;
    FML_UINT negative = (b >> FML_TOP) & (((FML_UINT)0 - mag) >> FML_TOP);
    return above | negative;
}

/* ------------------------------------------------------------------------- block loops
 *
 * One block: z, y (labels in the logits' type) and the per-element parameters pp, pn (the
 * weights of positives / negatives; for the focal loss alpha_t of positives / negatives,
 * times the sample weight) in; ls, gs, hs (loss, gradient and hessian, the last two times g)
 * out, m elements each.
 * Returns the float64 sum of ls, in an order fixed by m alone (eight running sums over the
 * element index modulo 8, added pairwise, then the tail); adds the number of bad inputs
 * and of labels outside [0, 1] (or NaN) to bad[0] and bad[1]. */

FML_INLINE double FN(fml_block_sum)(const T *FML_RESTRICT ls, ptrdiff_t m) {
    double acc[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    double tail = 0.0;
    ptrdiff_t m8 = m - m % 8, i, k;
    for (i = 0; i < m8; i += 8) {
        for (k = 0; k < 8; k++) acc[k] += (double)ls[i + k];
    }
    for (i = m8; i < m; i++) tail += (double)ls[i];
    return (((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])))
           + tail;
}

/* Adds the number of bad inputs z and of bad labels y to bad[0] and bad[1]. Integer work on
 * the float bits (SSE2 has no 64-bit integer mask from a float64 comparison), in a pass of
 * its own over data still in L1 (counting inside the element loops costs registers there). */
FML_INLINE void FN(fml_count_bad)(const T *FML_RESTRICT z, const T *FML_RESTRICT y, ptrdiff_t m,
                                  const int from_logits, int64_t *bad) {
    FML_UINT cz = 0, cy = 0;
    ptrdiff_t i;
    for (i = 0; i < m; i++) {
        FML_UINT bz = FML_BITS(z[i]);
        cz += from_logits ? FN(fml_nonfinite)(bz) : FN(fml_outside01)(bz);
        cy += FN(fml_outside01)(FML_BITS(y[i]));
    }
    bad[0] += (int64_t)cz;
    bad[1] += (int64_t)cy;
}

#define FML_BLOCK_ARGS                                                                       \
    const T *FML_RESTRICT z, const T *FML_RESTRICT y, const T *FML_RESTRICT pp,          \
        const T *FML_RESTRICT pn, T *FML_RESTRICT ls, T *FML_RESTRICT gs, T *FML_RESTRICT hs, \
        ptrdiff_t m
#define FML_BLOCK_CALL z, y, pp, pn, ls, gs, hs, m

FML_INLINE void FN(fml_bce_loop)(FML_BLOCK_ARGS, const int from_logits, T g) {
    ptrdiff_t i;
    for (i = 0; i < m; i++) {
        T zv = z[i];
        T yv = y[i];
        T spn, spp, q, u, l, gv, hv;
        if (from_logits)
            FN(fml_from_logit)(zv, &spn, &spp, &q, &u);
        else
            FN(fml_from_prob)(zv, &spn, &spp, &q, &u);
        FN(fml_bce_elem)(spn, spp, q, u, yv, pp[i], pn[i], &l, &gv, &hv);
        ls[i] = l;
        gs[i] = gv * g;
        hs[i] = hv * g;
    }
}

FML_INLINE double FN(fml_bce_body)(FML_BLOCK_ARGS, int from_logits, T g, int64_t *bad) {
    if (from_logits)
        FN(fml_bce_loop)(FML_BLOCK_CALL, 1, g);
    else
        FN(fml_bce_loop)(FML_BLOCK_CALL, 0, g);
    if (from_logits)
        FN(fml_count_bad)(z, y, m, 1, bad);
    else
        FN(fml_count_bad)(z, y, m, 0, bad);
    return FN(fml_block_sum)(ls, m);
}

FML_INLINE void FN(fml_focal_loop)(FML_BLOCK_ARGS, const int from_logits, const int gamma_two,
                                   const int fisher, T gamma, int hmode, T min_hess, T g) {
    ptrdiff_t i;
    for (i = 0; i < m; i++) {
        T zv = z[i];
        T yv = y[i];
        T spn, spp, q, u, l, gv, hv;
        if (from_logits)
            FN(fml_from_logit)(zv, &spn, &spp, &q, &u);
        else
            FN(fml_from_prob)(zv, &spn, &spp, &q, &u);
        FN(fml_focal_elem)(spn, spp, q, u, yv, pp[i], pn[i], gamma, gamma_two, fisher, hmode,
                           min_hess, &l, &gv, &hv);
        ls[i] = l;
        gs[i] = gv * g;
        hs[i] = hv * g;
    }
}

/* One specialised loop per (from_logits, gamma == 2, fisher). */
FML_INLINE double FN(fml_focal_body)(FML_BLOCK_ARGS, int from_logits, T gamma, int hmode,
                                     T min_hess, T g, int64_t *bad) {
    int two = gamma == (T)2;
    int fisher = hmode == FML_H_FISHER;
#define FML_FOCAL(L, G, F) \
    FN(fml_focal_loop)(FML_BLOCK_CALL, L, G, F, gamma, hmode, min_hess, g)
    if (from_logits) {
        if (two) {
            if (fisher) FML_FOCAL(1, 1, 1); else FML_FOCAL(1, 1, 0);
        } else {
            if (fisher) FML_FOCAL(1, 0, 1); else FML_FOCAL(1, 0, 0);
        }
    } else {
        if (two) {
            if (fisher) FML_FOCAL(0, 1, 1); else FML_FOCAL(0, 1, 0);
        } else {
            if (fisher) FML_FOCAL(0, 0, 1); else FML_FOCAL(0, 0, 0);
        }
    }
#undef FML_FOCAL
    if (from_logits)
        FN(fml_count_bad)(z, y, m, 1, bad);
    else
        FN(fml_count_bad)(z, y, m, 0, bad);
    return FN(fml_block_sum)(ls, m);
}

/* The builds per instruction-set level and the entry points, which pick one. */

static double FN(fml_bce_block_base)(FML_BLOCK_ARGS, int from_logits, T g, int64_t *bad) {
    return FN(fml_bce_body)(FML_BLOCK_CALL, from_logits, g, bad);
}

static double FN(fml_focal_block_base)(FML_BLOCK_ARGS, int from_logits, T gamma, int hmode,
                                       T min_hess, T g, int64_t *bad) {
    return FN(fml_focal_body)(FML_BLOCK_CALL, from_logits, gamma, hmode, min_hess, g, bad);
}

#if FML_X86_DISPATCH
FML_TARGET_AVX2 static double FN(fml_bce_block_avx2)(FML_BLOCK_ARGS, int from_logits, T g,
                                                    int64_t *bad) {
    return FN(fml_bce_body)(FML_BLOCK_CALL, from_logits, g, bad);
}

FML_TARGET_AVX2 static double FN(fml_focal_block_avx2)(FML_BLOCK_ARGS, int from_logits,
                                                      T gamma, int hmode, T min_hess, T g,
                                                      int64_t *bad) {
    return FN(fml_focal_body)(FML_BLOCK_CALL, from_logits, gamma, hmode, min_hess, g, bad);
}

FML_TARGET_AVX512 static double FN(fml_bce_block_avx512)(FML_BLOCK_ARGS, int from_logits, T g,
                                                        int64_t *bad) {
    return FN(fml_bce_body)(FML_BLOCK_CALL, from_logits, g, bad);
}

FML_TARGET_AVX512 static double FN(fml_focal_block_avx512)(FML_BLOCK_ARGS, int from_logits,
                                                          T gamma, int hmode, T min_hess, T g,
                                                          int64_t *bad) {
    return FN(fml_focal_body)(FML_BLOCK_CALL, from_logits, gamma, hmode, min_hess, g, bad);
}
#endif

/* Weighted BCE of one block (pp, pn: weights of positives / negatives). */
static double FN(fml_bce_block)(FML_BLOCK_ARGS, int from_logits, T g, int64_t *bad) {
#if FML_X86_DISPATCH
    if (fml_losses_isa == FML_ISA_AVX512)
        return FN(fml_bce_block_avx512)(FML_BLOCK_CALL, from_logits, g, bad);
    if (fml_losses_isa == FML_ISA_AVX2)
        return FN(fml_bce_block_avx2)(FML_BLOCK_CALL, from_logits, g, bad);
#endif
    return FN(fml_bce_block_base)(FML_BLOCK_CALL, from_logits, g, bad);
}

/* Focal loss of one block (pp, pn: alpha_t of positives / negatives). */
static double FN(fml_focal_block)(FML_BLOCK_ARGS, int from_logits, T gamma, int hmode,
                                  T min_hess, T g, int64_t *bad) {
#if FML_X86_DISPATCH
    if (fml_losses_isa == FML_ISA_AVX512)
        return FN(fml_focal_block_avx512)(FML_BLOCK_CALL, from_logits, gamma, hmode, min_hess,
                                          g, bad);
    if (fml_losses_isa == FML_ISA_AVX2)
        return FN(fml_focal_block_avx2)(FML_BLOCK_CALL, from_logits, gamma, hmode, min_hess, g,
                                        bad);
#endif
    return FN(fml_focal_block_base)(FML_BLOCK_CALL, from_logits, gamma, hmode, min_hess, g, bad);
}

#undef FML_BLOCK_ARGS
#undef FML_BLOCK_CALL
#undef T
#undef FN
#undef MATH
#undef FML_T
#undef FML_PREC
#undef FML_TINY
#undef FML_UINT
#undef FML_BITS
#undef FML_TOP
#undef FML_EXP_BITS
#undef FML_EXP_ONE
#undef FML_SIGN_BITS
#undef FML_ONE_BITS
#undef FML_ABS
