/*
 * gemm_f_avx512.c — batched matrix products (prompt processing) for the
 * float weight types F32, F16 and BF16, AVX-512, bit-identical to the
 * scalar table's batch order (vec_dot_b2: llama.cpp's tinyBLAS).
 *
 * That order, per output: one accumulator of 16 float lanes, zero at the
 * start; per 16 elements one FMA, lane j taking element i with
 * i % 16 == j (F16 weights and activations widened exactly to F32); at the
 * end the lanes reduced as reduce16 (x86_reduce16). BF16 takes 32 elements
 * per step as dpbf16ps pairs them: lane l adds the product of element
 * 2l + 1, then that of element 2l (each product exact in F32, each
 * addition rounded), here two FMAs, the first of the odd elements (the
 * high halves of the 32-bit words), the second of the even ones (the low
 * halves shifted up).
 *
 * The real vdpbf16ps gives the same bits on this project's Zen 5 for
 * normal numbers, at about 1.5 times the speed, but it flushes denormal
 * inputs and results to zero, which the scalar model does not; so only
 * the avx512fast table uses it (bf16_dpbf16_gemm_avx512).
 *
 * Each output owns its accumulator over all of k, so a gemm is a plain
 * register-blocked loop: RB weight rows x TB tokens of accumulators (24
 * zmm), each step loading the RB weight vectors and then streaming the TB
 * activation vectors, one FMA per pair, all of k in one pass (chunking k
 * would need the 24 accumulators stored and reloaded per chunk, and cut
 * the weight rows into streams too short for the prefetchers: measured
 * slower). Nothing depends on the tiling, so neither do the results.
 *
 * The order needs k % 16 == 0 (BF16: 32), which batch_gemm ensures (with
 * m % 4 == 0: it gives this gemm only where batch_dot would pick the
 * vec_dot_b2 slot).
 *
 * Loop order within a call (up to GEMM_MR rows x GEMM_NT tokens): groups
 * of rows of at most W_GROUP_BYTES, which stay in L2 while token blocks
 * go by; per token block, its activations (TB x k elements, in L1 or L2)
 * meet the group's rows RB at a time. Measured on Zen 5, one thread, in
 * matmul (k = 576 .. 8192): F16 and BF16 about 195-215 GFLOP/s (the FMA
 * peak is ~240), F32 130-190 (its activation blocks outgrow L1 from
 * k ~ 1536 on); BF16 by vdpbf16ps 255-325 (two products per lane and
 * instruction).
 */
#if defined(__x86_64__)

#include "kernels/dot_x86.h"
#include "kernels/kernels.h"
#include "kernels/simd_avx512.h"
#include "tensor/quant.h"

#define RB 4                      /* weight rows per register block */
#define TB 6                      /* tokens per register block */
#define W_GROUP_BYTES (384 << 10) /* weight rows kept in L2 per row group */

/* What the kernels multiply: widened per step (F32, F16, BF16 by two
 * FMAs), or BF16 pairs by vdpbf16ps. */
enum gemm_kind { KIND_F32, KIND_F16, KIND_BF16, KIND_BF16_DP };

/* What one step loads from a row, widened to 16 F32 lanes: 16 F32 or
 * F16 elements, or the odd (high) or even (low) halves of 16 BF16 pairs. */
enum step_kind { STEP_F32, STEP_F16, STEP_BF16_ODD, STEP_BF16_EVEN };

static inline __attribute__((always_inline)) __m512 load_step(const int kind, const uint8_t *p)
{
    switch (kind) {
    case STEP_F32: return _mm512_loadu_ps(p);
    case STEP_F16: return avx512_load_f16(p);
    case STEP_BF16_ODD: /* a masked load: no vector register for the mask */
        return _mm512_castsi512_ps(_mm512_maskz_loadu_epi16((__mmask32)0xaaaaaaaau, p));
    default: return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_loadu_si512(p), 16));
    }
}

/* avx512_reduce16 of a, b, c and d at once, as [a, b, c, d]: the same
 * additions (each commutative step may have its operands swapped) on 4
 * vectors. */
static inline __m128 reduce16x4(__m512 a, __m512 b, __m512 c, __m512 d)
{
    /* lanes i + 8 and i: [a's 8 | b's 8], [c's 8 | d's 8] */
    const __m512 ab = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, 0xee), _mm512_shuffle_f32x4(a, b, 0x44));
    const __m512 cd = _mm512_add_ps(_mm512_shuffle_f32x4(c, d, 0xee), _mm512_shuffle_f32x4(c, d, 0x44));
    /* then i + 4 and i: h = [a's 4 | b's 4 | c's 4 | d's 4] */
    const __m512 h = _mm512_add_ps(_mm512_shuffle_f32x4(ab, cd, 0xdd), _mm512_shuffle_f32x4(ab, cd, 0x88));
    /* then (h0 + h2) + (h1 + h3) in lane 0 of each 4 */
    const __m512 s = _mm512_add_ps(h, _mm512_permute_ps(h, 0x4e));
    const __m512 r = _mm512_add_ps(s, _mm512_permute_ps(s, 0xb1));
    return _mm512_castps512_ps128(_mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), r));
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
 * strides in bytes. */
static inline __attribute__((always_inline)) void block(const int kind, int64_t k, const uint8_t *W, size_t ws,
                                                        const uint8_t *X, size_t xs, float *Y, int64_t ldy,
                                                        const int R, const int T)
{
    __m512 acc[RB][TB];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 8
        for (int t = 0; t < T; t++) acc[r][t] = _mm512_setzero_ps();
    switch (kind) {
    case KIND_F32:
        for (int64_t i = 0; i < k; i += 16) STEP(STEP_F32, 4 * i);
        break;
    case KIND_F16:
        for (int64_t i = 0; i < k; i += 16) STEP(STEP_F16, 2 * i);
        break;
    case KIND_BF16:
        for (int64_t i = 0; i < k; i += 32) {
            STEP(STEP_BF16_ODD, 2 * i);
            STEP(STEP_BF16_EVEN, 2 * i);
        }
        break;
    default:
        for (int64_t i = 0; i < k; i += 32) {
            __m512bh w[RB];
#pragma GCC unroll 8
            for (int r = 0; r < R; r++) w[r] = (__m512bh)_mm512_loadu_si512(W + r * ws + 2 * i);
#pragma GCC unroll 8
            for (int t = 0; t < T; t++) {
                const __m512bh x = (__m512bh)_mm512_loadu_si512(X + t * xs + 2 * i);
#pragma GCC unroll 8
                for (int r = 0; r < R; r++) acc[r][t] = _mm512_dpbf16_ps(acc[r][t], w[r], x);
            }
        }
        break;
    }
    if (R == 4) {
#pragma GCC unroll 8
        for (int t = 0; t < T; t++) _mm_storeu_ps(Y + t * ldy, reduce16x4(acc[0][t], acc[1][t], acc[2][t], acc[3][t]));
    } else {
#pragma GCC unroll 8
        for (int t = 0; t < T; t++)
#pragma GCC unroll 8
            for (int r = 0; r < R; r++) Y[t * ldy + r] = avx512_reduce16(acc[r][t]);
    }
}

/* nr rows for one block of T tokens: RB at a time, the last nr % RB one
 * at a time (matmul's tiles have nr % 4 == 0 when this gemm runs). */
static inline __attribute__((always_inline)) void rows(const int kind, int64_t k, const uint8_t *W, size_t ws,
                                                       const uint8_t *X, size_t xs, float *Y, int64_t ldy, int nr,
                                                       const int T)
{
    int r = 0;
    for (; r + RB <= nr; r += RB) block(kind, k, W + (size_t)r * ws, ws, X, xs, Y + r, ldy, RB, T);
    for (; r < nr; r++) block(kind, k, W + (size_t)r * ws, ws, X, xs, Y + r, ldy, 1, T);
}

static inline __attribute__((always_inline)) void gemm_f(const int kind, int64_t k, const void *W, size_t ws,
                                                         const void *X, size_t xs, float *Y, int64_t ldy, int nr,
                                                         int nt)
{
    int group = (int)(W_GROUP_BYTES / ws) / RB * RB;
    if (group < RB) group = RB;
    for (int r0 = 0; r0 < nr; r0 += group) {
        const int ng = nr - r0 < group ? nr - r0 : group;
        const uint8_t *w = (const uint8_t *)W + (size_t)r0 * ws;
        for (int t = 0; t < nt; t += TB) {
            const uint8_t *x = (const uint8_t *)X + (size_t)t * xs;
            float *y = Y + t * ldy + r0;
            switch (nt - t < TB ? nt - t : TB) {
            case 6: rows(kind, k, w, ws, x, xs, y, ldy, ng, 6); break;
            case 5: rows(kind, k, w, ws, x, xs, y, ldy, ng, 5); break;
            case 4: rows(kind, k, w, ws, x, xs, y, ldy, ng, 4); break;
            case 3: rows(kind, k, w, ws, x, xs, y, ldy, ng, 3); break;
            case 2: rows(kind, k, w, ws, x, xs, y, ldy, ng, 2); break;
            default: rows(kind, k, w, ws, x, xs, y, ldy, ng, 1); break;
            }
        }
    }
}

/* ------------------------------------------------------------------------
 * gemm_fn entries (Xf unused: X holds the converted rows; for F32 weights
 * it is Xf itself)
 * ---------------------------------------------------------------------- */

void f32_gemm_avx512(int64_t k, const void *W, size_t w_stride, const void *X, size_t x_stride, const float *Xf,
                     float *Y, int64_t ldy, int nr, int nt)
{
    gemm_f(KIND_F32, k, W, w_stride, X, x_stride, Y, ldy, nr, nt);
}

void f16_gemm_avx512(int64_t k, const void *W, size_t w_stride, const void *X, size_t x_stride, const float *Xf,
                     float *Y, int64_t ldy, int nr, int nt)
{
    gemm_f(KIND_F16, k, W, w_stride, X, x_stride, Y, ldy, nr, nt);
}

void bf16_gemm_avx512(int64_t k, const void *W, size_t w_stride, const void *X, size_t x_stride, const float *Xf,
                      float *Y, int64_t ldy, int nr, int nt)
{
    gemm_f(KIND_BF16, k, W, w_stride, X, x_stride, Y, ldy, nr, nt);
}

void bf16_dpbf16_gemm_avx512(int64_t k, const void *W, size_t w_stride, const void *X, size_t x_stride,
                             const float *Xf, float *Y, int64_t ldy, int nr, int nt)
{
    gemm_f(KIND_BF16_DP, k, W, w_stride, X, x_stride, Y, ldy, nr, nt);
}

#endif /* __x86_64__ */
