/*
 * synth_plan.c — what a synthetic model holds: the imitated models' shapes,
 * the tensors of a model and the type llama.cpp would give each one.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "gguf/ggml_type.h"
#include "toolkit/quant_rules.h"
#include "toolkit/synth.h"

/* ------------------------------------------------------------------------
 * Shapes (config.json of each model on Hugging Face)
 * ---------------------------------------------------------------------- */

static const synth_shape shapes[] = {
    /* meta-llama/Llama-3.2-1B: rope_scaling {rope_type llama3, factor 32,
     * low_freq_factor 1, high_freq_factor 4, original 8192}, head_dim 64. */
    {.name = "llama-3.2-1b", .about = "Llama 3.2 1B; tied, llama3 rope scaling (vocab: llama-bpe)",
     .arch = "llama", .n_embd = 2048, .n_ff = 8192, .n_layer = 16, .n_head = 32, .n_head_kv = 8,
     .n_ctx_train = 131072, .rope_base = 500000.0f, .norm_eps = 1e-5f, .tied = 1,
     .keys = KEYS_LLAMA, .head_dim_keys = 1, .rope_factor = 32.0f, .rope_low_freq = 1.0f,
     .rope_high_freq = 4.0f, .rope_orig_ctx = 8192},
    /* HuggingFaceTB/SmolLM2-135M */
    {.name = "smollm2-135m", .about = "SmolLM2 135M; llama, tied (vocab: starcoder has its 49152)", .arch = "llama",
     .n_embd = 576, .n_ff = 1536, .n_layer = 30, .n_head = 9, .n_head_kv = 3, .n_ctx_train = 8192,
     .rope_base = 100000.0f, .norm_eps = 1e-5f, .tied = 1, .keys = KEYS_LLAMA},
    /* Qwen/Qwen2.5-0.5B */
    {.name = "qwen2.5-0.5b", .about = "Qwen2.5 0.5B; q/k/v biases, tied (vocab: qwen2)",
     .arch = "qwen2", .n_embd = 896, .n_ff = 4864, .n_layer = 24, .n_head = 14, .n_head_kv = 2,
     .n_ctx_train = 32768, .rope_base = 1000000.0f, .norm_eps = 1e-6f, .tied = 1, .qkv_bias = 1},
    /* TinyLlama/TinyLlama-1.1B-Chat-v1.0 */
    {.name = "tinyllama-1.1b", .about = "TinyLlama 1.1B; llama, separate output (vocab: llama-spm)", .arch = "llama",
     .n_embd = 2048, .n_ff = 5632, .n_layer = 22, .n_head = 32, .n_head_kv = 4, .n_ctx_train = 2048,
     .rope_base = 10000.0f, .norm_eps = 1e-5f, .keys = KEYS_LLAMA},
    /* Qwen/Qwen3-0.6B, Qwen3-1.7B: head_dim 128 (Q is 16 * 128 wide, not
     * n_embd), rope_scaling null. */
    {.name = "qwen3-0.6b", .about = "Qwen3 0.6B; q/k norms, head_dim 128, tied (vocab: qwen2)",
     .arch = "qwen3", .n_embd = 1024, .n_ff = 3072, .n_layer = 28, .n_head = 16, .n_head_kv = 8,
     .head_dim = 128, .n_ctx_train = 40960, .rope_base = 1000000.0f, .norm_eps = 1e-6f, .tied = 1,
     .head_dim_keys = 1, .qk_norm = 1},
    {.name = "qwen3-1.7b", .about = "Qwen3 1.7B; q/k norms, tied (vocab: qwen2)",
     .arch = "qwen3", .n_embd = 2048, .n_ff = 6144, .n_layer = 28, .n_head = 16, .n_head_kv = 8,
     .head_dim = 128, .n_ctx_train = 40960, .rope_base = 1000000.0f, .norm_eps = 1e-6f, .tied = 1,
     .head_dim_keys = 1, .qk_norm = 1},
    /* google/gemma-3-1b-it, gemma-3-270m: sliding_window 512 on 5 layers of
     * 6 (llama.cpp's default pattern; the converter writes no pattern key),
     * rope_local_base_freq 10000, final_logit_softcapping null (no key:
     * llama.cpp then applies none). Widths 1152 and 640 are not whole
     * 256-blocks: K-quant rows of that length fall back. */
    {.name = "gemma-3-1b", .about = "Gemma 3 1B; sliding window, q/k and post norms (vocab: gemma-4)",
     .arch = "gemma3", .n_embd = 1152, .n_ff = 6912, .n_layer = 26, .n_head = 4, .n_head_kv = 1,
     .head_dim = 256, .n_ctx_train = 32768, .rope_base = 1000000.0f, .norm_eps = 1e-6f, .tied = 1,
     .head_dim_keys = 1, .qk_norm = 1, .post_norms = 1, .sliding_window = 512,
     .rope_base_swa = 10000.0f},
    {.name = "gemma-3-270m", .about = "Gemma 3 270M; as gemma-3-1b, width 640 (vocab: gemma-4)",
     .arch = "gemma3", .n_embd = 640, .n_ff = 2048, .n_layer = 18, .n_head = 4, .n_head_kv = 1,
     .head_dim = 256, .n_ctx_train = 32768, .rope_base = 1000000.0f, .norm_eps = 1e-6f, .tied = 1,
     .head_dim_keys = 1, .qk_norm = 1, .post_norms = 1, .sliding_window = 512,
     .rope_base_swa = 10000.0f},
    /* microsoft/Phi-4-mini-instruct: partial_rotary_factor 0.75, rope_scaling
     * {type longrope, 48 long and short factors}, original context 4096,
     * sliding_window 262144 (written; llama.cpp ignores it for phi3). */
    {.name = "phi-4-mini", .about = "Phi-4-mini; fused qkv, gate+up; LongRoPE (vocab: qwen2 is nearest)",
     .arch = "phi3", .n_embd = 3072, .n_ff = 8192, .n_layer = 32, .n_head = 24, .n_head_kv = 8,
     .n_ctx_train = 131072, .rope_base = 10000.0f, .norm_eps = 1e-5f, .tied = 1, .keys = KEYS_PHI3,
     .rope_orig_ctx = 4096, .sliding_window = 262144, .fused_qkv = 1, .fused_up = 1, .rope_dims = 96,
     .longrope = 1},
    /* ibm-granite/granite-3.3-2b-instruct (vocab_size 49159) */
    {.name = "granite-3.3-2b", .about = "Granite 3.3 2B; llama with scales (vocab: starcoder is nearest)",
     .arch = "granite", .n_embd = 2048, .n_ff = 8192, .n_layer = 40, .n_head = 32, .n_head_kv = 8,
     .n_ctx_train = 131072, .rope_base = 10000000.0f, .norm_eps = 1e-5f, .tied = 1,
     .keys = KEYS_LLAMA, .embedding_scale = 12.0f, .residual_scale = 0.22f,
     .attention_scale = 0.015625f, .logit_scale = 8.0f},
    /* HuggingFaceTB/SmolLM3-3B: no rope in every 4th layer (llama.cpp knows
     * it by the architecture; no key). */
    {.name = "smollm3-3b", .about = "SmolLM3 3B; llama with NoPE layers, tied (vocab: llama-bpe)",
     .arch = "smollm3", .n_embd = 2048, .n_ff = 11008, .n_layer = 36, .n_head = 16, .n_head_kv = 4,
     .n_ctx_train = 65536, .rope_base = 5000000.0f, .norm_eps = 1e-6f, .tied = 1,
     .keys = KEYS_LLAMA},
    /* Embedding models. None has an LM head (tied = 1: no output.weight,
     * so llama-quantize gives token_embd the head's type) and their
     * pooling comes from sentence-transformers' 1_Pooling/config.json.
     * sentence-transformers/all-MiniLM-L6-v2: BertModel, hidden_act gelu,
     * max_position_embeddings 512, type_vocab_size 2, layer_norm_eps 1e-12,
     * vocab_size 30522 (bert-base-uncased's WordPiece, as bge's), mean
     * pooling. */
    {.name = "all-minilm-l6", .about = "all-MiniLM-L6-v2; bert, mean pooling (vocab: bert-bge)",
     .arch = "bert", .title = "all-MiniLM-L6-v2", .n_embd = 384, .n_ff = 1536, .n_layer = 6,
     .n_head = 12, .n_head_kv = 12, .n_ctx_train = 512, .norm_eps = 1e-12f, .tied = 1,
     .qkv_bias = 1, .keys = KEYS_BERT, .pooling = 1, .post_ln = 1, .linear_bias = 1, .ungated = 1,
     .token_types = 2, .learned_pos = 1},
    /* BAAI/bge-small-en-v1.5: as all-MiniLM-L6-v2 with 12 layers, CLS
     * pooling (shared/vocab's bert-bge is its tokenizer). */
    {.name = "bge-small-en-v1.5", .about = "BGE small en v1.5; bert, CLS pooling (vocab: bert-bge)",
     .arch = "bert", .title = "bge-small-en-v1.5", .n_embd = 384, .n_ff = 1536, .n_layer = 12,
     .n_head = 12, .n_head_kv = 12, .n_ctx_train = 512, .norm_eps = 1e-12f, .tied = 1,
     .qkv_bias = 1, .keys = KEYS_BERT, .pooling = 2, .post_ln = 1, .linear_bias = 1, .ungated = 1,
     .token_types = 2, .learned_pos = 1},
    /* nomic-ai/nomic-embed-text-v1.5: NomicBertModel, n_embd 768, n_inner
     * 3072, activation_function swiglu, no qkv/mlp biases, rotary_emb_base
     * 1000 (fraction 1, not interleaved), type_vocab_size 2,
     * layer_norm_epsilon 1e-12, vocab_size 30528 (the converter keeps the
     * tokenizer's 30522 rows). n_positions is 8192, but the converter
     * writes context_length 2048 (max_trained_positions: "trained for 2048
     * tokens"). Mean pooling. */
    {.name = "nomic-embed-text-v1.5", .about = "nomic-embed-text v1.5; fused qkv, rope, SwiGLU (vocab: bert-bge)",
     .arch = "nomic-bert", .title = "nomic-embed-text-v1.5", .n_embd = 768, .n_ff = 3072,
     .n_layer = 12, .n_head = 12, .n_head_kv = 12, .n_ctx_train = 2048, .rope_base = 1000.0f,
     .norm_eps = 1e-12f, .tied = 1, .fused_qkv = 1, .keys = KEYS_BERT, .pooling = 1, .post_ln = 1,
     .token_types = 2},
    /* google/embeddinggemma-300m: Gemma3TextModel, use_bidirectional_attention,
     * head_dim 256, max_position_embeddings 2048, rope_theta 1e6,
     * rope_local_base_freq 10000 (no key: llama.cpp's default is the same),
     * sliding_window 512 as the converter writes it (symmetric in
     * llama.cpp), final_logit_softcapping null; sentence-transformers'
     * 2_Dense 768 -> 3072 and 3_Dense 3072 -> 768 without biases, mean
     * pooling. vocab_size 262144: gemma-4's vocabulary has as many. n_ff
     * 1152 is 4.5 x 256: K-quant rows of ffn_down fall back. */
    {.name = "embeddinggemma-300m", .about = "EmbeddingGemma 300M; gemma3 both ways, dense layers (vocab: gemma-4)",
     .arch = "gemma-embedding", .n_embd = 768, .n_ff = 1152, .n_layer = 24, .n_head = 3,
     .n_head_kv = 1, .head_dim = 256, .n_ctx_train = 2048, .rope_base = 1000000.0f,
     .norm_eps = 1e-6f, .tied = 1, .head_dim_keys = 1, .qk_norm = 1, .post_norms = 1,
     .sliding_window = 512, .pooling = 1, .dense = 3072},
    /* Small shapes for tests: each exercises one path of the plan. */
    {.name = "tiny-llama", .about = "test shape: llama, separate output, 8 layers, width 256",
     .arch = "llama", .n_embd = 256, .n_ff = 256, .n_layer = 8, .n_head = 4, .n_head_kv = 2,
     .n_ctx_train = 2048, .rope_base = 10000.0f, .norm_eps = 1e-5f, .keys = KEYS_LLAMA},
    {.name = "tiny-llama3", .about = "test shape: llama, tied, llama3 rope scaling",
     .arch = "llama", .n_embd = 256, .n_ff = 768, .n_layer = 2, .n_head = 4, .n_head_kv = 2,
     .n_ctx_train = 4096, .rope_base = 500000.0f, .norm_eps = 1e-5f, .tied = 1,
     .keys = KEYS_LLAMA, .head_dim_keys = 1, .rope_factor = 32.0f, .rope_low_freq = 1.0f,
     .rope_high_freq = 4.0f, .rope_orig_ctx = 8192},
    {.name = "tiny-qwen2", .about = "test shape: qwen2, tied, width 320 (K-quant fallbacks)",
     .arch = "qwen2", .n_embd = 320, .n_ff = 768, .n_layer = 2, .n_head = 5, .n_head_kv = 1,
     .n_ctx_train = 1024, .rope_base = 1000000.0f, .norm_eps = 1e-6f, .tied = 1, .qkv_bias = 1},
    /* The next five have the shapes and keys of shared/models/archs/synth-*
     * (the reference team's fixtures for these architectures). */
    {.name = "tiny-qwen3", .about = "test shape: qwen3, head_dim 128 (Q wider than n_embd), tied",
     .arch = "qwen3", .n_embd = 256, .n_ff = 256, .n_layer = 2, .n_head = 4, .n_head_kv = 2,
     .head_dim = 128, .n_ctx_train = 512, .rope_base = 1000000.0f, .norm_eps = 1e-6f, .tied = 1,
     .head_dim_keys = 1, .qk_norm = 1},
    {.name = "tiny-gemma3", .about = "test shape: gemma3, 6 layers (5 with window 32), softcap 30",
     .arch = "gemma3", .n_embd = 256, .n_ff = 256, .n_layer = 6, .n_head = 4, .n_head_kv = 1,
     .head_dim = 64, .n_ctx_train = 512, .rope_base = 1000000.0f, .norm_eps = 1e-6f, .tied = 1,
     .head_dim_keys = 1, .qk_norm = 1, .post_norms = 1, .sliding_window = 32, .softcap = 30.0f},
    /* general.name without "phi3": llama.cpp gives a model so named phi-3's
     * special-token attributes, and fails to load when the vocabulary has
     * no <|endoftext|> (llama-vocab.cpp), as stories260K's has not. */
    {.name = "tiny-phi3", .about = "test shape: phi3, fused, partial LongRoPE, separate output",
     .arch = "phi3", .title = "tiny-phi", .n_embd = 256, .n_ff = 512, .n_layer = 2, .n_head = 4,
     .n_head_kv = 2, .n_ctx_train = 1024, .rope_base = 10000.0f, .norm_eps = 1e-5f,
     .keys = KEYS_PHI3, .rope_orig_ctx = 256, .fused_qkv = 1, .fused_up = 1, .rope_dims = 32,
     .longrope = 1},
    {.name = "tiny-granite", .about = "test shape: granite, the four scales, tied",
     .arch = "granite", .n_embd = 256, .n_ff = 512, .n_layer = 2, .n_head = 4, .n_head_kv = 2,
     .n_ctx_train = 512, .rope_base = 10000.0f, .norm_eps = 1e-5f, .tied = 1, .keys = KEYS_LLAMA,
     .embedding_scale = 12.0f, .residual_scale = 0.22f, .attention_scale = 0.015625f,
     .logit_scale = 8.0f},
    {.name = "tiny-smollm3", .about = "test shape: smollm3, 4 layers (layer 3 without rope), tied",
     .arch = "smollm3", .n_embd = 256, .n_ff = 256, .n_layer = 4, .n_head = 4, .n_head_kv = 2,
     .n_ctx_train = 512, .rope_base = 5000000.0f, .norm_eps = 1e-6f, .tied = 1, .keys = KEYS_LLAMA},
    {.name = "tiny-bert", .about = "test shape: bert, width 128, 2 layers, mean pooling",
     .arch = "bert", .n_embd = 128, .n_ff = 512, .n_layer = 2, .n_head = 4, .n_head_kv = 4,
     .n_ctx_train = 512, .norm_eps = 1e-12f, .tied = 1, .qkv_bias = 1, .keys = KEYS_BERT,
     .pooling = 1, .post_ln = 1, .linear_bias = 1, .ungated = 1, .token_types = 2, .learned_pos = 1},
};
#define N_SHAPES ((int)(sizeof shapes / sizeof shapes[0]))

const synth_shape *synth_shapes(int *n)
{
    *n = N_SHAPES;
    return shapes;
}

int synth_head_dim(const synth_shape *s)
{
    return s->head_dim ? s->head_dim : s->n_embd / s->n_head;
}

int synth_rope_dims(const synth_shape *s)
{
    return s->rope_dims ? s->rope_dims : synth_head_dim(s);
}

const synth_shape *synth_find_shape(const char *name)
{
    for (int i = 0; name && i < N_SHAPES; i++)
        if (strcmp(shapes[i].name, name) == 0) return &shapes[i];
    return NULL;
}

/* ------------------------------------------------------------------------
 * File types
 * ---------------------------------------------------------------------- */

static const struct {
    const char *name;
    uint32_t ftype; /* llama_ftype */
} ftypes[] = {
    {"F16", SYNTH_FTYPE_F16},   {"BF16", SYNTH_FTYPE_BF16},     {"Q8_0", SYNTH_FTYPE_Q8_0},
    {"Q4_0", SYNTH_FTYPE_Q4_0}, {"Q4_K_M", SYNTH_FTYPE_Q4_K_M}, {"FP8", SYNTH_FTYPE_FP8},
};
#define N_FTYPES ((int)(sizeof ftypes / sizeof ftypes[0]))

mote_status synth_parse_ftype(const char *name, uint32_t *ftype)
{
    for (int i = 0; name && i < N_FTYPES; i++) {
        if (strcmp(ftypes[i].name, name) == 0) {
            *ftype = ftypes[i].ftype;
            return MOTE_OK;
        }
    }
    return mote_fail(MOTE_E_INVALID, "synth: unknown type '%s' (F16, BF16, Q8_0, Q4_0, Q4_K_M, FP8)",
                     name ? name : "(null)");
}

const char *synth_ftype_name(uint32_t ftype)
{
    for (int i = 0; i < N_FTYPES; i++)
        if (ftypes[i].ftype == ftype) return ftypes[i].name;
    return NULL;
}

/* ------------------------------------------------------------------------
 * The tensor list
 * ---------------------------------------------------------------------- */

typedef struct plan_builder {
    synth_tensor *t; /* tensors so far */
    int n;           /* count */
    int cap;         /* slots */
} plan_builder;

static void add(plan_builder *b, enum synth_role role, int layer, const char *name, int64_t ne0,
                int64_t ne1)
{
    synth_tensor *t = &b->t[b->n++];
    if (layer >= 0) snprintf(t->name, sizeof t->name, "blk.%d.%s", layer, name);
    else snprintf(t->name, sizeof t->name, "%s", name);
    t->role = role;
    t->layer = layer;
    t->n_dims = ne1 > 0 ? 2 : 1;
    t->ne[0] = ne0;
    t->ne[1] = ne1 > 0 ? ne1 : 1;
}

/* llama.cpp's weight_name_comparer: by block index (-1 outside blocks),
 * then by name. llama-quantize writes tensors in this order. */
static int cmp_tensor(const void *pa, const void *pb)
{
    const synth_tensor *a = pa, *b = pb;
    if (a->layer != b->layer) return a->layer < b->layer ? -1 : 1;
    return strcmp(a->name, b->name);
}

/* The types llama-quantize gives the tensors of an F32 model (norms and
 * other 1-D tensors stay F32), chosen in file order as it does. */
static mote_status choose_types(const synth_shape *s, int n_layer, uint32_t ftype, synth_tensor *t, int n)
{
    const char **names = malloc((size_t)n * sizeof *names);
    if (!names) return mote_fail(MOTE_E_NOMEM, "synth: out of memory");
    for (int i = 0; i < n; i++) names[i] = t[i].name;
    const quant_options opt = {.ftype = ftype, .output_type = QUANT_TYPE_NONE,
                               .token_embd_type = QUANT_TYPE_NONE};
    const quant_model model = quant_model_of(s->arch, n_layer, s->n_head, s->n_head_kv, 0);
    quant_rules r;
    mote_status st = quant_rules_init(&r, &opt, &model, names, n);
    for (int i = 0; st == MOTE_OK && i < n; i++)
        st = quant_tensor_type(&r, t[i].name, t[i].n_dims, t[i].ne[0], GGML_TYPE_F32, &t[i].type);
    free(names);
    return st;
}

mote_status synth_plan(const synth_shape *s, int n_layer, int64_t n_vocab, uint32_t ftype,
                       synth_tensor **out, int *n)
{
    *out = NULL;
    *n = 0;
    if (!synth_ftype_name(ftype)) return mote_fail(MOTE_E_INVALID, "synth: bad file type %u", ftype);
    if (n_layer < 1 || n_layer > 4096)
        return mote_fail(MOTE_E_INVALID, "synth: layer count %d out of range", n_layer);
    if (n_vocab < 1 || n_vocab > (1 << 24))
        return mote_fail(MOTE_E_INVALID, "synth: vocabulary of %lld tokens", (long long)n_vocab);
    const int64_t hd = synth_head_dim(s);
    const int64_t q_dim = s->n_head * hd, kv_dim = s->n_head_kv * hd;

    plan_builder b = {.cap = 16 + 24 * n_layer}; /* more than any shape has */
    b.t = calloc((size_t)b.cap, sizeof *b.t);
    if (!b.t) return mote_fail(MOTE_E_NOMEM, "synth: out of memory");

    add(&b, ROLE_TOKEN_EMBD, -1, "token_embd.weight", s->n_embd, n_vocab);
    if (!s->post_ln) add(&b, ROLE_NORM, -1, "output_norm.weight", s->n_embd, 0);
    if (!s->tied) add(&b, ROLE_OUTPUT, -1, "output.weight", s->n_embd, n_vocab);
    if (s->rope_factor > 0.0f) add(&b, ROLE_ROPE_FREQS, -1, "rope_freqs.weight", hd / 2, 0);
    if (s->longrope) {
        /* One pair for all blocks: no blk. prefix (llama.cpp duplicates it). */
        add(&b, ROLE_ROPE_LONG, -1, "rope_factors_long.weight", synth_rope_dims(s) / 2, 0);
        add(&b, ROLE_ROPE_SHORT, -1, "rope_factors_short.weight", synth_rope_dims(s) / 2, 0);
    }
    if (s->post_ln) {
        add(&b, ROLE_NORM, -1, "token_embd_norm.weight", s->n_embd, 0);
        add(&b, ROLE_BIAS, -1, "token_embd_norm.bias", s->n_embd, 0);
    }
    if (s->token_types) add(&b, ROLE_TOKEN_TYPES, -1, "token_types.weight", s->n_embd, s->token_types);
    if (s->learned_pos) add(&b, ROLE_POS_EMBD, -1, "position_embd.weight", s->n_embd, s->n_ctx_train);
    if (s->dense) {
        add(&b, ROLE_DENSE, -1, "dense_2.weight", s->n_embd, s->dense);
        add(&b, ROLE_DENSE, -1, "dense_3.weight", s->dense, s->n_embd);
    }
    for (int il = 0; il < n_layer; il++) {
        if (!s->post_ln) add(&b, ROLE_NORM, il, "attn_norm.weight", s->n_embd, 0);
        if (s->fused_qkv) {
            add(&b, ROLE_ATTN_QKV, il, "attn_qkv.weight", s->n_embd, q_dim + 2 * kv_dim);
        } else {
            add(&b, ROLE_ATTN_Q, il, "attn_q.weight", s->n_embd, q_dim);
            add(&b, ROLE_ATTN_K, il, "attn_k.weight", s->n_embd, kv_dim);
            add(&b, ROLE_ATTN_V, il, "attn_v.weight", s->n_embd, kv_dim);
        }
        add(&b, ROLE_ATTN_OUT, il, "attn_output.weight", q_dim, s->n_embd);
        if (s->qkv_bias) {
            add(&b, ROLE_BIAS, il, "attn_q.bias", q_dim, 0);
            add(&b, ROLE_BIAS, il, "attn_k.bias", kv_dim, 0);
            add(&b, ROLE_BIAS, il, "attn_v.bias", kv_dim, 0);
        }
        if (s->linear_bias) add(&b, ROLE_BIAS, il, "attn_output.bias", s->n_embd, 0);
        if (s->qk_norm) {
            add(&b, ROLE_NORM, il, "attn_q_norm.weight", hd, 0);
            add(&b, ROLE_NORM, il, "attn_k_norm.weight", hd, 0);
        }
        if (s->post_norms) {
            add(&b, ROLE_NORM, il, "post_attention_norm.weight", s->n_embd, 0);
            add(&b, ROLE_NORM, il, "post_ffw_norm.weight", s->n_embd, 0);
        }
        if (s->post_ln) {
            add(&b, ROLE_NORM, il, "attn_output_norm.weight", s->n_embd, 0);
            add(&b, ROLE_BIAS, il, "attn_output_norm.bias", s->n_embd, 0);
            add(&b, ROLE_NORM, il, "layer_output_norm.weight", s->n_embd, 0);
            add(&b, ROLE_BIAS, il, "layer_output_norm.bias", s->n_embd, 0);
        } else {
            add(&b, ROLE_NORM, il, "ffn_norm.weight", s->n_embd, 0);
        }
        if (s->fused_up) {
            add(&b, ROLE_FFN_UP, il, "ffn_up.weight", s->n_embd, 2 * (int64_t)s->n_ff);
        } else {
            if (!s->ungated) add(&b, ROLE_FFN_GATE, il, "ffn_gate.weight", s->n_embd, s->n_ff);
            add(&b, ROLE_FFN_UP, il, "ffn_up.weight", s->n_embd, s->n_ff);
        }
        add(&b, ROLE_FFN_DOWN, il, "ffn_down.weight", s->n_ff, s->n_embd);
        if (s->linear_bias) {
            add(&b, ROLE_BIAS, il, "ffn_up.bias", s->n_ff, 0);
            add(&b, ROLE_BIAS, il, "ffn_down.bias", s->n_embd, 0);
        }
    }
    qsort(b.t, (size_t)b.n, sizeof *b.t, cmp_tensor);

    mote_status st = choose_types(s, n_layer, ftype, b.t, b.n);
    if (st != MOTE_OK) {
        free(b.t);
        return st;
    }
    *out = b.t;
    *n = b.n;
    return MOTE_OK;
}

/* ------------------------------------------------------------------------
 * Llama 3 rope scaling
 * ---------------------------------------------------------------------- */

/* Per frequency of the head: wavelengths shorter than original_ctx /
 * high_freq_factor keep factor 1, longer than original_ctx /
 * low_freq_factor are divided by `factor`, and those between blend the two
 * smoothly. The converter computes in float32 tensors; so does this (its
 * pow may differ from torch's in the last bit of a blended factor). */
void synth_rope_factors(const synth_shape *s, float *out)
{
    const int dim = synth_head_dim(s);
    const float two_pi = (float)(2.0 * M_PI);
    const float low_wavelen = (float)s->rope_orig_ctx / s->rope_low_freq;
    const float high_wavelen = (float)s->rope_orig_ctx / s->rope_high_freq;
    for (int i = 0; i < dim / 2; i++) {
        float freq = 1.0f / powf(s->rope_base, (float)(2 * i) / (float)dim);
        float wavelen = two_pi / freq;
        if (wavelen < high_wavelen) {
            out[i] = 1.0f;
        } else if (wavelen > low_wavelen) {
            out[i] = s->rope_factor;
        } else {
            float smooth = ((float)s->rope_orig_ctx / wavelen - s->rope_low_freq) /
                           (s->rope_high_freq - s->rope_low_freq);
            out[i] = 1.0f / ((1.0f - smooth) / s->rope_factor + smooth);
        }
    }
}

/* ------------------------------------------------------------------------
 * LongRoPE (phi3)
 * ---------------------------------------------------------------------- */

/* In double, as the converter's Python does, then stored as float32. */
float synth_longrope_attn_factor(const synth_shape *s)
{
    const double scale = (double)s->n_ctx_train / s->rope_orig_ctx;
    if (scale <= 1.0) return 1.0f;
    return (float)sqrt(1.0 + log(scale) / log((double)s->rope_orig_ctx));
}
