/* threadpool.c — one set of workers for the process; jobs from any thread. */
#include "base/threadpool.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "base/cpu.h"
#include "base/status.h"

/*
 * Jobs. A run takes one of POOL_SLOTS job slots (bit k of `used`), which
 * belong to the pool, not to the caller's stack: a worker holding a stale
 * pointer to a slot never touches freed memory. The slot's `claim` word
 * packs nth (high half) and the next part to hand out (low half); a part
 * is taken by a compare-and-swap from next to next + 1 while next < nth,
 * by the caller and workers alike, so every part runs exactly once. A job
 * is complete when `done` reaches nth; only then does the caller give the
 * slot back, so a thread that took a part sees the slot's fn and ctx
 * unchanged until it counts the part done. (A stale CAS that succeeds on a
 * reused slot takes a part of the new job, with the new job's nth: that is
 * a fair claim, not a mix-up.) With every slot taken, a run does all its
 * parts on the calling thread.
 *
 * Bit k of `active` says slot k may have parts left; workers look only
 * there, starting after the slot they served last, so pending jobs are
 * served in turn. The caller sets the bit before publishing nth, and the
 * thread that takes the last part clears it: so the clear always follows
 * the set, and a bit is set over a slot with nothing to take only while a
 * job is being published or its last part being taken.
 *
 * Waiting. Token generation issues a few hundred runs per token, each a
 * few tens of microseconds long: waking a sleeping thread costs about as
 * much as the run itself, which is why a worker polls `active` for
 * SPIN_NS after its last part before it sleeps on `wake`; a job's caller
 * wakes sleepers only if `sleepers` says there are any. Measured during
 * generation (SmolLM2-135M shapes, 49152-token vocabulary, sampling on):
 * 96% of the gaps between runs are under 8 us, the longest (sampling,
 * between tokens) 130-260 us; SPIN_NS covers those with room to spare,
 * and a gap past it costs one wakeup. Past YIELD_NS of polling, a poller
 * yields the core between polls: on a machine with more runnable threads
 * than cores, the thread it waits for may be queued behind it. A caller
 * waits for the parts workers took (the last ones in flight; matmul's
 * shrinking shares make them short) for at most WAIT_NS, then sleeps on
 * its slot's `cv`: a part that takes longer is one whose worker lost its
 * core, and a sleeping caller frees a core for it.
 *
 * Sleeping and waking are Dekker pairs of sequentially consistent atomics
 * (sleepers / active, waiting / done): the sleeper publishes its flag and
 * then re-checks the condition under `mu`, the waker changes the
 * condition and then reads the flag, so at least one of them sees the
 * other and no wakeup is lost. Each side's write is a read-modify-write
 * (sleepers and done count up, active is or-ed, waiting is exchanged):
 * by the C standard and on real processors a sequentially consistent
 * store followed by a load would do, but qemu-user (7.2 on an x86 host)
 * lets such a load pass the store -- a store-buffering test of two
 * threads saw both stores missed in 9% of 2 million rounds, where an
 * exchange or a fence saw none -- and a caller's wakeup lost that way
 * hung the scheduler tests now and then in the emulated CI runs.
 */
#define POOL_SLOTS 64    /* jobs in flight at once: the bits of a word */
#define SPIN_NS 1000000L /* 1 ms: a worker's polling for the next job */
#define WAIT_NS 200000L  /* 200 us: a caller's polling for its last parts */
#define YIELD_NS 50000L  /* past 50 us, poll with sched_yield in between */
#define SPIN_CHECK 256   /* polls between clock reads */

typedef struct job_slot {
    _Alignas(64) atomic_uint_least64_t claim; /* nth << 32 | next part to take */
    atomic_int done;                          /* parts finished */
    atomic_int waiting;                       /* the caller sleeps on cv */
    pool_fn fn;                               /* set before claim is published */
    void *ctx;                                /* fn's first argument */
    pthread_cond_t cv;                        /* the caller waits here for the last part */
} job_slot;

static struct shared_pool {
    pthread_mutex_t life; /* views, starting and stopping */
    int views;            /* views holding the workers (under life) */
    int size;             /* parts per job at most: workers + the caller */
    pthread_t *threads;   /* size - 1 workers */

    pthread_mutex_t mu;  /* sleeping and waking */
    pthread_cond_t wake; /* a job was posted, or stop (this and the slots'
                          * cv exist while the workers do) */
    atomic_int stop;     /* the workers end (once no job is pending) */
    _Alignas(64) atomic_int sleepers;          /* workers in (or entering) wake */
    _Alignas(64) atomic_uint_least64_t used;   /* slots held by a run */
    _Alignas(64) atomic_uint_least64_t active; /* slots that may have parts left */
    job_slot slots[POOL_SLOTS];
} P = {.life = PTHREAD_MUTEX_INITIALIZER, .mu = PTHREAD_MUTEX_INITIALIZER};

struct mote_pool {
    int nth;    /* parts per run */
    int shared; /* holds a reference on the workers */
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

/* Poll state: call spin_on() between polls; 0 once limit ns have passed. */
typedef struct spin {
    unsigned polls;
    long start;
} spin;

static int spin_on(spin *s, long limit)
{
    cpu_relax();
    if (++s->polls % SPIN_CHECK) return 1;
    long t = now_ns();
    if (!s->start) s->start = t;
    else if (t - s->start > limit) return 0;
    else if (t - s->start > YIELD_NS) sched_yield();
    return 1;
}

/* ------------------------------------------------------------------------
 * Parts
 * ---------------------------------------------------------------------- */

/* Takes the next part of the job in slot k: its index, or -1 if none is
 * left; *nth gets the job's part count. */
static int claim(int k, int *nth)
{
    job_slot *s = &P.slots[k];
    uint_least64_t w = atomic_load_explicit(&s->claim, memory_order_acquire);
    for (;;) {
        const uint32_t n = (uint32_t)(w >> 32), next = (uint32_t)w;
        if (next >= n) return -1;
        if (atomic_compare_exchange_weak_explicit(&s->claim, &w, w + 1, memory_order_acq_rel,
                                                  memory_order_acquire)) {
            if (next + 1 == n) atomic_fetch_and(&P.active, ~((uint_least64_t)1 << k));
            *nth = (int)n;
            return (int)next;
        }
    }
}

/* Counts a part of slot k's job done; the last one wakes a sleeping caller.
 * (If the slot was given back and taken again meanwhile, `waiting` may be
 * the next caller's: a spurious signal, which cond waits tolerate.) */
static void finish(int k, int nth)
{
    job_slot *s = &P.slots[k];
    if (atomic_fetch_add(&s->done, 1) + 1 == nth && atomic_load(&s->waiting)) {
        pthread_mutex_lock(&P.mu);
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&P.mu);
    }
}

/* Takes and runs one part of slot k's job; 0 if none was left. */
static int run_part(int k)
{
    int nth, ith = claim(k, &nth);
    if (ith < 0) return 0;
    job_slot *s = &P.slots[k];
    s->fn(s->ctx, ith, nth);
    finish(k, nth);
    return 1;
}

/* ------------------------------------------------------------------------
 * Workers
 * ---------------------------------------------------------------------- */

/* The first set bit of mask after bit `after`, going round. mask != 0. */
static int next_bit(uint_least64_t mask, int after)
{
    const int from = (after + 1) % POOL_SLOTS;
    const uint_least64_t r = from ? (mask >> from) | (mask << (POOL_SLOTS - from)) : mask;
    return (from + __builtin_ctzll(r)) % POOL_SLOTS;
}

static void *worker_main(void *arg)
{
    int last = (int)(intptr_t)arg % POOL_SLOTS; /* slot served last */
    spin s = {0};
    for (;;) {
        uint_least64_t act = atomic_load_explicit(&P.active, memory_order_acquire);
        if (act) {
            last = next_bit(act, last);
            if (run_part(last)) s = (spin){0};
            else cpu_relax(); /* the slot is being published or emptied */
            continue;
        }
        if (atomic_load_explicit(&P.stop, memory_order_relaxed)) break;
        if (spin_on(&s, SPIN_NS)) continue;
        pthread_mutex_lock(&P.mu);
        atomic_fetch_add(&P.sleepers, 1);
        while (!atomic_load(&P.active) && !atomic_load(&P.stop)) pthread_cond_wait(&P.wake, &P.mu);
        atomic_fetch_sub(&P.sleepers, 1);
        pthread_mutex_unlock(&P.mu);
        s = (spin){0};
    }
    return NULL;
}

/* Stops and joins the first n workers; under life. */
static void stop_workers(int n)
{
    pthread_mutex_lock(&P.mu);
    atomic_store(&P.stop, 1);
    pthread_cond_broadcast(&P.wake);
    pthread_mutex_unlock(&P.mu);
    for (int i = 0; i < n; i++) pthread_join(P.threads[i], NULL);
    atomic_store(&P.stop, 0);
    free(P.threads);
    P.threads = NULL;
    pthread_cond_destroy(&P.wake);
    for (int k = 0; k < POOL_SLOTS; k++) pthread_cond_destroy(&P.slots[k].cv);
}

/* Sizes the pool and starts its workers; under life, with no views. */
static mote_status start_workers(void)
{
    P.size = pool_size_for(getenv("MOTE_THREADS"), cpu_available());
    pthread_cond_init(&P.wake, NULL);
    for (int k = 0; k < POOL_SLOTS; k++) pthread_cond_init(&P.slots[k].cv, NULL);
    P.threads = calloc((size_t)P.size, sizeof *P.threads);
    if (!P.threads) {
        stop_workers(0);
        return mote_fail(MOTE_E_NOMEM, "thread pool: out of memory");
    }
    for (int i = 0; i < P.size - 1; i++) {
        int err = pthread_create(&P.threads[i], NULL, worker_main, (void *)(intptr_t)i);
        if (err) {
            stop_workers(i);
            return mote_fail(MOTE_E_NOMEM, "thread pool: cannot start worker %d of %d (error %d)", i + 1,
                             P.size - 1, err);
        }
    }
    return MOTE_OK;
}

/* ------------------------------------------------------------------------
 * Views
 * ---------------------------------------------------------------------- */

int pool_size_for(const char *mote_threads, long cpus)
{
    if (mote_threads && *mote_threads >= '0' && *mote_threads <= '9') {
        char *end;
        errno = 0;
        long v = strtol(mote_threads, &end, 10);
        if (!errno && *end == '\0' && v >= 1 && v <= POOL_THREADS_MAX) return (int)v;
    }
    return cpus < 1 ? 1 : cpus > POOL_CPUS_MAX ? POOL_CPUS_MAX : (int)cpus;
}

/* nth of a view with a cap of n_threads on a pool of size parts. */
static int capped(int n_threads, int size) { return n_threads == 0 || n_threads > size ? size : n_threads; }

int pool_size_plan(int n_threads)
{
    if (n_threads == 1) return 1;
    pthread_mutex_lock(&P.life);
    const int size = P.views ? P.size : pool_size_for(getenv("MOTE_THREADS"), cpu_available());
    pthread_mutex_unlock(&P.life);
    return capped(n_threads, size);
}

mote_status pool_create(int n_threads, mote_pool **out)
{
    *out = NULL;
    if (n_threads < 0) return mote_fail(MOTE_E_INVALID, "thread pool: bad thread count %d", n_threads);
    mote_pool *v = malloc(sizeof *v);
    if (!v) return mote_fail(MOTE_E_NOMEM, "thread pool: out of memory");
    *v = (mote_pool){.nth = 1, .shared = 0};
    if (n_threads != 1) {
        pthread_mutex_lock(&P.life);
        mote_status st = P.views ? MOTE_OK : start_workers();
        if (st == MOTE_OK) P.views++;
        const int size = P.size;
        pthread_mutex_unlock(&P.life);
        if (st != MOTE_OK) {
            free(v);
            return st;
        }
        v->shared = 1;
        v->nth = capped(n_threads, size);
    }
    *out = v;
    return MOTE_OK;
}

void pool_free(mote_pool *v)
{
    if (!v) return;
    if (v->shared) {
        pthread_mutex_lock(&P.life);
        if (--P.views == 0) stop_workers(P.size - 1);
        pthread_mutex_unlock(&P.life);
    }
    free(v);
}

int pool_size(const mote_pool *v) { return v ? v->nth : 1; }

/* ------------------------------------------------------------------------
 * Runs
 * ---------------------------------------------------------------------- */

/* A free slot, now held; -1 if all are taken. */
static int take_slot(void)
{
    uint_least64_t u = atomic_load_explicit(&P.used, memory_order_relaxed);
    while (~u) {
        const int k = __builtin_ctzll(~u);
        if (atomic_compare_exchange_weak_explicit(&P.used, &u, u | (uint_least64_t)1 << k, memory_order_acquire,
                                                  memory_order_relaxed))
            return k;
    }
    return -1;
}

static long wait_ns = WAIT_NS; /* pool_debug_set_wait */

/* Waits until all nth parts of slot k's job are done. */
static void wait_done(int k, int nth)
{
    job_slot *s = &P.slots[k];
    spin sp = {0};
    while (atomic_load_explicit(&s->done, memory_order_acquire) != nth)
        if (!wait_ns || !spin_on(&sp, wait_ns)) {
            pthread_mutex_lock(&P.mu);
            atomic_exchange(&s->waiting, 1); /* not a store: see "Sleeping and waking" */
            while (atomic_load(&s->done) != nth) pthread_cond_wait(&s->cv, &P.mu);
            atomic_store(&s->waiting, 0);
            pthread_mutex_unlock(&P.mu);
            return;
        }
}

void pool_run(mote_pool *v, pool_fn fn, void *ctx)
{
    const int nth = v ? v->nth : 1;
    const int k = nth > 1 ? take_slot() : -1;
    if (k < 0) {
        for (int i = 0; i < nth; i++) fn(ctx, i, nth);
        return;
    }
    job_slot *s = &P.slots[k];
    s->fn = fn;
    s->ctx = ctx;
    atomic_store_explicit(&s->done, 0, memory_order_relaxed);
    atomic_fetch_or(&P.active, (uint_least64_t)1 << k);
    atomic_store_explicit(&s->claim, (uint_least64_t)nth << 32, memory_order_release);
    const int sleeping = atomic_load(&P.sleepers);
    if (sleeping) { /* as many as can help: one system call for all */
        pthread_mutex_lock(&P.mu);
        if (nth - 1 >= sleeping) pthread_cond_broadcast(&P.wake);
        else
            for (int i = 0; i < nth - 1; i++) pthread_cond_signal(&P.wake);
        pthread_mutex_unlock(&P.mu);
    }
    while (run_part(k)) {
    }
    wait_done(k, nth);
    atomic_fetch_and_explicit(&P.used, ~((uint_least64_t)1 << k), memory_order_release);
}

/* ------------------------------------------------------------------------
 * Debugging
 * ---------------------------------------------------------------------- */

void pool_debug_set_wait(long ns) { wait_ns = ns < 0 ? WAIT_NS : ns; }

void pool_debug_describe(char *buf, size_t n)
{
    if (!n) return;
    const uint_least64_t used = atomic_load(&P.used), active = atomic_load(&P.active);
    int len = snprintf(buf, n, "pool: size %d, views %d, workers sleeping %d, stop %d, slots used %#llx, active %#llx\n",
                       P.size, P.views, atomic_load(&P.sleepers), atomic_load(&P.stop), (unsigned long long)used,
                       (unsigned long long)active);
    for (int k = 0; k < POOL_SLOTS && len >= 0 && (size_t)len < n; k++) {
        if (!((used | active) >> k & 1)) continue;
        const job_slot *s = &P.slots[k];
        const uint_least64_t w = atomic_load(&s->claim);
        len += snprintf(buf + len, n - (size_t)len, "  slot %d: parts %u, next %u, done %d, caller sleeping %d\n", k,
                        (unsigned)(w >> 32), (unsigned)w, atomic_load(&s->done), atomic_load(&s->waiting));
    }
}
