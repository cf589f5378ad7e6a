/*
 * tuning.c — the process-wide table of matmul's free choices (tuning.h).
 */
#include "kernels/tuning.h"

#include "gguf/ggml_type.h"
#include "kernels/kernels.h"
#include "mote.h"

/* Defaults: kernels.c's measured choices (see the comments there). */
#define TILE_M_DEFAULT 16
#define TILE_N_DEFAULT 32
#define GRAB_MIN_DEFAULT 1
#define QUARTERS_MIN_DEFAULT 64 /* 16 rows per stream */
#define PF_AHEAD_DEFAULT 4096

#define MK_CLASS_FIRST_LOG2 18 /* m * k below 2^18 is class 0 */

static kernel_tuning table[MOTE_TYPE_COUNT][TUNING_MK_CLASSES][TUNING_N_CLASSES];
static unsigned char is_set[MOTE_TYPE_COUNT][TUNING_MK_CLASSES][TUNING_N_CLASSES];

static const kernel_tuning default_tuning = {
    .tile_m = TILE_M_DEFAULT,
    .tile_n = TILE_N_DEFAULT,
    .grab_min = GRAB_MIN_DEFAULT,
    .quarters_min = QUARTERS_MIN_DEFAULT,
    .pf_ahead = PF_AHEAD_DEFAULT,
    .threads = 0,
    .gemm_m = GEMM_MR,
    .gemm_n = GEMM_NT,
};

kernel_tuning tuning_default(void)
{
    return default_tuning;
}

int tuning_mk_class(int64_t m, int64_t k)
{
    const double mk = (double)m * (double)k;
    int c = 0;
    for (double lim = (double)(1 << MK_CLASS_FIRST_LOG2); c < TUNING_MK_CLASSES - 1 && mk >= lim; lim *= 4) c++;
    return c;
}

int tuning_n_class(int64_t n)
{
    return n <= 1 ? 0 : n < 16 ? 1 : n < 128 ? 2 : 3;
}

int64_t tuning_n_class_min(int n_class)
{
    static const int64_t min[TUNING_N_CLASSES] = {1, 2, 16, 128};
    return n_class >= 0 && n_class < TUNING_N_CLASSES ? min[n_class] : 0;
}

int64_t tuning_mk_class_min(int mk_class)
{
    if (mk_class <= 0) return 0;
    return (int64_t)1 << (MK_CLASS_FIRST_LOG2 + 2 * (mk_class - 1));
}

int tuning_valid(const kernel_tuning *t)
{
    return t && t->tile_m >= 1 && t->tile_m <= TUNING_TILE_MAX && t->tile_n >= 1 && t->tile_n <= TUNING_TILE_MAX &&
           t->grab_min >= 1 && t->grab_min <= TUNING_GRAB_MAX && t->quarters_min >= 4 &&
           t->quarters_min <= TUNING_QUARTERS_MAX && t->quarters_min % 4 == 0 && t->pf_ahead >= 0 &&
           t->pf_ahead <= TUNING_PF_MAX && t->threads >= 0 && t->threads <= MOTE_N_THREADS_MAX && t->gemm_m >= 4 &&
           t->gemm_m <= GEMM_MR && t->gemm_m % 4 == 0 && t->gemm_n >= 4 && t->gemm_n <= GEMM_NT && t->gemm_n % 4 == 0;
}

int32_t *tuning_field(kernel_tuning *t, int i)
{
    int32_t *f[TUNING_FIELDS] = {&t->tile_m,  &t->tile_n,  &t->grab_min, &t->quarters_min,
                                 &t->pf_ahead, &t->threads, &t->gemm_m,   &t->gemm_n};
    return f[i];
}

const char *tuning_field_name(int i)
{
    static const char *const names[TUNING_FIELDS] = {"tile_m",   "tile_n",  "grab_min", "quarters_min",
                                                     "pf_ahead", "threads", "gemm_m",   "gemm_n"};
    return i >= 0 && i < TUNING_FIELDS ? names[i] : NULL;
}

int tuning_equal(const kernel_tuning *a, const kernel_tuning *b)
{
    kernel_tuning x = *a, y = *b;
    for (int i = 0; i < TUNING_FIELDS; i++)
        if (*tuning_field(&x, i) != *tuning_field(&y, i)) return 0;
    return 1;
}

const kernel_tuning *tuning_for(uint32_t wtype, int64_t m, int64_t k, int64_t n)
{
    if (wtype >= MOTE_TYPE_COUNT) return &default_tuning;
    const int mc = tuning_mk_class(m, k), nc = tuning_n_class(n);
    return is_set[wtype][mc][nc] ? &table[wtype][mc][nc] : &default_tuning;
}

int tuning_set(uint32_t wtype, int mk_class, int n_class, const kernel_tuning *t)
{
    if (wtype >= MOTE_TYPE_COUNT || mk_class < 0 || mk_class >= TUNING_MK_CLASSES || n_class < 0 ||
        n_class >= TUNING_N_CLASSES || !tuning_valid(t))
        return -1;
    table[wtype][mk_class][n_class] = *t;
    is_set[wtype][mk_class][n_class] = 1;
    return 0;
}

void tuning_reset(void)
{
    for (int t = 0; t < MOTE_TYPE_COUNT; t++)
        for (int i = 0; i < TUNING_MK_CLASSES; i++)
            for (int j = 0; j < TUNING_N_CLASSES; j++) is_set[t][i][j] = 0;
}
