/*
 * mcp.c — the Model Context Protocol's stdio server (see mcp.h).
 *
 * Methods: initialize (the version the client asks for if this server
 * speaks it, else the newest), ping, tools/list, tools/call;
 * notifications (no id) get no answer. Batches (JSON arrays) are not part
 * of the protocol since 2025-06-18 and are refused as invalid requests.
 * A tool's structured result goes out as structuredContent (2025-06-18)
 * beside its text, which older clients read alone.
 */
#include "memory/mcp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

/* JSON-RPC 2.0's error codes. */
#define RPC_PARSE_ERROR -32700
#define RPC_INVALID_REQUEST -32600
#define RPC_METHOD_NOT_FOUND -32601
#define RPC_INVALID_PARAMS -32602
/* Integer ids are exact in a double up to 2^53. */
#define ID_INT_MAX 9007199254740992.0

/* The protocol revisions spoken, newest first. */
static const char *const versions[] = {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"};

/* A response with `id` (copied; NULL: null) and result or error (consumed). */
static char *respond(const cJSON *id, cJSON *result, int code, const char *message)
{
    cJSON *r = cJSON_CreateObject();
    if (!r) {
        cJSON_Delete(result);
        return NULL;
    }
    cJSON_AddStringToObject(r, "jsonrpc", "2.0");
    cJSON_AddItemToObject(r, "id", id ? cJSON_Duplicate(id, 1) : cJSON_CreateNull());
    if (result) {
        cJSON_AddItemToObject(r, "result", result);
    } else {
        cJSON *e = cJSON_AddObjectToObject(r, "error");
        cJSON_AddNumberToObject(e, "code", code);
        cJSON_AddStringToObject(e, "message", message);
    }
    char *text = cJSON_PrintUnformatted(r);
    cJSON_Delete(r);
    return text;
}

static cJSON *initialize(mcp_server *srv, const cJSON *params)
{
    const cJSON *asked = cJSON_GetObjectItemCaseSensitive(params, "protocolVersion");
    const char *version = versions[0];
    for (size_t i = 0; cJSON_IsString(asked) && i < sizeof versions / sizeof *versions; i++)
        if (strcmp(asked->valuestring, versions[i]) == 0) version = versions[i];
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "protocolVersion", version);
    cJSON *caps = cJSON_AddObjectToObject(r, "capabilities");
    cJSON_AddBoolToObject(cJSON_AddObjectToObject(caps, "tools"), "listChanged", 0);
    cJSON *info = cJSON_AddObjectToObject(r, "serverInfo");
    cJSON_AddStringToObject(info, "name", srv->name);
    cJSON_AddStringToObject(info, "version", srv->version);
    if (srv->instructions) cJSON_AddStringToObject(r, "instructions", srv->instructions);
    srv->initialized = 1;
    return r;
}

static cJSON *list_tools(const mcp_server *srv)
{
    cJSON *r = cJSON_CreateObject(), *tools = cJSON_AddArrayToObject(r, "tools");
    for (int i = 0; i < srv->n_tools; i++) {
        const mcp_tool *t = &srv->tools[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", t->name);
        if (t->title) cJSON_AddStringToObject(o, "title", t->title);
        cJSON_AddStringToObject(o, "description", t->description);
        cJSON *schema = cJSON_Parse(t->input_schema); /* the server's own text: valid */
        cJSON_AddItemToObject(o, "inputSchema", schema ? schema : cJSON_CreateObject());
        cJSON *out = t->output_schema ? cJSON_Parse(t->output_schema) : NULL;
        if (out) cJSON_AddItemToObject(o, "outputSchema", out);
        cJSON_AddItemToArray(tools, o);
    }
    return r;
}

/* tools/call: a result (with isError for a tool's failure), or NULL with
 * *code and *message for a protocol error (*owned: message to free). */
static cJSON *call_tool(mcp_server *srv, const cJSON *params, int *code, char **message)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(params, "name");
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(params, "arguments");
    *code = RPC_INVALID_PARAMS;
    if (!cJSON_IsString(name)) {
        *message = strdup("tools/call: 'name' must be a string");
        return NULL;
    }
    if (args && !cJSON_IsObject(args) && !cJSON_IsNull(args)) {
        *message = strdup("tools/call: 'arguments' must be an object");
        return NULL;
    }
    const mcp_tool *t = NULL;
    for (int i = 0; i < srv->n_tools; i++)
        if (strcmp(srv->tools[i].name, name->valuestring) == 0) t = &srv->tools[i];
    if (!t) {
        char buf[160];
        snprintf(buf, sizeof buf, "Unknown tool: %.100s", name->valuestring);
        *message = strdup(buf);
        return NULL;
    }
    cJSON *empty = NULL;
    if (!cJSON_IsObject(args)) args = empty = cJSON_CreateObject();
    char *text = NULL;
    cJSON *structured = NULL;
    const enum mcp_outcome out = t->call(srv->user, args, &text, &structured);
    cJSON_Delete(empty);
    if (out != MCP_TOOL_OK || !cJSON_IsObject(structured)) {
        cJSON_Delete(structured);
        structured = NULL;
    }
    if (out == MCP_TOOL_BAD_ARGS) {
        *message = text ? text : strdup("invalid arguments");
        return NULL;
    }
    cJSON *r = cJSON_CreateObject();
    cJSON *item = cJSON_CreateObject();
    cJSON_AddStringToObject(item, "type", "text");
    cJSON_AddStringToObject(item, "text", text ? text : "");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(r, "content"), item);
    if (structured) cJSON_AddItemToObject(r, "structuredContent", structured);
    cJSON_AddBoolToObject(r, "isError", out != MCP_TOOL_OK);
    free(text);
    return r;
}

char *mcp_handle(mcp_server *srv, const char *line, size_t len)
{
    cJSON *msg = cJSON_ParseWithLength(line, len);
    if (!msg) return respond(NULL, NULL, RPC_PARSE_ERROR, "Parse error: the line is not JSON");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
    const cJSON *method = cJSON_GetObjectItemCaseSensitive(msg, "method");
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(msg, "jsonrpc");
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(msg, "params");
    char *answer = NULL;
    if (!cJSON_IsObject(msg)) {
        answer = respond(NULL, NULL, RPC_INVALID_REQUEST, "Invalid Request: a message is one JSON object (no batches)");
    } else if (id && !cJSON_IsString(id) && !(cJSON_IsNumber(id) && fabs(id->valuedouble) <= ID_INT_MAX &&
                                              id->valuedouble == floor(id->valuedouble))) {
        answer = respond(NULL, NULL, RPC_INVALID_REQUEST, "Invalid Request: 'id' must be a string or an integer");
    } else if (!cJSON_IsString(version) || strcmp(version->valuestring, "2.0") != 0 || !cJSON_IsString(method)) {
        if (id) answer = respond(id, NULL, RPC_INVALID_REQUEST, "Invalid Request: needs jsonrpc \"2.0\" and a method");
        /* a response or a broken notification: nothing is due */
    } else if (params && !cJSON_IsObject(params)) {
        if (id) answer = respond(id, NULL, RPC_INVALID_PARAMS, "Invalid params: 'params' must be an object");
    } else if (!id) {
        /* notifications (initialized, cancelled, ...): nothing to answer */
    } else if (strcmp(method->valuestring, "initialize") == 0) {
        answer = respond(id, initialize(srv, params), 0, NULL);
    } else if (strcmp(method->valuestring, "ping") == 0) {
        answer = respond(id, cJSON_CreateObject(), 0, NULL);
    } else if (strcmp(method->valuestring, "tools/list") == 0) {
        answer = respond(id, list_tools(srv), 0, NULL);
    } else if (strcmp(method->valuestring, "tools/call") == 0) {
        int code = 0;
        char *message = NULL;
        cJSON *r = call_tool(srv, params, &code, &message);
        answer = respond(id, r, code, message ? message : "Internal error");
        free(message);
    } else {
        char buf[160];
        snprintf(buf, sizeof buf, "Method not found: %.100s", method->valuestring);
        answer = respond(id, NULL, RPC_METHOD_NOT_FOUND, buf);
    }
    cJSON_Delete(msg);
    return answer;
}

/* The next line of in (without its newline) into *buf, at most
 * MCP_LINE_MAX bytes kept: 1 with *len (and *too_long when bytes beyond
 * the limit were dropped), 0 at the end of input, -1 out of memory. */
static int read_line(FILE *in, char **buf, size_t *cap, size_t *len, int *too_long)
{
    int c;
    *len = 0;
    *too_long = 0;
    while ((c = getc(in)) != EOF && c != '\n') {
        if (*len == MCP_LINE_MAX) {
            *too_long = 1;
            continue;
        }
        if (*len + 1 >= *cap) {
            size_t n = *cap ? 2 * *cap : 4096;
            char *b = realloc(*buf, n);
            if (!b) return -1;
            *buf = b;
            *cap = n;
        }
        (*buf)[(*len)++] = (char)c;
    }
    return c == EOF && *len == 0 && !*too_long ? 0 : 1;
}

int mcp_serve(mcp_server *srv, FILE *in, FILE *out)
{
    char *line = NULL;
    size_t cap = 0, len;
    int too_long, rc;
    while ((rc = read_line(in, &line, &cap, &len, &too_long)) > 0) {
        while (len && line[len - 1] == '\r') len--;
        if (len == 0 && !too_long) continue;
        char *answer = too_long ? respond(NULL, NULL, RPC_INVALID_REQUEST, "Invalid Request: the message is too long")
                                : mcp_handle(srv, line, len);
        if (answer && (fputs(answer, out) == EOF || fputc('\n', out) == EOF || fflush(out) == EOF)) {
            free(answer);
            free(line);
            return -1;
        }
        free(answer);
    }
    free(line);
    return rc;
}
