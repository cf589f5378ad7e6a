/*
 * cmd_serve.c — `mote serve`: an OpenAI-compatible HTTP server
 * (src/serve/, libmote-serve.a) until SIGTERM or SIGINT.
 *
 * The signals are blocked before the server's thread starts (it inherits
 * the mask), and this thread waits for them with sigwait: no handler runs
 * anywhere, and a request in flight is never interrupted.
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "memory/vault.h"

#include <sodium.h>
#include "serve/config.h"
#include "serve/sched.h"
#include "serve/server.h"

/* Defaults: a body of 8 MiB, 8 KiB of request line and headers (and MHD's
 * working room for the connection), 64 connections, 60 s idle. */
#define SERVE_DEFAULT_PORT 8080
#define SERVE_DEFAULT_MAX_BODY (8u << 20)
#define SERVE_DEFAULT_MAX_HEADER (32u << 10)
#define SERVE_DEFAULT_CONNECTIONS 64
#define SERVE_DEFAULT_TIMEOUT_S 60
#define SERVE_API_KEY_FILE_MAX 4096
#define SERVE_CONFIG_FILE_MAX (1u << 20)
/* Generation: requests generating at once per model, and waiting. */
#define SERVE_DEFAULT_PARALLEL 2
#define SERVE_DEFAULT_QUEUE 16

/* The key in file f: its first line, without white space around it. */
static int read_key_file(const char *f, char **key)
{
    const cli_file_kind kind = {"API key file", SERVE_API_KEY_FILE_MAX, 1, NULL};
    size_t len;
    if (cli_read_file(f, &kind, key, &len) != 0) return EXIT_LIB;
    char *k = *key + strspn(*key, " \t\r\n");
    k[strcspn(k, "\r\n")] = 0;
    for (size_t n = strlen(k); n && (k[n - 1] == ' ' || k[n - 1] == '\t');) k[--n] = 0;
    memmove(*key, k, strlen(k) + 1);
    if (!**key) return cli_error("%s: the API key file is empty", f);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.gguf files of dir, sorted, as malloc'd paths appended to
 * (*list)[*n ..]. 0, or an exit status. */
static int scan_models(const char *dir, const char ***list, int *n, char ***owned, int *n_owned)
{
    DIR *d = opendir(dir);
    if (!d) return cli_error("--models %s: %s", dir, strerror(errno));
    int rc = 0;
    for (struct dirent *e; (e = readdir(d));) {
        const size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".gguf") != 0 || e->d_name[0] == '.') continue;
        char *path = NULL;
        if (asprintf(&path, "%s/%s", dir, e->d_name) < 0) {
            rc = cli_error("out of memory");
            break;
        }
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(path);
            continue;
        }
        char **o = realloc(*owned, ((size_t)*n_owned + 1) * sizeof *o);
        const char **l = o ? realloc(*list, ((size_t)*n + 2) * sizeof *l) : NULL;
        if (o) *owned = o;
        if (!o || !l) {
            free(path);
            rc = cli_error("out of memory");
            break;
        }
        *list = l;
        (*owned)[(*n_owned)++] = path;
        (*list)[(*n)++] = path;
    }
    closedir(d);
    return rc;
}

/* "dir/stories260K.gguf" -> "stories260K" (malloc'd). */
static char *file_stem(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 5 && strcmp(base + n - 5, ".gguf") == 0) n -= 5;
    return strndup(base, n);
}

/* The --config file, parsed into *fc. 0, or an exit status. */
static int read_config(const char *path, serve_file_config *fc)
{
    static const cli_file_kind kind = {.what = "config file", .limit = SERVE_CONFIG_FILE_MAX, .regular = 1};
    char *text = NULL, err[512];
    size_t len;
    if (cli_read_file(path, &kind, &text, &len) != 0) return EXIT_LIB;
    const int rc = serve_config_parse(text, len, fc, err, sizeof err);
    free(text);
    return rc == 0 ? 0 : cli_error("%s: %s", path, err);
}

/* Another model to serve: a file given on the command line, with the
 * server's defaults and its file stem as id. 0, or an exit status. */
static int add_model_file(serve_file_config *fc, const char *path)
{
    serve_model_config *m = realloc(fc->models, ((size_t)fc->n_models + 1) * sizeof *m);
    if (!m) return cli_error("out of memory");
    fc->models = m;
    m += fc->n_models;
    *m = (serve_model_config){.keep_alive_s = SERVE_KEEP_ALIVE_DEFAULT, .kv_type = -1};
    m->sampling = mote_sampler_default_params();
    fc->n_models++;
    m->id = file_stem(path);
    m->file = strdup(path);
    return m->id && m->file ? 0 : cli_error("out of memory");
}

/* m's file as a path: a config's relative path names a file beside the
 * config file if there is one; else a path as it is, or a store name
 * (pulled first if it is a catalogue name, hf:... or a URL). 0, or an
 * exit status. */
static int resolve_file(serve_model_config *m, const char *config_file)
{
    char path[4096], *beside = NULL;
    const char *slash = config_file ? strrchr(config_file, '/') : NULL;
    if (slash && m->file[0] != '/' && asprintf(&beside, "%.*s/%s", (int)(slash - config_file), config_file, m->file) < 0)
        return cli_error("out of memory");
    struct stat st;
    const int there = beside && stat(beside, &st) == 0 && S_ISREG(st.st_mode);
    int rc = cli_model_path(there ? beside : m->file, path, sizeof path);
    free(beside);
    if (rc != 0) return rc;
    char *p = strdup(path);
    if (!p) return cli_error("out of memory");
    free(m->file);
    m->file = p;
    return 0;
}

/* --alias NAME=ID[,NAME=ID...]: each NAME another name of the model ID. */
static int add_aliases(const cli_spec *spec, serve_file_config *fc, const char *list)
{
    char *text = strdup(list);
    if (!text) return cli_error("out of memory");
    int rc = 0;
    for (char *save = NULL, *tok = strtok_r(text, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq || eq == tok || !eq[1]) {
            rc = args_usage_error(spec, "--alias wants NAME=ID pairs separated by commas, not '%s'", tok);
            break;
        }
        *eq = '\0';
        serve_model_config *m = NULL;
        for (int i = 0; i < fc->n_models && !m; i++)
            if (strcmp(fc->models[i].id, eq + 1) == 0) m = &fc->models[i];
        if (!m) {
            rc = cli_error("--alias %s=%s: no model has the id '%s'", tok, eq + 1, eq + 1);
            break;
        }
        char **a = realloc(m->aliases, ((size_t)m->n_aliases + 1) * sizeof *a);
        if (a) m->aliases = a;
        if (!a || !(a[m->n_aliases] = strdup(tok))) rc = cli_error("out of memory");
        else m->n_aliases++;
    }
    free(text);
    return rc;
}

int cmd_serve(int argc, char **argv)
{
    const char *host = "127.0.0.1", *api_key = NULL, *api_key_file = NULL;
    int port = SERVE_DEFAULT_PORT, max_conn = SERVE_DEFAULT_CONNECTIONS, timeout_s = SERVE_DEFAULT_TIMEOUT_S;
    int max_body = SERVE_DEFAULT_MAX_BODY;
    int keep_alive = 0;
    int n_ctx = 0, n_threads = 0, kv_type = MOTE_KV_F16, parallel = SERVE_DEFAULT_PARALLEL, queue = SERVE_DEFAULT_QUEUE;
    const char *lookup_arg = NULL;
    const char *kv_name = "f16", *template_file = NULL, *models_dir = NULL, *aliases = NULL;
    const char *config_file = NULL, *budget_text = NULL, *memory_dir = NULL, *memory_key_file = NULL;
    const cli_opt opts[] = {
        {0, "host", ARG_STRING, &host, "ADDR", "address to listen on (default 127.0.0.1)", 0, 0, NULL},
        {0, "port", ARG_INT, &port, "N", "port (default 8080; 0: a free one, printed)", 0, 65535, NULL},
        {0, "api-key", ARG_STRING, &api_key, "KEY", "require 'Authorization: Bearer KEY' on every request", 0, 0,
         NULL},
        {0, "api-key-file", ARG_STRING, &api_key_file, "FILE", "the same, with the key read from FILE", 0, 0, NULL},
        {0, "max-body", ARG_INT, &max_body, "BYTES", "largest request body (default 8 MiB; larger: 413)", 1,
         1 << 30, NULL},
        {0, "max-connections", ARG_INT, &max_conn, "N", "connections open at once (default 64)", 1, 65536, NULL},
        {0, "timeout", ARG_INT, &timeout_s, "SECONDS", "close a connection idle this long (default 60)", 1, 86400,
         NULL},
        {'c', "ctx", ARG_INT, &n_ctx, "N", "context length of each request (default: the model's)", 0,
         MOTE_N_CTX_MAX, NULL},
        {'t', "threads", ARG_INT, &n_threads, "N", "worker threads (default: all CPUs; more are capped)", 0,
         MOTE_N_THREADS_MAX, NULL},
        {0, "kv-type", ARG_STRING, &kv_name, "TYPE", KV_TYPE_HELP, 0, 0, NULL},
        {0, "parallel", ARG_INT, &parallel, "N", "requests generating at once per model (default 2; each has its "
         "own context)", 1, 256, NULL},
        {0, "lookup", ARG_STRING, &lookup_arg, "N|auto", "speculate: draft up to N tokens per stream by prompt "
         "lookup, checked in the same pass (the text is the same as without); auto: as many as pay by `mote tune`'s "
         "costs and the stream's acceptance so far (0 included), for every request; default: auto for greedy "
         "requests where the profile says lookup can pay on the model (MOTE_TUNE=off or --lookup 0: never)",
         0, 0, NULL},
        {0, "queue", ARG_INT, &queue, "N", "requests waiting per model (default 16; more: 429 with Retry-After)", 0,
         65536, NULL},
        {0, "keep-alive", ARG_INT, &keep_alive, "SECONDS", "close a model no request has used this long (default 0: "
         "keep every model loaded); the next request opens it again", 0, 100000000, NULL},
        {0, "alias", ARG_STRING, &aliases, "NAME=ID[,...]", "other names a request may use for a model "
         "(e.g. gpt-4o-mini=smollm2-135m)", 0, 0, NULL},
        {0, "models", ARG_STRING, &models_dir, "DIR", "serve every *.gguf file in DIR too", 0, 0, NULL},
        {0, "config", ARG_STRING, &config_file, "FILE", "models and their settings from a JSON file (see the notes)",
         0, 0, NULL},
        {0, "memory", ARG_STRING, &memory_dir, "DIR", "serve this private memory (mote memory) at /v1/memory/search, "
         "/add and /ask", 0, 0, NULL},
        {0, "memory-key-file", ARG_STRING, &memory_key_file, "FILE", "the memory's key if it is encrypted (else "
         "$MOTE_MEMORY_KEY)", 0, 0, NULL},
        {0, "memory-budget", ARG_STRING, &budget_text, "BYTES", "what the loaded models may hold together, e.g. "
         "6GiB (default: the config's, else 3/4 of physical memory); idle models are unloaded to make room", 0, 0,
         NULL},
        {0, "chat-template-file", ARG_STRING, &template_file, "FILE",
         "use this Jinja chat template for every model, not theirs", 0, 0, NULL},
        {0},
    };
    const char **models = calloc((size_t)argc + 1, sizeof *models);
    if (!models) return cli_error("out of memory");
    char *file_key = NULL, *tmpl = NULL, **scanned = NULL;
    int n_scanned = 0;
    serve_file_config fc = {0};
    int rc;
    const cli_spec spec = {
        .verb = "serve",
        .usage = "[MODEL]... [--models DIR] [options]",
        .about = "Serve the models over HTTP with OpenAI's API shapes until SIGTERM or Ctrl-C.\n"
                 "Each MODEL (a GGUF file, or a store name: see mote pull) is named by its file\n"
                 "stem and loaded on first use, within a memory budget: a model that does not fit\n"
                 "unloads idle ones (lowest priority, then least recently used; never one with\n"
                 "requests in flight, nor a pinned one), or the request gets 503 and Retry-After.\n"
                 "Endpoints: POST /v1/chat/completions, POST /v1/completions, GET /v1/models,\n"
                 "GET /v1/models/ID, POST /v1/models/ID/load|unload|pin|unpin, GET /metrics,\n"
                 "GET /health, POST /tokenize, POST /detokenize, POST /v1/embeddings (models\n"
                 "whose GGUF names a pooling: bert, nomic-bert, gemma-embedding,\n"
                 "Qwen3-Embedding), and with --memory POST /v1/memory/search, /add and /ask\n"
                 "(an answer from the memory, streamed like a chat). A request names a model by id,\n"
                 "alias or role:ROLE.",
        .notes = "A --config file is JSON: {\"memory_budget\": \"6GiB\", \"models\": [{\"id\": \"chat\",\n"
                 "\"file\": \"qwen3-0.6b.gguf\", \"aliases\": [\"assistant\"], \"role\": \"chat\", \"keep_alive\":\n"
                 "\"5m\", \"priority\": 1, \"pinned\": false, \"n_ctx\": 4096, \"max_streams\": 4,\n"
                 "\"kv_type\": \"f16\", \"sampling\": {\"temperature\": 0.7}}]}; every key but id and file\n"
                 "is optional, an unknown key is an error. Files are found beside the config\n"
                 "file, else as given (paths or store names). MODELs on the command line are\n"
                 "served too; --memory-budget wins over the file's.\n"
                 "Listening on an address other than loopback needs --api-key or --api-key-file.\n"
                 "Once ready, the command prints 'mote serve: listening on http://HOST:PORT' on stderr.\n"
                 "Sampling defaults (a request's fields override them): temperature 0.8, top_k 40,\n"
                 "top_p 0.95, min_p 0.05, no penalties, a fresh seed per request. A model without\n"
                 "a chat template is given ChatML.",
        .opts = opts,
        .min_pos = 0,
        .max_pos = argc,
        .pos = models,
    };
    int n_pos;
    rc = args_parse(&spec, argc, argv, &n_pos);
    if (rc != ARGS_CONTINUE) goto out;
    if (api_key && api_key_file) {
        rc = args_usage_error(&spec, "give --api-key or --api-key-file, not both");
        goto out;
    }
    if (config_file && (rc = read_config(config_file, &fc)) != 0) goto out;
    const int n_configured = fc.n_models;
    /* positional models, then --models DIR, after the config's */
    if (models_dir) {
        const int before = n_pos;
        if ((rc = scan_models(models_dir, &models, &n_pos, &scanned, &n_scanned)) != 0) goto out;
        qsort(models + before, (size_t)(n_pos - before), sizeof *models, by_name);
        if (n_pos == before) fprintf(stderr, "mote serve: warning: --models %s holds no .gguf file\n", models_dir);
    }
    for (int i = 0; i < n_pos; i++)
        if ((rc = add_model_file(&fc, models[i])) != 0) goto out;
    /* store names (pulled first when they are catalogue names, hf:... or URLs) */
    for (int i = 0; i < fc.n_models; i++)
        if ((rc = resolve_file(&fc.models[i], i < n_configured ? config_file : NULL)) != 0) goto out;
    if (aliases && (rc = add_aliases(&spec, &fc, aliases)) != 0) goto out;
    uint64_t budget = fc.memory_budget;
    if (budget_text && serve_parse_bytes(budget_text, &budget) != 0) {
        rc = args_usage_error(&spec, "--memory-budget wants bytes, e.g. 6442450944, 6GiB or 512MiB, not '%s'",
                              budget_text);
        goto out;
    }
    cli_check_threads(n_threads);
    int lookup, lookup_asked_auto;
    if (cli_lookup_arg(lookup_arg, &lookup, &lookup_asked_auto) != 0) {
        rc = EXIT_USAGE;
        goto out;
    }
    /* not given: auto for greedy requests where the profile says it pays */
    const int lookup_auto = lookup_asked_auto ? SCHED_AUTO_ALL : lookup_arg ? SCHED_AUTO_OFF : SCHED_AUTO_GREEDY;
    cli_tune_load(NULL); /* the models it loads use this machine's profile: said here if broken */
    if ((rc = cli_kv_type(&spec, kv_name, &kv_type)) != 0) goto out;
    static const cli_file_kind template_kind = {.what = "chat template", .limit = CLI_TEMPLATE_LIMIT, .regular = 1};
    size_t tmpl_len;
    if (template_file && cli_read_file(template_file, &template_kind, &tmpl, &tmpl_len) != 0) {
        rc = EXIT_LIB;
        goto out;
    }
    if (api_key_file && (rc = read_key_file(api_key_file, &file_key)) != 0) goto out;
    if (file_key) api_key = file_key;
    if (api_key && !*api_key) {
        rc = args_usage_error(&spec, "--api-key is empty");
        goto out_key;
    }
    if (!serve_host_is_loopback(host)) {
        if (!api_key) {
            rc = cli_error("refusing to listen on %s without an API key: other machines could use it.\n"
                           "Give --api-key KEY or --api-key-file FILE, or listen on 127.0.0.1.",
                           host);
            goto out_key;
        }
        fprintf(stderr, "mote serve: warning: listening on %s, not loopback: reachable from other machines "
                        "(with the API key)\n", host);
    }

    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    uint8_t memory_key[MEM_VAULT_KEY_BYTES];
    int have_memory_key = 0;
    if (memory_dir && (memory_key_file || getenv("MOTE_MEMORY_KEY"))) {
        if ((memory_key_file ? mem_vault_key_from_file(memory_key_file, memory_key)
                             : mem_vault_key_from_env("MOTE_MEMORY_KEY", memory_key)) != MOTE_OK) {
            rc = cli_lib_error();
            goto out_key;
        }
        have_memory_key = 1;
    }
    const serve_config cfg = {
        .memory_dir = memory_dir,
        .memory_key = have_memory_key ? memory_key : NULL,
        .host = host,
        .port = port,
        .api_key = api_key,
        .max_body = (size_t)max_body,
        .max_header = SERVE_DEFAULT_MAX_HEADER,
        .max_connections = (unsigned)max_conn,
        .timeout_s = (unsigned)timeout_s,
        .models = fc.models,
        .n_models = fc.n_models,
        .memory_budget = budget,
        .n_ctx = n_ctx,
        .n_threads = n_threads,
        .kv_type = kv_type,
        .n_parallel = parallel,
        .queue_max = queue,
        .lookup = lookup,
        .lookup_auto = lookup_auto,
        .chat_template = tmpl,
        .keep_alive_s = keep_alive,
    };
    serve_server *server;
    char err[512];
    const int started = serve_start(&cfg, &server, err, sizeof err);
    sodium_memzero(memory_key, sizeof memory_key);
    if (started != 0) {
        rc = cli_error("%s", err);
        goto out_key;
    }
    const int v6 = strchr(host, ':') != NULL;
    fprintf(stderr, "mote serve: listening on http://%s%s%s:%d\n", v6 ? "[" : "", host, v6 ? "]" : "",
            serve_port(server));
    fflush(stderr);
    int sig = 0;
    sigwait(&stop, &sig);
    fprintf(stderr, "mote serve: %s: finishing the requests in flight\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    serve_stop(server);
    rc = 0;
out_key:
    free(file_key);
out:
    serve_config_free(&fc);
    free(tmpl);
    for (int i = 0; i < n_scanned; i++) free(scanned[i]);
    free(scanned);
    free(models);
    return rc;
}
