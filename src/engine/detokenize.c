/*
 * detokenize.c — token ids back to text, as llama.cpp's token_to_piece and
 * detokenize do: U+2581 becomes a space, <0xXX> tokens their byte, GPT-2
 * byte-level characters their bytes; CONTROL and UNKNOWN tokens render only
 * on request; BPE and WordPiece vocabularies tidy " ," and friends.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "engine/tok_unicode.h"
#include "engine/vocab.h"

#define ESCAPED_SPACE "\xE2\x96\x81" /* U+2581 */
#define ESCAPED_SPACE_LEN 3

/* ------------------------------------------------------------------------
 * One token
 * ---------------------------------------------------------------------- */

/* Bytes written into a caller's buffer, counting what does not fit. */
typedef struct sink {
    char *buf;
    size_t cap;
    size_t n;     /* bytes produced so far (may exceed cap) */
    size_t piece; /* s.n where the current token's text began */
    int lstrip;   /* leading spaces of that text still to drop */
} sink;

static void put(sink *s, const char *p, size_t n)
{
    for (; s->n == s->piece && s->lstrip > 0 && n > 0 && *p == ' '; s->lstrip--) {
        p++;
        n--;
    }
    if (n == 0) return;
    if (s->n < s->cap) memcpy(s->buf + s->n, p, s->n + n <= s->cap ? n : s->cap - s->n);
    s->n += n;
}

/* Text with every U+2581 as a space. */
static void put_unescaped(sink *s, const char *t, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i + ESCAPED_SPACE_LEN <= n;) {
        if (memcmp(t + i, ESCAPED_SPACE, ESCAPED_SPACE_LEN) == 0) {
            put(s, t + start, i - start);
            put(s, " ", 1);
            i += ESCAPED_SPACE_LEN;
            start = i;
        } else {
            i++;
        }
    }
    put(s, t + start, n - start);
}

/* Byte-level text as its bytes. A character that stands for no byte is
 * written the way llama.cpp's llama_decode_text does. */
static void put_bytelevel(sink *s, const char *t, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint32_t cpt;
        size_t len = utf8_decode_lax(t + i, n - i, &cpt);
        if (len == 0) {
            cpt = UNI_REPLACEMENT;
            len = 1;
        }
        i += len;
        int b = bytelevel_byte(cpt);
        if (b >= 0) {
            char c = (char)b;
            put(s, &c, 1);
            continue;
        }
        char u[4], hex[3];
        size_t ul = utf8_encode(cpt, u);
        put(s, "[UNK_BYTE_0x", 12);
        for (size_t k = 0; k < ul; k++) {
            snprintf(hex, sizeof hex, "%02x", (unsigned char)u[k]);
            put(s, hex, 2);
        }
        put(s, t, n);
        put(s, "]", 1);
    }
}

/* The byte of a "<0xXX>" token. */
static void put_byte_token(sink *s, const char *t, size_t n)
{
    if (n != 6 || memcmp(t, "<0x", 3) != 0 || t[5] != '>') return;
    char hex[3] = {t[3], t[4], 0}, *end;
    long b = strtol(hex, &end, 16);
    if (*end != '\0') return;
    char c = (char)b;
    put(s, &c, 1);
}

static void render(const struct vocab *v, int32_t id, bool render_special, sink *s)
{
    uint32_t attr = v->tokens[id].attr;
    const char *t = vocab_text(v, id);
    size_t n = v->tokens[id].len;
    s->piece = s->n;
    if (!render_special && (attr & (TOKEN_ATTR_UNKNOWN | TOKEN_ATTR_CONTROL))) return;
    if (attr & (TOKEN_ATTR_UNKNOWN | TOKEN_ATTR_CONTROL | TOKEN_ATTR_USER_DEFINED)) {
        put(s, t, n);
    } else if (attr & TOKEN_ATTR_NORMAL) {
        if (v->type == VOCAB_BPE && !v->escape_whitespace)
            put_bytelevel(s, t, n);
        else
            put_unescaped(s, t, n);
    } else if (attr & TOKEN_ATTR_BYTE) {
        put_byte_token(s, t, n);
    }
    /* UNUSED and UNDEFINED tokens render as nothing. */
}

mote_status vocab_token_to_piece(const struct vocab *v, int32_t id, int lstrip, bool render_special,
                                 char *buf, size_t cap, size_t *n_out)
{
    if (!vocab_valid(v, id))
        return mote_fail(MOTE_E_INVALID, "token_to_piece: token %d out of range [0, %d)", id,
                         v->n_tokens);
    sink s = {.buf = buf, .cap = buf ? cap : 0, .lstrip = lstrip};
    render(v, id, render_special, &s);
    *n_out = s.n;
    if (s.n > s.cap)
        return mote_fail(MOTE_E_RANGE, "token_to_piece: token %d needs %zu bytes, buffer has %zu",
                         id, s.n, cap);
    return MOTE_OK;
}

/* ------------------------------------------------------------------------
 * A sequence
 * ---------------------------------------------------------------------- */

/* llama.cpp's clean_up_tokenization_spaces: " ?" " !" " ." " ," lose the
 * space, " ' " becomes "'", and " 's" " 'm" " 're" " 've" lose the space. */
static size_t clean_spaces(char *t, size_t n)
{
    size_t o = n ? 1 : 0;
    for (size_t i = 1; i < n; i++) {
        char x = t[i];
        if (t[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) o--;
        t[o++] = x;
    }
    n = o;
    o = n ? 1 : 0;
    for (size_t i = 1; i < n; i++) {
        char x = t[i];
        if (x == '\'' && i + 1 < n && t[i - 1] == ' ' && t[i + 1] == ' ') {
            o--;
            t[++i] = '\0';
        }
        t[o++] = x;
    }
    n = o;
    o = n ? 1 : 0;
    for (size_t i = 1; i < n; i++) {
        char x = t[i];
        if (t[i - 1] == ' ' && x == '\'' && i + 1 < n) {
            char x1 = t[i + 1];
            if (x1 == 's' || x1 == 'm') {
                o--;
            } else if (i + 2 < n && ((x1 == 'r' && t[i + 2] == 'e') || (x1 == 'v' && t[i + 2] == 'e'))) {
                o--;
            }
        }
        t[o++] = x;
    }
    return o;
}

mote_status vocab_detokenize(const struct vocab *v, const int32_t *toks, size_t n, bool render_special,
                             char **out, size_t *out_len)
{
    *out = NULL;
    if (!toks && n > 0) return mote_fail(MOTE_E_INVALID, "detokenize: tokens are NULL");
    for (size_t i = 0; i < n; i++)
        if (!vocab_valid(v, toks[i]))
            return mote_fail(MOTE_E_INVALID, "detokenize: token %zu is %d, out of range [0, %d)", i,
                             toks[i], v->n_tokens);

    /* Two passes: measure, then write. */
    size_t total = 0;
    char *buf = NULL;
    for (int pass = 0; pass < 2; pass++) {
        sink s = {.buf = buf, .cap = buf ? total : 0};
        /* The space SentencePiece prefixed to the text belongs to the first
         * token after a leading BOS. */
        int strip = v->add_space_prefix;
        for (size_t i = 0; i < n; i++) {
            if (i == 0 && toks[0] == v->bos) {
                render(v, toks[0], render_special, &s);
                continue;
            }
            s.lstrip = strip;
            render(v, toks[i], render_special, &s);
            s.lstrip = 0;
            strip = 0;
        }
        if (pass == 0) {
            total = s.n;
            buf = malloc(total + 1);
            if (!buf) return mote_fail(MOTE_E_NOMEM, "detokenize: %zu bytes", total + 1);
        }
    }
    if (v->clean_spaces) total = clean_spaces(buf, total);
    buf[total] = '\0';
    *out = buf;
    if (out_len) *out_len = total;
    return MOTE_OK;
}
