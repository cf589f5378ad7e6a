/*
 * cmd_perplexity.c — `mote perplexity`: perplexity of a model on a text,
 * computed by mote_perplexity the way llama.cpp's perplexity tool does, so
 * numbers compare (mote_tools.h describes the chunking).
 *
 * The running estimate after each chunk goes to stderr as "[1]x,[2]y,...";
 * the final estimate and its uncertainty go to stdout.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "mote_tools.h"

/* Called before the first chunk (done 0) and after each one; user is the
 * mote_ppl_result being filled, which holds the running estimate. */
static int report_chunk(void *user, uint64_t done, uint64_t total)
{
    const mote_ppl_result *r = user;
    if (done == 0)
        fprintf(stderr, "perplexity: %lld tokens, %llu chunks of %d, scoring %d tokens per chunk\n",
                (long long)r->n_text_tokens, (unsigned long long)(total / (uint64_t)r->n_ctx), r->n_ctx,
                r->n_ctx - 1 - r->n_ctx / 2);
    else
        fprintf(stderr, "[%d]%.4f,", r->n_chunks, r->ppl);
    fflush(stderr);
    return cli_interrupted();
}

int cmd_perplexity(int argc, char **argv)
{
    int n_ctx = 0, n_threads = 0, max_chunks = 0;
    const cli_opt opts[] = {
        CHUNK_OPTS(&n_ctx, &max_chunks, &n_threads),
        {0},
    };
    const char *pos[2] = {NULL, NULL};
    const cli_spec spec = {
        .verb = "perplexity",
        .usage = "MODEL FILE [-c N] [-t THREADS] [--chunks K]",
        .about = "Perplexity of MODEL on the text in FILE, computed like llama.cpp's perplexity\n"
                 "tool: chunks of N tokens, each from an empty cache with BOS first, scoring the\n"
                 "second half of every chunk. The running estimate after each chunk goes to\n"
                 "stderr; the final estimate (PPL = X +/- uncertainty) to stdout.",
        .opts = opts,
        .min_pos = 2,
        .max_pos = 2,
        .pos = pos,
    };
    int n_pos;
    int rc = args_parse(&spec, argc, argv, &n_pos);
    if (rc != ARGS_CONTINUE) return rc;
    cli_check_threads(n_threads);

    char *text = NULL;
    size_t text_len = 0;
    cli_file_kind kind;
    if (cli_text_kind("text file", &kind) != 0 ||
        cli_read_file(pos[1], &kind, &text, &text_len) != 0)
        return EXIT_LIB;

    mote_model *model = NULL;
    rc = EXIT_LIB;
    if (cli_open_model(pos[0], 0, &model) != 0) goto done;
    cli_catch_interrupt();
    mote_ppl_result res;
    mote_ppl_params pp = mote_ppl_default_params();
    pp.n_ctx = n_ctx;
    pp.n_chunks = max_chunks;
    pp.n_threads = n_threads;
    pp.progress = report_chunk;
    pp.progress_user = &res;
    double t0 = cli_now();
    mote_status st = mote_perplexity(model, text, text_len, &pp, &res);
    if (st == MOTE_E_RANGE && res.n_text_tokens == 0) {
        /* too short: name the file */
        cli_error("%s: %s (see -c)", pos[1], mote_last_error());
        goto done;
    }
    if (st != MOTE_OK) {
        if (res.n_chunks > 0) fputc('\n', stderr);
        rc = st == MOTE_E_CANCELLED ? EXIT_INTERRUPTED : cli_lib_error();
        goto done;
    }
    double secs = cli_now() - t0;
    fprintf(stderr, "\n%.2f s, %.1f tokens/s\n", secs,
            secs > 0 ? (double)res.n_chunks * res.n_ctx / secs : 0.0);
    if (res.ppl_err > 0)
        printf("Final estimate: PPL = %.4f +/- %.5f\n", res.ppl, res.ppl_err);
    else
        printf("Final estimate: PPL = %.4f\n", res.ppl);
    rc = 0;

done:
    if (model) mote_model_close(model);
    free(text);
    return rc;
}
