/*
 * test_batch_edge.c — edge cases of sessions, batches and pooling: huge
 * arguments, output flags that are not 0/1, outputs after failed calls and
 * sequence operations, pooling over several evaluations (mote_session_eval
 * pieces, decodes without output flags, copied prefixes), and what
 * cancelling leaves behind.
 *
 * Runs on a 2-layer Q8_0 model the test writes itself (no ../shared), whose
 * batch kernels equal its single-token ones, so a sequence evaluated in
 * other pieces gives the same hidden states.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mote.h"
#include "synthmodel.h"
#include "testutil.h"

#define N_CTX 64
#define N_TOK 24

static char *dir;
static mote_model *model;
static int n_embd, n_vocab;
static mote_token toks[N_TOK];

static int setup(void **state)
{
    (void)state;
    dir = synthmodel_tempdir();
    char *path = synthmodel_make(dir, "tiny-llama", "Q8_0", 2);
    if (mote_model_open(path, NULL, &model) != MOTE_OK) fail_msg("%s: %s", path, mote_last_error());
    free(path);
    mote_model_info info;
    assert_int_equal(mote_model_get_info(model, &info), MOTE_OK);
    n_embd = info.n_embd;
    n_vocab = info.n_vocab;
    for (int i = 0; i < N_TOK; i++) toks[i] = i == 0 ? SYNTHMODEL_BOS : 3 + (i * 37) % (n_vocab - 3);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mote_model_close(model);
    synthmodel_tempdir_remove(dir);
    return 0;
}

static mote_session *session(int n_seq, int n_batch, int embeddings, int pooling, int normalize)
{
    mote_session_params sp = mote_session_default_params();
    sp.n_ctx = N_CTX;
    sp.n_batch = n_batch;
    sp.n_seq_max = n_seq;
    sp.kv_type = MOTE_KV_F32;
    sp.embeddings = embeddings;
    sp.pooling = pooling;
    sp.normalize = normalize;
    mote_session *s = NULL;
    if (mote_session_create(model, &sp, &s) != MOTE_OK) fail_msg("session: %s", mote_last_error());
    return s;
}

/* Decode toks[from..to) of sequence seq as one batch, output flag `out` on
 * every token. */
static mote_status decode_range(mote_session *s, int seq, int from, int to, int out)
{
    mote_batch b;
    assert_int_equal(mote_batch_init(&b, N_TOK), MOTE_OK);
    for (int i = from; i < to; i++) assert_int_equal(mote_batch_add(&b, toks[i], seq, i, out), MOTE_OK);
    mote_status st = mote_session_decode(s, &b);
    mote_batch_free(&b);
    return st;
}

/* The per-token hidden states of toks[0..n), evaluated in pieces of n_batch
 * (the pieces a pooled session uses, so the states are the same). */
static float *hidden_states(int n, int n_batch)
{
    mote_session *s = session(1, n_batch, 1, MOTE_POOL_NONE, 0);
    assert_int_equal(mote_session_eval(s, toks, n, 1), MOTE_OK);
    float *h = malloc(sizeof(float) * (size_t)n * n_embd);
    for (int t = 0; t < n; t++) {
        const float *e = mote_session_embedding(s, t);
        assert_non_null(e);
        memcpy(h + (size_t)t * n_embd, e, sizeof(float) * (size_t)n_embd);
    }
    mote_session_free(s);
    return h;
}

static void expect_near(const float *got, const float *want, const char *what)
{
    if (!got) fail_msg("%s: no pooled vector", what);
    for (int i = 0; i < n_embd; i++)
        if (fabsf(got[i] - want[i]) > 1e-5f * (1 + fabsf(want[i])))
            fail_msg("%s: dim %d is %.9g, want %.9g", what, i, (double)got[i], (double)want[i]);
}

/* The mean of rows [from, to) of h. */
static void mean_rows(const float *h, int from, int to, float *out)
{
    for (int i = 0; i < n_embd; i++) out[i] = 0;
    for (int t = from; t < to; t++)
        for (int i = 0; i < n_embd; i++) out[i] += h[(size_t)t * n_embd + i];
    for (int i = 0; i < n_embd; i++) out[i] /= (float)(to - from);
}

/* ------------------------------------------------------------------------
 * Arguments
 * ---------------------------------------------------------------------- */

/* start + n overflowed int: the check passed and the tokens were read past
 * the caller's array. */
static void test_eval_huge_count(void **state)
{
    (void)state;
    mote_session *s = session(1, 16, 0, MOTE_POOL_NONE, 0);
    assert_int_equal(mote_session_eval(s, toks, 4, 0), MOTE_OK);
    mote_token buf[8];
    memcpy(buf, toks, sizeof buf);
    buf[6] = -1; /* reached only if the count is believed */
    assert_int_equal(mote_session_eval(s, buf, INT_MAX, 0), MOTE_E_RANGE);
    assert_int_equal(mote_session_eval(s, buf, INT_MAX - 2, 1), MOTE_E_RANGE);
    assert_int_equal(mote_session_pos(s), 4);
    mote_session_free(s);
}

/* NULL and out-of-range arguments fail (or answer NULL, -1, 0) and change
 * nothing. */
static void test_bad_arguments(void **state)
{
    (void)state;
    assert_null(mote_session_logits(NULL, 0));
    assert_null(mote_session_embedding_seq(NULL, 0));
    assert_int_equal(mote_seq_pos(NULL, 0), -1);
    assert_int_equal(mote_session_decode(NULL, NULL), MOTE_E_INVALID);
    assert_int_equal(mote_seq_copy(NULL, 0, 0, 0), MOTE_E_INVALID);
    assert_int_equal(mote_session_memory(NULL, NULL, NULL), MOTE_E_INVALID);
    mote_batch b;
    assert_int_equal(mote_batch_init(&b, -1), MOTE_E_INVALID);
    assert_int_equal(mote_batch_init(&b, 2), MOTE_OK);

    mote_session *s = session(2, 8, 0, MOTE_POOL_NONE, 0);
    assert_int_equal(mote_session_decode(s, NULL), MOTE_E_INVALID);
    assert_int_equal(mote_session_eval(s, toks, -1, 0), MOTE_E_INVALID);
    assert_int_equal(mote_session_eval(s, NULL, 1, 0), MOTE_E_INVALID);
    assert_int_equal(mote_session_eval(s, toks, 3, 1), MOTE_OK);
    assert_null(mote_session_logits(s, INT_MIN));
    assert_null(mote_session_logits(s, 3));
    assert_non_null(mote_session_logits(s, -3));
    assert_int_equal(mote_seq_truncate(s, 0, -1), MOTE_E_INVALID);
    assert_int_equal(mote_seq_truncate(s, 0, INT_MAX), MOTE_E_INVALID);
    assert_int_equal(mote_seq_truncate(s, INT_MIN, 0), MOTE_E_INVALID);
    assert_int_equal(mote_seq_copy(s, 0, 1, -1), MOTE_E_INVALID);
    assert_int_equal(mote_seq_copy(s, 0, 2, 1), MOTE_E_INVALID);
    assert_int_equal(mote_seq_common_prefix(s, 0, toks, -5), 0);
    assert_int_equal(mote_seq_common_prefix(s, 0, NULL, 5), 0);
    int n = 7;
    assert_null(mote_seq_tokens(s, -1, &n));
    assert_int_equal(n, 0);
    const int bad_pos[] = {INT_MAX, INT_MIN, -2, 4};
    for (size_t i = 0; i < sizeof bad_pos / sizeof bad_pos[0]; i++) {
        mote_batch_clear(&b);
        assert_int_equal(mote_batch_add(&b, toks[3], 0, bad_pos[i], 1), MOTE_OK);
        assert_int_equal(mote_session_decode(s, &b), MOTE_E_INVALID);
    }
    b.n = -1;
    assert_int_equal(mote_session_decode(s, &b), MOTE_E_INVALID);
    assert_int_equal(mote_seq_pos(s, 0), 3);
    assert_int_equal(mote_seq_pos(s, 1), 0);
    mote_session_free(s);
    mote_batch_free(&b);
}

/* mote_batch is a public struct: an output flag set by hand to any nonzero
 * value means "keep". -1 made the kept-row count negative, so room for one
 * row was reserved and four were written. */
static void test_output_flag_any_nonzero(void **state)
{
    (void)state;
    mote_session *want = session(1, 16, 0, MOTE_POOL_NONE, 0);
    assert_int_equal(decode_range(want, 0, 0, 4, 1), MOTE_OK);
    mote_session *s = session(1, 16, 0, MOTE_POOL_NONE, 0);
    mote_batch b;
    assert_int_equal(mote_batch_init(&b, 4), MOTE_OK);
    for (int i = 0; i < 4; i++) assert_int_equal(mote_batch_add(&b, toks[i], 0, i, 1), MOTE_OK);
    for (int i = 0; i < 4; i++) b.output[i] = (int8_t)(i % 2 ? -1 : 2);
    assert_int_equal(mote_session_decode(s, &b), MOTE_OK);
    for (int i = 0; i < 4; i++) {
        assert_non_null(mote_session_logits(s, i));
        assert_memory_equal(mote_session_logits(s, i), mote_session_logits(want, i), sizeof(float) * (size_t)n_vocab);
    }
    mote_batch_free(&b);
    mote_session_free(s);
    mote_session_free(want);
}

/* mote_session_eval longer than n_batch, in every output mode: the pieces
 * give what the same pieces give as batches. */
static void test_eval_pieces_equal_batches(void **state)
{
    (void)state;
    static const struct {
        int embeddings, normalize;
    } modes[] = {{0, 0}, {1, 0}, {1, 1}};
    for (size_t k = 0; k < sizeof modes / sizeof modes[0]; k++) {
        const int width = modes[k].embeddings ? n_embd : n_vocab;
        mote_session *pieces = session(1, 8, modes[k].embeddings, MOTE_POOL_NONE, modes[k].normalize);
        mote_session *batches = session(1, 8, modes[k].embeddings, MOTE_POOL_NONE, modes[k].normalize);
        for (int all = 0; all <= 1; all++) {
            assert_int_equal(mote_seq_clear(pieces, 0), MOTE_OK);
            assert_int_equal(mote_seq_clear(batches, 0), MOTE_OK);
            assert_int_equal(mote_session_eval(pieces, toks, N_TOK, all), MOTE_OK);
            for (int p0 = 0; p0 < N_TOK; p0 += 8) {
                assert_int_equal(decode_range(batches, 0, p0, p0 + 8, 1), MOTE_OK);
                for (int t = p0; t < p0 + 8; t++) {
                    const float *got = modes[k].embeddings ? mote_session_embedding(pieces, t)
                                                           : mote_session_logits(pieces, t);
                    const float *want = modes[k].embeddings ? mote_session_embedding(batches, t - p0)
                                                            : mote_session_logits(batches, t - p0);
                    if (!all && t < N_TOK - 1) {
                        assert_null(got);
                        continue;
                    }
                    assert_non_null(got);
                    assert_memory_equal(got, want, sizeof(float) * (size_t)width);
                }
            }
        }
        mote_session_free(pieces);
        mote_session_free(batches);
    }
}

/* ------------------------------------------------------------------------
 * Outputs after failures
 * ---------------------------------------------------------------------- */

/* A failed evaluation leaves no outputs, whatever made it fail: the
 * caller must not sample the previous call's logits as if they were its. */
static void test_no_outputs_after_failure(void **state)
{
    (void)state;
    mote_session *s = session(2, 16, 0, MOTE_POOL_NONE, 0);
    assert_int_equal(decode_range(s, 0, 0, 3, 1), MOTE_OK);
    assert_non_null(mote_session_logits(s, -1));
    mote_batch b;
    assert_int_equal(mote_batch_init(&b, 2), MOTE_OK);
    assert_int_equal(mote_batch_add(&b, toks[3], 0, -1, 1), MOTE_OK);
    assert_int_equal(mote_batch_add(&b, n_vocab, 1, -1, 1), MOTE_OK); /* bad token */
    assert_int_equal(mote_session_decode(s, &b), MOTE_E_INVALID);
    assert_int_equal(mote_seq_pos(s, 0), 3);
    assert_null(mote_session_logits(s, -1));
    assert_null(mote_session_logits(s, 0));

    /* the same for mote_session_eval: a bad token, a full context */
    assert_int_equal(mote_session_eval(s, toks + 3, 2, 0), MOTE_OK);
    assert_non_null(mote_session_logits(s, -1));
    const mote_token bad[2] = {toks[5], -3};
    assert_int_equal(mote_session_eval(s, bad, 2, 0), MOTE_E_INVALID);
    assert_null(mote_session_logits(s, -1));
    assert_int_equal(mote_session_eval(s, toks + 5, 1, 0), MOTE_OK);
    assert_int_equal(mote_session_eval(s, toks, N_CTX, 0), MOTE_E_RANGE);
    assert_null(mote_session_logits(s, -1));
    assert_int_equal(mote_session_pos(s), 6);
    mote_batch_free(&b);
    mote_session_free(s);
}

/* ------------------------------------------------------------------------
 * Pooling
 * ---------------------------------------------------------------------- */

/* CLS keeps position 0's vector: later pieces of mote_session_eval, later
 * batches and copied prefixes that do not hold position 0 still have it. */
static void test_cls_over_several_evaluations(void **state)
{
    (void)state;
    float *h = hidden_states(N_TOK, 8);
    mote_session *s = session(2, 8, 1, MOTE_POOL_CLS, 0);
    assert_int_equal(mote_session_eval(s, toks, N_TOK, 0), MOTE_OK); /* three pieces */
    expect_near(mote_session_embedding_seq(s, 0), h, "CLS, mote_session_eval in pieces");

    /* sequence 1: position 0 in a batch that asks for no output */
    assert_int_equal(decode_range(s, 1, 0, 3, 0), MOTE_OK);
    assert_int_equal(decode_range(s, 1, 3, 6, 1), MOTE_OK);
    expect_near(mote_session_embedding_seq(s, 1), h, "CLS, position 0 in an earlier batch");

    /* a copied prefix continued */
    assert_int_equal(mote_seq_copy(s, 0, 1, 4), MOTE_OK);
    assert_int_equal(decode_range(s, 1, 4, 6, 1), MOTE_OK);
    expect_near(mote_session_embedding_seq(s, 1), h, "CLS, copied prefix");
    mote_session_free(s);
    free(h);
}

/* Mean covers every token of the sequence, also those of batches that
 * asked for no output. */
static void test_mean_counts_every_token(void **state)
{
    (void)state;
    float *h = hidden_states(7, 8), mean[1024];
    assert_true(n_embd <= 1024);
    mean_rows(h, 0, 7, mean);
    for (int normalize = 0; normalize <= 1; normalize++) {
        mote_session *s = session(1, 8, 1, MOTE_POOL_MEAN, normalize);
        assert_int_equal(decode_range(s, 0, 0, 4, 0), MOTE_OK);
        assert_int_equal(decode_range(s, 0, 4, 7, 1), MOTE_OK);
        float want[1024];
        memcpy(want, mean, sizeof(float) * (size_t)n_embd);
        if (normalize) {
            double ss = 0;
            for (int i = 0; i < n_embd; i++) ss += (double)want[i] * want[i];
            for (int i = 0; i < n_embd; i++) want[i] = (float)(want[i] / sqrt(ss));
        }
        expect_near(mote_session_embedding_seq(s, 0), want, "mean over two batches, the first without outputs");
        mote_session_free(s);
    }
    free(h);
}

/* A pooled vector belongs to its sequence: it stays while other sequences
 * are evaluated ("from the last evaluation that included tokens of it"),
 * and goes when its sequence changes under it. */
static void test_pooled_vector_follows_its_sequence(void **state)
{
    (void)state;
    float *h = hidden_states(6, 8);
    mote_session *s = session(3, 8, 1, MOTE_POOL_LAST, 0);
    assert_int_equal(decode_range(s, 0, 0, 6, 1), MOTE_OK);
    assert_int_equal(decode_range(s, 1, 0, 6, 1), MOTE_OK); /* another sequence only */
    expect_near(mote_session_embedding_seq(s, 0), h + 5 * n_embd, "LAST of sequence 0 after sequence 1's batch");
    expect_near(mote_session_embedding_seq(s, 1), h + 5 * n_embd, "LAST of sequence 1");
    assert_null(mote_session_embedding_seq(s, 2));

    /* truncated: its last token is gone */
    assert_int_equal(mote_seq_truncate(s, 0, 3), MOTE_OK);
    assert_null(mote_session_embedding_seq(s, 0));
    expect_near(mote_session_embedding_seq(s, 1), h + 5 * n_embd, "LAST of sequence 1 after truncating 0");
    assert_int_equal(decode_range(s, 0, 3, 4, 1), MOTE_OK);
    expect_near(mote_session_embedding_seq(s, 0), h + 3 * n_embd, "LAST after truncate and one more token");

    /* copied onto itself with 0 positions: cleared */
    assert_int_equal(mote_seq_copy(s, 1, 1, 0), MOTE_OK);
    assert_int_equal(mote_seq_pos(s, 1), 0);
    assert_null(mote_session_embedding_seq(s, 1));
    /* copied over: the destination's vector is gone */
    assert_int_equal(mote_seq_copy(s, 0, 2, 4), MOTE_OK);
    assert_null(mote_session_embedding_seq(s, 2));
    mote_session_free(s);
    free(h);
}

/* ------------------------------------------------------------------------
 * Cancellation
 * ---------------------------------------------------------------------- */

static int cancel_at(void *user, uint64_t done, uint64_t total)
{
    (void)total;
    const uint64_t *at = user;
    return *at && done >= *at;
}

/* Cancelling mote_session_eval after a piece was pooled rolls the pooled
 * state back too: the mean neither counts that piece twice when the call
 * is repeated, nor shows it meanwhile. */
static void test_cancel_rolls_back_pooling(void **state)
{
    (void)state;
    float *h = hidden_states(N_TOK, 8), want[1024];
    assert_true(n_embd <= 1024);
    static const int pools[] = {MOTE_POOL_MEAN, MOTE_POOL_LAST};
    for (size_t p = 0; p < sizeof pools / sizeof pools[0]; p++) {
        uint64_t at = 0;
        mote_session_params sp = mote_session_default_params();
        sp.n_ctx = N_CTX;
        sp.n_batch = 8;
        sp.kv_type = MOTE_KV_F32;
        sp.embeddings = 1;
        sp.pooling = pools[p];
        sp.progress = cancel_at;
        sp.progress_user = &at;
        mote_session *s;
        assert_int_equal(mote_session_create(model, &sp, &s), MOTE_OK);
        assert_int_equal(mote_session_eval(s, toks, 8, 0), MOTE_OK);
        float before[1024];
        memcpy(before, mote_session_embedding_seq(s, 0), sizeof(float) * (size_t)n_embd);

        at = 3; /* 2 layers a piece: in the second of two pieces */
        assert_int_equal(mote_session_eval(s, toks + 8, 16, 0), MOTE_E_CANCELLED);
        assert_int_equal(mote_session_pos(s), 8);
        expect_near(mote_session_embedding_seq(s, 0), before, "pooled vector after cancelling");

        at = 0;
        assert_int_equal(mote_session_eval(s, toks + 8, 16, 0), MOTE_OK);
        if (pools[p] == MOTE_POOL_MEAN) mean_rows(h, 0, N_TOK, want);
        else memcpy(want, h + (size_t)(N_TOK - 1) * n_embd, sizeof(float) * (size_t)n_embd);
        expect_near(mote_session_embedding_seq(s, 0), want, "pooled vector after cancel and repeat");
        mote_session_free(s);
    }
    free(h);
}

/* ------------------------------------------------------------------------
 * Limits
 * ---------------------------------------------------------------------- */

/* n_seq_max at its maximum: the last sequence works, one more is refused. */
static void test_most_sequences(void **state)
{
    (void)state;
    mote_session_params sp = mote_session_default_params();
    sp.n_ctx = 8;
    sp.n_seq_max = 4097;
    mote_session *s = NULL;
    assert_int_equal(mote_session_create(model, &sp, &s), MOTE_E_INVALID);
    assert_null(s);
    sp.n_seq_max = 4096;
    assert_int_equal(mote_session_create(model, &sp, &s), MOTE_OK);
    assert_int_equal(mote_session_n_seq(s), 4096);
    mote_batch b;
    assert_int_equal(mote_batch_init(&b, 4), MOTE_OK);
    assert_int_equal(mote_batch_add(&b, toks[0], 4095, 0, 0), MOTE_OK);
    assert_int_equal(mote_batch_add(&b, toks[0], 0, 0, 0), MOTE_OK);
    assert_int_equal(mote_batch_add(&b, toks[1], 4095, 1, 1), MOTE_OK);
    assert_int_equal(mote_batch_add(&b, toks[1], 0, 1, 1), MOTE_OK);
    assert_int_equal(mote_session_decode(s, &b), MOTE_OK);
    assert_memory_equal(mote_session_logits(s, 2), mote_session_logits(s, 3), sizeof(float) * (size_t)n_vocab);
    assert_int_equal(mote_seq_copy(s, 4095, 17, 2), MOTE_OK);
    assert_int_equal(mote_seq_pos(s, 17), 2);
    mote_memory mem;
    uint64_t per_pos = 0;
    assert_int_equal(mote_session_memory(s, &mem, &per_pos), MOTE_OK);
    assert_int_equal(mem.kv, per_pos * 8 * 4096);
    assert_int_equal(mem.kv_used, per_pos * 6);
    mote_batch_free(&b);
    mote_session_free(s);
}

int main(void)
{
    test_fix_pool_size();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eval_huge_count),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_output_flag_any_nonzero),
        cmocka_unit_test(test_eval_pieces_equal_batches),
        cmocka_unit_test(test_no_outputs_after_failure),
        cmocka_unit_test(test_cls_over_several_evaluations),
        cmocka_unit_test(test_mean_counts_every_token),
        cmocka_unit_test(test_pooled_vector_follows_its_sequence),
        cmocka_unit_test(test_cancel_rolls_back_pooling),
        cmocka_unit_test(test_most_sequences),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
