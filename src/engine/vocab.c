/*
 * vocab.c — building a vocabulary from tokenizer.ggml.* (see vocab.h).
 *
 * Loading copies the token texts into one arena and indexes them in a hash
 * table; BPE merges are copied, and indexed by the ids of their halves on
 * first use (vocab_merges.c). Everything is linear in the vocabulary size,
 * and bound by memory latency.
 */
#include "engine/vocab.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "engine/tok_internal.h"
#include "engine/tok_pretok.h"
#include "engine/tok_unicode.h"
#include "engine/vocab_merges.h"
#include "engine/vocab_special.h"

#define KEY_MODEL "tokenizer.ggml.model"
#define KEY_PRE "tokenizer.ggml.pre"
#define KEY_TOKENS "tokenizer.ggml.tokens"
#define KEY_SCORES "tokenizer.ggml.scores"
#define KEY_TOKEN_TYPE "tokenizer.ggml.token_type"
#define KEY_ADD_SPACE_PREFIX "tokenizer.ggml.add_space_prefix"
#define KEY_REMOVE_EXTRA_WS "tokenizer.ggml.remove_extra_whitespaces"

#define PREFETCH_AHEAD 16 /* keys between a slot's prefetch and its use */

/* ------------------------------------------------------------------------
 * Type and per-type defaults (llama.cpp's llama_vocab::impl::load)
 * ---------------------------------------------------------------------- */

static void set_specials(struct vocab *v, int32_t bos, int32_t eos, int32_t unk, int32_t sep,
                         int32_t pad, int32_t mask)
{
    v->bos = bos;
    v->eos = eos;
    v->unk = unk;
    v->sep = sep;
    v->pad = pad;
    v->mask = mask;
}

static mote_status read_type(struct vocab *v, const gguf_file *f)
{
    gguf_str model, pre;
    MOTE_TRY(gguf_get_str(f, KEY_MODEL, &model));
    MOTE_TRY(gguf_get_str_or_empty(f, KEY_PRE, &pre));
    v->model = strndup(model.ptr, model.len);
    v->pre = strndup(pre.ptr ? pre.ptr : "", pre.len);
    if (!v->model || !v->pre) return mote_fail(MOTE_E_NOMEM, "tokenizer: names");

    v->eot = v->eom = TOKEN_NONE;
    v->fim_pre = v->fim_suf = v->fim_mid = v->fim_pad = v->fim_rep = v->fim_sep = TOKEN_NONE;
    v->escape_whitespace = true;

    const char *m = v->model;
    if (strcmp(m, "llama") == 0) {
        v->type = VOCAB_SPM;
        set_specials(v, 1, 2, 0, TOKEN_NONE, TOKEN_NONE, TOKEN_NONE);
        v->add_space_prefix = true;
        v->add_bos = true;
    } else if (strcmp(m, "bert") == 0) {
        v->type = VOCAB_WPM;
        set_specials(v, 101, TOKEN_NONE, 100, 102, 0, 103);
        v->add_bos = true;
        v->add_sep = true;
        v->clean_spaces = true;
    } else if (strcmp(m, "gpt2") == 0 || strcmp(m, "gemma4") == 0) {
        v->type = VOCAB_BPE;
        if (strcmp(m, "gpt2") == 0) {
            set_specials(v, 11, 11, TOKEN_NONE, TOKEN_NONE, TOKEN_NONE, TOKEN_NONE);
        } else {
            set_specials(v, TOKEN_NONE, TOKEN_NONE, TOKEN_NONE, TOKEN_NONE, TOKEN_NONE, TOKEN_NONE);
            free(v->pre); /* Gemma 4 files may lack the key: the model implies it */
            v->pre = strdup("gemma4");
            if (!v->pre) return mote_fail(MOTE_E_NOMEM, "tokenizer: names");
        }
        v->escape_whitespace = false;
        v->clean_spaces = true;
        v->byte_encode = true;
        unsigned flags;
        MOTE_TRY(pretok_create(v->pre, &v->pretok, &flags));
        v->pretok_flags = flags;
        v->ignore_merges = flags & PRE_IGNORE_MERGES;
        if (flags & PRE_NO_CLEAN) v->clean_spaces = false;
        if (flags & PRE_ADD_BOS) v->add_bos = true;
        if (flags & PRE_NO_BOS) v->bos = TOKEN_NONE;
        if (flags & PRE_ADD_SEP) v->add_sep = true;
        if (flags & PRE_RAW_UTF8) {
            v->escape_whitespace = true;
            v->byte_encode = false;
        }
    } else if (strcmp(m, "t5") == 0) {
        v->type = VOCAB_UGM;
        set_specials(v, TOKEN_NONE, 1, 2, TOKEN_NONE, 0, TOKEN_NONE);
        v->add_eos = true;
    } else if (strcmp(m, "no_vocab") == 0 || strcmp(m, "none") == 0) {
        return mote_fail(MOTE_E_UNSUPPORTED, "tokenizer: the file has no vocabulary (" KEY_MODEL " = '%s')", m);
    } else {
        return mote_fail(MOTE_E_UNSUPPORTED, "tokenizer: unsupported " KEY_MODEL " '%s' "
                         "(mote knows llama, gpt2, gemma4, bert, t5)", m);
    }

    bool b;
    MOTE_TRY(gguf_get_bool_or(f, KEY_ADD_SPACE_PREFIX, v->add_space_prefix, &b));
    v->add_space_prefix = b;
    MOTE_TRY(gguf_get_bool_or(f, KEY_REMOVE_EXTRA_WS, v->remove_extra_whitespace, &b));
    v->remove_extra_whitespace = b;
    return MOTE_OK;
}

/* ------------------------------------------------------------------------
 * Tokens
 * ---------------------------------------------------------------------- */

static uint32_t attr_of_type(int64_t type)
{
    switch (type) {
    case TOKEN_TYPE_UNKNOWN: return TOKEN_ATTR_UNKNOWN;
    case TOKEN_TYPE_UNUSED: return TOKEN_ATTR_UNUSED;
    case TOKEN_TYPE_NORMAL: return TOKEN_ATTR_NORMAL;
    case TOKEN_TYPE_CONTROL: return TOKEN_ATTR_CONTROL;
    case TOKEN_TYPE_USER_DEFINED: return TOKEN_ATTR_USER_DEFINED;
    case TOKEN_TYPE_BYTE: return TOKEN_ATTR_BYTE;
    default: return TOKEN_ATTR_UNDEFINED;
    }
}

/* An optional per-token array: absent, or exactly one entry per token. */
static mote_status per_token_array(const gguf_file *f, const char *key, int32_t n, int want_float,
                                   const gguf_kv **out)
{
    *out = gguf_find_kv(f, key);
    const gguf_kv *kv = *out;
    if (!kv) return MOTE_OK;
    bool numeric = kv->type == GGUF_TYPE_ARRAY && kv->arr_type != GGUF_TYPE_STRING &&
                   kv->arr_type != GGUF_TYPE_BOOL;
    bool is_float = numeric && (kv->arr_type == GGUF_TYPE_FLOAT32 || kv->arr_type == GGUF_TYPE_FLOAT64);
    if (!numeric || (!want_float && is_float))
        return mote_fail(MOTE_E_FORMAT, "tokenizer: %s: %s has type %s, expected an array of %s",
                         f->path, key, gguf_type_name(kv->type == GGUF_TYPE_ARRAY ? kv->arr_type : kv->type),
                         want_float ? "numbers" : "integers");
    if (kv->arr_n != (uint64_t)n)
        return mote_fail(MOTE_E_FORMAT, "tokenizer: %s: %s has %llu entries for %d tokens", f->path,
                         key, (unsigned long long)kv->arr_n, n);
    return MOTE_OK;
}

/* Token i's score as a float: NaN is refused (it has no order, and the
 * tokenizers rank by it); infinities and values past float's range
 * become its largest finite values, which rank the same. */
static mote_status token_score(const gguf_file *f, const gguf_kv *scores, int32_t i, float *out)
{
    double s = gguf_arr_float(scores, (uint64_t)i);
    if (isnan(s))
        return mote_fail(MOTE_E_FORMAT, "tokenizer: %s: " KEY_SCORES "[%d] is NaN", f->path, i);
    *out = s > FLT_MAX ? FLT_MAX : s < -FLT_MAX ? -FLT_MAX : (float)s;
    return MOTE_OK;
}

static mote_status read_tokens(struct vocab *v, const gguf_file *f)
{
    const gguf_kv *toks, *scores, *types;
    MOTE_TRY(gguf_get_arr(f, KEY_TOKENS, GGUF_TYPE_STRING, &toks));
    if (toks->arr_n == 0 || toks->arr_n > INT32_MAX)
        return mote_fail(MOTE_E_FORMAT, "tokenizer: %s: " KEY_TOKENS " has %llu tokens", f->path,
                         (unsigned long long)toks->arr_n);
    int32_t n = (int32_t)toks->arr_n;
    MOTE_TRY(per_token_array(f, KEY_SCORES, n, 1, &scores));
    MOTE_TRY(per_token_array(f, KEY_TOKEN_TYPE, n, 0, &types));

    /* Empty texts become "[EMPTY_<id>]" as in llama.cpp. */
    char empty[32];
    uint64_t total = 0;
    for (int32_t i = 0; i < n; i++) {
        uint64_t len = toks->arr_strs[i].len;
        if (len == 0) len = (uint64_t)snprintf(empty, sizeof empty, "[EMPTY_%d]", i);
        total += len + 1;
    }
    if (total > UINT32_MAX)
        return mote_fail(MOTE_E_FORMAT, "tokenizer: %s: token texts total %llu bytes", f->path,
                         (unsigned long long)total);

    v->n_tokens = n;
    v->tokens = calloc((size_t)n, sizeof *v->tokens);
    v->text = malloc((size_t)total);
    if (!v->tokens || !v->text) return mote_fail(MOTE_E_NOMEM, "tokenizer: %d tokens", n);
    MOTE_TRY(strmap_init(&v->ids, (size_t)n));

    uint32_t off = 0;
    for (int32_t i = 0; i < n; i++) {
        gguf_str s = toks->arr_strs[i];
        struct vocab_token *t = &v->tokens[i];
        size_t len = s.len;
        if (len) {
            memcpy(v->text + off, s.ptr, len);
        } else {
            len = (size_t)snprintf(empty, sizeof empty, "[EMPTY_%d]", i);
            memcpy(v->text + off, empty, len);
        }
        v->text[off + len] = '\0';
        t->off = off;
        t->len = (uint32_t)len;
        if (scores) MOTE_TRY(token_score(f, scores, i, &t->score));
        int64_t type = TOKEN_TYPE_NORMAL;
        if (types) MOTE_TRY(gguf_arr_get_int(f, types, (uint64_t)i, INT32_MIN, INT32_MAX, &type));
        t->attr = attr_of_type(type);
        off += (uint32_t)len + 1;
        if (len > v->max_token_len) v->max_token_len = len;
    }

    /* Index the texts, prefetching slots a few tokens ahead (see strmap.h). */
    uint64_t *hash = malloc((size_t)n * sizeof *hash);
    if (!hash) return mote_fail(MOTE_E_NOMEM, "tokenizer: %d hashes", n);
    for (int32_t i = 0; i < n; i++) hash[i] = strmap_hash(vocab_text(v, i), v->tokens[i].len);
    mote_status st = MOTE_OK;
    for (int32_t i = 0; st == MOTE_OK && i < n; i++) {
        if (i + PREFETCH_AHEAD < n) strmap_prefetch(&v->ids, hash[i + PREFETCH_AHEAD]);
        int32_t prev;
        size_t len = v->tokens[i].len;
        st = strmap_put_hashed(&v->ids, vocab_text(v, i), len, hash[i], i, &prev);
        if (st == MOTE_OK && prev != -1)
            st = mote_fail(MOTE_E_FORMAT, "tokenizer: %s: duplicate token text '%.*s' (ids %d and %d)",
                           f->path, (int)(len < 64 ? len : 64), vocab_text(v, i), prev, i);
    }
    free(hash);
    return st;
}

/* ------------------------------------------------------------------------
 * Byte fallback tokens
 * ---------------------------------------------------------------------- */

static void find_byte_tokens(struct vocab *v)
{
    for (int b = 0; b < 256; b++) {
        char hex[8], one = (char)b;
        snprintf(hex, sizeof hex, "<0x%02X>", b);
        uint32_t cpt = bytelevel_cpt((unsigned char)b);
        v->bytelevel_len[b] = (unsigned char)utf8_encode(cpt, v->bytelevel[b]);
        int32_t id = TOKEN_NONE;
        if (v->type == VOCAB_BPE && v->byte_encode) {
            id = vocab_find(v, v->bytelevel[b], v->bytelevel_len[b]);
        } else if (v->type != VOCAB_WPM) {
            id = vocab_find(v, hex, 6);
            if (id == TOKEN_NONE && v->type != VOCAB_BPE) id = vocab_find(v, &one, 1);
        }
        v->byte_token[b] = id;
    }
}

/* ------------------------------------------------------------------------
 * Load / free
 * ---------------------------------------------------------------------- */

static mote_status load(struct vocab *v, const gguf_file *f)
{
    MOTE_TRY(read_type(v, f));
    MOTE_TRY(read_tokens(v, f));
    if (v->type == VOCAB_BPE) MOTE_TRY(merges_load(v, f));
    find_byte_tokens(v);
    MOTE_TRY(vocab_read_specials(v, f));
    if (v->type == VOCAB_UGM) MOTE_TRY(ugm_init(v, f));
    return MOTE_OK;
}

mote_status vocab_load(const gguf_file *f, struct vocab **out)
{
    *out = NULL;
    if (!f) return mote_fail(MOTE_E_INVALID, "vocab_load: no file");
    struct vocab *v = calloc(1, sizeof *v);
    if (!v) return mote_fail(MOTE_E_NOMEM, "tokenizer: vocabulary");
    mote_status st = load(v, f);
    if (st != MOTE_OK) {
        vocab_free(v);
        return st;
    }
    *out = v;
    return MOTE_OK;
}

void vocab_free(struct vocab *v)
{
    if (!v) return;
    free(v->model);
    free(v->pre);
    free(v->tokens);
    free(v->text);
    strmap_free(&v->ids);
    merges_free(v->merges);
    pretok_free(v->pretok);
    ugm_free(v->ugm);
    free(v->eog);
    free(v->special);
    free(v->warnings);
    free(v);
}

bool vocab_is_eog(const struct vocab *v, int32_t id)
{
    size_t lo = 0, hi = v->n_eog;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v->eog[mid] == id) return true;
        if (v->eog[mid] < id) lo = mid + 1;
        else hi = mid;
    }
    return false;
}

size_t vocab_bytes(const struct vocab *v)
{
    if (!v) return 0;
    size_t b = sizeof *v + (size_t)v->n_tokens * sizeof *v->tokens;
    if (v->n_tokens > 0) b += v->tokens[v->n_tokens - 1].off + v->tokens[v->n_tokens - 1].len + 1;
    if (v->ids.slots) b += (v->ids.mask + 1) * sizeof *v->ids.slots;
    b += merges_bytes(v->merges);
    b += (v->n_eog + v->n_special) * sizeof(int32_t);
    return b; /* the pre-tokenizer's and Unigram's tables are not counted */
}
