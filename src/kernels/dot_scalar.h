/*
 * dot_scalar.h — the scalar reference dot products, one per weight type.
 *
 * Each computes s = dot(w[0..n), x[0..n)) with w a row of the weight type
 * and x the activations in its vec_dot type (see kernels.h), with the
 * float arithmetic of the kernels llama.cpp runs on an x86-64 CPU with
 * AVX-512 (its CPU variant "zen4": AVX2 vec_dot kernels, the AVX-512 float
 * and BF16 kernels, the repacked Q4_0/IQ4_NL/Q4_K/Q2_K kernels, tinyBLAS):
 * the same exact integer sums, the same float lanes, FMAs and reduction
 * trees, written as plain loops over those lanes. Results are bit-identical
 * to llama.cpp's (checked against its dumped matmul outputs), which is what
 * makes the logits match its goldens to print precision: an ulp anywhere
 * can flip the rounding of a quantized activation downstream.
 *
 * llama.cpp's batched kernels round differently from its one-row kernels
 * for some types; the *_x4, *_panel and *_batch variants are those orders,
 * chosen per row by batch_dot() (kernels.h). SIMD tables must reproduce
 * these results bit for bit.
 */
#ifndef MOTE_KERNELS_DOT_SCALAR_H
#define MOTE_KERNELS_DOT_SCALAR_H

#include <stdint.h>

void f32_dot_scalar(int64_t n, float *s, const void *w, const void *x);    /* x: F32 */
void f16_dot_scalar(int64_t n, float *s, const void *w, const void *x);    /* x: F16 */
void f32_dot_batch_scalar(int64_t n, float *s, const void *w, const void *x); /* batch order */
void f16_dot_batch_scalar(int64_t n, float *s, const void *w, const void *x); /* batch order */
void bf16_dot_scalar(int64_t n, float *s, const void *w, const void *x);   /* x: BF16 */
void bf16_dot_batch_scalar(int64_t n, float *s, const void *w, const void *x); /* batch order */
void q4_0_dot_scalar(int64_t n, float *s, const void *w, const void *x);   /* x: Q8_0 */
void q4_1_dot_scalar(int64_t n, float *s, const void *w, const void *x);   /* x: Q8_1 */
void q5_0_dot_scalar(int64_t n, float *s, const void *w, const void *x);   /* x: Q8_0 */
void q5_1_dot_scalar(int64_t n, float *s, const void *w, const void *x);   /* x: Q8_1 */
void q8_0_dot_scalar(int64_t n, float *s, const void *w, const void *x);   /* x: Q8_0 */
void iq4_nl_dot_scalar(int64_t n, float *s, const void *w, const void *x); /* x: Q8_0 */
void q2_K_dot_scalar(int64_t n, float *s, const void *w, const void *x);   /* x: Q8_K */
void q2_K_dot_x4_scalar(int64_t n, float *s, const void *w, const void *x); /* x: Q8_K, 4-row order */
void q3_K_dot_scalar(int64_t n, float *s, const void *w, const void *x);   /* x: Q8_K */
void q4_K_dot_scalar(int64_t n, float *s, const void *w, const void *x);   /* x: Q8_K */
void q4_K_dot_x4_scalar(int64_t n, float *s, const void *w, const void *x); /* x: Q8_K, 4-row order */
void q5_K_dot_scalar(int64_t n, float *s, const void *w, const void *x);   /* x: Q8_K */
void q6_K_dot_scalar(int64_t n, float *s, const void *w, const void *x);   /* x: Q8_K */
void iq4_xs_dot_scalar(int64_t n, float *s, const void *w, const void *x); /* x: Q8_K */
void iq4_xs_dot_panel_scalar(int64_t n, float *s, const void *w, const void *x); /* x: Q8_K, batch order */

#endif
