/*
 * vault_key.c — the vault's 32-byte key from a file or the environment.
 *
 * A key file holds 32 raw bytes or 64 hex digits (a trailing newline or
 * other white space is fine) and, like an SSH private key, must not be
 * readable by anyone but its owner. Buffers that held the key are wiped.
 * A passphrase goes through Argon2id with the salt and limits recorded in
 * the database's vault header (vault.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "memory/vault_file.h"

#define KEY_HEX_LEN (2 * MEM_VAULT_KEY_BYTES)
#define KEY_FILE_MAX 256  /* more than any key file in a format we read */
/* Limits read from a header are bounded, so a doctored header cannot make
 * us spend minutes or gigabytes before the MAC check refuses it. */
#define PWHASH_OPS_MAX 16
#define PWHASH_MEM_KIB_MAX (1024 * 1024)

/* 64 hex digits with nothing after them but white space. */
static int parse_hex_key(const char *s, size_t n, uint8_t key[MEM_VAULT_KEY_BYTES])
{
    while (n && strchr(" \t\r\n", s[n - 1])) n--;
    size_t got = 0;
    if (n != KEY_HEX_LEN) return -1;
    if (sodium_hex2bin(key, MEM_VAULT_KEY_BYTES, s, n, NULL, &got, NULL) != 0 ||
        got != MEM_VAULT_KEY_BYTES)
        return -1;
    return 0;
}

mote_status mem_vault_key_from_file(const char *path, uint8_t key[MEM_VAULT_KEY_BYTES])
{
    if (!path || !key) return mote_fail(MOTE_E_INVALID, "memory: key file: NULL argument");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return mote_fail(MOTE_E_IO, "memory: key file %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return mote_fail(MOTE_E_IO, "memory: key file %s: not a regular file", path);
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        close(fd);
        return mote_fail(MOTE_E_INVALID, "memory: key file %s: group or others may access it "
                         "(mode %03o); chmod 600 it", path, (unsigned)(st.st_mode & 0777));
    }
    char buf[KEY_FILE_MAX];
    size_t n = 0;
    ssize_t r;
    while (n < sizeof buf && (r = read(fd, buf + n, sizeof buf - n)) > 0) n += (size_t)r;
    int err = r < 0 ? errno : 0;
    close(fd);
    mote_status st_ = MOTE_OK;
    if (err)
        st_ = mote_fail(MOTE_E_IO, "memory: key file %s: %s", path, strerror(err));
    else if (n == MEM_VAULT_KEY_BYTES)
        memcpy(key, buf, MEM_VAULT_KEY_BYTES);
    else if (parse_hex_key(buf, n, key) != 0)
        st_ = mote_fail(MOTE_E_FORMAT, "memory: key file %s: expected 32 raw bytes or 64 hex "
                        "digits", path);
    sodium_memzero(buf, sizeof buf);
    return st_;
}

mote_status mem_vault_key_from_env(const char *name, uint8_t key[MEM_VAULT_KEY_BYTES])
{
    if (!name || !key) return mote_fail(MOTE_E_INVALID, "memory: key: NULL argument");
    const char *s = getenv(name);
    if (!s || !*s) return mote_fail(MOTE_E_INVALID, "memory: key: $%s is not set", name);
    if (parse_hex_key(s, strlen(s), key) != 0)
        return mote_fail(MOTE_E_FORMAT, "memory: key: $%s is not 64 hex digits", name);
    return MOTE_OK;
}

mote_status mem_vault_key_create(const char *path, uint8_t key[MEM_VAULT_KEY_BYTES])
{
    if (!path || !key) return mote_fail(MOTE_E_INVALID, "memory: key file: NULL argument");
    if (sodium_init() < 0) return mote_fail(MOTE_E_UNSUPPORTED, "memory: libsodium failed to start");
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return mote_fail(MOTE_E_IO, "memory: key file %s: %s", path, strerror(errno));
    char hex[KEY_HEX_LEN + 2];
    randombytes_buf(key, MEM_VAULT_KEY_BYTES);
    sodium_bin2hex(hex, sizeof hex, key, MEM_VAULT_KEY_BYTES);
    hex[KEY_HEX_LEN] = '\n';
    int ok = write(fd, hex, KEY_HEX_LEN + 1) == KEY_HEX_LEN + 1 && fsync(fd) == 0;
    int err = errno;
    sodium_memzero(hex, sizeof hex);
    if (close(fd) != 0 && ok) ok = 0, err = errno;
    if (!ok) {
        unlink(path);
        sodium_memzero(key, MEM_VAULT_KEY_BYTES);
        return mote_fail(MOTE_E_IO, "memory: key file %s: %s", path, strerror(err));
    }
    return MOTE_OK;
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

mote_status mem_vault_new_passphrase(const char *passphrase, size_t len, const char *db_path,
                                     mem_vault **out)
{
    if (!passphrase || !db_path || !out) return mote_fail(MOTE_E_INVALID, "memory: vault: NULL argument");
    *out = NULL;
    if (sodium_init() < 0) return mote_fail(MOTE_E_UNSUPPORTED, "memory: libsodium failed to start");
    uint8_t salt[VAULT_SALT_LEN], h[VAULT_HEADER_USED];
    uint32_t ops = crypto_pwhash_OPSLIMIT_INTERACTIVE, mem_kib = crypto_pwhash_MEMLIMIT_INTERACTIVE / 1024;
    randombytes_buf(salt, sizeof salt);
    /* An existing vault: its salt and limits. Anything else is left to
     * mem_vault_open to name (a plaintext database, another file). */
    int fd = open(db_path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = pread(fd, h, sizeof h, 0);
        close(fd);
        if (n == (ssize_t)sizeof h && memcmp(h, VAULT_MAGIC, VAULT_MAGIC_LEN) == 0) {
            if (get_le32(h + 28) != VAULT_KDF_ARGON2ID)
                return mote_fail(MOTE_E_FORMAT, "memory: %s: the vault is locked with a key, not a "
                                 "passphrase", db_path);
            memcpy(salt, h + 48, sizeof salt);
            ops = get_le32(h + 64);
            mem_kib = get_le32(h + 68);
            if (ops < crypto_pwhash_OPSLIMIT_MIN || ops > PWHASH_OPS_MAX || mem_kib < 8 ||
                mem_kib > PWHASH_MEM_KIB_MAX)
                return mote_fail(MOTE_E_FORMAT, "memory: %s: vault header with unsupported Argon2id "
                                 "limits (ops %u, %u KiB)", db_path, ops, mem_kib);
        }
    }
    uint8_t *key = sodium_malloc(MEM_VAULT_KEY_BYTES);
    if (!key) return mote_fail(MOTE_E_NOMEM, "memory: vault: out of memory");
    if (crypto_pwhash(key, MEM_VAULT_KEY_BYTES, passphrase, len, salt, ops, (size_t)mem_kib * 1024,
                      crypto_pwhash_ALG_ARGON2ID13) != 0) {
        sodium_free(key);
        return mote_fail(MOTE_E_NOMEM, "memory: vault: Argon2id needs %u KiB it could not get", mem_kib);
    }
    mem_vault *v = NULL;
    mote_status st = mem_vault_new(key, &v);
    sodium_free(key); /* wipes */
    if (st != MOTE_OK) return st;
    v->kdf = VAULT_KDF_ARGON2ID;
    memcpy(v->salt, salt, sizeof salt);
    v->ops = ops;
    v->mem_kib = mem_kib;
    *out = v;
    return MOTE_OK;
}
