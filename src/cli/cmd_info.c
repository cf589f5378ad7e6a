/*
 * cmd_info.c — `mote info`: describe a model file.
 *
 * The summary comes from mote_model_get_info; --tensors and --meta walk the
 * tensor and metadata tables. Vocab-only files (and any file when only the
 * tokenizer is wanted) show what they have: no hyper-parameters or weights.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"

/* Width of the label column of the summary. */
#define LABEL_WIDTH 17
/* Largest metadata value shown by --meta (a chat template is a few KiB;
 * token arrays are summarised by the library). */
#define META_VALUE_MAX (64u << 20)

static void label(const char *name)
{
    printf("%-*s", LABEL_WIDTH, name);
}

/* A string from the file (or the command line), escaped so that control
 * bytes in metadata cannot drive the terminal; dflt when empty. */
static void put_text(const char *s, const char *dflt)
{
    if (s && *s) cli_print_escaped(stdout, s, strlen(s));
    else fputs(dflt, stdout);
}

/* A metadata value as text in *buf (capacity *cap, grown as needed: the
 * API does not report the size it needs). MOTE_OK, or the library's
 * status (its message set). */
static mote_status meta_text(const mote_model *model, const char *key, char **buf, size_t *cap)
{
    mote_status st;
    while ((st = mote_model_meta_string(model, key, *buf, *cap)) == MOTE_E_RANGE && *cap < META_VALUE_MAX) {
        char *nb = realloc(*buf, *cap * 2);
        if (!nb) return MOTE_E_NOMEM;
        *buf = nb;
        *cap *= 2;
    }
    if (st == MOTE_OK) (*buf)[*cap - 1] = '\0';
    return st;
}

/* The family of a chat template, told by the markup it writes (the names
 * llama.cpp uses for them), or NULL. */
static const char *template_family(const char *t)
{
    static const struct {
        const char *marker, *also, *name;
    } families[] = {
        {"<|im_start|>", NULL, "chatml"},
        {"<|start_header_id|>", NULL, "llama3"},
        {"<start_of_turn>", NULL, "gemma"},
        {"<|start_of_role|>", NULL, "granite"},
        {"<|user|>", "<|end|>", "phi3"},
        {"<|START_OF_TURN_TOKEN|>", NULL, "command-r"},
        {"<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>", NULL, "deepseek"},
        {"<|user|>", NULL, "zephyr"},
        {"[INST]", NULL, "mistral/llama2"},
    };
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
        if (strstr(t, families[i].marker) && (!families[i].also || strstr(t, families[i].also)))
            return families[i].name;
    return NULL;
}

/* "chat template:" — its family, size and first line that is not blank,
 * or "none". 0 or EXIT_LIB. */
static int print_template(const mote_model *m, const mote_model_info *in)
{
    label("chat template:");
    if (!in->has_chat_template) {
        puts("none");
        return 0;
    }
    size_t cap = 4096;
    char *t = malloc(cap), h[32];
    if (!t) return cli_error("out of memory");
    mote_status st = meta_text(m, "tokenizer.chat_template", &t, &cap);
    if (st != MOTE_OK) {
        free(t);
        return st == MOTE_E_NOMEM ? cli_error("out of memory") : cli_lib_error();
    }
    const char *family = template_family(t);
    cli_human_bytes(strlen(t), h, sizeof h);
    printf("%s, %s\n", family ? family : "unrecognised markup", h);
    const char *line = t + strspn(t, " \t\r\n");
    size_t len = strcspn(line, "\r\n");
    if (len > 0) {
        enum { SHOWN = 60 };
        label("");
        cli_print_escaped(stdout, line, len > SHOWN ? SHOWN : len);
        puts(len > SHOWN ? " ..." : "");
    }
    free(t);
    return 0;
}

/* ------------------------------------------------------------------------
 * Summary
 * ---------------------------------------------------------------------- */

/* The KV cache a session of n_ctx positions (0: the training context)
 * would hold, and all it would hold (its peak, on this machine's threads);
 * for an embedding model, all an embedder would hold. */
static int print_kv(const mote_model *m, const mote_model_info *in, int n_ctx, int kv_type, const char *kv_name)
{
    char h[64];
    if (mote_model_embedding_only(m)) {
        /* An encoder keeps no cache between calls: what an embedder of
         * texts of up to n_ctx tokens would hold instead. */
        mote_embed_params ep = mote_embed_default_params();
        ep.n_ctx = n_ctx ? n_ctx : in->n_ctx_train < MOTE_N_CTX_MAX ? in->n_ctx_train : MOTE_N_CTX_MAX;
        mote_memory mem;
        if (mote_embedder_plan(m, &ep, &mem) != MOTE_OK) return cli_lib_error();
        cli_human_bytes(mem.kv + mem.scratch + mem.heap, h, sizeof h);
        label("embedder:");
        printf("%s in all, texts of up to %d tokens (-c to change)\n", h, ep.n_ctx);
        return 0;
    }
    mote_session_params sp = mote_session_default_params();
    sp.n_ctx = n_ctx ? n_ctx : in->n_ctx_train < MOTE_N_CTX_MAX ? in->n_ctx_train : MOTE_N_CTX_MAX;
    sp.kv_type = kv_type;
    uint64_t bytes;
    if (mote_session_kv_bytes(m, &sp, &bytes) != MOTE_OK) return cli_lib_error();
    cli_human_bytes(bytes, h, sizeof h);
    label("kv cache:");
    printf("%s at %d positions (%s, one sequence; -c to change)\n", h, sp.n_ctx, kv_name);
    mote_memory mem;
    if (mote_session_plan(m, &sp, &mem) != MOTE_OK) return cli_lib_error();
    cli_human_bytes(mem.kv + mem.scratch + mem.heap, h, sizeof h);
    label("session:");
    printf("%s in all (kv cache, scratch, tables)\n", h);
    return 0;
}

static int print_summary(const char *path, const mote_model *m, const mote_model_info *in)
{
    char h[64];
    struct stat sb;
    label("file:");
    put_text(path, "");
    putchar('\n');
    if (stat(path, &sb) == 0) {
        cli_human_bytes((uint64_t)sb.st_size, h, sizeof h);
        label("file size:");
        printf("%s (%lld bytes)\n", h, (long long)sb.st_size);
    }
    label("architecture:");
    put_text(in->arch, "(none)");
    putchar('\n');
    label("name:");
    put_text(in->name, "(none)");
    putchar('\n');
    if (in->vocab_only) {
        label("weights:");
        printf("none (vocab only)\n");
    } else {
        cli_human_count(in->n_params, h, sizeof h);
        label("parameters:");
        printf("%s (%lld)\n", h, (long long)in->n_params);
        cli_human_bytes(in->weight_bytes, h, sizeof h);
        label("weights:");
        printf("%s", h);
        if (in->n_params > 0)
            printf(", %.2f bits per weight", 8.0 * (double)in->weight_bytes / (double)in->n_params);
        printf("\n");
        char ft[32];
        int from_tensors;
        if (cli_file_type(m, ft, sizeof ft, &from_tensors)) {
            label("file type:");
            printf("%s%s\n", ft, from_tensors ? " (no general.file_type: the type of most weights)" : "");
        }
        label("context length:");
        printf("%d\n", in->n_ctx_train);
        label("embedding:");
        printf("%d\n", in->n_embd);
        label("layers:");
        if (in->n_blocks < in->n_layer)
            printf("%d, sharing %d stored blocks (mote.block_map)\n", in->n_layer, in->n_blocks);
        else
            printf("%d\n", in->n_layer);
        label("heads:");
        printf("%d\n", in->n_head);
        label("kv heads:");
        printf("%d\n", in->n_head_kv);
        label("feed-forward:");
        printf("%d\n", in->n_ff);
        label("rope base:");
        printf("%g\n", in->rope_freq_base);
        label("norm eps:");
        printf("%g\n", in->norm_eps);
        static const char *const poolings[] = {"none", "mean", "cls", "last"};
        const int pooling = mote_model_pooling(m);
        if (pooling > MOTE_POOL_NONE && pooling <= MOTE_POOL_LAST) {
            label("pooling:");
            printf("%s%s\n", poolings[pooling], mote_model_embedding_only(m) ? " (an embedding model)" : "");
        }
        if (in->sliding_window > 0) {
            label("sliding window:");
            printf("%d positions on %d of %d layers\n", in->sliding_window, in->n_layer_swa, in->n_layer);
        }
    }
    label("vocab size:");
    printf("%d\n", in->n_vocab);
    label("tokenizer:");
    put_text(in->tokenizer, "(none)");
    fputs(" (pre: ", stdout);
    put_text(in->pre, "default");
    puts(")");
    if (print_template(m, in) != 0) return EXIT_LIB;
    /* what the loader ignored: one "warning: ..." line each */
    for (const char *w = in->warnings; w && *w;) {
        const char *nl = strchr(w, '\n');
        int n = nl ? (int)(nl - w) : (int)strlen(w);
        printf("warning: %.*s\n", n, w);
        w += n + (nl != NULL);
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * Tensors
 * ---------------------------------------------------------------------- */

/* One row of the tensor type histogram. */
typedef struct type_row {
    const char *type; /* type name, owned by the model */
    int64_t count;    /* tensors of this type */
    uint64_t bytes;   /* their data */
} type_row;

static int by_bytes_desc(const void *a, const void *b)
{
    const type_row *x = a, *y = b;
    return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 : strcmp(x->type, y->type);
}

static void format_shape(const int64_t ne[4], int n_dims, char *buf, size_t cap)
{
    size_t off = 0;
    off += (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < n_dims && off < cap; d++)
        off += (size_t)snprintf(buf + off, cap - off, d ? ", %lld" : "%lld", (long long)ne[d]);
    if (off < cap) snprintf(buf + off, cap - off, "]");
}

/* The type histogram, and with list every tensor. 0 or EXIT_LIB. */
static int print_tensors(const mote_model *model, int list)
{
    int64_t n = mote_model_tensor_count(model);
    if (n <= 0) {
        printf("\ntensors: none\n");
        return 0;
    }
    type_row *rows = calloc((size_t)n, sizeof *rows);
    if (!rows) return cli_error("out of memory");
    size_t n_rows = 0;
    if (list) printf("\n%-48s %-8s %-24s %s\n", "tensor", "type", "shape", "bytes");
    for (int64_t i = 0; i < n; i++) {
        const char *name, *type;
        int64_t ne[4];
        int n_dims;
        uint64_t nbytes;
        if (mote_model_tensor_info(model, i, &name, &type, ne, &n_dims, &nbytes) != MOTE_OK) {
            free(rows);
            return cli_lib_error();
        }
        if (list) {
            char shape[128];
            format_shape(ne, n_dims, shape, sizeof shape);
            char shown[256];
            cli_escape(name, shown, sizeof shown);
            printf("%-48s %-8s %-24s %llu\n", shown, type, shape, (unsigned long long)nbytes);
        }
        size_t r = 0;
        while (r < n_rows && strcmp(rows[r].type, type) != 0) r++;
        if (r == n_rows) rows[n_rows++].type = type;
        rows[r].count++;
        rows[r].bytes += nbytes;
    }
    qsort(rows, n_rows, sizeof *rows, by_bytes_desc);
    printf("\ntensor types (%lld tensors):\n", (long long)n);
    for (size_t r = 0; r < n_rows; r++) {
        char h[32];
        cli_human_bytes(rows[r].bytes, h, sizeof h);
        printf("  %-8s %6lld tensors  %12s (%llu bytes)\n", rows[r].type,
               (long long)rows[r].count, h, (unsigned long long)rows[r].bytes);
    }
    free(rows);
    return 0;
}

/* ------------------------------------------------------------------------
 * Metadata
 * ---------------------------------------------------------------------- */

/* Every key with its value, one per line, escaped. 0 or EXIT_LIB. */
static int print_meta(const mote_model *model)
{
    int64_t n = mote_model_meta_count(model);
    size_t cap = 4096;
    char *buf = malloc(cap);
    if (!buf) return cli_error("out of memory");
    printf("\nmetadata (%lld keys):\n", (long long)(n > 0 ? n : 0));
    for (int64_t i = 0; i < n; i++) {
        const char *key = mote_model_meta_key(model, i);
        if (!key) continue;
        mote_status st = meta_text(model, key, &buf, &cap);
        if (st != MOTE_OK) {
            free(buf);
            return st == MOTE_E_NOMEM ? cli_error("out of memory") : cli_lib_error();
        }
        fputs("  ", stdout);
        put_text(key, "");
        fputs(" = ", stdout);
        cli_print_escaped(stdout, buf, strlen(buf));
        putchar('\n');
    }
    free(buf);
    return 0;
}

int cmd_info(int argc, char **argv)
{
    int tensors = 0, meta = 0, vocab_only = 0, n_ctx = 0, kv_type = MOTE_KV_F16;
    const char *kv_name = "f16";
    const cli_opt opts[] = {
        {'c', "ctx", ARG_INT, &n_ctx, "N", "context for the KV cache size shown (default: the model's)", 0,
         MOTE_N_CTX_MAX, NULL},
        {0, "kv-type", ARG_STRING, &kv_name, "TYPE", KV_TYPE_HELP, 0, 0, NULL},
        {0, "tensors", ARG_FLAG, &tensors, NULL, "list every tensor: name, type, shape, bytes",
         0, 0, NULL},
        {0, "meta", ARG_FLAG, &meta, NULL, "print every metadata key and its value", 0, 0,
         NULL},
        {0, "vocab-only", ARG_FLAG, &vocab_only, NULL,
         "load only tokenizer and metadata (no weights)", 0, 0, NULL},
        {0},
    };
    const char *pos[1] = {NULL};
    const cli_spec spec = {
        .verb = "info",
        .usage = "MODEL [--tensors] [--meta] [-c N] [--kv-type TYPE]",
        .about = "Describe a GGUF model: architecture, parameter count, hyper-parameters,\n"
                 "tokenizer, chat template and a histogram of tensor types. Works on\n"
                 "vocab-only files.",
        .notes = "In --meta, values escape newlines and tabs; arrays are summarised as\n"
                 "[type x count].",
        .opts = opts,
        .min_pos = 1,
        .max_pos = 1,
        .pos = pos,
    };
    int n_pos;
    int rc = args_parse(&spec, argc, argv, &n_pos);
    if (rc != ARGS_CONTINUE) return rc;
    if ((rc = cli_kv_type(&spec, kv_name, &kv_type)) != 0) return rc;

    /* Not cli_open_model: the summary lists the loader's warnings itself. */
    mote_model_params mp = mote_model_default_params();
    mp.vocab_only = vocab_only;
    mote_model *model = NULL;
    if (mote_model_open(pos[0], &mp, &model) != MOTE_OK) return cli_lib_error();
    mote_model_info in;
    if (mote_model_get_info(model, &in) != MOTE_OK) {
        rc = cli_lib_error();
    } else {
        rc = print_summary(pos[0], model, &in);
        if (rc == 0 && !in.vocab_only) rc = print_kv(model, &in, n_ctx, kv_type, kv_name);
        if (rc == 0) rc = print_tensors(model, tensors);
        if (rc == 0 && meta) rc = print_meta(model);
    }
    mote_model_close(model);
    return rc;
}
