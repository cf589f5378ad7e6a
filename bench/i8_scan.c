/*
 * i8_scan.c — how fast the memory store's vector scan is: one int8 query
 * against ROWS x DIM int8 rows (default 100000 x 384, a 38 MB index) with
 * each kernel level this CPU runs (src/kernels/dot_i8.h), on one thread.
 *
 *   make -C bench build/i8-scan && bench/build/i8-scan [ROWS [DIM [REPS]]]
 *
 * The rows are 64-byte aligned, as the store keeps them. Prints each
 * level's best and median time per scan, the bytes read per second, and
 * two ratios against peers in the same run: the scalar reference, and a
 * plain read of the same bytes (64-bit adds, the floor any scan pays for
 * bringing the rows in from memory).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/dot_i8.h"
#include "kernels/kernels.h"

#define MAX_TABLES 8

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static volatile uint64_t sink;

/* The floor: read every byte once (the compiler vectorises the adds). */
static void plain_read(const int8_t *q, const int8_t *rows, size_t n_rows, size_t dim, int32_t *out)
{
    (void)q;
    (void)out;
    const uint64_t *p = (const uint64_t *)rows;
    uint64_t s = 0;
    for (size_t i = 0; i < n_rows * dim / 8; i++) s += p[i];
    sink = s;
}

/* Best and median of reps scans, in ms. */
static void time_scan(i8_rows_fn f, const int8_t *q, const int8_t *rows, size_t n, size_t dim, int32_t *out,
                      int reps, double *best, double *median)
{
    double *t = malloc(reps * sizeof *t);
    f(q, rows, n, dim, out); /* warm up: pages mapped, caches as they will be */
    for (int i = 0; i < reps; i++) {
        const double t0 = now_ms();
        f(q, rows, n, dim, out);
        t[i] = now_ms() - t0;
    }
    qsort(t, reps, sizeof *t, cmp_double);
    *best = t[0];
    *median = t[reps / 2];
    free(t);
}

int main(int argc, char **argv)
{
    const size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 100000;
    const size_t dim = argc > 2 ? strtoull(argv[2], NULL, 10) : 384;
    const int reps = argc > 3 ? atoi(argv[3]) : 30;
    if (n == 0 || dim == 0 || dim > I8_DOT_DIM_MAX || reps < 1) {
        fprintf(stderr, "usage: i8-scan [ROWS [DIM (1..%d) [REPS]]]\n", I8_DOT_DIM_MAX);
        return 2;
    }
    /* 64-byte aligned, as the store allocates its matrix (store_vec.c):
     * with 64-byte rows, the AVX-512 loads then never straddle cache lines */
    int8_t *q = malloc(dim), *rows = aligned_alloc(64, (n * dim + 8 + 63) / 64 * 64);
    int32_t *out = malloc(n * sizeof *out);
    if (!q || !rows || !out) return 1;
    uint64_t s = 88172645463325252ull;
    for (size_t i = 0; i < n * dim + 8; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        rows[i] = (int8_t)s;
    }
    memcpy(q, rows + 3, dim);

    const double mb = (double)n * dim / 1e6;
    double floor_best, floor_med, ref_best, ref_med;
    time_scan(plain_read, q, rows, n, dim, out, reps, &floor_best, &floor_med);
    time_scan(i8_dot_rows_scalar, q, rows, n, dim, out, reps, &ref_best, &ref_med);
    printf("i8 scan: %zu rows x %zu dims (%.1f MB), %d scans each, one thread\n", n, dim, mb, reps);
    printf("%-12s %9s %9s %9s %10s %10s\n", "level", "best ms", "median ms", "GB/s", "vs scalar", "vs read");
    printf("%-12s %9.3f %9.3f %9.1f %10s %10.2f\n", "(plain read)", floor_best, floor_med, mb / floor_med, "",
           1.0);
    const kernel_ops *t[MAX_TABLES];
    const int nt = kernels_available(t, MAX_TABLES);
    for (int i = nt - 1; i >= 0; i--) {
        double best, med;
        time_scan(i8_rows_kernel(t[i]), q, rows, n, dim, out, reps, &best, &med);
        printf("%-12s %9.3f %9.3f %9.1f %10.2f %10.2f\n", t[i]->isa, best, med, mb / med, ref_med / med,
               floor_med / med);
    }
    free(q);
    free(rows);
    free(out);
    return 0;
}
