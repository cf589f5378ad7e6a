/*
 * mcp.h — a Model Context Protocol server on stdio: JSON-RPC 2.0 messages,
 * one per line, offering tools (MCP's tools/list and tools/call).
 *
 * `mote mcp` serves the memory's tools through it (memory_search,
 * memory_ask); the protocol layer here knows nothing of them. Every line
 * read is untrusted: mcp_handle answers any bytes with a valid JSON-RPC
 * response or nothing (notifications), never more (fuzz/fuzz_mcp.c).
 */
#ifndef MOTE_MEMORY_MCP_H
#define MOTE_MEMORY_MCP_H

#include <stddef.h>
#include <stdio.h>

struct cJSON;

/* The longest message line accepted (bytes); a longer one is answered
 * with an error and skipped. */
#define MCP_LINE_MAX (8u << 20)

/* What a tool's call returns. */
enum mcp_outcome {
    MCP_TOOL_OK,      /* *text is the result */
    MCP_TOOL_FAILED,  /* *text says why; the client sees isError (the model may try again) */
    MCP_TOOL_BAD_ARGS /* *text says which argument is wrong: JSON-RPC "invalid params" */
};

typedef struct mcp_tool {
    const char *name;         /* [a-z_]+ */
    const char *title;        /* for people */
    const char *description;  /* for the model */
    const char *input_schema; /* JSON Schema text of the arguments object */
    const char *output_schema; /* JSON Schema text of the structured result (an object), or NULL */
    /* Run the tool with its arguments (a JSON object); *text malloc'd.
     * A tool with an output_schema sets *structured on MCP_TOOL_OK: an
     * object matching it (the server takes it; sent as structuredContent
     * beside the text); on other outcomes it is dropped. */
    enum mcp_outcome (*call)(void *user, const struct cJSON *args, char **text, struct cJSON **structured);
} mcp_tool;

typedef struct mcp_server {
    const char *name, *version; /* serverInfo */
    const char *instructions;   /* for the client's model, or NULL */
    const mcp_tool *tools;
    int n_tools;
    void *user;                 /* given to every call */
    int initialized;            /* an initialize was answered */
} mcp_server;

/* The answer to one message line (malloc'd JSON without a newline), or
 * NULL when none is due (a notification, or out of memory). */
char *mcp_handle(mcp_server *srv, const char *line, size_t len);
/* Read messages from in until its end, answering each on out (flushed
 * per line). 0 at the end of input, -1 if writing failed or memory ran
 * out. */
int mcp_serve(mcp_server *srv, FILE *in, FILE *out);

#endif
