/*
 * threadpool.h — a persistent pool of worker threads.
 *
 * pool_run(pool, fn, ctx) calls fn(ctx, ith, nth) for ith = 0..nth-1, one
 * call per thread (the caller is thread 0), and returns when all are done.
 * Between runs a worker polls for the next one for up to 2 ms (a token's
 * runs follow each other within microseconds), then sleeps on a condition
 * variable, so an idle pool burns no CPU. A pool of 1 thread runs fn inline.
 */
#ifndef MOTE_BASE_THREADPOOL_H
#define MOTE_BASE_THREADPOOL_H

#include "mote.h"

typedef struct mote_pool mote_pool;
typedef void (*pool_fn)(void *ctx, int ith, int nth);

mote_status pool_create(int n_threads, mote_pool **out);
void pool_free(mote_pool *pool);
int pool_size(const mote_pool *pool);
void pool_run(mote_pool *pool, pool_fn fn, void *ctx);

/* Split [0, n) into nth near-equal parts; part ith is [*lo, *hi). */
static inline void pool_split(long n, int ith, int nth, long *lo, long *hi)
{
    long per = n / nth, rem = n % nth;
    *lo = ith * per + (ith < rem ? ith : rem);
    *hi = *lo + per + (ith < rem ? 1 : 0);
}

#endif
