/*
 * ingest_internal.h — what the parsers of ingest*.c share: a growing
 * string, the ingest context (document, options, warnings), the chunker
 * (chunk.c) and each format's entry point.
 */
#ifndef MOTE_MEMORY_INGEST_INTERNAL_H
#define MOTE_MEMORY_INGEST_INTERNAL_H

#include <stdarg.h>

#include "memory/ingest.h"

/* ---- growing strings: an allocation failure sets oom and drops the rest */
typedef struct strbuf {
    char *s;     /* NUL-terminated once anything was added */
    size_t n, cap;
    int oom;
} strbuf;

void sb_add(strbuf *b, const char *s, size_t n);
void sb_adds(strbuf *b, const char *s);
void sb_printf(strbuf *b, const char *fmt, ...) MOTE_PRINTF(2, 3);
void sb_free(strbuf *b);

/* ---- one ingest run */
typedef struct ingest_ctx {
    mem_doc *doc;
    mem_ingest_opts o;   /* normalised */
    const char *name;    /* the source, for messages */
    strbuf warn;         /* doc->warnings as it grows */
    int n_warn;          /* warning lines so far (those past the cap are only counted) */
    int full;            /* max_chunks reached: further chunks are dropped */
    int oom;
    int chunk_cap;       /* doc->chunks' allocated length */
    long n_bad_utf8;     /* invalid UTF-8 sequences replaced, warned once at the end */
} ingest_ctx;

/* A warning line (capped at MEM_INGEST_WARN_LINES; the rest are counted). */
void ing_warn(ingest_ctx *c, const char *fmt, ...) MOTE_PRINTF(2, 3);
/* Append a chunk (copies every string). */
void ing_add_chunk(ingest_ctx *c, const char *text, size_t len, const char *title, int line_lo, int line_hi,
                   const char *msg_id, int64_t t_lo, int64_t t_hi);
/* s[0..n) as valid UTF-8 (each bad byte U+FFFD), without CRs before LFs
 * and NULs; malloc'd; *n_bad counts the bad sequences. NULL on OOM. */
char *utf8_clean(const char *s, size_t n, size_t *out_n, int *n_bad);
/* The length of the longest prefix of s[0..n) not ending inside a UTF-8
 * sequence (for cutting at a byte budget). */
size_t utf8_floor(const char *s, size_t n);
/* The 1-based line of byte off (line starts from line_starts). */
int line_of(const size_t *starts, int n_lines, size_t off);
/* Start offsets of every line of s[0..n); *n_lines >= 1. NULL on OOM. */
size_t *line_index(const char *s, size_t n, int *n_lines);

/* ---- the chunker (chunk.c): paragraphs in, chunks out */
typedef struct chunk_piece chunk_piece;
typedef struct chunker {
    ingest_ctx *c;
    char *title;         /* the section's title, or NULL */
    char *msg_id;        /* copied to every chunk (mail) */
    int64_t t_lo, t_hi;
    chunk_piece *p;      /* (n) the pieces of the chunk being built */
    int n, cap;
    int n_new;           /* pieces not carried over from the chunk before */
    size_t len;          /* bytes of the chunk's text so far */
} chunker;

void chunker_init(chunker *k, ingest_ctx *c);
/* Emit what is pending and start a section titled title (may be NULL):
 * no overlap crosses it. */
void chunker_section(chunker *k, const char *title);
/* Mail: the message every following chunk belongs to. */
void chunker_meta(chunker *k, const char *msg_id, int64_t t_lo);
/* One paragraph, text[0..len) of UTF-8 on lines line_lo..line_hi. exact:
 * each '\n' in text is the next line of the file (text, Markdown), so a
 * part of it gets its own lines; else every part gets the whole range. */
void chunker_para(chunker *k, const char *text, size_t len, int line_lo, int line_hi, int exact);
/* Text of many paragraphs (blank lines between), all on line_lo..line_hi. */
void chunker_text(chunker *k, const char *text, size_t len, int line_lo, int line_hi);
void chunker_flush(chunker *k);
void chunker_free(chunker *k);

/* ---- the formats: parse data[0..len) into c->doc */
void ingest_text(ingest_ctx *c, const char *data, size_t len, int markdown);
void ingest_html(ingest_ctx *c, const char *data, size_t len);
/* html_text: data's visible text as paragraphs into k, all on lo..hi
 * (mail bodies) when lo > 0, else on the HTML's own lines. */
void html_to_chunker(chunker *k, const char *data, size_t len, int lo, int hi);
/* ingest_pdf fails (MOTE_E_FORMAT) when poppler cannot open it; pdf_to_chunker
 * (attachments) puts its pages on lo..hi and says 0 / -1. */
mote_status ingest_pdf(ingest_ctx *c, const char *data, size_t len);
int pdf_to_chunker(chunker *k, const char *data, size_t len, int lo, int hi);
void ingest_mail(ingest_ctx *c, const char *data, size_t len, int mbox);
void ingest_sensor(ingest_ctx *c, const char *data, size_t len, int jsonl);

/* A sensor log as parsed (ingest_sensor.c), for its summaries
 * (sensor_summary.c): per reading of c->doc, its file line and series. */
typedef struct sensor_log {
    int *line;           /* (n) file line of each reading */
    int *series;         /* (n) index into names */
    size_t n, cap;
    char **names, **units; /* (n_series) units "" when unknown */
    int n_series, cap_series;
    int *table;          /* (table_cap) open addressing: series index + 1, or 0 */
    int table_cap;
} sensor_log;

void sensor_summarise(ingest_ctx *c, const sensor_log *log);

/* Sensor sniffing: 1 if the first line is a CSV header naming a timestamp
 * column / the first line a JSON object with a timestamp key. */
int sensor_sniff_csv(const char *data, size_t len);
int sensor_sniff_jsonl(const char *data, size_t len);

/* GLib-based libraries' one-time set-up (GMime init, quiet log domains). */
void ingest_glib_once(void);

#endif
