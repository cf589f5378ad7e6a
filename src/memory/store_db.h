/*
 * store_db.h — the memory store's insides, shared by its files (store.c:
 * opening, schema, sources, state; store_put.c: replacing a source;
 * store_search.c: searching). Not for callers: they use store.h.
 */
#ifndef MOTE_MEMORY_STORE_DB_H
#define MOTE_MEMORY_STORE_DB_H

#include <sqlite3.h>

#include "memory/store.h"
#include "memory/store_vec.h"

struct mem_store {
    sqlite3 *db;
    char *path;           /* DIR/memory.db, for messages */
    mem_vec_index vec;    /* every stored vector (store_vec.h) */
    int vec_stale;        /* 1: vec is behind the database; reload before the next search */
    int64_t data_version; /* PRAGMA data_version when vec was last in step (another
                           * connection's commit changes it; our own do not) */
};

/* A failure with SQLite's message: "memory: PATH: what: errmsg", with a
 * status from SQLite's error code (corrupt / not a database: FORMAT; full
 * or unwritable: IO; busy: IO; out of memory: NOMEM). */
mote_status mem_store_fail(mem_store *st, const char *what);
/* Run sql (no results); mem_store_fail(what) on error. */
mote_status mem_store_exec(mem_store *st, const char *sql, const char *what);
/* Prepare sql; mem_store_fail(what) on error. */
mote_status mem_store_prepare(mem_store *st, const char *sql, sqlite3_stmt **out, const char *what);
/* The meta table's integer value for key, or def if absent. */
int64_t mem_store_meta_int(mem_store *st, const char *key, int64_t def);
/* PRAGMA data_version, or -1 on error. */
int64_t mem_store_data_version(mem_store *st);
/* Unix seconds now. */
int64_t mem_store_now(void);

#endif
