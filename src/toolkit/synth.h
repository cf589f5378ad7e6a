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

typedef struct synth_shape {
    const char *name;        /* --like name, e.g. "llama-3.2-1b" */
    const char *about;       /* one line for the help */
    const char *arch;        /* general.architecture: "llama" or "qwen2" */
    int n_embd;              /* hidden_size */
    int n_ff;                /* intermediate_size */
    int n_layer;             /* num_hidden_layers */
    int n_head;              /* num_attention_heads */
    int n_head_kv;           /* num_key_value_heads */
    int n_ctx_train;         /* max_position_embeddings */
    float rope_base;         /* rope_theta */
    float norm_eps;          /* rms_norm_eps */
    int tied;                /* tie_word_embeddings: no output.weight */
    int qkv_bias;            /* q/k/v projections have biases (qwen2) */
    int head_dim_keys;       /* config.json has head_dim: the converter writes
                              * attention.key_length / value_length */
    int llama_keys;          /* llama converter: vocab_size and rope.dimension_count */
    /* Llama 3.x rope scaling (rope_type "llama3"), written as rope_freqs. */
    float rope_factor;       /* factor; 0 = no scaling */
    float rope_low_freq;     /* low_freq_factor */
    float rope_high_freq;    /* high_freq_factor */
    int rope_orig_ctx;       /* original_max_position_embeddings */
} synth_shape;

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
    ROLE_ATTN_OUT,
    ROLE_FFN_GATE,
    ROLE_FFN_UP,
    ROLE_FFN_DOWN,
    ROLE_NORM,       /* 1-D, F32, all ones */
    ROLE_BIAS,       /* 1-D, F32, random */
    ROLE_ROPE_FREQS, /* 1-D, F32, Llama 3 rope factors */
};

typedef struct synth_tensor {
    char name[GGUF_MAX_NAME]; /* "blk.3.attn_v.weight" */
    enum synth_role role;
    int layer;                /* block index, -1 outside the blocks */
    uint32_t n_dims;          /* 1 or 2 */
    int64_t ne[2];            /* ne[0] = row length (input features), ne[1] = rows */
    uint32_t type;            /* enum ggml_type */
} synth_tensor;

/* The type llama.cpp's quantizer gives a 2-D weight of this role in layer
 * `layer` of n_layer, with rows of ncols elements, for file type ftype. */
uint32_t synth_weight_type(uint32_t ftype, enum synth_role role, int layer, int n_layer, int tied,
                           int64_t ncols);

/* Every tensor of the model, in file order: malloc'd array in *out (free
 * with free()), count in *n. n_layer overrides the shape's block count. */
mote_status synth_plan(const synth_shape *s, int n_layer, int64_t n_vocab, uint32_t ftype,
                       synth_tensor **out, int *n);

/* Llama 3 rope factors (head_dim / 2 floats), computed as llama.cpp's
 * converter does (convert_hf_to_gguf.py, LlamaModel), in float32. */
void synth_rope_factors(const synth_shape *s, float *out);

#endif
