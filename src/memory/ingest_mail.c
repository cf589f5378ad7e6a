/*
 * ingest_mail.c — mail through GMime: one message (.eml, a Maildir file)
 * or an mbox of many. Each message is a section titled by its subject:
 * a header paragraph (From, To, Date, Subject), the text body (text/plain,
 * else text/html as text; transfer encodings and charsets decoded to
 * UTF-8), then each text or PDF attachment in a section titled "Subject >
 * attachment NAME". All its chunks carry its Message-ID and Date and the
 * message's line range in the file.
 *
 * Broken MIME is read as far as GMime can; what GMime warns of, a
 * multipart without its closing boundary and base64 with bytes outside
 * the alphabet become warnings.
 */
#include <string.h>

#include <gmime/gmime.h>
#include <libxml/parser.h>

#include "memory/ingest_internal.h"

#define NO_SUBJECT "(no subject)"
#define BOUNDARY_CHECKS_MAX 64 /* multiparts of a message checked for their end */
#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

typedef struct mail_state {
    ingest_ctx *c;
    chunker *k;
    const char *raw;      /* this message's bytes in the file */
    size_t raw_len;
    int lo, hi;           /* its lines */
    const char *subject;
    GPtrArray *attachments; /* GMimePart* to ingest after the body */
    int boundary_checks;  /* closing boundaries looked for (each a scan of raw) */
} mail_state;

static void on_parser_warning(gint64 offset, GMimeParserWarning code, const gchar *item, gpointer user)
{
    ingest_ctx *c = user;
    const char *what;
    switch (code) {
    case GMIME_WARN_MALFORMED_MULTIPART: what = "a multipart without parts"; break;
    case GMIME_WARN_TRUNCATED_MESSAGE: what = "the message is truncated"; break;
    case GMIME_WARN_MALFORMED_MESSAGE: what = "a malformed message"; break;
    case GMIME_CRIT_INVALID_HEADER_NAME: what = "an invalid header name (parts may be skipped)"; break;
    case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY: what = "a multipart without a boundary"; break;
    case GMIME_CRIT_NESTING_OVERFLOW: what = "MIME nested too deep"; break;
    case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT: what = "a part without headers or content"; break;
    default: return; /* duplicated headers, odd parameters: nothing lost */
    }
    if (offset >= 0) ing_warn(c, "mail: %s: byte %lld: %s%s%s", c->name, (long long)offset, what, item ? ": " : "", item ? item : "");
    else ing_warn(c, "mail: %s: %s%s%s", c->name, what, item ? ": " : "", item ? item : "");
}

static int has_substr(const char *s, size_t n, const char *needle, size_t nn)
{
    if (nn == 0 || nn > n) return nn == 0;
    return memmem(s, n, needle, nn) != NULL;
}

/* The decoded bytes of a part (transfer encoding undone), as a GByteArray
 * the caller frees (g_byte_array_free); NULL if it has no content. */
static GByteArray *part_bytes(GMimePart *part)
{
    GMimeDataWrapper *w = g_mime_part_get_content(part);
    if (!w) return NULL;
    GMimeStream *mem = g_mime_stream_mem_new();
    g_mime_data_wrapper_write_to_stream(w, mem);
    /* the stream would empty the array when finalised, references or not */
    GByteArray *a = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
    g_object_unref(mem);
    return a;
}

/* Base64 with bytes outside the alphabet: GMime skips them, we say so. */
static void check_base64(mail_state *m, GMimePart *part)
{
    if (g_mime_part_get_content_encoding(part) != GMIME_CONTENT_ENCODING_BASE64) return;
    GMimeDataWrapper *w = g_mime_part_get_content(part);
    GMimeStream *raw = w ? g_mime_data_wrapper_get_stream(w) : NULL;
    if (!raw) return;
    GMimeStream *mem = g_mime_stream_mem_new();
    g_mime_stream_reset(raw);
    g_mime_stream_write_to_stream(raw, mem);
    g_mime_stream_reset(raw);
    GByteArray *a = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
    for (guint i = 0; i < a->len; i++) {
        const unsigned char ch = a->data[i];
        if (!(g_ascii_isalnum(ch) || ch == '+' || ch == '/' || ch == '=' || g_ascii_isspace(ch))) {
            const char *name = g_mime_part_get_filename(part);
            ing_warn(m->c, "mail: %s: bad base64 in %s%s: undecodable bytes skipped", m->c->name, name ? "attachment " : "a part",
                     name ? name : "");
            break;
        }
    }
    g_object_unref(mem);
}

static void body_text(mail_state *m, GMimePart *part)
{
    GMimeContentType *ct = g_mime_object_get_content_type(GMIME_OBJECT(part));
    if (!GMIME_IS_TEXT_PART(part)) return;
    char *text = g_mime_text_part_get_text(GMIME_TEXT_PART(part));
    if (!text) return;
    if (ct && g_mime_content_type_is_type(ct, "text", "html")) html_to_chunker(m->k, text, strlen(text), m->lo, m->hi);
    else chunker_text(m->k, text, strlen(text), m->lo, m->hi);
    g_free(text);
}

static int part_score(GMimeObject *o)
{
    GMimeContentType *ct = g_mime_object_get_content_type(o);
    if (!ct) return 0;
    if (g_mime_content_type_is_type(ct, "text", "plain")) return 3;
    if (GMIME_IS_MULTIPART(o)) return 2;
    if (g_mime_content_type_is_type(ct, "text", "html")) return 1;
    return 0;
}

static void walk(mail_state *m, GMimeObject *o, int depth)
{
    if (!o || depth > 32 || m->c->full || m->c->oom) return;
    if (GMIME_IS_MESSAGE_PART(o)) {
        GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(o));
        if (inner) walk(m, g_mime_message_get_mime_part(inner), depth + 1);
        return;
    }
    if (GMIME_IS_MULTIPART(o)) {
        GMimeMultipart *mp = GMIME_MULTIPART(o);
        const char *boundary = g_mime_multipart_get_boundary(mp);
        if (boundary && m->boundary_checks++ < BOUNDARY_CHECKS_MAX) {
            char *close = g_strdup_printf("--%s--", boundary);
            if (!has_substr(m->raw, m->raw_len, close, strlen(close)))
                ing_warn(m->c, "mail: %s: multipart without its closing boundary (truncated?)", m->c->name);
            g_free(close);
        }
        const int n = g_mime_multipart_get_count(mp);
        GMimeContentType *ct = g_mime_object_get_content_type(o);
        if (ct && g_mime_content_type_is_type(ct, "multipart", "alternative")) {
            /* one of the alternatives: plain text before HTML */
            GMimeObject *best = NULL;
            int best_score = -1;
            for (int i = 0; i < n; i++) {
                GMimeObject *p = g_mime_multipart_get_part(mp, i);
                int s = part_score(p);
                if (s > best_score) best = p, best_score = s;
            }
            walk(m, best, depth + 1);
            return;
        }
        for (int i = 0; i < n; i++) walk(m, g_mime_multipart_get_part(mp, i), depth + 1);
        return;
    }
    if (!GMIME_IS_PART(o)) return;
    GMimePart *part = GMIME_PART(o);
    check_base64(m, part);
    GMimeContentType *ct = g_mime_object_get_content_type(o);
    const int is_text = ct && g_mime_content_type_is_type(ct, "text", "*");
    const int is_pdf = ct && g_mime_content_type_is_type(ct, "application", "pdf");
    if (g_mime_part_is_attachment(part) || (g_mime_part_get_filename(part) && !is_text)) {
        if (is_text || is_pdf) g_ptr_array_add(m->attachments, part);
        return;
    }
    if (is_text && (g_mime_content_type_is_type(ct, "text", "plain") || g_mime_content_type_is_type(ct, "text", "html")))
        body_text(m, part);
}

static void attachment(mail_state *m, GMimePart *part)
{
    const char *name = g_mime_part_get_filename(part);
    char *title = g_strdup_printf("%s > attachment %s", m->subject, name ? name : "(unnamed)");
    chunker_section(m->k, title);
    g_free(title);
    GMimeContentType *ct = g_mime_object_get_content_type(GMIME_OBJECT(part));
    if (ct && g_mime_content_type_is_type(ct, "application", "pdf")) {
        GByteArray *a = part_bytes(part);
        if (a && pdf_to_chunker(m->k, (const char *)a->data, a->len, m->lo, m->hi) != 0)
            ing_warn(m->c, "mail: %s: attachment %s: not a readable PDF", m->c->name, name ? name : "(unnamed)");
        if (a) g_byte_array_free(a, TRUE);
    } else {
        body_text(m, part);
    }
}

static char *address_list(InternetAddressList *l)
{
    return l && internet_address_list_length(l) > 0 ? internet_address_list_to_string(l, NULL, FALSE) : NULL;
}

/* One parsed message whose bytes are raw[0..raw_len), on lines lo..hi. */
static void message(ingest_ctx *c, chunker *k, GMimeMessage *msg, const char *raw, size_t raw_len, int lo, int hi)
{
    mail_state m = {.c = c, .k = k, .raw = raw, .raw_len = raw_len, .lo = lo, .hi = hi};
    const char *subject = g_mime_message_get_subject(msg);
    m.subject = subject && *subject ? subject : NO_SUBJECT;
    char idbuf[32];
    const char *id = g_mime_message_get_message_id(msg);
    if (!id || !*id) {
        uint64_t h = FNV_OFFSET;
        for (size_t i = 0; i < raw_len; i++) h = (h ^ (unsigned char)raw[i]) * FNV_PRIME;
        snprintf(idbuf, sizeof idbuf, "mote-%016llx", (unsigned long long)h);
        id = idbuf;
    }
    GDateTime *dt = g_mime_message_get_date(msg);
    chunker_section(m.k, m.subject);
    chunker_meta(m.k, id, dt ? g_date_time_to_unix(dt) : 0);

    char *from = address_list(g_mime_message_get_from(msg)), *to = address_list(g_mime_message_get_to(msg));
    const char *date = g_mime_object_get_header(GMIME_OBJECT(msg), "Date");
    strbuf head = {0};
    if (from) sb_printf(&head, "From: %s\n", from);
    if (to) sb_printf(&head, "To: %s\n", to);
    if (date) sb_printf(&head, "Date: %s\n", date);
    sb_printf(&head, "Subject: %s", m.subject);
    if (head.oom) c->oom = 1;
    else chunker_para(m.k, head.s, head.n, lo, hi, 0);
    sb_free(&head);
    g_free(from);
    g_free(to);

    m.attachments = g_ptr_array_new();
    walk(&m, g_mime_message_get_mime_part(msg), 0);
    for (guint i = 0; i < m.attachments->len && !c->full && !c->oom; i++) attachment(&m, m.attachments->pdata[i]);
    g_ptr_array_free(m.attachments, TRUE);
    chunker_flush(m.k);
}

/* The line of the last non-blank byte before end (at least lo). */
static int last_line(const char *s, size_t start, size_t end, const size_t *starts, int n_lines)
{
    while (end > start && (s[end - 1] == '\n' || s[end - 1] == '\r' || s[end - 1] == ' ')) end--;
    return end > start ? line_of(starts, n_lines, end - 1) : line_of(starts, n_lines, start);
}

void ingest_mail(ingest_ctx *c, const char *data, size_t len, int mbox)
{
    ingest_glib_once();
    int n_lines;
    size_t *starts = line_index(data, len, &n_lines);
    if (!starts) { c->oom = 1; return; }
    GMimeStream *stream = g_mime_stream_mem_new_with_buffer(data, len);
    GMimeParser *parser = g_mime_parser_new_with_stream(stream);
    g_object_unref(stream);
    g_mime_parser_set_format(parser, mbox ? GMIME_FORMAT_MBOX : GMIME_FORMAT_MESSAGE);
    GMimeParserOptions *po = g_mime_parser_options_new();
    g_mime_parser_options_set_warning_callback(po, on_parser_warning, c);

    /* mbox: a message runs from its "From " line to the next one's */
    GPtrArray *msgs = g_ptr_array_new_with_free_func(g_object_unref);
    GArray *offs = g_array_new(FALSE, FALSE, sizeof(gint64));
    while (!c->full && !c->oom) {
        GMimeMessage *msg = g_mime_parser_construct_message(parser, po);
        if (!msg) break;
        gint64 off = mbox ? g_mime_parser_get_mbox_marker_offset(parser) : 0;
        if (off < 0 || (size_t)off > len) off = 0;
        g_ptr_array_add(msgs, msg);
        g_array_append_val(offs, off);
        if (!mbox || g_mime_parser_eos(parser)) break;
    }
    if (msgs->len == 0 && len > 0) ing_warn(c, "mail: %s: no message could be read", c->name);
    chunker k;
    chunker_init(&k, c);
    for (guint i = 0; i < msgs->len && !c->full && !c->oom; i++) {
        size_t a = (size_t)g_array_index(offs, gint64, i);
        size_t e = i + 1 < msgs->len ? (size_t)g_array_index(offs, gint64, i + 1) : len;
        if (e < a) e = a;
        int lo = line_of(starts, n_lines, a), hi = last_line(data, a, e, starts, n_lines);
        message(c, &k, msgs->pdata[i], data + a, e - a, lo, hi);
    }
    chunker_free(&k);
    g_ptr_array_free(msgs, TRUE);
    g_array_free(offs, TRUE);
    g_mime_parser_options_free(po);
    g_object_unref(parser);
    free(starts);
}

/* ================================================================ GLib set-up */

static void quiet_log(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer user)
{
    (void)domain, (void)level, (void)msg, (void)user;
}

static gpointer glib_init(gpointer unused)
{
    (void)unused;
    g_mime_init();
    xmlInitParser();
    /* the library prints nothing: poppler's and GMime's complaints about a
     * broken file become our warnings or errors, or nothing */
    const GLogLevelFlags all = G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL | G_LOG_FLAG_RECURSION;
    g_log_set_handler("Poppler", all & ~G_LOG_LEVEL_ERROR, quiet_log, NULL);
    g_log_set_handler("gmime", all & ~G_LOG_LEVEL_ERROR, quiet_log, NULL);
    return NULL;
}

void ingest_glib_once(void)
{
    static GOnce once = G_ONCE_INIT;
    g_once(&once, glib_init, NULL);
}
