/*
 * fuzz_serve_request.c — libFuzzer target for the server's request
 * parser (src/serve/request.c): any bytes as the JSON body of /tokenize
 * or /detokenize.
 *
 * Input: the first byte's low bit picks the kind (0 tokenize, 1
 * detokenize); the rest is the body, in a buffer of its own with no NUL
 * after it (the parser must respect the length).
 *
 * Contract (request.h):
 * - serve_parse_request returns 0 or -1;
 * - 0: the request has the kind asked; tokenize: content is a string of
 *   content_len bytes, add_special and parse_special are 0 or 1, no
 *   tokens; detokenize: n_tokens ids, each >= 0, no content; model NULL
 *   or a string;
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
    return strcmp(p, "tokens") == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const serve_request_kind kind = (data[0] & 1) ? SERVE_REQ_DETOKENIZE : SERVE_REQ_TOKENIZE;
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
        fuzz_check(!req.model && !req.content && !req.tokens && req.n_tokens == 0, "left empty");
    }
    const int rc2 = serve_parse_request(kind, body, len, &again, &err2);
    fuzz_check(rc2 == rc, "same result twice");
    if (rc == 0) {
        fuzz_check(again.n_tokens == req.n_tokens && again.content_len == req.content_len, "same request twice");
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
