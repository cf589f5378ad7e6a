/*
 * embed.c — texts to vectors (mote_embedder, see mote.h).
 *
 * An embeddings session of n_seq_max sequences; mote_embed packs whole
 * texts into passes (at most n_batch tokens and n_seq_max texts each),
 * one sequence per text, reads each sequence's pooled vector and clears
 * the sequences for the next pass.
 */
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "engine/model.h"
#include "engine/session.h"
#include "engine/vocab.h"
#include "model/arch.h"

#define DEFAULT_N_SEQ 8 /* texts a pass: each holds n_ctx positions of keys and values */

struct mote_embedder {
    const mote_model *model;
    mote_session *session;
    int n_ctx, n_batch, n_seq, dim, truncate;
    tokbuf *toks;            /* (n_seq) the texts of the pass being packed */
    int32_t *b_token, *b_seq, *b_pos; /* (n_batch) */
    int8_t *b_out;
};

mote_embed_params mote_embed_default_params(void)
{
    return (mote_embed_params){.pooling = MOTE_POOL_DEFAULT, .normalize = 1};
}

int mote_model_embedding_only(const mote_model *model)
{
    return model && model->arch && model->arch->hp.encoder;
}

int mote_embedder_dim(const mote_embedder *e) { return e ? e->dim : 0; }

void mote_embedder_free(mote_embedder *e)
{
    if (!e) return;
    mote_session_free(e->session);
    for (int i = 0; e->toks && i < e->n_seq; i++) tokbuf_free(&e->toks[i]);
    free(e->toks);
    free(e->b_token);
    free(e->b_seq);
    free(e->b_pos);
    free(e->b_out);
    free(e);
}

int mote_model_pooling(const mote_model *model)
{
    return model && model->arch ? model->arch->hp.pooling : MOTE_POOL_NONE;
}

/* The session an embedder with params (NULL: defaults) runs. */
static mote_status embed_session_params(const mote_model *model, const mote_embed_params *params, const char *fn,
                                        mote_session_params *out)
{
    if (!model) return mote_fail(MOTE_E_INVALID, "%s: NULL model", fn);
    if (!model->arch) return mote_fail(MOTE_E_INVALID, "%s: %s was opened vocab-only", fn, model->gguf->path);
    mote_embed_params p = params ? *params : mote_embed_default_params();
    const arch_hparams *hp = &model->arch->hp;
    int pooling = p.pooling == MOTE_POOL_DEFAULT ? hp->pooling : p.pooling;
    if (p.pooling == MOTE_POOL_DEFAULT && pooling == MOTE_POOL_NONE) pooling = hp->encoder ? MOTE_POOL_MEAN : MOTE_POOL_LAST;
    if (pooling == MOTE_POOL_NONE)
        return mote_fail(MOTE_E_INVALID, "%s: an embedder pools each text into one vector (pooling none asks for "
                                         "one per token: use an embeddings session)", fn);
    if (p.n_seq_max < 0) return mote_fail(MOTE_E_INVALID, "%s: negative n_seq_max", fn);
    mote_session_params sp = mote_session_default_params();
    sp.n_ctx = p.n_ctx;
    sp.n_batch = p.n_batch ? p.n_batch : MOTE_N_CTX_MAX; /* clamped to n_ctx by the session */
    sp.n_threads = p.n_threads;
    sp.n_seq_max = p.n_seq_max ? p.n_seq_max : DEFAULT_N_SEQ;
    sp.embeddings = 1;
    sp.pooling = pooling;
    sp.normalize = p.normalize != 0;
    sp.kv_type = MOTE_KV_F32; /* keys and values as llama.cpp computes an embedding: F32 */
    *out = sp;
    return MOTE_OK;
}

mote_status mote_embedder_plan(const mote_model *model, const mote_embed_params *params, mote_memory *mem)
{
    if (!mem) return mote_fail(MOTE_E_INVALID, "mote_embedder_plan: NULL mem");
    mote_session_params sp;
    MOTE_TRY(embed_session_params(model, params, "mote_embedder_plan", &sp));
    MOTE_TRY(mote_session_plan(model, &sp, mem));
    /* the pass's batch arrays; the texts' tokens (n_ctx each at most;
     * the session's default n_ctx: the training context, at most 4096) */
    const int train = model->arch->hp.n_ctx_train;
    const size_t B = (size_t)(sp.n_ctx ? sp.n_ctx : train < 4096 ? train : 4096);
    mem->heap += sizeof(mote_embedder) + B * (3 * sizeof(int32_t) + 1) +
                 (size_t)sp.n_seq_max * (sizeof(tokbuf) + B * sizeof(int32_t));
    return MOTE_OK;
}

mote_status mote_embedder_create(const mote_model *model, const mote_embed_params *params, mote_embedder **out)
{
    if (out) *out = NULL;
    if (!out) return mote_fail(MOTE_E_INVALID, "mote_embedder_create: NULL argument");
    mote_session_params sp;
    MOTE_TRY(embed_session_params(model, params, "mote_embedder_create", &sp));
    const mote_embed_params p = params ? *params : mote_embed_default_params();
    const arch_hparams *hp = &model->arch->hp;
    mote_embedder *e = calloc(1, sizeof *e);
    if (!e) return mote_fail(MOTE_E_NOMEM, "mote_embedder_create: out of memory");
    e->model = model;
    mote_status st = mote_session_create(model, &sp, &e->session);
    if (st != MOTE_OK) {
        free(e);
        return st;
    }
    e->n_ctx = mote_session_n_ctx(e->session);
    e->n_batch = session_n_batch(e->session);
    e->n_seq = mote_session_n_seq(e->session);
    e->dim = hp->n_embd;
    e->truncate = p.truncate != 0;
    e->toks = calloc((size_t)e->n_seq, sizeof *e->toks);
    e->b_token = malloc(sizeof *e->b_token * (size_t)e->n_batch);
    e->b_seq = malloc(sizeof *e->b_seq * (size_t)e->n_batch);
    e->b_pos = malloc(sizeof *e->b_pos * (size_t)e->n_batch);
    e->b_out = calloc((size_t)e->n_batch, 1);
    if (!e->toks || !e->b_token || !e->b_seq || !e->b_pos || !e->b_out) {
        mote_embedder_free(e);
        return mote_fail(MOTE_E_NOMEM, "mote_embedder_create: out of memory");
    }
    *out = e;
    return MOTE_OK;
}

/* Text i's tokens into b (emptied first), cut to n_ctx with truncate. */
static mote_status tokenize_text(mote_embedder *e, const char *text, size_t len, int i, tokbuf *b)
{
    const struct vocab *v = e->model->vocab;
    b->n = 0;
    MOTE_TRY(vocab_tokenize(v, text, len, true, false, b));
    if (b->n == 0) return mote_fail(MOTE_E_INVALID, "mote_embed: text %d has no tokens", i);
    if (b->n <= (size_t)e->n_ctx) return MOTE_OK;
    if (!e->truncate)
        return mote_fail(MOTE_E_RANGE, "mote_embed: text %d has %zu tokens, more than n_ctx %d (truncate to cut it)",
                         i, b->n, e->n_ctx);
    const int32_t last = b->ids[b->n - 1];
    const int closes = (v->add_eos && last == v->eos) || (v->add_sep && last == v->sep);
    b->n = (size_t)e->n_ctx;
    if (closes) b->ids[b->n - 1] = last; /* the closing token the pooling may read (LAST: EOS) */
    return MOTE_OK;
}

/* Evaluate the packed texts (toks[0..n_texts)) and copy their vectors. */
static mote_status run_pass(mote_embedder *e, int n_texts, float *out)
{
    int n = 0;
    for (int j = 0; j < n_texts; j++)
        for (size_t t = 0; t < e->toks[j].n; t++, n++) {
            e->b_token[n] = e->toks[j].ids[t];
            e->b_seq[n] = j;
            e->b_pos[n] = (int32_t)t;
        }
    mote_batch b = {.n = n, .token = e->b_token, .seq = e->b_seq, .pos = e->b_pos, .output = e->b_out};
    mote_status st = mote_session_decode(e->session, &b);
    for (int j = 0; st == MOTE_OK && j < n_texts; j++) {
        const float *v = mote_session_embedding_seq(e->session, j);
        if (!v) st = mote_fail(MOTE_E_INVALID, "mote_embed: no pooled vector for a text");
        else memcpy(out + (size_t)j * e->dim, v, sizeof(float) * (size_t)e->dim);
    }
    for (int j = 0; j < n_texts; j++) mote_seq_clear(e->session, j);
    return st;
}

mote_status mote_embed(mote_embedder *e, const char *const *texts, const size_t *lens, int n, float *out,
                       int64_t *n_tokens)
{
    if (n_tokens) *n_tokens = 0;
    if (!e || n < 0 || (n > 0 && (!texts || !out))) return mote_fail(MOTE_E_INVALID, "mote_embed: bad argument");
    int64_t total = 0;
    int first = 0, packed = 0, used = 0; /* the pass: texts first.., `packed` of them, `used` tokens */
    for (int i = 0; i < n; i++) {
        if (!texts[i]) return mote_fail(MOTE_E_INVALID, "mote_embed: text %d is NULL", i);
        tokbuf t = {0};
        mote_status st = tokenize_text(e, texts[i], lens ? lens[i] : strlen(texts[i]), i, &t);
        /* a text that does not fit closes the pass first */
        if (st == MOTE_OK && packed > 0 && (packed == e->n_seq || used + (int)t.n > e->n_batch)) {
            st = run_pass(e, packed, out + (size_t)first * e->dim);
            first = i, packed = used = 0;
        }
        if (st != MOTE_OK) {
            tokbuf_free(&t);
            return st;
        }
        tokbuf_free(&e->toks[packed]);
        e->toks[packed++] = t;
        used += (int)t.n;
        total += (int64_t)t.n;
    }
    if (packed > 0) MOTE_TRY(run_pass(e, packed, out + (size_t)first * e->dim));
    if (n_tokens) *n_tokens = total;
    return MOTE_OK;
}
