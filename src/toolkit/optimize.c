/*
 * optimize.c — `mote optimize`: a GGUF copied with its Q8_0 / Q4_0 / IQ4_NL / Q4_K /
 * Q6_K weight matrices in the stored layouts of tensor/layout.h (or, with plain, back).
 *
 * Only the bytes of the converted matrices change, and they keep their
 * size: keys, tensor order, shapes and every other tensor are copied as
 * they are, plus the "mote.type.<id>" key of each layout type used. The
 * embedding tables stay plain (the model reads them a row at a time, see
 * model/forward.c), as do matrices of fewer than LAYOUT_ROWS rows or rows
 * longer than LAYOUT_K_MAX.
 */
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "gguf/gguf.h"
#include "gguf/gguf_write.h"
#include "mote_tools.h"
#include "tensor/layout.h"

/* Tensors the model looks up by rows rather than multiplies by. */
static int looked_up(const char *name)
{
    static const char *const tables[] = {"token_embd.weight", "token_types.weight", "position_embd.weight"};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
        if (strcmp(name, tables[i]) == 0) return 1;
    return 0;
}

/* The type t gets in the output. */
static uint32_t out_type(const gguf_tensor *t, int plain)
{
    if (plain) return layout_plain(t->type);
    const uint32_t l = layout_of(t->type);
    if (!l || t->n_dims != 2 || t->ne[1] < LAYOUT_ROWS || t->ne[0] > LAYOUT_K_MAX || looked_up(t->name))
        return t->type;
    return l;
}

typedef struct opt_ctx {
    uint8_t *group;      /* one converted group of LAYOUT_ROWS rows */
    const gguf_tensor *cached; /* the tensor and group index group holds */
    int64_t cached_g;
    uint64_t done, total; /* bytes of converted tensors */
    mote_progress_fn progress;
    void *progress_user;
} opt_ctx;

typedef struct opt_tensor {
    opt_ctx *c;
    const gguf_tensor *src;
    uint32_t type; /* the output's */
} opt_tensor;

/* Group g (rows g .. g + 16) of t converted into c->group. */
static void convert_group(opt_ctx *c, const opt_tensor *t, int64_t g)
{
    if (c->cached == t->src && c->cached_g == g) return;
    const int64_t k = t->src->ne[0];
    const size_t rb = ggml_row_size(t->src->type, k);
    const uint8_t *in = (const uint8_t *)t->src->data + (size_t)g * rb;
    if (layout_is(t->type)) {
        layout_pack(t->type, in, LAYOUT_ROWS, k, c->group);
    } else {
        for (int j = 0; j < LAYOUT_ROWS; j++)
            layout_row(t->src->type, in, LAYOUT_ROWS, k, j, c->group + (size_t)j * rb);
    }
    c->cached = t->src;
    c->cached_g = g;
}

static mote_status fill(void *user, uint64_t row0, uint64_t n_rows, void *buf)
{
    const opt_tensor *t = user;
    opt_ctx *c = t->c;
    const size_t rb = ggml_row_size(t->src->type, t->src->ne[0]);
    const int64_t m = t->src->ne[1];
    for (uint64_t r = row0; r < row0 + n_rows; r++) {
        uint8_t *out = (uint8_t *)buf + (r - row0) * rb;
        const int64_t g = (int64_t)r - (int64_t)r % LAYOUT_ROWS;
        if (g + LAYOUT_ROWS > m) { /* a tail row: plain in both */
            memcpy(out, (const uint8_t *)t->src->data + r * rb, rb);
        } else {
            convert_group(c, t, g);
            memcpy(out, c->group + (size_t)((int64_t)r - g) * rb, rb);
        }
    }
    c->done += n_rows * rb;
    if (c->progress && c->progress(c->progress_user, c->done, c->total))
        return mote_fail(MOTE_E_CANCELLED, "optimize: cancelled after %llu of %llu bytes",
                         (unsigned long long)c->done, (unsigned long long)c->total);
    return MOTE_OK;
}

mote_optimize_params mote_optimize_default_params(void)
{
    return (mote_optimize_params){0};
}

mote_status mote_optimize(const mote_optimize_params *p, mote_optimize_stats *stats_out)
{
    if (!p || !p->in_path || !p->out_path)
        return mote_fail(MOTE_E_INVALID, "mote_optimize: in_path and out_path are required");
    gguf_file *f = NULL;
    gguf_writer *w = NULL;
    opt_tensor *ts = NULL;
    opt_ctx c = {.cached_g = -1, .progress = p->progress, .progress_user = p->progress_user};
    mote_optimize_stats stats = {0};
    size_t group_max = 0;
    mote_status st = gguf_open(p->in_path, &f);
    if (st == MOTE_OK) st = gguf_writer_create(&w);
    if (st == MOTE_OK && !(ts = calloc(f->n_tensors + 1, sizeof *ts)))
        st = mote_fail(MOTE_E_NOMEM, "optimize: out of memory");
    /* keys (general.alignment among them) as they are, but the layout
     * keys, which the writer adds for the types the output uses */
    for (uint64_t i = 0; st == MOTE_OK && i < f->n_kv; i++)
        if (strncmp(f->kv[i].key, MOTE_TYPE_KEY_PREFIX, strlen(MOTE_TYPE_KEY_PREFIX)) != 0)
            st = gguf_writer_add_kv(w, &f->kv[i]);
    for (uint64_t i = 0; st == MOTE_OK && i < f->n_tensors; i++) {
        const gguf_tensor *src = &f->tensors[i];
        ts[i] = (opt_tensor){&c, src, out_type(src, p->plain)};
        stats.n_tensors++;
        stats.bytes += src->nbytes;
        if (ts[i].type == src->type) {
            st = gguf_writer_add_tensor(w, src->name, src->type, src->n_dims, src->ne, src->data);
            continue;
        }
        stats.n_converted++;
        c.total += src->nbytes;
        const size_t gb = LAYOUT_ROWS * ggml_row_size(src->type, src->ne[0]);
        if (gb > group_max) group_max = gb;
        st = gguf_writer_add_tensor_fill(w, src->name, ts[i].type, src->n_dims, src->ne, fill, &ts[i]);
    }
    if (st == MOTE_OK && group_max && !(c.group = malloc(group_max)))
        st = mote_fail(MOTE_E_NOMEM, "optimize: out of memory");
    if (st == MOTE_OK) st = gguf_writer_write_file(w, p->out_path);
    if (st == MOTE_OK && stats_out) *stats_out = stats;
    free(c.group);
    free(ts);
    gguf_writer_free(w);
    gguf_close(f);
    return st;
}
