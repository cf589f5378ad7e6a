/*
 * cmd_run.c — `mote run`: continue a prompt.
 *
 * Tokenize the prompt, then mote_generate_speculative() evaluates it and
 * samples (speculating with --lookup/--draft); each new token's text goes
 * to stdout as it arrives (or, with --ids, its id).
 * Timings go to stderr so stdout holds only the generated text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* Default number of tokens to generate. */
#define DEFAULT_N_PREDICT 128

/* What the streaming callback needs. */
typedef struct run_output {
    int ids;       /* print token ids instead of text */
    int n_printed; /* tokens printed so far (for the id separator) */
} run_output;

static int print_token(void *user, mote_token t, const char *piece, size_t len)
{
    run_output *out = user;
    if (out->ids) {
        printf(out->n_printed ? " %d" : "%d", (int)t);
    } else {
        fwrite(piece, 1, len, stdout);
        fflush(stdout);
    }
    out->n_printed++;
    return ferror(stdout) != 0 || cli_interrupted(); /* stop if stdout is gone or on Ctrl-C */
}

/* Why generation ended, said every time (a reply cut short by the
 * context or by -n must not look like the model's own end). */
static void report_stop(const mote_generate_stats *st, int n_gen, int n_predict, int pos, int ctx)
{
    if (cli_interrupted()) fprintf(stderr, "stopped:    interrupted (Ctrl-C)\n");
    else if (st->stopped_by_eog) fprintf(stderr, "stopped:    end of generation (the model's end token)\n");
    else if (st->n_generated >= n_gen && n_predict >= 0 && n_gen == n_predict)
        fprintf(stderr, "stopped:    length: %d tokens (-n)\n", n_gen);
    else if (pos >= ctx - 1)
        fprintf(stderr, "stopped:    context full: %d tokens (see -c)\n", ctx);
    else fprintf(stderr, "stopped:    after %d tokens\n", st->n_generated);
}

static void report_stats(double load_s, const mote_generate_stats *st, uint64_t seed, const mote_speculative *spec)
{
    fprintf(stderr, "load:       %8.1f ms\n", load_s * 1e3);
    cli_report_generation(st);
    if (cli_spec_on(spec)) cli_report_speculation(st, spec);
    fprintf(stderr, "seed:       %llu\n", (unsigned long long)seed);
}

int cmd_run(int argc, char **argv)
{
    const char *prompt = NULL, *prompt_file = NULL;
    int n_predict = DEFAULT_N_PREDICT, n_threads = 0, n_ctx = 0;
    const char *kv_name = "f16";
    int kv_type = MOTE_KV_F16;
    int ids = 0, no_special = 0, parse_special = 0;
    sample_args sa;
    sample_args_init(&sa);
    spec_args spa = {0};

    const cli_opt opts[] = {
        {'p', "prompt", ARG_STRING, &prompt, "TEXT", "the prompt", 0, 0, NULL},
        {'f', "file", ARG_STRING, &prompt_file, "FILE", "read the prompt from FILE (- = stdin)",
         0, 0, NULL},
        {'n', "n-predict", ARG_INT, &n_predict, "N",
         "tokens to generate (default 128; -1: no limit)", -1, 1e9,
         NULL},
        SAMPLE_OPTS(&sa),
        SPEC_OPTS(&spa),
        {'t', "threads", ARG_INT, &n_threads, "N", "worker threads (default: all CPUs; more are capped)", 0, MOTE_N_THREADS_MAX,
         NULL},
        {'c', "ctx", ARG_INT, &n_ctx, "N", "context length (default: the model's)", 0, MOTE_N_CTX_MAX,
         NULL},
        {0, "kv-type", ARG_STRING, &kv_name, "TYPE", KV_TYPE_HELP, 0, 0, NULL},
        {0, "ids", ARG_FLAG, &ids, NULL, "print the generated token ids instead of the text", 0,
         0, NULL},
        {0, "no-special", ARG_FLAG, &no_special, NULL,
         "do not add BOS/EOS as the vocabulary asks", 0, 0, NULL},
        {0, "parse-special", ARG_FLAG, &parse_special, NULL,
         "recognise special tokens (<s>) in the prompt", 0, 0, NULL},
        {0},
    };
    char notes[1024], defaults[256];
    sample_defaults_text(defaults, sizeof defaults);
    snprintf(notes, sizeof notes,
             "-n -1 generates until an end-of-generation token or a full context.\n"
             "--temp 0 is greedy decoding: the most likely token at every step.\n"
             "--lookup and --draft speculate: the model checks several drafted tokens in one\n"
             "pass; the text is the same as without them, token for token (same --seed).\n"
             "--lookup auto verifies as many of lookup's drafts (at most 8, 0 included) as give\n"
             "the most tokens per time by the pass costs `mote tune MODEL` measured and the\n"
             "share of drafts drawn so far. With --temp 0 and no --lookup it is the default\n"
             "where the profile says it can pay on MODEL (MOTE_TUNE=off or --lookup 0: never).\n%s",
             defaults);
    const char *pos[1] = {NULL};
    const cli_spec spec = {
        .verb = "run",
        .usage = "MODEL (-p TEXT | -f FILE) [options]",
        .about = "Generate text that continues a prompt. The text (or with --ids the token ids)\n"
                 "is printed to stdout as it is generated; timings go to stderr.",
        .notes = notes,
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
    if (!prompt == !prompt_file)
        return args_usage_error(&spec, "give the prompt with exactly one of -p and -f");

    char *file_text = NULL;
    size_t prompt_len = 0;
    if (prompt_file) {
        cli_file_kind kind;
        if (cli_text_kind("prompt file", &kind) != 0 ||
            cli_read_file(prompt_file, &kind, &file_text, &prompt_len) != 0)
            return EXIT_LIB;
        prompt = file_text;
    } else {
        prompt_len = strlen(prompt);
    }

    mote_model *model = NULL, *draft_model = NULL;
    mote_session *session = NULL, *draft_session = NULL;
    mote_speculative speculate;
    mote_sampler *sampler = NULL;
    mote_token *toks = NULL;
    size_t n_toks = 0;
    rc = EXIT_LIB;

    double t0 = cli_now();
    cli_catch_interrupt();
    if (cli_open_model(pos[0], 0, &model) != 0) goto done;
    cli_progress prog;
    mote_session_params sp = cli_session_params(&prog, "prompt", n_ctx, n_threads, kv_type);
    if (mote_session_create(model, &sp, &session) != MOTE_OK) {
        cli_lib_error();
        goto done;
    }
    if (cli_spec_open(&spa, session, n_threads, kv_type, &draft_model, &draft_session, &speculate) != 0) goto done;
    mote_sampler_params smp = sample_args_params(&sa);
    if ((rc = cli_spec_lookup(&spa, model, smp.temp <= 0.0f, &speculate)) != 0) goto done;
    rc = EXIT_LIB;
    double load_s = cli_now() - t0;
    cli_check_ctx(model, n_ctx);

    if (cli_tokenize(model, prompt, prompt_len, !no_special, parse_special, &toks, &n_toks) != 0)
        goto done;
    int ctx = mote_session_n_ctx(session);
    if (n_toks == 0) {
        cli_error("the prompt is empty (no tokens); give some text or leave BOS on");
        goto done;
    }
    if (n_toks >= (size_t)ctx) {
        cli_error("the prompt has %zu tokens and the context holds %d: no room to generate (see -c)", n_toks,
                  ctx);
        goto done;
    }

    if (mote_sampler_create(&smp, mote_vocab_size(model), &sampler) != MOTE_OK) {
        cli_lib_error();
        goto done;
    }
    /* -1: as many as the context leaves room for; mote_generate stops at
     * end of generation before that. */
    int n_gen = n_predict < 0 ? ctx - (int)n_toks : n_predict;

    run_output out = {.ids = ids};
    mote_generate_stats st = {0};
    mote_status gs =
        mote_generate_speculative(session, sampler, &speculate, toks, (int)n_toks, n_gen, print_token, &out, &st);
    if (ids || out.n_printed > 0) putchar('\n');
    fflush(stdout);
    if (cli_interrupted()) { /* the prompt was cancelled, or generation stopped */
        if (gs == MOTE_OK || st.n_generated > 0) report_stats(load_s, &st, smp.seed, &speculate);
        fprintf(stderr, "stopped:    interrupted (Ctrl-C)\n");
        rc = EXIT_INTERRUPTED;
        goto done;
    }
    if (gs != MOTE_OK) {
        cli_lib_error();
        goto done;
    }
    if (ferror(stdout)) {
        cli_error("could not write to stdout");
        goto done;
    }
    report_stats(load_s, &st, smp.seed, &speculate);
    report_stop(&st, n_gen, n_predict, mote_session_pos(session), ctx);
    rc = 0;

done:
    free(toks);
    if (sampler) mote_sampler_free(sampler);
    mote_session_free(draft_session);
    mote_model_close(draft_model);
    if (session) mote_session_free(session);
    if (model) mote_model_close(model);
    free(file_text);
    return rc;
}
