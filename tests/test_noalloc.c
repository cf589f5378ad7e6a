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
 * threads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mote.h"
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
            for (int nt = 1; nt <= 2; nt++) run_case(m, kv_types[ki], nt);
        }
        mote_model_close(m);
    }
}

int main(void)
{
    test_fix_pool_size();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_works),
        cmocka_unit_test(test_generation_allocates_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
