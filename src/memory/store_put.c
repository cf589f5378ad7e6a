/*
 * store_put.c — replacing one source with a new version of it (store.h's
 * mem_store_put): validation, the one transaction, and the in-memory
 * vectors afterwards.
 *
 * The transaction: upsert the source row (its id stays), delete its
 * chunks (the FTS5 rows go through the triggers, the vectors by cascade)
 * and readings, insert the new ones, record the content hash and the
 * counts, commit. Everything or nothing: any failure rolls back to the
 * old version. Only after COMMIT is the in-memory index changed, so it
 * never holds what the database does not.
 *
 * mem_store_known_vectors, at the end, lets a caller re-embed only the
 * chunks of a changed file whose text is new.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "kernels/dot_i8.h"
#include "memory/store_db.h"

/* What one put writes, prepared once per put. */
enum {
    ST_SOURCE,   /* upsert the source row, returning its id */
    ST_CHUNKS,   /* delete the source's chunks */
    ST_READINGS, /* delete the source's readings */
    ST_CHUNK,    /* insert a chunk */
    ST_VECTOR,   /* insert a chunk's vector */
    ST_READING,  /* insert a reading */
    ST_META,     /* set a meta value */
    N_ST
};

static const char *const put_sql[N_ST] = {
    [ST_SOURCE] = ("INSERT INTO sources(path, kind, hash, size, mtime, ingested_at, n_chunks, n_readings, status, "
                  "warnings) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'complete', ?9) "
                  "ON CONFLICT(path) DO UPDATE SET kind = excluded.kind, hash = excluded.hash, size = excluded.size, "
                  "mtime = excluded.mtime, ingested_at = excluded.ingested_at, n_chunks = excluded.n_chunks, "
                  "n_readings = excluded.n_readings, status = excluded.status, warnings = excluded.warnings "
                  "RETURNING id"),
    [ST_CHUNKS] = "DELETE FROM chunks WHERE source_id = ?1",
    [ST_READINGS] = "DELETE FROM readings WHERE source_id = ?1",
    [ST_CHUNK] = ("INSERT INTO chunks(source_id, ordinal, text, title, line_lo, line_hi, msg_id, t_lo, t_hi, hash) "
                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
    [ST_VECTOR] = "INSERT INTO vectors(chunk_id, q, scale) VALUES (?1, ?2, ?3)",
    [ST_READING] = "INSERT INTO readings(source_id, series, t_ms, value) VALUES (?1, ?2, ?3, ?4)",
    [ST_META] = "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)",
};

typedef struct put_ctx {
    mem_store *st;
    const mem_doc *doc;
    const mem_source_stamp *stamp;
    int dim;              /* elements per vector, 0 for none */
    int8_t *q;            /* (n_chunks, dim) quantised vectors */
    float *scale;         /* (n_chunks) their scales */
    int64_t *chunk_ids;   /* (n_chunks) the ids the chunks got */
    int64_t source_id;
    sqlite3_stmt *s[N_ST];
} put_ctx;

/* mem_store_fail naming the source: "memory: DB: SOURCE: what: errmsg". */
static mote_status put_fail(put_ctx *c, const char *what)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s: %s", c->doc->source, what);
    return mem_store_fail(c->st, buf);
}

/* Run a bound statement to completion (for ST_SOURCE, its one row). */
static mote_status run(put_ctx *c, int which, const char *what)
{
    sqlite3_stmt *s = c->s[which];
    int step = sqlite3_step(s);
    if (which == ST_SOURCE && step == SQLITE_ROW) {
        c->source_id = sqlite3_column_int64(s, 0);
        step = sqlite3_step(s);
    }
    sqlite3_reset(s);
    return step == SQLITE_DONE ? MOTE_OK : put_fail(c, what);
}

static mote_status exec(put_ctx *c, const char *sql, const char *what)
{
    return sqlite3_exec(c->st->db, sql, NULL, NULL, NULL) == SQLITE_OK ? MOTE_OK : put_fail(c, what);
}

static int is_hex_hash(const char *h)
{
    if (!h || strlen(h) != MEM_HASH_HEX) return 0;
    for (; *h; h++)
        if (!((*h >= '0' && *h <= '9') || (*h >= 'a' && *h <= 'f'))) return 0;
    return 1;
}

static mote_status validate(put_ctx *c, const float *vectors, int64_t stored_dim)
{
    mem_store *st = c->st;
    const mem_doc *d = c->doc;
    if (!d->source || !d->source[0])
        return mote_fail(MOTE_E_INVALID, "memory: %s: a document without a source path", st->path);
    if (!c->stamp || !is_hex_hash(c->stamp->hash))
        return mote_fail(MOTE_E_INVALID, "memory: %s: %s: need the file's content hash (%d lowercase hex digits)",
                         st->path, d->source, MEM_HASH_HEX);
    if (d->n_chunks < 0 || (d->n_chunks > 0 && !d->chunks) || (d->n_readings > 0 && !d->readings))
        return mote_fail(MOTE_E_INVALID, "memory: %s: %s: bad chunk or reading count", st->path, d->source);
    if (strcmp(mem_kind_name(d->kind), "unknown") == 0)
        return mote_fail(MOTE_E_INVALID, "memory: %s: %s: unknown kind %d", st->path, d->source, (int)d->kind);
    for (int i = 0; i < d->n_chunks; i++)
        if (!d->chunks[i].text)
            return mote_fail(MOTE_E_INVALID, "memory: %s: %s: chunk %d has no text", st->path, d->source, i);
    for (size_t i = 0; i < d->n_readings; i++)
        if (!d->readings[i].series)
            return mote_fail(MOTE_E_INVALID, "memory: %s: %s: reading %zu has no series", st->path, d->source, i);
    if (c->dim == 0) {
        if (vectors) return mote_fail(MOTE_E_INVALID, "memory: %s: %s: vectors of 0 dims", st->path, d->source);
        return MOTE_OK;
    }
    if (c->dim < 0 || c->dim > I8_DOT_DIM_MAX || (!vectors && d->n_chunks > 0))
        return mote_fail(MOTE_E_INVALID, "memory: %s: %s: need vectors of 1 to %d dims", st->path, d->source,
                         I8_DOT_DIM_MAX);
    if (stored_dim && stored_dim != c->dim)
        return mote_fail(MOTE_E_INVALID,
                         "memory: %s: %s: vectors of %d dims, but the memory holds vectors of %lld dims (another "
                         "embedding model): rebuild the memory to change models",
                         st->path, d->source, c->dim, (long long)stored_dim);
    for (size_t i = 0; i < (size_t)d->n_chunks * (size_t)c->dim; i++)
        if (!isfinite(vectors[i]))
            return mote_fail(MOTE_E_INVALID, "memory: %s: %s: chunk %zu's vector is not finite", st->path, d->source,
                             i / (size_t)c->dim);
    return MOTE_OK;
}

/* ------------------------------------------------------------------------
 * The transaction's body
 * ---------------------------------------------------------------------- */

static void bind_opt_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v) sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
    else sqlite3_bind_null(s, i);
}

static mote_status write_source(put_ctx *c)
{
    const mem_doc *d = c->doc;
    sqlite3_stmt *s = c->s[ST_SOURCE];
    sqlite3_bind_text(s, 1, d->source, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, mem_kind_name(d->kind), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, c->stamp->hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, c->stamp->size);
    sqlite3_bind_int64(s, 5, c->stamp->mtime);
    sqlite3_bind_int64(s, 6, mem_store_now());
    sqlite3_bind_int(s, 7, d->n_chunks);
    sqlite3_bind_int64(s, 8, (sqlite3_int64)d->n_readings);
    bind_opt_text(s, 9, d->warnings);
    MOTE_TRY(run(c, ST_SOURCE, "writing the source"));
    sqlite3_bind_int64(c->s[ST_CHUNKS], 1, c->source_id);
    MOTE_TRY(run(c, ST_CHUNKS, "deleting the old chunks"));
    sqlite3_bind_int64(c->s[ST_READINGS], 1, c->source_id);
    return run(c, ST_READINGS, "deleting the old readings");
}

static mote_status write_chunks(put_ctx *c)
{
    const mem_doc *d = c->doc;
    sqlite3_stmt *s = c->s[ST_CHUNK], *v = c->s[ST_VECTOR];
    for (int i = 0; i < d->n_chunks; i++) {
        const mem_chunk *k = &d->chunks[i];
        char hash[MEM_HASH_HEX + 1];
        mem_hash_bytes(k->text, strlen(k->text), hash);
        sqlite3_bind_int64(s, 1, c->source_id);
        sqlite3_bind_int(s, 2, i);
        sqlite3_bind_text(s, 3, k->text, -1, SQLITE_STATIC);
        bind_opt_text(s, 4, k->title);
        sqlite3_bind_int(s, 5, k->line_lo);
        sqlite3_bind_int(s, 6, k->line_hi);
        bind_opt_text(s, 7, k->msg_id);
        sqlite3_bind_int64(s, 8, k->t_lo);
        sqlite3_bind_int64(s, 9, k->t_hi);
        sqlite3_bind_text(s, 10, hash, -1, SQLITE_TRANSIENT);
        MOTE_TRY(run(c, ST_CHUNK, "writing a chunk"));
        c->chunk_ids[i] = sqlite3_last_insert_rowid(c->st->db);
        if (c->dim == 0) continue;
        sqlite3_bind_int64(v, 1, c->chunk_ids[i]);
        sqlite3_bind_blob(v, 2, c->q + (size_t)i * (size_t)c->dim, c->dim, SQLITE_STATIC);
        sqlite3_bind_double(v, 3, c->scale[i]);
        MOTE_TRY(run(c, ST_VECTOR, "writing a vector"));
    }
    return MOTE_OK;
}

static mote_status write_readings(put_ctx *c)
{
    const mem_doc *d = c->doc;
    sqlite3_stmt *s = c->s[ST_READING];
    for (size_t i = 0; i < d->n_readings; i++) {
        sqlite3_bind_int64(s, 1, c->source_id);
        sqlite3_bind_text(s, 2, d->readings[i].series, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, d->readings[i].t_ms);
        sqlite3_bind_double(s, 4, d->readings[i].value);
        MOTE_TRY(run(c, ST_READING, "writing a reading"));
    }
    return MOTE_OK;
}

static mote_status write_meta(put_ctx *c, const char *key, int64_t value)
{
    sqlite3_stmt *s = c->s[ST_META];
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, value);
    return run(c, ST_META, "writing the store's state");
}

static mote_status transaction(put_ctx *c, int64_t stored_dim)
{
    for (int i = 0; i < N_ST; i++)
        if (sqlite3_prepare_v2(c->st->db, put_sql[i], -1, &c->s[i], NULL) != SQLITE_OK) return put_fail(c, "preparing");
    MOTE_TRY(exec(c, "BEGIN IMMEDIATE", "starting the update"));
    mote_status rc = write_source(c);
    if (rc == MOTE_OK) rc = write_chunks(c);
    if (rc == MOTE_OK) rc = write_readings(c);
    if (rc == MOTE_OK && c->dim && !stored_dim) rc = write_meta(c, "embed_dim", c->dim);
    if (rc == MOTE_OK) rc = write_meta(c, "updated_at", mem_store_now());
    if (rc == MOTE_OK) rc = exec(c, "COMMIT", "committing");
    if (rc != MOTE_OK) sqlite3_exec(c->st->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* ------------------------------------------------------------------------
 * The in-memory vectors, after the commit
 * ---------------------------------------------------------------------- */

static void update_index(put_ctx *c)
{
    mem_vec_index *ix = &c->st->vec;
    mem_vec_drop_source(ix, c->source_id);
    if (c->dim == 0 || c->doc->n_chunks == 0) return;
    if (ix->dim == 0) ix->dim = c->dim;
    mote_status rc = mem_vec_source_set(ix, c->source_id, c->doc->source, (int)c->doc->kind);
    for (int i = 0; rc == MOTE_OK && i < c->doc->n_chunks; i++)
        rc = mem_vec_add(ix, c->chunk_ids[i], c->source_id, c->q + (size_t)i * (size_t)c->dim, c->scale[i],
                         c->doc->chunks[i].t_lo, c->doc->chunks[i].t_hi);
    /* out of memory here: the database is right; reload it before the next search */
    if (rc != MOTE_OK) c->st->vec_stale = 1;
}

mote_status mem_store_put(mem_store *st, const mem_doc *doc, const mem_source_stamp *stamp, const float *vectors,
                          int dim)
{
    if (!st || !doc) return mote_fail(MOTE_E_INVALID, "memory: mem_store_put: NULL store or document");
    const int64_t stored_dim = mem_store_meta_int(st, "embed_dim", 0);
    put_ctx c = {.st = st, .doc = doc, .stamp = stamp, .dim = dim};
    MOTE_TRY(validate(&c, vectors, stored_dim));
    const size_t n = (size_t)doc->n_chunks;
    c.chunk_ids = malloc((n ? n : 1) * sizeof *c.chunk_ids);
    c.q = malloc(n * (size_t)dim + 1);
    c.scale = malloc((n ? n : 1) * sizeof *c.scale);
    mote_status rc = MOTE_OK;
    if (!c.chunk_ids || !c.q || !c.scale) rc = mote_fail(MOTE_E_NOMEM, "memory: %s: out of memory", st->path);
    for (size_t i = 0; rc == MOTE_OK && dim && i < n; i++)
        mem_vec_quantize(vectors + i * (size_t)dim, dim, c.q + i * (size_t)dim, &c.scale[i]);
    if (rc == MOTE_OK) rc = transaction(&c, stored_dim);
    for (int i = 0; i < N_ST; i++) sqlite3_finalize(c.s[i]);
    if (rc == MOTE_OK) update_index(&c);
    free(c.chunk_ids);
    free(c.q);
    free(c.scale);
    return rc;
}

/* ------------------------------------------------------------------------
 * Vectors a changed file already has
 * ---------------------------------------------------------------------- */

/* A stored chunk's text hash and vector. */
typedef struct known_row {
    char hash[MEM_HASH_HEX + 1];
    float scale;
    int8_t *q; /* dim bytes (into the rows' block) */
} known_row;

static int by_hash(const void *a, const void *b)
{
    return strcmp(((const known_row *)a)->hash, ((const known_row *)b)->hash);
}

/* The stored chunks of path that have a vector of dim bytes, sorted by
 * hash: *out (rows) and *block (their bytes), both malloc'd. */
static mote_status load_known(mem_store *st, const char *path, int dim, known_row **out, int8_t **block, int *n)
{
    *out = NULL;
    *block = NULL;
    *n = 0;
    sqlite3_stmt *s;
    MOTE_TRY(mem_store_prepare(st,
                           "SELECT c.hash, v.q, v.scale FROM chunks c JOIN vectors v ON v.chunk_id = c.id "
                           "JOIN sources s ON s.id = c.source_id WHERE s.path = ?1 AND length(v.q) = ?2",
                           &s, "reading stored vectors"));
    sqlite3_bind_text(s, 1, path, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, dim);
    known_row *rows = NULL;
    int8_t *bytes = NULL;
    int count = 0, cap = 0, step;
    mote_status rc = MOTE_OK;
    while (rc == MOTE_OK && (step = sqlite3_step(s)) == SQLITE_ROW) {
        if (count == cap) {
            cap = cap ? 2 * cap : 64;
            known_row *r = realloc(rows, (size_t)cap * sizeof *r);
            int8_t *b = r ? realloc(bytes, (size_t)cap * (size_t)dim) : NULL;
            if (r) rows = r;
            if (b) bytes = b;
            if (!r || !b) {
                rc = mote_fail(MOTE_E_NOMEM, "memory: %s: out of memory", st->path);
                break;
            }
        }
        const char *h = (const char *)sqlite3_column_text(s, 0);
        snprintf(rows[count].hash, sizeof rows[count].hash, "%s", h ? h : "");
        rows[count].scale = (float)sqlite3_column_double(s, 2);
        memcpy(bytes + (size_t)count * (size_t)dim, sqlite3_column_blob(s, 1), (size_t)dim);
        count++;
    }
    if (rc == MOTE_OK && step != SQLITE_DONE) rc = mem_store_fail(st, "reading stored vectors");
    sqlite3_finalize(s);
    if (rc != MOTE_OK) {
        free(rows);
        free(bytes);
        return rc;
    }
    for (int i = 0; i < count; i++) rows[i].q = bytes + (size_t)i * (size_t)dim; /* after the last realloc */
    if (count > 1) qsort(rows, (size_t)count, sizeof *rows, by_hash);
    *out = rows;
    *block = bytes;
    *n = count;
    return MOTE_OK;
}

mote_status mem_store_known_vectors(mem_store *st, const mem_doc *doc, int dim, float *vectors, int *known,
                                    int *n_known)
{
    if (n_known) *n_known = 0;
    if (!st || !doc || !doc->source || dim < 1 || dim > I8_DOT_DIM_MAX || (doc->n_chunks > 0 && (!vectors || !known)) ||
        !n_known)
        return mote_fail(MOTE_E_INVALID, "memory: mem_store_known_vectors: bad argument");
    for (int i = 0; i < doc->n_chunks; i++) known[i] = 0;
    known_row *rows;
    int8_t *block;
    int n;
    MOTE_TRY(load_known(st, doc->source, dim, &rows, &block, &n));
    for (int i = 0; i < doc->n_chunks && n > 0; i++) {
        if (!doc->chunks[i].text) continue;
        known_row key;
        mem_hash_bytes(doc->chunks[i].text, strlen(doc->chunks[i].text), key.hash);
        const known_row *r = bsearch(&key, rows, (size_t)n, sizeof *rows, by_hash);
        if (!r) continue;
        float *x = vectors + (size_t)i * (size_t)dim;
        for (int j = 0; j < dim; j++) x[j] = (float)r->q[j] * r->scale;
        known[i] = 1;
        (*n_known)++;
    }
    free(rows);
    free(block);
    return MOTE_OK;
}
