/*
 * quant_impl.h — small helpers shared by the quantizers in src/tensor
 * (internal to the tensor layer).
 *
 * ggml converts floats to small integers with plain C casts, which are
 * undefined for out-of-range values (NaN, inf from a tiny scale). These
 * helpers give the same result for every in-range value and a clamped one
 * otherwise, so bad input yields bad numbers, never undefined behaviour.
 */
#ifndef MOTE_TENSOR_QUANT_IMPL_H
#define MOTE_TENSOR_QUANT_IMPL_H

#include <float.h>
#include <math.h>
#include <stdint.h>

#include "tensor/quant.h"

/* (int)v truncated toward zero, clamped to [0, hi]; NaN gives 0. */
static inline int quant_trunc_clamp(float v, int hi)
{
    if (!(v >= 0.0f)) return 0; /* negative or NaN: truncates to <= 0 */
    if (v >= (float)hi) return hi;
    return (int)v;
}

/* An integral float to int8, saturating; NaN gives 0. */
static inline int8_t quant_sat_i8(float v)
{
    if (!(v == v)) return 0;
    if (v > 127.0f) return 127;
    if (v < -128.0f) return -128;
    return (int8_t)v;
}

/* Smallest and largest of x[0..n). */
static inline void quant_min_max(const float *x, int n, float *min, float *max)
{
    float lo = FLT_MAX, hi = -FLT_MAX;
    for (int j = 0; j < n; j++) {
        if (x[j] < lo) lo = x[j];
        if (x[j] > hi) hi = x[j];
    }
    *min = lo;
    *max = hi;
}

/* quant_nearest_int (quant.h) for any float: saturates outside +-2^22,
 * where the magic-number trick stops working; NaN gives 0. */
static inline int quant_nearest_int_safe(float v)
{
    if (!(v == v)) return 0;
    if (v > 4194303.0f) return 4194303;
    if (v < -4194303.0f) return -4194303;
    return quant_nearest_int(v);
}

/* Groups whose largest |x| is below this quantize to all zero (ggml's
 * GROUP_MAX_EPS). */
#define GROUP_MAX_EPS 1e-15f

static inline int quant_clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Element of x[0..n) of largest magnitude (its signed value, the first of
 * equals); 0 if all are zero. *amax_out receives its magnitude. */
static inline float quant_signed_absmax(const float *x, int n, float *amax_out)
{
    float max = 0, amax = 0;
    for (int i = 0; i < n; i++) {
        float ax = fabsf(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    *amax_out = amax;
    return max;
}

/* 32 levels (< 16) of a Q4_0/Q4_1/IQ4 block into 16 bytes: low nibbles
 * elements 0..15, high nibbles 16..31. */
static inline void quant_pack_nibbles32(const uint8_t *L, uint8_t *qs)
{
    for (int j = 0; j < 16; j++) qs[j] = (uint8_t)(L[j] | (L[j + 16] << 4));
}

/* ------------------------------------------------------------------------
 * Scale searches (quant_search.c): ggml's make_* helpers, which the
 * K-quants, the weighted legacy quantizers and the scales of the scales
 * share. n elements x, importance weights w; levels go to L. All keep
 * ggml's evaluation order and round with quant_nearest_int (ggml's
 * nearest_int, garbage-for-garbage outside +-2^22 as ggml).
 * ---------------------------------------------------------------------- */

/* Affine fit x ~ scale * L - the_min, L in 0..nmax, minimising the
 * w-weighted error (|err| when use_mad, else err^2): nstep+1 candidate
 * inverse scales (rmin + rdelta*is + nmax) / (max - min), each followed by
 * a least-squares solve for scale and min (ggml's make_qkx2_quants and, for
 * a non-NULL w, make_qkx3_quants). Returns the scale; *the_min >= 0. Laux:
 * n bytes of scratch. */
float quant_fit_affine(int n, int nmax, const float *x, const float *w, uint8_t *L,
                       float *the_min, uint8_t *Laux, float rmin, float rdelta, int nstep,
                       int use_mad);

/* Symmetric fit x ~ scale * (L - nmax), L - nmax in -nmax..nmax-1: the
 * scale mapping the largest |x| to -nmax and 18 neighbours, each refit by
 * weighted least squares, the best kept (ggml's make_qx_quants with
 * rmse_type 1). w NULL weighs each element by x^2. Returns the scale. */
float quant_fit_symmetric(int n, int nmax, const float *x, const float *w, int8_t *L);

/* As quant_fit_symmetric with x^2 weights, refined by up to 5 passes of
 * coordinate descent instead of the neighbour scales (ggml's make_q3_quants
 * with do_rmse). */
float quant_fit_q3(int n, int nmax, const float *x, int8_t *L);

/* Fit of non-negative x ~ scale * L, L in 0..nmax: 9 inverse scales
 * around nmax/max by weighted squared error, then up to 5 passes of
 * coordinate descent (ggml's make_qp_quants, which quantizes the group
 * scales and mins of the weighted K-quants). Returns the scale. */
float quant_fit_positive(int n, int nmax, const float *x, const float *w, uint8_t *L);

#endif
