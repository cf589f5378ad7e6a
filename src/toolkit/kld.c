/*
 * kld.c — mote_kld: how far a candidate model's next-token distributions
 * are from a base model's on a text, llama-perplexity's --kl-divergence
 * statistics (tools/perplexity/perplexity.cpp: kl_divergence, log_softmax).
 *
 * Both models evaluate the same chunks (textchunks.h) in lockstep, one
 * batch at a time, and every scored position is compared at once: nothing
 * of a model's logits outlives its batch. Unlike llama, which reads the
 * base's log-probs back from a file as 16-bit codes, both distributions
 * are exact here (in double), so a model against itself gives 0.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/mapfile.h"
#include "base/status.h"
#include "toolkit/textchunks.h"

mote_kld_params mote_kld_default_params(void)
{
    return (mote_kld_params){.n_ctx = MOTE_PPL_DEFAULT_CTX, .kv_type = MOTE_KV_F16};
}

/* ------------------------------------------------------------------------
 * Per-token comparison
 * ---------------------------------------------------------------------- */

/* Running sums over the scored tokens (kl_divergence_result in llama). */
typedef struct kld_acc {
    int n_vocab;
    double nll, nll2;           /* candidate's -log p(next) */
    double nll_base, nll_base2; /* base's */
    double nll_nll_base;        /* their product, for the covariance */
    double kld, kld2;
    double dp, dp2, dp4;        /* p_cand(next) - p_base(next) */
    int64_t same_top;
    int64_t count;
    double *kld_values;         /* (capacity) per token, for the percentiles */
    double *dp_values;          /* (capacity) */
} kld_acc;

static mote_status compare_token(void *user, const float *const *logits, mote_token next)
{
    kld_acc *a = user;
    const float *base = logits[0], *cand = logits[1];
    /* The same evaluation as mote_perplexity's, so PPL(base) is its PPL. */
    const double norm_base = text_log_norm(base, a->n_vocab);
    const double norm_cand = text_log_norm(cand, a->n_vocab);
    const double nll_base = norm_base - (double)base[next];
    const double nll = norm_cand - (double)cand[next];
    double kld = 0.0;
    int top_base = 0, top_cand = 0;
    for (int i = 0; i < a->n_vocab; i++) {
        const double lp_base = (double)base[i] - norm_base;
        const double lp_cand = (double)cand[i] - norm_cand;
        kld += exp(lp_base) * (lp_base - lp_cand);
        if (base[i] > base[top_base]) top_base = i;
        if (cand[i] > cand[top_cand]) top_cand = i;
    }
    const double dp = exp(-nll) - exp(-nll_base);

    a->nll += nll;
    a->nll2 += nll * nll;
    a->nll_base += nll_base;
    a->nll_base2 += nll_base * nll_base;
    a->nll_nll_base += nll * nll_base;
    a->kld += kld;
    a->kld2 += kld * kld;
    a->dp += dp;
    a->dp2 += dp * dp;
    a->dp4 += dp * dp * dp * dp;
    a->same_top += top_base == top_cand;
    a->kld_values[a->count] = kld;
    a->dp_values[a->count] = dp;
    a->count++;
    return MOTE_OK;
}

/* ------------------------------------------------------------------------
 * Statistics (llama-perplexity's formulas)
 * ---------------------------------------------------------------------- */

/* Below this many tokens llama reports no uncertainties. */
#define KLD_MIN_COUNT_FOR_ERR 10

typedef struct mean_err {
    double mean, err;
} mean_err;

/* Mean of a quantity from its sum and sum of squares, and its standard
 * error (llama's mean_and_uncertainty). */
static mean_err mean_and_err(double sum, double sum2, int64_t count)
{
    mean_err r = {0, 0};
    if (count < 1) return r;
    r.mean = sum / (double)count;
    double var = sum2 / (double)count - r.mean * r.mean;
    r.err = var > 0 && count > KLD_MIN_COUNT_FOR_ERR ? sqrt(var / (double)(count - 1)) : 0.0;
    return r;
}

/* Covariance of the two means (llama's covariance). */
static double mean_cov(double sum_a, double sum_b, double sum_ab, int64_t count)
{
    if (count < KLD_MIN_COUNT_FOR_ERR) return 0.0;
    const double n = (double)count;
    return (sum_ab / n - (sum_a / n) * (sum_b / n)) / (n - 1);
}

/* sqrt of a variance that rounding may have taken a hair below 0. */
static double sqrt0(double v) { return v > 0 ? sqrt(v) : 0.0; }

/* Everything that follows from the running sums (the distributions'
 * percentiles aside). */
static void fill_moments(const kld_acc *a, mote_kld_result *r)
{
    const int64_t n = a->count;
    r->n_scored = n;
    if (n == 0) return;
    const mean_err ln_cand = mean_and_err(a->nll, a->nll2, n);
    const mean_err ln_base = mean_and_err(a->nll_base, a->nll_base2, n);
    r->ppl_cand = exp(ln_cand.mean);
    r->ppl_cand_err = r->ppl_cand * ln_cand.err;
    r->ppl_base = exp(ln_base.mean);
    r->ppl_base_err = r->ppl_base * ln_base.err;

    const double cov = mean_cov(a->nll, a->nll_base, a->nll_nll_base, n);
    r->cor = ln_cand.err > 0 && ln_base.err > 0 ? cov / (ln_cand.err * ln_base.err) : 0.0;
    r->ln_ratio = ln_cand.mean - ln_base.mean;
    r->ln_ratio_err = sqrt0(ln_cand.err * ln_cand.err + ln_base.err * ln_base.err - 2.0 * cov);
    r->ratio = exp(r->ln_ratio);
    r->ratio_err = r->ratio * r->ln_ratio_err;
    r->diff = r->ppl_cand - r->ppl_base;
    r->diff_err = sqrt0(r->ppl_cand_err * r->ppl_cand_err + r->ppl_base_err * r->ppl_base_err -
                        2.0 * r->ppl_cand * r->ppl_base * cov);

    const mean_err kld = mean_and_err(a->kld, a->kld2, n);
    r->kld.mean = kld.mean;
    r->kld.mean_err = kld.err;
    const mean_err dp = mean_and_err(a->dp, a->dp2, n);
    r->dp.mean = dp.mean;
    r->dp.mean_err = dp.err;
    const mean_err dp_mse = mean_and_err(a->dp2, a->dp4, n);
    r->dp_rms = sqrt0(dp_mse.mean);
    r->dp_rms_err = r->dp_rms > 0 ? 0.5 / r->dp_rms * dp_mse.err : 0.0;

    r->same_top = (double)a->same_top / (double)n;
    r->same_top_err = n > 1 ? sqrt0(r->same_top * (1.0 - r->same_top) / (double)(n - 1)) : 0.0;
}

static int cmp_double(const void *x, const void *y)
{
    const double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* The value at rank q x (n - 1) of sorted v, linear between neighbours
 * (llama's percentile). */
static double percentile(const double *v, int64_t n, double q)
{
    if (q <= 0) return v[0];
    if (q >= 1) return v[n - 1];
    double p = q * (double)(n - 1);
    const int64_t ip = (int64_t)p;
    p -= (double)ip;
    return (1 - p) * v[ip] + p * v[ip + 1 < n ? ip + 1 : n - 1];
}

/* Sort v and fill the order statistics of d. */
static void fill_dist(double *v, int64_t n, mote_kld_dist *d)
{
    if (n == 0) return;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    d->min = v[0];
    d->max = v[n - 1];
    d->median = n % 2 == 0 ? 0.5 * (v[n / 2] + v[n / 2 - 1]) : v[n / 2];
    d->p99_9 = percentile(v, n, 0.999);
    d->p99 = percentile(v, n, 0.99);
    d->p95 = percentile(v, n, 0.95);
    d->p90 = percentile(v, n, 0.90);
    d->p75 = percentile(v, n, 0.75);
    d->p25 = percentile(v, n, 0.25);
    d->p10 = percentile(v, n, 0.10);
    d->p5 = percentile(v, n, 0.05);
    d->p1 = percentile(v, n, 0.01);
    d->p0_1 = percentile(v, n, 0.001);
}

/* ------------------------------------------------------------------------
 * Models
 * ---------------------------------------------------------------------- */

/* The text of token t into *buf (grown), its length in *n. */
static mote_status token_text(const mote_model *m, mote_token t, char **buf, size_t *cap, size_t *n)
{
    mote_status st = mote_token_to_piece(m, t, 1, *buf, *cap, n);
    if (st != MOTE_E_RANGE) return st;
    char *grown = realloc(*buf, *n);
    if (!grown) return mote_fail(MOTE_E_NOMEM, "out of memory for a token's text");
    *buf = grown;
    *cap = *n;
    return mote_token_to_piece(m, t, 1, *buf, *cap, n);
}

/* Refuse two models whose vocabularies differ: their distributions would
 * be over different things. */
static mote_status same_vocab(const mote_model *base, const mote_model *cand, const mote_kld_params *p)
{
    const int n = mote_vocab_size(base);
    if (mote_vocab_size(cand) != n)
        return mote_fail(MOTE_E_UNSUPPORTED, "%s has %d tokens and %s %d: KL divergence needs one vocabulary",
                         p->base_path, n, p->cand_path, mote_vocab_size(cand));
    if (mote_token_bos(base) != mote_token_bos(cand))
        return mote_fail(MOTE_E_UNSUPPORTED, "%s has BOS %d and %s BOS %d: KL divergence needs one vocabulary",
                         p->base_path, (int)mote_token_bos(base), p->cand_path, (int)mote_token_bos(cand));
    char *a = NULL, *b = NULL;
    size_t cap_a = 0, cap_b = 0, na, nb;
    mote_status st = MOTE_OK;
    for (mote_token t = 0; t < n && st == MOTE_OK; t++) {
        if ((st = token_text(base, t, &a, &cap_a, &na)) != MOTE_OK) break;
        if ((st = token_text(cand, t, &b, &cap_b, &nb)) != MOTE_OK) break;
        if (na != nb || (na > 0 && memcmp(a, b, na) != 0))
            st = mote_fail(MOTE_E_UNSUPPORTED, "token %d is \"%.*s\" in %s and \"%.*s\" in %s: KL divergence needs "
                           "one vocabulary", (int)t, (int)(na < 40 ? na : 40), a, p->base_path,
                           (int)(nb < 40 ? nb : 40), b, p->cand_path);
    }
    free(a);
    free(b);
    return st;
}

static mote_status open_lm(const char *path, const char *what, mote_model **out)
{
    mote_status st = mote_model_open(path, NULL, out);
    if (st != MOTE_OK) return mote_fail_prefix(st, "%s model: ", what);
    if (mote_model_embedding_only(*out) || mote_vocab_size(*out) < 1)
        return mote_fail(MOTE_E_INVALID, "%s: an embedding model has no next-token distribution", path);
    return MOTE_OK;
}

/* ------------------------------------------------------------------------
 * mote_kld
 * ---------------------------------------------------------------------- */

/* Everything mote_kld holds, freed in one place. */
typedef struct kld_run {
    mapfile text_file;
    mote_model *base, *cand;
    mote_session *sessions[2]; /* base, candidate */
    text_chunks chunks;
    kld_acc acc;
} kld_run;

static void kld_run_free(kld_run *k)
{
    for (int i = 0; i < 2; i++) mote_session_free(k->sessions[i]);
    text_chunks_free(&k->chunks);
    mote_model_close(k->cand);
    mote_model_close(k->base);
    if (k->text_file.data) mapfile_close(&k->text_file);
    free(k->acc.kld_values);
    free(k->acc.dp_values);
}

static mote_status kld_eval(kld_run *k, const mote_kld_params *p, mote_kld_result *out)
{
    const char *text = p->text;
    size_t len = p->text_len;
    if (!text) {
        MOTE_TRY(mapfile_open(p->text_path, &k->text_file));
        text = (const char *)k->text_file.data;
        len = k->text_file.size;
    }
    MOTE_TRY(open_lm(p->base_path, "base", &k->base));
    MOTE_TRY(open_lm(p->cand_path, "candidate", &k->cand));
    MOTE_TRY(same_vocab(k->base, k->cand, p));

    text_chunks *c = &k->chunks;
    MOTE_TRY(text_chunks_make(k->base, text, len, p->n_ctx ? p->n_ctx : MOTE_PPL_DEFAULT_CTX, p->n_chunks, c));
    out->n_vocab = mote_vocab_size(k->base);
    out->n_text_tokens = (int64_t)c->n_toks;
    out->n_ctx = c->n_ctx;
    const mote_session_params sp = text_chunks_session_params(c, p->n_threads, p->kv_type);
    MOTE_TRY(mote_session_create(k->base, &sp, &k->sessions[0]));
    MOTE_TRY(mote_session_create(k->cand, &sp, &k->sessions[1]));

    const size_t n_values = (size_t)c->n_chunks * (size_t)text_chunks_scored(c);
    k->acc.n_vocab = out->n_vocab;
    k->acc.kld_values = malloc(n_values * sizeof *k->acc.kld_values);
    k->acc.dp_values = malloc(n_values * sizeof *k->acc.dp_values);
    if (!k->acc.kld_values || !k->acc.dp_values)
        return mote_fail(MOTE_E_NOMEM, "out of memory for %zu tokens' statistics", n_values);

    /* Both models evaluate every token of a chunk. */
    const uint64_t per_chunk = 2 * (uint64_t)c->n_ctx, total = per_chunk * (uint64_t)c->n_chunks;
    if (p->progress && p->progress(p->progress_user, 0, total))
        return mote_fail(MOTE_E_CANCELLED, "KL divergence cancelled");
    for (int i = 0; i < c->n_chunks; i++) {
        MOTE_TRY(text_chunk_eval(c, i, k->sessions, 2, compare_token, &k->acc));
        out->n_chunks = i + 1;
        fill_moments(&k->acc, out);
        if (p->progress && p->progress(p->progress_user, per_chunk * (uint64_t)(i + 1), total))
            return mote_fail(MOTE_E_CANCELLED, "KL divergence cancelled after chunk %d of %d", i + 1, c->n_chunks);
    }
    fill_dist(k->acc.kld_values, k->acc.count, &out->kld);
    fill_dist(k->acc.dp_values, k->acc.count, &out->dp);
    return MOTE_OK;
}

mote_status mote_kld(const mote_kld_params *params, mote_kld_result *out)
{
    if (!params || !out || !params->base_path || !params->cand_path || (!params->text && !params->text_path) ||
        (params->text_len > 0 && !params->text) || params->n_ctx < 0 || params->n_chunks < 0)
        return mote_fail(MOTE_E_INVALID, "mote_kld: bad argument");
    memset(out, 0, sizeof *out);
    kld_run k = {0};
    mote_status st = kld_eval(&k, params, out);
    kld_run_free(&k);
    return st;
}
