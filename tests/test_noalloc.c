/*
 * test_noalloc.c — generating a token allocates nothing.
 *
 * The Makefile links this program with the linker's --wrap for malloc,
 * calloc, realloc, free, posix_memalign, aligned_alloc, strdup and strndup:
 * every call to them from libmote (and from this file) lands in the
 * __wrap_ functions below, which count while `counting` is set and then
 * call the real function. Allocations inside shared libraries (libc's own,
 * pcre2, utf8proc, cJSON) are not seen; the per-token path uses none of
 * them.
 *
 * After a warm-up, mote_generate (prompt, sampling with every filter and
 * penalty on, token_to_piece, the callback) and a hand-written loop of
 * mote_session_eval + mote_sampler_sample + mote_token_to_piece run 32
 * tokens each with zero allocations, for each KV cache type and 1 and 2
 * threads; speculative generation (adaptive lookup) allocates as often
 * for 32 tokens as for 2 (its buffers are the call's).
 *
 * The same runs on models this program writes itself (synthmodel.c: its own
 * vocabulary, mote_synth weights), so the rule is checked without ../shared
 * too: each weight type (F16, Q8_0, Q4_0, Q4_K_M, and the Q8_0 / Q4_0 files
 * in mote optimize's stored kernel layouts) with the default F16 cache
 * and each cache type with Q8_0 weights, 1 and 2 threads. There
 * mote_session_eval is also counted from the first call after
 * mote_session_create, without a warm-up.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mote.h"
#include "mote_tools.h"
#include "synthmodel.h"
#include "testutil.h"

/* ------------------------------------------------------------------------
 * Counting allocator
 * ---------------------------------------------------------------------- */

static volatile int counting;  /* count only inside the measured loops */
static volatile long n_allocs; /* allocations (and frees) seen while counting */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
int __real_posix_memalign(void **p, size_t align, size_t n);
void *__real_aligned_alloc(size_t align, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);
int __wrap_posix_memalign(void **p, size_t align, size_t n);
void *__wrap_aligned_alloc(size_t align, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

static void seen(void)
{
    if (counting) n_allocs++;
}

void *__wrap_malloc(size_t n)
{
    seen();
    return __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t size)
{
    seen();
    return __real_calloc(n, size);
}
void *__wrap_realloc(void *p, size_t n)
{
    seen();
    return __real_realloc(p, n);
}
void __wrap_free(void *p)
{
    if (p) seen();
    __real_free(p);
}
int __wrap_posix_memalign(void **p, size_t align, size_t n)
{
    seen();
    return __real_posix_memalign(p, align, n);
}
void *__wrap_aligned_alloc(size_t align, size_t n)
{
    seen();
    return __real_aligned_alloc(align, n);
}
char *__wrap_strdup(const char *s)
{
    seen();
    return __real_strdup(s);
}
char *__wrap_strndup(const char *s, size_t n)
{
    seen();
    return __real_strndup(s, n);
}

/* ------------------------------------------------------------------------
 * Tests
 * ---------------------------------------------------------------------- */

#define N_TOKENS 32
#define N_EVAL_TOKENS 8 /* per round of eval_case (F16 is slow under qemu) */

/* The wrappers are really in place, here and inside libmote. */
static void test_counter_works(void **state)
{
    (void)state;
    n_allocs = 0;
    counting = 1;
    void *p = malloc(16);
    counting = 0;
    assert_non_null(p);
    free(p);
    assert_int_equal(n_allocs, 1);

    mote_sampler_params pp = mote_sampler_default_params();
    mote_sampler *smp;
    n_allocs = 0;
    counting = 1;
    mote_status st = mote_sampler_create(&pp, 100, &smp);
    counting = 0;
    assert_int_equal(st, MOTE_OK);
    assert_true(n_allocs > 0);
    mote_sampler_free(smp);
}

static int count_tokens(void *user, mote_token t, const char *piece, size_t len)
{
    (void)t;
    (void)piece;
    (void)len;
    ++*(int *)user;
    return 0;
}

static void run_case(mote_model *m, int kv_type, int n_threads)
{
    mote_session_params sp = mote_session_default_params();
    sp.n_ctx = 256;
    sp.n_threads = n_threads;
    sp.kv_type = kv_type;
    mote_session *s;
    assert_int_equal(mote_session_create(m, &sp, &s), MOTE_OK);
    mote_sampler_params pp = mote_sampler_default_params();
    pp.temp = 0.8f;
    pp.top_k = 40;
    pp.top_p = 0.95f;
    pp.min_p = 0.05f;
    pp.repeat_penalty = 1.1f;
    pp.penalty_last_n = 64;
    pp.freq_penalty = 0.1f;
    pp.presence_penalty = 0.1f;
    pp.seed = 42;
    mote_sampler *smp;
    assert_int_equal(mote_sampler_create(&pp, mote_vocab_size(m), &smp), MOTE_OK);

    mote_token prompt[16];
    size_t n_prompt = 0;
    assert_int_equal(mote_tokenize(m, "Once upon a time", 16, 1, 0, prompt, 16, &n_prompt), MOTE_OK);
    /* warm-up: the first call may size things once */
    int seen_tokens = 0;
    assert_int_equal(mote_generate(s, smp, prompt, (int)n_prompt, 4, count_tokens, &seen_tokens, NULL), MOTE_OK);

    /* mote_generate, a one-token prompt included (it stops early at EOS) */
    mote_generate_stats stats;
    seen_tokens = 0;
    n_allocs = 0;
    counting = 1;
    mote_status st = mote_generate(s, smp, prompt, 1, N_TOKENS, count_tokens, &seen_tokens, &stats);
    counting = 0;
    assert_int_equal(st, MOTE_OK);
    assert_true(stats.n_generated >= 1);
    if (n_allocs != 0)
        fail_msg("kv_type %d, %d threads: mote_generate allocated %ld times for %d tokens", kv_type, n_threads,
                 (long)n_allocs, stats.n_generated);

    /* speculation (adaptive lookup): its buffers are the call's, none per
     * token: as many allocations for 2 tokens as for N_TOKENS */
    mote_speculative spec = {.adaptive = 1, .cost = {1, 1.01f, 1.02f, 1.03f, 1.04f, 1.05f, 1.06f, 1.07f, 1.08f}};
    long per_call[2];
    for (int r = 0; r < 2; r++) {
        assert_int_equal(mote_seq_clear(s, 0), MOTE_OK);
        n_allocs = 0;
        counting = 1;
        st = mote_generate_speculative(s, smp, &spec, prompt, (int)n_prompt, r ? N_TOKENS : 2, count_tokens,
                                       &seen_tokens, &stats);
        counting = 0;
        assert_int_equal(st, MOTE_OK);
        per_call[r] = n_allocs;
    }
    if (per_call[0] != per_call[1])
        fail_msg("kv_type %d, %d threads: speculative generation allocated %ld times for 2 tokens, %ld for %d",
                 kv_type, n_threads, per_call[0], per_call[1], stats.n_generated);
    assert_int_equal(mote_seq_clear(s, 0), MOTE_OK);

    /* the loop an application writes itself */
    char piece[256];
    mote_token t = prompt[0];
    n_allocs = 0;
    counting = 1;
    for (int i = 0; i < N_TOKENS; i++) {
        if (mote_session_pos(s) >= mote_session_n_ctx(s)) assert_int_equal(mote_session_truncate(s, 0), MOTE_OK);
        st = mote_session_eval(s, &t, 1, 0);
        if (st != MOTE_OK) break;
        t = mote_sampler_sample(smp, mote_session_logits(s, -1));
        mote_sampler_accept(smp, t);
        size_t len;
        if (mote_token_to_piece(m, t, 1, piece, sizeof piece, &len) != MOTE_OK) st = MOTE_E_RANGE;
    }
    counting = 0;
    assert_int_equal(st, MOTE_OK);
    if (n_allocs != 0)
        fail_msg("kv_type %d, %d threads: eval + sample + piece allocated %ld times in %d tokens", kv_type,
                 n_threads, (long)n_allocs, N_TOKENS);
    mote_sampler_free(smp);
    mote_session_free(s);
}

/* Two sequences generating together through mote_session_decode. */
static void run_batch_case(mote_model *m, int kv_type, int n_threads)
{
    mote_session_params sp = mote_session_default_params();
    sp.n_ctx = 128;
    sp.n_threads = n_threads;
    sp.kv_type = kv_type;
    sp.n_seq_max = 2;
    mote_session *s;
    assert_int_equal(mote_session_create(m, &sp, &s), MOTE_OK);
    mote_batch b;
    assert_int_equal(mote_batch_init(&b, 8), MOTE_OK);
    mote_token next[2] = {1, 1};
    mote_status st = MOTE_OK;
    for (int i = 0; i < N_TOKENS + 2 && st == MOTE_OK; i++) {
        if (i == 2) { /* after a warm-up the output rows are sized */
            n_allocs = 0;
            counting = 1;
        }
        mote_batch_clear(&b);
        for (int q = 0; q < 2; q++) mote_batch_add(&b, next[q], q, -1, 1);
        st = mote_session_decode(s, &b);
        for (int q = 0; q < 2 && st == MOTE_OK; q++) {
            const float *l = mote_session_logits(s, q);
            int best = 0;
            for (int v = 1; v < mote_vocab_size(m); v++)
                if (l[v] > l[best]) best = v;
            next[q] = best;
        }
    }
    counting = 0;
    assert_int_equal(st, MOTE_OK);
    if (n_allocs != 0)
        fail_msg("kv_type %d, %d threads: two sequences' decode allocated %ld times in %d steps", kv_type,
                 n_threads, (long)n_allocs, N_TOKENS);
    mote_batch_free(&b);
    mote_session_free(s);
}

static void test_generation_allocates_nothing(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    static const char *models[] = {"models/stories260K.gguf", "models/synth-llama-Q4_K.gguf"};
    static const int kv_types[] = {MOTE_KV_F16, MOTE_KV_F32, MOTE_KV_Q8_0};
    for (size_t mi = 0; mi < sizeof models / sizeof models[0]; mi++) {
        mote_model *m;
        assert_int_equal(mote_model_open(shared_path(models[mi]), NULL, &m), MOTE_OK);
        mote_model_info info;
        assert_int_equal(mote_model_get_info(m, &info), MOTE_OK);
        for (size_t ki = 0; ki < sizeof kv_types / sizeof kv_types[0]; ki++) {
            if (kv_types[ki] == MOTE_KV_Q8_0 && (info.n_embd / info.n_head) % 32 != 0) continue;
            for (int nt = 1; nt <= 2; nt++) {
                run_case(m, kv_types[ki], nt);
                run_batch_case(m, kv_types[ki], nt);
            }
        }
        mote_model_close(m);
    }
}

/* mote_session_eval from the first call on: a prompt batch, then tokens one
 * at a time, then again from position 0. A batch that keeps all logits may
 * grow the logits buffer the first time it is larger than any before (see
 * mote_session_eval); once it has, the same batch allocates nothing. */
static void eval_case(mote_model *m, int kv_type, int n_threads)
{
    mote_session_params sp = mote_session_default_params();
    sp.n_ctx = 128;
    sp.n_threads = n_threads;
    sp.kv_type = kv_type;
    mote_session *s;
    assert_int_equal(mote_session_create(m, &sp, &s), MOTE_OK);
    static const char text[] = "Once upon a time, the little dog was very happy because";
    mote_token prompt[64];
    size_t n_prompt = 0;
    assert_int_equal(mote_tokenize(m, text, strlen(text), 1, 0, prompt, 64, &n_prompt), MOTE_OK);
    assert_true(n_prompt >= 8);
    const int n_vocab = mote_vocab_size(m);

    n_allocs = 0;
    counting = 1;
    mote_status st = MOTE_OK;
    for (int round = 0; round < 2 && st == MOTE_OK; round++) {
        st = mote_session_truncate(s, 0);
        if (st == MOTE_OK) st = mote_session_eval(s, prompt, (int)n_prompt, 0);
        for (int i = 0; i < N_EVAL_TOKENS && st == MOTE_OK; i++) {
            const float *lg = mote_session_logits(s, -1);
            mote_token t = 0;
            for (int v = 1; v < n_vocab; v++) t = lg[v] > lg[t] ? v : t;
            st = mote_session_eval(s, &t, 1, 0);
        }
    }
    counting = 0;
    assert_int_equal(st, MOTE_OK);
    if (n_allocs != 0)
        fail_msg("kv_type %d, %d threads: mote_session_eval allocated %ld times right after session creation",
                 kv_type, n_threads, (long)n_allocs);

    assert_int_equal(mote_session_truncate(s, 0), MOTE_OK);
    assert_int_equal(mote_session_eval(s, prompt, (int)n_prompt, 1), MOTE_OK);
    n_allocs = 0;
    counting = 1;
    st = mote_session_truncate(s, 0);
    if (st == MOTE_OK) st = mote_session_eval(s, prompt, (int)n_prompt, 1);
    counting = 0;
    assert_int_equal(st, MOTE_OK);
    if (n_allocs != 0)
        fail_msg("kv_type %d, %d threads: a repeated all-logits batch allocated %ld times", kv_type, n_threads,
                 (long)n_allocs);
    mote_session_free(s);
}

static void synth_cases(mote_model *m, int kv_type)
{
    for (int nt = 1; nt <= 2; nt++) {
        eval_case(m, kv_type, nt);
        run_case(m, kv_type, nt);
    }
}

/* The models' folder, removed by the teardown even when the test fails. */
static int make_tempdir(void **state)
{
    *state = synthmodel_tempdir();
    return 0;
}

static int remove_tempdir(void **state)
{
    synthmodel_tempdir_remove(*state);
    return 0;
}

static void test_synth_models_allocate_nothing(void **state)
{
    static const char *const types[] = {"F16", "Q8_0", "Q4_0", "Q4_K_M"};
    const char *dir = *state;
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        char *path = synthmodel_make(dir, "tiny-llama", types[ti], 2);
        mote_model *m;
        if (mote_model_open(path, NULL, &m) != MOTE_OK) fail_msg("%s: %s", path, mote_last_error());
        synth_cases(m, MOTE_KV_F16);
        if (strcmp(types[ti], "Q8_0") == 0) {
            synth_cases(m, MOTE_KV_F32);
            synth_cases(m, MOTE_KV_Q8_0);
        }
        mote_model_close(m);
        if (strcmp(types[ti], "Q8_0") == 0 || strcmp(types[ti], "Q4_0") == 0) {
            /* the same weights in mote's stored kernel layouts */
            char opt[4096];
            snprintf(opt, sizeof opt, "%s.opt", path);
            mote_optimize_params op = mote_optimize_default_params();
            op.in_path = path;
            op.out_path = opt;
            if (mote_optimize(&op, NULL) != MOTE_OK) fail_msg("%s: %s", opt, mote_last_error());
            if (mote_model_open(opt, NULL, &m) != MOTE_OK) fail_msg("%s: %s", opt, mote_last_error());
            synth_cases(m, MOTE_KV_F16);
            mote_model_close(m);
            remove(opt);
        }
        free(path);
    }
}

int main(void)
{
    test_fix_pool_size();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_works),
        cmocka_unit_test(test_generation_allocates_nothing),
        cmocka_unit_test_setup_teardown(test_synth_models_allocate_nothing, make_tempdir, remove_tempdir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
