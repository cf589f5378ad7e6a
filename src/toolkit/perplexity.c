/*
 * perplexity.c — mote_perplexity: a model's perplexity on a text, chunked
 * and scored as llama.cpp's perplexity tool does (textchunks.h).
 */
#include <math.h>
#include <string.h>

#include "base/status.h"
#include "toolkit/textchunks.h"

mote_ppl_params mote_ppl_default_params(void)
{
    return (mote_ppl_params){.n_ctx = MOTE_PPL_DEFAULT_CTX, .kv_type = MOTE_KV_F16};
}

/* Sums over the scored tokens. */
typedef struct nll_sum {
    double nll;    /* sum of -log p(target) */
    double nll2;   /* sum of its squares, for the uncertainty */
    int64_t count; /* tokens scored */
    int n_vocab;
} nll_sum;

static mote_status add_token(void *user, const float *const *logits, mote_token target)
{
    nll_sum *acc = user;
    const double v = text_log_norm(logits[0], acc->n_vocab) - (double)logits[0][target];
    acc->nll += v;
    acc->nll2 += v * v;
    acc->count++;
    return MOTE_OK;
}

/* The estimate from the sums so far. */
static void estimate(const nll_sum *acc, mote_ppl_result *out)
{
    out->n_scored = acc->count;
    if (acc->count == 0) return;
    const double mean = acc->nll / (double)acc->count;
    const double var = acc->nll2 / (double)acc->count - mean * mean;
    out->nll_mean = mean;
    out->ppl = exp(mean);
    out->ppl_err = acc->count > 1 && var > 0 ? out->ppl * sqrt(var / (double)(acc->count - 1)) : 0.0;
}

mote_status mote_perplexity(const mote_model *model, const char *text, size_t len, const mote_ppl_params *params,
                            mote_ppl_result *out)
{
    if (!model || !out || (!text && len > 0)) return mote_fail(MOTE_E_INVALID, "mote_perplexity: bad argument");
    memset(out, 0, sizeof *out);
    mote_ppl_params p = params ? *params : mote_ppl_default_params();
    if (p.n_ctx == 0) p.n_ctx = MOTE_PPL_DEFAULT_CTX;
    if (mote_model_embedding_only(model))
        return mote_fail(MOTE_E_INVALID, "mote_perplexity: an embedding model has no next-token logits");

    text_chunks c;
    MOTE_TRY(text_chunks_make(model, text, len, p.n_ctx, p.n_chunks, &c));
    out->n_text_tokens = (int64_t)c.n_toks;
    out->n_ctx = c.n_ctx;
    mote_session *s = NULL;
    const mote_session_params sp = text_chunks_session_params(&c, p.n_threads, p.kv_type);
    mote_status st = mote_session_create(model, &sp, &s);
    nll_sum acc = {.n_vocab = mote_vocab_size(model)};
    const uint64_t total = (uint64_t)c.n_chunks * (uint64_t)c.n_ctx;
    if (st == MOTE_OK && p.progress && p.progress(p.progress_user, 0, total))
        st = mote_fail(MOTE_E_CANCELLED, "perplexity cancelled");
    for (int i = 0; st == MOTE_OK && i < c.n_chunks; i++) {
        st = text_chunk_eval(&c, i, &s, 1, add_token, &acc);
        if (st != MOTE_OK) break;
        out->n_chunks = i + 1;
        estimate(&acc, out);
        if (p.progress && p.progress(p.progress_user, (uint64_t)(i + 1) * (uint64_t)c.n_ctx, total))
            st = mote_fail(MOTE_E_CANCELLED, "perplexity cancelled after chunk %d of %d", i + 1, c.n_chunks);
    }
    mote_session_free(s);
    text_chunks_free(&c);
    return st;
}
