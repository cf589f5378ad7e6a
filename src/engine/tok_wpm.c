/*
 * tok_wpm.c — WordPiece (tokenizer.ggml.model = "bert") as llama.cpp does it.
 *
 * BERT's normaliser first: decompose (NFD) and drop accents, lowercase,
 * drop control characters, split at whitespace, and make every punctuation
 * mark, ASCII symbol and CJK ideograph a word of its own. Then each word,
 * prefixed with U+2581 (the GGUF converter spells word-initial pieces with
 * it and continuation pieces without "##"), is cut greedily into the longest
 * tokens from the left; a word with any uncuttable rest becomes [UNK].
 *
 * Differences from llama.cpp, where it is wrong and HF right: decomposition
 * is the full NFD from utf8proc (llama.cpp keeps only the first code point
 * of a decomposition, which loses Hangul vowels).
 */
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "engine/tok_internal.h"
#include "engine/tok_unicode.h"

#define WPM_PREFIX "\xE2\x96\x81" /* U+2581, marks a word's first piece */
#define WPM_PREFIX_LEN 3
#define NFD_MAX 8 /* longest canonical decomposition is 4 code points */

/* The CJK ideograph blocks BERT isolates (its _is_chinese_char; the sixth
 * range starts at 0x2B920 as in HF's Rust port, not at 0x2B820). */
static int is_cjk_ideograph(uint32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
           (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* ------------------------------------------------------------------------
 * Normalising into words
 * ---------------------------------------------------------------------- */

/* Words, each stored as WPM_PREFIX + text in one buffer. */
typedef struct words {
    char *buf;
    size_t len, cap;
    size_t *start; /* start of each word (at its prefix) */
    size_t n, cap_start;
    int open;      /* the last word is still being appended to */
} words;

static mote_status buf_append(words *w, const char *s, size_t n)
{
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 256;
        while (cap < w->len + n) cap *= 2;
        char *b = realloc(w->buf, cap);
        if (!b) return mote_fail(MOTE_E_NOMEM, "tokenizer: %zu bytes of words", cap);
        w->buf = b;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    return MOTE_OK;
}

static mote_status word_begin(words *w)
{
    if (w->n == w->cap_start) {
        size_t cap = w->cap_start ? 2 * w->cap_start : 32;
        size_t *v = realloc(w->start, cap * sizeof *v);
        if (!v) return mote_fail(MOTE_E_NOMEM, "tokenizer: %zu words", cap);
        w->start = v;
        w->cap_start = cap;
    }
    w->start[w->n++] = w->len;
    w->open = 1;
    return buf_append(w, WPM_PREFIX, WPM_PREFIX_LEN);
}

static mote_status word_add(words *w, uint32_t cpt)
{
    char u[4];
    if (!w->open) MOTE_TRY(word_begin(w));
    return buf_append(w, u, utf8_encode(cpt, u));
}

static mote_status normalize_cpt(const struct vocab *v, uint32_t cpt, words *w)
{
    unsigned f = uni_flags(cpt);
    if (f & UNI_WHITESPACE) {
        w->open = 0;
        return MOTE_OK;
    }
    if (cpt == 0 || cpt == UNI_REPLACEMENT || (f & UNI_CONTROL)) return MOTE_OK;
    if (v->strip_accents && (f & UNI_MARK)) return MOTE_OK;
    uint32_t c = v->lowercase ? uni_tolower(cpt) : cpt;
    if ((f & UNI_PUNCT) || (cpt < 0x7F && (f & UNI_SYMBOL)) || is_cjk_ideograph(cpt)) {
        MOTE_TRY(word_begin(w));
        MOTE_TRY(word_add(w, c));
        w->open = 0;
        return MOTE_OK;
    }
    return word_add(w, c);
}

static mote_status normalize(const struct vocab *v, const char *text, size_t n, words *w)
{
    for (size_t i = 0; i < n;) {
        uint32_t cpt;
        size_t len = utf8_decode_lax(text + i, n - i, &cpt);
        if (len == 0) {
            cpt = UNI_REPLACEMENT;
            len = 1;
        }
        i += len;
        uint32_t parts[NFD_MAX];
        size_t n_parts = v->strip_accents ? uni_nfd(cpt, parts, NFD_MAX) : 0;
        if (n_parts == 0) {
            parts[0] = cpt;
            n_parts = 1;
        }
        for (size_t k = 0; k < n_parts; k++) MOTE_TRY(normalize_cpt(v, parts[k], w));
    }
    return MOTE_OK;
}

/* ------------------------------------------------------------------------
 * Greedy longest match
 * ---------------------------------------------------------------------- */

static mote_status wpm_word(const struct vocab *v, const char *w, size_t n, uint64_t *hash,
                            tokbuf *out)
{
    size_t mark = out->n;
    for (size_t i = 0; i < n;) {
        size_t max = n - i < v->max_token_len ? n - i : v->max_token_len;
        uint64_t h = STRMAP_FNV_OFFSET;
        for (size_t k = 0; k < max; k++) hash[k] = h = strmap_hash_step(h, (unsigned char)w[i + k]);
        size_t k = max;
        int32_t id = TOKEN_NONE;
        for (; k > 0; k--) {
            id = strmap_get_hashed(&v->ids, w + i, k, hash[k - 1]);
            if (id != TOKEN_NONE) break;
        }
        if (id == TOKEN_NONE) {
            out->n = mark; /* the whole word is unknown */
            break;
        }
        MOTE_TRY(tokbuf_push(out, id));
        i += k;
    }
    if (out->n == mark) return tok_unencodable(v, w + WPM_PREFIX_LEN, n - WPM_PREFIX_LEN, out);
    return MOTE_OK;
}

mote_status wpm_tokenize(const struct vocab *v, const char *text, size_t n, tokbuf *out)
{
    words w = {0};
    uint64_t *hash = malloc((v->max_token_len + 1) * sizeof *hash);
    mote_status st = hash ? normalize(v, text, n, &w)
                          : mote_fail(MOTE_E_NOMEM, "tokenizer: WordPiece scratch");
    for (size_t i = 0; st == MOTE_OK && i < w.n; i++) {
        size_t end = i + 1 < w.n ? w.start[i + 1] : w.len;
        st = wpm_word(v, w.buf + w.start[i], end - w.start[i], hash, out);
    }
    free(hash);
    free(w.buf);
    free(w.start);
    return st;
}
