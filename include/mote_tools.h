/*
 * mote_tools.h — the toolkit part of libmote's public API: tools that make
 * and change model files (synthetic models, weight sharing; quantization,
 * pruning and kernel tuning as they come). Applications that only run models need
 * mote.h alone.
 */
#ifndef MOTE_TOOLS_H
#define MOTE_TOOLS_H

#include "mote.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Synthetic models (for benchmarks and tests)
 * ---------------------------------------------------------------------- */

typedef struct mote_synth_params {
    const char *like;       /* model whose shapes are copied (mote_synth_models) */
    const char *type;       /* "F16", "BF16", "Q8_0", "Q4_0" or "Q4_K_M" */
    const char *vocab_path; /* GGUF whose tokenizer.* keys are copied */
    const char *out_path;   /* GGUF written (replaced if present) */
    uint64_t seed;          /* same seed and parameters: same bytes */
    int n_layer;            /* 0: the model's block count; else this many */
    int n_threads;          /* 0: number of online CPUs */
    int exact;              /* 1: quantize every row from its own samples
                             * (slow for K-quants); 0: see mote_synth */
    /* Called after each piece of tensor data (done, total: bytes); may be
     * NULL. Cancelling removes the partly written file. */
    mote_progress_fn progress;
    void *progress_user;    /* progress's first argument */
} mote_synth_params;

MOTE_API mote_synth_params mote_synth_default_params(void);

/* Write a GGUF with random weights and the exact layout of a real model:
 * general.architecture, the <arch>.* hyper-parameter keys llama.cpp's
 * converter writes, general.file_type, every tensor with its shape, in the
 * order and with the types llama.cpp's llama-quantize gives them (the
 * Q4_K_M mix: Q4_K, Q6_K for the output head and for attn_v/ffn_down of the
 * layers its use_more_bits rule picks, with its fallbacks for rows that are
 * not whole 256-blocks), Llama 3 rope factors as a rope_freqs tensor, and
 * all tokenizer.* keys of the vocabulary file, whose token count becomes
 * the model's vocabulary size.
 *
 * Weights are approximately normal with standard deviation 0.02 (sum of
 * four uniforms, scaled), norms are 1, biases like weights. By default each
 * row of a matrix is a seeded random pick of blocks from a pool (per type)
 * of about a million samples quantized with mote's quantizers (every block
 * a true quantization of normal samples; blocks repeat across the model),
 * which writes a 1B-parameter file in seconds. exact = 1 quantizes every row from
 * its own samples instead. Either way the file depends only on the
 * parameters, never on the thread count. Data is streamed: memory use is a
 * few MiB whatever the model's size. MOTE_E_INVALID for NULL params or a
 * NULL like, type, vocab_path or out_path. */
MOTE_API mote_status mote_synth(const mote_synth_params *params);

/* Names of the models mote_synth can imitate and a line about each,
 * NULL past the end or for i < 0 (i from 0). */
MOTE_API const char *mote_synth_model_name(int i);
MOTE_API const char *mote_synth_model_about(int i);

/* ------------------------------------------------------------------------
 * Weight sharing: several layers on one stored block of weights
 * ---------------------------------------------------------------------- */

/* How a run of layers becomes one stored block. */
typedef enum mote_share_merge {
    MOTE_SHARE_MEAN = 0,   /* the element-wise mean of the layers' weights (in F32), requantized to the
                            * most precise of their types */
    MOTE_SHARE_MEDOID = 1, /* a copy of the layer whose weights are most similar to the others' (the
                            * default: on trained models it keeps far more, see QUALITY.md) */
} mote_share_merge;

typedef struct mote_share_params {
    const char *in_path;    /* the model (GGUF) */
    const char *out_path;   /* GGUF written (replaced if present; never half-written) */
    int n_blocks;           /* stored blocks to keep, 1..layers (with block_map: 0 or its count) */
    /* NULL: the runs are chosen by similarity; else block_map_len entries,
     * one per layer, layers with equal entries sharing a block (any
     * grouping; entries 0..layers-1). */
    const int *block_map;
    int block_map_len;
    int merge;              /* enum mote_share_merge (default MOTE_SHARE_MEDOID) */
    int n_threads;          /* 0: the process's pool */
    /* Called as the work goes on: first (done, total) layer pairs measured
     * (total an upper bound), then bytes of the file written; may be NULL.
     * Cancelling leaves no output file. */
    mote_progress_fn progress;
    void *progress_user;
} mote_share_params;

typedef struct mote_share_result {
    int n_layer;            /* layers of the model (and of the file written) */
    int n_blocks;           /* stored blocks written */
    int *block_map;         /* (n_layer) the stored block of each layer, as written */
    float *similarity;      /* (n_layer - 1) similarity of layers i and i+1 of the input, in [-1, 1] */
} mote_share_result;

MOTE_API mote_share_params mote_share_default_params(void);

/* Write a model whose layers share stored blocks (the mote.block_map key,
 * README "Weight sharing"): each run of layers becomes one block, blk.B.*,
 * and block_count stays the number of layers; every other tensor and key
 * is copied. By similarity, adjacent runs merge, the most alike on average
 * first, until n_blocks remain; layer similarity is the mean cosine of the
 * two layers' 2-D weight matrices (F32 after dequantizing). A run whose
 * layers read one block of the input is copied byte for byte, so n_blocks
 * equal to the layer count writes the same weights. The input may itself
 * share blocks; its blocks must all hold the same tensors and shapes.
 * MOTE_E_INVALID for bad parameters (n_blocks outside 1..layers),
 * MOTE_E_FORMAT / MOTE_E_UNSUPPORTED for a file mote cannot load,
 * MOTE_E_CANCELLED from progress. Free *result with mote_share_result_free
 * (also after a failure: it is then empty). */
MOTE_API mote_status mote_share(const mote_share_params *params, mote_share_result *result);
MOTE_API void mote_share_result_free(mote_share_result *result);

#ifdef __cplusplus
}
#endif

#endif /* MOTE_TOOLS_H */
