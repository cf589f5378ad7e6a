/*
 * test_mem_vault.c — the memory store's encryption at rest (src/memory/vault.c).
 *
 * Every test writes a database through a vault with a marker word that
 * must never appear in the files' raw bytes, then reads it back through
 * the vault: FTS5 finds the rows and PRAGMA integrity_check says ok. The
 * rest: a wrong key, a plaintext database, damaged bytes, two vaults in
 * one process, a writer killed in the middle (WAL and rollback journal
 * recovery through the vault), key files.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "memory/vault.h"
#include "testutil.h"

#define MARKER "zebraquartz7731"
#define ROWS 1500 /* ~150 KiB of text: dozens of pages and WAL frames */

static const uint8_t key1[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const uint8_t key2[32] = {0xee, 0xdd, 0xcc, 0xbb};

static struct {
    char dir[512];
    mem_vault *v1, *v2;
} fx;

/* fx.dir/name in one of a ring of buffers: a test keeps up to 64 alive. */
static const char *path_in(const char *name)
{
    static char buf[64][600];
    static int next;
    char *p = buf[next++ % 64];
    snprintf(p, sizeof buf[0], "%s/%s", fx.dir, name);
    return p;
}

static void exec_ok(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s (vault: %s)", sql, err, mem_vault_last_error() ? mem_vault_last_error() : "-");
}

static long long query_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    if (sqlite3_step(st) != SQLITE_ROW) fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    long long x = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return x;
}

/* PRAGMA integrity_check's answer; "ok" when the database is sound. */
static int integrity(sqlite3 *db, char *out, size_t cap)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
        rc = SQLITE_OK;
    } else {
        snprintf(out, cap, "%s", sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
    return rc;
}

static void assert_sound(sqlite3 *db)
{
    char res[256];
    if (integrity(db, res, sizeof res) != SQLITE_OK || strcmp(res, "ok") != 0)
        fail_msg("integrity_check: %s (vault: %s)", res, mem_vault_last_error() ? mem_vault_last_error() : "-");
}

static sqlite3 *vopen(mem_vault *v, const char *path)
{
    sqlite3 *db = NULL;
    if (mem_vault_open(v, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &db) != MOTE_OK)
        fail_msg("mem_vault_open %s: %s", path, mote_last_error());
    return db;
}

/* The store's shape: an FTS5 table and a normal one, ROWS rows each
 * carrying the marker, in several transactions. */
static void fill(sqlite3 *db, int rows)
{
    exec_ok(db, "CREATE VIRTUAL TABLE IF NOT EXISTS notes USING fts5(body);"
                "CREATE TABLE IF NOT EXISTS plain(id INTEGER PRIMARY KEY, body TEXT);");
    sqlite3_stmt *a = NULL, *b = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO notes(body) VALUES (?)", -1, &a, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO plain(body) VALUES (?)", -1, &b, NULL), SQLITE_OK);
    char text[160];
    for (int i = 0; i < rows; i++) {
        if (i % 300 == 0) exec_ok(db, i ? "COMMIT; BEGIN" : "BEGIN");
        snprintf(text, sizeof text, "note %d about the kitchen sensor, " MARKER " and some words %d", i, i * 7);
        sqlite3_bind_text(a, 1, text, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(b, 1, text, -1, SQLITE_TRANSIENT);
        assert_int_equal(sqlite3_step(a), SQLITE_DONE);
        assert_int_equal(sqlite3_step(b), SQLITE_DONE);
        sqlite3_reset(a);
        sqlite3_reset(b);
    }
    exec_ok(db, "COMMIT");
    sqlite3_finalize(a);
    sqlite3_finalize(b);
}

static void assert_rows(sqlite3 *db, long long n)
{
    assert_int_equal(query_int(db, "SELECT count(*) FROM notes WHERE notes MATCH '" MARKER "'"), n);
    assert_int_equal(query_int(db, "SELECT count(*) FROM plain WHERE body LIKE '%" MARKER "%'"), n);
    assert_sound(db);
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* The file's raw bytes hold neither the marker nor SQLite's magic. */
static void assert_opaque(const char *path)
{
    size_t len = 0;
    char *bytes = read_file(path, &len);
    if (!bytes) return; /* absent: nothing to leak */
    if (memmem(bytes, len, MARKER, strlen(MARKER))) fail_msg("%s holds the marker in clear", path);
    if (memmem(bytes, len, "SQLite format 3", 15)) fail_msg("%s holds SQLite's header in clear", path);
    free(bytes);
}

static void remove_db(const char *name)
{
    char p[700];
    const char *suffix[] = {"", "-wal", "-shm", "-journal"};
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s%s", fx.dir, name, suffix[i]);
        unlink(p);
    }
}

/* ------------------------------------------------------------------------ */

static void test_wal_checkpointed(void **state)
{
    (void)state;
    const char *db_path = path_in("ckpt.db"), *wal = path_in("ckpt.db-wal");
    sqlite3 *db = vopen(fx.v1, db_path);
    exec_ok(db, "PRAGMA journal_mode=WAL");
    fill(db, ROWS);
    assert_true(file_size(wal) > 10 * 4096); /* the last transactions are in the WAL */
    assert_opaque(db_path);
    assert_opaque(wal);
    exec_ok(db, "PRAGMA wal_checkpoint(FULL)");
    assert_opaque(db_path);
    assert_true(file_size(db_path) > 20 * 4096);
    assert_rows(db, ROWS);
    sqlite3_close(db);
    assert_opaque(db_path);

    size_t len = 0;
    char *bytes = read_file(db_path, &len);
    assert_non_null(bytes);
    assert_memory_equal(bytes, "mote-vault", 10);
    free(bytes);

    db = vopen(fx.v1, db_path);
    assert_rows(db, ROWS);
    assert_int_equal(query_int(db, "PRAGMA page_size"), 4096);
    exec_ok(db, "DELETE FROM plain WHERE id % 2 = 0; VACUUM");
    assert_int_equal(query_int(db, "SELECT count(*) FROM plain"), ROWS / 2);
    assert_sound(db);
    sqlite3_close(db);
    assert_opaque(db_path);
    db = NULL;
    assert_int_equal(mem_vault_open(fx.v1, db_path, SQLITE_OPEN_READONLY, &db), MOTE_OK);
    assert_int_equal(query_int(db, "SELECT count(*) FROM notes WHERE notes MATCH '" MARKER "'"), ROWS);
    assert_int_not_equal(sqlite3_exec(db, "DELETE FROM plain", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    remove_db("ckpt.db");
}

static void test_wal_not_checkpointed(void **state)
{
    (void)state;
    const char *db_path = path_in("wal.db"), *wal = path_in("wal.db-wal");
    sqlite3 *db = vopen(fx.v1, db_path);
    exec_ok(db, "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0");
    assert_int_equal(sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL), SQLITE_OK);
    fill(db, ROWS);
    sqlite3_close(db);
    assert_true(file_size(wal) > 20 * (4096 + 24)); /* everything still in the WAL */
    assert_opaque(db_path);
    assert_opaque(wal);
    /* Frame headers are masked: the first frame's salts are not the
     * WAL header's in clear. */
    size_t len = 0;
    char *bytes = read_file(wal, &len);
    assert_non_null(bytes);
    assert_true(memcmp(bytes + 16, bytes + 32 + 8, 8) != 0);
    free(bytes);

    /* Reopening recovers the WAL through the vault (frame checksums hold). */
    db = vopen(fx.v1, db_path);
    assert_rows(db, ROWS);
    fill(db, 10);
    assert_rows(db, ROWS + 10);
    sqlite3_close(db);
    assert_opaque(db_path);
    remove_db("wal.db");
}

static void test_rollback_journal(void **state)
{
    (void)state;
    const char *db_path = path_in("journal.db"), *journal = path_in("journal.db-journal");
    sqlite3 *db = vopen(fx.v1, db_path);
    /* PERSIST leaves the journal (old page images) on disk to inspect. */
    exec_ok(db, "PRAGMA journal_mode=PERSIST");
    fill(db, ROWS);
    exec_ok(db, "UPDATE plain SET body = body || ' again' WHERE id % 3 = 0");
    exec_ok(db, "BEGIN; DELETE FROM notes WHERE rowid % 2 = 0; ROLLBACK");
    assert_true(file_size(journal) > 4 * 4096);
    assert_opaque(journal);
    assert_opaque(db_path);
    assert_rows(db, ROWS);
    sqlite3_close(db);
    db = vopen(fx.v1, db_path);
    assert_rows(db, ROWS);
    sqlite3_close(db);
    remove_db("journal.db");
}

/* A temp table and a sort larger than the cache go through the vault's
 * temporary files when temp_store is FILE. */
static void test_temp_files(void **state)
{
    (void)state;
    sqlite3 *db = vopen(fx.v1, path_in("temp.db"));
    exec_ok(db, "PRAGMA temp_store=FILE; PRAGMA cache_size=-64");
    fill(db, ROWS);
    /* ~4.5 MiB: more than the temp database's cache, so it spills. */
    exec_ok(db, "CREATE TEMP TABLE t AS SELECT body, randomblob(3000) AS pad FROM plain");
    assert_int_equal(query_int(db, "SELECT count(*) FROM t WHERE body LIKE '%" MARKER "%'"), ROWS);
    assert_int_equal(query_int(db, "SELECT count(*) FROM (SELECT body || hex(randomblob(1500)) AS b "
                                   "FROM plain ORDER BY b)"), ROWS);
    /* SQLite unlinks its temporary files at once; look at them through
     * this process's open descriptors. */
    int temp_files = 0;
    char link[64], target[700];
    for (int fd = 3; fd < 256; fd++) {
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n <= 0) continue;
        target[n] = 0;
        if (!strstr(target, "etilqs_")) continue;
        temp_files++;
        assert_opaque(link);
    }
    assert_true(temp_files > 0);
    sqlite3_close(db);
    remove_db("temp.db");
}

static void test_wrong_key(void **state)
{
    (void)state;
    const char *db_path = path_in("wrong.db");
    sqlite3 *db = vopen(fx.v1, db_path);
    fill(db, 50);
    sqlite3_close(db);
    db = NULL;
    assert_int_equal(mem_vault_open(fx.v2, db_path, SQLITE_OPEN_READWRITE, &db), MOTE_E_FORMAT);
    assert_null(db);
    assert_non_null(strstr(mote_last_error(), "wrong key or not a mote vault"));
    db = vopen(fx.v1, db_path); /* the right key still opens it */
    assert_rows(db, 50);
    sqlite3_close(db);
    remove_db("wrong.db");
}

static void test_plaintext_and_vault_mixed(void **state)
{
    (void)state;
    /* A plaintext database opened through a vault. */
    const char *plain = path_in("plain.db");
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(plain, &db), SQLITE_OK);
    exec_ok(db, "CREATE TABLE t(x); INSERT INTO t VALUES ('" MARKER "')");
    sqlite3_close(db);
    db = NULL;
    assert_int_equal(mem_vault_open(fx.v1, plain, SQLITE_OPEN_READWRITE, &db), MOTE_E_FORMAT);
    assert_non_null(strstr(mote_last_error(), "plaintext SQLite database"));

    /* A vault opened as a plaintext database. */
    const char *enc = path_in("enc.db");
    db = vopen(fx.v1, enc);
    fill(db, 10);
    sqlite3_close(db);
    assert_int_equal(sqlite3_open_v2(enc, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "SELECT count(*) FROM plain", NULL, NULL, NULL), SQLITE_NOTADB);
    sqlite3_close(db);

    /* Some other file. */
    const char *junk = path_in("junk.db");
    FILE *f = fopen(junk, "w");
    assert_non_null(f);
    fputs("these are not the pages you are looking for\n", f);
    fclose(f);
    assert_int_equal(mem_vault_open(fx.v1, junk, SQLITE_OPEN_READWRITE, &db), MOTE_E_FORMAT);
    assert_non_null(strstr(mote_last_error(), "not a mote vault"));
    remove_db("plain.db");
    remove_db("enc.db");
    remove_db("junk.db");
}

/* Opened through the VFS without the reserved bytes: writes are refused
 * with a reason, never silently cut. */
static void test_reserve_missing(void **state)
{
    (void)state;
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path_in("noreserve.db"), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                     mem_vault_vfs_name(fx.v1)),
                     SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL), SQLITE_OK);
    assert_non_null(mem_vault_last_error());
    assert_non_null(strstr(mem_vault_last_error(), "reserve"));
    sqlite3_close(db);
    remove_db("noreserve.db");
}

static void flip_byte(const char *path, long off)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    unsigned char c;
    assert_int_equal(pread(fd, &c, 1, off), 1);
    c ^= 0x20;
    assert_int_equal(pwrite(fd, &c, 1, off), 1);
    close(fd);
}

static void test_tampering(void **state)
{
    (void)state;
    const char *db_path = path_in("tamper.db");
    sqlite3 *db = vopen(fx.v1, db_path);
    exec_ok(db, "PRAGMA journal_mode=WAL");
    fill(db, ROWS);
    exec_ok(db, "PRAGMA wal_checkpoint(TRUNCATE)");
    sqlite3_close(db);

    /* A byte in the middle of page 8: reading it fails, with the reason. */
    flip_byte(db_path, 4096 + 7 * 4096 + 1000);
    db = NULL;
    if (mem_vault_open(fx.v1, db_path, SQLITE_OPEN_READWRITE, &db) == MOTE_OK) {
        char res[256];
        int rc = integrity(db, res, sizeof res); /* reports it as a row */
        assert_true(rc != SQLITE_OK || strcmp(res, "ok") != 0);
        assert_int_equal(sqlite3_exec(db, "SELECT * FROM plain; SELECT * FROM notes_content;"
                                          "SELECT * FROM notes_data", NULL, NULL, NULL),
                         SQLITE_IOERR);
        sqlite3_close(db);
    }
    assert_non_null(mem_vault_last_error());
    assert_non_null(strstr(mem_vault_last_error(), "database page 8 does not authenticate"));
    flip_byte(db_path, 4096 + 7 * 4096 + 1000); /* undo: sound again */
    db = vopen(fx.v1, db_path);
    assert_rows(db, ROWS);
    sqlite3_close(db);

    /* The vault header: the key check fails. */
    flip_byte(db_path, 20);
    assert_int_equal(mem_vault_open(fx.v1, db_path, SQLITE_OPEN_READWRITE, &db), MOTE_E_FORMAT);
    assert_non_null(strstr(mote_last_error(), "wrong key or not a mote vault"));
    flip_byte(db_path, 20);

    /* A tag in the WAL: the frame is dropped like a torn write (the
     * transactions from it on are lost), or reading fails; never a crash. */
    db = vopen(fx.v1, db_path);
    exec_ok(db, "PRAGMA wal_autocheckpoint=0");
    assert_int_equal(sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL), SQLITE_OK);
    fill(db, 300);
    sqlite3_close(db);
    flip_byte(path_in("tamper.db-wal"), 32 + 2 * (24 + 4096) + 24 + 4096 - 1);
    if (mem_vault_open(fx.v1, db_path, SQLITE_OPEN_READWRITE, &db) == MOTE_OK) {
        long long n = query_int(db, "SELECT count(*) FROM plain");
        assert_true(n >= ROWS && n <= ROWS + 300);
        sqlite3_close(db);
    }
    remove_db("tamper.db");
}

static void write_whole(const char *path, const char *bytes, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* Random bytes damaged in the database or its WAL, many times over: every
 * open and query either works or fails with an error; none crashes (run
 * under ASan). */
static void test_random_damage(void **state)
{
    (void)state;
    char db_path[600], wal[600], shm[600];
    snprintf(db_path, sizeof db_path, "%s", path_in("damage.db"));
    snprintf(wal, sizeof wal, "%s", path_in("damage.db-wal"));
    snprintf(shm, sizeof shm, "%s", path_in("damage.db-shm"));
    sqlite3 *db = vopen(fx.v1, db_path);
    exec_ok(db, "PRAGMA journal_mode=WAL");
    fill(db, 600);
    exec_ok(db, "PRAGMA wal_checkpoint(FULL); PRAGMA wal_autocheckpoint=0");
    assert_int_equal(sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL), SQLITE_OK);
    fill(db, 300);
    sqlite3_close(db);
    size_t db_len = 0, wal_len = 0;
    char *db_bytes = read_file(db_path, &db_len), *wal_bytes = read_file(wal, &wal_len);
    assert_non_null(db_bytes);
    assert_non_null(wal_bytes);
    assert_true(wal_len > 32);

    uint64_t rng = 0x5eed;
    int opened = 0, failed = 0, detected = 0;
    for (int round = 0; round < 40; round++) {
        char *d = malloc(db_len), *w = malloc(wal_len);
        memcpy(d, db_bytes, db_len);
        memcpy(w, wal_bytes, wal_len);
        int flips = 1 + (int)(test_rng_next(&rng) % 4);
        for (int i = 0; i < flips; i++) {
            int in_wal = (int)(test_rng_next(&rng) & 1);
            size_t at = (size_t)(test_rng_next(&rng) % (in_wal ? wal_len : db_len));
            (in_wal ? w : d)[at] ^= (char)(1 + test_rng_next(&rng) % 255);
        }
        write_whole(db_path, d, db_len);
        write_whole(wal, w, wal_len);
        unlink(shm);
        free(d);
        free(w);
        db = NULL;
        if (mem_vault_open(fx.v1, db_path, SQLITE_OPEN_READWRITE, &db) != MOTE_OK) {
            failed++;
            continue;
        }
        opened++;
        char res[256];
        if (integrity(db, res, sizeof res) != SQLITE_OK || strcmp(res, "ok") != 0) detected++;
        sqlite3_exec(db, "SELECT count(*) FROM notes WHERE notes MATCH '" MARKER "';"
                         "SELECT * FROM plain; INSERT INTO plain(body) VALUES ('after')",
                     NULL, NULL, NULL);
        sqlite3_close(db);
    }
    print_message("random damage: %d refused at open, %d opened: %d found damaged by integrity_check\n",
                  failed, opened, detected);
    assert_true(failed + detected > 0);
    free(db_bytes);
    free(wal_bytes);
    remove_db("damage.db");
}

static void test_two_vaults(void **state)
{
    (void)state;
    const char *p1 = path_in("one.db"), *p2 = path_in("two.db");
    sqlite3 *a = vopen(fx.v1, p1), *b = vopen(fx.v2, p2);
    exec_ok(a, "PRAGMA journal_mode=WAL");
    exec_ok(b, "PRAGMA page_size=8192; PRAGMA journal_mode=WAL"); /* keeps the reserve */
    fill(a, 200);
    fill(b, 300);
    fill(a, 100);
    assert_rows(a, 300);
    assert_rows(b, 300);
    assert_int_equal(query_int(b, "PRAGMA page_size"), 8192);
    /* A second connection to each, while the first is open. */
    sqlite3 *a2 = vopen(fx.v1, p1);
    assert_rows(a2, 300);
    sqlite3_close(a2);
    sqlite3 *cross = NULL;
    assert_int_equal(mem_vault_open(fx.v2, p1, SQLITE_OPEN_READWRITE, &cross), MOTE_E_FORMAT);
    sqlite3_close(a);
    sqlite3_close(b);
    assert_opaque(p1);
    assert_opaque(p2);
    remove_db("one.db");
    remove_db("two.db");
}

/* Changing the key, exporting in clear and importing a plaintext
 * database are a VACUUM INTO a URI that names the other VFS. */
static void test_rekey_and_export(void **state)
{
    (void)state;
    const char *old_path = path_in("old.db"), *new_path = path_in("rekeyed.db"), *plain = path_in("export.db");
    sqlite3 *db = NULL;
    assert_int_equal(mem_vault_open(fx.v1, old_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, &db),
                     MOTE_OK);
    exec_ok(db, "PRAGMA journal_mode=WAL");
    fill(db, 200);
    char sql[1400];
    snprintf(sql, sizeof sql, "VACUUM INTO 'file:%s?vfs=%s'", new_path, mem_vault_vfs_name(fx.v2));
    exec_ok(db, sql);
    snprintf(sql, sizeof sql, "VACUUM INTO 'file:%s?vfs=unix'", plain);
    exec_ok(db, sql);
    sqlite3_close(db);
    assert_opaque(new_path);

    db = vopen(fx.v2, new_path);
    assert_rows(db, 200);
    sqlite3_close(db);
    assert_int_equal(mem_vault_open(fx.v1, new_path, SQLITE_OPEN_READWRITE, &db), MOTE_E_FORMAT);

    /* And back in: a plaintext database asks for the reserve first, so
     * that the copy has room for nonces and tags. */
    assert_int_equal(sqlite3_open_v2(plain, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI, NULL), SQLITE_OK);
    assert_rows(db, 200);
    int reserve = MEM_VAULT_RESERVE;
    assert_int_equal(sqlite3_file_control(db, "main", SQLITE_FCNTL_RESERVE_BYTES, &reserve), SQLITE_OK);
    snprintf(sql, sizeof sql, "VACUUM INTO 'file:%s?vfs=%s'", path_in("imported.db"), mem_vault_vfs_name(fx.v1));
    exec_ok(db, sql);
    sqlite3_close(db);
    assert_opaque(path_in("imported.db"));
    db = vopen(fx.v1, path_in("imported.db"));
    assert_rows(db, 200);
    sqlite3_close(db);
    remove_db("imported.db");
    remove_db("old.db");
    remove_db("rekeyed.db");
    remove_db("export.db");
}

/* Two connections take turns writing, with checkpoints that restart the
 * WAL (new salts) and a cache so small that a transaction writes the same
 * page to the WAL twice (SQLite then rewrites frame checksums, reading
 * frame headers back); then the WAL is recovered from scratch. */
static void test_two_writers(void **state)
{
    (void)state;
    const char *db_path = path_in("writers.db");
    sqlite3 *a = vopen(fx.v1, db_path);
    exec_ok(a, "PRAGMA journal_mode=WAL");
    fill(a, 10);
    sqlite3 *b = vopen(fx.v1, db_path);
    exec_ok(a, "PRAGMA cache_size=5");
    exec_ok(b, "PRAGMA cache_size=5");
    for (int round = 0; round < 6; round++) {
        sqlite3 *w = round % 2 ? b : a;
        fill(w, 100);
        exec_ok(w, "BEGIN; UPDATE plain SET body = body || '.' WHERE id % 5 = 0;"
                   "UPDATE plain SET body = body || '!' WHERE id % 5 = 0; COMMIT");
        exec_ok(round % 3 ? a : b, round % 2 ? "PRAGMA wal_checkpoint(RESTART)" : "PRAGMA wal_checkpoint(PASSIVE)");
    }
    assert_rows(a, 610);
    assert_rows(b, 610);
    sqlite3_close(a);
    exec_ok(b, "PRAGMA wal_autocheckpoint=0");
    assert_int_equal(sqlite3_db_config(b, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL), SQLITE_OK);
    fill(b, 50);
    sqlite3_close(b);
    a = vopen(fx.v1, db_path);
    assert_rows(a, 660);
    /* Every round's updates are there: 122 rows had id % 5 = 0 by the
     * last round, and row 5 got ".!" in all six. */
    assert_int_equal(query_int(a, "SELECT count(*) FROM plain WHERE body LIKE '%.!'"), 122);
    assert_int_equal(query_int(a, "SELECT body LIKE '%.!.!.!.!.!.!' FROM plain WHERE id = 5"), 1);
    sqlite3_close(a);
    remove_db("writers.db");
}

/* A child writes through the vault until it is killed; the database opens
 * sound, with what was committed, through the vault's recovery. */
static void crash_and_recover(const char *name, const char *mode)
{
    const char *db_path = path_in(name);
    sqlite3 *db = vopen(fx.v1, db_path);
    exec_ok(db, mode);
    fill(db, 100);
    sqlite3_close(db);

    int progress[2];
    assert_int_equal(pipe(progress), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        sqlite3 *c = NULL;
        if (mem_vault_open(fx.v1, db_path, SQLITE_OPEN_READWRITE, &c) != MOTE_OK) _exit(2);
        char sql[200];
        for (int i = 0;; i++) {
            snprintf(sql, sizeof sql, "BEGIN; INSERT INTO plain(body) SELECT body FROM plain LIMIT 40;"
                                      "INSERT INTO notes(body) VALUES ('crash %d " MARKER "'); COMMIT", i);
            if (sqlite3_exec(c, sql, NULL, NULL, NULL) != SQLITE_OK) _exit(3);
            if (i == 3 && write(progress[1], "p", 1) != 1) _exit(4);
        }
    }
    /* Kill it a moment after its first commits, wherever it is then. */
    char p;
    assert_int_equal(read(progress[0], &p, 1), 1);
    close(progress[0]);
    close(progress[1]);
    struct timespec ts = {0, 150 * 1000 * 1000};
    nanosleep(&ts, NULL);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, WNOHANG), 0); /* still writing, no error */
    kill(pid, SIGKILL);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));

    db = vopen(fx.v1, db_path);
    assert_sound(db);
    long long notes = query_int(db, "SELECT count(*) FROM notes WHERE notes MATCH '" MARKER "'");
    assert_true(notes > 100);
    assert_int_equal(query_int(db, "SELECT count(*) FROM plain"), 100 + 40 * (notes - 100));
    sqlite3_close(db);
    assert_opaque(db_path);
    remove_db(name);
}

/* Killed in the middle of a transaction that has already written pages
 * (a cache of 5 pages spills them): into the database file with a hot
 * journal beside it, or as uncommitted WAL frames. Reopening rolls back
 * through the vault: the journal's pages decrypt, the frames are ignored. */
static void crash_mid_transaction(const char *name, const char *mode, const char *must_exist)
{
    const char *db_path = path_in(name);
    sqlite3 *db = vopen(fx.v1, db_path);
    exec_ok(db, mode);
    fill(db, ROWS);
    long long before = query_int(db, "SELECT sum(length(body)) FROM plain");
    sqlite3_close(db);

    int ready[2];
    assert_int_equal(pipe(ready), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        sqlite3 *c = NULL;
        if (mem_vault_open(fx.v1, db_path, SQLITE_OPEN_READWRITE, &c) != MOTE_OK) _exit(2);
        if (sqlite3_exec(c, "PRAGMA cache_size=5; BEGIN; UPDATE plain SET body = body || hex(randomblob(50));"
                            "DELETE FROM notes WHERE rowid % 2 = 0",
                         NULL, NULL, NULL) != SQLITE_OK)
            _exit(3);
        if (write(ready[1], "r", 1) != 1) _exit(4);
        for (;;) pause();
    }
    char c;
    assert_int_equal(read(ready[0], &c, 1), 1);
    close(ready[0]);
    close(ready[1]);
    assert_true(file_size(path_in(must_exist)) > 4096); /* the transaction's pages are on disk */
    assert_opaque(path_in(must_exist));
    kill(pid, SIGKILL);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);

    db = vopen(fx.v1, db_path);
    assert_rows(db, ROWS);
    assert_int_equal(query_int(db, "SELECT sum(length(body)) FROM plain"), before);
    sqlite3_close(db);
    remove_db(name);
}

static void test_crash_mid_transaction(void **state)
{
    (void)state;
    crash_mid_transaction("mid-journal.db", "PRAGMA journal_mode=DELETE", "mid-journal.db-journal");
    crash_mid_transaction("mid-wal.db", "PRAGMA journal_mode=WAL", "mid-wal.db-wal");
}

static void test_crash_wal(void **state)
{
    (void)state;
    crash_and_recover("crash-wal.db", "PRAGMA journal_mode=WAL");
}

static void test_crash_journal(void **state)
{
    (void)state;
    crash_and_recover("crash-journal.db", "PRAGMA journal_mode=DELETE");
}

static void test_passphrase(void **state)
{
    (void)state;
    const char *db_path = path_in("pass.db"), *pass = "correct horse battery staple";
    mem_vault *v = NULL, *w = NULL;
    assert_int_equal(mem_vault_new_passphrase(pass, strlen(pass), db_path, &v), MOTE_OK);
    sqlite3 *db = vopen(v, db_path);
    exec_ok(db, "PRAGMA journal_mode=WAL");
    fill(db, 100);
    sqlite3_close(db);
    mem_vault_free(v);
    assert_opaque(db_path);

    /* The same passphrase again: the salt comes from the header. */
    assert_int_equal(mem_vault_new_passphrase(pass, strlen(pass), db_path, &v), MOTE_OK);
    db = vopen(v, db_path);
    assert_rows(db, 100);
    sqlite3_close(db);

    assert_int_equal(mem_vault_new_passphrase("correct horse", 13, db_path, &w), MOTE_OK);
    db = NULL;
    assert_int_equal(mem_vault_open(w, db_path, SQLITE_OPEN_READWRITE, &db), MOTE_E_FORMAT);
    assert_non_null(strstr(mote_last_error(), "wrong key"));
    mem_vault_free(w);
    /* A vault from a passphrase does not open another passphrase's
     * database (its salt differs), even with the same passphrase. */
    assert_int_equal(mem_vault_new_passphrase(pass, strlen(pass), path_in("other.db"), &w), MOTE_OK);
    db = vopen(w, path_in("other.db"));
    fill(db, 5);
    sqlite3_close(db);
    mem_vault_free(w);
    assert_int_equal(mem_vault_open(v, path_in("other.db"), SQLITE_OPEN_READWRITE, &db), MOTE_E_FORMAT);
    assert_non_null(strstr(mote_last_error(), "another vault"));
    mem_vault_free(v);

    /* Key and passphrase vaults do not mix. */
    assert_int_equal(mem_vault_open(fx.v1, db_path, SQLITE_OPEN_READWRITE, &db), MOTE_E_FORMAT);
    assert_non_null(strstr(mote_last_error(), "locked with a passphrase"));
    db = vopen(fx.v1, path_in("keyed.db"));
    fill(db, 5);
    sqlite3_close(db);
    assert_int_equal(mem_vault_new_passphrase(pass, strlen(pass), path_in("keyed.db"), &v), MOTE_E_FORMAT);
    assert_non_null(strstr(mote_last_error(), "locked with a key"));
    remove_db("pass.db");
    remove_db("other.db");
    remove_db("keyed.db");
}

static void test_key_files(void **state)
{
    (void)state;
    uint8_t k[32], back[32];
    const char *hex = path_in("hex.key"), *raw = path_in("raw.key");
    assert_int_equal(mem_vault_key_create(hex, k), MOTE_OK);
    assert_int_equal(mem_vault_key_create(hex, back), MOTE_E_IO); /* never overwrites */
    assert_int_equal(mem_vault_key_from_file(hex, back), MOTE_OK);
    assert_memory_equal(k, back, 32);
    assert_int_equal(file_size(hex), 65);

    int fd = open(raw, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, key1, 32), 32);
    close(fd);
    assert_int_equal(mem_vault_key_from_file(raw, back), MOTE_OK);
    assert_memory_equal(back, key1, 32);

    chmod(raw, 0644);
    assert_int_equal(mem_vault_key_from_file(raw, back), MOTE_E_INVALID);
    assert_non_null(strstr(mote_last_error(), "chmod 600"));
    chmod(raw, 0600);
    fd = open(raw, O_WRONLY | O_APPEND);
    assert_int_equal(write(fd, "x", 1), 1);
    close(fd);
    assert_int_equal(mem_vault_key_from_file(raw, back), MOTE_E_FORMAT);
    assert_int_equal(mem_vault_key_from_file(path_in("absent.key"), back), MOTE_E_IO);

    setenv("MOTE_TEST_VAULT_KEY", "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20", 1);
    assert_int_equal(mem_vault_key_from_env("MOTE_TEST_VAULT_KEY", back), MOTE_OK);
    assert_memory_equal(back, key1, 32);
    setenv("MOTE_TEST_VAULT_KEY", "0102", 1);
    assert_int_equal(mem_vault_key_from_env("MOTE_TEST_VAULT_KEY", back), MOTE_E_FORMAT);
    unsetenv("MOTE_TEST_VAULT_KEY");
    assert_int_equal(mem_vault_key_from_env("MOTE_TEST_VAULT_KEY", back), MOTE_E_INVALID);
    unlink(hex);
    unlink(raw);
}

/* ------------------------------------------------------------------------ */

static int setup(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    snprintf(fx.dir, sizeof fx.dir, "%s/mote-vault-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(fx.dir)) return -1;
    if (mem_vault_new(key1, &fx.v1) != MOTE_OK || mem_vault_new(key2, &fx.v2) != MOTE_OK) return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mem_vault_free(fx.v1);
    mem_vault_free(fx.v2);
    rmdir(fx.dir);
    return 0;
}

int main(void)
{
    test_fix_pool_size();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wal_checkpointed),
        cmocka_unit_test(test_wal_not_checkpointed),
        cmocka_unit_test(test_rollback_journal),
        cmocka_unit_test(test_temp_files),
        cmocka_unit_test(test_wrong_key),
        cmocka_unit_test(test_plaintext_and_vault_mixed),
        cmocka_unit_test(test_reserve_missing),
        cmocka_unit_test(test_tampering),
        cmocka_unit_test(test_random_damage),
        cmocka_unit_test(test_two_vaults),
        cmocka_unit_test(test_two_writers),
        cmocka_unit_test(test_rekey_and_export),
        cmocka_unit_test(test_crash_wal),
        cmocka_unit_test(test_crash_journal),
        cmocka_unit_test(test_crash_mid_transaction),
        cmocka_unit_test(test_passphrase),
        cmocka_unit_test(test_key_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
