/*
 * tuning.h — the choices matmul makes that never change its results.
 *
 * matmul (kernels.c) computes every output with the same function on the
 * same data whatever the split of the work (see there), so how the work is
 * cut and handed out is free to choose per machine: the tiles of the dot
 * and gemm paths (a gemm's tile in multiples of 4 rows and tokens, which
 * keeps the groups of 4 tokens some types round by aligned), how many work items a thread takes at a time, how far ahead the
 * weights are prefetched, and how many threads a small product is worth.
 * Those choices are a kernel_tuning, looked up per weight type and shape
 * class (the product's m * k, and its token count n, in buckets). The
 * defaults are what matmul always did; `mote tune` times the alternatives
 * on a model's shapes and its profile sets the table once per process
 * (engine/tune_profile.c).
 *
 * Not a choice: whether a batch takes the gemm or the dot slots
 * (GEMM_MIN_N). The avx512fast table's gemms round differently from its
 * dot slots, so the switch point changes results there.
 */
#ifndef MOTE_KERNELS_TUNING_H
#define MOTE_KERNELS_TUNING_H

#include <stdint.h>

typedef struct kernel_tuning {
    int32_t tile_m;       /* dot path: weight rows per work item (>= 1) */
    int32_t tile_n;       /* dot path: tokens per work item (>= 1) */
    int32_t grab_min;     /* dot and gemm paths: fewest work items a thread takes at a time (>= 1) */
    int32_t quarters_min; /* one to three tokens read in quarters: fewest rows per run (a multiple of 4) */
    int32_t pf_ahead;     /* dot path: bytes of weights prefetched ahead of the rows computed (0: none) */
    int32_t threads;      /* most threads that work on one product (0: every thread of the pool) */
    int32_t gemm_m;       /* gemm path: weight rows per work item (a multiple of 4, <= GEMM_MR) */
    int32_t gemm_n;       /* gemm path: tokens per work item (a multiple of 4, <= GEMM_NT: Q4_K's gemms
                             rely on it, their batch order changing at the batch's last multiple of 4) */
} kernel_tuning;
#define TUNING_FIELDS 8   /* int32_t fields above, in this order (profiles name them) */

/* Bounds a profile's values are held to (tuning_valid). */
#define TUNING_TILE_MAX 1024
#define TUNING_GRAB_MAX 4096
#define TUNING_QUARTERS_MAX 65536
#define TUNING_PF_MAX (1 << 20)

/* Shape classes: m * k in powers of four from 2^18 (TUNING_MK_CLASSES
 * buckets, the last open-ended), and n as 1, 2..15, 16..127, 128 and more. */
#define TUNING_MK_CLASSES 6
#define TUNING_N_CLASSES 4
int tuning_mk_class(int64_t m, int64_t k);
int tuning_n_class(int64_t n);
/* The smallest n and m * k of a class (for describing it). */
int64_t tuning_n_class_min(int n_class);
int64_t tuning_mk_class_min(int mk_class);

/* What matmul always did: the values kernels.c's comments explain. */
kernel_tuning tuning_default(void);
/* 1 if every field is within its bounds above. */
int tuning_valid(const kernel_tuning *t);
int tuning_equal(const kernel_tuning *a, const kernel_tuning *b);
/* Field i < TUNING_FIELDS of t, and its name ("tile_m", ... as profiles
 * write them). */
int32_t *tuning_field(kernel_tuning *t, int i);
const char *tuning_field_name(int i);

/* The process-wide choice for a product (the default unless set). */
const kernel_tuning *tuning_for(uint32_t wtype, int64_t m, int64_t k, int64_t n);
/* Set one class's choice (wtype < MOTE_TYPE_COUNT, classes in range, t
 * valid; returns 0, else -1 and changes nothing). Call with no matmul
 * running: the table is read without locks. */
int tuning_set(uint32_t wtype, int mk_class, int n_class, const kernel_tuning *t);
/* Every class back to the default (same caveat). */
void tuning_reset(void);

#endif
