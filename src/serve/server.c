/*
 * server.c — `mote serve`'s HTTP routes on libmicrohttpd: /health,
 * /v1/models, /tokenize, /detokenize (the generation routes are gen.c's),
 * and OpenAI's error object for every refusal.
 *
 * Requests are handled in MHD's one polling thread (epoll), which sleeps
 * in the kernel while there is nothing to do. A body is gathered into a
 * buffer of at most max_body bytes, then parsed by request.c. Generation
 * runs on each model's scheduler thread (sched.c); its connection is
 * suspended while it waits, and resumed when output is ready.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "mote.h"
#include "serve/internal.h"
#include "serve/task.h"

/* How long serve_stop waits for requests in flight before closing them. */
#define SERVE_DRAIN_MS 10000
#define SERVE_DRAIN_STEP_MS 20

/* ------------------------------------------------------------------------
 * Responses
 * ---------------------------------------------------------------------- */

/* Queue `json` (consumed) with `status`, and one more header unless
 * header is NULL. */
static enum MHD_Result reply_json_with(struct MHD_Connection *c, unsigned status, cJSON *json, const char *header,
                                       const char *value)
{
    char *text = json ? cJSON_PrintUnformatted(json) : NULL;
    cJSON_Delete(json);
    if (!text) return MHD_NO; /* out of memory: MHD closes the connection */
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    serve_note_status(status);
    if (status == MHD_HTTP_UNAUTHORIZED) MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (header) MHD_add_response_header(r, header, value);
    const enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

enum MHD_Result serve_reply_body(struct MHD_Connection *c, unsigned status, char *body, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    serve_note_status(status);
    const enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

enum MHD_Result serve_reply_json(struct MHD_Connection *c, unsigned status, cJSON *json)
{
    return reply_json_with(c, status, json, NULL, NULL);
}

enum MHD_Result serve_reply_error_with(struct MHD_Connection *c, const serve_error *e, const char *header,
                                       const char *value)
{
    cJSON *root = cJSON_CreateObject(), *obj = cJSON_AddObjectToObject(root, "error");
    cJSON_AddStringToObject(obj, "message", e->message);
    cJSON_AddStringToObject(obj, "type", e->type);
    if (e->param[0]) cJSON_AddStringToObject(obj, "param", e->param);
    else cJSON_AddNullToObject(obj, "param");
    if (e->code) cJSON_AddStringToObject(obj, "code", e->code);
    else cJSON_AddNullToObject(obj, "code");
    return reply_json_with(c, (unsigned)e->status, root, header, value);
}

enum MHD_Result serve_reply_error(struct MHD_Connection *c, const serve_error *e)
{
    return serve_reply_error_with(c, e, NULL, NULL);
}

static enum MHD_Result fail(struct MHD_Connection *c, int status, const char *type, const char *code,
                            const char *param, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static enum MHD_Result fail(struct MHD_Connection *c, int status, const char *type, const char *code,
                            const char *param, const char *fmt, ...)
{
    serve_error e;
    serve_fail(&e, status, type, code, param, "%s", "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.message, sizeof e.message, fmt, ap);
    va_end(ap);
    return serve_reply_error(c, &e);
}

/* ------------------------------------------------------------------------
 * Text
 * ---------------------------------------------------------------------- */

/* The length of the valid UTF-8 sequence at s[0..n), or 0 when it is not
 * one (overlong forms, surrogates and code points past U+10FFFF are not). */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    if (s[0] < 0x80) return 1;
    size_t len;
    unsigned cp;
    if ((s[0] & 0xE0) == 0xC0) len = 2, cp = s[0] & 0x1F;
    else if ((s[0] & 0xF0) == 0xE0) len = 3, cp = s[0] & 0x0F;
    else if ((s[0] & 0xF8) == 0xF0) len = 4, cp = s[0] & 0x07;
    else return 0;
    if (len > n) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    static const unsigned min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

/* A detokenized prefix may end inside a character; JSON must be UTF-8. */
char *serve_utf8_repaired(const char *text, size_t n)
{
    char *out = malloc(3 * n + 1), *o = out;
    if (!out) return NULL;
    for (size_t i = 0; i < n;) {
        const size_t len = utf8_seq_len((const unsigned char *)text + i, n - i);
        if (len) {
            memcpy(o, text + i, len);
            o += len;
            i += len;
        } else {
            memcpy(o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    *o = '\0';
    return out;
}

/* ------------------------------------------------------------------------
 * Metrics
 * ---------------------------------------------------------------------- */

static const unsigned codes[SERVE_N_CODES - 1] = {200, 400, 401, 404, 405, 413, 429, 431, 500, 503, 504};

/* Handlers run on MHD's one polling thread: a plain static will do. */
static unsigned last_status;

void serve_note_status(unsigned status)
{
    last_status = status;
}

static void count_answer(serve_server *s, const serve_conn *conn)
{
    if (!conn->status) return; /* closed before an answer */
    int k = SERVE_N_CODES - 1;
    for (int i = 0; i < SERVE_N_CODES - 1; i++)
        if (codes[i] == conn->status) k = i;
    const int r = conn->route >= 0 && conn->route < SERVE_N_ROUTES_MAX ? conn->route : SERVE_N_ROUTES_MAX;
    s->answered[r][k]++;
}

/* A label value: the model ids are file stems, which may hold '"' or '\'. */
static void label(FILE *f, const char *v)
{
    for (; *v; v++) {
        if (*v == '"' || *v == '\\') fputc('\\', f);
        if (*v == '\n') fputs("\\n", f);
        else fputc(*v, f);
    }
}

static enum MHD_Result get_metrics(serve_server *s, struct MHD_Connection *c);

/* ------------------------------------------------------------------------
 * Routes
 * ---------------------------------------------------------------------- */

static enum MHD_Result get_health(serve_server *s, struct MHD_Connection *c)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "status", "ok");
    return serve_reply_json(c, MHD_HTTP_OK, root);
}

static enum MHD_Result get_models(serve_server *s, struct MHD_Connection *c)
{
    return serve_reply_json(c, MHD_HTTP_OK, serve_models_json(s));
}

/* A refusal of find_model or an admin action: 503s of the budget say
 * when to retry. */
static enum MHD_Result reply_model_error(struct MHD_Connection *c, const serve_error *e, int retry)
{
    return retry ? serve_reply_error_with(c, e, MHD_HTTP_HEADER_RETRY_AFTER, "1") : serve_reply_error(c, e);
}

/* GET /v1/models/{name}: one model (OpenAI's "retrieve model", with
 * mote's status); POST /v1/models/{name}/{load,unload,pin,unpin}. */
static enum MHD_Result model_route(serve_server *s, struct MHD_Connection *c, const char *rest, int post)
{
    char name[SERVE_ID_MAX + 1], action[16] = "";
    const char *slash = strrchr(rest, '/');
    const size_t n = post && slash ? (size_t)(slash - rest) : strlen(rest);
    serve_error err;
    if (n == 0 || n > SERVE_ID_MAX || (post && (!slash || strlen(slash + 1) >= sizeof action)))
        return fail(c, 404, "invalid_request_error", "not_found", NULL,
                    post ? "Invalid URL: POST /v1/models/{model}/{load,unload,pin,unpin}" : "Invalid URL: GET /v1/models/{model}");
    memcpy(name, rest, n);
    name[n] = '\0';
    if (post) strcpy(action, slash + 1);
    int retry = 0;
    cJSON *o = post ? serve_model_admin(s, name, action, &err, &retry) : serve_model_json(s, name, &err);
    return o ? serve_reply_json(c, MHD_HTTP_OK, o) : reply_model_error(c, &err, retry);
}

static enum MHD_Result post_tokenize(serve_server *s, struct MHD_Connection *c, serve_conn *conn,
                                     const serve_request *req)
{
    serve_error err;
    const serve_model *m = serve_find_model(s, conn, req->model, &err);
    if (!m) return reply_model_error(c, &err, conn->retry_after);
    mote_model *model = m->model;
    size_t n = 0;
    mote_status st = mote_tokenize(model, req->content, req->content_len, req->add_special, req->parse_special,
                                   NULL, 0, &n);
    mote_token *toks = n ? malloc(n * sizeof *toks) : NULL;
    if (n && !toks) return fail(c, 500, "server_error", NULL, NULL, "out of memory");
    if (st == MOTE_OK || st == MOTE_E_RANGE)
        st = mote_tokenize(model, req->content, req->content_len, req->add_special, req->parse_special, toks, n, &n);
    if (st != MOTE_OK) {
        free(toks);
        return fail(c, 500, "server_error", NULL, "content", "tokenizing: %.200s", mote_last_error());
    }
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(root, "tokens");
    for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(arr, cJSON_CreateNumber(toks[i]));
    free(toks);
    return serve_reply_json(c, MHD_HTTP_OK, root);
}

static enum MHD_Result post_detokenize(serve_server *s, struct MHD_Connection *c, serve_conn *conn,
                                       const serve_request *req)
{
    serve_error err;
    const serve_model *m = serve_find_model(s, conn, req->model, &err);
    if (!m) return reply_model_error(c, &err, conn->retry_after);
    mote_model *model = m->model;
    const int n_vocab = mote_vocab_size(model);
    for (size_t i = 0; i < req->n_tokens; i++)
        if (req->tokens[i] >= n_vocab)
            return fail(c, 400, "invalid_request_error", NULL, "tokens",
                        "'tokens' holds %d, outside the vocabulary of %d tokens", (int)req->tokens[i], n_vocab);
    char *text = NULL;
    if (mote_detokenize(model, req->tokens, req->n_tokens, 0, &text) != MOTE_OK)
        return fail(c, 500, "server_error", NULL, "tokens", "detokenizing: %.200s", mote_last_error());
    char *valid = serve_utf8_repaired(text, strlen(text));
    mote_free(text);
    if (!valid) return fail(c, 500, "server_error", NULL, NULL, "out of memory");
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "content", valid);
    free(valid);
    return serve_reply_json(c, MHD_HTTP_OK, root);
}

/* GET /: the chat page (src/serve/chat.html, generated into chat_page.c).
 * It holds no secret, so it is served without the API key; it asks for
 * the key when the API answers 401. Its script and style are inline and
 * it talks to this server only, which the policy says. */
extern const char serve_chat_page[];
extern const unsigned long serve_chat_page_len;

static enum MHD_Result get_page(serve_server *s, struct MHD_Connection *c)
{
    (void)s;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(serve_chat_page_len, (void *)serve_chat_page, MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/html; charset=utf-8");
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                            "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
                            "frame-ancestors 'none'");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    serve_note_status(MHD_HTTP_OK);
    const enum MHD_Result ok = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ok;
}

typedef enum route_method { ROUTE_GET, ROUTE_POST } route_method;

typedef struct route {
    const char *path;
    route_method method;
    serve_request_kind kind;  /* POST: how the body is parsed */
    enum MHD_Result (*get)(serve_server *, struct MHD_Connection *);
    enum MHD_Result (*post)(serve_server *, struct MHD_Connection *, serve_conn *, const serve_request *);
} route;

static const route routes[] = {
    {"/", ROUTE_GET, 0, get_page, NULL},
    {"/health", ROUTE_GET, 0, get_health, NULL},
    {"/v1/models", ROUTE_GET, 0, get_models, NULL},
    {"/metrics", ROUTE_GET, 0, get_metrics, NULL},
    {"/tokenize", ROUTE_POST, SERVE_REQ_TOKENIZE, NULL, post_tokenize},
    {"/detokenize", ROUTE_POST, SERVE_REQ_DETOKENIZE, NULL, post_detokenize},
    {"/v1/chat/completions", ROUTE_POST, SERVE_REQ_CHAT, NULL, serve_post_chat},
    {"/v1/completions", ROUTE_POST, SERVE_REQ_COMPLETION, NULL, serve_post_completion},
    {"/v1/embeddings", ROUTE_POST, SERVE_REQ_EMBEDDINGS, NULL, serve_post_embeddings},
    {"/v1/memory/search", ROUTE_POST, SERVE_REQ_OBJECT, NULL, serve_post_memory_search},
    {"/v1/memory/add", ROUTE_POST, SERVE_REQ_OBJECT, NULL, serve_post_memory_add},
    {"/v1/memory/ask", ROUTE_POST, SERVE_REQ_OBJECT, NULL, serve_post_memory_ask},
};
#define N_ROUTES (sizeof routes / sizeof routes[0])
/* GET /v1/models/{name}, POST /v1/models/{name}/{action}: model_route */
#define MODELS_PREFIX "/v1/models/"

static enum MHD_Result get_metrics(serve_server *s, struct MHD_Connection *c)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return MHD_NO;
    fprintf(f, "# HELP mote_http_responses_total Responses sent, by path and status.\n"
               "# TYPE mote_http_responses_total counter\n");
    for (size_t r = 0; r <= N_ROUTES; r++)
        for (int k = 0; k < SERVE_N_CODES; k++) {
            const unsigned long long n = s->answered[r < N_ROUTES ? r : SERVE_N_ROUTES_MAX][k];
            if (!n) continue;
            fprintf(f, "mote_http_responses_total{path=\"%s\",code=\"", r < N_ROUTES ? routes[r].path : "other");
            if (k < SERVE_N_CODES - 1) fprintf(f, "%u", codes[k]);
            else fputs("other", f);
            fprintf(f, "\"} %llu\n", n);
        }
    fprintf(f, "# HELP mote_http_requests_in_flight Requests begun and not yet completed.\n"
               "# TYPE mote_http_requests_in_flight gauge\nmote_http_requests_in_flight %d\n",
            (int)s->in_flight - 1 /* not this one */);
    static const char *const help[][3] = {
        {"mote_model_loaded", "gauge", "1 when the model is loaded."},
        {"mote_model_bytes", "gauge", "Bytes the memory budget holds for the model: file, KV cache, scratch."},
        {"mote_requests_queued", "gauge", "Requests waiting for a slot."},
        {"mote_requests_running", "gauge", "Requests generating."},
        {"mote_slots", "gauge", "Requests a model generates at once."},
        {"mote_prompt_tokens_total", "counter", "Prompt tokens evaluated."},
        {"mote_generated_tokens_total", "counter", "Tokens generated."},
        {"mote_forward_seconds_total", "counter", "Time spent in forward passes."},
        {"mote_tokens_per_second", "gauge", "Tokens (prompt and generated) per second of forward passes, since start."},
        {"mote_model_loads_total", "counter", "Times the model was loaded."},
        {"mote_model_evictions_total", "counter", "Times the model was unloaded to make room for another."},
        {"mote_model_load_seconds", "gauge", "How long the last load took."},
        {"mote_model_first_token_seconds", "gauge", "From the start of the last load to its first generated token."},
    };
    for (size_t h = 0; h < sizeof help / sizeof *help; h++) {
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", help[h][0], help[h][2], help[h][0], help[h][1]);
        for (int i = 0; i < s->n_models; i++) {
            pthread_mutex_lock(&s->lock);
            const serve_model *m = &s->models[i];
            sched_stats st = {0};
            if (m->sched) sched_get_stats(m->sched, &st);
            const serve_model now = *m;
            pthread_mutex_unlock(&s->lock);
            fprintf(f, "%s{model=\"", help[h][0]);
            label(f, m->cfg.id);
            fputs("\"} ", f);
            switch (h) {
            case 0: fprintf(f, "%d\n", now.model != NULL); break;
            case 1: fprintf(f, "%llu\n", (unsigned long long)now.charged); break;
            case 2: fprintf(f, "%d\n", st.queued); break;
            case 3: fprintf(f, "%d\n", st.running); break;
            case 4: fprintf(f, "%d\n", st.n_parallel); break;
            case 5: fprintf(f, "%lld\n", st.n_prompt_tokens); break;
            case 6: fprintf(f, "%lld\n", st.n_generated_tokens); break;
            case 7: fprintf(f, "%.6f\n", st.busy_seconds); break;
            case 8:
                fprintf(f, "%.3f\n",
                        st.busy_seconds > 0 ? (double)(st.n_prompt_tokens + st.n_generated_tokens) / st.busy_seconds : 0.0);
                break;
            case 9: fprintf(f, "%llu\n", now.n_loads); break;
            case 10: fprintf(f, "%llu\n", now.n_evictions); break;
            case 11: fprintf(f, "%.6f\n", now.load_ms * 1e-3); break;
            default: fprintf(f, "%.6f\n", now.first_token_ms * 1e-3);
            }
        }
    }
    pthread_mutex_lock(&s->lock);
    const unsigned long long budget = s->cfg.memory_budget, used = s->charged, evictions = s->n_evictions;
    pthread_mutex_unlock(&s->lock);
    fprintf(f, "# HELP mote_memory_budget_bytes Bytes the loaded models may hold together.\n"
               "# TYPE mote_memory_budget_bytes gauge\nmote_memory_budget_bytes %llu\n"
               "# HELP mote_memory_used_bytes Bytes the loaded models hold.\n"
               "# TYPE mote_memory_used_bytes gauge\nmote_memory_used_bytes %llu\n"
               "# HELP mote_evictions_total Models unloaded to make room for others.\n"
               "# TYPE mote_evictions_total counter\nmote_evictions_total %llu\n",
            budget, used, evictions);
    if (fclose(f) != 0 || !text) return free(text), MHD_NO;
    struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!r) return free(text), MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
    serve_note_status(MHD_HTTP_OK);
    const enum MHD_Result ok = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ok;
}

/* ------------------------------------------------------------------------
 * The handler: auth, routing, body, dispatch
 * ---------------------------------------------------------------------- */

static int authorized(const serve_server *s, struct MHD_Connection *c)
{
    if (!s->cfg.api_key) return 1;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    static const char bearer[] = "Bearer ";
    if (!h || strncmp(h, bearer, sizeof bearer - 1) != 0) return 0;
    h += sizeof bearer - 1;
    return serve_secret_equal(h, strlen(h), s->cfg.api_key, strlen(s->cfg.api_key));
}

/* The route of url and method; NULL with *known set (1 + the route's
 * method) when only the method is wrong. */
static const route *find_route(const char *url, const char *method, int *known)
{
    const route_method m = strcmp(method, MHD_HTTP_METHOD_POST) == 0 ? ROUTE_POST : ROUTE_GET;
    const int is_get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    *known = 0;
    for (size_t i = 0; i < N_ROUTES; i++) {
        if (strcmp(routes[i].path, url) != 0) continue;
        *known = 1 + (int)routes[i].method;
        if ((routes[i].method == ROUTE_GET && is_get) || (routes[i].method == ROUTE_POST && m == ROUTE_POST))
            return &routes[i];
    }
    return NULL;
}

static enum MHD_Result handle_request(serve_server *s, struct MHD_Connection *c, const char *url,
                                      const char *method, const char *upload, size_t *upload_size, void **con_cls)
{
    serve_conn *conn = *con_cls;
    if (!conn) { /* first call: headers only */
        if (!(conn = calloc(1, sizeof *conn))) return MHD_NO;
        *con_cls = conn;
        conn->route = -1;
        s->in_flight++;
        const int page = strcmp(url, "/") == 0 && strcmp(method, MHD_HTTP_METHOD_POST) != 0;
        if (!page && !authorized(s, c))
            return fail(c, 401, "invalid_request_error", "invalid_api_key", NULL,
                        "Missing or incorrect API key: send 'Authorization: Bearer KEY'");
        int known;
        const route *r = find_route(url, method, &known);
        if (!r && strncmp(url, MODELS_PREFIX, sizeof MODELS_PREFIX - 1) == 0) {
            const int post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
            if (!post && strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
                serve_error e;
                serve_fail(&e, 405, "invalid_request_error", "method_not_allowed", NULL,
                           "%.16s is not allowed on %.100s", method, url);
                return serve_reply_error_with(c, &e, MHD_HTTP_HEADER_ALLOW, "GET, HEAD, POST");
            }
            conn->model_route = 1;
            return MHD_YES; /* answered once the body (ignored) has come */
        }
        if (!r && known) {
            serve_error e;
            serve_fail(&e, 405, "invalid_request_error", "method_not_allowed", NULL, "%.16s is not allowed on %.100s",
                       method, url);
            return serve_reply_error_with(c, &e, MHD_HTTP_HEADER_ALLOW, known == ROUTE_POST + 1 ? "POST" : "GET, HEAD");
        }
        if (!r) return fail(c, 404, "invalid_request_error", "not_found", NULL, "Invalid URL (%.16s %.100s)", method, url);
        conn->route = (int)(r - routes);
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > s->cfg.max_body)
            return fail(c, 413, "invalid_request_error", "request_too_large", NULL,
                        "The request body is larger than %zu bytes", s->cfg.max_body);
        return MHD_YES;
    }
    if (*upload_size) { /* a piece of the body */
        const size_t n = *upload_size;
        *upload_size = 0;
        if (conn->too_large || n > s->cfg.max_body - conn->len) {
            conn->too_large = 1;
            return MHD_YES;
        }
        if (conn->len + n > conn->cap) {
            size_t cap = conn->cap ? conn->cap : 4096;
            while (cap < conn->len + n) cap *= 2;
            char *b = realloc(conn->body, cap);
            if (!b) return MHD_NO;
            conn->body = b;
            conn->cap = cap;
        }
        memcpy(conn->body + conn->len, upload, n);
        conn->len += n;
        return MHD_YES;
    }
    /* the request is complete (or a suspended generation resumed) */
    if (conn->gen) return serve_gen_resume(s, c, conn);
    if (conn->task) return serve_task_resume(c, conn);
    if (conn->too_large)
        return fail(c, 413, "invalid_request_error", "request_too_large", NULL,
                    "The request body is larger than %zu bytes", s->cfg.max_body);
    if (conn->model_route)
        return model_route(s, c, url + sizeof MODELS_PREFIX - 1, strcmp(method, MHD_HTTP_METHOD_POST) == 0);
    int known;
    const route *r = find_route(url, method, &known);
    if (r->get) return r->get(s, c);
    serve_request req;
    serve_error err;
    if (serve_parse_request(r->kind, conn->body ? conn->body : "", conn->len, &req, &err) != 0)
        return serve_reply_error(c, &err);
    const enum MHD_Result ok = r->post(s, c, conn, &req);
    serve_request_free(&req);
    return ok;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    last_status = 0;
    const enum MHD_Result ok = handle_request(cls, c, url, method, upload, upload_size, con_cls);
    serve_conn *conn = *con_cls;
    if (conn && last_status) conn->status = last_status;
    return ok;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode why)
{
    serve_server *s = cls;
    serve_conn *conn = *con_cls;
    if (conn) {
        count_answer(s, conn);
        serve_gen_free(conn->gen);
        serve_task_free(conn->task);
        if (conn->model) serve_release_model(s, conn->model);
        free(conn->body);
        s->in_flight--;
    }
    free(conn);
    *con_cls = NULL;
}

/* ------------------------------------------------------------------------
 * Start and stop
 * ---------------------------------------------------------------------- */

/* MHD's own messages (a client that closed mid-request, a malformed
 * header) go to stderr, at most one a second: a flood of bad clients must
 * not become a flood of log lines. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    static time_t last;
    static unsigned dropped;
    const time_t now = time(NULL);
    if (now == last) {
        dropped++;
        return;
    }
    last = now;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    if (dropped) fprintf(stderr, "mote serve: http: %s (and %u more messages)\n", msg, dropped);
    else fprintf(stderr, "mote serve: http: %s\n", msg);
    dropped = 0;
}

int serve_host_is_loopback(const char *host)
{
    if (strcmp(host, "localhost") == 0) return 1;
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
    return 0;
}

int serve_secret_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    /* Every byte of b is read whatever a holds; a differing length only
     * sets a bit of the difference. */
    volatile unsigned char diff = (unsigned char)(alen != blen);
    for (size_t i = 0; i < blen; i++) diff |= (unsigned char)(b[i] ^ (i < alen ? a[i] : 0));
    return diff == 0;
}

static void free_server(serve_server *s)
{
    serve_fleet_stop(s);
    serve_memory_stop(s);
    pthread_cond_destroy(&s->janitor_cond);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

int serve_start(const serve_config *cfg, serve_server **out, char *err, size_t errcap)
{
    *out = NULL;
    serve_server *s = calloc(1, sizeof *s);
    if (!s) return snprintf(err, errcap, "out of memory"), -1;
    s->cfg = *cfg;
    s->created = time(NULL);
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->janitor_cond, &ca);
    pthread_condattr_destroy(&ca);
    _Static_assert(N_ROUTES <= SERVE_N_ROUTES_MAX, "more routes than /metrics counts");
    if (!s->cfg.memory_budget) {
        const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
        s->cfg.memory_budget = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page / 4 * 3 : UINT64_MAX / 2;
    }
    if (serve_fleet_start(s, err, errcap) != 0 || serve_fleet_load_pinned(s, err, errcap) != 0 ||
        serve_memory_start(s, err, errcap) != 0)
        return free_server(s), -1;

    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    char port[16];
    snprintf(port, sizeof port, "%d", cfg->port);
    const char *host = strcmp(cfg->host, "localhost") == 0 ? "127.0.0.1" : cfg->host;
    const int gai = getaddrinfo(host, port, &hints, &ai);
    if (gai != 0) {
        snprintf(err, errcap, "--host %s: not a numeric IPv4 or IPv6 address (%s)", cfg->host, gai_strerror(gai));
        return free_server(s), -1;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
#ifdef __linux__
    flags |= MHD_USE_EPOLL;
#else
    flags |= MHD_USE_POLL;
#endif
    if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
    s->daemon = MHD_start_daemon(flags, (uint16_t)cfg->port, NULL, NULL, handle, s,
                                 MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, /* first, to catch every message */
                                 MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                                 MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections,
                                 MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout_s,
                                 MHD_OPTION_CONNECTION_MEMORY_LIMIT, cfg->max_header,
                                 MHD_OPTION_NOTIFY_COMPLETED, completed, s,
                                 MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!s->daemon) {
        snprintf(err, errcap, "cannot listen on %s port %d (in use, or not an address of this machine?)", cfg->host,
                 cfg->port);
        return free_server(s), -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : cfg->port;
    *out = s;
    return 0;
}

int serve_port(const serve_server *s)
{
    return s->port;
}

void serve_stop(serve_server *s)
{
    if (!s) return;
    /* Stop accepting, then give the requests in flight time to end (idle
     * keep-alive connections are closed at once by MHD_stop_daemon). */
    const MHD_socket fd = MHD_quiesce_daemon(s->daemon);
    if (fd != MHD_INVALID_SOCKET) close(fd);
    for (int waited = 0; s->in_flight > 0 && waited < SERVE_DRAIN_MS; waited += SERVE_DRAIN_STEP_MS)
        nanosleep(&(struct timespec){0, SERVE_DRAIN_STEP_MS * 1000000L}, NULL);
    /* Cancel the generations still running: their connections resume,
     * answer (a stream gets an error event and its end) and complete. No
     * connection may stay suspended when MHD stops. */
    serve_fleet_cancel_all(s);
    for (int waited = 0; s->in_flight > 0 && waited < SERVE_DRAIN_MS; waited += SERVE_DRAIN_STEP_MS)
        nanosleep(&(struct timespec){0, SERVE_DRAIN_STEP_MS * 1000000L}, NULL);
    MHD_stop_daemon(s->daemon);
    free_server(s);
}
