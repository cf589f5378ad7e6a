/*
 * test_kernels_i8.c — the int8 row scan (src/kernels/dot_i8.h) at every
 * kernel level this CPU runs (kernels_available; main prints which):
 *   - the scalar reference against a plain int64 sum;
 *   - every level's kernel against the scalar reference, bit for bit, for
 *     odd dimensions (1, 3, 31, 384, 385, 1000, ...) and odd row counts
 *     (both sides of each kernel's 4-row groups), random bytes over the
 *     whole range, unaligned pointers;
 *   - the extremes: every byte -128 or 127, up to I8_DOT_DIM_MAX elements;
 *   - buffers allocated to their exact size, so that a kernel reading past
 *     a row's end trips AddressSanitizer (the sanitizer build).
 * No timings here: bench/i8_scan.c measures the speed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/dot_i8.h"
#include "kernels/kernels.h"
#include "testutil.h"

#define MAX_TABLES 8

static const size_t dims[] = {1, 2, 3, 4, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 384, 385, 1000};
static const size_t row_counts[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 33};
#define N_DIMS (sizeof dims / sizeof dims[0])
#define N_ROW_COUNTS (sizeof row_counts / sizeof row_counts[0])

static int tables(const kernel_ops **out)
{
    int n = kernels_available(out, MAX_TABLES);
    assert_true(n >= 1 && n <= MAX_TABLES);
    return n;
}

static void fill_bytes(int8_t *x, size_t n, uint64_t *rng)
{
    for (size_t i = 0; i < n; i++) x[i] = (int8_t)(uint8_t)test_rng_next(rng);
}

/* The sums in int64, one product at a time. */
static void dot_rows_i64(const int8_t *q, const int8_t *rows, size_t n_rows, size_t dim, int64_t *out)
{
    for (size_t r = 0; r < n_rows; r++) {
        int64_t s = 0;
        for (size_t i = 0; i < dim; i++) s += (int64_t)q[i] * rows[r * dim + i];
        out[r] = s;
    }
}

/* Run every table's kernel on q and rows; each must give the scalar
 * reference's results, which must equal the int64 sums. */
static void check_all(const int8_t *q, const int8_t *rows, size_t n_rows, size_t dim, const char *what)
{
    const kernel_ops *t[MAX_TABLES];
    const int nt = tables(t);
    int64_t *want = malloc((n_rows ? n_rows : 1) * sizeof *want);
    int32_t *ref = malloc((n_rows ? n_rows : 1) * sizeof *ref);
    int32_t *got = malloc((n_rows ? n_rows : 1) * sizeof *got);
    assert_non_null(want);
    assert_non_null(ref);
    assert_non_null(got);
    dot_rows_i64(q, rows, n_rows, dim, want);
    i8_dot_rows_scalar(q, rows, n_rows, dim, ref);
    for (size_t r = 0; r < n_rows; r++)
        if (ref[r] != want[r])
            fail_msg("%s: scalar row %zu of %zu, dim %zu: %d, want %lld", what, r, n_rows, dim, ref[r],
                     (long long)want[r]);
    for (int k = 0; k < nt; k++) {
        for (size_t r = 0; r < n_rows; r++) got[r] = 0x5a5a5a5a;
        i8_rows_kernel(t[k])(q, rows, n_rows, dim, got);
        for (size_t r = 0; r < n_rows; r++)
            if (got[r] != ref[r])
                fail_msg("%s: %s row %zu of %zu, dim %zu: %d, scalar %d", what, t[k]->isa, r, n_rows, dim, got[r],
                         ref[r]);
    }
    free(want);
    free(ref);
    free(got);
}

/* ------------------------------------------------------------------------
 * Tests
 * ---------------------------------------------------------------------- */

static void test_every_table_has_kernel(void **state)
{
    (void)state;
    const kernel_ops *t[MAX_TABLES];
    const int n = tables(t);
    for (int i = 0; i < n; i++)
        if (!t[i]->i8_rows) fail_msg("table %s has no i8_rows kernel", t[i]->isa);
    assert_ptr_equal(i8_rows_kernel(kernels_scalar()), i8_dot_rows_scalar);
    assert_ptr_equal(i8_rows_kernel(NULL), i8_dot_rows_scalar);
}

static void test_random_matches_scalar(void **state)
{
    (void)state;
    uint64_t rng = 0x1234abcd;
    for (size_t d = 0; d < N_DIMS; d++)
        for (size_t c = 0; c < N_ROW_COUNTS; c++) {
            const size_t dim = dims[d], n = row_counts[c];
            /* exact sizes: a read past either buffer's end is an ASan error */
            int8_t *q = malloc(dim), *rows = malloc(n > 0 ? n * dim : 1);
            assert_non_null(q);
            assert_non_null(rows);
            fill_bytes(q, dim, &rng);
            fill_bytes(rows, n * dim, &rng);
            char what[64];
            snprintf(what, sizeof what, "random %zu x %zu", n, dim);
            check_all(q, rows, n, dim, what);
            free(q);
            free(rows);
        }
}

static void test_unaligned(void **state)
{
    (void)state;
    uint64_t rng = 77;
    const size_t dim = 385, n = 11;
    int8_t *qbuf = malloc(dim + 3), *rbuf = malloc(n * dim + 1);
    assert_non_null(qbuf);
    assert_non_null(rbuf);
    fill_bytes(qbuf, dim + 3, &rng);
    fill_bytes(rbuf, n * dim + 1, &rng);
    check_all(qbuf + 3, rbuf + 1, n, dim, "unaligned");
    check_all(qbuf + 1, rbuf + 1, n, 384, "unaligned 384");
    free(qbuf);
    free(rbuf);
}

/* Every combination of -128 and 127 in query and rows, and mixtures. */
static void test_extremes(void **state)
{
    (void)state;
    static const size_t ext_dims[] = {1, 3, 31, 64, 384, 385, 1000, 4097, I8_DOT_DIM_MAX};
    for (size_t d = 0; d < sizeof ext_dims / sizeof ext_dims[0]; d++) {
        const size_t dim = ext_dims[d], n = 5;
        int8_t *q = malloc(dim), *rows = malloc(n * dim);
        assert_non_null(q);
        assert_non_null(rows);
        static const int8_t vals[] = {-128, 127};
        for (int qa = 0; qa < 2; qa++) {
            memset(q, vals[qa], dim);
            /* rows: all -128, all 127, alternating, all 0, alternating the other way */
            memset(rows, -128, dim);
            memset(rows + dim, 127, dim);
            for (size_t i = 0; i < dim; i++) rows[2 * dim + i] = i % 2 ? -128 : 127;
            memset(rows + 3 * dim, 0, dim);
            for (size_t i = 0; i < dim; i++) rows[4 * dim + i] = i % 2 ? 127 : -128;
            char what[64];
            snprintf(what, sizeof what, "extremes q=%d dim %zu", vals[qa], dim);
            check_all(q, rows, n, dim, what);
        }
        /* the largest sum of all: -128 * -128 * I8_DOT_DIM_MAX */
        if (dim == I8_DOT_DIM_MAX) {
            memset(q, -128, dim);
            memset(rows, -128, dim);
            int32_t out[1];
            i8_dot_rows(q, rows, 1, dim, out);
            assert_int_equal(out[0], (int32_t)(16384 * (int64_t)dim));
        }
        free(q);
        free(rows);
    }
}

/* i8_dot_rows (this process's table, MOTE_ISA) gives the scalar results. */
static void test_dispatch(void **state)
{
    (void)state;
    uint64_t rng = 5;
    const size_t dim = 384, n = 101;
    int8_t *q = malloc(dim), *rows = malloc(n * dim);
    int32_t *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    assert_true(q && rows && a && b);
    fill_bytes(q, dim, &rng);
    fill_bytes(rows, n * dim, &rng);
    i8_dot_rows(q, rows, n, dim, a);
    i8_dot_rows_scalar(q, rows, n, dim, b);
    assert_memory_equal(a, b, n * sizeof *a);
    free(q);
    free(rows);
    free(a);
    free(b);
}

int main(void)
{
    const kernel_ops *t[MAX_TABLES];
    const int n = kernels_available(t, MAX_TABLES);
    printf("kernel levels tested:");
    for (int i = 0; i < n && i < MAX_TABLES; i++) printf(" %s", t[i]->isa);
    printf(" (this process: %s)\n", kernels_get()->isa);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_table_has_kernel),
        cmocka_unit_test(test_random_matches_scalar),
        cmocka_unit_test(test_unaligned),
        cmocka_unit_test(test_extremes),
        cmocka_unit_test(test_dispatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
