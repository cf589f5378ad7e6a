/*
 * fuzz_mcp.c — libFuzzer target for the MCP server's message handling
 * (src/memory/mcp.c): any bytes as one line from the client.
 *
 * Contract (mcp.h):
 * - mcp_handle answers NULL (a notification or a message that needs no
 *   answer) or one JSON object: jsonrpc "2.0", an id (the request's when
 *   it had a valid one, else null), and exactly one of result and error
 *   (an integer code and a non-empty message);
 * - a tools/call of the echo tool reaches it with an object of arguments;
 * - a tools/call's result has content (an array) and a boolean isError,
 *   and structuredContent only when the tool succeeded, as an object;
 * - the same line gets the same answer twice.
 */
#include <string.h>

#include <cjson/cJSON.h>

#include "fuzz.h"
#include "memory/mcp.h"

/* Echoes its arguments as text and as its structured result; {"fail": 1}
 * fails, {"fail": 2} is bad arguments. */
static enum mcp_outcome echo(void *user, const cJSON *args, char **text, cJSON **structured)
{
    (void)user;
    fuzz_check(cJSON_IsObject(args), "a tool gets an object of arguments");
    const cJSON *fail = cJSON_GetObjectItemCaseSensitive(args, "fail");
    *text = cJSON_PrintUnformatted(args);
    *structured = cJSON_Duplicate(args, 1);
    if (cJSON_IsNumber(fail)) return fail->valueint == 1 ? MCP_TOOL_FAILED : MCP_TOOL_BAD_ARGS;
    return MCP_TOOL_OK;
}

static const mcp_tool tools[] = {
    {"echo", "Echo", "Returns its arguments.", "{\"type\":\"object\"}", "{\"type\":\"object\"}", echo},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mcp_server srv = {.name = "fuzz", .version = "0", .tools = tools, .n_tools = 1};
    char *a = mcp_handle(&srv, (const char *)data, size);
    char *b = mcp_handle(&srv, (const char *)data, size);
    fuzz_check((a == NULL) == (b == NULL) && (!a || strcmp(a, b) == 0), "the same answer twice");
    if (a) {
        cJSON *r = cJSON_Parse(a);
        fuzz_check(cJSON_IsObject(r), "an answer is a JSON object");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, "jsonrpc");
        fuzz_check(cJSON_IsString(v) && strcmp(v->valuestring, "2.0") == 0, "jsonrpc 2.0");
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "id");
        fuzz_check(id && (cJSON_IsNull(id) || cJSON_IsString(id) || cJSON_IsNumber(id)), "an id");
        const cJSON *res = cJSON_GetObjectItemCaseSensitive(r, "result");
        const cJSON *err = cJSON_GetObjectItemCaseSensitive(r, "error");
        fuzz_check((res != NULL) != (err != NULL), "result or error");
        if (err) {
            const cJSON *code = cJSON_GetObjectItemCaseSensitive(err, "code");
            const cJSON *msg = cJSON_GetObjectItemCaseSensitive(err, "message");
            fuzz_check(cJSON_IsNumber(code) && cJSON_IsString(msg) && msg->valuestring[0], "an error's code, message");
        }
        /* the request's id comes back */
        cJSON *req = cJSON_ParseWithLength((const char *)data, size);
        const cJSON *rid = cJSON_GetObjectItemCaseSensitive(req, "id");
        if (cJSON_IsObject(req) && (cJSON_IsString(rid) || cJSON_IsNumber(rid)) && !cJSON_IsNull(id))
            fuzz_check(cJSON_Compare(rid, id, 1), "the request's id");
        const cJSON *method = cJSON_GetObjectItemCaseSensitive(req, "method");
        if (res && cJSON_IsString(method) && strcmp(method->valuestring, "tools/call") == 0) {
            const cJSON *content = cJSON_GetObjectItemCaseSensitive(res, "content");
            const cJSON *is_error = cJSON_GetObjectItemCaseSensitive(res, "isError");
            const cJSON *sc = cJSON_GetObjectItemCaseSensitive(res, "structuredContent");
            fuzz_check(cJSON_IsArray(content) && cJSON_IsBool(is_error), "a tool's content and isError");
            fuzz_check(!sc || (cJSON_IsObject(sc) && cJSON_IsFalse(is_error)), "structuredContent: an object, on success");
        }
        cJSON_Delete(req);
        cJSON_Delete(r);
    }
    free(a);
    free(b);
    return 0;
}
