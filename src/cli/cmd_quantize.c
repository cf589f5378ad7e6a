/*
 * cmd_quantize.c — `mote quantize IN OUT TYPE`: what llama-quantize writes
 * for the same input, type and options, byte for byte.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "mote_tools.h"

static void print_notice(void *user, const char *text)
{
    (void)user;
    fprintf(stderr, "mote: notice: %s\n", text);
}

/* The importance matrix of --imatrix FILE (llama.cpp's GGUF or legacy
 * .dat format, as llama-quantize reads it) as the quantizer's entries. */
static int load_imatrix(const char *path, mote_quantize_params *p, mote_imatrix_set **set)
{
    if (mote_imatrix_load(path, set) != MOTE_OK) return cli_lib_error();
    p->imatrix = (*set)->entries;
    p->n_imatrix = (*set)->n_entries;
    p->imatrix_file = path;
    p->imatrix_dataset = (*set)->n_datasets ? (*set)->datasets[0] : NULL;
    p->imatrix_chunks = (*set)->chunk_count;
    fprintf(stderr, "mote: importance matrix %s: %zu weights, %d chunks of %d tokens\n", path,
            (*set)->n_entries, (*set)->chunk_count, (*set)->chunk_size);
    return 0;
}

int cmd_quantize(int argc, char **argv)
{
    mote_quantize_params p = mote_quantize_default_params();
    const char *imatrix_path = NULL;
    int optimize = 0;
    const cli_opt opts[] = {
        {0, "pure", ARG_FLAG, &p.pure, NULL, "every matrix the type's base type: no mix, no special head", 0,
         0, NULL},
        {0, "output-type", ARG_STRING, &p.output_type, "T", "type of output.weight (e.g. Q8_0, F16)", 0, 0,
         NULL},
        {0, "output-tensor-type", ARG_STRING, &p.output_type, "T", "the same (llama-quantize's name)", 0, 0,
         NULL},
        {0, "token-embedding-type", ARG_STRING, &p.token_embedding_type, "T", "type of token_embd.weight", 0,
         0, NULL},
        {0, "imatrix", ARG_STRING, &imatrix_path, "FILE", "importance matrix (llama-imatrix's output)", 0, 0,
         NULL},
        {0, "optimize", ARG_FLAG, &optimize, NULL,
         "then store the weights in mote's kernel layouts (see mote optimize; only mote reads it)", 0, 0, NULL},
        {'t', "threads", ARG_INT, &p.n_threads, "N", "worker threads (default: all CPUs)", 0,
         MOTE_N_THREADS_MAX, NULL},
        {0},
    };
    char notes[2048];
    size_t used = (size_t)snprintf(notes, sizeof notes, "types:\n");
    for (int i = 0; mote_quantize_type_name(i) && used < sizeof notes; i++)
        used += (size_t)snprintf(notes + used, sizeof notes - used, "  %-8s%s\n", mote_quantize_type_name(i),
                                 mote_quantize_type_about(i));
    if (used < sizeof notes)
        snprintf(notes + used, sizeof notes - used,
                 "  (Q3_K, Q4_K and Q5_K stand for their _M mixes.)\n\n"
                 "Quantized, F16 and BF16 inputs are dequantized first. OUT is written only when\n"
                 "complete: an error or Ctrl-C leaves no file behind.");
    const char *pos[3] = {NULL, NULL, NULL};
    const cli_spec spec = {
        .verb = "quantize",
        .usage = "IN OUT TYPE [options]",
        .about = "Quantize a model the way llama.cpp's llama-quantize does: the same tensor types\n"
                 "(its mixes for _S/_M/_L), keys and layout, so OUT equals llama-quantize's file\n"
                 "for the same options byte for byte.",
        .notes = notes,
        .opts = opts,
        .min_pos = 3,
        .max_pos = 3,
        .pos = pos,
    };
    int n_pos;
    int rc = args_parse(&spec, argc, argv, &n_pos);
    if (rc != ARGS_CONTINUE) return rc;
    cli_check_threads(p.n_threads);
    p.in_path = pos[0];
    p.out_path = pos[1];
    p.type = pos[2];
    mote_imatrix_set *imatrix = NULL;
    if (imatrix_path && (rc = load_imatrix(imatrix_path, &p, &imatrix)) != 0) return rc;

    cli_progress prog; /* on a terminal after a second; Ctrl-C cancels */
    cli_progress_init(&prog, "quantize");
    cli_catch_interrupt();
    p.progress = cli_progress_fn;
    p.progress_user = &prog;
    p.notice = print_notice;
    mote_quantize_stats st;
    double t0 = cli_now();
    mote_status status = mote_quantize(&p, &st);
    mote_imatrix_free(imatrix);
    if (status != MOTE_OK) {
        if (prog.shown >= 0 && prog.shown < 100) fputc('\n', stderr);
        int code = cli_lib_error();
        return cli_interrupted() ? EXIT_INTERRUPTED : code;
    }
    if (optimize) {
        mote_optimize_params op = mote_optimize_default_params();
        op.in_path = op.out_path = p.out_path;
        if (mote_optimize(&op, NULL) != MOTE_OK) return cli_lib_error();
    }
    char in[32], out[32];
    cli_human_bytes(st.bytes_in, in, sizeof in);
    cli_human_bytes(st.bytes_out, out, sizeof out);
    printf("wrote %s: %s%s, %d tensors (%d converted), %s -> %s in %.2f s\n", p.out_path, p.type,
           optimize ? " in kernel layouts" : "", st.n_tensors, st.n_quantized, in, out, cli_now() - t0);
    return 0;
}
