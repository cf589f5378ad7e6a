/*
 * cmd_optimize.c — `mote optimize IN OUT`: a model with its weights in the
 * layouts mote's fastest kernels read (mote_optimize).
 */
#include <stdio.h>

#include "cli/cli.h"
#include "mote_tools.h"

int cmd_optimize(int argc, char **argv)
{
    mote_optimize_params p = mote_optimize_default_params();
    const cli_opt opts[] = {
        {0, "plain", ARG_FLAG, &p.plain, NULL, "the reverse: every layout type back to its plain type", 0, 0,
         NULL},
        {0},
    };
    const char *pos[2] = {NULL, NULL};
    const cli_spec spec = {
        .verb = "optimize",
        .usage = "IN OUT [options]",
        .about = "Write IN's Q8_0, Q4_0, IQ4_NL, Q4_K and Q6_K weight matrices in the layouts mote's\n"
                 "AVX512-VNNI kernels read (types Q8_0_R16, Q4_0_R16, IQ4_NL_R16, Q4_K_R16 and Q6_K_R16:\n"
                 "rows interleaved in groups of 16, scales gathered), so prompt processing needs no repacking\n"
                 "at run time. Loading stays zero-copy and every result is bit-identical to IN's, on any CPU.",
        .notes = "Only mote reads the output (it records its layouts under mote.type.<id> keys,\n"
                 "which other GGUF readers refuse); --plain turns it back into a file for them.\n"
                 "Embedding tables, matrices of fewer than 16 rows and rows of more than 32768\n"
                 "elements stay plain. OUT may be IN; it is written only when complete: an error\n"
                 "or Ctrl-C leaves no file behind.",
        .opts = opts,
        .min_pos = 2,
        .max_pos = 2,
        .pos = pos,
    };
    int n_pos;
    int rc = args_parse(&spec, argc, argv, &n_pos);
    if (rc != ARGS_CONTINUE) return rc;
    p.in_path = pos[0];
    p.out_path = pos[1];
    cli_progress prog; /* on a terminal after a second; Ctrl-C cancels */
    cli_progress_init(&prog, "optimize");
    cli_catch_interrupt();
    p.progress = cli_progress_fn;
    p.progress_user = &prog;
    mote_optimize_stats st;
    const double t0 = cli_now();
    if (mote_optimize(&p, &st) != MOTE_OK) {
        if (prog.shown >= 0 && prog.shown < 100) fputc('\n', stderr);
        int code = cli_lib_error();
        return cli_interrupted() ? EXIT_INTERRUPTED : code;
    }
    char size[32];
    cli_human_bytes(st.bytes, size, sizeof size);
    printf("wrote %s: %d tensors (%d %s), %s in %.2f s\n", p.out_path, st.n_tensors, st.n_converted,
           p.plain ? "back to plain types" : "in kernel layouts", size, cli_now() - t0);
    return 0;
}
