/*
 * doc.c — the names of the kinds of sources, and freeing a document.
 */
#include <stdlib.h>

#include "memory/doc.h"

const char *mem_kind_name(enum mem_kind k)
{
    static const char *const names[] = {
        [MEM_TEXT] = "text", [MEM_MARKDOWN] = "markdown", [MEM_HTML] = "html",
        [MEM_PDF] = "pdf",   [MEM_MAIL] = "mail",         [MEM_SENSOR] = "sensor",
    };
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "unknown";
}

void mem_doc_free(mem_doc *d)
{
    if (!d) return;
    for (int i = 0; i < d->n_chunks; i++) {
        free(d->chunks[i].text);
        free(d->chunks[i].title);
        free(d->chunks[i].msg_id);
    }
    free(d->chunks);
    for (size_t i = 0; i < d->n_readings; i++) free(d->readings[i].series);
    free(d->readings);
    free(d->warnings);
    free(d->source);
    *d = (mem_doc){0};
}
