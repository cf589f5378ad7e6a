/*
 * dot_x86.h — the x86 SIMD kernels (internal to the kernels layer): the
 * functions of the AVX2 files, which the AVX-512 table reuses where it has
 * nothing better, and inline helpers shared by the x86 kernel files.
 *
 * Include only from files compiled with the AVX2 flags or more (*_avx2.c,
 * *_avx512.c), and only on x86-64.
 *
 * Every function here gives the bit-identical result of its scalar
 * counterpart in dot_scalar.c / dot_k_scalar.c / quant.c: the integer
 * block sums are exact in any order, and the float lanes, FMAs and
 * reduction trees are the scalar model's. The one exception is input the
 * formats never produce: activation quants of -128 (the x86 quantizers
 * give -127..127) meeting weights of -128 would saturate the pairwise
 * 16-bit products (as in llama.cpp's kernels), and NaN inputs to the
 * quantizers (their integer results differ from the scalar clamping).
 */
#ifndef MOTE_KERNELS_DOT_X86_H
#define MOTE_KERNELS_DOT_X86_H

#if defined(__x86_64__)

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#include "tensor/quant.h"

/* ------------------------------------------------------------------------
 * AVX2 kernels (dot_avx2.c, dot_k_avx2.c, quant_avx2.c)
 * ---------------------------------------------------------------------- */

void f32_dot_avx2(int64_t n, float *s, const void *w, const void *x);
void f16_dot_avx2(int64_t n, float *s, const void *w, const void *x);
void f32_dot_batch_avx2(int64_t n, float *s, const void *w, const void *x);
void f16_dot_batch_avx2(int64_t n, float *s, const void *w, const void *x);
void bf16_dot_avx2(int64_t n, float *s, const void *w, const void *x);
void bf16_dot_batch_avx2(int64_t n, float *s, const void *w, const void *x);
void q4_0_dot_avx2(int64_t n, float *s, const void *w, const void *x);
void q4_1_dot_avx2(int64_t n, float *s, const void *w, const void *x);
void q5_0_dot_avx2(int64_t n, float *s, const void *w, const void *x);
void q5_1_dot_avx2(int64_t n, float *s, const void *w, const void *x);
void q8_0_dot_avx2(int64_t n, float *s, const void *w, const void *x);
void iq4_nl_dot_avx2(int64_t n, float *s, const void *w, const void *x);
void q2_K_dot_avx2(int64_t n, float *s, const void *w, const void *x);
void q2_K_dot_x4_avx2(int64_t n, float *s, const void *w, const void *x);
void q3_K_dot_avx2(int64_t n, float *s, const void *w, const void *x);
void q4_K_dot_avx2(int64_t n, float *s, const void *w, const void *x);
void q4_K_dot_x4_avx2(int64_t n, float *s, const void *w, const void *x);
void q5_K_dot_avx2(int64_t n, float *s, const void *w, const void *x);
void q6_K_dot_avx2(int64_t n, float *s, const void *w, const void *x);
void iq4_xs_dot_avx2(int64_t n, float *s, const void *w, const void *x);
void iq4_xs_dot_panel_avx2(int64_t n, float *s, const void *w, const void *x);

void q4_0_dot4_avx2(int64_t n, float *s, const void *w, size_t ws, const void *x);
void q8_0_dot4_avx2(int64_t n, float *s, const void *w, size_t ws, const void *x);
void iq4_nl_dot4_avx2(int64_t n, float *s, const void *w, size_t ws, const void *x);

void f16_quantize_avx2(const float *x, void *y, int64_t n);
void bf16_quantize_avx2(const float *x, void *y, int64_t n);
void q8_0_quantize_avx2(const float *x, void *y, int64_t n);
void q8_1_quantize_avx2(const float *x, void *y, int64_t n);
void q8_K_quantize_avx2(const float *x, void *y, int64_t n);

/* ------------------------------------------------------------------------
 * AVX-512 K-quant dot products (dot_k_avx512.c)
 * ---------------------------------------------------------------------- */

void q4_K_dot_avx512(int64_t n, float *s, const void *w, const void *x);
void q6_K_dot_avx512(int64_t n, float *s, const void *w, const void *x);
void q4_K_dot4_avx512(int64_t n, float *s, const void *w, size_t ws, const void *x);
void q6_K_dot4_avx512(int64_t n, float *s, const void *w, size_t ws, const void *x);

/* ------------------------------------------------------------------------
 * AVX-512 batch products (gemm_avx512.c; F32, F16, BF16: gemm_f_avx512.c,
 * in the vec_dot_b2 order, bf16_dpbf16 by vdpbf16ps; Q4_K, Q6_K:
 * gemm_k_avx512.c): gemm_fn of kernels.h
 * ---------------------------------------------------------------------- */

#define X86_GEMM(name)                                                                                   \
    void name##_gemm_avx512(int64_t k, const void *W, size_t w_stride, const void *X, size_t x_stride,   \
                            const float *Xf, float *Y, int64_t ldy, int nr, int nt);
X86_GEMM(q4_0)
X86_GEMM(iq4_nl)
X86_GEMM(q2_K)
X86_GEMM(q3_K)
X86_GEMM(q4_K)
X86_GEMM(q5_K)
X86_GEMM(q6_K)
X86_GEMM(iq4_xs)
X86_GEMM(f32)
X86_GEMM(f16)
X86_GEMM(bf16)
X86_GEMM(bf16_dpbf16)
#undef X86_GEMM

/* Element-wise ops (ops_avx512.c), bit-identical to ops.c's. */
void swiglu_avx512(float *g, const float *u, int n);

/* In the scalar table's 8-lane order, bit for bit (gemm_lanes_avx512.c). */
#define X86_GEMM_LANES(name)                                                                             \
    void name##_gemm_lanes_avx512(int64_t k, const void *W, size_t w_stride, const void *X,              \
                                  size_t x_stride, const float *Xf, float *Y, int64_t ldy, int nr, int nt);
X86_GEMM_LANES(q8_0)
X86_GEMM_LANES(q5_0)
X86_GEMM_LANES(q4_1)
X86_GEMM_LANES(q5_1)
#undef X86_GEMM_LANES

/* ------------------------------------------------------------------------
 * Inline helpers (AVX2)
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

/* int32 lane l = sum of w[k] * y[k] for k in 4l..4l+3, w and y signed
 * bytes (exact unless both are -128, see above). */
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

/* The four-row kernels serve token generation, where matmul hands them
 * rows a quarter of a run of rows apart (four sequential streams, see
 * dot_quarters in kernels.c). Short streams, under X86_PF_STREAM_MAX bytes
 * (ws, the distance between the rows, is a stream's length), are
 * prefetched X86_PF_ROW bytes ahead of what is being read: the hardware
 * prefetchers have no time to train on them. Longer ones are left to the
 * hardware, which follows them better alone (llama-3.2-1b Q8_0
 * generation: 30% faster without the prefetches, smollm2-135m the same).
 * Prefetch the size bytes from at (rounded to whole lines) that far ahead
 * in each of the four streams, ws apart. */
#define X86_PF_ROW 2048
#define X86_PF_STREAM_MAX 65536

static inline void x86_prefetch_rows4(const void *at, size_t ws, size_t size)
{
    if (ws >= X86_PF_STREAM_MAX) return;
    const char *p = (const char *)at + X86_PF_ROW;
    for (size_t o = 0; o < size; o += 64)
        for (size_t r = 0; r < 4; r++) _mm_prefetch(p + r * ws + o, _MM_HINT_T0);
}

/* The 16 IQ4_NL values + 128, as unsigned bytes (a pshufb table). */
static inline __m128i x86_iq4nl_u8(void)
{
    return _mm_xor_si128(_mm_loadu_si128((const __m128i *)iq4nl_values), _mm_set1_epi8((char)0x80));
}

/* F16 -> F32 of one value (exact, as fp16_to_fp32). */
static inline float x86_f16(uint16_t h)
{
    return _cvtsh_ss(h);
}

#endif /* __x86_64__ */
#endif
