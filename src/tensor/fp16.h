/*
 * fp16.h — IEEE half precision (F16) and bfloat16 (BF16) <-> F32.
 *
 * The conversions are bit-exact with what llama.cpp's CPU backend computes:
 *   - F16 -> F32 and BF16 -> F32 are exact (every value widens losslessly).
 *   - F32 -> F16 rounds to nearest, ties to even, as the x86 F16C
 *     instruction VCVTPS2PH does with rounding mode 0: values at or beyond
 *     65520 become infinity, tiny values round into the F16 subnormals, NaN
 *     stays NaN (made quiet, keeping the top payload bits).
 *   - F32 -> BF16 rounds to nearest, ties to even; NaN is made quiet by
 *     setting bit 6 of the BF16 (ggml's rule), never rounded into infinity.
 *
 * F16 layout: 1 sign, 5 exponent (bias 15), 10 mantissa bits.
 * BF16 layout: the top 16 bits of an F32 (1 sign, 8 exponent, 7 mantissa).
 */
#ifndef MOTE_TENSOR_FP16_H
#define MOTE_TENSOR_FP16_H

#include <stdint.h>
#include <string.h>

typedef uint16_t mote_f16;  /* raw F16 bits */
typedef uint16_t mote_bf16; /* raw BF16 bits */

static inline uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float f32_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* ------------------------------------------------------------------------
 * F16
 * ---------------------------------------------------------------------- */

#define F16_EXP_MASK 0x7c00u
#define F16_MANT_MASK 0x03ffu
#define F16_QUIET_BIT 0x0200u
/* F32 exponent bias minus F16 exponent bias (127 - 15), in F32 exponent units. */
#define F16_REBIAS (112u << 23)

static inline float fp16_to_fp32(mote_f16 h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t em = h & 0x7fffu; /* exponent and mantissa */
    if (em - 0x0400u < 0x7800u) /* normal (the common case): rebias the exponent */
        return f32_from_bits(sign | ((em << 13) + F16_REBIAS));
    if (em >= F16_EXP_MASK) /* inf or NaN: keep the payload, make a NaN quiet */
        return f32_from_bits(sign | 0x7f800000u | ((em & F16_MANT_MASK) << 13) |
                             (em > F16_EXP_MASK ? 0x00400000u : 0));
    /* zero or subnormal: em * 2^-24, exact in F32 */
    return f32_from_bits(sign | f32_bits((float)em * 0x1p-24f));
}

static inline mote_f16 fp32_to_fp16(float f)
{
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) /* NaN */
        return (mote_f16)(sign | F16_EXP_MASK | F16_QUIET_BIT | ((ax >> 13) & F16_MANT_MASK));
    if (ax >= 0x477ff000u) /* >= 65520 (halfway past 65504): infinity */
        return (mote_f16)(sign | F16_EXP_MASK);
    if (ax >= 0x38800000u) { /* >= 2^-14: a normal F16 (rounding may carry into the exponent) */
        uint32_t r = ax - F16_REBIAS;
        r = (r + 0x0fffu + ((r >> 13) & 1u)) >> 13;
        return (mote_f16)(sign | r);
    }
    /* Below the smallest normal: F16 subnormal in units of 2^-24. The F32
     * value is m * 2^(e - 150) with the implicit bit in m, so the unit count
     * is m >> (126 - e), rounded to nearest even. */
    uint32_t e = ax >> 23;
    if (e < 102) return sign; /* < 2^-25: rounds to zero (F32 subnormals included) */
    uint32_t m = (ax & 0x007fffffu) | 0x00800000u;
    uint32_t shift = 126 - e; /* 14..24 */
    uint32_t q = m >> shift;
    uint32_t rem = m & ((1u << shift) - 1);
    uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1u))) q++; /* may reach 0x400, the smallest normal */
    return (mote_f16)(sign | q);
}

/* ------------------------------------------------------------------------
 * BF16
 * ---------------------------------------------------------------------- */

static inline float bf16_to_fp32(mote_bf16 h)
{
    return f32_from_bits((uint32_t)h << 16);
}

static inline mote_bf16 fp32_to_bf16(float f)
{
    uint32_t x = f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) /* NaN: truncate, force quiet */
        return (mote_bf16)((x >> 16) | 0x40u);
    return (mote_bf16)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

#endif
