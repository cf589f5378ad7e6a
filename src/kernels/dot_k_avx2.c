/*
 * dot_k_avx2.c — AVX2 dot products of the K-quants and IQ4_XS against
 * Q8_K activations.
 *
 * The SIMD forms of dot_k_scalar.c: the integer sums (exact) are formed
 * with byte multiplies (maddubs: unsigned weight values times signed
 * activations, pairs into 16 bits) and 16-bit scale multiplies (madd, pairs
 * into 32 bits), which leaves 32-bit lane l of a 32-element group holding
 * elements 4l..4l+3 — the scalar model's integer lane (e % 32) / 4. The
 * float chains and reductions are the scalar ones, so results are
 * bit-identical.
 */
#if defined(__x86_64__)

#include <math.h>

#include "kernels/dot_scalar.h"
#include "kernels/dot_x86.h"
#include "kernels/simd_avx2.h"
#include "tensor/quant.h"

/* Bytes of v shifted right by s bits, masked to mask (s a run-time count). */
static inline __m256i shr_mask(__m256i v, int s, char mask)
{
    return _mm256_and_si256(_mm256_srl_epi16(v, _mm_cvtsi32_si128(s)), _mm256_set1_epi8(mask));
}

/* 16-bit scales: s0 for the low 16 bytes' pairs, s1 for the high ones. */
static inline __m256i scale_pair(int s0, int s1)
{
    return _mm256_set_m128i(_mm_set1_epi16((short)s1), _mm_set1_epi16((short)s0));
}

/* ------------------------------------------------------------------------
 * Q2_K
 * ---------------------------------------------------------------------- */

/* The exact integer sums of the two halves of a super-block (see
 * q2_K_half in dot_k_scalar.c). */
static void q2_K_sums(const block_q2_K *a, const block_q8_K *b, int32_t isum[2], int32_t imin[2])
{
    const __m128i sc8 = _mm_loadu_si128((const __m128i *)a->scales);
    const __m256i mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(sc8, 4), _mm_set1_epi8(0x0f)));
    const __m256i pm = _mm256_madd_epi16(mins, x86_load256(b->bsums)); /* lane i: groups 2i, 2i+1 */
    imin[0] = x86_hsum_i32(_mm256_permute2x128_si256(pm, pm, 0x80)); /* groups 0..7 */
    imin[1] = x86_hsum_i32(_mm256_permute2x128_si256(pm, pm, 0x81)); /* groups 8..15 */
    for (int h = 0; h < 2; h++) {
        const __m256i q2 = x86_load256(a->qs + 32 * h);
        __m256i acc = _mm256_setzero_si256();
        for (int k = 0; k < 4; k++) {
            const int g = 8 * h + 2 * k; /* groups g, g + 1 */
            const __m256i p = _mm256_maddubs_epi16(shr_mask(q2, 2 * k, 3), x86_load256(b->qs + 16 * g));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, scale_pair(a->scales[g] & 0xf, a->scales[g + 1] & 0xf)));
        }
        isum[h] = x86_hsum_i32(acc);
    }
}

static void q2_K_dot_chunks(int64_t n, float *s, const void *w, const void *x, int per_half)
{
    const block_q2_K *a = w;
    const block_q8_K *b = x;
    float acc = 0, acc_min = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float d = x86_f16(a[i].d) * b[i].d, dmin = x86_f16(a[i].dmin) * b[i].d;
        int32_t isum[2], imin[2];
        q2_K_sums(&a[i], &b[i], isum, imin);
        q2_K_chain_step(isum, imin, d, dmin, per_half, &acc, &acc_min);
    }
    *s = acc - acc_min;
}

void q2_K_dot_avx2(int64_t n, float *s, const void *w, const void *x)
{
    q2_K_dot_chunks(n, s, w, x, 0);
}

void q2_K_dot_x4_avx2(int64_t n, float *s, const void *w, const void *x)
{
    q2_K_dot_chunks(n, s, w, x, 1);
}

/* ------------------------------------------------------------------------
 * Q3_K, Q6_K
 * ---------------------------------------------------------------------- */

void q3_K_dot_avx2(int64_t n, float *s, const void *w, const void *x)
{
    const block_q3_K *a = w;
    const block_q8_K *b = x;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        int8_t sc[16];
        q3_K_scales(a[i].scales, sc);
        const __m256i hm = x86_load256(a[i].hmask);
        __m256i isum = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            const __m256i q2 = x86_load256(a[i].qs + 32 * h);
            for (int k = 0; k < 4; k++) {
                const int j = 4 * h + k; /* elements 32j .. 32j + 31 */
                const __m256i lo = shr_mask(q2, 2 * k, 3);
                /* 4 where the high bit is clear (those values are lo - 4) */
                const __m256i bit = _mm256_and_si256(hm, _mm256_set1_epi8((char)(1u << j)));
                const __m256i minus4 = _mm256_and_si256(_mm256_cmpeq_epi8(bit, _mm256_setzero_si256()), _mm256_set1_epi8(4));
                const __m256i y = x86_load256(b[i].qs + 32 * j);
                const __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(lo, y), _mm256_maddubs_epi16(minus4, y));
                isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, scale_pair(sc[2 * j], sc[2 * j + 1])));
            }
        }
        acc = x86_lanes_fma(acc, isum, b[i].d * x86_f16(a[i].d));
    }
    *s = x86_hsum8(acc);
}

void q6_K_dot_avx2(int64_t n, float *s, const void *w, const void *x)
{
    const block_q6_K *a = w;
    const block_q8_K *b = x;
    const __m256i m4 = _mm256_set1_epi8(0x0f), m30 = _mm256_set1_epi8(0x30);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        const int8_t *sc = a[i].scales;
        __m256i isum = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            const __m256i ql0 = x86_load256(a[i].ql + 64 * h), ql1 = x86_load256(a[i].ql + 64 * h + 32);
            const __m256i qh = x86_load256(a[i].qh + 32 * h);
            __m256i q[4];
            q[0] = _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30));
            q[1] = _mm256_or_si256(_mm256_and_si256(ql1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30));
            q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4), _mm256_and_si256(qh, m30));
            q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                                   _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30));
            for (int t = 0; t < 4; t++) {
                const int j = 4 * h + t; /* elements 32j .. 32j + 31 */
                const __m256i p = _mm256_maddubs_epi16(q[t], x86_load256(b[i].qs + 32 * j));
                isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, scale_pair(sc[2 * j], sc[2 * j + 1])));
            }
        }
        /* the -32 offset: lane l -= 32 (bsums[2l] sc[2l] + bsums[2l+1] sc[2l+1]) */
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)sc));
        const __m256i off = _mm256_madd_epi16(x86_load256(b[i].bsums), sc16);
        isum = _mm256_sub_epi32(isum, _mm256_slli_epi32(off, 5));
        acc = x86_lanes_fma(acc, isum, b[i].d * x86_f16(a[i].d));
    }
    *s = x86_hsum8(acc);
}

/* ------------------------------------------------------------------------
 * Q4_K, Q5_K
 * ---------------------------------------------------------------------- */

/* Integer sums of scale * q * q8 over 64 elements: values lo (elements
 * 0..31) and hi (32..63), unsigned. */
static inline __m256i pair_sum(__m256i lo, __m256i hi, const int8_t *q8, int s_lo, int s_hi)
{
    const __m256i a = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, x86_load256(q8)), _mm256_set1_epi16((short)s_lo));
    const __m256i b = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, x86_load256(q8 + 32)), _mm256_set1_epi16((short)s_hi));
    return _mm256_add_epi32(a, b);
}

static void q4_K_dot_chunks(int64_t n, float *s, const void *w, const void *x, int per_pair)
{
    const block_q4_K *a = w;
    const block_q8_K *b = x;
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    float acc = 0, acc_min = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        uint8_t sc[8], mn[8];
        for (int g = 0; g < 8; g++) q4_K_scale_min(g, a[i].scales, &sc[g], &mn[g]);
        const float d = x86_f16(a[i].d) * b[i].d, dmin = x86_f16(a[i].dmin) * b[i].d;
        const int16_t *bs = b[i].bsums;
        if (per_pair) {
            for (int c = 0; c < QK_K / 64; c++) {
                const __m256i q = x86_load256(a[i].qs + 32 * c);
                const __m256i v = pair_sum(_mm256_and_si256(q, m4), _mm256_and_si256(_mm256_srli_epi16(q, 4), m4),
                                           b[i].qs + 64 * c, sc[2 * c], sc[2 * c + 1]);
                const int32_t imin = mn[2 * c] * (bs[4 * c] + bs[4 * c + 1]) + mn[2 * c + 1] * (bs[4 * c + 2] + bs[4 * c + 3]);
                acc = fmaf((float)x86_hsum_i32(v), d, acc);
                acc_min = fmaf((float)imin, dmin, acc_min);
            }
            continue;
        }
        __m256i v = _mm256_setzero_si256();
        for (int c = 0; c < QK_K / 64; c++) {
            const __m256i q = x86_load256(a[i].qs + 32 * c);
            v = _mm256_add_epi32(v, pair_sum(_mm256_and_si256(q, m4), _mm256_and_si256(_mm256_srli_epi16(q, 4), m4),
                                             b[i].qs + 64 * c, sc[2 * c], sc[2 * c + 1]));
        }
        int32_t imin = 0;
        for (int g = 0; g < 8; g++) imin += mn[g] * (bs[2 * g] + bs[2 * g + 1]);
        acc = fmaf((float)x86_hsum_i32(v), d, acc);
        acc_min = fmaf((float)imin, dmin, acc_min);
    }
    *s = acc - acc_min;
}

void q4_K_dot_avx2(int64_t n, float *s, const void *w, const void *x)
{
    q4_K_dot_chunks(n, s, w, x, 0);
}

void q4_K_dot_x4_avx2(int64_t n, float *s, const void *w, const void *x)
{
    q4_K_dot_chunks(n, s, w, x, 1);
}

void q5_K_dot_avx2(int64_t n, float *s, const void *w, const void *x)
{
    const block_q5_K *a = w;
    const block_q8_K *b = x;
    const __m256i m4 = _mm256_set1_epi8(0x0f), m16 = _mm256_set1_epi8(0x10);
    __m256 acc = _mm256_setzero_ps();
    float summs = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        uint8_t sc[8], mn[8];
        for (int g = 0; g < 8; g++) q4_K_scale_min(g, a[i].scales, &sc[g], &mn[g]);
        const __m256i qh = x86_load256(a[i].qh);
        __m256i isum = _mm256_setzero_si256();
        for (int c = 0; c < QK_K / 64; c++) {
            const __m256i q = x86_load256(a[i].qs + 32 * c);
            /* bit 2c of qh[l] is bit 4 of element 64c + l, bit 2c+1 of element 64c + 32 + l */
            const __m256i h0 = _mm256_and_si256(_mm256_sll_epi16(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * c)), _mm_cvtsi32_si128(4)), m16);
            const __m256i h1 = _mm256_and_si256(_mm256_sll_epi16(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * c + 1)), _mm_cvtsi32_si128(4)), m16);
            const __m256i lo = _mm256_or_si256(_mm256_and_si256(q, m4), h0);
            const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4), h1);
            isum = _mm256_add_epi32(isum, pair_sum(lo, hi, b[i].qs + 64 * c, sc[2 * c], sc[2 * c + 1]));
        }
        int mins = 0;
        for (int g = 0; g < 8; g++) mins += mn[g] * (b[i].bsums[2 * g] + b[i].bsums[2 * g + 1]);
        const float d = b[i].d * x86_f16(a[i].d);
        const float dmin = -b[i].d * x86_f16(a[i].dmin);
        summs = fmaf(dmin, (float)mins, summs);
        acc = x86_lanes_fma(acc, isum, d);
    }
    *s = x86_hsum8(acc) + summs;
}

/* ------------------------------------------------------------------------
 * IQ4_XS
 * ---------------------------------------------------------------------- */

/* Lane sums of one super-block: lane l of group ib times its scale. */
static inline __m256i iq4_xs_lanes(const block_iq4_xs *a, const block_q8_K *b, __m256i table)
{
    __m256i isum = _mm256_setzero_si256();
    for (int ib = 0; ib < QK_K / 32; ib++) {
        const __m256i q = _mm256_shuffle_epi8(table, x86_nibbles(a->qs + 16 * ib));
        const __m256i y = x86_load256(b->qs + 32 * ib);
        const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(q, q), _mm256_sign_epi8(y, q));
        isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, _mm256_set1_epi16((short)iq4_xs_scale(a, ib))));
    }
    return isum;
}

void iq4_xs_dot_avx2(int64_t n, float *s, const void *w, const void *x)
{
    const block_iq4_xs *a = w;
    const block_q8_K *b = x;
    const __m256i table = x86_iq4nl_i8();
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++)
        acc = x86_lanes_fma(acc, iq4_xs_lanes(&a[i], &b[i], table), x86_f16(a[i].d) * b[i].d);
    *s = x86_hsum8(acc);
}

void iq4_xs_dot_panel_avx2(int64_t n, float *s, const void *w, const void *x)
{
    const block_iq4_xs *a = w;
    const block_q8_K *b = x;
    const __m256i table = x86_iq4nl_i8();
    float acc = 0;
    for (int64_t i = 0; i < n / QK_K; i++)
        acc = fmaf((float)x86_hsum_i32(iq4_xs_lanes(&a[i], &b[i], table)), x86_f16(a[i].d) * b[i].d, acc);
    *s = acc;
}

#endif /* __x86_64__ */
