/*
 * gemm_f_avx512.c — batched matrix products (prompt processing) for the
 * float weight types F32, F16 and BF16, AVX-512, bit-identical to the
 * scalar table's batch order (vec_dot_b2: llama.cpp's tinyBLAS).
 *
 * That order, per output: one accumulator of 16 float lanes, zero at the
 * start; per 16 elements one FMA, lane j taking element i with
 * i % 16 == j (F16 weights and activations widened exactly to F32); at the
 * end the lanes reduced as reduce16 (x86_reduce16). BF16 instead takes 32
 * elements per step as dpbf16ps pairs them: lane l adds the product of
 * element 2l + 1, then that of element 2l (each product exact in F32, each
 * addition rounded), here two FMAs, the first of the odd elements (the
 * high halves of the 32-bit words), the second of the even ones (the low
 * halves shifted up). The real vdpbf16ps gives the same bits on this
 * project's CPUs for normal numbers, but flushes denormals, which the
 * scalar model does not; the two FMAs cost the same per element as F16.
 *
 * Each output owns its accumulator over all of k, so a gemm is a plain
 * register-blocked loop: RB weight rows x TB tokens of accumulators (24
 * zmm), each step loading the RB weight vectors and then streaming the TB
 * activation vectors, one FMA per pair. Nothing depends on the tiling, so
 * results do not depend on the tile or the thread count either.
 *
 * The order needs k % 16 == 0 (BF16: 32), which batch_gemm ensures (with
 * m % 4 == 0, so that it is the order batch_dot would choose at all).
 *
 * Loop order within a call (up to GEMM_MR rows x GEMM_NT tokens): token
 * blocks outside, row blocks inside, so a token block's activations
 * (TB x k elements) stay in L1/L2 while the tile's weight rows stream
 * past from L2.
 */
#if defined(__x86_64__)

#include "kernels/dot_x86.h"
#include "kernels/kernels.h"
#include "tensor/quant.h"

#define RB 4 /* weight rows per register block */
#define TB 6 /* tokens per register block */

/* What one step loads from a row, widened to 16 F32 lanes: 16 F32 or
 * F16 elements, or the odd (high) or even (low) halves of 16 BF16 pairs. */
enum step_kind { STEP_F32, STEP_F16, STEP_BF16_ODD, STEP_BF16_EVEN };

static inline __attribute__((always_inline)) __m512 load_step(const int kind, const uint8_t *p)
{
    switch (kind) {
    case STEP_F32: return _mm512_loadu_ps(p);
    case STEP_F16: return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
    case STEP_BF16_ODD:
        return _mm512_castsi512_ps(_mm512_and_si512(_mm512_loadu_si512(p), _mm512_set1_epi32((int)0xffff0000u)));
    default: return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_loadu_si512(p), 16));
    }
}

/* The scalar reduce16 on a zmm (see dot_x86.h). */
static inline float reduce16(__m512 v)
{
    return x86_reduce16(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
}

/* acc[r][t] += row r's step at byte offset off times token t's: the
 * weights loaded once, each activation once. */
#define STEP(kind, off)                                                                                  \
    do {                                                                                                 \
        __m512 w[RB];                                                                                    \
        _Pragma("GCC unroll 8") for (int r = 0; r < R; r++) w[r] = load_step(kind, W + r * ws + (off));  \
        _Pragma("GCC unroll 8") for (int t = 0; t < T; t++) {                                            \
            const __m512 x = load_step(kind, X + t * xs + (off));                                        \
            _Pragma("GCC unroll 8") for (int r = 0; r < R; r++) acc[r][t] =                              \
                _mm512_fmadd_ps(w[r], x, acc[r][t]);                                                     \
        }                                                                                                \
    } while (0)

/* Y[t * ldy + r] for R rows x T tokens over all k elements; ws, xs: row
 * strides in bytes; bytes: bytes per 16 elements (32 for BF16). */
static inline __attribute__((always_inline)) void block(const int type, int64_t k, const uint8_t *W, size_t ws,
                                                        const uint8_t *X, size_t xs, float *Y, int64_t ldy,
                                                        const int R, const int T)
{
    __m512 acc[RB][TB];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 8
        for (int t = 0; t < T; t++) acc[r][t] = _mm512_setzero_ps();
    if (type == GGML_TYPE_BF16) {
        for (int64_t i = 0; i < k; i += 32) {
            STEP(STEP_BF16_ODD, 2 * i);
            STEP(STEP_BF16_EVEN, 2 * i);
        }
    } else if (type == GGML_TYPE_F16) {
        for (int64_t i = 0; i < k; i += 16) STEP(STEP_F16, 2 * i);
    } else {
        for (int64_t i = 0; i < k; i += 16) STEP(STEP_F32, 4 * i);
    }
#pragma GCC unroll 8
    for (int t = 0; t < T; t++)
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) Y[t * ldy + r] = reduce16(acc[r][t]);
}

/* The rows of one token block of T tokens: RB at a time, the last nr % RB
 * one at a time (matmul's tiles have nr % 4 == 0 when this gemm runs). */
static inline __attribute__((always_inline)) void token_block(const int type, int64_t k, const uint8_t *W, size_t ws,
                                                              const uint8_t *X, size_t xs, float *Y, int64_t ldy,
                                                              int nr, const int T)
{
    int r = 0;
    for (; r + RB <= nr; r += RB) block(type, k, W + (size_t)r * ws, ws, X, xs, Y + r, ldy, RB, T);
    for (; r < nr; r++) block(type, k, W + (size_t)r * ws, ws, X, xs, Y + r, ldy, 1, T);
}

static inline __attribute__((always_inline)) void gemm_f(const int type, int64_t k, const void *W, size_t ws,
                                                         const void *X, size_t xs, float *Y, int64_t ldy, int nr,
                                                         int nt)
{
    const uint8_t *w = W, *x = X;
    for (int t = 0; t < nt; t += TB) {
        const uint8_t *xt = x + (size_t)t * xs;
        float *y = Y + t * ldy;
        switch (nt - t < TB ? nt - t : TB) {
        case 6: token_block(type, k, w, ws, xt, xs, y, ldy, nr, 6); break;
        case 5: token_block(type, k, w, ws, xt, xs, y, ldy, nr, 5); break;
        case 4: token_block(type, k, w, ws, xt, xs, y, ldy, nr, 4); break;
        case 3: token_block(type, k, w, ws, xt, xs, y, ldy, nr, 3); break;
        case 2: token_block(type, k, w, ws, xt, xs, y, ldy, nr, 2); break;
        default: token_block(type, k, w, ws, xt, xs, y, ldy, nr, 1); break;
        }
    }
}

/* ------------------------------------------------------------------------
 * gemm_fn entries (the F32 activations Xf are not needed: X holds the
 * converted rows, F32 weights' X is Xf itself)
 * ---------------------------------------------------------------------- */

void f32_gemm_avx512(int64_t k, const void *W, size_t w_stride, const void *X, size_t x_stride, const float *Xf,
                     float *Y, int64_t ldy, int nr, int nt)
{
    gemm_f(GGML_TYPE_F32, k, W, w_stride, X, x_stride, Y, ldy, nr, nt);
}

void f16_gemm_avx512(int64_t k, const void *W, size_t w_stride, const void *X, size_t x_stride, const float *Xf,
                     float *Y, int64_t ldy, int nr, int nt)
{
    gemm_f(GGML_TYPE_F16, k, W, w_stride, X, x_stride, Y, ldy, nr, nt);
}

void bf16_gemm_avx512(int64_t k, const void *W, size_t w_stride, const void *X, size_t x_stride, const float *Xf,
                      float *Y, int64_t ldy, int nr, int nt)
{
    gemm_f(GGML_TYPE_BF16, k, W, w_stride, X, x_stride, Y, ldy, nr, nt);
}

#endif /* __x86_64__ */
