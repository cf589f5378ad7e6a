/*
 * dot_fp8.h — the dot products of mote's FP8 weights (tensor/quant.h)
 * with F32 activations, per ISA (internal to the kernels layer).
 *
 * The order, which every ISA keeps bit for bit (dot_fp8_scalar.c is the
 * reference): 16 float lanes. Each code is taken as fp8_half's exact F16
 * value, E4M3 * 2^-8, widened to F32. Block b's lane l (0..15) is
 *     p = fma(w[l + 16], x[l + 16], w[l] * x[l])
 * and goes into accumulator b % 2:  acc[b % 2][l] = fma(p, fp8_scale(e_b), acc[b % 2][l])
 * (two accumulators, so consecutive blocks are independent chains). At
 * the end, s = reduce16(acc[0][l] + acc[1][l]) (scalar_reduce16's tree).
 * Everything is plain IEEE float arithmetic (no flushing), so AVX2's
 * 8-lane, AVX-512's 16-lane and NEON's 4-lane vectors compute it exactly.
 *
 * The activations stay F32 (vec_dot_type F32): no rounding on that side.
 */
#ifndef MOTE_KERNELS_DOT_FP8_H
#define MOTE_KERNELS_DOT_FP8_H

#include <stddef.h>
#include <stdint.h>

void fp8_dot_scalar(int64_t n, float *s, const void *w, const void *x);

#if defined(__x86_64__)
void fp8_dot_avx2(int64_t n, float *s, const void *w, const void *x);
void fp8_dot4_avx2(int64_t n, float *s, const void *w, size_t ws, const void *x);
void fp8_dot_avx512(int64_t n, float *s, const void *w, const void *x);
void fp8_dot4_avx512(int64_t n, float *s, const void *w, size_t ws, const void *x);
/* The gemm slot (kernels.h): every output as fp8_dot gives it. */
void fp8_gemm_avx512(int64_t k, const void *W, size_t w_stride, const void *X, size_t x_stride, const float *Xf,
                     float *Y, int64_t ldy, int nr, int nt);
#endif

#if defined(__aarch64__)
void fp8_dot_neon(int64_t n, float *s, const void *w, const void *x);
void fp8_dot4_neon(int64_t n, float *s, const void *w, size_t ws, const void *x);
#endif

#endif
