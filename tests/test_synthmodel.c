/*
 * test_synthmodel.c — a forward pass end to end with nothing from ../shared.
 *
 * The group setup writes a small SentencePiece vocabulary (synthmodel.c)
 * and, with mote_synth, a 2-layer model of the tiny-llama shape (width 256,
 * separate output head) in F16, Q8_0, Q4_0 and Q4_K_M into a temporary
 * folder, removed at the end. A run evaluates a prompt and generates
 * N_GEN tokens greedily, one at a time, keeping the logits of every
 * position; each type's reference run (prompt as one batch with all_logits,
 * 2 threads) is made once and compared with:
 *
 * - open_and_generate: the model opens with the expected shape and
 *   vocabulary, mote_generate's greedy tokens are the reference run's, and
 *   the logits are finite and not flat;
 * - deterministic: the same run again is bit-identical at every position;
 * - thread_invariant: the run with 1 thread is bit-identical at every
 *   position (the batch prompt and the token-by-token generation); once
 *   more with a prompt longer than one attention chunk;
 * - batch_vs_single: the prompt one token at a time.
 *   Q8_0 and Q4_0 run the same arithmetic either way (activations go to
 *   Q8_0 blocks and every dot sums in the same order) and must be bit-
 *   identical; F16 and K-quant batches use matrix kernels that sum in
 *   another order, so they get a tolerance.
 *
 * test_noalloc does the no-allocation check on such models. Under qemu the
 * F16 model is by far the slowest (half-precision conversions are
 * emulated), so each test runs it as few times as it can.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synthmodel.h"
#include "testutil.h"

#define LIKE "tiny-llama"
#define N_LAYER 2
#define N_CTX 512
#define N_GEN 8    /* generated tokens per run */
#define MAX_PROMPT 400
#define LONG_REPEAT 12 /* PROMPT this many times: past one attention chunk */
#define ATTN_POSITIONS_PER_CHUNK 256 /* ATTN_CHUNK of src/kernels/attention.h */

static const char PROMPT[] = "Once upon a time, there lived a little girl. She liked to play with a big ball";

typedef struct type_case {
    const char *type;
    int exact_batch; /* the batch path is bit-identical to one token at a time */
    float batch_tol; /* else the largest |logit difference| allowed */
} type_case;

/* Observed batch-vs-single differences, logits up to about 1.2 (x86-64,
 * avx512 and scalar kernels): F16 3.9e-4 (its batch kernels follow
 * llama.cpp's tinyBLAS order), Q4_K_M 3.6e-7. The tolerances are about 5x
 * and 30x those. */
static const type_case types[] = {
    {"F16", 0, 2e-3f},
    {"Q8_0", 1, 0.0f},
    {"Q4_0", 1, 0.0f},
    {"Q4_K_M", 0, 1e-5f},
};
#define N_TYPES ((int)(sizeof types / sizeof types[0]))

#define LONG_TYPE 1 /* types[] index of the model for the long prompt (Q8_0) */

/* The logits of a whole run: n_prompt rows for the prompt positions, then
 * N_GEN rows of greedy generation (each step's argmax fed back). */
typedef struct trace {
    int n_prompt, n_vocab;
    float *logits; /* (n_prompt + N_GEN, n_vocab) */
    mote_token gen[N_GEN];
} trace;

static struct {
    char *dir;
    char *path[N_TYPES];
    mote_model *model[N_TYPES];
    trace ref[N_TYPES]; /* made on first use (reference_run) */
    int n_vocab;        /* tokens written to the vocabulary */
} fx;

/* ------------------------------------------------------------------------
 * Fixture
 * ---------------------------------------------------------------------- */

static int setup_models(void **state)
{
    (void)state;
    int found = 0;
    for (int i = 0; mote_synth_model_name(i); i++) found |= strcmp(mote_synth_model_name(i), LIKE) == 0;
    if (!found) {
        print_error("mote_synth has no model '%s'\n", LIKE);
        return -1;
    }
    fx.dir = synthmodel_tempdir();
    char vocab[4200];
    snprintf(vocab, sizeof vocab, "%s/vocab.gguf", fx.dir);
    fx.n_vocab = synthmodel_write_vocab(vocab);
    for (int t = 0; t < N_TYPES; t++) {
        fx.path[t] = synthmodel_make(fx.dir, LIKE, types[t].type, N_LAYER);
        if (mote_model_open(fx.path[t], NULL, &fx.model[t]) != MOTE_OK) {
            print_error("%s: %s\n", fx.path[t], mote_last_error());
            return -1;
        }
    }
    return 0;
}

static int teardown_models(void **state)
{
    (void)state;
    for (int t = 0; t < N_TYPES; t++) {
        mote_model_close(fx.model[t]);
        free(fx.path[t]);
        free(fx.ref[t].logits);
    }
    synthmodel_tempdir_remove(fx.dir);
    return 0;
}

/* ------------------------------------------------------------------------
 * Runs
 * ---------------------------------------------------------------------- */

static mote_session *new_session(mote_model *m, int n_threads)
{
    mote_session_params sp = mote_session_default_params();
    sp.n_ctx = N_CTX;
    sp.n_threads = n_threads;
    mote_session *s = NULL;
    if (mote_session_create(m, &sp, &s) != MOTE_OK) fail_msg("session: %s", mote_last_error());
    return s;
}

/* PROMPT repeat times, tokenized with BOS. */
static int prompt_ids(const mote_model *m, int repeat, mote_token *ids)
{
    char text[sizeof PROMPT * LONG_REPEAT];
    text[0] = '\0';
    for (int i = 0; i < repeat; i++) strcat(strcat(text, i ? " " : ""), PROMPT);
    size_t n = 0;
    assert_int_equal(mote_tokenize(m, text, strlen(text), 1, 0, ids, MAX_PROMPT, &n), MOTE_OK);
    assert_true(n > 8 && n <= MAX_PROMPT);
    return (int)n;
}

/* Greedy: the highest logit, ties to the lowest id. */
static mote_token argmax(const float *x, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

static float *row(const trace *t, int i) { return t->logits + (size_t)i * (size_t)t->n_vocab; }

/* Row i of t := the logits of batch index i of the session's last eval. */
static void keep_logits(trace *t, int i, const mote_session *s, int batch_index)
{
    const float *lg = mote_session_logits(s, batch_index);
    assert_non_null(lg);
    memcpy(row(t, i), lg, sizeof(float) * (size_t)t->n_vocab);
}

/* PROMPT repeat times; batch: the prompt as one mote_session_eval with
 * all_logits, else one token per call. */
static trace run_prompt(mote_model *m, int n_threads, int batch, int repeat)
{
    trace t = {.n_vocab = mote_vocab_size(m)};
    mote_token prompt[MAX_PROMPT];
    t.n_prompt = prompt_ids(m, repeat, prompt);
    t.logits = malloc(sizeof(float) * (size_t)(t.n_prompt + N_GEN) * (size_t)t.n_vocab);
    assert_non_null(t.logits);
    mote_session *s = new_session(m, n_threads);
    if (batch) {
        assert_int_equal(mote_session_eval(s, prompt, t.n_prompt, 1), MOTE_OK);
        for (int i = 0; i < t.n_prompt; i++) keep_logits(&t, i, s, i);
    } else {
        for (int i = 0; i < t.n_prompt; i++) {
            assert_int_equal(mote_session_eval(s, &prompt[i], 1, 0), MOTE_OK);
            keep_logits(&t, i, s, -1);
        }
    }
    for (int g = 0; g < N_GEN; g++) {
        t.gen[g] = argmax(row(&t, t.n_prompt - 1 + g), t.n_vocab);
        assert_int_equal(mote_session_eval(s, &t.gen[g], 1, 0), MOTE_OK);
        keep_logits(&t, t.n_prompt + g, s, -1);
    }
    assert_int_equal(mote_session_pos(s), t.n_prompt + N_GEN);
    mote_session_free(s);
    return t;
}

static trace run(mote_model *m, int n_threads, int batch) { return run_prompt(m, n_threads, batch, 1); }

/* Type ti's reference run: PROMPT as one batch, 2 threads. */
static const trace *reference_run(int ti)
{
    if (!fx.ref[ti].logits) fx.ref[ti] = run(fx.model[ti], 2, 1);
    return &fx.ref[ti];
}

static int n_rows(const trace *t) { return t->n_prompt + N_GEN; }

/* a and b bit for bit at every position; the failure names the first. */
static void expect_identical(const char *what, const char *type, const trace *a, const trace *b)
{
    assert_int_equal(a->n_prompt, b->n_prompt);
    for (int i = 0; i < n_rows(a); i++)
        if (memcmp(row(a, i), row(b, i), sizeof(float) * (size_t)a->n_vocab) != 0)
            fail_msg("%s %s: logits of position %d differ (prompt has %d tokens)", type, what, i, a->n_prompt);
}

static float max_abs_diff(const float *a, const float *b, int n)
{
    float worst = 0.0f;
    for (int i = 0; i < n; i++) {
        float d = fabsf(a[i] - b[i]);
        if (!(d <= worst)) worst = d; /* NaN wins */
    }
    return worst;
}

/* ------------------------------------------------------------------------
 * Tests
 * ---------------------------------------------------------------------- */

static int count_token(void *user, mote_token t, const char *piece, size_t len)
{
    (void)piece;
    (void)len;
    mote_token *out = user;
    out[++out[0]] = t; /* out[0] counts */
    return 0;
}

static void test_open_and_generate(void **state)
{
    (void)state;
    for (int ti = 0; ti < N_TYPES; ti++) {
        mote_model *m = fx.model[ti];
        mote_model_info info;
        assert_int_equal(mote_model_get_info(m, &info), MOTE_OK);
        assert_string_equal(info.arch, "llama");
        assert_string_equal(info.tokenizer, "llama");
        assert_false(info.vocab_only);
        assert_int_equal(info.n_layer, N_LAYER);
        assert_int_equal(info.n_embd, 256);
        assert_int_equal(info.n_vocab, fx.n_vocab);
        assert_int_equal(mote_vocab_size(m), fx.n_vocab);
        assert_int_equal(mote_token_bos(m), SYNTHMODEL_BOS);
        assert_int_equal(mote_token_eos(m), SYNTHMODEL_EOS);

        /* mote_generate, greedy */
        mote_token prompt[MAX_PROMPT], got[N_GEN + 1] = {0};
        const int n_prompt = prompt_ids(m, 1, prompt);
        mote_sampler_params pp = mote_sampler_default_params();
        pp.temp = 0.0f;
        mote_sampler *smp;
        assert_int_equal(mote_sampler_create(&pp, fx.n_vocab, &smp), MOTE_OK);
        mote_session *s = new_session(m, 2);
        mote_generate_stats stats;
        assert_int_equal(mote_generate(s, smp, prompt, n_prompt, N_GEN, count_token, got, &stats), MOTE_OK);
        assert_int_equal(stats.n_prompt, n_prompt);
        assert_true(stats.n_generated >= 1 && stats.n_generated == got[0]);
        mote_sampler_free(smp);
        mote_session_free(s);

        /* the same by hand: argmax of the raw logits, fed back */
        const trace *t = reference_run(ti);
        for (int g = 0; g < got[0]; g++)
            if (got[1 + g] != t->gen[g])
                fail_msg("%s: mote_generate's token %d is %d, argmax of the logits %d", types[ti].type, g,
                         got[1 + g], t->gen[g]);
        if (got[0] < N_GEN) assert_true(stats.stopped_by_eog && mote_token_is_eog(m, got[got[0]]));
        for (int i = 0; i < n_rows(t); i++) {
            float lo = INFINITY, hi = -INFINITY;
            for (int v = 0; v < t->n_vocab; v++) {
                const float x = row(t, i)[v];
                if (!isfinite(x)) fail_msg("%s: logit %d of position %d is %g", types[ti].type, v, i, (double)x);
                lo = x < lo ? x : lo;
                hi = x > hi ? x : hi;
            }
            assert_true(hi - lo > 0.1f);
        }
        char ids[256];
        int o = 0;
        for (int g = 0; g < N_GEN; g++) o += snprintf(ids + o, sizeof ids - (size_t)o, " %d", t->gen[g]);
        print_message("[  INFO    ] %-7s %d prompt tokens, greedy:%s\n", types[ti].type, t->n_prompt, ids);
    }
}

static void test_deterministic(void **state)
{
    (void)state;
    for (int ti = 0; ti < N_TYPES; ti++) {
        const trace *a = reference_run(ti);
        trace b = run(fx.model[ti], 2, 1);
        expect_identical("run twice", types[ti].type, a, &b);
        assert_memory_equal(a->gen, b.gen, sizeof b.gen);
        free(b.logits);
    }
}

static void test_thread_invariant(void **state)
{
    (void)state;
    for (int ti = 0; ti < N_TYPES; ti++) {
        const trace *a = reference_run(ti);
        trace b = run(fx.model[ti], 1, 1);
        expect_identical("2 vs 1 thread", types[ti].type, a, &b);
        assert_memory_equal(a->gen, b.gen, sizeof b.gen);
        free(b.logits);
    }
    /* Past one chunk of attention positions, split between the threads;
     * its generation steps attend over two chunks as well. The weight type
     * does not change how attention splits them. */
    mote_model *m = fx.model[LONG_TYPE];
    trace a = run_prompt(m, 2, 1, LONG_REPEAT), b = run_prompt(m, 1, 1, LONG_REPEAT);
    assert_true(a.n_prompt > ATTN_POSITIONS_PER_CHUNK);
    expect_identical("2 vs 1 thread, long prompt", types[LONG_TYPE].type, &a, &b);
    assert_memory_equal(a.gen, b.gen, sizeof a.gen);
    free(a.logits);
    free(b.logits);
}

static void test_batch_vs_single(void **state)
{
    (void)state;
    for (int ti = 0; ti < N_TYPES; ti++) {
        const type_case *tc = &types[ti];
        const trace *a = reference_run(ti);
        trace b = run(fx.model[ti], 2, 0);
        if (tc->exact_batch) {
            expect_identical("batch vs one token at a time", tc->type, a, &b);
            assert_memory_equal(a->gen, b.gen, sizeof b.gen);
        } else {
            float worst = 0.0f, scale = 0.0f;
            for (int i = 0; i < a->n_prompt; i++) {
                float d = max_abs_diff(row(a, i), row(&b, i), a->n_vocab);
                for (int v = 0; v < a->n_vocab; v++) scale = fmaxf(scale, fabsf(row(&b, i)[v]));
                if (!(d <= tc->batch_tol))
                    fail_msg("%s: batch vs one token at a time: position %d differs by %g (tol %g)", tc->type, i,
                             (double)d, (double)tc->batch_tol);
                worst = d > worst ? d : worst;
            }
            print_message("[  INFO    ] %-7s batch vs one token at a time: max |logit diff| %.2e over %d positions "
                          "(tol %.1e; max |logit| %.2f)\n",
                          tc->type, (double)worst, a->n_prompt, (double)tc->batch_tol, (double)scale);
        }
        free(b.logits);
    }
}

/* The vocabulary is the one the tests think: whole words through the
 * prefix chains, byte fallback for what it lacks, and back to the text. */
static void test_vocabulary(void **state)
{
    (void)state;
    mote_model *m = fx.model[0];
    const char *text = "Once upon a time \xC3\xA9";
    mote_token ids[32];
    size_t n = 0;
    assert_int_equal(mote_tokenize(m, text, strlen(text), 1, 0, ids, 32, &n), MOTE_OK);
    const int want[] = {SYNTHMODEL_BOS,
                        synthmodel_token_id("\xE2\x96\x81Once"),
                        synthmodel_token_id("\xE2\x96\x81upon"),
                        synthmodel_token_id("\xE2\x96\x81" "a"),
                        synthmodel_token_id("\xE2\x96\x81time"),
                        synthmodel_token_id("\xE2\x96\x81"),
                        SYNTHMODEL_BYTE0 + 0xC3,
                        SYNTHMODEL_BYTE0 + 0xA9};
    assert_int_equal(n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < n; i++) {
        assert_true(want[i] >= 0);
        assert_int_equal(ids[i], want[i]);
    }
    char *back = NULL;
    assert_int_equal(mote_detokenize(m, ids, n, 0, &back), MOTE_OK);
    assert_string_equal(back, text);
    mote_free(back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vocabulary),
        cmocka_unit_test(test_open_and_generate),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_thread_invariant),
        cmocka_unit_test(test_batch_vs_single),
    };
    return cmocka_run_group_tests(tests, setup_models, teardown_models);
}
