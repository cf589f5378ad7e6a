/*
 * dot_fp8_avx2.c — FP8 weights against F32 activations, AVX2 + FMA + F16C:
 * the 16 lanes of dot_fp8.h as two 8-lane vectors (lanes 0..7, 8..15).
 *
 * A code becomes its F16 bits by a sign-extending widen, a shift by 7 and
 * clearing the smeared sign bit 14 (the NaN codes get the F16 NaN
 * exponent), then vcvtph2ps: exactly fp8_half and fp16_to_fp32.
 */
#if defined(__x86_64__)

#include <immintrin.h>

#include "kernels/dot_fp8.h"
#include "kernels/simd_avx2.h"
#include "tensor/quant.h"

/* The 16 codes at q as F32 (E4M3 * 2^-8): codes 0..7 in *a, 8..15 in *b. */
static inline __attribute__((always_inline)) void fp8_widen16(const uint8_t *q, __m256 *a, __m256 *b)
{
    __m256i h = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)q));
    h = _mm256_and_si256(_mm256_slli_epi16(h, 7), _mm256_set1_epi16((short)0xBFFF));
    /* codes 0x7F, 0xFF: h | 0x8000 == 0xBF80 -> add the F16 NaN exponent */
    const __m256i nan = _mm256_cmpeq_epi16(_mm256_or_si256(h, _mm256_set1_epi16((short)0x8000)),
                                           _mm256_set1_epi16((short)0xBF80));
    h = _mm256_or_si256(h, _mm256_and_si256(nan, _mm256_set1_epi16(0x7C00)));
    *a = _mm256_cvtph_ps(_mm256_castsi256_si128(h));
    *b = _mm256_cvtph_ps(_mm256_extracti128_si256(h, 1));
}

/* One block into the accumulators of lanes 0..7 (*c0) and 8..15 (*c1). */
static inline __attribute__((always_inline)) void fp8_block(const block_fp8 *b, const float *y, __m256 *c0, __m256 *c1)
{
    __m256 w0, w1, w2, w3; /* codes 0..7, 8..15, 16..23, 24..31 */
    fp8_widen16(b->qs, &w0, &w1);
    fp8_widen16(b->qs + 16, &w2, &w3);
    const __m256 d = _mm256_set1_ps(fp8_scale(b->e));
    const __m256 p0 = _mm256_fmadd_ps(w2, _mm256_loadu_ps(y + 16), _mm256_mul_ps(w0, _mm256_loadu_ps(y)));
    const __m256 p1 = _mm256_fmadd_ps(w3, _mm256_loadu_ps(y + 24), _mm256_mul_ps(w1, _mm256_loadu_ps(y + 8)));
    *c0 = _mm256_fmadd_ps(p0, d, *c0);
    *c1 = _mm256_fmadd_ps(p1, d, *c1);
}

void fp8_dot_avx2(int64_t n, float *s, const void *w, const void *x)
{
    const block_fp8 *a = w;
    const float *y = x;
    const int64_t nb = n / QK_FP8;
    /* even blocks into e0, e1, odd ones into o0, o1 (named: gcc keeps them in registers) */
    __m256 e0 = _mm256_setzero_ps(), e1 = e0, o0 = e0, o1 = e0;
    int64_t i = 0;
    for (; i + 2 <= nb; i += 2) {
        fp8_block(&a[i], y + i * QK_FP8, &e0, &e1);
        fp8_block(&a[i + 1], y + (i + 1) * QK_FP8, &o0, &o1);
    }
    if (i < nb) fp8_block(&a[i], y + i * QK_FP8, &e0, &e1);
    *s = x86_reduce16(_mm256_add_ps(e0, o0), _mm256_add_ps(e1, o1));
}

void fp8_dot4_avx2(int64_t n, float *s, const void *w, size_t ws, const void *x)
{
    const float *y = x;
    __m256 c[4][2][2];
    for (int r = 0; r < 4; r++)
        for (int p = 0; p < 2; p++) c[r][p][0] = c[r][p][1] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_FP8; i++) {
        if (i % 2 == 0) x86_prefetch_rows4(X86_ROW(block_fp8, w, ws, 0) + i, ws, 2 * sizeof(block_fp8));
        for (int r = 0; r < 4; r++)
            fp8_block(X86_ROW(block_fp8, w, ws, r) + i, y + i * QK_FP8, &c[r][i % 2][0], &c[r][i % 2][1]);
    }
    for (int r = 0; r < 4; r++)
        s[r] = x86_reduce16(_mm256_add_ps(c[r][0][0], c[r][1][0]), _mm256_add_ps(c[r][0][1], c[r][1][1]));
}

#endif /* __x86_64__ */
