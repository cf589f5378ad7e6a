/*
 * vault_key.c — the vault's 32-byte key from a file or the environment.
 *
 * A key file holds 32 raw bytes or 64 hex digits (a trailing newline or
 * other white space is fine) and, like an SSH private key, must not be
 * readable by anyone but its owner. Buffers that held the key are wiped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "base/status.h"
#include "memory/vault.h"

#define KEY_HEX_LEN (2 * MEM_VAULT_KEY_BYTES)
#define KEY_FILE_MAX 256  /* more than any key file in a format we read */

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
