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
    /* store_terms.c: chunks_fts's tokenizer and the document-frequency lookup */
    struct mem_fts5_tokenizer {
        int (*xCreate)(void *, const char **azArg, int nArg, void **ppOut);
        void (*xDelete)(void *);
        int (*xTokenize)(void *, void *pCtx, int flags, const char *pText, int nText,
                         int (*xToken)(void *pCtx, int tflags, const char *pToken, int nToken, int iStart,
                                       int iEnd));
    } fts_tok_api;            /* fts5.h's fts5_tokenizer (the system does not install fts5.h) */
    void *fts_tok;            /* the tokenizer made with it, or NULL */
    int fts_tok_failed;       /* 1: FTS5 gave no tokenizer; words are never left out */
    sqlite3_stmt *vocab_stmt; /* SELECT doc FROM temp.chunks_fts_vocab WHERE term = ?1 */
    int64_t common_min_docs;  /* the fewest chunks a common word is in; 0: MEM_COMMON_MIN_DOCS
                               * (store_terms.c); tests set it lower */
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
/* Mark in skip[i] (room for MEM_FTS_TERMS_MAX) the words of text, as
 * mem_fts_words splits them, that a BM25 search leaves out because they
 * are common (store_terms.c says when); returns how many (0: none).
 * *all_common 1: two or more words, every one common (none left out):
 * search the chunks holding all of them first. */
int mem_store_common_words(mem_store *st, const char *text, size_t len, unsigned char *skip, int *all_common);
/* Free what mem_store_common_words made (on close). */
void mem_store_terms_free(mem_store *st);
/* Unix seconds now. */
int64_t mem_store_now(void);

#endif
