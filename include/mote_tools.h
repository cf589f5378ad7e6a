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
 * Quantization (llama-quantize's output, byte for byte)
 * ---------------------------------------------------------------------- */

/* Importance weights of one tensor (an imatrix file's entry): n values,
 * the mean squared activation of each input column (n = row length, times
 * the expert count for a 3-D tensor). */
typedef struct mote_imatrix_entry {
    const char *name;   /* tensor name, e.g. "blk.0.ffn_down.weight" */
    const float *data;  /* n values, borrowed for the call */
    size_t n;
} mote_imatrix_entry;

/* Called with a line for the user (no newline): what llama-quantize
 * would warn about, e.g. that a quantized input is requantized. */
typedef void (*mote_notice_fn)(void *user, const char *text);

typedef struct mote_quantize_params {
    const char *in_path;     /* GGUF read (any type mote reads) */
    const char *out_path;    /* GGUF written (replaced if present, only when complete) */
    const char *type;        /* file type: "Q4_K_M", "Q8_0", ... (mote_quantize_type_name) */
    int pure;                /* 1: every matrix the type's base type, no mix */
    const char *output_type; /* ggml type name of output.weight ("Q8_0"); NULL: the rules' */
    const char *token_embedding_type; /* likewise for token_embd.weight */
    const mote_imatrix_entry *imatrix; /* n_imatrix entries; NULL for none */
    size_t n_imatrix;
    int n_threads;           /* 0: all available CPUs */
    /* Called after each piece of tensor data (done, total: output bytes);
     * may be NULL. Cancelling leaves no output file. */
    mote_progress_fn progress;
    void *progress_user;
    mote_notice_fn notice;   /* may be NULL */
    void *notice_user;
} mote_quantize_params;

/* What a quantization did (sizes in bytes of tensor data). */
typedef struct mote_quantize_stats {
    int n_tensors;       /* tensors written */
    int n_quantized;     /* tensors whose type changed */
    int n_requantized;   /* of those, inputs already quantized (dequantized first) */
    int n_fallback;      /* tensors whose rows forced a fallback type */
    uint64_t bytes_in;   /* tensor data of the input */
    uint64_t bytes_out;  /* tensor data of the output */
} mote_quantize_stats;

MOTE_API mote_quantize_params mote_quantize_default_params(void);

/* Quantize in_path to out_path as llama.cpp's llama_model_quantize does,
 * producing the same file byte for byte for the same options: its
 * tensor-type rules for the file type (the _S/_M/_L mixes, fallbacks for
 * rows that are not whole blocks; pure, output_type, token_embedding_type
 * as llama-quantize's --pure, --output-tensor-type, --token-embedding-type),
 * every key-value pair copied in order with general.quantization_version
 * and general.file_type moved to the end and split keys dropped, tensors
 * in llama.cpp's order (block number, then name). Quantized, F16 and BF16
 * inputs are dequantized first (a notice says so for quantized ones).
 * Tensors without importance weights in imatrix are quantized without.
 * The output is written to a temporary file renamed over out_path when
 * complete: an error or a cancellation leaves nothing behind. stats may be
 * NULL. MOTE_E_INVALID for bad parameters or an unknown type name,
 * MOTE_E_IO/MOTE_E_FORMAT for an unreadable or malformed input,
 * MOTE_E_UNSUPPORTED for an architecture mote does not run. */
MOTE_API mote_status mote_quantize(const mote_quantize_params *params, mote_quantize_stats *stats);

/* The file types mote_quantize writes, i from 0 ("Q4_0", ...), with a
 * line about each; NULL past the end. */
MOTE_API const char *mote_quantize_type_name(int i);
MOTE_API const char *mote_quantize_type_about(int i);

#ifdef __cplusplus
}
#endif

#endif /* MOTE_TOOLS_H */
