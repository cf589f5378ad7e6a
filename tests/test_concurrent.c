/*
 * test_concurrent.c — three models and six sessions used at once from four
 * threads give the results each gives alone, and the process is idle
 * afterwards (no thread spins: less than one clock tick of CPU time over
 * 5 s with the models and sessions still open, in one of two windows).
 *
 * Every session runs on the one process-wide worker pool; sessions of
 * different models interleave their matmuls on it, with different thread
 * caps. Greedy generation is compared bit for bit (every logit of every
 * step) with a run of the same session parameters alone.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mote.h"
#include "testutil.h"

#define N_MODELS 3
#define N_SESSIONS 6
#define N_THREADS 4
#define N_STEPS 12
#define N_ROUNDS 3
#define IDLE_SECONDS 5

static const char *const model_files[N_MODELS] = {
    "models/stories260K.gguf",
    "models/synth-llama-Q4_K_M.gguf",
    "models/synth-qwen2-F16.gguf",
};

static const mote_token prompt[4] = {1, 42, 43, 44};

typedef struct run {
    const mote_model *model;
    mote_session *session;
    int n_vocab;
    float *want;     /* (N_STEPS, n_vocab) logits alone */
    int failures;    /* steps whose logits differed */
    mote_status st;  /* first failure of a call */
} run;

static mote_session *make_session(const mote_model *m, int n_threads)
{
    mote_session_params sp = mote_session_default_params();
    sp.n_ctx = 64;
    sp.n_threads = n_threads;
    mote_session *s = NULL;
    if (mote_session_create(m, &sp, &s) != MOTE_OK) fail_msg("session: %s", mote_last_error());
    return s;
}

/* Greedy generation from the prompt; each step's logits are compared with
 * (or, with record, copied to) r->want. */
static void generate(run *r, int record)
{
    mote_session *s = r->session;
    mote_status st = mote_session_truncate(s, 0);
    if (st == MOTE_OK) st = mote_session_eval(s, prompt, 4, 0);
    for (int step = 0; st == MOTE_OK && step < N_STEPS; step++) {
        const float *l = mote_session_logits(s, -1);
        float *w = r->want + (size_t)step * r->n_vocab;
        if (record) memcpy(w, l, sizeof(float) * (size_t)r->n_vocab);
        else if (memcmp(w, l, sizeof(float) * (size_t)r->n_vocab) != 0) r->failures++;
        mote_token best = 0;
        for (int v = 1; v < r->n_vocab; v++)
            if (l[v] > l[best]) best = v;
        st = mote_session_eval(s, &best, 1, 0);
    }
    if (st != MOTE_OK && r->st == MOTE_OK) r->st = st;
}

typedef struct worker {
    run *runs;
    int first;  /* sessions first, first + N_THREADS, ... */
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    for (int round = 0; round < N_ROUNDS; round++)
        for (int i = w->first; i < N_SESSIONS; i += N_THREADS) generate(&w->runs[i], 0);
    return NULL;
}

/* CPU time of the whole process (all threads), in microseconds. The
 * kernel's per-tick counters (/proc/self/stat) would round: a few
 * microseconds of this thread's own wakeup can cross a tick boundary. */
static long long cpu_us(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) return -1;
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void test_three_models_six_sessions(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    mote_model *models[N_MODELS];
    for (int i = 0; i < N_MODELS; i++)
        if (mote_model_open(shared_path(model_files[i]), NULL, &models[i]) != MOTE_OK)
            fail_msg("%s: %s", model_files[i], mote_last_error());

    /* Two sessions per model, thread caps 1 and 2; each first alone. */
    run runs[N_SESSIONS];
    for (int i = 0; i < N_SESSIONS; i++) {
        const mote_model *m = models[i % N_MODELS];
        runs[i] = (run){.model = m, .n_vocab = mote_vocab_size(m), .st = MOTE_OK};
        runs[i].session = make_session(m, 1 + i / N_MODELS);
        runs[i].want = malloc(sizeof(float) * (size_t)N_STEPS * (size_t)runs[i].n_vocab);
        assert_non_null(runs[i].want);
        generate(&runs[i], 1);
        assert_int_equal(runs[i].st, MOTE_OK);
    }

    pthread_t th[N_THREADS];
    worker ws[N_THREADS];
    for (int t = 0; t < N_THREADS; t++) {
        ws[t] = (worker){.runs = runs, .first = t};
        assert_int_equal(pthread_create(&th[t], NULL, work, &ws[t]), 0);
    }
    for (int t = 0; t < N_THREADS; t++) pthread_join(th[t], NULL);
    for (int i = 0; i < N_SESSIONS; i++) {
        if (runs[i].st != MOTE_OK) fail_msg("session %d (%s): %s", i, model_files[i % N_MODELS], mote_status_name(runs[i].st));
        if (runs[i].failures)
            fail_msg("session %d (%s): %d of %d steps differ from the session alone", i, model_files[i % N_MODELS],
                     runs[i].failures, N_STEPS * N_ROUNDS);
    }

    /* Idle with everything open: the pool's workers must be asleep. A
     * thread that is not uses CPU in every window; one busy window alone
     * can be the host's (under qemu-user, the emulator's own threads count
     * as the process's), so a second window decides. */
    struct timespec settle = {0, 100 * 1000 * 1000};
    nanosleep(&settle, NULL);
    const long long tick = 1000000 / sysconf(_SC_CLK_TCK);
    long long used = 0;
    for (int window = 0; window < 2; window++) {
        const long long before = cpu_us();
        assert_true(before >= 0);
        sleep(IDLE_SECONDS);
        used = cpu_us() - before;
        print_message("[  INFO    ] %lld us of CPU time (a tick is %lld us) over %d s idle with %d models and %d "
                      "sessions open\n", used, tick, IDLE_SECONDS, N_MODELS, N_SESSIONS);
        if (used < tick) break;
    }
    if (used >= tick) fail_msg("the idle process used %lld us of CPU twice in a row: a thread is not asleep", used);

    for (int i = 0; i < N_SESSIONS; i++) {
        mote_session_free(runs[i].session);
        free(runs[i].want);
    }
    for (int i = 0; i < N_MODELS; i++) mote_model_close(models[i]);
}

int main(void)
{
    test_fix_pool_size();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_three_models_six_sessions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
