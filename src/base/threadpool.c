/* threadpool.c — persistent workers that spin briefly, then sleep. */
#include "base/threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "base/status.h"

/*
 * A run is published by bumping `generation` (under the mutex, with a
 * broadcast for sleeping workers); workers that finished the previous run
 * less than SPIN_NS ago are still polling `generation` and start at once.
 * Token generation issues a few hundred runs per token, each a few tens of
 * microseconds long: waking a sleeping thread costs about as much as the
 * run itself, which is why workers spin first. After SPIN_NS without work
 * they sleep on the condition variable, so an idle pool burns no CPU.
 *
 * The caller, once its own share is done, polls `pending` the same way and
 * sleeps on `done` only if the workers take longer than SPIN_NS. Past
 * YIELD_NS of polling both sides yield the core between polls: on a
 * machine with more runnable threads than cores, the thread being waited
 * for may be queued behind the poller.
 */
#define SPIN_NS 2000000L   /* 2 ms */
#define YIELD_NS 50000L    /* past 50 us, poll with sched_yield in between */
#define SPIN_CHECK 256     /* polls between clock reads */

typedef struct worker_arg worker_arg;

struct mote_pool {
    int n_threads;
    pthread_t *threads;           /* n_threads - 1 workers */
    worker_arg *args;             /* theirs: the pool frees them, for a worker
                                   * that freed its own would call free()
                                   * whenever it first ran (in a run) */
    pthread_mutex_t mu;
    pthread_cond_t wake;          /* a run started or the pool stops */
    pthread_cond_t done;          /* the last worker finished */
    atomic_ulong generation;      /* bumped for every run */
    atomic_int pending;           /* workers still busy with this run */
    atomic_int stop;
    pool_fn fn;                   /* written before generation is bumped */
    void *ctx;
};

struct worker_arg {
    mote_pool *pool;
    int ith;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/* Poll until *cond(p) holds or SPIN_NS pass; 1 if it holds. */
static int spin_until(mote_pool *p, int (*cond)(mote_pool *, unsigned long), unsigned long arg)
{
    long start = 0;
    for (unsigned i = 1;; i++) {
        if (cond(p, arg)) return 1;
        cpu_relax();
        if (i % SPIN_CHECK == 0) {
            long t = now_ns();
            if (!start) start = t;
            else if (t - start > SPIN_NS) return 0;
            /* A long wait means the other side has no core (a busy
             * machine): let whoever shares this one run. */
            else if (t - start > YIELD_NS) sched_yield();
        }
    }
}

static int run_posted(mote_pool *p, unsigned long seen)
{
    return atomic_load_explicit(&p->generation, memory_order_acquire) != seen ||
           atomic_load_explicit(&p->stop, memory_order_relaxed);
}

static int run_finished(mote_pool *p, unsigned long unused)
{
    (void)unused;
    return atomic_load_explicit(&p->pending, memory_order_acquire) == 0;
}

static void *worker_main(void *arg)
{
    worker_arg *wa = arg;
    mote_pool *p = wa->pool;
    int ith = wa->ith;
    unsigned long seen = 0;
    for (;;) {
        if (!spin_until(p, run_posted, seen)) {
            pthread_mutex_lock(&p->mu);
            while (!run_posted(p, seen)) pthread_cond_wait(&p->wake, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stop)) break;
        seen = atomic_load_explicit(&p->generation, memory_order_acquire);
        p->fn(p->ctx, ith, p->n_threads);
        if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&p->mu); /* the caller may be asleep on done */
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

mote_status pool_create(int n_threads, mote_pool **out)
{
    *out = NULL;
    if (n_threads < 1 || n_threads > 1024)
        return mote_fail(MOTE_E_INVALID, "thread pool: bad thread count %d", n_threads);
    mote_pool *p = calloc(1, sizeof *p);
    if (!p) return mote_fail(MOTE_E_NOMEM, "thread pool: out of memory");
    p->n_threads = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    atomic_init(&p->generation, 0);
    atomic_init(&p->pending, 0);
    atomic_init(&p->stop, 0);
    if (n_threads > 1) {
        p->threads = calloc((size_t)n_threads - 1, sizeof *p->threads);
        p->args = calloc((size_t)n_threads - 1, sizeof *p->args);
        if (!p->threads || !p->args) {
            p->n_threads = 1; /* no worker to join */
            pool_free(p);
            return mote_fail(MOTE_E_NOMEM, "thread pool: out of memory");
        }
    }
    for (int i = 1; i < n_threads; i++) {
        worker_arg *wa = &p->args[i - 1]; /* filled before the thread starts */
        wa->pool = p;
        wa->ith = i;
        if (pthread_create(&p->threads[i - 1], NULL, worker_main, wa) != 0) {
            p->n_threads = i; /* pool_free joins the ones started */
            pool_free(p);
            return mote_fail(MOTE_E_NOMEM, "thread pool: cannot start thread %d", i);
        }
    }
    *out = p;
    return MOTE_OK;
}

void pool_free(mote_pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n_threads; i++) pthread_join(p->threads[i - 1], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    free(p->threads);
    free(p->args);
    free(p);
}

int pool_size(const mote_pool *p) { return p ? p->n_threads : 1; }

void pool_run(mote_pool *p, pool_fn fn, void *ctx)
{
    if (!p || p->n_threads == 1) {
        fn(ctx, 0, 1);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    atomic_store_explicit(&p->pending, p->n_threads - 1, memory_order_relaxed);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
    pthread_cond_broadcast(&p->wake); /* no system call when nobody sleeps */
    pthread_mutex_unlock(&p->mu);
    fn(ctx, 0, p->n_threads);
    if (!spin_until(p, run_finished, 0)) {
        pthread_mutex_lock(&p->mu);
        while (!run_finished(p, 0)) pthread_cond_wait(&p->done, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
}
