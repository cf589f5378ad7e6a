/*
 * test_sample.c — the token sampler (src/engine/sample.c).
 *
 * Two kinds of check:
 * - exact: sampler_distribution (the chain without the draw) against a plain
 *   reference written here (full sort, no heaps) on random logits and
 *   parameters, and designed cases whose support is known by hand;
 * - statistical: 20000 draws with a fixed seed, Pearson's chi-square against
 *   the expected softmax, rejected at an upper tail of 1e-6 (a correct
 *   sampler fails with that probability per test; a wrong one by miles).
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "engine/sample.h"
#include "testutil.h"

#define N_DRAWS 20000
/* z with P(Z > z) = 1e-6 for a standard normal. */
#define Z_TAIL_1E6 4.753424
#define MIN_EXPECTED 5.0 /* chi-square cells below this are pooled */

/* ------------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------- */

/* Sampling with every filter and penalty off. */
static mote_sampler_params plain_params(float temp, uint64_t seed)
{
    mote_sampler_params p = mote_sampler_default_params();
    p.temp = temp;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.repeat_penalty = 1.0f;
    p.freq_penalty = 0.0f;
    p.presence_penalty = 0.0f;
    p.seed = seed;
    return p;
}

static mote_sampler *make_sampler(const mote_sampler_params *p, int n_vocab)
{
    mote_sampler *smp = NULL;
    assert_int_equal(mote_sampler_create(p, n_vocab, &smp), MOTE_OK);
    assert_non_null(smp);
    return smp;
}

/* softmax(logits / temp) in double. */
static void softmax_ref(const double *logits, int n, double temp, double *out)
{
    double max = -INFINITY, sum = 0.0;
    for (int i = 0; i < n; i++) max = fmax(max, logits[i]);
    for (int i = 0; i < n; i++) sum += out[i] = exp((logits[i] - max) / temp);
    for (int i = 0; i < n; i++) out[i] /= sum;
}

static void to_float(const double *x, int n, float *out)
{
    for (int i = 0; i < n; i++) out[i] = (float)x[i];
}

/* Draw n times; counts[V] gets the histogram. */
static void draw_counts(mote_sampler *smp, const float *logits, int V, int n, int *counts)
{
    memset(counts, 0, (size_t)V * sizeof *counts);
    for (int i = 0; i < n; i++) {
        mote_token t = mote_sampler_sample(smp, logits);
        assert_true(t >= 0 && t < V);
        counts[t]++;
    }
}

/* Wilson–Hilferty approximation of the chi-square quantile with upper tail
 * 1e-6 (slightly generous for df = 1, accurate to a few % above). */
static double chi2_critical(int df)
{
    double a = 2.0 / (9.0 * df);
    double c = 1.0 - a + Z_TAIL_1E6 * sqrt(a);
    return df * c * c * c;
}

/* Pearson's statistic of counts against probs; cells expecting fewer than
 * MIN_EXPECTED draws are pooled. Draws where probs is 0 fail at once. */
static double chi_square(const int *counts, const double *probs, int V, int n, int *df)
{
    double stat = 0.0, pool_exp = 0.0;
    int pool_obs = 0, cells = 0;
    for (int i = 0; i < V; i++) {
        if (probs[i] == 0.0) {
            if (counts[i] != 0)
                fail_msg("token %d drawn %d times but has probability 0", i, counts[i]);
            continue;
        }
        double e = probs[i] * n;
        if (e < MIN_EXPECTED) {
            pool_exp += e;
            pool_obs += counts[i];
            continue;
        }
        stat += (counts[i] - e) * (counts[i] - e) / e;
        cells++;
    }
    if (pool_exp > 0.0) {
        stat += (pool_obs - pool_exp) * (pool_obs - pool_exp) / pool_exp;
        cells++;
    }
    *df = cells - 1;
    return stat;
}

/* The draws fit probs (or, with df 0, all fell on the one possible token). */
static void assert_fits(const int *counts, const double *probs, int V, int n)
{
    int df;
    double stat = chi_square(counts, probs, V, n, &df);
    if (df > 0 && stat >= chi2_critical(df))
        fail_msg("chi-square %.2f >= %.2f (df %d): draws do not fit", stat, chi2_critical(df), df);
}

static int fits(const int *counts, const double *probs, int V, int n)
{
    int df;
    double stat = chi_square(counts, probs, V, n, &df);
    return df > 0 && stat < chi2_critical(df);
}

/* The chain's distribution spread over ids (0 for filtered-out tokens). */
static int distribution_by_id(mote_sampler *smp, const float *logits, int V, double *p_by_id)
{
    mote_token *ids = malloc((size_t)V * sizeof *ids);
    float *probs = malloc((size_t)V * sizeof *probs);
    assert_non_null(ids);
    assert_non_null(probs);
    int n = sampler_distribution(smp, logits, ids, probs, V);
    assert_true(n >= 0 && n <= V);
    for (int i = 0; i < V; i++) p_by_id[i] = 0.0;
    for (int i = 0; i < n; i++) {
        assert_true(ids[i] >= 0 && ids[i] < V);
        assert_true(p_by_id[ids[i]] == 0.0); /* no duplicates */
        p_by_id[ids[i]] = probs[i];
    }
    free(ids);
    free(probs);
    return n;
}

static void assert_probs_near(const double *got, const double *want, int V, double tol)
{
    for (int i = 0; i < V; i++)
        if (fabs(got[i] - want[i]) > tol)
            fail_msg("token %d: probability %.9g, expected %.9g", i, got[i], want[i]);
}

/* Probabilities proportional to w over the ids in keep[0..n), 0 elsewhere. */
static void renormalised(const double *w, int V, const int *keep, int n, double *out)
{
    double s = 0.0;
    for (int i = 0; i < V; i++) out[i] = 0.0;
    for (int j = 0; j < n; j++) s += w[keep[j]];
    for (int j = 0; j < n; j++) out[keep[j]] = w[keep[j]] / s;
}

/* ------------------------------------------------------------------------
 * Reference chain: the sampler's semantics written plainly (full sort)
 * ---------------------------------------------------------------------- */

typedef struct ref_cand {
    float val;
    int id;
} ref_cand;

static int ref_cmp(const void *pa, const void *pb)
{
    const ref_cand *a = pa, *b = pb;
    if (a->val != b->val) return a->val > b->val ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

/* The distribution over ids for logits after history hist[0..n_hist). */
static void ref_distribution(const float *logits, int V, const mote_sampler_params *p,
                             const int *hist, int n_hist, double *p_by_id)
{
    float *x = malloc((size_t)V * sizeof *x);
    int *count = calloc((size_t)V, sizeof *count);
    ref_cand *s = malloc((size_t)V * sizeof *s);
    assert_true(x && count && s);
    memcpy(x, logits, (size_t)V * sizeof *x);
    for (int i = 0; i < V; i++) p_by_id[i] = 0.0;

    int from = n_hist > p->penalty_last_n ? n_hist - p->penalty_last_n : 0;
    for (int j = from; j < n_hist; j++) count[hist[j]]++;
    for (int t = 0; t < V; t++) {
        if (!count[t]) continue;
        if (x[t] <= 0.0f) x[t] *= p->repeat_penalty;
        else x[t] /= p->repeat_penalty;
        x[t] -= (float)count[t] * p->freq_penalty + p->presence_penalty;
    }

    int n = 0;
    for (int i = 0; i < V; i++)
        if (x[i] > -INFINITY) s[n++] = (ref_cand){x[i] < FLT_MAX ? x[i] : FLT_MAX, i};
    if (n > 0) {
        qsort(s, (size_t)n, sizeof *s, ref_cmp);
        if (p->temp <= 0.0f) {
            p_by_id[s[0].id] = 1.0;
        } else {
            if (p->top_k > 0 && p->top_k < n) n = p->top_k;
            float max = s[0].val;
            if (p->top_p < 1.0f) {
                double z = 0.0, cum = 0.0;
                for (int i = 0; i < n; i++) z += expf(s[i].val - max);
                int m = 0;
                while (m < n) {
                    cum += expf(s[m++].val - max);
                    if (cum >= (double)p->top_p * z) break;
                }
                n = m;
            }
            if (p->min_p > 0.0f) {
                float thr = fminf(max + logf(p->min_p), max);
                int m = 1;
                while (m < n && s[m].val >= thr) m++;
                n = m;
            }
            double sum = 0.0;
            for (int i = 0; i < n; i++) sum += expf((s[i].val - max) / p->temp);
            for (int i = 0; i < n; i++) p_by_id[s[i].id] = expf((s[i].val - max) / p->temp) / sum;
        }
    }
    free(x);
    free(count);
    free(s);
}

/* ------------------------------------------------------------------------
 * Parameters and creation
 * ---------------------------------------------------------------------- */

static void test_defaults(void **state)
{
    (void)state;
    mote_sampler_params p = mote_sampler_default_params();
    assert_true(p.temp == 0.8f);
    assert_int_equal(p.top_k, 40);
    assert_true(p.top_p == 0.95f);
    assert_true(p.min_p == 0.05f);
    assert_true(p.repeat_penalty == 1.0f);
    assert_int_equal(p.penalty_last_n, 64);
    assert_true(p.freq_penalty == 0.0f);
    assert_true(p.presence_penalty == 0.0f);
    assert_true(p.seed == 0xFFFFFFFFu);

    mote_sampler *smp = NULL; /* NULL params means the defaults */
    assert_int_equal(mote_sampler_create(NULL, 10, &smp), MOTE_OK);
    /* softmax of 0..9: 9, 8, 7 hold .951 >= top_p .95; min-p keeps >= 6 */
    float logits[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    mote_token ids[10];
    float probs[10];
    assert_int_equal(sampler_distribution(smp, logits, ids, probs, 10), 3);
    assert_int_equal(ids[0], 9);
    assert_int_equal(ids[1], 8);
    assert_int_equal(ids[2], 7);
    mote_token t = mote_sampler_sample(smp, logits);
    assert_true(t >= 7 && t <= 9);
    mote_sampler_free(smp);
    mote_sampler_free(NULL);
}

static void test_create_rejects_bad_params(void **state)
{
    (void)state;
    mote_sampler *smp = (mote_sampler *)&smp; /* must be cleared on failure */
    mote_sampler_params p = mote_sampler_default_params();
    assert_int_equal(mote_sampler_create(&p, 0, &smp), MOTE_E_INVALID);
    assert_null(smp);
    assert_non_null(strstr(mote_last_error(), "n_vocab"));
    assert_int_equal(mote_sampler_create(&p, 10, NULL), MOTE_E_INVALID);

    /* Each bad field in turn, the rest default. */
    enum { TEMP, TOP_P, MIN_P, REP0, REPINF, FREQ, PRES, LAST_N_HUGE, LAST_N, N_BAD };
    for (int b = 0; b < N_BAD; b++) {
        mote_sampler_params q = p;
        switch (b) {
        case TEMP: q.temp = NAN; break;
        case TOP_P: q.top_p = NAN; break;
        case MIN_P: q.min_p = NAN; break;
        case REP0: q.repeat_penalty = 0.0f; break;
        case REPINF: q.repeat_penalty = INFINITY; break;
        case FREQ: q.freq_penalty = NAN; break;
        case PRES: q.presence_penalty = -INFINITY; break;
        case LAST_N_HUGE: q.penalty_last_n = MOTE_PENALTY_LAST_N_MAX + 1; break; /* once a 4 GB ring at 1e9 */
        case LAST_N: q.penalty_last_n = -1; break;
        }
        assert_int_equal(mote_sampler_create(&q, 10, &smp), MOTE_E_INVALID);
        assert_null(smp);
    }
    assert_non_null(strstr(mote_last_error(), "penalty_last_n -1 is out of range [0, 4194304]"));
    {
        mote_sampler_params q = p;
        q.penalty_last_n = MOTE_PENALTY_LAST_N_MAX;
        q.repeat_penalty = 1.1f;
        assert_int_equal(mote_sampler_create(&q, 10, &smp), MOTE_OK);
        mote_sampler_free(smp);
        smp = NULL;
    }

    /* Out-of-range ids are ignored (they do not push 0 out of a window of
     * one), and NULLs are harmless. */
    p.temp = 0.0f;
    p.repeat_penalty = 2.0f;
    p.penalty_last_n = 1;
    smp = make_sampler(&p, 10);
    const float l[10] = {3, 2, 0, 0, 0, 0, 0, 0, 0, 0};
    mote_sampler_accept(smp, 0);
    mote_sampler_accept(smp, -1);
    mote_sampler_accept(smp, 10);
    assert_int_equal(mote_sampler_sample(smp, l), 1);
    mote_sampler_accept(NULL, 3);
    mote_sampler_reset(NULL);
    assert_int_equal(mote_sampler_sample(smp, NULL), -1);
    assert_int_equal(mote_sampler_sample(NULL, (const float[1]){0}), -1);
    mote_sampler_free(smp);
}

/* ------------------------------------------------------------------------
 * The draw
 * ---------------------------------------------------------------------- */

static void test_draws_follow_softmax(void **state)
{
    (void)state;
    enum { V = 6 };
    const double l[V] = {1.0, 2.0, 0.5, -1.0, 3.0, 0.0};
    float logits[V];
    double want[V], got[V], wrong[V];
    int counts[V];
    to_float(l, V, logits);
    softmax_ref(l, V, 1.0, want);

    mote_sampler_params p = plain_params(1.0f, 1234);
    mote_sampler *smp = make_sampler(&p, V);
    assert_int_equal(distribution_by_id(smp, logits, V, got), V);
    assert_probs_near(got, want, V, 1e-6);

    draw_counts(smp, logits, V, N_DRAWS, counts);
    assert_fits(counts, want, V, N_DRAWS);
    /* The test has power: a slightly wrong temperature is rejected. */
    softmax_ref(l, V, 1.15, wrong);
    assert_false(fits(counts, wrong, V, N_DRAWS));
    mote_sampler_free(smp);
}

static void test_temperature_sharpens(void **state)
{
    (void)state;
    enum { V = 8 };
    const double l[V] = {0.0, 0.6, 1.0, 0.3, -0.4, 0.8, -0.2, 0.1};
    const float temps[] = {2.0f, 1.0f, 0.5f, 0.25f};
    float logits[V];
    double want[V], got[V];
    int counts[V];
    to_float(l, V, logits);
    double prev_entropy = INFINITY;
    for (size_t k = 0; k < sizeof temps / sizeof *temps; k++) {
        mote_sampler_params p = plain_params(temps[k], 99 + k);
        mote_sampler *smp = make_sampler(&p, V);
        softmax_ref(l, V, temps[k], want);
        distribution_by_id(smp, logits, V, got);
        assert_probs_near(got, want, V, 1e-6);
        draw_counts(smp, logits, V, N_DRAWS, counts);
        assert_fits(counts, want, V, N_DRAWS);
        double h = 0.0;
        for (int i = 0; i < V; i++)
            if (counts[i]) h -= (double)counts[i] / N_DRAWS * log((double)counts[i] / N_DRAWS);
        assert_true(h < prev_entropy);
        prev_entropy = h;
        mote_sampler_free(smp);
    }
}

static void test_seeds(void **state)
{
    (void)state;
    enum { V = 100, N = 1000 };
    float logits[V];
    uint64_t rs = 7;
    for (int i = 0; i < V; i++) logits[i] = 0.5f * test_rng_normal(&rs);
    mote_token a[N], b[N], c[N], again[N];

    mote_sampler_params p = plain_params(1.0f, 42);
    mote_sampler *sa = make_sampler(&p, V), *sb = make_sampler(&p, V);
    p.seed = 43;
    mote_sampler *sc = make_sampler(&p, V);
    for (int i = 0; i < N; i++) {
        a[i] = mote_sampler_sample(sa, logits);
        b[i] = mote_sampler_sample(sb, logits);
        c[i] = mote_sampler_sample(sc, logits);
    }
    assert_memory_equal(a, b, sizeof a);
    int same = 0;
    for (int i = 0; i < N; i++) same += a[i] == c[i];
    assert_true(same < N / 10); /* ~1/V of positions agree by chance */

    mote_sampler_reset(sa); /* replays from the seed */
    for (int i = 0; i < N; i++) again[i] = mote_sampler_sample(sa, logits);
    assert_memory_equal(a, again, sizeof a);

    /* sampler_distribution consumes no randomness. */
    mote_sampler_reset(sa);
    double dist[V];
    distribution_by_id(sa, logits, V, dist);
    for (int i = 0; i < N; i++) again[i] = mote_sampler_sample(sa, logits);
    assert_memory_equal(a, again, sizeof a);
    mote_sampler_free(sa);
    mote_sampler_free(sb);
    mote_sampler_free(sc);
}

/* ------------------------------------------------------------------------
 * Greedy and non-finite logits
 * ---------------------------------------------------------------------- */

static void test_greedy_ties_to_lowest_id(void **state)
{
    (void)state;
    mote_sampler_params p = plain_params(0.0f, 1);
    p.top_k = 40; /* filters do not change greedy */
    p.top_p = 0.5f;
    mote_sampler *smp = make_sampler(&p, 10);
    float l1[10] = {0, 1, 2, 5, 1, 2, 3, 5, 5, -1};
    assert_int_equal(mote_sampler_sample(smp, l1), 3);
    float l2[10] = {NAN, 1, 2, 4, 1, 2, 3, 4, 4, NAN};
    assert_int_equal(mote_sampler_sample(smp, l2), 3);
    float l3[10] = {0, 1, 2, 3, 1, INFINITY, 3, 5, INFINITY, -1};
    assert_int_equal(mote_sampler_sample(smp, l3), 5);
    float l4[10] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY,
                    -INFINITY, -INFINITY, -INFINITY, -3e38f, -INFINITY};
    assert_int_equal(mote_sampler_sample(smp, l4), 8);
    /* greedy draws consume nothing: the same answer every time */
    for (int i = 0; i < 100; i++) assert_int_equal(mote_sampler_sample(smp, l1), 3);
    mote_sampler_free(smp);
}

static void test_nonfinite_logits(void **state)
{
    (void)state;
    enum { V = 8 };
    int counts[V];
    float nan_mix[V] = {NAN, 1.0f, -INFINITY, 0.5f, NAN, -INFINITY, 2.0f, NAN};
    const double finite[V] = {0, 1.0, 0, 0.5, 0, 0, 2.0, 0};
    double want[V];
    mote_sampler_params p = plain_params(1.0f, 5);
    mote_sampler *smp = make_sampler(&p, V);
    draw_counts(smp, nan_mix, V, N_DRAWS, counts);
    softmax_ref(finite, V, 1.0, want);
    for (int i = 0; i < V; i++)
        if (i != 1 && i != 3 && i != 6) want[i] = 0.0;
    double s = want[1] + want[3] + want[6];
    for (int i = 0; i < V; i++) want[i] /= s;
    assert_fits(counts, want, V, N_DRAWS);

    /* +inf tokens share all the mass, whatever the filters. */
    float with_inf[V] = {1e30f, INFINITY, 3.0f, NAN, INFINITY, -INFINITY, FLT_MAX, 0.0f};
    draw_counts(smp, with_inf, V, 2000, counts);
    assert_int_equal(counts[1] + counts[4] + counts[6], 2000);
    assert_true(counts[1] > 400 && counts[4] > 400 && counts[6] > 400);
    mote_sampler_free(smp);
    smp = make_sampler(NULL, V); /* defaults: top-k, top-p, min-p on */
    draw_counts(smp, with_inf, V, 2000, counts);
    assert_int_equal(counts[1] + counts[4] + counts[6], 2000);

    /* Nothing possible: -1 and a message, not a crash. */
    float none[V] = {NAN, -INFINITY, NAN, NAN, -INFINITY, NAN, NAN, -INFINITY};
    mote_clear_error();
    assert_int_equal(mote_sampler_sample(smp, none), -1);
    assert_non_null(strstr(mote_last_error(), "no possible token"));
    mote_token ids[V];
    float probs[V];
    assert_int_equal(sampler_distribution(smp, none, ids, probs, V), 0);
    mote_sampler_free(smp);
    p.temp = 0.0f;
    smp = make_sampler(&p, V);
    assert_int_equal(mote_sampler_sample(smp, none), -1);
    mote_sampler_free(smp);
}

/* Logits near FLT_MAX with opposite signs: their difference overflows
 * float. temp +inf then makes every survivor equally likely (it gave NaN
 * weights: -inf / +inf), and a huge finite temp the true weight (it gave 0).
 * The fuzz target's finding, tests/fuzz/sample/inf-temp-opposite-flt-max. */
static void test_extreme_temperature(void **state)
{
    (void)state;
    enum { V = 6 };
    const float l[V] = {FLT_MAX, -FLT_MAX, 0.0f, 1.0f, INFINITY, -INFINITY};
    mote_token ids[V];
    float probs[V];
    mote_sampler_params p = plain_params(INFINITY, 3);
    mote_sampler *smp = make_sampler(&p, V);
    assert_int_equal(sampler_distribution(smp, l, ids, probs, V), 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(ids[i], i);
        assert_true(probs[i] == 0.2f);
    }
    for (int i = 0; i < 200; i++) {
        mote_token t = mote_sampler_sample(smp, l);
        assert_true(t >= 0 && t < 5);
    }
    mote_sampler_free(smp);

    /* Every filter on: still one weight per survivor, none NaN. */
    p = mote_sampler_default_params();
    p.temp = INFINITY;
    smp = make_sampler(&p, V);
    int n = sampler_distribution(smp, l, ids, probs, V);
    assert_true(n >= 1 && n <= 5);
    for (int i = 0; i < n; i++) assert_true(probs[i] > 0.0f && probs[i] <= 1.0f);
    mote_sampler_free(smp);

    /* temp 1e38: the weight of -FLT_MAX against FLT_MAX is exp(-2 FLT_MAX / 1e38). */
    const float two[2] = {FLT_MAX, -FLT_MAX};
    p = plain_params(1e38f, 3);
    smp = make_sampler(&p, 2);
    assert_int_equal(sampler_distribution(smp, two, ids, probs, 2), 2);
    double w = exp(-2.0 * FLT_MAX / 1e38);
    assert_true(fabs(probs[1] - w / (1.0 + w)) < 1e-6);
    mote_sampler_free(smp);
    /* temp 0.5: the quotient is past float's range, the weight 0. */
    p = plain_params(0.5f, 3);
    smp = make_sampler(&p, 2);
    assert_int_equal(sampler_distribution(smp, two, ids, probs, 2), 2);
    assert_true(probs[0] == 1.0f && probs[1] == 0.0f);
    mote_sampler_free(smp);
}

/* ------------------------------------------------------------------------
 * Filters
 * ---------------------------------------------------------------------- */

static void test_top_k(void **state)
{
    (void)state;
    enum { V = 50, K = 5 };
    float logits[V];
    double l[V], want[V], got[V];
    int counts[V];
    uint64_t rs = 11;
    for (int i = 0; i < V; i++) l[i] = 0.8 * test_rng_normal(&rs);
    to_float(l, V, logits);
    for (int i = 0; i < V; i++) l[i] = logits[i];

    /* the true top K by a full sort */
    ref_cand s[V];
    for (int i = 0; i < V; i++) s[i] = (ref_cand){logits[i], i};
    qsort(s, V, sizeof *s, ref_cmp);
    int keep[K];
    for (int j = 0; j < K; j++) keep[j] = s[j].id;
    double w[V];
    softmax_ref(l, V, 1.0, w);
    renormalised(w, V, keep, K, want);

    mote_sampler_params p = plain_params(1.0f, 77);
    p.top_k = K;
    mote_sampler *smp = make_sampler(&p, V);
    assert_int_equal(distribution_by_id(smp, logits, V, got), K);
    assert_probs_near(got, want, V, 1e-6);
    draw_counts(smp, logits, V, N_DRAWS, counts); /* fails on any token outside the top K */
    assert_fits(counts, want, V, N_DRAWS);
    mote_sampler_free(smp);

    /* A tie across the boundary keeps the lower ids. */
    float tied[10] = {0, 3, 1, 2, 1, 0, 1, 0, 1, 0};
    p.top_k = 3;
    smp = make_sampler(&p, 10);
    mote_token ids[10];
    float probs[10];
    assert_int_equal(sampler_distribution(smp, tied, ids, probs, 10), 3);
    assert_int_equal(ids[0], 1);
    assert_int_equal(ids[1], 3);
    assert_int_equal(ids[2], 2);
    mote_sampler_free(smp);

    /* k = 1 is greedy. */
    p.top_k = 1;
    smp = make_sampler(&p, V);
    for (int i = 0; i < 200; i++) assert_int_equal(mote_sampler_sample(smp, logits), s[0].id);
    mote_sampler_free(smp);
}

/* Probabilities by id 0..6; sorted: 1 (.40), 4 (.25), 3 (.15), 5 (.10),
 * 0 (.05), 6 (.03), 2 (.02). */
static const double designed[7] = {0.05, 0.40, 0.02, 0.15, 0.25, 0.10, 0.03};

static void check_support(const mote_sampler_params *p, const int *keep, int n_keep)
{
    enum { V = 7 };
    double l[V], want[V], got[V];
    float logits[V];
    int counts[V];
    for (int i = 0; i < V; i++) l[i] = log(designed[i]);
    to_float(l, V, logits);
    renormalised(designed, V, keep, n_keep, want);
    mote_sampler *smp = make_sampler(p, V);
    assert_int_equal(distribution_by_id(smp, logits, V, got), n_keep);
    assert_probs_near(got, want, V, 1e-6);
    draw_counts(smp, logits, V, N_DRAWS, counts);
    assert_fits(counts, want, V, N_DRAWS);
    mote_sampler_free(smp);
}

static void test_top_p(void **state)
{
    (void)state;
    static const int k1[] = {1}, k2[] = {1, 4}, k3[] = {1, 4, 3}, k4[] = {1, 4, 3, 5};
    static const int k6[] = {1, 4, 3, 5, 0, 6};
    mote_sampler_params p = plain_params(1.0f, 3);
    /* top_k 0 scans the whole vocabulary; top_k 6 sorts first (and drops
     * id 2, which changes none of these nuclei). */
    for (int top_k = 0; top_k <= 6; top_k += 6) {
        p.top_k = top_k;
        p.top_p = 0.3f;  check_support(&p, k1, 1);
        p.top_p = 0.6f;  check_support(&p, k2, 2);
        p.top_p = 0.75f; check_support(&p, k3, 3); /* .65 < .75 <= .80 */
        p.top_p = 0.85f; check_support(&p, k4, 4);
        p.top_p = 0.0f;  check_support(&p, k1, 1);
    }
    p.top_k = 0;
    p.top_p = 0.96f; check_support(&p, k6, 6);
    /* top-p works on the softmax of what top-k left: over the top 3 (.80),
     * 1 and 4 hold .8125 >= .7, whereas globally they hold only .65. */
    p.top_k = 3;
    p.top_p = 0.7f; check_support(&p, k2, 2);
}

static void test_min_p(void **state)
{
    (void)state;
    static const int k2[] = {1, 4}, k3[] = {1, 4, 3}, k6[] = {1, 4, 3, 5, 0, 6};
    mote_sampler_params p = plain_params(1.0f, 8);
    p.min_p = 0.5f;  check_support(&p, k2, 2); /* p >= .20 */
    p.min_p = 0.3f;  check_support(&p, k3, 3); /* p >= .12 */
    p.min_p = 0.06f; check_support(&p, k6, 6); /* p >= .024 */
    p.top_p = 0.75f; /* min-p after top-p (sorted path) */
    p.min_p = 0.5f;  check_support(&p, k2, 2);
    p.top_p = 1.0f;
    p.min_p = 2.0f;  /* above 1: still the best token */
    static const int k1[] = {1};
    check_support(&p, k1, 1);
}

/* ------------------------------------------------------------------------
 * Penalties
 * ---------------------------------------------------------------------- */

static void test_penalties_greedy(void **state)
{
    (void)state;
    mote_sampler_params p = plain_params(0.0f, 1);
    p.repeat_penalty = 1.1f;
    p.penalty_last_n = 2;
    mote_sampler *smp = make_sampler(&p, 8);

    float pos[8] = {2.0f, 1.9f, 0.5f, -0.5f, 0, 0, 0, 0};
    assert_int_equal(mote_sampler_sample(smp, pos), 0);
    assert_int_equal(mote_sampler_sample(smp, pos), 0); /* sample does not accept */
    mote_sampler_accept(smp, 0);                        /* 2.0 / 1.1 = 1.82 < 1.9 */
    assert_int_equal(mote_sampler_sample(smp, pos), 1);
    mote_sampler_accept(smp, 5);
    assert_int_equal(mote_sampler_sample(smp, pos), 1); /* 0 still in the window */
    mote_sampler_accept(smp, 6);                        /* 0 has left the window */
    assert_int_equal(mote_sampler_sample(smp, pos), 0);
    mote_sampler_accept(smp, 0);
    assert_int_equal(mote_sampler_sample(smp, pos), 1);
    mote_sampler_reset(smp); /* history gone */
    assert_int_equal(mote_sampler_sample(smp, pos), 0);

    /* Negative logits are multiplied (dividing would favour token 0). */
    float neg[8] = {-1.0f, -1.05f, -3, -3, -3, -3, -3, -3};
    mote_sampler_accept(smp, 0); /* -1.1 < -1.05 */
    assert_int_equal(mote_sampler_sample(smp, neg), 1);
    mote_sampler_free(smp);

    /* Frequency grows with the count, presence does not. */
    p.repeat_penalty = 1.0f;
    p.freq_penalty = 0.3f;
    p.presence_penalty = 0.5f;
    p.penalty_last_n = 64;
    smp = make_sampler(&p, 8);
    float two[8] = {3.0f, 2.0f, 0, 0, 0, 0, 0, 0};
    mote_sampler_accept(smp, 0); /* 3 - .3 - .5 = 2.2 */
    assert_int_equal(mote_sampler_sample(smp, two), 0);
    mote_sampler_accept(smp, 0); /* 3 - .6 - .5 = 1.9 */
    assert_int_equal(mote_sampler_sample(smp, two), 1);
    mote_sampler_free(smp);

    /* A window of 3 counts at most 3 repeats. */
    p.freq_penalty = 1.0f;
    p.presence_penalty = 0.0f;
    p.penalty_last_n = 3;
    smp = make_sampler(&p, 8);
    float close[8] = {5.0f, 0, 0, 0, 0, 0, 0, 2.5f}; /* 5 - 3 = 2 < 2.5; 5 - 2 = 3 > 2.5 */
    for (int i = 0; i < 10; i++) mote_sampler_accept(smp, 0);
    assert_int_equal(mote_sampler_sample(smp, close), 7);
    mote_sampler_accept(smp, 1);
    assert_int_equal(mote_sampler_sample(smp, close), 0);
    mote_sampler_free(smp);
}

/* Logit bias: added before the penalties (llama.cpp's order), -inf bans,
 * greedy and drawn alike; bad lists are refused and change nothing. */
static void test_logit_bias(void **state)
{
    (void)state;
    enum { V = 6 };
    mote_sampler_params p = plain_params(0.0f, 1);
    mote_sampler *smp = make_sampler(&p, V);
    float x[V] = {1.0f, 3.0f, 2.0f, 0.5f, -1.0f, 0.0f};
    assert_int_equal(mote_sampler_sample(smp, x), 1);
    const mote_token ban[] = {1};
    const float ninf[] = {-INFINITY};
    assert_int_equal(mote_sampler_set_logit_bias(smp, ban, ninf, 1), MOTE_OK);
    assert_int_equal(mote_sampler_sample(smp, x), 2);
    assert_true(x[1] == 3.0f); /* the caller's logits are untouched */
    const mote_token two[] = {4, 4};
    /* the new list replaces the ban (token 1 is back at 3); a token named
     * twice gets the sum: -1 + 3.5 + 1 = 3.5 > 3 */
    const float up[] = {3.5f, 1.0f};
    assert_int_equal(mote_sampler_set_logit_bias(smp, two, up, 2), MOTE_OK);
    assert_int_equal(mote_sampler_sample(smp, x), 4);
    /* refused lists leave the bias as it was */
    const mote_token out[] = {V};
    const float one[] = {1.0f}, nan_[] = {NAN}, pinf[] = {INFINITY};
    assert_int_equal(mote_sampler_set_logit_bias(smp, out, one, 1), MOTE_E_INVALID);
    assert_int_equal(mote_sampler_set_logit_bias(smp, ban, nan_, 1), MOTE_E_INVALID);
    assert_int_equal(mote_sampler_set_logit_bias(smp, ban, pinf, 1), MOTE_E_INVALID);
    assert_int_equal(mote_sampler_set_logit_bias(smp, ban, one, -1), MOTE_E_INVALID);
    assert_int_equal(mote_sampler_set_logit_bias(smp, ban, one, MOTE_LOGIT_BIAS_MAX + 1), MOTE_E_INVALID);
    assert_int_equal(mote_sampler_set_logit_bias(NULL, ban, one, 1), MOTE_E_INVALID);
    assert_int_equal(mote_sampler_sample(smp, x), 4);
    assert_int_equal(mote_sampler_set_logit_bias(smp, NULL, NULL, 0), MOTE_OK); /* cleared */
    assert_int_equal(mote_sampler_sample(smp, x), 1);
    /* every token banned: no possible token */
    const mote_token all[V] = {0, 1, 2, 3, 4, 5};
    const float alln[V] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY};
    assert_int_equal(mote_sampler_set_logit_bias(smp, all, alln, V), MOTE_OK);
    assert_int_equal(mote_sampler_sample(smp, x), -1);
    mote_sampler_free(smp);

    /* the bias comes before the penalty: token 0's -0.5 + 1 = 0.5 is then
     * divided by 2 (0.25 > 0.2: token 0); after it, -0.5 * 2 + 1 = 0 < 0.2 */
    p.repeat_penalty = 2.0f;
    p.penalty_last_n = 4;
    smp = make_sampler(&p, V);
    const mote_token zero[] = {0};
    const float plus[] = {1.0f};
    assert_int_equal(mote_sampler_set_logit_bias(smp, zero, plus, 1), MOTE_OK);
    mote_sampler_accept(smp, 0);
    float z[V] = {-0.5f, 0.2f, -9, -9, -9, -9};
    assert_int_equal(mote_sampler_sample(smp, z), 0);
    mote_sampler_free(smp);

    /* drawn: a banned token never comes, the rest keep their softmax */
    p = plain_params(1.0f, 77);
    smp = make_sampler(&p, V);
    const double l[V] = {1.0, 2.0, 0.5, -1.0, 3.0, 0.0};
    const double lb[V] = {1.0, 2.0, 0.5, -1.0, -INFINITY, 0.0};
    float logits[V];
    double want[V];
    int counts[V];
    to_float(l, V, logits);
    softmax_ref(lb, V, 1.0, want);
    const mote_token four[] = {4};
    assert_int_equal(mote_sampler_set_logit_bias(smp, four, ninf, 1), MOTE_OK);
    draw_counts(smp, logits, V, N_DRAWS, counts);
    assert_int_equal(counts[4], 0);
    assert_fits(counts, want, V, N_DRAWS);
    mote_sampler_free(smp);
}

static void test_penalties_distribution(void **state)
{
    (void)state;
    enum { V = 5 };
    const double l[V] = {1.0, 0.5, -0.5, 0.0, 2.0};
    double pen[V], want[V], raw[V], got[V];
    float logits[V];
    int counts[V];
    to_float(l, V, logits);
    memcpy(pen, l, sizeof pen);
    pen[4] = 2.0 / 1.5 - (2 * 0.2 + 0.3); /* accepted twice, positive */
    pen[2] = -0.5 * 1.5 - (0.2 + 0.3);    /* accepted once, negative */
    softmax_ref(pen, V, 1.0, want);
    softmax_ref(l, V, 1.0, raw);

    mote_sampler_params p = plain_params(1.0f, 2024);
    p.repeat_penalty = 1.5f;
    p.freq_penalty = 0.2f;
    p.presence_penalty = 0.3f;
    mote_sampler *smp = make_sampler(&p, V);
    distribution_by_id(smp, logits, V, got); /* no history yet */
    assert_probs_near(got, raw, V, 1e-6);
    mote_sampler_accept(smp, 4);
    mote_sampler_accept(smp, 2);
    mote_sampler_accept(smp, 4);
    distribution_by_id(smp, logits, V, got);
    assert_probs_near(got, want, V, 1e-6);
    float before[V];
    memcpy(before, logits, sizeof before);
    draw_counts(smp, logits, V, N_DRAWS, counts);
    assert_memory_equal(before, logits, sizeof before); /* logits untouched */
    assert_fits(counts, want, V, N_DRAWS);
    assert_false(fits(counts, raw, V, N_DRAWS));
    mote_sampler_free(smp);
}

/* ------------------------------------------------------------------------
 * Against the reference, random logits and parameters
 * ---------------------------------------------------------------------- */

static void compare_with_reference(const float *logits, int V, const mote_sampler_params *p,
                                   const int *hist, int n_hist)
{
    double *got = malloc((size_t)V * sizeof *got), *want = malloc((size_t)V * sizeof *want);
    assert_true(got && want);
    mote_sampler *smp = make_sampler(p, V);
    for (int j = 0; j < n_hist; j++) mote_sampler_accept(smp, hist[j]);
    int n = distribution_by_id(smp, logits, V, got);
    ref_distribution(logits, V, p, hist, n_hist, want);
    int n_want = 0;
    for (int i = 0; i < V; i++) n_want += want[i] > 0.0;
    int n_got = 0;
    for (int i = 0; i < V; i++) n_got += got[i] > 0.0;
    if (n_got != n_want)
        fail_msg("V %d temp %g k %d p %g min_p %g: %d tokens kept, reference %d (chain says %d)", V,
                 (double)p->temp, p->top_k, (double)p->top_p, (double)p->min_p, n_got, n_want, n);
    assert_probs_near(got, want, V, 2e-6);
    /* and a few draws land in the support */
    for (int i = 0; i < 20 && n_want > 0; i++) {
        mote_token t = mote_sampler_sample(smp, logits);
        assert_true(t >= 0 && t < V && want[t] > 0.0);
    }
    mote_sampler_free(smp);
    free(got);
    free(want);
}

static void test_matches_reference(void **state)
{
    (void)state;
    static const int sizes[] = {1, 2, 3, 17, 100, 1000, 4096};
    static const float temps[] = {0.0f, 0.3f, 0.8f, 1.0f, 1.7f};
    static const float top_ps[] = {1.0f, 0.95f, 0.5f, 0.1f, 0.0f};
    static const float min_ps[] = {0.0f, 0.05f, 0.2f, 1.0f};
    static const float scales[] = {0.5f, 2.0f, 8.0f};
    enum { MAX_V = 4096, MAX_HIST = 100 };
    float *logits = malloc(MAX_V * sizeof *logits);
    int hist[MAX_HIST];
    assert_non_null(logits);
    uint64_t rs = 2025;
#define PICK(a) a[test_rng_next(&rs) % (sizeof a / sizeof *a)]
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        int V = sizes[si];
        for (int trial = 0; trial < 40; trial++) {
            float scale = PICK(scales);
            int quantise = trial % 4 == 1; /* many exact ties */
            for (int i = 0; i < V; i++) {
                float x = scale * test_rng_normal(&rs);
                logits[i] = quantise ? roundf(x * 2.0f) / 2.0f : x;
            }
            if (trial % 5 == 2) /* some impossible tokens */
                for (int i = 0; i < V / 4; i++)
                    logits[test_rng_next(&rs) % V] = (i & 1) ? NAN : -INFINITY;
            mote_sampler_params p = plain_params(PICK(temps), test_rng_next(&rs));
            int ks[] = {0, 1, 5, 40, V - 1, V, V + 3};
            p.top_k = PICK(ks);
            p.top_p = PICK(top_ps);
            p.min_p = PICK(min_ps);
            int n_hist = 0;
            if (trial % 2) {
                static const int last_ns[] = {0, 1, 8, 64};
                static const float reps[] = {1.0f, 1.3f, 0.8f};
                static const float freqs[] = {0.0f, 0.5f};
                static const float press[] = {0.0f, 0.7f};
                p.penalty_last_n = PICK(last_ns);
                p.repeat_penalty = PICK(reps);
                p.freq_penalty = PICK(freqs);
                p.presence_penalty = PICK(press);
                n_hist = (int)(test_rng_next(&rs) % MAX_HIST);
                int span = V < 12 ? V : 12; /* small span: repeats */
                for (int j = 0; j < n_hist; j++)
                    hist[j] = (int)(test_rng_next(&rs) % (uint64_t)span);
            }
            compare_with_reference(logits, V, &p, hist, n_hist);
        }
    }
#undef PICK
    free(logits);
}

/* A vocabulary of 262144 (gemma-sized) through both top-p paths. */
static void test_large_vocab(void **state)
{
    (void)state;
    enum { V = 262144 };
    float *logits = malloc(V * sizeof *logits);
    assert_non_null(logits);
    uint64_t rs = 31337;
    for (int i = 0; i < V; i++) logits[i] = 2.0f * test_rng_normal(&rs);
    int hist[64];
    for (int j = 0; j < 64; j++) hist[j] = (int)(test_rng_next(&rs) % V);

    mote_sampler_params p = mote_sampler_default_params();
    p.repeat_penalty = 1.1f;
    compare_with_reference(logits, V, &p, hist, 64);
    p.top_k = 0; /* nucleus of thousands, popped from a heap of V */
    p.min_p = 0.0f;
    compare_with_reference(logits, V, &p, hist, 64);
    p.temp = 0.0f;
    compare_with_reference(logits, V, &p, hist, 64);
    free(logits);
}

/* ------------------------------------------------------------------------
 * Goldens: greedy as llama.cpp picked it
 * ---------------------------------------------------------------------- */

/* Next tab-separated field of *s (NUL-terminated in place). */
static char *next_field(char **s)
{
    char *f = *s;
    if (!f) return NULL;
    char *tab = strchr(f, '\t');
    if (tab) {
        *tab = '\0';
        *s = tab + 1;
    } else {
        *s = NULL;
    }
    return f;
}

/* Each step of <model>.topk.tsv holds the top 10 logits; spread over a
 * vocabulary of -inf, greedy must pick the id the cases file lists. */
static void check_golden_model(const char *model)
{
    char rel[256];
    snprintf(rel, sizeof rel, "golden/%s.cases.tsv", model);
    char *cases = read_file(shared_path(rel), NULL);
    snprintf(rel, sizeof rel, "golden/%s.topk.tsv", model);
    char *topk = read_file(shared_path(rel), NULL);
    assert_non_null(cases);
    assert_non_null(topk);

    enum { MAX_CASES = 32, N_GREEDY = 64, TOP = 10, V = 1 << 18 };
    char names[MAX_CASES][16];
    int greedy[MAX_CASES][N_GREEDY], n_cases = 0;
    for (char *line = strtok(cases, "\n"); line && n_cases < MAX_CASES; line = strtok(NULL, "\n")) {
        char *rest = line;
        snprintf(names[n_cases], sizeof names[0], "%s", next_field(&rest));
        next_field(&rest); /* prompt */
        next_field(&rest); /* prompt ids */
        char *ids = next_field(&rest);
        assert_non_null(ids);
        for (int j = 0; j < N_GREEDY; j++) greedy[n_cases][j] = (int)strtol(ids, &ids, 10);
        n_cases++;
    }

    float *logits = malloc(V * sizeof *logits);
    assert_non_null(logits);
    for (int i = 0; i < V; i++) logits[i] = -INFINITY;
    mote_sampler_params p = plain_params(0.0f, 0);
    mote_sampler *smp = make_sampler(&p, V);
    int checked = 0;
    for (char *line = strtok(topk, "\n"); line; line = strtok(NULL, "\n")) {
        char *rest = line;
        const char *name = next_field(&rest);
        int step = atoi(next_field(&rest));
        char *pairs = next_field(&rest);
        int c = 0;
        while (c < n_cases && strcmp(names[c], name) != 0) c++;
        assert_true(c < n_cases);
        int ids[TOP];
        for (int j = 0; j < TOP; j++) {
            ids[j] = (int)strtol(pairs, &pairs, 10);
            assert_true(*pairs == ':' && ids[j] >= 0 && ids[j] < V);
            logits[ids[j]] = strtof(pairs + 1, &pairs);
        }
        if (step < N_GREEDY) {
            assert_int_equal(mote_sampler_sample(smp, logits), greedy[c][step]);
            checked++;
        }
        for (int j = 0; j < TOP; j++) logits[ids[j]] = -INFINITY;
    }
    assert_true(checked >= N_GREEDY);
    mote_sampler_free(smp);
    free(logits);
    free(cases);
    free(topk);
}

static void test_golden_greedy(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    check_golden_model("stories260K");
    check_golden_model("TinyStories-656K-F32");
    check_golden_model("synth-qwen2-F32");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_create_rejects_bad_params),
        cmocka_unit_test(test_draws_follow_softmax),
        cmocka_unit_test(test_temperature_sharpens),
        cmocka_unit_test(test_seeds),
        cmocka_unit_test(test_greedy_ties_to_lowest_id),
        cmocka_unit_test(test_nonfinite_logits),
        cmocka_unit_test(test_extreme_temperature),
        cmocka_unit_test(test_top_k),
        cmocka_unit_test(test_top_p),
        cmocka_unit_test(test_min_p),
        cmocka_unit_test(test_penalties_greedy),
        cmocka_unit_test(test_penalties_distribution),
        cmocka_unit_test(test_logit_bias),
        cmocka_unit_test(test_matches_reference),
        cmocka_unit_test(test_large_vocab),
        cmocka_unit_test(test_golden_greedy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
