/*
 * test_mem_store.c — the private memory's store (src/memory/store.h):
 *   - put / replace / remove, the counts, the content hash that lets a
 *     caller skip an unchanged file, sensor readings; a changed file's
 *     unchanged chunks get their stored vectors back (same bytes);
 *   - one transaction per put: a failure half-way (a trigger that aborts
 *     at the third chunk) leaves the old version, in the database and in
 *     the in-memory vectors;
 *   - BM25 finds known answers in a small hand-written corpus; a planted
 *     vector ranks first; hybrid mode equals rank.c's fusion of the BM25
 *     and vector rankings computed separately, bit for bit;
 *   - filters (path prefix, kind, time window) in every mode;
 *   - after many puts and removals, the in-memory vectors rank as vectors
 *     loaded afresh do; another connection's commits are seen;
 *   - user text that looks like FTS5 syntax never errors;
 *   - folder 0700 and files 0600 under a permissive umask; reopening
 *     keeps everything; another embedding model or dimension is refused;
 *     garbage, another program's database and a newer schema are errors,
 *     a damaged one is not a crash;
 *   - kill -9 of a process in the middle of puts leaves a database that
 *     opens, passes mem_store_verify, and holds only complete sources.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/status.h"
#include "memory/fts_query.h"
#include "memory/rank.h"
#include "memory/store.h"
#include "memory/store_vec.h"
#include "testutil.h"

#define DIM 32 /* embedding size of the tests' vectors */

/* ------------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* A fresh folder $TMPDIR/mote-mem-XXXXXX (malloc'd name). */
static char *temp_dir(void)
{
    const char *tmp = getenv("TMPDIR");
    char buf[4096];
    snprintf(buf, sizeof buf, "%s/mote-mem-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    assert_non_null(mkdtemp(buf));
    return strdup(buf);
}

static void remove_dir(char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

static mem_store *open_store(const char *dir)
{
    mem_store *st = NULL;
    const mote_status rc = mem_store_open(dir, NULL, &st);
    if (rc != MOTE_OK) fail_msg("open %s: %s", dir, mote_last_error());
    return st;
}

/* A document of n chunks with the given texts (NULL: "chunk I of PATH"). */
static mem_doc make_doc(const char *path, enum mem_kind kind, int n, const char *const *texts)
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
static mem_source_stamp stamp_of(const mem_doc *d, char hex[MEM_HASH_HEX + 1])
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
static float *random_vectors(int n, uint64_t seed)
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

static void put_ok(mem_store *st, const mem_doc *d, const float *vecs, int dim)
{
    char hex[MEM_HASH_HEX + 1];
    const mem_source_stamp stamp = stamp_of(d, hex);
    if (mem_store_put(st, d, &stamp, vecs, dim) != MOTE_OK) fail_msg("put %s: %s", d->source, mote_last_error());
}

/* Put a document of the given texts with random vectors. */
static void put_texts(mem_store *st, const char *path, enum mem_kind kind, int n, const char *const *texts,
                      uint64_t seed)
{
    mem_doc d = make_doc(path, kind, n, texts);
    float *v = random_vectors(n, seed);
    put_ok(st, &d, v, DIM);
    free(v);
    mem_doc_free(&d);
}

static mem_store_stats stats(mem_store *st)
{
    mem_store_stats s;
    if (mem_store_status(st, &s) != MOTE_OK) fail_msg("status: %s", mote_last_error());
    return s;
}

static int search(mem_store *st, const mem_query *q, mem_hit *hits, int k)
{
    int n = -1;
    if (mem_store_search(st, q, hits, k, &n) != MOTE_OK) fail_msg("search: %s", mote_last_error());
    return n;
}

/* Run sql on the database through a connection of the test's own. */
static void side_sql(const char *dir, const char *sql)
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
 * Put, replace, remove
 * ---------------------------------------------------------------------- */

static void test_hash(void **state)
{
    (void)state;
    char hex[MEM_HASH_HEX + 1];
    mem_hash_bytes("abc", 3, hex); /* FIPS 180-2's example */
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    char *dir = temp_dir();
    char path[4096];
    snprintf(path, sizeof path, "%s/f.txt", dir);
    FILE *f = fopen(path, "w");
    fputs("abc", f);
    fclose(f);
    char file_hex[MEM_HASH_HEX + 1];
    assert_int_equal(mem_hash_file(path, file_hex), MOTE_OK);
    assert_string_equal(file_hex, hex);
    snprintf(path, sizeof path, "%s/absent", dir);
    assert_int_equal(mem_hash_file(path, file_hex), MOTE_E_IO);
    assert_non_null(strstr(mote_last_error(), "absent"));
    remove_dir(dir);
}

static void test_put_replace_remove(void **state)
{
    (void)state;
    char *dir = temp_dir();
    mem_store *st = open_store(dir);
    mem_store_stats s = stats(st);
    assert_int_equal(s.n_sources, 0);
    assert_int_equal(s.updated_at, 0);

    mem_doc d = make_doc("/notes/a.txt", MEM_TEXT, 3, NULL);
    char hex1[MEM_HASH_HEX + 1];
    mem_source_stamp stamp = stamp_of(&d, hex1);
    float *v = random_vectors(3, 1);
    assert_int_equal(mem_store_put(st, &d, &stamp, v, DIM), MOTE_OK);
    put_texts(st, "/notes/b.txt", MEM_MARKDOWN, 2, NULL, 2);
    s = stats(st);
    assert_int_equal(s.n_sources, 2);
    assert_int_equal(s.n_chunks, 5);
    assert_int_equal(s.n_vectors, 5);
    assert_true(s.updated_at > 0);
    assert_int_equal(s.embed_dim, DIM);

    /* the unchanged-file check: the stored hash is the stamp's */
    char got[MEM_HASH_HEX + 1];
    int exists = -1;
    assert_int_equal(mem_store_source_state(st, "/notes/a.txt", got, &exists), MOTE_OK);
    assert_int_equal(exists, 1);
    assert_string_equal(got, hex1);
    assert_int_equal(mem_store_source_state(st, "/notes/none.txt", got, &exists), MOTE_OK);
    assert_int_equal(exists, 0);
    assert_string_equal(got, "");

    /* replace a.txt with 2 other chunks: the old 3 go, the hash changes */
    mem_doc d2 = make_doc("/notes/a.txt", MEM_TEXT, 2, (const char *const[]){"new first", "new second"});
    char hex2[MEM_HASH_HEX + 1];
    stamp = stamp_of(&d2, hex2);
    assert_string_not_equal(hex1, hex2);
    assert_int_equal(mem_store_put(st, &d2, &stamp, v, DIM), MOTE_OK);
    s = stats(st);
    assert_int_equal(s.n_sources, 2);
    assert_int_equal(s.n_chunks, 4);
    assert_int_equal(s.n_vectors, 4);
    assert_int_equal(mem_store_source_state(st, "/notes/a.txt", got, &exists), MOTE_OK);
    assert_string_equal(got, hex2);
    mem_hit hits[8];
    int n = search(st, &(mem_query){.mode = MEM_SEARCH_BM25, .text = "chunk", .kind = -1}, hits, 8);
    for (int i = 0; i < n; i++) assert_string_equal(hits[i].source, "/notes/b.txt"); /* a's old chunks are gone */
    assert_int_equal(n, 2);
    mem_hits_free(hits, n);
    /* and from the vectors: a vector search sees 4 chunks */
    n = search(st, &(mem_query){.mode = MEM_SEARCH_VECTOR, .vec = v, .dim = DIM, .kind = -1}, hits, 8);
    assert_int_equal(n, 4);
    mem_hits_free(hits, n);

    int removed = -1;
    assert_int_equal(mem_store_remove(st, "/notes/a.txt", &removed), MOTE_OK);
    assert_int_equal(removed, 1);
    assert_int_equal(mem_store_remove(st, "/notes/a.txt", &removed), MOTE_OK);
    assert_int_equal(removed, 0);
    s = stats(st);
    assert_int_equal(s.n_sources, 1);
    assert_int_equal(s.n_chunks, 2);
    assert_int_equal(s.n_vectors, 2);
    n = search(st, &(mem_query){.mode = MEM_SEARCH_VECTOR, .vec = v, .dim = DIM, .kind = -1}, hits, 8);
    assert_int_equal(n, 2);
    for (int i = 0; i < n; i++) assert_string_equal(hits[i].source, "/notes/b.txt");
    mem_hits_free(hits, n);
    assert_int_equal(mem_store_verify(st), MOTE_OK);

    free(v);
    mem_doc_free(&d);
    mem_doc_free(&d2);
    mem_store_close(st);
    remove_dir(dir);
}

static void test_put_refuses_bad_input(void **state)
{
    (void)state;
    char *dir = temp_dir();
    mem_store *st = open_store(dir);
    mem_doc d = make_doc("/x.txt", MEM_TEXT, 2, NULL);
    char hex[MEM_HASH_HEX + 1];
    mem_source_stamp stamp = stamp_of(&d, hex);
    float *v = random_vectors(2, 3);
    mem_source_stamp bad = {.hash = "not-hex"};
    assert_int_equal(mem_store_put(st, &d, &bad, v, DIM), MOTE_E_INVALID);
    assert_non_null(strstr(mote_last_error(), "memory.db"));
    assert_int_equal(mem_store_put(st, &d, &stamp, NULL, DIM), MOTE_E_INVALID); /* vectors missing */
    v[5] = NAN;
    assert_int_equal(mem_store_put(st, &d, &stamp, v, DIM), MOTE_E_INVALID);
    assert_non_null(strstr(mote_last_error(), "not finite"));
    free(d.chunks[1].text);
    d.chunks[1].text = NULL;
    assert_int_equal(mem_store_put(st, &d, &stamp, NULL, 0), MOTE_E_INVALID);
    assert_int_equal(stats(st).n_sources, 0);
    /* no vectors at all is fine: BM25 only */
    d.chunks[1].text = strdup("second");
    assert_int_equal(mem_store_put(st, &d, &stamp, NULL, 0), MOTE_OK);
    assert_int_equal(stats(st).n_vectors, 0);
    free(v);
    mem_doc_free(&d);
    mem_store_close(st);
    remove_dir(dir);
}

static void test_readings(void **state)
{
    (void)state;
    char *dir = temp_dir();
    mem_store *st = open_store(dir);
    mem_doc d = make_doc("/sensors/kitchen.csv", MEM_SENSOR, 1, (const char *const[]){"kitchen temperature 21.5 C"});
    d.chunks[0].t_lo = 1700000000;
    d.chunks[0].t_hi = 1700003600;
    d.n_readings = 100;
    d.readings = calloc(100, sizeof *d.readings);
    for (int i = 0; i < 100; i++)
        d.readings[i] =
            (mem_reading){.t_ms = 1700000000000LL + i * 36000, .series = strdup("temp"), .value = 20 + i * 0.01};
    put_ok(st, &d, NULL, 0);
    assert_int_equal(stats(st).n_readings, 100);
    for (size_t i = 50; i < 100; i++) free(d.readings[i].series);
    d.n_readings = 50;
    put_ok(st, &d, NULL, 0);
    assert_int_equal(stats(st).n_readings, 50);
    mem_source_info *list;
    int n;
    assert_int_equal(mem_store_sources(st, NULL, &list, &n), MOTE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].n_readings, 50);
    assert_int_equal(list[0].kind, MEM_SENSOR);
    mem_sources_free(list, n);
    assert_int_equal(mem_store_verify(st), MOTE_OK);
    assert_int_equal(mem_store_remove(st, "/sensors/kitchen.csv", NULL), MOTE_OK);
    assert_int_equal(stats(st).n_readings, 0);
    mem_doc_free(&d);
    mem_store_close(st);
    remove_dir(dir);
}

static void test_sources_list(void **state)
{
    (void)state;
    char *dir = temp_dir();
    mem_store *st = open_store(dir);
    const char *paths[] = {"/a/x.txt", "/a/y.md", "/ab/z.txt", "/b/%_.txt"};
    for (int i = 0; i < 4; i++) put_texts(st, paths[i], i == 1 ? MEM_MARKDOWN : MEM_TEXT, 2, NULL, (uint64_t)i + 10);
    mem_source_info *list;
    int n;
    assert_int_equal(mem_store_sources(st, "/a/", &list, &n), MOTE_OK);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].path, "/a/x.txt");
    assert_string_equal(list[1].path, "/a/y.md");
    assert_int_equal(list[1].kind, MEM_MARKDOWN);
    assert_int_equal(list[0].n_chunks, 2);
    assert_true(list[0].complete);
    assert_int_equal(list[0].size > 0, 1);
    assert_int_equal(list[0].mtime, 1700000000);
    assert_true(list[0].ingested_at > 0);
    mem_sources_free(list, n);
    assert_int_equal(mem_store_sources(st, "/a", &list, &n), MOTE_OK);
    assert_int_equal(n, 3);
    mem_sources_free(list, n);
    /* LIKE wildcards in a prefix are plain bytes */
    assert_int_equal(mem_store_sources(st, "/b/%", &list, &n), MOTE_OK);
    assert_int_equal(n, 1);
    mem_sources_free(list, n);
    assert_int_equal(mem_store_sources(st, "/b/_", &list, &n), MOTE_OK);
    assert_int_equal(n, 0);
    mem_sources_free(list, n);
    assert_int_equal(mem_store_sources(st, NULL, &list, &n), MOTE_OK);
    assert_int_equal(n, 4);
    mem_sources_free(list, n);
    mem_store_close(st);
    remove_dir(dir);
}

/* The q blob stored for the chunk of text, through a connection of the
 * test's own, into q (DIM bytes); 0 if none. */
static int stored_q(const char *dir, const char *text, int8_t q[DIM])
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, MEM_STORE_DB);
    sqlite3 *db;
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT v.q FROM vectors v JOIN chunks c ON c.id = v.chunk_id "
                                            "WHERE c.text = ?1", -1, &s, NULL), SQLITE_OK);
    sqlite3_bind_text(s, 1, text, -1, SQLITE_STATIC);
    const int found = sqlite3_step(s) == SQLITE_ROW && sqlite3_column_bytes(s, 0) == DIM;
    if (found) memcpy(q, sqlite3_column_blob(s, 0), DIM);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return found;
}

/* A changed file's unchanged chunks get their stored vectors back, and
 * putting those stores the same bytes. */
static void test_known_vectors(void **state)
{
    (void)state;
    char *dir = temp_dir();
    mem_store *st = open_store(dir);
    put_texts(st, "/k.txt", MEM_TEXT, 3, (const char *const[]){"keep one", "drop two", "keep three"}, 31);
    put_texts(st, "/other.txt", MEM_TEXT, 1, (const char *const[]){"new middle"}, 32); /* another file's */
    int8_t before0[DIM], before2[DIM], after[DIM];
    assert_true(stored_q(dir, "keep one", before0));
    assert_true(stored_q(dir, "keep three", before2));

    mem_doc d = make_doc("/k.txt", MEM_TEXT, 3, (const char *const[]){"keep one", "new middle", "keep three"});
    float *v = random_vectors(3, 99);
    const float untouched = v[DIM];
    int known[3], n = -1;
    assert_int_equal(mem_store_known_vectors(st, &d, DIM, v, known, &n), MOTE_OK);
    assert_int_equal(n, 2);
    assert_int_equal(known[0], 1);
    assert_int_equal(known[1], 0); /* "new middle" is stored, but for another file */
    assert_int_equal(known[2], 1);
    assert_true(v[DIM] == untouched);
    put_ok(st, &d, v, DIM);
    assert_true(stored_q(dir, "keep one", after));
    assert_memory_equal(after, before0, DIM);
    assert_true(stored_q(dir, "keep three", after));
    assert_memory_equal(after, before2, DIM);
    /* another dimension knows nothing */
    assert_int_equal(mem_store_known_vectors(st, &d, DIM / 2, v, known, &n), MOTE_OK);
    assert_int_equal(n, 0);
    free(v);
    mem_doc_free(&d);
    mem_store_close(st);
    remove_dir(dir);
}

/* A trigger of the test's own aborts the insert of the third chunk: the
 * put fails half-way, and the old version is intact everywhere. */
static void test_put_is_one_transaction(void **state)
{
    (void)state;
    char *dir = temp_dir();
    mem_store *st = open_store(dir);
    const char *old_texts[] = {"old alpha", "old beta", "old gamma", "old delta", "old epsilon"};
    mem_doc d1 = make_doc("/doc.txt", MEM_TEXT, 5, old_texts);
    char hex1[MEM_HASH_HEX + 1];
    mem_source_stamp s1 = stamp_of(&d1, hex1);
    float *v1 = random_vectors(5, 21);
    assert_int_equal(mem_store_put(st, &d1, &s1, v1, DIM), MOTE_OK);

    side_sql(dir, "CREATE TRIGGER fail_midway BEFORE INSERT ON chunks WHEN NEW.ordinal = 2 "
                  "BEGIN SELECT RAISE(ABORT, 'injected failure'); END;");
    const char *new_texts[] = {"new alpha", "new beta", "new gamma", "new delta"};
    mem_doc d2 = make_doc("/doc.txt", MEM_TEXT, 4, new_texts);
    char hex2[MEM_HASH_HEX + 1];
    mem_source_stamp s2 = stamp_of(&d2, hex2);
    float *v2 = random_vectors(4, 22);
    assert_int_equal(mem_store_put(st, &d2, &s2, v2, DIM), MOTE_E_INVALID);
    assert_non_null(strstr(mote_last_error(), "injected failure"));
    assert_non_null(strstr(mote_last_error(), "/doc.txt"));

    char got[MEM_HASH_HEX + 1];
    int exists;
    assert_int_equal(mem_store_source_state(st, "/doc.txt", got, &exists), MOTE_OK);
    assert_string_equal(got, hex1);
    mem_store_stats s = stats(st);
    assert_int_equal(s.n_chunks, 5);
    assert_int_equal(s.n_vectors, 5);
    mem_hit hits[8];
    int n = search(st, &(mem_query){.mode = MEM_SEARCH_BM25, .text = "new", .kind = -1}, hits, 8);
    assert_int_equal(n, 0);
    n = search(st, &(mem_query){.mode = MEM_SEARCH_BM25, .text = "old", .kind = -1}, hits, 8);
    assert_int_equal(n, 5);
    mem_hits_free(hits, n);
    /* the in-memory vectors too: the old first vector still finds its chunk */
    n = search(st, &(mem_query){.mode = MEM_SEARCH_VECTOR, .vec = v1, .dim = DIM, .kind = -1}, hits, 8);
    assert_int_equal(n, 5);
    assert_string_equal(hits[0].text, "old alpha");
    mem_hits_free(hits, n);
    assert_int_equal(mem_store_verify(st), MOTE_OK);

    side_sql(dir, "DROP TRIGGER fail_midway");
    assert_int_equal(mem_store_put(st, &d2, &s2, v2, DIM), MOTE_OK);
    n = search(st, &(mem_query){.mode = MEM_SEARCH_VECTOR, .vec = v2, .dim = DIM, .kind = -1}, hits, 8);
    assert_int_equal(n, 4);
    assert_string_equal(hits[0].text, "new alpha");
    mem_hits_free(hits, n);

    free(v1);
    free(v2);
    mem_doc_free(&d1);
    mem_doc_free(&d2);
    mem_store_close(st);
    remove_dir(dir);
}

/* ------------------------------------------------------------------------
 * Search
 * ---------------------------------------------------------------------- */

/* A little corpus with one clear answer per question. */
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

static void put_corpus(mem_store *st)
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

static const char *top_source(mem_store *st, const char *text)
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

static void test_bm25_known_answers(void **state)
{
    (void)state;
    char *dir = temp_dir();
    mem_store *st = open_store(dir);
    put_corpus(st);
    assert_string_equal(top_source(st, "what is the wifi password?"), "/home/notes/router.md");
    assert_string_equal(top_source(st, "sourdough starter"), "/home/notes/bread.md");
    assert_string_equal(top_source(st, "baking"), "/home/notes/bread.md"); /* title, stemmed */
    assert_string_equal(top_source(st, "when is the dentist"), "/home/mail/dentist.eml");
    assert_string_equal(top_source(st, "tomato watering"), "/home/notes/plants.txt"); /* stemmed */
    assert_string_equal(top_source(st, "TAX RETURN deadline"), "/home/notes/taxes.md");
    assert_string_equal(top_source(st, "garlic"), "/home/notes/recipes.md");
    assert_string_equal(top_source(st, "zeppelin"), "(none)");
    /* a hit carries its citation */
    mem_hit h[1];
    assert_int_equal(search(st, &(mem_query){.mode = MEM_SEARCH_BM25, .text = "insurance", .kind = -1}, h, 1), 1);
    assert_int_equal(h[0].kind, MEM_MAIL);
    assert_string_equal(h[0].title, "Appointment reminder");
    assert_int_equal(h[0].line_lo, 1);
    assert_int_equal(h[0].line_hi, 9);
    assert_non_null(strstr(h[0].text, "insurance card"));
    mem_hits_free(h, 1);
    mem_store_close(st);
    remove_dir(dir);
}

static void test_vector_planted_first(void **state)
{
    (void)state;
    char *dir = temp_dir();
    mem_store *st = open_store(dir);
    /* 300 random chunks in 3 files, then one planted near the query */
    for (int f = 0; f < 3; f++) {
        char path[64];
        snprintf(path, sizeof path, "/noise/%d.txt", f);
        put_texts(st, path, MEM_TEXT, 100, NULL, 1000 + (uint64_t)f);
    }
    float *q = random_vectors(1, 4242);
    float planted[DIM];
    uint64_t s = 7;
    double norm = 0;
    for (int j = 0; j < DIM; j++) {
        planted[j] = q[j] + 0.05f * test_rng_normal(&s);
        norm += (double)planted[j] * planted[j];
    }
    for (int j = 0; j < DIM; j++) planted[j] /= (float)sqrt(norm);
    mem_doc d = make_doc("/planted.txt", MEM_TEXT, 1, (const char *const[]){"the planted chunk"});
    put_ok(st, &d, planted, DIM);
    mem_hit hits[5];
    const int n = search(st, &(mem_query){.mode = MEM_SEARCH_VECTOR, .vec = q, .dim = DIM, .kind = -1}, hits, 5);
    assert_int_equal(n, 5);
    assert_string_equal(hits[0].source, "/planted.txt");
    assert_int_equal(hits[0].rank_vec, 1);
    assert_int_equal(hits[0].rank_bm25, 0);
    assert_true(hits[0].score > 0.95 && hits[0].score < 1.02);
    for (int i = 1; i < n; i++) assert_true(hits[i].score <= hits[i - 1].score);
    assert_true(hits[1].score < 0.9);
    mem_hits_free(hits, n);
    free(q);
    mem_doc_free(&d);
    mem_store_close(st);
    remove_dir(dir);
}

/* int8 quantisation: each element within half a step of the float. */
static void test_quantize(void **state)
{
    (void)state;
    float *v = random_vectors(20, 5);
    for (int i = 0; i < 20; i++) {
        int8_t q[DIM];
        float scale;
        mem_vec_quantize(v + i * DIM, DIM, q, &scale);
        int max = 0;
        for (int j = 0; j < DIM; j++) {
            assert_true(q[j] >= -127 && q[j] <= 127);
            assert_true(fabsf(q[j] * scale - v[i * DIM + j]) <= scale * 0.5f + 1e-6f);
            max = abs(q[j]) > max ? abs(q[j]) : max;
        }
        assert_int_equal(max, 127);
    }
    int8_t q[DIM];
    float zero[DIM] = {0}, scale = -1;
    mem_vec_quantize(zero, DIM, q, &scale);
    assert_true(scale == 0);
    free(v);
}

static void test_rrf(void **state)
{
    (void)state;
    const int64_t a[] = {10, 20, 30}, b[] = {30, 40, 10, 10};
    mem_fused f[7];
    const int n = mem_rrf(a, 3, b, 4, f);
    assert_int_equal(n, 4);
    /* 10: 1/61 + 1/63; 30: 1/63 + 1/61 (the same sum: smaller id first); 20: 1/62; 40: 1/62 */
    assert_int_equal(f[0].id, 10);
    assert_int_equal(f[0].rank_a, 1);
    assert_int_equal(f[0].rank_b, 3); /* the repeat at 4 does not count */
    assert_int_equal(f[1].id, 30);
    assert_true(f[0].score == 1.0 / 61 + 1.0 / 63);
    assert_int_equal(f[2].id, 20);
    assert_int_equal(f[3].id, 40);
    assert_int_equal(f[3].rank_a, 0);
    assert_true(f[3].score == 1.0 / 62);
    assert_int_equal(mem_rrf(NULL, 0, NULL, 0, f), 0);
}

/* Hybrid mode returns rank.c's fusion of the two rankings that BM25 mode
 * and vector mode return for mem_search_candidates(k) hits, exactly. */
static void test_hybrid_is_rrf(void **state)
{
    (void)state;
    char *dir = temp_dir();
    mem_store *st = open_store(dir);
    /* 150 chunks over a small vocabulary, so that many match and the
     * candidate lists are cut */
    static const char *words[] = {"river", "stone", "lamp", "paper", "garden", "window", "clock", "bridge"};
    for (int f = 0; f < 5; f++) {
        char *texts[30];
        uint64_t s = 300 + (uint64_t)f;
        for (int i = 0; i < 30; i++) {
            char buf[128] = "";
            for (int w = 0; w < 6; w++) {
                strcat(buf, words[test_rng_next(&s) % 8]);
                strcat(buf, " ");
            }
            texts[i] = strdup(buf);
        }
        char path[64];
        snprintf(path, sizeof path, "/h/%d.txt", f);
        put_texts(st, path, MEM_TEXT, 30, (const char *const *)texts, 500 + (uint64_t)f);
        for (int i = 0; i < 30; i++) free(texts[i]);
    }
    float *qv = random_vectors(1, 77);
    for (int k = 1; k <= 20; k += 19) {
        const int nc = mem_search_candidates(k);
        assert_int_equal(nc, k * 4 > 50 ? k * 4 : 50);
        mem_hit *a = calloc((size_t)nc, sizeof *a), *b = calloc((size_t)nc, sizeof *b), hy[20];
        mem_query q = {.mode = MEM_SEARCH_BM25, .text = "river lamp clock", .vec = qv, .dim = DIM, .kind = -1};
        const int na = search(st, &q, a, nc);
        q.mode = MEM_SEARCH_VECTOR;
        const int nb = search(st, &q, b, nc);
        q.mode = MEM_SEARCH_HYBRID;
        const int nh = search(st, &q, hy, k);
        assert_int_equal(na, nc); /* the lists really are cut */
        assert_int_equal(nb, nc);
        int64_t ia[200], ib[200];
        for (int i = 0; i < na; i++) ia[i] = a[i].chunk_id;
        for (int i = 0; i < nb; i++) ib[i] = b[i].chunk_id;
        mem_fused f[400];
        const int nf = mem_rrf(ia, na, ib, nb, f);
        assert_int_equal(nh, nf < k ? nf : k);
        for (int i = 0; i < nh; i++) {
            assert_int_equal(hy[i].chunk_id, f[i].id);
            assert_true(hy[i].score == f[i].score);
            assert_int_equal(hy[i].rank_bm25, f[i].rank_a);
            assert_int_equal(hy[i].rank_vec, f[i].rank_b);
        }
        /* the fused head mixes both lists */
        int both = 0;
        for (int i = 0; i < nh; i++) both += hy[i].rank_bm25 && hy[i].rank_vec;
        if (k == 20) assert_true(both > 0);
        mem_hits_free(a, na);
        mem_hits_free(b, nb);
        mem_hits_free(hy, nh);
        free(a);
        free(b);
    }
    /* hybrid without a vector is the BM25 order; without text, the vector order */
    mem_hit h1[5], h2[5];
    int n1 = search(st, &(mem_query){.mode = MEM_SEARCH_HYBRID, .text = "bridge", .kind = -1}, h1, 5);
    int n2 = search(st, &(mem_query){.mode = MEM_SEARCH_BM25, .text = "bridge", .kind = -1}, h2, 5);
    assert_int_equal(n1, n2);
    for (int i = 0; i < n1; i++) assert_int_equal(h1[i].chunk_id, h2[i].chunk_id);
    mem_hits_free(h1, n1);
    mem_hits_free(h2, n2);
    n1 = search(st, &(mem_query){.mode = MEM_SEARCH_HYBRID, .vec = qv, .dim = DIM, .kind = -1}, h1, 5);
    n2 = search(st, &(mem_query){.mode = MEM_SEARCH_VECTOR, .vec = qv, .dim = DIM, .kind = -1}, h2, 5);
    assert_int_equal(n1, 5);
    for (int i = 0; i < n1; i++) assert_int_equal(h1[i].chunk_id, h2[i].chunk_id);
    mem_hits_free(h1, n1);
    mem_hits_free(h2, n2);
    free(qv);
    mem_store_close(st);
    remove_dir(dir);
}

static void test_filters(void **state)
{
    (void)state;
    char *dir = temp_dir();
    mem_store *st = open_store(dir);
    /* every chunk says "report"; they differ by path, kind and time */
    static const struct {
        const char *path;
        enum mem_kind kind;
        int64_t t_lo, t_hi;
    } docs[] = {
        {"/logs/a.csv", MEM_SENSOR, 1000, 2000},   {"/logs/b.csv", MEM_SENSOR, 2000, 3000},
        {"/mail/1.eml", MEM_MAIL, 2500, 0},        {"/mail/2.eml", MEM_MAIL, 5000, 0},
        {"/notes/n.txt", MEM_TEXT, 0, 0},          {"/notes-old/o.txt", MEM_TEXT, 0, 0},
    };
    const int nd = (int)(sizeof docs / sizeof docs[0]);
    for (int i = 0; i < nd; i++) {
        mem_doc d = make_doc(docs[i].path, docs[i].kind, 1, (const char *const[]){"monthly report"});
        d.chunks[0].t_lo = docs[i].t_lo;
        d.chunks[0].t_hi = docs[i].t_hi;
        float *v = random_vectors(1, 900 + (uint64_t)i);
        put_ok(st, &d, v, DIM);
        free(v);
        mem_doc_free(&d);
    }
    float *qv = random_vectors(1, 1);
    static const enum mem_search_mode modes[] = {MEM_SEARCH_BM25, MEM_SEARCH_VECTOR, MEM_SEARCH_HYBRID};
    for (int m = 0; m < 3; m++) {
        mem_query base = {.mode = modes[m], .text = "report", .vec = qv, .dim = DIM, .kind = -1};
        mem_hit h[10];
        mem_query q = base;
        assert_int_equal(search(st, &q, h, 10), nd);
        mem_hits_free(h, nd);
        /* a folder: "/notes/" and not "/notes-old/" */
        q.path_prefix = "/notes/";
        int n = search(st, &q, h, 10);
        assert_int_equal(n, 1);
        assert_string_equal(h[0].source, "/notes/n.txt");
        mem_hits_free(h, n);
        q.path_prefix = "/notes";
        n = search(st, &q, h, 10);
        assert_int_equal(n, 2);
        mem_hits_free(h, n);
        q = base;
        q.kind = MEM_MAIL;
        n = search(st, &q, h, 10);
        assert_int_equal(n, 2);
        for (int i = 0; i < n; i++) assert_int_equal(h[i].kind, MEM_MAIL);
        mem_hits_free(h, n);
        /* [1500, 2600): a [1000, 2000), b [2000, 3000), the mail at 2500 */
        q = base;
        q.has_time = 1;
        q.t_lo = 1500;
        q.t_hi = 2600;
        n = search(st, &q, h, 10);
        assert_int_equal(n, 3);
        for (int i = 0; i < n; i++) assert_true(h[i].t_lo >= 1000 && h[i].t_lo <= 2500);
        mem_hits_free(h, n);
        /* [2000, 2500): the window end is exclusive on both sides */
        q.t_lo = 2000;
        q.t_hi = 2500;
        n = search(st, &q, h, 10);
        assert_int_equal(n, 1);
        assert_string_equal(h[0].source, "/logs/b.csv");
        mem_hits_free(h, n);
        /* everything together */
        q.kind = MEM_SENSOR;
        q.path_prefix = "/logs/a";
        q.t_lo = 0;
        q.t_hi = 1 << 30;
        n = search(st, &q, h, 10);
        assert_int_equal(n, 1);
        assert_string_equal(h[0].source, "/logs/a.csv");
        mem_hits_free(h, n);
        q.kind = MEM_MAIL;
        assert_int_equal(search(st, &q, h, 10), 0);
    }
    free(qv);
    mem_store_close(st);
    remove_dir(dir);
}

/* After many puts, replacements and removals (rows moved, source slots
 * reused), the in-memory vectors give the same rankings, filters
 * included, as vectors loaded afresh from the database. */
static void test_index_in_step(void **state)
{
    (void)state;
    char *dir = temp_dir();
    mem_store *st = open_store(dir);
    uint64_t s = 4711;
    for (int op = 0; op < 150; op++) {
        char path[32];
        snprintf(path, sizeof path, "/%c/%d.txt", "abc"[test_rng_next(&s) % 3], (int)(test_rng_next(&s) % 25));
        if (test_rng_next(&s) % 4 == 0) {
            assert_int_equal(mem_store_remove(st, path, NULL), MOTE_OK);
            continue;
        }
        const int n = (int)(test_rng_next(&s) % 12);
        mem_doc d = make_doc(path, (enum mem_kind)(test_rng_next(&s) % 3), n, NULL);
        for (int i = 0; i < n; i++) d.chunks[i].t_lo = (int64_t)(test_rng_next(&s) % 100) + 1;
        float *v = random_vectors(n, test_rng_next(&s));
        put_ok(st, &d, v, DIM);
        free(v);
        mem_doc_free(&d);
    }
    mem_store *fresh = open_store(dir);
    int total = 0;
    for (int t = 0; t < 8; t++) {
        float *q = random_vectors(1, 100 + (uint64_t)t);
        mem_query mq = {.mode = MEM_SEARCH_VECTOR, .vec = q, .dim = DIM, .kind = t % 4 - 1};
        if (t & 1) mq.path_prefix = "/b/";
        if (t & 2) mq.has_time = 1, mq.t_lo = 20, mq.t_hi = 60;
        mem_hit a[40], b[40];
        const int na = search(st, &mq, a, 40), nb = search(fresh, &mq, b, 40);
        assert_int_equal(na, nb);
        total += na;
        for (int i = 0; i < na; i++) {
            assert_int_equal(a[i].chunk_id, b[i].chunk_id);
            assert_true(a[i].score == b[i].score);
        }
        mem_hits_free(a, na);
        mem_hits_free(b, nb);
        free(q);
    }
    assert_true(total > 40);
    assert_int_equal(mem_store_verify(st), MOTE_OK);
    mem_store_close(fresh);
    mem_store_close(st);
    remove_dir(dir);
}

static void test_fts_syntax_is_text(void **state)
{
    (void)state;
    int n;
    char *q = mem_fts_query("say \"hi\" NEAR(x) -y *", 22, &n);
    assert_string_equal(q, "\"say\" OR \"\"\"hi\"\"\" OR \"NEAR(x)\" OR \"-y\" OR \"*\"");
    assert_int_equal(n, 5);
    free(q);
    q = mem_fts_query("  \t\n ", 5, &n);
    assert_string_equal(q, "");
    assert_int_equal(n, 0);
    free(q);
    q = mem_fts_query("a\0b", 3, &n); /* NUL separates */
    assert_string_equal(q, "\"a\" OR \"b\"");
    free(q);

    char *dir = temp_dir();
    mem_store *st = open_store(dir);
    put_corpus(st);
    static const char *const inputs[] = {
        "\"", "\"\"", "AND", "OR", "NOT", "a AND", "*", "a*", "NEAR(", "NEAR(a b, 3)", "-x", "-", "+", "^",
        "(", ")", "((a", "{text title}: x", "text:", "title:baking", "col:x", "'", "''", "\\", ":", ".",
        "", " ", "wifi\"password", "\xff\xfe", "\xe2\x82", "caf\xc3\xa9", "💾 emoji", "\x01\x02", "a OR b NOT c",
    };
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        mem_hit h[5];
        int got = -1;
        const mote_status rc =
            mem_store_search(st, &(mem_query){.mode = MEM_SEARCH_BM25, .text = inputs[i], .kind = -1}, h, 5, &got);
        if (rc != MOTE_OK) fail_msg("query <%s>: %s", inputs[i], mote_last_error());
        mem_hits_free(h, got);
    }
    /* the words still count: a quote glued to a word still finds it */
    assert_string_equal(top_source(st, "wifi\"password"), "/home/notes/router.md");
    assert_string_equal(top_source(st, "title:baking"), "(none)"); /* one word, not a column filter */
    mem_store_close(st);
    remove_dir(dir);
}

static mode_t mode_of(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0) fail_msg("stat %s: %s", path, strerror(errno));
    return sb.st_mode & 07777;
}

static void test_file_modes(void **state)
{
    (void)state;
    char *dir = temp_dir();
    char sub[4096], path[4200];
    snprintf(sub, sizeof sub, "%s/deep/er", dir);
    const mode_t old = umask(0);
    mem_store *st = open_store(sub);
    put_texts(st, "/a.txt", MEM_TEXT, 2, NULL, 1);
    snprintf(path, sizeof path, "%s/deep", dir);
    assert_int_equal(mode_of(path), 0700);
    assert_int_equal(mode_of(sub), 0700);
    snprintf(path, sizeof path, "%s/" MEM_STORE_DB, sub);
    assert_int_equal(mode_of(path), 0600);
    snprintf(path, sizeof path, "%s/" MEM_STORE_DB "-wal", sub);
    assert_int_equal(mode_of(path), 0600);
    snprintf(path, sizeof path, "%s/" MEM_STORE_DB "-shm", sub);
    assert_int_equal(mode_of(path), 0600);
    mem_store_close(st);
    /* an existing database readable by others is made private */
    snprintf(path, sizeof path, "%s/" MEM_STORE_DB, sub);
    assert_int_equal(chmod(path, 0644), 0);
    st = open_store(sub);
    assert_int_equal(mode_of(path), 0600);
    mem_store_close(st);
    umask(077); /* a strict umask changes nothing */
    snprintf(sub, sizeof sub, "%s/strict", dir);
    st = open_store(sub);
    assert_int_equal(mode_of(sub), 0700);
    mem_store_close(st);
    umask(old);
    remove_dir(dir);
}

static void test_reopen_persists(void **state)
{
    (void)state;
    char *dir = temp_dir();
    mem_store *st = open_store(dir);
    assert_int_equal(mem_store_embedder(st, "test-embedder", DIM), MOTE_OK);
    put_corpus(st);
    const mem_store_stats before = stats(st);
    mem_store_close(st);
    st = open_store(dir);
    const mem_store_stats after = stats(st);
    assert_int_equal(after.n_sources, N_CORPUS);
    assert_int_equal(after.n_chunks, before.n_chunks);
    assert_int_equal(after.n_vectors, before.n_vectors);
    assert_int_equal(after.updated_at, before.updated_at);
    assert_string_equal(after.embed_model, "test-embedder");
    assert_int_equal(after.embed_dim, DIM);
    assert_true(after.db_bytes > 0);
    assert_string_equal(top_source(st, "wifi password"), "/home/notes/router.md");
    /* the vectors were loaded: corpus[3]'s own vector finds it */
    float *v = random_vectors(1, 103);
    mem_hit h[1];
    assert_int_equal(search(st, &(mem_query){.mode = MEM_SEARCH_VECTOR, .vec = v, .dim = DIM, .kind = -1}, h, 1), 1);
    assert_string_equal(h[0].source, corpus[3].path);
    assert_true(h[0].score > 0.99f);
    mem_hits_free(h, 1);
    free(v);
    assert_int_equal(mem_store_verify(st), MOTE_OK);
    mem_store_close(st);
    remove_dir(dir);
}

/* A second connection (another process, as `mote memory add` beside a
 * server) commits: the first one's vector search sees it. */
static void test_sees_other_writers(void **state)
{
    (void)state;
    char *dir = temp_dir();
    mem_store *reader = open_store(dir), *writer = open_store(dir);
    put_texts(writer, "/one.txt", MEM_TEXT, 3, NULL, 61);
    float *v = random_vectors(3, 61);
    mem_hit h[4];
    int n = search(reader, &(mem_query){.mode = MEM_SEARCH_VECTOR, .vec = v, .dim = DIM, .kind = -1}, h, 4);
    assert_int_equal(n, 3);
    mem_hits_free(h, n);
    assert_int_equal(mem_store_remove(writer, "/one.txt", NULL), MOTE_OK);
    n = search(reader, &(mem_query){.mode = MEM_SEARCH_VECTOR, .vec = v, .dim = DIM, .kind = -1}, h, 4);
    assert_int_equal(n, 0);
    free(v);
    mem_store_close(reader);
    mem_store_close(writer);
    remove_dir(dir);
}

static void test_dimension_mismatch(void **state)
{
    (void)state;
    char *dir = temp_dir();
    mem_store *st = open_store(dir);
    put_texts(st, "/a.txt", MEM_TEXT, 2, NULL, 1); /* records DIM */
    assert_int_equal(mem_store_embedder(st, "model-a", DIM), MOTE_OK);
    assert_int_equal(mem_store_embedder(st, "model-a", DIM), MOTE_OK);
    assert_int_equal(mem_store_embedder(st, "model-b", DIM), MOTE_E_INVALID);
    assert_non_null(strstr(mote_last_error(), "model-a"));
    assert_int_equal(mem_store_embedder(st, "model-a", DIM * 2), MOTE_E_INVALID);
    mem_doc d = make_doc("/b.txt", MEM_TEXT, 1, NULL);
    char hex[MEM_HASH_HEX + 1];
    const mem_source_stamp s = stamp_of(&d, hex);
    float v[2 * DIM] = {1};
    assert_int_equal(mem_store_put(st, &d, &s, v, 2 * DIM), MOTE_E_INVALID);
    assert_non_null(strstr(mote_last_error(), "dims"));
    assert_non_null(strstr(mote_last_error(), "/b.txt"));
    mem_hit h[1];
    int n;
    assert_int_equal(mem_store_search(st, &(mem_query){.mode = MEM_SEARCH_VECTOR, .vec = v, .dim = 2 * DIM, .kind = -1},
                                      h, 1, &n),
                     MOTE_E_INVALID);
    assert_int_equal(n, 0);
    /* and the other argument checks */
    assert_int_equal(mem_store_search(st, &(mem_query){.mode = MEM_SEARCH_VECTOR, .kind = -1}, h, 1, &n),
                     MOTE_E_INVALID);
    assert_int_equal(mem_store_search(st, &(mem_query){.mode = MEM_SEARCH_BM25, .kind = -1}, h, 0, &n), MOTE_E_INVALID);
    assert_int_equal(mem_store_search(st, &(mem_query){.mode = MEM_SEARCH_BM25, .kind = 99}, h, 1, &n), MOTE_E_INVALID);
    mem_store_close(st);
    mem_doc_free(&d);
    remove_dir(dir);
}

/* ------------------------------------------------------------------------
 * Damage
 * ---------------------------------------------------------------------- */

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

static void test_not_a_store(void **state)
{
    (void)state;
    char *dir = temp_dir();
    char path[4200];
    snprintf(path, sizeof path, "%s/" MEM_STORE_DB, dir);
    mem_store *st = NULL;

    /* garbage */
    unsigned char junk[8192];
    uint64_t s = 99;
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (unsigned char)test_rng_next(&s);
    write_file(path, junk, sizeof junk);
    assert_int_equal(mem_store_open(dir, NULL, &st), MOTE_E_FORMAT);
    assert_null(st);
    assert_non_null(strstr(mote_last_error(), path));
    assert_non_null(strstr(mote_last_error(), "not a memory database"));

    /* another program's SQLite database */
    remove(path);
    side_sql(dir, "CREATE TABLE contacts(name TEXT)");
    assert_int_equal(mem_store_open(dir, NULL, &st), MOTE_E_FORMAT);
    assert_non_null(strstr(mote_last_error(), "not a memory database"));

    /* a store from a newer mote */
    remove(path);
    st = open_store(dir);
    mem_store_close(st);
    side_sql(dir, "PRAGMA user_version = 99");
    assert_int_equal(mem_store_open(dir, NULL, &st), MOTE_E_UNSUPPORTED);
    assert_non_null(strstr(mote_last_error(), "newer"));

    /* a VFS by name: the default one's */
    remove(path);
    st = NULL;
    assert_int_equal(mem_store_open(dir, &(mem_store_opts){.vfs = sqlite3_vfs_find(NULL)->zName}, &st), MOTE_OK);
    put_texts(st, "/v.txt", MEM_TEXT, 1, NULL, 1);
    mem_store_close(st);
    st = open_store(dir); /* the same file without naming the VFS */
    assert_int_equal(stats(st).n_chunks, 1);
    mem_store_close(st);

    /* an unknown VFS */
    remove(path);
    assert_int_equal(mem_store_open(dir, &(mem_store_opts){.vfs = "no-such-vfs"}, &st), MOTE_E_INVALID);
    assert_non_null(strstr(mote_last_error(), "no-such-vfs"));
    /* a folder that is a file */
    snprintf(path, sizeof path, "%s/plain", dir);
    write_file(path, "x", 1);
    assert_int_equal(mem_store_open(path, NULL, &st), MOTE_E_IO);
    assert_int_equal(mem_store_open("", NULL, &st), MOTE_E_INVALID);
    remove_dir(dir);
}

/* Garbage over the pages of a real store: whatever fails, it fails with
 * a message, never a crash (the sanitizer build checks the reads). */
static void test_damaged_store(void **state)
{
    (void)state;
    for (int variant = 0; variant < 4; variant++) {
        char *dir = temp_dir();
        mem_store *st = open_store(dir);
        put_corpus(st);
        for (int i = 0; i < 20; i++) {
            char path[32];
            snprintf(path, sizeof path, "/more/%d.txt", i);
            put_texts(st, path, MEM_TEXT, 20, NULL, (uint64_t)i);
        }
        mem_store_close(st); /* checkpoints the WAL into memory.db */
        char path[4200];
        snprintf(path, sizeof path, "%s/" MEM_STORE_DB, dir);
        const int fd = open(path, O_RDWR);
        assert_true(fd >= 0);
        struct stat sb;
        fstat(fd, &sb);
        uint64_t s = 1234 + (uint64_t)variant;
        unsigned char junk[512];
        for (int hit = 0; hit < 8; hit++) {
            for (size_t i = 0; i < sizeof junk; i++) junk[i] = (unsigned char)test_rng_next(&s);
            /* variant 0 spares the first page (the schema), the others do not */
            const off_t lo = variant == 0 ? 4096 : 100;
            const off_t at = lo + (off_t)(test_rng_next(&s) % (uint64_t)(sb.st_size - lo - (off_t)sizeof junk));
            assert_int_equal(pwrite(fd, junk, sizeof junk, at), (ssize_t)sizeof junk);
        }
        close(fd);
        mote_status rc = mem_store_open(dir, NULL, &st);
        if (rc == MOTE_OK) {
            rc = mem_store_verify(st);
            mem_hit h[5];
            int n = 0;
            if (mem_store_search(st, &(mem_query){.mode = MEM_SEARCH_BM25, .text = "the chunk", .kind = -1}, h, 5,
                                 &n) == MOTE_OK)
                mem_hits_free(h, n);
            mem_store_close(st);
        }
        assert_int_not_equal(rc, MOTE_OK);
        assert_non_null(strstr(mote_last_error(), "memory"));
        print_message("damage %d: %s: %s\n", variant, mote_status_name(rc), mote_last_error());
        remove_dir(dir);
    }
}

/* ------------------------------------------------------------------------
 * kill -9 during puts
 * ---------------------------------------------------------------------- */

#define KILL_ROUNDS 4
#define KILL_DOCS 40 /* the child cycles over this many paths, replacing them */

/* The child: put documents of 1 to 30 chunks (with vectors and readings)
 * until killed. */
static void noreturn_writer(const char *dir, uint64_t seed)
{
    mem_store *st = NULL;
    if (mem_store_open(dir, NULL, &st) != MOTE_OK) _exit(3);
    uint64_t s = seed;
    for (int i = 0;; i++) {
        char path[64];
        snprintf(path, sizeof path, "/k/%d.txt", (int)(test_rng_next(&s) % KILL_DOCS));
        const int n = 1 + (int)(test_rng_next(&s) % 30);
        mem_doc d = make_doc(path, MEM_TEXT, n, NULL);
        d.n_readings = (size_t)(test_rng_next(&s) % 50);
        d.readings = calloc(d.n_readings + 1, sizeof *d.readings);
        for (size_t r = 0; r < d.n_readings; r++)
            d.readings[r] = (mem_reading){.t_ms = (int64_t)r, .series = strdup("s")};
        char hex[MEM_HASH_HEX + 1];
        mem_source_stamp stamp = stamp_of(&d, hex);
        float *v = random_vectors(n, s);
        if (mem_store_put(st, &d, &stamp, v, DIM) != MOTE_OK) _exit(4);
        free(v);
        mem_doc_free(&d);
        if (i % 7 == 3) {
            snprintf(path, sizeof path, "/k/%d.txt", (int)(test_rng_next(&s) % KILL_DOCS));
            if (mem_store_remove(st, path, NULL) != MOTE_OK) _exit(5);
        }
    }
}

static void test_kill9_durability(void **state)
{
    (void)state;
    char *dir = temp_dir();
    uint64_t s = (uint64_t)time(NULL) ^ (uint64_t)getpid(); /* a different moment each run */
    for (int round = 0; round < KILL_ROUNDS; round++) {
        const pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) noreturn_writer(dir, test_rng_next(&s));
        /* 20 to 400 ms in: after some puts, in the middle of one */
        const long ms = 20 + (long)(test_rng_next(&s) % 380);
        nanosleep(&(struct timespec){.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L}, NULL);
        kill(pid, SIGKILL);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFSIGNALED(status))
            fail_msg("the writer exited by itself (status %d) before the kill", WEXITSTATUS(status));

        mem_store *st = open_store(dir);
        if (mem_store_verify(st) != MOTE_OK) fail_msg("round %d (%ld ms): %s", round, ms, mote_last_error());
        mem_source_info *list;
        int n;
        assert_int_equal(mem_store_sources(st, NULL, &list, &n), MOTE_OK);
        const mem_store_stats t = stats(st);
        int64_t chunks = 0;
        for (int i = 0; i < n; i++) {
            assert_true(list[i].complete);
            chunks += list[i].n_chunks;
            /* the stored hash is that of the stored version (the writer's
             * texts depend only on the chunk count): a file whose put was
             * killed keeps its old hash, so the next ingest redoes it */
            mem_doc d = make_doc(list[i].path, MEM_TEXT, list[i].n_chunks, NULL);
            char hex[MEM_HASH_HEX + 1];
            stamp_of(&d, hex);
            assert_string_equal(list[i].hash, hex);
            mem_doc_free(&d);
        }
        assert_int_equal(chunks, t.n_chunks);
        assert_int_equal(t.n_vectors, t.n_chunks);
        /* and the in-memory vectors agree: a search over everything sees them all (up to k) */
        float *q = random_vectors(1, 5);
        mem_hit h[MEM_SEARCH_K_MAX];
        int got = search(st, &(mem_query){.mode = MEM_SEARCH_VECTOR, .vec = q, .dim = DIM, .kind = -1}, h,
                         MEM_SEARCH_K_MAX);
        assert_int_equal(got, t.n_chunks < MEM_SEARCH_K_MAX ? t.n_chunks : MEM_SEARCH_K_MAX);
        mem_hits_free(h, got);
        free(q);
        print_message("kill -9 round %d after %ld ms: %d sources, %lld chunks, all complete\n", round, ms, n,
                      (long long)t.n_chunks);
        mem_sources_free(list, n);
        mem_store_close(st);
    }
    remove_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_put_replace_remove),
        cmocka_unit_test(test_put_refuses_bad_input),
        cmocka_unit_test(test_readings),
        cmocka_unit_test(test_sources_list),
        cmocka_unit_test(test_put_is_one_transaction),
        cmocka_unit_test(test_known_vectors),
        cmocka_unit_test(test_bm25_known_answers),
        cmocka_unit_test(test_vector_planted_first),
        cmocka_unit_test(test_quantize),
        cmocka_unit_test(test_rrf),
        cmocka_unit_test(test_hybrid_is_rrf),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_index_in_step),
        cmocka_unit_test(test_fts_syntax_is_text),
        cmocka_unit_test(test_file_modes),
        cmocka_unit_test(test_reopen_persists),
        cmocka_unit_test(test_sees_other_writers),
        cmocka_unit_test(test_dimension_mismatch),
        cmocka_unit_test(test_not_a_store),
        cmocka_unit_test(test_damaged_store),
        cmocka_unit_test(test_kill9_durability),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
