/*
 * request.c — parse and validate the JSON bodies of requests (cJSON).
 *
 * Every field is checked for its type and range here, so that the
 * handlers see only well-formed requests; each refusal names its field.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

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

/* A required array of token ids: integers in [0, INT32_MAX]. Whether an id
 * is in the model's vocabulary is the handler's check. */
static int get_tokens(const cJSON *obj, const char *name, serve_request *req, serve_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!v) return bad(err, name, "is required");
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

int serve_parse_request(serve_request_kind kind, const char *body, size_t len, serve_request *out,
                        serve_error *err)
{
    memset(out, 0, sizeof *out);
    out->kind = kind;
    out->parse_special = 1;
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
    } else if (get_tokens(root, "tokens", out, err) != 0) {
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
    const serve_request_kind kind = req->kind;
    memset(req, 0, sizeof *req);
    req->kind = kind;
}
