/*
 * sample.h — internals of the token sampler (engine/sample.c) that are not
 * in mote.h: the filtered distribution itself, for tests and for callers
 * that want probabilities (logprobs) rather than one drawn token.
 */
#ifndef MOTE_ENGINE_SAMPLE_H
#define MOTE_ENGINE_SAMPLE_H

#include "mote.h"

/* Run the sampler's chain (penalties, top-k, top-p, min-p, temperature) on
 * logits without drawing, and return how many tokens survive. The first
 * min(count, cap) survivors go to ids/probs: most probable first (ties by
 * lower id) when top-k or top-p is on, otherwise in id order; probs sum to 1. Greedy samplers (temp <= 0) return the argmax alone.
 * 0 means no token is possible (every logit NaN or -inf). Does not touch
 * the random state or the history, so a following sample is unaffected. */
int sampler_distribution(mote_sampler *smp, const float *logits,
                         mote_token *ids, float *probs, int cap);

#endif
