/*
 * gemm_f_avx512.c — batched matrix products (prompt processing) for the
 * float weight types F32, F16 and BF16, AVX-512.
 *
 * The activations are those matmul converted to the weight's vec_dot type
 * (F32, F16 or BF16 rows, as llama.cpp rounds them), widened to F32 here;
 * weights are widened too, so every product is of the same values as the
 * dot slots' and only the summation order differs.
 *
 * Tiling: up to GEMM_MR rows and GEMM_NT tokens per call, the reduction in
 * chunks of KCF elements. Per chunk the tokens' activations are widened
 * once, and the rows are widened and transposed 16 at a time (element e
 * of the 16 rows is one vector); then 8 tokens at a time take each row
 * vector: one FMA per element per token with the activation broadcast.
 *
 * Summation order (not llama.cpp's): per output, one FMA chain over the
 * elements in order; partial sums live in Y between chunks. It does not
 * depend on the tiling or the thread count.
 */
#if defined(__x86_64__)

#include <string.h>

#include "kernels/dot_x86.h"
#include "kernels/kernels.h"
#include "tensor/quant.h"

#define KCF 64       /* reduction elements per chunk */
#define LANES 16     /* rows per vector */
#define NSUB (GEMM_MR / LANES)
#define NTB 8        /* tokens per register block */

/* len elements of a row from element e0, widened to F32. */
typedef void (*widen_fn)(const void *row, int64_t e0, int len, float *out);

static void widen_f32(const void *row, int64_t e0, int len, float *out)
{
    memcpy(out, (const float *)row + e0, (size_t)len * sizeof *out);
}

static void widen_f16(const void *row, int64_t e0, int len, float *out)
{
    const mote_f16 *h = (const mote_f16 *)row + e0;
    int i = 0;
    for (; i + 16 <= len; i += 16) _mm512_storeu_ps(out + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(h + i))));
    for (; i < len; i++) out[i] = x86_f16(h[i]);
}

static void widen_bf16(const void *row, int64_t e0, int len, float *out)
{
    const mote_bf16 *h = (const mote_bf16 *)row + e0;
    int i = 0;
    for (; i + 16 <= len; i += 16) {
        const __m512i v = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(h + i)));
        _mm512_storeu_ps(out + i, _mm512_castsi512_ps(_mm512_slli_epi32(v, 16)));
    }
    for (; i < len; i++) out[i] = bf16_to_fp32(h[i]);
}

typedef struct gemm_f_work {
    float w[NSUB][KCF][LANES] __attribute__((aligned(64))); /* transposed rows */
    float x[GEMM_NT][KCF] __attribute__((aligned(64)));     /* widened activations */
} gemm_f_work;

static inline __attribute__((always_inline)) void micro(const float (*w)[LANES], const float (*x)[KCF], int len,
                                                        float *Y, int64_t ldy, __mmask16 mask, int first,
                                                        const int NT)
{
    __m512 acc[NTB];
#pragma GCC unroll 8
    for (int t = 0; t < NT; t++) acc[t] = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(mask, Y + t * ldy);
    for (int e = 0; e < len; e++) {
        const __m512 wv = _mm512_load_ps(w[e]);
#pragma GCC unroll 8
        for (int t = 0; t < NT; t++) acc[t] = _mm512_fmadd_ps(wv, _mm512_set1_ps(x[t][e]), acc[t]);
    }
#pragma GCC unroll 8
    for (int t = 0; t < NT; t++) _mm512_mask_storeu_ps(Y + t * ldy, mask, acc[t]);
}

static void gemm_f(widen_fn widen, int64_t k, const void *W, size_t w_stride, const void *X, size_t x_stride,
                   float *Y, int64_t ldy, int nr, int nt)
{
    gemm_f_work work, *wk = &work;
    float tmp[KCF];
    const int nsub = (nr + LANES - 1) / LANES;
    for (int64_t e0 = 0; e0 < k; e0 += KCF) {
        const int len = k - e0 < KCF ? (int)(k - e0) : KCF;
        for (int t = 0; t < nt; t++) widen((const uint8_t *)X + (size_t)t * x_stride, e0, len, wk->x[t]);
        for (int sb = 0; sb < nsub; sb++)
            for (int r = 0; r < LANES; r++) {
                const int row = LANES * sb + r;
                if (row < nr) widen((const uint8_t *)W + (size_t)row * w_stride, e0, len, tmp);
                else memset(tmp, 0, sizeof tmp);
                for (int e = 0; e < len; e++) wk->w[sb][e][r] = tmp[e];
            }
        for (int sb = 0; sb < nsub; sb++) {
            const int rows = nr - LANES * sb < LANES ? nr - LANES * sb : LANES;
            const __mmask16 mask = (__mmask16)((1u << rows) - 1);
            for (int t0 = 0; t0 < nt; t0 += NTB) {
                float *y = Y + t0 * ldy + LANES * sb;
                const float (*x)[KCF] = wk->x + t0;
                switch (nt - t0 < NTB ? nt - t0 : NTB) {
                case 8: micro(wk->w[sb], x, len, y, ldy, mask, e0 == 0, 8); break;
                case 7: micro(wk->w[sb], x, len, y, ldy, mask, e0 == 0, 7); break;
                case 6: micro(wk->w[sb], x, len, y, ldy, mask, e0 == 0, 6); break;
                case 5: micro(wk->w[sb], x, len, y, ldy, mask, e0 == 0, 5); break;
                case 4: micro(wk->w[sb], x, len, y, ldy, mask, e0 == 0, 4); break;
                case 3: micro(wk->w[sb], x, len, y, ldy, mask, e0 == 0, 3); break;
                case 2: micro(wk->w[sb], x, len, y, ldy, mask, e0 == 0, 2); break;
                default: micro(wk->w[sb], x, len, y, ldy, mask, e0 == 0, 1); break;
                }
            }
        }
    }
}

void f32_gemm_avx512(int64_t k, const void *W, size_t w_stride, const void *X, size_t x_stride, const float *Xf,
                     float *Y, int64_t ldy, int nr, int nt)
{
    gemm_f(widen_f32, k, W, w_stride, X, x_stride, Y, ldy, nr, nt);
}

void f16_gemm_avx512(int64_t k, const void *W, size_t w_stride, const void *X, size_t x_stride, const float *Xf,
                     float *Y, int64_t ldy, int nr, int nt)
{
    gemm_f(widen_f16, k, W, w_stride, X, x_stride, Y, ldy, nr, nt);
}

void bf16_gemm_avx512(int64_t k, const void *W, size_t w_stride, const void *X, size_t x_stride, const float *Xf,
                      float *Y, int64_t ldy, int nr, int nt)
{
    gemm_f(widen_bf16, k, W, w_stride, X, x_stride, Y, ldy, nr, nt);
}

#endif /* __x86_64__ */
