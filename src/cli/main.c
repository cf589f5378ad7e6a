/*
 * main.c — the `mote` command: dispatch to a verb.
 *
 *   mote VERB [arguments]     run a verb
 *   mote help [VERB]          list the verbs, or one verb's help
 *   mote VERB --help          the same
 *
 * Exit status: 0 success, 1 a library or I/O error (the message follows
 * "mote: " on stderr), 2 a bad command line (usage on stderr).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static int cmd_version(int argc, char **argv);
static int cmd_help(int argc, char **argv);

typedef struct cli_verb {
    const char *name;                 /* as typed after `mote` */
    const char *summary;              /* one line for `mote --help` */
    int (*run)(int argc, char **argv); /* argv[0] is the verb */
} cli_verb;

static const cli_verb verbs[] = {
    {"run", "generate text that continues a prompt", cmd_run},
    {"chat", "talk with a model, using its chat template", cmd_chat},
    {"info", "describe a model file: hyper-parameters, tensors, metadata", cmd_info},
    {"tokenize", "show how a text is tokenized", cmd_tokenize},
    {"embed", "print embedding vectors of texts (bert, nomic-bert, gemma/qwen3 embedders)", cmd_embed},
    {"memory", "index your files, mail and sensor logs; search and ask with citations", cmd_memory},
    {"mcp", "serve the memory to agent apps over MCP (stdio)", cmd_mcp},
    {"perplexity", "measure a model's perplexity on a text file", cmd_perplexity},
    {"kld", "KL divergence of a candidate model from a base on a text (quantization quality)", cmd_kld},
    {"logits", "the top logits at every position of a token sequence (teacher forcing)", cmd_logits},
    {"bench", "measure prompt and generation speed (like llama-bench)", cmd_bench},
    {"serve", "serve models over HTTP with OpenAI's API (local server)", cmd_serve},
    {"ps", "show the models a running mote serve has loaded", cmd_ps},
    {"pull", "download a model into the store (a short name, hf:ORG/REPO/FILE, a URL)", cmd_pull},
    {"list", "list the models in the store", cmd_list},
    {"show", "where a stored model came from, its size and SHA-256", cmd_show},
    {"rm", "remove a model from the store", cmd_rm},
    {"synth", "write a random-weight model shaped like a real one", cmd_synth},
    {"tune", "time the kernels' choices on a model's shapes and keep the fastest for this machine", cmd_tune},
    {"imatrix", "importance matrix of a model over a text, in llama.cpp's format", cmd_imatrix},
    {"quantize", "quantize a model as llama-quantize does (the same file, byte for byte)", cmd_quantize},
    {"optimize", "store a model's weights in the layouts mote's fastest kernels read", cmd_optimize},
    {"share", "write a model whose layers share stored blocks of weights (smaller file)", cmd_share},
    {"prune", "remove the FFN neurons and layers that matter least over a text (smaller file)", cmd_prune},
    {"version", "print the version", cmd_version},
    {"help", "show the help of a verb", cmd_help},
};
#define N_VERBS (sizeof verbs / sizeof verbs[0])

static const cli_verb *find_verb(const char *name)
{
    for (size_t i = 0; i < N_VERBS; i++)
        if (strcmp(verbs[i].name, name) == 0) return &verbs[i];
    return NULL;
}

static void print_usage(FILE *f)
{
    fprintf(f, "usage: mote VERB [arguments]   (mote help VERB, or mote VERB --help)\n");
}

static void print_overview(void)
{
    print_usage(stdout);
    printf("\nmote runs small language models (GGUF files) on the CPU.\n\nverbs:\n");
    for (size_t i = 0; i < N_VERBS; i++) printf("  %-12s%s\n", verbs[i].name, verbs[i].summary);
    printf("\nexit status: 0 success, 1 error (message on stderr), 2 bad command line\n");
}

/* ------------------------------------------------------------------------
 * The small verbs
 * ---------------------------------------------------------------------- */

static int cmd_version(int argc, char **argv)
{
    static const cli_opt opts[] = {{0}};
    const cli_spec spec = {
        .verb = "version",
        .usage = "",
        .about = "Print the version of mote.",
        .opts = opts,
    };
    int n_pos;
    int rc = args_parse(&spec, argc, argv, &n_pos);
    if (rc != ARGS_CONTINUE) return rc;
    printf("mote %s\n", MOTE_VERSION);
    return 0;
}

static int cmd_help(int argc, char **argv)
{
    static const cli_opt opts[] = {{0}};
    const char *pos[1] = {NULL};
    const cli_spec spec = {
        .verb = "help",
        .usage = "[VERB]",
        .about = "List the verbs, or show the help of one verb.",
        .opts = opts,
        .max_pos = 1,
        .pos = pos,
    };
    int n_pos;
    int rc = args_parse(&spec, argc, argv, &n_pos);
    if (rc != ARGS_CONTINUE) return rc;
    if (n_pos == 0) {
        print_overview();
        return 0;
    }
    const cli_verb *v = find_verb(pos[0]);
    if (!v) return args_usage_error(&spec, "unknown verb '%s'", pos[0]);
    char *help_argv[] = {(char *)v->name, "--help", NULL};
    return v->run(2, help_argv);
}

/* ------------------------------------------------------------------------
 * Dispatch
 * ---------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    /* A file size limit (ulimit -f) makes a write fail with EFBIG, which
     * the GGUF writer reports and cleans up after (no temporary file left),
     * instead of killing the process halfway through the file. */
    signal(SIGXFSZ, SIG_IGN);
    if (argc < 2) {
        fprintf(stderr, "mote: no verb given\n");
        print_usage(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0) {
        print_overview();
        return 0;
    }
    if (strcmp(name, "--version") == 0) name = "version";
    const cli_verb *v = find_verb(name);
    if (!v) {
        fprintf(stderr, "mote: unknown verb '%s'\n", name);
        print_usage(stderr);
        fprintf(stderr, "verbs:");
        for (size_t i = 0; i < N_VERBS; i++) fprintf(stderr, " %s", verbs[i].name);
        fprintf(stderr, "\n");
        return EXIT_USAGE;
    }
    return v->run(argc - 1, argv + 1);
}
