/*
 * tokenize.c — text to token ids: special tokens first, then the
 * vocabulary's algorithm on the text between them, with BOS/EOS/SEP.
 *
 * Special tokens are split off as llama.cpp's tokenizer_st_partition does:
 * for each special token, longest text first, every occurrence in every
 * remaining text fragment becomes that token (LSTRIP/RSTRIP tokens also eat
 * the whitespace beside them). USER_DEFINED tokens are always split off;
 * CONTROL and UNKNOWN ones only with parse_special.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h> /* memmem: the build defines _GNU_SOURCE */

#include "base/status.h"
#include "engine/tok_internal.h"

#define ESCAPED_SPACE "\xE2\x96\x81" /* U+2581 LOWER ONE EIGHTH BLOCK */
#define ESCAPED_SPACE_LEN 3

/* ------------------------------------------------------------------------
 * Output buffer
 * ---------------------------------------------------------------------- */

mote_status tokbuf_push(tokbuf *b, int32_t id)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 64;
        int32_t *ids = realloc(b->ids, cap * sizeof *ids);
        if (!ids) return mote_fail(MOTE_E_NOMEM, "tokenizer: %zu tokens", cap);
        b->ids = ids;
        b->cap = cap;
    }
    b->ids[b->n++] = id;
    return MOTE_OK;
}

void tokbuf_free(tokbuf *b)
{
    free(b->ids);
    memset(b, 0, sizeof *b);
}

mote_status tok_unencodable(const struct vocab *v, const char *s, size_t n, tokbuf *out)
{
    if (vocab_valid(v, v->unk)) return tokbuf_push(out, v->unk);
    char hex[3 * 8 + 8] = "";
    size_t o = 0;
    for (size_t i = 0; i < n && i < 8; i++)
        o += (size_t)snprintf(hex + o, sizeof hex - o, "%s%02X", i ? " " : "", (unsigned char)s[i]);
    if (n > 8) snprintf(hex + o, sizeof hex - o, " ...");
    return mote_fail(MOTE_E_TOKENIZE, "tokenizer: the vocabulary cannot encode the text \"%.*s\" "
                     "(bytes %s): it has no token for it, no byte tokens and no unknown token",
                     (int)(n < 32 ? n : 32), s, hex);
}

/* ------------------------------------------------------------------------
 * Special-token partition
 * ---------------------------------------------------------------------- */

/* A fragment of the text: a special token, or raw text to tokenize. */
typedef struct fragment {
    int32_t token;   /* TOKEN_NONE for raw text */
    size_t off, len; /* raw text: bytes of the input */
    bool plain;      /* raw text: control tokens are not parsed in it */
} fragment;

typedef struct fragbuf {
    fragment *v;
    size_t n, cap;
} fragbuf;

static mote_status frag_push(fragbuf *b, fragment f)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 16;
        fragment *v = realloc(b->v, cap * sizeof *v);
        if (!v) return mote_fail(MOTE_E_NOMEM, "tokenizer: %zu fragments", cap);
        b->v = v;
        b->cap = cap;
    }
    b->v[b->n++] = f;
    return MOTE_OK;
}

static int is_space(char c) { return isspace((unsigned char)c); }

/* Split every raw fragment of cur at the occurrences of token id. */
static mote_status split_on(const struct vocab *v, int32_t id, const char *text, const fragbuf *cur,
                            fragbuf *next)
{
    const char *tok = vocab_text(v, id);
    size_t tlen = v->tokens[id].len;
    uint32_t attr = v->tokens[id].attr;
    next->n = 0;
    for (size_t i = 0; i < cur->n; i++) {
        fragment f = cur->v[i];
        if (f.token != TOKEN_NONE) {
            MOTE_TRY(frag_push(next, f));
            continue;
        }
        size_t off = f.off, len = f.len;
        if (f.plain && (attr & (TOKEN_ATTR_CONTROL | TOKEN_ATTR_UNKNOWN))) {
            MOTE_TRY(frag_push(next, f));
            continue;
        }
        for (;;) {
            const char *hit = memmem(text + off, len, tok, tlen);
            if (!hit) {
                if (len > 0) MOTE_TRY(frag_push(next, (fragment){TOKEN_NONE, off, len, f.plain}));
                break;
            }
            size_t at = (size_t)(hit - text);
            size_t left = at - off;
            if (attr & TOKEN_ATTR_LSTRIP)
                while (left > 0 && is_space(text[off + left - 1])) left--;
            if (left > 0) MOTE_TRY(frag_push(next, (fragment){TOKEN_NONE, off, left, f.plain}));
            MOTE_TRY(frag_push(next, (fragment){id, 0, 0, false}));
            size_t end = f.off + f.len;
            off = at + tlen;
            if (attr & TOKEN_ATTR_RSTRIP)
                while (off < end && is_space(text[off])) off++;
            len = end - off;
        }
    }
    return MOTE_OK;
}

/* Raw fragments of text[0..n): the plain spans (sorted, disjoint) are
 * fragments of their own, marked plain. */
static mote_status initial_fragments(size_t n, const struct tok_span *plain, size_t n_plain,
                                     fragbuf *out)
{
    size_t at = 0;
    for (size_t i = 0; i < n_plain; i++) {
        if (plain[i].off < at || plain[i].len > n - plain[i].off)
            return mote_fail(MOTE_E_INVALID, "tokenize: plain span %zu (%zu+%zu) out of order or "
                             "past the text (%zu bytes)", i, plain[i].off, plain[i].len, n);
        if (plain[i].off > at) MOTE_TRY(frag_push(out, (fragment){TOKEN_NONE, at, plain[i].off - at, false}));
        if (plain[i].len > 0) MOTE_TRY(frag_push(out, (fragment){TOKEN_NONE, plain[i].off, plain[i].len, true}));
        at = plain[i].off + plain[i].len;
    }
    if (n > at) MOTE_TRY(frag_push(out, (fragment){TOKEN_NONE, at, n - at, false}));
    return MOTE_OK;
}

static mote_status partition(const struct vocab *v, const char *text, size_t n, bool parse_special,
                             const struct tok_span *plain, size_t n_plain, fragbuf *out)
{
    fragbuf other = {0};
    mote_status st = initial_fragments(n, plain, n_plain, out);
    for (size_t s = 0; st == MOTE_OK && s < v->n_special; s++) {
        int32_t id = v->special[s];
        uint32_t attr = v->tokens[id].attr;
        bool control = attr & (TOKEN_ATTR_CONTROL | TOKEN_ATTR_UNKNOWN);
        if (!parse_special && control) continue;
        /* Most tokens occur nowhere: check before rebuilding the list. */
        int present = 0;
        for (size_t i = 0; i < out->n && !present; i++)
            present = out->v[i].token == TOKEN_NONE && !(control && out->v[i].plain) &&
                      memmem(text + out->v[i].off, out->v[i].len, vocab_text(v, id), v->tokens[id].len);
        if (!present) continue;
        st = split_on(v, id, text, out, &other);
        fragbuf t = *out;
        *out = other;
        other = t;
    }
    free(other.v);
    /* Raw text that touches across a plain span's edge is one text, as it
     * would be without the spans (the pre-tokenizer sees it whole). */
    size_t k = 0;
    for (size_t i = 0; st == MOTE_OK && i < out->n; i++) {
        fragment f = out->v[i];
        if (k > 0 && f.token == TOKEN_NONE && out->v[k - 1].token == TOKEN_NONE &&
            out->v[k - 1].off + out->v[k - 1].len == f.off)
            out->v[k - 1].len += f.len;
        else
            out->v[k++] = f;
    }
    if (st == MOTE_OK) out->n = k;
    return st;
}

/* ------------------------------------------------------------------------
 * Tokenizing
 * ---------------------------------------------------------------------- */

/* text[0..n) with an optional leading space, spaces escaped as U+2581
 * when escape. malloc'd. */
static mote_status prepare(const char *text, size_t n, bool lead_space, bool escape, char **out,
                           size_t *out_n)
{
    size_t spaces = lead_space;
    for (size_t i = 0; i < n; i++) spaces += text[i] == ' ';
    size_t extra = escape ? spaces * (ESCAPED_SPACE_LEN - 1) : 0;
    char *b = malloc(n + lead_space + extra + 1);
    if (!b) return mote_fail(MOTE_E_NOMEM, "tokenizer: %zu bytes of text", n);
    size_t o = 0;
    for (size_t i = 0; i < n + lead_space; i++) {
        char c = (lead_space && i == 0) ? ' ' : text[i - lead_space];
        if (escape && c == ' ') {
            memcpy(b + o, ESCAPED_SPACE, ESCAPED_SPACE_LEN);
            o += ESCAPED_SPACE_LEN;
        } else {
            b[o++] = c;
        }
    }
    b[o] = '\0';
    *out = b;
    *out_n = o;
    return MOTE_OK;
}

static mote_status push_special(const struct vocab *v, int32_t id, const char *what, tokbuf *out)
{
    if (!vocab_valid(v, id))
        return mote_fail(MOTE_E_TOKENIZE, "tokenizer: the vocabulary says to add %s, "
                         "but has no %s token", what, what);
    return tokbuf_push(out, id);
}

/* The algorithm for one raw fragment. */
static mote_status tokenize_raw(const struct vocab *v, const char *text, size_t n, bool prev_special,
                                tokbuf *out)
{
    bool lead = v->type == VOCAB_SPM && v->add_space_prefix && prev_special;
    bool escape = v->type == VOCAB_SPM || (v->type == VOCAB_BPE && v->escape_whitespace);
    if (!lead && !escape) {
        switch (v->type) {
        case VOCAB_BPE: return bpe_tokenize(v, text, n, out);
        case VOCAB_WPM: return wpm_tokenize(v, text, n, out);
        case VOCAB_UGM: return ugm_tokenize(v, text, n, out);
        default: break;
        }
    }
    char *p = NULL;
    size_t pn = 0;
    MOTE_TRY(prepare(text, n, lead, escape, &p, &pn));
    mote_status st = v->type == VOCAB_SPM ? spm_tokenize(v, p, pn, out) : bpe_tokenize(v, p, pn, out);
    free(p);
    return st;
}

mote_status vocab_tokenize(const struct vocab *v, const char *text, size_t len, bool add_special,
                           bool parse_special, tokbuf *out)
{
    return vocab_tokenize_spans(v, text, len, add_special, parse_special, NULL, 0, out);
}

mote_status vocab_tokenize_spans(const struct vocab *v, const char *text, size_t len, bool add_special,
                                 bool parse_special, const struct tok_span *plain, size_t n_plain,
                                 tokbuf *out)
{
    if (!text && len > 0) return mote_fail(MOTE_E_INVALID, "tokenize: text is NULL");
    fragbuf frags = {0};
    mote_status st = partition(v, text, len, parse_special, plain, n_plain, &frags);

    /* WordPiece always adds [CLS] ... [SEP] (llama.cpp ignores add_bos there). */
    bool bos = add_special && (v->type == VOCAB_WPM || v->add_bos);
    bool eos = add_special && v->type != VOCAB_WPM && v->add_eos;
    bool sep = add_special && v->type == VOCAB_WPM;
    /* Text that starts with BOS itself (a template's, or parsed "<s>") gets
     * no second one: llama.cpp warns about that double BOS. */
    if (bos && frags.n > 0 && frags.v[0].token != TOKEN_NONE && frags.v[0].token == v->bos) bos = false;
    if (st == MOTE_OK && bos) st = push_special(v, v->bos, "BOS", out);

    bool prev_special = true; /* SPM: the first text gets the space prefix */
    for (size_t i = 0; st == MOTE_OK && i < frags.n; i++) {
        const fragment *f = &frags.v[i];
        if (f->token != TOKEN_NONE) {
            st = tokbuf_push(out, f->token);
            prev_special = true;
        } else {
            st = tokenize_raw(v, text + f->off, f->len, prev_special, out);
            prev_special = false;
        }
    }
    if (st == MOTE_OK && eos) st = push_special(v, v->eos, "EOS", out);
    if (st == MOTE_OK && sep) st = push_special(v, v->sep, "SEP", out);
    free(frags.v);
    return st;
}
