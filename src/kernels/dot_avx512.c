/*
 * dot_avx512.c — AVX-512 dot products and the AVX-512 kernel table.
 *
 * The float types' one-row and batch orders are llama.cpp's AVX-512
 * kernels' own 16-lane orders, so here they are native 512-bit loops; the
 * block types' one-row orders are the 8 lanes of llama.cpp's AVX2 kernels,
 * so the AVX2 functions serve (compiled for AVX2, they run here too) except
 * where a wider form keeps the same lanes. All bit-identical to the scalar
 * table (see dot_x86.h). Batches of several tokens go to the gemm slot
 * (gemm_avx512.c).
 */
#if defined(__x86_64__)

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "kernels/dot_x86.h"
#include "kernels/dot_scalar.h"
#include "kernels/kernels_isa.h"
#include "tensor/quant.h"

/* ------------------------------------------------------------------------
 * Float types
 * ---------------------------------------------------------------------- */

/* The scalar reduce16 (halves folded 16 -> 8 -> 4, then (0+2) + (1+3)). */
static inline float reduce16(__m512 v)
{
    return x86_reduce16(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
}

static float fold4(__m512 acc[4])
{
    acc[0] = _mm512_add_ps(acc[0], acc[2]);
    acc[1] = _mm512_add_ps(acc[1], acc[3]);
    return reduce16(_mm512_add_ps(acc[0], acc[1]));
}

/* Four accumulators named, not an array: gcc -O2 does not unroll a loop
 * over an array of them and keeps them on the stack. */
static void f32_dot_avx512(int64_t n, float *s, const void *w, const void *x)
{
    const float *a = w, *b = x;
    const int64_t np = n - n % 64;
    __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;
    for (int64_t i = 0; i < np; i += 64) {
        c0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), c0);
        c1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), c1);
        c2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), c2);
        c3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), c3);
    }
    __m512 acc[4] = {c0, c1, c2, c3};
    float sum = fold4(acc);
    for (int64_t i = np; i < n; i++) sum += a[i] * b[i];
    *s = sum;
}

static inline __m512 load_f16(const mote_f16 *p)
{
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
}

static void f16_dot_avx512(int64_t n, float *s, const void *w, const void *x)
{
    const mote_f16 *a = w, *b = x;
    const int64_t np = n - n % 64;
    __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;
    for (int64_t i = 0; i < np; i += 64) {
        c0 = _mm512_fmadd_ps(load_f16(a + i), load_f16(b + i), c0);
        c1 = _mm512_fmadd_ps(load_f16(a + i + 16), load_f16(b + i + 16), c1);
        c2 = _mm512_fmadd_ps(load_f16(a + i + 32), load_f16(b + i + 32), c2);
        c3 = _mm512_fmadd_ps(load_f16(a + i + 48), load_f16(b + i + 48), c3);
    }
    __m512 acc[4] = {c0, c1, c2, c3};
    double sum = fold4(acc);
    for (int64_t i = np; i < n; i++) sum += (double)(x86_f16(a[i]) * x86_f16(b[i]));
    *s = (float)sum;
}

static void f32_dot_batch_avx512(int64_t n, float *s, const void *w, const void *x)
{
    if (n % 16) {
        f32_dot_batch_avx2(n, s, w, x);
        return;
    }
    const float *a = w, *b = x;
    __m512 acc = _mm512_setzero_ps();
    for (int64_t i = 0; i < n; i += 16) acc = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc);
    *s = reduce16(acc);
}

static void f16_dot_batch_avx512(int64_t n, float *s, const void *w, const void *x)
{
    if (n % 16) {
        f16_dot_batch_avx2(n, s, w, x);
        return;
    }
    const mote_f16 *a = w, *b = x;
    __m512 acc = _mm512_setzero_ps();
    for (int64_t i = 0; i < n; i += 16) acc = _mm512_fmadd_ps(load_f16(a + i), load_f16(b + i), acc);
    *s = reduce16(acc);
}

/* dpbf16 (see dot_scalar.c) on 16 lanes: odd element's exact product
 * added first, then the even one's, each addition rounded. */
static inline __m512 dpbf16_16(__m512 acc, __m512i a, __m512i b)
{
    const __m512i hi = _mm512_set1_epi32((int)0xffff0000u);
    acc = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_and_si512(a, hi)), _mm512_castsi512_ps(_mm512_and_si512(b, hi)), acc);
    return _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_slli_epi32(a, 16)), _mm512_castsi512_ps(_mm512_slli_epi32(b, 16)), acc);
}

static inline __m512i load512(const void *p)
{
    return _mm512_loadu_si512(p);
}

static void bf16_dot_avx512(int64_t n, float *s, const void *w, const void *x)
{
    const mote_bf16 *a = w, *b = x;
    __m512 c0 = _mm512_setzero_ps(), c1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        c0 = dpbf16_16(c0, load512(a + i), load512(b + i));
        c1 = dpbf16_16(c1, load512(a + i + 32), load512(b + i + 32));
    }
    double sum = reduce16(c0);
    sum += reduce16(c1);
    for (; i < n; i++) sum += (double)(bf16_to_fp32(a[i]) * bf16_to_fp32(b[i]));
    *s = (float)sum;
}

static void bf16_dot_batch_avx512(int64_t n, float *s, const void *w, const void *x)
{
    const mote_bf16 *a = w, *b = x;
    __m512 c = _mm512_setzero_ps();
    for (int64_t i = 0; i + 32 <= n; i += 32) c = dpbf16_16(c, load512(a + i), load512(b + i));
    *s = reduce16(c);
}

/* ------------------------------------------------------------------------
 * Sixteen rows at once: Q4_0 and IQ4_NL for token generation
 * ---------------------------------------------------------------------- */

/* vec_dot16 for the 4-bit block types: sixteen rows' block sums side by
 * side, one row per 32-bit lane, and sixteen FMA chains in the lanes of
 * one vector, each lane the scalar chain of its row (a block's integer
 * sum is exact in any order). Per block, the rows' 16 bytes of nibbles
 * are transposed in registers: A_g holds rows g, g + 4, g + 8, g + 12 in
 * its four 128-bit lanes, and two rounds of unpacks give T_j, whose lane
 * r is bytes 4j..4j+3 of row r: low nibbles elements 4j..4j+3, high
 * nibbles 16 + 4j... Then vpdpbusd multiplies them, as unsigned bytes
 * (IQ4_NL: its value + 128 by table), by the activation's four matching
 * bytes broadcast to every lane, and the zero point (8, or 128) times the
 * block's activation sum is taken off. The weight scales of the 16 rows
 * are gathered by word inserts (a vpgatherdd measured slower). Against the four-row kernel this does without the
 * horizontal sums and the sign tricks: about 6 instructions per row and
 * block, 2.6 times faster on weights in cache. No software prefetch: with
 * sixteen streams it measured slower in the model than the hardware
 * prefetchers alone. */
/* One 128-bit lane from each of p0..p3 + off. */
static inline __m512i load4x128(const uint8_t *p0, const uint8_t *p1, const uint8_t *p2, const uint8_t *p3,
                                 size_t off)
{
    const __m512i v = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)(p0 + off)));
    const __m512i v1 = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(p1 + off)), 1);
    const __m512i v2 = _mm512_inserti32x4(v1, _mm_loadu_si128((const __m128i *)(p2 + off)), 2);
    return _mm512_inserti32x4(v2, _mm_loadu_si128((const __m128i *)(p3 + off)), 3);
}

/* 8 * (sum of the 32 activation bytes), in every lane. */
static inline __m512i act_sum_x(const int8_t *qs, int zp)
{
    const __m256i s = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8((char)zp),
                                          _mm256_loadu_si256((const __m256i *)qs));
    __m128i h = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
    return _mm512_broadcastd_epi32(h);
}

static inline int load_u16(const void *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline int32_t load_i32(const void *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* The F16 words at a + g * ws, then b + g * ws (ws3 = 3 * ws): eight of
 * the rows' block scales, by word inserts (a vpgatherdd measured slower). */
static inline __m128i scales8(const uint8_t *a, const uint8_t *b, size_t ws, size_t ws3)
{
    __m128i h = _mm_cvtsi32_si128(load_u16(a));
    h = _mm_insert_epi16(h, load_u16(a + ws), 1);
    h = _mm_insert_epi16(h, load_u16(a + 2 * ws), 2);
    h = _mm_insert_epi16(h, load_u16(a + ws3), 3);
    h = _mm_insert_epi16(h, load_u16(b), 4);
    h = _mm_insert_epi16(h, load_u16(b + ws), 5);
    h = _mm_insert_epi16(h, load_u16(b + 2 * ws), 6);
    return _mm_insert_epi16(h, load_u16(b + ws3), 7);
}

/* The shared body; lut: map the nibbles through iq4nl_values + 128. Row
 * 4L + g is p[L] + g * ws: four pointers and two strides keep the sixteen
 * addresses in registers. */
static inline __attribute__((always_inline)) void nib_dot16(int64_t nb, float *s, const uint8_t *w, size_t ws,
                                                            const block_q8_0 *b, int lut)
{
    const size_t ws3 = 3 * ws, qs = offsetof(block_q4_0, qs);
    const int zp = lut ? 128 : 8;
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    const __m512i table = _mm512_broadcast_i32x4(
        _mm_xor_si128(_mm_loadu_si128((const __m128i *)iq4nl_values), _mm_set1_epi8((char)0x80)));
    const uint8_t *p0 = w, *p1 = w + 4 * ws, *p2 = w + 8 * ws, *p3 = w + 12 * ws;
    __m512 acc = _mm512_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        const __m512i a0 = load4x128(p0, p1, p2, p3, qs), a1 = load4x128(p0, p1, p2, p3, qs + ws);
        const __m512i a2 = load4x128(p0, p1, p2, p3, qs + 2 * ws), a3 = load4x128(p0, p1, p2, p3, qs + ws3);
        const __m512i t0 = _mm512_unpacklo_epi32(a0, a1), t1 = _mm512_unpackhi_epi32(a0, a1);
        const __m512i t2 = _mm512_unpacklo_epi32(a2, a3), t3 = _mm512_unpackhi_epi32(a2, a3);
        const int8_t *y = b[i].qs;
        __m512i lo = _mm512_sub_epi32(_mm512_setzero_si512(), act_sum_x(y, zp)), hi = _mm512_setzero_si512();
#define NIB_STEP(t, j)                                                                                   \
    do {                                                                                                 \
        __m512i l = _mm512_and_si512(t, m4), h = _mm512_and_si512(_mm512_srli_epi16(t, 4), m4);          \
        if (lut) l = _mm512_shuffle_epi8(table, l), h = _mm512_shuffle_epi8(table, h);                   \
        lo = _mm512_dpbusd_epi32(lo, l, _mm512_set1_epi32(load_i32(y + 4 * (j))));                       \
        hi = _mm512_dpbusd_epi32(hi, h, _mm512_set1_epi32(load_i32(y + 16 + 4 * (j))));                  \
    } while (0)
        NIB_STEP(_mm512_unpacklo_epi64(t0, t2), 0);
        NIB_STEP(_mm512_unpackhi_epi64(t0, t2), 1);
        NIB_STEP(_mm512_unpacklo_epi64(t1, t3), 2);
        NIB_STEP(_mm512_unpackhi_epi64(t1, t3), 3);
#undef NIB_STEP
        const __m256i d16 = _mm256_set_m128i(scales8(p2, p3, ws, ws3), scales8(p0, p1, ws, ws3));
        const __m512 d = _mm512_mul_ps(_mm512_cvtph_ps(d16), _mm512_set1_ps(x86_f16(b[i].d)));
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(lo, hi)), d, acc);
        /* the next block (sizeof(block_iq4_nl) is the same) */
        p0 += sizeof(block_q4_0), p1 += sizeof(block_q4_0), p2 += sizeof(block_q4_0), p3 += sizeof(block_q4_0);
    }
    _mm512_storeu_ps(s, acc);
}

static void q4_0_dot16_avx512(int64_t n, float *s, const void *w, size_t ws, const void *x)
{
    nib_dot16(n / QK4_0, s, w, ws, x, 0);
}

static void iq4_nl_dot16_avx512(int64_t n, float *s, const void *w, size_t ws, const void *x)
{
    nib_dot16(n / QK4_NL, s, w, ws, x, 1);
}

/* ------------------------------------------------------------------------
 * The AVX-512 table
 * ---------------------------------------------------------------------- */

/* Both AVX-512 tables share every slot but the gemms. */
#define AVX512_SLOTS                                                                                     \
    .vec_dot = {                                                                                         \
        [GGML_TYPE_F32] = f32_dot_avx512,                                                                \
        [GGML_TYPE_F16] = f16_dot_avx512,                                                                \
        [GGML_TYPE_BF16] = bf16_dot_avx512,                                                              \
        [GGML_TYPE_Q4_0] = q4_0_dot_avx2,                                                                \
        [GGML_TYPE_Q4_1] = q4_1_dot_avx2,                                                                \
        [GGML_TYPE_Q5_0] = q5_0_dot_avx2,                                                                \
        [GGML_TYPE_Q5_1] = q5_1_dot_avx2,                                                                \
        [GGML_TYPE_Q8_0] = q8_0_dot_avx2,                                                                \
        [GGML_TYPE_IQ4_NL] = iq4_nl_dot_avx2,                                                            \
        [GGML_TYPE_Q2_K] = q2_K_dot_avx2,                                                                \
        [GGML_TYPE_Q3_K] = q3_K_dot_avx2,                                                                \
        [GGML_TYPE_Q4_K] = q4_K_dot_avx512,                                                              \
        [GGML_TYPE_Q5_K] = q5_K_dot_avx2,                                                                \
        [GGML_TYPE_Q6_K] = q6_K_dot_avx512,                                                              \
        [GGML_TYPE_IQ4_XS] = iq4_xs_dot_avx2,                                                            \
    },                                                                                                   \
    .vec_dot_x4 = {                                                                                      \
        [GGML_TYPE_Q2_K] = q2_K_dot_x4_avx2,                                                             \
        [GGML_TYPE_Q4_K] = q4_K_dot_x4_avx2,                                                             \
    },                                                                                                   \
    .vec_dot_b2 = {                                                                                      \
        [GGML_TYPE_F32] = f32_dot_batch_avx512,                                                          \
        [GGML_TYPE_F16] = f16_dot_batch_avx512,                                                          \
        [GGML_TYPE_BF16] = bf16_dot_batch_avx512,                                                        \
    },                                                                                                   \
    .vec_dot_b8 = {                                                                                      \
        [GGML_TYPE_IQ4_XS] = iq4_xs_dot_panel_avx2,                                                      \
    },                                                                                                   \
    .vec_dot4 = {                                                                                        \
        [GGML_TYPE_Q4_0] = q4_0_dot4_avx2,                                                               \
        [GGML_TYPE_Q8_0] = q8_0_dot4_avx2,                                                               \
        [GGML_TYPE_IQ4_NL] = iq4_nl_dot4_avx2,                                                           \
        [GGML_TYPE_Q4_K] = q4_K_dot4_avx512,                                                             \
        [GGML_TYPE_Q6_K] = q6_K_dot4_avx512,                                                             \
    },                                                                                                   \
    .vec_dot16 = {                                                                                       \
        [GGML_TYPE_Q4_0] = q4_0_dot16_avx512,                                                            \
        [GGML_TYPE_IQ4_NL] = iq4_nl_dot16_avx512,                                                        \
    },                                                                                                   \
    .quantize = {                                                                                        \
        [GGML_TYPE_F32] = f32_quantize,                                                                  \
        [GGML_TYPE_F16] = f16_quantize_avx2,                                                             \
        [GGML_TYPE_BF16] = bf16_quantize_avx2,                                                           \
        [GGML_TYPE_Q8_0] = q8_0_quantize_avx2,                                                           \
        [GGML_TYPE_Q8_1] = q8_1_quantize_avx2,                                                           \
        [GGML_TYPE_Q8_K] = q8_K_quantize_avx2,                                                           \
    }

/* "avx512": gemms only where they reproduce the scalar table's batch
 * results bit for bit (F32, F16, BF16: tinyBLAS's lanes, gemm_f_avx512.c;
 * Q4_0, IQ4_NL: one chain of exact block sums; Q4_K, Q2_K: llama.cpp's
 * two chains; Q8_0, Q5_0, Q4_1, Q5_1: the 8 lanes of its AVX2 dots,
 * gemm_lanes_avx512.c; Q6_K: ggml's 8 lanes, gemm_k_avx512.c). Every
 * result of this table is the scalar table's, so llama.cpp's goldens hold
 * at their generation-path tolerance. */
static const kernel_ops avx512_ops = {
    .isa = "avx512",
    AVX512_SLOTS,
    .swiglu = swiglu_avx512,
    .gemm = {
        [GGML_TYPE_F32] = f32_gemm_avx512,
        [GGML_TYPE_F16] = f16_gemm_avx512,
        [GGML_TYPE_BF16] = bf16_gemm_avx512,
        [GGML_TYPE_Q4_0] = q4_0_gemm_avx512,
        [GGML_TYPE_Q4_1] = q4_1_gemm_lanes_avx512,
        [GGML_TYPE_Q5_0] = q5_0_gemm_lanes_avx512,
        [GGML_TYPE_Q5_1] = q5_1_gemm_lanes_avx512,
        [GGML_TYPE_Q8_0] = q8_0_gemm_lanes_avx512,
        [GGML_TYPE_IQ4_NL] = iq4_nl_gemm_avx512,
        [GGML_TYPE_Q2_K] = q2_K_gemm_avx512,
        [GGML_TYPE_Q4_K] = q4_K_gemm_avx512,
        [GGML_TYPE_Q6_K] = q6_K_gemm_avx512,
    },
};

/* "avx512fast": a gemm for every type, those the avx512 table lacks in
 * their own summation order (gemm_avx512.c), BF16 by vdpbf16ps (which
 * flushes denormals, see gemm_f_avx512.c): batches differ from llama.cpp's
 * by rounding (about 1e-3 .. 2e-2 on the goldens' logits, after the
 * network's amplification). Chosen only by MOTE_ISA=avx512fast. */
static const kernel_ops avx512fast_ops = {
    .isa = "avx512fast",
    AVX512_SLOTS,
    .swiglu = swiglu_avx512,
    .gemm = {
        [GGML_TYPE_F32] = f32_gemm_avx512,
        [GGML_TYPE_F16] = f16_gemm_avx512,
        [GGML_TYPE_BF16] = bf16_dpbf16_gemm_avx512,
        [GGML_TYPE_Q4_0] = q4_0_gemm_avx512,
        [GGML_TYPE_Q4_1] = q4_1_gemm_lanes_avx512,
        [GGML_TYPE_Q5_0] = q5_0_gemm_lanes_avx512,
        [GGML_TYPE_Q5_1] = q5_1_gemm_lanes_avx512,
        [GGML_TYPE_Q8_0] = q8_0_gemm_lanes_avx512,
        [GGML_TYPE_IQ4_NL] = iq4_nl_gemm_avx512,
        [GGML_TYPE_Q2_K] = q2_K_gemm_avx512,
        [GGML_TYPE_Q3_K] = q3_K_gemm_avx512,
        [GGML_TYPE_Q4_K] = q4_K_gemm_avx512,
        [GGML_TYPE_Q5_K] = q5_K_gemm_avx512,
        [GGML_TYPE_Q6_K] = q6_K_gemm_avx512,
        [GGML_TYPE_IQ4_XS] = iq4_xs_gemm_avx512,
    },
};

const kernel_ops *kernels_avx512(void)
{
    return &avx512_ops;
}

const kernel_ops *kernels_avx512fast(void)
{
    return &avx512fast_ops;
}

#endif /* __x86_64__ */
