/*
 * alone_bench.c — the cost of matmul_alone (every token's outputs bit for
 * bit those of the token alone: speculative verification, multi-stream
 * generation) for n = 1, 2, 4, 8 tokens, with the alone gemm (the
 * vec_dot_rt slot) and without it (the same table with that slot
 * cleared: the one-token dot slots per token), runs alternated.
 *
 *   make -C bench build/alone-bench && bench/build/alone-bench [TYPE [M [K [THREADS [REPS]]]]]
 *
 * TYPE is a weight type name (default Q8_0), the weights M x K gaussian
 * (default 2048 x 2048), THREADS the pool size (default 1; 0: the calling
 * thread alone). Each timing is the median of REPS (default 15) of a
 * batch of calls lasting ~20 ms. Prints per n: microseconds without and
 * with the slot, each as a multiple of one token's cost, and whether the
 * outputs of the two agree bit for bit. The table is kernels_get()'s
 * (MOTE_ISA picks another).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/threadpool.h"
#include "gguf/ggml_type.h"
#include "kernels/kernels.h"
#include "tensor/quant.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static float normal(void)
{
    double u[2];
    for (int i = 0; i < 2; i++) {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        u[i] = ((double)(rng_state >> 11) + 0.5) / 9007199254740992.0;
    }
    return (float)(sqrt(-2 * log(u[0])) * cos(6.283185307179586 * u[1]));
}

typedef struct job {
    const kernel_ops *ops;
    mote_pool *pool;
    const void *W;
    uint32_t type;
    int64_t m, k, n;
    const float *X;
    float *Y;
    void *scratch;
} job;

/* Seconds per call: the mean over calls that last about 20 ms. */
static double time_call(const job *j, int calls)
{
    const double t0 = now_s();
    for (int i = 0; i < calls; i++) matmul_alone_with(j->ops, j->pool, j->W, j->type, j->m, j->k, j->X, j->n, j->Y, j->scratch);
    return (now_s() - t0) / calls;
}

int main(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: alone-bench [TYPE [M [K [THREADS [REPS]]]]]\n"
               "matmul_alone's cost for 1, 2, 4, 8 tokens with and without the alone gemm (vec_dot_rt):\n"
               "TYPE weights (default Q8_0), M x K (default 2048 x 2048), THREADS (default 1; 0: inline),\n"
               "REPS timings of ~20 ms each (default 15), medians; MOTE_ISA picks the table.\n");
        return 0;
    }
    const char *tname = argc > 1 ? argv[1] : "Q8_0";
    const int64_t m = argc > 2 ? atoll(argv[2]) : 2048, k = argc > 3 ? atoll(argv[3]) : 2048;
    const int threads = argc > 4 ? atoi(argv[4]) : 1, reps = argc > 5 ? atoi(argv[5]) : 15;
    uint32_t type = GGML_TYPE_COUNT;
    for (uint32_t t = 0; t < MOTE_TYPE_COUNT; t++)
        if (ggml_type_get(t) && ggml_type_get(t)->name && strcasecmp(ggml_type_get(t)->name, tname) == 0) type = t;
    if (type == GGML_TYPE_COUNT || !kernels_supported(type) || m <= 0 || k <= 0 || reps <= 0 ||
        ggml_row_size(type, k) == 0) {
        fprintf(stderr, "usage: alone-bench [TYPE [M [K [THREADS [REPS]]]]] (a supported type, K a multiple of its block)\n");
        return 2;
    }
    enum { NMAX = 8 };
    const size_t wrow = ggml_row_size(type, k);
    float *row = malloc((size_t)k * sizeof *row), *X = malloc((size_t)NMAX * k * sizeof *X);
    float *Y0 = malloc((size_t)NMAX * m * sizeof *Y0), *Y1 = malloc((size_t)NMAX * m * sizeof *Y1);
    uint8_t *W = malloc((size_t)m * wrow);
    void *scratch = malloc(matmul_scratch_size(type, k, NMAX) + 64);
    if (!row || !X || !Y0 || !Y1 || !W || !scratch) return 1;
    for (int64_t r = 0; r < m; r++) {
        for (int64_t i = 0; i < k; i++) row[i] = normal();
        if (quantize_row(type, row, W + r * wrow, k) != MOTE_OK) return 1;
    }
    for (int64_t i = 0; i < NMAX * k; i++) X[i] = normal();
    mote_pool *pool = NULL;
    if (threads > 0 && pool_create(threads, &pool) != MOTE_OK) return 1;

    const kernel_ops *ops = kernels_get();
    kernel_ops dots = *ops; /* the same table without the alone gemm */
    memset(dots.vec_dot_rt, 0, sizeof dots.vec_dot_rt);
    printf("matmul_alone %s %lld x %lld, table %s, %d thread(s), median of %d\n", ggml_type_get(type)->name,
           (long long)m, (long long)k, ops->isa, threads > 0 ? threads : 1, reps);
    printf("| n | dot slots us | x n=1 | alone gemm us | x n=1 | speedup | same bits |\n|---:|---:|---:|---:|---:|---:|---|\n");
    static const int64_t ns[] = {1, 2, 4, 8};
    double base[2] = {0, 0};
    for (size_t b = 0; b < sizeof ns / sizeof ns[0]; b++) {
        job j[2] = {{&dots, pool, W, type, m, k, ns[b], X, Y0, scratch}, {ops, pool, W, type, m, k, ns[b], X, Y1, scratch}};
        /* calls per timing: ~20 ms at the first measure */
        time_call(&j[0], 2);
        const double once = time_call(&j[0], 3);
        const int calls = once > 0.02 ? 1 : (int)(0.02 / once) + 1;
        double *t[2] = {malloc(reps * sizeof(double)), malloc(reps * sizeof(double))};
        if (!t[0] || !t[1]) return 1;
        for (int r = 0; r < reps; r++)
            for (int v = 0; v < 2; v++) t[v][r] = time_call(&j[v], calls);
        double med[2];
        for (int v = 0; v < 2; v++) {
            qsort(t[v], reps, sizeof(double), cmp_double);
            med[v] = t[v][reps / 2] * 1e6;
            if (b == 0) base[v] = med[v];
            free(t[v]);
        }
        const int same = memcmp(Y0, Y1, (size_t)(ns[b] * m) * sizeof *Y0) == 0;
        printf("| %lld | %.1f | %.2f | %.1f | %.2f | %.2fx | %s |\n", (long long)ns[b], med[0], med[0] / base[0], med[1],
               med[1] / base[1], med[0] / med[1], same ? "yes" : "NO");
    }
    pool_free(pool);
    free(row), free(X), free(Y0), free(Y1), free(W), free(scratch);
    return 0;
}
