/*
 * attention_avx2.c — the AVX2 table's attention kernels: streaming
 * attention (attention.h) with F16C, 8 lanes, and the exact F32-cache
 * products, bit-identical to ops.c's (see dot_x86.h).
 *
 * The streaming kernels follow attention_avx512.c: up to ATTN_GMAX queries
 * (a token's heads) walk each K row once for all of them, one horizontal
 * sum per score (head dimensions that are a multiple of 8); more queries
 * (a prompt batch's tokens) take the wide body, which widens and
 * transposes each K tile once, forms 16 scores of a query with broadcast
 * FMAs and no horizontal sums, and reuses the widened V tile for every
 * query (multiples of 16 up to WIDE_HD_MAX). Other head dimensions go to
 * the reference kernels. exp is a vector polynomial (exp8).
 */
#if defined(__x86_64__)

#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "gguf/ggml_type.h"
#include "kernels/attention.h"
#include "kernels/dot_x86.h"
#include "kernels/ops.h"
#include "kernels/simd_avx2.h"
#include "tensor/quant.h"

#define INLINE static inline __attribute__((always_inline))

_Static_assert(ATTN_TILE == 32, "the tile is four vectors of 8 scores");

#define WIDE_HD_MAX 256 /* largest head dimension of the wide body (tile buffers on the stack) */
#define WIDE_Q 4        /* queries whose scores are formed together */

/* Elements c..c+7 of a cache row as floats (c % 8 == 0). */
INLINE __m256 load8(uint32_t type, const void *row, int c)
{
    if (type == GGML_TYPE_F16) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const mote_f16 *)row + c)));
    const block_q8_0 *b = (const block_q8_0 *)row + c / QK8_0;
    const __m128i q8 = _mm_loadl_epi64((const __m128i *)(b->qs + c % QK8_0));
    return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q8)), _mm256_set1_ps(x86_f16(b->d)));
}

/* e^x for x <= 0: the polynomial of avx512_exp_n (simd_avx512.h), 2^n
 * built in the exponent bits; x is clamped at -87 (n >= -126), so lanes
 * of -inf give e^-87, which the callers mask to 0. */
INLINE __m256 exp8(__m256 x)
{
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(0x1.715476p+0f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m256 b = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f),
                                      _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x));
    const __m256 u = _mm256_mul_ps(b, b);
    const __m256 p5 = _mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), b, _mm256_set1_ps(0x1.573e2ep-5f));
    const __m256 p3 = _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b, _mm256_set1_ps(0x1.fffdb6p-2f));
    const __m256 p1 = _mm256_fmadd_ps(_mm256_set1_ps(0x1.ffffecp-1f), b, _mm256_set1_ps(1.0f));
    const __m256 two_n = _mm256_castsi256_ps(
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23));
    return _mm256_mul_ps(_mm256_fmadd_ps(_mm256_fmadd_ps(p5, u, p3), u, p1), two_n);
}

/* All-ones in the lanes of vector w (positions 8w..8w+7) below nt. */
INLINE __m256 valid8(int w, int nt)
{
    const __m256i idx = _mm256_add_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(8 * w));
    return _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(nt), idx));
}

/* One query's online-softmax step over a tile of 32 scores s[0..3] (lanes
 * of positions >= nt ignored): updates *m and *l, leaves the weights in p
 * (0 past nt) and returns the factor for what was accumulated before. */
INLINE float softmax_tile(__m256 s[4], int nt, float *m, float *l, float *p)
{
    const __m256 ninf = _mm256_set1_ps(-INFINITY);
    __m256 ok[4], mx4 = ninf;
    for (int w = 0; w < 4; w++) {
        ok[w] = valid8(w, nt);
        s[w] = _mm256_blendv_ps(ninf, s[w], ok[w]);
        mx4 = _mm256_max_ps(mx4, s[w]);
    }
    __m128 h = _mm_max_ps(_mm256_extractf128_ps(mx4, 1), _mm256_castps256_ps128(mx4));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_movehdup_ps(h));
    const float tmax = _mm_cvtss_f32(h);
    const float mx = tmax > *m ? tmax : *m;
    const float corr = attn_rescale(*m, mx);
    const __m256 mv = _mm256_set1_ps(mx);
    __m256 sum = _mm256_setzero_ps();
    for (int w = 0; w < 4; w++) {
        const __m256 e = _mm256_and_ps(exp8(_mm256_sub_ps(s[w], mv)), ok[w]);
        _mm256_storeu_ps(p + 8 * w, e);
        sum = _mm256_add_ps(sum, e);
    }
    *l = *l * corr + x86_hsum8(sum);
    *m = mx;
    return corr;
}

/* ------------------------------------------------------------------------
 * Narrow body: a token's heads, one pass over each K row for all of them
 * ---------------------------------------------------------------------- */

INLINE void chunk_body(uint32_t type, const int G, const float *q, int64_t q_stride, const char *k, const char *v,
                       size_t row_bytes, int n, int hd, float scale, float *part)
{
    const size_t ps = attn_part_stride(hd);
    float m[ATTN_GMAX], l[ATTN_GMAX], corr[ATTN_GMAX];
    float p[ATTN_GMAX][ATTN_TILE] __attribute__((aligned(32)));
    attn_part_start(part, G, hd, m, l);
    for (int i0 = 0; i0 < n; i0 += ATTN_TILE) {
        const int nt = n - i0 < ATTN_TILE ? n - i0 : ATTN_TILE;
        for (int i = 0; i < nt; i++) {
            const char *kr = k + (size_t)(i0 + i) * row_bytes;
            __m256 dot[ATTN_GMAX];
#pragma GCC unroll 8
            for (int j = 0; j < G; j++) dot[j] = _mm256_setzero_ps();
            for (int c = 0; c < hd; c += 8) {
                const __m256 kk = load8(type, kr, c);
#pragma GCC unroll 8
                for (int j = 0; j < G; j++) dot[j] = _mm256_fmadd_ps(_mm256_loadu_ps(q + j * q_stride + c), kk, dot[j]);
            }
#pragma GCC unroll 8
            for (int j = 0; j < G; j++) p[j][i] = x86_hsum8(dot[j]) * scale;
        }
        for (int j = 0; j < G; j++) {
            __m256 s[4];
            for (int w = 0; w < 4; w++) s[w] = _mm256_load_ps(p[j] + 8 * w); /* lanes past nt: ignored */
            corr[j] = softmax_tile(s, nt, &m[j], &l[j], p[j]);
        }
        for (int c = 0; c < hd; c += 8) {
            __m256 acc[ATTN_GMAX];
#pragma GCC unroll 8
            for (int j = 0; j < G; j++) acc[j] = _mm256_mul_ps(_mm256_loadu_ps(part + j * ps + c), _mm256_set1_ps(corr[j]));
            for (int i = 0; i < nt; i++) {
                const __m256 vv = load8(type, v + (size_t)(i0 + i) * row_bytes, c);
#pragma GCC unroll 8
                for (int j = 0; j < G; j++) acc[j] = _mm256_fmadd_ps(_mm256_set1_ps(p[j][i]), vv, acc[j]);
            }
#pragma GCC unroll 8
            for (int j = 0; j < G; j++) _mm256_storeu_ps(part + j * ps + c, acc[j]);
        }
    }
    attn_part_close(part, G, hd, m, l);
}

/* ------------------------------------------------------------------------
 * Wide body: many queries against one widened, transposed K tile
 * ---------------------------------------------------------------------- */

/* Q queries over one tile: kt[d * ATTN_TILE + i] is element d of key i,
 * vt[i * hd + d] of value i (nt rows); m, l, acc as in chunk_body. */
INLINE void wide_tile(const int Q, const float *q, int64_t q_stride, const float *kt, const float *vt, int nt,
                      int hd, float scale, float *m, float *l, float *acc, size_t ps)
{
    float p[WIDE_Q][ATTN_TILE] __attribute__((aligned(32)));
    float corr[WIDE_Q];
    __m256 s[WIDE_Q][4];
    /* scores, 16 positions at a time (8 accumulators) */
    for (int h = 0; h < 2; h++) {
        __m256 a0[WIDE_Q], a1[WIDE_Q];
#pragma GCC unroll 4
        for (int j = 0; j < Q; j++) a0[j] = a1[j] = _mm256_setzero_ps();
        for (int d = 0; d < hd; d++) {
            const __m256 k0 = _mm256_load_ps(kt + d * ATTN_TILE + 16 * h), k1 = _mm256_load_ps(kt + d * ATTN_TILE + 16 * h + 8);
#pragma GCC unroll 4
            for (int j = 0; j < Q; j++) {
                const __m256 qd = _mm256_broadcast_ss(q + j * q_stride + d);
                a0[j] = _mm256_fmadd_ps(qd, k0, a0[j]);
                a1[j] = _mm256_fmadd_ps(qd, k1, a1[j]);
            }
        }
        const __m256 sc = _mm256_set1_ps(scale);
#pragma GCC unroll 4
        for (int j = 0; j < Q; j++) {
            s[j][2 * h] = _mm256_mul_ps(a0[j], sc);
            s[j][2 * h + 1] = _mm256_mul_ps(a1[j], sc);
        }
    }
#pragma GCC unroll 4
    for (int j = 0; j < Q; j++) corr[j] = softmax_tile(s[j], nt, &m[j], &l[j], p[j]);
    /* acc = acc * corr + p · V, 16 output dimensions at a time */
    for (int c = 0; c < hd; c += 16) {
        __m256 a0[WIDE_Q], a1[WIDE_Q];
#pragma GCC unroll 4
        for (int j = 0; j < Q; j++) {
            const __m256 cj = _mm256_set1_ps(corr[j]);
            a0[j] = _mm256_mul_ps(_mm256_loadu_ps(acc + j * ps + c), cj);
            a1[j] = _mm256_mul_ps(_mm256_loadu_ps(acc + j * ps + c + 8), cj);
        }
        for (int i = 0; i < nt; i++) {
            const __m256 v0 = _mm256_load_ps(vt + i * hd + c), v1 = _mm256_load_ps(vt + i * hd + c + 8);
#pragma GCC unroll 4
            for (int j = 0; j < Q; j++) {
                const __m256 pj = _mm256_broadcast_ss(&p[j][i]);
                a0[j] = _mm256_fmadd_ps(pj, v0, a0[j]);
                a1[j] = _mm256_fmadd_ps(pj, v1, a1[j]);
            }
        }
#pragma GCC unroll 4
        for (int j = 0; j < Q; j++) {
            _mm256_storeu_ps(acc + j * ps + c, a0[j]);
            _mm256_storeu_ps(acc + j * ps + c + 8, a1[j]);
        }
    }
}

/* g queries (up to ATTN_QMAX), hd a multiple of 16 up to WIDE_HD_MAX. */
/* K rows i0..i0+nt-1 widened into vt's rows (zeros past nt) and
 * transposed into kt; then the V rows widened into vt. */
INLINE void widen_tile(uint32_t type, const char *k, const char *v, size_t row_bytes, int i0, int nt, int hd,
                       float *kt, float *vt)
{
    /* gather indices of a column of 8 keys in the widened rows (vt) */
    const __m256i col = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(hd));
    /* K tile: widened into vt's rows (zeros past nt), then transposed */
    for (int i = 0; i < ATTN_TILE; i++)
        for (int c = 0; c < hd; c += 8)
            _mm256_store_ps(vt + i * hd + c, i < nt ? load8(type, k + (size_t)(i0 + i) * row_bytes, c)
                                                    : _mm256_setzero_ps());
    for (int d = 0; d < hd; d++)
        for (int w = 0; w < 4; w++)
            _mm256_store_ps(kt + d * ATTN_TILE + 8 * w, _mm256_i32gather_ps(vt + 8 * w * hd + d, col, 4));
    for (int i = 0; i < nt; i++)
        for (int c = 0; c < hd; c += 8)
            _mm256_store_ps(vt + i * hd + c, load8(type, v + (size_t)(i0 + i) * row_bytes, c));
}

#define ATTN_SUFFIX avx2
#define NARROW_ALIGN 8
#define WIDE_ALIGN 16
#define TILE_ALIGN 32
#include "kernels/attention_body.h"

/* ------------------------------------------------------------------------
 * Exact F32 products
 * ---------------------------------------------------------------------- */

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
