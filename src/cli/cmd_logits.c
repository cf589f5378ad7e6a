/*
 * cmd_logits.c — `mote logits`: the logits at every position of a given
 * token sequence (teacher forcing), what the golden tests compare with
 * llama.cpp's, as a verb: any model can be checked against llama.cpp by
 * hand.
 *
 * The ids are evaluated in one of two ways:
 *   - by default as one batch (in pieces of the session's n_batch), every
 *     position's logits kept: the matrix path a prompt or a perplexity
 *     chunk takes;
 *   - with --prompt N, the first N ids as one batch and every later id
 *     alone, fed one at a time as generation feeds its tokens back: how
 *     llama.cpp computed ../shared/golden (the prompt, then the greedy ids),
 *     so those lines compare on the generation path.
 * Each position prints one line: the position, a tab, and the K largest
 * logits as ID:LOGIT, best first (ties to the lower id), %.6g as in the
 * goldens' topk files.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define DEFAULT_TOP_K 10
/* Most ids evaluated in one forward pass (the session's n_batch): the
 * logits kept at a time are one piece's, however long the sequence. */
#define LOGITS_BATCH 512
/* Up to this K the best are kept by insertion; above, all ids are sorted. */
#define INSERTION_TOP_K 64

/* ------------------------------------------------------------------------
 * The ids
 * ---------------------------------------------------------------------- */

/* Parse the white-space separated ids of text into a malloc'd array. 0, or
 * -1 with why (a sentence naming the word) filled. Ids are checked against
 * the vocabulary later, once the model is open. */
static int parse_ids(const char *text, mote_token **out, int *n, char *why, size_t cap)
{
    size_t words = 0;
    for (const char *p = text; *p;) {
        while (isspace((unsigned char)*p)) p++;
        if (!*p) break;
        words++;
        while (*p && !isspace((unsigned char)*p)) p++;
    }
    if (words == 0) {
        snprintf(why, cap, "no ids given");
        return -1;
    }
    if (words > (size_t)MOTE_N_CTX_MAX) {
        snprintf(why, cap, "%zu ids, more than a context holds (%d)", words, MOTE_N_CTX_MAX);
        return -1;
    }
    mote_token *ids = malloc(words * sizeof *ids);
    if (!ids) {
        snprintf(why, cap, "out of memory for %zu ids", words);
        return -1;
    }
    int count = 0;
    for (const char *p = text; *p;) {
        while (isspace((unsigned char)*p)) p++;
        if (!*p) break;
        const size_t len = strcspn(p, " \t\n\v\f\r");
        char word[24];
        int v, digits = 1;
        for (size_t i = (*p == '-' || *p == '+'); i < len; i++) digits &= isdigit((unsigned char)p[i]) != 0;
        snprintf(word, sizeof word, "%.*s", (int)len, p);
        if (len >= sizeof word || parse_int(word, &v) != 0) {
            if (digits && len > 1) snprintf(why, cap, "id %.*s is out of range", (int)(len < 64 ? len : 64), p);
            else snprintf(why, cap, "'%.*s' is not a token id (an integer)", (int)(len < 64 ? len : 64), p);
            free(ids);
            return -1;
        }
        ids[count++] = v;
        p += len;
    }
    *out = ids;
    *n = count;
    return 0;
}

/* The index of the first id outside [0, n_vocab), or -1. */
static int first_bad_id(const mote_token *ids, int n, int n_vocab)
{
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= n_vocab) return i;
    return -1;
}

/* ------------------------------------------------------------------------
 * The K best logits of a position
 * ---------------------------------------------------------------------- */

typedef struct scored {
    float logit;
    int id;
} scored;

/* a before b: the larger logit, then the lower id; NaN after everything. */
static int ranks_before(const scored *a, const scored *b)
{
    if (isnan(a->logit)) return 0;
    if (isnan(b->logit)) return 1;
    return a->logit > b->logit || (a->logit == b->logit && a->id < b->id);
}

static int cmp_scored(const void *pa, const void *pb)
{
    const scored *a = pa, *b = pb;
    return ranks_before(a, b) ? -1 : ranks_before(b, a) ? 1 : 0;
}

/* The k best of logits[0..n_vocab) into best[0..k), best first; best has
 * room for n_vocab entries (a large k sorts them all). */
static void top_k(const float *logits, int n_vocab, int k, scored *best)
{
    if (k > INSERTION_TOP_K) {
        for (int i = 0; i < n_vocab; i++) best[i] = (scored){logits[i], i};
        qsort(best, (size_t)n_vocab, sizeof *best, cmp_scored);
        return;
    }
    int n = 0;
    for (int i = 0; i < n_vocab; i++) {
        const scored s = {logits[i], i};
        if (n == k && !ranks_before(&s, &best[k - 1])) continue;
        int at = n < k ? n++ : k - 1;
        while (at > 0 && ranks_before(&s, &best[at - 1])) {
            best[at] = best[at - 1];
            at--;
        }
        best[at] = s;
    }
}

static void print_position(int pos, const float *logits, int n_vocab, int k, scored *best)
{
    top_k(logits, n_vocab, k, best);
    printf("%d\t", pos);
    for (int j = 0; j < k; j++) printf(j ? " %d:%.6g" : "%d:%.6g", best[j].id, (double)best[j].logit);
    putchar('\n');
}

/* Evaluate ids[0..n) at positions from `from` on, one call, all logits
 * kept, and print every position. 0 or EXIT_LIB. */
static int eval_and_print(mote_session *s, const mote_token *ids, int n, int from, int n_vocab, int k,
                          scored *best)
{
    if (cli_interrupted()) return EXIT_INTERRUPTED;
    if (mote_session_eval(s, ids, n, 1) != MOTE_OK) return cli_interrupted() ? EXIT_INTERRUPTED : cli_lib_error();
    for (int i = 0; i < n; i++) {
        const float *logits = mote_session_logits(s, i);
        if (!logits) return cli_error("no logits for position %d", from + i);
        print_position(from + i, logits, n_vocab, k, best);
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * The verb
 * ---------------------------------------------------------------------- */

int cmd_logits(int argc, char **argv)
{
    const char *ids_text = NULL, *ids_file = NULL, *kv_name = "f16";
    int k = DEFAULT_TOP_K, n_threads = 0, n_ctx = 0, n_prompt = 0, kv_type = MOTE_KV_F16;
    const cli_opt opts[] = {
        {0, "ids", ARG_STRING, &ids_text, "\"ID ...\"", "the token ids, separated by white space", 0, 0, NULL},
        {'f', "file", ARG_STRING, &ids_file, "FILE", "read the ids from FILE (- = stdin) instead", 0, 0, NULL},
        {0, "top-k", ARG_INT, &k, "K", "the K largest logits per position (default 10)", 1, 1e9, NULL},
        {0, "prompt", ARG_INT, &n_prompt, "N", "step mode: N ids as one batch, the rest one at a time", 1,
         MOTE_N_CTX_MAX, NULL},
        {0, "kv-type", ARG_STRING, &kv_name, "TYPE", KV_TYPE_HELP, 0, 0, NULL},
        {'t', "threads", ARG_INT, &n_threads, "N", "worker threads (default: all CPUs; more are capped)", 0,
         MOTE_N_THREADS_MAX, NULL},
        {'c', "ctx", ARG_INT, &n_ctx, "N", "context length (default: the number of ids)", 0, MOTE_N_CTX_MAX,
         NULL},
        {0},
    };
    const char *pos[1] = {NULL};
    const cli_spec spec = {
        .verb = "logits",
        .usage = "MODEL (--ids \"ID ...\" | -f FILE) [--top-k K] [--prompt N] [options]",
        .about = "Teacher forcing: evaluate a sequence of token ids and print, for every position,\n"
                 "the K largest logits (those that predict the next id) on one line:\n"
                 "POS<TAB>ID:LOGIT ID:LOGIT ..., best first, ties to the lower id, LOGIT as %.6g.\n"
                 "Positions count from 0; the line of position i follows ids 0..i.",
        .notes = "Without --prompt the ids are one batch (in pieces of 512), every position's\n"
                 "logits kept: the matrix path a prompt takes. --prompt N evaluates the first N\n"
                 "ids as one batch and feeds the others one at a time, as generation does: how\n"
                 "llama.cpp made mote's goldens (prompt, then the greedy ids). --prompt 1 feeds\n"
                 "every id alone. The goldens used an F32 KV cache and a context of 512: compare\n"
                 "with --kv-type f32 -c 512 (the context picks phi3's LongRoPE factor set).\n"
                 "Ids outside [0, vocabulary size) are refused, naming the id.",
        .opts = opts,
        .min_pos = 1,
        .max_pos = 1,
        .pos = pos,
    };
    int n_pos;
    int rc = args_parse(&spec, argc, argv, &n_pos);
    if (rc != ARGS_CONTINUE) return rc;
    cli_check_threads(n_threads);
    if ((rc = cli_kv_type(&spec, kv_name, &kv_type)) != 0) return rc;
    if (!ids_text == !ids_file) return args_usage_error(&spec, "give the ids with exactly one of --ids and -f");

    char why[160];
    const char *source = ids_file && strcmp(ids_file, "-") == 0 ? "stdin" : ids_file; /* for messages */
    mote_token *ids = NULL;
    int n = 0;
    if (ids_text) {
        if (parse_ids(ids_text, &ids, &n, why, sizeof why) != 0) return args_usage_error(&spec, "--ids: %s", why);
    } else {
        char *file_text = NULL;
        size_t len;
        cli_file_kind kind;
        if (cli_text_kind("file of token ids", &kind) != 0 || cli_read_file(ids_file, &kind, &file_text, &len) != 0)
            return EXIT_LIB;
        rc = parse_ids(file_text, &ids, &n, why, sizeof why);
        free(file_text);
        if (rc != 0) return cli_error("%s: %s", source, why);
    }
    if (n_prompt > n) {
        free(ids);
        return args_usage_error(&spec, "--prompt %d is more than the %d ids", n_prompt, n);
    }

    mote_model *model = NULL;
    mote_session *session = NULL;
    scored *best = NULL;
    rc = EXIT_LIB;
    cli_catch_interrupt();
    if (cli_open_model(pos[0], 0, &model) != 0) goto done;
    const int n_vocab = mote_vocab_size(model);
    const int bad = first_bad_id(ids, n, n_vocab);
    if (bad >= 0) {
        if (ids_text)
            rc = args_usage_error(&spec, "--ids: id %d (position %d) is outside the vocabulary: ids are in [0, %d)",
                                  (int)ids[bad], bad, n_vocab);
        else
            cli_error("%s: id %d (position %d) is outside the vocabulary: ids are in [0, %d)", source,
                      (int)ids[bad], bad, n_vocab);
        goto done;
    }
    if (k > n_vocab) {
        rc = args_usage_error(&spec, "--top-k %d is more than the vocabulary (%d tokens)", k, n_vocab);
        goto done;
    }
    const int ctx = n_ctx > 0 ? n_ctx : n;
    if (n > ctx) {
        cli_error("the %d ids do not fit the context of %d tokens (see -c)", n, ctx);
        goto done;
    }
    cli_check_ctx(model, ctx);

    cli_progress prog;
    mote_session_params sp = cli_session_params(&prog, "logits", ctx, n_threads, kv_type);
    sp.n_batch = LOGITS_BATCH;
    if (mote_session_create(model, &sp, &session) != MOTE_OK) {
        cli_lib_error();
        goto done;
    }
    best = malloc((size_t)(k > INSERTION_TOP_K ? n_vocab : k) * sizeof *best);
    if (!best) {
        cli_error("out of memory");
        goto done;
    }

    /* The batch in pieces of LOGITS_BATCH (as mote_session_eval cuts it),
     * then, in step mode, the rest one id at a time. */
    const int n_first = n_prompt > 0 ? n_prompt : n;
    rc = 0;
    for (int b0 = 0; rc == 0 && b0 < n_first; b0 += LOGITS_BATCH) {
        const int m = n_first - b0 < LOGITS_BATCH ? n_first - b0 : LOGITS_BATCH;
        rc = eval_and_print(session, ids + b0, m, b0, n_vocab, k, best);
    }
    for (int i = n_first; rc == 0 && i < n; i++) rc = eval_and_print(session, ids + i, 1, i, n_vocab, k, best);
    fflush(stdout);
    if (rc == EXIT_INTERRUPTED) fprintf(stderr, "mote: interrupted (Ctrl-C)\n");
    if (rc == 0 && ferror(stdout)) rc = cli_error("could not write to stdout");

done:
    free(best);
    if (session) mote_session_free(session);
    if (model) mote_model_close(model);
    free(ids);
    return rc;
}
