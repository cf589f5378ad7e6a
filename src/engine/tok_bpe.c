/*
 * tok_bpe.c — byte-pair encoding as llama.cpp does it for
 * tokenizer.ggml.model = "gpt2" (byte-level) and "gemma4" (raw UTF-8 with
 * spaces as U+2581 and <0xXX> byte fallback).
 *
 * The fragment is cut into pre-tokens by the vocabulary's regexes; each
 * pre-token is merged on its own: start from one symbol per byte (byte-level)
 * or per character, then repeatedly apply the adjacent merge with the lowest
 * rank in tokenizer.ggml.merges (ties: leftmost).
 */
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "engine/tok_internal.h"
#include "engine/tok_pretok.h"
#include "engine/tok_unicode.h"
#include "engine/vocab_merges.h"

/* Queue the merge of symbols left and right if the merges list has it. */
static mote_status try_pair(const pairmap *merges, tok_scratch *s, int32_t left, int32_t right)
{
    if (left < 0 || right < 0) return MOTE_OK;
    const tok_symbol *l = &s->sym[left], *r = &s->sym[right];
    if (l->id == TOKEN_NONE || r->id == TOKEN_NONE) return MOTE_OK;
    const pairmap_slot *m = pairmap_get(merges, l->id, r->id);
    if (!m) return MOTE_OK;
    tok_bigram b = {.prio = -(double)m->rank, .left = left, .right = right,
                    .len = l->len + r->len, .id = m->id};
    return bigram_push(&s->heap, b);
}

/* A symbol that is no token (its merge produced text outside the
 * vocabulary, or a character the vocabulary lacks): its bytes' tokens. */
static mote_status emit_bytes(const struct vocab *v, const char *p, size_t n, tokbuf *out)
{
    for (size_t i = 0; i < n; i++) {
        int32_t id = v->byte_token[(unsigned char)p[i]];
        if (id != TOKEN_NONE) {
            MOTE_TRY(tokbuf_push(out, id));
        } else if (vocab_valid(v, v->unk)) {
            MOTE_TRY(tokbuf_push(out, v->unk));
        }
        /* else dropped, as llama.cpp does */
    }
    return MOTE_OK;
}

/* The pre-token as the vocabulary spells it: byte-level characters. */
static mote_status spell(const struct vocab *v, const char *w, size_t n, char **buf, size_t *cap,
                         size_t *len)
{
    if (!v->byte_encode) {
        *len = n;
        return MOTE_OK;
    }
    if (*cap < 2 * n) { /* stand-ins take at most 2 bytes of UTF-8 */
        char *b = realloc(*buf, 2 * n);
        if (!b) return mote_fail(MOTE_E_NOMEM, "tokenizer: pre-token of %zu bytes", n);
        *buf = b;
        *cap = 2 * n;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)w[i];
        memcpy(*buf + o, v->bytelevel[c], v->bytelevel_len[c]);
        o += v->bytelevel_len[c];
    }
    *len = o;
    return MOTE_OK;
}

static int all_newlines(const char *w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (w[i] != '\n') return 0;
    return 1;
}

/* Tokenize one pre-token w[0..n). */
static mote_status bpe_word(const struct vocab *v, const pairmap *merges, unsigned flags, const char *w,
                            size_t n, tok_scratch *s, char **spellbuf, size_t *spellcap, tokbuf *out)
{
    if ((v->ignore_merges) || ((flags & PRE_NEWLINE_TOKENS) && all_newlines(w, n))) {
        size_t len = n;
        MOTE_TRY(spell(v, w, n, spellbuf, spellcap, &len));
        int32_t id = vocab_find(v, v->byte_encode ? *spellbuf : w, len);
        if (id != TOKEN_NONE) return tokbuf_push(out, id);
    }

    if (v->byte_encode) {
        MOTE_TRY(scratch_bytes(s, n));
        for (size_t i = 0; i < s->n_sym; i++) s->sym[i].id = v->byte_token[(unsigned char)w[i]];
    } else {
        MOTE_TRY(scratch_chars(s, w, n));
        for (size_t i = 0; i < s->n_sym; i++)
            s->sym[i].id = vocab_find(v, w + s->sym[i].off, s->sym[i].len);
    }
    for (size_t i = 1; i < s->n_sym; i++) MOTE_TRY(try_pair(merges, s, (int32_t)i - 1, (int32_t)i));
    while (s->heap.n > 0) {
        tok_bigram b = bigram_pop(&s->heap);
        if (!bigram_apply(s, &b)) continue;
        MOTE_TRY(try_pair(merges, s, s->sym[b.left].prev, b.left));
        MOTE_TRY(try_pair(merges, s, b.left, s->sym[b.left].next));
    }
    for (int32_t i = s->n_sym ? 0 : -1; i >= 0; i = s->sym[i].next) {
        const tok_symbol *sym = &s->sym[i];
        if (sym->id != TOKEN_NONE)
            MOTE_TRY(tokbuf_push(out, sym->id));
        else
            MOTE_TRY(emit_bytes(v, w + sym->off, sym->len, out));
    }
    return MOTE_OK;
}

mote_status bpe_tokenize(const struct vocab *v, const char *text, size_t n, tokbuf *out)
{
    /* The regexes need well-formed UTF-8; like llama.cpp, a byte that is
     * not becomes U+FFFD. */
    const pairmap *merges;
    MOTE_TRY(vocab_merges(v, &merges));
    char *clean = NULL;
    size_t cn = 0;
    span *pieces = NULL;
    size_t n_pieces = 0;
    mote_status st = utf8_sanitize(text, n, &clean, &cn);
    if (st == MOTE_OK) st = pretok_split(v->pretok, clean, cn, &pieces, &n_pieces);

    tok_scratch s = {0};
    char *spellbuf = NULL;
    size_t spellcap = 0;
    unsigned flags = v->pretok_flags;
    for (size_t i = 0; st == MOTE_OK && i < n_pieces; i++)
        st = bpe_word(v, merges, flags, clean + pieces[i].off, pieces[i].len, &s, &spellbuf, &spellcap, out);

    scratch_free(&s);
    free(spellbuf);
    free(pieces);
    free(clean);
    return st;
}
