/*
 * vault.c — an encrypting SQLite VFS over the default (unix) one.
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
 *     28   4  key derivation: 0 = raw 32-byte key (others reserved)
 *     32  16  file id, random, bound into every page's associated data
 *     48  32  reserved (a passphrase's salt and limits), zero
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

#include <sodium.h>

#include "base/status.h"
#include "memory/vault.h"

#define VAULT_MAGIC "mote-vault\0\0\0\0\0"  /* 16 bytes with the final NUL */
#define VAULT_MAGIC_LEN 16
#define VAULT_VERSION 1
#define VAULT_HEADER_SIZE 4096   /* keeps 4 KiB pages aligned on disk */
#define VAULT_HEADER_MACED 80    /* bytes covered by the header's MAC */
#define VAULT_HEADER_USED 112
#define VAULT_ID_LEN 16
#define NONCE_LEN crypto_aead_xchacha20poly1305_ietf_NPUBBYTES /* 24 */
#define TAG_LEN crypto_aead_xchacha20poly1305_ietf_ABYTES      /* 16 */
#define AAD_LEN (VAULT_ID_LEN + 1 + 8)
#define KDF_CONTEXT "motevlt1"
#define KDF_PAGES 1
#define KDF_HEADER 2
#define KDF_FRAME_MASK 3

/* SQLite's file formats, https://sqlite.org/fileformat2.html */
#define SQLITE_MAGIC "SQLite format 3"     /* + NUL: 16 bytes */
#define DB_HEADER_RESERVE 20                 /* byte: reserved bytes per page */
#define WAL_HEADER_SIZE 32
#define WAL_HEADER_PAGE_SIZE 8               /* big-endian u32; 1 means 65536 */
#define WAL_HEADER_SALTS 16                  /* salt-1, salt-2: new at every restart */
#define WAL_FRAME_HEADER_SIZE 24
#define JOURNAL_PAGE_SLOT 4                  /* a page image sits at 4 mod 8 */
#define PAGE_MIN 512
#define PAGE_MAX 65536

_Static_assert(NONCE_LEN + TAG_LEN == MEM_VAULT_RESERVE, "reserve = nonce + tag");

struct mem_vault {
    sqlite3_vfs vfs;              /* registered under name; pAppData = this */
    sqlite3_vfs *lower;           /* the default VFS it wraps */
    char name[40];
    uint8_t page_key[32];         /* seals pages */
    uint8_t header_key[32];       /* MACs the vault header */
    uint8_t mask_key[32];         /* masks WAL frame headers */
};

enum vault_kind { VK_MAIN, VK_WAL, VK_JOURNAL, VK_TEMP, VK_PLAIN };

typedef struct vault_file {
    sqlite3_file base;            /* pMethods = &vault_io */
    mem_vault *v;
    enum vault_kind kind;
    struct vault_file *db;        /* WAL, journal: their database's file (its id, page size) */
    int have_header;              /* main: header read or written */
    uint32_t page_size;           /* main: from the header; WAL: from the WAL header */
    uint8_t id[VAULT_ID_LEN];     /* main: the file id */
    uint8_t temp_key[32];         /* temp: this file's own stream key */
    uint8_t temp_nonce[24];
    uint8_t *scratch;             /* (scratch_cap) a sealed page or a temp write */
    size_t scratch_cap;
    sqlite3_file *lower;          /* the default VFS's file, right after this struct */
} vault_file;

/* ------------------------------------------------------------------------
 * Errors: SQLite reports "disk I/O error", the vault says why
 * ---------------------------------------------------------------------- */

static _Thread_local char vault_why[256];

static int why(int rc, const char *fmt, ...) MOTE_PRINTF(2, 3);
static int why(int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(vault_why, sizeof vault_why, fmt, ap);
    va_end(ap);
    return rc;
}

const char *mem_vault_last_error(void)
{
    return vault_why[0] ? vault_why : NULL;
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

static int valid_page_size(uint32_t p)
{
    return p >= PAGE_MIN && p <= PAGE_MAX && (p & (p - 1)) == 0;
}

static void page_aad(uint8_t aad[AAD_LEN], const vault_file *db, char kind, sqlite3_int64 off)
{
    memcpy(aad, db->id, VAULT_ID_LEN);
    aad[VAULT_ID_LEN] = (uint8_t)kind;
    for (int i = 0; i < 8; i++) aad[VAULT_ID_LEN + 1 + i] = (uint8_t)((uint64_t)off >> (8 * i));
}

static int ensure_scratch(vault_file *f, size_t n)
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
static int seal_page(vault_file *f, char kind, const uint8_t *page, size_t n, sqlite3_int64 off)
{
    size_t body = n - MEM_VAULT_RESERVE;
    for (size_t i = body; i < n; i++)
        if (page[i])
            return why(SQLITE_IOERR_WRITE, "vault: the page at offset %lld has no room for the "
                       "nonce and tag (the database lacks %d reserved bytes per page; open it "
                       "through mem_vault_open)", (long long)off, MEM_VAULT_RESERVE);
    int rc = ensure_scratch(f, n);
    if (rc != SQLITE_OK) return rc;
    uint8_t aad[AAD_LEN], *nonce = f->scratch + body, *tag = nonce + NONCE_LEN;
    page_aad(aad, f->db, kind, off);
    randombytes_buf(nonce, NONCE_LEN);
    crypto_aead_xchacha20poly1305_ietf_encrypt_detached(f->scratch, tag, NULL, page, body, aad,
                                                        AAD_LEN, NULL, nonce, f->v->page_key);
    return SQLITE_OK;
}

/* Open a sealed page in place; 0 if it authenticates. */
static int open_page(vault_file *f, char kind, uint8_t *page, size_t n, sqlite3_int64 off)
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
    memcpy(h + 32, f->id, VAULT_ID_LEN);
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
        return why(SQLITE_NOTADB, "a plaintext SQLite database, not a mote vault");
    if (memcmp(h, VAULT_MAGIC, VAULT_MAGIC_LEN) != 0 || size < VAULT_HEADER_USED)
        return why(SQLITE_NOTADB, "not a mote vault (no vault header)");
    if (le32_get(h + 16) != VAULT_VERSION)
        return why(SQLITE_NOTADB, "vault format version %u, this build reads %d",
                   le32_get(h + 16), VAULT_VERSION);
    header_mac(f->v, h, mac);
    if (sodium_memcmp(mac, h + VAULT_HEADER_MACED, 32) != 0)
        return why(SQLITE_NOTADB, "wrong key or not a mote vault (the header does not authenticate)");
    uint32_t ps = le32_get(h + 20);
    if ((ps && !valid_page_size(ps)) || le32_get(h + 24) != MEM_VAULT_RESERVE || le32_get(h + 28))
        return why(SQLITE_NOTADB, "vault header with unsupported parameters");
    f->page_size = ps;
    memcpy(f->id, h + 32, VAULT_ID_LEN);
    f->have_header = 1;
    return SQLITE_OK;
}

/* Before the first write of a new database: read the header another
 * connection may have written since, or write one. SQLite holds its write
 * lock whenever it writes, so two writers never race here. */
static int ensure_header(vault_file *db)
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
static int need_header(vault_file *db)
{
    if (db->have_header) return SQLITE_OK;
    int rc = load_header(db);
    if (rc == SQLITE_OK && !db->have_header)
        return why(SQLITE_IOERR_READ, "vault: the database has no vault header yet");
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
    if (open_page(f, 'D', buf, n, off) != 0)
        return why(SQLITE_IOERR_DATA, "vault: database page %lld does not authenticate "
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
        return why(SQLITE_IOERR_READ, "vault: a read across pages (%d bytes at %lld)", amt,
                   (long long)off);
    if ((rc = ensure_scratch(f, ps)) != SQLITE_OK) return rc;
    rc = main_read_page(f, f->scratch, ps, start);
    memcpy(buf, f->scratch + (off - start), (size_t)amt);
    return rc;
}

static int main_write(vault_file *f, const void *buf, int amt, sqlite3_int64 off)
{
    int rc = ensure_header(f);
    if (rc != SQLITE_OK) return rc;
    const uint8_t *page = buf;
    if (off == 0) { /* page 1: learn the page size, check the reserve */
        if (!valid_page_size((uint32_t)amt) || page[DB_HEADER_RESERVE] < MEM_VAULT_RESERVE)
            return why(SQLITE_IOERR_WRITE, "vault: the database reserves %d bytes per page, the "
                       "vault needs %d (open it through mem_vault_open)", page[DB_HEADER_RESERVE],
                       MEM_VAULT_RESERVE);
        if (f->page_size != (uint32_t)amt) {
            if (f->page_size != 0)
                return why(SQLITE_IOERR_WRITE, "vault: changing the page size (%u to %d) is not "
                           "supported", f->page_size, amt);
            f->page_size = (uint32_t)amt;
            if ((rc = write_header(f)) != SQLITE_OK) return rc;
        }
    }
    if (f->page_size == 0 || amt != (int)f->page_size || off % amt != 0)
        return why(SQLITE_IOERR_WRITE, "vault: a database write that is not one page (%d bytes at "
                   "%lld)", amt, (long long)off);
    if ((rc = seal_page(f, 'D', page, (size_t)amt, off)) != SQLITE_OK) return rc;
    return f->lower->pMethods->xWrite(f->lower, f->scratch, amt, off + VAULT_HEADER_SIZE);
}

/* ------------------------------------------------------------------------
 * The WAL: its header in clear, frame headers masked, pages sealed
 *
 * Frame k (from 0) starts at 32 + k*(24+P): a 24-byte header, then the
 * page. The header (page number, commit size, salts, SQLite's checksum of
 * the plaintext page) is XORed with a keystream of the key, the database,
 * the WAL's current salts and k, so the checksum cannot confirm a guessed
 * page. A restart gives the WAL new salts, so old frames unmask to noise
 * and SQLite rejects them, as it would anyway.
 * ---------------------------------------------------------------------- */

static void wal_learn_page_size(vault_file *f, const uint8_t *hdr)
{
    uint32_t p = (uint32_t)hdr[WAL_HEADER_PAGE_SIZE] << 24 | (uint32_t)hdr[WAL_HEADER_PAGE_SIZE + 1] << 16 |
                 (uint32_t)hdr[WAL_HEADER_PAGE_SIZE + 2] << 8 | hdr[WAL_HEADER_PAGE_SIZE + 3];
    if (p == 1) p = PAGE_MAX;
    if (valid_page_size(p)) f->page_size = p;
}

/* The WAL header as it is on disk now. Never cached: another connection
 * may have restarted the log with new salts since. */
static int wal_header(vault_file *f, uint8_t hdr[WAL_HEADER_SIZE])
{
    int rc = f->lower->pMethods->xRead(f->lower, hdr, WAL_HEADER_SIZE, 0);
    if (rc == SQLITE_IOERR_SHORT_READ) return why(SQLITE_IOERR_READ, "vault: the WAL has no header");
    if (rc == SQLITE_OK) wal_learn_page_size(f, hdr);
    return rc;
}

static int wal_page_size(vault_file *f)
{
    if (f->page_size) return SQLITE_OK;
    uint8_t hdr[WAL_HEADER_SIZE];
    int rc = wal_header(f, hdr);
    if (rc != SQLITE_OK) return rc;
    return f->page_size ? SQLITE_OK : why(SQLITE_IOERR_READ, "vault: the WAL has no valid header");
}

/* XOR bytes [lo, hi) of frame k's header (0 <= lo < hi <= 24) at p. */
static void frame_mask(vault_file *f, const uint8_t hdr[WAL_HEADER_SIZE], sqlite3_int64 k, uint8_t *p,
                       int lo, int hi)
{
    uint8_t nonce[24], m[WAL_FRAME_HEADER_SIZE];
    memcpy(nonce, hdr + WAL_HEADER_SALTS, 8);
    for (int i = 0; i < 8; i++) nonce[8 + i] = (uint8_t)((uint64_t)k >> (8 * i));
    memcpy(nonce + 16, f->db->id, 8);
    crypto_stream_xchacha20(m, sizeof m, nonce, f->v->mask_key);
    for (int i = lo; i < hi; i++) p[i - lo] ^= m[i];
}

static int wal_read(vault_file *f, void *buf, int amt, sqlite3_int64 off)
{
    int rc = f->lower->pMethods->xRead(f->lower, buf, amt, off);
    if (rc != SQLITE_OK && rc != SQLITE_IOERR_SHORT_READ) return rc;
    if (off == 0 && amt >= WAL_HEADER_SIZE && rc == SQLITE_OK) wal_learn_page_size(f, buf);
    if (off + amt <= WAL_HEADER_SIZE) return rc;
    int prc = need_header(f->db);
    if (prc == SQLITE_OK) prc = wal_page_size(f);
    if (prc != SQLITE_OK) return prc;
    sqlite3_int64 size = off + amt, frame = WAL_FRAME_HEADER_SIZE + (sqlite3_int64)f->page_size;
    if (rc == SQLITE_IOERR_SHORT_READ && (prc = f->lower->pMethods->xFileSize(f->lower, &size)))
        return prc;
    uint8_t *out = buf, hdr[WAL_HEADER_SIZE];
    int have_hdr = 0;
    sqlite3_int64 k = off < WAL_HEADER_SIZE ? 0 : (off - WAL_HEADER_SIZE) / frame;
    for (;; k++) {
        sqlite3_int64 fstart = WAL_HEADER_SIZE + k * frame, pstart = fstart + WAL_FRAME_HEADER_SIZE;
        sqlite3_int64 pend = pstart + f->page_size;
        if (fstart >= off + amt) break;
        if (pstart > off) { /* some of the frame header */
            if (!have_hdr && (prc = wal_header(f, hdr)) != SQLITE_OK) return prc;
            have_hdr = 1;
            int lo = fstart < off ? (int)(off - fstart) : 0;
            int hi = pstart > off + amt ? (int)(off + amt - fstart) : WAL_FRAME_HEADER_SIZE;
            frame_mask(f, hdr, k, out + (fstart + lo - off), lo, hi);
        }
        if (pstart >= off + amt) break;
        uint8_t *page;
        if (pstart >= off && pend <= off + amt) {
            page = out + (pstart - off);
        } else {
            if ((prc = ensure_scratch(f, f->page_size)) != SQLITE_OK) return prc;
            page = f->scratch;
            prc = f->lower->pMethods->xRead(f->lower, page, (int)f->page_size, pstart);
            if (prc != SQLITE_OK && prc != SQLITE_IOERR_SHORT_READ) return prc;
        }
        int whole_frame = fstart >= off; /* recovery reads frame header and page together */
        if (pend > size) {
            memset(page, 0, f->page_size); /* past the end: a frame cut short */
        } else if (open_page(f, 'W', page, f->page_size, pstart) != 0) {
            if (!whole_frame)
                return why(SQLITE_IOERR_DATA, "vault: WAL frame %lld does not authenticate "
                           "(damaged or tampered with)", (long long)k + 1);
            memset(page, 0, f->page_size); /* SQLite's frame checksum rejects it */
        }
        if (page == f->scratch) {
            sqlite3_int64 lo = pstart > off ? pstart : off, hi = pend < off + amt ? pend : off + amt;
            memcpy(out + (lo - off), page + (lo - pstart), (size_t)(hi - lo));
        }
    }
    return rc;
}

static int wal_write(vault_file *f, const void *buf, int amt, sqlite3_int64 off)
{
    int rc = ensure_header(f->db);
    if (rc != SQLITE_OK) return rc;
    if (off == 0 && amt >= WAL_HEADER_SIZE) wal_learn_page_size(f, buf);
    if (off + amt <= WAL_HEADER_SIZE)
        return f->lower->pMethods->xWrite(f->lower, buf, amt, off);
    if ((rc = wal_page_size(f)) != SQLITE_OK) return rc;
    sqlite3_int64 frame = WAL_FRAME_HEADER_SIZE + (sqlite3_int64)f->page_size;
    sqlite3_int64 in_frame = (off - WAL_HEADER_SIZE) % frame;
    if (off >= WAL_HEADER_SIZE && in_frame == 0 && amt == WAL_FRAME_HEADER_SIZE) {
        uint8_t hdr[WAL_HEADER_SIZE], masked[WAL_FRAME_HEADER_SIZE];
        if ((rc = wal_header(f, hdr)) != SQLITE_OK) return rc;
        memcpy(masked, buf, sizeof masked);
        frame_mask(f, hdr, (off - WAL_HEADER_SIZE) / frame, masked, 0, WAL_FRAME_HEADER_SIZE);
        return f->lower->pMethods->xWrite(f->lower, masked, amt, off);
    }
    if (off >= WAL_HEADER_SIZE && in_frame == WAL_FRAME_HEADER_SIZE && amt == (int)f->page_size) {
        if ((rc = seal_page(f, 'W', buf, (size_t)amt, off)) != SQLITE_OK) return rc;
        return f->lower->pMethods->xWrite(f->lower, f->scratch, amt, off);
    }
    return why(SQLITE_IOERR_WRITE, "vault: a WAL write that is neither a header nor a page (%d "
               "bytes at %lld; psow=0 is not supported)", amt, (long long)off);
}

/* ------------------------------------------------------------------------
 * The rollback journal: page images at 4 mod 8, the rest in clear
 * ---------------------------------------------------------------------- */

static int journal_is_page(vault_file *f, int amt, sqlite3_int64 off)
{
    return f->db->page_size && amt == (int)f->db->page_size && off % 8 == JOURNAL_PAGE_SLOT;
}

static int journal_read(vault_file *f, void *buf, int amt, sqlite3_int64 off)
{
    int rc = f->lower->pMethods->xRead(f->lower, buf, amt, off);
    if (rc != SQLITE_OK || !journal_is_page(f, amt, off)) return rc;
    if (open_page(f, 'J', buf, (size_t)amt, off) != 0)
        return why(SQLITE_IOERR_DATA, "vault: a journal page at offset %lld does not authenticate",
                   (long long)off);
    return SQLITE_OK;
}

static int journal_write(vault_file *f, const void *buf, int amt, sqlite3_int64 off)
{
    int rc = ensure_header(f->db);
    if (rc != SQLITE_OK) return rc;
    if (!journal_is_page(f, amt, off)) return f->lower->pMethods->xWrite(f->lower, buf, amt, off);
    if ((rc = seal_page(f, 'J', buf, (size_t)amt, off)) != SQLITE_OK) return rc;
    return f->lower->pMethods->xWrite(f->lower, f->scratch, amt, off);
}

/* ------------------------------------------------------------------------
 * Temporary files: a keystream at the byte offset, key in memory only
 * ---------------------------------------------------------------------- */

static void temp_xor(vault_file *f, uint8_t *p, size_t n, sqlite3_int64 off)
{
    uint64_t block = (uint64_t)off / 64;
    size_t skip = (size_t)((uint64_t)off % 64);
    if (skip) { /* the first partial 64-byte block */
        uint8_t ks[64] = {0};
        crypto_stream_xchacha20_xor_ic(ks, ks, 64, f->temp_nonce, block, f->temp_key);
        size_t m = 64 - skip < n ? 64 - skip : n;
        for (size_t i = 0; i < m; i++) p[i] ^= ks[skip + i];
        sodium_memzero(ks, sizeof ks);
        p += m, n -= m, block++;
    }
    if (n) crypto_stream_xchacha20_xor_ic(p, p, n, f->temp_nonce, block, f->temp_key);
}

static int temp_read(vault_file *f, void *buf, int amt, sqlite3_int64 off)
{
    int rc = f->lower->pMethods->xRead(f->lower, buf, amt, off);
    if (rc != SQLITE_OK && rc != SQLITE_IOERR_SHORT_READ) return rc;
    sqlite3_int64 size = off + amt;
    if (rc == SQLITE_IOERR_SHORT_READ) {
        int src = f->lower->pMethods->xFileSize(f->lower, &size);
        if (src != SQLITE_OK) return src;
    }
    if (size > off) temp_xor(f, buf, (size_t)((size < off + amt ? size : off + amt) - off), off);
    return rc;
}

static int temp_write(vault_file *f, const void *buf, int amt, sqlite3_int64 off)
{
    int rc = ensure_scratch(f, (size_t)amt);
    if (rc != SQLITE_OK) return rc;
    memcpy(f->scratch, buf, (size_t)amt);
    temp_xor(f, f->scratch, (size_t)amt, off);
    return f->lower->pMethods->xWrite(f->lower, f->scratch, amt, off);
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
    case VK_WAL: return wal_read(f, buf, amt, off);
    case VK_JOURNAL: return journal_read(f, buf, amt, off);
    case VK_TEMP: return temp_read(f, buf, amt, off);
    default: return f->lower->pMethods->xRead(f->lower, buf, amt, off);
    }
}

static int vault_write(sqlite3_file *pf, const void *buf, int amt, sqlite3_int64 off)
{
    vault_file *f = (vault_file *)pf;
    switch (f->kind) {
    case VK_MAIN: return main_write(f, buf, amt, off);
    case VK_WAL: return wal_write(f, buf, amt, off);
    case VK_JOURNAL: return journal_write(f, buf, amt, off);
    case VK_TEMP: return temp_write(f, buf, amt, off);
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
        f->db = (vault_file *)sqlite3_database_file_object(name);
    }
    if (f->kind == VK_TEMP) {
        crypto_stream_xchacha20_keygen(f->temp_key);
        randombytes_buf(f->temp_nonce, sizeof f->temp_nonce);
    }
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
    vault_why[0] = 0;
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
        st = mote_fail(st, "memory: %s: %s", path, vault_why[0] ? vault_why : sqlite3_errmsg(db));
        sqlite3_close(db);
        return st;
    }
    *out = db;
    return MOTE_OK;
}
