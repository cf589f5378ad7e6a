/*
 * chunk.c — paragraphs in, chunks out: the packing every text-like format
 * shares (text, Markdown, HTML, PDF pages, mail bodies).
 *
 * A paragraph is cut into pieces: its sentences and lines (a piece ends
 * after ". " / "! " / "? " or a newline and keeps its trailing blanks),
 * pieces longer than target - overlap cut again at words, then at UTF-8
 * characters. Pieces are packed into the chunk being built; a paragraph
 * that does not fit what is left but fits a chunk of its own starts the
 * next chunk, a longer one fills chunks piece by piece. When a chunk is
 * emitted its last pieces, up to chunk_overlap bytes (a word tail of the
 * last piece when even that is longer), start the next one, so
 * consecutive chunks of a section share about the overlap. Sections
 * (headings, messages) never share an overlap.
 *
 * Every piece keeps its line range: with exact lines (text and Markdown,
 * where each '\n' in the paragraph is the next line of the file) its own,
 * else the paragraph's. A chunk's range is the union of its pieces'.
 */
#include <stdlib.h>
#include <string.h>

#include "memory/ingest_internal.h"

struct chunk_piece {
    char *text;      /* owned; includes the blanks after it inside its paragraph */
    size_t len;
    int lo, hi;      /* its lines */
    int para_start;  /* the first piece of a paragraph: "\n\n" before it */
    int exact;       /* lo..hi follow its newlines (a tail of it can have its own) */
};

#define PARA_SEP "\n\n"
#define PARA_SEP_LEN 2

static int is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v'; }

static int count_nl(const char *s, size_t n)
{
    int k = 0;
    for (size_t i = 0; i < n; i++) k += s[i] == '\n';
    return k;
}

void chunker_init(chunker *k, ingest_ctx *c)
{
    memset(k, 0, sizeof *k);
    k->c = c;
}

static void drop_pieces(chunker *k, int from, int to)
{
    if (from >= to) return;
    for (int i = from; i < to; i++) free(k->p[i].text);
    memmove(k->p + from, k->p + to, (size_t)(k->n - to) * sizeof *k->p);
    k->n -= to - from;
}

static size_t pieces_len(const chunker *k)
{
    size_t len = 0;
    for (int i = 0; i < k->n; i++) len += (i > 0 && k->p[i].para_start ? PARA_SEP_LEN : 0) + k->p[i].len;
    return len;
}

static void emit(chunker *k)
{
    strbuf b = {0};
    int lo = 0, hi = 0;
    for (int i = 0; i < k->n; i++) {
        const chunk_piece *p = &k->p[i];
        if (i > 0 && p->para_start) {
            while (b.n > 0 && is_space(b.s[b.n - 1])) b.n--;
            sb_add(&b, PARA_SEP, PARA_SEP_LEN);
        }
        sb_add(&b, p->text, p->len);
        if (p->lo > 0 && (lo == 0 || p->lo < lo)) lo = p->lo;
        if (p->hi > hi) hi = p->hi;
    }
    while (b.n > 0 && is_space(b.s[b.n - 1])) b.n--;
    if (b.oom) k->c->oom = 1;
    else if (b.n > 0) ing_add_chunk(k->c, b.s, b.n, k->title, lo, hi, k->msg_id, k->t_lo, k->t_hi);
    sb_free(&b);
}

/* Emit the chunk and keep its tail (at most overlap bytes, and leaving room
 * bytes free) as the start of the next. */
static void emit_and_carry(chunker *k, size_t room)
{
    emit(k);
    const size_t target = (size_t)k->c->o.chunk_target, overlap = (size_t)k->c->o.chunk_overlap;
    size_t keep_budget = room < target ? target - room : 0;
    if (keep_budget > overlap) keep_budget = overlap;
    size_t sum = 0;
    int first = k->n;
    while (first > 0 && sum + k->p[first - 1].len + PARA_SEP_LEN <= keep_budget) sum += k->p[--first].len + PARA_SEP_LEN;
    if (first == k->n && k->n > 0 && keep_budget > 0) {
        /* the last piece alone is longer than the overlap: a word tail of it */
        chunk_piece *p = &k->p[k->n - 1];
        size_t end = p->len;
        while (end > 0 && is_space(p->text[end - 1])) end--;
        size_t start = end > keep_budget ? end - keep_budget : 0;
        while (start < end && !is_space(p->text[start])) start++; /* to a word's start */
        while (start < end && is_space(p->text[start])) start++;
        if (start > 0 && start < end) {
            char *tail = malloc(p->len - start + 1);
            if (!tail) {
                k->c->oom = 1;
            } else {
                memcpy(tail, p->text + start, p->len - start);
                tail[p->len - start] = 0;
                if (p->exact) p->lo = p->hi - count_nl(tail, end - start);
                free(p->text);
                p->text = tail;
                p->len -= start;
                p->para_start = 0;
                first = k->n - 1;
            }
        }
    }
    drop_pieces(k, 0, first);
    k->len = pieces_len(k);
    k->n_new = 0;
}

static void push_piece(chunker *k, const char *s, size_t n, int lo, int hi, int para_start, int exact)
{
    if (k->c->full || k->c->oom) return;
    const size_t target = (size_t)k->c->o.chunk_target;
    size_t need = n + (k->n > 0 && para_start ? PARA_SEP_LEN : 0);
    if (k->n_new > 0 && k->len + need > target) emit_and_carry(k, n + PARA_SEP_LEN);
    /* carried pieces make way for a piece that would not fit beside them
     * (k->len kept as it goes: pieces_len would make this quadratic) */
    while (k->n > 0 && k->len + n + (para_start ? PARA_SEP_LEN : 0) > target) {
        k->len -= k->p[0].len + (k->n > 1 && k->p[1].para_start ? PARA_SEP_LEN : 0);
        drop_pieces(k, 0, 1);
    }
    if (k->n == k->cap) {
        int cap = k->cap ? 2 * k->cap : 16;
        chunk_piece *np = realloc(k->p, (size_t)cap * sizeof *np);
        if (!np) { k->c->oom = 1; return; }
        k->p = np;
        k->cap = cap;
    }
    char *t = malloc(n + 1);
    if (!t) { k->c->oom = 1; return; }
    memcpy(t, s, n);
    t[n] = 0;
    k->len += n + (k->n > 0 && para_start ? PARA_SEP_LEN : 0);
    k->p[k->n++] = (chunk_piece){t, n, lo, hi, para_start, exact};
    k->n_new++;
}

/* The end of the piece starting at s[a] (its trailing blanks included):
 * after a sentence's end and blank, or a newline, or at most max bytes. */
static size_t piece_end(const char *s, size_t n, size_t a, size_t max)
{
    const size_t lim = n - a > max ? a + max : n;
    size_t i = a;
    int found = 0;
    for (; i < lim && !found; i++)
        found = s[i] == '\n' || ((s[i] == '.' || s[i] == '!' || s[i] == '?') && i + 1 < n && is_space(s[i + 1]));
    if (!found && lim < n) {
        /* too long: back to the last blank, else to a character's start */
        size_t j = lim;
        while (j > a && !is_space(s[j - 1])) j--;
        i = j > a ? j : a + utf8_floor(s + a, lim - a);
        if (i == a) i = lim; /* no whole character fits: cannot happen with max >= 4 */
    }
    while (i < n && is_space(s[i])) i++;
    return i;
}

void chunker_para(chunker *k, const char *text, size_t len, int line_lo, int line_hi, int exact)
{
    if (k->c->full || k->c->oom) return;
    int bad = 0;
    size_t n;
    char *s = utf8_clean(text, len, &n, &bad);
    if (!s) { k->c->oom = 1; return; }
    k->c->n_bad_utf8 += bad;
    size_t a = 0;
    while (a < n && is_space(s[a])) a++;
    while (n > a && is_space(s[n - 1])) n--;
    if (a == n) { free(s); return; }
    const size_t target = (size_t)k->c->o.chunk_target;
    const size_t max_piece = target - (size_t)k->c->o.chunk_overlap;
    /* a paragraph that fits a chunk of its own but not what is left starts one */
    const size_t para_len = n - a;
    if (k->n_new > 0 && k->len + PARA_SEP_LEN + para_len > target && para_len <= max_piece)
        emit_and_carry(k, para_len + PARA_SEP_LEN);
    int first = 1, line = line_lo + count_nl(s, a); /* the line of s[a], kept as a moves */
    while (a < n && !k->c->full && !k->c->oom) {
        size_t b = piece_end(s, n, a, max_piece);
        size_t e = b;
        while (e > a && is_space(s[e - 1])) e--;
        const int in_piece = count_nl(s + a, e - a);
        push_piece(k, s + a, b - a, exact ? line : line_lo, exact ? line + in_piece : line_hi, first, exact);
        line += in_piece + count_nl(s + e, b - e);
        first = 0;
        a = b;
    }
    free(s);
}

void chunker_text(chunker *k, const char *text, size_t len, int line_lo, int line_hi)
{
    size_t i = 0;
    while (i < len) {
        /* a paragraph ends at a line holding only blanks */
        size_t start = i, end = i;
        while (i < len) {
            size_t eol = i;
            while (eol < len && text[eol] != '\n') eol++;
            size_t j = i;
            while (j < eol && is_space(text[j])) j++;
            i = eol < len ? eol + 1 : eol;
            if (j == eol) break;
            end = eol;
        }
        if (end > start) chunker_para(k, text + start, end - start, line_lo, line_hi, 0);
    }
}

void chunker_flush(chunker *k)
{
    if (k->n_new > 0) emit(k);
    drop_pieces(k, 0, k->n);
    k->len = 0;
    k->n_new = 0;
}

/* s as one line of valid UTF-8 (titles and ids come from the file), or NULL. */
static char *dup_or_null(const char *s, int *oom)
{
    if (!s) return NULL;
    int bad = 0;
    size_t n;
    char *d = utf8_clean(s, strlen(s), &n, &bad);
    if (!d) *oom = 1;
    for (size_t i = 0; d && i < n; i++)
        if ((unsigned char)d[i] < 0x20 || d[i] == 0x7f) d[i] = ' ';
    return d;
}

void chunker_section(chunker *k, const char *title)
{
    chunker_flush(k);
    free(k->title);
    k->title = dup_or_null(title, &k->c->oom);
}

void chunker_meta(chunker *k, const char *msg_id, int64_t t_lo)
{
    chunker_flush(k);
    free(k->msg_id);
    k->msg_id = dup_or_null(msg_id, &k->c->oom);
    k->t_lo = t_lo;
    k->t_hi = 0;
}

void chunker_free(chunker *k)
{
    chunker_flush(k);
    free(k->p);
    free(k->title);
    free(k->msg_id);
    memset(k, 0, sizeof *k);
}
