/*
 * spec_policy.c — the adaptive draft length (spec_policy.h).
 *
 * A pass that verifies k drafted tokens yields the token after them all
 * plus the drafts drawn before the first that is not: with each drafted
 * token drawn with chance a (given those before it were), its expected
 * yield is E(k) = 1 + a + ... + a^k tokens. It costs cost[k] passes of one
 * token (measured on this machine and model by `mote tune`: on a CPU one
 * token is bound by reading the weights, so cost[k] grows far slower than
 * k + 1, but it grows, faster where the model is small or compute-bound).
 * The length kept is the one with the most tokens per unit of time,
 * E(k) / cost[k]; k = 0 (plain decoding, 1 / 1) wins wherever no draft pays.
 *
 * a is estimated per stream from every proposal lookup makes, verified or
 * not: the next call's context holds the tokens that followed, so a draft
 * cut to 0 is still compared with them, and a text that starts to repeat
 * turns drafting on.
 */
#include "engine/spec_policy.h"

#include <math.h>
#include <string.h>

#include "engine/speculative.h"

int mote_spec_best_length(const float *cost, int k_max, double accept, double *gain)
{
    int best = 0;
    double best_gain = 1.0;
    if (k_max > MOTE_SPEC_COST_N - 1) k_max = MOTE_SPEC_COST_N - 1;
    if (!(accept >= 0.0)) accept = 0.0; /* NaN too */
    if (accept > 1.0) accept = 1.0;
    double yield = 1.0, term = 1.0;
    for (int k = 1; cost && k <= k_max; k++) {
        const double c = cost[k];
        if (!(c > 0.0) || !isfinite(c)) break;
        term *= accept;
        yield += term;
        const double g = yield / c;
        if (g > best_gain) {
            best_gain = g;
            best = k;
        }
    }
    if (gain) *gain = best_gain;
    return best;
}

double spec_accept_observe(double a, const mote_token *proposed, int n_proposed, const mote_token *actual,
                           int n_actual)
{
    for (int i = 0; i < n_proposed && i < n_actual; i++) {
        const int hit = proposed[i] == actual[i];
        a += SPEC_ACCEPT_WEIGHT * ((hit ? 1.0 : 0.0) - a);
        if (!hit) break;
    }
    return a;
}

void mote_spec_state_init(mote_spec_state *st)
{
    memset(st, 0, sizeof *st);
    st->accept = SPEC_ACCEPT_PRIOR;
}

int spec_adaptive_draft(mote_spec_state *st, const float *cost, const mote_token *ctx, int n, int ngram_min,
                        int ngram_max, int most, int k, mote_token *out)
{
    if (most > MOTE_SPEC_COST_N - 1) most = MOTE_SPEC_COST_N - 1;
    if (st->n_prev > 0 && n > st->prev_at)
        st->accept = spec_accept_observe(st->accept, st->prev, st->n_prev, ctx + st->prev_at, n - st->prev_at);
    st->n_prev = n > 0 && most > 0 ? lookup_draft(ctx, n, ngram_min, ngram_max, most, st->prev) : 0;
    st->prev_at = n;
    const int m = mote_spec_best_length(cost, st->n_prev < k ? st->n_prev : k, st->accept, NULL);
    if (m > 0) memcpy(out, st->prev, sizeof *out * (size_t)m);
    return m;
}

int mote_lookup_draft_adaptive(mote_spec_state *st, const float *cost, const mote_token *ctx, int n, int k,
                               mote_token *out)
{
    if (!st || !cost || !ctx || !out || n < 1) return 0;
    return spec_adaptive_draft(st, cost, ctx, n, SPEC_NGRAM_MIN_DEFAULT, SPEC_NGRAM_MAX_DEFAULT,
                               MOTE_SPEC_COST_N - 1, k, out);
}
