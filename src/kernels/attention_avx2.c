/*
 * attention_avx2.c — AVX2 products of exact (F32-cache) attention,
 * bit-identical to ops.c's (see dot_x86.h).
 */
#if defined(__x86_64__)

#include <immintrin.h>

#include "kernels/dot_x86.h"
#include "kernels/ops.h"

/* op_attn_values_batch's 16 lanes for 8 dimensions at once (lane j % 16
 * an FMA chain over the positions j), then its 16-lane reduction. */
void attn_values_batch_avx2(float *out, const float *p, const float *v, int64_t stride, int n, int hd)
{
    if (hd % 8 != 0) {
        op_attn_values_batch(out, p, v, stride, n, hd);
        return;
    }
    __m256 acc[16];
    for (int d0 = 0; d0 < hd; d0 += 8) {
        for (int L = 0; L < 16; L++) acc[L] = _mm256_setzero_ps();
        for (int j = 0; j < n; j++)
            acc[j & 15] = _mm256_fmadd_ps(_mm256_set1_ps(p[j]), _mm256_loadu_ps(v + (int64_t)j * stride + d0), acc[j & 15]);
        __m256 h8[8], h4[4];
        for (int i = 0; i < 8; i++) h8[i] = _mm256_add_ps(acc[i + 8], acc[i]);
        for (int i = 0; i < 4; i++) h4[i] = _mm256_add_ps(h8[i + 4], h8[i]);
        _mm256_storeu_ps(out + d0, _mm256_add_ps(_mm256_add_ps(h4[0], h4[2]), _mm256_add_ps(h4[1], h4[3])));
    }
}

#endif /* __x86_64__ */
