/*
 * ops_avx512.c — AVX-512 versions of the element-wise ops of ops.c, each
 * lane computing exactly what the scalar op computes for that element.
 */
#if defined(__x86_64__)

#include <immintrin.h>
#include <math.h>

#include "kernels/dot_x86.h"
#include "kernels/simd_avx512.h"

/* ops.c's vexpf on 16 lanes: n = round(x / ln 2) by the same shift
 * trick, the polynomial and the scaling by 2^n as avx512_exp_n gives them
 * (vscalefps: subnormals and overflow as ldexpf), and |n| > 192 gives 0 or
 * +inf as there. */
static inline __m512 vexp16(__m512 x)
{
    const __m512 shift = _mm512_set1_ps(0x1.8p23f);
    const __m512 n = _mm512_sub_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(0x1.715476p+0f), shift), shift);
    const __m512 r = avx512_exp_n(x, n);
    const __mmask16 big = _mm512_cmp_ps_mask(_mm512_abs_ps(n), _mm512_set1_ps(192.0f), _CMP_GT_OQ);
    const __mmask16 neg = _mm512_cmp_ps_mask(n, _mm512_setzero_ps(), _CMP_LE_OQ);
    const __m512 inf = _mm512_set1_ps(INFINITY);
    return _mm512_mask_blend_ps(big, r, _mm512_mask_blend_ps(neg, inf, _mm512_setzero_ps()));
}

void swiglu_avx512(float *g, const float *u, int n)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 x = _mm512_loadu_ps(g + i);
        const __m512 e = vexp16(_mm512_sub_ps(_mm512_setzero_ps(), x));
        _mm512_storeu_ps(g + i, _mm512_mul_ps(_mm512_div_ps(x, _mm512_add_ps(one, e)), _mm512_loadu_ps(u + i)));
    }
    for (; i < n; i++) g[i] = g[i] / (1.0f + expf(-g[i])) * u[i]; /* as ops.c: libm past the last vector */
}

#endif /* __x86_64__ */
