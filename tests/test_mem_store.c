/*
 * test_mem_store.c — the private memory's store (src/memory/store.h),
 * everything but searching (test_mem_search.c):
 *   - put / replace / remove, the counts, the content hash that lets a
 *     caller skip an unchanged file, sensor readings; a changed file's
 *     unchanged chunks get their stored vectors back (same bytes);
 *   - one transaction per put: a failure half-way (a trigger that aborts
 *     at the third chunk) leaves the old version, in the database and in
 *     the in-memory vectors;
 *   - folder 0700 and files 0600 under a permissive umask; reopening
 *     keeps everything; another connection's commits are seen; another
 *     embedding model or dimension is refused;
 *   - garbage, another program's database, a newer schema and an unknown
 *     VFS are errors, a damaged database is an error and not a crash;
 *   - kill -9 of a process in the middle of puts leaves a database that
 *     opens, passes mem_store_verify, and holds only complete sources,
 *     each with the hash of the version it holds.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mem_testutil.h"
#include "memory/vault.h"

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
 * Files, reopening, other connections, the embedding model
 * ---------------------------------------------------------------------- */

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

/* An encrypted store (the vault): it works as a plain one through its
 * key; its files hold none of the text; without the key, or with another,
 * it does not open; meta settings persist. */
static void test_encrypted_store(void **state)
{
    (void)state;
    char *dir = temp_dir();
    uint8_t key[MEM_VAULT_KEY_BYTES], other[MEM_VAULT_KEY_BYTES];
    for (int i = 0; i < MEM_VAULT_KEY_BYTES; i++) key[i] = (uint8_t)(i * 7 + 1), other[i] = (uint8_t)(i * 7 + 2);
    mem_vault *v = NULL;
    assert_int_equal(mem_vault_new(key, &v), MOTE_OK);
    mem_store_opts o = {.vault = v};
    mem_store *st = NULL;
    if (mem_store_open(dir, &o, &st) != MOTE_OK) fail_msg("open: %s", mote_last_error());
    const char *texts[] = {"the secret walnut recipe needs honey", "zebra crossing"};
    mem_doc d = make_doc("/notes/secret.md", MEM_MARKDOWN, 2, texts);
    char hex[MEM_HASH_HEX + 1];
    mem_source_stamp stamp = stamp_of(&d, hex);
    assert_int_equal(mem_store_put(st, &d, &stamp, NULL, 0), MOTE_OK);
    assert_int_equal(mem_store_meta_set(st, "embed_model_path", "/models/e.gguf"), MOTE_OK);
    assert_int_equal(mem_store_meta_set(st, "embed_dim", "3"), MOTE_E_INVALID);
    mem_store_close(st);
    mem_doc_free(&d);

    /* no plaintext in the files */
    char path[4096];
    for (int f = 0; f < 2; f++) {
        snprintf(path, sizeof path, "%s/memory.db%s", dir, f ? "-wal" : "");
        size_t len = 0;
        char *raw = read_file(path, &len);
        if (!raw) continue;
        assert_null(memmem(raw, len, "walnut", 6));
        assert_null(memmem(raw, len, "SQLite format 3", 15));
        free(raw);
    }
    /* reopened with the key: found, and the setting kept */
    assert_int_equal(mem_store_open(dir, &o, &st), MOTE_OK);
    mem_query q = {.mode = MEM_SEARCH_BM25, .text = "walnut", .kind = -1};
    mem_hit hits[4];
    int n = 0;
    assert_int_equal(mem_store_search(st, &q, hits, 4, &n), MOTE_OK);
    assert_int_equal(n, 1);
    assert_non_null(strstr(hits[0].text, "walnut"));
    mem_hits_free(hits, n);
    char buf[64];
    int found = 0;
    assert_int_equal(mem_store_meta_get(st, "embed_model_path", buf, sizeof buf, &found), MOTE_OK);
    assert_true(found);
    assert_string_equal(buf, "/models/e.gguf");
    assert_int_equal(mem_store_meta_get(st, "nothing", buf, sizeof buf, &found), MOTE_OK);
    assert_false(found);
    mem_store_close(st);
    /* without its key, or with another */
    assert_int_equal(mem_store_open(dir, NULL, &st), MOTE_E_INVALID);
    assert_non_null(strstr(mote_last_error(), "encrypted"));
    mem_vault *w = NULL;
    assert_int_equal(mem_vault_new(other, &w), MOTE_OK);
    o.vault = w;
    assert_int_not_equal(mem_store_open(dir, &o, &st), MOTE_OK);
    assert_null(st);
    mem_vault_free(w);
    mem_vault_free(v);
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
        cmocka_unit_test(test_known_vectors),
        cmocka_unit_test(test_put_is_one_transaction),
        cmocka_unit_test(test_file_modes),
        cmocka_unit_test(test_reopen_persists),
        cmocka_unit_test(test_sees_other_writers),
        cmocka_unit_test(test_dimension_mismatch),
        cmocka_unit_test(test_not_a_store),
        cmocka_unit_test(test_damaged_store),
        cmocka_unit_test(test_kill9_durability),
        cmocka_unit_test(test_encrypted_store),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
