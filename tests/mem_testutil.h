/*
 * mem_testutil.h — what the memory store's tests share (test_mem_store.c,
 * test_mem_search.c): temporary stores, documents with chunks and random
 * unit vectors, a little corpus with known answers, and asserting
 * wrappers of the store's calls. Header-only (static inline): the
 * Makefile links the helpers in tests/ (the .c files not named test_*)
 * into every test, and only the memory's tests link libmote-memory.a.
 */
#ifndef MOTE_TESTS_MEM_TESTUTIL_H
#define MOTE_TESTS_MEM_TESTUTIL_H

#include <ftw.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/status.h"
#include "memory/store.h"
#include "testutil.h"

#define DIM 32 /* embedding size of the tests' vectors */

/* ------------------------------------------------------------------------
 * Stores, documents, vectors
 * ---------------------------------------------------------------------- */

static inline int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* A fresh folder $TMPDIR/mote-mem-XXXXXX (malloc'd name). */
static inline char *temp_dir(void)
{
    const char *tmp = getenv("TMPDIR");
    char buf[4096];
    snprintf(buf, sizeof buf, "%s/mote-mem-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    assert_non_null(mkdtemp(buf));
    return strdup(buf);
}

static inline void remove_dir(char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

static inline mem_store *open_store(const char *dir)
{
    mem_store *st = NULL;
    const mote_status rc = mem_store_open(dir, NULL, &st);
    if (rc != MOTE_OK) fail_msg("open %s: %s", dir, mote_last_error());
    return st;
}

/* A document of n chunks with the given texts (NULL: "chunk I of PATH"). */
static inline mem_doc make_doc(const char *path, enum mem_kind kind, int n, const char *const *texts)
{
    mem_doc d = {.source = strdup(path), .kind = kind, .n_chunks = n};
    d.chunks = calloc((size_t)(n ? n : 1), sizeof *d.chunks);
    assert_non_null(d.chunks);
    for (int i = 0; i < n; i++) {
        char buf[256];
        snprintf(buf, sizeof buf, "chunk %d of %s", i, path);
        d.chunks[i].text = strdup(texts && texts[i] ? texts[i] : buf);
        d.chunks[i].line_lo = 10 * i + 1;
        d.chunks[i].line_hi = 10 * i + 9;
    }
    return d;
}

/* The stamp of a document: the hash of its texts (as if of its file). */
static inline mem_source_stamp stamp_of(const mem_doc *d, char hex[MEM_HASH_HEX + 1])
{
    char *all = calloc(1, 1);
    size_t len = 0;
    for (int i = 0; i < d->n_chunks; i++) {
        const size_t n = strlen(d->chunks[i].text);
        all = realloc(all, len + n + 2);
        memcpy(all + len, d->chunks[i].text, n);
        len += n;
        all[len++] = '\n';
    }
    mem_hash_bytes(all, len, hex);
    free(all);
    return (mem_source_stamp){.hash = hex, .size = (int64_t)len, .mtime = 1700000000};
}

/* n random unit vectors of DIM (seeded), malloc'd. */
static inline float *random_vectors(int n, uint64_t seed)
{
    float *v = malloc((size_t)(n ? n : 1) * DIM * sizeof *v);
    assert_non_null(v);
    uint64_t s = seed;
    for (int i = 0; i < n; i++) {
        double norm = 0;
        for (int j = 0; j < DIM; j++) {
            v[i * DIM + j] = test_rng_normal(&s);
            norm += (double)v[i * DIM + j] * v[i * DIM + j];
        }
        for (int j = 0; j < DIM; j++) v[i * DIM + j] /= (float)sqrt(norm);
    }
    return v;
}

static inline void put_ok(mem_store *st, const mem_doc *d, const float *vecs, int dim)
{
    char hex[MEM_HASH_HEX + 1];
    const mem_source_stamp stamp = stamp_of(d, hex);
    if (mem_store_put(st, d, &stamp, vecs, dim) != MOTE_OK) fail_msg("put %s: %s", d->source, mote_last_error());
}

/* Put a document of the given texts with random vectors. */
static inline void put_texts(mem_store *st, const char *path, enum mem_kind kind, int n, const char *const *texts,
                      uint64_t seed)
{
    mem_doc d = make_doc(path, kind, n, texts);
    float *v = random_vectors(n, seed);
    put_ok(st, &d, v, DIM);
    free(v);
    mem_doc_free(&d);
}

static inline mem_store_stats stats(mem_store *st)
{
    mem_store_stats s;
    if (mem_store_status(st, &s) != MOTE_OK) fail_msg("status: %s", mote_last_error());
    return s;
}

static inline int search(mem_store *st, const mem_query *q, mem_hit *hits, int k)
{
    int n = -1;
    if (mem_store_search(st, q, hits, k, &n) != MOTE_OK) fail_msg("search: %s", mote_last_error());
    return n;
}

/* Run sql on the database through a connection of the test's own. */
static inline void side_sql(const char *dir, const char *sql)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, MEM_STORE_DB);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) fail_msg("%s: %s", sql, err);
    sqlite3_close(db);
}

/* ------------------------------------------------------------------------
 * A little corpus with one clear answer per question
 * ---------------------------------------------------------------------- */

static const struct {
    const char *path;
    enum mem_kind kind;
    const char *title, *text;
} corpus[] = {
    {"/home/notes/router.md", MEM_MARKDOWN, "Home network",
     "The wifi password for the home router is written on the sticker under the router: tulip-harbour-42."},
    {"/home/notes/bread.md", MEM_MARKDOWN, "Baking",
     "Feed the sourdough starter twice a day; bake the loaves at 230 degrees for forty minutes."},
    {"/home/notes/car.txt", MEM_TEXT, NULL,
     "The car's tyres were changed in March; the next service is due at 60000 kilometres."},
    {"/home/mail/dentist.eml", MEM_MAIL, "Appointment reminder",
     "Your dentist appointment is on Tuesday at 9:30. Please bring your insurance card."},
    {"/home/notes/plants.txt", MEM_TEXT, "Garden",
     "Water the tomatoes every evening in summer; the basil prefers partial shade."},
    {"/home/notes/taxes.md", MEM_MARKDOWN, "Taxes 2025",
     "The tax return is due by the end of July; receipts are in the blue folder."},
    {"/work/meeting.txt", MEM_TEXT, "Standup",
     "Quarterly planning meeting moved to Thursday; bring the budget spreadsheet."},
    {"/home/notes/recipes.md", MEM_MARKDOWN, "Pasta",
     "Boil the pasta in salted water; the sauce needs garlic, olive oil and chilli."},
};
#define N_CORPUS (int)(sizeof corpus / sizeof corpus[0])

static inline void put_corpus(mem_store *st)
{
    for (int i = 0; i < N_CORPUS; i++) {
        mem_doc d = make_doc(corpus[i].path, corpus[i].kind, 1, &corpus[i].text);
        if (corpus[i].title) d.chunks[0].title = strdup(corpus[i].title);
        float *v = random_vectors(1, 100 + (uint64_t)i);
        put_ok(st, &d, v, DIM);
        free(v);
        mem_doc_free(&d);
    }
}

static inline const char *top_source(mem_store *st, const char *text)
{
    static char buf[256];
    mem_hit hits[3];
    const int n = search(st, &(mem_query){.mode = MEM_SEARCH_BM25, .text = text, .kind = -1}, hits, 3);
    snprintf(buf, sizeof buf, "%s", n > 0 ? hits[0].source : "(none)");
    if (n > 0) {
        assert_true(hits[0].score > 0);
        assert_int_equal(hits[0].rank_bm25, 1);
        assert_int_equal(hits[0].rank_vec, 0);
    }
    mem_hits_free(hits, n);
    return buf;
}

#endif
