/*
 * attention.h — the KV cache of a forward pass and attention over it.
 *
 * The cache holds per layer n_ctx rows of n_head_kv * head_dim keys (after
 * rope) and values, as F32, F16 or Q8_0 (forward_state.kv_type); rows are
 * converted when tokens are appended.
 *
 * F32 cache: the exact two-pass attention that follows llama.cpp's F32-cache
 * arithmetic (all scores of a (token, head) pair, softmax, weighted sum of
 * V), split over (token, head) pairs.
 * F16/Q8_0 cache: the streaming kernel of kernels/attention.h. Jobs are
 * (token, KV head, group of query heads); when there are too few of them
 * to keep the threads busy (generation with few KV heads), each job's
 * positions are split further into chunks of ATTN_CHUNK whose partials
 * are folded afterwards. Either way the result does not depend on the
 * number of threads.
 */
#ifndef MOTE_MODEL_ATTENTION_H
#define MOTE_MODEL_ATTENTION_H

#include <stddef.h>

#include "model/arch.h"

/* Floats of forward_state.att / .attn_part for a state with these sizes
 * and cache type (0 for the buffer the type does not use). */
size_t attention_scores_floats(const arch_hparams *hp, uint32_t kv_type, int n_ctx, int n_threads);
size_t attention_part_floats(const arch_hparams *hp, uint32_t kv_type, int n_ctx, int n_threads);
/* Rows of values a thread gathers for a window that wraps round its ring
 * (forward_state.gather_rows): the largest ring window, read from a
 * multiple of 64 on; 0 without rings. */
int kv_gather_rows(int n_layer, const kv_layer *layers);

/* Cache rows per layer for a context of n_ctx positions and batches of
 * n_batch tokens: a layer with a sliding window of W positions keeps a
 * ring of W + n_batch - 1 rows (in whole ATTN_CHUNKs) when that is smaller
 * than n_ctx, every other layer n_ctx rows. Fills layers[n_layer] when not
 * NULL; returns the rows of one sequence. */
size_t kv_plan(const model_arch *a, int n_ctx, int n_batch, kv_layer *layers);

/* Layer il's cache rows of sequence seq (row 0). */
static inline char *kv_layer_rows(const forward_state *st, void *cache, int seq, int il)
{
    return (char *)cache + ((size_t)seq * st->seq_rows + st->kv_layers[il].row0) * st->kv_row_bytes;
}

/* The row of layer il that holds position pos. */
static inline size_t kv_row(const forward_state *st, int il, int pos)
{
    const int ring = st->kv_layers[il].ring;
    return (size_t)(ring ? pos % ring : pos);
}

/* Store the k and v rows of batch token t (st->k, st->v) into layer il's
 * cache of its sequence st->seq[t] at its position st->pos[t]. */
void kv_cache_store(const arch_hparams *hp, forward_state *st, int il, int t);

/* st->xb[t] = attention of query st->q[t] over layer il's cached positions
 * 0..st->pos[t] of its sequence st->seq[t] (the last `window` of them when
 * window > 0), for the n batch tokens. */
void attention(const arch_hparams *hp, forward_state *st, int il, int window, int n);

#endif
