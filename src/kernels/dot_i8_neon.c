/*
 * dot_i8_neon.c — the int8 row scan (dot_i8.h) with baseline Advanced
 * SIMD: vmull_s8 forms exact int16 products (|-128 * -128| = 2^14), and
 * vpadalq_s16 adds their pairs into int32 lanes. One row at a time, front
 * to back (one sequential read, see dot_i8_avx2.c), 16 bytes a step, the
 * last dim % 16 one by one. On other targets this file compiles to
 * nothing.
 */
#if defined(__aarch64__)

#include <arm_neon.h>

#include "kernels/dot_i8.h"

#define STEP 16 /* bytes per 128-bit vector */

static inline int32x4_t dot16(int32x4_t acc, int8x16_t a, int8x16_t b)
{
    acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(a), vget_low_s8(b)));
    return vpadalq_s16(acc, vmull_high_s8(a, b));
}

void i8_dot_rows_neon(const int8_t *q, const int8_t *rows, size_t n_rows, size_t dim, int32_t *out)
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
