/*
 * test_api_edges.c — every function of mote.h and mote_tools.h at its
 * documented edges: NULL outputs with cap 0 (size queries), empty text with
 * a NULL pointer, zero-length arrays, NULL handles. Run under `make SAN=1
 * test`, a memcpy to NULL or a read past an empty array fails here. Uses a
 * model the test makes (tests/synthmodel.h), so it needs no ../shared.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mote.h"
#include "mote_tools.h"
#include "synthmodel.h"
#include "testutil.h"

static struct {
    char *dir, *path;
    mote_model *model;
} fx;

static int setup(void **state)
{
    (void)state;
    fx.dir = synthmodel_tempdir();
    fx.path = synthmodel_make(fx.dir, "tiny-llama", "F16", 1);
    if (mote_model_open(fx.path, NULL, &fx.model) != MOTE_OK) {
        print_error("%s: %s\n", fx.path, mote_last_error());
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mote_model_close(fx.model);
    free(fx.path);
    synthmodel_tempdir_remove(fx.dir);
    return 0;
}

/* The call failed with code and left a message. */
#define assert_fails(call, code)                              \
    do {                                                      \
        assert_int_equal((call), (code));                     \
        assert_true(mote_last_error()[0] != '\0');            \
    } while (0)

static void test_errors_and_free(void **state)
{
    (void)state;
    assert_non_null(mote_last_error());
    assert_string_equal(mote_status_name(MOTE_OK), "ok");
    assert_non_null(mote_status_name((mote_status)12345));
    mote_free(NULL);
    mote_model_close(NULL);
    mote_session_free(NULL);
    mote_sampler_free(NULL);
    mote_batch_free(NULL);
    mote_batch_clear(NULL);
}

static void test_model_edges(void **state)
{
    (void)state;
    mote_model *m = (mote_model *)1;
    assert_fails(mote_model_open(NULL, NULL, &m), MOTE_E_INVALID);
    assert_null(m);
    assert_fails(mote_model_open(fx.path, NULL, NULL), MOTE_E_INVALID);
    mote_memory mem;
    mote_model_info info;
    assert_fails(mote_model_memory(NULL, &mem), MOTE_E_INVALID);
    assert_fails(mote_model_memory(fx.model, NULL), MOTE_E_INVALID);
    assert_fails(mote_model_get_info(NULL, &info), MOTE_E_INVALID);
    assert_fails(mote_model_get_info(fx.model, NULL), MOTE_E_INVALID);
    assert_int_equal(mote_model_meta_count(NULL), 0);
    assert_null(mote_model_meta_key(NULL, 0));
    assert_null(mote_model_meta_key(fx.model, -1));
    assert_null(mote_model_meta_key(fx.model, mote_model_meta_count(fx.model)));
    char buf[64];
    assert_fails(mote_model_meta_string(NULL, "general.architecture", buf, sizeof buf), MOTE_E_INVALID);
    assert_fails(mote_model_meta_string(fx.model, NULL, buf, sizeof buf), MOTE_E_INVALID);
    assert_fails(mote_model_meta_string(fx.model, "general.architecture", NULL, 0), MOTE_E_INVALID);
    assert_fails(mote_model_meta_string(fx.model, "no.such.key", buf, sizeof buf), MOTE_E_RANGE);
    assert_int_equal(mote_model_tensor_count(NULL), 0);
    assert_fails(mote_model_tensor_info(NULL, 0, NULL, NULL, NULL, NULL, NULL), MOTE_E_INVALID);
    assert_fails(mote_model_tensor_info(fx.model, -1, NULL, NULL, NULL, NULL, NULL), MOTE_E_RANGE);
    /* Every output of tensor_info may be NULL. */
    assert_int_equal(mote_model_tensor_info(fx.model, 0, NULL, NULL, NULL, NULL, NULL), MOTE_OK);
}

static void test_tokenizer_edges(void **state)
{
    (void)state;
    const mote_model *m = fx.model;
    assert_int_equal(mote_vocab_size(NULL), 0);
    assert_int_equal(mote_token_bos(NULL), -1);
    assert_int_equal(mote_token_eos(NULL), -1);
    assert_int_equal(mote_token_eot(NULL), -1);
    assert_int_equal(mote_token_is_eog(NULL, 0), 0);
    assert_int_equal(mote_token_is_eog(m, -1), 0);
    assert_int_equal(mote_token_is_eog(m, mote_vocab_size(m)), 0);

    /* The documented size query: cap 0, out NULL. */
    size_t n = 0;
    assert_int_equal(mote_tokenize(m, "abc", 3, 1, 0, NULL, 0, &n), MOTE_E_RANGE);
    assert_true(n >= 2);
    mote_token ids[16];
    size_t n2 = 0;
    assert_int_equal(mote_tokenize(m, "abc", 3, 1, 0, ids, 16, &n2), MOTE_OK);
    assert_int_equal(n2, n);
    assert_int_equal(ids[0], SYNTHMODEL_BOS);
    /* Empty text, NULL pointer: BOS alone, or nothing. */
    assert_int_equal(mote_tokenize(m, NULL, 0, 1, 1, ids, 16, &n), MOTE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(mote_tokenize(m, NULL, 0, 0, 0, NULL, 0, &n), MOTE_OK);
    assert_int_equal(n, 0);
    assert_fails(mote_tokenize(m, NULL, 3, 0, 0, ids, 16, &n), MOTE_E_INVALID);
    assert_fails(mote_tokenize(NULL, "abc", 3, 0, 0, ids, 16, &n), MOTE_E_INVALID);
    assert_fails(mote_tokenize(m, "abc", 3, 0, 0, NULL, 16, &n), MOTE_E_INVALID);
    assert_fails(mote_tokenize(m, "abc", 3, 0, 0, ids, 16, NULL), MOTE_E_INVALID);

    /* token_to_piece: cap 0 asks for the length. */
    mote_token a = synthmodel_token_id("a");
    assert_true(a >= 0);
    assert_int_equal(mote_token_to_piece(m, a, 0, NULL, 0, &n), MOTE_E_RANGE);
    assert_int_equal(n, 1);
    char piece[8];
    assert_int_equal(mote_token_to_piece(m, a, 0, piece, sizeof piece, &n), MOTE_OK);
    assert_memory_equal(piece, "a", 1);
    assert_fails(mote_token_to_piece(NULL, a, 0, piece, sizeof piece, &n), MOTE_E_INVALID);
    assert_fails(mote_token_to_piece(m, a, 0, NULL, 4, &n), MOTE_E_INVALID);
    assert_fails(mote_token_to_piece(m, a, 0, piece, sizeof piece, NULL), MOTE_E_INVALID);
    assert_fails(mote_token_to_piece(m, -1, 0, piece, sizeof piece, &n), MOTE_E_INVALID);
    assert_fails(mote_token_to_piece(m, mote_vocab_size(m), 0, piece, sizeof piece, &n), MOTE_E_INVALID);

    /* detokenize of 0 tokens is "". */
    char *text = NULL;
    assert_int_equal(mote_detokenize(m, NULL, 0, 0, &text), MOTE_OK);
    assert_non_null(text);
    assert_string_equal(text, "");
    mote_free(text);
    assert_fails(mote_detokenize(m, NULL, 2, 0, &text), MOTE_E_INVALID);
    assert_null(text);
    assert_fails(mote_detokenize(NULL, ids, 1, 0, &text), MOTE_E_INVALID);
    assert_fails(mote_detokenize(m, ids, 1, 0, NULL), MOTE_E_INVALID);
}

static void test_session_edges(void **state)
{
    (void)state;
    mote_session *s = (mote_session *)1;
    assert_fails(mote_session_create(NULL, NULL, &s), MOTE_E_INVALID);
    assert_null(s);
    assert_fails(mote_session_create(fx.model, NULL, NULL), MOTE_E_INVALID);
    assert_int_equal(mote_session_create(fx.model, NULL, &s), MOTE_OK);

    assert_fails(mote_session_eval(NULL, NULL, 0, 0), MOTE_E_INVALID);
    assert_fails(mote_session_eval(s, NULL, 1, 0), MOTE_E_INVALID);
    assert_fails(mote_session_eval(s, NULL, -1, 0), MOTE_E_INVALID);
    assert_int_equal(mote_session_eval(s, NULL, 0, 0), MOTE_OK);
    assert_int_equal(mote_session_pos(s), 0);

    mote_batch b;
    assert_fails(mote_batch_init(NULL, 4), MOTE_E_INVALID);
    assert_fails(mote_batch_init(&b, 0), MOTE_E_INVALID);
    assert_fails(mote_batch_add(NULL, 1, 0, -1, 1), MOTE_E_INVALID);
    assert_int_equal(mote_batch_init(&b, 1), MOTE_OK);
    assert_fails(mote_session_decode(NULL, &b), MOTE_E_INVALID);
    assert_fails(mote_session_decode(s, NULL), MOTE_E_INVALID);
    assert_int_equal(mote_session_decode(s, &b), MOTE_OK); /* an empty batch */
    assert_int_equal(mote_batch_add(&b, SYNTHMODEL_BOS, 0, -1, 1), MOTE_OK);
    assert_fails(mote_batch_add(&b, SYNTHMODEL_BOS, 0, -1, 1), MOTE_E_RANGE);
    mote_batch_free(&b);
    mote_batch_free(&b); /* freed twice: the first left it empty */
    assert_null(b.token);

    assert_null(mote_session_logits(NULL, -1));
    assert_null(mote_session_logits(s, -1)); /* nothing evaluated yet */
    assert_null(mote_session_embedding(NULL, -1));
    assert_null(mote_session_embedding_seq(NULL, 0));
    assert_int_equal(mote_session_pooling(NULL), MOTE_POOL_NONE);
    assert_int_equal(mote_session_pos(NULL), 0);
    assert_int_equal(mote_session_n_ctx(NULL), 0);
    assert_int_equal(mote_session_n_seq(NULL), 0);
    assert_fails(mote_session_truncate(NULL, 0), MOTE_E_INVALID);
    assert_int_equal(mote_seq_pos(NULL, 0), -1);
    assert_int_equal(mote_seq_pos(s, -1), -1);
    assert_fails(mote_seq_truncate(NULL, 0, 0), MOTE_E_INVALID);
    assert_fails(mote_seq_clear(NULL, 0), MOTE_E_INVALID);
    assert_fails(mote_seq_clear(s, 1), MOTE_E_INVALID);
    assert_fails(mote_seq_copy(NULL, 0, 0, 0), MOTE_E_INVALID);
    int n = 5;
    assert_null(mote_seq_tokens(NULL, 0, &n));
    assert_int_equal(n, 0);
    (void)mote_seq_tokens(s, 0, NULL); /* NULL n is allowed */
    assert_int_equal(mote_seq_common_prefix(NULL, 0, NULL, 0), 0);
    assert_int_equal(mote_seq_common_prefix(s, 0, NULL, 3), 0);
    mote_memory mem;
    assert_fails(mote_session_memory(NULL, &mem, NULL), MOTE_E_INVALID);
    assert_fails(mote_session_memory(s, NULL, NULL), MOTE_E_INVALID);
    assert_int_equal(mote_session_memory(s, &mem, NULL), MOTE_OK);
    uint64_t kv_bytes = 1;
    assert_fails(mote_session_kv_bytes(NULL, NULL, &kv_bytes), MOTE_E_INVALID);
    assert_int_equal(kv_bytes, 0);
    assert_fails(mote_session_kv_bytes(fx.model, NULL, NULL), MOTE_E_INVALID);
    assert_int_equal(mote_session_kv_bytes(fx.model, NULL, &kv_bytes), MOTE_OK); /* NULL params: the defaults */
    assert_true(kv_bytes > 0);
    mem.kv = 1;
    assert_fails(mote_session_plan(NULL, NULL, &mem), MOTE_E_INVALID);
    assert_int_equal(mem.kv, 0);
    assert_fails(mote_session_plan(fx.model, NULL, NULL), MOTE_E_INVALID);
    assert_int_equal(mote_session_plan(fx.model, NULL, &mem), MOTE_OK); /* NULL params: the defaults */
    assert_int_equal(mem.kv, kv_bytes);

    /* Sampler and generation. */
    mote_sampler *smp = (mote_sampler *)1;
    assert_fails(mote_sampler_create(NULL, mote_vocab_size(fx.model), NULL), MOTE_E_INVALID);
    assert_fails(mote_sampler_create(NULL, 0, &smp), MOTE_E_INVALID);
    assert_null(smp);
    assert_int_equal(mote_sampler_create(NULL, mote_vocab_size(fx.model), &smp), MOTE_OK);
    assert_int_equal(mote_sampler_sample(NULL, NULL), -1);
    assert_int_equal(mote_sampler_sample(smp, NULL), -1);
    mote_sampler_accept(NULL, 0);
    mote_sampler_accept(smp, -1);
    mote_sampler_reset(NULL);

    mote_generate_stats st;
    assert_fails(mote_generate(NULL, smp, NULL, 0, 1, NULL, NULL, &st), MOTE_E_INVALID);
    assert_fails(mote_generate(s, NULL, NULL, 0, 1, NULL, NULL, &st), MOTE_E_INVALID);
    assert_fails(mote_generate(s, smp, NULL, 1, 1, NULL, NULL, &st), MOTE_E_INVALID);
    assert_fails(mote_generate(s, smp, NULL, 0, 1, NULL, NULL, &st), MOTE_E_INVALID); /* nothing to go on */
    /* NULL fn and stats: it generates all the same. */
    mote_token bos = SYNTHMODEL_BOS;
    assert_int_equal(mote_generate(s, smp, &bos, 1, 2, NULL, NULL, NULL), MOTE_OK);
    assert_true(mote_session_pos(s) >= 2);
    /* n_predict 0: the prompt only. */
    int pos = mote_session_pos(s);
    assert_int_equal(mote_generate(s, smp, &bos, 1, 0, NULL, NULL, &st), MOTE_OK);
    assert_int_equal(st.n_generated, 0);
    assert_int_equal(mote_session_pos(s), pos + 1);
    mote_sampler_free(smp);
    mote_session_free(s);
}

static void test_chat_edges(void **state)
{
    (void)state;
    const char *tmpl = "{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}"
                       "{% if add_generation_prompt %}[assistant]{% endif %}";
    char *out = (char *)1;
    assert_fails(mote_chat_apply(NULL, tmpl, NULL, 0, 1, &out), MOTE_E_INVALID);
    assert_null(out);
    assert_fails(mote_chat_apply(fx.model, tmpl, NULL, 0, 1, NULL), MOTE_E_INVALID);
    assert_fails(mote_chat_apply(fx.model, tmpl, NULL, 1, 1, &out), MOTE_E_INVALID);
    /* 0 messages: the generation prompt alone. */
    assert_int_equal(mote_chat_apply(fx.model, tmpl, NULL, 0, 1, &out), MOTE_OK);
    assert_string_equal(out, "[assistant]");
    mote_free(out);
    /* NULL role and content render as "". */
    mote_chat_message msgs[] = {{NULL, NULL}};
    assert_int_equal(mote_chat_apply(fx.model, tmpl, msgs, 1, 0, &out), MOTE_OK);
    assert_string_equal(out, "[]");
    mote_free(out);
    /* The synthetic model has no template of its own. */
    assert_fails(mote_chat_apply(fx.model, NULL, msgs, 1, 0, &out), MOTE_E_UNSUPPORTED);

    size_t n = 9;
    assert_int_equal(mote_chat_tokenize(fx.model, tmpl, NULL, 0, 1, NULL, 0, &n), MOTE_E_RANGE);
    assert_true(n > 1);
    assert_int_equal(mote_chat_tokenize(fx.model, tmpl, msgs, 1, 0, NULL, 0, &n), MOTE_E_RANGE);
    assert_fails(mote_chat_tokenize(fx.model, NULL, msgs, 1, 0, NULL, 0, &n), MOTE_E_UNSUPPORTED);
    assert_int_equal(n, 0);

    assert_fails(mote_template_render(NULL, "{}", &out), MOTE_E_INVALID);
    assert_fails(mote_template_render("x", "{}", NULL), MOTE_E_INVALID);
    /* A NULL context is an empty one. */
    assert_int_equal(mote_template_render("x{{ y }}", NULL, &out), MOTE_OK);
    assert_string_equal(out, "x");
    mote_free(out);
}

static void test_tools_edges(void **state)
{
    (void)state;
    assert_fails(mote_synth(NULL), MOTE_E_INVALID);
    mote_synth_params p = mote_synth_default_params();
    assert_fails(mote_synth(&p), MOTE_E_INVALID);
    assert_null(mote_synth_model_name(-1));
    assert_null(mote_synth_model_about(-1));
    assert_non_null(mote_synth_model_name(0));
    int n = 0;
    while (mote_synth_model_name(n)) n++;
    assert_null(mote_synth_model_about(n));
}

int main(void)
{
    test_fix_pool_size();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors_and_free),  cmocka_unit_test(test_model_edges),
        cmocka_unit_test(test_tokenizer_edges),  cmocka_unit_test(test_session_edges),
        cmocka_unit_test(test_chat_edges),       cmocka_unit_test(test_tools_edges),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
