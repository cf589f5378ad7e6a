/*
 * test_synth.c — synthetic models (src/toolkit).
 *
 * The plans of the real models are checked against what llama.cpp's
 * llama-quantize produces for them (tensor type counts of published GGUFs,
 * and the layers its use_more_bits rule picks, worked out by hand here);
 * small models are written for every type, opened and run; the same
 * parameters give the same bytes; the weights have the stated
 * distribution; the tokenizer is copied whole.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gguf/gguf.h"
#include "gguf/gguf_write.h"
#include "mote_tools.h"
#include "tensor/quant.h"
#include "synthmodel.h"
#include "testutil.h"
#include "toolkit/synth.h"

/* ------------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------- */

static char *temp_path(void) { return test_temp_file("mote-synth"); }

typedef struct synth_args {
    const char *like, *type, *vocab; /* vocab relative to ../shared */
    uint64_t seed;
    int layers, threads, exact;
} synth_args;

static mote_status synth_to(const char *out, synth_args a)
{
    char vocab[4096];
    snprintf(vocab, sizeof vocab, "%s", shared_path(a.vocab ? a.vocab : "models/stories260K.gguf"));
    mote_synth_params p = mote_synth_default_params();
    p.like = a.like;
    p.type = a.type;
    p.vocab_path = vocab;
    p.out_path = out;
    p.seed = a.seed;
    p.n_layer = a.layers;
    p.n_threads = a.threads ? a.threads : 2;
    p.exact = a.exact;
    return mote_synth(&p);
}

static void synth_ok(const char *out, synth_args a)
{
    if (synth_to(out, a) != MOTE_OK) fail_msg("synth %s %s: %s", a.like, a.type, mote_last_error());
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
    fail_msg("no tensor %s in the plan", name);
    return NULL;
}

static synth_tensor *plan_of(const char *like, int64_t n_vocab, uint32_t ftype, int *n)
{
    const synth_shape *s = synth_find_shape(like);
    assert_non_null(s);
    synth_tensor *t;
    assert_int_equal(synth_plan(s, s->n_layer, n_vocab, ftype, &t, n), MOTE_OK);
    return t;
}

/* Layers whose attn_v and ffn_down are Q6_K in a Q4_K_M plan, as a bit set. */
static uint64_t q6_layers(const synth_tensor *t, int n, const char *which)
{
    uint64_t set = 0;
    for (int i = 0; i < n; i++)
        if (t[i].layer >= 0 && strstr(t[i].name, which) && t[i].type == GGML_TYPE_Q6_K)
            set |= 1ull << t[i].layer;
    return set;
}


/* ------------------------------------------------------------------------
 * Plans of the real models (no files written)
 * ---------------------------------------------------------------------- */

/* Llama-3.2-1B Q4_K_M as llama.cpp makes it: 96 Q4_K, 17 Q6_K, 34 F32. */
static void test_plan_llama32_1b(void **state)
{
    int n;
    synth_tensor *t = plan_of("llama-3.2-1b", 128256, SYNTH_FTYPE_Q4_K_M, &n);
    assert_int_equal(n, 147);
    assert_int_equal(count_type(t, n, GGML_TYPE_Q4_K), 96);
    assert_int_equal(count_type(t, n, GGML_TYPE_Q6_K), 17);
    assert_int_equal(count_type(t, n, GGML_TYPE_F32), 34);
    /* use_more_bits(i, 16): i < 2, i >= 14, (i - 2) % 3 == 2 */
    assert_true(q6_layers(t, n, "attn_v") == BITS(0, 1, 4, 7, 10, 13, 14, 15));
    assert_true(q6_layers(t, n, "ffn_down") == BITS(0, 1, 4, 7, 10, 13, 14, 15));
    const synth_tensor *e = plan_find(t, n, "token_embd.weight");
    assert_int_equal(e->type, GGML_TYPE_Q6_K);
    assert_true(e->ne[0] == 2048 && e->ne[1] == 128256);
    const synth_tensor *k = plan_find(t, n, "blk.3.attn_k.weight");
    assert_true(k->ne[0] == 2048 && k->ne[1] == 512 && k->n_dims == 2);
    const synth_tensor *d = plan_find(t, n, "blk.3.ffn_down.weight");
    assert_true(d->ne[0] == 8192 && d->ne[1] == 2048);
    const synth_tensor *r = plan_find(t, n, "rope_freqs.weight");
    assert_true(r->n_dims == 1 && r->ne[0] == 32 && r->type == GGML_TYPE_F32);
    for (int i = 0; i < n; i++) assert_true(strcmp(t[i].name, "output.weight") != 0); /* tied */
    /* llama-quantize's order: outside blocks by name, then blocks by number. */
    assert_string_equal(t[0].name, "output_norm.weight");
    assert_string_equal(t[1].name, "rope_freqs.weight");
    assert_string_equal(t[2].name, "token_embd.weight");
    assert_string_equal(t[3].name, "blk.0.attn_k.weight");
    assert_string_equal(t[4].name, "blk.0.attn_norm.weight");
    assert_string_equal(t[3 + 9 * 10].name, "blk.10.attn_k.weight"); /* not after blk.1 */
    free(t);
}

/* Qwen2.5-0.5B-Instruct Q4_K_M (Qwen's own GGUF): 121 F32, 132 Q5_0,
 * 13 Q8_0, 12 Q4_K, 12 Q6_K. Width 896 is not a multiple of 256, so its
 * rows fall back (Q4_K -> Q5_0, Q6_K -> Q8_0); ffn_down (4864 = 19 * 256)
 * does not. */
static void test_plan_qwen25(void **state)
{
    int n;
    synth_tensor *t = plan_of("qwen2.5-0.5b", 151936, SYNTH_FTYPE_Q4_K_M, &n);
    assert_int_equal(n, 290);
    assert_int_equal(count_type(t, n, GGML_TYPE_F32), 121);
    assert_int_equal(count_type(t, n, GGML_TYPE_Q5_0), 132);
    assert_int_equal(count_type(t, n, GGML_TYPE_Q8_0), 13);
    assert_int_equal(count_type(t, n, GGML_TYPE_Q4_K), 12);
    assert_int_equal(count_type(t, n, GGML_TYPE_Q6_K), 12);
    /* use_more_bits(i, 24): i < 3, i >= 21, (i - 3) % 3 == 2 */
    assert_true(q6_layers(t, n, "ffn_down") == BITS(0, 1, 2, 5, 8, 11, 14, 17, 20, 21, 22, 23));
    assert_int_equal(plan_find(t, n, "blk.5.attn_v.weight")->type, GGML_TYPE_Q8_0);
    assert_int_equal(plan_find(t, n, "blk.6.attn_v.weight")->type, GGML_TYPE_Q5_0);
    assert_int_equal(plan_find(t, n, "token_embd.weight")->type, GGML_TYPE_Q8_0);
    const synth_tensor *b = plan_find(t, n, "blk.0.attn_k.bias");
    assert_true(b->n_dims == 1 && b->ne[0] == 128 && b->type == GGML_TYPE_F32);
    free(t);
}

/* SmolLM2-135M Q4_K_M: width 576 falls back like Qwen's 896. Layers by
 * use_more_bits(i, 30): 0-2, 26-29, 5, 8, ..., 23 (14 layers). */
static void test_plan_smollm2(void **state)
{
    int n;
    synth_tensor *t = plan_of("smollm2-135m", 49152, SYNTH_FTYPE_Q4_K_M, &n);
    assert_int_equal(count_type(t, n, GGML_TYPE_F32), 61);
    assert_int_equal(count_type(t, n, GGML_TYPE_Q5_0), 150 + 16);
    assert_int_equal(count_type(t, n, GGML_TYPE_Q8_0), 14 + 1);
    assert_int_equal(count_type(t, n, GGML_TYPE_Q6_K), 14);
    assert_int_equal(count_type(t, n, GGML_TYPE_Q4_K), 16);
    assert_true(q6_layers(t, n, "ffn_down") ==
                BITS(0, 1, 2, 5, 8, 11, 14, 17, 20, 23, 26, 27, 28, 29));
    free(t);
}

/* TinyLlama: separate output (Q6_K), token_embd keeps Q4_K. */
static void test_plan_tinyllama(void **state)
{
    int n;
    synth_tensor *t = plan_of("tinyllama-1.1b", 32000, SYNTH_FTYPE_Q4_K_M, &n);
    assert_int_equal(n, 2 + 1 + 22 * 9);
    assert_int_equal(plan_find(t, n, "output.weight")->type, GGML_TYPE_Q6_K);
    assert_int_equal(plan_find(t, n, "token_embd.weight")->type, GGML_TYPE_Q4_K);
    assert_string_equal(t[0].name, "output.weight");
    /* use_more_bits(i, 22): i < 2, i >= 19, (i - 2) % 3 == 2 */
    assert_true(q6_layers(t, n, "attn_v") == BITS(0, 1, 4, 7, 10, 13, 16, 19, 20, 21));
    assert_int_equal(count_type(t, n, GGML_TYPE_Q6_K), 21);
    const synth_tensor *g = plan_find(t, n, "blk.0.ffn_gate.weight");
    assert_true(g->ne[0] == 2048 && g->ne[1] == 5632);
    free(t);
}

/* The plain types: one type everywhere, except llama.cpp's Q6_K output
 * head in Q4_0 files (Q8_0 when the width is not whole 256-blocks). */
static void test_plan_plain_types(void **state)
{
    static const struct {
        const char *like;
        uint32_t ftype, main, head; /* head: output, or tied token_embd */
        int64_t n_vocab;
    } cases[] = {
        {"llama-3.2-1b", SYNTH_FTYPE_F16, GGML_TYPE_F16, GGML_TYPE_F16, 128256},
        {"llama-3.2-1b", SYNTH_FTYPE_BF16, GGML_TYPE_BF16, GGML_TYPE_BF16, 128256},
        {"llama-3.2-1b", SYNTH_FTYPE_Q8_0, GGML_TYPE_Q8_0, GGML_TYPE_Q8_0, 128256},
        {"llama-3.2-1b", SYNTH_FTYPE_Q4_0, GGML_TYPE_Q4_0, GGML_TYPE_Q6_K, 128256},
        {"smollm2-135m", SYNTH_FTYPE_Q4_0, GGML_TYPE_Q4_0, GGML_TYPE_Q8_0, 49152},
        {"tinyllama-1.1b", SYNTH_FTYPE_Q4_0, GGML_TYPE_Q4_0, GGML_TYPE_Q6_K, 32000},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int n;
        synth_tensor *t = plan_of(cases[c].like, cases[c].n_vocab, cases[c].ftype, &n);
        int tied = synth_find_shape(cases[c].like)->tied;
        for (int i = 0; i < n; i++) {
            uint32_t want = cases[c].main;
            if (t[i].n_dims == 1) want = GGML_TYPE_F32;
            else if (t[i].role == ROLE_OUTPUT || (tied && t[i].role == ROLE_TOKEN_EMBD))
                want = cases[c].head;
            if (t[i].type != want)
                fail_msg("%s %s: %s is %s, expected %s", cases[c].like,
                         synth_ftype_name(cases[c].ftype), t[i].name, ggml_type_name(t[i].type),
                         ggml_type_name(want));
        }
        free(t);
    }
}

/* Llama 3 rope factors: 1 for short wavelengths, 32 for long ones, the
 * converter's blend between (computed here in double). */
static void test_rope_factors(void **state)
{
    float f[32];
    synth_rope_factors(synth_find_shape("llama-3.2-1b"), f);
    for (int i = 0; i < 32; i++) {
        double freq = pow(500000.0, -(2.0 * i) / 64.0), wavelen = 2.0 * M_PI / freq, want;
        if (wavelen < 8192.0 / 4.0) want = 1.0;
        else if (wavelen > 8192.0) want = 32.0;
        else {
            double smooth = (8192.0 / wavelen - 1.0) / (4.0 - 1.0);
            want = 1.0 / ((1.0 - smooth) / 32.0 + smooth);
        }
        if (fabs(f[i] - want) > 1e-6 * want) fail_msg("factor %d: %.9g, expected %.9g", i, f[i], want);
    }
    assert_true(f[14] == 1.0f && f[15] > 1.0f && f[17] < 32.0f && f[18] == 32.0f);
}

static void test_model_names(void **state)
{
    static const char *const want[] = {"llama-3.2-1b", "smollm2-135m", "qwen2.5-0.5b",
                                       "tinyllama-1.1b", "qwen3-0.6b",   "qwen3-1.7b",
                                       "gemma-3-1b",     "gemma-3-270m", "phi-4-mini",
                                       "granite-3.3-2b", "smollm3-3b",   "all-minilm-l6",
                                       "bge-small-en-v1.5", "nomic-embed-text-v1.5",
                                       "embeddinggemma-300m", "tiny-bert"};
    for (size_t w = 0; w < sizeof want / sizeof want[0]; w++) {
        int found = 0;
        for (int i = 0; mote_synth_model_name(i); i++) {
            found |= strcmp(mote_synth_model_name(i), want[w]) == 0;
            assert_non_null(mote_synth_model_about(i));
        }
        assert_true(found);
    }
    assert_null(mote_synth_model_name(-1));
    assert_null(mote_synth_model_name(1000));
}

/* ------------------------------------------------------------------------
 * Written files: open, check, run
 * ---------------------------------------------------------------------- */

/* The type name of tensor `name` in an open model, or NULL if absent. */
static const char *tensor_type(const mote_model *m, const char *name, int64_t ne[4])
{
    for (int64_t i = 0; i < mote_model_tensor_count(m); i++) {
        const char *tn, *type;
        int n_dims;
        uint64_t nbytes;
        assert_int_equal(mote_model_tensor_info(m, i, &tn, &type, ne, &n_dims, &nbytes), MOTE_OK);
        if (strcmp(tn, name) == 0) return type;
    }
    return NULL;
}

static void expect_type(const mote_model *m, const char *name, const char *want)
{
    int64_t ne[4];
    const char *got = tensor_type(m, name, ne);
    if (!got) fail_msg("tensor %s missing", name);
    if (strcmp(got, want) != 0) fail_msg("%s is %s, expected %s", name, got, want);
}

/* A few tokens through the model: every logit finite, not all equal. */
static void expect_forward_ok(const mote_model *m)
{
    mote_session_params sp = mote_session_default_params();
    sp.n_ctx = 32;
    sp.n_threads = 2;
    mote_session *s;
    assert_int_equal(mote_session_create(m, &sp, &s), MOTE_OK);
    int n_vocab = mote_vocab_size(m);
    mote_token toks[4] = {1, 5 % n_vocab, 100 % n_vocab, 300 % n_vocab};
    assert_int_equal(mote_session_eval(s, toks, 4, 0), MOTE_OK);
    const float *lg = mote_session_logits(s, -1);
    assert_non_null(lg);
    float lo = lg[0], hi = lg[0];
    for (int i = 0; i < n_vocab; i++) {
        if (!isfinite(lg[i])) fail_msg("logit %d is %g", i, lg[i]);
        lo = lg[i] < lo ? lg[i] : lo;
        hi = lg[i] > hi ? lg[i] : hi;
    }
    assert_true(hi > lo);
    mote_session_free(s);
}

/* tiny-llama (8 layers, separate output, width 256: no fallbacks) in every
 * type: hyper-parameters, every tensor's type as llama.cpp chooses it, and a
 * forward pass. */
static void test_types_open_and_run(void **state)
{
    SKIP_WITHOUT_SHARED();
    static const char *const types[] = {"F16", "BF16", "Q8_0", "Q4_0", "Q4_K_M"};
    static const char *const mats[] = {"attn_q", "attn_k", "attn_v", "attn_output",
                                       "ffn_gate", "ffn_up", "ffn_down"};
    char *path = temp_path();
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        const char *type = types[ti];
        synth_ok(path, (synth_args){.like = "tiny-llama", .type = type, .seed = 3});
        mote_model *m;
        if (mote_model_open(path, NULL, &m) != MOTE_OK) fail_msg("%s: %s", type, mote_last_error());
        mote_model_info info;
        assert_int_equal(mote_model_get_info(m, &info), MOTE_OK);
        assert_string_equal(info.arch, "llama");
        assert_int_equal(info.n_embd, 256);
        assert_int_equal(info.n_layer, 8);
        assert_int_equal(info.n_head, 4);
        assert_int_equal(info.n_head_kv, 2);
        assert_int_equal(info.n_ff, 256);
        assert_int_equal(info.n_vocab, 512); /* stories260K's vocabulary */
        assert_int_equal(info.n_ctx_train, 2048);
        assert_true(info.rope_freq_base == 10000.0f && info.norm_eps == 1e-5f);
        char ft[16];
        assert_int_equal(mote_model_meta_string(m, "general.file_type", ft, sizeof ft), MOTE_OK);
        uint32_t want_ft;
        assert_int_equal(synth_parse_ftype(type, &want_ft), MOTE_OK);
        assert_int_equal(atoi(ft), (int)want_ft);

        int k_m = strcmp(type, "Q4_K_M") == 0;
        const char *plain = k_m ? "Q4_K" : type;
        expect_type(m, "output.weight", k_m || strcmp(type, "Q4_0") == 0 ? "Q6_K" : type);
        expect_type(m, "token_embd.weight", plain);
        expect_type(m, "output_norm.weight", "F32");
        for (int il = 0; il < 8; il++) {
            /* use_more_bits(i, 8): i < 1, i >= 7, (i - 1) % 3 == 2 */
            int more = il == 0 || il == 3 || il == 6 || il == 7;
            char name[64];
            for (size_t j = 0; j < sizeof mats / sizeof mats[0]; j++) {
                snprintf(name, sizeof name, "blk.%d.%s.weight", il, mats[j]);
                int q6 = k_m && more && (j == 2 || j == 6);
                expect_type(m, name, q6 ? "Q6_K" : plain);
            }
            snprintf(name, sizeof name, "blk.%d.attn_norm.weight", il);
            expect_type(m, name, "F32");
        }
        expect_forward_ok(m);
        mote_model_close(m);
    }
    test_remove_temp(path);
}

/* tiny-qwen2: width 320 is not whole 256-blocks (Q4_K -> Q5_0, Q6_K ->
 * Q8_0), 768 is; biases; qwen2 keys (no vocab_size, no rope dims). */
static void test_qwen2_fallbacks(void **state)
{
    SKIP_WITHOUT_SHARED();
    char *path = temp_path();
    synth_ok(path, (synth_args){.like = "tiny-qwen2", .type = "Q4_K_M", .seed = 5});
    mote_model *m;
    assert_int_equal(mote_model_open(path, NULL, &m), MOTE_OK);
    mote_model_info info;
    assert_int_equal(mote_model_get_info(m, &info), MOTE_OK);
    assert_string_equal(info.arch, "qwen2");
    assert_true(info.rope_freq_base == 1e6f && info.norm_eps == 1e-6f);
    expect_type(m, "token_embd.weight", "Q8_0"); /* tied: the head's type */
    /* use_more_bits(i, 2) holds for i = 1 only */
    expect_type(m, "blk.0.attn_v.weight", "Q5_0");
    expect_type(m, "blk.1.attn_v.weight", "Q8_0");
    expect_type(m, "blk.1.attn_q.weight", "Q5_0");
    expect_type(m, "blk.0.ffn_down.weight", "Q4_K");
    expect_type(m, "blk.1.ffn_down.weight", "Q6_K");
    int64_t ne[4];
    assert_string_equal(tensor_type(m, "blk.1.attn_k.bias", ne), "F32");
    assert_int_equal(ne[0], 64);
    assert_null(tensor_type(m, "output.weight", ne));
    char buf[32];
    assert_int_not_equal(mote_model_meta_string(m, "qwen2.vocab_size", buf, sizeof buf), MOTE_OK);
    assert_int_not_equal(mote_model_meta_string(m, "qwen2.rope.dimension_count", buf, sizeof buf),
                         MOTE_OK);
    assert_int_equal(mote_model_meta_string(m, "general.quantization_version", buf, sizeof buf),
                     MOTE_OK);
    assert_string_equal(buf, "2");
    expect_forward_ok(m);
    mote_model_close(m);
    test_remove_temp(path);
}

/* tiny-llama3: rope_freqs written as computed, head-dim keys, tied. */
static void test_llama3_rope_tensor(void **state)
{
    SKIP_WITHOUT_SHARED();
    char *path = temp_path();
    synth_ok(path, (synth_args){.like = "tiny-llama3", .type = "F16"});
    gguf_file *f;
    assert_int_equal(gguf_open(path, &f), MOTE_OK);
    const gguf_tensor *t = gguf_find_tensor(f, "rope_freqs.weight");
    assert_non_null(t);
    assert_true(t->type == GGML_TYPE_F32 && t->n_dims == 1 && t->ne[0] == 32);
    float want[32];
    synth_rope_factors(synth_find_shape("llama-3.2-1b"), want); /* same head dim and scaling */
    assert_memory_equal(t->data, want, sizeof want);
    uint32_t v;
    assert_int_equal(gguf_get_u32(f, "llama.attention.key_length", &v), MOTE_OK);
    assert_int_equal(v, 64);
    assert_int_equal(gguf_get_u32(f, "llama.vocab_size", &v), MOTE_OK);
    assert_int_equal(v, 512);
    assert_null(gguf_find_tensor(f, "output.weight"));
    assert_null(gguf_find_kv(f, "general.quantization_version")); /* F16: not quantized */
    gguf_close(f);
    test_remove_temp(path);
}

/* --layers overrides the block count, and the Q4_K_M rule follows it. */
static void test_layers_override(void **state)
{
    SKIP_WITHOUT_SHARED();
    char *path = temp_path();
    synth_ok(path, (synth_args){.like = "tiny-llama", .type = "Q4_K_M", .layers = 1});
    mote_model *m;
    assert_int_equal(mote_model_open(path, NULL, &m), MOTE_OK);
    mote_model_info info;
    assert_int_equal(mote_model_get_info(m, &info), MOTE_OK);
    assert_int_equal(info.n_layer, 1);
    int64_t ne[4];
    assert_null(tensor_type(m, "blk.1.attn_q.weight", ne));
    expect_type(m, "blk.0.attn_v.weight", "Q6_K"); /* use_more_bits(0, 1): 0 >= 7 / 8 */
    mote_model_close(m);
    test_remove_temp(path);
}

/* ------------------------------------------------------------------------
 * Bytes and values
 * ---------------------------------------------------------------------- */

/* Same parameters, same bytes, whatever the thread count; the seed and
 * the exact mode change them. */
static void test_deterministic(void **state)
{
    SKIP_WITHOUT_SHARED();
    char *a = temp_path(), *b = temp_path();
    synth_args args = {.like = "tiny-llama3", .type = "Q4_K_M", .seed = 7, .threads = 1};
    synth_ok(a, args);
    args.threads = 2;
    synth_ok(b, args);
    assert_true(test_same_bytes(a, b));
    args.seed = 8;
    synth_ok(b, args);
    assert_false(test_same_bytes(a, b));

    args.seed = 7;
    args.exact = 1;
    args.threads = 1;
    synth_ok(b, args);
    assert_false(test_same_bytes(a, b)); /* exact differs from pooled */
    args.threads = 2;
    synth_ok(a, args);
    assert_true(test_same_bytes(a, b));
    test_remove_temp(a);
    test_remove_temp(b);
}

/* Mean, standard deviation and largest magnitude of a tensor's values. */
static void tensor_stats(const gguf_tensor *t, double *mean, double *std, double *amax)
{
    int64_t cols = t->ne[0], rows = t->ne[1];
    size_t row_bytes = ggml_row_size(t->type, cols);
    float *x = malloc((size_t)cols * sizeof *x);
    assert_non_null(x);
    double s = 0, s2 = 0, m = 0;
    for (int64_t r = 0; r < rows; r++) {
        assert_int_equal(dequantize_row(t->type, (const char *)t->data + r * row_bytes, x, cols),
                         MOTE_OK);
        for (int64_t j = 0; j < cols; j++) {
            s += x[j];
            s2 += (double)x[j] * x[j];
            m = fabs(x[j]) > m ? fabs(x[j]) : m;
        }
    }
    double n = (double)(cols * rows);
    *mean = s / n;
    *std = sqrt(s2 / n - *mean * *mean);
    *amax = m;
    free(x);
}

/* Weights are about N(0, 0.02) (tails cut at 2 * sqrt(3) = 3.46 sigma),
 * in both modes; norms are 1; biases random like weights. */
static void test_weight_statistics(void **state)
{
    SKIP_WITHOUT_SHARED();
    static const struct {
        const char *like, *type, *tensor;
        int exact;
        double std_tol; /* quantization adds its own noise */
    } cases[] = {
        {"tiny-llama", "Q8_0", "blk.0.ffn_gate.weight", 0, 0.03},
        {"tiny-llama", "Q8_0", "blk.0.ffn_gate.weight", 1, 0.03},
        {"tiny-llama", "F16", "token_embd.weight", 0, 0.03},
        {"tiny-llama", "Q4_K_M", "blk.2.attn_q.weight", 0, 0.10},
        {"tiny-llama", "Q4_K_M", "blk.2.attn_q.weight", 1, 0.10},
        {"tiny-qwen2", "Q8_0", "blk.0.attn_q.bias", 0, 0.15},
    };
    char *path = temp_path();
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        synth_ok(path, (synth_args){.like = cases[c].like, .type = cases[c].type,
                                    .exact = cases[c].exact});
        gguf_file *f;
        assert_int_equal(gguf_open(path, &f), MOTE_OK);
        const gguf_tensor *t = gguf_find_tensor(f, cases[c].tensor);
        assert_non_null(t);
        double mean, std, amax;
        tensor_stats(t, &mean, &std, &amax);
        double n = (double)(t->ne[0] * t->ne[1]);
        if (fabs(mean) > 5 * 0.02 / sqrt(n) + 1e-4 || fabs(std - 0.02) > cases[c].std_tol * 0.02 ||
            amax > 3.47 * 0.02 * 1.1)
            fail_msg("%s %s %s: mean %g std %g max %g", cases[c].like, cases[c].type,
                     cases[c].tensor, mean, std, amax);
        const gguf_tensor *norm = gguf_find_tensor(f, "blk.0.ffn_norm.weight");
        assert_non_null(norm);
        for (int64_t j = 0; j < norm->ne[0]; j++) assert_true(((const float *)norm->data)[j] == 1.0f);
        gguf_close(f);
    }
    test_remove_temp(path);
}

/* ------------------------------------------------------------------------
 * The tokenizer
 * ---------------------------------------------------------------------- */

static void expect_same_kv(const gguf_kv *a, const gguf_kv *b)
{
    assert_int_equal(a->type, b->type);
    if (a->type == GGUF_TYPE_STRING) {
        assert_true(a->str.len == b->str.len && memcmp(a->str.ptr, b->str.ptr, a->str.len) == 0);
    } else if (a->type == GGUF_TYPE_ARRAY) {
        assert_int_equal(a->arr_type, b->arr_type);
        assert_true(a->arr_n == b->arr_n);
        if (a->arr_type == GGUF_TYPE_STRING) {
            for (uint64_t i = 0; i < a->arr_n; i++)
                assert_true(a->arr_strs[i].len == b->arr_strs[i].len &&
                            memcmp(a->arr_strs[i].ptr, b->arr_strs[i].ptr, a->arr_strs[i].len) == 0);
        } else {
            assert_memory_equal(a->arr_data, b->arr_data, a->arr_n * gguf_type_size(a->arr_type));
        }
    } else {
        assert_true(a->v.u64 == b->v.u64);
    }
}

/* Every tokenizer.* key of the vocabulary file is copied as it is (chat
 * template included), and both tokenize and render alike. */
static void test_vocab_copied(void **state)
{
    SKIP_WITHOUT_SHARED();
    char vocab[4096];
    snprintf(vocab, sizeof vocab, "%s", shared_path("vocab/ggml-vocab-phi-3.gguf"));
    char *path = temp_path();
    synth_ok(path, (synth_args){.like = "tiny-llama3", .type = "Q8_0",
                                .vocab = "vocab/ggml-vocab-phi-3.gguf"});
    gguf_file *vf, *sf;
    assert_int_equal(gguf_open(vocab, &vf), MOTE_OK);
    assert_int_equal(gguf_open(path, &sf), MOTE_OK);
    int n_tok_keys = 0, n_copied = 0;
    for (uint64_t i = 0; i < vf->n_kv; i++) {
        if (strncmp(vf->kv[i].key, "tokenizer.", 10) != 0) continue;
        n_tok_keys++;
        const gguf_kv *kv = gguf_find_kv(sf, vf->kv[i].key);
        if (!kv) fail_msg("key %s not copied", vf->kv[i].key);
        expect_same_kv(&vf->kv[i], kv);
    }
    for (uint64_t i = 0; i < sf->n_kv; i++) n_copied += strncmp(sf->kv[i].key, "tokenizer.", 10) == 0;
    assert_int_equal(n_tok_keys, n_copied);
    assert_non_null(gguf_find_kv(sf, "tokenizer.chat_template"));
    assert_int_equal(gguf_find_tensor(sf, "token_embd.weight")->ne[1], 32064);
    gguf_close(vf);
    gguf_close(sf);

    mote_model *m, *v;
    mote_model_params vp = {.vocab_only = 1};
    assert_int_equal(mote_model_open(path, NULL, &m), MOTE_OK);
    assert_int_equal(mote_model_open(vocab, &vp, &v), MOTE_OK);
    assert_int_equal(mote_vocab_size(m), 32064);
    /* Special tokens in the text are not parsed: like llama.cpp, mote gives
     * phi-3's special tokens rstrip by general.name, which a synthetic model
     * does not share with the vocabulary file. */
    const char *text = "Hello world!  Synthetic models keep the tokenizer:\n\t<|user|> 123";
    mote_token a[128], b[128];
    size_t na, nb;
    assert_int_equal(mote_tokenize(m, text, strlen(text), 1, 0, a, 128, &na), MOTE_OK);
    assert_int_equal(mote_tokenize(v, text, strlen(text), 1, 0, b, 128, &nb), MOTE_OK);
    assert_true(na == nb && na > 5);
    assert_memory_equal(a, b, na * sizeof a[0]);
    mote_chat_message msg = {"user", "Hi there"};
    char *ra, *rb;
    assert_int_equal(mote_chat_apply(m, NULL, &msg, 1, 1, &ra), MOTE_OK);
    assert_int_equal(mote_chat_apply(v, NULL, &msg, 1, 1, &rb), MOTE_OK);
    assert_string_equal(ra, rb);
    mote_free(ra);
    mote_free(rb);
    expect_forward_ok(m);
    mote_model_close(m);
    mote_model_close(v);
    test_remove_temp(path);
}

/* ------------------------------------------------------------------------
 * Errors
 * ---------------------------------------------------------------------- */

static void test_errors(void **state)
{
    SKIP_WITHOUT_SHARED();
    char *path = temp_path();
    assert_int_equal(synth_to(path, (synth_args){.like = "gpt-5", .type = "Q8_0"}), MOTE_E_INVALID);
    assert_non_null(strstr(mote_last_error(), "gpt-5"));
    assert_int_equal(synth_to(path, (synth_args){.like = "tiny-llama", .type = "Q3_K"}),
                     MOTE_E_INVALID);
    assert_non_null(strstr(mote_last_error(), "Q3_K"));
    assert_int_equal(synth_to(path, (synth_args){.like = "tiny-llama", .type = "Q8_0", .layers = -1}),
                     MOTE_E_INVALID);
    assert_int_equal(mote_synth(NULL), MOTE_E_INVALID);
    mote_synth_params p = mote_synth_default_params();
    assert_int_equal(mote_synth(&p), MOTE_E_INVALID); /* no like, vocab, output */
    assert_int_equal(synth_to(path, (synth_args){.like = "tiny-llama", .type = "Q8_0",
                                                  .vocab = "vocab/no-such-vocab.gguf"}),
                     MOTE_E_IO);
    assert_non_null(strstr(mote_last_error(), "no-such-vocab.gguf"));

    /* A GGUF without tokenizer.ggml.tokens cannot give a vocabulary. */
    gguf_writer *w;
    assert_int_equal(gguf_writer_create(&w), MOTE_OK);
    assert_int_equal(gguf_writer_add_str(w, "general.architecture", "llama"), MOTE_OK);
    assert_int_equal(gguf_writer_write_file(w, path), MOTE_OK);
    gguf_writer_free(w);
    mote_synth_params q = mote_synth_default_params();
    q.like = "tiny-llama";
    q.vocab_path = path;
    q.out_path = "/nonexistent-dir/out.gguf";
    assert_int_equal(mote_synth(&q), MOTE_E_FORMAT);
    assert_non_null(strstr(mote_last_error(), "tokenizer.ggml.tokens"));

    /* An output that cannot be created: an I/O error, nothing left. */
    char vocab[4096];
    snprintf(vocab, sizeof vocab, "%s", shared_path("models/stories260K.gguf"));
    q.vocab_path = vocab;
    assert_int_equal(mote_synth(&q), MOTE_E_IO);
    assert_int_equal(access("/nonexistent-dir/out.gguf", F_OK), -1);

    /* The output may not be the vocabulary file itself. */
    synth_ok(path, (synth_args){.like = "tiny-llama", .type = "Q8_0", .layers = 1});
    q.vocab_path = path;
    q.out_path = path;
    assert_int_equal(mote_synth(&q), MOTE_E_INVALID);
    gguf_file *f;
    assert_int_equal(gguf_open(path, &f), MOTE_OK); /* untouched */
    gguf_close(f);
    test_remove_temp(path);
}

/* A writer replaces only regular files, in place of the final name only
 * when complete: a device stays a device (`-o /dev/full` once deleted
 * /dev/full), a link stays a link whose target is replaced, and a failed
 * write leaves no file behind. */
static void test_output_targets(void **state)
{
    (void)state;
    char *dir = synthmodel_tempdir();
    char vocab[512], target[512], link[512], sub[512];
    snprintf(vocab, sizeof vocab, "%s/vocab.gguf", dir);
    synthmodel_write_vocab(vocab);
    mote_synth_params p = mote_synth_default_params();
    p.like = "tiny-llama";
    p.type = "Q8_0";
    p.vocab_path = vocab;
    p.n_layer = 1;

    struct stat sb;
    if (stat("/dev/full", &sb) == 0 && S_ISCHR(sb.st_mode)) {
        p.out_path = "/dev/full";
        assert_int_equal(mote_synth(&p), MOTE_E_IO);
        assert_non_null(strstr(mote_last_error(), "not a regular file"));
        assert_int_equal(stat("/dev/full", &sb), 0);
        assert_true(S_ISCHR(sb.st_mode));
    }
    snprintf(sub, sizeof sub, "%s/folder", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    p.out_path = sub;
    assert_int_equal(mote_synth(&p), MOTE_E_IO);
    assert_int_equal(stat(sub, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    assert_int_equal(rmdir(sub), 0);

    snprintf(target, sizeof target, "%s/target.gguf", dir);
    snprintf(link, sizeof link, "%s/link.gguf", dir);
    FILE *f = fopen(target, "w");
    assert_non_null(f);
    fputs("old", f);
    fclose(f);
    assert_int_equal(symlink("target.gguf", link), 0);
    p.out_path = link;
    assert_int_equal(mote_synth(&p), MOTE_OK);
    assert_int_equal(lstat(link, &sb), 0);
    assert_true(S_ISLNK(sb.st_mode));
    mote_model *m = NULL;
    assert_int_equal(mote_model_open(target, NULL, &m), MOTE_OK); /* the new model, through the link's target */
    mote_model_close(m);
    assert_int_equal(unlink(link), 0);
    assert_int_equal(unlink(target), 0);
    DIR *d = opendir(dir); /* only the vocabulary is left: no temporary file */
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) n += e->d_name[0] != '.';
    closedir(d);
    assert_int_equal(n, 1);
    synthmodel_tempdir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_llama32_1b),
        cmocka_unit_test(test_plan_qwen25),
        cmocka_unit_test(test_plan_smollm2),
        cmocka_unit_test(test_plan_tinyllama),
        cmocka_unit_test(test_plan_plain_types),
        cmocka_unit_test(test_rope_factors),
        cmocka_unit_test(test_model_names),
        cmocka_unit_test(test_types_open_and_run),
        cmocka_unit_test(test_qwen2_fallbacks),
        cmocka_unit_test(test_llama3_rope_tensor),
        cmocka_unit_test(test_layers_override),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_weight_statistics),
        cmocka_unit_test(test_vocab_copied),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_output_targets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
