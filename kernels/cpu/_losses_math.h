/* Element math of the loss kernels (kernels/cpu/losses.pyx): exp and log as polynomials on
 * the IEEE bit patterns, the stable softplus / sigmoid forms, and the block loops of the
 * weighted BCE and the focal loss, for float32 and float64.
 *
 * Why C and not Cython: the block loops must vectorise, so they call no libm function (a
 * libm call keeps a loop scalar) and branch only through selects; and on x86-64 with GCC or
 * Clang (ELF) they are compiled three times: for the platform baseline (SSE2: 4 float32 or 2
 * float64 lanes), for AVX2 + FMA (8 / 4 lanes) and for AVX-512 (x86-64-v4: 16 / 8 lanes),
 * the run-time choice following the CPU's features, as NumPy does. C attributes express
 * that; Cython cannot attach them to its functions. Elsewhere (MSVC, arm64, ...) only the
 * baseline build exists (NEON on arm64).
 *
 * Accuracy: exp and log to about one unit in the last place of their precision; FMA
 * contraction (allowed: GCC's default, -ffp-contract=fast) may change the last bit between
 * builds. Results below the smallest normal number flush to zero.
 *
 * The type-generic part (element functions and block loops) is written once in
 * _losses_impl.h and instantiated here for float and double. Labels reach the loops in the
 * logits' type (uint8 labels are widened block by block first): one element width per loop
 * keeps the vectorised loop compact.
 */
#ifndef FASTML_LOSSES_MATH_H
#define FASTML_LOSSES_MATH_H

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The element loops are branch-free only if the compiler may evaluate both sides of a select:
 * GCC's default -ftrapping-math forbids speculating floating-point operations (in case a
 * program reads the FP exception flags; nothing here does), which keeps the loops scalar.
 * Clang's default is -fno-trapping-math already. This changes no computed value. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("no-trapping-math")
#endif

#if defined(_MSC_VER) && !defined(__clang__)
#define FML_INLINE static __forceinline
#define FML_RESTRICT __restrict
#elif defined(__GNUC__) || defined(__clang__)
#define FML_INLINE static inline __attribute__((always_inline))
#define FML_RESTRICT __restrict__
#else
#define FML_INLINE static inline
#define FML_RESTRICT
#endif

/* Builds of the block loops per instruction-set level, where the compiler can target an
 * instruction set per function and ask the CPU for its features at run time. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && defined(__ELF__)
#define FML_X86_DISPATCH 1
#define FML_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define FML_TARGET_AVX512 \
    __attribute__((target("avx2,fma,avx512f,avx512vl,avx512bw,avx512dq")))
#else
#define FML_X86_DISPATCH 0
#endif

/* instruction-set levels of the block loops */
#define FML_ISA_BASELINE 0
#define FML_ISA_AVX2 1
#define FML_ISA_AVX512 2

/* hessian modes of the focal loss (losses.pyx: H_EXACT ... H_FISHER) */
#define FML_H_EXACT 0
#define FML_H_CLIP 1
#define FML_H_ABS 2
#define FML_H_FISHER 3

#define FML_LOG2E 1.4426950408889634
#define FML_LN2 0.6931471805599453
#define FML_SQRT2 1.4142135623730951
#define FML_LOG_CAP 100.0 /* -log(p) cap for probability input (as torch's BCE) */

/* ------------------------------------------------------------------------- level choice */

static int fml_losses_isa = FML_ISA_BASELINE;

/* 1 if the block loops of ``level`` were built and this CPU (and OS) can run them. */
static int fml_losses_isa_available(int level) {
    if (level == FML_ISA_BASELINE) return 1;
#if FML_X86_DISPATCH
    __builtin_cpu_init();
    if (level == FML_ISA_AVX2 || level == FML_ISA_AVX512) {
        int ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        if (level == FML_ISA_AVX512)
            ok = ok && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                 __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
        return ok;
    }
#endif
    return 0;
}

/* Use ``level`` from now on; returns 0 (and changes nothing) if it is not available. */
static int fml_losses_set_isa(int level) {
    if (!fml_losses_isa_available(level)) return 0;
    fml_losses_isa = level;
    return 1;
}

static int fml_losses_get_isa(void) { return fml_losses_isa; }

/* ------------------------------------------------------------------------ bit casts */

FML_INLINE uint64_t fml_bits_f64(double x) {
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

FML_INLINE double fml_from_bits_f64(uint64_t b) {
    double x;
    memcpy(&x, &b, sizeof x);
    return x;
}

FML_INLINE uint32_t fml_bits_f32(float x) {
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

FML_INLINE float fml_from_bits_f32(uint32_t b) {
    float x;
    memcpy(&x, &b, sizeof x);
    return x;
}

/* --------------------------------------------- exp / log on the bit patterns, per precision
 *
 * Rounding to an integer uses the "magic number" 1.5 * 2**52 (float32: 1.5 * 2**23): adding
 * it leaves round(v) in the low bits of the sum, which the integer part of the code reads
 * directly (no floor, no float-to-int conversion: both vectorise poorly below SSE4.1 /
 * AVX-512). */

#define FML_ROUND64 6755399441055744.0 /* 1.5 * 2**52 */
#define FML_ROUND32 12582912.0f        /* 1.5 * 2**23 */

/* exp(x) for x <= 0; 0.0 below -707. */
FML_INLINE double fml_exp_neg_f64(double x) {
    const double lo = -707.0;
    double xc = x > lo ? x : lo;
    double t = xc * FML_LOG2E + FML_ROUND64;
    double n = t - FML_ROUND64; /* nearest integer to xc / ln 2, >= -1020 */
    double r = (xc - n * 0.6931471803691238) - n * 1.9082149292705877e-10; /* |r| <= ln2/2 */
    /* Taylor polynomial of exp(r), degree 13 (truncation < 1e-17): 1 + r (1 + r c(r)), with
     * c = 1/2 + r/6 + ... + r**11/13! by Estrin's scheme (a shorter dependency chain than
     * Horner's) and the last two steps as Horner's (they set the rounding) */
    double r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
    double c01 = 0.5 + r * (1.0 / 6.0), c23 = 1.0 / 24.0 + r * (1.0 / 120.0);
    double c45 = 1.0 / 720.0 + r * (1.0 / 5040.0), c67 = 1.0 / 40320.0 + r * (1.0 / 362880.0);
    double c89 = 1.0 / 3628800.0 + r * (1.0 / 39916800.0);
    double c1011 = 1.0 / 479001600.0 + r * (1.0 / 6227020800.0);
    double c = (c01 + r2 * c23) + r4 * (c45 + r2 * c67) + r8 * (c89 + r2 * c1011);
    double p = (c * r + 1.0) * r + 1.0;
    /* p * 2**n: add n to the exponent field (a normal number for n >= -1020) */
    uint64_t k = fml_bits_f64(t) - fml_bits_f64(FML_ROUND64);
    double v = fml_from_bits_f64(fml_bits_f64(p) + (k << 52));
    /* 0 below lo: a product, not a select (a select of 0 would let the compiler duplicate
     * the caller's code for that case, and SSE2 has no 64-bit mask from a comparison) */
    return v * (double)(x >= lo);
}

/* exp(x) for x <= 0; 0.0 below -86. */
FML_INLINE float fml_exp_neg_f32(float x) {
    const float lo = -86.0f;
    float xc = x > lo ? x : lo;
    float t = xc * (float)FML_LOG2E + FML_ROUND32;
    float n = t - FML_ROUND32; /* >= -125 */
    float r = (xc - n * 0.693359375f) - n * (float)-2.12194440e-4;
    /* Taylor polynomial of exp(r), degree 7 (truncation < 6e-9): 1 + r (1 + r c(r)), with
     * c = 1/2 + r/6 + ... + r**5/5040 by Estrin's scheme (a shorter dependency chain than
     * Horner's) and the last two steps as Horner's (they set the rounding) */
    float r2 = r * r;
    float c01 = 0.5f + r * (float)(1.0 / 6.0);
    float c23 = (float)(1.0 / 24.0) + r * (float)(1.0 / 120.0);
    float c45 = (float)(1.0 / 720.0) + r * (float)(1.0 / 5040.0);
    float c = c01 + r2 * (c23 + r2 * c45);
    float p = (c * r + 1.0f) * r + 1.0f;
    uint32_t k = fml_bits_f32(t) - fml_bits_f32(FML_ROUND32);
    float v = fml_from_bits_f32(fml_bits_f32(p) + (k << 23));
    return v * (float)(x >= lo);
}

/* log((1 + x) / (1 - x)) = 2 atanh(x) for |x| <= 3 - 2 sqrt(2) (about 0.1716). */
FML_INLINE double fml_log_series_f64(double x) {
    double w = x * x, w2 = w * w, w4 = w2 * w2, w8 = w4 * w4;
    /* 2/3 + 2/5 w + ... + 2/23 w**10 (truncation < 1e-17, relative), by Estrin's scheme */
    double a01 = 2.0 / 3.0 + w * (2.0 / 5.0), a23 = 2.0 / 7.0 + w * (2.0 / 9.0);
    double a45 = 2.0 / 11.0 + w * (2.0 / 13.0), a67 = 2.0 / 15.0 + w * (2.0 / 17.0);
    double a89 = 2.0 / 19.0 + w * (2.0 / 21.0);
    double p = (a01 + w2 * a23) + w4 * (a45 + w2 * a67) + w8 * (a89 + w2 * (2.0 / 23.0));
    return x * w * p + 2.0 * x;
}

FML_INLINE float fml_log_series_f32(float x) {
    float s2 = x * x;
    float p = (float)(2.0 / 9.0); /* truncation < 3e-9 (relative) */
    p = p * s2 + (float)(2.0 / 7.0);
    p = p * s2 + (float)(2.0 / 5.0);
    p = p * s2 + (float)(2.0 / 3.0);
    return x * s2 * p + 2.0f * x;
}

/* log(x) for a positive normal x: x = f 2**e with f in [0.707, 1.414), log f by the series. */
FML_INLINE double fml_log_pos_f64(double x) {
    uint64_t b = fml_bits_f64(x);
    /* e as a double without an int64 conversion: (2**52 + biased e) - (2**52 + 1023) */
    double e = fml_from_bits_f64((b >> 52) | 0x4330000000000000ULL) - 4503599627371519.0;
    double f = fml_from_bits_f64((b & 0xFFFFFFFFFFFFFULL) | 0x3FF0000000000000ULL); /* [1, 2) */
    int big = f > FML_SQRT2; /* then f / 2 and e + 1: f in [0.707, 1.414) */
    f = f * (big ? 0.5 : 1.0);
    e = e + (big ? 1.0 : 0.0);
    double s = (f - 1.0) / (f + 1.0);
    return e * 0.6931471803691238 + (e * 1.9082149292705877e-10 + fml_log_series_f64(s));
}

FML_INLINE float fml_log_pos_f32(float x) {
    uint32_t b = fml_bits_f32(x);
    float e = (float)((int32_t)(b >> 23) - 127);
    float f = fml_from_bits_f32((b & 0x7FFFFFu) | 0x3F800000u);
    int big = f > (float)FML_SQRT2;
    f = f * (big ? 0.5f : 1.0f);
    e = e + (big ? 1.0f : 0.0f);
    float s = (f - 1.0f) / (f + 1.0f);
    return e * 0.693359375f + (e * (float)-2.12194440e-4 + fml_log_series_f32(s));
}

/* ---------------------------------------------------- the type-generic part, two instances */

#define FML_CAT_(a, b) a##_##b
#define FML_CAT(a, b) FML_CAT_(a, b)

#define FML_T double
#define FML_PREC f64
#define FML_TINY DBL_MIN
#define FML_UINT uint64_t
#define FML_BITS fml_bits_f64
#define FML_TOP 63
#define FML_EXP_BITS 0x7FF0000000000000ULL
#define FML_EXP_ONE 0x0010000000000000ULL
#define FML_SIGN_BITS 0x8000000000000000ULL
#define FML_ONE_BITS 0x3FF0000000000000ULL
#define FML_ABS fabs
#include "_losses_impl.h"

#define FML_T float
#define FML_PREC f32
#define FML_TINY FLT_MIN
#define FML_UINT uint32_t
#define FML_BITS fml_bits_f32
#define FML_TOP 31
#define FML_EXP_BITS 0x7F800000u
#define FML_EXP_ONE 0x00800000u
#define FML_SIGN_BITS 0x80000000u
#define FML_ONE_BITS 0x3F800000u
#define FML_ABS fabsf
#include "_losses_impl.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

#endif /* FASTML_LOSSES_MATH_H */
