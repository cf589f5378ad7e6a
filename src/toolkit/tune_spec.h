/*
 * tune_spec.h — speculation's pass costs on a model, for mote_tune
 * (toolkit/tune_spec.c).
 */
#ifndef MOTE_TOOLKIT_TUNE_SPEC_H
#define MOTE_TOOLKIT_TUNE_SPEC_H

#include "mote.h"

/* Time real forward passes of n = 1..MOTE_SPEC_COST_N tokens of the model
 * at model_path, computed alone as verification computes them: cost[n - 1]
 * = median pass of n tokens / median pass of one, *pass_s that median of
 * one. quick: fewer samples, one depth. */
mote_status tune_spec_measure(const char *model_path, int n_threads, int quick, float *cost, double *pass_s);

#endif
