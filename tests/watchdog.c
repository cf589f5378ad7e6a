/*
 * watchdog.c — a test program that hangs says where, then fails.
 *
 * Linked into every test program. When MOTE_TEST_TIMEOUT (seconds) is set,
 * as `make test` sets it, a thread started before main waits that long;
 * if the program is still running then, it prints to stderr the shared
 * pool's state (slots, parts, sleepers) and, for the main thread and each
 * thread the program started (pool workers, a scheduler, a server's), the
 * interrupted instruction and the stack, each frame as
 * FILE+OFFSET and, where MOTE_ADDR2LINE (default addr2line) can say, the
 * function and line; then the program exits with WATCHDOG_EXIT (124, as
 * timeout(1)). A hang in CI is then a failure with the evidence in the
 * log, not a job killed at the CI's limit.
 *
 * The threads are known by wrapping pthread_create (the test programs
 * link with --wrap=pthread_create): each registers itself while it runs.
 * /proc/self/task would not do: under qemu-user it also lists the
 * emulator's own threads, which a guest signal would crash. Threads that
 * a shared library starts itself are not seen.
 */
#include <dlfcn.h>
#include <execinfo.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "base/threadpool.h"
#include "testutil.h"

#define WATCHDOG_EXIT 124 /* Makefile's test loop knows it */
#define WD_SIGNAL SIGURG /* ignored by default: harmless if it arrives late */
#define WD_FRAMES 40
#define WD_THREADS 80

typedef struct wd_stack {
    pthread_t thread;
    void *start;             /* the thread's start routine; NULL: main */
    void *pc;                /* the interrupted instruction */
    void *frames[WD_FRAMES]; /* backtrace() from the handler */
    int n_frames;
    atomic_int filled;
} wd_stack;

static wd_stack stacks[WD_THREADS];
static int n_stacks;
static _Atomic(wd_stack *) current; /* the stack the handler fills */
static pid_t main_tid;
static pthread_t main_thread;
static atomic_int reported; /* the report is printed */

static void *interrupted_pc(void *uc)
{
    const ucontext_t *u = uc;
#if defined(__x86_64__)
    return (void *)u->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
    return (void *)u->uc_mcontext.pc;
#else
    (void)u;
    return NULL;
#endif
}

static void on_signal(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    wd_stack *s = atomic_load(&current);
    if (!s || atomic_load(&s->filled)) return;
    s->pc = interrupted_pc(uc);
    s->n_frames = backtrace(s->frames, WD_FRAMES);
    atomic_store(&s->filled, 1);
}

/* Signals thread t and waits up to a second for its handler. */
static void capture(pthread_t t, void *start)
{
    if (n_stacks == WD_THREADS) return;
    wd_stack *s = &stacks[n_stacks++];
    s->thread = t;
    s->start = start;
    atomic_store(&current, s);
    if (pthread_kill(t, WD_SIGNAL) == 0)
        for (int i = 0; i < 1000 && !atomic_load(&s->filled); i++) nanosleep(&(struct timespec){0, 1000000}, NULL);
    atomic_store(&current, NULL);
}

/* ------------------------------------------------------------------------
 * The program's threads
 * ---------------------------------------------------------------------- */

typedef struct wd_thread {
    void *(*fn)(void *);
    void *arg;
    pthread_t self;
    struct wd_thread *prev, *next;
} wd_thread;

static pthread_mutex_t threads_lock = PTHREAD_MUTEX_INITIALIZER;
static wd_thread *threads; /* running, newest first */

static void thread_leave(void *arg)
{
    wd_thread *t = arg;
    pthread_mutex_lock(&threads_lock);
    if (t->prev) t->prev->next = t->next;
    else threads = t->next;
    if (t->next) t->next->prev = t->prev;
    pthread_mutex_unlock(&threads_lock);
    free(t);
}

static void *thread_main(void *arg)
{
    wd_thread *t = arg;
    t->self = pthread_self();
    pthread_mutex_lock(&threads_lock);
    t->next = threads;
    if (threads) threads->prev = t;
    threads = t;
    pthread_mutex_unlock(&threads_lock);
    void *ret;
    pthread_cleanup_push(thread_leave, t);
    ret = t->fn(t->arg);
    pthread_cleanup_pop(1);
    return ret;
}

int __real_pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);
int __wrap_pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);

int __wrap_pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    wd_thread *t = calloc(1, sizeof *t);
    if (!t) return __real_pthread_create(th, attr, fn, arg);
    t->fn = fn;
    t->arg = arg;
    int err = __real_pthread_create(th, attr, thread_main, t);
    if (err) free(t);
    return err;
}

/* One frame as FILE+0xOFFSET and, if addr2line can tell, where. */
static void print_frame(int i, void *pc, int is_return)
{
    Dl_info di;
    if (!pc || !dladdr(pc, &di) || !di.dli_fname) {
        fprintf(stderr, "    #%-2d %p\n", i, pc);
        return;
    }
    /* a return address points after the call: look up the call */
    const unsigned long off = (unsigned long)((char *)pc - (char *)di.dli_fbase) - (is_return ? 1 : 0);
    char where[512] = "";
    const char *tool = getenv("MOTE_ADDR2LINE");
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "%s -f -p -e '%s' 0x%lx 2>/dev/null", tool && *tool ? tool : "addr2line", di.dli_fname,
             off);
    if (!strchr(di.dli_fname, '\'')) {
        FILE *p = popen(cmd, "r");
        if (p) {
            if (!fgets(where, sizeof where, p)) where[0] = '\0';
            pclose(p);
            where[strcspn(where, "\n")] = '\0';
        }
    }
    fprintf(stderr, "    #%-2d %s+0x%lx %s\n", i, di.dli_fname, off, where);
}

/* A program that ends while its report is being written still fails. */
static void fail_at_exit(void)
{
    for (int i = 0; i < 60000 && !atomic_load(&reported); i++) nanosleep(&(struct timespec){0, 1000000}, NULL);
    _exit(WATCHDOG_EXIT);
}

/* The pool's state and every known thread's stack, to stderr. */
static void dump(void)
{
    char *state = malloc(8192);
    if (state) {
        pool_debug_describe(state, 8192);
        fprintf(stderr, "%s", state);
        free(state);
    }
    struct sigaction sa = {.sa_sigaction = on_signal, .sa_flags = SA_SIGINFO | SA_RESTART};
    sigemptyset(&sa.sa_mask);
    sigaction(WD_SIGNAL, &sa, NULL);
    memset(stacks, 0, sizeof stacks);
    n_stacks = 0;
    if (!pthread_equal(main_thread, pthread_self())) capture(main_thread, NULL);
    pthread_mutex_lock(&threads_lock); /* no thread leaves meanwhile */
    for (wd_thread *t = threads; t; t = t->next)
        if (!pthread_equal(t->self, pthread_self())) capture(t->self, (void *)t->fn);
    pthread_mutex_unlock(&threads_lock);
    for (int t = 0; t < n_stacks; t++) {
        wd_stack *s = &stacks[t];
        if (s->start) {
            fprintf(stderr, "  thread %d, started to run:\n", t);
            print_frame(0, s->start, 0);
        } else {
            fprintf(stderr, "  thread %d, the main thread:\n", t);
        }
        if (!atomic_load(&s->filled)) {
            fprintf(stderr, "    (no answer to the signal)\n");
            continue;
        }
        fprintf(stderr, "    at:\n");
        print_frame(0, s->pc, 0);
        fprintf(stderr, "    stack:\n");
        for (int i = 0; i < s->n_frames; i++) print_frame(i, s->frames[i], i > 0);
    }
    fflush(stderr);
}

void watchdog_dump(const char *why)
{
    fprintf(stderr, "\nWATCHDOG: %s; the other threads:\n", why);
    dump();
}

static void report(double seconds)
{
    atexit(fail_at_exit);
    dump();
    fprintf(stderr, "WATCHDOG: failing after %.0f s (exit %d)\n", seconds, WATCHDOG_EXIT);
    fflush(stderr);
    atomic_store(&reported, 1);
    _exit(WATCHDOG_EXIT);
}

static void *watch(void *arg)
{
    const double seconds = *(double *)arg;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += (time_t)seconds;
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) != 0) {
    }
    char exe[512] = "?";
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) exe[n] = '\0';
    fprintf(stderr, "\nWATCHDOG: %s (pid %d) still running after %.0f s (MOTE_TEST_TIMEOUT); its state:\n", exe,
            (int)main_tid, seconds);
    report(seconds);
    return NULL;
}

__attribute__((constructor)) static void watchdog_start(void)
{
    static double seconds;
    main_tid = getpid();
    main_thread = pthread_self();
    void *warm[1];
    backtrace(warm, 1); /* loads the unwinder now, not in a signal handler */
    const char *v = getenv("MOTE_TEST_TIMEOUT");
    if (!v || !*v) return;
    seconds = strtod(v, NULL);
    if (!(seconds > 0)) return;
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &a, watch, &seconds) != 0) fprintf(stderr, "watchdog: cannot start its thread\n");
    pthread_attr_destroy(&a);
}
