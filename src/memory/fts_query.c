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

/* The bytes of text that are read: at most MEM_FTS_TEXT_MAX, cut at a
 * UTF-8 character boundary. */
static size_t read_len(const char *text, size_t len)
{
    if (!text) return 0;
    if (len > MEM_FTS_TEXT_MAX) {
        len = MEM_FTS_TEXT_MAX;
        /* do not cut a UTF-8 character: back up over continuation bytes */
        while (len > 0 && ((unsigned char)text[len] & 0xc0) == 0x80) len--;
    }
    return len;
}

int mem_fts_words(const char *text, size_t len, size_t *start, size_t *wlen)
{
    len = read_len(text, len);
    int n = 0;
    size_t i = 0;
    while (i < len && n < MEM_FTS_TERMS_MAX) {
        while (i < len && is_sep((unsigned char)text[i])) i++;
        if (i == len) break;
        start[n] = i;
        while (i < len && !is_sep((unsigned char)text[i])) i++;
        wlen[n] = i - start[n];
        n++;
    }
    return n;
}

char *mem_fts_query_except(const char *text, size_t len, const unsigned char *skip, int all, int *n_terms)
{
    *n_terms = 0;
    size_t start[MEM_FTS_TERMS_MAX], wlen[MEM_FTS_TERMS_MAX];
    const int n = mem_fts_words(text, len, start, wlen);
    /* worst case: every byte a '"' (doubled) in its own word, quoted, " AND " between */
    char *q = malloc(read_len(text, len) * 8 + 1), *o = q;
    if (!q) return NULL;
    for (int w = 0; w < n; w++) {
        if (skip && skip[w]) continue;
        if (*n_terms > 0) {
            memcpy(o, all ? " AND " : " OR ", all ? 5 : 4);
            o += all ? 5 : 4;
        }
        *o++ = '"';
        for (size_t i = start[w]; i < start[w] + wlen[w]; i++) {
            if (text[i] == '"') *o++ = '"';
            *o++ = text[i];
        }
        *o++ = '"';
        (*n_terms)++;
    }
    *o = '\0';
    return q;
}

char *mem_fts_query(const char *text, size_t len, int *n_terms)
{
    return mem_fts_query_except(text, len, NULL, 0, n_terms);
}
