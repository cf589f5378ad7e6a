/*
 * layout_bench.c — the matrix product of one weight matrix, plain against
 * its stored kernel layout (tensor/layout.h), one thread, the two runs
 * alternating so both see the same machine state.
 *
 *   make -C bench build/layout-bench && bench/build/layout-bench [TYPE [M [K [N [REPS]]]]]
 *
 * TYPE Q8_0, Q4_0, IQ4_NL, Q4_K or Q6_K (a type with a layout; default Q8_0), an M x K matrix (default 2048 x 2048)
 * times N tokens (default 128: a prompt batch; 1: generation), REPS pairs
 * (default 7). Time is the thread's CPU time, so other processes on a busy
 * machine slow it less than they slow wall time. Prints the median
 * Gop/s (2 x multiply-adds) of each and the ratio layout / plain.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/kernels.h"
#include "tensor/layout.h"
#include "tensor/quant.h"

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    uint32_t plain = GGML_TYPE_Q8_0;
    for (uint32_t t = 0; argc > 1 && t < MOTE_TYPE_COUNT; t++)
        if (layout_of(t) && strcmp(argv[1], ggml_type_name(t)) == 0) plain = t;
    const int64_t m = argc > 2 ? atoll(argv[2]) : 2048, k = argc > 3 ? atoll(argv[3]) : 2048;
    const int64_t n = argc > 4 ? atoll(argv[4]) : 128;
    const int reps = argc > 5 ? atoi(argv[5]) : 7;
    const uint32_t lt = layout_of(plain);
    const size_t row = ggml_row_size(plain, k);
    uint8_t *W = malloc((size_t)m * row), *L = malloc((size_t)m * row);
    float *x = malloc((size_t)(n > 1 ? n : 1) * (size_t)k * sizeof *x), *Y = malloc((size_t)(m * n) * sizeof *Y);
    float *Y2 = malloc((size_t)(m * n) * sizeof *Y2);
    void *scratch = malloc(matmul_scratch_size(plain, k, n));
    double *tp = malloc((size_t)reps * sizeof *tp), *tl = malloc((size_t)reps * sizeof *tl);
    if (!W || !L || !x || !Y || !Y2 || !scratch || !tp || !tl || k > LAYOUT_K_MAX) return 1;
    uint64_t s = 88172645463325252ull;
    for (int64_t r = 0; r < m; r++) {
        for (int64_t i = 0; i < k; i++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            x[i] = (float)((int64_t)(s % 2001) - 1000) / 1000.0f;
        }
        quantize_row(plain, x, W + (size_t)r * row, k);
    }
    layout_pack(lt, W, m, k, L);
    for (int64_t i = 0; i < n * k; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        x[i] = (float)((int64_t)(s % 2001) - 1000) / 1000.0f;
    }
    for (int i = 0; i < reps; i++) {
        double t0 = cpu_s();
        matmul(NULL, W, plain, m, k, x, n, Y, scratch);
        double t1 = cpu_s();
        matmul(NULL, L, lt, m, k, x, n, Y2, scratch);
        double t2 = cpu_s();
        tp[i] = t1 - t0, tl[i] = t2 - t1;
    }
    qsort(tp, (size_t)reps, sizeof *tp, cmp_double);
    qsort(tl, (size_t)reps, sizeof *tl, cmp_double);
    const double ops = 2.0 * (double)m * (double)k * (double)n;
    printf("%s %lld x %lld, %lld tokens, %s: plain %.1f Gop/s, layout %.1f Gop/s, layout/plain %.3f, results %s\n",
           ggml_type_name(plain), (long long)m, (long long)k, (long long)n, kernels_get()->isa,
           ops / tp[reps / 2] * 1e-9, ops / tl[reps / 2] * 1e-9, tp[reps / 2] / tl[reps / 2],
           memcmp(Y, Y2, (size_t)(m * n) * sizeof *Y) == 0 ? "equal" : "DIFFER");
    return 0;
}
