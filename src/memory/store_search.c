/*
 * store_search.c — searching the memory (store.h's mem_store_search):
 * the BM25 ranking from FTS5, the vector ranking from the in-memory index
 * (store_vec.h), their fusion (rank.h), and the hits' citations.
 *
 * Each ranking is a list of the best mem_search_candidates(k) chunks that
 * pass the filters; BM25 mode returns the head of the first, vector mode
 * of the second, hybrid mode the head of their reciprocal rank fusion.
 * Only the final k hits are read back from the database.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "memory/fts_query.h"
#include "memory/rank.h"
#include "memory/store_db.h"

/* Candidates per ranking: MIN_CANDIDATES, or PER_HIT for each hit asked
 * for when that is more (fusion looks well past each list's top k: a
 * chunk ranked 30th by both lists can beat one ranked 1st by one). */
#define MIN_CANDIDATES 50
#define PER_HIT 4

int mem_search_candidates(int k)
{
    return k * PER_HIT > MIN_CANDIDATES ? k * PER_HIT : MIN_CANDIDATES;
}

/* One ranking: chunk ids best first, with their scores. */
typedef struct ranking {
    int64_t *id;   /* (n) chunk ids */
    double *score; /* (n) BM25: -bm25(); vector: approximate cosine */
    int n;
} ranking;

/* ------------------------------------------------------------------------
 * BM25
 * ---------------------------------------------------------------------- */

/* With a filter: the chunk's row and its source's are read for every
 * match, which costs more than the ranking itself. */
static const char bm25_filtered_sql[] =
    "SELECT c.id, bm25(chunks_fts) FROM chunks_fts "
    "JOIN chunks c ON c.id = chunks_fts.rowid JOIN sources s ON s.id = c.source_id "
    "WHERE chunks_fts MATCH ?1 "
    "AND (?2 IS NULL OR substr(CAST(s.path AS BLOB), 1, length(CAST(?2 AS BLOB))) = CAST(?2 AS BLOB)) "
    "AND (?3 IS NULL OR s.kind = ?3) "
    /* the time filter, as mem_time_overlaps */
    "AND (?4 = 0 OR (NOT (c.t_lo = 0 AND c.t_hi = 0) AND c.t_lo < ?6 "
    "     AND (CASE WHEN c.t_hi > c.t_lo THEN c.t_hi ELSE c.t_lo + 1 END) > ?5)) "
    "ORDER BY bm25(chunks_fts), c.id LIMIT ?7";

/* Without one, the index alone: its rowid is the chunk's id (external
 * content, store.c), and every indexed row is a chunk. */
static const char bm25_sql[] =
    "SELECT rowid, bm25(chunks_fts) FROM chunks_fts WHERE chunks_fts MATCH ?1 "
    "ORDER BY bm25(chunks_fts), rowid LIMIT ?7";

static int has_filter(const mem_query *q)
{
    return (q->path_prefix && q->path_prefix[0]) || q->kind >= 0 || q->has_time;
}

/* The best n chunks for one FTS5 query, appended to out. */
static mote_status bm25_run(mem_store *st, const mem_query *q, const char *match, int n, ranking *out)
{
    const int filtered = has_filter(q);
    sqlite3_stmt *s;
    MOTE_TRY(mem_store_prepare(st, filtered ? bm25_filtered_sql : bm25_sql, &s, "full-text search"));
    sqlite3_bind_text(s, 1, match, -1, SQLITE_STATIC);
    if (filtered) {
        if (q->path_prefix && q->path_prefix[0]) sqlite3_bind_text(s, 2, q->path_prefix, -1, SQLITE_STATIC);
        if (q->kind >= 0) sqlite3_bind_text(s, 3, mem_kind_name((enum mem_kind)q->kind), -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 4, q->has_time != 0);
        sqlite3_bind_int64(s, 5, q->t_lo);
        sqlite3_bind_int64(s, 6, q->t_hi);
    }
    sqlite3_bind_int(s, 7, n);
    int step;
    mote_status rc = MOTE_OK;
    while ((step = sqlite3_step(s)) == SQLITE_ROW && out->n < n) {
        out->id[out->n] = sqlite3_column_int64(s, 0);
        out->score[out->n++] = -sqlite3_column_double(s, 1);
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE) rc = mem_store_fail(st, "full-text search");
    sqlite3_finalize(s);
    return rc;
}

static mote_status bm25_ranking(mem_store *st, const mem_query *q, int n, ranking *out)
{
    const size_t len = q->text ? strlen(q->text) : 0;
    unsigned char skip[MEM_FTS_TERMS_MAX];
    int all_common, n_terms;
    /* words too common to be worth scoring (store_terms.c) */
    mem_store_common_words(st, q->text, len, skip, &all_common);
    mote_status rc = MOTE_OK;
    if (all_common) { /* common words only: the chunks holding them all first */
        char *match = mem_fts_query_except(q->text, len, NULL, 1, &n_terms);
        if (!match) return mote_fail(MOTE_E_NOMEM, "memory: out of memory");
        rc = bm25_run(st, q, match, n, out);
        free(match);
        if (rc != MOTE_OK || out->n == n) return rc;
        out->n = 0; /* too few: the whole OR query */
    }
    char *match = mem_fts_query_except(q->text, len, skip, 0, &n_terms);
    if (!match) return mote_fail(MOTE_E_NOMEM, "memory: out of memory");
    if (n_terms > 0) rc = bm25_run(st, q, match, n, out); /* else blank text: nothing to rank */
    free(match);
    return rc;
}

/* ------------------------------------------------------------------------
 * Vectors
 * ---------------------------------------------------------------------- */

/* Reload the vectors if another connection committed since they were
 * read (or an update of ours could not be applied to them). */
static mote_status refresh_vectors(mem_store *st)
{
    const int64_t dv = mem_store_data_version(st);
    if (!st->vec_stale && dv == st->data_version && dv >= 0) return MOTE_OK;
    mote_status rc = mem_vec_load(&st->vec, st->db);
    if (rc != MOTE_OK) {
        st->vec_stale = 1;
        return mote_fail_prefix(rc, "memory: %s: ", st->path);
    }
    st->vec_stale = 0;
    st->data_version = dv;
    return MOTE_OK;
}

static mote_status vector_ranking(mem_store *st, const mem_query *q, int n, ranking *out)
{
    if (!q->vec || st->vec.n == 0) return MOTE_OK;
    mem_vec_hit *h = malloc((size_t)n * sizeof *h);
    if (!h) return mote_fail(MOTE_E_NOMEM, "memory: out of memory");
    const mem_vec_filter f = {
        .path_prefix = q->path_prefix, .kind = q->kind, .has_time = q->has_time, .t_lo = q->t_lo, .t_hi = q->t_hi};
    size_t got;
    const mote_status rc = mem_vec_search(&st->vec, q->vec, &f, h, (size_t)n, &got);
    if (rc == MOTE_OK)
        for (size_t i = 0; i < got; i++) {
            out->id[i] = h[i].chunk;
            out->score[i] = h[i].score;
        }
    out->n = rc == MOTE_OK ? (int)got : 0;
    free(h);
    return rc == MOTE_OK ? MOTE_OK : mote_fail_prefix(rc, "memory: %s: vector search: ", st->path);
}

/* ------------------------------------------------------------------------
 * Hits
 * ---------------------------------------------------------------------- */

void mem_hits_free(mem_hit *hits, int n)
{
    if (!hits) return;
    for (int i = 0; i < n; i++) {
        free(hits[i].source);
        free(hits[i].title);
        free(hits[i].msg_id);
        free(hits[i].text);
        hits[i] = (mem_hit){0};
    }
}

static char *dup_col(sqlite3_stmt *s, int col, int *oom)
{
    const char *t = (const char *)sqlite3_column_text(s, col);
    if (!t) return NULL;
    char *d = strdup(t);
    if (!d) *oom = 1;
    return d;
}

/* Fill in hit's citation from the database; *found 0 if the chunk is no
 * longer there (removed by another process since the ranking). */
static mote_status read_hit(mem_store *st, sqlite3_stmt *s, mem_hit *h, int *found)
{
    sqlite3_bind_int64(s, 1, h->chunk_id);
    const int step = sqlite3_step(s);
    *found = step == SQLITE_ROW;
    int oom = 0;
    if (*found) {
        h->source = dup_col(s, 0, &oom);
        const int kind = mem_kind_from_name((const char *)sqlite3_column_text(s, 1));
        h->kind = kind >= 0 ? (enum mem_kind)kind : MEM_TEXT;
        h->title = dup_col(s, 2, &oom);
        h->line_lo = sqlite3_column_int(s, 3);
        h->line_hi = sqlite3_column_int(s, 4);
        h->msg_id = dup_col(s, 5, &oom);
        h->t_lo = sqlite3_column_int64(s, 6);
        h->t_hi = sqlite3_column_int64(s, 7);
        h->text = dup_col(s, 8, &oom);
        if (!h->source || !h->text) oom = 1;
    }
    sqlite3_reset(s);
    if (oom) return mote_fail(MOTE_E_NOMEM, "memory: out of memory");
    return step == SQLITE_ROW || step == SQLITE_DONE ? MOTE_OK : mem_store_fail(st, "reading a hit");
}

/* Fill in the citations of hits[0..n), dropping vanished chunks. */
static mote_status read_hits(mem_store *st, mem_hit *hits, int n, int *n_hits)
{
    sqlite3_stmt *s;
    MOTE_TRY(mem_store_prepare(st,
                           "SELECT s.path, s.kind, c.title, c.line_lo, c.line_hi, c.msg_id, c.t_lo, c.t_hi, c.text "
                           "FROM chunks c JOIN sources s ON s.id = c.source_id WHERE c.id = ?1",
                           &s, "reading hits"));
    mote_status rc = MOTE_OK;
    int kept = 0;
    for (int i = 0; i < n && rc == MOTE_OK; i++) {
        mem_hit h = hits[i];
        int found = 0;
        rc = read_hit(st, s, &h, &found);
        if (rc != MOTE_OK) mem_hits_free(&h, 1);
        else if (found) hits[kept++] = h;
    }
    sqlite3_finalize(s);
    if (rc != MOTE_OK) {
        mem_hits_free(hits, kept);
        kept = 0;
    }
    *n_hits = kept;
    return rc;
}

/* ------------------------------------------------------------------------
 * The search
 * ---------------------------------------------------------------------- */

static mote_status check_query(mem_store *st, const mem_query *q, int k)
{
    if (k < 1 || k > MEM_SEARCH_K_MAX)
        return mote_fail(MOTE_E_INVALID, "memory: search: k must be 1 to %d, not %d", MEM_SEARCH_K_MAX, k);
    if (q->mode != MEM_SEARCH_HYBRID && q->mode != MEM_SEARCH_BM25 && q->mode != MEM_SEARCH_VECTOR)
        return mote_fail(MOTE_E_INVALID, "memory: search: unknown mode %d", (int)q->mode);
    if (q->kind < -1 || q->kind > MEM_SENSOR)
        return mote_fail(MOTE_E_INVALID, "memory: search: unknown kind %d", q->kind);
    if (q->mode == MEM_SEARCH_VECTOR && !q->vec)
        return mote_fail(MOTE_E_INVALID, "memory: search: a vector search needs a query vector");
    if (!q->vec || q->mode == MEM_SEARCH_BM25) return MOTE_OK;
    if (q->dim < 1 || (st->vec.dim && q->dim != st->vec.dim))
        return mote_fail(MOTE_E_INVALID,
                         "memory: %s: the query vector has %d dims, the stored vectors %d (another embedding model?)",
                         st->path, q->dim, st->vec.dim);
    for (int i = 0; i < q->dim; i++)
        if (!isfinite(q->vec[i])) return mote_fail(MOTE_E_INVALID, "memory: search: the query vector is not finite");
    return MOTE_OK;
}

/* The head of one ranking as hits (list a: BM25, b: vector). */
static int hits_from(const ranking *r, int is_bm25, mem_hit *hits, int k)
{
    const int n = r->n < k ? r->n : k;
    for (int i = 0; i < n; i++)
        hits[i] = (mem_hit){.chunk_id = r->id[i], .score = r->score[i], .rank_bm25 = is_bm25 ? i + 1 : 0,
                            .rank_vec = is_bm25 ? 0 : i + 1};
    return n;
}

static mote_status fuse(const ranking *a, const ranking *b, mem_hit *hits, int k, int *n)
{
    mem_fused *f = malloc((size_t)(a->n + b->n + 1) * sizeof *f);
    if (!f) return mote_fail(MOTE_E_NOMEM, "memory: out of memory");
    const int total = mem_rrf(a->id, a->n, b->id, b->n, f);
    *n = total < k ? total : k;
    for (int i = 0; i < *n; i++)
        hits[i] = (mem_hit){.chunk_id = f[i].id, .score = f[i].score, .rank_bm25 = f[i].rank_a,
                            .rank_vec = f[i].rank_b};
    free(f);
    return MOTE_OK;
}

mote_status mem_store_search(mem_store *st, const mem_query *q, mem_hit *hits, int k, int *n_hits)
{
    if (n_hits) *n_hits = 0;
    if (!st || !q || !hits || !n_hits) return mote_fail(MOTE_E_INVALID, "memory: mem_store_search: NULL argument");
    MOTE_TRY(refresh_vectors(st));
    MOTE_TRY(check_query(st, q, k));
    const int n = mem_search_candidates(k);
    ranking a = {0}, b = {0};
    a.id = malloc((size_t)n * sizeof *a.id);
    a.score = malloc((size_t)n * sizeof *a.score);
    b.id = malloc((size_t)n * sizeof *b.id);
    b.score = malloc((size_t)n * sizeof *b.score);
    mote_status rc = MOTE_OK;
    if (!a.id || !a.score || !b.id || !b.score) rc = mote_fail(MOTE_E_NOMEM, "memory: out of memory");
    if (rc == MOTE_OK && q->mode != MEM_SEARCH_VECTOR) rc = bm25_ranking(st, q, n, &a);
    if (rc == MOTE_OK && q->mode != MEM_SEARCH_BM25) rc = vector_ranking(st, q, n, &b);
    int got = 0;
    if (rc == MOTE_OK) {
        if (q->mode == MEM_SEARCH_BM25) got = hits_from(&a, 1, hits, k);
        else if (q->mode == MEM_SEARCH_VECTOR) got = hits_from(&b, 0, hits, k);
        else rc = fuse(&a, &b, hits, k, &got);
    }
    if (rc == MOTE_OK) rc = read_hits(st, hits, got, n_hits);
    free(a.id);
    free(a.score);
    free(b.id);
    free(b.score);
    return rc;
}
