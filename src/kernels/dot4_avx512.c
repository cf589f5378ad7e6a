/*
 * dot4_avx512.c — four-row dot kernels (vec_dot4 slot) for 4-bit
 * 32-element blocks against Q8_0 activations, with AVX512-VNNI.
 *
 * Token generation runs these over every weight row once per token; the
 * AVX2 versions (dot_avx2.c) spend about nine instructions per row and
 * block and stay compute-bound at ~15 GB/s on Zen 5. Here two blocks of
 * each row go through one 512-bit vpdpbusd, and the four rows' integer
 * block sums are folded together.
 *
 * Bit-identical to the scalar table (q4_0_dot_scalar, iq4_nl_dot_scalar):
 * per row one float chain, sumf = fma((float)sumi_b, d_w * d_x, sumf) over
 * the blocks b in order, where sumi_b is the exact integer block sum.
 * Weights enter vpdpbusd as unsigned bytes u = value + bias (Q4_0: the
 * nibble, bias 8; IQ4_NL: table value + 128), so each block sum is
 * sum(u * y) - bias * sum(y), the correction folded into the accumulator's
 * start. Integer sums are exact in any order, the float steps are the
 * scalar's.
 *
 * Layout of one step (blocks i and i + 1): the four 128-bit lanes of a
 * vector hold elements 0..15 of block i, 0..15 of block i + 1, 16..31 of
 * block i, 16..31 of block i + 1 — for the weights (the 16 bytes of
 * nibbles of each block, then the same shifted right by 4) and, permuted
 * to match, for the activations.
 */
#if defined(__x86_64__)

#include "kernels/dot_x86.h"
#include "tensor/quant.h"

#define ROW(T, w, ws, r) ((const T *)((const uint8_t *)(w) + (size_t)(r) * (ws)))
#define PF_ROW 2048 /* bytes ahead prefetched in each row stream (see dot_avx2.c) */

/* The 16 nibble bytes of blocks i and i + 1 -> 64 bytes in the step layout. */
static inline __m512i nibbles2(const uint8_t *qs0, const uint8_t *qs1)
{
    const __m256i q = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)qs0)),
                                              _mm_loadu_si128((const __m128i *)qs1), 1);
    const __m512i v = _mm512_inserti64x4(_mm512_castsi256_si512(q), _mm256_srli_epi16(q, 4), 1);
    return _mm512_and_si512(v, _mm512_set1_epi8(0x0f));
}

/* Activations of blocks i and i + 1 in the step layout. */
static inline __m512i act2(const block_q8_0 *b)
{
    const __m256i lo = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)b[0].qs)),
                                               _mm_loadu_si128((const __m128i *)b[1].qs), 1);
    const __m256i hi = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(b[0].qs + 16))),
                                               _mm_loadu_si128((const __m128i *)(b[1].qs + 16)), 1);
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

/* Per-row step sums (lanes 0, 2: block i; 1, 3: block i + 1) -> block sums
 * [rows 0..3 of block i | rows 0..3 of block i + 1]. */
static inline __m256i fold4(__m512i v0, __m512i v1, __m512i v2, __m512i v3)
{
#define HALVES(v) _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1))
    const __m256i f0 = HALVES(v0), f1 = HALVES(v1), f2 = HALVES(v2), f3 = HALVES(v3);
#undef HALVES
    return _mm256_hadd_epi32(_mm256_hadd_epi32(f0, f1), _mm256_hadd_epi32(f2, f3));
}

/* Weight scales of blocks i and i + 1 of the four rows, times the
 * activation scales: [rows 0..3 of block i | block i + 1]. */
static inline __m256 scales2(__m128i d, const block_q8_0 *b)
{
    const __m256 dw = _mm256_cvtph_ps(d);
    const __m256 dx = _mm256_insertf128_ps(_mm256_set1_ps(x86_f16(b[0].d)), _mm_set1_ps(x86_f16(b[1].d)), 1);
    return _mm256_mul_ps(dw, dx);
}

/* One block on 256 bits (the odd last block of a row). */
static inline __m128 tail_block(__m128 acc, const __m256i u[4], __m128i d, const block_q8_0 *b, int bias)
{
    const __m256i y = _mm256_loadu_si256((const __m256i *)b->qs);
    const __m256i c = _mm256_sub_epi32(_mm256_setzero_si256(),
                                       _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8((char)bias), y));
    __m256i s[4];
    for (int r = 0; r < 4; r++) s[r] = _mm256_dpbusd_epi32(c, u[r], y);
    const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(s[0], s[1]), _mm256_hadd_epi32(s[2], s[3]));
    const __m128i sumi = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
    const __m128 dw = _mm_cvtph_ps(d);
    return _mm_fmadd_ps(_mm_cvtepi32_ps(sumi), _mm_mul_ps(dw, _mm_set1_ps(x86_f16(b->d))), acc);
}

/* The kernel body for a block type T with fields d and qs[16]; VALUES maps
 * the nibbles (a vector of bytes 0..15) to the unsigned weights, BIAS is
 * what was added to make them unsigned. */
#define DOT4_KERNEL(name, T, VALUES, BIAS)                                                                       \
    void name(int64_t n, float *s, const void *w, size_t ws, const void *x)                                     \
    {                                                                                                           \
        const T *a[4] = {ROW(T, w, ws, 0), ROW(T, w, ws, 1), ROW(T, w, ws, 2), ROW(T, w, ws, 3)};               \
        const block_q8_0 *b = x;                                                                                \
        const int64_t nb = n / 32;                                                                              \
        __m128 acc = _mm_setzero_ps();                                                                          \
        int64_t i = 0;                                                                                          \
        for (; i + 2 <= nb; i += 2) {                                                                           \
            if (i % 4 == 0)                                                                                     \
                for (int r = 0; r < 4; r++) _mm_prefetch((const char *)(a[r] + i) + PF_ROW, _MM_HINT_T0);     \
            const __m512i y = act2(b + i);                                                                      \
            const __m512i c = _mm512_sub_epi32(_mm512_setzero_si512(),                                          \
                                               _mm512_dpbusd_epi32(_mm512_setzero_si512(),                      \
                                                                   _mm512_set1_epi8((char)(BIAS)), y));         \
            __m512i v[4];                                                                                       \
            for (int r = 0; r < 4; r++) v[r] = _mm512_dpbusd_epi32(c, VALUES(nibbles2(a[r][i].qs, a[r][i + 1].qs)), y); \
            /* built in registers: eight 2-byte stores read back as one vector would stall */                  \
            const __m128i d = _mm_setr_epi16((short)a[0][i].d, (short)a[1][i].d, (short)a[2][i].d,              \
                                             (short)a[3][i].d, (short)a[0][i + 1].d, (short)a[1][i + 1].d,      \
                                             (short)a[2][i + 1].d, (short)a[3][i + 1].d);                       \
            const __m256 f = _mm256_cvtepi32_ps(fold4(v[0], v[1], v[2], v[3]));                                \
            const __m256 dd = scales2(d, b + i);                                                                \
            acc = _mm_fmadd_ps(_mm256_castps256_ps128(f), _mm256_castps256_ps128(dd), acc);                    \
            acc = _mm_fmadd_ps(_mm256_extractf128_ps(f, 1), _mm256_extractf128_ps(dd, 1), acc);               \
        }                                                                                                       \
        if (i < nb) {                                                                                           \
            __m256i u[4];                                                                                       \
            for (int r = 0; r < 4; r++)                                                                         \
                u[r] = _mm512_castsi512_si256(VALUES(_mm512_castsi256_si512(x86_nibbles(a[r][i].qs))));        \
            const __m128i d = _mm_setr_epi16((short)a[0][i].d, (short)a[1][i].d, (short)a[2][i].d,              \
                                             (short)a[3][i].d, 0, 0, 0, 0);                                     \
            acc = tail_block(acc, u, d, b + i, BIAS);                                                           \
        }                                                                                                       \
        _mm_storeu_ps(s, acc);                                                                                  \
    }

#define Q4_0_VALUES(q) (q)
DOT4_KERNEL(q4_0_dot4_avx512, block_q4_0, Q4_0_VALUES, 8)

/* IQ4_NL: the table, shifted to unsigned (value + 128), looked up per 128-bit lane. */
static inline __m512i iq4nl_u8(__m512i q)
{
    const __m512i t = _mm512_broadcast_i32x4(_mm_xor_si128(_mm_loadu_si128((const __m128i *)iq4nl_values),
                                                           _mm_set1_epi8((char)0x80)));
    return _mm512_shuffle_epi8(t, q);
}
DOT4_KERNEL(iq4_nl_dot4_avx512, block_iq4_nl, iq4nl_u8, 128)

#endif /* __x86_64__ */
