/*
 * quant_avx2.c — AVX2 converters of F32 activations to the vec_dot types
 * (F16, BF16, Q8_0 and Q8_1 as ggml's x86 code computes them, Q8_K),
 * bit-identical to the scalar ones in src/tensor (for inputs without NaN,
 * see dot_x86.h).
 */
#if defined(__x86_64__)

#include <string.h>

#include "kernels/dot_x86.h"
#include "kernels/simd_avx2.h"
#include "tensor/quant.h"

/* ------------------------------------------------------------------------
 * F16, BF16
 * ---------------------------------------------------------------------- */

void f16_quantize_avx2(const float *x, void *y, int64_t n)
{
    mote_f16 *h = y;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(h + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) h[i] = fp32_to_fp16(x[i]);
}

/* fp32_to_bf16 on 8 values, as 32-bit lanes holding the BF16 bits. */
static inline __m256i bf16_8(__m256 v)
{
    const __m256i x = _mm256_castps_si256(v);
    const __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(x, _mm256_set1_epi32(0x7fffffff)),
                                           _mm256_set1_epi32(0x7f800000));
    const __m256i odd = _mm256_and_si256(_mm256_srli_epi32(x, 16), _mm256_set1_epi32(1));
    const __m256i r = _mm256_srli_epi32(_mm256_add_epi32(x, _mm256_add_epi32(odd, _mm256_set1_epi32(0x7fff))), 16);
    const __m256i q = _mm256_or_si256(_mm256_srli_epi32(x, 16), _mm256_set1_epi32(0x40));
    return _mm256_blendv_epi8(r, q, nan);
}

void bf16_quantize_avx2(const float *x, void *y, int64_t n)
{
    mote_bf16 *h = y;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256i p = _mm256_packus_epi32(bf16_8(_mm256_loadu_ps(x + i)), bf16_8(_mm256_loadu_ps(x + i + 8)));
        _mm256_storeu_si256((__m256i *)(h + i), _mm256_permute4x64_epi64(p, 0xd8));
    }
    for (; i < n; i++) h[i] = fp32_to_bf16(x[i]);
}

/* ------------------------------------------------------------------------
 * Q8_0, Q8_1 (x86 variant: id = 127/amax, ties to even), Q8_K
 * ---------------------------------------------------------------------- */

static inline float hmax8(__m256 v)
{
    __m128 m = _mm_max_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

static inline __m256 abs8(__m256 v)
{
    return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v);
}

/* 32 floats times id, rounded to nearest even, saturated to int8, stored
 * in order; returns the sum of the quants. */
static inline int round_store32(const float *x, __m256 id, int8_t *q)
{
    __m256i v[4];
    for (int j = 0; j < 4; j++)
        v[j] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * j), id),
                                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    const __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(v[0], v[1]), _mm256_packs_epi32(v[2], v[3]));
    const __m256i b = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)q, b);
    /* sum of the (saturated) bytes */
    const __m256i s16 = _mm256_maddubs_epi16(_mm256_set1_epi8(1), b);
    return x86_hsum_i32(_mm256_madd_epi16(s16, _mm256_set1_epi16(1)));
}

static inline float amax32(const float *x)
{
    __m256 m = abs8(_mm256_loadu_ps(x));
    for (int j = 1; j < 4; j++) m = _mm256_max_ps(m, abs8(_mm256_loadu_ps(x + 8 * j)));
    return hmax8(m);
}

void q8_0_quantize_avx2(const float *x, void *y, int64_t n)
{
    block_q8_0 *b = y;
    for (int64_t i = 0; i < n / QK8_0; i++, x += QK8_0) {
        const float amax = amax32(x);
        const float id = amax != 0.0f ? 127.f / amax : 0.0f;
        b[i].d = _cvtss_sh(amax / 127.f, _MM_FROUND_TO_NEAREST_INT);
        round_store32(x, _mm256_set1_ps(id), b[i].qs);
    }
}

void q8_1_quantize_avx2(const float *x, void *y, int64_t n)
{
    block_q8_1 *b = y;
    for (int64_t i = 0; i < n / QK8_1; i++, x += QK8_1) {
        const float amax = amax32(x);
        const float d = amax / 127.f, id = amax != 0.0f ? 127.f / amax : 0.0f;
        const int sum = round_store32(x, _mm256_set1_ps(id), b[i].qs);
        b[i].d = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
        b[i].s = _cvtss_sh(d * sum, _MM_FROUND_TO_NEAREST_INT);
    }
}

void q8_K_quantize_avx2(const float *x, void *y, int64_t n)
{
    block_q8_K *b = y;
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        __m256 m = _mm256_setzero_ps();
        for (int j = 0; j < QK_K; j += 8) m = _mm256_max_ps(m, abs8(_mm256_loadu_ps(x + j)));
        const float amax = hmax8(m);
        if (amax == 0.0f) {
            memset(&b[i], 0, sizeof b[i]);
            continue;
        }
        /* the signed value of the first element of largest magnitude */
        const __m256 am = _mm256_set1_ps(amax);
        float max = 0;
        for (int j = 0; j < QK_K; j += 8) {
            const int hit = _mm256_movemask_ps(_mm256_cmp_ps(abs8(_mm256_loadu_ps(x + j)), am, _CMP_EQ_OQ));
            if (hit) {
                max = x[j + __builtin_ctz((unsigned)hit)];
                break;
            }
        }
        const float iscale = -127.f / max;
        const __m256 is = _mm256_set1_ps(iscale);
        for (int j = 0; j < QK_K; j += 32) round_store32(x + j, is, b[i].qs + j);
        for (int g = 0; g < QK_K / 16; g++) {
            const __m128i q = _mm_loadu_si128((const __m128i *)(b[i].qs + 16 * g));
            const __m256i w = _mm256_cvtepi8_epi16(q);
            const __m256i s = _mm256_madd_epi16(w, _mm256_set1_epi16(1));
            b[i].bsums[g] = (int16_t)x86_hsum_i32(s);
        }
        b[i].d = 1 / iscale;
    }
}

#endif /* __x86_64__ */
