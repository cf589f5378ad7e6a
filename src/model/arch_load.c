/*
 * arch_load.c — hyper-parameters and weights of an architecture from GGUF.
 *
 * Keys follow llama.cpp's naming: "<arch>.block_count", "<arch>.attention.
 * head_count", ...; tensors "token_embd.weight", "blk.N.attn_q.weight", ...
 * (N the layer's stored block: the layer itself, unless mote.block_map
 * shares blocks between layers, see arch.h and block_map.c).
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
#include "tensor/layout.h"

#define MAX_KEY 128

/* ------------------------------------------------------------------------
 * Families
 *
 * What sets each family apart from llama, as llama.cpp builds it (its
 * src/models/<family>.cpp). arch_load turns a record and the file's keys
 * into hyper-parameters and per-layer settings; nothing else in the
 * engine asks which family a model is.
 * ---------------------------------------------------------------------- */

typedef struct arch_family {
    const char *name;          /* general.architecture */
    enum rope_style rope_style;
    enum ffn_act act;
    unsigned qkv_bias : 1;     /* q/k/v biases required (qwen2) */
    unsigned qk_norm : 1;      /* attn_q_norm / attn_k_norm per head, before rope */
    unsigned post_norms : 1;   /* post_attention_norm and post_ffw_norm on the block outputs */
    unsigned fused_qkv : 1;    /* attn_qkv may stand for attn_q, attn_k and attn_v */
    unsigned fused_up : 1;     /* ffn_up holds the gate rows then the up rows; no ffn_gate */
    unsigned q_prescale : 1;   /* q × 1/√head_dim after rope, scores unscaled */
    unsigned embd_sqrt : 1;    /* inputs × √n_embd */
    unsigned granite : 1;      /* embedding, residual, attention and logit scale keys */
    unsigned long_rope : 1;    /* rope_factors_long/_short and rope.scaling.attn_factor */
    unsigned softcap : 1;      /* final_logit_softcapping key */
    unsigned swa : 1;          /* attention.sliding_window on a layer pattern */
    unsigned swa_ignored : 1;  /* attention.sliding_window read and ignored, as llama.cpp does */
    unsigned encoder : 1;      /* embeddings only, bidirectional attention (symmetric windows) */
    unsigned bert : 1;         /* post-LayerNorm blocks, input LayerNorm, token types, biases, no final norm */
    unsigned learned_pos : 1;  /* position_embd instead of rope */
    unsigned dense : 1;        /* dense_2 / dense_3 after pooling */
    int swa_period;            /* pattern without a key: layer il is local iff il % p < p - 1 */
    int nope_period;           /* layer il has no rope iff (il + 1) % p == 0; 0: every layer has */
} arch_family;

static const arch_family families[] = {
    {.name = "llama", .rope_style = ROPE_NORM},
    {.name = "qwen2", .rope_style = ROPE_NEOX, .qkv_bias = 1},
    {.name = "qwen3", .rope_style = ROPE_NEOX, .qk_norm = 1},
    {.name = "gemma3", .rope_style = ROPE_NEOX, .act = FFN_GELU, .qk_norm = 1, .post_norms = 1, .q_prescale = 1,
     .embd_sqrt = 1, .softcap = 1, .swa = 1, .swa_period = 6},
    {.name = "phi3", .rope_style = ROPE_NEOX, .fused_qkv = 1, .fused_up = 1, .q_prescale = 1, .long_rope = 1,
     .swa_ignored = 1},
    {.name = "granite", .rope_style = ROPE_NORM, .granite = 1},
    {.name = "smollm3", .rope_style = ROPE_NORM, .nope_period = 4},
    /* embedding models (llama.cpp's bert.cpp, nomic-bert.cpp, gemma-embedding.cpp) */
    {.name = "bert", .act = FFN_GELU, .qkv_bias = 1, .encoder = 1, .bert = 1, .learned_pos = 1},
    {.name = "nomic-bert", .rope_style = ROPE_NEOX, .fused_qkv = 1, .encoder = 1, .bert = 1},
    {.name = "gemma-embedding", .rope_style = ROPE_NEOX, .act = FFN_GELU, .qk_norm = 1, .post_norms = 1,
     .q_prescale = 1, .embd_sqrt = 1, .swa = 1, .swa_period = 6, .encoder = 1, .dense = 1},
};

static const arch_family *find_family(const gguf_str *name)
{
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
        if (strlen(families[i].name) == name->len && memcmp(families[i].name, name->ptr, name->len) == 0)
            return &families[i];
    return NULL;
}

/* Families llama.cpp knows that mote does not run yet, with what differs:
 * named in the error instead of "not supported". */
static const struct {
    const char *name, *feature;
} unsupported[] = {
    {"gemma3n", "per-layer embeddings and AltUp (Gemma 3n)"},
    {"gemma2", "attention logit softcapping (Gemma 2)"},
    {"qwen3moe", "mixture-of-experts layers"},
    {"qwen2moe", "mixture-of-experts layers"},
    {"phimoe", "mixture-of-experts layers"},
    {"granitemoe", "mixture-of-experts layers"},
    {"granitehybrid", "Mamba-2 layers"},
    {"mixtral", "mixture-of-experts layers"},
    {"llama4", "mixture-of-experts layers and chunked attention"},
};

typedef struct loader {
    const gguf_file *f;
    const char *arch;  /* key prefix */
    const arch_family *fam;
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

/* Which layers are local (sliding window): sliding_window_pattern as a
 * period or one bool per layer, else the family's period. */
static mote_status load_swa_layers(loader *L)
{
    arch_hparams *hp = &L->a->hp;
    const gguf_kv *kv = gguf_find_kv(L->f, akey(L, "attention.sliding_window_pattern"));
    uint32_t period = (uint32_t)L->fam->swa_period;
    if (kv && kv->type == GGUF_TYPE_ARRAY) {
        if (kv->arr_n != (uint64_t)hp->n_layer)
            return mote_fail(MOTE_E_FORMAT, "%s: key %s has %llu elements, block_count is %d", L->f->path,
                             akey(L, "attention.sliding_window_pattern"), (unsigned long long)kv->arr_n, hp->n_layer);
        for (int il = 0; il < hp->n_layer; il++) {
            int64_t v;
            MOTE_TRY(gguf_arr_get_int(L->f, kv, (uint64_t)il, 0, 1, &v));
            L->a->layers[il].window = v ? hp->n_swa : 0;
        }
        return MOTE_OK;
    }
    if (kv) MOTE_TRY(gguf_get_u32(L->f, akey(L, "attention.sliding_window_pattern"), &period));
    for (int il = 0; il < hp->n_layer; il++)
        L->a->layers[il].window = period == 0 || (uint32_t)il % period < period - 1 ? hp->n_swa : 0;
    return MOTE_OK;
}

/* The keys of the family's features, into hp and the per-layer settings. */
static mote_status load_family_hparams(loader *L)
{
    const arch_family *fam = L->fam;
    arch_hparams *hp = &L->a->hp;
    const float inv_sqrt_hd = 1.0f / sqrtf((float)hp->head_dim);
    hp->embd_scale = fam->embd_sqrt ? sqrtf((float)hp->n_embd) : 1.0f;
    hp->q_scale = 1.0f;
    hp->kq_scale = inv_sqrt_hd;
    if (fam->q_prescale) {
        /* gemma3's 62-layer files (27B) scale by 1/√(n_embd / n_head) */
        hp->q_scale = fam->swa && hp->n_layer == 62 ? 1.0f / sqrtf((float)(hp->n_embd / hp->n_head)) : inv_sqrt_hd;
        hp->kq_scale = 1.0f;
    }
    hp->residual_scale = 1.0f;
    hp->logit_scale = 1.0f;
    hp->softcap = 0.0f;
    hp->rope_mscale = 1.0f;
    hp->rope_base_local = hp->rope_base;
    hp->n_ctx_orig = hp->n_ctx_train;
    hp->n_swa = 0;

    int rope_on = 1;
    if (fam->granite) {
        float f;
        MOTE_TRY(get_real_or(L, "embedding_scale", 0.0f, 0.0f, 1, INFINITY, &f));
        if (f != 0.0f) hp->embd_scale = f;
        MOTE_TRY(get_real_or(L, "residual_scale", 0.0f, 0.0f, 1, INFINITY, &f));
        if (f != 0.0f) hp->residual_scale = f;
        MOTE_TRY(get_real_or(L, "attention.scale", 0.0f, 0.0f, 1, INFINITY, &f));
        if (f != 0.0f) hp->kq_scale = f;
        if (!gguf_find_kv(L->f, akey(L, "logit_scale")))
            return mote_fail(MOTE_E_FORMAT, "%s: missing key %s required by architecture '%s'", L->f->path,
                             akey(L, "logit_scale"), L->arch);
        MOTE_TRY(get_real_or(L, "logit_scale", 1.0f, 0.0f, 0, INFINITY, &f));
        hp->logit_scale = 1.0f / f;
        if (!isfinite(hp->logit_scale))
            return mote_fail(MOTE_E_FORMAT, "%s: key %s = %g is out of range (its inverse must be finite)",
                             L->f->path, akey(L, "logit_scale"), (double)f);
        bool finetuned; /* granite reads it as a rope switch for every layer */
        MOTE_TRY(gguf_get_bool_or(L->f, akey(L, "rope.scaling.finetuned"), true, &finetuned));
        rope_on = finetuned;
    }
    if (fam->softcap) MOTE_TRY(get_real_or(L, "final_logit_softcapping", 0.0f, 0.0f, 1, INFINITY, &hp->softcap));
    /* llama.cpp scales cos and sin by it in every family */
    MOTE_TRY(get_real_or(L, "rope.scaling.attn_factor", 1.0f, 0.0f, 0, INFINITY, &hp->rope_mscale));
    if (fam->long_rope)
        MOTE_TRY(get_count_or(L, "rope.scaling.original_context_length", hp->n_ctx_train, &hp->n_ctx_orig));
    uint32_t n_swa = 0;
    if (fam->swa || fam->swa_ignored)
        MOTE_TRY(gguf_get_u32_or(L->f, akey(L, "attention.sliding_window"), 0, &n_swa));
    if (fam->swa_ignored && n_swa > 0)
        snprintf(L->a->warning, sizeof L->a->warning, "%.64s %u: ignored, as llama.cpp does (every layer attends "
                 "to the whole context)", akey(L, "attention.sliding_window"), n_swa);
    if (fam->swa && n_swa > 0) {
        hp->n_swa = (int)(n_swa > (1u << 24) ? 1u << 24 : n_swa);
        MOTE_TRY(get_real_or(L, "rope.freq_base_swa", 10000.0f, 0.0f, 0, INFINITY, &hp->rope_base_local));
    }
    if (hp->n_swa) MOTE_TRY(load_swa_layers(L));
    hp->swa_symmetric = fam->encoder && hp->n_swa > 0;
    for (int il = 0; il < hp->n_layer; il++) {
        layer_weights *lw = &L->a->layers[il];
        lw->rope = lw->window ? 1 : 0;
        if (!rope_on || fam->learned_pos || (fam->nope_period && (il + 1) % fam->nope_period == 0)) lw->rope = -1;
    }
    return MOTE_OK;
}

static mote_status load_hparams(loader *L)
{
    arch_hparams *hp = &L->a->hp;
    MOTE_TRY(get_count(L, "embedding_length", &hp->n_embd));
    MOTE_TRY(get_count(L, "block_count", &hp->n_layer));
    /* Every stored block has tensors of its own: a count beyond the file's
     * tensors is refused before anything is sized by it (a fuzzed 2^24
     * once asked for 6 GB of layer records). With a block map the layers
     * may outnumber the stored blocks, but the map has an element per
     * layer, so the file's size bounds them (checked before it is read). */
    const gguf_kv *map_kv = gguf_find_kv(L->f, ARCH_KEY_BLOCK_MAP);
    if (!map_kv && (uint64_t)hp->n_layer > L->f->n_tensors)
        return mote_fail(MOTE_E_FORMAT, "%s: key %s = %d is more blocks than the file has tensors (%llu)",
                         L->f->path, akey(L, "block_count"), hp->n_layer, (unsigned long long)L->f->n_tensors);
    MOTE_TRY(arch_block_map(L->f, hp->n_layer, &L->a->block_of, &L->a->n_blocks));
    if ((uint64_t)L->a->n_blocks > L->f->n_tensors)
        return mote_fail(MOTE_E_FORMAT, "%s: key %s names %d stored blocks, more than the file has tensors (%llu)",
                         L->f->path, ARCH_KEY_BLOCK_MAP, L->a->n_blocks, (unsigned long long)L->f->n_tensors);
    L->a->layers = calloc((size_t)hp->n_layer, sizeof *L->a->layers);
    if (!L->a->layers) return mote_fail(MOTE_E_NOMEM, "%s: out of memory for %d layers", L->f->path, hp->n_layer);
    MOTE_TRY(get_count(L, "feed_forward_length", &hp->n_ff));
    MOTE_TRY(get_count(L, "attention.head_count", &hp->n_head));
    MOTE_TRY(get_count_or(L, "attention.head_count_kv", hp->n_head, &hp->n_head_kv));
    MOTE_TRY(get_count_or(L, "context_length", 2048, &hp->n_ctx_train));
    if (hp->n_embd % hp->n_head != 0 && !gguf_find_kv(L->f, akey(L, "attention.key_length")))
        return mote_fail(MOTE_E_FORMAT, "%s: embedding_length %d is not a multiple of head_count %d and "
                         "there is no attention.key_length", L->f->path, hp->n_embd, hp->n_head);
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
    if (L->fam->bert)
        MOTE_TRY(get_real_or(L, "attention.layer_norm_epsilon", 1e-12f, 0.0f, 0, 1.0f, &hp->norm_eps));
    else
        MOTE_TRY(get_real_or(L, "attention.layer_norm_rms_epsilon", 1e-5f, 0.0f, 0, 1.0f, &hp->norm_eps));
    /* Encoders attend both ways; BERT files say so (attention.causal),
     * EmbeddingGemma always does whatever its key says, as llama.cpp. */
    hp->encoder = L->fam->encoder;
    bool causal = !L->fam->encoder;
    if (L->fam->bert) MOTE_TRY(gguf_get_bool_or(L->f, akey(L, "attention.causal"), false, &causal));
    hp->causal = causal;

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
    hp->rope_style = L->fam->rope_style;
    hp->act = L->fam->act;
    hp->fused_up = L->fam->fused_up;
    return load_family_hparams(L);
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
    if (layout_is(t->type) && cols > LAYOUT_K_MAX)
        return mote_fail(MOTE_E_UNSUPPORTED, "%s: tensor '%s': rows of %lld elements are too long for type %s (most %d)",
                         L->f->path, t->name, (long long)cols, ggml_type_name(t->type), LAYOUT_K_MAX);
    out->data = t->data;
    out->type = t->type;
    out->cols = cols;
    out->rows = rows;
    out->row_bytes = ggml_row_size(t->type, cols);
    out->name = t->name;
    return MOTE_OK;
}

/* MOTE_OK if rows [row0, row0 + rows) of w can be a weight of their own:
 * a layout type's views must be whole groups of rows (or w's own tail). */
static mote_status check_view(const weight *w, int64_t row0, int64_t rows)
{
    if (!layout_is(w->type) || layout_view_ok(w->rows, row0, rows)) return MOTE_OK;
    return mote_fail(MOTE_E_UNSUPPORTED,
                     "tensor '%s' (%s): rows %lld..%lld are not whole groups of %d rows; use the plain file "
                     "(mote optimize --plain)",
                     w->name, ggml_type_name(w->type), (long long)row0, (long long)(row0 + rows), LAYOUT_ROWS);
}

/* A table the model reads a row at a time (embeddings): a plain type. */
static mote_status check_table(const weight *w)
{
    if (!layout_is(w->type)) return MOTE_OK;
    return mote_fail(MOTE_E_UNSUPPORTED, "tensor '%s': an embedding table cannot be of type %s (mote optimize --plain)",
                     w->name, ggml_type_name(w->type));
}

/* Rows [row0, row0 + rows) of w, as a weight of their own (fused tensors). */
static weight row_view(const weight *w, int64_t row0, int64_t rows, const char *name)
{
    weight v = *w;
    v.data = (const uint8_t *)w->data + (size_t)row0 * w->row_bytes;
    v.rows = rows;
    v.name = name;
    return v;
}

/* Layer il's weights: the tensors of its stored block (mote.block_map),
 * blk.<block>.*, in place. Layers that share a block get equal pointers. */
static mote_status load_layer(loader *L, int il)
{
    const arch_family *fam = L->fam;
    const arch_hparams *hp = &L->a->hp;
    layer_weights *lw = &L->a->layers[il];
    const int blk = L->a->block_of[il];
    int64_t q_dim = (int64_t)hp->n_head * hp->head_dim, kv_dim = (int64_t)hp->n_head_kv * hp->head_dim;
    char name[96];
#define NAME(s) (snprintf(name, sizeof name, "blk.%d." s, blk), name)
    if (!fam->bert) MOTE_TRY(get_vec(L, NAME("attn_norm.weight"), hp->n_embd, 1, &lw->attn_norm));
    weight qkv = {0};
    if (fam->fused_qkv && gguf_find_tensor(L->f, NAME("attn_qkv.weight"))) {
        MOTE_TRY(get_mat(L, name, hp->n_embd, q_dim + 2 * kv_dim, 1, &qkv));
        MOTE_TRY(check_view(&qkv, 0, q_dim));
        MOTE_TRY(check_view(&qkv, q_dim, kv_dim));
        MOTE_TRY(check_view(&qkv, q_dim + kv_dim, kv_dim));
        lw->wq = row_view(&qkv, 0, q_dim, qkv.name);
        lw->wk = row_view(&qkv, q_dim, kv_dim, qkv.name);
        lw->wv = row_view(&qkv, q_dim + kv_dim, kv_dim, qkv.name);
        const float *b;
        MOTE_TRY(get_vec(L, NAME("attn_qkv.bias"), q_dim + 2 * kv_dim, 0, &b));
        if (b) lw->bq = b, lw->bk = b + q_dim, lw->bv = b + q_dim + kv_dim;
    } else {
        MOTE_TRY(get_mat(L, NAME("attn_q.weight"), hp->n_embd, q_dim, 1, &lw->wq));
        MOTE_TRY(get_mat(L, NAME("attn_k.weight"), hp->n_embd, kv_dim, 1, &lw->wk));
        MOTE_TRY(get_mat(L, NAME("attn_v.weight"), hp->n_embd, kv_dim, 1, &lw->wv));
    }
    MOTE_TRY(get_mat(L, NAME("attn_output.weight"), q_dim, hp->n_embd, 1, &lw->wo));
    if (fam->bert) MOTE_TRY(get_vec(L, NAME("attn_output.bias"), hp->n_embd, 0, &lw->bo));
    if (!lw->bq) {
        MOTE_TRY(get_vec(L, NAME("attn_q.bias"), q_dim, fam->qkv_bias, &lw->bq));
        MOTE_TRY(get_vec(L, NAME("attn_k.bias"), kv_dim, fam->qkv_bias, &lw->bk));
        MOTE_TRY(get_vec(L, NAME("attn_v.bias"), kv_dim, fam->qkv_bias, &lw->bv));
    }
    if (fam->qk_norm) {
        MOTE_TRY(get_vec(L, NAME("attn_q_norm.weight"), hp->head_dim, 1, &lw->q_norm));
        MOTE_TRY(get_vec(L, NAME("attn_k_norm.weight"), hp->head_dim, 1, &lw->k_norm));
    }
    if (fam->post_norms) {
        MOTE_TRY(get_vec(L, NAME("post_attention_norm.weight"), hp->n_embd, 1, &lw->attn_post_norm));
        MOTE_TRY(get_vec(L, NAME("post_ffw_norm.weight"), hp->n_embd, 1, &lw->ffn_post_norm));
    }
    if (fam->bert) {
        MOTE_TRY(get_vec(L, NAME("attn_output_norm.weight"), hp->n_embd, 1, &lw->ln_attn_w));
        MOTE_TRY(get_vec(L, NAME("attn_output_norm.bias"), hp->n_embd, 1, &lw->ln_attn_b));
        MOTE_TRY(get_vec(L, NAME("layer_output_norm.weight"), hp->n_embd, 1, &lw->ln_ffn_w));
        MOTE_TRY(get_vec(L, NAME("layer_output_norm.bias"), hp->n_embd, 1, &lw->ln_ffn_b));
    } else {
        MOTE_TRY(get_vec(L, NAME("ffn_norm.weight"), hp->n_embd, 1, &lw->ffn_norm));
    }
    if (fam->bert && !gguf_find_tensor(L->f, NAME("ffn_gate.weight"))) {
        /* BERT's ungated FFN: down(gelu(up·x + b)) + b */
        MOTE_TRY(get_mat(L, NAME("ffn_up.weight"), hp->n_embd, hp->n_ff, 1, &lw->w_up));
        MOTE_TRY(get_vec(L, NAME("ffn_up.bias"), hp->n_ff, 0, &lw->b_up));
        MOTE_TRY(get_vec(L, NAME("ffn_down.bias"), hp->n_embd, 0, &lw->b_down));
    } else if (fam->fused_up) {
        weight up;
        MOTE_TRY(get_mat(L, NAME("ffn_up.weight"), hp->n_embd, 2 * (int64_t)hp->n_ff, 1, &up));
        MOTE_TRY(check_view(&up, 0, hp->n_ff));
        MOTE_TRY(check_view(&up, hp->n_ff, hp->n_ff));
        lw->w_gate = row_view(&up, 0, hp->n_ff, up.name);
        lw->w_up = row_view(&up, hp->n_ff, hp->n_ff, up.name);
    } else {
        MOTE_TRY(get_mat(L, NAME("ffn_gate.weight"), hp->n_embd, hp->n_ff, 1, &lw->w_gate));
        MOTE_TRY(get_mat(L, NAME("ffn_up.weight"), hp->n_embd, hp->n_ff, 1, &lw->w_up));
    }
    MOTE_TRY(get_mat(L, NAME("ffn_down.weight"), hp->n_ff, hp->n_embd, 1, &lw->w_down));
#undef NAME
    return MOTE_OK;
}

/* Rope frequency divisors: each divides a frequency, so like a
 * hyper-parameter it must be finite and > 0. */
static mote_status get_rope_factors(const loader *L, const char *name, int required, const float **out)
{
    const int n = L->a->hp.n_rot / 2;
    MOTE_TRY(get_vec(L, name, n, required, out));
    for (int i = 0; *out && i < n; i++) {
        float v = (*out)[i];
        if (!isfinite(v) || !(v > 0.0f))
            return mote_fail(MOTE_E_FORMAT, "%s: tensor '%s' element %d = %g is out of range "
                             "(it must be a finite number > 0)", L->f->path, name, i, (double)v);
    }
    return MOTE_OK;
}

/* BERT's inputs: token type 0 and learned positions added to the token's
 * embedding, then a LayerNorm. */
static mote_status load_bert_inputs(loader *L)
{
    model_arch *a = L->a;
    const int E = a->hp.n_embd;
    mote_status st;
    const gguf_tensor *t = find(L, "token_types.weight", 1, &st);
    if (!t) return st;
    MOTE_TRY(get_mat(L, t->name, E, t->n_dims == 2 ? t->ne[1] : 0, 1, &a->tok_types));
    MOTE_TRY(check_table(&a->tok_types));
    if (L->fam->learned_pos) {
        if (!(t = find(L, "position_embd.weight", 1, &st))) return st;
        MOTE_TRY(get_mat(L, t->name, E, t->n_dims == 2 ? t->ne[1] : 0, 1, &a->pos_embd));
        MOTE_TRY(check_table(&a->pos_embd));
    }
    MOTE_TRY(get_vec(L, "token_embd_norm.weight", E, 1, &a->embd_norm_w));
    return get_vec(L, "token_embd_norm.bias", E, 1, &a->embd_norm_b);
}

/* EmbeddingGemma's projections of the pooled vector: dense_2 (n_embd ->
 * d), dense_3 (d -> n_embd), both or neither, their sizes in keys. */
static mote_status load_dense(loader *L)
{
    model_arch *a = L->a;
    const int E = a->hp.n_embd;
    if (!gguf_find_tensor(L->f, "dense_2.weight") && !gguf_find_tensor(L->f, "dense_3.weight")) return MOTE_OK;
    int in2, out2, in3, out3;
    MOTE_TRY(get_count(L, "dense_2_feat_in", &in2));
    MOTE_TRY(get_count(L, "dense_2_feat_out", &out2));
    MOTE_TRY(get_count(L, "dense_3_feat_in", &in3));
    MOTE_TRY(get_count(L, "dense_3_feat_out", &out3));
    if (in2 != E || out3 != E || out2 != in3)
        return mote_fail(MOTE_E_FORMAT, "%s: dense layers %d->%d->%d->%d do not map embedding_length %d back to "
                         "itself", L->f->path, in2, out2, in3, out3, E);
    MOTE_TRY(get_mat(L, "dense_2.weight", in2, out2, 1, &a->dense_2));
    return get_mat(L, "dense_3.weight", in3, out3, 1, &a->dense_3);
}

/* Every tensor in the file must be one the architecture reads (as llama.cpp
 * also demands): a tensor mote would skip, such as blk.4.* in a file whose
 * block_count says 4, means the file and its hyper-parameters disagree. */
static mote_status check_all_used(const loader *L)
{
    for (uint64_t i = 0; i < L->f->n_tensors; i++) {
        if (L->used[i]) continue;
        if (!arch_block_map_is_identity(L->a->block_of, L->a->hp.n_layer))
            return mote_fail(MOTE_E_FORMAT, "%s: tensor '%s' is not used by architecture '%s' whose %s maps "
                             "%s = %d layers to %d stored blocks, blk.0 to blk.%d (mote would ignore it)",
                             L->f->path, L->f->tensors[i].name, L->arch, ARCH_KEY_BLOCK_MAP,
                             akey(L, "block_count"), L->a->hp.n_layer, L->a->n_blocks, L->a->n_blocks - 1);
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
    MOTE_TRY(check_table(&a->tok_embd));
    MOTE_TRY(get_vec(L, "output_norm.weight", hp->n_embd, !L->fam->bert, &a->output_norm));
    if (L->fam->bert) MOTE_TRY(load_bert_inputs(L));
    if (L->fam->dense) MOTE_TRY(load_dense(L));
    MOTE_TRY(get_mat(L, "output.weight", hp->n_embd, hp->n_vocab, 0, &a->output));
    if (!a->output.data) a->output = a->tok_embd; /* tied embeddings */
    MOTE_TRY(get_rope_factors(L, "rope_freqs.weight", 0, &a->rope_freqs));
    if (L->fam->long_rope) {
        /* Both or neither: without them phi3 is plain rope. */
        int both = gguf_find_tensor(L->f, "rope_factors_long.weight") || gguf_find_tensor(L->f, "rope_factors_short.weight");
        MOTE_TRY(get_rope_factors(L, "rope_factors_long.weight", both, &a->rope_long));
        MOTE_TRY(get_rope_factors(L, "rope_factors_short.weight", both, &a->rope_short));
    }

    const int shared = !arch_block_map_is_identity(a->block_of, hp->n_layer);
    for (int il = 0; il < hp->n_layer; il++) {
        st = load_layer(L, il);
        if (st != MOTE_OK && shared)
            return mote_fail_prefix(st, "layer %d, stored block %d (%s): ", il, a->block_of[il], ARCH_KEY_BLOCK_MAP);
        if (st != MOTE_OK) return st;
    }
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
    L.fam = find_family(&name);
    if (!L.fam) {
        const int len = (int)(name.len > 64 ? 64 : name.len);
        free(a);
        free(L.used);
        for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++)
            if (strlen(unsupported[i].name) == name.len && memcmp(unsupported[i].name, name.ptr, name.len) == 0)
                return mote_fail(MOTE_E_UNSUPPORTED, "%s: architecture '%.*s' is not supported: mote does not "
                                 "implement its %s", f->path, len, name.ptr, unsupported[i].feature);
        return mote_fail(MOTE_E_UNSUPPORTED, "%s: architecture '%.*s' is not supported (mote runs %s)", f->path,
                         len, name.ptr, arch_families());
    }
    L.arch = L.fam->name;
    a->family = L.fam->name;
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

const float *arch_rope_factors(const model_arch *a, int n_ctx)
{
    if (a->rope_freqs || !a->rope_long) return a->rope_freqs;
    const int64_t padded = ((int64_t)n_ctx + 255) / 256 * 256;
    return padded > a->hp.n_ctx_orig ? a->rope_long : a->rope_short;
}

int arch_known(const char *arch)
{
    gguf_str name = {arch, strlen(arch)};
    return find_family(&name) != NULL;
}

const char *arch_families(void)
{
    return "llama, qwen2, qwen3, gemma3, phi3, granite, smollm3, and the embedding models bert, nomic-bert "
           "and gemma-embedding";
}

void arch_free(model_arch *a)
{
    if (!a) return;
    free(a->layers);
    free(a->block_of);
    free(a);
}
