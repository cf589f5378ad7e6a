/*
 * cmd_mcp.c — `mote mcp`: the private memory served to agent apps over the
 * Model Context Protocol on stdin/stdout (src/memory/mcp.c speaks it), as
 * two tools:
 *
 *   memory_search  the chunks that best match a query, with citations
 *   memory_ask     an answer from a local model (-m MODEL) citing them
 *
 * The memory is opened once at start, and the process fails at once when
 * it cannot be (no store, a missing key). stdout carries protocol lines
 * alone: the protocol writes to its own copy of it, and fd 1 is pointed at
 * stderr, so nothing printed elsewhere can corrupt the stream. Like `mote
 * memory`, it runs under a seccomp filter that allows no network socket.
 */
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli/cli.h"
#include "cli/memory_common.h"
#include "memory/mcp.h"
#include "memory/memory.h"

/* Chunks a call may ask for (k); a model's context holds far fewer. */
#define TOOL_K_MAX 50
/* Chunks a call gets when it does not say (-k changes both). */
#define SEARCH_K_DEFAULT 8
#define ASK_K_DEFAULT 6
#define CITE_MAX (PATH_MAX + 128)
/* Room for a tool's schema text with its defaults filled in. */
#define SCHEMA_MAX 2048

/* What the tools share: the memory, the answering model, the defaults. */
typedef struct mcp_memory {
    memory *m;
    const char *model;   /* the answering model's path, or NULL (no -m) */
    int k_search, k_ask; /* default k of each tool */
} mcp_memory;

/* ------------------------------------------------------------------------
 * Schemas
 * ---------------------------------------------------------------------- */

#define KINDS "\"text\",\"markdown\",\"html\",\"pdf\",\"mail\",\"sensor\""

/* One hit as memory_hit_json writes it. */
#define HIT_PROPERTIES                                                                                            \
    "\"rank\":{\"type\":\"integer\",\"description\":\"1 is the best match\"},"                                   \
    "\"score\":{\"type\":\"number\"},"                                                                            \
    "\"rank_bm25\":{\"type\":\"integer\",\"description\":\"rank among the keyword matches, 0 if none\"},"        \
    "\"rank_vector\":{\"type\":\"integer\",\"description\":\"rank among the meaning matches, 0 if none\"},"      \
    "\"citation\":{\"type\":\"string\",\"description\":\"where the text is: file and lines, pages, "             \
    "Message-ID, or time window\"},"                                                                              \
    "\"source\":{\"type\":\"string\",\"description\":\"the file's path\"},"                                      \
    "\"kind\":{\"type\":\"string\",\"enum\":[" KINDS "]},"                                                        \
    "\"title\":{\"type\":\"string\",\"description\":\"section heading, mail subject or series\"},"               \
    "\"line_lo\":{\"type\":\"integer\"},\"line_hi\":{\"type\":\"integer\"},"                                      \
    "\"message_id\":{\"type\":\"string\"},"                                                                       \
    "\"t_lo\":{\"type\":\"integer\",\"description\":\"Unix seconds\"},"                                           \
    "\"t_hi\":{\"type\":\"integer\",\"description\":\"Unix seconds\"},"                                           \
    "\"text\":{\"type\":\"string\"}"
#define HIT_REQUIRED "\"rank\",\"score\",\"rank_bm25\",\"rank_vector\",\"citation\",\"source\",\"kind\",\"text\""

static const char search_output_schema[] =
    "{\"type\":\"object\",\"properties\":{\"hits\":{\"type\":\"array\",\"description\":\"best first\","
    "\"items\":{\"type\":\"object\",\"properties\":{" HIT_PROPERTIES "},\"required\":[" HIT_REQUIRED "]}}},"
    "\"required\":[\"hits\"]}";

static const char ask_output_schema[] =
    "{\"type\":\"object\",\"properties\":{\"answer\":{\"type\":\"string\"},"
    "\"sources\":{\"type\":\"array\",\"description\":\"the chunks the model was given, [1] first\","
    "\"items\":{\"type\":\"object\",\"properties\":{" HIT_PROPERTIES ","
    "\"cited\":{\"type\":\"boolean\",\"description\":\"the answer cites it\"}},"
    "\"required\":[" HIT_REQUIRED ",\"cited\"]}}},"
    "\"required\":[\"answer\",\"sources\"]}";

#define K_SCHEMA "\"k\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":%d,\"default\":%d,\"description\":\"%s\"}"
#define WHEN_HELP "(UTC): a date 2026-11-21, 2026-11-21T14:00, or Unix seconds; mail and sensor readings have times"

static void search_input_schema(char *buf, size_t cap, int k)
{
    snprintf(buf, cap,
             "{\"type\":\"object\",\"properties\":{"
             "\"query\":{\"type\":\"string\",\"minLength\":1,\"description\":\"words or a question\"}," K_SCHEMA ","
             "\"kind\":{\"type\":\"string\",\"enum\":[" KINDS "],\"description\":\"only sources of this kind\"},"
             "\"source\":{\"type\":\"string\",\"description\":\"only files whose path starts with this\"},"
             "\"since\":{\"type\":\"string\",\"description\":\"only chunks dated at or after this " WHEN_HELP "\"},"
             "\"until\":{\"type\":\"string\",\"description\":\"only chunks dated before this " WHEN_HELP "\"}},"
             "\"required\":[\"query\"],\"additionalProperties\":false}",
             TOOL_K_MAX, k, "how many chunks");
}

static void ask_input_schema(char *buf, size_t cap, int k)
{
    snprintf(buf, cap,
             "{\"type\":\"object\",\"properties\":{"
             "\"question\":{\"type\":\"string\",\"minLength\":1}," K_SCHEMA "},"
             "\"required\":[\"question\"],\"additionalProperties\":false}",
             TOOL_K_MAX, k, "how many chunks the model is given as sources (fewer if its context is short)");
}

/* ------------------------------------------------------------------------
 * Arguments
 * ---------------------------------------------------------------------- */

/* MCP_TOOL_BAD_ARGS with the message in *text. */
__attribute__((format(printf, 2, 3))) static enum mcp_outcome bad_args(char **text, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    *text = strdup(buf);
    return MCP_TOOL_BAD_ARGS;
}

/* Every argument is one of names (NULL-terminated). */
static int known_args(const char *tool, const cJSON *args, const char *const *names, char **text)
{
    for (const cJSON *a = args->child; a; a = a->next) {
        size_t i = 0;
        while (names[i] && strcmp(names[i], a->string) != 0) i++;
        if (!names[i]) {
            bad_args(text, "%s: unknown argument '%.80s'", tool, a->string);
            return -1;
        }
    }
    return 0;
}

/* A string argument (null counts as absent): *out, or NULL when absent. */
static int arg_string(const char *tool, const cJSON *args, const char *name, int required, const char **out,
                      char **text)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, name);
    *out = NULL;
    const char *why = NULL;
    if ((!v || cJSON_IsNull(v)) && required) why = "is required (a string)";
    else if (v && !cJSON_IsNull(v) && !cJSON_IsString(v)) why = "must be a string";
    else if (required && cJSON_IsString(v) && !v->valuestring[strspn(v->valuestring, " \t\r\n")]) why = "must not be empty";
    if (why) {
        bad_args(text, "%s: the argument '%s' %s", tool, name, why);
        return -1;
    }
    if (cJSON_IsString(v)) *out = v->valuestring;
    return 0;
}

/* The argument k: an integer 1..TOOL_K_MAX, def when absent. */
static int arg_k(const char *tool, const cJSON *args, int def, int *out, char **text)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, "k");
    *out = def;
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < 1 ||
        v->valuedouble > TOOL_K_MAX) {
        bad_args(text, "%s: the argument 'k' must be an integer from 1 to %d", tool, TOOL_K_MAX);
        return -1;
    }
    *out = (int)v->valuedouble;
    return 0;
}

/* ------------------------------------------------------------------------
 * Results
 * ---------------------------------------------------------------------- */

/* "CITATION — TITLE" of a hit. */
static void print_cite(FILE *f, const mem_hit *h)
{
    char cite[CITE_MAX];
    memory_cite(h, cite, sizeof cite);
    fprintf(f, "%s%s%s", cite, h->title ? " — " : "", h->title ? h->title : "");
}

/* A tool's result: the text written to f (an open_memstream of *buf, or
 * NULL if none could be opened) and the structured result, both built
 * without checking each allocation; one that failed fails the call. */
static enum mcp_outcome result(FILE *f, char **buf, cJSON *root, int complete, char **text, cJSON **structured)
{
    if (f && fclose(f) != 0) {
        free(*buf);
        *buf = NULL;
    }
    if (!f || !*buf || !root || !complete) {
        free(*buf);
        cJSON_Delete(root);
        *text = strdup("out of memory");
        return MCP_TOOL_FAILED;
    }
    *text = *buf;
    *structured = root;
    return MCP_TOOL_OK;
}

static enum mcp_outcome failed(char **text, const char *what)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s: %s", what, mote_last_error());
    *text = strdup(buf);
    return MCP_TOOL_FAILED;
}

/* ------------------------------------------------------------------------
 * The tools
 * ---------------------------------------------------------------------- */

static enum mcp_outcome tool_search(void *user, const cJSON *args, char **text, cJSON **structured)
{
    static const char tool[] = "memory_search";
    static const char *const names[] = {"query", "k", "kind", "source", "since", "until", NULL};
    mcp_memory *mm = user;
    const char *query, *kind, *source, *since, *until;
    int k;
    if (known_args(tool, args, names, text) || arg_string(tool, args, "query", 1, &query, text) ||
        arg_k(tool, args, mm->k_search, &k, text) || arg_string(tool, args, "kind", 0, &kind, text) ||
        arg_string(tool, args, "source", 0, &source, text) || arg_string(tool, args, "since", 0, &since, text) ||
        arg_string(tool, args, "until", 0, &until, text))
        return MCP_TOOL_BAD_ARGS;
    mem_query q = {.mode = MEM_SEARCH_HYBRID, .text = query, .kind = -1};
    if (kind && memory_parse_kind(kind, &q.kind) != 0)
        return bad_args(text, "%s: the argument 'kind' must be text, markdown, html, pdf, mail or sensor", tool);
    if (since || until) {
        q.has_time = 1;
        q.t_lo = INT64_MIN;
        q.t_hi = INT64_MAX;
        if (since && memory_parse_time(since, &q.t_lo) != 0)
            return bad_args(text, "%s: the argument 'since' must be a date (2026-11-21, 2026-11-21T14:00) or Unix "
                                  "seconds", tool);
        if (until && memory_parse_time(until, &q.t_hi) != 0)
            return bad_args(text, "%s: the argument 'until' must be a date (2026-11-21, 2026-11-21T14:00) or Unix "
                                  "seconds", tool);
    }
    char prefix[PATH_MAX];
    if (source) {
        if (!realpath(source, prefix)) snprintf(prefix, sizeof prefix, "%s", source);
        q.path_prefix = prefix;
    }
    mem_hit hits[TOOL_K_MAX];
    int n = 0;
    if (memory_search(mm->m, &q, hits, k, &n) != MOTE_OK) return failed(text, "the search failed");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "hits");
    if (f) {
        for (int i = 0; i < n; i++) {
            fprintf(f, "%s[%d] ", i ? "\n\n" : "", i + 1);
            print_cite(f, &hits[i]);
            fprintf(f, "\n%s", hits[i].text);
            cJSON_AddItemToArray(arr, memory_hit_json(&hits[i], i + 1));
        }
        if (n == 0) fputs("Nothing in the memory matches.", f);
    }
    mem_hits_free(hits, n);
    return result(f, &buf, root, arr && cJSON_GetArraySize(arr) == n, text, structured);
}

static enum mcp_outcome tool_ask(void *user, const cJSON *args, char **text, cJSON **structured)
{
    static const char tool[] = "memory_ask";
    static const char *const names[] = {"question", "k", NULL};
    mcp_memory *mm = user;
    const char *question;
    int k;
    if (known_args(tool, args, names, text) || arg_string(tool, args, "question", 1, &question, text) ||
        arg_k(tool, args, mm->k_ask, &k, text))
        return MCP_TOOL_BAD_ARGS;
    if (!mm->model) {
        *text = strdup("memory_ask needs a model to answer with, and this server was started without one: "
                       "start it as `mote mcp -m MODEL` (memory_search works without)");
        return MCP_TOOL_FAILED;
    }
    memory_ask_opts o = memory_default_ask_opts();
    o.model = mm->model;
    o.k = k;
    memory_answer a;
    if (memory_ask(mm->m, question, &o, &a) != MOTE_OK) return failed(text, "the answer failed");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "answer", a.text);
    cJSON *arr = cJSON_AddArrayToObject(root, "sources");
    if (f) {
        fprintf(f, "%s\n\nSources:", a.text);
        for (int i = 0; i < a.n_sources; i++) {
            fprintf(f, "\n%s[%d] ", a.cited[i] ? "*" : " ", i + 1);
            print_cite(f, &a.sources[i]);
            cJSON *o_hit = memory_hit_json(&a.sources[i], i + 1);
            cJSON_AddBoolToObject(o_hit, "cited", a.cited[i]);
            cJSON_AddItemToArray(arr, o_hit);
        }
        fputs(a.n_sources ? "\n(* the answer cites it)" : "\n(nothing in the memory matched)", f);
    }
    const int complete = arr && cJSON_GetArraySize(arr) == a.n_sources;
    memory_answer_free(&a);
    return result(f, &buf, root, complete, text, structured);
}

/* ------------------------------------------------------------------------
 * The verb
 * ---------------------------------------------------------------------- */

static const char instructions[] =
    "memory_search finds passages in the user's own files, mail and sensor logs (indexed on this device) with "
    "citations, and memory_ask answers a question from them with a local model, citing its sources; nothing "
    "leaves the device.";

int cmd_mcp(int argc, char **argv)
{
    cli_memory_opts c = {0};
    const char *model = NULL;
    int k = 0;
    const cli_opt opts[] = {
        CLI_MEMORY_OPTS(c),
        {'m', "model", ARG_STRING, &model, "MODEL",
         "the model memory_ask answers with (a GGUF file or store name); without it memory_ask returns an error", 0,
         0, NULL},
        {'k', "results", ARG_INT, &k, "N",
         "chunks a call gets when it does not say (default 8 for memory_search, 6 for memory_ask)", 1, TOOL_K_MAX,
         NULL},
        {0},
    };
    const cli_spec spec = {
        .verb = "mcp",
        .usage = "[options]",
        .about = "Serve the private memory to agent apps (Claude Desktop, editors, any MCP client) over\n"
                 "the Model Context Protocol: JSON-RPC messages, one per line, on stdin and stdout,\n"
                 "until stdin ends. The app starts this command itself. Tools:\n"
                 "  memory_search  {query, k?, kind?, source?, since?, until?}: the best chunks, each\n"
                 "                 with its citation, as text and as structured content\n"
                 "  memory_ask     {question, k?}: an answer from MODEL citing its sources as [1],\n"
                 "                 [2], then the sources (those cited marked *)\n\n"
                 "The memory is the one `mote memory add` fills; it is opened at start, and the\n"
                 "command fails at once if it cannot be (no memory there, a missing key). stdout\n"
                 "carries the protocol only; messages go to stderr. No network socket is opened.",
        .notes = "An app's configuration names the command, e.g. for Claude Desktop:\n"
                 "  {\"mcpServers\": {\"memory\": {\"command\": \"mote\",\n"
                 "     \"args\": [\"mcp\", \"--store\", \"/home/me/.local/share/mote/memory\", \"-m\", \"MODEL\"]}}}",
        .opts = opts,
    };
    int n_pos;
    int rc = args_parse(&spec, argc, argv, &n_pos);
    if (rc != ARGS_CONTINUE) return rc;
    cli_check_threads(c.n_threads);
    char model_path[PATH_MAX];
    if (model && cli_model_path(model, model_path, sizeof model_path) != 0) return EXIT_LIB;
    /* The protocol gets its own stdout; fd 1 becomes stderr for anything else. */
    const int proto_fd = dup(STDOUT_FILENO);
    FILE *out = proto_fd >= 0 ? fdopen(proto_fd, "w") : NULL;
    if (!out || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) return cli_error("mcp: cannot set up stdout");
    signal(SIGPIPE, SIG_IGN); /* a client gone: the write fails and the loop ends */
    mcp_memory mm = {
        .model = model ? model_path : NULL,
        .k_search = k ? k : SEARCH_K_DEFAULT,
        .k_ask = k ? k : ASK_K_DEFAULT,
    };
    if ((rc = cli_memory_open(&c, 0, &mm.m)) != 0) {
        fclose(out);
        return rc;
    }
    char search_schema[SCHEMA_MAX], ask_schema[SCHEMA_MAX];
    search_input_schema(search_schema, sizeof search_schema, mm.k_search);
    ask_input_schema(ask_schema, sizeof ask_schema, mm.k_ask);
    const mcp_tool tools[] = {
        {"memory_search", "Search the private memory",
         "Search the user's private memory (their files, notes, mail and sensor logs, indexed on this device) for "
         "the passages that best match a query, by keywords and meaning. Each hit comes with its citation (file "
         "and lines, PDF pages, mail Message-ID, or sensor time window); filter by kind, source path or dates.",
         search_schema, search_output_schema, tool_search},
        {"memory_ask", "Ask the private memory",
         "Answer a question from the user's private memory with a local model: the best passages are its "
         "numbered sources, the answer cites them as [1], [2], and the sources follow with their citations.",
         ask_schema, ask_output_schema, tool_ask},
    };
    mcp_server srv = {
        .name = "mote",
        .version = MOTE_VERSION,
        .instructions = instructions,
        .tools = tools,
        .n_tools = (int)(sizeof tools / sizeof tools[0]),
        .user = &mm,
    };
    if (mcp_serve(&srv, stdin, out) != 0) rc = cli_error("mcp: writing to the client failed (it went away?)");
    if (fclose(out) != 0 && rc == 0) rc = cli_error("mcp: writing to the client failed");
    memory_close(mm.m);
    return rc;
}
