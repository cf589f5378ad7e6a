/*
 * ingest_text.c — plain text and Markdown: paragraphs at blank lines, and
 * for Markdown, sections at headings (ATX "## Title", setext "Title" over
 * "===" / "---") with the heading path as each chunk's title. A fenced
 * code block (``` or ~~~) is one paragraph whose "#" lines are not
 * headings. Heading lines stay in the chunk text (they are in the file).
 */
#include <stdlib.h>
#include <string.h>

#include "memory/ingest_internal.h"

#define HEADING_LEVELS 6
#define PATH_SEP " > "
#define HEADING_MAX 256 /* bytes of a heading kept in titles */

typedef struct text_state {
    ingest_ctx *c;
    chunker k;
    const char *s;
    size_t para_at, para_end; /* the pending paragraph's bytes (para_end 0: none) */
    int para_lo, para_hi;     /* its lines */
    char *heads[HEADING_LEVELS]; /* the heading at each level, or NULL */
} text_state;

static void flush_para(text_state *t)
{
    if (t->para_end > t->para_at) chunker_para(&t->k, t->s + t->para_at, t->para_end - t->para_at, t->para_lo, t->para_hi, 1);
    t->para_end = t->para_at = 0;
}

static void add_line(text_state *t, size_t at, size_t end, int line)
{
    if (t->para_end <= t->para_at) {
        t->para_at = at;
        t->para_lo = line;
    }
    t->para_end = end;
    t->para_hi = line;
}

/* A heading of level (1-based) with text h[0..n): the new section. */
static void set_heading(text_state *t, int level, const char *h, size_t n)
{
    for (int i = level - 1; i < HEADING_LEVELS; i++) {
        free(t->heads[i]);
        t->heads[i] = NULL;
    }
    t->heads[level - 1] = strndup(h, utf8_floor(h, n < HEADING_MAX ? n : HEADING_MAX));
    if (!t->heads[level - 1]) t->c->oom = 1;
    strbuf path = {0};
    for (int i = 0; i < HEADING_LEVELS; i++) {
        if (!t->heads[i]) continue;
        if (path.n) sb_adds(&path, PATH_SEP);
        sb_adds(&path, t->heads[i]);
    }
    if (path.oom) t->c->oom = 1;
    chunker_section(&t->k, path.s);
    sb_free(&path);
}

static int is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\f' && s[i] != '\v') return 0;
    return 1;
}

/* "## Title ##" -> level 2, "Title"; 0 if the line is no ATX heading. */
static int atx_heading(const char *s, size_t n, const char **h, size_t *hn)
{
    size_t i = 0;
    while (i < n && i < 3 && s[i] == ' ') i++;
    int level = 0;
    while (i < n && s[i] == '#' && level <= HEADING_LEVELS) i++, level++;
    if (level < 1 || level > HEADING_LEVELS || (i < n && s[i] != ' ' && s[i] != '\t')) return 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
    size_t e = n;
    while (e > i && (s[e - 1] == ' ' || s[e - 1] == '\t')) e--;
    size_t e2 = e;
    while (e2 > i && s[e2 - 1] == '#') e2--;
    if (e2 < e && (e2 == i || s[e2 - 1] == ' ' || s[e2 - 1] == '\t')) e = e2; /* closing #s */
    while (e > i && (s[e - 1] == ' ' || s[e - 1] == '\t')) e--;
    *h = s + i;
    *hn = e - i;
    return level;
}

/* "===" -> 1, "---" -> 2 (a setext underline), else 0. */
static int setext_level(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && i < 3 && s[i] == ' ') i++;
    if (i >= n || (s[i] != '=' && s[i] != '-')) return 0;
    const char ch = s[i];
    while (i < n && s[i] == ch) i++;
    return is_blank(s + i, n - i) ? (ch == '=' ? 1 : 2) : 0;
}

static int fence(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && i < 3 && s[i] == ' ') i++;
    return n - i >= 3 && (memcmp(s + i, "```", 3) == 0 || memcmp(s + i, "~~~", 3) == 0);
}

void ingest_text(ingest_ctx *c, const char *data, size_t len, int markdown)
{
    int bad = 0;
    size_t n;
    char *s = utf8_clean(data, len, &n, &bad);
    if (!s) { c->oom = 1; return; }
    c->n_bad_utf8 += bad;
    text_state t = {.c = c, .s = s};
    chunker_init(&t.k, c);
    int in_fence = 0, line = 0;
    for (size_t at = 0; at < n && !c->full && !c->oom;) {
        size_t eol = at;
        while (eol < n && s[eol] != '\n') eol++;
        const size_t ll = eol - at;
        const char *l = s + at;
        line++;
        const char *h;
        size_t hn;
        int level;
        if (markdown && fence(l, ll)) {
            if (!in_fence) flush_para(&t);
            add_line(&t, at, eol, line);
            if (in_fence) flush_para(&t);
            in_fence = !in_fence;
        } else if (in_fence) {
            add_line(&t, at, eol, line);
        } else if (is_blank(l, ll)) {
            flush_para(&t);
        } else if (markdown && (level = atx_heading(l, ll, &h, &hn)) > 0) {
            flush_para(&t);
            set_heading(&t, level, h, hn);
            add_line(&t, at, eol, line);
            flush_para(&t);
        } else if (markdown && t.para_end > t.para_at && t.para_lo == line - 1 && (level = setext_level(l, ll)) > 0) {
            /* the pending one-line paragraph is the heading's text */
            size_t hat = t.para_at, hend = t.para_end;
            int hlo = t.para_lo;
            t.para_end = t.para_at = 0;
            while (hend > hat && (s[hend - 1] == ' ' || s[hend - 1] == '\t')) hend--;
            while (hat < hend && (s[hat] == ' ' || s[hat] == '\t')) hat++;
            set_heading(&t, level, s + hat, hend - hat);
            add_line(&t, hat, hend, hlo);
            add_line(&t, at, eol, line);
            flush_para(&t);
        } else {
            add_line(&t, at, eol, line);
        }
        at = eol + 1;
    }
    flush_para(&t);
    chunker_free(&t.k);
    for (int i = 0; i < HEADING_LEVELS; i++) free(t.heads[i]);
    free(s);
}
