/*
 * arch.h — transformer architectures: hyper-parameters, weights and the
 * forward pass.
 *
 * A model_arch is built from GGUF metadata and tensors by arch_load(), which
 * checks that every tensor the architecture needs is present with the right
 * shape and a supported type. Weights are never copied: each `weight`
 * points into the file's memory map.
 *
 * Supported families: `llama` (Llama 2/3.x with rope_freqs scaling,
 * TinyLlama, SmolLM, Mistral), `qwen2`, `qwen3`, `gemma3`, `phi3`,
 * `granite` and `smollm3`. What sets a family apart is data, not code: one
 * arch_family record each (arch_load.c) says which norms, biases, fused
 * tensors, scales, rope style and window pattern it has; arch_load turns
 * that and the file's keys into the hyper-parameters and per-layer
 * settings below, which the one forward pass reads.
 */
#ifndef MOTE_MODEL_ARCH_H
#define MOTE_MODEL_ARCH_H

#include <stdint.h>

#include "base/threadpool.h"
#include "gguf/gguf.h"
#include "kernels/attention.h"

enum rope_style {
    ROPE_NORM, /* rotate adjacent pairs (x[2i], x[2i+1]): llama */
    ROPE_NEOX, /* rotate (x[i], x[i + n_rot/2]): qwen2 */
};

/* The gated feed-forward's activation: down(act(gate·x) ⊙ up·x). */
enum ffn_act {
    FFN_SILU, /* SwiGLU */
    FFN_GELU, /* GeGLU with tanh GELU, through llama.cpp's F16 table */
};

/* A 2-D weight matrix used in place: rows of `cols` elements of `type`. */
typedef struct weight {
    const void *data;  /* into the map */
    uint32_t type;     /* enum ggml_type */
    int64_t cols;      /* ne[0]: input features (k) */
    int64_t rows;      /* ne[1]: output features (m) */
    size_t row_bytes;  /* bytes of one row */
    const char *name;  /* tensor name, for messages */
} weight;

/* A layer is pre-norm (attn_norm, ffn_norm before each block: decoders)
 * or post-norm (BERT: x = layernorm(x + block(x)) with ln_attn / ln_ffn);
 * the norms a layer lacks are NULL. */
typedef struct layer_weights {
    const float *attn_norm;     /* (n_embd) RMS norm before attention, or NULL (post-norm) */
    weight wq;                  /* (n_embd) -> (n_head * head_dim) */
    weight wk;                  /* (n_embd) -> (n_head_kv * head_dim) */
    weight wv;                  /* (n_embd) -> (n_head_kv * head_dim) */
    weight wo;                  /* (n_head * head_dim) -> (n_embd) */
    const float *bq, *bk, *bv;  /* q/k/v biases (qwen2, bert) or NULL */
    const float *bo;            /* (n_embd) attention output bias, or NULL */
    const float *q_norm, *k_norm; /* (head_dim) RMS norm of each q/k head before rope, or NULL */
    const float *attn_post_norm; /* (n_embd) RMS norm of the attention output, or NULL */
    const float *ln_attn_w, *ln_attn_b; /* (n_embd) LayerNorm of x after the attention residual, or NULL */
    const float *ffn_norm;      /* (n_embd) RMS norm before the feed-forward, or NULL (post-norm) */
    const float *ffn_post_norm; /* (n_embd) RMS norm of the feed-forward output, or NULL */
    weight w_gate;              /* (n_embd) -> (n_ff); data NULL: an ungated FFN, down(act(up·x + b_up)) + b_down */
    weight w_up;                /* (n_embd) -> (n_ff) */
    weight w_down;              /* (n_ff) -> (n_embd) */
    const float *b_up, *b_down; /* ungated FFN biases (bert) or NULL */
    const float *ln_ffn_w, *ln_ffn_b; /* (n_embd) LayerNorm of x after the FFN residual, or NULL */
    int window;                 /* sliding window: attends to the last `window` positions (causal) or
                                 * to those within window/2 either side (swa_symmetric); 0: all */
    int rope;                   /* rope variant (index into the rope cache), -1: no rope (NoPE) */
} layer_weights;

/* Rope variants: the main one, and the local layers' own base (gemma3). */
#define ROPE_VARIANTS 2

typedef struct arch_hparams {
    int n_vocab;        /* rows of token_embd */
    int n_ctx_train;    /* context length the model was trained with */
    int n_embd;         /* model width */
    int n_layer;
    int n_head;         /* query heads */
    int n_head_kv;      /* key/value heads (grouped-query attention) */
    int head_dim;       /* per head */
    int n_ff;           /* feed-forward width */
    int n_rot;          /* rotary dimensions per head (<= head_dim) */
    float rope_base;    /* theta base */
    float rope_freq_scale; /* 1 / linear scaling factor */
    float norm_eps;     /* RMSNorm epsilon */
    enum rope_style rope_style;
    float rope_base_local; /* rope base of variant 1 (local layers), scale 1 */
    float rope_mscale;  /* cos and sin × this (rope.scaling.attn_factor); 1 = none */
    int n_ctx_orig;     /* LongRoPE: long factors iff the padded context exceeds this */
    int n_swa;          /* sliding window of the local layers; 0: none */
    float embd_scale;   /* inputs × this; 1 = none */
    float q_scale;      /* q × this after rope, before the scores (gemma3, phi3); 1 = none */
    float kq_scale;     /* scores × this before the softmax */
    float residual_scale; /* block outputs × this before the residual add; 1 = none */
    float logit_scale;  /* logits × this; 1 = none */
    float softcap;      /* logits = softcap·tanh(logits/softcap); 0 = none */
    enum ffn_act act;
    int fused_up;       /* ffn_up holds gate rows then up rows (w_gate, w_up are views of it) */
    int pooling;        /* <arch>.pooling_type for embeddings (enum mote_pooling), 0 if absent */
    int causal;         /* 1: a token attends to the positions up to its own (decoders); 0: to its
                         * whole sequence (encoders: a sequence is evaluated whole, in one pass) */
    int swa_symmetric;  /* windows reach both ways (EmbeddingGemma) */
    int encoder;        /* an embedding model: no language-model head, embeddings sessions only */
} arch_hparams;

typedef struct model_arch {
    const char *family; /* general.architecture */
    arch_hparams hp;
    weight tok_embd;            /* (n_embd) x n_vocab rows */
    weight tok_types;           /* (n_embd) x token types: row 0 is added to every input (bert), or data NULL */
    weight pos_embd;            /* (n_embd) x positions: learned absolute positions (bert), or data NULL */
    const float *embd_norm_w, *embd_norm_b; /* (n_embd) LayerNorm of the inputs (bert), or NULL */
    const float *output_norm;   /* (n_embd) final RMS norm, or NULL (bert) */
    weight output;              /* (n_embd) -> (n_vocab); tok_embd when tied */
    const float *rope_freqs;    /* (n_rot / 2) frequency divisors, or NULL */
    const float *rope_long;     /* (n_rot / 2) LongRoPE divisors past n_ctx_orig, or NULL */
    const float *rope_short;    /* (n_rot / 2) LongRoPE divisors up to n_ctx_orig, or NULL */
    layer_weights *layers;      /* (n_layer) */
    weight dense_2, dense_3;    /* pooled (n_embd) -> (d) -> (n_embd) projections (EmbeddingGemma), or data NULL */
    char warning[256];          /* what the file says that mote ignores, as llama.cpp does, or "" */
    int64_t n_params;           /* elements of all tensors (shared blocks once) */
    uint64_t weight_bytes;      /* bytes of all tensor data (shared blocks once) */
    int n_blocks;               /* stored blocks of layer weights: n_layer, fewer when layers share */
    int *block_of;              /* (n_layer) the stored block each layer computes with (mote.block_map) */
} model_arch;

/* ------------------------------------------------------------------------
 * Weight sharing: mote.block_map
 *
 * Several layers may compute with one stored block of weights, as in
 * MobileLLM's block sharing. The key mote.block_map, an array of UINT32
 * (INT32 is accepted) with one element per layer, names the stored block
 * each layer uses: layer i reads the tensors blk.<map[i]>.*, all of them,
 * as a layer of the architecture would read blk.<i>.*. block_count stays
 * the number of layers. The stored blocks are numbered 0..n_blocks-1 and
 * every one is used by at least one layer; a file without the key maps
 * layer i to block i, as every GGUF does. Layers that share a block share
 * its weights in the memory map (nothing is copied) but keep their own KV
 * cache and their own per-layer settings (sliding window, rope), which go
 * by the layer's index. The file, its weight bytes and the memory a model
 * costs count each stored block once. `mote share` writes such files.
 * ---------------------------------------------------------------------- */

#define ARCH_KEY_BLOCK_MAP "mote.block_map"

/* The map of a file whose block_count is n_layer: *map (malloc'd, n_layer
 * entries) and *n_blocks; the identity without the key. MOTE_E_FORMAT
 * naming the key for a wrong type, a length other than n_layer, a block
 * outside 0..n_layer-1 and a block no layer uses. */
mote_status arch_block_map(const gguf_file *f, int n_layer, int **map, int *n_blocks);
/* 1 if map[i] == i for every layer (no sharing, the usual numbering). */
int arch_block_map_is_identity(const int *map, int n_layer);
/* A tensor name "blk.B.rest": B, with *rest pointing at "rest"; -1 for
 * any other name. */
int arch_block_name(const char *name, const char **rest);

/* Build the architecture named by general.architecture from the file. */
mote_status arch_load(const gguf_file *f, model_arch **out);
void arch_free(model_arch *a);
/* 1 if arch_load runs the family named arch (general.architecture). */
int arch_known(const char *arch);
/* The families arch_load runs, as words for messages. */
const char *arch_families(void);
/* The rope frequency divisors for a context of n_ctx positions per
 * sequence: rope_freqs, or LongRoPE's long set when n_ctx padded to 256
 * exceeds n_ctx_orig (as llama.cpp decides) and its short set otherwise;
 * NULL for none. */
const float *arch_rope_factors(const model_arch *a, int n_ctx);

/* ------------------------------------------------------------------------
 * Forward pass
 * ---------------------------------------------------------------------- */

/* Everything a forward pass reads and writes besides the weights: the KV
 * cache and the scratch buffers, all owned by the session (engine layer)
 * and sized once at its creation for n_seq sequences of n_ctx positions
 * and n_batch tokens per pass. */
/* Where one layer's cache rows are in a sequence's region (kv_plan). */
typedef struct kv_layer {
    size_t row0;        /* the layer's first row in a sequence's region */
    int ring;           /* 0: row p holds position p (n_ctx rows). Else a ring of this many rows,
                         * a multiple of ATTN_CHUNK, holds position p at row p % ring */
    int window;         /* the layer's window when it has a ring, else 0 */
} kv_layer;

/* Watching a forward pass (importance matrices, pruning statistics). Each
 * callback is optional and runs on the thread that called arch_forward,
 * between the pass's steps: what it is shown is valid only during the
 * call. A state without an observer costs one test per product. */
typedef struct fwd_observer {
    /* Before each weight matrix product Y = X·Wᵀ: the weight's GGUF tensor
     * name, its layer (-1 outside the blocks: output, pooled projections)
     * and X, n rows of n_in floats (the F32 activations, before they are
     * converted for the dot kernels). A fused tensor (attn_qkv, phi3's
     * ffn_up) is one product here, shown once under its own name. */
    void (*matmul)(void *user, const char *name, int il, const float *x, int n, int n_in);
    /* The residual stream entering (out = 0) and leaving (out = 1) block
     * il: n rows of n_embd. The last block leaves with the kept rows only
     * (all of them when every output is wanted), see arch_forward. */
    void (*residual)(void *user, int il, int out, const float *x, int n, int n_embd);
    void *user;
} fwd_observer;

typedef struct forward_state {
    int n_ctx;          /* positions per sequence in the KV cache */
    int n_seq;          /* sequences */
    int n_batch;        /* most tokens per forward call */
    uint32_t kv_type;   /* GGML_TYPE_F32, _F16 or _Q8_0: element type of the cache */
    size_t kv_row_bytes; /* bytes of one cache row (n_head_kv * head_dim elements) */
    void *k_cache;      /* (n_seq, seq_rows) rows of kv_row_bytes: keys after rope */
    void *v_cache;      /* (n_seq, seq_rows) rows of kv_row_bytes: values */
    const kv_layer *kv_layers; /* (n_layer) each layer's rows (kv_plan) */
    size_t seq_rows;    /* cache rows of one sequence, all layers */
    float *x;           /* (n_batch, n_embd) residual stream */
    float *xb;          /* (n_batch, max(n_embd, n_head * head_dim)) normed input / attention output */
    float *q;           /* (n_batch, n_head * head_dim) */
    float *k;           /* (n_batch, n_head_kv * head_dim) */
    float *v;           /* (n_batch, n_head_kv * head_dim) */
    float *hb;          /* (n_batch, n_ff) */
    float *hb2;         /* (n_batch, n_ff) */
    float *tmp;         /* (n_batch, n_embd) block outputs before the residual add */
    float *rope_cs;     /* (n_batch, ROPE_VARIANTS, n_rot) cos/sin per token position */
    const float *rope_ff; /* rope frequency divisors for this context (arch_rope_factors) or NULL */
    float *att;         /* F32 cache: (n_threads, n_ctx) attention scores per thread; else NULL */
    float *gather;      /* F32 cache with rings: (n_threads, gather_rows, head_dim) values of a
                         * window that wraps round its ring, gathered; else NULL */
    int gather_rows;    /* kv_gather_rows of kv_layers */
    float *attn_part;   /* F16/Q8_0 cache: attention partials (model/attention.h); else NULL */
    int32_t *attn_blocks; /* (n_batch + 1) F16/Q8_0 cache: first token of each token block of the
                           * streaming attention (model/attention.c) */
    int32_t *keep_seg;  /* (n_batch) rows kept per run after the last attention */
    int32_t *end;       /* (n_batch) one past the last position each token may see: its own + 1
                         * (causal), its run's last + 1 (non-causal); set per pass */
    int symmetric;      /* windows reach both ways (hp.swa_symmetric) */
    float *proj;        /* (dense_2.rows) the pooled projection's middle vector, or NULL */
    attn_chunk_fn attn_kernel; /* F16/Q8_0 cache: the streaming attention kernel; else NULL */
    attn_exact_ops attn_exact; /* F32 cache: the products of exact attention */
    void *mm_scratch;   /* activations converted for matmul */
    mote_pool *pool;
    const fwd_observer *observer; /* NULL: none */
    const int8_t *seq_alone; /* (n_seq) 1: the sequence comes in runs of one row (fwd_batch), and
                              * its attention too is that of a row alone; NULL: none */
    /* Set for each call by arch_forward from its batch: */
    const int32_t *seq; /* (n) sequence of each row */
    const int32_t *pos; /* (n) position of each row in its sequence */
} forward_state;

/* One forward pass. Tokens come in runs, one per sequence (a sequence
 * appears in one run only, except one set alone in seq_alone: a run per
 * token), each at consecutive positions that continue what the sequence
 * has cached. Every run is multiplied with the kernels
 * a batch of that run alone would use (a run of one token: the
 * single-token kernels; consecutive one-token runs share a pass over the
 * weights), so a sequence's results do not depend on the others. */
typedef struct fwd_batch {
    int n;                  /* tokens (<= n_batch) */
    const int32_t *token;   /* (n) */
    const int32_t *seq;     /* (n) */
    const int32_t *pos;     /* (n) */
    int n_run;              /* runs */
    const int32_t *run;     /* (n_run) tokens per run, in order */
    const int8_t *keep;     /* (n) 1: this token's output is wanted */
    int embeddings;         /* 1: outputs are final hidden states (normed), not logits */
    /* Called after each layer; nonzero stops the pass (MOTE_E_CANCELLED). */
    int (*layer_done)(void *user);
    void *user;
} fwd_batch;

/* Bytes of scratch the forward pass needs for matmuls (for a state). */
size_t arch_matmul_scratch(const model_arch *a, int n_batch);

/* A pooled vector (n_embd) through the model's pooled projections, in
 * place (nothing when it has none). */
void arch_project_pooled(const model_arch *a, forward_state *st, float *v);

/* Run a batch. Writes one output row per kept token, in token order:
 * n_vocab logits, or with embeddings n_embd floats. Rows that are not kept
 * are dropped before the last feed-forward block (like llama.cpp, which
 * keeps the arithmetic of its single-token matmuls for the last token). */
mote_status arch_forward(const model_arch *a, forward_state *st, const fwd_batch *b, float *out);

#endif
