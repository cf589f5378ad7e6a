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

#include <math.h>
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

/* ------------------------------------------------------------------------
 * Float steps of the scalar model that several files share
 * ---------------------------------------------------------------------- */

/* hsum_float_8 of ggml's x86 kernels: (l0 + l4) + (l2 + l6) and
 * (l1 + l5) + (l3 + l7), then those two. */
static inline float scalar_hsum8(const float l[8])
{
    float h[4];
    for (int i = 0; i < 4; i++) h[i] = l[i + 4] + l[i];
    return (h[0] + h[2]) + (h[1] + h[3]);
}

/* _mm512_reduce_add_ps: halves folded 16 -> 8 -> 4, then (0 + 2) + (1 + 3). */
static inline float scalar_reduce16(const float v[16])
{
    float h8[8], h4[4];
    for (int i = 0; i < 8; i++) h8[i] = v[i + 8] + v[i];
    for (int i = 0; i < 4; i++) h4[i] = h8[i + 4] + h8[i];
    return (h4[0] + h4[2]) + (h4[1] + h4[3]);
}

/* The 4 vectors of 16 lanes of ggml's AVX-512 ggml_vec_dot_f32 folded
 * (0 += 2, 1 += 3, then 0 += 1) and reduced; acc is clobbered. */
static inline float scalar_fold4x16(float acc[4][16])
{
    for (int l = 0; l < 16; l++) {
        acc[0][l] += acc[2][l];
        acc[1][l] += acc[3][l];
    }
    for (int l = 0; l < 16; l++) acc[0][l] += acc[1][l];
    return scalar_reduce16(acc[0]);
}

/* One super-block of Q2_K's two float chains (llama.cpp's repacked
 * q2_K_8x8 kernels, see dot_k_scalar.c), from the exact integer sums of
 * its two halves (isum: scale * q * q8, imin: min * bsum): the one-row
 * order advances the chains once per super-block, the 4-row order
 * (per_half) once per half. Every ISA's Q2_K kernels take this step. */
static inline void q2_K_chain_step(const int32_t isum[2], const int32_t imin[2], float d, float dmin, int per_half,
                                   float *acc, float *acc_min)
{
    if (per_half) {
        for (int h = 0; h < 2; h++) {
            *acc = fmaf((float)isum[h], d, *acc);
            *acc_min = fmaf((float)imin[h], dmin, *acc_min);
        }
    } else {
        *acc = fmaf((float)(isum[0] + isum[1]), d, *acc);
        *acc_min = fmaf((float)(imin[0] + imin[1]), dmin, *acc_min);
    }
}

#endif
