/*
 * tok_spm.c — SentencePiece-style tokenizing as llama.cpp does it for
 * tokenizer.ggml.model = "llama".
 *
 * The text (spaces already escaped as U+2581) starts as one symbol per
 * character. Repeatedly the adjacent pair whose concatenation is a token
 * with the highest score merges (ties: leftmost). Symbols that end up as no
 * token are written as byte tokens <0xXX>; a vocabulary without them yields
 * its unknown token or an error (llama.cpp aborts there).
 *
 * This follows llama.cpp, not the sentencepiece library: e.g. the space
 * prefix of TinyStories-656K's vocabulary becomes its own token.
 */
#include "base/status.h"
#include "engine/tok_internal.h"

/* Queue the merge of symbols left and right if their text is a token. */
static mote_status try_pair(const struct vocab *v, tok_scratch *s, const char *text,
                            int32_t left, int32_t right)
{
    if (left < 0 || right < 0) return MOTE_OK;
    const tok_symbol *l = &s->sym[left], *r = &s->sym[right];
    /* Live neighbours are contiguous in the text. */
    uint32_t len = l->len + r->len;
    int32_t id = vocab_find(v, text + l->off, len);
    if (id == TOKEN_NONE) return MOTE_OK;
    tok_bigram b = {.prio = v->tokens[id].score, .left = left, .right = right, .len = len, .id = id};
    return bigram_push(&s->heap, b);
}

/* Write one final symbol: its token, or its bytes. */
static mote_status emit(const struct vocab *v, const char *p, size_t n, tokbuf *out)
{
    int32_t id = vocab_find(v, p, n);
    if (id != TOKEN_NONE) return tokbuf_push(out, id);
    for (size_t i = 0; i < n; i++)
        if (v->byte_token[(unsigned char)p[i]] == TOKEN_NONE) return tok_unencodable(v, p, n, out);
    for (size_t i = 0; i < n; i++) MOTE_TRY(tokbuf_push(out, v->byte_token[(unsigned char)p[i]]));
    return MOTE_OK;
}

mote_status spm_tokenize(const struct vocab *v, const char *text, size_t n, tokbuf *out)
{
    tok_scratch s = {0};
    mote_status st = scratch_chars(&s, text, n);
    for (size_t i = 1; st == MOTE_OK && i < s.n_sym; i++)
        st = try_pair(v, &s, text, (int32_t)i - 1, (int32_t)i);
    while (st == MOTE_OK && s.heap.n > 0) {
        tok_bigram b = bigram_pop(&s.heap);
        if (!bigram_apply(&s, &b)) continue;
        st = try_pair(v, &s, text, s.sym[b.left].prev, b.left);
        if (st == MOTE_OK) st = try_pair(v, &s, text, b.left, s.sym[b.left].next);
    }
    for (int32_t i = s.n_sym ? 0 : -1; st == MOTE_OK && i >= 0; i = s.sym[i].next)
        st = emit(v, text + s.sym[i].off, s.sym[i].len, out);
    scratch_free(&s);
    return st;
}
