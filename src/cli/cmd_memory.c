/*
 * cmd_memory.c — `mote memory`: the user's files, mail and sensor logs
 * indexed on this device, searched and asked about with citations.
 *
 *   mote memory add PATH...       index files and folders (again: only what changed)
 *   mote memory search QUERY      ranked chunks with their citations
 *   mote memory ask QUESTION -m MODEL   an answer citing its sources as [1], [2]
 *   mote memory status            counts, sizes, last update
 *   mote memory watch PATH...     keep the index up to date as files change
 *   mote memory rm PATH...        forget files or folders
 *
 * The store is --store DIR, else $MOTE_MEMORY, else
 * $XDG_DATA_HOME/mote/memory (~/.local/share/mote/memory). Every one of
 * these runs under a seccomp filter that allows no network socket.
 */
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli/cli.h"
#include "cli/memory_common.h"
#include "memory/memory.h"
#include "memory/watch.h"

#define MAX_PATHS 1024

/* ------------------------------------------------------------------------
 * add, rm
 * ---------------------------------------------------------------------- */

typedef struct add_ui {
    int tty;
    double last;
    int64_t warnings;
} add_ui;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int add_progress(void *user, const memory_progress *p)
{
    add_ui *ui = user;
    if (cli_interrupted()) return 1;
    if (!ui->tty) return 0;
    const double t = now_s();
    if (t - ui->last < 0.1 && p->files_done < p->files_total) return 0;
    ui->last = t;
    const char *name = p->path ? strrchr(p->path, '/') : NULL;
    fprintf(stderr, "\r\033[Kadding: %" PRId64 "/%" PRId64 " files, %.1f/%.1f MB, %" PRId64 " chunks %s%.40s",
            p->files_done, p->files_total, (double)p->bytes_done / 1e6, (double)p->bytes_total / 1e6, p->chunks,
            name ? "— " : "", name ? name + 1 : "");
    return 0;
}

static void add_warn(void *user, const char *path, const char *message)
{
    add_ui *ui = user;
    ui->warnings++;
    if (ui->tty) fprintf(stderr, "\r\033[K");
    /* a file's warnings may be several lines: each its own */
    for (const char *m = message; *m;) {
        const size_t n = strcspn(m, "\n");
        /* ingest's lines name the file already */
        const int named = memmem(m, n, path, strlen(path)) != NULL;
        fprintf(stderr, "mote: warning: %s%s%.*s\n", named ? "" : path, named ? "" : ": ", (int)n, m);
        m += n + (m[n] == '\n');
    }
}

static int cmd_mem_add(int argc, char **argv)
{
    cli_memory_opts c = {0};
    const cli_opt opts[] = {
        CLI_MEMORY_OPTS(c),
        {0, "embed-model", ARG_STRING, &c.embed, "MODEL",
         "the embedding model (a GGUF file or store name); remembered by the memory after the first add", 0, 0,
         NULL},
        {0, "encrypt", ARG_FLAG, &c.encrypt, NULL,
         "make a new memory encrypted at rest (with --key-file or $" CLI_MEMORY_KEY_ENV ")", 0, 0, NULL},
        {0},
    };
    const char *pos[MAX_PATHS];
    const cli_spec spec = {
        .verb = "memory add",
        .usage = "PATH... [options]",
        .about = "Index files and folders into the memory: text, Markdown, HTML, PDF, mail (.eml, mbox,\n"
                 "Maildir) and sensor logs (CSV, JSON Lines with a timestamp). Folders are walked;\n"
                 "unchanged files cost a hash check, a changed file replaces its chunks, and files\n"
                 "gone from a folder are forgotten. Unsupported files are skipped quietly; a file\n"
                 "that cannot be read is a warning and the rest goes on.",
        .opts = opts,
        .min_pos = 1,
        .max_pos = MAX_PATHS,
        .pos = pos,
    };
    int n_pos;
    int rc = args_parse(&spec, argc, argv, &n_pos);
    if (rc != ARGS_CONTINUE) return rc;
    cli_check_threads(c.n_threads);
    memory *m = NULL;
    if ((rc = cli_memory_open(&c, 1, &m)) != 0) return rc;
    cli_catch_interrupt();
    add_ui ui = {.tty = isatty(2)};
    memory_callbacks cb = {.progress = add_progress, .warn = add_warn, .user = &ui};
    memory_add_stats s;
    const mote_status st = memory_add(m, pos, n_pos, &cb, &s);
    if (ui.tty) fprintf(stderr, "\r\033[K");
    if (st != MOTE_OK) {
        rc = st == MOTE_E_CANCELLED ? EXIT_INTERRUPTED : cli_lib_error();
        if (st == MOTE_E_CANCELLED) fprintf(stderr, "mote: interrupted: the files stored so far are kept\n");
    } else {
        printf("%" PRId64 " files: %" PRId64 " added, %" PRId64 " updated, %" PRId64 " unchanged, %" PRId64
               " removed, %" PRId64 " failed; %" PRId64 " chunks, %.2f MB in %.2f s\n",
               s.files, s.added, s.updated, s.unchanged, s.removed, s.failed, s.chunks, (double)s.bytes / 1e6,
               s.seconds);
    }
    memory_close(m);
    return rc;
}

static int cmd_mem_rm(int argc, char **argv)
{
    cli_memory_opts c = {0};
    const cli_opt opts[] = {CLI_MEMORY_OPTS(c), {0}};
    const char *pos[MAX_PATHS];
    const cli_spec spec = {
        .verb = "memory rm",
        .usage = "PATH... [options]",
        .about = "Forget files, or every file under a folder, whether or not they still exist.",
        .opts = opts,
        .min_pos = 1,
        .max_pos = MAX_PATHS,
        .pos = pos,
    };
    int n_pos;
    int rc = args_parse(&spec, argc, argv, &n_pos);
    if (rc != ARGS_CONTINUE) return rc;
    memory *m = NULL;
    if ((rc = cli_memory_open(&c, 0, &m)) != 0) return rc;
    int64_t removed = 0;
    for (int i = 0; rc == 0 && i < n_pos; i++) {
        int64_t n = 0;
        if (memory_forget(m, pos[i], &n) != MOTE_OK) rc = cli_lib_error();
        else if (n == 0) fprintf(stderr, "mote: warning: %s: not in the memory\n", pos[i]);
        removed += n;
    }
    if (rc == 0) printf("%" PRId64 " files forgotten\n", removed);
    memory_close(m);
    return rc;
}

/* ------------------------------------------------------------------------
 * search
 * ---------------------------------------------------------------------- */

/* A hit's text on one line, cut at about n bytes (whole characters). */
static void print_snippet(const char *text, size_t n)
{
    size_t i = 0;
    for (; text[i] && i < n; i++) putchar(text[i] == '\n' || text[i] == '\t' ? ' ' : text[i]);
    while (text[i] && ((unsigned char)text[i] & 0xC0) == 0x80) putchar(text[i++]);
    if (text[i]) fputs(" …", stdout);
    putchar('\n');
}

static int cmd_mem_search(int argc, char **argv)
{
    cli_memory_opts c = {0};
    int k = 10, json = 0;
    const char *mode = "hybrid", *kind = NULL, *source = NULL, *since = NULL, *until = NULL;
    const cli_opt opts[] = {
        CLI_MEMORY_OPTS(c),
        {'k', "results", ARG_INT, &k, "N", "how many chunks (default 10)", 1, MEM_SEARCH_K_MAX, NULL},
        {0, "mode", ARG_STRING, &mode, "MODE", "hybrid (default: BM25 and vectors fused), bm25 or vector", 0, 0, NULL},
        {0, "kind", ARG_STRING, &kind, "KIND", "only text, markdown, html, pdf, mail or sensor", 0, 0, NULL},
        {0, "source", ARG_STRING, &source, "PATH", "only files under PATH", 0, 0, NULL},
        {0, "since", ARG_STRING, &since, "TIME", "only chunks dated at or after TIME (2026-11-21[T14:00] UTC, or "
                                                  "Unix seconds): mail and sensor windows", 0, 0, NULL},
        {0, "until", ARG_STRING, &until, "TIME", "only chunks dated before TIME", 0, 0, NULL},
        {0, "json", ARG_FLAG, &json, NULL, "print the hits as JSON", 0, 0, NULL},
        {0},
    };
    const char *pos[1];
    const cli_spec spec = {
        .verb = "memory search",
        .usage = "QUERY [options]",
        .about = "Print the chunks of the memory that best match QUERY, best first, each with its\n"
                 "citation: the file and line range; for mail the file and Message-ID; for PDF the\n"
                 "pages; for sensor logs the file and the time window.",
        .opts = opts,
        .min_pos = 1,
        .max_pos = 1,
        .pos = pos,
    };
    int n_pos;
    int rc = args_parse(&spec, argc, argv, &n_pos);
    if (rc != ARGS_CONTINUE) return rc;
    mem_query q = {.text = pos[0], .kind = -1};
    if (strcmp(mode, "hybrid") == 0) q.mode = MEM_SEARCH_HYBRID;
    else if (strcmp(mode, "bm25") == 0) q.mode = MEM_SEARCH_BM25;
    else if (strcmp(mode, "vector") == 0) q.mode = MEM_SEARCH_VECTOR;
    else return args_usage_error(&spec, "--mode must be hybrid, bm25 or vector");
    if (kind && memory_parse_kind(kind, &q.kind) != 0)
        return args_usage_error(&spec, "--kind must be text, markdown, html, pdf, mail or sensor");
    if (since || until) {
        q.has_time = 1;
        q.t_lo = INT64_MIN;
        q.t_hi = INT64_MAX;
        if ((since && memory_parse_time(since, &q.t_lo) != 0) || (until && memory_parse_time(until, &q.t_hi) != 0))
            return args_usage_error(&spec, "--since/--until take a date (2026-11-21, 2026-11-21T14:00) or Unix seconds");
    }
    char src[PATH_MAX];
    if (source) {
        if (!realpath(source, src)) snprintf(src, sizeof src, "%s", source);
        q.path_prefix = src;
    }
    memory *m = NULL;
    if ((rc = cli_memory_open(&c, 0, &m)) != 0) return rc;
    mem_hit *hits = calloc((size_t)k, sizeof *hits);
    int n = 0;
    if (!hits) rc = cli_error("out of memory");
    else if (memory_search(m, &q, hits, k, &n) != MOTE_OK) rc = cli_lib_error();
    if (rc == 0 && json) {
        cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "hits");
        for (int i = 0; i < n; i++) cJSON_AddItemToArray(arr, memory_hit_json(&hits[i], i + 1));
        char *text = cJSON_Print(root);
        puts(text ? text : "{}");
        free(text);
        cJSON_Delete(root);
    } else if (rc == 0) {
        for (int i = 0; i < n; i++) {
            char cite[PATH_MAX + 128];
            memory_cite(&hits[i], cite, sizeof cite);
            printf("%d. %s%s%s\n   ", i + 1, cite, hits[i].title ? " — " : "", hits[i].title ? hits[i].title : "");
            print_snippet(hits[i].text, 240);
        }
        if (n == 0) fprintf(stderr, "mote: nothing in the memory matches\n");
    }
    if (hits) mem_hits_free(hits, n);
    free(hits);
    memory_close(m);
    return rc;
}

/* ------------------------------------------------------------------------
 * ask
 * ---------------------------------------------------------------------- */

static int print_token(void *user, mote_token t, const char *piece, size_t len)
{
    (void)t;
    if (*(int *)user) fwrite(piece, 1, len, stdout), fflush(stdout);
    return cli_interrupted();
}

static int cmd_mem_ask(int argc, char **argv)
{
    cli_memory_opts c = {0};
    const char *model = NULL;
    int k = 6, max_tokens = 512, n_ctx = 0, json = 0;
    float temp = 0.0f;
    const cli_opt opts[] = {
        CLI_MEMORY_OPTS(c),
        {'m', "model", ARG_STRING, &model, "MODEL", "the model that answers (a GGUF file or store name; required)",
         0, 0, NULL},
        {'k', "results", ARG_INT, &k, "N", "chunks retrieved as sources (default 6; fewer if the context is short)", 1,
         MEM_SEARCH_K_MAX, NULL},
        {'n', "max-tokens", ARG_INT, &max_tokens, "N", "longest answer in tokens (default 512)", 1, 65536, NULL},
        {'c', "ctx", ARG_INT, &n_ctx, "N", "context of the answering model (default: its own, at most 4096)", 0,
         MOTE_N_CTX_MAX, NULL},
        {0, "temp", ARG_FLOAT, &temp, "T", "sampling temperature (default 0: greedy)", 0, 100, NULL},
        {0, "json", ARG_FLAG, &json, NULL, "print the answer and its sources as JSON", 0, 0, NULL},
        {0},
    };
    const char *pos[1];
    const cli_spec spec = {
        .verb = "memory ask",
        .usage = "QUESTION -m MODEL [options]",
        .about = "Answer QUESTION from the memory: the best chunks (hybrid search) go into the\n"
                 "prompt as numbered sources, as many as the model's context holds, and the model\n"
                 "answers through its chat template, citing them as [1], [2]. The sources follow\n"
                 "the answer with their citations; those the answer cites are marked *.",
        .opts = opts,
        .min_pos = 1,
        .max_pos = 1,
        .pos = pos,
    };
    int n_pos;
    int rc = args_parse(&spec, argc, argv, &n_pos);
    if (rc != ARGS_CONTINUE) return rc;
    if (!model) return args_usage_error(&spec, "give the answering model with -m MODEL");
    char model_path[PATH_MAX];
    if (cli_model_path(model, model_path, sizeof model_path) != 0) return EXIT_LIB;
    memory *m = NULL;
    if ((rc = cli_memory_open(&c, 0, &m)) != 0) return rc;
    cli_catch_interrupt();
    memory_ask_opts ao = memory_default_ask_opts();
    ao.model = model_path;
    ao.k = k;
    ao.max_tokens = max_tokens;
    ao.n_ctx = n_ctx;
    ao.temperature = temp;
    int stream = !json;
    ao.on_token = print_token;
    ao.user = &stream;
    memory_answer a;
    if (memory_ask(m, pos[0], &ao, &a) != MOTE_OK) {
        rc = cli_lib_error();
    } else if (json) {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "answer", a.text);
        cJSON *arr = cJSON_AddArrayToObject(root, "sources");
        for (int i = 0; i < a.n_sources; i++) {
            cJSON *o = memory_hit_json(&a.sources[i], i + 1);
            cJSON_AddBoolToObject(o, "cited", a.cited[i]);
            cJSON_AddItemToArray(arr, o);
        }
        cJSON_AddNumberToObject(root, "prompt_tokens", a.n_prompt);
        cJSON_AddNumberToObject(root, "completion_tokens", a.n_generated);
        char *text = cJSON_Print(root);
        puts(text ? text : "{}");
        free(text);
        cJSON_Delete(root);
    } else {
        printf("\n\nSources:\n");
        for (int i = 0; i < a.n_sources; i++) {
            char cite[PATH_MAX + 128];
            memory_cite(&a.sources[i], cite, sizeof cite);
            printf("%s[%d] %s%s%s\n", a.cited[i] ? "*" : " ", i + 1, cite, a.sources[i].title ? " — " : "",
                   a.sources[i].title ? a.sources[i].title : "");
        }
        if (a.n_sources == 0) printf("  (nothing in the memory matched)\n");
    }
    if (rc == 0) memory_answer_free(&a);
    memory_close(m);
    return rc;
}

/* ------------------------------------------------------------------------
 * status
 * ---------------------------------------------------------------------- */

static int cmd_mem_status(int argc, char **argv)
{
    cli_memory_opts c = {0};
    int json = 0;
    const cli_opt opts[] = {CLI_MEMORY_OPTS(c), {0, "json", ARG_FLAG, &json, NULL, "print JSON", 0, 0, NULL}, {0}};
    const cli_spec spec = {
        .verb = "memory status",
        .usage = "[options]",
        .about = "Show the memory: its folder, files, chunks, readings and vectors, its size on\n"
                 "disk, the embedding model and when it was last updated.",
        .opts = opts,
    };
    int n_pos;
    int rc = args_parse(&spec, argc, argv, &n_pos);
    if (rc != ARGS_CONTINUE) return rc;
    memory *m = NULL;
    if ((rc = cli_memory_open(&c, 0, &m)) != 0) return rc;
    mem_store_stats s;
    char dir[PATH_MAX];
    cli_memory_dir(c.store, dir, sizeof dir);
    if (mem_store_status(memory_store(m), &s) != MOTE_OK) {
        rc = cli_lib_error();
    } else if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "store", dir);
        cJSON_AddNumberToObject(o, "sources", (double)s.n_sources);
        cJSON_AddNumberToObject(o, "chunks", (double)s.n_chunks);
        cJSON_AddNumberToObject(o, "readings", (double)s.n_readings);
        cJSON_AddNumberToObject(o, "vectors", (double)s.n_vectors);
        cJSON_AddNumberToObject(o, "db_bytes", (double)s.db_bytes);
        cJSON_AddNumberToObject(o, "wal_bytes", (double)s.wal_bytes);
        cJSON_AddNumberToObject(o, "updated_at", (double)s.updated_at);
        cJSON_AddStringToObject(o, "embed_model", s.embed_model);
        cJSON_AddNumberToObject(o, "embed_dim", s.embed_dim);
        cJSON_AddBoolToObject(o, "encrypted", memory_encrypted(m));
        char *text = cJSON_Print(o);
        puts(text ? text : "{}");
        free(text);
        cJSON_Delete(o);
    } else {
        char when[64] = "never";
        if (s.updated_at) {
            const time_t t = (time_t)s.updated_at;
            struct tm tm;
            localtime_r(&t, &tm);
            strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
        }
        char size[32];
        cli_human_bytes((uint64_t)(s.db_bytes + s.wal_bytes), size, sizeof size);
        printf("memory:      %s%s\n", dir, memory_encrypted(m) ? " (encrypted)" : "");
        printf("files:       %" PRId64 "\n", s.n_sources);
        printf("chunks:      %" PRId64 " (%" PRId64 " with vectors)\n", s.n_chunks, s.n_vectors);
        printf("readings:    %" PRId64 "\n", s.n_readings);
        printf("size:        %s\n", size);
        printf("embeddings:  %s%s", s.embed_model[0] ? s.embed_model : "(none yet)", s.embed_dim ? "" : "\n");
        if (s.embed_dim) printf(", %d dimensions\n", s.embed_dim);
        printf("updated:     %s\n", when);
    }
    memory_close(m);
    return rc;
}

/* ------------------------------------------------------------------------
 * watch
 * ---------------------------------------------------------------------- */

static volatile sig_atomic_t watch_stop;
static void on_stop_signal(int sig)
{
    (void)sig;
    watch_stop = 1;
}

static void watch_report(void *user, const char *path, int changed, int gone, mote_status st)
{
    (void)user;
    char when[32];
    const time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(when, sizeof when, "%H:%M:%S", &tm);
    if (st != MOTE_OK) fprintf(stderr, "%s failed   %s: %s\n", when, path, mote_last_error());
    else if (changed) printf("%s %-8s %s\n", when, gone ? "removed" : "indexed", path), fflush(stdout);
}

static int cmd_mem_watch(int argc, char **argv)
{
    cli_memory_opts c = {0};
    const cli_opt opts[] = {
        CLI_MEMORY_OPTS(c),
        {0, "embed-model", ARG_STRING, &c.embed, "MODEL", "the embedding model (remembered after the first add)", 0,
         0, NULL},
        {0},
    };
    const char *pos[MAX_PATHS];
    const cli_spec spec = {
        .verb = "memory watch",
        .usage = "PATH... [options]",
        .about = "Add PATHs, then keep the memory up to date until SIGTERM or Ctrl-C: a file saved,\n"
                 "moved in or deleted under them is indexed again or forgotten within a second, and\n"
                 "new folders are watched as they appear. One line per change on stdout.",
        .opts = opts,
        .min_pos = 1,
        .max_pos = MAX_PATHS,
        .pos = pos,
    };
    int n_pos;
    int rc = args_parse(&spec, argc, argv, &n_pos);
    if (rc != ARGS_CONTINUE) return rc;
    cli_check_threads(c.n_threads);
    memory *m = NULL;
    if ((rc = cli_memory_open(&c, 1, &m)) != 0) return rc;
    struct sigaction sa = {.sa_handler = on_stop_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    add_ui ui = {.tty = 0};
    memory_callbacks cb = {.warn = add_warn, .user = &ui};
    fprintf(stderr, "mote memory: watching %d path%s (Ctrl-C stops)\n", n_pos, n_pos == 1 ? "" : "s");
    if (mem_watch(m, pos, n_pos, &cb, watch_report, NULL, &watch_stop) != MOTE_OK) rc = cli_lib_error();
    memory_close(m);
    return rc;
}

/* ------------------------------------------------------------------------
 * The verb
 * ---------------------------------------------------------------------- */

static const struct {
    const char *name, *about;
    int (*run)(int, char **);
} subs[] = {
    {"add", "index files and folders (again: only what changed)", cmd_mem_add},
    {"search", "the chunks that best match a query, with citations", cmd_mem_search},
    {"ask", "answer a question from the memory, citing its sources", cmd_mem_ask},
    {"status", "counts, size, embedding model, last update", cmd_mem_status},
    {"watch", "keep the memory up to date as files change", cmd_mem_watch},
    {"rm", "forget files or folders", cmd_mem_rm},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: mote memory COMMAND [options]   (mote memory COMMAND --help for each)\n\n"
               "The private memory: your files, mail and sensor logs indexed on this device (SQLite\n"
               "with BM25 and int8 vectors), searched and asked about with citations. Nothing is\n"
               "sent anywhere: these commands run without network sockets.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) fprintf(f, "  %-8s %s\n", subs[i].name, subs[i].about);
    fprintf(f, "\nThe memory's folder is --store DIR, else $MOTE_MEMORY, else $XDG_DATA_HOME/mote/memory\n"
               "(~/.local/share/mote/memory). It is created 0700, its files 0600; with --encrypt\n"
               "(first add) it is encrypted at rest with a key from --key-file or $" CLI_MEMORY_KEY_ENV ".\n");
}

int cmd_memory(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        if (strcmp(argv[1], subs[i].name) == 0) return subs[i].run(argc - 1, argv + 1);
    fprintf(stderr, "mote memory: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}
