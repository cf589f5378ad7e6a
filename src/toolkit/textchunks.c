/*
 * textchunks.c — llama.cpp's perplexity chunking of a text (see
 * textchunks.h), shared by mote_perplexity and mote_kld.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "toolkit/textchunks.h"

mote_status text_chunks_make(const mote_model *model, const char *text, size_t len, int n_ctx,
                             int max_chunks, text_chunks *out)
{
    memset(out, 0, sizeof *out);
    if (n_ctx < TEXT_CHUNK_MIN_CTX || n_ctx > MOTE_N_CTX_MAX)
        return mote_fail(MOTE_E_INVALID, "chunk length %d is out of range [%d, %d]", n_ctx, TEXT_CHUNK_MIN_CTX,
                         MOTE_N_CTX_MAX);
    if (max_chunks < 0) return mote_fail(MOTE_E_INVALID, "chunk limit %d is negative", max_chunks);
    if (!text && len > 0) return mote_fail(MOTE_E_INVALID, "no text");
    size_t n = 0;
    mote_status st = mote_tokenize(model, text, len, 1, 0, NULL, 0, &n);
    if (st != MOTE_OK && st != MOTE_E_RANGE) return st;
    size_t n_chunks = n / (size_t)n_ctx;
    if (n_chunks == 0)
        return mote_fail(MOTE_E_RANGE, "the text has %zu tokens, fewer than one chunk of %d", n, n_ctx);
    if (max_chunks > 0 && (size_t)max_chunks < n_chunks) n_chunks = (size_t)max_chunks;
    if (n_chunks > INT32_MAX) n_chunks = INT32_MAX;
    out->toks = malloc(n * sizeof *out->toks);
    out->chunk = malloc((size_t)n_ctx * sizeof *out->chunk);
    if (!out->toks || !out->chunk) {
        text_chunks_free(out);
        return mote_fail(MOTE_E_NOMEM, "out of memory for %zu tokens", n);
    }
    st = mote_tokenize(model, text, len, 1, 0, out->toks, n, &out->n_toks);
    if (st != MOTE_OK) {
        text_chunks_free(out);
        return st;
    }
    out->n_ctx = n_ctx;
    out->n_chunks = (int)n_chunks;
    out->first = n_ctx / 2;
    /* BOS replaces each chunk's first token only if the tokenizer adds it. */
    mote_token bos = mote_token_bos(model);
    out->bos = bos >= 0 && out->toks[0] == bos ? bos : -1;
    return MOTE_OK;
}

void text_chunks_free(text_chunks *c)
{
    free(c->toks);
    free(c->chunk);
    memset(c, 0, sizeof *c);
}

mote_session_params text_chunks_session_params(const text_chunks *c, int n_threads, int kv_type)
{
    mote_session_params sp = mote_session_default_params();
    sp.n_ctx = c->n_ctx;
    sp.n_threads = n_threads;
    sp.kv_type = kv_type;
    sp.n_batch = c->n_ctx < TEXT_CHUNK_MAX_BATCH ? c->n_ctx : TEXT_CHUNK_MAX_BATCH;
    return sp;
}

mote_status text_chunk_eval(text_chunks *c, int chunk, mote_session *const *sessions, int n,
                            text_score_fn score, void *user)
{
    if (chunk < 0 || chunk >= c->n_chunks || n < 1 || n > TEXT_CHUNK_MAX_SESSIONS)
        return mote_fail(MOTE_E_INVALID, "text_chunk_eval: chunk %d of %d, %d sessions", chunk, c->n_chunks, n);
    const int n_ctx = c->n_ctx;
    memcpy(c->chunk, c->toks + (size_t)chunk * (size_t)n_ctx, (size_t)n_ctx * sizeof *c->chunk);
    if (c->bos >= 0) c->chunk[0] = c->bos;
    const int n_batch = n_ctx < TEXT_CHUNK_MAX_BATCH ? n_ctx : TEXT_CHUNK_MAX_BATCH;
    for (int k = 0; k < n; k++) MOTE_TRY(mote_session_truncate(sessions[k], 0));
    for (int b0 = 0; b0 < n_ctx; b0 += n_batch) {
        const int nb = n_ctx - b0 < n_batch ? n_ctx - b0 : n_batch;
        /* Logits are only needed for batches reaching the scored half. */
        const int want_logits = b0 + nb > c->first;
        for (int k = 0; k < n; k++) MOTE_TRY(mote_session_eval(sessions[k], c->chunk + b0, nb, want_logits));
        if (!want_logits) continue;
        for (int j = b0 > c->first ? b0 : c->first; j < b0 + nb && j < n_ctx - 1; j++) {
            const float *logits[TEXT_CHUNK_MAX_SESSIONS];
            for (int k = 0; k < n; k++) {
                logits[k] = mote_session_logits(sessions[k], j - b0);
                if (!logits[k]) return mote_fail(MOTE_E_INVALID, "no logits for position %d of chunk %d", j, chunk);
            }
            MOTE_TRY(score(user, logits, c->chunk[j + 1]));
        }
    }
    return MOTE_OK;
}

double text_log_norm(const float *logits, int n_vocab)
{
    double max = -DBL_MAX;
    for (int i = 0; i < n_vocab; i++)
        if (logits[i] > max) max = logits[i];
    double sum = 0.0;
    for (int i = 0; i < n_vocab; i++) sum += exp((double)logits[i] - max);
    return log(sum) + max;
}
