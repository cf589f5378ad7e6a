/*
 * store_vec.c — the in-memory vector index (store_vec.h): quantisation,
 * loading, keeping in step, and the filtered top-n scan.
 */
#include "memory/store_vec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "kernels/dot_i8.h"
#include "memory/doc.h"

#define ROW_ALIGN 64    /* the matrix's alignment: 64-byte rows never straddle cache lines */
#define MIN_ROWS 256    /* first allocation */

/* ------------------------------------------------------------------------
 * Quantisation
 * ---------------------------------------------------------------------- */

void mem_vec_quantize(const float *x, int dim, int8_t *q, float *scale)
{
    float amax = 0;
    for (int i = 0; i < dim; i++) amax = fmaxf(amax, fabsf(x[i]));
    if (amax == 0) {
        memset(q, 0, (size_t)dim);
        *scale = 0;
        return;
    }
    const float inv = 127.0f / amax;
    for (int i = 0; i < dim; i++) {
        float v = roundf(x[i] * inv);
        v = v > 127 ? 127 : v < -127 ? -127 : v;
        q[i] = (int8_t)v;
    }
    *scale = amax / 127.0f;
}

/* ------------------------------------------------------------------------
 * Storage
 * ---------------------------------------------------------------------- */

void mem_vec_free(mem_vec_index *ix)
{
    free(ix->q);
    free(ix->scale);
    free(ix->chunk);
    free(ix->src);
    free(ix->t_lo);
    free(ix->t_hi);
    free(ix->dots);
    for (size_t i = 0; i < ix->n_sources; i++) free(ix->sources[i].path);
    free(ix->sources);
    *ix = (mem_vec_index){0};
}

/* Room for at least want rows (of ix->dim). */
static mote_status reserve(mem_vec_index *ix, size_t want)
{
    if (want <= ix->cap) return MOTE_OK;
    size_t cap = ix->cap ? ix->cap : MIN_ROWS;
    while (cap < want) cap *= 2;
    const size_t qbytes = (cap * (size_t)ix->dim + ROW_ALIGN - 1) / ROW_ALIGN * ROW_ALIGN;
    int8_t *q = aligned_alloc(ROW_ALIGN, qbytes ? qbytes : ROW_ALIGN);
    if (!q) return mote_fail(MOTE_E_NOMEM, "out of memory for %zu vectors", cap);
    if (ix->n) memcpy(q, ix->q, ix->n * (size_t)ix->dim);
    free(ix->q);
    ix->q = q;
#define GROW(field)                                                                  \
    do {                                                                             \
        void *p = realloc(ix->field, cap * sizeof *ix->field);                       \
        if (!p) return mote_fail(MOTE_E_NOMEM, "out of memory for %zu vectors", cap); \
        ix->field = p;                                                               \
    } while (0)
    GROW(scale);
    GROW(chunk);
    GROW(src);
    GROW(t_lo);
    GROW(t_hi);
    GROW(dots);
#undef GROW
    ix->cap = cap;
    return MOTE_OK;
}

/* The slot of source id, or -1. */
static long find_source(const mem_vec_index *ix, int64_t id)
{
    for (size_t i = 0; i < ix->n_sources; i++)
        if (ix->sources[i].id == id) return (long)i;
    return -1;
}

/* Put source id in slot (a free one, or -1 for a new one at the end). */
static mote_status put_source(mem_vec_index *ix, long slot, int64_t id, const char *path, int kind)
{
    char *p = strdup(path);
    if (!p) return mote_fail(MOTE_E_NOMEM, "out of memory");
    if (slot < 0) {
        if (ix->n_sources == ix->cap_sources) {
            const size_t cap = ix->cap_sources ? ix->cap_sources * 2 : 64;
            mem_vec_source *s = realloc(ix->sources, cap * sizeof *s);
            if (!s) {
                free(p);
                return mote_fail(MOTE_E_NOMEM, "out of memory");
            }
            ix->sources = s;
            ix->cap_sources = cap;
        }
        slot = (long)ix->n_sources++;
    }
    ix->sources[slot] = (mem_vec_source){.id = id, .path = p, .kind = kind};
    return MOTE_OK;
}

mote_status mem_vec_source_set(mem_vec_index *ix, int64_t id, const char *path, int kind)
{
    if (find_source(ix, id) >= 0) return MOTE_OK;
    return put_source(ix, find_source(ix, 0), id, path, kind); /* a free slot if there is one */
}

static void append_row(mem_vec_index *ix, int64_t chunk, uint32_t src, const int8_t *q, float scale, int64_t t_lo,
                       int64_t t_hi)
{
    const size_t r = ix->n++;
    memcpy(ix->q + r * (size_t)ix->dim, q, (size_t)ix->dim);
    ix->scale[r] = scale;
    ix->chunk[r] = chunk;
    ix->src[r] = src;
    ix->t_lo[r] = t_lo;
    ix->t_hi[r] = t_hi;
}

mote_status mem_vec_add(mem_vec_index *ix, int64_t chunk, int64_t source, const int8_t *q, float scale,
                        int64_t t_lo, int64_t t_hi)
{
    long slot = ix->last_slot < ix->n_sources && ix->sources[ix->last_slot].id == source ? (long)ix->last_slot : -1;
    if (slot < 0) slot = find_source(ix, source);
    if (slot < 0) return mote_fail(MOTE_E_INVALID, "vector of chunk %lld: unknown source %lld", (long long)chunk,
                                   (long long)source);
    ix->last_slot = (size_t)slot;
    MOTE_TRY(reserve(ix, ix->n + 1));
    append_row(ix, chunk, (uint32_t)slot, q, scale, t_lo, t_hi);
    return MOTE_OK;
}

/* Rows leave by moving the last row into their place: the order of rows
 * carries no meaning (a search orders its hits by score, then chunk id). */
void mem_vec_drop_source(mem_vec_index *ix, int64_t id)
{
    const long slot = find_source(ix, id);
    if (slot < 0) return;
    const size_t d = (size_t)ix->dim;
    for (size_t r = 0; r < ix->n;) {
        if (ix->src[r] != (uint32_t)slot) {
            r++;
            continue;
        }
        const size_t last = --ix->n;
        if (r != last) {
            memcpy(ix->q + r * d, ix->q + last * d, d);
            ix->scale[r] = ix->scale[last];
            ix->chunk[r] = ix->chunk[last];
            ix->src[r] = ix->src[last];
            ix->t_lo[r] = ix->t_lo[last];
            ix->t_hi[r] = ix->t_hi[last];
        }
    }
    free(ix->sources[slot].path);
    ix->sources[slot] = (mem_vec_source){0};
}

/* ------------------------------------------------------------------------
 * Loading
 * ---------------------------------------------------------------------- */

int mem_kind_from_name(const char *name)
{
    for (int k = MEM_TEXT; k <= MEM_SENSOR; k++)
        if (name && strcmp(name, mem_kind_name((enum mem_kind)k)) == 0) return k;
    return -1;
}

/* The slot of source id while the slots are still sorted by id (during a
 * load, before any change), or -1. */
static long find_sorted(const mem_vec_index *ix, int64_t id)
{
    size_t lo = 0, hi = ix->n_sources;
    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        if (ix->sources[mid].id < id) lo = mid + 1;
        else hi = mid;
    }
    return lo < ix->n_sources && ix->sources[lo].id == id ? (long)lo : -1;
}

static mote_status sql_fail(sqlite3 *db, const char *what)
{
    const int rc = sqlite3_errcode(db);
    if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB)
        return mote_fail(MOTE_E_FORMAT, "%s: the database is damaged (%s)", what, sqlite3_errmsg(db));
    return mote_fail(rc == SQLITE_NOMEM ? MOTE_E_NOMEM : rc == SQLITE_IOERR ? MOTE_E_IO : MOTE_E_FORMAT, "%s: %s",
                     what, sqlite3_errmsg(db));
}

static mote_status load_sources(mem_vec_index *ix, sqlite3 *db)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, "SELECT id, path, kind FROM sources ORDER BY id", -1, &s, NULL) != SQLITE_OK)
        return sql_fail(db, "loading sources");
    mote_status rc = MOTE_OK;
    int step;
    /* ids come unique and in order: each goes at the end (no search), and
     * the slots end up sorted by id, as find_sorted needs */
    while (rc == MOTE_OK && (step = sqlite3_step(s)) == SQLITE_ROW) {
        const char *path = (const char *)sqlite3_column_text(s, 1);
        rc = put_source(ix, -1, sqlite3_column_int64(s, 0), path ? path : "",
                        mem_kind_from_name((const char *)sqlite3_column_text(s, 2)));
    }
    if (rc == MOTE_OK && step != SQLITE_DONE) rc = sql_fail(db, "loading sources");
    sqlite3_finalize(s);
    return rc;
}

static mote_status load_rows(mem_vec_index *ix, sqlite3 *db)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db,
                           "SELECT v.chunk_id, c.source_id, v.q, v.scale, c.t_lo, c.t_hi "
                           "FROM vectors v JOIN chunks c ON c.id = v.chunk_id",
                           -1, &s, NULL) != SQLITE_OK)
        return sql_fail(db, "loading vectors");
    mote_status rc = MOTE_OK;
    int step;
    while (rc == MOTE_OK && (step = sqlite3_step(s)) == SQLITE_ROW) {
        const int64_t chunk = sqlite3_column_int64(s, 0);
        const long slot = find_sorted(ix, sqlite3_column_int64(s, 1));
        const void *q = sqlite3_column_blob(s, 2);
        const int bytes = sqlite3_column_bytes(s, 2);
        if (ix->dim == 0) ix->dim = bytes;
        if (slot < 0 || !q || bytes != ix->dim) {
            rc = mote_fail(MOTE_E_FORMAT, "vector of chunk %lld: %d bytes (want %d) or no source", (long long)chunk,
                           bytes, ix->dim);
            break;
        }
        rc = reserve(ix, ix->n + 1);
        if (rc == MOTE_OK)
            append_row(ix, chunk, (uint32_t)slot, q, (float)sqlite3_column_double(s, 3), sqlite3_column_int64(s, 4),
                       sqlite3_column_int64(s, 5));
    }
    if (rc == MOTE_OK && step != SQLITE_DONE) rc = sql_fail(db, "loading vectors");
    sqlite3_finalize(s);
    return rc;
}

mote_status mem_vec_load(mem_vec_index *ix, sqlite3 *db)
{
    mem_vec_free(ix);
    mote_status rc = load_sources(ix, db);
    if (rc == MOTE_OK) rc = load_rows(ix, db);
    if (rc != MOTE_OK) mem_vec_free(ix);
    return rc;
}

/* ------------------------------------------------------------------------
 * Search
 * ---------------------------------------------------------------------- */

int mem_time_overlaps(int64_t t_lo, int64_t t_hi, int64_t lo, int64_t hi)
{
    if (t_lo == 0 && t_hi == 0) return 0;
    const int64_t end = t_hi > t_lo ? t_hi : t_lo + 1;
    return t_lo < hi && end > lo;
}

/* a ranks before b */
static int better(const mem_vec_hit *a, const mem_vec_hit *b)
{
    return a->score > b->score || (a->score == b->score && a->chunk < b->chunk);
}

/* A heap of the n best so far with the worst at h[0]. */
static void sift_down(mem_vec_hit *h, size_t n, size_t i)
{
    for (;;) {
        size_t w = i;
        const size_t l = 2 * i + 1, r = l + 1;
        if (l < n && better(&h[w], &h[l])) w = l;
        if (r < n && better(&h[w], &h[r])) w = r;
        if (w == i) return;
        const mem_vec_hit t = h[i];
        h[i] = h[w];
        h[w] = t;
        i = w;
    }
}

static void sift_up(mem_vec_hit *h, size_t i)
{
    while (i > 0) {
        const size_t p = (i - 1) / 2;
        if (!better(&h[p], &h[i])) return;
        const mem_vec_hit t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

static int by_rank(const void *pa, const void *pb)
{
    const mem_vec_hit *a = pa, *b = pb;
    return better(a, b) ? -1 : better(b, a) ? 1 : 0;
}

mote_status mem_vec_search(mem_vec_index *ix, const float *x, const mem_vec_filter *f, mem_vec_hit *out, size_t n,
                           size_t *n_out)
{
    *n_out = 0;
    if (ix->n == 0 || ix->dim == 0 || n == 0) return MOTE_OK;
    int8_t *qx = malloc((size_t)ix->dim);
    uint8_t *keep = NULL; /* by source slot, when a source filter is set */
    const int by_source = f && ((f->path_prefix && f->path_prefix[0]) || f->kind >= 0);
    if (by_source) keep = calloc(ix->n_sources ? ix->n_sources : 1, 1);
    if (!qx || (by_source && !keep)) {
        free(qx);
        free(keep);
        return mote_fail(MOTE_E_NOMEM, "out of memory");
    }
    float qscale;
    mem_vec_quantize(x, ix->dim, qx, &qscale);
    if (by_source) {
        const size_t plen = f->path_prefix ? strlen(f->path_prefix) : 0;
        for (size_t i = 0; i < ix->n_sources; i++) {
            const mem_vec_source *s = &ix->sources[i];
            keep[i] = s->id != 0 && (plen == 0 || strncmp(s->path, f->path_prefix, plen) == 0) &&
                      (f->kind < 0 || s->kind == f->kind);
        }
    }

    i8_dot_rows(qx, ix->q, ix->n, (size_t)ix->dim, ix->dots);

    size_t kept = 0;
    for (size_t r = 0; r < ix->n; r++) {
        if (keep && !keep[ix->src[r]]) continue;
        if (f && f->has_time && !mem_time_overlaps(ix->t_lo[r], ix->t_hi[r], f->t_lo, f->t_hi)) continue;
        const mem_vec_hit h = {.chunk = ix->chunk[r], .score = (float)ix->dots[r] * qscale * ix->scale[r]};
        if (kept < n) {
            out[kept] = h;
            sift_up(out, kept++);
        } else if (better(&h, &out[0])) {
            out[0] = h;
            sift_down(out, n, 0);
        }
    }
    qsort(out, kept, sizeof *out, by_rank);
    free(qx);
    free(keep);
    *n_out = kept;
    return MOTE_OK;
}
