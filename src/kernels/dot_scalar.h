/*
 * dot_scalar.h — the scalar reference dot products, one per weight type.
 *
 * Each computes s = dot(w[0..n), x[0..n)) with w a row of the weight type
 * and x the activations in its vec_dot type (see kernels.h), following the
 * arithmetic of ggml's generic (non-SIMD) CPU kernels: integer sums inside
 * blocks, block scales applied in float, in ggml's order, so results are
 * bit-identical to ggml built without SIMD and without FP contraction.
 * SIMD tables may point at these for types they do not vectorise.
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
