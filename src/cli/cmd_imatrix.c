/*
 * cmd_imatrix.c — `mote imatrix`: an importance matrix over a calibration
 * text, in llama.cpp's file formats (mote_imatrix), and `--show FILE` to
 * summarise one (mote_imatrix_load).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "mote_tools.h"

#define SHOW_TOP 3 /* columns listed per weight by --show */

/* One line per weight: the columns' mean importance, the largest and where. */
static int show(const char *path)
{
    mote_imatrix_set *set;
    if (mote_imatrix_load(path, &set) != MOTE_OK) return cli_lib_error();
    printf("%s: %s format, %zu entries, %d chunks of %d tokens\n", path, set->legacy ? "legacy .dat" : "GGUF",
           set->n_entries, (int)set->chunk_count, (int)set->chunk_size);
    for (size_t i = 0; i < set->n_datasets; i++) printf("dataset: %s\n", set->datasets[i]);
    printf("%-32s %6s %4s %10s %12s %12s  top columns\n", "tensor", "n_in", "mats", "count", "mean", "max");
    for (size_t i = 0; i < set->n_entries; i++) {
        const mote_imatrix_entry *e = &set->entries[i];
        double sum = 0;
        size_t top[SHOW_TOP] = {0};
        int n_top = 0;
        for (size_t j = 0; j < e->n; j++) {
            sum += e->data[j];
            int k = n_top < SHOW_TOP ? n_top++ : SHOW_TOP; /* insertion into the top list */
            while (k > 0 && e->data[top[k - 1]] < e->data[j]) {
                if (k < SHOW_TOP) top[k] = top[k - 1];
                k--;
            }
            if (k < SHOW_TOP) top[k] = j;
        }
        printf("%-32s %6lld %4lld %10lld %12.5g %12.5g ", e->name, (long long)(e->n / (size_t)e->n_mat),
               (long long)e->n_mat, (long long)e->counts[0], sum / (double)e->n, (double)e->data[top[0]]);
        for (int k = 0; k < n_top; k++) printf(" %zu", top[k]);
        printf("\n");
    }
    mote_imatrix_free(set);
    return 0;
}

int cmd_imatrix(int argc, char **argv)
{
    mote_imatrix_params p = mote_imatrix_default_params();
    const char *text_path = NULL, *format = "gguf", *show_path = NULL, *kv_name = NULL, *pos[1] = {NULL};
    p.out_path = "imatrix.gguf";
    const cli_opt opts[] = {
        {'f', "file", ARG_STRING, &text_path, "TEXT", "calibration text file", 0, 0, NULL},
        {'o', "output", ARG_STRING, &p.out_path, "FILE", "file to write (default imatrix.gguf)", 0, 0, NULL},
        {'c', "chunk", ARG_INT, &p.chunk_size, "N", "tokens per chunk (default 512, as llama-imatrix's -c)",
         MOTE_IMATRIX_CHUNK_MIN, MOTE_N_CTX_MAX, NULL},
        {0, "chunks", ARG_INT, &p.n_chunks, "K", "evaluate at most the first K chunks", 1, 1e9, NULL},
        {'t', "threads", ARG_INT, &p.n_threads, "N", "worker threads (default: all CPUs; more are capped)", 0,
         MOTE_N_THREADS_MAX, NULL},
        {0, "kv-type", ARG_STRING, &kv_name, "TYPE", KV_TYPE_HELP, 0, 0, NULL},
        {0, "output-format", ARG_STRING, &format, "gguf|dat", "llama.cpp's GGUF imatrix (default) or legacy .dat",
         0, 0, NULL},
        {0, "process-output", ARG_FLAG, &p.process_output, NULL, "also collect output.weight", 0, 0, NULL},
        {0, "show", ARG_STRING, &show_path, "FILE", "summarise an imatrix file (GGUF or .dat) and exit", 0, 0, NULL},
        {0},
    };
    const cli_spec spec = {
        .verb = "imatrix",
        .usage = "MODEL -f TEXT [-o FILE] [-c N] [--chunks K] [-t N] [--kv-type T] [--output-format gguf|dat]\n"
                 "       mote imatrix --show FILE",
        .about = "Compute an importance matrix as llama.cpp's llama-imatrix does: for every weight\n"
                 "matrix of the blocks, the sum of each input column's squares over the text,\n"
                 "and the rows summed. The text is tokenized once (with BOS), cut into chunks of\n"
                 "N tokens (the rest is dropped), each chunk evaluated from an empty cache with\n"
                 "BOS first. The file is llama.cpp's (llama-quantize --imatrix reads it).",
        .notes = "--show prints per weight: input columns, matrices, rows counted, the mean and\n"
                 "largest importance (sum / count, as the quantizer uses it) and the top columns.",
        .opts = opts,
        .min_pos = 0,
        .max_pos = 1,
        .pos = pos,
    };
    int n_pos;
    int rc = args_parse(&spec, argc, argv, &n_pos);
    if (rc != ARGS_CONTINUE) return rc;
    if (show_path) {
        if (n_pos || text_path) return args_usage_error(&spec, "--show takes a file alone");
        return show(show_path);
    }
    if (n_pos != 1 || !text_path) return args_usage_error(&spec, "MODEL and -f TEXT are required");
    if (strcmp(format, "gguf") != 0 && strcmp(format, "dat") != 0)
        return args_usage_error(&spec, "--output-format: '%s' is not gguf or dat", format);
    p.legacy = strcmp(format, "dat") == 0;
    if (kv_name && (rc = cli_kv_type(&spec, kv_name, &p.kv_type)) != 0) return rc;
    cli_check_threads(p.n_threads);

    char model[4096];
    if ((rc = cli_model_path(pos[0], model, sizeof model)) != 0) return rc;
    char *text = NULL;
    cli_file_kind kind;
    if (cli_text_kind("text file", &kind) != 0 || cli_read_file(text_path, &kind, &text, &p.text_len) != 0)
        return EXIT_LIB;
    p.model_path = model;
    p.text = text;
    p.text_path = text_path;

    cli_progress prog; /* on a terminal after a second; Ctrl-C cancels */
    cli_progress_init(&prog, "imatrix");
    cli_catch_interrupt();
    p.progress = cli_progress_fn;
    p.progress_user = &prog;
    mote_imatrix_stats st;
    const double t0 = cli_now();
    const mote_status s = mote_imatrix(&p, &st);
    free(text);
    if (s != MOTE_OK) {
        if (prog.shown >= 0 && prog.shown < 100) fputc('\n', stderr);
        return s == MOTE_E_CANCELLED && cli_interrupted() ? (cli_lib_error(), EXIT_INTERRUPTED) : cli_lib_error();
    }
    const double secs = cli_now() - t0;
    printf("wrote %s: %d entries, %d chunks of %d tokens (%d tokens in the text), %.2f s, %.0f tokens/s\n",
           p.out_path, st.n_entries, st.n_chunks, p.chunk_size, st.n_tokens, secs,
           secs > 0 ? st.n_chunks * (double)p.chunk_size / secs : 0.0);
    return 0;
}
