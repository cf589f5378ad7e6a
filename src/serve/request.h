/*
 * request.h — JSON request bodies of the server, parsed and validated.
 *
 * A body is untrusted input: serve_parse_request turns it into a
 * serve_request or a serve_error (the HTTP status and OpenAI's error
 * fields), never anything between. fuzz/fuzz_serve_request.c holds it to
 * that contract.
 */
#ifndef MOTE_SERVE_REQUEST_H
#define MOTE_SERVE_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "mote.h"

/* The longest param name and message an error carries (bytes, with NUL). */
#define SERVE_PARAM_MAX 64
#define SERVE_MESSAGE_MAX 256

/* Generation requests: stop strings (each 1..SERVE_STOP_LEN_MAX bytes),
 * alternatives per token (chat top_logprobs; completions take at most
 * SERVE_COMPLETION_LOGPROBS_MAX as OpenAI's), messages per chat. */
#define SERVE_STOP_MAX 16
#define SERVE_STOP_LEN_MAX 256
#define SERVE_TOP_LOGPROBS_MAX 20
#define SERVE_COMPLETION_LOGPROBS_MAX 5
#define SERVE_MESSAGES_MAX 100000
/* "logit_bias": at most this many tokens, each biased by -100..100 */
#define SERVE_LOGIT_BIAS_MAX 1024
#define SERVE_LOGIT_BIAS_LIMIT 100

/* OpenAI's error object: {"error":{"message","type","param","code"}}. */
typedef struct serve_error {
    int status;                        /* HTTP status: 400, 401, 404, ... */
    const char *type;                  /* "invalid_request_error", ... (static) */
    const char *code;                  /* "model_not_found", ... or NULL (static) */
    char param[SERVE_PARAM_MAX];       /* the field at fault, or "" */
    char message[SERVE_MESSAGE_MAX];   /* for a person */
} serve_error;

typedef enum serve_request_kind {
    SERVE_REQ_TOKENIZE,   /* POST /tokenize */
    SERVE_REQ_DETOKENIZE, /* POST /detokenize */
    SERVE_REQ_CHAT,       /* POST /v1/chat/completions */
    SERVE_REQ_COMPLETION, /* POST /v1/completions */
    SERVE_REQ_EMBEDDINGS, /* POST /v1/embeddings */
    SERVE_REQ_OBJECT,     /* any JSON object: the route reads it (body_json) */
} serve_request_kind;

/* Embeddings requests: texts per request (OpenAI's limit). */
#define SERVE_EMBED_INPUTS_MAX 2048
#define SERVE_EMBED_DIM_MAX (1 << 20) /* "dimensions" above any model's width */

/* A chat message: role is one of system, developer, user, assistant, tool;
 * content is the text (parts joined), "" when null. An assistant's tool
 * calls are kept as JSON, [{"id", "type": "function", "function":
 * {"name", "arguments"}}] with arguments a string as OpenAI sends it; a
 * tool's answer names its call. */
typedef struct serve_message {
    char *role;
    char *content;
    char *tool_calls;   /* JSON array text, or NULL */
    char *tool_call_id; /* tool: the call it answers, or NULL */
} serve_message;

/* Chat requests: tools per request, and their names (OpenAI's pattern). */
#define SERVE_TOOLS_MAX 128
#define SERVE_TOOL_NAME_MAX 64

typedef enum serve_tool_choice {
    SERVE_TOOLS_AUTO,     /* the model may call one (the default with tools) */
    SERVE_TOOLS_NONE,     /* it must not: tools are not shown to it */
    SERVE_TOOLS_REQUIRED, /* it must call one */
    SERVE_TOOLS_NAMED,    /* it must call tool_name */
} serve_tool_choice;

/* A parsed body. Strings are NUL-terminated copies (content may also hold
 * NULs: content_len counts its bytes). */
typedef struct serve_request {
    serve_request_kind kind;
    char *model;          /* "model", or NULL when absent */
    char *content;        /* tokenize: "content" */
    size_t content_len;
    int add_special;      /* tokenize: "add_special", default 0 as llama-server */
    int parse_special;    /* tokenize: "parse_special", default 1 as llama-server */
    int32_t *tokens;      /* detokenize: "tokens"; completion: a prompt of ids */
    size_t n_tokens;

    /* chat: "messages" (at least one) */
    serve_message *messages;
    size_t n_messages;
    /* completion: "prompt" is content (a string) or tokens (ids); echo */
    int echo;
    /* generation */
    int stream;           /* SSE chunks */
    int include_usage;    /* stream_options.include_usage */
    int max_tokens;       /* max_tokens / max_completion_tokens; -1: absent */
    mote_sampler_params sampling; /* mote's defaults, then the request's fields */
    unsigned sampling_set; /* enum serve_sampling_field bits: the fields the body gave */
    int has_seed;         /* "seed" given (else the server picks one): sampling_set's SEED bit */
    char *stop[SERVE_STOP_MAX];
    int n_stop;
    int top_logprobs;     /* -1: no logprobs; else alternatives per token */
    /* "logit_bias": token ids (not yet checked against a vocabulary) and
     * what each adds to its logit; -100 (or false) is -INFINITY, a ban */
    mote_token *bias_id;
    float *bias;
    int n_bias;
    /* response_format json_object / json_schema: the JSON Schema the
     * output must validate against (JSON text), or NULL */
    char *schema;
    /* chat: "tools" (function tools, checked) as JSON text, or NULL; and
     * "tool_choice" */
    char *tools;
    serve_tool_choice tool_choice;
    char tool_name[SERVE_TOOL_NAME_MAX + 1];
    /* embeddings: "input" (a string or an array of them, none empty),
     * "encoding_format" base64, "dimensions" (0: the model's) */
    char **inputs;
    size_t n_inputs;
    int base64;
    int dimensions;
    /* fields a route adds to its answer (not parsed from the body: the
     * memory's ask puts its sources here), or NULL */
    struct cJSON *extra;
    struct cJSON *body_json; /* SERVE_REQ_OBJECT: the body, parsed */
} serve_request;

/* Parse body[0..len) as a request of `kind`. 0: *out filled (free it with
 * serve_request_free); -1: *err filled (400, or 500 when out of memory)
 * and *out zeroed. */
int serve_parse_request(serve_request_kind kind, const char *body, size_t len, serve_request *out,
                        serve_error *err);
void serve_request_free(serve_request *req);

/* ---- sampling fields, shared by requests and a config's models ---- */

struct cJSON;

/* The sampling fields' JSON names; serve_sampling_names[i] is the field of
 * bit 1 << i of enum serve_sampling_field (serve/config.h). */
#define SERVE_SAMPLING_FIELDS 8
extern const char *const serve_sampling_names[SERVE_SAMPLING_FIELDS];

/* Apply the sampling fields present (not null) in object obj onto *sp,
 * each checked for its type and range, and OR their bits into *set.
 * 0: ok; -1: *err names the first bad field (400). */
int serve_parse_sampling(const struct cJSON *obj, mote_sampler_params *sp, unsigned *set, serve_error *err);
/* Copy the fields in mask `fields` (enum serve_sampling_field bits) from
 * *src to *dst: server defaults, then a model's config, then a request. */
void serve_sampling_apply(mote_sampler_params *dst, const mote_sampler_params *src, unsigned fields);

/* Fill *err; returns -1 so that callers can `return serve_fail(...)`. */
int serve_fail(serve_error *err, int status, const char *type, const char *code, const char *param,
               const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#endif
