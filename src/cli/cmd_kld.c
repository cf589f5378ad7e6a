/*
 * cmd_kld.c — `mote kld BASE CANDIDATE -f TEXT`: how far a candidate model
 * (quantized, pruned, ...) strays from its base on a text: KL divergence,
 * top-1 agreement and the perplexity ratio, from mote_kld, printed like
 * llama-perplexity's --kl-divergence statistics, or as one flat JSON
 * object (--json) for scripts.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "mote_tools.h"

/* The table of a distribution, llama-perplexity's rows: name, fraction of
 * mote_kld_dist, and whether its Δp table shows it too (KLD's omits the
 * quartiles). */
typedef struct dist_row {
    const char *label; /* "99.9%" */
    const char *key;   /* "p99_9", for JSON */
    size_t offset;     /* of the double in mote_kld_dist */
    int quartile;      /* only in the Δp table */
} dist_row;

#define ROW(label, field, q) {label, #field, offsetof(mote_kld_dist, field), q}
static const dist_row dist_rows[] = {
    ROW("Maximum", max, 0), ROW("99.9%  ", p99_9, 0), ROW("99.0%  ", p99, 0), ROW("95.0%  ", p95, 0),
    ROW("90.0%  ", p90, 0), ROW("75.0%  ", p75, 1),   ROW("Median ", median, 0), ROW("25.0%  ", p25, 1),
    ROW("10.0%  ", p10, 0), ROW(" 5.0%  ", p5, 0),    ROW(" 1.0%  ", p1, 0),     ROW(" 0.1%  ", p0_1, 0),
    ROW("Minimum", min, 0),
};
#define N_DIST_ROWS (sizeof dist_rows / sizeof dist_rows[0])

static double dist_at(const mote_kld_dist *d, const dist_row *row)
{
    return *(const double *)((const char *)d + row->offset);
}

static void print_text(const mote_kld_result *r)
{
    printf("====== Perplexity statistics ======\n");
    printf("Mean PPL(Q)                   : %10.6f ± %10.6f\n", r->ppl_cand, r->ppl_cand_err);
    printf("Mean PPL(base)                : %10.6f ± %10.6f\n", r->ppl_base, r->ppl_base_err);
    printf("Cor(ln(PPL(Q)), ln(PPL(base))): %6.2f%%\n", 100.0 * r->cor);
    printf("Mean ln(PPL(Q)/PPL(base))     : %10.6f ± %10.6f\n", r->ln_ratio, r->ln_ratio_err);
    printf("Mean PPL(Q)/PPL(base)         : %10.6f ± %10.6f\n", r->ratio, r->ratio_err);
    printf("Mean PPL(Q)-PPL(base)         : %10.6f ± %10.6f\n", r->diff, r->diff_err);
    printf("\n====== KL divergence statistics ======\n");
    printf("Mean    KLD: %10.6f ± %10.6f\n", r->kld.mean, r->kld.mean_err);
    for (size_t i = 0; i < N_DIST_ROWS; i++)
        if (!dist_rows[i].quartile) printf("%s KLD: %10.6f\n", dist_rows[i].label, dist_at(&r->kld, &dist_rows[i]));
    printf("\n====== Token probability statistics ======\n");
    printf("Mean    Δp: %6.3f ± %5.3f %%\n", 100.0 * r->dp.mean, 100.0 * r->dp.mean_err);
    for (size_t i = 0; i < N_DIST_ROWS; i++)
        printf("%s Δp: %6.3f%%\n", dist_rows[i].label, 100.0 * dist_at(&r->dp, &dist_rows[i]));
    printf("RMS Δp    : %6.3f ± %5.3f %%\n", 100.0 * r->dp_rms, 100.0 * r->dp_rms_err);
    printf("Same top p: %6.3f ± %5.3f %%\n", 100.0 * r->same_top, 100.0 * r->same_top_err);
}

/* One flat object, a key per line: every statistic of mote_kld_result
 * under its field's name (distributions as kld_<field>, dp_<field>);
 * fractions stay fractions. */
static void print_json(const mote_kld_result *r)
{
    printf("{\n  \"n_vocab\": %d,\n  \"n_text_tokens\": %lld,\n  \"n_ctx\": %d,\n  \"n_chunks\": %d,\n"
           "  \"n_scored\": %lld",
           r->n_vocab, (long long)r->n_text_tokens, r->n_ctx, r->n_chunks, (long long)r->n_scored);
    const struct {
        const char *key;
        double v;
    } scalars[] = {
        {"ppl_base", r->ppl_base}, {"ppl_base_err", r->ppl_base_err}, {"ppl_cand", r->ppl_cand},
        {"ppl_cand_err", r->ppl_cand_err}, {"ln_ratio", r->ln_ratio}, {"ln_ratio_err", r->ln_ratio_err},
        {"ratio", r->ratio}, {"ratio_err", r->ratio_err}, {"diff", r->diff}, {"diff_err", r->diff_err},
        {"cor", r->cor}, {"kld_mean", r->kld.mean}, {"kld_mean_err", r->kld.mean_err},
        {"dp_mean", r->dp.mean}, {"dp_mean_err", r->dp.mean_err}, {"dp_rms", r->dp_rms},
        {"dp_rms_err", r->dp_rms_err}, {"same_top", r->same_top}, {"same_top_err", r->same_top_err},
    };
    for (size_t i = 0; i < sizeof scalars / sizeof scalars[0]; i++)
        printf(",\n  \"%s\": %.9g", scalars[i].key, scalars[i].v);
    for (size_t i = 0; i < N_DIST_ROWS; i++) printf(",\n  \"kld_%s\": %.9g", dist_rows[i].key, dist_at(&r->kld, &dist_rows[i]));
    for (size_t i = 0; i < N_DIST_ROWS; i++) printf(",\n  \"dp_%s\": %.9g", dist_rows[i].key, dist_at(&r->dp, &dist_rows[i]));
    printf("\n}\n");
}

/* The progress line, and before the first chunk what will be scored. */
typedef struct kld_report {
    cli_progress bar;
    const mote_kld_result *res; /* filled as chunks are done */
} kld_report;

static int report_progress(void *user, uint64_t done, uint64_t total)
{
    kld_report *k = user;
    const mote_kld_result *r = k->res;
    if (done == 0)
        fprintf(stderr, "kld: %lld tokens, %llu chunks of %d, scoring %d tokens per chunk\n",
                (long long)r->n_text_tokens, (unsigned long long)(total / 2 / (uint64_t)r->n_ctx), r->n_ctx,
                r->n_ctx - 1 - r->n_ctx / 2);
    return cli_progress_fn(&k->bar, done, total);
}

int cmd_kld(int argc, char **argv)
{
    int n_ctx = 0, n_threads = 0, max_chunks = 0, json = 0;
    const char *text_path = NULL, *kv_name = "f16";
    const cli_opt opts[] = {
        {'f', "file", ARG_STRING, &text_path, "TEXT", "the text file both models are scored on (required)", 0, 0,
         NULL},
        CHUNK_OPTS(&n_ctx, &max_chunks, &n_threads),
        {0, "kv-type", ARG_STRING, &kv_name, "T", KV_TYPE_HELP, 0, 0, NULL},
        {0, "json", ARG_FLAG, &json, NULL, "print one JSON object (a key per statistic) instead of the tables", 0, 0,
         NULL},
        {0},
    };
    const char *pos[2] = {NULL, NULL};
    const cli_spec spec = {
        .verb = "kld",
        .usage = "BASE CANDIDATE -f TEXT [-c N] [--chunks K] [-t N] [--json]",
        .about = "How far CANDIDATE's next-token distributions are from BASE's on a text, as\n"
                 "llama-perplexity --kl-divergence measures it: both models evaluate the same\n"
                 "chunks of N tokens (BOS first, an empty cache each), and at every position of\n"
                 "each chunk's second half the KL divergence KL(base || candidate), whether the\n"
                 "most likely tokens agree, and the probability each gives the next token are\n"
                 "compared. Prints PPL(candidate)/PPL(base), KLD mean and percentiles, Δp and\n"
                 "same-top statistics, each mean with its standard error. Both models must\n"
                 "have the same vocabulary.",
        .notes = "With --json every statistic is a key of one flat object: ppl_base, ppl_cand,\n"
                 "ratio, ln_ratio, kld_mean, kld_p99, same_top (a fraction), dp_rms, ... with\n"
                 "_err for standard errors.",
        .opts = opts,
        .min_pos = 2,
        .max_pos = 2,
        .pos = pos,
    };
    int n_pos;
    int rc = args_parse(&spec, argc, argv, &n_pos);
    if (rc != ARGS_CONTINUE) return rc;
    if (!text_path) return args_usage_error(&spec, "missing -f TEXT: the text both models are scored on");
    int kv_type;
    if ((rc = cli_kv_type(&spec, kv_name, &kv_type)) != 0) return rc;
    cli_check_threads(n_threads);

    char base[4096], cand[4096];
    if (cli_model_path(pos[0], base, sizeof base) != 0 || cli_model_path(pos[1], cand, sizeof cand) != 0)
        return EXIT_LIB;
    char *text = NULL;
    size_t text_len = 0;
    cli_file_kind kind;
    if (cli_text_kind("text file", &kind) != 0 || cli_read_file(text_path, &kind, &text, &text_len) != 0)
        return EXIT_LIB;

    cli_catch_interrupt();
    mote_kld_result res;
    kld_report report = {.res = &res};
    cli_progress_init(&report.bar, "kld");
    mote_kld_params kp = mote_kld_default_params();
    kp.base_path = base;
    kp.cand_path = cand;
    kp.text = text;
    kp.text_len = text_len;
    kp.n_ctx = n_ctx;
    kp.n_chunks = max_chunks;
    kp.n_threads = n_threads;
    kp.kv_type = kv_type;
    kp.progress = report_progress;
    kp.progress_user = &report;
    double t0 = cli_now();
    mote_status st = mote_kld(&kp, &res);
    free(text);
    if (st == MOTE_E_CANCELLED) return EXIT_INTERRUPTED;
    if (st == MOTE_E_RANGE && res.n_chunks == 0) return cli_error("%s: %s (see -c)", text_path, mote_last_error());
    if (st != MOTE_OK) return cli_lib_error();
    double secs = cli_now() - t0;
    fprintf(stderr, "kld: %lld tokens scored in %.2f s, %.1f tokens/s per model\n", (long long)res.n_scored, secs,
            secs > 0 ? (double)res.n_chunks * res.n_ctx / secs : 0.0);
    if (json)
        print_json(&res);
    else
        print_text(&res);
    return 0;
}
