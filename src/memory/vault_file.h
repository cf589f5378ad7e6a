/*
 * vault_file.h — the vault's internals, shared by vault.c (the VFS, the
 * database file and its header) and vault_side.c (the WAL, the rollback
 * journal, temporary files). Not for use outside those two.
 */
#ifndef MOTE_MEMORY_VAULT_FILE_H
#define MOTE_MEMORY_VAULT_FILE_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>
#include <sqlite3.h>

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
#define VAULT_KDF_RAW 0          /* a 32-byte key from a file or the environment */
#define VAULT_KDF_ARGON2ID 1     /* a passphrase through Argon2id, salt in the header */
#define VAULT_SALT_LEN 16        /* crypto_pwhash_SALTBYTES */
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
    uint32_t kdf;                 /* what new headers record: VAULT_KDF_RAW or VAULT_KDF_ARGON2ID */
    uint8_t salt[VAULT_SALT_LEN]; /* Argon2id: the passphrase's salt */
    uint32_t ops, mem_kib;        /* Argon2id: its limits */
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

/* Why the last I/O failed, for mem_vault_last_error(); returns rc. */
int vault_why(int rc, const char *fmt, ...) MOTE_PRINTF(2, 3);
int vault_valid_page_size(uint32_t p);
/* Grow f->scratch to n bytes. */
int vault_scratch(vault_file *f, size_t n);
/* Seal page (n bytes at SQLite's offset off in a file of this kind:
 * 'D', 'W', 'J') into f->scratch; refused if its last MEM_VAULT_RESERVE
 * bytes are not zero. */
int vault_seal_page(vault_file *f, char kind, const uint8_t *page, size_t n, sqlite3_int64 off);
/* Open a sealed page in place; 0 if it authenticates. */
int vault_open_page(vault_file *f, char kind, uint8_t *page, size_t n, sqlite3_int64 off);
/* The database's vault header: present for reading, created for writing. */
int vault_need_header(vault_file *db);
int vault_ensure_header(vault_file *db);

/* vault_side.c */
int vault_wal_read(vault_file *f, void *buf, int amt, sqlite3_int64 off);
int vault_wal_write(vault_file *f, const void *buf, int amt, sqlite3_int64 off);
int vault_journal_read(vault_file *f, void *buf, int amt, sqlite3_int64 off);
int vault_journal_write(vault_file *f, const void *buf, int amt, sqlite3_int64 off);
void vault_temp_init(vault_file *f);
int vault_temp_read(vault_file *f, void *buf, int amt, sqlite3_int64 off);
int vault_temp_write(vault_file *f, const void *buf, int amt, sqlite3_int64 off);

#endif
