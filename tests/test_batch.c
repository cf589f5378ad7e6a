/*
 * test_batch.c — sessions of several sequences, mote_batch, sequence
 * operations, embeddings output, cancellation, memory accounting and the
 * memory a session will hold (mote_session_plan).
 *
 * The central promise: a sequence evaluated in a batch with others gives
 * the logits it gives alone, bit for bit, in every weight type (the batch
 * kernels of F16/F32/BF16/K-quants sum in another order than the
 * single-token ones, so this holds only because each sequence's rows get
 * the kernels of its own batch) and every KV cache type.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mote.h"
#include "mote_tools.h"
#include "gguf/ggml_type.h"
#include "gguf/gguf.h"
#include "synthmodel.h"
#include "testutil.h"

#define N_SEQ 3
#define N_GEN 6
#define MAX_STEPS (N_GEN + 1)

static const char *const type_models[] = {
    "models/synth-llama-F32.gguf",  "models/synth-llama-F16.gguf",     "models/synth-llama-Q8_0.gguf",
    "models/synth-llama-Q4_K_M.gguf", "models/synth-qwen2-Q4_0.gguf",  "models/synth-llama3-IQ4_XS.gguf",
    "models/TinyStories-656K-BF16.gguf",
};

/* Prompts of different lengths, one of a single token. */
static const mote_token prompts[N_SEQ][9] = {{1, 50, 60, 70, 80}, {1}, {1, 9, 8, 7, 6, 5, 4, 3, 2}};
static const int prompt_len[N_SEQ] = {5, 1, 9};

static mote_model *open_shared(const char *rel)
{
    mote_model *m = NULL;
    const char *p = shared_path(rel);
    if (mote_model_open(p, NULL, &m) != MOTE_OK) fail_msg("%s: %s", p, mote_last_error());
    return m;
}

static mote_session *new_session(const mote_model *m, int n_seq, int kv_type, int n_threads)
{
    mote_session_params sp = mote_session_default_params();
    sp.n_ctx = 64;
    sp.n_batch = 32;
    sp.n_seq_max = n_seq;
    sp.kv_type = kv_type;
    sp.n_threads = n_threads;
    mote_session *s = NULL;
    if (mote_session_create(m, &sp, &s) != MOTE_OK) fail_msg("session: %s", mote_last_error());
    return s;
}

static mote_token argmax(const float *x, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

/* Each sequence alone: its prompt as one batch, then N_GEN greedy tokens;
 * logits[q][step] gets a copy of every step's logits. */
static void run_alone(const mote_model *m, int kv_type, float *logits[N_SEQ][MAX_STEPS], int n_vocab)
{
    for (int q = 0; q < N_SEQ; q++) {
        mote_session *s = new_session(m, 1, kv_type, 2);
        assert_int_equal(mote_session_eval(s, prompts[q], prompt_len[q], 0), MOTE_OK);
        for (int step = 0; step < MAX_STEPS; step++) {
            const float *l = mote_session_logits(s, -1);
            assert_non_null(l);
            memcpy(logits[q][step], l, sizeof(float) * (size_t)n_vocab);
            mote_token t = argmax(l, n_vocab);
            if (step + 1 < MAX_STEPS) assert_int_equal(mote_session_eval(s, &t, 1, 0), MOTE_OK);
        }
        mote_session_free(s);
    }
}

static void expect_same(const float *got, const float *want, int n_vocab, const char *what, int q, int step)
{
    if (memcmp(got, want, sizeof(float) * (size_t)n_vocab) != 0) {
        int i = 0;
        while (got[i] == want[i]) i++;
        fail_msg("%s: sequence %d step %d differs from alone at logit %d: %.9g vs %.9g", what, q, step, i,
                 (double)got[i], (double)want[i]);
    }
}

/* All sequences in one session: step 0 puts all prompts in one batch,
 * interleaved token by token (the session regroups them); later steps
 * bring one token per sequence. Sequence 2 starts one step late, so step 1
 * mixes its prompt with the others' generated tokens. */
static void run_batched(const mote_model *m, int kv_type, int n_threads, float *want[N_SEQ][MAX_STEPS],
                        int n_vocab, const char *what)
{
    mote_session *s = new_session(m, N_SEQ, kv_type, n_threads);
    mote_batch b;
    assert_int_equal(mote_batch_init(&b, 32), MOTE_OK);
    int step_of[N_SEQ] = {0}, started[N_SEQ] = {0};
    mote_token next[N_SEQ] = {0};
    for (int round = 0; round < MAX_STEPS + 1; round++) {
        mote_batch_clear(&b);
        int idx[N_SEQ];
        for (int q = 0; q < N_SEQ; q++) idx[q] = -1;
        for (int i = 0; i < 9; i++) /* prompts, interleaved */
            for (int q = 0; q < N_SEQ; q++) {
                const int starts_now = !started[q] && (q < 2 ? round == 0 : round == 1);
                if (!starts_now || i >= prompt_len[q]) continue;
                assert_int_equal(mote_batch_add(&b, prompts[q][i], q, i, i == prompt_len[q] - 1), MOTE_OK);
                if (i == prompt_len[q] - 1) idx[q] = b.n - 1;
            }
        for (int q = 0; q < N_SEQ; q++) {
            if (started[q] && step_of[q] < MAX_STEPS) {
                assert_int_equal(mote_batch_add(&b, next[q], q, -1, 1), MOTE_OK);
                idx[q] = b.n - 1;
            }
        }
        if (b.n == 0) break;
        assert_int_equal(mote_session_decode(s, &b), MOTE_OK);
        for (int q = 0; q < N_SEQ; q++) {
            if (idx[q] < 0) continue;
            started[q] = 1;
            const float *l = mote_session_logits(s, idx[q]);
            assert_non_null(l);
            expect_same(l, want[q][step_of[q]], n_vocab, what, q, step_of[q]);
            next[q] = argmax(l, n_vocab);
            step_of[q]++;
        }
    }
    for (int q = 0; q < N_SEQ; q++) assert_int_equal(step_of[q], MAX_STEPS);
    mote_batch_free(&b);
    mote_session_free(s);
}

/* Alone vs batched for one model file, every KV cache type, 1 and 2 threads. */
static void batch_equals_alone(const char *path)
{
    static const int kv_types[] = {MOTE_KV_F32, MOTE_KV_F16, MOTE_KV_Q8_0};
    {
        mote_model *m = NULL;
        if (mote_model_open(path, NULL, &m) != MOTE_OK) fail_msg("%s: %s", path, mote_last_error());
        const int n_vocab = mote_vocab_size(m);
        float *want[N_SEQ][MAX_STEPS];
        for (int q = 0; q < N_SEQ; q++)
            for (int i = 0; i < MAX_STEPS; i++) want[q][i] = malloc(sizeof(float) * (size_t)n_vocab);
        for (size_t ki = 0; ki < sizeof kv_types / sizeof kv_types[0]; ki++) {
            mote_model_info info;
            assert_int_equal(mote_model_get_info(m, &info), MOTE_OK);
            if (kv_types[ki] == MOTE_KV_Q8_0 && (info.n_embd / info.n_head) % 32 != 0) continue;
            run_alone(m, kv_types[ki], want, n_vocab);
            char what[512];
            for (int nt = 1; nt <= 2; nt++) {
                snprintf(what, sizeof what, "%s kv %d, %d threads", path, kv_types[ki], nt);
                run_batched(m, kv_types[ki], nt, want, n_vocab, what);
            }
        }
        for (int q = 0; q < N_SEQ; q++)
            for (int i = 0; i < MAX_STEPS; i++) free(want[q][i]);
        mote_model_close(m);
    }
}

static void test_batch_equals_alone(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    for (size_t mi = 0; mi < sizeof type_models / sizeof type_models[0]; mi++)
        batch_equals_alone(shared_path(type_models[mi]));
}

/* The same without ../shared, on models the test makes: F16 and Q4_K_M,
 * whose batch kernels sum in another order than their single-token ones. */
static void test_batch_equals_alone_synth(void **state)
{
    (void)state;
    char *dir = synthmodel_tempdir();
    static const char *const types[] = {"F16", "Q4_K_M"};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        char *path = synthmodel_make(dir, "tiny-llama", types[i], 2);
        batch_equals_alone(path);
        free(path);
    }
    synthmodel_tempdir_remove(dir);
}

/* ------------------------------------------------------------------------
 * Sequence operations
 * ---------------------------------------------------------------------- */

static void test_seq_copy_truncate_prefix(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    mote_model *m = open_shared("models/synth-llama-Q4_K_M.gguf");
    const int n_vocab = mote_vocab_size(m);
    const mote_token toks[8] = {1, 33, 44, 55, 66, 77, 88, 99};
    float *want = malloc(sizeof(float) * (size_t)n_vocab);

    /* alone: 5 tokens, then 3 */
    mote_session *a = new_session(m, 1, MOTE_KV_F16, 2);
    assert_int_equal(mote_session_eval(a, toks, 5, 0), MOTE_OK);
    assert_int_equal(mote_session_eval(a, toks + 5, 3, 0), MOTE_OK);
    memcpy(want, mote_session_logits(a, -1), sizeof(float) * (size_t)n_vocab);

    /* seq 0 holds 7 tokens; seq 2 gets its first 5 and evaluates the rest */
    mote_session *s = new_session(m, 3, MOTE_KV_F16, 2);
    mote_batch b;
    assert_int_equal(mote_batch_init(&b, 8), MOTE_OK);
    for (int i = 0; i < 5; i++) assert_int_equal(mote_batch_add(&b, toks[i], 0, i, 0), MOTE_OK);
    assert_int_equal(mote_session_decode(s, &b), MOTE_OK);
    mote_batch_clear(&b);
    for (int i = 5; i < 7; i++) assert_int_equal(mote_batch_add(&b, toks[i], 0, -1, 0), MOTE_OK);
    assert_int_equal(mote_session_decode(s, &b), MOTE_OK);
    assert_int_equal(mote_seq_pos(s, 0), 7);

    assert_int_equal(mote_seq_common_prefix(s, 0, toks, 8), 7);
    const mote_token other[3] = {1, 33, 5};
    assert_int_equal(mote_seq_common_prefix(s, 0, other, 3), 2);
    assert_int_equal(mote_seq_copy(s, 0, 2, 5), MOTE_OK);
    assert_int_equal(mote_seq_pos(s, 2), 5);
    int n = 0;
    const mote_token *cached = mote_seq_tokens(s, 2, &n);
    assert_int_equal(n, 5);
    assert_memory_equal(cached, toks, sizeof(mote_token) * 5);
    assert_int_equal(mote_session_eval(s, toks, 0, 0), MOTE_OK); /* nothing to do */
    mote_batch_clear(&b);
    for (int i = 5; i < 8; i++) assert_int_equal(mote_batch_add(&b, toks[i], 2, i, i == 7), MOTE_OK);
    assert_int_equal(mote_session_decode(s, &b), MOTE_OK);
    expect_same(mote_session_logits(s, 2), want, n_vocab, "copied prefix", 2, 0);
    assert_null(mote_session_logits(s, 0)); /* not asked for */

    /* truncate seq 0 to 5 and evaluate the last 3 the same way */
    assert_int_equal(mote_seq_truncate(s, 0, 5), MOTE_OK);
    mote_batch_clear(&b);
    for (int i = 5; i < 8; i++) assert_int_equal(mote_batch_add(&b, toks[i], 0, -1, i == 7), MOTE_OK);
    assert_int_equal(mote_session_decode(s, &b), MOTE_OK);
    expect_same(mote_session_logits(s, -1), want, n_vocab, "truncated", 0, 0);

    assert_int_equal(mote_seq_clear(s, 0), MOTE_OK);
    assert_int_equal(mote_seq_pos(s, 0), 0);
    assert_int_equal(mote_seq_pos(s, 2), 8);
    assert_int_equal(mote_seq_pos(s, 3), -1);

    mote_batch_free(&b);
    mote_session_free(s);
    mote_session_free(a);
    free(want);
    mote_model_close(m);
}

static void test_bad_batches_change_nothing(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    mote_model *m = open_shared("models/stories260K.gguf");
    mote_session *s = new_session(m, 2, MOTE_KV_F16, 1);
    mote_batch b;
    assert_int_equal(mote_batch_init(&b, 40), MOTE_OK);
    assert_int_equal(mote_batch_add(&b, 1, 0, 0, 1), MOTE_OK);
    assert_int_equal(mote_session_decode(s, &b), MOTE_OK);

    struct {
        mote_token t;
        int seq, pos;
        mote_status want;
        const char *msg;
    } bad[] = {
        {1, 0, 0, MOTE_E_INVALID, "position 0 of sequence 0 must be 1"},
        {1, 0, 5, MOTE_E_INVALID, "must be 1"},
        {1, 2, 0, MOTE_E_INVALID, "sequence 2 outside [0, 2)"},
        {1, -1, 0, MOTE_E_INVALID, "sequence -1"},
        {100000, 1, 0, MOTE_E_INVALID, "out of range"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mote_batch_clear(&b);
        assert_int_equal(mote_batch_add(&b, 1, 1, 0, 1), MOTE_OK); /* a good token first */
        assert_int_equal(mote_batch_add(&b, bad[i].t, bad[i].seq, bad[i].pos, 1), MOTE_OK);
        assert_int_equal(mote_session_decode(s, &b), bad[i].want);
        if (!strstr(mote_last_error(), bad[i].msg)) fail_msg("message '%s' lacks '%s'", mote_last_error(), bad[i].msg);
        assert_int_equal(mote_seq_pos(s, 0), 1);
        assert_int_equal(mote_seq_pos(s, 1), 0);
    }
    /* more tokens than n_batch (32) */
    mote_batch_clear(&b);
    for (int i = 0; i < 33; i++) assert_int_equal(mote_batch_add(&b, 1, 1, -1, 0), MOTE_OK);
    assert_int_equal(mote_session_decode(s, &b), MOTE_E_RANGE);
    /* a full batch */
    mote_batch small;
    assert_int_equal(mote_batch_init(&small, 1), MOTE_OK);
    assert_int_equal(mote_batch_add(&small, 1, 0, -1, 1), MOTE_OK);
    assert_int_equal(mote_batch_add(&small, 1, 0, -1, 1), MOTE_E_RANGE);
    mote_batch_free(&small);
    /* context full: 64 positions */
    for (int i = 1; i < 64; i += 21) {
        mote_batch_clear(&b);
        for (int j = i; j < i + 21 && j < 64; j++) assert_int_equal(mote_batch_add(&b, 1, 0, -1, 0), MOTE_OK);
        assert_int_equal(mote_session_decode(s, &b), MOTE_OK);
    }
    assert_int_equal(mote_seq_pos(s, 0), 64);
    mote_batch_clear(&b);
    assert_int_equal(mote_batch_add(&b, 1, 0, -1, 1), MOTE_OK);
    assert_int_equal(mote_session_decode(s, &b), MOTE_E_RANGE);
    assert_int_equal(mote_seq_truncate(s, 0, 65), MOTE_E_INVALID);
    assert_int_equal(mote_seq_copy(s, 0, 1, 65), MOTE_E_INVALID);
    assert_int_equal(mote_seq_copy(s, 0, 7, 1), MOTE_E_INVALID);
    mote_batch_free(&b);
    mote_session_free(s);
    mote_model_close(m);
}

/* ------------------------------------------------------------------------
 * Embeddings
 * ---------------------------------------------------------------------- */

static mote_session *embed_session(const mote_model *m, int n_seq, int pooling, int normalize)
{
    mote_session_params sp = mote_session_default_params();
    sp.n_ctx = 64;
    sp.n_batch = 32;
    sp.n_seq_max = n_seq;
    sp.kv_type = MOTE_KV_F32;
    sp.embeddings = 1;
    sp.pooling = pooling;
    sp.normalize = normalize;
    mote_session *s = NULL;
    if (mote_session_create(m, &sp, &s) != MOTE_OK) fail_msg("session: %s", mote_last_error());
    return s;
}

/* The hidden states are what the output head multiplies: with the F32
 * head of synth-llama-F32 read from the file, output·h must give the
 * logits a logits session computes. */
static void test_embeddings_are_the_hidden_states(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    const char *path = shared_path("models/synth-llama-F32.gguf");
    mote_model *m = open_shared("models/synth-llama-F32.gguf");
    mote_model_info info;
    assert_int_equal(mote_model_get_info(m, &info), MOTE_OK);
    const int E = info.n_embd, V = info.n_vocab;
    gguf_file *f;
    assert_int_equal(gguf_open(path, &f), MOTE_OK);
    const gguf_tensor *out = gguf_find_tensor(f, "output.weight");
    assert_non_null(out);
    assert_int_equal(out->type, GGML_TYPE_F32);

    const mote_token toks[6] = {1, 20, 30, 40, 50, 60};
    mote_session *e = embed_session(m, 1, MOTE_POOL_NONE, 0);
    assert_int_equal(mote_session_pooling(e), MOTE_POOL_NONE);
    assert_int_equal(mote_session_eval(e, toks, 6, 1), MOTE_OK);
    mote_session *l = new_session(m, 1, MOTE_KV_F32, 2);
    assert_int_equal(mote_session_eval(l, toks, 6, 1), MOTE_OK);
    assert_null(mote_session_logits(e, 0));
    assert_null(mote_session_embedding(l, 0));
    for (int t = 0; t < 6; t++) {
        const float *h = mote_session_embedding(e, t), *logit = mote_session_logits(l, t);
        assert_non_null(h);
        double worst = 0;
        for (int v = 0; v < V; v++) {
            const float *w = (const float *)out->data + (size_t)v * E;
            double d = 0;
            for (int i = 0; i < E; i++) d += (double)w[i] * h[i];
            if (fabs(d - logit[v]) > worst) worst = fabs(d - logit[v]);
        }
        if (worst > 1e-3) fail_msg("token %d: output·h differs from the logits by %g", t, worst);
    }
    mote_session_free(l);
    mote_session_free(e);
    gguf_close(f);
    mote_model_close(m);
}

static void test_embedding_pooling(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    mote_model *m = open_shared("models/synth-llama-Q8_0.gguf");
    mote_model_info info;
    assert_int_equal(mote_model_get_info(m, &info), MOTE_OK);
    const int E = info.n_embd;
    const mote_token toks[7] = {1, 21, 31, 41, 51, 61, 71};

    /* per token, all 7 */
    mote_session *none = embed_session(m, 1, MOTE_POOL_NONE, 0);
    assert_int_equal(mote_session_eval(none, toks, 7, 1), MOTE_OK);
    float mean[512] = {0};
    assert_true(E <= 512);
    for (int t = 0; t < 7; t++)
        for (int i = 0; i < E; i++) mean[i] += mote_session_embedding(none, t)[i];
    for (int i = 0; i < E; i++) mean[i] /= 7.0f;

    const int pools[3] = {MOTE_POOL_MEAN, MOTE_POOL_CLS, MOTE_POOL_LAST};
    for (int p = 0; p < 3; p++) {
        const float *want = pools[p] == MOTE_POOL_MEAN  ? mean
                            : pools[p] == MOTE_POOL_CLS ? mote_session_embedding(none, 0)
                                                        : mote_session_embedding(none, 6);
        for (int normalize = 0; normalize <= 1; normalize++) {
            /* three sequences in one batch; sequence 1 is the one checked,
             * the others are noise around it */
            mote_session *s = embed_session(m, 3, pools[p], normalize);
            assert_int_equal(mote_session_pooling(s), pools[p]);
            mote_batch b;
            assert_int_equal(mote_batch_init(&b, 32), MOTE_OK);
            for (int t = 0; t < 7; t++) {
                assert_int_equal(mote_batch_add(&b, toks[6 - t], 0, t, 1), MOTE_OK);
                assert_int_equal(mote_batch_add(&b, toks[t], 1, t, t == 6), MOTE_OK);
                if (t < 3) assert_int_equal(mote_batch_add(&b, toks[t], 2, t, 1), MOTE_OK);
            }
            assert_int_equal(mote_session_decode(s, &b), MOTE_OK);
            const float *got = mote_session_embedding_seq(s, 1);
            assert_non_null(got);
            assert_non_null(mote_session_embedding_seq(s, 2));
            assert_null(mote_session_embedding(s, 0));
            double norm = 0, wnorm = 0;
            for (int i = 0; i < E; i++) norm += (double)got[i] * got[i], wnorm += (double)want[i] * want[i];
            const double scale = normalize ? 1.0 / sqrt(wnorm) : 1.0;
            if (normalize) assert_true(fabs(norm - 1.0) < 1e-5);
            for (int i = 0; i < E; i++)
                if (fabs(got[i] - want[i] * scale) > 1e-5 * (1 + fabs(want[i] * scale)))
                    fail_msg("pooling %d normalize %d: dim %d is %g, want %g", pools[p], normalize, i,
                             (double)got[i], want[i] * scale);
            mote_batch_free(&b);
            mote_session_free(s);
        }
    }
    /* mean over two evaluations of one sequence equals the mean over one */
    mote_session *s = embed_session(m, 1, MOTE_POOL_MEAN, 0);
    assert_int_equal(mote_session_eval(s, toks, 4, 0), MOTE_OK);
    assert_int_equal(mote_session_eval(s, toks + 4, 3, 0), MOTE_OK);
    const float *got = mote_session_embedding_seq(s, 0);
    for (int i = 0; i < E; i++) assert_true(fabs(got[i] - mean[i]) < 1e-5 * (1 + fabs(mean[i])));
    assert_int_equal(mote_seq_truncate(s, 0, 3), MOTE_E_UNSUPPORTED);
    assert_int_equal(mote_seq_truncate(s, 0, 0), MOTE_OK);
    mote_session_free(s);
    mote_session_free(none);
    mote_model_close(m);
}

/* ------------------------------------------------------------------------
 * Cancellation
 * ---------------------------------------------------------------------- */

typedef struct stopper {
    uint64_t stop_at;  /* cancel when done reaches this */
    uint64_t calls, last_done, last_total;
} stopper;

static int stop_at(void *user, uint64_t done, uint64_t total)
{
    stopper *p = user;
    p->calls++;
    p->last_done = done;
    p->last_total = total;
    return p->stop_at && done >= p->stop_at;
}

static void test_cancel_eval(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    mote_model *m = open_shared("models/synth-llama-Q8_0.gguf");
    const int n_vocab = mote_vocab_size(m);
    mote_token toks[40];
    for (int i = 0; i < 40; i++) toks[i] = 1 + i * 7;
    stopper p = {.stop_at = 3};
    mote_session_params sp = mote_session_default_params();
    sp.n_ctx = 64;
    sp.n_batch = 16;
    sp.progress = stop_at;
    sp.progress_user = &p;
    mote_session *s;
    assert_int_equal(mote_session_create(m, &sp, &s), MOTE_OK);
    assert_int_equal(mote_session_eval(s, toks, 4, 0), MOTE_OK);
    assert_int_equal(p.last_total, 2u); /* 2 layers, one piece */
    /* 36 tokens: three pieces of 16, 16, 4; cancelled in the second */
    p.calls = 0;
    assert_int_equal(mote_session_eval(s, toks + 4, 36, 0), MOTE_E_CANCELLED);
    assert_int_equal(p.last_total, 6u);
    assert_int_equal(p.calls, 3u);
    assert_int_equal(mote_session_pos(s), 4); /* rolled back */
    assert_null(mote_session_logits(s, -1));
    /* still usable: the same call completes and matches a fresh session */
    p.stop_at = 0;
    assert_int_equal(mote_session_eval(s, toks + 4, 36, 0), MOTE_OK);
    mote_session *fresh = new_session(m, 1, MOTE_KV_F16, 2);
    assert_int_equal(mote_session_eval(fresh, toks, 4, 0), MOTE_OK);
    assert_int_equal(mote_session_eval(fresh, toks + 4, 36, 0), MOTE_OK);
    expect_same(mote_session_logits(s, -1), mote_session_logits(fresh, -1), n_vocab, "after cancel", 0, 0);
    mote_session_free(fresh);
    mote_session_free(s);
    mote_model_close(m);
}

static void test_cancel_open_and_synth(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    const char *path = shared_path("models/synth-llama-F32.gguf");
    stopper p = {.stop_at = 1};
    mote_model_params mp = mote_model_default_params();
    mp.progress = stop_at;
    mp.progress_user = &p;
    mp.prefetch = 1;
    mote_model *m = (mote_model *)&p; /* must come back NULL */
    assert_int_equal(mote_model_open(path, &mp, &m), MOTE_E_CANCELLED);
    assert_null(m);
    assert_non_null(strstr(mote_last_error(), "cancelled"));
    p.stop_at = 0;
    p.calls = 0;
    assert_int_equal(mote_model_open(path, &mp, &m), MOTE_OK);
    assert_true(p.calls >= 2);
    assert_true(p.last_done == p.last_total && p.last_total > 0);

    /* synth cancelled halfway leaves no file */
    char dir[] = "/tmp/mote-batch-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char out[128];
    snprintf(out, sizeof out, "%s/s.gguf", dir);
    mote_synth_params sp = mote_synth_default_params();
    sp.like = "smollm2-135m";
    sp.type = "Q8_0";
    sp.vocab_path = shared_path("models/stories260K.gguf");
    sp.out_path = out;
    sp.n_layer = 2;
    sp.progress = stop_at;
    sp.progress_user = &p;
    p.stop_at = 1;
    assert_int_equal(mote_synth(&sp), MOTE_E_CANCELLED);
    struct stat sb;
    assert_int_equal(stat(out, &sb), -1);
    /* over an existing file: the file stays as it was, no temporary is left */
    FILE *f = fopen(out, "w");
    assert_non_null(f);
    fputs("keep me", f);
    fclose(f);
    assert_int_equal(mote_synth(&sp), MOTE_E_CANCELLED);
    char *kept = read_file(out, NULL);
    assert_non_null(kept);
    assert_string_equal(kept, "keep me");
    free(kept);
    assert_int_equal(unlink(out), 0);
    assert_int_equal(rmdir(dir), 0); /* fails if a temporary file was left */
    mote_model_close(m);
}

/* ------------------------------------------------------------------------
 * Memory
 * ---------------------------------------------------------------------- */

static void test_memory_accounting(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    const char *path = shared_path("models/synth-llama-Q8_0.gguf");
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    mote_model_params mp = mote_model_default_params();
    mp.prefetch = 1;
    mote_model *m;
    assert_int_equal(mote_model_open(path, &mp, &m), MOTE_OK);
    mote_memory mm;
    assert_int_equal(mote_model_memory(m, &mm), MOTE_OK);
    assert_int_equal(mm.mapped, (uint64_t)sb.st_size);
    assert_true(mm.resident > mm.mapped / 2 && mm.resident <= mm.mapped); /* read in */
    assert_true(mm.heap > 512 * 8); /* at least the vocabulary's token table */
    assert_int_equal(mm.kv, 0);

    mote_model_info info;
    assert_int_equal(mote_model_get_info(m, &info), MOTE_OK);
    const int head_dim = info.n_embd / info.n_head;
    const int kv_types[3] = {MOTE_KV_F32, MOTE_KV_F16, MOTE_KV_Q8_0};
    const double bytes_per_elem[3] = {4, 2, 34.0 / 32};
    for (int k = 0; k < 3; k++) {
        mote_session *s = new_session(m, 3, kv_types[k], 1);
        uint64_t per_pos = 0;
        assert_int_equal(mote_session_memory(s, &mm, &per_pos), MOTE_OK);
        const double want = 2.0 * info.n_layer * info.n_head_kv * head_dim * bytes_per_elem[k];
        assert_int_equal(per_pos, (uint64_t)want);
        assert_int_equal(mm.kv, per_pos * 64 * 3);
        assert_int_equal(mm.kv_used, 0);
        assert_true(mm.scratch > 0 && mm.heap > 0);
        assert_int_equal(mm.mapped, 0);
        const mote_token t[3] = {1, 2, 3};
        assert_int_equal(mote_session_eval(s, t, 3, 0), MOTE_OK);
        assert_int_equal(mote_seq_copy(s, 0, 2, 2), MOTE_OK);
        assert_int_equal(mote_session_memory(s, &mm, NULL), MOTE_OK);
        assert_int_equal(mm.kv_used, per_pos * 5);
        mote_session_free(s);
    }
    mote_model_close(m);
}

/* mote_session_plan, before the session exists: kv and heap as a new
 * session reports them, scratch at its peak (n_batch output rows; a new
 * session holds one). A decode of a full batch asking for every output
 * reaches the plan; nothing before or after it goes past. Threads: 0 and
 * caps below and above the pool (TEST_POOL_THREADS), planned with no
 * session alive (the workers not started) and with one. */
static void test_session_plan(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    static const struct {
        const char *model;
        int n_ctx, n_batch, n_seq, kv_type, embeddings, pooling, n_threads;
    } cases[] = {
        {"models/synth-llama-Q8_0.gguf", 64, 32, 1, MOTE_KV_F16, 0, MOTE_POOL_DEFAULT, 1},
        {"models/synth-llama-Q8_0.gguf", 64, 32, 3, MOTE_KV_F32, 0, MOTE_POOL_DEFAULT, 0},
        {"models/synth-llama-Q8_0.gguf", 128, 16, 2, MOTE_KV_Q8_0, 0, MOTE_POOL_DEFAULT, 3},
        {"models/synth-llama-Q8_0.gguf", 40, 0, 2, MOTE_KV_F32, 0, MOTE_POOL_DEFAULT, 9}, /* n_batch: n_ctx */
        {"models/synth-llama-Q8_0.gguf", 48, 48, 2, MOTE_KV_F16, 1, MOTE_POOL_MEAN, 1},
        {"models/synth-llama-Q8_0.gguf", 48, 24, 3, MOTE_KV_F32, 1, MOTE_POOL_NONE, 0},
        {"models/embed/synth-qwen3-embed-F32.gguf", 0, 0, 1, MOTE_KV_F16, 1, MOTE_POOL_DEFAULT, 0},
        {"models/archs/synth-gemma3-F32.gguf", 512, 16, 2, MOTE_KV_F32, 0, MOTE_POOL_DEFAULT, 0}, /* rings */
        {"models/archs/synth-gemma3-F32.gguf", 256, 8, 1, MOTE_KV_Q8_0, 0, MOTE_POOL_DEFAULT, 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mote_model *m = open_shared(cases[i].model);
        mote_session_params sp = mote_session_default_params();
        sp.n_ctx = cases[i].n_ctx, sp.n_batch = cases[i].n_batch, sp.n_seq_max = cases[i].n_seq;
        sp.kv_type = cases[i].kv_type, sp.n_threads = cases[i].n_threads;
        sp.embeddings = cases[i].embeddings, sp.pooling = cases[i].pooling;
        for (int alive = 0; alive < 2; alive++) {
            /* alive: another session holds the workers while this one is planned */
            mote_session *other = NULL;
            if (alive) assert_int_equal(mote_session_create(m, &sp, &other), MOTE_OK);
            mote_memory plan, mem;
            assert_int_equal(mote_session_plan(m, &sp, &plan), MOTE_OK);
            uint64_t kv_bytes;
            assert_int_equal(mote_session_kv_bytes(m, &sp, &kv_bytes), MOTE_OK);
            assert_int_equal(kv_bytes, plan.kv);
            assert_int_equal(plan.kv_used + plan.mapped + plan.resident, 0);
            mote_session *s;
            assert_int_equal(mote_session_create(m, &sp, &s), MOTE_OK);
            int n_batch = sp.n_batch ? sp.n_batch : 512; /* the default, at most n_ctx */
            if (n_batch > mote_session_n_ctx(s)) n_batch = mote_session_n_ctx(s);
            mote_model_info info;
            assert_int_equal(mote_model_get_info(m, &info), MOTE_OK);
            const uint64_t row = sizeof(float) * (uint64_t)(sp.embeddings ? info.n_embd : mote_vocab_size(m));
            assert_int_equal(mote_session_memory(s, &mem, NULL), MOTE_OK);
            assert_int_equal(mem.kv, plan.kv);
            assert_int_equal(mem.heap, plan.heap);
            assert_int_equal(mem.scratch + (uint64_t)(n_batch - 1) * row, plan.scratch); /* one output row */

            /* a full batch over the sequences, every output asked for */
            mote_batch b;
            assert_int_equal(mote_batch_init(&b, n_batch), MOTE_OK);
            for (int t = 0; t < n_batch; t++)
                assert_int_equal(mote_batch_add(&b, (mote_token)(1 + t % 50), t % cases[i].n_seq, -1, 1), MOTE_OK);
            assert_int_equal(mote_session_decode(s, &b), MOTE_OK);
            assert_int_equal(mote_session_memory(s, &mem, NULL), MOTE_OK);
            assert_int_equal(mem.kv, plan.kv);
            assert_int_equal(mem.heap, plan.heap);
            /* every row kept, unless a pooling keeps one per sequence */
            const int pooled = sp.embeddings && mote_session_pooling(s) != MOTE_POOL_NONE &&
                               mote_session_pooling(s) != MOTE_POOL_MEAN;
            if (pooled) assert_true(mem.scratch < plan.scratch);
            else assert_int_equal(mem.scratch, plan.scratch);
            assert_true(mem.kv_used > 0);
            mote_batch_free(&b);
            mote_session_free(s);
            mote_session_free(other);
        }
        mote_model_close(m);
    }
}

/* The plan's one exception, and its failures (NULL arguments: test_api_edges). */
static void test_session_plan_edges(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    mote_model *m = open_shared("models/synth-llama-Q8_0.gguf");
    mote_session_params sp = mote_session_default_params();
    sp.n_ctx = 64, sp.n_batch = 8;
    mote_memory plan, mem;
    assert_int_equal(mote_session_plan(m, &sp, &plan), MOTE_OK);
    mote_session *s;
    assert_int_equal(mote_session_create(m, &sp, &s), MOTE_OK);
    mote_token toks[40];
    for (int i = 0; i < 40; i++) toks[i] = (mote_token)(1 + i);
    /* pieces of n_batch, one output each, then every row of 8: the peak */
    assert_int_equal(mote_session_eval(s, toks, 20, 0), MOTE_OK);
    assert_int_equal(mote_session_eval(s, toks, 8, 1), MOTE_OK);
    assert_int_equal(mote_session_memory(s, &mem, NULL), MOTE_OK);
    assert_int_equal(mem.scratch, plan.scratch);
    /* all_logits over more than n_batch tokens: one row each, past the plan */
    assert_int_equal(mote_session_eval(s, toks, 12, 1), MOTE_OK);
    assert_int_equal(mote_session_memory(s, &mem, NULL), MOTE_OK);
    assert_int_equal(mem.scratch - plan.scratch, 4 * sizeof(float) * (uint64_t)mote_vocab_size(m));
    mote_session_free(s);

    /* n_outputs_max 2: the plan counts two rows; a third is refused and
     * changes nothing; two still work */
    sp.n_outputs_max = 2;
    mote_memory capped;
    assert_int_equal(mote_session_plan(m, &sp, &capped), MOTE_OK);
    assert_int_equal(plan.scratch - capped.scratch, 6 * sizeof(float) * (uint64_t)mote_vocab_size(m));
    assert_int_equal(mote_session_create(m, &sp, &s), MOTE_OK);
    mote_batch b;
    assert_int_equal(mote_batch_init(&b, 8), MOTE_OK);
    for (int t = 0; t < 3; t++) assert_int_equal(mote_batch_add(&b, toks[t], 0, -1, 1), MOTE_OK);
    assert_int_equal(mote_session_decode(s, &b), MOTE_E_INVALID);
    assert_non_null(strstr(mote_last_error(), "n_outputs_max"));
    assert_int_equal(mote_seq_pos(s, 0), 0);
    assert_int_equal(mote_session_eval(s, toks, 3, 1), MOTE_E_INVALID);
    assert_int_equal(mote_seq_pos(s, 0), 0);
    mote_batch_clear(&b);
    for (int t = 0; t < 3; t++) assert_int_equal(mote_batch_add(&b, toks[t], 0, -1, t > 0), MOTE_OK);
    assert_int_equal(mote_session_decode(s, &b), MOTE_OK);
    assert_int_equal(mote_seq_pos(s, 0), 3);
    assert_int_equal(mote_session_memory(s, &mem, NULL), MOTE_OK);
    assert_int_equal(mem.scratch, capped.scratch);
    mote_batch_free(&b);
    mote_session_free(s);
    sp.n_outputs_max = -1;
    assert_int_equal(mote_session_plan(m, &sp, &plan), MOTE_E_INVALID);
    sp.n_outputs_max = 0;

    sp.n_seq_max = MOTE_N_SEQ_MAX + 1; /* what creation refuses */
    assert_int_equal(mote_session_plan(m, &sp, &plan), MOTE_E_INVALID);
    assert_int_equal(mote_session_create(m, &sp, &s), MOTE_E_INVALID);
    mote_model_close(m);

    mote_model_params mp = mote_model_default_params();
    mp.vocab_only = 1;
    assert_int_equal(mote_model_open(shared_path("models/synth-llama-Q8_0.gguf"), &mp, &m), MOTE_OK);
    assert_int_equal(mote_session_plan(m, NULL, &plan), MOTE_E_INVALID);
    assert_non_null(strstr(mote_last_error(), "vocab-only"));
    mote_model_close(m);
}

int main(void)
{
    test_fix_pool_size();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_equals_alone),
        cmocka_unit_test(test_batch_equals_alone_synth),
        cmocka_unit_test(test_seq_copy_truncate_prefix),
        cmocka_unit_test(test_bad_batches_change_nothing),
        cmocka_unit_test(test_embeddings_are_the_hidden_states),
        cmocka_unit_test(test_embedding_pooling),
        cmocka_unit_test(test_cancel_eval),
        cmocka_unit_test(test_cancel_open_and_synth),
        cmocka_unit_test(test_memory_accounting),
        cmocka_unit_test(test_session_plan),
        cmocka_unit_test(test_session_plan_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
