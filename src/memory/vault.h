/*
 * vault.h — encryption at rest of the memory store's SQLite database.
 *
 * A mem_vault is an SQLite VFS over the default one that encrypts every
 * page of the database, of its WAL and of its rollback journal with
 * XChaCha20-Poly1305 (libsodium), so a copy of the files (a stolen disk, a
 * backup) shows neither the text nor the index. One vault holds one key;
 * several vaults (different keys, different stores) live side by side in
 * one process, each registered under its own VFS name. The store opens its
 * database through mem_vault_open, which also sets what an encrypted
 * database needs before its first write (the per-page room for the nonce
 * and tag) and keeps SQLite's temporary tables in memory.
 *
 * The on-disk format (see vault.c for the details):
 *   database  a 4096-byte vault header (magic "mote-vault", version, page
 *             size, random file id, a passphrase's Argon2id salt and
 *             limits, keyed BLAKE2b check of the header),
 *             then SQLite's pages in order, each sealed in place:
 *             ciphertext of bytes [0, P-40) | nonce (24) | tag (16).
 *             SQLite keeps the last 40 bytes of each page free ("reserved
 *             bytes per page", byte 20 of its header = 40).
 *   WAL       SQLite's own layout; the 32-byte header in clear, the
 *             24-byte frame headers XORed with a keyed keystream, each
 *             frame's page sealed as above.
 *   journal   SQLite's own layout; each page image sealed as above.
 *   temp      SQLite's temporary files (sorts that spill, temp tables when
 *             temp_store is not MEMORY) are XChaCha20-encrypted with a key
 *             that lives only in memory for as long as the file is open.
 * The associated data of every sealed page binds it to its database (the
 * file id), its file kind and its position, so pages cannot be moved
 * between places or stores unnoticed.
 *
 * Callers that open the database themselves (sqlite3_open_v2 with
 * mem_vault_vfs_name) must, before the first write of a new database, run
 * sqlite3_file_control(db, "main", SQLITE_FCNTL_RESERVE_BYTES, &n) with n =
 * MEM_VAULT_RESERVE, and should run PRAGMA temp_store=MEMORY. A vault must
 * outlive every connection opened through it.
 */
#ifndef MOTE_MEMORY_VAULT_H
#define MOTE_MEMORY_VAULT_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "mote.h"

#define MEM_VAULT_KEY_BYTES 32
/* Bytes SQLite must reserve at the end of every page: nonce + tag. */
#define MEM_VAULT_RESERVE 40

typedef struct mem_vault mem_vault;

/* Register an encrypting VFS for key (copied into locked memory; the
 * caller wipes its own copy). MOTE_E_INVALID for NULL arguments. */
mote_status mem_vault_new(const uint8_t key[MEM_VAULT_KEY_BYTES], mem_vault **out);
/* Unregister and wipe. Every connection opened through it must be closed. */
void mem_vault_free(mem_vault *v);
/* The VFS name to give sqlite3_open_v2. */
const char *mem_vault_vfs_name(const mem_vault *v);

/* Open (flags as for sqlite3_open_v2; SQLITE_OPEN_CREATE makes a new
 * vault) and check that the key opens it: a wrong key, a plaintext
 * database or another file fail with MOTE_E_FORMAT and a message saying
 * which. Sets the reserved bytes of a new database and temp_store=MEMORY. */
mote_status mem_vault_open(mem_vault *v, const char *path, int flags, sqlite3 **db);

/* Why the vault failed the last I/O on this thread (a page that does not
 * authenticate, a wrong key, ...), or NULL: SQLite itself only reports
 * "disk I/O error" or "file is not a database". mem_vault_open puts it in
 * its message already. */
const char *mem_vault_last_error(void);

/* A vault for the database at db_path locked with a passphrase: the key
 * is Argon2id(passphrase, salt), with the salt and limits from the
 * database's vault header, or new ones (libsodium's "interactive" limits:
 * 64 MiB, a fraction of a second) when the database does not exist yet.
 * Such a vault opens that database only. MOTE_E_FORMAT for a database
 * locked with a key; a wrong passphrase shows at mem_vault_open. */
mote_status mem_vault_new_passphrase(const char *passphrase, size_t len, const char *db_path,
                                     mem_vault **out);

/* The key from a file of 32 raw bytes or 64 hex digits (trailing white
 * space allowed) that only its owner may read (mode 0600 or stricter). */
mote_status mem_vault_key_from_file(const char *path, uint8_t key[MEM_VAULT_KEY_BYTES]);
/* The key from environment variable name, as 64 hex digits. */
mote_status mem_vault_key_from_env(const char *name, uint8_t key[MEM_VAULT_KEY_BYTES]);
/* A new random key written to path as 64 hex digits and a newline, mode
 * 0600; fails if path exists. */
mote_status mem_vault_key_create(const char *path, uint8_t key[MEM_VAULT_KEY_BYTES]);

#endif
