/*
 * fuzz_chat.c — libFuzzer target for the real chat templates against
 * arbitrary contexts: the first byte of the input picks one of the
 * templates of ../shared/templates (in name order), the rest is the
 * context JSON (messages, tools, add_generation_prompt, ...) as
 * mote_chat_apply and mote_template_render hand it to the renderer.
 *
 * Contract (jinja_contract.h): the render succeeds with output within
 * max_output, valid UTF-8, out_len consistent; or fails with a message:
 * MOTE_E_INVALID for a context that is not a JSON object, MOTE_E_TEMPLATE
 * naming a line and column otherwise. A second render says the same.
 *
 * And what every one of these templates does with a plain conversation:
 * for a context with only the variables HF passes (messages, tools,
 * add_generation_prompt, bos_token, eos_token) whose messages are objects
 * of exactly a role and a content string, a render that succeeds shows the
 * content of every user and assistant message whose text is letters and
 * digits (nothing a template trims, splits or escapes). Templates may drop
 * system messages (SmolLM3, gpt-oss, DeepSeek-R1, ...), roles they do not
 * know (developer, tool) and raise on role order (Mistral, Gemma), so
 * nothing is asserted of those.
 *
 * The same context then goes through mote_chat_tokenize_json with qwen2's
 * vocabulary (whose control tokens the ChatML-style templates write): it
 * succeeds or fails with a message, MOTE_E_INVALID for a context that is
 * not an object or a control token's text in a name or key; asked for the
 * count first and then for the ids, it gives the same count both times.
 *
 * Without the reference files the target skips (replay prints SKIP).
 * Seeds: fuzz/corpus/chat; dictionary: fuzz/chat.dict.
 */
#include <cJSON.h>
#include <dirent.h>

#include "jinja_contract.h"

/* The templates, in name order. */
#define MAX_TEMPLATES 256
typedef struct chat_template {
    char *name; /* file name in templates/ */
    char *text; /* its contents, NUL-terminated */
    size_t len;
} chat_template;
static chat_template templates[MAX_TEMPLATES];
static size_t n_templates;
static mote_model *qwen2; /* vocabulary only */

static char *read_text(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    long n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1))) {
        if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        } else {
            buf[n] = '\0';
            *len = (size_t)n;
        }
    }
    fclose(f);
    return buf;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const chat_template *)a)->name, ((const chat_template *)b)->name);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *shared = fuzz_shared_dir();
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/templates", shared ? shared : ".");
    DIR *d = shared ? opendir(dir) : NULL;
    if (!d) {
        fuzz_skip_reason = "no ../shared/templates (set MOTE_SHARED): the real chat templates are needed";
        return 0;
    }
    for (struct dirent *e; (e = readdir(d)) && n_templates < MAX_TEMPLATES;) {
        size_t k = strlen(e->d_name);
        if (k > 6 && strcmp(e->d_name + k - 6, ".jinja") == 0) templates[n_templates++].name = strdup(e->d_name);
    }
    closedir(d);
    /* name order, so that a first byte picks the same template everywhere */
    qsort(templates, n_templates, sizeof templates[0], by_name);
    for (size_t i = 0; i < n_templates; i++) {
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, templates[i].name);
        templates[i].text = read_text(path, &templates[i].len);
        if (!templates[i].text) {
            fprintf(stderr, "fuzz_chat: cannot read %s\n", path);
            abort();
        }
    }
    if (n_templates == 0) fuzz_skip_reason = "no *.jinja in ../shared/templates";
    snprintf(dir, sizeof dir, "%s/vocab/ggml-vocab-qwen2.gguf", shared);
    mote_model_params p = mote_model_default_params();
    p.vocab_only = 1;
    if (mote_model_open(dir, &p, &qwen2) != MOTE_OK) {
        fprintf(stderr, "fuzz_chat: %s\n", mote_last_error());
        abort();
    }
    return 0;
}

/* mote_chat_tokenize_json's contract (see the top). */
static void check_tokenize(const chat_template *t, const char *ctx)
{
    size_t n = 0;
    mote_status st = mote_chat_tokenize_json(qwen2, t->text, ctx, 1, NULL, 0, &n);
    if (st == MOTE_OK || st == MOTE_E_RANGE) {
        mote_token *ids = malloc((n ? n : 1) * sizeof *ids);
        if (!ids) abort();
        size_t again = 0;
        fuzz_check(mote_chat_tokenize_json(qwen2, t->text, ctx, 1, ids, n, &again) == MOTE_OK && again == n,
                   "mote_chat_tokenize_json gave another count the second time");
        free(ids);
        return;
    }
    fuzz_check(mote_last_error()[0] != '\0', "mote_chat_tokenize_json failed without a message");
    fuzz_check(st == MOTE_E_INVALID || st == MOTE_E_TEMPLATE || st == MOTE_E_NOMEM || st == MOTE_E_TOKENIZE,
               "mote_chat_tokenize_json failed with an unexpected status");
}

/* ------------------------------------------------------------------------
 * The plain-conversation property
 * ---------------------------------------------------------------------- */

/* The last member named key, as Python's json keeps it for a repeated key. */
static const cJSON *member(const cJSON *obj, const char *key)
{
    const cJSON *found = NULL;
    for (const cJSON *c = obj->child; c; c = c->next)
        if (c->string && strcmp(c->string, key) == 0) found = c;
    return found;
}

/* Every member of obj is named one of keys. */
static bool only_members(const cJSON *obj, const char *const *keys, size_t n)
{
    for (const cJSON *c = obj->child; c; c = c->next) {
        bool known = false;
        for (size_t k = 0; k < n && !known; k++) known = c->string && strcmp(c->string, keys[k]) == 0;
        if (!known) return false;
    }
    return true;
}

/* Letters and digits only: no template trims, splits or escapes it. */
static bool plain_text(const char *s)
{
    if (!*s) return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9'))) return false;
    return true;
}

/* The messages of a plain conversation (see the top), or NULL. */
static const cJSON *plain_messages(const cJSON *ctx)
{
    static const char *const vars[] = {"messages", "tools", "add_generation_prompt", "bos_token", "eos_token"};
    static const char *const fields[] = {"role", "content"};
    if (!cJSON_IsObject(ctx) || !only_members(ctx, vars, sizeof vars / sizeof vars[0])) return NULL;
    const cJSON *msgs = member(ctx, "messages");
    if (!cJSON_IsArray(msgs)) return NULL;
    for (const cJSON *m = msgs->child; m; m = m->next)
        if (!cJSON_IsObject(m) || !only_members(m, fields, 2) || !cJSON_IsString(member(m, "role")) ||
            !cJSON_IsString(member(m, "content")))
            return NULL;
    return msgs;
}

static void check_contents_shown(const char *ctx_json, const char *out, size_t out_len)
{
    cJSON *ctx = cJSON_ParseWithOpts(ctx_json, NULL, 1);
    const cJSON *msgs = ctx ? plain_messages(ctx) : NULL;
    for (const cJSON *m = msgs ? msgs->child : NULL; m; m = m->next) {
        const char *role = member(m, "role")->valuestring, *content = member(m, "content")->valuestring;
        if ((strcmp(role, "user") == 0 || strcmp(role, "assistant") == 0) && plain_text(content))
            fuzz_check(memmem(out, out_len, content, strlen(content)) != NULL,
                       "a user or assistant message's plain content is missing from the rendering");
    }
    cJSON_Delete(ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (n_templates == 0 || size == 0) return 0;
    const size_t pick = data[0] % n_templates;
    char *ctx = malloc(size); /* the rest, NUL-terminated */
    if (!ctx) abort();
    memcpy(ctx, data + 1, size - 1);
    ctx[size - 1] = '\0';

    char *out = NULL;
    size_t out_len = 0;
    mote_status st = fuzz_render_checked(templates[pick].text, templates[pick].len, ctx, 0, true, &out, &out_len);
    if (st == MOTE_OK) check_contents_shown(ctx, out, out_len);
    check_tokenize(&templates[pick], ctx);
    free(out);
    free(ctx);
    return 0;
}
