/*
 * cmd_synth.c — `mote synth`: write a random-weight model with the exact
 * shapes, metadata and tensor types of a real one (for benchmarks).
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "mote_tools.h"

int cmd_synth(int argc, char **argv)
{
    mote_synth_params p = mote_synth_default_params();
    const cli_opt opts[] = {
        {0, "like", ARG_STRING, &p.like, "NAME", "model whose shapes are copied (see below)", 0, 0,
         NULL},
        {0, "type", ARG_STRING, &p.type, "TYPE", "F16, BF16, Q8_0, Q4_0, Q4_K_M or FP8 (mote's own, see README) (default Q8_0)",
         0, 0, NULL},
        {0, "vocab", ARG_STRING, &p.vocab_path, "FILE",
         "GGUF whose tokenizer is copied; its token count is n_vocab", 0, 0, NULL},
        {'o', "output", ARG_STRING, &p.out_path, "FILE", "GGUF to write", 0, 0, NULL},
        {0, "seed", ARG_U64, &p.seed, "S", "random seed (default 1): same seed, same bytes", 0, 0,
         NULL},
        {0, "layers", ARG_INT, &p.n_layer, "N", "write N blocks instead of the model's", 1, 4096,
         NULL},
        {'t', "threads", ARG_INT, &p.n_threads, "N", "worker threads (default: all CPUs; more are capped)", 0, MOTE_N_THREADS_MAX,
         NULL},
        {0, "exact", ARG_FLAG, &p.exact, NULL,
         "quantize every row from its own samples (slow for K-quants)", 0, 0, NULL},
        {0},
    };
    char notes[8192];
    int width = 0; /* of the name column: the longest name and two spaces */
    for (int i = 0; mote_synth_model_name(i); i++) {
        int len = (int)strlen(mote_synth_model_name(i)) + 2;
        width = len > width ? len : width;
    }
    size_t used = (size_t)snprintf(notes, sizeof notes, "models (--like):\n");
    for (int i = 0; mote_synth_model_name(i) && used < sizeof notes; i++)
        used += (size_t)snprintf(notes + used, sizeof notes - used, "  %-*s%s\n", width,
                                 mote_synth_model_name(i), mote_synth_model_about(i));
    if (used < sizeof notes)
        snprintf(notes + used, sizeof notes - used,
                 "\nWeights and biases are random (about normal, std 0.02; norms 1). By default\n"
                 "rows are random picks of blocks from a pool of quantized samples, which is\n"
                 "fast; the file depends only on the options, not on the thread count.");
    const cli_spec spec = {
        .verb = "synth",
        .usage = "--like NAME --vocab FILE -o FILE [--type TYPE] [options]",
        .about = "Write a GGUF with random weights and the exact layout of a real model: its\n"
                 "hyper-parameter keys, tensor shapes and (for quantized types) the tensor types\n"
                 "llama.cpp's llama-quantize would choose, with the tokenizer of FILE.",
        .notes = notes,
        .opts = opts,
    };
    int n_pos;
    int rc = args_parse(&spec, argc, argv, &n_pos);
    if (rc != ARGS_CONTINUE) return rc;
    cli_check_threads(p.n_threads);
    if (!p.like || !p.vocab_path || !p.out_path)
        return args_usage_error(&spec, "--like, --vocab and -o are required");

    cli_progress prog; /* on a terminal after a second; Ctrl-C cancels */
    cli_progress_init(&prog, "synth");
    cli_catch_interrupt();
    p.progress = cli_progress_fn;
    p.progress_user = &prog;
    double t0 = cli_now();
    if (mote_synth(&p) != MOTE_OK) {
        if (prog.shown >= 0 && prog.shown < 100) fputc('\n', stderr);
        return cli_lib_error();
    }
    double secs = cli_now() - t0;

    struct stat sb;
    char size[32] = "?";
    if (stat(p.out_path, &sb) == 0) cli_human_bytes((uint64_t)sb.st_size, size, sizeof size);
    printf("wrote %s: %s, %s, %s in %.2f s\n", p.out_path, p.like, p.type, size, secs);
    return 0;
}
