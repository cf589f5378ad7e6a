/*
 * fts_query.c — quoting a user's words into an FTS5 query (fts_query.h).
 */
#include "memory/fts_query.h"

#include <stdlib.h>
#include <string.h>

/* ASCII whitespace, controls and NUL separate words; every other byte
 * (UTF-8 included, valid or not) belongs to one. */
static int is_sep(unsigned char c)
{
    return c <= ' ' || c == 0x7f;
}

char *mem_fts_query(const char *text, size_t len, int *n_terms)
{
    *n_terms = 0;
    if (!text) len = 0;
    if (len > MEM_FTS_TEXT_MAX) {
        len = MEM_FTS_TEXT_MAX;
        /* do not cut a UTF-8 character: back up over continuation bytes */
        while (len > 0 && ((unsigned char)text[len] & 0xc0) == 0x80) len--;
    }
    /* worst case: every byte a '"' (doubled) in its own word, quoted, " OR " between */
    char *q = malloc(len * 7 + 1), *o = q;
    if (!q) return NULL;
    size_t i = 0;
    while (i < len && *n_terms < MEM_FTS_TERMS_MAX) {
        while (i < len && is_sep((unsigned char)text[i])) i++;
        if (i == len) break;
        if (*n_terms > 0) {
            memcpy(o, " OR ", 4);
            o += 4;
        }
        *o++ = '"';
        for (; i < len && !is_sep((unsigned char)text[i]); i++) {
            if (text[i] == '"') *o++ = '"';
            *o++ = text[i];
        }
        *o++ = '"';
        (*n_terms)++;
    }
    *o = '\0';
    return q;
}
