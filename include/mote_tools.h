/*
 * mote_tools.h — the toolkit part of libmote's public API: tools that make
 * and change model files (synthetic models today; quantization, pruning
 * and kernel tuning as they come). Applications that only run models need
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
 * Importance matrices (llama.cpp's imatrix)
 *
 * For every weight matrix W of the blocks, the mean over a calibration
 * text's tokens of the squared input of each column: what llama.cpp's
 * weighted quantizers minimise their error by. Files are llama.cpp's: GGUF
 * (general.type "imatrix": per weight NAME the F32 tensors NAME.in_sum2,
 * the sums of squares (n_in x n_mat), and NAME.counts, the rows summed
 * (n_mat); keys imatrix.datasets, imatrix.chunk_count, imatrix.chunk_size)
 * or the legacy .dat, so llama-quantize and llama-imatrix read mote's and
 * mote reads theirs.
 * ---------------------------------------------------------------------- */

#define MOTE_IMATRIX_CHUNK 512     /* tokens per chunk by default, as llama-imatrix's -c */
#define MOTE_IMATRIX_CHUNK_MIN 16  /* llama-imatrix skips passes of fewer tokens */

typedef struct mote_imatrix_params {
    const char *model_path; /* GGUF model */
    const char *text;       /* calibration text of text_len bytes, or NULL: read text_path */
    size_t text_len;
    const char *text_path;  /* file of the text (stored as the dataset's name), or NULL */
    int chunk_size;         /* tokens per chunk, each evaluated from an empty cache; 0: 512 */
    int n_chunks;           /* most chunks to evaluate; 0: all the text holds */
    int n_threads;          /* 0: the process's whole pool */
    int kv_type;            /* enum mote_kv_type of the cache; default F16, as llama-imatrix's */
    int process_output;     /* 1: also output.weight (llama-imatrix --process-output) */
    int legacy;             /* 1: write the legacy .dat format; 0: GGUF */
    const char *out_path;   /* file written (replaced only when complete) */
    /* Called after each layer of each chunk (done, total: layers of all
     * chunks); may be NULL. Cancelling writes nothing. */
    mote_progress_fn progress;
    void *progress_user;
} mote_imatrix_params;

MOTE_API mote_imatrix_params mote_imatrix_default_params(void);

/* What mote_imatrix did. */
typedef struct mote_imatrix_stats {
    int n_tokens;           /* tokens of the whole text (with BOS) */
    int n_chunks;           /* chunks evaluated */
    int n_entries;          /* weights written */
} mote_imatrix_stats;

/* Compute and write an importance matrix as llama-imatrix does: the text
 * is tokenized once (BOS added as the vocabulary says), cut into chunks of
 * chunk_size tokens (a shorter rest is dropped), the first token of each
 * replaced by BOS, and each chunk evaluated from an empty cache with every
 * output kept; for each weight named blk.* (and output.weight with
 * process_output) the F32 input rows' squares are summed per column, in
 * float, chunk by chunk. A text shorter than one chunk fails (MOTE_E_RANGE),
 * as do non-finite activations (MOTE_E_FORMAT). stats may be NULL. */
MOTE_API mote_status mote_imatrix(const mote_imatrix_params *params, mote_imatrix_stats *stats);

/* One weight's entry of a file. */
typedef struct mote_imatrix_entry {
    const char *name;       /* the weight's tensor name, e.g. "blk.0.ffn_down.weight" */
    const float *data;      /* (n) the importance per input column, as llama-quantize's load_imatrix
                             * computes it: GGUF sums / counts (1 where a count is 0), legacy
                             * values / ncall (values as they are when ncall <= 0) */
    size_t n;               /* values: n_in x n_mat */
    int64_t n_mat;          /* matrices (counts; 1 for a dense weight, experts otherwise) */
    const float *sums;      /* (n) as stored: GGUF in_sum2, legacy values */
    const int64_t *counts;  /* (n_mat) rows summed (GGUF, rounded as llama.cpp rounds); legacy: ncall */
} mote_imatrix_entry;

typedef struct mote_imatrix_set {
    const mote_imatrix_entry *entries; /* (n_entries) sorted by name */
    size_t n_entries;
    const char *const *datasets;       /* (n_datasets) the texts it was computed on */
    size_t n_datasets;
    int32_t chunk_count;               /* chunks it was computed on */
    int32_t chunk_size;                /* tokens per chunk (0 in legacy files) */
    int legacy;                        /* 1: read from a legacy .dat file */
} mote_imatrix_set;

/* Read a GGUF or legacy .dat imatrix file (told apart by GGUF's magic) as
 * llama-quantize reads one: GGUF needs its three imatrix.* keys and F32
 * pairs NAME.in_sum2 / NAME.counts (other tensors are ignored), a legacy
 * file's last entry of a name wins. Counts must be finite and >= 0, values
 * finite (llama-quantize refuses others too). MOTE_E_FORMAT naming the
 * file, entry and offset for anything else; *out is NULL on failure. */
MOTE_API mote_status mote_imatrix_load(const char *path, mote_imatrix_set **out);
/* The same for a file in memory (name: for messages). */
MOTE_API mote_status mote_imatrix_load_buffer(const void *data, size_t size, const char *name,
                                              mote_imatrix_set **out);
/* The entry of a weight, or NULL. */
MOTE_API const mote_imatrix_entry *mote_imatrix_find(const mote_imatrix_set *set, const char *name);
MOTE_API void mote_imatrix_free(mote_imatrix_set *set);

#ifdef __cplusplus
}
#endif

#endif /* MOTE_TOOLS_H */
