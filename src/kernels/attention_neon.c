/*
 * attention_neon.c — the AArch64 tables' streaming attention kernels
 * (attention.h), baseline Advanced SIMD: 4 float lanes, F16 widened with
 * FCVTL, exp a vector polynomial (exp4, the one of simd_avx512.h).
 *
 * As in attention_avx512.c, up to ATTN_GMAX queries (a token's heads) walk
 * each K row once for all of them, one horizontal sum per score (head
 * dimensions that are a multiple of 8); more queries (a prompt batch's
 * tokens) take the wide body, which widens and transposes each K tile
 * once, forms 16 scores of a query with broadcast FMAs and no horizontal
 * sums, and reuses the widened V tile for every query (multiples of 16 up
 * to WIDE_HD_MAX). Other head dimensions go to the reference kernels.
 */
#if defined(__aarch64__)

#include <arm_neon.h>
#include <math.h>
#include <string.h>

#include "gguf/ggml_type.h"
#include "kernels/attention.h"
#include "kernels/dot_neon.h"
#include "tensor/quant.h"

#define INLINE static inline __attribute__((always_inline))

_Static_assert(ATTN_TILE == 32, "the tile is eight vectors of 4 scores");

#define WIDE_HD_MAX 256 /* largest head dimension of the wide body (tile buffers on the stack) */
#define WIDE_Q 4        /* queries whose scores are formed together */

/* Elements c..c+3 of a cache row as floats (c % 4 == 0). */
INLINE float32x4_t load4(uint32_t type, const void *row, int c)
{
    if (type == GGML_TYPE_F16) return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16((const mote_f16 *)row + c)));
    const block_q8_0 *b = (const block_q8_0 *)row + c / QK8_0;
    int32_t w;
    memcpy(&w, b->qs + c % QK8_0, sizeof w); /* 4 bytes: never past the row */
    const int16x8_t h = vmovl_s8(vreinterpret_s8_s32(vdup_n_s32(w)));
    return vmulq_n_f32(vcvtq_f32_s32(vmovl_s16(vget_low_s16(h))), fp16_to_fp32(b->d));
}

/* e^x for x <= 0: avx512_exp_n's polynomial, 2^n built in the exponent
 * bits; x is clamped at -87 (n >= -126), so lanes of -inf give e^-87,
 * which the callers mask to 0. */
INLINE float32x4_t exp4(float32x4_t x)
{
    x = vmaxq_f32(x, vdupq_n_f32(-87.0f));
    const float32x4_t n = vrndnq_f32(vmulq_n_f32(x, 0x1.715476p+0f));
    const float32x4_t b = vfmsq_f32(vfmsq_f32(x, n, vdupq_n_f32(0x1.62e4p-1f)), n, vdupq_n_f32(0x1.7f7d1cp-20f));
    const float32x4_t u = vmulq_f32(b, b);
    const float32x4_t p5 = vfmaq_f32(vdupq_n_f32(0x1.573e2ep-5f), vdupq_n_f32(0x1.0e4020p-7f), b);
    const float32x4_t p3 = vfmaq_f32(vdupq_n_f32(0x1.fffdb6p-2f), vdupq_n_f32(0x1.555e66p-3f), b);
    const float32x4_t p1 = vfmaq_f32(vdupq_n_f32(1.0f), vdupq_n_f32(0x1.ffffecp-1f), b);
    const float32x4_t two_n =
        vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23));
    return vmulq_f32(vfmaq_f32(p1, vfmaq_f32(p3, p5, u), u), two_n);
}

/* One query's online-softmax step over a tile of 32 scores s[0..7] (lanes
 * of positions >= nt ignored): updates *m and *l, leaves the weights in p
 * (0 past nt) and returns the factor for what was accumulated before. */
INLINE float softmax_tile(float32x4_t s[8], int nt, float *m, float *l, float *p)
{
    static const int32_t lane[4] = {0, 1, 2, 3};
    const float32x4_t ninf = vdupq_n_f32(-INFINITY);
    uint32x4_t ok[8];
    float32x4_t mx4 = ninf;
    for (int w = 0; w < 8; w++) {
        ok[w] = vcltq_s32(vaddq_s32(vld1q_s32(lane), vdupq_n_s32(4 * w)), vdupq_n_s32(nt));
        s[w] = vbslq_f32(ok[w], s[w], ninf);
        mx4 = vmaxq_f32(mx4, s[w]);
    }
    const float tmax = vmaxvq_f32(mx4);
    const float mx = tmax > *m ? tmax : *m;
    const float corr = attn_rescale(*m, mx);
    const float32x4_t mv = vdupq_n_f32(mx);
    float32x4_t sum = vdupq_n_f32(0.0f);
    for (int w = 0; w < 8; w++) {
        const float32x4_t e = vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(exp4(vsubq_f32(s[w], mv))), ok[w]));
        vst1q_f32(p + 4 * w, e);
        sum = vaddq_f32(sum, e);
    }
    *l = *l * corr + vaddvq_f32(sum);
    *m = mx;
    return corr;
}

/* ------------------------------------------------------------------------
 * Narrow body: a token's heads, one pass over each K row for all of them
 * ---------------------------------------------------------------------- */

INLINE void chunk_body(uint32_t type, const int G, const float *q, int64_t q_stride, const char *k, const char *v,
                       size_t row_bytes, int n, int hd, float scale, float *part)
{
    const size_t ps = attn_part_stride(hd);
    float m[ATTN_GMAX], l[ATTN_GMAX], corr[ATTN_GMAX];
    float p[ATTN_GMAX][ATTN_TILE] __attribute__((aligned(16)));
    attn_part_start(part, G, hd, m, l);
    for (int i0 = 0; i0 < n; i0 += ATTN_TILE) {
        const int nt = n - i0 < ATTN_TILE ? n - i0 : ATTN_TILE;
        for (int i = 0; i < nt; i++) {
            const char *kr = k + (size_t)(i0 + i) * row_bytes;
            float32x4_t d0[ATTN_GMAX], d1[ATTN_GMAX];
#pragma GCC unroll 8
            for (int j = 0; j < G; j++) d0[j] = d1[j] = vdupq_n_f32(0.0f);
            for (int c = 0; c < hd; c += 8) {
                const float32x4_t k0 = load4(type, kr, c), k1 = load4(type, kr, c + 4);
#pragma GCC unroll 8
                for (int j = 0; j < G; j++) {
                    d0[j] = vfmaq_f32(d0[j], vld1q_f32(q + j * q_stride + c), k0);
                    d1[j] = vfmaq_f32(d1[j], vld1q_f32(q + j * q_stride + c + 4), k1);
                }
            }
#pragma GCC unroll 8
            for (int j = 0; j < G; j++) p[j][i] = vaddvq_f32(vaddq_f32(d0[j], d1[j])) * scale;
        }
        for (int j = 0; j < G; j++) {
            float32x4_t s[8];
            for (int w = 0; w < 8; w++) s[w] = vld1q_f32(p[j] + 4 * w); /* lanes past nt: ignored */
            corr[j] = softmax_tile(s, nt, &m[j], &l[j], p[j]);
        }
        for (int c = 0; c < hd; c += 8) {
            float32x4_t a0[ATTN_GMAX], a1[ATTN_GMAX];
#pragma GCC unroll 8
            for (int j = 0; j < G; j++) {
                a0[j] = vmulq_n_f32(vld1q_f32(part + j * ps + c), corr[j]);
                a1[j] = vmulq_n_f32(vld1q_f32(part + j * ps + c + 4), corr[j]);
            }
            for (int i = 0; i < nt; i++) {
                const char *vr = v + (size_t)(i0 + i) * row_bytes;
                const float32x4_t v0 = load4(type, vr, c), v1 = load4(type, vr, c + 4);
#pragma GCC unroll 8
                for (int j = 0; j < G; j++) {
                    a0[j] = vfmaq_n_f32(a0[j], v0, p[j][i]);
                    a1[j] = vfmaq_n_f32(a1[j], v1, p[j][i]);
                }
            }
#pragma GCC unroll 8
            for (int j = 0; j < G; j++) {
                vst1q_f32(part + j * ps + c, a0[j]);
                vst1q_f32(part + j * ps + c + 4, a1[j]);
            }
        }
    }
    attn_part_close(part, G, hd, m, l);
}

/* ------------------------------------------------------------------------
 * Wide body: many queries against one widened, transposed K tile
 * ---------------------------------------------------------------------- */

/* Q queries over one tile: kt[d * ATTN_TILE + i] is element d of key i,
 * vt[i * hd + d] of value i (nt rows); m, l, acc as in chunk_body. */
INLINE void wide_tile(const int Q, const float *q, int64_t q_stride, const float *kt, const float *vt, int nt,
                      int hd, float scale, float *m, float *l, float *acc, size_t ps)
{
    float p[WIDE_Q][ATTN_TILE] __attribute__((aligned(16)));
    float corr[WIDE_Q];
    float32x4_t s[WIDE_Q][8];
    /* scores, 16 positions at a time (16 accumulators) */
    for (int h = 0; h < 2; h++) {
        float32x4_t a[WIDE_Q][4];
#pragma GCC unroll 4
        for (int j = 0; j < Q; j++)
            for (int w = 0; w < 4; w++) a[j][w] = vdupq_n_f32(0.0f);
        for (int d = 0; d < hd; d++) {
            const float *kd = kt + d * ATTN_TILE + 16 * h;
            const float32x4_t k0 = vld1q_f32(kd), k1 = vld1q_f32(kd + 4), k2 = vld1q_f32(kd + 8),
                              k3 = vld1q_f32(kd + 12);
#pragma GCC unroll 4
            for (int j = 0; j < Q; j++) {
                const float qd = q[j * q_stride + d];
                a[j][0] = vfmaq_n_f32(a[j][0], k0, qd);
                a[j][1] = vfmaq_n_f32(a[j][1], k1, qd);
                a[j][2] = vfmaq_n_f32(a[j][2], k2, qd);
                a[j][3] = vfmaq_n_f32(a[j][3], k3, qd);
            }
        }
#pragma GCC unroll 4
        for (int j = 0; j < Q; j++)
            for (int w = 0; w < 4; w++) s[j][4 * h + w] = vmulq_n_f32(a[j][w], scale);
    }
#pragma GCC unroll 4
    for (int j = 0; j < Q; j++) corr[j] = softmax_tile(s[j], nt, &m[j], &l[j], p[j]);
    /* acc = acc * corr + p · V, 16 output dimensions at a time */
    for (int c = 0; c < hd; c += 16) {
        float32x4_t a[WIDE_Q][4];
#pragma GCC unroll 4
        for (int j = 0; j < Q; j++)
            for (int w = 0; w < 4; w++) a[j][w] = vmulq_n_f32(vld1q_f32(acc + j * ps + c + 4 * w), corr[j]);
        for (int i = 0; i < nt; i++) {
            const float *vi = vt + i * hd + c;
            const float32x4_t v0 = vld1q_f32(vi), v1 = vld1q_f32(vi + 4), v2 = vld1q_f32(vi + 8),
                              v3 = vld1q_f32(vi + 12);
#pragma GCC unroll 4
            for (int j = 0; j < Q; j++) {
                a[j][0] = vfmaq_n_f32(a[j][0], v0, p[j][i]);
                a[j][1] = vfmaq_n_f32(a[j][1], v1, p[j][i]);
                a[j][2] = vfmaq_n_f32(a[j][2], v2, p[j][i]);
                a[j][3] = vfmaq_n_f32(a[j][3], v3, p[j][i]);
            }
        }
#pragma GCC unroll 4
        for (int j = 0; j < Q; j++)
            for (int w = 0; w < 4; w++) vst1q_f32(acc + j * ps + c + 4 * w, a[j][w]);
    }
}

/* g queries (up to ATTN_QMAX), hd a multiple of 16 up to WIDE_HD_MAX. */
/* K rows i0..i0+nt-1 widened into vt's rows (zeros past nt) and
 * transposed into kt; then the V rows widened into vt. */
INLINE void widen_tile(uint32_t type, const char *k, const char *v, size_t row_bytes, int i0, int nt, int hd,
                       float *kt, float *vt)
{
    /* K tile: widened into vt's rows (zeros past nt), then transposed */
    for (int i = 0; i < ATTN_TILE; i++)
        for (int c = 0; c < hd; c += 4)
            vst1q_f32(vt + i * hd + c, i < nt ? load4(type, k + (size_t)(i0 + i) * row_bytes, c) : vdupq_n_f32(0.0f));
    for (int d = 0; d < hd; d++)
        for (int i = 0; i < ATTN_TILE; i++) kt[d * ATTN_TILE + i] = vt[i * hd + d];
    for (int i = 0; i < nt; i++)
        for (int c = 0; c < hd; c += 4) vst1q_f32(vt + i * hd + c, load4(type, v + (size_t)(i0 + i) * row_bytes, c));
}

#define ATTN_SUFFIX neon
#define NARROW_ALIGN 8
#define WIDE_ALIGN 16
#define TILE_ALIGN 16
#include "kernels/attention_body.h"

#endif /* __aarch64__ */
