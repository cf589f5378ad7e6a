/*
 * vault_side.c — the files beside the database: the WAL, the rollback
 * journal and SQLite's temporary files, each in SQLite's own layout with
 * its pages sealed as in the database (vault.c).
 */
#include <string.h>

#include "memory/vault_file.h"

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
    if (vault_valid_page_size(p)) f->page_size = p;
}

/* The WAL header as it is on disk now. Never cached: another connection
 * may have restarted the log with new salts since. */
static int wal_header(vault_file *f, uint8_t hdr[WAL_HEADER_SIZE])
{
    int rc = f->lower->pMethods->xRead(f->lower, hdr, WAL_HEADER_SIZE, 0);
    if (rc == SQLITE_IOERR_SHORT_READ) return vault_why(SQLITE_IOERR_READ, "vault: the WAL has no header");
    if (rc == SQLITE_OK) wal_learn_page_size(f, hdr);
    return rc;
}

static int wal_page_size(vault_file *f)
{
    if (f->page_size) return SQLITE_OK;
    uint8_t hdr[WAL_HEADER_SIZE];
    int rc = wal_header(f, hdr);
    if (rc != SQLITE_OK) return rc;
    return f->page_size ? SQLITE_OK : vault_why(SQLITE_IOERR_READ, "vault: the WAL has no valid header");
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

int vault_wal_read(vault_file *f, void *buf, int amt, sqlite3_int64 off)
{
    int rc = f->lower->pMethods->xRead(f->lower, buf, amt, off);
    if (rc != SQLITE_OK && rc != SQLITE_IOERR_SHORT_READ) return rc;
    if (off == 0 && amt >= WAL_HEADER_SIZE && rc == SQLITE_OK) wal_learn_page_size(f, buf);
    if (off + amt <= WAL_HEADER_SIZE) return rc;
    int prc = vault_need_header(f->db);
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
            if ((prc = vault_scratch(f, f->page_size)) != SQLITE_OK) return prc;
            page = f->scratch;
            prc = f->lower->pMethods->xRead(f->lower, page, (int)f->page_size, pstart);
            if (prc != SQLITE_OK && prc != SQLITE_IOERR_SHORT_READ) return prc;
        }
        int whole_frame = fstart >= off; /* recovery reads frame header and page together */
        if (pend > size) {
            memset(page, 0, f->page_size); /* past the end: a frame cut short */
        } else if (vault_open_page(f, 'W', page, f->page_size, pstart) != 0) {
            if (!whole_frame)
                return vault_why(SQLITE_IOERR_DATA, "vault: WAL frame %lld does not authenticate "
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

int vault_wal_write(vault_file *f, const void *buf, int amt, sqlite3_int64 off)
{
    int rc = vault_ensure_header(f->db);
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
        if ((rc = vault_seal_page(f, 'W', buf, (size_t)amt, off)) != SQLITE_OK) return rc;
        return f->lower->pMethods->xWrite(f->lower, f->scratch, amt, off);
    }
    return vault_why(SQLITE_IOERR_WRITE, "vault: a WAL write that is neither a header nor a page (%d "
               "bytes at %lld; psow=0 is not supported)", amt, (long long)off);
}

/* ------------------------------------------------------------------------
 * The rollback journal: page images at 4 mod 8, the rest in clear
 * ---------------------------------------------------------------------- */

static int journal_is_page(vault_file *f, int amt, sqlite3_int64 off)
{
    return f->db->page_size && amt == (int)f->db->page_size && off % 8 == JOURNAL_PAGE_SLOT;
}

int vault_journal_read(vault_file *f, void *buf, int amt, sqlite3_int64 off)
{
    int rc = f->lower->pMethods->xRead(f->lower, buf, amt, off);
    if (rc != SQLITE_OK || !journal_is_page(f, amt, off)) return rc;
    if (vault_open_page(f, 'J', buf, (size_t)amt, off) != 0)
        return vault_why(SQLITE_IOERR_DATA, "vault: a journal page at offset %lld does not authenticate",
                   (long long)off);
    return SQLITE_OK;
}

int vault_journal_write(vault_file *f, const void *buf, int amt, sqlite3_int64 off)
{
    int rc = vault_ensure_header(f->db);
    if (rc != SQLITE_OK) return rc;
    if (!journal_is_page(f, amt, off)) return f->lower->pMethods->xWrite(f->lower, buf, amt, off);
    if ((rc = vault_seal_page(f, 'J', buf, (size_t)amt, off)) != SQLITE_OK) return rc;
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

void vault_temp_init(vault_file *f)
{
    crypto_stream_xchacha20_keygen(f->temp_key);
    randombytes_buf(f->temp_nonce, sizeof f->temp_nonce);
}

int vault_temp_read(vault_file *f, void *buf, int amt, sqlite3_int64 off)
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

int vault_temp_write(vault_file *f, const void *buf, int amt, sqlite3_int64 off)
{
    int rc = vault_scratch(f, (size_t)amt);
    if (rc != SQLITE_OK) return rc;
    memcpy(f->scratch, buf, (size_t)amt);
    temp_xor(f, f->scratch, (size_t)amt, off);
    return f->lower->pMethods->xWrite(f->lower, f->scratch, amt, off);
}

