/*
 * simd_avx2.h — the inline helpers of the x86 kernel files (internal to
 * the kernels layer): horizontal sums in the scalar model's trees, 8-bit
 * dot products, block unpacking, loads and prefetches.
 *
 * They need AVX2, FMA and F16C: include only from files built with those
 * flags or more (*_avx2.c, *_avx512.c: the Makefile's ISA_ rule), and only
 * on x86-64. The helpers that need AVX-512 are in simd_avx512.h.
 *
 * Float helpers reproduce the scalar reference's roundings (dot_scalar.c),
 * integer ones are exact (see dot_x86.h for the one input they are not).
 */
#ifndef MOTE_KERNELS_SIMD_AVX2_H
#define MOTE_KERNELS_SIMD_AVX2_H

#if defined(__x86_64__)

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tensor/quant.h"

/* ------------------------------------------------------------------------
 * Loads
 * ---------------------------------------------------------------------- */

/* 32 bytes from p (any alignment). */
static inline __m256i x86_load256(const void *p)
{
    return _mm256_loadu_si256((const __m256i *)p);
}

/* Row r of a matrix at w with rows ws bytes apart, as a const T *. */
#define X86_ROW(T, w, ws, r) ((const T *)((const uint8_t *)(w) + (size_t)(r) * (ws)))

/* F16 -> F32 of one value (exact, as fp16_to_fp32). */
static inline float x86_f16(uint16_t h)
{
    return _cvtsh_ss(h);
}

/* Four F16 values -> F32 lanes 0..3 (exact). */
static inline __m128 x86_f16x4(uint16_t h0, uint16_t h1, uint16_t h2, uint16_t h3)
{
    return _mm_cvtph_ps(_mm_setr_epi16((short)h0, (short)h1, (short)h2, (short)h3, 0, 0, 0, 0));
}

/* ------------------------------------------------------------------------
 * Horizontal sums
 * ---------------------------------------------------------------------- */

/* The scalar hsum8: (l0 + l4) + (l2 + l6) and (l1 + l5) + (l3 + l7), then
 * those two. */
static inline float x86_hsum8(__m256 v)
{
    __m128 h = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));      /* h0 + h2, h1 + h3 */
    h = _mm_add_ss(h, _mm_movehdup_ps(h));       /* (h0 + h2) + (h1 + h3) */
    return _mm_cvtss_f32(h);
}

/* The scalar reduce16 (_mm512_reduce_add_ps) of lanes lo = 0..7, hi = 8..15. */
static inline float x86_reduce16(__m256 lo, __m256 hi)
{
    return x86_hsum8(_mm256_add_ps(hi, lo));
}

/* Sum of 8 int32 lanes (exact, any order). */
static inline int x86_hsum_i32(__m256i v)
{
    __m128i h = _mm_add_epi32(_mm256_extracti128_si256(v, 1), _mm256_castsi256_si128(v));
    h = _mm_add_epi32(h, _mm_unpackhi_epi64(h, h));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 1));
    return _mm_cvtsi128_si32(h);
}

/* The 8-lane order of the block kernels (dot_scalar.c): integer lane l of
 * a block, converted, times the block's scale d, added to float lane l by
 * one FMA. */
static inline __m256 x86_lanes_fma(__m256 acc, __m256i isum, float d)
{
    return _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(isum), acc);
}

/* ------------------------------------------------------------------------
 * 8-bit products
 * ---------------------------------------------------------------------- */

/* int32 lane l = sum of w[k] * y[k] for k in 4l..4l+3, w and y signed
 * bytes (exact unless both are -128, see dot_x86.h). */
static inline __m256i x86_dot_i8(__m256i w, __m256i y)
{
    const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(y, w));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

/* The same with w unsigned (0..255 with |y| small enough, or 0..63 with
 * any y: pairs stay within int16). */
static inline __m256i x86_dot_u8(__m256i w, __m256i y)
{
    return _mm256_madd_epi16(_mm256_maddubs_epi16(w, y), _mm256_set1_epi16(1));
}

/* ------------------------------------------------------------------------
 * Block unpacking
 * ---------------------------------------------------------------------- */

/* 16 bytes of nibbles -> 32 bytes in element order: low nibbles (elements
 * 0..15) in the low half, high nibbles (16..31) in the high half. */
static inline __m256i x86_nibbles(const uint8_t *qs)
{
    const __m128i q = _mm_loadu_si128((const __m128i *)qs);
    const __m256i v = _mm256_set_m128i(_mm_srli_epi16(q, 4), q);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x0f));
}

/* 32 bits -> 32 bytes: byte j is 0xff if bit j is set, else 0. */
static inline __m256i x86_bits_to_bytes(uint32_t bits)
{
    const __m256i spread = _mm256_setr_epi64x(0x0000000000000000, 0x0101010101010101,
                                              0x0202020202020202, 0x0303030303030303);
    const __m256i mask = _mm256_set1_epi64x((int64_t)0x8040201008040201ull);
    const __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits), spread);
    return _mm256_cmpeq_epi8(_mm256_and_si256(v, mask), mask);
}

/* The 32 unsigned values (0..31) of a Q5_0 / Q5_1 block, in element order:
 * nibble | fifth bit << 4. */
static inline __m256i x86_q5_values(const uint8_t qs[16], const uint8_t qh[4])
{
    uint32_t bits;
    memcpy(&bits, qh, sizeof bits);
    const __m256i hi = _mm256_and_si256(x86_bits_to_bytes(bits), _mm256_set1_epi8(0x10));
    return _mm256_or_si256(x86_nibbles(qs), hi);
}

/* The 16 IQ4_NL values as signed bytes, in both 128-bit lanes (a pshufb
 * table). */
static inline __m256i x86_iq4nl_i8(void)
{
    return _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)iq4nl_values));
}

/* The same + 128, as unsigned bytes (for vpdpbusd). */
static inline __m256i x86_iq4nl_u8(void)
{
    return _mm256_xor_si256(x86_iq4nl_i8(), _mm256_set1_epi8((char)0x80));
}

/* ------------------------------------------------------------------------
 * Prefetches
 * ---------------------------------------------------------------------- */

/* Every cache line of the len bytes at p, into L1. Always inlined: gcc
 * takes a function that only prefetches for one without effects (const)
 * and drops the calls of one it did not inline. */
static inline __attribute__((always_inline)) void x86_prefetch_bytes(const void *p, size_t len)
{
    const char *c = p;
    for (size_t o = 0; o < len; o += 64) _mm_prefetch(c + o, _MM_HINT_T0);
    if (len) _mm_prefetch(c + len - 1, _MM_HINT_T0);
}

/* The four-row kernels serve token generation, where matmul hands them
 * rows a quarter of a run of rows apart (four sequential streams, see
 * dot_quarters in kernels.c). Short streams, under X86_PF_STREAM_MAX bytes
 * (ws, the distance between the rows, is a stream's length), are
 * prefetched X86_PF_ROW bytes ahead of what is being read: the hardware
 * prefetchers have no time to train on them. Longer ones are left to the
 * hardware, which follows them better alone (llama-3.2-1b Q8_0
 * generation: 30% faster without the prefetches, smollm2-135m the same).
 * Prefetch the size bytes from at (rounded to whole lines) that far ahead
 * in each of the four streams, ws apart (always inlined, as
 * x86_prefetch_bytes). */
#define X86_PF_ROW 2048
#define X86_PF_STREAM_MAX 65536

static inline __attribute__((always_inline)) void x86_prefetch_rows4(const void *at, size_t ws, size_t size)
{
    if (ws >= X86_PF_STREAM_MAX) return;
    const char *p = (const char *)at + X86_PF_ROW;
    for (size_t o = 0; o < size; o += 64)
        for (size_t r = 0; r < 4; r++) _mm_prefetch(p + r * ws + o, _MM_HINT_T0);
}

#endif /* __x86_64__ */
#endif
