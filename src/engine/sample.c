/*
 * sample.c — the token sampler: from one row of logits to one token id.
 *
 * The chain follows llama.cpp's default sampler chain, in this order:
 *
 *   0. logit bias  logit += bias for each token the caller named
 *                  (mote_sampler_set_logit_bias; -inf bans it)
 *   1. penalties   for each distinct token t among the last penalty_last_n
 *                  accepted tokens, occurring count times there:
 *                    logit <= 0 ? logit *= repeat_penalty
 *                               : logit /= repeat_penalty;
 *                    logit -= count * freq_penalty + presence_penalty;
 *   2. top-k       keep the k highest logits
 *   3. top-p       softmax over the survivors; keep the most probable tokens
 *                  until their cumulative probability reaches top_p (the
 *                  token that crosses it stays; at least one is kept)
 *   4. min-p       keep tokens with p >= min_p * p_max, i.e.
 *                  logit >= max_logit + log(min_p)
 *   5. temperature divide the surviving logits by temp
 *   6. draw        one token from the softmax of what is left, using the
 *                  sampler's own PRNG
 *
 * temp <= 0 is greedy: the argmax of the logits after penalties (filters
 * cannot change it; they all keep the best token). Ties in every ranking go
 * to the lower token id, so greedy matches llama.cpp's (strict >).
 *
 * Defaults (mote_sampler_default_params), those of llama.cpp's common
 * sampling parameters: temp 0.8, top_k 40, top_p 0.95, min_p 0.05,
 * repeat_penalty 1.0 (off), penalty_last_n 64, freq_penalty 0,
 * presence_penalty 0, seed 0xFFFFFFFF. llama.cpp reads that seed as "pick
 * one at random"; mote always uses the seed as given, so a run is
 * reproducible unless the caller (the CLI) chooses a random seed itself.
 *
 * Contract:
 * - mote_sampler_sample does not add the token it returns to the penalty
 *   history; the caller passes prompt and generated tokens to
 *   mote_sampler_accept (as llama.cpp's common_sampler_accept).
 * - It returns -1 when no token is possible (NULL arguments, or every logit
 *   NaN or -inf), with a message for mote_last_error().
 * - Non-finite logits: NaN and -inf tokens are impossible; +inf counts as the
 *   largest float, so +inf tokens share all the probability.
 * - temp +inf is the limit of a growing temperature: every token that the
 *   filters keep is equally likely (never a NaN weight, whatever the logits).
 * - Same seed, same params and same calls give the same tokens (the PRNG is
 *   xoshiro256** seeded through splitmix64). mote_sampler_reset clears the
 *   history and restarts the PRNG from the seed.
 * - Sampling allocates nothing: every buffer is sized by n_vocab (or
 *   penalty_last_n) at create. A sampler is not thread-safe.
 *
 * Cost per token, V = n_vocab: one pass over the logits, plus a copy of them
 * when penalties apply; top-k keeps a k-element heap while scanning
 * (O(V log k) worst, ~O(V) on real logits); without top-k, top-p heapifies
 * the candidates in O(V) and pops only the nucleus.
 */
#include "engine/sample.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "engine/grammar.h"

/* Defaults, from llama.cpp's common_params_sampling. */
#define DEFAULT_TEMP 0.8f
#define DEFAULT_TOP_K 40
#define DEFAULT_TOP_P 0.95f
#define DEFAULT_MIN_P 0.05f
#define DEFAULT_REPEAT_PENALTY 1.0f
#define DEFAULT_PENALTY_LAST_N 64
#define DEFAULT_SEED 0xFFFFFFFFu

/* A token still in the running. */
typedef struct cand {
    float val;     /* its logit; after temperature, its unnormalised probability */
    mote_token id; /* token id */
} cand;

struct mote_sampler {
    mote_sampler_params params; /* as given to create (validated) */
    int n_vocab;                /* length of every logits row */
    int penalties_on;           /* a penalty is set and penalty_last_n > 0; if not, the
                                   three buffers below are NULL (work also
                                   exists once a bias is set) */
    float *work;                /* (n_vocab) logits with bias and penalties applied */
    int32_t *count;             /* (n_vocab) occurrences in the history window */
    mote_token *hist;           /* (penalty_last_n) ring of accepted tokens */
    int hist_len;               /* tokens in the ring, <= penalty_last_n */
    int hist_head;              /* ring index of the oldest token */
    cand *cands;                /* (n_vocab) candidates of the chain */
    uint64_t seed_state[4];     /* xoshiro256** state right after seeding */
    uint64_t rng[4];            /* xoshiro256** state now */
    mote_token *bias_id;        /* (n_bias) mote_sampler_set_logit_bias's tokens */
    float *bias;                /* (n_bias) and what each adds */
    int n_bias;
    gram_constraint *gc;        /* mote_sampler_set_grammar's, or NULL */
    float *masked;              /* (n_vocab) logits with the tokens the grammar refuses at -inf */
};

/* ------------------------------------------------------------------------
 * PRNG: xoshiro256** (Blackman & Vigna), seeded through splitmix64
 * ---------------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t xoshiro_next(uint64_t s[4])
{
    uint64_t result = rotl64(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return result;
}

/* Uniform in [0, 1) with 53 random bits. */
static double rng_uniform(uint64_t s[4])
{
    return (double)(xoshiro_next(s) >> 11) * 0x1.0p-53;
}

/* ------------------------------------------------------------------------
 * Candidate order and heaps
 * ---------------------------------------------------------------------- */

/* The ranking of every filter: higher logit first, then lower id. Ids are
 * distinct, so this is a strict total order and selection is deterministic. */
static int ranks_above(cand a, cand b)
{
    return a.val > b.val || (a.val == b.val && a.id < b.id);
}

/* Restore the heap property below h[i] in h[0..n). With best_on_top the
 * root is the highest-ranked candidate, otherwise the lowest. */
static void sift_down(cand *h, int n, int i, int best_on_top)
{
    cand x = h[i];
    for (;;) {
        int c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && (best_on_top ? ranks_above(h[c + 1], h[c]) : ranks_above(h[c], h[c + 1])))
            c++;
        if (!(best_on_top ? ranks_above(h[c], x) : ranks_above(x, h[c]))) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
}

/* Add x to a worst-on-top heap h[0..n) (room for n + 1). */
static void push_worst_on_top(cand *h, int n, cand x)
{
    int i = n;
    while (i > 0) {
        int parent = (i - 1) / 2;
        if (!ranks_above(h[parent], x)) break;
        h[i] = h[parent];
        i = parent;
    }
    h[i] = x;
}

/* Reverse c[0..n). */
static void reverse(cand *c, int n)
{
    for (int i = 0, j = n - 1; i < j; i++, j--) {
        cand t = c[i];
        c[i] = c[j];
        c[j] = t;
    }
}

/* A logit as a candidate value: NaN and -inf are impossible (returns 0),
 * +inf becomes the largest float so differences stay finite. */
static int usable(float x, float *out)
{
    if (!(x > -INFINITY)) return 0;
    *out = x < FLT_MAX ? x : FLT_MAX;
    return 1;
}

/* ------------------------------------------------------------------------
 * Penalty history
 * ---------------------------------------------------------------------- */

/* The j-th oldest token of the ring (64-bit index: head + j may pass
 * INT_MAX for a huge penalty_last_n). */
static mote_token hist_at(const mote_sampler *smp, int j)
{
    return smp->hist[((int64_t)smp->hist_head + j) % smp->params.penalty_last_n];
}

/* Apply the penalties to x (a copy of the logits) for every distinct token
 * in the window. A token's count is negated once it has been penalised so
 * that repeats in the ring are skipped, then restored: no extra memory. */
static void apply_penalties(mote_sampler *smp, float *x)
{
    const mote_sampler_params *p = &smp->params;
    for (int j = 0; j < smp->hist_len; j++) {
        mote_token t = hist_at(smp, j);
        int32_t c = smp->count[t];
        if (c <= 0) continue;
        if (x[t] <= 0.0f) x[t] *= p->repeat_penalty;
        else x[t] /= p->repeat_penalty;
        x[t] -= (float)c * p->freq_penalty + p->presence_penalty; /* c > 0 here */
        smp->count[t] = -c;
    }
    for (int j = 0; j < smp->hist_len; j++) {
        mote_token t = hist_at(smp, j);
        if (smp->count[t] < 0) smp->count[t] = -smp->count[t];
    }
}

/* The logits the chain sees: the caller's, or biased then penalised in
 * smp->work. */
static const float *penalised_logits(mote_sampler *smp, const float *logits)
{
    const int penalise = smp->penalties_on && smp->hist_len > 0;
    if (!penalise && smp->n_bias == 0) return logits;
    memcpy(smp->work, logits, (size_t)smp->n_vocab * sizeof *logits);
    for (int i = 0; i < smp->n_bias; i++) smp->work[smp->bias_id[i]] += smp->bias[i];
    if (penalise) apply_penalties(smp, smp->work);
    return smp->work;
}

/* ------------------------------------------------------------------------
 * The chain
 * ---------------------------------------------------------------------- */

/* Argmax with strict >, so ties go to the lowest id; -1 if none usable. */
static mote_token argmax(const float *x, int n)
{
    float best = -INFINITY;
    mote_token id = -1;
    for (int i = 0; i < n; i++)
        if (x[i] > best) {
            best = x[i];
            id = i;
        }
    return id;
}

/* Top-k by a scan with a worst-on-top heap of k candidates, then heap sort:
 * c[0..return) holds the k best, best first. */
static int select_top_k(const float *x, int n_vocab, int k, cand *c)
{
    int n = 0;
    for (int i = 0; i < n_vocab; i++) {
        cand e = {0.0f, i};
        if (!usable(x[i], &e.val)) continue;
        if (n < k) {
            push_worst_on_top(c, n++, e);
        } else if (ranks_above(e, c[0])) {
            c[0] = e;
            sift_down(c, n, 0, 0);
        }
    }
    for (int end = n - 1; end > 0; end--) { /* worst to the back */
        cand t = c[0];
        c[0] = c[end];
        c[end] = t;
        sift_down(c, end, 0, 0);
    }
    return n;
}

/* Every usable token, in id order. */
static int collect_all(const float *x, int n_vocab, cand *c)
{
    int n = 0;
    for (int i = 0; i < n_vocab; i++) {
        cand e = {0.0f, i};
        if (usable(x[i], &e.val)) c[n++] = e;
    }
    return n;
}

/* Top-p over c[0..n). If sorted, the nucleus is a prefix. If not, c is
 * heapified (best on top) and the nucleus popped one by one, so only it
 * gets sorted. Sets *first to where the nucleus starts; returns its size,
 * sorted best first. */
static int keep_top_p(cand *c, int n, int sorted, float top_p, int *first)
{
    if (!sorted)
        for (int i = n / 2 - 1; i >= 0; i--) sift_down(c, n, i, 1);
    float max = c[0].val;
    double z = 0.0;
    for (int i = 0; i < n; i++) z += expf(c[i].val - max);
    double target = (double)top_p * z, cum = 0.0;
    int m = 0;
    if (sorted) {
        while (m < n) {
            cum += expf(c[m++].val - max);
            if (cum >= target) break;
        }
        *first = 0;
        return m;
    }
    for (int heap_n = n; heap_n > 0;) { /* popped ones collect at the back */
        cand best = c[0];
        c[0] = c[--heap_n];
        c[heap_n] = best;
        sift_down(c, heap_n, 0, 1);
        m++;
        cum += expf(best.val - max);
        if (cum >= target) break;
    }
    reverse(c + n - m, m);
    *first = n - m;
    return m;
}

/* Min-p over c[0..n): keep val >= max + log(min_p), never fewer than the
 * best (min_p > 1 would otherwise empty the list). Order is preserved. */
static int keep_min_p(cand *c, int n, int sorted, float min_p)
{
    float max = c[0].val;
    if (!sorted)
        for (int i = 1; i < n; i++) max = fmaxf(max, c[i].val);
    float thr = fminf(max + logf(min_p), max);
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (c[i].val >= thr) c[m++] = c[i];
        else if (sorted) break;
    }
    return m;
}

/* (val - max) / temp for a survivor, val <= max, temp > 0 (+inf too).
 * Candidate values are finite, but their difference overflows float when
 * they are near FLT_MAX with opposite signs: -inf / +inf would be NaN, and
 * -inf / (huge temp) a weight of 0 where the true one is not. Such a
 * difference is taken in double, which holds it (and gives -0 for +inf,
 * the limit: every survivor equally likely; a quotient past float's range
 * becomes -inf, weight 0); any other is the float one. */
static float scaled_logit(float val, float max, float temp)
{
    float d = val - max;
    if (isinf(d)) return (float)(((double)val - (double)max) / (double)temp);
    return d / temp;
}

/* Penalties, top-k, top-p, min-p and temperature on logits. Leaves the
 * survivors at *out (inside smp->cands) with val = exp((logit - max) / temp)
 * and their sum in *total; returns how many, 0 if none is possible. */
static int run_chain(mote_sampler *smp, const float *logits, cand **out, double *total)
{
    const mote_sampler_params *p = &smp->params;
    const float *x = penalised_logits(smp, logits);
    cand *c = smp->cands;
    *out = c;
    *total = 0.0;

    if (p->temp <= 0.0f) {
        mote_token id = argmax(x, smp->n_vocab);
        if (id < 0) return 0;
        c[0] = (cand){1.0f, id};
        *total = 1.0;
        return 1;
    }

    int n, sorted;
    if (p->top_k > 0 && p->top_k < smp->n_vocab) {
        n = select_top_k(x, smp->n_vocab, p->top_k, c);
        sorted = 1;
    } else {
        n = collect_all(x, smp->n_vocab, c);
        sorted = 0;
    }
    if (n == 0) return 0;

    if (p->top_p < 1.0f) {
        int first;
        n = keep_top_p(c, n, sorted, p->top_p, &first);
        c += first;
        sorted = 1;
    }
    if (p->min_p > 0.0f) n = keep_min_p(c, n, sorted, p->min_p);

    float max = c[0].val;
    if (!sorted)
        for (int i = 1; i < n; i++) max = fmaxf(max, c[i].val);
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        /* (val - max) / temp rather than val / temp - max / temp: never
         * inf - inf, and the best token's weight is exactly 1. */
        c[i].val = expf(scaled_logit(c[i].val, max, p->temp));
        sum += c[i].val;
    }
    *out = c;
    *total = sum;
    return n;
}

/* ------------------------------------------------------------------------
 * Public API
 * ---------------------------------------------------------------------- */

mote_sampler_params mote_sampler_default_params(void)
{
    mote_sampler_params p = {
        .temp = DEFAULT_TEMP,
        .top_k = DEFAULT_TOP_K,
        .top_p = DEFAULT_TOP_P,
        .min_p = DEFAULT_MIN_P,
        .repeat_penalty = DEFAULT_REPEAT_PENALTY,
        .penalty_last_n = DEFAULT_PENALTY_LAST_N,
        .freq_penalty = 0.0f,
        .presence_penalty = 0.0f,
        .seed = DEFAULT_SEED,
    };
    return p;
}

static mote_status check_params(const mote_sampler_params *p, int n_vocab)
{
    if (n_vocab <= 0)
        return mote_fail(MOTE_E_INVALID, "sampler: n_vocab %d must be positive", n_vocab);
    if (isnan(p->temp) || isnan(p->top_p) || isnan(p->min_p))
        return mote_fail(MOTE_E_INVALID, "sampler: temp, top_p and min_p must not be NaN");
    if (!(isfinite(p->repeat_penalty) && p->repeat_penalty > 0.0f))
        return mote_fail(MOTE_E_INVALID, "sampler: repeat_penalty %g must be finite and positive",
                         (double)p->repeat_penalty);
    if (!isfinite(p->freq_penalty) || !isfinite(p->presence_penalty))
        return mote_fail(MOTE_E_INVALID,
                         "sampler: freq_penalty and presence_penalty must be finite");
    if (p->penalty_last_n < 0 || p->penalty_last_n > MOTE_PENALTY_LAST_N_MAX)
        return mote_fail(MOTE_E_INVALID, "sampler: penalty_last_n %d is out of range [0, %d] (no window is longer "
                         "than a context)", p->penalty_last_n, MOTE_PENALTY_LAST_N_MAX);
    return MOTE_OK;
}

mote_status mote_sampler_create(const mote_sampler_params *params, int n_vocab, mote_sampler **out)
{
    if (!out) return mote_fail(MOTE_E_INVALID, "sampler: out is NULL");
    *out = NULL;
    mote_sampler_params p = params ? *params : mote_sampler_default_params();
    MOTE_TRY(check_params(&p, n_vocab));

    mote_sampler *smp = calloc(1, sizeof *smp);
    if (!smp) return mote_fail(MOTE_E_NOMEM, "sampler: out of memory");
    smp->params = p;
    smp->n_vocab = n_vocab;
    smp->penalties_on = p.penalty_last_n > 0 && (p.repeat_penalty != 1.0f ||
                                                 p.freq_penalty != 0.0f ||
                                                 p.presence_penalty != 0.0f);
    smp->cands = malloc((size_t)n_vocab * sizeof *smp->cands);
    int ok = smp->cands != NULL;
    if (ok && smp->penalties_on) {
        smp->work = malloc((size_t)n_vocab * sizeof *smp->work);
        smp->count = calloc((size_t)n_vocab, sizeof *smp->count);
        smp->hist = malloc((size_t)p.penalty_last_n * sizeof *smp->hist);
        ok = smp->work && smp->count && smp->hist;
    }
    if (!ok) {
        mote_sampler_free(smp);
        return mote_fail(MOTE_E_NOMEM, "sampler: out of memory for n_vocab %d, penalty_last_n %d",
                         n_vocab, p.penalty_last_n);
    }
    uint64_t sm = p.seed;
    for (int i = 0; i < 4; i++) smp->seed_state[i] = splitmix64(&sm);
    mote_sampler_reset(smp);
    *out = smp;
    return MOTE_OK;
}

void mote_sampler_free(mote_sampler *smp)
{
    if (!smp) return;
    constraint_free(smp->gc);
    free(smp->masked);
    free(smp->bias_id);
    free(smp->bias);
    free(smp->work);
    free(smp->cands);
    free(smp->count);
    free(smp->hist);
    free(smp);
}

void mote_sampler_reset(mote_sampler *smp)
{
    if (!smp) return;
    memcpy(smp->rng, smp->seed_state, sizeof smp->rng);
    if (smp->gc) constraint_reset(smp->gc);
    if (smp->penalties_on) {
        for (int j = 0; j < smp->hist_len; j++) smp->count[hist_at(smp, j)] = 0;
    }
    smp->hist_len = 0;
    smp->hist_head = 0;
}

mote_status mote_sampler_set_logit_bias(mote_sampler *smp, const mote_token *ids, const float *bias, int n)
{
    if (!smp) return mote_fail(MOTE_E_INVALID, "mote_sampler_set_logit_bias: NULL sampler");
    if (n < 0 || n > MOTE_LOGIT_BIAS_MAX)
        return mote_fail(MOTE_E_INVALID, "logit bias: %d entries; at most %d", n, MOTE_LOGIT_BIAS_MAX);
    if (n > 0 && (!ids || !bias)) return mote_fail(MOTE_E_INVALID, "logit bias: NULL lists for %d entries", n);
    for (int i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= smp->n_vocab)
            return mote_fail(MOTE_E_INVALID, "logit bias: token %d (entry %d) is outside the vocabulary of %d",
                             (int)ids[i], i, smp->n_vocab);
        if (isnan(bias[i]) || bias[i] == INFINITY)
            return mote_fail(MOTE_E_INVALID, "logit bias: token %d has bias %g; it must be a number or -inf",
                             (int)ids[i], (double)bias[i]);
    }
    mote_token *new_id = NULL;
    float *new_bias = NULL;
    if (n > 0) {
        new_id = malloc((size_t)n * sizeof *new_id);
        new_bias = malloc((size_t)n * sizeof *new_bias);
        if (!smp->work) smp->work = malloc((size_t)smp->n_vocab * sizeof *smp->work);
        if (!new_id || !new_bias || !smp->work) {
            free(new_id);
            free(new_bias);
            return mote_fail(MOTE_E_NOMEM, "logit bias: out of memory for %d entries", n);
        }
        memcpy(new_id, ids, (size_t)n * sizeof *new_id);
        memcpy(new_bias, bias, (size_t)n * sizeof *new_bias);
    }
    free(smp->bias_id);
    free(smp->bias);
    smp->bias_id = new_id;
    smp->bias = new_bias;
    smp->n_bias = n;
    return MOTE_OK;
}

/* Tokens outside [0, n_vocab) cannot be penalised and are ignored. */
void mote_sampler_accept(mote_sampler *smp, mote_token t)
{
    if (!smp || !smp->penalties_on || t < 0 || t >= smp->n_vocab) return;
    int cap = smp->params.penalty_last_n;
    if (smp->hist_len == cap) { /* the oldest leaves the window */
        smp->count[smp->hist[smp->hist_head]]--;
        smp->hist[smp->hist_head] = t;
        smp->hist_head = (smp->hist_head + 1) % cap;
    } else {
        smp->hist[((int64_t)smp->hist_head + smp->hist_len) % cap] = t;
        smp->hist_len++;
    }
    smp->count[t]++;
}

static mote_token sample_plain(mote_sampler *smp, const float *logits)
{
    if (!smp || !logits) {
        mote_fail(MOTE_E_INVALID, "sampler: NULL sampler or logits");
        return -1;
    }
    cand *c;
    double total;
    int n = run_chain(smp, logits, &c, &total);
    if (n == 0) {
        mote_fail(MOTE_E_INVALID, "sampler: no possible token (all %d logits are NaN or -inf%s)", smp->n_vocab,
                  smp->n_bias ? ", or banned by the logit bias" : "");
        return -1;
    }
    /* Inverse CDF; zero-weight tokens (underflow at low temp) never match. */
    double u = rng_uniform(smp->rng) * total, cum = 0.0;
    int last = 0;
    for (int i = 0; i < n; i++) {
        if (c[i].val <= 0.0f) continue;
        cum += c[i].val;
        last = i;
        if (u < cum) return c[i].id;
    }
    return c[last].id; /* u landed past the sum by rounding */
}

/* With a grammar: the token drawn from the plain distribution when the
 * grammar allows it (one check, the usual case), else one drawn again
 * from the logits of the allowed tokens only. */
mote_token mote_sampler_sample(mote_sampler *smp, const float *logits)
{
    if (!smp || !smp->gc) return sample_plain(smp, logits);
    if (!logits) return sample_plain(smp, logits);
    mote_token t = sample_plain(smp, logits);
    int ok = t >= 0 ? constraint_allows(smp->gc, t) : 0;
    if (ok < 0) goto oom;
    if (!ok) {
        const int n = constraint_mask(smp->gc, logits, smp->masked);
        if (n < 0) goto oom;
        if (n == 0) {
            mote_fail(MOTE_E_INVALID, "sampler: the grammar allows no token here");
            return -1;
        }
        if ((t = sample_plain(smp, smp->masked)) < 0) return -1;
    }
    if (constraint_commit(smp->gc, t) != 0) goto oom;
    return t;
oom:
    mote_fail(MOTE_E_NOMEM, "sampler: out of memory in the grammar");
    return -1;
}

mote_status mote_sampler_set_grammar(mote_sampler *smp, const mote_model *model, const mote_grammar *g)
{
    if (!smp) return mote_fail(MOTE_E_INVALID, "mote_sampler_set_grammar: NULL sampler");
    constraint_free(smp->gc);
    smp->gc = NULL;
    if (!g) return MOTE_OK;
    if (!model) return mote_fail(MOTE_E_INVALID, "mote_sampler_set_grammar: NULL model");
    if (mote_vocab_size(model) != smp->n_vocab)
        return mote_fail(MOTE_E_INVALID, "mote_sampler_set_grammar: the model has %d tokens, the sampler %d",
                         mote_vocab_size(model), smp->n_vocab);
    if (!smp->masked && !(smp->masked = malloc((size_t)smp->n_vocab * sizeof *smp->masked)))
        return mote_fail(MOTE_E_NOMEM, "sampler: out of memory");
    return constraint_new(model, g, &smp->gc);
}

int sampler_distribution(mote_sampler *smp, const float *logits, mote_token *ids, float *probs,
                         int cap)
{
    if (!smp || !logits) return 0;
    cand *c;
    double total;
    int n = run_chain(smp, logits, &c, &total);
    for (int i = 0; i < n && i < cap; i++) {
        ids[i] = c[i].id;
        probs[i] = (float)(c[i].val / total);
    }
    return n;
}
