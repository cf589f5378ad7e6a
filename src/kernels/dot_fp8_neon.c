/*
 * dot_fp8_neon.c — FP8 weights against F32 activations, AArch64 Advanced
 * SIMD (both the "neon" and "dotprod" tables): the 16 lanes of dot_fp8.h
 * as four float32x4.
 *
 * A code becomes its F16 bits by a sign-extending widen, a shift by 7 and
 * clearing the smeared sign bit 14 (the NaN codes get the F16 NaN
 * exponent), then FCVTL: exactly fp8_half and fp16_to_fp32. On other
 * targets this file compiles to nothing.
 */
#if defined(__aarch64__)

#include <arm_neon.h>

#include "kernels/dot_fp8.h"
#include "kernels/simd_neon.h"
#include "tensor/quant.h"

/* 8 codes (widened to int16) as F16 bits, then F32 in lo (codes 0-3), hi (4-7). */
static inline void fp8_half8(int16x8_t c, float32x4_t *lo, float32x4_t *hi)
{
    uint16x8_t h = vandq_u16(vreinterpretq_u16_s16(vshlq_n_s16(c, 7)), vdupq_n_u16(0xBFFF));
    const uint16x8_t nan = vceqq_u16(vorrq_u16(h, vdupq_n_u16(0x8000)), vdupq_n_u16(0xBF80));
    h = vorrq_u16(h, vandq_u16(nan, vdupq_n_u16(0x7C00)));
    *lo = vcvt_f32_f16(vreinterpret_f16_u16(vget_low_u16(h)));
    *hi = vcvt_high_f32_f16(vreinterpretq_f16_u16(h));
}

/* acc[j] (lanes 4j..4j+3) = fma(lane products of the block, its scale, acc[j]). */
static inline void fp8_block(float32x4_t acc[4], const block_fp8 *b, const float *y)
{
    const int8x16_t lo8 = vld1q_s8((const int8_t *)b->qs), hi8 = vld1q_s8((const int8_t *)b->qs + 16);
    float32x4_t lo[4], hi[4];
    fp8_half8(vmovl_s8(vget_low_s8(lo8)), &lo[0], &lo[1]);
    fp8_half8(vmovl_high_s8(lo8), &lo[2], &lo[3]);
    fp8_half8(vmovl_s8(vget_low_s8(hi8)), &hi[0], &hi[1]);
    fp8_half8(vmovl_high_s8(hi8), &hi[2], &hi[3]);
    const float32x4_t d = vdupq_n_f32(fp8_scale(b->e));
    for (int j = 0; j < 4; j++) {
        const float32x4_t p = vfmaq_f32(vmulq_f32(lo[j], vld1q_f32(y + 4 * j)), hi[j], vld1q_f32(y + 16 + 4 * j));
        acc[j] = vfmaq_f32(acc[j], p, d);
    }
}

/* The two parities' accumulators added lane by lane, then reduced. */
static inline float fp8_finish(float32x4_t even[4], const float32x4_t odd[4])
{
    for (int j = 0; j < 4; j++) even[j] = vaddq_f32(even[j], odd[j]);
    return neon_reduce16(even);
}

void fp8_dot_neon(int64_t n, float *s, const void *w, const void *x)
{
    const block_fp8 *a = w;
    const float *y = x;
    float32x4_t acc[2][4];
    for (int p = 0; p < 2; p++)
        for (int j = 0; j < 4; j++) acc[p][j] = vdupq_n_f32(0.0f);
    for (int64_t i = 0; i < n / QK_FP8; i++) fp8_block(acc[i % 2], &a[i], y + i * QK_FP8);
    *s = fp8_finish(acc[0], acc[1]);
}

void fp8_dot4_neon(int64_t n, float *s, const void *w, size_t ws, const void *x)
{
    const float *y = x;
    float32x4_t acc[4][2][4];
    for (int r = 0; r < 4; r++)
        for (int p = 0; p < 2; p++)
            for (int j = 0; j < 4; j++) acc[r][p][j] = vdupq_n_f32(0.0f);
    for (int64_t i = 0; i < n / QK_FP8; i++)
        for (int r = 0; r < 4; r++)
            fp8_block(acc[r][i % 2], (const block_fp8 *)((const uint8_t *)w + (size_t)r * ws) + i, y + i * QK_FP8);
    for (int r = 0; r < 4; r++) s[r] = fp8_finish(acc[r][0], acc[r][1]);
}

#endif /* __aarch64__ */
