/*
 * dot_k_scalar.c — scalar dot products of the K-quants and IQ4_XS against
 * Q8_K activations.
 *
 * The min terms use Q8_K's bsums (sums of 16 activation quants), so
 * sum(x * (sc*q - m)) = d_x * (sum(sc * q * qx) - sum(m * bsum)).
 *
 * The float rounding follows llama.cpp's x86 kernels (the ones behind the
 * goldens): Q3_K, Q5_K, Q6_K its AVX2 vec_dot lanes; Q4_K its repacked
 * q4_K_8x8 kernels, whose single-row and 4-row versions round differently
 * (q4_K_dot_scalar, q4_K_dot_x4_scalar); Q2_K likewise its repacked
 * q2_K_8x8 kernels; IQ4_XS its AVX2 vec_dot lanes, or for batches of 8 rows
 * or more its IQ panel gemm (iq4_xs_dot_panel_scalar).
 */
#include "kernels/dot_scalar.h"

#include <math.h>
#include <string.h>

#include "tensor/quant.h"

#define LANES 8

/* ------------------------------------------------------------------------
 * Q2_K, as llama.cpp's repacked q2_K_8x8 kernels (x86 with AVX-512)
 *
 * Two float chains per output: the exact integer sum of scale * q * q8,
 * FMA-scaled by d_w * d_x, and the exact integer sum of min * bsum,
 * FMA-scaled by dmin_w * d_x; the result is their difference. The 1-row
 * kernel advances the chains once per super-block, the 4-row kernel once
 * per 128 elements.
 * ---------------------------------------------------------------------- */

/* Integer sums of the 128 elements of half h of a super-block. */
static void q2_K_half(const block_q2_K *a, const block_q8_K *b, int h, int32_t *isum, int32_t *imin)
{
    const uint8_t *q2 = a->qs + 32 * h;
    int32_t sum = 0, mins = 0;
    for (int k = 0; k < 4; k++) {
        for (int sub = 0; sub < 2; sub++) {
            const int g = 8 * h + 2 * k + sub; /* group of 16 */
            const int8_t *q8 = b->qs + 16 * g;
            int gsum = 0;
            for (int l = 0; l < 16; l++) gsum += q8[l] * ((q2[16 * sub + l] >> (2 * k)) & 3);
            sum += (a->scales[g] & 0xf) * gsum;
            mins += (a->scales[g] >> 4) * b->bsums[g];
        }
    }
    *isum = sum;
    *imin = mins;
}

static void q2_K_dot_chunks(int64_t n, float *s, const void *w, const void *x, int per_half)
{
    const block_q2_K *a = w;
    const block_q8_K *b = x;
    float acc = 0, acc_min = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float d = fp16_to_fp32(a[i].d) * b[i].d, dmin = fp16_to_fp32(a[i].dmin) * b[i].d;
        int32_t isum[2], imin[2];
        for (int h = 0; h < 2; h++) q2_K_half(&a[i], &b[i], h, &isum[h], &imin[h]);
        q2_K_chain_step(isum, imin, d, dmin, per_half, &acc, &acc_min);
    }
    *s = acc - acc_min;
}

void q2_K_dot_scalar(int64_t n, float *s, const void *w, const void *x)
{
    q2_K_dot_chunks(n, s, w, x, 0);
}

void q2_K_dot_x4_scalar(int64_t n, float *s, const void *w, const void *x)
{
    q2_K_dot_chunks(n, s, w, x, 1);
}

/* ------------------------------------------------------------------------
 * Q3_K, Q6_K: 16 groups of 16 with signed scales
 * ---------------------------------------------------------------------- */

/* Lanes as in ggml's AVX2 kernel (see q6_K_dot_scalar). */
void q3_K_dot_scalar(int64_t n, float *s, const void *w, const void *x)
{
    const block_q3_K *a = w;
    const block_q8_K *b = x;
    float acc[LANES] = {0};
    for (int64_t i = 0; i < n / QK_K; i++) {
        int8_t sc[16];
        q3_K_scales(a[i].scales, sc);
        /* unpack the 3-bit values: element e = 128*h + 32*k + l sits in bit
         * pair k of qs[32*h + l], its high bit in bit 4*h + k of hmask[l] */
        int8_t q[QK_K];
        for (int h = 0; h < 2; h++)
            for (int k = 0; k < 4; k++)
                for (int l = 0; l < 32; l++) {
                    const int lo = (a[i].qs[32 * h + l] >> (2 * k)) & 3;
                    const int hi = (a[i].hmask[l] >> (4 * h + k)) & 1;
                    q[128 * h + 32 * k + l] = (int8_t)(lo - (hi ? 0 : 4));
                }
        int32_t isum[LANES] = {0};
        for (int e = 0; e < QK_K; e++) isum[(e % 32) / 4] += sc[e / 16] * (b[i].qs[e] * q[e]);
        const float d = b[i].d * fp16_to_fp32(a[i].d);
        for (int l = 0; l < LANES; l++) acc[l] = fmaf(d, (float)isum[l], acc[l]);
    }
    *s = scalar_hsum8(acc);
}

/* As ggml's AVX2 kernel: unsigned 6-bit values (0..63) against the
 * activations, with the -32 offset applied through Q8_K's bsums. Integer
 * lane l holds the elements e with (e % 32) / 4 == l, minus
 * 32 * (bsums[2l] sc[2l] + bsums[2l+1] sc[2l+1]); each lane is converted to
 * float and FMA-scaled into float lane l; hsum8 at the end. */
void q6_K_dot_scalar(int64_t n, float *s, const void *w, const void *x)
{
    const block_q6_K *a = w;
    const block_q8_K *b = x;
    float acc[LANES] = {0};
    for (int64_t i = 0; i < n / QK_K; i++) {
        uint8_t q[QK_K];
        const uint8_t *ql = a[i].ql, *qh = a[i].qh;
        for (int h = 0; h < QK_K; h += 128, ql += 64, qh += 32) {
            for (int l = 0; l < 32; l++) {
                q[h + l] = (uint8_t)((ql[l] & 0xf) | (((qh[l] >> 0) & 3) << 4));
                q[h + l + 32] = (uint8_t)((ql[l + 32] & 0xf) | (((qh[l] >> 2) & 3) << 4));
                q[h + l + 64] = (uint8_t)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4));
                q[h + l + 96] = (uint8_t)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4));
            }
        }
        int32_t isum[LANES] = {0};
        for (int e = 0; e < QK_K; e++) isum[(e % 32) / 4] += a[i].scales[e / 16] * (b[i].qs[e] * q[e]);
        for (int l = 0; l < LANES; l++)
            isum[l] -= 32 * (b[i].bsums[2 * l] * a[i].scales[2 * l] + b[i].bsums[2 * l + 1] * a[i].scales[2 * l + 1]);
        const float d = b[i].d * fp16_to_fp32(a[i].d);
        for (int l = 0; l < LANES; l++) acc[l] = fmaf(d, (float)isum[l], acc[l]);
    }
    *s = scalar_hsum8(acc);
}

/* ------------------------------------------------------------------------
 * Q4_K, Q5_K: 8 groups of 32 with 6-bit scales and mins
 * ---------------------------------------------------------------------- */

/* llama.cpp repacks Q4_K weights (q4_K_8x8, every x86 CPU with AVX2) and
 * its kernels keep, per output, two float chains over the super-blocks:
 * the exact integer sum of scale * q * q8 FMA-scaled by d_w * d_x, and the
 * exact integer sum of min * bsum FMA-scaled by dmin_w * d_x; the result is
 * their difference. */
void q4_K_dot_scalar(int64_t n, float *s, const void *w, const void *x)
{
    const block_q4_K *a = w;
    const block_q8_K *b = x;
    float acc = 0, acc_min = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        uint8_t sc[8], mn[8];
        for (int g = 0; g < 8; g++) q4_K_scale_min(g, a[i].scales, &sc[g], &mn[g]);
        int32_t isum = 0, imin = 0;
        for (int c = 0; c < QK_K / 64; c++) {
            const uint8_t *qs = a[i].qs + 32 * c;
            const int8_t *q8 = b[i].qs + 64 * c;
            int lo = 0, hi = 0;
            for (int l = 0; l < 32; l++) {
                lo += (qs[l] & 0xf) * q8[l];
                hi += (qs[l] >> 4) * q8[l + 32];
            }
            isum += sc[2 * c] * lo + sc[2 * c + 1] * hi;
        }
        for (int g = 0; g < 8; g++) imin += mn[g] * (b[i].bsums[2 * g] + b[i].bsums[2 * g + 1]);
        acc = fmaf((float)isum, fp16_to_fp32(a[i].d) * b[i].d, acc);
        acc_min = fmaf((float)imin, fp16_to_fp32(a[i].dmin) * b[i].d, acc_min);
    }
    *s = acc - acc_min;
}

/* The same product as llama.cpp's 4-row q4_K_8x8 gemm computes it (the
 * activation rows it takes in groups of 4): the float chains advance once
 * per 64 elements (a pair of sub-blocks) instead of once per super-block. */
void q4_K_dot_x4_scalar(int64_t n, float *s, const void *w, const void *x)
{
    const block_q4_K *a = w;
    const block_q8_K *b = x;
    float acc = 0, acc_min = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        uint8_t sc[8], mn[8];
        for (int g = 0; g < 8; g++) q4_K_scale_min(g, a[i].scales, &sc[g], &mn[g]);
        const float d = fp16_to_fp32(a[i].d) * b[i].d, dmin = fp16_to_fp32(a[i].dmin) * b[i].d;
        for (int c = 0; c < QK_K / 64; c++) {
            const uint8_t *qs = a[i].qs + 32 * c;
            const int8_t *q8 = b[i].qs + 64 * c;
            int lo = 0, hi = 0;
            for (int l = 0; l < 32; l++) {
                lo += (qs[l] & 0xf) * q8[l];
                hi += (qs[l] >> 4) * q8[l + 32];
            }
            const int32_t isum = sc[2 * c] * lo + sc[2 * c + 1] * hi;
            const int16_t *bs = b[i].bsums + 4 * c;
            const int32_t imin = mn[2 * c] * (bs[0] + bs[1]) + mn[2 * c + 1] * (bs[2] + bs[3]);
            acc = fmaf((float)isum, d, acc);
            acc_min = fmaf((float)imin, dmin, acc_min);
        }
    }
    *s = acc - acc_min;
}

/* As ggml's AVX2 kernel: integer lane l holds the elements e with
 * (e % 32) / 4 == l, FMA-scaled into float lane l per super-block; the min
 * terms are accumulated apart (-dmin times their integer sum, fused) and
 * added after hsum8. */
void q5_K_dot_scalar(int64_t n, float *s, const void *w, const void *x)
{
    const block_q5_K *a = w;
    const block_q8_K *b = x;
    float acc[LANES] = {0}, summs = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        uint8_t q[QK_K];
        for (int c = 0; c < QK_K / 64; c++) {
            const uint8_t *qs = a[i].qs + 32 * c;
            const uint8_t m1 = (uint8_t)(1u << (2 * c)), m2 = (uint8_t)(2u << (2 * c));
            for (int l = 0; l < 32; l++) {
                q[64 * c + l] = (uint8_t)((qs[l] & 0xf) + (a[i].qh[l] & m1 ? 16 : 0));
                q[64 * c + 32 + l] = (uint8_t)((qs[l] >> 4) + (a[i].qh[l] & m2 ? 16 : 0));
            }
        }
        uint8_t sc[8], mn[8];
        for (int g = 0; g < 8; g++) q4_K_scale_min(g, a[i].scales, &sc[g], &mn[g]);
        int mins = 0;
        for (int g = 0; g < 8; g++) mins += mn[g] * (b[i].bsums[2 * g] + b[i].bsums[2 * g + 1]);
        const float d = b[i].d * fp16_to_fp32(a[i].d);
        const float dmin = -b[i].d * fp16_to_fp32(a[i].dmin);
        summs = fmaf(dmin, (float)mins, summs);
        int32_t isum[LANES] = {0};
        for (int e = 0; e < QK_K; e++) isum[(e % 32) / 4] += sc[e / 32] * (b[i].qs[e] * q[e]);
        for (int l = 0; l < LANES; l++) acc[l] = fmaf(d, (float)isum[l], acc[l]);
    }
    *s = scalar_hsum8(acc) + summs;
}

/* ------------------------------------------------------------------------
 * IQ4_XS: the lanes of ggml's AVX2 kernel (see q6_K_dot_scalar)
 * ---------------------------------------------------------------------- */

void iq4_xs_dot_scalar(int64_t n, float *s, const void *w, const void *x)
{
    const block_iq4_xs *a = w;
    const block_q8_K *b = x;
    float acc[LANES] = {0};
    for (int64_t i = 0; i < n / QK_K; i++) {
        const uint8_t *qs = a[i].qs;
        const int8_t *q8 = b[i].qs;
        int32_t isum[LANES] = {0};
        for (int ib = 0; ib < QK_K / 32; ib++, qs += 16, q8 += 32) {
            const int ls = iq4_xs_scale(&a[i], ib);
            for (int l = 0; l < LANES; l++) {
                /* elements 4l..4l+3 of the group: low nibbles first, then high */
                int sumi = 0;
                for (int e = 4 * l; e < 4 * l + 4; e++)
                    sumi += q8[e] * iq4nl_values[e < 16 ? qs[e] & 0xf : qs[e - 16] >> 4];
                isum[l] += ls * sumi;
            }
        }
        const float d = fp16_to_fp32(a[i].d) * b[i].d;
        for (int l = 0; l < LANES; l++) acc[l] = fmaf(d, (float)isum[l], acc[l]);
    }
    *s = scalar_hsum8(acc);
}

/* The same product as llama.cpp's IQ panel gemm computes it (used for the
 * whole batch when it has 8 or more rows): one exact integer sum per
 * super-block, FMA-scaled by d_w * d_x into a single float chain. */
void iq4_xs_dot_panel_scalar(int64_t n, float *s, const void *w, const void *x)
{
    const block_iq4_xs *a = w;
    const block_q8_K *b = x;
    float acc = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const uint8_t *qs = a[i].qs;
        const int8_t *q8 = b[i].qs;
        int32_t isum = 0;
        for (int ib = 0; ib < QK_K / 32; ib++, qs += 16, q8 += 32) {
            int sumi = 0;
            for (int j = 0; j < 16; j++)
                sumi += q8[j] * iq4nl_values[qs[j] & 0xf] + q8[j + 16] * iq4nl_values[qs[j] >> 4];
            isum += iq4_xs_scale(&a[i], ib) * sumi;
        }
        acc = fmaf((float)isum, fp16_to_fp32(a[i].d) * b[i].d, acc);
    }
    *s = acc;
}
