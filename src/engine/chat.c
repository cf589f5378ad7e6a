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

/* Render tmpl (the model's when NULL) for msgs; content i is sentinel
 * prefix + "i>" when prefix is not NULL. */
static mote_status render(const mote_model *m, const char *tmpl, const mote_chat_message *msgs, size_t n,
                          int add_generation_prompt, const char *prefix, char **out)
{
    *out = NULL;
    if (!tmpl) tmpl = m->chat_template;
    if (!tmpl)
        return mote_fail(MOTE_E_UNSUPPORTED, "%s: the model has no chat template (tokenizer.chat_template)",
                         m->gguf->path);

    cJSON *ctx = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(ctx, "messages");
    char bos[TOKEN_TEXT_CAP], eos[TOKEN_TEXT_CAP], sentinel[64];
    int ok = ctx && arr;
    for (size_t i = 0; ok && i < n; i++) {
        const char *content = msgs[i].content ? msgs[i].content : "";
        if (prefix) {
            snprintf(sentinel, sizeof sentinel, "%s%zu>", prefix, i);
            content = sentinel;
        }
        cJSON *msg = cJSON_CreateObject();
        ok = msg && cJSON_AddItemToArray(arr, msg) &&
             cJSON_AddStringToObject(msg, "role", msgs[i].role ? msgs[i].role : "") &&
             cJSON_AddStringToObject(msg, "content", content);
    }
    ok = ok && cJSON_AddBoolToObject(ctx, "add_generation_prompt", add_generation_prompt != 0) &&
         cJSON_AddStringToObject(ctx, "bos_token", token_text(m, mote_token_bos(m), bos)) &&
         cJSON_AddStringToObject(ctx, "eos_token", token_text(m, mote_token_eos(m), eos));
    char *json = ok ? cJSON_PrintUnformatted(ctx) : NULL;
    cJSON_Delete(ctx);
    if (!json) return mote_fail(MOTE_E_NOMEM, "chat: out of memory building the template context");
    mote_status st = mote_template_render(tmpl, json, out);
    cJSON_free(json);
    return st;
}

mote_status mote_chat_apply(const mote_model *m, const char *tmpl, const mote_chat_message *msgs, size_t n,
                            int add_generation_prompt, char **out)
{
    if (out) *out = NULL;
    if (!m || !out || (n > 0 && !msgs)) return mote_fail(MOTE_E_INVALID, "mote_chat_apply: NULL argument");
    return render(m, tmpl, msgs, n, add_generation_prompt, NULL, out);
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

/* A sentinel prefix that occurs in neither the template nor any content. */
static void pick_prefix(const char *tmpl, const mote_chat_message *msgs, size_t n, char *prefix, size_t cap)
{
    for (unsigned nonce = 0;; nonce++) {
        snprintf(prefix, cap, "<mote-content-%x-", nonce);
        int used = tmpl && strstr(tmpl, prefix);
        for (size_t i = 0; i < n && !used; i++) used = msgs[i].content && strstr(msgs[i].content, prefix);
        if (!used) return;
    }
}

/* rendered with every sentinel replaced by its message's content. */
static int assemble(const char *rendered, const char *prefix, const mote_chat_message *msgs, size_t n,
                    assembled *a)
{
    size_t plen = strlen(prefix);
    const char *at = rendered;
    for (;;) {
        const char *hit = strstr(at, prefix);
        if (!hit) return put(a, at, strlen(at));
        char *end = NULL;
        unsigned long long i = strtoull(hit + plen, &end, 10);
        if (end == hit + plen || *end != '>' || i >= n) { /* not ours: template text */
            if (put(a, at, (size_t)(hit + plen - at)) != 0) return -1;
            at = hit + plen;
            continue;
        }
        const char *content = msgs[i].content ? msgs[i].content : "";
        if (put(a, at, (size_t)(hit - at)) != 0 || put_plain(a, content, strlen(content)) != 0) return -1;
        at = end + 1;
    }
}

mote_status mote_chat_tokenize(const mote_model *m, const char *tmpl, const mote_chat_message *msgs,
                               size_t n, int add_generation_prompt, mote_token *out, size_t cap,
                               size_t *n_out)
{
    if (n_out) *n_out = 0;
    if (!m || !m->vocab || !n_out || (n > 0 && !msgs) || (cap > 0 && !out))
        return mote_fail(MOTE_E_INVALID, "mote_chat_tokenize: NULL argument");
    char prefix[48];
    pick_prefix(tmpl ? tmpl : m->chat_template, msgs, n, prefix, sizeof prefix);
    char *rendered = NULL;
    MOTE_TRY(render(m, tmpl, msgs, n, add_generation_prompt, prefix, &rendered));
    assembled a = {0};
    mote_status st = assemble(rendered, prefix, msgs, n, &a) == 0 && put(&a, "", 0) == 0
                         ? MOTE_OK
                         : mote_fail(MOTE_E_NOMEM, "chat: out of memory assembling the conversation");
    mote_free(rendered);
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
