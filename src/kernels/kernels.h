/*
 * kernels.h — the one dispatch point for compute kernels.
 *
 * Matrix products follow llama.cpp's arithmetic: the activations are first
 * converted to the "vec_dot type" of the weight type (Q8_0/Q8_1 blocks for
 * the 32-element quants, Q8_K for K-quants and IQ4_XS, F16 for F16 weights,
 * BF16 for BF16 weights, F32 for F32 and for mote's FP8, see dot_fp8.h),
 * then each output is a dot product of
 * a weight row with an activation row in that form.
 *
 * kernels_get() returns the implementation chosen for this CPU (scalar is
 * the reference; SIMD versions slot in behind the same table and give its
 * results bit for bit, except the gemm slot for batches, which a table may
 * fill with its own summation order, and the streaming attention slot,
 * which agrees to float rounding). The table also holds the attention
 * kernels (attention.h), so one choice (MOTE_ISA) sets every kernel.
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
/* s[r] = dot(w + r * w_stride, x) for r = 0..3. */
typedef void (*vec_dot4_fn)(int64_t n, float *s, const void *w, size_t w_stride, const void *x);
/* Y[t * ldy + r] = dot(weight row r, activation row t) for r < nr, t < nt:
 * W rows w_stride bytes apart, converted activation rows x_stride bytes
 * apart, k elements each; Xf: the same activations as F32 rows of k (for
 * gemms that multiply those instead). nr <= GEMM_MR, nt <= GEMM_NT. */
typedef void (*gemm_fn)(int64_t k, const void *W, size_t w_stride, const void *X, size_t x_stride,
                        const float *Xf, float *Y, int64_t ldy, int nr, int nt);
/* Y[t * ldy + r] = vec_dot(k, weight row r, activation row t) bit for bit,
 * for r < nr, t < nt (any counts): W rows w_stride bytes apart, converted
 * activation rows x_stride bytes apart. (For a layout type, W is nr whole
 * groups of rows in its layout, w_stride the plain row's bytes.) */
typedef void (*vec_dot_rt_fn)(int64_t k, const void *W, size_t w_stride, const void *X, size_t x_stride,
                              float *Y, int64_t ldy, int nr, int nt);
#define GEMM_MR 128   /* most weight rows per gemm call */
#define GEMM_NT 128  /* most tokens per gemm call */
#define GEMM_MIN_N 4 /* batches of at least this many tokens use gemm */
/* Streaming attention over an F16 or Q8_0 KV cache (attention.h): the
 * partials of g query heads over n positions of one KV head. */
typedef void (*attn_chunk_fn)(const float *q, int64_t q_stride, int g, const void *k, const void *v,
                              size_t row_bytes, int n, int hd, float scale, float *part);
/* The two products of exact attention over an F32 cache, bit-identical
 * to ops.h's op_dot_f32 and op_attn_values: a position's score, and the
 * weighted sum of values. */
typedef struct attn_exact_ops {
    float (*dot)(const float *a, const float *b, int n);
    void (*values)(float *out, const float *p, const float *v, int64_t stride, int n, int hd);
    /* ops.h's op_attn_values_batch: the sum as llama.cpp computes it for a
     * token of a batch */
    void (*values_batch)(float *out, const float *p, const float *v, int64_t stride, int n, int hd);
} attn_exact_ops;
/* out[r] = sum over i < dim of q[i] * rows[r * dim + i], for r < n_rows:
 * one int8 query against n_rows int8 vectors of dim elements stored one
 * after another (the memory store's vector scan, dot_i8.h). Exact int32
 * for dim <= I8_DOT_DIM_MAX, so every table returns the scalar table's
 * results bit for bit. */
typedef void (*i8_rows_fn)(const int8_t *q, const int8_t *rows, size_t n_rows, size_t dim, int32_t *out);

typedef struct kernel_ops {
    const char *isa;                          /* "scalar", "avx2", ... */
    vec_dot_fn vec_dot[MOTE_TYPE_COUNT];      /* by weight type; NULL if unsupported */
    /* For the activation rows llama.cpp multiplies in groups of 4 (rows
     * 0 .. n - n % 4 of a batch): its repacked gemm kernels round in another
     * order than its single-row kernels for some types. NULL: vec_dot. */
    vec_dot_fn vec_dot_x4[MOTE_TYPE_COUNT];
    /* For every row of a batch of 8 rows or more (llama.cpp's IQ panel
     * gemm). NULL: none. */
    vec_dot_fn vec_dot_b8[MOTE_TYPE_COUNT];
    /* For every row of a batch of 2 rows or more, when k is a multiple of
     * 16 (BF16: 32) and m of 4 (llama.cpp's tinyBLAS for float weights).
     * NULL: none. */
    vec_dot_fn vec_dot_b2[MOTE_TYPE_COUNT];
    quantize_fn quantize[MOTE_TYPE_COUNT];    /* by activation (vec_dot) type */
    /* Four weight rows against one activation row, bit-identical to four
     * vec_dot calls (one row's blocks form a serial chain of FMAs; four
     * rows interleaved are four independent chains). NULL: vec_dot. */
    vec_dot4_fn vec_dot4[MOTE_TYPE_COUNT];
    /* Batches (n >= GEMM_MIN_N tokens): a whole tile product in its own
     * summation order (not llama.cpp's; see the table's source), or for
     * the types with a vec_dot_b2, in that slot's order (see batch_gemm).
     * NULL: the dot slots above. */
    gemm_fn gemm[MOTE_TYPE_COUNT];
    /* (For the layout types of tensor/layout.h, gemm[type] is called for
     * every n on whole groups of rows, and gives the plain type's results
     * for the same tokens bit for bit; matmul_alone calls it too where the
     * plain type's batch results are all vec_dot's (no batch slot), else
     * vec_dot_rt[type]; NULL: rows taken back to plain.) */
    /* The "alone gemm": several weight rows times several tokens, every
     * output bit-identical to vec_dot (the one-token chains side by side,
     * sharing the loads), for matmul_alone's batches of n >= 2. NULL: the
     * dot slots, which are its reference. */
    vec_dot_rt_fn vec_dot_rt[MOTE_TYPE_COUNT];
    /* The fewest tokens for which matmul_alone uses vec_dot_rt (0: 2):
     * where the four-row slot is as fast for fewer. */
    unsigned char vec_dot_rt_min[MOTE_TYPE_COUNT];
    /* g = silu(g) * u over n elements, bit-identical to the scalar op
     * (ops.c). NULL: the scalar op. */
    void (*swiglu)(float *g, const float *u, int n);
    /* Streaming attention by KV cache type (F16, Q8_0), for any head
     * dimension up to ATTN_HD_MAX; agrees with the scalar table's
     * reference kernels (attention.c) to float rounding, not bit for bit.
     * NULL: the scalar table's (attn_chunk_kernel). */
    attn_chunk_fn attn_chunk[MOTE_TYPE_COUNT];
    /* Exact attention over an F32 cache. NULL members: the scalar
     * table's, ops.h's functions (attn_exact_kernels). */
    attn_exact_ops attn_exact;
    /* int8 dot products of one query with many rows (dot_i8.h). NULL:
     * the scalar table's. */
    i8_rows_fn i8_rows;
} kernel_ops;

/* The activation type used with weights of type wtype (GGML_TYPE_COUNT if
 * wtype cannot be multiplied). */
uint32_t vec_dot_type(uint32_t wtype);
/* 1 if mote can multiply by (and dequantize) weights of this type. */
int kernels_supported(uint32_t wtype);

const kernel_ops *kernels_scalar(void);
/* The table for this process: the one named by the environment variable
 * MOTE_ISA ("scalar", "avx2", "avx512", "avx512fast", "neon") if this CPU can run
 * it, otherwise the best available. Chosen once, on the first call. */
const kernel_ops *kernels_get(void);
/* The table named isa if available, else the best available (never NULL). */
const kernel_ops *kernels_for_isa(const char *isa);
/* The tables this CPU can run, best first: stores up to cap of them in out
 * and returns how many there are (tests run every kernel at every level). */
int kernels_available(const kernel_ops **out, int cap);

/* Y[n][m] = X[n][k] · W[m][k]ᵀ. W: m rows of k elements of type wtype, rows
 * contiguous (ggml_row_size(wtype, k) bytes each), used in place. X, Y: F32,
 * row-major. scratch: matmul_scratch_size(wtype, k, n) bytes for the
 * converted activations, aligned at least as malloc aligns (0 bytes, and
 * scratch unused, for F32 weights). Work is split over the pool's threads
 * (pool may be NULL: the caller's thread does it all); any thread count
 * gives bit-identical results. Nothing is allocated.
 * Preconditions (checked by the model loader, not here): kernels_supported
 * (wtype), and k a multiple of the block sizes of wtype and its vec_dot type. */
size_t matmul_scratch_size(uint32_t wtype, int64_t k, int64_t n);
/* The dot product matmul uses for the first *rows activation rows of a
 * batch of n (vec_dot_b2, vec_dot_b8 or vec_dot_x4 by the rules above,
 * in that order of precedence; the remaining
 * rows use vec_dot). */
vec_dot_fn batch_dot(const kernel_ops *ops, uint32_t wtype, int64_t m, int64_t k, int64_t n,
                     int64_t *rows);
/* The gemm used for every output of a batch of n tokens (taking
 * precedence over batch_dot's slots), or NULL: ops->gemm[wtype] when
 * n >= GEMM_MIN_N, except for types with a vec_dot_b2 slot, whose gemm
 * computes that slot's order: those only where batch_dot picks it. */
gemm_fn batch_gemm(const kernel_ops *ops, uint32_t wtype, int64_t m, int64_t k, int64_t n);
void matmul(mote_pool *pool, const void *W, uint32_t wtype, int64_t m, int64_t k,
            const float *X, int64_t n, float *Y, void *scratch);
/* The same product with every token's outputs computed as a batch of that
 * token alone computes them (bit for bit), whatever n is: for the tokens
 * of several sequences that each bring one token (generation), which
 * share one pass over the weights. */
void matmul_alone(mote_pool *pool, const void *W, uint32_t wtype, int64_t m, int64_t k,
                  const float *X, int64_t n, float *Y, void *scratch);
/* matmul / matmul_alone with a given kernel table (tests compare tables with them). */
void matmul_alone_with(const kernel_ops *ops, mote_pool *pool, const void *W, uint32_t wtype,
                       int64_t m, int64_t k, const float *X, int64_t n, float *Y, void *scratch);
void matmul_with(const kernel_ops *ops, mote_pool *pool, const void *W, uint32_t wtype,
                 int64_t m, int64_t k, const float *X, int64_t n, float *Y, void *scratch);
/* matmul with a given table and a given split of the work (tuning.h; NULL:
 * the process's choice): results are matmul_with's, bit for bit, whatever
 * tu says (`mote tune` times the choices with it, tests hold it to that). */
struct kernel_tuning;
void matmul_tuned_with(const kernel_ops *ops, mote_pool *pool, const struct kernel_tuning *tu, const void *W,
                       uint32_t wtype, int64_t m, int64_t k, const float *X, int64_t n, float *Y, void *scratch);
/* Which way matmul computes a product of n tokens: gemm tiles, dot-slot
 * tiles, or (one to three tokens with a four-row slot) runs of rows in
 * quarters; says which of a kernel_tuning's fields matter for it. */
typedef enum matmul_path { MATMUL_QUARTERS, MATMUL_TILES, MATMUL_GEMM } matmul_path;
matmul_path matmul_path_of(const kernel_ops *ops, uint32_t wtype, int64_t m, int64_t k, int64_t n);

#endif
