/* threadpool.c — persistent workers that sleep between runs. */
#include "base/threadpool.h"

#include <pthread.h>
#include <stdlib.h>

#include "base/status.h"

struct mote_pool {
    int n_threads;
    pthread_t *threads;      /* n_threads - 1 workers */
    pthread_mutex_t mu;
    pthread_cond_t wake;     /* signalled when a run starts or the pool stops */
    pthread_cond_t done;     /* signalled when the last worker finishes */
    unsigned long generation;/* bumped for every run */
    int pending;             /* workers still busy with this run */
    int stop;
    pool_fn fn;
    void *ctx;
};

typedef struct worker_arg {
    mote_pool *pool;
    int ith;
} worker_arg;

static void *worker_main(void *arg)
{
    worker_arg *wa = arg;
    mote_pool *p = wa->pool;
    int ith = wa->ith;
    free(wa);
    unsigned long seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->generation == seen) pthread_cond_wait(&p->wake, &p->mu);
        if (p->stop) break;
        seen = p->generation;
        pool_fn fn = p->fn;
        void *ctx = p->ctx;
        pthread_mutex_unlock(&p->mu);
        fn(ctx, ith, p->n_threads);
        pthread_mutex_lock(&p->mu);
        if (--p->pending == 0) pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
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
    if (n_threads > 1) {
        p->threads = calloc((size_t)n_threads - 1, sizeof *p->threads);
        if (!p->threads) {
            pool_free(p);
            return mote_fail(MOTE_E_NOMEM, "thread pool: out of memory");
        }
    }
    for (int i = 1; i < n_threads; i++) {
        worker_arg *wa = malloc(sizeof *wa);
        if (wa) { /* filled before the thread starts: it reads and frees wa */
            wa->pool = p;
            wa->ith = i;
        }
        if (!wa || pthread_create(&p->threads[i - 1], NULL, worker_main, wa) != 0) {
            free(wa);
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
    p->stop = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n_threads; i++) pthread_join(p->threads[i - 1], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    free(p->threads);
    free(p);
}

int pool_size(const mote_pool *p) { return p ? p->n_threads : 1; }

void pool_run(mote_pool *p, pool_fn fn, void *ctx)
{
    if (!p || p->n_threads == 1) {
        fn(ctx, 0, 1);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->pending = p->n_threads - 1;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    fn(ctx, 0, p->n_threads);
    pthread_mutex_lock(&p->mu);
    while (p->pending > 0) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
