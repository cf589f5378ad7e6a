/*
 * ingest.h — turning one file into a mem_doc: its kind, its chunks with
 * citations (line or page ranges, message ids, dates, time windows) and,
 * for sensor logs, its readings.
 *
 *   mem_ingest_opts o = mem_ingest_defaults();
 *   mem_doc d;
 *   if (mem_ingest_file("notes/install.md", &o, &d) == MOTE_OK) { ...; mem_doc_free(&d); }
 *
 * What is read, and how it is cut:
 * - text and Markdown: paragraphs (blank lines) packed into chunks of at
 *   most chunk_target bytes; Markdown headings (ATX "# x", setext) start
 *   sections, each chunk's title is its heading path ("Install > Debian");
 *   fenced code is one paragraph. Invalid UTF-8 becomes U+FFFD (a warning).
 * - HTML (libxml2, never the network): headings h1-h6 start sections,
 *   block elements end paragraphs; script, style, noscript, template, nav,
 *   head (but its <title>, the title of the chunks before any heading),
 *   svg, iframe, object are left out. Lines are libxml2's (capped at 65535).
 * - PDF (poppler): each page's text, paragraphs at blank lines;
 *   line_lo..line_hi is the chunk's page range. A PDF poppler cannot open
 *   fails with MOTE_E_FORMAT ("pdf: FILE: ...").
 * - mail (GMime): .eml and Maildir files are one message, mbox many. Each
 *   message: a header paragraph ("From: .. To: .. Date: .. Subject: ..")
 *   and its text body (text/plain, else text/html as text), decoded to
 *   UTF-8; text and PDF attachments follow, titled "Subject > attachment
 *   NAME". Every chunk has msg_id (Message-ID without <>, or "mote-HASH"
 *   from the message's bytes when absent) and t_lo = Date (0 if none);
 *   line_lo..line_hi is the whole message's line range in its file.
 *   Broken MIME gives what can be read and a warning.
 * - sensor logs, CSV (a header row) or JSON Lines: see ingest_sensor.c for
 *   the columns and keys; readings go to doc->readings, and each series
 *   gets one summary line per window (min-max, mean, last, count, gaps),
 *   lines packed into chunks titled by the series with t_lo..t_hi the
 *   windows' span and line_lo..line_hi the rows summarised. Bad rows are
 *   skipped, one warning each (at most MEM_INGEST_WARN_LINES, then "… and N more").
 *
 * Chunks: consecutive chunks of a section overlap by about chunk_overlap
 * bytes of whole sentences (words when a sentence is longer); a paragraph
 * longer than a chunk is cut at sentences, then words, then characters,
 * never inside a UTF-8 sequence. No chunk is longer than chunk_target.
 *
 * Warnings (doc->warnings) say what was skipped; they never fail ingest.
 * Failures: MOTE_E_IO (unreadable), MOTE_E_RANGE (over max_file_bytes),
 * MOTE_E_UNSUPPORTED ("not a supported file": binary or unknown), and
 * MOTE_E_FORMAT (a PDF poppler cannot open). Reaching max_chunks stops
 * there with a warning. The library prints nothing: poppler's and GMime's
 * GLib log domains are silenced on first use, and libxml2's error
 * handlers of a thread that parses HTML are set to quiet ones. Calls may
 * run on several threads at once (GMime and libxml2 are set up once).
 */
#ifndef MOTE_MEMORY_INGEST_H
#define MOTE_MEMORY_INGEST_H

#include "base/status.h"
#include "memory/doc.h"

#define MEM_INGEST_WARN_LINES 20 /* warning lines kept before "… and N more" */

typedef struct mem_ingest_opts {
    int chunk_target;          /* bytes a chunk holds at most (default 1200; 64..1<<20) */
    int chunk_overlap;         /* bytes repeated from the chunk before (default 200; <= target/2) */
    int sensor_window_s;       /* seconds a sensor summary covers (default 3600) */
    int64_t max_file_bytes;    /* larger files fail with MOTE_E_RANGE (default 64 MiB) */
    int max_chunks;            /* a document stops here, with a warning (default 100000) */
} mem_ingest_opts;

/* How a file is parsed; the finer grain of enum mem_kind. */
enum mem_format {
    MEM_FMT_TEXT,
    MEM_FMT_MARKDOWN,
    MEM_FMT_HTML,
    MEM_FMT_PDF,
    MEM_FMT_EML,   /* one RFC 822 message (.eml, a Maildir file) */
    MEM_FMT_MBOX,
    MEM_FMT_CSV,   /* sensor log with a timestamp column */
    MEM_FMT_JSONL, /* sensor log, one JSON object a line */
    MEM_FMT_COUNT
};

mem_ingest_opts mem_ingest_defaults(void);

/* Read path and fill *out (zeroed first; mem_doc_free it on success; on
 * failure it is left empty). o NULL: the defaults; fields <= 0: theirs. */
mote_status mem_ingest_file(const char *path, const mem_ingest_opts *o, mem_doc *out);

/* Parse bytes already in memory as format fmt; source names them in the
 * document and in messages. */
mote_status mem_ingest_buffer(const char *source, const void *data, size_t len, enum mem_format fmt,
                              const mem_ingest_opts *o, mem_doc *out);

/* The format of path by its extension, then its first bytes (%PDF-, <html,
 * an mbox "From " line, RFC 822 headers, a CSV header or JSON object with a
 * timestamp, else text unless it looks binary). MOTE_E_UNSUPPORTED with
 * "not a supported file" for binaries and folders, so that a walker can
 * skip them quietly; MOTE_E_IO if unreadable. */
mote_status mem_ingest_format(const char *path, enum mem_format *fmt);
/* The same as a kind (MEM_MAIL for EML and MBOX, MEM_SENSOR for CSV/JSONL). */
mote_status mem_ingest_kind(const char *path, enum mem_kind *kind);
enum mem_kind mem_format_kind(enum mem_format fmt);
const char *mem_format_name(enum mem_format fmt);

/* 1 if dir is a Maildir (has cur/, new/ and tmp/ folders), else 0: walk
 * its cur/ and new/ and ingest each file there as a source of its own. */
int mem_is_maildir(const char *dir);

#endif
