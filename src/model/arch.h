/*
 * arch.h — transformer architectures: hyper-parameters, weights and the
 * forward pass.
 *
 * A model_arch is built from GGUF metadata and tensors by arch_load(), which
 * checks that every tensor the architecture needs is present with the right
 * shape and a supported type. Weights are never copied: each `weight`
 * points into the file's memory map.
 *
 * Supported: `llama` (Llama 2/3.x with rope_freqs scaling, TinyLlama,
 * SmolLM, Mistral; tied or separate output) and `qwen2` (q/k/v biases,
 * NEOX-style rope).
 */
#ifndef MOTE_MODEL_ARCH_H
#define MOTE_MODEL_ARCH_H

#include <stdint.h>

#include "base/threadpool.h"
#include "gguf/gguf.h"
#include "kernels/attention.h"

enum arch_kind {
    ARCH_LLAMA,
    ARCH_QWEN2,
};

enum rope_style {
    ROPE_NORM, /* rotate adjacent pairs (x[2i], x[2i+1]): llama */
    ROPE_NEOX, /* rotate (x[i], x[i + n_rot/2]): qwen2 */
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

typedef struct layer_weights {
    const float *attn_norm;     /* (n_embd) */
    weight wq;                  /* (n_embd) -> (n_head * head_dim) */
    weight wk;                  /* (n_embd) -> (n_head_kv * head_dim) */
    weight wv;                  /* (n_embd) -> (n_head_kv * head_dim) */
    weight wo;                  /* (n_head * head_dim) -> (n_embd) */
    const float *bq, *bk, *bv;  /* q/k/v biases (qwen2) or NULL */
    const float *ffn_norm;      /* (n_embd) */
    weight w_gate;              /* (n_embd) -> (n_ff) */
    weight w_up;                /* (n_embd) -> (n_ff) */
    weight w_down;              /* (n_ff) -> (n_embd) */
} layer_weights;

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
} arch_hparams;

typedef struct model_arch {
    enum arch_kind kind;
    arch_hparams hp;
    weight tok_embd;            /* (n_embd) x n_vocab rows */
    const float *output_norm;   /* (n_embd) */
    weight output;              /* (n_embd) -> (n_vocab); tok_embd when tied */
    const float *rope_freqs;    /* (n_rot / 2) frequency divisors, or NULL */
    layer_weights *layers;      /* (n_layer) */
    int64_t n_params;           /* elements of all tensors */
    uint64_t weight_bytes;      /* bytes of all tensor data */
} model_arch;

/* Build the architecture named by general.architecture from the file. */
mote_status arch_load(const gguf_file *f, model_arch **out);
void arch_free(model_arch *a);

/* ------------------------------------------------------------------------
 * Forward pass
 * ---------------------------------------------------------------------- */

/* Everything a forward pass reads and writes besides the weights: the KV
 * cache and the scratch buffers, all owned by the session (engine layer)
 * and sized once at its creation for n_ctx positions and n_batch tokens. */
typedef struct forward_state {
    int n_ctx;          /* positions in the KV cache */
    int n_batch;        /* most tokens per forward call */
    uint32_t kv_type;   /* GGML_TYPE_F32, _F16 or _Q8_0: element type of the cache */
    size_t kv_row_bytes; /* bytes of one cache row (n_head_kv * head_dim elements) */
    void *k_cache;      /* (n_layer, n_ctx) rows of kv_row_bytes: keys after rope */
    void *v_cache;      /* (n_layer, n_ctx) rows of kv_row_bytes: values */
    float *x;           /* (n_batch, n_embd) residual stream */
    float *xb;          /* (n_batch, max(n_embd, n_head * head_dim)) normed input / attention output */
    float *q;           /* (n_batch, n_head * head_dim) */
    float *k;           /* (n_batch, n_head_kv * head_dim) */
    float *v;           /* (n_batch, n_head_kv * head_dim) */
    float *hb;          /* (n_batch, n_ff) */
    float *hb2;         /* (n_batch, n_ff) */
    float *tmp;         /* (n_batch, n_embd) block outputs before the residual add */
    float *rope_cs;     /* (n_batch, n_rot) cos/sin per token position */
    float *att;         /* F32 cache: (n_threads, n_ctx) attention scores per thread; else NULL */
    float *attn_part;   /* F16/Q8_0 cache: attention partials (model/attention.h); else NULL */
    attn_chunk_fn attn_kernel; /* F16/Q8_0 cache: the streaming attention kernel; else NULL */
    attn_exact_ops attn_exact; /* F32 cache: the products of exact attention */
    void *mm_scratch;   /* activations converted for matmul */
    mote_pool *pool;
} forward_state;

/* Bytes of scratch the forward pass needs for matmuls (for a state). */
size_t arch_matmul_scratch(const model_arch *a, int n_batch);

/* Run tokens[0..n) at positions pos..pos+n-1 (the cache holds 0..pos-1).
 * Writes logits (n_vocab floats per row) for the last token only
 * (all_logits = 0, one row) or for every token (n rows). */
void arch_forward(const model_arch *a, forward_state *st, const int32_t *tokens,
                  int n, int pos, int all_logits, float *logits);

#endif
