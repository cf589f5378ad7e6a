/*
 * dot_neon.c — AArch64 Advanced SIMD kernels (baseline, every AArch64 CPU):
 * the float dot products, the activation quantizers, and the "neon" table,
 * whose block kernels (dot_neon_blocks.h) form 4-element integer sums with
 * widening multiplies and pairwise adds.
 *
 * Bit-identical to the scalar references (see dot_neon.h). On other
 * targets this file compiles to nothing.
 */
#include "kernels/dot_neon.h"

#if defined(__aarch64__)

#include <arm_neon.h>
#include <math.h>
#include <string.h>
#include <sys/auxv.h>

#include "kernels/dot_scalar.h"
#include "kernels/simd_neon.h"
#include "tensor/quant.h"

#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20) /* Linux arch/arm64 uapi hwcap.h */
#endif

int cpu_has_dotprod(void)
{
    return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
}

/* ------------------------------------------------------------------------
 * The 16-lane float order of the AVX-512-modelled kernels (dot_scalar.c)
 *
 * A 16-lane vector is 4 float32x4 (lanes 0-3, 4-7, 8-11, 12-15).
 * ---------------------------------------------------------------------- */

typedef struct v16 {
    float32x4_t q[4]; /* lanes 4j .. 4j+3 in q[j] */
} v16;

static const v16 v16_zero = {{{0}}};

/* _mm512_reduce_add_ps: 16 -> 8 (lane i + lane i+8), 8 -> 4 (i + i+4),
 * then (0 + 2) + (1 + 3). */
static inline float reduce16(v16 v)
{
    return neon_reduce16(v.q);
}

/* The 4 accumulators of the one-row kernels: (0+2), (1+3), then those two. */
static inline float fold4x16(v16 acc[4])
{
    v16 r;
    for (int j = 0; j < 4; j++)
        r.q[j] = vaddq_f32(vaddq_f32(acc[0].q[j], acc[2].q[j]), vaddq_f32(acc[1].q[j], acc[3].q[j]));
    return reduce16(r);
}

/* 16 F16 values at p widened to F32 (exact). */
static inline void load16_f16(const mote_f16 *p, float32x4_t out[4])
{
    for (int j = 0; j < 2; j++) {
        const float16x8_t h = vreinterpretq_f16_u16(vld1q_u16(p + 8 * j));
        out[2 * j] = vcvt_f32_f16(vget_low_f16(h));
        out[2 * j + 1] = vcvt_high_f32_f16(h);
    }
}

/* ------------------------------------------------------------------------
 * F32, F16
 * ---------------------------------------------------------------------- */

#define F_BLOCK 64 /* elements per step of the one-row kernels: 4 vectors of 16 */

void f32_dot_neon(int64_t n, float *s, const void *w, const void *x)
{
    const float *a = w, *b = x;
    const int64_t np = n - n % F_BLOCK;
    v16 acc[4] = {v16_zero, v16_zero, v16_zero, v16_zero};
    for (int64_t i = 0; i < np; i += F_BLOCK)
        for (int v = 0; v < 4; v++)
            for (int j = 0; j < 4; j++)
                acc[v].q[j] = vfmaq_f32(acc[v].q[j], vld1q_f32(a + i + 16 * v + 4 * j),
                                        vld1q_f32(b + i + 16 * v + 4 * j));
    float sum = fold4x16(acc);
    for (int64_t i = np; i < n; i++) sum += a[i] * b[i];
    *s = sum;
}

void f16_dot_neon(int64_t n, float *s, const void *w, const void *x)
{
    const mote_f16 *a = w, *b = x;
    const int64_t np = n - n % F_BLOCK;
    v16 acc[4] = {v16_zero, v16_zero, v16_zero, v16_zero};
    for (int64_t i = 0; i < np; i += F_BLOCK)
        for (int v = 0; v < 4; v++) {
            float32x4_t fa[4], fb[4];
            load16_f16(a + i + 16 * v, fa);
            load16_f16(b + i + 16 * v, fb);
            for (int j = 0; j < 4; j++) acc[v].q[j] = vfmaq_f32(acc[v].q[j], fa[j], fb[j]);
        }
    double sum = fold4x16(acc);
    for (int64_t i = np; i < n; i++) sum += (double)(fp16_to_fp32(a[i]) * fp16_to_fp32(b[i]));
    *s = (float)sum;
}

/* Batches (tinyBLAS): one 16-lane vector, lane i % 16 an FMA chain. */
void f32_dot_batch_neon(int64_t n, float *s, const void *w, const void *x)
{
    const float *a = w, *b = x;
    const int64_t np = n - n % 16;
    v16 acc = v16_zero;
    for (int64_t i = 0; i < np; i += 16)
        for (int j = 0; j < 4; j++)
            acc.q[j] = vfmaq_f32(acc.q[j], vld1q_f32(a + i + 4 * j), vld1q_f32(b + i + 4 * j));
    if (np < n) { /* batch_dot never asks for this; kept for the same result anyway */
        float l[16];
        for (int j = 0; j < 4; j++) vst1q_f32(l + 4 * j, acc.q[j]);
        for (int64_t i = np; i < n; i++) l[i % 16] = fmaf(a[i], b[i], l[i % 16]);
        for (int j = 0; j < 4; j++) acc.q[j] = vld1q_f32(l + 4 * j);
    }
    *s = reduce16(acc);
}

void f16_dot_batch_neon(int64_t n, float *s, const void *w, const void *x)
{
    const mote_f16 *a = w, *b = x;
    const int64_t np = n - n % 16;
    v16 acc = v16_zero;
    for (int64_t i = 0; i < np; i += 16) {
        float32x4_t fa[4], fb[4];
        load16_f16(a + i, fa);
        load16_f16(b + i, fb);
        for (int j = 0; j < 4; j++) acc.q[j] = vfmaq_f32(acc.q[j], fa[j], fb[j]);
    }
    if (np < n) {
        float l[16];
        for (int j = 0; j < 4; j++) vst1q_f32(l + 4 * j, acc.q[j]);
        for (int64_t i = np; i < n; i++)
            l[i % 16] = fmaf(fp16_to_fp32(a[i]), fp16_to_fp32(b[i]), l[i % 16]);
        for (int j = 0; j < 4; j++) acc.q[j] = vld1q_f32(l + 4 * j);
    }
    *s = reduce16(acc);
}

/* ------------------------------------------------------------------------
 * BF16: the dpbf16ps model of dot_scalar.c
 * ---------------------------------------------------------------------- */

/* acc lane l (of 16) += odd product, then += even product, for the pairs
 * (2l, 2l+1) of the 32 elements at a, b. BF16 products are exact in F32,
 * so a multiply and an add round exactly as the reference's steps. */
static inline void dpbf16_32(v16 *acc, const mote_bf16 *a, const mote_bf16 *b)
{
    for (int h = 0; h < 2; h++) {
        const uint16x8x2_t va = vld2q_u16(a + 16 * h), vb = vld2q_u16(b + 16 * h);
        for (int e = 1; e >= 0; e--) { /* odd element first */
            const float32x4_t alo = vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(va.val[e]), 16));
            const float32x4_t ahi = vreinterpretq_f32_u32(vshll_high_n_u16(va.val[e], 16));
            const float32x4_t blo = vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(vb.val[e]), 16));
            const float32x4_t bhi = vreinterpretq_f32_u32(vshll_high_n_u16(vb.val[e], 16));
            acc->q[2 * h] = vaddq_f32(acc->q[2 * h], vmulq_f32(alo, blo));
            acc->q[2 * h + 1] = vaddq_f32(acc->q[2 * h + 1], vmulq_f32(ahi, bhi));
        }
    }
}

void bf16_dot_neon(int64_t n, float *s, const void *w, const void *x)
{
    const mote_bf16 *a = w, *b = x;
    v16 c[2] = {v16_zero, v16_zero};
    int64_t i = 0;
    for (; i + 64 <= n; i += 64)
        for (int v = 0; v < 2; v++) dpbf16_32(&c[v], a + i + 32 * v, b + i + 32 * v);
    double sum = reduce16(c[0]);
    sum += reduce16(c[1]);
    for (; i < n; i++) sum += (double)(bf16_to_fp32(a[i]) * bf16_to_fp32(b[i]));
    *s = (float)sum;
}

void bf16_dot_batch_neon(int64_t n, float *s, const void *w, const void *x)
{
    const mote_bf16 *a = w, *b = x;
    v16 c = v16_zero;
    for (int64_t i = 0; i + 32 <= n; i += 32) dpbf16_32(&c, a + i, b + i);
    *s = reduce16(c);
}

/* ------------------------------------------------------------------------
 * Activation quantizers
 * ---------------------------------------------------------------------- */

void f16_quantize_neon(const float *src, void *dst, int64_t n)
{
    mote_f16 *h = dst;
    int64_t i = 0;
    /* FCVTN rounds to nearest even (FPCR's default mode), overflows to
     * infinity and keeps a NaN's top payload bits, made quiet: the rules
     * of fp32_to_fp16 */
    for (; i + 4 <= n; i += 4)
        vst1_u16(h + i, vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(src + i))));
    for (; i < n; i++) h[i] = fp32_to_fp16(src[i]);
}

/* Largest |x| of 32 floats; NaN if any is NaN (FMAX propagates NaN). */
static inline float amax32_neon(const float *x)
{
    float32x4_t m = vabsq_f32(vld1q_f32(x));
    for (int j = 4; j < 32; j += 4) m = vmaxq_f32(m, vabsq_f32(vld1q_f32(x + j)));
    return vmaxvq_f32(m);
}

/* 32 floats times id, rounded to nearest even and saturated to int8 (a NaN
 * product gives 0, as quant_nearest_int_safe); returns the sum of the quants. */
static inline int round32_i8(const float *x, float id, int8_t *qs)
{
    int16x8_t sum = vdupq_n_s16(0);
    for (int j = 0; j < 32; j += 8) {
        const int32x4_t lo = vcvtnq_s32_f32(vmulq_n_f32(vld1q_f32(x + j), id));
        const int32x4_t hi = vcvtnq_s32_f32(vmulq_n_f32(vld1q_f32(x + j + 4), id));
        const int8x8_t q = vqmovn_s16(vcombine_s16(vqmovn_s32(lo), vqmovn_s32(hi)));
        vst1_s8(qs + j, q);
        sum = vaddw_s8(sum, q);
    }
    return vaddlvq_s16(sum);
}

/* One block as ggml's x86 code quantizes it (q8_x86_block in quant.c):
 * d = amax / 127, quants round(x * (127 / amax)) ties to even. Returns d,
 * or NAN where the block holds a NaN (the caller then uses the scalar code,
 * whose NaN handling follows the x86 max instruction). */
static inline float q8_block_neon(const float *x, int8_t *qs, int *sum)
{
    const float amax = amax32_neon(x);
    if (amax != amax) return NAN;
    const float id = amax != 0.0f ? 127.f / amax : 0.0f;
    *sum = round32_i8(x, id, qs);
    return amax / 127.f;
}

void q8_0_quantize_neon(const float *src, void *dst, int64_t n)
{
    block_q8_0 *b = dst;
    int sum;
    for (int64_t i = 0; i < n / QK8_0; i++, src += QK8_0) {
        const float d = q8_block_neon(src, b[i].qs, &sum);
        if (d != d) q8_0_quantize_x86(src, &b[i], QK8_0);
        else b[i].d = fp32_to_fp16(d);
    }
}

void q8_1_quantize_neon(const float *src, void *dst, int64_t n)
{
    block_q8_1 *b = dst;
    int sum;
    for (int64_t i = 0; i < n / QK8_1; i++, src += QK8_1) {
        const float d = q8_block_neon(src, b[i].qs, &sum);
        if (d != d) {
            q8_1_quantize_x86(src, &b[i], QK8_1);
            continue;
        }
        b[i].d = fp32_to_fp16(d);
        b[i].s = fp32_to_fp16(d * sum);
    }
}

/* As q8_K_quantize: the scale comes from the first element of largest
 * magnitude, with its sign; blocks whose largest magnitude is not a
 * positive number (all zero, or NaN) go to the scalar code. */
void q8_K_quantize_neon(const float *src, void *dst, int64_t n)
{
    block_q8_K *b = dst;
    for (int64_t i = 0; i < n / QK_K; i++, src += QK_K) {
        float32x4_t m = vabsq_f32(vld1q_f32(src));
        for (int j = 4; j < QK_K; j += 4) m = vmaxq_f32(m, vabsq_f32(vld1q_f32(src + j)));
        const float amax = vmaxvq_f32(m);
        if (!(amax > 0.0f)) {
            q8_K_quantize(src, &b[i], QK_K);
            continue;
        }
        int first = 0;
        while (fabsf(src[first]) != amax) first++;
        const float iscale = -127.f / src[first];
        for (int j = 0; j < QK_K; j += 32) (void)round32_i8(src + j, iscale, b[i].qs + j);
        for (int g = 0; g < QK_K / 16; g++)
            b[i].bsums[g] = (int16_t)vaddlvq_s8(vld1q_s8(b[i].qs + 16 * g));
        b[i].d = 1 / iscale;
    }
}

/* ------------------------------------------------------------------------
 * The block kernels and the table, with 4-element sums from widening
 * multiplies (SMULL: 8 int16 products) and two pairwise adds
 * ---------------------------------------------------------------------- */

/* acc lane l += a[4l..4l+3] . b[4l..4l+3] */
static inline int32x4_t dot4(int32x4_t acc, int8x16_t a, int8x16_t b)
{
    const int16x8_t lo = vmull_s8(vget_low_s8(a), vget_low_s8(b));
    const int16x8_t hi = vmull_high_s8(a, b);
    return vaddq_s32(acc, vpaddq_s32(vpaddlq_s16(lo), vpaddlq_s16(hi)));
}

#define NEON_SUFFIX neon
#include "kernels/dot_neon_blocks.h"

#endif /* __aarch64__ */
