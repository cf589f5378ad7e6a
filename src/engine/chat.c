/*
 * chat.c — mote_chat_apply: messages -> the model's chat template.
 *
 * The context given to the template is what HF's apply_chat_template
 * passes: messages, add_generation_prompt, bos_token and eos_token (the
 * text of the vocabulary's BOS/EOS tokens).
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "engine/model.h"
#include "engine/vocab.h"

#define TOKEN_TEXT_CAP 256

static const char *token_text(const mote_model *m, mote_token t, char *buf)
{
    size_t n = 0;
    if (t < 0 || mote_token_to_piece(m, t, 1, buf, TOKEN_TEXT_CAP - 1, &n) != MOTE_OK) n = 0;
    buf[n] = '\0';
    return buf;
}

/* {"messages": [{"role", "content"}...]} for msgs (NULL role or content:
 * ""), or NULL when out of memory. */
static cJSON *messages_context(const mote_chat_message *msgs, size_t n)
{
    cJSON *ctx = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(ctx, "messages");
    int ok = ctx && arr;
    for (size_t i = 0; ok && i < n; i++) {
        cJSON *msg = cJSON_CreateObject();
        ok = msg && cJSON_AddItemToArray(arr, msg) &&
             cJSON_AddStringToObject(msg, "role", msgs[i].role ? msgs[i].role : "") &&
             cJSON_AddStringToObject(msg, "content", msgs[i].content ? msgs[i].content : "");
    }
    if (!ok) cJSON_Delete(ctx), ctx = NULL;
    return ctx;
}

/* Render tmpl (the model's when NULL) with ctx, to which this adds
 * add_generation_prompt, bos_token and eos_token (replacing any). */
static mote_status render(const mote_model *m, const char *tmpl, cJSON *ctx, int add_generation_prompt, char **out)
{
    *out = NULL;
    if (!tmpl) tmpl = m->chat_template;
    if (!tmpl)
        return mote_fail(MOTE_E_UNSUPPORTED, "%s: the model has no chat template (tokenizer.chat_template)",
                         m->gguf->path);
    char bos[TOKEN_TEXT_CAP], eos[TOKEN_TEXT_CAP];
    cJSON_DeleteItemFromObjectCaseSensitive(ctx, "add_generation_prompt");
    cJSON_DeleteItemFromObjectCaseSensitive(ctx, "bos_token");
    cJSON_DeleteItemFromObjectCaseSensitive(ctx, "eos_token");
    const int ok = cJSON_AddBoolToObject(ctx, "add_generation_prompt", add_generation_prompt != 0) &&
                   cJSON_AddStringToObject(ctx, "bos_token", token_text(m, mote_token_bos(m), bos)) &&
                   cJSON_AddStringToObject(ctx, "eos_token", token_text(m, mote_token_eos(m), eos));
    char *json = ok ? cJSON_PrintUnformatted(ctx) : NULL;
    if (!json) return mote_fail(MOTE_E_NOMEM, "chat: out of memory building the template context");
    mote_status st = mote_template_render(tmpl, json, out);
    cJSON_free(json);
    return st;
}

/* The context of a _json call: an object, parsed. */
static mote_status parse_context(const char *context_json, cJSON **ctx)
{
    *ctx = cJSON_Parse(context_json);
    if (!*ctx || !cJSON_IsObject(*ctx)) {
        cJSON_Delete(*ctx);
        *ctx = NULL;
        return mote_fail(MOTE_E_INVALID, "chat: the context is not a JSON object");
    }
    return MOTE_OK;
}

mote_status mote_chat_apply(const mote_model *m, const char *tmpl, const mote_chat_message *msgs, size_t n,
                            int add_generation_prompt, char **out)
{
    if (out) *out = NULL;
    if (!m || !out || (n > 0 && !msgs)) return mote_fail(MOTE_E_INVALID, "mote_chat_apply: NULL argument");
    cJSON *ctx = messages_context(msgs, n);
    if (!ctx) return mote_fail(MOTE_E_NOMEM, "chat: out of memory building the template context");
    mote_status st = render(m, tmpl, ctx, add_generation_prompt, out);
    cJSON_Delete(ctx);
    return st;
}

mote_status mote_chat_apply_json(const mote_model *m, const char *tmpl, const char *context_json,
                                 int add_generation_prompt, char **out)
{
    if (out) *out = NULL;
    if (!m || !out || !context_json) return mote_fail(MOTE_E_INVALID, "mote_chat_apply_json: NULL argument");
    cJSON *ctx;
    MOTE_TRY(parse_context(context_json, &ctx));
    mote_status st = render(m, tmpl, ctx, add_generation_prompt, out);
    cJSON_Delete(ctx);
    return st;
}

/* ------------------------------------------------------------------------
 * Rendering and tokenizing with the contents kept plain
 * ---------------------------------------------------------------------- */

/* The rendered text with the contents put back, and where they are. */
typedef struct assembled {
    char *s;
    size_t n, cap;
    struct tok_span *spans;
    size_t n_spans, cap_spans;
} assembled;

static int put(assembled *a, const char *s, size_t n)
{
    if (a->n + n + 1 > a->cap) {
        size_t cap = a->cap ? a->cap : 256;
        while (cap < a->n + n + 1) cap *= 2;
        char *p = realloc(a->s, cap);
        if (!p) return -1;
        a->s = p;
        a->cap = cap;
    }
    if (n > 0) memcpy(a->s + a->n, s, n);
    a->n += n;
    a->s[a->n] = '\0';
    return 0;
}

static int put_plain(assembled *a, const char *s, size_t n)
{
    if (a->n_spans == a->cap_spans) {
        size_t cap = a->cap_spans ? 2 * a->cap_spans : 16;
        struct tok_span *p = realloc(a->spans, cap * sizeof *p);
        if (!p) return -1;
        a->spans = p;
        a->cap_spans = cap;
    }
    a->spans[a->n_spans++] = (struct tok_span){a->n, n};
    return put(a, s, n);
}

/* A JSON string's inside (json.dumps with ensure_ascii=False, as the
 * templates' tojson writes it), appended as plain text. */
static int put_plain_json(assembled *a, const char *s, size_t n)
{
    assembled e = {0};
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const unsigned char c = (unsigned char)s[i];
        char esc[8];
        const char *r = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n" : c == '\r' ? "\\r"
                      : c == '\t' ? "\\t" : c == '\b' ? "\\b" : c == '\f' ? "\\f" : NULL;
        if (!r && c < 0x20) snprintf(esc, sizeof esc, "\\u%04x", c), r = esc;
        rc = r ? put(&e, r, strlen(r)) : put(&e, s + i, 1);
    }
    if (rc == 0) rc = put_plain(a, e.s ? e.s : "", e.n);
    free(e.s);
    return rc;
}

/* The strings of a context: those that are text (a message's content, a
 * tool's description, a call's arguments...) become sentinels while the
 * template runs and plain text after; the values of these keys are
 * template logic (compared, looked up) and stay as they are. */
static int is_logic_key(const char *key)
{
    return key && (strcmp(key, "role") == 0 || strcmp(key, "type") == 0 || strcmp(key, "name") == 0);
}

typedef struct texts {
    char **s; /* the originals, in sentinel order */
    size_t n, cap;
    const struct vocab *v;
    char prefix[48];
} texts;

/* The CONTROL token whose text s[0..n) holds, or NULL. */
static const char *control_in(const struct vocab *v, const char *s)
{
    for (size_t i = 0; i < v->n_special; i++) {
        const int32_t id = v->special[i];
        if (!(v->tokens[id].attr & TOKEN_ATTR_CONTROL) || v->tokens[id].len == 0) continue;
        if (strstr(s, vocab_text(v, id))) return vocab_text(v, id);
    }
    return NULL;
}

/* Does the prefix occur in any string (value or key) under node? */
static int prefix_used(const cJSON *node, const char *prefix)
{
    for (; node; node = node->next) {
        if ((node->string && strstr(node->string, prefix)) ||
            (cJSON_IsString(node) && node->valuestring && strstr(node->valuestring, prefix)))
            return 1;
        if (prefix_used(node->child, prefix)) return 1;
    }
    return 0;
}

/* Replace the text strings under node (its siblings too) by sentinels;
 * keys and logic strings must not hold a control token's text. */
static mote_status protect(cJSON *node, int logic, texts *t)
{
    for (; node; node = node->next) {
        const char *bad = node->string ? control_in(t->v, node->string) : NULL;
        if (bad) return mote_fail(MOTE_E_INVALID, "chat: a key holds the text of the control token '%s'", bad);
        if (cJSON_IsString(node) && node->valuestring) {
            if (logic || is_logic_key(node->string)) {
                if ((bad = control_in(t->v, node->valuestring)))
                    return mote_fail(MOTE_E_INVALID, "chat: '%s' holds the text of the control token '%s'",
                                     node->string ? node->string : "a value", bad);
                continue;
            }
            if (t->n == t->cap) {
                size_t cap = t->cap ? 2 * t->cap : 16;
                char **p = realloc(t->s, cap * sizeof *p);
                if (!p) return mote_fail(MOTE_E_NOMEM, "chat: out of memory");
                t->s = p;
                t->cap = cap;
            }
            char sentinel[80];
            snprintf(sentinel, sizeof sentinel, "%s%zu>", t->prefix, t->n);
            char *copy = strdup(sentinel);
            if (!copy) return mote_fail(MOTE_E_NOMEM, "chat: out of memory");
            t->s[t->n++] = node->valuestring;
            node->valuestring = copy;
        }
        MOTE_TRY(protect(node->child, logic, t));
    }
    return MOTE_OK;
}

/* rendered with every sentinel replaced by its text: as JSON string
 * contents where tojson wrote it (between double quotes), else as is. */
static int assemble(const char *rendered, const texts *t, assembled *a)
{
    const size_t plen = strlen(t->prefix);
    const char *at = rendered;
    for (;;) {
        const char *hit = strstr(at, t->prefix);
        if (!hit) return put(a, at, strlen(at));
        char *end = NULL;
        unsigned long long i = strtoull(hit + plen, &end, 10);
        if (end == hit + plen || *end != '>' || i >= t->n) { /* not ours: template text */
            if (put(a, at, (size_t)(hit + plen - at)) != 0) return -1;
            at = hit + plen;
            continue;
        }
        const char *text = t->s[i];
        const int quoted = hit > rendered && hit[-1] == '"' && end[1] == '"';
        if (put(a, at, (size_t)(hit - at)) != 0 ||
            (quoted ? put_plain_json(a, text, strlen(text)) : put_plain(a, text, strlen(text))) != 0)
            return -1;
        at = end + 1;
    }
}

/* Tokenize the rendering of ctx with its text strings kept plain. */
static mote_status tokenize_context(const mote_model *m, const char *tmpl, cJSON *ctx, int add_generation_prompt,
                                    mote_token *out, size_t cap, size_t *n_out)
{
    texts t = {.v = m->vocab};
    cJSON_DeleteItemFromObjectCaseSensitive(ctx, "bos_token"); /* render sets them */
    cJSON_DeleteItemFromObjectCaseSensitive(ctx, "eos_token");
    const char *tt = tmpl ? tmpl : m->chat_template;
    for (unsigned nonce = 0;; nonce++) {
        snprintf(t.prefix, sizeof t.prefix, "<mote-text-%x-", nonce);
        if (!(tt && strstr(tt, t.prefix)) && !prefix_used(ctx->child, t.prefix)) break;
    }
    /* every string under messages and tools; the other variables (a
     * caller's own, e.g. enable_thinking) are logic */
    mote_status st = MOTE_OK;
    for (cJSON *v = ctx->child; v && st == MOTE_OK; v = v->next) {
        const int text = v->string && (strcmp(v->string, "messages") == 0 || strcmp(v->string, "tools") == 0);
        st = protect(v->child, !text, &t);
        if (st == MOTE_OK && cJSON_IsString(v) && v->valuestring) {
            const char *bad = control_in(t.v, v->valuestring);
            if (bad) st = mote_fail(MOTE_E_INVALID, "chat: '%s' holds the text of the control token '%s'", v->string, bad);
        }
    }
    char *rendered = NULL;
    if (st == MOTE_OK) st = render(m, tmpl, ctx, add_generation_prompt, &rendered);
    assembled a = {0};
    if (st == MOTE_OK && !(assemble(rendered, &t, &a) == 0 && put(&a, "", 0) == 0))
        st = mote_fail(MOTE_E_NOMEM, "chat: out of memory assembling the conversation");
    mote_free(rendered);
    for (size_t i = 0; i < t.n; i++) cJSON_free(t.s[i]);
    free(t.s);
    tokbuf b = {0};
    if (st == MOTE_OK) st = vocab_tokenize_spans(m->vocab, a.s, a.n, true, true, a.spans, a.n_spans, &b);
    if (st == MOTE_OK) {
        *n_out = b.n;
        if (b.n > 0 && cap > 0) memcpy(out, b.ids, (b.n < cap ? b.n : cap) * sizeof *out);
        if (b.n > cap) st = mote_fail(MOTE_E_RANGE, "chat_tokenize: %zu tokens, room for %zu", b.n, cap);
    }
    tokbuf_free(&b);
    free(a.s);
    free(a.spans);
    return st;
}

mote_status mote_chat_tokenize(const mote_model *m, const char *tmpl, const mote_chat_message *msgs,
                               size_t n, int add_generation_prompt, mote_token *out, size_t cap,
                               size_t *n_out)
{
    if (n_out) *n_out = 0;
    if (!m || !m->vocab || !n_out || (n > 0 && !msgs) || (cap > 0 && !out))
        return mote_fail(MOTE_E_INVALID, "mote_chat_tokenize: NULL argument");
    cJSON *ctx = messages_context(msgs, n);
    if (!ctx) return mote_fail(MOTE_E_NOMEM, "chat: out of memory building the template context");
    mote_status st = tokenize_context(m, tmpl, ctx, add_generation_prompt, out, cap, n_out);
    cJSON_Delete(ctx);
    return st;
}

mote_status mote_chat_tokenize_json(const mote_model *m, const char *tmpl, const char *context_json,
                                    int add_generation_prompt, mote_token *out, size_t cap, size_t *n_out)
{
    if (n_out) *n_out = 0;
    if (!m || !m->vocab || !n_out || !context_json || (cap > 0 && !out))
        return mote_fail(MOTE_E_INVALID, "mote_chat_tokenize_json: NULL argument");
    cJSON *ctx;
    MOTE_TRY(parse_context(context_json, &ctx));
    mote_status st = tokenize_context(m, tmpl, ctx, add_generation_prompt, out, cap, n_out);
    cJSON_Delete(ctx);
    return st;
}
