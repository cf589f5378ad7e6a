/*
 * cmd_prune.c — `mote prune IN OUT -f TEXT`: a structurally pruned copy of
 * a model (fewer FFN neurons, fewer layers) chosen from a calibration
 * text (mote_prune), and what was cut.
 */
#include <stdio.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "mote_tools.h"

int cmd_prune(int argc, char **argv)
{
    mote_prune_params p = mote_prune_default_params();
    const char *pos[2] = {0};
    const cli_opt opts[] = {
        {'f', "file", ARG_STRING, &p.text_path, "TEXT", "calibration text (required)", 0, 0, NULL},
        {0, "ffn-keep", ARG_FLOAT, &p.ffn_keep, "F",
         "fraction of each layer's FFN neurons kept, in (0, 1] (default 1: none cut)", 0, 1, NULL},
        {0, "drop-layers", ARG_INT, &p.drop_layers, "N", "layers removed (default 0)", 0, 1 << 20, NULL},
        {'c', "ctx-size", ARG_INT, &p.n_ctx, "N", "tokens per calibration chunk (default 512)", 4, MOTE_N_CTX_MAX,
         NULL},
        {0, "chunks", ARG_INT, &p.n_chunks, "K", "evaluate at most the first K chunks (default: all)", 1,
         1 << 30, NULL},
        {'t', "threads", ARG_INT, &p.n_threads, "N", "worker threads (default: all CPUs)", 1, MOTE_N_THREADS_MAX,
         NULL},
        {0},
    };
    const cli_spec spec = {
        .verb = "prune",
        .usage = "IN OUT -f TEXT [--ffn-keep F] [--drop-layers N] [options]",
        .about = "Write OUT, a smaller copy of the model IN that llama.cpp and mote load as an\n"
                 "ordinary model: the FFN neurons that matter least over the calibration text are\n"
                 "removed from every layer (--ffn-keep), and the layers that change the residual\n"
                 "stream least are removed whole (--drop-layers).",
        .notes = "A neuron's score is sqrt(mean of its squared input to ffn_down) times the norm of\n"
                 "its column of ffn_down; a layer's is the mean cosine between the stream entering\n"
                 "and leaving it (highest goes first). The text is cut into chunks as mote\n"
                 "perplexity cuts it. Tensors keep their types (a quantized ffn_down is\n"
                 "requantized after the cut). Measure what a setting costs with mote kld IN OUT.\n"
                 "Pruning without retraining costs quality fast: see QUALITY.md.",
        .opts = opts,
        .min_pos = 2,
        .max_pos = 2,
        .pos = pos,
    };
    int n_pos;
    int rc = args_parse(&spec, argc, argv, &n_pos);
    if (rc != ARGS_CONTINUE) return rc;
    cli_check_threads(p.n_threads);
    if (!p.text_path) return args_usage_error(&spec, "-f TEXT (the calibration text) is required");
    if (!(p.ffn_keep > 0)) return args_usage_error(&spec, "--ffn-keep must be more than 0");
    if (p.ffn_keep >= 1 && p.drop_layers == 0)
        return args_usage_error(&spec, "nothing to prune: give --ffn-keep below 1 or --drop-layers");
    p.in_path = pos[0];
    p.out_path = pos[1];

    cli_progress prog; /* on a terminal after a second; Ctrl-C cancels */
    cli_progress_init(&prog, "prune");
    cli_catch_interrupt();
    p.progress = cli_progress_fn;
    p.progress_user = &prog;
    struct stat sb;
    char in_size[32] = "?", out_size[32] = "?";
    if (stat(p.in_path, &sb) == 0) cli_human_bytes((uint64_t)sb.st_size, in_size, sizeof in_size);
    const double t0 = cli_now();
    mote_prune_result r;
    mote_status st = mote_prune(&p, &r);
    if (prog.shown >= 0 && prog.shown < 100) fputc('\n', stderr);
    if (st != MOTE_OK) {
        int code = cli_lib_error();
        return cli_interrupted() ? EXIT_INTERRUPTED : code;
    }
    printf("layers' mean cosine between the stream entering and leaving them (%d chunks):", r.n_chunks);
    for (int l = 0; l < r.n_layer_in; l++) printf("%s%d %.4f", l % 8 ? "  " : "\n  ", l, r.block_cos[l]);
    printf("\n");
    if (r.n_dropped) {
        printf("dropped layers:");
        for (int i = 0; i < r.n_dropped; i++) printf(" %d", r.dropped[i]);
        printf("\n");
    }
    if (stat(p.out_path, &sb) == 0) cli_human_bytes((uint64_t)sb.st_size, out_size, sizeof out_size);
    printf("wrote %s: %d layers (was %d), %lld FFN neurons per layer (was %lld), %s (was %s) in %.2f s\n",
           p.out_path, r.n_layer_out, r.n_layer_in, (long long)r.n_ff_out, (long long)r.n_ff_in, out_size, in_size,
           cli_now() - t0);
    mote_prune_result_free(&r);
    return 0;
}
