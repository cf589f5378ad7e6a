/*
 * dot_neon.h — AArch64 kernel tables: "neon" (baseline Advanced SIMD, every
 * AArch64 CPU) and "dotprod" (Armv8.2 SDOT, checked at run time).
 *
 * Every kernel returns bit for bit what its scalar reference in
 * dot_scalar.c / dot_k_scalar.c returns: integer block sums are exact in
 * any order, and the float steps (the 8 lanes of the AVX2-modelled types
 * as two float32x4, the 16 lanes of the AVX-512-modelled float types as
 * four, FMAs, the reduction trees, the scalar FMA chains of the repacked
 * types) are the reference's, one for one. The two tables differ only in
 * how they form the 4-element integer sums (widening multiplies and
 * pairwise adds, or SDOT); their results are identical.
 *
 * On other targets the tables do not exist (kernels.c lists them only
 * under __aarch64__).
 */
#ifndef MOTE_KERNELS_DOT_NEON_H
#define MOTE_KERNELS_DOT_NEON_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/kernels.h"

#if defined(__aarch64__)

/* Float types and activation quantizers (dot_neon.c), shared by both tables. */
void f32_dot_neon(int64_t n, float *s, const void *w, const void *x);
void f16_dot_neon(int64_t n, float *s, const void *w, const void *x);
void bf16_dot_neon(int64_t n, float *s, const void *w, const void *x);
void f32_dot_batch_neon(int64_t n, float *s, const void *w, const void *x);
void f16_dot_batch_neon(int64_t n, float *s, const void *w, const void *x);
void bf16_dot_batch_neon(int64_t n, float *s, const void *w, const void *x);
void f16_quantize_neon(const float *src, void *dst, int64_t n);
void q8_0_quantize_neon(const float *src, void *dst, int64_t n); /* = q8_0_quantize_x86 */
void q8_1_quantize_neon(const float *src, void *dst, int64_t n); /* = q8_1_quantize_x86 */
void q8_K_quantize_neon(const float *src, void *dst, int64_t n); /* = q8_K_quantize */

/* Streaming attention (attention_neon.c; attn_chunk_fn of kernels.h), by
 * cache type, shared by both tables. */
void attn_chunk_f16_neon(const float *q, int64_t q_stride, int g, const void *k, const void *v, size_t row_bytes,
                         int n, int hd, float scale, float *part);
void attn_chunk_q8_0_neon(const float *q, int64_t q_stride, int g, const void *k, const void *v, size_t row_bytes,
                          int n, int hd, float scale, float *part);

const kernel_ops *kernels_neon(void);
const kernel_ops *kernels_dotprod(void);
/* 1 if this CPU has the SDOT/UDOT instructions (HWCAP_ASIMDDP). */
int cpu_has_dotprod(void);

#endif
#endif
