/*
 * kernels.c — choosing a kernel table, and the matrix product built on it.
 *
 * Tables, best first, are listed in isa_list; kernels_get() takes the first
 * this CPU runs (base/cpu.h), or the one MOTE_ISA names if the CPU runs it.
 *
 * matmul converts the n activation rows to the weight type's vec_dot type
 * once (rows split over the threads), then splits the output tiles (weight
 * rows x tokens) over the threads. Every output element is computed by the
 * same function on the same data whatever the thread count or tiling
 * (vec_dot4 is bit-identical to vec_dot; a gemm's per-output arithmetic
 * does not depend on its tile), so results are bit-identical for any
 * number of threads.
 */
#include "kernels/kernels.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/cpu.h"
#include "kernels/dot_neon.h"
#include "kernels/kernels_isa.h"
#include "kernels/tuning.h"
#include "tensor/layout.h"
#include "tensor/quant.h"

/* ------------------------------------------------------------------------
 * Types
 * ---------------------------------------------------------------------- */

uint32_t vec_dot_type(uint32_t wtype)
{
    switch (layout_plain(wtype)) {
    case GGML_TYPE_F32:
    case MOTE_TYPE_FP8: return GGML_TYPE_F32;
    case GGML_TYPE_F16: return GGML_TYPE_F16;
    case GGML_TYPE_BF16: return GGML_TYPE_BF16;
    case GGML_TYPE_Q4_0:
    case GGML_TYPE_Q5_0:
    case GGML_TYPE_Q8_0:
    case GGML_TYPE_IQ4_NL: return GGML_TYPE_Q8_0;
    case GGML_TYPE_Q4_1:
    case GGML_TYPE_Q5_1: return GGML_TYPE_Q8_1;
    case GGML_TYPE_Q2_K:
    case GGML_TYPE_Q3_K:
    case GGML_TYPE_Q4_K:
    case GGML_TYPE_Q5_K:
    case GGML_TYPE_Q6_K:
    case GGML_TYPE_IQ4_XS: return GGML_TYPE_Q8_K;
    default: return GGML_TYPE_COUNT;
    }
}

int kernels_supported(uint32_t wtype)
{
    if (layout_is(wtype)) return kernels_supported(layout_plain(wtype));
    uint32_t vt = vec_dot_type(wtype);
    const kernel_ops *ops = kernels_scalar();
    return vt != GGML_TYPE_COUNT && tensor_type_supported(wtype) && ops->vec_dot[wtype] &&
           ops->quantize[vt] && tensor_dequantizer(wtype);
}

/* ------------------------------------------------------------------------
 * Table selection
 * ---------------------------------------------------------------------- */

typedef struct isa_entry {
    const char *name;                 /* MOTE_ISA value */
    const kernel_ops *(*table)(void); /* the table */
    int (*available)(void);           /* 1 if this CPU can run it */
} isa_entry;

static int always(void)
{
    return 1;
}

/* Best first: kernels_get() takes the first one this CPU can run. One line
 * per level; a level exists only on the architecture it targets.
 * avx512fast (batches in the gemms' own order for every type, see
 * dot_avx512.c) ranks below avx512 (batches as llama.cpp rounds them for
 * the types that allow it), so only MOTE_ISA=avx512fast picks it. */
static const isa_entry isa_list[] = {
#if defined(__x86_64__)
    {"avx512", kernels_avx512, cpu_has_avx512_level},
    {"avx512fast", kernels_avx512fast, cpu_has_avx512_level},
    {"avx2", kernels_avx2, cpu_has_avx2_level},
#endif
#if defined(__aarch64__)
    {"dotprod", kernels_dotprod, cpu_has_dotprod},
    {"neon", kernels_neon, always}, /* Advanced SIMD is baseline on AArch64 */
#endif
    {"scalar", kernels_scalar, always},
};
#define N_ISA ((int)(sizeof isa_list / sizeof isa_list[0]))

int kernels_available(const kernel_ops **out, int cap)
{
    int n = 0;
    for (int i = 0; i < N_ISA; i++) {
        if (!isa_list[i].available()) continue;
        if (n < cap) out[n] = isa_list[i].table();
        n++;
    }
    return n;
}

const kernel_ops *kernels_for_isa(const char *name)
{
    const kernel_ops *best = NULL;
    for (int i = 0; i < N_ISA; i++) {
        if (!isa_list[i].available()) continue;
        if (!best) best = isa_list[i].table();
        if (name && strcmp(name, isa_list[i].name) == 0) return isa_list[i].table();
    }
    return best; /* the scalar entry is always available, so never NULL */
}

static const kernel_ops *chosen;
static pthread_once_t chosen_once = PTHREAD_ONCE_INIT;

static void choose(void)
{
    chosen = kernels_for_isa(getenv("MOTE_ISA"));
}

const kernel_ops *kernels_get(void)
{
    pthread_once(&chosen_once, choose);
    return chosen;
}

/* ------------------------------------------------------------------------
 * Matrix product
 * ---------------------------------------------------------------------- */

/* Work items: output tiles of TILE_M weight rows x TILE_N tokens (gemm:
 * GEMM_MR rows x GEMM_NT tokens), numbered row tile major, or for one to
 * three tokens with a four-row slot, groups of 4 rows (a run of them is
 * read in four streams, see dot_quarters). Threads take runs of
 * consecutive items from a shared counter, each a share of what is left
 * (see grab): a thread slowed by the machine's other work takes less,
 * where a fixed split would leave the others waiting at the end of every
 * matmul, and the runs shrink towards the end so that the threads finish
 * together. Within a tile each weight row is reused for the tile's tokens
 * while it is in L1, and the tile's converted activation rows stay in L2
 * across its rows. Which function computes an output depends only on its
 * token index (see batch_dot), never on the split. The tiles (16 x 32 by
 * default; gemm GEMM_MR x GEMM_NT), the fewest items per run (1; in
 * quarters 64 rows, 16 per stream), the prefetch distance below and the
 * threads a product gets are a kernel_tuning (tuning.h), which `mote
 * tune` may set per weight type and shape. */
/* Below this many multiply-adds (m * k * n) a matmul runs on the calling
 * thread alone. A worker's part of it costs about a microsecond to hand
 * over (measured on 2 cores with a pool whose every worker ran its part:
 * a 64 x 64 Q8_0 product, 0.24 us on one thread, 1.1 us on two), half
 * of what the whole product takes on one thread at this size (~2 us);
 * and a worker that takes a part and then loses its core makes the
 * caller wait for it, up to a scheduler time slice. The result is the
 * same either way (see above). */
#define INLINE_MACS 65536

typedef struct matmul_ctx {
    const uint8_t *W;     /* m rows of w_row bytes */
    size_t w_row;         /* bytes per weight row */
    int64_t m;            /* weight rows = outputs per token */
    int64_t k;            /* elements per row (the reduction length) */
    int64_t n;            /* tokens (activation rows) */
    const float *X;       /* [n][k] F32 activations */
    uint8_t *Xq;          /* [n][x_row] converted activations (== X for F32) */
    size_t x_row;         /* bytes per converted row */
    quantize_fn quantize; /* F32 -> vec_dot type, one row */
    vec_dot_fn dot;       /* weight row . converted row */
    vec_dot4_fn dot4;     /* four rows of dot at once, NULL if none */
    vec_dot_fn dot_batch; /* the same for rows t < n_batch (see batch_dot) */
    int64_t n_batch;      /* rows that use dot_batch */
    gemm_fn gemm;         /* every output of the batch, if not NULL */
    vec_dot_rt_fn rt;     /* else every output by the alone gemm, if not NULL */
    uint32_t layout;      /* W's layout type (tensor/layout.h), 0 if plain */
    int64_t tile_m;       /* rows per work item */
    int64_t tile_n;       /* tokens per work item */
    int quarters;         /* 1: one to three tokens by dot4, in quarters */
    long items;           /* work items (quarters: groups of 4 rows) */
    long grab_min;        /* fewest items a thread takes at a time */
    long nth;             /* threads that take items (parts ith >= nth return at once) */
    size_t pf_ahead;      /* bytes prefetched ahead of the rows computed (see prefetch_to) */
    atomic_long next;     /* the first item not yet taken */
    float *Y;             /* [n][m] outputs */
} matmul_ctx;

static void convert_rows(void *arg, int ith, int nth)
{
    matmul_ctx *c = arg;
    long lo, hi;
    pool_split((long)c->n, ith, nth, &lo, &hi);
    for (long t = lo; t < hi; t++) c->quantize(c->X + t * c->k, c->Xq + (size_t)t * c->x_row, c->k);
}

/* Software prefetch of the weights. Token generation streams every weight
 * matrix once per token, but the dot slots read a few rows at a time, each
 * row a stream of only a few cache lines (a 576-element Q8_0 row is 612
 * bytes), too short for the hardware prefetchers to train on; measured on
 * Zen 5, the four-row Q8_0 kernel then reads ~6 GB/s where a plain
 * sequential read reaches ~35. So the row loop keeps a cursor pf_ahead
 * bytes (4096 by default, see tuning.h) ahead of the rows being computed
 * and prefetches up to it (the cursor lives across the tiles of one
 * thread's run, which are consecutive rows when there is one token tile).
 * Prefetches never fault, so running past the end of the matrix is
 * harmless. Rows of PF_ROW_MAX bytes or more are not prefetched: each is
 * then whole pages read in order, which the hardware follows, and the
 * prefetch instructions only cost (llama-3.2-1b F16 generation, 4 KiB
 * rows: 7% faster without). */
#define PF_ROW_MAX 4096

static inline void prefetch_to(const uint8_t **pf, const uint8_t *from, const uint8_t *to)
{
    const uint8_t *p = *pf > from ? *pf : from;
    for (; p < to; p += 64) __builtin_prefetch(p, 0, 3);
    if (p > *pf) *pf = p;
}

/* Outputs of rows r0..r1 for tokens t0..t1 with the dot slots; *pf is the
 * prefetch cursor (see PF_AHEAD). */
static void dot_tile(const matmul_ctx *c, int64_t r0, int64_t r1, int64_t t0, int64_t t1, const uint8_t **pf)
{
    for (int64_t r = r0; r < r1;) {
        const uint8_t *w = c->W + (size_t)r * c->w_row;
        const int four = c->dot4 && r + 4 <= r1;
        const int64_t rows = four ? 4 : 1;
        if (c->w_row < PF_ROW_MAX) prefetch_to(pf, w, w + rows * c->w_row + c->pf_ahead);
        for (int64_t t = t0; t < t1; t++) {
            const uint8_t *x = c->Xq + (size_t)t * c->x_row;
            float *y = &c->Y[t * c->m + r];
            if (t < c->n_batch) {
                for (int j = 0; j < rows; j++) c->dot_batch(c->k, y + j, w + j * c->w_row, x);
            } else if (four) {
                c->dot4(c->k, y, w, c->w_row, x);
            } else {
                c->dot(c->k, y, w, x);
            }
        }
        r += rows;
    }
}

/* The same tile with the alone gemm (vec_dot_rt: vec_dot's outputs). */
static void rt_tile(const matmul_ctx *c, int64_t r0, int64_t r1, int64_t t0, int64_t t1, const uint8_t **pf)
{
    const uint8_t *w = c->W + (size_t)r0 * c->w_row;
    if (c->w_row < PF_ROW_MAX) prefetch_to(pf, w, w + (r1 - r0) * c->w_row + c->pf_ahead);
    c->rt(c->k, w, c->w_row, c->Xq + (size_t)t0 * c->x_row, c->x_row, &c->Y[t0 * c->m + r0], c->m,
          (int)(r1 - r0), (int)(t1 - t0));
}

/* Rows r0..r1 times one to three vectors with the four-row slot (token
 * generation): the run is cut in four quarters, and the four rows of
 * each dot4 call are one from each quarter (w_stride = a quarter). Each of
 * the four weight streams is then a long sequential read, which the
 * hardware prefetchers follow, where four adjacent rows would be four
 * streams of one row each (a 2048-element Q8_0 row is 2176 bytes),
 * restarted at every call: measured on Zen 5, one thread reads ~9 GB/s
 * that way and ~32 GB/s in quarters. The rows left over go to vec_dot.
 * Two or three tokens with the alone gemm (matmul_alone) take the same
 * four rows in one call. Results are those of vec_dot, whatever the order
 * of the rows. */
static void dot_quarters(const matmul_ctx *c, int64_t r0, int64_t r1)
{
    const int64_t q = (r1 - r0) / 4;
    const size_t ws = (size_t)q * c->w_row;
    for (int64_t i = 0; i < q; i++) {
        const uint8_t *w = c->W + (size_t)(r0 + i) * c->w_row;
        if (c->rt) { /* the four rows times every token at once */
            float s[4 * GEMM_MIN_N];
            c->rt(c->k, w, ws, c->Xq, c->x_row, s, 4, 4, (int)c->n);
            for (int64_t t = 0; t < c->n; t++)
                for (int j = 0; j < 4; j++) c->Y[t * c->m + r0 + i + j * q] = s[t * 4 + j];
            continue;
        }
        for (int64_t t = 0; t < c->n; t++) {
            float s[4];
            float *y = &c->Y[t * c->m + r0 + i];
            c->dot4(c->k, s, w, ws, c->Xq + (size_t)t * c->x_row);
            for (int j = 0; j < 4; j++) y[j * q] = s[j];
        }
    }
    for (int64_t r = r0 + 4 * q; r < r1; r++)
        for (int64_t t = 0; t < c->n; t++)
            c->dot(c->k, &c->Y[t * c->m + r], c->W + (size_t)r * c->w_row, c->Xq + (size_t)t * c->x_row);
}

/* The dot product of the plain type for token t (see batch_dot). */
static inline void plain_dot(const matmul_ctx *c, int64_t t, int64_t r, const void *row)
{
    (t < c->n_batch ? c->dot_batch : c->dot)(c->k, &c->Y[t * c->m + r], row, c->Xq + (size_t)t * c->x_row);
}

/* Rows r0..r1 (whole groups) of a layout matrix taken back to plain rows
 * one at a time (correct, not fast). Not inlined: the row buffer stays
 * off the stack of the gemm paths. */
#define LAYOUT_ROW_MAX (LAYOUT_K_MAX / 32 * 34) /* bytes of the longest plain row (Q8_0's) */
_Static_assert(LAYOUT_ROW_MAX >= LAYOUT_K_MAX / QK_K * sizeof(block_q6_K) &&
                   LAYOUT_ROW_MAX >= LAYOUT_K_MAX / QK_K * sizeof(block_q4_K),
               "a Q6_K or Q4_K row fits");
static __attribute__((noinline)) void layout_rows_plain(const matmul_ctx *c, int64_t r0, int64_t r1, int64_t t0,
                                                        int64_t t1)
{
    uint8_t row[LAYOUT_ROW_MAX] __attribute__((aligned(64)));
    for (int64_t r = r0; r < r1; r++) {
        layout_row(c->layout, c->W, c->m, c->k, r, row);
        for (int64_t t = t0; t < t1; t++) plain_dot(c, t, r, row);
    }
}

/* Rows r0..r1 (r0 a multiple of LAYOUT_ROWS) of a layout matrix for tokens
 * t0..t1: the whole groups by the table's gemm for the layout type (or
 * its alone gemm, see matmul_run), or else row by row taken back to a
 * plain row and multiplied by the plain type's dot slots (correct, not
 * fast); the tail rows are plain rows. Every output is the plain type's
 * for the same tokens, so the layout changes no bit. */
static void layout_tile(const matmul_ctx *c, int64_t r0, int64_t r1, int64_t t0, int64_t t1)
{
    const int64_t m16 = c->m - c->m % LAYOUT_ROWS, g1 = r1 < m16 ? r1 : m16;
    const uint8_t *w = c->W + (size_t)r0 * c->w_row, *x = c->Xq + (size_t)t0 * c->x_row;
    if (g1 > r0 && c->gemm) {
        c->gemm(c->k, w, c->w_row, x, c->x_row, c->X + t0 * c->k, c->Y + t0 * c->m + r0, c->m, (int)(g1 - r0),
                (int)(t1 - t0));
    } else if (g1 > r0 && c->rt) {
        c->rt(c->k, w, c->w_row, x, c->x_row, c->Y + t0 * c->m + r0, c->m, (int)(g1 - r0), (int)(t1 - t0));
    } else {
        layout_rows_plain(c, r0, g1, t0, t1);
    }
    for (int64_t r = g1 > r0 ? g1 : r0; r < r1; r++)
        for (int64_t t = t0; t < t1; t++) plain_dot(c, t, r, c->W + (size_t)r * c->w_row);
}

/* Takes the next run of work items (see matmul_ctx.next): a share of what
 * is left, 1 / (2 * threads) of it, but at least grab_min items. */
static int grab(matmul_ctx *c, long *lo, long *hi)
{
    long i = atomic_load_explicit(&c->next, memory_order_relaxed), n;
    do {
        if (i >= c->items) return 0;
        n = (c->items - i) / (2 * c->nth);
        if (n < c->grab_min) n = c->grab_min;
        if (n > c->items - i) n = c->items - i;
    } while (!atomic_compare_exchange_weak_explicit(&c->next, &i, i + n, memory_order_relaxed,
                                                    memory_order_relaxed));
    *lo = i;
    *hi = i + n;
    return 1;
}

/* Rows per gemm call when the batch is one token tile (a prompt of up to
 * GEMM_NT tokens): the fewest calls of at most GEMM_MR rows that come in
 * a multiple of nth and of GEMM_ROW_STEP rows each, so that the threads
 * get equal shares. Tiles of GEMM_MR rows would leave a short last one:
 * SmolLM2's 576 rows as 128 x 4 + 64 on two threads is 320 rows against
 * 256, its 192 as 128 + 64 twice the work on one thread. */
#define GEMM_ROW_STEP 16 /* the gemms' panels: a multiple of every one's rows */
/* work items of a layout matrix start at whole groups (layout_tile):
 * matmul_run rounds a tuned row tile up to whole groups, which these keep
 * within bounds */
_Static_assert(GEMM_MR % LAYOUT_ROWS == 0 && GEMM_ROW_STEP % LAYOUT_ROWS == 0, "layout groups");
static int64_t gemm_rows_even(int64_t m, long nth)
{
    const int64_t per = GEMM_MR * (int64_t)nth;
    const int64_t calls = (m + per - 1) / per * nth;
    const int64_t rows = (m + calls - 1) / calls;
    return (rows + GEMM_ROW_STEP - 1) / GEMM_ROW_STEP * GEMM_ROW_STEP;
}

static void dot_rows(void *arg, int ith, int nth)
{
    matmul_ctx *c = arg;
    long lo, hi;
    if (ith >= c->nth) return;
    if (c->quarters) {
        while (grab(c, &lo, &hi)) {
            const int64_t r0 = lo * 4, r1 = hi * 4 < c->m ? hi * 4 : c->m;
            dot_quarters(c, r0, r1);
        }
        return;
    }
    const int64_t ntt = (c->n + c->tile_n - 1) / c->tile_n;
    const uint8_t *pf = NULL;
    while (grab(c, &lo, &hi))
        for (long it = lo; it < hi; it++) {
            const int64_t r0 = it / ntt * c->tile_m, t0 = it % ntt * c->tile_n;
            const int64_t r1 = r0 + c->tile_m < c->m ? r0 + c->tile_m : c->m;
            const int64_t t1 = t0 + c->tile_n < c->n ? t0 + c->tile_n : c->n;
            if (c->layout)
                layout_tile(c, r0, r1, t0, t1);
            else if (c->gemm)
                c->gemm(c->k, c->W + (size_t)r0 * c->w_row, c->w_row, c->Xq + (size_t)t0 * c->x_row, c->x_row,
                        c->X + t0 * c->k, c->Y + t0 * c->m + r0, c->m, (int)(r1 - r0), (int)(t1 - t0));
            else if (c->rt)
                rt_tile(c, r0, r1, t0, t1, &pf);
            else
                dot_tile(c, r0, r1, t0, t1, &pf);
        }
}

vec_dot_fn batch_dot(const kernel_ops *ops, uint32_t wtype, int64_t m, int64_t k, int64_t n,
                     int64_t *rows)
{
    /* tinyBLAS needs k a multiple of its vector (16 floats, 32 BF16) and
     * m a multiple of 4 */
    const int64_t kn = wtype == GGML_TYPE_BF16 ? 32 : 16;
    if (ops->vec_dot_b2[wtype] && n >= 2 && k % kn == 0 && m % 4 == 0) {
        *rows = n;
        return ops->vec_dot_b2[wtype];
    }
    if (ops->vec_dot_b8[wtype] && n >= 8) {
        *rows = n;
        return ops->vec_dot_b8[wtype];
    }
    if (ops->vec_dot_x4[wtype]) {
        *rows = n - n % 4;
        return ops->vec_dot_x4[wtype];
    }
    *rows = 0;
    return ops->vec_dot[wtype];
}

gemm_fn batch_gemm(const kernel_ops *ops, uint32_t wtype, int64_t m, int64_t k, int64_t n)
{
    if (n < GEMM_MIN_N) return NULL;
    /* A type with a vec_dot_b2 slot (the float types) has a gemm in that
     * slot's order, which holds only where batch_dot would choose the slot
     * (m % 4, k % 16): a gemm sees one tile, not m. Elsewhere the dot
     * slots run. */
    int64_t rows;
    if (ops->vec_dot_b2[wtype] && batch_dot(ops, wtype, m, k, n, &rows) != ops->vec_dot_b2[wtype]) return NULL;
    return ops->gemm[wtype];
}

size_t matmul_scratch_size(uint32_t wtype, int64_t k, int64_t n)
{
    uint32_t vt = vec_dot_type(wtype);
    if (vt == GGML_TYPE_COUNT || vt == GGML_TYPE_F32) return 0;
    return (size_t)n * ggml_row_size(vt, k);
}

/* alone: every token's outputs as a batch of that token alone computes
 * them (vec_dot, or dot4 or the alone gemm vec_dot_rt, which equal it),
 * whatever n is. tu: how to split the work (NULL: the process's choice
 * for this product, tuning_for). */
static void matmul_run(const kernel_ops *ops, mote_pool *pool, const struct kernel_tuning *tu, const void *W,
                       uint32_t wtype, int64_t m, int64_t k, const float *X, int64_t n, float *Y, void *scratch,
                       int alone)
{
    const uint32_t vt = vec_dot_type(wtype), plain = layout_plain(wtype);
    if (vt == GGML_TYPE_COUNT || !ops->vec_dot[plain] || m <= 0 || n <= 0) return;
    matmul_ctx c = {
        .W = W,
        .w_row = ggml_row_size(wtype, k),
        .m = m,
        .k = k,
        .n = n,
        .X = X,
        .x_row = ggml_row_size(vt, k),
        .quantize = ops->quantize[vt],
        .dot = ops->vec_dot[plain],
        .Y = Y,
    };
    c.dot_batch = batch_dot(ops, wtype, m, k, alone ? 1 : n, &c.n_batch);
    c.gemm = alone ? NULL : batch_gemm(ops, wtype, m, k, n);
    c.dot4 = ops->vec_dot4[wtype];
    c.rt = alone && n >= 2 && n >= ops->vec_dot_rt_min[wtype] ? ops->vec_dot_rt[wtype] : NULL;
    if (layout_is(wtype)) { /* every output the plain type's, see layout_tile */
        /* a plain type whose batch results are not all vec_dot's (a batch
         * slot in the table): its layout's gemm gives the batch's, and
         * matmul_alone takes the alone gemm; for the others the gemm gives
         * vec_dot's, for any n */
        const int batch_order = ops->vec_dot_x4[plain] || ops->vec_dot_b8[plain] || ops->vec_dot_b2[plain];
        c.layout = wtype;
        c.gemm = alone && batch_order ? NULL : ops->gemm[wtype];
        c.rt = alone && batch_order ? ops->vec_dot_rt[wtype] : NULL;
        c.dot_batch = batch_dot(ops, plain, m, k, alone ? 1 : n, &c.n_batch);
        c.dot4 = NULL;
    }
    if (!tu) tu = tuning_for(wtype, m, k, n);
    /* a layout's alone gemm takes the gemm's tiles: whole runs of groups,
     * side by side (its generation path reads four at once) */
    const int gemm_tiles = c.gemm || (c.layout && c.rt);
    c.tile_m = gemm_tiles ? tu->gemm_m : tu->tile_m;
    c.tile_n = gemm_tiles ? tu->gemm_n : tu->tile_n;
    c.pf_ahead = (size_t)tu->pf_ahead;
    if ((double)m * (double)k * (double)n < INLINE_MACS || tu->threads == 1) pool = NULL;
    c.nth = pool_size(pool);
    if (tu->threads > 1 && tu->threads < c.nth) c.nth = tu->threads;
    /* one token tile: the rows split evenly over the threads, unless a
     * profile chose the gemm's row tile */
    if (gemm_tiles && n <= GEMM_NT && tu->gemm_m == GEMM_MR) c.tile_m = gemm_rows_even(m, c.nth);
    if (c.layout) c.tile_m = (c.tile_m + LAYOUT_ROWS - 1) / LAYOUT_ROWS * LAYOUT_ROWS;
    c.quarters = !c.gemm && c.dot4 && c.n_batch == 0 && n < GEMM_MIN_N;
    if (c.quarters) {
        c.items = (long)((m + 3) / 4);
        c.grab_min = tu->quarters_min / 4;
    } else {
        c.items = (long)(((m + c.tile_m - 1) / c.tile_m) * ((n + c.tile_n - 1) / c.tile_n));
        c.grab_min = tu->grab_min;
    }
    atomic_init(&c.next, 0);
    if (vt == GGML_TYPE_F32) {
        c.Xq = (uint8_t *)(uintptr_t)X; /* used as is, never written */
    } else {
        c.Xq = scratch;
        /* one row needs no thread hand-off */
        if (n == 1) convert_rows(&c, 0, 1);
        else pool_run(pool, convert_rows, &c);
    }
    pool_run(pool, dot_rows, &c); /* a NULL pool runs fn inline */
}

void matmul_with(const kernel_ops *ops, mote_pool *pool, const void *W, uint32_t wtype, int64_t m,
                 int64_t k, const float *X, int64_t n, float *Y, void *scratch)
{
    matmul_run(ops, pool, NULL, W, wtype, m, k, X, n, Y, scratch, 0);
}

void matmul(mote_pool *pool, const void *W, uint32_t wtype, int64_t m, int64_t k, const float *X,
            int64_t n, float *Y, void *scratch)
{
    matmul_run(kernels_get(), pool, NULL, W, wtype, m, k, X, n, Y, scratch, 0);
}

void matmul_alone_with(const kernel_ops *ops, mote_pool *pool, const void *W, uint32_t wtype, int64_t m,
                       int64_t k, const float *X, int64_t n, float *Y, void *scratch)
{
    matmul_run(ops, pool, NULL, W, wtype, m, k, X, n, Y, scratch, 1);
}

void matmul_alone(mote_pool *pool, const void *W, uint32_t wtype, int64_t m, int64_t k, const float *X,
                  int64_t n, float *Y, void *scratch)
{
    matmul_run(kernels_get(), pool, NULL, W, wtype, m, k, X, n, Y, scratch, 1);
}

void matmul_tuned_with(const kernel_ops *ops, mote_pool *pool, const kernel_tuning *tu, const void *W,
                       uint32_t wtype, int64_t m, int64_t k, const float *X, int64_t n, float *Y, void *scratch)
{
    matmul_run(ops, pool, tu, W, wtype, m, k, X, n, Y, scratch, 0);
}

matmul_path matmul_path_of(const kernel_ops *ops, uint32_t wtype, int64_t m, int64_t k, int64_t n)
{
    int64_t rows;
    if (layout_is(wtype)) return ops->gemm[wtype] ? MATMUL_GEMM : MATMUL_TILES; /* every n (matmul_run) */
    if (batch_gemm(ops, wtype, m, k, n)) return MATMUL_GEMM;
    batch_dot(ops, wtype, m, k, n, &rows);
    return ops->vec_dot4[wtype] && rows == 0 && n < GEMM_MIN_N ? MATMUL_QUARTERS : MATMUL_TILES;
}
