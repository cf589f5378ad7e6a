/*
 * threadpool.h — one process-wide pool of worker threads, seen through views.
 *
 * The process has one set of workers, shared by every model and session:
 * three resident models must not mean three pools fighting over the same
 * cores. pool_create(n, &view) hands out a view onto it whose n is a cap:
 * a run through the view has nth = min(n, pool size) parts (n = 0: the
 * whole pool). The pool size is MOTE_THREADS if set (1..POOL_THREADS_MAX),
 * else the online CPU count (at most POOL_CPUS_MAX), read when the workers
 * start; the caller of a run counts as one of them, so size - 1 workers
 * are started. They start with the first view and are joined when the
 * last one is freed; views with a cap of 1 run inline and hold no workers.
 *
 * pool_run(view, fn, ctx) calls fn(ctx, ith, nth) exactly once for every
 * ith in 0..nth-1 and returns when all calls are done. It may be called
 * from many threads at once (each call is a job; workers serve pending
 * jobs in turn). The calling thread takes parts of its own job too, so a
 * job finishes even when every worker is busy elsewhere or has no core.
 * A thread may run several parts of one job, one after the other: fn must
 * not wait for another part. Between jobs workers poll briefly, then
 * sleep, so an idle process burns no CPU (see threadpool.c).
 */
#ifndef MOTE_BASE_THREADPOOL_H
#define MOTE_BASE_THREADPOOL_H

#include <stddef.h>

#include "mote.h"

#define POOL_THREADS_MAX MOTE_N_THREADS_MAX /* largest MOTE_THREADS value (a larger cap means the whole pool) */
#define POOL_CPUS_MAX 64      /* largest pool sized from the CPU count */

typedef struct mote_pool mote_pool;
typedef void (*pool_fn)(void *ctx, int ith, int nth);

/* A view with a cap of n_threads (0: no cap) on the shared pool, started
 * if this is the first view. */
mote_status pool_create(int n_threads, mote_pool **out);
/* Releases a view (NULL is fine); the last one stops the workers. */
void pool_free(mote_pool *pool);
/* nth of every run through pool: min(cap, pool size); 1 for NULL. */
int pool_size(const mote_pool *pool);
/* pool_size of a view with a cap of n_threads (>= 0) created now, without
 * creating it: capped by the running pool's size, or if no workers run,
 * by the size they would start with (MOTE_THREADS or the CPU count). */
int pool_size_plan(int n_threads);
/* fn(ctx, ith, nth) for each ith < nth; a NULL pool runs fn(ctx, 0, 1). */
void pool_run(mote_pool *pool, pool_fn fn, void *ctx);

/* The pool size for a MOTE_THREADS value (NULL: unset) and CPU count:
 * the value if it is a whole number in 1..POOL_THREADS_MAX, else the CPU
 * count clamped to 1..POOL_CPUS_MAX. */
int pool_size_for(const char *mote_threads, long cpus);

/* For a hang watchdog (tests): the shared pool's state, a line of totals
 * and one per slot held (claim, done, waiting), written into buf (at most
 * n bytes). Read without locks, as a debugger would: a snapshot. */
void pool_debug_describe(char *buf, size_t n);
/* For tests: how long a caller polls for its last parts before it sleeps
 * (ns; 0: it sleeps at once, so every wait meets the wakeup handshake;
 * negative: the default). Set it with no run in flight. */
void pool_debug_set_wait(long ns);

/* Split [0, n) into nth near-equal parts; part ith is [*lo, *hi). */
static inline void pool_split(long n, int ith, int nth, long *lo, long *hi)
{
    long per = n / nth, rem = n % nth;
    *lo = ith * per + (ith < rem ? ith : rem);
    *hi = *lo + per + (ith < rem ? 1 : 0);
}

#endif
