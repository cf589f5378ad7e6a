/*
 * spec_policy.h — how long a draft to verify (engine/spec_policy.c): the
 * adaptive rule of mote_speculative.adaptive and the running estimate of
 * the chance that a drafted token is drawn.
 */
#ifndef MOTE_ENGINE_SPEC_POLICY_H
#define MOTE_ENGINE_SPEC_POLICY_H

#include "mote.h"

/* The estimate before any draft was seen. */
#define SPEC_ACCEPT_PRIOR MOTE_SPEC_PLAUSIBLE_ACCEPT
/* Each drafted token seen moves the estimate this far towards 0 or 1: it
 * follows the text over the last few dozen drafted tokens. */
#define SPEC_ACCEPT_WEIGHT (1.0 / 16)

/* The estimate a after comparing a proposal with the tokens that came
 * next: on while they match (each a 1), the first that differs a 0 and
 * the end; tokens proposed past n_actual are not counted. */
double spec_accept_observe(double a, const mote_token *proposed, int n_proposed, const mote_token *actual,
                           int n_actual);

/* mote_lookup_draft_adaptive with lookup's n-grams and the most tokens a
 * proposal holds (at most MOTE_SPEC_COST_N - 1) given. */
int spec_adaptive_draft(mote_spec_state *st, const float *cost, const mote_token *ctx, int n, int ngram_min,
                        int ngram_max, int most, int k, mote_token *out);

#endif
