/*
 * vocab_special.c — special tokens (see vocab_special.h).
 *
 * Where llama.cpp walks its unordered token map and takes whichever
 * matching text it meets first, mote takes the first text of each list
 * that the vocabulary has, so the choice is deterministic.
 */
#include "engine/vocab_special.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"

/* ------------------------------------------------------------------------
 * Ids from the file
 * ---------------------------------------------------------------------- */

/* Append one line to v->warnings. */
static mote_status add_warning(struct vocab *v, const char *line)
{
    size_t old = v->warnings ? strlen(v->warnings) : 0, n = strlen(line);
    char *w = realloc(v->warnings, old + n + 2);
    if (!w) return mote_fail(MOTE_E_NOMEM, "tokenizer: out of memory");
    memcpy(w + old, line, n);
    memcpy(w + old + n, "\n", 2);
    v->warnings = w;
    return MOTE_OK;
}

/* A *_token_id key over *id (the type's default). Ids outside the
 * vocabulary (e.g. 4294967295 for "none") leave the default, and a default
 * outside the vocabulary means no such token, as in llama.cpp; such an id is
 * recorded in v->warnings (llama.cpp logs it), since a model whose BOS or
 * EOS silently changed generates differently. */
static mote_status read_id(struct vocab *v, const gguf_file *f, const char *key, int32_t *id)
{
    if (*id >= v->n_tokens) *id = TOKEN_NONE;
    const gguf_kv *kv = gguf_find_kv(f, key);
    if (!kv) return MOTE_OK;
    int64_t x;
    switch (kv->type) {
    case GGUF_TYPE_UINT8: case GGUF_TYPE_UINT16: case GGUF_TYPE_UINT32: case GGUF_TYPE_UINT64:
        x = kv->v.u64 > INT32_MAX ? -1 : (int64_t)kv->v.u64;
        break;
    case GGUF_TYPE_INT8: case GGUF_TYPE_INT16: case GGUF_TYPE_INT32: case GGUF_TYPE_INT64:
        x = kv->v.i64;
        break;
    default:
        return mote_fail(MOTE_E_FORMAT, "tokenizer: %s: %s has type %s, expected an integer", f->path,
                         key, gguf_type_name(kv->type));
    }
    if (x >= 0 && x < v->n_tokens) {
        *id = (int32_t)x;
        return MOTE_OK;
    }
    /* -1 is how files say "none" (converters write it as u32 4294967295):
     * not worth a warning. (i64 and u64 share storage: -1 is UINT64_MAX.) */
    if (kv->v.i64 == -1 || (kv->type == GGUF_TYPE_UINT32 && kv->v.u64 == UINT32_MAX)) return MOTE_OK;
    char line[192], dflt[32] = "none";
    if (*id != TOKEN_NONE) snprintf(dflt, sizeof dflt, "the default %d", (int)*id);
    if (kv->type == GGUF_TYPE_INT8 || kv->type == GGUF_TYPE_INT16 || kv->type == GGUF_TYPE_INT32 ||
        kv->type == GGUF_TYPE_INT64)
        snprintf(line, sizeof line, "%s %lld is outside the vocabulary (%d tokens); ignored, using %s", key,
                 (long long)kv->v.i64, (int)v->n_tokens, dflt);
    else
        snprintf(line, sizeof line, "%s %llu is outside the vocabulary (%d tokens); ignored, using %s", key,
                 (unsigned long long)kv->v.u64, (int)v->n_tokens, dflt);
    return add_warning(v, line);
}

static mote_status read_ids(struct vocab *v, const gguf_file *f)
{
    const struct {
        const char *key;
        int32_t *id;
    } keys[] = {
        {"tokenizer.ggml.bos_token_id", &v->bos},
        {"tokenizer.ggml.eos_token_id", &v->eos},
        {"tokenizer.ggml.eot_token_id", &v->eot},
        {"tokenizer.ggml.eom_token_id", &v->eom},
        {"tokenizer.ggml.unknown_token_id", &v->unk},
        {"tokenizer.ggml.seperator_token_id", &v->sep}, /* sic, llama.cpp's spelling */
        {"tokenizer.ggml.padding_token_id", &v->pad},
        {"tokenizer.ggml.mask_token_id", &v->mask},
        {"tokenizer.ggml.fim_pre_token_id", &v->fim_pre},
        {"tokenizer.ggml.fim_suf_token_id", &v->fim_suf},
        {"tokenizer.ggml.fim_mid_token_id", &v->fim_mid},
        {"tokenizer.ggml.fim_pad_token_id", &v->fim_pad},
        {"tokenizer.ggml.fim_rep_token_id", &v->fim_rep},
        {"tokenizer.ggml.fim_sep_token_id", &v->fim_sep},
        {"tokenizer.ggml.prefix_token_id", &v->fim_pre}, /* older names */
        {"tokenizer.ggml.suffix_token_id", &v->fim_suf},
        {"tokenizer.ggml.middle_token_id", &v->fim_mid},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        MOTE_TRY(read_id(v, f, keys[i].key, keys[i].id));
    return MOTE_OK;
}

static mote_status read_flags(struct vocab *v, const gguf_file *f)
{
    bool b;
    MOTE_TRY(gguf_get_bool_or(f, "tokenizer.ggml.add_bos_token", v->add_bos, &b));
    v->add_bos = b;
    MOTE_TRY(gguf_get_bool_or(f, "tokenizer.ggml.add_eos_token", v->add_eos, &b));
    v->add_eos = b;
    MOTE_TRY(gguf_get_bool_or(f, "tokenizer.ggml.add_sep_token", v->add_sep, &b));
    v->add_sep = b;
    /* Gemma 4 files say false, but the model needs its BOS (llama.cpp #21500). */
    if (strcmp(v->pre, "gemma4") == 0) v->add_bos = true;

    const struct {
        bool on;
        int32_t id;
        const char *what;
    } need[] = {{v->add_bos, v->bos, "BOS"}, {v->add_eos, v->eos, "EOS"}, {v->add_sep, v->sep, "SEP"}};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (need[i].on && need[i].id == TOKEN_NONE)
            return mote_fail(MOTE_E_FORMAT, "tokenizer: %s: the vocabulary adds %s but has no %s token",
                             f->path, need[i].what, need[i].what);

    /* BertNormalizer: strip_accents follows lowercase unless given. */
    MOTE_TRY(gguf_get_bool_or(f, "tokenizer.ggml.normalizer.lowercase", true, &b));
    v->lowercase = b;
    MOTE_TRY(gguf_get_bool_or(f, "tokenizer.ggml.normalizer.strip_accents", v->lowercase, &b));
    v->strip_accents = b;
    return MOTE_OK;
}

/* ------------------------------------------------------------------------
 * Recognised token texts
 * ---------------------------------------------------------------------- */

static const char *const EOT_TEXTS[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
    "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>", NULL};
static const char *const EOM_TEXTS[] = {"<|eom_id|>", NULL};
static const char *const FIM_PRE_TEXTS[] = {
    "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>",
    "<|code_prefix|>", "<|prefix|>", NULL};
static const char *const FIM_SUF_TEXTS[] = {
    "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>",
    "<|code_suffix|>", "<|suffix|>", NULL};
static const char *const FIM_MID_TEXTS[] = {
    "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>",
    "<|code_middle|>", "<|middle|>", NULL};
static const char *const FIM_PAD_TEXTS[] = {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]", NULL};
static const char *const FIM_REP_TEXTS[] = {
    "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>", NULL};
static const char *const FIM_SEP_TEXTS[] = {"<|file_sep|>", NULL};
/* Texts that end generation wherever they occur. */
static const char *const EOG_TEXTS[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
    "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
    "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
    "<｜end▁of▁sentence｜>", "[e~[", NULL};
/* gpt-oss: always rendered. */
static const char *const ALWAYS_RENDER_TEXTS[] = {"<|channel|>", "<|message|>", "<|start|>",
                                                  "<|constrain|>", NULL};

static int32_t find_text(const struct vocab *v, const char *s)
{
    return vocab_find(v, s, strlen(s));
}

/* A recognised special token is a control token even if the file says not. */
static void make_control(struct vocab *v, int32_t id)
{
    v->tokens[id].attr |= TOKEN_ATTR_CONTROL;
}

/* If *id is unset, the first of texts the vocabulary has. */
static void recognise(struct vocab *v, int32_t *id, const char *const *texts)
{
    if (*id != TOKEN_NONE) return;
    for (size_t i = 0; texts[i]; i++) {
        int32_t t = find_text(v, texts[i]);
        if (t != TOKEN_NONE) {
            *id = t;
            make_control(v, t);
            return;
        }
    }
}

/* ------------------------------------------------------------------------
 * End-of-generation set
 * ---------------------------------------------------------------------- */

static int cmp_id(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static void eog_add(struct vocab *v, int32_t id)
{
    if (id == TOKEN_NONE) return;
    for (size_t i = 0; i < v->n_eog; i++)
        if (v->eog[i] == id) return;
    v->eog[v->n_eog++] = id;
}

static void eog_remove(struct vocab *v, int32_t id)
{
    for (size_t i = 0; i < v->n_eog; i++)
        if (v->eog[i] == id) v->eog[i--] = v->eog[--v->n_eog];
}

static int eog_has_text(const struct vocab *v, const char *s)
{
    for (size_t i = 0; i < v->n_eog; i++)
        if (strcmp(vocab_text(v, v->eog[i]), s) == 0) return 1;
    return 0;
}

static mote_status build_eog(struct vocab *v)
{
    size_t n_texts = 0;
    while (EOG_TEXTS[n_texts]) n_texts++;
    v->eog = malloc((n_texts + 6) * sizeof *v->eog); /* + fim_pad/rep/sep, eos, eot, eom */
    if (!v->eog) return mote_fail(MOTE_E_NOMEM, "tokenizer: EOG list");
    eog_add(v, v->fim_pad);
    eog_add(v, v->fim_rep);
    eog_add(v, v->fim_sep);
    for (size_t i = 0; EOG_TEXTS[i]; i++) {
        int32_t t = find_text(v, EOG_TEXTS[i]);
        if (t == TOKEN_NONE) continue;
        eog_add(v, t);
        make_control(v, t);
    }
    eog_add(v, v->eos);
    eog_add(v, v->eot);
    eog_add(v, v->eom);

    /* gpt-oss and Solar Open: "<|end|>" ends a message, not generation. */
    bool has_call = eog_has_text(v, "<|call|>") || eog_has_text(v, "<|calls|>");
    int32_t end = find_text(v, "<|end|>");
    if (end != TOKEN_NONE && eog_has_text(v, "<|end|>") && has_call &&
        (eog_has_text(v, "<|return|>") || eog_has_text(v, "<|flush|>"))) {
        eog_remove(v, end);
        v->tokens[end].attr = TOKEN_ATTR_USER_DEFINED;
    }
    /* Gemma 4 (and PaddleOCR): "</s>" is an ordinary token. */
    int32_t s = find_text(v, "</s>");
    if (s != TOKEN_NONE && eog_has_text(v, "</s>") && eog_has_text(v, "<|tool_response>")) {
        eog_remove(v, s);
        v->tokens[s].attr = TOKEN_ATTR_NORMAL;
    }
    qsort(v->eog, v->n_eog, sizeof *v->eog, cmp_id);
    return MOTE_OK;
}

/* ------------------------------------------------------------------------
 * Attributes by model name, and the split order
 * ---------------------------------------------------------------------- */

static int contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && tolower((unsigned char)hay[i]) == needle[i]) i++;
        if (i == n) return 1;
    }
    return 0;
}

static void set_attr(struct vocab *v, const char *text, uint32_t attr, bool on)
{
    int32_t id = find_text(v, text);
    if (id == TOKEN_NONE) return;
    if (on) v->tokens[id].attr |= attr;
    else v->tokens[id].attr &= ~attr;
}

static mote_status model_attrs(struct vocab *v, const gguf_file *f)
{
    gguf_str name, arch;
    MOTE_TRY(gguf_get_str_or_empty(f, "general.name", &name));
    MOTE_TRY(gguf_get_str_or_empty(f, "general.architecture", &arch));
    char *nm = strndup(name.ptr ? name.ptr : "", name.len);
    char *ar = strndup(arch.ptr ? arch.ptr : "", arch.len);
    if (!nm || !ar) {
        free(nm);
        free(ar);
        return mote_fail(MOTE_E_NOMEM, "tokenizer: names");
    }
    if (contains_ci(v->pre, "jina-v2-de") || contains_ci(v->pre, "jina-v2-es") ||
        contains_ci(v->pre, "jina-v2-code") || contains_ci(ar, "nomic-bert-moe") ||
        contains_ci(ar, "jina-bert-v3")) {
        set_attr(v, "<mask>", TOKEN_ATTR_LSTRIP, true);
    } else if (contains_ci(nm, "phi-3") || contains_ci(nm, "phi3")) {
        for (size_t i = 0; i < v->n_special; i++) v->tokens[v->special[i]].attr |= TOKEN_ATTR_RSTRIP;
        set_attr(v, "</s>", TOKEN_ATTR_RSTRIP, true);
        set_attr(v, "<unk>", TOKEN_ATTR_RSTRIP, false);
        set_attr(v, "<s>", TOKEN_ATTR_RSTRIP, false);
        set_attr(v, "<|endoftext|>", TOKEN_ATTR_RSTRIP, false);
    } else if (contains_ci(nm, "modern-bert")) {
        set_attr(v, "[MASK]", TOKEN_ATTR_LSTRIP, true);
    }
    free(nm);
    free(ar);
    return MOTE_OK;
}

/* Longer texts first, so "<|im_end|>" wins over "<|im"; ties by id. */
static int cmp_special(const void *a, const void *b, void *ctx)
{
    const struct vocab *v = ctx;
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    uint32_t lx = v->tokens[x].len, ly = v->tokens[y].len;
    if (lx != ly) return lx > ly ? -1 : 1;
    return (x > y) - (x < y);
}

static mote_status build_special_list(struct vocab *v)
{
    const uint32_t special = TOKEN_ATTR_CONTROL | TOKEN_ATTR_USER_DEFINED | TOKEN_ATTR_UNKNOWN;
    size_t n = 0;
    for (int32_t i = 0; i < v->n_tokens; i++) n += (v->tokens[i].attr & special) != 0;
    v->special = malloc((n ? n : 1) * sizeof *v->special);
    if (!v->special) return mote_fail(MOTE_E_NOMEM, "tokenizer: %zu special tokens", n);
    for (int32_t i = 0; i < v->n_tokens; i++)
        if (v->tokens[i].attr & special) v->special[v->n_special++] = i;
    qsort_r(v->special, v->n_special, sizeof *v->special, cmp_special, v);
    return MOTE_OK;
}

/* ------------------------------------------------------------------------
 * Entry point
 * ---------------------------------------------------------------------- */

mote_status vocab_read_specials(struct vocab *v, const gguf_file *f)
{
    MOTE_TRY(read_ids(v, f));
    MOTE_TRY(read_flags(v, f));

    recognise(v, &v->eot, EOT_TEXTS);
    recognise(v, &v->eom, EOM_TEXTS);
    recognise(v, &v->fim_pre, FIM_PRE_TEXTS);
    recognise(v, &v->fim_suf, FIM_SUF_TEXTS);
    recognise(v, &v->fim_mid, FIM_MID_TEXTS);
    recognise(v, &v->fim_pad, FIM_PAD_TEXTS);
    recognise(v, &v->fim_rep, FIM_REP_TEXTS);
    recognise(v, &v->fim_sep, FIM_SEP_TEXTS);

    /* Control tokens named "...unused..." are unused. */
    for (int32_t i = 0; i < v->n_tokens; i++)
        if ((v->tokens[i].attr & TOKEN_ATTR_CONTROL) && strstr(vocab_text(v, i), "unused"))
            v->tokens[i].attr |= TOKEN_ATTR_UNUSED;

    MOTE_TRY(build_eog(v));
    for (size_t i = 0; ALWAYS_RENDER_TEXTS[i]; i++) {
        int32_t t = find_text(v, ALWAYS_RENDER_TEXTS[i]);
        if (t != TOKEN_NONE) v->tokens[t].attr = TOKEN_ATTR_USER_DEFINED;
    }
    MOTE_TRY(build_special_list(v));
    return model_attrs(v, f);
}
