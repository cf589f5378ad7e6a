/*
 * model.c — opening a model: the GGUF file, its vocabulary and (unless
 * vocab-only) its architecture; metadata and tensor listing for callers.
 */
#include "engine/model.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mapfile.h"
#include "base/pages.h"
#include "base/status.h"
#include "engine/vocab.h"
#include "model/arch.h"

mote_model_params mote_model_default_params(void)
{
    mote_model_params p = {.vocab_only = 0, .progress = NULL, .progress_user = NULL, .prefetch = 0};
    return p;
}

static char *dup_str(gguf_str s)
{
    char *p = malloc(s.len + 1);
    if (!p) return NULL;
    if (s.len) memcpy(p, s.ptr, s.len);
    p[s.len] = '\0';
    return p;
}

#define READ_STEP (4u << 20) /* bytes read in between progress calls */

/* Progress over the tensor data, reading it in first if asked to. */
static mote_status read_in(const mote_model *m, const mote_model_params *params)
{
    const gguf_file *f = m->gguf;
    const uint64_t total = f->map.size > f->data_offset ? f->map.size - f->data_offset : 0;
    uint64_t done = params->prefetch ? 0 : total;
    for (;;) {
        if (params->progress && params->progress(params->progress_user, done, total))
            return mote_fail(MOTE_E_CANCELLED, "%s: opening cancelled after %llu of %llu bytes", f->path,
                             (unsigned long long)done, (unsigned long long)total);
        if (done == total) return MOTE_OK;
        const uint64_t step = total - done < READ_STEP ? total - done : READ_STEP;
        mapfile_touch(&f->map, (size_t)(f->data_offset + done), (size_t)step);
        done += step;
    }
}

/* ------------------------------------------------------------------------
 * Mapping the weights while the vocabulary loads
 *
 * The first evaluation touches every weight page. When the file is in the
 * page cache (a model run again), each 4 KiB page still costs it a page
 * fault, or one per 16 with the kernel's fault-around: ~8 ms of
 * SmolLM2-135M's 136 MiB on one thread. MADV_POPULATE_READ maps them all in
 * ~2.5 ms, and a second thread does it while this one builds the
 * vocabulary (~4 ms), so the first token comes that much sooner at no cost
 * to opening. A file not wholly in the page cache is left alone: mapping it
 * would read it from disk, which is what params->prefetch asks for.
 * ---------------------------------------------------------------------- */

typedef struct weight_mapper {
    const gguf_file *f;
    pthread_t thread;
    int started;
} weight_mapper;

static void *map_weights(void *arg)
{
    const gguf_file *f = ((const weight_mapper *)arg)->f;
    if (mapfile_resident(&f->map) == f->map.size)
        (void)pages_prefault_read(f->map.data + f->data_offset, f->map.size - f->data_offset);
    return NULL;
}

static void map_weights_start(weight_mapper *w, const gguf_file *f, const mote_model_params *params)
{
    w->f = f;
    w->started = 0;
    if (params->vocab_only || params->prefetch || f->n_tensors == 0 || !f->map.owned ||
        f->data_offset >= f->map.size)
        return;
    w->started = pthread_create(&w->thread, NULL, map_weights, w) == 0; /* else the faults map them */
}

static void map_weights_join(weight_mapper *w)
{
    if (w->started) pthread_join(w->thread, NULL);
    w->started = 0;
}

/* ------------------------------------------------------------------------
 * Opening
 * ---------------------------------------------------------------------- */

mote_status mote_model_open(const char *path, const mote_model_params *params, mote_model **out)
{
    if (out) *out = NULL;
    if (!path || !out) return mote_fail(MOTE_E_INVALID, "mote_model_open: NULL argument");
    gguf_file *g;
    MOTE_TRY(gguf_open(path, &g));
    return model_open_gguf(g, params, out);
}

mote_status model_open_gguf(gguf_file *g, const mote_model_params *params, mote_model **out)
{
    *out = NULL;
    /* this machine's tuning profile, once per process; a broken one is
     * ignored here (mote_tune_load tells the caller that asks) */
    if (mote_tune_load(NULL) != MOTE_OK) mote_clear_error();
    mote_model_params dflt = mote_model_default_params();
    if (!params) params = &dflt;
    const char *path = g->path;
    mote_model *m = calloc(1, sizeof *m);
    if (!m) {
        gguf_close(g);
        return mote_fail(MOTE_E_NOMEM, "%s: out of memory", path);
    }
    m->gguf = g;
    mote_status st;
    gguf_str s;
    if ((st = gguf_get_str_or_empty(m->gguf, "general.architecture", &s)) != MOTE_OK) goto fail;
    m->arch_name = dup_str(s);
    if ((st = gguf_get_str_or_empty(m->gguf, "general.name", &s)) != MOTE_OK) goto fail;
    m->name = dup_str(s);
    if (!m->arch_name || !m->name) {
        st = mote_fail(MOTE_E_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    const gguf_kv *tmpl = gguf_find_kv(m->gguf, "tokenizer.chat_template");
    if (tmpl && tmpl->type == GGUF_TYPE_STRING && !(m->chat_template = dup_str(tmpl->str))) {
        st = mote_fail(MOTE_E_NOMEM, "%s: out of memory", path);
        goto fail;
    }

    weight_mapper mapper;
    map_weights_start(&mapper, m->gguf, params);
    st = vocab_load(m->gguf, &m->vocab);
    map_weights_join(&mapper);
    if (st != MOTE_OK) goto fail;
    if (!params->vocab_only && m->gguf->n_tensors > 0) {
        if ((st = arch_load(m->gguf, &m->arch)) != MOTE_OK) goto fail;
        if (m->arch->hp.n_vocab < mote_vocab_size(m)) {
            st = mote_fail(MOTE_E_FORMAT, "%s: token_embd has %d rows but the vocabulary has %d tokens",
                           path, m->arch->hp.n_vocab, mote_vocab_size(m));
            goto fail;
        }
        if ((st = read_in(m, params)) != MOTE_OK) goto fail;
        if (m->arch->warning[0]) {
            const char *v = m->vocab->warnings ? m->vocab->warnings : "";
            size_t n = strlen(v) + strlen(m->arch->warning) + 2;
            if (!(m->warnings = malloc(n))) {
                st = mote_fail(MOTE_E_NOMEM, "%s: out of memory", path);
                goto fail;
            }
            snprintf(m->warnings, n, "%s%s\n", v, m->arch->warning);
        }
    }
    *out = m;
    return MOTE_OK;
fail:
    mote_model_close(m);
    return st;
}

void mote_model_close(mote_model *m)
{
    if (!m) return;
    arch_free(m->arch);
    vocab_free(m->vocab);
    gguf_close(m->gguf);
    free(m->arch_name);
    free(m->name);
    free(m->chat_template);
    free(m->warnings);
    free(m);
}

/* ------------------------------------------------------------------------
 * Information
 * ---------------------------------------------------------------------- */

mote_status mote_model_memory(const mote_model *m, mote_memory *mem)
{
    if (!m || !mem) return mote_fail(MOTE_E_INVALID, "mote_model_memory: NULL argument");
    memset(mem, 0, sizeof *mem);
    const gguf_file *f = m->gguf;
    mem->mapped = f->map.size;
    mem->resident = mapfile_resident(&f->map);
    mem->heap = sizeof *m + vocab_bytes(m->vocab) + f->n_kv * sizeof *f->kv + f->n_tensors * sizeof *f->tensors;
    for (uint64_t i = 0; i < f->n_kv; i++)
        if (f->kv[i].arr_strs) mem->heap += f->kv[i].arr_n * sizeof *f->kv[i].arr_strs;
    if (m->arch) mem->heap += sizeof *m->arch + (size_t)m->arch->hp.n_layer * sizeof *m->arch->layers;
    return MOTE_OK;
}

mote_status mote_model_get_info(const mote_model *m, mote_model_info *info)
{
    if (!m || !info) return mote_fail(MOTE_E_INVALID, "mote_model_get_info: NULL argument");
    memset(info, 0, sizeof *info);
    static const char *const empty = "";
    info->arch = m->arch_name;
    info->name = m->name;
    info->vocab_only = m->arch == NULL;
    info->n_vocab = mote_vocab_size(m);
    info->has_chat_template = m->chat_template != NULL;
    info->chat_template = m->chat_template;
    /* strings in the map are not NUL-terminated: the vocab keeps copies */
    info->tokenizer = m->vocab && m->vocab->model ? m->vocab->model : empty;
    info->pre = m->vocab && m->vocab->pre ? m->vocab->pre : empty;
    info->warnings = m->warnings ? m->warnings : m->vocab && m->vocab->warnings ? m->vocab->warnings : empty;
    for (uint64_t i = 0; i < m->gguf->n_tensors; i++) {
        const gguf_tensor *t = &m->gguf->tensors[i];
        int64_t n = 1;
        for (uint32_t d = 0; d < t->n_dims; d++) n *= t->ne[d];
        info->n_params += n;
        info->weight_bytes += t->nbytes;
    }
    if (m->arch) {
        const arch_hparams *hp = &m->arch->hp;
        info->n_ctx_train = hp->n_ctx_train;
        info->n_embd = hp->n_embd;
        info->n_layer = hp->n_layer;
        info->n_blocks = m->arch->n_blocks;
        info->n_head = hp->n_head;
        info->n_head_kv = hp->n_head_kv;
        info->head_dim = hp->head_dim;
        info->sliding_window = hp->n_swa;
        for (int il = 0; il < hp->n_layer; il++) info->n_layer_swa += m->arch->layers[il].window > 0;
        info->n_ff = hp->n_ff;
        info->rope_freq_base = hp->rope_base;
        info->norm_eps = hp->norm_eps;
    }
    return MOTE_OK;
}

int64_t mote_model_meta_count(const mote_model *m) { return m ? (int64_t)m->gguf->n_kv : 0; }

const char *mote_model_meta_key(const mote_model *m, int64_t i)
{
    if (!m || i < 0 || (uint64_t)i >= m->gguf->n_kv) return NULL;
    return m->gguf->kv[i].key;
}

mote_status mote_model_meta_string(const mote_model *m, const char *key, char *buf, size_t cap)
{
    if (!m || !key || !buf || cap == 0) return mote_fail(MOTE_E_INVALID, "mote_model_meta_string: bad argument");
    const gguf_kv *kv = gguf_find_kv(m->gguf, key);
    if (!kv) return mote_fail(MOTE_E_RANGE, "%s: no metadata key '%s'", m->gguf->path, key);
    gguf_kv_to_string(kv, buf, cap);
    return MOTE_OK;
}

int64_t mote_model_tensor_count(const mote_model *m) { return m ? (int64_t)m->gguf->n_tensors : 0; }

mote_status mote_model_tensor_info(const mote_model *m, int64_t i, const char **name, const char **type_name,
                                   int64_t ne[4], int *n_dims, uint64_t *nbytes)
{
    if (!m) return mote_fail(MOTE_E_INVALID, "mote_model_tensor_info: NULL model");
    if (i < 0 || (uint64_t)i >= m->gguf->n_tensors)
        return mote_fail(MOTE_E_RANGE, "tensor index %lld out of range", (long long)i);
    const gguf_tensor *t = &m->gguf->tensors[i];
    if (name) *name = t->name;
    if (type_name) *type_name = ggml_type_name(t->type);
    if (ne) memcpy(ne, t->ne, sizeof t->ne);
    if (n_dims) *n_dims = (int)t->n_dims;
    if (nbytes) *nbytes = t->nbytes;
    return MOTE_OK;
}
