/*
 * test_synth_archs.c — synthetic models of qwen3, gemma3, phi3, granite and
 * smollm3 (src/toolkit; test_synth.c covers llama and qwen2).
 *
 * - Plans of the real shapes in Q4_K_M (no file written): the tensor count
 *   of each type, the layers whose attn_v (phi3: the fused attn_qkv, which
 *   llama-quant.cpp counts as an attn_v) and ffn_down get Q6_K by
 *   use_more_bits, worked out here by hand, and gemma3's widths that are
 *   not whole 256-blocks falling back (Q4_K -> Q5_0, Q6_K -> Q8_0).
 * - The keys each of llama.cpp's converter classes writes, with the real
 *   shapes' values, in one-block files.
 * - The tiny shapes against the reference team's fixtures
 *   shared/models/archs/synth-<arch>-{F32,Q8_0,Q4_K_M}.gguf, made with the
 *   same shapes and vocabulary: the same keys and values (tokenizer too),
 *   the same tensors in the same order with the same shapes, and in Q8_0
 *   and Q4_K_M the same types. The one difference: phi3 files have
 *   attention.sliding_window, which the converter always writes (0 when
 *   config.json has none) and the fixtures lack.
 * - LongRoPE factors: positive, increasing, in range, fixed by the seed.
 * - llama.cpp loads and runs every tiny shape in every type, through
 *   bench/build/llama-peer ($MOTE_LLAMA_PEER); skipped when it is not built.
 * - mote runs them too, once it knows the architecture.
 */
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gguf/gguf.h"
#include "mote_tools.h"
#include "testutil.h"
#include "toolkit/synth.h"

extern char **environ;

static const char *const archs[] = {"qwen3", "gemma3", "phi3", "granite", "smollm3"};
#define N_ARCHS ((int)(sizeof archs / sizeof archs[0]))

static const char *const types[] = {"F16", "BF16", "Q8_0", "Q4_0", "Q4_K_M"};
#define N_TYPES ((int)(sizeof types / sizeof types[0]))

/* ------------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------- */

static char *temp_path(void) { return test_temp_file("mote-synth-archs"); }

/* Write a model with stories260K's vocabulary (512 tokens, as the fixtures). */
static void synth_ok(const char *out, const char *like, const char *type, int n_layer)
{
    char vocab[4096];
    snprintf(vocab, sizeof vocab, "%s", shared_path("models/stories260K.gguf"));
    mote_synth_params p = mote_synth_default_params();
    p.like = like;
    p.type = type;
    p.vocab_path = vocab;
    p.out_path = out;
    p.n_layer = n_layer;
    p.n_threads = 2;
    if (mote_synth(&p) != MOTE_OK) fail_msg("synth %s %s: %s", like, type, mote_last_error());
}

static synth_tensor *plan_of(const char *like, int64_t n_vocab, int *n)
{
    const synth_shape *s = synth_find_shape(like);
    if (!s) fail_msg("no shape %s", like);
    synth_tensor *t;
    assert_int_equal(synth_plan(s, s->n_layer, n_vocab, SYNTH_FTYPE_Q4_K_M, &t, n), MOTE_OK);
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


/* ------------------------------------------------------------------------
 * Plans of the real shapes in Q4_K_M
 * ---------------------------------------------------------------------- */

/* Qwen3-0.6B and 1.7B: 28 blocks of 11 tensors; head_dim 128 makes Q
 * 2048 wide whatever n_embd. use_more_bits(i, 28): i < 3, i >= 24,
 * (i - 3) % 3 == 2. */
static void test_plan_qwen3(void **state)
{
    static const int widths[] = {1024, 2048};
    static const char *const names[] = {"qwen3-0.6b", "qwen3-1.7b"};
    for (int k = 0; k < 2; k++) {
        int n, e = widths[k];
        synth_tensor *t = plan_of(names[k], 151936, &n);
        assert_int_equal(n, 2 + 28 * 11);
        assert_int_equal(count_type(t, n, GGML_TYPE_F32), 1 + 28 * 4);
        assert_int_equal(count_type(t, n, GGML_TYPE_Q4_K), 28 * 7 - 28);
        assert_int_equal(count_type(t, n, GGML_TYPE_Q6_K), 28 + 1);
        uint64_t more = BITS(0, 1, 2, 5, 8, 11, 14, 17, 20, 23, 24, 25, 26, 27);
        assert_true(layers_of(t, n, "attn_v", GGML_TYPE_Q6_K) == more);
        assert_true(layers_of(t, n, "ffn_down", GGML_TYPE_Q6_K) == more);
        expect_tensor(t, n, "token_embd.weight", e, 151936, GGML_TYPE_Q6_K); /* tied */
        assert_null(plan_find(t, n, "output.weight"));
        expect_tensor(t, n, "blk.4.attn_q.weight", e, 2048, GGML_TYPE_Q4_K);
        expect_tensor(t, n, "blk.4.attn_k.weight", e, 1024, GGML_TYPE_Q4_K);
        expect_tensor(t, n, "blk.4.attn_output.weight", 2048, e, GGML_TYPE_Q4_K);
        expect_tensor(t, n, "blk.4.attn_q_norm.weight", 128, 0, GGML_TYPE_F32);
        expect_tensor(t, n, "blk.4.attn_k_norm.weight", 128, 0, GGML_TYPE_F32);
        expect_tensor(t, n, "blk.4.ffn_down.weight", k ? 6144 : 3072, e, GGML_TYPE_Q4_K);
        free(t);
    }
}

/* Gemma 3: 13 tensors a block. Rows of n_embd (1152 = 4.5 x 256, 640 =
 * 2.5 x 256) are not whole K-blocks: attn_q/k/v, ffn_gate/up fall back to
 * Q5_0, the Q6_K of attn_v to Q8_0, and the tied head to Q8_0; attn_output
 * (rows of 4 x 256) and ffn_down keep theirs. use_more_bits(i, 26): i < 3,
 * i >= 22, (i - 3) % 3 == 2; (i, 18): i < 2, i >= 15, (i - 2) % 3 == 2. */
static void test_plan_gemma3(void **state)
{
    static const struct {
        const char *like;
        int n_embd, n_ff, n_layer;
    } cases[] = {
        {"gemma-3-1b", 1152, 6912, 26},
        {"gemma-3-270m", 640, 2048, 18},
    };
    const uint64_t more[2] = {BITS(0, 1, 2, 5, 8, 11, 14, 17, 20, 22, 23, 24, 25),
                              BITS(0, 1, 4, 7, 10, 13, 15, 16, 17)};
    for (int k = 0; k < 2; k++) {
        int n, e = cases[k].n_embd, L = cases[k].n_layer, m = __builtin_popcountll(more[k]);
        synth_tensor *t = plan_of(cases[k].like, 262144, &n);
        assert_int_equal(n, 2 + L * 13);
        assert_int_equal(count_type(t, n, GGML_TYPE_F32), 1 + L * 6);
        assert_int_equal(count_type(t, n, GGML_TYPE_Q5_0), L * 4 + (L - m));
        assert_int_equal(count_type(t, n, GGML_TYPE_Q8_0), m + 1);
        assert_int_equal(count_type(t, n, GGML_TYPE_Q4_K), L + (L - m));
        assert_int_equal(count_type(t, n, GGML_TYPE_Q6_K), m);
        assert_true(layers_of(t, n, "attn_v", GGML_TYPE_Q8_0) == more[k]);
        assert_true(layers_of(t, n, "ffn_down", GGML_TYPE_Q6_K) == more[k]);
        expect_tensor(t, n, "token_embd.weight", e, 262144, GGML_TYPE_Q8_0);
        expect_tensor(t, n, "blk.3.attn_q.weight", e, 1024, GGML_TYPE_Q5_0);
        expect_tensor(t, n, "blk.3.attn_k.weight", e, 256, GGML_TYPE_Q5_0);
        expect_tensor(t, n, "blk.3.attn_v.weight", e, 256, GGML_TYPE_Q5_0);
        expect_tensor(t, n, "blk.3.attn_output.weight", 1024, e, GGML_TYPE_Q4_K);
        expect_tensor(t, n, "blk.3.attn_q_norm.weight", 256, 0, GGML_TYPE_F32);
        expect_tensor(t, n, "blk.3.post_attention_norm.weight", e, 0, GGML_TYPE_F32);
        expect_tensor(t, n, "blk.3.post_ffw_norm.weight", e, 0, GGML_TYPE_F32);
        expect_tensor(t, n, "blk.3.ffn_gate.weight", e, cases[k].n_ff, GGML_TYPE_Q5_0);
        expect_tensor(t, n, "blk.3.ffn_down.weight", cases[k].n_ff, e, GGML_TYPE_Q4_K);
        free(t);
    }
}

/* Phi-4-mini: fused attn_qkv (3072 + 2 x 1024 rows) counts as attn_v;
 * fused gate+up ffn_up (2 x 8192 rows) gets no more bits. One pair of
 * LongRoPE factor vectors (96 / 2 floats). use_more_bits(i, 32): i < 4,
 * i >= 28, (i - 4) % 3 == 2. */
static void test_plan_phi4_mini(void **state)
{
    int n;
    synth_tensor *t = plan_of("phi-4-mini", 200064, &n);
    assert_int_equal(n, 2 + 2 + 32 * 6);
    assert_int_equal(count_type(t, n, GGML_TYPE_F32), 3 + 32 * 2);
    assert_int_equal(count_type(t, n, GGML_TYPE_Q6_K), 16 + 16 + 1);
    assert_int_equal(count_type(t, n, GGML_TYPE_Q4_K), 32 * 4 - 32);
    uint64_t more = BITS(0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31);
    assert_true(layers_of(t, n, "attn_qkv", GGML_TYPE_Q6_K) == more);
    assert_true(layers_of(t, n, "ffn_down", GGML_TYPE_Q6_K) == more);
    expect_tensor(t, n, "token_embd.weight", 3072, 200064, GGML_TYPE_Q6_K);
    expect_tensor(t, n, "rope_factors_long.weight", 48, 0, GGML_TYPE_F32);
    expect_tensor(t, n, "rope_factors_short.weight", 48, 0, GGML_TYPE_F32);
    expect_tensor(t, n, "blk.5.attn_qkv.weight", 3072, 5120, GGML_TYPE_Q4_K);
    expect_tensor(t, n, "blk.5.attn_output.weight", 3072, 3072, GGML_TYPE_Q4_K);
    expect_tensor(t, n, "blk.5.ffn_up.weight", 3072, 16384, GGML_TYPE_Q4_K);
    expect_tensor(t, n, "blk.5.ffn_down.weight", 8192, 3072, GGML_TYPE_Q4_K);
    assert_null(plan_find(t, n, "blk.5.attn_q.weight"));
    assert_null(plan_find(t, n, "blk.5.ffn_gate.weight"));
    assert_null(plan_find(t, n, "output.weight"));
    /* Outside the blocks first, by name: the factors before token_embd. */
    assert_string_equal(t[1].name, "rope_factors_long.weight");
    assert_string_equal(t[3].name, "token_embd.weight");
    free(t);
}

/* Granite 3.3 2B (40 blocks) and SmolLM3 3B (36): llama blocks.
 * use_more_bits(i, 40): i < 5, i >= 35, (i - 5) % 3 == 2;
 * (i, 36): i < 4, i >= 31, (i - 4) % 3 == 2. */
static void test_plan_granite_smollm3(void **state)
{
    int n;
    synth_tensor *t = plan_of("granite-3.3-2b", 49159, &n);
    assert_int_equal(n, 2 + 40 * 9);
    assert_int_equal(count_type(t, n, GGML_TYPE_F32), 1 + 40 * 2);
    assert_int_equal(count_type(t, n, GGML_TYPE_Q6_K), 20 + 20 + 1);
    assert_int_equal(count_type(t, n, GGML_TYPE_Q4_K), 40 * 7 - 40);
    uint64_t more = BITS(0, 1, 2, 3, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31, 34, 35, 36, 37, 38, 39);
    assert_true(layers_of(t, n, "attn_v", GGML_TYPE_Q6_K) == more);
    assert_true(layers_of(t, n, "ffn_down", GGML_TYPE_Q6_K) == more);
    expect_tensor(t, n, "token_embd.weight", 2048, 49159, GGML_TYPE_Q6_K);
    expect_tensor(t, n, "blk.6.attn_k.weight", 2048, 512, GGML_TYPE_Q4_K);
    expect_tensor(t, n, "blk.6.ffn_up.weight", 2048, 8192, GGML_TYPE_Q4_K);
    free(t);

    t = plan_of("smollm3-3b", 128256, &n);
    assert_int_equal(n, 2 + 36 * 9);
    assert_int_equal(count_type(t, n, GGML_TYPE_F32), 1 + 36 * 2);
    assert_int_equal(count_type(t, n, GGML_TYPE_Q6_K), 18 + 18 + 1);
    assert_int_equal(count_type(t, n, GGML_TYPE_Q4_K), 36 * 7 - 36);
    more = BITS(0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 31, 32, 33, 34, 35);
    assert_true(layers_of(t, n, "attn_v", GGML_TYPE_Q6_K) == more);
    assert_true(layers_of(t, n, "ffn_down", GGML_TYPE_Q6_K) == more);
    expect_tensor(t, n, "blk.5.attn_k.weight", 2048, 512, GGML_TYPE_Q4_K);
    expect_tensor(t, n, "blk.5.ffn_down.weight", 11008, 2048, GGML_TYPE_Q4_K);
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

/* One block of each real shape: the keys its converter class writes. */
static void test_real_keys(void **state)
{
    SKIP_WITHOUT_SHARED();
    char *path = temp_path();
    gguf_file *f;

    synth_ok(path, "qwen3-0.6b", "Q8_0", 1); /* Qwen2Model: TextModel's keys */
    assert_int_equal(gguf_open(path, &f), MOTE_OK);
    expect_u32(f, "qwen3.block_count", 1);
    expect_u32(f, "qwen3.context_length", 40960);
    expect_u32(f, "qwen3.embedding_length", 1024);
    expect_u32(f, "qwen3.feed_forward_length", 3072);
    expect_u32(f, "qwen3.attention.head_count", 16);
    expect_u32(f, "qwen3.attention.head_count_kv", 8);
    expect_u32(f, "qwen3.attention.key_length", 128);
    expect_u32(f, "qwen3.attention.value_length", 128);
    expect_f32(f, "qwen3.rope.freq_base", 1e6f);
    expect_f32(f, "qwen3.attention.layer_norm_rms_epsilon", 1e-6f);
    expect_absent(f, "qwen3.rope.dimension_count");
    expect_absent(f, "qwen3.vocab_size");
    gguf_close(f);

    synth_ok(path, "gemma-3-1b", "Q8_0", 1);
    assert_int_equal(gguf_open(path, &f), MOTE_OK);
    expect_u32(f, "gemma3.context_length", 32768);
    expect_u32(f, "gemma3.embedding_length", 1152);
    expect_u32(f, "gemma3.feed_forward_length", 6912);
    expect_u32(f, "gemma3.attention.head_count", 4);
    expect_u32(f, "gemma3.attention.head_count_kv", 1);
    expect_u32(f, "gemma3.attention.key_length", 256);
    expect_u32(f, "gemma3.attention.value_length", 256);
    expect_u32(f, "gemma3.attention.sliding_window", 512);
    expect_f32(f, "gemma3.rope.freq_base", 1e6f);
    expect_f32(f, "gemma3.rope.freq_base_swa", 10000.0f);
    expect_absent(f, "gemma3.final_logit_softcapping"); /* null in config.json */
    expect_absent(f, "gemma3.attention.sliding_window_pattern");
    gguf_close(f);

    synth_ok(path, "phi-4-mini", "Q4_K_M", 1); /* Phi3MiniModel: its own keys */
    assert_int_equal(gguf_open(path, &f), MOTE_OK);
    expect_u32(f, "phi3.context_length", 131072);
    expect_u32(f, "phi3.rope.scaling.original_context_length", 4096);
    expect_u32(f, "phi3.embedding_length", 3072);
    expect_u32(f, "phi3.feed_forward_length", 8192);
    expect_u32(f, "phi3.attention.head_count", 24);
    expect_u32(f, "phi3.attention.head_count_kv", 8);
    expect_u32(f, "phi3.rope.dimension_count", 96);
    expect_u32(f, "phi3.attention.sliding_window", 262144);
    expect_f32(f, "phi3.rope.freq_base", 10000.0f);
    expect_f32(f, "phi3.attention.layer_norm_rms_epsilon", 1e-5f);
    /* sqrt(1 + ln(131072 / 4096) / ln 4096) = sqrt(1 + 5 / 12) */
    expect_f32(f, "phi3.rope.scaling.attn_factor", (float)sqrt(1.0 + 5.0 / 12.0));
    expect_absent(f, "phi3.attention.key_length");
    expect_absent(f, "phi3.rope.scaling.type");
    for (int k = 0; k < 2; k++) {
        const gguf_tensor *r =
            gguf_find_tensor(f, k ? "rope_factors_short.weight" : "rope_factors_long.weight");
        assert_non_null(r);
        assert_true(r->type == GGML_TYPE_F32 && r->n_dims == 1 && r->ne[0] == 48);
    }
    gguf_close(f);

    synth_ok(path, "granite-3.3-2b", "Q8_0", 1); /* GraniteModel: LlamaModel's + scales */
    assert_int_equal(gguf_open(path, &f), MOTE_OK);
    expect_u32(f, "granite.context_length", 131072);
    expect_u32(f, "granite.attention.head_count", 32);
    expect_u32(f, "granite.attention.head_count_kv", 8);
    expect_u32(f, "granite.vocab_size", 512); /* the vocabulary file's */
    expect_u32(f, "granite.rope.dimension_count", 64);
    expect_f32(f, "granite.rope.freq_base", 1e7f);
    expect_f32(f, "granite.embedding_scale", 12.0f);
    expect_f32(f, "granite.residual_scale", 0.22f);
    expect_f32(f, "granite.attention.scale", 0.015625f);
    expect_f32(f, "granite.logit_scale", 8.0f);
    expect_absent(f, "granite.attention.key_length"); /* it drops head_dim */
    gguf_close(f);

    synth_ok(path, "smollm3-3b", "Q8_0", 1); /* LlamaModel; NoPE has no key */
    assert_int_equal(gguf_open(path, &f), MOTE_OK);
    expect_u32(f, "smollm3.context_length", 65536);
    expect_u32(f, "smollm3.feed_forward_length", 11008);
    expect_u32(f, "smollm3.attention.head_count", 16);
    expect_u32(f, "smollm3.attention.head_count_kv", 4);
    expect_u32(f, "smollm3.rope.dimension_count", 128);
    expect_u32(f, "smollm3.vocab_size", 512);
    expect_f32(f, "smollm3.rope.freq_base", 5e6f);
    expect_f32(f, "smollm3.attention.layer_norm_rms_epsilon", 1e-6f);
    gguf_close(f);
    test_remove_temp(path);
}

/* ------------------------------------------------------------------------
 * The tiny shapes against the fixtures
 * ---------------------------------------------------------------------- */

static int is_name_key(const char *key)
{
    return strcmp(key, "general.name") == 0 || strcmp(key, "general.description") == 0;
}

static int same_kv(const gguf_kv *a, const gguf_kv *b)
{
    if (a->type != b->type) return 0;
    if (a->type == GGUF_TYPE_STRING)
        return a->str.len == b->str.len && memcmp(a->str.ptr, b->str.ptr, a->str.len) == 0;
    if (a->type != GGUF_TYPE_ARRAY) return a->v.u64 == b->v.u64;
    if (a->arr_type != b->arr_type || a->arr_n != b->arr_n) return 0;
    if (a->arr_type != GGUF_TYPE_STRING)
        return memcmp(a->arr_data, b->arr_data, a->arr_n * gguf_type_size(a->arr_type)) == 0;
    for (uint64_t i = 0; i < a->arr_n; i++)
        if (a->arr_strs[i].len != b->arr_strs[i].len ||
            memcmp(a->arr_strs[i].ptr, b->arr_strs[i].ptr, a->arr_strs[i].len) != 0)
            return 0;
    return 1;
}

/* Every key of the fixture, but its names, is in ours with the same value;
 * ours has no other key but `extra` (NULL: none). */
static void expect_same_keys(const gguf_file *ref, const gguf_file *ours, const char *extra)
{
    for (uint64_t i = 0; i < ref->n_kv; i++) {
        if (is_name_key(ref->kv[i].key)) continue;
        const gguf_kv *kv = gguf_find_kv(ours, ref->kv[i].key);
        if (!kv) fail_msg("%s: key %s missing", ours->path, ref->kv[i].key);
        if (!same_kv(&ref->kv[i], kv)) fail_msg("%s: key %s differs", ours->path, ref->kv[i].key);
    }
    for (uint64_t i = 0; i < ours->n_kv; i++) {
        const char *key = ours->kv[i].key;
        if (!is_name_key(key) && !gguf_find_kv(ref, key) && !(extra && strcmp(key, extra) == 0))
            fail_msg("%s: key %s is not in %s", ours->path, key, ref->path);
    }
}

/* The same tensors with the same shapes; with same_types (the quantized
 * fixtures, written by llama-quantize) also in the same order and of the
 * same types, else (the F32 fixture, in the converter's order) ours is F16
 * where the fixture is 2-D. */
static void expect_same_tensors(const gguf_file *ref, const gguf_file *ours, int same_types)
{
    assert_int_equal(ours->n_tensors, ref->n_tensors);
    for (uint64_t i = 0; i < ref->n_tensors; i++) {
        const gguf_tensor *a = &ref->tensors[i];
        const gguf_tensor *b = same_types ? &ours->tensors[i] : gguf_find_tensor(ours, a->name);
        if (!b || strcmp(a->name, b->name) != 0)
            fail_msg("%s: tensor %llu is %s, expected %s", ours->path, (unsigned long long)i,
                     b ? b->name : "missing", a->name);
        if (a->n_dims != b->n_dims || memcmp(a->ne, b->ne, sizeof a->ne) != 0)
            fail_msg("%s: %s has another shape", ours->path, a->name);
        uint32_t want = same_types ? a->type : a->n_dims == 1 ? GGML_TYPE_F32 : GGML_TYPE_F16;
        if (b->type != want)
            fail_msg("%s: %s is %s, expected %s", ours->path, a->name, ggml_type_name(b->type),
                     ggml_type_name(want));
    }
}

static void test_tiny_vs_fixtures(void **state)
{
    SKIP_WITHOUT_SHARED();
    static const struct {
        const char *ours, *ref;
    } kinds[] = {{"F16", "F32"}, {"Q8_0", "Q8_0"}, {"Q4_K_M", "Q4_K_M"}};
    char *path = temp_path();
    for (int a = 0; a < N_ARCHS; a++) {
        char like[64], extra[96], rel[128];
        snprintf(like, sizeof like, "tiny-%s", archs[a]);
        snprintf(extra, sizeof extra, "%s.attention.sliding_window", archs[a]);
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
            snprintf(rel, sizeof rel, "models/archs/synth-%s-%s.gguf", archs[a], kinds[k].ref);
            const char *bad = shared_check_file(rel);
            if (bad) fail_msg("%s: %s", rel, bad);
            gguf_file *ref, *ours;
            assert_int_equal(gguf_open(shared_path(rel), &ref), MOTE_OK);
            synth_ok(path, like, kinds[k].ours, 0);
            assert_int_equal(gguf_open(path, &ours), MOTE_OK);
            int same_types = strcmp(kinds[k].ours, kinds[k].ref) == 0;
            if (same_types) expect_same_keys(ref, ours, strcmp(archs[a], "phi3") == 0 ? extra : NULL);
            expect_same_tensors(ref, ours, same_types);
            gguf_close(ours);
            gguf_close(ref);
        }
    }
    test_remove_temp(path);
}

/* ------------------------------------------------------------------------
 * LongRoPE factors
 * ---------------------------------------------------------------------- */

static void test_longrope_factors(void **state)
{
    const synth_shape *s = synth_find_shape("phi-4-mini");
    assert_non_null(s);
    float lf[48], sf[48], lf2[48], sf2[48];
    synth_longrope_factors(s, 1, lf, sf);
    for (int i = 0; i < 48; i++) {
        assert_true(isfinite(lf[i]) && lf[i] >= 1.0f && lf[i] < 40.0f);
        assert_true(isfinite(sf[i]) && sf[i] >= 1.0f && sf[i] < 2.0f);
        if (i) assert_true(lf[i] >= lf[i - 1] && sf[i] >= sf[i - 1]);
    }
    assert_true(lf[47] > 10.0f && lf[47] > lf[0] && sf[47] > sf[0]); /* spread out */
    synth_longrope_factors(s, 1, lf2, sf2);
    assert_memory_equal(lf, lf2, sizeof lf);
    assert_memory_equal(sf, sf2, sizeof sf);
    synth_longrope_factors(s, 2, lf2, sf2);
    assert_memory_not_equal(lf, lf2, sizeof lf);

    /* The file holds them, for its seed. */
    SKIP_WITHOUT_SHARED();
    char *path = temp_path();
    synth_ok(path, "tiny-phi3", "F16", 0);
    gguf_file *f;
    assert_int_equal(gguf_open(path, &f), MOTE_OK);
    synth_longrope_factors(synth_find_shape("tiny-phi3"), 1, lf, sf);
    const gguf_tensor *l = gguf_find_tensor(f, "rope_factors_long.weight");
    const gguf_tensor *sh = gguf_find_tensor(f, "rope_factors_short.weight");
    assert_true(l && sh && l->ne[0] == 16 && sh->ne[0] == 16);
    assert_memory_equal(l->data, lf, 16 * sizeof(float));
    assert_memory_equal(sh->data, sf, 16 * sizeof(float));
    gguf_close(f);
    test_remove_temp(path);
}

/* ------------------------------------------------------------------------
 * Running them
 * ---------------------------------------------------------------------- */

/* Exit status of argv[0] run with argv, its output discarded; -1 if it
 * could not be started. */
static int run_quiet(char *const argv[])
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return -1;
    int status;
    if (waitpid(pid, &status, 0) != pid) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* llama.cpp (bench/llama_peer.c, linked with libllama) loads each tiny
 * shape in each type and decodes a short prompt and a few tokens. */
static void test_llama_cpp_runs_them(void **state)
{
    SKIP_WITHOUT_SHARED();
    const char *peer = getenv("MOTE_LLAMA_PEER");
    if (!peer) peer = "bench/build/llama-peer";
    if (access(peer, X_OK) != 0) {
        if (getenv("MOTE_REQUIRE_LLAMA_REF"))
            fail_msg("MOTE_REQUIRE_LLAMA_REF is set but %s is missing (make llama-ref)", peer);
        print_message("[  SKIP    ] SKIP: no %s (make llama-ref builds it; or set "
                      "MOTE_LLAMA_PEER): llama.cpp does not check the synthetic files\n",
                      peer);
        skip();
    }
    char *path = temp_path();
    for (int a = 0; a < N_ARCHS; a++) {
        char like[64];
        snprintf(like, sizeof like, "tiny-%s", archs[a]);
        for (int t = 0; t < N_TYPES; t++) {
            synth_ok(path, like, types[t], 0);
            char *argv[] = {(char *)peer, "-m", path, "-p", "16", "-n", "4", "-r", "1", "-t", "2",
                            "--no-warmup", "-o", "json", NULL};
            int rc = run_quiet(argv);
            if (rc != 0) fail_msg("llama.cpp on %s %s: exit %d (run %s -m FILE -v)", like, types[t],
                                  rc, peer);
        }
    }
    test_remove_temp(path);
}

/* mote opens and runs each tiny shape: finite logits after a prompt. */
static void test_mote_runs_them(void **state)
{
    SKIP_WITHOUT_SHARED();
    char *path = temp_path();
    for (int a = 0; a < N_ARCHS; a++) {
        char like[64];
        snprintf(like, sizeof like, "tiny-%s", archs[a]);
        synth_ok(path, like, "Q8_0", 0);
        mote_model *m;
        mote_status st = mote_model_open(path, NULL, &m);
        if (st != MOTE_OK) fail_msg("%s: %s", like, mote_last_error());
        mote_session_params sp = mote_session_default_params();
        sp.n_ctx = 64;
        sp.n_threads = 2;
        mote_session *s;
        assert_int_equal(mote_session_create(m, &sp, &s), MOTE_OK);
        mote_token toks[4] = {1, 5, 100, 300};
        if (mote_session_eval(s, toks, 4, 0) != MOTE_OK) fail_msg("%s: %s", like, mote_last_error());
        const float *lg = mote_session_logits(s, -1);
        assert_non_null(lg);
        for (int i = 0; i < mote_vocab_size(m); i++)
            if (!isfinite(lg[i])) fail_msg("%s: logit %d is %g", like, i, lg[i]);
        mote_session_free(s);
        mote_model_close(m);
    }
    test_remove_temp(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_qwen3),
        cmocka_unit_test(test_plan_gemma3),
        cmocka_unit_test(test_plan_phi4_mini),
        cmocka_unit_test(test_plan_granite_smollm3),
        cmocka_unit_test(test_real_keys),
        cmocka_unit_test(test_tiny_vs_fixtures),
        cmocka_unit_test(test_longrope_factors),
        cmocka_unit_test(test_llama_cpp_runs_them),
        cmocka_unit_test(test_mote_runs_them),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
