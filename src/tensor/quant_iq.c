/*
 * quant_iq.c — the non-linear 4-bit formats IQ4_NL (blocks of 32, one F16
 * scale) and IQ4_XS (super-blocks of 256: an F16 scale and eight 6-bit
 * group scales). Both store 4-bit indices into the fixed level table
 * iq4nl_values.
 *
 * The quantizers follow ggml's quantize_row_iq4_nl_impl as
 * ggml_quantize_chunk runs it (quantize_iq4_nl / quantize_iq4_xs, 7 scale
 * trials each side): with x^2 weights without an importance matrix, with
 * qw * sqrt(sigma2 + x^2) (sigma2 twice the block's or super-block's mean
 * x^2) with one.
 */
#include <math.h>
#include <string.h>

#include "tensor/quant.h"
#include "tensor/quant_impl.h"

/* ggml-common.h, kvalues_iq4nl. */
const int8_t iq4nl_values[16] = {
    -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
};

#define IQ4_NTRY 7 /* scale trials on each side of the first guess */

/* Index of the level nearest to x (ties to the upper level), by bisection
 * of the sorted table. */
static int nearest_level(const int8_t *values, float x)
{
    if (x <= values[0]) return 0;
    if (x >= values[15]) return 15;
    int lo = 0, hi = 15;
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (x < values[mid]) hi = mid;
        else lo = mid;
    }
    return x - values[hi - 1] < values[hi] - x ? hi - 1 : hi;
}

/* ------------------------------------------------------------------------
 * Dequantization
 * ---------------------------------------------------------------------- */

void iq4_nl_dequantize(const void *src, float *dst, int64_t n)
{
    const block_iq4_nl *b = src;
    for (int64_t i = 0; i < n / QK4_NL; i++, dst += QK4_NL) {
        const float d = fp16_to_fp32(b[i].d);
        for (int j = 0; j < QK4_NL / 2; j++) {
            dst[j] = d * iq4nl_values[b[i].qs[j] & 0xf];
            dst[j + QK4_NL / 2] = d * iq4nl_values[b[i].qs[j] >> 4];
        }
    }
}

void iq4_xs_dequantize(const void *src, float *dst, int64_t n)
{
    const block_iq4_xs *b = src;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float d = fp16_to_fp32(b[i].d);
        const uint8_t *qs = b[i].qs;
        for (int ib = 0; ib < QK_K / 32; ib++, qs += 16, dst += 32) {
            const float dl = d * iq4_xs_scale(&b[i], ib);
            for (int j = 0; j < 16; j++) {
                dst[j] = dl * iq4nl_values[qs[j] & 0xf];
                dst[j + 16] = dl * iq4nl_values[qs[j] >> 4];
            }
        }
    }
}

/* ------------------------------------------------------------------------
 * Quantization
 * ---------------------------------------------------------------------- */

/* Weights of the 32 elements of group xb: x^2, or with importance weights
 * qw (the group's 32), qw * sqrt(sigma2 + x^2). */
static void iq4_weights(const float *xb, const float *qw, float sigma2, float weight[32])
{
    for (int j = 0; j < 32; j++)
        weight[j] = qw ? qw[j] * sqrtf(sigma2 + xb[j] * xb[j]) : xb[j] * xb[j];
}

/* Twice the mean x^2 of the n elements of a (super-)block, as ggml. */
static float iq4_sigma2(const float *x, int n)
{
    float sigma2 = 0;
    for (int j = 0; j < n; j++) sigma2 += x[j] * x[j];
    return sigma2 * (2.f / n);
}

/* Best scale for one group of 32 with the given weights: start from the
 * scale mapping the largest |x| to the outermost level, least-squares
 * refit, then try 2*ntry+1 inverse scales around it. Fills L with level
 * indices of the first guess; returns the scale (0 for an all-zero group). */
static float iq4_fit_group(const float *xb, const float *weight, uint8_t *L, int ntry)
{
    const int8_t *values = iq4nl_values;
    float amax;
    const float max = quant_signed_absmax(xb, 32, &amax);
    if (amax < GROUP_MAX_EPS) return 0.0f;
    float d = ntry > 0 ? -max / values[0] : max / values[0];
    float id = 1 / d;
    float sumqx = 0, sumq2 = 0;
    for (int j = 0; j < 32; j++) {
        int l = nearest_level(values, id * xb[j]);
        L[j] = (uint8_t)l;
        float q = values[l], w = weight[j];
        sumqx += w * q * xb[j];
        sumq2 += w * q * q;
    }
    d = sumq2 > 0 ? sumqx / sumq2 : 0.f;
    float best = d * sumqx;
    for (int itry = -ntry; itry <= ntry; itry++) {
        id = (itry + values[0]) / max;
        sumqx = sumq2 = 0;
        for (int j = 0; j < 32; j++) {
            float q = values[nearest_level(values, id * xb[j])], w = weight[j];
            sumqx += w * q * xb[j];
            sumq2 += w * q * q;
        }
        if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
            d = sumqx / sumq2;
            best = d * sumqx;
        }
    }
    return d;
}

void iq4_nl_quantize(const float *src, void *dst, int64_t n)
{
    iq4_nl_quantize_weighted(src, dst, n, NULL);
}

void iq4_nl_quantize_weighted(const float *src, void *dst, int64_t n, const float *qw)
{
    block_iq4_nl *b = dst;
    uint8_t L[QK4_NL];
    float weight[QK4_NL];
    for (int64_t i = 0; i < n / QK4_NL; i++, src += QK4_NL, qw = qw ? qw + QK4_NL : NULL) {
        iq4_weights(src, qw, qw ? iq4_sigma2(src, QK4_NL) : 0.f, weight);
        const float d = iq4_fit_group(src, weight, L, IQ4_NTRY);
        b[i].d = fp32_to_fp16(d);
        /* re-map with the final (unrounded) scale */
        const float id = d != 0.0f ? 1 / d : 0;
        for (int j = 0; j < QK4_NL; j++) L[j] = (uint8_t)nearest_level(iq4nl_values, id * src[j]);
        quant_pack_nibbles32(L, b[i].qs);
    }
}

void iq4_xs_quantize(const float *src, void *dst, int64_t n)
{
    iq4_xs_quantize_weighted(src, dst, n, NULL);
}

void iq4_xs_quantize_weighted(const float *src, void *dst, int64_t n, const float *qw)
{
    block_iq4_xs *b = dst;
    uint8_t L[32];
    float weight[32], scales[QK_K / 32];
    for (int64_t i = 0; i < n / QK_K; i++, src += QK_K, qw = qw ? qw + QK_K : NULL) {
        const float sigma2 = qw ? iq4_sigma2(src, QK_K) : 0.f;
        float max_scale = 0, amax_scale = 0;
        for (int ib = 0; ib < QK_K / 32; ib++) {
            iq4_weights(src + 32 * ib, qw ? qw + 32 * ib : NULL, sigma2, weight);
            scales[ib] = iq4_fit_group(src + 32 * ib, weight, L, IQ4_NTRY);
            if (fabsf(scales[ib]) > amax_scale) {
                amax_scale = fabsf(scales[ib]);
                max_scale = scales[ib];
            }
        }
        /* group scales as 6-bit multiples of d (the unrounded d, as ggml) */
        const float d = -max_scale / 32;
        b[i].d = fp32_to_fp16(d);
        b[i].scales_h = 0;
        const float id = d != 0.0f ? 1 / d : 0.f;
        for (int ib = 0; ib < QK_K / 32; ib++) {
            int l = quant_clampi(quant_nearest_int(id * scales[ib]), -32, 31);
            const float dl = d * l;
            const float idl = dl != 0.0f ? 1 / dl : 0.f;
            const float *xb = src + 32 * ib;
            for (int j = 0; j < 32; j++) L[j] = (uint8_t)nearest_level(iq4nl_values, idl * xb[j]);
            quant_pack_nibbles32(L, b[i].qs + 16 * ib);
            l += 32;
            if (ib % 2 == 0) b[i].scales_l[ib / 2] = (uint8_t)(l & 0xf);
            else b[i].scales_l[ib / 2] |= (uint8_t)((l & 0xf) << 4);
            b[i].scales_h |= (uint16_t)((l >> 4) << (2 * ib));
        }
    }
}
