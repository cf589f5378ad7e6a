/*
 * quant_rules.h — which type each tensor of a model gets when quantized to
 * a file type: llama.cpp's rules (src/llama-quant.cpp: llama_tensor_get_type
 * and _impl, tensor_type_fallback, tensor_allows_quantization), for the
 * file types and architectures mote runs.
 *
 * The rules are stateful: some (attn_v, ffn_down in the _M mixes) depend on
 * how many tensors of a category came before, so a quant_rules is set up
 * once from all tensor names and then asked for each tensor in file order
 * (llama_model_loader's order: layer, then name), exactly once each.
 * mote quantize and mote synth both choose types through here.
 */
#ifndef MOTE_TOOLKIT_QUANT_RULES_H
#define MOTE_TOOLKIT_QUANT_RULES_H

#include <stdint.h>

#include "mote.h"

/* llama.cpp's llama_ftype values (llama.h), stored as general.file_type. */
enum quant_ftype {
    QUANT_FTYPE_F32 = 0,
    QUANT_FTYPE_F16 = 1,
    QUANT_FTYPE_Q4_0 = 2,
    QUANT_FTYPE_Q4_1 = 3,
    QUANT_FTYPE_Q8_0 = 7,
    QUANT_FTYPE_Q5_0 = 8,
    QUANT_FTYPE_Q5_1 = 9,
    QUANT_FTYPE_Q2_K = 10,
    QUANT_FTYPE_Q3_K_S = 11,
    QUANT_FTYPE_Q3_K_M = 12,
    QUANT_FTYPE_Q3_K_L = 13,
    QUANT_FTYPE_Q4_K_S = 14,
    QUANT_FTYPE_Q4_K_M = 15,
    QUANT_FTYPE_Q5_K_S = 16,
    QUANT_FTYPE_Q5_K_M = 17,
    QUANT_FTYPE_Q6_K = 18,
    QUANT_FTYPE_IQ4_NL = 25,
    QUANT_FTYPE_IQ4_XS = 30,
    QUANT_FTYPE_BF16 = 32,
    QUANT_FTYPE_FP8 = 128, /* mote's own (MOTE_FTYPE_FP8): every matrix FP8, no mix */
};

/* No type given (llama.cpp's GGML_TYPE_COUNT in its parameters). */
#define QUANT_TYPE_NONE UINT32_MAX

/* "Q4_K_M" (case-insensitive) -> its ftype and default tensor type
 * (llama_ftype_get_default_type); MOTE_E_INVALID listing the names. */
mote_status quant_parse_ftype(const char *name, uint32_t *ftype, uint32_t *default_type);
/* The name of a supported ftype ("Q4_K_M"), or NULL. */
const char *quant_ftype_name(uint32_t ftype);
/* The i-th listed ftype (aliases such as "Q4_K" are not listed): 1 with
 * its name and a line about it, 0 past the end. */
int quant_ftype_at(int i, const char **name, const char **about);
/* The supported ftype names, comma-separated (for help and messages). */
const char *quant_ftype_names(void);
/* A ggml type by name as llama-quantize's --output-type takes it ("q8_0",
 * case-insensitive), limited to types mote can write; MOTE_E_INVALID. */
mote_status quant_parse_type(const char *name, uint32_t *type);

/* What the rules need to know of the model (llama_hparams, llama_model). */
typedef struct quant_model {
    int n_layer;   /* <arch>.block_count */
    int n_gqa;     /* n_head / n_head_kv of layer 0 (0 when n_head_kv is 0) */
    int n_expert;  /* <arch>.expert_count, 0 for none */
    int is_70b;    /* llama.cpp's LLM_TYPE_70B (llama and qwen2 with 80 blocks) */
} quant_model;

/* The rules' view of a model with these hyper-parameters. */
quant_model quant_model_of(const char *arch, int n_layer, int n_head, int n_head_kv, int n_expert);

/* The options of llama_model_quantize_params that decide types. */
typedef struct quant_options {
    uint32_t ftype;            /* enum quant_ftype */
    int pure;                  /* every tensor the default type (no mix) */
    uint32_t output_type;      /* output.weight's type, or QUANT_TYPE_NONE */
    uint32_t token_embd_type;  /* token_embd.weight's type, or QUANT_TYPE_NONE */
    int has_imatrix;           /* an importance matrix is given */
} quant_options;

typedef struct quant_rules {
    quant_options opt;
    quant_model model;
    uint32_t default_type;  /* the ftype's base type */
    int tied;               /* no output.weight: token_embd is the head */
    /* quantize_state_impl's counters: tensors of a category in the model
     * (n_*) and seen so far (i_*) */
    int n_attn_v, n_ffn_down, n_ffn_gate, n_ffn_up;
    int i_attn_v, i_ffn_down, i_ffn_gate, i_ffn_up;
    int n_fallback;         /* tensors whose rows forced a fallback type */
} quant_rules;

/* Set up the rules for a model whose tensors are names[0..n) (in any
 * order; only the categories are counted). MOTE_E_INVALID for an ftype
 * the table lacks. */
mote_status quant_rules_init(quant_rules *r, const quant_options *opt, const quant_model *model,
                             const char *const *names, int n);

/* llama.cpp's tensor_allows_quantization: a weight matrix (2 or more dims
 * once trailing 1s are dropped) whose name ends in "weight" and is not a
 * norm, a position or token-type table, or one of the small tensors
 * llama.cpp keeps as they are. */
int quant_tensor_allows(const char *name, uint32_t n_dims);

/* The type of the next tensor in file order: its current type cur_type
 * when it may not be quantized, else the rules' choice for a tensor with
 * rows of ne0 elements. MOTE_E_UNSUPPORTED where llama.cpp has no
 * fallback either (or cannot tell an expert's layer). */
mote_status quant_tensor_type(quant_rules *r, const char *name, uint32_t n_dims, int64_t ne0,
                              uint32_t cur_type, uint32_t *type);

/* ggml_is_quantized: a block type (not F32, F16, BF16, F64 or integers). */
int quant_type_is_quantized(uint32_t type);

#endif
