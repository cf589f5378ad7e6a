/*
 * mote.h — the public API of libmote.
 *
 * libmote loads GGUF language models, tokenizes text, runs the transformer
 * on the CPU and samples tokens. Every fallible call returns a mote_status;
 * on failure mote_last_error() holds a message that says what went wrong and
 * where (file, offset, key or tensor name). The library never prints and
 * never exits.
 */
#ifndef MOTE_H
#define MOTE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Status and errors
 * ---------------------------------------------------------------------- */

typedef enum mote_status {
    MOTE_OK = 0,
    MOTE_E_INVALID,     /* bad argument from the caller */
    MOTE_E_IO,          /* file could not be opened, read or mapped */
    MOTE_E_FORMAT,      /* malformed or inconsistent file contents */
    MOTE_E_UNSUPPORTED, /* valid input that mote does not handle (yet) */
    MOTE_E_NOMEM,       /* allocation failed */
    MOTE_E_RANGE,       /* out of range: context full, buffer too small */
    MOTE_E_TOKENIZE,    /* text the vocabulary cannot encode */
    MOTE_E_TEMPLATE,    /* chat template failed to parse or render */
} mote_status;

/* Message of the last failed call on this thread ("" if none). */
const char *mote_last_error(void);
/* Short name of a status code, e.g. "format error". */
const char *mote_status_name(mote_status s);
/* Free memory that libmote returned to the caller (strings, arrays). */
void mote_free(void *p);

/* ------------------------------------------------------------------------
 * Models
 * ---------------------------------------------------------------------- */

typedef struct mote_model mote_model;
typedef int32_t mote_token;

typedef struct mote_model_params {
    /* Load only the tokenizer (and metadata); tensors are not required.
     * A file without tensors is opened this way automatically. */
    int vocab_only;
} mote_model_params;

mote_model_params mote_model_default_params(void);

/* Open a GGUF file. Weights are used in place from a read-only memory map. */
mote_status mote_model_open(const char *path, const mote_model_params *params,
                            mote_model **out);
void mote_model_close(mote_model *model);

typedef struct mote_model_info {
    const char *arch;      /* general.architecture, e.g. "llama" */
    const char *name;      /* general.name or "" */
    int vocab_only;        /* 1 when no weights were loaded */
    int64_t n_params;      /* number of weights (elements of all tensors) */
    uint64_t weight_bytes; /* bytes of tensor data */
    int n_vocab;
    int n_ctx_train;
    int n_embd;
    int n_layer;
    int n_head;
    int n_head_kv;
    int n_ff;
    float rope_freq_base;
    float norm_eps;
    int has_chat_template;
    const char *tokenizer; /* tokenizer.ggml.model, e.g. "llama", "gpt2" */
    const char *pre;       /* tokenizer.ggml.pre or "" */
} mote_model_info;

/* Strings in *info live as long as the model. */
mote_status mote_model_get_info(const mote_model *model, mote_model_info *info);

/* Metadata: iterate keys, and read any value rendered as text
 * (arrays are summarised as "[type x count]"). */
int64_t mote_model_meta_count(const mote_model *model);
const char *mote_model_meta_key(const mote_model *model, int64_t i);
mote_status mote_model_meta_string(const mote_model *model, const char *key,
                                   char *buf, size_t cap);

/* Tensors: iterate names, types and shapes (for `mote info`). */
int64_t mote_model_tensor_count(const mote_model *model);
mote_status mote_model_tensor_info(const mote_model *model, int64_t i,
                                   const char **name, const char **type_name,
                                   int64_t ne[4], int *n_dims, uint64_t *nbytes);

/* ------------------------------------------------------------------------
 * Tokenizer
 * ---------------------------------------------------------------------- */

int mote_vocab_size(const mote_model *model);
mote_token mote_token_bos(const mote_model *model); /* -1 if none */
mote_token mote_token_eos(const mote_model *model); /* -1 if none */
mote_token mote_token_eot(const mote_model *model); /* -1 if none */
/* End of generation: EOS, EOT or any token the vocabulary marks as such. */
int mote_token_is_eog(const mote_model *model, mote_token t);

/* Tokenize text[0..len). add_special: add BOS/EOS as the vocabulary says.
 * parse_special: recognise special tokens (e.g. "<|im_start|>") in the text.
 * Writes up to cap ids to out and the full count to *n_out; returns
 * MOTE_E_RANGE (with *n_out set) if cap was too small. */
mote_status mote_tokenize(const mote_model *model, const char *text, size_t len,
                          int add_special, int parse_special, mote_token *out,
                          size_t cap, size_t *n_out);

/* The text of one token. render_special: include the text of control
 * tokens (otherwise they render as ""). Writes up to cap bytes (no NUL) and
 * the full length to *n_out; MOTE_E_RANGE if cap was too small. */
mote_status mote_token_to_piece(const mote_model *model, mote_token t,
                                int render_special, char *buf, size_t cap,
                                size_t *n_out);

/* Detokenize a sequence into a malloc'd NUL-terminated string (free with
 * mote_free). Handles the leading-space rule of SentencePiece vocabularies. */
mote_status mote_detokenize(const mote_model *model, const mote_token *toks,
                            size_t n, int render_special, char **out);

/* ------------------------------------------------------------------------
 * Sessions: KV cache and evaluation
 * ---------------------------------------------------------------------- */

typedef struct mote_session mote_session;

/* How the KV cache stores keys and values (converted when a token is
 * appended). F16 halves the memory of F32 and is llama.cpp's default; Q8_0
 * (blocks of 32 int8 with an F16 scale) halves it again and needs a head
 * dimension that is a multiple of 32. F16 and Q8_0 run attention in one
 * streaming pass over the cache (online softmax, flash-attention style);
 * F32 runs the exact two-pass attention that reproduces llama.cpp's
 * F32-cache arithmetic bit for bit (slower on long contexts). */
enum mote_kv_type {
    MOTE_KV_F16 = 0, /* the default (a zeroed field means F16) */
    MOTE_KV_F32 = 1,
    MOTE_KV_Q8_0 = 2,
};

typedef struct mote_session_params {
    int n_ctx;     /* context length; 0 = the model's training context */
    int n_threads; /* threads a run may use: a cap on the one pool the process
                    * shares (MOTE_THREADS threads, else one per online CPU);
                    * 0 = the whole pool */
    int n_batch;   /* largest batch evaluated at once; 0 = 512 */
    int kv_type;   /* enum mote_kv_type; default MOTE_KV_F16 */
} mote_session_params;

mote_session_params mote_session_default_params(void);

mote_status mote_session_create(const mote_model *model,
                                const mote_session_params *params,
                                mote_session **out);
void mote_session_free(mote_session *s);

/* Evaluate n tokens at the current position (a batch: matrix x matrix).
 * If all_logits, logits are kept for every token of the batch, otherwise
 * only for the last one. The position advances by n. */
mote_status mote_session_eval(mote_session *s, const mote_token *toks, int n,
                              int all_logits);

/* Logits (n_vocab floats) of token i of the last batch; i = -1 is the last.
 * NULL if i was not kept. Valid until the next eval. */
const float *mote_session_logits(const mote_session *s, int i);

int mote_session_pos(const mote_session *s);   /* tokens in the cache */
int mote_session_n_ctx(const mote_session *s);
/* Forget cached tokens from position pos on (0 clears the cache). */
mote_status mote_session_truncate(mote_session *s, int pos);

/* ------------------------------------------------------------------------
 * Sampling
 * ---------------------------------------------------------------------- */

typedef struct mote_sampler mote_sampler;

typedef struct mote_sampler_params {
    float temp;             /* <= 0: greedy (argmax) */
    int top_k;              /* <= 0: off */
    float top_p;            /* >= 1: off */
    float min_p;            /* <= 0: off */
    float repeat_penalty;   /* 1: off */
    int penalty_last_n;     /* tokens considered by the penalties; 0: off */
    float freq_penalty;     /* 0: off */
    float presence_penalty; /* 0: off */
    uint64_t seed;
} mote_sampler_params;

mote_sampler_params mote_sampler_default_params(void);
mote_status mote_sampler_create(const mote_sampler_params *params, int n_vocab,
                                mote_sampler **out);
void mote_sampler_free(mote_sampler *smp);
/* Pick a token from raw logits (not modified). */
mote_token mote_sampler_sample(mote_sampler *smp, const float *logits);
/* Record a token in the penalty history (prompt or generated). */
void mote_sampler_accept(mote_sampler *smp, mote_token t);
void mote_sampler_reset(mote_sampler *smp);

/* ------------------------------------------------------------------------
 * Generation
 * ---------------------------------------------------------------------- */

/* Called for every generated token with its text (empty for control tokens
 * such as EOS, which end generation after the call); return nonzero to stop. */
typedef int (*mote_token_fn)(void *user, mote_token t, const char *piece,
                             size_t len);

typedef struct mote_generate_stats {
    int n_prompt;          /* tokens evaluated as the prompt */
    int n_generated;       /* tokens produced */
    double prompt_seconds; /* time to evaluate the prompt */
    double gen_seconds;    /* time spent generating */
    int stopped_by_eog;    /* 1 if an end-of-generation token was produced */
} mote_generate_stats;

/* Evaluate the prompt, then sample up to n_predict tokens, feeding each back.
 * Stops at end-of-generation tokens, when fn returns nonzero, or when the
 * context is full. stats may be NULL. */
mote_status mote_generate(mote_session *s, mote_sampler *smp,
                          const mote_token *prompt, int n_prompt, int n_predict,
                          mote_token_fn fn, void *user,
                          mote_generate_stats *stats);

/* ------------------------------------------------------------------------
 * Chat templates
 * ---------------------------------------------------------------------- */

typedef struct mote_chat_message {
    const char *role;    /* "system", "user", "assistant", ... */
    const char *content;
} mote_chat_message;

/* Render the model's tokenizer.chat_template (or tmpl if not NULL) for the
 * messages. *out is malloc'd (free with mote_free). */
mote_status mote_chat_apply(const mote_model *model, const char *tmpl,
                            const mote_chat_message *msgs, size_t n,
                            int add_generation_prompt, char **out);

/* Render a Jinja chat template with a JSON context object (the variables:
 * messages, tools, add_generation_prompt, bos_token, ...). */
mote_status mote_template_render(const char *tmpl, const char *context_json,
                                 char **out);

/* ------------------------------------------------------------------------
 * Synthetic models (for benchmarks and tests)
 * ---------------------------------------------------------------------- */

/* Called while a synthetic model is written, after each piece of tensor
 * data, with the bytes written so far and the total. */
typedef void (*mote_progress_fn)(void *user, uint64_t done, uint64_t total);

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
    mote_progress_fn progress; /* may be NULL */
    void *progress_user;    /* progress's first argument */
} mote_synth_params;

mote_synth_params mote_synth_default_params(void);

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
 * few MiB whatever the model's size. */
mote_status mote_synth(const mote_synth_params *params);

/* Names of the models mote_synth can imitate and a line about each,
 * NULL past the end (i from 0). */
const char *mote_synth_model_name(int i);
const char *mote_synth_model_about(int i);

#ifdef __cplusplus
}
#endif

#endif /* MOTE_H */
