/*
 * quant_k.c — the K-quants: super-blocks of QK_K = 256 elements split into
 * groups of 16 or 32, each group with its own (quantized) scale and, for
 * Q2_K/Q4_K/Q5_K, its own min. Also Q8_K, their activation format.
 *
 * Dequantizers match ggml's dequantize_row_*; quantizers follow ggml's
 * quantize_row_*_ref (a per-group least-squares search for the scale and
 * min, then the group scales quantized against a super-block scale and the
 * elements re-quantized with the rounded scales), and the *_weighted ones
 * its quantize_row_*_impl with an importance matrix (weighted searches,
 * and the group scales fitted rather than just rounded). The searches are
 * in quant_search.c. Floating-point expressions keep ggml's evaluation
 * order.
 */
#include <math.h>
#include <string.h>

#include "tensor/quant.h"
#include "tensor/quant_impl.h"

/* ------------------------------------------------------------------------
 * Packing shared by the reference and the weighted quantizers
 * ---------------------------------------------------------------------- */

/* Pack 2-bit values L[0..256) as Q2_K/Q3_K store them: per 128 elements,
 * byte l holds elements l, l+32, l+64, l+96 in bit pairs 0..3. */
static void pack_2bit(const uint8_t *L, uint8_t *qs)
{
    for (int j = 0; j < QK_K; j += 128)
        for (int l = 0; l < 32; l++)
            qs[j / 4 + l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) |
                                      (L[j + l + 96] << 6));
}

/* ------------------------------------------------------------------------
 * Q2_K
 * ---------------------------------------------------------------------- */

void q2_K_dequantize(const void *src, float *dst, int64_t n)
{
    const block_q2_K *b = src;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float d = fp16_to_fp32(b[i].d);
        const float min = fp16_to_fp32(b[i].dmin);
        const uint8_t *q = b[i].qs;
        int is = 0;
        for (int half = 0; half < QK_K; half += 128, q += 32) {
            for (int shift = 0; shift < 8; shift += 2) {
                for (int sub = 0; sub < 32; sub += 16) { /* two groups of 16 */
                    const uint8_t sc = b[i].scales[is++];
                    const float dl = d * (sc & 0xf), ml = min * (sc >> 4);
                    for (int l = 0; l < 16; l++) *dst++ = dl * ((q[sub + l] >> shift) & 3) - ml;
                }
            }
        }
    }
}

/* Levels of each group of 16 re-quantized against its rounded scale and
 * min (groups whose scale rounds to 0 keep the fit's levels), then packed. */
static void q2_K_requantize_pack(const float *x, block_q2_K *b, uint8_t *L)
{
    const float dm = fp16_to_fp32(b->d), mm = fp16_to_fp32(b->dmin);
    for (int j = 0; j < QK_K / 16; j++) {
        const float d = dm * (b->scales[j] & 0xf);
        if (d == 0.0f) continue;
        const float m = mm * (b->scales[j] >> 4);
        for (int l = 0; l < 16; l++)
            L[16 * j + l] = (uint8_t)quant_clampi(quant_nearest_int((x[16 * j + l] + m) / d), 0, 3);
    }
    pack_2bit(L, b->qs);
}

void q2_K_quantize(const float *src, void *dst, int64_t n)
{
    block_q2_K *b = dst;
    const float q4scale = 15.f;
    uint8_t L[QK_K], Laux[16];
    float weights[16], mins[QK_K / 16], scales[QK_K / 16];
    for (int64_t i = 0; i < n / QK_K; i++, src += QK_K) {
        float max_scale = 0, max_min = 0;
        for (int j = 0; j < QK_K / 16; j++) {
            for (int l = 0; l < 16; l++) weights[l] = fabsf(src[16 * j + l]);
            scales[j] = quant_fit_affine(16, 3, src + 16 * j, weights, L + 16 * j, &mins[j], Laux,
                                         -0.5f, 0.1f, 15, 1);
            if (scales[j] > max_scale) max_scale = scales[j];
            if (mins[j] > max_min) max_min = mins[j];
        }
        if (max_scale > 0) {
            const float iscale = q4scale / max_scale;
            for (int j = 0; j < QK_K / 16; j++)
                b[i].scales[j] = (uint8_t)quant_nearest_int(iscale * scales[j]);
            b[i].d = fp32_to_fp16(max_scale / q4scale);
        } else {
            memset(b[i].scales, 0, sizeof b[i].scales);
            b[i].d = fp32_to_fp16(0.f);
        }
        if (max_min > 0) {
            const float iscale = q4scale / max_min;
            for (int j = 0; j < QK_K / 16; j++)
                b[i].scales[j] |= (uint8_t)(quant_nearest_int(iscale * mins[j]) << 4);
            b[i].dmin = fp32_to_fp16(max_min / q4scale);
        } else {
            b[i].dmin = fp32_to_fp16(0.f);
        }
        q2_K_requantize_pack(src, &b[i], L);
    }
}

/* ggml's quantize_row_q2_K_impl: weights qw * sqrt(sigma2 + x^2) (sigma2
 * the super-block's mean x^2), a 37-step affine search per group, and the
 * group scales and mins themselves fitted (weighted by the groups' total
 * weight) to 4 bits. */
void q2_K_quantize_weighted(const float *src, void *dst, int64_t n, const float *qw)
{
    if (!qw) {
        q2_K_quantize(src, dst, n);
        return;
    }
    block_q2_K *b = dst;
    uint8_t L[QK_K], Laux[16], Ls[QK_K / 16], Lm[QK_K / 16];
    float weight[16], sw[QK_K / 16], mins[QK_K / 16], scales[QK_K / 16];
    for (int64_t i = 0; i < n / QK_K; i++, src += QK_K, qw += QK_K) {
        float sumx2 = 0;
        for (int j = 0; j < QK_K; j++) sumx2 += src[j] * src[j];
        const float sigma2 = sumx2 / QK_K;
        for (int j = 0; j < QK_K / 16; j++) {
            const float *x = src + 16 * j;
            sw[j] = 0;
            for (int l = 0; l < 16; l++) {
                weight[l] = qw[16 * j + l] * sqrtf(sigma2 + x[l] * x[l]);
                sw[j] += weight[l];
            }
            scales[j] = quant_fit_affine(16, 3, x, weight, L + 16 * j, &mins[j], Laux, -0.9f,
                                         0.05f, 36, 0);
        }
        b[i].d = fp32_to_fp16(quant_fit_positive(QK_K / 16, 15, scales, sw, Ls));
        b[i].dmin = fp32_to_fp16(quant_fit_positive(QK_K / 16, 15, mins, sw, Lm));
        for (int j = 0; j < QK_K / 16; j++) b[i].scales[j] = (uint8_t)(Ls[j] | (Lm[j] << 4));
        q2_K_requantize_pack(src, &b[i], L);
    }
}

/* ------------------------------------------------------------------------
 * Q3_K
 * ---------------------------------------------------------------------- */

void q3_K_dequantize(const void *src, float *dst, int64_t n)
{
    const block_q3_K *b = src;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float d_all = fp16_to_fp32(b[i].d);
        int8_t sc[16];
        q3_K_scales(b[i].scales, sc);
        const uint8_t *q = b[i].qs;
        const uint8_t *hm = b[i].hmask;
        uint8_t m = 1;
        int is = 0;
        for (int half = 0; half < QK_K; half += 128, q += 32) {
            for (int shift = 0; shift < 8; shift += 2, m <<= 1) {
                for (int sub = 0; sub < 32; sub += 16) {
                    const float dl = d_all * sc[is++];
                    for (int l = 0; l < 16; l++) {
                        int v = ((q[sub + l] >> shift) & 3) - ((hm[sub + l] & m) ? 0 : 4);
                        *dst++ = dl * v;
                    }
                }
            }
        }
    }
}

/* Store the 6-bit group scale ls (0..63, i.e. scale + 32) of group j. */
static void q3_K_set_scale(uint8_t packed[12], int j, int ls)
{
    if (j < 8) packed[j] = (uint8_t)(ls & 0xf);
    else packed[j - 8] |= (uint8_t)((ls & 0xf) << 4);
    packed[j % 4 + 8] |= (uint8_t)((ls >> 4) << (2 * (j / 4)));
}

/* Levels (0..7) of each group re-quantized against its rounded scale
 * (groups whose scale rounds to 0 keep the fit's levels), then split into
 * hmask and 2-bit quants. */
static void q3_K_requantize_pack(const float *x, block_q3_K *b, int8_t *L)
{
    int8_t sc[16];
    q3_K_scales(b->scales, sc);
    for (int j = 0; j < QK_K / 16; j++) {
        const float d = fp16_to_fp32(b->d) * sc[j];
        if (d == 0.0f) continue;
        for (int l = 0; l < 16; l++)
            L[16 * j + l] = (int8_t)(quant_clampi(quant_nearest_int(x[16 * j + l] / d), -4, 3) + 4);
    }
    /* high bit of element j into bit j/32 of hmask[j%32]; keep the low 2 bits */
    memset(b->hmask, 0, sizeof b->hmask);
    uint8_t low[QK_K];
    for (int j = 0; j < QK_K; j++) {
        if (L[j] > 3) b->hmask[j % 32] |= (uint8_t)(1u << (j / 32));
        low[j] = (uint8_t)(L[j] & 3);
    }
    pack_2bit(low, b->qs);
}

void q3_K_quantize(const float *src, void *dst, int64_t n)
{
    block_q3_K *b = dst;
    int8_t L[QK_K];
    float scales[QK_K / 16];
    for (int64_t i = 0; i < n / QK_K; i++, src += QK_K) {
        float max_scale = 0, amax = 0;
        for (int j = 0; j < QK_K / 16; j++) {
            scales[j] = quant_fit_q3(16, 4, src + 16 * j, L + 16 * j);
            if (fabsf(scales[j]) > amax) {
                amax = fabsf(scales[j]);
                max_scale = scales[j];
            }
        }
        memset(b[i].scales, 0, sizeof b[i].scales);
        if (max_scale != 0.0f) {
            const float iscale = -32.f / max_scale;
            for (int j = 0; j < QK_K / 16; j++)
                q3_K_set_scale(b[i].scales, j,
                               quant_clampi((int8_t)quant_nearest_int(iscale * scales[j]), -32, 31) + 32);
            b[i].d = fp32_to_fp16(1 / iscale);
        } else {
            b[i].d = fp32_to_fp16(0.f);
        }
        q3_K_requantize_pack(src, &b[i], L);
    }
}

/* ggml's quantize_row_q3_K_impl: weights qw * sqrt(sigma2 + x^2) (sigma2
 * twice the super-block's mean x^2) in the symmetric search of each group,
 * and the 16 group scales fitted to 6 bits by the same search weighted by
 * the groups' total weight. */
void q3_K_quantize_weighted(const float *src, void *dst, int64_t n, const float *qw)
{
    if (!qw) {
        q3_K_quantize(src, dst, n);
        return;
    }
    block_q3_K *b = dst;
    int8_t L[QK_K], Ls[QK_K / 16];
    float weight[16], sw[QK_K / 16], scales[QK_K / 16];
    for (int64_t i = 0; i < n / QK_K; i++, src += QK_K, qw += QK_K) {
        float sumx2 = 0;
        for (int j = 0; j < QK_K; j++) sumx2 += src[j] * src[j];
        const float sigma2 = 2 * sumx2 / QK_K;
        for (int j = 0; j < QK_K / 16; j++) {
            const float *x = src + 16 * j;
            float sumw = 0;
            for (int l = 0; l < 16; l++) {
                weight[l] = qw[16 * j + l] * sqrtf(sigma2 + x[l] * x[l]);
                sumw += weight[l];
            }
            sw[j] = sumw;
            scales[j] = quant_fit_symmetric(16, 4, x, weight, L + 16 * j);
        }
        memset(b[i].scales, 0, sizeof b[i].scales);
        const float d_block = quant_fit_symmetric(QK_K / 16, 32, scales, sw, Ls);
        for (int j = 0; j < QK_K / 16; j++) q3_K_set_scale(b[i].scales, j, Ls[j]);
        b[i].d = fp32_to_fp16(d_block);
        q3_K_requantize_pack(src, &b[i], L);
    }
}

/* ------------------------------------------------------------------------
 * Q4_K, Q5_K (shared scale/min search and packing)
 * ---------------------------------------------------------------------- */

void q4_K_dequantize(const void *src, float *dst, int64_t n)
{
    const block_q4_K *b = src;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float d = fp16_to_fp32(b[i].d);
        const float min = fp16_to_fp32(b[i].dmin);
        const uint8_t *q = b[i].qs;
        for (int g = 0; g < QK_K / 32; g += 2, q += 32) {
            uint8_t sc, m;
            q4_K_scale_min(g, b[i].scales, &sc, &m);
            const float d1 = d * sc, m1 = min * m;
            q4_K_scale_min(g + 1, b[i].scales, &sc, &m);
            const float d2 = d * sc, m2 = min * m;
            for (int l = 0; l < 32; l++) *dst++ = d1 * (q[l] & 0xf) - m1;
            for (int l = 0; l < 32; l++) *dst++ = d2 * (q[l] >> 4) - m2;
        }
    }
}

void q5_K_dequantize(const void *src, float *dst, int64_t n)
{
    const block_q5_K *b = src;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float d = fp16_to_fp32(b[i].d);
        const float min = fp16_to_fp32(b[i].dmin);
        const uint8_t *ql = b[i].qs;
        const uint8_t *qh = b[i].qh;
        uint8_t u1 = 1, u2 = 2;
        for (int g = 0; g < QK_K / 32; g += 2, ql += 32, u1 <<= 2, u2 <<= 2) {
            uint8_t sc, m;
            q4_K_scale_min(g, b[i].scales, &sc, &m);
            const float d1 = d * sc, m1 = min * m;
            q4_K_scale_min(g + 1, b[i].scales, &sc, &m);
            const float d2 = d * sc, m2 = min * m;
            for (int l = 0; l < 32; l++) *dst++ = d1 * ((ql[l] & 0xf) + (qh[l] & u1 ? 16 : 0)) - m1;
            for (int l = 0; l < 32; l++) *dst++ = d2 * ((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
        }
    }
}

/* The 8 group scales ls and mins lm of a Q4_K/Q5_K super-block into its
 * 12 bytes (see q4_K_scale_min). Values above 63 keep the bits that ggml's
 * packing keeps (the weighted Q4_K does not clamp). */
static void k_pack_scales(const uint8_t ls[QK_K / 32], const uint8_t lm[QK_K / 32],
                          uint8_t out[K_SCALE_SIZE])
{
    for (int j = 0; j < QK_K / 32; j++) {
        if (j < 4) {
            out[j] = ls[j];
            out[j + 4] = lm[j];
        } else {
            out[j + 4] = (uint8_t)((ls[j] & 0xf) | ((lm[j] & 0xf) << 4));
            out[j - 4] |= (uint8_t)((ls[j] >> 4) << 6);
            out[j] |= (uint8_t)((lm[j] >> 4) << 6);
        }
    }
}

/* Levels (0..nmax) of each group of 32 re-quantized against its rounded
 * scale and min; groups whose scale rounds to 0 keep the fit's levels. */
static void k_requantize(const float *x, const uint8_t scales[K_SCALE_SIZE], mote_f16 d16,
                         mote_f16 dmin16, int nmax, uint8_t *L)
{
    for (int j = 0; j < QK_K / 32; j++) {
        uint8_t sc, m;
        q4_K_scale_min(j, scales, &sc, &m);
        const float d = fp16_to_fp32(d16) * sc;
        if (d == 0.0f) continue;
        const float dm = fp16_to_fp32(dmin16) * m;
        for (int l = 0; l < 32; l++)
            L[32 * j + l] = (uint8_t)quant_clampi(quant_nearest_int((x[32 * j + l] + dm) / d), 0, nmax);
    }
}

/* One Q4_K/Q5_K super-block as ggml's quantize_row_q{4,5}_K_ref: fits the
 * 8 groups (levels 0..nmax, weights av_x + |x|), scales them against the
 * largest scale and min, sets scales_out, *d_out, *dmin_out and leaves the
 * re-quantized levels in L. */
static void k_fit_ref(const float *x, int nmax, float rmin, int nstep, uint8_t *L,
                      uint8_t scales_out[K_SCALE_SIZE], mote_f16 *d_out, mote_f16 *dmin_out)
{
    uint8_t Laux[32], ls[QK_K / 32], lm[QK_K / 32];
    float weights[32], mins[QK_K / 32], scales[QK_K / 32];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < QK_K / 32; j++) {
        float sum_x2 = 0;
        for (int l = 0; l < 32; l++) sum_x2 += x[32 * j + l] * x[32 * j + l];
        const float av_x = sqrtf(sum_x2 / 32);
        for (int l = 0; l < 32; l++) weights[l] = av_x + fabsf(x[32 * j + l]);
        scales[j] = quant_fit_affine(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux,
                                     rmin, 0.1f, nstep, 0);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    for (int j = 0; j < QK_K / 32; j++) {
        /* ggml stores the rounded value into a uint8_t before clamping */
        ls[j] = (uint8_t)quant_nearest_int(inv_scale * scales[j]);
        lm[j] = (uint8_t)quant_nearest_int(inv_min * mins[j]);
        if (ls[j] > 63) ls[j] = 63;
        if (lm[j] > 63) lm[j] = 63;
    }
    k_pack_scales(ls, lm, scales_out);
    *d_out = fp32_to_fp16(max_scale / 63.f);
    *dmin_out = fp32_to_fp16(max_min / 63.f);
    k_requantize(x, scales_out, *d_out, *dmin_out, nmax, L);
}

/* One Q4_K/Q5_K super-block as ggml's quantize_row_q{4,5}_K_impl with
 * importance weights qw[0..256): weights qw * sqrt(sigma2 + x^2) (sigma2
 * twice the mean x^2), a 37-step affine search per group, the 8 scales
 * and 8 mins fitted to 6 bits weighted by the groups' total weight. ggml's
 * Q5_K clamps the 6-bit values to 63, its Q4_K does not (clamp63); they
 * exceed 63 only when a degenerate group's negative scale wraps. */
static void k_fit_weighted(const float *x, const float *qw, int nmax, int clamp63, uint8_t *L,
                           uint8_t scales_out[K_SCALE_SIZE], mote_f16 *d_out, mote_f16 *dmin_out)
{
    uint8_t Laux[32], ls[QK_K / 32], lm[QK_K / 32];
    float weights[32], sw[QK_K / 32], mins[QK_K / 32], scales[QK_K / 32];
    float sum_x2 = 0;
    for (int l = 0; l < QK_K; l++) sum_x2 += x[l] * x[l];
    const float sigma2 = 2 * sum_x2 / QK_K;
    for (int j = 0; j < QK_K / 32; j++) {
        const float *xg = x + 32 * j;
        float sumw = 0;
        for (int l = 0; l < 32; l++) {
            weights[l] = qw[32 * j + l] * sqrtf(sigma2 + xg[l] * xg[l]);
            sumw += weights[l];
        }
        sw[j] = sumw;
        scales[j] = quant_fit_affine(32, nmax, xg, weights, L + 32 * j, &mins[j], Laux, -0.9f,
                                     0.05f, 36, 0);
    }
    const float d_block = quant_fit_positive(QK_K / 32, 63, scales, sw, ls);
    const float m_block = quant_fit_positive(QK_K / 32, 63, mins, sw, lm);
    if (clamp63)
        for (int j = 0; j < QK_K / 32; j++) {
            if (ls[j] > 63) ls[j] = 63;
            if (lm[j] > 63) lm[j] = 63;
        }
    k_pack_scales(ls, lm, scales_out);
    *d_out = fp32_to_fp16(d_block);
    *dmin_out = fp32_to_fp16(m_block);
    k_requantize(x, scales_out, *d_out, *dmin_out, nmax, L);
}

/* Q4_K quants: per 64 elements, 32 bytes, low nibbles the first 32. */
static void q4_K_pack(const uint8_t *L, block_q4_K *b)
{
    uint8_t *q = b->qs;
    for (int j = 0; j < QK_K; j += 64, q += 32)
        for (int l = 0; l < 32; l++) q[l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 4));
}

/* Q5_K quants: low 4 bits as Q4_K, the fifth bits into qh. */
static void q5_K_pack(const uint8_t *L, block_q5_K *b)
{
    uint8_t *ql = b->qs;
    memset(b->qh, 0, sizeof b->qh);
    uint8_t m1 = 1, m2 = 2;
    for (int j = 0; j < QK_K; j += 64, ql += 32, m1 <<= 2, m2 <<= 2) {
        for (int l = 0; l < 32; l++) {
            int l1 = L[j + l], l2 = L[j + l + 32];
            if (l1 > 15) {
                l1 -= 16;
                b->qh[l] |= m1;
            }
            if (l2 > 15) {
                l2 -= 16;
                b->qh[l] |= m2;
            }
            ql[l] = (uint8_t)(l1 | (l2 << 4));
        }
    }
}

void q4_K_quantize(const float *src, void *dst, int64_t n)
{
    block_q4_K *b = dst;
    uint8_t L[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++, src += QK_K) {
        k_fit_ref(src, 15, -1.f, 20, L, b[i].scales, &b[i].d, &b[i].dmin);
        q4_K_pack(L, &b[i]);
    }
}

void q4_K_quantize_weighted(const float *src, void *dst, int64_t n, const float *qw)
{
    if (!qw) {
        q4_K_quantize(src, dst, n);
        return;
    }
    block_q4_K *b = dst;
    uint8_t L[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++, src += QK_K, qw += QK_K) {
        k_fit_weighted(src, qw, 15, 0, L, b[i].scales, &b[i].d, &b[i].dmin);
        q4_K_pack(L, &b[i]);
    }
}

void q5_K_quantize(const float *src, void *dst, int64_t n)
{
    block_q5_K *b = dst;
    uint8_t L[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++, src += QK_K) {
        k_fit_ref(src, 31, -0.5f, 15, L, b[i].scales, &b[i].d, &b[i].dmin);
        q5_K_pack(L, &b[i]);
    }
}

void q5_K_quantize_weighted(const float *src, void *dst, int64_t n, const float *qw)
{
    if (!qw) {
        q5_K_quantize(src, dst, n);
        return;
    }
    block_q5_K *b = dst;
    uint8_t L[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++, src += QK_K, qw += QK_K) {
        k_fit_weighted(src, qw, 31, 1, L, b[i].scales, &b[i].d, &b[i].dmin);
        q5_K_pack(L, &b[i]);
    }
}

/* ------------------------------------------------------------------------
 * Q6_K
 * ---------------------------------------------------------------------- */

void q6_K_dequantize(const void *src, float *dst, int64_t n)
{
    const block_q6_K *b = src;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float d = fp16_to_fp32(b[i].d);
        const uint8_t *ql = b[i].ql;
        const uint8_t *qh = b[i].qh;
        const int8_t *sc = b[i].scales;
        for (int half = 0; half < QK_K; half += 128, dst += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; l++) {
                const int is = l / 16;
                const int q1 = ((ql[l] & 0xf) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0xf) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                dst[l] = d * sc[is + 0] * q1;
                dst[l + 32] = d * sc[is + 2] * q2;
                dst[l + 64] = d * sc[is + 4] * q3;
                dst[l + 96] = d * sc[is + 6] * q4;
            }
        }
    }
}

void q6_K_quantize(const float *src, void *dst, int64_t n)
{
    q6_K_quantize_weighted(src, dst, n, NULL);
}

/* ggml's quantize_row_q6_K_impl: the symmetric search of each group of 16
 * weighs its elements by the importance weights as they are (x^2 without
 * them, which is quantize_row_q6_K_ref). */
void q6_K_quantize_weighted(const float *src, void *dst, int64_t n, const float *qw)
{
    block_q6_K *b = dst;
    int8_t L[QK_K];
    float scales[QK_K / 16];
    for (int64_t i = 0; i < n / QK_K; i++, src += QK_K, qw = qw ? qw + QK_K : NULL) {
        float max_scale = 0, max_abs_scale = 0;
        for (int g = 0; g < QK_K / 16; g++) {
            scales[g] = quant_fit_symmetric(16, 32, src + 16 * g, qw ? qw + 16 * g : NULL, L + 16 * g);
            if (fabsf(scales[g]) > max_abs_scale) {
                max_abs_scale = fabsf(scales[g]);
                max_scale = scales[g];
            }
        }
        if (max_abs_scale < GROUP_MAX_EPS) {
            memset(&b[i], 0, sizeof b[i]);
            continue;
        }
        const float iscale = -128.f / max_scale;
        b[i].d = fp32_to_fp16(1 / iscale);
        for (int g = 0; g < QK_K / 16; g++) {
            int v = quant_nearest_int(iscale * scales[g]);
            b[i].scales[g] = (int8_t)(v < 127 ? v : 127);
        }
        for (int g = 0; g < QK_K / 16; g++) {
            const float d = fp16_to_fp32(b[i].d) * b[i].scales[g];
            if (d == 0.0f) continue;
            for (int l = 0; l < 16; l++)
                L[16 * g + l] = (int8_t)(quant_clampi(quant_nearest_int(src[16 * g + l] / d), -32, 31) + 32);
        }
        uint8_t *ql = b[i].ql, *qh = b[i].qh;
        for (int j = 0; j < QK_K; j += 128, ql += 64, qh += 32) {
            for (int l = 0; l < 32; l++) {
                const int v0 = L[j + l], v1 = L[j + l + 32], v2 = L[j + l + 64], v3 = L[j + l + 96];
                ql[l] = (uint8_t)((v0 & 0xf) | ((v2 & 0xf) << 4));
                ql[l + 32] = (uint8_t)((v1 & 0xf) | ((v3 & 0xf) << 4));
                qh[l] = (uint8_t)((v0 >> 4) | ((v1 >> 4) << 2) | ((v2 >> 4) << 4) | ((v3 >> 4) << 6));
            }
        }
    }
}

/* ------------------------------------------------------------------------
 * Q8_K (activation format)
 * ---------------------------------------------------------------------- */

void q8_K_dequantize(const void *src, float *dst, int64_t n)
{
    const block_q8_K *b = src;
    for (int64_t i = 0; i < n / QK_K; i++)
        for (int j = 0; j < QK_K; j++) *dst++ = b[i].d * b[i].qs[j];
}

/* ggml's quantize_row_q8_K_ref: the element of largest magnitude maps to
 * -127 (so its sign is the scale's), quants round to nearest even. An
 * all-zero block gets d = 0 and zero quants and sums. */
void q8_K_quantize(const float *src, void *dst, int64_t n)
{
    block_q8_K *b = dst;
    for (int64_t i = 0; i < n / QK_K; i++, src += QK_K) {
        float amax;
        const float max = quant_signed_absmax(src, QK_K, &amax);
        if (amax == 0.0f) {
            memset(&b[i], 0, sizeof b[i]);
            continue;
        }
        const float iscale = -127.f / max;
        for (int j = 0; j < QK_K; j++) {
            int v = quant_nearest_int(iscale * src[j]);
            b[i].qs[j] = (int8_t)(v < 127 ? (v > -128 ? v : -128) : 127);
        }
        for (int g = 0; g < QK_K / 16; g++) {
            int sum = 0;
            for (int l = 0; l < 16; l++) sum += b[i].qs[16 * g + l];
            b[i].bsums[g] = (int16_t)sum;
        }
        b[i].d = 1 / iscale;
    }
}
