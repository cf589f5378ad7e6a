/*
 * store.c — opening the memory store (folder, file modes, SQLite
 * settings, schema), content hashes, the embedding model, and the
 * store's state (store.h). Replacing a source is store_put.c, listing and
 * removing sources store_sources.c, searching store_search.c.
 */
#include "memory/store_db.h"
#include "memory/vault.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/status.h"
#include "kernels/dot_i8.h"
#include "memory/fts_query.h"

#define DIR_MODE 0700  /* the store's folder: its owner only */
#define FILE_MODE 0600 /* memory.db (SQLite gives -wal and -shm the same mode) */
/* PRAGMA application_id: "mote" in ASCII, so another program's database
 * that happens to have a user_version is not taken for a store. */
#define APP_ID 0x6d6f7465
#define HASH_READ 65536 /* bytes read at a time by mem_hash_file */

/* ------------------------------------------------------------------------
 * Schema (version MEM_STORE_SCHEMA)
 *
 * chunks_fts is an external-content FTS5 table over chunks(text, title):
 * the text is stored once (in chunks, which citations read anyway), and
 * the triggers keep the index in step inside the same transaction as the
 * chunks themselves (a cascade from sources deletes through them too).
 * Tokenizer: MEM_FTS_TOKENIZE (fts_query.h). sources.status: a put
 * writes a source whole in one transaction, so every row there is
 * 'complete'; 'partial' is kept for an ingest split over several
 * transactions (none does yet), and mem_store_verify reports it. Chunk ids are AUTOINCREMENT: never reused, so a
 * citation's id does not come to name another chunk.
 * ---------------------------------------------------------------------- */

static const char schema_sql[] =
    "CREATE TABLE meta("
    "  key TEXT PRIMARY KEY,"
    "  value TEXT NOT NULL);"
    "CREATE TABLE sources("
    "  id INTEGER PRIMARY KEY,"
    "  path TEXT NOT NULL UNIQUE,"
    "  kind TEXT NOT NULL,"
    "  hash TEXT NOT NULL,"            /* hex SHA-256 of the file's bytes */
    "  size INTEGER NOT NULL,"         /* bytes */
    "  mtime INTEGER NOT NULL,"        /* Unix seconds */
    "  ingested_at INTEGER NOT NULL,"  /* Unix seconds */
    "  n_chunks INTEGER NOT NULL,"
    "  n_readings INTEGER NOT NULL,"
    "  status TEXT NOT NULL CHECK (status IN ('complete', 'partial')),"
    "  warnings TEXT);"
    "CREATE TABLE chunks("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,"
    "  ordinal INTEGER NOT NULL,"      /* 0-based position in the source */
    "  text TEXT NOT NULL,"
    "  title TEXT,"
    "  line_lo INTEGER NOT NULL,"
    "  line_hi INTEGER NOT NULL,"
    "  msg_id TEXT,"
    "  t_lo INTEGER NOT NULL,"
    "  t_hi INTEGER NOT NULL,"
    "  hash TEXT NOT NULL,"            /* hex SHA-256 of text */
    "  UNIQUE (source_id, ordinal));"
    "CREATE VIRTUAL TABLE chunks_fts USING fts5(text, title, content='chunks', content_rowid='id',"
    "  tokenize='" MEM_FTS_TOKENIZE "');"
    "CREATE TRIGGER chunks_ai AFTER INSERT ON chunks BEGIN"
    "  INSERT INTO chunks_fts(rowid, text, title) VALUES (new.id, new.text, new.title);"
    "END;"
    "CREATE TRIGGER chunks_ad AFTER DELETE ON chunks BEGIN"
    "  INSERT INTO chunks_fts(chunks_fts, rowid, text, title) VALUES ('delete', old.id, old.text, old.title);"
    "END;"
    "CREATE TRIGGER chunks_au AFTER UPDATE ON chunks BEGIN"
    "  INSERT INTO chunks_fts(chunks_fts, rowid, text, title) VALUES ('delete', old.id, old.text, old.title);"
    "  INSERT INTO chunks_fts(rowid, text, title) VALUES (new.id, new.text, new.title);"
    "END;"
    "CREATE TABLE vectors("
    "  chunk_id INTEGER PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,"
    "  q BLOB NOT NULL,"               /* dim int8 */
    "  scale REAL NOT NULL);"          /* x ~ q * scale (store_vec.h) */
    "CREATE TABLE readings("
    "  source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,"
    "  series TEXT NOT NULL,"
    "  t_ms INTEGER NOT NULL,"         /* Unix milliseconds */
    "  value REAL NOT NULL);"
    "CREATE INDEX readings_source ON readings(source_id);"
    "CREATE INDEX readings_series ON readings(series, t_ms);";

/* ------------------------------------------------------------------------
 * SQLite helpers (store_db.h)
 * ---------------------------------------------------------------------- */

static mote_status status_of(int sqlite_rc)
{
    switch (sqlite_rc & 0xff) {
    case SQLITE_NOMEM: return MOTE_E_NOMEM;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_ERROR:
    case SQLITE_SCHEMA:
    case SQLITE_MISMATCH: return MOTE_E_FORMAT;
    case SQLITE_CONSTRAINT:
    case SQLITE_RANGE:
    case SQLITE_TOOBIG: return MOTE_E_INVALID;
    default: return MOTE_E_IO; /* CANTOPEN, IOERR, FULL, READONLY, PERM, BUSY, LOCKED, ... */
    }
}

mote_status mem_store_fail(mem_store *st, const char *what)
{
    const int rc = sqlite3_extended_errcode(st->db);
    if ((rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT)
        return mote_fail(MOTE_E_FORMAT, "memory: %s: %s: not a memory database, or a damaged one (%s)", st->path, what,
                         sqlite3_errmsg(st->db));
    return mote_fail(status_of(rc), "memory: %s: %s: %s", st->path, what, sqlite3_errmsg(st->db));
}

mote_status mem_store_exec(mem_store *st, const char *sql, const char *what)
{
    return sqlite3_exec(st->db, sql, NULL, NULL, NULL) == SQLITE_OK ? MOTE_OK : mem_store_fail(st, what);
}

mote_status mem_store_prepare(mem_store *st, const char *sql, sqlite3_stmt **out, const char *what)
{
    return sqlite3_prepare_v2(st->db, sql, -1, out, NULL) == SQLITE_OK ? MOTE_OK : mem_store_fail(st, what);
}

/* Column col as text, "" for NULL. */
static const char *text_col(sqlite3_stmt *s, int col)
{
    const char *t = (const char *)sqlite3_column_text(s, col);
    return t ? t : "";
}

/* The first column of a one-row statement as an integer; def without a row. */
static mote_status query_int(mem_store *st, const char *sql, int64_t def, int64_t *out, const char *what)
{
    sqlite3_stmt *s;
    MOTE_TRY(mem_store_prepare(st, sql, &s, what));
    const int step = sqlite3_step(s);
    *out = step == SQLITE_ROW ? sqlite3_column_int64(s, 0) : def;
    sqlite3_finalize(s);
    return step == SQLITE_ROW || step == SQLITE_DONE ? MOTE_OK : mem_store_fail(st, what);
}

int64_t mem_store_meta_int(mem_store *st, const char *key, int64_t def)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE key = ?1", -1, &s, NULL) != SQLITE_OK) return def;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    const int64_t v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : def;
    sqlite3_finalize(s);
    return v;
}

/* The meta value for key into buf (cap bytes), "" if absent. */
static void meta_text(mem_store *st, const char *key, char *buf, size_t cap)
{
    int found;
    if (mem_store_meta_get(st, key, buf, cap, &found) != MOTE_OK) buf[0] = '\0';
}

/* Keys of the meta table the store writes itself. */
static int own_key(const char *key)
{
    return strcmp(key, "embed_model") == 0 || strcmp(key, "embed_dim") == 0 || strcmp(key, "updated_at") == 0;
}

mote_status mem_store_meta_get(mem_store *st, const char *key, char *buf, size_t cap, int *found)
{
    *found = 0;
    if (cap) buf[0] = '\0';
    sqlite3_stmt *s;
    MOTE_TRY(mem_store_prepare(st, "SELECT value FROM meta WHERE key = ?1", &s, "reading a setting"));
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    const int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *found = 1;
        if (cap) snprintf(buf, cap, "%s", text_col(s, 0));
    }
    sqlite3_finalize(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? MOTE_OK : mem_store_fail(st, "reading a setting");
}

mote_status mem_store_meta_set(mem_store *st, const char *key, const char *value)
{
    if (own_key(key)) return mote_fail(MOTE_E_INVALID, "memory: the setting %s is the store's own", key);
    sqlite3_stmt *s;
    MOTE_TRY(mem_store_prepare(st, "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)", &s, "writing a setting"));
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
    const int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? MOTE_OK : mem_store_fail(st, "writing a setting");
}

int64_t mem_store_data_version(mem_store *st)
{
    int64_t v;
    return query_int(st, "PRAGMA data_version", -1, &v, "data_version") == MOTE_OK ? v : -1;
}

int64_t mem_store_now(void)
{
    return (int64_t)time(NULL);
}

/* ------------------------------------------------------------------------
 * Folder and file
 * ---------------------------------------------------------------------- */

/* mkdir -p dir, each folder it creates DIR_MODE whatever the umask. */
static mote_status make_dirs(const char *dir)
{
    char *p = strdup(dir);
    if (!p) return mote_fail(MOTE_E_NOMEM, "memory: out of memory");
    mote_status rc = MOTE_OK;
    for (char *s = p + 1;; s++) {
        const int end = *s == '\0';
        if (*s != '/' && !end) continue;
        *s = '\0';
        if (mkdir(p, DIR_MODE) == 0) {
            if (chmod(p, DIR_MODE) != 0) rc = mote_fail(MOTE_E_IO, "memory: %s: chmod: %s", p, strerror(errno));
        } else if (errno != EEXIST) {
            rc = mote_fail(MOTE_E_IO, "memory: %s: cannot create the folder: %s", p, strerror(errno));
        }
        if (rc != MOTE_OK || end) break;
        *s = '/';
    }
    free(p);
    if (rc != MOTE_OK) return rc;
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return mote_fail(MOTE_E_IO, "memory: %s: not a folder", dir);
    return MOTE_OK;
}

/* Create path FILE_MODE if missing (before SQLite does, which would take
 * the umask's mode), and take group and other permissions off an existing
 * one: the memory holds private documents. */
static mote_status make_db_file(const char *path)
{
    const int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, FILE_MODE);
    if (fd >= 0) {
        const int ok = fchmod(fd, FILE_MODE) == 0;
        close(fd);
        return ok ? MOTE_OK : mote_fail(MOTE_E_IO, "memory: %s: chmod: %s", path, strerror(errno));
    }
    if (errno != EEXIST) return mote_fail(MOTE_E_IO, "memory: %s: cannot create: %s", path, strerror(errno));
    struct stat sb;
    if (lstat(path, &sb) != 0) return mote_fail(MOTE_E_IO, "memory: %s: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode)) return mote_fail(MOTE_E_IO, "memory: %s: not a regular file", path);
    if ((sb.st_mode & 077) && chmod(path, FILE_MODE) != 0)
        return mote_fail(MOTE_E_IO, "memory: %s: chmod: %s", path, strerror(errno));
    return MOTE_OK;
}

/* ------------------------------------------------------------------------
 * Opening
 * ---------------------------------------------------------------------- */

/* Whether the file at path begins as a vault does (vault.h). */
static int is_vault(const char *path)
{
    static const char magic[] = "mote-vault";
    char head[sizeof magic - 1];
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    const int yes = fread(head, 1, sizeof head, f) == sizeof head && memcmp(head, magic, sizeof head) == 0;
    fclose(f);
    return yes;
}

/* Create the schema in an empty database, or check the one there. */
static mote_status check_schema(mem_store *st)
{
    MOTE_TRY(mem_store_exec(st, "BEGIN IMMEDIATE", "reading the schema"));
    int64_t version, app, tables;
    mote_status rc = query_int(st, "PRAGMA user_version", 0, &version, "reading the schema");
    if (rc == MOTE_OK) rc = query_int(st, "PRAGMA application_id", 0, &app, "reading the schema");
    if (rc == MOTE_OK) rc = query_int(st, "SELECT count(*) FROM sqlite_master", 0, &tables, "reading the schema");
    if (rc == MOTE_OK && version == 0 && tables == 0) {
        char pragmas[96];
        snprintf(pragmas, sizeof pragmas, "PRAGMA user_version = %d; PRAGMA application_id = %d", MEM_STORE_SCHEMA,
                 APP_ID);
        rc = mem_store_exec(st, schema_sql, "creating the tables");
        if (rc == MOTE_OK) rc = mem_store_exec(st, pragmas, "creating the tables");
        if (rc == MOTE_OK) rc = mem_store_exec(st, "COMMIT", "creating the tables");
    } else if (rc == MOTE_OK && (version == 0 || app != APP_ID)) {
        rc = mote_fail(MOTE_E_FORMAT, "memory: %s: not a memory database (another program's SQLite file)",
                       st->path);
    } else if (rc == MOTE_OK && version > MEM_STORE_SCHEMA) {
        rc = mote_fail(MOTE_E_UNSUPPORTED,
                       "memory: %s: written by a newer mote (schema version %lld; this one reads up to %d)",
                       st->path, (long long)version, MEM_STORE_SCHEMA);
    } else if (rc == MOTE_OK) {
        rc = mem_store_exec(st, "COMMIT", "reading the schema");
    }
    if (rc != MOTE_OK) sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* WAL: readers (a search) never wait for a writer (an ingest), and a
 * commit is one append to the log. synchronous=NORMAL: in WAL mode a
 * commit is then durable against a crash or kill of the process (the log
 * is in the OS's hands when COMMIT returns) but not against a power cut,
 * which may lose the last commits, never consistency. FULL would fsync
 * the log at every commit, one per ingested file; the memory can always
 * be redone from the files, and a lost commit leaves its source's old
 * hash, so the next ingest redoes exactly that file. */
static mote_status configure(mem_store *st)
{
    sqlite3_extended_result_codes(st->db, 1);
    sqlite3_busy_timeout(st->db, MEM_STORE_BUSY_MS);
    sqlite3_stmt *s;
    MOTE_TRY(mem_store_prepare(st, "PRAGMA journal_mode = WAL", &s, "opening"));
    const int step = sqlite3_step(s);
    const int wal = step == SQLITE_ROW && sqlite3_stricmp((const char *)sqlite3_column_text(s, 0), "wal") == 0;
    sqlite3_finalize(s);
    if (step != SQLITE_ROW) return mem_store_fail(st, "opening");
    if (!wal) return mote_fail(MOTE_E_UNSUPPORTED, "memory: %s: the database cannot use WAL mode", st->path);
    return mem_store_exec(st, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON", "opening");
}

mote_status mem_store_open(const char *dir, const mem_store_opts *opts, mem_store **out)
{
    if (!out) return mote_fail(MOTE_E_INVALID, "memory: mem_store_open: out is NULL");
    *out = NULL;
    if (!dir || !dir[0]) return mote_fail(MOTE_E_INVALID, "memory: no folder given for the store");
    MOTE_TRY(make_dirs(dir));
    mem_store *st = calloc(1, sizeof *st);
    const size_t n = strlen(dir) + sizeof "/" MEM_STORE_DB;
    if (st) st->path = malloc(n);
    if (!st || !st->path) {
        free(st);
        return mote_fail(MOTE_E_NOMEM, "memory: out of memory");
    }
    snprintf(st->path, n, "%s/%s", dir, MEM_STORE_DB);
    mote_status rc = make_db_file(st->path);
    if (rc == MOTE_OK && opts && opts->vfs && !sqlite3_vfs_find(opts->vfs))
        rc = mote_fail(MOTE_E_INVALID, "memory: %s: no SQLite VFS named %s (register it before opening)", st->path,
                       opts->vfs);
    if (rc == MOTE_OK && !(opts && opts->vault) && is_vault(st->path))
        rc = mote_fail(MOTE_E_INVALID, "memory: %s is encrypted: open it with its key", st->path);
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW;
    if (rc == MOTE_OK && opts && opts->vault) {
        rc = mem_vault_open(opts->vault, st->path, flags, &st->db);
    } else if (rc == MOTE_OK) {
        if (sqlite3_open_v2(st->path, &st->db, flags, opts ? opts->vfs : NULL) != SQLITE_OK)
            rc = st->db ? mem_store_fail(st, "opening")
                        : mote_fail(MOTE_E_NOMEM, "memory: %s: out of memory opening it", st->path);
    }
    if (rc == MOTE_OK) rc = configure(st);
    if (rc == MOTE_OK) rc = check_schema(st);
    if (rc == MOTE_OK) {
        st->data_version = mem_store_data_version(st);
        rc = mem_vec_load(&st->vec, st->db);
        if (rc != MOTE_OK) rc = mote_fail_prefix(rc, "memory: %s: ", st->path);
    }
    if (rc != MOTE_OK) {
        mem_store_close(st);
        return rc;
    }
    *out = st;
    return MOTE_OK;
}

void mem_store_close(mem_store *st)
{
    if (!st) return;
    if (st->db) mem_store_terms_free(st);
    sqlite3_close_v2(st->db); /* NULL is a no-op */
    mem_vec_free(&st->vec);
    free(st->path);
    free(st);
}

/* ------------------------------------------------------------------------
 * Content hashes
 * ---------------------------------------------------------------------- */

static void to_hex(const unsigned char *d, char hex[MEM_HASH_HEX + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < MEM_HASH_HEX / 2; i++) {
        hex[2 * i] = digits[d[i] >> 4];
        hex[2 * i + 1] = digits[d[i] & 15];
    }
    hex[MEM_HASH_HEX] = '\0';
}

void mem_hash_bytes(const void *data, size_t n, char hex[MEM_HASH_HEX + 1])
{
    unsigned char d[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(d, data, n);
    to_hex(d, hex);
}

mote_status mem_hash_file(const char *path, char hex[MEM_HASH_HEX + 1])
{
    hex[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f) return mote_fail(MOTE_E_IO, "memory: %s: cannot open: %s", path, strerror(errno));
    unsigned char *buf = malloc(HASH_READ);
    if (!buf) {
        fclose(f);
        return mote_fail(MOTE_E_NOMEM, "memory: out of memory");
    }
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    size_t got;
    while ((got = fread(buf, 1, HASH_READ, f)) > 0) crypto_hash_sha256_update(&h, buf, got);
    const int err = ferror(f);
    fclose(f);
    free(buf);
    if (err) return mote_fail(MOTE_E_IO, "memory: %s: read error", path);
    unsigned char d[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&h, d);
    to_hex(d, hex);
    return MOTE_OK;
}

/* ------------------------------------------------------------------------
 * The embedding model
 * ---------------------------------------------------------------------- */

mote_status mem_store_embedder(mem_store *st, const char *model, int dim)
{
    if (!st || !model || !model[0] || strlen(model) >= MEM_MODEL_NAME_MAX || dim < 1 || dim > I8_DOT_DIM_MAX)
        return mote_fail(MOTE_E_INVALID, "memory: embedding model: need a name (under %d bytes) and 1 to %d dims",
                         MEM_MODEL_NAME_MAX, I8_DOT_DIM_MAX);
    char have[MEM_MODEL_NAME_MAX];
    meta_text(st, "embed_model", have, sizeof have);
    const int64_t have_dim = mem_store_meta_int(st, "embed_dim", 0);
    if ((have_dim && have_dim != dim) || (have[0] && strcmp(have, model) != 0))
        return mote_fail(MOTE_E_INVALID,
                         "memory: %s: the stored vectors come from %s (%lld dims), not %s (%d dims): vectors of "
                         "different models cannot be compared; rebuild the memory to change models",
                         st->path, have[0] ? have : "an unnamed model", (long long)have_dim, model, dim);
    if (have[0]) return MOTE_OK;
    sqlite3_stmt *s;
    MOTE_TRY(mem_store_prepare(st,
                           "INSERT OR REPLACE INTO meta(key, value) VALUES ('embed_model', ?1), ('embed_dim', ?2)",
                           &s, "recording the embedding model"));
    sqlite3_bind_text(s, 1, model, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, dim);
    const int step = sqlite3_step(s);
    sqlite3_finalize(s);
    return step == SQLITE_DONE ? MOTE_OK : mem_store_fail(st, "recording the embedding model");
}

/* ------------------------------------------------------------------------
 * State
 * ---------------------------------------------------------------------- */

static int64_t file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
}

mote_status mem_store_status(mem_store *st, mem_store_stats *out)
{
    if (!st || !out) return mote_fail(MOTE_E_INVALID, "memory: mem_store_status: NULL argument");
    *out = (mem_store_stats){0};
    MOTE_TRY(query_int(st, "SELECT count(*) FROM sources", 0, &out->n_sources, "counting"));
    MOTE_TRY(query_int(st, "SELECT count(*) FROM chunks", 0, &out->n_chunks, "counting"));
    MOTE_TRY(query_int(st, "SELECT count(*) FROM readings", 0, &out->n_readings, "counting"));
    MOTE_TRY(query_int(st, "SELECT count(*) FROM vectors", 0, &out->n_vectors, "counting"));
    out->db_bytes = file_size(st->path);
    char wal[4096];
    snprintf(wal, sizeof wal, "%s-wal", st->path);
    out->wal_bytes = file_size(wal);
    out->updated_at = mem_store_meta_int(st, "updated_at", 0);
    meta_text(st, "embed_model", out->embed_model, sizeof out->embed_model);
    out->embed_dim = (int)mem_store_meta_int(st, "embed_dim", 0);
    return MOTE_OK;
}

/* Each check's SQL yields a row (its first column saying what) only when
 * something is wrong. */
static const struct {
    const char *what, *sql;
} checks[] = {
    {"source with a wrong chunk count or unfinished",
     "SELECT path FROM sources s WHERE status != 'complete' OR n_chunks != "
     "(SELECT count(*) FROM chunks WHERE source_id = s.id) OR n_readings != "
     "(SELECT count(*) FROM readings WHERE source_id = s.id) LIMIT 1"},
    {"vector of the wrong size",
     "SELECT chunk_id FROM vectors WHERE length(q) != "
     "(SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'embed_dim') LIMIT 1"},
    {"dangling row (foreign key)", "PRAGMA foreign_key_check"},
};

mote_status mem_store_verify(mem_store *st)
{
    sqlite3_stmt *s;
    MOTE_TRY(mem_store_prepare(st, "PRAGMA integrity_check", &s, "checking"));
    const int step = sqlite3_step(s);
    char msg[512] = "";
    if (step == SQLITE_ROW) snprintf(msg, sizeof msg, "%s", text_col(s, 0));
    sqlite3_finalize(s);
    if (step != SQLITE_ROW) return mem_store_fail(st, "integrity_check");
    if (strcmp(msg, "ok") != 0) return mote_fail(MOTE_E_FORMAT, "memory: %s: integrity_check: %s", st->path, msg);
    if (sqlite3_exec(st->db, "INSERT INTO chunks_fts(chunks_fts) VALUES ('integrity-check')", NULL, NULL, NULL) !=
        SQLITE_OK)
        return mem_store_fail(st, "the full-text index");
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        MOTE_TRY(mem_store_prepare(st, checks[i].sql, &s, "checking"));
        const int r = sqlite3_step(s);
        if (r == SQLITE_ROW) snprintf(msg, sizeof msg, "%s", text_col(s, 0));
        sqlite3_finalize(s);
        if (r == SQLITE_ROW) return mote_fail(MOTE_E_FORMAT, "memory: %s: %s: %s", st->path, checks[i].what, msg);
        if (r != SQLITE_DONE) return mem_store_fail(st, checks[i].what);
    }
    return MOTE_OK;
}
