/*
 * ops.h — the small element-wise and row operations of a transformer
 * (scalar, following ggml's CPU arithmetic so logits stay close to
 * llama.cpp's). The matrix products live in kernels.h.
 */
#ifndef MOTE_KERNELS_OPS_H
#define MOTE_KERNELS_OPS_H

#include <stdint.h>

/* out = x / sqrt(mean(x²) + eps) * w, over n elements (out may alias x). */
void op_rmsnorm(float *out, const float *x, const float *w, int n, float eps);

/* out = (x - mean(x)) / sqrt(var(x) + eps) * w + b over n elements
 * (LayerNorm, as ggml_norm then a multiply and an add; out may alias x). */
void op_layernorm(float *out, const float *x, const float *w, const float *b, int n, float eps);

/* cos/sin table of rotary embedding for one position: cs[2i] = mscale ·
 * cos θi, cs[2i+1] = mscale · sin θi, θi = pos · freq_scale ·
 * base^(-2i/n_rot) / ff[i], for i < n_rot/2. ff may be NULL (all 1);
 * mscale is LongRoPE's attention factor (1: none). */
void op_rope_cache(float *cs, int pos, int n_rot, float base, float freq_scale, const float *ff, float mscale);
/* Rotate one head vector in place with a cos/sin table. neox: pairs
 * (i, i + n_rot/2) instead of (2i, 2i+1). Dimensions >= n_rot are kept. */
void op_rope(float *x, const float *cs, int n_rot, int neox);

/* p[0..n) = softmax(s[0..n) * scale), in place. */
void op_softmax(float *s, int n, float scale);

/* g = silu(g) * u over n elements (the kernel table's SIMD version, which
 * gives the scalar op's bits; op_swiglu_scalar is that reference). */
void op_swiglu(float *g, const float *u, int n);
void op_swiglu_scalar(float *g, const float *u, int n);

/* g = gelu(g) * u over n elements, GELU with tanh as llama.cpp's CPU
 * backend computes it: through a table over all F16 inputs, so
 * gelu(x) = f16(gelu_f32(f16(x))) for -10 < x < 10, 0 below, x above. */
void op_geglu(float *g, const float *u, int n);
/* x = gelu(x) over n elements, through the same table (BERT's FFN). */
void op_gelu(float *x, int n);

/* x = cap · tanh(x / cap) over n elements (final logit softcapping). */
void op_softcap(float *x, int n, float cap);
/* x *= s over n elements. */
void op_scale(float *x, int n, float s);

/* dot(a, b) over n elements, summed in the order of ggml's AVX-512
 * ggml_vec_dot_f32 (llama.cpp's attention scores). */
float op_dot_f32(const float *a, const float *b, int n);
/* out[d] = sum_j p[j] * v[j * stride + d] for d < hd, j < n: attention's
 * weighted sum of values, summed as ggml does it (see ops.c). */
void op_attn_values(float *out, const float *p, const float *v, int64_t stride, int n, int hd);
/* The same sum in the order llama.cpp computes it for a batch of two or
 * more tokens, where the probabilities are contiguous and tinyBLAS takes
 * the product: one vector of 16 lanes, lane j % 16 an FMA chain over the
 * positions j, reduced as _mm512_reduce_add_ps does. */
void op_attn_values_batch(float *out, const float *p, const float *v, int64_t stride, int n, int hd);
/* y += x over n elements. */
void op_add(float *y, const float *x, int n);

#endif
