/*
 * tok_ugm.c — Unigram tokenizing (tokenizer.ggml.model = "t5": T5, XLM-R)
 * as llama.cpp does it, after SentencePiece.
 *
 * Normalise first: user-defined tokens pass unchanged; otherwise the
 * longest prefix found in the precompiled charsmap (SentencePiece's
 * normalisation rules as an XOR-compressed double array) is replaced by its
 * replacement string; spaces become U+2581 and runs of them collapse. Then
 * Viterbi over the normalised bytes picks the segmentation with the highest
 * total score (token log-probabilities; user-defined tokens score 0; a
 * character no token covers costs the lowest score minus 10 as [UNK]).
 */
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "engine/tok_internal.h"
#include "engine/tok_unicode.h"

#define UGM_UNKNOWN_PENALTY 10.0f   /* [UNK] scores this far below the worst token */
#define ESCAPED_SPACE "\xE2\x96\x81" /* U+2581 */
#define KEY_CHARSMAP "tokenizer.ggml.precompiled_charsmap"

struct ugm_data {
    uint32_t *xcda;     /* double-array trie nodes (host order) */
    size_t n_xcda;
    char *repl;         /* NUL-terminated replacement strings */
    size_t n_repl;
    double unk_score;   /* score of an [UNK] character */
    size_t max_user_len; /* longest USER_DEFINED token text */
};

/* Tokens the Viterbi search may use. */
#define UGM_USABLE (TOKEN_ATTR_NORMAL | TOKEN_ATTR_USER_DEFINED | TOKEN_ATTR_UNUSED)

void ugm_free(struct ugm_data *u)
{
    if (!u) return;
    free(u->xcda);
    free(u->repl);
    free(u);
}

static mote_status read_charsmap(struct ugm_data *u, const gguf_file *f)
{
    const gguf_kv *kv = gguf_find_kv(f, KEY_CHARSMAP);
    if (!kv) return MOTE_OK;
    if (kv->type != GGUF_TYPE_ARRAY || (kv->arr_type != GGUF_TYPE_UINT8 && kv->arr_type != GGUF_TYPE_INT8))
        return mote_fail(MOTE_E_FORMAT, "tokenizer: %s: " KEY_CHARSMAP " is not an array of bytes", f->path);
    const uint8_t *p = kv->arr_data;
    uint64_t n = kv->arr_n;
    if (n < 4) return mote_fail(MOTE_E_FORMAT, "tokenizer: %s: " KEY_CHARSMAP " is too short", f->path);
    uint64_t blob = (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24;
    if (blob + 4 >= n || blob % 4 != 0)
        return mote_fail(MOTE_E_FORMAT, "tokenizer: %s: " KEY_CHARSMAP " trie of %llu bytes in %llu",
                         f->path, (unsigned long long)blob, (unsigned long long)n);
    u->n_xcda = (size_t)(blob / 4);
    u->n_repl = (size_t)(n - 4 - blob);
    u->xcda = malloc(u->n_xcda * sizeof *u->xcda);
    u->repl = malloc(u->n_repl);
    if (!u->xcda || !u->repl) return mote_fail(MOTE_E_NOMEM, "tokenizer: charsmap");
    for (size_t i = 0; i < u->n_xcda; i++) {
        const uint8_t *q = p + 4 + 4 * i;
        u->xcda[i] = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
    }
    memcpy(u->repl, p + 4 + blob, u->n_repl);
    return MOTE_OK;
}

mote_status ugm_init(struct vocab *v, const gguf_file *f)
{
    struct ugm_data *u = calloc(1, sizeof *u);
    if (!u) return mote_fail(MOTE_E_NOMEM, "tokenizer: unigram data");
    v->ugm = u;
    MOTE_TRY(read_charsmap(u, f));
    float min_score = FLT_MAX;
    for (int32_t i = 0; i < v->n_tokens; i++) {
        const struct vocab_token *t = &v->tokens[i];
        if ((t->attr & TOKEN_ATTR_NORMAL) && t->score < min_score) min_score = t->score;
        if ((t->attr & TOKEN_ATTR_USER_DEFINED) && t->len > u->max_user_len) u->max_user_len = t->len;
    }
    u->unk_score = (double)(min_score - UGM_UNKNOWN_PENALTY);
    return MOTE_OK;
}

/* ------------------------------------------------------------------------
 * Normalisation
 * ---------------------------------------------------------------------- */

/* XCDA node fields (Kanda 2018, as packed by SentencePiece). */
static uint32_t node_base(uint32_t x) { return (x >> 10) << ((x & (1u << 9)) >> 6); }
static uint32_t node_check(uint32_t x) { return x & ((1u << 31) | 0xFF); }
static int node_leaf(uint32_t x) { return (x >> 8) & 1; }
static uint32_t node_value(uint32_t x) { return x & ((1u << 31) - 1); }

/* Length of the longest user-defined token at s[0..n), or 0. */
static size_t user_prefix(const struct vocab *v, const char *s, size_t n)
{
    size_t max = n < v->ugm->max_user_len ? n : v->ugm->max_user_len, best = 0;
    uint64_t h = STRMAP_FNV_OFFSET;
    for (size_t k = 1; k <= max; k++) {
        h = strmap_hash_step(h, (unsigned char)s[k - 1]);
        int32_t id = strmap_get_hashed(&v->ids, s, k, h);
        if (id != TOKEN_NONE && (v->tokens[id].attr & TOKEN_ATTR_USER_DEFINED)) best = k;
    }
    return best;
}

/* The normalised form of the longest rule at s[0..n) (out, out_n), and the
 * input bytes it consumes (used). */
static mote_status normalize_prefix(const struct vocab *v, const char *s, size_t n, const char **out,
                                    size_t *out_n, size_t *used)
{
    const struct ugm_data *u = v->ugm;
    size_t k = user_prefix(v, s, n);
    if (k > 0) {
        *out = s;
        *out_n = *used = k;
        return MOTE_OK;
    }
    size_t best_len = 0, best_off = 0;
    if (u->n_xcda > 0) {
        uint32_t node = node_base(u->xcda[0]);
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)s[i];
            if (c == 0) break;
            node ^= c;
            if (node >= u->n_xcda || node_check(u->xcda[node]) != c) break;
            int leaf = node_leaf(u->xcda[node]);
            node ^= node_base(u->xcda[node]);
            if (node >= u->n_xcda) break;
            if (leaf) {
                best_len = i + 1;
                best_off = node_value(u->xcda[node]);
            }
        }
    }
    if (best_len > 0) {
        if (best_off >= u->n_repl || !memchr(u->repl + best_off, 0, u->n_repl - best_off))
            return mote_fail(MOTE_E_FORMAT, "tokenizer: " KEY_CHARSMAP ": replacement %zu is out of "
                             "bounds or unterminated", best_off);
        *out = u->repl + best_off;
        *out_n = strlen(*out);
        *used = best_len;
        return MOTE_OK;
    }
    uint32_t cpt;
    size_t len = utf8_decode_lax(s, n, &cpt);
    if (len > 0) {
        *out = s;
        *out_n = *used = len;
    } else {
        *out = "\xEF\xBF\xBD"; /* U+FFFD for an invalid byte */
        *out_n = 3;
        *used = 1;
    }
    return MOTE_OK;
}

typedef struct strbuf {
    char *s;
    size_t n, cap;
} strbuf;

static mote_status sb_put(strbuf *b, const char *p, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 256;
        while (cap < b->n + n + 1) cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) return mote_fail(MOTE_E_NOMEM, "tokenizer: %zu bytes", cap);
        b->s = s;
        b->cap = cap;
    }
    memcpy(b->s + b->n, p, n);
    b->n += n;
    b->s[b->n] = '\0';
    return MOTE_OK;
}

static mote_status normalize(const struct vocab *v, const char *text, size_t n, strbuf *out)
{
    const char *space = v->escape_whitespace ? ESCAPED_SPACE : " ";
    size_t space_len = strlen(space);
    bool prepend = !v->treat_whitespace_as_suffix && v->add_space_prefix;
    bool append = v->treat_whitespace_as_suffix && v->add_space_prefix;
    bool merge = v->remove_extra_whitespace;
    bool prepended = false, in_word = false;
    for (size_t off = 0; off < n;) {
        const char *p = NULL;
        size_t pn = 0, used = 1;
        MOTE_TRY(normalize_prefix(v, text + off, n - off, &p, &pn, &used));
        for (size_t i = 0; i < pn; i++) {
            if (p[i] != ' ') {
                if (!in_word) {
                    in_word = true;
                    if ((prepend && !prepended) || merge) {
                        MOTE_TRY(sb_put(out, space, space_len));
                        prepended = true;
                    }
                }
                MOTE_TRY(sb_put(out, p + i, 1));
            } else {
                in_word = false;
                if (!merge) MOTE_TRY(sb_put(out, space, space_len));
            }
        }
        off += used;
    }
    if (append) MOTE_TRY(sb_put(out, space, space_len));
    return MOTE_OK;
}

/* ------------------------------------------------------------------------
 * Viterbi
 * ---------------------------------------------------------------------- */

typedef struct best {
    int32_t id;     /* last token of the best segmentation ending here */
    size_t from;    /* where that token starts */
    double score;   /* total score of that segmentation */
} best;

static mote_status viterbi(const struct vocab *v, const char *s, size_t n, tokbuf *out)
{
    best *b = malloc((n + 1) * sizeof *b);
    if (!b) return mote_fail(MOTE_E_NOMEM, "tokenizer: unigram lattice of %zu", n + 1);
    for (size_t i = 0; i <= n; i++) b[i] = (best){v->unk, 0, -DBL_MAX};
    b[0].score = 0;
    for (size_t off = 0; off < n;) {
        size_t units = utf8_seq_len((unsigned char)s[off]);
        if (units > n - off) units = n - off;
        size_t max = n - off < v->max_token_len ? n - off : v->max_token_len;
        bool whole_char = false;
        uint64_t h = STRMAP_FNV_OFFSET;
        for (size_t k = 1; k <= max; k++) {
            h = strmap_hash_step(h, (unsigned char)s[off + k - 1]);
            int32_t id = strmap_get_hashed(&v->ids, s + off, k, h);
            if (id == TOKEN_NONE || !(v->tokens[id].attr & UGM_USABLE)) continue;
            if (k == units) whole_char = true;
            double score = (v->tokens[id].attr & TOKEN_ATTR_USER_DEFINED) ? 0.0 : v->tokens[id].score;
            double total = b[off].score + score;
            if (total > b[off + k].score) b[off + k] = (best){id, off, total};
        }
        if (!whole_char) {
            double total = b[off].score + v->ugm->unk_score;
            if (total > b[off + units].score) b[off + units] = (best){v->unk, off, total};
        }
        off += units;
    }

    /* Walk back from the end; consecutive [UNK]s merge into one. */
    size_t start = out->n;
    mote_status st = MOTE_OK;
    bool prev_unk = false;
    for (size_t at = n; st == MOTE_OK;) {
        const best *t = &b[at];
        bool unk = t->id == v->unk;
        if (!(prev_unk && unk)) {
            st = vocab_valid(v, t->id) ? tokbuf_push(out, t->id)
                                       : tok_unencodable(v, s + t->from, at - t->from, out);
        }
        if (t->from == 0) break;
        prev_unk = unk;
        at = t->from;
    }
    for (size_t i = start, j = out->n; st == MOTE_OK && i + 1 < j; i++, j--) {
        int32_t x = out->ids[i];
        out->ids[i] = out->ids[j - 1];
        out->ids[j - 1] = x;
    }
    free(b);
    return st;
}

mote_status ugm_tokenize(const struct vocab *v, const char *text, size_t n, tokbuf *out)
{
    strbuf norm = {0};
    mote_status st = normalize(v, text, n, &norm);
    if (st == MOTE_OK && norm.n > 0) st = viterbi(v, norm.s, norm.n, out);
    free(norm.s);
    return st;
}
