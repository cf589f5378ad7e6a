/*
 * dot_fp8_avx512.c — FP8 weights against F32 activations, AVX-512: the 16
 * lanes of dot_fp8.h as one vector, for one row, four rows (token
 * generation) and the gemm of a batch (each output in the same order, so
 * bit-identical to the one-row kernel and the scalar reference).
 *
 * A block's 32 codes become F16 bits in one vector (sign-extending widen,
 * shift by 7, bit 14 cleared, the NaN codes given the F16 NaN exponent),
 * then two vcvtph2ps: exactly fp8_half and fp16_to_fp32.
 */
#if defined(__x86_64__)

#include <immintrin.h>

#include "kernels/dot_fp8.h"
#include "kernels/simd_avx512.h"
#include "tensor/quant.h"

/* The block's codes as F32 (E4M3 * 2^-8): 0..15 in *lo, 16..31 in *hi. */
static inline __attribute__((always_inline)) void fp8_widen32(const uint8_t *q, __m512 *lo, __m512 *hi)
{
    __m512i h = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)q));
    h = _mm512_and_si512(_mm512_slli_epi16(h, 7), _mm512_set1_epi16((short)0xBFFF));
    const __mmask32 nan = _mm512_cmpeq_epi16_mask(_mm512_or_si512(h, _mm512_set1_epi16((short)0x8000)),
                                                  _mm512_set1_epi16((short)0xBF80));
    h = _mm512_mask_mov_epi16(h, nan, _mm512_or_si512(h, _mm512_set1_epi16(0x7C00)));
    *lo = _mm512_cvtph_ps(_mm512_castsi512_si256(h));
    *hi = _mm512_cvtph_ps(_mm512_extracti64x4_epi64(h, 1));
}

/* acc = fma(lane products of the block, d, acc), w the widened codes. */
static inline __attribute__((always_inline)) __m512 fp8_lanes(__m512 acc, __m512 wlo, __m512 whi, __m512 d,
                                                             const float *y)
{
    const __m512 p = _mm512_fmadd_ps(whi, _mm512_loadu_ps(y + 16), _mm512_mul_ps(wlo, _mm512_loadu_ps(y)));
    return _mm512_fmadd_ps(p, d, acc);
}

static inline __attribute__((always_inline)) __m512 fp8_block(__m512 acc, const block_fp8 *b, const float *y)
{
    __m512 lo, hi;
    fp8_widen32(b->qs, &lo, &hi);
    return fp8_lanes(acc, lo, hi, _mm512_set1_ps(fp8_scale(b->e)), y);
}

void fp8_dot_avx512(int64_t n, float *s, const void *w, const void *x)
{
    const block_fp8 *a = w;
    const float *y = x;
    const int64_t nb = n / QK_FP8;
    __m512 even = _mm512_setzero_ps(), odd = even;
    int64_t i = 0;
    for (; i + 2 <= nb; i += 2) {
        even = fp8_block(even, &a[i], y + i * QK_FP8);
        odd = fp8_block(odd, &a[i + 1], y + (i + 1) * QK_FP8);
    }
    if (i < nb) even = fp8_block(even, &a[i], y + i * QK_FP8);
    *s = avx512_reduce16(_mm512_add_ps(even, odd));
}

void fp8_dot4_avx512(int64_t n, float *s, const void *w, size_t ws, const void *x)
{
    const float *y = x;
    const int64_t nb = n / QK_FP8;
    const block_fp8 *a0 = X86_ROW(block_fp8, w, ws, 0), *a1 = X86_ROW(block_fp8, w, ws, 1);
    const block_fp8 *a2 = X86_ROW(block_fp8, w, ws, 2), *a3 = X86_ROW(block_fp8, w, ws, 3);
    __m512 e0 = _mm512_setzero_ps(), e1 = e0, e2 = e0, e3 = e0, o0 = e0, o1 = e0, o2 = e0, o3 = e0;
    int64_t i = 0;
    for (; i + 2 <= nb; i += 2) {
        x86_prefetch_rows4(a0 + i, ws, 2 * sizeof(block_fp8));
        const float *y0 = y + i * QK_FP8, *y1 = y0 + QK_FP8;
        e0 = fp8_block(e0, &a0[i], y0);
        e1 = fp8_block(e1, &a1[i], y0);
        e2 = fp8_block(e2, &a2[i], y0);
        e3 = fp8_block(e3, &a3[i], y0);
        o0 = fp8_block(o0, &a0[i + 1], y1);
        o1 = fp8_block(o1, &a1[i + 1], y1);
        o2 = fp8_block(o2, &a2[i + 1], y1);
        o3 = fp8_block(o3, &a3[i + 1], y1);
    }
    if (i < nb) {
        const float *y0 = y + i * QK_FP8;
        e0 = fp8_block(e0, &a0[i], y0);
        e1 = fp8_block(e1, &a1[i], y0);
        e2 = fp8_block(e2, &a2[i], y0);
        e3 = fp8_block(e3, &a3[i], y0);
    }
    s[0] = avx512_reduce16(_mm512_add_ps(e0, o0));
    s[1] = avx512_reduce16(_mm512_add_ps(e1, o1));
    s[2] = avx512_reduce16(_mm512_add_ps(e2, o2));
    s[3] = avx512_reduce16(_mm512_add_ps(e3, o3));
}

/* ------------------------------------------------------------------------
 * Gemm: tiles of R rows x T tokens (R <= 2, T <= 4) in registers, each
 * block's codes widened once for the T tokens. acc[r][t][p]: parity p's
 * accumulator of row r, token t, as fp8_dot_avx512 keeps them.
 * ---------------------------------------------------------------------- */

#define GEMM_R 2
#define GEMM_T 4

/* Block i of R rows into the parity-p accumulators of T tokens. */
static inline __attribute__((always_inline)) void fp8_tile_step(__m512 acc[GEMM_R][GEMM_T][2], const uint8_t *W,
                                                               size_t ws, const float *X, size_t xstep, int64_t i,
                                                               const int p, const int R, const int T)
{
    __m512 lo[GEMM_R], hi[GEMM_R], d[GEMM_R];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
        const block_fp8 *b = (const block_fp8 *)(W + (size_t)r * ws) + i;
        fp8_widen32(b->qs, &lo[r], &hi[r]);
        d[r] = _mm512_set1_ps(fp8_scale(b->e));
    }
#pragma GCC unroll 4
    for (int t = 0; t < T; t++) {
        const float *y = X + (size_t)t * xstep + i * QK_FP8;
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) acc[r][t][p] = fp8_lanes(acc[r][t][p], lo[r], hi[r], d[r], y);
    }
}

static inline __attribute__((always_inline)) void fp8_tile(int64_t k, const uint8_t *W, size_t ws, const float *X,
                                                          size_t xs, float *Y, int64_t ldy, const int R, const int T)
{
    const int64_t nb = k / QK_FP8;
    const size_t xstep = xs / sizeof(float);
    __m512 acc[GEMM_R][GEMM_T][2];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int t = 0; t < T; t++) acc[r][t][0] = acc[r][t][1] = _mm512_setzero_ps();
    /* the parity a constant in each call of the step, so that gcc keeps
     * the accumulators in registers */
    int64_t i = 0;
    for (; i + 2 <= nb; i += 2) {
        fp8_tile_step(acc, W, ws, X, xstep, i, 0, R, T);
        fp8_tile_step(acc, W, ws, X, xstep, i + 1, 1, R, T);
    }
    if (i < nb) fp8_tile_step(acc, W, ws, X, xstep, i, 0, R, T);
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int t = 0; t < T; t++) Y[t * ldy + r] = avx512_reduce16(_mm512_add_ps(acc[r][t][0], acc[r][t][1]));
}

/* The tile shapes, each compiled with its loops unrolled. */
#define FP8_TILE(R, T) \
    static void fp8_tile_##R##x##T(int64_t k, const uint8_t *W, size_t ws, const float *X, size_t xs, float *Y, \
                                   int64_t ldy)                                                                \
    {                                                                                                          \
        fp8_tile(k, W, ws, X, xs, Y, ldy, R, T);                                                               \
    }
FP8_TILE(1, 1)
FP8_TILE(1, 2)
FP8_TILE(1, 3)
FP8_TILE(1, 4)
FP8_TILE(2, 1)
FP8_TILE(2, 2)
FP8_TILE(2, 3)
FP8_TILE(2, 4)

typedef void (*fp8_tile_fn)(int64_t, const uint8_t *, size_t, const float *, size_t, float *, int64_t);
static const fp8_tile_fn tiles[GEMM_R][GEMM_T] = {
    {fp8_tile_1x1, fp8_tile_1x2, fp8_tile_1x3, fp8_tile_1x4},
    {fp8_tile_2x1, fp8_tile_2x2, fp8_tile_2x3, fp8_tile_2x4},
};

void fp8_gemm_avx512(int64_t k, const void *W, size_t w_stride, const void *X, size_t x_stride, const float *Xf,
                     float *Y, int64_t ldy, int nr, int nt)
{
    (void)Xf; /* X is the F32 activations already */
    /* tokens outer: a quad's F32 rows (16 bytes an element) stay in L1
     * while the tile's weight rows (about one byte an element) come from L2 */
    for (int t = 0; t < nt; t += GEMM_T) {
        const int T = nt - t < GEMM_T ? nt - t : GEMM_T;
        for (int r = 0; r < nr; r += GEMM_R) {
            const int R = nr - r < GEMM_R ? nr - r : GEMM_R;
            tiles[R - 1][T - 1](k, (const uint8_t *)W + (size_t)r * w_stride, w_stride,
                                (const float *)((const uint8_t *)X + (size_t)t * x_stride), x_stride,
                                Y + (int64_t)t * ldy + r, ldy);
        }
    }
}

#endif /* __x86_64__ */
