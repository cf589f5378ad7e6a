/*
 * fuzz_mem_query.c — libFuzzer target for the memory's query quoting
 * (src/memory/fts_query.c): any bytes as the words a user typed, turned
 * into an FTS5 query and run against an in-memory FTS5 table built as the
 * store builds chunks_fts (same columns, same tokenizer).
 *
 * Input: the whole of it is the text, in a buffer of its own with no NUL
 * after it (mem_fts_query takes a length).
 *
 * Contract (fts_query.h):
 * - mem_fts_query returns a query (memory permitting) with 0 to
 *   MEM_FTS_TERMS_MAX words; 0 words exactly when the text (up to
 *   MEM_FTS_TEXT_MAX bytes) has no byte above space other than DEL, and
 *   then the query is "";
 * - the query is "w" OR "w" ... : an even number of '"', the words'
 *   count of " OR " separators;
 * - MATCH with it (and bm25() ordering, as the store's search) runs to
 *   the end without any SQLite error: whatever the bytes, they are words
 *   to FTS5, never syntax;
 * - the same text gives the same query twice;
 * - mem_fts_words finds as many words, each non-empty, inside the text,
 *   in order; the AND form (mem_fts_query_except, all) has the same words
 *   and runs without an error too.
 */
#include <sqlite3.h>
#include <string.h>

#include "fuzz.h"
#include "memory/fts_query.h"

static sqlite3 *db;
static sqlite3_stmt *search;

/* A few rows for the queries to find (or not). */
static const char *const rows[][2] = {
    {"The wifi password is under the router", "Home network"},
    {"Feed the sourdough starter; bake at 230 degrees", "Baking"},
    {"NEAR AND OR NOT \"quoted\" text with * and - and ^", NULL},
    {"caf\xc3\xa9 na\xc3\xafve \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "unicode"},
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK) abort();
    const char *ddl = "CREATE VIRTUAL TABLE f USING fts5(text, title, tokenize='" MEM_FTS_TOKENIZE "')";
    if (sqlite3_exec(db, ddl, NULL, NULL, NULL) != SQLITE_OK) abort();
    sqlite3_stmt *ins;
    if (sqlite3_prepare_v2(db, "INSERT INTO f(text, title) VALUES (?1, ?2)", -1, &ins, NULL) != SQLITE_OK) abort();
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        sqlite3_bind_text(ins, 1, rows[i][0], -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 2, rows[i][1], -1, SQLITE_STATIC);
        if (sqlite3_step(ins) != SQLITE_DONE) abort();
        sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    if (sqlite3_prepare_v2(db, "SELECT rowid, bm25(f) FROM f WHERE f MATCH ?1 ORDER BY bm25(f), rowid LIMIT 10", -1,
                           &search, NULL) != SQLITE_OK)
        abort();
    return 0;
}

/* Whether the text mem_fts_query reads (the first MEM_FTS_TEXT_MAX bytes,
 * less a UTF-8 character cut there) has a byte of a word. */
static int has_word(const uint8_t *data, size_t size)
{
    if (size > MEM_FTS_TEXT_MAX) {
        size = MEM_FTS_TEXT_MAX;
        while (size > 0 && (data[size] & 0xc0) == 0x80) size--;
    }
    for (size_t i = 0; i < size; i++)
        if (data[i] > ' ' && data[i] != 0x7f) return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!db) LLVMFuzzerInitialize(NULL, NULL);
    int n = -1, n2 = -1;
    char *q = mem_fts_query((const char *)data, size, &n);
    fuzz_check(q != NULL, "a query");
    fuzz_check(n >= 0 && n <= MEM_FTS_TERMS_MAX, "word count in range");
    fuzz_check((n > 0) == has_word(data, size), "words exactly when there are non-blank bytes");
    fuzz_check(n > 0 || q[0] == '\0', "no words: an empty query");
    size_t quotes = 0, ors = 0;
    for (const char *p = q; *p; p++) quotes += *p == '"';
    for (const char *p = q; (p = strstr(p, "\" OR \"")); p += 6) ors++;
    fuzz_check(quotes % 2 == 0, "quotes balanced");
    fuzz_check(n == 0 || ors >= (size_t)(n - 1), "words joined by OR");
    char *again = mem_fts_query((const char *)data, size, &n2);
    fuzz_check(again && n2 == n && strcmp(again, q) == 0, "deterministic");
    free(again);

    size_t start[MEM_FTS_TERMS_MAX], wlen[MEM_FTS_TERMS_MAX];
    const int nw = mem_fts_words((const char *)data, size, start, wlen);
    fuzz_check(nw == n, "as many word spans as words");
    for (int i = 0; i < nw; i++)
        fuzz_check(wlen[i] > 0 && start[i] + wlen[i] <= size && (i == 0 || start[i] > start[i - 1] + wlen[i - 1]),
                   "word spans non-empty, inside, in order");
    int na = -1;
    char *all = mem_fts_query_except((const char *)data, size, NULL, 1, &na);
    fuzz_check(all && na == n, "the AND form has the same words");

    for (int form = 0; form < 2 && n > 0; form++) {
        const char *match = form ? all : q;
        sqlite3_bind_text(search, 1, match, -1, SQLITE_STATIC);
        int rc;
        while ((rc = sqlite3_step(search)) == SQLITE_ROW) fuzz_sink += (uint64_t)sqlite3_column_int64(search, 0);
        if (rc != SQLITE_DONE) fprintf(stderr, "query %s: %s\n", match, sqlite3_errmsg(db));
        fuzz_check(rc == SQLITE_DONE, "MATCH runs without an error");
        sqlite3_reset(search);
        sqlite3_clear_bindings(search);
    }
    free(all);
    free(q);
    return 0;
}
