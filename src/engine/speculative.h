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
    mote_spec_state adapt; /* cfg.adaptive: the running acceptance, lookup's last proposal */
} drafter;

#define SPEC_NGRAM_MAX_DEFAULT 4 /* mote_speculative's n-grams where it says 0 */
#define SPEC_NGRAM_MIN_DEFAULT 3

/* Check spec against the target session s and fill in the defaults.
 * *active: 0 when spec drafts nothing (NULL, or lookup 0 and no draft). */
mote_status drafter_init(drafter *d, const mote_session *s, const mote_speculative *spec, int *active);

/* Up to k guesses of the tokens after ctx[0..n) (the context: what the
 * target has cached and the token it evaluates next) into out; returns
 * how many (0: none), or -1 when the draft model failed (mote_last_error
 * says why). */
int drafter_draft(drafter *d, const mote_token *ctx, int n, int k, mote_token *out);

/* One drafted position verified: the target's token drawn from logits by
 * the sampler (its whole chain, grammar included, its state advanced as
 * for any drawn token), the draft accepted iff it is that token. For a
 * deterministic draft x this is the standard rejection rule: x comes out
 * with probability p(x) (min(1, p(x)/q(x)) with q(x) = 1), and otherwise
 * the token drawn is distributed as p without x, renormalised (max(0,
 * p - q) normalised), so the token has the law p. Returns the token (-1:
 * none possible); *accepted 1 or 0. */
mote_token spec_verify(mote_sampler *smp, const float *logits, mote_token draft, int *accepted);

/* Prompt lookup alone: the continuation of the latest earlier occurrence
 * of ctx's last n-gram, n from ngram_max down to ngram_min; at most k
 * tokens into out, returns how many. */
int lookup_draft(const mote_token *ctx, int n, int ngram_min, int ngram_max, int k, mote_token *out);

#endif
