/*
 * ingest.c — one file in, one mem_doc out: what kind of file it is
 * (extension, then its first bytes), reading it within the limits, and
 * handing it to its format's parser (ingest_text.c, ingest_html.c,
 * ingest_pdf.c, ingest_mail.c, ingest_sensor.c). Also the helpers those
 * share: growing strings, warnings, UTF-8 repair, line numbers.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "memory/ingest_internal.h"

#define DEFAULT_TARGET 1200
#define DEFAULT_OVERLAP 200
#define DEFAULT_WINDOW_S 3600
#define DEFAULT_MAX_FILE (64ll << 20)
#define DEFAULT_MAX_CHUNKS 100000
#define MIN_TARGET 64
#define MAX_TARGET (1 << 20)
#define SNIFF_BYTES 8192  /* what binary and header sniffing look at */

/* ================================================================ strings */

static int sb_grow(strbuf *b, size_t more)
{
    if (b->oom) return 0;
    if (b->n + more + 1 <= b->cap) return 1;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->n + more + 1) cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) { b->oom = 1; return 0; }
    b->s = s;
    b->cap = cap;
    return 1;
}

void sb_add(strbuf *b, const char *s, size_t n)
{
    if (!sb_grow(b, n)) return;
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}

void sb_adds(strbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

void sb_printf(strbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !sb_grow(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->n, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)n;
}

void sb_free(strbuf *b)
{
    free(b->s);
    memset(b, 0, sizeof *b);
}

/* ================================================================ the document */

void ing_warn(ingest_ctx *c, const char *fmt, ...)
{
    if (c->n_warn++ >= MEM_INGEST_WARN_LINES) return;
    va_list ap;
    va_start(ap, fmt);
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* one line of valid UTF-8, whatever bytes of the input it quotes */
    int bad = 0;
    size_t n;
    char *clean = utf8_clean(line, strlen(line), &n, &bad);
    if (!clean) { c->oom = 1; return; }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)clean[i] < 0x20 || clean[i] == 0x7f) clean[i] = ' ';
    sb_add(&c->warn, clean, n);
    sb_add(&c->warn, "\n", 1);
    free(clean);
}

static char *dup_n(const char *s, size_t n, int *oom)
{
    char *d = malloc(n + 1);
    if (!d) { *oom = 1; return NULL; }
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

void ing_add_chunk(ingest_ctx *c, const char *text, size_t len, const char *title, int line_lo, int line_hi,
                   const char *msg_id, int64_t t_lo, int64_t t_hi)
{
    mem_doc *d = c->doc;
    if (c->full || c->oom) return;
    if (d->n_chunks >= c->o.max_chunks) {
        c->full = 1;
        ing_warn(c, "stopped at %d chunks (max_chunks): the rest of the file is not indexed", c->o.max_chunks);
        return;
    }
    if (d->n_chunks == c->chunk_cap) {
        int cap = c->chunk_cap ? 2 * c->chunk_cap : 16;
        mem_chunk *nc = realloc(d->chunks, (size_t)cap * sizeof *nc);
        if (!nc) { c->oom = 1; return; }
        d->chunks = nc;
        c->chunk_cap = cap;
    }
    mem_chunk ch = {0};
    ch.text = dup_n(text, len, &c->oom);
    ch.title = title ? dup_n(title, strlen(title), &c->oom) : NULL;
    ch.msg_id = msg_id ? dup_n(msg_id, strlen(msg_id), &c->oom) : NULL;
    ch.line_lo = line_lo;
    ch.line_hi = line_hi < line_lo ? line_lo : line_hi;
    ch.t_lo = t_lo;
    ch.t_hi = t_hi;
    d->chunks[d->n_chunks++] = ch; /* freed with the doc even if a copy failed */
}

/* ================================================================ UTF-8 and lines */

/* Length of the valid UTF-8 sequence at s[0..n), or 0 (RFC 3629: no
 * overlongs, surrogates or code points past U+10FFFF). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c < 0x80) return 1;
    else if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; if (c == 0xE0) lo = 0xA0; if (c == 0xED) hi = 0x9F; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; if (c == 0xF0) lo = 0x90; if (c == 0xF4) hi = 0x8F; }
    else return 0;
    if (n < len || s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    return len;
}

char *utf8_clean(const char *s, size_t n, size_t *out_n, int *n_bad)
{
    static const char repl[] = "\xEF\xBF\xBD";
    strbuf b = {0};
    sb_grow(&b, n);
    size_t i = 0;
    while (i < n && !b.oom) {
        /* copy the longest run needing no change at once */
        size_t j = i;
        for (size_t k; j < n; j += k) {
            const unsigned char ch = (unsigned char)s[j];
            if (ch == 0 || (ch == '\r' && j + 1 < n && s[j + 1] == '\n')) break;
            if (!(k = utf8_seq((const unsigned char *)s + j, n - j))) break;
        }
        sb_add(&b, s + i, j - i);
        if (j >= n) break;
        if (s[j] == '\r') { i = j + 1; continue; } /* CRLF: the LF alone */
        sb_add(&b, repl, 3);
        (*n_bad)++;
        i = j + 1;
    }
    sb_add(&b, "", 0); /* NUL-terminated even when empty */
    if (b.oom) { sb_free(&b); return NULL; }
    *out_n = b.n;
    return b.s;
}

size_t utf8_floor(const char *s, size_t n)
{
    size_t i = n;
    /* back over continuation bytes to a lead byte; keep it only if whole */
    while (i > 0 && n - i < 3 && ((unsigned char)s[i - 1] & 0xC0) == 0x80) i--;
    if (i > 0 && (unsigned char)s[i - 1] >= 0xC0) {
        size_t need = (unsigned char)s[i - 1] >= 0xF0 ? 4 : (unsigned char)s[i - 1] >= 0xE0 ? 3 : 2;
        if (n - (i - 1) < need) return i - 1;
        return n;
    }
    return n;
}

size_t *line_index(const char *s, size_t n, int *n_lines)
{
    size_t count = 1;
    for (size_t i = 0; i < n; i++) count += s[i] == '\n';
    size_t *starts = malloc(count * sizeof *starts);
    if (!starts) return NULL;
    size_t k = 0;
    starts[k++] = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\n') starts[k++] = i + 1;
    *n_lines = count > (size_t)0x7fffffff ? 0x7fffffff : (int)count;
    return starts;
}

int line_of(const size_t *starts, int n_lines, size_t off)
{
    int lo = 0, hi = n_lines - 1; /* the last start <= off */
    while (lo < hi) {
        int mid = lo + (hi - lo + 1) / 2;
        if (starts[mid] <= off) lo = mid;
        else hi = mid - 1;
    }
    return lo + 1;
}

/* ================================================================ what a file is */

enum mem_kind mem_format_kind(enum mem_format f)
{
    static const enum mem_kind kinds[MEM_FMT_COUNT] = {
        [MEM_FMT_TEXT] = MEM_TEXT, [MEM_FMT_MARKDOWN] = MEM_MARKDOWN, [MEM_FMT_HTML] = MEM_HTML,
        [MEM_FMT_PDF] = MEM_PDF,   [MEM_FMT_EML] = MEM_MAIL,          [MEM_FMT_MBOX] = MEM_MAIL,
        [MEM_FMT_CSV] = MEM_SENSOR, [MEM_FMT_JSONL] = MEM_SENSOR,
    };
    return (unsigned)f < MEM_FMT_COUNT ? kinds[f] : MEM_TEXT;
}

const char *mem_format_name(enum mem_format f)
{
    static const char *const names[MEM_FMT_COUNT] = {
        [MEM_FMT_TEXT] = "text", [MEM_FMT_MARKDOWN] = "markdown", [MEM_FMT_HTML] = "html",
        [MEM_FMT_PDF] = "pdf",   [MEM_FMT_EML] = "eml",           [MEM_FMT_MBOX] = "mbox",
        [MEM_FMT_CSV] = "csv",   [MEM_FMT_JSONL] = "jsonl",
    };
    return (unsigned)f < MEM_FMT_COUNT ? names[f] : "unknown";
}

static const struct { const char *ext; enum mem_format fmt; } known_ext[] = {
    {"txt", MEM_FMT_TEXT},     {"text", MEM_FMT_TEXT},      {"log", MEM_FMT_TEXT},  {"rst", MEM_FMT_TEXT},
    {"md", MEM_FMT_MARKDOWN},  {"markdown", MEM_FMT_MARKDOWN}, {"mdown", MEM_FMT_MARKDOWN},
    {"html", MEM_FMT_HTML},    {"htm", MEM_FMT_HTML},       {"xhtml", MEM_FMT_HTML},
    {"pdf", MEM_FMT_PDF},      {"eml", MEM_FMT_EML},        {"mbox", MEM_FMT_MBOX}, {"mbx", MEM_FMT_MBOX},
    {"csv", MEM_FMT_CSV},      {"jsonl", MEM_FMT_JSONL},    {"ndjson", MEM_FMT_JSONL},
};

static int format_by_ext(const char *path, enum mem_format *fmt)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base) return 0;
    for (size_t i = 0; i < sizeof known_ext / sizeof known_ext[0]; i++)
        if (strcasecmp(dot + 1, known_ext[i].ext) == 0) { *fmt = known_ext[i].fmt; return 1; }
    return 0;
}

static int starts_ci(const char *s, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    return n >= k && strncasecmp(s, lit, k) == 0;
}

static int looks_binary(const char *s, size_t n)
{
    size_t ctl = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == 0) return 1;
        ctl += ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r' && ch != '\f' && ch != 0x1b;
    }
    return ctl * 10 > n; /* more than 10% control bytes */
}

/* RFC 822 headers: "Name: value" lines (and folded continuations) up to a
 * blank line, at least two, one of them a field every message has. */
static int looks_like_mail(const char *s, size_t n)
{
    static const char *const fields[] = {"from:", "date:", "subject:", "message-id:", "received:",
                                         "return-path:", "delivered-to:", "mime-version:", "to:"};
    int headers = 0, known = 0;
    size_t i = 0;
    while (i < n) {
        size_t eol = i;
        while (eol < n && s[eol] != '\n') eol++;
        size_t len = eol - i - (eol > i && s[eol - 1] == '\r');
        if (len == 0) break; /* the blank line after the headers */
        if (s[i] == ' ' || s[i] == '\t') {
            if (!headers) return 0;
        } else {
            size_t k = 0;
            while (k < len && s[i + k] > ' ' && s[i + k] < 0x7f && s[i + k] != ':') k++;
            if (k == 0 || k == len || s[i + k] != ':') return 0;
            headers++;
            for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) known += starts_ci(s + i, len, fields[f]);
        }
        i = eol + 1;
        if (eol >= n) break;
    }
    return headers >= 2 && known >= 1;
}

static int looks_like_markdown(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t k = 0;
        while (i + k < n && s[i + k] == '#') k++;
        if (k >= 1 && k <= 6 && i + k < n && s[i + k] == ' ') return 1;
        if (starts_ci(s + i, n - i, "```")) return 1;
        while (i < n && s[i] != '\n') i++;
        i++;
    }
    return 0;
}

/* The format of data by its bytes; 0, or -1 for a binary. */
static int format_by_content(const char *s, size_t n, enum mem_format *fmt)
{
    if (n >= 5 && memcmp(s, "%PDF-", 5) == 0) { *fmt = MEM_FMT_PDF; return 0; }
    if (n > SNIFF_BYTES) n = SNIFF_BYTES;
    if (looks_binary(s, n)) return -1;
    if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) s += 3, n -= 3;
    if (starts_ci(s, n, "From ")) { *fmt = MEM_FMT_MBOX; return 0; }
    size_t i = 0;
    while (i < n && isspace((unsigned char)s[i])) i++;
    if (starts_ci(s + i, n - i, "<!doctype html") || starts_ci(s + i, n - i, "<html")) { *fmt = MEM_FMT_HTML; return 0; }
    if (looks_like_mail(s, n)) { *fmt = MEM_FMT_EML; return 0; }
    if (sensor_sniff_jsonl(s, n)) { *fmt = MEM_FMT_JSONL; return 0; }
    if (sensor_sniff_csv(s, n)) { *fmt = MEM_FMT_CSV; return 0; }
    *fmt = looks_like_markdown(s, n) ? MEM_FMT_MARKDOWN : MEM_FMT_TEXT;
    return 0;
}

/* A file in a Maildir's cur/ or new/. */
static int in_maildir(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return 0;
    size_t dlen = (size_t)(slash - path);
    if (dlen < 3) return 0;
    const char *leaf = slash - 3;
    if (!(memcmp(leaf, "cur", 3) == 0 || memcmp(leaf, "new", 3) == 0) || (leaf > path && leaf[-1] != '/')) return 0;
    char dir[4096];
    if ((size_t)(leaf - path) >= sizeof dir) return 0;
    if (leaf == path) snprintf(dir, sizeof dir, ".");
    else snprintf(dir, sizeof dir, "%.*s", (int)(leaf - path), path);
    return mem_is_maildir(dir);
}

int mem_is_maildir(const char *dir)
{
    static const char *const subs[] = {"cur", "new", "tmp"};
    if (!dir) return 0;
    for (int i = 0; i < 3; i++) {
        char p[4096];
        struct stat sb;
        if (snprintf(p, sizeof p, "%s/%s", dir, subs[i]) >= (int)sizeof p) return 0;
        if (stat(p, &sb) != 0 || !S_ISDIR(sb.st_mode)) return 0;
    }
    return 1;
}

/* The format by extension, refined by content: a .csv/.jsonl without a
 * timestamp is text; a file without a known extension is sniffed. */
static mote_status detect(const char *path, const char *data, size_t n, enum mem_format *fmt)
{
    enum mem_format f;
    if (format_by_ext(path, &f)) {
        if (f == MEM_FMT_CSV && !sensor_sniff_csv(data, n)) f = MEM_FMT_TEXT;
        if (f == MEM_FMT_JSONL && !sensor_sniff_jsonl(data, n)) f = MEM_FMT_TEXT;
        if (f != MEM_FMT_PDF && looks_binary(data, n > SNIFF_BYTES ? SNIFF_BYTES : n))
            return mote_fail(MOTE_E_UNSUPPORTED, "ingest: %s: not a supported file (binary)", path);
        *fmt = f;
        return MOTE_OK;
    }
    if (format_by_content(data, n, &f) != 0)
        return mote_fail(MOTE_E_UNSUPPORTED, "ingest: %s: not a supported file (binary)", path);
    if ((f == MEM_FMT_TEXT || f == MEM_FMT_MARKDOWN) && in_maildir(path)) f = MEM_FMT_EML;
    *fmt = f;
    return MOTE_OK;
}

/* Read all of path (at most max bytes) into a malloc'd buffer. */
static mote_status read_file_max(const char *path, int64_t max, char **data, size_t *n)
{
    struct stat sb;
    if (stat(path, &sb) != 0) return mote_fail(MOTE_E_IO, "ingest: %s: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode)) return mote_fail(MOTE_E_UNSUPPORTED, "ingest: %s: not a supported file (not a regular file)", path);
    if (sb.st_size > max)
        return mote_fail(MOTE_E_RANGE, "ingest: %s: %lld bytes, over the limit of %lld", path, (long long)sb.st_size, (long long)max);
    FILE *f = fopen(path, "rb");
    if (!f) return mote_fail(MOTE_E_IO, "ingest: %s: %s", path, strerror(errno));
    size_t cap = (size_t)sb.st_size + 1, len = 0;
    char *buf = malloc(cap);
    if (!buf) { fclose(f); return mote_fail(MOTE_E_NOMEM, "ingest: %s: out of memory", path); }
    /* the file may grow while read: never past max */
    for (size_t got; (got = fread(buf + len, 1, cap - 1 - len, f)) > 0;) len += got;
    const int err = ferror(f);
    fclose(f);
    if (err) { free(buf); return mote_fail(MOTE_E_IO, "ingest: %s: read error", path); }
    buf[len] = 0;
    *data = buf;
    *n = len;
    return MOTE_OK;
}

mote_status mem_ingest_format(const char *path, enum mem_format *fmt)
{
    if (!path || !fmt) return mote_fail(MOTE_E_INVALID, "ingest: NULL path or format");
    char *data;
    size_t n;
    /* only the first bytes matter: read at most SNIFF_BYTES of any file */
    struct stat sb;
    if (stat(path, &sb) != 0) return mote_fail(MOTE_E_IO, "ingest: %s: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode)) return mote_fail(MOTE_E_UNSUPPORTED, "ingest: %s: not a supported file (not a regular file)", path);
    FILE *f = fopen(path, "rb");
    if (!f) return mote_fail(MOTE_E_IO, "ingest: %s: %s", path, strerror(errno));
    if (!(data = malloc(SNIFF_BYTES + 1))) { fclose(f); return mote_fail(MOTE_E_NOMEM, "ingest: out of memory"); }
    n = fread(data, 1, SNIFF_BYTES, f);
    fclose(f);
    data[n] = 0;
    mote_status st = detect(path, data, n, fmt);
    free(data);
    return st;
}

mote_status mem_ingest_kind(const char *path, enum mem_kind *kind)
{
    enum mem_format f;
    if (!kind) return mote_fail(MOTE_E_INVALID, "ingest: NULL kind");
    MOTE_TRY(mem_ingest_format(path, &f));
    *kind = mem_format_kind(f);
    return MOTE_OK;
}

/* ================================================================ ingest */

mem_ingest_opts mem_ingest_defaults(void)
{
    return (mem_ingest_opts){DEFAULT_TARGET, DEFAULT_OVERLAP, DEFAULT_WINDOW_S, DEFAULT_MAX_FILE, DEFAULT_MAX_CHUNKS};
}

static mem_ingest_opts normalise(const mem_ingest_opts *o)
{
    mem_ingest_opts d = mem_ingest_defaults(), r = o ? *o : d;
    if (r.chunk_target <= 0) r.chunk_target = d.chunk_target;
    if (r.chunk_target < MIN_TARGET) r.chunk_target = MIN_TARGET;
    if (r.chunk_target > MAX_TARGET) r.chunk_target = MAX_TARGET;
    if (r.chunk_overlap < 0) r.chunk_overlap = d.chunk_overlap;
    if (r.chunk_overlap > r.chunk_target / 2) r.chunk_overlap = r.chunk_target / 2;
    if (r.sensor_window_s <= 0) r.sensor_window_s = d.sensor_window_s;
    if (r.max_file_bytes <= 0) r.max_file_bytes = d.max_file_bytes;
    if (r.max_chunks <= 0) r.max_chunks = d.max_chunks;
    return r;
}

mote_status mem_ingest_buffer(const char *source, const void *data, size_t len, enum mem_format fmt,
                              const mem_ingest_opts *o, mem_doc *out)
{
    if (!out) return mote_fail(MOTE_E_INVALID, "ingest: NULL document");
    memset(out, 0, sizeof *out);
    if (!source || (!data && len) || (unsigned)fmt >= MEM_FMT_COUNT)
        return mote_fail(MOTE_E_INVALID, "ingest: NULL source or data, or an unknown format");
    ingest_ctx c = {.doc = out, .o = normalise(o), .name = source};
    if ((int64_t)len > c.o.max_file_bytes)
        return mote_fail(MOTE_E_RANGE, "ingest: %s: %zu bytes, over the limit of %lld", source, len, (long long)c.o.max_file_bytes);
    out->kind = mem_format_kind(fmt);
    if (!(out->source = strdup(source))) return mote_fail(MOTE_E_NOMEM, "ingest: out of memory");
    const char *s = data ? data : "";
    mote_status st = MOTE_OK;
    switch (fmt) {
    case MEM_FMT_TEXT: ingest_text(&c, s, len, 0); break;
    case MEM_FMT_MARKDOWN: ingest_text(&c, s, len, 1); break;
    case MEM_FMT_HTML: ingest_html(&c, s, len); break;
    case MEM_FMT_PDF: st = ingest_pdf(&c, s, len); break;
    case MEM_FMT_EML: ingest_mail(&c, s, len, 0); break;
    case MEM_FMT_MBOX: ingest_mail(&c, s, len, 1); break;
    case MEM_FMT_CSV: ingest_sensor(&c, s, len, 0); break;
    case MEM_FMT_JSONL: ingest_sensor(&c, s, len, 1); break;
    default: break;
    }
    if (c.n_bad_utf8) ing_warn(&c, "%ld invalid UTF-8 sequences replaced by U+FFFD", c.n_bad_utf8);
    if (c.n_warn > MEM_INGEST_WARN_LINES) sb_printf(&c.warn, "\xE2\x80\xA6 and %d more\n", c.n_warn - MEM_INGEST_WARN_LINES);
    if (c.warn.oom) c.oom = 1;
    out->warnings = c.warn.s;
    if (st == MOTE_OK && c.oom) st = mote_fail(MOTE_E_NOMEM, "ingest: %s: out of memory", source);
    if (st != MOTE_OK) mem_doc_free(out);
    return st;
}

mote_status mem_ingest_file(const char *path, const mem_ingest_opts *o, mem_doc *out)
{
    if (!out) return mote_fail(MOTE_E_INVALID, "ingest: NULL document");
    memset(out, 0, sizeof *out);
    if (!path) return mote_fail(MOTE_E_INVALID, "ingest: NULL path");
    const mem_ingest_opts opts = normalise(o);
    char *data = NULL;
    size_t n = 0;
    enum mem_format fmt;
    MOTE_TRY(read_file_max(path, opts.max_file_bytes, &data, &n));
    mote_status st = detect(path, data, n, &fmt);
    if (st == MOTE_OK) st = mem_ingest_buffer(path, data, n, fmt, &opts, out);
    free(data);
    return st;
}
