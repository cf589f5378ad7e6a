/*
 * watch.h — keeping the memory up to date as files change (inotify):
 * `mote memory watch`. A file written (closed after writing), moved in or
 * deleted under a watched folder is re-added or forgotten once it has
 * been quiet for MEM_WATCH_SETTLE_MS; new folders are watched as they
 * appear. Linux only.
 */
#ifndef MOTE_MEMORY_WATCH_H
#define MOTE_MEMORY_WATCH_H

#include <signal.h>

#include "memory/memory.h"

#define MEM_WATCH_SETTLE_MS 50 /* a file is taken this long after its last event */
#define MEM_WATCH_POLL_MS 50   /* how often the stop flag is looked at */

/* What a watch did with one path: stored (changed 1), unchanged, or
 * forgotten (gone 1); st is not MOTE_OK when the file failed (a warning:
 * the watch goes on). */
typedef void (*mem_watch_fn)(void *user, const char *path, int changed, int gone, mote_status st);

/* Add paths (files and folders) once, then watch them until *stop is set
 * (e.g. by a signal handler), keeping m up to date. on_change (may be
 * NULL) hears of every path handled. Fails for the memory itself (the
 * store, the model) or when inotify cannot be used. */
mote_status mem_watch(memory *m, const char *const *paths, int n, const memory_callbacks *cb, mem_watch_fn on_change,
                      void *user, volatile sig_atomic_t *stop);

#endif
