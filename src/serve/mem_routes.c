/*
 * mem_routes.c — the private memory behind `mote serve --memory DIR`:
 *
 *   POST /v1/memory/search {query, k?, mode?, kind?, source?, since?, until?}
 *        -> {"object": "list", "data": [hit...]} (hits as mote memory search --json)
 *   POST /v1/memory/add {paths: [...]}
 *        -> {"files", "added", "updated", "unchanged", "removed", "failed", "chunks"}
 *   POST /v1/memory/ask {question, model?, k?, and a chat's sampling, max_tokens, stream}
 *        -> a chat completion (or its stream) whose answer cites the sources,
 *           with "sources": [hit...] (a stream: in its first chunk)
 *
 * Search and add run as tasks (task.h), one at a time on the memory (its
 * lock). Ask retrieves, puts as many sources as the model's context holds
 * into a system message, and hands a chat request to the generation route
 * (gen.c): the model runs on its scheduler, streamed like any chat.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory/memory.h"
#include "serve/internal.h"
#include "serve/task.h"

#define SEARCH_K_DEFAULT 10
#define ASK_K_DEFAULT 6
#define ASK_MAX_TOKENS_DEFAULT 512
#define ADD_PATHS_MAX 1024

int serve_memory_start(serve_server *s, char *err, size_t errcap)
{
    pthread_mutex_init(&s->memory_lock, NULL);
    if (!s->cfg.memory_dir) return 0;
    memory_opts o = memory_default_opts();
    o.dir = s->cfg.memory_dir;
    o.key = s->cfg.memory_key;
    o.n_threads = s->cfg.n_threads;
    if (memory_open(&o, &s->memory) != MOTE_OK) return snprintf(err, errcap, "%s", mote_last_error()), -1;
    return 0;
}

void serve_memory_stop(serve_server *s)
{
    memory_close(s->memory);
    s->memory = NULL;
    pthread_mutex_destroy(&s->memory_lock);
}

/* 404 when the server has no memory. */
static int have_memory(const serve_server *s, serve_error *err)
{
    if (s->memory) return 1;
    serve_fail(err, 404, "invalid_request_error", "not_found", NULL,
               "this server has no memory: start it with --memory DIR");
    return 0;
}

/* ------------------------------------------------------------------------
 * Fields
 * ---------------------------------------------------------------------- */

static int bad(serve_error *err, const char *param, const char *what)
{
    return serve_fail(err, 400, "invalid_request_error", NULL, param, "'%s' %s", param, what);
}

/* An optional string; absent or null leaves *out. */
static int opt_string(const cJSON *o, const char *name, const char **out, serve_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsString(v)) return bad(err, name, "must be a string");
    *out = v->valuestring;
    return 0;
}

/* An optional integer in [lo, hi]. */
static int opt_int(const cJSON *o, const char *name, int lo, int hi, int *out, serve_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi) || v->valuedouble != (int)v->valuedouble)
        return serve_fail(err, 400, "invalid_request_error", NULL, name, "'%s' must be an integer from %d to %d", name,
                          lo, hi);
    *out = (int)v->valuedouble;
    return 0;
}

/* A search: the query's text and filters (the strings point into o). */
typedef struct search_args {
    mem_query q;
    int k;
    char source[PATH_MAX];
} search_args;

static int parse_search(const cJSON *o, const char *text_field, int k_default, search_args *a, serve_error *err)
{
    memset(a, 0, sizeof *a);
    a->q.kind = -1;
    a->k = k_default;
    const char *text = NULL, *mode = NULL, *kind = NULL, *source = NULL, *since = NULL, *until = NULL;
    if (opt_string(o, text_field, &text, err) || opt_int(o, "k", 1, MEM_SEARCH_K_MAX, &a->k, err) ||
        opt_string(o, "mode", &mode, err) || opt_string(o, "kind", &kind, err) || opt_string(o, "source", &source, err) ||
        opt_string(o, "since", &since, err) || opt_string(o, "until", &until, err))
        return -1;
    if (!text || !text[0]) return bad(err, text_field, "is required");
    a->q.text = text;
    if (!mode || strcmp(mode, "hybrid") == 0) a->q.mode = MEM_SEARCH_HYBRID;
    else if (strcmp(mode, "bm25") == 0) a->q.mode = MEM_SEARCH_BM25;
    else if (strcmp(mode, "vector") == 0) a->q.mode = MEM_SEARCH_VECTOR;
    else return bad(err, "mode", "must be hybrid, bm25 or vector");
    if (kind && memory_parse_kind(kind, &a->q.kind) != 0)
        return bad(err, "kind", "must be text, markdown, html, pdf, mail or sensor");
    if (since || until) {
        a->q.has_time = 1;
        a->q.t_lo = INT64_MIN;
        a->q.t_hi = INT64_MAX;
        if (since && memory_parse_time(since, &a->q.t_lo) != 0) return bad(err, "since", "must be a date or Unix seconds");
        if (until && memory_parse_time(until, &a->q.t_hi) != 0) return bad(err, "until", "must be a date or Unix seconds");
    }
    if (source) {
        if (!realpath(source, a->source)) snprintf(a->source, sizeof a->source, "%s", source);
        a->q.path_prefix = a->source;
    }
    return 0;
}

/* Search under the memory's lock: hits (calloc'd, k) and their count. */
static int run_search(serve_server *s, const search_args *a, mem_hit **hits, int *n, serve_error *err)
{
    *n = 0;
    if (!(*hits = calloc((size_t)a->k, sizeof **hits)))
        return serve_fail(err, 500, "server_error", NULL, NULL, "out of memory");
    pthread_mutex_lock(&s->memory_lock);
    const mote_status st = memory_search(s->memory, &a->q, *hits, a->k, n);
    pthread_mutex_unlock(&s->memory_lock);
    if (st == MOTE_OK) return 0;
    free(*hits);
    *hits = NULL;
    return serve_fail(err, st == MOTE_E_INVALID ? 400 : 500, st == MOTE_E_INVALID ? "invalid_request_error" : "server_error",
                      NULL, NULL, "%.200s", mote_last_error());
}

static cJSON *hits_array(const mem_hit *hits, int n)
{
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(arr, memory_hit_json(&hits[i], i + 1));
    return arr;
}

/* A JSON object (consumed) as a task's answer. */
static int json_body(cJSON *o, char **body, size_t *len, serve_error *err)
{
    *body = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!*body) return serve_fail(err, 500, "server_error", NULL, NULL, "out of memory");
    *len = strlen(*body);
    return 0;
}

/* ------------------------------------------------------------------------
 * Search
 * ---------------------------------------------------------------------- */

typedef struct search_task {
    serve_server *s;
    cJSON *body; /* the request's (the args point into it) */
    search_args a;
} search_task;

static void search_task_free(void *arg)
{
    search_task *t = arg;
    cJSON_Delete(t->body);
    free(t);
}

static int run_search_task(void *arg, char **body, size_t *len, serve_error *err)
{
    search_task *t = arg;
    mem_hit *hits;
    int n;
    if (run_search(t->s, &t->a, &hits, &n, err) != 0) return -1;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "object", "list");
    cJSON_AddItemToObject(o, "data", hits_array(hits, n));
    mem_hits_free(hits, n);
    free(hits);
    return json_body(o, body, len, err);
}

enum MHD_Result serve_post_memory_search(serve_server *s, struct MHD_Connection *c, serve_conn *conn,
                                         const serve_request *req)
{
    serve_error err;
    search_task *t = calloc(1, sizeof *t);
    if (!t) return MHD_NO;
    t->s = s;
    t->body = cJSON_Duplicate(req->body_json, 1);
    if (!have_memory(s, &err) || parse_search(t->body, "query", SEARCH_K_DEFAULT, &t->a, &err) != 0) {
        search_task_free(t);
        return serve_reply_error(c, &err);
    }
    return serve_task_start(s, c, conn, run_search_task, t, search_task_free);
}

/* ------------------------------------------------------------------------
 * Add
 * ---------------------------------------------------------------------- */

typedef struct add_task {
    serve_server *s;
    char **paths;
    int n;
} add_task;

static void add_task_free(void *arg)
{
    add_task *t = arg;
    for (int i = 0; i < t->n; i++) free(t->paths[i]);
    free(t->paths);
    free(t);
}

static int run_add_task(void *arg, char **body, size_t *len, serve_error *err)
{
    add_task *t = arg;
    memory_add_stats st;
    pthread_mutex_lock(&t->s->memory_lock);
    const mote_status rc = memory_add(t->s->memory, (const char *const *)t->paths, t->n, NULL, &st);
    pthread_mutex_unlock(&t->s->memory_lock);
    if (rc != MOTE_OK) return serve_fail(err, 500, "server_error", NULL, NULL, "%.200s", mote_last_error());
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "files", (double)st.files);
    cJSON_AddNumberToObject(o, "added", (double)st.added);
    cJSON_AddNumberToObject(o, "updated", (double)st.updated);
    cJSON_AddNumberToObject(o, "unchanged", (double)st.unchanged);
    cJSON_AddNumberToObject(o, "removed", (double)st.removed);
    cJSON_AddNumberToObject(o, "failed", (double)st.failed);
    cJSON_AddNumberToObject(o, "chunks", (double)st.chunks);
    cJSON_AddNumberToObject(o, "seconds", st.seconds);
    return json_body(o, body, len, err);
}

enum MHD_Result serve_post_memory_add(serve_server *s, struct MHD_Connection *c, serve_conn *conn,
                                      const serve_request *req)
{
    serve_error err;
    if (!have_memory(s, &err)) return serve_reply_error(c, &err);
    const cJSON *paths = cJSON_GetObjectItemCaseSensitive(req->body_json, "paths");
    const int n = cJSON_IsArray(paths) ? cJSON_GetArraySize(paths) : 0;
    if (n < 1 || n > ADD_PATHS_MAX) {
        serve_fail(&err, 400, "invalid_request_error", NULL, "paths",
                   "'paths' must be an array of 1 to %d file or folder paths on the server", ADD_PATHS_MAX);
        return serve_reply_error(c, &err);
    }
    add_task *t = calloc(1, sizeof *t);
    if (!t || !(t->paths = calloc((size_t)n, sizeof *t->paths))) {
        free(t);
        return MHD_NO;
    }
    t->s = s;
    for (const cJSON *p = paths->child; p; p = p->next) {
        if (!cJSON_IsString(p) || !p->valuestring[0]) {
            add_task_free(t);
            serve_fail(&err, 400, "invalid_request_error", NULL, "paths", "'paths' must hold non-empty strings");
            return serve_reply_error(c, &err);
        }
        if (!(t->paths[t->n++] = strdup(p->valuestring))) {
            add_task_free(t);
            return MHD_NO;
        }
    }
    return serve_task_start(s, c, conn, run_add_task, t, add_task_free);
}

/* ------------------------------------------------------------------------
 * Ask
 * ---------------------------------------------------------------------- */

/* The tokens the system (sources) and user (question) messages take in
 * model's chat template, or an estimate from their plain tokens. */
static size_t prompt_tokens(const mote_model *model, const char *sys, const char *question)
{
    const mote_chat_message msgs[] = {{"system", sys}, {"user", question}};
    size_t n = 0;
    const mote_status st = mote_chat_tokenize(model, NULL, msgs, 2, 1, NULL, 0, &n);
    if (st == MOTE_OK || st == MOTE_E_RANGE) return n;
    size_t a = 0, b = 0;
    mote_tokenize(model, sys, strlen(sys), 1, 0, NULL, 0, &a);
    mote_tokenize(model, question, strlen(question), 0, 0, NULL, 0, &b);
    return a + b + 32; /* the fallback template's markers */
}

enum MHD_Result serve_post_memory_ask(serve_server *s, struct MHD_Connection *c, serve_conn *conn,
                                      const serve_request *req)
{
    serve_error err;
    search_args a;
    if (!have_memory(s, &err) || parse_search(req->body_json, "question", ASK_K_DEFAULT, &a, &err) != 0)
        return serve_reply_error(c, &err);
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(req->body_json, "max_tokens");
    const int max_tokens = cJSON_IsNumber(mt) && mt->valuedouble >= 1 ? (int)mt->valuedouble : ASK_MAX_TOKENS_DEFAULT;
    /* the model first: its context bounds the sources */
    serve_model *m = serve_find_model(s, conn, req->model, &err);
    if (!m)
        return conn->retry_after ? serve_reply_error_with(c, &err, MHD_HTTP_HEADER_RETRY_AFTER, "1")
                                 : serve_reply_error(c, &err);
    if (!m->sched) {
        serve_fail(&err, 400, "invalid_request_error", "model_not_supported", "model",
                   "model '%.100s' is an embedding model: ask needs one that generates", m->cfg.id);
        return serve_reply_error(c, &err);
    }
    mem_hit *hits;
    int n;
    if (run_search(s, &a, &hits, &n, &err) != 0) return serve_reply_error(c, &err);
    const int n_ctx = sched_n_ctx(m->sched);
    char *sys = NULL;
    for (int used = n; used >= 0; used--) { /* as many sources as fit, best first */
        free(sys);
        sys = memory_system_text(hits, used);
        if (!sys || used == 0 || (int)prompt_tokens(m->model, sys, a.q.text) + max_tokens <= n_ctx) {
            mem_hits_free(hits + used, n - used);
            n = used;
            break;
        }
    }
    /* the chat request: the body's own fields (model, sampling, stream,
     * ...), the sources and the question as its messages */
    cJSON *chat = cJSON_Duplicate(req->body_json, 1);
    static const char *const ours[] = {"question", "k", "mode", "kind", "source", "since", "until", "messages"};
    for (size_t i = 0; i < sizeof ours / sizeof *ours; i++) cJSON_DeleteItemFromObjectCaseSensitive(chat, ours[i]);
    cJSON *msgs = cJSON_AddArrayToObject(chat, "messages"), *msg;
    cJSON_AddItemToArray(msgs, msg = cJSON_CreateObject());
    cJSON_AddStringToObject(msg, "role", "system");
    cJSON_AddStringToObject(msg, "content", sys ? sys : "");
    cJSON_AddItemToArray(msgs, msg = cJSON_CreateObject());
    cJSON_AddStringToObject(msg, "role", "user");
    cJSON_AddStringToObject(msg, "content", a.q.text);
    if (!cJSON_GetObjectItemCaseSensitive(chat, "max_tokens")) cJSON_AddNumberToObject(chat, "max_tokens", max_tokens);
    free(sys);
    char *text = cJSON_PrintUnformatted(chat);
    cJSON_Delete(chat);
    serve_request chat_req;
    enum MHD_Result r;
    if (!text) {
        r = MHD_NO;
    } else if (serve_parse_request(SERVE_REQ_CHAT, text, strlen(text), &chat_req, &err) != 0) {
        r = serve_reply_error(c, &err);
    } else {
        chat_req.extra = cJSON_CreateObject();
        cJSON_AddItemToObject(chat_req.extra, "sources", hits_array(hits, n));
        r = serve_post_chat(s, c, conn, &chat_req);
        serve_request_free(&chat_req);
    }
    free(text);
    mem_hits_free(hits, n);
    free(hits);
    return r;
}
