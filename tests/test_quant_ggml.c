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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_ggml_quantize_chunk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
