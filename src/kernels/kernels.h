/*
 * kernels.h — the one dispatch point for compute kernels.
 *
 * Matrix products follow llama.cpp's arithmetic: the activations are first
 * converted to the "vec_dot type" of the weight type (Q8_0/Q8_1 blocks for
 * the 32-element quants, Q8_K for K-quants and IQ4_XS, F16 for F16 weights,
 * BF16 for BF16 weights, F32 for F32), then each output is a dot product of
 * a weight row with an activation row in that form.
 *
 * kernels_get() returns the implementation chosen for this CPU (scalar is
 * the reference; SIMD versions slot in behind the same table).
 */
#ifndef MOTE_KERNELS_KERNELS_H
#define MOTE_KERNELS_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "base/threadpool.h"
#include "gguf/ggml_type.h"

/* s = dot(w[0..n), x[0..n)) with w of the weight type and x of its vec_dot type. */
typedef void (*vec_dot_fn)(int64_t n, float *s, const void *w, const void *x);
/* Convert n floats to the activation format. */
typedef void (*quantize_fn)(const float *x, void *y, int64_t n);

typedef struct kernel_ops {
    const char *isa;                          /* "scalar", "avx2", ... */
    vec_dot_fn vec_dot[GGML_TYPE_COUNT];      /* by weight type; NULL if unsupported */
    quantize_fn quantize[GGML_TYPE_COUNT];    /* by activation (vec_dot) type */
} kernel_ops;

/* The activation type used with weights of type wtype (GGML_TYPE_COUNT if
 * wtype cannot be multiplied). */
uint32_t vec_dot_type(uint32_t wtype);
/* 1 if mote can multiply by (and dequantize) weights of this type. */
int kernels_supported(uint32_t wtype);

const kernel_ops *kernels_scalar(void);
const kernel_ops *kernels_get(void);

/* Y[n][m] = X[n][k] · W[m][k]ᵀ. W: m rows of k elements of type wtype, rows
 * contiguous (ggml_row_size(wtype, k) bytes each), used in place. X, Y: F32,
 * row-major. scratch: matmul_scratch_size(wtype, k, n) bytes for the
 * converted activations. Work is split over the pool's threads. */
size_t matmul_scratch_size(uint32_t wtype, int64_t k, int64_t n);
void matmul(mote_pool *pool, const void *W, uint32_t wtype, int64_t m, int64_t k,
            const float *X, int64_t n, float *Y, void *scratch);

#endif
