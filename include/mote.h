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

/* Marks the public API: libmote is built with every other symbol hidden. */
#if defined(__GNUC__) || defined(__clang__)
#define MOTE_API __attribute__((visibility("default")))
#else
#define MOTE_API
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
    MOTE_E_CANCELLED,   /* a progress callback asked to stop */
} mote_status;

/* Message of the last failed call on this thread ("" if none). */
MOTE_API const char *mote_last_error(void);
/* Short name of a status code, e.g. "format error". */
MOTE_API const char *mote_status_name(mote_status s);
/* Free memory that libmote returned to the caller (strings, arrays).
 * NULL does nothing, as do the NULL handles of mote_model_close,
 * mote_session_free, mote_sampler_free, mote_batch_free and
 * mote_batch_clear. */
MOTE_API void mote_free(void *p);

/* Progress of long work (opening a model, evaluating a prompt, writing a
 * model file ...): called from time to time with how much is done of the
 * total, in units the caller documents. Return 0 to go on; nonzero cancels
 * the work, which then fails with MOTE_E_CANCELLED: a model is not opened,
 * a file not written (an existing one is kept), a session's sequences are
 * as the call found them (its outputs are cleared, as after any failed
 * evaluation) and the session stays usable. */
typedef int (*mote_progress_fn)(void *user, uint64_t done, uint64_t total);

/* Memory a model or session holds, for keeping a budget. */
typedef struct mote_memory {
    uint64_t mapped;    /* bytes of the model file mapped (address space) */
    uint64_t resident;  /* of those, bytes in RAM now (mincore) */
    uint64_t heap;      /* bytes allocated besides the map: tables, vocabulary */
    uint64_t kv;        /* session: bytes of the KV cache (all sequences) */
    uint64_t kv_used;   /* session: of those, bytes holding cached positions */
    uint64_t scratch;   /* session: activation buffers and outputs */
} mote_memory;

/* ------------------------------------------------------------------------
 * Models
 * ---------------------------------------------------------------------- */

typedef struct mote_model mote_model;
typedef int32_t mote_token;

typedef struct mote_model_params {
    /* Load only the tokenizer (and metadata); tensors are not required.
     * A file without tensors is opened this way automatically. */
    int vocab_only;
    /* Called while the file's tensors are checked and its weights are read
     * in (done, total: bytes of tensor data); may be NULL. */
    mote_progress_fn progress;
    void *progress_user;
    /* 1: read every weight page once while opening (first token without
     * page faults, and `resident` shows the cost at once); 0: a file
     * already wholly in the page cache is mapped by a second thread while
     * the tokenizer loads, any other's pages come in as the forward pass
     * touches them. */
    int prefetch;
} mote_model_params;

MOTE_API mote_model_params mote_model_default_params(void);

/* Open a GGUF file. Weights are used in place from a read-only memory map.
 * params may be NULL (the defaults). *out is NULL on failure;
 * MOTE_E_INVALID for a NULL path or out. */
MOTE_API mote_status mote_model_open(const char *path, const mote_model_params *params,
                            mote_model **out);
MOTE_API void mote_model_close(mote_model *model);

/* This machine's tuning profile (`mote tune`): how matmul splits its work
 * per weight type and shape, chosen by timing on this CPU; results are
 * bit-identical with or without it. mote_model_open loads it once per
 * process; call mote_tune_load first to learn what happened (the same
 * answer every time, from the first call). */
typedef struct mote_tune_state {
    int used;       /* 1: a profile of this machine sets the choices */
    int disabled;   /* 1: MOTE_TUNE=off (or 0) in the environment */
    int n_entries;  /* shape classes the profile sets */
    char path[1024]; /* the profile looked for ("" if there is no cache directory) */
} mote_tune_state;
/* Load this machine's profile ($XDG_CACHE_HOME/mote or ~/.cache/mote,
 * keyed by CPU model, core count, mote version and kernel table) unless
 * MOTE_TUNE=off. No profile: MOTE_OK with used = 0. A corrupt or
 * truncated profile is ignored (the defaults stay): MOTE_E_FORMAT with a
 * message, state filled. out may be NULL. */
MOTE_API mote_status mote_tune_load(mote_tune_state *out);

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
    int head_dim;          /* per attention head */
    int sliding_window;    /* positions the local layers attend to; 0: none */
    int n_layer_swa;       /* layers with that window (each keeps a ring, see mote_seq_truncate) */
    float rope_freq_base;
    float norm_eps;
    int has_chat_template;
    const char *chat_template; /* tokenizer.chat_template, or NULL */
    const char *tokenizer; /* tokenizer.ggml.model, e.g. "llama", "gpt2" */
    const char *pre;       /* tokenizer.ggml.pre or "" */
    /* What the file says that mote ignored, as llama.cpp does, one line each
     * ending in '\n' (e.g. "tokenizer.ggml.bos_token_id 99999 is outside the
     * vocabulary (512 tokens); ignored, using the default 1"), or "". */
    const char *warnings;
    /* Stored blocks of layer weights: n_layer, or fewer when layers share
     * blocks (the file's mote.block_map; weight_bytes counts each once). */
    int n_blocks;
} mote_model_info;

/* Fields of `mem` that apply to a model: mapped, resident, heap.
 * MOTE_E_INVALID for a NULL model or mem (as for mote_model_get_info). */
MOTE_API mote_status mote_model_memory(const mote_model *model, mote_memory *mem);

/* Strings in *info live as long as the model. */
MOTE_API mote_status mote_model_get_info(const mote_model *model, mote_model_info *info);

/* Metadata: iterate keys, and read any value rendered as text
 * (arrays are summarised as "[type x count]"). A NULL model has 0 keys;
 * meta_key is NULL out of range. meta_string: MOTE_E_INVALID for a NULL
 * model, key or buf or cap 0, MOTE_E_RANGE for a key that is absent. */
MOTE_API int64_t mote_model_meta_count(const mote_model *model);
MOTE_API const char *mote_model_meta_key(const mote_model *model, int64_t i);
MOTE_API mote_status mote_model_meta_string(const mote_model *model, const char *key,
                                   char *buf, size_t cap);

/* Tensors: iterate names, types and shapes (for `mote info`). A NULL
 * model has 0 tensors; tensor_info: MOTE_E_INVALID for a NULL model,
 * MOTE_E_RANGE for an index out of range; each output may be NULL. */
MOTE_API int64_t mote_model_tensor_count(const mote_model *model);
MOTE_API mote_status mote_model_tensor_info(const mote_model *model, int64_t i,
                                   const char **name, const char **type_name,
                                   int64_t ne[4], int *n_dims, uint64_t *nbytes);

/* ------------------------------------------------------------------------
 * Tokenizer
 * ---------------------------------------------------------------------- */

/* With a NULL model: 0 tokens, no BOS/EOS/EOT (-1), nothing is EOG. */
MOTE_API int mote_vocab_size(const mote_model *model);
MOTE_API mote_token mote_token_bos(const mote_model *model); /* -1 if none */
MOTE_API mote_token mote_token_eos(const mote_model *model); /* -1 if none */
MOTE_API mote_token mote_token_eot(const mote_model *model); /* -1 if none */
/* End of generation: EOS, EOT or any token the vocabulary marks as such. */
MOTE_API int mote_token_is_eog(const mote_model *model, mote_token t);

/* Tokenize text[0..len). add_special: add BOS/EOS as the vocabulary says
 * (no BOS when the text's first token already is BOS, e.g. a parsed "<s>").
 * parse_special: recognise special tokens (e.g. "<|im_start|>") in the text.
 * Writes up to cap ids to out and the full count to *n_out; returns
 * MOTE_E_RANGE (with *n_out set) if cap was too small: cap 0 with out NULL
 * asks for the count. text may be NULL when len is 0. MOTE_E_INVALID for a
 * NULL model or n_out, or a NULL out with cap > 0. */
MOTE_API mote_status mote_tokenize(const mote_model *model, const char *text, size_t len,
                          int add_special, int parse_special, mote_token *out,
                          size_t cap, size_t *n_out);

/* The text of one token. render_special: include the text of control
 * tokens (otherwise they render as ""). Writes up to cap bytes (no NUL) and
 * the full length to *n_out; MOTE_E_RANGE if cap was too small (cap 0
 * with buf NULL asks for the length). MOTE_E_INVALID for a NULL model or
 * n_out, a NULL buf with cap > 0, or a token outside the vocabulary. */
MOTE_API mote_status mote_token_to_piece(const mote_model *model, mote_token t,
                                int render_special, char *buf, size_t cap,
                                size_t *n_out);

/* Detokenize a sequence into a malloc'd NUL-terminated string (free with
 * mote_free). Handles the leading-space rule of SentencePiece vocabularies.
 * 0 tokens (toks may then be NULL) give "". MOTE_E_INVALID (with *out
 * NULL) for a NULL model or out, NULL toks with n > 0, or a token outside
 * the vocabulary. */
MOTE_API mote_status mote_detokenize(const mote_model *model, const mote_token *toks,
                            size_t n, int render_special, char **out);

/* ------------------------------------------------------------------------
 * Sessions: KV cache and evaluation
 *
 * A session evaluates a model for up to n_seq_max sequences (conversations,
 * requests) at once. Each sequence has its own KV cache of n_ctx positions,
 * allocated when the session is created: a sequence's cost is fixed and
 * known (mote_session_memory), sequences never evict each other, and a
 * batch may mix tokens of any sequences in one forward pass, so the weights
 * are read once for all of them. A sequence's results are bit-identical
 * to evaluating it alone in a session with the same parameters, whatever
 * else is in the batch: each sequence's tokens are multiplied with the
 * kernels a batch of just those tokens would use.
 *
 * Threads: a model may be used by any number of sessions on any threads
 * at once (it is read-only after mote_model_open); a session by one thread
 * at a time. Every session's work runs on one process-wide pool of
 * workers, so sessions of several models share the CPUs instead of
 * competing with pools of their own.
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

/* How an embeddings session pools a sequence's final hidden states (the
 * values of GGUF's <arch>.pooling_type). */
enum mote_pooling {
    MOTE_POOL_DEFAULT = -1, /* what the model file says; none if it says nothing */
    MOTE_POOL_NONE = 0,     /* one vector per token */
    MOTE_POOL_MEAN = 1,     /* the mean over the sequence's tokens */
    MOTE_POOL_CLS = 2,      /* the sequence's first token */
    MOTE_POOL_LAST = 3,     /* the sequence's last token */
};

/* Limits of the session parameters (the CLI's options use the same). */
#define MOTE_N_CTX_MAX (1 << 22)  /* positions per sequence */
#define MOTE_N_SEQ_MAX 4096       /* sequences per session */
#define MOTE_N_THREADS_MAX 1024   /* threads of the process's pool (MOTE_THREADS) */
/* Tokens a sampler's penalties look back over: no window is longer than a
 * context (its ring is allocated at create, 4 bytes a token). */
#define MOTE_PENALTY_LAST_N_MAX MOTE_N_CTX_MAX

typedef struct mote_session_params {
    int n_ctx;      /* positions per sequence; 0 = the model's training
                     * context, at most 4096 */
    int n_threads;  /* threads a run may use: a cap on the one pool the
                     * process shares (MOTE_THREADS threads, else one per
                     * online CPU); 0 = the whole pool */
    int n_batch;    /* most tokens evaluated in one forward pass; 0 = 512.
                     * mote_session_eval cuts longer inputs into pieces of
                     * this size; a mote_batch may not exceed it */
    int kv_type;    /* enum mote_kv_type; default MOTE_KV_F16 */
    int n_seq_max;  /* sequences (ids 0 .. n_seq_max - 1); 0 = 1, at most 4096 */
    /* 1: an embeddings session: evaluation keeps the final hidden states
     * (after the output norm) of the tokens that ask for output, or with
     * pooling of every token, pooled per sequence as `pooling` says,
     * instead of logits. */
    int embeddings;
    int pooling;    /* enum mote_pooling; embeddings sessions only */
    int normalize;  /* 1: embeddings are scaled to unit L2 norm */
    /* Called during evaluation after each layer of each forward pass
     * (done, total: layers of the call's forward passes); may be NULL.
     * Cancelling rolls every sequence back to where the call found it. */
    mote_progress_fn progress;
    void *progress_user;
    /* Most output rows an evaluation may keep (logits or hidden states);
     * 0: no cap (a decode keeps at most n_batch; mote_session_eval with
     * all_logits keeps n). A cap bounds the outputs' memory (n_vocab
     * floats a row) and mote_session_plan counts it: a server sampling one
     * token per stream sets its stream count. An evaluation asking for
     * more fails with MOTE_E_INVALID, changing nothing. Pooled embeddings
     * keep every token of a batch: leave it 0 there. */
    int n_outputs_max;
} mote_session_params;

MOTE_API mote_session_params mote_session_default_params(void);

/* params may be NULL (the defaults). *out is NULL on failure;
 * MOTE_E_INVALID for a NULL model or out, or a vocab-only model. */
MOTE_API mote_status mote_session_create(const mote_model *model, const mote_session_params *params,
                                         mote_session **out);
MOTE_API void mote_session_free(mote_session *s);

/* Evaluate n tokens of sequence 0 at its current position (matrix x
 * matrix, in pieces of n_batch). If all_logits, logits are kept for every
 * token, otherwise only for the last one. The position advances by n.
 * In an embeddings session, outputs are embeddings instead of logits.
 * n = 0 (toks may then be NULL) does nothing and succeeds. */
MOTE_API mote_status mote_session_eval(mote_session *s, const mote_token *toks, int n, int all_logits);

/* A batch: tokens of any sequences, evaluated in one forward pass. Each
 * sequence's tokens must come in order at consecutive positions from the
 * sequence's current length (pos -1 means exactly that). */
typedef struct mote_batch {
    int n;               /* tokens in the batch */
    int cap;             /* tokens it has room for */
    mote_token *token;   /* (cap) */
    int32_t *seq;        /* (cap) sequence id of each token */
    int32_t *pos;        /* (cap) position of each token in its sequence */
    int8_t *output;      /* (cap) nonzero: keep this token's logits (or embedding) */
} mote_batch;

/* A batch with room for cap tokens (free with mote_batch_free, which
 * leaves it empty, so a second free does nothing). MOTE_E_INVALID for a
 * NULL batch or cap < 1. */
MOTE_API mote_status mote_batch_init(mote_batch *b, int cap);
MOTE_API void mote_batch_free(mote_batch *b);
MOTE_API void mote_batch_clear(mote_batch *b);
/* Append a token; pos -1: its sequence's next position. MOTE_E_RANGE if full. */
MOTE_API mote_status mote_batch_add(mote_batch *b, mote_token t, int seq, int pos, int output);

/* Evaluate a batch (at most n_batch tokens). On failure no sequence has
 * changed. Outputs (logits or embeddings) of batch token i are read with
 * mote_session_logits(s, i) / mote_session_embedding(s, i). An empty
 * batch does nothing and succeeds; MOTE_E_INVALID for a NULL session or
 * batch. */
MOTE_API mote_status mote_session_decode(mote_session *s, const mote_batch *b);

/* Logits (n_vocab floats) of token i of the last evaluation (batch index;
 * i = -1 is the last token). NULL if i was not kept, or if the last
 * evaluation failed or a sequence operation came after it. Valid until the
 * next evaluation. */
MOTE_API const float *mote_session_logits(const mote_session *s, int i);

/* Embeddings session: the n_embd floats of token i of the last evaluation
 * (pooling none; i = -1 is the last), NULL if not kept. */
MOTE_API const float *mote_session_embedding(const mote_session *s, int i);
/* Embeddings session with pooling: the pooled vector of sequence seq from
 * the last evaluation that included tokens of it, NULL if none. It pools
 * every token the sequence holds, over all the evaluations since position
 * 0, whatever their output flags. Truncating, clearing or copying onto the
 * sequence drops it until the sequence is evaluated again. A running mean
 * cannot take tokens back out: with mean pooling a sequence is truncated
 * to 0 only and copied whole. */
MOTE_API const float *mote_session_embedding_seq(const mote_session *s, int seq);
/* The pooling an embeddings session applies (enum mote_pooling, never
 * MOTE_POOL_DEFAULT). */
MOTE_API int mote_session_pooling(const mote_session *s);

/* With a NULL session: pos, n_ctx and n_seq are 0, pooling is
 * MOTE_POOL_NONE, logits and embeddings are NULL, mote_seq_pos is -1,
 * mote_seq_tokens NULL (with *n 0), mote_seq_common_prefix 0, and the
 * calls that return a status fail with MOTE_E_INVALID. */
MOTE_API int mote_session_pos(const mote_session *s);   /* tokens cached in sequence 0 */
MOTE_API int mote_session_n_ctx(const mote_session *s); /* positions per sequence */
MOTE_API int mote_session_n_seq(const mote_session *s); /* n_seq_max */
/* Forget sequence 0's cached tokens from position pos on (0 clears it). */
MOTE_API mote_status mote_session_truncate(mote_session *s, int pos);

/* Sequence operations. None allocates or frees: a sequence's cache is
 * fixed. Clear and truncate cost nothing; copy costs a memory copy of
 * n positions of every layer's keys and values (kv_bytes_per_pos each, see
 * mote_session_memory), and of the whole ring of a sliding-window layer.
 * Sliding-window layers (gemma3's local layers) keep only the positions
 * their window still needs, in a ring of about window + n_batch rows: a
 * sequence can then be cut back (truncate, copy) only to 0, to its length,
 * or to a length whose window the ring still holds; other cuts fail with
 * MOTE_E_UNSUPPORTED saying the shortest allowed. */
MOTE_API int mote_seq_pos(const mote_session *s, int seq); /* tokens cached; -1 if no such sequence */
MOTE_API mote_status mote_seq_truncate(mote_session *s, int seq, int pos);
MOTE_API mote_status mote_seq_clear(mote_session *s, int seq);
/* alone 1: every token of sequence seq that an evaluation holds is
 * computed as a batch of that token alone computes it (matrix products and
 * attention), bit for bit, so one pass over several of its tokens gives
 * the logits that feeding them one at a time gives (speculative decoding
 * verifies drafts this way, see mote_generate_speculative); the pass still
 * reads the weights once. 0 (the default): a sequence's tokens in one pass
 * share the batch kernels, faster for prompts. MOTE_E_UNSUPPORTED in an
 * embeddings session or for an encoder. */
MOTE_API mote_status mote_seq_set_alone(mote_session *s, int seq, int alone);
/* Make dst hold the first n cached positions of src (and nothing else). */
MOTE_API mote_status mote_seq_copy(mote_session *s, int src, int dst, int n);
/* The tokens cached in a sequence (valid until it changes); *n gets the
 * count (n may be NULL). */
MOTE_API const mote_token *mote_seq_tokens(const mote_session *s, int seq, int *n);
/* Prefix reuse: the length of the longest common prefix of seq's cached
 * tokens and toks[0..n). A caller keeps that much (mote_seq_truncate) and
 * evaluates the rest; at least one token must be evaluated to get logits.
 * 0 where a sliding-window layer could not be cut back to that length. */
MOTE_API int mote_seq_common_prefix(const mote_session *s, int seq, const mote_token *toks, int n);

/* The KV cache bytes a session created with these params (NULL: the
 * defaults) would hold, all sequences, keys and values, sliding-window
 * layers at their ring's size: what mote_session_memory's kv will say,
 * known before the session exists (for memory budgets, `mote info`). */
MOTE_API mote_status mote_session_kv_bytes(const mote_model *model, const mote_session_params *params, uint64_t *out);

/* All the memory a session created now with these params (NULL: the
 * defaults) would hold, known before it exists (for memory budgets): kv,
 * scratch and heap as mote_session_memory counts them (kv_used, mapped
 * and resident 0), for the thread count creation would get now. Scratch
 * is at its peak, the output rows (n_vocab floats each; n_embd for
 * embeddings) at n_batch, the most a decode can ask for, or at
 * n_outputs_max if that is smaller: a new session holds one row and grows
 * as evaluations ask for more, so the session's kv and heap equal the plan
 * and its scratch stays within it -- except that, with no n_outputs_max,
 * mote_session_eval with all_logits over n > n_batch tokens grows the
 * outputs to n rows. MOTE_E_INVALID for a NULL model or mem or a
 * vocab-only model; bad params fail as in mote_session_create. */
MOTE_API mote_status mote_session_plan(const mote_model *model, const mote_session_params *params, mote_memory *mem);

/* Fields of `mem` that apply to a session: kv, kv_used, scratch, heap.
 * kv_bytes_per_pos (may be NULL): KV bytes of one position of one
 * sequence (all layers, keys and values), what the cache grows by per
 * position of context: sliding-window layers' rings are fixed, counted in
 * kv but not here. */
MOTE_API mote_status mote_session_memory(const mote_session *s, mote_memory *mem, uint64_t *kv_bytes_per_pos);

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

MOTE_API mote_sampler_params mote_sampler_default_params(void);
/* params may be NULL (the defaults). *out is NULL on failure;
 * MOTE_E_INVALID for a NULL out or n_vocab < 1. */
MOTE_API mote_status mote_sampler_create(const mote_sampler_params *params, int n_vocab,
                                mote_sampler **out);
MOTE_API void mote_sampler_free(mote_sampler *smp);
/* Pick a token from raw logits (not modified). -1 (MOTE_E_INVALID in
 * mote_last_error) for a NULL sampler or logits. accept ignores a NULL
 * sampler and tokens outside the vocabulary; reset ignores NULL. */
MOTE_API mote_token mote_sampler_sample(mote_sampler *smp, const float *logits);
/* Record a token in the penalty history (prompt or generated). */
MOTE_API void mote_sampler_accept(mote_sampler *smp, mote_token t);
/* Also takes the grammar (if any) back to the empty text. */
MOTE_API void mote_sampler_reset(mote_sampler *smp);
/* Add bias[i] to the logit of token ids[i] before anything else of the
 * chain (as llama.cpp's logit-bias sampler; greedy too); -INFINITY bans
 * the token. The lists are copied and replace any earlier ones; n = 0
 * clears them. A token named twice gets the sum. MOTE_E_INVALID (nothing
 * changed) for an id outside the vocabulary, a NaN or +inf bias, n < 0 or
 * n > MOTE_LOGIT_BIAS_MAX. */
#define MOTE_LOGIT_BIAS_MAX 4096
MOTE_API mote_status mote_sampler_set_logit_bias(mote_sampler *smp, const mote_token *ids, const float *bias,
                                                 int n);

/* ------------------------------------------------------------------------
 * Grammars: constrained sampling
 * ---------------------------------------------------------------------- */

typedef struct mote_grammar mote_grammar;

/* Compile a JSON Schema (schema[0..len), JSON text) into the grammar of
 * the JSON texts that validate against it. Every text the grammar allows
 * validates; a keyword mote cannot enforce is refused (MOTE_E_UNSUPPORTED,
 * the message naming the keyword and where it is), never ignored; a
 * malformed schema is MOTE_E_INVALID. The README lists the subset. */
MOTE_API mote_status mote_grammar_from_json_schema(const char *schema, size_t len, mote_grammar **out);
/* The same, framed: the text is before, then the JSON, then after (each
 * NULL or "" for nothing), e.g. a tool call's markup around its object. */
MOTE_API mote_status mote_grammar_from_json_schema_framed(const char *schema, size_t len, const char *before,
                                                          const char *after, mote_grammar **out);
MOTE_API void mote_grammar_free(mote_grammar *g);

/* Constrain the sampler to g (NULL: no constraint again): from now on
 * mote_sampler_sample returns only tokens whose text continues a text of
 * the grammar, and an end-of-generation token only once the text is
 * whole (and then nothing else when the grammar allows nothing more).
 * Each token it returns becomes part of the text (accept is for the
 * penalties only). g and model must outlive the sampler's use of them.
 * mote_sampler_sample fails (-1) if the grammar allows no token. */
MOTE_API mote_status mote_sampler_set_grammar(mote_sampler *smp, const mote_model *model,
                                              const mote_grammar *g);

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
    int n_drafted;         /* speculation: tokens drafted and verified */
    int n_accepted;        /* speculation: of those, tokens the target sampled too */
} mote_generate_stats;

/* Evaluate the prompt, then sample up to n_predict tokens, feeding each back.
 * Stops at end-of-generation tokens, when fn returns nonzero, or when the
 * context is full. stats and fn may be NULL; n_predict 0 evaluates the
 * prompt only. MOTE_E_INVALID for a NULL session or sampler, NULL prompt
 * with n_prompt > 0, or an empty prompt with an empty context. */
MOTE_API mote_status mote_generate(mote_session *s, mote_sampler *smp,
                          const mote_token *prompt, int n_prompt, int n_predict,
                          mote_token_fn fn, void *user,
                          mote_generate_stats *stats);

/* Speculative decoding: cheap guesses of the next tokens (drafts) are
 * verified by the model in one pass over its weights, so that several
 * tokens may come out of one pass. Drafts come from n-grams already in
 * the context (prompt lookup) and/or from a small draft model with the
 * same vocabulary, drafting greedily. The output is what mote_generate
 * gives, token for token, for greedy and sampled generation alike (same
 * sampler, same seed): every drafted position is computed as one-token
 * decoding computes it (mote_seq_set_alone), each token is drawn by the
 * sampler from those logits, and a draft counts only where it equals the
 * drawn token. For a deterministic draft x this is the standard rejection
 * rule (accept x with probability p(x)/q(x) = p(x), else draw from
 * p without x, renormalised), with p the sampler's whole chain
 * (penalties, top-k/p, min-p, temperature, grammar), whose state only
 * accepted tokens advance. */
#define MOTE_DRAFT_MAX 256 /* most tokens drafted per pass */
#define MOTE_SPEC_COST_N 9 /* pass costs known for passes of 1..9 tokens (adaptive lookup drafts up to 8) */

typedef struct mote_speculative {
    int lookup;          /* prompt lookup: draft up to this many tokens that followed an earlier
                          * occurrence of the context's last n-gram; 0: off */
    int ngram_max;       /* longest n-gram matched (0: 4); tried from ngram_max down to ngram_min */
    int ngram_min;       /* shortest n-gram matched (0: 3; 1 drafts more, and more in vain) */
    /* A session of the draft model (the same vocabulary: size and token
     * texts), used where lookup finds nothing; NULL: none. Its sequence 0
     * is the draft's and is overwritten; its n_ctx must be at least the
     * target's. */
    mote_session *draft;
    int draft_max;       /* tokens the draft model proposes per pass (0: 8) */
    int draft_min;       /* a draft of fewer tokens is not verified (0: any) */
    float draft_p_min;   /* the draft model stops where its top token's probability is below
                          * this (0: never) */
    /* Adaptive length (prompt lookup only, no draft model): each pass
     * verifies the number k of lookup's drafts (0 included: a plain pass)
     * that maximises the expected tokens per unit of time, E(k) / cost[k],
     * with E(k) = 1 + a + ... + a^k for a the running estimate of the
     * chance that a drafted token is drawn (every drafted token counts,
     * verified or not: one not verified is compared with the token plain
     * decoding then draws). lookup (0: MOTE_SPEC_COST_N - 1) is the most;
     * cost[n - 1] is the time of a pass of n tokens over that of one
     * token (mote_spec_profile_get: what `mote tune` measured). */
    int adaptive;
    float cost[MOTE_SPEC_COST_N];
} mote_speculative;

/* mote_generate with speculation (spec NULL, or with lookup 0 and no
 * draft: exactly mote_generate). The stats count the drafted and the
 * accepted tokens. Sets sequence 0 alone for its passes and not alone
 * after. MOTE_E_INVALID also for out-of-range spec fields, a draft model
 * whose vocabulary differs (the message names the first differing token)
 * or whose context is shorter. */
MOTE_API mote_status mote_generate_speculative(mote_session *s, mote_sampler *smp, const mote_speculative *spec,
                                               const mote_token *prompt, int n_prompt, int n_predict,
                                               mote_token_fn fn, void *user, mote_generate_stats *stats);

/* Prompt lookup alone, for callers that run their own verification (a
 * server's batches): up to k tokens that followed the latest earlier
 * occurrence of the last n-gram of ctx[0..n), n-grams of ngram_max tokens
 * down to ngram_min (0: the defaults, as in mote_speculative), written to
 * out; returns how many (0: none, or bad arguments). */
MOTE_API int mote_lookup_draft(const mote_token *ctx, int n, int ngram_min, int ngram_max, int k, mote_token *out);

/* A short measurement of whether speculation pays on this machine and
 * model (for tuning): greedy generation of n_predict tokens after the
 * prompt, plain then speculative, each from an empty sequence 0 of s. */
typedef struct mote_speculative_bench {
    double plain_tps;    /* generated tokens per second, plain */
    double spec_tps;     /* the same with spec */
    int n_generated;     /* tokens each run generated */
    int n_drafted, n_accepted; /* of the speculative run */
    int identical;       /* 1: both runs gave the same tokens (they must) */
} mote_speculative_bench;

/* The adaptive rule: the draft length k in 0..k_max (at most
 * MOTE_SPEC_COST_N - 1) with the most expected tokens per time,
 * E(k) / cost[k] (mote_speculative.adaptive), for a chance `accept` that a
 * drafted token is drawn; *gain (may be NULL) gets that ratio, the speed
 * over plain decoding (1 for k = 0). cost[0] is 1; a cost that is not
 * positive and finite ends the lengths considered. */
MOTE_API int mote_spec_best_length(const float *cost, int k_max, double accept, double *gain);

/* The adaptive length for callers that run their own verification (a
 * server's streams): one stream's running acceptance and lookup's last
 * proposal. */
typedef struct mote_spec_state {
    double accept;                     /* chance that a drafted token is drawn, as seen so far */
    mote_token prev[MOTE_SPEC_COST_N]; /* lookup's last proposal, verified or not */
    int n_prev;                        /* its tokens */
    int prev_at;                       /* the context length it followed */
} mote_spec_state;

MOTE_API void mote_spec_state_init(mote_spec_state *st);
/* Prompt lookup (the default n-grams) with the adaptive length: compare
 * st's last proposal with the tokens that followed it in ctx[0..n) (which
 * extends the previous call's context), propose anew, and write to out as
 * many of the proposal's tokens as pay by cost (MOTE_SPEC_COST_N of them,
 * as in mote_speculative) at st's acceptance, at most k; returns how many
 * (0: a plain step). */
MOTE_API int mote_lookup_draft_adaptive(mote_spec_state *st, const float *cost, const mote_token *ctx, int n, int k,
                                        mote_token *out);

/* The acceptance at which `mote tune` and run/serve judge whether lookup
 * may pay on a model: a story or a code edit repeats more, free text less. */
#define MOTE_SPEC_PLAUSIBLE_ACCEPT 0.5
/* ... and the least gain that counts as paying (below it, noise). */
#define MOTE_SPEC_MIN_GAIN 1.05

/* What this machine's tuning profile says about speculation on a model. */
typedef struct mote_spec_profile {
    int found;                     /* 1: `mote tune` measured this model (its shapes and types) */
    int n_threads;                 /* the threads it measured with */
    float cost[MOTE_SPEC_COST_N];  /* pass of n tokens / pass of 1, n = 1.. */
    int best_k;                    /* mote_spec_best_length at MOTE_SPEC_PLAUSIBLE_ACCEPT */
    double gain;                   /* ... its gain */
    int pays;                      /* found and gain >= MOTE_SPEC_MIN_GAIN */
} mote_spec_profile;

/* Look model up in this machine's profile (the file mote_tune_load
 * reads; MOTE_TUNE=off, no profile or another machine's: found 0, and
 * MOTE_OK). MOTE_E_FORMAT for a corrupt profile. */
MOTE_API mote_status mote_spec_profile_get(const mote_model *model, mote_spec_profile *out);

MOTE_API mote_status mote_speculative_measure(mote_session *s, const mote_speculative *spec,
                                              const mote_token *prompt, int n_prompt, int n_predict,
                                              mote_speculative_bench *out);

/* ------------------------------------------------------------------------
 * Chat templates
 * ---------------------------------------------------------------------- */

typedef struct mote_chat_message {
    const char *role;    /* "system", "user", "assistant", ... */
    const char *content;
} mote_chat_message;

/* Render the model's tokenizer.chat_template (or tmpl if not NULL) for the
 * messages. *out is malloc'd (free with mote_free). A NULL role or content
 * renders as ""; n may be 0 (msgs may then be NULL). MOTE_E_INVALID for a
 * NULL model or out; MOTE_E_UNSUPPORTED when there is no template. */
MOTE_API mote_status mote_chat_apply(const mote_model *model, const char *tmpl,
                            const mote_chat_message *msgs, size_t n,
                            int add_generation_prompt, char **out);

/* Render the conversation as mote_chat_apply does and tokenize it as the
 * model sees it: special tokens (e.g. "<|im_start|>") are parsed in the
 * template's own text only; the messages' contents are tokenized as plain
 * text, so a message cannot forge role markers or end-of-turn tokens.
 * BOS/EOS are added as the vocabulary says (mote_tokenize's add_special),
 * BOS not when the template writes it. The contents are put in verbatim
 * where the template writes them (a template that changes a content, e.g.
 * trims it, gets the content as given). Writes up to cap ids to out and
 * the full count to *n_out; MOTE_E_RANGE (with *n_out set) if cap was too
 * small (cap 0 with out NULL asks for the count). */
MOTE_API mote_status mote_chat_tokenize(const mote_model *model, const char *tmpl,
                                        const mote_chat_message *msgs, size_t n,
                                        int add_generation_prompt, mote_token *out,
                                        size_t cap, size_t *n_out);

/* The same two with the template's whole context given as a JSON object
 * (context_json): "messages" may then hold what templates with tools
 * read (an assistant's "tool_calls" with "function" {"name",
 * "arguments"}, a tool's "tool_call_id"), "tools" the tool definitions
 * (OpenAI's [{"type": "function", "function": {"name", "description",
 * "parameters"}}]), and any other variable a template reads
 * (enable_thinking, ...). add_generation_prompt, bos_token and eos_token
 * are set as above. When tokenizing, every string under messages and
 * tools is plain text like a content (written JSON-escaped where the
 * template puts it between double quotes, as tojson does), except the
 * values of "role", "type" and "name", which templates compare: those,
 * every key, and the other variables' strings must not hold the text of
 * a control token (MOTE_E_INVALID saying which). */
MOTE_API mote_status mote_chat_apply_json(const mote_model *model, const char *tmpl,
                                          const char *context_json, int add_generation_prompt,
                                          char **out);
MOTE_API mote_status mote_chat_tokenize_json(const mote_model *model, const char *tmpl,
                                             const char *context_json, int add_generation_prompt,
                                             mote_token *out, size_t cap, size_t *n_out);

/* Render a Jinja chat template with a JSON context object (the variables:
 * messages, tools, add_generation_prompt, bos_token, ...); a NULL
 * context_json is an empty context. *out is NULL on failure;
 * MOTE_E_INVALID for a NULL tmpl or out. */
MOTE_API mote_status mote_template_render(const char *tmpl, const char *context_json,
                                 char **out);

/* ------------------------------------------------------------------------
 * Embeddings: one vector per text
 *
 * An embedder runs a model as an embeddings session and turns texts into
 * vectors: each text tokenized as the vocabulary says (BOS/CLS, EOS/SEP;
 * user text never becomes control tokens), several texts sharing a
 * forward pass as sequences of one batch, each pooled as the model's
 * GGUF says (<arch>.pooling_type: mean, CLS or last token), projected
 * when the model has pooled projections (EmbeddingGemma's dense layers)
 * and, by default, scaled to unit L2 norm. Encoders (bert, nomic-bert,
 * gemma-embedding) and decoders with a pooling type (Qwen3-Embedding)
 * alike. A text's vector does not depend on the texts it shares a pass
 * with beyond float rounding of the batch's products.
 * ---------------------------------------------------------------------- */

typedef struct mote_embedder mote_embedder;

typedef struct mote_embed_params {
    int n_threads;  /* threads (as mote_session_params); 0 = the whole pool */
    int n_ctx;      /* most tokens of one text; 0 = the model's training context, at most 4096 */
    int n_batch;    /* most tokens of one pass (texts packed whole); 0 = max(n_ctx, 512) */
    int n_seq_max;  /* most texts of one pass; 0 = 32 */
    int pooling;    /* enum mote_pooling; MOTE_POOL_DEFAULT: the model's, and where the
                     * model names none, MEAN for encoders and LAST for decoders */
    int normalize;  /* 1 (default): unit L2 norm; 0: the pooled vector as is */
    int truncate;   /* 1: a text of more than n_ctx tokens is cut to n_ctx, keeping the
                     * closing EOS/SEP the vocabulary adds; 0 (default): MOTE_E_RANGE */
} mote_embed_params;

MOTE_API mote_embed_params mote_embed_default_params(void);
/* An embedder over model (which must outlive it). *out is NULL on
 * failure: MOTE_E_INVALID for a NULL model or out, a vocab-only model or
 * pooling NONE; session errors as in mote_session_create. */
MOTE_API mote_status mote_embedder_create(const mote_model *model, const mote_embed_params *params,
                                          mote_embedder **out);
MOTE_API void mote_embedder_free(mote_embedder *e);
/* Floats per vector (n_embd); 0 for NULL. */
MOTE_API int mote_embedder_dim(const mote_embedder *e);
/* The pooling the model's GGUF names (<arch>.pooling_type: enum
 * mote_pooling, MOTE_POOL_NONE if none; a model that names one is made
 * for embeddings); MOTE_POOL_NONE for NULL or vocab-only. */
MOTE_API int mote_model_pooling(const mote_model *model);
/* What an embedder with these params (NULL: the defaults) would hold, as
 * mote_session_plan counts a session (its session and tables). Errors as
 * mote_embedder_create. */
MOTE_API mote_status mote_embedder_plan(const mote_model *model, const mote_embed_params *params, mote_memory *mem);
/* Whether the model is an embedding model only (no language-model head:
 * bert, nomic-bert, gemma-embedding); 0 for NULL or vocab-only. */
MOTE_API int mote_model_embedding_only(const mote_model *model);
/* Embed n texts (texts[i] of lens[i] bytes; lens NULL: NUL-terminated)
 * into out (n x dim floats, text i at out + i * dim). n_tokens (may be
 * NULL): the tokens evaluated, for usage counts. On failure out is
 * unspecified and the message names the text: MOTE_E_RANGE for a text
 * longer than n_ctx tokens without truncate, MOTE_E_INVALID for NULL
 * arguments; progress is not reported. */
MOTE_API mote_status mote_embed(mote_embedder *e, const char *const *texts, const size_t *lens, int n,
                                float *out, int64_t *n_tokens);

#ifdef __cplusplus
}
#endif

#endif /* MOTE_H */
