/*
 * arch_load.c — hyper-parameters and weights of an architecture from GGUF.
 *
 * Keys follow llama.cpp's naming: "<arch>.block_count", "<arch>.attention.
 * head_count", ...; tensors "token_embd.weight", "blk.N.attn_q.weight", ...
 * Every tensor is checked for presence, shape and a type mote can compute
 * with, every tensor in the file must be one the architecture reads, and
 * every float hyper-parameter must be finite and in range, so the forward
 * pass never meets a surprise.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "kernels/kernels.h"
#include "model/arch.h"

#define MAX_KEY 128

typedef struct loader {
    const gguf_file *f;
    const char *arch;  /* key prefix */
    model_arch *a;
    unsigned char *used; /* [f->n_tensors]: looked up by the architecture */
} loader;

/* ------------------------------------------------------------------------
 * Hyper-parameters
 * ---------------------------------------------------------------------- */

static const char *akey(const loader *L, const char *suffix)
{
    static _Thread_local char buf[MAX_KEY];
    snprintf(buf, sizeof buf, "%s.%s", L->arch, suffix);
    return buf;
}

/* A required positive count that fits in an int. */
static mote_status get_count(const loader *L, const char *suffix, int *out)
{
    uint32_t v;
    const char *key = akey(L, suffix);
    MOTE_TRY(gguf_get_u32(L->f, key, &v));
    if (v == 0 || v > (1u << 24))
        return mote_fail(MOTE_E_FORMAT, "%s: key %s = %u is out of range", L->f->path, key, v);
    *out = (int)v;
    return MOTE_OK;
}

static mote_status get_count_or(const loader *L, const char *suffix, int dflt, int *out)
{
    if (!gguf_find_kv(L->f, akey(L, suffix))) {
        *out = dflt;
        return MOTE_OK;
    }
    return get_count(L, suffix, out);
}

/* An optional float that must be finite and in (lo, hi), or [lo, hi) with
 * lo_inclusive: a NaN or infinite epsilon or rope base makes every logit
 * garbage without any other sign, so it is refused here, naming the key. */
static mote_status get_real_or(const loader *L, const char *suffix, float dflt, float lo, int lo_inclusive,
                               float hi, float *out)
{
    const char *key = akey(L, suffix);
    MOTE_TRY(gguf_get_f32_or(L->f, key, dflt, out));
    float v = *out;
    if (isfinite(v) && (lo_inclusive ? v >= lo : v > lo) && v < hi) return MOTE_OK;
    char range[64];
    if (isinf(hi))
        snprintf(range, sizeof range, "a finite number %s %g", lo_inclusive ? ">=" : ">", (double)lo);
    else
        snprintf(range, sizeof range, "a number in %s%g, %g)", lo_inclusive ? "[" : "(", (double)lo, (double)hi);
    return mote_fail(MOTE_E_FORMAT, "%s: key %s = %g is out of range (it must be %s)", L->f->path, key,
                     (double)v, range);
}

static mote_status load_hparams(loader *L)
{
    arch_hparams *hp = &L->a->hp;
    MOTE_TRY(get_count(L, "embedding_length", &hp->n_embd));
    MOTE_TRY(get_count(L, "block_count", &hp->n_layer));
    /* Every block has tensors of its own: a count beyond the file's tensors
     * is refused before anything is sized by it (a fuzzed 2^24 once asked
     * for 6 GB of layer records). */
    if ((uint64_t)hp->n_layer > L->f->n_tensors)
        return mote_fail(MOTE_E_FORMAT, "%s: key %s = %d is more blocks than the file has tensors (%llu)",
                         L->f->path, akey(L, "block_count"), hp->n_layer, (unsigned long long)L->f->n_tensors);
    MOTE_TRY(get_count(L, "feed_forward_length", &hp->n_ff));
    MOTE_TRY(get_count(L, "attention.head_count", &hp->n_head));
    MOTE_TRY(get_count_or(L, "attention.head_count_kv", hp->n_head, &hp->n_head_kv));
    MOTE_TRY(get_count_or(L, "context_length", 2048, &hp->n_ctx_train));
    if (hp->n_embd % hp->n_head != 0)
        return mote_fail(MOTE_E_FORMAT, "%s: embedding_length %d is not a multiple of head_count %d",
                         L->f->path, hp->n_embd, hp->n_head);
    MOTE_TRY(get_count_or(L, "attention.key_length", hp->n_embd / hp->n_head, &hp->head_dim));
    int v_len;
    MOTE_TRY(get_count_or(L, "attention.value_length", hp->head_dim, &v_len));
    if (v_len != hp->head_dim)
        return mote_fail(MOTE_E_UNSUPPORTED, "%s: key_length %d != value_length %d is not supported",
                         L->f->path, hp->head_dim, v_len);
    if (hp->n_head_kv > hp->n_head || hp->n_head % hp->n_head_kv != 0)
        return mote_fail(MOTE_E_FORMAT, "%s: head_count %d is not a multiple of head_count_kv %d",
                         L->f->path, hp->n_head, hp->n_head_kv);
    MOTE_TRY(get_count_or(L, "rope.dimension_count", hp->head_dim, &hp->n_rot));
    if (hp->n_rot > hp->head_dim || hp->n_rot % 2 != 0)
        return mote_fail(MOTE_E_FORMAT, "%s: rope.dimension_count %d must be even and <= head dim %d",
                         L->f->path, hp->n_rot, hp->head_dim);
    MOTE_TRY(get_real_or(L, "rope.freq_base", 10000.0f, 0.0f, 0, INFINITY, &hp->rope_base));
    MOTE_TRY(get_real_or(L, "attention.layer_norm_rms_epsilon", 1e-5f, 0.0f, 0, 1.0f, &hp->norm_eps));

    uint32_t pooling = 0; /* llama.cpp's enum: 0 none, 1 mean, 2 cls, 3 last, 4 rank */
    MOTE_TRY(gguf_get_u32_or(L->f, akey(L, "pooling_type"), 0, &pooling));
    if (pooling > 3)
        return mote_fail(MOTE_E_UNSUPPORTED, "%s: %s %u is not supported (0 none, 1 mean, 2 cls, 3 last)",
                         L->f->path, akey(L, "pooling_type"), pooling);
    hp->pooling = (int)pooling;

    /* Linear rope scaling; llama3-style scaling comes through rope_freqs. */
    hp->rope_freq_scale = 1.0f;
    gguf_str stype;
    MOTE_TRY(gguf_get_str_or_empty(L->f, akey(L, "rope.scaling.type"), &stype));
    float factor = 0.0f; /* 0: no scaling, as llama.cpp reads it */
    MOTE_TRY(get_real_or(L, "rope.scaling.factor", 0.0f, 0.0f, 1, INFINITY, &factor));
    if (stype.len == 6 && memcmp(stype.ptr, "linear", 6) == 0) {
        if (factor > 0.0f) hp->rope_freq_scale = 1.0f / factor;
    } else if (stype.len > 0 && !(stype.len == 4 && memcmp(stype.ptr, "none", 4) == 0) &&
               !(stype.len == 6 && memcmp(stype.ptr, "llama3", 6) == 0)) {
        return mote_fail(MOTE_E_UNSUPPORTED, "%s: rope scaling type '%.*s' is not supported", L->f->path,
                         (int)stype.len, stype.ptr);
    }
    hp->rope_style = L->a->kind == ARCH_QWEN2 ? ROPE_NEOX : ROPE_NORM;
    return MOTE_OK;
}

/* ------------------------------------------------------------------------
 * Tensors
 * ---------------------------------------------------------------------- */

static const gguf_tensor *find(const loader *L, const char *name, int required, mote_status *st)
{
    const gguf_tensor *t = gguf_find_tensor(L->f, name);
    *st = MOTE_OK;
    if (t) L->used[t - L->f->tensors] = 1;
    if (!t && required)
        *st = mote_fail(MOTE_E_FORMAT, "%s: missing tensor '%s' required by architecture '%s'",
                        L->f->path, name, L->arch);
    return t;
}

static mote_status check_shape(const loader *L, const gguf_tensor *t, int n_dims, int64_t ne0, int64_t ne1)
{
    int64_t want[2] = {ne0, ne1};
    int ok = (int)t->n_dims == n_dims || (n_dims == 1 && t->n_dims == 2 && t->ne[1] == 1);
    for (int d = 0; d < n_dims && ok; d++) ok = t->ne[d] == want[d];
    if (!ok) {
        if (n_dims == 1)
            return mote_fail(MOTE_E_FORMAT, "%s: tensor '%s' has shape [%lld, %lld], expected [%lld]",
                             L->f->path, t->name, (long long)t->ne[0], (long long)t->ne[1],
                             (long long)ne0);
        return mote_fail(MOTE_E_FORMAT, "%s: tensor '%s' has shape [%lld, %lld] (%u dims), expected [%lld, %lld]",
                         L->f->path, t->name, (long long)t->ne[0], (long long)t->ne[1], t->n_dims,
                         (long long)ne0, (long long)ne1);
    }
    return MOTE_OK;
}

/* A 1-D F32 vector (norms, biases, rope factors). */
static mote_status get_vec(const loader *L, const char *name, int64_t n, int required, const float **out)
{
    mote_status st;
    const gguf_tensor *t = find(L, name, required, &st);
    *out = NULL;
    if (!t) return st;
    MOTE_TRY(check_shape(L, t, 1, n, 1));
    if (t->type != GGML_TYPE_F32)
        return mote_fail(MOTE_E_UNSUPPORTED, "%s: tensor '%s' has type %s; mote expects F32 for 1-D tensors",
                         L->f->path, t->name, ggml_type_name(t->type));
    *out = t->data;
    return MOTE_OK;
}

static mote_status get_mat(const loader *L, const char *name, int64_t cols, int64_t rows, int required,
                           weight *out)
{
    mote_status st;
    const gguf_tensor *t = find(L, name, required, &st);
    memset(out, 0, sizeof *out);
    if (!t) return st;
    MOTE_TRY(check_shape(L, t, 2, cols, rows));
    if (!kernels_supported(t->type))
        return mote_fail(MOTE_E_UNSUPPORTED, "%s: tensor '%s' has type %s, which mote does not support",
                         L->f->path, t->name, ggml_type_name(t->type));
    out->data = t->data;
    out->type = t->type;
    out->cols = cols;
    out->rows = rows;
    out->row_bytes = ggml_row_size(t->type, cols);
    out->name = t->name;
    return MOTE_OK;
}

static mote_status load_layer(loader *L, int il)
{
    const arch_hparams *hp = &L->a->hp;
    layer_weights *lw = &L->a->layers[il];
    int64_t q_dim = (int64_t)hp->n_head * hp->head_dim, kv_dim = (int64_t)hp->n_head_kv * hp->head_dim;
    int bias = L->a->kind == ARCH_QWEN2;
    char name[96];
#define NAME(s) (snprintf(name, sizeof name, "blk.%d." s, il), name)
    MOTE_TRY(get_vec(L, NAME("attn_norm.weight"), hp->n_embd, 1, &lw->attn_norm));
    MOTE_TRY(get_mat(L, NAME("attn_q.weight"), hp->n_embd, q_dim, 1, &lw->wq));
    MOTE_TRY(get_mat(L, NAME("attn_k.weight"), hp->n_embd, kv_dim, 1, &lw->wk));
    MOTE_TRY(get_mat(L, NAME("attn_v.weight"), hp->n_embd, kv_dim, 1, &lw->wv));
    MOTE_TRY(get_mat(L, NAME("attn_output.weight"), q_dim, hp->n_embd, 1, &lw->wo));
    MOTE_TRY(get_vec(L, NAME("attn_q.bias"), q_dim, bias, &lw->bq));
    MOTE_TRY(get_vec(L, NAME("attn_k.bias"), kv_dim, bias, &lw->bk));
    MOTE_TRY(get_vec(L, NAME("attn_v.bias"), kv_dim, bias, &lw->bv));
    MOTE_TRY(get_vec(L, NAME("ffn_norm.weight"), hp->n_embd, 1, &lw->ffn_norm));
    MOTE_TRY(get_mat(L, NAME("ffn_gate.weight"), hp->n_embd, hp->n_ff, 1, &lw->w_gate));
    MOTE_TRY(get_mat(L, NAME("ffn_up.weight"), hp->n_embd, hp->n_ff, 1, &lw->w_up));
    MOTE_TRY(get_mat(L, NAME("ffn_down.weight"), hp->n_ff, hp->n_embd, 1, &lw->w_down));
#undef NAME
    return MOTE_OK;
}

/* Every tensor in the file must be one the architecture reads (as llama.cpp
 * also demands): a tensor mote would skip, such as blk.4.* in a file whose
 * block_count says 4, means the file and its hyper-parameters disagree. */
static mote_status check_all_used(const loader *L)
{
    for (uint64_t i = 0; i < L->f->n_tensors; i++) {
        if (L->used[i]) continue;
        return mote_fail(MOTE_E_FORMAT, "%s: tensor '%s' is not used by architecture '%s' with %s = %d "
                         "(mote would ignore it: the file and its hyper-parameters disagree)",
                         L->f->path, L->f->tensors[i].name, L->arch, akey(L, "block_count"),
                         L->a->hp.n_layer);
    }
    return MOTE_OK;
}

static mote_status load_tensors(loader *L)
{
    model_arch *a = L->a;
    arch_hparams *hp = &a->hp;
    mote_status st;
    const gguf_tensor *emb = find(L, "token_embd.weight", 1, &st);
    if (!emb) return st;
    if (emb->n_dims != 2 || emb->ne[0] != hp->n_embd || emb->ne[1] < 1 || emb->ne[1] > (1 << 24))
        return mote_fail(MOTE_E_FORMAT, "%s: tensor 'token_embd.weight' has shape [%lld, %lld], expected [%d, n_vocab]",
                         L->f->path, (long long)emb->ne[0], (long long)emb->ne[1], hp->n_embd);
    hp->n_vocab = (int)emb->ne[1];
    MOTE_TRY(get_mat(L, "token_embd.weight", hp->n_embd, hp->n_vocab, 1, &a->tok_embd));
    MOTE_TRY(get_vec(L, "output_norm.weight", hp->n_embd, 1, &a->output_norm));
    MOTE_TRY(get_mat(L, "output.weight", hp->n_embd, hp->n_vocab, 0, &a->output));
    if (!a->output.data) a->output = a->tok_embd; /* tied embeddings */
    MOTE_TRY(get_vec(L, "rope_freqs.weight", hp->n_rot / 2, 0, &a->rope_freqs));
    for (int i = 0; a->rope_freqs && i < hp->n_rot / 2; i++) {
        /* each divides a rope frequency: like a hyper-parameter, it must be finite and > 0 */
        float v = a->rope_freqs[i];
        if (!isfinite(v) || !(v > 0.0f))
            return mote_fail(MOTE_E_FORMAT, "%s: tensor 'rope_freqs.weight' element %d = %g is out of range "
                             "(it must be a finite number > 0)", L->f->path, i, (double)v);
    }

    a->layers = calloc((size_t)hp->n_layer, sizeof *a->layers);
    if (!a->layers) return mote_fail(MOTE_E_NOMEM, "%s: out of memory for %d layers", L->f->path, hp->n_layer);
    for (int il = 0; il < hp->n_layer; il++) MOTE_TRY(load_layer(L, il));
    MOTE_TRY(check_all_used(L));

    for (uint64_t i = 0; i < L->f->n_tensors; i++) {
        const gguf_tensor *t = &L->f->tensors[i];
        int64_t n = 1;
        for (uint32_t d = 0; d < t->n_dims; d++) n *= t->ne[d];
        a->n_params += n;
        a->weight_bytes += t->nbytes;
    }
    return MOTE_OK;
}

mote_status arch_load(const gguf_file *f, model_arch **out)
{
    *out = NULL;
    gguf_str name;
    MOTE_TRY(gguf_get_str(f, "general.architecture", &name));
    model_arch *a = calloc(1, sizeof *a);
    if (!a) return mote_fail(MOTE_E_NOMEM, "out of memory");
    loader L = {.f = f, .a = a, .used = calloc(f->n_tensors ? (size_t)f->n_tensors : 1, 1)};
    if (!L.used) {
        free(a);
        return mote_fail(MOTE_E_NOMEM, "%s: out of memory", f->path);
    }
    if (name.len == 5 && memcmp(name.ptr, "llama", 5) == 0) {
        a->kind = ARCH_LLAMA;
        L.arch = "llama";
    } else if (name.len == 5 && memcmp(name.ptr, "qwen2", 5) == 0) {
        a->kind = ARCH_QWEN2;
        L.arch = "qwen2";
    } else {
        free(a);
        free(L.used);
        return mote_fail(MOTE_E_UNSUPPORTED, "%s: architecture '%.*s' is not supported (mote runs llama and qwen2)",
                         f->path, (int)(name.len > 64 ? 64 : name.len), name.ptr);
    }
    mote_status st = load_hparams(&L);
    if (st == MOTE_OK) st = load_tensors(&L);
    free(L.used);
    if (st != MOTE_OK) {
        arch_free(a);
        return st;
    }
    *out = a;
    return MOTE_OK;
}

void arch_free(model_arch *a)
{
    if (!a) return;
    free(a->layers);
    free(a);
}
