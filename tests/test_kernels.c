/*
 * test_kernels.c — the kernel tables and matmul.
 *
 * Every test loops over all kernel tables this CPU can run
 * (kernels_available; main prints which), so SIMD tables are held to the
 * same checks as the scalar reference:
 *   - each SIMD table's activation conversions and dot slots against the
 *     scalar table's, bit for bit (random rows, odd block counts);
 *   - each vec_dot against a double-precision dot of the dequantized weight
 *     row and the dequantized activation row, for odd block counts;
 *   - every SIMD table's kernels and quantizers against the scalar
 *     table's, bit for bit (the scalar code is the reference order);
 *   - matmul against a naive loop over vec_dot, bit for bit, with 1 and 3
 *     threads;
 *   - with ../shared, matmul with llama.cpp-quantized weights against the
 *     same product with the F32 model's weights.
 * Every table also has attention kernels (its own or the scalar table's);
 * test_kvcache holds each table's to the reference.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "base/threadpool.h"
#include "gguf/gguf.h"
#include "kernels/attention.h"
#include "kernels/kernels.h"
#include "tensor/quant.h"
#include "testutil.h"

#define MAX_TABLES 8

static const uint32_t weight_types[] = {
    GGML_TYPE_F32,  GGML_TYPE_F16,  GGML_TYPE_BF16, GGML_TYPE_Q4_0,   GGML_TYPE_Q4_1,
    GGML_TYPE_Q5_0, GGML_TYPE_Q5_1, GGML_TYPE_Q8_0, GGML_TYPE_Q2_K,   GGML_TYPE_Q3_K,
    GGML_TYPE_Q4_K, GGML_TYPE_Q5_K, GGML_TYPE_Q6_K, GGML_TYPE_IQ4_NL, GGML_TYPE_IQ4_XS,
    MOTE_TYPE_FP8,
};
#define N_WEIGHT_TYPES (sizeof weight_types / sizeof weight_types[0])

static int tables(const kernel_ops **out)
{
    int n = kernels_available(out, MAX_TABLES);
    assert_true(n >= 1 && n <= MAX_TABLES);
    return n;
}

static void fill_normal(float *x, int64_t n, uint64_t seed)
{
    uint64_t s = seed;
    for (int64_t i = 0; i < n; i++) x[i] = test_rng_normal(&s);
}

/* Quantize n floats to type t (F32: copy). */
static void to_type(uint32_t t, const float *x, void *out, int64_t n)
{
    assert_int_equal(quantize_row(t, x, out, n), MOTE_OK);
}

/* ------------------------------------------------------------------------
 * Types and tables
 * ---------------------------------------------------------------------- */

static void test_vec_dot_type(void **state)
{
    (void)state;
    static const struct { uint32_t w, x; } map[] = {
        {GGML_TYPE_F32, GGML_TYPE_F32},     {GGML_TYPE_F16, GGML_TYPE_F16},
        {GGML_TYPE_BF16, GGML_TYPE_BF16},   {GGML_TYPE_Q4_0, GGML_TYPE_Q8_0},
        {GGML_TYPE_Q5_0, GGML_TYPE_Q8_0},   {GGML_TYPE_Q8_0, GGML_TYPE_Q8_0},
        {GGML_TYPE_IQ4_NL, GGML_TYPE_Q8_0}, {GGML_TYPE_Q4_1, GGML_TYPE_Q8_1},
        {GGML_TYPE_Q5_1, GGML_TYPE_Q8_1},   {GGML_TYPE_Q2_K, GGML_TYPE_Q8_K},
        {GGML_TYPE_Q3_K, GGML_TYPE_Q8_K},   {GGML_TYPE_Q4_K, GGML_TYPE_Q8_K},
        {GGML_TYPE_Q5_K, GGML_TYPE_Q8_K},   {GGML_TYPE_Q6_K, GGML_TYPE_Q8_K},
        {GGML_TYPE_IQ4_XS, GGML_TYPE_Q8_K}, {MOTE_TYPE_FP8, GGML_TYPE_F32},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        assert_int_equal(vec_dot_type(map[i].w), map[i].x);
        assert_true(kernels_supported(map[i].w));
    }
    int n = 0;
    for (uint32_t t = 0; t < MOTE_TYPE_COUNT + 3; t++) n += kernels_supported(t);
    assert_int_equal(n, N_WEIGHT_TYPES + 5); /* and the stored layouts Q8_0_R16, Q4_0_R16, IQ4_NL_R16, Q4_K_R16,
                                                Q6_K_R16 (test_layout) */
    assert_int_equal(vec_dot_type(GGML_TYPE_IQ2_XXS), GGML_TYPE_COUNT);
    assert_int_equal(vec_dot_type(GGML_TYPE_Q8_K), GGML_TYPE_COUNT);
    assert_int_equal(vec_dot_type(12345), GGML_TYPE_COUNT);
    assert_false(kernels_supported(GGML_TYPE_Q8_1));
    assert_false(kernels_supported(GGML_TYPE_TQ2_0));
}

static void test_tables_complete(void **state)
{
    (void)state;
    const kernel_ops *t[MAX_TABLES];
    int n = tables(t);
    assert_ptr_equal(kernels_for_isa(NULL), t[0]);
    assert_ptr_equal(kernels_for_isa("no-such-isa"), t[0]);
    assert_ptr_equal(kernels_for_isa("scalar"), kernels_scalar());
    const kernel_ops *got = kernels_get();
    int found = 0, has_scalar = 0;
    for (int i = 0; i < n; i++) {
        found |= t[i] == got;
        has_scalar |= t[i] == kernels_scalar();
        assert_non_null(t[i]->isa);
        assert_ptr_equal(kernels_for_isa(t[i]->isa), t[i]);
        for (size_t w = 0; w < N_WEIGHT_TYPES; w++) {
            uint32_t wt = weight_types[w];
            if (!t[i]->vec_dot[wt] || !t[i]->quantize[vec_dot_type(wt)])
                fail_msg("table %s lacks %s", t[i]->isa, ggml_type_name(wt));
        }
        /* attention: streaming kernels for the F16 and Q8_0 caches only,
         * and the F32 cache's exact products */
        assert_non_null(attn_chunk_kernel(GGML_TYPE_F16, t[i]));
        assert_non_null(attn_chunk_kernel(GGML_TYPE_Q8_0, t[i]));
        assert_null(attn_chunk_kernel(GGML_TYPE_F32, t[i]));
        assert_null(attn_chunk_kernel(GGML_TYPE_COUNT, t[i]));
        const attn_exact_ops exact = attn_exact_kernels(t[i]);
        assert_non_null(exact.dot);
        assert_non_null(exact.values);
    }
    /* the scalar table fills its attention slots (a NULL slot elsewhere
     * means the scalar table's) */
    const kernel_ops *ref = kernels_scalar();
    assert_non_null(ref->attn_chunk[GGML_TYPE_F16]);
    assert_non_null(ref->attn_chunk[GGML_TYPE_Q8_0]);
    assert_non_null(ref->attn_exact.dot);
    assert_non_null(ref->attn_exact.values);
    assert_true(found);
    assert_true(has_scalar);
    const char *env = getenv("MOTE_ISA");
    if (env && kernels_for_isa(env) != t[0]) assert_string_equal(got->isa, env);
}

/* ------------------------------------------------------------------------
 * vec_dot against a double-precision reference
 * ---------------------------------------------------------------------- */

/* One weight row of nb blocks: |vec_dot - exact dot of the dequantized rows|
 * must stay within a relative 1e-5 of sum |w_i x_i|. */
static void check_vec_dot(const kernel_ops *ops, uint32_t wt, int nb, uint64_t seed)
{
    const uint32_t xt = vec_dot_type(wt);
    const ggml_type_traits *tr = ggml_type_get(wt);
    /* float types have block size 1: use 32*nb + nb elements (odd lengths) */
    const int64_t k = tr->block_size == 1 ? 33 * nb : (int64_t)tr->block_size * nb;
    float *w = malloc((size_t)k * sizeof *w), *x = malloc((size_t)k * sizeof *x);
    float *wd = malloc((size_t)k * sizeof *wd), *xd = malloc((size_t)k * sizeof *xd);
    void *wq = malloc(ggml_row_size(wt, k)), *xq = malloc(ggml_row_size(xt, k));
    assert_true(w && x && wd && xd && wq && xq);
    fill_normal(w, k, seed);
    fill_normal(x, k, seed ^ 0xabcdef);
    /* block-varying magnitudes and a few outliers */
    for (int64_t i = 0; i < k; i++) w[i] *= 0.01f * (float)(1 + (i / 32) % 5);
    for (int64_t i = 0; i < k; i += 97) x[i] *= 20.0f;
    to_type(wt, w, wq, k);
    ops->quantize[xt](x, xq, k);
    assert_int_equal(dequantize_row(wt, wq, wd, k), MOTE_OK);
    assert_int_equal(dequantize_row(xt, xq, xd, k), MOTE_OK);
    double ref = 0, mag = 0;
    for (int64_t i = 0; i < k; i++) {
        ref += (double)wd[i] * xd[i];
        mag += fabs((double)wd[i] * xd[i]);
    }
    /* Q8_1's min term uses s = d * sum(q) rounded to F16, not the exact
     * sum of the dequantized activations: allow m * s * 2^-11 per block */
    double tol = 1e-5 * mag + 1e-30;
    if (xt == GGML_TYPE_Q8_1) {
        const block_q8_1 *xb = xq;
        for (int64_t b = 0; b < k / QK8_1; b++) {
            const mote_f16 m = wt == GGML_TYPE_Q4_1 ? ((const block_q4_1 *)wq)[b].m
                                                     : ((const block_q5_1 *)wq)[b].m;
            tol += fabs((double)fp16_to_fp32(m) * fp16_to_fp32(xb[b].s)) * 0x1p-11;
        }
    }
    /* both orders of summation, where the table has two */
    for (int v = 0; v < 4; v++) {
        vec_dot_fn dot = v == 3 ? ops->vec_dot_b2[wt] : v == 2 ? ops->vec_dot_b8[wt] : v ? ops->vec_dot_x4[wt] : ops->vec_dot[wt];
        if (!dot) continue;
        /* tinyBLAS's order needs whole vectors */
        if (v == 3 && k % (wt == GGML_TYPE_BF16 ? 32 : 16) != 0) continue;
        float s = NAN;
        dot(k, &s, wq, xq);
        if (!(fabs(s - ref) <= tol))
            fail_msg("%s %s, %d blocks: vec_dot%s %.9g, reference %.9g (magnitude %g)", ops->isa,
                     ggml_type_name(wt), nb, v == 3 ? "_b2" : v == 2 ? "_b8" : v ? "_x4" : "", s, ref, mag);
    }
    free(w), free(x), free(wd), free(xd), free(wq), free(xq);
}

static void test_vec_dot_matches_double(void **state)
{
    (void)state;
    const kernel_ops *t[MAX_TABLES];
    int n = tables(t);
    static const int nbs[] = {1, 3, 7, 13, 32}; /* 32: float rows of 33 * 32 (whole vectors) */
    for (int i = 0; i < n; i++)
        for (size_t w = 0; w < N_WEIGHT_TYPES; w++)
            for (size_t b = 0; b < sizeof nbs / sizeof nbs[0]; b++)
                for (uint64_t seed = 1; seed <= 3; seed++)
                    check_vec_dot(t[i], weight_types[w], nbs[b], seed * 1000 + w * 10 + b);
}

/* ------------------------------------------------------------------------
 * SIMD tables against the scalar reference, bit for bit
 * ---------------------------------------------------------------------- */

/* The dot slots of a table, by index: vec_dot, vec_dot_x4, vec_dot_b8, vec_dot_b2. */
static vec_dot_fn slot(const kernel_ops *ops, int v, uint32_t wt)
{
    return v == 0 ? ops->vec_dot[wt] : v == 1 ? ops->vec_dot_x4[wt] : v == 2 ? ops->vec_dot_b8[wt] : ops->vec_dot_b2[wt];
}

/* One row of nb blocks (float types: 33 * nb elements, and 64 * nb for
 * whole vectors): the table's activation conversion gives the scalar
 * table's bytes, and each of its dot slots the scalar slot's float, bit
 * for bit. */
static void check_bitwise(const kernel_ops *ops, uint32_t wt, int64_t k, uint64_t seed)
{
    const kernel_ops *ref = kernels_scalar();
    const uint32_t xt = vec_dot_type(wt);
    const size_t xrow = ggml_row_size(xt, k);
    float *w = malloc((size_t)k * sizeof *w), *x = malloc((size_t)k * sizeof *x);
    void *wq = malloc(ggml_row_size(wt, k)), *xq = malloc(xrow), *xr = malloc(xrow);
    assert_true(w && x && wq && xq && xr);
    fill_normal(w, k, seed);
    fill_normal(x, k, seed ^ 0x5555);
    for (int64_t i = 0; i < k; i++) w[i] *= 0.02f * (float)(1 + (i / 32) % 7);
    for (int64_t i = 0; i < k; i += 61) x[i] *= 30.0f;
    to_type(wt, w, wq, k);
    ref->quantize[xt](x, xr, k);
    ops->quantize[xt](x, xq, k);
    if (memcmp(xq, xr, xrow) != 0)
        fail_msg("%s: %s activations (k=%lld) differ from scalar", ops->isa, ggml_type_name(xt), (long long)k);
    for (int v = 0; v < 4; v++) {
        vec_dot_fn f = slot(ops, v, wt), g = slot(ref, v, wt);
        if (!f != !g) fail_msg("%s %s: slot %d present in one table only", ops->isa, ggml_type_name(wt), v);
        if (!f) continue;
        if (v == 3 && k % (wt == GGML_TYPE_BF16 ? 32 : 16) != 0) continue;
        float a = NAN, b = NAN;
        f(k, &a, wq, xr);
        g(k, &b, wq, xr);
        if (memcmp(&a, &b, sizeof a) != 0)
            fail_msg("%s %s k=%lld slot %d: %.9g, scalar %.9g", ops->isa, ggml_type_name(wt), (long long)k, v, a, b);
    }
    /* four rows at once: four different rows, each as its vec_dot */
    if (ops->vec_dot4[wt]) {
        const size_t wrow = ggml_row_size(wt, k);
        uint8_t *w4 = malloc(4 * wrow);
        assert_non_null(w4);
        for (int r = 0; r < 4; r++) {
            fill_normal(w, k, seed * 7 + r);
            to_type(wt, w, w4 + r * wrow, k);
        }
        float got[4], want[4];
        ops->vec_dot4[wt](k, got, w4, wrow, xr);
        for (int r = 0; r < 4; r++) ref->vec_dot[wt](k, &want[r], w4 + r * wrow, xr);
        if (memcmp(got, want, sizeof got) != 0)
            fail_msg("%s %s k=%lld: vec_dot4 differs from scalar vec_dot", ops->isa, ggml_type_name(wt), (long long)k);
        free(w4);
    }
    free(w), free(x), free(wq), free(xq), free(xr);
}

static void test_simd_bitwise_scalar(void **state)
{
    (void)state;
    const kernel_ops *t[MAX_TABLES];
    int n = tables(t);
    static const int nbs[] = {1, 3, 7, 13, 33};
    for (int i = 0; i < n; i++) {
        if (t[i] == kernels_scalar()) continue;
        for (size_t w = 0; w < N_WEIGHT_TYPES; w++) {
            const uint32_t wt = weight_types[w];
            const int64_t bs = ggml_type_get(wt)->block_size;
            for (size_t b = 0; b < sizeof nbs / sizeof nbs[0]; b++)
                for (uint64_t seed = 1; seed <= 2; seed++) {
                    if (bs == 1) {
                        check_bitwise(t[i], wt, 33 * nbs[b], seed * 100 + b);
                        check_bitwise(t[i], wt, 64 * nbs[b], seed * 100 + b);
                        check_bitwise(t[i], wt, 64 * nbs[b] + 16, seed * 100 + b);
                    } else {
                        check_bitwise(t[i], wt, bs * nbs[b], seed * 100 + b);
                    }
                }
        }
    }
}

/* Zero weights or zero activations give exactly zero. */
static void test_vec_dot_zero(void **state)
{
    (void)state;
    const kernel_ops *t[MAX_TABLES];
    int n = tables(t);
    enum { K = 3 * QK_K };
    static float z[K], x[K];
    static uint8_t wq[K * 4], xq[K * 4], zq[K * 4];
    fill_normal(x, K, 5);
    for (int i = 0; i < n; i++)
        for (size_t w = 0; w < N_WEIGHT_TYPES; w++) {
            const uint32_t wt = weight_types[w], xt = vec_dot_type(wt);
            float s = NAN;
            to_type(wt, z, zq, K);
            t[i]->quantize[xt](x, xq, K);
            t[i]->vec_dot[wt](K, &s, zq, xq);
            assert_true(s == 0.0f);
            to_type(wt, x, wq, K);
            t[i]->quantize[xt](z, zq, K);
            s = NAN;
            t[i]->vec_dot[wt](K, &s, wq, zq);
            assert_true(s == 0.0f);
        }
}

/* ------------------------------------------------------------------------
 * SIMD tables against the scalar table, bit for bit
 * ---------------------------------------------------------------------- */

static const uint32_t act_types[] = {GGML_TYPE_F32,  GGML_TYPE_F16,  GGML_TYPE_BF16,
                                    GGML_TYPE_Q8_0, GGML_TYPE_Q8_1, GGML_TYPE_Q8_K};

/* The same slots filled, and every dot product of random rows (odd block
 * counts, tails of the float types) equal to the scalar one. */
static void check_dots_like_scalar(const kernel_ops *ops, uint32_t wt, int nb, uint64_t seed)
{
    const kernel_ops *ref = kernels_scalar();
    const uint32_t xt = vec_dot_type(wt);
    const ggml_type_traits *tr = ggml_type_get(wt);
    const int64_t k = tr->block_size == 1 ? 33 * nb + nb % 7 : (int64_t)tr->block_size * nb;
    float *w = malloc((size_t)k * sizeof *w), *x = malloc((size_t)k * sizeof *x);
    void *wq = malloc(ggml_row_size(wt, k)), *xq = malloc(ggml_row_size(xt, k));
    assert_true(w && x && wq && xq);
    fill_normal(w, k, seed);
    fill_normal(x, k, seed + 1);
    for (int64_t i = 0; i < k; i++) w[i] *= (float)(1 + (i / 32) % 7);
    to_type(wt, w, wq, k);
    ref->quantize[xt](x, xq, k);
    for (int v = 0; v < 4; v++) {
        vec_dot_fn got = v == 3 ? ops->vec_dot_b2[wt] : v == 2 ? ops->vec_dot_b8[wt] : v ? ops->vec_dot_x4[wt] : ops->vec_dot[wt];
        vec_dot_fn want = v == 3 ? ref->vec_dot_b2[wt] : v == 2 ? ref->vec_dot_b8[wt] : v ? ref->vec_dot_x4[wt] : ref->vec_dot[wt];
        if (!got != !want) fail_msg("%s %s: slot %d filled differently from scalar", ops->isa, ggml_type_name(wt), v);
        if (!got) continue;
        float a = NAN, b = NAN;
        got(k, &a, wq, xq);
        want(k, &b, wq, xq);
        if (memcmp(&a, &b, sizeof a) != 0)
            fail_msg("%s %s k=%lld slot %d: %.9g, scalar %.9g", ops->isa, ggml_type_name(wt), (long long)k, v, a, b);
    }
    free(w), free(x), free(wq), free(xq);
}

/* The activation quantizers give the scalar bytes, also for zero blocks,
 * ties, huge and tiny values. */
static void check_quantize_like_scalar(const kernel_ops *ops, uint32_t xt, uint64_t seed)
{
    const kernel_ops *ref = kernels_scalar();
    const int64_t k = 3 * QK_K + (xt == GGML_TYPE_F32 || xt == GGML_TYPE_F16 || xt == GGML_TYPE_BF16 ? 5 : 0);
    float *x = malloc((size_t)k * sizeof *x);
    uint8_t *a = malloc(ggml_row_size(xt, k)), *b = malloc(ggml_row_size(xt, k));
    assert_true(x && a && b);
    fill_normal(x, k, seed);
    for (int64_t i = 0; i < QK_K; i++) x[i] = 0.0f;                  /* zero blocks */
    for (int64_t i = QK_K; i < QK_K + 64; i++) x[i] = (float)(i % 5) - 2.5f; /* ties */
    x[QK_K + 70] = 70000.0f;                                        /* F16 overflow */
    x[QK_K + 71] = 3e-6f;                                           /* F16 subnormal */
    x[QK_K + 72] = -65519.0f;
    x[2 * QK_K + 3] = 1e-30f;
    memset(a, 0x55, ggml_row_size(xt, k));
    memset(b, 0xaa, ggml_row_size(xt, k));
    ops->quantize[xt](x, a, k);
    ref->quantize[xt](x, b, k);
    if (memcmp(a, b, ggml_row_size(xt, k)) != 0)
        fail_msg("%s: quantize to %s differs from scalar", ops->isa, ggml_type_name(xt));
    free(x), free(a), free(b);
}

static void test_tables_match_scalar(void **state)
{
    (void)state;
    const kernel_ops *t[MAX_TABLES];
    int n = tables(t);
    static const int nbs[] = {1, 2, 3, 5, 8, 13, 32};
    for (int i = 0; i < n; i++) {
        if (t[i] == kernels_scalar()) continue;
        for (size_t w = 0; w < N_WEIGHT_TYPES; w++)
            for (size_t b = 0; b < sizeof nbs / sizeof nbs[0]; b++)
                for (uint64_t seed = 1; seed <= 4; seed++)
                    check_dots_like_scalar(t[i], weight_types[w], nbs[b], seed * 7919 + w * 31 + b);
        for (size_t a = 0; a < sizeof act_types / sizeof act_types[0]; a++)
            for (uint64_t seed = 1; seed <= 4; seed++) check_quantize_like_scalar(t[i], act_types[a], seed);
    }
}

/* ------------------------------------------------------------------------
 * matmul
 * ---------------------------------------------------------------------- */

/* Y = X W^T by a plain loop over vec_dot (the activations converted with
 * the table's quantizer, row by row); with the batch variants where the
 * table has them: vec_dot_b8 for all rows of a batch of 8 or more, else
 * vec_dot_x4 for rows 0 .. n - n % 4. */
static void naive_matmul(const kernel_ops *ops, const void *W, uint32_t wt, int64_t m, int64_t k,
                         const float *X, int64_t n, float *Y)
{
    const uint32_t xt = vec_dot_type(wt);
    const size_t wrow = ggml_row_size(wt, k), xrow = ggml_row_size(xt, k);
    uint8_t *xq = malloc(xrow);
    assert_non_null(xq);
    for (int64_t t = 0; t < n; t++) {
        ops->quantize[xt](X + t * k, xq, k);
        vec_dot_fn dot = ops->vec_dot[wt];
        if (ops->vec_dot_b2[wt] && n >= 2 && k % (wt == GGML_TYPE_BF16 ? 32 : 16) == 0 && m % 4 == 0) dot = ops->vec_dot_b2[wt];
        else if (ops->vec_dot_b8[wt] && n >= 8) dot = ops->vec_dot_b8[wt];
        else if (ops->vec_dot_x4[wt] && t < n - n % 4) dot = ops->vec_dot_x4[wt];
        for (int64_t r = 0; r < m; r++) dot(k, &Y[t * m + r], (const uint8_t *)W + r * wrow, xq);
    }
    free(xq);
}

/* The gemm slot's products (own summation order): each output within a
 * relative 2e-5 of sum |w x| of the exact product of the dequantized
 * weight row and the table's converted activation row (Q8_1: plus the
 * rounding of its F16 sum, as in check_vec_dot). */
static void check_gemm_close(const kernel_ops *ops, const void *Wq, uint32_t wt, int64_t m, int64_t k,
                             const float *X, int64_t n, const float *Y)
{
    const uint32_t xt = vec_dot_type(wt);
    const size_t wrow = ggml_row_size(wt, k), xrow = ggml_row_size(xt, k);
    float *wd = malloc((size_t)k * sizeof *wd), *xd = malloc((size_t)k * sizeof *xd);
    uint8_t *xq = malloc(xrow);
    assert_true(wd && xd && xq);
    for (int64_t t = 0; t < n; t++) {
        ops->quantize[xt](X + t * k, xq, k);
        assert_int_equal(dequantize_row(xt, xq, xd, k), MOTE_OK);
        for (int64_t r = 0; r < m; r++) {
            const uint8_t *w = (const uint8_t *)Wq + r * wrow;
            assert_int_equal(dequantize_row(wt, w, wd, k), MOTE_OK);
            double ref = 0, mag = 0;
            for (int64_t i = 0; i < k; i++) {
                ref += (double)wd[i] * xd[i];
                mag += fabs((double)wd[i] * xd[i]);
            }
            double tol = 2e-5 * mag + 1e-30;
            if (xt == GGML_TYPE_Q8_1)
                for (int64_t b = 0; b < k / QK8_1; b++) {
                    const mote_f16 mm = wt == GGML_TYPE_Q4_1 ? ((const block_q4_1 *)w)[b].m : ((const block_q5_1 *)w)[b].m;
                    tol += fabs((double)fp16_to_fp32(mm) * fp16_to_fp32(((const block_q8_1 *)xq)[b].s)) * 0x1p-11;
                }
            const float y = Y[t * m + r];
            if (!(fabs(y - ref) <= tol))
                fail_msg("%s %s gemm m=%lld k=%lld n=%lld, output (%lld, %lld): %.9g, reference %.9g (magnitude %g)",
                         ops->isa, ggml_type_name(wt), (long long)m, (long long)k, (long long)n, (long long)t,
                         (long long)r, y, ref, mag);
        }
    }
    free(wd), free(xd), free(xq);
}

/* Types whose gemm in table ops follows the scalar table's batch order
 * (so matmul gives the scalar results bit for bit): one float chain of
 * exact block sums (Q4_0, IQ4_NL), llama.cpp's two chains (Q4_K, Q2_K),
 * ggml's 8 lanes (Q8_0, Q5_0, Q4_1, Q5_1, Q6_K), or tinyBLAS's lanes (F32,
 * F16, BF16; batch_gemm gives their gemm only for the shapes where the
 * scalar batch uses tinyBLAS, m % 4 == 0 and k % 16 == 0, BF16
 * k % 32 == 0; the other shapes take the dot slots, checked bit for bit
 * against vec_dot), FP8 (its gemm computes each output as its vec_dot).
 * avx512fast's BF16 gemm uses vdpbf16ps, the same order
 * but with denormals flushed (and on CPUs other than the goldens' perhaps
 * other roundings): only close. */
static int gemm_exact(const kernel_ops *ops, uint32_t wt)
{
    if (wt == GGML_TYPE_BF16) return strcmp(ops->isa, "avx512fast") != 0;
    return wt == GGML_TYPE_Q4_0 || wt == GGML_TYPE_IQ4_NL || wt == GGML_TYPE_Q4_K || wt == GGML_TYPE_Q2_K ||
           wt == GGML_TYPE_Q6_K || wt == GGML_TYPE_F32 || wt == GGML_TYPE_F16 || wt == GGML_TYPE_Q8_0 ||
           wt == GGML_TYPE_Q5_0 || wt == GGML_TYPE_Q4_1 || wt == GGML_TYPE_Q5_1 || wt == MOTE_TYPE_FP8;
}

/* matmul against the plain loop over vec_dot (bit for bit), or where the
 * table has a gemm for the batch, against the exact product (close) — and
 * bit-identical with 1 and 3 threads and without a pool. Shapes cover
 * partial row and token tiles (m = 68, 70, n = 130: several gemm calls)
 * and, for 32-element blocks, a partial reduction chunk (k = 608). For the
 * float types m = 36, 68 with k = 512, 592, 608 are tinyBLAS shapes (BF16:
 * not k = 592), m = 1, 7, 33, 70 or k = 600 are not. */
static void test_matmul_matches_vec_dot(void **state)
{
    (void)state;
    const kernel_ops *t[MAX_TABLES];
    int nt = tables(t);
    mote_pool *pool1 = NULL, *pool3 = NULL;
    assert_int_equal(pool_create(1, &pool1), MOTE_OK);
    assert_int_equal(pool_create(3, &pool3), MOTE_OK);
    enum { MMAX = 70, NMAX = 130, KMAX = 2 * QK_K + 96 };
    static const int64_t ms[] = {1, 7, 33, 36, 68, MMAX}, ns[] = {1, 3, 17, NMAX};
    static const int64_t ks[] = {2 * QK_K, KMAX, 592, 600};
    float *W = malloc(MMAX * KMAX * sizeof *W), *X = malloc(NMAX * KMAX * sizeof *X);
    float *Yref = malloc(MMAX * NMAX * sizeof *Yref), *Y = malloc(MMAX * NMAX * sizeof *Y);
    float *Y0 = malloc(MMAX * NMAX * sizeof *Y0);
    assert_true(W && X && Yref && Y && Y0);
    fill_normal(W, MMAX * KMAX, 11);
    fill_normal(X, NMAX * KMAX, 12);
    for (int ti = 0; ti < nt; ti++) {
        const kernel_ops *ops = t[ti];
        for (size_t w = 0; w < N_WEIGHT_TYPES; w++) {
            const uint32_t wt = weight_types[w];
            for (size_t kk = 0; kk < sizeof ks / sizeof ks[0]; kk++) {
                const int64_t k = ks[kk];
                if (k % ggml_type_get(wt)->block_size || k % ggml_type_get(vec_dot_type(wt))->block_size) continue;
                const size_t wrow = ggml_row_size(wt, k);
                uint8_t *Wq = malloc(MMAX * wrow);
                assert_non_null(Wq);
                for (int r = 0; r < MMAX; r++) to_type(wt, W + r * k, Wq + r * wrow, k);
                for (size_t a = 0; a < sizeof ms / sizeof ms[0]; a++) {
                    for (size_t b = 0; b < sizeof ns / sizeof ns[0]; b++) {
                        const int64_t m = ms[a], n = ns[b];
                        /* the big shapes once per type is enough for the scalar table */
                        if (ops == kernels_scalar() && (m == MMAX || n == NMAX) && kk) continue;
                        const int gemm = batch_gemm(ops, wt, m, k, n) != NULL;
                        if (!gemm) naive_matmul(ops, Wq, wt, m, k, X, n, Yref);
                        /* exactly the advertised scratch: ASan catches overruns */
                        const size_t ss = matmul_scratch_size(wt, k, n);
                        void *scratch = ss ? malloc(ss) : NULL;
                        mote_pool *pools[3] = {NULL, pool1, pool3};
                        for (int p = 0; p < 3; p++) {
                            for (int64_t i = 0; i < m * n; i++) Y[i] = NAN;
                            matmul_with(ops, pools[p], Wq, wt, m, k, X, n, Y, scratch);
                            if (gemm && p == 0) {
                                check_gemm_close(ops, Wq, wt, m, k, X, n, Y);
                                if (gemm_exact(ops, wt)) {
                                    naive_matmul(kernels_scalar(), Wq, wt, m, k, X, n, Yref);
                                    if (memcmp(Y, Yref, (size_t)(m * n) * sizeof *Y) != 0)
                                        fail_msg("%s %s m=%lld k=%lld n=%lld: gemm differs from the scalar "
                                                 "batch order", ops->isa, ggml_type_name(wt), (long long)m,
                                                 (long long)k, (long long)n);
                                }
                                memcpy(Yref, Y, (size_t)(m * n) * sizeof *Y);
                            }
                            if (memcmp(Y, Yref, (size_t)(m * n) * sizeof *Y) != 0)
                                fail_msg("%s %s m=%lld k=%lld n=%lld pool %d: matmul differs from %s", ops->isa,
                                         ggml_type_name(wt), (long long)m, (long long)k, (long long)n, p,
                                         gemm ? "the single-threaded gemm" : "vec_dot");
                        }
                        free(scratch);
                    }
                }
                free(Wq);
            }
        }
    }
    free(W), free(X), free(Yref), free(Y), free(Y0);
    pool_free(pool1);
    pool_free(pool3);
}

/* A float type's exact gemm called on its own, for tiles of any shape
 * (nr not a multiple of 4 too, which matmul never passes it; every
 * remainder of the token blocks): each output is the scalar vec_dot_b2 of
 * its row and token, whatever the tile. */
static void check_float_gemm_tiles(const kernel_ops *ops, uint32_t wt)
{
    enum { K = 96, LDY = GEMM_MR + 3 };
    static const int nrs[] = {1, 3, 7, GEMM_MR}, nts[] = {1, 2, 3, 4, 5, 6, 11, GEMM_NT};
    const uint32_t xt = vec_dot_type(wt);
    const size_t wrow = ggml_row_size(wt, K), xrow = ggml_row_size(xt, K);
    float *w = malloc(GEMM_MR * K * sizeof *w), *x = malloc(GEMM_NT * K * sizeof *x);
    float *Y = malloc(GEMM_NT * LDY * sizeof *Y);
    uint8_t *Wq = malloc(GEMM_MR * wrow), *Xq = malloc(GEMM_NT * xrow);
    assert_true(w && x && Y && Wq && Xq);
    fill_normal(w, GEMM_MR * K, 21);
    fill_normal(x, GEMM_NT * K, 22);
    for (int r = 0; r < GEMM_MR; r++) to_type(wt, w + r * K, Wq + r * wrow, K);
    for (int t = 0; t < GEMM_NT; t++) kernels_scalar()->quantize[xt](x + t * K, Xq + t * xrow, K);
    for (size_t a = 0; a < sizeof nrs / sizeof nrs[0]; a++)
        for (size_t b = 0; b < sizeof nts / sizeof nts[0]; b++) {
            const int nr = nrs[a], nt = nts[b];
            for (int i = 0; i < GEMM_NT * LDY; i++) Y[i] = NAN;
            ops->gemm[wt](K, Wq, wrow, Xq, xrow, x, Y, LDY, nr, nt);
            for (int t = 0; t < GEMM_NT; t++)
                for (int r = 0; r < LDY; r++) {
                    const float y = Y[t * LDY + r];
                    if (t >= nt || r >= nr) {
                        if (!isnan(y)) fail_msg("%s %s gemm nr=%d nt=%d wrote (%d, %d)", ops->isa, ggml_type_name(wt), nr, nt, t, r);
                        continue;
                    }
                    float want;
                    kernels_scalar()->vec_dot_b2[wt](K, &want, Wq + r * wrow, Xq + t * xrow);
                    if (memcmp(&y, &want, sizeof y) != 0)
                        fail_msg("%s %s gemm nr=%d nt=%d output (%d, %d): %.9g, vec_dot_b2 %.9g", ops->isa,
                                 ggml_type_name(wt), nr, nt, t, r, y, want);
                }
        }
    free(w), free(x), free(Y), free(Wq), free(Xq);
}

/* batch_gemm gives a float type's gemm (tinyBLAS's order) exactly where
 * batch_dot picks vec_dot_b2: n >= GEMM_MIN_N, m % 4 == 0, k % 16 == 0
 * (BF16: 32); any other gemm needs only n >= GEMM_MIN_N. And the exact
 * float gemms on odd tiles (check_float_gemm_tiles). */
static void test_batch_gemm_shapes(void **state)
{
    (void)state;
    const kernel_ops *t[MAX_TABLES];
    int nt = tables(t);
    static const uint32_t ft[] = {GGML_TYPE_F32, GGML_TYPE_F16, GGML_TYPE_BF16};
    for (int ti = 0; ti < nt; ti++) {
        const kernel_ops *ops = t[ti];
        for (size_t i = 0; i < sizeof ft / sizeof ft[0]; i++) {
            const uint32_t wt = ft[i];
            if (!ops->gemm[wt]) continue;
            assert_non_null(ops->vec_dot_b2[wt]);
            assert_ptr_equal(batch_gemm(ops, wt, 36, 512, GEMM_MIN_N), ops->gemm[wt]);
            assert_ptr_equal(batch_gemm(ops, wt, 36, 608, 200), ops->gemm[wt]);
            assert_null(batch_gemm(ops, wt, 36, 512, GEMM_MIN_N - 1));
            assert_null(batch_gemm(ops, wt, 70, 512, 17));
            assert_null(batch_gemm(ops, wt, 36, 600, 17));
            if (wt == GGML_TYPE_BF16) assert_null(batch_gemm(ops, wt, 36, 592, 17));
            else assert_ptr_equal(batch_gemm(ops, wt, 36, 592, 17), ops->gemm[wt]);
            if (gemm_exact(ops, wt)) check_float_gemm_tiles(ops, wt);
        }
        if (ops->gemm[GGML_TYPE_Q4_0]) assert_ptr_equal(batch_gemm(ops, GGML_TYPE_Q4_0, 7, 608, 17), ops->gemm[GGML_TYPE_Q4_0]);
    }
}

/* The exact K-quant gemms over long rows (several of the Q6_K gemm's
 * packed chunks, an odd number of super-blocks) and odd shapes: row
 * blocks and token blocks partly filled, batches with and without a tail
 * of n % 4 rows (Q4_K's two orders). Bit-identical to the scalar batch
 * loop. */
static void test_gemm_exact_long_rows(void **state)
{
    (void)state;
    const kernel_ops *t[MAX_TABLES];
    int nt = tables(t);
    enum { M = 37, K = 19 * QK_K, NMAX = 133 };
    static const uint32_t kt[] = {GGML_TYPE_Q2_K, GGML_TYPE_Q4_K, GGML_TYPE_Q6_K};
    static const int64_t ns[] = {4, 7, 23, NMAX};
    float *W = malloc((size_t)M * K * sizeof *W), *X = malloc((size_t)NMAX * K * sizeof *X);
    float *Y = malloc((size_t)M * NMAX * sizeof *Y), *Yref = malloc((size_t)M * NMAX * sizeof *Yref);
    void *scratch = malloc(matmul_scratch_size(GGML_TYPE_Q6_K, K, NMAX));
    assert_true(W && X && Y && Yref && scratch);
    fill_normal(W, (int64_t)M * K, 31);
    fill_normal(X, (int64_t)NMAX * K, 32);
    for (int64_t i = 0; i < (int64_t)M * K; i++) W[i] *= (float)(1 + (i / 16) % 5); /* varied group scales */
    for (size_t w = 0; w < sizeof kt / sizeof kt[0]; w++) {
        const uint32_t wt = kt[w];
        const size_t wrow = ggml_row_size(wt, K);
        uint8_t *Wq = malloc(M * wrow);
        assert_non_null(Wq);
        for (int r = 0; r < M; r++) to_type(wt, W + (int64_t)r * K, Wq + r * wrow, K);
        for (size_t b = 0; b < sizeof ns / sizeof ns[0]; b++) {
            const int64_t n = ns[b];
            naive_matmul(kernels_scalar(), Wq, wt, M, K, X, n, Yref);
            for (int i = 0; i < nt; i++) {
                if (!batch_gemm(t[i], wt, M, K, n) || !gemm_exact(t[i], wt)) continue;
                matmul_with(t[i], NULL, Wq, wt, M, K, X, n, Y, scratch);
                if (memcmp(Y, Yref, (size_t)(M * n) * sizeof *Y) != 0)
                    fail_msg("%s %s k=%d n=%lld: gemm differs from the scalar batch order", t[i]->isa,
                             ggml_type_name(wt), K, (long long)n);
            }
        }
        free(Wq);
    }
    free(W), free(X), free(Y), free(Yref), free(scratch);
}

/* matmul_alone: every token's outputs are those of a batch of that token
 * alone, bit for bit, for every table and weight type, whatever the batch
 * size (the product the forward pass gives tokens of different sequences
 * that each bring one), with and without a pool. */
static void test_matmul_alone(void **state)
{
    (void)state;
    const kernel_ops *t[MAX_TABLES];
    const int nt = tables(t);
    enum { M = 52, K = 2 * QK_K, NMAX = 37 };
    static const int64_t ns[] = {1, 3, 4, 9, NMAX};
    float *W = malloc((size_t)M * K * sizeof *W), *X = malloc((size_t)NMAX * K * sizeof *X);
    float *Y = malloc((size_t)M * NMAX * sizeof *Y), *Y1 = malloc((size_t)M * sizeof *Y1);
    void *scratch = malloc((size_t)NMAX * K * sizeof(float) * 2);
    mote_pool *pool;
    assert_int_equal(pool_create(2, &pool), MOTE_OK);
    assert_true(W && X && Y && Y1 && scratch);
    fill_normal(W, (int64_t)M * K, 41);
    fill_normal(X, (int64_t)NMAX * K, 42);
    for (size_t w = 0; w < N_WEIGHT_TYPES; w++) {
        const uint32_t wt = weight_types[w];
        const size_t wrow = ggml_row_size(wt, K);
        uint8_t *Wq = malloc(M * wrow);
        assert_non_null(Wq);
        for (int r = 0; r < M; r++) to_type(wt, W + (int64_t)r * K, Wq + r * wrow, K);
        for (int i = 0; i < nt; i++)
            for (size_t b = 0; b < sizeof ns / sizeof ns[0]; b++) {
                const int64_t n = ns[b];
                matmul_alone_with(t[i], b % 2 ? pool : NULL, Wq, wt, M, K, X, n, Y, scratch);
                for (int64_t row = 0; row < n; row++) {
                    matmul_with(t[i], NULL, Wq, wt, M, K, X + row * K, 1, Y1, scratch);
                    if (memcmp(Y + row * M, Y1, M * sizeof *Y1) != 0)
                        fail_msg("%s %s n=%lld: token %lld differs from a batch of it alone", t[i]->isa,
                                 ggml_type_name(wt), (long long)n, (long long)row);
                }
            }
        free(Wq);
    }
    pool_free(pool);
    free(W), free(X), free(Y), free(Y1), free(scratch);
}

/* The alone gemm (vec_dot_rt): every output bit-identical to the
 * table's vec_dot for that row and token, at every table that has one,
 * for every count of rows (1..13) and tokens (1..17), k with and without
 * a tail past the kernels' steps, and outputs written only where they
 * belong (ldy wider than the rows). Then matmul_alone with it, odd m and
 * n = 1..17, against one token at a time. */
static void test_vec_dot_rt(void **state)
{
    (void)state;
    const kernel_ops *t[MAX_TABLES];
    const int ntab = tables(t);
    enum { MR = 13, NT = 17, KMAX = 9 * QK_K, LDY = MR + 3 };
    float *W = malloc((size_t)MR * KMAX * sizeof *W), *X = malloc((size_t)NT * KMAX * sizeof *X);
    float *Y = malloc((size_t)NT * LDY * sizeof *Y), *Y1 = malloc((size_t)NT * LDY * sizeof *Y1);
    uint8_t *Wq = malloc((size_t)MR * KMAX * sizeof(float)), *Xq = malloc((size_t)NT * KMAX * sizeof(float));
    void *scratch = malloc((size_t)NT * KMAX * sizeof(float));
    mote_pool *pool;
    assert_int_equal(pool_create(2, &pool), MOTE_OK);
    assert_true(W && X && Y && Y1 && Wq && Xq && scratch);
    fill_normal(W, (int64_t)MR * KMAX, 51);
    fill_normal(X, (int64_t)NT * KMAX, 52);
    int tested = 0;
    for (size_t w = 0; w < N_WEIGHT_TYPES; w++) {
        const uint32_t wt = weight_types[w], vt = vec_dot_type(wt);
        /* block multiples of the type; the float types also odd k and
         * k % 64 != 0 */
        const int bw = ggml_type_get(wt)->block_size, bv = ggml_type_get(vt)->block_size;
        const int64_t blk = bw > bv ? bw : bv;
        const int64_t ks[] = {blk, 3 * blk, 9 * QK_K, blk == 1 ? 37 : 7 * blk, blk == 1 ? 200 : 9 * blk};
        for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
            const int64_t k = ks[ki];
            if (k > KMAX || k % blk) continue;
            const size_t wrow = ggml_row_size(wt, k), xrow = ggml_row_size(vt, k);
            for (int r = 0; r < MR; r++) to_type(wt, W + (int64_t)r * k, Wq + r * wrow, k);
            for (int i = 0; i < ntab; i++) {
                const vec_dot_rt_fn rt = t[i]->vec_dot_rt[wt];
                if (!rt) continue;
                tested++;
                for (int tk = 0; tk < NT; tk++) {
                    if (vt == GGML_TYPE_F32) memcpy(Xq + tk * xrow, X + (int64_t)tk * k, xrow);
                    else t[i]->quantize[vt](X + (int64_t)tk * k, Xq + tk * xrow, k);
                }
                for (int nr = 1; nr <= MR; nr++)
                    for (int n = 1; n <= NT; n++) {
                        for (int j = 0; j < NT * LDY; j++) Y[j] = Y1[j] = -1.0f;
                        rt(k, Wq, wrow, Xq, xrow, Y, LDY, nr, n);
                        for (int tk = 0; tk < n; tk++)
                            for (int r = 0; r < nr; r++)
                                t[i]->vec_dot[wt](k, &Y1[tk * LDY + r], Wq + r * wrow, Xq + tk * xrow);
                        if (memcmp(Y, Y1, (size_t)NT * LDY * sizeof *Y) != 0)
                            fail_msg("%s %s k=%lld rows=%d tokens=%d: vec_dot_rt differs from vec_dot", t[i]->isa,
                                     ggml_type_name(wt), (long long)k, nr, n);
                    }
                /* matmul_alone (which uses the slot for n >= 2) against
                 * tokens one at a time, odd m */
                for (int n = 1; n <= NT; n++) {
                    matmul_alone_with(t[i], n % 2 ? pool : NULL, Wq, wt, MR, k, X, n, Y, scratch);
                    for (int tk = 0; tk < n; tk++) {
                        matmul_with(t[i], NULL, Wq, wt, MR, k, X + (int64_t)tk * k, 1, Y1, scratch);
                        if (memcmp(Y + tk * MR, Y1, MR * sizeof *Y1) != 0)
                            fail_msg("%s %s k=%lld n=%d: matmul_alone token %d differs from it alone", t[i]->isa,
                                     ggml_type_name(wt), (long long)k, n, tk);
                    }
                }
            }
        }
    }
    /* the scalar table has none (its dot slots are the reference) */
    for (size_t w = 0; w < N_WEIGHT_TYPES; w++) assert_null(kernels_scalar()->vec_dot_rt[weight_types[w]]);
    printf("vec_dot_rt: %d (table, type, k) cases\n", tested);
    pool_free(pool);
    free(W), free(X), free(Y), free(Y1), free(Wq), free(Xq), free(scratch);
}

/* The gemm_exact gemms over several reduction chunks (k = 41 blocks: lane
 * accumulators carried through a middle chunk), with odd row and token
 * counts and Q8_0 weights of -128 (never made by the quantizer, legal in a
 * file): bit-identical to the scalar batch order. */
static void test_gemm_exact_long_k(void **state)
{
    (void)state;
    const kernel_ops *t[MAX_TABLES];
    const int ntab = tables(t);
    enum { M = 37, N = 21, K = 41 * QK8_0 };
    float *W = malloc(M * K * sizeof *W), *X = malloc(N * K * sizeof *X);
    float *Y = malloc(M * N * sizeof *Y), *Yref = malloc(M * N * sizeof *Yref);
    assert_true(W && X && Y && Yref);
    fill_normal(W, M * K, 21);
    fill_normal(X, N * K, 22);
    for (size_t w = 0; w < N_WEIGHT_TYPES; w++) {
        const uint32_t wt = weight_types[w];
        if (K % ggml_type_get(wt)->block_size) continue;
        const size_t wrow = ggml_row_size(wt, K);
        uint8_t *Wq = malloc(M * wrow);
        void *scratch = malloc(matmul_scratch_size(wt, K, N));
        assert_true(Wq && scratch);
        for (int r = 0; r < M; r++) to_type(wt, W + r * K, Wq + r * wrow, K);
        if (wt == GGML_TYPE_Q8_0)
            for (int r = 0; r < M; r++) {
                block_q8_0 *b = (block_q8_0 *)(Wq + r * wrow);
                b[r % (K / QK8_0)].qs[r % QK8_0] = -128;
                b[(3 * r + 1) % (K / QK8_0)].qs[(5 * r) % QK8_0] = -128;
            }
        naive_matmul(kernels_scalar(), Wq, wt, M, K, X, N, Yref);
        for (int ti = 0; ti < ntab; ti++) {
            if (!batch_gemm(t[ti], wt, M, K, N) || !gemm_exact(t[ti], wt)) continue;
            matmul_with(t[ti], NULL, Wq, wt, M, K, X, N, Y, scratch);
            if (memcmp(Y, Yref, sizeof(float) * M * N) != 0)
                fail_msg("%s %s m=%d k=%d n=%d: gemm differs from the scalar batch order", t[ti]->isa,
                         ggml_type_name(wt), M, K, N);
        }
        free(Wq), free(scratch);
    }
    free(W), free(X), free(Y), free(Yref);
}

/* Q8_0 batches of a few tokens (the prompt-sized calls, which the AVX-512
 * table computes from the weight rows without unpacking them; see
 * gemm_small_avx512.c): every token count from GEMM_MIN_N past 16, rows
 * in pairs and not (m = 130: a call of 128 rows and one of 2), k of one
 * block up to past that kernel's 64 blocks, weights of -128 included;
 * bit-identical to the scalar batch order, with and without a pool. */
static void test_gemm_exact_few_tokens(void **state)
{
    (void)state;
    const kernel_ops *t[MAX_TABLES];
    const int ntab = tables(t);
    mote_pool *pool3 = NULL;
    assert_int_equal(pool_create(3, &pool3), MOTE_OK);
    enum { MMAX = 130, NMAX = 18, KMAX = 65 * QK8_0 };
    static const int64_t ms[] = {1, 6, 37, MMAX}, ks[] = {QK8_0, 19 * QK8_0, 64 * QK8_0, KMAX};
    const uint32_t wt = GGML_TYPE_Q8_0;
    float *W = malloc(MMAX * KMAX * sizeof *W), *X = malloc(NMAX * KMAX * sizeof *X);
    float *Y = malloc(MMAX * NMAX * sizeof *Y), *Yref = malloc(MMAX * NMAX * sizeof *Yref);
    assert_true(W && X && Y && Yref);
    fill_normal(W, MMAX * KMAX, 31);
    fill_normal(X, NMAX * KMAX, 32);
    for (size_t kk = 0; kk < sizeof ks / sizeof ks[0]; kk++) {
        const int64_t k = ks[kk];
        const size_t wrow = ggml_row_size(wt, k);
        uint8_t *Wq = malloc(MMAX * wrow);
        void *scratch = malloc(matmul_scratch_size(wt, k, NMAX));
        assert_true(Wq && scratch);
        for (int r = 0; r < MMAX; r++) {
            to_type(wt, W + r * k, Wq + r * wrow, k);
            block_q8_0 *b = (block_q8_0 *)(Wq + r * wrow);
            b[r % (k / QK8_0)].qs[r % QK8_0] = -128;
        }
        for (size_t a = 0; a < sizeof ms / sizeof ms[0]; a++)
            for (int64_t n = GEMM_MIN_N; n <= NMAX; n++) {
                const int64_t m = ms[a];
                naive_matmul(kernels_scalar(), Wq, wt, m, k, X, n, Yref);
                for (int ti = 0; ti < ntab; ti++) {
                    if (!batch_gemm(t[ti], wt, m, k, n) || !gemm_exact(t[ti], wt)) continue;
                    for (int p = 0; p < 2; p++) {
                        for (int64_t i = 0; i < m * n; i++) Y[i] = NAN;
                        matmul_with(t[ti], p ? pool3 : NULL, Wq, wt, m, k, X, n, Y, scratch);
                        if (memcmp(Y, Yref, sizeof(float) * (size_t)(m * n)) != 0)
                            fail_msg("%s Q8_0 m=%lld k=%lld n=%lld pool %d: gemm differs from the scalar batch order",
                                     t[ti]->isa, (long long)m, (long long)k, (long long)n, p);
                    }
                }
            }
        free(Wq), free(scratch);
    }
    free(W), free(X), free(Y), free(Yref);
    pool_free(pool3);
}

static void test_matmul_default_and_sizes(void **state)
{
    (void)state;
    assert_int_equal(matmul_scratch_size(GGML_TYPE_F32, 64, 5), 0);
    assert_int_equal(matmul_scratch_size(GGML_TYPE_Q4_0, 64, 3), 3 * 2 * sizeof(block_q8_0));
    assert_int_equal(matmul_scratch_size(GGML_TYPE_Q4_1, 64, 3), 3 * 2 * sizeof(block_q8_1));
    assert_int_equal(matmul_scratch_size(GGML_TYPE_Q6_K, 512, 2), 2 * 2 * sizeof(block_q8_K));
    assert_int_equal(matmul_scratch_size(GGML_TYPE_F16, 10, 2), 2 * 10 * 2);
    assert_int_equal(matmul_scratch_size(GGML_TYPE_IQ2_XXS, 256, 1), 0);

    /* matmul() is matmul_with(kernels_get()) */
    enum { M = 5, K = QK_K, N = 2 };
    static float W[M * K], X[N * K], Y1[M * N], Y2[M * N];
    static block_q4_K Wq[M];
    static block_q8_K scratch[N];
    fill_normal(W, M * K, 3);
    fill_normal(X, N * K, 4);
    to_type(GGML_TYPE_Q4_K, W, Wq, M * K);
    matmul(NULL, Wq, GGML_TYPE_Q4_K, M, K, X, N, Y1, scratch);
    matmul_with(kernels_get(), NULL, Wq, GGML_TYPE_Q4_K, M, K, X, N, Y2, scratch);
    assert_memory_equal(Y1, Y2, sizeof Y1);
    /* empty products touch nothing */
    Y1[0] = 42.0f;
    matmul(NULL, Wq, GGML_TYPE_Q4_K, 0, K, X, N, Y1, scratch);
    matmul(NULL, Wq, GGML_TYPE_Q4_K, M, K, X, 0, Y1, scratch);
    assert_true(Y1[0] == 42.0f);
}

/* ------------------------------------------------------------------------
 * Real weights (../shared)
 * ---------------------------------------------------------------------- */

/* matmul with a quantized file's weights stays close to the product with
 * the F32 file's weights (relative RMS over all outputs; bounds ~1.3x the
 * differences measured: weight rounding dominates, activation rounding adds
 * a little). */
static void check_real_matmul(const char *f32_rel, const char *q_rel, const char *tensor,
                              double bound)
{
    gguf_file *ff = NULL, *fq = NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s", shared_path(f32_rel));
    if (gguf_open(path, &ff) != MOTE_OK) fail_msg("%s", mote_last_error());
    if (gguf_open(shared_path(q_rel), &fq) != MOTE_OK) fail_msg("%s", mote_last_error());
    const gguf_tensor *tf = gguf_find_tensor(ff, tensor), *tq = gguf_find_tensor(fq, tensor);
    assert_true(tf && tq && tf->ne[0] == tq->ne[0] && tf->ne[1] == tq->ne[1]);
    const int64_t k = tq->ne[0], m = tq->ne[1], n = 5;
    float *X = malloc((size_t)(n * k) * sizeof *X);
    float *Yf = malloc((size_t)(n * m) * sizeof *Yf), *Yq = malloc((size_t)(n * m) * sizeof *Yq);
    void *scratch = malloc(matmul_scratch_size(tq->type, k, n) + 1);
    assert_true(X && Yf && Yq && scratch);
    fill_normal(X, n * k, 21);
    mote_pool *pool = NULL;
    assert_int_equal(pool_create(2, &pool), MOTE_OK);
    const kernel_ops *t[MAX_TABLES];
    int nt = tables(t);
    for (int i = 0; i < nt; i++) {
        matmul_with(t[i], pool, tf->data, GGML_TYPE_F32, m, k, X, n, Yf, NULL);
        matmul_with(t[i], pool, tq->data, tq->type, m, k, X, n, Yq, scratch);
        double se = 0, sy = 0;
        for (int64_t j = 0; j < n * m; j++) {
            se += ((double)Yq[j] - Yf[j]) * ((double)Yq[j] - Yf[j]);
            sy += (double)Yf[j] * Yf[j];
        }
        const double rel = sqrt(se / sy);
        if (!(rel <= bound))
            fail_msg("%s: %s %s: relative RMS difference %.5f above %.5f", t[i]->isa, q_rel,
                     tensor, rel, bound);
    }
    pool_free(pool);
    free(X), free(Yf), free(Yq), free(scratch);
    gguf_close(ff);
    gguf_close(fq);
}

static void test_shared_real_matmul(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    const char *tiny = "models/TinyStories-656K-F32.gguf";
    check_real_matmul(tiny, "models/TinyStories-656K-Q4_0.gguf", "blk.0.ffn_up.weight", 0.115);
    check_real_matmul(tiny, "models/TinyStories-656K-Q5_1.gguf", "blk.1.attn_q.weight", 0.052);
    check_real_matmul(tiny, "models/TinyStories-656K-BF16.gguf", "blk.1.ffn_down.weight", 0.0025);
    check_real_matmul(tiny, "models/TinyStories-656K.f16.gguf", "token_embd.weight", 0.0003);
    static const struct { const char *type; double bound; } synth[] = {
        {"Q2_K", 0.38}, {"Q3_K", 0.20}, {"Q4_K", 0.095}, {"Q5_K", 0.048},
        {"Q6_K", 0.025}, {"IQ4_NL", 0.10}, {"IQ4_XS", 0.10}, {"Q8_0", 0.010},
    };
    char rel[256];
    for (size_t i = 0; i < sizeof synth / sizeof synth[0]; i++) {
        snprintf(rel, sizeof rel, "models/synth-qwen2-%s.gguf", synth[i].type);
        check_real_matmul("models/synth-qwen2-F32.gguf", rel, "blk.1.ffn_gate.weight",
                          synth[i].bound);
    }
}

int main(void)
{
    test_fix_pool_size();
    const kernel_ops *t[MAX_TABLES];
    int n = kernels_available(t, MAX_TABLES);
    printf("kernel levels tested:");
    for (int i = 0; i < n && i < MAX_TABLES; i++) printf(" %s", t[i]->isa);
    printf("\n");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vec_dot_type),
        cmocka_unit_test(test_tables_complete),
        cmocka_unit_test(test_vec_dot_matches_double),
        cmocka_unit_test(test_simd_bitwise_scalar),
        cmocka_unit_test(test_vec_dot_zero),
        cmocka_unit_test(test_tables_match_scalar),
        cmocka_unit_test(test_matmul_matches_vec_dot),
        cmocka_unit_test(test_batch_gemm_shapes),
        cmocka_unit_test(test_gemm_exact_long_rows),
        cmocka_unit_test(test_gemm_exact_long_k),
        cmocka_unit_test(test_gemm_exact_few_tokens),
        cmocka_unit_test(test_matmul_alone),
        cmocka_unit_test(test_vec_dot_rt),
        cmocka_unit_test(test_matmul_default_and_sizes),
        cmocka_unit_test(test_shared_real_matmul),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
