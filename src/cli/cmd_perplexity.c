/*
 * cmd_perplexity.c — `mote perplexity`: perplexity of a model on a text,
 * computed the way llama.cpp's perplexity tool does, so numbers compare:
 *
 *   - the whole text is tokenized once, with BOS if the vocabulary adds it;
 *   - it is cut into chunks of N = -c tokens (a shorter remainder is dropped);
 *   - the first token of each chunk is replaced by BOS (when BOS is added);
 *   - each chunk is evaluated from an empty cache;
 *   - only the second half is scored: token j+1 from the logits at position
 *     j, for j = N/2 .. N-2 (the first half only builds up context);
 *   - PPL = exp(mean negative log-likelihood) over all scored tokens, with
 *     the log-softmax in double.
 *
 * The running estimate after each chunk goes to stderr as "[1]x,[2]y,...";
 * the final estimate and its uncertainty go to stdout.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* Largest batch handed to one mote_session_eval call. */
#define PPL_MAX_BATCH 512

/* Sums over all scored tokens. */
typedef struct nll_sum {
    double nll;  /* sum of -log p(target) */
    double nll2; /* sum of its squares, for the uncertainty */
    long count;  /* tokens scored */
} nll_sum;

/* -log softmax(logits)[target], in double. */
static double token_nll(const float *logits, int n_vocab, mote_token target)
{
    double max = -DBL_MAX;
    for (int i = 0; i < n_vocab; i++)
        if (logits[i] > max) max = logits[i];
    double sum = 0.0;
    for (int i = 0; i < n_vocab; i++) sum += exp((double)logits[i] - max);
    return log(sum) + max - (double)logits[target];
}

/* Evaluate one chunk (toks[0..n), first token already BOS) from an empty
 * cache and add the scores of positions n/2 .. n-2 to *acc. */
static int score_chunk(mote_session *s, const mote_token *toks, int n, int n_batch, int n_vocab,
                       nll_sum *acc)
{
    const int first = n / 2;
    if (mote_session_truncate(s, 0) != MOTE_OK) return cli_lib_error();
    for (int b0 = 0; b0 < n; b0 += n_batch) {
        int nb = n - b0 < n_batch ? n - b0 : n_batch;
        /* Logits are only needed for batches reaching the scored half. */
        int want_logits = b0 + nb > first;
        if (mote_session_eval(s, toks + b0, nb, want_logits) != MOTE_OK) return cli_lib_error();
        if (!want_logits) continue;
        for (int j = b0 > first ? b0 : first; j < b0 + nb && j < n - 1; j++) {
            const float *logits = mote_session_logits(s, j - b0);
            if (!logits) return cli_error("no logits for position %d of the chunk", j);
            mote_token target = toks[j + 1];
            if (target < 0 || target >= n_vocab)
                return cli_error("token %d is outside the vocabulary (%d)", (int)target, n_vocab);
            double v = token_nll(logits, n_vocab, target);
            acc->nll += v;
            acc->nll2 += v * v;
            acc->count++;
        }
    }
    return 0;
}

#define PPL_DEFAULT_CTX 512 /* llama.cpp's perplexity tool's default */

int cmd_perplexity(int argc, char **argv)
{
    int n_ctx = 0, n_threads = 0, max_chunks = 0;
    const cli_opt opts[] = {
        {'c', "ctx", ARG_INT, &n_ctx, "N", "chunk length in tokens (default 512, as llama.cpp's)", 4,
         MOTE_N_CTX_MAX, NULL},
        {'t', "threads", ARG_INT, &n_threads, "N", "worker threads (default: all CPUs; more are capped)", 0, MOTE_N_THREADS_MAX,
         NULL},
        {0, "chunks", ARG_INT, &max_chunks, "K", "score at most the first K chunks", 1, 1e9,
         NULL},
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
    if (n_ctx == 0) n_ctx = PPL_DEFAULT_CTX;

    char *text = NULL;
    size_t text_len = 0;
    cli_file_kind kind;
    if (cli_text_kind("text file", &kind) != 0 ||
        cli_read_file(pos[1], &kind, &text, &text_len) != 0)
        return EXIT_LIB;

    mote_model *model = NULL;
    mote_session *session = NULL;
    mote_token *toks = NULL, *chunk = NULL;
    size_t n_toks = 0;
    rc = EXIT_LIB;

    if (cli_open_model(pos[0], 0, &model) != 0) goto done;
    if (cli_tokenize(model, text, text_len, 1, 0, &toks, &n_toks) != 0) goto done;
    size_t n_chunks = n_toks / (size_t)n_ctx;
    if (n_chunks == 0) {
        cli_error("%s has %zu tokens, fewer than one chunk of %d (see -c)", pos[1], n_toks,
                  n_ctx);
        goto done;
    }
    if (max_chunks > 0 && (size_t)max_chunks < n_chunks) n_chunks = (size_t)max_chunks;

    int n_batch = n_ctx < PPL_MAX_BATCH ? n_ctx : PPL_MAX_BATCH;
    mote_session_params sp = mote_session_default_params();
    sp.n_ctx = n_ctx;
    sp.n_threads = n_threads;
    sp.n_batch = n_batch;
    if (mote_session_create(model, &sp, &session) != MOTE_OK) {
        cli_lib_error();
        goto done;
    }
    chunk = malloc((size_t)n_ctx * sizeof *chunk);
    if (!chunk) {
        cli_error("out of memory");
        goto done;
    }

    /* BOS replaces each chunk's first token only if the tokenizer adds it. */
    mote_token bos = mote_token_bos(model);
    int add_bos = bos >= 0 && toks[0] == bos;
    int n_vocab = mote_vocab_size(model);
    fprintf(stderr, "perplexity: %zu tokens, %zu chunks of %d, scoring %d tokens per chunk\n",
            n_toks, n_chunks, n_ctx, n_ctx - 1 - n_ctx / 2);

    nll_sum acc = {0};
    double t0 = cli_now();
    for (size_t c = 0; c < n_chunks; c++) {
        memcpy(chunk, toks + c * (size_t)n_ctx, (size_t)n_ctx * sizeof *chunk);
        if (add_bos) chunk[0] = bos;
        if (score_chunk(session, chunk, n_ctx, n_batch, n_vocab, &acc) != 0) goto done;
        fprintf(stderr, "[%zu]%.4f,", c + 1, exp(acc.nll / (double)acc.count));
        fflush(stderr);
    }
    double secs = cli_now() - t0;
    fprintf(stderr, "\n%.2f s, %.1f tokens/s\n", secs,
            secs > 0 ? (double)(n_chunks * (size_t)n_ctx) / secs : 0.0);

    double mean = acc.nll / (double)acc.count;
    double ppl = exp(mean);
    double var = acc.nll2 / (double)acc.count - mean * mean;
    if (acc.count > 1 && var > 0)
        printf("Final estimate: PPL = %.4f +/- %.5f\n", ppl,
               ppl * sqrt(var / (double)(acc.count - 1)));
    else
        printf("Final estimate: PPL = %.4f\n", ppl);
    rc = 0;

done:
    free(chunk);
    if (session) mote_session_free(session);
    free(toks);
    if (model) mote_model_close(model);
    free(text);
    return rc;
}
