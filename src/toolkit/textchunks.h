/*
 * textchunks.h — a text cut into chunks and scored the way llama.cpp's
 * perplexity tool does it; what mote_perplexity and mote_kld share.
 *
 *   - the whole text is tokenized once, with BOS if the vocabulary adds it;
 *   - it is cut into chunks of n_ctx tokens (a shorter remainder is dropped);
 *   - the first token of each chunk is replaced by BOS (when BOS is added);
 *   - each chunk is evaluated from an empty cache;
 *   - only the second half is scored: token j+1 from the logits at position
 *     j, for j = n_ctx/2 .. n_ctx-2 (the first half only builds up context).
 *
 * tools/perplexity/perplexity.cpp (perplexity, kl_divergence) in llama.cpp.
 */
#ifndef MOTE_TOOLKIT_TEXTCHUNKS_H
#define MOTE_TOOLKIT_TEXTCHUNKS_H

#include <stddef.h>
#include <stdint.h>

#include "mote_tools.h"

/* Largest batch handed to one mote_session_eval call (llama.cpp's
 * perplexity tool's default n_batch). */
#define TEXT_CHUNK_MAX_BATCH 512
/* A chunk scores n_ctx - 1 - n_ctx/2 tokens: at least one. */
#define TEXT_CHUNK_MIN_CTX 4

typedef struct text_chunks {
    mote_token *toks;  /* (n_toks) the whole text's tokens */
    size_t n_toks;
    int n_ctx;         /* tokens per chunk */
    int n_chunks;      /* chunks to score (whole ones, at most the limit) */
    int first;         /* first scored position of a chunk: n_ctx / 2 */
    mote_token bos;    /* replaces each chunk's first token; -1: none */
    mote_token *chunk; /* (n_ctx) the chunk being evaluated */
} text_chunks;

/* Tokenize text[0..len) with model's vocabulary and lay out the chunks
 * (max_chunks 0: all). MOTE_E_INVALID for n_ctx < TEXT_CHUNK_MIN_CTX,
 * MOTE_E_RANGE for a text shorter than one chunk (the message says how
 * many tokens it has), MOTE_E_NOMEM. */
mote_status text_chunks_make(const mote_model *model, const char *text, size_t len, int n_ctx,
                             int max_chunks, text_chunks *out);
void text_chunks_free(text_chunks *c);

/* Tokens scored per chunk. */
static inline int text_chunks_scored(const text_chunks *c) { return c->n_ctx - 1 - c->first; }

/* Called for each scored position of a chunk with the logits there of
 * every session (logits[k] from sessions[k]) and the token that follows;
 * nonzero stops (its value is returned as a status). */
typedef mote_status (*text_score_fn)(void *user, const float *const *logits, mote_token target);

/* Evaluate chunk `chunk` in each of n sessions (created with n_ctx >= the
 * chunk's and n_batch >= min(n_ctx, TEXT_CHUNK_MAX_BATCH)), from an empty
 * cache, batch by batch in lockstep, so that only one batch of logits per
 * session is ever held, and call score for positions first .. n_ctx-2 in
 * order. n at most TEXT_CHUNK_MAX_SESSIONS. */
#define TEXT_CHUNK_MAX_SESSIONS 4
mote_status text_chunk_eval(text_chunks *c, int chunk, mote_session *const *sessions, int n,
                            text_score_fn score, void *user);

/* -log softmax(logits)[target] in double, and the log of the softmax's
 * normaliser (max + log sum exp) it comes from: the one evaluation order
 * mote perplexity and mote kld share, so their PPLs agree to the bit. */
double text_log_norm(const float *logits, int n_vocab);

/* Session parameters for scoring chunks of c. */
mote_session_params text_chunks_session_params(const text_chunks *c, int n_threads, int kv_type);

#endif
