/*
 * dot_scalar.c — scalar dot products for the float types and the 32-element
 * block types, and the scalar kernel table.
 *
 * Each block's integer dot product is exact; the float steps (scale
 * products, accumulation) are written in ggml's order — note that Q4_0
 * multiplies the integer sum by the two scales one at a time, while the
 * others multiply the scales together first.
 */
#include "kernels/dot_scalar.h"

#include <math.h>

#include "kernels/kernels.h"
#include "tensor/quant.h"

/* ------------------------------------------------------------------------
 * Float types: products in float, accumulated in double (ggml_float)
 * ---------------------------------------------------------------------- */

void f32_dot_scalar(int64_t n, float *s, const void *w, const void *x)
{
    const float *a = w, *b = x;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += (double)(a[i] * b[i]);
    *s = (float)sum;
}

void f16_dot_scalar(int64_t n, float *s, const void *w, const void *x)
{
    const mote_f16 *a = w, *b = x;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += (double)(fp16_to_fp32(a[i]) * fp16_to_fp32(b[i]));
    *s = (float)sum;
}

void bf16_dot_scalar(int64_t n, float *s, const void *w, const void *x)
{
    const mote_bf16 *a = w, *b = x;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += (double)(bf16_to_fp32(a[i]) * bf16_to_fp32(b[i]));
    *s = (float)sum;
}

/* ------------------------------------------------------------------------
 * 32-element blocks against Q8_0 / Q8_1
 * ---------------------------------------------------------------------- */

void q4_0_dot_scalar(int64_t n, float *s, const void *w, const void *x)
{
    const block_q4_0 *a = w;
    const block_q8_0 *b = x;
    float sumf = 0;
    for (int64_t i = 0; i < n / QK8_0; i++) {
        int sumi = 0;
        for (int j = 0; j < QK8_0 / 2; j++) {
            sumi += ((a[i].qs[j] & 0xf) - 8) * b[i].qs[j];
            sumi += ((a[i].qs[j] >> 4) - 8) * b[i].qs[j + QK8_0 / 2];
        }
        sumf = fmaf((float)sumi, fp16_to_fp32(a[i].d) * fp16_to_fp32(b[i].d), sumf);
    }
    *s = sumf;
}

/* The min term: sum(m * y) = m * (d_y * sum(q_y)) = m * s_y. */
void q4_1_dot_scalar(int64_t n, float *s, const void *w, const void *x)
{
    const block_q4_1 *a = w;
    const block_q8_1 *b = x;
    float sumf = 0;
    for (int64_t i = 0; i < n / QK8_1; i++) {
        int sumi = 0;
        for (int j = 0; j < QK8_1 / 2; j++) {
            sumi += (a[i].qs[j] & 0xf) * b[i].qs[j];
            sumi += (a[i].qs[j] >> 4) * b[i].qs[j + QK8_1 / 2];
        }
        sumf += (fp16_to_fp32(a[i].d) * fp16_to_fp32(b[i].d)) * sumi +
                fp16_to_fp32(a[i].m) * fp16_to_fp32(b[i].s);
    }
    *s = sumf;
}

static inline uint32_t q5_qh(const uint8_t qh[4])
{
    return (uint32_t)qh[0] | (uint32_t)qh[1] << 8 | (uint32_t)qh[2] << 16 | (uint32_t)qh[3] << 24;
}

void q5_0_dot_scalar(int64_t n, float *s, const void *w, const void *x)
{
    const block_q5_0 *a = w;
    const block_q8_0 *b = x;
    float sumf = 0;
    for (int64_t i = 0; i < n / QK8_0; i++) {
        const uint32_t qh = q5_qh(a[i].qh);
        int sumi = 0;
        for (int j = 0; j < QK8_0 / 2; j++) {
            int x0 = ((a[i].qs[j] & 0xf) | (int)(((qh >> j) & 1u) << 4)) - 16;
            int x1 = ((a[i].qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1u) << 4)) - 16;
            sumi += x0 * b[i].qs[j] + x1 * b[i].qs[j + QK8_0 / 2];
        }
        sumf += (fp16_to_fp32(a[i].d) * fp16_to_fp32(b[i].d)) * sumi;
    }
    *s = sumf;
}

void q5_1_dot_scalar(int64_t n, float *s, const void *w, const void *x)
{
    const block_q5_1 *a = w;
    const block_q8_1 *b = x;
    float sumf = 0;
    for (int64_t i = 0; i < n / QK8_1; i++) {
        const uint32_t qh = q5_qh(a[i].qh);
        int sumi = 0;
        for (int j = 0; j < QK8_1 / 2; j++) {
            int x0 = (a[i].qs[j] & 0xf) | (int)(((qh >> j) & 1u) << 4);
            int x1 = (a[i].qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1u) << 4);
            sumi += x0 * b[i].qs[j] + x1 * b[i].qs[j + QK8_1 / 2];
        }
        sumf += (fp16_to_fp32(a[i].d) * fp16_to_fp32(b[i].d)) * sumi +
                fp16_to_fp32(a[i].m) * fp16_to_fp32(b[i].s);
    }
    *s = sumf;
}

void q8_0_dot_scalar(int64_t n, float *s, const void *w, const void *x)
{
    const block_q8_0 *a = w;
    const block_q8_0 *b = x;
    float sumf = 0;
    for (int64_t i = 0; i < n / QK8_0; i++) {
        int sumi = 0;
        for (int j = 0; j < QK8_0; j++) sumi += a[i].qs[j] * b[i].qs[j];
        sumf += sumi * (fp16_to_fp32(a[i].d) * fp16_to_fp32(b[i].d));
    }
    *s = sumf;
}

void iq4_nl_dot_scalar(int64_t n, float *s, const void *w, const void *x)
{
    const block_iq4_nl *a = w;
    const block_q8_0 *b = x;
    float sumf = 0;
    for (int64_t i = 0; i < n / QK4_NL; i++) {
        const float d = fp16_to_fp32(b[i].d) * fp16_to_fp32(a[i].d);
        int sumi = 0;
        for (int j = 0; j < QK4_NL / 2; j++) {
            sumi += b[i].qs[j] * iq4nl_values[a[i].qs[j] & 0xf];
            sumi += b[i].qs[j + QK4_NL / 2] * iq4nl_values[a[i].qs[j] >> 4];
        }
        sumf = fmaf((float)sumi, d, sumf);
    }
    *s = sumf;
}

/* ------------------------------------------------------------------------
 * The scalar table
 * ---------------------------------------------------------------------- */

static const kernel_ops scalar_ops = {
    .isa = "scalar",
    .vec_dot = {
        [GGML_TYPE_F32] = f32_dot_scalar,
        [GGML_TYPE_F16] = f16_dot_scalar,
        [GGML_TYPE_BF16] = bf16_dot_scalar,
        [GGML_TYPE_Q4_0] = q4_0_dot_scalar,
        [GGML_TYPE_Q4_1] = q4_1_dot_scalar,
        [GGML_TYPE_Q5_0] = q5_0_dot_scalar,
        [GGML_TYPE_Q5_1] = q5_1_dot_scalar,
        [GGML_TYPE_Q8_0] = q8_0_dot_scalar,
        [GGML_TYPE_IQ4_NL] = iq4_nl_dot_scalar,
        [GGML_TYPE_Q2_K] = q2_K_dot_scalar,
        [GGML_TYPE_Q3_K] = q3_K_dot_scalar,
        [GGML_TYPE_Q4_K] = q4_K_dot_scalar,
        [GGML_TYPE_Q5_K] = q5_K_dot_scalar,
        [GGML_TYPE_Q6_K] = q6_K_dot_scalar,
        [GGML_TYPE_IQ4_XS] = iq4_xs_dot_scalar,
    },
    .quantize = {
        [GGML_TYPE_F32] = f32_quantize,
        [GGML_TYPE_F16] = f16_quantize,
        [GGML_TYPE_BF16] = bf16_quantize,
        [GGML_TYPE_Q8_0] = q8_0_quantize_x86,
        [GGML_TYPE_Q8_1] = q8_1_quantize_x86,
        [GGML_TYPE_Q8_K] = q8_K_quantize,
    },
};

const kernel_ops *kernels_scalar(void)
{
    return &scalar_ops;
}
