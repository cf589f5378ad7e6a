/*
 * prune.c — carry out a pruning plan on a GGUF file, and choose the plan
 * from calibration statistics.
 *
 * Every tensor of the input is written in its order, under its (possibly
 * renumbered) name and in its type, through the GGUF writer's fill
 * callback; only the rows or columns of the plan's neurons are kept:
 *
 *   ffn_gate / ffn_up weights [n_embd, n_ff]   rows kept: bytes copied
 *   fused ffn_up [n_embd, 2 n_ff] (gate; up)   the same rows of each half
 *   their biases [n_ff] and ffn_down [n_ff, n_embd]
 *                                              columns kept: each row is
 *                                              dequantized, gathered and
 *                                              quantized again (exact for
 *                                              F32, F16 and BF16)
 *
 * Keys are copied in order; block_count and feed_forward_length get their
 * new values in the type they had, and the per-layer arrays of the
 * architecture (<arch>.* arrays of block_count elements) lose the entries
 * of dropped layers.
 */
#include "toolkit/prune.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "base/threadpool.h"
#include "gguf/gguf_write.h"
#include "model/arch.h"
#include "tensor/quant.h"

#define ARCH_MAX 64

/* Architectures whose layers are told apart by position (a sliding-window
 * period, layers without rope every few): dropping a layer would shift
 * those roles onto the wrong layers in readers that derive them from the
 * index, so only neurons may be pruned there. */
static const char *const positional_archs[] = {"gemma3", "gemma-embedding", "gemma2", "smollm3",
                                               "cohere2", "llama4"};

/* ------------------------------------------------------------------------
 * Names
 * ---------------------------------------------------------------------- */

static mote_status file_arch(const gguf_file *f, char arch[ARCH_MAX])
{
    gguf_str s;
    MOTE_TRY(gguf_get_str(f, "general.architecture", &s));
    if (s.len == 0 || s.len >= ARCH_MAX)
        return mote_fail(MOTE_E_FORMAT, "prune: %s: bad general.architecture", f->path);
    memcpy(arch, s.ptr, (size_t)s.len);
    arch[s.len] = '\0';
    return MOTE_OK;
}

/* ------------------------------------------------------------------------
 * How each tensor is written
 * ---------------------------------------------------------------------- */

enum cut { CUT_NONE, CUT_ROWS, CUT_COLS };

typedef struct out_tensor {
    const gguf_tensor *src;
    char name[GGUF_MAX_NAME + 1];
    enum cut cut;
    int64_t ne[GGUF_MAX_DIMS];   /* output shape */
    int halves;                  /* 2 for fused gate;up, else 1 */
    const int32_t *keep;         /* the layer's kept neurons (cut != CUT_NONE) */
    struct write_ctx *ctx;
} out_tensor;

typedef struct write_ctx {
    const prune_plan *plan;
    mote_pool *pool;
    mote_progress_fn progress;
    void *progress_user;
    uint64_t done, total;        /* bytes */
} write_ctx;

/* Index in the input of output element/row i of a cut dimension. */
static int64_t source_index(const out_tensor *t, int64_t i)
{
    int64_t k = t->ctx->plan->n_ff_keep, n_ff = t->ctx->plan->n_ff;
    return i < k ? t->keep[i] : n_ff + t->keep[i - k];
}

typedef struct cols_job {
    const out_tensor *t;
    uint64_t row0, n_rows;
    uint8_t *buf;
    atomic_int st;               /* a failure of any part (mote_status), else MOTE_OK */
} cols_job;

static void cols_part(void *arg, int ith, int nth)
{
    cols_job *j = arg;
    const out_tensor *t = j->t;
    int64_t n_in = t->src->ne[0], n_out = t->ne[0];
    size_t in_row = ggml_row_size(t->src->type, n_in), out_row = ggml_row_size(t->src->type, n_out);
    uint64_t a = j->n_rows * (uint64_t)ith / (uint64_t)nth, b = j->n_rows * (uint64_t)(ith + 1) / (uint64_t)nth;
    float *x = malloc(sizeof(float) * (size_t)(n_in + n_out));
    if (!x) {
        atomic_store(&j->st, MOTE_E_NOMEM);
        return;
    }
    float *y = x + n_in;
    for (uint64_t r = a; r < b; r++) {
        const uint8_t *src = (const uint8_t *)t->src->data + (j->row0 + r) * in_row;
        if (dequantize_row(t->src->type, src, x, n_in) != MOTE_OK) {
            atomic_store(&j->st, MOTE_E_UNSUPPORTED);
            break;
        }
        for (int64_t i = 0; i < n_out; i++) y[i] = x[source_index(t, i)];
        if (quantize_row(t->src->type, y, j->buf + r * out_row, n_out) != MOTE_OK) {
            atomic_store(&j->st, MOTE_E_UNSUPPORTED);
            break;
        }
    }
    free(x);
}

static mote_status fill_tensor(void *user, uint64_t row0, uint64_t n_rows, void *buf)
{
    const out_tensor *t = user;
    write_ctx *c = t->ctx;
    size_t out_row = ggml_row_size(t->src->type, t->ne[0]);
    const uint8_t *data = t->src->data;
    if (t->cut == CUT_NONE) {
        memcpy(buf, data + row0 * out_row, n_rows * out_row);
    } else if (t->cut == CUT_ROWS) {
        for (uint64_t r = 0; r < n_rows; r++)
            memcpy((uint8_t *)buf + r * out_row, data + source_index(t, (int64_t)(row0 + r)) * out_row,
                   out_row);
    } else {
        cols_job j = {.t = t, .row0 = row0, .n_rows = n_rows, .buf = buf};
        atomic_init(&j.st, MOTE_OK);
        pool_run(c->pool, cols_part, &j);
        const mote_status failed = (mote_status)atomic_load(&j.st);
        if (failed != MOTE_OK)
            return mote_fail(failed, "prune: %s: cannot cut columns of type %s", t->src->name,
                             ggml_type_name(t->src->type));
    }
    c->done += n_rows * out_row;
    if (c->progress && c->progress(c->progress_user, c->done, c->total))
        return mote_fail(MOTE_E_CANCELLED, "prune: cancelled");
    return MOTE_OK;
}

/* Decide the output shape and cut of one input tensor; *skip for tensors
 * of a dropped layer. */
static mote_status plan_tensor(const gguf_file *f, const prune_plan *p, const int *new_layer,
                               const gguf_tensor *src, out_tensor *t, int *skip)
{
    memcpy(t->ne, src->ne, sizeof t->ne);
    t->src = src;
    t->cut = CUT_NONE;
    t->halves = 1;
    *skip = 0;
    const char *rest;
    int layer = arch_block_name(src->name, &rest);
    if (layer < 0) {
        snprintf(t->name, sizeof t->name, "%s", src->name);
        return MOTE_OK;
    }
    if (layer >= p->n_layer)
        return mote_fail(MOTE_E_FORMAT, "prune: %s: tensor %s is past block_count %d", f->path,
                         src->name, p->n_layer);
    if (p->drop && p->drop[layer]) {
        *skip = 1;
        return MOTE_OK;
    }
    int n = snprintf(t->name, sizeof t->name, "blk.%d.%s", new_layer[layer], rest);
    if (n < 0 || n > GGUF_MAX_NAME) return mote_fail(MOTE_E_FORMAT, "prune: tensor name too long");
    if (p->n_ff_keep == p->n_ff) return MOTE_OK;

    int is_gate_up = !strcmp(rest, "ffn_gate.weight") || !strcmp(rest, "ffn_up.weight");
    int is_bias = !strcmp(rest, "ffn_gate.bias") || !strcmp(rest, "ffn_up.bias");
    int is_down = !strcmp(rest, "ffn_down.weight");
    if (!is_gate_up && !is_bias && !is_down) {
        if (!strncmp(rest, "ffn_", 4) && strcmp(rest, "ffn_down.bias") && strcmp(rest, "ffn_norm.weight") &&
            strcmp(rest, "ffn_norm.bias") && strncmp(rest, "ffn_post_norm", 13))
            return mote_fail(MOTE_E_UNSUPPORTED, "prune: %s: cannot prune the FFN of a model with tensor %s",
                             f->path, src->name);
        return MOTE_OK;
    }
    t->keep = p->keep + (size_t)layer * (size_t)p->n_ff_keep;
    int dim = is_gate_up ? 1 : 0;
    if (src->ne[dim] == 2 * p->n_ff && !is_down)
        t->halves = 2;
    else if (src->ne[dim] != p->n_ff)
        return mote_fail(MOTE_E_FORMAT, "prune: %s: tensor %s has %lld %s, feed_forward_length is %lld",
                         f->path, src->name, (long long)src->ne[dim], dim ? "rows" : "columns",
                         (long long)p->n_ff);
    t->ne[dim] = p->n_ff_keep * t->halves;
    t->cut = is_gate_up ? CUT_ROWS : CUT_COLS;
    if (t->cut == CUT_COLS) MOTE_TRY(tensor_row_check(src->type, t->ne[0]));
    return MOTE_OK;
}

/* Copy one key, with the plan's new values. */
static mote_status write_kv(gguf_writer *w, const gguf_kv *kv, const char *arch, const prune_plan *p,
                            int n_layer_out)
{
    size_t al = strlen(arch);
    const char *sub = !strncmp(kv->key, arch, al) && kv->key[al] == '.' ? kv->key + al + 1 : NULL;
    gguf_kv copy = *kv;
    /* A new count in the key's own integer type (a non-negative value has
     * the same bits as u64 and as i64). */
    int is_count = sub && kv->type != GGUF_TYPE_ARRAY && kv->type != GGUF_TYPE_FLOAT32 &&
                   kv->type != GGUF_TYPE_FLOAT64 && kv->type != GGUF_TYPE_STRING;
    if (is_count && !strcmp(sub, "block_count")) {
        copy.v.u64 = (uint64_t)n_layer_out;
        return gguf_writer_add_kv(w, &copy);
    }
    if (sub && !strcmp(sub, "feed_forward_length") && p->n_ff_keep != p->n_ff) {
        if (!is_count)
            return mote_fail(MOTE_E_UNSUPPORTED, "prune: feed_forward_length must be one integer (not a "
                             "value per layer) to prune FFN neurons");
        copy.v.u64 = (uint64_t)p->n_ff_keep;
        return gguf_writer_add_kv(w, &copy);
    }
    if (sub && kv->type == GGUF_TYPE_ARRAY && p->drop && kv->arr_n == (uint64_t)p->n_layer) {
        if (kv->arr_type == GGUF_TYPE_STRING)
            return mote_fail(MOTE_E_UNSUPPORTED, "prune: per-layer string array %s", kv->key);
        size_t es = gguf_type_size(kv->arr_type);
        uint8_t *kept = malloc(es * (size_t)p->n_layer + 1);
        if (!kept) return mote_fail(MOTE_E_NOMEM, "prune: out of memory");
        uint64_t n = 0;
        for (int l = 0; l < p->n_layer; l++)
            if (!p->drop[l]) memcpy(kept + es * n++, (const uint8_t *)kv->arr_data + es * (size_t)l, es);
        mote_status st = gguf_writer_add_arr(w, kv->key, kv->arr_type, kept, n);
        free(kept);
        return st;
    }
    return gguf_writer_add_kv(w, kv);
}

static int arch_is_positional(const char *arch)
{
    for (size_t i = 0; i < sizeof positional_archs / sizeof positional_archs[0]; i++)
        if (!strcmp(arch, positional_archs[i])) return 1;
    return 0;
}

mote_status prune_write(const gguf_file *f, const prune_plan *p, const char *out_path, int n_threads,
                        mote_progress_fn progress, void *progress_user)
{
    if (!f || !p || !out_path || p->n_layer < 1 || p->n_ff < 1 || p->n_ff_keep < 1 ||
        p->n_ff_keep > p->n_ff || (p->n_ff_keep < p->n_ff && !p->keep))
        return mote_fail(MOTE_E_INVALID, "prune_write: bad plan");
    char arch[ARCH_MAX];
    MOTE_TRY(file_arch(f, arch));
    int *new_layer = calloc((size_t)p->n_layer, sizeof *new_layer);
    out_tensor *ts = calloc(f->n_tensors ? (size_t)f->n_tensors : 1, sizeof *ts);
    if (!new_layer || !ts) {
        free(new_layer);
        free(ts);
        return mote_fail(MOTE_E_NOMEM, "prune: out of memory");
    }
    int n_layer_out = 0;
    for (int l = 0; l < p->n_layer; l++) new_layer[l] = (p->drop && p->drop[l]) ? -1 : n_layer_out++;

    write_ctx c = {.plan = p, .progress = progress, .progress_user = progress_user};
    gguf_writer *w = NULL;
    mote_status st = MOTE_OK;
    if (n_layer_out == 0)
        st = mote_fail(MOTE_E_INVALID, "prune: every layer would be dropped");
    else if (n_layer_out < p->n_layer && arch_is_positional(arch))
        st = mote_fail(MOTE_E_UNSUPPORTED,
                       "prune: %s layers have roles by position (sliding window, rope); "
                       "dropping one would shift them: prune FFN neurons only", arch);
    if (st == MOTE_OK) st = pool_create(n_threads, &c.pool);
    if (st == MOTE_OK) st = gguf_writer_create(&w);
    for (uint64_t i = 0; st == MOTE_OK && i < f->n_kv; i++) st = write_kv(w, &f->kv[i], arch, p, n_layer_out);
    for (uint64_t i = 0; st == MOTE_OK && i < f->n_tensors; i++) {
        out_tensor *t = &ts[i];
        int skip;
        st = plan_tensor(f, p, new_layer, &f->tensors[i], t, &skip);
        if (st != MOTE_OK || skip) continue;
        t->ctx = &c;
        uint64_t rows = (uint64_t)(t->ne[1] * t->ne[2] * t->ne[3]);
        c.total += rows * ggml_row_size(t->src->type, t->ne[0]);
        st = gguf_writer_add_tensor_fill(w, t->name, t->src->type, t->src->n_dims, t->ne, fill_tensor, t);
    }
    if (st == MOTE_OK) st = gguf_writer_write_file(w, out_path);
    gguf_writer_free(w);
    pool_free(c.pool);
    free(ts);
    free(new_layer);
    return st;
}

/* ------------------------------------------------------------------------
 * Choosing the plan
 * ---------------------------------------------------------------------- */

mote_status prune_ffn_width(const gguf_file *f, int64_t n_ff, double fraction, int64_t *width)
{
    if (!(fraction > 0 && fraction <= 1))
        return mote_fail(MOTE_E_INVALID, "prune: the FFN fraction kept must be in (0, 1], not %g", fraction);
    int64_t block = 1;
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const char *rest;
        const gguf_tensor *t = &f->tensors[i];
        if (arch_block_name(t->name, &rest) < 0) continue;
        if (!strcmp(rest, "ffn_down.weight") || !strcmp(rest, "ffn_gate.bias") || !strcmp(rest, "ffn_up.bias")) {
            const ggml_type_traits *tr = ggml_type_get(t->type);
            int64_t b = tr ? tr->block_size : 1;
            if (b > block) block = b;
        }
    }
    if (n_ff % block)
        return mote_fail(MOTE_E_FORMAT, "prune: %s: feed_forward_length %lld is not a whole number of %lld-blocks",
                         f->path, (long long)n_ff, (long long)block);
    int64_t blocks = (int64_t)llround(fraction * (double)n_ff / (double)block);
    if (blocks < 1)
        return mote_fail(MOTE_E_INVALID,
                         "prune: keeping %g of %lld FFN neurons leaves less than one block (%lld "
                         "neurons) of ffn_down's type", fraction, (long long)n_ff, (long long)block);
    *width = blocks * block;
    return MOTE_OK;
}

/* Squared norms of ffn_down's columns: col2[j] = sum over rows of w[r][j]^2. */
static mote_status down_col2(const gguf_file *f, int layer, int64_t n_ff, double *col2)
{
    char name[GGUF_MAX_NAME + 1];
    snprintf(name, sizeof name, "blk.%d.ffn_down.weight", layer);
    const gguf_tensor *t = gguf_find_tensor(f, name);
    if (!t || t->ne[0] != n_ff)
        return mote_fail(MOTE_E_FORMAT, "prune: %s: no %s of %lld columns", f->path, name, (long long)n_ff);
    float *x = malloc(sizeof(float) * (size_t)n_ff);
    if (!x) return mote_fail(MOTE_E_NOMEM, "prune: out of memory");
    size_t row = ggml_row_size(t->type, n_ff);
    mote_status st = MOTE_OK;
    memset(col2, 0, sizeof(double) * (size_t)n_ff);
    for (int64_t r = 0; st == MOTE_OK && r < t->ne[1]; r++) {
        st = dequantize_row(t->type, (const uint8_t *)t->data + (size_t)r * row, x, n_ff);
        for (int64_t j = 0; st == MOTE_OK && j < n_ff; j++) col2[j] += (double)x[j] * x[j];
    }
    free(x);
    return st;
}

typedef struct ranked {
    double score;
    int32_t index;
} ranked;

static int by_score_desc(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return x->index - y->index;
}

static int by_int_asc(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

mote_status prune_choose(const gguf_file *f, const prune_stats *s, int64_t n_ff_keep, int n_drop,
                         prune_plan *plan)
{
    memset(plan, 0, sizeof *plan);
    if (!f || !s || s->n_layer < 1 || s->n_ff < 1 || n_ff_keep < 1 || n_ff_keep > s->n_ff)
        return mote_fail(MOTE_E_INVALID, "prune_choose: bad arguments");
    if (n_drop < 0 || n_drop >= s->n_layer)
        return mote_fail(MOTE_E_INVALID, "prune: cannot drop %d of %d layers (at most %d)", n_drop,
                         s->n_layer, s->n_layer - 1);
    plan->n_layer = s->n_layer;
    plan->n_ff = s->n_ff;
    plan->n_ff_keep = n_ff_keep;
    uint8_t *drop = NULL;
    int32_t *keep = NULL;
    ranked *rank = NULL;
    double *col2 = NULL;
    mote_status st = MOTE_OK;
    if (n_drop > 0) {
        drop = calloc((size_t)s->n_layer, 1);
        rank = malloc(sizeof *rank * (size_t)s->n_layer);
        if (!drop || !rank) {
            st = mote_fail(MOTE_E_NOMEM, "prune: out of memory");
        } else {
            /* Most alike first: the highest cosine changes the stream least. */
            for (int l = 0; l < s->n_layer; l++) rank[l] = (ranked){s->block_cos[l], l};
            qsort(rank, (size_t)s->n_layer, sizeof *rank, by_score_desc);
            for (int i = 0; i < n_drop; i++) drop[rank[i].index] = 1;
        }
        free(rank);
        rank = NULL;
    }
    if (st == MOTE_OK && n_ff_keep < s->n_ff) {
        keep = malloc(sizeof *keep * (size_t)s->n_layer * (size_t)n_ff_keep);
        rank = malloc(sizeof *rank * (size_t)s->n_ff);
        col2 = malloc(sizeof *col2 * (size_t)s->n_ff);
        if (!keep || !rank || !col2) st = mote_fail(MOTE_E_NOMEM, "prune: out of memory");
        for (int l = 0; st == MOTE_OK && l < s->n_layer; l++) {
            int32_t *row = keep + (size_t)l * (size_t)n_ff_keep;
            st = down_col2(f, l, s->n_ff, col2);
            if (st != MOTE_OK) break;
            const float *act2 = s->ffn_act2 + (size_t)l * (size_t)s->n_ff;
            for (int64_t j = 0; j < s->n_ff; j++)
                rank[j] = (ranked){sqrt((double)act2[j] * col2[j]), (int32_t)j};
            qsort(rank, (size_t)s->n_ff, sizeof *rank, by_score_desc);
            for (int64_t j = 0; j < n_ff_keep; j++) row[j] = rank[j].index;
            qsort(row, (size_t)n_ff_keep, sizeof *row, by_int_asc);
        }
    }
    free(rank);
    free(col2);
    plan->drop = drop;
    plan->keep = keep;
    if (st != MOTE_OK) prune_plan_free(plan);
    return st;
}

void prune_plan_free(prune_plan *plan)
{
    if (!plan) return;
    free((void *)plan->drop);
    free((void *)plan->keep);
    plan->drop = NULL;
    plan->keep = NULL;
}
