/*
 * test_model.c — loading models: every architecture requirement is checked
 * (missing tensors, wrong shapes, unsupported types, bad hyper-parameters)
 * with a clear error naming the problem; sessions reject bad use cleanly.
 *
 * Broken models are made from ../shared/models/stories260K.gguf by copying
 * its metadata and tensors with one thing changed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gguf/gguf.h"
#include "gguf/gguf_write.h"
#include "mote.h"
#include "testutil.h"

/* One change applied while copying the reference model. */
typedef struct mutation {
    const char *drop_tensor;   /* leave this tensor out */
    const char *shrink_tensor; /* halve ne[0] of this tensor */
    const char *retype_tensor; /* give this tensor type `new_type` */
    uint32_t new_type;
    const char *drop_key;      /* leave this key out */
    const char *u32_key;       /* set this key to u32_value */
    uint32_t u32_value;
    const char *arch;          /* replace general.architecture */
    const char *f32_key;       /* set this key to f32_value */
    float f32_value;
    const char *extra_tensor;  /* add a copy of blk.0.attn_norm.weight under this name */
    const char *patch_type;    /* after writing, overwrite this tensor's type field in the file */
    uint32_t patched_type;     /* with this, leaving its data as it is */
    const char *source;        /* copy this model (under ../shared) instead of stories260K */
    int bad_rope_freq;         /* 1 + the element of rope_freqs.weight to set to bad_rope_value */
    float bad_rope_value;
} mutation;

static char tmp_path[64];

/* Overwrite the type field of tensor `name` in the file at tmp_path, as a
 * corrupted or hand-edited file would have it: offsets and data unchanged. */
static void patch_type_field(const char *name, uint32_t type)
{
    size_t len, n = strlen(name);
    uint8_t *p = (uint8_t *)read_file(tmp_path, &len);
    assert_non_null(p);
    size_t i = 8;
    while (i + n + 4 <= len && !(memcmp(p + i, name, n) == 0 && p[i - 8] == n && p[i - 7] == 0)) i++;
    assert_true(i + n + 4 <= len);
    uint32_t n_dims = p[i + n];
    size_t at = i + n + 4 + 8 * (size_t)n_dims;
    for (int b = 0; b < 4; b++) p[at + (size_t)b] = (uint8_t)(type >> (8 * b));
    FILE *fp = fopen(tmp_path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(p, 1, len, fp), len);
    fclose(fp);
    free(p);
}

static mote_status write_mutant(const mutation *mu)
{
    gguf_file *src;
    assert_int_equal(gguf_open(shared_path(mu->source ? mu->source : "models/stories260K.gguf"), &src), MOTE_OK);
    gguf_writer *w;
    assert_int_equal(gguf_writer_create(&w), MOTE_OK);
    void *zeros = calloc(1, 1 << 20);
    for (uint64_t i = 0; i < src->n_kv; i++) {
        const gguf_kv *kv = &src->kv[i];
        if (mu->drop_key && strcmp(kv->key, mu->drop_key) == 0) continue;
        if (mu->u32_key && strcmp(kv->key, mu->u32_key) == 0) continue;
        if (mu->arch && strcmp(kv->key, "general.architecture") == 0) continue;
        if (mu->f32_key && strcmp(kv->key, mu->f32_key) == 0) continue;
        assert_int_equal(gguf_writer_add_kv(w, kv), MOTE_OK);
    }
    if (mu->u32_key) assert_int_equal(gguf_writer_add_u32(w, mu->u32_key, mu->u32_value), MOTE_OK);
    if (mu->arch) assert_int_equal(gguf_writer_add_str(w, "general.architecture", mu->arch), MOTE_OK);
    if (mu->f32_key) assert_int_equal(gguf_writer_add_f32(w, mu->f32_key, mu->f32_value), MOTE_OK);
    for (uint64_t i = 0; i < src->n_tensors; i++) {
        const gguf_tensor *t = &src->tensors[i];
        int64_t ne[4];
        memcpy(ne, t->ne, sizeof ne);
        uint32_t type = t->type;
        const void *data = t->data;
        if (mu->drop_tensor && strcmp(t->name, mu->drop_tensor) == 0) continue;
        if (mu->shrink_tensor && strcmp(t->name, mu->shrink_tensor) == 0) ne[0] /= 2;
        if (mu->bad_rope_freq && strcmp(t->name, "rope_freqs.weight") == 0) {
            assert_true(t->type == GGML_TYPE_F32 && t->nbytes <= (1 << 20));
            memcpy(zeros, t->data, t->nbytes);
            ((float *)zeros)[mu->bad_rope_freq - 1] = mu->bad_rope_value;
            data = zeros;
        }
        if (mu->retype_tensor && strcmp(t->name, mu->retype_tensor) == 0) {
            type = mu->new_type;
            data = zeros;
        }
        assert_int_equal(gguf_writer_add_tensor(w, t->name, type, t->n_dims, ne, data), MOTE_OK);
        if (mu->extra_tensor && strcmp(t->name, "blk.0.attn_norm.weight") == 0)
            assert_int_equal(gguf_writer_add_tensor(w, mu->extra_tensor, t->type, t->n_dims, t->ne, t->data),
                             MOTE_OK);
    }
    strcpy(tmp_path, "/tmp/mote-test-model-XXXXXX");
    int fd = mkstemp(tmp_path);
    assert_true(fd >= 0);
    close(fd);
    mote_status st = gguf_writer_write_file(w, tmp_path);
    gguf_writer_free(w);
    gguf_close(src);
    free(zeros);
    if (st == MOTE_OK && mu->patch_type) patch_type_field(mu->patch_type, mu->patched_type);
    return st;
}

/* Open the mutant; it must fail with `want` and a message containing `needle`. */
static void expect_open_error(const mutation *mu, mote_status want, const char *needle)
{
    assert_int_equal(write_mutant(mu), MOTE_OK);
    mote_model *m = NULL;
    mote_status st = mote_model_open(tmp_path, NULL, &m);
    unlink(tmp_path);
    if (st != want || !strstr(mote_last_error(), needle))
        fail_msg("expected status %d with '%s', got %d: %s", want, needle, st, mote_last_error());
    assert_null(m);
}

static void test_reference_opens(void **state)
{
    SKIP_WITHOUT_SHARED();
    mote_model *m;
    assert_int_equal(mote_model_open(shared_path("models/stories260K.gguf"), NULL, &m), MOTE_OK);
    mote_model_info info;
    assert_int_equal(mote_model_get_info(m, &info), MOTE_OK);
    assert_string_equal(info.arch, "llama");
    assert_int_equal(info.n_layer, 5);
    assert_int_equal(info.n_embd, 64);
    assert_int_equal(info.n_head, 8);
    assert_int_equal(info.n_head_kv, 4);
    assert_int_equal(info.n_vocab, 512);
    assert_int_equal(info.n_ctx_train, 2048);
    assert_true(info.rope_freq_base == 10000.0f); /* absent key: the default */
    assert_false(info.vocab_only);
    assert_string_equal(info.warnings, ""); /* its -1 ("none") ids are not worth one */
    mote_model_close(m);

    /* an unchanged copy opens too: the mutation harness itself is sound */
    mutation none = {0};
    assert_int_equal(write_mutant(&none), MOTE_OK);
    assert_int_equal(mote_model_open(tmp_path, NULL, &m), MOTE_OK);
    unlink(tmp_path);
    mote_model_close(m);
}

static void test_missing_tensors(void **state)
{
    SKIP_WITHOUT_SHARED();
    const char *names[] = {"token_embd.weight", "output_norm.weight", "blk.0.attn_q.weight",
                           "blk.4.ffn_down.weight", "blk.2.attn_norm.weight", "blk.3.attn_output.weight"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        mutation mu = {.drop_tensor = names[i]};
        expect_open_error(&mu, MOTE_E_FORMAT, names[i]);
    }
}

static void test_wrong_shapes(void **state)
{
    SKIP_WITHOUT_SHARED();
    const char *names[] = {"blk.0.attn_k.weight", "blk.1.ffn_up.weight", "output_norm.weight",
                           "blk.4.ffn_norm.weight", "token_embd.weight"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        mutation mu = {.shrink_tensor = names[i]};
        expect_open_error(&mu, MOTE_E_FORMAT, names[i]);
    }
}

static void test_unsupported_types(void **state)
{
    SKIP_WITHOUT_SHARED();
    /* MXFP4 is a valid GGUF type that mote cannot compute with (yet) */
    mutation mu = {.retype_tensor = "blk.0.attn_q.weight", .new_type = GGML_TYPE_MXFP4};
    expect_open_error(&mu, MOTE_E_UNSUPPORTED, "MXFP4");
    /* norms must be F32 */
    mutation mu2 = {.retype_tensor = "blk.0.attn_norm.weight", .new_type = GGML_TYPE_F16};
    expect_open_error(&mu2, MOTE_E_UNSUPPORTED, "blk.0.attn_norm.weight");
}

static void test_bad_hparams(void **state)
{
    SKIP_WITHOUT_SHARED();
    mutation no_layers = {.drop_key = "llama.block_count"};
    expect_open_error(&no_layers, MOTE_E_FORMAT, "llama.block_count");
    mutation zero_heads = {.u32_key = "llama.attention.head_count", .u32_value = 0};
    expect_open_error(&zero_heads, MOTE_E_FORMAT, "head_count");
    mutation odd_kv = {.u32_key = "llama.attention.head_count_kv", .u32_value = 3};
    expect_open_error(&odd_kv, MOTE_E_FORMAT, "head_count_kv");
    mutation more_layers = {.u32_key = "llama.block_count", .u32_value = 6};
    expect_open_error(&more_layers, MOTE_E_FORMAT, "blk.5.");
    mutation arch = {.arch = "mamba"};
    expect_open_error(&arch, MOTE_E_UNSUPPORTED, "mamba");
}

/* A non-finite or out-of-range float hyper-parameter is refused, naming the key and value. */
static void test_bad_float_hparams(void **state)
{
    SKIP_WITHOUT_SHARED();
    static const struct {
        const char *key;
        float v;
        const char *needle;
    } cases[] = {
        {"llama.attention.layer_norm_rms_epsilon", INFINITY, "layer_norm_rms_epsilon = inf is out of range"},
        {"llama.attention.layer_norm_rms_epsilon", NAN, "layer_norm_rms_epsilon = nan"},
        {"llama.attention.layer_norm_rms_epsilon", -1e-5f, "a number in (0, 1)"},
        {"llama.attention.layer_norm_rms_epsilon", 0.0f, "layer_norm_rms_epsilon = 0 is out of range"},
        {"llama.rope.freq_base", INFINITY, "llama.rope.freq_base = inf"},
        {"llama.rope.freq_base", -INFINITY, "llama.rope.freq_base = -inf"},
        {"llama.rope.freq_base", NAN, "llama.rope.freq_base = nan"},
        {"llama.rope.freq_base", -10000.0f, "a finite number > 0"},
        {"llama.rope.scaling.factor", NAN, "llama.rope.scaling.factor = nan"},
        {"llama.rope.scaling.factor", INFINITY, "a finite number >= 0"},
        {"llama.rope.scaling.factor", -2.0f, "llama.rope.scaling.factor = -2"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mutation mu = {.f32_key = cases[i].key, .f32_value = cases[i].v};
        expect_open_error(&mu, MOTE_E_FORMAT, cases[i].needle);
    }
    /* rope_freqs (llama3 scaling) divides frequencies: the same rule, per element */
    static const float bad_freqs[] = {NAN, INFINITY, 0.0f, -1.0f};
    for (size_t i = 0; i < sizeof bad_freqs / sizeof bad_freqs[0]; i++) {
        mutation mu = {.source = "models/synth-llama3-F32.gguf", .bad_rope_freq = 4, .bad_rope_value = bad_freqs[i]};
        expect_open_error(&mu, MOTE_E_FORMAT, "tensor 'rope_freqs.weight' element 3 = ");
    }
    /* in range: opens */
    mutation ok = {.f32_key = "llama.rope.freq_base", .f32_value = 5e5f};
    mote_model *m;
    assert_int_equal(write_mutant(&ok), MOTE_OK);
    assert_int_equal(mote_model_open(tmp_path, NULL, &m), MOTE_OK);
    unlink(tmp_path);
    mote_model_close(m);
}

/* Out-of-range special-token ids are ignored as llama.cpp does, but not
 * silently: the model's info lists them. */
static void test_special_ids_out_of_range(void **state)
{
    SKIP_WITHOUT_SHARED();
    mutation bos = {.u32_key = "tokenizer.ggml.bos_token_id", .u32_value = 99999};
    assert_int_equal(write_mutant(&bos), MOTE_OK);
    mote_model *m;
    assert_int_equal(mote_model_open(tmp_path, NULL, &m), MOTE_OK);
    unlink(tmp_path);
    mote_model_info info;
    assert_int_equal(mote_model_get_info(m, &info), MOTE_OK);
    assert_string_equal(info.warnings, "tokenizer.ggml.bos_token_id 99999 is outside the vocabulary "
                                       "(512 tokens); ignored, using the default 1\n");
    assert_int_equal(mote_token_bos(m), 1);
    mote_model_close(m);

    mutation eos = {.u32_key = "tokenizer.ggml.eos_token_id", .u32_value = 512};
    assert_int_equal(write_mutant(&eos), MOTE_OK);
    assert_int_equal(mote_model_open(tmp_path, NULL, &m), MOTE_OK);
    unlink(tmp_path);
    assert_int_equal(mote_model_get_info(m, &info), MOTE_OK);
    assert_non_null(strstr(info.warnings, "tokenizer.ggml.eos_token_id 512 is outside the vocabulary"));
    mote_model_close(m);
}

/* Every tensor in the file must be one the architecture uses. */
static void test_unused_tensors(void **state)
{
    SKIP_WITHOUT_SHARED();
    /* 5 blocks of tensors, block_count 4: blk.4.* would be skipped */
    mutation fewer_layers = {.u32_key = "llama.block_count", .u32_value = 4};
    expect_open_error(&fewer_layers, MOTE_E_FORMAT,
                      "tensor 'blk.4.attn_q.weight' is not used by architecture 'llama' with llama.block_count = 4");
    mutation stray = {.extra_tensor = "blk.0.attn_output.bias"};
    expect_open_error(&stray, MOTE_E_FORMAT, "tensor 'blk.0.attn_output.bias' is not used");
    mutation typo = {.extra_tensor = "blk.0.atn_norm.weight"};
    expect_open_error(&typo, MOTE_E_FORMAT, "tensor 'blk.0.atn_norm.weight' is not used");
    /* a count no file of this size can hold is refused before anything is
     * allocated for it (the model fuzzer's out-of-memory finding) */
    mutation huge = {.u32_key = "llama.block_count", .u32_value = 1u << 24};
    expect_open_error(&huge, MOTE_E_FORMAT, "llama.block_count = 16777216 is more blocks than the file has tensors");
}

/* Each family's own tensors and keys are required: a copy without one is
 * refused, naming it (never a model that runs without, say, its Q/K norms). */
static void test_family_parts_required(void **state)
{
    SKIP_WITHOUT_SHARED();
    static const struct {
        mutation mu;
        mote_status want;
        const char *needle;
    } cases[] = {
        {{.source = "models/archs/synth-qwen3-F32.gguf", .drop_tensor = "blk.1.attn_k_norm.weight"}, MOTE_E_FORMAT,
         "missing tensor 'blk.1.attn_k_norm.weight' required by architecture 'qwen3'"},
        {{.source = "models/archs/synth-gemma3-F32.gguf", .drop_tensor = "blk.0.post_ffw_norm.weight"},
         MOTE_E_FORMAT, "missing tensor 'blk.0.post_ffw_norm.weight' required by architecture 'gemma3'"},
        {{.source = "models/archs/synth-gemma3-F32.gguf", .drop_tensor = "blk.2.attn_q_norm.weight"},
         MOTE_E_FORMAT, "missing tensor 'blk.2.attn_q_norm.weight'"},
        {{.source = "models/archs/synth-phi3-F32.gguf", .drop_tensor = "rope_factors_short.weight"}, MOTE_E_FORMAT,
         "missing tensor 'rope_factors_short.weight' required by architecture 'phi3'"},
        {{.source = "models/archs/synth-phi3-F32.gguf", .drop_tensor = "blk.1.attn_qkv.weight"}, MOTE_E_FORMAT,
         "missing tensor 'blk.1.attn_q.weight' required by architecture 'phi3'"},
        {{.source = "models/archs/synth-granite-F32.gguf", .drop_key = "granite.logit_scale"}, MOTE_E_FORMAT,
         "missing key granite.logit_scale required by architecture 'granite'"},
        {{.source = "models/archs/synth-granite-F32.gguf", .f32_key = "granite.residual_scale", .f32_value = NAN},
         MOTE_E_FORMAT, "granite.residual_scale = nan is out of range"},
        {{.source = "models/archs/synth-smollm3-F32.gguf", .drop_tensor = "blk.3.ffn_gate.weight"}, MOTE_E_FORMAT,
         "missing tensor 'blk.3.ffn_gate.weight' required by architecture 'smollm3'"},
        {{.source = "models/archs/synth-gemma3-F32.gguf", .f32_key = "gemma3.final_logit_softcapping",
          .f32_value = -1.0f}, MOTE_E_FORMAT, "gemma3.final_logit_softcapping = -1 is out of range"},
        {{.source = "models/archs/synth-phi3-F32.gguf", .f32_key = "phi3.rope.scaling.attn_factor",
          .f32_value = INFINITY}, MOTE_E_FORMAT, "phi3.rope.scaling.attn_factor = inf is out of range"},
        /* a family mote does not run yet names what it lacks */
        {{.source = "models/archs/synth-gemma3-F32.gguf", .arch = "gemma3n"}, MOTE_E_UNSUPPORTED,
         "architecture 'gemma3n' is not supported: mote does not implement its per-layer embeddings"},
        {{.source = "models/archs/synth-qwen3-F32.gguf", .arch = "qwen3moe"}, MOTE_E_UNSUPPORTED,
         "mixture-of-experts"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) expect_open_error(&cases[i].mu, cases[i].want, cases[i].needle);
}

/* phi3.attention.sliding_window is ignored, as llama.cpp ignores it (the
 * shared goldens are the same with and without it), and said so. */
static void test_phi3_window_ignored(void **state)
{
    SKIP_WITHOUT_SHARED();
    mutation w = {.source = "models/archs/synth-phi3-F32.gguf", .u32_key = "phi3.attention.sliding_window",
                  .u32_value = 64};
    assert_int_equal(write_mutant(&w), MOTE_OK);
    mote_model *m, *plain;
    assert_int_equal(mote_model_open(tmp_path, NULL, &m), MOTE_OK);
    unlink(tmp_path);
    assert_int_equal(mote_model_open(shared_path("models/archs/synth-phi3-F32.gguf"), NULL, &plain), MOTE_OK);
    mote_model_info info;
    assert_int_equal(mote_model_get_info(m, &info), MOTE_OK);
    assert_string_equal(info.warnings, "phi3.attention.sliding_window 64: ignored, as llama.cpp does (every layer "
                                       "attends to the whole context)\n");
    assert_int_equal(info.sliding_window, 0);
    /* 100 positions, past the 64 the key names: the same logits */
    mote_token toks[100];
    for (int i = 0; i < 100; i++) toks[i] = (mote_token)(1 + i * 5 % 500);
    const float *lg[2];
    mote_session *s[2];
    for (int k = 0; k < 2; k++) {
        mote_session_params sp = mote_session_default_params();
        sp.n_ctx = 512;
        sp.kv_type = MOTE_KV_F32;
        assert_int_equal(mote_session_create(k ? plain : m, &sp, &s[k]), MOTE_OK);
        assert_int_equal(mote_session_eval(s[k], toks, 100, 0), MOTE_OK);
        lg[k] = mote_session_logits(s[k], -1);
    }
    assert_memory_equal(lg[0], lg[1], sizeof(float) * (size_t)mote_vocab_size(m));
    for (int k = 0; k < 2; k++) mote_session_free(s[k]);
    mote_model_close(m);
    mote_model_close(plain);
}

/* rope.scaling.attn_factor scales cos and sin in every family, as in
 * llama.cpp (it was once read for phi3 only): 1 changes nothing, 2 does. */
static void test_rope_attn_factor(void **state)
{
    SKIP_WITHOUT_SHARED();
    static const float factors[] = {1.0f, 2.0f};
    float *first = NULL;
    int n_vocab = 0;
    for (int i = 0; i < 3; i++) {
        mote_model *m;
        if (i < 2) {
            mutation mu = {.source = "models/archs/synth-qwen3-F32.gguf", .f32_key = "qwen3.rope.scaling.attn_factor",
                           .f32_value = factors[i]};
            assert_int_equal(write_mutant(&mu), MOTE_OK);
            assert_int_equal(mote_model_open(tmp_path, NULL, &m), MOTE_OK);
            unlink(tmp_path);
        } else {
            assert_int_equal(mote_model_open(shared_path("models/archs/synth-qwen3-F32.gguf"), NULL, &m), MOTE_OK);
        }
        mote_session_params sp = mote_session_default_params();
        sp.n_ctx = 64;
        sp.kv_type = MOTE_KV_F32;
        mote_session *s;
        assert_int_equal(mote_session_create(m, &sp, &s), MOTE_OK);
        const mote_token toks[] = {1, 403, 407, 261, 378, 110};
        assert_int_equal(mote_session_eval(s, toks, 6, 0), MOTE_OK);
        const float *lg = mote_session_logits(s, -1);
        n_vocab = mote_vocab_size(m);
        if (i == 0) {
            first = malloc(sizeof(float) * (size_t)n_vocab);
            memcpy(first, lg, sizeof(float) * (size_t)n_vocab);
        } else if (i == 1) {
            assert_true(memcmp(first, lg, sizeof(float) * (size_t)n_vocab) != 0); /* 2: other logits */
        } else {
            assert_memory_equal(first, lg, sizeof(float) * (size_t)n_vocab); /* 1: as without the key */
        }
        mote_session_free(s);
        mote_model_close(m);
    }
    free(first);
}

/* A tensor's type changed in the file without its data: the sizes no longer
 * tile the data section, and the reader names the tensor. */
static void test_retyped_in_place(void **state)
{
    SKIP_WITHOUT_SHARED();
    mutation q4 = {.patch_type = "blk.0.attn_q.weight", .patched_type = GGML_TYPE_Q4_0};
    expect_open_error(&q4, MOTE_E_FORMAT, "tensor 'blk.0.attn_q.weight': type Q4_0 and its shape need 2304 bytes");
    mutation bf16 = {.patch_type = "blk.2.ffn_down.weight", .patched_type = GGML_TYPE_BF16};
    expect_open_error(&bf16, MOTE_E_FORMAT, "tensor 'blk.2.ffn_down.weight': type BF16");
    mutation last = {.patch_type = "output_norm.weight", .patched_type = GGML_TYPE_F16};
    expect_open_error(&last, MOTE_E_FORMAT, "output_norm.weight");
}

static void test_session_misuse(void **state)
{
    SKIP_WITHOUT_SHARED();
    mote_model *m;
    assert_int_equal(mote_model_open(shared_path("models/stories260K.gguf"), NULL, &m), MOTE_OK);
    mote_session_params sp = mote_session_default_params();
    sp.n_ctx = 8;
    sp.n_threads = 2;
    mote_session *s;
    assert_int_equal(mote_session_create(m, &sp, &s), MOTE_OK);
    assert_int_equal(mote_session_n_ctx(s), 8);

    mote_token bad = 512;
    assert_int_equal(mote_session_eval(s, &bad, 1, 0), MOTE_E_INVALID);
    assert_non_null(strstr(mote_last_error(), "512"));
    assert_int_equal(mote_session_pos(s), 0);

    mote_token toks[9] = {1, 403, 407, 261, 378, 432, 383, 286, 261};
    assert_int_equal(mote_session_eval(s, toks, 9, 0), MOTE_E_RANGE);
    assert_int_equal(mote_session_eval(s, toks, 8, 0), MOTE_OK);
    assert_int_equal(mote_session_pos(s), 8);
    assert_non_null(mote_session_logits(s, -1));
    assert_null(mote_session_logits(s, 0)); /* only the last row was kept */
    assert_int_equal(mote_session_eval(s, toks, 1, 0), MOTE_E_RANGE);
    assert_int_equal(mote_session_truncate(s, 9), MOTE_E_INVALID);
    assert_int_equal(mote_session_truncate(s, 3), MOTE_OK);
    assert_int_equal(mote_session_pos(s), 3);
    mote_session_free(s);

    /* a vocab-only model has no weights to run */
    mote_model *vm;
    mote_model_params mp = mote_model_default_params();
    mp.vocab_only = 1;
    assert_int_equal(mote_model_open(shared_path("models/stories260K.gguf"), &mp, &vm), MOTE_OK);
    assert_int_equal(mote_session_create(vm, NULL, &s), MOTE_E_INVALID);
    mote_model_close(vm);
    mote_model_close(m);
}

static void test_threads_agree(void **state)
{
    SKIP_WITHOUT_SHARED();
    /* 1 and 3 threads give bit-identical logits. 32 tokens in one batch:
     * enough work that matmul and attention split it over the threads
     * (this model's products are 64 wide; below INLINE_MACS multiply-adds
     * they run on the calling thread alone). */
    enum { N_TOK = 32, N_VOCAB = 512 };
    mote_model *m;
    assert_int_equal(mote_model_open(shared_path("models/stories260K.gguf"), NULL, &m), MOTE_OK);
    mote_token toks[N_TOK] = {1, 403, 407, 261, 378, 432};
    for (int i = 6; i < N_TOK; i++) toks[i] = 3 + (i * 37) % (N_VOCAB - 3);
    float *ref = NULL;
    for (int nt = 1; nt <= 3; nt += 2) {
        mote_session_params sp = mote_session_default_params();
        sp.n_ctx = 2 * N_TOK;
        sp.n_threads = nt;
        mote_session *s;
        assert_int_equal(mote_session_create(m, &sp, &s), MOTE_OK);
        assert_int_equal(mote_session_eval(s, toks, N_TOK, 1), MOTE_OK);
        for (int i = 0; i < N_TOK; i++) {
            const float *lg = mote_session_logits(s, i);
            assert_non_null(lg);
            if (!ref) ref = malloc((size_t)N_TOK * N_VOCAB * sizeof(float));
            if (nt == 1) memcpy(ref + (size_t)i * N_VOCAB, lg, N_VOCAB * sizeof(float));
            else assert_memory_equal(ref + (size_t)i * N_VOCAB, lg, N_VOCAB * sizeof(float));
        }
        mote_session_free(s);
    }
    free(ref);
    mote_model_close(m);
}

static void test_missing_file(void **state)
{
    mote_model *m = (mote_model *)1;
    assert_int_equal(mote_model_open("/nonexistent/model.gguf", NULL, &m), MOTE_E_IO);
    assert_null(m);
    assert_non_null(strstr(mote_last_error(), "/nonexistent/model.gguf"));
}

int main(void)
{
    test_fix_pool_size();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing_file),     cmocka_unit_test(test_reference_opens),
        cmocka_unit_test(test_missing_tensors),  cmocka_unit_test(test_wrong_shapes),
        cmocka_unit_test(test_unsupported_types), cmocka_unit_test(test_bad_hparams),
        cmocka_unit_test(test_bad_float_hparams), cmocka_unit_test(test_unused_tensors),
        cmocka_unit_test(test_retyped_in_place),
        cmocka_unit_test(test_family_parts_required),
        cmocka_unit_test(test_phi3_window_ignored),
        cmocka_unit_test(test_rope_attn_factor), cmocka_unit_test(test_special_ids_out_of_range),
        cmocka_unit_test(test_session_misuse),   cmocka_unit_test(test_threads_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
