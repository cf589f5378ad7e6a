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
#include "serve/server.h"

/* Defaults: a body of 8 MiB, 8 KiB of request line and headers (and MHD's
 * working room for the connection), 64 connections, 60 s idle. */
#define SERVE_DEFAULT_PORT 8080
#define SERVE_DEFAULT_MAX_BODY (8u << 20)
#define SERVE_DEFAULT_MAX_HEADER (32u << 10)
#define SERVE_DEFAULT_CONNECTIONS 64
#define SERVE_DEFAULT_TIMEOUT_S 60
#define SERVE_API_KEY_FILE_MAX 4096
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

int cmd_serve(int argc, char **argv)
{
    const char *host = "127.0.0.1", *api_key = NULL, *api_key_file = NULL;
    int port = SERVE_DEFAULT_PORT, max_conn = SERVE_DEFAULT_CONNECTIONS, timeout_s = SERVE_DEFAULT_TIMEOUT_S;
    int max_body = SERVE_DEFAULT_MAX_BODY;
    int keep_alive = 0;
    int n_ctx = 0, n_threads = 0, kv_type = MOTE_KV_F16, parallel = SERVE_DEFAULT_PARALLEL, queue = SERVE_DEFAULT_QUEUE;
    const char *kv_name = "f16", *template_file = NULL, *models_dir = NULL, *aliases = NULL;
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
        {0, "queue", ARG_INT, &queue, "N", "requests waiting per model (default 16; more: 429 with Retry-After)", 0,
         65536, NULL},
        {0, "keep-alive", ARG_INT, &keep_alive, "SECONDS", "close a model no request has used this long (default 0: "
         "keep every model loaded); the next request opens it again", 0, 100000000, NULL},
        {0, "alias", ARG_STRING, &aliases, "NAME=ID[,...]", "other names a request may use for a model "
         "(e.g. gpt-4o-mini=smollm2-135m)", 0, 0, NULL},
        {0, "models", ARG_STRING, &models_dir, "DIR", "serve every *.gguf file in DIR too", 0, 0, NULL},
        {0, "chat-template-file", ARG_STRING, &template_file, "FILE",
         "use this Jinja chat template for every model, not theirs", 0, 0, NULL},
        {0},
    };
    const char **models = calloc((size_t)argc + 1, sizeof *models);
    if (!models) return cli_error("out of memory");
    char *file_key = NULL, *tmpl = NULL, **scanned = NULL, *alias_text = NULL;
    const char **alias = NULL, **alias_of = NULL;
    int n_aliases = 0;
    int n_scanned = 0;
    int rc;
    const cli_spec spec = {
        .verb = "serve",
        .usage = "[MODEL]... [--models DIR] [options]",
        .about = "Serve the models over HTTP with OpenAI's API shapes until SIGTERM or Ctrl-C.\n"
                 "Each MODEL (a GGUF file, or a store name: see mote pull) is named by its file\n"
                 "stem and opened on first use.\n"
                 "Endpoints: POST /v1/chat/completions, POST /v1/completions, GET /v1/models,\n"
                 "GET /metrics, GET /health, POST /tokenize, POST /detokenize.",
        .notes = "Listening on an address other than loopback needs --api-key or --api-key-file.\n"
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
    /* store names (pulled first when they are catalogue names, hf:... or URLs) */
    for (int i = 0; i < n_pos; i++) {
        char path[4096];
        if ((rc = cli_model_path(models[i], path, sizeof path)) != 0) goto out;
        if (strcmp(path, models[i]) == 0) continue;
        char *kept = strdup(path), **o = kept ? realloc(scanned, ((size_t)n_scanned + 1) * sizeof *o) : NULL;
        if (!o) {
            free(kept);
            rc = cli_error("out of memory");
            goto out;
        }
        scanned = o;
        scanned[n_scanned++] = kept;
        models[i] = kept;
    }
    if (models_dir) {
        const int before = n_pos;
        if ((rc = scan_models(models_dir, &models, &n_pos, &scanned, &n_scanned)) != 0) goto out;
        qsort(models + before, (size_t)(n_pos - before), sizeof *models, by_name);
        if (n_pos == before) fprintf(stderr, "mote serve: warning: --models %s holds no .gguf file\n", models_dir);
    }
    /* --alias NAME=ID,NAME=ID: split in place into the two lists */
    if (aliases) {
        alias_text = strdup(aliases);
        const size_t most = strlen(aliases) / 2 + 1;
        alias = calloc(most, sizeof *alias);
        alias_of = calloc(most, sizeof *alias_of);
        if (!alias_text || !alias || !alias_of) {
            rc = cli_error("out of memory");
            goto out_alias;
        }
        for (char *save = NULL, *tok = strtok_r(alias_text, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(tok, '=');
            if (!eq || eq == tok || !eq[1]) {
                rc = args_usage_error(&spec, "--alias wants NAME=ID pairs separated by commas, not '%s'", tok);
                goto out_alias;
            }
            *eq = '\0';
            alias[n_aliases] = tok;
            alias_of[n_aliases++] = eq + 1;
        }
    }
    cli_check_threads(n_threads);
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
    const serve_config cfg = {
        .host = host,
        .port = port,
        .api_key = api_key,
        .max_body = (size_t)max_body,
        .max_header = SERVE_DEFAULT_MAX_HEADER,
        .max_connections = (unsigned)max_conn,
        .timeout_s = (unsigned)timeout_s,
        .models = models,
        .n_models = n_pos,
        .n_ctx = n_ctx,
        .n_threads = n_threads,
        .kv_type = kv_type,
        .n_parallel = parallel,
        .queue_max = queue,
        .chat_template = tmpl,
        .keep_alive_s = keep_alive,
        .alias = alias,
        .alias_of = alias_of,
        .n_aliases = n_aliases,
    };
    serve_server *server;
    char err[512];
    if (serve_start(&cfg, &server, err, sizeof err) != 0) {
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
out_alias:
    free(alias_text);
    free(alias);
    free(alias_of);
    free(tmpl);
    for (int i = 0; i < n_scanned; i++) free(scanned[i]);
    free(scanned);
    free(models);
    return rc;
}
