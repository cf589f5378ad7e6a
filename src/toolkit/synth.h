/*
 * synth.h — random-weight models with the exact shapes of real ones
 * (internal side of mote_synth in mote.h).
 *
 * A synthetic model is a plan plus seeded random data. The plan (synth_plan.c)
 * is what a real GGUF of the imitated model holds: the hyper-parameter keys
 * llama.cpp's converter writes, every tensor with its shape, and the tensor
 * type llama.cpp's quantizer would choose for the requested file type. The
 * data (synth.c) is drawn from a generator keyed by seed, tensor and row, so
 * a file is the same byte for byte whatever the thread count.
 *
 * Shapes come from the models' public config.json; tensor order and types
 * follow llama.cpp's llama-quantize (tensors sorted by layer, then by name;
 * llama_tensor_get_type's rules for the supported file types).
 */
#ifndef MOTE_TOOLKIT_SYNTH_H
#define MOTE_TOOLKIT_SYNTH_H

#include <stdint.h>

#include "gguf/gguf.h"
#include "mote_tools.h"

/* ------------------------------------------------------------------------
 * Model shapes
 * ---------------------------------------------------------------------- */

/* Which of llama.cpp's converter classes (convert_hf_to_gguf.py) writes the
 * hyper-parameter keys: they differ in which keys and in what order. */
enum synth_keys {
    KEYS_TEXT,  /* TextModel's (qwen2, qwen3, gemma3) */
    KEYS_LLAMA, /* LlamaModel's: TextModel's + vocab_size, rope.dimension_count
                 * (llama, granite, smollm3) */
    KEYS_PHI3,  /* Phi3MiniModel's own set, with LongRoPE's */
    KEYS_BERT,  /* BertModel's (bert, nomic-bert): TextModel's for a config.json
                 * without num_key_value_heads or rope_theta, LayerNorm's
                 * epsilon, then attention.causal, pooling_type and
                 * NomicBertModel's rope.freq_base */
};

typedef struct synth_shape {
    const char *name;        /* --like name, e.g. "llama-3.2-1b" */
    const char *about;       /* one line for the help */
    const char *arch;        /* general.architecture, e.g. "llama" */
    const char *title;       /* general.name before " (random weights)"; NULL = name */
    int n_embd;              /* hidden_size */
    int n_ff;                /* intermediate_size */
    int n_layer;             /* num_hidden_layers */
    int n_head;              /* num_attention_heads */
    int n_head_kv;           /* num_key_value_heads */
    int head_dim;            /* head_dim; 0 = n_embd / n_head */
    int n_ctx_train;         /* max_position_embeddings */
    float rope_base;         /* rope_theta */
    float norm_eps;          /* rms_norm_eps (layer_norm_eps for KEYS_BERT) */
    int tied;                /* no output.weight: tie_word_embeddings, or no
                              * LM head at all (embedding models) */
    int qkv_bias;            /* q/k/v projections have biases (qwen2) */
    enum synth_keys keys;    /* the converter class */
    int head_dim_keys;       /* config.json has head_dim: the converter writes
                              * attention.key_length / value_length */
    /* Llama 3.x rope scaling (rope_type "llama3"), written as rope_freqs. */
    float rope_factor;       /* factor; 0 = no scaling */
    float rope_low_freq;     /* low_freq_factor */
    float rope_high_freq;    /* high_freq_factor */
    int rope_orig_ctx;       /* original_max_position_embeddings (llama3, LongRoPE) */
    /* qwen3, gemma3 */
    int qk_norm;             /* RMS norm of each Q and K head: attn_q_norm, attn_k_norm */
    /* gemma3 */
    int post_norms;          /* post_attention_norm, post_ffw_norm */
    int sliding_window;      /* attention.sliding_window (phi3 writes it even when 0) */
    float rope_base_swa;     /* rope_local_base_freq: rope.freq_base_swa; 0 = no key */
    float softcap;           /* final_logit_softcapping; 0 = no key */
    /* phi3; nomic-bert fuses only Q, K and V */
    int fused_qkv;           /* attn_qkv: Q, K, V rows */
    int fused_up;            /* ffn_up: gate rows, then up rows; no ffn_gate */
    int rope_dims;           /* partial_rotary_factor * head_dim; 0 = head_dim */
    int longrope;            /* rope_factors_long/short (rope_dims / 2 each) */
    /* granite: the *_multiplier and logits_scaling of config.json; 0 = no key */
    float embedding_scale;   /* embedding_multiplier */
    float residual_scale;    /* residual_multiplier */
    float attention_scale;   /* attention_multiplier */
    float logit_scale;       /* logits_scaling */
    /* embedding models (bert, nomic-bert, gemma-embedding) */
    int pooling;             /* pooling_type (sentence-transformers' 1_Pooling):
                              * 1 mean, 2 CLS; 0 = no key */
    int post_ln;             /* BERT blocks: LayerNorms with biases after attention
                              * (attn_output_norm) and FFN (layer_output_norm), one
                              * on the input (token_embd_norm); no attn_norm,
                              * ffn_norm or output_norm */
    int linear_bias;         /* attn_output, ffn_up and ffn_down biases (bert) */
    int ungated;             /* FFN down(act(up x)): no ffn_gate (bert) */
    int token_types;         /* type_vocab_size: rows of token_types; 0 = none */
    int learned_pos;         /* position_embd of n_ctx_train rows, no rope (bert) */
    int dense;               /* dense_2 (n_embd -> dense) and dense_3 (dense ->
                              * n_embd) on the pooled vector; 0 = none */
} synth_shape;

/* Width of one attention head, and how many of its dimensions rope turns. */
int synth_head_dim(const synth_shape *s);
int synth_rope_dims(const synth_shape *s);

/* The shape called name, or NULL. */
const synth_shape *synth_find_shape(const char *name);
/* All shapes, in help order; *n receives the count. */
const synth_shape *synth_shapes(int *n);

/* ------------------------------------------------------------------------
 * File types (llama.cpp's llama_ftype values, stored as general.file_type)
 * ---------------------------------------------------------------------- */

enum synth_ftype {
    SYNTH_FTYPE_F16 = 1,
    SYNTH_FTYPE_Q4_0 = 2,
    SYNTH_FTYPE_Q8_0 = 7,
    SYNTH_FTYPE_Q4_K_M = 15,
    SYNTH_FTYPE_BF16 = 32,
    /* mote's own file types, far above llama_ftype's (41 in the llama.cpp
     * mote peers with): an FP8 file, every matrix FP8 (tensor/quant.h) */
    SYNTH_FTYPE_FP8 = MOTE_FTYPE_FP8,
};

/* "Q4_K_M" -> SYNTH_FTYPE_Q4_K_M; MOTE_E_INVALID naming the type otherwise. */
mote_status synth_parse_ftype(const char *name, uint32_t *ftype);
/* The name of a supported file type, or NULL. */
const char *synth_ftype_name(uint32_t ftype);

/* ------------------------------------------------------------------------
 * Tensors
 * ---------------------------------------------------------------------- */

/* What a tensor is for: decides its type and its values. */
enum synth_role {
    ROLE_TOKEN_EMBD,
    ROLE_OUTPUT,
    ROLE_ATTN_Q,
    ROLE_ATTN_K,
    ROLE_ATTN_V,
    ROLE_ATTN_QKV,   /* fused Q, K, V (phi3, nomic-bert): quantized like attn_v */
    ROLE_ATTN_OUT,
    ROLE_FFN_GATE,
    ROLE_FFN_UP,
    ROLE_FFN_DOWN,
    ROLE_DENSE,      /* dense_2, dense_3 (gemma-embedding): the file type's own */
    ROLE_POS_EMBD,   /* position_embd: F32 in every file type */
    ROLE_TOKEN_TYPES,/* token_types: F32 in every file type */
    ROLE_NORM,       /* 1-D, F32, all ones */
    ROLE_BIAS,       /* 1-D, F32, random */
    ROLE_ROPE_FREQS, /* 1-D, F32, Llama 3 rope factors */
    ROLE_ROPE_LONG,  /* 1-D, F32, LongRoPE factors past the original context */
    ROLE_ROPE_SHORT, /* 1-D, F32, LongRoPE factors within it */
};

typedef struct synth_tensor {
    char name[GGUF_MAX_NAME]; /* "blk.3.attn_v.weight" */
    enum synth_role role;
    int layer;                /* block index, -1 outside the blocks */
    uint32_t n_dims;          /* 1 or 2 */
    int64_t ne[2];            /* ne[0] = row length (input features), ne[1] = rows */
    uint32_t type;            /* enum ggml_type */
} synth_tensor;

/* Every tensor of the model, in file order: malloc'd array in *out (free
 * with free()), count in *n. n_layer overrides the shape's block count. */
mote_status synth_plan(const synth_shape *s, int n_layer, int64_t n_vocab, uint32_t ftype,
                       synth_tensor **out, int *n);

/* Llama 3 rope factors (head_dim / 2 floats), computed as llama.cpp's
 * converter does (convert_hf_to_gguf.py, LlamaModel), in float32. */
void synth_rope_factors(const synth_shape *s, float *out);

/* LongRoPE factors (rope_dims / 2 floats each), random but shaped like real
 * ones: increasing, short ones in [1, 2), long ones in [1, 40); the same
 * for the same seed. */
void synth_longrope_factors(const synth_shape *s, uint64_t seed, float *long_f, float *short_f);

/* LongRoPE's attention factor as the converter computes it (Phi3MiniModel):
 * sqrt(1 + ln(ctx / orig_ctx) / ln(orig_ctx)), 1 when not extended. */
float synth_longrope_attn_factor(const synth_shape *s);

#endif
