/*
 * fuzz_mem_ingest.c — libFuzzer target for the memory's ingest
 * (src/memory/ingest*.c, chunk.c): any bytes as a text, Markdown, HTML,
 * PDF, mail, mbox, CSV or JSON Lines file, from memory.
 *
 * Input: byte 0 picks the format (mod MEM_FMT_COUNT), byte 1 the chunk
 * size (64 + 8 * b bytes, overlap a quarter of it) and the sensor window
 * (60 s * (1 + b % 90)); the rest is the file, in a buffer of its own
 * with no NUL after it.
 *
 * Contract (ingest.h):
 * - MOTE_OK, or MOTE_E_FORMAT for a PDF poppler cannot open (the
 *   document then empty);
 * - every chunk: non-empty valid UTF-8 of at most chunk_target bytes,
 *   a title NULL or valid UTF-8, 0 <= line_lo <= line_hi, and for the
 *   formats cited by line, line_hi within the file's lines; PDF page
 *   ranges from 1; msg_id on every mail chunk and on no other;
 * - sensor logs: every reading's series a non-empty string, finite values;
 * - warnings NULL or at most MEM_INGEST_WARN_LINES + 1 lines of UTF-8;
 * - the same bytes ingest the same way twice.
 */
#include <math.h>
#include <string.h>

#include "fuzz.h"
#include "memory/ingest.h"

static int valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = *p < 0x80 ? 1 : (*p >> 5) == 6 ? 2 : (*p >> 4) == 14 ? 3 : (*p >> 3) == 30 ? 4 : 0;
        if (!n) return 0;
        for (int i = 1; i < n; i++)
            if ((p[i] & 0xC0) != 0x80) return 0;
        p += n;
    }
    return 1;
}

static void check_doc(const mem_doc *d, enum mem_format fmt, const mem_ingest_opts *o, const char *data, size_t size)
{
    int n_lines = 1;
    for (size_t i = 0; i < size; i++) n_lines += data[i] == '\n';
    const int by_line = fmt == MEM_FMT_TEXT || fmt == MEM_FMT_MARKDOWN || fmt == MEM_FMT_HTML ||
                        fmt == MEM_FMT_EML || fmt == MEM_FMT_MBOX || fmt == MEM_FMT_CSV || fmt == MEM_FMT_JSONL;
    const int mail = fmt == MEM_FMT_EML || fmt == MEM_FMT_MBOX;
    fuzz_check(d->n_chunks >= 0 && d->n_chunks <= o->max_chunks, "chunk count");
    fuzz_check(d->source && strcmp(d->source, "fuzz") == 0, "source");
    for (int i = 0; i < d->n_chunks; i++) {
        const mem_chunk *c = &d->chunks[i];
        fuzz_check(c->text && c->text[0], "non-empty text");
        fuzz_check(strlen(c->text) <= (size_t)o->chunk_target, "text within chunk_target");
        fuzz_check(valid_utf8(c->text), "text UTF-8");
        fuzz_check(!c->title || valid_utf8(c->title), "title UTF-8");
        fuzz_check(c->line_lo >= 0 && c->line_hi >= c->line_lo, "line range order");
        if (by_line) fuzz_check(c->line_hi <= n_lines, "lines within the file");
        if (fmt == MEM_FMT_PDF) fuzz_check(c->line_lo >= 1, "pages from 1");
        fuzz_check(!mail == !c->msg_id, "msg_id on mail chunks only");
        fuzz_check(!c->msg_id || valid_utf8(c->msg_id), "msg_id UTF-8");
        fuzz_sink += (uint64_t)c->t_lo;
    }
    for (size_t i = 0; i < d->n_readings; i++) {
        fuzz_check(d->readings[i].series && d->readings[i].series[0], "series named");
        fuzz_check(isfinite(d->readings[i].value), "finite value");
    }
    if (fmt != MEM_FMT_CSV && fmt != MEM_FMT_JSONL) fuzz_check(d->n_readings == 0, "readings from sensor logs only");
    if (d->warnings) {
        int lines = 0;
        for (const char *s = d->warnings; *s; s++) lines += *s == '\n';
        fuzz_check(lines <= MEM_INGEST_WARN_LINES + 1, "warnings capped");
        fuzz_check(valid_utf8(d->warnings), "warnings UTF-8");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    const enum mem_format fmt = (enum mem_format)(data[0] % MEM_FMT_COUNT);
    mem_ingest_opts o = mem_ingest_defaults();
    o.chunk_target = 64 + 8 * data[1];
    o.chunk_overlap = o.chunk_target / 4;
    o.sensor_window_s = 60 * (1 + data[1] % 90);
    o.max_chunks = 5000;
    size -= 2;
    char *text = malloc(size ? size : 1);
    fuzz_check(text != NULL, "malloc");
    memcpy(text, data + 2, size);

    mem_doc d, again;
    const mote_status st = mem_ingest_buffer("fuzz", text, size, fmt, &o, &d);
    fuzz_check(st == MOTE_OK || (st == MOTE_E_FORMAT && fmt == MEM_FMT_PDF), "OK, or a PDF refused");
    if (st != MOTE_OK) {
        fuzz_check(d.n_chunks == 0 && !d.chunks && !d.source, "empty on error");
    } else {
        check_doc(&d, fmt, &o, text, size);
        if (fmt != MEM_FMT_PDF) { /* poppler is slow: once is enough */
            fuzz_check(mem_ingest_buffer("fuzz", text, size, fmt, &o, &again) == MOTE_OK, "OK twice");
            fuzz_check(again.n_chunks == d.n_chunks && again.n_readings == d.n_readings, "same counts twice");
            for (int i = 0; i < d.n_chunks; i++)
                fuzz_check(strcmp(again.chunks[i].text, d.chunks[i].text) == 0 &&
                               again.chunks[i].line_lo == d.chunks[i].line_lo &&
                               again.chunks[i].line_hi == d.chunks[i].line_hi,
                           "same chunks twice");
            mem_doc_free(&again);
        }
        mem_doc_free(&d);
    }
    free(text);
    return 0;
}
