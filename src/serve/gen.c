/*
 * gen.c — POST /v1/chat/completions and /v1/completions: the prompt is
 * built and checked here (chat template, tokens, the context), the job
 * runs on the model's scheduler (sched.c), and the answer is OpenAI's:
 * one JSON object, or with "stream" server-sent events ending in
 * "data: [DONE]".
 *
 * The connection never blocks MHD's thread. A request without "stream"
 * is suspended until its job ends (the handler is called again on each
 * resume, see serve_gen_resume); a stream's content reader formats what
 * is ready and suspends the connection when nothing is.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "serve/internal.h"

/* The template of a model that has none, as llama.cpp's fallback: ChatML.
 * Its end marker is then a stop string, in case the vocabulary lacks it. */
static const char chatml_template[] =
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}";
static const char chatml_end[] = "<|im_end|>";

/* OpenAI's legacy completions default to 16 tokens; chat to the context. */
#define COMPLETION_DEFAULT_MAX_TOKENS 16
/* Bytes a stream's reader asks of MHD at a time. */
#define STREAM_BLOCK 4096

struct serve_gen {
    serve_server *server;
    struct MHD_Connection *mhd;
    int fd;                    /* the client's socket (peer_closed) */
    int chat;                  /* chat.completion(s), else text_completion */
    int stream, include_usage, top_logprobs;
    const mote_model *model;
    serve_model *served;       /* the fleet's entry: its first token after a load is logged */
    int seen_token;            /* a take has shown a generated token */
    char *model_id;
    char id[48];
    time_t created;
    sched_job *job;
    /* without stream: the answer so far */
    char *text;
    size_t len, cap;
    sched_token *toks;
    int n_toks, cap_toks;
    char *echo;                /* completion with echo: the prompt's text */
    /* stream: SSE bytes not yet given to MHD */
    char *out;
    size_t out_len, out_pos, out_cap;
    int sent_first, done;
    size_t text_offset;        /* completion logprobs: where the next token's text starts */
    /* chat with tools: the answer is kept whole (text) to find the calls;
     * a stream sends the content before them, held back where a call may
     * begin */
    int tools;                 /* the model may (or must) call a tool */
    int forced;                /* tool_choice required or named */
    int format;                /* tool_format */
    size_t streamed;           /* bytes of text sent as content */
    cJSON *extra;              /* fields the answer (a stream: its first chunk) carries besides
                                * OpenAI's: the memory's sources; or NULL */
    int extra_sent;
};

/* ------------------------------------------------------------------------
 * The job's consumer callbacks (called under the job's lock)
 * ---------------------------------------------------------------------- */

static void gen_park(void *u)
{
    MHD_suspend_connection(((serve_gen *)u)->mhd);
}

static void gen_wake(void *u)
{
    MHD_resume_connection(((serve_gen *)u)->mhd);
}

/* The client closed its end (or the socket failed): nobody will read. */
static int gen_peer_closed(void *u)
{
    const serve_gen *g = u;
    char b;
    const ssize_t r = recv(g->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

void serve_gen_free(serve_gen *g)
{
    if (!g) return;
    sched_job_release(g->job);
    free(g->model_id);
    free(g->text);
    free(g->toks);
    free(g->echo);
    free(g->out);
    cJSON_Delete(g->extra);
    free(g);
}

/* ------------------------------------------------------------------------
 * Tool calls
 *
 * How a model writes a call depends on its family; the chat template says
 * which: Hermes-style <tool_call>{"name", "arguments"}</tool_call> (Qwen
 * 2.5 and 3, Hermes, SmolLM3, and mote's own prompt for templates that
 * show no tools, ChatML's included), Llama 3's bare {"name",
 * "parameters"}, Mistral's [TOOL_CALLS][{"name", "arguments"}...]. With
 * tool_choice required or a function, sampling is constrained to one
 * call in that form (the arguments to the function's parameters schema).
 * ---------------------------------------------------------------------- */

typedef enum tool_format { TOOLS_HERMES, TOOLS_LLAMA3, TOOLS_MISTRAL } tool_format;

static int blank(char c)
{
    return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

static const struct {
    const char *before, *after, *args;
} tool_forms[] = {
    [TOOLS_HERMES] = {"<tool_call>\n", "\n</tool_call>", "arguments"},
    [TOOLS_LLAMA3] = {"", "", "parameters"},
    [TOOLS_MISTRAL] = {"[TOOL_CALLS][", "]", "arguments"},
};

static tool_format tool_format_of(const char *tmpl)
{
    if (!tmpl || strstr(tmpl, "<tool_call>")) return TOOLS_HERMES;
    if (strstr(tmpl, "[TOOL_CALLS]")) return TOOLS_MISTRAL;
    if (strstr(tmpl, "<|python_tag|>") || strstr(tmpl, "<|start_header_id|>")) return TOOLS_LLAMA3;
    return TOOLS_HERMES;
}

/* The system text that shows tools to a model whose template does not. */
static char *tools_prompt(const char *tools_json)
{
    cJSON *tools = cJSON_Parse(tools_json);
    size_t cap = strlen(tools_json) + 1024, n = 0;
    char *out = malloc(cap);
    if (!tools || !out) {
        cJSON_Delete(tools);
        free(out);
        return NULL;
    }
    n += (size_t)snprintf(out, cap,
                          "# Tools\n\nYou may call one or more functions to help with the user's request. "
                          "Their signatures are inside <tools></tools>:\n<tools>");
    for (const cJSON *t = tools->child; t; t = t->next) {
        char *one = cJSON_PrintUnformatted(t);
        if (one && n + strlen(one) + 2 < cap) n += (size_t)snprintf(out + n, cap - n, "\n%s", one);
        cJSON_free(one);
    }
    snprintf(out + n, cap - n,
             "\n</tools>\n\nTo call a function, answer with a JSON object of its name and arguments inside "
             "<tool_call></tool_call>:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <arguments-object>}\n"
             "</tool_call>");
    cJSON_Delete(tools);
    return out;
}

/* The schema of a call of tool t: {"name": its name, args: its
 * parameters}. A parameters object that does not say otherwise gets no
 * properties besides those it lists (fewer texts than the schema allows,
 * never more), so that a forced call ends. */
static cJSON *call_schema(const cJSON *t, tool_format f)
{
    const cJSON *fn = cJSON_GetObjectItemCaseSensitive(t, "function");
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(fn, "parameters");
    cJSON *schema = cJSON_CreateObject(), *props = cJSON_AddObjectToObject(schema, "properties");
    cJSON_AddStringToObject(schema, "type", "object");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(props, "name"), "const",
                            cJSON_GetObjectItemCaseSensitive(fn, "name")->valuestring);
    cJSON *args = params ? cJSON_Duplicate(params, 1) : cJSON_CreateObject();
    if (!params) cJSON_AddStringToObject(args, "type", "object");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(args, "type");
    if (cJSON_IsString(type) && strcmp(type->valuestring, "object") == 0 &&
        !cJSON_GetObjectItemCaseSensitive(args, "additionalProperties"))
        cJSON_AddFalseToObject(args, "additionalProperties");
    cJSON_AddItemToObject(props, tool_forms[f].args, args);
    cJSON *req = cJSON_AddArrayToObject(schema, "required");
    cJSON_AddItemToArray(req, cJSON_CreateString("name"));
    cJSON_AddItemToArray(req, cJSON_CreateString(tool_forms[f].args));
    cJSON_AddFalseToObject(schema, "additionalProperties");
    return schema;
}

/* The grammar of one call of the named tool, or of any tool (name NULL). */
static mote_status tool_grammar(const char *tools_json, const char *name, tool_format f, mote_grammar **out)
{
    cJSON *tools = cJSON_Parse(tools_json), *any = cJSON_CreateObject();
    cJSON *alts = cJSON_AddArrayToObject(any, "anyOf");
    for (const cJSON *t = tools ? tools->child : NULL; t; t = t->next) {
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(t, "function");
        if (!name || strcmp(name, cJSON_GetObjectItemCaseSensitive(fn, "name")->valuestring) == 0)
            cJSON_AddItemToArray(alts, call_schema(t, f));
    }
    char *text = cJSON_PrintUnformatted(any);
    cJSON_Delete(any);
    cJSON_Delete(tools);
    if (!text) return MOTE_E_NOMEM;
    mote_status st = mote_grammar_from_json_schema_framed(text, strlen(text), tool_forms[f].before,
                                                          tool_forms[f].after, out);
    cJSON_free(text);
    return st;
}

/* An OpenAI tool call from a model's {"name", "arguments"|"parameters"}
 * object, or NULL if it is not one. */
static cJSON *call_from(const cJSON *obj, const char *id_base, int index)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(obj, "name");
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(obj, "arguments");
    if (!args) args = cJSON_GetObjectItemCaseSensitive(obj, "parameters");
    if (!cJSON_IsObject(obj) || !cJSON_IsString(name) || !(cJSON_IsObject(args) || cJSON_IsString(args))) return NULL;
    char *text = cJSON_IsString(args) ? NULL : cJSON_PrintUnformatted(args);
    cJSON *call = cJSON_CreateObject(), *fn;
    char id[80];
    snprintf(id, sizeof id, "call_%s_%d", id_base, index);
    cJSON_AddStringToObject(call, "id", id);
    cJSON_AddStringToObject(call, "type", "function");
    fn = cJSON_AddObjectToObject(call, "function");
    cJSON_AddStringToObject(fn, "name", name->valuestring);
    cJSON_AddStringToObject(fn, "arguments", text ? text : args->valuestring);
    cJSON_free(text);
    return call;
}

/* The calls written in text[0..len) (an array, NULL if none) and the
 * content around them (*content, malloc'd, trimmed). */
static cJSON *find_calls(tool_format f, const char *text, size_t len, const char *id_base, char **content)
{
    cJSON *calls = cJSON_CreateArray();
    char *rest = malloc(len + 1);
    size_t n = 0;
    if (!calls || !rest) {
        cJSON_Delete(calls);
        free(rest);
        *content = NULL;
        return NULL;
    }
    const char *p = text, *end = text + len;
    if (f == TOOLS_HERMES) {
        static const char open[] = "<tool_call>", close[] = "</tool_call>";
        for (;;) {
            const char *at = memmem(p, (size_t)(end - p), open, sizeof open - 1);
            if (!at) break;
            const char *body = at + sizeof open - 1;
            const char *stop = memmem(body, (size_t)(end - body), close, sizeof close - 1);
            const char *next = stop ? stop + sizeof close - 1 : end;
            cJSON *obj = cJSON_ParseWithLength(body, (size_t)((stop ? stop : end) - body));
            cJSON *call = call_from(obj, id_base, cJSON_GetArraySize(calls));
            cJSON_Delete(obj);
            if (!call) break; /* not a call: the rest is content */
            cJSON_AddItemToArray(calls, call);
            memcpy(rest + n, p, (size_t)(at - p));
            n += (size_t)(at - p);
            p = next;
        }
    } else {
        const char *q = p;
        while (q < end && blank(*q)) q++;
        static const char python_tag[] = "<|python_tag|>", mistral[] = "[TOOL_CALLS]";
        const char *mark = f == TOOLS_LLAMA3 ? python_tag : mistral;
        if ((size_t)(end - q) >= strlen(mark) && memcmp(q, mark, strlen(mark)) == 0) q += strlen(mark);
        cJSON *v = cJSON_ParseWithLength(q, (size_t)(end - q));
        const int many = cJSON_IsArray(v);
        for (const cJSON *o = many ? v->child : v; o; o = many ? o->next : NULL) {
            cJSON *call = call_from(o, id_base, cJSON_GetArraySize(calls));
            if (!call) {
                cJSON_Delete(calls);
                calls = cJSON_CreateArray();
                break;
            }
            cJSON_AddItemToArray(calls, call);
        }
        cJSON_Delete(v);
        if (calls && calls->child) p = end;
    }
    memcpy(rest + n, p, (size_t)(end - p));
    n += (size_t)(end - p);
    size_t a = 0;
    while (a < n && blank(rest[a])) a++;
    while (n > a && blank(rest[n - 1])) n--;
    memmove(rest, rest + a, n - a);
    rest[n - a] = '\0';
    *content = rest;
    if (calls && !calls->child) {
        cJSON_Delete(calls);
        calls = NULL;
    }
    return calls;
}

/* Call ids are call_ + the answer's id without its "chatcmpl-" + _N. */
static const char *call_id_base(const serve_gen *g)
{
    const char *dash = strchr(g->id, '-');
    return dash ? dash + 1 : g->id;
}

/* How much of text[0..len) a stream may send as content now: not a call,
 * nor what may be the start of one. */
static size_t content_ready(const serve_gen *g, const char *text, size_t len)
{
    if (g->forced) return 0;
    if (g->format == TOOLS_HERMES) {
        static const char open[] = "<tool_call>";
        const char *at = memmem(text, len, open, sizeof open - 1);
        if (at) return (size_t)(at - text);
        for (size_t k = sizeof open - 2; k > 0; k--) /* a suffix that may grow into the tag */
            if (len >= k && memcmp(text + len - k, open, k) == 0) return len - k;
        return len;
    }
    size_t i = 0;
    while (i < len && blank(text[i])) i++;
    if (i == len) return 0; /* nothing says yet what it is */
    /* a call starts the answer or there is none */
    const char *mark = g->format == TOOLS_LLAMA3 ? "{<" : "[";
    return strchr(mark, text[i]) ? 0 : len;
}

/* ------------------------------------------------------------------------
 * JSON pieces
 * ---------------------------------------------------------------------- */

static cJSON *usage_json(const sched_output *o)
{
    cJSON *u = cJSON_CreateObject();
    cJSON_AddNumberToObject(u, "prompt_tokens", o->n_prompt);
    cJSON_AddNumberToObject(u, "completion_tokens", o->n_generated);
    cJSON_AddNumberToObject(u, "total_tokens", o->n_prompt + o->n_generated);
    cJSON_AddNumberToObject(cJSON_AddObjectToObject(u, "prompt_tokens_details"), "cached_tokens", o->n_cached);
    return u;
}

/* llama-server's "timings" (an extension): where a request's time went on
 * the server, from the moment it was queued. */
static cJSON *timings_json(const sched_output *o)
{
    cJSON *t = cJSON_CreateObject();
    cJSON_AddNumberToObject(t, "queue_ms", o->queue_ms);
    cJSON_AddNumberToObject(t, "prompt_n", o->n_prompt - o->n_cached);
    cJSON_AddNumberToObject(t, "prompt_ms", o->prompt_ms);
    cJSON_AddNumberToObject(t, "predicted_n", o->n_generated);
    cJSON_AddNumberToObject(t, "predicted_ms", o->gen_ms);
    return t;
}

static const char *finish_name(sched_finish f)
{
    return f == SCHED_FINISH_LENGTH ? "length" : "stop";
}

/* A token's text, raw (may be part of a character) in piece[0..*n). */
static void token_piece(const mote_model *m, mote_token t, char *piece, size_t cap, size_t *n)
{
    if (mote_token_to_piece(m, t, 0, piece, cap, n) != MOTE_OK) *n = 0;
}

/* {"token", "logprob", "bytes"} of chat's logprobs. */
static cJSON *chat_token_json(const mote_model *m, mote_token t, float logprob)
{
    char piece[1024];
    size_t n;
    token_piece(m, t, piece, sizeof piece, &n);
    cJSON *e = cJSON_CreateObject();
    char *valid = serve_utf8_repaired(piece, n);
    cJSON_AddStringToObject(e, "token", valid ? valid : "");
    free(valid);
    cJSON_AddNumberToObject(e, "logprob", logprob);
    cJSON *bytes = cJSON_AddArrayToObject(e, "bytes");
    for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(bytes, cJSON_CreateNumber((unsigned char)piece[i]));
    return e;
}

/* chat: {"content": [entry...]} */
static cJSON *chat_logprobs_json(const mote_model *m, const sched_token *toks, int n)
{
    cJSON *lp = cJSON_CreateObject(), *content = cJSON_AddArrayToObject(lp, "content");
    for (int i = 0; i < n; i++) {
        cJSON *e = chat_token_json(m, toks[i].id, toks[i].logprob);
        cJSON *top = cJSON_AddArrayToObject(e, "top_logprobs");
        for (int k = 0; k < toks[i].n_top; k++)
            cJSON_AddItemToArray(top, chat_token_json(m, toks[i].top_id[k], toks[i].top_logprob[k]));
        cJSON_AddItemToArray(content, e);
    }
    return lp;
}

/* completions: {"tokens", "token_logprobs", "top_logprobs", "text_offset"} */
static cJSON *completion_logprobs_json(const mote_model *m, const sched_token *toks, int n, size_t *offset)
{
    cJSON *lp = cJSON_CreateObject();
    cJSON *tokens = cJSON_AddArrayToObject(lp, "tokens"), *lps = cJSON_AddArrayToObject(lp, "token_logprobs");
    cJSON *tops = cJSON_AddArrayToObject(lp, "top_logprobs"), *offs = cJSON_AddArrayToObject(lp, "text_offset");
    char piece[1024];
    for (int i = 0; i < n; i++) {
        size_t len;
        token_piece(m, toks[i].id, piece, sizeof piece, &len);
        char *valid = serve_utf8_repaired(piece, len);
        cJSON_AddItemToArray(tokens, cJSON_CreateString(valid ? valid : ""));
        free(valid);
        cJSON_AddItemToArray(lps, cJSON_CreateNumber(toks[i].logprob));
        cJSON *top = cJSON_CreateObject();
        for (int k = 0; k < toks[i].n_top; k++) {
            size_t tl;
            token_piece(m, toks[i].top_id[k], piece, sizeof piece, &tl);
            char *tv = serve_utf8_repaired(piece, tl);
            if (tv && !cJSON_GetObjectItemCaseSensitive(top, tv))
                cJSON_AddNumberToObject(top, tv, toks[i].top_logprob[k]);
            free(tv);
        }
        cJSON_AddItemToArray(tops, top);
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)*offset));
        *offset += len;
    }
    return lp;
}

/* The fields every answer and chunk starts with. */
static cJSON *envelope(const serve_gen *g, const char *object)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "id", g->id);
    cJSON_AddStringToObject(root, "object", object);
    cJSON_AddNumberToObject(root, "created", (double)g->created);
    cJSON_AddStringToObject(root, "model", g->model_id);
    cJSON_AddStringToObject(root, "system_fingerprint", "mote");
    return root;
}

/* The request's extra fields into an answer (copies). */
static void add_extra(const serve_gen *g, cJSON *root)
{
    for (const cJSON *f = g->extra ? g->extra->child : NULL; f; f = f->next)
        cJSON_AddItemToObject(root, f->string, cJSON_Duplicate(f, 1));
}

/* ------------------------------------------------------------------------
 * Answers without stream
 * ---------------------------------------------------------------------- */

static int keep_output(serve_gen *g, const sched_output *o)
{
    if (o->len) {
        if (g->len + o->len + 1 > g->cap) {
            size_t cap = g->cap ? g->cap : 1024;
            while (cap < g->len + o->len + 1) cap *= 2;
            char *t = realloc(g->text, cap);
            if (!t) return -1;
            g->text = t;
            g->cap = cap;
        }
        memcpy(g->text + g->len, o->text, o->len);
        g->len += o->len;
        g->text[g->len] = '\0';
    }
    if (o->n_tokens) {
        if (g->n_toks + o->n_tokens > g->cap_toks) {
            int cap = g->cap_toks ? g->cap_toks : 64;
            while (cap < g->n_toks + o->n_tokens) cap *= 2;
            sched_token *t = realloc(g->toks, (size_t)cap * sizeof *t);
            if (!t) return -1;
            g->toks = t;
            g->cap_toks = cap;
        }
        memcpy(g->toks + g->n_toks, o->tokens, (size_t)o->n_tokens * sizeof *o->tokens);
        g->n_toks += o->n_tokens;
    }
    return 0;
}

static enum MHD_Result fail_finish(struct MHD_Connection *c, const sched_output *o)
{
    serve_error e;
    if (o->finish == SCHED_FINISH_CANCELLED)
        serve_fail(&e, 503, "server_error", "shutting_down", NULL, "the server is shutting down");
    else serve_fail(&e, 500, "server_error", NULL, NULL, "generation failed: %.200s", o->error);
    return serve_reply_error(c, &e);
}

static enum MHD_Result answer(serve_gen *g, struct MHD_Connection *c, const sched_output *o)
{
    if (o->finish == SCHED_FINISH_CANCELLED || o->finish == SCHED_FINISH_ERROR) return fail_finish(c, o);
    char *text = serve_utf8_repaired(g->text ? g->text : "", g->len);
    if (!text) return MHD_NO;
    cJSON *root = envelope(g, g->chat ? "chat.completion" : "text_completion");
    cJSON *choice = cJSON_CreateObject();
    cJSON_AddNumberToObject(choice, "index", 0);
    const char *finish = finish_name(o->finish);
    if (g->chat) {
        cJSON *msg = cJSON_AddObjectToObject(choice, "message");
        cJSON_AddStringToObject(msg, "role", "assistant");
        char *content = NULL;
        cJSON *calls = g->tools ? find_calls(g->format, text, strlen(text), call_id_base(g), &content) : NULL;
        if (calls) {
            if (content && *content) cJSON_AddStringToObject(msg, "content", content);
            else cJSON_AddNullToObject(msg, "content");
            cJSON_AddItemToObject(msg, "tool_calls", calls);
            finish = "tool_calls";
        } else {
            cJSON_AddStringToObject(msg, "content", text);
        }
        free(content);
        if (g->top_logprobs >= 0) cJSON_AddItemToObject(choice, "logprobs", chat_logprobs_json(g->model, g->toks, g->n_toks));
        else cJSON_AddNullToObject(choice, "logprobs");
    } else {
        const size_t echo_len = g->echo ? strlen(g->echo) : 0;
        char *all = malloc(echo_len + strlen(text) + 1);
        if (all) {
            memcpy(all, g->echo ? g->echo : "", echo_len);
            strcpy(all + echo_len, text);
            cJSON_AddStringToObject(choice, "text", all);
            free(all);
        }
        size_t offset = echo_len;
        if (g->top_logprobs >= 0)
            cJSON_AddItemToObject(choice, "logprobs", completion_logprobs_json(g->model, g->toks, g->n_toks, &offset));
        else cJSON_AddNullToObject(choice, "logprobs");
    }
    free(text);
    cJSON_AddStringToObject(choice, "finish_reason", finish);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(root, "choices"), choice);
    cJSON_AddItemToObject(root, "usage", usage_json(o));
    cJSON_AddItemToObject(root, "timings", timings_json(o));
    add_extra(g, root);
    return serve_reply_json(c, MHD_HTTP_OK, root);
}

/* sched_job_take, noting the job's first generated token to the fleet. */
static int take(serve_gen *g, sched_output *o)
{
    const int rc = sched_job_take(g->job, o, 1);
    if (rc > 0 && o->n_generated > 0 && !g->seen_token) {
        g->seen_token = 1;
        serve_model_first_token(g->server, g->served);
    }
    return rc;
}

/* Take what is ready until the job ends (then answer) or nothing is
 * (then the connection is suspended until the scheduler resumes it). */
static enum MHD_Result collect(serve_gen *g, struct MHD_Connection *c)
{
    for (;;) {
        sched_output o;
        const int rc = take(g, &o);
        if (rc < 0) return MHD_NO;
        if (rc == 0) return MHD_YES; /* parked: the handler is called again on resume */
        const int kept = keep_output(g, &o);
        const int ended = o.finish != SCHED_RUNNING;
        sched_output_free(&o);
        if (kept != 0) return MHD_NO;
        if (ended) return answer(g, c, &o);
    }
}

enum MHD_Result serve_gen_resume(serve_server *s, struct MHD_Connection *c, serve_conn *conn)
{
    if (conn->gen->stream) return MHD_YES; /* its response is queued: MHD calls its reader */
    return collect(conn->gen, c);
}

/* ------------------------------------------------------------------------
 * Streams
 * ---------------------------------------------------------------------- */

/* Append "data: JSON\n\n" (json consumed). */
static int sse_add(serve_gen *g, cJSON *json)
{
    char *text = json ? cJSON_PrintUnformatted(json) : NULL;
    cJSON_Delete(json);
    if (!text) return -1;
    const size_t n = strlen(text) + 8;
    if (g->out_len + n > g->out_cap) {
        size_t cap = g->out_cap ? g->out_cap : 1024;
        while (cap < g->out_len + n) cap *= 2;
        char *o = realloc(g->out, cap);
        if (!o) return free(text), -1;
        g->out = o;
        g->out_cap = cap;
    }
    g->out_len += (size_t)sprintf(g->out + g->out_len, "data: %s\n\n", text);
    free(text);
    return 0;
}

/* A chunk with one choice (consumed); usage null when usage is asked for
 * at the end. */
static int sse_choice(serve_gen *g, cJSON *choice)
{
    cJSON *root = envelope(g, g->chat ? "chat.completion.chunk" : "text_completion");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(root, "choices"), choice);
    if (g->extra && !g->extra_sent) {
        add_extra(g, root);
        g->extra_sent = 1;
    }
    if (g->include_usage) cJSON_AddNullToObject(root, "usage");
    return sse_add(g, root);
}

/* A choice whose text (chat: delta content) is text[0..len). */
static cJSON *text_choice(serve_gen *g, const char *text, size_t len, const sched_token *toks, int n_toks)
{
    cJSON *choice = cJSON_CreateObject();
    cJSON_AddNumberToObject(choice, "index", 0);
    char *valid = serve_utf8_repaired(text ? text : "", len);
    if (g->chat) {
        cJSON *delta = cJSON_AddObjectToObject(choice, "delta");
        if (!g->sent_first) cJSON_AddStringToObject(delta, "role", "assistant");
        if (len || !g->sent_first) cJSON_AddStringToObject(delta, "content", valid ? valid : "");
    } else {
        cJSON_AddStringToObject(choice, "text", valid ? valid : "");
    }
    free(valid);
    if (g->top_logprobs >= 0 && n_toks)
        cJSON_AddItemToObject(choice, "logprobs",
                              g->chat ? chat_logprobs_json(g->model, toks, n_toks)
                                      : completion_logprobs_json(g->model, toks, n_toks, &g->text_offset));
    else cJSON_AddNullToObject(choice, "logprobs");
    cJSON_AddNullToObject(choice, "finish_reason");
    g->sent_first = 1;
    return choice;
}

/* The end of a stream: the finish (reason: "tool_calls" or o's), usage,
 * or an error event; then [DONE]. */
static int sse_end(serve_gen *g, const sched_output *o, const char *reason);

/* A chat stream with tools: content as far as no call may begin, the
 * calls at the end (one chunk each, whole; logprobs are not sent). */
static int sse_tools(serve_gen *g, const sched_output *o)
{
    if (!g->sent_first && sse_choice(g, text_choice(g, "", 0, NULL, 0)) != 0) return -1;
    if (keep_output(g, o) != 0) return -1;
    const char *text = g->text ? g->text : "";
    const size_t ready = content_ready(g, text, g->len);
    if (ready > g->streamed && sse_choice(g, text_choice(g, text + g->streamed, ready - g->streamed, NULL, 0)) != 0)
        return -1;
    if (ready > g->streamed) g->streamed = ready;
    if (o->finish == SCHED_RUNNING) return 0;
    if (o->finish != SCHED_FINISH_STOP && o->finish != SCHED_FINISH_LENGTH) return sse_end(g, o, NULL);
    char *content = NULL;
    cJSON *calls = find_calls(g->format, text, g->len, call_id_base(g), &content);
    free(content);
    if (!calls) { /* no call after all: the rest is content */
        if (g->len > g->streamed && sse_choice(g, text_choice(g, text + g->streamed, g->len - g->streamed, NULL, 0)) != 0)
            return -1;
        return sse_end(g, o, NULL);
    }
    int i = 0;
    for (cJSON *call = calls->child; call; call = call->next, i++) {
        cJSON *choice = cJSON_CreateObject(), *delta = cJSON_AddObjectToObject(choice, "delta");
        cJSON_AddNumberToObject(choice, "index", 0);
        cJSON *one = cJSON_Duplicate(call, 1);
        cJSON_AddNumberToObject(one, "index", i);
        cJSON_AddItemToArray(cJSON_AddArrayToObject(delta, "tool_calls"), one);
        cJSON_AddNullToObject(choice, "logprobs");
        cJSON_AddNullToObject(choice, "finish_reason");
        if (sse_choice(g, choice) != 0) {
            cJSON_Delete(calls);
            return -1;
        }
    }
    cJSON_Delete(calls);
    return sse_end(g, o, "tool_calls");
}

/* Turn one take into events. */
static int sse_output(serve_gen *g, const sched_output *o)
{
    if (g->tools) return sse_tools(g, o);
    if (!g->sent_first) { /* chat: the role first; completion with echo: the prompt */
        const char *first = g->chat ? "" : g->echo;
        if (first && sse_choice(g, text_choice(g, first, strlen(first), NULL, 0)) != 0) return -1;
        if (g->echo) g->text_offset = strlen(g->echo);
    }
    if ((o->len || o->n_tokens) && sse_choice(g, text_choice(g, o->text, o->len, o->tokens, o->n_tokens)) != 0)
        return -1;
    if (o->finish == SCHED_RUNNING) return 0;
    return sse_end(g, o, NULL);
}

static int sse_end(serve_gen *g, const sched_output *o, const char *reason)
{
    if (o->finish == SCHED_FINISH_STOP || o->finish == SCHED_FINISH_LENGTH) {
        cJSON *choice = cJSON_CreateObject();
        cJSON_AddNumberToObject(choice, "index", 0);
        if (g->chat) cJSON_AddObjectToObject(choice, "delta");
        else cJSON_AddStringToObject(choice, "text", "");
        cJSON_AddNullToObject(choice, "logprobs");
        cJSON_AddStringToObject(choice, "finish_reason", reason ? reason : finish_name(o->finish));
        if (sse_choice(g, choice) != 0) return -1;
        if (g->include_usage) {
            cJSON *root = envelope(g, g->chat ? "chat.completion.chunk" : "text_completion");
            cJSON_AddArrayToObject(root, "choices");
            cJSON_AddItemToObject(root, "usage", usage_json(o));
            cJSON_AddItemToObject(root, "timings", timings_json(o));
            if (sse_add(g, root) != 0) return -1;
        }
    } else { /* an error event: the status line went out long ago */
        cJSON *root = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(root, "error");
        const int cancelled = o->finish == SCHED_FINISH_CANCELLED;
        char msg[320];
        snprintf(msg, sizeof msg, "%s%s", cancelled ? "the server is shutting down" : "generation failed: ",
                 cancelled ? "" : o->error);
        cJSON_AddStringToObject(e, "message", msg);
        cJSON_AddStringToObject(e, "type", "server_error");
        cJSON_AddNullToObject(e, "param");
        if (cancelled) cJSON_AddStringToObject(e, "code", "shutting_down");
        else cJSON_AddNullToObject(e, "code");
        if (sse_add(g, root) != 0) return -1;
    }
    static const char done[] = "data: [DONE]\n\n";
    if (g->out_len + sizeof done > g->out_cap) {
        char *p = realloc(g->out, g->out_len + sizeof done);
        if (!p) return -1;
        g->out = p;
        g->out_cap = g->out_len + sizeof done;
    }
    memcpy(g->out + g->out_len, done, sizeof done - 1);
    g->out_len += sizeof done - 1;
    g->done = 1;
    return 0;
}

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    serve_gen *g = cls;
    for (;;) {
        if (g->out_pos < g->out_len) {
            const size_t n = g->out_len - g->out_pos < max ? g->out_len - g->out_pos : max;
            memcpy(buf, g->out + g->out_pos, n);
            g->out_pos += n;
            if (g->out_pos == g->out_len) g->out_pos = g->out_len = 0;
            return (ssize_t)n;
        }
        if (g->done) return MHD_CONTENT_READER_END_OF_STREAM;
        sched_output o;
        const int rc = take(g, &o);
        if (rc < 0) return MHD_CONTENT_READER_END_WITH_ERROR;
        if (rc == 0) return 0; /* parked: MHD resumes the connection when output comes */
        const int ok = sse_output(g, &o);
        sched_output_free(&o);
        if (ok != 0) return MHD_CONTENT_READER_END_WITH_ERROR;
    }
}

/* ------------------------------------------------------------------------
 * Requests
 * ---------------------------------------------------------------------- */

/* The tokens of a rendered conversation, asking for the count first:
 * by mote_chat_tokenize (msgs) or from a JSON context (ctx not NULL). */
static mote_status tokenize_chat(const mote_model *model, const char *tmpl, const mote_chat_message *msgs, size_t n_msgs,
                                 const char *ctx, mote_token **out, size_t *n)
{
    *out = NULL;
    mote_status st = ctx ? mote_chat_tokenize_json(model, tmpl, ctx, 1, NULL, 0, n)
                         : mote_chat_tokenize(model, tmpl, msgs, n_msgs, 1, NULL, 0, n);
    if (st != MOTE_OK && st != MOTE_E_RANGE) return st;
    if (!(*out = malloc((*n ? *n : 1) * sizeof **out))) return MOTE_E_NOMEM;
    st = ctx ? mote_chat_tokenize_json(model, tmpl, ctx, 1, *out, *n, n)
             : mote_chat_tokenize(model, tmpl, msgs, n_msgs, 1, *out, *n, n);
    if (st != MOTE_OK) {
        free(*out);
        *out = NULL;
    }
    return st;
}

/* The template's context for a chat with tools or tool calls: messages
 * with their calls (arguments as objects, as templates expect) and
 * tools; for a template that shows no tools (shows 0), the tools go into
 * the system message and calls into the assistant's text, in the form
 * tools_prompt teaches. NULL when out of memory. */
static char *tools_context(const serve_request *req, int with_tools, int shows)
{
    cJSON *ctx = cJSON_CreateObject(), *msgs = cJSON_AddArrayToObject(ctx, "messages");
    char *intro = with_tools && !shows ? tools_prompt(req->tools) : NULL;
    int ok = ctx && msgs && (!with_tools || shows || intro);
    if (ok && intro && strcmp(req->messages[0].role, "system") != 0 && strcmp(req->messages[0].role, "developer") != 0) {
        cJSON *m = cJSON_CreateObject();
        ok = cJSON_AddItemToArray(msgs, m) && cJSON_AddStringToObject(m, "role", "system") &&
             cJSON_AddStringToObject(m, "content", intro);
        free(intro);
        intro = NULL;
    }
    for (size_t i = 0; ok && i < req->n_messages; i++) {
        const serve_message *sm = &req->messages[i];
        cJSON *m = cJSON_CreateObject();
        ok = cJSON_AddItemToArray(msgs, m) &&
             cJSON_AddStringToObject(m, "role", strcmp(sm->role, "developer") == 0 ? "system" : sm->role);
        cJSON *calls = sm->tool_calls ? cJSON_Parse(sm->tool_calls) : NULL;
        size_t cap = strlen(sm->content) + (intro ? strlen(intro) + 2 : 0) + (sm->tool_calls ? 2 * strlen(sm->tool_calls) + 64 : 0) + 1;
        char *content = ok ? malloc(cap) : NULL;
        ok = ok && content;
        if (ok) {
            size_t n = (size_t)snprintf(content, cap, "%s", sm->content);
            if (intro) n += (size_t)snprintf(content + n, cap - n, "%s%s", n ? "\n\n" : "", intro);
            free(intro);
            intro = NULL;
            for (cJSON *c = calls ? calls->child : NULL; c; c = c->next) {
                cJSON *fn = cJSON_GetObjectItemCaseSensitive(c, "function");
                cJSON *args = cJSON_GetObjectItemCaseSensitive(fn, "arguments");
                cJSON *obj = cJSON_Parse(args->valuestring);
                if (cJSON_IsObject(obj)) cJSON_ReplaceItemInObjectCaseSensitive(fn, "arguments", obj);
                else cJSON_Delete(obj);
                if (!shows) {
                    cJSON *form = cJSON_CreateObject();
                    cJSON_AddStringToObject(form, "name", cJSON_GetObjectItemCaseSensitive(fn, "name")->valuestring);
                    cJSON_AddItemToObject(form, "arguments", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(fn, "arguments"), 1));
                    char *text = cJSON_PrintUnformatted(form);
                    cJSON_Delete(form);
                    if (text && n + strlen(text) + 32 < cap)
                        n += (size_t)snprintf(content + n, cap - n, "%s<tool_call>\n%s\n</tool_call>", n ? "\n" : "", text);
                    cJSON_free(text);
                }
            }
            ok = cJSON_AddStringToObject(m, "content", content) != NULL;
        }
        free(content);
        if (ok && calls && shows) ok = cJSON_AddItemToObject(m, "tool_calls", calls), calls = NULL;
        cJSON_Delete(calls);
        if (ok && sm->tool_call_id) ok = cJSON_AddStringToObject(m, "tool_call_id", sm->tool_call_id) != NULL;
    }
    free(intro);
    if (ok && with_tools && shows) {
        cJSON *tools = cJSON_Parse(req->tools);
        ok = tools && cJSON_AddItemToObject(ctx, "tools", tools);
    }
    char *json = ok ? cJSON_PrintUnformatted(ctx) : NULL;
    cJSON_Delete(ctx);
    return json;
}

/* The chat's prompt tokens; *chatml set when the fallback template was
 * used, *format to how the model writes tool calls. 0, or -1 with *err
 * filled. */
static int chat_prompt(const serve_server *s, const mote_model *model, const serve_request *req, mote_token **out,
                       size_t *n, int *chatml, tool_format *format, serve_error *err)
{
    const int with_tools = req->tools && req->tool_choice != SERVE_TOOLS_NONE;
    int calls = 0;
    for (size_t i = 0; i < req->n_messages; i++) calls |= req->messages[i].tool_calls || req->messages[i].tool_call_id;
    mote_chat_message *msgs = calloc(req->n_messages, sizeof *msgs);
    if (!msgs) return serve_fail(err, 500, "server_error", NULL, NULL, "out of memory");
    for (size_t i = 0; i < req->n_messages; i++) {
        /* templates know system, not OpenAI's newer name for it */
        msgs[i].role = strcmp(req->messages[i].role, "developer") == 0 ? "system" : req->messages[i].role;
        msgs[i].content = req->messages[i].content;
    }
    /* the template: the server's, else the model's, else ChatML; its text
     * says how it shows tools and calls */
    mote_model_info info;
    const char *text = s->cfg.chat_template;
    if (!text && mote_model_get_info(model, &info) == MOTE_OK) text = info.chat_template;
    *chatml = !text;
    if (*chatml) text = chatml_template;
    char *ctx = NULL;
    mote_status st = MOTE_OK;
    if (with_tools || calls) {
        *format = tool_format_of(*chatml ? NULL : text);
        const int shows = !*chatml && strstr(text, "tools") && strstr(text, "tool_calls");
        if (!(ctx = tools_context(req, with_tools, shows))) st = MOTE_E_NOMEM;
    }
    if (st == MOTE_OK) st = tokenize_chat(model, text, msgs, req->n_messages, ctx, out, n);
    free(msgs);
    cJSON_free(ctx);
    if (st == MOTE_E_NOMEM) return serve_fail(err, 500, "server_error", NULL, NULL, "out of memory");
    if (st != MOTE_OK)
        return serve_fail(err, 400, "invalid_request_error", NULL, "messages", "the chat template failed: %.180s",
                          mote_last_error());
    return 0;
}

/* The completion's prompt tokens (the ids as given, or the text with BOS
 * as the vocabulary asks, special tokens as text, as `mote run`). */
static int completion_prompt(const mote_model *model, const serve_request *req, mote_token **out, size_t *n,
                             serve_error *err)
{
    *out = NULL;
    if (!req->content) {
        const int n_vocab = mote_vocab_size(model);
        for (size_t i = 0; i < req->n_tokens; i++)
            if (req->tokens[i] >= n_vocab)
                return serve_fail(err, 400, "invalid_request_error", NULL, "prompt",
                                  "'prompt' holds %d, outside the vocabulary of %d tokens", (int)req->tokens[i],
                                  n_vocab);
        if (!(*out = malloc(req->n_tokens * sizeof **out)))
            return serve_fail(err, 500, "server_error", NULL, NULL, "out of memory");
        memcpy(*out, req->tokens, req->n_tokens * sizeof **out);
        *n = req->n_tokens;
        return 0;
    }
    mote_status st = mote_tokenize(model, req->content, req->content_len, 1, 0, NULL, 0, n);
    if ((st == MOTE_OK || st == MOTE_E_RANGE) && !(*out = malloc((*n ? *n : 1) * sizeof **out)))
        return serve_fail(err, 500, "server_error", NULL, NULL, "out of memory");
    if (st == MOTE_OK || st == MOTE_E_RANGE) st = mote_tokenize(model, req->content, req->content_len, 1, 0, *out, *n, n);
    if (st != MOTE_OK) {
        free(*out);
        *out = NULL;
        return serve_fail(err, 500, "server_error", NULL, "prompt", "tokenizing: %.200s", mote_last_error());
    }
    return 0;
}

static uint64_t fresh_seed(serve_server *s)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    const uint64_t x = (uint64_t)ts.tv_sec * 1000000007ULL ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)s->next_id << 40);
    return x * 0x9E3779B97F4A7C15ULL;
}

static enum MHD_Result start(serve_server *s, struct MHD_Connection *c, serve_conn *conn, const serve_request *req)
{
    const int chat = req->kind == SERVE_REQ_CHAT;
    serve_error err;
    serve_model *m = serve_find_model(s, conn, req->model, &err);
    if (!m)
        return conn->retry_after ? serve_reply_error_with(c, &err, MHD_HTTP_HEADER_RETRY_AFTER, "1")
                                 : serve_reply_error(c, &err);
    sched *sc = m->sched;
    if (!sc) {
        serve_fail(&err, 400, "invalid_request_error", "model_not_supported", "model",
                   "model '%.100s' is an embedding model: use POST /v1/embeddings", m->cfg.id);
        return serve_reply_error(c, &err);
    }

    mote_token *prompt = NULL;
    size_t n_prompt = 0;
    int chatml = 0;
    tool_format format = TOOLS_HERMES;
    if ((chat ? chat_prompt(s, m->model, req, &prompt, &n_prompt, &chatml, &format, &err)
              : completion_prompt(m->model, req, &prompt, &n_prompt, &err)) != 0)
        return serve_reply_error(c, &err);
    const char *what = chat ? "messages" : "prompt";
    const int n_ctx = sched_n_ctx(sc);
    const int max_tokens = req->max_tokens >= 0 ? req->max_tokens : chat ? -1 : COMPLETION_DEFAULT_MAX_TOKENS;
    if (n_prompt == 0) {
        free(prompt);
        return serve_reply_error(c, (serve_fail(&err, 400, "invalid_request_error", NULL, what,
                                                "the prompt is empty (no tokens)"), &err));
    }
    if (n_prompt >= (size_t)n_ctx || (max_tokens > 0 && n_prompt + (size_t)max_tokens > (size_t)n_ctx)) {
        free(prompt);
        serve_fail(&err, 400, "invalid_request_error", "context_length_exceeded", what,
                   "This model's maximum context length is %d tokens. However, you requested %zu tokens (%zu in the "
                   "%s, %d in the completion). Please reduce the length of the %s or completion.",
                   n_ctx, n_prompt + (size_t)(max_tokens > 0 ? max_tokens : 0), n_prompt, what,
                   max_tokens > 0 ? max_tokens : 0, what);
        return serve_reply_error(c, &err);
    }
    for (int i = 0; i < req->n_bias; i++)
        if (req->bias_id[i] >= mote_vocab_size(m->model)) {
            free(prompt);
            serve_fail(&err, 400, "invalid_request_error", NULL, "logit_bias",
                       "'logit_bias' names token %d; the model's vocabulary has %d", (int)req->bias_id[i],
                       mote_vocab_size(m->model));
            return serve_reply_error(c, &err);
        }

    serve_gen *g = calloc(1, sizeof *g);
    if (!g || !(g->model_id = strdup(m->cfg.id))) {
        free(g);
        free(prompt);
        return MHD_NO;
    }
    conn->gen = g;
    g->server = s;
    g->mhd = c;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    g->fd = ci ? ci->connect_fd : -1;
    g->chat = chat;
    g->stream = req->stream;
    g->include_usage = req->stream && req->include_usage;
    g->top_logprobs = req->top_logprobs;
    g->extra = req->extra ? cJSON_Duplicate(req->extra, 1) : NULL;
    g->model = m->model;
    g->served = m;
    g->created = time(NULL);
    const unsigned serial = ++s->next_id;
    snprintf(g->id, sizeof g->id, "%s-%08llx%08x", chat ? "chatcmpl" : "cmpl", (unsigned long long)g->created,
             serial);
    if (!chat && req->echo) {
        char *text = NULL;
        if (req->content) g->echo = serve_utf8_repaired(req->content, req->content_len);
        else if (mote_detokenize(m->model, prompt, n_prompt, 0, &text) == MOTE_OK)
            g->echo = serve_utf8_repaired(text, strlen(text));
        mote_free(text);
        if (!g->echo) {
            free(prompt);
            return MHD_NO;
        }
    }

    g->tools = chat && req->tools && req->tool_choice != SERVE_TOOLS_NONE;
    g->forced = g->tools && (req->tool_choice == SERVE_TOOLS_REQUIRED || req->tool_choice == SERVE_TOOLS_NAMED);
    g->format = format;
    /* a forced tool call, or response_format: sampling follows a grammar */
    mote_grammar *grammar = NULL;
    const char *by = g->forced ? "tools" : req->schema ? "response_format" : NULL;
    const mote_status gs =
        g->forced    ? tool_grammar(req->tools, req->tool_choice == SERVE_TOOLS_NAMED ? req->tool_name : NULL, format,
                                    &grammar)
        : req->schema ? mote_grammar_from_json_schema(req->schema, strlen(req->schema), &grammar)
                      : MOTE_OK;
    if (gs != MOTE_OK) {
        free(prompt);
        serve_fail(&err, gs == MOTE_E_NOMEM ? 500 : 400, gs == MOTE_E_NOMEM ? "server_error" : "invalid_request_error",
                   gs == MOTE_E_UNSUPPORTED ? "unsupported_schema" : NULL, by, "%s%.220s",
                   g->forced ? "a tool's parameters: " : "", gs == MOTE_E_NOMEM ? "out of memory" : mote_last_error());
        return serve_reply_error(c, &err);
    }
    const char *stops[SERVE_STOP_MAX + 1];
    int n_stop = 0;
    for (int i = 0; i < req->n_stop; i++) stops[n_stop++] = req->stop[i];
    if (chatml) stops[n_stop++] = chatml_end;
    sched_job_params p = {
        .prompt = prompt,
        .n_prompt = (int)n_prompt,
        .max_tokens = max_tokens,
        .sampling = req->sampling,
        .stop = stops,
        .n_stop = n_stop,
        .top_logprobs = req->top_logprobs,
        .grammar = grammar,
        .bias_id = req->bias_id,
        .bias = req->bias,
        .n_bias = req->n_bias,
        .park = gen_park,
        .wake = gen_wake,
        .peer_closed = g->fd >= 0 ? gen_peer_closed : NULL,
        .user = g,
    };
    /* the model's sampling defaults, where the request says nothing */
    serve_sampling_apply(&p.sampling, &m->cfg.sampling, m->cfg.sampling_set & ~req->sampling_set);
    if (!(req->has_seed || (m->cfg.sampling_set & SERVE_SAMPLE_SEED))) p.sampling.seed = fresh_seed(s);
    int busy = 0;
    char why[256];
    const int rc = sched_submit(sc, &p, &g->job, &busy, why, sizeof why);
    free(prompt);
    if (rc != 0) {
        if (busy) {
            serve_fail(&err, 429, "rate_limit_error", "server_busy", NULL, "%s", why);
            return serve_reply_error_with(c, &err, MHD_HTTP_HEADER_RETRY_AFTER, "1");
        }
        serve_fail(&err, 400, "invalid_request_error", NULL, what, "%s", why);
        return serve_reply_error(c, &err);
    }
    if (!g->stream) return collect(g, c);
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK, stream_reader, g, NULL);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    serve_note_status(MHD_HTTP_OK);
    const enum MHD_Result ok = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ok;
}

enum MHD_Result serve_post_chat(serve_server *s, struct MHD_Connection *c, serve_conn *conn, const serve_request *req)
{
    return start(s, c, conn, req);
}

enum MHD_Result serve_post_completion(serve_server *s, struct MHD_Connection *c, serve_conn *conn,
                                      const serve_request *req)
{
    return start(s, c, conn, req);
}
