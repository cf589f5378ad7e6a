/*
 * dot_x86.h — the x86 SIMD kernels (internal to the kernels layer): the
 * functions of the AVX2 files, which the AVX-512 tables reuse where they
 * have nothing better, and those of the AVX-512 files that the tables in
 * dot_avx512.c list. Their inline helpers are in simd_avx2.h and
 * simd_avx512.h. Declared on x86-64 only.
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

#include <stddef.h>
#include <stdint.h>

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
 * AVX-512 dot products (F32: dot_avx512.c; K-quants: dot_k_avx512.c)
 * ---------------------------------------------------------------------- */

void f32_dot_avx512(int64_t n, float *s, const void *w, const void *x);
void f16_dot_avx512(int64_t n, float *s, const void *w, const void *x);
void bf16_dot_avx512(int64_t n, float *s, const void *w, const void *x);

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
X86_GEMM(q8_0) /* gemm_small_avx512.c: few tokens unpacked, else gemm_lanes */
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

/* The alone gemms (dot_rt_avx512.c): vec_dot_rt_fn of kernels.h, every
 * output bit-identical to the table's vec_dot; and F16's vec_dot4 on the
 * same blocks. */
void f16_dot4_avx512(int64_t k, float *s, const void *W, size_t ws, const void *X);
void f16_dot_rt_avx512(int64_t k, const void *W, size_t ws, const void *X, size_t xs, float *Y, int64_t ldy,
                       int nr, int nt);
void f32_dot_rt_avx512(int64_t k, const void *W, size_t ws, const void *X, size_t xs, float *Y, int64_t ldy,
                       int nr, int nt);
void q8_0_dot_rt_avx512(int64_t k, const void *W, size_t ws, const void *X, size_t xs, float *Y, int64_t ldy,
                        int nr, int nt);
void bf16_dot_rt_avx512(int64_t k, const void *W, size_t ws, const void *X, size_t xs, float *Y, int64_t ldy,
                        int nr, int nt);
void q4_0_dot_rt_avx512(int64_t k, const void *W, size_t ws, const void *X, size_t xs, float *Y, int64_t ldy,
                        int nr, int nt);

/* Element-wise ops (ops_avx512.c), bit-identical to ops.c's. */
void swiglu_avx512(float *g, const float *u, int n);

/* Attention (attention_avx512.c): the streaming kernels (attn_chunk_fn of
 * kernels.h) by cache type, and the exact F32-cache products. */
void attn_chunk_f16_avx512(const float *q, int64_t q_stride, int g, const void *k, const void *v,
                           size_t row_bytes, int n, int hd, float scale, float *part);
void attn_chunk_q8_0_avx512(const float *q, int64_t q_stride, int g, const void *k, const void *v,
                            size_t row_bytes, int n, int hd, float scale, float *part);
/* The same with 8 lanes (attention_avx2.c). */
void attn_chunk_f16_avx2(const float *q, int64_t q_stride, int g, const void *k, const void *v,
                         size_t row_bytes, int n, int hd, float scale, float *part);
void attn_chunk_q8_0_avx2(const float *q, int64_t q_stride, int g, const void *k, const void *v,
                          size_t row_bytes, int n, int hd, float scale, float *part);
float attn_dot_avx512(const float *a, const float *b, int n);
void attn_values_avx512(float *out, const float *p, const float *v, int64_t stride, int n, int hd);
/* ops.c's op_attn_values_batch with vector FMAs across 16 (8) dimensions
 * at a time: each lane's chain and the 16-lane reduction are the scalar
 * one's, so the results are bit-identical. */
void attn_values_batch_avx512(float *out, const float *p, const float *v, int64_t stride, int n, int hd);
void attn_values_batch_avx2(float *out, const float *p, const float *v, int64_t stride, int n, int hd);

/* In the scalar table's 8-lane order, bit for bit (gemm_lanes_avx512.c). */
#define X86_GEMM_LANES(name)                                                                             \
    void name##_gemm_lanes_avx512(int64_t k, const void *W, size_t w_stride, const void *X,              \
                                  size_t x_stride, const float *Xf, float *Y, int64_t ldy, int nr, int nt);
X86_GEMM_LANES(q8_0)
X86_GEMM_LANES(q5_0)
X86_GEMM_LANES(q4_1)
X86_GEMM_LANES(q5_1)
#undef X86_GEMM_LANES

/* The stored layouts (tensor/layout.h; gemm_layout_avx512.c): nr whole
 * groups of 16 rows from W (w_stride: the plain row's bytes), any nt;
 * every output the plain type's vec_dot, bit for bit. */
void q8_0_r16_gemm_avx512(int64_t k, const void *W, size_t w_stride, const void *X, size_t x_stride,
                          const float *Xf, float *Y, int64_t ldy, int nr, int nt);
void q4_0_r16_gemm_avx512(int64_t k, const void *W, size_t w_stride, const void *X, size_t x_stride,
                          const float *Xf, float *Y, int64_t ldy, int nr, int nt);
void iq4_nl_r16_gemm_avx512(int64_t k, const void *W, size_t w_stride, const void *X, size_t x_stride,
                            const float *Xf, float *Y, int64_t ldy, int nr, int nt);
/* Q4_K_R16 (gemm_k_avx512.c): the gemm gives the plain Q4_K batch's
 * results (llama.cpp's two orders, as q4_K_gemm_avx512), the alone gemm
 * vec_dot's for every token. */
void q4_K_r16_gemm_avx512(int64_t k, const void *W, size_t w_stride, const void *X, size_t x_stride,
                          const float *Xf, float *Y, int64_t ldy, int nr, int nt);
void q4_K_r16_dot_rt_avx512(int64_t k, const void *W, size_t w_stride, const void *X, size_t x_stride, float *Y,
                            int64_t ldy, int nr, int nt);
/* Q6_K_R16 (gemm_k_avx512.c): vec_dot's order, any nt. */
void q6_K_r16_gemm_avx512(int64_t k, const void *W, size_t w_stride, const void *X, size_t x_stride,
                          const float *Xf, float *Y, int64_t ldy, int nr, int nt);

#endif /* __x86_64__ */
#endif
