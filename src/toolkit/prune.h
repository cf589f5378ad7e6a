/*
 * prune.h — structured pruning of a model file (internal side of
 * mote_prune in mote_tools.h).
 *
 * Two cuts, both leaving a file of the same architecture that any GGUF
 * reader loads as an ordinary, smaller model:
 *   - FFN neurons: neuron j of a layer is row j of ffn_gate and ffn_up (and
 *     element j of their biases) and column j of ffn_down; a kept set of
 *     the same size in every layer leaves feed_forward_length one number.
 *   - Whole layers: the blk.N.* tensors of a dropped layer go, the rest are
 *     renumbered in order and block_count shrinks.
 *
 * Which neurons and layers to cut is prune_choose's business (from the
 * statistics of a calibration run); prune_write only carries out a plan.
 */
#ifndef MOTE_TOOLKIT_PRUNE_H
#define MOTE_TOOLKIT_PRUNE_H

#include <stdint.h>

#include "gguf/gguf.h"
#include "mote.h"

typedef struct prune_plan {
    int n_layer;          /* layers of the input file */
    const uint8_t *drop;  /* n_layer flags, 1 = remove the layer; NULL keeps every layer */
    int64_t n_ff;         /* FFN width of the input */
    int64_t n_ff_keep;    /* FFN width of the output (n_ff: no neuron is cut) */
    const int32_t *keep;  /* n_layer rows of n_ff_keep ascending neuron indices (row of a
                           * dropped layer unused); NULL when n_ff_keep == n_ff */
} prune_plan;

/* Statistics of a calibration run, per layer of the input. */
typedef struct prune_stats {
    int n_layer;
    int64_t n_ff;
    const float *ffn_act2;   /* n_layer x n_ff: mean squared input of ffn_down per neuron */
    const double *block_cos; /* n_layer: mean cosine of each token's residual entering and
                              * leaving the layer (1 = the layer changes nothing) */
} prune_stats;

/* The FFN width the file's ffn_down type allows nearest to fraction * n_ff
 * (a whole number of its blocks, at least one block), or an error naming
 * why no width fits. */
mote_status prune_ffn_width(const gguf_file *f, int64_t n_ff, double fraction, int64_t *width);

/* Choose what to cut: in every layer keep the n_ff_keep neurons of highest
 * score sqrt(act2[j]) * |ffn_down column j| (activation times the weight
 * it feeds, as Wanda ranks them), and drop the n_drop layers whose output
 * is most like their input (highest block_cos). Fills plan (whose drop and
 * keep arrays the caller frees with prune_plan_free). */
mote_status prune_choose(const gguf_file *f, const prune_stats *st, int64_t n_ff_keep, int n_drop,
                         prune_plan *plan);
void prune_plan_free(prune_plan *plan);

/* Write the pruned copy of f to out_path (temporary file, then rename: no
 * partial file is ever left there). Tensors keep their types; ffn_down rows
 * of a quantized type are dequantized, cut and quantized again. progress
 * (may be NULL) sees bytes written; a non-zero return cancels. */
mote_status prune_write(const gguf_file *f, const prune_plan *plan, const char *out_path,
                        int n_threads, mote_progress_fn progress, void *progress_user);

#endif
