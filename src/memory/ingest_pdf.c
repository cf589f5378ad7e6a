/*
 * ingest_pdf.c — a PDF's text through poppler-glib, page by page: each
 * page's text is cut into paragraphs at blank lines and packed like any
 * text; a chunk's line_lo..line_hi is its page range (1-based). The
 * section title is the PDF's Title, if it has one.
 */
#include <limits.h>
#include <string.h>

#include <poppler.h>

#include "memory/ingest_internal.h"

/* The document, or NULL with *err set (g_error_free it). */
static PopplerDocument *open_pdf(const char *data, size_t len, GError **err)
{
    if (len > INT_MAX) {
        g_set_error_literal(err, G_IO_ERROR, G_IO_ERROR_FAILED, "larger than 2 GiB");
        return NULL;
    }
    /* poppler keeps its own reference to the bytes for the document's life */
    GBytes *b = g_bytes_new(data, len);
    PopplerDocument *doc = poppler_document_new_from_bytes(b, NULL, err);
    g_bytes_unref(b);
    if (!doc && err && !*err) g_set_error_literal(err, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot be opened");
    return doc;
}

/* Every page's text into k; lines lo..hi for all (lo > 0), else the page. */
static void pages(chunker *k, PopplerDocument *doc, int lo, int hi)
{
    const int n = poppler_document_get_n_pages(doc);
    for (int i = 0; i < n && !k->c->full && !k->c->oom; i++) {
        PopplerPage *page = poppler_document_get_page(doc, i);
        if (!page) {
            ing_warn(k->c, "pdf: %s: page %d cannot be read", k->c->name, i + 1);
            continue;
        }
        char *text = poppler_page_get_text(page);
        if (text) chunker_text(k, text, strlen(text), lo > 0 ? lo : i + 1, lo > 0 ? hi : i + 1);
        g_free(text);
        g_object_unref(page);
    }
}

mote_status ingest_pdf(ingest_ctx *c, const char *data, size_t len)
{
    ingest_glib_once();
    GError *err = NULL;
    PopplerDocument *doc = open_pdf(data, len, &err);
    if (!doc) {
        mote_status st = mote_fail(MOTE_E_FORMAT, "pdf: %s: %s", c->name, err ? err->message : "cannot be opened");
        if (err) g_error_free(err);
        return st;
    }
    chunker k;
    chunker_init(&k, c);
    char *title = poppler_document_get_title(doc);
    chunker_section(&k, title && *title ? title : NULL);
    g_free(title);
    pages(&k, doc, 0, 0);
    chunker_free(&k);
    const int n_pages = poppler_document_get_n_pages(doc);
    if (c->doc->n_chunks == 0 && n_pages > 0)
        ing_warn(c, "pdf: %s: no text on its %d page%s (scanned images?)", c->name, n_pages, n_pages == 1 ? "" : "s");
    g_object_unref(doc);
    return MOTE_OK;
}

int pdf_to_chunker(chunker *k, const char *data, size_t len, int lo, int hi)
{
    ingest_glib_once();
    GError *err = NULL;
    PopplerDocument *doc = open_pdf(data, len, &err);
    if (!doc) {
        if (err) g_error_free(err);
        return -1;
    }
    pages(k, doc, lo, hi);
    g_object_unref(doc);
    return 0;
}
