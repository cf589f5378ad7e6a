/*
 * dot_k_avx512.c — AVX-512 dot products of Q4_K and Q6_K weights against
 * Q8_K activations (token generation: one activation row, many weight
 * rows), one row at a time (vec_dot) and four at a time (vec_dot4).
 *
 * Same arithmetic as dot_k_scalar.c, bit for bit: the integer sums are
 * exact in any order, so they are formed 64 elements per instruction
 * (maddubs: unsigned weight values times signed activations, pairs into
 * 16 bits; then vpdpwssd: times the 16-bit group scales, pairs added into
 * 32-bit lanes), and only the float steps follow the scalar model:
 *   Q4_K  two chains per row (scale sums by d_w * d_x, min sums by
 *         dmin_w * d_x), one FMA each per super-block, then their difference;
 *   Q6_K  8 float lanes per row, lane l fed by the elements with
 *         (e % 32) / 4 == l, one FMA per super-block, hsum8 at the end.
 * vec_dot4 runs four rows' chains side by side (each lane or vector one
 * row's chain, in its own order), sharing the activation loads.
 */
#if defined(__x86_64__)

#include <string.h>

#include "kernels/dot_x86.h"
#include "kernels/simd_avx512.h"
#include "tensor/quant.h"

/* pshufb control giving, in 128-bit lane j of the result, 16-bit word
 * w[j] of the same lane of the source (one word per lane, 8 times). */
static inline __m512i word_per_lane(int w0, int w1, int w2, int w3)
{
    const __m128i c0 = _mm_set1_epi16((short)(0x0100 + 0x0202 * w0));
    const __m128i c1 = _mm_set1_epi16((short)(0x0100 + 0x0202 * w1));
    const __m128i c2 = _mm_set1_epi16((short)(0x0100 + 0x0202 * w2));
    const __m128i c3 = _mm_set1_epi16((short)(0x0100 + 0x0202 * w3));
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set_m128i(c1, c0)), _mm256_set_m128i(c3, c2), 1);
}

/* Integer lane sums scaled per group: lanes of maddubs(q, y) (pairs of
 * products) times the 16-bit scales sc, pairs added into acc. */
static inline __m512i scaled_dot(__m512i acc, __m512i q, __m512i y, __m512i sc)
{
    return _mm512_dpwssd_epi32(acc, _mm512_maddubs_epi16(q, y), sc);
}

/* The two halves of v added (lanes i and i + 8). */
static inline __m256i fold512(__m512i v)
{
    return _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
}

/* ------------------------------------------------------------------------
 * Q4_K
 *
 * A 64-byte load of qs[64m ..] holds two 32-byte quant chunks: its low
 * nibbles are elements 128m + 0..31 (group 4m) and 128m + 64..95 (group
 * 4m + 2), its high nibbles 128m + 32..63 and 128m + 96..127 (groups
 * 4m + 1, 4m + 3). The activations are shuffled once per super-block to
 * match (y[2m]: low nibbles, y[2m + 1]: high nibbles).
 *
 * The 12 packed scale bytes (q4_K_scale_min) are unpacked by 32-bit
 * shifts and masks into one 128-bit lane, repeated in all four lanes
 * (avx512_q4_K_scales_mins): bytes 0..3 scales 0..3, 4..7 mins 0..3,
 * 8..11 scales 4..7, 12..15 mins 4..7. pshufb spreads a scale over the 16-bit words of a vector half, and
 * the mins, read as 16-bit words, meet the activations' bsums in place.
 * Shuffles are what these kernels run short of, so the code avoids them
 * where an arithmetic or load form exists.
 * ---------------------------------------------------------------------- */

#define SCALE_SC(g) ((g) < 4 ? (g) : (g) + 4) /* byte of scale g in a lane */

/* One super-block's activations for Q4_K rows: y in the quants' order;
 * bpe, bpo: the bsums pair sums bp[g] = bsums[2g] + bsums[2g + 1] at the
 * words where the mins sit when read as words (words 2, 3, 6, 7 hold
 * mins 0|1, 2|3, 4|5, 6|7): bpe has bp0, bp2, bp4, bp6 there (the even
 * mins, low bytes), bpo bp1, bp3, bp5, bp7, other words 0. */
typedef struct q4_K_act {
    __m512i y[4];
    __m128i bpe, bpo;
} q4_K_act;

static inline void q4_K_act_load(const block_q8_K *b, q4_K_act *a)
{
    for (int m = 0; m < 2; m++) {
        const __m512i lo = _mm512_loadu_si512(b->qs + 128 * m), hi = _mm512_loadu_si512(b->qs + 128 * m + 64);
        a->y[2 * m] = _mm512_shuffle_i64x2(lo, hi, 0x44);     /* lanes 0, 1 of each */
        a->y[2 * m + 1] = _mm512_shuffle_i64x2(lo, hi, 0xee); /* lanes 2, 3 of each */
    }
    const __m256i bp = _mm256_madd_epi16(x86_load256(b->bsums), _mm256_set1_epi16(1));
    /* words bp0..bp3 (twice) in the low lane, bp4..bp7 in the high lane (|bp| < 2^15) */
    const __m256i bpw = _mm256_packs_epi32(bp, bp);
    a->bpe = _mm256_castsi256_si128(
        _mm256_maskz_permutexvar_epi16(0xcc, _mm256_setr_epi16(0, 0, 0, 2, 0, 0, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0), bpw));
    a->bpo = _mm256_castsi256_si128(
        _mm256_maskz_permutexvar_epi16(0xcc, _mm256_setr_epi16(0, 0, 1, 3, 0, 0, 9, 11, 0, 0, 0, 0, 0, 0, 0, 0), bpw));
}

/* pshufb control: every 16-bit word of the low half of the vector = byte
 * ia of its 128-bit lane (zero-extended), of the high half byte ib. */
static inline __m512i byte_words(int ia, int ib)
{
    const __m256i a = _mm256_set1_epi16((short)(ia - 32768)), b = _mm256_set1_epi16((short)(ib - 32768));
    return _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1);
}

static inline __m512i q4_K_scale(__m512i sm, int ga, int gb)
{
    return _mm512_shuffle_epi8(sm, byte_words(SCALE_SC(ga), SCALE_SC(gb)));
}

/* One super-block of one row: 16 lanes whose total is the scalar isum,
 * and 4 lanes whose total is imin. */
static inline __attribute__((always_inline)) void q4_K_block(const block_q4_K *a, const q4_K_act *x, __m512i *isum,
                                                             __m128i *imin)
{
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    const __m512i sm = avx512_q4_K_scales_mins(a->scales);
    const __m512i q0 = _mm512_loadu_si512(a->qs), q1 = _mm512_loadu_si512(a->qs + 64);
    /* two short chains */
    __m512i acc0 = _mm512_madd_epi16(_mm512_maddubs_epi16(_mm512_and_si512(q0, m4), x->y[0]), q4_K_scale(sm, 0, 2));
    __m512i acc1 = _mm512_madd_epi16(_mm512_maddubs_epi16(_mm512_and_si512(q1, m4), x->y[2]), q4_K_scale(sm, 4, 6));
    acc0 = scaled_dot(acc0, _mm512_and_si512(_mm512_srli_epi16(q0, 4), m4), x->y[1], q4_K_scale(sm, 1, 3));
    acc1 = scaled_dot(acc1, _mm512_and_si512(_mm512_srli_epi16(q1, 4), m4), x->y[3], q4_K_scale(sm, 5, 7));
    *isum = _mm512_add_epi32(acc0, acc1);
    /* mn[g] * bp[g]: the even mins are the low bytes of words 2, 3, 6, 7, the odd ones the high bytes */
    const __m128i mw = _mm512_castsi512_si128(sm);
    const __m128i even = _mm_and_si128(mw, _mm_set1_epi16(0xff)), odd = _mm_srli_epi16(mw, 8);
    *imin = _mm_dpwssd_epi32(_mm_madd_epi16(even, x->bpe), odd, x->bpo);
}

void q4_K_dot_avx512(int64_t n, float *s, const void *w, const void *x)
{
    const block_q4_K *a = w;
    const block_q8_K *b = x;
    __m128 acc = _mm_setzero_ps(); /* lane 0: scale chain, lane 1: min chain */
    for (int64_t i = 0; i < n / QK_K; i++) {
        q4_K_act y;
        __m512i isum;
        __m128i imin;
        q4_K_act_load(&b[i], &y);
        q4_K_block(&a[i], &y, &isum, &imin);
        const __m256i v = fold512(isum);
        __m128i t = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
        t = _mm_hadd_epi32(t, imin);
        t = _mm_hadd_epi32(t, t); /* isum, imin, isum, imin */
        uint32_t h;
        memcpy(&h, &a[i], sizeof h); /* d, dmin */
        const __m128 dd = _mm_mul_ps(_mm_cvtph_ps(_mm_cvtsi32_si128((int)h)), _mm_set1_ps(b[i].d));
        acc = _mm_fmadd_ps(_mm_cvtepi32_ps(t), dd, acc);
    }
    *s = _mm_cvtss_f32(acc) - _mm_cvtss_f32(_mm_movehdup_ps(acc));
}

/* Totals of four rows' 16-lane sums, in lanes 0..3. */
static inline __m128i sum4x16(__m512i v0, __m512i v1, __m512i v2, __m512i v3)
{
    const __m512i u01 = _mm512_add_epi32(_mm512_unpacklo_epi32(v0, v1), _mm512_unpackhi_epi32(v0, v1));
    const __m512i u23 = _mm512_add_epi32(_mm512_unpacklo_epi32(v2, v3), _mm512_unpackhi_epi32(v2, v3));
    const __m512i u = _mm512_add_epi32(_mm512_unpacklo_epi64(u01, u23), _mm512_unpackhi_epi64(u01, u23));
    const __m256i h = fold512(u);
    return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

/* Totals of four rows' 4-lane sums, in lanes 0..3. */
static inline __m128i sum4x4(__m128i v0, __m128i v1, __m128i v2, __m128i v3)
{
    const __m128i t01 = _mm_add_epi32(_mm_unpacklo_epi32(v0, v1), _mm_unpackhi_epi32(v0, v1));
    const __m128i t23 = _mm_add_epi32(_mm_unpacklo_epi32(v2, v3), _mm_unpackhi_epi32(v2, v3));
    return _mm_add_epi32(_mm_unpacklo_epi64(t01, t23), _mm_unpackhi_epi64(t01, t23));
}

void q4_K_dot4_avx512(int64_t n, float *s, const void *w, size_t ws, const void *x)
{
    const block_q4_K *a0 = X86_ROW(block_q4_K, w, ws, 0), *a1 = X86_ROW(block_q4_K, w, ws, 1);
    const block_q4_K *a2 = X86_ROW(block_q4_K, w, ws, 2), *a3 = X86_ROW(block_q4_K, w, ws, 3);
    const block_q8_K *b = x;
    /* lanes 0..3: the rows' scale chains, 4..7: their min chains */
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        q4_K_act y;
        __m512i is0, is1, is2, is3;
        __m128i im0, im1, im2, im3;
        q4_K_act_load(&b[i], &y);
        x86_prefetch_rows4(&a0[i], ws, sizeof a0[i]);
        q4_K_block(&a0[i], &y, &is0, &im0);
        q4_K_block(&a1[i], &y, &is1, &im1);
        q4_K_block(&a2[i], &y, &is2, &im2);
        q4_K_block(&a3[i], &y, &is3, &im3);
        const __m256i t = _mm256_set_m128i(sum4x4(im0, im1, im2, im3), sum4x16(is0, is1, is2, is3));
        uint32_t h[4]; /* d, dmin of each row */
        memcpy(&h[0], &a0[i], 4), memcpy(&h[1], &a1[i], 4), memcpy(&h[2], &a2[i], 4), memcpy(&h[3], &a3[i], 4);
        const __m256 ddm = _mm256_cvtph_ps(_mm_setr_epi32((int)h[0], (int)h[1], (int)h[2], (int)h[3]));
        const __m256 dd = _mm256_mul_ps(_mm256_permutevar8x32_ps(ddm, _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7)),
                                        _mm256_set1_ps(b[i].d));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(t), dd, acc);
    }
    _mm_storeu_ps(s, _mm_sub_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1)));
}

/* ------------------------------------------------------------------------
 * Q6_K
 *
 * Per half of 128 elements, avx512_q6_K_half gives elements 0..63 and
 * 64..127 of the half in order, one vector each. In 64 consecutive
 * elements the 32-bit lane i holds elements 4i..4i+3, which the scalar
 * model puts in lane i % 8: the two halves of the vector add up.
 * ---------------------------------------------------------------------- */

/* The 8 integer lanes of one super-block of one row (isum of
 * q6_K_dot_scalar). y: the activations' 4 vectors of 64; bs: bsums. */
static inline __attribute__((always_inline)) __m256i q6_K_block(const block_q6_K *a, const __m512i y[4], __m256i bs)
{
    const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)a->scales));
    __m512i acc = _mm512_setzero_si512();
    for (int h = 0; h < 2; h++) {
        /* words of the 8 group scales of this half in each 128-bit lane */
        const __m512i sc = _mm512_broadcast_i32x4(h ? _mm256_extracti128_si256(sc16, 1) : _mm256_castsi256_si128(sc16));
        __m512i q0, q1;
        avx512_q6_K_half(a, h, &q0, &q1);
        acc = scaled_dot(acc, q0, y[2 * h], _mm512_shuffle_epi8(sc, word_per_lane(0, 1, 2, 3)));
        acc = scaled_dot(acc, q1, y[2 * h + 1], _mm512_shuffle_epi8(sc, word_per_lane(4, 5, 6, 7)));
    }
    /* the -32 offset: lane l -= 32 (bsums[2l] sc[2l] + bsums[2l+1] sc[2l+1]) */
    const __m256i off = _mm256_madd_epi16(bs, sc16);
    return _mm256_sub_epi32(fold512(acc), _mm256_slli_epi32(off, 5));
}

static inline void q8_K_act(const block_q8_K *b, __m512i y[4])
{
    for (int j = 0; j < 4; j++) y[j] = _mm512_loadu_si512(b->qs + 64 * j);
}

void q6_K_dot_avx512(int64_t n, float *s, const void *w, const void *x)
{
    const block_q6_K *a = w;
    const block_q8_K *b = x;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        __m512i y[4];
        q8_K_act(&b[i], y);
        const __m256i isum = q6_K_block(&a[i], y, x86_load256(b[i].bsums));
        acc = x86_lanes_fma(acc, isum, b[i].d * x86_f16(a[i].d));
    }
    *s = x86_hsum8(acc);
}

void q6_K_dot4_avx512(int64_t n, float *s, const void *w, size_t ws, const void *x)
{
    const block_q6_K *a0 = X86_ROW(block_q6_K, w, ws, 0), *a1 = X86_ROW(block_q6_K, w, ws, 1);
    const block_q6_K *a2 = X86_ROW(block_q6_K, w, ws, 2), *a3 = X86_ROW(block_q6_K, w, ws, 3);
    const block_q8_K *b = x;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    __m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        __m512i y[4];
        q8_K_act(&b[i], y);
        const __m256i bs = x86_load256(b[i].bsums);
        const float dx = b[i].d;
        x86_prefetch_rows4(&a0[i], ws, sizeof a0[i]);
        acc0 = x86_lanes_fma(acc0, q6_K_block(&a0[i], y, bs), dx * x86_f16(a0[i].d));
        acc1 = x86_lanes_fma(acc1, q6_K_block(&a1[i], y, bs), dx * x86_f16(a1[i].d));
        acc2 = x86_lanes_fma(acc2, q6_K_block(&a2[i], y, bs), dx * x86_f16(a2[i].d));
        acc3 = x86_lanes_fma(acc3, q6_K_block(&a3[i], y, bs), dx * x86_f16(a3[i].d));
    }
    s[0] = x86_hsum8(acc0);
    s[1] = x86_hsum8(acc1);
    s[2] = x86_hsum8(acc2);
    s[3] = x86_hsum8(acc3);
}

#endif /* __x86_64__ */
