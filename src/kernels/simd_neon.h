/*
 * simd_neon.h — the inline helpers of the AArch64 kernel files (internal
 * to the kernels layer): the scalar model's 8-lane reduction and FMAs,
 * nibble and bit unpacking.
 *
 * Baseline Advanced SIMD only, so both the "neon" and the "dotprod" files
 * (dot_neon.c, dot_dotprod.c, through dot_neon_blocks.h) may include it;
 * on other targets it declares nothing. The 8 float lanes of the AVX2
 * model are two float32x4 (lo: lanes 0-3, hi: lanes 4-7).
 */
#ifndef MOTE_KERNELS_SIMD_NEON_H
#define MOTE_KERNELS_SIMD_NEON_H

#if defined(__aarch64__)

#include <arm_neon.h>
#include <stdint.h>

/* hsum_float_8: (l0 + l4) + (l2 + l6) and (l1 + l5) + (l3 + l7), then
 * those two. */
static inline float neon_hsum8(float32x4_t lo, float32x4_t hi)
{
    const float32x4_t h = vaddq_f32(hi, lo);
    return vaddv_f32(vadd_f32(vget_low_f32(h), vget_high_f32(h)));
}

/* _mm512_reduce_add_ps of 16 lanes held as q[0] (lanes 0-3) .. q[3]
 * (12-15): 16 -> 8 (lane i + lane i+8), 8 -> 4 (i + i+4), then
 * (0 + 2) + (1 + 3). */
static inline float neon_reduce16(const float32x4_t q[4])
{
    const float32x4_t h4 = vaddq_f32(vaddq_f32(q[3], q[1]), vaddq_f32(q[2], q[0]));
    return vaddv_f32(vadd_f32(vget_low_f32(h4), vget_high_f32(h4)));
}

/* acc += d * (float)isum lane by lane (one FMA each, as fmaf(d, isum, acc)). */
static inline float32x4_t neon_fma_lanes(float32x4_t acc, int32x4_t isum, float d)
{
    return vfmaq_n_f32(acc, vcvtq_f32_s32(isum), d);
}

/* The same on the 8 lanes of the AVX2 model (acc[0], isum[0]: lanes 0-3). */
static inline void neon_fma_lanes8(float32x4_t acc[2], const int32x4_t isum[2], float d)
{
    acc[0] = neon_fma_lanes(acc[0], isum[0], d);
    acc[1] = neon_fma_lanes(acc[1], isum[1], d);
}

/* The low and the high nibbles of 16 bytes, as signed bytes 0..15. */
static inline int8x16_t neon_low_nibbles(uint8x16_t q)
{
    return vreinterpretq_s8_u8(vandq_u8(q, vdupq_n_u8(0xf)));
}

static inline int8x16_t neon_high_nibbles(uint8x16_t q)
{
    return vreinterpretq_s8_u8(vshrq_n_u8(q, 4));
}

/* 0x10 in byte j where bit j of the 16 bits (b0 | b1 << 8) is set. */
static inline uint8x16_t neon_bit4_from_bits(uint8_t b0, uint8_t b1)
{
    static const uint8_t sel[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
    const uint8x16_t bits = vcombine_u8(vdup_n_u8(b0), vdup_n_u8(b1));
    return vandq_u8(vtstq_u8(bits, vld1q_u8(sel)), vdupq_n_u8(0x10));
}

/* The IQ4_NL values (table: iq4nl_values as an int8x16_t) of the 32
 * elements of a block's 16 bytes: *v0 elements 0..15 (low nibbles), *v1
 * 16..31 (high nibbles). */
static inline void neon_iq4nl_values(const uint8_t *qs, int8x16_t table, int8x16_t *v0, int8x16_t *v1)
{
    const uint8x16_t q = vld1q_u8(qs);
    *v0 = vqtbl1q_s8(table, vandq_u8(q, vdupq_n_u8(0xf)));
    *v1 = vqtbl1q_s8(table, vshrq_n_u8(q, 4));
}

#endif /* __aarch64__ */
#endif
