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

/* ------------------------------------------------------------------------
 * Structured pruning: fewer FFN neurons, fewer layers
 * ---------------------------------------------------------------------- */

typedef struct mote_prune_params {
    const char *in_path;    /* the model (GGUF) */
    const char *out_path;   /* GGUF written (replaced if present; never half-written) */
    const char *text;       /* calibration text of text_len bytes, or NULL: read text_path */
    size_t text_len;
    const char *text_path;
    /* Fraction of each layer's FFN neurons kept, in (0, 1]; rounded to a
     * whole number of blocks of ffn_down's type. 1: none cut. */
    float ffn_keep;
    int drop_layers;        /* layers removed, 0 .. layers-1 */
    int n_ctx;              /* tokens per calibration chunk; 0: 512 */
    int n_chunks;           /* most chunks to evaluate; 0: all the text holds */
    int n_threads;          /* 0: the process's whole pool */
    /* Called as the work goes on (measuring, then writing, as one
     * done/total); may be NULL. Cancelling leaves no output file. */
    mote_progress_fn progress;
    void *progress_user;
} mote_prune_params;

MOTE_API mote_prune_params mote_prune_default_params(void);

typedef struct mote_prune_result {
    int n_layer_in, n_layer_out;
    int64_t n_ff_in, n_ff_out;  /* FFN neurons per layer */
    int n_chunks;               /* calibration chunks evaluated */
    int *dropped;               /* (n_dropped) the input's layers removed, ascending */
    int n_dropped;
    double *block_cos;          /* (n_layer_in) mean cosine of the stream entering and leaving
                                 * each layer over the text (1: the layer changes nothing) */
} mote_prune_result;

/* Write a structurally pruned copy of a model that any GGUF reader loads
 * as an ordinary smaller one: in every layer, the FFN neurons with the
 * lowest score sqrt(mean x_j^2) * |ffn_down column j| over the calibration
 * text (x_j: neuron j's input to ffn_down) are removed (rows of ffn_gate
 * and ffn_up, columns of ffn_down; feed_forward_length shrinks), and the
 * drop_layers layers whose output is most like their input (highest mean
 * cosine) are removed, the rest renumbered. Tensors keep their types; a
 * quantized ffn_down is dequantized, cut and quantized again. The text is
 * cut into chunks as mote_perplexity cuts it. MOTE_E_INVALID for bad
 * parameters (the message says which), MOTE_E_UNSUPPORTED for embedding
 * models, models sharing blocks and, for dropping layers, architectures
 * whose layers have roles by position (gemma3, smollm3); MOTE_E_RANGE for
 * a text shorter than one chunk; MOTE_E_CANCELLED from progress. Free
 * *result (may be NULL) with mote_prune_result_free. */
MOTE_API mote_status mote_prune(const mote_prune_params *params, mote_prune_result *result);
MOTE_API void mote_prune_result_free(mote_prune_result *result);

/* ------------------------------------------------------------------------
 * Measuring a model on a text: perplexity, KL divergence against a base
 *
 * Both cut the text as llama.cpp's perplexity tool does, so numbers
 * compare with llama-perplexity's: the text is tokenized once (BOS first if
 * the vocabulary adds it) and cut into chunks of n_ctx tokens (a shorter
 * remainder is dropped); each chunk starts with BOS (when added) and is
 * evaluated from an empty cache; only its second half is scored: token
 * j+1 from the logits at position j, j = n_ctx/2 .. n_ctx-2. Softmaxes
 * are taken in double.
 * ---------------------------------------------------------------------- */

#define MOTE_PPL_DEFAULT_CTX 512 /* llama.cpp's perplexity tool's default */

typedef struct mote_ppl_params {
    int n_ctx;      /* tokens per chunk, at least 4; 0: MOTE_PPL_DEFAULT_CTX */
    int n_chunks;   /* score at most the first n_chunks chunks; 0: all */
    int n_threads;  /* as mote_session_params; 0: the whole pool */
    int kv_type;    /* enum mote_kv_type (default F16, as llama.cpp's) */
    /* Called after each chunk (done, total: tokens evaluated of all
     * chunks); the result then holds the running estimate. May be NULL;
     * nonzero cancels (MOTE_E_CANCELLED). */
    mote_progress_fn progress;
    void *progress_user;
} mote_ppl_params;

MOTE_API mote_ppl_params mote_ppl_default_params(void);

typedef struct mote_ppl_result {
    int64_t n_text_tokens; /* tokens of the whole text */
    int n_ctx;             /* tokens per chunk */
    int n_chunks;          /* chunks scored (so far, in a progress call) */
    int64_t n_scored;      /* tokens scored: n_chunks * (n_ctx - 1 - n_ctx/2) */
    double nll_mean;       /* mean negative log-likelihood of a scored token, nats */
    double ppl;            /* exp(nll_mean) */
    double ppl_err;        /* ppl x the standard error of nll_mean; 0 for fewer than 2 tokens */
} mote_ppl_result;

/* Perplexity of model on text[0..len) (see above). MOTE_E_INVALID for
 * NULL arguments, an embedding-only model or bad params; MOTE_E_RANGE for
 * a text shorter than one chunk. */
MOTE_API mote_status mote_perplexity(const mote_model *model, const char *text, size_t len,
                                     const mote_ppl_params *params, mote_ppl_result *out);

typedef struct mote_kld_params {
    const char *base_path; /* the reference model (GGUF) */
    const char *cand_path; /* the model compared with it: same vocabulary */
    const char *text;      /* the text, text_len bytes; NULL: read text_path */
    size_t text_len;
    const char *text_path;
    int n_ctx;             /* tokens per chunk, at least 4; 0: MOTE_PPL_DEFAULT_CTX */
    int n_chunks;          /* score at most the first n_chunks chunks; 0: all */
    int n_threads;         /* as mote_session_params; 0: the whole pool */
    int kv_type;           /* enum mote_kv_type, both models */
    /* Called after each chunk (done, total: tokens evaluated, counting each
     * model's); the result's means, errors and ratios are those of the
     * chunks so far then (distributions only at the end). May be NULL;
     * nonzero cancels (MOTE_E_CANCELLED). */
    mote_progress_fn progress;
    void *progress_user;
} mote_kld_params;

MOTE_API mote_kld_params mote_kld_default_params(void);

/* A per-token quantity over all scored tokens: mean with its standard
 * error, extremes and percentiles (linear between order statistics, as
 * llama-perplexity's: the value at rank q x (count - 1)). */
typedef struct mote_kld_dist {
    double mean, mean_err;
    double min, max;
    double p99_9, p99, p95, p90, p75, median, p25, p10, p5, p1, p0_1;
} mote_kld_dist;

/* llama-perplexity's --kl-divergence statistics. Errors are standard errors
 * (0 for 10 tokens or fewer, as llama's); those of differences and ratios
 * count the correlation of the two models' log-likelihoods. */
typedef struct mote_kld_result {
    int n_vocab;
    int64_t n_text_tokens; /* tokens of the whole text */
    int n_ctx;             /* tokens per chunk */
    int n_chunks;          /* chunks scored */
    int64_t n_scored;      /* tokens scored */
    double ppl_base, ppl_base_err; /* PPL(base): equals mote_perplexity's */
    double ppl_cand, ppl_cand_err; /* PPL(cand) */
    double ln_ratio, ln_ratio_err; /* mean ln(PPL(cand)/PPL(base)) */
    double ratio, ratio_err;       /* PPL(cand)/PPL(base) */
    double diff, diff_err;         /* PPL(cand) - PPL(base) */
    double cor;                    /* correlation of ln PPL(cand) and ln PPL(base) */
    /* KL(base || cand) per scored position, nats: sum over the vocabulary
     * of p_base (ln p_base - ln p_cand), every token counted (llama's
     * skips base log-probs under -16 it cannot store). */
    mote_kld_dist kld;
    /* dp: p_cand(next token) - p_base(next token), a fraction */
    mote_kld_dist dp;
    double dp_rms, dp_rms_err;     /* root mean square of dp */
    double same_top, same_top_err; /* fraction of positions whose argmax agrees (lowest id on ties) */
} mote_kld_result;

/* Evaluate base and candidate on the same chunks of a text, batch by batch
 * (one batch of logits per model held at a time; per-token values are
 * kept for the percentiles: 16 bytes a scored token), and compare their
 * next-token distributions. A model with itself gives KLD 0, same top 1
 * and ratio 1 exactly. MOTE_E_INVALID for NULL arguments or paths, bad
 * params or an embedding-only model; MOTE_E_UNSUPPORTED when the two
 * vocabularies differ (size, a token's text, BOS), saying where; model and
 * text errors as mote_model_open and mote_perplexity. */
MOTE_API mote_status mote_kld(const mote_kld_params *params, mote_kld_result *out);

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

/* ------------------------------------------------------------------------
 * Quantization (llama-quantize's output, byte for byte)
 * ---------------------------------------------------------------------- */

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
    /* With an importance matrix, the keys llama-quantize adds say where it
     * came from: quantize.imatrix.file (imatrix_file, "" when NULL),
     * .dataset (when imatrix_dataset is not NULL), .entries_count
     * (n_imatrix) and .chunks_count (when imatrix_chunks > 0); strings are
     * cut to 127 bytes, as llama-quantize cuts them. */
    const char *imatrix_file;
    const char *imatrix_dataset;
    int imatrix_chunks;
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

/* ------------------------------------------------------------------------
 * Stored kernel layouts
 * ---------------------------------------------------------------------- */

typedef struct mote_optimize_params {
    const char *in_path;
    const char *out_path;    /* may be in_path: the file is replaced when complete */
    int plain;               /* 1: the reverse, every layout type back to its plain type */
    /* Called after each piece of converted data (done, total: bytes of the
     * converted tensors); may be NULL. Cancelling leaves no output file. */
    mote_progress_fn progress;
    void *progress_user;
} mote_optimize_params;

typedef struct mote_optimize_stats {
    int n_tensors;   /* tensors written */
    int n_converted; /* tensors whose type (layout) changed */
    uint64_t bytes;  /* tensor data (the same in and out) */
} mote_optimize_stats;

MOTE_API mote_optimize_params mote_optimize_default_params(void);

/* Copy in_path to out_path with every Q8_0 / Q4_0 / IQ4_NL / Q4_K / Q6_K
 * weight matrix the model multiplies by in mote's stored kernel layout
 * (Q8_0_R16 / Q4_0_R16 / IQ4_NL_R16 / Q4_K_R16 / Q6_K_R16: rows
 * interleaved in groups of 16 as the AVX512-VNNI kernels read them; any CPU
 * runs them, with results bit-identical to the plain file's). Embedding
 * tables, matrices of fewer than 16 rows and rows over 32768 elements stay
 * plain. Keys, tensor order and sizes are kept; each layout type used is
 * recorded under "mote.type.<id>", so other GGUF readers refuse the file
 * rather than misread it (plain = 1 undoes it). Written to a temporary file
 * renamed over out_path when complete. stats may be NULL. */
MOTE_API mote_status mote_optimize(const mote_optimize_params *params, mote_optimize_stats *stats);

/* The file types mote_quantize writes, i from 0 ("Q4_0", ...), with a
 * line about each; NULL past the end. */
MOTE_API const char *mote_quantize_type_name(int i);
MOTE_API const char *mote_quantize_type_about(int i);

/* ------------------------------------------------------------------------
 * This machine's limits (the yardsticks of kernel speed)
 * ---------------------------------------------------------------------- */

typedef struct mote_machine_params {
    int n_threads;  /* threads of the "n" figures; 0: the CPUs this process may use */
    int buffer_mib; /* read buffer, far larger than the caches (>= 16) */
    int passes;     /* best of this many read passes (4x as many compute passes) */
    int huge_pages; /* 1: read once more on transparent huge pages */
} mote_machine_params;

MOTE_API mote_machine_params mote_machine_default_params(void); /* all CPUs, 1 GiB, 5 passes, huge pages */

typedef struct mote_machine {
    char cpu[128];         /* the CPU's model name */
    int n_threads;         /* threads of the [1] figures */
    int buffer_mib;        /* read buffer */
    const char *read_isa;  /* the instructions each figure was measured with ("avx512", ...) */
    const char *fma_isa;
    const char *dot_isa;   /* "avx512vnni", "avxvnni", "avx2", "scalar" */
    const char *bf16_isa;  /* "avx512bf16", or "" where the CPU has no BF16 dot */
    /* [0]: one thread, [1]: n_threads; bests over the passes */
    double read_gbs[2];      /* streaming read, 4 KiB pages, 1e9 bytes/s */
    double read_gbs_huge[2]; /* the same on transparent huge pages (0: not measured) */
    double fma_gflops[2];    /* F32 FMA, 2 FLOP per lane */
    double dot_gops[2];      /* u8 x s8 -> int32 dot, 2 ops per product */
    double bf16_gflops[2];   /* BF16 dot into F32, 2 FLOP per product (0: none) */
    int64_t cache_l1d, cache_l2, cache_l3; /* bytes per cache of CPU 0 (0: unknown) */
    double sink;           /* derived from every result, so none is optimised away */
} mote_machine;

/* Measure read bandwidth and the F32 FMA, int8 dot and BF16 dot peaks (each
 * with the widest instructions this CPU has), and read the cache sizes.
 * Takes a few seconds (most of it filling and reading the buffer).
 * MOTE_E_INVALID for NULL arguments or bad parameters, MOTE_E_NOMEM when
 * the buffer cannot be mapped or threads cannot start. */
MOTE_API mote_status mote_machine_measure(const mote_machine_params *params, mote_machine *out);

/* ------------------------------------------------------------------------
 * Tuning: matmul's choices timed on this machine (mote.h: mote_tune_load)
 * ---------------------------------------------------------------------- */

/* One shape class as timed. */
typedef struct mote_tune_class {
    char type[16];     /* weight type name */
    int64_t m, k, n;   /* the shape timed: m x k weights, n tokens */
    int count;         /* matrices of that shape in the model */
    int mk_class;      /* the m * k bucket (0: below 2^18, then powers of 4) */
    int n_class;       /* the token bucket (0: 1, 1: 2..15, 2: 16..127, 3: 128+) */
    char path[12];     /* how matmul computes it: "quarters", "tiles" or "gemm" */
    double default_s;  /* median seconds per product with the defaults */
    double tuned_s;    /* the same with the choice kept (= default_s if none) */
    char choice[96];   /* what differs from the defaults, or "default" */
    int changed;       /* 1 if the profile sets this class */
} mote_tune_class;

typedef struct mote_tune_params {
    const char *model_path;        /* the GGUF whose matrices are timed */
    int n_threads;                 /* 0: the whole pool (every CPU or MOTE_THREADS) */
    int quick;                     /* 1: fewer candidates and samples, n = 1 and 128 only */
    int save;                      /* 1: write this machine's profile (mote_tune_load's file) */
    const mote_machine *machine;   /* stored in the profile for reference; may be NULL */
    int speculation;               /* 1: measure speculation's pass costs too (mote_spec_profile) */
    /* Called after each class (done of total; cls is that class); nonzero
     * cancels. May be NULL. */
    int (*progress)(void *user, int done, int total, const mote_tune_class *cls);
    void *progress_user;
} mote_tune_params;

MOTE_API mote_tune_params mote_tune_default_params(void); /* all threads, full search, save */

typedef struct mote_tune_result {
    mote_tune_class *classes; /* n_classes, in the order timed */
    int n_classes;
    int saved;                /* 1 if the profile was written */
    char profile_path[1024];  /* where (when saved) */
    /* speculation (params.speculation): real forward passes of n tokens
     * (as verification computes them) at a few depths of the context */
    int spec_measured;                  /* 1: the fields below hold */
    float spec_cost[MOTE_SPEC_COST_N];  /* median pass of n tokens / median pass of 1 */
    double spec_pass_s;                 /* median seconds of a pass of one token */
    int spec_best_k;                    /* the draft length that pays best at MOTE_SPEC_PLAUSIBLE_ACCEPT */
    double spec_gain;                   /* ... its expected speed over plain decoding */
    int spec_on;                        /* 1: run/serve turn lookup on for greedy requests */
} mote_tune_result;

/* Time matmul's result-neutral choices (the tiles of its dot and gemm
 * paths, how many work items a thread takes, the run length of
 * generation's quarters, the weight prefetch distance, the threads a
 * product gets) on the matrices of a model, per weight type x m*k bucket
 * and n = 1, 16, 128 tokens; keep the fastest where repeated alternating
 * timings find it faster than the defaults, and (save) write them as this
 * machine's profile (classes of other models tuned before are kept, those
 * timed now replaced). Results of every product stay bit-identical. A 1B
 * model takes under a minute at 2 threads (quick: less). Free *r with
 * mote_tune_result_free. MOTE_E_INVALID for NULL arguments,
 * MOTE_E_IO/MOTE_E_FORMAT for the model, MOTE_E_UNSUPPORTED if it has no
 * matrices mote multiplies, MOTE_E_CANCELLED from progress. */
MOTE_API mote_status mote_tune(const mote_tune_params *params, mote_tune_result *r);
MOTE_API void mote_tune_result_free(mote_tune_result *r);

#ifdef __cplusplus
}
#endif

#endif /* MOTE_TOOLS_H */
