/*
 * dot_avx512.c — AVX-512 dot products and the AVX-512 kernel table.
 *
 * The float types' one-row and batch orders are llama.cpp's AVX-512
 * kernels' own 16-lane orders, so here they are native 512-bit loops; the
 * block types' one-row orders are the 8 lanes of llama.cpp's AVX2 kernels,
 * so the AVX2 functions serve (compiled for AVX2, they run here too) except
 * where a wider form keeps the same lanes. All bit-identical to the scalar
 * table (see dot_x86.h). Batches of several tokens go to the gemm slot
 * (gemm_avx512.c), and matmul_alone's to the alone gemms, vec_dot's
 * outputs for several tokens at once (dot_rt_avx512.c).
 */
#if defined(__x86_64__)

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "kernels/dot_fp8.h"
#include "kernels/dot_i8.h"
#include "kernels/dot_scalar.h"
#include "kernels/dot_x86.h"
#include "kernels/kernels_isa.h"
#include "kernels/simd_avx512.h"
#include "tensor/quant.h"

/* ------------------------------------------------------------------------
 * Float types
 * ---------------------------------------------------------------------- */

static float fold4(__m512 acc[4])
{
    acc[0] = _mm512_add_ps(acc[0], acc[2]);
    acc[1] = _mm512_add_ps(acc[1], acc[3]);
    return avx512_reduce16(_mm512_add_ps(acc[0], acc[1]));
}

/* 16 elements of a (F16 if f16, else F32) from element i, as F32. */
static inline __m512 load16(const void *a, int64_t i, int f16)
{
    return f16 ? avx512_load_f16((const mote_f16 *)a + i) : _mm512_loadu_ps((const float *)a + i);
}

/* The first n - n % 64 elements in four 16-lane FMA chains, folded. The
 * accumulators are named, not an array: gcc -O2 does not unroll a loop
 * over an array of them and keeps them on the stack. */
static inline __attribute__((always_inline)) float dot64(int64_t np, const void *a, const void *b, int f16)
{
    __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;
    for (int64_t i = 0; i < np; i += 64) {
        c0 = _mm512_fmadd_ps(load16(a, i, f16), load16(b, i, f16), c0);
        c1 = _mm512_fmadd_ps(load16(a, i + 16, f16), load16(b, i + 16, f16), c1);
        c2 = _mm512_fmadd_ps(load16(a, i + 32, f16), load16(b, i + 32, f16), c2);
        c3 = _mm512_fmadd_ps(load16(a, i + 48, f16), load16(b, i + 48, f16), c3);
    }
    __m512 acc[4] = {c0, c1, c2, c3};
    return fold4(acc);
}

void f32_dot_avx512(int64_t n, float *s, const void *w, const void *x)
{
    const float *a = w, *b = x;
    const int64_t np = n - n % 64;
    float sum = dot64(np, a, b, 0);
    for (int64_t i = np; i < n; i++) sum += a[i] * b[i];
    *s = sum;
}

void f16_dot_avx512(int64_t n, float *s, const void *w, const void *x)
{
    const mote_f16 *a = w, *b = x;
    const int64_t np = n - n % 64;
    double sum = dot64(np, a, b, 1);
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
    *s = avx512_reduce16(acc);
}

static void f16_dot_batch_avx512(int64_t n, float *s, const void *w, const void *x)
{
    if (n % 16) {
        f16_dot_batch_avx2(n, s, w, x);
        return;
    }
    const mote_f16 *a = w, *b = x;
    __m512 acc = _mm512_setzero_ps();
    for (int64_t i = 0; i < n; i += 16) acc = _mm512_fmadd_ps(avx512_load_f16(a + i), avx512_load_f16(b + i), acc);
    *s = avx512_reduce16(acc);
}


void bf16_dot_avx512(int64_t n, float *s, const void *w, const void *x)
{
    const mote_bf16 *a = w, *b = x;
    __m512 c0 = _mm512_setzero_ps(), c1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        c0 = avx512_dpbf16_16(c0, _mm512_loadu_si512(a + i), _mm512_loadu_si512(b + i));
        c1 = avx512_dpbf16_16(c1, _mm512_loadu_si512(a + i + 32), _mm512_loadu_si512(b + i + 32));
    }
    double sum = avx512_reduce16(c0);
    sum += avx512_reduce16(c1);
    for (; i < n; i++) sum += (double)(bf16_to_fp32(a[i]) * bf16_to_fp32(b[i]));
    *s = (float)sum;
}

static void bf16_dot_batch_avx512(int64_t n, float *s, const void *w, const void *x)
{
    const mote_bf16 *a = w, *b = x;
    __m512 c = _mm512_setzero_ps();
    for (int64_t i = 0; i + 32 <= n; i += 32) c = avx512_dpbf16_16(c, _mm512_loadu_si512(a + i), _mm512_loadu_si512(b + i));
    *s = avx512_reduce16(c);
}

/* ------------------------------------------------------------------------
 * Four rows at once: Q4_0 and IQ4_NL for token generation
 * ---------------------------------------------------------------------- */

/* One 128-bit lane from each of p0..p3 + off. */
static inline __m512i load4x128(const uint8_t *p0, const uint8_t *p1, const uint8_t *p2, const uint8_t *p3,
                                 size_t off)
{
    const __m512i v = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)(p0 + off)));
    const __m512i v1 = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(p1 + off)), 1);
    const __m512i v2 = _mm512_inserti32x4(v1, _mm_loadu_si128((const __m128i *)(p2 + off)), 2);
    return _mm512_inserti32x4(v2, _mm_loadu_si128((const __m128i *)(p3 + off)), 3);
}

static inline uint16_t load_u16(const void *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* The 16-byte nibbles of four consecutive blocks from p, one per 128-bit lane. */
static inline __m512i load_blocks4(const uint8_t *p)
{
    const size_t B = sizeof(block_q4_0);
    return load4x128(p, p + B, p + 2 * B, p + 3 * B, offsetof(block_q4_0, qs));
}

/* The four rows' exact sums of one block, zp taken off, as four lanes. */
static inline __m128i nib_block_sums4(const uint8_t *const a[4], size_t off, const int8_t *y, int zp, int lut)
{
    const __m256i table = x86_iq4nl_u8();
    const __m256i yv = x86_load256(y);
    const int sy = x86_hsum_i32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8((char)zp), yv));
    int32_t sum[4];
    for (int r = 0; r < 4; r++) {
        __m256i u = x86_nibbles(a[r] + off + offsetof(block_q4_0, qs));
        if (lut) u = _mm256_shuffle_epi8(table, u);
        sum[r] = x86_hsum_i32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), u, yv)) - sy;
    }
    return _mm_loadu_si128((const __m128i *)sum);
}

/* Word 4b + r: row r's scale of block b of the group at offset o. A
 * group's four scales are words 0, 9, 18 and 27 of its first 64 bytes (a
 * 72-byte group): one load per row and three word permutes. */
static inline __m256i scales4x4(const uint8_t *const a[4], size_t o)
{
    static const uint16_t even[32] = {0, 32, 0, 0, 9, 41, 0, 0, 18, 50, 0, 0, 27, 59};
    static const uint16_t odd[32] = {0, 0, 0, 32, 0, 0, 9, 41, 0, 0, 18, 50, 0, 0, 27, 59};
    const __m512i r01 = _mm512_permutex2var_epi16(_mm512_loadu_si512(a[0] + o), _mm512_loadu_si512(even),
                                                  _mm512_loadu_si512(a[1] + o));
    const __m512i r23 = _mm512_permutex2var_epi16(_mm512_loadu_si512(a[2] + o), _mm512_loadu_si512(odd),
                                                  _mm512_loadu_si512(a[3] + o));
    return _mm512_castsi512_si256(_mm512_mask_blend_epi16(0xcccccccc, r01, r23));
}

/* vec_dot4 for the 4-bit block types, in steps of four blocks: sixteen
 * (row, block) sums side by side, 32-bit lane 4b + r holding row r's
 * block b, each exact (in any order). The rows' 16 bytes of nibbles are
 * transposed in registers: A_r holds row r's four blocks in its four
 * 128-bit lanes, and two rounds of unpacks give T_j, whose lane 4b + r is
 * bytes 4j..4j+3 of that block: low nibbles elements 4j..4j+3, high
 * nibbles 16 + 4j... Then vpdpbusd multiplies them, as unsigned bytes
 * (IQ4_NL: its value + 128 by table), by the block's matching activation
 * bytes (the four blocks' activations in the four 128-bit lanes, spread
 * within each lane by vpshufd), and the zero point (8, or 128) times the
 * block's activation sum is taken off. Row r's FMA chain then takes its
 * four blocks in order, one 128-bit lane after the other: the scalar
 * chain. Against the AVX2 kernel (one block, horizontal sums and sign
 * tricks) this is about half the instructions per row and block.
 *
 * Memory sees four streams (dot_quarters) each reading 72 bytes per step.
 * A sixteen-row form of the same kernel (one block of sixteen streams per
 * step, ~6 instructions per row and block, 25% faster on weights in
 * cache) was 20% slower in the model: llama-3.2-1b Q4_0 generation, 42
 * against 51 t/s, alternating runs. The hardware prefetchers follow few
 * streams that each read lines quickly better than many slow ones. */
static inline __attribute__((always_inline)) void nib_dot4(int64_t nb, float *s, const uint8_t *w, size_t ws,
                                                           const block_q8_0 *b, int lut)
{
    const size_t B = sizeof(block_q4_0); /* == sizeof(block_iq4_nl) */
    const int zp = lut ? 128 : 8;
    const __m512i m4 = _mm512_set1_epi8(0x0f), zpv = _mm512_set1_epi8((char)zp);
    const __m512i table = _mm512_broadcast_i64x4(x86_iq4nl_u8());
    const __m512i blk = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    const uint8_t *const a[4] = {w, w + ws, w + 2 * ws, w + 3 * ws};
    __m128 acc = _mm_setzero_ps();
    int64_t i = 0;
    for (; i + 4 <= nb; i += 4) {
        const size_t o = (size_t)i * B;
        x86_prefetch_rows4(a[0] + o, ws, 4 * B);
        const __m512i a0 = load_blocks4(a[0] + o), a1 = load_blocks4(a[1] + o);
        const __m512i a2 = load_blocks4(a[2] + o), a3 = load_blocks4(a[3] + o);
        const __m512i t0 = _mm512_unpacklo_epi32(a0, a1), t1 = _mm512_unpackhi_epi32(a0, a1);
        const __m512i t2 = _mm512_unpacklo_epi32(a2, a3), t3 = _mm512_unpackhi_epi32(a2, a3);
        /* 128-bit lane L: block i + L's activation bytes 0..15, 16..31 */
        const block_q8_0 *y = b + i;
        const uint8_t *y0 = (const uint8_t *)y[0].qs, *y1 = (const uint8_t *)y[1].qs;
        const uint8_t *y2 = (const uint8_t *)y[2].qs, *y3 = (const uint8_t *)y[3].qs;
        const __m512i ylo = load4x128(y0, y1, y2, y3, 0), yhi = load4x128(y0, y1, y2, y3, 16);
        __m512i sy = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), zpv, ylo), zpv, yhi);
        sy = _mm512_add_epi32(sy, _mm512_shuffle_epi32(sy, (_MM_PERM_ENUM)0x4e));
        sy = _mm512_add_epi32(sy, _mm512_shuffle_epi32(sy, (_MM_PERM_ENUM)0xb1));
        __m512i lo = _mm512_sub_epi32(_mm512_setzero_si512(), sy), hi = _mm512_setzero_si512();
#define NIB_STEP(t, j)                                                                                   \
    do {                                                                                                 \
        __m512i l = _mm512_and_si512(t, m4), h = _mm512_and_si512(_mm512_srli_epi16(t, 4), m4);          \
        if (lut) l = _mm512_shuffle_epi8(table, l), h = _mm512_shuffle_epi8(table, h);                   \
        lo = _mm512_dpbusd_epi32(lo, l, _mm512_shuffle_epi32(ylo, (_MM_PERM_ENUM)((j) * 0x55)));          \
        hi = _mm512_dpbusd_epi32(hi, h, _mm512_shuffle_epi32(yhi, (_MM_PERM_ENUM)((j) * 0x55)));          \
    } while (0)
        NIB_STEP(_mm512_unpacklo_epi64(t0, t2), 0);
        NIB_STEP(_mm512_unpackhi_epi64(t0, t2), 1);
        NIB_STEP(_mm512_unpacklo_epi64(t1, t3), 2);
        NIB_STEP(_mm512_unpackhi_epi64(t1, t3), 3);
#undef NIB_STEP
        const __m256i dw = scales4x4(a, o);
        const __m128 dx = x86_f16x4(y[0].d, y[1].d, y[2].d, y[3].d);
        const __m512 d = _mm512_mul_ps(_mm512_cvtph_ps(dw),
                                       _mm512_permutexvar_ps(blk, _mm512_castps128_ps512(dx)));
        const __m512 f = _mm512_cvtepi32_ps(_mm512_add_epi32(lo, hi));
        acc = _mm_fmadd_ps(_mm512_castps512_ps128(f), _mm512_castps512_ps128(d), acc);
        acc = _mm_fmadd_ps(_mm512_extractf32x4_ps(f, 1), _mm512_extractf32x4_ps(d, 1), acc);
        acc = _mm_fmadd_ps(_mm512_extractf32x4_ps(f, 2), _mm512_extractf32x4_ps(d, 2), acc);
        acc = _mm_fmadd_ps(_mm512_extractf32x4_ps(f, 3), _mm512_extractf32x4_ps(d, 3), acc);
    }
    for (; i < nb; i++) {
        const size_t o = (size_t)i * B;
        const __m128 d = _mm_mul_ps(x86_f16x4(load_u16(a[0] + o), load_u16(a[1] + o), load_u16(a[2] + o),
                                              load_u16(a[3] + o)),
                                    _mm_set1_ps(x86_f16(b[i].d)));
        acc = _mm_fmadd_ps(_mm_cvtepi32_ps(nib_block_sums4(a, o, b[i].qs, zp, lut)), d, acc);
    }
    _mm_storeu_ps(s, acc);
}

static void q4_0_dot4_avx512(int64_t n, float *s, const void *w, size_t ws, const void *x)
{
    nib_dot4(n / QK4_0, s, w, ws, x, 0);
}

static void iq4_nl_dot4_avx512(int64_t n, float *s, const void *w, size_t ws, const void *x)
{
    nib_dot4(n / QK4_NL, s, w, ws, x, 1);
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
        [MOTE_TYPE_FP8] = fp8_dot_avx512,                                                                \
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
        [GGML_TYPE_F16] = f16_dot4_avx512,                                                               \
        [GGML_TYPE_Q4_0] = q4_0_dot4_avx512,                                                             \
        [GGML_TYPE_Q8_0] = q8_0_dot4_avx2,                                                               \
        [MOTE_TYPE_FP8] = fp8_dot4_avx512,                                                               \
        [GGML_TYPE_IQ4_NL] = iq4_nl_dot4_avx512,                                                         \
        [GGML_TYPE_Q4_K] = q4_K_dot4_avx512,                                                             \
        [GGML_TYPE_Q6_K] = q6_K_dot4_avx512,                                                             \
    },                                                                                                   \
    .vec_dot_rt = {                                                                                      \
        [GGML_TYPE_F32] = f32_dot_rt_avx512,                                                             \
        [GGML_TYPE_F16] = f16_dot_rt_avx512,                                                             \
        [GGML_TYPE_Q8_0] = q8_0_dot_rt_avx512,                                                           \
        [GGML_TYPE_Q4_0] = q4_0_dot_rt_avx512,                                                           \
        [GGML_TYPE_BF16] = bf16_dot_rt_avx512,                                                           \
        [MOTE_TYPE_Q4_K_R16] = q4_K_r16_dot_rt_avx512,                                                   \
    },                                                                                                   \
    /* two Q4_0 tokens: 0.85x of q4_0_dot4_avx512 at k = 128 (the call per \
     * four rows), 1.0x at 2048 */                                                                       \
    .vec_dot_rt_min = {[GGML_TYPE_Q4_0] = 3},                                                            \
    .quantize = {                                                                                        \
        [GGML_TYPE_F32] = f32_quantize,                                                                  \
        [GGML_TYPE_F16] = f16_quantize_avx2,                                                             \
        [GGML_TYPE_BF16] = bf16_quantize_avx2,                                                           \
        [GGML_TYPE_Q8_0] = q8_0_quantize_avx2,                                                           \
        [GGML_TYPE_Q8_1] = q8_1_quantize_avx2,                                                           \
        [GGML_TYPE_Q8_K] = q8_K_quantize_avx2,                                                           \
    },                                                                                                   \
    .swiglu = swiglu_avx512,                                                                             \
    .attn_chunk = {                                                                                      \
        [GGML_TYPE_F16] = attn_chunk_f16_avx512,                                                         \
        [GGML_TYPE_Q8_0] = attn_chunk_q8_0_avx512,                                                       \
    },                                                                                                   \
    .attn_exact = {attn_dot_avx512, attn_values_avx512, attn_values_batch_avx512},                                                 \
    .i8_rows = i8_dot_rows_avx512

/* The gemms that reproduce the scalar table's batch results bit for bit
 * (F32, F16, BF16: tinyBLAS's lanes, gemm_f_avx512.c; Q4_0, IQ4_NL: one
 * chain of exact block sums; Q4_K, Q2_K: llama.cpp's two chains; Q8_0,
 * Q5_0, Q4_1, Q5_1: the 8 lanes of its AVX2 dots, gemm_lanes_avx512.c, and
 * for Q8_0 batches of a few tokens gemm_small_avx512.c;
 * Q6_K: ggml's 8 lanes, gemm_k_avx512.c; FP8: its one-row order,
 * dot_fp8_avx512.c; the stored layouts Q8_0_R16, Q4_0_R16, IQ4_NL_R16: the plain
 * type's one-row order for every token, gemm_layout_avx512.c; Q4_K_R16: Q4_K's
 * two orders, and vec_dot's in the alone gemm; Q6_K_R16: the one-row order,
 * gemm_k_avx512.c), but BF16's, which the tables choose differently. */
#define AVX512_EXACT_GEMMS                                                                               \
    [GGML_TYPE_F32] = f32_gemm_avx512,                                                                   \
    [GGML_TYPE_F16] = f16_gemm_avx512,                                                                   \
    [GGML_TYPE_Q4_0] = q4_0_gemm_avx512,                                                                 \
    [GGML_TYPE_Q4_1] = q4_1_gemm_lanes_avx512,                                                           \
    [GGML_TYPE_Q5_0] = q5_0_gemm_lanes_avx512,                                                           \
    [GGML_TYPE_Q5_1] = q5_1_gemm_lanes_avx512,                                                           \
    [GGML_TYPE_Q8_0] = q8_0_gemm_avx512,                                                                 \
    [GGML_TYPE_IQ4_NL] = iq4_nl_gemm_avx512,                                                             \
    [GGML_TYPE_Q2_K] = q2_K_gemm_avx512,                                                                 \
    [GGML_TYPE_Q4_K] = q4_K_gemm_avx512,                                                                 \
    [GGML_TYPE_Q6_K] = q6_K_gemm_avx512,                                                                 \
    [MOTE_TYPE_FP8] = fp8_gemm_avx512,                                                                   \
    [MOTE_TYPE_Q8_0_R16] = q8_0_r16_gemm_avx512,                                                         \
    [MOTE_TYPE_Q4_0_R16] = q4_0_r16_gemm_avx512,                                                         \
    [MOTE_TYPE_IQ4_NL_R16] = iq4_nl_r16_gemm_avx512,                                                     \
    [MOTE_TYPE_Q4_K_R16] = q4_K_r16_gemm_avx512,                                                         \
    [MOTE_TYPE_Q6_K_R16] = q6_K_r16_gemm_avx512

/* "avx512": gemms only where they reproduce the scalar table's batch
 * results bit for bit. Every result of this table is the scalar table's,
 * so llama.cpp's goldens hold at their generation-path tolerance. */
static const kernel_ops avx512_ops = {
    .isa = "avx512",
    AVX512_SLOTS,
    .gemm = {
        AVX512_EXACT_GEMMS,
        [GGML_TYPE_BF16] = bf16_gemm_avx512,
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
    .gemm = {
        AVX512_EXACT_GEMMS,
        [GGML_TYPE_BF16] = bf16_dpbf16_gemm_avx512,
        [GGML_TYPE_Q3_K] = q3_K_gemm_avx512,
        [GGML_TYPE_Q5_K] = q5_K_gemm_avx512,
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
