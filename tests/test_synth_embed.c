/*
 * test_synth_embed.c — synthetic embedding models: bert, nomic-bert and
 * gemma-embedding (src/toolkit; test_synth.c and test_synth_archs.c cover
 * the generators).
 *
 * - Plans of the real shapes (no file written): every tensor llama.cpp's
 *   loaders read, with its shape, and the type llama-quantize gives it:
 *   position_embd and token_types stay F32, the token embeddings take the
 *   type of the output head none of them has, nomic's fused attn_qkv
 *   counts as an attn_v (use_more_bits), EmbeddingGemma's n_ff of 1152
 *   falls back from K-quants.
 * - The keys BertModel, NomicBertModel and EmbeddingGemma's converters
 *   write, with the real shapes' values, in one-block files.
 * - Against the reference team's fixtures shared/models/embed/synth-*
 *   (the goldens' models, llama-quantize --pure for Q8_0), made with the
 *   same vocabularies: the same tensor names in the same order, the same
 *   dimensions and types, and no key the fixture lacks.
 * - Every shape written with few blocks opens as an embedding model with
 *   its pooling, and an embedder gives finite unit vectors of n_embd
 *   floats, different for different texts; the same seed gives the same
 *   bytes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf.h"
#include "mote_tools.h"
#include "testutil.h"
#include "toolkit/synth.h"

#define BERT_VOCAB "vocab/ggml-vocab-bert-bge.gguf" /* 30522 WordPiece tokens, bge's */
#define SMALL_VOCAB "models/stories260K.gguf"       /* 512 tokens, as synth-gemma-embed */

/* ------------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------- */

static char *temp_path(void) { return test_temp_file("mote-synth-embed"); }

static void synth_ok(const char *out, const char *like, const char *type, const char *vocab_rel,
                     int n_layer, uint64_t seed, int threads)
{
    char vocab[4096];
    snprintf(vocab, sizeof vocab, "%s", shared_path(vocab_rel));
    mote_synth_params p = mote_synth_default_params();
    p.like = like;
    p.type = type;
    p.vocab_path = vocab;
    p.out_path = out;
    p.n_layer = n_layer;
    p.seed = seed;
    p.n_threads = threads;
    if (mote_synth(&p) != MOTE_OK) fail_msg("synth %s %s: %s", like, type, mote_last_error());
}

static synth_tensor *plan_of(const char *like, int64_t n_vocab, uint32_t ftype, int *n)
{
    const synth_shape *s = synth_find_shape(like);
    if (!s) fail_msg("no shape %s", like);
    synth_tensor *t;
    assert_int_equal(synth_plan(s, s->n_layer, n_vocab, ftype, &t, n), MOTE_OK);
    return t;
}

static int count_type(const synth_tensor *t, int n, uint32_t type)
{
    int k = 0;
    for (int i = 0; i < n; i++) k += t[i].type == type;
    return k;
}

static const synth_tensor *plan_find(const synth_tensor *t, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(t[i].name, name) == 0) return &t[i];
    return NULL;
}

/* The plan's tensor `name`: present, with this shape (ne1 0 for 1-D) and type. */
static void expect_tensor(const synth_tensor *t, int n, const char *name, int64_t ne0, int64_t ne1,
                          uint32_t type)
{
    const synth_tensor *x = plan_find(t, n, name);
    if (!x) fail_msg("no tensor %s in the plan", name);
    if (x->n_dims != (ne1 ? 2u : 1u) || x->ne[0] != ne0 || (ne1 && x->ne[1] != ne1))
        fail_msg("%s is %lld x %lld, expected %lld x %lld", name, (long long)x->ne[0],
                 (long long)x->ne[1], (long long)ne0, (long long)ne1);
    if (x->type != type)
        fail_msg("%s is %s, expected %s", name, ggml_type_name(x->type), ggml_type_name(type));
}

/* Layers whose tensors named `which` have `type`, as a bit set. */
static uint64_t layers_of(const synth_tensor *t, int n, const char *which, uint32_t type)
{
    uint64_t set = 0;
    for (int i = 0; i < n; i++)
        if (t[i].layer >= 0 && strstr(t[i].name, which) && t[i].type == type) set |= 1ull << t[i].layer;
    return set;
}

static void expect_absent_tensors(const synth_tensor *t, int n, const char *const *names)
{
    for (int i = 0; names[i]; i++)
        if (plan_find(t, n, names[i])) fail_msg("%s should not be in the plan", names[i]);
}

/* ------------------------------------------------------------------------
 * Plans of the real shapes
 * ---------------------------------------------------------------------- */

/* all-MiniLM-L6-v2: 5 tensors outside the blocks, 16 in each (q, k, v,
 * attn_output, ffn_up, ffn_down with biases; two LayerNorms with biases).
 * 22.57M parameters: the model's 22.71M but its pooler, which llama.cpp's
 * converter drops. */
static void test_plan_minilm(void **state)
{
    int n;
    synth_tensor *t = plan_of("all-minilm-l6", 30522, SYNTH_FTYPE_Q8_0, &n);
    assert_int_equal(n, 5 + 6 * 16);
    assert_int_equal(count_type(t, n, GGML_TYPE_Q8_0), 1 + 6 * 6);
    assert_int_equal(count_type(t, n, GGML_TYPE_F32), 4 + 6 * 10);
    int64_t params = 0;
    for (int i = 0; i < n; i++) params += t[i].ne[0] * t[i].ne[1];
    assert_int_equal(params, 22565376);
    /* llama-quantize's order: outside the blocks by name, then block 0 by name */
    static const char *const first[] = {"position_embd.weight", "token_embd.weight",
                                        "token_embd_norm.bias", "token_embd_norm.weight",
                                        "token_types.weight", "blk.0.attn_k.bias",
                                        "blk.0.attn_k.weight", "blk.0.attn_output.bias"};
    for (int i = 0; i < 8; i++) assert_string_equal(t[i].name, first[i]);
    expect_tensor(t, n, "token_embd.weight", 384, 30522, GGML_TYPE_Q8_0);
    expect_tensor(t, n, "position_embd.weight", 384, 512, GGML_TYPE_F32);
    expect_tensor(t, n, "token_types.weight", 384, 2, GGML_TYPE_F32);
    expect_tensor(t, n, "token_embd_norm.bias", 384, 0, GGML_TYPE_F32);
    expect_tensor(t, n, "blk.5.attn_q.weight", 384, 384, GGML_TYPE_Q8_0);
    expect_tensor(t, n, "blk.5.attn_q.bias", 384, 0, GGML_TYPE_F32);
    expect_tensor(t, n, "blk.5.attn_output.bias", 384, 0, GGML_TYPE_F32);
    expect_tensor(t, n, "blk.5.attn_output_norm.weight", 384, 0, GGML_TYPE_F32);
    expect_tensor(t, n, "blk.5.layer_output_norm.bias", 384, 0, GGML_TYPE_F32);
    expect_tensor(t, n, "blk.5.ffn_up.weight", 384, 1536, GGML_TYPE_Q8_0);
    expect_tensor(t, n, "blk.5.ffn_up.bias", 1536, 0, GGML_TYPE_F32);
    expect_tensor(t, n, "blk.5.ffn_down.weight", 1536, 384, GGML_TYPE_Q8_0);
    expect_tensor(t, n, "blk.5.ffn_down.bias", 384, 0, GGML_TYPE_F32);
    static const char *const absent[] = {"output.weight", "output_norm.weight", "blk.0.attn_norm.weight",
                                         "blk.0.ffn_norm.weight", "blk.0.ffn_gate.weight", NULL};
    expect_absent_tensors(t, n, absent);
    free(t);

    /* F16: matrices F16 but the two tables the converter keeps F32 */
    t = plan_of("all-minilm-l6", 30522, SYNTH_FTYPE_F16, &n);
    expect_tensor(t, n, "token_embd.weight", 384, 30522, GGML_TYPE_F16);
    expect_tensor(t, n, "position_embd.weight", 384, 512, GGML_TYPE_F32);
    expect_tensor(t, n, "token_types.weight", 384, 2, GGML_TYPE_F32);
    assert_int_equal(count_type(t, n, GGML_TYPE_F16), 1 + 6 * 6);
    free(t);
}

/* bge-small-en-v1.5 Q4_K_M: width 384 is not whole 256-blocks, so Q4_K
 * falls back to Q5_0 and attn_v's Q6_K to Q8_0, as does the token table
 * (the head's type); ffn_down (rows of 1536 = 6 x 256) keeps Q4_K / Q6_K.
 * use_more_bits(i, 12): i < 1, i >= 10, (i - 1) % 3 == 2. 33.21M
 * parameters (33.36M with the pooler). */
static void test_plan_bge_small(void **state)
{
    int n;
    synth_tensor *t = plan_of("bge-small-en-v1.5", 30522, SYNTH_FTYPE_Q4_K_M, &n);
    assert_int_equal(n, 5 + 12 * 16);
    const uint64_t more = BITS(0, 3, 6, 9, 10, 11);
    assert_int_equal(count_type(t, n, GGML_TYPE_Q8_0), 1 + 6);
    assert_int_equal(count_type(t, n, GGML_TYPE_Q5_0), 12 * 4 + 6);
    assert_int_equal(count_type(t, n, GGML_TYPE_Q6_K), 6);
    assert_int_equal(count_type(t, n, GGML_TYPE_Q4_K), 6);
    assert_int_equal(count_type(t, n, GGML_TYPE_F32), 4 + 12 * 10);
    assert_true(layers_of(t, n, "attn_v.weight", GGML_TYPE_Q8_0) == more);
    assert_true(layers_of(t, n, "ffn_down.weight", GGML_TYPE_Q6_K) == more);
    expect_tensor(t, n, "token_embd.weight", 384, 30522, GGML_TYPE_Q8_0);
    expect_tensor(t, n, "position_embd.weight", 384, 512, GGML_TYPE_F32);
    expect_tensor(t, n, "blk.1.attn_v.weight", 384, 384, GGML_TYPE_Q5_0);
    expect_tensor(t, n, "blk.1.ffn_down.weight", 1536, 384, GGML_TYPE_Q4_K);
    int64_t params = 0;
    for (int i = 0; i < n; i++) params += t[i].ne[0] * t[i].ne[1];
    assert_int_equal(params, 33212160);
    free(t);
}

/* nomic-embed-text-v1.5 Q4_K_M: 4 tensors outside the blocks (no position
 * table: rope), 9 in each: fused attn_qkv (3 x 768 rows) that gets
 * attn_v's extra bits, SwiGLU without biases. Width 768 is whole
 * 256-blocks: the token table takes the head's Q6_K. */
static void test_plan_nomic(void **state)
{
    int n;
    synth_tensor *t = plan_of("nomic-embed-text-v1.5", 30522, SYNTH_FTYPE_Q4_K_M, &n);
    assert_int_equal(n, 4 + 12 * 9);
    const uint64_t more = BITS(0, 3, 6, 9, 10, 11);
    assert_int_equal(count_type(t, n, GGML_TYPE_Q6_K), 1 + 6 + 6);
    assert_int_equal(count_type(t, n, GGML_TYPE_Q4_K), 12 * 3 + 6 + 6);
    assert_int_equal(count_type(t, n, GGML_TYPE_F32), 3 + 12 * 4);
    assert_true(layers_of(t, n, "attn_qkv.weight", GGML_TYPE_Q6_K) == more);
    assert_true(layers_of(t, n, "ffn_down.weight", GGML_TYPE_Q6_K) == more);
    expect_tensor(t, n, "token_embd.weight", 768, 30522, GGML_TYPE_Q6_K);
    expect_tensor(t, n, "token_types.weight", 768, 2, GGML_TYPE_F32);
    expect_tensor(t, n, "blk.1.attn_qkv.weight", 768, 3 * 768, GGML_TYPE_Q4_K);
    expect_tensor(t, n, "blk.1.attn_output.weight", 768, 768, GGML_TYPE_Q4_K);
    expect_tensor(t, n, "blk.1.ffn_gate.weight", 768, 3072, GGML_TYPE_Q4_K);
    expect_tensor(t, n, "blk.1.ffn_up.weight", 768, 3072, GGML_TYPE_Q4_K);
    expect_tensor(t, n, "blk.1.ffn_down.weight", 3072, 768, GGML_TYPE_Q4_K);
    expect_tensor(t, n, "blk.1.layer_output_norm.bias", 768, 0, GGML_TYPE_F32);
    static const char *const absent[] = {"position_embd.weight", "output_norm.weight", "blk.0.attn_q.weight",
                                         "blk.0.attn_qkv.bias", "blk.0.attn_output.bias",
                                         "blk.0.ffn_up.bias", "blk.0.ffn_down.bias", NULL};
    expect_absent_tensors(t, n, absent);
    free(t);
}

/* EmbeddingGemma 300M Q4_K_M: gemma3's 13 tensors a block, output_norm,
 * the token table (the head's Q6_K: 768 is 3 x 256) and the two dense
 * layers (plain Q4_K). ffn_down's rows of 1152 = 4.5 x 256 fall back:
 * Q4_K -> Q5_0, Q6_K -> Q8_0. use_more_bits(i, 24): i < 3, i >= 21,
 * (i - 3) % 3 == 2. */
static void test_plan_embeddinggemma(void **state)
{
    int n;
    synth_tensor *t = plan_of("embeddinggemma-300m", 262144, SYNTH_FTYPE_Q4_K_M, &n);
    assert_int_equal(n, 4 + 24 * 13);
    const uint64_t more = BITS(0, 1, 2, 5, 8, 11, 14, 17, 20, 21, 22, 23);
    assert_int_equal(count_type(t, n, GGML_TYPE_Q4_K), 24 * 5 + 12 + 2);
    assert_int_equal(count_type(t, n, GGML_TYPE_Q6_K), 12 + 1);
    assert_int_equal(count_type(t, n, GGML_TYPE_Q8_0), 12);
    assert_int_equal(count_type(t, n, GGML_TYPE_Q5_0), 12);
    assert_int_equal(count_type(t, n, GGML_TYPE_F32), 1 + 24 * 6);
    assert_true(layers_of(t, n, "attn_v.weight", GGML_TYPE_Q6_K) == more);
    assert_true(layers_of(t, n, "ffn_down.weight", GGML_TYPE_Q8_0) == more);
    expect_tensor(t, n, "token_embd.weight", 768, 262144, GGML_TYPE_Q6_K);
    expect_tensor(t, n, "dense_2.weight", 768, 3072, GGML_TYPE_Q4_K);
    expect_tensor(t, n, "dense_3.weight", 3072, 768, GGML_TYPE_Q4_K);
    expect_tensor(t, n, "output_norm.weight", 768, 0, GGML_TYPE_F32);
    expect_tensor(t, n, "blk.3.attn_q.weight", 768, 768, GGML_TYPE_Q4_K);
    expect_tensor(t, n, "blk.3.attn_k.weight", 768, 256, GGML_TYPE_Q4_K);
    expect_tensor(t, n, "blk.3.attn_output.weight", 768, 768, GGML_TYPE_Q4_K);
    expect_tensor(t, n, "blk.3.attn_q_norm.weight", 256, 0, GGML_TYPE_F32);
    expect_tensor(t, n, "blk.3.post_ffw_norm.weight", 768, 0, GGML_TYPE_F32);
    expect_tensor(t, n, "blk.3.ffn_gate.weight", 768, 1152, GGML_TYPE_Q4_K);
    expect_tensor(t, n, "blk.3.ffn_down.weight", 1152, 768, GGML_TYPE_Q5_0);
    /* outside the blocks by name: the dense layers first */
    assert_string_equal(t[0].name, "dense_2.weight");
    assert_string_equal(t[1].name, "dense_3.weight");
    static const char *const absent[] = {"output.weight", "token_types.weight", "position_embd.weight", NULL};
    expect_absent_tensors(t, n, absent);
    free(t);
}

/* ------------------------------------------------------------------------
 * Keys of the real shapes
 * ---------------------------------------------------------------------- */

static void expect_u32(const gguf_file *f, const char *key, uint32_t want)
{
    uint32_t v;
    if (gguf_get_u32(f, key, &v) != MOTE_OK) fail_msg("%s: %s", key, mote_last_error());
    if (v != want) fail_msg("%s is %u, expected %u", key, v, want);
}

static void expect_f32(const gguf_file *f, const char *key, float want)
{
    const gguf_kv *kv = gguf_find_kv(f, key);
    if (!kv || kv->type != GGUF_TYPE_FLOAT32) fail_msg("%s missing or not FLOAT32", key);
    if ((float)kv->v.f64 != want) fail_msg("%s is %.9g, expected %.9g", key, kv->v.f64, (double)want);
}

static void expect_absent(const gguf_file *f, const char *key)
{
    if (gguf_find_kv(f, key)) fail_msg("%s should not be written", key);
}

static void expect_not_causal(const gguf_file *f, const char *key)
{
    bool causal = true;
    assert_int_equal(gguf_get_bool_or(f, key, true, &causal), MOTE_OK);
    assert_non_null(gguf_find_kv(f, key));
    assert_false(causal);
}

static void test_real_keys(void **state)
{
    SKIP_WITHOUT_SHARED();
    char *path = temp_path();
    gguf_file *f;

    synth_ok(path, "all-minilm-l6", "Q8_0", BERT_VOCAB, 1, 1, 2); /* BertModel */
    assert_int_equal(gguf_open(path, &f), MOTE_OK);
    expect_u32(f, "bert.block_count", 1);
    expect_u32(f, "bert.context_length", 512);
    expect_u32(f, "bert.embedding_length", 384);
    expect_u32(f, "bert.feed_forward_length", 1536);
    expect_u32(f, "bert.attention.head_count", 12);
    expect_f32(f, "bert.attention.layer_norm_epsilon", 1e-12f);
    expect_not_causal(f, "bert.attention.causal");
    expect_u32(f, "bert.pooling_type", 1);
    expect_u32(f, "tokenizer.ggml.token_type_count", 2);
    expect_absent(f, "bert.attention.head_count_kv"); /* no num_key_value_heads */
    expect_absent(f, "bert.rope.freq_base");
    expect_absent(f, "bert.attention.layer_norm_rms_epsilon");
    expect_absent(f, "bert.vocab_size");
    gguf_close(f);

    synth_ok(path, "bge-small-en-v1.5", "F16", BERT_VOCAB, 1, 1, 2);
    assert_int_equal(gguf_open(path, &f), MOTE_OK);
    expect_u32(f, "bert.pooling_type", 2);
    expect_u32(f, "general.file_type", 1);
    expect_absent(f, "general.quantization_version");
    gguf_close(f);

    synth_ok(path, "nomic-embed-text-v1.5", "Q8_0", BERT_VOCAB, 1, 1, 2); /* NomicBertModel */
    assert_int_equal(gguf_open(path, &f), MOTE_OK);
    expect_u32(f, "nomic-bert.context_length", 2048);
    expect_u32(f, "nomic-bert.embedding_length", 768);
    expect_u32(f, "nomic-bert.feed_forward_length", 3072);
    expect_u32(f, "nomic-bert.attention.head_count", 12);
    expect_f32(f, "nomic-bert.attention.layer_norm_epsilon", 1e-12f);
    expect_f32(f, "nomic-bert.rope.freq_base", 1000.0f);
    expect_not_causal(f, "nomic-bert.attention.causal");
    expect_u32(f, "nomic-bert.pooling_type", 1);
    expect_u32(f, "tokenizer.ggml.token_type_count", 2);
    expect_absent(f, "nomic-bert.attention.head_count_kv");
    gguf_close(f);

    synth_ok(path, "embeddinggemma-300m", "Q8_0", SMALL_VOCAB, 1, 1, 2); /* EmbeddingGemma */
    assert_int_equal(gguf_open(path, &f), MOTE_OK);
    expect_u32(f, "gemma-embedding.context_length", 2048);
    expect_u32(f, "gemma-embedding.embedding_length", 768);
    expect_u32(f, "gemma-embedding.feed_forward_length", 1152);
    expect_u32(f, "gemma-embedding.attention.head_count", 3);
    expect_u32(f, "gemma-embedding.attention.head_count_kv", 1);
    expect_u32(f, "gemma-embedding.attention.key_length", 256);
    expect_u32(f, "gemma-embedding.attention.value_length", 256);
    expect_u32(f, "gemma-embedding.attention.sliding_window", 512);
    expect_u32(f, "gemma-embedding.dense_2_feat_in", 768);
    expect_u32(f, "gemma-embedding.dense_2_feat_out", 3072);
    expect_u32(f, "gemma-embedding.dense_3_feat_in", 3072);
    expect_u32(f, "gemma-embedding.dense_3_feat_out", 768);
    expect_u32(f, "gemma-embedding.pooling_type", 1);
    expect_f32(f, "gemma-embedding.rope.freq_base", 1e6f);
    expect_f32(f, "gemma-embedding.attention.layer_norm_rms_epsilon", 1e-6f);
    expect_absent(f, "gemma-embedding.rope.freq_base_swa"); /* as in real files: llama.cpp's 1e4 */
    expect_absent(f, "gemma-embedding.attention.causal");
    expect_absent(f, "gemma-embedding.final_logit_softcapping");
    expect_absent(f, "tokenizer.ggml.token_type_count"); /* stories260K has none, gemma none of its own */
    gguf_close(f);
    test_remove_temp(path);
}

/* ------------------------------------------------------------------------
 * Against the fixtures
 * ---------------------------------------------------------------------- */

/* The real shape written with the fixture's block count and vocabulary:
 * the same tensors in the same order, of the same dimensions and types
 * (Q8_0: llama-quantize --pure and the default mix agree there), and no
 * key but its names that the fixture lacks. The fixtures' widths differ. */
static void test_tensors_as_fixtures(void **state)
{
    SKIP_WITHOUT_SHARED();
    static const struct {
        const char *fixture, *like, *vocab;
        int n_layer;
    } cases[] = {
        {"models/embed/synth-bert-cls-Q8_0.gguf", "bge-small-en-v1.5", BERT_VOCAB, 3},
        {"models/embed/synth-nomic-bert-Q8_0.gguf", "nomic-embed-text-v1.5", BERT_VOCAB, 2},
        {"models/embed/synth-gemma-embed-Q8_0.gguf", "embeddinggemma-300m", SMALL_VOCAB, 6},
    };
    char *path = temp_path();
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const char *bad = shared_check_file(cases[c].fixture);
        if (bad) fail_msg("%s: %s", cases[c].fixture, bad);
        synth_ok(path, cases[c].like, "Q8_0", cases[c].vocab, cases[c].n_layer, 1, 2);
        gguf_file *ref, *ours;
        assert_int_equal(gguf_open(shared_path(cases[c].fixture), &ref), MOTE_OK);
        assert_int_equal(gguf_open(path, &ours), MOTE_OK);
        assert_int_equal(ours->n_tensors, ref->n_tensors);
        for (uint64_t i = 0; i < ref->n_tensors; i++) {
            const gguf_tensor *a = &ref->tensors[i], *b = &ours->tensors[i];
            if (strcmp(a->name, b->name) != 0)
                fail_msg("%s: tensor %llu is %s, the fixture's %s", cases[c].like, (unsigned long long)i,
                         b->name, a->name);
            if (a->n_dims != b->n_dims || a->type != b->type)
                fail_msg("%s: %s is %u-D %s, the fixture's %u-D %s", cases[c].like, a->name, b->n_dims,
                         ggml_type_name(b->type), a->n_dims, ggml_type_name(a->type));
        }
        for (uint64_t i = 0; i < ours->n_kv; i++) {
            const char *key = ours->kv[i].key;
            if (strcmp(key, "general.name") != 0 && strcmp(key, "general.description") != 0 &&
                !gguf_find_kv(ref, key))
                fail_msg("%s: key %s is not in %s", cases[c].like, key, cases[c].fixture);
        }
        gguf_close(ours);
        gguf_close(ref);
    }
    test_remove_temp(path);
}

/* ------------------------------------------------------------------------
 * Written files: open, embed, same bytes
 * ---------------------------------------------------------------------- */

static const struct {
    const char *like, *vocab;
    int n_embd, pooling, n_layer; /* n_layer: blocks written */
} models[] = {
    {"tiny-bert", BERT_VOCAB, 128, MOTE_POOL_MEAN, 0},
    {"all-minilm-l6", BERT_VOCAB, 384, MOTE_POOL_MEAN, 2},
    {"bge-small-en-v1.5", BERT_VOCAB, 384, MOTE_POOL_CLS, 2},
    {"nomic-embed-text-v1.5", BERT_VOCAB, 768, MOTE_POOL_MEAN, 1},
    /* 262144 tokens of gemma-4 would make 200 MB; six blocks: one global */
    {"embeddinggemma-300m", SMALL_VOCAB, 768, MOTE_POOL_MEAN, 6},
};
#define N_MODELS ((int)(sizeof models / sizeof models[0]))

/* Texts of a few to a hundred tokens (stories260K's are short). */
static const char *const texts[] = {
    "hello world",
    "The quick brown fox jumps over the lazy dog.",
    "Edge devices keep data private: a small embedding model runs where the data lives, and only "
    "vectors leave it, if anything does at all.",
};
#define N_TEXTS ((int)(sizeof texts / sizeof texts[0]))

/* Every vector finite and of unit length; the texts' vectors differ. */
static void expect_unit_vectors(const char *like, const float *v, int dim)
{
    for (int t = 0; t < N_TEXTS; t++) {
        double ss = 0;
        for (int j = 0; j < dim; j++) {
            float x = v[(size_t)t * dim + j];
            if (!isfinite(x)) fail_msg("%s: text %d element %d is %g", like, t, j, (double)x);
            ss += (double)x * x;
        }
        if (fabs(sqrt(ss) - 1.0) > 1e-4) fail_msg("%s: text %d has norm %g", like, t, sqrt(ss));
    }
    for (int t = 1; t < N_TEXTS; t++) {
        double dot = 0;
        for (int j = 0; j < dim; j++) dot += (double)v[j] * v[(size_t)t * dim + j];
        if (dot > 1.0 - 1e-6) fail_msg("%s: texts 0 and %d have the same vector", like, t);
    }
}

static void test_models_embed(void **state)
{
    SKIP_WITHOUT_SHARED();
    static const char *const types[] = {"F16", "Q8_0", "Q4_K_M"};
    char *path = temp_path();
    for (int k = 0; k < N_MODELS; k++) {
        for (int ti = 0; ti < 3; ti++) {
            /* the real shapes in Q8_0 only: every type on tiny-bert */
            if (k > 0 && ti != 1) continue;
            const char *like = models[k].like;
            synth_ok(path, like, types[ti], models[k].vocab, models[k].n_layer, 1, 2);
            mote_model *m;
            if (mote_model_open(path, NULL, &m) != MOTE_OK) fail_msg("%s: %s", like, mote_last_error());
            assert_int_equal(mote_model_embedding_only(m), 1);
            assert_int_equal(mote_model_pooling(m), models[k].pooling);
            mote_model_info info;
            assert_int_equal(mote_model_get_info(m, &info), MOTE_OK);
            assert_int_equal(info.n_embd, models[k].n_embd);

            mote_embed_params ep = mote_embed_default_params();
            ep.n_ctx = 128;
            ep.n_threads = 2;
            mote_embedder *e;
            if (mote_embedder_create(m, &ep, &e) != MOTE_OK) fail_msg("%s: %s", like, mote_last_error());
            const int dim = mote_embedder_dim(e);
            assert_int_equal(dim, models[k].n_embd);
            float *v = calloc((size_t)N_TEXTS * dim, sizeof *v);
            int64_t used = 0;
            if (mote_embed(e, texts, NULL, N_TEXTS, v, &used) != MOTE_OK)
                fail_msg("%s %s: %s", like, types[ti], mote_last_error());
            assert_true(used > 3 * N_TEXTS);
            expect_unit_vectors(like, v, dim);
            free(v);
            mote_embedder_free(e);
            mote_model_close(m);
        }
    }
    test_remove_temp(path);
}

/* The same seed gives the same bytes, on one thread or two; another seed
 * other bytes. */
static void test_same_seed_same_bytes(void **state)
{
    SKIP_WITHOUT_SHARED();
    char *a = temp_path(), *b = temp_path();
    for (int k = 0; k < N_MODELS; k++) {
        const int n_layer = models[k].n_layer ? 1 : 0;
        synth_ok(a, models[k].like, "Q4_K_M", models[k].vocab, n_layer, 5, 1);
        synth_ok(b, models[k].like, "Q4_K_M", models[k].vocab, n_layer, 5, 2);
        if (!test_same_bytes(a, b)) fail_msg("%s: seed 5 gave two files", models[k].like);
        if (k == 0) {
            synth_ok(b, models[k].like, "Q4_K_M", models[k].vocab, n_layer, 6, 2);
            assert_false(test_same_bytes(a, b));
        }
    }
    test_remove_temp(a);
    test_remove_temp(b);
}

/* Norm weights are 1, biases and the position and token-type tables
 * about N(0, 0.02). */
static void test_weight_values(void **state)
{
    SKIP_WITHOUT_SHARED();
    char *path = temp_path();
    synth_ok(path, "tiny-bert", "Q8_0", BERT_VOCAB, 0, 1, 2);
    gguf_file *f;
    assert_int_equal(gguf_open(path, &f), MOTE_OK);
    static const char *const ones[] = {"token_embd_norm.weight", "blk.1.attn_output_norm.weight",
                                       "blk.1.layer_output_norm.weight"};
    for (int i = 0; i < 3; i++) {
        const gguf_tensor *t = gguf_find_tensor(f, ones[i]);
        assert_non_null(t);
        for (int64_t j = 0; j < t->ne[0]; j++) assert_true(((const float *)t->data)[j] == 1.0f);
    }
    static const char *const random[] = {"token_embd_norm.bias", "blk.1.ffn_up.bias", "position_embd.weight",
                                         "token_types.weight"};
    for (int i = 0; i < 4; i++) {
        const gguf_tensor *t = gguf_find_tensor(f, random[i]);
        assert_non_null(t);
        assert_int_equal(t->type, GGML_TYPE_F32);
        const int64_t n = t->ne[0] * (t->n_dims == 2 ? t->ne[1] : 1);
        double s = 0, s2 = 0;
        for (int64_t j = 0; j < n; j++) {
            double x = ((const float *)t->data)[j];
            assert_true(fabs(x) < 3.47 * 0.02);
            s += x;
            s2 += x * x;
        }
        const double std = sqrt(s2 / n - (s / n) * (s / n));
        if (fabs(std - 0.02) > 0.2 * 0.02) fail_msg("%s: std %g", random[i], std);
    }
    gguf_close(f);
    test_remove_temp(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_minilm),
        cmocka_unit_test(test_plan_bge_small),
        cmocka_unit_test(test_plan_nomic),
        cmocka_unit_test(test_plan_embeddinggemma),
        cmocka_unit_test(test_real_keys),
        cmocka_unit_test(test_tensors_as_fixtures),
        cmocka_unit_test(test_models_embed),
        cmocka_unit_test(test_same_seed_same_bytes),
        cmocka_unit_test(test_weight_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
