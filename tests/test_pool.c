/*
 * test_pool.c — the process-wide worker pool (src/base/threadpool.c).
 *
 * main() sets MOTE_THREADS=4 (test_fix_pool_size) before any view exists,
 * so the pool has four parts (three workers and the caller) whatever the
 * machine.
 *
 * - size_for: MOTE_THREADS parsing, directly on pool_size_for;
 * - caps: a view's nth is min(cap, pool size), and pool_size_plan says it
 *   before the view exists;
 * - threads_follow_views: the workers start with the first view, are
 *   joined after the last, and a restarted pool reads MOTE_THREADS again;
 * - exactly_once: four threads run thousands of jobs at once on views of
 *   different caps; every part of every job runs exactly once, with the
 *   right nth, and the parts' sums add up;
 * - caller_progress: with every worker stuck in another job, a run still
 *   completes, all on its calling thread;
 * - idle_burns_no_cpu: after a burst of runs, with a view still held, the
 *   process uses no CPU time over 5 s;
 * - sleeping_caller_woken: a caller that sleeps at once for its last part
 *   is woken every time, over 200000 runs.
 *
 * cmocka's asserts jump, so the functions that run on workers only count
 * what they see; the test thread checks the counts.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "base/threadpool.h"
#include "testutil.h"

#define POOL_N TEST_POOL_THREADS    /* parts of the pool (MOTE_THREADS) */
#define RUN_THREADS 4                /* threads calling pool_run at once */
#define JOBS_PER_THREAD 3000         /* runs per thread */
#define WAIT_LIMIT_NS 10000000000L   /* 10 s: a stuck test fails instead of hanging */

static long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static void sleep_ns(long ns)
{
    struct timespec ts = {ns / 1000000000L, ns % 1000000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* Threads of this process, from /proc/self/status; -1 if unreadable. */
static int thread_count(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    int n = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %d", &n) == 1) break;
    fclose(f);
    return n;
}

/* thread_count() once it is want, or after 5 s. A joined thread leaves
 * the count a moment after pthread_join returns (the kernel wakes the
 * joiner before it reaps the thread). */
static int threads_settle(int want)
{
    const long t0 = now_ns();
    int n;
    while ((n = thread_count()) != want && now_ns() - t0 < 5000000000L) sleep_ns(1000000);
    return n;
}

/* The thread count once it has held still for 200 ms (or after 5 s): a
 * base line taken just after another test joined its workers could count
 * one the kernel has not reaped yet. */
static int threads_steady(void)
{
    const long t0 = now_ns();
    int n = thread_count();
    long since = now_ns();
    while (now_ns() - since < 200000000L && now_ns() - t0 < 5000000000L) {
        sleep_ns(10000000);
        const int m = thread_count();
        if (m != n) n = m, since = now_ns();
    }
    return n;
}

/* ------------------------------------------------------------------------
 * Sizes and views
 * ---------------------------------------------------------------------- */

static void test_size_for(void **state)
{
    (void)state;
    assert_int_equal(pool_size_for(NULL, 8), 8);
    assert_int_equal(pool_size_for("3", 8), 3);
    assert_int_equal(pool_size_for("1", 8), 1);
    assert_int_equal(pool_size_for("16", 2), 16); /* more than the CPUs: asked for */
    assert_int_equal(pool_size_for("1024", 2), POOL_THREADS_MAX);
    const char *bad[] = {"", "0", "-2", "+3", " 3", "3 ", "3x", "x", "1025", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) assert_int_equal(pool_size_for(bad[i], 6), 6);
    assert_int_equal(pool_size_for(NULL, 0), 1);
    assert_int_equal(pool_size_for(NULL, -1), 1);
    assert_int_equal(pool_size_for(NULL, 500), POOL_CPUS_MAX);
}

static void test_caps(void **state)
{
    (void)state;
    const int caps[] = {0, 1, 2, 3, 4, 5, 1000};
    const int want[] = {POOL_N, 1, 2, 3, POOL_N, POOL_N, POOL_N};
    for (size_t i = 0; i < sizeof caps / sizeof *caps; i++) {
        assert_int_equal(pool_size_plan(caps[i]), want[i]); /* known before: no workers run */
        mote_pool *v = NULL;
        assert_int_equal(pool_create(caps[i], &v), MOTE_OK);
        assert_int_equal(pool_size(v), want[i]);
        pool_free(v);
    }
    mote_pool *v = (mote_pool *)&v;
    assert_int_not_equal(pool_create(-1, &v), MOTE_OK);
    assert_null(v);
    assert_int_equal(pool_create(POOL_THREADS_MAX + 1, &v), MOTE_OK); /* a cap above the pool: all of it */
    assert_int_equal(pool_size(v), POOL_N);
    pool_free(v);
    assert_int_equal(pool_size(NULL), 1);
    pool_free(NULL);
}

static void test_threads_follow_views(void **state)
{
    (void)state;
    const int base = threads_steady();
    if (base < 0) skip();
    mote_pool *a = NULL, *b = NULL, *one = NULL;
    assert_int_equal(pool_create(1, &one), MOTE_OK); /* inline: holds no workers */
    assert_int_equal(threads_settle(base), base);
    assert_int_equal(pool_create(2, &a), MOTE_OK);
    assert_int_equal(threads_settle(base + POOL_N - 1), base + POOL_N - 1);
    assert_int_equal(pool_create(0, &b), MOTE_OK); /* the same workers */
    assert_int_equal(threads_settle(base + POOL_N - 1), base + POOL_N - 1);
    pool_free(a);
    assert_int_equal(threads_settle(base + POOL_N - 1), base + POOL_N - 1);
    pool_free(b);
    assert_int_equal(threads_settle(base), base); /* joined */
    pool_free(one);

    /* A new first view sizes the pool again; while it runs, the plan of
     * a view follows the running pool, not MOTE_THREADS. */
    setenv("MOTE_THREADS", "3", 1);
    assert_int_equal(pool_size_plan(0), 3);
    assert_int_equal(pool_create(0, &a), MOTE_OK);
    assert_int_equal(pool_size(a), 3);
    test_fix_pool_size();
    assert_int_equal(pool_size_plan(0), 3);
    assert_int_equal(pool_size_plan(5), 3);
    assert_int_equal(pool_size_plan(2), 2);
    assert_int_equal(threads_settle(base + 2), base + 2);
    pool_free(a);
    assert_int_equal(threads_settle(base), base);
}

/* ------------------------------------------------------------------------
 * Concurrent jobs
 * ---------------------------------------------------------------------- */

#define MAX_ELEMS 40000

typedef struct count_job {
    const int *data;
    long n;                    /* elements of data summed */
    int want_nth;              /* the nth the view promises */
    atomic_int runs[POOL_N];   /* times each part ran */
    atomic_int bad;            /* calls with a wrong nth or ith */
    atomic_long sum;           /* the parts' sums */
    pthread_t caller;
    atomic_int elsewhere;      /* parts run by another thread than the caller */
} count_job;

static void count_part(void *ctx, int ith, int nth)
{
    count_job *J = ctx;
    if (nth != J->want_nth || ith < 0 || ith >= nth) {
        atomic_fetch_add(&J->bad, 1);
        return;
    }
    atomic_fetch_add(&J->runs[ith], 1);
    if (!pthread_equal(pthread_self(), J->caller)) atomic_fetch_add(&J->elsewhere, 1);
    long lo, hi, s = 0;
    pool_split(J->n, ith, nth, &lo, &hi);
    for (long i = lo; i < hi; i++) s += J->data[i];
    atomic_fetch_add(&J->sum, s);
}

typedef struct runner {
    mote_pool *view;
    const int *data;
    const long *prefix; /* prefix[n]: the sum of data[0..n) */
    uint64_t seed;
    long failures;      /* jobs with a part run twice or never, or a wrong sum */
    long helped;        /* parts run by workers */
} runner;

static void *run_jobs(void *arg)
{
    runner *r = arg;
    const int nth = pool_size(r->view);
    for (int j = 0; j < JOBS_PER_THREAD; j++) {
        count_job J = {.data = r->data, .want_nth = nth, .caller = pthread_self()};
        J.n = (long)(test_rng_next(&r->seed) % (MAX_ELEMS + 1));
        for (int i = 0; i < POOL_N; i++) atomic_init(&J.runs[i], 0);
        atomic_init(&J.bad, 0);
        atomic_init(&J.sum, 0);
        atomic_init(&J.elsewhere, 0);
        pool_run(r->view, count_part, &J);
        r->helped += atomic_load(&J.elsewhere);
        int ok = atomic_load(&J.bad) == 0 && atomic_load(&J.sum) == r->prefix[J.n];
        for (int i = 0; i < POOL_N; i++) ok &= atomic_load(&J.runs[i]) == (i < nth);
        if (!ok) r->failures++;
    }
    return NULL;
}

static void test_exactly_once(void **state)
{
    (void)state;
    static int data[MAX_ELEMS];
    static long prefix[MAX_ELEMS + 1];
    uint64_t rng = 7;
    for (int i = 0; i < MAX_ELEMS; i++) {
        data[i] = (int)(test_rng_next(&rng) % 1000);
        prefix[i + 1] = prefix[i] + data[i];
    }
    /* Three views of different caps; two threads share the whole-pool one. */
    mote_pool *v0 = NULL, *v2 = NULL, *v3 = NULL;
    assert_int_equal(pool_create(0, &v0), MOTE_OK);
    assert_int_equal(pool_create(2, &v2), MOTE_OK);
    assert_int_equal(pool_create(3, &v3), MOTE_OK);
    mote_pool *views[RUN_THREADS] = {v0, v2, v3, v0};
    runner r[RUN_THREADS];
    pthread_t th[RUN_THREADS];
    for (int t = 0; t < RUN_THREADS; t++) {
        r[t] = (runner){.view = views[t], .data = data, .prefix = prefix, .seed = 100 + (uint64_t)t};
        assert_int_equal(pthread_create(&th[t], NULL, run_jobs, &r[t]), 0);
    }
    for (int t = 0; t < RUN_THREADS; t++) pthread_join(th[t], NULL);
    long helped = 0;
    for (int t = 0; t < RUN_THREADS; t++) {
        assert_int_equal(r[t].failures, 0);
        helped += r[t].helped;
    }
    /* Tens to thousands, with how much CPU the workers got: not asserted
     * (caller_progress checks that workers take parts, without a race). */
    print_message("[   INFO   ] %ld of the parts ran on workers\n", helped);
    pool_free(v0);
    pool_free(v2);
    pool_free(v3);
}

/* ------------------------------------------------------------------------
 * Progress with every worker busy
 * ---------------------------------------------------------------------- */

typedef struct stuck_job {
    atomic_int running; /* parts started */
    atomic_int release; /* set by the test: the parts may end */
    atomic_int timed_out;
} stuck_job;

static void stuck_part(void *ctx, int ith, int nth)
{
    stuck_job *J = ctx;
    atomic_fetch_add(&J->running, 1);
    const long t0 = now_ns();
    while (!atomic_load(&J->release)) {
        if (now_ns() - t0 > WAIT_LIMIT_NS) {
            atomic_store(&J->timed_out, 1);
            return;
        }
        sleep_ns(100000);
    }
}

typedef struct stuck_caller {
    mote_pool *view;
    stuck_job *job;
} stuck_caller;

static void *run_stuck(void *arg)
{
    stuck_caller *c = arg;
    pool_run(c->view, stuck_part, c->job);
    return NULL;
}

typedef struct owner_job {
    pthread_t caller;
    atomic_int runs[POOL_N];
    atomic_int elsewhere; /* parts run on another thread than the caller */
} owner_job;

static void owner_part(void *ctx, int ith, int nth)
{
    owner_job *J = ctx;
    atomic_fetch_add(&J->runs[ith], 1);
    if (!pthread_equal(pthread_self(), J->caller)) atomic_fetch_add(&J->elsewhere, 1);
}

static void test_caller_progress(void **state)
{
    (void)state;
    mote_pool *a = NULL, *b = NULL;
    assert_int_equal(pool_create(0, &a), MOTE_OK);
    assert_int_equal(pool_create(0, &b), MOTE_OK);
    /* Job A's caller and the three workers each take a part and stay. */
    stuck_job A = {0};
    stuck_caller ca = {a, &A};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, run_stuck, &ca), 0);
    const long t0 = now_ns();
    while (atomic_load(&A.running) < POOL_N && now_ns() - t0 < WAIT_LIMIT_NS) sleep_ns(100000);
    const int running = atomic_load(&A.running);

    owner_job B = {.caller = pthread_self()};
    pool_run(b, owner_part, &B);
    atomic_store(&A.release, 1);
    pthread_join(th, NULL);

    assert_int_equal(running, POOL_N); /* the workers took A's parts */
    for (int i = 0; i < POOL_N; i++) assert_int_equal(atomic_load(&B.runs[i]), 1);
    assert_int_equal(atomic_load(&B.elsewhere), 0);
    assert_int_equal(atomic_load(&A.running), POOL_N);
    assert_int_equal(atomic_load(&A.timed_out), 0);
    pool_free(a);
    pool_free(b);
}

/* ------------------------------------------------------------------------
 * Idle CPU
 * ---------------------------------------------------------------------- */

static long cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000L + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

static void touch_part(void *ctx, int ith, int nth)
{
    atomic_fetch_add((atomic_long *)ctx, ith + 1);
}

/* The workers poll for a while after their last part, then sleep: with a
 * view still held, 5 s of idleness cost no CPU time at all. The CPU time
 * is read in microseconds (the whole process, all threads) and compared in
 * clock ticks: the test thread's own two wakeups cost microseconds, well
 * under one tick, and reading microseconds avoids counting a tick boundary
 * they happen to cross. A worker still polling would show 500 ticks;
 * three waking every 100 ms to poll for 1 ms, about 15. */
static void test_idle_burns_no_cpu(void **state)
{
    (void)state;
    mote_pool *v = NULL;
    assert_int_equal(pool_create(0, &v), MOTE_OK);
    atomic_long total = 0;
    for (int i = 0; i < 20000; i++) pool_run(v, touch_part, &total);
    assert_int_equal(atomic_load(&total), 20000L * POOL_N * (POOL_N + 1) / 2);
    sleep_ns(200000000L); /* past the polling */
    const long before = cpu_us();
    sleep_ns(5000000000L);
    const long used_us = cpu_us() - before;
    const long tick_us = 1000000L / sysconf(_SC_CLK_TCK);
    print_message("[   INFO   ] idle for 5 s: %ld us of CPU time (a tick is %ld us)\n", used_us, tick_us);
    assert_int_equal(used_us / tick_us, 0);
    pool_free(v);
}

/* ------------------------------------------------------------------------
 * The caller's wakeup
 * ---------------------------------------------------------------------- */

#define WAKE_RUNS 200000L

typedef struct wake_run {
    mote_pool *view;
    pthread_t caller;
    atomic_long runs, parts, elsewhere;
} wake_run;

/* Both parts take the same 2 us, so a worker's part ends as the caller,
 * done with its own, goes to sleep. */
static void wake_part(void *ctx, int ith, int nth)
{
    (void)ith, (void)nth;
    wake_run *w = ctx;
    const long t0 = now_ns();
    while (now_ns() - t0 < 2000) {
    }
    atomic_fetch_add(&w->parts, 1);
    if (!pthread_equal(pthread_self(), w->caller)) atomic_fetch_add(&w->elsewhere, 1);
}

static void *run_many(void *arg)
{
    wake_run *w = arg;
    w->caller = pthread_self();
    for (long i = 0; i < WAKE_RUNS; i++) {
        pool_run(w->view, wake_part, w);
        atomic_fetch_add(&w->runs, 1);
    }
    return NULL;
}

/* A caller that sleeps at once (pool_debug_set_wait(0)) meets the worker
 * finishing its last part at the same moment, over and over: the flag
 * it raises and the count the worker raises must each be seen by the
 * other side. qemu-user reorders a sequentially consistent store after a
 * later load, and with a plain store for the flag this lost a wakeup in
 * about one run in 30000 there (the caller slept with every part done).
 * The runs go on another thread, so a lost wakeup fails here, showing
 * the pool, instead of hanging. Last in the file: a hung run stays. */
static void test_sleeping_caller_woken(void **state)
{
    (void)state;
    wake_run w = {0};
    assert_int_equal(pool_create(2, &w.view), MOTE_OK);
    pool_debug_set_wait(0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, run_many, &w), 0);
    long last = -1, still_since = now_ns();
    for (;;) {
        sleep_ns(10000000);
        const long runs = atomic_load(&w.runs);
        if (runs == WAKE_RUNS) break;
        if (runs != last) last = runs, still_since = now_ns();
        else if (now_ns() - still_since > WAIT_LIMIT_NS) {
            char pool[8192];
            pool_debug_describe(pool, sizeof pool);
            fail_msg("no run finished in 10 s after %ld of %ld; %s", runs, WAKE_RUNS, pool);
        }
    }
    pthread_join(th, NULL);
    pool_debug_set_wait(-1);
    print_message("[   INFO   ] %ld runs; a worker ran the second part in %ld\n", WAKE_RUNS, atomic_load(&w.elsewhere));
    assert_int_equal(atomic_load(&w.parts), 2 * WAKE_RUNS);
    assert_true(atomic_load(&w.elsewhere) >= WAKE_RUNS / 100); /* the handshake was met */
    pool_free(w.view);
}

int main(void)
{
    test_fix_pool_size();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_size_for),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_threads_follow_views),
        cmocka_unit_test(test_exactly_once),
        cmocka_unit_test(test_caller_progress),
        cmocka_unit_test(test_idle_burns_no_cpu),
        cmocka_unit_test(test_sleeping_caller_woken),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
