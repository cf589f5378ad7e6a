/*
 * test_mem_mcp.c — the MCP server's protocol layer (src/memory/mcp.c) with
 * stand-in tools (`mote mcp`'s memory tools are tested end to end by
 * tests/js/mcp.mjs):
 *   - initialize: the client's version when spoken, else the newest;
 *     serverInfo, instructions, the tools capability;
 *   - tools/list: inputSchema always, outputSchema for a tool that has one;
 *   - tools/call: structuredContent beside the text on success only, a
 *     tool's failure as isError, bad arguments as invalid params with the
 *     tool's message, an unknown tool as invalid params;
 *   - mcp_serve: one answer per line, nothing for notifications and blank
 *     lines, 0 at the end of input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "memory/mcp.h"
#include "testutil.h"

/* {"say": S} answers S; {"fail": 1} fails, {"fail": 2} is bad arguments;
 * the structured result is {"said": S} (or, with "odd", not an object). */
static enum mcp_outcome say(void *user, const cJSON *args, char **text, cJSON **structured)
{
    (*(int *)user)++;
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(args, "say");
    const cJSON *fail = cJSON_GetObjectItemCaseSensitive(args, "fail");
    *text = strdup(cJSON_IsString(s) ? s->valuestring : "");
    if (cJSON_GetObjectItemCaseSensitive(args, "odd")) {
        *structured = cJSON_CreateString("not an object");
    } else {
        *structured = cJSON_CreateObject();
        cJSON_AddStringToObject(*structured, "said", *text);
    }
    if (cJSON_IsNumber(fail)) {
        free(*text);
        *text = strdup(fail->valueint == 1 ? "it broke" : "say: the argument 'say' is wrong");
        return fail->valueint == 1 ? MCP_TOOL_FAILED : MCP_TOOL_BAD_ARGS;
    }
    return MCP_TOOL_OK;
}

static enum mcp_outcome plain(void *user, const cJSON *args, char **text, cJSON **structured)
{
    (void)user;
    (void)args;
    (void)structured;
    *text = strdup("plain text");
    return MCP_TOOL_OK;
}

static const mcp_tool tools[] = {
    {"say", "Say", "Says it.", "{\"type\":\"object\",\"properties\":{\"say\":{\"type\":\"string\"}}}",
     "{\"type\":\"object\",\"properties\":{\"said\":{\"type\":\"string\"}},\"required\":[\"said\"]}", say},
    {"plain", NULL, "Text only.", "{\"type\":\"object\"}", NULL, plain},
};

static int calls;
static mcp_server server(void)
{
    calls = 0;
    return (mcp_server){.name = "test", .version = "1.2.3", .instructions = "Be kind.", .tools = tools,
                        .n_tools = 2, .user = &calls};
}

/* The answer to line, parsed (NULL for none). */
static cJSON *ask(mcp_server *srv, const char *line)
{
    char *a = mcp_handle(srv, line, strlen(line));
    if (!a) return NULL;
    cJSON *r = cJSON_Parse(a);
    assert_non_null(r);
    free(a);
    return r;
}

static const cJSON *get(const cJSON *o, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k && o; k = strtok_r(NULL, ".", &save))
        o = cJSON_IsArray(o) ? cJSON_GetArrayItem(o, atoi(k)) : cJSON_GetObjectItemCaseSensitive(o, k);
    return o;
}

static const char *str(const cJSON *o, const char *path)
{
    const cJSON *v = get(o, path);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void test_initialize(void **state)
{
    (void)state;
    mcp_server srv = server();
    cJSON *r = ask(&srv, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
                         "\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":\"c\",\"version\":\"1\"}}}");
    assert_string_equal(str(r, "result.protocolVersion"), "2025-06-18");
    assert_string_equal(str(r, "result.serverInfo.name"), "test");
    assert_string_equal(str(r, "result.serverInfo.version"), "1.2.3");
    assert_string_equal(str(r, "result.instructions"), "Be kind.");
    assert_true(cJSON_IsObject(get(r, "result.capabilities.tools")));
    assert_true(srv.initialized);
    cJSON_Delete(r);
    r = ask(&srv, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"1999-01-01\"}}");
    assert_string_equal(str(r, "result.protocolVersion"), "2025-11-25");
    cJSON_Delete(r);
}

static void test_list(void **state)
{
    (void)state;
    mcp_server srv = server();
    cJSON *r = ask(&srv, "{\"jsonrpc\":\"2.0\",\"id\":\"l\",\"method\":\"tools/list\"}");
    assert_int_equal(cJSON_GetArraySize(get(r, "result.tools")), 2);
    assert_string_equal(str(r, "result.tools.0.name"), "say");
    assert_string_equal(str(r, "result.tools.0.title"), "Say");
    assert_string_equal(str(r, "result.tools.0.inputSchema.type"), "object");
    assert_string_equal(str(r, "result.tools.0.outputSchema.required.0"), "said");
    assert_string_equal(str(r, "result.tools.1.name"), "plain");
    assert_null(get(r, "result.tools.1.title"));
    assert_null(get(r, "result.tools.1.outputSchema"));
    assert_true(cJSON_IsObject(get(r, "result.tools.1.inputSchema")));
    cJSON_Delete(r);
}

static void test_call(void **state)
{
    (void)state;
    mcp_server srv = server();
    /* success: the text and the structured result */
    cJSON *r = ask(&srv, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"say\","
                         "\"arguments\":{\"say\":\"hi\"}}}");
    assert_string_equal(str(r, "result.content.0.type"), "text");
    assert_string_equal(str(r, "result.content.0.text"), "hi");
    assert_string_equal(str(r, "result.structuredContent.said"), "hi");
    assert_true(cJSON_IsFalse(get(r, "result.isError")));
    cJSON_Delete(r);
    /* a tool's failure: isError, its structured result dropped */
    r = ask(&srv, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{\"name\":\"say\","
                  "\"arguments\":{\"fail\":1}}}");
    assert_string_equal(str(r, "result.content.0.text"), "it broke");
    assert_true(cJSON_IsTrue(get(r, "result.isError")));
    assert_null(get(r, "result.structuredContent"));
    cJSON_Delete(r);
    /* bad arguments: invalid params with the tool's message */
    r = ask(&srv, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{\"name\":\"say\","
                  "\"arguments\":{\"fail\":2}}}");
    assert_int_equal(get(r, "error.code")->valueint, -32602);
    assert_string_equal(str(r, "error.message"), "say: the argument 'say' is wrong");
    assert_null(get(r, "result"));
    cJSON_Delete(r);
    /* a structured result that is not an object is not sent */
    r = ask(&srv, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/call\",\"params\":{\"name\":\"say\","
                  "\"arguments\":{\"odd\":true}}}");
    assert_true(cJSON_IsFalse(get(r, "result.isError")));
    assert_null(get(r, "result.structuredContent"));
    cJSON_Delete(r);
    /* no arguments: the tool gets an empty object; text only */
    r = ask(&srv, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"plain\"}}");
    assert_string_equal(str(r, "result.content.0.text"), "plain text");
    assert_null(get(r, "result.structuredContent"));
    cJSON_Delete(r);
    /* an unknown tool, arguments that are no object */
    r = ask(&srv, "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"tools/call\",\"params\":{\"name\":\"nope\"}}");
    assert_int_equal(get(r, "error.code")->valueint, -32602);
    assert_non_null(strstr(str(r, "error.message"), "Unknown tool: nope"));
    cJSON_Delete(r);
    r = ask(&srv, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{\"name\":\"say\",\"arguments\":[]}}");
    assert_int_equal(get(r, "error.code")->valueint, -32602);
    cJSON_Delete(r);
    assert_int_equal(calls, 4);
}

static void test_serve(void **state)
{
    (void)state;
    mcp_server srv = server();
    static const char input[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\r\n"
                                "\n"
                                "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n"
                                "{oops\n"
                                "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"say\","
                                "\"arguments\":{\"say\":\"a\\nb\"}}}"; /* no final newline */
    FILE *in = fmemopen((void *)input, sizeof input - 1, "r");
    char *out = NULL;
    size_t len = 0;
    FILE *o = open_memstream(&out, &len);
    assert_non_null(in);
    assert_non_null(o);
    assert_int_equal(mcp_serve(&srv, in, o), 0);
    fclose(in);
    fclose(o);
    const char *want[] = {
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}",
        "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"Parse error: the line is not JSON\"}}",
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"a\\nb\"}],"
        "\"structuredContent\":{\"said\":\"a\\nb\"},\"isError\":false}}",
    };
    char *line = out;
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        *nl = '\0';
        assert_string_equal(line, want[i]);
        line = nl + 1;
    }
    assert_string_equal(line, "");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_initialize),
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_call),
        cmocka_unit_test(test_serve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
