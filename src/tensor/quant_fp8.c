/*
 * quant_fp8.c — mote's FP8 type: E4M3 codes with an E8M0 scale per block
 * of 32 (the layout and why: tensor/quant.h).
 *
 * The quantizer gives each block the smallest power-of-two scale that
 * brings its largest magnitude to 448 or below, so that element lands in
 * E4M3's top binade, then rounds every scaled element to the nearest E4M3
 * value, ties to even. Scaling by a power of two is exact, so the
 * dequantized element is the E4M3 rounding of the element (unless the
 * block spans more than E4M3's 2^17 range, where its smallest elements go
 * subnormal or to zero).
 */
#include <assert.h>
#include <math.h>

#include "tensor/quant.h"
#include "tensor/quant_impl.h"

static_assert(sizeof(block_fp8) == 33, "block_fp8 layout");

#define FP8_MIN_NORMAL 0x1p-6f /* smallest normal E4M3 value; subnormals are multiples of 2^-9 */

uint8_t fp8_e4m3_from_f32(float v)
{
    if (!(v == v)) return 0;
    const uint8_t sign = signbit(v) ? 0x80 : 0;
    const float a = fabsf(v);
    if (a >= FP8_MAX) return sign | 0x7E; /* saturate: 0x7F is NaN */
    if (a < FP8_MIN_NORMAL) return sign | (uint8_t)quant_nearest_int(a * 512.0f); /* 8 is 2^-6 itself */
    /* Round the F32 mantissa to 3 bits, ties to even (a carry moves into
     * the exponent, as it should), then rebias the exponent 127 -> 7. */
    uint32_t u = f32_bits(a);
    u += 0x7ffffu + ((u >> 20) & 1u);
    return sign | (uint8_t)((u >> 20) - ((127u - 7u) << 3));
}

/* The smallest e with amax <= 448 * 2^(e - 127), in [0, FP8_SCALE_MAX):
 * amax = m * 2^k with m in [0.5, 1) and 448 = 0.875 * 2^9, so the
 * exponent is k - 9, one more where m > 0.875. Exact: no division. */
static uint8_t fp8_block_exponent(float amax)
{
    if (!(amax > 0.0f)) return FP8_SCALE_BIAS; /* zero block: any scale */
    if (isinf(amax)) return FP8_SCALE_MAX - 1;
    int k;
    const float m = frexpf(amax, &k);
    int e = k - 9 + (m > 0.875f) + FP8_SCALE_BIAS;
    if (e < 0) e = 0;
    if (e > FP8_SCALE_MAX - 1) e = FP8_SCALE_MAX - 1;
    return (uint8_t)e;
}

void fp8_quantize(const float *src, void *dst, int64_t n)
{
    block_fp8 *b = dst;
    for (int64_t i = 0; i < n / QK_FP8; i++, src += QK_FP8) {
        float amax = 0.0f;
        for (int j = 0; j < QK_FP8; j++) amax = fabsf(src[j]) > amax ? fabsf(src[j]) : amax;
        const uint8_t e = fp8_block_exponent(amax);
        /* 2^(127 - e) for e in [0, 247): a normal float, so scaling is exact */
        const float inv = f32_from_bits((uint32_t)(2 * FP8_SCALE_BIAS - e) << 23);
        b[i].e = e;
        for (int j = 0; j < QK_FP8; j++) b[i].qs[j] = fp8_e4m3_from_f32(src[j] * inv);
    }
}

void fp8_dequantize(const void *src, float *dst, int64_t n)
{
    const block_fp8 *b = src;
    for (int64_t i = 0; i < n / QK_FP8; i++, dst += QK_FP8) {
        const float d = fp8_scale(b[i].e);
        for (int j = 0; j < QK_FP8; j++) dst[j] = fp16_to_fp32(fp8_half(b[i].qs[j])) * d;
    }
}
