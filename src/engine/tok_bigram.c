/*
 * tok_bigram.c — the symbol list and merge queue that SentencePiece-style
 * and BPE tokenizing share.
 *
 * A word starts as one symbol per character. Every adjacent pair that could
 * merge is queued with a priority; the best pair merges, and the pairs it
 * forms with its new neighbours are queued. Entries made stale by earlier
 * merges are recognised (their lengths no longer add up) and dropped, so the
 * queue never needs deletions: O(n log n) per word.
 */
#include <stdlib.h>

#include "base/status.h"
#include "engine/tok_internal.h"
#include "engine/tok_unicode.h"

/* ------------------------------------------------------------------------
 * Heap
 * ---------------------------------------------------------------------- */

/* a should come out before b. */
static int before(const tok_bigram *a, const tok_bigram *b)
{
    if (a->prio != b->prio) return a->prio > b->prio;
    return a->left < b->left;
}

mote_status bigram_push(tok_bigram_heap *h, tok_bigram b)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 64;
        tok_bigram *v = realloc(h->v, cap * sizeof *v);
        if (!v) return mote_fail(MOTE_E_NOMEM, "tokenizer: merge queue of %zu", cap);
        h->v = v;
        h->cap = cap;
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(&b, &h->v[parent])) break;
        h->v[i] = h->v[parent];
        i = parent;
    }
    h->v[i] = b;
    return MOTE_OK;
}

tok_bigram bigram_pop(tok_bigram_heap *h)
{
    tok_bigram top = h->v[0];
    tok_bigram last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && before(&h->v[c + 1], &h->v[c])) c++;
        if (!before(&h->v[c], &last)) break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n > 0) h->v[i] = last;
    return top;
}

/* ------------------------------------------------------------------------
 * Symbols
 * ---------------------------------------------------------------------- */

static mote_status reserve(tok_scratch *s, size_t n)
{
    s->n_sym = 0;
    s->heap.n = 0;
    if (n > INT32_MAX) return mote_fail(MOTE_E_RANGE, "tokenizer: word of %zu bytes", n);
    if (n <= s->cap_sym) return MOTE_OK;
    tok_symbol *v = realloc(s->sym, n * sizeof *v);
    if (!v) return mote_fail(MOTE_E_NOMEM, "tokenizer: %zu symbols", n);
    s->sym = v;
    s->cap_sym = n;
    return MOTE_OK;
}

static void link_symbols(tok_scratch *s)
{
    for (size_t i = 0; i < s->n_sym; i++) {
        s->sym[i].prev = (int32_t)i - 1;
        s->sym[i].next = i + 1 < s->n_sym ? (int32_t)i + 1 : -1;
        s->sym[i].id = TOKEN_NONE;
    }
}

mote_status scratch_chars(tok_scratch *s, const char *text, size_t n)
{
    MOTE_TRY(reserve(s, n));
    for (size_t off = 0; off < n;) {
        size_t len = utf8_seq_len((unsigned char)text[off]);
        if (len > n - off) len = n - off;
        s->sym[s->n_sym++] = (tok_symbol){.off = (uint32_t)off, .len = (uint32_t)len};
        off += len;
    }
    link_symbols(s);
    return MOTE_OK;
}

mote_status scratch_bytes(tok_scratch *s, size_t n)
{
    MOTE_TRY(reserve(s, n));
    for (size_t off = 0; off < n; off++)
        s->sym[s->n_sym++] = (tok_symbol){.off = (uint32_t)off, .len = 1};
    link_symbols(s);
    return MOTE_OK;
}

void scratch_free(tok_scratch *s)
{
    free(s->sym);
    free(s->heap.v);
}

int bigram_apply(tok_scratch *s, const tok_bigram *b)
{
    tok_symbol *l = &s->sym[b->left], *r = &s->sym[b->right];
    if (l->len == 0 || r->len == 0 || l->len + r->len != b->len) return 0;
    l->len += r->len;
    l->id = b->id;
    r->len = 0;
    l->next = r->next;
    if (r->next >= 0) s->sym[r->next].prev = b->left;
    return 1;
}
