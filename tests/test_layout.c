/*
 * test_layout.c — the stored weight layouts (tensor/layout.h) and their
 * products.
 *
 *   - interleaving a matrix and taking each row back gives the plain rows
 *     (whole groups and a plain tail);
 *   - for every kernel table this CPU runs, matmul and matmul_alone of a
 *     layout matrix equal the plain matrix's bit for bit, for odd m, k and
 *     n, with and without a thread pool (Q8_0 weights of -128 included);
 *   - the types' names, sizes and views.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "base/threadpool.h"
#include "kernels/kernels.h"
#include "tensor/layout.h"
#include "tensor/quant.h"
#include "testutil.h"

#define MAX_TABLES 8
#define MAX_MACS (2 * 1000 * 1000) /* largest product a case multiplies */

static const uint32_t plain_types[] = {GGML_TYPE_Q8_0, GGML_TYPE_Q4_0, GGML_TYPE_IQ4_NL, GGML_TYPE_Q4_K,
                                       GGML_TYPE_Q6_K};

/* k of n blocks of type t (32 elements, the K types' 256). */
static int64_t k_of(uint32_t t, int64_t n)
{
    return n * ggml_type_get(t)->block_size;
}

static void fill_normal(float *x, int64_t n, uint64_t seed)
{
    uint64_t s = seed;
    for (int64_t i = 0; i < n; i++) x[i] = test_rng_normal(&s);
}

/* m rows of k random weights of type t, plain; NULL-free (asserts). */
static uint8_t *random_matrix(uint32_t t, int64_t m, int64_t k, uint64_t seed)
{
    const size_t row = ggml_row_size(t, k);
    float *w = malloc((size_t)k * sizeof *w);
    uint8_t *out = malloc((size_t)m * row);
    assert_true(w && out);
    for (int64_t r = 0; r < m; r++) {
        fill_normal(w, k, seed + (uint64_t)r);
        assert_int_equal(quantize_row(t, w, out + (size_t)r * row, k), MOTE_OK);
        if (t == GGML_TYPE_Q8_0 && r % 5 == 1) ((block_q8_0 *)(out + (size_t)r * row))->qs[3] = -128;
    }
    free(w);
    return out;
}

static void test_types(void **state)
{
    (void)state;
    assert_string_equal(ggml_type_name(MOTE_TYPE_Q8_0_R16), "Q8_0_R16");
    assert_string_equal(ggml_type_name(MOTE_TYPE_Q4_0_R16), "Q4_0_R16");
    assert_string_equal(ggml_type_name(MOTE_TYPE_IQ4_NL_R16), "IQ4_NL_R16");
    assert_string_equal(ggml_type_name(MOTE_TYPE_Q4_K_R16), "Q4_K_R16");
    assert_string_equal(ggml_type_name(MOTE_TYPE_Q6_K_R16), "Q6_K_R16");
    for (size_t i = 0; i < sizeof plain_types / sizeof plain_types[0]; i++) {
        const uint32_t p = plain_types[i], l = layout_of(p);
        assert_true(layout_is(l));
        assert_false(layout_is(p));
        assert_int_equal(layout_plain(l), p);
        assert_int_equal(layout_plain(p), p);
        assert_int_equal(ggml_row_size(l, 4096), ggml_row_size(p, 4096));
        assert_int_equal(ggml_type_get(l)->block_size, ggml_type_get(p)->block_size);
        assert_non_null(ggml_type_get(l)->layout);
        assert_true(kernels_supported(l));
        assert_int_equal(vec_dot_type(l), vec_dot_type(p));
        assert_int_equal(matmul_scratch_size(l, 96, 5), matmul_scratch_size(p, 96, 5));
    }
    assert_int_equal(layout_of(GGML_TYPE_Q5_K), 0);
    assert_true(layout_view_ok(40, 0, 16));
    assert_true(layout_view_ok(40, 16, 24)); /* the matrix's own tail */
    assert_false(layout_view_ok(40, 16, 8));
    assert_false(layout_view_ok(40, 8, 16));
}

static void test_pack_roundtrip(void **state)
{
    (void)state;
    static const int64_t ms[] = {1, 15, 16, 37, 48};
    for (size_t i = 0; i < sizeof plain_types / sizeof plain_types[0]; i++)
        for (size_t j = 0; j < sizeof ms / sizeof ms[0]; j++) {
            const uint32_t p = plain_types[i], l = layout_of(p);
            const int64_t m = ms[j], k = k_of(p, 7);
            const size_t row = ggml_row_size(p, k);
            uint8_t *W = random_matrix(p, m, k, 7 + j), *L = malloc((size_t)m * row), *back = malloc(row);
            assert_true(L && back);
            layout_pack(l, W, m, k, L);
            if (m >= LAYOUT_ROWS) assert_memory_not_equal(L, W, LAYOUT_ROWS * row);
            for (int64_t r = 0; r < m; r++) {
                layout_row(l, L, m, k, r, back);
                if (memcmp(back, W + (size_t)r * row, row) != 0)
                    fail_msg("%s m=%lld: row %lld not restored", ggml_type_name(l), (long long)m, (long long)r);
            }
            free(W), free(L), free(back);
        }
}

/* matmul (and matmul_alone) of the layout matrix == the plain one's. */
static void check_products(const kernel_ops *ops, mote_pool *pool, uint32_t p, int64_t m, int64_t k, int64_t n,
                           uint64_t seed)
{
    const uint32_t l = layout_of(p);
    const size_t row = ggml_row_size(p, k);
    uint8_t *W = random_matrix(p, m, k, seed), *L = malloc((size_t)m * row);
    float *X = malloc((size_t)(n * k) * sizeof *X), *Y0 = malloc((size_t)(n * m) * sizeof *Y0);
    float *Y1 = malloc((size_t)(n * m) * sizeof *Y1);
    void *scratch = malloc(matmul_scratch_size(p, k, n));
    assert_true(L && X && Y0 && Y1 && scratch);
    layout_pack(l, W, m, k, L);
    fill_normal(X, n * k, seed * 31 + 1);
    for (int alone = 0; alone < 2; alone++) {
        void (*mm)(const kernel_ops *, mote_pool *, const void *, uint32_t, int64_t, int64_t, const float *,
                   int64_t, float *, void *) = alone ? matmul_alone_with : matmul_with;
        mm(ops, pool, W, p, m, k, X, n, Y0, scratch);
        memset(Y1, 0xff, (size_t)(n * m) * sizeof *Y1);
        mm(ops, pool, L, l, m, k, X, n, Y1, scratch);
        for (int64_t i = 0; i < n * m; i++)
            if (memcmp(&Y0[i], &Y1[i], sizeof *Y0) != 0)
                fail_msg("%s %s%s m=%lld k=%lld n=%lld: output (token %lld, row %lld) %.9g, plain %.9g", ops->isa,
                         ggml_type_name(l), alone ? " alone" : "", (long long)m, (long long)k, (long long)n,
                         (long long)(i / m), (long long)(i % m), Y1[i], Y0[i]);
    }
    free(W), free(L), free(X), free(Y0), free(Y1), free(scratch);
}

static void test_products_bitwise(void **state)
{
    (void)state;
    const kernel_ops *t[MAX_TABLES];
    const int nt = kernels_available(t, MAX_TABLES);
    static const int64_t ms[] = {16, 37, 133, 272};
    static const int64_t ks[] = {1, 3, 19, 70}; /* blocks */
    static const int64_t ns[] = {1, 2, 3, 4, 5, 9, 37, 130};
    mote_pool *pool;
    assert_int_equal(pool_create(3, &pool), MOTE_OK);
    uint64_t seed = 1;
    for (int i = 0; i < nt; i++)
        for (size_t ti = 0; ti < sizeof plain_types / sizeof plain_types[0]; ti++)
            for (size_t a = 0; a < sizeof ms / sizeof ms[0]; a++)
                for (size_t b = 0; b < sizeof ks / sizeof ks[0]; b++)
                    for (size_t c = 0; c < sizeof ns / sizeof ns[0]; c++, seed++) {
                        const int64_t k = k_of(plain_types[ti], ks[b]);
                        if (ms[a] * k * ns[c] > MAX_MACS) continue; /* keep it quick (qemu, ASan) */
                        check_products(t[i], seed % 2 ? pool : NULL, plain_types[ti], ms[a], k, ns[c], seed);
                    }
    pool_free(pool);
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
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_pack_roundtrip),
        cmocka_unit_test(test_products_bitwise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
