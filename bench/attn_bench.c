/*
 * attn_bench.c — the streaming attention kernels (src/kernels/attention.h)
 * of every kernel table this CPU runs, one thread, over a long context.
 *
 *   make -C bench build/attn-bench && bench/build/attn-bench [N_POS [HEAD_DIM [REPS]]]
 *
 * An F16 and a Q8_0 cache of N_POS positions (default 4096) with 3 KV heads
 * of HEAD_DIM (default 64) per row, walked chunk by chunk as the forward
 * pass does, for 1, 3 and 4 queries (a generation step's heads of one KV
 * head: the narrow bodies) and 63 and 64 (a prompt batch's tokens x heads:
 * the wide bodies). Prints the median of REPS (default 7) timings (the
 * thread's CPU time) as GFLOP/s: 4 * queries * positions * head_dim (q.k
 * and p.v, a multiply and an add each). Compare with the F32 FMA peak of
 * bench/build/limits -t 1.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "gguf/ggml_type.h"
#include "kernels/attention.h"
#include "kernels/kernels.h"
#include "tensor/quant.h"

#define KV_HEADS 3
#define MAX_TABLES 8
#define MAX_REPS 99

/* The thread's CPU time: on a shared, loaded machine the wall clock
 * mostly measures the waits for a core. */
static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Seconds (median of reps) for g queries over n positions of KV head 1. */
static double time_kernel(attn_chunk_fn f, const float *q, int g, const char *k, const char *v, size_t row_bytes,
                          size_t head_bytes, int n, int hd, float *part, int reps)
{
    double t[MAX_REPS];
    for (int r = 0; r < reps; r++) {
        const double t0 = now_s();
        for (int c0 = 0; c0 < n; c0 += ATTN_CHUNK) {
            const int len = n - c0 < ATTN_CHUNK ? n - c0 : ATTN_CHUNK;
            f(q, hd, g, k + (size_t)c0 * row_bytes + head_bytes, v + (size_t)c0 * row_bytes + head_bytes, row_bytes,
              len, hd, 0.125f, part);
        }
        t[r] = now_s() - t0;
    }
    qsort(t, (size_t)reps, sizeof t[0], cmp_double);
    return t[reps / 2];
}

int main(int argc, char **argv)
{
    const int n = argc > 1 ? atoi(argv[1]) : 4096, hd = argc > 2 ? atoi(argv[2]) : 64;
    int reps = argc > 3 ? atoi(argv[3]) : 7;
    if (n < 1 || hd < 1 || hd > ATTN_HD_MAX || hd % QK8_0 != 0 || reps < 1) {
        fprintf(stderr, "usage: attn-bench [N_POS [HEAD_DIM (a multiple of %d) [REPS]]]\n", QK8_0);
        return 2;
    }
    if (reps > MAX_REPS) reps = MAX_REPS;
    static const int queries[] = {1, 3, 4, 63, ATTN_QMAX};
    const kernel_ops *t[MAX_TABLES];
    const int n_tables = kernels_available(t, MAX_TABLES);
    float *q = malloc(sizeof(float) * ATTN_QMAX * (size_t)hd);
    float *part = malloc(sizeof(float) * ATTN_QMAX * attn_part_stride(hd));
    float *row = malloc(sizeof(float) * KV_HEADS * (size_t)hd);
    srand(1);
    for (int i = 0; i < ATTN_QMAX * hd; i++) q[i] = (float)rand() / RAND_MAX - 0.5f;
    printf("attention kernels, one thread, %d positions, head dim %d, median of %d, CPU time (GFLOP/s)\n", n, hd, reps);
    printf("%-8s %-12s", "cache", "table");
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) printf("  q=%-5d", queries[i]);
    printf("\n");
    for (int ti = 0; ti < 2; ti++) {
        const uint32_t type = ti == 0 ? GGML_TYPE_F16 : GGML_TYPE_Q8_0;
        const size_t row_bytes = ggml_row_size(type, KV_HEADS * hd), head_bytes = ggml_row_size(type, hd);
        char *k = malloc(row_bytes * (size_t)n), *v = malloc(row_bytes * (size_t)n);
        for (int i = 0; i < 2 * n; i++) {
            for (int c = 0; c < KV_HEADS * hd; c++) row[c] = (float)rand() / RAND_MAX * 2.0f - 1.0f;
            quantize_row(type, row, (i < n ? k : v) + (size_t)(i % n) * row_bytes, KV_HEADS * hd);
        }
        for (int i = n_tables - 1; i >= 0; i--) {
            printf("%-8s %-12s", ggml_type_name(type), t[i]->isa);
            for (size_t qi = 0; qi < sizeof queries / sizeof queries[0]; qi++) {
                const int g = queries[qi];
                const double s = time_kernel(attn_chunk_kernel(type, t[i]), q, g, k, v, row_bytes, head_bytes, n, hd,
                                             part, reps);
                printf("  %7.1f", 4.0 * g * n * hd / s * 1e-9);
            }
            printf("\n");
            fflush(stdout);
        }
        free(k);
        free(v);
    }
    free(q);
    free(part);
    free(row);
    return 0;
}
