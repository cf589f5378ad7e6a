/*
 * quant_rules.c — llama.cpp's choice of tensor types for a file type
 * (src/llama-quant.cpp), for the architectures mote runs. The order of the
 * tests below is llama.cpp's, branch for branch: the first that matches
 * wins, and counters move only where llama.cpp moves them. Branches for
 * file types mote does not write (IQ1/IQ2/IQ3, TQ, MXFP4) and for the
 * falcon architecture are left out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/status.h"
#include "gguf/ggml_type.h"
#include "tensor/quant.h"
#include "toolkit/quant_rules.h"

/* ------------------------------------------------------------------------
 * File types (llama-quantize's names; llama_ftype_get_default_type)
 * ---------------------------------------------------------------------- */

static const struct {
    const char *name;
    uint32_t ftype;
    uint32_t base;     /* default tensor type */
    const char *about; /* NULL: an alias, not listed */
} ftypes[] = {
    {"Q4_0", QUANT_FTYPE_Q4_0, GGML_TYPE_Q4_0, "4.5 bits/weight: blocks of 32, one scale"},
    {"Q4_1", QUANT_FTYPE_Q4_1, GGML_TYPE_Q4_1, "5 bits/weight: blocks of 32, scale and min"},
    {"Q5_0", QUANT_FTYPE_Q5_0, GGML_TYPE_Q5_0, "5.5 bits/weight: blocks of 32, one scale"},
    {"Q5_1", QUANT_FTYPE_Q5_1, GGML_TYPE_Q5_1, "6 bits/weight: blocks of 32, scale and min"},
    {"IQ4_NL", QUANT_FTYPE_IQ4_NL, GGML_TYPE_IQ4_NL, "4.5 bits/weight: non-linear levels, blocks of 32"},
    {"IQ4_XS", QUANT_FTYPE_IQ4_XS, GGML_TYPE_IQ4_XS, "4.25 bits/weight: non-linear levels, blocks of 256"},
    {"Q2_K", QUANT_FTYPE_Q2_K, GGML_TYPE_Q2_K, "Q2_K mix: attn_v, ffn_down, attn_output Q3_K/Q4_K"},
    {"Q3_K_S", QUANT_FTYPE_Q3_K_S, GGML_TYPE_Q3_K, "Q3_K for every matrix (but the head)"},
    {"Q3_K_M", QUANT_FTYPE_Q3_K_M, GGML_TYPE_Q3_K, "Q3_K mix: attn_v, ffn_down, attn_output Q4_K/Q5_K"},
    {"Q3_K_L", QUANT_FTYPE_Q3_K_L, GGML_TYPE_Q3_K, "Q3_K mix: attn_v, ffn_down, attn_output Q5_K"},
    {"Q4_K_S", QUANT_FTYPE_Q4_K_S, GGML_TYPE_Q4_K, "Q4_K mix: a few attn_v, ffn_down Q5_K"},
    {"Q4_K_M", QUANT_FTYPE_Q4_K_M, GGML_TYPE_Q4_K, "Q4_K mix: half of attn_v and ffn_down Q6_K (the usual choice)"},
    {"Q5_K_S", QUANT_FTYPE_Q5_K_S, GGML_TYPE_Q5_K, "Q5_K for every matrix (but the head)"},
    {"Q5_K_M", QUANT_FTYPE_Q5_K_M, GGML_TYPE_Q5_K, "Q5_K mix: half of attn_v and ffn_down Q6_K"},
    {"Q6_K", QUANT_FTYPE_Q6_K, GGML_TYPE_Q6_K, "6.56 bits/weight, nearly lossless"},
    {"Q8_0", QUANT_FTYPE_Q8_0, GGML_TYPE_Q8_0, "8.5 bits/weight, practically lossless"},
    {"F16", QUANT_FTYPE_F16, GGML_TYPE_F16, "16-bit floats"},
    {"BF16", QUANT_FTYPE_BF16, GGML_TYPE_BF16, "bfloat16"},
    {"F32", QUANT_FTYPE_F32, GGML_TYPE_F32, "32-bit floats"},
    {"FP8", QUANT_FTYPE_FP8, MOTE_TYPE_FP8,
     "8.25 bits/weight: E4M3, a power-of-two scale per 32 (mote's own; llama.cpp cannot read it)"},
    /* llama-quantize's aliases: the _M mix of each K type */
    {"Q3_K", QUANT_FTYPE_Q3_K_M, GGML_TYPE_Q3_K, NULL},
    {"Q4_K", QUANT_FTYPE_Q4_K_M, GGML_TYPE_Q4_K, NULL},
    {"Q5_K", QUANT_FTYPE_Q5_K_M, GGML_TYPE_Q5_K, NULL},
};
#define N_FTYPES ((int)(sizeof ftypes / sizeof ftypes[0]))

int quant_ftype_at(int i, const char **name, const char **about)
{
    if (i < 0 || i >= N_FTYPES || !ftypes[i].about) return 0;
    *name = ftypes[i].name;
    *about = ftypes[i].about;
    return 1;
}

const char *quant_ftype_names(void)
{
    return "Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL, IQ4_XS, Q2_K, Q3_K_S, Q3_K_M, Q3_K_L, Q4_K_S, Q4_K_M, "
           "Q5_K_S, Q5_K_M, Q6_K, Q8_0, F16, BF16, F32";
}

mote_status quant_parse_ftype(const char *name, uint32_t *ftype, uint32_t *default_type)
{
    for (int i = 0; name && i < N_FTYPES; i++) {
        if (strcasecmp(ftypes[i].name, name) == 0) {
            *ftype = ftypes[i].ftype;
            if (default_type) *default_type = ftypes[i].base;
            return MOTE_OK;
        }
    }
    return mote_fail(MOTE_E_INVALID, "quantize: unknown type '%s' (%s)", name ? name : "(null)",
                     quant_ftype_names());
}

const char *quant_ftype_name(uint32_t ftype)
{
    for (int i = 0; i < N_FTYPES; i++)
        if (ftypes[i].ftype == ftype) return ftypes[i].name;
    return NULL;
}

static uint32_t ftype_base(uint32_t ftype)
{
    for (int i = 0; i < N_FTYPES; i++)
        if (ftypes[i].ftype == ftype) return ftypes[i].base;
    return QUANT_TYPE_NONE;
}

mote_status quant_parse_type(const char *name, uint32_t *type)
{
    for (uint32_t t = 0; name && t < MOTE_TYPE_COUNT; t++) {
        const ggml_type_traits *tr = ggml_type_get(t);
        if (tr && strcasecmp(tr->name, name) == 0 && tensor_type_supported(t) && tensor_quantizer(t)) {
            *type = t;
            return MOTE_OK;
        }
    }
    return mote_fail(MOTE_E_INVALID,
                     "quantize: unknown tensor type '%s' (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, "
                     "Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS, FP8)",
                     name ? name : "(null)");
}

int quant_type_is_quantized(uint32_t type)
{
    switch (type) {
    case GGML_TYPE_F32: case GGML_TYPE_F16: case GGML_TYPE_BF16: case GGML_TYPE_F64:
    case GGML_TYPE_I8: case GGML_TYPE_I16: case GGML_TYPE_I32: case GGML_TYPE_I64:
        return 0;
    default:
        return ggml_type_get(type) != NULL;
    }
}

/* ------------------------------------------------------------------------
 * Categories (tensor_get_category)
 * ---------------------------------------------------------------------- */

enum category {
    CAT_TOKEN_EMBD,
    CAT_ATTN_Q,
    CAT_ATTN_V,
    CAT_ATTN_K,
    CAT_ATTN_QKV,
    CAT_ATTN_KV_B,
    CAT_ATTN_OUTPUT,
    CAT_FFN_UP,
    CAT_FFN_GATE,
    CAT_FFN_DOWN,
    CAT_OUTPUT,
    CAT_OTHER,
};

static int has(const char *name, const char *part) { return strstr(name, part) != NULL; }

static enum category category_of(const char *name)
{
    if (strcmp(name, "output.weight") == 0) return CAT_OUTPUT;
    if (strcmp(name, "token_embd.weight") == 0 || strcmp(name, "per_layer_token_embd.weight") == 0)
        return CAT_TOKEN_EMBD;
    if (has(name, "attn_qkv.weight")) return CAT_ATTN_QKV;
    if (has(name, "attn_kv_b.weight")) return CAT_ATTN_KV_B;
    if (has(name, "attn_v.weight")) return CAT_ATTN_V;
    if (has(name, "attn_k.weight")) return CAT_ATTN_K;
    if (has(name, "attn_q.weight")) return CAT_ATTN_Q;
    if (has(name, "attn_output.weight")) return CAT_ATTN_OUTPUT;
    if (has(name, "ffn_up")) return CAT_FFN_UP;
    if (has(name, "ffn_gate")) return CAT_FFN_GATE;
    if (has(name, "ffn_down")) return CAT_FFN_DOWN;
    return CAT_OTHER;
}

/* attn_v and the fused tensors holding it: more sensitive to quantization. */
static int is_attn_v(enum category c) { return c == CAT_ATTN_V || c == CAT_ATTN_QKV || c == CAT_ATTN_KV_B; }

quant_model quant_model_of(const char *arch, int n_layer, int n_head, int n_head_kv, int n_expert)
{
    /* llama.cpp's load_arch_hparams: 80 blocks are a 70B for qwen2, and
     * for llama unless every head has its own KV (65B) or it has 8 experts. */
    int is_70b = n_layer == 80 && (strcmp(arch, "qwen2") == 0 ||
                                   (strcmp(arch, "llama") == 0 && n_head != n_head_kv && n_expert != 8));
    return (quant_model){.n_layer = n_layer,
                         .n_gqa = n_head_kv > 0 ? n_head / n_head_kv : 0,
                         .n_expert = n_expert > 1 ? n_expert : 0,
                         .is_70b = is_70b};
}

mote_status quant_rules_init(quant_rules *r, const quant_options *opt, const quant_model *model,
                             const char *const *names, int n)
{
    memset(r, 0, sizeof *r);
    r->opt = *opt;
    r->model = *model;
    r->default_type = ftype_base(opt->ftype);
    if (r->default_type == QUANT_TYPE_NONE)
        return mote_fail(MOTE_E_INVALID, "quantize: file type %u is not supported", opt->ftype);
    r->tied = 1; /* until output.weight is seen */
    for (int i = 0; i < n; i++) {
        enum category c = category_of(names[i]);
        if (is_attn_v(c)) r->n_attn_v++;
        if (c == CAT_OUTPUT) r->tied = 0;
    }
    r->n_ffn_down = r->n_ffn_gate = r->n_ffn_up = model->n_layer;
    return MOTE_OK;
}

/* ------------------------------------------------------------------------
 * May a tensor be quantized (tensor_allows_quantization)
 * ---------------------------------------------------------------------- */

/* Parts of names llama.cpp never quantizes: MoE routers, tiny tensors of
 * other families (AltUp, Laurel, RWKV, conv1d, indexers), relative
 * position biases, multimodal and audio tables. */
static const char *const keep_parts[] = {
    "_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel",
    "per_layer_model_proj", "ssm_conv1d", "shortconv.conv.weight", "indexer.k_proj.weight",
    "indexer.q_proj.weight", "time_mix_first.weight", "time_mix_w0.weight", "time_mix_w1.weight",
    "time_mix_w2.weight", "time_mix_v0.weight", "time_mix_v1.weight", "time_mix_v2.weight",
    "time_mix_a0.weight", "time_mix_a1.weight", "time_mix_a2.weight", "time_mix_g1.weight",
    "time_mix_g2.weight", "time_mix_decay_w1.weight", "time_mix_decay_w2.weight",
    "time_mix_lerp_fused.weight", "attn_rel_b.weight", ".position_embd", "sam.pos_embd", "sam.neck.",
    "sam.net_", ".rel_pos", ".patch_embd", ".patch_merger", "a.rvq.codebook", "mm.a.code_embd",
};

int quant_tensor_allows(const char *name, uint32_t n_dims)
{
    if (n_dims < 2) return 0;
    size_t len = strlen(name);
    /* name.rfind("weight") == name.size() - 6: also true of a 5-character
     * name without "weight" (npos == -1 == 5 - 6), as llama.cpp has it. */
    const char *last = NULL;
    for (const char *p = strstr(name, "weight"); p; p = strstr(p + 1, "weight")) last = p;
    int ends_weight = last ? (size_t)(last - name) == len - 6 : len == 5;
    if (!ends_weight) return 0;
    for (size_t i = 0; i < sizeof keep_parts / sizeof keep_parts[0]; i++)
        if (has(name, keep_parts[i])) return 0;
    return strcmp(name, "position_embd.weight") != 0 && strcmp(name, "token_types.weight") != 0;
}

/* ------------------------------------------------------------------------
 * The choice (llama_tensor_get_type_impl)
 * ---------------------------------------------------------------------- */

static int use_more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

/* The layer of a per-layer counter: the counter itself, or with experts
 * (whose tensors need not be consecutive) the number in the name. */
static mote_status layer_of(const quant_rules *r, int counter, const char *name, int *layer)
{
    *layer = counter;
    if (r->model.n_expert <= 1) return MOTE_OK;
    if (sscanf(name, "blk.%d.", layer) != 1)
        return mote_fail(MOTE_E_UNSUPPORTED, "quantize: cannot tell the layer of tensor '%s'", name);
    if (*layer < 0 || *layer >= r->model.n_layer)
        return mote_fail(MOTE_E_FORMAT, "quantize: tensor '%s': layer %d of %d", name, *layer,
                         r->model.n_layer);
    return MOTE_OK;
}

static uint32_t attn_v_type(quant_rules *r, uint32_t t)
{
    const uint32_t ft = r->opt.ftype;
    const int gqa4 = r->model.n_gqa >= 4;
    if (ft == QUANT_FTYPE_Q2_K) t = gqa4 ? GGML_TYPE_Q4_K : GGML_TYPE_Q3_K;
    else if (ft == QUANT_FTYPE_Q3_K_M) t = r->i_attn_v < 2 ? GGML_TYPE_Q5_K : GGML_TYPE_Q4_K;
    else if (ft == QUANT_FTYPE_Q3_K_L) t = GGML_TYPE_Q5_K;
    else if ((ft == QUANT_FTYPE_IQ4_NL || ft == QUANT_FTYPE_IQ4_XS) && gqa4) t = GGML_TYPE_Q5_K;
    else if ((ft == QUANT_FTYPE_Q4_K_M || ft == QUANT_FTYPE_Q5_K_M) && use_more_bits(r->i_attn_v, r->n_attn_v))
        t = GGML_TYPE_Q6_K;
    else if (ft == QUANT_FTYPE_Q4_K_S && r->i_attn_v < 4) t = GGML_TYPE_Q5_K;
    /* 70B: attn_v is 8x smaller than attn_q; more bits cost little. */
    if (r->model.is_70b && (t == GGML_TYPE_Q3_K || t == GGML_TYPE_Q4_K)) t = GGML_TYPE_Q5_K;
    if (r->model.n_expert == 8) t = GGML_TYPE_Q8_0;
    r->i_attn_v++;
    return t;
}

static mote_status ffn_down_type(quant_rules *r, const char *name, uint32_t *t)
{
    const uint32_t ft = r->opt.ftype;
    const int n = r->n_ffn_down;
    int i;
    MOTE_TRY(layer_of(r, r->i_ffn_down, name, &i));
    if (ft == QUANT_FTYPE_Q2_K) *t = GGML_TYPE_Q3_K;
    else if (ft == QUANT_FTYPE_Q3_K_M) *t = i < n / 16 ? GGML_TYPE_Q5_K : GGML_TYPE_Q4_K; /* not falcon */
    else if (ft == QUANT_FTYPE_Q3_K_L) *t = GGML_TYPE_Q5_K;
    else if (ft == QUANT_FTYPE_Q4_K_M) { if (use_more_bits(i, n)) *t = GGML_TYPE_Q6_K; }
    else if (i < n / 8 && (ft == QUANT_FTYPE_IQ4_NL || ft == QUANT_FTYPE_IQ4_XS) && !r->opt.has_imatrix)
        *t = GGML_TYPE_Q5_K;
    else if (ft == QUANT_FTYPE_Q5_K_M && use_more_bits(i, n)) *t = GGML_TYPE_Q6_K;
    else if (ft == QUANT_FTYPE_Q4_K_S && i < n / 8) *t = GGML_TYPE_Q5_K;
    else if ((ft == QUANT_FTYPE_Q4_0 || ft == QUANT_FTYPE_Q5_0) && r->opt.has_imatrix && i < n / 8)
        /* with an imatrix only, so a file without one stays as it always was */
        *t = ft == QUANT_FTYPE_Q4_0 ? GGML_TYPE_Q4_1 : GGML_TYPE_Q5_1;
    r->i_ffn_down++;
    return MOTE_OK;
}

static mote_status mix_type(quant_rules *r, const char *name, int64_t ne0, enum category c, uint32_t *type)
{
    const uint32_t ft = r->opt.ftype;
    uint32_t t = *type;
    int layer;
    if (c == CAT_OUTPUT || (r->tied && c == CAT_TOKEN_EMBD)) {
        /* The head (or the embeddings standing in for it) gets Q6_K. */
        if (r->opt.output_type != QUANT_TYPE_NONE) t = r->opt.output_type;
        else if (ne0 % ggml_type_get(t)->block_size != 0) t = GGML_TYPE_Q8_0;
        else if (t != GGML_TYPE_Q8_0) t = GGML_TYPE_Q6_K;
    } else if (c == CAT_TOKEN_EMBD) {
        if (r->opt.token_embd_type != QUANT_TYPE_NONE) t = r->opt.token_embd_type;
    } else if (is_attn_v(c)) {
        t = attn_v_type(r, t);
    } else if (c == CAT_ATTN_K) {
        if (r->model.n_expert == 8) t = GGML_TYPE_Q8_0;
    } else if (c == CAT_FFN_DOWN) {
        MOTE_TRY(ffn_down_type(r, name, &t));
    } else if (c == CAT_ATTN_OUTPUT) {
        if (r->model.n_expert == 8) {
            if (ft == QUANT_FTYPE_Q2_K || ft == QUANT_FTYPE_Q3_K_S || ft == QUANT_FTYPE_Q3_K_M ||
                ft == QUANT_FTYPE_IQ4_NL || ft == QUANT_FTYPE_Q4_K_S || ft == QUANT_FTYPE_Q4_K_M ||
                ft == QUANT_FTYPE_IQ4_XS)
                t = GGML_TYPE_Q5_K;
        } else if (ft == QUANT_FTYPE_Q2_K) t = GGML_TYPE_Q3_K;
        else if (ft == QUANT_FTYPE_Q3_K_M) t = GGML_TYPE_Q4_K;
        else if (ft == QUANT_FTYPE_Q3_K_L) t = GGML_TYPE_Q5_K;
    } else if (c == CAT_ATTN_QKV) {
        /* unreachable: is_attn_v takes attn_qkv first, as in llama.cpp */
    } else if (c == CAT_FFN_GATE) {
        MOTE_TRY(layer_of(r, r->i_ffn_gate, name, &layer));
        r->i_ffn_gate++;
    } else if (c == CAT_FFN_UP) {
        MOTE_TRY(layer_of(r, r->i_ffn_up, name, &layer));
        r->i_ffn_up++;
    }
    *type = t;
    return MOTE_OK;
}

/* tensor_type_fallback: rows that are not whole blocks of the choice take
 * a type of smaller blocks, else F16. */
static mote_status fallback(quant_rules *r, const char *name, int64_t ne0, uint32_t *type)
{
    const ggml_type_traits *tr = ggml_type_get(*type);
    if (ne0 % tr->block_size == 0) return MOTE_OK;
    r->n_fallback++;
    uint32_t t;
    switch (*type) {
    case GGML_TYPE_IQ1_S: case GGML_TYPE_IQ1_M: case GGML_TYPE_IQ2_XXS: case GGML_TYPE_IQ2_XS:
    case GGML_TYPE_IQ2_S: case GGML_TYPE_IQ3_XXS: case GGML_TYPE_IQ3_S: case GGML_TYPE_IQ4_XS:
        t = GGML_TYPE_IQ4_NL; break;
    case GGML_TYPE_Q2_K: case GGML_TYPE_Q3_K: case GGML_TYPE_TQ1_0: case GGML_TYPE_TQ2_0:
        t = GGML_TYPE_Q4_0; break;
    case GGML_TYPE_Q4_K: t = GGML_TYPE_Q5_0; break;
    case GGML_TYPE_Q5_K: t = GGML_TYPE_Q5_1; break;
    case GGML_TYPE_Q6_K: t = GGML_TYPE_Q8_0; break;
    default:
        if (tr->block_size > 32)
            return mote_fail(MOTE_E_UNSUPPORTED, "quantize: tensor '%s': no fallback for type %s", name,
                             tr->name);
        t = *type; /* a 32-block type: only F16 is left */
    }
    if (ne0 % ggml_type_get(t)->block_size != 0) t = GGML_TYPE_F16;
    *type = t;
    return MOTE_OK;
}

mote_status quant_tensor_type(quant_rules *r, const char *name, uint32_t n_dims, int64_t ne0,
                              uint32_t cur_type, uint32_t *type)
{
    *type = cur_type;
    if (!quant_tensor_allows(name, n_dims)) return MOTE_OK;
    const enum category c = category_of(name);
    /* The explicit types come first and take no fallback (llama_tensor_get_type). */
    if (r->opt.token_embd_type != QUANT_TYPE_NONE && c == CAT_TOKEN_EMBD) {
        *type = r->opt.token_embd_type;
        return MOTE_OK;
    }
    if (r->opt.output_type != QUANT_TYPE_NONE && c == CAT_OUTPUT) {
        *type = r->opt.output_type;
        return MOTE_OK;
    }
    uint32_t t = r->default_type;
    if (quant_type_is_quantized(t)) {
        /* FP8 is mote's own type: no llama.cpp mix to follow, every matrix
         * (the head too) is FP8. */
        if (!r->opt.pure && r->opt.ftype != QUANT_FTYPE_FP8) MOTE_TRY(mix_type(r, name, ne0, c, &t));
        MOTE_TRY(fallback(r, name, ne0, &t));
    }
    *type = t;
    return MOTE_OK;
}
