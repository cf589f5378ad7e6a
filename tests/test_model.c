/*
 * test_model.c — loading models: every architecture requirement is checked
 * (missing tensors, wrong shapes, unsupported types, bad hyper-parameters)
 * with a clear error naming the problem; sessions reject bad use cleanly.
 *
 * Broken models are made from ../shared/models/stories260K.gguf by copying
 * its metadata and tensors with one thing changed.
 */
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
} mutation;

static char tmp_path[64];

static mote_status write_mutant(const mutation *mu)
{
    gguf_file *src;
    assert_int_equal(gguf_open(shared_path("models/stories260K.gguf"), &src), MOTE_OK);
    gguf_writer *w;
    assert_int_equal(gguf_writer_create(&w), MOTE_OK);
    void *zeros = calloc(1, 1 << 20);
    for (uint64_t i = 0; i < src->n_kv; i++) {
        const gguf_kv *kv = &src->kv[i];
        if (mu->drop_key && strcmp(kv->key, mu->drop_key) == 0) continue;
        if (mu->u32_key && strcmp(kv->key, mu->u32_key) == 0) continue;
        if (mu->arch && strcmp(kv->key, "general.architecture") == 0) continue;
        assert_int_equal(gguf_writer_add_kv(w, kv), MOTE_OK);
    }
    if (mu->u32_key) assert_int_equal(gguf_writer_add_u32(w, mu->u32_key, mu->u32_value), MOTE_OK);
    if (mu->arch) assert_int_equal(gguf_writer_add_str(w, "general.architecture", mu->arch), MOTE_OK);
    for (uint64_t i = 0; i < src->n_tensors; i++) {
        const gguf_tensor *t = &src->tensors[i];
        int64_t ne[4];
        memcpy(ne, t->ne, sizeof ne);
        uint32_t type = t->type;
        const void *data = t->data;
        if (mu->drop_tensor && strcmp(t->name, mu->drop_tensor) == 0) continue;
        if (mu->shrink_tensor && strcmp(t->name, mu->shrink_tensor) == 0) ne[0] /= 2;
        if (mu->retype_tensor && strcmp(t->name, mu->retype_tensor) == 0) {
            type = mu->new_type;
            data = zeros;
        }
        assert_int_equal(gguf_writer_add_tensor(w, t->name, type, t->n_dims, ne, data), MOTE_OK);
    }
    strcpy(tmp_path, "/tmp/mote-test-model-XXXXXX");
    int fd = mkstemp(tmp_path);
    assert_true(fd >= 0);
    close(fd);
    mote_status st = gguf_writer_write_file(w, tmp_path);
    gguf_writer_free(w);
    gguf_close(src);
    free(zeros);
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
        cmocka_unit_test(test_session_misuse),   cmocka_unit_test(test_threads_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
