/*
 * dot_i8_dotprod.c — the int8 row scan (dot_i8.h) with SDOT (Armv8.2 dot
 * product, built with -march=armv8.2-a+dotprod, used only when the CPU
 * reports it): vdotq_s32 adds each group of four exact byte products to an
 * int32 lane. Otherwise dot_i8_neon.c's loop. On other targets this file
 * compiles to nothing.
 */
#if defined(__aarch64__) && defined(__ARM_FEATURE_DOTPROD)

#include <arm_neon.h>

#include "kernels/dot_i8.h"

#define STEP 16 /* bytes per 128-bit vector */

static inline int32x4_t dot16(int32x4_t acc, int8x16_t a, int8x16_t b)
{
    return vdotq_s32(acc, a, b);
}

void i8_dot_rows_dotprod(const int8_t *q, const int8_t *rows, size_t n_rows, size_t dim, int32_t *out)
{
    const size_t body = dim - dim % STEP;
    for (size_t r = 0; r < n_rows; r++) {
        const int8_t *w = rows + r * dim;
        int32x4_t acc = vdupq_n_s32(0);
        for (size_t i = 0; i < body; i += STEP) acc = dot16(acc, vld1q_s8(q + i), vld1q_s8(w + i));
        int32_t s = vaddvq_s32(acc);
        for (size_t i = body; i < dim; i++) s += (int32_t)q[i] * (int32_t)w[i];
        out[r] = s;
    }
}

#endif
