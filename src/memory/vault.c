/*
 * vault.c — an encrypting SQLite VFS over the default (unix) one: the
 * database file, its vault header, the VFS and the API. The WAL, the
 * journal and temporary files are in vault_side.c.
 *
 * SQLite writes whole pages to the database file, page images into the
 * WAL (after a 24-byte frame header) and into the rollback journal (after
 * a 4-byte page number). This shim seals each such page in place with
 * XChaCha20-Poly1305 and a fresh random nonce:
 *
 *     [0, P-40)   ciphertext of the page's first P-40 bytes
 *     [P-40, P-16) nonce
 *     [P-16, P)   tag
 *
 * which is lossless because SQLite leaves the last MEM_VAULT_RESERVE bytes
 * of every page zero once the database's "reserved bytes per page" is set
 * (a write whose tail is not zero is refused, never truncated). Opening a
 * page gives back exactly the bytes SQLite wrote, zero tail included, so
 * the WAL's frame checksums — computed by SQLite over the plaintext —
 * still hold and crash recovery works through the shim.
 *
 * The database file starts with a VAULT_HEADER_SIZE-byte header of our
 * own, invisible to SQLite (every offset is shifted past it). The header
 * is in clear and authenticated with a key derived from the vault key,
 * which is also how a wrong key is told from a damaged page:
 *
 *     0   16  magic "mote-vault" + NULs
 *     16   4  format version (little-endian), VAULT_VERSION
 *     20   4  SQLite page size, 0 until page 1 is written
 *     24   4  per-page overhead, MEM_VAULT_RESERVE
 *     28   4  key derivation: 0 = a 32-byte key, 1 = Argon2id passphrase
 *     32  16  file id, random, bound into every page's associated data
 *     48  16  Argon2id: salt (else zero)
 *     64   4  Argon2id: opslimit
 *     68   4  Argon2id: memlimit in KiB
 *     72   8  zero
 *     80  32  BLAKE2b-256 of bytes [0, 80), keyed with the header subkey
 *
 * A page's associated data is file id || kind ('D', 'W', 'J') || SQLite's
 * offset of the page (u64 LE). The WAL's 24-byte frame headers are masked
 * (below). In clear remain: the WAL header (salts, page size), the
 * journal's headers, page numbers and 32-bit sampled checksums of the
 * plaintext, the -shm index (page numbers, the last frame's checksum;
 * deleted when the last connection closes), and the files' sizes.
 *
 * In the WAL, a page that does not authenticate is read as zeros when
 * SQLite reads its whole frame (recovery: SQLite's checksum then rejects
 * the frame, as it does a torn write after a crash) and is an error
 * (SQLITE_IOERR_DATA) when SQLite reads the page alone. In the database
 * and the journal it is always an error.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "memory/vault_file.h"

/* ------------------------------------------------------------------------
 * Errors: SQLite reports "disk I/O error", the vault says why
 * ---------------------------------------------------------------------- */

static _Thread_local char why_buf[256];

int vault_why(int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why_buf, sizeof why_buf, fmt, ap);
    va_end(ap);
    return rc;
}

const char *mem_vault_last_error(void)
{
    return why_buf[0] ? why_buf : NULL;
}

/* ------------------------------------------------------------------------
 * Sealing pages
 * ---------------------------------------------------------------------- */

static void le32_put(uint8_t *p, uint32_t x)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(x >> (8 * i));
}

static uint32_t le32_get(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int vault_valid_page_size(uint32_t p)
{
    return p >= PAGE_MIN && p <= PAGE_MAX && (p & (p - 1)) == 0;
}

static void page_aad(uint8_t aad[AAD_LEN], const vault_file *db, char kind, sqlite3_int64 off)
{
    memcpy(aad, db->id, VAULT_ID_LEN);
    aad[VAULT_ID_LEN] = (uint8_t)kind;
    for (int i = 0; i < 8; i++) aad[VAULT_ID_LEN + 1 + i] = (uint8_t)((uint64_t)off >> (8 * i));
}

int vault_scratch(vault_file *f, size_t n)
{
    if (f->scratch_cap >= n) return SQLITE_OK;
    uint8_t *p = sqlite3_malloc64(n);
    if (!p) return SQLITE_NOMEM;
    if (f->scratch) {
        sodium_memzero(f->scratch, f->scratch_cap);
        sqlite3_free(f->scratch);
    }
    f->scratch = p;
    f->scratch_cap = n;
    return SQLITE_OK;
}

/* Seal page (n bytes, SQLite's offset off in a file of this kind) into
 * f->scratch. */
int vault_seal_page(vault_file *f, char kind, const uint8_t *page, size_t n, sqlite3_int64 off)
{
    size_t body = n - MEM_VAULT_RESERVE;
    for (size_t i = body; i < n; i++)
        if (page[i])
            return vault_why(SQLITE_IOERR_WRITE, "vault: the page at offset %lld has no room for the "
                       "nonce and tag (the database lacks %d reserved bytes per page; open it "
                       "through mem_vault_open)", (long long)off, MEM_VAULT_RESERVE);
    int rc = vault_scratch(f, n);
    if (rc != SQLITE_OK) return rc;
    uint8_t aad[AAD_LEN], *nonce = f->scratch + body, *tag = nonce + NONCE_LEN;
    page_aad(aad, f->db, kind, off);
    randombytes_buf(nonce, NONCE_LEN);
    crypto_aead_xchacha20poly1305_ietf_encrypt_detached(f->scratch, tag, NULL, page, body, aad,
                                                        AAD_LEN, NULL, nonce, f->v->page_key);
    return SQLITE_OK;
}

/* Open a sealed page in place; 0 if it authenticates. */
int vault_open_page(vault_file *f, char kind, uint8_t *page, size_t n, sqlite3_int64 off)
{
    size_t body = n - MEM_VAULT_RESERVE;
    uint8_t aad[AAD_LEN], nonce[NONCE_LEN], tag[TAG_LEN];
    memcpy(nonce, page + body, NONCE_LEN);
    memcpy(tag, page + body + NONCE_LEN, TAG_LEN);
    page_aad(aad, f->db, kind, off);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(page, NULL, page, body, tag, aad,
                                                            AAD_LEN, nonce, f->v->page_key) != 0)
        return -1;
    memset(page + body, 0, MEM_VAULT_RESERVE);
    return 0;
}

/* ------------------------------------------------------------------------
 * The vault header of the database file
 * ---------------------------------------------------------------------- */

static void header_mac(const mem_vault *v, const uint8_t *h, uint8_t mac[32])
{
    crypto_generichash(mac, 32, h, VAULT_HEADER_MACED, v->header_key, sizeof v->header_key);
}

static int write_header(vault_file *f)
{
    uint8_t h[VAULT_HEADER_USED] = {0};
    memcpy(h, VAULT_MAGIC, VAULT_MAGIC_LEN);
    le32_put(h + 16, VAULT_VERSION);
    le32_put(h + 20, f->page_size);
    le32_put(h + 24, MEM_VAULT_RESERVE);
    le32_put(h + 28, f->v->kdf);
    memcpy(h + 32, f->id, VAULT_ID_LEN);
    if (f->v->kdf == VAULT_KDF_ARGON2ID) {
        memcpy(h + 48, f->v->salt, VAULT_SALT_LEN);
        le32_put(h + 64, f->v->ops);
        le32_put(h + 68, f->v->mem_kib);
    }
    header_mac(f->v, h, h + VAULT_HEADER_MACED);
    return f->lower->pMethods->xWrite(f->lower, h, VAULT_HEADER_USED, 0);
}

/* Read and check the header. SQLITE_OK with have_header 0 for an empty file. */
static int load_header(vault_file *f)
{
    sqlite3_int64 size = 0;
    int rc = f->lower->pMethods->xFileSize(f->lower, &size);
    if (rc != SQLITE_OK) return rc;
    if (size == 0) return SQLITE_OK;
    uint8_t h[VAULT_HEADER_USED] = {0}, mac[32];
    rc = f->lower->pMethods->xRead(f->lower, h, VAULT_HEADER_USED, 0);
    if (rc != SQLITE_OK && rc != SQLITE_IOERR_SHORT_READ) return rc;
    if (memcmp(h, SQLITE_MAGIC, sizeof SQLITE_MAGIC) == 0)
        return vault_why(SQLITE_NOTADB, "a plaintext SQLite database, not a mote vault");
    if (memcmp(h, VAULT_MAGIC, VAULT_MAGIC_LEN) != 0 || size < VAULT_HEADER_USED)
        return vault_why(SQLITE_NOTADB, "not a mote vault (no vault header)");
    if (le32_get(h + 16) != VAULT_VERSION)
        return vault_why(SQLITE_NOTADB, "vault format version %u, this build reads %d",
                   le32_get(h + 16), VAULT_VERSION);
    uint32_t kdf = le32_get(h + 28);
    if (kdf != f->v->kdf && kdf == VAULT_KDF_ARGON2ID)
        return vault_why(SQLITE_NOTADB, "the vault is locked with a passphrase, not a key");
    if (kdf != f->v->kdf && kdf == VAULT_KDF_RAW)
        return vault_why(SQLITE_NOTADB, "the vault is locked with a key, not a passphrase");
    if (kdf == VAULT_KDF_ARGON2ID && memcmp(h + 48, f->v->salt, VAULT_SALT_LEN) != 0)
        return vault_why(SQLITE_NOTADB, "the passphrase was prepared for another vault (its salt differs)");
    header_mac(f->v, h, mac);
    if (sodium_memcmp(mac, h + VAULT_HEADER_MACED, 32) != 0)
        return vault_why(SQLITE_NOTADB, "wrong key or not a mote vault (the header does not authenticate)");
    uint32_t ps = le32_get(h + 20);
    if ((ps && !vault_valid_page_size(ps)) || le32_get(h + 24) != MEM_VAULT_RESERVE || kdf > VAULT_KDF_ARGON2ID)
        return vault_why(SQLITE_NOTADB, "vault header with unsupported parameters");
    f->page_size = ps;
    memcpy(f->id, h + 32, VAULT_ID_LEN);
    f->have_header = 1;
    return SQLITE_OK;
}

/* Before the first write of a new database: read the header another
 * connection may have written since, or write one. SQLite holds its write
 * lock whenever it writes, so two writers never race here. */
int vault_ensure_header(vault_file *db)
{
    if (db->have_header) return SQLITE_OK;
    int rc = load_header(db);
    if (rc != SQLITE_OK || db->have_header) return rc;
    randombytes_buf(db->id, VAULT_ID_LEN);
    db->page_size = 0;
    rc = write_header(db);
    if (rc == SQLITE_OK) db->have_header = 1;
    return rc;
}

/* For reading: the header must be there (another connection may have
 * written it after this one opened the empty file). */
int vault_need_header(vault_file *db)
{
    if (db->have_header) return SQLITE_OK;
    int rc = load_header(db);
    if (rc == SQLITE_OK && !db->have_header)
        return vault_why(SQLITE_IOERR_READ, "vault: the database has no vault header yet");
    return rc;
}

/* ------------------------------------------------------------------------
 * The database file: pages shifted past the vault header
 * ---------------------------------------------------------------------- */

/* One whole page at SQLite offset off into buf: SQLITE_IOERR_SHORT_READ
 * (zeros) past the end of the file, SQLITE_IOERR_DATA if it does not
 * authenticate. */
static int main_read_page(vault_file *f, uint8_t *buf, uint32_t n, sqlite3_int64 off)
{
    int rc = f->lower->pMethods->xRead(f->lower, buf, (int)n, off + VAULT_HEADER_SIZE);
    if (rc == SQLITE_IOERR_SHORT_READ) {
        memset(buf, 0, n); /* a page cut by a crash is no page: SQLite re-writes it from the WAL */
        return rc;
    }
    if (rc != SQLITE_OK) return rc;
    if (vault_open_page(f, 'D', buf, n, off) != 0)
        return vault_why(SQLITE_IOERR_DATA, "vault: database page %lld does not authenticate "
                   "(damaged or tampered with)", (long long)(off / n + 1));
    return SQLITE_OK;
}

static int main_read(vault_file *f, void *buf, int amt, sqlite3_int64 off)
{
    /* No header or no page size yet: another connection may have written
     * page 1 since; if not, the database is empty. */
    int rc = f->page_size ? SQLITE_OK : load_header(f);
    if (rc != SQLITE_OK) return rc;
    uint32_t ps = f->page_size;
    if (ps == 0) {
        memset(buf, 0, (size_t)amt);
        return SQLITE_IOERR_SHORT_READ;
    }
    if (amt == (int)ps && off % ps == 0) return main_read_page(f, buf, ps, off);
    /* A part of one page: SQLite reads the 100-byte header, or 16 bytes at 24. */
    sqlite3_int64 start = off - off % ps;
    if (off + amt > start + ps)
        return vault_why(SQLITE_IOERR_READ, "vault: a read across pages (%d bytes at %lld)", amt,
                   (long long)off);
    if ((rc = vault_scratch(f, ps)) != SQLITE_OK) return rc;
    rc = main_read_page(f, f->scratch, ps, start);
    memcpy(buf, f->scratch + (off - start), (size_t)amt);
    return rc;
}

static int main_write(vault_file *f, const void *buf, int amt, sqlite3_int64 off)
{
    int rc = vault_ensure_header(f);
    if (rc != SQLITE_OK) return rc;
    const uint8_t *page = buf;
    if (off == 0) { /* page 1: learn the page size, check the reserve */
        if (!vault_valid_page_size((uint32_t)amt) || page[DB_HEADER_RESERVE] < MEM_VAULT_RESERVE)
            return vault_why(SQLITE_IOERR_WRITE, "vault: the database reserves %d bytes per page, the "
                       "vault needs %d (open it through mem_vault_open)", page[DB_HEADER_RESERVE],
                       MEM_VAULT_RESERVE);
        if (f->page_size != (uint32_t)amt) {
            if (f->page_size != 0)
                return vault_why(SQLITE_IOERR_WRITE, "vault: changing the page size (%u to %d) is not "
                           "supported", f->page_size, amt);
            f->page_size = (uint32_t)amt;
            if ((rc = write_header(f)) != SQLITE_OK) return rc;
        }
    }
    if (f->page_size == 0 || amt != (int)f->page_size || off % amt != 0)
        return vault_why(SQLITE_IOERR_WRITE, "vault: a database write that is not one page (%d bytes at "
                   "%lld)", amt, (long long)off);
    if ((rc = vault_seal_page(f, 'D', page, (size_t)amt, off)) != SQLITE_OK) return rc;
    return f->lower->pMethods->xWrite(f->lower, f->scratch, amt, off + VAULT_HEADER_SIZE);
}

/* ------------------------------------------------------------------------
 * sqlite3_io_methods
 * ---------------------------------------------------------------------- */

#define LOWER(pf) (((vault_file *)(pf))->lower)

static int vault_close(sqlite3_file *pf)
{
    vault_file *f = (vault_file *)pf;
    int rc = f->lower->pMethods ? f->lower->pMethods->xClose(f->lower) : SQLITE_OK;
    if (f->scratch) {
        sodium_memzero(f->scratch, f->scratch_cap);
        sqlite3_free(f->scratch);
    }
    sodium_memzero(f->temp_key, sizeof f->temp_key);
    f->scratch = NULL;
    return rc;
}

static int vault_read(sqlite3_file *pf, void *buf, int amt, sqlite3_int64 off)
{
    vault_file *f = (vault_file *)pf;
    switch (f->kind) {
    case VK_MAIN: return main_read(f, buf, amt, off);
    case VK_WAL: return vault_wal_read(f, buf, amt, off);
    case VK_JOURNAL: return vault_journal_read(f, buf, amt, off);
    case VK_TEMP: return vault_temp_read(f, buf, amt, off);
    default: return f->lower->pMethods->xRead(f->lower, buf, amt, off);
    }
}

static int vault_write(sqlite3_file *pf, const void *buf, int amt, sqlite3_int64 off)
{
    vault_file *f = (vault_file *)pf;
    switch (f->kind) {
    case VK_MAIN: return main_write(f, buf, amt, off);
    case VK_WAL: return vault_wal_write(f, buf, amt, off);
    case VK_JOURNAL: return vault_journal_write(f, buf, amt, off);
    case VK_TEMP: return vault_temp_write(f, buf, amt, off);
    default: return f->lower->pMethods->xWrite(f->lower, buf, amt, off);
    }
}

static int vault_truncate(sqlite3_file *pf, sqlite3_int64 size)
{
    vault_file *f = (vault_file *)pf;
    if (f->kind == VK_MAIN) size += VAULT_HEADER_SIZE;
    return f->lower->pMethods->xTruncate(f->lower, size);
}

static int vault_file_size(sqlite3_file *pf, sqlite3_int64 *size)
{
    vault_file *f = (vault_file *)pf;
    int rc = f->lower->pMethods->xFileSize(f->lower, size);
    if (rc == SQLITE_OK && f->kind == VK_MAIN)
        *size = *size > VAULT_HEADER_SIZE ? *size - VAULT_HEADER_SIZE : 0;
    return rc;
}

static int vault_file_control(sqlite3_file *pf, int op, void *arg)
{
    vault_file *f = (vault_file *)pf;
    if (op == SQLITE_FCNTL_SIZE_HINT && f->kind == VK_MAIN) {
        sqlite3_int64 hint = *(sqlite3_int64 *)arg + VAULT_HEADER_SIZE;
        return f->lower->pMethods->xFileControl(f->lower, op, &hint);
    }
    return f->lower->pMethods->xFileControl(f->lower, op, arg);
}

static int vault_sync(sqlite3_file *pf, int flags) { return LOWER(pf)->pMethods->xSync(LOWER(pf), flags); }
static int vault_lock(sqlite3_file *pf, int l) { return LOWER(pf)->pMethods->xLock(LOWER(pf), l); }
static int vault_unlock(sqlite3_file *pf, int l) { return LOWER(pf)->pMethods->xUnlock(LOWER(pf), l); }
static int vault_reserved(sqlite3_file *pf, int *out)
{
    return LOWER(pf)->pMethods->xCheckReservedLock(LOWER(pf), out);
}
static int vault_sector_size(sqlite3_file *pf) { return LOWER(pf)->pMethods->xSectorSize(LOWER(pf)); }
static int vault_device(sqlite3_file *pf)
{
    return LOWER(pf)->pMethods->xDeviceCharacteristics(LOWER(pf));
}
static int vault_shm_map(sqlite3_file *pf, int pg, int pgsz, int extend, void volatile **pp)
{
    return LOWER(pf)->pMethods->xShmMap(LOWER(pf), pg, pgsz, extend, pp);
}
static int vault_shm_lock(sqlite3_file *pf, int ofst, int n, int flags)
{
    return LOWER(pf)->pMethods->xShmLock(LOWER(pf), ofst, n, flags);
}
static void vault_shm_barrier(sqlite3_file *pf) { LOWER(pf)->pMethods->xShmBarrier(LOWER(pf)); }
static int vault_shm_unmap(sqlite3_file *pf, int del)
{
    return LOWER(pf)->pMethods->xShmUnmap(LOWER(pf), del);
}

/* Version 2: no xFetch, so SQLite never maps the (encrypted) file. */
static const sqlite3_io_methods vault_io = {
    2, vault_close, vault_read, vault_write, vault_truncate, vault_sync, vault_file_size,
    vault_lock, vault_unlock, vault_reserved, vault_file_control, vault_sector_size,
    vault_device, vault_shm_map, vault_shm_lock, vault_shm_barrier, vault_shm_unmap,
    NULL, NULL,
};

/* ------------------------------------------------------------------------
 * sqlite3_vfs
 * ---------------------------------------------------------------------- */

static int vault_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *pf, int flags, int *out_flags)
{
    mem_vault *v = vfs->pAppData;
    vault_file *f = (vault_file *)pf;
    memset(f, 0, sizeof *f);
    f->v = v;
    f->lower = (sqlite3_file *)(f + 1);
    if (flags & SQLITE_OPEN_MAIN_DB) f->kind = VK_MAIN, f->db = f;
    else if (flags & SQLITE_OPEN_WAL) f->kind = VK_WAL;
    else if (flags & SQLITE_OPEN_MAIN_JOURNAL) f->kind = VK_JOURNAL;
    else if (flags & SQLITE_OPEN_SUPER_JOURNAL) f->kind = VK_PLAIN; /* file names only */
    else f->kind = VK_TEMP; /* temp db, transient db, statement and temp journals */
    if (f->kind == VK_WAL || f->kind == VK_JOURNAL) {
        /* The database's file is ours too: the same VFS opened it. */
        f->db = name ? (vault_file *)sqlite3_database_file_object(name) : NULL;
        if (!f->db) return vault_why(SQLITE_CANTOPEN, "vault: a WAL or journal without its database");
    }
    if (f->kind == VK_TEMP) vault_temp_init(f);
    int rc = v->lower->xOpen(v->lower, name, f->lower, flags, out_flags);
    if (rc != SQLITE_OK) return rc;
    if (f->kind == VK_MAIN && (rc = load_header(f)) != SQLITE_OK) {
        f->lower->pMethods->xClose(f->lower);
        return rc;
    }
    pf->pMethods = &vault_io;
    return SQLITE_OK;
}

static int vault_delete(sqlite3_vfs *vfs, const char *name, int sync)
{
    mem_vault *v = vfs->pAppData;
    return v->lower->xDelete(v->lower, name, sync);
}
static int vault_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    mem_vault *v = vfs->pAppData;
    return v->lower->xAccess(v->lower, name, flags, out);
}
static int vault_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
    mem_vault *v = vfs->pAppData;
    return v->lower->xFullPathname(v->lower, name, n, out);
}
static int vault_randomness(sqlite3_vfs *vfs, int n, char *out)
{
    mem_vault *v = vfs->pAppData;
    return v->lower->xRandomness(v->lower, n, out);
}
static int vault_sleep(sqlite3_vfs *vfs, int us)
{
    mem_vault *v = vfs->pAppData;
    return v->lower->xSleep(v->lower, us);
}
static int vault_current_time(sqlite3_vfs *vfs, double *t)
{
    mem_vault *v = vfs->pAppData;
    return v->lower->xCurrentTime(v->lower, t);
}
static int vault_last_error(sqlite3_vfs *vfs, int n, char *out)
{
    mem_vault *v = vfs->pAppData;
    return v->lower->xGetLastError ? v->lower->xGetLastError(v->lower, n, out) : 0;
}
static int vault_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *t)
{
    mem_vault *v = vfs->pAppData;
    return v->lower->xCurrentTimeInt64(v->lower, t);
}

mote_status mem_vault_new(const uint8_t key[MEM_VAULT_KEY_BYTES], mem_vault **out)
{
    if (!key || !out) return mote_fail(MOTE_E_INVALID, "memory: vault: NULL key or out");
    *out = NULL;
    if (sodium_init() < 0) return mote_fail(MOTE_E_UNSUPPORTED, "memory: vault: libsodium failed to start");
    sqlite3_vfs *lower = sqlite3_vfs_find(NULL);
    if (!lower || lower->iVersion < 2)
        return mote_fail(MOTE_E_UNSUPPORTED, "memory: vault: no default SQLite VFS to wrap");
    /* Guarded, locked pages: the keys never reach swap. */
    mem_vault *v = sodium_malloc(sizeof *v);
    if (!v) return mote_fail(MOTE_E_NOMEM, "memory: vault: out of memory");
    memset(v, 0, sizeof *v);
    static _Atomic unsigned serial;
    snprintf(v->name, sizeof v->name, "mote-vault-%u", ++serial);
    v->lower = lower;
    crypto_kdf_derive_from_key(v->page_key, sizeof v->page_key, KDF_PAGES, KDF_CONTEXT, key);
    crypto_kdf_derive_from_key(v->header_key, sizeof v->header_key, KDF_HEADER, KDF_CONTEXT, key);
    crypto_kdf_derive_from_key(v->mask_key, sizeof v->mask_key, KDF_FRAME_MASK, KDF_CONTEXT, key);
    v->vfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)sizeof(vault_file) + lower->szOsFile,
        .mxPathname = lower->mxPathname,
        .zName = v->name,
        .pAppData = v,
        .xOpen = vault_open,
        .xDelete = vault_delete,
        .xAccess = vault_access,
        .xFullPathname = vault_full_pathname,
        .xRandomness = vault_randomness,
        .xSleep = vault_sleep,
        .xCurrentTime = vault_current_time,
        .xGetLastError = vault_last_error,
        .xCurrentTimeInt64 = vault_current_time64,
    };
    int rc = sqlite3_vfs_register(&v->vfs, 0);
    if (rc != SQLITE_OK) {
        sodium_free(v);
        return mote_fail(MOTE_E_UNSUPPORTED, "memory: vault: registering the VFS: %s", sqlite3_errstr(rc));
    }
    *out = v;
    return MOTE_OK;
}

void mem_vault_free(mem_vault *v)
{
    if (!v) return;
    sqlite3_vfs_unregister(&v->vfs);
    sodium_free(v); /* wipes */
}

const char *mem_vault_vfs_name(const mem_vault *v)
{
    return v ? v->name : NULL;
}

mote_status mem_vault_open(mem_vault *v, const char *path, int flags, sqlite3 **out)
{
    if (!v || !path || !out) return mote_fail(MOTE_E_INVALID, "memory: vault: NULL argument");
    *out = NULL;
    why_buf[0] = 0;
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, flags, v->name);
    if (rc == SQLITE_OK) {
        /* Before the first write of a new database; a no-op on an old one. */
        int reserve = MEM_VAULT_RESERVE;
        sqlite3_file_control(db, "main", SQLITE_FCNTL_RESERVE_BYTES, &reserve);
        /* Reading the schema reads page 1 (or the WAL): a key or a page
         * that does not fit shows here, not at the first query. */
        rc = sqlite3_exec(db, "PRAGMA temp_store=MEMORY; SELECT count(*) FROM sqlite_schema;",
                          NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK) {
        mote_status st = rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_IOERR
                             ? MOTE_E_FORMAT : MOTE_E_IO;
        st = mote_fail(st, "memory: %s: %s", path, why_buf[0] ? why_buf : sqlite3_errmsg(db));
        sqlite3_close(db);
        return st;
    }
    *out = db;
    return MOTE_OK;
}
