/*
 * dot_rt_avx512.c — the "alone gemm" slot (vec_dot_rt, kernels.h) for
 * AVX-512: a block of weight rows times a few tokens, every output
 * bit-identical to the table's vec_dot for that row and token.
 *
 * A one-token dot is latency-bound: one weight row against one activation
 * row is a single chain of FMAs (F16/F32: four 16-lane chains; the block
 * types: one 8-lane chain), plus a horizontal reduction at the end. Here
 * R rows x T tokens run side by side, R * T independent chains, each the
 * one-token chain with its own lanes, FMAs and reduction in the same
 * order; each weight load (and F16 conversion) serves T tokens, each
 * activation load R rows. Nothing is summed in another order, so the
 * speculative verification pass (matmul_alone) keeps one-token numerics.
 */
#if defined(__x86_64__)

#include <stddef.h>
#include <stdint.h>

#include "kernels/dot_x86.h"
#include "kernels/kernels.h"
#include "kernels/simd_avx512.h"
#include "tensor/quant.h"

/* ------------------------------------------------------------------------
 * F16, F32, BF16: f16_dot_avx512 / f32_dot_avx512 / bf16_dot_avx512's order
 * ---------------------------------------------------------------------- */

/* F16, F32: the one-row kernels (dot_avx512.c): four 16-lane FMA chains over the
 * first k - k % 64 elements (element i + 16j in chain j), folded as
 * (c0 + c2) + (c1 + c3), reduced by avx512_reduce16, then the last k % 64
 * elements one by one. k % 64 != 0 (no model has such rows) goes to
 * vec_dot itself. */
#define FRT_R 2 /* rows per step */
#define FRT_RMAX 4 /* most rows of one frt_block (f16_dot4_avx512's four) */
#define FRT_T 3 /* tokens per step: 4 * R * T = 24 accumulators */
enum { FRT_F32, FRT_F16, FRT_BF16 }; /* the kinds frt computes */

static inline __m512 frt_load(const uint8_t *p, int64_t i, int f16)
{
    return f16 ? avx512_load_f16((const mote_f16 *)p + i) : _mm512_loadu_ps((const float *)p + i);
}

/* BF16: the one-row kernel has two 16-lane chains of dpbf16 (each 32 elements a
 * step: the odd elements' products, then the even ones'), chain 0 on
 * elements i..i+31 and chain 1 on i+32..i+63 of every 64, each reduced
 * by avx512_reduce16 and summed in double, then the last k % 64 elements
 * one by one (k % 64 != 0: vec_dot itself). Here R rows x T tokens, the
 * odd / even halves of each load split once for all the tokens (rows). */
static inline __attribute__((always_inline)) void bf16rt_block(int64_t k, const uint8_t *w, size_t ws,
                                                               const uint8_t *x, size_t xs, float *Y, int64_t ldy,
                                                               const int R, const int T)
{
    __m512 c[FRT_R][FRT_T][2];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int t = 0; t < T; t++) c[r][t][0] = c[r][t][1] = _mm512_setzero_ps();
    for (int64_t i = 0; i < k; i += 64) {
#pragma GCC unroll 2
        for (int j = 0; j < 2; j++) {
            __m512 wo[FRT_R], we[FRT_R];
#pragma GCC unroll 4
            for (int r = 0; r < R; r++) {
                const __m512i a = _mm512_loadu_si512((const mote_bf16 *)(w + r * ws) + i + 32 * j);
                wo[r] = avx512_bf16_odd(a);
                we[r] = avx512_bf16_even(a);
            }
#pragma GCC unroll 4
            for (int t = 0; t < T; t++) {
                const __m512i b = _mm512_loadu_si512((const mote_bf16 *)(x + t * xs) + i + 32 * j);
                const __m512 xo = avx512_bf16_odd(b), xe = avx512_bf16_even(b);
#pragma GCC unroll 4
                for (int r = 0; r < R; r++)
                    c[r][t][j] = _mm512_fmadd_ps(we[r], xe, _mm512_fmadd_ps(wo[r], xo, c[r][t][j]));
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int t = 0; t < T; t++) {
            double sum = avx512_reduce16(c[r][t][0]);
            sum += avx512_reduce16(c[r][t][1]);
            Y[t * ldy + r] = (float)sum;
        }
}

/* Outputs of R rows from w (ws bytes apart) x T tokens from x (xs apart)
 * into Y (token t, row r at Y[t * ldy + r]). Always inlined with constant
 * R, T: the loops unroll and the accumulators stay in registers. */
static inline __attribute__((always_inline)) void frt_block(int64_t k, const uint8_t *w, size_t ws,
                                                            const uint8_t *x, size_t xs, float *Y, int64_t ldy,
                                                            const int R, const int T, const int kind)
{
    if (kind == FRT_BF16) {
        bf16rt_block(k, w, ws, x, xs, Y, ldy, R, T);
        return;
    }
    const int f16 = kind == FRT_F16;
    __m512 c[FRT_RMAX][FRT_T][4];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int t = 0; t < T; t++)
#pragma GCC unroll 4
            for (int j = 0; j < 4; j++) c[r][t][j] = _mm512_setzero_ps();
    for (int64_t i = 0; i < k; i += 64) {
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) {
            __m512 wv[FRT_RMAX];
#pragma GCC unroll 4
            for (int r = 0; r < R; r++) wv[r] = frt_load(w + r * ws, i + 16 * j, f16);
#pragma GCC unroll 4
            for (int t = 0; t < T; t++) {
                const __m512 xv = frt_load(x + t * xs, i + 16 * j, f16);
#pragma GCC unroll 4
                for (int r = 0; r < R; r++) c[r][t][j] = _mm512_fmadd_ps(wv[r], xv, c[r][t][j]);
            }
        }
    }
    /* folded, then reduced (five or more at once: avx512_reduce16x8); F16:
     * the one-row kernel's double sum of no tail elements rounds back to
     * this float exactly */
    __m512 s[8];
    float out[8];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int t = 0; t < T; t++)
            s[r * T + t] = _mm512_add_ps(_mm512_add_ps(c[r][t][0], c[r][t][2]), _mm512_add_ps(c[r][t][1], c[r][t][3]));
    if (R * T >= 5) {
#pragma GCC unroll 8
        for (int j = R * T; j < 8; j++) s[j] = _mm512_setzero_ps();
        avx512_reduce16x8(s, out);
    } else {
#pragma GCC unroll 4
        for (int j = 0; j < R * T; j++) out[j] = avx512_reduce16(s[j]);
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int t = 0; t < T; t++) Y[t * ldy + r] = out[r * T + t];
}

static inline __attribute__((always_inline)) void frt(int64_t k, const void *W, size_t ws, const void *X,
                                                      size_t xs, float *Y, int64_t ldy, int nr, int nt, int kind)
{
    const uint8_t *w = W, *x = X;
    if (k % 64) {
        const vec_dot_fn dot = kind == FRT_BF16 ? bf16_dot_avx512 : kind == FRT_F16 ? f16_dot_avx512 : f32_dot_avx512;
        for (int t = 0; t < nt; t++)
            for (int r = 0; r < nr; r++) dot(k, &Y[t * ldy + r], w + r * ws, x + t * xs);
        return;
    }
    int r = 0;
    for (; r + FRT_R <= nr; r += FRT_R) {
        int t = 0;
        for (; t + FRT_T <= nt; t += FRT_T) frt_block(k, w + r * ws, ws, x + t * xs, xs, Y + t * ldy + r, ldy, FRT_R, FRT_T, kind);
        if (nt - t == 2) frt_block(k, w + r * ws, ws, x + t * xs, xs, Y + t * ldy + r, ldy, FRT_R, 2, kind);
        if (nt - t == 1) frt_block(k, w + r * ws, ws, x + t * xs, xs, Y + t * ldy + r, ldy, FRT_R, 1, kind);
    }
    if (r < nr) {
        int t = 0;
        for (; t + FRT_T <= nt; t += FRT_T) frt_block(k, w + r * ws, ws, x + t * xs, xs, Y + t * ldy + r, ldy, 1, FRT_T, kind);
        if (nt - t == 2) frt_block(k, w + r * ws, ws, x + t * xs, xs, Y + t * ldy + r, ldy, 1, 2, kind);
        if (nt - t == 1) frt_block(k, w + r * ws, ws, x + t * xs, xs, Y + t * ldy + r, ldy, 1, 1, kind);
    }
}

void f16_dot_rt_avx512(int64_t k, const void *W, size_t ws, const void *X, size_t xs, float *Y, int64_t ldy,
                       int nr, int nt)
{
    frt(k, W, ws, X, xs, Y, ldy, nr, nt, FRT_F16);
}

/* vec_dot4 for F16: four rows (ws bytes apart) against one token, as
 * frt_block computes them (each output f16_dot_avx512's, bit for bit), the
 * token's 16 elements widened once for the four rows. The one-row kernel
 * widens them again for every row, and one token is then bound by the
 * conversions (8 vcvtph2ps per 4 FMAs), not by the weights' bytes. */
void f16_dot4_avx512(int64_t k, float *s, const void *W, size_t ws, const void *X)
{
    if (k % 64) {
        for (int r = 0; r < 4; r++) f16_dot_avx512(k, &s[r], (const uint8_t *)W + r * ws, X);
        return;
    }
    frt_block(k, W, ws, X, 0, s, 1, FRT_RMAX, 1, FRT_F16);
}

void f32_dot_rt_avx512(int64_t k, const void *W, size_t ws, const void *X, size_t xs, float *Y, int64_t ldy,
                       int nr, int nt)
{
    frt(k, W, ws, X, xs, Y, ldy, nr, nt, FRT_F32);
}

void bf16_dot_rt_avx512(int64_t k, const void *W, size_t ws, const void *X, size_t xs, float *Y, int64_t ldy,
                        int nr, int nt)
{
    frt(k, W, ws, X, xs, Y, ldy, nr, nt, FRT_BF16);
}

/* ------------------------------------------------------------------------
 * Q8_0: q8_0_dot_avx2's order
 * ---------------------------------------------------------------------- */

/* The one-row kernel: per block, integer lane l (elements 4l..4l+3,
 * exact) converted, times the float product dw * dy, FMA'd into float
 * lane l; x86_hsum8 at the end. Here a 512-bit accumulator holds two such
 * 8-lane chains: one row against two tokens (lanes 0..7 token t, 8..15
 * token t + 1). The exact lane sums come from vpdpbusd on the weights
 * offset to unsigned (w + 128, an xor) less 128 times the activations'
 * lane sums (int32, exact as the AVX2 kernel's pairwise sums). */
#define QRT_R 4 /* rows per step */
#define QRT_P 2 /* token pairs per step: R * P = 8 accumulators */

static inline __attribute__((always_inline)) void q8rt_block(int64_t nb, const uint8_t *w, size_t ws,
                                                             const uint8_t *x, size_t xs, float *Y, int64_t ldy,
                                                             const int R, const int P, int nt)
{
    const __m512i bias = _mm512_set1_epi8((char)0x80);
    __m512 c[QRT_R][QRT_P];
    const block_q8_0 *yb[2 * QRT_P];
    /* an odd last token is paired with itself; its second half is dropped */
#pragma GCC unroll 8
    for (int t = 0; t < 2 * P; t++) yb[t] = (const block_q8_0 *)(x + (t < nt ? t : nt - 1) * xs);
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int p = 0; p < P; p++) c[r][p] = _mm512_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        __m512i wu[QRT_R];
        __m512 dw[QRT_R];
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            const block_q8_0 *a = (const block_q8_0 *)(w + r * ws) + i;
            wu[r] = _mm512_xor_si512(avx512_load256x2(a->qs), bias);
            dw[r] = _mm512_set1_ps(x86_f16(a->d));
        }
#pragma GCC unroll 4
        for (int p = 0; p < P; p++) {
            const block_q8_0 *y0 = yb[2 * p] + i, *y1 = yb[2 * p + 1] + i;
            const __m512i y = _mm512_inserti64x4(_mm512_castsi256_si512(x86_load256(y0->qs)), x86_load256(y1->qs), 1);
            const __m512i off = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), bias, y));
            const __m512 dy = _mm512_insertf32x8(_mm512_set1_ps(x86_f16(y0->d)), _mm256_set1_ps(x86_f16(y1->d)), 1);
#pragma GCC unroll 4
            for (int r = 0; r < R; r++) {
                const __m512 f = _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(off, wu[r], y));
                c[r][p] = _mm512_fmadd_ps(_mm512_mul_ps(dw[r], dy), f, c[r][p]);
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int p = 0; p < P; p++) {
            Y[2 * p * ldy + r] = x86_hsum8(_mm512_castps512_ps256(c[r][p]));
            if (2 * p + 1 < nt) Y[(2 * p + 1) * ldy + r] = x86_hsum8(_mm512_extractf32x8_ps(c[r][p], 1));
        }
}

/* R rows (a constant) against all nt tokens. */
static inline __attribute__((always_inline)) void q8rt_rows(int64_t nb, const uint8_t *w, size_t ws,
                                                            const uint8_t *x, size_t xs, float *Y, int64_t ldy,
                                                            const int R, int nt)
{
    int t = 0;
    for (; t + 2 * QRT_P <= nt; t += 2 * QRT_P) q8rt_block(nb, w, ws, x + t * xs, xs, Y + t * ldy, ldy, R, QRT_P, 2 * QRT_P);
    if (t < nt) q8rt_block(nb, w, ws, x + t * xs, xs, Y + t * ldy, ldy, R, 1, nt - t > 2 ? 2 : nt - t);
    if (t + 2 < nt) q8rt_block(nb, w, ws, x + (t + 2) * xs, xs, Y + (t + 2) * ldy, ldy, R, 1, nt - t - 2);
}

void q8_0_dot_rt_avx512(int64_t k, const void *W, size_t ws, const void *X, size_t xs, float *Y, int64_t ldy,
                        int nr, int nt)
{
    const uint8_t *w = W, *x = X;
    const int64_t nb = k / QK8_0;
    int r = 0;
    for (; r + QRT_R <= nr; r += QRT_R) q8rt_rows(nb, w + r * ws, ws, x, xs, Y + r, ldy, QRT_R, nt);
    if (nr - r >= 2) q8rt_rows(nb, w + r * ws, ws, x, xs, Y + r, ldy, 2, nt), r += 2;
    if (nr - r == 1) q8rt_rows(nb, w + r * ws, ws, x, xs, Y + r, ldy, 1, nt);
}

/* ------------------------------------------------------------------------
 * Q4_0: q4_0_dot_avx2's order
 * ---------------------------------------------------------------------- */

/* The one-row kernel: per block the exact integer sum of (nibble - 8) * y,
 * then one scalar chain sumf = fmaf(sum, dw * dy, sumf). Here one 16-lane
 * FMA takes sixteen such chains at once, lane 4t + r holding row r's
 * chain against token t (4 rows x 4 tokens). The block sums are exact
 * integers, so any order of forming them will do: vpdpbusd of a row's
 * nibbles (unsigned, low nibbles then high: elements 0..31, in both
 * halves) by two tokens' activations (one per half) gives eight partial
 * sums per (row, token), less 8 times the activations' sums (the
 * accumulator's start); three rounds of unpacks and adds bring the eight
 * (row, token) vectors to one vector of sixteen sums. Rows or tokens past
 * nr / nt repeat the last one and are not stored. */
static inline __m512i q4rt_row(const block_q4_0 *a)
{
    const __m512i q = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)a->qs));
    /* 128-bit lanes 1 and 3: the high nibbles (elements 16..31) */
    return _mm512_and_si512(_mm512_mask_srli_epi16(q, 0xff00ff00u, q, 4), _mm512_set1_epi8(0x0f));
}

/* P: token pairs computed (1 for one or two tokens: lanes of tokens 2, 3
 * then repeat 0, 1 and are not stored) */
static inline __attribute__((always_inline)) void q4rt_block(int64_t nb, const uint8_t *w, size_t ws, const uint8_t *x,
                                                             size_t xs, float *Y, int64_t ldy, int nr, int nt,
                                                             const int P)
{
    const block_q4_0 *a[4];
    const block_q8_0 *b[4];
    for (int j = 0; j < 4; j++) {
        a[j] = (const block_q4_0 *)(w + (j < nr ? j : nr - 1) * ws);
        b[j] = (const block_q8_0 *)(x + (j < nt ? j : nt - 1) * xs);
    }
    const __m512i zp = _mm512_set1_epi8(8);
    const __m512i spread = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    __m512 acc = _mm512_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        const __m512i u0 = q4rt_row(a[0] + i), u1 = q4rt_row(a[1] + i);
        const __m512i u2 = q4rt_row(a[2] + i), u3 = q4rt_row(a[3] + i);
        __m512i c[2];
#pragma GCC unroll 2
        for (int p = 0; p < P; p++) {
            const __m512i y = _mm512_inserti64x4(_mm512_castsi256_si512(x86_load256(b[2 * p][i].qs)),
                                                 x86_load256(b[2 * p + 1][i].qs), 1);
            const __m512i off = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), zp, y));
            const __m512i v0 = _mm512_dpbusd_epi32(off, u0, y), v1 = _mm512_dpbusd_epi32(off, u1, y);
            const __m512i v2 = _mm512_dpbusd_epi32(off, u2, y), v3 = _mm512_dpbusd_epi32(off, u3, y);
            /* per 128-bit lane: rows 0, 1 (2, 3) interleaved, two sums each */
            const __m512i s01 = _mm512_add_epi32(_mm512_unpacklo_epi32(v0, v1), _mm512_unpackhi_epi32(v0, v1));
            const __m512i s23 = _mm512_add_epi32(_mm512_unpacklo_epi32(v2, v3), _mm512_unpackhi_epi32(v2, v3));
            /* per 128-bit lane: rows 0..3, one sum each; lanes 0, 1: token
             * 2p, lanes 2, 3: token 2p + 1 */
            c[p] = _mm512_add_epi32(_mm512_unpacklo_epi64(s01, s23), _mm512_unpackhi_epi64(s01, s23));
        }
        if (P == 1) c[1] = c[0];
        /* 128-bit lane t: token t's sums of rows 0..3 */
        const __m512i sum = _mm512_add_epi32(_mm512_shuffle_i32x4(c[0], c[1], 0x88), _mm512_shuffle_i32x4(c[0], c[1], 0xdd));
        const __m512 dw = _mm512_broadcast_f32x4(x86_f16x4(a[0][i].d, a[1][i].d, a[2][i].d, a[3][i].d));
        const __m512 dy = _mm512_permutexvar_ps(spread, _mm512_castps128_ps512(x86_f16x4(b[0][i].d, b[1][i].d, b[2][i].d, b[3][i].d)));
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), _mm512_mul_ps(dw, dy), acc);
    }
    float out[16];
    _mm512_storeu_ps(out, acc);
    for (int t = 0; t < nt; t++)
        for (int r = 0; r < nr; r++) Y[t * ldy + r] = out[4 * t + r];
}

void q4_0_dot_rt_avx512(int64_t k, const void *W, size_t ws, const void *X, size_t xs, float *Y, int64_t ldy,
                        int nr, int nt)
{
    const uint8_t *w = W, *x = X;
    for (int r = 0; r < nr; r += 4)
        for (int t = 0; t < nt; t += 4) {
            const int rows = nr - r < 4 ? nr - r : 4, tokens = nt - t < 4 ? nt - t : 4;
            if (tokens <= 2) q4rt_block(k / QK4_0, w + r * ws, ws, x + t * xs, xs, Y + t * ldy + r, ldy, rows, tokens, 1);
            else q4rt_block(k / QK4_0, w + r * ws, ws, x + t * xs, xs, Y + t * ldy + r, ldy, rows, tokens, 2);
        }
}

#endif /* __x86_64__ */
