/*
 * request.c — parse and validate the JSON bodies of requests (cJSON).
 *
 * Every field is checked for its type and range here, so that the
 * handlers see only well-formed requests; each refusal names its field.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "serve/config.h"
#include "serve/request.h"

/* The most tokens a detokenize request may carry (an 8 MiB body holds
 * about 4M one-digit ids; this bounds the array it becomes). */
#define SERVE_MAX_TOKENS (1 << 22)

int serve_fail(serve_error *err, int status, const char *type, const char *code, const char *param,
               const char *fmt, ...)
{
    err->status = status;
    err->type = type;
    err->code = code;
    snprintf(err->param, sizeof err->param, "%s", param ? param : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return -1;
}

static int bad(serve_error *err, const char *param, const char *what)
{
    return serve_fail(err, 400, "invalid_request_error", NULL, param, "'%s' %s", param, what);
}

static int oom(serve_error *err)
{
    return serve_fail(err, 500, "server_error", NULL, NULL, "out of memory");
}

/* An optional string field: absent leaves *out NULL. */
static int get_string(const cJSON *obj, const char *name, char **out, size_t *len, serve_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    *out = NULL;
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsString(v) || !v->valuestring) return bad(err, name, "must be a string");
    const size_t n = strlen(v->valuestring);
    if (!(*out = malloc(n + 1))) return oom(err);
    memcpy(*out, v->valuestring, n + 1);
    if (len) *len = n;
    return 0;
}

/* An optional boolean field: absent keeps *out. */
static int get_bool(const cJSON *obj, const char *name, int *out, serve_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsBool(v)) return bad(err, name, "must be a boolean");
    *out = cJSON_IsTrue(v);
    return 0;
}

/* An array of token ids, integers in [0, INT32_MAX], into req->tokens.
 * Whether an id is in the model's vocabulary is the handler's check. */
static int tokens_from(const cJSON *v, const char *name, serve_request *req, serve_error *err)
{
    if (!cJSON_IsArray(v)) return bad(err, name, "must be an array of token ids");
    const int n = cJSON_GetArraySize(v);
    if (n > SERVE_MAX_TOKENS) return bad(err, name, "has too many tokens");
    if (n > 0 && !(req->tokens = malloc((size_t)n * sizeof *req->tokens))) return oom(err);
    size_t i = 0;
    for (const cJSON *t = v->child; t; t = t->next) {
        const double d = t->valuedouble;
        if (!cJSON_IsNumber(t) || !isfinite(d) || d != floor(d) || d < 0 || d > INT32_MAX)
            return bad(err, name, "must hold integer token ids >= 0");
        req->tokens[i++] = (int32_t)d;
    }
    req->n_tokens = i;
    return 0;
}

/* A required array of token ids. */
static int get_tokens(const cJSON *obj, const char *name, serve_request *req, serve_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!v) return bad(err, name, "is required");
    return tokens_from(v, name, req, err);
}

/* An optional number in [lo, hi]: absent (or null) leaves *out. */
static int get_number(const cJSON *obj, const char *name, double lo, double hi, double *out, serve_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return bad(err, name, "must be a number");
    if (v->valuedouble < lo || v->valuedouble > hi)
        return serve_fail(err, 400, "invalid_request_error", NULL, name, "'%s' must be between %g and %g", name, lo,
                          hi);
    *out = v->valuedouble;
    return 0;
}

/* An optional integer in [lo, hi]. */
static int get_int(const cJSON *obj, const char *name, int lo, int hi, int *out, serve_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble)) return bad(err, name, "must be an integer");
    if (v->valuedouble < lo || v->valuedouble > hi)
        return serve_fail(err, 400, "invalid_request_error", NULL, name, "'%s' must be between %d and %d", name, lo,
                          hi);
    *out = (int)v->valuedouble;
    return 0;
}

/* ---- sampling fields (requests and a config's models) ---- */

const char *const serve_sampling_names[SERVE_SAMPLING_FIELDS] = {
    "temperature", "top_k", "top_p", "min_p", "repeat_penalty", "presence_penalty", "frequency_penalty", "seed"};

/* Each field's accepted range, in the order of the names. The seed's
 * spans int64 and uint64: a negative seed is taken modulo 2^64. */
static const struct sampling_range {
    double lo, hi;
} sampling_ranges[SERVE_SAMPLING_FIELDS] = {
    {0, 100}, {0, INT32_MAX}, {0, 1}, {0, 1}, {0.01, 100}, {-2, 2}, {-2, 2}, {-9.2e18, 1.8e19},
};

int serve_parse_sampling(const cJSON *obj, mote_sampler_params *sp, unsigned *set, serve_error *err)
{
    for (int i = 0; i < SERVE_SAMPLING_FIELDS; i++) {
        const char *name = serve_sampling_names[i];
        const unsigned bit = 1u << i;
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
        if (!v || cJSON_IsNull(v)) continue;
        const struct sampling_range r = sampling_ranges[i];
        if (bit == SERVE_SAMPLE_TOP_K) {
            if (get_int(obj, name, (int)r.lo, (int)r.hi, &sp->top_k, err) != 0) return -1;
            *set |= bit;
            continue;
        }
        double d = 0;
        if (get_number(obj, name, r.lo, r.hi, &d, err) != 0) return -1;
        switch (bit) {
        case SERVE_SAMPLE_TEMPERATURE: sp->temp = (float)d; break;
        case SERVE_SAMPLE_TOP_P: sp->top_p = (float)d; break;
        case SERVE_SAMPLE_MIN_P: sp->min_p = (float)d; break;
        case SERVE_SAMPLE_REPEAT_PENALTY: sp->repeat_penalty = (float)d; break;
        case SERVE_SAMPLE_PRESENCE_PENALTY: sp->presence_penalty = (float)d; break;
        case SERVE_SAMPLE_FREQUENCY_PENALTY: sp->freq_penalty = (float)d; break;
        case SERVE_SAMPLE_SEED:
            if (d != floor(d)) return bad(err, name, "must be an integer");
            sp->seed = d < 0 ? (uint64_t)(int64_t)d : (uint64_t)d;
            break;
        }
        *set |= bit;
    }
    return 0;
}

void serve_sampling_apply(mote_sampler_params *dst, const mote_sampler_params *src, unsigned fields)
{
    if (fields & SERVE_SAMPLE_TEMPERATURE) dst->temp = src->temp;
    if (fields & SERVE_SAMPLE_TOP_K) dst->top_k = src->top_k;
    if (fields & SERVE_SAMPLE_TOP_P) dst->top_p = src->top_p;
    if (fields & SERVE_SAMPLE_MIN_P) dst->min_p = src->min_p;
    if (fields & SERVE_SAMPLE_REPEAT_PENALTY) dst->repeat_penalty = src->repeat_penalty;
    if (fields & SERVE_SAMPLE_PRESENCE_PENALTY) dst->presence_penalty = src->presence_penalty;
    if (fields & SERVE_SAMPLE_FREQUENCY_PENALTY) dst->freq_penalty = src->freq_penalty;
    if (fields & SERVE_SAMPLE_SEED) dst->seed = src->seed;
}

/* A field mote does not honour yet: present (and not its neutral value)
 * is a 400 naming it, never a silent difference. */
static int refuse(serve_error *err, const char *name, const char *what)
{
    return serve_fail(err, 400, "invalid_request_error", "unsupported_parameter", name, "'%s' %s", name, what);
}

/* "logit_bias": {"TOKEN_ID": bias, ...}, bias a number in [-100, 100]
 * (OpenAI's), or false as llama.cpp's server takes it; -100 and false ban
 * the token; a key given twice keeps its last bias. The ids are checked
 * against the model later. */
static int get_logit_bias(const cJSON *root, serve_request *req, serve_error *err)
{
    const cJSON *obj = cJSON_GetObjectItemCaseSensitive(root, "logit_bias");
    if (!obj || cJSON_IsNull(obj)) return 0;
    if (!cJSON_IsObject(obj)) return bad(err, "logit_bias", "must be an object mapping token ids to biases");
    const int n = cJSON_GetArraySize(obj);
    if (n == 0) return 0;
    if (n > SERVE_LOGIT_BIAS_MAX)
        return serve_fail(err, 400, "invalid_request_error", NULL, "logit_bias", "'logit_bias' names %d tokens; at most %d",
                          n, SERVE_LOGIT_BIAS_MAX);
    req->bias_id = malloc((size_t)n * sizeof *req->bias_id);
    req->bias = malloc((size_t)n * sizeof *req->bias);
    if (!req->bias_id || !req->bias) return oom(err);
    for (const cJSON *e = obj->child; e; e = e->next) {
        const char *key = e->string ? e->string : "";
        char *end = NULL;
        errno = 0;
        const long id = strtol(key, &end, 10);
        if (!key[0] || *end || errno || id < 0 || id > INT32_MAX || !(key[0] >= '0' && key[0] <= '9'))
            return serve_fail(err, 400, "invalid_request_error", NULL, "logit_bias",
                              "'logit_bias' keys are token ids (decimal), not '%.40s'", key);
        double b;
        if (cJSON_IsFalse(e)) b = -SERVE_LOGIT_BIAS_LIMIT;
        else if (cJSON_IsNumber(e) && e->valuedouble >= -SERVE_LOGIT_BIAS_LIMIT &&
                 e->valuedouble <= SERVE_LOGIT_BIAS_LIMIT)
            b = e->valuedouble;
        else
            return serve_fail(err, 400, "invalid_request_error", NULL, "logit_bias",
                              "'logit_bias' of token %ld must be a number from %d to %d", id, -SERVE_LOGIT_BIAS_LIMIT,
                              SERVE_LOGIT_BIAS_LIMIT);
        /* a key given twice: the last one counts, as in a JSON object read as a map */
        int at = 0;
        while (at < req->n_bias && req->bias_id[at] != (mote_token)id) at++;
        req->bias_id[at] = (mote_token)id;
        req->bias[at] = b <= -SERVE_LOGIT_BIAS_LIMIT ? -INFINITY : (float)b;
        if (at == req->n_bias) req->n_bias++;
    }
    return 0;
}

/* "stop": a string or an array of strings; empty strings are skipped. */
static int get_stop(const cJSON *obj, serve_request *req, serve_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "stop");
    if (!v || cJSON_IsNull(v)) return 0;
    const cJSON *one = cJSON_IsString(v) ? v : NULL;
    if (!one && !cJSON_IsArray(v)) return bad(err, "stop", "must be a string or an array of strings");
    for (const cJSON *t = one ? one : v->child; t; t = one ? NULL : t->next) {
        if (!cJSON_IsString(t) || !t->valuestring) return bad(err, "stop", "must be a string or an array of strings");
        const size_t n = strlen(t->valuestring);
        if (n == 0) continue;
        if (n > SERVE_STOP_LEN_MAX)
            return serve_fail(err, 400, "invalid_request_error", NULL, "stop", "a stop string may have at most %d bytes",
                              SERVE_STOP_LEN_MAX);
        if (req->n_stop == SERVE_STOP_MAX)
            return serve_fail(err, 400, "invalid_request_error", NULL, "stop", "at most %d stop strings",
                              SERVE_STOP_MAX);
        if (!(req->stop[req->n_stop] = strdup(t->valuestring))) return oom(err);
        req->n_stop++;
    }
    return 0;
}

/* A message's content: a string, null, or an array of text parts. */
static int message_content(const cJSON *m, char **out, serve_error *err)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "content");
    if (!c || cJSON_IsNull(c)) return (*out = strdup("")) ? 0 : oom(err);
    if (cJSON_IsString(c) && c->valuestring) return (*out = strdup(c->valuestring)) ? 0 : oom(err);
    if (!cJSON_IsArray(c)) return bad(err, "messages", "content must be a string or an array of parts");
    size_t len = 0;
    for (const cJSON *part = c->child; part; part = part->next) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(part, "type");
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(part, "text");
        if (!cJSON_IsObject(part) || !cJSON_IsString(type) || strcmp(type->valuestring, "text") != 0)
            return serve_fail(err, 400, "invalid_request_error", "unsupported_content", "messages",
                              "only text content parts are supported");
        if (!cJSON_IsString(text) || !text->valuestring) return bad(err, "messages", "text parts need a string 'text'");
        len += strlen(text->valuestring);
    }
    if (!(*out = malloc(len + 1))) return oom(err);
    char *o = *out;
    for (const cJSON *part = c->child; part; part = part->next) {
        const char *t = cJSON_GetObjectItemCaseSensitive(part, "text")->valuestring;
        const size_t n = strlen(t);
        memcpy(o, t, n);
        o += n;
    }
    *o = '\0';
    return 0;
}

/* A tool or function name: 1 to 64 of a-z, A-Z, 0-9, _ and - (OpenAI's). */
static int tool_name_ok(const cJSON *name)
{
    if (!cJSON_IsString(name) || !name->valuestring) return 0;
    const char *s = name->valuestring;
    const size_t n = strlen(s);
    if (n < 1 || n > SERVE_TOOL_NAME_MAX) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
              *s == '-'))
            return 0;
    return 1;
}

/* An assistant's "tool_calls", checked, as JSON text. */
static int message_tool_calls(const cJSON *calls, char **out, serve_error *err)
{
    if (!cJSON_IsArray(calls)) return bad(err, "messages", "tool_calls must be an array");
    cJSON *copy = cJSON_CreateArray();
    if (!copy) return oom(err);
    for (const cJSON *c = calls->child; c; c = c->next) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "id");
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(c, "type");
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(c, "function");
        const cJSON *name = cJSON_IsObject(fn) ? cJSON_GetObjectItemCaseSensitive(fn, "name") : NULL;
        const cJSON *args = cJSON_IsObject(fn) ? cJSON_GetObjectItemCaseSensitive(fn, "arguments") : NULL;
        if (!cJSON_IsObject(c) || !cJSON_IsString(id) || !cJSON_IsString(type) ||
            strcmp(type->valuestring, "function") != 0 || !tool_name_ok(name) || !cJSON_IsString(args)) {
            cJSON_Delete(copy);
            return bad(err, "messages",
                       "hold a tool call that lacks a string 'id', type 'function' or a 'function' with a name "
                       "and string 'arguments'");
        }
        cJSON *call = cJSON_CreateObject(), *f;
        if (!cJSON_AddItemToArray(copy, call) || !cJSON_AddStringToObject(call, "id", id->valuestring) ||
            !cJSON_AddStringToObject(call, "type", "function") || !(f = cJSON_AddObjectToObject(call, "function")) ||
            !cJSON_AddStringToObject(f, "name", name->valuestring) ||
            !cJSON_AddStringToObject(f, "arguments", args->valuestring)) {
            cJSON_Delete(copy);
            return oom(err);
        }
    }
    *out = cJSON_PrintUnformatted(copy);
    cJSON_Delete(copy);
    return *out ? 0 : oom(err);
}

/* "tools" and "tool_choice" (chat). */
static int get_tools(const cJSON *root, serve_request *req, serve_error *err)
{
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(root, "tools");
    const cJSON *choice = cJSON_GetObjectItemCaseSensitive(root, "tool_choice");
    const int have = tools && !cJSON_IsNull(tools) && !(cJSON_IsArray(tools) && !tools->child);
    if (tools && !cJSON_IsNull(tools) && !cJSON_IsArray(tools)) return bad(err, "tools", "must be an array of tools");
    if (have) {
        if (cJSON_GetArraySize(tools) > SERVE_TOOLS_MAX) return bad(err, "tools", "has more than 128 tools");
        cJSON *copy = cJSON_CreateArray();
        if (!copy) return oom(err);
        for (const cJSON *t = tools->child; t; t = t->next) {
            const cJSON *type = cJSON_GetObjectItemCaseSensitive(t, "type");
            const cJSON *fn = cJSON_GetObjectItemCaseSensitive(t, "function");
            const cJSON *name = cJSON_IsObject(fn) ? cJSON_GetObjectItemCaseSensitive(fn, "name") : NULL;
            const cJSON *desc = cJSON_IsObject(fn) ? cJSON_GetObjectItemCaseSensitive(fn, "description") : NULL;
            const cJSON *params = cJSON_IsObject(fn) ? cJSON_GetObjectItemCaseSensitive(fn, "parameters") : NULL;
            const char *why = !cJSON_IsObject(t) || !cJSON_IsString(type) ? "must be objects with a 'type'"
                            : strcmp(type->valuestring, "function") != 0 ? "must be of type 'function'"
                            : !cJSON_IsObject(fn)                       ? "need a 'function' object"
                            : !tool_name_ok(name) ? "need a function 'name' of 1 to 64 letters, digits, _ or -"
                            : desc && !cJSON_IsNull(desc) && !cJSON_IsString(desc) ? "have a string 'description'"
                            : params && !cJSON_IsNull(params) && !cJSON_IsObject(params) ? "have object 'parameters'"
                                                                                          : NULL;
            for (const cJSON *u = tools->child; !why && u != t; u = u->next)
                if (strcmp(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(u, "function"), "name")
                               ->valuestring,
                           name->valuestring) == 0)
                    why = "must have different names";
            if (why) {
                cJSON_Delete(copy);
                return serve_fail(err, 400, "invalid_request_error", NULL, "tools", "tools %s", why);
            }
            cJSON *item = cJSON_CreateObject(), *f;
            int ok = cJSON_AddItemToArray(copy, item) && cJSON_AddStringToObject(item, "type", "function") &&
                     (f = cJSON_AddObjectToObject(item, "function")) &&
                     cJSON_AddStringToObject(f, "name", name->valuestring);
            if (ok && cJSON_IsString(desc)) ok = cJSON_AddStringToObject(f, "description", desc->valuestring) != NULL;
            if (ok && cJSON_IsObject(params)) {
                cJSON *p = cJSON_Duplicate(params, 1);
                ok = p && cJSON_AddItemToObject(f, "parameters", p);
                if (!ok) cJSON_Delete(p);
            }
            if (!ok) {
                cJSON_Delete(copy);
                return oom(err);
            }
        }
        req->tools = cJSON_PrintUnformatted(copy);
        cJSON_Delete(copy);
        if (!req->tools) return oom(err);
    }
    req->tool_choice = have ? SERVE_TOOLS_AUTO : SERVE_TOOLS_NONE;
    if (!choice || cJSON_IsNull(choice)) return 0;
    if (cJSON_IsString(choice)) {
        const char *c = choice->valuestring;
        if (strcmp(c, "none") == 0) req->tool_choice = SERVE_TOOLS_NONE;
        else if (strcmp(c, "auto") == 0 || strcmp(c, "required") == 0)
            req->tool_choice = c[0] == 'a' ? SERVE_TOOLS_AUTO : SERVE_TOOLS_REQUIRED;
        else return bad(err, "tool_choice", "must be none, auto, required or a function");
    } else {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(choice, "type");
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(choice, "function");
        const cJSON *name = cJSON_IsObject(fn) ? cJSON_GetObjectItemCaseSensitive(fn, "name") : NULL;
        if (!cJSON_IsObject(choice) || !cJSON_IsString(type) || strcmp(type->valuestring, "function") != 0 ||
            !tool_name_ok(name))
            return bad(err, "tool_choice", "must be none, auto, required or {\"type\": \"function\", \"function\": {\"name\"}}");
        req->tool_choice = SERVE_TOOLS_NAMED;
        snprintf(req->tool_name, sizeof req->tool_name, "%s", name->valuestring);
    }
    if (req->tool_choice != SERVE_TOOLS_NONE && !have)
        return bad(err, "tool_choice", "needs 'tools'");
    if (req->tool_choice == SERVE_TOOLS_NAMED) {
        int found = 0;
        for (const cJSON *t = tools->child; t && !found; t = t->next)
            found = strcmp(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(t, "function"), "name")
                               ->valuestring,
                           req->tool_name) == 0;
        if (!found)
            return serve_fail(err, 400, "invalid_request_error", NULL, "tool_choice", "no tool is named '%s'",
                              req->tool_name);
    }
    return 0;
}

static int get_messages(const cJSON *obj, serve_request *req, serve_error *err)
{
    static const char *const roles[] = {"system", "developer", "user", "assistant", "tool"};
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "messages");
    if (!v) return bad(err, "messages", "is required");
    if (!cJSON_IsArray(v) || !v->child) return bad(err, "messages", "must be a non-empty array of messages");
    const int n = cJSON_GetArraySize(v);
    if (n > SERVE_MESSAGES_MAX) return bad(err, "messages", "has too many messages");
    if (!(req->messages = calloc((size_t)n, sizeof *req->messages))) return oom(err);
    for (const cJSON *m = v->child; m; m = m->next) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        if (!cJSON_IsObject(m) || !cJSON_IsString(role) || !role->valuestring)
            return bad(err, "messages", "must hold objects with a string 'role'");
        size_t r = 0;
        while (r < sizeof roles / sizeof *roles && strcmp(roles[r], role->valuestring) != 0) r++;
        if (r == sizeof roles / sizeof *roles)
            return serve_fail(err, 400, "invalid_request_error", NULL, "messages",
                              "a message's role must be system, developer, user, assistant or tool, not '%.40s'",
                              role->valuestring);
        serve_message *out = &req->messages[req->n_messages];
        if (!(out->role = strdup(roles[r]))) return oom(err);
        req->n_messages++;
        if (message_content(m, &out->content, err) != 0) return -1;
        const cJSON *calls = cJSON_GetObjectItemCaseSensitive(m, "tool_calls");
        if (calls && !cJSON_IsNull(calls) && !(cJSON_IsArray(calls) && !calls->child)) {
            if (strcmp(roles[r], "assistant") != 0) return bad(err, "messages", "may hold tool_calls in assistant messages only");
            if (message_tool_calls(calls, &out->tool_calls, err) != 0) return -1;
        }
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "tool_call_id");
        if (strcmp(roles[r], "tool") == 0) {
            if (!cJSON_IsString(id) || !id->valuestring)
                return bad(err, "messages", "need a string 'tool_call_id' in every tool message");
            if (!(out->tool_call_id = strdup(id->valuestring))) return oom(err);
        }
    }
    return 0;
}

/* "prompt": a string, or token ids; an array of one of those is that one. */
static int get_prompt(const cJSON *obj, serve_request *req, serve_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "prompt");
    if (!v) return bad(err, "prompt", "is required");
    if (cJSON_IsArray(v) && v->child && !v->child->next && (cJSON_IsString(v->child) || cJSON_IsArray(v->child)))
        v = v->child; /* ["text"] or [[1, 2]] */
    else if (cJSON_IsArray(v) && v->child && (cJSON_IsString(v->child) || cJSON_IsArray(v->child)))
        return refuse(err, "prompt", "holds several prompts: send one per request");
    if (cJSON_IsString(v) && v->valuestring) {
        req->content_len = strlen(v->valuestring);
        return (req->content = strdup(v->valuestring)) ? 0 : oom(err);
    }
    if (!cJSON_IsArray(v)) return bad(err, "prompt", "must be a string or an array of token ids");
    if (tokens_from(v, "prompt", req, err) != 0) return -1;
    return req->n_tokens ? 0 : bad(err, "prompt", "is empty");
}

/* The fields of chat and completion requests. */
static int get_generation(const cJSON *root, serve_request *req, serve_error *err)
{
    const int chat = req->kind == SERVE_REQ_CHAT;
    if ((chat ? get_messages(root, req, err) : get_prompt(root, req, err)) != 0) return -1;
    if (get_bool(root, "stream", &req->stream, err) != 0) return -1;
    const cJSON *so = cJSON_GetObjectItemCaseSensitive(root, "stream_options");
    if (so && !cJSON_IsNull(so)) {
        if (!cJSON_IsObject(so)) return bad(err, "stream_options", "must be an object");
        if (get_bool(so, "include_usage", &req->include_usage, err) != 0) return -1;
    }
    int max = -1;
    if (get_int(root, "max_tokens", 0, INT32_MAX, &max, err) != 0 ||
        get_int(root, "max_completion_tokens", 0, INT32_MAX, &max, err) != 0)
        return -1;
    req->max_tokens = max;
    int n = 1;
    if (get_int(root, "n", 1, INT32_MAX, &n, err) != 0) return -1;
    if (n != 1) return refuse(err, "n", "must be 1: mote returns one choice per request");
    if (!chat) {
        int best_of = 1;
        if (get_int(root, "best_of", 1, INT32_MAX, &best_of, err) != 0) return -1;
        if (best_of != 1) return refuse(err, "best_of", "must be 1");
        if (get_bool(root, "echo", &req->echo, err) != 0) return -1;
        const cJSON *suffix = cJSON_GetObjectItemCaseSensitive(root, "suffix");
        if (suffix && !cJSON_IsNull(suffix)) return refuse(err, "suffix", "is not supported");
    }

    if (serve_parse_sampling(root, &req->sampling, &req->sampling_set, err) != 0) return -1;
    req->has_seed = (req->sampling_set & SERVE_SAMPLE_SEED) != 0;
    if (get_stop(root, req, err) != 0) return -1;

    const cJSON *lp = cJSON_GetObjectItemCaseSensitive(root, "logprobs");
    if (chat) { /* logprobs: bool; top_logprobs: 0..20 with it */
        int on = 0, top = 0;
        if (get_bool(root, "logprobs", &on, err) != 0 ||
            get_int(root, "top_logprobs", 0, SERVE_TOP_LOGPROBS_MAX, &top, err) != 0)
            return -1;
        const cJSON *tl = cJSON_GetObjectItemCaseSensitive(root, "top_logprobs");
        if (!on && tl && !cJSON_IsNull(tl)) return bad(err, "top_logprobs", "needs 'logprobs': true");
        req->top_logprobs = on ? top : -1;
    } else if (lp && !cJSON_IsNull(lp)) { /* logprobs: 0..5 alternatives */
        int top = 0;
        if (get_int(root, "logprobs", 0, SERVE_COMPLETION_LOGPROBS_MAX, &top, err) != 0) return -1;
        req->top_logprobs = top;
    }

    const cJSON *rf = cJSON_GetObjectItemCaseSensitive(root, "response_format");
    if (rf && !cJSON_IsNull(rf)) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(rf, "type");
        if (!cJSON_IsObject(rf) || !cJSON_IsString(type)) return bad(err, "response_format", "must be an object with a 'type'");
        if (strcmp(type->valuestring, "json_object") == 0) {
            if (!(req->schema = strdup("{\"type\":\"object\"}"))) return oom(err);
        } else if (strcmp(type->valuestring, "json_schema") == 0) {
            const cJSON *js = cJSON_GetObjectItemCaseSensitive(rf, "json_schema");
            const cJSON *schema = cJSON_IsObject(js) ? cJSON_GetObjectItemCaseSensitive(js, "schema") : NULL;
            if (!schema || !(cJSON_IsObject(schema) || cJSON_IsBool(schema)))
                return bad(err, "response_format", "json_schema needs an object 'json_schema' with a 'schema'");
            if (!(req->schema = cJSON_PrintUnformatted(schema))) return oom(err);
        } else if (strcmp(type->valuestring, "text") != 0) {
            return bad(err, "response_format", "'type' must be text, json_object or json_schema");
        }
    }
    if (chat && get_tools(root, req, err) != 0) return -1;
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(root, "tools");
    if (!chat && tools && !cJSON_IsNull(tools)) return refuse(err, "tools", "belong to chat requests");
    return get_logit_bias(root, req, err);
}

/* "input": one text or an array of 1..SERVE_EMBED_INPUTS_MAX; token ids
 * are refused (they would be another model's vocabulary); formats and
 * dimensions. */
static int get_embeddings(const cJSON *root, serve_request *req, serve_error *err)
{
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(root, "input");
    if (!in || cJSON_IsNull(in)) return bad(err, "input", "is required");
    const int one = cJSON_IsString(in);
    if (!one && !cJSON_IsArray(in)) return bad(err, "input", "must be a string or an array of strings");
    const int n = one ? 1 : cJSON_GetArraySize(in);
    if (n == 0) return bad(err, "input", "must not be empty");
    if (n > SERVE_EMBED_INPUTS_MAX)
        return serve_fail(err, 400, "invalid_request_error", NULL, "input", "'input' has %d texts; at most %d", n,
                          SERVE_EMBED_INPUTS_MAX);
    if (!(req->inputs = calloc((size_t)n, sizeof *req->inputs))) return oom(err);
    const cJSON *item = one ? in : in->child;
    for (int i = 0; i < n; i++, item = item->next) {
        if (cJSON_IsNumber(item) || cJSON_IsArray(item))
            return bad(err, "input", "as token ids is not supported: send the texts (ids of another tokenizer mean "
                                     "nothing to this model)");
        if (!cJSON_IsString(item) || !item->valuestring) return bad(err, "input", "must hold strings");
        if (!item->valuestring[0])
            return serve_fail(err, 400, "invalid_request_error", NULL, "input", "'input' text %d is empty", i);
        if (!(req->inputs[i] = strdup(item->valuestring))) return oom(err);
        req->n_inputs++;
    }
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "encoding_format");
    if (fmt && !cJSON_IsNull(fmt)) {
        if (!cJSON_IsString(fmt) || (strcmp(fmt->valuestring, "float") && strcmp(fmt->valuestring, "base64")))
            return bad(err, "encoding_format", "must be \"float\" or \"base64\"");
        req->base64 = strcmp(fmt->valuestring, "base64") == 0;
    }
    const cJSON *dim = cJSON_GetObjectItemCaseSensitive(root, "dimensions");
    if (dim && !cJSON_IsNull(dim)) {
        if (!cJSON_IsNumber(dim) || !(dim->valuedouble >= 1 && dim->valuedouble <= SERVE_EMBED_DIM_MAX) ||
            dim->valuedouble != floor(dim->valuedouble))
            return bad(err, "dimensions", "must be a positive integer");
        req->dimensions = (int)dim->valuedouble;
    }
    return 0;
}

int serve_parse_request(serve_request_kind kind, const char *body, size_t len, serve_request *out,
                        serve_error *err)
{
    memset(out, 0, sizeof *out);
    out->kind = kind;
    out->parse_special = 1;
    out->max_tokens = -1;
    out->top_logprobs = -1;
    out->tool_choice = SERVE_TOOLS_NONE;
    out->sampling = mote_sampler_default_params();
    cJSON *root = cJSON_ParseWithLength(body, len);
    if (!root) return serve_fail(err, 400, "invalid_request_error", NULL, NULL, "the body is not valid JSON");
    int rc = -1;
    if (!cJSON_IsObject(root)) {
        serve_fail(err, 400, "invalid_request_error", NULL, NULL, "the body must be a JSON object");
        goto done;
    }
    if (get_string(root, "model", &out->model, NULL, err) != 0) goto done;
    if (kind == SERVE_REQ_TOKENIZE) {
        if (get_string(root, "content", &out->content, &out->content_len, err) != 0) goto done;
        if (!out->content) {
            bad(err, "content", "is required");
            goto done;
        }
        if (get_bool(root, "add_special", &out->add_special, err) != 0 ||
            get_bool(root, "parse_special", &out->parse_special, err) != 0)
            goto done;
    } else if (kind == SERVE_REQ_DETOKENIZE) {
        if (get_tokens(root, "tokens", out, err) != 0) goto done;
    } else if (kind == SERVE_REQ_EMBEDDINGS) {
        if (get_embeddings(root, out, err) != 0) goto done;
    } else if (kind == SERVE_REQ_OBJECT) {
        out->body_json = root;
        root = NULL;
    } else if (get_generation(root, out, err) != 0) {
        goto done;
    }
    rc = 0;
done:
    cJSON_Delete(root);
    if (rc != 0) serve_request_free(out);
    return rc;
}

void serve_request_free(serve_request *req)
{
    if (!req) return;
    free(req->model);
    free(req->content);
    free(req->tokens);
    for (size_t i = 0; i < req->n_messages; i++) {
        free(req->messages[i].role);
        free(req->messages[i].content);
        free(req->messages[i].tool_calls);
        free(req->messages[i].tool_call_id);
    }
    free(req->messages);
    for (int i = 0; i < req->n_stop; i++) free(req->stop[i]);
    free(req->bias_id);
    free(req->bias);
    free(req->schema);
    free(req->tools);
    for (size_t i = 0; i < req->n_inputs; i++) free(req->inputs[i]);
    free(req->inputs);
    cJSON_Delete(req->extra);
    cJSON_Delete(req->body_json);
    const serve_request_kind kind = req->kind;
    memset(req, 0, sizeof *req);
    req->kind = kind;
}
