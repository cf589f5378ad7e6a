/*
 * quantize.c — mote_quantize: llama.cpp's llama_model_quantize, byte for
 * byte (src/llama-quant.cpp, llama_model_quantize_impl).
 *
 * The output file is: the input's key-value pairs in order, less
 * general.quantization_version, general.file_type and the split keys,
 * then those two set anew (ggml's gguf_set_val_* removes a key and appends
 * it); the tensors in llama_model_loader's order (block number, then
 * name), each with the type quant_rules chooses; data aligned to 32 bytes
 * with zero padding. Each tensor streams through the GGUF writer's fill
 * callback a chunk of rows at a time: the rows of a chunk are split over
 * the thread pool, and each row is converted to F32 (dequantized or
 * copied) and quantized on its own, so memory stays at a chunk plus one row per
 * thread, and the bytes do not depend on the thread count.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/cpu.h"
#include "base/status.h"
#include "base/threadpool.h"
#include "gguf/gguf_write.h"
#include "model/arch.h"
#include "mote_tools.h"
#include "tensor/quant.h"
#include "toolkit/quant_rules.h"

#define QUANT_VERSION 2   /* ggml's GGML_QNT_VERSION, general.quantization_version */
#define MAX_KEY 256       /* longest "<arch>.<suffix>" key looked up here */
#define ERR_CAP 512       /* a worker's error message */

/* ------------------------------------------------------------------------
 * The plan: each input tensor's output type, in file order
 * ---------------------------------------------------------------------- */

typedef struct q_tensor {
    const gguf_tensor *src;
    uint32_t n_dims;          /* ggml_n_dims: trailing 1s dropped */
    int64_t n_rows;           /* ne[1] * ne[2] * ne[3] */
    uint32_t type;            /* output type */
    const float *imatrix;     /* ne[0] * ne[2] weights, or NULL */
} q_tensor;

/* llama.cpp's weight_name_comparer: by block number (sscanf "blk.%d.",
 * -1 outside the blocks), then by name. */
static int layer_in_name(const char *name)
{
    int layer = -1;
    if (sscanf(name, "blk.%d.", &layer) != 1) layer = -1;
    return layer;
}

static int cmp_weight(const void *pa, const void *pb)
{
    const q_tensor *a = pa, *b = pb;
    int la = layer_in_name(a->src->name), lb = layer_in_name(b->src->name);
    if (la != lb) return la < lb ? -1 : 1;
    return strcmp(a->src->name, b->src->name);
}

static uint32_t n_dims_of(const gguf_tensor *t)
{
    uint32_t n = GGUF_MAX_DIMS;
    while (n > 1 && t->ne[n - 1] == 1) n--;
    return n;
}

/* A u32 hyper-parameter that may be a per-layer array (layer 0's value). */
static mote_status hparam(const gguf_file *f, const char *arch, const char *suffix, uint32_t dflt,
                          uint32_t *out)
{
    char key[MAX_KEY];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    const gguf_kv *kv = gguf_find_kv(f, key);
    if (kv && kv->type == GGUF_TYPE_ARRAY) {
        int64_t v;
        MOTE_TRY(gguf_arr_get_int(f, kv, 0, 0, UINT32_MAX, &v));
        *out = (uint32_t)v;
        return MOTE_OK;
    }
    return gguf_get_u32_or(f, key, dflt, out);
}

static mote_status model_of(const gguf_file *f, quant_model *m)
{
    gguf_str a;
    MOTE_TRY(gguf_get_str(f, "general.architecture", &a));
    char arch[MAX_KEY / 2];
    snprintf(arch, sizeof arch, "%.*s", (int)(a.len < sizeof arch ? a.len : sizeof arch - 1), a.ptr);
    if (!arch_known(arch))
        return mote_fail(MOTE_E_UNSUPPORTED, "quantize: %s: architecture '%s' is not one mote runs (%s)",
                         f->path, arch, arch_families());
    uint32_t n_layer, n_head, n_head_kv, n_expert;
    char key[MAX_KEY];
    snprintf(key, sizeof key, "%s.block_count", arch);
    MOTE_TRY(gguf_get_u32(f, key, &n_layer));
    MOTE_TRY(hparam(f, arch, "attention.head_count", 0, &n_head));
    MOTE_TRY(hparam(f, arch, "attention.head_count_kv", n_head, &n_head_kv));
    MOTE_TRY(hparam(f, arch, "expert_count", 0, &n_expert));
    if (n_layer > 1u << 20 || n_head > 1u << 20 || n_expert > 1u << 20)
        return mote_fail(MOTE_E_FORMAT, "quantize: %s: hyper-parameters out of range", f->path);
    *m = quant_model_of(arch, (int)n_layer, (int)n_head, (int)n_head_kv, (int)n_expert);
    return MOTE_OK;
}

/* The importance weights of a tensor: NULL when absent (as llama.cpp, it
 * goes on without), an error when their count does not match, except for
 * token_embd (whose entry never matches in llama.cpp's files). */
static mote_status imatrix_of(const mote_quantize_params *p, q_tensor *t)
{
    t->imatrix = NULL;
    const char *name = t->src->name;
    const size_t want = (size_t)t->src->ne[0] * (size_t)t->src->ne[2];
    for (size_t i = 0; i < p->n_imatrix; i++) {
        const mote_imatrix_entry *e = &p->imatrix[i];
        if (!e->name || strcmp(e->name, name) != 0) continue;
        if (e->n == want && e->data) {
            t->imatrix = e->data;
        } else if (strcmp(name, "token_embd.weight") != 0 &&
                   strcmp(name, "per_layer_token_embd.weight") != 0) {
            return mote_fail(MOTE_E_INVALID, "quantize: importance weights of '%s': %zu values, the tensor needs %zu",
                             name, e->n, want);
        }
        return MOTE_OK;
    }
    return MOTE_OK;
}

/* Can this tensor be written as planned? Checked before anything is
 * written, so the workers meet no error. */
static mote_status check_tensor(const q_tensor *t)
{
    const gguf_tensor *s = t->src;
    if (t->type == s->type) return MOTE_OK;
    if (!tensor_dequantizer(s->type))
        return mote_fail(MOTE_E_UNSUPPORTED, "quantize: tensor '%s': cannot convert from type %s", s->name,
                         ggml_type_name(s->type));
    /* zero rows: only the type, row length and weights are checked */
    mote_status st = quantize_rows(t->type, NULL, NULL, 0, s->ne[0], t->imatrix, NULL);
    if (st != MOTE_OK) return mote_fail_prefix(st, "tensor '%s': ", s->name);
    return MOTE_OK;
}

/* ------------------------------------------------------------------------
 * Tensor data
 * ---------------------------------------------------------------------- */

typedef struct q_ctx {
    mote_pool *pool;
    float **scratch;          /* [threads][max row length] */
    q_tensor *tensors;
    uint64_t done, total;     /* output bytes */
    mote_progress_fn progress;
    void *progress_user;
    /* the current chunk */
    const q_tensor *t;
    uint64_t row0, n_rows;
    uint8_t *buf;
    atomic_int failed;        /* a worker met an error: message in err */
    char err[ERR_CAP];
} q_ctx;

typedef struct fill_arg {
    q_ctx *c;
    int index;
} fill_arg;

static void fail_part(q_ctx *c, const char *fmt, const char *name, int64_t row)
{
    int expected = 0;
    if (atomic_compare_exchange_strong(&c->failed, &expected, 1))
        snprintf(c->err, sizeof c->err, fmt, name, (long long)row);
}

static void convert_part(void *ctx, int ith, int nth)
{
    q_ctx *c = ctx;
    const q_tensor *t = c->t;
    const gguf_tensor *s = t->src;
    const int64_t n = s->ne[0];
    const size_t in_row = ggml_row_size(s->type, n), out_row = ggml_row_size(t->type, n);
    long lo, hi;
    pool_split((long)c->n_rows, ith, nth, &lo, &hi);
    for (long r = lo; r < hi; r++) {
        const int64_t row = (int64_t)c->row0 + r;
        /* F32 rows are copied too: the file's alignment need not suit a float */
        float *x = c->scratch[ith];
        dequantize_row(s->type, (const uint8_t *)s->data + (size_t)row * in_row, x, n);
        /* ggml_validate_row_data refuses what non-finite values make */
        for (int64_t j = 0; j < n; j++) {
            if (!isfinite(x[j])) {
                fail_part(c, "quantize: tensor '%s' row %lld: a value is not finite", s->name, row);
                return;
            }
        }
        /* rows of expert e take the e-th slice of the weights */
        const float *w = t->imatrix ? t->imatrix + (size_t)(row / s->ne[1]) * (size_t)n : NULL;
        if (quantize_rows(t->type, x, c->buf + (size_t)r * out_row, 1, n, w, NULL) != MOTE_OK) {
            fail_part(c, "quantize: tensor '%s' row %lld: quantizing failed", s->name, row);
            return;
        }
    }
}

static mote_status fill_tensor(void *user, uint64_t row0, uint64_t n_rows, void *buf)
{
    const fill_arg *a = user;
    q_ctx *c = a->c;
    const q_tensor *t = &c->tensors[a->index];
    const gguf_tensor *s = t->src;
    const size_t out_row = ggml_row_size(t->type, s->ne[0]);
    if (t->type == s->type) {
        memcpy(buf, (const uint8_t *)s->data + row0 * out_row, n_rows * out_row);
    } else {
        c->t = t;
        c->row0 = row0;
        c->n_rows = n_rows;
        c->buf = buf;
        pool_run(c->pool, convert_part, c);
        if (atomic_load(&c->failed)) return mote_fail(MOTE_E_FORMAT, "%s", c->err);
    }
    c->done += n_rows * out_row;
    if (c->progress && c->progress(c->progress_user, c->done, c->total))
        return mote_fail(MOTE_E_CANCELLED, "quantize: cancelled after %llu of %llu bytes",
                         (unsigned long long)c->done, (unsigned long long)c->total);
    return MOTE_OK;
}

/* ------------------------------------------------------------------------
 * The file
 * ---------------------------------------------------------------------- */

#define IMATRIX_KEY_FILE "quantize.imatrix.file"
#define IMATRIX_KEY_DATASET "quantize.imatrix.dataset"
#define IMATRIX_KEY_ENTRIES "quantize.imatrix.entries_count"
#define IMATRIX_KEY_CHUNKS "quantize.imatrix.chunks_count"
#define OVERRIDE_STR_MAX 127 /* llama_model_kv_override's strings, as llama-quantize fills them */

/* Keys llama.cpp sets anew (general.*, and the quantize.imatrix.* keys
 * llama-quantize passes as overrides): ggml's gguf_set_val_* removes such
 * a key and appends it. split.* keys are removed. */
static int key_replaced(const mote_quantize_params *p, const char *key)
{
    static const char *const keys[] = {"general.quantization_version", "general.file_type", "split.no",
                                       "split.count", "split.tensors.count"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strcmp(key, keys[i]) == 0) return 1;
    if (!p->imatrix) return 0;
    return !strcmp(key, IMATRIX_KEY_FILE) || !strcmp(key, IMATRIX_KEY_ENTRIES) ||
           (p->imatrix_dataset && !strcmp(key, IMATRIX_KEY_DATASET)) ||
           (p->imatrix_chunks > 0 && !strcmp(key, IMATRIX_KEY_CHUNKS));
}

static mote_status add_override_str(gguf_writer *w, const char *key, const char *value)
{
    size_t len = value ? strnlen(value, OVERRIDE_STR_MAX) : 0;
    return gguf_writer_add_strn(w, key, value ? value : "", len);
}

static mote_status add_keys(gguf_writer *w, const gguf_file *f, uint32_t ftype, const mote_quantize_params *p)
{
    for (uint64_t i = 0; i < f->n_kv; i++)
        if (!key_replaced(p, f->kv[i].key)) MOTE_TRY(gguf_writer_add_kv(w, &f->kv[i]));
    MOTE_TRY(gguf_writer_add_u32(w, "general.quantization_version", QUANT_VERSION));
    MOTE_TRY(gguf_writer_add_u32(w, "general.file_type", ftype));
    if (!p->imatrix) return MOTE_OK;
    MOTE_TRY(add_override_str(w, IMATRIX_KEY_FILE, p->imatrix_file));
    if (p->imatrix_dataset) MOTE_TRY(add_override_str(w, IMATRIX_KEY_DATASET, p->imatrix_dataset));
    MOTE_TRY(gguf_writer_add_u32(w, IMATRIX_KEY_ENTRIES, (uint32_t)p->n_imatrix));
    if (p->imatrix_chunks > 0) MOTE_TRY(gguf_writer_add_u32(w, IMATRIX_KEY_CHUNKS, (uint32_t)p->imatrix_chunks));
    return MOTE_OK;
}

static void notify(const mote_quantize_params *p, const char *fmt, int a, int b)
{
    if (!p->notice) return;
    char line[256];
    snprintf(line, sizeof line, fmt, a, b);
    p->notice(p->notice_user, line);
}

/* Every tensor's output type, checked; c->tensors in file order. */
static mote_status plan(const mote_quantize_params *p, const gguf_file *f, const quant_options *opt,
                        q_ctx *c, mote_quantize_stats *stats)
{
    quant_model model;
    MOTE_TRY(model_of(f, &model));
    const int n = (int)f->n_tensors;
    c->tensors = calloc((size_t)(n ? n : 1), sizeof *c->tensors);
    const char **names = calloc((size_t)(n ? n : 1), sizeof *names);
    mote_status st = c->tensors && names ? MOTE_OK : mote_fail(MOTE_E_NOMEM, "quantize: out of memory");
    for (int i = 0; st == MOTE_OK && i < n; i++) {
        q_tensor *t = &c->tensors[i];
        t->src = &f->tensors[i];
        t->n_dims = n_dims_of(t->src);
        t->n_rows = t->src->ne[1] * t->src->ne[2] * t->src->ne[3];
    }
    if (st == MOTE_OK) qsort(c->tensors, (size_t)n, sizeof *c->tensors, cmp_weight);
    for (int i = 0; st == MOTE_OK && i < n; i++) names[i] = c->tensors[i].src->name;
    quant_rules r;
    if (st == MOTE_OK) st = quant_rules_init(&r, opt, &model, names, n);
    free(names);
    for (int i = 0; st == MOTE_OK && i < n; i++) {
        q_tensor *t = &c->tensors[i];
        st = quant_tensor_type(&r, t->src->name, t->n_dims, t->src->ne[0], t->src->type, &t->type);
        if (st == MOTE_OK && t->type != t->src->type) st = imatrix_of(p, t);
        if (st == MOTE_OK) st = check_tensor(t);
        if (st != MOTE_OK) break;
        stats->n_tensors++;
        stats->bytes_in += t->src->nbytes;
        stats->bytes_out += ggml_row_size(t->type, t->src->ne[0]) * (uint64_t)t->n_rows;
        if (t->type != t->src->type) {
            stats->n_quantized++;
            if (quant_type_is_quantized(t->src->type)) stats->n_requantized++;
        }
    }
    stats->n_fallback = st == MOTE_OK ? r.n_fallback : 0;
    c->total = stats->bytes_out;
    return st;
}

static mote_status prepare_threads(q_ctx *c, int n_threads, int n)
{
    int64_t max_cols = 1;
    for (int i = 0; i < n; i++)
        if (c->tensors[i].src->ne[0] > max_cols) max_cols = c->tensors[i].src->ne[0];
    MOTE_TRY(pool_create(n_threads, &c->pool));
    const int nth = pool_size(c->pool);
    c->scratch = calloc((size_t)nth, sizeof *c->scratch);
    if (!c->scratch) return mote_fail(MOTE_E_NOMEM, "quantize: out of memory");
    for (int i = 0; i < nth; i++)
        if (!(c->scratch[i] = malloc((size_t)max_cols * sizeof(float))))
            return mote_fail(MOTE_E_NOMEM, "quantize: out of memory");
    return MOTE_OK;
}

static void ctx_free(q_ctx *c)
{
    int nth = c->pool ? pool_size(c->pool) : 0;
    for (int i = 0; c->scratch && i < nth; i++) free(c->scratch[i]);
    free(c->scratch);
    free(c->tensors);
    pool_free(c->pool);
}

/* The options from the parameters' names. */
static mote_status options_of(const mote_quantize_params *p, quant_options *opt)
{
    uint32_t base;
    *opt = (quant_options){.pure = p->pure, .output_type = QUANT_TYPE_NONE,
                           .token_embd_type = QUANT_TYPE_NONE, .has_imatrix = p->imatrix != NULL};
    MOTE_TRY(quant_parse_ftype(p->type, &opt->ftype, &base));
    if (p->output_type) MOTE_TRY(quant_parse_type(p->output_type, &opt->output_type));
    if (p->token_embedding_type) MOTE_TRY(quant_parse_type(p->token_embedding_type, &opt->token_embd_type));
    for (size_t i = 0; i < p->n_imatrix; i++)
        for (size_t j = 0; p->imatrix[i].data && j < p->imatrix[i].n; j++)
            if (!isfinite(p->imatrix[i].data[j]))
                return mote_fail(MOTE_E_INVALID, "quantize: importance weights of '%s' are not finite",
                                 p->imatrix[i].name ? p->imatrix[i].name : "(null)");
    return MOTE_OK;
}

mote_quantize_params mote_quantize_default_params(void)
{
    return (mote_quantize_params){.type = "Q4_K_M"};
}

const char *mote_quantize_type_name(int i)
{
    const char *name, *about;
    return quant_ftype_at(i, &name, &about) ? name : NULL;
}

const char *mote_quantize_type_about(int i)
{
    const char *name, *about;
    return quant_ftype_at(i, &name, &about) ? about : NULL;
}

mote_status mote_quantize(const mote_quantize_params *p, mote_quantize_stats *stats_out)
{
    if (!p || !p->in_path || !p->out_path || !p->type)
        return mote_fail(MOTE_E_INVALID, "mote_quantize: in_path, out_path and type are required");
    if (p->n_threads < 0) return mote_fail(MOTE_E_INVALID, "quantize: negative thread count");
    if (p->n_imatrix && !p->imatrix)
        return mote_fail(MOTE_E_INVALID, "quantize: %zu importance entries but no array", p->n_imatrix);
    quant_options opt;
    MOTE_TRY(options_of(p, &opt));
    /* Writing over the input would truncate the file being read. */
    struct stat is, os;
    if (stat(p->in_path, &is) == 0 && stat(p->out_path, &os) == 0 && is.st_dev == os.st_dev &&
        is.st_ino == os.st_ino)
        return mote_fail(MOTE_E_INVALID, "quantize: %s is both the input and the output", p->out_path);
    int n_threads = p->n_threads;
    if (n_threads == 0) n_threads = cpu_available();

    mote_quantize_stats stats = {0};
    gguf_file *f = NULL;
    gguf_writer *w = NULL;
    q_ctx c = {.progress = p->progress, .progress_user = p->progress_user};
    fill_arg *args = NULL;
    mote_status st = gguf_open(p->in_path, &f);
    if (st == MOTE_OK) st = plan(p, f, &opt, &c, &stats);
    if (st == MOTE_OK && stats.n_requantized)
        notify(p, "requantizing: %d of %d tensors are quantized already; they are dequantized first",
               stats.n_requantized, stats.n_tensors);
    if (st == MOTE_OK && stats.n_fallback)
        notify(p, "%d of %d tensors have rows that are not whole blocks of their type: a fallback type is used",
               stats.n_fallback, stats.n_tensors);
    if (st == MOTE_OK) st = prepare_threads(&c, n_threads, stats.n_tensors);
    if (st == MOTE_OK) st = gguf_writer_create(&w);
    if (st == MOTE_OK) st = add_keys(w, f, opt.ftype, p);
    if (st == MOTE_OK && !(args = calloc((size_t)stats.n_tensors + 1, sizeof *args)))
        st = mote_fail(MOTE_E_NOMEM, "quantize: out of memory");
    for (int i = 0; st == MOTE_OK && i < stats.n_tensors; i++) {
        const q_tensor *t = &c.tensors[i];
        args[i] = (fill_arg){&c, i};
        st = gguf_writer_add_tensor_fill(w, t->src->name, t->type, t->n_dims, t->src->ne, fill_tensor, &args[i]);
    }
    if (st == MOTE_OK) st = gguf_writer_write_file(w, p->out_path);
    if (st == MOTE_OK && stats_out) *stats_out = stats;

    free(args);
    ctx_free(&c);
    gguf_writer_free(w);
    gguf_close(f);
    return st;
}
