/*
 * fuzz_sample.c — libFuzzer target for the token sampler: any parameters
 * (NaN, infinities, negative and huge values) on any logits (NaN, ±inf,
 * ±FLT_MAX, subnormals), with any tokens accepted into the history.
 *
 * Input (little-endian, missing bytes read as 0):
 *   int16   n_vocab: negative as given (create must refuse it), else
 *           folded into [0, MAX_VOCAB]
 *   float   temp; int32 top_k; float top_p, min_p, repeat_penalty
 *   int32   penalty_last_n, folded into [.., MAX_LAST_N]
 *   float   freq_penalty, presence_penalty; uint64 seed
 *   uint8   rounds (low 2 bits + 1): sample, accept the token, repeat;
 *           bit 7: logits as raw floats (else one byte each, from SPECIAL)
 *   uint8   n_accept, then n_accept int16 tokens for mote_sampler_accept
 *           (outside the vocabulary too)
 *   rest    the logits, repeated cyclically up to n_vocab (none: all 0)
 *
 * Contract (mote.h, and sample.c's header):
 * - mote_sampler_create succeeds, or fails with a message and no sampler;
 *   it succeeds for n_vocab >= 1 with finite parameters, a positive
 *   repeat_penalty and a non-negative penalty_last_n;
 * - with x = the logits after the penalties (computed here the way the
 *   sampler documents them), mote_sampler_sample returns -1 with a message
 *   exactly when every x is NaN or -inf; otherwise an id in [0, n_vocab)
 *   whose x is neither NaN nor -inf; greedy (temp <= 0) returns the argmax
 *   of x, ties to the lowest id;
 * - sampler_distribution lists the same possible tokens: distinct ids of
 *   usable x, at most top_k of them, the drawn id among them, and
 *   probabilities that are finite, in [0, 1] and sum to 1;
 * - after mote_sampler_reset and the same accepts, the same ids come out.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "base/status.h"
#include "engine/sample.h"
#include "fuzz.h"

/* Bounds that keep one run fast and small, not limits of the sampler
 * (penalty_last_n may pass the sampler's limit, to be refused). A
 * penalty_last_n of 1e9, which --repeat-last-n once allowed, made create
 * allocate a 4 GB history ring at once. */
#define MAX_VOCAB 4096
#define MAX_LAST_N (MOTE_PENALTY_LAST_N_MAX + 16)
#define MAX_ROUNDS 4

/* Logits one byte each: the values that break arithmetic, and a few plain. */
static const float SPECIAL[] = {
    NAN, -NAN, INFINITY, -INFINITY, FLT_MAX, -FLT_MAX, FLT_MIN, -FLT_MIN,
    0x1p-149f, -0x1p-149f, 0.0f, -0.0f, 1.0f, -1.0f, 2.0f, 0.5f,
    88.7f, -88.7f, 1e30f, -1e30f, 3.0f, -3.0f, 1e-30f, 20.0f,
};
#define N_SPECIAL (sizeof SPECIAL / sizeof SPECIAL[0])

/* A reader of little-endian fields; past the end it gives zeros. */
typedef struct reader {
    const uint8_t *p;
    size_t n;
} reader;

static uint64_t take(reader *r, size_t bytes)
{
    uint64_t v = 0;
    for (size_t i = 0; i < bytes; i++, r->p++, r->n--) {
        if (r->n == 0) return v;
        v |= (uint64_t)r->p[0] << (8 * i);
    }
    return v;
}

static float take_float(reader *r)
{
    uint32_t u = (uint32_t)take(r, 4);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static int usable(float x) { return x > -INFINITY; } /* not NaN, not -inf */

/* The logits the chain sees: sample.c's penalties, each distinct token of
 * the last penalty_last_n accepted ones penalised once by its count. */
static void penalise(const mote_sampler_params *p, int n_vocab, const mote_token *hist, int n_hist, float *x)
{
    if (p->penalty_last_n <= 0 ||
        (p->repeat_penalty == 1.0f && p->freq_penalty == 0.0f && p->presence_penalty == 0.0f))
        return;
    int32_t *count = calloc((size_t)n_vocab, sizeof *count);
    fuzz_check(count != NULL, "out of memory in the fuzzer");
    for (int j = n_hist > p->penalty_last_n ? n_hist - p->penalty_last_n : 0; j < n_hist; j++) count[hist[j]]++;
    for (int t = 0; t < n_vocab; t++) {
        if (!count[t]) continue;
        if (x[t] <= 0.0f) x[t] *= p->repeat_penalty;
        else x[t] /= p->repeat_penalty;
        x[t] -= (float)count[t] * p->freq_penalty + p->presence_penalty;
    }
    free(count);
}

/* One draw, checked against x (the penalised logits). */
static mote_token check_draw(mote_sampler *smp, const mote_sampler_params *p, int n_vocab, const float *logits,
                             const float *x, mote_token *ids, float *probs, uint8_t *seen)
{
    int any = 0;
    mote_token best = -1;
    for (int i = 0; i < n_vocab; i++) {
        any |= usable(x[i]);
        if (usable(x[i]) && (best < 0 || x[i] > x[best])) best = i;
    }
    int n = sampler_distribution(smp, logits, ids, probs, n_vocab);
    mote_clear_error();
    mote_token t = mote_sampler_sample(smp, logits);
    if (!any) {
        fuzz_check(t == -1 && mote_last_error()[0], "no possible token, yet no -1 with a message");
        fuzz_check(n == 0, "no possible token, yet a distribution");
        return t;
    }
    fuzz_check(t >= 0 && t < n_vocab, "sampled id outside the vocabulary");
    fuzz_check(usable(x[t]), "sampled a token whose logit is NaN or -inf");
    if (p->temp <= 0.0f) fuzz_check(t == best, "greedy is not the argmax (ties to the lowest id)");

    fuzz_check(n >= 1 && n <= n_vocab, "distribution size outside [1, n_vocab]");
    if (p->temp > 0.0f && p->top_k > 0) fuzz_check(n <= p->top_k, "more tokens than top_k survive");
    double sum = 0.0;
    int drawn = 0;
    for (int i = 0; i < n; i++) {
        fuzz_check(ids[i] >= 0 && ids[i] < n_vocab && usable(x[ids[i]]), "a surviving token is impossible");
        fuzz_check(isfinite(probs[i]) && probs[i] >= 0.0f && probs[i] <= 1.0f,
                   "a probability is not finite or outside [0, 1]");
        fuzz_check(!seen[ids[i]], "a token survives twice");
        seen[ids[i]] = 1;
        sum += probs[i];
        drawn |= ids[i] == t;
    }
    for (int i = 0; i < n; i++) seen[ids[i]] = 0;
    fuzz_check(fabs(sum - 1.0) < 1e-3, "the probabilities do not sum to 1");
    fuzz_check(drawn, "the drawn token is not in the distribution");
    return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reader r = {data, size};
    int n_vocab = (int16_t)take(&r, 2);
    if (n_vocab > 0) n_vocab %= MAX_VOCAB + 1;
    mote_sampler_params p;
    p.temp = take_float(&r);
    p.top_k = (int32_t)take(&r, 4);
    p.top_p = take_float(&r);
    p.min_p = take_float(&r);
    p.repeat_penalty = take_float(&r);
    p.penalty_last_n = (int32_t)take(&r, 4);
    if (p.penalty_last_n > MAX_LAST_N) p.penalty_last_n %= MAX_LAST_N + 1;
    p.freq_penalty = take_float(&r);
    p.presence_penalty = take_float(&r);
    p.seed = take(&r, 8);
    unsigned mode = (unsigned)take(&r, 1);
    int rounds = 1 + (int)(mode & (MAX_ROUNDS - 1));
    int n_accept = (int)take(&r, 1);
    mote_token accepted[256];
    for (int i = 0; i < n_accept; i++) accepted[i] = (int16_t)take(&r, 2);

    mote_sampler *smp = (mote_sampler *)(void *)&r; /* not NULL: create must set it */
    mote_clear_error();
    mote_status st = mote_sampler_create(&p, n_vocab, &smp);
    int sane = n_vocab >= 1 && isfinite(p.temp) && isfinite(p.top_p) && isfinite(p.min_p) &&
               isfinite(p.repeat_penalty) && p.repeat_penalty > 0.0f && isfinite(p.freq_penalty) &&
               isfinite(p.presence_penalty) && p.penalty_last_n >= 0 &&
               p.penalty_last_n <= MOTE_PENALTY_LAST_N_MAX;
    if (st != MOTE_OK) {
        fuzz_check(!smp && mote_last_error()[0], "a failed create left a sampler or no message");
        fuzz_check(!sane || st == MOTE_E_NOMEM, "create refused sane parameters");
        return 0;
    }
    fuzz_check(smp != NULL && n_vocab >= 1, "create succeeded without a sampler or for n_vocab < 1");

    size_t nv = (size_t)n_vocab;
    float *logits = malloc(nv * sizeof *logits), *x = malloc(nv * sizeof *x), *probs = malloc(nv * sizeof *probs);
    mote_token *ids = malloc(nv * sizeof *ids), *hist = malloc((256 + MAX_ROUNDS) * sizeof *hist);
    uint8_t *seen = calloc(nv, 1);
    mote_token drawn[MAX_ROUNDS];
    fuzz_check(logits && x && probs && ids && hist && seen, "out of memory in the fuzzer");
    size_t per = mode & 0x80 ? 4 : 1, avail = r.n / per;
    for (size_t i = 0; i < nv; i++) {
        if (avail == 0) {
            logits[i] = 0.0f;
        } else if (per == 4) {
            reader at = {r.p + 4 * (i % avail), 4};
            logits[i] = take_float(&at);
        } else {
            logits[i] = SPECIAL[r.p[i % avail] % N_SPECIAL];
        }
    }

    /* Twice: the second time after a reset, which must replay the first. */
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) mote_sampler_reset(smp);
        int n_hist = 0;
        for (int i = 0; i < n_accept; i++) {
            mote_sampler_accept(smp, accepted[i]);
            if (accepted[i] >= 0 && accepted[i] < n_vocab) hist[n_hist++] = accepted[i];
        }
        for (int k = 0; k < rounds; k++) {
            memcpy(x, logits, nv * sizeof *x);
            penalise(&p, n_vocab, hist, n_hist, x);
            mote_token t = check_draw(smp, &p, n_vocab, logits, x, ids, probs, seen);
            if (pass == 0) drawn[k] = t;
            else fuzz_check(t == drawn[k], "the same seed and calls after a reset gave another token");
            if (t < 0) break;
            mote_sampler_accept(smp, t);
            hist[n_hist++] = t;
        }
    }
    mote_sampler_free(smp);
    free(logits);
    free(x);
    free(probs);
    free(ids);
    free(hist);
    free(seen);
    return 0;
}
