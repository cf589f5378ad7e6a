/*
 * attention_avx512.c — the AVX-512 tables' attention kernels: streaming
 * attention (attention.h) with F16C: K/V rows are widened 16 elements at
 * a time (vcvtph2ps for F16, sign extension and a scale for Q8_0), scores
 * and weighted sums use FMAs, and exp is a vector polynomial; head
 * dimensions that are not a multiple of 16 go to the reference kernels.
 *
 * Also the exact F32-cache products, bit-identical to ops.c's.
 *
 * Two bodies. Up to ATTN_GMAX queries (a token's query heads: generation)
 * walk each K row once for all of them, one horizontal sum per score; their
 * number is a compile-time constant in each instance of the body, so the
 * per-query accumulators live in registers. More queries (the tokens of a
 * prompt batch) take the wide body: each tile of K is widened once and
 * transposed, so the 32 scores of a query are two vectors built with
 * broadcast FMAs and no horizontal sums, and the widened V tile serves
 * every query from L1.
 */
#if defined(__x86_64__)

#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "gguf/ggml_type.h"
#include "kernels/attention.h"
#include "kernels/dot_x86.h"
#include "kernels/ops.h"
#include "kernels/simd_avx512.h"
#include "tensor/quant.h"

#define INLINE static inline __attribute__((always_inline))

_Static_assert(ATTN_TILE == 32, "the tile is two vectors of 16 scores");

/* Elements c..c+15 of a cache row as floats (c % 16 == 0). */
INLINE __m512 load16(uint32_t type, const void *row, int c)
{
    if (type == GGML_TYPE_F16) return avx512_load_f16((const mote_f16 *)row + c);
    const block_q8_0 *b = (const block_q8_0 *)row + c / QK8_0;
    const __m128i q8 = _mm_loadu_si128((const __m128i *)(b->qs + c % QK8_0));
    return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q8)), _mm512_set1_ps(x86_f16(b->d)));
}

/* e^x for x <= 0 (softmax arguments once the maximum is subtracted):
 * avx512_exp_n, with n rounded by vrndscaleps; 2^n underflows cleanly to
 * 0 in vscalefps. */
INLINE __m512 exp16(__m512 x)
{
    x = _mm512_max_ps(x, _mm512_set1_ps(-104.0f)); /* e^-104 is 0 in float; keeps -inf out */
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(0x1.715476p+0f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    return avx512_exp_n(x, n);
}

/* Lanes of the first (or second) vector of a tile that hold positions < nt. */
INLINE __mmask16 lanes(int nt)
{
    return nt >= 16 ? (__mmask16)0xffff : nt <= 0 ? (__mmask16)0 : (__mmask16)((1u << nt) - 1);
}

INLINE void chunk_body(uint32_t type, const int G, const float *q, int64_t q_stride, const char *k, const char *v,
                       size_t row_bytes, int n, int hd, float scale, float *part)
{
    const size_t ps = attn_part_stride(hd);
    float m[ATTN_GMAX], l[ATTN_GMAX], corr[ATTN_GMAX];
    float p[ATTN_GMAX][ATTN_TILE] __attribute__((aligned(64)));
    for (int j = 0; j < G; j++) {
        m[j] = -INFINITY;
        l[j] = 0.0f;
        memset(part + j * ps, 0, sizeof(float) * (size_t)hd);
    }
    for (int i0 = 0; i0 < n; i0 += ATTN_TILE) {
        const int nt = n - i0 < ATTN_TILE ? n - i0 : ATTN_TILE;

        /* scores of the tile: one pass over each K row for all G queries */
        for (int i = 0; i < nt; i++) {
            const char *kr = k + (size_t)(i0 + i) * row_bytes;
            __m512 dot[ATTN_GMAX];
#pragma GCC unroll 8
            for (int j = 0; j < G; j++) dot[j] = _mm512_setzero_ps();
            for (int c = 0; c < hd; c += 16) {
                const __m512 kk = load16(type, kr, c);
#pragma GCC unroll 8
                for (int j = 0; j < G; j++) dot[j] = _mm512_fmadd_ps(_mm512_loadu_ps(q + j * q_stride + c), kk, dot[j]);
            }
#pragma GCC unroll 8
            for (int j = 0; j < G; j++) p[j][i] = _mm512_reduce_add_ps(dot[j]) * scale;
        }

        /* online softmax: new maxima, probabilities, rescaled sums */
        const __mmask16 k0 = lanes(nt), k1 = lanes(nt - 16);
        const __m512 ninf = _mm512_set1_ps(-INFINITY);
        for (int j = 0; j < G; j++) {
            const __m512 s0 = _mm512_mask_loadu_ps(ninf, k0, p[j]);
            const __m512 s1 = _mm512_mask_loadu_ps(ninf, k1, p[j] + 16);
            const float tmax = _mm512_reduce_max_ps(_mm512_max_ps(s0, s1));
            const float mx = tmax > m[j] ? tmax : m[j];
            corr[j] = attn_rescale(m[j], mx);
            const __m512 mv = _mm512_set1_ps(mx);
            const __m512 e0 = _mm512_maskz_mov_ps(k0, exp16(_mm512_sub_ps(s0, mv)));
            const __m512 e1 = _mm512_maskz_mov_ps(k1, exp16(_mm512_sub_ps(s1, mv)));
            _mm512_store_ps(p[j], e0);
            _mm512_store_ps(p[j] + 16, e1);
            l[j] = l[j] * corr[j] + _mm512_reduce_add_ps(_mm512_add_ps(e0, e1));
            m[j] = mx;
        }

        /* acc = acc * corr + p · V, 16 output dimensions at a time */
        for (int c = 0; c < hd; c += 16) {
            __m512 acc[ATTN_GMAX];
#pragma GCC unroll 8
            for (int j = 0; j < G; j++) acc[j] = _mm512_mul_ps(_mm512_loadu_ps(part + j * ps + c), _mm512_set1_ps(corr[j]));
            for (int i = 0; i < nt; i++) {
                const __m512 vv = load16(type, v + (size_t)(i0 + i) * row_bytes, c);
#pragma GCC unroll 8
                for (int j = 0; j < G; j++) acc[j] = _mm512_fmadd_ps(_mm512_set1_ps(p[j][i]), vv, acc[j]);
            }
#pragma GCC unroll 8
            for (int j = 0; j < G; j++) _mm512_storeu_ps(part + j * ps + c, acc[j]);
        }
    }
    for (int j = 0; j < G; j++) {
        part[j * ps + hd] = m[j];
        part[j * ps + hd + 1] = l[j];
    }
}

/* ------------------------------------------------------------------------
 * Wide body: many queries against one widened, transposed K tile
 * ---------------------------------------------------------------------- */

#define WIDE_HD_MAX 256 /* largest head dimension of the wide body (tile buffers on the stack) */
#define WIDE_Q 8        /* queries whose scores are formed together (16 accumulators) */

/* Scores, online softmax and p·V of Q queries (q: query 0, stride
 * q_stride) over one tile: kt[d * ATTN_TILE + i] is element d of key i,
 * vt[i * hd + d] of value i (nt rows). m, l: the queries' running maxima
 * and sums; acc: their partials (stride ps). */
INLINE void wide_tile(const int Q, const float *q, int64_t q_stride, const float *kt, const float *vt, int nt,
                      int hd, float scale, float *m, float *l, float *acc, size_t ps)
{
    __m512 s0[WIDE_Q], s1[WIDE_Q];
#pragma GCC unroll 8
    for (int j = 0; j < Q; j++) s0[j] = s1[j] = _mm512_setzero_ps();
    for (int d = 0; d < hd; d++) {
        const __m512 k0 = _mm512_load_ps(kt + d * ATTN_TILE), k1 = _mm512_load_ps(kt + d * ATTN_TILE + 16);
#pragma GCC unroll 8
        for (int j = 0; j < Q; j++) {
            const __m512 qd = _mm512_set1_ps(q[j * q_stride + d]);
            s0[j] = _mm512_fmadd_ps(qd, k0, s0[j]);
            s1[j] = _mm512_fmadd_ps(qd, k1, s1[j]);
        }
    }
    float p[WIDE_Q][ATTN_TILE] __attribute__((aligned(64)));
    float corr[WIDE_Q];
    const __mmask16 k0 = lanes(nt), k1 = lanes(nt - 16);
    const __m512 ninf = _mm512_set1_ps(-INFINITY), sc = _mm512_set1_ps(scale);
#pragma GCC unroll 8
    for (int j = 0; j < Q; j++) {
        const __m512 a = _mm512_mask_mul_ps(ninf, k0, s0[j], sc), b = _mm512_mask_mul_ps(ninf, k1, s1[j], sc);
        const float tmax = _mm512_reduce_max_ps(_mm512_max_ps(a, b));
        const float mx = tmax > m[j] ? tmax : m[j];
        corr[j] = attn_rescale(m[j], mx);
        const __m512 mv = _mm512_set1_ps(mx);
        const __m512 e0 = _mm512_maskz_mov_ps(k0, exp16(_mm512_sub_ps(a, mv)));
        const __m512 e1 = _mm512_maskz_mov_ps(k1, exp16(_mm512_sub_ps(b, mv)));
        _mm512_store_ps(p[j], e0);
        _mm512_store_ps(p[j] + 16, e1);
        l[j] = l[j] * corr[j] + _mm512_reduce_add_ps(_mm512_add_ps(e0, e1));
        m[j] = mx;
    }
    /* acc = acc * corr + p · V, 32 output dimensions at a time */
    for (int c = 0; c < hd; c += 32) {
        __m512 a0[WIDE_Q], a1[WIDE_Q];
#pragma GCC unroll 8
        for (int j = 0; j < Q; j++) {
            const __m512 cj = _mm512_set1_ps(corr[j]);
            a0[j] = _mm512_mul_ps(_mm512_loadu_ps(acc + j * ps + c), cj);
            a1[j] = _mm512_mul_ps(_mm512_loadu_ps(acc + j * ps + c + 16), cj);
        }
        for (int i = 0; i < nt; i++) {
            const __m512 v0 = _mm512_load_ps(vt + i * hd + c), v1 = _mm512_load_ps(vt + i * hd + c + 16);
#pragma GCC unroll 8
            for (int j = 0; j < Q; j++) {
                const __m512 pj = _mm512_set1_ps(p[j][i]);
                a0[j] = _mm512_fmadd_ps(pj, v0, a0[j]);
                a1[j] = _mm512_fmadd_ps(pj, v1, a1[j]);
            }
        }
#pragma GCC unroll 8
        for (int j = 0; j < Q; j++) {
            _mm512_storeu_ps(acc + j * ps + c, a0[j]);
            _mm512_storeu_ps(acc + j * ps + c + 16, a1[j]);
        }
    }
}

/* g queries (any number up to ATTN_QMAX), hd a multiple of 32 up to
 * WIDE_HD_MAX. */
static void chunk_wide(uint32_t type, const float *q, int64_t q_stride, int g, const char *k, const char *v,
                       size_t row_bytes, int n, int hd, float scale, float *part)
{
    const size_t ps = attn_part_stride(hd);
    float kt[WIDE_HD_MAX * ATTN_TILE] __attribute__((aligned(64)));
    float vt[ATTN_TILE * WIDE_HD_MAX] __attribute__((aligned(64)));
    float m[ATTN_QMAX], l[ATTN_QMAX];
    for (int j = 0; j < g; j++) {
        m[j] = -INFINITY;
        l[j] = 0.0f;
        memset(part + j * ps, 0, sizeof(float) * (size_t)hd);
    }
    /* gather indices of a column of 16 keys in the widened rows (vt) */
    const __m512i col = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                           _mm512_set1_epi32(hd));
    for (int i0 = 0; i0 < n; i0 += ATTN_TILE) {
        const int nt = n - i0 < ATTN_TILE ? n - i0 : ATTN_TILE;
        /* K tile: widened into vt's rows (zeros past nt), then transposed */
        for (int i = 0; i < ATTN_TILE; i++)
            for (int c = 0; c < hd; c += 16)
                _mm512_store_ps(vt + i * hd + c, i < nt ? load16(type, k + (size_t)(i0 + i) * row_bytes, c)
                                                        : _mm512_setzero_ps());
        for (int d = 0; d < hd; d++) {
            _mm512_store_ps(kt + d * ATTN_TILE, _mm512_i32gather_ps(col, vt + d, 4));
            _mm512_store_ps(kt + d * ATTN_TILE + 16, _mm512_i32gather_ps(col, vt + 16 * hd + d, 4));
        }
        /* V tile */
        for (int i = 0; i < nt; i++)
            for (int c = 0; c < hd; c += 16)
                _mm512_store_ps(vt + i * hd + c, load16(type, v + (size_t)(i0 + i) * row_bytes, c));
        int j = 0;
        for (; j + WIDE_Q <= g; j += WIDE_Q)
            wide_tile(WIDE_Q, q + j * q_stride, q_stride, kt, vt, nt, hd, scale, m + j, l + j, part + j * ps, ps);
        switch (g - j) {
        case 1: wide_tile(1, q + j * q_stride, q_stride, kt, vt, nt, hd, scale, m + j, l + j, part + j * ps, ps); break;
        case 2: wide_tile(2, q + j * q_stride, q_stride, kt, vt, nt, hd, scale, m + j, l + j, part + j * ps, ps); break;
        case 3: wide_tile(3, q + j * q_stride, q_stride, kt, vt, nt, hd, scale, m + j, l + j, part + j * ps, ps); break;
        case 4: wide_tile(4, q + j * q_stride, q_stride, kt, vt, nt, hd, scale, m + j, l + j, part + j * ps, ps); break;
        case 5: wide_tile(5, q + j * q_stride, q_stride, kt, vt, nt, hd, scale, m + j, l + j, part + j * ps, ps); break;
        case 6: wide_tile(6, q + j * q_stride, q_stride, kt, vt, nt, hd, scale, m + j, l + j, part + j * ps, ps); break;
        case 7: wide_tile(7, q + j * q_stride, q_stride, kt, vt, nt, hd, scale, m + j, l + j, part + j * ps, ps); break;
        default: break;
        }
    }
    for (int j = 0; j < g; j++) {
        part[j * ps + hd] = m[j];
        part[j * ps + hd + 1] = l[j];
    }
}

/* One token's heads (g <= ATTN_GMAX): the body instantiated per G. */
static void chunk_narrow(uint32_t type, const float *q, int64_t q_stride, int g, const char *k, const char *v,
                         size_t row_bytes, int n, int hd, float scale, float *part)
{
    switch (g) {
    case 1: chunk_body(type, 1, q, q_stride, k, v, row_bytes, n, hd, scale, part); break;
    case 2: chunk_body(type, 2, q, q_stride, k, v, row_bytes, n, hd, scale, part); break;
    case 3: chunk_body(type, 3, q, q_stride, k, v, row_bytes, n, hd, scale, part); break;
    case 4: chunk_body(type, 4, q, q_stride, k, v, row_bytes, n, hd, scale, part); break;
    case 5: chunk_body(type, 5, q, q_stride, k, v, row_bytes, n, hd, scale, part); break;
    case 6: chunk_body(type, 6, q, q_stride, k, v, row_bytes, n, hd, scale, part); break;
    case 7: chunk_body(type, 7, q, q_stride, k, v, row_bytes, n, hd, scale, part); break;
    default: chunk_body(type, 8, q, q_stride, k, v, row_bytes, n, hd, scale, part); break;
    }
}

static void chunk_any(uint32_t type, const float *q, int64_t q_stride, int g, const char *k, const char *v,
                      size_t row_bytes, int n, int hd, float scale, float *part)
{
    if (g <= ATTN_GMAX) {
        chunk_narrow(type, q, q_stride, g, k, v, row_bytes, n, hd, scale, part);
    } else if (hd % 32 == 0 && hd <= WIDE_HD_MAX) {
        chunk_wide(type, q, q_stride, g, k, v, row_bytes, n, hd, scale, part);
    } else {
        const size_t ps = attn_part_stride(hd);
        for (int j = 0; j < g; j += ATTN_GMAX)
            chunk_narrow(type, q + j * q_stride, q_stride, g - j < ATTN_GMAX ? g - j : ATTN_GMAX, k, v, row_bytes,
                         n, hd, scale, part + j * ps);
    }
}

/* One kernel per cache type. */
#define CHUNK_KERNEL(name, TYPE, REF)                                                                              \
    void name(const float *q, int64_t q_stride, int g, const void *k, const void *v, size_t row_bytes, int n,      \
              int hd, float scale, float *part)                                                                    \
    {                                                                                                              \
        if (hd % 16 != 0)                                                                                          \
            REF(q, q_stride, g, k, v, row_bytes, n, hd, scale, part);                                              \
        else                                                                                                       \
            chunk_any(TYPE, q, q_stride, g, k, v, row_bytes, n, hd, scale, part);                                  \
    }

CHUNK_KERNEL(attn_chunk_f16_avx512, GGML_TYPE_F16, attn_chunk_f16_ref)
CHUNK_KERNEL(attn_chunk_q8_0_avx512, GGML_TYPE_Q8_0, attn_chunk_q8_0_ref)

/* ------------------------------------------------------------------------
 * Exact F32 products
 *
 * The lane assignment and folding of ops.c's op_dot_f32 / op_attn_values
 * (4 vectors of 16 lanes; element i in vector (i / 16) % 4, lane i % 16;
 * vectors folded 0+2, 1+3, then 0+1; lanes reduced 16 -> 8 -> 4, then
 * (0 + 2) + (1 + 3)) with real vector FMAs: the same roundings in the same
 * order, so the results are bit-identical (the Makefile builds without
 * floating-point contraction, -ffp-contract=off). The dot is the F32
 * weights' one-row dot product, which has that order.
 * ---------------------------------------------------------------------- */

float attn_dot_avx512(const float *a, const float *b, int n)
{
    float s;
    f32_dot_avx512(n, &s, a, b);
    return s;
}

/* 16 output dimensions at a time: acc[L] holds lane L = j % 64 of ops.c's
 * accumulators for each of the 16 dimensions, then the folds run across
 * the dimensions in parallel. */
void attn_values_avx512(float *out, const float *p, const float *v, int64_t stride, int n, int hd)
{
    if (hd % 16 != 0) {
        op_attn_values(out, p, v, stride, n, hd);
        return;
    }
    __m512 acc[64];
    for (int d0 = 0; d0 < hd; d0 += 16) {
        for (int L = 0; L < 64; L++) acc[L] = _mm512_setzero_ps();
        for (int j = 0; j < n; j++)
            acc[j & 63] = _mm512_fmadd_ps(_mm512_set1_ps(p[j]), _mm512_loadu_ps(v + (int64_t)j * stride + d0), acc[j & 63]);
        __m512 f[16], h8[8], h4[4];
        for (int l = 0; l < 16; l++)
            f[l] = _mm512_add_ps(_mm512_add_ps(acc[l], acc[32 + l]), _mm512_add_ps(acc[16 + l], acc[48 + l]));
        for (int i = 0; i < 8; i++) h8[i] = _mm512_add_ps(f[i + 8], f[i]);
        for (int i = 0; i < 4; i++) h4[i] = _mm512_add_ps(h8[i + 4], h8[i]);
        _mm512_storeu_ps(out + d0, _mm512_add_ps(_mm512_add_ps(h4[0], h4[2]), _mm512_add_ps(h4[1], h4[3])));
    }
}

/* op_attn_values_batch's 16 lanes (lane j % 16 an FMA chain over the
 * positions j) for 16 dimensions at once, reduced as _mm512_reduce_add_ps
 * (scalar_reduce16) across the lanes, dimension by dimension in parallel. */
void attn_values_batch_avx512(float *out, const float *p, const float *v, int64_t stride, int n, int hd)
{
    if (hd % 16 != 0) {
        op_attn_values_batch(out, p, v, stride, n, hd);
        return;
    }
    __m512 acc[16];
    for (int d0 = 0; d0 < hd; d0 += 16) {
        for (int L = 0; L < 16; L++) acc[L] = _mm512_setzero_ps();
        for (int j = 0; j < n; j++)
            acc[j & 15] = _mm512_fmadd_ps(_mm512_set1_ps(p[j]), _mm512_loadu_ps(v + (int64_t)j * stride + d0), acc[j & 15]);
        __m512 h8[8], h4[4];
        for (int i = 0; i < 8; i++) h8[i] = _mm512_add_ps(acc[i + 8], acc[i]);
        for (int i = 0; i < 4; i++) h4[i] = _mm512_add_ps(h8[i + 4], h8[i]);
        _mm512_storeu_ps(out + d0, _mm512_add_ps(_mm512_add_ps(h4[0], h4[2]), _mm512_add_ps(h4[1], h4[3])));
    }
}

#endif /* __x86_64__ */
