/*
 * vocab_merges.h — a BPE vocabulary's merges (tokenizer.ggml.merges):
 * copied and checked when the vocabulary loads, indexed by the ids of their
 * two halves on first use.
 *
 * Indexing looks up three texts per merge (left, right, and the merged
 * token) and costs about as much as all the rest of loading a model
 * (~5 ms for SmolLM2's 49k merges, ~0.1 s for Gemma's 515k), so it waits
 * until something tokenizes: a model opened to evaluate token ids, inspect
 * or serve embeddings of ids never pays it.
 */
#ifndef MOTE_ENGINE_VOCAB_MERGES_H
#define MOTE_ENGINE_VOCAB_MERGES_H

#include "engine/strmap.h"
#include "gguf/gguf.h"
#include "mote.h"

struct vocab;
struct bpe_merges; /* opaque: the texts, the index, its lock */

/* Called by vocab_load for a BPE vocabulary once the tokens are read:
 * checks that every merge splits into two halves (MOTE_E_FORMAT naming the
 * merge if not) and copies the texts into v->merges. */
mote_status merges_load(struct vocab *v, const gguf_file *f);
void merges_free(struct bpe_merges *m);

/* The index (left id, right id) -> (rank, merged id), built on the first
 * call; thread-safe (one thread builds, the others wait for it). Fails
 * only for want of memory, and then the next call tries again. */
mote_status vocab_merges(const struct vocab *v, const pairmap **out);

/* Bytes the merges hold (texts, and the index once built). */
size_t merges_bytes(struct bpe_merges *m);

#endif
