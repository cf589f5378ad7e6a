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

/* One query's online-softmax step over a tile of 32 scaled scores s0, s1
 * (-inf outside the lanes k0, k1 of positions < nt): updates *m and *l,
 * leaves the weights in p (0 past nt) and returns the factor for what was
 * accumulated before. */
INLINE float softmax_tile(__m512 s0, __m512 s1, __mmask16 k0, __mmask16 k1, float *m, float *l, float *p)
{
    const float tmax = _mm512_reduce_max_ps(_mm512_max_ps(s0, s1));
    const float mx = tmax > *m ? tmax : *m;
    const float corr = attn_rescale(*m, mx);
    const __m512 mv = _mm512_set1_ps(mx);
    const __m512 e0 = _mm512_maskz_mov_ps(k0, exp16(_mm512_sub_ps(s0, mv)));
    const __m512 e1 = _mm512_maskz_mov_ps(k1, exp16(_mm512_sub_ps(s1, mv)));
    _mm512_store_ps(p, e0);
    _mm512_store_ps(p + 16, e1);
    *l = *l * corr + _mm512_reduce_add_ps(_mm512_add_ps(e0, e1));
    *m = mx;
    return corr;
}

INLINE void chunk_body(uint32_t type, const int G, const float *q, int64_t q_stride, const char *k, const char *v,
                       size_t row_bytes, int n, int hd, float scale, float *part)
{
    const size_t ps = attn_part_stride(hd);
    float m[ATTN_GMAX], l[ATTN_GMAX], corr[ATTN_GMAX];
    float p[ATTN_GMAX][ATTN_TILE] __attribute__((aligned(64)));
    attn_part_start(part, G, hd, m, l);
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
        for (int j = 0; j < G; j++)
            corr[j] = softmax_tile(_mm512_mask_loadu_ps(ninf, k0, p[j]), _mm512_mask_loadu_ps(ninf, k1, p[j] + 16), k0,
                                   k1, &m[j], &l[j], p[j]);

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
    attn_part_close(part, G, hd, m, l);
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
    for (int j = 0; j < Q; j++)
        corr[j] = softmax_tile(_mm512_mask_mul_ps(ninf, k0, s0[j], sc), _mm512_mask_mul_ps(ninf, k1, s1[j], sc), k0, k1,
                               &m[j], &l[j], p[j]);
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
/* K rows i0..i0+nt-1 widened into vt's rows (zeros past nt) and
 * transposed into kt; then the V rows widened into vt. */
INLINE void widen_tile(uint32_t type, const char *k, const char *v, size_t row_bytes, int i0, int nt, int hd,
                       float *kt, float *vt)
{
    /* gather indices of a column of 16 keys in the widened rows (vt) */
    const __m512i col = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                           _mm512_set1_epi32(hd));
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
}

#define ATTN_SUFFIX avx512
#define NARROW_ALIGN 16
#define WIDE_ALIGN 32
#define TILE_ALIGN 64
#include "kernels/attention_body.h"

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
