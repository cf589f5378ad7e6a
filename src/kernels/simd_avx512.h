/*
 * simd_avx512.h — the inline helpers of the AVX-512 kernel files (internal
 * to the kernels layer): loads, the scalar model's 16-lane reduction, a
 * register transpose, the K-quant unpacking shared by the one-row and the
 * batch kernels, and the exp polynomial.
 *
 * They need AVX-512 F/BW/VL/DQ: include only from *_avx512.c, which the
 * Makefile's ISA_ rule builds with those flags, and only on x86-64. This
 * header brings simd_avx2.h's helpers along (AVX-512 CPUs have AVX2).
 */
#ifndef MOTE_KERNELS_SIMD_AVX512_H
#define MOTE_KERNELS_SIMD_AVX512_H

#if defined(__x86_64__)

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "kernels/simd_avx2.h"
#include "tensor/quant.h"

/* ------------------------------------------------------------------------
 * Loads
 * ---------------------------------------------------------------------- */

/* 16 F16 values at p as F32 (exact). */
static inline __m512 avx512_load_f16(const void *p)
{
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
}

/* 32 bytes at p in both halves of a vector. */
static inline __m512i avx512_load256x2(const void *p)
{
    return _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)p));
}

/* The 4 bytes at p (any alignment) in every 32-bit lane. */
static inline __m512i avx512_bcast4(const void *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return _mm512_set1_epi32(v);
}

/* A BF16 pair's odd (high) and even (low) elements of 16 lanes as F32
 * (exact). */
static inline __m512 avx512_bf16_odd(__m512i a)
{
    return _mm512_castsi512_ps(_mm512_and_si512(a, _mm512_set1_epi32((int)0xffff0000u)));
}

static inline __m512 avx512_bf16_even(__m512i a)
{
    return _mm512_castsi512_ps(_mm512_slli_epi32(a, 16));
}

/* dpbf16 (see dot_scalar.c) on 16 lanes: odd element's exact product
 * added first, then the even one's, each addition rounded. */
static inline __m512 avx512_dpbf16_16(__m512 acc, __m512i a, __m512i b)
{
    acc = _mm512_fmadd_ps(avx512_bf16_odd(a), avx512_bf16_odd(b), acc);
    return _mm512_fmadd_ps(avx512_bf16_even(a), avx512_bf16_even(b), acc);
}

/* ------------------------------------------------------------------------
 * Reductions, transposes
 * ---------------------------------------------------------------------- */

/* The scalar reduce16 (_mm512_reduce_add_ps: halves folded 16 -> 8 -> 4,
 * then (0 + 2) + (1 + 3)). */
static inline float avx512_reduce16(__m512 v)
{
    return x86_reduce16(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
}

/* out[j] = avx512_reduce16(v[j]) for j < 8, bit for bit (the same lanes
 * added pairwise in the same order), eight vectors at once: each round
 * of adds serves two or four of them (24 instructions against 64). */
static inline void avx512_reduce16x8(const __m512 v[8], float out[8])
{
    __m512 w[4], z[2];
    for (int j = 0; j < 4; j++) /* [v[2j] lanes i + (i + 8), i < 8 | the same of v[2j + 1]] */
        w[j] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * j], v[2 * j + 1], 0x44),
                             _mm512_shuffle_f32x4(v[2 * j], v[2 * j + 1], 0xee));
    for (int j = 0; j < 2; j++) /* 128-bit lane l: v[4j + l]'s four sums i + (i + 4) */
        z[j] = _mm512_add_ps(_mm512_shuffle_f32x4(w[2 * j], w[2 * j + 1], 0x88),
                             _mm512_shuffle_f32x4(w[2 * j], w[2 * j + 1], 0xdd));
    /* lane l: v[l]'s 0 + 2, 1 + 3, then v[4 + l]'s */
    const __m512 h = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(z[0]), _mm512_castps_pd(z[1]))),
                                   _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(z[0]), _mm512_castps_pd(z[1]))));
    /* lane l: v[l]'s sum, v[4 + l]'s sum (and the same again) */
    const __m512 s = _mm512_add_ps(_mm512_shuffle_ps(h, h, 0x88), _mm512_shuffle_ps(h, h, 0xdd));
    float t[16];
    _mm512_storeu_ps(t, s);
    for (int l = 0; l < 4; l++) out[l] = t[4 * l], out[4 + l] = t[4 * l + 1];
}

/* 16 x 16 transpose of 32-bit elements: out[c] lane r = in[r] lane c
 * (out may be in). */
static inline void avx512_transpose16(const __m512i in[16], __m512i out[16])
{
    __m512i t[16], u[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_epi32(in[2 * i], in[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi32(in[2 * i], in[2 * i + 1]);
    }
    /* u[4i + j], 128-bit lane L: rows 4i..4i+3 of column 4L + j */
    for (int i = 0; i < 4; i++) {
        u[4 * i] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
        u[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
    }
    for (int j = 0; j < 4; j++) {
        const __m512i x0 = _mm512_shuffle_i32x4(u[j], u[4 + j], 0x88); /* lanes 0, 2 of each */
        const __m512i x1 = _mm512_shuffle_i32x4(u[j], u[4 + j], 0xdd); /* lanes 1, 3 */
        const __m512i y0 = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0x88);
        const __m512i y1 = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0xdd);
        out[j] = _mm512_shuffle_i32x4(x0, y0, 0x88);
        out[8 + j] = _mm512_shuffle_i32x4(x0, y0, 0xdd);
        out[4 + j] = _mm512_shuffle_i32x4(x1, y1, 0x88);
        out[12 + j] = _mm512_shuffle_i32x4(x1, y1, 0xdd);
    }
}

/* ------------------------------------------------------------------------
 * K-quant unpacking
 * ---------------------------------------------------------------------- */

/* The 8 scales and 8 mins of a Q4_K super-block (q4_K_scale_min) as the
 * bytes sc0..3, mn0..3, sc4..7, mn4..7 of each 128-bit lane. Built from
 * broadcast loads, shifts and masks: no shuffle, which the kernels that
 * use it run short of. */
static inline __m512i avx512_q4_K_scales_mins(const uint8_t *scales)
{
    uint64_t w01;
    uint32_t w2;
    memcpy(&w01, scales, sizeof w01);
    memcpy(&w2, scales + 8, sizeof w2);
    const __m512i p = _mm512_set1_epi64((long long)w01); /* words w0, w1, w0, w1 */
    const __m512i q = _mm512_set1_epi32((int)w2);        /* w2 in every word */
    /* groups 0..3: low 6 bits of w0 (scales), w1 (mins); groups 4..7: top
     * 2 bits of the bytes of w0 / w1 over the low / high nibbles of w2 */
    const __m512i hi2 = _mm512_and_si512(_mm512_srlv_epi32(p, _mm512_setr_epi32(0, 0, 2, 2, 0, 0, 2, 2, 0, 0, 2, 2, 0, 0, 2, 2)),
                                         _mm512_setr_epi32(0x3f3f3f3f, 0x3f3f3f3f, 0x30303030, 0x30303030, 0x3f3f3f3f,
                                                           0x3f3f3f3f, 0x30303030, 0x30303030, 0x3f3f3f3f, 0x3f3f3f3f,
                                                           0x30303030, 0x30303030, 0x3f3f3f3f, 0x3f3f3f3f, 0x30303030,
                                                           0x30303030));
    const __m512i lo4 = _mm512_and_si512(_mm512_srlv_epi32(q, _mm512_setr_epi32(0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 4)),
                                         _mm512_setr_epi32(0, 0, 0x0f0f0f0f, 0x0f0f0f0f, 0, 0, 0x0f0f0f0f, 0x0f0f0f0f, 0, 0,
                                                           0x0f0f0f0f, 0x0f0f0f0f, 0, 0, 0x0f0f0f0f, 0x0f0f0f0f));
    return _mm512_or_si512(hi2, lo4);
}

/* Half h (128 elements) of a Q6_K super-block as unsigned 6-bit values in
 * element order: *q0 elements 0..63, *q1 64..127. A 64-byte load of ql
 * and the half's 32 bytes of qh (in both halves of a vector) give them:
 * low / high nibbles of ql, with bit pairs 0-1 / 2-3 (first 64) and 4-5 /
 * 6-7 (last 64) of qh as bits 4-5 (qh shifted per 64-bit lane by a
 * different count in each half of the vector). */
static inline void avx512_q6_K_half(const block_q6_K *b, int h, __m512i *q0, __m512i *q1)
{
    const __m512i m4 = _mm512_set1_epi8(0x0f), m30 = _mm512_set1_epi8(0x30);
    const __m512i ql = _mm512_loadu_si512(b->ql + 64 * h), qh = avx512_load256x2(b->qh + 32 * h);
    const __m512i lo = _mm512_and_si512(ql, m4), hi = _mm512_and_si512(_mm512_srli_epi16(ql, 4), m4);
    /* value | (bits & 0x30): ternary-logic table of a | (b & c) */
    *q0 = _mm512_ternarylogic_epi32(lo, _mm512_sllv_epi64(qh, _mm512_setr_epi64(4, 4, 4, 4, 2, 2, 2, 2)), m30, 0xf8);
    *q1 = _mm512_ternarylogic_epi32(hi, _mm512_srlv_epi64(qh, _mm512_setr_epi64(0, 0, 0, 0, 2, 2, 2, 2)), m30, 0xf8);
}

/* ------------------------------------------------------------------------
 * exp
 * ---------------------------------------------------------------------- */

/* e^x for n = round(x / ln 2), which the caller forms (its rounding and
 * range handling differ by use): the reduction and polynomial of ops.c's
 * vexpf (ARM optimized-routines' expf) with the same FMAs in the same
 * order, scaled by 2^n with vscalefps (one rounding, as ldexpf). */
static inline __m512 avx512_exp_n(__m512 x, __m512 n)
{
    /* b = x - n ln 2, with ln 2 split in a high and a low part */
    const __m512 b = _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.7f7d1cp-20f),
                                      _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.62e4p-1f), x));
    const __m512 u = _mm512_mul_ps(b, b);
    const __m512 p5 = _mm512_fmadd_ps(_mm512_set1_ps(0x1.0e4020p-7f), b, _mm512_set1_ps(0x1.573e2ep-5f));
    const __m512 p3 = _mm512_fmadd_ps(_mm512_set1_ps(0x1.555e66p-3f), b, _mm512_set1_ps(0x1.fffdb6p-2f));
    const __m512 p1 = _mm512_fmadd_ps(_mm512_set1_ps(0x1.ffffecp-1f), b, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(_mm512_fmadd_ps(_mm512_fmadd_ps(p5, u, p3), u, p1), n);
}

#endif /* __x86_64__ */
#endif
