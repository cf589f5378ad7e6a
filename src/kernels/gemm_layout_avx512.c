/*
 * gemm_layout_avx512.c — matrix products with AVX512-VNNI over the stored
 * layouts of tensor/layout.h (Q8_0_R16, Q4_0_R16, IQ4_NL_R16): every output, batch or
 * single token, in the plain type's one-row (vec_dot) order, bit for bit.
 *
 * One zmm holds 16 outputs: the 16 rows of a group against one token, one
 * row per 32-bit lane, so a step of a stored block (16 rows x 4 bytes) is
 * vpdpbusd's weight operand as loaded, the token's 4 activation bytes are
 * broadcast, and the block scales of the 16 rows are one vcvtph2ps of the
 * stored F16 scales. Nothing is unpacked or repacked per call.
 *
 * Q8_0 (the order of dot_scalar.c's q8_0_dot_scalar): lane l of a row
 * is an FMA chain over the blocks, fma(d_i, isum_il, lane), isum_il the
 * exact sum over elements 4l .. 4l + 3: step l of the block is lane l, so
 * each token keeps 8 accumulators (one per step) and the final hsum8 is
 * vertical adds. vpdpbusd multiplies unsigned by signed bytes: the weights
 * are stored + 128 (unsigned), the activation quants are the signed operand
 * as matmul converted them, and the accumulator starts at -128 * (sum of
 * the step's 4 activation quants), formed once per token (prep_q8) for
 * all the groups: exact for every input, and per token and step the float
 * ports see just vpdpbusd, one conversion and one FMA (the order's own
 * cost: 8 conversions and FMAs per 32 elements bound Q8_0 at about a third
 * of the int8 peak where these share two ports).
 *
 * Q4_0 (q4_0_dot_scalar): one chain, fma(isum_i, d_i, sum), isum_i the
 * exact sum of (q - 8) * y over the block: the nibbles q are unsigned,
 * the activation quants y are the signed operand as matmul converted
 * them, and the integer accumulator starts at -8 * (sum of y).
 *
 * IQ4_NL (iq4_nl_dot_scalar): Q4_0's chain and stored bytes, the nibbles
 * looked up (vpshufb) in the IQ4_NL table + 128 (unsigned), the integer
 * accumulator starting at -128 * (sum of y).
 *
 * A call covers whole groups (nr a multiple of 16) and any number of
 * tokens: tokens in register blocks of Q8_TOKENS / Q4_TOKENS, each block
 * taking every group of the call in turn over the whole reduction (the
 * groups' weights stay in L2 across the token blocks of a batch).
 */
#if defined(__x86_64__)

#include <string.h>

#include "kernels/dot_x86.h"
#include "kernels/kernels.h"
#include "kernels/simd_avx2.h"
#include "kernels/simd_avx512.h"
#include "tensor/layout.h"
#include "tensor/quant.h"

#define QK 32                    /* elements per block */
#define R LAYOUT_ROWS            /* rows per group = lanes per vector */
#define NB_MAX (LAYOUT_K_MAX / QK)
#define Q8_GROUP_BLOCK (R * sizeof(block_q8_0)) /* bytes of a group's block */
#define Q4_GROUP_BLOCK (R * sizeof(block_q4_0))
#define SCALES (2 * R)           /* bytes of a group block's F16 scales */
#define Q8_TOKENS 3              /* tokens per register block: 8 accumulators each */
#define Q4_TOKENS 8              /* one integer and one float accumulator each */

/* Generation (the call's tokens fit one register block): the weights are
 * a stream from memory, read once; each block prefetches the bytes this
 * far ahead (the next groups follow in memory), which the hardware
 * prefetchers alone do not keep up with (measured: 20% slower without). */
#define PF_AHEAD 4096

#define ALIGN64 __attribute__((aligned(64)))

/* Prefetches the len bytes from p. */
static inline __attribute__((always_inline)) void prefetch_block(const uint8_t *p, size_t len)
{
    for (size_t o = 0; o < len; o += 64) _mm_prefetch((const char *)p + o, _MM_HINT_T0);
}

static inline int32_t load_i32(const void *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* ------------------------------------------------------------------------
 * Q8_0_R16
 * ---------------------------------------------------------------------- */

/* A register block's activations: the block scales as floats, and per
 * block and step -128 * (sum of the step's 4 quants), the correction the
 * stored weights' + 128 needs. */
typedef struct act_q8 {
    float d[Q8_TOKENS][NB_MAX] ALIGN64;
    int32_t corr[Q8_TOKENS][NB_MAX][8] ALIGN64;
} act_q8;

static void prep_q8(const uint8_t *X, size_t x_stride, int n, int64_t nb, act_q8 *a)
{
    const __m256i u128 = _mm256_set1_epi8((char)0x80);
    for (int t = 0; t < n; t++) {
        const block_q8_0 *b = (const block_q8_0 *)(X + (size_t)t * x_stride);
        for (int64_t i = 0; i < nb; i++) {
            a->d[t][i] = x86_f16(b[i].d);
            const __m256i s = _mm256_dpbusd_epi32(_mm256_setzero_si256(), u128, x86_load256(b[i].qs));
            _mm256_store_si256((__m256i *)a->corr[t][i], _mm256_sub_epi32(_mm256_setzero_si256(), s));
        }
    }
}

/* One group (G) against T tokens (activation rows from X), outputs to
 * Y[t * ldy + 0..15]. */
static inline __attribute__((always_inline)) void q8_group(const uint8_t *G, int64_t nb, const uint8_t *X,
                                                           size_t x_stride, const act_q8 *a, float *Y,
                                                           int64_t ldy, const int T, const int PF)
{
    __m512 acc[8][Q8_TOKENS];
#pragma GCC unroll 8
    for (int s = 0; s < 8; s++)
#pragma GCC unroll 3
        for (int t = 0; t < T; t++) acc[s][t] = _mm512_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        const uint8_t *b = G + (size_t)i * Q8_GROUP_BLOCK;
        if (PF) prefetch_block(b + PF_AHEAD, Q8_GROUP_BLOCK);
        const __m512 wd = _mm512_cvtph_ps(x86_load256(b));
        __m512 d[Q8_TOKENS];
#pragma GCC unroll 3
        for (int t = 0; t < T; t++) d[t] = _mm512_mul_ps(wd, _mm512_set1_ps(a->d[t][i]));
#pragma GCC unroll 8
        for (int s = 0; s < 8; s++) {
            const __m512i w = _mm512_loadu_si512((const void *)(b + SCALES + 64 * s));
#pragma GCC unroll 3
            for (int t = 0; t < T; t++) {
                const int8_t *y = ((const block_q8_0 *)(X + (size_t)t * x_stride))[i].qs;
                const __m512i isum = _mm512_dpbusd_epi32(_mm512_set1_epi32(a->corr[t][i][s]), w,
                                                         _mm512_set1_epi32(load_i32(y + 4 * s)));
                acc[s][t] = _mm512_fmadd_ps(d[t], _mm512_cvtepi32_ps(isum), acc[s][t]);
            }
        }
    }
#pragma GCC unroll 3
    for (int t = 0; t < T; t++) {
        /* scalar_hsum8: h_i = lane i+4 + lane i, then (h0 + h2) + (h1 + h3) */
        const __m512 h0 = _mm512_add_ps(acc[4][t], acc[0][t]), h1 = _mm512_add_ps(acc[5][t], acc[1][t]);
        const __m512 h2 = _mm512_add_ps(acc[6][t], acc[2][t]), h3 = _mm512_add_ps(acc[7][t], acc[3][t]);
        _mm512_storeu_ps(Y + t * ldy, _mm512_add_ps(_mm512_add_ps(h0, h2), _mm512_add_ps(h1, h3)));
    }
}

static void q8_groups(const uint8_t *W, size_t group_bytes, int ng, int64_t nb, const uint8_t *X, size_t x_stride,
                      const act_q8 *a, float *Y, int64_t ldy, int n, int stream)
{
    for (int g = 0; g < ng; g++) {
        const uint8_t *G = W + (size_t)g * group_bytes;
        float *y = Y + R * g;
        switch (n) {
        case 3: q8_group(G, nb, X, x_stride, a, y, ldy, 3, 0); break;
        case 2: q8_group(G, nb, X, x_stride, a, y, ldy, 2, 0); break;
        default:
            if (stream) q8_group(G, nb, X, x_stride, a, y, ldy, 1, 1);
            else q8_group(G, nb, X, x_stride, a, y, ldy, 1, 0);
            break;
        }
    }
}

void q8_0_r16_gemm_avx512(int64_t k, const void *W, size_t w_stride, const void *X, size_t x_stride,
                          const float *Xf, float *Y, int64_t ldy, int nr, int nt)
{
    (void)Xf;
    act_q8 a;
    const int64_t nb = k / QK;
    for (int t0 = 0; t0 < nt; t0 += Q8_TOKENS) {
        const int n = nt - t0 < Q8_TOKENS ? nt - t0 : Q8_TOKENS;
        const uint8_t *x = (const uint8_t *)X + (size_t)t0 * x_stride;
        prep_q8(x, x_stride, n, nb, &a);
        q8_groups(W, R * w_stride, nr / R, nb, x, x_stride, &a, Y + t0 * ldy, ldy, n, nt == 1);
    }
}

/* ------------------------------------------------------------------------
 * Q4_0_R16
 * ---------------------------------------------------------------------- */

/* A register block's activations: block scales, -zp * sum of the quants
 * (zp: 8 for Q4_0, 128 for IQ4_NL's table + 128). */
typedef struct act_q4 {
    float d[Q4_TOKENS][NB_MAX] ALIGN64;
    int32_t corr[Q4_TOKENS][NB_MAX] ALIGN64;
} act_q4;

static void prep_q4(const uint8_t *X, size_t x_stride, int n, int64_t nb, int32_t zp, act_q4 *a)
{
    const __m256i u128 = _mm256_set1_epi8((char)0x80);
    for (int t = 0; t < n; t++) {
        const block_q8_0 *b = (const block_q8_0 *)(X + (size_t)t * x_stride);
        for (int64_t i = 0; i < nb; i++) {
            const __m256i v = _mm256_xor_si256(x86_load256(b[i].qs), u128); /* y + 128 */
            const __m256i s = _mm256_sad_epu8(v, _mm256_setzero_si256());
            a->d[t][i] = x86_f16(b[i].d);
            a->corr[t][i] = -zp * (x86_hsum_i32(s) - QK * 128);
        }
    }
}

static inline __attribute__((always_inline)) void q4_group(const uint8_t *G, int64_t nb, const uint8_t *X,
                                                           size_t x_stride, const act_q4 *a, float *Y,
                                                           int64_t ldy, const int T, const int PF, const int NL)
{
    __m512 sum[Q4_TOKENS];
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) sum[t] = _mm512_setzero_ps();
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    const __m512i table = _mm512_broadcast_i32x4(_mm256_castsi256_si128(x86_iq4nl_u8()));
    for (int64_t i = 0; i < nb; i++) {
        const uint8_t *b = G + (size_t)i * Q4_GROUP_BLOCK;
        if (PF) prefetch_block(b + PF_AHEAD, Q4_GROUP_BLOCK);
        const __m512 wd = _mm512_cvtph_ps(x86_load256(b));
        __m512i acc[Q4_TOKENS];
#pragma GCC unroll 8
        for (int t = 0; t < T; t++) acc[t] = _mm512_set1_epi32(a->corr[t][i]);
#pragma GCC unroll 4
        for (int s = 0; s < 4; s++) {
            const __m512i v = _mm512_loadu_si512((const void *)(b + SCALES + 64 * s));
            __m512i lo = _mm512_and_si512(v, m4), hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
            if (NL) {
                lo = _mm512_shuffle_epi8(table, lo);
                hi = _mm512_shuffle_epi8(table, hi);
            }
#pragma GCC unroll 8
            for (int t = 0; t < T; t++) {
                const int8_t *y = ((const block_q8_0 *)(X + (size_t)t * x_stride))[i].qs;
                acc[t] = _mm512_dpbusd_epi32(acc[t], lo, _mm512_set1_epi32(load_i32(y + 4 * s)));
                acc[t] = _mm512_dpbusd_epi32(acc[t], hi, _mm512_set1_epi32(load_i32(y + 16 + 4 * s)));
            }
        }
#pragma GCC unroll 8
        for (int t = 0; t < T; t++)
            sum[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[t]), _mm512_mul_ps(wd, _mm512_set1_ps(a->d[t][i])),
                                     sum[t]);
    }
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) _mm512_storeu_ps(Y + t * ldy, sum[t]);
}

static inline __attribute__((always_inline)) void q4_groups(const uint8_t *W, size_t group_bytes, int ng, int64_t nb,
                                                            const uint8_t *X, size_t x_stride, const act_q4 *a,
                                                            float *Y, int64_t ldy, int n, int stream, const int NL)
{
    for (int g = 0; g < ng; g++) {
        const uint8_t *G = W + (size_t)g * group_bytes;
        float *y = Y + R * g;
#define Q4(T) q4_group(G, nb, X, x_stride, a, y, ldy, T, 0, NL)
        switch (n) {
        case 8: Q4(8); break;
        case 7: Q4(7); break;
        case 6: Q4(6); break;
        case 5: Q4(5); break;
        case 4: Q4(4); break;
        case 3: Q4(3); break;
        case 2: Q4(2); break;
        default:
            if (stream) q4_group(G, nb, X, x_stride, a, y, ldy, 1, 1, NL);
            else Q4(1);
            break;
        }
#undef Q4
    }
}

/* Q4_0_R16 (NL 0) or IQ4_NL_R16 (NL 1). */
static inline __attribute__((always_inline)) void q4_gemm(int64_t k, const void *W, size_t w_stride, const void *X,
                                                          size_t x_stride, float *Y, int64_t ldy, int nr, int nt,
                                                          const int NL)
{
    act_q4 a;
    const int64_t nb = k / QK;
    for (int t0 = 0; t0 < nt; t0 += Q4_TOKENS) {
        const int n = nt - t0 < Q4_TOKENS ? nt - t0 : Q4_TOKENS;
        const uint8_t *x = (const uint8_t *)X + (size_t)t0 * x_stride;
        prep_q4(x, x_stride, n, nb, NL ? 128 : 8, &a);
        q4_groups(W, R * w_stride, nr / R, nb, x, x_stride, &a, Y + t0 * ldy, ldy, n, nt == 1, NL);
    }
}

void q4_0_r16_gemm_avx512(int64_t k, const void *W, size_t w_stride, const void *X, size_t x_stride,
                          const float *Xf, float *Y, int64_t ldy, int nr, int nt)
{
    (void)Xf;
    q4_gemm(k, W, w_stride, X, x_stride, Y, ldy, nr, nt, 0);
}

/* ------------------------------------------------------------------------
 * IQ4_NL_R16
 * ---------------------------------------------------------------------- */

void iq4_nl_r16_gemm_avx512(int64_t k, const void *W, size_t w_stride, const void *X, size_t x_stride,
                            const float *Xf, float *Y, int64_t ldy, int nr, int nt)
{
    (void)Xf;
    q4_gemm(k, W, w_stride, X, x_stride, Y, ldy, nr, nt, 1);
}

#endif /* __x86_64__ */
