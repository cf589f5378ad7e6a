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
    free(g);
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
    if (g->chat) {
        cJSON *msg = cJSON_AddObjectToObject(choice, "message");
        cJSON_AddStringToObject(msg, "role", "assistant");
        cJSON_AddStringToObject(msg, "content", text);
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
    cJSON_AddStringToObject(choice, "finish_reason", finish_name(o->finish));
    cJSON_AddItemToArray(cJSON_AddArrayToObject(root, "choices"), choice);
    cJSON_AddItemToObject(root, "usage", usage_json(o));
    cJSON_AddItemToObject(root, "timings", timings_json(o));
    return serve_reply_json(c, MHD_HTTP_OK, root);
}

/* Take what is ready until the job ends (then answer) or nothing is
 * (then the connection is suspended until the scheduler resumes it). */
static enum MHD_Result collect(serve_gen *g, struct MHD_Connection *c)
{
    for (;;) {
        sched_output o;
        const int rc = sched_job_take(g->job, &o, 1);
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

/* Turn one take into events. */
static int sse_output(serve_gen *g, const sched_output *o)
{
    if (!g->sent_first) { /* chat: the role first; completion with echo: the prompt */
        const char *first = g->chat ? "" : g->echo;
        if (first && sse_choice(g, text_choice(g, first, strlen(first), NULL, 0)) != 0) return -1;
        if (g->echo) g->text_offset = strlen(g->echo);
    }
    if ((o->len || o->n_tokens) && sse_choice(g, text_choice(g, o->text, o->len, o->tokens, o->n_tokens)) != 0)
        return -1;
    if (o->finish == SCHED_RUNNING) return 0;
    if (o->finish == SCHED_FINISH_STOP || o->finish == SCHED_FINISH_LENGTH) {
        cJSON *choice = cJSON_CreateObject();
        cJSON_AddNumberToObject(choice, "index", 0);
        if (g->chat) cJSON_AddObjectToObject(choice, "delta");
        else cJSON_AddStringToObject(choice, "text", "");
        cJSON_AddNullToObject(choice, "logprobs");
        cJSON_AddStringToObject(choice, "finish_reason", finish_name(o->finish));
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
        const int rc = sched_job_take(g->job, &o, 1);
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

/* The model's scheduler, started on first use. */
static sched *model_sched(serve_server *s, serve_model *m, serve_error *err)
{
    pthread_mutex_lock(&s->lock);
    if (!m->sched) {
        const sched_config cfg = {
            .n_ctx = s->cfg.n_ctx,
            .n_threads = s->cfg.n_threads,
            .kv_type = s->cfg.kv_type,
            .n_parallel = s->cfg.n_parallel > 0 ? s->cfg.n_parallel : 1,
            .queue_max = s->cfg.queue_max,
        };
        char why[256];
        if (sched_create(m->model, &cfg, &m->sched, why, sizeof why) != 0)
            serve_fail(err, 500, "server_error", NULL, "model", "starting model '%.60s': %.160s", m->id, why);
    }
    sched *sc = m->sched;
    pthread_mutex_unlock(&s->lock);
    return sc;
}

/* The chat's prompt tokens; *chatml set when the fallback template was
 * used. 0, or -1 with *err filled. */
static int chat_prompt(const serve_server *s, const mote_model *model, const serve_request *req, mote_token **out,
                       size_t *n, int *chatml, serve_error *err)
{
    mote_chat_message *msgs = calloc(req->n_messages, sizeof *msgs);
    if (!msgs) return serve_fail(err, 500, "server_error", NULL, NULL, "out of memory");
    for (size_t i = 0; i < req->n_messages; i++) {
        /* templates know system, not OpenAI's newer name for it */
        msgs[i].role = strcmp(req->messages[i].role, "developer") == 0 ? "system" : req->messages[i].role;
        msgs[i].content = req->messages[i].content;
    }
    const char *tmpl = s->cfg.chat_template;
    *chatml = 0;
    mote_status st = mote_chat_tokenize(model, tmpl, msgs, req->n_messages, 1, NULL, 0, n);
    if (st == MOTE_E_UNSUPPORTED && !tmpl) {
        tmpl = chatml_template;
        *chatml = 1;
        st = mote_chat_tokenize(model, tmpl, msgs, req->n_messages, 1, NULL, 0, n);
    }
    *out = NULL;
    if ((st == MOTE_OK || st == MOTE_E_RANGE) && !(*out = malloc((*n ? *n : 1) * sizeof **out))) {
        free(msgs);
        return serve_fail(err, 500, "server_error", NULL, NULL, "out of memory");
    }
    if (st == MOTE_OK || st == MOTE_E_RANGE) st = mote_chat_tokenize(model, tmpl, msgs, req->n_messages, 1, *out, *n, n);
    free(msgs);
    if (st != MOTE_OK) {
        free(*out);
        *out = NULL;
        return serve_fail(err, 400, "invalid_request_error", NULL, "messages", "the chat template failed: %.180s",
                          mote_last_error());
    }
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
    sched *sc = m ? model_sched(s, m, &err) : NULL;
    if (!sc) return serve_reply_error(c, &err);

    mote_token *prompt = NULL;
    size_t n_prompt = 0;
    int chatml = 0;
    if ((chat ? chat_prompt(s, m->model, req, &prompt, &n_prompt, &chatml, &err)
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

    serve_gen *g = calloc(1, sizeof *g);
    if (!g || !(g->model_id = strdup(m->id))) {
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
    g->model = m->model;
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

    mote_grammar *grammar = NULL;
    if (req->schema) {
        const mote_status gs = mote_grammar_from_json_schema(req->schema, strlen(req->schema), &grammar);
        if (gs != MOTE_OK) {
            free(prompt);
            serve_fail(&err, gs == MOTE_E_NOMEM ? 500 : 400, gs == MOTE_E_NOMEM ? "server_error" : "invalid_request_error",
                       gs == MOTE_E_UNSUPPORTED ? "unsupported_schema" : NULL, "response_format", "%.240s",
                       mote_last_error());
            return serve_reply_error(c, &err);
        }
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
        .park = gen_park,
        .wake = gen_wake,
        .peer_closed = g->fd >= 0 ? gen_peer_closed : NULL,
        .user = g,
    };
    if (!req->has_seed) p.sampling.seed = fresh_seed(s);
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
