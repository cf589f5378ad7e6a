/*
 * fuzz_serve_request.c — libFuzzer target for the server's request
 * parser (src/serve/request.c): any bytes as the JSON body of /tokenize,
 * /detokenize, /v1/chat/completions, /v1/completions or /v1/embeddings.
 *
 * Input: the first byte's high bit picks embeddings, else its low two bits
 * the kind (0 tokenize, 1 detokenize, 2 chat, 3 completion); the rest is
 * the body, in a buffer of
 * its own with no NUL after it (the parser must respect the length).
 *
 * Contract (request.h):
 * - serve_parse_request returns 0 or -1;
 * - 0: the request has the kind asked; tokenize: content is a string of
 *   content_len bytes, add_special and parse_special are 0 or 1, no
 *   tokens; detokenize: n_tokens ids, each >= 0, no content; chat: at
 *   least one message, each with a known role and a string content;
 *   completion: a string prompt (content) or a non-empty list of ids;
 *   generation fields in their documented ranges; model NULL or a string;
 *   embeddings: 1..SERVE_EMBED_INPUTS_MAX non-empty texts, dimensions >= 0;
 * - -1: status 400 (or 500, out of memory) with a type, a non-empty
 *   message, and a param that is "" or a field of the kind; the request
 *   is left empty;
 * - the same body parses the same way twice.
 */
#include <string.h>

#include "fuzz.h"
#include "serve/request.h"

static int param_ok(serve_request_kind kind, const char *p)
{
    if (!*p || strcmp(p, "model") == 0) return 1;
    if (kind == SERVE_REQ_TOKENIZE)
        return strcmp(p, "content") == 0 || strcmp(p, "add_special") == 0 || strcmp(p, "parse_special") == 0;
    if (kind == SERVE_REQ_DETOKENIZE) return strcmp(p, "tokens") == 0;
    if (kind == SERVE_REQ_EMBEDDINGS)
        return strcmp(p, "input") == 0 || strcmp(p, "encoding_format") == 0 || strcmp(p, "dimensions") == 0;
    static const char *const gen[] = {"stream", "stream_options", "include_usage", "max_tokens",
                                      "max_completion_tokens", "n", "temperature", "top_p", "min_p", "top_k",
                                      "presence_penalty", "frequency_penalty", "repeat_penalty", "seed", "stop",
                                      "logprobs", "response_format", "tools", "logit_bias"};
    for (size_t i = 0; i < sizeof gen / sizeof *gen; i++)
        if (strcmp(p, gen[i]) == 0) return 1;
    if (kind == SERVE_REQ_CHAT)
        return strcmp(p, "messages") == 0 || strcmp(p, "top_logprobs") == 0 || strcmp(p, "tool_choice") == 0;
    return strcmp(p, "prompt") == 0 || strcmp(p, "echo") == 0 || strcmp(p, "best_of") == 0 ||
           strcmp(p, "suffix") == 0;
}

static const char *const roles[] = {"system", "developer", "user", "assistant", "tool"};

/* The generation fields of a parsed request are in their ranges. */
static void check_generation(const serve_request *r)
{
    if (r->kind == SERVE_REQ_CHAT) {
        fuzz_check(r->n_messages >= 1 && r->messages, "chat: messages");
        for (size_t i = 0; i < r->n_messages; i++) {
            int known = 0;
            for (size_t k = 0; k < sizeof roles / sizeof *roles; k++) known |= strcmp(r->messages[i].role, roles[k]) == 0;
            fuzz_check(known, "a known role");
            fuzz_check(r->messages[i].content != NULL, "content a string");
            fuzz_sink += strlen(r->messages[i].content);
        }
        fuzz_check(!r->content && !r->tokens, "chat: no prompt");
        fuzz_check(r->top_logprobs >= -1 && r->top_logprobs <= SERVE_TOP_LOGPROBS_MAX, "top_logprobs range");
    } else {
        fuzz_check(!r->messages, "completion: no messages");
        fuzz_check(r->content ? !r->tokens && strlen(r->content) == r->content_len : r->n_tokens > 0 && r->tokens,
                   "completion: one prompt");
        fuzz_check(r->top_logprobs >= -1 && r->top_logprobs <= SERVE_COMPLETION_LOGPROBS_MAX, "logprobs range");
        fuzz_check(r->echo == 0 || r->echo == 1, "echo 0/1");
    }
    fuzz_check(!r->schema || r->schema[0] == '{' || r->schema[0] == 't' || r->schema[0] == 'f', "schema: JSON text");
    /* tools: chat only, a JSON array; tool_choice one of four, a named
     * tool one of them; calls only on assistant messages, an answer's id */
    fuzz_check(!r->tools || (r->kind == SERVE_REQ_CHAT && r->tools[0] == '['), "tools: a chat's JSON array");
    fuzz_check(r->tool_choice >= SERVE_TOOLS_AUTO && r->tool_choice <= SERVE_TOOLS_NAMED, "tool_choice kind");
    fuzz_check(r->tools || r->tool_choice == SERVE_TOOLS_NONE, "tool_choice without tools is none");
    if (r->tool_choice == SERVE_TOOLS_NAMED) {
        char want[SERVE_TOOL_NAME_MAX + 16];
        snprintf(want, sizeof want, "\"name\":\"%s\"", r->tool_name);
        fuzz_check(r->tool_name[0] && strstr(r->tools, want), "the named tool is one of the tools");
    }
    for (size_t i = 0; i < r->n_messages; i++) {
        const serve_message *m = &r->messages[i];
        fuzz_check(!m->tool_calls || (strcmp(m->role, "assistant") == 0 && m->tool_calls[0] == '['),
                   "tool_calls: an assistant's JSON array");
        fuzz_check((strcmp(m->role, "tool") == 0) == (m->tool_call_id != NULL), "tool_call_id on tool messages only");
    }
    fuzz_check(r->stream == 0 || r->stream == 1, "stream 0/1");
    fuzz_check(r->include_usage == 0 || r->include_usage == 1, "include_usage 0/1");
    fuzz_check(r->max_tokens >= -1, "max_tokens >= -1");
    fuzz_check(r->n_stop >= 0 && r->n_stop <= SERVE_STOP_MAX, "stop count");
    for (int i = 0; i < r->n_stop; i++) {
        const size_t n = strlen(r->stop[i]);
        fuzz_check(n >= 1 && n <= SERVE_STOP_LEN_MAX, "stop length");
    }
    const mote_sampler_params *sp = &r->sampling;
    fuzz_check(sp->temp >= 0 && sp->temp <= 100, "temperature range");
    fuzz_check(sp->top_p >= 0 && sp->top_p <= 1 && sp->min_p >= 0 && sp->min_p <= 1, "top_p, min_p range");
    fuzz_check(sp->top_k >= 0, "top_k >= 0");
    fuzz_check(sp->presence_penalty >= -2 && sp->presence_penalty <= 2, "presence_penalty range");
    fuzz_check(sp->freq_penalty >= -2 && sp->freq_penalty <= 2, "frequency_penalty range");
    fuzz_check(sp->repeat_penalty > 0 && sp->repeat_penalty <= 100, "repeat_penalty range");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    static const serve_request_kind kinds[] = {SERVE_REQ_TOKENIZE, SERVE_REQ_DETOKENIZE, SERVE_REQ_CHAT,
                                               SERVE_REQ_COMPLETION};
    const serve_request_kind kind = data[0] & 0x80 ? SERVE_REQ_EMBEDDINGS : kinds[data[0] & 3];
    const size_t len = size - 1;
    char *body = malloc(len ? len : 1);
    fuzz_check(body != NULL, "malloc");
    memcpy(body, data + 1, len);

    serve_request req, again;
    serve_error err, err2;
    const int rc = serve_parse_request(kind, body, len, &req, &err);
    fuzz_check(rc == 0 || rc == -1, "returns 0 or -1");
    if (rc == 0) {
        fuzz_check(req.kind == kind, "the kind asked");
        fuzz_check(!req.model || strlen(req.model) < (size_t)-1, "model is a string");
        if (kind == SERVE_REQ_TOKENIZE) {
            fuzz_check(req.content && strlen(req.content) == req.content_len, "content of content_len bytes");
            fuzz_check(req.add_special == 0 || req.add_special == 1, "add_special 0/1");
            fuzz_check(req.parse_special == 0 || req.parse_special == 1, "parse_special 0/1");
            fuzz_check(!req.tokens && req.n_tokens == 0, "tokenize has no tokens");
        } else if (kind == SERVE_REQ_EMBEDDINGS) {
            fuzz_check(req.n_inputs >= 1 && req.n_inputs <= SERVE_EMBED_INPUTS_MAX && req.inputs, "1.. inputs");
            for (size_t i = 0; i < req.n_inputs; i++) fuzz_check(req.inputs[i] && req.inputs[i][0], "a text");
            fuzz_check(req.dimensions >= 0 && (req.base64 == 0 || req.base64 == 1), "format and dimensions");
            fuzz_check(!req.messages && !req.tokens && !req.content, "embeddings: texts only");
        } else if (kind != SERVE_REQ_DETOKENIZE) {
            check_generation(&req);
        } else {
            fuzz_check(req.n_tokens == 0 || req.tokens, "tokens present");
            for (size_t i = 0; i < req.n_tokens; i++) fuzz_check(req.tokens[i] >= 0, "ids >= 0");
            for (size_t i = 0; i < req.n_tokens; i++) fuzz_sink += (uint64_t)req.tokens[i];
            fuzz_check(!req.content, "detokenize has no content");
        }
    } else {
        fuzz_check(err.status == 400 || err.status == 500, "status 400 or 500");
        fuzz_check(err.type && *err.type, "a type");
        fuzz_check(memchr(err.message, 0, sizeof err.message) && err.message[0], "a message");
        fuzz_check(memchr(err.param, 0, sizeof err.param) && param_ok(kind, err.param), "param of the kind");
        fuzz_check(!req.model && !req.content && !req.tokens && req.n_tokens == 0 && !req.messages &&
                       req.n_messages == 0 && req.n_stop == 0 && !req.schema && !req.tools && !req.inputs &&
                       req.n_inputs == 0,
                   "left empty");
    }
    const int rc2 = serve_parse_request(kind, body, len, &again, &err2);
    fuzz_check(rc2 == rc, "same result twice");
    if (rc == 0) {
        fuzz_check(again.n_tokens == req.n_tokens && again.content_len == req.content_len &&
                       again.n_messages == req.n_messages && again.n_stop == req.n_stop &&
                       again.max_tokens == req.max_tokens && again.top_logprobs == req.top_logprobs &&
                       again.n_inputs == req.n_inputs && again.dimensions == req.dimensions,
                   "same request twice");
        fuzz_check(!req.content || memcmp(again.content, req.content, req.content_len) == 0, "same content twice");
        fuzz_check(!req.n_tokens || memcmp(again.tokens, req.tokens, req.n_tokens * sizeof *req.tokens) == 0,
                   "same tokens twice");
    } else {
        fuzz_check(err2.status == err.status && strcmp(err2.param, err.param) == 0, "same error twice");
    }
    serve_request_free(&req);
    serve_request_free(&again);
    free(body);
    return 0;
}
