/*
 * dot_scalar.c — scalar dot products for the float types and the 32-element
 * block types, and the scalar kernel table (whose attention kernels are
 * attention.c's and ops.c's).
 *
 * Each block's integer dot product is exact; the float steps (scale
 * products, FMAs, lane sums) are those of llama.cpp's x86 kernels, so the
 * results are bit-identical to llama.cpp on an AVX-512 CPU (see
 * dot_scalar.h).
 */
#include "kernels/dot_scalar.h"

#include <math.h>

#include "kernels/attention.h"
#include "kernels/dot_fp8.h"
#include "kernels/dot_i8.h"
#include "kernels/kernels.h"
#include "kernels/ops.h"
#include "tensor/quant.h"

/* ------------------------------------------------------------------------
 * Float types, in the order of llama.cpp's AVX-512 kernels
 *
 * One row (ggml_vec_dot_f32 / _f16): 4 vectors of 16 float lanes, lane
 * (i / 16) % 4, i % 16 an FMA chain over the first n - n % 64 elements;
 * the vectors folded (0+2, 1+3, then 0+1) and reduced as
 * _mm512_reduce_add_ps; the rest added one by one (F32: in float; F16: in
 * double). Batches (tinyBLAS, see batch_dot): one vector of 16 lanes, lane
 * i % 16 an FMA chain, then the same reduction.
 * ---------------------------------------------------------------------- */

#define F_LANES 16
#define F_VECS 4

void f32_dot_scalar(int64_t n, float *s, const void *w, const void *x)
{
    const float *a = w, *b = x;
    const int64_t np = n - n % (F_LANES * F_VECS);
    float acc[F_VECS][F_LANES] = {{0}};
    for (int64_t i = 0; i < np; i++) {
        float *lane = &acc[(i / F_LANES) % F_VECS][i % F_LANES];
        *lane = fmaf(a[i], b[i], *lane);
    }
    float sum = scalar_fold4x16(acc);
    for (int64_t i = np; i < n; i++) sum += a[i] * b[i];
    *s = sum;
}

void f32_dot_batch_scalar(int64_t n, float *s, const void *w, const void *x)
{
    const float *a = w, *b = x;
    float acc[F_LANES] = {0};
    for (int64_t i = 0; i < n; i++) acc[i % F_LANES] = fmaf(a[i], b[i], acc[i % F_LANES]);
    *s = scalar_reduce16(acc);
}

void f16_dot_scalar(int64_t n, float *s, const void *w, const void *x)
{
    const mote_f16 *a = w, *b = x;
    const int64_t np = n - n % (F_LANES * F_VECS);
    float acc[F_VECS][F_LANES] = {{0}};
    for (int64_t i = 0; i < np; i++) {
        float *lane = &acc[(i / F_LANES) % F_VECS][i % F_LANES];
        *lane = fmaf(fp16_to_fp32(a[i]), fp16_to_fp32(b[i]), *lane);
    }
    double sum = scalar_fold4x16(acc);
    for (int64_t i = np; i < n; i++) sum += (double)(fp16_to_fp32(a[i]) * fp16_to_fp32(b[i]));
    *s = (float)sum;
}

void f16_dot_batch_scalar(int64_t n, float *s, const void *w, const void *x)
{
    const mote_f16 *a = w, *b = x;
    float acc[F_LANES] = {0};
    for (int64_t i = 0; i < n; i++)
        acc[i % F_LANES] = fmaf(fp16_to_fp32(a[i]), fp16_to_fp32(b[i]), acc[i % F_LANES]);
    *s = scalar_reduce16(acc);
}

/* One step of AVX512-BF16's dpbf16ps on a float lane: the products of
 * BF16 values are exact in float; the odd element's product is added
 * first, then the even one's, each addition rounded (Intel's definition;
 * the CPUs behind the goldens agree bit for bit). dpbf16ps also flushes
 * denormal inputs and results to zero, not modelled here: BF16 weights and
 * activations of real models stay far from 1e-38. */
static float dpbf16(float acc, const mote_bf16 *a, const mote_bf16 *b)
{
    acc += bf16_to_fp32(a[1]) * bf16_to_fp32(b[1]);
    return acc + bf16_to_fp32(a[0]) * bf16_to_fp32(b[0]);
}

/* ggml_vec_dot_bf16 (AVX512-BF16): per 64 elements, elements 0..31 go to
 * vector c1 and 32..63 to c2, pair (2l, 2l+1) into lane l; each vector is
 * reduced on its own into a double sum; the rest added in double. */
void bf16_dot_scalar(int64_t n, float *s, const void *w, const void *x)
{
    const mote_bf16 *a = w, *b = x;
    float c[2][F_LANES] = {{0}};
    int64_t i = 0;
    for (; i + 64 <= n; i += 64)
        for (int v = 0; v < 2; v++)
            for (int l = 0; l < F_LANES; l++)
                c[v][l] = dpbf16(c[v][l], a + i + 32 * v + 2 * l, b + i + 32 * v + 2 * l);
    double sum = scalar_reduce16(c[0]);
    sum += scalar_reduce16(c[1]);
    for (; i < n; i++) sum += (double)(bf16_to_fp32(a[i]) * bf16_to_fp32(b[i]));
    *s = (float)sum;
}

/* tinyBLAS with BF16 (batches, k % 32 == 0): one vector of 16 lanes, pair
 * (2l, 2l+1) of every 32 elements into lane l. */
void bf16_dot_batch_scalar(int64_t n, float *s, const void *w, const void *x)
{
    const mote_bf16 *a = w, *b = x;
    float c[F_LANES] = {0};
    for (int64_t i = 0; i + 32 <= n; i += 32)
        for (int l = 0; l < F_LANES; l++) c[l] = dpbf16(c[l], a + i + 2 * l, b + i + 2 * l);
    *s = scalar_reduce16(c);
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

/* ------------------------------------------------------------------------
 * The 8-lane order of ggml's AVX2 dots (Q4_1, Q5_0, Q5_1, Q8_0)
 *
 * llama.cpp's x86 vec_dot kernels for these types keep 8 float lanes: lane
 * l of a block is the exact integer sum of elements 4l..4l+3, converted to
 * float and FMA-accumulated, scaled, into lane l; the lanes are summed at
 * the end in hsum_float_8's order. Different from a plain running sum by
 * an ulp or so, which is enough to flip a quantized activation downstream.
 * ---------------------------------------------------------------------- */

#define LANES8 8

/* acc[l] += d * (sum of w[k] * y[k] for k in 4l..4l+3), each with one rounding. */
static void lanes8_fma(float acc[LANES8], const int8_t w[32], const int8_t y[32], float d)
{
    for (int l = 0; l < LANES8; l++) {
        int sumi = 0;
        for (int k = 4 * l; k < 4 * l + 4; k++) sumi += w[k] * y[k];
        acc[l] = fmaf(d, (float)sumi, acc[l]);
    }
}

/* Block values in element order (low nibbles are elements 0..15). */
static void unpack_nibbles(int8_t w[32], const uint8_t qs[16], int offset)
{
    for (int j = 0; j < 16; j++) {
        w[j] = (int8_t)((qs[j] & 0xf) - offset);
        w[j + 16] = (int8_t)((qs[j] >> 4) - offset);
    }
}

static inline uint32_t q5_qh(const uint8_t qh[4])
{
    return (uint32_t)qh[0] | (uint32_t)qh[1] << 8 | (uint32_t)qh[2] << 16 | (uint32_t)qh[3] << 24;
}

/* Q5 values: nibble | fifth bit << 4, minus offset. */
static void unpack_q5(int8_t w[32], const uint8_t qs[16], const uint8_t qh_bytes[4], int offset)
{
    const uint32_t qh = q5_qh(qh_bytes);
    for (int j = 0; j < 16; j++) {
        w[j] = (int8_t)(((qs[j] & 0xf) | (int)(((qh >> j) & 1u) << 4)) - offset);
        w[j + 16] = (int8_t)(((qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1u) << 4)) - offset);
    }
}

/* The min term: sum(m * y) = m * (d_y * sum(q_y)) = m * s_y, accumulated
 * apart (contracted to an FMA in ggml's build) and added after the lanes. */
void q4_1_dot_scalar(int64_t n, float *s, const void *w, const void *x)
{
    const block_q4_1 *a = w;
    const block_q8_1 *b = x;
    float acc[LANES8] = {0}, summs = 0;
    int8_t v[32];
    for (int64_t i = 0; i < n / QK8_1; i++) {
        summs = fmaf(fp16_to_fp32(a[i].m), fp16_to_fp32(b[i].s), summs);
        unpack_nibbles(v, a[i].qs, 0);
        lanes8_fma(acc, v, b[i].qs, fp16_to_fp32(a[i].d) * fp16_to_fp32(b[i].d));
    }
    *s = scalar_hsum8(acc) + summs;
}

void q5_0_dot_scalar(int64_t n, float *s, const void *w, const void *x)
{
    const block_q5_0 *a = w;
    const block_q8_0 *b = x;
    float acc[LANES8] = {0};
    int8_t v[32];
    for (int64_t i = 0; i < n / QK8_0; i++) {
        unpack_q5(v, a[i].qs, a[i].qh, 16);
        lanes8_fma(acc, v, b[i].qs, fp16_to_fp32(a[i].d) * fp16_to_fp32(b[i].d));
    }
    *s = scalar_hsum8(acc);
}

void q5_1_dot_scalar(int64_t n, float *s, const void *w, const void *x)
{
    const block_q5_1 *a = w;
    const block_q8_1 *b = x;
    float acc[LANES8] = {0}, summs = 0;
    int8_t v[32];
    for (int64_t i = 0; i < n / QK8_1; i++) {
        summs = fmaf(fp16_to_fp32(a[i].m), fp16_to_fp32(b[i].s), summs);
        unpack_q5(v, a[i].qs, a[i].qh, 0);
        lanes8_fma(acc, v, b[i].qs, fp16_to_fp32(a[i].d) * fp16_to_fp32(b[i].d));
    }
    *s = scalar_hsum8(acc) + summs;
}

void q8_0_dot_scalar(int64_t n, float *s, const void *w, const void *x)
{
    const block_q8_0 *a = w;
    const block_q8_0 *b = x;
    float acc[LANES8] = {0};
    for (int64_t i = 0; i < n / QK8_0; i++)
        lanes8_fma(acc, a[i].qs, b[i].qs, fp16_to_fp32(a[i].d) * fp16_to_fp32(b[i].d));
    *s = scalar_hsum8(acc);
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
        [MOTE_TYPE_FP8] = fp8_dot_scalar,
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
    .vec_dot_x4 = {
        [GGML_TYPE_Q2_K] = q2_K_dot_x4_scalar,
        [GGML_TYPE_Q4_K] = q4_K_dot_x4_scalar,
    },
    .vec_dot_b2 = {
        [GGML_TYPE_F32] = f32_dot_batch_scalar,
        [GGML_TYPE_F16] = f16_dot_batch_scalar,
        [GGML_TYPE_BF16] = bf16_dot_batch_scalar,
    },
    .vec_dot_b8 = {
        [GGML_TYPE_IQ4_XS] = iq4_xs_dot_panel_scalar,
    },
    .quantize = {
        [GGML_TYPE_F32] = f32_quantize,
        [GGML_TYPE_F16] = f16_quantize,
        [GGML_TYPE_BF16] = bf16_quantize,
        [GGML_TYPE_Q8_0] = q8_0_quantize_x86,
        [GGML_TYPE_Q8_1] = q8_1_quantize_x86,
        [GGML_TYPE_Q8_K] = q8_K_quantize,
    },
    .attn_chunk = {
        [GGML_TYPE_F16] = attn_chunk_f16_ref,
        [GGML_TYPE_Q8_0] = attn_chunk_q8_0_ref,
    },
    .attn_exact = {op_dot_f32, op_attn_values, op_attn_values_batch},
    .i8_rows = i8_dot_rows_scalar,
};

const kernel_ops *kernels_scalar(void)
{
    return &scalar_ops;
}
