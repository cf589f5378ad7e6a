/*
 * dot_neon_blocks.h — the AArch64 block-type dot products and their kernel
 * table, written once and compiled twice: included by dot_neon.c (baseline)
 * and dot_dotprod.c (SDOT), each of which first defines
 *   static inline int32x4_t dot4(int32x4_t acc, int8x16_t a, int8x16_t b);
 *     (acc lane l += a[4l..4l+3] . b[4l..4l+3], exact)
 *   NEON_SUFFIX (neon / dotprod: names the functions and the table).
 *
 * Each kernel repeats its scalar reference's float steps exactly; lanes of
 * the 8-lane types are two float32x4 (lo: lanes 0-3, hi: lanes 4-7). The
 * 8-lane types put elements 4l..4l+3 of every 32 into lane l: dot4 of the
 * first 16 elements of a 32 gives lanes 0-3, of the last 16 lanes 4-7.
 */
#ifndef NEON_SUFFIX
#error "define NEON_SUFFIX and dot4 before including dot_neon_blocks.h"
#endif

#include "kernels/dot_fp8.h"
#include "kernels/dot_i8.h"
#include "kernels/simd_neon.h"

#define NEON_CAT2(a, b) a##_##b
#define NEON_CAT(a, b) NEON_CAT2(a, b)
#define NFN(name) NEON_CAT(name, NEON_SUFFIX)
#define NEON_STR2(a) #a
#define NEON_STR(a) NEON_STR2(a)

/* ------------------------------------------------------------------------
 * Helpers that use dot4 (the others: simd_neon.h)
 * ---------------------------------------------------------------------- */

/* Sum of all 16 products a[i] * b[i] (exact). */
static inline int32_t dot16(int8x16_t a, int8x16_t b)
{
    return vaddvq_s32(dot4(vdupq_n_s32(0), a, b));
}

/* ------------------------------------------------------------------------
 * 32-element blocks against Q8_0 / Q8_1
 * ---------------------------------------------------------------------- */

/* One float chain: sumf = fmaf(block sum, d_w * d_x, sumf). */
static void NFN(q4_0_dot)(int64_t n, float *s, const void *w, const void *x)
{
    const block_q4_0 *a = w;
    const block_q8_0 *b = x;
    const int8x16_t eight = vdupq_n_s8(8);
    float sumf = 0;
    for (int64_t i = 0; i < n / QK8_0; i++) {
        const uint8x16_t q = vld1q_u8(a[i].qs);
        int32x4_t acc = dot4(vdupq_n_s32(0), vsubq_s8(neon_low_nibbles(q), eight), vld1q_s8(b[i].qs));
        acc = dot4(acc, vsubq_s8(neon_high_nibbles(q), eight), vld1q_s8(b[i].qs + 16));
        sumf = fmaf((float)vaddvq_s32(acc), fp16_to_fp32(a[i].d) * fp16_to_fp32(b[i].d), sumf);
    }
    *s = sumf;
}

static void NFN(iq4_nl_dot)(int64_t n, float *s, const void *w, const void *x)
{
    const block_iq4_nl *a = w;
    const block_q8_0 *b = x;
    const int8x16_t values = vld1q_s8(iq4nl_values);
    float sumf = 0;
    for (int64_t i = 0; i < n / QK4_NL; i++) {
        int8x16_t lo, hi;
        neon_iq4nl_values(a[i].qs, values, &lo, &hi);
        int32x4_t acc = dot4(vdupq_n_s32(0), lo, vld1q_s8(b[i].qs));
        acc = dot4(acc, hi, vld1q_s8(b[i].qs + 16));
        const float d = fp16_to_fp32(b[i].d) * fp16_to_fp32(a[i].d);
        sumf = fmaf((float)vaddvq_s32(acc), d, sumf);
    }
    *s = sumf;
}

/* 8 lanes: block values v (elements 0..15 in v0, 16..31 in v1). */
static inline void lanes8_fma(float32x4_t acc[2], int8x16_t v0, int8x16_t v1, const int8_t *y, float d)
{
    acc[0] = neon_fma_lanes(acc[0], dot4(vdupq_n_s32(0), v0, vld1q_s8(y)), d);
    acc[1] = neon_fma_lanes(acc[1], dot4(vdupq_n_s32(0), v1, vld1q_s8(y + 16)), d);
}

static void NFN(q8_0_dot)(int64_t n, float *s, const void *w, const void *x)
{
    const block_q8_0 *a = w;
    const block_q8_0 *b = x;
    float32x4_t acc[2] = {vdupq_n_f32(0), vdupq_n_f32(0)};
    for (int64_t i = 0; i < n / QK8_0; i++)
        lanes8_fma(acc, vld1q_s8(a[i].qs), vld1q_s8(a[i].qs + 16), b[i].qs,
                   fp16_to_fp32(a[i].d) * fp16_to_fp32(b[i].d));
    *s = neon_hsum8(acc[0], acc[1]);
}

static void NFN(q4_1_dot)(int64_t n, float *s, const void *w, const void *x)
{
    const block_q4_1 *a = w;
    const block_q8_1 *b = x;
    float32x4_t acc[2] = {vdupq_n_f32(0), vdupq_n_f32(0)};
    float summs = 0;
    for (int64_t i = 0; i < n / QK8_1; i++) {
        summs = fmaf(fp16_to_fp32(a[i].m), fp16_to_fp32(b[i].s), summs);
        const uint8x16_t q = vld1q_u8(a[i].qs);
        lanes8_fma(acc, neon_low_nibbles(q), neon_high_nibbles(q), b[i].qs,
                   fp16_to_fp32(a[i].d) * fp16_to_fp32(b[i].d));
    }
    *s = neon_hsum8(acc[0], acc[1]) + summs;
}

/* Q5 values: nibble | fifth bit << 4, minus offset. */
static inline void unpack_q5(const uint8_t qs[16], const uint8_t qh[4], int offset, int8x16_t *v0,
                             int8x16_t *v1)
{
    const uint8x16_t q = vld1q_u8(qs);
    const int8x16_t off = vdupq_n_s8((int8_t)offset);
    *v0 = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(vandq_u8(q, vdupq_n_u8(0xf)), neon_bit4_from_bits(qh[0], qh[1]))), off);
    *v1 = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(q, 4), neon_bit4_from_bits(qh[2], qh[3]))), off);
}

static void NFN(q5_0_dot)(int64_t n, float *s, const void *w, const void *x)
{
    const block_q5_0 *a = w;
    const block_q8_0 *b = x;
    float32x4_t acc[2] = {vdupq_n_f32(0), vdupq_n_f32(0)};
    for (int64_t i = 0; i < n / QK8_0; i++) {
        int8x16_t v0, v1;
        unpack_q5(a[i].qs, a[i].qh, 16, &v0, &v1);
        lanes8_fma(acc, v0, v1, b[i].qs, fp16_to_fp32(a[i].d) * fp16_to_fp32(b[i].d));
    }
    *s = neon_hsum8(acc[0], acc[1]);
}

static void NFN(q5_1_dot)(int64_t n, float *s, const void *w, const void *x)
{
    const block_q5_1 *a = w;
    const block_q8_1 *b = x;
    float32x4_t acc[2] = {vdupq_n_f32(0), vdupq_n_f32(0)};
    float summs = 0;
    for (int64_t i = 0; i < n / QK8_1; i++) {
        summs = fmaf(fp16_to_fp32(a[i].m), fp16_to_fp32(b[i].s), summs);
        int8x16_t v0, v1;
        unpack_q5(a[i].qs, a[i].qh, 0, &v0, &v1);
        lanes8_fma(acc, v0, v1, b[i].qs, fp16_to_fp32(a[i].d) * fp16_to_fp32(b[i].d));
    }
    *s = neon_hsum8(acc[0], acc[1]) + summs;
}

/* ------------------------------------------------------------------------
 * Q2_K, Q4_K: exact integer sums per chunk, the reference's scalar chains
 * ---------------------------------------------------------------------- */

/* Q2_K half h (128 elements): sum of scale * q * q8 and of min * bsum. */
static inline void NFN(q2_K_half)(const block_q2_K *a, const block_q8_K *b, int h, int32_t *isum,
                                  int32_t *imin)
{
    const uint8x16_t q2[2] = {vld1q_u8(a->qs + 32 * h), vld1q_u8(a->qs + 32 * h + 16)};
    const uint8x16_t three = vdupq_n_u8(3);
    int32_t sum = 0, mins = 0;
    for (int k = 0; k < 4; k++) {
        const int8x16_t shift = vdupq_n_s8((int8_t)(-2 * k));
        for (int sub = 0; sub < 2; sub++) {
            const int g = 8 * h + 2 * k + sub;
            const int8x16_t q = vreinterpretq_s8_u8(vandq_u8(vshlq_u8(q2[sub], shift), three));
            sum += (a->scales[g] & 0xf) * dot16(q, vld1q_s8(b->qs + 16 * g));
            mins += (a->scales[g] >> 4) * b->bsums[g];
        }
    }
    *isum = sum;
    *imin = mins;
}

static inline void NFN(q2_K_chunks)(int64_t n, float *s, const void *w, const void *x, int per_half)
{
    const block_q2_K *a = w;
    const block_q8_K *b = x;
    float acc = 0, acc_min = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float d = fp16_to_fp32(a[i].d) * b[i].d, dmin = fp16_to_fp32(a[i].dmin) * b[i].d;
        int32_t isum[2], imin[2];
        for (int h = 0; h < 2; h++) NFN(q2_K_half)(&a[i], &b[i], h, &isum[h], &imin[h]);
        q2_K_chain_step(isum, imin, d, dmin, per_half, &acc, &acc_min);
    }
    *s = acc - acc_min;
}

static void NFN(q2_K_dot)(int64_t n, float *s, const void *w, const void *x)
{
    NFN(q2_K_chunks)(n, s, w, x, 0);
}

static void NFN(q2_K_dot_x4)(int64_t n, float *s, const void *w, const void *x)
{
    NFN(q2_K_chunks)(n, s, w, x, 1);
}

/* Q4_K 64-element chunk c: sums of low-nibble and high-nibble products. */
static inline void q4_K_chunk(const block_q4_K *a, const block_q8_K *b, int c, int32_t *lo, int32_t *hi)
{
    const uint8_t *qs = a->qs + 32 * c;
    const int8_t *q8 = b->qs + 64 * c;
    const uint8x16_t q0 = vld1q_u8(qs), q1 = vld1q_u8(qs + 16);
    int32x4_t l = dot4(vdupq_n_s32(0), neon_low_nibbles(q0), vld1q_s8(q8));
    l = dot4(l, neon_low_nibbles(q1), vld1q_s8(q8 + 16));
    int32x4_t h = dot4(vdupq_n_s32(0), neon_high_nibbles(q0), vld1q_s8(q8 + 32));
    h = dot4(h, neon_high_nibbles(q1), vld1q_s8(q8 + 48));
    *lo = vaddvq_s32(l);
    *hi = vaddvq_s32(h);
}

static void NFN(q4_K_dot)(int64_t n, float *s, const void *w, const void *x)
{
    const block_q4_K *a = w;
    const block_q8_K *b = x;
    float acc = 0, acc_min = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        uint8_t sc[8], mn[8];
        for (int g = 0; g < 8; g++) q4_K_scale_min(g, a[i].scales, &sc[g], &mn[g]);
        int32_t isum = 0, imin = 0;
        for (int c = 0; c < QK_K / 64; c++) {
            int32_t lo, hi;
            q4_K_chunk(&a[i], &b[i], c, &lo, &hi);
            isum += sc[2 * c] * lo + sc[2 * c + 1] * hi;
        }
        for (int g = 0; g < 8; g++) imin += mn[g] * (b[i].bsums[2 * g] + b[i].bsums[2 * g + 1]);
        acc = fmaf((float)isum, fp16_to_fp32(a[i].d) * b[i].d, acc);
        acc_min = fmaf((float)imin, fp16_to_fp32(a[i].dmin) * b[i].d, acc_min);
    }
    *s = acc - acc_min;
}

static void NFN(q4_K_dot_x4)(int64_t n, float *s, const void *w, const void *x)
{
    const block_q4_K *a = w;
    const block_q8_K *b = x;
    float acc = 0, acc_min = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        uint8_t sc[8], mn[8];
        for (int g = 0; g < 8; g++) q4_K_scale_min(g, a[i].scales, &sc[g], &mn[g]);
        const float d = fp16_to_fp32(a[i].d) * b[i].d, dmin = fp16_to_fp32(a[i].dmin) * b[i].d;
        for (int c = 0; c < QK_K / 64; c++) {
            int32_t lo, hi;
            q4_K_chunk(&a[i], &b[i], c, &lo, &hi);
            const int32_t isum = sc[2 * c] * lo + sc[2 * c + 1] * hi;
            const int16_t *bs = b[i].bsums + 4 * c;
            const int32_t imin = mn[2 * c] * (bs[0] + bs[1]) + mn[2 * c + 1] * (bs[2] + bs[3]);
            acc = fmaf((float)isum, d, acc);
            acc_min = fmaf((float)imin, dmin, acc_min);
        }
    }
    *s = acc - acc_min;
}

/* ------------------------------------------------------------------------
 * Q3_K, Q5_K, Q6_K, IQ4_XS: the 8 lanes of ggml's AVX2 kernels
 *
 * Integer lane l of a super-block sums, over its 32-element chunks, the
 * group scale times the products of chunk elements 4l..4l+3 (lanes 0-3
 * from the first 16 elements of a chunk, 4-7 from the last 16).
 * ---------------------------------------------------------------------- */

/* isum[0..1] += scale0 * dot4(v0, y[0..16)), scale1 * dot4(v1, y[16..32)) */
static inline void chunk_lanes(int32x4_t isum[2], int8x16_t v0, int8x16_t v1, const int8_t *y,
                               int scale0, int scale1)
{
    isum[0] = vmlaq_n_s32(isum[0], dot4(vdupq_n_s32(0), v0, vld1q_s8(y)), scale0);
    isum[1] = vmlaq_n_s32(isum[1], dot4(vdupq_n_s32(0), v1, vld1q_s8(y + 16)), scale1);
}

static void NFN(q3_K_dot)(int64_t n, float *s, const void *w, const void *x)
{
    const block_q3_K *a = w;
    const block_q8_K *b = x;
    float32x4_t acc[2] = {vdupq_n_f32(0), vdupq_n_f32(0)};
    const uint8x16_t three = vdupq_n_u8(3), four = vdupq_n_u8(4);
    for (int64_t i = 0; i < n / QK_K; i++) {
        int8_t sc[16];
        q3_K_scales(a[i].scales, sc);
        const uint8x16_t hm[2] = {vld1q_u8(a[i].hmask), vld1q_u8(a[i].hmask + 16)};
        int32x4_t isum[2] = {vdupq_n_s32(0), vdupq_n_s32(0)};
        for (int h = 0; h < 2; h++) {
            const uint8x16_t q2[2] = {vld1q_u8(a[i].qs + 32 * h), vld1q_u8(a[i].qs + 32 * h + 16)};
            for (int k = 0; k < 4; k++) {
                /* element 128h + 32k + l: bit pair k of qs[32h + l], minus 4
                 * where bit 4h + k of hmask[l] is clear */
                const int8x16_t shift = vdupq_n_s8((int8_t)(-2 * k));
                const uint8x16_t hbit = vdupq_n_u8((uint8_t)(1u << (4 * h + k)));
                int8x16_t v[2];
                for (int j = 0; j < 2; j++) {
                    const uint8x16_t lo = vandq_u8(vshlq_u8(q2[j], shift), three);
                    const uint8x16_t sub = vbicq_u8(four, vtstq_u8(hm[j], hbit));
                    v[j] = vsubq_s8(vreinterpretq_s8_u8(lo), vreinterpretq_s8_u8(sub));
                }
                const int g = 8 * h + 2 * k;
                chunk_lanes(isum, v[0], v[1], b[i].qs + 128 * h + 32 * k, sc[g], sc[g + 1]);
            }
        }
        const float d = b[i].d * fp16_to_fp32(a[i].d);
        neon_fma_lanes8(acc, isum, d);
    }
    *s = neon_hsum8(acc[0], acc[1]);
}

/* Unsigned 6-bit values; lane l then loses 32 * (bsums[2l] sc[2l] +
 * bsums[2l+1] sc[2l+1]), as the reference applies the -32 offset. */
static void NFN(q6_K_dot)(int64_t n, float *s, const void *w, const void *x)
{
    const block_q6_K *a = w;
    const block_q8_K *b = x;
    float32x4_t acc[2] = {vdupq_n_f32(0), vdupq_n_f32(0)};
    const uint8x16_t m4 = vdupq_n_u8(0xf), m3 = vdupq_n_u8(3);
    for (int64_t i = 0; i < n / QK_K; i++) {
        const int8_t *sc = a[i].scales;
        int32x4_t isum[2] = {vdupq_n_s32(0), vdupq_n_s32(0)};
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = a[i].ql + 64 * h, *qh = a[i].qh + 32 * h;
            for (int j = 0; j < 2; j++) { /* 16-element halves of each 32 */
                const uint8x16_t l0 = vld1q_u8(ql + 16 * j), l1 = vld1q_u8(ql + 32 + 16 * j);
                const uint8x16_t hb = vld1q_u8(qh + 16 * j);
                /* chunks k = 0..3 of the half: elements 128h + 32k + 16j + l */
                const uint8x16_t q[4] = {
                    vorrq_u8(vandq_u8(l0, m4), vshlq_n_u8(vandq_u8(hb, m3), 4)),
                    vorrq_u8(vandq_u8(l1, m4), vshlq_n_u8(vandq_u8(vshrq_n_u8(hb, 2), m3), 4)),
                    vorrq_u8(vshrq_n_u8(l0, 4), vshlq_n_u8(vandq_u8(vshrq_n_u8(hb, 4), m3), 4)),
                    vorrq_u8(vshrq_n_u8(l1, 4), vshlq_n_u8(vshrq_n_u8(hb, 6), 4)),
                };
                for (int k = 0; k < 4; k++) {
                    const int e = 128 * h + 32 * k + 16 * j;
                    const int32x4_t p = dot4(vdupq_n_s32(0), vreinterpretq_s8_u8(q[k]), vld1q_s8(b[i].qs + e));
                    isum[j] = vmlaq_n_s32(isum[j], p, sc[e / 16]);
                }
            }
        }
        int32_t corr[8];
        for (int l = 0; l < 8; l++)
            corr[l] = 32 * (b[i].bsums[2 * l] * sc[2 * l] + b[i].bsums[2 * l + 1] * sc[2 * l + 1]);
        isum[0] = vsubq_s32(isum[0], vld1q_s32(corr));
        isum[1] = vsubq_s32(isum[1], vld1q_s32(corr + 4));
        const float d = b[i].d * fp16_to_fp32(a[i].d);
        neon_fma_lanes8(acc, isum, d);
    }
    *s = neon_hsum8(acc[0], acc[1]);
}

/* The min terms are summed apart (-dmin times their integer sum, fused)
 * and added after the lanes. */
static void NFN(q5_K_dot)(int64_t n, float *s, const void *w, const void *x)
{
    const block_q5_K *a = w;
    const block_q8_K *b = x;
    float32x4_t acc[2] = {vdupq_n_f32(0), vdupq_n_f32(0)};
    float summs = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        uint8_t sc[8], mn[8];
        for (int g = 0; g < 8; g++) q4_K_scale_min(g, a[i].scales, &sc[g], &mn[g]);
        int mins = 0;
        for (int g = 0; g < 8; g++) mins += mn[g] * (b[i].bsums[2 * g] + b[i].bsums[2 * g + 1]);
        const float d = b[i].d * fp16_to_fp32(a[i].d);
        const float dmin = -b[i].d * fp16_to_fp32(a[i].dmin);
        summs = fmaf(dmin, (float)mins, summs);
        const uint8x16_t qh[2] = {vld1q_u8(a[i].qh), vld1q_u8(a[i].qh + 16)};
        const uint8x16_t sixteen = vdupq_n_u8(16);
        int32x4_t isum[2] = {vdupq_n_s32(0), vdupq_n_s32(0)};
        for (int c = 0; c < QK_K / 64; c++) {
            const uint8x16_t q[2] = {vld1q_u8(a[i].qs + 32 * c), vld1q_u8(a[i].qs + 32 * c + 16)};
            const uint8x16_t m1 = vdupq_n_u8((uint8_t)(1u << (2 * c))), m2 = vdupq_n_u8((uint8_t)(2u << (2 * c)));
            int8x16_t lo[2], hi[2];
            for (int j = 0; j < 2; j++) {
                lo[j] = vreinterpretq_s8_u8(vorrq_u8(vandq_u8(q[j], vdupq_n_u8(0xf)),
                                                     vandq_u8(vtstq_u8(qh[j], m1), sixteen)));
                hi[j] = vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(q[j], 4), vandq_u8(vtstq_u8(qh[j], m2), sixteen)));
            }
            chunk_lanes(isum, lo[0], lo[1], b[i].qs + 64 * c, sc[2 * c], sc[2 * c]);
            chunk_lanes(isum, hi[0], hi[1], b[i].qs + 64 * c + 32, sc[2 * c + 1], sc[2 * c + 1]);
        }
        neon_fma_lanes8(acc, isum, d);
    }
    *s = neon_hsum8(acc[0], acc[1]) + summs;
}

static void NFN(iq4_xs_dot)(int64_t n, float *s, const void *w, const void *x)
{
    const block_iq4_xs *a = w;
    const block_q8_K *b = x;
    const int8x16_t values = vld1q_s8(iq4nl_values);
    float32x4_t acc[2] = {vdupq_n_f32(0), vdupq_n_f32(0)};
    for (int64_t i = 0; i < n / QK_K; i++) {
        int32x4_t isum[2] = {vdupq_n_s32(0), vdupq_n_s32(0)};
        for (int ib = 0; ib < QK_K / 32; ib++) {
            int8x16_t v0, v1;
            neon_iq4nl_values(a[i].qs + 16 * ib, values, &v0, &v1);
            const int ls = iq4_xs_scale(&a[i], ib);
            chunk_lanes(isum, v0, v1, b[i].qs + 32 * ib, ls, ls);
        }
        const float d = fp16_to_fp32(a[i].d) * b[i].d;
        neon_fma_lanes8(acc, isum, d);
    }
    *s = neon_hsum8(acc[0], acc[1]);
}

/* The panel order: one integer sum per super-block, one float chain. */
static void NFN(iq4_xs_dot_panel)(int64_t n, float *s, const void *w, const void *x)
{
    const block_iq4_xs *a = w;
    const block_q8_K *b = x;
    const int8x16_t values = vld1q_s8(iq4nl_values);
    float acc = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        int32_t isum = 0;
        for (int ib = 0; ib < QK_K / 32; ib++) {
            int8x16_t v0, v1;
            neon_iq4nl_values(a[i].qs + 16 * ib, values, &v0, &v1);
            const int8_t *q8 = b[i].qs + 32 * ib;
            const int32_t sumi = vaddvq_s32(dot4(dot4(vdupq_n_s32(0), v0, vld1q_s8(q8)), v1, vld1q_s8(q8 + 16)));
            isum += iq4_xs_scale(&a[i], ib) * sumi;
        }
        acc = fmaf((float)isum, fp16_to_fp32(a[i].d) * b[i].d, acc);
    }
    *s = acc;
}

/* ------------------------------------------------------------------------
 * The table: the same slots as the scalar table (batch_dot's choices
 * depend on which are filled), so matmul rounds as the reference does.
 * ---------------------------------------------------------------------- */

static const kernel_ops NFN(ops) = {
    .isa = NEON_STR(NEON_SUFFIX),
    .vec_dot = {
        [GGML_TYPE_F32] = f32_dot_neon,
        [GGML_TYPE_F16] = f16_dot_neon,
        [GGML_TYPE_BF16] = bf16_dot_neon,
        [MOTE_TYPE_FP8] = fp8_dot_neon,
        [GGML_TYPE_Q4_0] = NFN(q4_0_dot),
        [GGML_TYPE_Q4_1] = NFN(q4_1_dot),
        [GGML_TYPE_Q5_0] = NFN(q5_0_dot),
        [GGML_TYPE_Q5_1] = NFN(q5_1_dot),
        [GGML_TYPE_Q8_0] = NFN(q8_0_dot),
        [GGML_TYPE_IQ4_NL] = NFN(iq4_nl_dot),
        [GGML_TYPE_Q2_K] = NFN(q2_K_dot),
        [GGML_TYPE_Q3_K] = NFN(q3_K_dot),
        [GGML_TYPE_Q4_K] = NFN(q4_K_dot),
        [GGML_TYPE_Q5_K] = NFN(q5_K_dot),
        [GGML_TYPE_Q6_K] = NFN(q6_K_dot),
        [GGML_TYPE_IQ4_XS] = NFN(iq4_xs_dot),
    },
    .vec_dot_x4 = {
        [GGML_TYPE_Q2_K] = NFN(q2_K_dot_x4),
        [GGML_TYPE_Q4_K] = NFN(q4_K_dot_x4),
    },
    .vec_dot_b2 = {
        [GGML_TYPE_F32] = f32_dot_batch_neon,
        [GGML_TYPE_F16] = f16_dot_batch_neon,
        [GGML_TYPE_BF16] = bf16_dot_batch_neon,
    },
    .vec_dot_b8 = {
        [GGML_TYPE_IQ4_XS] = NFN(iq4_xs_dot_panel),
    },
    .vec_dot4 = {
        [MOTE_TYPE_FP8] = fp8_dot4_neon,
    },
    .quantize = {
        [GGML_TYPE_F32] = f32_quantize,
        [GGML_TYPE_F16] = f16_quantize_neon,
        [GGML_TYPE_BF16] = bf16_quantize,
        [GGML_TYPE_Q8_0] = q8_0_quantize_neon,
        [GGML_TYPE_Q8_1] = q8_1_quantize_neon,
        [GGML_TYPE_Q8_K] = q8_K_quantize_neon,
    },
    .i8_rows = NFN(i8_dot_rows),
    .attn_chunk = {
        [GGML_TYPE_F16] = attn_chunk_f16_neon,
        [GGML_TYPE_Q8_0] = attn_chunk_q8_0_neon,
    },
};

const kernel_ops *NEON_CAT(kernels, NEON_SUFFIX)(void)
{
    return &NFN(ops);
}
