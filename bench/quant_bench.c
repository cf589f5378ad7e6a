/*
 * quant_bench.c — how fast mote quantizes a weight matrix for a model file
 * (quantize_rows, src/tensor/quant.h), side by side with llama.cpp's
 * ggml_quantize_chunk on the same rows, one thread each.
 *
 *   make -C bench build/quant-bench && bench/build/quant-bench [TYPE [ROWS [COLS [REPS]]]]
 *
 * TYPE is a ggml type name (default Q4_K), the matrix ROWS x COLS gaussian
 * F32 (default 64 x 4096), quantized with a random importance matrix and
 * without one. The two quantizers alternate REPS times (default 7) so both
 * see the same machine state; prints the median MB/s of F32 input of each,
 * the ratio mote / ggml, and whether the bytes agree.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gguf/ggml_type.h"
#include "tensor/quant.h"

/* llama.cpp's ggml.h, declared here so that only the library is needed. */
size_t ggml_quantize_chunk(int type, const float *src, void *dst, int64_t start, int64_t nrows,
                           int64_t n_per_row, const float *imatrix);

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

static uint64_t rng_state = 0x2545f4914f6cdd1du;

static double uniform(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static float gaussian(void)
{
    return (float)(sqrt(-2 * log(uniform() + 1e-300)) * cos(6.283185307179586 * uniform()));
}

static int type_by_name(const char *name)
{
    for (uint32_t t = 0; t < GGML_TYPE_COUNT; t++)
        if (tensor_quantizer(t) && strcasecmp(ggml_type_name(t), name) == 0) return (int)t;
    return -1;
}

/* Median seconds of mote and of ggml over reps alternated runs. */
static void time_both(uint32_t type, const float *x, const float *qw, int rows, int cols, int reps,
                      uint8_t *qm, uint8_t *qg, double *t_mote, double *t_ggml)
{
    double *tm = malloc(reps * sizeof *tm), *tg = malloc(reps * sizeof *tg);
    for (int r = 0; r < reps; r++) {
        double t0 = now_s();
        if (quantize_rows(type, x, qm, rows, cols, qw, NULL) != MOTE_OK) {
            fprintf(stderr, "quant-bench: %s\n", mote_last_error());
            exit(1);
        }
        double t1 = now_s();
        ggml_quantize_chunk((int)type, x, qg, 0, rows, cols, qw);
        double t2 = now_s();
        tm[r] = t1 - t0;
        tg[r] = t2 - t1;
    }
    qsort(tm, reps, sizeof *tm, cmp_double);
    qsort(tg, reps, sizeof *tg, cmp_double);
    *t_mote = tm[reps / 2];
    *t_ggml = tg[reps / 2];
    free(tm);
    free(tg);
}

int main(int argc, char **argv)
{
    const char *tname = argc > 1 ? argv[1] : "Q4_K";
    const int rows = argc > 2 ? atoi(argv[2]) : 64;
    const int cols = argc > 3 ? atoi(argv[3]) : 4096;
    const int reps = argc > 4 ? atoi(argv[4]) : 7;
    const int type = type_by_name(tname);
    if (type < 0 || rows < 1 || cols < 1 || reps < 1 || tensor_row_check((uint32_t)type, cols) != MOTE_OK) {
        fprintf(stderr, "usage: quant-bench [TYPE [ROWS [COLS [REPS]]]] (COLS whole blocks of TYPE)\n");
        return 2;
    }
    float *x = malloc((size_t)rows * cols * sizeof *x), *qw = malloc((size_t)cols * sizeof *qw);
    const size_t bytes = (size_t)rows * ggml_row_size((uint32_t)type, cols);
    uint8_t *qm = malloc(bytes), *qg = malloc(bytes);
    if (!x || !qw || !qm || !qg) return 1;
    for (size_t i = 0; i < (size_t)rows * cols; i++) x[i] = gaussian();
    for (int i = 0; i < cols; i++) qw[i] = (float)(0.01 + 4 * uniform() * uniform());

    const double mb = (double)rows * cols * sizeof(float) / 1e6;
    printf("quantize %s, %d x %d F32 (%.1f MB), one thread, median of %d alternated runs\n",
           ggml_type_name((uint32_t)type), rows, cols, mb, reps);
    for (int weighted = 1; weighted >= 0; weighted--) {
        double tm, tg;
        time_both((uint32_t)type, x, weighted ? qw : NULL, rows, cols, reps, qm, qg, &tm, &tg);
        printf("  %-11s mote %8.2f MB/s   ggml %8.2f MB/s   mote/ggml %.2fx   bytes %s\n",
               weighted ? "imatrix" : "no imatrix", mb / tm, mb / tg, tg / tm,
               memcmp(qm, qg, bytes) == 0 ? "equal" : "DIFFER");
    }
    free(x);
    free(qw);
    free(qm);
    free(qg);
    return 0;
}
