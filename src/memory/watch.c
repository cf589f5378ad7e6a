/*
 * watch.c — the memory kept up to date with inotify (see watch.h).
 *
 * One inotify descriptor; a watch on every folder under the paths given
 * (a file given alone: its folder's watch, filtered to its name). Events
 * only mark paths as pending with the time of their last event; a path
 * quiet for MEM_WATCH_SETTLE_MS is handed to memory_add_file, which
 * stores it if its hash changed or forgets it if it is gone. Editors that
 * save by writing a temporary file and renaming it give an IN_MOVED_TO of
 * the real name, which is what counts.
 */
#include "memory/watch.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/status.h"

#define WATCH_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE | IN_ONLYDIR)

typedef struct watched {
    int wd;
    char *dir;
    char *only; /* a file given alone: the one name watched in dir, else NULL */
} watched;

typedef struct pending {
    char *path;
    double last;    /* time of its last event */
    int is_dir;     /* a folder that appeared (added whole) or went (forgotten whole) */
} pending;

typedef struct watcher {
    int fd;
    watched *w;
    int n_w, cap_w;
    pending *p;
    int n_p, cap_p;
} watcher;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static mote_status add_watch(watcher *x, const char *dir, const char *only)
{
    const int wd = inotify_add_watch(x->fd, dir, WATCH_MASK);
    if (wd < 0) {
        if (errno == ENOSPC)
            return mote_fail(MOTE_E_IO, "memory: watch: %s: the inotify watch limit is reached "
                             "(raise fs.inotify.max_user_watches)", dir);
        return MOTE_OK; /* a folder that went away or is unreadable: nothing to watch */
    }
    for (int i = 0; i < x->n_w; i++)
        if (x->w[i].wd == wd) { /* watched already (a file's folder, then the folder) */
            if (!only) free(x->w[i].only), x->w[i].only = NULL;
            return MOTE_OK;
        }
    if (x->n_w == x->cap_w) {
        const int cap = x->cap_w ? 2 * x->cap_w : 64;
        watched *w = realloc(x->w, sizeof *w * (size_t)cap);
        if (!w) return mote_fail(MOTE_E_NOMEM, "memory: watch: out of memory");
        x->w = w;
        x->cap_w = cap;
    }
    watched *w = &x->w[x->n_w];
    w->wd = wd;
    w->dir = strdup(dir);
    w->only = only ? strdup(only) : NULL;
    if (!w->dir || (only && !w->only)) return mote_fail(MOTE_E_NOMEM, "memory: watch: out of memory");
    x->n_w++;
    return MOTE_OK;
}

/* Watch dir and every folder under it (dot-folders skipped, as an add does). */
static mote_status watch_tree(watcher *x, const char *dir, int depth)
{
    MOTE_TRY(add_watch(x, dir, NULL));
    if (depth > 64) return MOTE_OK;
    DIR *d = opendir(dir);
    if (!d) return MOTE_OK;
    struct dirent *e;
    mote_status st = MOTE_OK;
    while (st == MOTE_OK && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[PATH_MAX];
        struct stat sb;
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path) continue;
        if (lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) st = watch_tree(x, path, depth + 1);
    }
    closedir(d);
    return st;
}

static mote_status mark(watcher *x, const char *path, int is_dir)
{
    const double t = now_s();
    for (int i = 0; i < x->n_p; i++)
        if (strcmp(x->p[i].path, path) == 0) {
            x->p[i].last = t;
            x->p[i].is_dir |= is_dir;
            return MOTE_OK;
        }
    if (x->n_p == x->cap_p) {
        const int cap = x->cap_p ? 2 * x->cap_p : 64;
        pending *p = realloc(x->p, sizeof *p * (size_t)cap);
        if (!p) return mote_fail(MOTE_E_NOMEM, "memory: watch: out of memory");
        x->p = p;
        x->cap_p = cap;
    }
    if (!(x->p[x->n_p].path = strdup(path))) return mote_fail(MOTE_E_NOMEM, "memory: watch: out of memory");
    x->p[x->n_p].last = t;
    x->p[x->n_p].is_dir = is_dir;
    x->n_p++;
    return MOTE_OK;
}

/* Read the events waiting and mark their paths. */
static mote_status read_events(watcher *x, int *overflow)
{
    char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        const ssize_t len = read(x->fd, buf, sizeof buf);
        if (len <= 0) return MOTE_OK; /* EAGAIN: none left */
        for (char *p = buf; p < buf + len;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            p += sizeof *ev + ev->len;
            if (ev->mask & IN_Q_OVERFLOW) *overflow = 1;
            if (!ev->len || ev->name[0] == '.') continue; /* dot-files: editors' swap files, hidden folders */
            const watched *w = NULL;
            for (int i = 0; i < x->n_w && !w; i++)
                if (x->w[i].wd == ev->wd) w = &x->w[i];
            if (!w || (w->only && strcmp(w->only, ev->name) != 0)) continue;
            char path[PATH_MAX];
            if (snprintf(path, sizeof path, "%s/%s", w->dir, ev->name) >= (int)sizeof path) continue;
            const int dir = (ev->mask & IN_ISDIR) != 0;
            if (dir && (ev->mask & (IN_CREATE | IN_MOVED_TO))) MOTE_TRY(watch_tree(x, path, 0));
            if (!dir && (ev->mask & IN_CREATE)) continue; /* its IN_CLOSE_WRITE follows */
            MOTE_TRY(mark(x, path, dir));
        }
    }
}

/* Hand the settled paths to the memory. */
static mote_status settle(watcher *x, memory *m, const memory_callbacks *cb, mem_watch_fn fn, void *user, int all)
{
    const double t = now_s();
    for (int i = 0; i < x->n_p;) {
        pending *p = &x->p[i];
        if (!all && t - p->last < MEM_WATCH_SETTLE_MS / 1000.0) {
            i++;
            continue;
        }
        struct stat sb;
        const int gone = stat(p->path, &sb) != 0;
        int changed = 0;
        mote_status st;
        if (p->is_dir && !gone) { /* a folder moved in: everything in it */
            memory_add_stats s;
            const char *one[] = {p->path};
            st = memory_add(m, one, 1, cb, &s);
            changed = s.added + s.updated > 0;
        } else if (gone) {
            int64_t n = 0;
            st = memory_forget(m, p->path, &n);
            changed = n > 0;
        } else {
            st = memory_add_file(m, p->path, cb, &changed);
        }
        if (fn && (changed || st != MOTE_OK)) fn(user, p->path, changed, gone, st);
        /* a failing store or model ends the watch; a file's failure was a warning */
        free(p->path);
        x->p[i] = x->p[--x->n_p];
        if (st != MOTE_OK && st != MOTE_E_IO && st != MOTE_E_FORMAT && st != MOTE_E_UNSUPPORTED) return st;
    }
    return MOTE_OK;
}

static void watcher_free(watcher *x)
{
    if (x->fd >= 0) close(x->fd);
    for (int i = 0; i < x->n_w; i++) free(x->w[i].dir), free(x->w[i].only);
    for (int i = 0; i < x->n_p; i++) free(x->p[i].path);
    free(x->w);
    free(x->p);
}

mote_status mem_watch(memory *m, const char *const *paths, int n, const memory_callbacks *cb, mem_watch_fn on_change,
                      void *user, volatile sig_atomic_t *stop)
{
    watcher x = {.fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)};
    if (x.fd < 0) return mote_fail(MOTE_E_IO, "memory: watch: inotify: %s", strerror(errno));
    mote_status st = MOTE_OK;
    /* watches first, then the add: a file saved meanwhile is seen twice, not missed */
    for (int i = 0; st == MOTE_OK && i < n; i++) {
        char abs[PATH_MAX];
        struct stat sb;
        if (!realpath(paths[i], abs) || stat(abs, &sb) != 0) {
            st = mote_fail(MOTE_E_IO, "memory: watch: %s: %s", paths[i], strerror(errno));
        } else if (S_ISDIR(sb.st_mode)) {
            st = watch_tree(&x, abs, 0);
        } else {
            char *slash = strrchr(abs, '/');
            *slash = '\0';
            st = add_watch(&x, abs[0] ? abs : "/", slash + 1);
        }
    }
    memory_add_stats s;
    if (st == MOTE_OK) st = memory_add(m, paths, n, cb, &s);
    int overflow = 0;
    while (st == MOTE_OK && !*stop) {
        struct pollfd pfd = {.fd = x.fd, .events = POLLIN};
        const int r = poll(&pfd, 1, MEM_WATCH_POLL_MS);
        if (r < 0 && errno != EINTR) st = mote_fail(MOTE_E_IO, "memory: watch: poll: %s", strerror(errno));
        if (st == MOTE_OK && r > 0) st = read_events(&x, &overflow);
        if (st == MOTE_OK && overflow) { /* events were lost: look at everything again */
            overflow = 0;
            st = memory_add(m, paths, n, cb, &s);
        }
        if (st == MOTE_OK) st = settle(&x, m, cb, on_change, user, 0);
    }
    if (st == MOTE_OK) st = settle(&x, m, cb, on_change, user, 1); /* what was pending when stopped */
    watcher_free(&x);
    return st;
}
