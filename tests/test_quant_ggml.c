/*
 * test_quant_ggml.c — quantize_rows against ggml's own ggml_quantize_chunk,
 * byte for byte, with and without an importance matrix, for every weight
 * type mote runs; and, without ggml, properties of the weighted quantizers
 * that hold whatever the peer.
 *
 * ggml comes from bench/llama/lib/libggml-base.so (installed by
 * bench/llama-setup from npm; MOTE_GGML_BASE overrides the path), opened
 * with dlopen so that the test builds and runs (skipping the comparison)
 * where it is absent.
 */
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "tensor/quant.h"
#include "testutil.h"

static const uint32_t weight_types[] = {
    GGML_TYPE_F32,  GGML_TYPE_F16,  GGML_TYPE_BF16, GGML_TYPE_Q4_0,   GGML_TYPE_Q4_1,
    GGML_TYPE_Q5_0, GGML_TYPE_Q5_1, GGML_TYPE_Q8_0, GGML_TYPE_Q2_K,   GGML_TYPE_Q3_K,
    GGML_TYPE_Q4_K, GGML_TYPE_Q5_K, GGML_TYPE_Q6_K, GGML_TYPE_IQ4_NL, GGML_TYPE_IQ4_XS,
};
#define N_TYPES (sizeof weight_types / sizeof weight_types[0])

/* ------------------------------------------------------------------------
 * Inputs: rows of several distributions, importance matrices of several kinds
 * ---------------------------------------------------------------------- */

enum dist { D_GAUSS, D_UNIFORM, D_OUTLIERS, D_ZERO, D_CONST, D_TINY, D_MIXED, N_DIST };
static const char *const dist_names[N_DIST] = {"gaussian", "uniform", "outliers", "zero",
                                               "constant", "tiny",    "mixed"};

/* One row of n values of distribution d. D_MIXED cuts the row into pieces
 * of 32 of the other kinds, so one super-block holds zero, constant and
 * outlier groups side by side. */
static void fill_row(float *x, int64_t n, enum dist d, uint64_t *rng)
{
    for (int64_t i = 0; i < n; i++) {
        enum dist k = d == D_MIXED ? (enum dist)((i / 32 + (int64_t)(*rng & 3)) % D_MIXED) : d;
        switch (k) {
        case D_GAUSS: x[i] = test_rng_normal(rng); break;
        case D_UNIFORM: x[i] = 2 * test_rng_uniform(rng) - 1; break;
        case D_OUTLIERS:
            x[i] = 0.02f * test_rng_normal(rng);
            if (test_rng_uniform(rng) < 0.03f) x[i] = (test_rng_uniform(rng) < 0.5f ? -1 : 1) * 8.0f;
            break;
        case D_ZERO: x[i] = 0.0f; break;
        case D_CONST: x[i] = -0.3125f; break;
        case D_TINY: x[i] = 1e-7f * test_rng_normal(rng); break;
        default: x[i] = 0.0f; break;
        }
    }
}

enum imat { I_NONE, I_RANDOM, I_ZEROS, I_RANGE, I_ONES, N_IMAT };
static const char *const imat_names[N_IMAT] = {"none", "random", "with zeros", "huge range", "ones"};

/* n importance weights of kind k (NULL for I_NONE). */
static float *make_imatrix(int64_t n, enum imat k, uint64_t *rng)
{
    if (k == I_NONE) return NULL;
    float *w = malloc((size_t)n * sizeof *w);
    assert_non_null(w);
    for (int64_t i = 0; i < n; i++) {
        switch (k) {
        case I_RANDOM: w[i] = 0.01f + test_rng_uniform(rng) * test_rng_uniform(rng) * 4; break;
        case I_ZEROS: w[i] = test_rng_uniform(rng) < 0.3f ? 0.0f : test_rng_uniform(rng); break;
        case I_RANGE: w[i] = powf(10.0f, 24 * test_rng_uniform(rng) - 12); break;
        default: w[i] = 1.0f; break;
        }
    }
    return w;
}

/* ------------------------------------------------------------------------
 * ggml, through dlopen
 * ---------------------------------------------------------------------- */

typedef size_t (*ggml_quantize_chunk_fn)(int type, const float *src, void *dst, int64_t start,
                                         int64_t nrows, int64_t n_per_row, const float *imatrix);

static ggml_quantize_chunk_fn ggml_quantize_chunk_p;

static const char *ggml_base_path(void)
{
    const char *env = getenv("MOTE_GGML_BASE");
    return env && *env ? env : "bench/llama/lib/libggml-base.so";
}

/* 1 with ggml_quantize_chunk_p set, or 0 having said why the test skips. */
static int open_ggml(void)
{
    static void *lib;
    if (ggml_quantize_chunk_p) return 1;
    if (!lib) lib = dlopen(ggml_base_path(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        if (getenv("MOTE_REQUIRE_LLAMA_REF"))
            fail_msg("MOTE_REQUIRE_LLAMA_REF is set but %s is not loadable (%s)", ggml_base_path(), dlerror());
        print_message("[  SKIP    ] SKIP: %s not loadable (%s; run bench/llama-setup or set "
                      "MOTE_GGML_BASE): the byte comparison with ggml is skipped\n",
                      ggml_base_path(), dlerror());
        return 0;
    }
    *(void **)&ggml_quantize_chunk_p = dlsym(lib, "ggml_quantize_chunk");
    if (!ggml_quantize_chunk_p) fail_msg("%s has no ggml_quantize_chunk", ggml_base_path());
    return 1;
}

/* ------------------------------------------------------------------------
 * Byte comparison with ggml
 * ---------------------------------------------------------------------- */

#define NROWS 3

/* Quantizes NROWS rows of n with mote and ggml; returns 1 if the bytes
 * agree, else prints where they first differ and returns 0. */
static int compare_case(uint32_t type, int64_t n, enum dist d, enum imat k, uint64_t seed)
{
    uint64_t rng = seed;
    float *x = malloc((size_t)(NROWS * n) * sizeof *x);
    assert_non_null(x);
    for (int r = 0; r < NROWS; r++) fill_row(x + r * n, n, d, &rng);
    float *qw = make_imatrix(n, k, &rng);
    const size_t row_size = ggml_row_size(type, n), bytes = NROWS * row_size;
    uint8_t *got = malloc(bytes), *want = malloc(bytes);
    assert_non_null(got);
    assert_non_null(want);
    memset(got, 0xa5, bytes);
    memset(want, 0x5a, bytes);
    size_t written = 0;
    if (quantize_rows(type, x, got, NROWS, n, qw, &written) != MOTE_OK)
        fail_msg("quantize_rows(%s, n %lld): %s", ggml_type_name(type), (long long)n,
                 mote_last_error());
    assert_int_equal(written, bytes);
    assert_int_equal(ggml_quantize_chunk_p((int)type, x, want, 0, NROWS, n, qw), bytes);
    int ok = memcmp(got, want, bytes) == 0;
    if (!ok) {
        size_t at = 0;
        while (got[at] == want[at]) at++;
        const ggml_type_traits *tr = ggml_type_get(type);
        print_message("MISMATCH %s n %lld %s imatrix %s: row %zu block %zu byte %zu: got %02x, "
                      "ggml %02x\n",
                      ggml_type_name(type), (long long)n, dist_names[d], imat_names[k],
                      at / row_size, at % row_size / tr->type_size, at % tr->type_size, got[at],
                      want[at]);
    }
    free(got);
    free(want);
    free(qw);
    free(x);
    return ok;
}

/* Every type x row length x distribution x importance matrix. */
static void test_matches_ggml_quantize_chunk(void **state)
{
    (void)state;
    if (!open_ggml()) skip();
    static const int64_t blocks[] = {1, 3, 7};             /* the block size, odd multiples */
    static const int64_t lengths[] = {256, 768, 4096};     /* 256 k, a long row */
    int cases = 0, bad = 0;
    for (size_t t = 0; t < N_TYPES; t++) {
        const uint32_t type = weight_types[t];
        const int bs = ggml_type_get(type)->block_size;
        int64_t ns[6];
        int nn = 0;
        for (size_t i = 0; i < 3; i++)
            if (bs * blocks[i] < 256) ns[nn++] = bs * blocks[i];
        for (size_t i = 0; i < 3; i++) ns[nn++] = lengths[i];
        for (int in = 0; in < nn; in++)
            for (int d = 0; d < N_DIST; d++)
                for (int k = 0; k < N_IMAT; k++) {
                    const uint64_t seed = 0x9e3779b97f4a7c15u ^ (uint64_t)(t * 1000003 + in * 1009 + d * 31 + k);
                    cases++;
                    bad += !compare_case(type, ns[in], (enum dist)d, (enum imat)k, seed);
                }
    }
    print_message("quantize_rows vs ggml_quantize_chunk: %d cases, %d differ\n", cases, bad);
    assert_int_equal(bad, 0);
}

/* ------------------------------------------------------------------------
 * Without ggml
 * ---------------------------------------------------------------------- */

/* Types with an importance-weighted quantizer, and what their
 * dequantized rows may lose: the importance-weighted relative RMS error
 * sqrt(sum w e^2 / sum w x^2) of a gaussian row under a random imatrix.
 * Bounds sit ~1.2x above what the weighted quantizers reach (Q4_K 0.066,
 * Q2_K 0.235), which is below what the unweighted ones reach under the
 * same metric (Q4_K 0.071, Q2_K 0.291). */
static const struct {
    uint32_t type;
    double max_rel_rms;
} weighted_types[] = {
    {GGML_TYPE_Q4_0, 0.095},  {GGML_TYPE_Q4_1, 0.08},   {GGML_TYPE_Q5_0, 0.046},
    {GGML_TYPE_Q5_1, 0.038},  {GGML_TYPE_Q2_K, 0.28},   {GGML_TYPE_Q3_K, 0.16},
    {GGML_TYPE_Q4_K, 0.08},   {GGML_TYPE_Q5_K, 0.04},   {GGML_TYPE_Q6_K, 0.02},
    {GGML_TYPE_IQ4_NL, 0.085}, {GGML_TYPE_IQ4_XS, 0.085},
};
#define N_WEIGHTED (sizeof weighted_types / sizeof weighted_types[0])

#define ROW 4096

/* nrows rows of ROW gaussian values and a random imatrix, seeded. */
static float *gaussian_rows(int nrows, uint64_t seed, float **qw)
{
    uint64_t rng = seed;
    float *x = malloc((size_t)nrows * ROW * sizeof *x);
    assert_non_null(x);
    for (int i = 0; i < nrows * ROW; i++) x[i] = test_rng_normal(&rng);
    *qw = make_imatrix(ROW, I_RANDOM, &rng);
    return x;
}

static uint8_t *quantize_alloc(uint32_t type, const float *x, int nrows, const float *qw)
{
    uint8_t *q = malloc((size_t)nrows * ggml_row_size(type, ROW));
    assert_non_null(q);
    size_t written;
    assert_int_equal(quantize_rows(type, x, q, nrows, ROW, qw, &written), MOTE_OK);
    assert_int_equal(written, (size_t)nrows * ggml_row_size(type, ROW));
    return q;
}

/* Dequantized weighted rows are close to the input under the importance
 * metric (catches packing that ggml would agree with nowhere). */
static void test_weighted_round_trip(void **state)
{
    (void)state;
    float *qw, y[ROW];
    float *x = gaussian_rows(1, 11, &qw);
    for (size_t t = 0; t < N_WEIGHTED; t++) {
        const uint32_t type = weighted_types[t].type;
        uint8_t *q = quantize_alloc(type, x, 1, qw);
        assert_int_equal(dequantize_row(type, q, y, ROW), MOTE_OK);
        double se = 0, sx = 0;
        for (int i = 0; i < ROW; i++) {
            se += qw[i] * ((double)y[i] - x[i]) * ((double)y[i] - x[i]);
            sx += qw[i] * (double)x[i] * x[i];
        }
        const double rel = sqrt(se / sx);
        if (!(rel <= weighted_types[t].max_rel_rms))
            fail_msg("%s weighted: relative RMS error %.5f above %.5f", ggml_type_name(type), rel,
                     weighted_types[t].max_rel_rms);
        free(q);
    }
    free(qw);
    free(x);
}

/* The weights steer the search (the bytes differ from the unweighted
 * ones) and only their ratios matter: scaling the imatrix by a power of
 * two scales every weighted sum exactly, so the bytes stay the same. F32,
 * F16, BF16 and Q8_0 ignore the imatrix, as ggml. */
static void test_imatrix_used_and_scale_free(void **state)
{
    (void)state;
    float *qw;
    float *x = gaussian_rows(2, 12, &qw);
    float *qw4 = malloc(ROW * sizeof *qw4), *qw8 = malloc(ROW * sizeof *qw8);
    assert_non_null(qw4);
    assert_non_null(qw8);
    for (int i = 0; i < ROW; i++) {
        qw4[i] = qw[i] * 4;
        qw8[i] = qw[i] / 8;
    }
    for (size_t t = 0; t < N_TYPES; t++) {
        const uint32_t type = weight_types[t];
        const size_t bytes = 2 * ggml_row_size(type, ROW);
        uint8_t *plain = quantize_alloc(type, x, 2, NULL), *w = quantize_alloc(type, x, 2, qw);
        uint8_t *w4 = quantize_alloc(type, x, 2, qw4), *w8 = quantize_alloc(type, x, 2, qw8);
        const int ignores = tensor_quantizer_weighted(type) == NULL;
        if (ignores != (memcmp(plain, w, bytes) == 0))
            fail_msg("%s: the imatrix %s", ggml_type_name(type),
                     ignores ? "changed a type that ignores it" : "changed nothing");
        if (memcmp(w, w4, bytes) != 0 || memcmp(w, w8, bytes) != 0)
            fail_msg("%s: imatrix x4 or /8 changed the bytes", ggml_type_name(type));
        free(plain);
        free(w);
        free(w4);
        free(w8);
    }
    free(qw4);
    free(qw8);
    free(qw);
    free(x);
}

/* quantize_rows is re-entrant: two threads quantizing the two halves of a
 * tensor at once write the bytes one call writes. */
struct half_job {
    uint32_t type;
    const float *x, *qw;
    uint8_t *dst;
    int nrows;
    mote_status st;
};

static void *quantize_half(void *arg)
{
    struct half_job *j = arg;
    j->st = quantize_rows(j->type, j->x, j->dst, j->nrows, ROW, j->qw, NULL);
    return NULL;
}

static void test_rows_from_threads(void **state)
{
    (void)state;
    enum { NR = 8 };
    float *qw;
    float *x = gaussian_rows(NR, 13, &qw);
    for (size_t t = 0; t < N_WEIGHTED; t++) {
        const uint32_t type = weighted_types[t].type;
        const size_t rs = ggml_row_size(type, ROW);
        uint8_t *whole = quantize_alloc(type, x, NR, qw);
        uint8_t *parts = malloc(NR * rs);
        assert_non_null(parts);
        struct half_job jobs[2] = {
            {type, x, qw, parts, NR / 2, MOTE_OK},
            {type, x + NR / 2 * ROW, qw, parts + NR / 2 * rs, NR / 2, MOTE_OK},
        };
        pthread_t th[2];
        for (int i = 0; i < 2; i++) assert_int_equal(pthread_create(&th[i], NULL, quantize_half, &jobs[i]), 0);
        for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
        assert_int_equal(jobs[0].st, MOTE_OK);
        assert_int_equal(jobs[1].st, MOTE_OK);
        if (memcmp(whole, parts, NR * rs) != 0)
            fail_msg("%s: rows quantized from two threads differ", ggml_type_name(type));
        free(whole);
        free(parts);
    }
    free(qw);
    free(x);
}

/* Without an imatrix quantize_rows is the row quantizer, row by row; bad
 * calls fail with a status. */
static void test_rows_plain_and_errors(void **state)
{
    (void)state;
    float *qw;
    float *x = gaussian_rows(3, 14, &qw);
    for (size_t t = 0; t < N_TYPES; t++) {
        const uint32_t type = weight_types[t];
        const size_t rs = ggml_row_size(type, ROW);
        uint8_t *rows = quantize_alloc(type, x, 3, NULL);
        uint8_t *one = malloc(rs);
        assert_non_null(one);
        for (int r = 0; r < 3; r++) {
            tensor_quantizer(type)(x + r * ROW, one, ROW);
            if (memcmp(one, rows + r * rs, rs) != 0)
                fail_msg("%s: quantize_rows row %d differs from the row quantizer",
                         ggml_type_name(type), r);
        }
        free(one);
        free(rows);
    }
    uint8_t buf[4 * 292];
    assert_int_equal(quantize_rows(GGML_TYPE_Q8_K, x, buf, 1, QK_K, qw, NULL), MOTE_E_UNSUPPORTED);
    assert_non_null(strstr(mote_last_error(), "Q8_K"));
    assert_int_equal(quantize_rows(GGML_TYPE_Q8_K, x, buf, 1, QK_K, NULL, NULL), MOTE_OK);
    assert_int_equal(quantize_rows(GGML_TYPE_Q4_K, x, buf, 1, 96, qw, NULL), MOTE_E_INVALID);
    assert_int_equal(quantize_rows(GGML_TYPE_IQ2_XXS, x, buf, 1, QK_K, qw, NULL), MOTE_E_UNSUPPORTED);
    free(qw);
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_ggml_quantize_chunk),
        cmocka_unit_test(test_weighted_round_trip),
        cmocka_unit_test(test_imatrix_used_and_scale_free),
        cmocka_unit_test(test_rows_from_threads),
        cmocka_unit_test(test_rows_plain_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
