/*
 * store_terms.c — which of a query's words are too common to be worth
 * searching (store_db.h's mem_store_common_words).
 *
 * FTS5 scores every chunk that holds any of the words (the query is an
 * OR of them, fts_query.h), so one word held by a third of 100000 chunks
 * costs bm25() over 30000+ rows, tens of milliseconds, while it adds
 * little to the ranking: BM25's IDF for a word in a fraction f of the
 * chunks is log((1 - f) / f) (FTS5 clamps it to 1e-6 from f = 1/2 on),
 * at most log 4 = 1.4 for f > 1/5, against 4.6 and more for a word in
 * under 1% of them. So when a query also has rarer words that some chunk
 * holds, its words held by more than 1/MEM_COMMON_DIV of the chunks (and
 * more than MEM_COMMON_MIN_DOCS: a small memory is searched whole) are
 * left out: the ranking is that of the rarer words (chunks that hold only
 * common words drop off the tail of the candidates). A query whose other
 * words no chunk holds is searched whole. A query of two or more common
 * words only is searched first for the chunks that hold all of them (AND:
 * the intersection of the words' lists, far fewer rows; each keeps the
 * score the OR query gives it, as bm25() scores each word on its own),
 * and whole only if fewer than the candidates wanted hold them all: the
 * chunks with every word rank first, by BM25 among themselves.
 *
 * Document frequencies come from an fts5vocab table over chunks_fts
 * (created in the temp schema: nothing in the file changes); the words
 * are turned into the index's tokens by the table's own tokenizer
 * (MEM_FTS_TOKENIZE), fetched through the fts5_api (SQLite's documented
 * "SELECT fts5(?1)" with a pointer). The row count is the one bm25() uses,
 * from FTS5's averages record. Anything unexpected (no fts5_api, a record
 * that does not parse) means no word is left out.
 */
#include <string.h>

#include "memory/fts_query.h"
#include "memory/store_db.h"

/* What of fts5.h (SQLite's public FTS5 extension header, which the
 * system's sqlite3 package does not install) is used here: the start of
 * fts5_api version 2, as that header declares it (fts5_tokenizer is
 * store_db.h's struct mem_fts5_tokenizer). */
typedef struct fts5_api_head {
    int iVersion; /* 2 or more */
    int (*xCreateTokenizer)(struct fts5_api_head *, const char *, void *, struct mem_fts5_tokenizer *,
                            void (*)(void *));
    int (*xFindTokenizer)(struct fts5_api_head *, const char *zName, void **ppUserData,
                          struct mem_fts5_tokenizer *pTokenizer);
} fts5_api_head;

#define FTS5_TOKENIZE_QUERY 0x0001 /* fts5.h: tokenizing a query */
#define MEM_COMMON_DIV 5           /* a word in more than 1/5 of the chunks is common... */
#define MEM_COMMON_MIN_DOCS 2000   /* ...and in more than this many: scoring fewer costs ~1 ms */
#define TOKEN_MAX 256              /* longer tokens are not looked up (taken as in no chunk) */

/* ------------------------------------------------------------------------
 * The tokenizer
 * ---------------------------------------------------------------------- */

/* The tokenizer of chunks_fts, made once per store; 0 if FTS5 has none. */
static int need_tokenizer(mem_store *st)
{
    if (st->fts_tok) return 1;
    if (st->fts_tok_failed) return 0;
    st->fts_tok_failed = 1;
    fts5_api_head *api = NULL;
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db, "SELECT fts5(?1)", -1, &s, NULL) != SQLITE_OK) return 0;
    sqlite3_bind_pointer(s, 1, (void *)&api, "fts5_api_ptr", NULL);
    sqlite3_step(s);
    sqlite3_finalize(s);
    if (!api || api->iVersion < 2) return 0;
    /* MEM_FTS_TOKENIZE, "porter unicode61 remove_diacritics 2": porter
     * wrapping the rest */
    static const char *args[] = {"unicode61", "remove_diacritics", "2"};
    void *ud = NULL;
    if (api->xFindTokenizer(api, "porter", &ud, &st->fts_tok_api) != SQLITE_OK) return 0;
    if (st->fts_tok_api.xCreate(ud, args, 3, &st->fts_tok) != SQLITE_OK) {
        st->fts_tok = NULL;
        return 0;
    }
    st->fts_tok_failed = 0;
    return 1;
}

void mem_store_terms_free(mem_store *st)
{
    if (st->fts_tok) st->fts_tok_api.xDelete(st->fts_tok);
    st->fts_tok = NULL;
    sqlite3_finalize(st->vocab_stmt);
    st->vocab_stmt = NULL;
}

/* ------------------------------------------------------------------------
 * Document frequencies
 * ---------------------------------------------------------------------- */

/* A varint of SQLite's format (fts5's averages record uses it) at p (n
 * bytes); the bytes read, or 0. */
static int get_varint(const unsigned char *p, int n, int64_t *v)
{
    uint64_t x = 0;
    for (int i = 0; i < 9 && i < n; i++) {
        if (i == 8) {
            *v = (int64_t)((x << 8) | p[i]);
            return 9;
        }
        x = (x << 7) | (p[i] & 0x7f);
        if (!(p[i] & 0x80)) {
            *v = (int64_t)x;
            return i + 1;
        }
    }
    return 0;
}

/* The rows of chunks_fts as bm25() counts them: the first varint of the
 * averages record (id 1 of chunks_fts_data, fts5_index.c). -1 if absent. */
static int64_t fts_rows(mem_store *st)
{
    sqlite3_stmt *s;
    int64_t n = -1;
    if (sqlite3_prepare_v2(st->db, "SELECT block FROM chunks_fts_data WHERE id = 1", -1, &s, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(s) == SQLITE_ROW) {
        const unsigned char *p = sqlite3_column_blob(s, 0);
        const int bytes = sqlite3_column_bytes(s, 0);
        if (!p || get_varint(p, bytes, &n) == 0) n = -1;
    }
    sqlite3_finalize(s);
    return n;
}

typedef struct df_ctx {
    mem_store *st;
    int64_t min_df; /* the least document frequency of the word's tokens so far, -1: none yet */
    int failed;
} df_ctx;

static int on_token(void *user, int tflags, const char *tok, int n, int start, int end)
{
    (void)tflags, (void)start, (void)end;
    df_ctx *c = user;
    int64_t df = n > TOKEN_MAX ? 0 : -1;
    if (df < 0) {
        sqlite3_stmt *s = c->st->vocab_stmt;
        sqlite3_bind_text(s, 1, tok, n, SQLITE_STATIC);
        const int step = sqlite3_step(s);
        df = step == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
        if (step != SQLITE_ROW && step != SQLITE_DONE) c->failed = 1;
        sqlite3_reset(s);
    }
    if (c->min_df < 0 || df < c->min_df) c->min_df = df;
    return c->failed ? SQLITE_ERROR : SQLITE_OK;
}

static int need_vocab(mem_store *st)
{
    if (st->vocab_stmt) return 1;
    static const char ddl[] =
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.chunks_fts_vocab USING fts5vocab(main, chunks_fts, row)";
    if (sqlite3_exec(st->db, ddl, NULL, NULL, NULL) != SQLITE_OK)
        return 0;
    return sqlite3_prepare_v2(st->db, "SELECT doc FROM temp.chunks_fts_vocab WHERE term = ?1", -1, &st->vocab_stmt,
                              NULL) == SQLITE_OK;
}

/* ------------------------------------------------------------------------
 * The words to leave out
 * ---------------------------------------------------------------------- */

int mem_store_common_words(mem_store *st, const char *text, size_t len, unsigned char *skip, int *all_common)
{
    size_t start[MEM_FTS_TERMS_MAX], wlen[MEM_FTS_TERMS_MAX];
    const int n = mem_fts_words(text, len, start, wlen);
    memset(skip, 0, MEM_FTS_TERMS_MAX);
    *all_common = 0;
    if (n < 2 || !need_tokenizer(st) || !need_vocab(st)) return 0;
    const int64_t rows = fts_rows(st);
    if (rows <= 0) return 0;
    const int64_t min_docs = st->common_min_docs > 0 ? st->common_min_docs : MEM_COMMON_MIN_DOCS;
    int common = 0, rare = 0, other = 0;
    for (int i = 0; i < n; i++) {
        df_ctx c = {.st = st, .min_df = -1};
        if (wlen[i] > MEM_FTS_TEXT_MAX ||
            st->fts_tok_api.xTokenize(st->fts_tok, &c, FTS5_TOKENIZE_QUERY, text + start[i], (int)wlen[i], on_token) !=
                SQLITE_OK ||
            c.failed)
            return 0;
        /* a phrase is held by no more chunks than its rarest token */
        if (c.min_df > rows / MEM_COMMON_DIV && c.min_df > min_docs) skip[i] = 1, common++;
        else if (c.min_df > 0) rare++;
        else other++; /* no tokens, or held by no chunk: matches nothing either way */
    }
    if (!rare || !common) {
        memset(skip, 0, MEM_FTS_TERMS_MAX);
        *all_common = common >= 2 && !other;
        return 0;
    }
    return common;
}
