/*
 * pull.c — store_pull: one GET (libcurl, redirects followed) into
 * NAME.gguf.part, resumed with a Range request when a partial file from
 * the same URL is there, hashed (SHA-256, libsodium) as it arrives, then
 * checked against the size and hash the hub announced (or a pinned
 * hash) and renamed to NAME.gguf.
 *
 * The hub's first answer to a file URL is a redirect carrying
 * X-Linked-Size and X-Linked-Etag (the SHA-256 of a large file); a plain
 * server's Content-Length (or Content-Range's total) gives the size, and
 * then only a pinned hash is checked.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <sodium.h>

#include "store/store.h"

#define CONNECT_TIMEOUT_S 30L
#define STALL_SECONDS 60L        /* slower than 1 byte/s for this long: give up */
#define READ_CHUNK (1u << 20)

typedef struct transfer {
    FILE *f;
    crypto_hash_sha256_state sha;
    uint64_t offset;          /* bytes in the part file before this transfer */
    uint64_t got;             /* bytes written by this transfer */
    int started;              /* the first data came: the response code is known */
    int restarted;            /* the server ignored Range: the part was emptied */
    int write_errno;          /* a write to the part failed */
    CURL *curl;
    char linked_etag[256];    /* X-Linked-Etag (the first one seen) */
    uint64_t linked_size;     /* X-Linked-Size */
    uint64_t content_length;  /* of the last response */
    uint64_t range_total;     /* Content-Range: bytes a-b/TOTAL */
    store_progress_fn progress;
    void *user;
    int cancelled;
} transfer;


/* Header "Name: value" (case-insensitive name): the value, trimmed, into
 * out; 1 if it is that header. */
static int header_value(const char *line, size_t n, const char *name, char *out, size_t cap)
{
    const size_t k = strlen(name);
    if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':') return 0;
    const char *v = line + k + 1;
    size_t len = n - k - 1;
    while (len && (*v == ' ' || *v == '\t')) v++, len--;
    while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' ')) len--;
    if (len >= cap) len = cap - 1;
    memcpy(out, v, len);
    out[len] = '\0';
    return 1;
}

static size_t on_header(char *line, size_t size, size_t nitems, void *user)
{
    transfer *t = user;
    const size_t n = size * nitems;
    char v[256];
    if (header_value(line, n, "X-Linked-Etag", v, sizeof v) && !t->linked_etag[0])
        snprintf(t->linked_etag, sizeof t->linked_etag, "%s", v);
    else if (header_value(line, n, "X-Linked-Size", v, sizeof v) && !t->linked_size)
        t->linked_size = strtoull(v, NULL, 10);
    else if (header_value(line, n, "Content-Length", v, sizeof v))
        t->content_length = strtoull(v, NULL, 10);
    else if (header_value(line, n, "Content-Range", v, sizeof v)) {
        const char *slash = strchr(v, '/');
        if (slash && slash[1] != '*') t->range_total = strtoull(slash + 1, NULL, 10);
    }
    return n;
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *user)
{
    transfer *t = user;
    const size_t n = size * nmemb;
    if (!t->started) {
        t->started = 1;
        long code = 0;
        curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
        if (code == 200 && t->offset > 0) { /* Range ignored: the whole file comes again */
            if (ftruncate(fileno(t->f), 0) != 0 || fseek(t->f, 0, SEEK_SET) != 0) {
                t->write_errno = errno;
                return 0;
            }
            t->offset = 0;
            t->restarted = 1;
            crypto_hash_sha256_init(&t->sha);
        }
        if (code != 200 && code != 206) return n; /* an error page: not written */
    }
    long code = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
    if (code != 200 && code != 206) return n;
    if (fwrite(data, 1, n, t->f) != n) {
        t->write_errno = errno ? errno : EIO;
        return 0; /* curl stops with CURLE_WRITE_ERROR */
    }
    crypto_hash_sha256_update(&t->sha, (const unsigned char *)data, n);
    t->got += n;
    return n;
}

static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    transfer *t = user;
    if (!t->progress) return 0;
    const uint64_t total = t->linked_size ? t->linked_size : dltotal > 0 ? t->offset + (uint64_t)dltotal : 0;
    if (t->progress(t->user, t->offset + (uint64_t)dlnow, total)) {
        t->cancelled = 1;
        return 1;
    }
    return 0;
}

/* The hub's hash: X-Linked-Etag is "HEX" (quotes, maybe W/); a 64-hex
 * value is a SHA-256, anything else (a git blob id) is not. */
static int etag_sha256(const char *etag, char out[65])
{
    const char *p = etag;
    if (strncmp(p, "W/", 2) == 0) p += 2;
    if (*p == '"') p++;
    size_t n = 0;
    while (isxdigit((unsigned char)p[n])) n++;
    if (n != 64) return 0;
    for (size_t i = 0; i < 64; i++) out[i] = (char)tolower((unsigned char)p[i]);
    out[64] = '\0';
    return 1;
}

/* Hash the first n bytes of f into sha (a resumed part). */
static int hash_existing(FILE *f, uint64_t n, crypto_hash_sha256_state *sha)
{
    unsigned char *buf = malloc(READ_CHUNK);
    if (!buf) return -1;
    rewind(f);
    while (n > 0) {
        const size_t k = n < READ_CHUNK ? (size_t)n : READ_CHUNK;
        if (fread(buf, 1, k, f) != k) {
            free(buf);
            return -1;
        }
        crypto_hash_sha256_update(sha, buf, k);
        n -= k;
    }
    free(buf);
    return fseek(f, 0, SEEK_END);
}

static void hex(const unsigned char *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", d[i]);
}

int store_pull(const store_ref *ref, const store_pull_opts *opts, store_pulled *out, char *path, size_t cap,
               char *err, size_t errcap)
{
    memset(out, 0, sizeof *out);
    static const store_pull_opts none = {0};
    if (!opts) opts = &none;
    char pin[65] = "";
    if (opts->sha256 && !etag_sha256(opts->sha256, pin))
        return store_fail(err, errcap, "--sha256 must be 64 hexadecimal digits");
    const int found = store_find(ref->name, path, cap, err, errcap);
    if (found < 0) return -1;
    if (found && !opts->force) {
        out->already = 1;
        return 0;
    }
    if (sodium_init() < 0) return store_fail(err, errcap, "libsodium failed to start");
    char part[4500], meta[4600], final_meta[4500];
    snprintf(part, sizeof part, "%s.part", path);
    snprintf(meta, sizeof meta, "%s.part.json", path);
    snprintf(final_meta, sizeof final_meta, "%.*s.json", (int)(strlen(path) - 5), path);

    /* resume only what was begun from the same URL */
    char begun[STORE_URL_MAX];
    store_read_meta(meta, begun, sizeof begun, NULL, 0); /* the URL the part was begun from */
    struct stat st;
    uint64_t have = 0;
    if (stat(part, &st) == 0 && strcmp(begun, ref->url) == 0) have = (uint64_t)st.st_size;
    else unlink(part);
    cJSON *pm = cJSON_CreateObject();
    cJSON_AddStringToObject(pm, "source", ref->url);
    const int meta_ok = pm && store_write_json(meta, pm, err, errcap) == 0;
    cJSON_Delete(pm);
    if (!meta_ok) return -1;

    const int fd = open(part, O_RDWR | O_CREAT, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "r+b") : NULL;
    if (!f) {
        if (fd >= 0) close(fd);
        return store_fail(err, errcap, "cannot write %s: %s", part, strerror(errno));
    }
    transfer t = {.f = f, .offset = have, .progress = opts->progress, .user = opts->user};
    crypto_hash_sha256_init(&t.sha);
    if (have && hash_existing(f, have, &t.sha) != 0) {
        fclose(f);
        return store_fail(err, errcap, "reading %s: %s", part, strerror(errno));
    }
    out->resumed = have > 0;
    out->resumed_from = have;

    CURL *c = curl_easy_init();
    if (!c) {
        fclose(f);
        return store_fail(err, errcap, "libcurl failed to start");
    }
    t.curl = c;
    char errbuf[CURL_ERROR_SIZE] = "", range[64];
    curl_easy_setopt(c, CURLOPT_URL, ref->url);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, STALL_SECONDS);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "mote");
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (have) {
        snprintf(range, sizeof range, "%llu-", (unsigned long long)have);
        curl_easy_setopt(c, CURLOPT_RANGE, range);
    }
    const CURLcode rc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    const int flushed = fflush(f) == 0 && fsync(fileno(f)) == 0;
    const int flush_errno = errno;
    fclose(f);

    const uint64_t size = t.offset + t.got;
    if (t.write_errno || !flushed)
        return store_fail(err, errcap, "writing %s: %s (the part is kept: pull again to resume)", part,
                    strerror(t.write_errno ? t.write_errno : flush_errno));
    if (t.cancelled) return store_fail(err, errcap, "cancelled after %llu bytes (pull again to resume)", (unsigned long long)size);
    if (code == 416 && have) { /* asked past the end: the part may be whole; start over to be sure */
        unlink(part);
        return store_fail(err, errcap, "the server refused to resume (416); pull again to start over");
    }
    if (code != 200 && code != 206 && code != 0) {
        unlink(part);
        unlink(meta);
        return store_fail(err, errcap, "%s: HTTP %ld", ref->url, code);
    }
    if (rc != CURLE_OK)
        return store_fail(err, errcap, "%s: %s after %llu bytes (pull again to resume)", ref->url,
                    errbuf[0] ? errbuf : curl_easy_strerror(rc), (unsigned long long)size);

    /* the size: the hub's, else the transfer's own */
    const uint64_t want = t.linked_size ? t.linked_size : t.range_total ? t.range_total
                          : code == 200 && t.content_length ? t.content_length : size;
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&t.sha, digest);
    hex(digest, sizeof digest, out->sha256);
    out->bytes = size;
    char expect[65] = "";
    if (pin[0]) memcpy(expect, pin, sizeof expect);
    else etag_sha256(t.linked_etag, expect);
    if (size != want || (expect[0] && strcmp(expect, out->sha256) != 0)) {
        unlink(part);
        unlink(meta);
        if (size != want)
            return store_fail(err, errcap, "%s: %llu bytes came, the server announced %llu: removed", ref->url,
                        (unsigned long long)size, (unsigned long long)want);
        return store_fail(err, errcap, "%s: SHA-256 mismatch: got %s, expected %s (%s): removed", ref->url, out->sha256,
                    expect, pin[0] ? "--sha256" : "the hub's X-Linked-Etag");
    }
    out->sha256_checked = expect[0] != '\0';

    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "source", ref->url);
    cJSON_AddNumberToObject(m, "bytes", (double)size);
    cJSON_AddStringToObject(m, "sha256", out->sha256);
    cJSON_AddBoolToObject(m, "sha256_checked", out->sha256_checked);
    cJSON_AddNumberToObject(m, "pulled", (double)time(NULL));
    const int ok = m && store_write_json(final_meta, m, err, errcap) == 0;
    cJSON_Delete(m);
    if (!ok) return -1;
    if (rename(part, path) != 0) return store_fail(err, errcap, "renaming %s: %s", part, strerror(errno));
    unlink(meta);
    return 0;
}
