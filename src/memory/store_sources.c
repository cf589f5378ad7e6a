/*
 * store_sources.c — the stored sources: one's content hash (to skip an
 * unchanged file), the list under a path prefix (to find files that are
 * gone), and removing one (store.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "memory/store_db.h"

/* Byte-wise "path starts with ?1" (CAST AS BLOB: no LIKE wildcards, no
 * collation, the same bytes as strncmp in store_vec.c). */
#define PREFIX_SQL "substr(CAST(path AS BLOB), 1, length(CAST(?1 AS BLOB))) = CAST(?1 AS BLOB)"

mote_status mem_store_source_state(mem_store *st, const char *path, char hash[MEM_HASH_HEX + 1], int *exists)
{
    hash[0] = '\0';
    *exists = 0;
    if (!st || !path) return mote_fail(MOTE_E_INVALID, "memory: mem_store_source_state: NULL argument");
    sqlite3_stmt *s;
    MOTE_TRY(mem_store_prepare(st, "SELECT hash FROM sources WHERE path = ?1", &s, "looking up a source"));
    sqlite3_bind_text(s, 1, path, -1, SQLITE_STATIC);
    const int step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        const char *h = (const char *)sqlite3_column_text(s, 0);
        snprintf(hash, MEM_HASH_HEX + 1, "%s", h ? h : "");
        *exists = 1;
    }
    sqlite3_finalize(s);
    return step == SQLITE_ROW || step == SQLITE_DONE ? MOTE_OK : mem_store_fail(st, "looking up a source");
}

mote_status mem_store_remove(mem_store *st, const char *path, int *removed)
{
    if (removed) *removed = 0;
    if (!st || !path) return mote_fail(MOTE_E_INVALID, "memory: mem_store_remove: NULL argument");
    sqlite3_stmt *del = NULL, *meta = NULL;
    MOTE_TRY(mem_store_exec(st, "BEGIN IMMEDIATE", "removing a source"));
    mote_status rc = mem_store_prepare(st, "DELETE FROM sources WHERE path = ?1 RETURNING id", &del, "removing a source");
    if (rc == MOTE_OK)
        rc = mem_store_prepare(st, "INSERT OR REPLACE INTO meta(key, value) VALUES ('updated_at', ?1)", &meta,
                           "removing a source");
    int64_t id = 0;
    if (rc == MOTE_OK) {
        sqlite3_bind_text(del, 1, path, -1, SQLITE_STATIC);
        int step = sqlite3_step(del);
        if (step == SQLITE_ROW) {
            id = sqlite3_column_int64(del, 0);
            step = sqlite3_step(del);
        }
        if (step != SQLITE_DONE) rc = mem_store_fail(st, "removing a source");
    }
    if (rc == MOTE_OK && id) {
        sqlite3_bind_int64(meta, 1, mem_store_now());
        if (sqlite3_step(meta) != SQLITE_DONE) rc = mem_store_fail(st, "removing a source");
    }
    sqlite3_finalize(del);
    sqlite3_finalize(meta);
    if (rc == MOTE_OK) rc = mem_store_exec(st, "COMMIT", "removing a source");
    if (rc != MOTE_OK) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    if (id) mem_vec_drop_source(&st->vec, id);
    if (removed) *removed = id != 0;
    return MOTE_OK;
}

void mem_sources_free(mem_source_info *s, int n)
{
    if (!s) return;
    for (int i = 0; i < n; i++) {
        free(s[i].path);
        free(s[i].warnings);
    }
    free(s);
}

/* A text column, "" for NULL (which the schema forbids, but a damaged
 * file may hold). */
static const char *col_text(sqlite3_stmt *s, int col)
{
    const char *t = (const char *)sqlite3_column_text(s, col);
    return t ? t : "";
}

static char *dup_text(sqlite3_stmt *s, int col, int *oom)
{
    const char *t = (const char *)sqlite3_column_text(s, col);
    if (!t) return NULL;
    char *d = strdup(t);
    if (!d) *oom = 1;
    return d;
}

mote_status mem_store_sources(mem_store *st, const char *prefix, mem_source_info **out, int *n)
{
    *out = NULL;
    *n = 0;
    if (!st) return mote_fail(MOTE_E_INVALID, "memory: mem_store_sources: NULL store");
    sqlite3_stmt *s;
    MOTE_TRY(mem_store_prepare(st,
                           "SELECT path, kind, hash, size, mtime, ingested_at, n_chunks, n_readings, status, warnings "
                           "FROM sources WHERE ?1 IS NULL OR " PREFIX_SQL " ORDER BY path",
                           &s, "listing sources"));
    if (prefix && prefix[0]) sqlite3_bind_text(s, 1, prefix, -1, SQLITE_STATIC);
    mem_source_info *list = NULL;
    int count = 0, cap = 0, oom = 0, step;
    while (!oom && (step = sqlite3_step(s)) == SQLITE_ROW) {
        if (count == cap) {
            cap = cap ? 2 * cap : 64;
            mem_source_info *l = realloc(list, (size_t)cap * sizeof *l);
            if (!l) {
                oom = 1;
                break;
            }
            list = l;
        }
        mem_source_info *i = &list[count++];
        *i = (mem_source_info){0};
        i->path = dup_text(s, 0, &oom);
        i->kind = (enum mem_kind)mem_kind_from_name(col_text(s, 1));
        snprintf(i->hash, sizeof i->hash, "%s", col_text(s, 2));
        i->size = sqlite3_column_int64(s, 3);
        i->mtime = sqlite3_column_int64(s, 4);
        i->ingested_at = sqlite3_column_int64(s, 5);
        i->n_chunks = sqlite3_column_int(s, 6);
        i->n_readings = sqlite3_column_int64(s, 7);
        i->complete = strcmp(col_text(s, 8), "complete") == 0;
        i->warnings = dup_text(s, 9, &oom);
    }
    mote_status rc = MOTE_OK;
    if (oom) rc = mote_fail(MOTE_E_NOMEM, "memory: %s: out of memory listing sources", st->path);
    else if (step != SQLITE_DONE) rc = mem_store_fail(st, "listing sources");
    sqlite3_finalize(s);
    if (rc != MOTE_OK) {
        mem_sources_free(list, count);
        return rc;
    }
    *out = list;
    *n = count;
    return MOTE_OK;
}
