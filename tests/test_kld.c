/*
 * test_kld.c — mote_kld and mote_perplexity (src/toolkit/kld.c,
 * perplexity.c, textchunks.c) on the shared TinyStories-656K files:
 * a model against itself gives KLD 0, same top 100% and ratio 1 exactly;
 * every statistic equals a plain computation here from full logits read
 * through the public session API; PPL(base) is mote_perplexity's and
 * within 1% of llama.cpp's golden perplexities; Q4_0 strays further than
 * Q8_0; different vocabularies, short texts, missing files and
 * cancelling are refused; and where bench/build/llama-kld is built (make
 * -C bench), llama.cpp's logits on the same chunks give the same numbers.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mote_tools.h"
#include "testutil.h"

#define STORY "golden/story.txt"
#define F32 "models/TinyStories-656K-F32.gguf"
#define F16 "models/TinyStories-656K.f16.gguf"
#define Q8_0 "models/TinyStories-656K-Q8_0.gguf"
#define Q4_0 "models/TinyStories-656K-Q4_0.gguf"
#define OTHER_VOCAB "models/stories260K.gguf"
#define GOLDEN_CTX 128 /* golden/perplexity.tsv's context */
#define REL_TOL 1e-6   /* mote_kld against the plain computation */

static char *shared_copy(const char *rel)
{
    const char *p = shared_path(rel);
    assert_non_null(p);
    return strdup(p);
}

/* mote_kld over story.txt with chunks of n_ctx; the status. */
static mote_status run_kld(const char *base, const char *cand, int n_ctx, mote_kld_result *r)
{
    char *b = shared_copy(base), *c = shared_copy(cand), *t = shared_copy(STORY);
    mote_kld_params p = mote_kld_default_params();
    p.base_path = b;
    p.cand_path = c;
    p.text_path = t;
    p.n_ctx = n_ctx;
    p.n_threads = 2;
    mote_status st = mote_kld(&p, r);
    free(b);
    free(c);
    free(t);
    return st;
}

/* ------------------------------------------------------------------------
 * The plain computation: whole chunks' logits, then textbook statistics
 * ---------------------------------------------------------------------- */

typedef struct plain {
    int n;                     /* scored tokens */
    double *kld, *dp;          /* (n) */
    double *nll_base, *nll;    /* (n) */
    int same_top;
} plain;

/* log softmax of v into out, in long double. */
static void log_softmax(const float *v, int n, long double *out)
{
    long double max = v[0], sum = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > max) max = v[i];
    for (int i = 0; i < n; i++) sum += expl((long double)v[i] - max);
    for (int i = 0; i < n; i++) out[i] = (long double)v[i] - max - logl(sum);
}

static int argmax(const float *v, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return best;
}

/* Every chunk of story.txt through both models, all logits kept. */
static void plain_run(const char *base_rel, const char *cand_rel, int n_ctx, plain *out)
{
    mote_model *m[2];
    char *paths[2] = {shared_copy(base_rel), shared_copy(cand_rel)};
    for (int k = 0; k < 2; k++) assert_int_equal(mote_model_open(paths[k], NULL, &m[k]), MOTE_OK);
    size_t len, n_toks;
    char *text = read_file(shared_path(STORY), &len);
    assert_non_null(text);
    assert_int_equal(mote_tokenize(m[0], text, len, 1, 0, NULL, 0, &n_toks), MOTE_E_RANGE);
    mote_token *toks = malloc(n_toks * sizeof *toks);
    assert_int_equal(mote_tokenize(m[0], text, len, 1, 0, toks, n_toks, &n_toks), MOTE_OK);
    const int n_vocab = mote_vocab_size(m[0]), n_chunks = (int)(n_toks / (size_t)n_ctx);
    const int first = n_ctx / 2, per_chunk = n_ctx - 1 - first;
    assert_true(n_chunks >= 1);
    assert_int_equal(toks[0], mote_token_bos(m[0]));

    mote_session *s[2];
    mote_session_params sp = mote_session_default_params();
    sp.n_ctx = n_ctx;
    sp.n_batch = n_ctx;
    sp.n_threads = 1;
    for (int k = 0; k < 2; k++) assert_int_equal(mote_session_create(m[k], &sp, &s[k]), MOTE_OK);

    *out = (plain){0};
    const size_t cap = (size_t)n_chunks * (size_t)per_chunk;
    out->kld = calloc(cap, sizeof(double));
    out->dp = calloc(cap, sizeof(double));
    out->nll_base = calloc(cap, sizeof(double));
    out->nll = calloc(cap, sizeof(double));
    float *logits[2] = {malloc((size_t)n_ctx * n_vocab * sizeof(float)),
                        malloc((size_t)n_ctx * n_vocab * sizeof(float))};
    long double *lp[2] = {malloc(n_vocab * sizeof(long double)), malloc(n_vocab * sizeof(long double))};
    mote_token *chunk = malloc((size_t)n_ctx * sizeof *chunk);
    for (int c = 0; c < n_chunks; c++) {
        memcpy(chunk, toks + (size_t)c * n_ctx, (size_t)n_ctx * sizeof *chunk);
        chunk[0] = mote_token_bos(m[0]);
        for (int k = 0; k < 2; k++) {
            assert_int_equal(mote_session_truncate(s[k], 0), MOTE_OK);
            assert_int_equal(mote_session_eval(s[k], chunk, n_ctx, 1), MOTE_OK);
            for (int j = 0; j < n_ctx; j++)
                memcpy(logits[k] + (size_t)j * n_vocab, mote_session_logits(s[k], j), n_vocab * sizeof(float));
        }
        for (int j = first; j < n_ctx - 1; j++) {
            const float *lb = logits[0] + (size_t)j * n_vocab, *lc = logits[1] + (size_t)j * n_vocab;
            log_softmax(lb, n_vocab, lp[0]);
            log_softmax(lc, n_vocab, lp[1]);
            long double kld = 0;
            for (int i = 0; i < n_vocab; i++) kld += expl(lp[0][i]) * (lp[0][i] - lp[1][i]);
            const int next = chunk[j + 1];
            out->kld[out->n] = (double)kld;
            out->dp[out->n] = (double)(expl(lp[1][next]) - expl(lp[0][next]));
            out->nll_base[out->n] = (double)-lp[0][next];
            out->nll[out->n] = (double)-lp[1][next];
            out->same_top += argmax(lb, n_vocab) == argmax(lc, n_vocab);
            out->n++;
        }
    }
    for (int k = 0; k < 2; k++) {
        mote_session_free(s[k]);
        mote_model_close(m[k]);
        free(logits[k]);
        free(lp[k]);
        free(paths[k]);
    }
    free(chunk);
    free(toks);
    free(text);
}

static void plain_free(plain *p)
{
    free(p->kld);
    free(p->dp);
    free(p->nll_base);
    free(p->nll);
}

static double mean(const double *v, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += v[i];
    return s / n;
}

/* Standard error of the mean of v, two-pass. */
static double std_err(const double *v, int n)
{
    const double m = mean(v, n);
    double s = 0;
    for (int i = 0; i < n; i++) s += (v[i] - m) * (v[i] - m);
    return sqrt(s / n / (n - 1));
}

/* Covariance of the means of a and b, two-pass. */
static double cov_of_means(const double *a, const double *b, int n)
{
    const double ma = mean(a, n), mb = mean(b, n);
    double s = 0;
    for (int i = 0; i < n; i++) s += (a[i] - ma) * (b[i] - mb);
    return s / n / (n - 1);
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* The value at rank q (n - 1) of v (sorted here), linear in between. */
static double at_rank(double *v, int n, double q)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    double r = q * (n - 1);
    int lo = (int)floor(r);
    int hi = lo + 1 < n ? lo + 1 : n - 1;
    return v[lo] + (r - lo) * (v[hi] - v[lo]);
}

static void expect_close(const char *what, double got, double want)
{
    double tol = REL_TOL * fmax(fabs(got), fabs(want)) + 1e-12;
    if (!(fabs(got - want) <= tol)) fail_msg("%s: mote_kld %.12g, plain %.12g", what, got, want);
}

static void expect_dist(const char *what, const mote_kld_dist *d, double *v, int n)
{
    char name[64];
    const struct {
        const char *suffix;
        double got, q;
    } rows[] = {
        {"min", d->min, 0},        {"p0.1", d->p0_1, 0.001}, {"p1", d->p1, 0.01},      {"p5", d->p5, 0.05},
        {"p10", d->p10, 0.1},      {"p25", d->p25, 0.25},    {"median", d->median, 0.5}, {"p75", d->p75, 0.75},
        {"p90", d->p90, 0.9},      {"p95", d->p95, 0.95},    {"p99", d->p99, 0.99},    {"p99.9", d->p99_9, 0.999},
        {"max", d->max, 1},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        snprintf(name, sizeof name, "%s %s", what, rows[i].suffix);
        expect_close(name, rows[i].got, at_rank(v, n, rows[i].q));
    }
    snprintf(name, sizeof name, "%s mean", what);
    expect_close(name, d->mean, mean(v, n));
    snprintf(name, sizeof name, "%s mean error", what);
    expect_close(name, d->mean_err, std_err(v, n));
}

/* Every statistic of mote_kld against the plain computation. */
static void check_against_plain(const char *cand, int n_ctx, mote_kld_result *r)
{
    assert_int_equal(run_kld(F32, cand, n_ctx, r), MOTE_OK);
    plain p;
    plain_run(F32, cand, n_ctx, &p);
    assert_int_equal(r->n_scored, p.n);
    assert_true(p.n > 100);
    assert_int_equal(r->n_vocab, 2048);

    const double ln_b = mean(p.nll_base, p.n), ln_c = mean(p.nll, p.n);
    const double e_b = std_err(p.nll_base, p.n), e_c = std_err(p.nll, p.n);
    const double cov = cov_of_means(p.nll, p.nll_base, p.n);
    expect_close("PPL(base)", r->ppl_base, exp(ln_b));
    expect_close("PPL(base) error", r->ppl_base_err, exp(ln_b) * e_b);
    expect_close("PPL(cand)", r->ppl_cand, exp(ln_c));
    expect_close("PPL(cand) error", r->ppl_cand_err, exp(ln_c) * e_c);
    expect_close("ln ratio", r->ln_ratio, ln_c - ln_b);
    expect_close("ln ratio error", r->ln_ratio_err, sqrt(e_b * e_b + e_c * e_c - 2 * cov));
    expect_close("ratio", r->ratio, exp(ln_c - ln_b));
    expect_close("correlation", r->cor, cov / (e_b * e_c));
    expect_close("PPL difference", r->diff, exp(ln_c) - exp(ln_b));

    double *sq = malloc(p.n * sizeof *sq);
    for (int i = 0; i < p.n; i++) sq[i] = p.dp[i] * p.dp[i];
    expect_close("dp RMS", r->dp_rms, sqrt(mean(sq, p.n)));
    expect_close("dp RMS error", r->dp_rms_err, 0.5 / sqrt(mean(sq, p.n)) * std_err(sq, p.n));
    free(sq);
    const double same = (double)p.same_top / p.n;
    expect_close("same top", r->same_top, same);
    expect_close("same top error", r->same_top_err, sqrt(same * (1 - same) / (p.n - 1)));
    expect_dist("KLD", &r->kld, p.kld, p.n);
    expect_dist("dp", &r->dp, p.dp, p.n);
    plain_free(&p);
}

/* ------------------------------------------------------------------------
 * Tests
 * ---------------------------------------------------------------------- */

static void test_self_is_zero(void **state)
{
    SKIP_WITHOUT_SHARED();
    mote_kld_result r;
    assert_int_equal(run_kld(F32, F32, GOLDEN_CTX, &r), MOTE_OK);
    assert_true(r.n_scored > 100);
    assert_true(r.kld.mean == 0.0 && r.kld.max == 0.0 && r.kld.min == 0.0 && r.kld.p99 == 0.0);
    assert_true(r.dp.mean == 0.0 && r.dp.max == 0.0 && r.dp.min == 0.0 && r.dp_rms == 0.0);
    assert_true(r.same_top == 1.0 && r.same_top_err == 0.0);
    assert_true(r.ratio == 1.0 && r.ln_ratio == 0.0 && r.diff == 0.0);
    assert_true(r.ppl_base == r.ppl_cand && r.ppl_base > 1.0);
}

static void test_q8_0_against_plain(void **state)
{
    SKIP_WITHOUT_SHARED();
    mote_kld_result r;
    check_against_plain(Q8_0, GOLDEN_CTX, &r);
    assert_true(r.kld.mean > 0);
}

static void test_q4_0_against_plain(void **state)
{
    SKIP_WITHOUT_SHARED();
    mote_kld_result r;
    check_against_plain(Q4_0, 64, &r); /* another chunking too */
}

/* PPL(base) is mote_perplexity's to the bit, which is llama.cpp's to 1%
 * (golden/perplexity.tsv: F16 and Q8_0 at -c 128, F32 KV cache). */
static void test_ppl_matches_perplexity(void **state)
{
    SKIP_WITHOUT_SHARED();
    mote_kld_result r;
    assert_int_equal(run_kld(F16, Q8_0, GOLDEN_CTX, &r), MOTE_OK);
    mote_model *m;
    assert_int_equal(mote_model_open(shared_path(F16), NULL, &m), MOTE_OK);
    size_t len;
    char *text = read_file(shared_path(STORY), &len);
    mote_ppl_params pp = mote_ppl_default_params();
    pp.n_ctx = GOLDEN_CTX;
    mote_ppl_result ppl;
    assert_int_equal(mote_perplexity(m, text, len, &pp, &ppl), MOTE_OK);
    assert_true(r.ppl_base == ppl.ppl);
    assert_int_equal(r.n_scored, ppl.n_scored);
    assert_int_equal(r.n_chunks, ppl.n_chunks);
    free(text);
    mote_model_close(m);

    /* llama.cpp's goldens: model, context, PPL */
    char *tsv = read_file(shared_path("golden/perplexity.tsv"), NULL);
    assert_non_null(tsv);
    int seen = 0;
    for (char *line = strtok(tsv, "\n"); line; line = strtok(NULL, "\n")) {
        char file[200];
        int ctx;
        double want;
        if (sscanf(line, "%199[^\t]\t%d\t%lf", file, &ctx, &want) != 3 || ctx != GOLDEN_CTX) continue;
        double got = strcmp(file, "TinyStories-656K.f16.gguf") == 0   ? r.ppl_base
                     : strcmp(file, "TinyStories-656K-Q8_0.gguf") == 0 ? r.ppl_cand
                                                                       : -1;
        if (got < 0) continue;
        if (!(fabs(got - want) <= 0.01 * want)) fail_msg("%s: PPL %f, llama.cpp %f", file, got, want);
        seen++;
    }
    free(tsv);
    assert_int_equal(seen, 2);
}

static void test_q4_0_strays_further(void **state)
{
    SKIP_WITHOUT_SHARED();
    mote_kld_result q8, q4;
    assert_int_equal(run_kld(F32, Q8_0, GOLDEN_CTX, &q8), MOTE_OK);
    assert_int_equal(run_kld(F32, Q4_0, GOLDEN_CTX, &q4), MOTE_OK);
    print_message("[  INFO    ] KLD Q8_0 %.6f, Q4_0 %.6f; same top %.2f%%, %.2f%%\n", q8.kld.mean, q4.kld.mean,
                  100 * q8.same_top, 100 * q4.same_top);
    assert_true(q8.kld.mean > 0);
    assert_true(q4.kld.mean > q8.kld.mean);
    assert_true(q4.kld.p99 > q8.kld.p99);
    assert_true(q4.same_top < q8.same_top);
}

static void test_refusals(void **state)
{
    SKIP_WITHOUT_SHARED();
    mote_kld_result r;
    assert_int_equal(mote_kld(NULL, &r), MOTE_E_INVALID);
    mote_kld_params p = mote_kld_default_params();
    assert_int_equal(mote_kld(&p, &r), MOTE_E_INVALID);

    /* different vocabularies */
    assert_int_equal(run_kld(F32, OTHER_VOCAB, GOLDEN_CTX, &r), MOTE_E_UNSUPPORTED);
    assert_non_null(strstr(mote_last_error(), "vocabulary"));
    /* an embedding model has no next-token distribution */
    assert_int_equal(run_kld("models/synth-bert-F32.gguf", F32, GOLDEN_CTX, &r), MOTE_E_INVALID);
    assert_non_null(strstr(mote_last_error(), "embedding"));

    /* missing files */
    char *f32 = shared_copy(F32), *story = shared_copy(STORY);
    p.base_path = "/nonexistent/base.gguf";
    p.cand_path = f32;
    p.text_path = story;
    assert_int_equal(mote_kld(&p, &r), MOTE_E_IO);
    assert_non_null(strstr(mote_last_error(), "base"));
    p.base_path = f32;
    p.cand_path = "/nonexistent/cand.gguf";
    assert_int_equal(mote_kld(&p, &r), MOTE_E_IO);
    assert_non_null(strstr(mote_last_error(), "candidate"));
    p.cand_path = f32;
    p.text_path = "/nonexistent/text.txt";
    assert_int_equal(mote_kld(&p, &r), MOTE_E_IO);

    /* a text shorter than one chunk */
    p.text_path = NULL;
    p.text = "Once upon a time";
    p.text_len = strlen(p.text);
    assert_int_equal(mote_kld(&p, &r), MOTE_E_RANGE);
    assert_non_null(strstr(mote_last_error(), "fewer than one chunk"));
    /* chunks too short to score a token */
    p.text_path = story;
    p.text = NULL;
    p.text_len = 0;
    p.n_ctx = 3;
    assert_int_equal(mote_kld(&p, &r), MOTE_E_INVALID);
    free(f32);
    free(story);
}

/* Progress after each chunk with the running means; cancelling stops. */
typedef struct progress_log {
    int calls;
    uint64_t last_done, total;
    int cancel_at; /* call that cancels, 0: never */
    const mote_kld_result *r;
    int64_t scored_seen;
} progress_log;

static int log_progress(void *user, uint64_t done, uint64_t total)
{
    progress_log *l = user;
    l->calls++;
    assert_true(done == 0 || done > l->last_done);
    l->last_done = done;
    l->total = total;
    l->scored_seen = l->r->n_scored;
    return l->cancel_at != 0 && l->calls == l->cancel_at;
}

static void test_progress_and_cancel(void **state)
{
    SKIP_WITHOUT_SHARED();
    char *b = shared_copy(F32), *c = shared_copy(Q8_0), *t = shared_copy(STORY);
    mote_kld_result r;
    progress_log log = {.r = &r};
    mote_kld_params p = mote_kld_default_params();
    p.base_path = b;
    p.cand_path = c;
    p.text_path = t;
    p.n_ctx = GOLDEN_CTX;
    p.n_chunks = 3;
    p.progress = log_progress;
    p.progress_user = &log;
    assert_int_equal(mote_kld(&p, &r), MOTE_OK);
    assert_int_equal(r.n_chunks, 3);
    assert_int_equal(log.calls, 4); /* before the first chunk and after each */
    assert_true(log.last_done == log.total);
    assert_int_equal(log.scored_seen, 3 * (GOLDEN_CTX - 1 - GOLDEN_CTX / 2));

    log = (progress_log){.r = &r, .cancel_at = 2};
    assert_int_equal(mote_kld(&p, &r), MOTE_E_CANCELLED);
    assert_int_equal(log.calls, 2);
    free(b);
    free(c);
    free(t);
}

/* llama.cpp (bench/llama_kld.c on libllama, its default F16 cache as
 * mote_kld's) on the same chunks: the same PPLs to 0.5%, mean and largest
 * KLD to 5% and 10%, top-1 agreement within 2 points (a near tie that
 * flips moves it by 1/315). The engines' logits differ by float rounding
 * and, for Q8_0, by llama's activation quantization, so not to the bit. */
static void test_against_llama(void **state)
{
    SKIP_WITHOUT_SHARED();
    const char *peer = test_llama_kld("mote kld is not compared with llama.cpp");
    const char *cands[] = {Q8_0, Q4_0};
    for (int i = 0; i < 2; i++) {
        mote_kld_result r;
        assert_int_equal(run_kld(F32, cands[i], GOLDEN_CTX, &r), MOTE_OK);
        char cmd[4096];
        char *b = shared_copy(F32), *c = shared_copy(cands[i]), *t = shared_copy(STORY);
        snprintf(cmd, sizeof cmd, "'%s' '%s' '%s' '%s' %d 2", peer, b, c, t, GOLDEN_CTX);
        free(b);
        free(c);
        free(t);
        FILE *f = popen(cmd, "r");
        assert_non_null(f);
        char out[4096];
        size_t n = fread(out, 1, sizeof out - 1, f);
        out[n] = '\0';
        assert_int_equal(pclose(f), 0);
        assert_int_equal((int64_t)test_json_number(out, "n_scored"), r.n_scored);
        const struct {
            const char *key;
            double mote, rel;
        } rows[] = {
            {"ppl_base", r.ppl_base, 0.005}, {"ppl_cand", r.ppl_cand, 0.005},
            {"kld_mean", r.kld.mean, 0.05},  {"kld_max", r.kld.max, 0.10},
        };
        for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
            const double llama = test_json_number(out, rows[k].key);
            if (!(fabs(rows[k].mote - llama) <= rows[k].rel * llama))
                fail_msg("%s %s: mote %.6g, llama.cpp %.6g", cands[i], rows[k].key, rows[k].mote, llama);
        }
        const double same = test_json_number(out, "same_top");
        if (!(fabs(r.same_top - same) <= 0.02))
            fail_msg("%s same top: mote %.4f, llama.cpp %.4f", cands[i], r.same_top, same);
        print_message("[  INFO    ] %s: KLD mote %.6f, llama.cpp %.6f; same top %.2f%%, %.2f%%\n", cands[i],
                      r.kld.mean, test_json_number(out, "kld_mean"), 100 * r.same_top, 100 * same);
    }
}

int main(void)
{
    test_fix_pool_size();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_self_is_zero),
        cmocka_unit_test(test_q8_0_against_plain),
        cmocka_unit_test(test_q4_0_against_plain),
        cmocka_unit_test(test_ppl_matches_perplexity),
        cmocka_unit_test(test_q4_0_strays_further),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_progress_and_cancel),
        cmocka_unit_test(test_against_llama),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
