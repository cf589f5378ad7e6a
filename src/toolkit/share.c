/*
 * share.c — mote_share: a model whose layers share stored blocks of
 * weights (mote.block_map, see model/arch.h), made from a model file.
 *
 * Layers are grouped into runs, each run becomes one stored block:
 *   - by similarity: every layer starts as a run of its own, and the two
 *     adjacent runs whose layers are most alike on average (the mean, over
 *     pairs of one layer from each run, of layer similarity) merge, until
 *     n_blocks runs remain. Layer similarity is the mean, over the block's
 *     2-D weight matrices, of the cosine between the two layers' matrices
 *     (F32 after dequantizing, accumulated in double). A pair is measured
 *     when a merge first needs it and kept.
 *   - or as the caller's map says (any grouping, also non-adjacent).
 * A run's block is a copy of its medoid layer's block, the one most
 * similar to the others (MOTE_SHARE_MEDOID, the default), or the
 * element-wise mean of its layers' weights, requantized to the most
 * precise of their types (MOTE_SHARE_MEAN). On trained models the copy
 * keeps far more (QUALITY.md: stories260K on 3 blocks, perplexity 43
 * against 756 for the mean): independently trained layers are nearly
 * orthogonal, and their mean shrinks every weight towards zero. A run whose layers all read one stored block of the
 * input is copied byte for byte either way, so sharing a file again, or
 * writing it out with a block per layer, changes no weight.
 *
 * Data is streamed through the GGUF writer's fill callback, a chunk of
 * rows at a time, in parallel on the thread pool; the writer renames its
 * temporary file over the output only once complete.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "base/threadpool.h"
#include "gguf/gguf_write.h"
#include "model/arch.h"
#include "mote_tools.h"
#include "tensor/quant.h"

#define SIM_CHUNK_ROWS 16 /* rows per partial sum: fixed, so the sums do not depend on the thread count */

/* One tensor name of a block ("attn_q.weight") and its tensor in each
 * stored block of the input. */
typedef struct share_part {
    char suffix[GGUF_MAX_NAME];
    const gguf_tensor **in;  /* (n_in_blocks) */
} share_part;

typedef struct share_ctx {
    const mote_share_params *p;
    gguf_file *f;
    model_arch *a;
    int n_layer;
    int n_in_blocks;
    const int *in_map;       /* (n_layer) the input's stored block of each layer */
    share_part *parts;
    int n_parts;
    double *sim;             /* (n_layer, n_layer) layer similarity, NAN: not measured yet */
    mote_pool *pool;
    int n_threads;
    float **scratch;         /* (n_threads) 2 * max_cols floats each */
    int64_t max_cols;
    uint64_t done, total;    /* progress of the current phase */
} share_ctx;

static int64_t rows_of(const gguf_tensor *t) { return t->ne[1] * t->ne[2] * t->ne[3]; }
static size_t row_bytes(const gguf_tensor *t) { return ggml_row_size(t->type, t->ne[0]); }

static mote_status report(share_ctx *c, uint64_t add)
{
    c->done += add;
    if (c->p->progress && c->p->progress(c->p->progress_user, c->done, c->total))
        return mote_fail(MOTE_E_CANCELLED, "share: cancelled");
    return MOTE_OK;
}

/* ------------------------------------------------------------------------
 * The input's blocks
 * ---------------------------------------------------------------------- */

/* The parts of block 0, each found with the same shape in every block
 * (types may differ: llama-quantize's mixes give some layers more bits). */
static mote_status collect_parts(share_ctx *c)
{
    const gguf_file *f = c->f;
    c->parts = calloc((size_t)f->n_tensors, sizeof *c->parts);
    if (!c->parts) return mote_fail(MOTE_E_NOMEM, "share: out of memory");
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const char *rest;
        if (arch_block_name(f->tensors[i].name, &rest) != 0) continue;
        share_part *pt = &c->parts[c->n_parts++];
        snprintf(pt->suffix, sizeof pt->suffix, "%s", rest);
        if (!(pt->in = calloc((size_t)c->n_in_blocks, sizeof *pt->in)))
            return mote_fail(MOTE_E_NOMEM, "share: out of memory");
        pt->in[0] = &f->tensors[i];
    }
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];
        const char *rest;
        const int b = arch_block_name(t->name, &rest);
        if (b <= 0) continue; /* arch_load accepted the file: every other blk.B is a stored block */
        share_part *pt = NULL;
        for (int k = 0; k < c->n_parts && !pt; k++)
            if (strcmp(c->parts[k].suffix, rest) == 0) pt = &c->parts[k];
        if (!pt)
            return mote_fail(MOTE_E_UNSUPPORTED, "share: %s: tensor '%s' has no counterpart in blk.0: mote share "
                             "needs blocks of one shape", f->path, t->name);
        const gguf_tensor *t0 = pt->in[0];
        if (t->n_dims != t0->n_dims || memcmp(t->ne, t0->ne, sizeof t->ne) != 0)
            return mote_fail(MOTE_E_UNSUPPORTED, "share: %s: tensor '%s' has another shape than '%s': mote "
                             "share needs blocks of one shape", f->path, t->name, t0->name);
        pt->in[b] = t;
    }
    for (int k = 0; k < c->n_parts; k++) {
        for (int b = 0; b < c->n_in_blocks; b++)
            if (!c->parts[k].in[b])
                return mote_fail(MOTE_E_UNSUPPORTED, "share: %s: blk.%d has no '%s' (blk.0 has): mote share "
                                 "needs blocks of one shape", f->path, b, c->parts[k].suffix);
        if (c->parts[k].in[0]->ne[0] > c->max_cols) c->max_cols = c->parts[k].in[0]->ne[0];
    }
    return MOTE_OK;
}

/* ------------------------------------------------------------------------
 * Similarity
 * ---------------------------------------------------------------------- */

/* Sums of x·y, x·x and y·y over chunks of rows of two tensors of one shape. */
typedef struct cosine_job {
    share_ctx *c;
    const gguf_tensor *x, *y;
    int64_t n_chunks;
    double (*part)[3];  /* (n_chunks) */
} cosine_job;

static void cosine_part(void *arg, int ith, int nth)
{
    cosine_job *J = arg;
    const int64_t cols = J->x->ne[0], rows = rows_of(J->x);
    float *xr = J->c->scratch[ith], *yr = xr + J->c->max_cols;
    const dequantize_row_fn dx = tensor_dequantizer(J->x->type), dy = tensor_dequantizer(J->y->type);
    for (int64_t k = ith; k < J->n_chunks; k += nth) {
        double xy = 0, xx = 0, yy = 0;
        const int64_t end = (k + 1) * SIM_CHUNK_ROWS < rows ? (k + 1) * SIM_CHUNK_ROWS : rows;
        for (int64_t r = k * SIM_CHUNK_ROWS; r < end; r++) {
            dx((const uint8_t *)J->x->data + (size_t)r * row_bytes(J->x), xr, cols);
            dy((const uint8_t *)J->y->data + (size_t)r * row_bytes(J->y), yr, cols);
            for (int64_t i = 0; i < cols; i++) {
                xy += (double)xr[i] * yr[i];
                xx += (double)xr[i] * xr[i];
                yy += (double)yr[i] * yr[i];
            }
        }
        J->part[k][0] = xy, J->part[k][1] = xx, J->part[k][2] = yy;
    }
}

/* Cosine of two tensors as flat vectors; two zero tensors are alike. */
static mote_status tensor_cosine(share_ctx *c, const gguf_tensor *x, const gguf_tensor *y, double *out)
{
    cosine_job J = {.c = c, .x = x, .y = y, .n_chunks = (rows_of(x) + SIM_CHUNK_ROWS - 1) / SIM_CHUNK_ROWS};
    if (!(J.part = malloc((size_t)J.n_chunks * sizeof *J.part))) return mote_fail(MOTE_E_NOMEM, "share: out of memory");
    pool_run(c->pool, cosine_part, &J);
    double xy = 0, xx = 0, yy = 0;
    for (int64_t k = 0; k < J.n_chunks; k++) xy += J.part[k][0], xx += J.part[k][1], yy += J.part[k][2];
    free(J.part);
    *out = xx > 0 && yy > 0 ? xy / (sqrt(xx) * sqrt(yy)) : xx == yy ? 1.0 : 0.0;
    return MOTE_OK;
}

/* Similarity of layers i and j: the mean cosine of their 2-D weight
 * matrices, measured once; 1 for layers on one stored block. */
static mote_status layer_similarity(share_ctx *c, int i, int j, double *out)
{
    double *s = &c->sim[(size_t)i * c->n_layer + j];
    if (isnan(*s)) {
        const int bi = c->in_map[i], bj = c->in_map[j];
        double sum = 0;
        int n = 0;
        for (int k = 0; bi != bj && k < c->n_parts; k++) {
            if (c->parts[k].in[bi]->n_dims < 2) continue;
            double cs = 0;
            MOTE_TRY(tensor_cosine(c, c->parts[k].in[bi], c->parts[k].in[bj], &cs));
            sum += cs, n++;
        }
        *s = bi == bj || n == 0 ? 1.0 : sum / n;
        c->sim[(size_t)j * c->n_layer + i] = *s;
        MOTE_TRY(report(c, 1));
    }
    *out = *s;
    return MOTE_OK;
}

/* Runs of adjacent layers (run[i]: the run of layer i, numbered in order),
 * merged by average similarity until n_blocks remain. */
static mote_status group_by_similarity(share_ctx *c, int n_blocks, int *run)
{
    const int L = c->n_layer;
    int *start = malloc((size_t)(L + 1) * sizeof *start); /* run r is layers start[r]..start[r+1]-1 */
    if (!start) return mote_fail(MOTE_E_NOMEM, "share: out of memory");
    for (int r = 0; r <= L; r++) start[r] = r;
    mote_status st = MOTE_OK;
    for (int n_runs = L; st == MOTE_OK && n_runs > n_blocks; n_runs--) {
        int best = -1;
        double best_sim = -INFINITY;
        for (int r = 0; st == MOTE_OK && r + 1 < n_runs; r++) {
            double sum = 0, s = 0;
            for (int i = start[r]; st == MOTE_OK && i < start[r + 1]; i++)
                for (int j = start[r + 1]; st == MOTE_OK && j < start[r + 2]; j++)
                    if ((st = layer_similarity(c, i, j, &s)) == MOTE_OK) sum += s;
            const double mean = sum / ((double)(start[r + 1] - start[r]) * (start[r + 2] - start[r + 1]));
            if (mean > best_sim) best = r, best_sim = mean; /* ties: the first */
        }
        if (st == MOTE_OK) memmove(&start[best + 1], &start[best + 2], (size_t)(n_runs - best - 1) * sizeof *start);
    }
    for (int r = 0; st == MOTE_OK && r < n_blocks; r++)
        for (int i = start[r]; i < start[r + 1]; i++) run[i] = r;
    free(start);
    return st;
}

/* ------------------------------------------------------------------------
 * Writing
 * ---------------------------------------------------------------------- */

/* One tensor of an output block: a copy of one input tensor (src), or the
 * mean of the member layers' tensors quantized to type. */
typedef struct out_tensor {
    share_ctx *c;
    const share_part *part;
    const gguf_tensor *src;   /* copied, or NULL: the mean */
    const int *members;       /* (n_members) layers of the run */
    int n_members;
    uint32_t type;
    size_t row_bytes;         /* of the output */
} out_tensor;

typedef struct mean_job {
    const out_tensor *o;
    uint64_t row0, n_rows;
    void *buf;
    mote_status st;           /* of part 0's quantize_rows: all parts fail alike */
} mean_job;

static void mean_part(void *arg, int ith, int nth)
{
    mean_job *J = arg;
    const out_tensor *o = J->o;
    const int64_t cols = o->part->in[0]->ne[0];
    float *acc = o->c->scratch[ith], *row = acc + o->c->max_cols;
    long lo, hi;
    pool_split((long)J->n_rows, ith, nth, &lo, &hi);
    for (long r = lo; r < hi; r++) {
        const uint64_t src_row = J->row0 + (uint64_t)r;
        for (int m = 0; m < o->n_members; m++) {
            const gguf_tensor *t = o->part->in[o->c->in_map[o->members[m]]];
            tensor_dequantizer(t->type)((const uint8_t *)t->data + src_row * row_bytes(t), m ? row : acc, cols);
            for (int64_t i = 0; m && i < cols; i++) acc[i] += row[i];
        }
        for (int64_t i = 0; i < cols; i++) acc[i] /= (float)o->n_members;
        mote_status st = quantize_rows(o->type, acc, (uint8_t *)J->buf + (size_t)r * o->row_bytes, 1, cols, NULL, NULL);
        if (st != MOTE_OK && ith == 0) J->st = st;
    }
}

static mote_status fill_out(void *user, uint64_t row0, uint64_t n_rows, void *buf)
{
    out_tensor *o = user;
    if (o->src) {
        memcpy(buf, (const uint8_t *)o->src->data + row0 * o->row_bytes, n_rows * o->row_bytes);
    } else {
        mean_job J = {.o = o, .row0 = row0, .n_rows = n_rows, .buf = buf, .st = MOTE_OK};
        pool_run(o->c->pool, mean_part, &J);
        MOTE_TRY(J.st);
    }
    return report(o->c, n_rows * o->row_bytes);
}

/* The member most similar to the others (ties: the first). */
static mote_status medoid(share_ctx *c, const int *members, int n, int *out)
{
    double best = -INFINITY;
    *out = members[0];
    for (int a = 0; a < n && n > 1; a++) {
        double sum = 0, s;
        for (int b = 0; b < n; b++)
            if (b != a) {
                MOTE_TRY(layer_similarity(c, members[a], members[b], &s));
                sum += s;
            }
        if (sum > best) best = sum, *out = members[a];
    }
    return MOTE_OK;
}

/* Output tensors of run g (members: its layers), part by part. */
static mote_status plan_block(share_ctx *c, const int *members, int n, out_tensor *out)
{
    int one_block = 1, rep = members[0];
    for (int m = 1; m < n; m++) one_block &= c->in_map[members[m]] == c->in_map[members[0]];
    if (!one_block && c->p->merge == MOTE_SHARE_MEDOID) MOTE_TRY(medoid(c, members, n, &rep));
    for (int k = 0; k < c->n_parts; k++) {
        out_tensor *o = &out[k];
        *o = (out_tensor){.c = c, .part = &c->parts[k], .members = members, .n_members = n};
        if (one_block || c->p->merge == MOTE_SHARE_MEDOID) {
            o->src = c->parts[k].in[c->in_map[rep]];
            o->type = o->src->type;
        } else { /* the most precise of the members' types: most bytes per row */
            o->type = c->parts[k].in[c->in_map[members[0]]]->type;
            for (int m = 1; m < n; m++) {
                const gguf_tensor *t = c->parts[k].in[c->in_map[members[m]]];
                if (row_bytes(t) > ggml_row_size(o->type, t->ne[0])) o->type = t->type;
            }
            MOTE_TRY(tensor_row_check(o->type, c->parts[k].in[0]->ne[0]));
            if (!tensor_quantizer(o->type))
                return mote_fail(MOTE_E_UNSUPPORTED, "share: mote cannot quantize to %s (blk.*.%s); use --merge "
                                 "medoid", ggml_type_name(o->type), c->parts[k].suffix);
        }
        o->row_bytes = ggml_row_size(o->type, c->parts[k].in[0]->ne[0]);
    }
    return MOTE_OK;
}

/* ------------------------------------------------------------------------
 * mote_share
 * ---------------------------------------------------------------------- */

mote_share_params mote_share_default_params(void)
{
    mote_share_params p = {.merge = MOTE_SHARE_MEDOID};
    return p;
}

/* run[] from the caller's map: runs numbered in order of first appearance. */
static mote_status group_by_map(const share_ctx *c, int *run, int *n_runs)
{
    const int L = c->n_layer;
    if (c->p->block_map_len != L)
        return mote_fail(MOTE_E_INVALID, "share: the block map has %d entries, but %s has %d layers",
                         c->p->block_map_len, c->p->in_path, L);
    int *number = malloc((size_t)L * sizeof *number); /* run of each map value, -1: none yet */
    if (!number) return mote_fail(MOTE_E_NOMEM, "share: out of memory");
    for (int i = 0; i < L; i++) number[i] = -1;
    *n_runs = 0;
    for (int i = 0; i < L; i++) {
        const int v = c->p->block_map[i];
        if (v < 0 || v >= L) {
            free(number);
            return mote_fail(MOTE_E_INVALID, "share: block map entry %d is %d, outside 0..%d (the model has %d "
                             "layers)", i, v, L - 1, L);
        }
        if (number[v] < 0) number[v] = (*n_runs)++;
        run[i] = number[v];
    }
    free(number);
    return MOTE_OK;
}

/* The tensors of the output in order: those before the first block, the
 * blocks, the rest (the usual order: embeddings first, the head last). */
static mote_status add_tensors(share_ctx *c, gguf_writer *w, const int *run, int n_runs, out_tensor *outs,
                               int *members)
{
    const gguf_file *f = c->f;
    int n_out = 0;
    uint64_t first_blk = f->n_tensors;
    for (uint64_t i = 0; i < f->n_tensors && first_blk == f->n_tensors; i++)
        if (strncmp(f->tensors[i].name, "blk.", 4) == 0) first_blk = i;
    for (int pass = 0; pass < 3; pass++) {
        if (pass == 1) {
            for (int g = 0, used = 0; g < n_runs; g++) {
                int n = 0;
                for (int i = 0; i < c->n_layer; i++)
                    if (run[i] == g) members[used + n++] = i;
                MOTE_TRY(plan_block(c, members + used, n, outs + n_out));
                for (int k = 0; k < c->n_parts; k++, n_out++) {
                    const out_tensor *o = &outs[n_out];
                    char name[GGUF_MAX_NAME + 16];
                    snprintf(name, sizeof name, "blk.%d.%s", g, o->part->suffix);
                    MOTE_TRY(gguf_writer_add_tensor_fill(w, name, o->type, o->part->in[0]->n_dims,
                                                         o->part->in[0]->ne, fill_out, &outs[n_out]));
                }
                used += n;
            }
            continue;
        }
        for (uint64_t i = pass ? first_blk : 0; i < (pass ? f->n_tensors : first_blk); i++) {
            const gguf_tensor *t = &f->tensors[i];
            if (strncmp(t->name, "blk.", 4) == 0) continue;
            outs[n_out] = (out_tensor){.c = c, .src = t, .type = t->type, .row_bytes = row_bytes(t)};
            MOTE_TRY(gguf_writer_add_tensor_fill(w, t->name, t->type, t->n_dims, t->ne, fill_out, &outs[n_out]));
            n_out++;
        }
    }
    return MOTE_OK;
}

static mote_status write_shared(share_ctx *c, const int *run, int n_runs)
{
    gguf_writer *w = NULL;
    out_tensor *outs = calloc((size_t)c->f->n_tensors + (size_t)n_runs * c->n_parts, sizeof *outs);
    int *members = malloc((size_t)c->n_layer * sizeof *members);
    uint32_t *map = malloc((size_t)c->n_layer * sizeof *map);
    mote_status st = outs && members && map ? gguf_writer_create(&w) : mote_fail(MOTE_E_NOMEM, "share: out of memory");
    for (uint64_t i = 0; st == MOTE_OK && i < c->f->n_kv; i++)
        if (strcmp(c->f->kv[i].key, ARCH_KEY_BLOCK_MAP) != 0) st = gguf_writer_add_kv(w, &c->f->kv[i]);
    int identity = 1;
    for (int i = 0; map && i < c->n_layer; i++) map[i] = (uint32_t)run[i], identity &= run[i] == i;
    if (st == MOTE_OK && !identity)
        st = gguf_writer_add_arr(w, ARCH_KEY_BLOCK_MAP, GGUF_TYPE_UINT32, map, (uint64_t)c->n_layer);
    if (st == MOTE_OK) st = add_tensors(c, w, run, n_runs, outs, members);
    if (st == MOTE_OK) {
        c->done = 0;
        c->total = gguf_writer_size(w);
        st = gguf_writer_write_file(w, c->p->out_path);
    }
    if (st == MOTE_OK) st = report(c, c->total - c->done);
    gguf_writer_free(w);
    free(outs);
    free(members);
    free(map);
    return st;
}

static mote_status prepare(share_ctx *c)
{
    const mote_share_params *p = c->p;
    MOTE_TRY(gguf_open(p->in_path, &c->f));
    if (c->f->n_tensors == 0)
        return mote_fail(MOTE_E_FORMAT, "share: %s has no tensors (a vocabulary-only file)", p->in_path);
    MOTE_TRY(arch_load(c->f, &c->a));
    c->n_layer = c->a->hp.n_layer;
    c->n_in_blocks = c->a->n_blocks;
    c->in_map = c->a->block_of;
    if (!p->block_map && (p->n_blocks < 1 || p->n_blocks > c->n_layer))
        return mote_fail(MOTE_E_INVALID, "share: %d stored blocks asked for; %s has %d layers, so 1..%d",
                         p->n_blocks, p->in_path, c->n_layer, c->n_layer);
    MOTE_TRY(collect_parts(c));
    MOTE_TRY(pool_create(p->n_threads, &c->pool));
    c->n_threads = pool_size(c->pool);
    const size_t L2 = (size_t)c->n_layer * (size_t)c->n_layer;
    c->sim = malloc(L2 * sizeof *c->sim);
    c->scratch = calloc((size_t)c->n_threads, sizeof *c->scratch);
    if (!c->sim || !c->scratch) return mote_fail(MOTE_E_NOMEM, "share: out of memory");
    for (size_t i = 0; i < L2; i++) c->sim[i] = NAN;
    for (int t = 0; t < c->n_threads; t++)
        if (!(c->scratch[t] = malloc(2 * (size_t)c->max_cols * sizeof(float))))
            return mote_fail(MOTE_E_NOMEM, "share: out of memory");
    return MOTE_OK;
}

static mote_status share(share_ctx *c, mote_share_result *res)
{
    MOTE_TRY(prepare(c));
    const int L = c->n_layer;
    res->n_layer = L;
    if (!(res->block_map = malloc((size_t)L * sizeof *res->block_map)) ||
        !(res->similarity = malloc((size_t)(L > 1 ? L - 1 : 1) * sizeof *res->similarity)))
        return mote_fail(MOTE_E_NOMEM, "share: out of memory");
    /* Measuring: at most every pair of layers. */
    c->total = (uint64_t)L * (uint64_t)(L - 1) / 2;
    MOTE_TRY(report(c, 0));
    for (int i = 0; i + 1 < L; i++) {
        double s;
        MOTE_TRY(layer_similarity(c, i, i + 1, &s));
        res->similarity[i] = (float)s;
    }
    if (c->p->block_map) {
        MOTE_TRY(group_by_map(c, res->block_map, &res->n_blocks));
        if (c->p->n_blocks && c->p->n_blocks != res->n_blocks)
            return mote_fail(MOTE_E_INVALID, "share: the block map names %d stored blocks, not %d", res->n_blocks,
                             c->p->n_blocks);
    } else {
        res->n_blocks = c->p->n_blocks;
        MOTE_TRY(group_by_similarity(c, res->n_blocks, res->block_map));
    }
    return write_shared(c, res->block_map, res->n_blocks);
}

mote_status mote_share(const mote_share_params *p, mote_share_result *res)
{
    if (res) memset(res, 0, sizeof *res);
    if (!p || !p->in_path || !p->out_path || !res)
        return mote_fail(MOTE_E_INVALID, "mote_share: in_path, out_path and result are required");
    if (p->n_threads < 0 || (p->merge != MOTE_SHARE_MEAN && p->merge != MOTE_SHARE_MEDOID))
        return mote_fail(MOTE_E_INVALID, "mote_share: bad thread count or merge");
    share_ctx c = {.p = p};
    mote_status st = share(&c, res);
    for (int k = 0; c.parts && k < c.n_parts; k++) free(c.parts[k].in);
    free(c.parts);
    for (int t = 0; c.scratch && t < c.n_threads; t++) free(c.scratch[t]);
    free(c.scratch);
    free(c.sim);
    pool_free(c.pool);
    arch_free(c.a);
    gguf_close(c.f);
    if (st != MOTE_OK) mote_share_result_free(res);
    return st;
}

void mote_share_result_free(mote_share_result *res)
{
    if (!res) return;
    free(res->block_map);
    free(res->similarity);
    memset(res, 0, sizeof *res);
}
