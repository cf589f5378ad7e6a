/*
 * speculative.h — the drafters of speculative decoding (engine/
 * speculative.c) that mote_generate_speculative (engine/generate.c) asks
 * for guesses of the next tokens.
 */
#ifndef MOTE_ENGINE_SPECULATIVE_H
#define MOTE_ENGINE_SPECULATIVE_H

#include "mote.h"

typedef struct drafter {
    mote_speculative cfg;  /* the caller's, defaults filled in */
    int most;              /* most tokens one draft may hold (buffers) */
} drafter;

/* Check spec against the target session s and fill in the defaults.
 * *active: 0 when spec drafts nothing (NULL, or lookup 0 and no draft). */
mote_status drafter_init(drafter *d, const mote_session *s, const mote_speculative *spec, int *active);

/* Up to k guesses of the tokens after ctx[0..n) (the context: what the
 * target has cached and the token it evaluates next) into out; returns
 * how many (0: none), or -1 when the draft model failed (mote_last_error
 * says why). */
int drafter_draft(drafter *d, const mote_token *ctx, int n, int k, mote_token *out);

/* Prompt lookup alone: the continuation of the latest earlier occurrence
 * of ctx's last n-gram, n from ngram_max down to ngram_min; at most k
 * tokens into out, returns how many. */
int lookup_draft(const mote_token *ctx, int n, int ngram_min, int ngram_max, int k, mote_token *out);

#endif
