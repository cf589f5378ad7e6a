/*
 * dot_avx2.c — AVX2 dot products for the float types and the 32-element
 * block types, and the AVX2 kernel table.
 *
 * Each function is the SIMD form of its scalar model in dot_scalar.c,
 * with the same float lanes and reduction trees, so results are
 * bit-identical (see dot_x86.h). The 16 float lanes of the AVX-512 orders
 * (F32, F16, BF16) are held as pairs of 8-lane vectors.
 */
#if defined(__x86_64__)

#include <math.h>

#include "kernels/dot_fp8.h"
#include "kernels/dot_i8.h"
#include "kernels/dot_scalar.h"
#include "kernels/dot_x86.h"
#include "kernels/kernels_isa.h"
#include "kernels/simd_avx2.h"
#include "tensor/quant.h"

/* ------------------------------------------------------------------------
 * Float types
 * ---------------------------------------------------------------------- */

/* The scalar fold4x16 of 4 vectors of 16 lanes (acc[2v] lanes 0..7 of
 * vector v, acc[2v + 1] lanes 8..15): 0 += 2, 1 += 3, 0 += 1, reduce16. */
static float fold4x16(__m256 acc[8])
{
    for (int h = 0; h < 2; h++) {
        acc[h] = _mm256_add_ps(acc[h], acc[4 + h]);
        acc[2 + h] = _mm256_add_ps(acc[2 + h], acc[6 + h]);
    }
    for (int h = 0; h < 2; h++) acc[h] = _mm256_add_ps(acc[h], acc[2 + h]);
    return x86_reduce16(acc[0], acc[1]);
}

void f32_dot_avx2(int64_t n, float *s, const void *w, const void *x)
{
    const float *a = w, *b = x;
    const int64_t np = n - n % 64;
    __m256 acc[8];
    for (int j = 0; j < 8; j++) acc[j] = _mm256_setzero_ps();
    for (int64_t i = 0; i < np; i += 64)
        for (int j = 0; j < 8; j++)
            acc[j] = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8 * j), _mm256_loadu_ps(b + i + 8 * j), acc[j]);
    float sum = fold4x16(acc);
    for (int64_t i = np; i < n; i++) sum += a[i] * b[i];
    *s = sum;
}

static inline __m256 load_f16(const mote_f16 *p)
{
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

void f16_dot_avx2(int64_t n, float *s, const void *w, const void *x)
{
    const mote_f16 *a = w, *b = x;
    const int64_t np = n - n % 64;
    __m256 acc[8];
    for (int j = 0; j < 8; j++) acc[j] = _mm256_setzero_ps();
    for (int64_t i = 0; i < np; i += 64)
        for (int j = 0; j < 8; j++)
            acc[j] = _mm256_fmadd_ps(load_f16(a + i + 8 * j), load_f16(b + i + 8 * j), acc[j]);
    double sum = fold4x16(acc);
    for (int64_t i = np; i < n; i++) sum += (double)(x86_f16(a[i]) * x86_f16(b[i]));
    *s = (float)sum;
}

/* tinyBLAS's order: lane i % 16 an FMA chain. The last n % 16 elements
 * (never present where the table uses it) go lane by lane. */
static float batch_tail(__m256 lo, __m256 hi, int64_t i0, int64_t n, const float *a, const float *b)
{
    float acc[16];
    _mm256_storeu_ps(acc, lo);
    _mm256_storeu_ps(acc + 8, hi);
    for (int64_t i = i0; i < n; i++) acc[i % 16] = fmaf(a[i - i0], b[i - i0], acc[i % 16]);
    return x86_reduce16(_mm256_loadu_ps(acc), _mm256_loadu_ps(acc + 8));
}

void f32_dot_batch_avx2(int64_t n, float *s, const void *w, const void *x)
{
    const float *a = w, *b = x;
    const int64_t np = n - n % 16;
    __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();
    for (int64_t i = 0; i < np; i += 16) {
        lo = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), lo);
        hi = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), hi);
    }
    *s = np == n ? x86_reduce16(lo, hi) : batch_tail(lo, hi, np, n, a + np, b + np);
}

void f16_dot_batch_avx2(int64_t n, float *s, const void *w, const void *x)
{
    const mote_f16 *a = w, *b = x;
    const int64_t np = n - n % 16;
    __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();
    for (int64_t i = 0; i < np; i += 16) {
        lo = _mm256_fmadd_ps(load_f16(a + i), load_f16(b + i), lo);
        hi = _mm256_fmadd_ps(load_f16(a + i + 8), load_f16(b + i + 8), hi);
    }
    if (np == n) {
        *s = x86_reduce16(lo, hi);
        return;
    }
    float ta[16], tb[16];
    for (int64_t i = np; i < n; i++) ta[i - np] = x86_f16(a[i]), tb[i - np] = x86_f16(b[i]);
    *s = batch_tail(lo, hi, np, n, ta, tb);
}

/* dpbf16 (see dot_scalar.c) on 8 lanes: lane l takes the pair of BF16
 * values in 32-bit word l of a and b; the odd element's exact product is
 * added first, then the even one's, each addition rounded (an FMA of an
 * exact product is that rounded addition). */
static inline __m256 dpbf16_8(__m256 acc, __m256i a, __m256i b)
{
    const __m256i hi = _mm256_set1_epi32((int)0xffff0000u);
    acc = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_and_si256(a, hi)),
                          _mm256_castsi256_ps(_mm256_and_si256(b, hi)), acc);
    return _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_slli_epi32(a, 16)),
                           _mm256_castsi256_ps(_mm256_slli_epi32(b, 16)), acc);
}

void bf16_dot_avx2(int64_t n, float *s, const void *w, const void *x)
{
    const mote_bf16 *a = w, *b = x;
    /* c0, c1: lanes 0..7, 8..15 of vector 0; c2, c3: of vector 1 (named,
     * not an array, so gcc -O2 keeps them in registers) */
    __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        c0 = dpbf16_8(c0, x86_load256(a + i), x86_load256(b + i));
        c1 = dpbf16_8(c1, x86_load256(a + i + 16), x86_load256(b + i + 16));
        c2 = dpbf16_8(c2, x86_load256(a + i + 32), x86_load256(b + i + 32));
        c3 = dpbf16_8(c3, x86_load256(a + i + 48), x86_load256(b + i + 48));
    }
    double sum = x86_reduce16(c0, c1);
    sum += x86_reduce16(c2, c3);
    for (; i < n; i++) sum += (double)(bf16_to_fp32(a[i]) * bf16_to_fp32(b[i]));
    *s = (float)sum;
}

void bf16_dot_batch_avx2(int64_t n, float *s, const void *w, const void *x)
{
    const mote_bf16 *a = w, *b = x;
    __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();
    for (int64_t i = 0; i + 32 <= n; i += 32) {
        lo = dpbf16_8(lo, x86_load256(a + i), x86_load256(b + i));
        hi = dpbf16_8(hi, x86_load256(a + i + 16), x86_load256(b + i + 16));
    }
    *s = x86_reduce16(lo, hi);
}

/* ------------------------------------------------------------------------
 * 32-element blocks against Q8_0 / Q8_1
 * ---------------------------------------------------------------------- */

/* One float chain of exact block sums (llama.cpp's repacked kernels). */
void q4_0_dot_avx2(int64_t n, float *s, const void *w, const void *x)
{
    const block_q4_0 *a = w;
    const block_q8_0 *b = x;
    const __m256i off = _mm256_set1_epi8(8);
    float sumf = 0;
    for (int64_t i = 0; i < n / QK8_0; i++) {
        const __m256i q = _mm256_sub_epi8(x86_nibbles(a[i].qs), off);
        const int sumi = x86_hsum_i32(x86_dot_i8(q, x86_load256(b[i].qs)));
        sumf = fmaf((float)sumi, x86_f16(a[i].d) * x86_f16(b[i].d), sumf);
    }
    *s = sumf;
}

void iq4_nl_dot_avx2(int64_t n, float *s, const void *w, const void *x)
{
    const block_iq4_nl *a = w;
    const block_q8_0 *b = x;
    const __m256i table = x86_iq4nl_i8();
    float sumf = 0;
    for (int64_t i = 0; i < n / QK4_NL; i++) {
        const __m256i q = _mm256_shuffle_epi8(table, x86_nibbles(a[i].qs));
        const int sumi = x86_hsum_i32(x86_dot_i8(q, x86_load256(b[i].qs)));
        sumf = fmaf((float)sumi, x86_f16(b[i].d) * x86_f16(a[i].d), sumf);
    }
    *s = sumf;
}

/* Four rows at once (vec_dot4): the four block sums reduced together and
 * four independent chains in the lanes of one vector, each lane the
 * scalar chain of its row. */
static inline __m128i hsum4x8(__m256i v0, __m256i v1, __m256i v2, __m256i v3)
{
    const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(v0, v1), _mm256_hadd_epi32(v2, v3));
    return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

void q4_0_dot4_avx2(int64_t n, float *s, const void *w, size_t ws, const void *x)
{
    const block_q4_0 *a0 = X86_ROW(block_q4_0, w, ws, 0), *a1 = X86_ROW(block_q4_0, w, ws, 1);
    const block_q4_0 *a2 = X86_ROW(block_q4_0, w, ws, 2), *a3 = X86_ROW(block_q4_0, w, ws, 3);
    const block_q8_0 *b = x;
    const __m256i off = _mm256_set1_epi8(8);
    __m128 acc = _mm_setzero_ps();
    for (int64_t i = 0; i < n / QK8_0; i++) {
        if (i % 4 == 0) x86_prefetch_rows4(a0 + i, ws, 1);
        const __m256i y = x86_load256(b[i].qs);
        const __m128i sumi = hsum4x8(x86_dot_i8(_mm256_sub_epi8(x86_nibbles(a0[i].qs), off), y),
                                     x86_dot_i8(_mm256_sub_epi8(x86_nibbles(a1[i].qs), off), y),
                                     x86_dot_i8(_mm256_sub_epi8(x86_nibbles(a2[i].qs), off), y),
                                     x86_dot_i8(_mm256_sub_epi8(x86_nibbles(a3[i].qs), off), y));
        const __m128 d = _mm_mul_ps(x86_f16x4(a0[i].d, a1[i].d, a2[i].d, a3[i].d), _mm_set1_ps(x86_f16(b[i].d)));
        acc = _mm_fmadd_ps(_mm_cvtepi32_ps(sumi), d, acc);
    }
    _mm_storeu_ps(s, acc);
}

void iq4_nl_dot4_avx2(int64_t n, float *s, const void *w, size_t ws, const void *x)
{
    const block_iq4_nl *a0 = X86_ROW(block_iq4_nl, w, ws, 0), *a1 = X86_ROW(block_iq4_nl, w, ws, 1);
    const block_iq4_nl *a2 = X86_ROW(block_iq4_nl, w, ws, 2), *a3 = X86_ROW(block_iq4_nl, w, ws, 3);
    const block_q8_0 *b = x;
    const __m256i table = x86_iq4nl_i8();
    __m128 acc = _mm_setzero_ps();
    for (int64_t i = 0; i < n / QK4_NL; i++) {
        if (i % 4 == 0) x86_prefetch_rows4(a0 + i, ws, 1);
        const __m256i y = x86_load256(b[i].qs);
        const __m128i sumi = hsum4x8(x86_dot_i8(_mm256_shuffle_epi8(table, x86_nibbles(a0[i].qs)), y),
                                     x86_dot_i8(_mm256_shuffle_epi8(table, x86_nibbles(a1[i].qs)), y),
                                     x86_dot_i8(_mm256_shuffle_epi8(table, x86_nibbles(a2[i].qs)), y),
                                     x86_dot_i8(_mm256_shuffle_epi8(table, x86_nibbles(a3[i].qs)), y));
        const __m128 d = _mm_mul_ps(_mm_set1_ps(x86_f16(b[i].d)), x86_f16x4(a0[i].d, a1[i].d, a2[i].d, a3[i].d));
        acc = _mm_fmadd_ps(_mm_cvtepi32_ps(sumi), d, acc);
    }
    _mm_storeu_ps(s, acc);
}

/* The 8-lane order: lane l of each block (elements 4l..4l+3, exact)
 * FMA-scaled into float lane l; hsum8 at the end. */
void q8_0_dot_avx2(int64_t n, float *s, const void *w, const void *x)
{
    const block_q8_0 *a = w;
    const block_q8_0 *b = x;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK8_0; i++)
        acc = x86_lanes_fma(acc, x86_dot_i8(x86_load256(a[i].qs), x86_load256(b[i].qs)),
                            x86_f16(a[i].d) * x86_f16(b[i].d));
    *s = x86_hsum8(acc);
}

/* The four chains are written out (not an array indexed in a loop): gcc
 * -O2 does not unroll such a loop and kept the accumulators on the stack,
 * a store and reload per block and row on the critical path. */
void q8_0_dot4_avx2(int64_t n, float *s, const void *w, size_t ws, const void *x)
{
    const block_q8_0 *a0 = X86_ROW(block_q8_0, w, ws, 0), *a1 = X86_ROW(block_q8_0, w, ws, 1);
    const block_q8_0 *a2 = X86_ROW(block_q8_0, w, ws, 2), *a3 = X86_ROW(block_q8_0, w, ws, 3);
    const block_q8_0 *b = x;
    __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;
    for (int64_t i = 0; i < n / QK8_0; i++) {
        if (i % 2 == 0) x86_prefetch_rows4(a0 + i, ws, 1);
        const __m256i y = x86_load256(b[i].qs);
        const float dy = x86_f16(b[i].d);
        c0 = x86_lanes_fma(c0, x86_dot_i8(x86_load256(a0[i].qs), y), x86_f16(a0[i].d) * dy);
        c1 = x86_lanes_fma(c1, x86_dot_i8(x86_load256(a1[i].qs), y), x86_f16(a1[i].d) * dy);
        c2 = x86_lanes_fma(c2, x86_dot_i8(x86_load256(a2[i].qs), y), x86_f16(a2[i].d) * dy);
        c3 = x86_lanes_fma(c3, x86_dot_i8(x86_load256(a3[i].qs), y), x86_f16(a3[i].d) * dy);
    }
    s[0] = x86_hsum8(c0);
    s[1] = x86_hsum8(c1);
    s[2] = x86_hsum8(c2);
    s[3] = x86_hsum8(c3);
}

void q4_1_dot_avx2(int64_t n, float *s, const void *w, const void *x)
{
    const block_q4_1 *a = w;
    const block_q8_1 *b = x;
    __m256 acc = _mm256_setzero_ps();
    float summs = 0;
    for (int64_t i = 0; i < n / QK8_1; i++) {
        summs = fmaf(x86_f16(a[i].m), x86_f16(b[i].s), summs);
        acc = x86_lanes_fma(acc, x86_dot_u8(x86_nibbles(a[i].qs), x86_load256(b[i].qs)),
                            x86_f16(a[i].d) * x86_f16(b[i].d));
    }
    *s = x86_hsum8(acc) + summs;
}

void q5_0_dot_avx2(int64_t n, float *s, const void *w, const void *x)
{
    const block_q5_0 *a = w;
    const block_q8_0 *b = x;
    const __m256i off = _mm256_set1_epi8(16);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK8_0; i++) {
        const __m256i q = _mm256_sub_epi8(x86_q5_values(a[i].qs, a[i].qh), off);
        acc = x86_lanes_fma(acc, x86_dot_i8(q, x86_load256(b[i].qs)), x86_f16(a[i].d) * x86_f16(b[i].d));
    }
    *s = x86_hsum8(acc);
}

void q5_1_dot_avx2(int64_t n, float *s, const void *w, const void *x)
{
    const block_q5_1 *a = w;
    const block_q8_1 *b = x;
    __m256 acc = _mm256_setzero_ps();
    float summs = 0;
    for (int64_t i = 0; i < n / QK8_1; i++) {
        summs = fmaf(x86_f16(a[i].m), x86_f16(b[i].s), summs);
        acc = x86_lanes_fma(acc, x86_dot_u8(x86_q5_values(a[i].qs, a[i].qh), x86_load256(b[i].qs)),
                            x86_f16(a[i].d) * x86_f16(b[i].d));
    }
    *s = x86_hsum8(acc) + summs;
}

/* ------------------------------------------------------------------------
 * The AVX2 table
 * ---------------------------------------------------------------------- */

static const kernel_ops avx2_ops = {
    .isa = "avx2",
    .vec_dot = {
        [GGML_TYPE_F32] = f32_dot_avx2,
        [GGML_TYPE_F16] = f16_dot_avx2,
        [GGML_TYPE_BF16] = bf16_dot_avx2,
        [MOTE_TYPE_FP8] = fp8_dot_avx2,
        [GGML_TYPE_Q4_0] = q4_0_dot_avx2,
        [GGML_TYPE_Q4_1] = q4_1_dot_avx2,
        [GGML_TYPE_Q5_0] = q5_0_dot_avx2,
        [GGML_TYPE_Q5_1] = q5_1_dot_avx2,
        [GGML_TYPE_Q8_0] = q8_0_dot_avx2,
        [GGML_TYPE_IQ4_NL] = iq4_nl_dot_avx2,
        [GGML_TYPE_Q2_K] = q2_K_dot_avx2,
        [GGML_TYPE_Q3_K] = q3_K_dot_avx2,
        [GGML_TYPE_Q4_K] = q4_K_dot_avx2,
        [GGML_TYPE_Q5_K] = q5_K_dot_avx2,
        [GGML_TYPE_Q6_K] = q6_K_dot_avx2,
        [GGML_TYPE_IQ4_XS] = iq4_xs_dot_avx2,
    },
    .vec_dot_x4 = {
        [GGML_TYPE_Q2_K] = q2_K_dot_x4_avx2,
        [GGML_TYPE_Q4_K] = q4_K_dot_x4_avx2,
    },
    .vec_dot_b2 = {
        [GGML_TYPE_F32] = f32_dot_batch_avx2,
        [GGML_TYPE_F16] = f16_dot_batch_avx2,
        [GGML_TYPE_BF16] = bf16_dot_batch_avx2,
    },
    .vec_dot_b8 = {
        [GGML_TYPE_IQ4_XS] = iq4_xs_dot_panel_avx2,
    },
    .vec_dot4 = {
        [GGML_TYPE_Q4_0] = q4_0_dot4_avx2,
        [GGML_TYPE_Q8_0] = q8_0_dot4_avx2,
        [GGML_TYPE_IQ4_NL] = iq4_nl_dot4_avx2,
        [MOTE_TYPE_FP8] = fp8_dot4_avx2,
    },
    .quantize = {
        [GGML_TYPE_F32] = f32_quantize,
        [GGML_TYPE_F16] = f16_quantize_avx2,
        [GGML_TYPE_BF16] = bf16_quantize_avx2,
        [GGML_TYPE_Q8_0] = q8_0_quantize_avx2,
        [GGML_TYPE_Q8_1] = q8_1_quantize_avx2,
        [GGML_TYPE_Q8_K] = q8_K_quantize_avx2,
    },
    .i8_rows = i8_dot_rows_avx2,
    .attn_chunk = {
        [GGML_TYPE_F16] = attn_chunk_f16_avx2,
        [GGML_TYPE_Q8_0] = attn_chunk_q8_0_avx2,
    },
    .attn_exact = {.values_batch = attn_values_batch_avx2},
};

const kernel_ops *kernels_avx2(void)
{
    return &avx2_ops;
}

#endif /* __x86_64__ */
