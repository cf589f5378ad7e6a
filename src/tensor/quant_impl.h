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

#endif
