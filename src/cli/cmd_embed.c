/*
 * cmd_embed.c — `mote embed`: one vector per text.
 *
 * Texts come as arguments, or one per line of a file (-f; blank lines
 * skipped). Each vector prints as a line of space-separated floats, or
 * with --json as an object like OpenAI's embeddings response.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define MAX_ARG_TEXTS 256

/* The non-blank lines of buf, split in place (NUL-terminated). */
static int split_lines(char *buf, const char ***texts, int *n)
{
    int cap = 0;
    *texts = NULL;
    *n = 0;
    for (char *line = buf, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        size_t len = strlen(line);
        if (len && line[len - 1] == '\r') line[--len] = '\0';
        if (strspn(line, " \t") == len) continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            const char **t = realloc(*texts, sizeof *t * (size_t)cap);
            if (!t) return cli_error("out of memory");
            *texts = t;
        }
        (*texts)[(*n)++] = line;
    }
    return 0;
}

static int parse_pooling(const char *name, int *out)
{
    static const struct {
        const char *name;
        int pooling;
    } names[] = {{"model", MOTE_POOL_DEFAULT}, {"mean", MOTE_POOL_MEAN}, {"cls", MOTE_POOL_CLS},
                 {"last", MOTE_POOL_LAST}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i].name) == 0) {
            *out = names[i].pooling;
            return 0;
        }
    return -1;
}

static void print_vector(const float *v, int dim, int json)
{
    for (int d = 0; d < dim; d++) printf(d ? (json ? ", %.9g" : " %.9g") : "%.9g", (double)v[d]);
}

int cmd_embed(int argc, char **argv)
{
    int json = 0, raw = 0, truncate = 0, n_threads = 0, n_ctx = 0;
    const char *file = NULL, *pooling_name = "model";
    const cli_opt opts[] = {
        {'f', "file", ARG_STRING, &file, "FILE", "embed each non-blank line of FILE (- = stdin) instead of TEXTs", 0,
         0, NULL},
        {0, "json", ARG_FLAG, &json, NULL, "print a JSON object (OpenAI's embeddings response)", 0, 0, NULL},
        {0, "pooling", ARG_STRING, &pooling_name, "HOW",
         "model (default: as the GGUF says), mean, cls or last", 0, 0, NULL},
        {0, "no-normalize", ARG_FLAG, &raw, NULL, "print the pooled vectors as they are (default: unit L2 norm)", 0,
         0, NULL},
        {0, "truncate", ARG_FLAG, &truncate, NULL, "cut texts longer than the context (default: an error)", 0, 0,
         NULL},
        {'c', "ctx", ARG_INT, &n_ctx, "N", "most tokens of one text (default: the model's context)", 0,
         MOTE_N_CTX_MAX, NULL},
        {'t', "threads", ARG_INT, &n_threads, "N", "worker threads (default: all CPUs; more are capped)", 0,
         MOTE_N_THREADS_MAX, NULL},
        {0},
    };
    const char *pos[1 + MAX_ARG_TEXTS] = {NULL};
    const cli_spec spec = {
        .verb = "embed",
        .usage = "MODEL TEXT... [options]   |   MODEL -f FILE [options]",
        .about = "Print one embedding vector per text: a line of space-separated floats each,\n"
                 "in the order given. Texts are tokenized as the model's vocabulary says and\n"
                 "pooled as its GGUF file says (mean, CLS or last token), then scaled to unit\n"
                 "length. Runs embedding models (bert, nomic-bert, gemma-embedding) and\n"
                 "decoders with a pooling type (Qwen3-Embedding).",
        .notes = "Several texts share each forward pass. At most 256 TEXT arguments; more\n"
                 "with -f. MODEL may be a path or a store name.",
        .opts = opts,
        .min_pos = 1,
        .max_pos = 1 + MAX_ARG_TEXTS,
        .pos = pos,
    };
    int n_pos;
    int rc = args_parse(&spec, argc, argv, &n_pos);
    if (rc != ARGS_CONTINUE) return rc;
    if ((n_pos > 1) == (file != NULL)) return args_usage_error(&spec, "give the texts either as TEXTs or with -f FILE");
    mote_embed_params ep = mote_embed_default_params();
    if (parse_pooling(pooling_name, &ep.pooling) != 0)
        return args_usage_error(&spec, "--pooling must be model, mean, cls or last");
    ep.normalize = !raw;
    ep.truncate = truncate;
    ep.n_ctx = n_ctx;
    ep.n_threads = n_threads;
    cli_check_threads(n_threads);

    char *file_text = NULL;
    const char **texts = NULL;
    int n = 0;
    if (file) {
        cli_file_kind kind;
        size_t len;
        if (cli_text_kind("text file", &kind) != 0 || cli_read_file(file, &kind, &file_text, &len) != 0)
            return EXIT_LIB;
        if (split_lines(file_text, &texts, &n) != 0) {
            free(file_text);
            return EXIT_LIB;
        }
    } else {
        texts = pos + 1;
        n = n_pos - 1;
    }
    mote_model *model = NULL;
    mote_embedder *e = NULL;
    float *vec = NULL;
    int64_t n_tokens = 0;
    rc = cli_open_model(pos[0], 0, &model);
    if (rc == 0 && mote_embedder_create(model, &ep, &e) != MOTE_OK) rc = cli_lib_error();
    const int dim = mote_embedder_dim(e);
    if (rc == 0 && !(vec = malloc(sizeof *vec * (size_t)dim * (size_t)(n ? n : 1)))) rc = cli_error("out of memory");
    if (rc == 0 && mote_embed(e, texts, NULL, n, vec, &n_tokens) != MOTE_OK) rc = cli_lib_error();
    if (rc == 0 && json) {
        mote_model_info info;
        mote_model_get_info(model, &info);
        printf("{\"object\": \"list\", \"model\": \"%s\", \"dim\": %d, \"data\": [", info.name, dim);
        for (int i = 0; i < n; i++) {
            printf("%s\n  {\"object\": \"embedding\", \"index\": %d, \"embedding\": [", i ? "," : "", i);
            print_vector(vec + (size_t)i * dim, dim, 1);
            printf("]}");
        }
        printf("\n], \"usage\": {\"prompt_tokens\": %lld, \"total_tokens\": %lld}}\n", (long long)n_tokens,
               (long long)n_tokens);
    } else if (rc == 0) {
        for (int i = 0; i < n; i++) {
            print_vector(vec + (size_t)i * dim, dim, 0);
            putchar('\n');
        }
    }
    if (rc == 0 && fflush(stdout) != 0) rc = cli_error("writing the vectors failed");
    free(vec);
    mote_embedder_free(e);
    mote_model_close(model);
    if (file) free((void *)texts);
    free(file_text);
    return rc;
}
