/*
 * doc.h — a document as ingest reads it and the memory store keeps it:
 * its source, its kind, the chunks to index and cite, and (sensor logs)
 * the raw readings.
 *
 * ingest.c makes a mem_doc from one file (mem_ingest_file); store.c
 * replaces the source's chunks with it (mem_store_put). Everything a
 * mem_doc points to is owned by it and freed by mem_doc_free.
 */
#ifndef MOTE_MEMORY_DOC_H
#define MOTE_MEMORY_DOC_H

#include <stddef.h>
#include <stdint.h>

/* What a source is; stored as its name (mem_kind_name) for filters. */
enum mem_kind {
    MEM_TEXT,     /* plain text */
    MEM_MARKDOWN, /* Markdown */
    MEM_HTML,     /* HTML page */
    MEM_PDF,      /* PDF document */
    MEM_MAIL,     /* one message (.eml, a Maildir file) or an mbox of many */
    MEM_SENSOR,   /* CSV or JSON Lines with a timestamp column */
};

/* One chunk: the text that is embedded, indexed and cited, and where it
 * is in its source. Fields that do not apply to the kind are 0 / NULL. */
typedef struct mem_chunk {
    char *text;          /* UTF-8, NUL-terminated */
    char *title;         /* heading path / mail subject / sensor series, or NULL */
    int line_lo, line_hi;/* 1-based inclusive line range in the file (text, Markdown, HTML, mbox);
                          * PDF: page range; 0 when the source has no lines */
    char *msg_id;        /* mail: the message's Message-ID (without <>), else NULL */
    int64_t t_lo, t_hi;  /* sensors: the window [t_lo, t_hi) in Unix seconds; mail: t_lo = Date */
} mem_chunk;

/* One reading of a sensor log. */
typedef struct mem_reading {
    int64_t t_ms;        /* Unix time in milliseconds */
    char *series;        /* column or "series" name, e.g. "kitchen temperature" */
    double value;
} mem_reading;

typedef struct mem_doc {
    char *source;        /* the file's path as given */
    enum mem_kind kind;
    mem_chunk *chunks;   /* (n_chunks) in source order */
    int n_chunks;
    mem_reading *readings; /* (n_readings) sensor logs only */
    size_t n_readings;
    char *warnings;      /* what was skipped (bad rows, undecodable parts), one per line, or NULL */
} mem_doc;

const char *mem_kind_name(enum mem_kind k);
void mem_doc_free(mem_doc *d);

#endif
